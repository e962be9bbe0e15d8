"""All state of the mock and the domain rules of spec §2-§5.

Thread-safe: every public method takes one lock, so each state change is atomic. Knows
nothing of HTTP, Flask or marshmallow; it raises :class:`~mockproget.errors.ProGetError`.
"""

from __future__ import annotations

import copy
import hmac
import random
import secrets
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone

from .errors import Forbidden, InvalidInput, NotFound, Unauthorized
from .feedstore import NEEDS, FeedStore, conflict, granted, refusal_text
from .masking import Masker
from .models import (
    DEFAULT_ANONYMOUS,
    ApiKey,
    Credential,
    Feed,
    FeedGroup,
    InstanceSettings,
    NewApiKey,
    Package,
    Principal,
    SeedState,
    User,
    digest,
)

__all__ = ["Backend", "Snapshot", "StateDump"]


@dataclass(frozen=True)
class Snapshot:
    """An opaque, complete copy of a backend's state (secrets included, never rendered)."""

    _state: dict[str, object] = field(repr=False)


class Backend:
    """Users, feeds, feed groups and API keys of one emulated ProGet instance.

    :param settings: instance settings (spec §5); defaults to a current Enterprise instance.
    :param state: what :meth:`reset` returns to; defaults to :meth:`SeedState.default`.
    :param seed: makes generated keys deterministic (ids always are).
    """

    def __init__(
        self,
        settings: InstanceSettings | None = None,
        state: SeedState | None = None,
        *,
        seed: int | None = None,
    ) -> None:
        self._lock = threading.RLock()
        #: Every live secret (key texts, passwords, the control token), for masking.
        self.masker = Masker()
        self._initial_settings = settings or InstanceSettings()
        self._seed_state = state if state is not None else SeedState.default()
        self.seed = seed
        self.reset()

    # -- lifecycle ---------------------------------------------------------------------

    def reset(self) -> None:
        """Back to the seeded state and the initial settings; ids start again at 1."""
        with self._lock:
            self.settings = self._initial_settings
            self._users: dict[str, User] = {}
            self._password_digests: frozenset[bytes] | None = None
            # the texts of live secrets, kept only to mask them (never rendered)
            self._key_texts: dict[bytes, str] = {}
            self._passwords: dict[str, str] = {}
            self._bulk = True
            self._feeds: dict[str, Feed] = {}
            self._feed_groups: dict[str, FeedGroup] = {}
            self._keys: dict[int, ApiKey] = {}
            self._by_digest: dict[bytes, int] = {}
            # each user's personal keys, by id in creation order: a user's list costs what
            # it returns (kept with ``_keys`` under the lock, see ``_index_keys_locked``)
            self._personal: dict[str, dict[int, None]] = {}
            self._next_id = 1
            self._packages = FeedStore()
            self._rng = random.Random(self.seed) if self.seed is not None else None
            for seeded in self._seed_state.users:
                name, password, admin = seeded[:3]
                privileges = seeded[3] if len(seeded) > 3 else None
                self.add_user(name, password, admin=admin, privileges=privileges)
            for feed in self._seed_state.feeds:
                if isinstance(feed, Feed):
                    self.add_feed(feed.name, feed.type, groups=feed.groups, anonymous=feed.anonymous)
                else:
                    self.add_feed(feed)
            for name in self._seed_state.feed_groups:
                self.add_feed_group(name)
            for new in self._seed_state.api_keys:
                self.add_api_key(new)
            self._bulk = False
            self._sync_masker()

    def snapshot(self) -> Snapshot:
        """A copy of the whole state, for :meth:`restore`."""
        with self._lock:
            return Snapshot(copy.deepcopy({
                "settings": self.settings, "users": self._users, "feeds": self._feeds,
                "feed_groups": self._feed_groups, "keys": self._keys,
                "by_digest": self._by_digest, "next_id": self._next_id,
                "key_texts": self._key_texts, "passwords": self._passwords,
                "rng": self._rng.getstate() if self._rng else None,
                "packages": self._packages.copy(),
            }))

    def restore(self, snapshot: Snapshot) -> None:
        """Put back exactly the state :meth:`snapshot` copied."""
        state = copy.deepcopy(snapshot._state)
        with self._lock:
            self.settings = state["settings"]  # type: ignore[assignment]
            self._users = state["users"]  # type: ignore[assignment]
            self._password_digests = None
            self._feeds = state["feeds"]  # type: ignore[assignment]
            self._feed_groups = state["feed_groups"]  # type: ignore[assignment]
            self._keys = state["keys"]  # type: ignore[assignment]
            self._by_digest = state["by_digest"]  # type: ignore[assignment]
            self._next_id = state["next_id"]  # type: ignore[assignment]
            self._key_texts = state["key_texts"]  # type: ignore[assignment]
            self._passwords = state["passwords"]  # type: ignore[assignment]
            self._packages = state["packages"]  # type: ignore[assignment]
            self._index_keys_locked()
            self._sync_masker()
            if state["rng"] is not None:
                self._rng = random.Random()
                self._rng.setstate(state["rng"])  # type: ignore[arg-type]
            else:
                self._rng = None

    def update_settings(self, **changes: object) -> InstanceSettings:
        """Change instance settings at run time (until the next :meth:`reset`)."""
        with self._lock:
            self._apply_settings(self.settings.updated(**changes))
            return self.settings

    @contextmanager
    def settings_changed(self, **changes: object) -> Iterator[InstanceSettings]:
        """Apply ``changes`` for the ``with`` block, then put the previous settings back.

        Only the settings come back: keys created or deleted in the block stay so. Key
        texts that ``hash_keys=True`` made the block forget are listed again afterwards.
        """
        with self._lock:
            previous = self.settings
            texts = {key.id: key.key for key in self._keys.values() if key.key is not None}
            self._apply_settings(self.settings.updated(**changes))
        try:
            yield self.settings
        finally:
            with self._lock:
                self.settings = previous
                if not previous.hash_keys:  # texts forgotten in the block come back
                    for key_id, text in texts.items():
                        if key_id in self._keys:
                            self._keys[key_id].key = text

    def _apply_settings(self, settings: InstanceSettings) -> None:
        """Switching key hashing on forgets every stored key text (spec §5): only digests stay."""
        if settings.hash_keys and not self.settings.hash_keys:
            for key in self._keys.values():
                key.key = None
        self.settings = settings

    # -- seeding -------------------------------------------------------------------------

    def add_user(self, name: str, password: str | None = None, *, admin: bool = False,
                 privileges: dict[str, tuple[str, ...]] | None = None) -> User:
        """Add (or replace) a user; ``password`` enables pseudo-keys for it; ``privileges``
        maps a feed name (or ``*``) to what the user may do there (proget-feeds §1.2)."""
        if not name or ":" in name:
            raise ValueError(f"a user name must be non-empty and without ':': {name!r}")
        user = User(name, digest(password) if password is not None else None, admin,
                    dict(privileges or {}))
        with self._lock:
            self._users[name] = user
            self._password_digests = None
            old = self._passwords.pop(name, None)
            if password:
                self._passwords[name] = password
            if not self._bulk:
                self.masker.discard(old, name)
                self.masker.add(password, name)
        return user

    def add_feed(self, name: str, type: str | None = None, *, groups: Iterable[str] = (),
                 anonymous: Iterable[str] = DEFAULT_ANONYMOUS) -> Feed:
        """Add a feed (a name alone keeps an existing feed as it is). ``type`` gives it
        feed endpoints; ``groups`` (created when missing) and ``anonymous`` access are
        proget-feeds spec §1.2-§1.3."""
        groups, anonymous = tuple(groups), tuple(anonymous)
        feed = Feed(name, type, groups, anonymous)  # validates
        with self._lock:
            if name in self._feeds and feed == Feed(name):
                return self._feeds[name]
            for group in groups:
                self.add_feed_group(group)
            self._feeds[name] = feed
            return feed

    def add_feed_group(self, name: str) -> FeedGroup:
        if not name:
            raise ValueError("a feed group name must be non-empty")
        with self._lock:
            return self._feed_groups.setdefault(name, FeedGroup(name))

    def add_api_key(self, new: NewApiKey) -> tuple[ApiKey, str]:
        """Store a key with no permission check (seeding). Returns it and its text.

        Domain rules still hold except the instance settings: a seeded key may carry its
        text even on an instance that hashes keys (only the digest is kept), and the admin
        system key exists on a Free edition too.
        """
        with self._lock:
            self._check_new_key(new, seeding=True)
            return self._store(new)

    # -- queries -------------------------------------------------------------------------

    @property
    def users(self) -> list[User]:
        with self._lock:
            return list(self._users.values())

    @property
    def feeds(self) -> list[str]:
        with self._lock:
            return list(self._feeds)

    @property
    def feed_details(self) -> list[Feed]:
        """Every feed with its type, groups and anonymous access."""
        with self._lock:
            return list(self._feeds.values())

    @property
    def packages(self) -> list[Package]:
        """Every stored package file, all feeds."""
        with self._lock:
            return self._packages.all()

    @property
    def feed_groups(self) -> list[str]:
        with self._lock:
            return list(self._feed_groups)

    @property
    def api_keys(self) -> list[ApiKey]:
        """Every key, by id (copies: changing them changes nothing)."""
        with self._lock:
            return [k.copied() for k in self._keys.values()]

    def get_api_key(self, key_id: int) -> ApiKey | None:
        with self._lock:
            key = self._keys.get(key_id)
            return key.copied() if key else None

    # -- spec §3: authentication ---------------------------------------------------------

    def authenticate(self, credential: Credential | None, *, now: datetime | None = None,
                     manage_keys: bool = False) -> Principal:
        """Resolve a credential to a principal, or raise :class:`Forbidden` (spec §3).

        With ``manage_keys``, also refuse a principal that may not use the api-keys
        endpoints at all (spec §4: feed keys, limited system keys, ...).

        Keys are found by the SHA-256 of their text (a dict lookup: no scan, no
        character-by-character comparison of secrets); passwords are compared as
        digests with :func:`hmac.compare_digest`.
        """
        now = now or datetime.now(timezone.utc)
        with self._lock:
            principal = self._resolve(credential, now)
            if manage_keys:
                self._require_key_management(principal)
            return principal

    def _resolve(self, credential: Credential | None, now: datetime) -> Principal:
        settings = self.settings
        if credential is None:
            if settings.anonymous_admin:
                return Principal(kind="anonymous", admin=True)
            raise Forbidden("An API key is required: pass it in the X-ApiKey header, "
                            "the key query string or form value, or the API_Key JSON property.")
        wanted = digest(credential.value)
        key_id = self._by_digest.get(wanted)
        if key_id is not None:
            key = self._keys[key_id]
            if key.expired(now):
                raise Forbidden(f"The API key (ID={key.id}) has expired.")
            user = self._users.get(key.user) if key.user else None
            admin = key.full_control or (key.type == "personal" and bool(user and user.admin))
            return Principal(kind="api-key", carrier=credential.carrier, key_id=key.id,
                             key_type=key.type, user=key.user, admin=admin,
                             logging=key.logging)
        if settings.pseudo_keys and ":" in credential.value:
            name, _, password = credential.value.partition(":")
            user = self._users.get(name)
            if user is not None and user.password_digest is not None and hmac.compare_digest(
                    user.password_digest, digest(password)):
                return Principal(kind="pseudo-key", carrier=credential.carrier,
                                 user=user.name, admin=user.admin)
        raise Forbidden("The API key is not valid.")

    def _require_key_management(self, principal: Principal) -> None:
        """Spec §4: who may use the api-keys endpoints at all."""
        if principal.admin:
            return
        if principal.kind == "api-key" and principal.key_type in ("feed", "system", "other"):
            raise Forbidden(f"This {principal.key_type} API key is not authorized to manage API keys.")
        if principal.user is None or not self.settings.personal_keys:
            raise Forbidden("Not authorized to manage API keys.")
        # a non-admin user: only its own personal keys (checked per action)

    # -- spec §2, §4, §5: create, list, delete ------------------------------------------

    def create_api_key(self, principal: Principal, new: NewApiKey) -> tuple[ApiKey, str]:
        """Create a key for ``principal``; returns it and its text (shown once)."""
        # an unseeded key's text is drawn before the lock is taken: os.urandom lets other
        # threads run, and none should wait on the lock meanwhile (a seeded one is drawn
        # under the lock, so that the sequence of keys is the seed's whatever is refused)
        drawn = secrets.token_hex(20) if self._rng is None and new.key is None else None
        with self._lock:
            self._require_key_management(principal)
            if not principal.admin and (new.type != "personal" or new.user != principal.user):
                raise Forbidden(f"User {principal.user} may only create personal API keys for itself.")
            self._check_new_key(new)
            return self._store(new, drawn)

    def list_api_keys(self, principal: Principal) -> list[ApiKey]:
        """Every key for an admin; a user's own personal keys otherwise (spec §4)."""
        with self._lock:
            self._require_key_management(principal)
            if principal.admin:
                return [k.copied() for k in self._keys.values()]
            own = self._personal.get(principal.user, {}) if principal.user is not None else {}
            return [self._keys[key_id].copied() for key_id in own]

    def delete_api_key(self, principal: Principal, key_id: int) -> None:
        with self._lock:
            self._require_key_management(principal)
            key = self._keys.get(key_id)
            if key is not None and not principal.admin and not (
                    key.type == "personal" and key.user == principal.user):
                raise Forbidden(f"Not authorized to delete the API key with ID={key_id}.")
            if key is None:
                raise NotFound(f"There is no API key with ID={key_id}.")
            del self._keys[key_id]
            del self._by_digest[key.digest]
            if key.type == "personal" and key.user is not None:
                own = self._personal.get(key.user, {})
                own.pop(key_id, None)
                if not own:
                    self._personal.pop(key.user, None)
            self.masker.discard(self._key_texts.pop(key.digest, None))

    # -- proget-feeds spec §1: feed endpoints ------------------------------------------

    def authenticate_feed(self, credential: Credential | None, *, login: bool = False,
                          now: datetime | None = None) -> Principal:
        """A feed credential to a principal (proget-feeds spec §1.1), or :class:`Forbidden`.

        ``None`` is the anonymous principal (what it may do is the feed's business). A key
        (or a ``user:password`` pseudo-key) is judged exactly as on the api-keys endpoints;
        with ``login``, ``credential.value`` is a Basic ``user:password`` login, which
        works whether or not pseudo-keys are enabled [model].
        """
        if credential is None:
            return Principal(kind="anonymous", admin=self.settings.anonymous_admin)
        now = now or datetime.now(timezone.utc)
        with self._lock:
            if login:
                name, _, password = credential.value.partition(":")
                user = self._users.get(name)
                if user is not None and user.password_digest is not None and hmac.compare_digest(
                        user.password_digest, digest(password)):
                    return Principal(kind="user", carrier=credential.carrier, user=user.name,
                                     admin=user.admin)
                raise Forbidden("The user name or password is not valid.")
            return self._resolve(credential, now)

    def feed_type(self, name: str) -> str:
        """The type of the feed named ``name``; :class:`NotFound` for no feed or one without
        feed endpoints."""
        with self._lock:
            feed = self._feeds.get(name)
            if feed is None or feed.type is None:
                raise NotFound(f"There is no feed named {name} with feed endpoints.")
            return feed.type

    def get_feed(self, name: str, feed_type: str) -> Feed:
        """The feed named ``name`` of that type, or :class:`NotFound`."""
        with self._lock:
            feed = self._feeds.get(name)
            if feed is None or feed.type != feed_type:
                raise NotFound(f"There is no {feed_type} feed named {name}.")
            return feed

    def feed_access(self, principal: Principal, feed: str, feed_type: str, operation: str) -> Feed:
        """The feed, if ``principal`` may do ``operation`` there (proget-feeds spec §1.2).

        :raises NotFound: no feed of that name and type.
        :raises Unauthorized: anonymous, and Anonymous may not (§1.4: a challenge).
        :raises Forbidden: an authenticated principal that may not (§1.4).
        """
        with self._lock:
            return self._feed_access(principal, feed, feed_type, operation)

    def _feed_access(self, principal: Principal, name: str, feed_type: str, operation: str) -> Feed:
        feed = self.get_feed(name, feed_type)
        key = self._keys.get(principal.key_id) if principal.key_id is not None else None
        if principal.kind == "api-key" and key is None:
            raise Forbidden("The API key is not valid.")  # deleted since it authenticated
        user = self._users.get(principal.user) if principal.user else None
        grant = granted(principal, feed, key, user, self.settings)
        if NEEDS[operation] <= grant.privileges:
            return feed
        text = refusal_text(operation, feed, grant)
        if principal.kind == "anonymous":
            raise Unauthorized(f"Authentication is required: {text}", realm=f"ProGet Feed {feed.name}")
        raise Forbidden(text)

    def publish_package(self, principal: Principal, feed_type: str, package: Package) -> Package:
        """Store ``package`` in its feed; an existing one (same ``ident``) is replaced only
        with the overwrite privilege, else :class:`~mockproget.errors.Conflict` (409)."""
        with self._lock:
            self._feed_access(principal, package.feed, feed_type, "publish")

            def may_overwrite() -> None:
                try:
                    self._feed_access(principal, package.feed, feed_type, "overwrite")
                except Forbidden:
                    raise conflict(package) from None

            self._packages.add(package, may_overwrite)
            return package

    def find_packages(self, principal: Principal, feed: str, feed_type: str,
                      name_key: str | None = None) -> list[Package]:
        """The packages of ``feed`` (named ``name_key``), oldest first; needs ``read``."""
        with self._lock:
            self._feed_access(principal, feed, feed_type, "read")
            return self._packages.find(feed, name_key)

    def package_file(self, principal: Principal, feed: str, feed_type: str, filename: str) -> Package:
        """One package file by its file name; :class:`NotFound` if there is none."""
        with self._lock:
            self._feed_access(principal, feed, feed_type, "read")
            package = self._packages.file(feed, filename)
            if package is None:
                raise NotFound(f"There is no file {filename} in feed {feed}.")
            return package

    def delete_packages(self, principal: Principal, feed: str, feed_type: str,
                        ident: tuple[str, ...]) -> list[Package]:
        """Delete the package with that ``ident``; :class:`NotFound` if there is none."""
        with self._lock:
            self._feed_access(principal, feed, feed_type, "delete")
            removed = self._packages.remove(feed, lambda p: p.ident == ident)
            if not removed:
                raise NotFound(f"There is no package {'/'.join(i for i in ident if i)} in feed {feed}.")
            return removed

    def delete_version(self, principal: Principal, feed: str, feed_type: str, name_key: str,
                       version: str) -> list[Package]:
        """Delete every file of one package version; :class:`NotFound` if there is none."""
        with self._lock:
            self._feed_access(principal, feed, feed_type, "delete")
            removed = self._packages.remove(feed, lambda p: p.name_key == name_key and p.version == version)
            if not removed:
                raise NotFound(f"There is no package {name_key} {version} in feed {feed}.")
            return removed

    # -- internals -----------------------------------------------------------------------

    def _check_new_key(self, new: NewApiKey, *, seeding: bool = False) -> None:
        """The rules that need state or settings (spec §2, §5, §6); every problem at once."""
        settings = self.settings
        problems: list[str] = []
        if new.type in ("system", "feed") and settings.edition == "Free" and not seeding:
            problems.append(f"{new.type} API keys require ProGet Basic edition or higher; "
                            f"this instance is Free edition")
        if new.type == "personal":
            if not settings.personal_keys and not seeding:
                problems.append("personal API keys are disabled on this instance")
            if new.user is not None and new.user not in self._users:
                problems.append(f"user: there is no user named {new.user!r}")
        if new.feed is not None and new.feed not in self._feeds:
            problems.append(f"feed: there is no feed named {new.feed!r}")
        if new.feed_group is not None and new.feed_group not in self._feed_groups:
            problems.append(f"feedGroup: there is no feed group named {new.feed_group!r}")
        if new.key is not None:
            if not seeding and settings.hash_keys:
                problems.append("key: this instance stores keys as cryptographic hashes, "
                                "so a key cannot be specified; leave it out to have one generated")
            elif not seeding and not settings.custom_keys:
                problems.append("key: custom keys are not allowed on this instance; "
                                "leave it out to have one generated")
            elif digest(new.key) in self._by_digest:
                problems.append("key: an API key with this text already exists")
        if new.expiration is None and settings.require_expiration and not seeding:
            problems.append("expiration: this instance requires API keys to expire")
        if problems:
            raise InvalidInput(problems)

    def _generate_key(self, drawn: str | None = None) -> tuple[str, bytes]:
        """A new key's text (``drawn``, unless a key has it already) and its digest."""
        while True:
            text = drawn or (f"{self._rng.getrandbits(160):040x}" if self._rng else secrets.token_hex(20))
            drawn = None
            hashed = digest(text)
            if hashed not in self._by_digest:
                return text, hashed

    def _store(self, new: NewApiKey, drawn: str | None = None) -> tuple[ApiKey, str]:
        text, hashed = (new.key, digest(new.key)) if new.key is not None else self._generate_key(drawn)
        key = ApiKey(
            id=self._next_id, type=new.type, digest=hashed, logging=new.logging,
            key=None if self.settings.hash_keys else text,
            display_name=new.display_name, description=new.description,
            system_apis=new.system_apis, package_permissions=new.package_permissions,
            feed=new.feed, feed_group=new.feed_group, expiration=new.expiration,
            user=new.user,
        )
        self._next_id += 1
        self._keys[key.id] = key
        self._by_digest[key.digest] = key.id
        if key.type == "personal" and key.user is not None:
            self._personal.setdefault(key.user, {})[key.id] = None
        self._key_texts[key.digest] = text
        if not self._bulk:
            self.masker.add(text)
        return key.copied(), text

    def seed_api_keys(self, keys: Iterable[NewApiKey]) -> list[tuple[ApiKey, str]]:
        """Several :meth:`add_api_key` calls under one lock."""
        with self._lock:
            return [self.add_api_key(k) for k in keys]

    def _index_keys_locked(self) -> None:
        """Rebuild the per-user index of personal keys from ``_keys`` (a bulk change)."""
        self._personal = {}
        for key in self._keys.values():
            if key.type == "personal" and key.user is not None:
                self._personal.setdefault(key.user, {})[key.id] = None

    def _sync_masker(self) -> None:
        """Tell the masker exactly the live secrets (after a bulk change)."""
        self.masker.replace([(text, None) for text in self._key_texts.values()]
                            + [(password, name) for name, password in self._passwords.items()])

    def mask(self, text: str, keep: int | None = None) -> str:
        """``text`` with every live secret hidden, in whatever encoding it appears
        (see :class:`~mockproget.masking.Masker`): the one call for logs and answers.
        With ``keep``, the caller cuts the answer to that many characters afterwards."""
        return self.masker.mask(text, keep)

    def mask_many(self, items: Sequence[tuple[str, int | None]]) -> list[str]:
        """``[mask(text, keep) for text, keep in items]``, in one pass of the masker."""
        return self.masker.mask_many(items)

    def is_secret(self, text: str) -> bool:
        """Whether ``text`` is the text of a stored key or a user's password (for masking)."""
        wanted = digest(text)
        with self._lock:
            if self._password_digests is None:
                self._password_digests = frozenset(
                    u.password_digest for u in self._users.values() if u.password_digest is not None)
            return wanted in self._by_digest or wanted in self._password_digests

    # -- JSON state (the control API) ----------------------------------------------------

    def export_state(self) -> StateDump:
        """Copies of the whole state, secrets (digests, key texts) included: never render
        it as is (the control API seals the secrets first)."""
        with self._lock:
            return StateDump(
                settings=self.settings,
                users=[copy.copy(u) for u in self._users.values()],
                feeds=list(self._feeds), feed_groups=list(self._feed_groups),
                keys=[k.copied() for k in self._keys.values()], next_id=self._next_id,
                key_texts=dict(self._key_texts), passwords=dict(self._passwords),
                feed_details=list(self._feeds.values()), packages=self._packages.all())

    def import_state(self, dump: StateDump) -> None:
        """Replace the whole state with ``dump``; :class:`InvalidInput` lists every problem.

        Checks what the state must hold together: unique user names, key ids and key
        texts (digests); feeds, feed groups and users that keys name exist; ``next_id``
        above every id. Generated keys keep their random stream.
        """
        problems: list[str] = []
        users = {u.name: u for u in dump.users}
        if len(users) != len(dump.users):
            problems.append("users: a user name is given more than once")
        ids = [k.id for k in dump.keys]
        if len(set(ids)) != len(ids):
            problems.append("apiKeys: an id is given more than once")
        digests = [k.digest for k in dump.keys]
        if len(set(digests)) != len(digests):
            problems.append("apiKeys: two keys have the same text")
        for key in dump.keys:
            if key.feed is not None and key.feed not in dump.feeds:
                problems.append(f"apiKeys: key {key.id}: there is no feed named {key.feed!r}")
            if key.feed_group is not None and key.feed_group not in dump.feed_groups:
                problems.append(f"apiKeys: key {key.id}: there is no feed group named {key.feed_group!r}")
            if key.user is not None and key.user not in users:
                problems.append(f"apiKeys: key {key.id}: there is no user named {key.user!r}")
        details = {f.name: f for f in dump.feed_details}
        for feed in dump.feed_details:
            if feed.name not in dump.feeds:
                problems.append(f"feeds: feed {feed.name!r} is described but not listed")
            problems += [f"feeds: feed {feed.name}: there is no feed group named {g!r}"
                         for g in feed.groups if g not in dump.feed_groups]
        for package in dump.packages:
            if package.feed not in dump.feeds:
                problems.append(f"packages: {package.filename}: there is no feed named {package.feed!r}")
        if ids and dump.next_id <= max(ids):
            problems.append(f"nextId: must be above every key id (at least {max(ids) + 1})")
        if problems:
            raise InvalidInput(problems, heading="Invalid state")
        with self._lock:
            self.settings = dump.settings
            self._users = dict(users)
            self._password_digests = None
            self._feeds = {name: details.get(name, Feed(name)) for name in dump.feeds}
            self._packages = FeedStore.of(dump.packages)
            self._feed_groups = {name: FeedGroup(name) for name in dump.feed_groups}
            self._keys = {k.id: copy.copy(k) for k in sorted(dump.keys, key=lambda k: k.id)}
            if self.settings.hash_keys:
                for key in self._keys.values():
                    key.key = None
            self._by_digest = {k.digest: k.id for k in self._keys.values()}
            self._index_keys_locked()
            self._next_id = dump.next_id
            texts = {**self._key_texts, **dump.key_texts,
                     **{k.digest: k.key for k in dump.keys if k.key is not None}}
            self._key_texts = {d: texts[d] for d in self._by_digest if d in texts}
            self._passwords = {name: password for name, password in {**self._passwords, **dump.passwords}.items()
                               if name in users and users[name].password_digest == digest(password)}
            self._sync_masker()


@dataclass
class StateDump:
    """The whole state of a :class:`Backend` as plain objects (see :meth:`Backend.export_state`)."""

    settings: InstanceSettings
    users: list[User]
    feeds: list[str]
    feed_groups: list[str]
    keys: list[ApiKey]
    next_id: int
    #: The texts of keys (by digest) and passwords (by user) when known: masking only.
    key_texts: dict[bytes, str] = field(default_factory=dict, repr=False)
    passwords: dict[str, str] = field(default_factory=dict, repr=False)
    #: Feeds with their type, groups and anonymous access (a feed not here is a bare name).
    feed_details: list[Feed] = field(default_factory=list)
    packages: list[Package] = field(default_factory=list)

    def __repr__(self) -> str:
        return (f"StateDump(users={[u.name for u in self.users]}, feeds={self.feeds}, "
                f"feed_groups={self.feed_groups}, keys={[k.id for k in self.keys]}, next_id={self.next_id}, "
                f"packages={len(self.packages)})")
