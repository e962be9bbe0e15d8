"""The contract kit catches departures that live in the variations of a request: one
broken server per equivalence class of issue 9 (carrier x endpoint, media-type spelling,
header-name case, framing, near-miss secrets, time, round-trips, JSON as JSON, pgutil's
flows, concurrency, ids), each a subtle deviation of the kind real implementations make.

These servers are the mock's app served by a werkzeug server whose handler also tells
the app what WSGI hides (the header names as written, the chunk-size lines), so that a
departure can depend on them, as a real server's bug would.
"""

from __future__ import annotations

import html
import io
import json
import random
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
import requests
from werkzeug.serving import WSGIRequestHandler, make_server

from mockproget import Config, Forbidden, MockProGet
from mockproget.cli import main as cli_main
from mockproget.models import Principal
from test_contract_broken_servers import ADMIN_KEY, Tamper, _json_body

FULL = ["--username", "Admin", "--password", "Admin", "--feed", "MyNpmFeed", "--feed-group", "MyFeedGroup",
        "--user", "johnsmith"]
JSON_CT = ("application/json", "application/json; charset=utf-8")


def _read_chunked(rfile: Any) -> tuple[bytes, list[str]]:
    body, lines = bytearray(), []
    while True:
        line = rfile.readline(1024).strip().decode("latin-1")
        lines.append(line)
        size = int(line.split(";")[0], 16)
        if size == 0:
            while rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                pass
            return bytes(body), lines
        body += rfile.read(size)
        rfile.readline(16)


class RawHandler(WSGIRequestHandler):
    """Adds ``kit.header_names`` (as written) and, for a chunked body, ``kit.chunk_lines``
    (the size lines as written) to the environ; the body reaches the app de-chunked."""

    def make_environ(self) -> dict[str, Any]:
        environ: dict[str, Any] = dict(super().make_environ())
        environ["kit.header_names"] = list(self.headers.keys())
        raw = self.headers.get("X-ApiKey")
        if raw is not None:  # as written; the app sees it without surrounding whitespace (RFC 9110 §5.5)
            environ["kit.raw_apikey"] = raw
        for name in [k for k in environ if k.startswith("HTTP_")]:
            environ[name] = environ[name].strip(" \t")
        if environ.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked":
            environ["kit.transfer_coding"] = environ["HTTP_TRANSFER_ENCODING"]
            body, lines = _read_chunked(self.rfile)
            environ["wsgi.input"], environ["CONTENT_LENGTH"] = io.BytesIO(body), str(len(body))
            environ.pop("wsgi.input_terminated", None)
            environ.pop("HTTP_TRANSFER_ENCODING", None)
            environ["kit.chunk_lines"] = lines
        return environ

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


class KeepAliveHandler(RawHandler):
    """HTTP/1.1 with persistent connections (the kit must not rely on a server closing them)."""

    protocol_version = "HTTP/1.1"


@contextmanager
def serve_raw(departure: Callable[[MockProGet], None],
              handler: type[WSGIRequestHandler] = RawHandler) -> Iterator[tuple[MockProGet, str]]:
    server = MockProGet(Config(port=0), admin_key=ADMIN_KEY)
    departure(server)
    httpd = make_server("127.0.0.1", 0, server.app, threaded=True, request_handler=handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server, f"http://127.0.0.1:{httpd.server_port}/"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def _request(hook: Callable[[dict[str, Any], bytes], bytes]) -> Callable[[MockProGet], None]:
    def apply(server: MockProGet) -> None:
        server.app.wsgi_app = Tamper(server.app.wsgi_app, request=hook)  # type: ignore[method-assign]
    return apply


def _response(hook: Any) -> Callable[[MockProGet], None]:
    def apply(server: MockProGet) -> None:
        server.app.wsgi_app = Tamper(server.app.wsgi_app, response=hook)  # type: ignore[method-assign]
    return apply


def _answer(status: str, text: str) -> Callable[[Any], Iterable[bytes]]:
    def send(start_response: Any) -> Iterable[bytes]:
        start_response(status, [("Content-Type", "text/plain; charset=utf-8"),
                                ("X-ProGet-Version", "25.0.10"), ("X-ProGet-Edition", "Enterprise")])
        return [text.encode()]
    return send


def _gate(refuse: Callable[[dict[str, Any], bytes], str | None]) -> Callable[[MockProGet], None]:
    """Answer 400 with the text ``refuse`` returns (``None``: pass the request on)."""
    def apply(server: MockProGet) -> None:
        inner = server.app.wsgi_app

        def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length)
            environ["wsgi.input"] = io.BytesIO(body)
            problem = refuse(environ, body)
            if problem is not None:
                return _answer("400 BAD REQUEST", problem)(start_response)
            return inner(environ, start_response)
        server.app.wsgi_app = app  # type: ignore[method-assign]
    return apply


def _authenticate(change: Callable[[Any, Callable[..., Principal], MockProGet], Principal]
                  ) -> Callable[[MockProGet], None]:
    def apply(server: MockProGet) -> None:
        original = server.backend.authenticate

        def authenticate(credential: Any, now: Any = None, **kwargs: Any) -> Principal:
            return change(credential, lambda c, **kw: original(c, now=now, **{**kwargs, **kw}), server)
        server.backend.authenticate = authenticate  # type: ignore[method-assign]
    return apply


def _named(departure: Callable[[MockProGet], None], name: str, doc: str) -> Callable[[MockProGet], None]:
    departure.__name__, departure.__doc__ = name, doc
    return departure


# -- carrier x endpoint ---------------------------------------------------------------------

def _text_plain_api_key(environ: dict[str, Any], body: bytes) -> bytes:
    data = _json_body(body)
    if environ["PATH_INFO"] != "/api/api-keys/create" and isinstance(data, dict) and isinstance(
            data.get("API_Key"), str) and not environ.get("HTTP_X_APIKEY"):
        environ["HTTP_X_APIKEY"] = data["API_Key"]
    return body


def text_plain_api_key_off_create(server: MockProGet) -> None:
    """§3 [doc]: ``API_Key`` in any body that parses as JSON is honoured on list and delete
    (create answers 415 to a body that is not JSON before reading the credential, so a
    check on create alone cannot see it)."""
    _request(_text_plain_api_key)(server)
    inner = server.app.wsgi_app

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        kind = environ.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
        if environ["PATH_INFO"] == "/api/api-keys/create" and kind != "application/json":
            environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            return _answer("415 UNSUPPORTED MEDIA TYPE", "Unsupported media type.")(start_response)
        return inner(environ, start_response)
    server.app.wsgi_app = app  # type: ignore[method-assign]


def _query_key_first(environ: dict[str, Any], body: bytes) -> bytes:
    pairs = parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    if pairs and pairs[0][0] != "key":
        environ["QUERY_STRING"] = urlencode([(k, v) for k, v in pairs if k != "key"])
    return body


query_key_only_first = _named(_request(_query_key_first), "query_key_only_first",
                              "§3 [doc]: the ``key`` query value is read only when it is the first parameter.")


def _form_key_on_delete_with_extra(environ: dict[str, Any], body: bytes) -> bytes:
    if "x-www-form-urlencoded" in environ.get("CONTENT_TYPE", "").lower() and b"&" in body:
        return b"&".join(p for p in body.split(b"&") if not p.startswith(b"key="))
    return body


form_key_only_alone = _named(_request(_form_key_on_delete_with_extra), "form_key_only_alone",
                             "§3 [doc]: a form ``key`` is read only when it is the body's only field.")


# -- media-type spelling ----------------------------------------------------------------------

def _exact_json_type(environ: dict[str, Any], body: bytes) -> bytes:
    data = _json_body(body)
    if environ.get("CONTENT_TYPE") not in JSON_CT and isinstance(data, dict) and "API_Key" in data:
        del data["API_Key"]
        return json.dumps(data).encode()
    return body


json_api_key_exact_media_type = _named(
    _request(_exact_json_type), "json_api_key_exact_media_type",
    "§3 [doc]: ``API_Key`` is read only under Content-Type exactly ``application/json`` "
    "(or ``; charset=utf-8``): ``Application/JSON`` or ``charset=UTF-8`` make it ignored.")


def _typeless_is_form(environ: dict[str, Any], body: bytes) -> bytes:
    if body and not environ.get("CONTENT_TYPE"):
        environ["CONTENT_TYPE"] = "application/x-www-form-urlencoded"
    return body


typeless_body_read_as_form = _named(_request(_typeless_is_form), "typeless_body_read_as_form",
                                    "§3 [doc]: a body without Content-Type is read as a form.")


def _form_charset_ignored(environ: dict[str, Any], body: bytes) -> bytes:
    if environ.get("CONTENT_TYPE", "").lower().startswith("application/x-www-form-urlencoded;"):
        environ["CONTENT_TYPE"] = "text/plain"
    return body


form_with_charset_not_a_form = _named(_request(_form_charset_ignored), "form_with_charset_not_a_form",
                                      "§3 [doc]: a form body with a ``charset`` parameter is not read as a form.")


# -- header-name case -------------------------------------------------------------------------

def _header_case(environ: dict[str, Any], body: bytes) -> bytes:
    if environ["REQUEST_METHOD"] == "POST" and "X-ApiKey" not in environ.get("kit.header_names", []):
        environ.pop("HTTP_X_APIKEY", None)
    return body


def _pseudo_header_case(environ: dict[str, Any], body: bytes) -> bytes:
    if ":" in environ.get("HTTP_X_APIKEY", "") and "X-ApiKey" not in environ.get("kit.header_names", []):
        environ.pop("HTTP_X_APIKEY", None)
    return body


pseudo_key_needs_exact_header_name = _named(_request(_pseudo_header_case), "pseudo_key_needs_exact_header_name",
                                            "§3 [doc]: a pseudo-key is read only from a header spelled exactly "
                                            "``X-ApiKey`` (a key in any case).")


header_case_only_on_list = _named(_request(_header_case), "header_case_only_on_list",
                                  "§3 [doc]: the header name's case is ignored on list only: create and "
                                  "delete need exactly ``X-ApiKey``.")


# -- framing ----------------------------------------------------------------------------------

upper_hex_chunks_refused = _named(
    _gate(lambda environ, body: "Invalid chunk size." if any(
        re.search(r"[A-F]", line) for line in environ.get("kit.chunk_lines", [])) else None),
    "upper_hex_chunks_refused", "§7 [client]: chunk sizes in upper-case hex (as .NET writes them) are refused.")


def _chunked_credential(environ: dict[str, Any], body: bytes) -> bytes:
    if environ.get("kit.chunk_lines"):
        data = _json_body(body)
        if isinstance(data, dict) and "API_Key" in data:
            del data["API_Key"]
            return json.dumps(data).encode()
        if body.startswith(b"key="):
            return b"kex=" + body[4:]
    return body


chunked_credential_ignored = _named(_request(_chunked_credential), "chunked_credential_ignored",
                                    "§3 [doc]: a credential inside a chunked body is not read.")


def _cut_at_4k(environ: dict[str, Any], body: bytes) -> bytes:
    return body[:4096] if environ.get("kit.chunk_lines") else body


large_chunked_body_cut = _named(_request(_cut_at_4k), "large_chunked_body_cut",
                                "§7 [client]: a chunked body is read only up to its first 4 KB.")


# -- near-miss secrets ------------------------------------------------------------------------

def _password_prefix(credential: Any, original: Callable[..., Principal], server: MockProGet) -> Principal:
    if credential is not None and credential.value.startswith("Admin:"):
        password = credential.value.partition(":")[2]
        if password and "Admin".startswith(password):
            credential = type(credential)(credential.carrier, "Admin:Admin")
    return original(credential)


password_prefix_accepted = _named(_authenticate(_password_prefix), "password_prefix_accepted",
                                  "§3 [doc]: a pseudo-key whose password is only the start of the real one is accepted.")


def _user_case(credential: Any, original: Callable[..., Principal], server: MockProGet) -> Principal:
    if credential is not None and ":" in credential.value:
        name, _, password = credential.value.partition(":")
        match = next((u.name for u in server.backend.users if u.name.lower() == name.lower()), None)
        if match is not None:
            credential = type(credential)(credential.carrier, f"{match}:{password}")
    return original(credential)


user_name_case_insensitive = _named(_authenticate(_user_case), "user_name_case_insensitive",
                                    "§3 [doc]: a pseudo-key's user name is matched case-insensitively.")


def _trimmed(credential: Any, original: Callable[..., Principal], server: MockProGet) -> Principal:
    if credential is not None:
        credential = type(credential)(credential.carrier, credential.value.strip())
    return original(credential)


padded_key_trimmed = _named(_authenticate(_trimmed), "padded_key_trimmed",
                            "§3 [doc]: whitespace around a key in the query, a form or JSON is trimmed away.")


def user_name_trimmed(server: MockProGet) -> None:
    """§2 [doc]: a personal key's ``user`` is trimmed of whitespace before it is matched."""
    original = server.backend._check_new_key

    def check(new: Any, *, seeding: bool = False) -> None:
        if new.type == "personal" and new.user and new.user.strip() != new.user:
            object.__setattr__(new, "user", new.user.strip())
        original(new, seeding=seeding)
    server.backend._check_new_key = check  # type: ignore[method-assign]


# -- time -------------------------------------------------------------------------------------

_OFFSET = re.compile(r'("expiration"\s*:\s*"[^"]*?)(Z|[+-]\d\d:\d\d)"')


def _drop_offset(environ: dict[str, Any], body: bytes) -> bytes:
    if environ["PATH_INFO"] == "/api/api-keys/create":
        return _OFFSET.sub(lambda m: m.group(1) + '"', body.decode("utf-8", "replace")).encode()
    return body


expiration_offset_ignored = _named(_request(_drop_offset), "expiration_offset_ignored",
                                   "§2 [doc]: an expiration's offset is dropped: the wall time is read as UTC.")


def _listed(edit: Callable[[list[dict[str, Any]]], list[dict[str, Any]]]) -> Any:
    """A response hook: ``edit`` rewrites the items of a successful list answer."""
    def hook(environ: dict[str, Any], status: str, headers: list[tuple[str, str]],
             body: bytes) -> tuple[str, list[tuple[str, str]], bytes]:
        if environ["PATH_INFO"] == "/api/api-keys/list" and status.startswith("200"):
            body = json.dumps(edit(_json_body(body) or [])).encode()
        return status, headers, body
    return hook


def _shift_listed(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for item in items:
        value = item.get("expiration")
        if isinstance(value, str):
            item["expiration"] = re.sub(r"(Z|[+-]\d\d:\d\d)$", "", value) + "Z"
    return items


listed_expiration_shifted = _named(_response(_listed(_shift_listed)), "listed_expiration_shifted",
                                   "§2 [doc]: the list writes an expiration's wall time with ``Z``: "
                                   "shifted by its offset.")

seven_digit_fraction_refused = _named(
    _gate(lambda environ, body: "expiration: invalid date" if re.search(
        rb'"expiration"\s*:\s*"[^"]*\.\d{7}', body) else None),
    "seven_digit_fraction_refused", "§2 [client]: an expiration with 7 fractional digits (.NET's) is refused.")


def _hide_expired(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    now = datetime.now(timezone.utc)
    kept = []
    for item in items:
        value = item.get("expiration")
        when = datetime.fromisoformat(value) if isinstance(value, str) else None
        if when is not None and (when if when.tzinfo else when.replace(tzinfo=timezone.utc)) < now:
            continue
        kept.append(item)
    return kept


expired_keys_not_listed = _named(_response(_listed(_hide_expired)), "expired_keys_not_listed",
                                 "§1 [doc]: a stored key past its expiration is left out of the list.")


# -- round-trips ------------------------------------------------------------------------------

def _escape_names(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for item in items:
        for name in ("displayName", "description"):
            if isinstance(item.get(name), str):
                item[name] = html.escape(item[name])
    return items


listed_names_html_escaped = _named(_response(_listed(_escape_names)), "listed_names_html_escaped",
                                   "§2 [doc]: the list shows display names and descriptions HTML-escaped.")


def _lower_key(environ: dict[str, Any], body: bytes) -> bytes:
    data = _json_body(body)
    if environ["PATH_INFO"] == "/api/api-keys/create" and isinstance(data, dict) and isinstance(data.get("key"), str):
        data["key"] = data["key"].lower()
        return json.dumps(data).encode()
    return body


custom_key_lowercased = _named(_request(_lower_key), "custom_key_lowercased",
                               "§2 [doc]: a custom key text is stored lower-cased.")


def _answer_full_control(environ: dict[str, Any], status: str, headers: list[tuple[str, str]],
                         body: bytes) -> tuple[str, list[tuple[str, str]], bytes]:
    if environ["PATH_INFO"] == "/api/api-keys/create" and status.startswith("200"):
        data = _json_body(body)
        if isinstance(data, dict) and data.get("type") == "system":
            data["systemApis"] = ["full-control"]
            body = json.dumps(data).encode()
    return status, headers, body


create_answer_claims_full_control = _named(_response(_answer_full_control), "create_answer_claims_full_control",
                                           "§2 [doc]: the create answer shows every system key as full control.")


# -- JSON as JSON -----------------------------------------------------------------------------

type_must_come_first = _named(
    _gate(lambda environ, body: "type: required" if environ["PATH_INFO"] == "/api/api-keys/create" and isinstance(
        _json_body(body), dict) and _json_body(body) and next(iter(_json_body(body))).lower() != "type" else None),
    "type_must_come_first", "§2 [std]: a create body is refused unless ``type`` is its first member.")


def _first_element_only(environ: dict[str, Any], body: bytes) -> bytes:
    data = _json_body(body)
    if environ["PATH_INFO"] == "/api/api-keys/create" and isinstance(data, dict):
        for name, valid in (("systemApis", {"full-control", "feeds", "sca", "sbom-upload"}),
                            ("packagePermissions", {"view", "add", "promote", "delete"})):
            values = data.get(name)
            if isinstance(values, list) and len(values) > 1 and str(values[0]).lower() in valid:
                data[name] = values[:1] + [v for v in values[1:] if str(v).lower() in valid]
        return json.dumps(data).encode()
    return body


only_first_array_element_checked = _named(_request(_first_element_only), "only_first_array_element_checked",
                                          "§2 [doc]: only the first element of systemApis/packagePermissions "
                                          "is validated; invalid later ones are dropped.")


# -- pgutil's flows ---------------------------------------------------------------------------

def _three_apis(credential: Any, original: Callable[..., Principal], server: MockProGet) -> Principal:
    principal = original(credential)
    key = server.backend.get_api_key(principal.key_id) if principal.key_id is not None else None
    if key is not None and key.system_apis and "full-control" not in key.system_apis:
        raise Forbidden("This key does not have full control.")
    return principal


three_apis_not_full_control = _named(_authenticate(_three_apis), "three_apis_not_full_control",
                                     "§2 [client]: a system key with feeds, sca and sbom-upload (pgutil's "
                                     "full control) may not manage keys.")


# -- concurrency and ids ----------------------------------------------------------------------

def clock_seeded_key_texts(server: MockProGet) -> None:
    """§2 [doc]: generated key texts come from a generator seeded with the clock (in
    quarter seconds), so keys created at once get the same text."""
    server.backend._generate_key = (  # type: ignore[method-assign]
        lambda: f"{random.Random(int(time.time() * 4)).getrandbits(160):040x}")


def free_client_id_honoured(server: MockProGet) -> None:
    """§2 [doc]: a client-sent ``id`` that no key has is used for the new key."""
    inner, backend = server.app.wsgi_app, server.backend

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["wsgi.input"] = io.BytesIO(body)
        data = _json_body(body)
        wanted = data.get("id") if isinstance(data, dict) else None
        if environ["PATH_INFO"] == "/api/api-keys/create" and isinstance(wanted, int) and \
                backend.get_api_key(wanted) is None and wanted > 0:
            backend._next_id = wanted
        return inner(environ, start_response)
    server.app.wsgi_app = app  # type: ignore[method-assign]


#: (departure, -k expression choosing the clauses about it, a clause that must fail)
BROKEN_SHAPES: list[tuple[Callable[[MockProGet], None], str, str]] = [
    (text_plain_api_key_off_create, "another_type", "test_credential_in_a_body_of_another_type_is_none"),
    (query_key_only_first, "good_credential", "test_good_credential_in_every_shape[api-key]"),
    (form_key_only_alone, "good_credential", "test_good_credential_in_every_shape[api-key]"),
    (json_api_key_exact_media_type, "good_credential", "test_good_credential_in_every_shape[api-key]"),
    (typeless_body_read_as_form, "another_type", "test_credential_in_a_body_of_another_type_is_none"),
    (form_with_charset_not_a_form, "good_credential", "test_good_credential_in_every_shape[api-key]"),
    (header_case_only_on_list, "good_credential", "test_good_credential_in_every_shape[api-key]"),
    (pseudo_key_needs_exact_header_name, "good_credential", "test_good_credential_in_every_shape[pseudo-key]"),
    (upper_hex_chunks_refused, "framing", "test_every_framing_carries_body_and_credential"),
    (chunked_credential_ignored, "framing", "test_every_framing_carries_body_and_credential"),
    (large_chunked_body_cut, "framing", "test_every_framing_carries_body_and_credential"),
    (password_prefix_accepted, "near_miss", "test_near_miss_credentials_are_refused"),
    (user_name_case_insensitive, "near_miss", "test_near_miss_credentials_are_refused"),
    (padded_key_trimmed, "near_miss", "test_near_miss_credentials_are_refused"),
    (user_name_trimmed, "near_miss_user", "test_near_miss_user_names_are_refused"),
    (expiration_offset_ignored, "instant", "test_expiration_is_an_instant"),
    (listed_expiration_shifted, "instant", "test_expiration_is_an_instant"),
    (seven_digit_fraction_refused, "instant", "test_expiration_is_an_instant"),
    (expired_keys_not_listed, "instant", "test_expiration_is_an_instant"),
    (listed_names_html_escaped, "round_trip", "test_round_trip"),
    (custom_key_lowercased, "round_trip", "test_round_trip"),
    (create_answer_claims_full_control, "good_credential", "test_good_credential_in_every_shape[api-key]"),
    (type_must_come_first, "good_credential", "test_good_credential_in_every_shape[api-key]"),
    (only_first_array_element_checked, "array_element", "test_invalid_array_element_anywhere[last]"),
    (three_apis_not_full_control, "pgutil_flows", "test_pgutil_flows"),
    (clock_seeded_key_texts, "parallel", "test_parallel_creates"),
    (free_client_id_honoured, "free_client_id", "test_free_client_id_is_not_used"),
]


@pytest.mark.parametrize("departure, select, clause", BROKEN_SHAPES, ids=[b[0].__name__ for b in BROKEN_SHAPES])
def test_kit_catches_the_departure(departure: Callable[[MockProGet], None], select: str, clause: str,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    """§3/§2/§7: ``mockproget verify`` (default examples) exits 1 with a FAIL line naming
    the clause, the failure shows the request shape, and no secret is printed."""
    with serve_raw(departure) as (server, url):
        assert requests.get(url + "api/api-keys/list", headers={"X-ApiKey": ADMIN_KEY}, timeout=10).status_code == 200
        code = cli_main(["verify", "--url", url, "--api-key", ADMIN_KEY, *FULL, "-k", select])
        left = [k for k in server.backend.api_keys if (k.display_name or "").startswith("mockproget-contracts")]
    out = capsys.readouterr().out
    failed = re.findall(r"^FAIL\s+§\d\s+\[\w+\]\s+(\S+)$", out, re.M)
    assert code == 1, out[-3000:]
    assert any(clause in name for name in failed), (departure.__doc__, failed, out[-3000:])
    assert ADMIN_KEY not in out and "Admin:Admin" not in out
    assert not left, [k.display_name for k in left]


def test_the_same_clauses_pass_on_the_unbroken_mock_served_raw(capsys: pytest.CaptureFixture[str]) -> None:
    """No false alarm (§3, §2, §7): every selection above passes against the mock behind
    the same raw-aware server."""
    select = " or ".join(sorted({b[1] for b in BROKEN_SHAPES}))
    with serve_raw(lambda server: None) as (_, url):
        code = cli_main(["verify", "--url", url, "--api-key", ADMIN_KEY, *FULL, "-k", select])
    out = capsys.readouterr().out
    assert code == 0, out[-4000:]


def test_every_departure_is_documented() -> None:
    """Each departure names the spec section and source it breaks (§2, §3, §7)."""
    assert len({b[0] for b in BROKEN_SHAPES}) >= 20
    assert all(re.match(r"§\d \[(doc|client|std)\]", b[0].__doc__ or "") for b in BROKEN_SHAPES)


def test_failure_shows_the_request_shape_masked(capsys: pytest.CaptureFixture[str]) -> None:
    """§7 [client]: a failure names its section, the shape that broke the rule and the raw
    request as sent (chunk sizes in upper-case hex), with every secret masked."""
    with serve_raw(upper_hex_chunks_refused) as (_, url):
        code = cli_main(["verify", "--url", url, "--api-key", ADMIN_KEY, *FULL, "-k", "framing"])
    out = capsys.readouterr().out
    assert code == 1
    assert re.search(r"^FAIL\s+§7\s+\[client\]\s+TestShapes::test_every_framing_carries_body_and_credential$",
                     out, re.M)
    assert "with shape(POST create, carrier=header" in out and "framing=chunked/26/upper-hex" in out
    assert "[chunk sizes: 1A 1A" in out and "> Transfer-Encoding: chunked" in out
    assert "> X-ApiKey: ********" in out and ADMIN_KEY not in out


def test_leftover_body_on_a_kept_open_connection_is_caught() -> None:
    """RFC 9112 [std] (§3 refusals): a server that keeps the connection open after refusing
    a request whose body it did not read parses the leftovers as the next request; the kit
    sends its next request on that connection and reports the departure."""
    import socket

    from mockproget_contracts.client import ContractViolation, ProGetClient
    from mockproget_contracts.shapes import Shape
    from mockproget_contracts.test_shapes import send

    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)  # the head (and maybe some body): the rest stays unread
            conn.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\nno!")
            conn.recv(65536)  # whatever comes next is parsed from the leftovers
            conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 4\r\n"
                         b"Connection: close\r\n\r\nbad!")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    client = ProGetClient(f"http://127.0.0.1:{port}/", ADMIN_KEY)
    try:
        with pytest.raises(ContractViolation, match=r"RFC 9112 \[std\].*answered 400"):
            send(client, Shape("list", "json", media_type="text/plain"), ADMIN_KEY, follow_up=True)
    finally:
        thread.join(5)
        listener.close()
    assert ADMIN_KEY not in "\n".join(e.format() for e in client.exchanges)


def test_near_miss_secrets_are_masked_in_the_report(capsys: pytest.CaptureFixture[str]) -> None:
    """§3, §6: a server that answers a refused key with 401 and echoes it in the body is
    caught, and the report shows neither the admin key nor any near-miss of it."""
    def echo(environ: dict[str, Any], status: str, headers: list[tuple[str, str]],
             body: bytes) -> tuple[str, list[tuple[str, str]], bytes]:
        if status.startswith("403"):
            sent = environ.get("HTTP_X_APIKEY") or dict(parse_qsl(environ.get("QUERY_STRING", ""))).get("key", "")
            return "401 UNAUTHORIZED", headers, f"The API key '{sent}' is not valid.".encode()
        return status, headers, body

    with serve_raw(_response(echo)) as (_, url):
        code = cli_main(["verify", "--url", url, "--api-key", ADMIN_KEY, *FULL, "-k", "near_miss_credentials"])
    out = capsys.readouterr().out
    assert code == 1 and "expected 403, got 401" in out
    assert "The API key '" in out
    for leak in (ADMIN_KEY, ADMIN_KEY[:-1], ADMIN_KEY[1:], ADMIN_KEY.upper(), "Admin:Admi", "aDMIN"):
        assert leak not in out, leak
