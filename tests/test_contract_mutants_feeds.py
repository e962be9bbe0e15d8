"""Mutation hunt, second round: the feed clauses (proget-feeds spec §1-§5) and the
api-keys clauses (§3, §6) catch subtle departures they were not written against.

Each mutant is the mock with one small deviation from a [doc], [client] or [std] rule: a
permission counted for the wrong operation, a rule honoured in one carrier or one
spelling only, one user's credential forms judged apart, a deleted or expired key still
reading, a refusal without its challenge or echoing the credential, a Universal download
status changed. Every feed clause runs against the mutant known only by URL (the
statuses any server may give; [model] mutants: as the embedded mock) and at least one
must raise a contract violation; the unbroken mock passes them all
(tests/test_feeds_contracts.py).
"""

from __future__ import annotations

import base64
import io
import json
import re
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from typing import Any

import pytest
from flask import request as flask_request

from feedkit import feeds_config
from mockproget import Forbidden, MockProGet
from mockproget.models import digest
from mockproget_contracts import Target
from mockproget_contracts.client import ContractViolation
from mockproget_contracts.test_feeds import FeedClauses
from test_contract_broken_servers import ADMIN_KEY, Tamper, _json_body, _set_header
from test_contract_broken_shapes import _listed
from test_contract_mutants import (_drop, _feed_request, _lenient, _lower_keys, _named, answer_then_replay,
                                   basic_publish_not_stored, run_verify)

Mutant = Callable[[MockProGet], None]
Answer = tuple[str, list[tuple[str, str]], bytes]
CLAUSES = sorted(name for name in dir(FeedClauses) if name.startswith("test_"))


def _source(name: str) -> str:
    """A clause's source ([doc], [client] or [model]), as the kit's gate reads it."""
    marks = getattr(getattr(FeedClauses, name), "pytestmark", [])
    return next(str(m.args[1]) for m in marks if m.name == "proget_contract")
ADMIN_BASIC = "Basic " + base64.b64encode(f"api:{ADMIN_KEY}".encode()).decode()


# -- building blocks ---------------------------------------------------------------------

def _access(change: Callable[[MockProGet, Any, Any, str, str], str | None | bool]) -> Mutant:
    """The operation judged becomes ``change(server, principal, key, feed, operation)``:
    an operation name, ``None`` (refused) or ``True`` (allowed outright)."""
    def apply(server: MockProGet) -> None:
        backend = server.backend
        original = backend._feed_access

        def judged(principal: Any, name: str, feed_type: str, operation: str) -> Any:
            key = backend._keys.get(principal.key_id) if principal.key_id is not None else None
            changed = change(server, principal, key, name, operation)
            if changed is None:
                raise Forbidden("This credential may not do that.")
            if changed is True:
                return backend.get_feed(name, feed_type)
            return original(principal, name, feed_type, str(changed))
        backend._feed_access = judged  # type: ignore[method-assign]
    return apply


def _perms(key: Any) -> set[str]:
    return set(key.package_permissions or ()) if key is not None and key.type == "feed" else set()


def _answers(change: Callable[[dict[str, Any], str, list[tuple[str, str]], bytes], Answer]) -> Mutant:
    def apply(server: MockProGet) -> None:
        server.app.wsgi_app = Tamper(server.app.wsgi_app, response=change)  # type: ignore[method-assign]
    return apply


def _graveyard(server: MockProGet, kinds: tuple[str, ...]) -> set[str]:
    """Digests of deleted keys of ``kinds``, kept up to date."""
    backend, dead = server.backend, set()
    delete = backend.delete_api_key

    def remember(principal: Any, key_id: int) -> None:
        key = backend.get_api_key(key_id)
        delete(principal, key_id)
        if key is not None and key.type in kinds:
            dead.add(key.digest)
    backend.delete_api_key = remember  # type: ignore[method-assign]
    return dead


def _credential_values(environ: dict[str, Any]) -> list[str]:
    values = [environ.get("HTTP_X_APIKEY", ""), environ.get("HTTP_X_NUGET_APIKEY", "")]
    values += re.findall(r"(?:^|&)key=([^&]*)", environ.get("QUERY_STRING", ""))
    scheme, _, value = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() == "bearer":
        values.append(value.strip())
    elif scheme.lower() == "basic":
        try:
            values.append(base64.b64decode(value).decode().partition(":")[2])
        except ValueError:
            pass
    return [v for v in values if v]


def _as_admin_when(test: Callable[[dict[str, Any], str], bool]) -> Callable[[dict[str, Any]], None]:
    """Where ``test(environ, credential)`` holds for a credential, the request goes as the admin."""
    def hook(environ: dict[str, Any]) -> None:
        if any(test(environ, value) for value in _credential_values(environ)):
            for name in ("HTTP_X_APIKEY", "HTTP_X_NUGET_APIKEY"):
                environ.pop(name, None)
            environ["QUERY_STRING"] = re.sub(r"(^|&)key=[^&]*", "", environ.get("QUERY_STRING", ""))
            environ["HTTP_AUTHORIZATION"] = ADMIN_BASIC
    return hook


# -- §1.2: a permission counted for the wrong operation ----------------------------------

promote_counts_as_add = _named(_access(
    lambda s, p, key, feed, op: True if op == "publish" and {"view", "promote"} <= _perms(key) else op),
    "promote_counts_as_add", "§1.2 [doc]: a feed key with View/Download and Promote publishes packages.")
delete_needs_add = _named(_access(
    lambda s, p, key, feed, op: "publish" if op == "delete" and key is not None and key.type == "feed" else op),
    "delete_needs_add", "§1.2 [doc]: deleting a package asks for Add/Repackage, not Overwrite/Delete "
    "(a view+add key deletes, a view+delete key cannot).")
promote_counts_as_delete = _named(_access(
    lambda s, p, key, feed, op: True if op == "delete" and {"view", "promote"} <= _perms(key) else op),
    "promote_counts_as_delete", "§1.2 [doc]: a feed key with View/Download and Promote deletes packages.")
view_key_refused_reading_as_basic = _named(_access(
    lambda s, p, key, feed, op: None if op == "read" and p.carrier == "basic" and key is not None
    and key.type == "feed" else op),
    "view_key_refused_reading_as_basic", "§1.1.2 [doc]: a feed key reads as a Bearer token but is refused as "
    "Basic api:«key» (npm's _auth, pip's index URL).")
query_key_deletes_with_view = _named(_access(
    lambda s, p, key, feed, op: "read" if op == "delete" and p.carrier == "query" else op),
    "query_key_deletes_with_view", "§5.3 [doc]: Overwrite/Delete is checked for X-ApiKey and Basic, not for ?key=.")
add_key_overwrites_with_basic = _named(_access(
    lambda s, p, key, feed, op: "publish" if op == "overwrite" and p.carrier == "basic" else op),
    "add_key_overwrites_with_basic", "§1.4 [doc]: a NuGet push of an existing version without "
    "Overwrite/Delete is a 409 with X-NuGet-ApiKey, but overwrites when the key comes as Basic api:«key».")


# -- §1.1.3 / api-keys §3: one user's credential forms judged apart -----------------------

personal_keys_refused_on_feeds = _named(_access(
    lambda s, p, key, feed, op: None if p.key_type == "personal" else op),
    "personal_keys_refused_on_feeds", "§1.2 [doc]: personal keys are refused on feed endpoints (the user's "
    "Basic login works).")
basic_login_reads_only = _named(_access(
    lambda s, p, key, feed, op: None if p.kind == "user" and op != "read" else op),
    "basic_login_reads_only", "§1.1.3 [doc]: Basic «username»:«password» reads but never publishes (the "
    "user's personal key publishes).")
pseudo_key_reads_only = _named(_access(
    lambda s, p, key, feed, op: None if p.kind == "pseudo-key" and op != "read" else op),
    "pseudo_key_reads_only", "§5.2 [client]: pgutil's user:password in X-ApiKey reads but cannot publish.")
personal_key_refused_as_basic = _named(_access(
    lambda s, p, key, feed, op: None if p.key_type == "personal" and p.carrier == "basic" else op),
    "personal_key_refused_as_basic", "§1.1.2 [doc]: a personal key works in X-NuGet-ApiKey but not as Basic "
    "api:«key».")


def _nuget_pseudo_key_dropped(environ: dict[str, Any]) -> None:
    if ":" in environ.get("HTTP_X_NUGET_APIKEY", ""):
        environ["HTTP_X_NUGET_APIKEY"] = "0" * 40


nuget_pseudo_key_refused = _named(_feed_request(_nuget_pseudo_key_dropped), "nuget_pseudo_key_refused",
                                  "§2.2 [doc]: X-NuGet-ApiKey: «user»:«password» (-ApiKey Admin:Admin) is "
                                  "not taken as a pseudo-key.")


def deleted_personal_key_publishes(server: MockProGet) -> None:
    """§1.2 [doc]: a deleted personal key keeps working on the feed endpoints."""
    dead = _graveyard(server, ("personal",))
    _feed_request(_as_admin_when(lambda e, v: digest(v) in dead))(server)


def expired_personal_key_works_on_feeds(server: MockProGet) -> None:
    """§1.2 [doc]: on the feed endpoints expiration is judged for feed and system keys, not
    for personal keys."""
    backend = server.backend
    original = backend._resolve

    def resolve(credential: Any, now: datetime) -> Any:
        key = _key_named(server, credential.value)
        if key is not None and key.type == "personal" and flask_request.path.split("/")[1] in FEED_PREFIXES:
            now = datetime(2000, 1, 1, tzinfo=timezone.utc)
        return original(credential, now)
    backend._resolve = resolve  # type: ignore[method-assign]


FEED_PREFIXES = ("npm", "pypi", "nuget", "upack")


def _key_named(server: MockProGet, text: str) -> Any:
    key_id = server.backend._by_digest.get(digest(text))
    return server.backend._keys.get(key_id) if key_id is not None else None


# -- spellings (RFC 9110 [std]) ------------------------------------------------------------

def _scheme_exact(word: str, prefix: str) -> Callable[[dict[str, Any]], None]:
    def hook(environ: dict[str, Any]) -> None:
        scheme = environ.get("HTTP_AUTHORIZATION", "").partition(" ")[0]
        if environ.get("PATH_INFO", "").startswith(prefix) and scheme.lower() == word.lower() and scheme != word:
            environ.pop("HTTP_AUTHORIZATION")
    return hook


basic_scheme_case_sensitive = _named(_feed_request(_scheme_exact("Basic", "/pypi/")), "basic_scheme_case_sensitive",
                                     "§4.2 [doc] + RFC 9110 §11.1 [std]: only 'Basic' is read, 'basic' or 'BASIC' "
                                     "is no credential.")
bearer_scheme_case_sensitive = _named(_feed_request(_scheme_exact("Bearer", "/npm/")), "bearer_scheme_case_sensitive",
                                      "§3.2 [doc] + RFC 9110 §11.1 [std]: only 'Bearer' is read on npm.")


# -- deleted and expired keys that still read ---------------------------------------------

def _expiry_on_writes_only(server: MockProGet) -> None:
    original = server.backend.authenticate_feed

    def authenticate(credential: Any, *, login: bool = False, now: Any = None) -> Any:
        if flask_request.method == "GET":
            now = datetime(2000, 1, 1, tzinfo=timezone.utc)
        return original(credential, login=login, now=now)
    server.backend.authenticate_feed = authenticate  # type: ignore[method-assign]


expired_key_reads = _named(_expiry_on_writes_only, "expired_key_reads",
                           "§1.2 [doc]: an expired key is refused publishing but still reads (downloads).")


def deleted_key_reads(server: MockProGet) -> None:
    """§1.2 [doc]: a deleted key is refused publishing but still reads."""
    dead = _graveyard(server, ("feed", "system", "personal"))
    _feed_request(_as_admin_when(lambda e, v: e.get("REQUEST_METHOD") == "GET" and digest(v) in dead))(server)


# -- §1.4 / RFC 9110: refusals -------------------------------------------------------------

def _no_challenge(environ: dict[str, Any], status: str, headers: list[tuple[str, str]], body: bytes) -> Answer:
    if status.startswith("401"):
        headers = _set_header(headers, "WWW-Authenticate", None)
    return status, headers, body


challenge_missing = _named(_answers(_no_challenge), "challenge_missing",
                           "§1.4 [doc] + RFC 9110 §15.5.2 [std]: a 401 without WWW-Authenticate (NuGet then "
                           "never sends its stored credentials).")


def _echo(environ: dict[str, Any], status: str, headers: list[tuple[str, str]], body: bytes) -> Answer:
    if status[:3] in ("401", "403"):
        sent = environ.get("HTTP_AUTHORIZATION") or environ.get("HTTP_X_APIKEY") or environ.get(
            "HTTP_X_NUGET_APIKEY")
        if sent:
            body += f" (credential sent: {sent})".encode()
    return status, headers, body


refusal_echoes_the_credential = _named(_answers(_echo), "refusal_echoes_the_credential",
                                       "§1.4 [doc]: a refusal repeats the credential it refused in its body.")


def _upack_404_as(status: str) -> Callable[[dict[str, Any], str, list[tuple[str, str]], bytes], Answer]:
    def change(environ: dict[str, Any], got: str, headers: list[tuple[str, str]], body: bytes) -> Answer:
        if "/download/" in environ.get("PATH_INFO", "") and got.startswith("404"):
            return status, headers, b"" if status.startswith("200") else body
        return got, headers, body
    return change


upack_unknown_version_is_403 = _named(_answers(_upack_404_as("403 FORBIDDEN")), "upack_unknown_version_is_403",
                                      "§5.3 [doc]: downloading an unknown Universal package is a 403, not a 404.")
upack_unknown_version_is_empty_200 = _named(_answers(_upack_404_as("200 OK")), "upack_unknown_version_is_empty_200",
                                            "§5.3 [doc]: downloading an unknown Universal package is a 200 with an "
                                            "empty body.")


def _latest_ignored(environ: dict[str, Any]) -> None:
    if "/download/" in environ.get("PATH_INFO", "") and "latest" in environ.get("QUERY_STRING", ""):
        environ["QUERY_STRING"] = re.sub(r"(^|&)latest(=[^&]*)?", "", environ["QUERY_STRING"])


upack_latest_ignored = _named(_feed_request(_latest_ignored), "upack_latest_ignored",
                              "§5.1 [doc]: ?latest is not read on a Universal download (no version: not found).")


def _challenge_bearer(environ: dict[str, Any], status: str, headers: list[tuple[str, str]], body: bytes) -> Answer:
    if status.startswith("401"):
        headers = _set_header(headers, "WWW-Authenticate", 'Bearer realm="ProGet"')
    return status, headers, body


nuget_challenge_not_basic = _named(_answers(_challenge_bearer), "nuget_challenge_not_basic",
                                   "§2.2 [client]: a NuGet 401 challenges with Bearer, not Basic (NuGet never "
                                   "sends its stored api:«key»).")


def _downloads_need_add(server: MockProGet, p: Any, key: Any, feed: str, op: str) -> str | None | bool:
    path = flask_request.path
    if op == "read" and key is not None and key.type == "feed" and p.carrier == "basic" and (
            "/-/" in path or "/download/" in path or "flatcontainer" in path) and "add" not in _perms(key):
        return None
    return op


basic_downloads_need_add = _named(_access(_downloads_need_add), "basic_downloads_need_add",
                                  "§1.2 [doc]: downloading with Basic api:«key» asks for Add/Repackage (listing "
                                  "needs View/Download only).")


def _tarball_refuses_bearer(server: MockProGet, p: Any, key: Any, feed: str, op: str) -> str | None | bool:
    return None if op == "read" and p.carrier == "bearer" and "/-/" in flask_request.path else op


npm_tarball_refuses_bearer = _named(_access(_tarball_refuses_bearer), "npm_tarball_refuses_bearer",
                                    "§3.2 [client]: the npm packument takes the _authToken, the tarball "
                                    "download refuses it.")

def _json_answer(path_test: Callable[[str], bool], change: Callable[[Any], Any]) -> Mutant:
    """A 2xx JSON answer on a path where ``path_test`` holds goes through ``change``."""
    def hook(environ: dict[str, Any], status: str, headers: list[tuple[str, str]], body: bytes) -> Answer:
        data = _json_body(body)
        if path_test(environ.get("PATH_INFO", "")) and status.startswith("2") and data is not None:
            body = json.dumps(change(data)).encode()
        return status, headers, body
    return _answers(hook)


def _tarballs_elsewhere(document: Any) -> Any:
    for manifest in (document.get("versions") or {}).values():
        dist = manifest.get("dist", {})
        dist["tarball"] = "/tarballs/" + dist.get("tarball", "").rpartition("/")[2]
    return document


npm_tarball_outside_the_registry = _named(_json_answer(
    lambda p: p.startswith("/npm/") and "/-/" not in p, _tarballs_elsewhere), "npm_tarball_outside_the_registry",
    "§3.1 [client]: the packument's dist.tarball points outside the registry (npm sends no credential there, "
    "and nothing is served).")
nuget_index_without_base_address = _named(_json_answer(
    lambda p: p.endswith("/v3/index.json"),
    lambda d: {**d, "resources": [r for r in d["resources"] if "PackageBaseAddress" not in r["@type"]]}),
    "nuget_index_without_base_address", "§2.3 [std]: the v3 service index lists no PackageBaseAddress "
    "(restore cannot download).")
npm_login_token_unusable = _named(_json_answer(
    lambda p: "/-/user/" in p, lambda d: {**d, "token": "0" * 40}), "npm_login_token_unusable",
    "§3.2 [client]: npm login answers a token that does not authenticate.")


def _login_anything(environ: dict[str, Any], status: str, headers: list[tuple[str, str]], body: bytes) -> Answer:
    if "/-/user/" in environ.get("PATH_INFO", "") and status.startswith("401"):
        return "201 CREATED", [("Content-Type", "application/json")], json.dumps(
            {"ok": True, "token": ADMIN_KEY[::-1]}).encode()
    return status, headers, body


npm_login_takes_any_key = _named(_answers(_login_anything), "npm_login_takes_any_key",
                                 "§3.2 [client]: npm login with an unknown key answers 201 and a token.")

def _scoped_packument_missing(environ: dict[str, Any]) -> None:
    path = environ.get("PATH_INFO", "")
    if path.startswith("/npm/") and "/@" in path and "/-/" not in path and environ.get("REQUEST_METHOD") == "GET":
        environ["PATH_INFO"] = path.replace("/@", "/no-such-scope-@", 1)


npm_scoped_packument_missing = _named(_feed_request(_scoped_packument_missing), "npm_scoped_packument_missing",
                                      "§3.1 [std]: a scoped package (@scope%2fname) is published but its "
                                      "packument is not found.")

def refused_publish_stored(server: MockProGet) -> None:
    """§1.2 [doc]: a publish refused (401/403) stores the package all the same: the
    refusal is sent, and the upload is replayed behind it as the admin."""
    inner = server.app.wsgi_app

    def as_admin(saved: dict[str, Any], body: bytes) -> dict[str, Any]:
        again = {k: v for k, v in saved.items() if k not in ("HTTP_X_APIKEY", "HTTP_X_NUGET_APIKEY")}
        again.update({"wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body)),
                      "HTTP_AUTHORIZATION": ADMIN_BASIC,
                      "QUERY_STRING": re.sub(r"(^|&)key=[^&]*", "", saved.get("QUERY_STRING", ""))})
        return again

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") not in ("PUT", "POST") or environ.get("PATH_INFO", "").startswith("/api/"):
            return inner(environ, start_response)
        return answer_then_replay(inner, environ, start_response, lambda line: line[:3] in ("401", "403"), as_admin)
    server.app.wsgi_app = app  # type: ignore[method-assign]

#: (mutant, feed type) pairs run by URL; every one must fail some feed clause.
FEED_MUTANTS: list[tuple[Mutant, str]] = [
    (promote_counts_as_add, "npm"),
    (promote_counts_as_add, "pypi"),
    (delete_needs_add, "universal"),
    (promote_counts_as_delete, "universal"),
    (view_key_refused_reading_as_basic, "npm"),
    (query_key_deletes_with_view, "universal"),
    (add_key_overwrites_with_basic, "nuget"),
    (personal_keys_refused_on_feeds, "npm"),
    (basic_login_reads_only, "universal"),
    (basic_login_reads_only, "pypi"),
    (pseudo_key_reads_only, "universal"),
    (personal_key_refused_as_basic, "nuget"),
    (nuget_pseudo_key_refused, "nuget"),
    (deleted_personal_key_publishes, "npm"),
    (basic_scheme_case_sensitive, "pypi"),
    (bearer_scheme_case_sensitive, "npm"),
    (expired_key_reads, "universal"),
    (expired_key_reads, "pypi"),
    (deleted_key_reads, "npm"),
    (challenge_missing, "npm"),
    (refusal_echoes_the_credential, "pypi"),
    (refusal_echoes_the_credential, "nuget"),
    (upack_unknown_version_is_403, "universal"),
    (upack_unknown_version_is_empty_200, "universal"),
    (upack_latest_ignored, "universal"),
    (nuget_challenge_not_basic, "nuget"),
    (basic_downloads_need_add, "universal"),
    (npm_tarball_refuses_bearer, "npm"),
    (npm_tarball_outside_the_registry, "npm"),
    (nuget_index_without_base_address, "nuget"),
    (npm_login_token_unusable, "npm"),
    (npm_login_takes_any_key, "npm"),
    (basic_publish_not_stored, "pypi"),
    (npm_scoped_packument_missing, "npm"),
    (refused_publish_stored, "pypi"),
    (expired_personal_key_works_on_feeds, "universal"),
    (refused_publish_stored, "nuget"),
]


# -- §1.2 [model]: the mock's table (asserted against the embedded mock only) ---------------

def _other_feed(server: MockProGet, p: Any, key: Any, feed: str, op: str) -> str | None | bool:
    return True if key is not None and key.type == "feed" and key.feed and key.feed != feed else op


other_feed_key_accepted = _named(_access(_other_feed), "other_feed_key_accepted",
                                 "§1.2 [model]: a feed key restricted to one feed works on every feed of its type.")
group_key_refused_in_its_group = _named(_access(
    lambda s, p, key, feed, op: None if key is not None and key.feed_group else op),
    "group_key_refused_in_its_group", "§1.2 [model]: a feed-group key is refused on the feeds of its group.")
sca_system_key_publishes = _named(_access(
    lambda s, p, key, feed, op: True if key is not None and key.type == "system" else op),
    "sca_system_key_publishes", "§1.2 [model]: a system key with only sca / sbom-upload publishes to feeds.")
personal_key_acts_as_admin = _named(_access(
    lambda s, p, key, feed, op: True if p.key_type == "personal" else op),
    "personal_key_acts_as_admin", "§1.2 [doc]: a personal key of a user without Feeds_AddPackage publishes "
    "(its user's privileges are not read).")
delete_key_cannot_overwrite = _named(_access(
    lambda s, p, key, feed, op: None if op == "overwrite" and key is not None and key.type == "feed" else op),
    "delete_key_cannot_overwrite", "§1.2 [model]: a NuGet push of an existing version with a View+Add+"
    "Overwrite/Delete key is a 409 (Overwrite/Delete is not read).")

whoami_api_for_everyone = _named(_json_answer(lambda p: p.endswith("/-/whoami"), lambda d: {"username": "api"}),
                                 "whoami_api_for_everyone", "§3.3 [model]: npm whoami answers api for a "
                                 "personal key too (not its user).")

#: (mutant, feed type, target feed, --user) run as the embedded mock.
MODEL_MUTANTS: list[tuple[Mutant, str, str, str | None]] = [
    (other_feed_key_accepted, "npm", "npm-c", None),
    (group_key_refused_in_its_group, "nuget", "nuget-a", None),
    (sca_system_key_publishes, "universal", "universal-c", None),
    (personal_key_acts_as_admin, "pypi", "pypi-c", "reader"),
    (delete_key_cannot_overwrite, "nuget", "nuget-c", None),
    (whoami_api_for_everyone, "npm", "npm-a", "dev"),
]


def feed_verdicts(mutant: Mutant, feed_type: str, *, as_mock: bool = False, feed: str | None = None,
                  user: str | None = None) -> dict[str, str]:
    """Every feed clause run against the mutant: clause name -> its violation."""
    found: dict[str, str] = {}
    with MockProGet(feeds_config(), admin_key=ADMIN_KEY) as server:
        mutant(server)
        for name in CLAUSES:
            if _source(name) == "model" and not as_mock:
                continue  # the kit's gate: [model] clauses run against the embedded mock only
            with Target(url=server.url, api_key=ADMIN_KEY, username="Admin", password="Admin",
                        feed=feed or f"{feed_type}-c", feed_type=feed_type, feed_group=f"{feed_type}-grp",
                        user=user, backend=server.backend if as_mock else None, may_publish=True,
                        max_examples=2) as checked:
                client = checked.client()
                try:
                    getattr(FeedClauses(), name)(checked, client)
                except ContractViolation as violation:
                    found[name] = str(violation)  # the message and the exchange, as a user sees them
                except pytest.skip.Exception:
                    pass
                finally:
                    client.cleanup()
                    client.close()
    return found


@pytest.mark.filterwarnings("ignore:test package")
@pytest.mark.parametrize("mutant, feed_type", FEED_MUTANTS, ids=[f"{m.__name__}-{t}" for m, t in FEED_MUTANTS])
def test_feed_clauses_catch_the_mutant(mutant: Mutant, feed_type: str) -> None:
    """proget-feeds §1-§5 [doc][client][std]: some feed clause, run by URL, fails."""
    found = feed_verdicts(mutant, feed_type)
    assert found, mutant.__doc__
    for message in found.values():  # what a failure prints shows no key, plain or in a Basic credential
        assert ADMIN_KEY not in message
        assert not any(_KEY_TEXT.search(_b64_text(token)) for token in _B64_TOKEN.findall(message)), message


_B64_TOKEN = re.compile(r"[A-Za-z0-9+/]{54,}={0,2}")
_KEY_TEXT = re.compile(r"[0-9a-f]{40}")


def _b64_text(token: str) -> str:
    try:
        return base64.b64decode(token + "=" * (-len(token) % 4)).decode("latin-1")
    except ValueError:
        return ""


@pytest.mark.filterwarnings("ignore:test package")
@pytest.mark.parametrize("mutant, feed_type, feed, user", MODEL_MUTANTS,
                         ids=[f"{m[0].__name__}-{m[1]}" for m in MODEL_MUTANTS])
def test_mock_only_feed_clauses_catch_the_mutant(mutant: Mutant, feed_type: str, feed: str,
                                                 user: str | None) -> None:
    """proget-feeds §1.2 [model] (the mock's table; the kit checks it against the embedded
    mock only): some feed clause, run as the mock, fails."""
    found = feed_verdicts(mutant, feed_type, as_mock=True, feed=feed, user=user)
    assert found, mutant.__doc__


@pytest.mark.filterwarnings("ignore:test package")
@pytest.mark.parametrize("feed_type, feed, user", [("npm", "npm-a", "reader"), ("nuget", "nuget-a", "dev"),
                                                   ("universal", "universal-c", "dev"), ("pypi", "pypi-c", None)])
def test_the_unbroken_mock_passes_every_feed_clause(feed_type: str, feed: str, user: str | None) -> None:
    """No false alarm (proget-feeds §1-§5): the feed clauses pass on the mock as it is, by
    URL and as the mock, with the feeds and users the mutants above use."""
    for as_mock in (False, True):
        assert feed_verdicts(lambda server: None, feed_type, as_mock=as_mock, feed=feed, user=user) == {}


def test_every_mutant_is_documented() -> None:
    """Each mutant names the spec section and the source it breaks."""
    mutants = {m for m, _ in FEED_MUTANTS} | {m[0] for m in KEY_MUTANTS}
    model = {m[0] for m in MODEL_MUTANTS}
    assert len(mutants | model) >= 30
    assert all(re.match(r"§\d(\.\d)* \[(doc|client|std)\]", m.__doc__ or "") for m in mutants)
    assert all(re.match(r"§\d(\.\d)* \[(doc|client|std|model)\]", m.__doc__ or "") for m in model)


# -- api-keys §2, §3, §6: refusals and answers -----------------------------------------------

def _echo_key(environ: dict[str, Any], status: str, headers: list[tuple[str, str]], body: bytes) -> Answer:
    sent = environ.get("HTTP_X_APIKEY")
    if status.startswith("403") and sent:
        body += f" The key {sent} is not valid.".encode()
    return status, headers, body


refused_key_echoed = _named(_answers(_echo_key), "refused_key_echoed",
                            "§6 [doc]: a 403 names the X-ApiKey value it refused.")


def _nulls(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    names = ("displayName", "description", "expiration", "feed", "feedGroup", "user", "systemApis",
             "packagePermissions")
    return [{**{n: None for n in names}, **k} for k in items]


list_writes_nulls = _named(_answers(_listed(_nulls)), "list_writes_nulls",
                           "§2 [client]: the list writes every absent property as null instead of leaving it out.")


def _personal_pascal(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**k, "logging": str(k.get("logging", "")).title()} if k.get("type") == "personal" else k
            for k in items]


list_personal_logging_pascal = _named(_answers(_listed(_personal_pascal)), "list_personal_logging_pascal",
                                      "§2 [doc]: listed personal keys write logging as None/Both, not none/both.")


def _pseudo_form_dropped(environ: dict[str, Any], body: bytes) -> bytes:
    if environ.get("PATH_INFO") == "/api/api-keys/delete" and (b"%3A" in body.upper() or b":" in body):
        if environ.get("CONTENT_TYPE", "").lower().startswith("application/x-www-form-urlencoded"):
            return re.sub(rb"(^|&)key=[^&]*", b"", body)
    return body


pseudo_key_refused_in_form = _named(lambda server: setattr(server.app, "wsgi_app", Tamper(
    server.app.wsgi_app, request=_pseudo_form_dropped)), "pseudo_key_refused_in_form",
    "§3 [doc]: a pseudo-key is taken in the header, query and JSON, not as a form key.")


def _create_user_pascal(environ: dict[str, Any], status: str, headers: list[tuple[str, str]],
                        body: bytes) -> Answer:
    if environ.get("PATH_INFO") == "/api/api-keys/create" and status.startswith("200"):
        data = _json_body(body)
        if isinstance(data, dict) and "user" in data:
            data["User"] = data.pop("user")
            body = json.dumps(data).encode()
    return status, headers, body


create_personal_user_pascal = _named(_answers(_create_user_pascal), "create_personal_user_pascal",
                                     "§2 [client]: the create answer of a personal key names its user 'User'.")


def _grace(server: MockProGet) -> None:
    """An expired key is still taken for one and a half seconds past its expiration."""
    backend = server.backend
    original = backend._resolve

    def resolve(credential: Any, now: datetime) -> Any:
        from datetime import timedelta
        return original(credential, now - timedelta(seconds=1.5))
    backend._resolve = resolve  # type: ignore[method-assign]


expiry_grace_of_a_second = _named(_grace, "expiry_grace_of_a_second",
                                  "§2 [doc]: a key keeps authenticating for 1.5 s past its expiration.")

def delete_id_read_as_a_float(server: MockProGet) -> None:
    """§1 [doc]: ``delete?id=`` is parsed as a number (``7.0`` and ``7e0`` delete key 7)."""
    def hook(environ: dict[str, Any], body: bytes) -> bytes:
        query = environ.get("QUERY_STRING", "")
        found = re.search(r"(?:^|&)id=([^&]*)", query)
        if environ.get("PATH_INFO") == "/api/api-keys/delete" and found:
            try:
                number = float(found.group(1))
            except ValueError:
                return body
            if number.is_integer():
                environ["QUERY_STRING"] = query.replace(found.group(0), found.group(0)[:-len(found.group(1))]
                                                        + str(int(number)))
        return body
    server.app.wsgi_app = Tamper(server.app.wsgi_app, request=hook)  # type: ignore[method-assign]


def free_edition_claims_enterprise(server: MockProGet) -> None:
    """§6 [client]: a Free-edition instance says ``X-ProGet-Edition: Enterprise`` (the client
    then cannot explain why system and feed keys are refused)."""
    from dataclasses import replace
    server.backend.settings = replace(server.backend.settings, edition="Free")  # type: ignore[misc]

    def change(environ: dict[str, Any], status: str, headers: list[tuple[str, str]], body: bytes) -> Answer:
        return status, _set_header(headers, "X-ProGet-Edition", "Enterprise"), body
    _answers(change)(server)


def _kind(data: dict[str, Any]) -> str:
    return str(_lower_keys(data).get("type", "")).lower()


personal_logging_defaulted = _named(_lenient(
    lambda d: {**d, "logging": "none"} if _kind(d) == "personal" and "logging" not in _lower_keys(d) else None),
    "personal_logging_defaulted", "§2 [doc]: logging is required for system and feed keys; a personal key "
    "without it gets 'none'.")
feed_type_inferred = _named(_lenient(
    lambda d: {**d, "type": "feed"} if "type" not in _lower_keys(d) and "packagepermissions" in _lower_keys(d)
    else None),
    "feed_type_inferred", "§2 [doc]: a body without type but with packagePermissions is taken for a feed key.")
feed_expiration_day_first = _named(_lenient(
    lambda d: {**_drop(d, "expiration"), "expiration": "2031-08-01T00:00:00"}
    if _kind(d) == "feed" and isinstance(_lower_keys(d).get("expiration"), str)
    and re.fullmatch(r"\d\d/\d\d/\d{4}", _lower_keys(d)["expiration"]) else None),
    "feed_expiration_day_first", "§2 [client]: a feed key's expiration is also read as dd/mm/yyyy (only "
    "system keys insist on ISO 8601).")


def _first_problem(environ: dict[str, Any], status: str, headers: list[tuple[str, str]], body: bytes) -> Answer:
    if status.startswith("400"):
        lines = body.decode("utf-8", "replace").splitlines()
        problems = [line for line in lines if line.startswith("- ")]
        if len(problems) > 1:
            body = "\n".join([line for line in lines if not line.startswith("- ")] + problems[-1:]).encode()
    return status, headers, body


first_problem_only = _named(_answers(_first_problem), "first_problem_only",
                            "§6 [doc]: a 400 names one problem of the body (the last found), not every problem.")


def _json_by_prefix(environ: dict[str, Any]) -> None:
    content_type = environ.get("CONTENT_TYPE", "")
    if content_type.lower().startswith("application/json") and content_type.split(";")[0].strip().lower() != \
            "application/json":
        environ["CONTENT_TYPE"] = "application/json"


json_type_by_prefix = _named(_feed_request(_json_by_prefix), "json_type_by_prefix",
                             "§3 [doc]: any media type that starts with application/json (application/json-seq) "
                             "is read as JSON, so its API_Key counts.")


#: (mutant, -k selection) run by ``mockproget verify`` by URL; it must exit 1.
KEY_MUTANTS: list[tuple[Mutant, str]] = [
    (refused_key_echoed, "unknown_key or refus"),
    (list_writes_nulls, "list_answers or round_trip or valid_system"),
    (list_personal_logging_pascal, "valid_personal or pgutil_creates_personal"),
    (pseudo_key_refused_in_form, "pseudo_key or good_credential"),
    (create_personal_user_pascal, "valid_personal or pgutil_creates_personal"),
    (expiry_grace_of_a_second, "instant or expired"),
    (delete_id_read_as_a_float, "delete_id"),
    (free_edition_claims_enterprise, "valid_system or headers"),
    (personal_logging_defaulted, "invalid_body"),
    (feed_type_inferred, "invalid_body"),
    (feed_expiration_day_first, "invalid_body"),
    (first_problem_only, "invalid_input or invalid_body"),
    (json_type_by_prefix, "another_type or wrong_content_type"),
]


@pytest.mark.parametrize("mutant, select", KEY_MUTANTS, ids=[m[0].__name__ for m in KEY_MUTANTS])
def test_verify_catches_the_mutant(mutant: Mutant, select: str, capsys: pytest.CaptureFixture[str]) -> None:
    """api-keys §2-§6: ``mockproget verify`` by URL exits 1 naming a clause."""
    code, failed, out = run_verify(mutant, select, capsys)
    assert code == 1 and failed, (mutant.__doc__, out[-3000:])
    assert ADMIN_KEY not in out
