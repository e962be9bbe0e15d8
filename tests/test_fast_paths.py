"""The create path's shortcuts answer as the long way did: the ``X-ProGet-*`` headers of
every kind of answer (a WSGI layer, not a Flask hook), the JSON bytes (one encoder made
once), the plain reading of a create body (beside marshmallow's), the header spellings
(cached per name) and the journal's reading of an answer's type (spec §2, §6)."""

from __future__ import annotations

import gc
import json
import socket
from dataclasses import fields
from datetime import datetime, timezone
from typing import Any

import pytest
import requests
from marshmallow import ValidationError
from netkit import read_all

from mockproget import ApiKey, MockProGet
from mockproget.app import create_app
from mockproget.config import Config
from mockproget.errors import InvalidInput
from mockproget.schemas import _IN, _flatten, load_new_api_key

C = "/__mockproget__/"
ADMIN = "Admin:Admin"
SYSTEM = {"type": "system", "systemApis": ["sca"], "logging": "none"}


def _raw(mock: MockProGet, head: str, body: bytes = b"") -> bytes:
    """One request on its own connection, the whole answer as sent."""
    with socket.create_connection(("127.0.0.1", mock.port), timeout=10) as sock:
        sock.sendall(head.replace("\n", "\r\n").encode("latin-1") + b"\r\n" + body)
        return read_all(sock)


def _head_of(answer: bytes) -> list[tuple[bytes, bytes]]:
    """The header lines of a raw answer, as (name, value), in order."""
    lines = answer.partition(b"\r\n\r\n")[0].split(b"\r\n")[1:]
    return [(name, value.strip()) for name, _, value in (line.partition(b":") for line in lines)]


def _request(method: str, path: str, *, key: str | None = ADMIN, body: bytes = b"",
             content_type: str | None = None, length: int | None = None) -> tuple[str, bytes]:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    if key is not None:
        lines.append(f"X-ApiKey: {key}")
    if content_type is not None:
        lines.append(f"Content-Type: {content_type}")
    if body or length is not None:
        lines.append(f"Content-Length: {length if length is not None else len(body)}")
    return "\n".join(lines) + "\n", body


_CREATE = json.dumps(SYSTEM).encode()
#: Every kind of answer the app gives: (request, fault rule or None, status).
_ANSWERS: dict[str, tuple[tuple[str, bytes], dict[str, Any] | None, int]] = {
    "health": (_request("GET", "/health", key=None), None, 200),
    "list": (_request("GET", "/api/api-keys/list"), None, 200),
    "create": (_request("POST", "/api/api-keys/create", body=_CREATE, content_type="application/json"), None, 200),
    "HEAD list": (_request("HEAD", "/api/api-keys/list"), None, 200),
    "OPTIONS list": (_request("OPTIONS", "/api/api-keys/list"), None, 405),
    "400 not JSON": (_request("POST", "/api/api-keys/create", body=b"{", content_type="application/json"),
                     None, 400),
    "400 broken chunks": (("POST /api/api-keys/create HTTP/1.1\nHost: 127.0.0.1\nConnection: close\n"
                           f"X-ApiKey: {ADMIN}\nTransfer-Encoding: chunked\n", b"zz\r\n"), None, 400),
    "403": (_request("GET", "/api/api-keys/list", key="no such key"), None, 403),
    "404 werkzeug": (_request("GET", "/no/such/path"), None, 404),
    "HEAD 404": (_request("HEAD", "/no/such/path"), None, 404),
    "405 werkzeug": (_request("DELETE", "/api/api-keys/list"), None, 405),
    "413 werkzeug": (_request("POST", "/api/api-keys/create", body=b"{}", content_type="application/json",
                              length=2 * 1024 * 1024), None, 413),
    "control API": (_request("GET", C + "settings", key=None), None, 200),
    "control API 400": (_request("PATCH", C + "settings", key=None, body=b'{"instance": {"version": "x"}}',
                                 content_type="application/json"), None, 400),
    "feed endpoint": (_request("GET", "/npm/MyNpmFeed/no-such-package", key=None), None, 404),
    "fault 500 preset": (_request("GET", "/api/api-keys/list"), {"status": 500}, 500),
    "fault 500 preset, HEAD": (_request("HEAD", "/api/api-keys/list"), {"status": 500}, 500),
    "fault delay at the response": (_request("GET", "/api/api-keys/list"),
                                    {"action": "delay", "duration_ms": 1, "when": "response"}, 200),
    "fault truncate": (_request("GET", "/api/api-keys/list"), {"action": "truncate", "keep": 0.5}, 200),
    "fault dribble": (_request("GET", "/api/api-keys/list"),
                      {"action": "dribble", "chunks": 2, "duration_ms": 20}, 200),
    "fault stale": (_request("GET", "/api/api-keys/list"), {"action": "stale", "requests": 1}, 200),
}


@pytest.mark.parametrize("kind", sorted(_ANSWERS))
def test_proget_headers_once_and_current_on_every_kind_of_answer(mock: MockProGet, kind: str) -> None:
    """§6: ``X-ProGet-Version``/``-Edition`` once each on every answer of the app (errors,
    HEAD, werkzeug's own 404/405/413, the control API, a feed, each injected fault that
    lets the app answer, the 500 preset), with the settings of that moment: before and
    after a change through the control API (whose own answer has the new ones)."""
    (head, body), rule, status = _ANSWERS[kind]
    if rule is not None:
        mock.faults.add(path="/api/*", **rule)
    patch = json.dumps({"instance": {"version": "2024.12", "edition": "Basic"}}).encode()
    for version, edition in ((b"25.0.10", b"Enterprise"), (b"24.0.12", b"Basic")):
        if edition == b"Basic":
            changed = _raw(mock, *_request("PATCH", C + "settings", key=None, body=patch,
                                           content_type="application/json"))
            assert changed.startswith(b"HTTP/1.1 200 ")
            assert dict(_head_of(changed))[b"X-ProGet-Version"] == version
        answer = _raw(mock, head, body)
        assert answer.startswith(f"HTTP/1.1 {status} ".encode()), (kind, answer[:200])
        headers = _head_of(answer)
        assert [value for name, value in headers if name.lower() == b"x-proget-version"] == [version], kind
        assert [value for name, value in headers if name.lower() == b"x-proget-edition"] == [edition], kind
        assert b"\r\nX-ProGet-Version: " in answer  # ProGet's spelling, on the wire


def test_the_version_check_follows_each_settings_change(mock: MockProGet, http: requests.Session) -> None:
    """§1: before 2024.3 the api-keys paths are 404; the check is cached with the
    settings, so each change via the control API is seen at once, back and forth."""
    for version, status in (("2024.2", 404), ("2024.3", 200), ("2023.30", 404), ("2025.10", 200)):
        changed = http.patch(mock.url + C[1:] + "settings", json={"instance": {"version": version}}, timeout=10)
        assert changed.status_code == 200
        listed = http.get(mock.url + "api/api-keys/list", headers={"X-ApiKey": ADMIN}, timeout=10)
        assert listed.status_code == status, version


# -- JSON answers ---------------------------------------------------------------------------


def test_json_answers_are_compact_ascii_in_declaration_order(mock: MockProGet, http: requests.Session) -> None:
    """§2, §6: the create answer is compact JSON (Flask's default form), non-ASCII as
    ``\\u`` escapes (as .NET writes), properties in ``ApiKeyInfo``'s order, one newline."""
    response = http.post(mock.url + "api/api-keys/create", headers={"X-ApiKey": ADMIN}, timeout=10,
                         json={**SYSTEM, "displayName": "caf\u00e9 \u2603 \U0001F600", "description": "</x> \"q\"",
                               "expiration": "2030-01-01T00:00:00+05:00"})
    assert response.status_code == 200
    info = response.json()
    assert list(info) == ["id", "type", "key", "displayName", "description", "systemApis", "expiration", "logging"]
    assert response.content == json.dumps(info, separators=(",", ":")).encode() + b"\n"
    assert b'"caf\\u00e9 \\u2603 \\ud83d\\ude00"' in response.content


def test_json_answers_in_debug_mode_are_flasks_indented_form() -> None:
    """§6: with Flask's debug mode on (``FLASK_DEBUG``), JSON answers are indented as
    Flask indents them, order kept; the compact encoder is only for the default mode."""
    app = create_app(Config(admin_key="debug-admin-key"))
    app.debug = True
    client = app.test_client()
    response = client.get("/api/api-keys/list", headers={"X-ApiKey": "debug-admin-key"})
    assert response.status_code == 200
    assert response.data == json.dumps(response.json, indent=2).encode() + b"\n"
    app.debug = False
    assert client.get("/api/api-keys/list", headers={"X-ApiKey": "debug-admin-key"}).data == \
        json.dumps(response.json, separators=(",", ":")).encode() + b"\n"


# -- the plain reading of a create body -----------------------------------------------------


class _Shown(str):
    """A str subclass that shows itself otherwise (as marshmallow reads it, ``str()``)."""

    def __str__(self) -> str:
        return "shown"


_EDGE_BODIES: dict[str, dict[str, Any]] = {
    "a bool in a list": {"type": "system", "systemApis": ["sca", True], "logging": "none"},
    "a null in a list": {"type": "system", "systemApis": ["sca", None], "logging": "none"},
    "a number in a list": {"type": "feed", "packagePermissions": [1], "feed": "MyNpmFeed", "logging": "none"},
    "an empty list": {"type": "system", "systemApis": [], "logging": "none"},
    "an empty list where none belongs": {"type": "personal", "user": "Admin", "systemApis": [], "logging": "none"},
    "the same value twice": {"type": "system", "systemApis": ["sca", "SCA", "feeds"], "logging": "none"},
    "full control twice": {"type": "system", "systemApis": ["full-control", "Full-Control"], "logging": "none"},
    "full control and another": {"type": "system", "systemApis": ["full-control", "sca"], "logging": "none"},
    "a null type": {"type": None, "systemApis": ["sca"], "logging": "none"},
    "a null logging": {**SYSTEM, "logging": None},
    "no logging": {"type": "system", "systemApis": ["sca"]},
    "a long s (U+017F) in a value": {"type": "\u017fystem", "systemApis": ["sca"], "logging": "none"},
    "a Kelvin sign (U+212A) in a name": {**SYSTEM, "\u212aey": "kelvin-key"},
    "a Kelvin sign in a value": {"type": "system", "systemApis": ["\u212aca"], "logging": "none"},
    "a dotted capital I in a value": {"type": "system", "systemApis": ["sca"], "logging": "\u0130none"},
    "a very long display name": {**SYSTEM, "displayName": "x" * 200_000},
    "a lone surrogate in a long text": {**SYSTEM, "description": "x" * 100_000 + "\ud800"},
    "an empty key": {**SYSTEM, "key": ""},
    "a null key": {**SYSTEM, "key": None},
    "a key that is a number": {**SYSTEM, "key": 12345},
    "a key with a lone surrogate": {**SYSTEM, "key": "k\udfff"},
    "a str subclass as a text": {**SYSTEM, "displayName": _Shown("name")},
    "a str subclass as an enum": {"type": _Shown("system"), "systemApis": ["sca"], "logging": "none"},
    "a str subclass in a list": {"type": "system", "systemApis": [_Shown("sca")], "logging": "none"},
    "a tuple for a list": {"type": "system", "systemApis": ("sca",), "logging": "none"},
    "a text for a list": {"type": "system", "systemApis": "sca", "logging": "none"},
    "a mapping for a text": {**SYSTEM, "description": {"a": 1}},
    "a bool for a text": {**SYSTEM, "displayName": False},
}


def _whole_schema(body: dict[str, Any]) -> object:
    """The whole schema's answer: its loaded fields (lists as the key keeps them), or its problems."""
    try:
        loaded = _IN.load(body)
    except ValidationError as error:
        return sorted(_flatten(error.messages))
    return {name: (tuple(dict.fromkeys(value)) if isinstance(value, list) else value)
            for name, value in loaded.items()}


@pytest.mark.parametrize("case", sorted(_EDGE_BODIES))
def test_an_odd_body_is_read_as_the_whole_schema_reads_it(case: str) -> None:
    """§2: whatever the fast reading of a create body takes, the key is what marshmallow's
    whole schema reads (the same values, in the same Python type), and what it leaves,
    the problems are the schema's."""
    body = _EDGE_BODIES[case]
    expected = _whole_schema(body)
    try:
        new = load_new_api_key(body)
    except InvalidInput as error:
        assert expected == sorted(error.problems), case
        return
    assert isinstance(expected, dict), (case, expected)
    got = {"type": new.type, "logging": new.logging, "key": new.key, "displayName": new.display_name,
           "description": new.description, "systemApis": new.system_apis, "packagePermissions":
           new.package_permissions, "feed": new.feed, "feedGroup": new.feed_group, "user": new.user}
    for name, value in got.items():
        want = expected.get(name)
        if name in ("displayName", "description"):
            want = want or None
        assert value == want and type(value) is type(want), (case, name, value, want)


# -- header spellings and the journal's reading of an answer ---------------------------------


@pytest.mark.parametrize("names", [("x-odd-NAME", "WWW-authenticate"), ("ETag", "X-ProGet-Version"),
                                   ("content-type", "x-mockproget-Note")])
def test_header_names_keep_the_spelling_they_were_given(mock: MockProGet, names: tuple[str, str]) -> None:
    """§6 (docs/fidelity.md, the server): header names leave as the answer spells them,
    whatever their case, the first time and every time after (the spellings are cached)."""
    mock.faults.add(path="/health", status=418, headers={names[0]: "one", names[1]: "two"})
    for _ in range(3):
        answer = _raw(mock, *_request("GET", "/health", key=None))
        assert answer.startswith(b"HTTP/1.1 418 ")
        spelled = [name for name, _ in _head_of(answer)]
        assert names[0].encode() in spelled and names[1].encode() in spelled, spelled
    mock.faults.clear()
    spelled = [name for name, _ in _head_of(_raw(mock, *_request("GET", "/health", key=None)))]
    assert b"Content-Type" in spelled and b"X-ProGet-Version" in spelled, spelled  # no spelling leaks over


@pytest.mark.parametrize("type_name", ["Content-Type", "content-type", "CONTENT-TYPE"])
def test_a_form_answer_is_masked_as_a_form_whatever_the_spelling(mock: MockProGet, http: requests.Session,
                                                                 type_name: str) -> None:
    """Secrets (spec §3 ``key``): an answer typed as a form, in any spelling of the header
    name, has its ``key=`` value masked in the journal of a key that logs answers."""
    made = http.post(mock.url + "api/api-keys/create", headers={"X-ApiKey": ADMIN}, timeout=10,
                     json={**SYSTEM, "systemApis": ["full-control"], "logging": "response"})
    assert made.status_code == 200
    mock.faults.add(path="/api/api-keys/list", status=200, when="response", body="key=not-a-known-secret&x=1",
                    headers={type_name: "application/x-www-form-urlencoded"})
    mock.journal.clear()
    answer = http.get(mock.url + "api/api-keys/list", headers={"X-ApiKey": made.json()["key"]}, timeout=10)
    assert answer.text == "key=not-a-known-secret&x=1"
    [entry] = mock.journal.entries()
    assert entry["logging"] == "response" and "not-a-known-secret" not in json.dumps(entry)
    assert entry["response_body"].startswith("key=") and entry["response_body"].endswith("&x=1")



# -- the create path's other shortcuts --------------------------------------------------------


@pytest.mark.parametrize("path, method", [("api/api-keys/create", "POST"), ("api/api-keys/list", "GET"),
                                          ("api/api-keys/delete?id=1", "POST")])
@pytest.mark.parametrize("key", [None, "not-a-key", ADMIN])
def test_before_2024_3_nothing_of_the_request_is_judged(mock: MockProGet, http: requests.Session, path: str,
                                                        method: str, key: str | None) -> None:
    """§1: the version is checked first in every api-keys view (no Flask hook), so before
    2024.3 no key, a bad key and a body that is no ``ApiKeyInfo`` all get the same 404."""
    mock.backend.update_settings(version="2024.2")
    headers = {"X-ApiKey": key} if key else {}
    for body in (b"", b"{", json.dumps(SYSTEM).encode()):
        answer = http.request(method, mock.url + path, data=body, timeout=10,
                              headers={**headers, "Content-Type": "application/json"})
        assert answer.status_code == 404 and "2024.3" in answer.text, (key, body, answer.text)
    assert len(mock.backend.api_keys) == 1


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "Application/X-WWW-Form-Urlencoded",
                                          "application/x-www-form-urlencoded; charset=utf-8",
                                          "multipart/form-data; boundary=x", "multipart/FORM-data"])
def test_a_form_type_is_refused_by_create_however_spelled(mock: MockProGet, http: requests.Session,
                                                          content_type: str) -> None:
    """§2: create reads JSON only; a form type in any spelling is refused with a 400 that
    says so, even around a JSON body (the plain ``application/json`` is read at once)."""
    answer = http.post(mock.url + "api/api-keys/create", data=json.dumps(SYSTEM), timeout=10,
                       headers={"X-ApiKey": ADMIN, "Content-Type": content_type})
    assert answer.status_code == 400, answer.text
    assert "send Content-Type: application/json" in answer.text
    assert len(mock.backend.api_keys) == 1
    for fine in ("application/json", "application/JSON; charset=utf-8", "Application/Json"):
        made = http.post(mock.url + "api/api-keys/create", data=json.dumps(SYSTEM), timeout=10,
                         headers={"X-ApiKey": ADMIN, "Content-Type": fine})
        assert made.status_code == 200, (fine, made.text)


def test_a_copied_key_is_equal_in_every_field_and_separate() -> None:
    """What the backend hands out is a copy of what it stores, whole: every field
    (spelled out in ``copied``, the class has slots) and no shared object to change."""
    values: dict[str, Any] = {"id": 7, "type": "feed", "digest": b"d" * 32, "logging": "both", "key": "k" * 40,
                              "display_name": "n", "description": "d", "system_apis": ("sca",),
                              "package_permissions": ("view", "add"), "feed": "f", "feed_group": "g",
                              "expiration": datetime(2030, 1, 2, tzinfo=timezone.utc), "user": "u"}
    assert set(values) == {f.name for f in fields(ApiKey)}  # a new field must be added here and in copied
    key = ApiKey(**values)
    copy = key.copied()
    assert copy is not key and copy == key
    assert {name: getattr(copy, name) for name in values} == values
    copy.display_name = "changed"
    assert key.display_name == "n"


def test_a_pending_journal_entry_holds_plain_values_only(mock: MockProGet, http: requests.Session) -> None:
    """The journal keeps what a request left as plain values (texts, numbers, tuples)
    until it is read, so the garbage collector soon stops visiting the entries (issue 7
    §4); what is read back is the whole entry, principal and carrier included."""
    mock.journal.clear()
    mock.faults.add(path="/api/api-keys/list", duration_ms=1)
    for _ in range(3):
        assert http.get(mock.url + "api/api-keys/list", headers={"X-ApiKey": ADMIN}, timeout=10).ok
    assert http.get(mock.url + "api/api-keys/list?key=" + ADMIN, timeout=10).ok
    pending = list(mock.journal._pending)
    assert len(pending) == 4
    gc.collect()
    for held in pending:
        assert not any(gc.is_tracked(value) for value in held.args), held.args
    entries = mock.journal.entries()
    assert [e["carrier"] for e in entries] == ["header", "header", "header", "query"]
    assert {e["principal"] for e in entries} == {"user Admin (pseudo-key)"}
    assert all(e["faults"] for e in entries)
    mock.faults.clear()


def test_views_are_checked_for_coroutines_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The app's ``ensure_sync`` remembers each plain view function (Flask's check per
    request, made once); anything else goes to Flask's own check, every time."""
    import flask.app

    checked: list[object] = []
    real = flask.app.iscoroutinefunction

    def counting(func: Any) -> bool:
        checked.append(func)
        return real(func)

    monkeypatch.setattr(flask.app, "iscoroutinefunction", counting)
    app = create_app(Config(port=0))

    def view() -> str:
        return "x"

    assert all(app.ensure_sync(view) is view for _ in range(3))
    assert checked == [view]
    bound = Config(port=0).__repr__
    assert app.ensure_sync(bound) == bound and app.ensure_sync(bound) == bound
    assert checked == [view, bound, bound]


def test_a_pending_entry_rebuilds_the_credential_and_principal_whole() -> None:
    """What a pending journal entry keeps of the credential and the principal (their
    fields as a tuple) rebuilds them equal, every field, whatever fields they have."""
    from mockproget.journal import _credential_fields, _principal_fields
    from mockproget.models import Credential, Principal

    principal = Principal(kind="api-key", carrier="query", key_id=7, key_type="personal", user="u", admin=True,
                          logging="both")
    assert len(set(map(str, _principal_fields(principal)))) == len(fields(Principal))  # every field, distinct
    assert Principal(*_principal_fields(principal)) == principal
    credential = Credential("json", "a-secret")
    assert Credential(*_credential_fields(credential)) == credential
