"""Mutation hunt, fifth round: departures that show only after a change of state, for one
value of a field, on one method, in the bytes of a JSON answer, or for one scope of a key.

Each mutant is the mock with one small deviation from a [doc], [client] or [std] rule of
the api-keys spec (§1-§7) or the feeds spec (§1-§5): an expiration past 2038 judged
through a 32-bit clock, an authentication cached past a key's expiry, a repeated delete
that removes another key, a BOM or a Latin-1 body in a JSON answer, a text outside the
Basic Multilingual Plane mangled, a description cut short, HEAD or GET granted what POST
or GET refuses, an ``API_Key`` read from a nested object, a feed-group key that outlives
its delete or expiry, an anonymous delete, an upload verb left unchecked, a NuGet id or PyPI name read in one
spelling only, an instance setting honoured for one carrier or key type only.
``mockproget verify`` (by URL), the feed clauses (by URL) or the instance-setting clauses
(as the embedded mock) must fail on each; the unbroken mock passes the same selection.
"""

from __future__ import annotations

import json
import re
import threading
import time
import unicodedata
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
from flask import request as flask_request

from mockproget import MockProGet
from mockproget.models import digest
from test_contract_broken_servers import ADMIN_KEY, Tamper, _json_body, _set_header, rebuffer
from test_contract_mutants import _credentials, _feed_request, _key_of, _named, on_personal_delete, run_verify
from test_contract_mutants_feeds import _access, _as_admin_when, _perms, feed_verdicts

Mutant = Callable[[MockProGet], None]
Answer = tuple[str, list[tuple[str, str]], bytes]
CREATE, LIST, DELETE = "/api/api-keys/create", "/api/api-keys/list", "/api/api-keys/delete"
API = "/api/api-keys/"


def _answers(change: Callable[[dict[str, Any], str, list[tuple[str, str]], bytes], Answer]) -> Mutant:
    def apply(server: MockProGet) -> None:
        server.app.wsgi_app = Tamper(server.app.wsgi_app, response=change)  # type: ignore[method-assign]
    return apply


def _wrap(server: MockProGet, app: Callable[[Any, dict[str, Any], Any], Iterable[bytes]]) -> None:
    """``app(inner, environ, start_response)`` in front of the mock."""
    inner = server.app.wsgi_app
    server.app.wsgi_app = lambda environ, start_response: app(inner, environ, start_response)  # type: ignore[method-assign]


def _refuse(start_response: Any, status: str = "403 FORBIDDEN", text: str = "The API key is not valid.") -> list[bytes]:
    start_response(status, [("Content-Type", "text/plain; charset=utf-8"), ("X-ProGet-Version", "25.0.10"),
                            ("X-ProGet-Edition", "Enterprise")])
    return [text.encode()]


# -- §2 [doc]: expiration judged wrong for some instants ------------------------------------

Y2038 = datetime(2038, 1, 19, 3, 14, 7, tzinfo=timezone.utc)


def expiry_past_2038_wraps(server: MockProGet) -> None:
    """§2 [doc]: an expiration after 2038-01-19 (a 32-bit Unix time) wraps to the past, so
    a key that expires later than that is refused at once (the list shows it as sent)."""
    def app(inner: Any, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "").startswith(API):
            for _, value in _credentials(environ, rebuffer(environ)):
                key = _key_of(server, value)
                if key is not None and key.expiration is not None:
                    when = key.expiration if key.expiration.tzinfo else key.expiration.replace(tzinfo=timezone.utc)
                    if when > Y2038:
                        return _refuse(start_response, text=f"The API key (ID={key.id}) has expired.")
                break
        return inner(environ, start_response)
    _wrap(server, app)


def auth_cache_outlives_expiry(server: MockProGet) -> None:
    """§2 [doc]: a key that authenticated is remembered for 30 seconds (its delete forgets
    it, its expiry does not): a key used just before it expires keeps working after."""
    cache: dict[str, tuple[float, int]] = {}
    lock = threading.Lock()
    backend = server.backend
    original, delete = backend._resolve, backend.delete_api_key

    def resolve(credential: Any, now: datetime) -> Any:
        if credential is not None:
            with lock:
                fresh = time.monotonic() - cache.get(credential.value, (-1e9, 0))[0] < 30
            if fresh:
                now = datetime(2000, 1, 1, tzinfo=timezone.utc)
        principal = original(credential, now)
        if credential is not None and principal.key_id is not None:
            with lock:
                cache.setdefault(credential.value, (time.monotonic(), principal.key_id))
        return principal

    def forget(principal: Any, key_id: int) -> None:
        delete(principal, key_id)
        with lock:
            for value in [v for v, (_, i) in cache.items() if i == key_id]:
                del cache[value]
    backend._resolve = resolve  # type: ignore[method-assign]
    backend.delete_api_key = forget  # type: ignore[method-assign]


def _listed_expiration(change: Callable[[str], str]) -> Mutant:
    def hook(environ: dict[str, Any], status: str, headers: list[tuple[str, str]], body: bytes) -> Answer:
        data = _json_body(body)
        if environ.get("PATH_INFO") == LIST and status.startswith("200") and isinstance(data, list):
            body = json.dumps([{**k, "expiration": change(k["expiration"])} if isinstance(k.get("expiration"), str)
                               else k for k in data]).encode()
        return status, headers, body
    return _answers(hook)


expiration_listed_to_the_minute = _named(_listed_expiration(
    lambda text: re.sub(r"(T\d\d:\d\d):\d\d(\.\d+)?", r"\1:00", text)),
    "expiration_listed_to_the_minute", "§2 [doc]: the list shows each expiration with its seconds set to 0 "
    "(the key still expires at the instant sent).")
expiration_listed_without_offset = _named(_listed_expiration(
    lambda text: re.sub(r"(Z|[+-]\d\d:\d\d)$", "", text)),
    "expiration_listed_without_offset", "§2 [doc]: the list drops the offset of an expiration sent with one "
    "(+02:00 shown as a local time without offset: a different instant).")


# -- §2 [doc]: text fields stored other than sent -------------------------------------------

def _texts(change: Callable[[str], str]) -> Mutant:
    """``displayName`` and ``description`` of a create go through ``change`` before the
    mock stores them."""
    def hook(environ: dict[str, Any], body: bytes) -> bytes:
        data = _json_body(body)
        if environ.get("PATH_INFO") == CREATE and isinstance(data, dict):
            for name in list(data):
                if name.lower() in ("displayname", "description") and isinstance(data[name], str):
                    data[name] = change(data[name])
            return json.dumps(data).encode()
        return body

    def apply(server: MockProGet) -> None:
        server.app.wsgi_app = Tamper(server.app.wsgi_app, request=hook)  # type: ignore[method-assign]
    return apply


astral_letters_replaced = _named(_texts(lambda t: "".join("?" if ord(c) > 0xFFFF else c for c in t)),
                                 "astral_letters_replaced", "§2 [doc]: letters outside the Basic Multilingual "
                                 "Plane (𝒜, 𠀀) in a display name or description come back as '?' (a UCS-2 "
                                 "column).")
description_cut_at_32 = _named(_texts(lambda t: t[:32]), "description_cut_at_32",
                               "§2 [doc]: display names and descriptions are silently cut to 32 characters.")
texts_normalized_nfkc = _named(_texts(lambda t: unicodedata.normalize("NFKC", t)), "texts_normalized_nfkc",
                               "§2 [doc]: display names and descriptions are stored NFKC-normalized (ﬁ as fi, "
                               "full-width letters as ASCII), not as sent.")
texts_trimmed = _named(_texts(lambda t: t.strip()), "texts_trimmed",
                       "§2 [doc]: display names and descriptions are trimmed of surrounding blanks.")


# -- RFC 8259 [std] / §6 [client]: the bytes of a JSON answer ------------------------------

def _bytes_of(path: str, change: Callable[[bytes], bytes], content_type: str | None = None) -> Mutant:
    def hook(environ: dict[str, Any], status: str, headers: list[tuple[str, str]], body: bytes) -> Answer:
        if environ.get("PATH_INFO") == path and status.startswith("200"):
            body = change(body)
            if content_type is not None:
                headers = _set_header(headers, "Content-Type", content_type)
        return status, headers, body
    return _answers(hook)


list_with_bom = _named(_bytes_of(LIST, lambda b: b"\xef\xbb\xbf" + b), "list_with_bom",
                       "§6 [client] + RFC 8259 §8.1 [std]: the list answer starts with a UTF-8 byte order mark.")
create_answer_with_bom = _named(_bytes_of(CREATE, lambda b: b"\xef\xbb\xbf" + b), "create_answer_with_bom",
                                "§6 [client] + RFC 8259 §8.1 [std]: the create answer starts with a byte order "
                                "mark.")
list_in_latin1 = _named(_bytes_of(LIST, lambda b: json.dumps(json.loads(b), ensure_ascii=False).encode(
    "latin-1", "replace"),
                                  "application/json"), "list_in_latin1",
                        "§6 [client] + RFC 8259 §8.1 [std]: the list is written in Latin-1 (no charset): a "
                        "non-ASCII display name is not UTF-8.")
list_trailing_comma = _named(_bytes_of(LIST, lambda b: re.sub(rb"\]\s*$", b",]", b) if b.strip() != b"[]" else b),
                             "list_trailing_comma", "§6 [client] + RFC 8259 [std]: the list array ends with a "
                             "trailing comma.")

create_answer_in_utf16 = _named(_bytes_of(CREATE, lambda b: b.decode("utf-8").encode("utf-16"),
                                          "application/json; charset=utf-16"), "create_answer_in_utf16",
                                "§6 [client] + RFC 8259 §8.1 [std]: the create answer is UTF-16 (its charset says "
                                "so): a JSON text on the wire is UTF-8.")


def _health_bom(environ: dict[str, Any], status: str, headers: list[tuple[str, str]], body: bytes) -> Answer:
    if environ.get("PATH_INFO", "").startswith("/health") and status.startswith("200"):
        body = b"\xef\xbb\xbf" + body
        headers = _set_header(headers, "Content-Type", "application/json")
    return status, headers, body


health_with_bom = _named(_answers(_health_bom), "health_with_bom",
                         "§1 [doc] + RFC 8259 §8.1 [std]: /health/json answers JSON preceded by a byte order mark.")

def _id_float(environ: dict[str, Any], status: str, headers: list[tuple[str, str]], body: bytes) -> Answer:
    if environ.get("PATH_INFO") == CREATE and status.startswith("200"):
        body = re.sub(rb'"id":\s*(\d+)', rb'"id": \1.0', body)
    return status, headers, body


create_id_as_float = _named(_answers(_id_float), "create_id_as_float",
                            "§6 [client]: the create answer writes its id as 12.0 (pgutil reads an int).")


# -- RFC 9110 [std]: HEAD and GET ----------------------------------------------------------

def head_skips_authentication(server: MockProGet) -> None:
    """§3 [doc] + RFC 9110 §9.3.2 [std]: HEAD api/api-keys/list is answered as the admin
    (200) whatever the credential, so it tells a caller without a key how many keys exist."""
    def app(inner: Any, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") == "HEAD" and environ.get("PATH_INFO", "").startswith(API):
            environ["HTTP_X_APIKEY"] = ADMIN_KEY
        return inner(environ, start_response)
    _wrap(server, app)


def get_delete_deletes(server: MockProGet) -> None:
    """§1 [doc] + RFC 9110 §9.2.1 [std]: ``GET api/api-keys/delete?id=N`` deletes key N
    (delete is a POST; a GET must change nothing)."""
    def app(inner: Any, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") in ("GET", "HEAD") and environ.get("PATH_INFO") == DELETE:
            environ["REQUEST_METHOD"] = "POST"
        return inner(environ, start_response)
    _wrap(server, app)


def get_create_creates(server: MockProGet) -> None:
    """§1 [doc] + RFC 9110 §9.2.1 [std]: ``GET api/api-keys/create`` with a JSON body
    creates the key."""
    def app(inner: Any, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") == "GET" and environ.get("PATH_INFO") == CREATE:
            environ["REQUEST_METHOD"] = "POST"
        return inner(environ, start_response)
    _wrap(server, app)


# -- §3 [doc]: API_Key on the root object only ----------------------------------------------

def _nested_api_key(value: Any) -> str | None:
    if isinstance(value, dict):
        for name, item in value.items():
            if name == "API_Key" and isinstance(item, str):
                return item
            found = _nested_api_key(item)
            if found:
                return found
    if isinstance(value, list):
        for item in value:
            found = _nested_api_key(item)
            if found:
                return found
    return None


def nested_api_key_honoured(server: MockProGet) -> None:
    """§3 [doc]: an ``API_Key`` inside a nested object or an array of the JSON body is
    taken as the credential (only the root object's counts)."""
    def app(inner: Any, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        body = rebuffer(environ)
        if environ.get("CONTENT_TYPE", "").lower().startswith("application/json"):
            data = _json_body(body)
            root = data.get("API_Key") if isinstance(data, dict) else None
            if not isinstance(root, str):
                found = _nested_api_key(data)
                if found and not environ.get("HTTP_X_APIKEY"):
                    environ["HTTP_X_APIKEY"] = found
        return inner(environ, start_response)
    _wrap(server, app)


# -- §1 [doc]: a delete that removes another key ---------------------------------------------

def repeated_delete_removes_an_older_key(server: MockProGet) -> None:
    """§1 [doc] + §8: a delete of an id that was deleted before answers 200 and removes
    the newest live key older than that id (not the caller's own key)."""
    backend = server.backend
    gone: set[int] = set()
    delete = backend.delete_api_key

    def remove(principal: Any, key_id: int) -> None:
        if key_id in gone:
            older = [k.id for k in backend.api_keys if k.id < key_id and k.id != principal.key_id]
            if older:
                delete(principal, max(older))
                return
        delete(principal, key_id)
        gone.add(key_id)
    backend.delete_api_key = remove  # type: ignore[method-assign]


def delete_of_zero_removes_the_oldest(server: MockProGet) -> None:
    """§1 [doc]: ``delete?id=0`` removes the oldest key the caller did not authenticate
    with (an id of 0 read as "the first")."""
    backend = server.backend
    delete = backend.delete_api_key

    def remove(principal: Any, key_id: int) -> None:
        if key_id == 0:
            others = [k.id for k in backend.api_keys if k.id != principal.key_id]
            if others:
                delete(principal, min(others))
                return
        delete(principal, key_id)
    backend.delete_api_key = remove  # type: ignore[method-assign]


def list_stale_after_delete(server: MockProGet) -> None:
    """§1 [doc]: the list is cached and the cache is renewed by a create only, so a key
    deleted since the last create is still listed."""
    cached: dict[str, Any] = {}

    def hook(environ: dict[str, Any], status: str, headers: list[tuple[str, str]], body: bytes) -> Answer:
        path = environ.get("PATH_INFO")
        if path == CREATE and status.startswith("200"):
            cached.clear()
        if path == LIST and status.startswith("200") and environ.get("HTTP_X_APIKEY") == ADMIN_KEY:
            if "body" in cached:
                return status, headers, cached["body"]
            cached["body"] = body
        return status, headers, body
    _answers(hook)(server)


def ids_above_int32(server: MockProGet) -> None:
    """§1 [doc]: ids start above 2^31 (the numbering start is open, §8), and a delete reads
    its ``id`` as a 32-bit integer: every delete is a 400."""
    shift = 2**31

    def app(inner: Any, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == DELETE:
            wanted = dict(parse_qsl(environ.get("QUERY_STRING", ""))).get("id", "")
            if re.fullmatch(r"\d+", wanted) and int(wanted) > 2**31 - 1:
                return _refuse(start_response, "400 BAD REQUEST", "id: Value was either too large or too small "
                                                                  "for an Int32.")
        return inner(environ, start_response)
    _shift_ids(server, shift)
    _wrap(server, app)


def _shift_ids(server: MockProGet, shift: int) -> None:
    """Ids on the wire are the mock's plus ``shift`` (answers and ``delete?id=``)."""
    def request(environ: dict[str, Any], body: bytes) -> bytes:
        if environ.get("PATH_INFO") == DELETE:
            pairs = parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)
            environ["QUERY_STRING"] = urlencode([(k, str(int(v) - shift) if k == "id" and re.fullmatch(r"\d+", v)
                                                  and int(v) >= shift else v) for k, v in pairs])
        return body

    def response(environ: dict[str, Any], status: str, headers: list[tuple[str, str]], body: bytes) -> Answer:
        if environ.get("PATH_INFO") in (CREATE, LIST) and status.startswith("200"):
            body = re.sub(rb'("id":\s*)(\d+)', lambda m: m.group(1) + str(int(m.group(2)) + shift).encode(), body)
        return status, headers, body
    server.app.wsgi_app = Tamper(server.app.wsgi_app, request=request, response=response)  # type: ignore[method-assign]


# -- §3 [doc]: a credential judged apart for one endpoint or method ----------------------------

def pseudo_key_refused_on_delete(server: MockProGet) -> None:
    """§3 [doc]: a pseudo-key lists and creates, but a delete refuses it."""
    def app(inner: Any, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == DELETE:
            for _, value in _credentials(environ, rebuffer(environ)):
                if ":" in value and _key_of(server, value) is None:
                    return _refuse(start_response)
                break
        return inner(environ, start_response)
    _wrap(server, app)


def refused_form_delete_without_proget_headers(server: MockProGet) -> None:
    """§6 [client]: a 403 to a request with a key in a form body on delete carries no
    X-ProGet-* headers (the other carriers' refusals do)."""
    def change(environ: dict[str, Any], status: str, headers: list[tuple[str, str]], body: bytes) -> Answer:
        if status.startswith("403") and environ.get("CONTENT_TYPE", "").startswith("application/x-www-form"):
            headers = _set_header(_set_header(headers, "X-ProGet-Version", None), "X-ProGet-Edition", None)
        return status, headers, body
    _answers(change)(server)


def _deleted_id_is_500(server: MockProGet) -> None:
    """§8 [doc]: a delete of an id that was deleted before answers 500 (the row is looked
    up, found marked deleted, and dereferenced), not 200 or a 4xx."""
    backend = server.backend
    gone: set[int] = set()
    delete = backend.delete_api_key

    def app(inner: Any, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        wanted = dict(parse_qsl(environ.get("QUERY_STRING", ""))).get("id", "")
        if environ.get("PATH_INFO") == DELETE and wanted.isdigit() and int(wanted) in gone:
            return _refuse(start_response, "500 INTERNAL SERVER ERROR",
                           "System.NullReferenceException: Object reference not set to an instance of an object.")
        return inner(environ, start_response)

    def remember(principal: Any, key_id: int) -> None:
        delete(principal, key_id)
        gone.add(key_id)
    backend.delete_api_key = remember  # type: ignore[method-assign]
    _wrap(server, app)


deleted_id_is_500 = _named(_deleted_id_is_500, "deleted_id_is_500", _deleted_id_is_500.__doc__ or "")


def _nan_expiration(environ: dict[str, Any], status: str, headers: list[tuple[str, str]], body: bytes) -> Answer:
    data = _json_body(body)
    if environ.get("PATH_INFO") == LIST and status.startswith("200") and isinstance(data, list):
        body = json.dumps([k if "expiration" in k else {**k, "expiration": float("nan")} for k in data]).encode()
    return status, headers, body


list_nan_expiration = _named(_answers(_nan_expiration), "list_nan_expiration",
                             "§2 [client] + RFC 8259 §6 [std]: keys without an expiration are listed with "
                             "\"expiration\": NaN (not JSON; pgutil's parser stops there).")


def key_deleted_by_query_or_form_still_works(server: MockProGet) -> None:
    """§3 [doc]: a key deleted by a request whose credential came as ``?key=`` or a form
    ``key`` is unlisted, yet keeps authenticating (that path forgets to drop the key from
    the index of key texts); deleted through the header, it is refused."""
    backend, dead = server.backend, set()
    delete = backend.delete_api_key

    def remember(principal: Any, key_id: int) -> None:
        key = backend.get_api_key(key_id)
        delete(principal, key_id)
        if key is not None and principal.carrier in ("query", "form"):
            dead.add(key.digest)
    backend.delete_api_key = remember  # type: ignore[method-assign]

    def app(inner: Any, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if any(digest(v) in dead for _, v in _credentials(environ, rebuffer(environ))):
            environ["HTTP_X_APIKEY"] = ADMIN_KEY
        return inner(environ, start_response)
    _wrap(server, app)

#: (mutant, -k selection for ``mockproget verify``, a clause name that must fail)
MUTANTS: list[tuple[Mutant, str, str]] = [
    (expiry_past_2038_wraps, "expired_key", "test_expired_key_is_refused"),
    (auth_cache_outlives_expiry, "instant", "test_expiration_is_an_instant"),
    (expiration_listed_to_the_minute, "instant", "test_expiration_is_an_instant"),
    (expiration_listed_without_offset, "instant", "test_expiration_is_an_instant"),
    (astral_letters_replaced, "round_trip", "test_round_trip"),
    (description_cut_at_32, "pgutil_creates_system", "test_pgutil_creates_system_key"),
    (texts_normalized_nfkc, "valid_system", "test_valid_system_keys_are_created"),
    (list_with_bom, "list_answers", "test_list_answers_json_array"),
    (create_answer_with_bom, "create_answers", "test_create_answers_json_api_key_info"),
    (list_in_latin1, "round_trip", "test_round_trip"),
    (list_trailing_comma, "list_answers", "test_list_answers_json_array"),
    (list_nan_expiration, "list_answers", "test_list_answers_json_array"),
    (create_id_as_float, "create_answers", "test_create_answers_json_api_key_info"),
    (create_answer_in_utf16, "create_answers", "test_create_answers_json_api_key_info"),
    (health_with_bom, "health", "test_health_needs_no_key"),
    (head_skips_authentication, "only_post", "test_only_post_changes_keys_and_head_is_judged_as_get"),
    (get_delete_deletes, "only_post", "test_only_post_changes_keys_and_head_is_judged_as_get"),
    (get_create_creates, "only_post", "test_only_post_changes_keys_and_head_is_judged_as_get"),
    (nested_api_key_honoured, "wrong_content_type", "test_carrier_ignored_under_wrong_content_type"),
    (repeated_delete_removes_an_older_key, "unknown_id", "test_delete_of_an_unknown_id"),
    (delete_of_zero_removes_the_oldest, "unknown_id", "test_delete_of_an_unknown_id"),
    (deleted_id_is_500, "unknown_id", "test_delete_of_an_unknown_id"),
    (list_stale_after_delete, "stateful", "test_stateful_create_list_delete_authenticate"),
    (ids_above_int32, "delete_with_empty_body", "test_delete_with_empty_body_removes_the_key"),
    (pseudo_key_refused_on_delete, "pseudo_key_in_each_carrier", "test_pseudo_key_in_each_carrier"),
    (key_deleted_by_query_or_form_still_works, "carrier_accepts", "test_carrier_accepts_a_good_key"),
    (refused_form_delete_without_proget_headers, "every_answer", "test_every_answer_carries_the_proget_headers"),
]


@pytest.mark.parametrize("mutant, select, clause", MUTANTS, ids=[m[0].__name__ for m in MUTANTS])
def test_verify_catches_the_mutant(mutant: Mutant, select: str, clause: str,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    """api-keys §1-§7 (RFC 8259, RFC 9110 [std]): ``mockproget verify`` by URL exits 1 with
    a FAIL line naming a clause about the rule."""
    code, failed, out = run_verify(mutant, select, capsys)
    assert code == 1, (mutant.__doc__, out[-3000:])
    assert any(clause in name for name in failed), (mutant.__doc__, failed)
    assert ADMIN_KEY not in out


def test_the_same_clauses_pass_on_the_unbroken_mock(capsys: pytest.CaptureFixture[str]) -> None:
    """No false alarm (§1-§7): the union of the selections above passes on the mock as it is."""
    select = " or ".join(sorted({m[1] for m in MUTANTS}))
    code, failed, out = run_verify(lambda server: None, select, capsys)
    assert code == 0, (failed, out[-4000:])


def test_ids_above_int32_are_no_false_alarm(capsys: pytest.CaptureFixture[str]) -> None:
    """No false alarm (§1 [doc], §8: the id numbering start is open): a server whose ids are
    all above 2^31 (and that deletes them) passes every clause that creates, lists or
    deletes keys."""
    code, failed, out = run_verify(lambda server: _shift_ids(server, 2**31 + 7),
                                   "delete or stateful or list_answers or create_answers", capsys)
    assert code == 0, (failed, out[-4000:])


def test_every_mutant_is_documented() -> None:
    """Each mutant names the spec section and source it breaks; 30 or more in all."""
    mutants = {m[0] for m in MUTANTS} | {m[0] for m in FEED_MUTANTS} | {m[0] for m in SETTING_MUTANTS}
    assert len(mutants) >= 30
    assert all(re.match(r"§\d(\.\d)* \[(doc|client|std)\]", m.__doc__ or "") for m in mutants)


# -- proget-feeds §1.2-§1.4, §5 ------------------------------------------------------------------

def deleted_group_key_works(server: MockProGet) -> None:
    """§1.2 [doc]: a deleted feed key bound to a feed group keeps working on the feeds of
    its group (a key bound to one feed is refused once deleted)."""
    backend, dead = server.backend, set()
    delete = backend.delete_api_key

    def remember(principal: Any, key_id: int) -> None:
        key = backend.get_api_key(key_id)
        delete(principal, key_id)
        if key is not None and key.feed_group:
            dead.add(key.digest)
    backend.delete_api_key = remember  # type: ignore[method-assign]
    _feed_request(_as_admin_when(lambda e, v: not e.get("PATH_INFO", "").startswith("/api/")
                                 and digest(v) in dead))(server)


def expired_group_key_works(server: MockProGet) -> None:
    """§1.2 [doc]: on the feed endpoints expiration is judged for keys bound to one feed,
    not for keys bound to a feed group."""
    backend = server.backend
    original = backend._resolve

    def resolve(credential: Any, now: datetime) -> Any:
        if credential is not None and flask_request.path.split("/")[1] in ("npm", "pypi", "nuget", "upack"):
            key = _key_of(server, credential.value)
            if key is not None and key.feed_group:
                now = datetime(2000, 1, 1, tzinfo=timezone.utc)
        return original(credential, now)
    backend._resolve = resolve  # type: ignore[method-assign]


anonymous_deletes_packages = _named(_access(
    lambda s, p, key, feed, op: True if op == "delete" and p.kind == "anonymous" else op),
    "anonymous_deletes_packages", "§1.3 [doc] + §5.3 [doc]: a delete without any credential is allowed "
    "(Anonymous may view and download only).")
anonymous_post_upload = _named(_access(
    lambda s, p, key, feed, op: True if op == "publish" and p.kind == "anonymous"
    and flask_request.method == "POST" else op),
    "anonymous_post_upload", "§5.1 [doc] + §1.3 [doc]: POST /upack/«feed»/upload (the documented verb) "
    "takes a package without credentials; PUT (Inedo.UPack's) asks for one.")
view_key_publishes_scoped = _named(_access(
    lambda s, p, key, feed, op: True if op == "publish" and "view" in _perms(key)
    and "/@" in flask_request.path else op),
    "view_key_publishes_scoped", "§1.2 [doc] + §3.1 [std]: a view-only key publishes a scoped npm package "
    "(@scope%2fname); unscoped ones are refused.")
view_delete_key_refused_in_x_apikey = _named(_access(
    lambda s, p, key, feed, op: None if op == "delete" and p.carrier == "header" and key is not None
    and key.type == "feed" and "delete" in _perms(key) and "add" not in _perms(key) else op),
    "view_delete_key_refused_in_x_apikey", "§1.2 [doc] + §5.3 [doc]: a view+delete feed key (without add) may "
    "not delete a Universal package with X-ApiKey (as Basic or ?key= it may).")

view_key_posts_upack = _named(_access(
    lambda s, p, key, feed, op: True if op == "publish" and "view" in _perms(key)
    and flask_request.method == "POST" and flask_request.path.startswith("/upack/") else op),
    "view_key_posts_upack", "§5.3 [doc] + §5.1 [doc]: a view-only feed key uploads with POST /upack/«feed»/upload "
    "(Add/Repackage is checked on Inedo.UPack's PUT only).")


def pypi_project_not_normalized(server: MockProGet) -> None:
    """§4.3 [std] (PEP 503): the project page ``/simple/«project»/`` lists the files whose
    name as uploaded is «project» exactly, so a package called ``Foo_Bar`` is not found at
    its normalized ``foo-bar`` (the path pip asks for)."""
    backend = server.backend
    original = backend.find_packages

    def find(principal: Any, feed: str, feed_type: str, name_key: str | None = None) -> Any:
        found = original(principal, feed, feed_type, name_key)
        if feed_type == "pypi" and name_key is not None and "/simple/" in flask_request.path:
            asked = flask_request.path.split("/simple/", 1)[1].strip("/")
            found = [p for p in found if p.name == asked]
        return found
    backend.find_packages = find  # type: ignore[method-assign]


def _group_dropped(environ: dict[str, Any]) -> None:
    path = environ.get("PATH_INFO", "")
    found = re.fullmatch(r"(/upack/[^/]+/download/)[^/]+/([^/]+/[^/]+)", path)
    if found and environ.get("REQUEST_METHOD") == "GET":
        environ["PATH_INFO"] = found.group(1) + "mockproget/" + found.group(2)


upack_group_ignored_on_download = _named(_feed_request(_group_dropped), "upack_group_ignored_on_download",
                                         "§5.1 [doc]: a Universal download ignores the group in its path: "
                                         "download/«any group»/«name»/«version» gives the package.")


def _oldest_personal_only(server: MockProGet, p: Any, key: Any, feed: str, op: str) -> str | None | bool:
    if key is None or key.type != "personal":
        return op
    own = [k.id for k in server.backend._keys.values() if k.type == "personal" and k.user == key.user]
    return op if key.id == min(own) else None


second_personal_key_refused_on_feeds = _named(_access(_oldest_personal_only), "second_personal_key_refused_on_feeds",
                                              "§1.2 [doc]: only a user's oldest personal key works on the feed "
                                              "endpoints; a second one of the same user is refused.")


def deleting_a_personal_key_disables_the_others(server: MockProGet) -> None:
    """§1.2 [doc] + api-keys §3 [doc]: deleting one personal key of a user stops every other
    personal key of that user from working on the feed endpoints."""
    users: set[str | None] = set()
    on_personal_delete(server, lambda key: users.add(key.user))
    _access(lambda s, p, key, feed, op: None if key is not None and key.type == "personal" and key.user in users
            else op)(server)


def nuget_delete_id_case_sensitive(server: MockProGet) -> None:
    """§2 [std]: ``DELETE /nuget/«feed»/«id»/«version»`` finds the package only when «id» is
    in the letter case it was pushed with (NuGet ids are case-insensitive): otherwise 404."""
    backend = server.backend
    original = backend.delete_packages

    def delete(principal: Any, feed: str, feed_type: str, ident: tuple[str, ...]) -> Any:
        if feed_type == "nuget":
            asked = flask_request.path.split("/")[3]
            pushed = {p.name for p in backend.packages if p.feed == feed and p.name.lower() == asked.lower()}
            if pushed and asked not in pushed:
                from mockproget.errors import NotFound
                raise NotFound(f"There is no package {asked} in feed {feed}.")
        return original(principal, feed, feed_type, ident)
    backend.delete_packages = delete  # type: ignore[method-assign]

#: (mutant, feed type, target feed) run by URL: some feed clause must fail. (``T-a`` is in
#: the feed group ``T-grp``, ``T-c`` in none: feeds_config.)
FEED_MUTANTS: list[tuple[Mutant, str, str]] = [
    (deleted_group_key_works, "universal", "universal-c"),
    (deleted_group_key_works, "npm", "npm-c"),
    (expired_group_key_works, "universal", "universal-a"),
    (expired_group_key_works, "pypi", "pypi-a"),
    (anonymous_deletes_packages, "universal", "universal-c"),
    (anonymous_deletes_packages, "nuget", "nuget-c"),
    (anonymous_post_upload, "universal", "universal-c"),
    (view_key_publishes_scoped, "npm", "npm-c"),
    (view_key_posts_upack, "universal", "universal-c"),
    (pypi_project_not_normalized, "pypi", "pypi-c"),
    (upack_group_ignored_on_download, "universal", "universal-c"),
    (second_personal_key_refused_on_feeds, "npm", "npm-c"),
    (nuget_delete_id_case_sensitive, "nuget", "nuget-c"),
    (deleting_a_personal_key_disables_the_others, "universal", "universal-c"),
    (view_delete_key_refused_in_x_apikey, "universal", "universal-c"),
]


@pytest.mark.filterwarnings("ignore:test package")
@pytest.mark.parametrize("mutant, feed_type, feed", FEED_MUTANTS,
                         ids=[f"{m.__name__}-{f}" for m, _, f in FEED_MUTANTS])
def test_feed_clauses_catch_the_mutant(mutant: Mutant, feed_type: str, feed: str) -> None:
    """proget-feeds §1-§5 [doc][std]: some feed clause, run by URL, fails."""
    found = feed_verdicts(mutant, feed_type, feed=feed)
    assert found, mutant.__doc__
    assert all(ADMIN_KEY not in message for message in found.values())


@pytest.mark.filterwarnings("ignore:test package")
@pytest.mark.parametrize("feed_type, feed", [("universal", "universal-a"), ("pypi", "pypi-a"),
                                             ("nuget", "nuget-c"), ("npm", "npm-c")])
def test_the_unbroken_mock_passes_the_feed_clauses(feed_type: str, feed: str) -> None:
    """No false alarm (proget-feeds §1-§5): the feed clauses pass by URL on the mock as it
    is, with the feeds the mutants above use (one in the feed group, one outside it)."""
    assert feed_verdicts(lambda server: None, feed_type, feed=feed) == {}


# -- §5 [doc]: a setting honoured in one carrier, or not at once (the embedded mock) --------------

def _pseudo_key_admin(server: MockProGet, when: Callable[[str, str], bool]) -> None:
    """A pseudo-key (a credential with a colon that is no key) for which ``when(carrier,
    value)`` holds acts as the admin."""
    def app(inner: Any, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        for carrier, value in _credentials(environ, rebuffer(environ)):
            if ":" in value and _key_of(server, value) is None and when(carrier, value):
                environ["HTTP_X_APIKEY"] = ADMIN_KEY
            break
        return inner(environ, start_response)
    _wrap(server, app)


def pseudo_keys_off_in_the_header_only(server: MockProGet) -> None:
    """§5 [doc] + §3 [doc]: with pseudo-keys not permitted, ``user:password`` is refused in
    X-ApiKey but still works as ``?key=``, a form ``key`` or ``API_Key``."""
    _pseudo_key_admin(server, lambda carrier, value: carrier != "header" and not server.backend.settings.pseudo_keys
                      and value == "Admin:Admin")


def pseudo_key_remembered_past_the_setting(server: MockProGet) -> None:
    """§5 [doc]: a pseudo-key that authenticated while pseudo-keys were permitted keeps
    working once they are not (its login is remembered)."""
    seen: set[str] = set()

    def when(carrier: str, value: str) -> bool:
        if server.backend.settings.pseudo_keys:
            if value == "Admin:Admin":
                seen.add(value)
            return False
        return value in seen
    _pseudo_key_admin(server, when)


def _settings_lenient(change: Callable[[MockProGet, dict[str, Any]], dict[str, Any] | None]) -> Mutant:
    """The create body is "repaired" by ``change(server, body)`` (``None``: left as it is)
    before the mock judges it."""
    def apply(server: MockProGet) -> None:
        def hook(environ: dict[str, Any], body: bytes) -> bytes:
            data = _json_body(body)
            if environ.get("PATH_INFO") == CREATE and isinstance(data, dict):
                changed = change(server, data)
                if changed is not None:
                    return json.dumps(changed).encode()
            return body
        server.app.wsgi_app = Tamper(server.app.wsgi_app, request=hook)  # type: ignore[method-assign]
    return apply


def _kind_of(data: dict[str, Any]) -> str:
    return str(next((v for k, v in data.items() if k.lower() == "type"), "")).lower()


expiration_required_of_system_keys_only = _named(_settings_lenient(
    lambda server, d: {**d, "expiration": "2099-01-01T00:00:00"} if server.backend.settings.require_expiration
    and _kind_of(d) != "system" and not any(k.lower() == "expiration" for k in d) else None),
    "expiration_required_of_system_keys_only", "§5 [doc]: with expiring keys required, a feed or personal key "
    "without an expiration is created (given a far one); only system keys must name one.")
custom_key_dropped_for_personal_keys = _named(_settings_lenient(
    lambda server, d: {k: v for k, v in d.items() if k.lower() != "key"} if _kind_of(d) == "personal"
    and (server.backend.settings.hash_keys or not server.backend.settings.custom_keys) else None),
    "custom_key_dropped_for_personal_keys", "§5 [doc]: where custom keys are not taken (hashed, or not allowed), a "
    "personal key's custom key is silently replaced by a generated one instead of being refused.")


def _feed_key_texts_listed(server: MockProGet) -> Mutant:
    def hook(environ: dict[str, Any], status: str, headers: list[tuple[str, str]], body: bytes) -> Answer:
        data = _json_body(body)
        if environ.get("PATH_INFO") == LIST and status.startswith("200") and isinstance(data, list) \
                and server.backend.settings.hash_keys:
            texts = {k.id: server.backend._key_texts.get(k.digest) for k in server.backend.api_keys}
            data = [{**k, "key": texts[k["id"]]} if k.get("type") == "feed" and texts.get(k["id"]) else k
                    for k in data]
            body = json.dumps(data).encode()
        return status, headers, body
    return _answers(hook)


def hashed_mode_lists_feed_key_texts(server: MockProGet) -> None:
    """§2 [doc] + §5 [doc]: an instance that hashes keys still lists the text of feed keys
    (system and personal keys are listed without it)."""
    _feed_key_texts_listed(server)(server)


#: (mutant, the instance clause that must fail) run as the embedded mock.
SETTING_MUTANTS: list[tuple[Mutant, str]] = [
    (pseudo_keys_off_in_the_header_only, "test_pseudo_keys_switched_off"),
    (pseudo_key_remembered_past_the_setting, "test_pseudo_keys_switched_off"),
    (expiration_required_of_system_keys_only, "test_expiring_keys_required"),
    (custom_key_dropped_for_personal_keys, "test_custom_keys_switched_off"),
    (custom_key_dropped_for_personal_keys, "test_hashed_keys"),
    (hashed_mode_lists_feed_key_texts, "test_hashed_keys"),
]
SETTING_CLAUSES = sorted({name for _, name in SETTING_MUTANTS})


def _instance_clause(mutant: Mutant | None, name: str) -> None:
    from mockproget import Config
    from mockproget_contracts import Target
    from mockproget_contracts.test_instance import InstanceClauses

    with MockProGet(Config(port=0), admin_key=ADMIN_KEY) as server:
        if mutant is not None:
            mutant(server)
        with Target.for_mock(server, max_examples=2) as target:
            client = target.client()
            try:
                getattr(InstanceClauses(), name)(target, client)
            finally:
                client.cleanup()
                client.close()


@pytest.mark.parametrize("mutant, name", SETTING_MUTANTS, ids=[f"{m.__name__}-{n}" for m, n in SETTING_MUTANTS])
def test_setting_clauses_catch_the_mutant(mutant: Mutant, name: str) -> None:
    """§5 [doc] (instance settings: the embedded mock only): the setting's clause fails."""
    from mockproget_contracts.client import ContractViolation

    with pytest.raises(ContractViolation):
        _instance_clause(mutant, name)


@pytest.mark.parametrize("name", SETTING_CLAUSES)
def test_setting_clauses_pass_on_the_unbroken_mock(name: str) -> None:
    """No false alarm (§5): the same clauses pass on the mock as it is."""
    _instance_clause(None, name)
