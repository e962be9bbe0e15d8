"""Issue 3 §1-§2: fault rules, seen from a real client over a real socket."""

from __future__ import annotations

import gc
from http import client as http_client
import threading
import time

import pytest
import requests

from mockproget import MockProGet
from netkit import causes
from mockproget.faults import ConnectionFault, FaultRuleError, parse_fault_spec, parse_rule

LIST = "api/api-keys/list"
CREATE = "api/api-keys/create"


def _admin(mock: MockProGet) -> dict[str, str]:
    return {"X-ApiKey": mock.admin_key}


# -- connection faults ------------------------------------------------------------------


def test_reset_is_a_tcp_reset_not_a_hang(mock: MockProGet, http: requests.Session) -> None:
    """Issue 3 §1 ``reset``: the client sees ConnectionResetError (ECONNRESET), at once."""
    mock.faults.add(path="/api/api-keys/list", action="reset")
    started = time.perf_counter()
    with pytest.raises(requests.ConnectionError) as caught:
        http.get(mock.url + LIST, headers=_admin(mock), timeout=10)
    assert time.perf_counter() - started < 5
    resets = [e for e in causes(caught.value) if isinstance(e, ConnectionResetError)]
    assert resets  # RemoteDisconnected is a ConnectionResetError too: that is "close"
    assert not any(isinstance(e, http_client.RemoteDisconnected) for e in resets)


def test_close_ends_the_connection_without_an_answer(mock: MockProGet, http: requests.Session) -> None:
    """Issue 3 §1 ``close``: a clean close (FIN) and no status line: RemoteDisconnected."""
    mock.faults.add(action="close")
    with pytest.raises(requests.ConnectionError) as caught:
        http.get(mock.url + "health", timeout=10)
    assert any(isinstance(e, http_client.RemoteDisconnected) for e in causes(caught.value))


def test_garbage_is_random_bytes_then_close(mock: MockProGet, http: requests.Session) -> None:
    """Issue 3 §1 ``garbage``: bytes that are not HTTP, then close: BadStatusLine."""
    mock.faults.add(action="garbage", size=48)
    with pytest.raises(requests.ConnectionError) as caught:
        http.get(mock.url + "health", timeout=10)
    bad = [e for e in causes(caught.value) if isinstance(e, http_client.BadStatusLine)]
    assert bad and not isinstance(bad[0], http_client.RemoteDisconnected)


def test_garbage_bytes_follow_the_seed() -> None:
    """Issue 3 §2: the same seed sends the same garbage; another seed other garbage."""
    def garbage(seed: int) -> str:
        with MockProGet(seed=seed) as server:
            server.faults.add(action="garbage", size=32)
            with pytest.raises(requests.ConnectionError) as caught:
                requests.get(server.url + "health", timeout=10)
        return next(str(e) for e in causes(caught.value) if isinstance(e, http_client.BadStatusLine))

    assert garbage(7) == garbage(7)
    assert garbage(7) != garbage(8)


def test_truncate_promises_more_body_than_it_sends(mock: MockProGet, http: requests.Session) -> None:
    """Issue 3 §1 ``truncate``: Content-Length says more than arrives: ChunkedEncodingError."""
    mock.faults.add(path="/api/api-keys/list", action="truncate", keep=0.25)
    with pytest.raises(requests.exceptions.ChunkedEncodingError) as caught:
        http.get(mock.url + LIST, headers=_admin(mock), timeout=10)
    assert any(type(e).__name__ == "IncompleteRead" for e in causes(caught.value))


def test_truncate_status_and_headers_arrive(mock: MockProGet, http: requests.Session) -> None:
    """Issue 3 §1 ``truncate``: the status line and headers are the mock's own."""
    mock.faults.add(path="/health", action="truncate")
    with http.get(mock.url + "health", stream=True, timeout=10) as response:
        assert response.status_code == 200
        promised = int(response.headers["Content-Length"])
        received = b""
        with pytest.raises(requests.exceptions.ChunkedEncodingError):
            for chunk in response.iter_content(16):
                received += chunk
    assert 0 < len(received) < promised


def test_dribble_sends_the_normal_body_over_the_duration(mock: MockProGet, http: requests.Session) -> None:
    """Issue 3 §1 ``dribble``: the same body, in chunks, taking about ``duration_ms``."""
    normal = http.get(mock.url + LIST, headers=_admin(mock), timeout=10)
    mock.faults.add(path="/api/api-keys/list", action="dribble", chunks=4, duration_ms=600)
    started = time.perf_counter()
    slow = http.get(mock.url + LIST, headers=_admin(mock), timeout=10)
    elapsed = time.perf_counter() - started
    assert slow.status_code == 200 and slow.content == normal.content
    assert 0.55 <= elapsed < 3.0


def test_hang_times_out_the_client_and_holds_no_thread(http: requests.Session) -> None:
    """Issue 3 §1 ``hang``: no answer, the client times out; a hung connection holds no
    worker (the one worker keeps serving), and it ends when the client gives up, not at
    the (long) bound."""
    import socket

    from mockproget.config import Config, ServerSettings

    with MockProGet(Config(port=0, server=ServerSettings(workers=1))) as server:
        server.faults.add(path="/health", action="hang", duration_ms=20_000)
        started = time.perf_counter()
        with pytest.raises(requests.exceptions.ReadTimeout):
            http.get(server.url + "health", timeout=0.4)
        assert time.perf_counter() - started < 5
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as hung:
            hung.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            time.sleep(0.3)
            # the one worker is free while the connection hangs
            assert requests.get(server.url + "health/json", timeout=5).status_code == 200
            gc.collect()  # the timed-out client socket, kept by the caught exception, closes
            deadline = time.monotonic() + 3
            while server.connection_count > 1 and time.monotonic() < deadline:
                time.sleep(0.02)
            assert server.connection_count == 1  # the hung one, still open
        deadline = time.monotonic() + 5  # the client gave up: its socket closed
        while server.connection_count > 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert server.connection_count == 0
        entries = server.journal.entries(path="/health")
        assert len(entries) == 2
        for entry in entries:
            assert entry["connection"] == "hang" and entry["status"] is None and entry["faults"] == ["hang-1"]


def test_hang_is_bounded_by_its_duration(mock: MockProGet, http: requests.Session) -> None:
    """Issue 3 §1 ``hang``: bounded by a maximum, then the connection is closed."""
    mock.faults.add(path="/health", action="hang", duration_ms=300)
    started = time.perf_counter()
    with pytest.raises(requests.ConnectionError):
        http.get(mock.url + "health", timeout=10)
    assert 0.25 <= time.perf_counter() - started < 5


def test_hang_ends_promptly_when_the_server_stops() -> None:
    """Issue 3 §1 ``hang``: stopping the server ends the hang; no thread is left behind."""
    server = MockProGet().start()
    server.faults.add(action="hang", duration_ms=60_000)
    outcome: list[BaseException] = []

    def call() -> None:
        try:
            requests.get(server.url + "health", timeout=30)
        except requests.RequestException as error:
            outcome.append(error)

    client = threading.Thread(target=call)
    client.start()
    deadline = time.monotonic() + 5
    while server.faults.stats()[0]["applied"] == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    started = time.perf_counter()
    server.stop()
    client.join(10)
    assert not client.is_alive() and time.perf_counter() - started < 5
    assert isinstance(outcome[0], requests.ConnectionError)


def test_when_response_makes_the_change_and_loses_the_answer(mock: MockProGet, http: requests.Session) -> None:
    """Issue 3 §1: ``when = "response"``: the key is created, the client sees a reset."""
    mock.faults.add(path="/api/api-keys/create", action="reset", when="response", times=1)
    body = {"type": "personal", "user": "Admin", "logging": "none"}
    with pytest.raises(requests.ConnectionError):
        http.post(mock.url + CREATE, json=body, headers=_admin(mock), timeout=10)
    keys = http.get(mock.url + LIST, headers=_admin(mock), timeout=10).json()
    assert [k["type"] for k in keys] == ["system", "personal"]


def test_when_request_changes_nothing(mock: MockProGet, http: requests.Session) -> None:
    """Issue 3 §1: a connection fault before the mock runs leaves the state alone."""
    mock.faults.add(path="/api/api-keys/create", action="close", times=1)
    body = {"type": "personal", "user": "Admin", "logging": "none"}
    with pytest.raises(requests.ConnectionError):
        http.post(mock.url + CREATE, json=body, headers=_admin(mock), timeout=10)
    keys = http.get(mock.url + LIST, headers=_admin(mock), timeout=10).json()
    assert [k["type"] for k in keys] == ["system"]


def test_connection_faults_without_a_socket_raise_to_the_wsgi_server(mock: MockProGet) -> None:
    """Issue 3 §1: a bare WSGI app (the Flask test client) gets :class:`ConnectionFault`."""
    mock.faults.add(path="/health", action="reset")
    with pytest.raises(ConnectionFault) as caught:
        mock.app.test_client().get("/health")
    assert caught.value.kind == "reset"


# -- responses ---------------------------------------------------------------------------


@pytest.mark.parametrize(("status", "retry_after"), [(503, "1"), (429, "1")])
def test_throttling_presets_carry_retry_after(mock: MockProGet, http: requests.Session,
                                              status: int, retry_after: str) -> None:
    """Issue 3 §1 presets: 503 and 429 with ``Retry-After`` (default 1 s), text/plain."""
    mock.faults.add(path="/health", status=status)
    response = http.get(mock.url + "health", timeout=10)
    assert response.status_code == status
    assert response.headers["Retry-After"] == retry_after
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"


def test_retry_after_is_configurable(mock: MockProGet, http: requests.Session) -> None:
    """Issue 3 §1 presets: ``retry_after`` sets the header's value."""
    mock.faults.add(path="/health", status=503, retry_after=30)
    assert http.get(mock.url + "health", timeout=10).headers["Retry-After"] == "30"


def test_proget_500_preset_is_message_and_stack_trace(mock: MockProGet, http: requests.Session) -> None:
    """Spec §6 500: ``text/plain``, a message then a stack trace; ProGet's own headers."""
    mock.faults.add(name="db-down", path="/api/*", status=500)
    response = http.get(mock.url + LIST, headers=_admin(mock), timeout=10)
    assert response.status_code == 500
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert response.headers["X-ProGet-Version"] == "25.0.10"
    assert response.headers["X-ProGet-Edition"] == "Enterprise"
    message, _, trace = response.text.partition("\n\n")
    assert "db-down" in message
    assert trace.splitlines()[0].startswith("System.") and "   at " in trace
    assert "Retry-After" not in response.headers


@pytest.mark.parametrize("status", [502, 504])
def test_gateway_presets(mock: MockProGet, http: requests.Session, status: int) -> None:
    """Issue 3 §1 presets: 502 and 504 as a proxy in front of ProGet answers them."""
    mock.faults.add(path="/health", status=status)
    response = http.get(mock.url + "health", timeout=10)
    assert response.status_code == status
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert response.text.startswith(f"{status} ")
    assert "X-ProGet-Version" not in response.headers and "Retry-After" not in response.headers


def test_any_status_body_and_headers(mock: MockProGet, http: requests.Session) -> None:
    """Issue 3 §1: any status with any body and headers (the headers override the preset)."""
    mock.faults.add(path="/health", status=418, body='{"teapot": true}',
                    headers={"Content-Type": "application/json", "X-Extra": "yes"})
    response = http.get(mock.url + "health", timeout=10)
    assert response.status_code == 418
    assert response.json() == {"teapot": True}
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["X-Extra"] == "yes"


# -- delays, matching, schedules, combination ----------------------------------------------


def test_fixed_delay_then_the_normal_answer(mock: MockProGet, http: requests.Session) -> None:
    """Issue 3 §1 delay: waited before the normal answer; the journal records the value."""
    mock.faults.add(name="slow", path="/health", duration_ms=150)
    started = time.perf_counter()
    response = http.get(mock.url + "health", timeout=10)
    assert response.status_code == 200 and time.perf_counter() - started >= 0.14
    [entry] = mock.journal.entries(path="/health")
    assert entry["faults"] == ["slow"] and entry["delay_ms"] == 150.0


def test_uniform_delay_stays_within_its_bounds(mock: MockProGet) -> None:
    """Issue 3 §1 delay: uniform draws lie between ``lower_ms`` and ``upper_ms``."""
    mock.faults.add(path="/health", lower_ms=1, upper_ms=3)
    client = mock.app.test_client()
    for _ in range(20):
        assert client.get("/health").status_code == 200
    delays = [e["delay_ms"] for e in mock.journal.entries()]
    assert len(delays) == 20 and all(1 <= d <= 3 for d in delays) and len(set(delays)) > 1


def test_method_path_and_carrier_matching(mock: MockProGet, http: requests.Session) -> None:
    """Issue 3 §1 / spec §3: a rule can match the method, a path glob and the carrier."""
    mock.faults.add(method="GET", path="/api/api-keys/*", carrier="query", status=503)
    key = mock.admin_key
    assert http.get(mock.url + LIST, params={"key": key}, timeout=10).status_code == 503
    assert http.get(mock.url + LIST, headers={"X-ApiKey": key}, timeout=10).status_code == 200
    assert http.get(mock.url + "health", params={"key": key}, timeout=10).status_code == 200
    assert http.post(mock.url + "api/api-keys/delete", params={"key": key, "id": "99"},
                     timeout=10).status_code == 404


def test_carrier_json_and_none(mock: MockProGet, http: requests.Session) -> None:
    """Spec §3: the JSON ``API_Key`` carrier and requests with no credential at all."""
    mock.faults.add(name="json", carrier="json", status=502)
    mock.faults.add(name="anon", carrier="none", status=504)
    body = {"API_Key": mock.admin_key, "type": "personal", "user": "Admin", "logging": "none"}
    assert http.post(mock.url + CREATE, json=body, timeout=10).status_code == 502
    assert http.get(mock.url + "health", timeout=10).status_code == 504
    assert http.get(mock.url + LIST, headers=_admin(mock), timeout=10).status_code == 200


def test_after_every_times(mock: MockProGet) -> None:
    """Issue 3 §1 schedule: skip ``after`` matches, then each ``every``-th, ``times`` at most."""
    mock.faults.add(path="/health", status=503, after=2, every=2, times=2)
    client = mock.app.test_client()
    statuses = [client.get("/health").status_code for _ in range(10)]
    assert statuses == [200, 200, 200, 503, 200, 503, 200, 200, 200, 200]


def test_probability_zero_and_one(mock: MockProGet) -> None:
    """Issue 3 §1 schedule: probability 0 never fires, 1 always does."""
    mock.faults.add(name="never", path="/health", status=502, probability=0)
    client = mock.app.test_client()
    assert {client.get("/health").status_code for _ in range(20)} == {200}
    mock.faults.add(name="always", path="/health", status=504, probability=1.0)
    assert {client.get("/health").status_code for _ in range(20)} == {504}


def test_delays_add_up_and_the_first_response_wins(mock: MockProGet) -> None:
    """Issue 3 §1 combination: delays add up; the first response/connection rule wins;
    later ones are not evaluated for that request."""
    mock.faults.add(name="d1", duration_ms=2)
    mock.faults.add(name="first", status=503)
    mock.faults.add(name="d2", duration_ms=3)
    mock.faults.add(name="second", status=500)
    response = mock.app.test_client().get("/health")
    assert response.status_code == 503
    [entry] = mock.journal.entries()
    assert entry["faults"] == ["d1", "first", "d2"] and entry["delay_ms"] == 5.0
    stats = {s["name"]: (s["matched"], s["applied"]) for s in mock.faults.stats()}
    assert stats == {"d1": (1, 1), "first": (1, 1), "d2": (1, 1), "second": (0, 0)}


def test_rules_and_counters_come_back_at_reset(mock: MockProGet) -> None:
    """Issue 3 §2: reset restores the configured rules (none here) with fresh counters."""
    mock.faults.add(status=503)
    mock.reset()
    assert mock.faults.rules == []
    assert mock.app.test_client().get("/health").status_code == 200


def test_counters_are_exact_under_concurrent_requests(mock: MockProGet) -> None:
    """Issue 3 §1 (thread-safe rules): 8 clients at once; ``every = 2`` fires on exactly
    half of the matches, and the journal holds every request."""
    mock.faults.add(name="half", path="/health", status=503, every=2)
    statuses: list[int] = []
    lock = threading.Lock()

    def client() -> None:
        with requests.Session() as session:
            for _ in range(25):
                code = session.get(mock.url + "health", timeout=10).status_code
                with lock:
                    statuses.append(code)

    threads = [threading.Thread(target=client) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert statuses.count(503) == statuses.count(200) == 100
    [stats] = mock.faults.stats()
    assert (stats["matched"], stats["applied"]) == (200, 100)
    entries = mock.journal.entries()
    assert len(entries) == 200 and sorted(e["seq"] for e in entries) == list(range(1, 201))


# -- determinism -----------------------------------------------------------------------


def _run_sequence(seed: int) -> tuple[list[tuple[object, ...]], list[str]]:
    """200 requests, a 30% fault and a lognormal delay; what each request met."""
    with MockProGet(seed=seed) as server:
        server.faults.add(name="flaky", path="/api/*", status=503, probability=0.3)
        server.faults.add(name="slow", median_ms=1, sigma=0.5)
        keys = []
        with requests.Session() as session:
            session.headers["X-ApiKey"] = server.admin_key
            for i in range(200):
                if i % 4 == 0:
                    response = session.post(server.url + CREATE, timeout=10, json={
                        "type": "personal", "user": "Admin", "logging": "none"})
                    if response.status_code == 200:
                        keys.append(response.json()["key"])
                else:
                    session.get(server.url + (LIST if i % 4 != 3 else "health"), timeout=10)
        seen = [(e["path"], e["status"], tuple(e["faults"]), e["delay_ms"]) for e in server.journal.entries()]
    return seen, keys


def test_same_seed_same_faults_delays_and_keys() -> None:
    """Issue 3 §2 acceptance: same seed + same requests => same faults, delays, keys;
    another seed => another sequence. Compares the chosen delays, not measured times."""
    first, keys_first = _run_sequence(1234)
    second, keys_second = _run_sequence(1234)
    assert len(first) == 200
    assert first == second and keys_first == keys_second
    statuses = [s for _, s, _, _ in first]
    assert 20 < statuses.count(503) < 80  # about 30% of the 150 /api/ requests
    assert len({d for *_, d in first}) > 100  # lognormal: the delays differ
    other, keys_other = _run_sequence(4321)
    assert [s for _, s, _, _ in other] != statuses
    assert [d for *_, d in other] != [d for *_, d in first]
    assert keys_other != keys_first


# -- validation -------------------------------------------------------------------------


@pytest.mark.parametrize(("fields", "field"), [
    ({"action": "explode"}, "action"),
    ({}, "action"),
    ({"status": 99}, "status"),
    ({"status": "503"}, "status"),
    ({"status": 503, "probability": 1.5}, "probability"),
    ({"status": 503, "after": -1}, "after"),
    ({"status": 503, "times": 0}, "times"),
    ({"status": 503, "every": 0}, "every"),
    ({"status": 503, "carrier": "cookie"}, "carrier"),
    ({"status": 503, "method": "GE T"}, "method"),
    ({"status": 503, "size": 4}, "size"),
    ({"status": 503, "colour": "red"}, "colour"),
    ({"status": 503, "name": "has space"}, "name"),
    ({"status": 503, "headers": {"X-A": "a\r\nb"}}, "headers"),
    ({"action": "delay"}, "delay"),
    ({"action": "delay", "lower_ms": 5, "upper_ms": 1}, "upper_ms"),
    ({"action": "delay", "median_ms": 0, "sigma": 1}, "median_ms"),
    ({"action": "delay", "duration_ms": 5, "median_ms": 1, "sigma": 1}, "delay"),
    ({"action": "truncate", "when": "request"}, "when"),
    ({"action": "truncate", "keep": 1}, "keep"),
    ({"action": "hang", "duration_ms": 0}, "duration_ms"),
    ({"action": "hang", "duration_ms": 10_000_000}, "duration_ms"),
    ({"action": "dribble", "chunks": 0}, "chunks"),
    ({"action": "reset", "when": "later"}, "when"),
])
def test_bad_rules_name_the_field(fields: dict[str, object], field: str) -> None:
    """Issue 3 §1: validation names the offending field."""
    with pytest.raises(FaultRuleError) as caught:
        parse_rule(fields)
    assert caught.value.field == field


def test_duplicate_names_are_refused(mock: MockProGet) -> None:
    """Issue 3 §1: rule names identify rules (journal, removal), so they are unique."""
    mock.faults.add(name="x", status=503)
    with pytest.raises(FaultRuleError, match="already exists"):
        mock.faults.add(name="x", action="reset")


def test_remove_and_clear(mock: MockProGet) -> None:
    """Issue 3 §1: rules can be removed by name and cleared."""
    mock.faults.add(name="a", status=503)
    mock.faults.add(name="b", action="reset")
    mock.faults.remove("a")
    assert [r.name for r in mock.faults.rules] == ["b"]
    with pytest.raises(KeyError):
        mock.faults.remove("a")
    mock.faults.clear()
    assert mock.faults.rules == []


@pytest.mark.parametrize(("spec", "expected"), [
    ("POST /api/api-keys/create 503 probability=0.3",
     {"method": "POST", "path": "/api/api-keys/create", "status": 503, "probability": 0.3}),
    ("* /api/* delay median_ms=50 sigma=0.5",
     {"method": "*", "path": "/api/*", "action": "delay", "median_ms": 50, "sigma": 0.5}),
    ("GET /health reset times=1 name=once",
     {"method": "GET", "path": "/health", "action": "reset", "times": 1, "name": "once"}),
    ("/health status=418 'body=I am a teapot' 'headers={X-A=\"v\"}'",
     {"path": "/health", "status": 418, "body": "I am a teapot", "headers": {"X-A": "v"}}),
    ('{path = "/api/*", action = "garbage", size = 10}',
     {"path": "/api/*", "action": "garbage", "size": 10}),
])
def test_cli_spec_syntax(spec: str, expected: dict[str, object]) -> None:
    """Issue 3 §3: the ``--fault`` syntax reads into the same fields as a TOML table."""
    assert parse_fault_spec(spec) == expected
    parse_rule(expected)


def test_as_dict_round_trips() -> None:
    """Issue 3 §3: a rule's fields, given back, make the same rule."""
    rule = parse_rule({"name": "r", "method": "get,post", "path": "/api/*", "carrier": ["header"],
                       "probability": 0.5, "after": 1, "times": 3, "every": 2, "status": 503,
                       "retry_after": 9, "headers": {"X-A": "b"}})
    again = parse_rule(rule.as_dict())
    assert again == rule and again.method == ("GET", "POST")


# -- rules that could not be sent, stages, bodiless answers -------------------------------------


@pytest.mark.parametrize("fields, field", [
    ({"status": 418, "headers": {"X-Y": "€"}}, "headers"),
    ({"status": 503, "body": "\ud800"}, "body"),
])
def test_a_rule_that_cannot_be_sent_is_refused(mock: MockProGet, http: requests.Session,
                                               fields: dict[str, object], field: str) -> None:
    """A rule whose answer HTTP cannot carry is refused when added, never a hang or a 500."""
    with pytest.raises(FaultRuleError) as caught:
        mock.faults.add(**fields)
    assert caught.value.field == field
    response = http.post(mock.url + "__mockproget__/faults", json=fields, timeout=10)
    assert response.status_code == 400 and field in response.text
    assert mock.faults.rules == []


def test_response_stage_delay_adds_to_a_request_stage_answer(mock: MockProGet, http: requests.Session) -> None:
    """Delays add up whatever their stage: a late 503 is late, as the journal says."""
    mock.faults.add(name="slow", duration_ms=300, when="response")
    mock.faults.add(name="busy", path="/api/*", status=503)
    started = time.perf_counter()
    response = http.get(mock.url + LIST, headers=_admin(mock), timeout=10)
    assert response.status_code == 503
    assert time.perf_counter() - started >= 0.29
    assert mock.journal.entries()[-1]["delay_ms"] == 300.0


@pytest.mark.parametrize("status", [204, 304])
def test_bodiless_statuses_send_no_body(mock: MockProGet, status: int) -> None:
    mock.faults.add(path="/health", status=status)
    connection = http_client.HTTPConnection("127.0.0.1", mock.port, timeout=5)
    try:
        connection.request("GET", "/health")
        answer = connection.getresponse()
        assert answer.status == status and answer.read() == b""
        connection.request("GET", "/health")  # a stray body would be read as the next answer
        assert connection.getresponse().status == status
    finally:
        connection.close()


def test_head_gets_no_body(mock: MockProGet) -> None:
    mock.faults.add(path="/health", status=503)
    response = requests.head(mock.url + "health", timeout=5)
    assert response.status_code == 503 and response.content == b""
