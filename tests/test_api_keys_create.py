"""``POST /api/api-keys/create``: the ApiKeyInfo rules of spec §2 and the answers of §6."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import requests
from conftest import ADMIN_PSEUDO_KEY, Api

from mockproget import MockProGet

SYSTEM = {"type": "system", "systemApis": ["full-control"], "logging": "none"}
FEED = {"type": "feed", "packagePermissions": ["view"], "feed": "MyNpmFeed", "logging": "none"}
GROUP = {"type": "feed", "packagePermissions": ["view", "add"], "feedGroup": "MyFeedGroup", "logging": "none"}
PERSONAL = {"type": "personal", "user": "johnsmith", "logging": "none"}

#: The order of ApiKeyInfo's properties, as the vendor's class declares them (spec §2).
DECLARATION_ORDER = ["id", "type", "key", "displayName", "description", "systemApis",
                     "packagePermissions", "feed", "feedGroup", "expiration", "logging", "user"]


def _stored(mock: MockProGet) -> int:
    return len(mock.backend.api_keys)


# -- §2: valid bodies of every type -------------------------------------------------------


@pytest.mark.parametrize("body", [SYSTEM, FEED, GROUP, PERSONAL], ids=["system", "feed", "feed-group", "personal"])
def test_each_type_is_created_and_answered_as_api_key_info(api: Api, body: dict[str, Any]) -> None:
    """§2, §6: 200 with application/json ApiKeyInfo: id, type, key and logging present."""
    response = api.create(body)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    info = response.json()
    assert isinstance(info["id"], int)
    assert info["type"] == body["type"]
    assert info["logging"] == "none"
    assert re.fullmatch(r"[0-9a-f]{40}", info["key"])  # generated like the vendor's examples
    for name, value in body.items():
        assert info[name] == value
    assert info["id"] in api.ids()


def test_created_key_authenticates(api: Api) -> None:
    """§2/§3: the text a create answers is a working key."""
    key = api.new_key(SYSTEM)["key"]
    assert api.list(key=key).status_code == 200


def test_response_writes_camel_case_names_in_declaration_order_without_nulls(api: Api) -> None:
    """§2: camelCase names, lower-camelCase enums, nulls left out; §7: declaration order."""
    info = api.new_key({"Type": "Feed", "PackagePermissions": ["View", "Add"], "Feed": "MyNpmFeed",
                        "Logging": "Both", "DisplayName": "ci", "Description": None,
                        "Expiration": "2999-01-01T00:00:00"})
    assert list(info) == [n for n in DECLARATION_ORDER if n in info]
    assert "description" not in info and "user" not in info and "systemApis" not in info
    assert info["type"] == "feed" and info["logging"] == "both"
    assert info["packagePermissions"] == ["view", "add"]
    assert info["expiration"] == "2999-01-01T00:00:00"


def test_names_and_enum_values_are_read_case_insensitively(api: Api) -> None:
    """§2 [model]: ``"Type": "System"`` and ``"type": "system"`` both work."""
    info = api.new_key({"TYPE": "SYSTEM", "systemapis": ["FEEDS", "Sca"], "LOGGING": "Request"})
    assert info["type"] == "system" and info["systemApis"] == ["feeds", "sca"]
    assert info["logging"] == "request"


def test_same_property_twice_in_different_case_is_refused(api: Api, mock: MockProGet) -> None:
    """§2 [model]: ambiguous input is a 400, not a silent pick."""
    before = _stored(mock)
    response = api.create({"type": "system", "Type": "feed", "systemApis": ["sca"], "logging": "none"})
    assert response.status_code == 400
    assert "type" in response.text
    assert _stored(mock) == before


def test_client_sent_id_and_unknown_properties_are_ignored(api: Api) -> None:
    """§2 [model]: ``id`` is never settable; unknown properties are ignored."""
    info = api.new_key({**SYSTEM, "id": 999, "colour": "blue", "nested": {"a": [1]}})
    assert info["id"] != 999
    assert "colour" not in info


def test_custom_key_is_kept(api: Api) -> None:
    """§2 [doc]: ``key`` may be given; it is then the key's text."""
    info = api.new_key({**SYSTEM, "key": "my-own-key-ключ"})
    assert info["key"] == "my-own-key-ключ"
    # a header carries latin-1 only; the querystring carries UTF-8 (§3)
    response = api.session.get(api.url + "api/api-keys/list", params={"key": "my-own-key-ключ"})
    assert response.status_code == 200


def test_duplicate_custom_key_is_refused_and_not_stored_twice(api: Api, mock: MockProGet) -> None:
    """§2 [model] / §8: a key text exists at most once (the mock answers 400)."""
    api.new_key({**SYSTEM, "key": "same-text"})
    before = _stored(mock)
    response = api.create({**PERSONAL, "key": "same-text"})
    assert response.status_code == 400
    assert "already exists" in response.text
    assert "same-text" not in response.text  # the secret is not echoed
    assert _stored(mock) == before


def test_generated_keys_are_unique(api: Api) -> None:
    """§2 [doc]: a generated key is unique."""
    keys = {api.new_key(SYSTEM)["key"] for _ in range(30)}
    assert len(keys) == 30


def test_empty_display_name_and_description_are_stored_as_absent(api: Api) -> None:
    """§2 [model]: ``""`` is no name; lists show ``(ID=n)`` then (vendor UI)."""
    info = api.new_key({**SYSTEM, "displayName": "", "description": ""})
    assert "displayName" not in info and "description" not in info


def test_repeated_values_are_folded(api: Api) -> None:
    """§2 [model]: ``["sca", "sca"]`` is ``["sca"]``."""
    info = api.new_key({"type": "system", "systemApis": ["sca", "SCA", "feeds"], "logging": "none"})
    assert info["systemApis"] == ["sca", "feeds"]


@pytest.mark.parametrize("apis", [["feeds"], ["sca"], ["sbom-upload"], ["feeds", "sca", "sbom-upload"],
                                  ["sbom-upload", "feeds"], ["full-control"]])
def test_every_system_api_combination_is_accepted(api: Api, apis: list[str]) -> None:
    """§2 [doc]: ``full-control`` alone, or a non-empty combination of the three."""
    assert api.new_key({"type": "system", "systemApis": apis, "logging": "none"})["systemApis"] == apis


@pytest.mark.parametrize("perms", [["view"], ["add"], ["promote"], ["delete"], ["view", "add", "promote", "delete"]])
def test_every_package_permission_combination_is_accepted(api: Api, perms: list[str]) -> None:
    """§2 [doc][client]: a non-empty combination of view, add, promote, delete."""
    assert api.new_key({**FEED, "packagePermissions": perms})["packagePermissions"] == perms


@pytest.mark.parametrize("mode", ["none", "request", "response", "both"])
def test_every_logging_mode_is_accepted(api: Api, mode: str) -> None:
    """§2 [doc]: ``logging`` is one of none, request, response, both."""
    assert api.new_key({**SYSTEM, "logging": mode})["logging"] == mode


@pytest.mark.parametrize("when, written", [
    ("2999-08-01T00:00:00", "2999-08-01T00:00:00"),              # what pgutil sends (§7)
    ("2999-08-01T00:00:00+02:00", "2999-08-01T00:00:00+02:00"),
    ("2999-08-01T00:00:00Z", "2999-08-01T00:00:00+00:00"),
    ("2999-08-01", "2999-08-01T00:00:00"),
])
def test_expiration_forms(api: Api, when: str, written: str) -> None:
    """§2 [client]: ISO 8601 with or without offset; written back as given [model]."""
    assert api.new_key({**SYSTEM, "expiration": when})["expiration"] == written


def test_past_expiration_is_stored_but_never_authenticates(api: Api) -> None:
    """§2 [doc]: a key past its expiration does not authenticate (§8: stored, [model])."""
    info = api.new_key({**SYSTEM, "expiration": "2024-08-01T00:00:00"})
    response = api.list(key=info["key"])
    assert response.status_code == 403
    assert "expired" in response.text


def test_key_expiring_later_works_until_then(api: Api, mock: MockProGet) -> None:
    """§2 [doc]: expiration is a point in time, compared in UTC."""
    from datetime import datetime, timedelta, timezone

    soon = datetime.now(timezone.utc) + timedelta(hours=1)
    info = api.new_key({**SYSTEM, "expiration": soon.isoformat()})
    assert api.list(key=info["key"]).status_code == 200
    key = mock.backend.get_api_key(info["id"])
    assert key is not None and key.expired(soon + timedelta(seconds=1))


# -- §2: bodies that break exactly one rule --------------------------------------------------


BROKEN: list[tuple[str, dict[str, Any], str]] = [
    ("type missing", {"systemApis": ["sca"], "logging": "none"}, "type"),
    ("type unknown", {**SYSTEM, "type": "admin"}, "type"),
    ("type other is legacy", {**SYSTEM, "type": "other"}, "legacy"),
    ("type not a string", {**SYSTEM, "type": 1}, "type"),
    ("logging missing", {"type": "system", "systemApis": ["sca"]}, "logging"),
    ("logging unknown", {**SYSTEM, "logging": "verbose"}, "logging"),
    ("system without systemApis", {"type": "system", "logging": "none"}, "systemApis"),
    ("system with empty systemApis", {**SYSTEM, "systemApis": []}, "systemApis"),
    ("systemApis unknown value", {**SYSTEM, "systemApis": ["nuget"]}, "systemApis"),
    ("full-control not alone", {**SYSTEM, "systemApis": ["full-control", "sca"]}, "full-control"),
    ("systemApis not a list", {**SYSTEM, "systemApis": "sca"}, "systemApis"),
    ("system with packagePermissions", {**SYSTEM, "packagePermissions": ["view"]}, "packagePermissions"),
    ("system with feed", {**SYSTEM, "feed": "MyNpmFeed"}, "feed"),
    ("system with feedGroup", {**SYSTEM, "feedGroup": "MyFeedGroup"}, "feedGroup"),
    ("system with user", {**SYSTEM, "user": "johnsmith"}, "user"),
    ("feed without packagePermissions", {"type": "feed", "feed": "MyNpmFeed", "logging": "none"}, "packagePermissions"),
    ("feed with empty packagePermissions", {**FEED, "packagePermissions": []}, "packagePermissions"),
    ("packagePermissions unknown value", {**FEED, "packagePermissions": ["write"]}, "packagePermissions"),
    ("feed with neither feed nor group", {"type": "feed", "packagePermissions": ["view"], "logging": "none"}, "feed"),
    ("feed with both feed and group", {**FEED, "feedGroup": "MyFeedGroup"}, "feed"),
    ("feed naming no feed", {**FEED, "feed": "NoSuchFeed"}, "NoSuchFeed"),
    ("feed naming no group", {**GROUP, "feedGroup": "NoSuchGroup"}, "NoSuchGroup"),
    ("feed empty feed name", {**FEED, "feed": ""}, "feed"),
    ("feed with systemApis", {**FEED, "systemApis": ["sca"]}, "systemApis"),
    ("feed with user", {**FEED, "user": "johnsmith"}, "user"),
    ("personal without user", {"type": "personal", "logging": "none"}, "user"),
    ("personal naming no user", {**PERSONAL, "user": "nobody"}, "nobody"),
    ("personal user differs in case", {**PERSONAL, "user": "JohnSmith"}, "JohnSmith"),
    ("personal with systemApis", {**PERSONAL, "systemApis": ["sca"]}, "systemApis"),
    ("personal with packagePermissions", {**PERSONAL, "packagePermissions": ["view"]}, "packagePermissions"),
    ("personal with feed", {**PERSONAL, "feed": "MyNpmFeed"}, "feed"),
    ("personal with feedGroup", {**PERSONAL, "feedGroup": "MyFeedGroup"}, "feedGroup"),
    ("empty key", {**SYSTEM, "key": ""}, "key"),
    ("key not a string", {**SYSTEM, "key": 12345}, "key"),
    ("expiration not a date", {**SYSTEM, "expiration": "next tuesday"}, "expiration"),
    ("expiration not a string", {**SYSTEM, "expiration": 20240801}, "expiration"),
    ("expiration out of range", {**SYSTEM, "expiration": "0001-01-01T00:00:00+05:00"}, "expiration"),
    ("displayName not a string", {**SYSTEM, "displayName": ["a"]}, "displayName"),
    ("lone surrogate", {**SYSTEM, "description": "\ud800"}, "description"),
]


@pytest.mark.parametrize("body, names", [(b, n) for _, b, n in BROKEN], ids=[i for i, _, _ in BROKEN])
def test_a_body_breaking_one_rule_is_400_naming_it_and_stores_nothing(
        api: Api, mock: MockProGet, body: dict[str, Any], names: str) -> None:
    """§2, §6 [doc]: 400, ``text/plain``, details of the problem; nothing created."""
    before = _stored(mock)
    response = api.create(body)
    assert response.status_code == 400, response.text
    assert response.headers["Content-Type"].startswith("text/plain")
    assert names in response.text
    assert _stored(mock) == before
    assert len(api.ids()) == before


def test_a_400_lists_every_problem(api: Api) -> None:
    """§6 [doc]: "details of every problem", not just the first."""
    response = api.create({"type": "feed", "feed": "NoSuchFeed", "feedGroup": "MyFeedGroup",
                           "packagePermissions": ["fly"], "logging": "loud"})
    assert response.status_code == 400
    for name in ("packagePermissions", "feed", "logging"):
        assert f"- {name}" in response.text


@pytest.mark.parametrize("body, content_type", [
    (b"", "application/json"),
    (b"   ", "application/json"),
    (b"{", "application/json"),
    (b"[]", "application/json"),
    (b'"system"', "application/json"),
    (b"null", "application/json"),
    (b"\xff\xfe{}", "application/json"),
    (b"[" * 100_000, "application/json"),
    (b"type=system&logging=none", "application/x-www-form-urlencoded"),
])
def test_a_body_that_is_no_api_key_info_is_400(api: Api, mock: MockProGet, body: bytes, content_type: str) -> None:
    """§2, §6: malformed, empty, non-object or form bodies get a readable 400."""
    before = _stored(mock)
    response = api.session.post(api.url + "api/api-keys/create", data=body,
                                headers={"X-ApiKey": ADMIN_PSEUDO_KEY, "Content-Type": content_type})
    assert response.status_code == 400
    assert response.headers["Content-Type"].startswith("text/plain")
    assert response.text.strip()
    assert _stored(mock) == before


# -- §6: text answer, headers ----------------------------------------------------------------


def test_create_response_text_setting_answers_the_key_text(api: Api, mock: MockProGet) -> None:
    """§6 [doc]: "the body will contain the text of the API key created"."""
    mock.backend.update_settings(create_response="text")
    response = api.create(SYSTEM)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    assert re.fullmatch(r"[0-9a-f]{40}", response.text)
    assert api.list(key=response.text).status_code == 200


# -- §7: what the official client sends --------------------------------------------------------


def _chunked(*parts: bytes):  # a generator body makes requests send Transfer-Encoding: chunked
    yield from parts


#: The vendor's "Create ApiKey" examples, as pgutil writes them (§7): JSON in declaration
#: order, enum names as .NET writes them, nulls left out, expiration without offset.
PGUTIL_EXAMPLES = {
    'system --apis="feeds,sca" --expiration="2024/08/01"':
        b'{"type":"System","systemApis":["feeds","sca"],"expiration":"2024-08-01T00:00:00","logging":"None"}',
    "feed --name=MyNpmFeed":
        b'{"type":"Feed","packagePermissions":["view","add","promote","delete"],"feed":"MyNpmFeed","logging":"None"}',
    "feed --group=MyFeedGroup":
        b'{"type":"Feed","packagePermissions":["view","add","promote","delete"],"feedGroup":"MyFeedGroup","logging":"None"}',
    "personal --user=johnsmith":
        b'{"type":"Personal","user":"johnsmith","logging":"None"}',
    "system (full control, as pgutil expands it)":
        b'{"type":"System","systemApis":["feeds","sca","sbom-upload"],"logging":"None"}',
}


@pytest.mark.parametrize("body", list(PGUTIL_EXAMPLES.values()), ids=list(PGUTIL_EXAMPLES))
def test_vendor_examples_sent_as_pgutil_sends_them(mock: MockProGet, body: bytes) -> None:
    """§7 [client]: chunked body, no Content-Length, ``charset=utf-8``, ``X-ApiKey: user:password``."""
    prepared = requests.Request(
        "POST", mock.url + "api/api-keys/create", data=_chunked(body[:17], body[17:]),
        headers={"X-ApiKey": ADMIN_PSEUDO_KEY, "Content-Type": "application/json; charset=utf-8"},
    ).prepare()
    assert prepared.headers.get("Transfer-Encoding") == "chunked"
    assert "Content-Length" not in prepared.headers
    with requests.Session() as session:
        response = session.send(prepared)
    assert response.status_code == 200, response.text
    info = response.json()
    assert {"id", "type", "key", "logging"} <= set(info)
    assert info["logging"] == "none"


def test_chunked_body_over_the_limit_is_413(mock: MockProGet) -> None:
    """§7 [client]: a chunked body is read whole up to ``max_body``, and refused past it (413, not truncated)."""
    big = b'{"type":"system","systemApis":["sca"],"logging":"none","description":"' + b"x" * (mock.config.max_body + 10) + b'"}'
    response = requests.post(mock.url + "api/api-keys/create", data=_chunked(big[:1000], big[1000:]),
                             headers={"X-ApiKey": ADMIN_PSEUDO_KEY, "Content-Type": "application/json"})
    assert response.status_code == 413
    assert str(mock.config.max_body) in response.text


def test_body_over_the_limit_is_413(api: Api, mock: MockProGet) -> None:
    """Issue 2 point 3: bodies over the configured limit get 413 and store nothing."""
    before = _stored(mock)
    response = api.create({**SYSTEM, "description": "x" * (mock.config.max_body + 1)})
    assert response.status_code == 413
    assert response.headers["Content-Type"].startswith("text/plain")
    assert _stored(mock) == before


def test_malformed_chunked_body_is_400_not_500(mock: MockProGet) -> None:
    """§7: a broken chunk stream is the client's fault: a 400 with a reason."""
    import socket

    raw = (b"POST /api/api-keys/create HTTP/1.1\r\nHost: x\r\nX-ApiKey: Admin:Admin\r\n"
           b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n")
    with socket.create_connection(("127.0.0.1", mock.port), timeout=5) as sock:
        sock.sendall(raw)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
    assert b"malformed" in answer


def test_the_answer_is_compact_ascii_json_and_sets_no_cookie(api: Api) -> None:
    """§6: the answer's bytes are the ApiKeyInfo as Flask writes JSON (compact, non-ASCII
    escaped, declaration order, a final newline), with no session cookie and no
    ``Vary: Cookie`` (the mock keeps no sessions)."""
    response = api.create({**SYSTEM, "displayName": "café ☕"})
    assert response.status_code == 200, response.text
    info = response.json()
    assert response.content == (json.dumps(info, separators=(",", ":")) + "\n").encode("ascii")
    assert b"\\u00e9" in response.content and list(info) == [n for n in DECLARATION_ORDER if n in info]
    assert "Set-Cookie" not in response.headers and "Cookie" not in response.headers.get("Vary", "")


@pytest.mark.parametrize(("body", "read"), [
    ({"type": "\u017fystem", "systemApis": ["sca"], "logging": "none"}, {"type": "system"}),
    ({"type": "system", "systemApis": ["sca"], "logg\u0131ng": "none"}, {"logging": "none"}),
    ({"type": "system", "systemApis": ["\u017fca"], "logging": "none"}, {"systemApis": ["sca"]}),
    ({"type": "system", "systemApis": ["sca"], "logging": "none", "\u212aey": "not-a-key-text"}, {}),
    ({"type": "system", "systemApis": ["sca"], "logging": "\u212anone"}, None),
], ids=["long-s-in-a-value", "dotless-i-in-a-name", "long-s-in-a-list", "kelvin-sign-in-a-name",
        "kelvin-sign-in-a-value"])
def test_names_and_values_fold_as_dotnet_folds_them(api: Api, body: dict[str, Any],
                                                    read: dict[str, Any] | None) -> None:
    """§2 [model, matching .NET web defaults]: names and enum values compare as .NET's
    OrdinalIgnoreCase does, character by character upper-cased: ``ſ`` is ``s`` and ``ı``
    is ``i``; the Kelvin sign is not ``k`` (a name with it is an unknown property, ignored;
    a value with it is no enum value: 400)."""
    response = api.create(body)
    if read is None:
        assert response.status_code == 400 and "logging" in response.text
        return
    assert response.status_code == 200, response.text
    info = response.json()
    for name, value in read.items():
        assert info[name] == value
    assert info["key"] != "not-a-key-text" and re.fullmatch(r"[0-9a-f]{40}", info["key"])
