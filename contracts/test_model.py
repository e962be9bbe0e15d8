"""[model] clauses: choices of the mock where the vendor is silent (spec §2-§6). They run
against the embedded mock only; another server is not held to them."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest

from mockproget_contracts.base import ClauseBase
from mockproget_contracts.checks import expect_created, expect_error, expect_status, fail
from mockproget_contracts.client import ProGetClient
from mockproget_contracts.target import Target, clause
from mockproget_contracts.test_auth import bogus_key, system_key_body

__all__ = ["ModelClauses"]


class ModelClauses(ClauseBase):
    """[model] choices, checked on the embedded mock."""

    @pytest.fixture
    def proget_mock_state(self, proget_target: Target) -> Iterator[Any]:
        """The mock's backend; whatever the clause seeds is put back afterwards."""
        backend = proget_target.backend
        assert backend is not None  # the gate skips [model] clauses elsewhere
        snapshot = backend.snapshot()
        yield backend
        backend.restore(snapshot)

    @pytest.mark.parametrize("good, bad", [("header", "query"), ("query", "form"), ("header", "json"),
                                           ("query", "json")])
    @clause("§3", "model")
    def test_first_carrier_present_is_judged(self, good: str, bad: str,
                                             proget_client: ProGetClient) -> None:
        """Header, then query, then form, then JSON: the first present is judged (§3 [model])."""
        admin = proget_client.api_key or ""
        for first_key, second_key, expected in ((admin, bogus_key(), 200), (bogus_key(), admin, 403)):
            headers, params, body = {}, {}, None
            for carrier, key in ((good, first_key), (bad, second_key)):
                if carrier == "header":
                    headers["X-ApiKey"] = key
                elif carrier == "query":
                    params["key"] = key
                elif carrier == "form":
                    body = ("form", key)
                else:
                    body = ("json", key)
            if body is not None and body[0] == "json":
                sent = system_key_body(proget_client, f"{good} before {bad}")
                response = proget_client.create({**sent, "API_Key": body[1]}, api_key=None,
                                                headers=headers, params=params)
            elif body is not None:
                response = proget_client.request("POST", "api/api-keys/delete", api_key=None,
                                                 headers=headers, params={**params, "id": 10**9},
                                                 data={"key": body[1]},
                                                 content_type="application/x-www-form-urlencoded")
                expected = 404 if expected == 200 else 403
            else:
                response = proget_client.list(api_key=None, headers=headers, params=params)
            expect_status(response, expected, f"§3 [model] {good} judged before {bad}")

    @clause("§3", "model")
    def test_authentication_before_validation(self, proget_client: ProGetClient) -> None:
        """An unauthenticated caller gets 403, never a 400 revealing validation detail (§3 [model])."""
        response = proget_client.create({"type": "nonsense"}, api_key=bogus_key())
        expect_error(response, 403, "§3 [model] an invalid body with an unknown key")

    @clause("§3", "model")
    def test_anonymous_admin_setting(self, proget_target: Target, proget_client: ProGetClient) -> None:
        """With the anonymous-admin setting, a request without a credential acts as an
        administrator; a bad key is still refused (§3 [model])."""
        with proget_target.settings_changed(anonymous_admin=True):
            expect_status(proget_client.list(api_key=None), 200, "§3 [model] anonymous list")
            expect_error(proget_client.list(api_key=bogus_key()), 403, "§3 [model] bad key, anonymous on")

    @clause("§3", "model")
    def test_empty_carrier_counts_as_absent(self, proget_client: ProGetClient) -> None:
        """An empty ``X-ApiKey`` does not hide a key in the query string (§3 [model])."""
        response = proget_client.list(api_key="", params={"key": proget_client.api_key})
        expect_status(response, 200, "§3 [model] empty header, key in the query")

    @clause("§2", "model")
    def test_property_names_and_enums_case_insensitive(self, proget_client: ProGetClient) -> None:
        """Property names and enum values are read case-insensitively (§2 [model])."""
        sent = {"TYPE": "SYSTEM", "DisplayName": proget_client.display_name("case"),
                "SystemApis": ["Full-Control"], "Logging": "BOTH"}
        response = proget_client.create(sent)
        info = expect_created(response, {"type": "system", "logging": "both"}, "§2 [model]")
        if info.get("systemApis") != ["full-control"]:
            raise fail("§2 [model]: enum values are written back in lower camelCase", response)

    @clause("§2", "model")
    def test_unknown_properties_and_client_id_ignored(self, proget_client: ProGetClient) -> None:
        """Unknown properties and a client-sent ``id`` are ignored (§2 [model])."""
        sent = system_key_body(proget_client, "extras", id=10**6, colour="blue", nested={"a": [1]})
        info = expect_created(proget_client.create(sent), sent, "§2 [model]")
        if info["id"] == 10**6:
            raise fail("§2 [model]: the client-sent id was used", None)

    @pytest.mark.parametrize("body", [
        {"type": "other", "logging": "none"},
        {"type": "feed", "feed": "no-such-feed", "packagePermissions": ["view"], "logging": "none"},
        {"type": "feed", "feedGroup": "no-such-group", "packagePermissions": ["view"], "logging": "none"},
        {"type": "system", "systemApis": ["sca"], "logging": "none", "Type": "feed"},
    ], ids=["other-type", "unknown-feed", "unknown-feed-group", "property-twice"])
    @clause("§2", "model")
    def test_model_validation(self, body: dict[str, Any], proget_client: ProGetClient) -> None:
        """``other`` cannot be created; feed names must exist; a property given twice in
        different case is refused: 400 (§2 [model])."""
        response = proget_client.create({**body, "displayName": proget_client.display_name("model 400")})
        expect_error(response, 400, f"§2 [model] {body}")

    @clause("§2", "model")
    def test_duplicate_key_is_400_and_ids_not_reused(self, proget_client: ProGetClient) -> None:
        """A reused key text is a 400; ids are never reused after a delete; deleting an
        unknown id is a 404 (§2, §8 [model])."""
        text = secrets.token_hex(20)
        proget_client.secrets.add(text)
        first = system_key_body(proget_client, "dup 1", key=text)
        info = expect_created(proget_client.create(first), first)
        expect_error(proget_client.create(system_key_body(proget_client, "dup 2", key=text)), 400,
                     "§2 [model] a duplicate key")
        expect_status(proget_client.delete(info["id"]), 200, "§1 delete")
        expect_error(proget_client.delete(info["id"]), 404, "§8 [model] deleting an unknown id")
        again = system_key_body(proget_client, "after delete")
        newer = expect_created(proget_client.create(again), again)
        if newer["id"] <= info["id"]:
            raise fail(f"§2 [model]: id {newer['id']} after deleting #{info['id']}", None)

    @pytest.mark.parametrize("raw", ["", "abc"], ids=["missing", "not-an-integer"])
    @clause("§1", "model")
    def test_delete_needs_an_integer_id(self, raw: str, proget_client: ProGetClient) -> None:
        """``id`` missing or not an integer: 400 (§1 [model])."""
        params = {"id": raw} if raw else {}
        response = proget_client.request("POST", "api/api-keys/delete", params=params,
                                         headers={"Content-Length": "0"})
        expect_error(response, 400, f"§1 [model] delete with id={raw!r}")

    @clause("§4", "model")
    def test_limited_system_key_cannot_manage_keys(self, proget_client: ProGetClient) -> None:
        """A system key without full control gets 403 on the api-keys endpoints (§4 [model])."""
        sent = system_key_body(proget_client, "limited", systemApis=["feeds", "sca"])
        info = expect_created(proget_client.create(sent), sent)
        expect_error(proget_client.list(api_key=info["key"]), 403, "§4 [model] a limited system key")

    @clause("§4", "model")
    def test_non_admin_user_manages_only_own_personal_keys(self, proget_client: ProGetClient,
                                                           proget_mock_state: Any) -> None:
        """A non-admin user may create a personal key for itself only, and lists only its
        own (§4 [model])."""
        proget_mock_state.add_user("contracts-user", "contracts-pass")
        proget_mock_state.add_user("contracts-other", None)
        pseudo = "contracts-user:contracts-pass"
        proget_client.secrets.add("contracts-pass")
        own = {"type": "personal", "user": "contracts-user", "logging": "none",
               "displayName": proget_client.display_name("own personal")}
        info = expect_created(proget_client.create(own, api_key=pseudo), own, "§4 [model] own personal key")
        for body in ({"type": "personal", "user": "contracts-other", "logging": "none"},
                     {"type": "system", "systemApis": ["sca"], "logging": "none"}):
            response = proget_client.create({**body, "displayName": proget_client.display_name("not own")},
                                            api_key=pseudo)
            expect_error(response, 403, f"§4 [model] a non-admin creating {body['type']}")
        listed = proget_client.list(api_key=info["key"])
        expect_status(listed, 200, "§4 [model] list with a non-admin personal key")
        if {k["id"] for k in listed.json()} != {info["id"]}:
            raise fail("§4 [model]: a non-admin user sees keys other than its own", listed)

    @clause("§6", "model")
    def test_free_edition_refuses_system_and_feed_keys(self, proget_target: Target,
                                                       proget_client: ProGetClient) -> None:
        """A Free instance refuses system and feed keys with a 400 naming the edition (§6 [model])."""
        with proget_target.settings_changed(edition="Free"):
            response = proget_client.create(system_key_body(proget_client, "free"))
            expect_error(response, 400, "§6 [model] a system key on Free edition")
            if "Free" not in response.text:
                raise fail("§6 [model]: the refusal does not name the edition", response)
            if response.headers.get("X-ProGet-Edition") != "Free":
                raise fail("§6: X-ProGet-Edition does not say Free", response)

    @clause("§1", "model")
    def test_before_2024_3_there_are_no_api_key_endpoints(self, proget_target: Target,
                                                          proget_client: ProGetClient) -> None:
        """An instance emulating a version before 2024.3 answers 404 on the api-keys paths (§1 [model])."""
        with proget_target.settings_changed(version="2024.2"):
            expect_error(proget_client.list(), 404, "§1 [model] list on 2024.2")
            expect_error(proget_client.create(system_key_body(proget_client, "old")), 404,
                         "§1 [model] create on 2024.2")


class TestModel(ModelClauses):
    pass
