"""The reusable suite, subclassed as a user would: every clause against a WSGI app.

Here the app is the mock's own ``create_app`` (so the [model] clauses run too, through
``backend``); for any other server give ``Target`` its URL and an admin key.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from contracts import ProGetContractSuite, Target, serve_wsgi
from mockproget import Backend, NewApiKey, SeedState, create_app

ADMIN_KEY = "fedcba9876543210fedcba9876543210fedcba98"


def _backend() -> Backend:
    state = SeedState.default()
    state.api_keys.append(NewApiKey(type="system", key=ADMIN_KEY, system_apis=("full-control",),
                                    display_name="admin", logging="none"))
    return Backend(state=state)


class TestSuiteAgainstAWsgiApp(ProGetContractSuite):
    @pytest.fixture(scope="class")
    @classmethod
    def proget_target(cls) -> Iterator[Target]:
        backend = _backend()
        with serve_wsgi(create_app(backend=backend)) as url, Target(
                url=url, api_key=ADMIN_KEY, backend=backend, username="Admin", password="Admin",
                feed="MyNpmFeed", feed_group="MyFeedGroup", user="johnsmith", max_examples=10) as target:
            yield target
        assert not target.leftovers
        assert [k.display_name for k in backend.api_keys] == ["admin"]


class TestSuiteAgainstAServerByUrl(ProGetContractSuite):
    """Without ``backend`` the target is any server: [model] and settings clauses skip."""

    @pytest.fixture(scope="class")
    @classmethod
    def proget_target(cls) -> Iterator[Target]:
        backend = _backend()
        with serve_wsgi(create_app(backend=backend)) as url, Target(
                url=url, api_key=ADMIN_KEY, username="Admin", password="Admin", feed="MyNpmFeed",
                feed_group="MyFeedGroup", user="johnsmith", max_examples=5) as target:
            yield target
        assert [k.display_name for k in backend.api_keys] == ["admin"]


def test_suite_base_is_not_collected_where_defined() -> None:
    assert not ProGetContractSuite.__name__.startswith("Test")
