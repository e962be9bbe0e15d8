"""``MockProGet``: the mock on a real socket, served by waitress in a background thread.

waitress (pure Python) owns the sockets: one loop thread multiplexes every connection
with ``poll()``, so an idle or half-sent connection costs no thread; a fixed pool of
worker threads runs the requests; it de-chunks request bodies itself (RFC 9112: with
``Transfer-Encoding: chunked`` the ``Content-Length`` is ignored). The classes below
subclass its documented seams (server, channel, parser, task) for what a mock of
ProGet needs on top, and nothing else:

- bodies: a malformed or truncated chunk stream, or a body over ``max_body``, reaches
  the app (a 400 or 413 after authentication, see ``BODY_ERROR``), then the connection
  closes; waitress's own early refusals become plain-text answers;
- deadlines: idle, header-read and body-read timeouts (waitress has only an
  inactivity timeout), checked by the loop; a full server makes room by closing the
  longest-idle kept-alive connection; ``EMFILE`` pauses accepting instead of spinning;
- connection faults (``reset``, ``close``, ``garbage``, ``hang``, ``stale``), carried
  out on the connection by the loop thread;
- the access log (``mockproget.access``), every line through :func:`_mask_log_line`;
- heads: what RFC 9112 makes a MUST and waitress leaves out (one valid ``Host``,
  ``chunked`` once and last, close after a request framed both ways or asking to
  close), bare LFs refused at once, ``Expect: 100-continue`` without a body answered.

The connection lifecycle is tabled in docs/server.md.
"""

from __future__ import annotations

import errno
import functools
import io
import ipaddress
import logging
import random
import re
import secrets
import socket
import struct
import sys
import threading
import time
from types import TracebackType
from typing import Any

from flask import Flask
from waitress import wasyncore
from waitress.adjustments import Adjustments
from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser, ParsingError, TransferEncodingNotImplemented
from waitress.receiver import ChunkedReceiver
from waitress.server import TcpWSGIServer
from waitress.task import ErrorTask, ThreadedTaskDispatcher, WSGITask
from waitress.utilities import BadRequest, RequestEntityTooLarge, find_double_newline

from .app import ADMIN_KEY_NAME, create_app
from .auth import wsgi_text
from .backend import Backend
from .config import Config, ServerSettings
from .faults import CONNECTION_APPLIED, CONTROL_PREFIX, STALE_RULE, ConnectionFault, FaultRule, FaultSet
from .journal import Journal
from .masking import mask_query, mask_text
from .views import BODY_ERROR

__all__ = ["ADMIN_KEY_NAME", "MockProGet"]

access_log = logging.getLogger("mockproget.access")
server_log = logging.getLogger("mockproget.server")
#: The most characters of a request line (or a message) an access-log line shows.
LOG_CAP = 8192

#: WSGI environ key: the request body came chunked (the server de-chunked it).
CHUNKED = "mockproget.chunked"
#: Waiting in the loop: at most this long, so deadlines are seen within it.
_TICK = 0.05
#: An answer is buffered in memory up to this size (a list of 100,000 keys is ~25 MB;
#: waitress's default, 1 MiB, spills it to a temporary file and back).
_OUTBUF_IN_MEMORY = 32 * 1024 * 1024
#: After EMFILE/ENFILE at accept: stop accepting for this long.
_ACCEPT_PAUSE = 0.25
#: The longest chunk-size line (size and extensions) read before it is refused.
CHUNK_LINE_CAP = 4096
#: The most bytes of trailer fields after the last chunk read before they are refused.
TRAILER_CAP = 65536
_OUT_OF_DESCRIPTORS = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}
_QUERY_IN_TARGET = re.compile(r"(\S*?)\?(\S*)")
#: ``Host`` as RFC 9112 §3.2 / RFC 3986 §3.2.2 write it: an IP-literal or a reg-name
#: (an IPv4 address is one), then an optional port.
_HOST = re.compile(rb"(?:\[(?P<literal>[^\[\]]*)\]|(?:[A-Za-z0-9._~!$&'()*+,;=-]|%[0-9A-Fa-f]{2})*)(?::[0-9]*)?")
_IPVFUTURE = re.compile(rb"v[0-9A-Fa-f]+\.[A-Za-z0-9._~!$&'()*+,;=:-]+")
#: What the request target may not hold (RFC 9112 §3.2, RFC 3986 §2: no controls).
_TARGET_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
#: The version at the end of a request line (HTTP/1.1 is ``major`` 1, ``minor`` 1).
_VERSION = re.compile(rb" HTTP/(?P<major>[0-9])\.(?P<minor>[0-9])[ \t]*$")
#: A line feed without its carriage return (RFC 9112 §2.2: lines end with CRLF).
_BARE_LF = re.compile(rb"(?<!\r)\n")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _shown_line(first: object) -> str:
    """A request line as sent (control characters are escaped when it is logged)."""
    return first.decode("latin-1") if isinstance(first, bytes) else "-"


def _escaped(text: str) -> str:
    """Control characters as ``\\xNN``: nothing in a log line steers a terminal."""
    if text.isascii() and text.isprintable():  # the usual line: nothing to escape
        return text
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _mask_log_line(app: Flask, text: str) -> str:
    """The one door of every line this module logs: every live secret masked by value, in
    any encoding (the backend's masker, before anything is cut), the values of
    ``key=``-like query parameters, and at most :data:`LOG_CAP` characters of it."""
    backend = app.extensions["mockproget"]
    shown = mask_text(backend.mask(wsgi_text(text), LOG_CAP))
    if "?" in shown:
        shown = _QUERY_IN_TARGET.sub(lambda m: f"{m.group(1)}?{mask_query(m.group(2))}", shown)
    return shown if len(shown) <= LOG_CAP else shown[:LOG_CAP] + f"... ({len(text)} characters in all)"


class _MaskedLogger:
    """What waitress's classes log (``self.logger``), masked, to ``mockproget.server``,
    without tracebacks (a frame's text could show a request's secrets)."""

    def __init__(self, app: Flask, level: int = logging.INFO) -> None:
        self.app, self.level = app, level

    def _emit(self, level: int, message: object, *args: Any, **kwargs: Any) -> None:
        if not server_log.isEnabledFor(level):
            return
        try:
            text = str(message) % args if args else str(message)
        except (TypeError, ValueError):
            text = str(message)
        server_log.log(level, "%s", _escaped(_mask_log_line(self.app, text)))

    def log(self, level: int, message: object, *args: Any, **kwargs: Any) -> None:
        self._emit(min(level, self.level), message, *args)

    def debug(self, message: object, *args: Any, **kwargs: Any) -> None:
        self._emit(logging.DEBUG, message, *args)

    def info(self, message: object, *args: Any, **kwargs: Any) -> None:
        self._emit(min(logging.INFO, self.level), message, *args)

    def warning(self, message: object, *args: Any, **kwargs: Any) -> None:
        self._emit(min(logging.WARNING, self.level), message, *args)

    def error(self, message: object, *args: Any, **kwargs: Any) -> None:
        self._emit(logging.ERROR, message, *args)

    def exception(self, message: object, *args: Any, **kwargs: Any) -> None:
        """The message and the exception's type and text (masked), not its traceback."""
        error = sys.exc_info()[1]
        suffix = f": {type(error).__name__}: {error}" if error is not None else ""
        self._emit(logging.ERROR, f"{message}{suffix}" if not args else str(message) % args + suffix)


# -- parsing: bodies reach the app, waitress's refusals stay few ----------------------


class _Parser(HTTPRequestParser):
    """waitress's parser, with what the app must judge handed to the app.

    - a chunk stream that is malformed, or that ends (half-close) before its last
      chunk: ``body_problem`` (the app answers 400 after authentication);
    - a body over ``max_body`` (the control API's paths: ``control_max_body``; by its
      Content-Length, or once de-chunked): ``oversized``
      (the app answers 413); the rest of such a body is never read;
    - anything the request line's parser chokes on (``GET http://[::1/x``): a 400;
    - ``Transfer-Encoding`` on an HTTP/1.0 request: a 400 (RFC 9112 §6.1: its framing
      cannot be trusted); a transfer coding other than ``chunked``: a 400 (waitress says
      501; nothing but an injected fault answers 5xx); ``chunked`` listed twice, or a
      ``Transfer-Encoding`` that names no coding: a 400 (RFC 9112 §6.1, §6.3);
    - a control character in the request target (``GET \x00/health``): a 400;
    - no ``Host`` in an HTTP/1.1 request, more than one, or one that is not
      ``host[:port]``: a 400 (RFC 9112 §3.2);
    - a bare LF in the head or in a chunk-size line: a 400 at once, not a wait for the
      CRLF that never comes (RFC 9112 §2.2);
    - HTTP/1.x with x above 1: read and answered as HTTP/1.1 (RFC 9112 §2.3); another
      major version (``HTTP/2.0``, ``HTTP/0.9``): a 400 that says to send HTTP/1.1.
    """

    body_problem: str | None = None
    oversized = False
    #: The request came with both Transfer-Encoding and Content-Length: the connection
    #: closes after the answer (RFC 9112 §6.1).
    framing_conflict = False
    #: ``close`` is among the Connection header's options (RFC 9112 §9.6).
    close_asked = False
    body_rcv: Any  # waitress's, declared for the type checker
    completed: bool  # waitress's, declared for the type checker
    error: Any

    def __init__(self, adj: Adjustments, limit: int, control_limit: int | None = None) -> None:
        super().__init__(adj)
        self.limit = limit
        self.control_limit = control_limit or limit
        self.started = time.time()
        self.headers_at = 0.0

    def received(self, data: bytes) -> int:
        if self.completed:
            return 0
        body = self.body_rcv
        if body is None:  # in the headers
            if b"\n" in data and self._bare_lf(self.header_plus + data):
                return len(data)
            consumed = int(super().received(data))
            if self.headers_finished and not self.headers_at:
                self.headers_at = time.time()
                if str(getattr(self, "path", "")).startswith(CONTROL_PREFIX):
                    self.limit = self.control_limit  # the control API's own body limit
            if isinstance(self.error, RequestEntityTooLarge):  # its Content-Length says so
                self.error, self.oversized = None, True
            elif self.headers_finished and not self.chunked and self.content_length > self.limit:
                self.oversized = self.completed = True  # over this path's limit: never read
                self.body_rcv = None
            return consumed
        consumed = int(body.received(data))
        self.body_bytes_received += consumed
        # a chunk announced is counted when its size line is read: one that can never fit
        # is refused then, not waited for
        announced = body.chunk_remainder if isinstance(body, ChunkedReceiver) else 0
        if body.error is not None:
            self.problem(f"the chunked request body is malformed ({body.error.body})")
        elif len(body) + announced > self.limit:
            self.oversized = self.completed = True
        elif (overlong := _overlong(body)) is not None:
            self.problem(f"the chunked request body is malformed ({overlong})")
        elif body.completed:
            self.completed = True
            if self.chunked:
                self.headers["CONTENT_LENGTH"] = str(len(body))
        return consumed

    def _bare_lf(self, head: bytes) -> bool:
        """The head so far (not yet ended by CRLF CRLF) holds a bare LF: a 400 now."""
        if find_double_newline(head) >= 0 or not _BARE_LF.search(head.lstrip(b"\r\n")):
            return False
        self.error = BadRequest("a line of the request head ends with a bare LF, not CRLF")
        self.completed = self.headers_finished = True
        return True

    def problem(self, text: str) -> None:
        """The body cannot be used: the app says so, after authentication."""
        self.body_problem, self.completed = text, True

    def ended_early(self) -> None:
        """The client half-closed inside the body."""
        what = "chunked request body" if self.chunked else "request body"
        self.problem(f"the {what} ends before it is complete (the connection was closed "
                     f"after {self.body_bytes_received} bytes of it)")

    def parse_header(self, header_plus: bytes) -> None:
        first, sep, rest = header_plus.partition(b"\r\n")
        line = first.rstrip()  # as waitress reads it: trailing whitespace cut
        version = _VERSION.search(line)
        try:
            if version is not None and version["major"] != b"1":
                raise ParsingError(f"HTTP/{version['major'].decode()}.{version['minor'].decode()} is not "
                                   f"spoken here; send HTTP/1.1")
            if version is not None and version["minor"] > b"1":  # RFC 9112 §2.3: read, and answered, as 1.1
                header_plus = line[:version.start()] + b" HTTP/1.1" + sep + rest
            super().parse_header(header_plus)
        except ValueError as error:  # urllib's URL splitter: "Invalid IPv6 URL", ...
            raise ParsingError(f"the request target cannot be read ({error})") from None
        except TransferEncodingNotImplemented:  # waitress's 501: the client's error, a 400
            raise ParsingError("Transfer-Encoding other than chunked is not supported") from None
        finally:
            if version is not None:
                self.first_line = line  # logged as it was sent, refused or not
        if self.version == "1.0" and "TRANSFER_ENCODING" in self.headers:
            raise ParsingError("Transfer-Encoding is not allowed in an HTTP/1.0 request")
        if _TARGET_CONTROL.search(self.request_uri):  # urllib would drop a leading one
            raise ParsingError("the request target holds a control character")
        if not self.version:  # no version on the line: HTTP/0.9's form (RFC 9112 §3 requires one)
            raise ParsingError("a request line without an HTTP version (HTTP/0.9) is not spoken here; "
                               "send HTTP/1.1")
        _check_host(header_plus, self.headers.get("HOST"), self.version)
        codings = [c.strip(b" \t").lower() for c in _field(header_plus, b"transfer-encoding").split(b",")]
        if codings.count(b"chunked") > 1:
            raise ParsingError("Transfer-Encoding names chunked more than once")
        if self.version == "1.1" and _has_field(header_plus, b"transfer-encoding") and not self.chunked:
            raise ParsingError("Transfer-Encoding names no transfer coding")
        self.framing_conflict = self.chunked and _has_field(header_plus, b"content-length")
        connection = self.headers.get("CONNECTION", "")
        self.close_asked = "close" in {option.strip(" \t").lower() for option in connection.split(",")}


def _field_lines(header_plus: bytes, name: bytes) -> list[bytes]:
    """The values of every line of the head naming field ``name`` (lower case)."""
    prefix = name + b":"
    return [line[len(prefix):].strip(b" \t") for line in header_plus.split(b"\r\n")[1:]
            if line[:len(prefix)].lower() == prefix]


def _has_field(header_plus: bytes, name: bytes) -> bool:
    return bool(_field_lines(header_plus, name))


def _field(header_plus: bytes, name: bytes) -> bytes:
    """The values of field ``name`` as one list (RFC 9110 §5.3)."""
    return b", ".join(_field_lines(header_plus, name))


def _check_host(header_plus: bytes, host: str | None, version: str) -> None:
    """RFC 9112 §3.2: an HTTP/1.1 request has one Host line, and its value (as read,
    folded lines joined) is ``host[:port]``."""
    if len(_field_lines(header_plus, b"host")) > 1:
        raise ParsingError("the request has more than one Host header")
    if host is None:
        if version == "1.1":
            raise ParsingError("an HTTP/1.1 request needs a Host header")
        return
    match = _HOST.fullmatch(host.encode("latin-1"))
    literal = match["literal"] if match else None
    if match is None or (literal is not None and not _ip_literal(literal)):
        raise ParsingError("the Host header is not host[:port]")


def _ip_literal(text: bytes) -> bool:
    """What RFC 3986 §3.2.2 allows between brackets: an IPv6 address or an IPvFuture."""
    if _IPVFUTURE.fullmatch(text):
        return True
    try:
        ipaddress.IPv6Address(text.decode("ascii"))
    except (ValueError, UnicodeDecodeError):
        return False
    return True


def _overlong(body: Any) -> str | None:
    """What of a chunk stream is longer than its cap (refused, not buffered), or ``None``."""
    if not isinstance(body, ChunkedReceiver):
        return None
    if len(body.control_line) > CHUNK_LINE_CAP:
        return f"a chunk-size line is longer than {CHUNK_LINE_CAP} bytes"
    if b"\n" in body.control_line or b"\n" in body.chunk_end:
        return "a chunk-size line or chunk ends with a bare LF, not CRLF"
    if len(body.trailer) > TRAILER_CAP:
        return f"its trailer is longer than {TRAILER_CAP} bytes"
    return None


# -- tasks: the app's answer, the connection faults, the access log ------------------


@functools.lru_cache(maxsize=512)
def _respelling(name: str) -> tuple[bytes, bytes] | None:
    """A header line's start as waitress spells the name (``X-Proget-Version:``) and as
    the app does, when the two differ (the app's names are a small fixed set: cached)."""
    normal = "-".join(part.capitalize() for part in name.split("-"))
    return None if normal == name else (f"\r\n{normal}:".encode("latin-1"), f"\r\n{name}:".encode("latin-1"))


class _Task(WSGITask):
    """One request through the app; a :class:`ConnectionFault` becomes what it says."""

    fault: ConnectionFault | None = None

    def __init__(self, channel: _Channel, request: _Parser) -> None:
        super().__init__(channel, request)
        self.logger = channel.logger

    def build_response_header(self) -> bytes:
        """waitress's, with the app's spelling of header names kept (``X-ProGet-Version``,
        as ProGet writes it, not ``X-Proget-Version``)."""
        respelled = [fix for name, _ in self.response_headers if (fix := _respelling(name)) is not None]
        head: bytes = super().build_response_header()
        self._log_answer()  # before a byte of the answer leaves: a client that has it sees the line
        for normal, name in respelled:
            head = head.replace(normal, name)
        return head

    def get_environment(self) -> dict[str, Any]:
        environ: dict[str, Any] = super().get_environment()
        request: _Parser = self.request
        environ.pop("wsgi.input_terminated", None)  # the body is whole, with its length
        if request.chunked:
            environ[CHUNKED] = True
        if request.body_problem:
            environ[BODY_ERROR] = request.body_problem
            environ["wsgi.input"], environ["CONTENT_LENGTH"] = io.BytesIO(), "0"
        elif request.oversized:  # Flask refuses a length over MAX_CONTENT_LENGTH: 413
            environ["wsgi.input"] = io.BytesIO()
            environ["CONTENT_LENGTH"] = str(max(request.content_length, request.limit + 1))
        return environ

    def execute(self) -> None:
        channel: _Channel = self.channel
        request: _Parser = self.request
        if not channel.server.settings.keep_alive or request.body_problem or request.oversized \
                or request.framing_conflict or request.close_asked:
            # what is left of a refused body is never read; a request framed both ways
            # (RFC 9112 §6.1) or asking to close (§9.6) ends its connection
            self.set_close_on_finish()
        try:
            super().execute()
        except ConnectionFault as fault:
            self.fault = fault
            channel.log(f'"{self.request_line()}" - fault {fault.kind} (rule {fault.rule})')
            channel.apply(fault, self)
            return
        rule = (self.environ or {}).get(STALE_RULE)
        if isinstance(rule, FaultRule):
            channel.mark_stale(rule)

    def finish(self) -> None:
        if self.fault is None:
            super().finish()
        self.channel.served += 1

    def write(self, data: bytes) -> None:
        """waitress's, but the head and the first piece of the body leave in one send."""
        if self.wrote_header or not self.complete:
            super().write(data)
            return
        channel, held = self.channel, list[bytes]()
        channel.write_soon = held.append  # only this task writes to its channel now
        try:
            super().write(data)
        finally:
            del channel.write_soon
        if held:
            channel.write_soon(b"".join(held))

    def _log_answer(self) -> None:
        environ = self.environ or {}
        status = self.status.split(" ", 1)[0]
        size = "-" if self.content_length is None else self.content_length
        extra = f" fault {environ[CONNECTION_APPLIED]}" if environ.get(CONNECTION_APPLIED) else ""
        self.channel.log(f'"{self.request_line()}" {status} {size}{extra}')

    def request_line(self) -> str:
        return _shown_line(getattr(self.request, "first_line", None))


class _ErrorTask(ErrorTask):
    """waitress's refusals (a malformed request line, headers too large, ...) as short
    ``text/plain`` answers, secrets masked, logged like every request."""

    def __init__(self, channel: _Channel, request: _Parser) -> None:
        super().__init__(channel, request)
        self.logger = channel.logger
        if not getattr(request, "command", None):
            self.version = "1.1"  # the request line could not be read: answer as HTTP/1.1

    def execute(self) -> None:
        error = self.request.error
        # waitress's explanation, without what it quotes of the request (a malformed method
        # or header line): nothing of the request is echoed (no oracle), the reason is named
        detail = str(error.body).split('"', 1)[0].strip().rstrip(":")
        body = (f"{error.code} {error.reason}: {detail}\n" if detail else f"{error.code} {error.reason}\n").encode()
        self.status = f"{error.code} {error.reason}"
        self.response_headers.append(("Content-Type", "text/plain; charset=utf-8"))
        self.set_close_on_finish()
        self.content_length = len(body)
        line = _shown_line(getattr(self.request, "first_line", None))
        self.channel.log(f'"{line}" {error.code} {len(body)}')
        self.write(body)


# -- channels: one connection ---------------------------------------------------------


class _Channel(HTTPChannel):
    """One client connection: deadlines, connection faults, staleness."""

    task_class = _Task
    error_task_class = _ErrorTask
    request: _Parser | None  # waitress's, declared for the type checker
    will_close: bool
    close_when_flushed: bool

    def __init__(self, server: _Server, sock: socket.socket, addr: Any, adj: Adjustments,
                 map: dict[int, Any] | None = None) -> None:  # noqa: A002 - waitress signature
        self.logger = server.masked_logger
        self.served = 0
        self.abort: str | None = None  # "reset" / "close": how handle_close ends it
        self.hang_until = 0.0
        self.stale_after: int | None = None
        self.stale_idle: float | None = None
        self.stale_signal = "fin"
        self.answered_at = time.time()
        super().__init__(server, sock, addr, adj, map=map)

    def __repr__(self) -> str:
        return f"<connection {self.addr!r}>"

    def send_continue(self) -> None:
        """waitress's ``100 Continue``, only for a request whose body is still to come:
        one that is whole already (no body, or a body that will not be read) is answered
        (waitress's would mark it incomplete again, and it would wait for a timeout)."""
        request = self.request
        if request is not None and request.completed:
            request.expect_continue = False
            return
        super().send_continue()

    def parser_class(self, adj: Adjustments) -> _Parser:
        return _Parser(adj, self.server.limit, self.server.control_limit)

    def log(self, text: str) -> None:
        if access_log.isEnabledFor(logging.INFO):
            host = self.addr[0] if isinstance(self.addr, tuple) else "-"
            access_log.info("%s %s", host, _escaped(_mask_log_line(self.server.application, text)))

    # reading

    peer_closed = False

    def readable(self) -> bool:
        return not self.peer_closed and bool(super().readable())

    def recv(self, buffer_size: int) -> bytes:
        """wasyncore's, but end-of-stream is left to :meth:`handle_read` to judge."""
        try:
            return bytes(self.socket.recv(buffer_size))
        except OSError:
            self.handle_close()
            return b""

    def handle_read(self) -> None:
        data = self.recv(self.adj.recv_bytes)
        if data:
            self.last_activity = time.time()
            self.received(data)
            return
        if self.socket is None:
            return  # closed already (an error)
        # The peer closed its side. A request cut short inside its body is still
        # answered (a 400, after authentication): the socket can carry the answer.
        request = self.request
        if isinstance(request, _Parser) and request.headers_finished and not request.completed \
                and request.error is None and not self.hang_until:
            self.peer_closed = True
            request.ended_early()
            with self.requests_lock:
                self.requests.append(request)
                self.request = None
                if len(self.requests) == 1:
                    self.server.add_task(self)
        else:
            self.handle_close()

    def received(self, data: bytes) -> bool:
        if self.hang_until:
            return True  # a hung connection reads and drops what comes
        if self.request is None and not self.requests and self._stale_now():
            self._drop_stale()
            return False
        return bool(super().received(data))

    # staleness

    def mark_stale(self, rule: FaultRule) -> None:
        """A ``stale`` rule fired on this connection (worker thread)."""
        if rule.requests is not None:
            after = self.served + 1 if rule.requests <= self.served + 1 else rule.requests
            self.stale_after = after if self.stale_after is None else min(self.stale_after, after)
        if rule.idle_ms is not None:
            idle = rule.idle_ms / 1000
            self.stale_idle = idle if self.stale_idle is None else min(self.stale_idle, idle)
        self.stale_signal = rule.signal or "fin"

    def _stale_now(self) -> bool:
        if self.stale_after is not None and self.served >= self.stale_after:
            return True
        return self.stale_idle is not None and time.time() - self.answered_at >= self.stale_idle

    def _drop_stale(self) -> None:
        """The next request meets a connection the server has closed: FIN or RST."""
        self.log(f"- stale connection closed ({self.stale_signal}) when its next request "
                 f"arrived, after {self.served} answered")
        self._drain()
        self.abort = "reset" if self.stale_signal == "rst" else "close"
        self.handle_close()

    def _drain(self) -> None:
        """Read what the client already sent, so a clean close stays a FIN (Linux sends
        RST for a socket closed with unread data)."""
        sock = self.socket
        for _ in range(64):
            try:
                if not sock.recv(65536):
                    return
            except OSError:
                return

    # connection faults (worker thread: mark; the loop thread acts)

    def apply(self, fault: ConnectionFault, task: _Task) -> None:
        if fault.kind == "hang":
            self.hang_until = time.monotonic() + fault.seconds
            task.close_on_finish = False
            self._drop_queued(keep=1)  # requests pipelined behind a hung one are never answered
            return
        task.close_on_finish = True
        if fault.kind == "garbage":
            self.write_soon(fault.garbage)
        elif fault.kind == "reset":
            self.abort = "reset"
        else:
            self.abort = "close"

    def service(self) -> None:
        if self.stale_signal_due():
            # a request pipelined behind the answer that made the connection stale meets
            # it as if it had arrived later: not answered, never reaching the mock
            self.log(f"- stale connection closed ({self.stale_signal}) with a request pipelined "
                     f"behind its last answer, after {self.served} answered")
            self._drop_queued(keep=0)
            self.abort = "reset" if self.stale_signal == "rst" else "close"
            self.close_when_flushed = True  # the answers before it still go out whole
            self.server.pull_trigger()
            return
        super().service()
        self.answered_at = time.time()

    def stale_signal_due(self) -> bool:
        return (self.stale_after is not None or self.stale_idle is not None) and self._stale_now()

    def _drop_queued(self, keep: int) -> None:
        """Forget the requests read but not served, but the first ``keep`` (worker thread)."""
        with self.requests_lock:
            for queued in self.requests[keep:]:
                queued.close()
            del self.requests[keep:]

    def handle_close(self) -> None:
        sock = self.socket
        if sock is not None and self.abort == "reset":
            try:  # RST: linger 0, then close
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
        elif sock is not None and self.abort == "close":
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        super().handle_close()

    # deadlines (loop thread)

    def check_deadlines(self, now: float, mono: float, settings: ServerSettings) -> None:
        if self.total_outbufs_len and self.socket is not None \
                and now - self.last_activity >= settings.idle_timeout:
            # an answer the client does not read: while it waits, nothing is read from the
            # connection, so nothing else would ever end it (last_activity: the last byte sent)
            self.log(f"- answer not read by the client for {settings.idle_timeout:g} s "
                     f"({self.total_outbufs_len} bytes unsent): connection reset")
            self.abort = "reset"
            self.handle_close()
            return
        if self.will_close or self.close_when_flushed:
            return
        if self.hang_until:
            if mono >= self.hang_until:
                self.will_close = True
            return
        if self.requests:
            return  # being answered
        request = self.request
        if request is None:
            if now - self.last_activity >= settings.idle_timeout:
                self.will_close = True  # idle: closed quietly, as a kept-alive connection is
        elif not request.headers_finished:
            if now - request.started >= settings.header_timeout:
                self.time_out("headers", settings.header_timeout)
        elif not request.completed and now - request.headers_at >= settings.body_timeout:
            self.time_out("body", settings.body_timeout)

    def time_out(self, what: str, seconds: float) -> None:
        """A 408 in text, then close."""
        body = (f"408 Request Timeout: the request {what} did not arrive within "
                f"{seconds:g} seconds.\n").encode()
        head = (f"HTTP/1.1 408 Request Timeout\r\nContent-Type: text/plain; charset=utf-8\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
        with self.outbuf_lock:
            self.outbufs[-1].append(head + body)
            self.total_outbufs_len += len(head) + len(body)
        if self.request is not None:
            self.request.close()
        self.request = None
        self.close_when_flushed = True
        self.log(f"- request {what} timed out after {seconds:g} s: 408")


# -- the server ------------------------------------------------------------------------


class _Dispatcher(ThreadedTaskDispatcher):
    """The worker pool, its messages masked (the queue-depth warning is debug-level)."""

    def __init__(self, app: Flask) -> None:
        super().__init__()
        self.logger = _MaskedLogger(app)
        self.queue_logger = _MaskedLogger(app, logging.DEBUG)


class _Server(TcpWSGIServer):
    """waitress's TCP server with the mock's channel, deadlines and accept back-off."""

    channel_class = _Channel

    def __init__(self, app: Flask, settings: ServerSettings, limit: int, control_limit: int | None = None,
                 **kwargs: Any) -> None:
        self.settings, self.limit, self.control_limit = settings, limit, control_limit or limit
        self.masked_logger = _MaskedLogger(app)
        self.logger = self.masked_logger
        self.accept_paused_until = 0.0
        self.out_of_descriptors = False
        self.next_check = 0.0
        self.room = False  # full, and an idle connection can be closed for a newcomer
        #: The control API's own worker: its requests never queue behind the app's
        #: (injected delays and dribbles hold workers; the control API clears them).
        self.control_dispatcher: _Dispatcher | None = None
        super().__init__(app, **kwargs)

    def add_task(self, task: Any) -> None:
        """A connection with a request to run: the control API's go to its own worker."""
        queued = getattr(task, "requests", None)
        if self.control_dispatcher is not None and queued \
                and str(getattr(queued[0], "path", "")).startswith(CONTROL_PREFIX):
            self.control_dispatcher.add_task(task)
        else:
            self.task_dispatcher.add_task(task)

    def readable(self) -> bool:
        now, mono = time.time(), time.monotonic()
        if mono >= self.next_check:
            self.next_check = mono + _TICK
            for channel in list(self.active_channels.values()):
                channel.check_deadlines(now, mono, self.settings)
            self.room = self._longest_idle() is not None
        if mono < self.accept_paused_until:
            return False
        # full: still accept while an idle connection can make room for the newcomer
        return bool(super().readable()) or (self.accepting and self.room)

    def _longest_idle(self) -> _Channel | None:
        """The kept-alive connection idle longest (nothing read, nothing left to send)."""
        idle = [channel for channel in self.active_channels.values()
                if not (channel.will_close or channel.close_when_flushed or channel.requests
                        or channel.request is not None or channel.hang_until
                        or channel.total_outbufs_len)]
        return min(idle, key=lambda c: c.last_activity) if idle else None

    def _make_room(self) -> bool:
        """Full: close the longest-idle kept-alive connection (FIN) for the one waiting."""
        oldest = self._longest_idle()
        if oldest is None:
            self.room = False  # the newcomer waits in the listen backlog
            return False
        oldest.log("- idle connection closed to make room (connection limit reached)")
        oldest.handle_close()
        return True

    def handle_accept(self) -> None:
        if len(self._map) >= self.adj.connection_limit and not self._make_room():
            return
        try:
            pair = self.accept()
        except OSError as error:
            if error.errno in _OUT_OF_DESCRIPTORS:
                self.accept_paused_until = time.monotonic() + _ACCEPT_PAUSE
                if not self.out_of_descriptors:
                    self.out_of_descriptors = True
                    server_log.warning("cannot accept connections (%s): pausing accept until "
                                       "descriptors are free", error.strerror)
            return
        if pair is None:
            return
        conn, addr = pair
        if self.out_of_descriptors:
            self.out_of_descriptors = False
            server_log.warning("accepting connections again")
        try:
            self.set_socket_options(conn)
        except OSError:
            conn.close()
            return
        self.channel_class(self, conn, self.fix_addr(addr), self.adj, map=self._map)

    def maintenance(self, now: float) -> None:
        """Deadlines are checked in :meth:`readable`; waitress's own sweep is not used."""


class MockProGet:
    """A running mock ProGet server.

    ::

        with MockProGet() as proget:
            requests.get(proget.url + "api/api-keys/list", headers={"X-ApiKey": proget.admin_key})

    :param config: full configuration; ``host``/``port``/``admin_key``/``seed`` override it.
        Embedded servers default to port 0 (an ephemeral port), not ``config.port``.
    """

    def __init__(
        self,
        config: Config | None = None,
        *,
        host: str | None = None,
        port: int | None = None,
        admin_key: str | None = None,
        seed: int | None = None,
    ) -> None:
        config = config or Config(port=0)
        config = config.with_overrides(host=host, port=port, admin_key=admin_key, seed=seed)
        self.admin_key: str = config.admin_key or _new_admin_key(config.seed)
        self.config = config
        self.app: Flask = create_app(config.with_overrides(admin_key=self.admin_key))
        self.backend: Backend = self.app.extensions["mockproget"]
        self.faults: FaultSet = self.app.extensions["mockproget.faults"]
        self.journal: Journal = self.app.extensions["mockproget.journal"]
        self._stopping: threading.Event = self.app.extensions["mockproget.stopping"]
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._quit = False

    def __repr__(self) -> str:
        where = self.url if self._server else "not started"
        return f"<MockProGet {where} ProGet {self.backend.settings.version} {self.backend.settings.edition}>"

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> MockProGet:
        """Bind and start serving in a daemon thread; returns ``self``.

        :raises OSError: the address cannot be bound (e.g. the port is in use).
        """
        if self._server is not None:
            raise RuntimeError("this MockProGet is already started")
        self._stopping.clear()
        settings = self.config.server
        host = self.config.host
        listen = f"[{host}]:{self.config.port}" if ":" in host else f"{host}:{self.config.port}"
        adj = Adjustments(
            listen=listen, threads=settings.workers, connection_limit=settings.connections,
            ident="", asyncore_use_poll=True, asyncore_loop_timeout=_TICK,
            max_request_body_size=max(self.config.max_body, self.config.control_max_body) + 1,
            expose_tracebacks=False,
            clear_untrusted_proxy_headers=False, log_socket_errors=False,
            outbuf_overflow=_OUTBUF_IN_MEMORY,
            channel_timeout=settings.idle_timeout, cleanup_interval=3600)
        socket_map: dict[int, Any] = {}
        dispatcher = _Dispatcher(self.app)
        try:
            server = _Server(self.app, settings, self.config.max_body, self.config.control_max_body, map=socket_map,
                             dispatcher=dispatcher, adj=adj)
        except OSError:
            wasyncore.close_all(socket_map)
            raise
        dispatcher.set_thread_count(settings.workers)
        server.control_dispatcher = _Dispatcher(self.app)
        server.control_dispatcher.set_thread_count(1)
        self._server, self._quit = server, False
        self._thread = threading.Thread(target=self._serve, args=(server, socket_map),
                                        name=f"mockproget:{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, end open connections and release the port. Idempotent."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self._stopping.set()  # injected delays, dribbles and hangs end now
        self._quit = True
        server.pull_trigger()
        thread.join()
        # the workers end first (idle ones at once, busy ones as their interrupted waits
        # end), so that none writes to a connection closed under it
        server.task_dispatcher.shutdown(cancel_pending=True, timeout=1)
        if server.control_dispatcher is not None:
            server.control_dispatcher.shutdown(cancel_pending=True, timeout=1)
        for channel in list(server.active_channels.values()):
            try:
                channel.handle_close()
            except OSError:
                pass
        server.close()
        self._server = self._thread = None

    def _serve(self, server: _Server, socket_map: dict[int, Any]) -> None:
        while not self._quit:
            wasyncore.poll2(_TICK, socket_map)

    def __enter__(self) -> MockProGet:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # -- where it is ---------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def host(self) -> str:
        return self.config.host

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("this MockProGet is not started")
        return int(self._server.effective_port)

    @property
    def url(self) -> str:
        """The base URL with a trailing ``/``, as the official client uses it (spec §7)."""
        host = self.host
        if ":" in host:
            host = f"[{host}]"
        elif host in ("0.0.0.0", ""):
            host = "127.0.0.1"
        return f"http://{host}:{self.port}/"

    @property
    def connection_count(self) -> int:
        """Client connections open now (0 when stopped)."""
        return len(self._server.active_channels) if self._server is not None else 0

    @property
    def seed(self) -> int | None:
        """The seed driving every random choice (keys, fault draws, delays), or ``None``."""
        return self.config.seed

    def reset(self) -> None:
        """Everything back: the seeded state and settings, the configured fault rules with
        fresh counters and re-seeded random streams, an empty journal with its configured
        bounds."""
        self.backend.reset()
        self.faults.reset()
        self.journal.reset()


def _new_admin_key(seed: int | None) -> str:
    if seed is None:
        return secrets.token_hex(20)
    return f"{random.Random(f'mockproget-admin-key:{seed}').getrandbits(160):040x}"
