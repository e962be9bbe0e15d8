"""``MockProGet``: the mock on a real socket, in a background thread.

Binds port 0 by default and reads the real port back; ready to accept when ``start``
returns (the socket listens before the thread runs); stops in milliseconds, because its
loop waits on the listening socket *and* a wake-up pipe instead of polling every 0.5 s
as werkzeug's ``serve_forever`` does.
"""

from __future__ import annotations

import logging
import random
import secrets
import select
import selectors
import socket
import struct
import threading
import time
from types import TracebackType
from typing import TYPE_CHECKING, Any

from flask import Flask
from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

from .app import create_app
from .backend import Backend
from .config import Config
from .faults import ConnectionFault, FaultSet
from .journal import Journal
from .masking import SecretText, mask_query, mask_text
from .models import NewApiKey, SeedState

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

__all__ = ["MockProGet"]

access_log = logging.getLogger("mockproget.access")
#: The most characters of a request line (or a message) an access-log line shows.
LOG_CAP = 8192


class _RequestHandler(WSGIRequestHandler):
    """werkzeug's handler with secrets masked in its log lines, logged to ``mockproget.access``."""

    def _mask(self, text: str) -> str:
        """Every live secret, in any encoding (the backend's masker), and ``key=`` values;
        at most :data:`LOG_CAP` characters of it."""
        backend = self.server.app.extensions["mockproget"]  # type: ignore[attr-defined]
        shown = mask_text(backend.mask(_wsgi_text(text), LOG_CAP))
        return shown if len(shown) <= LOG_CAP else shown[:LOG_CAP] + f"... ({len(text)} characters in all)"

    def _masked_request_line(self) -> str:
        """The request line, every secret in it masked (whatever characters it holds,
        however it is encoded), and the values of ``key=``-like parameters."""
        method, _, rest = self.requestline.partition(" ")
        target, _, version = rest.rpartition(" ")
        line = self._mask(f"{method} {rest}")
        if "?" in target:  # the query's secret-named parameters too
            method, _, rest = line.partition(" ")
            target, _, version = rest.rpartition(" ")
            path, _, query = target.partition("?")
            line = f"{method} {path}?{mask_query(query)} {version}"
        return line

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        access_log.info('%s "%s" %s %s', self.address_string(), self._masked_request_line(), code, size)

    #: werkzeug's own refusals (a malformed request line, ...) as text, secrets masked.
    error_content_type = "text/plain; charset=utf-8"
    error_message_format = "%(code)d %(message)s\n%(explain)s\n"

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The standard reason only: the request's own text is never echoed (no oracle)."""
        if message:
            access_log.warning("%s refused (%s): %s", self.address_string(), code, self._mask(message))
        super().send_error(code, None, explain)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        access_log.warning("%s %s", self.address_string(), self._mask(format % args))

    def log(self, type: str, message: str, *args: Any) -> None:  # noqa: A002 - werkzeug signature
        getattr(access_log, type if type in ("info", "warning", "error") else "info")(
            "%s", self._mask(message % args if args else message))

    def connection_dropped(self, error: BaseException, environ: WSGIEnvironment | None = None) -> None:
        """The client went away, or the fault middleware asks for a connection fault:
        apply it to this request's socket; either way the connection ends here."""
        self.close_connection = True
        if not isinstance(error, ConnectionFault):
            return
        access_log.info('%s "%s" - fault %s (rule %s)', self.address_string(),
                        self._masked_request_line(), error.kind, error.rule)
        connection = _RawConnection(self)
        if error.kind == "reset":
            connection.reset()
        elif error.kind == "garbage":
            connection.send(error.garbage)
            connection.close()
        elif error.kind == "hang":
            connection.wait_closed(error.seconds, self.server.app.extensions["mockproget.stopping"])  # type: ignore[attr-defined]
            connection.close()
        else:  # close
            connection.close()


def _wsgi_text(text: str) -> str:
    """A line read as Latin-1 (as the request line is) back to the UTF-8 text sent."""
    try:
        return text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


class _RawConnection:
    """The client socket of one request, for the connection faults."""

    def __init__(self, handler: WSGIRequestHandler) -> None:
        self._handler = handler

    def __repr__(self) -> str:
        return "<RawConnection>"

    def send(self, data: bytes) -> None:
        try:
            self._handler.wfile.write(data)
        except OSError:
            pass  # the client is gone already

    def close(self) -> None:
        """FIN with no answer."""
        self._handler.close_connection = True
        try:
            self._handler.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def reset(self) -> None:
        """RST: linger 0, then close the last references to the socket at once."""
        handler = self._handler
        handler.close_connection = True
        sock = handler.connection
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        handler.rfile.close()  # the socket's makefile() reader holds a reference
        sock.close()

    def wait_closed(self, timeout: float, stop: threading.Event) -> None:
        """Until the client closes its side, ``timeout`` passes, or the server stops."""
        sock = self._handler.connection
        deadline = time.monotonic() + timeout
        while not stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            try:
                readable, _, _ = select.select([sock], [], [], min(remaining, 0.25))
                if readable and not sock.recv(65536):
                    return
            except (OSError, ValueError):
                return


class _BindFailed(Exception):
    """Carries a bind error past werkzeug, which would print it and call ``sys.exit(1)``."""

    def __init__(self, error: OSError) -> None:
        super().__init__(error)
        self.error = error


class _Server(ThreadedWSGIServer):
    """Tracks open connections so that :meth:`close_connections` can end them at stop.

    A port in use raises :class:`OSError` from :meth:`MockProGet.start` instead of
    werkzeug's print-and-exit, which would end a test session.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def server_bind(self) -> None:
        try:
            super().server_bind()
        except OSError as error:
            raise _BindFailed(error) from None

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._connections_lock:
            open_ = list(self.connections)
        for conn in open_:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


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
        self.config = config.with_overrides(host=host, port=port, admin_key=admin_key, seed=seed)
        self.admin_key: str = self.config.admin_key or _new_admin_key(self.config.seed)
        seeded = self.config.state
        state = SeedState(list(seeded.users), list(seeded.feeds), list(seeded.feed_groups),
                          list(seeded.api_keys) + [NewApiKey(
                              type="system", key=self.admin_key, system_apis=("full-control",),
                              display_name=ADMIN_KEY_NAME, logging="none")])
        self.backend = Backend(self.config.instance, state, seed=self.config.seed)
        self.app: Flask = create_app(self.config, self.backend)
        self.app.extensions["mockproget.admin_key"] = SecretText(self.admin_key)  # kept across PUT /state
        self.faults: FaultSet = self.app.extensions["mockproget.faults"]
        self.journal: Journal = self.app.extensions["mockproget.journal"]
        self._stopping: threading.Event = self.app.extensions["mockproget.stopping"]
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._wake_r: socket.socket | None = None
        self._wake_w: socket.socket | None = None

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
        try:
            self._server = _Server(self.config.host, self.config.port, self.app,
                                   handler=_RequestHandler)
        except _BindFailed as failed:
            raise failed.error from None
        self._wake_r, self._wake_w = socket.socketpair()
        self._thread = threading.Thread(target=self._serve, name=f"mockproget:{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, end open connections and release the port. Idempotent."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        assert self._wake_w is not None and self._wake_r is not None
        self._stopping.set()  # injected delays, dribbles and hangs end now
        self._wake_w.send(b"\0")
        thread.join()
        server.close_connections()
        server.server_close()
        self._wake_w.close()
        self._wake_r.close()
        self._server = self._thread = self._wake_r = self._wake_w = None

    def _serve(self) -> None:
        server, wake = self._server, self._wake_r
        assert server is not None and wake is not None
        with selectors.DefaultSelector() as selector:
            selector.register(server, selectors.EVENT_READ)
            selector.register(wake, selectors.EVENT_READ)
            while True:
                for key, _ in selector.select():
                    if key.fileobj is wake:
                        return
                    server._handle_request_noblock()

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
        return int(self._server.server_address[1])

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
    def seed(self) -> int | None:
        """The seed driving every random choice (keys, fault draws, delays), or ``None``."""
        return self.config.seed

    def reset(self) -> None:
        """Everything back: the seeded state and settings, the configured fault rules with
        fresh counters and re-seeded random streams, an empty journal."""
        self.backend.reset()
        self.faults.reset()
        self.journal.clear()


ADMIN_KEY_NAME = "mockproget admin"


def _new_admin_key(seed: int | None) -> str:
    if seed is None:
        return secrets.token_hex(20)
    return f"{random.Random(f'mockproget-admin-key:{seed}').getrandbits(160):040x}"
