"""Clauses for the instance settings of spec §5 [doc]. They need control of the settings,
so they run against the embedded mock only (elsewhere they skip, saying so)."""

from __future__ import annotations

import secrets
from typing import Any

from mockproget_contracts.base import ClauseBase
from mockproget_contracts.checks import expect_created, expect_error, expect_status, fail
from mockproget_contracts.client import ProGetClient
from mockproget_contracts.target import Target, clause
from mockproget_contracts.test_auth import _refused_everywhere, system_key_body

__all__ = ["InstanceClauses", "bodies_of_every_type"]


def bodies_of_every_type(target: Target, client: ProGetClient, label: str, **extra: Any) -> list[dict[str, Any]]:
    """A valid body of each key type the target can take (§2): system; feed where it names
    a feed; personal where it names a user. A setting's rule holds for each (§5)."""
    bodies = [system_key_body(client, f"{label} (system)", **extra)]
    if target.feed:
        bodies.append({"type": "feed", "feed": target.feed, "packagePermissions": ["view"], "logging": "none",
                       "displayName": client.display_name(f"{label} (feed)"), **extra})
    if target.user:
        bodies.append({"type": "personal", "user": target.user, "logging": "none",
                       "displayName": client.display_name(f"{label} (personal)"), **extra})
    return bodies


class InstanceClauses(ClauseBase):
    """§5: what each instance setting changes on the wire."""

    @clause("§5", "doc")
    def test_hashed_keys(self, proget_target: Target, proget_client: ProGetClient) -> None:
        """With hashed keys, a custom key is refused (400), a generated one is shown once at
        create and never by list (§2, §5 [doc]), for every key type."""
        with proget_target.settings_changed(hash_keys=True):
            for body in bodies_of_every_type(proget_target, proget_client, "custom key, hashed"):
                text = secrets.token_hex(20)
                proget_client.secrets.add(text)
                response = proget_client.create({**body, "key": text})
                expect_error(response, 400, f"§2 [doc] a custom key on an instance that hashes keys ({body['type']})")
            made = []
            for sent in bodies_of_every_type(proget_target, proget_client, "generated key, hashed"):
                made.append((sent["type"], expect_created(proget_client.create(sent), sent)))
            response = proget_client.list()
            for kind, info in made:
                listed = [k for k in response.json() if k.get("id") == info["id"]]
                if not listed:
                    raise fail(f"§1 [doc]: key #{info['id']} is not listed", response)
                if "key" in listed[0]:
                    raise fail(f"§2 [doc]: list returned a {kind} key's text on an instance that hashes keys",
                               response)
            expect_status(proget_client.list(api_key=made[0][1]["key"]), 200, "§5 a hashed key still works")

    @clause("§5", "doc")
    def test_pseudo_keys_switched_off(self, proget_target: Target, proget_client: ProGetClient) -> None:
        """When pseudo-keys are not permitted, ``user:password`` is refused on every endpoint
        in every carrier (§3, §5 [doc]), also when it authenticated a moment before the
        setting changed (nothing remembered outlives the setting); permitted again, it works
        again."""
        pseudo = proget_target.require("pseudo_key")
        expect_status(proget_client.list(api_key=pseudo), 200, "§3 [doc] the pseudo-key, permitted")
        with proget_target.settings_changed(pseudo_keys=False):
            expect_error(proget_client.list(api_key=pseudo), 403, "§3 [doc] a pseudo-key, not permitted")
            _refused_everywhere(proget_client, pseudo, "a pseudo-key, not permitted", "§5 [doc]")
        expect_status(proget_client.list(api_key=pseudo), 200, "§3 [doc] the pseudo-key, permitted again")

    @clause("§5", "doc")
    def test_expiring_keys_required(self, proget_target: Target, proget_client: ProGetClient) -> None:
        """When expiring keys are required, ``expiration`` is mandatory (§5 [doc]), for every
        key type."""
        with proget_target.settings_changed(require_expiration=True):
            for body in bodies_of_every_type(proget_target, proget_client, "no expiration"):
                response = proget_client.create(body)
                expect_error(response, 400, f"§5 [doc] no expiration where one is required ({body['type']})")
            for sent in bodies_of_every_type(proget_target, proget_client, "with expiration",
                                             expiration="2099-01-01T00:00:00"):
                expect_created(proget_client.create(sent), sent)

    @clause("§5", "doc")
    def test_personal_keys_switched_off(self, proget_target: Target, proget_client: ProGetClient) -> None:
        """When personal keys are disabled, a personal key cannot be created (§5 [doc])."""
        user = proget_target.require("user")
        with proget_target.settings_changed(personal_keys=False):
            response = proget_client.create({"type": "personal", "user": user, "logging": "none",
                                             "displayName": proget_client.display_name("personal, off")})
            expect_error(response, range(400, 500), "§5 [doc] a personal key where they are disabled")

    @clause("§5", "doc")
    def test_custom_keys_switched_off(self, proget_target: Target, proget_client: ProGetClient) -> None:
        """When user-entered keys are not allowed, a custom ``key`` is refused (§5 [doc]), for
        every key type."""
        with proget_target.settings_changed(custom_keys=False):
            for body in bodies_of_every_type(proget_target, proget_client, "custom key, off"):
                text = secrets.token_hex(20)
                proget_client.secrets.add(text)
                response = proget_client.create({**body, "key": text})
                expect_error(response, range(400, 500),
                             f"§5 [doc] a custom key where they are not allowed ({body['type']})")


class TestInstance(InstanceClauses):
    pass
