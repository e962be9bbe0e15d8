"""A stateful contract: the server's api keys against a dict model (spec §1-§3).

Rules create keys of every type, delete them, list them, and authenticate with them; the
model says what the list must show and which keys must work. Against a server that holds
other keys, the model tracks only the keys this machine created, and the list is filtered
to them (by the run's display-name prefix).
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from mockproget_contracts.checks import FULL_CONTROL, expect_created, expect_error, expect_status, fail
from mockproget_contracts.client import ProGetClient
from mockproget_contracts.strategies import feed_bodies, personal_bodies, system_bodies
from mockproget_contracts.target import Target

__all__ = ["api_keys_machine"]


def api_keys_machine(target: Target, client: ProGetClient, *,
                     require_expiration: bool = False) -> type[RuleBasedStateMachine]:
    """A :class:`~hypothesis.stateful.RuleBasedStateMachine` class bound to ``target``."""
    kinds = [system_bodies(client.display_name, require_expiration=require_expiration)]
    if target.feed or target.feed_group:
        kinds.append(feed_bodies(client.display_name, target.feed, target.feed_group,
                                 require_expiration=require_expiration))
    if target.user:
        kinds.append(personal_bodies(client.display_name, target.user, require_expiration=require_expiration))
    bodies = st.one_of(kinds)

    class ApiKeysMachine(RuleBasedStateMachine):
        """Create / delete / list / authenticate, checked against ``self.live``."""

        def __init__(self) -> None:
            super().__init__()
            self.live: dict[int, dict[str, Any]] = {}      # id -> {"body", "key"}
            self.deleted: dict[int, dict[str, Any]] = {}

        @rule(body=bodies)
        def create(self, body: dict[str, Any]) -> None:
            response = client.create(body)
            info = expect_created(response, body, "§1/§6 create")
            if info["id"] in self.live:
                raise fail(f"§2 [doc]: the new key got id {info['id']}, which a live key has", response)
            if target.is_mock and info["id"] in self.deleted:
                raise fail(f"§2 [model]: id {info['id']} of a deleted key was reused", response)
            self.live[info["id"]] = {"body": body, "key": info["key"]}

        @precondition(lambda self: self.live)
        @rule(data=st.data())
        def delete(self, data: st.DataObject) -> None:
            key_id = data.draw(st.sampled_from(sorted(self.live)), label="id")
            expect_status(client.delete(key_id), 200, f"§1 [doc] delete of live key #{key_id}")
            self.deleted[key_id] = self.live.pop(key_id)

        @precondition(lambda self: self.live or self.deleted)
        @rule(data=st.data())
        def authenticate(self, data: st.DataObject) -> None:
            key_id = data.draw(st.sampled_from(sorted({**self.live, **self.deleted})), label="id")
            entry = self.live.get(key_id) or self.deleted[key_id]
            response = client.list(api_key=entry["key"])
            body = {k.lower(): v for k, v in entry["body"].items()}
            kind = str(body["type"]).lower()
            if key_id in self.deleted:
                expect_error(response, 403, f"§3 [doc] deleted key #{key_id}")
            elif kind == "feed":
                expect_error(response, 403, f"§4 [doc] feed key #{key_id} on the api-keys endpoints")
            elif kind == "system" and set(body["systemapis"]) in ({"full-control"}, set(FULL_CONTROL)):
                expect_status(response, 200, f"§3 full-control key #{key_id}")
            elif target.is_mock and kind == "system":
                expect_error(response, 403, f"§4 [model] limited system key #{key_id}")
            elif target.is_mock and kind == "personal":
                expect_status(response, 200, f"§4 [model] personal key #{key_id} lists its own keys")

        @invariant()
        def list_matches_model(self) -> None:
            keys = client.list_keys()
            mine = {k["id"] for k in client.mine(keys)}
            if mine != set(self.live):
                missing, extra = sorted(set(self.live) - mine), sorted(mine - set(self.live))
                raise fail(f"§1 [doc]: the list disagrees with what was created and deleted: "
                           f"missing {missing}, unexpected {extra}", None)

        def teardown(self) -> None:
            client.cleanup()

    return ApiKeysMachine
