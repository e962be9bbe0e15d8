"""The request shape as a value hypothesis draws (spec §3, §7, RFC 9110 [std]).

A :class:`Shape` says how one api-keys request is written: which endpoint, where the
credential travels (carrier), how the carrier is spelled (header-name case, media-type
spelling, query order and extra parameters), how the body is framed (Content-Length or
chunked, chunk size, hex case) and how its JSON is written (member order, whitespace).
Every member of one equivalence class must be treated alike by a conforming server, so a
clause states its rule once, over a strategy of shapes; a new equivalence is a new value
in one of the tuples below (or a new field), not a new test.

The small cross-products (endpoint x carrier x spelling) are enumerated by :func:`cells`,
so a default run never misses a cell by chance; the rest is drawn.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

from hypothesis import strategies as st

__all__ = [
    "BODY_MEDIA_TYPES", "ENDPOINTS", "FITS", "FORM_TYPES", "FRAMINGS", "HEADER_NAMES", "JSON_STYLES", "JSON_TYPES",
    "NEAR_MISSES", "NOT_FORM_TYPES", "NOT_JSON_TYPES", "QUERY_ORDERS", "Framing", "NearMiss", "Shape",
    "WIDE", "cells", "encode_json", "framings", "instant_text", "near_miss", "parse_instant", "shapes",
]

#: §1 [doc]: endpoint -> (method, path relative to the base URL, §7).
ENDPOINTS: dict[str, tuple[str, str]] = {
    "list": ("GET", "api/api-keys/list"),
    "create": ("POST", "api/api-keys/create"),
    "delete": ("POST", "api/api-keys/delete"),
}
#: §3 [doc]: where each carrier naturally travels. Header and query fit every endpoint; a
#: form body fits the delete (which has no body of its own); the JSON ``API_Key`` fits the
#: create body. Off the mock a carrier is asserted to *work* only where it fits (a server
#: may refuse a body an endpoint does not take); it must never work where it is no
#: credential, on any endpoint.
FITS: dict[str, tuple[str, ...]] = {
    "header": ("list", "create", "delete"),
    "query": ("list", "create", "delete"),
    "form": ("delete",),
    "json": ("create",),
}
#: RFC 9110 §5.1 [std]: field names are case-insensitive (§3 [doc] says so of X-ApiKey).
HEADER_NAMES = ("X-ApiKey", "x-apikey", "X-APIKEY", "x-ApiKey", "X-Apikey")
#: §3 [doc] + RFC 9110 §8.3.1 [std]: type and subtype are case-insensitive, a charset
#: parameter (any case, quoted or not) does not change the type; pgutil sends the second (§7).
JSON_TYPES = ("application/json", "application/json; charset=utf-8", "Application/JSON",
              "application/json;charset=UTF-8", 'application/json; Charset="utf-8"',
              "APPLICATION/JSON ; charset=utf-8")
FORM_TYPES = ("application/x-www-form-urlencoded", "application/x-www-form-urlencoded; charset=utf-8",
              "Application/X-WWW-Form-URLEncoded", "application/x-www-form-urlencoded;Charset=UTF-8")
#: §3 [doc]: ``API_Key`` in a body of any other type is no credential (``None``: no
#: Content-Type at all; ``application/json-seq``, RFC 7464, only starts like JSON's type).
NOT_JSON_TYPES: tuple[str | None, ...] = ("text/plain", "text/plain; charset=utf-8", None,
                                          "application/octet-stream", "application/x-www-form-urlencoded",
                                          "application/json-seq")
#: §3 [doc]: a ``key=`` body of any other type is no credential; a missing Content-Type
#: is not a form.
NOT_FORM_TYPES: tuple[str | None, ...] = ("text/plain", None, "application/json", "multipart/form-data")
BODY_MEDIA_TYPES = {"json": JSON_TYPES, "form": FORM_TYPES}
#: Query parameter order and extra parameters (RFC 3986 [std]: order carries no meaning
#: for named parameters; unknown ones are ignored): where ``key`` goes among the others.
QUERY_ORDERS = ("alone", "first", "last", "among-extras")
#: JSON as JSON (RFC 8259 [std]): whitespace between tokens carries no meaning.
JSON_STYLES = ("compact", "spaced", "indented", "tabs-crlf", "escaped", "wide")
#: A body of 12 KB made of whitespace (JSON) or an extra field (a form): larger than any
#: buffer a server might read in one go, without a long string (§8 leaves limits open).
WIDE = 12_000


@dataclass(frozen=True)
class Framing:
    """How a body travels: ``chunk`` ``None`` is Content-Length; else chunked in chunks of
    that many bytes, sizes in upper- (.NET) or lower-case hex (§7 [client], RFC 9112 §7.1 [std])."""

    chunk: int | None = None
    upper_hex: bool = True
    coding: str = "chunked"    # the transfer-coding as spelled (RFC 9112 §7: case-insensitive)

    def __str__(self) -> str:
        if self.chunk is None:
            return "Content-Length"
        spelled = "" if self.coding == "chunked" else f" (Transfer-Encoding: {self.coding})"
        return f"chunked/{self.chunk}/{'upper' if self.upper_hex else 'lower'}-hex{spelled}"


#: The framings always tried (chunk sizes chosen so that the hex has letters: 26 = 1A).
FRAMINGS = (Framing(), Framing(26, True), Framing(26, False), Framing(1, True), Framing(8000, True),
            Framing(8000, False), Framing(26, True, "Chunked"))


def framings() -> st.SearchStrategy[Framing]:
    """Content-Length, or chunked with a small or large chunk in either hex case, the
    coding's name in any case (§7, RFC 9112 §7)."""
    return st.one_of(st.just(Framing()),
                     st.builds(Framing, st.sampled_from([1, 2, 7, 10, 15, 16, 26, 31, 255, 4096, 8000]),
                               st.booleans(), st.sampled_from(["chunked", "Chunked", "CHUNKED"])))


@dataclass(frozen=True)
class Shape:
    """One way to write an api-keys request. Holds no secret (the report prints it)."""

    endpoint: str = "list"
    carrier: str = "header"              # header | query | form | json | none
    header_name: str = "X-ApiKey"
    media_type: str | None = None        # the body's Content-Type as spelled (None: none sent)
    query_order: str = "alone"
    framing: Framing = Framing()
    json_style: str = "compact"
    member_seed: int = 0                 # 0: members in the order given; else a shuffle
    percent_all: bool = True             # False: sub-delimiters and ':' left as they are
    header_pad: bool = False             # optional whitespace around the header value (RFC 9110 §5.5)

    @property
    def method(self) -> str:
        return ENDPOINTS[self.endpoint][0]

    @property
    def path(self) -> str:
        return ENDPOINTS[self.endpoint][1]

    @property
    def fits(self) -> bool:
        """The carrier travels where the endpoint takes it (see :data:`FITS`)."""
        return self.carrier in ("header", "query") or self.endpoint in FITS.get(self.carrier, ())

    def __str__(self) -> str:
        parts = [f"{self.method} {self.endpoint}", f"carrier={self.carrier}"]
        if self.carrier == "header":
            parts.append(f"header-name={self.header_name}" + (" (value between ' \\t' and ' \\t')" if self.header_pad else ""))
        if self.media_type is not None or self.carrier in ("form", "json"):
            parts.append(f"content-type={self.media_type!r}")
        if self.carrier == "query" or self.endpoint == "delete":
            parts.append(f"query-order={self.query_order}")
        parts.append(f"framing={self.framing}")
        if self.member_seed or self.json_style != "compact":
            parts.append(f"json={self.json_style}/order#{self.member_seed}")
        return "shape(" + ", ".join(parts) + ")"

    def build(self, credential: str | None, *, members: list[tuple[str, Any]] | None = None,
              key_id: int | None = None) -> tuple[str, list[tuple[str, str]], bytes | None]:
        """``(query, headers, body)`` for this shape carrying ``credential`` (``None``: the
        carrier is left out, so the request has no credential). ``members`` are the create
        body's JSON members; ``key_id`` the delete's ``id``."""
        params: list[tuple[str, str]] = []
        if self.endpoint == "delete":
            params.append(("id", str(key_id)))
        headers: list[tuple[str, str]] = []
        body: bytes | None = None
        if self.carrier == "header" and credential is not None:
            pad = " \t" if self.header_pad else ""
            headers.append((self.header_name, pad + credential + pad))
        if self.carrier == "query" and credential is not None:
            extras = [("format", "json"), ("x", "1"), ("empty", "")]
            key = [("key", credential)]
            if self.query_order == "first":
                params = key + params + extras[:1]
            elif self.query_order == "last":
                params = params + extras[:1] + key
            elif self.query_order == "among-extras":
                params = extras[1:2] + params + key + extras[2:]
            else:
                params = params + key
        safe = "" if self.percent_all else _SAFE
        query = "&".join(f"{quote(k, safe=safe)}={quote(v, safe=safe)}" for k, v in params)
        if self.endpoint == "create" and self.carrier != "form":
            create = list(members or [])
            if self.carrier == "json" and credential is not None:
                create = _with_member(create, ("API_Key", credential), self.member_seed)
            body = encode_json(create, self.json_style, self.member_seed)
        elif self.carrier == "json" and credential is not None:
            body = encode_json([("API_Key", credential)], self.json_style, 0)
        elif self.carrier == "form" and credential is not None:
            if self.media_type == "multipart/form-data":
                boundary = "mockproget-contracts-boundary"
                body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\n"
                        f"{credential}\r\n--{boundary}--\r\n").encode()
                headers.append(("Content-Type", f"multipart/form-data; boundary={boundary}"))
            else:
                others = [("x", "1"), ("format", "json")] + ([("pad", "x" * WIDE)] if self.json_style == "wide" else [])
                pairs = _placed(("key", credential), others, self.query_order)
                body = "&".join(f"{quote(k, safe=safe)}={quote(v, safe=safe)}" for k, v in pairs).encode()
        if self.media_type is not None and not any(k.lower() == "content-type" for k, _ in headers) and (
                body is not None):
            headers.append(("Content-Type", self.media_type))
        return query, headers, body


#: RFC 3986 [std]: in a query these need no percent-encoding, and decode to themselves
#: either way (``+``, ``&``, ``=`` and ``#`` do need it).
_SAFE = ":@!$'()*,;"


def _placed(item: tuple[str, str], others: list[tuple[str, str]], order: str) -> list[tuple[str, str]]:
    """``item`` alone, before, after or among ``others`` (a form's fields, §3)."""
    if order == "first":
        return [item] + others
    if order == "last":
        return others + [item]
    if order == "among-extras":
        return others[:1] + [item] + others[1:]
    return [item]


def _with_member(members: list[tuple[str, Any]], member: tuple[str, Any], seed: int) -> list[tuple[str, Any]]:
    """``members`` with ``member`` first, last or in the middle (by ``seed``)."""
    where = [0, len(members), len(members) // 2][seed % 3]
    return members[:where] + [member] + members[where:]


def encode_json(members: list[tuple[str, Any]], style: str, seed: int) -> bytes:
    """An object of ``members`` in the order given (``seed`` 0) or shuffled by ``seed``,
    with whitespace written in ``style``: every one is the same JSON (RFC 8259 [std])."""
    ordered = list(members)
    if seed:
        random.Random(seed).shuffle(ordered)
    obj = dict(ordered)
    if style == "compact":
        text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    elif style == "spaced":
        text = json.dumps(obj, separators=(" , ", " : "), ensure_ascii=False)
    elif style == "indented":
        text = json.dumps(obj, indent=2, ensure_ascii=False) + "\n"
    elif style == "wide":
        text = json.dumps(obj, separators=(",", ":" + " " * (WIDE // max(1, len(obj)))), ensure_ascii=False)
    elif style == "escaped":  # every letter of names and values as a \\u escape: the same strings
        text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
        text = re.sub(r'"(?:[^"\\]|\\.)*"', lambda m: re.sub(
            r"\\u[0-9A-Fa-f]{4}|\\.|[A-Za-z]",
            lambda c: c.group() if c.group()[0] == "\\" else f"\\u{ord(c.group()):04x}", m.group()), text)
    else:
        text = "\r\n" + json.dumps(obj, indent="\t", ensure_ascii=False).replace("\n", "\r\n") + "\r\n"
    return text.encode("utf-8")


def cells(endpoints: tuple[str, ...] = tuple(ENDPOINTS), *, fitting_only: bool = True,
          spellings: bool = True) -> list[Shape]:
    """The enumerated cross-product endpoint x carrier x spelling (header-name case for
    the header, query order for the query, media-type spelling for the body carriers),
    every other dimension at its simplest. ``fitting_only``: only where the carrier fits."""
    out: list[Shape] = []
    for endpoint in endpoints:
        for carrier in ("header", "query", "form", "json"):
            shape = Shape(endpoint=endpoint, carrier=carrier,
                          media_type="application/json" if endpoint == "create" else None)
            if fitting_only and not shape.fits:
                continue
            if carrier == "header":
                variants = [replace(shape, header_name=n) for n in HEADER_NAMES] + [
                    replace(shape, header_pad=True)]
            elif carrier == "query":
                variants = [replace(shape, query_order=o) for o in QUERY_ORDERS]
            else:
                variants = [replace(shape, media_type=t) for t in BODY_MEDIA_TYPES[carrier]]
            out.extend(variants if spellings else variants[:1])
    return out


def shapes(base: Shape, *, spellings: bool = False) -> st.SearchStrategy[Shape]:
    """``base`` with every dimension it leaves open drawn: the body's framing, JSON style
    and member order, percent-encoding, and for a create with the key outside the body,
    the JSON media-type spelling (§3, §7). ``spellings``: draw the carrier's spelling too
    (header-name case, query order, media type), for cells enumerated without it."""
    has_body = base.endpoint == "create" or (base.carrier in ("form", "json") and base.endpoint != "list")
    media = st.just(base.media_type)
    if (base.endpoint == "create" and base.carrier in ("header", "query")) or (
            spellings and base.carrier == "json" and base.endpoint == "create"):
        media = st.sampled_from(JSON_TYPES)
    elif spellings and base.carrier in BODY_MEDIA_TYPES:
        media = st.sampled_from(BODY_MEDIA_TYPES[base.carrier])
    order = st.just(base.query_order)
    if base.carrier == "form" or (spellings and base.carrier == "query"):
        order = st.sampled_from(QUERY_ORDERS)
    name = st.sampled_from(HEADER_NAMES) if spellings and base.carrier == "header" else st.just(base.header_name)
    return st.builds(
        replace, st.just(base), query_order=order, header_name=name, percent_all=st.booleans(),
        framing=framings() if has_body else st.just(Framing()),
        json_style=st.sampled_from(JSON_STYLES) if base.endpoint == "create" else st.just("compact"),
        member_seed=st.integers(0, 10**6) if base.endpoint == "create" else st.just(0),
        media_type=media)


# -- near-miss secrets ------------------------------------------------------------------------


@dataclass(frozen=True)
class NearMiss:
    """A transform of a good secret into one that must be refused (§3 [doc]: an unknown
    key, or a pseudo-key whose user or password is not exactly right). ``absent``: the
    result is no credential at all (empty), which an anonymous instance may let in."""

    part: str          # key | password | username
    how: str           # empty | prefix | drop-first | extension | prepend | case-swap | padded | colon-suffix
    absent: bool = False

    def __str__(self) -> str:
        return f"{self.part}:{self.how}"


NEAR_MISSES = tuple(
    [NearMiss("key", "empty", absent=True)]
    + [NearMiss(part, how) for part in ("key", "password", "username")
       for how in ("prefix", "drop-first", "extension", "prepend", "case-swap", "padded")]
    + [NearMiss("password", "empty"), NearMiss("username", "empty"), NearMiss("key", "colon-suffix")])


def _swap(text: str) -> str:
    swapped = text.swapcase()
    return swapped if swapped != text else text.upper() + "X"


def near_miss(miss: NearMiss, key: str, pseudo: str | None, carrier: str) -> str | None:
    """The near-miss credential, or ``None`` when it cannot be made (no pseudo-key given).
    Padding puts a space or tab where HTTP keeps it: header values lose outer whitespace
    (RFC 9110 §5.5 [std]), so in a header the padding goes inside a pseudo-key."""
    if miss.part == "key":
        text = key
    elif pseudo is None:
        return None
    else:
        user, _, password = pseudo.partition(":")
        text = password if miss.part == "password" else user

    changed = {
        "empty": "", "prefix": text[:-1], "drop-first": text[1:], "extension": text + text[-1:],
        "prepend": text[:1] + text, "case-swap": _swap(text),
        "colon-suffix": f"{text}:{text[:4]}",  # a pseudo-key of no user, not the key with a password
        "padded": (text + " ") if miss.part == "username" or carrier != "header" else text + "\t",
    }[miss.how]
    if miss.how == "padded" and miss.part == "key" and carrier == "header":
        changed = text[: len(text) // 2] + " " + text[len(text) // 2:]  # inner: survives a header
    if miss.part == "key":
        return changed
    user, _, password = (pseudo or "").partition(":")
    if miss.part == "password":
        return f"{user}:{' ' + password if miss.how == 'padded' and carrier == 'header' else changed}"
    return f"{changed}:{password}"


# -- instants ------------------------------------------------------------------------------------


def instant_text(moment: datetime, offset_minutes: int | None, digits: int) -> str:
    """``moment`` written in ISO 8601 in the zone ``offset_minutes`` east of UTC (``None``:
    no offset, read as UTC as pgutil sends it), with ``digits`` fractional digits (.NET
    writes up to 7, §2 [client])."""
    moment = moment.astimezone(timezone.utc)
    if offset_minutes is not None:
        moment = moment.astimezone(timezone(timedelta(minutes=offset_minutes)))
    text = moment.replace(tzinfo=None, microsecond=0).isoformat()
    if digits:
        fraction = f"{moment.microsecond:06d}0"[:digits]
        text += "." + fraction
    if offset_minutes is None:
        return text
    if offset_minutes == 0:
        return text + "Z"
    sign = "+" if offset_minutes > 0 else "-"
    hours, minutes = divmod(abs(offset_minutes), 60)
    return f"{text}{sign}{hours:02d}:{minutes:02d}"


def parse_instant(text: str) -> datetime | None:
    """An ISO 8601 date-time (any number of fractional digits, ``Z`` or ``±HH:MM`` or none,
    read as UTC) as an aware UTC datetime; ``None`` if it is not one."""
    match = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d(?::\d\d)?)(?:[.,](\d+))?(Z|z|[+-]\d\d:?\d\d)?", text.strip())
    if match is None:
        return None
    try:
        moment = datetime.fromisoformat(match.group(1))
    except ValueError:
        return None
    fraction = match.group(2) or ""
    moment += timedelta(microseconds=int((fraction + "000000")[:6]) if fraction else 0)
    zone = match.group(3)
    if zone in (None, "Z", "z"):
        return moment.replace(tzinfo=timezone.utc)
    sign = -1 if zone[0] == "-" else 1
    digits = zone[1:].replace(":", "")
    delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return moment.replace(tzinfo=timezone(sign * delta)).astimezone(timezone.utc)
