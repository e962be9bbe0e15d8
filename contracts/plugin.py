"""pytest plugin: fixtures for a mock ProGet and options for a remote target.

Registered through the ``pytest11`` entry point, so it is active wherever the package is
installed. Fixtures and options only; the logic lives in :mod:`mockproget_contracts.target`.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import pytest

from mockproget import MockProGet

from mockproget_contracts.client import ProGetClient
from mockproget_contracts.target import CLAUSE_MARKER, OPTIONS, RemoteProGet, Target, option_value, target_from_options

__all__ = ["proget", "proget_client", "proget_server", "proget_settings", "proget_target"]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("proget", "ProGet contract kit (mockproget)")
    for option, (env, text) in OPTIONS.items():
        if option in ("--proget-readonly", "--proget-anonymous", "--proget-may-publish"):
            group.addoption(option, action="store_true", default=False, help=f"{text} [{env}]")
        else:
            group.addoption(option, default=None, metavar=env.removeprefix("MOCKPROGET_TARGET_"),
                            help=f"{text} [{env}]")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{CLAUSE_MARKER}(section, source, creates=True, free_edition=False): a ProGet "
                   "contract clause checking spec `section` from `source` (doc, client or model)")
    config.addinivalue_line(
        "markers", "proget_settings(**settings): instance settings of the embedded mock for "
                   "this test (e.g. hash_keys=True), restored afterwards")


@pytest.fixture(scope="session")
def proget_server(pytestconfig: pytest.Config) -> Iterator[MockProGet | RemoteProGet]:
    """The server of this session: the embedded :class:`~mockproget.MockProGet`, started once
    on an ephemeral port (one per xdist worker), or, with ``--proget-url``, a description
    of the remote target (:class:`~mockproget_contracts.target.RemoteProGet`)."""
    url = option_value(pytestconfig, "--proget-url")
    if url:
        yield RemoteProGet(url if url.endswith("/") else url + "/",
                           option_value(pytestconfig, "--proget-api-key") or "")
        return
    with MockProGet() as server:
        yield server


@pytest.fixture(scope="session")
def proget_target(pytestconfig: pytest.Config, proget_server: MockProGet | RemoteProGet) -> Iterator[Target]:
    """What the contract clauses check: URL, credentials, known names. At the end of the
    session the target's keys are listed and any the kit left behind is deleted and
    reported (:attr:`Target.leftovers`)."""
    target = target_from_options(pytestconfig, proget_server if isinstance(proget_server, MockProGet) else None)
    yield target
    leftovers = target.sweep()
    if leftovers:
        warnings.warn(f"the contract kit left {len(leftovers)} key(s) behind on {target.url}: "
                      + "; ".join(leftovers), stacklevel=1)


@pytest.fixture
def proget_settings() -> dict[str, Any]:
    """Instance settings for the test (e.g. ``{"hash_keys": True}``). Override this fixture
    in a module or class to change them there; the marker ``proget_settings`` adds to it."""
    return {}


@pytest.fixture
def proget(request: pytest.FixtureRequest, proget_server: MockProGet | RemoteProGet,
           proget_settings: dict[str, Any]) -> Iterator[MockProGet | RemoteProGet]:
    """The session's server, reset to its seeded state before the test, with the test's
    settings applied (and restored after it). Gives ``url``, ``admin_key``, ``backend``
    (seed users, feeds, groups, keys), ``faults`` and ``journal`` (both cleared by the reset)."""
    changes = dict(proget_settings)
    for marker in reversed(list(request.node.iter_markers("proget_settings"))):
        changes.update(marker.kwargs)
    if isinstance(proget_server, RemoteProGet):
        if changes:
            pytest.skip("instance settings can only be changed on the embedded mock (run without --proget-url)")
        yield proget_server
        return
    proget_server.reset()
    with proget_server.backend.settings_changed(**changes):
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
