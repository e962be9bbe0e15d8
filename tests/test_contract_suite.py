"""The reusable suite, subclassed as a user would: every clause against a WSGI app.

Here the app is the mock's own ``create_app`` (so the [model] clauses run too, through
``backend``); for any other server give ``Target`` its URL and an admin key.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mockproget_contracts import ProGetContractSuite, Target, serve_wsgi
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


BY_URL = """
from mockproget_contracts import ProGetContractSuite, Target, serve_wsgi
from mockproget import create_app
import pytest


class TestSuiteAgainstAServerByUrl(ProGetContractSuite):
    @pytest.fixture(scope="class")
    @classmethod
    def proget_target(cls):
        app = create_app()
        with serve_wsgi(app) as url, Target(
                url=url, api_key="Admin:Admin", username="Admin", password="Admin", feed="MyNpmFeed",
                feed_group="MyFeedGroup", user="johnsmith", max_examples=5) as target:
            yield target
        assert len(app.extensions["mockproget"].api_keys) == 0  # the kit left nothing behind
"""


def test_a_target_given_by_url_skips_model_and_settings_clauses(pytester: pytest.Pytester) -> None:
    """Without ``backend`` the target is any server: [model] clauses and clauses that change
    instance settings skip, each with its reason; every other clause runs and passes."""
    pytester.makepyfile(test_by_url=BY_URL)
    result = pytester.runpytest_subprocess("-q", "-rs", "-p", "no:cacheprovider")
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed", 0) >= 60 and "failed" not in outcomes and "error" not in outcomes, outcomes
    assert outcomes.get("skipped", 0) >= 10
    result.stdout.fnmatch_lines([
        "*a ?model? clause*checked only against the embedded mock*",  # [ ] is a class in fnmatch
        "*changing instance settings needs the embedded mock*",
    ], consecutive=False)
    skips = [line for line in result.outlines if line.startswith("SKIPPED")]
    assert all("[model]" in line or "instance settings" in line for line in skips), skips


def test_suite_base_is_not_collected_where_defined() -> None:
    assert not ProGetContractSuite.__name__.startswith("Test")
