"""Hostile clients the server must outlast: ones that never read their answer, and the
other connection-level attacks of docs/server.md's table (its documented timeouts and
bounds are what each test holds the server to).

Spec sections: §6 (errors are text; only an injected fault answers 5xx), §7 (clients
keep connections alive). The connection lifecycle itself is the mock's (docs/server.md).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
import requests

from mockproget import Config, MockProGet
from mockproget.config import ServerSettings
from mockproget.models import Credential, NewApiKey


@pytest.fixture
def crowded() -> Iterator[MockProGet]:
    """A mock with a 1 s idle timeout, two workers and an admin list of about 12 MB:
    an answer far larger than what the kernel's socket buffers take off the server."""
    with MockProGet(Config(port=0, server=ServerSettings(idle_timeout=1, workers=2))) as server:
        backend = server.backend
        admin = backend.authenticate(Credential("header", server.admin_key), manage_keys=True)
        new = NewApiKey(type="system", system_apis=("sca",), logging="none")
        for _ in range(60_000):
            backend.create_api_key(admin, new)
        yield server


def _wait_for(condition: object, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return True
        time.sleep(0.05)
    return False


def test_a_client_that_never_reads_its_answer_is_cut_off_at_the_idle_timeout(crowded: MockProGet) -> None:
    """docs/server.md (idle timeout; answers buffered per connection): a client that asks
    for a large answer and never reads it does not keep its connection, and the answer's
    megabytes, forever: once nothing of the answer could be sent for ``idle_timeout``,
    the connection is reset. Before, it stayed open with the unsent answer held in
    memory, never idle (it had output), so never closed and never a room-maker (§7:
    clients keep connections alive, so the slot is the server's to free)."""
    clients = []
    for _ in range(3):
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", crowded.port))
        sock.sendall(f"GET /api/api-keys/list HTTP/1.1\r\nHost: x\r\nX-ApiKey: {crowded.admin_key}\r\n\r\n".encode())
        clients.append(sock)
    try:
        assert _wait_for(lambda: crowded.connection_count == 3, 5)
        # the workers are free meanwhile
        assert requests.get(crowded.url + "health", timeout=5).status_code == 200
        assert _wait_for(lambda: crowded.connection_count == 0, 10), "the unread answers hold their connections"
        sock = clients[0]
        sock.settimeout(5)
        with pytest.raises(ConnectionResetError):  # what was not read is gone: a reset
            while sock.recv(1 << 20):
                pass
    finally:
        for sock in clients:
            sock.close()


def test_a_slow_reader_that_keeps_reading_gets_its_whole_answer(crowded: MockProGet) -> None:
    """docs/server.md (idle timeout counts from the last byte sent): a client that reads
    a large answer slowly, with pauses shorter than ``idle_timeout``, gets all of it."""
    sock = socket.create_connection(("127.0.0.1", crowded.port))
    with sock:
        sock.sendall(f"GET /api/api-keys/list HTTP/1.1\r\nHost: x\r\nX-ApiKey: {crowded.admin_key}\r\n"
                     f"Connection: close\r\n\r\n".encode())
        sock.settimeout(10)
        data = bytearray()
        started = time.monotonic()
        while chunk := sock.recv(4 << 20):
            data += chunk
            if time.monotonic() - started < 3:
                time.sleep(0.4)  # pauses, each shorter than the idle timeout
    head, _, body = bytes(data).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:"))
    assert len(body) == length > 5_000_000


# -- connection faults on pipelined requests ----------------------------------------------

SYSTEM_BODY = b'{"type":"system","systemApis":["sca"],"logging":"none"}'


def _pipeline(key: str) -> bytes:
    """A list, then two creates, sent in one write (pipelined)."""
    create = (f"POST /api/api-keys/create HTTP/1.1\r\nHost: x\r\nX-ApiKey: {key}\r\n"
              f"Content-Type: application/json\r\nContent-Length: {len(SYSTEM_BODY)}\r\n\r\n").encode() + SYSTEM_BODY
    return f"GET /api/api-keys/list HTTP/1.1\r\nHost: x\r\nX-ApiKey: {key}\r\n\r\n".encode() + create + create


def _send_all(port: int, data: bytes, limit: float) -> bytes:
    from netkit import read_all

    with socket.create_connection(("127.0.0.1", port), timeout=limit) as sock:
        sock.sendall(data)
        return read_all(sock, limit)


@pytest.fixture
def mock() -> Iterator[MockProGet]:
    with MockProGet() as server:
        yield server


def test_requests_pipelined_behind_a_hung_one_are_never_answered(mock: MockProGet) -> None:
    """docs/faults.md ``hang``: the client gets nothing. Before, the requests pipelined
    behind the hung one ran (two keys created) and their answers went out on the hung
    connection, where the client read the first as the answer to its list (§7: clients
    keep connections alive; HTTP answers in order)."""
    mock.faults.add(action="hang", path="/api/api-keys/list", duration_ms=1500, times=1)
    keys = len(mock.backend.api_keys)
    answer = _send_all(mock.port, _pipeline(mock.admin_key), limit=4)
    assert answer == b""
    assert len(mock.backend.api_keys) == keys
    assert [e["path"] for e in mock.journal.entries()] == ["/api/api-keys/list"]


@pytest.mark.parametrize("signal", ["fin", "rst"])
def test_requests_pipelined_behind_a_stale_answer_never_reach_the_mock(mock: MockProGet, signal: str) -> None:
    """docs/faults.md ``stale``: after its ``requests`` answers the connection is stale and
    the next request is not answered and never reaches the mock (nothing changes). Before,
    requests pipelined behind the last answer were run and answered (two keys created)."""
    mock.faults.add(action="stale", path="/api/api-keys/list", requests=1, signal=signal, times=1)
    keys = len(mock.backend.api_keys)
    answer = _send_all(mock.port, _pipeline(mock.admin_key), limit=4)
    assert answer.count(b"HTTP/1.1 ") <= 1  # the list's answer (a reset may discard it), nothing after
    if signal == "fin":
        assert answer.startswith(b"HTTP/1.1 200 ") and answer.count(b"HTTP/1.1 ") == 1
    assert len(mock.backend.api_keys) == keys
    assert [e["path"] for e in mock.journal.entries()] == ["/api/api-keys/list"]


def test_the_control_api_answers_while_injected_delays_hold_every_worker() -> None:
    """docs/faults.md (the control API is never faulted), docs/server.md (threads): with
    every worker held by an injected delay, the control API still answers at once, so a
    test can clear the rule that slows everything. Before, its request queued behind the
    delayed ones (here 2 workers, 4 requests delayed 3 s: about 6 s)."""
    with MockProGet(Config(port=0, server=ServerSettings(workers=2))) as server:
        server.faults.add(path="/api/*", duration_ms=3000)
        held = []
        try:
            for _ in range(4):
                sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
                sock.sendall(f"GET /api/api-keys/list HTTP/1.1\r\nHost: x\r\nX-ApiKey: {server.admin_key}\r\n\r\n"
                             .encode())
                held.append(sock)
            time.sleep(0.5)  # both workers are in a delay now (it lasts 3 s)
            # the control API's answer comes while those workers still sleep: a fraction
            # of the delay is a wide margin, not a speed claim
            cleared = requests.delete(server.url + "__mockproget__/faults", timeout=1.5)
            assert cleared.status_code == 200 and server.faults.rules == []
        finally:
            for sock in held:
                sock.close()
