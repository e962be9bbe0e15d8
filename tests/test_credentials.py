"""The four credential carriers, pseudo-keys and their order (spec §3), over a real socket."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
import requests
from conftest import ADMIN_PSEUDO_KEY, Api

from mockproget import MockProGet

LIST = "api/api-keys/list"
CREATE = "api/api-keys/create"
PERSONAL_ADMIN = {"type": "personal", "user": "Admin", "logging": "none"}

Send = Callable[[MockProGet, str], requests.Response]


def _header(mock: MockProGet, key: str) -> requests.Response:
    # a header value is bytes on the wire; send non-latin-1 text as its UTF-8 bytes
    value = key if key.isascii() else key.encode("utf-8")
    return requests.get(mock.url + LIST, headers={"X-ApiKey": value})


def _query(mock: MockProGet, key: str) -> requests.Response:
    return requests.get(mock.url + LIST, params={"key": key})


def _form(mock: MockProGet, key: str) -> requests.Response:
    return requests.get(mock.url + LIST, data={"key": key})  # application/x-www-form-urlencoded


def _json(mock: MockProGet, key: str) -> requests.Response:
    return requests.get(mock.url + LIST, json={"API_Key": key})


CARRIERS: dict[str, Send] = {"header": _header, "query": _query, "form": _form, "json": _json}


@pytest.mark.parametrize("send", CARRIERS.values(), ids=CARRIERS)
def test_each_carrier_accepts_a_good_key(mock: MockProGet, send: Send) -> None:
    """§3 [doc]: X-ApiKey header, ``key`` querystring, ``key`` form value, ``API_Key`` JSON."""
    assert send(mock, mock.admin_key).status_code == 200


@pytest.mark.parametrize("send", CARRIERS.values(), ids=CARRIERS)
def test_each_carrier_accepts_a_pseudo_key(mock: MockProGet, send: Send) -> None:
    """§3 [doc]: ``user:password`` in any of the four places."""
    assert send(mock, ADMIN_PSEUDO_KEY).status_code == 200


@pytest.mark.parametrize("send", CARRIERS.values(), ids=CARRIERS)
@pytest.mark.parametrize("bad", ["not-a-key", "Admin:wrong", "nobody:Admin", "ключ", "x" * 5000])
def test_each_carrier_refuses_a_bad_key_with_403_text(mock: MockProGet, send: Send, bad: str) -> None:
    """§3, §6 [doc]: unknown key → 403 with a text/plain message."""
    response = send(mock, bad)
    assert response.status_code == 403
    assert response.headers["Content-Type"].startswith("text/plain")
    assert response.text.strip()
    assert bad not in response.text


def test_no_key_is_403(mock: MockProGet) -> None:
    """§3, §6 [doc]: a missing key is 403 with a text message."""
    response = requests.get(mock.url + LIST)
    assert response.status_code == 403
    assert "X-ApiKey" in response.text


@pytest.mark.parametrize("name", ["x-apikey", "X-APIKEY", "x-ApiKey"])
def test_header_name_is_case_insensitive(mock: MockProGet, name: str) -> None:
    """§3 [doc]: HTTP header names are case-insensitive."""
    assert requests.get(mock.url + LIST, headers={name: mock.admin_key}).status_code == 200


@pytest.mark.parametrize("padded", ["{} ", "{}\t", " {}", "\t{} \t"])
def test_the_whitespace_around_a_header_key_is_no_part_of_it(mock: MockProGet, padded: str) -> None:
    """§3 with RFC 9110 §5.5 [std]: a field value excludes the whitespace around it, under
    any WSGI server (the app is called here as werkzeug's development server calls it,
    the whitespace still in the environ); a header of whitespace only is no key."""
    client = mock.app.test_client()
    assert client.get("/" + LIST, headers={"X-ApiKey": padded.format(mock.admin_key)}).status_code == 200
    assert client.get("/" + LIST, headers={"X-ApiKey": padded.format("")}).status_code == 403


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "application/json;charset=UTF-8"])
def test_json_carrier_allows_a_charset(mock: MockProGet, content_type: str) -> None:
    """§3 [doc]: ``application/json`` with a charset parameter still carries ``API_Key``."""
    body = json.dumps({"API_Key": mock.admin_key})
    response = requests.get(mock.url + LIST, data=body, headers={"Content-Type": content_type})
    assert response.status_code == 200


@pytest.mark.parametrize(("name", "carries"), [
    ("api_key", True), ("API_KEY", True), ("ap\u0131_key", True), ("API_\u212aey", False), ("API_Ke\u0443", False)])
def test_the_json_property_name_folds_as_dotnet_folds_it(mock: MockProGet, name: str, carries: bool) -> None:
    """§3 [doc] and §2 [model, matching .NET web defaults]: ``API_Key`` is matched as .NET's
    OrdinalIgnoreCase matches names (``ı`` is ``i``; the Kelvin sign is not ``k``, a
    Cyrillic ``у`` is not ``y``): the same reading as every other ApiKeyInfo name."""
    response = requests.get(mock.url + LIST, json={name: mock.admin_key})
    assert response.status_code == (200 if carries else 403), (name, response.text)


@pytest.mark.parametrize("body, content_type", [
    ("key={key}", "text/plain"),                          # form key outside a form body
    ('{{"key": "{key}"}}', "application/json"),           # form key name inside JSON
    ('{{"API_Key": "{key}"}}', "text/plain"),             # JSON carrier, wrong content type
    ('{{"API_Key": "{key}"}}', "application/x-www-form-urlencoded"),
    ("API_Key={key}", "application/x-www-form-urlencoded"),  # JSON name in a form
    ('[{{"API_Key": "{key}"}}]', "application/json"),     # not on the root object
    ('{{"inner": {{"API_Key": "{key}"}}}}', "application/json"),
])
def test_a_key_in_the_wrong_place_is_not_a_credential(mock: MockProGet, body: str, content_type: str) -> None:
    """§3 [doc]: form ``key`` only in form bodies, ``API_Key`` only on a JSON root object."""
    response = requests.get(mock.url + LIST, data=body.format(key=mock.admin_key).encode(),
                            headers={"Content-Type": content_type})
    assert response.status_code == 403


def test_form_key_in_a_multipart_body_is_not_a_credential(mock: MockProGet) -> None:
    """§3 [doc]: the form value counts only for ``application/x-www-form-urlencoded``."""
    response = requests.post(mock.url + CREATE, files={"key": (None, mock.admin_key)})
    assert response.status_code == 403


def test_json_carrier_on_create_authenticates_the_request_not_the_new_key(mock: MockProGet, api: Api) -> None:
    """§2-§3: ``API_Key`` is the caller's credential; ``key`` is the new key's text."""
    response = requests.post(mock.url + CREATE, json={**PERSONAL_ADMIN, "API_Key": ADMIN_PSEUDO_KEY,
                                                      "key": "new-key-text"})
    assert response.status_code == 200, response.text
    info = response.json()
    assert info["key"] == "new-key-text" and "API_Key" not in info and "apiKey" not in info


def test_json_carrier_name_is_case_insensitive(mock: MockProGet) -> None:
    """§3 [model]: matched like the other property names."""
    assert requests.get(mock.url + LIST, json={"api_key": mock.admin_key}).status_code == 200


def test_form_carrier_on_create_authenticates_then_refuses_the_form_body(mock: MockProGet) -> None:
    """§3 then §2: a good form key passes authentication; a form is no ApiKeyInfo (400)."""
    response = requests.post(mock.url + CREATE, data={"key": mock.admin_key, "type": "system"})
    assert response.status_code == 400
    assert "application/json" in response.text


# -- precedence and ordering ([model]) --------------------------------------------------------


@pytest.mark.parametrize("good, bad", [("header", "query"), ("query", "form"), ("form", "json"),
                                       ("header", "json")])
def test_the_first_carrier_present_is_the_one_judged(mock: MockProGet, good: str, bad: str) -> None:
    """§3 [model]: header, then querystring, then form, then JSON."""
    def request(values: dict[str, str]) -> requests.Response:
        headers = {"X-ApiKey": values["header"]} if "header" in values else {}
        params = {"key": values["query"]} if "query" in values else {}
        if "form" in values:
            return requests.get(mock.url + LIST, headers=headers, params=params, data={"key": values["form"]})
        body = {"API_Key": values["json"]} if "json" in values else None
        return requests.get(mock.url + LIST, headers=headers, params=params, json=body)

    assert request({good: mock.admin_key, bad: "wrong"}).status_code == 200
    assert request({good: "wrong", bad: mock.admin_key}).status_code == 403


def test_an_empty_carrier_counts_as_absent(mock: MockProGet) -> None:
    """§3 [model]: ``X-ApiKey:`` (empty) falls through to the next carrier."""
    response = requests.get(mock.url + LIST, headers={"X-ApiKey": ""}, params={"key": mock.admin_key})
    assert response.status_code == 200


def test_authentication_is_judged_before_validation(mock: MockProGet) -> None:
    """§3 [model]: a stranger with an invalid body gets 403, never the 400's details."""
    for headers in ({}, {"X-ApiKey": "wrong"}):
        response = requests.post(mock.url + CREATE, data=b"{not json", headers=headers)
        assert response.status_code == 403


def test_an_unauthorized_key_gets_403_before_validation(api: Api, mock: MockProGet) -> None:
    """§3-§4: a feed key may not use the endpoint at all, so its invalid body is a 403."""
    feed_key = api.new_key({"type": "feed", "packagePermissions": ["view"], "feed": "MyNpmFeed",
                            "logging": "none"})["key"]
    response = requests.post(mock.url + CREATE, data=b"{not json", headers={"X-ApiKey": feed_key})
    assert response.status_code == 403


# -- pseudo-keys ----------------------------------------------------------------------------


def test_pseudo_key_needs_the_exact_password(mock: MockProGet) -> None:
    """§3 [doc]: a pseudo-key authenticates only with the user's exact name and password."""
    assert _header(mock, "Admin:admin").status_code == 403
    assert _header(mock, "admin:Admin").status_code == 403  # user names are exact
    assert _header(mock, "Admin:").status_code == 403


def test_user_without_password_has_no_pseudo_key(mock: MockProGet) -> None:
    """§3 [model]: ``johnsmith`` has no password in the default seed."""
    assert _header(mock, "johnsmith:").status_code == 403
    assert _header(mock, "johnsmith:johnsmith").status_code == 403


def test_password_may_contain_colons(mock: MockProGet) -> None:
    """§3: the pseudo-key splits at the first colon."""
    mock.backend.add_user("ops", "a:b:c", admin=True)
    assert _header(mock, "ops:a:b:c").status_code == 200


def test_a_key_containing_a_colon_is_tried_as_a_key_first(api: Api, mock: MockProGet) -> None:
    """§3 [model]: ``Admin:other`` may be a real key's text."""
    api.new_key({"type": "system", "systemApis": ["full-control"], "logging": "none", "key": "Admin:other"})
    assert _header(mock, "Admin:other").status_code == 200


def test_pseudo_keys_can_be_turned_off(mock: MockProGet) -> None:
    """§5 [doc]: "pseudo-keys permitted or not"."""
    mock.backend.update_settings(pseudo_keys=False)
    assert _header(mock, ADMIN_PSEUDO_KEY).status_code == 403
    assert _header(mock, mock.admin_key).status_code == 200


def test_anonymous_admin_setting(mock: MockProGet) -> None:
    """§3 [doc]: a fresh ProGet lets Anonymous act as admin; off by default [model]."""
    assert requests.get(mock.url + LIST).status_code == 403
    mock.backend.update_settings(anonymous_admin=True)
    assert requests.get(mock.url + LIST).status_code == 200
    assert requests.post(mock.url + CREATE, json=PERSONAL_ADMIN).status_code == 200
    assert _header(mock, "wrong").status_code == 403  # a bad key is still refused


def test_expired_and_deleted_keys_are_refused_in_every_carrier(api: Api, mock: MockProGet) -> None:
    """§3 [doc]: expired and deleted keys → 403."""
    expired = api.new_key({"type": "system", "systemApis": ["full-control"], "logging": "none",
                           "expiration": "2000-01-01T00:00:00Z"})["key"]
    deleted = api.new_key({"type": "system", "systemApis": ["full-control"], "logging": "none"})
    assert api.delete(deleted["id"]).status_code == 200
    for send in CARRIERS.values():
        assert send(mock, expired).status_code == 403
        assert send(mock, deleted["key"]).status_code == 403


def test_credential_failures_change_nothing(api: Api, mock: MockProGet) -> None:
    """§3 [doc]: a refused request creates and deletes nothing."""
    before = api.ids()
    assert api.create({"type": "system", "systemApis": ["sca"], "logging": "none"}, key="wrong").status_code == 403
    assert api.delete(1, key="wrong").status_code == 403
    assert api.ids() == before


# -- non-ASCII key texts (§3 extended, docs/fidelity.md "Credentials") -----------------------

NON_ASCII_KEYS = ["ключ-0001-éß", "k3y 😀 ü", "é"]


@pytest.mark.parametrize("text", NON_ASCII_KEYS)
@pytest.mark.parametrize("send", CARRIERS.values(), ids=CARRIERS)
def test_a_non_ascii_key_works_in_every_carrier(api: Api, mock: MockProGet, send: Send, text: str) -> None:
    """§3 [doc] (the four carriers are equivalent; docs/fidelity.md): a key created with
    non-ASCII text authenticates in the header (its UTF-8 bytes), the query (percent-
    encoded UTF-8), the form and the JSON body alike; a near miss does not."""
    created = api.create({"type": "system", "systemApis": ["full-control"], "logging": "none", "key": text})
    assert created.status_code == 200, created.text
    assert send(mock, text).status_code == 200
    assert send(mock, text + "x").status_code == 403
    assert send(mock, text.upper() if text.upper() != text else text + "\u0301").status_code == 403


def test_a_non_ascii_pseudo_key_password_works_in_the_header(mock: MockProGet) -> None:
    """§3 [doc]: ``user:password`` with a non-ASCII password, sent as UTF-8 bytes in
    ``X-ApiKey`` (as in the query), authenticates; the wrong password does not."""
    mock.backend.add_user("dave", "pässwörd 1/2", admin=True)
    assert _header(mock, "dave:pässwörd 1/2").status_code == 200
    assert _query(mock, "dave:pässwörd 1/2").status_code == 200
    assert _header(mock, "dave:passwörd 1/2").status_code == 403


def test_header_bytes_that_are_not_utf8_are_read_as_latin1(api: Api, mock: MockProGet) -> None:
    """§3, docs/fidelity.md: the header's bytes are read as UTF-8; bytes that are not
    UTF-8 are the Latin-1 text they spell (``requests`` sends a ``str`` header value so):
    ``\xe9`` is ``é``; bytes that spell no stored key are a 403 in text, not a 500."""
    assert api.create({"type": "system", "systemApis": ["full-control"], "logging": "none",
                       "key": "é-0002"}).status_code == 200
    assert requests.get(mock.url + LIST, headers={"X-ApiKey": "é-0002"}).status_code == 200
    assert requests.get(mock.url + LIST, headers={"X-ApiKey": b"\xe9-0002"}).status_code == 200
    response = requests.get(mock.url + LIST, headers={"X-ApiKey": b"\xff\xfe-0002"})
    assert response.status_code == 403 and response.headers["Content-Type"].startswith("text/plain")
