"""One settings object from a TOML file, environment variables and command-line flags.

Precedence: flag > environment (``MOCKPROGET_*``) > file > defaults. A bad file is refused
with a :class:`ConfigError` naming the file, the setting and the problem.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, cast

from .errors import InvalidInput
from .faults import FaultRuleError, FaultSet
from .journal import DEFAULT_MAX_BYTES, check_bytes, check_size
from .models import FEED_TYPES, Feed, InstanceSettings, NewApiKey, SeedState, UserSeed, check_privileges
from .schemas import load_new_api_key

__all__ = ["DEFAULT_MAX_BODY", "Config", "ConfigError", "ServerSettings", "load_config"]

DEFAULT_MAX_BODY = 1024 * 1024
#: The control API's own body limit: a state of 100,000 keys is about 16 MB of JSON.
DEFAULT_CONTROL_MAX_BODY = 64 * 1024 * 1024


class ConfigError(ValueError):
    """A configuration problem, worded for the person who wrote the file."""

    def __init__(self, source: str, setting: str, problem: str) -> None:
        super().__init__(f"{source}: {setting}: {problem}")
        self.source, self.setting, self.problem = source, setting, problem


@dataclass(frozen=True)
class ServerSettings:
    """How the server treats connections (the ``[server]`` table; docs/server.md).

    :ivar keep_alive: HTTP/1.1 persistent connections; ``False`` closes after each answer.
    :ivar idle_timeout: seconds a kept-alive connection may wait for its next request.
    :ivar header_timeout: seconds from a request's first byte to the end of its headers.
    :ivar body_timeout: seconds from the end of the headers to the end of the body.
    :ivar workers: threads that run requests (the pool); more requests wait in a queue.
    :ivar connections: open connections at most; when full, the longest-idle kept-alive
        connection is closed to make room, or new ones wait in the listen backlog.
    """

    keep_alive: bool = True
    idle_timeout: float = 120.0
    header_timeout: float = 30.0
    body_timeout: float = 60.0
    workers: int = 16
    connections: int = 1000

    def updated(self, **changes: Any) -> ServerSettings:
        """A copy with ``changes`` applied; :class:`ValueError` names the bad one."""
        for name, value in changes.items():
            if name == "keep_alive":
                if not isinstance(value, bool):
                    raise ValueError(f"{name}: must be true or false, not {value!r}")
            elif name in ("idle_timeout", "header_timeout", "body_timeout"):
                if isinstance(value, bool) or not isinstance(value, (int, float)) \
                        or not 0 < value <= 86400:
                    raise ValueError(f"{name}: must be a number of seconds above 0 and at most "
                                     f"86400, not {value!r}")
                changes[name] = float(value)
            elif name in ("workers", "connections"):
                high = 512 if name == "workers" else 100_000
                if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
                    raise ValueError(f"{name}: must be an integer from 1 to {high}, not {value!r}")
            else:
                raise ValueError(f"{name}: unknown setting")
        return replace(self, **changes)


@dataclass
class Config:
    """Everything a mock server needs to start. Secrets stay out of its repr."""

    host: str = "127.0.0.1"
    port: int = 8624
    max_body: int = DEFAULT_MAX_BODY
    admin_key: str | None = field(default=None, repr=False)
    seed: int | None = None
    instance: InstanceSettings = field(default_factory=InstanceSettings)
    state: SeedState = field(default_factory=SeedState.default)
    journal_size: int = 1000
    journal_bytes: int = DEFAULT_MAX_BYTES
    control_token: str | None = field(default=None, repr=False)
    control_max_body: int = DEFAULT_CONTROL_MAX_BODY
    #: Host names (besides the bound address and localhost) the control API answers to.
    control_hosts: tuple[str, ...] = ()
    #: ``False``: the control API answers whatever the ``Host`` header says.
    control_check_host: bool = True
    faults: list[dict[str, Any]] = field(default_factory=list)
    server: ServerSettings = field(default_factory=ServerSettings)

    def with_overrides(self, **overrides: Any) -> Config:
        """A copy with the non-``None`` overrides applied."""
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})


_SECTIONS = {"seed", "server", "instance", "users", "feeds", "feed_groups", "api_keys",
             "journal", "control", "faults"}
_SERVER_KEYS = {"host", "port", "max_body", *(f.name for f in fields(ServerSettings))}
_INSTANCE_KEYS = {f.name for f in fields(InstanceSettings)}


def _expect(source: str, setting: str, value: Any, kind: type | tuple[type, ...], what: str) -> Any:
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ConfigError(source, setting, f"must be {what}, not {value!r}")
    return value


def _table(source: str, name: str, value: Any, allowed: set[str]) -> Mapping[str, Any]:
    _expect(source, f"[{name}]", value, dict, "a table")
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise ConfigError(source, f"{name}.{unknown[0]}",
                          f"unknown setting (known: {', '.join(sorted(allowed))})")
    return cast("Mapping[str, Any]", value)


def _tables(source: str, name: str, value: Any) -> list[Mapping[str, Any]]:
    _expect(source, f"[[{name}]]", value, list, "an array of tables")
    for i, item in enumerate(value):
        _expect(source, f"{name}[{i}]", item, dict, "a table")
    return cast("list[Mapping[str, Any]]", value)


def _port(source: str, setting: str, value: Any) -> int:
    _expect(source, setting, value, int, "an integer")
    if not 0 <= value <= 65535:
        raise ConfigError(source, setting, f"must be between 0 and 65535, not {value}")
    return cast(int, value)


def _positive(source: str, setting: str, value: Any) -> int:
    _expect(source, setting, value, int, "an integer")
    if value < 1:
        raise ConfigError(source, setting, f"must be at least 1, not {value}")
    return cast(int, value)


def parse_config(data: Mapping[str, Any], source: str = "<config>", base: Config | None = None) -> Config:
    """Build a :class:`Config` from parsed TOML (or any mapping of the same shape)."""
    config = base or Config()
    unknown = sorted(set(data) - _SECTIONS)
    if unknown:
        raise ConfigError(source, unknown[0], f"unknown section or setting (known: {', '.join(sorted(_SECTIONS))})")
    changes: dict[str, Any] = {}
    if "seed" in data:
        changes["seed"] = _expect(source, "seed", data["seed"], int, "an integer")
    server = _table(source, "server", data.get("server", {}), _SERVER_KEYS)
    if "host" in server:
        changes["host"] = _expect(source, "server.host", server["host"], str, "a string")
    if "port" in server:
        changes["port"] = _port(source, "server.port", server["port"])
    if "max_body" in server:
        changes["max_body"] = _positive(source, "server.max_body", server["max_body"])
    lifecycle = {k: v for k, v in server.items() if k not in ("host", "port", "max_body")}
    if lifecycle:
        try:
            changes["server"] = config.server.updated(**lifecycle)
        except ValueError as error:
            name, _, problem = str(error).partition(": ")
            raise ConfigError(source, f"server.{name}", problem) from None
    instance = _table(source, "instance", data.get("instance", {}), _INSTANCE_KEYS)
    settings = config.instance
    for name, value in instance.items():  # one at a time, so the error names the setting
        try:
            settings = settings.updated(**{name: value})
        except ValueError as error:
            raise ConfigError(source, f"instance.{name}", str(error)) from None
    changes["instance"] = settings
    journal = _table(source, "journal", data.get("journal", {}), {"size", "max_bytes"})
    for name, attr, check in (("size", "journal_size", check_size), ("max_bytes", "journal_bytes", check_bytes)):
        if name in journal:
            try:
                changes[attr] = check(journal[name])
            except ValueError as error:
                raise ConfigError(source, f"journal.{name}", str(error)) from None
    control = _table(source, "control", data.get("control", {}),
                     {"token", "max_body", "allowed_hosts", "check_host"})
    if "token" in control:
        changes["control_token"] = _expect(source, "control.token", control["token"], str, "a string")
    if "max_body" in control:
        changes["control_max_body"] = _positive(source, "control.max_body", control["max_body"])
    if "allowed_hosts" in control:
        hosts = _expect(source, "control.allowed_hosts", control["allowed_hosts"], list,
                        "a list of host names")
        for i, host in enumerate(hosts):
            if not isinstance(host, str) or not host.strip():
                raise ConfigError(source, f"control.allowed_hosts[{i}]", f"must be a host name, not {host!r}")
        changes["control_hosts"] = tuple(h.strip().lower() for h in hosts)
    if "check_host" in control:
        changes["control_check_host"] = _expect(source, "control.check_host", control["check_host"],
                                                bool, "true or false")
    if "faults" in data:
        changes["faults"] = [dict(t) for t in _tables(source, "faults", data["faults"])]
        check_faults(source, changes["faults"])
    changes["state"] = _state(source, data, config.state)
    return replace(config, **changes)


def check_faults(source: str, rules: list[dict[str, Any]]) -> None:
    """Validate ``[[faults]]`` tables; the error names ``faults[i].field``."""
    for i in range(len(rules)):
        try:
            FaultSet(rules[: i + 1])  # names must be unique, defaults included
        except FaultRuleError as error:
            if len(error.errors) == 1:
                raise ConfigError(source, f"faults[{i}].{error.field}", error.problem) from None
            raise ConfigError(source, f"faults[{i}]", "; ".join(error.problems)) from None


def _state(source: str, data: Mapping[str, Any], default: SeedState) -> SeedState:
    """Each of users/feeds/feed_groups/api_keys given replaces that part of the default seed."""
    state = SeedState(list(default.users), list(default.feeds), list(default.feed_groups),
                      list(default.api_keys))
    if "users" in data:
        state.users = []
        for i, user in enumerate(_tables(source, "users", data["users"])):
            where = f"users[{i}]"
            _table(source, where, user, {"name", "password", "admin", "privileges"})
            name = _expect(source, f"{where}.name", user.get("name"), str, "a non-empty string")
            if not name or ":" in name:
                raise ConfigError(source, f"{where}.name", "must be non-empty and contain no ':'")
            password = user.get("password")
            if password is not None:
                _expect(source, f"{where}.password", password, str, "a string")
            admin = _expect(source, f"{where}.admin", user.get("admin", False), bool, "true or false")
            seed: UserSeed = (name, password, admin)
            if "privileges" in user:
                seed = (name, password, admin, _privileges(source, f"{where}.privileges", user["privileges"]))
            state.users.append(seed)
    if "feeds" in data:
        state.feeds = [_feed(source, f"feeds[{i}]", item)
                       for i, item in enumerate(_tables(source, "feeds", data["feeds"]))]
    for section in ("feed_groups",):
        if section in data:
            names = []
            for i, item in enumerate(_tables(source, section, data[section])):
                _table(source, f"{section}[{i}]", item, {"name"})
                name = _expect(source, f"{section}[{i}].name", item.get("name"), str, "a non-empty string")
                if not name:
                    raise ConfigError(source, f"{section}[{i}].name", "must not be empty")
                names.append(name)
            setattr(state, section, names)
    names = state.feed_names
    for i, seeded in enumerate(state.users):
        for feed in (seeded[3] if len(seeded) > 3 else {}):
            if feed != "*" and feed not in names:
                raise ConfigError(source, f"users[{i}].privileges.{feed}",
                                  f"there is no feed named {feed!r} (feeds: {', '.join(names) or 'none'}; "
                                  f"* means every feed)")
    if "api_keys" in data:
        keys: list[NewApiKey] = []
        for i, item in enumerate(_tables(source, "api_keys", data["api_keys"])):
            body = dict(item)
            if not any(name.lower() == "logging" for name in body):
                body["logging"] = "none"  # a seeded key need not say it; the wire must
            try:
                keys.append(load_new_api_key(body))
            except InvalidInput as error:
                raise ConfigError(source, f"api_keys[{i}]", "; ".join(error.problems)) from None
        state.api_keys = keys
    return state


def _privileges(source: str, setting: str, value: Any) -> dict[str, tuple[str, ...]]:
    """``{FeedName = ["view", "add"], "*" = ["view"]}``: a user's privileges per feed."""
    _expect(source, setting, value, dict, "a table of feed name = [privileges]")
    result = {}
    for feed, privileges in value.items():
        try:
            result[feed] = check_privileges(privileges, "the privileges")
        except ValueError as error:
            raise ConfigError(source, f"{setting}.{feed}", str(error)) from None
    return result


def _feed(source: str, where: str, item: Mapping[str, Any]) -> str | Feed:
    """A ``[[feeds]]`` table: a bare name (no type: no feed endpoints) or a typed feed."""
    _table(source, where, item, {"name", "type", "groups", "anonymous"})
    name: str = _expect(source, f"{where}.name", item.get("name"), str, "a non-empty string")
    if not name:
        raise ConfigError(source, f"{where}.name", "must not be empty")
    if set(item) == {"name"}:
        return name
    feed_type = item.get("type")
    if feed_type is not None and feed_type not in FEED_TYPES:
        raise ConfigError(source, f"{where}.type", f"must be one of {', '.join(FEED_TYPES)}, not {feed_type!r}")
    groups = item.get("groups", [])
    if not isinstance(groups, list) or not all(isinstance(g, str) and g for g in groups):
        raise ConfigError(source, f"{where}.groups", f"must be a list of feed group names, not {groups!r}")
    anonymous = item.get("anonymous", ["view"])
    if anonymous is True or anonymous is False:  # true: view and download; false: nothing
        anonymous = ["view"] if anonymous else []
    try:
        privileges = check_privileges(anonymous, "the anonymous access")
    except ValueError as error:
        raise ConfigError(source, f"{where}.anonymous", f"{error}; or true / false") from None
    return Feed(name, feed_type, tuple(groups), privileges)


def load_config(path: str | os.PathLike[str] | None = None, *, env: Mapping[str, str] | None = None) -> Config:
    """Read ``path`` (if any), then apply ``MOCKPROGET_*`` environment variables."""
    config = Config()
    if path is not None:
        source = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as error:
            raise ConfigError(source, "file", f"cannot be read ({error.strerror or error})") from None
        except UnicodeDecodeError:
            raise ConfigError(source, "file", "is not UTF-8 text") from None
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(source, "file", f"is not valid TOML ({error})") from None
        config = parse_config(data, source)
    return apply_env(config, os.environ if env is None else env)


def apply_env(config: Config, env: Mapping[str, str]) -> Config:
    """``MOCKPROGET_HOST``, ``_PORT``, ``_ADMIN_KEY``, ``_SEED``, ``_CONTROL_TOKEN``."""
    changes: dict[str, Any] = {}
    for name, attr in (("MOCKPROGET_HOST", "host"), ("MOCKPROGET_ADMIN_KEY", "admin_key"),
                       ("MOCKPROGET_CONTROL_TOKEN", "control_token")):
        if env.get(name):
            changes[attr] = env[name]
    for name, attr in (("MOCKPROGET_PORT", "port"), ("MOCKPROGET_SEED", "seed")):
        if env.get(name):
            try:
                changes[attr] = int(env[name])
            except ValueError:
                raise ConfigError("environment", name, f"must be an integer, not {env[name]!r}") from None
    if "port" in changes:
        _port("environment", "MOCKPROGET_PORT", changes["port"])
    return replace(config, **changes)
