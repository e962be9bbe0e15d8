"""Test support for the wire: raw-socket reads of the server's answers, and the chain of
causes behind a client's connection error (what a connection fault looks like to
``requests``)."""

from __future__ import annotations

import socket
from collections.abc import Iterator


def read_all(sock: socket.socket, limit: float = 5.0) -> bytes:
    """Everything until the server closes (or ``limit`` seconds pass)."""
    sock.settimeout(limit)
    answer = b""
    try:
        while chunk := sock.recv(65536):
            answer += chunk
    except (ConnectionResetError, TimeoutError, socket.timeout):
        pass
    return answer


def status_of(answer: bytes) -> int:
    """The status code of a raw answer (0 when it is not an HTTP answer)."""
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.") else 0


def causes(error: BaseException) -> Iterator[BaseException]:
    """The error, the exceptions in its args, its cause, context and ``reason`` (urllib3's),
    and theirs, depth first, each once."""
    seen: set[int] = set()
    stack = [error]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        stack.extend(a for a in current.args if isinstance(a, BaseException))
        stack.extend(e for e in (current.__cause__, current.__context__,
                                 getattr(current, "reason", None)) if isinstance(e, BaseException))
