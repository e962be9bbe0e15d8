"""Issue 3 §3 and §5: the control API under ``/__mockproget__/``, and the four equivalent
ways of configuring fault rules."""

from __future__ import annotations

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
