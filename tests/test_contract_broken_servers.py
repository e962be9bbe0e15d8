"""The contract kit catches servers that each break one [doc] or [client] rule.

Every broken server is the mock with one departure, made by a WSGI middleware or by
wrapping one backend method. ``verify`` runs in-process against it (only the clauses
that concern the rule, few examples) and must fail, naming the clause.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
import requests

from mockproget_contracts import verify
from mockproget import Config, Forbidden, MockProGet
from mockproget.cli import main as cli_main
from mockproget.models import Principal, digest

ADMIN_KEY = "0123456789abcdef0123456789abcdef01234567"
NAMES = dict(username="Admin", password="Admin", feed="MyNpmFeed", feed_group="MyFeedGroup",
             user="johnsmith")

Hook = Callable[[dict[str, Any], bytes], bytes]
ResponseHook = Callable[[dict[str, Any], str, list[tuple[str, str]], bytes],
                        tuple[str, list[tuple[str, str]], bytes]]


def _read_body(environ: dict[str, Any]) -> bytes:
    """The whole request body: Content-Length bytes, or to the end of a chunked body."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if environ.get("wsgi.input_terminated") and not length:
        return environ["wsgi.input"].read()
    return environ["wsgi.input"].read(length)


def rebuffer(environ: dict[str, Any]) -> bytes:
    """Read the body whole and put it back as a plain Content-Length body; returns it."""
    body = _read_body(environ)
    environ["wsgi.input"], environ["CONTENT_LENGTH"] = io.BytesIO(body), str(len(body))
    environ.pop("wsgi.input_terminated", None)
    environ.pop("HTTP_TRANSFER_ENCODING", None)
    return body


class Tamper:
    """WSGI middleware: rewrite the request (environ and body) and/or the response."""

    def __init__(self, app: Any, request: Hook | None = None, response: ResponseHook | None = None) -> None:
        self.app, self.request, self.response = app, request, response

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if self.request is not None:
            body = self.request(environ, _read_body(environ))
            environ["wsgi.input"] = io.BytesIO(body)
            if not environ.get("wsgi.input_terminated"):
                environ["CONTENT_LENGTH"] = str(len(body))
        if self.response is None:
            return self.app(environ, start_response)
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured["status"], captured["headers"] = status, headers
            return lambda data: None

        body = b"".join(self.app(environ, capture))
        status, headers, body = self.response(environ, captured["status"], captured["headers"], body)
        headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
        start_response(status, headers + [("Content-Length", str(len(body)))])
        return [body]


def _header(headers: list[tuple[str, str]], name: str) -> str | None:
    return next((v for k, v in headers if k.lower() == name.lower()), None)


def _set_header(headers: list[tuple[str, str]], name: str, value: str | None) -> list[tuple[str, str]]:
    kept = [(k, v) for k, v in headers if k.lower() != name.lower()]
    return kept if value is None else kept + [(name, value)]


def _json_body(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


def _named(departure: Callable[[MockProGet], None], name: str, doc: str) -> Callable[[MockProGet], None]:
    departure.__name__, departure.__doc__ = name, doc
    return departure


# -- the departures --------------------------------------------------------------------

def header_ignored(server: MockProGet) -> None:
    """§3 [doc]: the X-ApiKey header is not read."""
    def hook(environ: dict[str, Any], body: bytes) -> bytes:
        environ.pop("HTTP_X_APIKEY", None)
        return body
    server.app.wsgi_app = Tamper(server.app.wsgi_app, request=hook)


def query_ignored(server: MockProGet) -> None:
    """§3 [doc]: the ``key`` querystring value is not read."""
    def hook(environ: dict[str, Any], body: bytes) -> bytes:
        pairs = [(k, v) for k, v in parse_qsl(environ.get("QUERY_STRING", "")) if k != "key"]
        environ["QUERY_STRING"] = urlencode(pairs)
        return body
    server.app.wsgi_app = Tamper(server.app.wsgi_app, request=hook)


def form_ignored(server: MockProGet) -> None:
    """§3 [doc]: the ``key`` form value is not read."""
    def hook(environ: dict[str, Any], body: bytes) -> bytes:
        if "x-www-form-urlencoded" in environ.get("CONTENT_TYPE", ""):
            return body.replace(b"key=", b"kex=")
        return body
    server.app.wsgi_app = Tamper(server.app.wsgi_app, request=hook)


def json_property_ignored(server: MockProGet) -> None:
    """§3 [doc]: the ``API_Key`` JSON property is not read."""
    def hook(environ: dict[str, Any], body: bytes) -> bytes:
        data = _json_body(body)
        if isinstance(data, dict) and "API_Key" in data:
            del data["API_Key"]
            return json.dumps(data).encode()
        return body
    server.app.wsgi_app = Tamper(server.app.wsgi_app, request=hook)


def multipart_key_honoured(server: MockProGet) -> None:
    """§3 [doc]: a ``key`` field of a multipart body is taken as the credential."""
    def hook(environ: dict[str, Any], body: bytes) -> bytes:
        if environ.get("CONTENT_TYPE", "").startswith("multipart/form-data"):
            match = re.search(rb'name="key"\r\n\r\n([^\r]*)\r\n', body)
            if match:
                environ["HTTP_X_APIKEY"] = match.group(1).decode()
        return body
    server.app.wsgi_app = Tamper(server.app.wsgi_app, request=hook)


def text_plain_json_honoured(server: MockProGet) -> None:
    """§3 [doc]: ``API_Key`` in a JSON body sent as text/plain is taken as the credential."""
    def hook(environ: dict[str, Any], body: bytes) -> bytes:
        if environ.get("CONTENT_TYPE", "").startswith("text/plain"):
            data = _json_body(body)
            if isinstance(data, dict) and isinstance(data.get("API_Key"), str):
                environ["HTTP_X_APIKEY"] = data["API_Key"]
                environ["CONTENT_TYPE"] = "application/json"
        return body
    server.app.wsgi_app = Tamper(server.app.wsgi_app, request=hook)


def expired_key_accepted(server: MockProGet) -> None:
    """§2 [doc]: a key past its expiration still authenticates."""
    original = server.backend.authenticate
    server.backend.authenticate = lambda credential, now=None, **kw: original(  # type: ignore[method-assign]
        credential, now=datetime(2000, 1, 1, tzinfo=timezone.utc), **kw)


def deleted_key_still_works(server: MockProGet) -> None:
    """§3 [doc]: a deleted key keeps authenticating."""
    backend, graveyard = server.backend, set()
    authenticate, delete = backend.authenticate, backend.delete_api_key

    def delete_and_remember(principal: Principal, key_id: int) -> None:
        key = backend.get_api_key(key_id)
        delete(principal, key_id)
        if key is not None:
            graveyard.add(key.digest)

    def authenticate_with_graveyard(credential: Any, now: Any = None, **kwargs: Any) -> Principal:
        try:
            return authenticate(credential, now=now, **kwargs)
        except Forbidden:
            if credential is not None and digest(credential.value) in graveyard:
                return Principal(kind="api-key", carrier=credential.carrier, key_type="system", admin=True)
            raise
    backend.delete_api_key = delete_and_remember  # type: ignore[method-assign]
    backend.authenticate = authenticate_with_graveyard  # type: ignore[method-assign]


def _blank_status(prefix: str) -> Callable[[MockProGet], None]:
    def apply(server: MockProGet) -> None:
        def hook(environ: dict[str, Any], status: str, headers: list[tuple[str, str]], body: bytes):
            return status, headers, (b"" if status.startswith(prefix) else body)
        server.app.wsgi_app = Tamper(server.app.wsgi_app, response=hook)
    return apply


empty_400_body = _named(_blank_status("400"), "empty_400_body", "§6 [doc]: a 400 answer with an empty body.")
empty_403_body = _named(_blank_status("403"), "empty_403_body", "§6 [doc]: a 403 answer with an empty body.")


def _rewrite_json(path: str, change: Callable[[Any], Any]) -> Callable[[MockProGet], None]:
    def apply(server: MockProGet) -> None:
        def hook(environ: dict[str, Any], status: str, headers: list[tuple[str, str]], body: bytes):
            if environ.get("PATH_INFO") == path and status.startswith("200"):
                data = _json_body(body)
                if data is not None:
                    body = json.dumps(change(data)).encode()
            return status, headers, body
        server.app.wsgi_app = Tamper(server.app.wsgi_app, response=hook)
    return apply


create_without_type = _named(
    _rewrite_json("/api/api-keys/create", lambda d: {k: v for k, v in d.items() if k != "type"}),
    "create_without_type", "§6 [client]: the create answer lacks ``type``.")
list_with_nulls = _named(
    _rewrite_json("/api/api-keys/list", lambda d: [{**k, "description": k.get("description")} for k in d]),
    "list_with_nulls", "§2 [client]: listed keys carry null properties.")
create_with_pascal_enums = _named(
    _rewrite_json("/api/api-keys/create", lambda d: {**d, "type": d["type"].title()}),
    "create_with_pascal_enums", "§2 [doc]: enum values written as .NET names, not lower camelCase.")


def create_as_text(server: MockProGet) -> None:
    """§6 [client]: create answers the key text as text/plain (what pgutil cannot parse)."""
    server.backend.update_settings(create_response="text")


def _headers(change: Callable[[list[tuple[str, str]]], list[tuple[str, str]]]) -> Callable[[MockProGet], None]:
    def apply(server: MockProGet) -> None:
        def hook(environ: dict[str, Any], status: str, headers: list[tuple[str, str]], body: bytes):
            return status, change(headers), body
        server.app.wsgi_app = Tamper(server.app.wsgi_app, response=hook)
    return apply


version_header_missing = _named(
    _headers(lambda h: _set_header(h, "X-ProGet-Version", None)),
    "version_header_missing", "§6 [client]: no X-ProGet-Version.")
version_header_marketing = _named(
    _headers(lambda h: _set_header(h, "X-ProGet-Version", "2025.10")),
    "version_header_marketing", "§6 [client]: X-ProGet-Version as 2025.10, not .NET's 25.0.10.")
edition_header_unknown = _named(
    _headers(lambda h: _set_header(h, "X-ProGet-Edition", "Premium")),
    "edition_header_unknown", "§6 [client]: X-ProGet-Edition is not Free/Basic/Enterprise.")


def headers_missing_on_errors(server: MockProGet) -> None:
    """§6 [client]: no X-ProGet-Version / X-ProGet-Edition on error answers (where the
    client reads them to explain a failed create)."""
    def hook(environ: dict[str, Any], status: str, headers: list[tuple[str, str]], body: bytes):
        if status[:1] == "4":
            headers = _set_header(_set_header(headers, "X-ProGet-Version", None), "X-ProGet-Edition", None)
        return status, headers, body
    server.app.wsgi_app = Tamper(server.app.wsgi_app, response=hook)


def chunked_body_not_read(server: MockProGet) -> None:
    """§7 [client]: a chunked body (no Content-Length) is treated as empty."""
    inner = server.app.wsgi_app

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ.get("mockproget.chunked") or (environ.get("wsgi.input_terminated")
                                                 and not environ.get("CONTENT_LENGTH")):
            environ["wsgi.input"].read()
            environ["wsgi.input"] = io.BytesIO(b"")
            environ["CONTENT_LENGTH"] = "0"
            environ.pop("wsgi.input_terminated", None)
            environ.pop("HTTP_TRANSFER_ENCODING", None)
        return inner(environ, start_response)
    server.app.wsgi_app = app


def list_omits_newest(server: MockProGet) -> None:
    """§1 [doc]: the list leaves out the most recently created key."""
    original = server.backend.list_api_keys
    server.backend.list_api_keys = (  # type: ignore[method-assign]
        lambda principal: sorted(original(principal), key=lambda k: k.id)[:-1])


def delete_does_nothing(server: MockProGet) -> None:
    """§1 [doc]: delete answers 200 and keeps the key."""
    server.backend.delete_api_key = lambda principal, key_id: None  # type: ignore[method-assign]


def _refuse_create(when: Callable[[dict[str, Any]], bool], text: str) -> Callable[[MockProGet], None]:
    def apply(server: MockProGet) -> None:
        original = server.app.wsgi_app

        def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
            if environ.get("PATH_INFO") == "/api/api-keys/create":
                data = _json_body(rebuffer(environ))
                if isinstance(data, dict) and when(data):
                    start_response("400 BAD REQUEST", [("Content-Type", "text/plain")])
                    return [text.encode()]
            return original(environ, start_response)
        server.app.wsgi_app = app
    return apply


system_api_pair_refused = _named(_refuse_create(
    lambda d: isinstance(d.get("systemApis"), list) and len(d["systemApis"]) == 2,
    "systemApis: choose one API or full control"), "system_api_pair_refused",
    "§2 [doc]: a combination of two system APIs is refused.")
enum_names_refused = _named(_refuse_create(lambda d: str(d.get("type", "")) != str(d.get("type", "")).lower(),
                                    "type: unknown value"), "enum_names_refused",
    "§7 [client]: pgutil's ``\"type\":\"System\"`` is refused.")
offsetless_expiration_refused = _named(_refuse_create(
    lambda d: isinstance(d.get("expiration"), str) and re.search(r"(Z|[+-]\d\d:\d\d)$", d["expiration"]) is None,
    "expiration: an offset is required"), "offsetless_expiration_refused",
    "§2 [client]: an expiration without offset (as pgutil sends) is refused.")


def pseudo_keys_refused(server: MockProGet) -> None:
    """§3 [doc]: ``user:password`` is refused although the instance permits pseudo-keys."""
    original = server.backend.authenticate

    def authenticate(credential: Any, now: Any = None, **kwargs: Any) -> Principal:
        principal = original(credential, now=now, **kwargs)
        if principal.kind == "pseudo-key":
            raise Forbidden("The API key is not valid.")
        return principal
    server.backend.authenticate = authenticate  # type: ignore[method-assign]


def feed_and_group_accepted(server: MockProGet) -> None:
    """§2 [doc]: a feed key with both feed and feedGroup is accepted (feedGroup dropped)."""
    def hook(environ: dict[str, Any], body: bytes) -> bytes:
        data = _json_body(body)
        if isinstance(data, dict) and data.get("feed") and data.get("feedGroup"):
            del data["feedGroup"]
            return json.dumps(data).encode()
        return body
    server.app.wsgi_app = Tamper(server.app.wsgi_app, request=hook)


def unknown_user_accepted(server: MockProGet) -> None:
    """§2 [doc]: a personal key for a user that does not exist is created."""
    original = server.backend._check_new_key

    def check(new: Any, *, seeding: bool = False) -> None:
        if new.type == "personal" and new.user is not None:
            server.backend.add_user(new.user)
        original(new, seeding=seeding)
    server.backend._check_new_key = check  # type: ignore[method-assign]


def health_needs_a_key(server: MockProGet) -> None:
    """§1 [doc]: /health refuses a request without a key."""
    inner = server.app.wsgi_app

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "").startswith("/health") and not environ.get("HTTP_X_APIKEY"):
            start_response("403 FORBIDDEN", [("Content-Type", "text/plain")])
            return [b"An API key is required."]
        return inner(environ, start_response)
    server.app.wsgi_app = app


def feed_key_manages_keys(server: MockProGet) -> None:
    """§4 [doc]: a feed key may list and create API keys."""
    original = server.backend.authenticate

    def authenticate(credential: Any, now: Any = None, **kwargs: Any) -> Principal:
        principal = original(credential, now=now)  # who it is, before the §4 check
        if principal.key_type == "feed":
            return replace(principal, admin=True)
        return original(credential, now=now, **kwargs)
    server.backend.authenticate = authenticate  # type: ignore[method-assign]


def missing_logging_accepted(server: MockProGet) -> None:
    """§2 [doc]: ``logging`` (required) may be left out."""
    def hook(environ: dict[str, Any], body: bytes) -> bytes:
        data = _json_body(body)
        if isinstance(data, dict) and environ.get("PATH_INFO") == "/api/api-keys/create" and not any(
                k.lower() == "logging" for k in data):
            data["logging"] = "none"
            return json.dumps(data).encode()
        return body
    server.app.wsgi_app = Tamper(server.app.wsgi_app, request=hook)


def invalid_input_as_500(server: MockProGet) -> None:
    """§6 [doc]: invalid input answers 500 instead of 400."""
    def hook(environ: dict[str, Any], status: str, headers: list[tuple[str, str]], body: bytes):
        return ("500 INTERNAL SERVER ERROR" if status.startswith("400") else status), headers, body
    server.app.wsgi_app = Tamper(server.app.wsgi_app, response=hook)


def missing_key_accepted(server: MockProGet) -> None:
    """§3 [doc]: a request with no credential at all acts as an administrator."""
    server.backend.update_settings(anonymous_admin=True)  # not declared to verify


def key_prefix_accepted(server: MockProGet) -> None:
    """§3 [doc]: a credential that is only the start of a real key is accepted."""
    original = server.backend.authenticate

    def authenticate(credential: Any, now: Any = None, **kwargs: Any) -> Principal:
        try:
            return original(credential, now=now, **kwargs)
        except Forbidden:
            if credential is not None and len(credential.value) >= 8:
                for key in server.backend.api_keys:
                    if key.key and key.key.startswith(credential.value):
                        return original(replace(credential, value=key.key), now=now, **kwargs)
            raise
    server.backend.authenticate = authenticate  # type: ignore[method-assign]


def delete_removes_newest(server: MockProGet) -> None:
    """§1 [doc]: delete removes the newest key, whatever ``id`` says."""
    original = server.backend.delete_api_key
    server.backend.delete_api_key = lambda principal, key_id: original(  # type: ignore[method-assign]
        principal, max(k.id for k in server.backend.api_keys))


def query_key_only_on_get(server: MockProGet) -> None:
    """§3 [doc]: the ``key`` querystring value is read on GET only, not on a POST."""
    def hook(environ: dict[str, Any], body: bytes) -> bytes:
        if environ["REQUEST_METHOD"] == "POST":
            pairs = [(k, v) for k, v in parse_qsl(environ.get("QUERY_STRING", "")) if k != "key"]
            environ["QUERY_STRING"] = urlencode(pairs)
        return body
    server.app.wsgi_app = Tamper(server.app.wsgi_app, request=hook)


def _past_expiration(data: dict[str, Any]) -> bool:
    value = data.get("expiration")
    if not isinstance(value, str):
        return False
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return False
    return (when if when.tzinfo else when.replace(tzinfo=timezone.utc)) < datetime.now(timezone.utc)


def past_refused_and_never_expires(server: MockProGet) -> None:
    """§2 [doc]: keys never expire, and a past expiration is refused at create (so that
    only a key outliving its expiration can show it)."""
    expired_key_accepted(server)
    _refuse_create(_past_expiration, "expiration: must be in the future")(server)


def offset_expiration_ignored(server: MockProGet) -> None:
    """§2 [doc]: an expiration given with an offset (``Z``, ``+02:00``) is never enforced."""
    backend = server.backend
    original = backend.authenticate

    def authenticate(credential: Any, now: Any = None, **kwargs: Any) -> Principal:
        try:
            return original(credential, now=now, **kwargs)
        except Forbidden:
            key_id = backend._by_digest.get(digest(credential.value)) if credential is not None else None
            key = backend.get_api_key(key_id) if key_id is not None else None
            if key is not None and key.expiration is not None and key.expiration.tzinfo is not None:
                return original(credential, now=datetime(2000, 1, 1, tzinfo=timezone.utc), **kwargs)
            raise
    backend.authenticate = authenticate  # type: ignore[method-assign]


def _query_hook(change: Callable[[dict[str, Any], str], str | None]) -> Callable[[MockProGet], None]:
    """Rewrite the ``key`` querystring value (``None``: drop it) as ``change(environ, value)`` says."""
    def apply(server: MockProGet) -> None:
        def hook(environ: dict[str, Any], body: bytes) -> bytes:
            pairs = []
            for name, value in parse_qsl(environ.get("QUERY_STRING", "")):
                if name == "key":
                    changed = change(environ, value)
                    if changed is None:
                        continue
                    value = changed
                pairs.append((name, value))
            environ["QUERY_STRING"] = urlencode(pairs)
            return body
        server.app.wsgi_app = Tamper(server.app.wsgi_app, request=hook)
    return apply


query_key_ignored_on_delete = _named(
    _query_hook(lambda environ, value: None if environ["PATH_INFO"] == "/api/api-keys/delete" else value),
    "query_key_ignored_on_delete", "§3 [doc]: the ``key`` querystring value is not read on POST .../delete.")
unknown_query_key_accepted_on_post = _named(
    _query_hook(lambda environ, value: ADMIN_KEY if environ["REQUEST_METHOD"] == "POST" else value),
    "unknown_query_key_accepted_on_post", "§3 [doc]: any ``key`` querystring value on a POST acts as the admin.")


def expired_key_accepted_in_query(server: MockProGet) -> None:
    """§2 [doc]: an expired key still authenticates when it comes in the querystring."""
    original = server.backend.authenticate

    def authenticate(credential: Any, now: Any = None, **kwargs: Any) -> Principal:
        if credential is not None and credential.carrier == "query":
            now = datetime(2000, 1, 1, tzinfo=timezone.utc)
        return original(credential, now=now, **kwargs)
    server.backend.authenticate = authenticate  # type: ignore[method-assign]


def wrong_password_accepted_on_post(server: MockProGet) -> None:
    """§3 [doc]: on create and delete, a pseudo-key with a wrong password is accepted (list refuses it)."""
    def hook(environ: dict[str, Any], body: bytes) -> bytes:
        if environ["REQUEST_METHOD"] == "POST" and environ.get("HTTP_X_APIKEY", "").startswith("Admin:"):
            environ["HTTP_X_APIKEY"] = "Admin:Admin"
        return body
    server.app.wsgi_app = Tamper(server.app.wsgi_app, request=hook)


def feed_group_key_manages_keys(server: MockProGet) -> None:
    """§4 [doc]: a key for a feed group may manage API keys (a key for a feed may not)."""
    backend = server.backend
    original = backend.authenticate

    def authenticate(credential: Any, now: Any = None, **kwargs: Any) -> Principal:
        principal = original(credential, now=now)  # who it is, before the §4 check
        key = backend.get_api_key(principal.key_id) if principal.key_id is not None else None
        if key is not None and key.feed_group:
            return replace(principal, admin=True)
        return original(credential, now=now, **kwargs)
    backend.authenticate = authenticate  # type: ignore[method-assign]


def health_not_json_in_2025(server: MockProGet) -> None:
    """§1 [doc]: bare /health answers text/html on a 2025 release (25.0.10), not JSON."""
    inner = server.app.wsgi_app

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/health" and "format=" not in environ.get("QUERY_STRING", ""):
            start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"),
                                      ("X-ProGet-Version", "25.0.10"), ("X-ProGet-Edition", "Basic")])
            return [b"<html><body>ProGet is healthy</body></html>"]
        return inner(environ, start_response)
    server.app.wsgi_app = app


#: (departure, -k expression choosing the clauses about it, a clause that must fail)
BROKEN: list[tuple[Callable[[MockProGet], None], str, str]] = [
    (header_ignored, "carrier_accepts", "test_carrier_accepts_a_good_key[header]"),
    (query_ignored, "carrier_accepts", "test_carrier_accepts_a_good_key[query]"),
    (form_ignored, "carrier_accepts", "test_carrier_accepts_a_good_key[form]"),
    (json_property_ignored, "carrier_accepts", "test_carrier_accepts_a_good_key[json]"),
    (multipart_key_honoured, "wrong_content_type", "[form-key-in-multipart]"),
    (text_plain_json_honoured, "wrong_content_type", "[api-key-in-text-plain-json]"),
    (expired_key_accepted, "expired", "test_expired_key_is_refused"),
    (deleted_key_still_works, "deleted_key or stateful", "test_deleted_key_is_refused"),
    (empty_400_body, "invalid_input_is_explained", "test_invalid_input_is_explained_in_text"),
    (empty_403_body, "refusal_is_explained", "test_refusal_is_explained_in_text"),
    (headers_missing_on_errors, "refused_create", "test_refused_create_carries_the_proget_headers"),
    (create_without_type, "create_answers", "test_create_answers_json_api_key_info"),
    (create_as_text, "create_answers", "test_create_answers_json_api_key_info"),
    (create_with_pascal_enums, "create_answers", "test_create_answers_json_api_key_info"),
    (list_with_nulls, "list_answers", "test_list_answers_json_array"),
    (version_header_missing, "list_answers", "test_list_answers_json_array"),
    (version_header_marketing, "list_answers", "test_list_answers_json_array"),
    (edition_header_unknown, "list_answers", "test_list_answers_json_array"),
    (chunked_body_not_read, "pgutil or chunked", "test_chunked_body_is_read_whole"),
    (list_omits_newest, "create_answers or stateful", "test_stateful_create_list_delete_authenticate"),
    (delete_does_nothing, "delete_with_empty_body", "test_delete_with_empty_body_removes_the_key"),
    (system_api_pair_refused, "system_api_combination", "test_every_system_api_combination_is_accepted"),
    (enum_names_refused, "pgutil", "test_pgutil_creates_system_key"),
    (offsetless_expiration_refused, "offset", "test_expiration_with_or_without_offset[no-offset]"),
    (pseudo_keys_refused, "pseudo_key_in_each", "test_pseudo_key_in_each_carrier[header]"),
    (feed_and_group_accepted, "invalid_body and feed", "feed-feedGroup-both-given"),
    (unknown_user_accepted, "invalid_body and user", "user-must-name-an-existing-user"),
    (missing_logging_accepted, "invalid_body and logging", "logging-is-required"),
    (invalid_input_as_500, "invalid_body and systemApis", "systemApis-is-required-for-a-system-key"),
    (health_needs_a_key, "health", "test_health_needs_no_key"),
    (feed_key_manages_keys, "feed_key", "test_feed_key_cannot_manage_keys"),
    (missing_key_accepted, "missing_key", "test_missing_key_is_refused"),
    (key_prefix_accepted, "unknown_key", "test_unknown_key_refused_on_every_endpoint[admin-key-truncated]"),
    (delete_removes_newest, "delete_with_empty_body", "test_delete_with_empty_body_removes_the_key"),
    (query_key_only_on_get, "carrier_accepts", "test_carrier_accepts_a_good_key[query]"),
    (past_refused_and_never_expires, "expired", "test_expired_key_is_refused[no-offset]"),
    (offset_expiration_ignored, "expired", "test_expired_key_is_refused[utc]"),
    (offset_expiration_ignored, "expired", "test_expired_key_is_refused[offset]"),
    (query_key_ignored_on_delete, "carrier_accepts", "test_carrier_accepts_a_good_key[query]"),
    (unknown_query_key_accepted_on_post, "carrier_refuses", "test_carrier_refuses_a_bad_key[query]"),
    (expired_key_accepted_in_query, "expired", "test_expired_key_is_refused[no-offset]"),
    (wrong_password_accepted_on_post, "wrong_password", "test_pseudo_key_with_wrong_password_refused_everywhere"),
    (feed_group_key_manages_keys, "feed_key", "test_feed_key_cannot_manage_keys[feedGroup]"),
    (health_not_json_in_2025, "health", "test_health_needs_no_key"),
]


def serve_broken(departure: Callable[[MockProGet], None]) -> MockProGet:
    server = MockProGet(Config(port=0), admin_key=ADMIN_KEY)
    departure(server)
    return server.start()


def kit_keys(server: MockProGet) -> list[Any]:
    return [k for k in server.backend.api_keys if (k.display_name or "").startswith("mockproget-contracts")]


@pytest.mark.parametrize("departure, select, clause", BROKEN,
                         ids=[f"{b[0].__name__}-{b[2].rsplit('[', 1)[-1].rstrip(']')}"
                              if [c[0] for c in BROKEN].count(b[0]) > 1 else b[0].__name__ for b in BROKEN])
def test_kit_catches_the_departure(departure: Callable[[MockProGet], None], select: str, clause: str,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    """§1-§7: ``mockproget verify`` exits 1 and its report has a FAIL line naming the clause."""
    server = serve_broken(departure)
    try:
        # the departure is the one described, not a server that fails everything (a 500 on
        # every request would be "caught" for another reason)
        assert 200 in (requests.get(server.url + "api/api-keys/list", headers={"X-ApiKey": ADMIN_KEY},
                                    timeout=10).status_code,
                       requests.get(server.url + "api/api-keys/list", params={"key": ADMIN_KEY},
                                    timeout=10).status_code), departure.__doc__
        code = cli_main(["verify", "--url", server.url, "--api-key", ADMIN_KEY, "--username", "Admin",
                         "--password", "Admin", "--feed", "MyNpmFeed", "--feed-group", "MyFeedGroup",
                         "--user", "johnsmith", "--max-examples", "4", "-k", select])
    finally:
        server.stop()
    out = capsys.readouterr().out
    failed = re.findall(r"^FAIL\s+§\d\s+\[\w+\]\s+(\S+)$", out, re.M)
    assert code == 1, out[-3000:]
    assert any(clause in name for name in failed), (departure.__doc__, failed)
    assert ADMIN_KEY not in out


@pytest.fixture(scope="module")
def good_mock() -> Iterator[MockProGet]:
    with MockProGet(admin_key=ADMIN_KEY) as server:
        yield server


def test_the_same_clauses_pass_on_the_unbroken_mock(good_mock: MockProGet) -> None:
    """No false alarm (§1-§7): every selection above passes against the mock as it is."""
    select = " or ".join(sorted({f"({b[1]})" for b in BROKEN}))
    result = verify(good_mock.url, ADMIN_KEY, **NAMES, max_examples=4, select=select)
    assert result.ok, [(c.clause, c.detail) for c in result.failed] + result.errors
    assert not kit_keys(good_mock)


def test_at_least_fifteen_departures_each_documented() -> None:
    """Each departure names the section and source it breaks (§1-§7 [doc]/[client])."""
    assert len({b[0] for b in BROKEN}) >= 15
    assert all(re.match(r"§\d \[(doc|client)\]", b[0].__doc__ or "") for b in BROKEN)
