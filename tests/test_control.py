"""Issue 3 §3 and §5: the control API under ``/__mockproget__/``, and the four equivalent
ways of configuring fault rules."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from serve_process import ServeProcess

from mockproget import Config, MockProGet, load_config

C = "__mockproget__/"
LIST = "api/api-keys/list"
CREATE = "api/api-keys/create"


def _admin(mock: MockProGet) -> dict[str, str]:
    return {"X-ApiKey": mock.admin_key}


def test_index_lists_the_routes(mock: MockProGet, http: requests.Session) -> None:
    """Issue 3 §5: the control API lives under /__mockproget__/, never under /api/."""
    routes = http.get(mock.url + C, timeout=10).json()["routes"]
    assert all("/__mockproget__/" in r and "/api/" not in r for r in routes)


def test_reset_puts_everything_back(mock: MockProGet, http: requests.Session) -> None:
    """Issue 3 §5 reset: state, settings, fault rules and journal."""
    http.post(mock.url + CREATE, headers=_admin(mock), timeout=10,
              json={"type": "personal", "user": "Admin", "logging": "none"})
    http.patch(mock.url + C + "settings", json={"instance": {"edition": "Basic"}}, timeout=10)
    http.post(mock.url + C + "faults", json={"path": "/nowhere", "status": 503}, timeout=10)
    assert http.post(mock.url + C + "reset", json={}, timeout=10).status_code == 200
    assert len(http.get(mock.url + LIST, headers=_admin(mock), timeout=10).json()) == 1
    assert mock.backend.settings.edition == "Enterprise"
    assert http.get(mock.url + C + "faults", timeout=10).json()["faults"] == []
    assert len(mock.journal.entries()) == 1  # only the list request after the reset


def test_settings_show_the_seed_and_change_at_run_time(http: requests.Session) -> None:
    """Issue 3 §2, §5: the seed is visible; instance settings change at run time."""
    with MockProGet(seed=99) as server:
        settings = http.get(server.url + C + "settings", timeout=10).json()
        assert settings["seed"] == 99 and settings["instance"]["edition"] == "Enterprise"
        answer = http.patch(server.url + C + "settings", timeout=10,
                            json={"instance": {"edition": "Free"}, "journal_size": 5})
        assert answer.status_code == 200 and answer.json()["journal_size"] == 5
        assert http.get(server.url + "health", timeout=10).headers["X-ProGet-Edition"] == "Free"
        assert server.journal.size == 5


def test_fault_rules_add_list_remove(mock: MockProGet, http: requests.Session) -> None:
    """Issue 3 §5: add (201, the rule back), list with counters, remove, clear."""
    added = http.post(mock.url + C + "faults", timeout=10,
                      json={"name": "busy", "path": "/health", "status": 503, "retry_after": 3})
    assert added.status_code == 201 and added.json()["retry_after"] == 3
    assert http.get(mock.url + "health", timeout=10).status_code == 503
    [rule] = http.get(mock.url + C + "faults", timeout=10).json()["faults"]
    assert rule["name"] == "busy" and rule["matched"] == 1 and rule["applied"] == 1
    assert http.delete(mock.url + C + "faults/busy", timeout=10).status_code == 200
    assert http.delete(mock.url + C + "faults/busy", timeout=10).status_code == 404
    assert http.get(mock.url + "health", timeout=10).status_code == 200
    http.post(mock.url + C + "faults", json={"action": "reset"}, timeout=10)
    assert http.delete(mock.url + C + "faults", timeout=10).json() == {"faults": []}
    assert mock.faults.rules == []


def test_control_api_is_never_faulted(mock: MockProGet, http: requests.Session) -> None:
    """Issue 3 §5: a rule matching every path leaves the control API alone."""
    mock.faults.add(path="*", action="reset")
    assert http.get(mock.url + C + "faults", timeout=10).status_code == 200
    assert http.post(mock.url + C + "reset", json={}, timeout=10).status_code == 200


def test_journal_filters(mock: MockProGet, http: requests.Session) -> None:
    """Issue 3 §5: read the journal filtered by path, status and time; clear it."""
    http.get(mock.url + "health", timeout=10)
    middle = time.time()
    time.sleep(0.01)
    http.get(mock.url + LIST, timeout=10)
    http.get(mock.url + LIST, headers=_admin(mock), timeout=10)

    def paths(query: str) -> list[tuple[str, int]]:
        answer = http.get(mock.url + C + "journal" + query, timeout=10).json()
        return [(e["path"], e["status"]) for e in answer["entries"]]

    assert paths("") == [("/health", 200), ("/api/api-keys/list", 403), ("/api/api-keys/list", 200)]
    assert paths("?path=/api/*") == [("/api/api-keys/list", 403), ("/api/api-keys/list", 200)]
    assert paths("?status=403") == [("/api/api-keys/list", 403)]
    assert paths(f"?since={middle}") == [("/api/api-keys/list", 403), ("/api/api-keys/list", 200)]
    assert paths(f"?path=/health&since={middle}") == []
    assert http.delete(mock.url + C + "journal", timeout=10).status_code == 200
    assert paths("") == []


def test_state_snapshot_restore_without_key_text(mock: MockProGet, http: requests.Session) -> None:
    """Issue 3 §5 state: read holds no key text or password; restore brings it all back."""
    created = http.post(mock.url + CREATE, headers=_admin(mock), timeout=10,
                        json={"type": "personal", "user": "Admin", "logging": "both"}).json()
    state = http.get(mock.url + C + "state", timeout=10)
    assert state.status_code == 200
    text = state.text
    assert created["key"] not in text and mock.admin_key not in text
    assert all("key" not in k and k["secret"] for k in state.json()["apiKeys"])
    # change everything, then put the snapshot back
    http.post(mock.url + "api/api-keys/delete", params={"id": created["id"]}, headers=_admin(mock), timeout=10)
    http.post(mock.url + CREATE, headers=_admin(mock), timeout=10,
              json={"type": "personal", "user": "Admin", "logging": "none"})
    mock.backend.add_feed("later")
    restored = http.put(mock.url + C + "state", json=state.json(), timeout=10)
    assert restored.status_code == 200
    keys = http.get(mock.url + LIST, headers={"X-ApiKey": created["key"]}, timeout=10).json()
    assert [k["id"] for k in keys] == [1, 2] and keys[1]["key"] == created["key"]
    assert mock.backend.feeds == ["MyNpmFeed"]
    # ids go on from where the snapshot was
    again = http.post(mock.url + CREATE, headers=_admin(mock), timeout=10,
                      json={"type": "personal", "user": "Admin", "logging": "none"}).json()
    assert again["id"] == 3
    # the pseudo-key still works: the password came back sealed
    assert http.get(mock.url + LIST, headers={"X-ApiKey": "Admin:Admin"}, timeout=10).status_code == 200


def test_state_written_by_hand(mock: MockProGet, http: requests.Session) -> None:
    """Issue 3 §5 state: a hand-written state gives key texts and passwords in clear."""
    document = {
        "settings": {"edition": "Basic"},
        "users": [{"name": "dana", "password": "dana-pw-1", "admin": True}],
        "feeds": ["f1"], "feedGroups": [],
        "apiKeys": [{"id": 7, "type": "feed", "feed": "f1", "packagePermissions": ["view"],
                     "logging": "none", "key": "feed-key-text-0007"}],
    }
    answer = http.put(mock.url + C + "state", json=document, timeout=10)
    assert answer.status_code == 200, answer.text
    assert "feed-key-text-0007" not in answer.text and "dana-pw-1" not in answer.text
    # the admin key printed at start is kept: it comes back with the next id (issue 10)
    assert answer.json()["nextId"] == 9
    assert [(k["id"], k.get("displayName")) for k in answer.json()["apiKeys"]] == [(7, None), (8, "mockproget admin")]
    keys = http.get(mock.url + LIST, headers={"X-ApiKey": "dana:dana-pw-1"}, timeout=10).json()
    assert [(k["id"], k["key"]) for k in keys] == [(7, "feed-key-text-0007"), (8, mock.admin_key)]
    assert http.get(mock.url + LIST, headers={"X-ApiKey": mock.admin_key}, timeout=10).status_code == 200


def test_state_keeps_the_admin_key_once(mock: MockProGet, http: requests.Session) -> None:
    """Issue 10 / spec §3: a document that holds the admin key already keeps it as it is
    (no second copy); the key printed at start authenticates after the PUT."""
    state = http.get(mock.url + C + "state", timeout=10).json()
    answer = http.put(mock.url + C + "state", json=state, timeout=10)
    assert answer.status_code == 200, answer.text
    assert answer.json()["apiKeys"] == state["apiKeys"] and answer.json()["nextId"] == state["nextId"]
    assert http.get(mock.url + LIST, headers={"X-ApiKey": mock.admin_key}, timeout=10).status_code == 200


@pytest.mark.parametrize(("method", "path", "body", "status"), [
    ("PUT", "state", b"not json", 400),
    ("PUT", "state", b"[]", 400),
    ("PUT", "state", b'{"users": "x"}', 400),
    ("PUT", "state", b'{"apiKeys": [{"id": 1, "type": "system", "systemApis": ["full-control"], '
                     b'"logging": "none", "secret": "forged"}]}', 400),
    ("PUT", "state", b'{"apiKeys": [{"id": 1, "type": "system", "logging": "none", "key": "k"}]}', 400),
    ("PUT", "state", b'{"settings": {"edition": "Gold"}}', 400),
    ("PUT", "state", b'{"apiKeys": [{"id": 2, "type": "feed", "feed": "nope", "packagePermissions": '
                     b'["view"], "logging": "none", "key": "k"}], "nextId": 1}', 400),
    ("PUT", "state", b'{"colour": 1}', 400),
    ("POST", "faults", b"", 400),
    ("POST", "faults", b'{"status": 999}', 400),
    ("POST", "faults", b'{"action": "reset", "unknown": 1}', 400),
    ("POST", "faults", b'"reset"', 400),
    ("PATCH", "settings", b'{"instance": {"version": "x"}}', 400),
    ("PATCH", "settings", b'{"instance": {"hash_keys": "yes"}}', 400),
    ("PATCH", "settings", b'{"instance": {"nope": 1}}', 400),
    ("PATCH", "settings", b'{"journal_size": 0}', 400),
    ("PATCH", "settings", b'{"seed": 1}', 400),
    ("GET", "journal?status=abc", b"", 400),
    ("GET", "journal?since=yesterday", b"", 400),
    ("GET", "journal?limit=1_0", b"", 400),
    ("GET", "journal?limit=%D9%A5", b"", 400),
    ("GET", "journal?after=%201", b"", 400),
    ("GET", "journal?since=nan", b"", 400),
    ("GET", "journal?since=inf", b"", 400),
    ("PUT", "state", b'{"feeds": [{"name": 5}]}', 400),
    ("PUT", "state", b'{"settings": {"version": 2024.3}}', 400),
    ("PATCH", "settings", b'{"instance": {"version": 2025.1}}', 400),
    ("DELETE", "faults/none-such", b"", 404),
    ("GET", "reset", b"", 405),
    ("GET", "nowhere", b"", 404),
])
def test_bad_control_input_is_a_readable_4xx(mock: MockProGet, http: requests.Session, method: str,
                                             path: str, body: bytes, status: int) -> None:
    """Issue 3 §5: bad input gets a 4xx with a text/plain explanation, never a 500."""
    response = http.request(method, mock.url + C + path, data=body, timeout=10,
                            headers={"Content-Type": "application/json"})
    assert response.status_code == status
    assert response.headers["Content-Type"].startswith("text/plain") and response.text.strip()
    assert mock.backend.settings.edition == "Enterprise" and len(mock.backend.api_keys) == 1


def test_token_protects_the_control_api(http: requests.Session) -> None:
    """Issue 3 §5: with a control token, control requests need ``X-MockProGet-Token``."""
    with MockProGet(Config(port=0, control_token="tok-123")) as server:
        assert http.get(server.url + C + "settings", timeout=10).status_code == 403
        wrong = http.get(server.url + C + "settings", headers={"X-MockProGet-Token": "nope"}, timeout=10)
        assert wrong.status_code == 403 and "tok-123" not in wrong.text
        right = http.get(server.url + C + "settings", headers={"X-MockProGet-Token": "tok-123"}, timeout=10)
        assert right.status_code == 200 and right.json()["control_token"] is True
        assert "tok-123" not in right.text
        assert http.get(server.url + "health", timeout=10).status_code == 200  # ProGet API unaffected


# -- the four ways (issue 3 §3) ---------------------------------------------------------

RULES = [
    {"name": "slow", "path": "/api/api-keys/list", "action": "delay", "duration_ms": 2},
    {"name": "busy", "method": "GET", "path": "/api/api-keys/list", "status": 503, "every": 2,
     "retry_after": 4},
    {"name": "cut", "path": "/health", "action": "close", "times": 1},
]
CLI_SPECS = [
    "/api/api-keys/list delay duration_ms=2 name=slow",
    "GET /api/api-keys/list 503 every=2 retry_after=4 name=busy",
    '{name = "cut", path = "/health", action = "close", times = 1}',
]
TOML = """
seed = 5
[[faults]]
name = "slow"
path = "/api/api-keys/list"
action = "delay"
duration_ms = 2

[[faults]]
name = "busy"
method = "GET"
path = "/api/api-keys/list"
status = 503
every = 2
retry_after = 4

[[faults]]
name = "cut"
path = "/health"
action = "close"
times = 1
"""


@pytest.fixture(params=["file", "cli", "python", "control"])
def configured(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """The same three rules, configured one of the four ways; yields (url, admin key)."""
    way = request.param
    if way == "cli":
        process = ServeProcess("--seed", "5", *(arg for spec in CLI_SPECS for arg in ("--fault", spec)))
        try:
            yield process.url, process.admin_key
        finally:
            process.stop()
        return
    if way == "file":
        path = tmp_path / "mock.toml"
        path.write_text(TOML, encoding="utf-8")
        server = MockProGet(load_config(path, env={}).with_overrides(port=0))
    else:
        server = MockProGet(seed=5)
    with server:
        for rule in RULES:
            if way == "python":
                server.faults.add(rule)
            elif way == "control":
                assert requests.post(server.url + C + "faults", json=rule, timeout=10).status_code == 201
        yield server.url, server.admin_key


def test_four_ways_are_equivalent(configured: tuple[str, str], http: requests.Session) -> None:
    """Issue 3 §3 acceptance: file, CLI, Python and control API configure the same rules,
    which act and are journaled the same way."""
    url, admin = configured
    statuses = [http.get(url + LIST, headers={"X-ApiKey": admin}, timeout=10).status_code for _ in range(4)]
    assert statuses == [200, 503, 200, 503]
    with pytest.raises(requests.ConnectionError):
        http.get(url + "health", timeout=10)
    assert http.get(url + "health", timeout=10).status_code == 200
    rules = http.get(url + C + "faults", timeout=10).json()
    assert rules["seed"] == 5
    assert [(r["name"], r["action"], r["matched"], r["applied"]) for r in rules["faults"]] == [
        ("slow", "delay", 4, 4), ("busy", "response", 4, 2), ("cut", "close", 2, 1)]
    entries = http.get(url + C + "journal", timeout=10).json()["entries"]
    assert [(e["status"], e["faults"], e["delay_ms"], e["connection"]) for e in entries] == [
        (200, ["slow"], 2.0, None), (503, ["slow", "busy"], 2.0, None),
        (200, ["slow"], 2.0, None), (503, ["slow", "busy"], 2.0, None),
        (None, ["cut"], None, "close"), (200, [], None, None)]


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8)
_FIELDS = st.sampled_from(["name", "action", "method", "path", "carrier", "probability", "after",
                           "times", "every", "when", "status", "body", "headers", "retry_after",
                           "duration_ms", "lower_ms", "upper_ms", "median_ms", "sigma", "size",
                           "keep", "chunks", "users", "apiKeys", "settings", "instance", "journal_size"])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(route=st.sampled_from([("POST", "faults"), ("PUT", "state"), ("PATCH", "settings")]),
       body=st.dictionaries(_FIELDS, _JSON, max_size=5) | _JSON)
def test_control_api_never_answers_500(mock: MockProGet, route: tuple[str, str], body: object) -> None:
    """Issue 3 §5: whatever JSON the control API gets, the answer is never a 500."""
    method, path = route
    client = mock.app.test_client()
    response = client.open("/__mockproget__/" + path, method=method, json=body)
    assert response.status_code < 500, response.get_data(as_text=True)
    mock.reset()


def test_a_refused_settings_change_changes_nothing(mock: MockProGet, http: requests.Session) -> None:
    """Every part is checked before any is applied: a 400, and the edition stays."""
    response = http.patch(mock.url + "__mockproget__/settings",
                          json={"instance": {"edition": "Free"}, "journal_size": 10**30})
    assert response.status_code == 400
    assert "journal_size" in response.text
    assert mock.backend.settings.edition == "Enterprise"
    assert mock.journal.size == mock.config.journal_size


def test_reset_puts_the_journal_bounds_back(mock: MockProGet, http: requests.Session) -> None:
    """A reset undoes a ``PATCH /settings`` of the journal bounds too (the ``proget``
    fixture resets between tests: one test's journal size must not reach the next)."""
    size, max_bytes = mock.journal.size, mock.journal.max_bytes
    answer = http.patch(mock.url + "__mockproget__/settings", json={"journal_size": 7, "journal_bytes": 2**21})
    assert answer.status_code == 200 and mock.journal.size == 7
    mock.reset()
    assert (mock.journal.size, mock.journal.max_bytes) == (size, max_bytes)
    http.patch(mock.url + "__mockproget__/settings", json={"journal_size": 7})
    assert http.post(mock.url + "__mockproget__/reset", json={}).status_code == 200
    assert mock.journal.size == size


# -- issue 8: big states, browsers, Host, every problem listed ----------------------------


def test_a_state_of_100000_keys_round_trips() -> None:
    """Issue 8 acceptance: ``GET`` then ``PUT /__mockproget__/state`` with 100,000 keys
    (about 16 MB of JSON, past the 1 MiB API body limit): 200, the same state after, and
    the keys still authenticate."""
    from mockproget import NewApiKey, SeedState

    keys = [NewApiKey(type="feed", key=f"bulk-key-{i:06d}", feed="MyNpmFeed",
                      package_permissions=("view",), logging="none") for i in range(100_000)]
    state = SeedState(users=[("Admin", "Admin", True)], feeds=["MyNpmFeed"], api_keys=keys)
    with MockProGet(Config(port=0, state=state)) as server, requests.Session() as http:
        before = http.get(server.url + C + "state", timeout=120)
        assert before.status_code == 200 and len(before.content) > 1024 * 1024
        assert len(before.json()["apiKeys"]) == 100_001  # and the admin key
        answer = http.put(server.url + C + "state", data=before.content, timeout=120,
                          headers={"Content-Type": "application/json"})
        assert answer.status_code == 200, answer.text[:300]
        assert answer.json() == before.json()
        after = http.get(server.url + C + "state", timeout=120).json()
        assert after == before.json()
        listed = http.get(server.url + LIST, headers={"X-ApiKey": server.admin_key}, timeout=120).json()
        assert len(listed) == 100_001
        assert http.get(server.url + "api/api-keys/list", headers={"X-ApiKey": "bulk-key-054321"},
                        timeout=10).status_code == 403  # a feed key: authenticated, then refused
        settings = http.get(server.url + C + "settings", timeout=10).json()
        assert settings["control_max_body"] >= 64 * 1024 * 1024 > settings["max_body"]


def test_control_body_limit_is_its_own() -> None:
    """Issue 8 §3: the control API's body limit is ``[control] max_body``; past it a 413
    that names it, and nothing changes."""
    with MockProGet(Config(port=0, control_max_body=2000)) as server, requests.Session() as http:
        answer = http.post(server.url + C + "faults", timeout=10,
                           json={"path": "/x" + "y" * 3000, "status": 503})
        assert answer.status_code == 413 and "2000 bytes" in answer.text
        assert server.faults.rules == []
        assert http.post(server.url + C + "faults", json={"path": "/x", "status": 503},
                         timeout=10).status_code == 201


def test_the_server_reads_a_control_body_past_the_api_limit() -> None:
    """Issue 8 §3: under the real server a control body larger than ``max_body`` but within
    ``[control] max_body`` is read whole (sized or chunked), while an API body past
    ``max_body`` is still a 413."""
    with MockProGet(Config(port=0, max_body=1000, control_max_body=100_000)) as server, \
            requests.Session() as http:
        for name in ("sized", "chunked"):
            data = json.dumps({"name": name, "path": "/x" + "y" * 5000, "status": 503}).encode()
            body = data if name == "sized" else iter([data[:3000], data[3000:]])
            answer = http.post(server.url + C + "faults", data=body, timeout=10,
                               headers={"Content-Type": "application/json"})
            assert answer.status_code == 201, (name, answer.text[:200])
        assert [rule.name for rule in server.faults.rules] == ["sized", "chunked"]
        too_big = http.post(server.url + CREATE, data=b"{" + b" " * 5000 + b"}", timeout=10,
                            headers={"X-ApiKey": server.admin_key, "Content-Type": "application/json"})
        assert too_big.status_code == 413 and "1000 bytes" in too_big.text


@pytest.mark.parametrize(("method", "path", "body"), [
    ("POST", "reset", b""),
    ("POST", "faults", b'{"path": "/api/*", "action": "hang"}'),
    ("PATCH", "settings", b'{"instance": {"anonymous_admin": true}}'),
    ("PUT", "state", b'{"users": [], "apiKeys": []}'),
])
@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x", None])
def test_writes_need_json_so_a_web_page_cannot_send_them(
        mock: MockProGet, http: requests.Session, method: str, path: str, body: bytes,
        content_type: str | None) -> None:
    """Issue 8 acceptance: a write a web page can send cross-site without a CORS preflight
    (``text/plain``, a form, no type) is refused with 415 and changes nothing."""
    mock.app.test_client().get("/health")
    before = http.get(mock.url + C + "state", timeout=10).json()
    headers = {"Content-Type": content_type} if content_type else {}
    answer = http.request(method, mock.url + C + path, data=body, headers=headers, timeout=10)
    assert answer.status_code == 415 and "application/json" in answer.text
    assert answer.headers["Content-Type"].startswith("text/plain")
    assert http.get(mock.url + C + "state", timeout=10).json() == before
    assert mock.faults.rules == [] and len(mock.journal) == 1
    assert not mock.backend.settings.anonymous_admin


@pytest.mark.parametrize("host", ["evil.example", "evil.example:80", "127.0.0.1.evil.example",
                                  "localhost.evil.example", "[::2]:1"])
def test_a_foreign_host_header_is_refused(mock: MockProGet, http: requests.Session, host: str) -> None:
    """Issue 8 acceptance (DNS rebinding): a control request whose ``Host`` is not the bound
    address, localhost or an allowed name is refused with 403, reads nothing and changes
    nothing."""
    headers = {"Host": host, "Content-Type": "application/json"}
    for method, path in (("GET", "state"), ("GET", "journal"), ("POST", "reset"),
                         ("POST", "faults"), ("PATCH", "settings")):
        answer = http.request(method, mock.url + C + path, headers=headers, timeout=10,
                              data=b'{"path": "/x", "status": 503}' if path == "faults" else b"{}")
        assert answer.status_code == 403 and "Host" in answer.text, (method, path)
        assert "apiKeys" not in answer.text and "entries" not in answer.text
    assert mock.faults.rules == []


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "LOCALHOST:1234", "app.localhost:9",
                                  "[::1]:80"])
def test_local_host_headers_are_answered(mock: MockProGet, http: requests.Session, host: str) -> None:
    """Issue 8 §3: the bound address, ``localhost`` (any case, any port, ``*.localhost``)
    and loopback addresses are answered."""
    assert http.get(mock.url + C + "settings", headers={"Host": host}, timeout=10).status_code == 200


def test_allowed_hosts_and_opting_out() -> None:
    """Issue 8 §3: ``[control] allowed_hosts`` adds names; ``check_host = false`` (or
    ``--control-any-host``) answers any Host; a server bound to every interface answers
    any address literal (a rebinding page can only use names)."""
    from mockproget.config import parse_config

    config = parse_config({"control": {"allowed_hosts": ["mock.internal"]}}).with_overrides(port=0)
    with MockProGet(config) as server, requests.Session() as http:
        ok = http.get(server.url + C + "settings", headers={"Host": "Mock.Internal:8624"}, timeout=10)
        assert ok.status_code == 200
        assert http.get(server.url + C + "settings", headers={"Host": "evil.example"},
                        timeout=10).status_code == 403
    config = parse_config({"control": {"check_host": False}}).with_overrides(port=0)
    with MockProGet(config) as server, requests.Session() as http:
        assert http.get(server.url + C + "settings", headers={"Host": "evil.example"},
                        timeout=10).status_code == 200
    with pytest.warns(UserWarning, match="not a loopback address"):
        server = MockProGet(Config(port=0, host="0.0.0.0"))
    with server, requests.Session() as http:
        assert http.get(server.url + C + "settings", headers={"Host": "192.0.2.7:1"},
                        timeout=10).status_code == 200
        assert http.get(server.url + C + "settings", headers={"Host": "evil.example"},
                        timeout=10).status_code == 403


def test_embedded_server_warns_only_when_exposed(recwarn: pytest.WarningsRecorder) -> None:
    """Issue 8 §3: ``MockProGet(host="0.0.0.0")`` warns as the CLI does; with a control
    token, or on loopback, it does not."""
    from mockproget.control import ExposedWarning

    with pytest.warns(ExposedWarning, match="control token"):
        MockProGet(host="0.0.0.0")
    MockProGet(host="127.0.0.1")
    MockProGet(Config(port=0, host="0.0.0.0", control_token="t"))
    assert not [w for w in recwarn if issubclass(w.category, ExposedWarning)]


def test_banner_prints_the_bound_address() -> None:
    """Issue 8 §3: the banner names the address really bound (``0.0.0.0``), and where to
    reach it from this machine; ``--control-any-host`` and ``--journal-bytes`` are taken."""
    process = ServeProcess("--host", "0.0.0.0", "--control-token", "tok", "--journal-bytes", "2000000",
                           "--control-any-host")
    try:
        [line] = [line for line in process.lines if "listening on" in line]
        port = line.rsplit(":", 1)[1].strip(" /)\n")
        assert f"listening on http://0.0.0.0:{port}/ (from this machine: http://127.0.0.1:{port}/)" in line
        settings = requests.get(f"http://127.0.0.1:{port}/{C}settings", timeout=10,
                                headers={"X-MockProGet-Token": "tok", "Host": "evil.example"}).json()
        assert settings["journal_bytes"] == 2_000_000
    finally:
        process.stop()


def test_every_problem_of_a_fault_rule_is_listed(mock: MockProGet, http: requests.Session) -> None:
    """Issue 8 §4: ``POST /__mockproget__/faults`` with three bad fields names all three."""
    answer = http.post(mock.url + C + "faults", timeout=10,
                       json={"status": 999, "probability": 2, "times": 0, "colour": "red"})
    assert answer.status_code == 400
    for field in ("status", "probability", "times", "colour"):
        assert f"- {field}: " in answer.text, field
    assert mock.faults.rules == []
    answer = http.post(mock.url + C + "faults", timeout=10,
                       json={"action": "delay", "lower_ms": -1, "upper_ms": "x", "method": "G T"})
    assert answer.status_code == 400
    for field in ("lower_ms", "upper_ms", "method"):
        assert f"- {field}: " in answer.text, field


def test_every_problem_of_a_settings_patch_is_listed(mock: MockProGet, http: requests.Session) -> None:
    """Issue 8 §4: ``PATCH /__mockproget__/settings`` with four bad settings names all four
    and changes nothing."""
    answer = http.patch(mock.url + C + "settings", timeout=10, json={
        "instance": {"edition": "Gold", "version": "x", "hash_keys": "yes"}, "journal_size": 0,
        "journal_bytes": 5, "colour": 1})
    assert answer.status_code == 400
    for name in ("instance.edition", "instance.version", "instance.hash_keys", "journal_size",
                 "journal_bytes", "colour"):
        assert f"- {name}: " in answer.text, name
    assert mock.backend.settings.edition == "Enterprise" and mock.journal.size == 1000


def test_a_version_given_as_a_number_is_refused(mock: MockProGet, http: requests.Session) -> None:
    """Issue 3 §5 (proget-api-keys spec §6, the version form): ``2025.10`` as a JSON number
    would read as 2025.1; it is a 400 naming the setting, and the version stays a string."""
    answer = http.patch(mock.url + C + "settings", json={"instance": {"version": 2025.10}}, timeout=10)
    assert answer.status_code == 400 and "- instance.version: " in answer.text
    assert http.get(mock.url + C + "settings", timeout=10).json()["instance"]["version"] == "2025.10"
    assert http.get(mock.url + "health", timeout=10).headers["X-ProGet-Version"] == "25.0.10"


def test_a_feed_named_by_a_number_is_refused(mock: MockProGet, http: requests.Session) -> None:
    """Issue 3 §5 (proget-feeds spec §1): a feed's name is a non-empty string; ``5`` is a 400
    naming the feed, and the state is unchanged."""
    before = http.get(mock.url + C + "state", timeout=10).json()
    answer = http.put(mock.url + C + "state", json={"feeds": [{"name": 5, "type": "npm"}]}, timeout=10)
    assert answer.status_code == 400 and "feeds[0]" in answer.text
    assert http.get(mock.url + C + "state", timeout=10).json()["feeds"] == before["feeds"]


def test_repr_of_the_app_hides_the_control_token() -> None:
    """Issue 8 §1: ``repr(proget.app.extensions)`` and the config show no control token."""
    with MockProGet(Config(port=0, control_token="very-secret-token-1")) as server:
        assert "very-secret-token-1" not in repr(server.app.extensions)
        assert "very-secret-token-1" not in repr(server.config)
        assert requests.get(server.url + C + "settings", timeout=10,
                            headers={"X-MockProGet-Token": "very-secret-token-1"}).status_code == 200


def test_a_chunked_state_past_the_api_limit_is_read_whole(mock: MockProGet, http: requests.Session) -> None:
    """Issue 8 §3 / spec §7 (pgutil sends chunked bodies): a control body sent chunked is
    held to the control API's limit, not the API's 1 MiB."""
    document = {"users": [{"name": "Admin", "password": "Admin", "admin": True}],
                "feeds": [f"feed-{i:06d}-" + "f" * 40 for i in range(30_000)]}
    data = json.dumps(document).encode()
    assert len(data) > 1024 * 1024

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(data), 65536):
            yield data[start:start + 65536]

    answer = http.put(mock.url + C + "state", data=chunks(), timeout=60,
                      headers={"Content-Type": "application/json"})
    assert answer.status_code == 200, answer.text[:200]
    assert len(answer.json()["feeds"]) == 30_000


def test_every_problem_of_a_configured_rule_is_listed(capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 8 §4: a ``--fault`` spec and a ``[[faults]]`` table with several bad fields
    name every one of them."""
    from mockproget import ConfigError
    from mockproget.cli import main
    from mockproget.config import parse_config

    assert main(["serve", "--fault", "{status=999, probability=2, times=0}"]) == 2
    err = capsys.readouterr().err
    assert all(f"{name}: " in err for name in ("status", "probability", "times")), err
    with pytest.raises(ConfigError) as caught:
        parse_config({"faults": [{"status": 999, "every": -1}]}, "mock.toml")
    assert "status: " in str(caught.value) and "every: " in str(caught.value)
