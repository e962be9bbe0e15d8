"""Plain data: what the mock stores and the settings of the emulated instance.

Nothing here knows about HTTP or JSON. Secrets (key text, passwords) are excluded
from every ``repr`` so that a stray log line or assertion message cannot leak them.
"""

from __future__ import annotations

import hashlib
import re
from functools import cached_property
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any, Literal

__all__ = [
    "API_KEY_TYPES",
    "CREATABLE_TYPES",
    "DEFAULT_ANONYMOUS",
    "EDITIONS",
    "FEED_PRIVILEGES",
    "FEED_TYPES",
    "LOGGING_MODES",
    "PACKAGE_PERMISSIONS",
    "SYSTEM_APIS",
    "ApiKey",
    "Credential",
    "Feed",
    "FeedGroup",
    "InstanceSettings",
    "NewApiKey",
    "Package",
    "Principal",
    "ProGetVersion",
    "SeedState",
    "UserSeed",
    "User",
    "check_privileges",
    "digest",
    "fold_case",
]

#: ``ApiKeyInfo.type`` values, spec §2 (``other`` is legacy and cannot be created).
API_KEY_TYPES = ("system", "feed", "personal", "other")
CREATABLE_TYPES = ("system", "feed", "personal")
#: ``ApiKeyInfo.logging`` values, spec §2.
LOGGING_MODES = ("none", "request", "response", "both")
#: ``systemApis`` values, spec §2: ``full-control`` alone, or a combination of the rest.
SYSTEM_APIS = ("full-control", "feeds", "sca", "sbom-upload")
LIMITED_SYSTEM_APIS = ("feeds", "sca", "sbom-upload")
_LIMITED_SET = frozenset(LIMITED_SYSTEM_APIS)
#: ``packagePermissions`` values, spec §2.
PACKAGE_PERMISSIONS = ("view", "add", "promote", "delete")
#: Feed types with feed endpoints (proget-feeds spec §2-§5).
FEED_TYPES = ("npm", "pypi", "nuget", "universal")
#: What a principal may do on a feed (proget-feeds spec §1.2): the ``packagePermissions``
#: vocabulary, also used for users' privileges and anonymous access.
FEED_PRIVILEGES = PACKAGE_PERMISSIONS
#: Anonymous access a feed gets unless configured otherwise (proget-feeds spec §1.3 [model]).
DEFAULT_ANONYMOUS = ("view",)
#: Editions, spec §5-§6, lowest first.
EDITIONS = ("Free", "Basic", "Enterprise")

KeyType = Literal["system", "feed", "personal", "other"]


def digest(secret: str) -> bytes:
    """SHA-256 of a secret's UTF-8 bytes: how keys and passwords are indexed and compared.

    ``surrogatepass`` keeps a lone surrogate (possible in JSON text) from raising.
    """
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).digest()


def fold_case(text: str) -> str:
    """``text`` as .NET's ordinal case-insensitive comparison sees it (spec §2 [model]:
    names and enum values match "as .NET web defaults"): each character upper-cased by
    its own simple mapping, one that would become several characters left as it is. So
    ``ı`` matches ``i`` and ``ſ`` matches ``s``, as in .NET, and the Kelvin sign does not
    match ``k`` (``str.lower`` would fold it to ``k``)."""
    if text.isascii():
        return text.upper()
    return "".join(upper if len(upper := c.upper()) == 1 else c for c in text)


_VERSION_RE = re.compile(r"^\s*(\d+)\.(\d+)(?:\.(\d+))?(?:\.(\d+))?\s*$")


@dataclass(frozen=True, order=True)
class ProGetVersion:
    """A ProGet release, e.g. 2024.3. Its wire form is .NET's ``24.0.3`` (spec §6)."""

    year: int
    release: int

    @classmethod
    def parse(cls, text: str) -> ProGetVersion:
        """Read ``2024.3`` (the marketing form) or ``24.0.3`` (the header form)."""
        match = _VERSION_RE.match(str(text))
        if not match:
            raise ValueError(f"not a ProGet version: {text!r} (expected e.g. 2025.10)")
        first, second, third, _ = match.groups()
        if third is None:  # 2024.3
            year, release = int(first), int(second)
        else:  # 24.0.3[.build]
            year, release = 2000 + int(first) if int(first) < 100 else int(first), int(third)
        if year < 2000 or year > 2999:
            raise ValueError(f"not a ProGet version: {text!r} (year {year} out of range)")
        return cls(year, release)

    @property
    def header(self) -> str:
        """The ``X-ProGet-Version`` value: ``24.0.3`` for 2024.3."""
        return f"{self.year % 100}.0.{self.release}"

    def __str__(self) -> str:
        return f"{self.year}.{self.release}"


#: The first release with the api-keys endpoints (spec §1).
API_KEYS_SINCE = ProGetVersion(2024, 3)


@dataclass(frozen=True)
class InstanceSettings:
    """The emulated instance's settings (spec §5, §6). Immutable: change with ``replace``."""

    version: str = "2025.10"
    edition: str = "Enterprise"
    hash_keys: bool = False
    pseudo_keys: bool = True
    require_expiration: bool = False
    personal_keys: bool = True
    custom_keys: bool = True
    anonymous_admin: bool = False
    create_response: Literal["json", "text"] = "json"

    def __post_init__(self) -> None:
        if not isinstance(self.version, str):  # 2025.10 as a number would read as 2025.1
            raise ValueError(f"version must be a string such as \"2025.10\", not {self.version!r}")
        ProGetVersion.parse(self.version)
        if self.edition not in EDITIONS:
            raise ValueError(f"edition must be one of {', '.join(EDITIONS)}, not {self.edition!r}")
        if self.create_response not in ("json", "text"):
            raise ValueError(f"create_response must be 'json' or 'text', not {self.create_response!r}")
        for name in ("hash_keys", "pseudo_keys", "require_expiration", "personal_keys",
                     "custom_keys", "anonymous_admin"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be true or false, not {getattr(self, name)!r}")

    @cached_property
    def parsed_version(self) -> ProGetVersion:
        """``version`` read (once: the settings are immutable)."""
        return ProGetVersion.parse(self.version)

    @cached_property
    def version_header(self) -> str:
        """The ``X-ProGet-Version`` value (spec §6)."""
        return self.parsed_version.header

    @cached_property
    def has_api_keys_endpoints(self) -> bool:
        """Whether this version has the api-keys endpoints (2024.3 and later, spec §1)."""
        return self.parsed_version >= API_KEYS_SINCE

    def updated(self, **changes: object) -> InstanceSettings:
        """A copy with ``changes`` applied and validated."""
        unknown = set(changes) - set(self.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown instance setting(s): {', '.join(sorted(unknown))}")
        return replace(self, **changes)  # type: ignore[arg-type]

    def as_dict(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass
class User:
    """A ProGet user. Only a digest of the password is kept.

    ``privileges`` maps a feed name (or ``*``: every feed) to what the user may do there
    (proget-feeds spec §1.2); an admin may do everything everywhere.
    """

    name: str
    password_digest: bytes | None = field(default=None, repr=False)
    admin: bool = False
    privileges: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def feed_privileges(self, feed: str) -> frozenset[str]:
        """What this user may do on ``feed``."""
        if self.admin:
            return frozenset(FEED_PRIVILEGES)
        return frozenset(self.privileges.get(feed, ())) | frozenset(self.privileges.get("*", ()))


def check_privileges(value: object, what: str) -> tuple[str, ...]:
    """``value`` as a tuple of feed privileges, or :class:`ValueError` saying why."""
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise ValueError(f"{what} must be a list of privileges ({', '.join(FEED_PRIVILEGES)}), not {value!r}")
    unknown = [v for v in value if v not in FEED_PRIVILEGES]
    if unknown:
        raise ValueError(f"{what}: unknown privilege {unknown[0]!r} (known: {', '.join(FEED_PRIVILEGES)})")
    return tuple(dict.fromkeys(value))


@dataclass(frozen=True)
class Feed:
    """A feed. ``type`` is ``None`` for a feed with no feed endpoints (only a name that
    keys can be scoped to); ``groups`` are the feed groups it belongs to; ``anonymous``
    is what a request without a credential may do (proget-feeds spec §1.3)."""

    name: str
    type: str | None = None
    groups: tuple[str, ...] = ()
    anonymous: tuple[str, ...] = DEFAULT_ANONYMOUS

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"a feed name must be a non-empty string, not {self.name!r}")
        if self.type is not None and self.type not in FEED_TYPES:
            raise ValueError(f"a feed type must be one of {', '.join(FEED_TYPES)}, not {self.type!r}")
        check_privileges(self.anonymous, "anonymous")


@dataclass(frozen=True)
class FeedGroup:
    name: str


@dataclass(frozen=True)
class NewApiKey:
    """A validated ``ApiKeyInfo`` create request (spec §2), before domain checks."""

    type: str
    logging: str = "none"
    key: str | None = field(default=None, repr=False)
    display_name: str | None = None
    description: str | None = None
    system_apis: tuple[str, ...] | None = None
    package_permissions: tuple[str, ...] | None = None
    feed: str | None = None
    feed_group: str | None = None
    expiration: datetime | None = None
    user: str | None = None


@dataclass(slots=True)
class ApiKey:
    """A stored API key. ``key`` is the text, kept only when the instance does not hash keys."""

    id: int
    type: str
    digest: bytes = field(repr=False)
    logging: str = "none"
    key: str | None = field(default=None, repr=False)
    display_name: str | None = None
    description: str | None = None
    system_apis: tuple[str, ...] | None = None
    package_permissions: tuple[str, ...] | None = None
    feed: str | None = None
    feed_group: str | None = None
    expiration: datetime | None = None
    user: str | None = None

    def expired(self, now: datetime) -> bool:
        """Past its expiration (spec §2). A time without offset is read as UTC."""
        if self.expiration is None:
            return False
        expiration = self.expiration
        if expiration.tzinfo is None:
            expiration = expiration.replace(tzinfo=timezone.utc)
        return expiration <= now

    def copied(self) -> ApiKey:
        """A shallow copy (what the backend hands out, so that no caller changes what it
        stores); the fields are immutable values, so shallow is whole."""
        return ApiKey(self.id, self.type, self.digest, self.logging, self.key, self.display_name,
                      self.description, self.system_apis, self.package_permissions, self.feed,
                      self.feed_group, self.expiration, self.user)

    @property
    def full_control(self) -> bool:
        """A system key that may use every API (spec §4)."""
        apis = self.system_apis
        if self.type != "system" or not apis:
            return False
        return "full-control" in apis or set(apis) >= _LIMITED_SET


@dataclass(frozen=True)
class Package:
    """One stored package file in a feed (proget-feeds spec §2-§5).

    ``ident`` is what makes two uploads "the same package" for the protocol (npm: name
    and version; PyPI: the file name; ...); ``name_key`` is the name as looked up
    (normalized by the protocol); ``metadata`` is protocol-specific and JSON-ready.
    """

    feed: str
    name: str
    version: str
    filename: str
    content: bytes = field(repr=False)
    ident: tuple[str, ...] = ()
    name_key: str = ""
    group: str = ""
    metadata: dict[str, Any] = field(default_factory=dict, repr=False)
    published: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    @property
    def sha1(self) -> str:
        return hashlib.sha1(self.content).hexdigest()  # noqa: S324 - npm's shasum, not security

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()

    @property
    def sha512(self) -> bytes:
        return hashlib.sha512(self.content).digest()


#: A seeded user: name, password, admin, and optionally its feed privileges.
UserSeed = tuple[str, str | None, bool] | tuple[str, str | None, bool, dict[str, tuple[str, ...]]]


@dataclass
class SeedState:
    """What an instance holds at start and after ``reset()``.

    A feed is a name (no type: no feed endpoints) or a :class:`Feed`.
    """

    users: list[UserSeed] = field(default_factory=list)
    feeds: list[str | Feed] = field(default_factory=list)
    feed_groups: list[str] = field(default_factory=list)
    api_keys: list[NewApiKey] = field(default_factory=list)

    def __repr__(self) -> str:  # passwords and keys stay out of reprs
        return (f"SeedState(users={[u[0] for u in self.users]}, feeds={self.feed_names}, "
                f"feed_groups={self.feed_groups}, api_keys={len(self.api_keys)})")

    @classmethod
    def default(cls) -> SeedState:
        """A fresh ProGet as the vendor's examples assume it (issue: every example works).

        ``Admin``/``Admin`` is an administrator as on a fresh install; ``johnsmith`` and
        ``MyNpmFeed``/``MyFeedGroup`` are the names the Create ApiKey page uses.
        """
        return cls(
            users=[("Admin", "Admin", True), ("johnsmith", None, False)],
            feeds=[Feed("MyNpmFeed", "npm")],
            feed_groups=["MyFeedGroup"],
        )

    @property
    def feed_names(self) -> list[str]:
        return [f if isinstance(f, str) else f.name for f in self.feeds]


#: Where a credential was found (spec §3), in precedence order.
CARRIERS = ("header", "query", "form", "json")


@dataclass(frozen=True, slots=True)
class Credential:
    """A key (or ``user:password`` pseudo-key) and the carrier it came in."""

    carrier: str
    value: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a request authenticated as.

    ``kind`` is ``api-key``, ``pseudo-key``, ``user`` (a Basic login on a feed endpoint)
    or ``anonymous``. ``admin`` means "may manage any API key" (spec §4); ``user`` is the
    user acted for, if any.
    """

    kind: str
    carrier: str | None = None
    key_id: int | None = None
    key_type: str | None = None
    user: str | None = None
    admin: bool = False
    logging: str = "none"

    def describe(self) -> str:
        """A secret-free label for the journal and messages."""
        if self.kind == "api-key":
            owner = f" of user {self.user}" if self.user else ""
            return f"{self.key_type} key #{self.key_id}{owner}"
        if self.kind == "pseudo-key":
            return f"user {self.user} (pseudo-key)"
        if self.kind == "user":  # a Basic user:password login on a feed endpoint
            return f"user {self.user}"
        return "anonymous"
