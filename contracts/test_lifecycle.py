"""Clauses for list/delete consistency and the stateful contract (spec §1, §3, §8)."""

from __future__ import annotations

from hypothesis import seed
from hypothesis.stateful import run_state_machine_as_test

from mockproget_contracts.base import ClauseBase
from mockproget_contracts.checks import expect_created, expect_status, fail
from mockproget_contracts.client import ProGetClient
from mockproget_contracts.stateful import api_keys_machine
from mockproget_contracts.target import Target, clause

__all__ = ["LifecycleClauses"]


class LifecycleClauses(ClauseBase):
    """§1 list and delete agree with create; a stateful run of all three."""

    @clause("§8", "doc")
    def test_delete_of_an_unknown_id(self, proget_client: ProGetClient) -> None:
        """Deleting an id that names no key — one deleted before, 0, -1, and ids past any
        32- or 64-bit integer — answers 200 or a 4xx (which one is open, §8; never a 5xx)
        and deletes nothing else: not the newest key (which -1 might name), nor one older
        than the deleted id (which 0, or an index, might name)."""
        older = {"type": "system", "displayName": proget_client.display_name("older"),
                 "systemApis": ["sca"], "logging": "none"}
        gone = {"type": "system", "displayName": proget_client.display_name("gone"),
                "systemApis": ["sca"], "logging": "none"}
        kept = {"type": "system", "displayName": proget_client.display_name("kept"),
                "systemApis": ["sca"], "logging": "none"}
        older_id = expect_created(proget_client.create(older), older)["id"]
        gone_id = expect_created(proget_client.create(gone), gone)["id"]
        kept_id = expect_created(proget_client.create(kept), kept)["id"]
        expect_status(proget_client.delete(gone_id), 200, "§1 [doc] delete")
        for unknown in (gone_id, 0, -1, 2**31, 2**63, 10**30):
            response = proget_client.delete(unknown)
            if response.status_code != 200 and not 400 <= response.status_code < 500:
                raise fail(f"§8: a delete of unknown id {unknown} answered {response.status_code}; "
                           "expected 200 or a 4xx", response)
            listed = {k["id"] for k in proget_client.list_keys()}
            for live in (older_id, kept_id):
                if live not in listed:
                    raise fail(f"§1 [doc]: deleting unknown id {unknown} removed key #{live}", response)

    @clause("§1", "doc")
    def test_stateful_create_list_delete_authenticate(self, proget_target: Target,
                                                      proget_client: ProGetClient) -> None:
        """Any sequence of create, delete, list and use-the-key agrees with a dict model:
        the list shows exactly the live keys, deleted keys are refused, full-control system
        keys work, feed keys are refused on these endpoints (§1, §3, §4 [doc])."""
        machine = api_keys_machine(proget_target, proget_client,
                                   require_expiration=proget_target.requires_expiration())
        settings = proget_target.hypothesis_settings(
            max_examples=max(3, proget_target.max_examples // 2), stateful_step_count=12)
        if proget_target.seed is not None:
            machine = seed(proget_target.seed)(machine)
        run_state_machine_as_test(machine, settings=settings)


class TestLifecycle(LifecycleClauses):
    pass
