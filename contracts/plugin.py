"""pytest plugin: fixtures for a mock ProGet and options for a remote target.

Registered through the ``pytest11`` entry point, so it is active in every pytest run of an
environment where the package is installed. It therefore imports only what registering its
options and fixtures needs (:mod:`mockproget_contracts.options`, pytest); the mock and the
kit are imported by the fixtures, the first time a test asks for one.

Remote mode is on only when ``--proget-url`` or ``MOCKPROGET_TARGET_URL`` is given; no other
variable (``PROGET_URL`` included) is read. Options that are missing or contradict each
other stop the run at start with one usage error.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

import pytest

from mockproget_contracts.constants import CLAUSE_MARKER
from mockproget_contracts.options import BOOLEAN_OPTIONS, ENV_PREFIX, OPTIONS, check_options, option_value

if TYPE_CHECKING:
    from mockproget import MockProGet
    from mockproget_contracts.client import ProGetClient
    from mockproget_contracts.target import RemoteProGet, Target

__all__ = ["proget", "proget_client", "proget_server", "proget_settings", "proget_target"]

SETTINGS_MARKER = "proget_settings"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("proget", "ProGet contract kit (mockproget)")
    for option, (env, text) in OPTIONS.items():
        if option in BOOLEAN_OPTIONS:
            group.addoption(option, action="store_true", default=False, help=f"{text} [{env}]")
        else:
            group.addoption(option, default=None, metavar=env.removeprefix(ENV_PREFIX),
                            help=f"{text} [{env}]")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{CLAUSE_MARKER}(section, source, creates=True, free_edition=False): a ProGet "
                   "contract clause checking spec `section` from `source` (doc, client or model)")
    config.addinivalue_line(
        "markers", f"{SETTINGS_MARKER}(**settings): instance settings of the embedded mock for "
                   "this test (e.g. hash_keys=True), restored afterwards")


def pytest_sessionstart(session: pytest.Session) -> None:
    """Check the target options once, before collection (after every plugin's configure)."""
    check_options(session.config)


def _marker_settings(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The keyword arguments of the test's ``proget_settings`` markers, closest last."""
    changes: dict[str, Any] = {}
    for marker in reversed(list(request.node.iter_markers(SETTINGS_MARKER))):
        if marker.args:
            pytest.fail(f"@pytest.mark.{SETTINGS_MARKER} takes keyword arguments only, "
                        f"e.g. @pytest.mark.{SETTINGS_MARKER}(hash_keys=True); got positional "
                        f"{', '.join(repr(a) for a in marker.args)} (for a dict, write "
                        f"@pytest.mark.{SETTINGS_MARKER}(**settings))", pytrace=False)
        changes.update(marker.kwargs)
    return changes


@pytest.fixture(scope="session")
def proget_server(pytestconfig: pytest.Config) -> Iterator[MockProGet | RemoteProGet]:
    """The server of this session: the embedded :class:`~mockproget.MockProGet`, started once
    on an ephemeral port (one per xdist worker), or, with ``--proget-url``, a description
    of the remote target (:class:`~mockproget_contracts.target.RemoteProGet`)."""
    url = option_value(pytestconfig, "--proget-url")
    if url:
        from mockproget_contracts.target import RemoteProGet

        yield RemoteProGet(url if url.endswith("/") else url + "/",
                           option_value(pytestconfig, "--proget-api-key") or "")
        return
    from mockproget import MockProGet

    with MockProGet() as server:
        yield server


@pytest.fixture(scope="session")
def proget_target(pytestconfig: pytest.Config, proget_server: MockProGet | RemoteProGet) -> Iterator[Target]:
    """What the contract clauses check: URL, credentials, known names. At the end of the
    session the target's keys are listed and any the kit left behind is deleted and
    reported (:attr:`Target.leftovers`)."""
    from mockproget import MockProGet
    from mockproget_contracts.target import target_from_options

    target = target_from_options(pytestconfig, proget_server if isinstance(proget_server, MockProGet) else None)
    yield target
    leftovers = target.sweep()
    if leftovers:
        warnings.warn(f"the contract kit left {len(leftovers)} key(s) behind on {target.url}: "
                      + "; ".join(leftovers), stacklevel=1)


@pytest.fixture
def proget_settings() -> dict[str, Any]:
    """Instance settings for the test (e.g. ``{"hash_keys": True}``). Override this fixture
    in a module or class to change them there; the marker ``proget_settings`` (keyword
    arguments only) adds to it."""
    return {}


@pytest.fixture
def proget(request: pytest.FixtureRequest, proget_server: MockProGet | RemoteProGet,
           proget_settings: dict[str, Any]) -> Iterator[MockProGet | RemoteProGet]:
    """The session's server, reset to its seeded state before the test, with the test's
    settings applied (and restored after it). Gives ``url``, ``admin_key``, ``backend``
    (seed users, feeds, groups, keys), ``faults`` and ``journal`` (both cleared by the reset).

    Against a remote target (``--proget-url``) it gives ``url`` and ``admin_key``; a test
    that changes settings or uses ``backend``/``faults``/``journal`` fails, saying why."""
    from mockproget import MockProGet

    changes = {**proget_settings, **_marker_settings(request)}
    if not isinstance(proget_server, MockProGet):
        if changes:
            pytest.fail(f"instance settings ({', '.join(sorted(changes))}) can only be changed on "
                        f"the embedded mock: this run targets {proget_server.url} "
                        "(--proget-url or MOCKPROGET_TARGET_URL)", pytrace=False)
        yield proget_server
        return
    proget_server.reset()
    with ExitStack() as stack:
        try:
            stack.enter_context(proget_server.backend.settings_changed(**changes))
        except (ValueError, TypeError) as error:  # an unknown setting, or a bad value
            pytest.fail(f"proget_settings {changes!r}: {error}", pytrace=False)
        yield proget_server


@pytest.fixture
def proget_client(proget_target: Target) -> Iterator[ProGetClient]:
    """A client for the target with the admin credentials. Every key it creates is deleted
    when the test ends, whether it passed or not."""
    client = proget_target.client()
    try:
        yield client
    finally:
        problems = client.cleanup()
        client.close()
        proget_target.leftovers.extend(problems)
