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
from urllib.parse import urlsplit

import pytest
import requests

from mockproget_contracts.base import ClauseBase
from mockproget_contracts.checks import expect_error, fail
from mockproget_contracts.client import ProGetClient
from mockproget_contracts.packages import FEED_TYPES, TestPackage, wheel_bytes
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

#: §1.1 [doc], §2.2-§5.2: the carriers a key reads (lists, downloads) with, as the vendor
#: documents them or the type's clients send them: NuGet and pip read with Basic only
#: (``X-NuGet-ApiKey`` is for pushing, §2.2; on reads it is UNKNOWN), npm sends its token
#: or ``_auth`` on every request, Universal takes all three [doc].
READ_CARRIERS: dict[str, tuple[str, ...]] = {
    "npm": ("bearer", "basic"), "pypi": ("basic",), "nuget": ("basic",), "universal": ("x-apikey", "query", "basic")}

#: §1.2 [doc]: every non-empty set of feed-key permissions, and the few that tell each
#: permission's part apart (a quick run): view alone, each other one alone and beside view,
#: and view with add and delete.
PERMISSION_SETS: tuple[tuple[str, ...], ...] = tuple(
    tuple(p for i, p in enumerate(("view", "add", "promote", "delete")) if mask >> i & 1) for mask in range(1, 16))
QUICK_PERMISSION_SETS: tuple[tuple[str, ...], ...] = (
    ("view",), ("promote",), ("delete",), ("view", "promote"), ("view", "delete"), ("view", "add"),
    ("view", "add", "delete"))


#: RFC 9110 §5.1, §5.5 and §11.1 [std]: header field names and authentication schemes are
#: case-insensitive, and whitespace after a field value is not part of it. Each carrier in
#: its client's spelling first, then others a server must take alike (a clause rotates
#: through them); a key header's third spelling also ends its value with a blank.
SPELLINGS: dict[str, tuple[str, ...]] = {
    "bearer": ("Bearer", "bearer", "BEARER"), "basic": ("Basic", "basic", "BASIC"),
    "login": ("Basic", "basic", "BASIC"),
    "x-nuget-apikey": ("X-NuGet-ApiKey", "x-nuget-apikey", "X-NUGET-APIKEY"),
    "x-apikey": ("X-ApiKey", "x-apikey", "X-APIKEY"), "query": ("key",)}


def carried(carrier: str, key: str, spelling: int = 0) -> dict[str, Any]:
    """The request arguments (``headers``, ``params``) that put ``key`` in ``carrier``,
    spelled the ``spelling``-th way of :data:`SPELLINGS` (0: as the client sends it).
    ``login`` is Basic with ``key`` as the whole ``user:password`` (§1.1.3 [doc])."""
    if carrier == "query":
        return {"headers": {}, "params": {"key": key}}
    names = SPELLINGS[carrier]
    word = names[spelling % len(names)]
    if carrier == "bearer":
        return {"headers": {"Authorization": f"{word} {key}"}}
    if carrier in ("basic", "login"):
        pair = key if carrier == "login" else f"api:{key}"
        return {"headers": {"Authorization": f"{word} " + base64.b64encode(pair.encode()).decode()}}
    return {"headers": {word: key + (" " if spelling % len(names) == 2 else "")}}


#: §5.1 [doc][client]: upload verbs beyond the client's: Universal documents ``POST
#: …/upload`` and Inedo.UPack sends ``PUT`` (the one :class:`TestPackage` uses). A rule
#: about uploading holds for each.
UPLOAD_METHODS: dict[str, tuple[str, ...]] = {"universal": ("PUT", "POST")}


def _ok(response: requests.Response) -> bool:
    """Not refused: neither 401/403 nor a server error."""
    return response.status_code not in (401, 403) and response.status_code < 500


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
        # npm: every other package scoped (``@scope/name``, written ``@scope%2fname`` in
        # paths, §3.1 [std]): a rule holds for scoped and unscoped names alike. PyPI: a name
        # in mixed case with ``_``, read back (as pip reads it) by its normalized project
        # name (PEP 503 [std])
        npm_name = f"@mockproget/contracts-{target.run_id}" if number % 2 else f"mockproget-contracts-{target.run_id}"
        name = {"npm": npm_name, "pypi": f"MockProGet_Contracts-{target.run_id}",
                "nuget": f"MockProGet.Contracts.R{target.run_id}",
                "universal": f"contracts-{target.run_id}"}[feed_type]
        return TestPackage(feed_type, feed, name, f"1.0.{number}")

    @staticmethod
    def _publish(client: ProGetClient, target: Target, package: TestPackage, key: str | None,
                 carrier: str | None = None, method: str | None = None) -> requests.Response:
        """Publish ``package`` with ``key`` as its client sends it, or in ``carrier``
        (``method``: another upload verb the type takes, :data:`UPLOAD_METHODS`)."""
        sent = package.publish_request(target.url)
        method, path = method or sent.pop("method"), sent.pop("path")
        sent.pop("method", None)
        how = carried(carrier, key) if carrier is not None and key is not None else {
            "headers": publish_headers(package.feed_type, key)}
        return client.request(method, path, api_key=None, **how, **sent)

    @staticmethod
    def _scopes(target: Target, feed: str) -> list[tuple[str, str]]:
        """Where a feed key may be bound (api-keys §2): the feed, and the feed group when
        the target names one."""
        return [("feed", feed)] + ([("feedGroup", target.feed_group)] if target.feed_group else [])

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
    def _refused(response: requests.Response, target: Target, feed_type: str, on_mock: int, rule: str,
                 secret: str | None = None) -> None:
        """Refused: the mock's exact status; elsewhere 401 or 403 (Universal: 403 [doc]).
        Anywhere, a 401 carries a challenge (RFC 9110 §15.5.2 [std]: ``WWW-Authenticate``
        on every 401), and the answer never shows the ``secret`` that was sent, plain or
        as Basic's base64."""
        if target.is_mock:
            expected: int | tuple[int, ...] = on_mock
        else:
            expected = 403 if feed_type == "universal" else (401, 403)
        if response.status_code not in ((expected,) if isinstance(expected, int) else expected):
            raise fail(f"{rule}: expected {expected}, got {response.status_code}", response)
        challenge = response.headers.get("WWW-Authenticate", "")
        if response.status_code == 401 and not challenge.strip():
            raise fail(f"{rule}: a 401 without WWW-Authenticate (RFC 9110 §15.5.2 [std]; NuGet sends "
                       "stored credentials only after a challenge, §2.2 [client])", response)
        if response.status_code == 401 and feed_type == "nuget" and "basic" not in challenge.lower():
            raise fail(f"{rule}: a NuGet 401 must offer Basic (WWW-Authenticate: {challenge!r}): NuGet's "
                       "HttpClient sends the stored api:«key» only to a Basic challenge (§2.2 [client])",
                       response)
        if secret:
            shown = response.text + " ".join(f"{k}: {v}" for k, v in response.headers.items())
            encoded = base64.b64encode(f"api:{secret}".encode()).decode()
            if secret in shown or encoded in shown or base64.b64encode(secret.encode()).decode() in shown:
                raise fail(f"{rule}: the refusal shows the credential that was sent (a secret is never "
                           "echoed)", response)
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
        if response.status_code not in (200, 204, 404):  # 404: gone already (a delete that should not have been)
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
        published, with every upload verb the type takes (Universal: the documented POST
        and Inedo.UPack's PUT, §5.1). Where the protocol deletes (NuGet, Universal), a
        delete with no credential or an unknown key is refused too (Anonymous may view and
        download only, §1.3 [doc]; §5.3 [doc]) and the package stays."""
        feed, feed_type = self._feed(proget_target)
        self._gate_publish(proget_target)
        package = self._package(proget_target, feed, feed_type)
        bogus = "0" * 8 + hashlib.sha1(proget_target.run_id.encode()).hexdigest()[8:]  # noqa: S324
        proget_target.secrets.add(bogus)
        methods = UPLOAD_METHODS.get(feed_type, (None,))
        for key, on_mock, what in ((None, MOCK_NO_CREDENTIAL[feed_type], "no credential"),
                                   (bogus, MOCK_BAD_KEY[feed_type], "an unknown key")):
            for method in methods:
                response = self._publish(proget_client, proget_target, package, key, method=method)
                published = 200 <= response.status_code < 300
                self._cleanup(proget_client, proget_target, package, published)
                self._refused(response, proget_target, feed_type, on_mock,
                              f"§1.3 [doc]: publishing with {what}" + (f" ({method})" if method else ""), secret=key)
        if package.delete_path is None:
            return
        made = self._publish(proget_client, proget_target, package, proget_target.api_key)
        if not 200 <= made.status_code < 300:
            raise fail(f"§1.2 [doc]: the admin key could not publish ({made.status_code})", made)
        try:
            for key, on_mock, what in ((None, MOCK_NO_CREDENTIAL[feed_type], "no credential"),
                                       (bogus, MOCK_BAD_KEY[feed_type], "an unknown key")):
                response = proget_client.request("DELETE", package.delete_path, api_key=None,
                                                 headers=publish_headers(feed_type, key))
                self._refused(response, proget_target, feed_type, on_mock,
                              f"§1.3 [doc]: deleting a package with {what}", secret=key)
                if not self._present(proget_client, proget_target, package):
                    raise fail(f"§1.3 [doc]: a refused delete with {what} removed the package", response)
        finally:
            self._cleanup(proget_client, proget_target, package, True)

    @clause("§1.2", "doc")
    def test_a_view_only_feed_key_reads_but_cannot_publish(
            self, proget_target: Target, proget_client: ProGetClient) -> None:
        """§1.2 [doc]: a feed key with View/Download reads its feed; publishing needs
        Add/Repackage, so it is refused in every carrier the feed type takes (403 on the mock),
        for a scoped npm name as for an unscoped one, with every upload verb (Universal: POST
        and PUT, §5.1), and so is deleting a package (Overwrite/Delete; Universal [doc], NuGet on the mock),
        which then stays."""
        feed, feed_type = self._feed(proget_target)
        self._gate_publish(proget_target)
        key = self._feed_key(proget_client, feed, ["view"])["key"]
        package = self._package(proget_target, feed, feed_type)
        read = proget_client.request("GET", package.read_path, api_key=None, headers=read_headers(feed_type, key))
        if read.status_code in (401, 403) or read.status_code >= 500:
            raise fail(f"§1.2 [doc]: a view key was refused reading its feed ({read.status_code})", read)
        # npm: a scoped and an unscoped name (§3.1 [std]: @scope%2fname): the rule holds for both
        names = [package] + ([self._package(proget_target, feed, feed_type)] if feed_type == "npm" else [])
        for carrier in PUBLISH_CARRIERS[feed_type]:
            for each in names:
                for method in UPLOAD_METHODS.get(feed_type, (None,)):
                    response = self._publish(proget_client, proget_target, each, key, carrier, method=method)
                    self._cleanup(proget_client, proget_target, each, 200 <= response.status_code < 300)
                    self._refused(response, proget_target, feed_type, 403,
                                  f"§1.2 [doc]: publishing {each.name} with a view-only feed key in the {carrier} "
                                  "carrier" + (f" ({method})" if method else ""), secret=key)
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
                              f"§1.2 [doc]: deleting a package with a view-only feed key in the {carrier} carrier",
                              secret=key)
                admin: dict[str, Any] = {"headers": read_headers(feed_type, proget_target.api_key)}
                still = proget_client.request("GET", self._located(proget_client, proget_target, package, admin),
                                              api_key=None, **admin)
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
        is a 409 (§1.4 [doc]), and deleting it with the id in other letter case succeeds
        (NuGet ids are case-insensitive [std]); once the key is deleted it can publish no more,
        in any carrier.
        A system key with Use/Manage Feeds publishes to a Universal feed (§5.3 [doc]; on the
        mock to every type). A feed-group key, once deleted, is refused in every carrier too.
        The package is deleted again where the protocol allows."""
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
                got = self._download(proget_client, proget_target, package, key)
                if got != package.content():
                    raise fail(f"§2-§5: the package published in the {carrier} carrier does not come back "
                               "as sent", None)
                if number == 0 and feed_type == "nuget":  # a key without Overwrite/Delete pushes again
                    repush = self._publish(proget_client, proget_target, package, key, carrier)
                    if repush.status_code != 409:
                        raise fail(f"§1.4 [doc]: pushing an existing NuGet version without the overwrite "
                                   f"privilege must answer 409 (ProGet 5.3), got {repush.status_code}", repush)
                    # §2 [std]: a NuGet id is case-insensitive: ``dotnet nuget delete`` with the id
                    # in other letter case deletes the package
                    other = package.name.swapcase()
                    gone = proget_client.request("DELETE", f"nuget/{feed}/{other}/{package.version}", api_key=None,
                                                 headers=publish_headers(feed_type, proget_target.api_key))
                    if gone.status_code not in (200, 204):
                        raise fail(f"§2 [std]: DELETE nuget/{feed}/{other}/{package.version} (the id in other "
                                   f"letter case) answered {gone.status_code}, not 204: NuGet ids are "
                                   "case-insensitive", gone)
                    published = False  # deleted (or unlisted, as the server does with a delete)
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
        for where, name in self._scopes(proget_target, feed)[1:]:
            # a key bound to the feed group: once deleted it authenticates nowhere, whether or
            # not the group holds the feed
            group = self._feed_key(proget_client, feed, ["view", "add"], **{where: name})
            deleted = proget_client.delete(group["id"])
            if deleted.status_code != 200:
                raise fail(f"§3: deleting the feed-group key answered {deleted.status_code}", deleted)
            self._refused_in_every_carrier(proget_client, proget_target, feed, feed_type, group["key"],
                                           "a deleted key of a feed group")

    @clause("§1.2", "doc")
    def test_an_expired_feed_key_cannot_publish(self, proget_target: Target, proget_client: ProGetClient) -> None:
        """§1.2 [doc] (expired keys never authenticate, api-keys §2): a View/Download +
        Add/Repackage feed key past its expiration is refused publishing in every carrier
        its feed type takes, and nothing is published; so is one bound to the feed group
        (``--proget-feed-group``), whether or not the group holds the feed (an expired key
        authenticates nowhere). A past expiration refused at create (api-keys §8): a key
        expiring a moment ahead is tried once that moment has passed."""
        feed, feed_type = self._feed(proget_target)
        self._gate_publish(proget_target)
        keys: list[tuple[str, str]] = []
        moment: datetime | None = None
        for where, name in self._scopes(proget_target, feed):
            body = {"type": "feed", where: name, "packagePermissions": ["view", "add"], "logging": "none",
                    "displayName": proget_client.display_name(f"expired {where} key"),
                    "expiration": "2024-08-01T00:00:00Z"}
            response = proget_client.create(body)
            if 400 <= response.status_code < 500:  # a past expiration may be refused: expire one soon
                if moment is None:
                    moment = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=3)
                body["expiration"] = moment.isoformat().replace("+00:00", "Z")
                response = proget_client.create(body)
            if response.status_code != 200:
                raise fail(f"§2: creating a feed key for {where} {name} answered {response.status_code}", response)
            keys.append((where, response.json()["key"]))
        if moment is not None:
            time.sleep(max((moment - datetime.now(timezone.utc)).total_seconds() + 1.5, 0))
        for where, key in keys:
            self._refused_in_every_carrier(proget_client, proget_target, feed, feed_type, key,
                                           "an expired key" + (" of a feed group" if where == "feedGroup" else ""))

    def _refused_in_every_carrier(self, proget_client: ProGetClient, proget_target: Target, feed: str,
                                  feed_type: str, key: str, what: str) -> None:
        """§1.2 [doc]: publishing with ``key`` is refused in every carrier (each spelled a
        way of its own, RFC 9110 [std]) the feed type takes, and nothing stays published;
        reading with it is refused too (a key that does not authenticate is no anonymous
        caller: §1.4's "bad cred", 403 on Universal [doc]), also where the read needs
        nothing (the feed holds a package the admin published)."""
        existing = self._package(proget_target, feed, feed_type)
        made = self._publish(proget_client, proget_target, existing, proget_target.api_key)
        try:
            for number, carrier in enumerate(PUBLISH_CARRIERS[feed_type]):
                on_mock = 403 if feed_type == "universal" or carrier == "x-nuget-apikey" else 401
                spelling = number + len(what)
                if carrier in READ_CARRIERS[feed_type]:
                    read = proget_client.request("GET", existing.read_path, api_key=None,
                                                 **carried(carrier, key, spelling))
                    self._refused(read, proget_target, feed_type, on_mock,
                                  f"§1.2 [doc]: reading with {what} in the {carrier} carrier", secret=key)
                package = self._package(proget_target, feed, feed_type)
                refused = self._publish_as(proget_client, proget_target, package, carried(carrier, key, spelling))
                self._cleanup(proget_client, proget_target, package, 200 <= refused.status_code < 300)
                self._refused(refused, proget_target, feed_type, on_mock,
                              f"§1.2 [doc]: publishing with {what} in the {carrier} carrier", secret=key)
        finally:
            self._cleanup(proget_client, proget_target, existing, 200 <= made.status_code < 300)

    @staticmethod
    def _publish_as(client: ProGetClient, target: Target, package: TestPackage,
                    how: dict[str, Any]) -> requests.Response:
        """Publish ``package`` with the credential arguments ``how`` (:func:`carried`)."""
        sent = package.publish_request(target.url)
        method, path = sent.pop("method"), sent.pop("path")
        return client.request(method, path, api_key=None, **how, **sent)

    @staticmethod
    def _located(client: ProGetClient, target: Target, package: TestPackage, how: dict[str, Any]) -> str:
        """Where ``package`` downloads from, found as its client finds it (relative to the
        base URL): npm's ``dist.tarball`` in the packument [client: npm install]; NuGet's
        PackageBaseAddress in the v3 service index [std]; Universal's documented
        ``download/«group»/«name»/«version»`` [doc]. ``how``: the credential to ask with."""
        if package.feed_type == "npm":
            where = package.read_path
            document = client.request("GET", where, api_key=None, **how)
            try:
                url = document.json()["versions"][package.version]["dist"]["tarball"]
            except (ValueError, KeyError, TypeError):
                raise fail(f"§3.3 [client]: the packument (GET {where}: {document.status_code}) gives no "
                           f"versions[{package.version}].dist.tarball for npm install to fetch", document) from None
        elif package.feed_type == "nuget":
            where = f"nuget/{package.feed}/v3/index.json"
            index = client.request("GET", where, api_key=None, **how)
            try:
                base = next(r["@id"] for r in index.json()["resources"]
                            if str(r.get("@type", "")).startswith("PackageBaseAddress/3.0.0"))
            except (ValueError, KeyError, TypeError, StopIteration, AttributeError):
                raise fail(f"§2.3 [std]: the v3 service index (GET {where}: {index.status_code}) names no "
                           "PackageBaseAddress/3.0.0 resource", index) from None
            lower = package.name.lower()
            url = f"{str(base).rstrip('/')}/{lower}/{package.version}/{lower}.{package.version}.nupkg"
        else:
            return package.download_path
        if not isinstance(url, str) or not url:
            raise fail(f"§2-§3: the download URL of {package.name} {package.version} is {url!r}", None)
        resolved = urlsplit(requests.compat.urljoin(target.url, url))
        base_path = urlsplit(target.url).path
        path = resolved.path[len(base_path):] if resolved.path.startswith(base_path) else resolved.path.lstrip("/")
        return path + (f"?{resolved.query}" if resolved.query else "")

    def _present(self, client: ProGetClient, target: Target, package: TestPackage) -> bool:
        """Whether ``package`` (this version) is on its feed, as the admin key sees it."""
        admin: dict[str, Any] = {"headers": read_headers(package.feed_type, target.api_key)}
        if package.feed_type in ("npm", "pypi"):
            page = client.request("GET", package.read_path if package.feed_type == "npm" else
                                  f"pypi/{package.feed}/simple/{package.project}/", api_key=None, **admin)
            if page.status_code != 200:
                return False
            if package.feed_type == "pypi":
                return wheel_bytes(package.name, package.version)[0] in page.text
            try:
                return package.version in page.json().get("versions", {})
            except (ValueError, AttributeError):
                return False
        found = client.request("GET", self._located(client, target, package, admin), api_key=None, **admin)
        return found.status_code == 200

    def _download(self, client: ProGetClient, target: Target, package: TestPackage, key: str) -> bytes:
        headers = read_headers(package.feed_type, key)
        path = self._located(client, target, package, {"headers": headers}) if package.feed_type != "pypi" else ""
        if package.feed_type == "pypi":  # PEP 503: the file is linked from the project page
            page = client.request("GET", f"pypi/{package.feed}/simple/{package.project}/", api_key=None,
                                  headers=headers)
            if page.status_code != 200:
                raise fail(f"§4.3 [std]: the project page answered {page.status_code}", page)
            filename = wheel_bytes(package.name, package.version)[0]
            links = [link for link in re.findall(r'href="([^"#]+)', page.text)
                     if urlsplit(link).path.rpartition("/")[2] == filename]
            if not links:
                raise fail(f"§4.3 [std]: the project page links no file named {filename} (PEP 503: one "
                           "anchor per file)", page)
            response = requests.get(requests.compat.urljoin(page.url, links[0]), headers=headers, timeout=30)
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

    @clause("§1.2", "doc")
    def test_each_permission_set_is_held_in_every_carrier(
            self, proget_target: Target, proget_client: ProGetClient) -> None:
        """§1.2 [doc], as a property over permission sets x carriers x spellings: a feed key
        with permissions P, in every carrier its feed type takes (each spelled every way
        RFC 9110 [std] makes equal, in turn), reads the feed when P holds View/Download,
        publishes when P holds View/Download and Add/Repackage, downloads a package of the
        feed (its own or the admin's) when P holds View/Download, is refused publishing
        when P lacks Add/Repackage (Promote or Overwrite/Delete alone add nothing), and a
        refused publish leaves nothing on the feed; where
        the protocol deletes (Universal [doc]; NuGet on the mock), it deletes a package
        when P holds View/Download and Overwrite/Delete and is refused (the package stays)
        when P lacks Overwrite/Delete. A NuGet push of an existing version is a 409 without
        Overwrite/Delete in every carrier (§1.4 [doc]). ``add`` without ``view`` may go
        either way (§1.2 UNKNOWN). Enumerated: every non-empty P (a quick run: those
        that tell the four apart), each in every carrier."""
        feed, feed_type = self._feed(proget_target)
        self._gate_publish(proget_target)
        sets = PERMISSION_SETS if proget_target.max_examples >= 20 else QUICK_PERMISSION_SETS
        for index, permissions in enumerate(sets):
            have = set(permissions)
            key = self._feed_key(proget_client, feed, list(permissions))["key"]
            for number, carrier in enumerate(PUBLISH_CARRIERS[feed_type]):
                how = carried(carrier, key, index + number)
                where = f"a feed key with {'+'.join(permissions)} in the {carrier} carrier " \
                        f"({' '.join(how['headers']) or 'query'})"
                package = self._package(proget_target, feed, feed_type)
                reads = carrier in READ_CARRIERS[feed_type]
                if "view" in have and reads:
                    read = proget_client.request("GET", package.read_path, api_key=None, **how)
                    if not _ok(read):
                        raise fail(f"§1.2 [doc]: reading with {where} answered {read.status_code}", read)
                response = self._publish_as(proget_client, proget_target, package, how)
                published = by_key = 200 <= response.status_code < 300
                try:
                    if not published and self._present(proget_client, proget_target, package):
                        raise fail(f"§1.2 [doc]: publishing with {where} was refused ({response.status_code}), "
                                   "yet the package is on the feed", response)
                    if {"view", "add"} <= have and not published:
                        raise fail(f"§1.2 [doc]: publishing with {where} answered {response.status_code}",
                                   response)
                    if "view" in have and reads and feed_type != "pypi":  # View/Download: a package of the feed
                        if not published:  # comes back, whoever published it
                            made = self._publish(proget_client, proget_target, package, proget_target.api_key)
                            published = 200 <= made.status_code < 300
                            if not published:
                                raise fail(f"§1.2 [doc]: the admin key could not publish ({made.status_code})",
                                           made)
                        got = proget_client.request("GET", self._located(proget_client, proget_target, package,
                                                                         how), api_key=None, **how)
                        if got.status_code != 200 or got.content != package.content():
                            raise fail(f"§1.2 [doc]: downloading the package just published with {where} "
                                       f"answered {got.status_code}" + (", not the package sent"
                                                                        if got.status_code == 200 else ""), got)
                    if "add" not in have:
                        self._refused(response, proget_target, feed_type, 403, f"§1.2 [doc]: publishing with "
                                      f"{where} (no Add/Repackage)", secret=key)
                    if by_key and feed_type == "nuget":
                        again = self._publish_as(proget_client, proget_target, package, how)
                        if "delete" not in have and again.status_code != 409:
                            raise fail(f"§1.4 [doc]: pushing an existing NuGet version with {where} (no "
                                       f"Overwrite/Delete) must answer 409, got {again.status_code}", again)
                        if "delete" in have and proget_target.is_mock and not 200 <= again.status_code < 300:
                            raise fail(f"§1.2 [model]: pushing an existing NuGet version with {where} (with "
                                       f"Overwrite/Delete) answered {again.status_code}", again)
                    if package.delete_path is not None and (feed_type == "universal" or proget_target.is_mock):
                        if not published:  # the admin publishes what the key may delete (or may not)
                            made = self._publish(proget_client, proget_target, package, proget_target.api_key)
                            if not 200 <= made.status_code < 300:
                                raise fail(f"§1.2 [doc]: the admin key could not publish ({made.status_code})",
                                           made)
                            published = True  # from here on, whatever fails, the cleanup deletes it
                        published = self._delete_with(proget_client, proget_target, package, how, have, where,
                                                      key)
                finally:
                    self._cleanup(proget_client, proget_target, package, published)

    def _delete_with(self, client: ProGetClient, target: Target, package: TestPackage, how: dict[str, Any],
                     have: set[str], where: str, key: str) -> bool:
        """Delete ``package`` (published) with ``how``; returns whether it is still there."""
        assert package.delete_path is not None
        admin: dict[str, Any] = {"headers": read_headers(package.feed_type, target.api_key)}
        located = self._located(client, target, package, admin)
        response = client.request("DELETE", package.delete_path, api_key=None, **how)
        still = client.request("GET", located, api_key=None, **admin)
        if 200 <= response.status_code < 300 and still.status_code == 200:
            raise fail(f"§1.2 [doc]: delete with {where} answered {response.status_code}, yet the package "
                       "is still there", still)
        if not 200 <= response.status_code < 300 and still.status_code != 200:
            raise fail(f"§1.2 [doc]: delete with {where} answered {response.status_code}, yet the package "
                       "is gone", response)
        if {"view", "delete"} <= have and not 200 <= response.status_code < 300:
            raise fail(f"§1.2 [doc]: deleting with {where} answered {response.status_code}", response)
        if "delete" not in have:
            self._refused(response, target, package.feed_type, 403,
                          f"§1.2 [doc]: deleting with {where} (no Overwrite/Delete)", secret=key)
        return still.status_code == 200

    @clause("§1.1", "doc")
    def test_one_user_is_one_principal_in_every_form(
            self, proget_target: Target, proget_client: ProGetClient) -> None:
        """§1.1.3 [doc], §1.2 [doc] and api-keys §3 [doc] ("pseudo-keys work like a personal
        key"), as a property over credential forms: the pseudo-key's user as a Basic
        «username»:«password» login, as its pseudo-key where the feed type takes one
        (NuGet's ``X-NuGet-ApiKey`` [doc], Universal's ``X-ApiKey`` [client: pgutil]), and a
        personal key of that user in every key carrier is one principal: each form reads
        and publishes alike (all allowed or all refused; whatever the user may do), and so
        does a second personal key of that user. A personal key of that user past its
        expiration, and the personal key once deleted, are refused in every carrier; the
        second key is still judged as before."""
        feed, feed_type = self._feed(proget_target)
        self._gate_publish(proget_target)
        pseudo = proget_target.require("pseudo_key")
        user = pseudo.partition(":")[0]
        forms: list[tuple[str, str, str]] = [("a Basic login", "login", pseudo)]
        pseudo_carrier = {"nuget": "x-nuget-apikey", "universal": "x-apikey"}.get(feed_type)
        if pseudo_carrier is not None:
            forms.append((f"the pseudo-key in {pseudo_carrier}", pseudo_carrier, pseudo))
        personal = proget_client.create({"type": "personal", "user": user, "logging": "none",
                                         "displayName": proget_client.display_name(f"personal key of {user}")})
        info: dict[str, Any] | None = personal.json() if personal.status_code == 200 else None
        second: dict[str, Any] | None = None
        if info is not None:
            forms += [(f"a personal key of {user} in the {c} carrier", c, info["key"]) for c in PUBLISH_CARRIERS[
                feed_type]]
            # a second personal key of the same user is the same principal too
            made = proget_client.create({"type": "personal", "user": user, "logging": "none",
                                         "displayName": proget_client.display_name(f"second key of {user}")})
            second = made.json() if made.status_code == 200 else None
            if second is not None:
                forms.append((f"a second personal key of {user}", PUBLISH_CARRIERS[feed_type][0], second["key"]))
        seen: list[tuple[str, bool, bool, requests.Response]] = []

        def judge(number: int, what: str, carrier: str, secret: str) -> None:
            how = carried(carrier, secret, number)
            package = self._package(proget_target, feed, feed_type)
            read = proget_client.request("GET", package.read_path, api_key=None, **how)
            response = self._publish_as(proget_client, proget_target, package, how)
            published = 200 <= response.status_code < 300
            self._cleanup(proget_client, proget_target, package, published)
            reads = carrier == "login" or carrier in READ_CARRIERS[feed_type]  # a read compared where it is one
            seen.append((what, _ok(read) if reads else seen[0][1], published, response if _ok(read) else read))
            first = seen[0]
            if (first[1], first[2]) != (seen[-1][1], published):
                def told(entry: tuple[str, bool, bool, requests.Response]) -> str:
                    return f"{entry[0]}: read {'allowed' if entry[1] else 'refused'}, publish " \
                           f"{'allowed' if entry[2] else 'refused'}"
                raise fail(f"§1.1 [doc]: one user's credential forms are judged differently ({told(first)}; "
                           f"{told(seen[-1])}, publish answered {response.status_code})", response)

        for number, (what, carrier, secret) in enumerate(forms):
            judge(number, what, carrier, secret)
        if info is None:
            return
        expired = proget_client.create({"type": "personal", "user": user, "logging": "none",
                                        "expiration": "2024-08-01T00:00:00Z",
                                        "displayName": proget_client.display_name(f"expired key of {user}")})
        if expired.status_code == 200:  # a past expiration refused at create (§8): not tried here
            self._refused_in_every_carrier(proget_client, proget_target, feed, feed_type, expired.json()["key"],
                                           "an expired personal key")
        deleted = proget_client.delete(info["id"])
        if deleted.status_code != 200:
            raise fail(f"§3: deleting the personal key answered {deleted.status_code}", deleted)
        self._refused_in_every_carrier(proget_client, proget_target, feed, feed_type, info["key"],
                                       "a deleted personal key")
        if second is not None:  # the user's other key is untouched by that delete
            judge(len(forms), f"the second personal key of {user}, after the first was deleted",
                  PUBLISH_CARRIERS[feed_type][-1], second["key"])

    @clause("§5.3", "doc")
    def test_universal_download_statuses(self, proget_target: Target, proget_client: ProGetClient) -> None:
        """§5.1/§5.3 [doc] (Universal feeds only): ``?latest`` instead of a version gives
        the package; an unknown version or package is a 404 (not a refusal, not a 200), and
        so is the same name and version in another group (a group is part of what names a
        package), in every key carrier. (A path without a version is not tried: a group may have several
        segments, so it cannot be told from a version.)"""
        feed, feed_type = self._feed(proget_target)
        if feed_type != "universal":
            return  # nothing to check: the rule is Universal's (§5)
        self._gate_publish(proget_target)
        package = self._package(proget_target, feed, feed_type)
        made = self._publish(proget_client, proget_target, package, proget_target.api_key)
        if not 200 <= made.status_code < 300:
            raise fail(f"§5.3 [doc]: the admin key could not publish ({made.status_code})", made)
        base = f"upack/{feed}/download/mockproget/{package.name}"
        try:
            for number, carrier in enumerate(PUBLISH_CARRIERS[feed_type]):
                how = carried(carrier, proget_target.api_key, number)
                for path, status in ((f"{base}?latest", 200), (f"{base}/9.{number}.999", 404),
                                     (f"upack/{feed}/download/mockproget/{package.name}-none/1.0.0", 404),
                                     (f"upack/{feed}/download/mockproget-other/{package.name}/{package.version}",
                                      404)):
                    got = proget_client.request("GET", path, api_key=None, **how)
                    if got.status_code != status:
                        raise fail(f"§5.3 [doc]: GET {path} (admin key in the "
                                   f"{carrier} carrier) must answer {status}, got {got.status_code}", got)
                    if status == 200 and got.content != package.content():
                        raise fail("§5.3 [doc]: ?latest does not give the package published", got)
        finally:
            self._cleanup(proget_client, proget_target, package, True)

    @clause("§3.2", "doc")
    def test_npm_login_answers_a_token_that_works(self, proget_target: Target,
                                                  proget_client: ProGetClient) -> None:
        """§3.2 [doc][client] (npm feeds only): ``npm login`` answering ``api`` and a key
        sends ``PUT …/-/user/org.couchdb.user:api`` with the key as the password; the
        answer is a 2xx JSON object whose string ``token`` npm then sends as its
        ``_authToken`` (Bearer), so that token reads the feed and publishes as the key
        does (a View/Download + Add/Repackage feed key). A key no server knows gets no
        token (a 4xx). Which token is sent back is open (§8.5)."""
        feed, feed_type = self._feed(proget_target)
        if feed_type != "npm":
            return  # nothing to check: the rule is npm's (§3)
        self._gate_publish(proget_target)
        key = self._feed_key(proget_client, feed, ["view", "add"])["key"]
        bogus = hashlib.sha1(f"login {proget_target.run_id}".encode()).hexdigest()  # noqa: S324 - a made-up key
        proget_target.secrets.add(bogus)
        path = f"npm/{feed}/-/user/org.couchdb.user:api"
        for password, good in ((key, True), (bogus, False)):
            document: dict[str, Any] = {"_id": "org.couchdb.user:api", "name": "api", "password": password, "type": "user",
                        "roles": [], "date": datetime.now(timezone.utc).isoformat()}
            answer = proget_client.request("PUT", path, api_key=None, json_body=document)
            if not good:
                if not 400 <= answer.status_code < 500:
                    raise fail(f"§3.2 [client]: npm login with an unknown key answered {answer.status_code} "
                               "(npm stores any 2xx token as the registry's credential)", answer)
                continue
            try:
                token = answer.json()["token"] if 200 <= answer.status_code < 300 else None
            except (ValueError, KeyError, TypeError):
                token = None
            if not isinstance(token, str) or not token:
                raise fail(f"§3.2 [client]: npm login with api and a valid key answered {answer.status_code} "
                           "without a string token (npm stores res.token as its _authToken)", answer)
            proget_target.secrets.add(token)
            how: dict[str, Any] = {"headers": {"Authorization": f"Bearer {token}"}}
            package = self._package(proget_target, feed, feed_type)
            read = proget_client.request("GET", package.read_path, api_key=None, **how)
            if not _ok(read):
                raise fail(f"§3.2 [client]: the token npm login gave was refused reading ({read.status_code})", read)
            response = self._publish_as(proget_client, proget_target, package, how)
            published = 200 <= response.status_code < 300
            self._cleanup(proget_client, proget_target, package, published)
            if not published:
                raise fail(f"§3.2 [client]: the token npm login gave for a view+add key could not publish "
                           f"({response.status_code})", response)


    @clause("§1.2", "model")
    def test_each_principal_gets_its_own_privileges(self, proget_target: Target,
                                                    proget_client: ProGetClient) -> None:
        """§1.2 [model] (the mock's table, checked against the embedded mock only), in every
        carrier the feed type takes: a feed key for another feed of the same type is refused
        (403) reading and publishing; a key for a feed group that holds the feed publishes;
        a system key with only ``sca``/``sbom-upload`` is refused publishing; a personal
        key of --user publishes exactly when that user holds view and add on the feed."""
        feed, feed_type = self._feed(proget_target)
        self._gate_publish(proget_target)
        backend = proget_target.backend
        if backend is None:
            return  # [model]: the kit's gate runs it against the embedded mock only
        details = [f for f in backend.feed_details if f.type == feed_type]
        other = next((f.name for f in details if f.name != feed), None)
        groups = next((sorted(f.groups) for f in details if f.name == feed), [])
        keyed: list[tuple[str, str, bool]] = []  # what, key, may publish
        if other is not None:
            keyed.append((f"a feed key for feed {other}",
                          self._feed_key(proget_client, other, ["view", "add"])["key"], False))
        if groups:
            keyed.append((f"a feed key for its feed group {groups[0]}",
                          self._feed_key(proget_client, feed, ["view", "add"], feedGroup=groups[0])["key"], True))
        for apis in (["sca"], ["sbom-upload"], ["sca", "sbom-upload"]):
            made = proget_client.create({"type": "system", "systemApis": apis, "logging": "none",
                                         "displayName": proget_client.display_name(f"system {'+'.join(apis)}")})
            if made.status_code != 200:
                raise fail(f"§2: creating a system key with {apis} answered {made.status_code}", made)
            keyed.append((f"a system key with {'+'.join(apis)}", made.json()["key"], False))
        if proget_target.user is not None:
            owner = next((u for u in backend.users if u.name == proget_target.user), None)
            made = proget_client.create({"type": "personal", "user": proget_target.user, "logging": "none",
                                         "displayName": proget_client.display_name("personal key")})
            if owner is not None and made.status_code == 200:
                may = owner.admin or {"view", "add"} <= owner.feed_privileges(feed)
                keyed.append((f"a personal key of {owner.name}", made.json()["key"], may))
        if feed_type == "npm":  # §3.3 [model]: whoami names the user acted for, or api
            named = [(what, key, "api") for what, key, _ in keyed if not what.startswith("a personal key")]
            named += [(what, key, str(proget_target.user)) for what, key, _ in keyed
                      if what.startswith("a personal key")]
            for what, key, expected in named[:2] + named[-1:]:
                told = proget_client.request("GET", f"npm/{feed}/-/whoami", api_key=None,
                                             headers={"Authorization": f"Bearer {key}"})
                try:
                    username = told.json().get("username")
                except (ValueError, AttributeError):
                    username = None
                if told.status_code == 200 and username != expected:
                    raise fail(f"§3.3 [model]: npm whoami with {what} names {username!r}, not {expected!r}", told)
        for index, (what, key, may) in enumerate(keyed):
            for number, carrier in enumerate(PUBLISH_CARRIERS[feed_type]):
                how = carried(carrier, key, index + number)
                package = self._package(proget_target, feed, feed_type)
                response = self._publish_as(proget_client, proget_target, package, how)
                published = 200 <= response.status_code < 300
                self._cleanup(proget_client, proget_target, package, published)
                if may and not published:
                    raise fail(f"§1.2 [model]: publishing with {what} in the {carrier} carrier answered "
                               f"{response.status_code}", response)
                if not may:
                    self._refused(response, proget_target, feed_type, 403,
                                  f"§1.2 [model]: publishing with {what} in the {carrier} carrier", secret=key)
                    if what.startswith("a feed key for feed"):
                        read = proget_client.request("GET", package.read_path, api_key=None, **how)
                        self._refused(read, proget_target, feed_type, 403,
                                      f"§1.2 [model]: reading with {what} in the {carrier} carrier", secret=key)


class TestFeeds(FeedClauses):
    pass
