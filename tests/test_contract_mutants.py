"""Mutation hunt: the contract kit catches subtle departures it was not written against.

Each mutant is the mock with one small deviation from a [doc], [client] or [std] rule of
the api-keys spec (§1-§7) or the feeds spec (§1, §5), of the kind a real implementation
gets wrong: a rule honoured for one carrier, endpoint or key type only, a side effect
behind a refusal, an error body of the wrong type on one path, a field changed for one
key type in the list, an expiry a little late, a lenient id. ``mockproget verify`` runs
against each (only the clauses that concern the rule) and must exit 1 naming a clause;
the unbroken mock passes the same selection.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
import requests

from feedkit import feeds_config
from mockproget import Forbidden, MockProGet
from mockproget.cli import main as cli_main
from mockproget.models import digest
from mockproget_contracts import Target
from mockproget_contracts.client import ContractViolation
from mockproget_contracts.test_feeds import FeedClauses
from test_contract_broken_servers import ADMIN_KEY, Tamper, _json_body, _set_header, rebuffer
from test_contract_broken_shapes import FULL, serve_raw

Mutant = Callable[[MockProGet], None]
Answer = tuple[str, list[tuple[str, str]], bytes]
CREATE, LIST, DELETE = "/api/api-keys/create", "/api/api-keys/list", "/api/api-keys/delete"


def _named(mutant: Mutant, name: str, doc: str) -> Mutant:
    mutant.__name__, mutant.__doc__ = name, doc
    return mutant


def _credentials(environ: dict[str, Any], body: bytes) -> list[tuple[str, str]]:
    """(carrier, value) of every credential the request carries (§3's four places)."""
    found = []
    if environ.get("HTTP_X_APIKEY"):
        found.append(("header", environ["HTTP_X_APIKEY"].strip()))
    found += [("query", v) for k, v in parse_qsl(environ.get("QUERY_STRING", "")) if k == "key"]
    content_type = environ.get("CONTENT_TYPE", "").lower()
    if content_type.startswith("application/x-www-form-urlencoded"):
        found += [("form", v) for k, v in parse_qsl(body.decode("latin-1")) if k == "key"]
    if content_type.startswith("application/json"):
        data = _json_body(body)
        if isinstance(data, dict) and isinstance(data.get("API_Key"), str):
            found.append(("json", data["API_Key"]))
    return found


def _key_of(server: MockProGet, text: str) -> Any:
    key_id = server.backend._by_digest.get(digest(text))
    return server.backend.get_api_key(key_id) if key_id is not None else None


def _as_admin(when: Callable[[MockProGet, dict[str, Any], str, Any], bool]) -> Mutant:
    """Where ``when(server, environ, carrier, key)`` holds for the request's credential
    (``key`` the stored key it names, or ``None``), the request acts as the admin."""
    def apply(server: MockProGet) -> None:
        inner = server.app.wsgi_app

        def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
            body = rebuffer(environ)
            for carrier, value in _credentials(environ, body):
                if when(server, environ, carrier, _key_of(server, value)):
                    environ["HTTP_X_APIKEY"] = ADMIN_KEY  # the header is judged first
                    break
            return inner(environ, start_response)
        server.app.wsgi_app = app  # type: ignore[method-assign]
    return apply


def _expired(key: Any, within: timedelta | None = None) -> bool:
    if key is None or key.expiration is None:
        return False
    when = key.expiration if key.expiration.tzinfo else key.expiration.replace(tzinfo=timezone.utc)
    now = datetime.now(timezone.utc)
    return when <= now and (within is None or now - when < within)


def answer_then_replay(inner: Any, environ: dict[str, Any], start_response: Any, refused: Callable[[str], bool],
                       replay: Callable[[dict[str, Any], bytes], dict[str, Any]]) -> list[bytes]:
    """The request answered as ``inner`` answers it; where ``refused(status line)`` holds,
    it is replayed behind that answer with the environ ``replay(environ as it came, body)``
    makes: the refusal is sent, and the change is made anyway."""
    body = rebuffer(environ)
    saved = dict(environ)
    captured: dict[str, Any] = {}

    def capture(status_line: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        captured["status"], captured["headers"] = status_line, headers
        return lambda data: None
    answer = b"".join(inner(environ, capture))
    if refused(captured["status"]):
        b"".join(inner(replay(saved, body), lambda *a, **k: (lambda data: None)))
    start_response(captured["status"], captured["headers"])
    return [answer]


def _shadow(path: str, status: str) -> Mutant:
    """A request to ``path`` answered ``status`` is replayed as the admin behind the
    answer: the refusal (or 400) is sent, and the change is made anyway."""
    def as_admin(saved: dict[str, Any], body: bytes) -> dict[str, Any]:
        repaired = _repair(body)
        return {**saved, "wsgi.input": io.BytesIO(repaired), "CONTENT_LENGTH": str(len(repaired)),
                "HTTP_X_APIKEY": ADMIN_KEY}

    def apply(server: MockProGet) -> None:
        inner = server.app.wsgi_app

        def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
            if environ.get("PATH_INFO") != path:
                return inner(environ, start_response)
            return answer_then_replay(inner, environ, start_response, lambda line: line.startswith(status), as_admin)
        server.app.wsgi_app = app  # type: ignore[method-assign]
    return apply


def _repair(body: bytes) -> bytes:
    """The create body made valid (for a mutant that stores what it refused)."""
    data = _json_body(body)
    if not isinstance(data, dict):
        return body
    data.pop("API_Key", None)
    kind = str(data.get("type", "system")).lower()
    if kind == "feed":
        data["packagePermissions"] = ["view"]
        if not data.get("feed") and not data.get("feedGroup"):
            data["feed"] = "MyNpmFeed"
        if data.get("feed") and data.get("feedGroup"):
            del data["feedGroup"]
        for name in ("systemApis", "user"):
            data.pop(name, None)
    else:
        data.update(type="system", systemApis=["sca"])
        for name in ("packagePermissions", "feed", "feedGroup", "user"):
            data.pop(name, None)
    data["logging"] = "none"
    return json.dumps(data).encode()


def _response(change: Callable[[dict[str, Any], str, list[tuple[str, str]], bytes],
                               tuple[str, list[tuple[str, str]], bytes]]) -> Mutant:
    def apply(server: MockProGet) -> None:
        server.app.wsgi_app = Tamper(server.app.wsgi_app, response=change)  # type: ignore[method-assign]
    return apply


def _json_error(when: Callable[[dict[str, Any], str], bool]) -> Mutant:
    """Error answers where ``when(environ, status)`` holds come as a JSON object
    (``environ["kit.body"]`` is the request body)."""
    def change(environ: dict[str, Any], status: str, headers: list[tuple[str, str]], body: bytes) -> Answer:
        if when(environ, status):
            body = json.dumps({"error": body.decode("utf-8", "replace")}).encode()
            headers = _set_header(headers, "Content-Type", "application/json; charset=utf-8")
        return status, headers, body

    def apply(server: MockProGet) -> None:
        inner = Tamper(server.app.wsgi_app, response=change)

        def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
            environ["kit.body"] = rebuffer(environ)
            return inner(environ, start_response)
        server.app.wsgi_app = app  # type: ignore[method-assign]
    return apply


def _rewrite_listed(path: str, change: Callable[[dict[str, Any]], dict[str, Any]]) -> Mutant:
    """Each ApiKeyInfo a 200 answer of ``path`` carries goes through ``change``."""
    def hook(environ: dict[str, Any], status: str, headers: list[tuple[str, str]], body: bytes) -> Answer:
        if environ.get("PATH_INFO") == path and status.startswith("200"):
            data = _json_body(body)
            if isinstance(data, list):
                body = json.dumps([change(dict(k)) for k in data]).encode()
            elif isinstance(data, dict):
                body = json.dumps(change(dict(data))).encode()
        return status, headers, body
    return _response(hook)


def _only(kind: str, change: Callable[[dict[str, Any]], dict[str, Any]]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda info: change(info) if info.get("type") == kind else info


def _refuse(when: Callable[[dict[str, Any]], bool], text: str) -> Mutant:
    """A create body for which ``when`` holds is answered 400 with ``text``."""
    def apply(server: MockProGet) -> None:
        inner = server.app.wsgi_app

        def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
            if environ.get("PATH_INFO") == CREATE:
                data = _json_body(rebuffer(environ))
                if isinstance(data, dict) and when(data):
                    start_response("400 BAD REQUEST", [("Content-Type", "text/plain"), ("X-ProGet-Version", "25.0.10"),
                                                       ("X-ProGet-Edition", "Enterprise")])
                    return [text.encode()]
            return inner(environ, start_response)
        server.app.wsgi_app = app  # type: ignore[method-assign]
    return apply


def _lenient(change: Callable[[dict[str, Any]], dict[str, Any] | None]) -> Mutant:
    """The create body is "repaired" by ``change`` (``None``: left as it is) before the
    mock judges it: the server accepts what it should refuse."""
    def apply(server: MockProGet) -> None:
        def hook(environ: dict[str, Any], body: bytes) -> bytes:
            data = _json_body(body)
            if environ.get("PATH_INFO") == CREATE and isinstance(data, dict):
                changed = change({k: v for k, v in data.items()})
                if changed is not None:
                    return json.dumps(changed).encode()
            return body
        server.app.wsgi_app = Tamper(server.app.wsgi_app, request=hook)  # type: ignore[method-assign]
    return apply


def _lower_keys(data: dict[str, Any]) -> dict[str, Any]:
    return {k.lower(): v for k, v in data.items()}


def _drop(data: dict[str, Any], name: str) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k.lower() != name.lower()}


# -- §3/§4: a rule honoured on some endpoints or carriers only ------------------------------

feed_key_deletes_keys = _named(_as_admin(
    lambda s, e, carrier, key: key is not None and key.type == "feed" and e.get("PATH_INFO") == DELETE),
    "feed_key_deletes_keys", "§4 [doc]: a feed key is refused on list and create, but may delete keys.")
feed_key_manages_keys_in_query = _named(_as_admin(
    lambda s, e, carrier, key: key is not None and key.type == "feed" and carrier == "query"),
    "feed_key_manages_keys_in_query", "§4 [doc]: a feed key manages keys when it comes in the querystring.")
expired_key_deletes = _named(_as_admin(
    lambda s, e, carrier, key: _expired(key) and e.get("PATH_INFO") == DELETE),
    "expired_key_deletes", "§2 [doc]: an expired key is refused on list and create, but still deletes.")
expired_key_in_api_key_works = _named(_as_admin(
    lambda s, e, carrier, key: _expired(key) and carrier == "json"),
    "expired_key_in_api_key_works", "§2 [doc]: an expired key still authenticates as the API_Key JSON property.")
expiry_two_minutes_late = _named(_as_admin(
    lambda s, e, carrier, key: _expired(key, timedelta(minutes=2))),
    "expiry_two_minutes_late", "§2 [doc]: a key keeps authenticating for two minutes past its expiration.")
expired_personal_key_works = _named(_as_admin(
    lambda s, e, carrier, key: _expired(key) and key.type == "personal"),
    "expired_personal_key_works", "§2 [doc]: expiration is enforced for system keys, never for personal keys.")
expired_personal_key_writes = _named(_as_admin(
    lambda s, e, carrier, key: _expired(key) and key.type == "personal" and e.get("PATH_INFO") != LIST),
    "expired_personal_key_writes", "§2 [doc]: an expired personal key is refused on list, yet still creates "
                                   "and deletes (the user's own keys).")


def on_personal_delete(server: MockProGet, note: Callable[[Any], None]) -> None:
    """Have ``note(key)`` called with each personal key the backend deletes."""
    backend = server.backend
    delete = backend.delete_api_key

    def remember(principal: Any, key_id: int) -> None:
        key = backend.get_api_key(key_id)
        delete(principal, key_id)
        if key is not None and key.type == "personal":
            note(key)
    backend.delete_api_key = remember  # type: ignore[method-assign]


def deleted_personal_key_works(server: MockProGet) -> None:
    """§3 [doc]: a deleted personal key keeps authenticating (system keys are refused)."""
    graveyard: set[bytes] = set()
    on_personal_delete(server, lambda key: graveyard.add(key.digest))
    inner = server.app.wsgi_app

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        body = rebuffer(environ)
        if any(digest(v) in graveyard for _, v in _credentials(environ, body)):
            environ["HTTP_X_APIKEY"] = ADMIN_KEY
        return inner(environ, start_response)
    server.app.wsgi_app = app  # type: ignore[method-assign]


# -- §3/§6: a refusal with a side effect --------------------------------------------------------

refused_create_still_creates = _named(_shadow(CREATE, "403"), "refused_create_still_creates",
                                      "§3 [doc]: a create refused with 403 creates the key all the same.")
refused_delete_still_deletes = _named(_shadow(DELETE, "403"), "refused_delete_still_deletes",
                                      "§3 [doc]: a delete refused with 403 deletes the key all the same.")
invalid_create_half_written = _named(_shadow(CREATE, "400"), "invalid_create_half_written",
                                     "§6 [doc]: a create refused with 400 stores a key all the same.")


# -- §6: error bodies and headers on some paths only ------------------------------------------

refused_delete_answers_json = _named(
    _json_error(lambda e, status: status.startswith("403") and e.get("PATH_INFO") == DELETE),
    "refused_delete_answers_json", "§6 [doc]: a refused delete explains itself in JSON, not text/plain.")
refused_query_key_answers_json = _named(
    _json_error(lambda e, status: status.startswith("403") and "key=" in e.get("QUERY_STRING", "")),
    "refused_query_key_answers_json", "§6 [doc]: a refused ?key= credential gets a JSON body, not text/plain.")
invalid_feed_key_answers_json = _named(
    _json_error(lambda e, status: status.startswith("400") and b'"feed"' in e.get("kit.body", b"").lower()),
    "invalid_feed_key_answers_json", "§6 [doc]: a 400 answer comes as JSON (an error object), not text/plain.")
version_headers_missing_on_delete = _named(_response(
    lambda e, status, headers, body: (status, _set_header(_set_header(headers, "X-ProGet-Version", None),
                                                          "X-ProGet-Edition", None)
                                      if e.get("PATH_INFO") == DELETE else headers, body)),
    "version_headers_missing_on_delete", "§6 [client]: no X-ProGet-Version / X-ProGet-Edition on delete answers.")
version_headers_missing_on_refused_list = _named(_response(
    lambda e, status, headers, body: (status, _set_header(_set_header(headers, "X-ProGet-Version", None),
                                                          "X-ProGet-Edition", None)
                                      if e.get("PATH_INFO") == LIST and status.startswith("403") else headers, body)),
    "version_headers_missing_on_refused_list", "§6 [client]: no X-ProGet-* headers when a list is refused.")
edition_lowercase_on_refusals = _named(_response(
    lambda e, status, headers, body: (status, _set_header(headers, "X-ProGet-Edition", "enterprise")
                                      if status.startswith("403") else headers, body)),
    "edition_lowercase_on_refusals", "§6 [client]: X-ProGet-Edition is 'enterprise' (not Enterprise) on 403 answers.")
refusal_is_401 = _named(_response(
    lambda e, status, headers, body: ("401 UNAUTHORIZED" if status.startswith("403") and e.get("REQUEST_METHOD") == "POST"
                                      else status, headers, body)),
    "refusal_is_401", "§3 [doc]: a refused create or delete answers 401 (the list answers 403).")


# -- §1/§2: the list and the create answer, for one key type only -----------------------------

list_feed_permissions_pascal = _named(_rewrite_listed(LIST, _only("feed", lambda k: {
    **k, "packagePermissions": [p.title() for p in k.get("packagePermissions", [])]})),
    "list_feed_permissions_pascal", "§2 [doc]: listed feed keys write packagePermissions as View/Add, not view/add.")
list_personal_id_string = _named(_rewrite_listed(LIST, _only("personal", lambda k: {**k, "id": str(k["id"])})),
                                 "list_personal_id_string", "§2 [doc]: listed personal keys carry their id as a string.")
create_feed_answer_id_string = _named(_rewrite_listed(CREATE, _only("feed", lambda k: {**k, "id": str(k["id"])})),
                                      "create_feed_answer_id_string",
                                      "§6 [client]: the create answer of a feed key carries its id as a string.")
list_feed_description_dropped = _named(_rewrite_listed(LIST, _only("feed", lambda k: _drop(k, "description"))),
                                       "list_feed_description_dropped",
                                       "§2 [doc]: listed feed keys lose their description.")
list_feed_logging_none = _named(_rewrite_listed(LIST, _only("feed", lambda k: {**k, "logging": "none"})),
                                "list_feed_logging_none", "§2 [doc]: listed feed keys always show logging 'none'.")
list_personal_user_dropped = _named(_rewrite_listed(LIST, _only("personal", lambda k: _drop(k, "user"))),
                                    "list_personal_user_dropped", "§2 [doc]: listed personal keys lose their user.")
list_system_apis_pascal = _named(_rewrite_listed(LIST, _only("system", lambda k: {
    **k, "systemApis": [a.title() for a in k.get("systemApis", [])]})),
    "list_system_apis_pascal", "§2 [doc]: listed system keys write systemApis as Feeds/Sca, not lower-case.")
list_expiration_dropped_for_feed_keys = _named(_rewrite_listed(
    LIST, _only("feed", lambda k: _drop(k, "expiration"))), "list_expiration_dropped_for_feed_keys",
    "§2 [doc]: listed feed keys lose their expiration.")


def non_ascii_names_mangled(server: MockProGet) -> None:
    """§2 [doc]: the create body is decoded as Latin-1, so a display name or description
    with non-ASCII letters comes back mangled."""
    def hook(environ: dict[str, Any], body: bytes) -> bytes:
        if environ.get("PATH_INFO") == CREATE:
            try:
                return body.decode("utf-8").encode("utf-8").decode("latin-1").encode("utf-8")
            except UnicodeError:
                return body
        return body
    server.app.wsgi_app = Tamper(server.app.wsgi_app, request=hook)  # type: ignore[method-assign]


# -- §2/§7: validation that refuses what is valid, or takes what is not -----------------------

pascal_request_logging_refused = _named(_refuse(
    lambda d: _lower_keys(d).get("logging") in ("Request", "Response"), "logging: unknown value"),
    "pascal_request_logging_refused", "§7 [client]: pgutil's \"logging\":\"Request\"/\"Response\" is refused "
    "(None and Both are taken).")
promote_alone_refused = _named(_refuse(
    lambda d: _lower_keys(d).get("packagepermissions") == ["promote"], "packagePermissions: promote needs view"),
    "promote_alone_refused", "§2 [doc]: a feed key with only the promote permission is refused.")
sbom_upload_alone_refused = _named(_refuse(
    lambda d: _lower_keys(d).get("systemapis") == ["sbom-upload"], "systemApis: sbom-upload needs feeds"),
    "sbom_upload_alone_refused", "§2 [doc]: a system key with only sbom-upload is refused.")
personal_with_system_apis_accepted = _named(_lenient(
    lambda d: _drop(d, "systemApis") if str(_lower_keys(d).get("type")).lower() == "personal" else None),
    "personal_with_system_apis_accepted", "§2 [doc]: a personal key with systemApis is created (they are dropped).")
system_with_feed_accepted = _named(_lenient(
    lambda d: _drop(d, "feed") if str(_lower_keys(d).get("type")).lower() == "system" else None),
    "system_with_feed_accepted", "§2 [doc]: a system key naming a feed is created (the feed is dropped).")
empty_permissions_accepted = _named(_lenient(
    lambda d: {**_drop(d, "packagePermissions"), "packagePermissions": ["view"]}
    if _lower_keys(d).get("packagepermissions") == [] else None),
    "empty_permissions_accepted", "§2 [doc]: a feed key with an empty packagePermissions is created (as view).")
full_control_with_others_accepted = _named(_lenient(
    lambda d: {**_drop(d, "systemApis"), "systemApis": ["full-control"]}
    if isinstance(_lower_keys(d).get("systemapis"), list) and "full-control" in _lower_keys(d)["systemapis"]
    and len(_lower_keys(d)["systemapis"]) > 1 else None),
    "full_control_with_others_accepted", "§2 [doc]: full-control together with other APIs is created.")
feed_key_with_user_accepted = _named(_lenient(
    lambda d: _drop(d, "user") if str(_lower_keys(d).get("type")).lower() == "feed" else None),
    "feed_key_with_user_accepted", "§2 [doc]: a feed key naming a user is created (the user is dropped).")


def delete_id_parsed_leniently(server: MockProGet) -> None:
    """§1 [doc]: ``delete?id=N`` takes the leading digits of ``id`` (``5x`` deletes key 5)."""
    def hook(environ: dict[str, Any], body: bytes) -> bytes:
        if environ.get("PATH_INFO") == DELETE:
            pairs = []
            for name, value in parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True):
                if name == "id":
                    value = (re.match(r"\s*[+-]?\d*", value) or re.match("", value)).group(0).strip() or value  # type: ignore[union-attr]
                pairs.append((name, value))
            environ["QUERY_STRING"] = urlencode(pairs)
        return body
    server.app.wsgi_app = Tamper(server.app.wsgi_app, request=hook)  # type: ignore[method-assign]


def header_trailing_space_refused(server: MockProGet) -> None:
    """§3 [doc] + RFC 9110 §5.5 [std]: whitespace after the X-ApiKey value is kept as part
    of the key, so the key is refused."""
    inner = server.app.wsgi_app

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        raw = environ.get("kit.raw_apikey")
        if raw is not None and raw != raw.rstrip():
            environ["HTTP_X_APIKEY"] = raw.strip() + "-"
        return inner(environ, start_response)
    server.app.wsgi_app = app  # type: ignore[method-assign]


def list_feed_keys_twice(environ: dict[str, Any], status: str, headers: list[tuple[str, str]], body: bytes) -> Answer:
    if environ.get("PATH_INFO") == LIST and status.startswith("200"):
        data = _json_body(body)
        if isinstance(data, list):
            body = json.dumps(data + [k for k in data if k.get("type") == "feed"]).encode()
    return status, headers, body


list_feed_keys_twice_mutant = _named(_response(list_feed_keys_twice), "list_feed_keys_twice",
                                     "§2 [doc]: the list shows every feed key twice (ids are unique).")


def api_key_kept_as_description(server: MockProGet) -> None:
    """§2 [doc]: the caller's ``API_Key`` becomes the new key's description when none is
    given (the credential leaks into the list)."""
    def hook(environ: dict[str, Any], body: bytes) -> bytes:
        data = _json_body(body)
        if environ.get("PATH_INFO") == CREATE and isinstance(data, dict) and isinstance(data.get("API_Key"), str) \
                and not data.get("description"):
            data["description"] = data["API_Key"]
            return json.dumps(data).encode()
        return body
    server.app.wsgi_app = Tamper(server.app.wsgi_app, request=hook)  # type: ignore[method-assign]


create_group_answer_as_feed = _named(_rewrite_listed(CREATE, lambda k: {
    **_drop(k, "feedGroup"), "feed": k["feedGroup"]} if k.get("feedGroup") else k),
    "create_group_answer_as_feed", "§2 [doc]: the create answer of a feed-group key names the group as its feed.")
list_group_key_with_a_feed = _named(_rewrite_listed(LIST, lambda k: {**k, "feed": "MyNpmFeed"} if k.get("feedGroup") else k),
                                    "list_group_key_with_a_feed",
                                    "§2 [doc]: listed feed-group keys also name a feed (exactly one of the two).")


chunked_400_without_body = _named(_response(
    lambda e, status, headers, body: (status, headers, b"" if "kit.chunk_lines" in e and status.startswith("400")
                                      else body)),
    "chunked_400_without_body", "§6 [doc]: a 400 answer to a chunked request (pgutil's creates) has an empty body.")
chunked_answers_without_headers = _named(_response(
    lambda e, status, headers, body: (status, _set_header(_set_header(headers, "X-ProGet-Version", None),
                                                          "X-ProGet-Edition", None)
                                      if "kit.chunk_lines" in e and not status.startswith("200") else headers, body)),
    "chunked_answers_without_headers", "§6 [client]: a refused chunked create (pgutil's) has no X-ProGet-* headers.")


def _ids(server: MockProGet, environ: dict[str, Any]) -> int | None:
    try:
        return int(dict(parse_qsl(environ.get("QUERY_STRING", ""))).get("id", ""))
    except ValueError:
        return None


def negative_id_counts_from_the_end(server: MockProGet) -> None:
    """§1 [doc]: ``delete?id=-1`` deletes the newest key (ids taken as list positions)."""
    def hook(environ: dict[str, Any], body: bytes) -> bytes:
        wanted = _ids(server, environ) if environ.get("PATH_INFO") == DELETE else None
        if wanted is not None and wanted < 0:
            ids = sorted(k.id for k in server.backend.api_keys)
            if len(ids) >= -wanted:
                environ["QUERY_STRING"] = urlencode([("id", str(ids[wanted]))])
        return body
    server.app.wsgi_app = Tamper(server.app.wsgi_app, request=hook)  # type: ignore[method-assign]


def huge_id_is_500(server: MockProGet) -> None:
    """§8 [doc]: a delete of an id past a 32-bit integer answers 500 (an overflow), not 200 or a 4xx."""
    inner = server.app.wsgi_app

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        wanted = _ids(server, environ) if environ.get("PATH_INFO") == DELETE else None
        if wanted is not None and wanted > 2**31 - 1:
            start_response("500 INTERNAL SERVER ERROR", [("Content-Type", "text/plain")])
            return [b"System.OverflowException: Value was either too large or too small for an Int32."]
        return inner(environ, start_response)
    server.app.wsgi_app = app  # type: ignore[method-assign]


def _judged_without_offset_minutes(server: MockProGet, environ: dict[str, Any], carrier: str, key: Any) -> bool:
    """An expired key whose offset has minutes (``+05:30``), judged with the minutes of
    the offset dropped, is not expired yet."""
    if key is None or key.expiration is None or key.expiration.tzinfo is None:
        return False
    offset = key.expiration.utcoffset() or timedelta()
    minutes = timedelta(minutes=(abs(offset) // timedelta(minutes=1)) % 60)
    shifted = key.expiration + (minutes if offset >= timedelta() else -minutes)
    return _expired(key) and shifted > datetime.now(timezone.utc)


offset_minutes_ignored = _named(_as_admin(_judged_without_offset_minutes), "offset_minutes_ignored",
                                "§2 [doc]: an expiration at +05:30 is judged as if at +05:00 (the minutes of "
                                "the offset dropped), so the key outlives it by half an hour; the list shows it "
                                "as sent.")


def chunked_only_in_lower_case(server: MockProGet) -> None:
    """§7 [client] + RFC 9112 §7 [std]: ``Transfer-Encoding: Chunked`` (not all lower
    case) is not taken for chunked: the body is read as empty."""
    inner = server.app.wsgi_app

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ.get("kit.transfer_coding", "chunked") != "chunked":
            environ["wsgi.input"], environ["CONTENT_LENGTH"] = io.BytesIO(b""), "0"
        return inner(environ, start_response)
    server.app.wsgi_app = app  # type: ignore[method-assign]


def delete_disables_the_next_key(server: MockProGet) -> None:
    """§1 [doc]: deleting key N also stops key N+1 from authenticating (an off-by-one in
    the index of key texts); N+1 stays listed."""
    backend = server.backend
    delete = backend.delete_api_key

    def off_by_one(principal: Any, key_id: int) -> None:
        delete(principal, key_id)
        following = backend.get_api_key(key_id + 1)
        if following is not None:
            with backend._lock:
                backend._by_digest.pop(following.digest, None)
    backend.delete_api_key = off_by_one  # type: ignore[method-assign]


def one_personal_key_per_user(server: MockProGet) -> None:
    """§2 [doc]: a user has at most one personal key: creating another silently deletes
    the one before (both were answered 200)."""
    backend = server.backend
    create = backend.create_api_key

    def replacing(principal: Any, new: Any) -> Any:
        result = create(principal, new)
        if new.type == "personal":
            with backend._lock:
                older = [k for k in backend._keys.values() if k.type == "personal" and k.user == new.user
                         and k.id != result[0].id]
            for key in older:
                backend.delete_api_key(principal, key.id)
        return result
    backend.create_api_key = replacing  # type: ignore[method-assign]


def key_before_a_colon_accepted(server: MockProGet) -> None:
    """§3 [doc]: ``«key»:anything`` is taken as the key (the part before the colon is
    looked up as a key before trying a pseudo-key)."""
    inner = server.app.wsgi_app

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        body = rebuffer(environ)
        for _, value in _credentials(environ, body):
            head, colon, _ = value.partition(":")
            if colon and _key_of(server, head) is not None:
                environ["HTTP_X_APIKEY"] = head
                break
        return inner(environ, start_response)
    server.app.wsgi_app = app  # type: ignore[method-assign]


def health_refuses_a_key(server: MockProGet) -> None:
    """§1 [doc]: /health answers 403 to a request that carries a key (it is for anonymous
    callers only)."""
    inner = server.app.wsgi_app

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "").startswith("/health") and environ.get("HTTP_X_APIKEY"):
            start_response("403 FORBIDDEN", [("Content-Type", "text/plain")])
            return [b"/health takes no API key."]
        return inner(environ, start_response)
    server.app.wsgi_app = app  # type: ignore[method-assign]


def chunked_create_defaults_logging(server: MockProGet) -> None:
    """§2 [doc]: a chunked create (pgutil's streaming writer) without ``logging`` gets
    ``none`` instead of a 400: the required property is checked on Content-Length bodies only."""
    def hook(environ: dict[str, Any], body: bytes) -> bytes:
        data = _json_body(body)
        if environ.get("PATH_INFO") == CREATE and "kit.chunk_lines" in environ and isinstance(data, dict) \
                and not any(k.lower() == "logging" for k in data):
            data["logging"] = "none"
            return json.dumps(data).encode()
        return body
    server.app.wsgi_app = Tamper(server.app.wsgi_app, request=hook)  # type: ignore[method-assign]


#: (mutant, -k expression choosing the clauses about it, a clause that must fail)
MUTANTS: list[tuple[Mutant, str, str]] = [
    (feed_key_deletes_keys, "feed_key", "test_feed_key_cannot_manage_keys"),
    (feed_key_manages_keys_in_query, "feed_key", "test_feed_key_cannot_manage_keys"),
    (expired_key_deletes, "expired", "test_expired_key_is_refused"),
    (expired_key_in_api_key_works, "expired", "test_expired_key_is_refused"),
    (expiry_two_minutes_late, "instant", "test_expiration_is_an_instant"),
    (expired_personal_key_works, "expired_personal", "test_expired_personal_key_is_refused"),
    (expired_personal_key_writes, "expired_personal", "test_expired_personal_key_is_refused"),
    (deleted_personal_key_works, "stateful", "test_stateful_create_list_delete_authenticate"),
    (refused_create_still_creates, "unknown_key or refus", "refus"),
    (refused_delete_still_deletes, "unknown_key or refus", "refus"),
    (invalid_create_half_written, "invalid_body", "test_invalid_body_is_refused"),
    (refused_delete_answers_json, "refusal_is_explained or unknown_key", "refus"),
    (refused_query_key_answers_json, "refusal_is_explained or carrier_refuses", "refus"),
    (invalid_feed_key_answers_json, "invalid_body and feed", "test_invalid_body_is_refused"),
    (version_headers_missing_on_delete, "every_answer", "test_every_answer_carries_the_proget_headers"),
    (version_headers_missing_on_refused_list, "every_answer", "test_every_answer_carries_the_proget_headers"),
    (edition_lowercase_on_refusals, "headers", "headers"),
    (refusal_is_401, "refus or unknown_key", "refus"),
    (list_feed_permissions_pascal, "list_answers or pgutil_creates_feed", "feed"),
    (list_personal_id_string, "list_answers or pgutil_creates_personal", "personal"),
    (create_feed_answer_id_string, "pgutil_creates_feed or valid_feed", "feed"),
    (list_feed_description_dropped, "round_trip or valid_feed", "feed"),
    (list_feed_logging_none, "round_trip or valid_feed", "feed"),
    (list_personal_user_dropped, "pgutil_creates_personal or valid_personal", "personal"),
    (list_system_apis_pascal, "list_answers or valid_system", "system"),
    (list_expiration_dropped_for_feed_keys, "valid_feed", "test_valid_feed_keys_are_created"),
    (non_ascii_names_mangled, "round_trip", "test_round_trip"),
    (pascal_request_logging_refused, "valid_system or valid_feed", "valid"),
    (promote_alone_refused, "valid_feed", "test_valid_feed_keys_are_created"),
    (sbom_upload_alone_refused, "valid_system or system_api_combination", "system"),
    (personal_with_system_apis_accepted, "invalid_body", "test_invalid_body_is_refused"),
    (system_with_feed_accepted, "invalid_body", "test_invalid_body_is_refused"),
    (empty_permissions_accepted, "invalid_body", "test_invalid_body_is_refused"),
    (full_control_with_others_accepted, "invalid_body", "test_invalid_body_is_refused"),
    (feed_key_with_user_accepted, "invalid_body", "test_invalid_body_is_refused"),
    (delete_id_parsed_leniently, "delete_id", "test_delete_id_must_be_the_whole_number"),
    (header_trailing_space_refused, "good_credential", "test_good_credential_in_every_shape"),
    (list_feed_keys_twice_mutant, "valid_feed or pgutil_creates_feed", "feed"),
    (api_key_kept_as_description, "good_credential", "test_good_credential_in_every_shape"),
    (create_group_answer_as_feed, "pgutil_creates_feed_group", "test_pgutil_creates_feed_group_key"),
    (list_group_key_with_a_feed, "pgutil_creates_feed_group", "test_pgutil_creates_feed_group_key"),
    (chunked_400_without_body, "every_answer", "test_every_answer_carries_the_proget_headers"),
    (chunked_answers_without_headers, "every_answer", "test_every_answer_carries_the_proget_headers"),
    (offset_minutes_ignored, "instant", "test_expiration_is_an_instant"),
    (chunked_only_in_lower_case, "framing", "test_every_framing_carries_body_and_credential"),
    (delete_disables_the_next_key, "delete_with_empty_body", "test_delete_with_empty_body_removes_the_key"),
    (one_personal_key_per_user, "stateful", "test_stateful_create_list_delete_authenticate"),
    (key_before_a_colon_accepted, "near_miss", "test_near_miss_credentials_are_refused"),
    (health_refuses_a_key, "health", "test_health_needs_no_key"),
    (chunked_create_defaults_logging, "invalid_body and logging", "test_invalid_body_is_refused[logging-is-required]"),
    (negative_id_counts_from_the_end, "unknown_id", "test_delete_of_an_unknown_id"),
    (huge_id_is_500, "unknown_id", "test_delete_of_an_unknown_id"),
]


def run_verify(mutant: Mutant, select: str | None, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str], str]:
    with serve_raw(mutant) as (server, url):
        assert requests.get(url + "api/api-keys/list", headers={"X-ApiKey": ADMIN_KEY}, timeout=10).status_code == 200
        code = cli_main(["verify", "--url", url, "--api-key", ADMIN_KEY, *FULL,
                         *(["-k", select] if select else [])])
    out = capsys.readouterr().out
    return code, re.findall(r"^FAIL\s+§\d\s+\[\w+\]\s+(\S+)$", out, re.M), out


@pytest.mark.parametrize("mutant, select, clause", MUTANTS, ids=[m[0].__name__ for m in MUTANTS])
def test_kit_catches_the_mutant(mutant: Mutant, select: str, clause: str, capsys: pytest.CaptureFixture[str]) -> None:
    """§1-§7: ``mockproget verify`` exits 1 with a FAIL line naming a clause about the rule."""
    code, failed, out = run_verify(mutant, select, capsys)
    assert code == 1, (mutant.__doc__, out[-3000:])
    assert any(clause in name for name in failed), (mutant.__doc__, failed)
    assert ADMIN_KEY not in out


def test_the_same_clauses_pass_on_the_unbroken_mock(capsys: pytest.CaptureFixture[str]) -> None:
    """No false alarm (§1-§7): the union of the selections above passes on the mock as it is."""
    select = " or ".join(sorted({f"({m[1]})" for m in MUTANTS}))
    code, failed, out = run_verify(lambda server: None, select, capsys)
    assert code == 0, (failed, out[-4000:])


def test_every_mutant_is_documented() -> None:
    """Each mutant names the spec section and source it breaks (§1-§7 [doc]/[client]/[std])."""
    assert len({m[0] for m in MUTANTS}) >= 30 and len({m[0] for m in FEED_MUTANTS}) >= 8
    assert all(re.match(r"§\d(\.\d)? \[(doc|client|std)\]", m[0].__doc__ or "") for m in MUTANTS + FEED_MUTANTS)


# -- proget-feeds §1.1-§1.2, §5: a feed rule kept for one carrier only ------------------------

def _feed_access(change: Callable[[Any, str, str], str | None]) -> Mutant:
    """The operation judged becomes ``change(principal, feed_type, operation)`` (``None``:
    refused)."""
    def apply(server: MockProGet) -> None:
        original = server.backend._feed_access

        def judged(principal: Any, name: str, feed_type: str, operation: str) -> Any:
            changed = change(principal, feed_type, operation)
            if changed is None:
                raise Forbidden("This API key may not do that.")
            return original(principal, name, feed_type, changed)
        server.backend._feed_access = judged  # type: ignore[method-assign]
    return apply


view_key_publishes_with_basic = _named(_feed_access(
    lambda p, kind, operation: "read" if operation == "publish" and p.carrier == "basic" else operation),
    "view_key_publishes_with_basic", "§1.2 [doc]: a view-only feed key publishes when it comes as Basic api:«key» "
    "(npm's _auth, NuGet after a challenge); as a token it is refused.")


def _feed_request(hook: Callable[[dict[str, Any]], None]) -> Mutant:
    def apply(server: MockProGet) -> None:
        inner = server.app.wsgi_app

        def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
            hook(environ)
            return inner(environ, start_response)
        server.app.wsgi_app = app  # type: ignore[method-assign]
    return apply


def _drop_query_key_on_upload(environ: dict[str, Any]) -> None:
    if environ.get("PATH_INFO", "").startswith("/upack/") and environ.get("PATH_INFO", "").endswith("/upload"):
        environ["QUERY_STRING"] = urlencode([(k, v) for k, v in parse_qsl(environ.get("QUERY_STRING", ""))
                                             if k != "key"])


upack_query_key_ignored_on_upload = _named(_feed_request(_drop_query_key_on_upload),
                                           "upack_query_key_ignored_on_upload",
                                           "§5 [doc]: ?key= is read on Universal downloads, not on uploads.")


def _upack_basic_refusal_is_401(environ: dict[str, Any], status: str, headers: list[tuple[str, str]], body: bytes) -> Answer:
    if environ.get("PATH_INFO", "").startswith("/upack/") and status.startswith("403") and environ.get(
            "HTTP_AUTHORIZATION", "").lower().startswith("basic"):
        return "401 UNAUTHORIZED", headers + [("WWW-Authenticate", 'Basic realm="ProGet"')], body
    return status, headers, body


upack_bad_basic_key_is_401 = _named(_response(_upack_basic_refusal_is_401), "upack_bad_basic_key_is_401",
                                    "§5 [doc]: an unknown key as Basic api:«key» on /upack/ is a 401, not the 403 "
                                    "the Universal docs name.")


def deleted_key_publishes_with_basic(server: MockProGet) -> None:
    """§1.2 [doc]: a deleted feed key keeps working as Basic api:«key» (the dedicated
    header is refused)."""
    import base64
    backend, graveyard = server.backend, set()
    delete = backend.delete_api_key

    def remember(principal: Any, key_id: int) -> None:
        key = backend.get_api_key(key_id)
        delete(principal, key_id)
        if key is not None:
            graveyard.add(key.digest)
    backend.delete_api_key = remember  # type: ignore[method-assign]

    def hook(environ: dict[str, Any]) -> None:
        scheme, _, value = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
        if scheme.lower() == "basic":
            user, _, password = base64.b64decode(value).decode().partition(":")
            if user == "api" and digest(password) in graveyard:
                environ["HTTP_AUTHORIZATION"] = "Basic " + base64.b64encode(f"api:{ADMIN_KEY}".encode()).decode()
    _feed_request(hook)(server)


#: (mutant, feed type, the feed clause that must fail)
FEED_MUTANTS: list[tuple[Mutant, str, str]] = [
    (view_key_publishes_with_basic, "npm", "test_a_view_only_feed_key_reads_but_cannot_publish"),
    (view_key_publishes_with_basic, "nuget", "test_a_view_only_feed_key_reads_but_cannot_publish"),
    (upack_query_key_ignored_on_upload, "universal", "test_a_publishing_key_publishes_and_stops_once_deleted"),
    (upack_bad_basic_key_is_401, "universal", "test_the_admin_key_reads_the_feed_as_basic_api"),
    (deleted_key_publishes_with_basic, "nuget", "test_a_publishing_key_publishes_and_stops_once_deleted"),
    (deleted_key_publishes_with_basic, "npm", "test_a_publishing_key_publishes_and_stops_once_deleted"),
]


def expired_feed_key_publishes(server: MockProGet) -> None:
    """§1.2 [doc]: expiration is judged on the api-keys endpoints only: an expired feed key
    still works on the feed endpoints."""
    original = server.backend.authenticate_feed

    def authenticate(credential: Any, *, login: bool = False, now: Any = None) -> Any:
        return original(credential, login=login, now=datetime(2000, 1, 1, tzinfo=timezone.utc))
    server.backend.authenticate_feed = authenticate  # type: ignore[method-assign]


def nuget_overwrite_is_403(server: MockProGet) -> None:
    """§1.4 [doc]: a NuGet push of an existing version without the overwrite privilege
    answers 403 (ProGet answers 409 since 5.3)."""
    def change(environ: dict[str, Any], status: str, headers: list[tuple[str, str]], body: bytes) -> Answer:
        if environ.get("PATH_INFO", "").startswith("/nuget/") and status.startswith("409"):
            return "403 FORBIDDEN", headers, body
        return status, headers, body
    _response(change)(server)


def basic_login_refused_on_feeds(server: MockProGet) -> None:
    """§1.1 [doc]: Basic «username»:«password» is refused on the feed endpoints (only
    Basic api:«key» works)."""
    original = server.backend.authenticate_feed

    def authenticate(credential: Any, *, login: bool = False, now: Any = None) -> Any:
        if login:
            raise Forbidden("The user name or password is not valid.")
        return original(credential, login=login, now=now)
    server.backend.authenticate_feed = authenticate  # type: ignore[method-assign]


def _no_pseudo_key_on_upack(environ: dict[str, Any]) -> None:
    if environ.get("PATH_INFO", "").startswith("/upack/") and ":" in environ.get("HTTP_X_APIKEY", ""):
        environ["HTTP_X_APIKEY"] = "not-a-pseudo-key"


upack_pseudo_key_refused = _named(_feed_request(_no_pseudo_key_on_upack), "upack_pseudo_key_refused",
                                  "§5.2 [client]: pgutil's user:password in X-ApiKey is refused on /upack/.")
upack_feeds_system_key_refused = _named(_feed_access(
    lambda p, kind, operation: None if p.key_type == "system" and not p.admin and kind == "universal" else operation),
    "upack_feeds_system_key_refused", "§5.3 [doc]: a system key with Use/Manage Feeds (no full control) may "
    "not publish to a Universal feed.")


view_key_deletes_packages = _named(_feed_access(
    lambda p, kind, operation: "read" if operation == "delete" and p.key_type == "feed" else operation),
    "view_key_deletes_packages", "§1.2 [doc]: a feed key's permissions are checked on publish but not on "
    "delete (a view-only key deletes packages).")


def basic_publish_not_stored(server: MockProGet) -> None:
    """§1.2 [doc]: a publish with Basic api:«key» answers 2xx but stores nothing (only the
    token or dedicated header publishes for real)."""
    original = server.backend.publish_package

    def publish(principal: Any, feed_type: str, package: Any) -> Any:
        if principal.carrier == "basic":
            server.backend.feed_access(principal, package.feed, feed_type, "publish")
            return package
        return original(principal, feed_type, package)
    server.backend.publish_package = publish  # type: ignore[method-assign]


FEED_MUTANTS += [
    (expired_feed_key_publishes, "npm", "test_an_expired_feed_key_cannot_publish"),
    (expired_feed_key_publishes, "universal", "test_an_expired_feed_key_cannot_publish"),
    (nuget_overwrite_is_403, "nuget", "test_a_publishing_key_publishes_and_stops_once_deleted"),
    (basic_login_refused_on_feeds, "npm", "test_the_admin_key_reads_the_feed_as_basic_api"),
    (basic_login_refused_on_feeds, "pypi", "test_the_admin_key_reads_the_feed_as_basic_api"),
    (upack_pseudo_key_refused, "universal", "test_the_admin_key_reads_the_feed_as_basic_api"),
    (upack_feeds_system_key_refused, "universal", "test_a_publishing_key_publishes_and_stops_once_deleted"),
    (view_key_deletes_packages, "universal", "test_a_view_only_feed_key_reads_but_cannot_publish"),
    (basic_publish_not_stored, "npm", "test_a_publishing_key_publishes_and_stops_once_deleted"),
    (basic_publish_not_stored, "universal", "test_a_publishing_key_publishes_and_stops_once_deleted"),
]


@pytest.mark.filterwarnings("ignore:test package")  # npm packages stay (no delete): said by a warning
@pytest.mark.parametrize("mutant, feed_type, name", FEED_MUTANTS,
                         ids=[f"{m[0].__name__}-{m[1]}" for m in FEED_MUTANTS])
def test_feed_clauses_catch_the_mutant(mutant: Mutant, feed_type: str, name: str) -> None:
    """proget-feeds §1.2, §5: the feed clause, run against the mutant known only by URL
    (the statuses any server may give), raises a contract violation."""
    with MockProGet(feeds_config(), admin_key=ADMIN_KEY) as server:
        mutant(server)
        with Target(url=server.url, api_key=ADMIN_KEY, username="Admin", password="Admin",
                    feed=f"{feed_type}-c", feed_type=feed_type,
                    feed_group=f"{feed_type}-grp", may_publish=True, max_examples=2) as checked:
            client = checked.client()
            try:
                with pytest.raises(ContractViolation):
                    getattr(FeedClauses(), name)(checked, client)
            finally:
                client.cleanup()
                client.close()


def other_scope_accepted_as_basic(server: MockProGet) -> None:
    """§1.2 [model]: a feed key is held to its feed or group, except when it comes as
    Basic api:«key»: then it works on any feed."""
    original = server.backend._feed_access

    def judged(principal: Any, name: str, feed_type: str, operation: str) -> Any:
        if principal.kind == "api-key" and principal.key_type == "feed" and principal.carrier == "basic":
            return server.backend.get_feed(name, feed_type)
        return original(principal, name, feed_type, operation)
    server.backend._feed_access = judged  # type: ignore[method-assign]


@pytest.mark.filterwarnings("ignore:test package")
@pytest.mark.parametrize("feed_type", ["npm", "nuget"])
def test_the_mock_only_scope_clause_catches_a_scope_kept_for_one_carrier(feed_type: str) -> None:
    """proget-feeds §1.2 [model] (checked against the embedded mock only): a key of another
    feed group accepted as Basic fails the scope clause."""
    with MockProGet(feeds_config(), admin_key=ADMIN_KEY) as server:
        other_scope_accepted_as_basic(server)
        with Target(url=server.url, api_key=ADMIN_KEY, feed=f"{feed_type}-c", feed_type=feed_type,
                    feed_group=f"{feed_type}-grp", backend=server.backend, may_publish=True,
                    max_examples=2) as checked:
            client = checked.client()
            try:
                with pytest.raises(ContractViolation):
                    FeedClauses().test_a_feed_key_outside_its_scope_is_refused(checked, client)
            finally:
                client.cleanup()
                client.close()
