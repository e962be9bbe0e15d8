"""Requests sent byte for byte: exact header-name case, chunked framing with chosen chunk
sizes and hex case (spec §7: .NET writes chunk sizes in upper-case hex), GET bodies.

``requests`` normalises too much for these equivalences, so the kit writes the request
itself on a socket and lets :class:`http.client.HTTPResponse` read the answer (framed by
its Content-Length or chunks: nothing here depends on the server closing the
connection). The answer is a :class:`requests.Response`, so every check of
:mod:`mockproget_contracts.checks` applies, and the exchange is recorded (masked) on the
client like any other.
"""

from __future__ import annotations

import http.client
import socket
import ssl
from collections.abc import Sequence
from urllib.parse import urlsplit

import requests
from requests.structures import CaseInsensitiveDict

from mockproget_contracts.client import Exchange, ProGetClient, _mask_body, _mask_headers, _mask_url

__all__ = ["chunk_sizes", "send_raw"]


def chunk_sizes(length: int, size: int) -> list[int]:
    """The sizes of the chunks that carry ``length`` bytes in chunks of ``size``."""
    size = max(1, size)
    return [min(size, length - start) for start in range(0, length, size)]


def _frame_chunked(body: bytes, size: int, upper_hex: bool) -> tuple[bytes, list[str]]:
    out, start = bytearray(), 0
    lines: list[str] = []
    for n in chunk_sizes(len(body), size):
        line = f"{n:X}" if upper_hex else f"{n:x}"
        lines.append(line)
        out += line.encode("ascii") + b"\r\n" + body[start:start + n] + b"\r\n"
        start += n
    out += b"0\r\n\r\n"
    lines.append("0")
    return bytes(out), lines


def send_raw(client: ProGetClient, method: str, path: str, *, query: str = "",
             headers: Sequence[tuple[str, str]] = (), body: bytes | None = None,
             chunk_size: int | None = None, upper_hex: bool = True, coding: str = "chunked",
             follow_up: str | None = None) -> requests.Response:
    """Send one request exactly as described and record it on ``client``.

    :param path: relative to the client's base URL (spec §7), e.g. ``api/api-keys/list``.
    :param query: the query string as sent (already encoded), without ``?``.
    :param headers: name/value pairs written as given (the name's case kept).
    :param body: ``None`` sends no body (and, on POST, ``Content-Length: 0`` as pgutil).
    :param chunk_size: send ``body`` with ``Transfer-Encoding: chunked`` in chunks of this
        size (no Content-Length), the sizes in upper- or lower-case hex; ``coding`` is the
        ``Transfer-Encoding`` value as written (RFC 9112 §7: its case carries no meaning).
    :param follow_up: a credential: when the server keeps the connection open, send
        ``GET api/api-keys/list`` with it in X-ApiKey on the same connection next; its
        answer is ``response.follow_up`` (``None`` when the server closed the connection,
        which it may). A server must read (or discard) a body it does not use, or the next
        request is parsed from its leftovers (RFC 9112 §6, §9.3 [std]).
    """
    base = urlsplit(client.url)
    host, port = base.hostname or "127.0.0.1", base.port or (443 if base.scheme == "https" else 80)
    target = (base.path or "/") + path + (f"?{query}" if query else "")
    sent: list[tuple[str, str]] = [("Host", base.netloc)] + list(headers)
    payload: bytes = b""
    lines: list[str] = []
    if body is not None and chunk_size is not None:
        payload, lines = _frame_chunked(body, chunk_size, upper_hex)
        sent.append(("Transfer-Encoding", coding))
    elif body is not None or method == "POST":
        payload = body or b""
        sent.append(("Content-Length", str(len(payload))))
    if follow_up is None:
        sent.append(("Connection", "close"))
    head = f"{method} {target} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in sent) + "\r\n"
    content_type = next((v for k, v in sent if k.lower() == "content-type"), "")
    shown: dict[str, str] = {}
    for name, value in sent[1:]:
        shown[name if name not in shown else f"{name} (again)"] = value
    exchange = Exchange(method, _mask_url(client.url + path + (f"?{query}" if query else ""), client.secrets),
                        _mask_headers(shown, client.secrets),
                        _mask_body(content_type.lower(), body, client.secrets))
    if lines:
        exchange.request_body = f"[chunk sizes: {' '.join(lines)}]\n" + exchange.request_body
    client.exchanges.append(exchange)
    sock: socket.socket | None = None
    try:
        sock = socket.create_connection((host, port), timeout=client.timeout)
        if base.scheme == "https":
            sock = ssl.create_default_context().wrap_socket(sock, server_hostname=host)
        sock.sendall(head.encode("latin-1") + payload)
        answer = http.client.HTTPResponse(sock, method=method)
        answer.begin()
        content = answer.read()
        response = requests.Response()
        response.status_code, response.reason = answer.status, answer.reason
        response.headers = CaseInsensitiveDict(answer.getheaders())
        response._content = content
        response.encoding = requests.utils.get_encoding_from_headers(response.headers) or "utf-8"
        response.url = client.url + path
        response.follow_up = None  # type: ignore[attr-defined]
        if follow_up is not None and not answer.will_close:
            response.follow_up = _next_on(sock, base.netloc, (base.path or "/") + "api/api-keys/list",  # type: ignore[attr-defined]
                                          follow_up)
    except (OSError, http.client.HTTPException) as error:
        exchange.error = client.secrets.mask(f"{type(error).__name__}: {error}")
        raise requests.ConnectionError(exchange.error) from None
    finally:
        if sock is not None:
            sock.close()
    exchange.status, exchange.reason = response.status_code, response.reason or ""
    exchange.response_headers = _mask_headers(dict(response.headers), client.secrets)
    exchange.response_body = _mask_body(response.headers.get("Content-Type", ""), content, client.secrets)
    exchange.echoed = response.status_code >= 400 and client.secrets.echoed(
        head + payload.decode("latin-1"), content)
    response.exchange = exchange  # type: ignore[attr-defined]
    return response


def _next_on(sock: socket.socket, host: str, target: str, credential: str) -> int | None:
    """Status of a ``GET target`` sent next on ``sock``; ``None`` if the server closed it."""
    try:
        sock.sendall(f"GET {target} HTTP/1.1\r\nHost: {host}\r\nX-ApiKey: {credential}\r\n"
                     "Connection: close\r\n\r\n".encode("latin-1"))
        answer = http.client.HTTPResponse(sock, method="GET")
        answer.begin()
        answer.read()
        return answer.status
    except (OSError, http.client.HTTPException):
        return None
