"""Hypothesis strategies for ``ApiKeyInfo`` bodies (spec §2) and credential placement (§3).

Valid values are built, not filtered. Each invalid body breaks exactly one [doc]/[client]
rule of §2 and says which (the rule text is what a failing clause reports).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

__all__ = [
    "CARRIERS",
    "EXPIRATION_OFFSETS",
    "LOGGING_MODES",
    "PACKAGE_PERMISSIONS",
    "LIMITED_SYSTEM_APIS",
    "MUTATIONS",
    "enum_spellings",
    "expiration_at",
    "expirations",
    "feed_bodies",
    "invalid_bodies",
    "logging_modes",
    "package_permissions",
    "past_expiration",
    "personal_bodies",
    "system_apis",
    "system_bodies",
    "texts",
]

LOGGING_MODES = ("none", "request", "response", "both")          # §2 logging [doc]
PACKAGE_PERMISSIONS = ("view", "add", "promote", "delete")        # §2 packagePermissions [doc]
LIMITED_SYSTEM_APIS = ("feeds", "sca", "sbom-upload")             # §2 systemApis [doc]
#: §3 [doc]: the four places a key may travel.
CARRIERS = ("header", "query", "form", "json")


def enum_spellings(value: str) -> st.SearchStrategy[str]:
    """§2/§7: servers write lower-camelCase (``system``); pgutil sends the .NET name
    (``System``) [client]. Both must be read."""
    pascal = value[:1].upper() + value[1:]
    return st.sampled_from([value, pascal])


def logging_modes() -> st.SearchStrategy[str]:
    """§2 [doc]: ``logging`` is one of none/request/response/both (required)."""
    return st.sampled_from(LOGGING_MODES).flatmap(enum_spellings)


def system_apis() -> st.SearchStrategy[list[str]]:
    """§2 [doc]: ``["full-control"]`` alone, or a non-empty combination of the other three."""
    return st.one_of(st.just(["full-control"]),
                     st.lists(st.sampled_from(LIMITED_SYSTEM_APIS), min_size=1, max_size=3, unique=True))


def package_permissions() -> st.SearchStrategy[list[str]]:
    """§2 [doc][client]: a non-empty combination of view/add/promote/delete."""
    return st.lists(st.sampled_from(PACKAGE_PERMISSIONS), min_size=1, max_size=4, unique=True)


def texts() -> st.SearchStrategy[str]:
    """Free text for ``description``: letters and digits of any script and plane (beyond
    U+FFFF too: 𝒜, 𠀀), words apart. (§8: length limits are open, so kept short.)"""
    word = st.text(st.characters(categories=("L", "N")), min_size=1, max_size=10)
    return st.lists(word, min_size=1, max_size=3).map(" ".join)


def expirations() -> st.SearchStrategy[str]:
    """§2 [client]: ISO 8601, with or without offset (pgutil sends none); in the future, so
    the key stays usable."""
    base = st.datetimes(min_value=datetime(2031, 1, 1), max_value=datetime(2098, 12, 31))
    return st.tuples(base.map(lambda d: d.replace(microsecond=0)),
                     st.sampled_from(["", "Z", "+00:00", "+02:00", "-05:30"])).map(
        lambda t: t[0].isoformat() + t[1])


#: §2 [client]: an expiration is ISO 8601 with or without offset; the clauses about
#: expiry try each form (test id -> suffix).
EXPIRATION_OFFSETS = {"no-offset": "", "utc": "Z", "offset": "+02:00"}


def past_expiration(offset: str = "") -> str:
    """The vendor's own example date (``2024/08/01``) as pgutil sends it (no offset), or
    with ``offset`` (``Z``, ``+02:00``)."""
    return "2024-08-01T00:00:00" + offset


def expiration_at(moment: datetime, offset: str = "") -> str:
    """``moment`` (aware) written to the second with ``offset``: ``""`` (UTC without offset,
    as pgutil sends), ``"Z"``, or ``"+HH:MM"`` (the same moment in that zone)."""
    utc = moment.astimezone(timezone.utc).replace(microsecond=0)
    if offset in ("", "Z"):
        return utc.replace(tzinfo=None).isoformat() + offset
    sign = -1 if offset[0] == "-" else 1
    hours, minutes = int(offset[1:3]), int(offset[4:6])
    zone = timezone(sign * timedelta(hours=hours, minutes=minutes))
    return utc.astimezone(zone).replace(tzinfo=None).isoformat() + offset


def future_expiration(days: int = 3650) -> str:
    return (datetime.now(timezone.utc) + timedelta(days=days)).replace(microsecond=0).isoformat()


def _optional(draw: st.DrawFn, body: dict[str, Any], require_expiration: bool) -> dict[str, Any]:
    if draw(st.booleans()):
        body["description"] = draw(texts())
    if require_expiration or draw(st.booleans()):
        body["expiration"] = draw(expirations())
    return body


@st.composite
def system_bodies(draw: st.DrawFn, display_name: Callable[[], str], *,
                  require_expiration: bool = False) -> dict[str, Any]:
    """A valid system key (§2): ``systemApis`` present, no feed/user/permissions."""
    body: dict[str, Any] = {"type": draw(enum_spellings("system")), "displayName": display_name(),
                            "systemApis": draw(system_apis()), "logging": draw(logging_modes())}
    return _optional(draw, body, require_expiration)


@st.composite
def feed_bodies(draw: st.DrawFn, display_name: Callable[[], str], feed: str | None,
                feed_group: str | None, *, require_expiration: bool = False) -> dict[str, Any]:
    """A valid feed key (§2): permissions and exactly one of feed/feedGroup (an existing one)."""
    places = [p for p in (("feed", feed), ("feedGroup", feed_group)) if p[1] is not None]
    where, name = draw(st.sampled_from(places))
    body: dict[str, Any] = {"type": draw(enum_spellings("feed")), "displayName": display_name(),
                            "packagePermissions": draw(package_permissions()), where: name,
                            "logging": draw(logging_modes())}
    if draw(st.booleans()):
        body["systemApis"] = None  # §2 [doc]: absent *or null* for a type other than system
    return _optional(draw, body, require_expiration)


@st.composite
def personal_bodies(draw: st.DrawFn, display_name: Callable[[], str], user: str, *,
                    require_expiration: bool = False) -> dict[str, Any]:
    """A valid personal key (§2): ``user`` names an existing user; nothing else per-type."""
    body: dict[str, Any] = {"type": draw(enum_spellings("personal")), "displayName": display_name(),
                            "user": user, "logging": draw(logging_modes())}
    if draw(st.booleans()):
        body["systemApis"] = None  # §2 [doc]: absent *or null* for a type other than system
    return _optional(draw, body, require_expiration)


def _other_case(name: str) -> str:
    """``name`` in other letter case (§2 [doc]: the exact name); suffixed if it has no letters."""
    swapped = name.swapcase()
    return swapped if swapped != name else name + "-X"


def _without(body: dict[str, Any], name: str) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != name}


def _with(body: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**body, **changes}


#: (the rule broken, the key type of the base body, how to break it). Every rule is [doc]
#: or [client] (§2); [model] rules (``other``, unknown feed names) are checked elsewhere.
MUTATIONS: list[tuple[str, str, Callable[[dict[str, Any], dict[str, str]], dict[str, Any]]]] = [
    ("type is required", "system", lambda b, n: _without(b, "type")),
    ("type must be system, feed or personal", "system", lambda b, n: _with(b, type="superuser")),
    ("logging is required", "system", lambda b, n: _without(b, "logging")),
    ("logging must be none, request, response or both", "system",
     lambda b, n: _with(b, logging="everything")),
    ("systemApis is required for a system key", "system", lambda b, n: _without(b, "systemApis")),
    ("systemApis must not be empty", "system", lambda b, n: _with(b, systemApis=[])),
    ("systemApis: full-control must be alone", "system",
     lambda b, n: _with(b, systemApis=["full-control", "feeds"])),
    ("systemApis values are full-control, feeds, sca, sbom-upload", "system",
     lambda b, n: _with(b, systemApis=["feeds", "packages"])),
    ("packagePermissions must be absent for a system key", "system",
     lambda b, n: _with(b, packagePermissions=["view"])),
    ("feed must be absent for a system key", "system", lambda b, n: _with(b, feed=n["feed"])),
    ("feedGroup must be absent for a system key", "system",
     lambda b, n: _with(b, feedGroup=n["feed_group"])),
    ("user must be absent for a system key", "system", lambda b, n: _with(b, user=n["user"])),
    ("packagePermissions is required for a feed key", "feed",
     lambda b, n: _without(b, "packagePermissions")),
    ("packagePermissions must not be empty", "feed", lambda b, n: _with(b, packagePermissions=[])),
    ("packagePermissions values are view, add, promote, delete", "feed",
     lambda b, n: _with(b, packagePermissions=["view", "overwrite"])),
    ("a feed key needs exactly one of feed/feedGroup (both given)", "feed",
     lambda b, n: _with(b, feed=n["feed"], feedGroup=n["feed_group"])),
    ("a feed key needs exactly one of feed/feedGroup (neither given)", "feed",
     lambda b, n: _without(_without(b, "feed"), "feedGroup")),
    ("systemApis must be absent for a feed key", "feed", lambda b, n: _with(b, systemApis=["feeds"])),
    ("user must be absent for a feed key", "feed", lambda b, n: _with(b, user=n["user"])),
    ("user is required for a personal key", "personal", lambda b, n: _without(b, "user")),
    ("user must name an existing user", "personal", lambda b, n: _with(b, user=n["missing_user"])),
    ("user must match an existing user's exact name", "personal",
     lambda b, n: _with(b, user=_other_case(n["user"]))),
    ("systemApis must be absent for a personal key", "personal",
     lambda b, n: _with(b, systemApis=["full-control"])),
    ("packagePermissions must be absent for a personal key", "personal",
     lambda b, n: _with(b, packagePermissions=["view"])),
    ("feed must be absent for a personal key", "personal", lambda b, n: _with(b, feed=n["feed"])),
    ("feedGroup must be absent for a personal key", "personal",
     lambda b, n: _with(b, feedGroup=n["feed_group"])),
    ("expiration must be an ISO 8601 date-time", "system",
     lambda b, n: _with(b, expiration="not a date")),
    # the rules of every type, broken on the other types too (a server may check them for
    # one type only)
    ("type is required (a feed key's body)", "feed", lambda b, n: _without(b, "type")),
    ("type is required (a personal key's body)", "personal", lambda b, n: _without(b, "type")),
    ("logging is required (a feed key)", "feed", lambda b, n: _without(b, "logging")),
    ("logging is required (a personal key)", "personal", lambda b, n: _without(b, "logging")),
    ("logging must be none, request, response or both (a feed key)", "feed",
     lambda b, n: _with(b, logging="everything")),
    ("logging must be none, request, response or both (a personal key)", "personal",
     lambda b, n: _with(b, logging="all")),
    ("expiration must be an ISO 8601 date-time (a feed key)", "feed",
     lambda b, n: _with(b, expiration="01/08/2031")),
    ("expiration must be a real date (a personal key)", "personal",
     lambda b, n: _with(b, expiration="2031-02-30T00:00:00")),
    ("expiration must be a real date", "system",
     lambda b, n: _with(b, expiration="2031-13-45T25:61:00")),
]


@st.composite
def invalid_bodies(draw: st.DrawFn, display_name: Callable[[], str], names: dict[str, str], *,
                   rule: str | None = None, require_expiration: bool = False) -> tuple[str, dict[str, Any]]:
    """``(rule, body)``: a valid body of some type with exactly one §2 rule broken.

    ``names`` gives ``feed``, ``feed_group``, ``user`` (existing where the target told
    them, invented otherwise: the body is invalid either way) and ``missing_user``;
    ``rule`` picks one rule of :data:`MUTATIONS` instead of any."""
    choices = [m for m in MUTATIONS if rule is None or m[0] == rule]
    if not choices:
        raise ValueError(f"no such rule: {rule!r}")
    rule, kind, mutate = draw(st.sampled_from(choices))
    if kind == "system":
        base = draw(system_bodies(display_name, require_expiration=require_expiration))
    elif kind == "feed":
        base = draw(feed_bodies(display_name, names["feed"], names["feed_group"],
                                require_expiration=require_expiration))
    else:
        base = draw(personal_bodies(display_name, names["user"], require_expiration=require_expiration))
    return rule, mutate(base, names)
