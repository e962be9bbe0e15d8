"""Clauses for the feed endpoints (proget-feeds spec §1-§5): keys issued by the api-keys
endpoints work, or are refused, where ProGet's clients use them.

They need a feed on the target and its type (``--proget-feed``, ``--proget-feed-type``;
the embedded mock gives its seeded npm feed). Clauses that would publish need
``--proget-may-publish`` and delete what they published where the protocol has a delete
(NuGet, Universal); on npm and PyPI feeds a test package stays (a warning names it).
Refusal statuses the vendor does not document (§1.4) are accepted as 401 or 403 off the
mock; the mock's exact choice is checked on the mock.
"""

from __future__ import annotations

import base64
import hashlib
import re
import time
import warnings
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import requests

from mockproget_contracts.base import ClauseBase
from mockproget_contracts.checks import expect_error, fail
from mockproget_contracts.client import ProGetClient
from mockproget_contracts.packages import FEED_TYPES, TestPackage
from mockproget_contracts.target import Target, clause

__all__ = ["FeedClauses", "TestFeeds"]

#: Where the mock puts each kind of refusal (§1.4 / §7 [model]; Universal [doc]).
MOCK_BAD_KEY = {"npm": 401, "pypi": 401, "nuget": 403, "universal": 403}
MOCK_NO_CREDENTIAL = {"npm": 401, "pypi": 401, "nuget": 401, "universal": 403}


def _basic(key: str) -> str:
    return "Basic " + base64.b64encode(f"api:{key}".encode()).decode()


def publish_headers(feed_type: str, key: str | None) -> dict[str, str]:
    """The credential as the type's publishing client sends it (§2.2, §3.2, §4.2, §5.2)."""
    if key is None:
        return {}
    return {"npm": {"Authorization": f"Bearer {key}"}, "pypi": {"Authorization": _basic(key)},
            "nuget": {"X-NuGet-ApiKey": key}, "universal": {"X-ApiKey": key}}[feed_type]


#: §1.1 [doc], §2.2-§5.2: every way a key reaches each type's publish endpoint that the
#: vendor documents or its clients send (npm ``_authToken`` and ``_auth``; NuGet's
#: ``X-NuGet-ApiKey`` and Basic after a challenge; twine's Basic; Universal's three).
PUBLISH_CARRIERS: dict[str, tuple[str, ...]] = {
    "npm": ("bearer", "basic"), "pypi": ("basic",), "nuget": ("x-nuget-apikey", "basic"),
    "universal": ("x-apikey", "query", "basic")}


def carried(carrier: str, key: str) -> dict[str, Any]:
    """The request arguments (``headers``, ``params``) that put ``key`` in ``carrier``."""
    if carrier == "query":
        return {"headers": {}, "params": {"key": key}}
    return {"headers": {"bearer": {"Authorization": f"Bearer {key}"}, "basic": {"Authorization": _basic(key)},
                        "x-nuget-apikey": {"X-NuGet-ApiKey": key}, "x-apikey": {"X-ApiKey": key}}[carrier]}


def read_headers(feed_type: str, key: str) -> dict[str, str]:
    """The credential as the type's reading client sends it (NuGet and pip: Basic ``api``)."""
    if feed_type == "npm":
        return {"Authorization": f"Bearer {key}"}
    if feed_type == "universal":
        return {"X-ApiKey": key}
    return {"Authorization": _basic(key)}


class FeedClauses(ClauseBase):
    """§1-§5: feed endpoints."""

    @staticmethod
    def _feed(target: Target) -> tuple[str, str]:
        feed, feed_type = target.require("feed"), target.require("feed_type")
        if feed_type not in FEED_TYPES:  # the options refuse it at start; a Target made by hand too
            pytest.fail(f"the feed type must be one of {', '.join(FEED_TYPES)}, not {feed_type!r}", pytrace=False)
        return feed, feed_type

    @staticmethod
    def _package(target: Target, feed: str, feed_type: str) -> TestPackage:
        number = target.next_number()
        name = {"npm": f"mockproget-contracts-{target.run_id}", "pypi": f"mockproget-contracts-{target.run_id}",
                "nuget": f"MockProGet.Contracts.R{target.run_id}",
                "universal": f"contracts-{target.run_id}"}[feed_type]
        return TestPackage(feed_type, feed, name, f"1.0.{number}")

    @staticmethod
    def _publish(client: ProGetClient, target: Target, package: TestPackage, key: str | None,
                 carrier: str | None = None) -> requests.Response:
        """Publish ``package`` with ``key`` as its client sends it, or in ``carrier``."""
        sent = package.publish_request(target.url)
        method, path = sent.pop("method"), sent.pop("path")
        how = carried(carrier, key) if carrier is not None and key is not None else {
            "headers": publish_headers(package.feed_type, key)}
        return client.request(method, path, api_key=None, **how, **sent)

    @staticmethod
    def _feed_key(client: ProGetClient, feed: str, permissions: list[str], **extra: Any) -> dict[str, Any]:
        body = {"type": "feed", "feed": feed, "packagePermissions": permissions, "logging": "none",
                "displayName": client.display_name(f"feed {'+'.join(permissions)}"), **extra}
        if "feedGroup" in extra:
            del body["feed"]
        response = client.create(body)
        if response.status_code != 200:
            raise fail(f"§2: creating a feed key for feed {feed} answered {response.status_code}", response)
        info: dict[str, Any] = response.json()
        return info

    @staticmethod
    def _refused(response: requests.Response, target: Target, feed_type: str, on_mock: int, rule: str) -> None:
        """Refused: the mock's exact status; elsewhere 401 or 403 (Universal: 403 [doc])."""
        if target.is_mock:
            expected: int | tuple[int, ...] = on_mock
        else:
            expected = 403 if feed_type == "universal" else (401, 403)
        if response.status_code not in ((expected,) if isinstance(expected, int) else expected):
            raise fail(f"{rule}: expected {expected}, got {response.status_code}", response)
        if target.is_mock:
            expect_error(response, on_mock, rule)
            if on_mock == 401 and not response.headers.get("WWW-Authenticate", "").startswith("Basic realm="):
                raise fail(f"{rule}: a 401 must carry a Basic challenge (§1.4)", response)

    def _cleanup(self, client: ProGetClient, target: Target, package: TestPackage, published: bool) -> None:
        if not published:
            return
        if package.delete_path is None:
            if not target.is_mock:
                warnings.warn(f"test package {package.name} {package.version} stays on feed {package.feed}: "
                              f"the {package.feed_type} protocol has no delete here", stacklevel=2)
            return
        response = client.request("DELETE", package.delete_path, api_key=None,
                                  headers=publish_headers(package.feed_type, target.api_key))
        if response.status_code not in (200, 204):
            target.leftovers.append(f"test package {package.name} {package.version} on feed {package.feed}: "
                                    f"delete answered {response.status_code}")

    @staticmethod
    def _gate_publish(target: Target) -> None:
        if not target.may_publish:
            pytest.skip("publishes test packages: give --proget-may-publish (MOCKPROGET_TARGET_MAY_PUBLISH)")

    # -- clauses -----------------------------------------------------------------------

    @clause("§1.1", "doc", creates=False)
    def test_the_admin_key_reads_the_feed_as_basic_api(self, proget_target: Target, proget_client: ProGetClient) -> None:
        """§1.1.2 [doc]: Basic ``api:«key»`` works on every feed type; a key that may do
        everything (§1.2: full control) is not refused reading the feed, nor is Basic
        «username»:«password» of the pseudo-key's user (§1.1.3 [doc]). On a Universal feed
        also ``X-ApiKey`` (the key, or pgutil's ``user:password`` [client]) and ``?key=``, and
        an unknown key is a 403 in each of them and in Basic (§5.2-§5.3 [doc])."""
        feed, feed_type = self._feed(proget_target)
        package = self._package(proget_target, feed, feed_type)
        response = proget_client.request("GET", package.read_path, api_key=None,
                                         headers={"Authorization": _basic(proget_target.api_key)})
        if response.status_code in (401, 403) or response.status_code >= 500:
            raise fail(f"§1.1 [doc]: Basic api:«key» with the admin key answered {response.status_code} "
                       f"on GET {package.read_path}", response)
        pseudo = proget_target.pseudo_key
        if pseudo is not None:  # §1.1.3 [doc]: Basic «username»:«password» on every feed type
            login = "Basic " + base64.b64encode(pseudo.encode()).decode()
            response = proget_client.request("GET", package.read_path, api_key=None, headers={"Authorization": login})
            if response.status_code in (401, 403) or response.status_code >= 500:
                raise fail(f"§1.1.3 [doc]: Basic «username»:«password» of the pseudo-key's user answered "
                           f"{response.status_code} on GET {package.read_path}", response)
        if feed_type != "universal":
            return
        # §5.2 [doc]: on /upack/ the key also travels in X-ApiKey and ?key=, and pgutil sends
        # user:password there as a pseudo-key [client]; an unknown key there is a 403 [doc:
        # "missing, unknown, or unauthorized API Key"]
        ways: list[dict[str, Any]] = [{"api_key": proget_target.api_key},
                                      {"api_key": None, "params": {"key": proget_target.api_key}}]
        if pseudo is not None:
            ways.append({"api_key": pseudo})
        for how in ways:
            response = proget_client.request("GET", package.read_path, **how)
            if response.status_code in (401, 403) or response.status_code >= 500:
                raise fail(f"§5.2 [doc]: the admin key was refused on GET {package.read_path}", response)
        bogus = hashlib.sha1(proget_target.run_id.encode()).hexdigest()  # noqa: S324 - a made-up key
        for carrier in PUBLISH_CARRIERS["universal"]:
            expect_error(proget_client.request("GET", package.read_path, api_key=None, **carried(carrier, bogus)),
                         403, f"§5.3 [doc]: an unknown key in the {carrier} carrier")

    @clause("§1.3", "doc")
    def test_publishing_without_or_with_a_bogus_credential_is_refused(
            self, proget_target: Target, proget_client: ProGetClient) -> None:
        """§1.3 [doc]: publishing needs a credential with the add privilege; no credential
        and an unknown key are refused (401 or 403; the mock: §1.4's table) and nothing is
        published."""
        feed, feed_type = self._feed(proget_target)
        self._gate_publish(proget_target)
        package = self._package(proget_target, feed, feed_type)
        bogus = "0" * 8 + hashlib.sha1(proget_target.run_id.encode()).hexdigest()[8:]  # noqa: S324
        proget_target.secrets.add(bogus)
        for key, on_mock, what in ((None, MOCK_NO_CREDENTIAL[feed_type], "no credential"),
                                   (bogus, MOCK_BAD_KEY[feed_type], "an unknown key")):
            response = self._publish(proget_client, proget_target, package, key)
            published = 200 <= response.status_code < 300
            self._cleanup(proget_client, proget_target, package, published)
            self._refused(response, proget_target, feed_type, on_mock, f"§1.3 [doc]: publishing with {what}")

    @clause("§1.2", "doc")
    def test_a_view_only_feed_key_reads_but_cannot_publish(
            self, proget_target: Target, proget_client: ProGetClient) -> None:
        """§1.2 [doc]: a feed key with View/Download reads its feed; publishing needs
        Add/Repackage, so it is refused in every carrier the feed type takes (403 on the mock),
        and so is deleting a package (Overwrite/Delete; Universal [doc], NuGet on the mock),
        which then stays."""
        feed, feed_type = self._feed(proget_target)
        self._gate_publish(proget_target)
        key = self._feed_key(proget_client, feed, ["view"])["key"]
        package = self._package(proget_target, feed, feed_type)
        read = proget_client.request("GET", package.read_path, api_key=None, headers=read_headers(feed_type, key))
        if read.status_code in (401, 403) or read.status_code >= 500:
            raise fail(f"§1.2 [doc]: a view key was refused reading its feed ({read.status_code})", read)
        for carrier in PUBLISH_CARRIERS[feed_type]:
            response = self._publish(proget_client, proget_target, package, key, carrier)
            self._cleanup(proget_client, proget_target, package, 200 <= response.status_code < 300)
            self._refused(response, proget_target, feed_type, 403,
                          f"§1.2 [doc]: publishing with a view-only feed key in the {carrier} carrier")
        if package.delete_path is None or not (feed_type == "universal" or proget_target.is_mock):
            return
        # §1.2 [doc] ("Overwrite/Delete is required for deletion endpoints", Universal §5.3
        # [doc]; NuGet on the mock): a package the admin published stays when the view key
        # tries to delete it, in every carrier
        published = self._publish(proget_client, proget_target, package, proget_target.api_key)
        if not 200 <= published.status_code < 300:
            raise fail(f"§1.2 [doc]: the admin key could not publish ({published.status_code})", published)
        try:
            for carrier in PUBLISH_CARRIERS[feed_type]:
                response = proget_client.request("DELETE", package.delete_path, api_key=None,
                                                 **carried(carrier, key))
                self._refused(response, proget_target, feed_type, 403,
                              f"§1.2 [doc]: deleting a package with a view-only feed key in the {carrier} carrier")
                still = proget_client.request("GET", package.download_path, api_key=None,
                                              headers=read_headers(feed_type, proget_target.api_key))
                if still.status_code != 200:
                    raise fail(f"§1.2 [doc]: a refused delete (view-only key, {carrier}) removed the package "
                               f"(download answered {still.status_code})", still)
        finally:
            self._cleanup(proget_client, proget_target, package, True)

    @clause("§1.2", "doc")
    def test_a_publishing_key_publishes_and_stops_once_deleted(
            self, proget_target: Target, proget_client: ProGetClient) -> None:
        """§1.2-§1.3 [doc] and §2-§5 [std]: a feed key with View/Download and Add/Repackage
        publishes (2xx) in every carrier its feed type takes (:data:`PUBLISH_CARRIERS`) and
        reads the package back; pushing the same NuGet version again without Overwrite/Delete
        is a 409 (§1.4 [doc]); once the key is deleted it can publish no more, in any carrier.
        A system key with Use/Manage Feeds publishes to a Universal feed (§5.3 [doc]; on the
        mock to every type). The package is deleted again where the protocol allows."""
        feed, feed_type = self._feed(proget_target)
        self._gate_publish(proget_target)
        info = self._feed_key(proget_client, feed, ["view", "add"])
        key = info["key"]
        for number, carrier in enumerate(PUBLISH_CARRIERS[feed_type]):
            package = self._package(proget_target, feed, feed_type)
            response = self._publish(proget_client, proget_target, package, key, carrier)
            published = 200 <= response.status_code < 300
            try:
                if not published:
                    raise fail(f"§1.2 [doc]: a view+add feed key in the {carrier} carrier could not publish "
                               f"({response.status_code})", response)
                got = self._download(proget_client, package, key)
                if got != package.content() and feed_type != "pypi":
                    raise fail(f"§2-§5: the package published in the {carrier} carrier does not come back "
                               "as sent", None)
                if number == 0 and feed_type == "nuget":  # a key without Overwrite/Delete pushes again
                    repush = self._publish(proget_client, proget_target, package, key, carrier)
                    if repush.status_code != 409:
                        raise fail(f"§1.4 [doc]: pushing an existing NuGet version without the overwrite "
                                   f"privilege must answer 409 (ProGet 5.3), got {repush.status_code}", repush)
            finally:
                self._cleanup(proget_client, proget_target, package, published)
        deleted = proget_client.delete(info["id"])
        if deleted.status_code != 200:
            raise fail(f"§3: deleting the feed key answered {deleted.status_code}", deleted)
        if feed_type == "universal" or proget_target.is_mock:
            # §5.3 [doc] (the mock: §1.2 [model] for every type): a system key with
            # Use/Manage Feeds (without full control) publishes too
            system = proget_client.create(sent := {"type": "system", "systemApis": ["feeds"], "logging": "none",
                                                   "displayName": proget_client.display_name("feeds system key")})
            if system.status_code != 200:
                raise fail(f"§2: creating a system key with feeds answered {system.status_code}", system)
            package = self._package(proget_target, feed, feed_type)
            response = self._publish(proget_client, proget_target, package, system.json()["key"])
            published = 200 <= response.status_code < 300
            self._cleanup(proget_client, proget_target, package, published)
            if not published:
                raise fail(f"§5.3 [doc]: a system key with {sent['systemApis']} could not publish "
                           f"({response.status_code})", response)
        self._refused_in_every_carrier(proget_client, proget_target, feed, feed_type, key, "a deleted key")

    @clause("§1.2", "doc")
    def test_an_expired_feed_key_cannot_publish(self, proget_target: Target, proget_client: ProGetClient) -> None:
        """§1.2 [doc] (expired keys never authenticate, api-keys §2): a View/Download +
        Add/Repackage feed key past its expiration is refused publishing in every carrier
        its feed type takes, and nothing is published. A past expiration refused at create
        (api-keys §8): a key expiring a moment ahead is tried once that moment has passed."""
        feed, feed_type = self._feed(proget_target)
        self._gate_publish(proget_target)
        body = {"type": "feed", "feed": feed, "packagePermissions": ["view", "add"], "logging": "none",
                "displayName": proget_client.display_name("expired feed key"),
                "expiration": "2024-08-01T00:00:00Z"}
        response = proget_client.create(body)
        if 400 <= response.status_code < 500:  # a past expiration may be refused: expire one soon
            moment = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=3)
            body["expiration"] = moment.isoformat().replace("+00:00", "Z")
            response = proget_client.create(body)
            wait = (moment - datetime.now(timezone.utc)).total_seconds() + 1.5
            time.sleep(max(wait, 0))
        if response.status_code != 200:
            raise fail(f"§2: creating a feed key for feed {feed} answered {response.status_code}", response)
        key = response.json()["key"]
        self._refused_in_every_carrier(proget_client, proget_target, feed, feed_type, key, "an expired key")

    def _refused_in_every_carrier(self, proget_client: ProGetClient, proget_target: Target, feed: str,
                                  feed_type: str, key: str, what: str) -> None:
        """§1.2 [doc]: publishing with ``key`` is refused in every carrier the feed type
        takes, and nothing stays published."""
        for carrier in PUBLISH_CARRIERS[feed_type]:
            package = self._package(proget_target, feed, feed_type)
            refused = self._publish(proget_client, proget_target, package, key, carrier)
            self._cleanup(proget_client, proget_target, package, 200 <= refused.status_code < 300)
            on_mock = 403 if feed_type == "universal" or carrier == "x-nuget-apikey" else 401
            self._refused(refused, proget_target, feed_type, on_mock,
                          f"§1.2 [doc]: publishing with {what} in the {carrier} carrier")

    @staticmethod
    def _download(client: ProGetClient, package: TestPackage, key: str) -> bytes:
        headers = read_headers(package.feed_type, key)
        path = package.download_path
        if package.feed_type == "pypi":  # PEP 503: the file is linked from the project page
            page = client.request("GET", f"pypi/{package.feed}/simple/{package.name}/", api_key=None, headers=headers)
            if page.status_code != 200:
                raise fail(f"§4.3 [std]: the project page answered {page.status_code}", page)
            links = re.findall(r'href="([^"#]+)', page.text)
            if not links:
                raise fail("§4.3 [std]: the project page links no file", page)
            response = requests.get(requests.compat.urljoin(page.url, links[-1]), headers=headers, timeout=30)
        else:
            response = client.request("GET", path, api_key=None, headers=headers)
        if response.status_code != 200:
            raise fail(f"§2-§5: downloading the published package answered {response.status_code}", response)
        return response.content

    @clause("§1.2", "model")
    def test_a_feed_key_outside_its_scope_is_refused(self, proget_target: Target, proget_client: ProGetClient) -> None:
        """§1.2 [model]: a feed key bound to a feed group that does not hold the feed gets
        403 there, reading and publishing alike, in every carrier the feed type takes."""
        feed, feed_type = self._feed(proget_target)
        group = proget_target.require("feed_group")
        assert proget_target.backend is not None
        if any(f.name == feed and group in f.groups for f in proget_target.backend.feed_details):
            pytest.skip(f"feed {feed} is in feed group {group}")
        key = self._feed_key(proget_client, feed, ["view", "add"], feedGroup=group)["key"]
        package = self._package(proget_target, feed, feed_type)
        for carrier in PUBLISH_CARRIERS[feed_type]:
            read = proget_client.request("GET", package.read_path, api_key=None, **carried(carrier, key))
            self._refused(read, proget_target, feed_type, 403,
                          f"§1.2 [model]: reading with a key of another scope in the {carrier} carrier")
            response = self._publish(proget_client, proget_target, package, key, carrier)
            self._cleanup(proget_client, proget_target, package, 200 <= response.status_code < 300)
            self._refused(response, proget_target, feed_type, 403,
                          f"§1.2 [model]: publishing with a key of another scope in the {carrier} carrier")


class TestFeeds(FeedClauses):
    pass
