"""Fault rules as data, and the one WSGI middleware that applies them.

A rule matches requests (method, path glob, optionally the credential carrier of spec §3)
and has a schedule (``after``, ``every``, ``times``, ``probability``). Its action is a
delay, a canned response, or a connection fault. The fields of a rule are the keys of a
TOML ``[[faults]]`` table, of the control API's JSON body, of ``--fault`` and of
:meth:`FaultSet.add`: one parser (:func:`parse_rule`) serves all four.

How several rules combine, for one request: rules are evaluated in the order they were
added. Every matching delay rule that fires adds its delay (delays add up). The first
matching response or connection rule that fires wins; the response and connection rules
after it are not evaluated for that request (they neither count it nor draw for it).
Delays with ``when = "request"`` are waited before the request reaches the mock; the
winning action then either answers instead of the mock (``when = "request"``: nothing
changes in the mock's state), or the mock answers first and the action replaces or
mangles that answer (``when = "response"``: the change is made, the answer is lost).

Connection faults need the client socket, which WSGI does not give an app: for
``reset``, ``close``, ``garbage`` and ``hang`` the middleware raises
:class:`ConnectionFault` (a :class:`ConnectionError`) carrying what to do, the journal
records the request on the way out, and :class:`~mockproget.server.MockProGet`'s server
applies the fault to its connection (docs/server.md). Under another WSGI server (or the
Flask test client) the exception reaches that server (or the caller) instead.
``truncate`` and ``dribble`` are plain WSGI: they work anywhere. ``stale`` lets the
answer through and leaves the rule under ``STALE_RULE`` in the environ: the server then
closes that connection when its next request arrives.
"""

from __future__ import annotations

import fnmatch
import functools
import math
import random
import re
import shlex
import threading
import tomllib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from .auth import credential_from_environ

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = [
    "ACTIONS",
    "APPLIED",
    "CARRIERS",
    "CONNECTION_ACTIONS",
    "CONNECTION_APPLIED",
    "CONTROL_PREFIX",
    "DELAY_MS",
    "STALE_RULE",
    "ConnectionFault",
    "FaultMiddleware",
    "FaultRule",
    "FaultRuleError",
    "FaultSet",
    "Plan",
    "canned_response",
    "parse_fault_spec",
    "parse_rule",
]

#: Paths under this prefix (the control API) are never faulted nor journaled.
CONTROL_PREFIX = "/__mockproget__/"
#: WSGI environ key: names of the fault rules applied to the request (a list).
APPLIED = "mockproget.faults"
#: WSGI environ key: the total delay chosen for the request, in milliseconds.
DELAY_MS = "mockproget.delay_ms"
#: WSGI environ key: the connection fault applied, if any (``reset``, ``close``, ...).
CONNECTION_APPLIED = "mockproget.connection_fault"

CONNECTION_ACTIONS = ("reset", "close", "garbage", "truncate", "dribble", "hang", "stale")
ACTIONS = ("response", "delay", *CONNECTION_ACTIONS)
#: Credential carriers a rule may match (spec §3), ``none`` for "no credential".
CARRIERS = ("header", "query", "form", "json", "none")
_RESPONSE_STAGE_ONLY = ("truncate", "dribble", "stale")
#: WSGI environ key: the ``stale`` rule that fired (the server reads its settings).
STALE_RULE = "mockproget.stale_rule"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_METHOD = re.compile(r"[A-Z]{1,20}|\*")
MAX_HANG_MS = 600_000.0
MAX_DELAY_MS = 600_000.0


class FaultRuleError(ValueError):
    """A rule that cannot be used: ``field`` names the (first) offending key, ``problem``
    says what is wrong with it; ``errors`` holds every ``(field, problem)`` found and
    ``problems`` the same as ``"field: problem"`` lines."""

    def __init__(self, field_name: str, problem: str,
                 more: Iterable[tuple[str, str]] = ()) -> None:
        self.errors = [(field_name, problem), *more]
        self.problems = [f"{f}: {p}" for f, p in self.errors]
        super().__init__("; ".join(self.problems))
        self.field, self.problem = field_name, problem


class ConnectionFault(ConnectionError):
    """A connection fault to apply: raised by :class:`FaultMiddleware` to the WSGI server.

    :ivar kind: ``reset``, ``close``, ``garbage`` or ``hang``.
    :ivar rule: the name of the rule.
    :ivar garbage: the bytes to send (``garbage``), drawn from the rule's seeded stream.
    :ivar seconds: how long to hang at most (``hang``).
    """

    def __init__(self, kind: str, rule: str, *, garbage: bytes = b"", seconds: float = 0.0) -> None:
        super().__init__(f"injected connection fault {kind!r} (rule {rule!r})")
        self.kind, self.rule, self.garbage, self.seconds = kind, rule, garbage, seconds


# -- rules ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class FaultRule:
    """One fault rule, validated. Build it with :func:`parse_rule` or :meth:`FaultSet.add`.

    ``as_dict()`` gives back the fields, as accepted on input.
    """

    name: str
    action: str
    method: tuple[str, ...] = ()
    path: str = "*"
    carrier: tuple[str, ...] = ()
    probability: float = 1.0
    after: int = 0
    times: int | None = None
    every: int = 1
    when: str = "request"
    status: int | None = None
    body: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    retry_after: int | None = None
    duration_ms: float | None = None
    lower_ms: float | None = None
    upper_ms: float | None = None
    median_ms: float | None = None
    sigma: float | None = None
    size: int | None = None
    keep: float | None = None
    chunks: int | None = None
    requests: int | None = None
    idle_ms: float | None = None
    signal: str | None = None

    @property
    def terminal(self) -> bool:
        """A response or connection action (not a delay)."""
        return self.action != "delay"

    def matches(self, method: str, path: str, carrier: Callable[[], str]) -> bool:
        """Whether the request fits this rule's matcher (not its schedule)."""
        if self.method and method not in self.method:
            return False
        if not fnmatch.fnmatchcase(path, self.path):
            return False
        return not self.carrier or carrier() in self.carrier

    def as_dict(self) -> dict[str, Any]:
        """JSON/TOML-ready fields: the matcher, the schedule and the action's settings."""
        out: dict[str, Any] = {"name": self.name, "action": self.action,
                               "method": ",".join(self.method) or "*", "path": self.path}
        if self.carrier:
            out["carrier"] = list(self.carrier)
        out.update(probability=self.probability, after=self.after, every=self.every)
        if self.times is not None:
            out["times"] = self.times
        out["when"] = self.when
        for name in ("status", "body", "retry_after", "duration_ms", "lower_ms", "upper_ms",
                     "median_ms", "sigma", "size", "keep", "chunks", "requests", "idle_ms", "signal"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        if self.headers:
            out["headers"] = dict(self.headers)
        return out


#: Fields allowed per action (on top of the matcher and schedule fields).
_ACTION_FIELDS: dict[str, frozenset[str]] = {
    "response": frozenset({"status", "body", "headers", "retry_after"}),
    "delay": frozenset({"duration_ms", "lower_ms", "upper_ms", "median_ms", "sigma"}),
    "reset": frozenset(),
    "close": frozenset(),
    "garbage": frozenset({"size"}),
    "truncate": frozenset({"keep"}),
    "dribble": frozenset({"chunks", "duration_ms"}),
    "hang": frozenset({"duration_ms"}),
    "stale": frozenset({"requests", "idle_ms", "signal"}),
}
_COMMON_FIELDS = frozenset({"name", "action", "method", "path", "carrier", "probability",
                            "after", "times", "every", "when"})
_ALL_FIELDS = _COMMON_FIELDS.union(*_ACTION_FIELDS.values())


def _number(name: str, value: Any, *, low: float, high: float = math.inf,
            low_open: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise FaultRuleError(name, f"must be a number, not {value!r}")
    if value < low or value > high or (low_open and value == low):
        bound = f"greater than {low:g}" if low_open else f"at least {low:g}"
        upper = "" if high == math.inf else f" and at most {high:g}"
        raise FaultRuleError(name, f"must be {bound}{upper}, not {value!r}")
    return float(value)


def _integer(name: str, value: Any, *, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise FaultRuleError(name, f"must be an integer, not {value!r}")
    if value < low or (high is not None and value > high):
        upper = "" if high is None else f" and at most {high}"
        raise FaultRuleError(name, f"must be at least {low}{upper}, not {value}")
    return value


def _names(name: str, value: Any) -> list[str]:
    """A string (comma-separated allowed) or a list of strings."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [v.strip() for v in value if v.strip()]
    raise FaultRuleError(name, f"must be a string or a list of strings, not {value!r}")


def _infer_action(data: Mapping[str, Any]) -> str:
    if "status" in data or "body" in data or "headers" in data:
        return "response"
    if any(k in data for k in ("lower_ms", "upper_ms", "median_ms", "sigma", "duration_ms")):
        return "delay"
    raise FaultRuleError("action", f"required: one of {', '.join(ACTIONS)} "
                                   f"(or give status for a response, duration_ms for a delay)")


def _collector(errors: list[tuple[str, str]]) -> Callable[[Callable[[], Any]], Any]:
    """``check(step)``: run one validation step, note its problems in ``errors`` (if any)
    and go on with the next, so that one error lists every problem."""
    def check(step: Callable[[], Any]) -> Any:
        try:
            return step()
        except FaultRuleError as error:
            errors.extend(error.errors)
            return None
    return check


def parse_rule(data: Mapping[str, Any], *, default_name: str = "fault") -> FaultRule:
    """Validate a rule's fields; :class:`FaultRuleError` names every bad field.

    :param data: the fields (TOML table, JSON object, ``--fault`` spec or keywords).
    :param default_name: the name when ``data`` gives none.
    """
    if not isinstance(data, Mapping):
        raise FaultRuleError("rule", f"must be a table/object of fields, not {type(data).__name__}")
    errors: list[tuple[str, str]] = []
    check = _collector(errors)

    for key in data:
        if not isinstance(key, str) or key not in _ALL_FIELDS:
            errors.append((str(key), f"unknown field (known: {', '.join(sorted(_ALL_FIELDS))})"))
    action = data.get("action")
    if action is None:
        action = check(lambda: _infer_action(data))
    elif not isinstance(action, str) or action.lower() not in ACTIONS:
        errors.append(("action", f"must be one of {', '.join(ACTIONS)}, not {action!r}"))
        action = None
    else:
        action = action.lower()
    if action is not None:
        for key in data:
            if key in _ALL_FIELDS and key not in _COMMON_FIELDS and key not in _ACTION_FIELDS[action]:
                allowed = ", ".join(sorted(_ACTION_FIELDS[action])) or "none"
                errors.append((key, f"not a setting of a {action} fault (its settings: {allowed})"))
    values: dict[str, Any] = {"action": action}

    name = data.get("name", default_name)
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        errors.append(("name", "must be 1-64 letters, digits, '.', '_' or '-', "
                               f"starting with a letter or digit, not {name!r}"))
    values["name"] = name
    if "method" in data:
        methods = [m.upper() for m in check(lambda: _names("method", data["method"])) or []]
        bad = [m for m in methods if not _METHOD.fullmatch(m)]
        errors.extend(("method", f"not an HTTP method: {m!r}") for m in bad)
        values["method"] = () if not methods or "*" in methods else tuple(dict.fromkeys(methods))
    if "path" in data:
        path = data["path"]
        if not isinstance(path, str) or not path:
            errors.append(("path", f"must be a non-empty glob such as '/api/*', not {path!r}"))
        values["path"] = path
    if "carrier" in data:
        carriers = [c.lower() for c in check(lambda: _names("carrier", data["carrier"])) or []]
        errors.extend(("carrier", f"must be among {', '.join(CARRIERS)}, not {c!r}")
                      for c in carriers if c not in CARRIERS)
        values["carrier"] = tuple(dict.fromkeys(carriers))
    if "probability" in data:
        values["probability"] = check(lambda: _number("probability", data["probability"], low=0, high=1))
    for counter, low in (("after", 0), ("times", 1), ("every", 1)):
        if counter in data:
            values[counter] = check(functools.partial(_integer, counter, data[counter], low=low))
    when = data.get("when", "response" if action in _RESPONSE_STAGE_ONLY else "request")
    if when not in ("request", "response"):
        errors.append(("when", f"must be 'request' or 'response', not {when!r}"))
    elif action in _RESPONSE_STAGE_ONLY and when != "response":
        errors.append(("when", f"a {action} fault acts on the mock's answer: it must be 'response'"))
    values["when"] = when
    if action is not None:
        check(lambda: _action_values(action, data, values))
    if errors:
        raise FaultRuleError(*errors[0], errors[1:])
    return FaultRule(**values)


def _action_values(action: str, data: Mapping[str, Any], values: dict[str, Any]) -> None:
    """The settings of ``action`` into ``values``; every problem in one :class:`FaultRuleError`."""
    errors: list[tuple[str, str]] = []
    check = _collector(errors)

    if action == "response":
        if "status" not in data:
            errors.append(("status", "required for a response fault"))
        else:
            values["status"] = check(lambda: _integer("status", data["status"], low=200, high=599))
        if "body" in data:
            if not isinstance(data["body"], str):
                errors.append(("body", f"must be a string, not {data['body']!r}"))
            else:
                try:
                    data["body"].encode("utf-8")
                    values["body"] = data["body"]
                except UnicodeEncodeError:
                    errors.append(("body", "must be valid Unicode text (no lone surrogate)"))
        if "headers" in data:
            check(lambda: _headers_value(data["headers"], values))
        if "retry_after" in data:
            values["retry_after"] = check(lambda: _integer("retry_after", data["retry_after"], low=0))
    elif action == "delay":
        given = {k for k in _ACTION_FIELDS["delay"] if k in data}
        if given == {"duration_ms"}:
            values["duration_ms"] = check(lambda: _number("duration_ms", data["duration_ms"], low=0,
                                                          high=MAX_DELAY_MS))
        elif given == {"lower_ms", "upper_ms"}:
            lower = check(lambda: _number("lower_ms", data["lower_ms"], low=0, high=MAX_DELAY_MS))
            upper = check(lambda: _number("upper_ms", data["upper_ms"], low=0, high=MAX_DELAY_MS))
            if lower is not None and upper is not None and upper < lower:
                errors.append(("upper_ms", f"must be at least lower_ms ({lower:g}), not {upper:g}"))
            values.update(lower_ms=lower, upper_ms=upper)
        elif given == {"median_ms", "sigma"}:
            values["median_ms"] = check(lambda: _number("median_ms", data["median_ms"], low=0,
                                                        high=MAX_DELAY_MS, low_open=True))
            values["sigma"] = check(lambda: _number("sigma", data["sigma"], low=0, high=10))
        else:
            errors.append(("delay", "give exactly one of: duration_ms (fixed); lower_ms and "
                                    "upper_ms (uniform); median_ms and sigma (lognormal)"))
    elif action == "garbage":
        values["size"] = check(lambda: _integer("size", data.get("size", 64), low=1, high=1_000_000))
    elif action == "truncate":
        values["keep"] = check(lambda: _number("keep", data.get("keep", 0.5), low=0, high=1))
        if values["keep"] == 1:
            errors.append(("keep", "must be less than 1 (the fraction of the body sent)"))
    elif action == "dribble":
        values["chunks"] = check(lambda: _integer("chunks", data.get("chunks", 5), low=1, high=10_000))
        values["duration_ms"] = check(lambda: _number("duration_ms", data.get("duration_ms", 1000), low=0,
                                                      high=MAX_DELAY_MS))
    elif action == "hang":
        values["duration_ms"] = check(lambda: _number("duration_ms", data.get("duration_ms", 30_000), low=0,
                                                      high=MAX_HANG_MS, low_open=True))
    elif action == "stale":
        if "idle_ms" in data:
            values["idle_ms"] = check(lambda: _number("idle_ms", data["idle_ms"], low=0, high=MAX_HANG_MS,
                                                      low_open=True))
        if "requests" in data or "idle_ms" not in data:
            values["requests"] = check(lambda: _integer("requests", data.get("requests", 1), low=1,
                                                        high=1_000_000))
        signal = data.get("signal", "fin")
        if not isinstance(signal, str) or signal.lower() not in ("fin", "rst"):
            errors.append(("signal", f"must be 'fin' (a clean close) or 'rst' (a reset), not {signal!r}"))
        else:
            values["signal"] = signal.lower()
    if errors:
        raise FaultRuleError(*errors[0], errors[1:])


def _headers_value(headers: Any, values: dict[str, Any]) -> None:
    if not isinstance(headers, Mapping) or not all(
            isinstance(k, str) and isinstance(v, (str, int)) and not isinstance(v, bool)
            for k, v in headers.items()):
        raise FaultRuleError("headers", "must be a table of header names to string values")
    pairs = tuple((k, str(v)) for k, v in headers.items())
    errors: list[tuple[str, str]] = []
    for k, v in pairs:
        if not re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+", k) or "\r" in v or "\n" in v:
            errors.append(("headers", f"not a valid header: {k!r}"))
        elif not v.isascii():  # HTTP carries latin-1 bytes; keep to what every client reads
            errors.append(("headers", f"the value of {k!r} must be ASCII text"))
    if errors:
        raise FaultRuleError(*errors[0], errors[1:])
    values["headers"] = pairs


def parse_fault_spec(text: str) -> dict[str, Any]:
    """Read a ``--fault`` command-line spec into rule fields (validated later).

    Two forms: a TOML inline table, ``{path = "/api/*", status = 503}``; or words:
    an optional METHOD, an optional /PATH glob, an optional action name or 3-digit
    status, then ``field=value`` pairs whose values are read as TOML when they parse
    (numbers, booleans, ``"strings"``, inline tables) and as plain strings otherwise::

        POST /api/api-keys/create 503 probability=0.3 retry_after=5
        * /api/* delay median_ms=50 sigma=0.5
        GET /api/api-keys/list reset times=1
    """
    text = text.strip()
    if text.startswith("{"):
        try:
            return dict(tomllib.loads(f"rule = {text}")["rule"])
        except tomllib.TOMLDecodeError as error:
            raise FaultRuleError("syntax", f"not a TOML inline table ({error})") from None
    try:
        words = shlex.split(text)
    except ValueError as error:
        raise FaultRuleError("syntax", f"cannot be split into words ({error})") from None
    if not words:
        raise FaultRuleError("syntax", "empty")
    fields_: dict[str, Any] = {}
    for position, word in enumerate(words):
        name, eq, raw = word.partition("=")
        if eq:
            name = name.strip().replace("-", "_")
            if not name:
                raise FaultRuleError("syntax", f"{word!r} has no field name")
            try:
                fields_[name] = tomllib.loads(f"v = {raw}")["v"]
            except tomllib.TOMLDecodeError:
                fields_[name] = raw
        elif word.startswith("/"):
            fields_["path"] = word
        elif word.lower() in ACTIONS:
            fields_["action"] = word.lower()
        elif re.fullmatch(r"[1-5][0-9][0-9]", word):
            fields_["status"] = int(word)
        elif position == 0 and (word == "*" or re.fullmatch(r"[A-Za-z]+(,[A-Za-z]+)*", word)):
            fields_["method"] = word.upper()
        else:
            raise FaultRuleError("syntax", f"cannot read {word!r}: expected METHOD, /PATH, an action "
                                            f"({', '.join(ACTIONS)}), a status or field=value")
    return fields_


# -- the rule set --------------------------------------------------------------------------


@dataclass
class _Live:
    """A rule with its counters and random stream."""

    rule: FaultRule
    rng: random.Random
    matched: int = 0
    applied: int = 0


@dataclass
class Plan:
    """What happens to one request: chosen under the set's lock, carried out outside it."""

    names: list[str] = field(default_factory=list)
    request_delay_ms: float = 0.0
    response_delay_ms: float = 0.0
    delay_chosen: bool = False
    terminal: FaultRule | None = None
    garbage: bytes = b""


class FaultSet:
    """The fault rules of one server: thread-safe, seeded, resettable.

    :param configured: rule fields the set holds at start and after :meth:`reset`.
    :param seed: drives every random choice (probability draws, delays, garbage bytes);
        each rule draws from its own stream, derived from the seed and its name, so
        adding a rule does not change what another rule does. ``None``: unseeded.
    """

    def __init__(self, configured: Iterable[Mapping[str, Any]] = (), *, seed: int | None = None) -> None:
        self._lock = threading.Lock()
        self.seed = seed
        rules: list[FaultRule] = []
        for i, data in enumerate(configured):
            rule = parse_rule(data, default_name=_default_name(data, i + 1))
            if any(r.name == rule.name for r in rules):
                raise FaultRuleError("name", f"a fault rule named {rule.name!r} already exists")
            rules.append(rule)
        self._configured = tuple(rules)
        self._live: list[_Live] = []
        self._added = 0
        self.reset()

    def __repr__(self) -> str:
        return f"<FaultSet {[r.name for r in self.rules]}>"

    def _stream(self, name: str) -> random.Random:
        return random.Random(f"mockproget-fault:{self.seed}:{name}") if self.seed is not None \
            else random.Random()

    def reset(self) -> None:
        """Back to the configured rules, with fresh counters and re-seeded streams."""
        with self._lock:
            self._live = [_Live(rule, self._stream(rule.name)) for rule in self._configured]
            self._added = len(self._live)

    def add(self, rule: Mapping[str, Any] | None = None, /, **fields: Any) -> FaultRule:
        """Add a rule from fields (a mapping and/or keywords); returns it.

        :raises FaultRuleError: a bad field, or a name already in use.
        """
        data = {**(rule or {}), **fields}
        with self._lock:
            parsed = parse_rule(data, default_name=_default_name(data, self._added + 1))
            if any(live.rule.name == parsed.name for live in self._live):
                raise FaultRuleError("name", f"a fault rule named {parsed.name!r} already exists")
            self._live.append(_Live(parsed, self._stream(parsed.name)))
            self._added += 1
            return parsed

    def remove(self, name: str) -> None:
        """Remove the rule called ``name``; :class:`KeyError` when there is none."""
        with self._lock:
            for i, live in enumerate(self._live):
                if live.rule.name == name:
                    del self._live[i]
                    return
        raise KeyError(name)

    def clear(self) -> None:
        """Remove every rule (the configured ones come back at :meth:`reset`)."""
        with self._lock:
            self._live = []

    @property
    def rules(self) -> list[FaultRule]:
        """The rules, in evaluation order."""
        with self._lock:
            return [live.rule for live in self._live]

    def stats(self) -> list[dict[str, Any]]:
        """Each rule's fields plus ``matched`` and ``applied`` counts (JSON-ready)."""
        with self._lock:
            return [{**live.rule.as_dict(), "matched": live.matched, "applied": live.applied}
                    for live in self._live]

    @property
    def empty(self) -> bool:
        """No rule is live: a request needs no plan (read without the lock: a rule added
        while a request arrives applies from the next one, as it would after the lock)."""
        return not self._live

    def plan(self, method: str, path: str, carrier: Callable[[], str]) -> Plan | None:
        """Decide, atomically, which rules apply to a request; ``None`` when none does."""
        with self._lock:
            if not self._live:
                return None
            plan: Plan | None = None
            for live in self._live:
                rule = live.rule
                if rule.terminal and plan is not None and plan.terminal is not None:
                    continue  # the first response/connection action already won
                if not rule.matches(method, path, carrier):
                    continue
                live.matched += 1
                n = live.matched - rule.after
                if n <= 0 or n % rule.every or (rule.times is not None and live.applied >= rule.times):
                    continue
                if rule.probability < 1 and not (rule.probability > 0 and live.rng.random() < rule.probability):
                    continue
                live.applied += 1
                plan = plan or Plan()
                plan.names.append(rule.name)
                if rule.action == "delay":
                    chosen = round(_draw_delay(rule, live.rng), 3)
                    plan.delay_chosen = True
                    if rule.when == "request":
                        plan.request_delay_ms += chosen
                    else:
                        plan.response_delay_ms += chosen
                else:
                    plan.terminal = rule
                    if rule.action == "garbage":
                        plan.garbage = live.rng.randbytes(rule.size or 64)
            return plan


def _default_name(data: Mapping[str, Any], n: int) -> str:
    action = data.get("action") if isinstance(data, Mapping) else None
    if not isinstance(action, str) or action.lower() not in ACTIONS:
        try:
            action = _infer_action(data)
        except (FaultRuleError, TypeError):
            action = "fault"
    return f"{action.lower()}-{n}"


def _draw_delay(rule: FaultRule, rng: random.Random) -> float:
    if rule.duration_ms is not None:
        return rule.duration_ms
    if rule.lower_ms is not None and rule.upper_ms is not None:
        return rng.uniform(rule.lower_ms, rule.upper_ms)
    assert rule.median_ms is not None and rule.sigma is not None
    return min(rng.lognormvariate(math.log(rule.median_ms), rule.sigma), MAX_DELAY_MS)


# -- canned answers ------------------------------------------------------------------------

_PROGET_500 = (
    "An error occurred processing the request: the database is unavailable (injected fault {name}).\n"
    "\n"
    "System.InvalidOperationException: The database is unavailable (injected fault {name}).\n"
    "   at Inedo.ProGet.Data.DB.Context.ExecuteAsync(StoredProcedure proc)\n"
    "   at Inedo.ProGet.WebApplication.SimpleHandlers.Api.ApiKeysHandler.ProcessRequestAsync("
    "AhHttpContext context)\n"
    "   at Inedo.Web.Handlers.StandardHttpHandler.ProcessRequestAsync(AhHttpContext context)\n"
)


def canned_response(rule: FaultRule, proget_headers: Mapping[str, str]) -> tuple[str, list[tuple[str, str]], bytes]:
    """Status line, headers and body of a ``response`` rule, presets applied.

    Presets by status: 500 is ProGet's own unexpected error (message and a stack trace,
    ``text/plain``, spec §6, with the ``X-ProGet-*`` headers); 503 and 429 carry
    ``Retry-After`` (``retry_after``, default 1 second); 502 and 504 are what a reverse
    proxy in front of ProGet answers. ``body`` and ``headers`` override the preset.
    """
    status = rule.status or 500
    phrase = _phrase(status)
    headers: dict[str, str] = {"Content-Type": "text/plain; charset=utf-8"}
    if status == 500:
        body = _PROGET_500.format(name=rule.name)
        headers.update(proget_headers)
    elif status == 502:
        body = f"{status} {phrase}: the upstream ProGet server sent an invalid answer.\n"
    elif status == 504:
        body = f"{status} {phrase}: the upstream ProGet server did not answer in time.\n"
    elif status in (429, 503):
        body = f"{status} {phrase}: try again later.\n"
    else:
        body = f"{status} {phrase}\n"
    if rule.retry_after is not None or status in (429, 503):
        headers["Retry-After"] = str(rule.retry_after if rule.retry_after is not None else 1)
    if rule.body is not None:
        body = rule.body
    lowered = {k.lower(): k for k in headers}
    for name, value in rule.headers:
        headers.pop(lowered.get(name.lower(), name), None)
        headers[name] = value
    data = body.encode("utf-8")
    headers["Content-Length"] = str(len(data))
    return f"{status} {phrase}", list(headers.items()), data


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Injected"


# -- the middleware ------------------------------------------------------------------------


class FaultMiddleware:
    """Applies the :class:`FaultSet` to every request but the control API's.

    :param app: the WSGI app behind (the mock).
    :param faults: the rules.
    :param stopping: set when the server stops: every injected wait ends at once.
    :param proget_headers: the ``X-ProGet-*`` headers for the 500 preset.
    """

    def __init__(self, app: WSGIApplication, faults: FaultSet, stopping: threading.Event,
                 proget_headers: Callable[[], Mapping[str, str]] = dict) -> None:
        self.app, self.faults, self.stopping = app, faults, stopping
        self.proget_headers = proget_headers

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if self.faults.empty or path.startswith(CONTROL_PREFIX):
            return self.app(environ, start_response)
        plan = self.faults.plan(environ.get("REQUEST_METHOD", "GET").upper(), path,
                                lambda: _carrier(environ))
        if plan is None:
            return self.app(environ, start_response)
        environ[APPLIED] = plan.names
        if plan.delay_chosen:
            environ[DELAY_MS] = round(plan.request_delay_ms + plan.response_delay_ms, 3)
        self._wait(plan.request_delay_ms)
        terminal = plan.terminal
        if terminal is not None and terminal.when == "request":
            self._wait(plan.response_delay_ms)  # delays add up, whatever their stage
            return self._act(terminal, plan, environ, start_response, None)
        if terminal is None and not plan.response_delay_ms:
            return self.app(environ, start_response)
        answer = _run(self.app, environ)
        self._wait(plan.response_delay_ms)
        if terminal is None:
            start_response(answer[0], answer[1])
            return [answer[2]]
        return self._act(terminal, plan, environ, start_response, answer)

    def _wait(self, ms: float) -> None:
        if ms > 0:
            self.stopping.wait(ms / 1000)

    def _act(self, rule: FaultRule, plan: Plan, environ: WSGIEnvironment,
             start_response: StartResponse,
             answer: tuple[str, list[tuple[str, str]], bytes] | None) -> Iterable[bytes]:
        action = rule.action
        if action == "response":
            status, headers, body = canned_response(rule, self.proget_headers())
            if environ.get("REQUEST_METHOD") == "HEAD" or rule.status in (204, 304):
                body = b""  # HTTP: no body for these (the headers still say what it would be)
                if rule.status in (204, 304):
                    headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
            start_response(status, headers)
            return [body]
        if action == "stale":  # the answer goes out whole; the server marks the connection
            assert answer is not None
            environ[CONNECTION_APPLIED] = action
            environ[STALE_RULE] = rule
            start_response(answer[0], answer[1])
            return [answer[2]]
        if action in ("truncate", "dribble"):
            assert answer is not None
            status, headers, body = answer
            headers = [(k, v) for k, v in headers if k.lower() not in ("content-length", "transfer-encoding")]
            if action == "truncate":
                sent = body[: int(len(body) * (rule.keep or 0))]
                promised = max(len(body), len(sent) + 1)
                start_response(status, [*headers, ("Content-Length", str(promised))])
                environ[CONNECTION_APPLIED] = action
                return [sent]
            start_response(status, [*headers, ("Content-Length", str(len(body)))])
            environ[CONNECTION_APPLIED] = action
            return self._dribble(body, rule.chunks or 1, (rule.duration_ms or 0) / 1000)
        environ[CONNECTION_APPLIED] = action
        raise ConnectionFault(action, rule.name, garbage=plan.garbage,
                              seconds=(rule.duration_ms or 0) / 1000 if action == "hang" else 0.0)

    def _dribble(self, body: bytes, chunks: int, seconds: float) -> Iterator[bytes]:
        """The body in ``chunks`` pieces, each after a pause of ``seconds / chunks``."""
        chunks = max(1, min(chunks, len(body) or 1))
        size, extra = divmod(len(body), chunks)
        pause, start = seconds / chunks, 0
        for i in range(chunks):
            end = start + size + (1 if i < extra else 0)
            self.stopping.wait(pause)
            yield body[start:end]
            start = end


def _run(app: WSGIApplication, environ: WSGIEnvironment) -> tuple[str, list[tuple[str, str]], bytes]:
    """Call ``app`` and collect its whole answer."""
    captured: list[Any] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], object]:
        captured[:] = [status, list(headers)]
        return lambda data: None

    result = app(environ, start_response)
    try:
        body = b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return captured[0], captured[1], body


def _carrier(environ: WSGIEnvironment) -> str:
    credential = credential_from_environ(environ)
    return credential.carrier if credential is not None else "none"
