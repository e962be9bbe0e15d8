"""Feed rules and package state (proget-feeds spec §1.2-§1.3), used by the backend only.

The permission table lives here, in one place: :func:`granted` says what a principal may
do on a feed, :data:`NEEDS` what each operation requires. Knows nothing of HTTP; the
backend calls it under its lock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from .errors import Conflict, ProGetError
from .models import FEED_PRIVILEGES, ApiKey, Feed, InstanceSettings, Package, Principal, User

__all__ = ["MAX_STORED_BYTES", "NEEDS", "OPERATIONS", "FeedStore", "Grant", "granted"]

#: What each operation on a feed needs (proget-feeds spec §1.2, from the Common Packages
#: API table [doc]: "View/Download is required for all endpoints"): publishing needs
#: ``view`` and ``add``; overwriting an existing version also ``delete`` (the UI's
#: "Overwrite/Delete"); deleting needs ``view`` and ``delete``.
NEEDS: dict[str, frozenset[str]] = {
    "read": frozenset({"view"}),
    "publish": frozenset({"view", "add"}),
    "overwrite": frozenset({"view", "add", "delete"}),
    "delete": frozenset({"view", "delete"}),
    "promote": frozenset({"view", "promote"}),
}
OPERATIONS = tuple(NEEDS)
ALL = frozenset(FEED_PRIVILEGES)

#: Every package file held, all feeds together, is at most this many bytes: a bound on
#: memory whatever clients upload (each upload is also bounded by ``max_body``).
MAX_STORED_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class Grant:
    """What a principal may do on one feed, and why (a secret-free reason for refusals)."""

    privileges: frozenset[str]
    reason: str = ""


def granted(principal: Principal, feed: Feed, key: ApiKey | None, user: User | None,
            settings: InstanceSettings) -> Grant:
    """The permission table of proget-feeds spec §1.2.

    - anonymous: the feed's ``anonymous`` setting (§1.3 [model]); everything when the
      instance lets Anonymous administer (``anonymous_admin``);
    - a system key: everything with ``full-control`` or ``feeds`` [doc], nothing with only
      ``sca`` / ``sbom-upload`` [model];
    - a feed key: its ``packagePermissions`` on its feed, or on every feed of its feed group
      [doc; group coverage model]; nothing elsewhere [model];
    - a personal key, a pseudo-key, a user's login: the user's privileges (an admin: all);
    - a legacy ``other`` key: its user's privileges, or everything without a user (the
      pre-2024 "Feed API key" with no user, seed page) [model].
    """
    if principal.kind == "anonymous":
        if settings.anonymous_admin:
            return Grant(ALL)
        return Grant(frozenset(feed.anonymous), "anonymous access")
    if principal.kind in ("pseudo-key", "user") or (key is not None and key.type == "personal"):
        if user is None:
            return Grant(frozenset(), "its user no longer exists")
        return Grant(user.feed_privileges(feed.name), f"user {user.name}")
    if key is None:
        return Grant(frozenset(), "the API key no longer exists")
    if key.type == "system":
        apis = set(key.system_apis or ())
        if key.full_control or "feeds" in apis:
            return Grant(ALL)
        return Grant(frozenset(), f"system API key #{key.id} lacks the feeds API")
    if key.type == "feed":
        in_scope = key.feed == feed.name or (key.feed_group is not None and key.feed_group in feed.groups)
        if not in_scope:
            scope = f"feed {key.feed}" if key.feed else f"feed group {key.feed_group}"
            return Grant(frozenset(), f"feed API key #{key.id} is for {scope}, not feed {feed.name}")
        return Grant(frozenset(key.package_permissions or ()), f"feed API key #{key.id}")
    if user is not None:
        return Grant(user.feed_privileges(feed.name), f"user {user.name}")
    return Grant(ALL)


def refusal_text(operation: str, feed: Feed, grant: Grant) -> str:
    """Why ``grant`` does not allow ``operation`` on ``feed`` (no secret in it)."""
    missing = sorted(NEEDS[operation] - grant.privileges)
    what = {"read": "view or download packages", "publish": "publish packages",
            "overwrite": "overwrite an existing package version", "delete": "delete packages",
            "promote": "promote packages"}[operation]
    details = [grant.reason] if grant.reason else []
    if grant.privileges or not grant.reason:
        details.append(f"missing: {', '.join(missing)}")
    why = f" ({'; '.join(details)})" if details else ""
    return f"Not permitted to {what} in feed {feed.name}{why}."


class FeedStore:
    """Packages by feed, each by its ``ident``. Not thread-safe: the backend locks."""

    def __init__(self) -> None:
        self.packages: dict[str, dict[tuple[str, ...], Package]] = {}
        self.stored_bytes = 0

    def copy(self) -> FeedStore:
        """An independent copy (packages are immutable, so they are shared)."""
        other = FeedStore()
        other.packages = {feed: dict(items) for feed, items in self.packages.items()}
        other.stored_bytes = self.stored_bytes
        return other

    @classmethod
    def of(cls, packages: Iterable[Package]) -> FeedStore:
        store = cls()
        for package in packages:
            store._put(package)
        return store

    def all(self) -> list[Package]:
        return [p for items in self.packages.values() for p in items.values()]

    def exists(self, package: Package) -> bool:
        return package.ident in self.packages.get(package.feed, {})

    def add(self, package: Package, may_overwrite: Callable[[], None]) -> None:
        """Store ``package``; an existing one with its ``ident`` is replaced only when
        ``may_overwrite`` returns (it raises to refuse)."""
        old = self.packages.get(package.feed, {}).get(package.ident)
        if old is not None:
            may_overwrite()
        growth = len(package.content) - (len(old.content) if old else 0)
        if self.stored_bytes + growth > MAX_STORED_BYTES:
            raise ProGetError(f"The mock's package storage is full ({MAX_STORED_BYTES} bytes in all); "
                              f"delete packages or reset the server.", status=413)
        self._put(package)

    def _put(self, package: Package) -> None:
        items = self.packages.setdefault(package.feed, {})
        old = items.get(package.ident)
        self.stored_bytes += len(package.content) - (len(old.content) if old else 0)
        items[package.ident] = package

    def find(self, feed: str, name_key: str | None = None) -> list[Package]:
        """Packages of ``feed`` (with that ``name_key``), oldest first."""
        return [p for p in self.packages.get(feed, {}).values()
                if name_key is None or p.name_key == name_key]

    def file(self, feed: str, filename: str) -> Package | None:
        return next((p for p in self.packages.get(feed, {}).values() if p.filename == filename), None)

    def remove(self, feed: str, matches: Callable[[Package], bool]) -> list[Package]:
        items = self.packages.get(feed, {})
        gone = [ident for ident, p in items.items() if matches(p)]
        removed = [items.pop(ident) for ident in gone]
        self.stored_bytes -= sum(len(p.content) for p in removed)
        return removed

    def drop_feed(self, feed: str) -> None:
        self.remove(feed, lambda p: True)
        self.packages.pop(feed, None)


def conflict(package: Package) -> Conflict:
    return Conflict(f"{package.name} {package.version} ({package.filename}) already exists in feed "
                    f"{package.feed} and may not be overwritten.")
