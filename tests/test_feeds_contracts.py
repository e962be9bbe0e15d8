"""The kit's feed clauses (mockproget_contracts.test_feeds) against the mock, for every
feed type, as the mock (model clauses included) and as a server known only by URL; and
against servers that break a feed rule, where the clause must fail."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from feedkit import TYPES, feeds_config
from mockproget import MockProGet
from mockproget_contracts import Target
from mockproget_contracts.client import ContractViolation
from mockproget_contracts.test_feeds import FeedClauses

CLAUSES = [name for name in dir(FeedClauses) if name.startswith("test_")]


@pytest.fixture(scope="module")
def server() -> Iterator[MockProGet]:
    with MockProGet(feeds_config()) as mock:
        yield mock


def target(server: MockProGet, feed_type: str, *, as_mock: bool) -> Target:
    return Target(url=server.url, api_key=server.admin_key, feed=f"{feed_type}-c", feed_type=feed_type,
                  username="Admin", password="Admin",  # the seeded admin: the pseudo-key clauses run too
                  feed_group=f"{feed_type}-grp", backend=server.backend if as_mock else None,
                  may_publish=True, max_examples=2)


@pytest.mark.filterwarnings("ignore:test package")  # npm/PyPI packages stay (no delete): said by a warning
@pytest.mark.parametrize("as_mock", [True, False], ids=["mock", "by-url"])
@pytest.mark.parametrize("feed_type", TYPES)
@pytest.mark.parametrize("name", CLAUSES)
def test_feed_clauses_pass_against_the_mock(server: MockProGet, feed_type: str, as_mock: bool, name: str) -> None:
    """proget-feeds §1-§5: every feed clause holds on the mock for every feed type, with
    the mock's exact statuses (as mock) and with "401 or 403" (by URL); [model] clauses
    are skipped by URL by the kit's gate, so here they only run as the mock."""
    if name == "test_a_feed_key_outside_its_scope_is_refused" and not as_mock:
        return  # a [model] clause: the kit runs it only against the embedded mock
    with target(server, feed_type, as_mock=as_mock) as checked:
        client = checked.client()
        try:
            getattr(FeedClauses(), name)(checked, client)
        finally:
            assert client.cleanup() == []
            client.close()
    assert checked.leftovers == []


def _broken(server: MockProGet, rewrite: Any) -> None:
    inner = server.app.wsgi_app

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        def respond(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            return start_response(rewrite(environ, status), headers, exc_info)
        return inner(environ, respond)
    server.app.wsgi_app = app  # type: ignore[method-assign]


@pytest.mark.filterwarnings("ignore:test package")
@pytest.mark.parametrize("case", ["view-only-publishes", "anonymous-publishes", "admin-refused"])
def test_feed_clauses_fail_against_a_server_that_breaks_the_rule(case: str) -> None:
    """The clauses can fail: a server that lets a view-only key publish, that answers 2xx
    to an anonymous publish, or refuses the admin key's Basic read fails the matching clause."""
    with MockProGet(feeds_config()) as mock:
        if case == "view-only-publishes":
            original = mock.backend.feed_access

            def lenient(principal: Any, feed: str, feed_type: str, operation: str) -> Any:
                return original(principal, feed, feed_type, "read" if operation == "publish" else operation)
            mock.backend.feed_access = lenient  # type: ignore[method-assign]
            mock.backend.publish_package = lambda principal, feed_type, package: package  # type: ignore[method-assign]
            name = "test_a_view_only_feed_key_reads_but_cannot_publish"
        elif case == "anonymous-publishes":
            _broken(mock, lambda environ, status: "201 Created"
                    if environ["REQUEST_METHOD"] == "PUT" and status.startswith("40") else status)
            name = "test_publishing_without_or_with_a_bogus_credential_is_refused"
        else:
            _broken(mock, lambda environ, status: "403 Forbidden"
                    if environ["REQUEST_METHOD"] == "GET" and environ["PATH_INFO"].startswith("/npm/") else status)
            name = "test_the_admin_key_reads_the_feed_as_basic_api"
        with target(mock, "npm", as_mock=False) as checked:
            client = checked.client()
            with pytest.raises(ContractViolation):
                getattr(FeedClauses(), name)(checked, client)
            client.cleanup()
            client.close()
