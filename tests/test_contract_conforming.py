"""No false alarm: servers that differ from the mock only where the vendor leaves room
(§8 open points, [model] choices, instance settings, other keys on the server) pass."""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from typing import Any

import pytest

from mockproget_contracts import verify
from mockproget import MockProGet, NewApiKey, NotFound
from mockproget.errors import InvalidInput
from test_contract_broken_shapes import KeepAliveHandler, serve_raw
from test_contract_broken_servers import (
    ADMIN_KEY,
    NAMES,
    Tamper,
    _json_body,
    _named,
    _past_expiration,
    rebuffer,
    serve_broken,
)


def ids_from_1000_listed_newest_first(server: MockProGet) -> None:
    """§8: id numbering start and list order are free."""
    server.backend._next_id = 1000
    original = server.backend.list_api_keys
    server.backend.list_api_keys = lambda principal: list(reversed(original(principal)))  # type: ignore[method-assign]


def unknown_id_delete_is_200(server: MockProGet) -> None:
    """§8: deleting an unknown id may answer 200."""
    original = server.backend.delete_api_key

    def delete(principal: Any, key_id: int) -> None:
        try:
            original(principal, key_id)
        except NotFound:
            pass
    server.backend.delete_api_key = delete  # type: ignore[method-assign]


def _on_create(refuse: Callable[[dict[str, Any]], bool], status: str) -> Callable[[MockProGet], None]:
    def apply(server: MockProGet) -> None:
        inner = server.app.wsgi_app

        def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
            if environ["PATH_INFO"] == "/api/api-keys/create" and environ.get("HTTP_X_APIKEY") == ADMIN_KEY:
                data = _json_body(rebuffer(environ))
                if isinstance(data, dict) and refuse(data):
                    start_response(status, [("Content-Type", "text/plain; charset=utf-8"),
                                            ("X-ProGet-Version", "25.0.10"), ("X-ProGet-Edition", "Enterprise")])
                    return [b"Refused."]
            return inner(environ, start_response)
        server.app.wsgi_app = app
    return apply


past_expiration_refused = _named(_on_create(_past_expiration, "400 BAD REQUEST"), "past_expiration_refused",
                                 "§8: a past expiration may be refused at create.")
client_id_refused = _named(_on_create(lambda d: "id" in d, "400 BAD REQUEST"), "client_id_refused",
                           "§8: a client-sent id may be refused.")


def duplicate_key_is_409_and_other_wording(server: MockProGet) -> None:
    """§8: which 4xx a reused key gets, and the wording of every error, are free."""
    def hook(environ: dict[str, Any], status: str, headers: list[tuple[str, str]], body: bytes):
        if status.startswith("400") and b"already exists" in body:
            status = "409 CONFLICT"
        if status[:1] == "4":
            body = b"Nope. (" + status.encode() + b")"
        return status, headers, body
    server.app.wsgi_app = Tamper(server.app.wsgi_app, response=hook)


def other_keys_on_the_server(server: MockProGet) -> None:
    """A real instance holds other keys, of every type: the kit leaves them alone."""
    server.backend.seed_api_keys([
        NewApiKey(type="personal", user="johnsmith", display_name="johnsmith laptop"),
        NewApiKey(type="feed", feed="MyNpmFeed", package_permissions=("view",), display_name="ci"),
        NewApiKey(type="system", system_apis=("sca",), description="scanner"),
        NewApiKey(type="system", system_apis=("full-control",), display_name="mockproget-contracts-lookalike"),
    ])


def short_string_limits(server: MockProGet) -> None:
    """§8: limits on string lengths are open: displayName over 40 or description over 64
    characters refused with 400 (after authentication, as the other §2 rules)."""
    original = server.backend._check_new_key

    def check(new: Any, *, seeding: bool = False) -> None:
        if len(new.display_name or "") > 40 or len(new.description or "") > 64:
            raise InvalidInput(["displayName is limited to 40 characters, description to 64"])
        original(new, seeding=seeding)
    server.backend._check_new_key = check  # type: ignore[method-assign]


def unsupported_media_type_before_auth(server: MockProGet) -> None:
    """§3 [model]: judging the body's media type before the credential is the mock's
    choice; a server may answer 415 to a POST body that is not JSON, a form or multipart,
    before authenticating."""
    inner = server.app.wsgi_app
    taken = ("application/json", "application/x-www-form-urlencoded", "multipart/form-data")

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ["REQUEST_METHOD"] == "POST" and rebuffer(environ):
            kind = environ.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
            if kind not in taken:
                start_response("415 UNSUPPORTED MEDIA TYPE", [("Content-Type", "text/plain; charset=utf-8")])
                return [f"Unsupported media type: {kind or '(none)'}".encode()]
        return inner(environ, start_response)
    server.app.wsgi_app = app


def _settings(**changes: Any) -> Callable[[MockProGet], None]:
    def apply(server: MockProGet) -> None:
        server.backend.update_settings(**changes)
    apply.__name__ = "_".join(f"{k}_{v}" for k, v in changes.items())
    apply.__doc__ = f"§5 settings {changes}"
    return apply


VARIANTS = [ids_from_1000_listed_newest_first, unknown_id_delete_is_200, past_expiration_refused,
            client_id_refused, duplicate_key_is_409_and_other_wording, other_keys_on_the_server,
            short_string_limits, unsupported_media_type_before_auth,
            _settings(hash_keys=True), _settings(require_expiration=True), _settings(anonymous_admin=True),
            _settings(custom_keys=False), _settings(edition="Free"), _settings(edition="Basic"),
            _settings(version="2024.3"), _settings(version="2026.1"),
            _settings(edition="Free", require_expiration=True)]


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: v.__name__.strip("_") or "settings")
def test_conforming_variant_passes(variant: Callable[[MockProGet], None]) -> None:
    """No false alarm (§5 settings, §8 open points): the variant conforms, and the run
    changes nothing else on it and leaves nothing behind."""
    server = serve_broken(variant)
    try:
        before = [(k.id, k.display_name) for k in server.backend.api_keys]
        anonymous = server.backend.settings.anonymous_admin  # declared, as a user would
        result = verify(server.url, ADMIN_KEY, **NAMES, max_examples=3, anonymous=anonymous)
        after = [(k.id, k.display_name) for k in server.backend.api_keys]
    finally:
        server.stop()
    assert result.ok, [(c.clause, c.detail[:1500]) for c in result.failed] + result.errors + result.leftovers
    assert after == before  # nothing else on the server changed, nothing left behind
    assert sum(c.outcome == "passed" for c in result.clauses) >= 5


def _utc_7_digits(value: str) -> str:
    when = datetime.fromisoformat(value)
    when = (when if when.tzinfo else when.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)
    return when.replace(tzinfo=None).isoformat(timespec="microseconds") + "0Z"


def _rewrite_info(item: dict[str, Any]) -> dict[str, Any]:
    if isinstance(item.get("expiration"), str):
        item["expiration"] = _utc_7_digits(item["expiration"])
    if item.get("systemApis") == ["full-control"]:
        item["systemApis"] = ["sbom-upload", "feeds", "sca"]
    return dict(reversed(list(item.items())))


def written_differently(server: MockProGet) -> None:
    """§8, §2: what a server may write its own way: sparse random ids, list order,
    expirations as the same instant in UTC with 7 fractional digits, full control as the
    three APIs, members in another order, indented JSON."""
    backend, rng = server.backend, random.Random(7)
    store = backend._store

    def sparse(new: Any, *rest: Any) -> Any:
        backend._next_id = rng.randrange(10**6, 2 * 10**9)
        return store(new, *rest)
    backend._store = sparse  # type: ignore[method-assign]

    def hook(environ: dict[str, Any], status: str, headers: list[tuple[str, str]], body: bytes):
        if status.startswith("200") and environ["PATH_INFO"] in ("/api/api-keys/create", "/api/api-keys/list"):
            data = _json_body(body)
            if isinstance(data, list):
                data = [_rewrite_info(item) for item in reversed(data)]
            elif isinstance(data, dict):
                data = _rewrite_info(data)
            body = json.dumps(data, indent=3).encode()
        return status, headers, body
    server.app.wsgi_app = Tamper(server.app.wsgi_app, response=hook)


def _only_where_it_fits(environ: dict[str, Any], body: bytes) -> bytes:
    """Bodies are read only where an endpoint takes one: none on list, a form on delete."""
    path, kind = environ["PATH_INFO"], environ.get("CONTENT_TYPE", "").lower()
    if path.endswith("/list") or (path.endswith("/delete") and "x-www-form-urlencoded" not in kind):
        environ["CONTENT_TYPE"] = ""
        return b""
    return body


def carriers_only_where_they_fit(server: MockProGet) -> None:
    """§3 as the kit reads it off the mock: a form ``key`` is read on delete only, ``API_Key``
    on create only; a body on list is ignored."""
    server.app.wsgi_app = Tamper(server.app.wsgi_app, request=_only_where_it_fits)


def carriers_only_where_they_fit_anonymous(server: MockProGet) -> None:
    """The same on an instance that grants anonymous access (§3), declared with --anonymous:
    an ignored bad credential is let in, and that is no departure."""
    carriers_only_where_they_fit(server)
    server.backend.update_settings(anonymous_admin=True)


@pytest.mark.parametrize("variant, handler", [(lambda server: None, KeepAliveHandler),
                                               (written_differently, KeepAliveHandler),
                                               (carriers_only_where_they_fit, KeepAliveHandler),
                                               (carriers_only_where_they_fit_anonymous, KeepAliveHandler)],
                         ids=["keep-alive", "written-differently", "carriers-where-they-fit",
                              "carriers-where-they-fit-anonymous"])
def test_conforming_server_variant_passes(variant: Callable[[MockProGet], None], handler: Any) -> None:
    """No false alarm (§2, §3, §8): a keep-alive HTTP/1.1 server, one that writes ids,
    order, instants and full control its own way, and one reading body carriers only where
    they fit (also anonymous), conform (every enumerated cell; few drawn)."""
    with serve_raw(variant, handler) as (server, url):
        anonymous = server.backend.settings.anonymous_admin
        result = verify(url, ADMIN_KEY, **NAMES, max_examples=5, anonymous=anonymous)
        left = [k for k in server.backend.api_keys if (k.display_name or "").startswith("mockproget-contracts")]
    assert result.ok, [(c.clause, c.detail[:1500]) for c in result.failed] + result.errors + result.leftovers
    assert not left
