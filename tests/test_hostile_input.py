"""Hostile input on the wire: chunk-size lines that announce more than can ever be read,
chunk-size lines without end, and the raw-socket header edge cases (RFC 9112).

Spec sections: §3-§4 (a caller is judged before its body: an oversized body is a 403
without a valid key, a 413 with one), §6 (errors are text), §7 (the official client sends
chunked bodies). The limits are the mock's (docs/server.md).
"""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Iterator

import pytest
import requests

from mockproget import Config, MockProGet
from netkit import read_all, status_of

CREATE = "/api/api-keys/create"
#: Long enough that a test waiting on it fails instead of passing late.
SLOW = 30.0


def _send(port: int, data: bytes, *, limit: float = 5.0) -> tuple[bytes, float]:
    """Send ``data`` without closing, and read the answer; how long it took."""
    with socket.create_connection(("127.0.0.1", port), timeout=limit) as sock:
        started = time.monotonic()
        try:
            sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused before all of it was read: the answer is already there
        answer = read_all(sock, limit)
    return answer, time.monotonic() - started


def _chunked(path: str, key: str | None, host: str = "x", method: str = "POST") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Content-Type: application/json",
             "Transfer-Encoding: chunked"]
    if key:
        lines.append(f"X-ApiKey: {key}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


@pytest.fixture
def patient() -> Iterator[MockProGet]:
    """A mock whose body timeout is far longer than any test waits for an answer."""
    from mockproget.config import ServerSettings

    settings = ServerSettings(body_timeout=SLOW, header_timeout=SLOW)
    with MockProGet(Config(port=0, max_body=4096, control_max_body=65536, server=settings)) as server:
        yield server


# -- a chunk size that can never fit ---------------------------------------------------


def _oversized_by_length(port: int, path: str, key: str | None, host: str, size: int,
                         method: str = "POST") -> tuple[int, bytes]:
    """The answer (status, body) a body whose Content-Length is over the limit gets."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Content-Type: application/json",
             f"Content-Length: {size}"] + ([f"X-ApiKey: {key}"] if key else [])
    answer, _ = _send(port, ("\r\n".join(lines) + "\r\n\r\n").encode())
    return status_of(answer), answer.partition(b"\r\n\r\n")[2]


@pytest.mark.parametrize("size", [b"ffffffffffff", b"1001", b"ffffffffffffffffffffffffffffffff"])
def test_a_chunk_size_over_the_limit_is_refused_when_its_line_is_read(patient: MockProGet, size: bytes) -> None:
    """§3-§4 before §2, docs/server.md: a chunk-size line announcing more than ``max_body``
    (4096 here) is answered at once, with what a body whose Content-Length is over the
    limit gets: 403 for a wrong key, 413 for the admin key, and 413 without a key (the
    JSON body, one of the credential carriers, cannot be read); the server does not wait
    for the body timeout, creates nothing, and still answers."""
    for key, expected in ((None, 413), ("Admin:wrong", 403), (patient.admin_key, 413)):
        answer, took = _send(patient.port, _chunked(CREATE, key) + size + b"\r\n{")
        assert status_of(answer) == expected, answer[:300]
        assert took < 5 and b"text/plain" in answer.partition(b"\r\n\r\n")[0]
        reference = _oversized_by_length(patient.port, CREATE, key, "x", 4097)
        assert (status_of(answer), answer.partition(b"\r\n\r\n")[2]) == reference
    assert b"too large" in answer.partition(b"\r\n\r\n")[2]
    assert len(patient.backend.api_keys) == 1
    assert requests.get(patient.url + "health", timeout=5).status_code == 200


def test_chunks_that_add_up_past_the_limit_are_refused_at_the_size_line(patient: MockProGet) -> None:
    """§3-§4, docs/server.md: the body read so far plus the chunk announced next is what
    counts: 4000 bytes read, then a 0x100-byte chunk announced → 413 at once."""
    body = b"fa0\r\n" + b"x" * 4000 + b"\r\n100\r\n"
    answer, took = _send(patient.port, _chunked(CREATE, patient.admin_key) + body)
    assert status_of(answer) == 413 and took < 5


def test_a_chunk_size_within_the_limit_still_waits_for_its_data(patient: MockProGet) -> None:
    """§7: a chunk that fits is read as it comes: a 2-byte JSON body in a chunk announced
    before its data, sent in two pieces, creates a key (with the type it names)."""
    with socket.create_connection(("127.0.0.1", patient.port), timeout=5) as sock:
        body = b'{"type":"system","systemApis":["sca"],"logging":"none"}'
        sock.sendall(_chunked(CREATE, patient.admin_key) + f"{len(body):x}\r\n".encode())
        time.sleep(0.3)
        sock.sendall(body + b"\r\n0\r\n\r\n")
        sock.settimeout(5)
        answer = sock.recv(65536)
    assert status_of(answer) == 200, answer[:300]


def test_the_control_api_refuses_a_chunk_over_its_own_limit_at_once(patient: MockProGet) -> None:
    """Issue 8 §3, docs/control-api.md: on ``/__mockproget__/`` the limit is
    ``control_max_body`` (65536 here): a chunk of 0x10000 + 1 bytes announced is a 413 at
    once; one of 0x8000 (past ``max_body``, within the control limit) is waited for."""
    answer, took = _send(patient.port, _chunked("/__mockproget__/state", None, "127.0.0.1", "PUT") + b"10001\r\n")
    assert status_of(answer) == 413 and took < 5, answer[:300]
    reference = _oversized_by_length(patient.port, "/__mockproget__/state", None, "127.0.0.1", 65537, "PUT")
    assert (status_of(answer), answer.partition(b"\r\n\r\n")[2]) == reference
    answer, took = _send(patient.port, _chunked("/__mockproget__/state", None, "127.0.0.1", "PUT") + b"8000\r\n",
                         limit=1.0)
    assert answer == b"" and took >= 0.9  # still reading: no answer yet


# -- a chunk-size line without end --------------------------------------------------------


@pytest.mark.parametrize("line", [b"0" * 100_000, b"1;" + b"e" * 100_000, b"1;e=" + b"v" * 100_000])
def test_an_endless_chunk_size_line_is_refused_not_buffered(patient: MockProGet, line: bytes) -> None:
    """§3-§4 before §2, §6, docs/server.md: a chunk-size line (hex digits or extensions)
    past 4 KiB without its CRLF is a 400 naming the problem (403 without a key), answered
    while the client is still sending, not a buffer that grows until the body timeout."""
    for key, expected in ((None, 403), (patient.admin_key, 400)):
        answer, took = _send(patient.port, _chunked(CREATE, key) + line)
        assert status_of(answer) == expected, answer[:300]
        assert took < 5
    assert b"chunk-size line" in answer.partition(b"\r\n\r\n")[2]
    assert requests.get(patient.url + "health", timeout=5).status_code == 200


def test_an_endless_trailer_is_refused_not_buffered(patient: MockProGet) -> None:
    """§6, docs/server.md: trailer fields after the last chunk past 64 KiB without the
    blank line that ends them: a 400 naming the problem, not an unbounded buffer."""
    trailer = b"0\r\n" + b"X-T: " + b"t" * 100_000
    answer, took = _send(patient.port, _chunked(CREATE, patient.admin_key) + trailer)
    assert status_of(answer) == 400 and took < 5, answer[:300]
    assert b"trailer" in answer.partition(b"\r\n\r\n")[2]


def test_a_long_but_bounded_chunk_extension_is_still_read(patient: MockProGet) -> None:
    """RFC 9112 §7.1.1: chunk extensions are allowed and ignored: a 1 KiB one is fine."""
    body = b'{"type":"system","systemApis":["sca"],"logging":"none"}'
    data = (_chunked(CREATE, patient.admin_key) + f"{len(body):x};e=".encode() + b"v" * 1024 + b"\r\n"
            + body + b"\r\n0\r\n\r\n")
    with socket.create_connection(("127.0.0.1", patient.port), timeout=5) as sock:
        sock.sendall(data)
        sock.settimeout(5)
        answer = sock.recv(65536)
    assert status_of(answer) == 200, answer[:300]


# -- the request head: Host, framing, Connection, Expect (RFC 9112) ------------------------

HEALTH = b"GET /health HTTP/1.1\r\n"
B = b'{"type":"system","systemApis":["sca"],"logging":"none"}'
CREATE_HEAD = f"POST {CREATE} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n".encode()


@pytest.fixture(scope="module")
def served() -> Iterator[MockProGet]:
    """One mock for the head tests, its deadlines far past the tests' 5 s waits: a request
    left hanging fails the test instead of getting a 408 in time."""
    from mockproget.config import ServerSettings

    with MockProGet(Config(port=0, server=ServerSettings(header_timeout=SLOW, body_timeout=SLOW))) as server:
        yield server


def _head_refused(server: MockProGet, data: bytes, reason: bytes) -> None:
    answer, took = _send(server.port, data)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert status_of(answer) == 400 and b"text/plain" in head, answer[:300]
    assert reason in body and took < 5
    assert requests.get(server.url + "health", timeout=5).status_code == 200


@pytest.mark.parametrize("host, reason", [
    (None, b"needs a Host"),
    (b"Host: x\r\nHost: x", b"more than one Host"),
    (b"Host: 127.0.0.1\r\nHost: evil.example", b"more than one Host"),
    (b"Host: a b", b"not host[:port]"),
    (b"Host: [::1", b"not host[:port]"),
    (b"Host: [127.0.0.1]", b"not host[:port]"),
    (b"Host: x:80:80", b"not host[:port]"),
    (b"Host: x@y", b"not host[:port]"),
    (b"Host: x\r\n y", b"not host[:port]"),  # obs-fold: the value read is "x y"
])
def test_an_http_1_1_request_without_one_valid_host_is_a_400(served: MockProGet, host: bytes | None,
                                                               reason: bytes) -> None:
    """§6, RFC 9112 §3.2 (MUST): an HTTP/1.1 request with no Host, more than one, or one
    that is not ``host[:port]`` gets a 400 in text naming the problem, on every path."""
    for path in (b"/health", b"/__mockproget__/state"):
        data = b"GET " + path + b" HTTP/1.1\r\n" + (host + b"\r\n" if host else b"") + b"Connection: close\r\n\r\n"
        _head_refused(served, data, reason)


@pytest.mark.parametrize("host", [b"", b"x", b"127.0.0.1:8624", b"[::1]:1", b"[v1.fe]", b"a%20b.example",
                                  b"Mock.Internal:", b"sub-delims!$&'()*+,;=.example"])
def test_valid_hosts_and_http_1_0_without_one_are_answered(served: MockProGet, host: bytes) -> None:
    """RFC 9112 §3.2, RFC 3986 §3.2.2: any ``host[:port]`` (an empty one too) is served;
    an HTTP/1.0 request may leave Host out."""
    answer, _ = _send(served.port, HEALTH + b"Host: " + host + b"\r\nConnection: close\r\n\r\n")
    assert status_of(answer) == 200, answer[:300]
    answer, _ = _send(served.port, b"GET /health HTTP/1.0\r\n\r\n")
    assert status_of(answer) == 200, answer[:300]


@pytest.mark.parametrize("coding, reason", [
    (b"chunked, chunked", b"chunked more than once"),
    (b"chunked\r\nTransfer-Encoding: chunked", b"chunked more than once"),
    (b"", b"names no transfer coding"),
])
def test_a_transfer_encoding_that_frames_nothing_clearly_is_a_400(served: MockProGet, coding: bytes,
                                                                  reason: bytes) -> None:
    """§6, RFC 9112 §6.1 (chunked MUST NOT be applied twice) and §6.3 (MUST: chunked not
    the final coding → 400, then close): no key is created from such a body."""
    before = len(served.backend.api_keys)
    body = b"%x\r\n" % len(B) + B + b"\r\n0\r\n\r\n"
    _head_refused(served, CREATE_HEAD + f"X-ApiKey: {served.admin_key}\r\n".encode() + b"Transfer-Encoding: "
                  + coding + b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body, reason)
    assert len(served.backend.api_keys) == before


@pytest.mark.parametrize("smuggled", [
    b"Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG",
    b"Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n8\r\nSMUGGLED\r\n0\r\n\r\n",
])
def test_a_request_framed_both_ways_closes_its_connection(served: MockProGet, smuggled: bytes) -> None:
    """RFC 9112 §6.1 (MUST close after answering a request with both Transfer-Encoding
    and Content-Length): the answer carries ``Connection: close`` and the connection
    ends, so nothing after the chunked body is read as a next request."""
    with socket.create_connection(("127.0.0.1", served.port), timeout=5) as sock:
        sock.sendall(CREATE_HEAD + f"X-ApiKey: {served.admin_key}\r\n".encode() + smuggled)
        answer = read_all(sock, 5)
    assert answer.count(b"HTTP/1.1 ") == 1, answer
    assert status_of(answer) == 400 and b"\r\nConnection: close\r\n" in answer


@pytest.mark.parametrize("connection", [b"keep-alive, close", b"Close", b"foo ,\tclose"])
def test_close_among_the_connection_options_closes(served: MockProGet, connection: bytes) -> None:
    """RFC 9112 §9.6: ``close`` as one of the Connection header's options (any case, in
    a list) ends the connection after the answer, which says ``Connection: close``."""
    with socket.create_connection(("127.0.0.1", served.port), timeout=5) as sock:
        sock.sendall(HEALTH + b"Host: x\r\nConnection: " + connection + b"\r\n\r\n")
        started = time.monotonic()
        answer = read_all(sock, 5)
    assert status_of(answer) == 200 and b"\r\nConnection: close\r\n" in answer
    assert time.monotonic() - started < 4  # closed by the server, not by our timeout


@pytest.mark.parametrize("request_head", [
    HEALTH + b"Host: x\r\nExpect: 100-continue\r\n\r\n",
    CREATE_HEAD + b"Content-Length: 0\r\nExpect: 100-continue\r\n\r\n",
    CREATE_HEAD + b"Content-Length: 99999999\r\nExpect: 100-continue\r\n\r\n",
])
def test_expect_100_continue_without_a_body_to_wait_for_is_answered_at_once(served: MockProGet,
                                                                              request_head: bytes) -> None:
    """§7, RFC 9110 §10.1.1: ``Expect: 100-continue`` on a request with no body to read
    (a GET, ``Content-Length: 0``, a body over the limit that is never read) gets its
    final answer at once, not a ``100 Continue`` and a wait until the body timeout."""
    with socket.create_connection(("127.0.0.1", served.port), timeout=5) as sock:
        sock.sendall(request_head)
        sock.settimeout(5)
        answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 ") and not answer.startswith(b"HTTP/1.1 100"), answer[:200]
    assert status_of(answer) in (200, 403, 413)


@pytest.mark.parametrize("data", [
    HEALTH + b"Host: x\nConnection: close\n\n",
    b"GET /health HTTP/1.1\nHost: x\r\n\r\n",
    CREATE_HEAD + b"X-ApiKey: {key}\r\nTransfer-Encoding: chunked\r\n\r\n" + b"%x\n" % len(B) + B + b"\n0\n\n",
])
def test_a_bare_lf_is_a_400_at_once(served: MockProGet, data: bytes) -> None:
    """§6, RFC 9112 §2.2 and §7.1 (lines end with CRLF): a head or a chunk-size line
    ended by a bare LF is a 400 in text naming it, at once, not a wait for a CRLF that
    never comes."""
    answer, took = _send(served.port, data.replace(b"{key}", served.admin_key.encode()))
    assert status_of(answer) == 400 and took < 5, answer[:300]
    assert re.search(rb"(?i)bare (cr or )?lf", answer.partition(b"\r\n\r\n")[2]), answer


@pytest.mark.parametrize("target", [b"\x00/health", b"\x01/health", b"/health\x00", b"/hea\x7flth", b"\t/health"])
def test_a_control_character_in_the_request_target_is_a_400(served: MockProGet, target: bytes) -> None:
    """§6, RFC 9112 §3.2 / RFC 3986 §2: a request target holding a control character
    (which Python's URL splitter would quietly drop from its start, serving
    ``/health``) is a 400 in text."""
    _head_refused(served, b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                  b"400 Bad Request")
