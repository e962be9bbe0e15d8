"""The server core under hostile and heavy traffic (issue 7): bodies, keep-alive,
deadlines, bounded connections and threads, refusals in text.

Spec sections: §7 (the official client sends chunked bodies with no Content-Length and
keeps connections alive), §6 (errors are text), §3-§4 (a caller is judged before its
body). The connection lifecycle itself is the mock's (docs/server.md).
"""

from __future__ import annotations

import io
import os
import json
import resource
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from mockproget import Config, MockProGet, create_app
from mockproget.config import ServerSettings
from netkit import read_all, status_of

SYSTEM = {"type": "system", "systemApis": ["sca"], "logging": "none"}
CREATE = "/api/api-keys/create"


def _answers(data: bytes) -> list[tuple[int, bytes]]:
    """Split a byte stream of answers with Content-Length into (status, body)."""
    out = []
    while data:
        head, _, rest = data.partition(b"\r\n\r\n")
        length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                       if line.lower().startswith(b"content-length:")), 0)
        out.append((status_of(head), rest[:length]))
        data = rest[length:]
    return out


def _recv_answer(sock: socket.socket) -> bytes:
    """One answer with a Content-Length, read to its end."""
    sock.settimeout(5)
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536) or b"!"
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:"))
    while len(body) < length:
        body += sock.recv(65536) or b"!"
    return head + b"\r\n\r\n" + body


def _chunked_create(key: str | None, head: bytes, tail: bytes = b"") -> bytes:
    lines = [f"POST {CREATE} HTTP/1.1", "Host: x", "Content-Type: application/json",
             "Transfer-Encoding: chunked"]
    if key:
        lines.append(f"X-ApiKey: {key}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + head + tail


@pytest.fixture
def quick() -> Iterator[MockProGet]:
    """A mock with short deadlines."""
    settings = ServerSettings(idle_timeout=1.5, header_timeout=0.6, body_timeout=0.6)
    with MockProGet(Config(port=0, server=settings)) as server:
        yield server


# -- 1. bodies read safely ---------------------------------------------------------------


def _crash_attempt(port: int, key: str | None) -> int:
    """The reproduction: a chunk header promising more than is sent (128 KiB, within
    ``max_body``: a chunk that can never fit is refused at its size line), then a half-close."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(_chunked_create(key, b"20000\r\n" + b"A" * 10))
        sock.shutdown(socket.SHUT_WR)
        answer = read_all(sock, 10)
    return status_of(answer)


def test_the_truncated_chunk_crash_from_16_threads_leaves_the_server_answering() -> None:
    """§7, issue 7 point 1: 16 threads replay the crash in a bounded loop; every answer is
    a 4xx (403 without a key, 400 with one: judged after authentication), none is lost,
    and /health answers after."""
    with MockProGet() as server:
        keys = [None, server.admin_key]

        def attack(n: int) -> list[int]:
            return [_crash_attempt(server.port, keys[(n + i) % 2]) for i in range(12)]

        with ThreadPoolExecutor(16) as pool:
            statuses = [s for part in pool.map(attack, range(16)) for s in part]
        assert len(statuses) == 16 * 12
        assert set(statuses) <= {400, 403} and {400, 403} <= set(statuses), statuses
        assert requests.get(server.url + "health", timeout=5).status_code == 200
        assert len(server.backend.api_keys) == 1  # nothing was created from the fragments


def test_a_truncated_chunk_is_a_400_that_shows_no_foreign_bytes() -> None:
    """§6: the 400 names the problem; its body holds no byte that was not sent."""
    with MockProGet() as server, socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(_chunked_create(server.admin_key, b"20000\r\n" + b"A" * 10))
        sock.shutdown(socket.SHUT_WR)
        answer = read_all(sock)
    assert status_of(answer) == 400
    body = answer.partition(b"\r\n\r\n")[2]
    assert b"chunked request body ends before it is complete" in body
    assert set(body) <= set(range(32, 127)) | {10, 13}  # plain text, nothing from the heap


def test_werkzeug_dechunked_input_is_never_read_past_its_data() -> None:
    """§7 and §4 before §2: The app under werkzeug's own dev server: a chunk cut short is a 400 (after
    authentication), not a body of heap bytes."""
    from werkzeug.serving import DechunkedInput
    from werkzeug.test import EnvironBuilder

    app = create_app(Config(admin_key="k-werkzeug-0001"))
    for key, expected in (("k-werkzeug-0001", 400), (None, 403)):
        headers = [("X-ApiKey", key)] if key else []
        environ = EnvironBuilder(path=CREATE, method="POST", headers=headers,
                                 content_type="application/json").get_environ()
        environ.pop("CONTENT_LENGTH", None)
        environ["wsgi.input"] = DechunkedInput(io.BufferedReader(io.BytesIO(b"200000\r\n" + b"A" * 10)))
        environ["wsgi.input_terminated"] = True
        seen: list[str] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: object = None) -> Any:
            seen.append(status)

        body = b"".join(app(environ, start_response))
        assert seen[0].startswith(str(expected)), (seen, body)
        assert b"\x00" not in body and len(body) < 1000


def test_chunked_wins_over_content_length_and_the_limit_is_the_decoded_body() -> None:
    """RFC 9112 §6.3 and §7: with both Transfer-Encoding and Content-Length the body is
    read as chunked; a 2 MB chunked body with ``Content-Length: 5`` is a 413, not a
    1 MiB slice accepted."""
    with MockProGet() as server:
        big = json.dumps({**SYSTEM, "description": "x" * 2_000_000}).encode()
        chunks = b"".join(f"{len(big[i:i + 65536]):x}\r\n".encode() + big[i:i + 65536] + b"\r\n"
                          for i in range(0, len(big), 65536)) + b"0\r\n\r\n"
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            sock.sendall(f"POST {CREATE} HTTP/1.1\r\nHost: x\r\nX-ApiKey: {server.admin_key}\r\n"
                         f"Content-Type: application/json\r\nContent-Length: 5\r\n"
                         f"Transfer-Encoding: chunked\r\n\r\n".encode())
            try:
                sock.sendall(chunks)
            except (BrokenPipeError, ConnectionResetError):
                pass  # refused before the end of it: fine, the answer is already there
            answer = read_all(sock)
        assert status_of(answer) == 413 and b"too large" in answer
        small = json.dumps(SYSTEM).encode()
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            sock.sendall(f"POST {CREATE} HTTP/1.1\r\nHost: x\r\nX-ApiKey: {server.admin_key}\r\n"
                         f"Content-Type: application/json\r\nContent-Length: 5\r\n"
                         f"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n".encode()
                         + f"{len(small):x}\r\n".encode() + small + b"\r\n0\r\n\r\n")
            answer = read_all(sock)
        assert status_of(answer) == 200 and len(server.backend.api_keys) == 2


def test_the_control_limit_is_only_the_control_apis() -> None:
    """Issue 8 §3 on the wire: a body past ``max_body`` but within the control API's own
    limit is a 413 on an api-keys path (told by its Content-Length, before it is read) and
    is read whole on a control path."""
    with MockProGet(Config(port=0, max_body=1024, control_max_body=1024 * 1024)) as server:
        body = json.dumps({**SYSTEM, "description": "x" * 4096}).encode()
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            sock.sendall(f"POST {CREATE} HTTP/1.1\r\nHost: x\r\nX-ApiKey: {server.admin_key}\r\n"
                         f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode())
            answer = read_all(sock)
        assert status_of(answer) == 413 and len(server.backend.api_keys) == 1
        state = json.dumps({"users": [{"name": "Admin", "password": "Admin", "admin": True}],
                            "feeds": [f"feed-{i:04d}" for i in range(400)]}).encode()
        assert 1024 < len(state) < 1024 * 1024
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            sock.sendall(f"PUT /__mockproget__/state HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                         f"Content-Type: application/json\r\nContent-Length: {len(state)}\r\n\r\n".encode()
                         + state)
            answer = read_all(sock)
        assert status_of(answer) == 200, answer[:300]
        assert len(server.backend.feeds) == 400


def test_a_malformed_chunk_stream_is_judged_after_authentication() -> None:
    """§3-§4 before §2: no key → 403, a good key → 400 naming the chunk problem."""
    with MockProGet() as server:
        for key, expected in ((None, 403), ("Admin:wrong", 403), (server.admin_key, 400)):
            with socket.create_connection(("127.0.0.1", server.port)) as sock:
                sock.sendall(_chunked_create(key, b"zz\r\n{}\r\n0\r\n\r\n"))
                answer = read_all(sock)
            assert status_of(answer) == expected, answer
        assert b"malformed" in answer.partition(b"\r\n\r\n")[2]


def test_transfer_encoding_on_http_1_0_is_refused_in_text() -> None:
    """RFC 9112 §6.1: the framing of an HTTP/1.0 message with Transfer-Encoding cannot be
    trusted: 400, text."""
    with MockProGet() as server, socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(f"POST {CREATE} HTTP/1.0\r\nTransfer-Encoding: chunked\r\n"
                     f"Content-Length: 2\r\n\r\n{{}}".encode())
        answer = read_all(sock)
    assert status_of(answer) == 400 and b"text/plain" in answer and b"Transfer-Encoding" in answer


@pytest.mark.parametrize("coding", ["gzip", "gzip, chunked", "chunked, gzip", "identity", "x-bogus"])
def test_a_transfer_coding_other_than_chunked_is_a_400_in_text_not_a_501(coding: str) -> None:
    """§6 (errors are text, docs/fidelity.md "The server"): only ``chunked`` is read; any
    other transfer coding is the client's error, a 400 naming the header, then close; no
    5xx comes from anything but an injected fault."""
    with MockProGet() as server, socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(f"POST {CREATE} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: {coding}\r\n"
                     f"Content-Length: 2\r\n\r\n{{}}".encode())
        answer = read_all(sock)
        assert status_of(answer) == 400 and b"text/plain" in answer
        assert b"Transfer-Encoding" in answer.partition(b"\r\n\r\n")[2]
        assert requests.get(server.url + "health", timeout=5).status_code == 200


@pytest.mark.parametrize("version", ["1.2", "1.9"])
def test_a_later_http_1_minor_version_is_read_and_answered_as_1_1(version: str,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    """RFC 9112 §2.3 (docs/fidelity.md "§6 request heads"): HTTP/1.2 is answered as
    HTTP/1.1, with 1.1's rules: the connection stays open, a chunked body is read, the
    access log shows the line as sent."""
    import logging

    caplog.set_level(logging.INFO, logger="mockproget")
    body = json.dumps(SYSTEM).encode()
    with MockProGet() as server, socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(f"GET /health HTTP/{version}\r\nHost: x\r\n\r\n".encode())
        first = _recv_answer(sock)
        sock.sendall(_chunked_create(server.admin_key, f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n")
                     .replace(b" HTTP/1.1\r\n", f" HTTP/{version}\r\n".encode(), 1))
        second = _recv_answer(sock)
        stored = len(server.backend.api_keys)
    assert first.startswith(b"HTTP/1.1 200 ") and second.startswith(b"HTTP/1.1 200 "), (first, second)
    assert stored == 2
    assert any(f"GET /health HTTP/{version}" in r.getMessage() for r in caplog.records if r.name == "mockproget.access")


@pytest.mark.parametrize("version", ["2.0", "3.0", "0.9"])
def test_another_major_version_is_a_400_in_text(version: str) -> None:
    """RFC 9112 §2.3: a major version other than 1 is not spoken here: a 400 (no 505:
    nothing but an injected fault answers 5xx) saying to send HTTP/1.1."""
    with MockProGet() as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(f"GET /health HTTP/{version}\r\nHost: x\r\n\r\n".encode())
            answer = read_all(sock)
        assert requests.get(server.url + "health", timeout=5).status_code == 200
    head, _, text = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 ") and b"text/plain" in head
    assert f"HTTP/{version}".encode() in text and b"HTTP/1.1" in text


def test_expect_100_continue_gets_one_interim_answer() -> None:
    """§7: one ``100 Continue``, then the answer."""
    body = json.dumps(SYSTEM).encode()
    with MockProGet() as server, socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(f"POST {CREATE} HTTP/1.1\r\nHost: x\r\nX-ApiKey: {server.admin_key}\r\n"
                     f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
                     f"Expect: 100-continue\r\n\r\n".encode())
        sock.settimeout(5)
        interim = sock.recv(100)
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(body)
        time.sleep(0.2)
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        rest = read_all(sock)
    assert rest.count(b"100 Continue") == 0
    assert [status for status, _ in _answers(rest)] == [200, 200]


# -- 2. keep-alive, pipelining, refusals -------------------------------------------------


def test_two_requests_on_one_socket_both_get_answers() -> None:
    """§7: HTTP/1.1 keep-alive: a second request on the same socket is answered."""
    with MockProGet() as server, socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.settimeout(5)
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        first = _recv_answer(sock)
        assert status_of(first) == 200 and b"connection: close" not in first.lower()
        sock.sendall(b"GET /health/json HTTP/1.1\r\nHost: x\r\n\r\n")
        second = _recv_answer(sock)
        assert status_of(second) == 200 and b"applicationName" in second


def test_pipelined_requests_are_answered_in_order() -> None:
    """§7 (RFC 9112 §9.3.2): Pipelined requests: answered in the order they were sent."""
    with MockProGet() as server, socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(b"GET /health/json HTTP/1.1\r\nHost: x\r\n\r\n"
                     b"GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n"
                     b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        answers = _answers(read_all(sock))
    assert [status for status, _ in answers] == [200, 404, 200]
    assert answers[1][1].startswith(b"Not found: ")  # the path is not echoed (no oracle)


def test_a_requests_session_reuses_one_connection() -> None:
    """§7: a pooled client keeps one connection for many requests."""
    with MockProGet() as server, requests.Session() as session:
        session.headers["X-ApiKey"] = server.admin_key
        for _ in range(5):
            assert session.post(server.url + CREATE[1:], json=SYSTEM, timeout=5).status_code == 200
            assert session.get(server.url + "api/api-keys/list", timeout=5).status_code == 200
        assert server.connection_count == 1
        assert server.journal.entries()[-1]["status"] == 200


def test_keep_alive_off_closes_every_connection_after_its_answer() -> None:
    """§7: The setting turns keep-alive off: ``Connection: close``, then the socket closes."""
    with MockProGet(Config(port=0, server=ServerSettings(keep_alive=False))) as server:
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            answer = read_all(sock)
        assert status_of(answer) == 200 and b"Connection: close" in answer


@pytest.mark.parametrize("line", [b"GET http://[::1/x HTTP/1.1", b"GET /a b HTTP/1.1", b"get / HTTP/1.1",
                                  b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", b"GET /x HTTP/1.1\x00"])
def test_a_malformed_request_line_gets_a_400_in_text_through_the_access_log(
        line: bytes, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]) -> None:
    """§6: a 400 with a readable text body, one line in ``mockproget.access``, nothing on
    stderr (no traceback), no Server banner."""
    import logging

    caplog.set_level(logging.INFO, logger="mockproget")
    with MockProGet() as server:
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            sock.sendall(line + b"\r\nHost: x\r\n\r\n")
            answer = read_all(sock)
        assert requests.get(server.url + "health", timeout=5).status_code == 200
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 ") and b"text/plain" in head and body.strip()
    assert b"server:" not in head.lower()
    assert any(r.name == "mockproget.access" and " 400 " in r.getMessage() for r in caplog.records)
    assert "Traceback" not in capfd.readouterr().err


def test_no_server_banner_on_any_answer(mock: MockProGet) -> None:
    """§6: Fidelity: no ``Server`` header (no werkzeug or waitress banner) on answers,
    refusals and injected faults alike."""
    mock.faults.add(path="/api/*", status=503)
    for response in (requests.get(mock.url + "health", timeout=5),
                     requests.get(mock.url + "nothing", timeout=5),
                     requests.get(mock.url + "api/api-keys/list", timeout=5)):
        assert "Server" not in response.headers
        assert "werkzeug" not in response.text.lower() and "waitress" not in response.text.lower()
    assert requests.get(mock.url + "health", timeout=5).headers["X-ProGet-Version"]


def test_proget_header_names_keep_their_spelling(mock: MockProGet) -> None:
    """§6: ``X-ProGet-Version`` as ProGet writes it, on the wire."""
    with socket.create_connection(("127.0.0.1", mock.port)) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        answer = read_all(sock)
    assert b"\r\nX-ProGet-Version: " in answer and b"\r\nX-ProGet-Edition: " in answer


# -- 2. deadlines and bounds ---------------------------------------------------------------


def test_slow_headers_are_cut_off_at_the_header_timeout(quick: MockProGet) -> None:
    """§6 (a 408 in text): Slowloris: headers trickling in past ``header_timeout`` get a 408, then close."""
    with socket.create_connection(("127.0.0.1", quick.port)) as sock:
        started = time.monotonic()
        for byte in b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ":
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                break
            if time.monotonic() - started > 3:
                break
            time.sleep(0.05)
        answer = read_all(sock)
    assert status_of(answer) == 408 and b"headers did not arrive" in answer
    assert time.monotonic() - started < 4


def test_a_slow_body_is_cut_off_at_the_body_timeout(quick: MockProGet) -> None:
    """§6 (a 408 in text): A body that never ends: 408 after ``body_timeout``, then close."""
    with socket.create_connection(("127.0.0.1", quick.port)) as sock:
        sock.sendall(f"POST {CREATE} HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{{".encode())
        answer = read_all(sock)
    assert status_of(answer) == 408 and b"body did not arrive" in answer


def test_an_idle_kept_alive_connection_is_closed_at_the_idle_timeout(quick: MockProGet) -> None:
    """§7: After ``idle_timeout`` with no request, the server closes the connection (FIN)."""
    with socket.create_connection(("127.0.0.1", quick.port)) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        assert status_of(_recv_answer(sock)) == 200
        started = time.monotonic()
        assert sock.recv(100) == b""  # closed by the server
        assert 1.0 < time.monotonic() - started < 4


def _raise_open_file_limit(wanted: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        target = wanted if hard == resource.RLIM_INFINITY else min(hard, wanted)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return int(soft)


def test_idle_and_stalled_connections_cost_no_thread_and_health_still_answers() -> None:
    """§7, Issue 7 acceptance: 1,000 idle connections and 50 half-sent requests; /health on a
    new connection answers within 1 s; the thread count stays within the pool; after the
    timeouts the stalled and idle connections are gone."""
    limit = _raise_open_file_limit(2 * 1100 + 200)
    idle_count = min(1000, (limit - 300) // 2 - 50)  # client and server ends share this process
    settings = ServerSettings(idle_timeout=4, header_timeout=2, body_timeout=2, workers=8,
                              connections=2000)
    threads_before = threading.active_count()
    sockets: list[socket.socket] = []
    try:
        with MockProGet(Config(port=0, server=settings)) as server:
            for _ in range(idle_count):
                sockets.append(socket.create_connection(("127.0.0.1", server.port), timeout=5))
            for i in range(50):
                sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
                if i % 2:
                    sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Half: ")  # headers stall
                else:
                    sock.sendall(f"POST {CREATE} HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n{{".encode())
                sockets.append(sock)
            deadline = time.monotonic() + 5
            while server.connection_count < idle_count + 50 and time.monotonic() < deadline:
                time.sleep(0.02)
            assert server.connection_count == idle_count + 50
            started = time.perf_counter()
            assert requests.get(server.url + "health", timeout=5).status_code == 200
            assert time.perf_counter() - started < 1
            # the loop thread, the fixed pool and the control API's worker: no thread per connection
            assert threading.active_count() <= threads_before + 2 + settings.workers
            deadline = time.monotonic() + 8
            while server.connection_count > 0 and time.monotonic() < deadline:
                time.sleep(0.1)
            assert server.connection_count == 0
            stalled = [status_of(read_all(s, 2)) for s in sockets[idle_count:idle_count + 4]]
            assert stalled == [408, 408, 408, 408]
    finally:
        for sock in sockets:
            sock.close()


def test_a_full_server_closes_the_longest_idle_connection_to_make_room() -> None:
    """§7: When every connection slot is taken, a new client is still served: the
    longest-idle kept-alive connection is closed for it."""
    with MockProGet(Config(port=0, server=ServerSettings(connections=8))) as server:
        idle = [socket.create_connection(("127.0.0.1", server.port), timeout=5) for _ in range(6)]
        try:
            time.sleep(0.2)
            assert requests.get(server.url + "health", timeout=5).status_code == 200
            assert idle[0].recv(10) == b""  # the oldest was closed
        finally:
            for sock in idle:
                sock.close()


def test_a_full_server_reaches_a_client_queued_behind_hundreds_of_idle_openers() -> None:
    """§7 (docs/server.md, connections): a flood of connections that send nothing, twice the
    limit, fills every slot and the listen backlog; a client queued behind them is still
    served: room is made for each waiting connection as it is accepted, not one per tick
    (which left the client waiting 50 ms per connection ahead of it: over 10 s here)."""
    _raise_open_file_limit(1200)
    limit, flood = 40, 280
    with MockProGet(Config(port=0, server=ServerSettings(connections=limit))) as server:
        idle = [socket.create_connection(("127.0.0.1", server.port), timeout=5) for _ in range(flood)]
        try:
            assert requests.get(server.url + "health", timeout=8).status_code == 200
            assert server.connection_count <= limit
            assert idle[0].recv(10) == b""  # the first openers were closed, with a FIN
        finally:
            for sock in idle:
                sock.close()


# -- the admin key, whatever builds the app -------------------------------------------------


def test_create_app_honours_the_configured_admin_key() -> None:
    """§3: ``create_app(Config(admin_key=K))`` seeds K as a full-control key, as the
    server does; a reset keeps it."""
    app = create_app(Config(admin_key="k-configured-0001"))
    client = app.test_client()
    assert client.get("/api/api-keys/list", headers={"X-ApiKey": "k-configured-0001"}).status_code == 200
    app.extensions["mockproget"].reset()
    assert client.get("/api/api-keys/list", headers={"X-ApiKey": "k-configured-0001"}).status_code == 200
    assert client.get("/api/api-keys/list", headers={"X-ApiKey": "k-other"}).status_code == 403
    with MockProGet(admin_key="k-given-0002") as server:
        assert server.admin_key == "k-given-0002"
        assert requests.get(server.url + "api/api-keys/list", headers={"X-ApiKey": "k-given-0002"},
                            timeout=5).status_code == 200


# -- the accept loop at the open-file limit --------------------------------------------------


def _cpu_seconds(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="reads CPU time from /proc")
def test_out_of_file_descriptors_the_server_backs_off_and_recovers() -> None:
    """§7 (docs/server.md): At the open-file limit (EMFILE) the accept loop does not spin: it pauses, logs
    once, and serves again when descriptors come free."""
    import subprocess
    import sys

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (48, 48))

    proc = subprocess.Popen([sys.executable, "-m", "mockproget", "serve", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=limit, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    clients: list[socket.socket] = []
    try:
        assert proc.stdout is not None
        url = ""
        for line in proc.stdout:
            if "listening on" in line:
                url = line.split("listening on ")[1].strip()
            if "press Ctrl+C" in line:
                break
        port = int(url.rstrip("/").rsplit(":", 1)[1])
        for _ in range(80):  # more than the server has descriptors for
            clients.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        time.sleep(0.5)
        before = _cpu_seconds(proc.pid)
        time.sleep(1.5)
        assert _cpu_seconds(proc.pid) - before < 0.1  # a spinning loop burns up to 1.5 s here
        for sock in clients:
            sock.close()
        clients = []
        deadline = time.monotonic() + 10
        status = 0
        while time.monotonic() < deadline and status != 200:
            try:
                status = requests.get(url + "health", timeout=2).status_code
            except requests.RequestException:
                time.sleep(0.2)
        assert status == 200
    finally:
        for sock in clients:
            sock.close()
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    assert err.count("cannot accept connections") == 1, err[-2000:]
    assert "Traceback" not in err


# -- settings: the [server] table, the serve flags ------------------------------------------


def test_the_server_table_sets_the_connection_lifecycle() -> None:
    """§7, docs/server.md: every lifecycle setting in ``[server]``; bad ones name the setting."""
    from mockproget.config import ConfigError, parse_config

    config = parse_config({"server": {"keep_alive": False, "idle_timeout": 5, "header_timeout": 2.5,
                                      "body_timeout": 3, "workers": 4, "connections": 50, "port": 0}})
    assert config.server == ServerSettings(keep_alive=False, idle_timeout=5.0, header_timeout=2.5,
                                           body_timeout=3.0, workers=4, connections=50)
    assert config.port == 0
    for setting, value in (("keep_alive", "yes"), ("idle_timeout", 0), ("header_timeout", -1),
                           ("body_timeout", True), ("workers", 0), ("workers", 1.5), ("connections", 10**9),
                           ("threads", 4)):
        with pytest.raises(ConfigError) as caught:
            parse_config({"server": {setting: value}}, "mock.toml")
        assert caught.value.setting == f"server.{setting}" and caught.value.source == "mock.toml"


def test_serve_flags_reach_the_server() -> None:
    """§7: ``mockproget serve --no-keep-alive --workers 2 ...``: the running server closes
    after each answer; a bad value exits 2 naming the flag."""
    import subprocess
    import sys

    from serve_process import ServeProcess

    served = ServeProcess("--no-keep-alive", "--workers", "2", "--idle-timeout", "3",
                          "--header-timeout", "2", "--body-timeout", "2", "--connections", "20")
    try:
        response = requests.get(served.url + "health", timeout=5)
        assert response.status_code == 200 and response.headers["Connection"] == "close"
    finally:
        served.stop()
    bad = subprocess.run([sys.executable, "-m", "mockproget", "serve", "--port", "0", "--idle-timeout", "0"],
                         capture_output=True, text=True, timeout=30)
    assert bad.returncode == 2 and "--idle-timeout" in bad.stderr
