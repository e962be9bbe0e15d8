"""Clauses for ``ApiKeyInfo`` validation (spec §2 [doc][client], §8 open points)."""

from __future__ import annotations

import itertools
import re
import secrets
import zlib
from collections.abc import Callable
from typing import Any

import pytest

from mockproget_contracts.base import ClauseBase, for_all
from mockproget_contracts.checks import (
    expect_created,
    expect_error,
    expect_listed_as_sent,
    expect_proget_headers,
    expect_status,
    fail,
)
from mockproget_contracts.client import ProGetClient
from mockproget_contracts.strategies import (
    LIMITED_SYSTEM_APIS,
    MUTATIONS,
    PACKAGE_PERMISSIONS,
    feed_bodies,
    invalid_bodies,
    personal_bodies,
    system_bodies,
)
from mockproget_contracts.target import Target, clause

__all__ = ["ValidationClauses", "rule_id"]


def rule_id(rule: str) -> str:
    """A rule's text as a test id usable in ``-k``: ``systemApis-is-required-for-a-system-key``."""
    return re.sub(r"[^A-Za-z0-9]+", "-", rule).strip("-")


def _names(target: Target) -> dict[str, str]:
    invented = f"{target.name_prefix}-nonexistent"
    return {"feed": target.feed or invented + "-feed", "feed_group": target.feed_group or invented + "-group",
            "user": target.user or invented + "-user", "missing_user": invented + "-user"}


def _check_valid(client: ProGetClient, rule: str) -> Callable[[dict[str, Any]], None]:
    def check(body: dict[str, Any]) -> None:
        try:
            response = client.create(body)
            info = expect_created(response, body, f"§2 [doc] {rule}")
            expect_proget_headers(response, "§6 [client] headers on a create answer")
            listed = {k["id"]: k for k in client.list_keys()}
            if info["id"] not in listed:
                raise fail(f"§1 [doc]: the created key #{info['id']} is not listed", response)
            expect_listed_as_sent(listed[info["id"]], body, response, f"§2 [doc] {rule}", info["key"])
        finally:
            client.cleanup()
    return check


class ValidationClauses(ClauseBase):
    """§2: every valid body is accepted, every body breaking one rule is a 400."""

    @clause("§2", "doc")
    def test_valid_system_keys_are_created(self, proget_target: Target, proget_client: ProGetClient) -> None:
        """Any valid system key body is created and listed as sent (§2 [doc][client])."""
        strategy = system_bodies(proget_client.display_name,
                                 require_expiration=proget_target.requires_expiration())
        for_all(proget_target, strategy, _check_valid(proget_client, "a valid system key"))

    @clause("§2", "doc")
    def test_valid_feed_keys_are_created(self, proget_target: Target, proget_client: ProGetClient) -> None:
        """Any valid feed key body (feed or feed group) is created and listed as sent (§2)."""
        if proget_target.feed is None:
            proget_target.require("feed_group")
        strategy = feed_bodies(proget_client.display_name, proget_target.feed, proget_target.feed_group,
                               require_expiration=proget_target.requires_expiration())
        for_all(proget_target, strategy, _check_valid(proget_client, "a valid feed key"))

    @clause("§2", "doc", free_edition=True)
    def test_valid_personal_keys_are_created(self, proget_target: Target, proget_client: ProGetClient) -> None:
        """Any valid personal key body for an existing user is created and listed as sent (§2)."""
        strategy = personal_bodies(proget_client.display_name, proget_target.require("user"),
                                   require_expiration=proget_target.requires_expiration())
        for_all(proget_target, strategy, _check_valid(proget_client, "a valid personal key"))

    @pytest.mark.parametrize("rule", [m[0] for m in MUTATIONS], ids=[rule_id(m[0]) for m in MUTATIONS])
    @clause("§2", "doc")
    def test_invalid_body_is_refused(self, rule: str, proget_target: Target,
                                     proget_client: ProGetClient) -> None:
        """A body breaking exactly one §2 rule gets 400 with a text/plain explanation, and
        nothing is created (§2 [doc][client], §6 [doc]), with Content-Length or chunked
        (about every other body, §7) alike."""
        strategy = invalid_bodies(proget_client.display_name, _names(proget_target), rule=rule,
                                  require_expiration=proget_target.requires_expiration())

        def check(value: tuple[str, dict[str, Any]]) -> None:
            broken, body = value
            # about every other body chunked, as pgutil sends it (§7), decided by the body's
            # fields (not its generated names), so a replayed example is framed the same
            chunked = zlib.crc32(repr(sorted((k, repr(v)) for k, v in body.items()
                                             if k not in ("displayName", "description"))).encode()) % 2 == 1
            try:
                response = proget_client.create(body, chunked=chunked)
                expect_error(response, 400, f"§2 [doc] {broken}" + (" (a chunked body)" if chunked else ""))
                if body.get("displayName") in {k.get("displayName") for k in proget_client.list_keys()}:
                    raise fail(f"§6 [doc]: the create answered 400 ({broken}), yet the key exists", response)
            finally:
                proget_client.cleanup()
        for_all(proget_target, strategy, check, max_examples=max(2, proget_target.max_examples // 5))

    @pytest.mark.parametrize("body", [b"", b"[]", b'"system"', b"{not json", b"null"],
                             ids=["empty", "array", "string", "malformed", "null"])
    @clause("§2", "doc")
    def test_body_must_be_an_api_key_info_object(self, body: bytes, proget_client: ProGetClient) -> None:
        """A create body that is not an ApiKeyInfo object is invalid input: 400 (§2, §6 [doc])."""
        response = proget_client.create(None, raw=body)
        expect_error(response, 400, f"§6 [doc] a create body of {body!r}")

    @clause("§2", "doc")
    def test_display_name_and_description_are_optional(self, proget_target: Target,
                                                        proget_client: ProGetClient) -> None:
        """A key without displayName (or without description) is created (§2 [doc]). The
        one without displayName carries the kit's mark in its description, to be found again."""
        body = {"type": "system", "systemApis": ["sca"], "logging": "none"}
        bare = {"type": "system", "displayName": proget_client.display_name("no description"),
                "systemApis": ["sca"], "logging": "none"}
        if proget_target.requires_expiration():
            bare["expiration"] = "2099-01-01T00:00:00Z"
        expect_created(proget_client.create(bare), bare, "§2 [doc] a key with no description")
        body["description"] = proget_client.display_name("no displayName")
        if proget_target.requires_expiration():
            body["expiration"] = "2099-01-01T00:00:00Z"
        response = proget_client.create(body)
        info = expect_created(response, body, "§2 [doc] a key with no displayName")
        if info["id"] not in {k["id"] for k in proget_client.list_keys()}:
            raise fail(f"§1 [doc]: the created key #{info['id']} is not listed", response)

    @clause("§2", "doc")
    def test_every_system_api_combination_is_accepted(self, proget_target: Target,
                                                      proget_client: ProGetClient) -> None:
        """``["full-control"]`` and every non-empty combination of feeds, sca, sbom-upload (§2 [doc])."""
        combos = [["full-control"]] + [list(c) for n in (1, 2, 3)
                                      for c in itertools.combinations(LIMITED_SYSTEM_APIS, n)]
        expiration = proget_target.requires_expiration()
        for apis in combos:
            body = {"type": "system", "displayName": proget_client.display_name(",".join(apis)),
                    "systemApis": apis, "logging": "none"}
            if expiration:
                body["expiration"] = "2099-01-01T00:00:00Z"
            _check_valid(proget_client, f"systemApis {apis}")(body)

    @clause("§2", "doc")
    def test_every_permission_combination_is_accepted(self, proget_target: Target,
                                                      proget_client: ProGetClient) -> None:
        """Every non-empty combination of view, add, promote, delete (§2 [doc][client])."""
        place = ("feed", proget_target.feed) if proget_target.feed else (
            "feedGroup", proget_target.require("feed_group"))
        expiration = proget_target.requires_expiration()
        for n in (1, 2, 3, 4):
            for perms in itertools.combinations(PACKAGE_PERMISSIONS, n):
                body = {"type": "feed", "displayName": proget_client.display_name(",".join(perms)),
                        "packagePermissions": list(perms), place[0]: place[1], "logging": "none"}
                if expiration:
                    body["expiration"] = "2099-01-01T00:00:00Z"
                _check_valid(proget_client, f"packagePermissions {list(perms)}")(body)

    @pytest.mark.parametrize("expiration", ["2099-08-01T00:00:00", "2099-08-01T00:00:00Z",
                                            "2099-08-01T00:00:00+02:00"],
                             ids=["no-offset", "utc", "offset"])
    @clause("§2", "client")
    def test_expiration_with_or_without_offset(self, expiration: str, proget_target: Target,
                                               proget_client: ProGetClient) -> None:
        """``expiration`` is ISO 8601 with or without an offset; pgutil sends none (§2 [client])."""
        body = {"type": "system", "displayName": proget_client.display_name("expiration " + expiration),
                "systemApis": ["full-control"], "expiration": expiration, "logging": "request"}
        response = proget_client.create(body)
        info = expect_created(response, body, f"§2 [client] expiration {expiration}")
        expect_status(proget_client.list(api_key=info["key"]), 200,
                      f"§2 [doc] a key expiring at {expiration} authenticates before then")

    @clause("§2", "doc")
    def test_custom_key_text_is_kept(self, proget_target: Target, proget_client: ProGetClient) -> None:
        """A key text given at create is the key: it comes back and it authenticates (§2 [doc])."""
        if not proget_target.accepts_custom_keys():
            pytest.skip("the target refuses user-entered keys (§5: hashed keys or custom keys off)")
        text = secrets.token_hex(20)
        proget_client.secrets.add(text)
        body = {"type": "system", "displayName": proget_client.display_name("custom key"), "key": text,
                "systemApis": ["full-control"], "logging": "none"}
        if proget_target.requires_expiration():
            body["expiration"] = "2099-01-01T00:00:00Z"
        expect_created(proget_client.create(body), body, "§2 [doc] a custom key")
        expect_status(proget_client.list(api_key=text), 200, "§2 [doc] the custom key authenticates")

    @clause("§8", "doc")
    def test_reused_custom_key_is_refused(self, proget_target: Target, proget_client: ProGetClient) -> None:
        """A key text already in use is refused with some 4xx (which one is open, §8), and
        no second key with that text exists."""
        if not proget_target.accepts_custom_keys():
            pytest.skip("the target refuses user-entered keys (§5: hashed keys or custom keys off)")
        text = secrets.token_hex(20)
        proget_client.secrets.add(text)
        bodies = [{"type": "system", "displayName": proget_client.display_name(f"reused key {i}"),
                   "key": text, "systemApis": ["sca"], "logging": "none"} for i in (1, 2)]
        if proget_target.requires_expiration():
            for body in bodies:
                body["expiration"] = "2099-01-01T00:00:00Z"
        expect_created(proget_client.create(bodies[0]), bodies[0], "§2 [doc] a custom key")
        response = proget_client.create(bodies[1])
        expect_error(response, range(400, 500), "§8 a second key with the same text")
        names = {k.get("displayName") for k in proget_client.list_keys()}
        if bodies[1]["displayName"] in names:
            raise fail("§8: the create was refused, yet a second key with the same text exists", response)

    @clause("§2", "doc")
    def test_id_is_not_settable(self, proget_target: Target, proget_client: ProGetClient) -> None:
        """``id`` is assigned by the server and unique: a client-sent id (here one already in
        use) is ignored or refused, never used (§2 [doc]; which of the two is open, §8)."""
        expiration = {"expiration": "2099-01-01T00:00:00Z"} if proget_target.requires_expiration() else {}
        first = {"type": "system", "displayName": proget_client.display_name("id owner"),
                 "systemApis": ["sca"], "logging": "none", **expiration}
        taken = expect_created(proget_client.create(first), first)["id"]
        second = {"id": taken, "type": "system", "displayName": proget_client.display_name("id thief"),
                  "systemApis": ["sca"], "logging": "none", **expiration}
        response = proget_client.create(second)
        if 400 <= response.status_code < 500:
            return
        info = expect_created(response, second, "§2 [doc] a body with a client-sent id")
        if info["id"] == taken:
            raise fail(f"§2 [doc]: the new key took the client-sent id {taken}, already in use", response)
        owners = [k for k in proget_client.list_keys() if k.get("id") == taken]
        if len(owners) != 1 or owners[0].get("displayName") != first["displayName"]:
            raise fail(f"§2 [doc]: key #{taken} changed after a create that sent its id", response)


class TestValidation(ValidationClauses):
    pass
