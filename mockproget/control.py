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
import json
import secrets
import threading
from collections import OrderedDict
from datetime import datetime, timezone
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from .backend import Backend, StateDump
from .errors import Forbidden, InvalidInput, NotFound
from .faults import FaultRuleError, FaultSet
from .journal import Journal, check_size
from .models import DEFAULT_ANONYMOUS, ApiKey, Feed, InstanceSettings, Package, User, check_privileges, digest
from .schemas import dump_api_key, load_new_api_key

__all__ = ["TOKEN_HEADER", "Sealer", "control"]

TOKEN_HEADER = "X-MockProGet-Token"

control = Blueprint("control", __name__, url_prefix="/__mockproget__")


class Sealer:
    """Keeps secrets on the server and hands out opaque tokens that only it can redeem.

    A token is a keyed HMAC-SHA256 of the secret (the key is drawn at start), so it tells
    nothing about the secret, the same secret always gets the same token, and a token
    this server did not hand out redeems nothing. At most ``limit`` secrets are kept
    (the least recently sealed go first), so memory stays bounded.
    """

    def __init__(self, limit: int = 100_000) -> None:
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
def _check_token() -> None:
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
        "GET|DELETE /__mockproget__/journal?path=&status=&since=",
        "GET|PATCH /__mockproget__/settings",
    ]})


@control.post("/reset")
def reset() -> Response:
    """Everything back: state, settings, fault rules (fresh counters), journal, seed."""
    _backend().reset()
    _faults().reset()
    _journal().clear()
    return jsonify({"reset": True, "seed": _faults().seed})


@control.get("/settings")
def get_settings() -> Response:
    """The instance settings, the seed, the journal bound, whether a token protects this."""
    return jsonify(_settings_answer())


def _settings_answer() -> dict[str, Any]:
    journal = _journal()
    return {"seed": _faults().seed, "instance": _backend().settings.as_dict(),
            "journal_size": journal.size, "max_body": current_app.config["MAX_CONTENT_LENGTH"],
            "control_token": bool(_ext("mockproget.control_token"))}


@control.patch("/settings")
def patch_settings() -> Response:
    """``{"instance": {...}, "journal_size": N}``: change settings until the next reset."""
    body = _json_body()
    unknown = sorted(set(body) - {"instance", "journal_size"})
    if unknown:
        raise InvalidInput([f"{unknown[0]}: unknown setting (known: instance, journal_size)"],
                           heading="Invalid settings")
    instance = body.get("instance", {})
    if not isinstance(instance, dict):
        raise InvalidInput(["instance: must be an object of instance settings"], heading="Invalid settings")
    size = body.get("journal_size")
    if size is not None:
        try:
            check_size(size)
        except ValueError as error:
            raise InvalidInput([f"journal_size: {error}"], heading="Invalid settings") from None
    try:
        _backend().settings.updated(**instance)  # validate before changing anything
    except (ValueError, TypeError) as error:
        raise InvalidInput([f"instance: {error}"], heading="Invalid settings") from None
    if instance:
        _backend().update_settings(**instance)
    if size is not None:
        _journal().resize(size)
    return jsonify(_settings_answer())


@control.get("/faults")
def list_faults() -> Response:
    """The rules in evaluation order, each with its ``matched`` and ``applied`` counts."""
    return jsonify({"faults": _faults().stats(), "seed": _faults().seed})


@control.post("/faults")
def add_fault() -> Response:
    """Add a rule; the body holds the same fields as a ``[[faults]]`` table. 201."""
    try:
        rule = _faults().add(_json_body())
    except FaultRuleError as error:
        raise InvalidInput([str(error)], heading="Invalid fault rule") from None
    response = jsonify(rule.as_dict())
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
    return jsonify({"removed": name})


@control.get("/journal")
def get_journal() -> Response:
    """Entries, oldest first; ``?path=GLOB&status=N&since=EPOCH_SECONDS`` filter them."""
    args = request.args
    problems = []
    status = since = None
    if args.get("status"):
        try:
            status = int(args["status"])
        except ValueError:
            problems.append(f"status: not an integer: {args['status']!r}")
    if args.get("since"):
        try:
            since = float(args["since"])
        except ValueError:
            problems.append(f"since: not a number of seconds since the epoch: {args['since']!r}")
    if problems:
        raise InvalidInput(problems, heading="Invalid journal query")
    journal = _journal()
    entries = journal.entries(path=args.get("path") or None, status=status, since=since)
    return jsonify({"size": journal.size, "total": journal.total, "entries": entries})


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
    _backend().import_state(dump)
    return jsonify(state_to_json(_backend().export_state(), _sealer()))


# -- state <-> JSON ------------------------------------------------------------------------


def state_to_json(dump: StateDump, sealer: Sealer) -> dict[str, Any]:
    """JSON form of the state; secrets sealed, never in clear."""
    users = []
    for user in dump.users:
        entry: dict[str, Any] = {"name": user.name, "admin": user.admin}
        if user.password_digest is not None:
            entry["secret"] = sealer.seal(b"u" + user.password_digest)
        if user.privileges:
            entry["privileges"] = {feed: list(p) for feed, p in user.privileges.items()}
        users.append(entry)
    keys = []
    for key in dump.keys:
        info = dump_api_key(key)
        info.pop("key", None)
        info["secret"] = sealer.seal(b"k" + key.digest + (key.key or "").encode("utf-8", "surrogatepass"))
        keys.append(info)
    return {"settings": dump.settings.as_dict(), "users": users, "feeds": feeds_to_json(dump),
            "feedGroups": dump.feed_groups, "apiKeys": keys, "nextId": dump.next_id,
            "packages": [package_to_json(p) for p in dump.packages]}


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
        elif "secret" in item:
            opened = sealer.unseal(item["secret"]) if isinstance(item["secret"], str) else None
            if opened is None or not opened.startswith(b"u") or len(opened) != 33:
                problems.append(f"{where}.secret: not a user secret sealed by this server")
                continue
            password_digest = opened[1:]
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
        try:
            new = load_new_api_key(fields)
        except InvalidInput as error:
            problems += [f"{where}: {p}" for p in error.problems]
            continue
        if isinstance(text, str) and text:
            key_digest, kept = digest(text), text
        elif "secret" in item:
            opened = sealer.unseal(item["secret"]) if isinstance(item["secret"], str) else None
            if opened is None or not opened.startswith(b"k") or len(opened) < 33:
                problems.append(f"{where}.secret: not a key secret sealed by this server")
                continue
            key_digest = opened[1:33]
            kept = opened[33:].decode("utf-8", "surrogatepass") or None
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

