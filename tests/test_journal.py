"""Issue 3 §4: the request journal — bounded, complete, and free of secrets."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator

import pytest
import requests

from mockproget import Config, MockProGet
from mockproget.journal import Journal

LIST = "api/api-keys/list"
CREATE = "api/api-keys/create"


@pytest.fixture
def small_journal() -> Iterator[MockProGet]:
    """A mock of its own whose journal keeps 100 entries."""
    with MockProGet(Config(port=0, journal_size=100)) as server:
        yield server


def test_journal_never_grows_past_its_bound(small_journal: MockProGet) -> None:
    """Issue 3 §4 acceptance: a ring buffer; 10,000 requests leave exactly ``size`` entries."""
    server = small_journal
    client = server.app.test_client()
    headers = {"X-ApiKey": server.admin_key}
    for i in range(9_900):
        path = "/health" if i % 3 else "/" + LIST
        assert client.get(path, headers=headers).status_code == 200
        if i % 1000 == 0:
            assert len(server.journal) <= 100
    with requests.Session() as session:  # and some over the real socket
        for _ in range(100):
            assert session.get(server.url + "health", timeout=10).status_code == 200
    entries = server.journal.entries()
    assert len(entries) == 100 and server.journal.total == 10_000
    assert [e["seq"] for e in entries] == list(range(9_901, 10_001))
    assert all(e["path"] == "/health" and "Werkzeug" not in e["headers"].get("User-Agent", "")
               for e in entries)


def test_journal_class_bound_and_clear() -> None:
    """Issue 3 §4: ``Journal(size)`` keeps the newest; ``clear`` empties it; size >= 1."""
    journal = Journal(3)
    for i in range(10):
        journal.record({"path": f"/{i}", "status": 200, "time": float(i), "headers": {}})
    assert [e["path"] for e in journal.entries()] == ["/7", "/8", "/9"]
    journal.resize(2)
    assert [e["path"] for e in journal.entries()] == ["/8", "/9"]
    journal.clear()
    assert journal.entries() == [] and journal.total == 0
    with pytest.raises(ValueError):
        Journal(0)


def test_entry_describes_the_request(mock: MockProGet, http: requests.Session) -> None:
    """Issue 3 §4: time, method, path, query, headers, carrier, principal, status, duration."""
    before = time.time()
    http.get(mock.url + LIST, params={"key": mock.admin_key, "page": "1"}, timeout=10)
    [entry] = mock.journal.entries()
    assert before <= entry["time"] <= time.time()
    assert entry["method"] == "GET" and entry["path"] == "/api/api-keys/list"
    assert entry["query"] == "key=********&page=1"
    assert entry["carrier"] == "query" and entry["principal"] == "system key #1"
    assert entry["status"] == 200 and entry["duration_ms"] >= 0
    assert entry["faults"] == [] and entry["delay_ms"] is None and entry["connection"] is None
    assert entry["headers"]["Host"].startswith("127.0.0.1:")


def test_refused_request_is_journaled_without_a_principal(mock: MockProGet, http: requests.Session) -> None:
    """Issue 3 §4 / spec §3: a 403 is journaled: its carrier, no principal, no body."""
    http.get(mock.url + LIST, headers={"X-ApiKey": "not-a-key"}, timeout=10)
    [entry] = mock.journal.entries()
    assert entry["status"] == 403 and entry["carrier"] == "header" and entry["principal"] is None
    assert entry["headers"]["X-Apikey"] == "********"


def _key(mock: MockProGet, http: requests.Session, logging_mode: str) -> str:
    """A personal key of the admin user Admin, with the given ``logging``."""
    response = http.post(mock.url + CREATE, headers={"X-ApiKey": mock.admin_key}, timeout=10,
                         json={"type": "personal", "user": "Admin", "logging": logging_mode})
    assert response.status_code == 200
    return str(response.json()["key"])


@pytest.mark.parametrize(("mode", "request_kept", "response_kept"), [
    ("none", False, False),
    ("request", True, False),
    ("response", False, True),
    ("both", True, True),
])
def test_bodies_kept_as_the_keys_logging_says(mock: MockProGet, http: requests.Session, mode: str,
                                              request_kept: bool, response_kept: bool) -> None:
    """Issue 3 §4 / spec §2 ``logging`` (seed doc "Logging Options"): which bodies are kept."""
    key = _key(mock, http, mode)
    mock.journal.clear()
    http.post(mock.url + CREATE, headers={"X-ApiKey": key}, timeout=10,
              json={"type": "personal", "user": "Admin", "logging": "none", "description": "second"})
    [entry] = mock.journal.entries()
    assert entry["principal"] == "personal key #2 of user Admin" and entry["logging"] == mode
    if request_kept:
        assert json.loads(entry["request_body"])["description"] == "second"
    else:
        assert entry["request_body"] is None
    if response_kept:
        answer = json.loads(entry["response_body"])
        assert answer["id"] == 3 and answer["key"] == "********"
    else:
        assert entry["response_body"] is None


def test_pseudo_key_requests_are_not_body_logged(mock: MockProGet, http: requests.Session) -> None:
    """Issue 3 §4: a pseudo-key has no ``logging`` setting: its bodies are never kept."""
    http.post(mock.url + CREATE, headers={"X-ApiKey": "Admin:Admin"}, timeout=10,
              json={"type": "personal", "user": "Admin", "logging": "both"})
    [entry] = mock.journal.entries()
    assert entry["principal"] == "user Admin (pseudo-key)" and entry["carrier"] == "header"
    assert entry["request_body"] is None and entry["response_body"] is None


def test_faults_and_chosen_delay_are_journaled(mock: MockProGet, http: requests.Session) -> None:
    """Issue 3 §4: the names of the faults applied and the delay chosen."""
    mock.faults.add(name="slow", path="/health", duration_ms=5)
    mock.faults.add(name="gone", path="/health", action="close")
    with pytest.raises(requests.ConnectionError):
        http.get(mock.url + "health", timeout=10)
    [entry] = mock.journal.entries()
    assert entry["faults"] == ["slow", "gone"] and entry["delay_ms"] == 5.0
    assert entry["connection"] == "close" and entry["status"] is None


def test_control_requests_are_not_journaled(mock: MockProGet, http: requests.Session) -> None:
    """Issue 3 §5: the control API does not clutter the journal."""
    http.get(mock.url + "__mockproget__/journal", timeout=10)
    http.get(mock.url + "__mockproget__/settings", timeout=10)
    assert mock.journal.entries() == []


def test_no_secret_anywhere(mock: MockProGet, http: requests.Session,
                            caplog: pytest.LogCaptureFixture) -> None:
    """Issue 3 §4 acceptance: the admin key, a user's password and created keys appear
    nowhere: not in the journal, not in the control API's answers, not in the log."""
    caplog.set_level(logging.INFO, logger="mockproget.access")
    password = "Pw-of-carol-7f3a9"
    mock.backend.add_user("carol", password, admin=True)
    pseudo = f"carol:{password}"
    admin = mock.admin_key
    url = mock.url

    # a key that logs both bodies, created with the pseudo-key in the query string
    created = http.post(url + CREATE, params={"key": pseudo}, timeout=10,
                        json={"type": "personal", "user": "carol", "logging": "both"}).json()["key"]
    # that key creates another (its answer, holding the new key, is body-logged)
    second = http.post(url + CREATE, headers={"X-ApiKey": created}, timeout=10,
                       json={"type": "system", "systemApis": ["full-control"], "logging": "both"}).json()["key"]
    # plain-text create answers (the doc's wording) hold the key text alone
    mock.backend.update_settings(create_response="text")
    third = http.post(url + CREATE, headers={"X-ApiKey": second}, timeout=10,
                      json={"type": "personal", "user": "carol", "logging": "none"}).text
    mock.backend.update_settings(create_response="json")
    # every carrier (spec §3), secrets in bodies, a failed attempt, a fault
    http.get(url + LIST, headers={"X-ApiKey": admin}, timeout=10)
    http.get(url + LIST, params={"key": created}, timeout=10)
    http.post(url + "api/api-keys/delete", data={"key": second, "id": "999"}, timeout=10)
    http.post(url + CREATE, json={"API_Key": pseudo, "type": "personal", "user": "carol",
                                  "logging": "none", "key": "custom-secret-key-0001"}, timeout=10)
    http.post(url + CREATE, headers={"X-ApiKey": created}, timeout=10,
              json={"type": "personal", "user": "carol", "logging": "none", "key": "custom-secret-key-0002"})
    http.get(url + LIST, headers={"X-ApiKey": f"carol:{password}x"}, timeout=10)
    http.get(url + f"{pseudo}/nowhere", timeout=10)
    mock.faults.add(path="/api/api-keys/list", action="reset", times=1)
    with pytest.raises(requests.ConnectionError):
        http.get(url + LIST, params={"key": admin}, timeout=10)

    secrets = {"admin key": admin, "password": password, "created key": created,
               "second key": second, "third key": third, "custom key": "custom-secret-key-0001",
               "custom key 2": "custom-secret-key-0002"}
    journal = json.dumps(mock.journal.entries(), ensure_ascii=False)
    assert len(mock.journal.entries()) == 11
    answers = [http.get(url + "__mockproget__/" + path, timeout=10).text
               for path in ("", "journal", "state", "faults", "settings")]
    answers.append(http.post(url + "__mockproget__/reset", timeout=10).text)
    places = {"journal": journal, "control API": "\n".join(answers), "access log": caplog.text}
    assert "carol" in places["journal"] and '"response_body"' in places["journal"]
    assert "/api/api-keys/create" in places["access log"] and "fault reset" in places["access log"]
    for what, secret in secrets.items():
        for where, text in places.items():
            assert secret not in text, f"the {what} appears in the {where}"


@pytest.mark.parametrize("raw", [
    b"POST /api/api-keys/create HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
    b"Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
    b"POST /api/api-keys/create HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n"
    b"Content-Type: application/json\r\n\r\n{\"type\":",
    b"POST /api/api-keys/create HTTP/1.1\r\nHost: x\r\nContent-Length: -3\r\n\r\n",
])
def test_odd_bodies_are_journaled_never_a_500(mock: MockProGet, raw: bytes) -> None:
    """Issue 3 §4 / §5: the journal reads bodies without ever turning a request into a 500
    (a Content-Length with a broken chunk stream, a body cut short, a negative length)."""
    import socket

    with socket.create_connection((mock.host, mock.port), timeout=10) as sock:
        sock.sendall(raw)
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else None
    assert status is None or status < 500
    entries = mock.journal.entries()
    assert all(e["status"] is None or e["status"] < 500 for e in entries)


def test_a_truncated_answer_does_not_leak_part_of_the_new_key(mock: MockProGet, http: requests.Session) -> None:
    """The journal shows what was sent; a created key cut short in it is masked too."""
    key = _key(mock, http, "response")
    mock.faults.add(path="/api/api-keys/create", action="truncate", keep=0.55)
    with pytest.raises(requests.RequestException):
        http.post(mock.url + "api/api-keys/create", headers={"X-ApiKey": key},
                  json={"type": "system", "systemApis": ["full-control"], "logging": "none"}, timeout=10)
    entry = mock.journal.entries(path="/api/api-keys/create")[-1]
    created = [k for k in mock.backend.api_keys if k.id == max(k.id for k in mock.backend.api_keys)][0]
    assert created.key and entry["response_body"]
    assert created.key[:6] not in entry["response_body"]


def test_a_custom_key_in_a_json_body_of_another_type_is_masked(mock: MockProGet, http: requests.Session) -> None:
    """Create reads JSON under any content type but a form, so the journal masks it so too."""
    key = _key(mock, http, "both")
    http.post(mock.url + "api/api-keys/create", headers={"X-ApiKey": key, "Content-Type": "text/plain"},
              data=b'{"type":"system","systemApis":["sca"],"logging":"none","key":"CUSTOM-SECRET-1"}')
    assert "CUSTOM-SECRET-1" not in str(mock.journal.entries())


def test_a_password_with_separators_is_masked_in_query_and_access_log(
        mock: MockProGet, http: requests.Session, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    caplog.set_level(logging.INFO, logger="mockproget.access")
    mock.backend.add_user("ci", "pa ss/word", admin=True)
    response = http.get(mock.url + "api/api-keys/list?%6Bey=ci%3Apa%20ss%2Fword&other=ci%3Apa%20ss%2Fword")
    assert response.status_code == 200
    assert "api-keys/list" in caplog.text
    for text in (caplog.text, str(mock.journal.entries())):
        assert "pa ss/word" not in text and "pa%20ss%2Fword" not in text and "pa+ss%2Fword" not in text


# -- issue 8: bounded in bytes, paged, filtered, headers looked up in any case ------------


def _rss() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS in /proc/self/status")


#: The RSS growth docs/faults.md promises for 3,000 requests of 64 KiB headers each,
#: with a 2 MiB journal (the bound plus what the interpreter keeps for reuse).
RSS_GROWTH_BOUND = 64 * 1024 * 1024


def test_big_unauthenticated_requests_stay_within_the_byte_bound() -> None:
    """Issue 8 acceptance: with ``max_bytes`` set, 3,000 requests with 64 KiB of headers
    each (and a long query) leave the journal within its byte bound, by its own
    accounting and by tracemalloc, and the process RSS grows less than the documented
    64 MiB. The entries are still there, cut to their caps."""
    import tracemalloc

    from mockproget.journal import HEADERS_CAP, entry_bytes

    max_bytes = 2 * 1024 * 1024
    with MockProGet(Config(port=0, journal_bytes=max_bytes)) as server:
        client = server.app.test_client()
        headers = {f"X-Filler-{i}": f"{i:04d}" + "v" * 1020 for i in range(64)}  # 64 KiB
        client.get("/health", headers=headers)  # warm up
        rss_before = _rss()
        for i in range(3000):
            assert client.get(f"/health?q={i}" + "a" * 4000, headers=headers).status_code == 200
        rss_growth = _rss() - rss_before
        tracemalloc.start()  # the journal full: more requests must not grow memory
        try:
            traced_before = tracemalloc.get_traced_memory()[0]
            for i in range(300):
                assert client.get(f"/health?q=more{i}" + "a" * 4000, headers=headers).status_code == 200
            traced_growth = tracemalloc.get_traced_memory()[0] - traced_before
        finally:
            tracemalloc.stop()
        with requests.Session() as http:  # over the real socket too
            for _ in range(20):
                assert http.get(server.url + "health", headers=headers, timeout=10).status_code == 200
        entries = server.journal.entries()
        assert server.journal.total == 3321
        assert 0 < len(entries) < 3000 and server.journal.bytes <= max_bytes
        assert sum(entry_bytes(e) for e in entries) <= max_bytes
        # tracemalloc sees the new entries (not the frees of older ones, made before it
        # started) and urllib.parse's caches of these long URLs: at most the bound plus a
        # few MiB, where 300 such requests are 20 MB of text
        assert traced_growth <= max_bytes + 3 * 1024 * 1024, traced_growth
        assert rss_growth < RSS_GROWTH_BOUND, rss_growth
        last = entries[-1]
        assert sum(len(k) + len(v) for k, v in last["headers"].items()) <= HEADERS_CAP
        assert last["headers_dropped"] > 0 and len(last["query"]) < 4200


def test_the_byte_bound_counts_each_entry() -> None:
    """Issue 8 §2: ``Journal(max_bytes=...)`` drops the oldest once the bytes its entries
    hold pass the bound; the bound must leave room for one entry at its caps."""
    journal = Journal(1000, max_bytes=1024 * 1024)
    for i in range(200):
        journal.record({"path": f"/{i}", "status": 200, "time": float(i), "headers": {},
                        "request_body": "x" * 20_000})
    entries = journal.entries()
    assert 40 <= len(entries) <= 52 and entries[-1]["path"] == "/199"
    assert journal.bytes <= 1024 * 1024 and journal.total == 200
    journal.resize(max_bytes=2 * 1024 * 1024)
    assert len(journal) == len(entries)
    with pytest.raises(ValueError):
        Journal(10, max_bytes=1000)


def test_journal_reads_are_paged(mock: MockProGet, http: requests.Session) -> None:
    """Issue 8 §2: ``GET /__mockproget__/journal`` answers a page (100 by default);
    ``after=SEQ`` and ``next`` walk every entry once, in order; ``limit`` sizes a page."""
    client = mock.app.test_client()
    for _ in range(250):
        client.get("/health")
    page = http.get(mock.url + "__mockproget__/journal", timeout=10).json()
    assert len(page["entries"]) == 100 and page["next"] == page["entries"][-1]["seq"]
    seen, after = [], None
    while True:
        params = {"limit": 70} if after is None else {"limit": 70, "after": after}
        page = http.get(mock.url + "__mockproget__/journal", params=params, timeout=10).json()
        seen += [e["seq"] for e in page["entries"]]
        after = page["next"]
        if after is None:
            break
    assert seen == list(range(1, 251))
    assert len(mock.journal.entries()) == 250  # the Python API still gives them all
    for bad in ("0", "x", "100001"):
        answer = http.get(mock.url + "__mockproget__/journal", params={"limit": bad}, timeout=10)
        assert answer.status_code == 400 and "limit" in answer.text


def test_journal_filters_by_method_and_carrier(mock: MockProGet, http: requests.Session) -> None:
    """Issue 8 §2: ``method`` and ``carrier`` filters (spec §3 carriers, ``none``), in the
    Python API and the control API."""
    http.get(mock.url + LIST, headers={"X-ApiKey": mock.admin_key}, timeout=10)
    http.get(mock.url + LIST, params={"key": mock.admin_key}, timeout=10)
    http.post(mock.url + "api/api-keys/delete", data={"key": mock.admin_key, "id": "999"}, timeout=10)
    http.get(mock.url + "health", timeout=10)
    assert [e["carrier"] for e in mock.journal.entries(method="get")] == ["header", "query", None]
    assert [e["method"] for e in mock.journal.entries(carrier="form")] == ["POST"]
    assert [e["path"] for e in mock.journal.entries(carrier="none")] == ["/health"]
    answer = http.get(mock.url + "__mockproget__/journal", params={"method": "POST"}, timeout=10).json()
    assert [e["carrier"] for e in answer["entries"]] == ["form"]
    answer = http.get(mock.url + "__mockproget__/journal", params={"carrier": "query"}, timeout=10).json()
    assert [e["method"] for e in answer["entries"]] == ["GET"]
    bad = http.get(mock.url + "__mockproget__/journal", params={"carrier": "pigeon"}, timeout=10)
    assert bad.status_code == 400 and "carrier" in bad.text


def test_journal_headers_are_case_insensitive(mock: MockProGet, http: requests.Session) -> None:
    """Issue 10 / RFC 9110 §5.1: header names are looked up in any case; the entry stays
    JSON (names as sent)."""
    http.get(mock.url + LIST, headers={"X-ApiKey": mock.admin_key, "X-Trace-Id": "t-1"}, timeout=10)
    [entry] = mock.journal.entries()
    headers = entry["headers"]
    assert "X-ApiKey" in headers and "x-apikey" in headers and "X-APIKEY" in headers
    assert headers["x-trace-id"] == headers["X-Trace-Id"] == "t-1"
    assert headers.get("X-TRACE-ID") == "t-1" and headers.get("X-Nope") is None
    assert headers["X-Apikey"] == "********"
    assert json.loads(json.dumps(entry))["headers"]["X-Trace-Id"] == "t-1"
    answer = http.get(mock.url + "__mockproget__/journal", timeout=10).json()
    assert answer["entries"][0]["headers"]["X-Trace-Id"] == "t-1"


@pytest.mark.parametrize(("data", "setting"), [
    ({"journal": {"max_bytes": 5}}, "journal.max_bytes"),
    ({"journal": {"max_bytes": "big"}}, "journal.max_bytes"),
    ({"control": {"max_body": 0}}, "control.max_body"),
    ({"control": {"allowed_hosts": "x"}}, "control.allowed_hosts"),
    ({"control": {"allowed_hosts": [""]}}, "control.allowed_hosts[0]"),
    ({"control": {"check_host": "no"}}, "control.check_host"),
])
def test_bad_journal_and_control_settings_are_named(data: dict[str, object], setting: str) -> None:
    """Issue 8 §2-§3: ``[journal] max_bytes`` and the ``[control]`` settings are checked,
    the error names the setting."""
    from mockproget import ConfigError
    from mockproget.config import parse_config

    with pytest.raises(ConfigError) as caught:
        parse_config(data, "mock.toml")
    assert caught.value.setting == setting and str(caught.value).startswith("mock.toml: ")


def test_journal_settings_are_read_from_file_and_flags() -> None:
    """Issue 8 §2: ``[journal] max_bytes`` and ``--journal-bytes`` set the byte bound
    (from 1 MiB); a bad flag exits 2."""
    from mockproget.cli import build_parser, main
    from mockproget.config import parse_config

    config = parse_config({"journal": {"size": 50, "max_bytes": 3_000_000},
                           "control": {"allowed_hosts": ["A.example"], "check_host": True}})
    assert (config.journal_size, config.journal_bytes, config.control_hosts) == (50, 3_000_000, ("a.example",))
    with MockProGet(config.with_overrides(port=0)) as server:
        assert (server.journal.size, server.journal.max_bytes) == (50, 3_000_000)
    args = build_parser().parse_args(["serve", "--journal-bytes", "2000000", "--control-any-host"])
    assert args.journal_bytes == 2_000_000 and args.control_any_host
    with pytest.raises(SystemExit) as caught:
        main(["serve", "--journal-bytes", "1000"])
    assert caught.value.code == 2


def test_an_entry_read_after_its_key_is_forgotten_still_masks_it(mock: MockProGet, http: requests.Session) -> None:
    """Issue 8 §1 with entries built when read (issue 7 §4): a key used in a request,
    then deleted with enough others that the masker forgets it, is still masked in that
    request's entry, in the query, a header and a base64 credential (spec §2, §3)."""
    import base64

    from mockproget.masking import MASK

    admin = {"X-ApiKey": mock.admin_key}
    created = [http.post(mock.url + CREATE, headers=admin, timeout=10,
                         json={"type": "system", "systemApis": ["sca"], "logging": "none"}).json()
               for _ in range(70)]
    key = created[0]["key"]
    basic = base64.b64encode(f"api:{key}".encode()).decode()
    http.get(mock.url + "health", params={"note": key}, timeout=10,
             headers={"X-Note": key, "X-Forwarded-Auth": f"Basic {basic}"})
    for made in created:
        assert http.post(mock.url + f"api/api-keys/delete?id={made['id']}", headers=admin, timeout=10).ok
    assert mock.backend.mask(key) == key  # forgotten: a new entry would show it
    shown = json.dumps(mock.journal.entries())
    assert key not in shown and key[:20] not in shown and basic[:20] not in shown
    probe = mock.journal.entries(path="/health")[-1]
    assert probe["headers"]["X-Note"] == MASK and MASK in probe["query"]


def test_an_entry_read_after_a_state_change_still_masks_the_old_secrets(mock: MockProGet,
                                                                        http: requests.Session) -> None:
    """The same after the whole state is put back (``restore``: every key made since is
    forgotten at once): entries made before are masked with what was live then."""
    snapshot = mock.backend.snapshot()
    key = http.post(mock.url + CREATE, headers={"X-ApiKey": mock.admin_key}, timeout=10,
                    json={"type": "system", "systemApis": ["sca"], "logging": "none"}).json()["key"]
    http.get(mock.url + "health", params={"note": key}, timeout=10, headers={"X-Note": key})
    mock.backend.restore(snapshot)
    assert mock.backend.mask(key) == key  # no longer a secret: new entries would show it
    assert key not in json.dumps(mock.journal.entries())


def test_entries_not_read_yet_count_against_the_byte_bound() -> None:
    """Issue 8 §2: requests whose entries are not built yet hold what they left, and that
    counts against ``max_bytes`` from the moment they are recorded; a request that would
    leave more than 32 KiB is built at once, so it holds no more than its entry's caps."""
    max_bytes = 1024 * 1024
    with MockProGet(Config(port=0, journal_bytes=max_bytes)) as server:
        client = server.app.test_client()
        headers = {f"X-Filler-{i}": "v" * 1000 for i in range(20)}  # 20 KB left per request
        for i in range(200):
            assert client.get(f"/health?q={i}", headers=headers).status_code == 200
            assert server.journal.bytes <= max_bytes
        assert 0 < len(server.journal) < 200
        entries = server.journal.entries()
        assert entries[-1]["query"] == "q=199" and server.journal.bytes <= max_bytes

        server.journal.clear()
        big = {f"X-Filler-{i}": "v" * 1000 for i in range(60)}  # 60 KB: over the headers' cap
        for i in range(100):
            assert client.get(f"/health?q={i}", headers=big).status_code == 200
            assert server.journal.bytes <= max_bytes
        assert len(server.journal) > max_bytes // 60_000 + 10  # kept at their caps, not whole


def test_entries_read_while_requests_run_lose_nothing_and_leak_nothing() -> None:
    """Issue 7 §4 with concurrency (the server is threaded): readers that build pending
    entries, deletes that make the masker forget keys and requests that record entries,
    all at once; every request has one entry, in arrival order, and no key is shown."""
    import threading

    with MockProGet(Config(port=0, journal_size=5000)) as server, requests.Session() as admin:
        made = [admin.post(server.url + CREATE, headers={"X-ApiKey": server.admin_key}, timeout=10,
                           json={"type": "system", "systemApis": ["sca"], "logging": "both"}).json()
                for _ in range(16)]
        server.journal.clear()
        problems: list[str] = []
        done = threading.Event()

        def use(key: str) -> None:
            with requests.Session() as http:
                for i in range(25):
                    answer = http.get(server.url + "health", params={"note": key, "i": i}, timeout=10,
                                      headers={"X-Note": key})
                    if answer.status_code != 200:
                        problems.append(f"health: {answer.status_code}")

        def read() -> None:
            while not done.is_set():
                shown = json.dumps(server.journal.entries())
                problems.extend(f"shown: {k['id']}" for k in made if k["key"] in shown)

        users = [threading.Thread(target=use, args=(k["key"],)) for k in made]
        reader = threading.Thread(target=read)
        reader.start()
        for t in users:
            t.start()
        for k in made[:8]:  # forgotten while the others are used
            admin.post(server.url + f"api/api-keys/delete?id={k['id']}",
                       headers={"X-ApiKey": server.admin_key}, timeout=10)
        for t in users:
            t.join()
        done.set()
        reader.join()
        entries = server.journal.entries()
        assert not problems, problems[:5]
        assert len(entries) == server.journal.total == 16 * 25 + 8
        assert [e["seq"] for e in entries] == sorted({e["seq"] for e in entries})
        shown = json.dumps(entries)
        assert not [k["id"] for k in made if k["key"] in shown]
