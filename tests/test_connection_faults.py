"""Connection faults on kept-alive connections, and the ``stale`` fault for pooled
clients, seen from ``requests.Session`` (§7: the official client keeps connections)."""

from __future__ import annotations

import gc
import socket
import time
from http import client as http_client

import pytest
import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from mockproget import MockProGet
from netkit import causes
from mockproget.faults import FaultRuleError, parse_fault_spec, parse_rule

LIST = "api/api-keys/list"


def _wait_for_connections(server: MockProGet, count: int) -> int:
    """The server's open connections, once they are ``count`` (or after 3 s). The
    collector runs first: a caught exception's frames keep the client's socket open."""
    gc.collect()
    deadline = time.monotonic() + 3
    while server.connection_count != count and time.monotonic() < deadline:
        time.sleep(0.02)
    return server.connection_count


def _retrying_session() -> requests.Session:
    """A client that retries once on a connection that dies under it."""
    session = requests.Session()
    retry = Retry(total=1, connect=1, read=1, allowed_methods=None, raise_on_status=False)
    session.mount("http://", HTTPAdapter(max_retries=retry))
    return session


@pytest.mark.parametrize("fields, error", [
    ({"action": "reset"}, requests.ConnectionError),
    ({"action": "close"}, requests.ConnectionError),
    ({"action": "garbage", "size": 16}, requests.ConnectionError),
    ({"action": "hang", "duration_ms": 300}, requests.ConnectionError),
    ({"action": "truncate", "keep": 0.5}, requests.exceptions.ChunkedEncodingError),
])
def test_a_connection_fault_on_a_kept_alive_connection_ends_it(
        mock: MockProGet, fields: dict[str, object], error: type[Exception]) -> None:
    """§7 (pooled connections), docs/faults.md: each connection fault acts on a reused connection exactly as on a
    new one, then that connection ends; the client's next request gets a fresh one."""
    with requests.Session() as session:
        assert session.get(mock.url + "health", timeout=5).status_code == 200
        assert _wait_for_connections(mock, 1) == 1
        mock.faults.add(path="/health", times=1, **fields)
        with pytest.raises(error):
            session.get(mock.url + "health", timeout=10).content
        assert session.get(mock.url + "health", timeout=5).status_code == 200
        assert _wait_for_connections(mock, 1) == 1  # the faulted one is gone, the new one open


def test_dribble_on_a_kept_alive_connection_keeps_it(mock: MockProGet) -> None:
    """§7: ``dribble`` is a slow answer, not a broken one: the connection stays usable."""
    with requests.Session() as session:
        assert session.get(mock.url + "health", timeout=5).status_code == 200
        mock.faults.add(path="/health", action="dribble", chunks=3, duration_ms=150, times=1)
        assert session.get(mock.url + "health", timeout=5).status_code == 200
        assert session.get(mock.url + "health", timeout=5).status_code == 200
        assert _wait_for_connections(mock, 1) == 1


# -- stale --------------------------------------------------------------------------------


def test_stale_after_n_requests_fails_a_client_that_does_not_retry(mock: MockProGet) -> None:
    """§7 (pooled connections): ``stale requests=2``: the connection answers 2 requests; the 3rd request sent on it
    meets a closed connection (RemoteDisconnected), as when a server's keep-alive timeout
    races the client's reuse. The next request opens a new connection and succeeds."""
    mock.faults.add(name="pool", action="stale", requests=2, times=1)
    with requests.Session() as session:
        assert session.get(mock.url + "health", timeout=5).status_code == 200
        assert session.get(mock.url + "health", timeout=5).status_code == 200
        with pytest.raises(requests.ConnectionError) as caught:
            session.get(mock.url + "health", timeout=5)
        assert any(isinstance(e, http_client.RemoteDisconnected) for e in causes(caught.value))
        assert session.get(mock.url + "health", timeout=5).status_code == 200
    entries = mock.journal.entries()
    assert len(entries) == 3  # the dropped request never reached the mock
    assert entries[0]["connection"] == "stale" and entries[0]["faults"] == ["pool"]
    assert entries[1]["connection"] is None


def test_stale_is_survived_by_a_client_that_retries(mock: MockProGet) -> None:
    """§7: A client with a retry policy re-sends on a fresh connection: every call succeeds,
    POSTs too (the dropped request never reached the mock: nothing was created twice)."""
    mock.faults.add(action="stale", path="/api/*")  # every answer leaves its connection stale
    with _retrying_session() as session:
        session.headers["X-ApiKey"] = mock.admin_key
        for _ in range(4):
            response = session.post(mock.url + "api/api-keys/create", timeout=5,
                                    json={"type": "system", "systemApis": ["sca"], "logging": "none"})
            assert response.status_code == 200
    assert len(mock.backend.api_keys) == 5  # the admin key and four, no duplicate


def test_stale_with_rst_is_a_reset(mock: MockProGet) -> None:
    """§7: ``signal=rst``: the reused connection is reset (ConnectionResetError, not a clean
    close)."""
    mock.faults.add(action="stale", signal="rst", times=1)
    with requests.Session() as session:
        assert session.get(mock.url + "health", timeout=5).status_code == 200
        with pytest.raises(requests.ConnectionError) as caught:
            session.get(mock.url + "health", timeout=5)
    resets = [e for e in causes(caught.value) if isinstance(e, ConnectionResetError)]
    assert resets and not any(isinstance(e, http_client.RemoteDisconnected) for e in resets)


def test_stale_after_idle_time(mock: MockProGet) -> None:
    """§7: ``idle_ms=300``: reused at once the connection works; reused after 300 ms idle it
    fails, as a pooled connection the server timed out."""
    mock.faults.add(action="stale", idle_ms=300, path="/health")
    with requests.Session() as session:
        assert session.get(mock.url + "health", timeout=5).status_code == 200
        assert session.get(mock.url + "health", timeout=5).status_code == 200
        time.sleep(0.45)
        with pytest.raises(requests.ConnectionError):
            session.get(mock.url + "health", timeout=5)


def test_stale_draws_follow_the_seed() -> None:
    """§7, docs/faults.md: Seeded like every fault: the same seed drops the same requests."""
    def pattern(seed: int) -> list[bool]:
        with MockProGet(seed=seed) as server, requests.Session() as session:
            server.faults.add(action="stale", probability=0.5)
            outcome = []
            for _ in range(16):
                try:
                    session.get(server.url + "health", timeout=5)
                    outcome.append(True)
                except requests.ConnectionError:
                    outcome.append(False)
            return outcome

    first = pattern(11)
    assert first == pattern(11) and False in first and True in first


def test_stale_rules_are_validated() -> None:
    """§7, docs/faults.md: The stale fields, as the other faults: refused with the field named."""
    rule = parse_rule({"action": "stale", "requests": 3, "signal": "RST"})
    assert (rule.requests, rule.signal, rule.when) == (3, "rst", "response")
    assert parse_rule({"action": "stale"}).requests == 1
    assert parse_rule({"action": "stale", "idle_ms": 500}).requests is None
    assert parse_rule(parse_fault_spec("/api/* stale requests=5 signal=fin")).requests == 5
    for fields, name in (({"action": "stale", "requests": 0}, "requests"),
                         ({"action": "stale", "idle_ms": -1}, "idle_ms"),
                         ({"action": "stale", "signal": "kill"}, "signal"),
                         ({"action": "stale", "when": "request"}, "when"),
                         ({"action": "reset", "requests": 2}, "requests")):
        with pytest.raises(FaultRuleError) as caught:
            parse_rule(fields)
        assert caught.value.field == name


def test_stale_over_a_raw_socket_is_a_fin(mock: MockProGet) -> None:
    """§7: On the wire: the answer comes whole (no ``Connection: close``), and the next
    request on the socket is met by end-of-stream."""
    mock.faults.add(action="stale", times=1)
    with socket.create_connection(("127.0.0.1", mock.port), timeout=5) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.2)
        first = sock.recv(65536)
        assert first.startswith(b"HTTP/1.1 200") and b"Connection: close" not in first
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        assert sock.recv(100) == b""
