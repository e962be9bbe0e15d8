"""Clauses stated once over the whole space of equivalent requests (spec §2, §3, §7).

Each rule below is a property over :class:`~mockproget_contracts.shapes.Shape` (or over
bodies, instants, near-miss secrets): every member of an equivalence class must be treated
alike. The small cross-products (endpoint x carrier x spelling, framings, near-misses,
array positions, time cells) are enumerated; the rest is drawn by hypothesis, and a
failure shows the smallest request found that breaks the rule (masked), with its section.
"""

from __future__ import annotations

import json
import secrets as _secrets
import string
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Any

import pytest
import requests
from hypothesis import Phase
from hypothesis import strategies as st

from mockproget_contracts.base import ClauseBase, for_all
from mockproget_contracts.checks import (
    expect_created,
    same_apis,
    expect_error,
    expect_json_array,
    expect_listed_as_sent,
    expect_status,
    fail,
)
from mockproget_contracts.client import ContractViolation, ProGetClient
from mockproget_contracts.shapes import (
    FRAMINGS,
    JSON_STYLES,
    NEAR_MISSES,
    NOT_FORM_TYPES,
    NOT_JSON_TYPES,
    NearMiss,
    Shape,
    cells,
    instant_text,
    near_miss,
    parse_instant,
    shapes,
)
from mockproget_contracts.target import Target, clause
from mockproget_contracts.test_auth import _expect_refused, _server_clock_skew, system_key_body
from mockproget_contracts.wire import send_raw

__all__ = ["ShapeClauses"]


def _per_cell(target: Target) -> int:
    """Examples drawn per enumerated cell: 2 by default, more with --max-examples."""
    return max(1, target.max_examples // 25)


def _settings(target: Target, examples: int) -> dict[str, Any]:
    """Shrinking on: a failure is reported with the smallest shape that shows it."""
    return {"max_examples": examples,
            "phases": [Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink]}


@contextmanager
def _about(what: object) -> Iterator[None]:
    """Prefix a violation with the request shape (or value) that produced it."""
    try:
        yield
    except ContractViolation as violation:
        raise ContractViolation(f"{violation.message}\n  with {what}", violation.exchange) from None


def send(client: ProGetClient, shape: Shape, credential: str | None, *,
         members: list[tuple[str, Any]] | None = None, key_id: int | None = None,
         follow_up: bool = False) -> requests.Response:
    """Send ``shape``; with ``follow_up``, a list with the admin key follows on the same
    connection when the server keeps it open, and must be answered 200 (RFC 9112 [std])."""
    query, headers, body = shape.build(credential, members=members, key_id=key_id)
    response = send_raw(client, shape.method, shape.path, query=query, headers=headers, body=body,
                        chunk_size=shape.framing.chunk, upper_hex=shape.framing.upper_hex,
                        coding=shape.framing.coding,
                        follow_up=client.api_key if follow_up else None)
    status = getattr(response, "follow_up", None)
    if follow_up and status is not None and status != 200:
        raise fail(f"RFC 9112 [std]: after this answer, a list with the admin key sent next on the same "
                   f"(kept-open) connection was answered {status}: the body of the first request was "
                   "not read or discarded, and its leftovers were parsed as the next request", response)
    return response


def _members(client: ProGetClient, label: str, **extra: Any) -> list[tuple[str, Any]]:
    body = system_key_body(client, label, systemApis=["sca"], **extra)
    if client.default_expiration and "expiration" not in body:
        body["expiration"] = client.default_expiration
    return list(body.items())


def _listed(client: ProGetClient) -> dict[int, dict[str, Any]]:
    return {k["id"]: k for k in client.list_keys()}


def _victim(client: ProGetClient, label: str) -> int:
    sent = dict(_members(client, label))
    return int(expect_created(client.create(sent), sent, f"§6 creating a key ({label})")["id"])


def _accepted(client: ProGetClient, shape: Shape, credential: str, rule: str) -> None:
    """The request in ``shape`` with a good ``credential`` does what its endpoint does."""
    with _about(shape):
        if shape.endpoint == "list":
            expect_json_array(send(client, shape, credential), f"{rule} list")
            return
        if shape.endpoint == "create":
            members = _members(client, "shape")
            sent = dict(members)
            response = send(client, shape, credential, members=members)
            if response.status_code == 200:
                client.remember(sent, response)
            info = expect_created(response, sent, f"{rule} create")
            _answered_as_sent(info, sent, response, "§2 [doc]")
            listed = _listed(client)
            if info["id"] not in listed:
                raise fail(f"§1 [doc]: the created key #{info['id']} is not listed", response)
            expect_listed_as_sent(listed[info["id"]], sent, response, f"{rule} create", info["key"])
            for where, shown in (("create answer", info), ("list", listed[info["id"]])):
                if any(credential in str(value) for value in shown.values()):
                    raise fail(f"§2 [doc]: the caller's credential shows up in the new key ({where}): "
                               "API_Key and the other carriers are never part of the new key", response)
            return
        victim = _victim(client, "shape victim")
        response = send(client, shape, credential, key_id=victim)
        expect_status(response, 200, f"{rule} delete")
        if victim in _listed(client):
            raise fail(f"{rule}: delete answered 200, yet key #{victim} is still listed", response)


class _Victim:
    """One key per clause for refused deletes to try (refusals must leave it alone)."""

    def __init__(self, client: ProGetClient) -> None:
        self.client, self._id = client, None  # type: ProGetClient, int | None

    @property
    def id(self) -> int:
        if self._id is None:
            self._id = _victim(self.client, "must survive")
        return self._id

    def gone(self) -> None:
        self._id = None


def _refused(client: ProGetClient, shape: Shape, credential: str | None, expected: int | range,
             rule: str, victim: _Victim, follow_up: bool = False) -> None:
    """The request in ``shape`` is refused (``expected``) and changes nothing (§3 [doc])."""
    with _about(shape):
        if shape.endpoint == "list":
            _expect_refused(send(client, shape, credential, follow_up=follow_up), expected, f"{rule} list")
        elif shape.endpoint == "create":
            members = _members(client, "must not exist")
            response = send(client, shape, credential, members=members, follow_up=follow_up)
            if response.status_code == 200:
                client.remember(dict(members), response)
            _expect_refused(response, expected, f"{rule} create")
            if dict(members)["displayName"] in {k.get("displayName") for k in client.list_keys()}:
                raise fail(f"{rule}: create answered {response.status_code}, yet the key exists", response)
        else:
            key_id = victim.id
            response = send(client, shape, credential, key_id=key_id, follow_up=follow_up)
            if key_id not in _listed(client):
                victim.gone()  # the next example gets a new one: one departure, one report
                raise fail(f"{rule}: delete answered {response.status_code}, yet the key was deleted",
                           response)
            _expect_refused(response, expected, f"{rule} delete")


def _endpoints(target: Target) -> tuple[str, ...]:
    """All three endpoints; only list where nothing may be created (``--readonly``) or
    system keys cannot be (a Free edition, §6)."""
    if target.readonly or target.edition() == "Free":
        return ("list",)
    return ("list", "create", "delete")


def _everywhere(target: Target) -> list[Shape]:
    """Every endpoint x carrier (one spelling each), also where the carrier does not fit
    (except a form on create, whose body must be JSON)."""
    return [s for s in cells(_endpoints(target), fitting_only=False, spellings=False)
            if not (s.endpoint == "create" and s.carrier == "form")]


def _just_past(client: ProGetClient, skew: float, offset: int | None) -> None:
    """§2 [doc]: no grace period, to the second. A key whose expiration is half a second
    before the current whole second (so past by 0.5 to 1.5 s) must not authenticate once
    the server's own clock says so: its ``Date`` (whole seconds) is at or after the second
    that follows the expiration. (A server whose clock is behind, or that sends no
    ``Date``, cannot be judged this close: nothing is asserted then.)"""
    now = datetime.now(timezone.utc) + timedelta(seconds=skew)
    moment = now.replace(microsecond=0) - timedelta(milliseconds=500)
    text = instant_text(moment, offset, 7)
    sent = system_key_body(client, "just expired", expiration=text)
    response = client.create(sent)
    if 400 <= response.status_code < 500:
        return  # §8: a past expiration may be refused
    info = expect_created(response, sent, "§2 [doc] a key with an expiration")
    used = client.list(api_key=info["key"])
    try:
        told = parsedate_to_datetime(used.headers.get("Date", ""))
    except (TypeError, ValueError):
        return
    if told.tzinfo is not None and told >= moment + timedelta(milliseconds=500) and used.status_code != 403:
        raise fail(f"§2 [doc]: a key that expired at {text} still authenticates (answered {used.status_code}) "
                   f"at {used.headers.get('Date')} by the server's own clock: a grace period past the "
                   "expiration", used)
    client.cleanup()


#: Seconds past the current whole second a key expires that is used before and after its
#: expiration (so 0.5 to 1.5 s ahead).
USED_LIFE = 1.5


@contextmanager
def _used_across_expiry(target: Target, skew: float) -> Iterator[Callable[[], None]]:
    """§2 [doc]: a key that authenticated a moment before its expiration is refused once it
    has passed, in the header and the query alike (an answer remembered for a key, or a
    session opened by it, outlives no expiration). Creates a full-control key expiring
    :data:`USED_LIFE` seconds past the current whole second and uses it at once; the function it gives (called
    after other work, so the wait overlaps it) waits for the moment to pass and uses the
    key again. Judged by the server's own ``Date``, as :func:`_just_past` is. (A client of
    its own, so the clause's cleanups between examples leave the key alone; it is deleted
    on the way out, whatever happened.)"""
    client = target.client()
    try:
        # half a second past a whole second, so the server's Date (whole seconds) shows the
        # moment passed by half a second at the next whole second
        moment = (datetime.now(timezone.utc) + timedelta(seconds=skew)).replace(microsecond=0) + timedelta(
            seconds=USED_LIFE)
        text = instant_text(moment, 0, 7)
        sent = system_key_body(client, "used across its expiry", expiration=text)
        info = expect_created(client.create(sent), sent, "§2 [doc] a key with an expiration")
        carriers: dict[str, dict[str, Any]] = {"header": {"api_key": info["key"]},
                                               "query": {"api_key": None, "params": {"key": info["key"]}}}
        for carrier, how in carriers.items():
            used = client.list(**how)
            told = _told(used)
            # the Date is whole seconds: the server's time was before the moment only if the
            # whole second it names was
            if told is not None and told + timedelta(seconds=1) <= moment:
                expect_status(used, 200, f"§2 [doc] a key expiring at {text}, before then ({carrier})")

        def after() -> None:
            wait = (moment - datetime.now(timezone.utc)).total_seconds() - skew + 0.55
            if wait > 0:
                time.sleep(wait)
            for carrier, how in carriers.items():
                used = client.list(**how)
                told = _told(used)
                if told is not None and told >= moment + timedelta(milliseconds=500) and used.status_code != 403:
                    raise fail(f"§2 [doc]: a key that worked before it expired at {text} still authenticates in "
                               f"the {carrier} carrier (answered {used.status_code}) at "
                               f"{used.headers.get('Date')} by the server's own clock", used)
        yield after
    finally:
        target.leftovers.extend(client.cleanup())
        client.close()


def _told(response: requests.Response) -> datetime | None:
    """The server's ``Date``, or ``None`` when it sends none usable."""
    try:
        told = parsedate_to_datetime(response.headers.get("Date", ""))
    except (TypeError, ValueError):
        return None
    return told if told.tzinfo is not None else None


class ShapeClauses(ClauseBase):
    """§3 and §7 over every equivalent request; §2 round-trips, instants, arrays, ids,
    concurrency, and pgutil's own flows."""

    @pytest.mark.parametrize("credential", ["api-key", "pseudo-key", "created-key"])
    @clause("§3", "doc", creates=False)
    def test_good_credential_in_every_shape(self, credential: str, request: pytest.FixtureRequest,
                                            proget_target: Target, proget_client: ProGetClient) -> None:
        """Carrier x endpoint x method x spelling: a good key (the admin key, the pseudo-key,
        or a full-control key created at the start of the clause) works in every
        carrier on every endpoint where the carrier travels (header and query everywhere, a
        form on delete, ``API_Key`` in the create body), whatever the header name's case,
        the query parameters' order and extras, the body's media-type spelling (case,
        ``charset``), framing (Content-Length or chunked, chunk size, hex case) and the JSON
        members' order and whitespace (§3 [doc], §7 [client], RFC 9110/9112/8259 [std]).
        On the mock also where a body carrier does not fit the endpoint. Enumerated:
        endpoint x carrier x spelling; drawn: the rest. Under --readonly (or on a Free
        edition) only the list is tried."""
        if credential == "api-key":
            secret = proget_client.api_key or ""
        elif credential == "pseudo-key":
            secret = proget_target.require("pseudo_key")
        elif proget_target.readonly:
            pytest.skip("creates API keys, and --proget-readonly was given")
        elif proget_target.edition() == "Free":
            pytest.skip("creates a system key, which a Free edition refuses (§6): check a Basic or "
                        "Enterprise instance")
        else:  # made by a client of its own, so the per-cell clean-up leaves it alone
            owner = proget_target.client()

            def finish() -> None:
                proget_target.leftovers.extend(owner.cleanup())
                owner.close()
            request.addfinalizer(finish)
            sent = system_key_body(owner, "used everywhere")
            secret = expect_created(owner.create(sent), sent, "§6 creating a full-control key")["key"]
        rule = f"§3 [doc] a good {credential}"
        for cell in cells(_endpoints(proget_target), fitting_only=not proget_target.is_mock):
            if cell.endpoint == "create" and cell.carrier == "form":
                continue
            for_all(proget_target, shapes(cell), lambda s: _accepted(proget_client, s, secret, rule),
                    **_settings(proget_target, _per_cell(proget_target)))
            proget_client.cleanup()

    @clause("§7", "client")
    def test_every_framing_carries_body_and_credential(self, proget_target: Target,
                                                       proget_client: ProGetClient) -> None:
        """Framing: a body sent with Content-Length or chunked (chunks of 1, 26 = ``1A``
        and 8000 = ``1F40`` bytes, sizes in upper-case hex as .NET writes them and in lower
        case), small or 12 KB wide, is read whole, and a credential inside a chunked body
        (``API_Key`` in the create body, a form ``key`` on delete) counts as in any other
        body (§7 [client], §3 [doc], RFC 9112 §7.1 [std]). Also every JSON style
        (compact, spaced, indented, tabs and CRLF, ``\\u``-escaped letters, wide) with
        ``API_Key`` first, last and in the middle (RFC 8259 [std]). Enumerated: framing x
        size x body carrier, and JSON style x ``API_Key`` position."""
        key = proget_client.api_key or ""
        for framing in FRAMINGS:
            for style in ("compact", "wide") if framing.chunk in (None, 8000) else ("compact",):
                for base in (Shape("create", "header", media_type="application/json; charset=utf-8"),
                             Shape("create", "json", media_type="application/json; charset=utf-8"),
                             Shape("delete", "form", media_type="application/x-www-form-urlencoded",
                                   query_order="first")):
                    _accepted(proget_client, replace(base, framing=framing, json_style=style), key,
                              "§7 [client] a good key")
        for style in JSON_STYLES:  # JSON as JSON: whitespace and escapes carry no meaning
            for seed in (0, 1, 2):
                _accepted(proget_client, Shape("create", "json", media_type="application/json",
                                               json_style=style, member_seed=seed), key, "§2 [std] JSON")
        proget_client.cleanup()

    @clause("§3", "doc", creates=False)
    def test_near_miss_credentials_are_refused(self, proget_target: Target,
                                               proget_client: ProGetClient) -> None:
        """Near-miss secrets: the admin key, the pseudo-key's password and its user name,
        each empty, cut short at either end, extended at either end, case-swapped or padded
        with whitespace, get 403 in every carrier on every endpoint and change nothing
        (§3 [doc]: an unknown key; a pseudo-key is exactly a user's name and password).
        Enumerated: near-miss x endpoint x carrier (each in its simplest spelling; with
        fewer than 20 examples, each near-miss and each cell once); drawn:
        near-misses in shapes of every spelling, framing and encoding. Where a carrier does
        not fit the endpoint any 4xx passes off the mock. Under --readonly (or on a Free
        edition) only the list is tried."""
        key, pseudo = proget_client.api_key or "", proget_target.pseudo_key
        victim = _Victim(proget_client)
        anonymous = proget_target.anonymous_allowed()
        everywhere = _everywhere(proget_target)

        def check(value: tuple[NearMiss, Shape]) -> None:
            miss, shape = value
            credential = near_miss(miss, key, pseudo, shape.carrier)
            if credential is None or (anonymous and (miss.absent or not credential or not shape.fits)):
                return  # where the credential may be ignored, an anonymous instance lets it in
            # a near-miss is most of a secret: masked like one wherever the report shows it
            proget_client.secrets.add(credential if miss.part == "key" else
                                      credential.partition(":")[2] if miss.part == "password" else None)
            expected: int | range = 403 if proget_target.is_mock or shape.fits else range(400, 500)
            with _about(f"near-miss {miss}"):
                _refused(proget_client, shape, credential, expected, f"§3 [doc] a near-miss ({miss})", victim)

        misses = [m for m in NEAR_MISSES if m.part == "key" or pseudo is not None]
        drawn_shape = st.sampled_from(everywhere).flatmap(lambda cell: shapes(cell, spellings=True))
        if proget_target.max_examples >= 20:
            enumerated = [(miss, cell) for miss in misses for cell in everywhere]
        else:  # a quick run: every near-miss once and every cell once, not their product
            enumerated = [(miss, everywhere[i % len(everywhere)]) for i, miss in enumerate(misses)] + [
                (misses[i % len(misses)], cell) for i, cell in enumerate(everywhere)]
        for_all(proget_target, st.tuples(st.sampled_from(misses), drawn_shape), check, examples=enumerated,
                **_settings(proget_target, (len(misses) + len(everywhere)) * _per_cell(proget_target) // 2))

    @clause("§3", "doc")
    def test_credential_in_a_body_of_another_type_is_none(self, proget_target: Target,
                                                          proget_client: ProGetClient) -> None:
        """Media-type spelling, the other way: ``API_Key`` in a body that is not
        application/json (text/plain, no Content-Type, octet-stream, a form) and a form
        ``key`` in a body that is not a form (text/plain, no Content-Type — which is not a
        form —, JSON, multipart) are no credential, on every endpoint, list and delete
        included (which read no body of their own): refused, nothing changes (§3 [doc]).
        On the mock 403; elsewhere any 4xx (judging the media type first is allowed).
        Where the server keeps the connection open, the next request on it is answered as
        if alone (the unused body was read or discarded: RFC 9112 [std]).
        Enumerated: carrier x media type x endpoint."""
        if proget_target.anonymous_allowed():
            pytest.skip("the target grants anonymous access (§3), so an ignored credential "
                        "cannot be told from an honoured one")
        key = proget_client.api_key or ""
        expected: int | range = 403 if proget_target.is_mock else range(400, 500)
        victim = _Victim(proget_client)
        for carrier, types in (("json", NOT_JSON_TYPES), ("form", NOT_FORM_TYPES)):
            for media_type in types:
                for endpoint in ("list", "create", "delete"):
                    shape = Shape(endpoint, carrier, media_type=media_type)
                    _refused(proget_client, shape, key, expected,
                             f"§3 [doc] a {carrier} credential in a {media_type or 'typeless'} body", victim,
                             follow_up=True)

    @clause("§2", "doc")
    def test_expiration_is_an_instant(self, proget_target: Target, proget_client: ProGetClient) -> None:
        """Time: an expiration a little ahead of now or a little past it, written with a
        positive or negative offset (hours, or hours and 30/45 minutes), ``Z`` or none, with
        0 to 7 fractional digits (.NET writes 7), names one instant (past by as little as a
        few seconds: no grace period): a key expiring ahead
        works; one already expired never authenticates; both are listed with their
        expiration equal (as an instant, to the second) to the one sent (§2 [doc][client]).
        Whether a past expiration is refused at create or stored is open (§8); a stored one
        must still be listed. Enumerated: ahead/past x east/west/UTC/no offset x 7/0 digits, and past by 5 s.
        A key used a moment before it expires is refused after (a remembered authentication
        outlives no expiration)."""
        skew = _server_clock_skew(proget_client)
        with _used_across_expiry(proget_target, skew) as used_across_expiry:
            zones: dict[str, st.SearchStrategy[int | None]] = {
                "east": st.builds(lambda h, m: h * 60 + m, st.integers(2, 13), st.sampled_from([0, 30, 45])),
                "west": st.builds(lambda h, m: -(h * 60 + m), st.integers(2, 11), st.sampled_from([0, 30])),
                "utc": st.just(0), "none": st.just(None)}

            def check(value: tuple[bool, int | None, int, int]) -> None:
                ahead, offset, seconds, digits = value
                now = datetime.now(timezone.utc) + timedelta(seconds=skew)
                moment = now + timedelta(seconds=seconds if ahead else -seconds, microseconds=123456)
                text = instant_text(moment, offset, digits)
                sent = system_key_body(proget_client, "instant", expiration=text)
                with _about(f"expiration {text} ({'ahead of' if ahead else 'past'} now by {seconds} s)"):
                    response = proget_client.create(sent)
                    if not ahead and 400 <= response.status_code < 500:
                        return  # §8: a past expiration may be refused
                    info = expect_created(response, sent, "§2 [doc] a key with an expiration")
                    _same_instant(info, text, response, "§2 [doc] the create answer")
                    listed = _listed(proget_client)
                    if info["id"] not in listed:
                        raise fail(f"§2 [doc]: key #{info['id']} (expiration {text}) is not listed", response)
                    _same_instant(listed[info["id"]], text, response, "§2 [doc] the list", required=True)
                    used = proget_client.list(api_key=info["key"])
                    if ahead:
                        expect_status(used, 200, f"§2 [doc] a key expiring at {text}, before then")
                    else:
                        expect_error(used, 403, f"§2 [doc] a key that expired at {text}")
                    proget_client.cleanup()

            # past by half an hour, and by a few seconds (an expiry checked late, or with a grace
            # period, is still a key that authenticates past its expiration)
            cells = [(ahead, offset, 1800, digits) for ahead in (True, False)
                     for offset in (330, -480, 0, None) for digits in (7, 0)] + [
                         (False, offset, 5, digits) for offset, digits in ((None, 0), (0, 7), (-480, 3), (330, 0))]
            strategy = st.booleans().flatmap(lambda ahead: st.tuples(
                st.just(ahead), st.one_of(*zones.values()),
                st.integers(600, 5400) if ahead else st.one_of(st.integers(3, 90), st.integers(600, 5400)),
                st.integers(0, 7)))
            for_all(proget_target, strategy, check, examples=cells,
                    **_settings(proget_target, 2 * _per_cell(proget_target)))
            for offset in (None, 0, -480):
                _just_past(proget_client, skew, offset)
            used_across_expiry()

    @clause("§2", "doc")
    def test_round_trip(self, proget_target: Target, proget_client: ProGetClient) -> None:
        """Exact round-trips: what create answers and what list shows equal what was sent
        — display names and descriptions with upper case, punctuation and letters beyond
        ASCII, also beyond the Basic Multilingual Plane (𝒜, 𠀀: four UTF-8 bytes, a
        surrogate pair when \\u-escaped; the body is UTF-8, §7), the user name of
        a personal key, a custom key text with upper case and punctuation (where the
        instance takes custom keys, §5), an expiration as the same instant — and a custom
        full-control key then authenticates as sent, in the header and the query (§2 [doc])."""
        custom = proget_target.accepts_custom_keys()
        # letters beyond ASCII too (a body decoded as anything but UTF-8 mangles them, §7: UTF-8)
        alphabet = string.ascii_letters + string.digits + " -_.,;:!?()[]{}'&+#@$%*/=~^\"\\" + "éÅßøñçΩж日本✓𝒜𠀀"
        key_alphabet = string.ascii_letters + string.digits + "-_.~!*+=@$^"
        # the first example always has the characters a server might escape or strip
        label = st.one_of(st.just("Zoë & Co. <CI> \"#1\" it's 日本 𝒜𠀀"),
                          st.text(alphabet, min_size=1, max_size=16).map(str.strip).filter(bool))
        kinds = ["system"] + (["personal"] if proget_target.user else [])

        @st.composite
        def bodies(draw: st.DrawFn) -> dict[str, Any]:
            kind = draw(st.sampled_from(kinds))
            name = proget_client.display_name(draw(label))
            body: dict[str, Any] = {"type": kind, "displayName": name, "logging": "none",
                                    "description": f"{draw(label)} {proget_target.name_prefix}"[:40]}
            if kind == "system":
                body["systemApis"] = ["full-control"]
            else:
                body["user"] = proget_target.user
            # the simplest example (hypothesis's first) has a custom key with every
            # punctuation character and an expiration
            if custom and draw(st.sampled_from([True, False])):
                body["key"] = "Kit" + draw(st.one_of(st.just(key_alphabet[-11:] + "AbC"),
                                                     st.text(key_alphabet, min_size=8, max_size=20))) + \
                    f"{proget_target.run_id}{proget_target.next_number()}"
            if draw(st.sampled_from([True, False])) or proget_target.requires_expiration():
                body["expiration"] = instant_text(datetime(2090, 1, 1, tzinfo=timezone.utc) + timedelta(
                    seconds=draw(st.integers(0, 10**8))), draw(st.sampled_from([None, 0, 330, -480])),
                    draw(st.integers(0, 7)))
            return body

        def check(value: tuple[dict[str, Any], bool]) -> None:
            body, escaped = value
            if "key" in body:
                proget_client.secrets.add(body["key"])
            try:
                # RFC 8259 [std]: a JSON body is UTF-8, non-ASCII letters written as they are
                # or \u-escaped (as .NET's writer does) alike
                raw = json.dumps(body, ensure_ascii=escaped).encode("utf-8")
                response = proget_client.create(body, raw=raw)
                info = expect_created(response, body, "§2 [doc] round-trip")
                _answered_as_sent(info, body, response, "§2 [doc] round-trip")
                listed = _listed(proget_client)
                if info["id"] not in listed:
                    raise fail(f"§1 [doc]: the created key #{info['id']} is not listed", response)
                item = listed[info["id"]]
                expect_listed_as_sent(item, body, response, "§2 [doc] round-trip", info["key"])
                if "expiration" in body:
                    _same_instant(item, body["expiration"], response, "§2 [doc] the list", required=True)
                if "key" in body and body["type"] == "system":
                    expect_status(proget_client.list(api_key=body["key"]), 200,
                                  "§2 [doc] a custom key (upper case, punctuation) in X-ApiKey")
                    response = proget_client.request("GET", "api/api-keys/list", api_key=None,
                                                     params={"key": body["key"]})
                    expect_status(response, 200, "§2 [doc] a custom key (upper case, punctuation) in ?key=")
            finally:
                proget_client.cleanup()
        for_all(proget_target, st.tuples(bodies(), st.booleans()), check,
                **_settings(proget_target, max(4, proget_target.max_examples // 5)))

    @clause("§2", "doc", free_edition=True)
    def test_near_miss_user_names_are_refused(self, proget_target: Target,
                                              proget_client: ProGetClient) -> None:
        """Near-miss user names: a personal key for ``--user`` cut short, extended,
        case-swapped, padded with whitespace or empty is invalid input — 400, nothing
        created (§2 [doc]: ``user`` must match an existing user's exact name)."""
        user = proget_target.require("user")
        misses = {"prefix": user[:-1], "extension": user + user[-1:], "case-swap": user.swapcase(),
                  "padded": f" {user} ", "trailing-space": user + " ", "empty": ""}
        for how, name in misses.items():
            if name == user:
                continue
            body = {"type": "personal", "user": name, "logging": "none",
                    "displayName": proget_client.display_name(f"user {how}")}
            if proget_client.default_expiration:
                body["expiration"] = proget_client.default_expiration
            try:
                response = proget_client.create(body)
                expect_error(response, 400, f"§2 [doc] a personal key for {name!r} ({how} of {user!r})")
            finally:
                proget_client.cleanup()

    @pytest.mark.parametrize("where", ["first", "middle", "last"])
    @clause("§2", "doc")
    def test_invalid_array_element_anywhere(self, where: str, proget_target: Target,
                                            proget_client: ProGetClient) -> None:
        """JSON arrays: an invalid value in ``systemApis`` or ``packagePermissions`` makes
        the body invalid (400, nothing created) whether it is the first, a middle or the
        last element (§2 [doc])."""
        if proget_target.feed is None and proget_target.feed_group is None:
            arrays = ["systemApis"]
        else:
            arrays = ["systemApis", "packagePermissions"]
        place = ("feed", proget_target.feed) if proget_target.feed else ("feedGroup", proget_target.feed_group)

        def check(value: tuple[str, str]) -> None:
            array, bad = value
            valid = ["feeds", "sca", "sbom-upload"] if array == "systemApis" else ["view", "add", "promote"]
            at = {"first": 0, "middle": len(valid) // 2 + 1, "last": len(valid)}[where]
            values = valid[:at] + [bad] + valid[at:]
            body = system_key_body(proget_client, f"bad {array}", systemApis=values) if array == "systemApis" else {
                "type": "feed", "displayName": proget_client.display_name(f"bad {array}"),
                "packagePermissions": values, place[0]: place[1], "logging": "none"}
            if proget_client.default_expiration:
                body["expiration"] = proget_client.default_expiration
            try:
                with _about(f"{array}={values}"):
                    response = proget_client.create(body)
                    expect_error(response, 400, f"§2 [doc] an invalid {array} value ({where} of the array)")
            finally:
                proget_client.cleanup()
        for_all(proget_target, st.tuples(st.sampled_from(arrays), st.sampled_from(["packages", "write", "admin"])),
                check, **_settings(proget_target, max(2, _per_cell(proget_target))))

    @clause("§2", "doc")
    def test_free_client_id_is_not_used(self, proget_target: Target, proget_client: ProGetClient) -> None:
        """Ids: a client-sent ``id`` that no key has is not used either — the server assigns
        ids (§2 [doc]); it may ignore or refuse the property (§8), never honour it."""
        listed = _listed(proget_client)
        wanted = max(list(listed) + [0]) + 10**6 + _secrets.randbelow(10**8)
        sent = system_key_body(proget_client, "free id", id=wanted, systemApis=["sca"])
        response = proget_client.create(sent)
        if 400 <= response.status_code < 500:
            if sent["displayName"] in {k.get("displayName") for k in proget_client.list_keys()}:
                raise fail("§8: the client-sent id was refused, yet the key was created", response)
            return
        info = expect_created(response, sent, "§2 [doc] a body with a free client-sent id")
        if info["id"] == wanted or wanted in _listed(proget_client):
            raise fail(f"§2 [doc]: the new key took the client-sent id {wanted} (ids are assigned "
                       "by the server; §8 allows ignoring or refusing a sent id, not using it)", response)

    @clause("§2", "doc")
    def test_parallel_creates(self, proget_target: Target, proget_client: ProGetClient) -> None:
        """Concurrency: keys created in parallel (8 at once) all succeed with distinct ids
        and distinct key texts, are all listed, and each one authenticates (§2 [doc]: ids
        unique, §3)."""
        clients = [proget_target.client() for _ in range(8)]

        def create(client: ProGetClient) -> tuple[dict[str, Any], requests.Response]:
            sent = system_key_body(client, "parallel")
            if client.default_expiration:
                sent["expiration"] = client.default_expiration
            return sent, client.create(sent)
        try:
            with ThreadPoolExecutor(len(clients)) as pool:
                results = list(pool.map(create, clients))
            infos = [expect_created(r, s, "§2 [doc] a create among parallel ones") for s, r in results]
            ids, texts = [i["id"] for i in infos], [i["key"] for i in infos]
            last = results[-1][1]
            if len(set(ids)) != len(ids):
                raise fail(f"§2 [doc]: parallel creates answered duplicate ids {sorted(ids)}", last)
            if len(set(texts)) != len(texts):
                raise fail("§2 [doc]: parallel creates answered the same key text twice", last)
            listed = _listed(proget_client)
            missing = [i for i in ids if i not in listed]
            if missing:
                raise fail(f"§1 [doc]: keys created in parallel are not listed: {missing}", last)
            for info in infos:
                expect_status(proget_client.list(api_key=info["key"]), 200,
                              f"§3 key #{info['id']}, created in parallel")
        finally:
            for client in clients:
                proget_target.leftovers.extend(client.cleanup())
                client.close()

    @clause("§7", "client", free_edition=False)
    def test_pgutil_flows(self, proget_target: Target, proget_client: ProGetClient) -> None:
        """pgutil's real flows with ``--username/--password`` (the pseudo-key in X-ApiKey,
        chunked body in upper-case hex, enum names): a personal key for ``--user`` and for
        the signed-in user, "full-control" sent as the three APIs, and a feed key — each
        created key then used: the full-control key and the signed-in user's personal key
        list, create and delete; the feed key is refused (§7 [client], §2 [client], §4)."""
        pseudo = proget_target.require("pseudo_key")
        username = pseudo.partition(":")[0]
        shape = Shape("create", "header", media_type="application/json; charset=utf-8",
                      framing=FRAMINGS[1])
        flows: list[tuple[dict[str, Any], Callable[[str], None]]] = []

        def manages(text: str) -> None:
            expect_json_array(proget_client.list(api_key=text), "§4 [doc] list with the key pgutil created")
            _accepted(proget_client, Shape("create", "header", media_type="application/json"), text,
                      "§4 [doc] the key pgutil created")
            _accepted(proget_client, Shape("delete", "header"), text, "§4 [doc] the key pgutil created")

        def refused(text: str) -> None:
            expect_error(proget_client.list(api_key=text), 403, "§4 [doc] a feed key pgutil created")

        def personal(text: str) -> None:
            response = proget_client.list(api_key=text)
            if proget_target.is_mock:
                expect_status(response, 200, "§4 [model] a non-admin personal key lists its own keys")
            elif response.status_code == 200:
                expect_json_array(response, "§4 a personal key's list")
            else:
                expect_error(response, 403, "§4 a personal key of a non-admin user")

        flows.append(({"type": "System", "systemApis": ["feeds", "sca", "sbom-upload"], "logging": "None"}, manages))
        flows.append(({"type": "Personal", "user": username, "logging": "None"}, manages))
        if proget_target.user is not None:
            flows.append(({"type": "Personal", "user": proget_target.user, "logging": "None"}, personal))
        place = ("feed", proget_target.feed) if proget_target.feed else (
            ("feedGroup", proget_target.feed_group) if proget_target.feed_group else None)
        if place is not None:
            flows.append(({"type": "Feed", "packagePermissions": ["view", "add"], place[0]: place[1],
                           "logging": "None"}, refused))
        for fields, use in flows:
            fields = {"displayName": proget_client.display_name(f"pgutil {fields['type']}"), **fields}
            if proget_client.default_expiration:
                fields["expiration"] = proget_client.default_expiration
            members: list[tuple[str, Any]] = [(k, fields[k]) for k in ("type", "displayName", "systemApis", "packagePermissions",
                                                "feed", "feedGroup", "expiration", "logging", "user") if k in fields]
            with _about(f"pgutil apikeys create {fields['type'].lower()} as {username}"):
                response = send(proget_client, shape, pseudo, members=members)
                if response.status_code == 200:
                    proget_client.remember(fields, response)
                info = expect_created(response, fields, "§7 [client] pgutil create with --username/--password")
                _answered_as_sent(info, fields, response, "§7 [client] pgutil create")
                listed = _listed(proget_client)
                if info["id"] not in listed:
                    raise fail(f"§1 [doc]: key #{info['id']} is not listed", response)
                expect_listed_as_sent(listed[info["id"]], fields, response, "§7 [client] pgutil create",
                                      info["key"])
                use(info["key"])


def _answered_as_sent(info: dict[str, Any], sent: dict[str, Any], response: requests.Response,
                      rule: str) -> None:
    """Each property the create answer shows equals the one sent (§2 [doc]: the answer is
    the new key's ApiKeyInfo): names and texts exactly, API and permission lists as sets
    (full control being the three APIs), the expiration as the same instant."""
    fields = {k.lower(): v for k, v in sent.items()}
    for name in ("displayName", "description", "user", "feed", "feedGroup"):
        if name in info and fields.get(name.lower()) is not None and info[name] != fields[name.lower()]:
            raise fail(f"{rule}: the create answer shows {name}={info[name]!r}, sent "
                       f"{fields[name.lower()]!r}", response)
    if "systemApis" in info and fields.get("systemapis") and not same_apis(fields["systemapis"], info["systemApis"]):
        raise fail(f"{rule}: the create answer shows systemApis={info['systemApis']!r}, sent "
                   f"{fields['systemapis']!r}", response)
    if "packagePermissions" in info and fields.get("packagepermissions") and {
            str(p).lower() for p in info["packagePermissions"] or ()} != {
            str(p).lower() for p in fields["packagepermissions"]}:
        raise fail(f"{rule}: the create answer shows packagePermissions={info['packagePermissions']!r}, "
                   f"sent {fields['packagepermissions']!r}", response)
    if isinstance(fields.get("expiration"), str):
        _same_instant(info, fields["expiration"], response, f"{rule}: the create answer")


def _same_instant(info: dict[str, Any], sent: str, response: requests.Response, where: str,
                  required: bool = False) -> None:
    """``info["expiration"]`` names the instant ``sent`` names, to the second (§2)."""
    shown = info.get("expiration")
    if shown is None:
        if required:
            raise fail(f"{where}: key #{info.get('id')} shows no expiration; it was created with {sent}",
                       response)
        return
    want, got = parse_instant(sent), parse_instant(str(shown))
    if got is None:
        raise fail(f"{where}: expiration {shown!r} is not an ISO 8601 date-time (§2)", response)
    assert want is not None
    if abs((got - want).total_seconds()) >= 1:
        raise fail(f"{where}: expiration {shown!r} is not the instant sent ({sent}, "
                   f"{want.isoformat()} UTC); it is {got.isoformat()} UTC", response)


class TestShapes(ShapeClauses):
    pass

