"""Clauses for authentication (spec §3, §4 [doc]): the four carriers, pseudo-keys, and
the keys that must be refused."""

from __future__ import annotations

import json
import secrets
import time
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode

import pytest
import requests

from mockproget_contracts.base import ClauseBase
from mockproget_contracts.checks import expect_created, expect_error, expect_status, fail
from mockproget_contracts.client import ContractViolation, ProGetClient
from mockproget_contracts.strategies import EXPIRATION_OFFSETS, expiration_at, past_expiration
from mockproget_contracts.target import Target, clause

__all__ = ["AuthClauses", "bogus_key", "system_key_body"]


def bogus_key() -> str:
    """A key no server knows."""
    return secrets.token_hex(20)


def system_key_body(client: ProGetClient, label: str, **extra: Any) -> dict[str, Any]:
    """A full-control system key body marked as the kit's (``extra`` changes or adds fields)."""
    body = {"type": "system", "displayName": client.display_name(label),
            "systemApis": ["full-control"], "logging": "none"}
    body.update(extra)
    return body


def _new_key(client: ProGetClient, label: str, *, full_control: bool = False) -> dict[str, Any]:
    """A throw-away key to delete through some carrier (``full_control``: one whose
    refusal after its delete can be seen on these endpoints)."""
    sent = system_key_body(client, label, systemApis=["full-control" if full_control else "sca"])
    return expect_created(client.create(sent), sent, f"§6 creating a key ({label})")


def _listed_ids(client: ProGetClient) -> set[int]:
    return {k["id"] for k in client.list_keys()}


def _names(client: ProGetClient) -> set[str]:
    return {str(k.get("displayName")) for k in client.list_keys()}


#: §3 [doc]: where a refused key is tried. Each carrier on each endpoint where it can travel:
#: the header and the querystring everywhere, the form value in the body of a delete, the
#: ``API_Key`` property in the JSON body of a create.
REFUSAL_CARRIERS = ("header", "query", "form", "json")


def _carried(carrier: str, key: str | None, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """The request arguments that put ``key`` in ``carrier`` (``None``: no credential at all)."""
    if key is None:
        return {"api_key": None}
    if carrier == "header":
        return {"api_key": key}
    if carrier == "query":
        return {"api_key": None, "params": {"key": key}}
    if carrier == "form":
        return {"api_key": None, "data": {"key": key}, "content_type": "application/x-www-form-urlencoded"}
    return {"api_key": None, "data": json.dumps({**(body or {}), "API_Key": key}),
            "content_type": "application/json"}


def _expect_refused(response: requests.Response, expected: int | range | None, rule: str) -> None:
    """403 with a text/plain explanation; where ``expected`` allows other 4xx, any of them
    (a 403 still explains itself, §6)."""
    if expected == 403 or response.status_code == 403:
        expect_error(response, 403, rule)
    else:
        expect_status(response, expected if expected is not None else 403, rule)


def _refused_everywhere(client: ProGetClient, key: str | None, what: str, rule: str,
                        victim_id: int | None = None, hint: str = "",
                        carriers: tuple[str, ...] = REFUSAL_CARRIERS,
                        odd: int | range | None = None) -> None:
    """``key`` (``None``: no credential) gets 403 on list, create and delete in each of
    ``carriers`` where it can travel, and changes nothing (§3 [doc]). ``victim_id``: the
    key to try deleting (default: a new one). ``odd``: also try the form value and
    ``API_Key`` where the endpoint takes no such body (a body on the list GET, a form on
    create, JSON on delete), expecting that status (the mock: 403; elsewhere any 4xx, as
    judging the body first is allowed off the mock)."""
    if key is None:
        carriers = ("none",)
    if victim_id is None:
        victim_id = _new_key(client, f"deleted with {what}?")["id"]
    for carrier in carriers:
        where = f"{what}" if key is None else f"{what} in the {carrier} carrier"
        anywhere = carrier in ("header", "query", "none")  # no body needed
        if anywhere or odd is not None:
            _expect_refused(client.list(**_carried(carrier, key)), 403 if anywhere else odd,
                            f"{rule} list with {where}{hint}")
        if carrier != "form" or odd is not None:
            sent = system_key_body(client, f"created with {what}")
            if carrier in ("form", "json"):  # the credential is the body (with the key's fields)
                carried = _carried(carrier, key, sent)
                raw = carried.pop("data")
                response = client.create(sent, raw=(urlencode(raw) if isinstance(raw, dict) else raw).encode(),
                                         **carried)
            else:
                response = client.create(sent, **_carried(carrier, key))
            _expect_refused(response, odd if carrier == "form" else 403, f"{rule} create with {where}")
            if sent["displayName"] in _names(client):
                raise fail(f"{rule}: a key was created with {where}", response)
        if carrier != "json" or odd is not None:
            response = client.delete(victim_id, **_carried(carrier, key))
            _expect_refused(response, odd if carrier == "json" else 403, f"{rule} delete with {where}")
            if victim_id not in _listed_ids(client):
                raise fail(f"{rule}: a key was deleted with {where}", response)


# The JSON carrier accepts a charset parameter (§3 [doc]); pgutil sends one (§7).
JSON_TYPES = ("application/json", "application/json; charset=utf-8")


def _expect_deleted(client: ProGetClient, key_id: int, response: requests.Response, how: str,
                    text: str | None = None) -> None:
    """A delete answered 200 removed the key; any other answer left it (§1, §3 [doc]). With
    the key's ``text`` (a full-control key), a removed key also no longer authenticates,
    whichever carrier the delete came in (§3 [doc]: a deleted key is refused)."""
    gone = key_id not in _listed_ids(client)
    if response.status_code == 200 and not gone:
        raise fail(f"§3 [doc]: delete answered 200 with {how}, yet the key is still listed", response)
    if response.status_code != 200 and gone:
        raise fail(f"§3 [doc]: delete answered {response.status_code}, yet the key was deleted", response)
    if gone and text is not None:
        expect_error(client.list(api_key=text), 403, f"§3 [doc] a key deleted by a request with {how}")


def _via(client: ProGetClient, carrier: str, key: str, label: str,
         json_type: str = JSON_TYPES[1]) -> requests.Response:
    """Use ``key`` in one carrier only, on the endpoint where that carrier fits, and check
    the request did what it should when accepted. Returns the answer."""
    if carrier == "header":
        return client.list(api_key=key)
    if carrier == "query":
        listed = client.list(api_key=None, params={"key": key})
        if listed.status_code != 200:
            return listed
        sent = system_key_body(client, f"{label} via ?key=")
        response = client.create(sent, api_key=None, params={"key": key})  # a POST with a JSON body
        if response.status_code == 200:
            expect_created(response, sent, "§3 [doc] create with the key in the querystring")
        elif sent["displayName"] in _names(client):
            raise fail(f"§3 [doc]: create answered {response.status_code}, yet the key was created", response)
        else:
            return response
        victim = _new_key(client, f"{label} victim", full_control=True)
        response = client.delete(victim["id"], api_key=None, params={"key": key})  # a POST, no body
        _expect_deleted(client, victim["id"], response, "a ?key= querystring value", victim["key"])
        return response
    if carrier == "form":
        victim = _new_key(client, f"{label} victim", full_control=True)
        response = client.delete(victim["id"], api_key=None, data={"key": key},
                                 content_type="application/x-www-form-urlencoded")
        _expect_deleted(client, victim["id"], response, "a form key", victim["key"])
        return response
    sent = system_key_body(client, f"{label} via API_Key")
    response = client.create({**sent, "API_Key": key}, api_key=None, content_type=json_type)
    created = sent["displayName"] in _names(client)
    if response.status_code == 200:
        expect_created(response, sent, "§3 [doc] create with the API_Key JSON property")
    elif created:
        raise fail(f"§3 [doc]: create answered {response.status_code}, yet the key was created", response)
    return response


#: How far ahead a short-lived key expires, and the margin waited past it (seconds).
SHORT_LIFE, EXPIRY_MARGIN = 3, 0.5


def _server_clock_skew(client: ProGetClient) -> float:
    """Seconds the target's clock (its ``Date`` header) is ahead of ours; 0 when they agree
    within 2 s (the header has whole seconds) or it says nothing usable."""
    response = client.list()
    try:
        told = parsedate_to_datetime(response.headers.get("Date", ""))
    except (TypeError, ValueError):
        return 0.0
    if told.tzinfo is None:
        return 0.0
    skew = (told - datetime.now(timezone.utc)).total_seconds() + 0.5
    return skew if abs(skew) > 2 else 0.0


def _short_lived_keys(target: Target) -> dict[str, ContractViolation | None]:
    """For each expiration form (no offset, ``Z``, ``+02:00``): a full-control key expiring
    :data:`SHORT_LIFE` seconds ahead works at once, and once that moment has passed it is
    refused on every endpoint in every carrier (§2, §3 [doc]). One wait for all three
    forms; returns each form's violation, or ``None``."""
    client = target.client()
    found: dict[str, ContractViolation | None] = dict.fromkeys(EXPIRATION_OFFSETS.values())
    keys: dict[str, tuple[str, str]] = {}
    try:
        skew = _server_clock_skew(client)
        moment = (datetime.now(timezone.utc) + timedelta(seconds=skew)).replace(microsecond=0) + timedelta(
            seconds=SHORT_LIFE)
        for offset in EXPIRATION_OFFSETS.values():
            sent = system_key_body(client, "expires soon", expiration=expiration_at(moment, offset))
            try:
                info = expect_created(client.create(sent), sent,
                                      f"§2 [doc] create a key expiring at {sent['expiration']}")
                expect_status(client.list(api_key=info["key"]), 200,
                              f"§2 [doc] a key expiring at {sent['expiration']} (in {SHORT_LIFE} s), "
                              "before then")
                keys[offset] = (info["key"], sent["expiration"])
            except ContractViolation as violation:
                found[offset] = violation
        wait = (moment - datetime.now(timezone.utc)).total_seconds() - skew + EXPIRY_MARGIN
        if keys and wait > 0:
            time.sleep(wait)
        for offset, (text, expiration) in keys.items():
            try:
                _refused_everywhere(client, text, f"a key expired at {expiration}", "§2 [doc]")
            except ContractViolation as violation:
                found[offset] = violation
        return found
    finally:
        target.leftovers.extend(client.cleanup())
        client.close()


class AuthClauses(ClauseBase):
    """§3 credentials and §4's [doc] refusals."""

    @pytest.mark.parametrize("carrier", ["header", "query", "form", "json"])
    @clause("§3", "doc")
    def test_carrier_accepts_a_good_key(self, carrier: str, proget_client: ProGetClient) -> None:
        """Each of the four carriers (X-ApiKey header, ``key`` query, ``key`` form value,
        ``API_Key`` JSON property) authenticates a good key (§3 [doc])."""
        for json_type in JSON_TYPES if carrier == "json" else JSON_TYPES[:1]:
            response = _via(proget_client, carrier, proget_client.api_key or "", f"{carrier} carrier",
                            json_type)
            where = f"{carrier} carrier" + (f" ({json_type})" if carrier == "json" else "")
            expect_status(response, 200, f"§3 [doc] the admin key in the {where}")

    @pytest.mark.parametrize("carrier", ["header", "query", "form", "json"])
    @clause("§3", "doc")
    def test_carrier_refuses_a_bad_key(self, carrier: str, proget_target: Target,
                                       proget_client: ProGetClient) -> None:
        """An unknown key in any carrier gets 403 on list, create and delete, and changes
        nothing (§3 [doc]). Where the carrier's body is not one the endpoint takes (a form
        on create, a JSON body on delete) any 4xx passes off the mock (and, on an instance
        that grants anonymous access, it is not tried)."""
        odd: int | range | None = 403 if proget_target.is_mock else range(400, 500)
        if proget_target.anonymous_allowed() and not proget_target.is_mock:
            odd = None  # an ignored credential lets an anonymous caller in: no departure
        _refused_everywhere(proget_client, bogus_key(), "an unknown key", "§3 [doc]", carriers=(carrier,), odd=odd)

    @pytest.mark.parametrize("variant", ["random", "admin-key-truncated", "admin-key-extended"])
    @clause("§3", "doc")
    def test_unknown_key_refused_on_every_endpoint(self, variant: str, proget_client: ProGetClient) -> None:
        """An unknown key (also one that only starts like, or extends, a real key) gets 403
        on list, create and delete, and nothing changes (§3 [doc])."""
        admin = proget_client.api_key or ""
        bad = {"random": bogus_key(), "admin-key-truncated": admin[:-1],
               "admin-key-extended": admin + "0"}[variant]
        _refused_everywhere(proget_client, bad, f"an unknown key ({variant})", "§3 [doc]")

    @pytest.mark.parametrize("name", ["x-apikey", "X-APIKEY", "x-ApiKey"])
    @clause("§3", "doc", creates=False)
    def test_header_name_is_case_insensitive(self, name: str, proget_client: ProGetClient) -> None:
        """HTTP header names are case-insensitive: ``x-apikey`` works like ``X-ApiKey`` (§3 [doc])."""
        response = proget_client.list(api_key=None, headers={name: proget_client.api_key or ""})
        expect_status(response, 200, f"§3 [doc] the admin key in a {name!r} header")

    @pytest.mark.parametrize("case", ["form-key-in-multipart", "form-key-in-json", "form-key-in-text",
                                      "form-body-sent-as-json", "api-key-in-form",
                                      "api-key-in-text-plain-json", "api-key-not-on-root"])
    @clause("§3", "doc")
    def test_carrier_ignored_under_wrong_content_type(self, case: str, proget_target: Target,
                                                       proget_client: ProGetClient) -> None:
        """A form ``key`` counts only in an x-www-form-urlencoded body, ``API_Key`` only in
        an application/json body: elsewhere they are no credential (§3 [doc]): the request is
        refused and changes nothing. On the mock the refusal is 403; elsewhere any 4xx, as
        judging authentication before the body (its media type, say 415) is [model]."""
        refused = 403 if proget_target.is_mock else range(400, 500)
        if proget_target.anonymous_allowed():
            pytest.skip("the target grants anonymous access (§3), so an ignored credential "
                        "cannot be told from an honoured one")
        key = proget_client.api_key or ""
        if case in ("api-key-in-text-plain-json", "api-key-not-on-root"):
            sent = system_key_body(proget_client, case)
            if case == "api-key-not-on-root":
                response = proget_client.create({**sent, "description": "nested", "extra": {"API_Key": key}},
                                                api_key=None)
            else:
                response = proget_client.create(sent, raw=json.dumps({**sent, "API_Key": key}).encode(),
                                                api_key=None, content_type="text/plain; charset=utf-8")
            _expect_refused(response, refused, f"§3 [doc] API_Key where it is no credential ({case})")
            if sent["displayName"] in _names(proget_client):
                raise fail("§3 [doc]: the key was created although the request had no credential", response)
            return
        victim = _new_key(proget_client, case)
        if case == "form-key-in-multipart":
            response = proget_client.delete(victim["id"], api_key=None, files={"key": (None, key)})
        elif case == "form-key-in-json":
            response = proget_client.delete(victim["id"], api_key=None, data=json.dumps({"key": key}),
                                            content_type="application/json")
        elif case == "form-body-sent-as-json":
            response = proget_client.delete(victim["id"], api_key=None, data=f"key={key}",
                                            content_type="application/json")
        elif case == "form-key-in-text":
            response = proget_client.delete(victim["id"], api_key=None, data=f"key={key}",
                                            content_type="text/plain")
        else:
            response = proget_client.delete(victim["id"], api_key=None, data={"API_Key": key},
                                            content_type="application/x-www-form-urlencoded")
        _expect_refused(response, refused, f"§3 [doc] a credential in the wrong place ({case})")
        if victim["id"] not in _listed_ids(proget_client):
            raise fail("§3 [doc]: the key was deleted although the request had no credential", response)

    @clause("§3", "doc")
    def test_missing_key_is_refused(self, proget_target: Target, proget_client: ProGetClient) -> None:
        """No credential at all: 403 on list, create and delete, and nothing changes (§3 [doc]),
        unless the instance grants anonymous access on purpose (then say so with
        --proget-anonymous)."""
        if proget_target.anonymous_allowed():
            pytest.skip("the target grants anonymous access (§3 [doc]: a fresh ProGet does)")
        _refused_everywhere(proget_client, None, "no key", "§3 [doc]", hint=" (if the instance grants "
                            "anonymous access on purpose, give --proget-anonymous)")

    @pytest.mark.parametrize("offset", list(EXPIRATION_OFFSETS.values()), ids=list(EXPIRATION_OFFSETS))
    @clause("§2", "doc")
    def test_expired_key_is_refused(self, offset: str, proget_target: Target,
                                    proget_client: ProGetClient) -> None:
        """A key past its expiration no longer authenticates, in any carrier, whether the
        expiration was given without offset, with ``Z`` or with ``+02:00`` (§2, §3 [doc]).
        Whether a past expiration is refused at create or stored inert is open (§8): if it
        is refused, keys expiring a few seconds ahead are created instead and tried once
        they have expired (one short wait per run, for the three forms together)."""
        future = system_key_body(proget_client, "expires later", expiration="2099-01-01T00:00:00" + offset)
        live = expect_created(proget_client.create(future), future)
        expect_status(proget_client.list(api_key=live["key"]), 200,
                      f"§2 [doc] a full-control key that expires at {future['expiration']}")
        past = system_key_body(proget_client, "expired", expiration=past_expiration(offset))
        response = proget_client.create(past)
        if 400 <= response.status_code < 500:  # §8: refusing a past expiration is allowed
            found = proget_target.probe("short-lived keys", lambda: _short_lived_keys(proget_target))
            if found[offset] is not None:
                raise found[offset]
            return
        info = expect_created(response, past)
        _refused_everywhere(proget_client, info["key"], f"a key expired at {past['expiration']}", "§2 [doc]",
                            victim_id=live["id"])

    @clause("§2", "doc", free_edition=True)
    def test_expired_personal_key_is_refused(self, proget_target: Target, proget_client: ProGetClient) -> None:
        """Expiration holds for every key type, not for system keys only: a personal key
        (for the pseudo-key's user and for --user) past its expiration gets 403 on each
        endpoint in each carrier it can travel in there, for what that user's live key may
        do (§2, §3 [doc]; §4: list its keys, create a personal key for itself, delete its own
        key), and changes nothing. A past expiration refused at create (§8): a key expiring a
        moment ahead is tried once that moment has passed."""
        owners = sorted({n for n in (proget_target.username, proget_target.user) if n})
        if not owners:
            proget_target.require("user")
        expired: dict[str, str] = {}
        pending: list[tuple[str, str]] = []
        live_ids: dict[str, int] = {}
        skew = _server_clock_skew(proget_client)
        moment = (datetime.now(timezone.utc) + timedelta(seconds=skew)).replace(microsecond=0) + timedelta(
            seconds=SHORT_LIFE)
        refused: list[str] = []
        for owner in owners:
            live = {"type": "personal", "user": owner, "logging": "none", "expiration": "2099-01-01T00:00:00Z",
                    "displayName": proget_client.display_name(f"personal key of {owner}")}
            made = proget_client.create(live)
            if 400 <= made.status_code < 500:  # personal keys switched off (§5), or no such user: nothing to expire
                refused.append(f"{owner}: {made.status_code} {proget_client.secrets.mask(made.text.strip())[:80]}")
                continue
            live_ids[owner] = expect_created(made, live, "§2 [doc] a live personal key")["id"]
            past = {**live, "expiration": past_expiration("Z"),
                    "displayName": proget_client.display_name(f"expired personal key of {owner}")}
            response = proget_client.create(past)
            if 400 <= response.status_code < 500:  # §8: a past expiration may be refused
                soon = {**live, "expiration": expiration_at(moment, "Z"),
                        "displayName": proget_client.display_name(f"soon-expired personal key of {owner}")}
                info = expect_created(proget_client.create(soon), soon, "§2 [doc] a personal key expiring soon")
                pending.append((owner, info["key"]))
            else:
                expired[owner] = expect_created(response, past, "§2 [doc] a personal key with a past expiration")["key"]
        if not expired and not pending:
            pytest.skip(f"the target refused a personal key for every user given (the pseudo-key's, --user: "
                        f"{'; '.join(refused)}): personal keys are switched off there (§5), or no such user "
                        "exists; give --user an existing user on an instance with personal keys")
        if pending:
            wait = (moment - datetime.now(timezone.utc)).total_seconds() - skew + EXPIRY_MARGIN
            if wait > 0:
                time.sleep(wait)
            expired.update(pending)
        for owner, text in expired.items():
            what = f"an expired personal key of {owner}"
            for carrier in ("header", "query"):
                _expect_refused(proget_client.list(**_carried(carrier, text)), 403,
                                f"§2 [doc] list with {what} in the {carrier} carrier")
            for carrier in ("header", "query", "json"):  # a personal key for that user itself
                sent = {"type": "personal", "user": owner, "logging": "none",
                        "displayName": proget_client.display_name(f"created with {what}")}
                carried = _carried(carrier, text, sent)
                raw = carried.pop("data", None)
                response = proget_client.create(sent, raw=raw.encode() if raw is not None else None, **carried)
                _expect_refused(response, 403, f"§2 [doc] create with {what} in the {carrier} carrier")
                if sent["displayName"] in _names(proget_client):
                    raise fail(f"§2 [doc]: a key was created with {what} in the {carrier} carrier", response)
            for carrier in ("header", "query", "form"):  # that user's own live key
                response = proget_client.delete(live_ids[owner], **_carried(carrier, text))
                _expect_refused(response, 403, f"§2 [doc] delete with {what} in the {carrier} carrier")
                if live_ids[owner] not in _listed_ids(proget_client):
                    raise fail(f"§2 [doc]: a key was deleted with {what} in the {carrier} carrier", response)

    @clause("§3", "doc")
    def test_deleted_key_is_refused(self, proget_client: ProGetClient) -> None:
        """A key works until it is deleted, and is refused after (§3 [doc])."""
        sent = system_key_body(proget_client, "deleted later")
        info = expect_created(proget_client.create(sent), sent)
        expect_status(proget_client.list(api_key=info["key"]), 200, "§3 a new full-control key")
        expect_status(proget_client.delete(info["id"]), 200, "§1 [doc] delete")
        _refused_everywhere(proget_client, info["key"], "a deleted key", "§3 [doc]")

    @pytest.mark.parametrize("place", ["feed", "feedGroup"])
    @clause("§4", "doc")
    def test_feed_key_cannot_manage_keys(self, place: str, proget_target: Target,
                                         proget_client: ProGetClient) -> None:
        """Feed keys "can only use feed-related APIs": 403 on the api-keys endpoints (§4 [doc]),
        a key for a feed and a key for a feed group alike."""
        name = proget_target.require("feed" if place == "feed" else "feed_group")
        sent = {"type": "feed", "displayName": proget_client.display_name(f"{place} key"),
                "packagePermissions": ["view", "add", "promote", "delete"], place: name,
                "logging": "none"}
        info = expect_created(proget_client.create(sent), sent)
        _refused_everywhere(proget_client, info["key"], f"a {place} key", "§4 [doc]", victim_id=info["id"])

    @pytest.mark.parametrize("carrier", ["header", "query", "form", "json"])
    @clause("§3", "doc")
    def test_pseudo_key_in_each_carrier(self, carrier: str, proget_target: Target,
                                        proget_client: ProGetClient) -> None:
        """``user:password`` authenticates as that user in any carrier (§3 [doc]; pgutil's
        --username/--password sends it in X-ApiKey [client])."""
        pseudo = proget_target.require("pseudo_key")
        response = _via(proget_client, carrier, pseudo, f"pseudo-key {carrier}")
        expect_status(response, 200, f"§3 [doc] the pseudo-key in the {carrier} carrier")

    @clause("§3", "doc", creates=False)
    def test_pseudo_key_with_wrong_password_is_refused(self, proget_target: Target,
                                                       proget_client: ProGetClient) -> None:
        """A pseudo-key with a wrong password is refused (§3 [doc])."""
        username, _, password = proget_target.require("pseudo_key").partition(":")
        response = proget_client.list(api_key=f"{username}:{bogus_key()}")
        expect_error(response, 403, "§3 [doc] a pseudo-key with a wrong password")
        response = proget_client.list(api_key=f"{proget_target.name_prefix}-nobody:{password}".replace(" ", "-"))
        expect_error(response, 403, "§3 [doc] a pseudo-key of a user that does not exist")

    @clause("§3", "doc")
    def test_pseudo_key_with_wrong_password_refused_everywhere(self, proget_target: Target,
                                                               proget_client: ProGetClient) -> None:
        """A pseudo-key with a wrong password gets 403 on list, create and delete, in every
        carrier, and changes nothing (§3 [doc])."""
        username, _, _ = proget_target.require("pseudo_key").partition(":")
        _refused_everywhere(proget_client, f"{username}:{bogus_key()}", "a pseudo-key with a wrong password",
                            "§3 [doc]")


class TestAuth(AuthClauses):
    pass
