"""What is under test: where it is, how to authenticate, which names exist on it.

A :class:`Target` is either the embedded mock (then ``backend`` is set: [model] clauses run
and instance settings can be changed per clause) or any other server reached by URL.
"""

from __future__ import annotations

import itertools
import secrets as _secrets
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, Phase, settings
from werkzeug.serving import WSGIRequestHandler, make_server

from mockproget_contracts.client import ProGetClient, Secrets
from mockproget_contracts.constants import CLAUSE_MARKER, DEFAULT_MAX_EXAMPLES, FAR_FUTURE, NAME_PREFIX
from mockproget_contracts.options import OPTIONS, option_value

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

    from mockproget import Backend, MockProGet

__all__ = [
    "CLAUSE_MARKER",
    "OPTIONS",
    "RemoteProGet",
    "Target",
    "clause",
    "gate",
    "serve_wsgi",
    "target_from_options",
]


def clause(section: str, source: str, *, creates: bool = True,
           free_edition: bool = False) -> pytest.MarkDecorator:
    """Mark a test as the contract clause for ``section`` (e.g. ``"§3"``) from ``source``
    (``"doc"``, ``"client"`` or ``"model"``). ``creates=False`` lets it run read-only;
    ``free_edition=True`` says it creates only personal keys (a Free edition can)."""
    if source not in ("doc", "client", "model"):
        raise ValueError(f"source must be doc, client or model, not {source!r}")
    return pytest.mark.proget_contract(section, source, creates=creates, free_edition=free_edition)


@dataclass
class Target:
    """A server to check, and what the kit knows about it.

    :param url: base URL (a trailing ``/`` is added).
    :param api_key: a key that may manage API keys (an admin's key, or full control).
    :param username: with ``password``, a pseudo-key ``username:password`` (spec §3).
    :param feed: / ``feed_group`` / ``user``: names that exist on the target.
    :param backend: the embedded mock's backend; enables [model] clauses and settings.
    :param readonly: only clauses that create nothing run.
    :param anonymous: the instance grants anonymous access on purpose (§3), so requests
        without a credential are not expected to be refused.
    :param feed_type: the type of ``feed`` (``npm``, ``pypi``, ``nuget``, ``universal``),
        for the feed clauses; ``may_publish``: they may publish test packages there.
    """

    url: str
    api_key: str = field(repr=False)
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    feed: str | None = None
    feed_group: str | None = None
    user: str | None = None
    backend: Backend | None = field(default=None, repr=False)
    readonly: bool = False
    anonymous: bool = False
    feed_type: str | None = None
    may_publish: bool = False
    max_examples: int = DEFAULT_MAX_EXAMPLES
    seed: int | None = None
    run_id: str = field(default_factory=lambda: _secrets.token_hex(3))
    secrets: Secrets = field(default_factory=Secrets, repr=False)
    leftovers: list[str] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        if not self.url.endswith("/"):
            self.url += "/"
        if not self.api_key:
            raise ValueError("a target needs an API key that may manage API keys "
                             "(--proget-api-key or MOCKPROGET_TARGET_API_KEY)")
        for value in (self.api_key, self.password, self.pseudo_key):
            self.secrets.add(value)
        self._lock = threading.Lock()
        self._probes: dict[str, Any] = {}
        self._numbers = itertools.count(1)

    def next_number(self) -> int:
        """The next number for a display name: run-wide, so no two keys of a run share a
        name (a leftover key must never be taken for another clause's). Thread-safe."""
        with self._lock:
            return next(self._numbers)

    def __enter__(self) -> Target:
        return self

    def __exit__(self, *exc: object) -> None:
        """Leave nothing behind: :meth:`sweep` the target's keys."""
        self.sweep()

    @classmethod
    def for_mock(cls, server: MockProGet, **changes: Any) -> Target:
        """The embedded mock, with its seeded names (``Admin``/``Admin``, ``MyNpmFeed``, …)."""
        from mockproget.models import digest

        backend = server.backend
        users = {u.name: u for u in backend.users}
        seeded_admin = users.get("Admin")  # a fresh ProGet's Admin/Admin, as the mock seeds it
        has_pseudo = bool(seeded_admin and seeded_admin.admin and seeded_admin.password_digest == digest("Admin"))
        defaults: dict[str, Any] = {
            "url": server.url, "api_key": server.admin_key, "backend": backend,
            "username": "Admin" if has_pseudo else None,
            "password": "Admin" if has_pseudo else None,
            "feed": next(iter(backend.feeds), None),
            "feed_type": next((f.type for f in backend.feed_details), None),
            "may_publish": True,  # the mock's packages go with its next reset
            "feed_group": next(iter(backend.feed_groups), None),
            "user": next((u.name for u in users.values() if not u.admin), None),
        }
        defaults.update(changes)
        return cls(**defaults)

    # -- what the target is --------------------------------------------------------------

    @property
    def is_mock(self) -> bool:
        """True for the embedded mock: [model] clauses apply."""
        return self.backend is not None

    @property
    def pseudo_key(self) -> str | None:
        if self.username is None or self.password is None:
            return None
        return f"{self.username}:{self.password}"

    @property
    def name_prefix(self) -> str:
        """Every key the kit creates has a display name starting with this."""
        return f"{NAME_PREFIX} {self.run_id}"

    def settings_changed(self, **changes: Any) -> AbstractContextManager[Any]:
        """Change the instance settings for a ``with`` block (embedded mock only)."""
        if not changes:
            return nullcontext()
        if self.backend is None:
            pytest.skip("changing instance settings needs the embedded mock "
                        "(no --proget-url; or a Target with a backend)")
        return self.backend.settings_changed(**changes)

    def require(self, name: str) -> str:
        """The value of ``feed``/``feed_group``/``user``/``pseudo_key``, or skip naming the option."""
        value = getattr(self, name)
        if value is None:
            option = {"feed": "--proget-feed", "feed_group": "--proget-feed-group",
                      "feed_type": "--proget-feed-type",
                      "user": "--proget-user",
                      "pseudo_key": "--proget-username and --proget-password"}[name]
            pytest.skip(f"needs {option} (a name that exists on the target)")
        return str(value)

    # -- clients and clean-up ------------------------------------------------------------

    def client(self, api_key: str | None = None) -> ProGetClient:
        """A client for the target, with the admin key unless another is given. On an
        instance that requires expiring keys (§5) it gives every key it creates a far-future
        expiration unless the body has one."""
        client = self._client(api_key)
        if not self.readonly and self.requires_expiration():
            client.default_expiration = FAR_FUTURE
        return client

    def _client(self, api_key: str | None = None) -> ProGetClient:
        return ProGetClient(self.url, api_key or self.api_key, secrets=self.secrets,
                            name_prefix=self.name_prefix, numbers=self.next_number)

    # -- facts about the instance (§3, §5, §6): the mock's settings, or probed once ---------

    def edition(self) -> str:
        """The edition the target announces in X-ProGet-Edition (§6)."""
        if self.backend is not None:
            return self.backend.settings.edition

        def probe() -> str:
            client = self._client()
            try:
                return client.list().headers.get("X-ProGet-Edition", "").strip()
            finally:
                client.close()
        return str(self.probe("edition", probe))

    def anonymous_allowed(self) -> bool:
        """Whether the instance grants anonymous access (§3 [doc]: a fresh ProGet gives the
        Anonymous user admin rights until configured otherwise). The mock's setting, or what
        the user declared (``--proget-anonymous``): a server that lets a request without a
        credential through is not taken to do so on purpose."""
        if self.backend is not None:
            return self.backend.settings.anonymous_admin
        return self.anonymous

    def requires_expiration(self) -> bool:
        """Whether the instance requires expiring keys (§5): a key without an expiration is
        refused and the same key with one is accepted. Probing creates (and deletes) keys:
        a system key, or, where system keys are refused (a Free edition, §6), a personal key
        for ``user`` (else for ``username``, the admin's own user)."""
        if self.backend is not None:
            return self.backend.settings.require_expiration

        def probe() -> bool:
            client = self._client()
            bodies = [{"type": "system", "systemApis": ["sca"], "logging": "none"}]
            owner = self.user or self.username
            if owner is not None:
                bodies.append({"type": "personal", "user": owner, "logging": "none"})
            if self.edition() == "Free":
                bodies.reverse()
            try:
                for body in bodies:
                    if client.create({**body, "displayName": client.display_name("probe")}).status_code == 200:
                        return False
                    if client.create({**body, "expiration": FAR_FUTURE,
                                      "displayName": client.display_name("probe")}).status_code == 200:
                        return True
                return False
            finally:
                self.leftovers.extend(client.cleanup())
                client.close()
        return bool(self.probe("require_expiration", probe))

    def accepts_custom_keys(self) -> bool:
        """Whether the instance takes a user-entered key text (§5: neither hashing nor
        custom keys switched off). Probing creates (and deletes) a key."""
        if self.backend is not None:
            settings = self.backend.settings
            return settings.custom_keys and not settings.hash_keys

        def probe() -> bool:
            client = self.client()
            text = _secrets.token_hex(20)
            self.secrets.add(text)
            try:
                return client.create({"type": "system", "systemApis": ["sca"], "logging": "none",
                                      "key": text, "displayName": client.display_name("probe")}
                                     ).status_code == 200
            finally:
                self.leftovers.extend(client.cleanup())
                client.close()
        return bool(self.probe("custom_keys", probe))

    def hypothesis_settings(self, **overrides: Any) -> settings:
        """Deterministic by default (derandomized, no example database written). No
        shrinking: against a live server each shrink step is more requests (and keys); the
        first failing example found is reported as it is."""
        values: dict[str, Any] = dict(
            max_examples=self.max_examples, derandomize=self.seed is None, database=None,
            deadline=None, print_blob=False,
            phases=[Phase.explicit, Phase.reuse, Phase.generate],
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                   HealthCheck.filter_too_much, HealthCheck.data_too_large])
        values.update(overrides)
        return settings(**values)

    def probe(self, name: str, compute: Callable[[], Any]) -> Any:
        """A fact about the target, computed once per run (e.g. whether custom keys work)."""
        with self._lock:
            if name in self._probes:
                return self._probes[name]
        value = compute()
        with self._lock:
            return self._probes.setdefault(name, value)

    def sweep(self) -> list[str]:
        """At the end of a run: list the target's keys and delete any the kit left behind.

        Returns a description of every leftover found (there should be none); they are also
        kept in :attr:`leftovers`."""
        client = self._client()
        try:
            try:
                keys = client.list_keys()
            except Exception:  # noqa: BLE001 - a broken list must not hide the report
                found = ["could not list the target's keys to look for leftovers"]
                self.leftovers.extend(found)
                return found
            ours = client.mine(keys)  # marked by display name (or description) as this run's
            found = []
            for key in ours:
                label = (f"key #{key.get('id')} ({key.get('type')}, "
                         f"{key.get('displayName') or key.get('description')})")
                status: int | str
                try:
                    status = client.delete(key.get("id")).status_code
                except Exception as error:  # noqa: BLE001 - report, do not hide the rest
                    status = type(error).__name__
                found.append(label + (": deleted by the final sweep" if status == 200
                                      else f": could not be deleted ({status})"))
            self.leftovers.extend(found)
            return found
        finally:
            client.close()


@dataclass
class RemoteProGet:
    """What the ``proget`` fixture gives when the target is a remote server: no backend,
    faults or journal, and no reset (those need the embedded mock)."""

    url: str
    admin_key: str = field(repr=False)

    def _mock_only(self, what: str) -> Any:
        pytest.fail(f"{what} needs the embedded mock: this run targets {self.url} "
                    "(--proget-url or MOCKPROGET_TARGET_URL)", pytrace=False)

    @property
    def backend(self) -> Any:
        return self._mock_only("seeding state through the backend")

    @property
    def faults(self) -> Any:
        return self._mock_only("fault injection")

    @property
    def journal(self) -> Any:
        return self._mock_only("the request journal")

    def reset(self) -> None:
        """A remote server cannot be reset; tests must clean up after themselves."""


def target_from_options(config: pytest.Config, server: MockProGet | None) -> Target:
    """Build the session's :class:`Target` from the options (``server`` when no URL)."""
    values = {name: option_value(config, name) for name in OPTIONS}
    common = dict(readonly=values["--proget-readonly"], anonymous=values["--proget-anonymous"],
                  max_examples=values["--proget-max-examples"] or DEFAULT_MAX_EXAMPLES,
                  seed=values["--proget-seed"])
    names = {attr: values[opt] for attr, opt in (
        ("username", "--proget-username"), ("password", "--proget-password"),
        ("feed", "--proget-feed"), ("feed_group", "--proget-feed-group"), ("user", "--proget-user"),
        ("feed_type", "--proget-feed-type"))
        if values[opt] is not None}
    if values["--proget-may-publish"]:  # the embedded mock may always publish
        names["may_publish"] = True
    if server is not None:
        return Target.for_mock(server, **common, **names)
    if not values["--proget-api-key"]:
        raise pytest.UsageError("--proget-url needs --proget-api-key (or MOCKPROGET_TARGET_API_KEY): "
                                "a key that may manage API keys on the target")
    return Target(url=values["--proget-url"], api_key=values["--proget-api-key"], **common, **names)


def gate(node: pytest.Item, target: Target) -> None:
    """Skip a clause that cannot run against ``target``, with a reason a user can act on."""
    marker = node.get_closest_marker(CLAUSE_MARKER)
    if marker is None:
        return
    source = marker.args[1] if len(marker.args) > 1 else marker.kwargs.get("source")
    if source == "model" and not target.is_mock:
        pytest.skip("a [model] clause (a choice of the mock where the vendor is silent): "
                    "checked only against the embedded mock")
    creates = marker.kwargs.get("creates", True)
    if target.readonly and creates:
        pytest.skip("creates API keys, and --proget-readonly was given")
    if creates and not marker.kwargs.get("free_edition", False) and target.edition() == "Free":
        pytest.skip("creates system or feed keys, which a Free edition refuses (§6): "
                    "check a Basic or Enterprise instance")


class _FieldValueHandler(WSGIRequestHandler):
    """RFC 9110 §5.5 [std]: a field value excludes the whitespace around it; werkzeug's
    development server keeps trailing whitespace in the environ, so it is taken off here,
    as any production HTTP server does before the app sees the value."""

    def make_environ(self) -> Any:
        environ = super().make_environ()
        for name, value in list(environ.items()):
            if name.startswith("HTTP_") and isinstance(value, str):
                environ[name] = value.strip(" \t")
        return environ


@contextmanager
def serve_wsgi(app: WSGIApplication, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve a WSGI app on an ephemeral port for the ``with`` block; yields its base URL."""
    server = make_server(host, 0, app, threaded=True, request_handler=_FieldValueHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name="contracts:wsgi", daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()

