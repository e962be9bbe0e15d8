"""Clauses for the endpoints and what the official client reads from them (spec §1, §6, §7)."""

from __future__ import annotations

import json
from typing import Any


from mockproget_contracts.base import ClauseBase
from mockproget_contracts.checks import (
    expect_created,
    expect_error,
    expect_json_array,
    expect_listed_as_sent,
    expect_proget_headers,
    expect_status,
    fail,
)
from mockproget_contracts.client import ProGetClient
from mockproget_contracts.test_auth import bogus_key
from mockproget_contracts.target import Target, clause

__all__ = ["EndpointClauses", "WireClauses"]


def pgutil_body(**fields: Any) -> bytes:
    """A body as pgutil writes it (§7): declaration order, nulls left out, enum names."""
    order = ("id", "type", "key", "displayName", "description", "systemApis", "packagePermissions",
             "feed", "feedGroup", "expiration", "logging", "user")
    ordered = {name: fields[name] for name in order if fields.get(name) is not None}
    return json.dumps(ordered, separators=(",", ":")).encode("utf-8")


def _version_major(response: Any) -> int | None:
    """The major of X-ProGet-Version (25 for ProGet 2025.x), or ``None`` when absent or not
    a .NET version (another clause reports that)."""
    version = str(response.headers.get("X-ProGet-Version", "")).strip()
    head = version.split(".", 1)[0]
    return int(head) if head.isdigit() and "." in version else None


class EndpointClauses(ClauseBase):
    """§1 endpoints and §6 response shapes."""

    @clause("§1", "doc", creates=False)
    def test_list_answers_json_array(self, proget_client: ProGetClient) -> None:
        """GET api/api-keys/list answers a JSON array of ApiKeyInfo, each with the id,
        type and logging pgutil parses (§1 [doc], §6 [client])."""
        response = proget_client.list()
        expect_json_array(response, "§1 list")
        expect_proget_headers(response, "§6 [client] headers on a list answer")

    @clause("§6", "client")
    def test_create_answers_json_api_key_info(self, proget_target: Target,
                                               proget_client: ProGetClient) -> None:
        """A created key comes back as application/json ApiKeyInfo with id, type,
        logging and the generated key text (§6 [client], §2 [doc]: generated when absent)."""
        sent = {"type": "system", "displayName": proget_client.display_name("create answer"),
                "systemApis": ["full-control"], "logging": "none"}
        response = proget_client.create(sent)
        info = expect_created(response, sent)
        expect_proget_headers(response, "§6 [client] headers on a create answer")
        listed = {k["id"]: k for k in proget_client.list_keys()}
        if info["id"] not in listed:
            raise fail(f"§1 [doc]: the created key #{info['id']} is not listed", response)

    @clause("§1", "doc")
    def test_delete_with_empty_body_removes_the_key(self, proget_client: ProGetClient) -> None:
        """POST api/api-keys/delete?id=N with no body (Content-Length: 0) deletes that key
        and only it: the next key is still listed and still authenticates (§1 [doc][client])."""
        first = expect_created(proget_client.create(sent := {
            "type": "system", "displayName": proget_client.display_name("deleted"),
            "systemApis": ["feeds"], "logging": "none"}), sent)
        second = expect_created(proget_client.create(sent2 := {
            "type": "system", "displayName": proget_client.display_name("kept"),
            "systemApis": ["full-control"], "logging": "none"}), sent2)
        response = proget_client.delete(first["id"])  # the older one: id, not recency, decides
        expect_status(response, 200, "§1 [doc] delete of an existing key")
        ids = {k["id"] for k in proget_client.list_keys()}
        if first["id"] in ids:
            raise fail(f"§1 [doc]: key #{first['id']} is still listed after its delete answered 200",
                       response)
        if second["id"] not in ids:
            raise fail(f"§1 [doc]: deleting key #{first['id']} also removed key #{second['id']}", response)
        expect_status(proget_client.list(api_key=second["key"]), 200,
                      f"§1 [doc]: key #{second['id']} (full control) after deleting key #{first['id']}")

    @clause("§1", "doc")
    def test_delete_id_must_be_the_whole_number(self, proget_client: ProGetClient) -> None:
        """``delete?id=N`` names key N by its integer id: an ``id`` that is N with more after
        it (``Nx``, ``N.5``, also ``N.0`` and ``Ne0``, which a float parser takes for N) or
        before it (``xN``), or N written in hexadecimal (``0x…``), is not N, so it deletes no
        key, whatever the status (§1 [doc]; §8 leaves the status of an id naming no key
        open). (Leading zeros, a ``+`` sign and surrounding blanks are not tried: .NET's
        integer parsing takes them.)"""
        sent = {"type": "system", "systemApis": ["sca"], "logging": "none",
                "displayName": proget_client.display_name("kept by a bad id")}
        info = expect_created(proget_client.create(sent), sent)
        key_id = info["id"]
        for raw in (f"{key_id}x", f"{key_id}.5", f"x{key_id}", f"{key_id}.0", f"{key_id}e0", f"0x{key_id:x}"):
            response = proget_client.delete(raw)
            if key_id not in {k["id"] for k in proget_client.list_keys()}:
                raise fail(f"§1 [doc]: delete?id={raw} deleted key #{key_id}", response)

    @clause("§1", "doc", creates=False)
    def test_health_needs_no_key(self, proget_client: ProGetClient) -> None:
        """GET /health needs no key (and a good one does not hurt); /health/json and
        /health?format=json are JSON, and so is
        bare /health on a release of 2025 or earlier (X-ProGet-Version 25.x or below) (§1 [doc])."""
        response = proget_client.request("GET", "health", api_key=None)
        expect_status(response, 200, "§1 [doc] /health without a key")
        # a client that sends its key everywhere (pgutil's health command) is not refused
        expect_status(proget_client.request("GET", "health"), 200, "§1 [doc] /health with the admin key")
        checked: list[tuple[str, dict[str, str] | None]] = [("health/json", None), ("health", {"format": "json"})]
        major = _version_major(response)
        if major is not None and major <= 25:
            checked.insert(0, ("health", None))
        for path, params in checked:
            response = proget_client.request("GET", path, api_key=None, params=params)
            expect_status(response, 200, f"§1 [doc] /{path} without a key")
            try:
                body = response.json()
            except ValueError:
                where = f"/{path}" if params or path != "health" else (
                    f"bare /health on X-ProGet-Version {major}.x (a release of 2025 or earlier)")
                raise fail(f"§1 [doc]: {where} must answer JSON health info", response) from None
            if not isinstance(body, dict):
                raise fail(f"§1 [doc]: /{path} must answer a JSON object (ProGetHealthInfo)", response)


    @clause("§1", "doc")
    def test_only_post_changes_keys_and_head_is_judged_as_get(self, proget_target: Target,
                                                              proget_client: ProGetClient) -> None:
        """GET and HEAD are safe (RFC 9110 §9.2.1 [std]): ``delete?id=N`` and ``create``
        asked with GET or HEAD, by the admin key in the header or the query, change nothing
        (delete and create are POSTs, §1 [doc]), whatever they answer. HEAD is GET without
        the body (RFC 9110 §9.3.2 [std]), so ``HEAD list`` grants nothing GET refuses: no
        credential, an unknown key and a deleted key, in the header and the query, never get
        a 2xx (§3 [doc]; what they get instead is not read)."""
        victim = expect_created(proget_client.create(sent := {
            "type": "system", "systemApis": ["sca"], "logging": "none",
            "displayName": proget_client.display_name("kept by a safe method")}), sent)
        deleted = expect_created(proget_client.create(gone := {
            "type": "system", "systemApis": ["full-control"], "logging": "none",
            "displayName": proget_client.display_name("deleted before a HEAD")}), gone)
        expect_status(proget_client.delete(deleted["id"]), 200, "§1 [doc] delete of an existing key")
        admin = proget_client.api_key or ""
        ways: tuple[tuple[str, dict[str, Any]], ...] = (
            ("the header", {}), ("the query", {"api_key": None, "params": {"key": admin}}))
        for method in ("GET", "HEAD"):
            for where, how in ways:
                params = {**how.get("params", {}), "id": victim["id"]}
                response = proget_client.request(method, "api/api-keys/delete", **{**how, "params": params},
                                                 headers={"Content-Length": "0"})
                if victim["id"] not in {k["id"] for k in proget_client.list_keys()}:
                    raise fail(f"RFC 9110 §9.2.1 [std]: {method} api/api-keys/delete?id={victim['id']} (the "
                               f"admin key in {where}) deleted the key: a {method} changes nothing, delete is "
                               "a POST (§1 [doc])", response)
                body = {"type": "system", "systemApis": ["sca"], "logging": "none",
                        "displayName": proget_client.display_name(f"{method} create")}
                response = proget_client.request(method, "api/api-keys/create", **how, json_body=body)
                if body["displayName"] in {str(k.get("displayName")) for k in proget_client.list_keys()}:
                    proget_client.remember(body, response)  # so that the cleanup deletes it
                    raise fail(f"RFC 9110 §9.2.1 [std]: {method} api/api-keys/create (the admin key in {where}) "
                               "created a key: a GET or HEAD changes nothing, create is a POST (§1 [doc])",
                               response)
        refused: list[tuple[str, dict[str, Any]]] = [("an unknown key", {"api_key": bogus_key()}),
                                                     ("a deleted key", {"api_key": deleted["key"]})]
        refused += [(f"{what} in the query", {"api_key": None, "params": {"key": how["api_key"]}})
                    for what, how in list(refused)]
        if not proget_target.anonymous:
            refused.append(("no credential", {"api_key": None}))
        for what, how in refused:
            response = proget_client.request("HEAD", "api/api-keys/list", **how)
            if 200 <= response.status_code < 300:
                raise fail(f"RFC 9110 §9.3.2 [std]: HEAD api/api-keys/list with {what} answered "
                           f"{response.status_code}: HEAD is judged as GET is, which refuses it (§3 [doc])",
                           response)

    @clause("§6", "doc", creates=False)
    def test_refusal_is_explained_in_text(self, proget_client: ProGetClient) -> None:
        """A refused key gets 403 with a non-empty text/plain body (§6 [doc])."""
        response = proget_client.list(api_key=bogus_key())
        expect_error(response, 403, "§6 [doc] list with an unknown key")

    @clause("§6", "client")
    def test_refused_create_carries_the_proget_headers(self, proget_client: ProGetClient) -> None:
        """A refused create carries X-ProGet-Version and X-ProGet-Edition: the client compares
        them to explain the failure (§6 [client])."""
        sent = {"type": "system", "systemApis": ["sca"], "logging": "none",
                "displayName": proget_client.display_name("refused")}
        response = proget_client.create(sent, api_key=bogus_key())
        expect_error(response, 403, "§6 [doc] create with an unknown key")
        expect_proget_headers(response, "§6 [client] headers on a refused create")

    @clause("§6", "client")
    def test_every_answer_carries_the_proget_headers(self, proget_client: ProGetClient) -> None:
        """X-ProGet-Version and X-ProGet-Edition come on every api-keys answer, not on some
        endpoints or statuses only: list, create and delete, each accepted and refused (an
        unknown key in the header, the querystring and, on delete, a form), an invalid create
        (also chunked, as pgutil sends it: then also a text/plain explanation, §6 [doc]) and a
        delete of an id that does not exist (§6 [client]: the client reads them from whatever
        answer it gets)."""
        bogus = bogus_key()
        victim = expect_created(proget_client.create(sent := {
            "type": "system", "systemApis": ["sca"], "logging": "none",
            "displayName": proget_client.display_name("headers")}), sent)
        answers: list[tuple[str, Any]] = [
            ("list", proget_client.list()),
            ("a refused list (header)", proget_client.list(api_key=bogus)),
            ("a refused list (querystring)", proget_client.list(api_key=None, params={"key": bogus})),
            ("an invalid create", proget_client.create({"type": "system", "logging": "none",
                                                        "displayName": proget_client.display_name("no apis")})),
            ("a refused create (querystring)", proget_client.create(
                {**sent, "displayName": proget_client.display_name("refused")}, api_key=None, params={"key": bogus})),
            ("a refused delete (header)", proget_client.delete(victim["id"], api_key=bogus)),
            ("a refused delete (querystring)", proget_client.delete(victim["id"], api_key=None,
                                                                    params={"key": bogus})),
            ("a refused delete (form)", proget_client.delete(victim["id"], api_key=None, data={"key": bogus},
                                                             content_type="application/x-www-form-urlencoded")),
            ("a delete", proget_client.delete(victim["id"])),
            ("a delete of an id that does not exist", proget_client.delete(victim["id"])),
        ]
        # §7: pgutil's creates are chunked, and a failed one is where it reads the headers
        # and shows the body text
        invalid = {"type": "System", "logging": "None", "displayName": proget_client.display_name("chunked 400")}
        response = proget_client.create(invalid, raw=pgutil_body(**invalid), chunked=True,
                                        content_type="application/json; charset=utf-8")
        expect_error(response, 400, "§6 [doc] a chunked create without systemApis (as pgutil sends it)")
        answers.append(("an invalid chunked create", response))
        for what, response in answers:
            expect_proget_headers(response, f"§6 [client] headers on {what} ({response.status_code})")

    @clause("§6", "doc")
    def test_invalid_input_is_explained_in_text(self, proget_target: Target, proget_client: ProGetClient) -> None:
        """An invalid body gets 400 with a non-empty text/plain body, and the ProGet headers
        the client compares to explain a failed create (§6 [doc][client]). The body gives
        "details of every problem" (§6 [doc]): where two problems (of a system and of a feed
        key) alone get different answers, both in one body get an answer unlike either
        (the wording is open, §8, so it is not read)."""
        response = proget_client.create({"type": "system", "logging": "none",
                                         "displayName": proget_client.display_name("invalid")})
        expect_error(response, 400, "§6 [doc] a system key without systemApis")
        expect_proget_headers(response, "§6 [client] headers on a 400 answer")
        # §6 [doc] "details of every problem", stated without reading the wording: where two
        # problems alone get different answers, both together get an answer unlike either
        name = proget_client.display_name("two problems")
        cases: tuple[tuple[dict[str, Any], dict[str, Any], dict[str, Any]], ...] = (
                ({"type": "system", "systemApis": ["sca"]}, {"systemApis": None}, {"logging": "everything"}),
                ({"type": "system", "systemApis": ["sca"]}, {"logging": "everything"}, {"expiration": "not a date"}),
                ({"type": "feed", "feed": proget_target.feed or "no-such-feed", "packagePermissions": ["view"]},
                 {"packagePermissions": []}, {"logging": "everything"}))
        for kind, first, second in cases:
            texts = []
            for broken in (first, second, {**first, **second}):
                body = {k: v for k, v in {**kind, "logging": "none", "displayName": name, **broken}.items()
                        if v is not None}
                answer = proget_client.create(body)
                expect_error(answer, 400, f"§6 [doc] an invalid body ({', '.join(broken)})")
                texts.append(answer.text.strip())
            if texts[0] != texts[1] and texts[2] in texts[:2]:
                raise fail(f"§6 [doc]: a body with two problems ({', '.join(first)}; {', '.join(second)}) is "
                           "explained like one of them alone: the 400 names one problem, not every problem",
                           answer)


class WireClauses(ClauseBase):
    """§7: exactly what the official client sends must work."""

    def _pgutil_create(self, client: ProGetClient, fields: dict[str, Any], rule: str) -> None:
        fields["displayName"] = client.display_name(rule)
        if client.default_expiration and "expiration" not in fields:
            fields["expiration"] = client.default_expiration
        response = client.create(fields, raw=pgutil_body(**fields), chunked=True,
                                 content_type="application/json; charset=utf-8")
        info = expect_created(response, fields, f"§7 [client] {rule}")
        listed = {k["id"]: k for k in client.list_keys()}
        if info["id"] not in listed:
            raise fail(f"§7 [client] {rule}: the created key #{info['id']} is not listed", response)
        expect_listed_as_sent(listed[info["id"]], fields, response, f"§7 [client] {rule}", info["key"])

    @clause("§7", "client")
    def test_pgutil_creates_system_key(self, proget_client: ProGetClient) -> None:
        """``pgutil apikeys create system --apis=feeds,sca --expiration=…``: a chunked body,
        ``"type":"System"``, ``"logging":"None"``, expiration without offset (§7, §2 [client])."""
        self._pgutil_create(proget_client, {"type": "System", "systemApis": ["feeds", "sca"],
                                            "expiration": "2099-08-01T00:00:00", "logging": "None"},
                            "pgutil system key")

    @clause("§7", "client")
    def test_pgutil_creates_full_control_key(self, proget_client: ProGetClient) -> None:
        """pgutil sends full control as all three APIs (§2 [client])."""
        self._pgutil_create(proget_client, {"type": "System", "systemApis": ["feeds", "sca", "sbom-upload"],
                                            "logging": "None"}, "pgutil full-control key")

    @clause("§7", "client")
    def test_pgutil_creates_feed_key(self, proget_target: Target, proget_client: ProGetClient) -> None:
        """``pgutil apikeys create feed --feed=…`` (§7 [client])."""
        self._pgutil_create(proget_client, {"type": "Feed", "packagePermissions": ["view", "add", "promote", "delete"],
                                            "feed": proget_target.require("feed"), "logging": "None"},
                            "pgutil feed key")

    @clause("§7", "client")
    def test_pgutil_creates_feed_group_key(self, proget_target: Target, proget_client: ProGetClient) -> None:
        """``pgutil apikeys create feed --group=…`` (§7 [client])."""
        self._pgutil_create(proget_client, {"type": "Feed", "packagePermissions": ["view", "add", "promote", "delete"],
                                            "feedGroup": proget_target.require("feed_group"), "logging": "None"},
                            "pgutil feed group key")

    @clause("§7", "client", free_edition=True)
    def test_pgutil_creates_personal_key(self, proget_target: Target, proget_client: ProGetClient) -> None:
        """``pgutil apikeys create personal --user=…`` (§7 [client])."""
        self._pgutil_create(proget_client, {"type": "Personal", "user": proget_target.require("user"),
                                            "logging": "None"}, "pgutil personal key")

    @clause("§7", "client")
    def test_chunked_body_is_read_whole(self, proget_client: ProGetClient) -> None:
        """A chunked body of many chunks (no Content-Length) is read to its end (§7 [client]).
        The chunks come from many short fields (§8: length limits are open), the last one
        (``logging``, required) in the final chunk."""
        fields = {"type": "System", "description": "a chunked body, read whole",
                  "systemApis": ["feeds", "sca", "sbom-upload"],
                  "expiration": "2099-12-31T23:59:59", "logging": "Both"}
        self._pgutil_create(proget_client, fields, "chunked body")


class TestEndpoints(EndpointClauses):
    pass


class TestWire(WireClauses):
    pass
