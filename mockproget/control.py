"""The control API, under ``/__mockproget__/`` (never under ``/api/``).

Reset, state snapshot/restore as JSON, fault rules, the journal, settings and seed. Its
own requests are never faulted and never journaled. When a control token is set, every
request must carry it in ``X-MockProGet-Token`` (403 otherwise). Errors are ``text/plain``
through the app's one error renderer; bad input is a 400, never a 500.

Secrets never leave in answers: a key's text and a user's password are replaced by a
``secret``, an opaque token for a copy the server keeps (see :class:`Sealer`).
``PUT /__mockproget__/state`` takes that token back, so a state read from this server
restores exactly; a hand-written state gives ``key`` / ``password`` in clear instead.
"""

from __future__ import annotations

import base64
import hmac
import ipaddress
import json
import math
import re
import secrets
import threading
import warnings
from collections import OrderedDict
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Response, current_app, jsonify, request

from .backend import Backend, StateDump
from .errors import Forbidden, InvalidInput, NotFound, ProGetError
from .faults import FaultRuleError, FaultSet
from .journal import DEFAULT_PAGE, MAX_PAGE, Journal, check_bytes, check_size
from .models import (DEFAULT_ANONYMOUS, ApiKey, Feed, InstanceSettings, NewApiKey, Package, User,
                     check_privileges, digest)
from .schemas import dump_api_key, load_new_api_key

if TYPE_CHECKING:
    from .config import Config

__all__ = ["TOKEN_HEADER", "ExposedWarning", "Sealer", "control", "control_hosts", "warn_if_exposed"]

TOKEN_HEADER = "X-MockProGet-Token"

control = Blueprint("control", __name__, url_prefix="/__mockproget__")

#: Methods that change something: they need ``Content-Type: application/json``, which a
#: web page cannot send to another site without a CORS preflight this API never approves.
_WRITES = frozenset({"POST", "PUT", "PATCH"})


class ExposedWarning(UserWarning):
    """The mock listens beyond loopback and its control API has no token."""


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or ``localhost``) is a loopback address."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def warn_if_exposed(config: Config) -> None:
    """Warn (:class:`ExposedWarning`) when ``config.host`` is not a loopback address and
    no control token protects the control API, as ``mockproget serve`` does."""
    if not config.control_token and not is_loopback(config.host):
        warnings.warn(
            f"mockproget listens on {config.host}, not a loopback address, and the control API "
            f"(/__mockproget__/) has no token: anyone who can reach it can reset the state and "
            f"inject faults; set a control token (Config(control_token=...))",
            ExposedWarning, stacklevel=4)


class _HostRule:
    """Which ``Host`` headers the control API answers (DNS rebinding defence): the bound
    address, ``localhost`` (and ``*.localhost``), loopback addresses, the allow-list; any
    address literal when bound to every interface (a rebinding page only has names)."""

    def __init__(self, bound: str, allowed: tuple[str, ...]) -> None:
        bound = bound.strip("[]").lower()
        self.names = frozenset({bound, "localhost", *allowed})
        self.wildcard = bound in ("", "0.0.0.0", "::")

    def __repr__(self) -> str:
        return f"<HostRule {sorted(self.names)}>"

    def allows(self, header: str) -> bool:
        """Whether ``header`` names this server; a malformed value never does."""
        parsed = _parse_host(header)
        if parsed is None:
            return False
        name, literal = parsed
        bare = name.removesuffix(".")  # a name's final dot; an address has none
        if not literal and bare != name and _is_address(bare):
            return False  # "127.0.0.1." is neither an address nor a name (RFC 3986 §3.2.2)
        if not literal and (bare in self.names or bare.endswith(".localhost")):
            return True
        try:
            address = ipaddress.ip_address(name)
        except ValueError:
            return False
        return address.is_loopback or self.wildcard


#: ``Host`` as RFC 9110 §7.2 / RFC 3986 §3.2.2 write it: ``[IPv6]`` or a name (an IPv4
#: address is one), then an optional port of digits. Names: DNS-like labels, one final dot.
_HOST_FORM = re.compile(r"(?:\[(?P<literal>[0-9a-f:.]+)\]|(?P<name>(?:[a-z0-9_-]+\.)*[a-z0-9_-]+\.?))"
                        r"(?::(?P<port>[0-9]{0,5}))?", re.ASCII)


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _parse_host(header: str) -> tuple[str, bool] | None:
    """``(name, is_ipv6_literal)`` of a well-formed Host value (a name with its final
    dot, if any), or ``None``."""
    match = _HOST_FORM.fullmatch(header.strip(" \t").lower())
    if match is None or (match["port"] and int(match["port"]) > 65535):
        return None
    if match["literal"] is not None:
        try:
            return str(ipaddress.IPv6Address(match["literal"])), True
        except ValueError:
            return None
    return match["name"], False


def control_hosts(config: Config) -> _HostRule | None:
    """The Host rule for ``config`` (``None``: the user opted out of the check)."""
    if not config.control_check_host:
        return None
    return _HostRule(config.host, config.control_hosts)


class Sealer:
    """Keeps secrets on the server and hands out opaque tokens that only it can redeem.

    A token is a keyed HMAC-SHA256 of the secret (the key is drawn at start), so it tells
    nothing about the secret, the same secret always gets the same token, and a token
    this server did not hand out redeems nothing. At most ``limit`` secrets are kept
    (the least recently sealed go first), so memory stays bounded.
    """

    def __init__(self, limit: int = 250_000) -> None:
        self._key = secrets.token_bytes(32)
        self._kept: OrderedDict[str, bytes] = OrderedDict()
        self._limit = limit
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<Sealer keeping {len(self._kept)} secrets>"

    def seal(self, data: bytes) -> str:
        token = base64.urlsafe_b64encode(hmac.digest(self._key, data, "sha256")[:24]).decode("ascii")
        with self._lock:
            self._kept[token] = data
            self._kept.move_to_end(token)
            while len(self._kept) > self._limit:
                self._kept.popitem(last=False)
        return token

    def unseal(self, token: str) -> bytes | None:
        """The sealed bytes, or ``None`` for a token this server did not hand out."""
        with self._lock:
            return self._kept.get(token)


# -- plumbing -----------------------------------------------------------------------------


def _ext(name: str) -> Any:
    return current_app.extensions[name]


def _backend() -> Backend:
    return current_app.extensions["mockproget"]  # type: ignore[no-any-return]


def _faults() -> FaultSet:
    return _ext("mockproget.faults")  # type: ignore[no-any-return]


def _journal() -> Journal:
    return _ext("mockproget.journal")  # type: ignore[no-any-return]


def _sealer() -> Sealer:
    return _ext("mockproget.sealer")  # type: ignore[no-any-return]


def _json_body() -> dict[str, Any]:
    raw = request.get_data(cache=True)
    if not raw.strip():
        raise InvalidInput(["the request body is empty; expected a JSON object"], heading="Invalid request")
    try:
        value = json.loads(raw.decode("utf-8-sig"))
    except (ValueError, UnicodeDecodeError, RecursionError) as error:
        raise InvalidInput([f"the request body is not valid JSON ({error})"], heading="Invalid request") from None
    if not isinstance(value, dict):
        raise InvalidInput(["the request body must be a JSON object"], heading="Invalid request")
    return value


@control.before_request
def _check_host() -> None:
    """Host first (a rebinding page learns nothing), on every control API route; where
    routing failed under the control API's prefix (a Host that werkzeug cannot route, an
    unknown control path, a wrong method), the error renderer asks
    :func:`foreign_host_refusal` before a 400, 404 or 405 says anything."""
    refusal = foreign_host_refusal()
    if refusal is not None:
        raise refusal


def foreign_host_refusal() -> Forbidden | None:
    """The 403 for a request to the control API whose ``Host`` does not name this server
    (a DNS rebinding page's), or ``None``."""
    rule: _HostRule | None = _ext("mockproget.control_hosts")
    given_host = request.environ.get("HTTP_HOST")
    if rule is not None and given_host is not None and not rule.allows(given_host):
        return Forbidden("The control API answers only requests addressed to this server by its "
                         "bound address or localhost (Host header); add the name to [control] "
                         "allowed_hosts, or turn the check off with --control-any-host.")
    return None


@control.before_request
def _check_request() -> None:
    """After the Host (:func:`_check_host`): the content type of writes, then the token;
    the control API's own body limit applies to its bodies."""
    request.max_content_length = current_app.extensions["mockproget.control_max_body"]
    if request.method in _WRITES and request.mimetype != "application/json":
        request.get_data()  # consume it: the connection stays usable
        raise ProGetError("The control API takes JSON: send Content-Type: application/json "
                          "(also with an empty body).", status=415)
    token: str | None = _ext("mockproget.control_token")
    if not token:
        return
    given = request.headers.get(TOKEN_HEADER, "")
    if not hmac.compare_digest(digest(given), digest(token)):
        raise Forbidden(f"The control API needs the control token in the {TOKEN_HEADER} header.")


# -- routes -------------------------------------------------------------------------------


@control.get("/")
def index() -> Response:
    """What the control API offers."""
    return jsonify({"routes": [
        "POST /__mockproget__/reset",
        "GET|PUT /__mockproget__/state",
        "GET|POST|DELETE /__mockproget__/faults",
        "DELETE /__mockproget__/faults/<name>",
        "GET|DELETE /__mockproget__/journal?path=&status=&since=&method=&carrier=&after=&limit=",
        "GET|PATCH /__mockproget__/settings",
    ]})


@control.post("/reset")
def reset() -> Response:
    """Everything back: state, settings, fault rules (fresh counters), journal, seed."""
    _backend().reset()
    _faults().reset()
    _journal().reset()
    return jsonify({"reset": True, "seed": _faults().seed})


@control.get("/settings")
def get_settings() -> Response:
    """The instance settings, the seed, the journal bounds, whether a token protects this."""
    return jsonify(_settings_answer())


def _settings_answer() -> dict[str, Any]:
    journal = _journal()
    return {"seed": _faults().seed, "instance": _backend().settings.as_dict(),
            "journal_size": journal.size, "journal_bytes": journal.max_bytes,
            "max_body": current_app.config["MAX_CONTENT_LENGTH"],
            "control_max_body": current_app.extensions["mockproget.control_max_body"],
            "control_token": bool(_ext("mockproget.control_token"))}


_SETTINGS = ("instance", "journal_size", "journal_bytes")


@control.patch("/settings")
def patch_settings() -> Response:
    """``{"instance": {...}, "journal_size": N, "journal_bytes": N}``: change settings until
    the next reset. Nothing changes unless all are valid; the 400 lists every problem."""
    body = _json_body()
    problems = [f"{name}: unknown setting (known: {', '.join(_SETTINGS)})"
                for name in sorted(set(body) - set(_SETTINGS))]
    instance = body.get("instance", {})
    if not isinstance(instance, dict):
        problems.append("instance: must be an object of instance settings")
        instance = {}
    for name, check in (("journal_size", check_size), ("journal_bytes", check_bytes)):
        if body.get(name) is not None:
            try:
                check(body[name])
            except ValueError as error:
                problems.append(f"{name}: {error}")
    settings = _backend().settings
    for name, value in instance.items():  # one at a time, so that every bad one is named
        try:
            settings.updated(**{name: value})
        except (ValueError, TypeError) as error:
            problems.append(f"instance.{name}: {error}")
    if not problems:
        try:
            settings.updated(**instance)  # settings that only clash together
        except (ValueError, TypeError) as error:
            problems.append(f"instance: {error}")
    if problems:
        raise InvalidInput(problems, heading="Invalid settings")
    if instance:
        _backend().update_settings(**instance)
    _journal().resize(body.get("journal_size"), body.get("journal_bytes"))
    return jsonify(_settings_answer())


@control.get("/faults")
def list_faults() -> Response:
    """The rules in evaluation order, each with its ``matched`` and ``applied`` counts."""
    return jsonify({"faults": _backend().masker.mask_json(_faults().stats()), "seed": _faults().seed})


@control.post("/faults")
def add_fault() -> Response:
    """Add a rule; the body holds the same fields as a ``[[faults]]`` table. 201."""
    try:
        rule = _faults().add(_json_body())
    except FaultRuleError as error:
        raise InvalidInput(error.problems, heading="Invalid fault rule") from None
    response = jsonify(_backend().masker.mask_json(rule.as_dict()))
    response.status_code = 201
    return response


@control.delete("/faults")
def clear_faults() -> Response:
    _faults().clear()
    return jsonify({"faults": []})


@control.delete("/faults/<name>")
def remove_fault(name: str) -> Response:
    try:
        _faults().remove(name)
    except KeyError:
        raise NotFound(f"There is no fault rule named {name!r}.") from None
    return jsonify({"removed": _backend().mask(name)})


_INTEGER = re.compile(r"-?[0-9]{1,4000}")
_NUMBER = re.compile(r"-?[0-9]{1,4000}(?:\.[0-9]{1,4000})?(?:[eE][+-]?[0-9]{1,4})?")


@control.get("/journal")
def get_journal() -> Response:
    """A page of entries, oldest first: ``?path=GLOB&status=N&since=EPOCH_SECONDS&method=M
    &carrier=C`` filter them, ``after=SEQ`` starts after an entry, ``limit=N`` (default
    :data:`~mockproget.journal.DEFAULT_PAGE`) bounds the page; ``next`` is the ``after``
    of the next page, ``null`` on the last."""
    args = request.args
    problems = []
    numbers: dict[str, int | None] = {"status": None, "after": None, "limit": DEFAULT_PAGE}
    for name in numbers:
        if args.get(name):
            if _INTEGER.fullmatch(args[name]):  # int() would also take "1_0", " 1" or "١"
                numbers[name] = int(args[name])
            else:
                problems.append(f"{name}: not an integer")
    limit = numbers["limit"]
    if limit is not None and not 1 <= limit <= MAX_PAGE:
        problems.append(f"limit: must be from 1 to {MAX_PAGE}")
    since = None
    if args.get("since"):
        if _NUMBER.fullmatch(args["since"]) and math.isfinite(float(args["since"])):
            since = float(args["since"])  # float() alone would also take "nan", "inf", "1_0"
        else:
            problems.append("since: not a number of seconds since the epoch")
    carrier = args.get("carrier") or None
    if carrier is not None and carrier not in ("header", "query", "form", "json", "none"):
        problems.append("carrier: must be one of header, query, form, json, none")
    if problems:
        raise InvalidInput(problems, heading="Invalid journal query")
    journal = _journal()
    page = journal.entries(path=args.get("path") or None, status=numbers["status"], since=since,
                           method=args.get("method") or None, carrier=carrier,
                           after=numbers["after"], limit=None if limit is None else limit + 1)
    more = limit is not None and len(page) > limit
    page = page[:limit]
    return jsonify({"size": journal.size, "max_bytes": journal.max_bytes, "bytes": journal.bytes,
                    "total": journal.total, "entries": page,
                    "next": page[-1]["seq"] if more and page else None})


@control.delete("/journal")
def clear_journal() -> Response:
    _journal().clear()
    return jsonify({"entries": []})


@control.get("/state")
def get_state() -> Response:
    """The whole state as JSON; key texts and passwords sealed (see the module doc)."""
    return jsonify(state_to_json(_backend().export_state(), _sealer()))


@control.put("/state")
def put_state() -> Response:
    """Replace the whole state with a document of the form ``GET`` answers."""
    dump = state_from_json(_json_body(), _sealer(), _backend().settings)
    _keep_admin_key(dump, current_app.extensions.get("mockproget.admin_key"))
    _backend().import_state(dump)
    return jsonify(state_to_json(_backend().export_state(), _sealer()))


#: The display name of the admin key a :class:`~mockproget.MockProGet` prints at start.
ADMIN_KEY_NAME = "mockproget admin"


def _keep_admin_key(dump: StateDump, admin_key: str | None) -> None:
    """The admin key printed at start keeps working across a ``PUT``: a document without
    a key of that text gets it back, as a full-control system key with the next id."""
    if not admin_key:
        return
    wanted = digest(admin_key)
    if any(key.digest == wanted for key in dump.keys):
        return
    key_id = max([dump.next_id - 1, *(k.id for k in dump.keys)]) + 1
    dump.keys.append(ApiKey(id=key_id, type="system", digest=wanted, key=admin_key,
                            system_apis=("full-control",), display_name=ADMIN_KEY_NAME))
    dump.next_id = key_id + 1
    dump.key_texts[wanted] = admin_key


# -- state <-> JSON ------------------------------------------------------------------------


def state_to_json(dump: StateDump, sealer: Sealer) -> dict[str, Any]:
    """JSON form of the state; secrets sealed, never in clear."""
    users = []
    for user in dump.users:
        entry: dict[str, Any] = {"name": user.name, "admin": user.admin}
        if user.password_digest is not None:
            password = dump.passwords.get(user.name, "")
            entry["secret"] = sealer.seal(b"u" + user.password_digest + _utf8(password))
        if user.privileges:
            entry["privileges"] = {feed: list(p) for feed, p in user.privileges.items()}
        users.append(entry)
    keys = []
    for key in dump.keys:
        info = dump_api_key(key)
        info.pop("key", None)
        text = key.key or dump.key_texts.get(key.digest, "")
        info["secret"] = sealer.seal(b"k" + key.digest + (b"1" if key.key else b"0") + _utf8(text))
        keys.append(info)
    return {"settings": dump.settings.as_dict(), "users": users, "feeds": feeds_to_json(dump),
            "feedGroups": dump.feed_groups, "apiKeys": keys, "nextId": dump.next_id,
            "packages": [package_to_json(p) for p in dump.packages]}


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def _unutf8(data: bytes) -> str:
    return data.decode("utf-8", "surrogatepass")


def _list_of(data: dict[str, Any], name: str, problems: list[str]) -> list[Any]:
    value = data.get(name, [])
    if not isinstance(value, list):
        problems.append(f"{name}: must be a list")
        return []
    return value


def state_from_json(data: dict[str, Any], sealer: Sealer, current: InstanceSettings) -> StateDump:
    """Read a state document; :class:`InvalidInput` lists every problem."""
    problems: list[str] = []
    known = {"settings", "users", "feeds", "feedGroups", "apiKeys", "nextId", "packages"}
    problems += [f"{name}: unknown property (known: {', '.join(sorted(known))})"
                 for name in sorted(set(data) - known)]
    settings = current
    raw_settings = data.get("settings", {})
    if not isinstance(raw_settings, dict):
        problems.append("settings: must be an object")
    else:
        try:
            settings = InstanceSettings().updated(**raw_settings)
        except (ValueError, TypeError) as error:
            problems.append(f"settings: {error}")
    users: list[User] = []
    passwords: dict[str, str] = {}
    key_texts: dict[bytes, str] = {}
    for i, item in enumerate(_list_of(data, "users", problems)):
        where = f"users[{i}]"
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"] \
                or ":" in item["name"]:
            problems.append(f"{where}: must be an object with a non-empty name without ':'")
            continue
        admin = item.get("admin", False)
        if not isinstance(admin, bool):
            problems.append(f"{where}.admin: must be true or false")
            continue
        password_digest = None
        if "password" in item and not isinstance(item["password"], str):
            problems.append(f"{where}.password: must be a string")
            continue
        if isinstance(item.get("password"), str):
            password_digest = digest(item["password"])
            passwords[item["name"]] = item["password"]
        elif "secret" in item:
            opened = sealer.unseal(item["secret"]) if isinstance(item["secret"], str) else None
            if opened is None or not opened.startswith(b"u") or len(opened) < 33:
                problems.append(f"{where}.secret: not a user secret sealed by this server")
                continue
            password_digest = opened[1:33]
            if len(opened) > 33:
                passwords[item["name"]] = _unutf8(opened[33:])
        privileges = user_privileges_from_json(item.get("privileges", {}), f"{where}.privileges", problems)
        users.append(User(item["name"], password_digest, admin, privileges))
    names: dict[str, list[str]] = {}
    details: list[Feed] = []
    for name in ("feeds", "feedGroups"):
        names[name] = []
        for i, item in enumerate(_list_of(data, name, problems)):
            if name == "feeds" and isinstance(item, dict):
                feed = feed_from_json(item, f"feeds[{i}]", problems)
                if feed is not None:
                    details.append(feed)
                    names[name].append(feed.name)
            elif not isinstance(item, str) or not item:
                problems.append(f"{name}[{i}]: must be a non-empty string")
            else:
                names[name].append(item)
    keys: list[ApiKey] = []
    loaded: dict[str | None, NewApiKey] = {}
    for i, item in enumerate(_list_of(data, "apiKeys", problems)):
        where = f"apiKeys[{i}]"
        if not isinstance(item, dict):
            problems.append(f"{where}: must be an ApiKeyInfo object")
            continue
        key_id = item.get("id")
        if isinstance(key_id, bool) or not isinstance(key_id, int) or key_id < 1:
            problems.append(f"{where}.id: must be a positive integer")
            continue
        text = item.get("key")
        fields = {k: v for k, v in item.items() if k not in ("id", "secret", "key")}
        try:  # keys of a big state often share their fields: validate each kind once
            memo = json.dumps(fields, sort_keys=True)
        except (TypeError, ValueError):
            memo = None
        try:
            new = loaded[memo] if memo in loaded else load_new_api_key(fields)
        except InvalidInput as error:
            problems += [f"{where}: {p}" for p in error.problems]
            continue
        if memo is not None:
            loaded[memo] = new
        kept: str | None
        if isinstance(text, str) and text:
            key_digest, kept = digest(text), text
            key_texts[key_digest] = text
        elif "secret" in item:
            opened = sealer.unseal(item["secret"]) if isinstance(item["secret"], str) else None
            if opened is None or not opened.startswith(b"k") or len(opened) < 34:
                problems.append(f"{where}.secret: not a key secret sealed by this server")
                continue
            key_digest = opened[1:33]
            sealed_text = _unutf8(opened[34:])
            kept = sealed_text if opened[33:34] == b"1" and sealed_text else None
            if sealed_text:
                key_texts[key_digest] = sealed_text
        else:
            problems.append(f"{where}: give the key text as key, or the secret read from this server")
            continue
        keys.append(ApiKey(
            id=key_id, type=new.type, digest=key_digest, logging=new.logging, key=kept,
            display_name=new.display_name, description=new.description,
            system_apis=new.system_apis, package_permissions=new.package_permissions,
            feed=new.feed, feed_group=new.feed_group, expiration=new.expiration, user=new.user))
    next_id = data.get("nextId", max((k.id for k in keys), default=0) + 1)
    if isinstance(next_id, bool) or not isinstance(next_id, int) or next_id < 1:
        problems.append("nextId: must be a positive integer")
        next_id = 1
    packages = [p for i, item in enumerate(_list_of(data, "packages", problems))
                if (p := package_from_json(item, f"packages[{i}]", problems)) is not None]
    if problems:
        raise InvalidInput(problems, heading="Invalid state")
    return StateDump(settings=settings, users=users, feeds=names["feeds"],
                     feed_groups=names["feedGroups"], keys=keys, next_id=next_id,
                     key_texts=key_texts, passwords=passwords,
                     feed_details=details, packages=packages)


# -- feeds and packages in the state document (proget-feeds spec §1-§5) -------------------


def feeds_to_json(dump: StateDump) -> list[Any]:
    """A feed without type, groups or a changed anonymous access stays a bare name."""
    details = {f.name: f for f in dump.feed_details}
    out: list[Any] = []
    for name in dump.feeds:
        feed = details.get(name, Feed(name))
        if feed == Feed(name):
            out.append(name)
        else:
            out.append({"name": name, "type": feed.type, "groups": list(feed.groups),
                        "anonymous": list(feed.anonymous)})
    return out


def feed_from_json(item: dict[str, Any], where: str, problems: list[str]) -> Feed | None:
    unknown = sorted(set(item) - {"name", "type", "groups", "anonymous"})
    if unknown:
        problems.append(f"{where}.{unknown[0]}: unknown property (known: anonymous, groups, name, type)")
        return None
    groups, anonymous = item.get("groups", []), item.get("anonymous", list(DEFAULT_ANONYMOUS))
    if not isinstance(groups, list) or not all(isinstance(g, str) and g for g in groups):
        problems.append(f"{where}.groups: must be a list of feed group names")
        return None
    try:
        return Feed(item.get("name"), item.get("type"), tuple(groups),  # type: ignore[arg-type]
                    check_privileges(anonymous, "anonymous"))
    except (ValueError, TypeError) as error:
        problems.append(f"{where}: {error}")
        return None


def user_privileges_from_json(value: Any, where: str, problems: list[str]) -> dict[str, tuple[str, ...]]:
    if not isinstance(value, dict):
        problems.append(f"{where}: must be an object of feed name: [privileges]")
        return {}
    result = {}
    for feed, privileges in value.items():
        try:
            result[feed] = check_privileges(privileges, f"{where}.{feed}")
        except ValueError as error:
            problems.append(str(error))
    return result


def package_to_json(package: Package) -> dict[str, Any]:
    return {"feed": package.feed, "name": package.name, "version": package.version, "group": package.group,
            "filename": package.filename, "ident": list(package.ident), "nameKey": package.name_key,
            "metadata": package.metadata, "published": package.published.isoformat(),
            "content": base64.b64encode(package.content).decode("ascii")}


def package_from_json(item: Any, where: str, problems: list[str]) -> Package | None:
    if not isinstance(item, dict):
        problems.append(f"{where}: must be a package object")
        return None
    texts = ("feed", "name", "version", "filename", "nameKey")
    bad = [n for n in texts if not isinstance(item.get(n), str) or not item[n]]
    if not isinstance(item.get("group", ""), str):
        bad.append("group")
    ident = item.get("ident")
    if not isinstance(ident, list) or not ident or not all(isinstance(i, str) for i in ident):
        bad.append("ident")
    if not isinstance(item.get("metadata", {}), dict):
        bad.append("metadata")
    try:
        content = base64.b64decode(item.get("content", ""), validate=True)
    except (ValueError, TypeError):
        bad.append("content")
    try:
        published = datetime.fromisoformat(item["published"]) if "published" in item else datetime.now(timezone.utc)
    except (ValueError, TypeError):
        bad.append("published")
    if bad:
        problems.append(f"{where}: invalid {', '.join(bad)} (content is base64, published ISO 8601)")
        return None
    if published.tzinfo is None:
        published = published.replace(tzinfo=timezone.utc)
    return Package(feed=item["feed"], name=item["name"], version=item["version"], filename=item["filename"],
                   content=content, ident=tuple(ident), name_key=item["nameKey"],  # type: ignore[arg-type]
                   group=item.get("group", ""), metadata=item.get("metadata", {}), published=published)

