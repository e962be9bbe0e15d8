"""A small ``requests``-based client speaking ProGet's api-keys wire contract.

It records every exchange (request and response, secrets masked) so that a failing clause
can show what it sent and what it got, and it remembers every key it created so that the
kit can delete them again (spec §1: ``POST /api/api-keys/delete?id=N``).
"""

from __future__ import annotations

import base64
import builtins
import itertools
import json
import threading
from collections import deque
from http.cookiejar import DefaultCookiePolicy
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests

from mockproget.masking import MASK, SECRET_NAMES, mask_json, mask_query

__all__ = ["ContractViolation", "CreatedKey", "Exchange", "ProGetClient", "Secrets", "strict_json"]

_UNSET: Any = object()
#: The paths of spec §1, relative to the base URL (spec §7: the base URL ends with ``/``).
CREATE, LIST, DELETE = "api/api-keys/create", "api/api-keys/list", "api/api-keys/delete"
BODY_LIMIT = 1500
#: The longest display name (and description) the kit sends: §8 leaves length limits
#: open, so stay within what any server plausibly takes.
NAME_LIMIT = 40


class Secrets:
    """The secret strings of a run (keys, passwords): masked wherever text is shown."""

    def __init__(self, values: Iterable[str | None] = ()) -> None:
        self._values: set[str] = set()
        #: every form masked (each secret, and it as Basic's base64), longest first
        self._forms: tuple[str, ...] = ()
        self._lock = threading.Lock()  # a clause's threads add secrets at once
        for value in values:
            self.add(value)

    def add(self, value: str | None) -> None:
        """Remember ``value`` (and, for a ``user:password`` pseudo-key, the password)."""
        if not value or len(value) < 4:
            return
        with self._lock:
            if value not in self._values:
                forms = {*self._forms, value, _b64(value), _b64(f"api:{value}")}
                self._forms = tuple(sorted(forms, key=len, reverse=True))  # swapped in whole
                self._values.add(value)

    def __repr__(self) -> str:
        return f"<Secrets: {len(self._values)} masked>"

    def echoed(self, sent: str, answer: bytes) -> bool:
        """Whether ``answer`` repeats a secret that ``sent`` (the raw request) carried: a
        key (16 characters or more) or a whole ``user:password`` pseudo-key; a short
        password alone may be a user's name too, which a message may show."""
        return any(value in sent and value.encode("utf-8", "replace") in answer for value in tuple(self._values)
                   if len(value) >= 16 or ":" in value)

    def mask(self, text: str) -> str:
        """``text`` with every known secret replaced by ``********``: as it is, and as the
        base64 of a Basic credential carrying it (``base64(secret)``, ``base64(api:secret)``),
        so a failure that shows an echoed credential does not show it encoded either."""
        for form in self._forms:
            text = text.replace(form, MASK)
        return text


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8", "replace")).decode("ascii")


@dataclass
class Exchange:
    """One request and its response, secrets masked, ready to print."""

    method: str
    url: str
    request_headers: dict[str, str]
    request_body: str
    status: int | None = None
    reason: str = ""
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: str = ""
    error: str | None = None
    #: the answer repeats a secret the request carried (:meth:`Secrets.echoed`)
    echoed: bool = False

    def format(self) -> str:
        """A curl-like transcript: ``>`` lines sent, ``<`` lines received."""
        lines = [f"> {self.method} {self.url}"]
        lines += [f"> {name}: {value}" for name, value in self.request_headers.items()]
        if self.request_body:
            lines.append(">")
            lines += [f"> {line}" for line in self.request_body.splitlines()]
        if self.error is not None:
            lines.append(f"< (no response: {self.error})")
            return "\n".join(lines)
        lines.append(f"< {self.status} {self.reason}")
        lines += [f"< {name}: {value}" for name, value in self.response_headers.items()]
        lines.append("<")
        body = self.response_body
        lines += [f"< {line}" for line in body.splitlines()] if body else ["< (empty body)"]
        return "\n".join(lines)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON (RFC 8259 §6)")


def strict_json(response: requests.Response) -> Any:
    """The body parsed as a JSON text as RFC 8259 [std] defines it and a strict parser (the
    official client's, §6-§7 [client]) reads it: UTF-8 without a byte order mark (§8.1),
    no ``NaN``/``Infinity``; raises :class:`ValueError` saying what is wrong. (``requests``
    alone would guess another encoding, skip a BOM and take ``NaN``.)"""
    body = response.content
    if body.startswith(b"\xef\xbb\xbf"):
        raise ValueError("the body starts with a byte order mark (RFC 8259 §8.1: a JSON text sent over a "
                         "network must not)")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(f"the body is not UTF-8 (RFC 8259 §8.1): byte {error.start}") from None
    return json.loads(text, parse_constant=_no_constant)


class ContractViolation(AssertionError):
    """A clause found a departure from the contract; carries the exchange that shows it."""

    def __init__(self, message: str, exchange: Exchange | None = None) -> None:
        self.message, self.exchange = message, exchange
        text = message if exchange is None else f"{message}\n{exchange.format()}"
        super().__init__(text)


@dataclass
class CreatedKey:
    """A key this client created: its id (when the answer told it) and its display name."""

    id: int | None
    display_name: str
    type: str
    text: str | None = field(default=None, repr=False)
    info: dict[str, Any] = field(default_factory=dict, repr=False)
    description: str = ""


def _mask_body(content_type: str, body: bytes | str | None, secrets: Secrets) -> str:
    if body is None:
        return ""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    if "json" in content_type:
        try:
            text = json.dumps(mask_json(json.loads(text)), ensure_ascii=False)
        except ValueError:
            pass
    elif "x-www-form-urlencoded" in content_type:
        text = mask_query(text)
    text = secrets.mask(text)
    return text if len(text) <= BODY_LIMIT else text[:BODY_LIMIT] + f"… ({len(text)} characters)"


def _mask_url(url: str, secrets: Secrets) -> str:
    parts = urlsplit(url)
    shown = parts.path + (f"?{mask_query(parts.query)}" if parts.query else "")
    return secrets.mask(shown)


def _mask_headers(headers: Mapping[str, str], secrets: Secrets) -> dict[str, str]:
    return {name: (MASK if name.lower() in SECRET_NAMES else secrets.mask(value))
            for name, value in headers.items()}


class ProGetClient:
    """Talks to one ProGet (or look-alike) at ``url`` with one credential.

    :param url: the base URL; a trailing ``/`` is added (spec §7).
    :param api_key: sent in ``X-ApiKey`` (the official client's only carrier, spec §7).
    :param secrets: where secrets are registered for masking (shared by a run).
    :param name_prefix: prefix of the ``displayName`` of every key this client creates.
    :param numbers: gives the number of each display name; a :class:`~mockproget_contracts.target.Target`
        passes its run-wide counter, so names are unique across all clients of a run.
    """

    def __init__(self, url: str, api_key: str | None = None, *, secrets: Secrets | None = None,
                 name_prefix: str = "mockproget-contracts", timeout: float = 30.0,
                 numbers: Callable[[], int] | None = None) -> None:
        self.url = url if url.endswith("/") else url + "/"
        self.api_key = api_key
        self.secrets = secrets if secrets is not None else Secrets()
        self.secrets.add(api_key)
        self.name_prefix = name_prefix
        self.timeout = timeout
        self.created: list[CreatedKey] = []
        #: added to create bodies that have no expiration (instances that require one, §5)
        self.default_expiration: str | None = None
        self.exchanges: deque[Exchange] = deque(maxlen=5)
        self._numbers = numbers if numbers is not None else itertools.count(1).__next__
        self._session = requests.Session()
        # No cookies: a session cookie set by one answer must not authenticate a later
        # request that is meant to carry no credential (or another one).
        self._session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))

    def __repr__(self) -> str:
        return f"<ProGetClient {self.url} created={len(self.created)}>"

    def close(self) -> None:
        self._session.close()

    # -- raw requests ---------------------------------------------------------------------

    def request(self, method: str, path: str, *, api_key: str | None = _UNSET,
                headers: Mapping[str, str] | None = None, params: Mapping[str, Any] | None = None,
                data: bytes | str | Iterable[bytes] | Mapping[str, str] | None = None,
                json_body: Any = _UNSET, files: Any = None, content_type: str | None = None,
                chunked: bool = False) -> requests.Response:
        """Send one request and record it. ``api_key`` (default: the client's) goes in
        ``X-ApiKey``; ``None`` sends no header. ``chunked`` streams ``data`` with
        ``Transfer-Encoding: chunked`` and no ``Content-Length``, as pgutil does (spec §7)."""
        key = self.api_key if api_key is _UNSET else api_key
        sent_headers: dict[str, str] = {}
        if key is not None:
            sent_headers["X-ApiKey"] = key
        if json_body is not _UNSET:
            data = json.dumps(json_body).encode("utf-8")
            content_type = content_type or "application/json; charset=utf-8"
        if content_type is not None:
            sent_headers["Content-Type"] = content_type
        sent_headers.update(headers or {})
        if isinstance(data, str):
            data = data.encode("utf-8")
        body_for_log: bytes | str | None = data if isinstance(data, bytes) else None
        if isinstance(data, Mapping):
            body_for_log = "&".join(f"{k}={v}" for k, v in data.items())
        payload: Any = data
        if chunked and isinstance(data, bytes):
            raw = data
            payload = (raw[i:i + 16] for i in range(0, len(raw), 16))
            sent_headers["Transfer-Encoding"] = "chunked"
        prepared = self._session.prepare_request(requests.Request(
            method, self.url + path, headers=sent_headers, params=params, data=payload, files=files))
        if files is not None and isinstance(prepared.body, bytes):
            body_for_log = prepared.body
        shown_type = prepared.headers.get("Content-Type", "")
        exchange = Exchange(method, _mask_url(prepared.url or "", self.secrets),
                            _mask_headers(dict(prepared.headers), self.secrets),
                            _mask_body(shown_type, body_for_log, self.secrets))
        self.exchanges.append(exchange)
        try:
            response = self._session.send(prepared, timeout=self.timeout)
        except requests.RequestException as error:
            exchange.error = self.secrets.mask(f"{type(error).__name__}: {error}")
            raise
        exchange.status, exchange.reason = response.status_code, response.reason or ""
        exchange.response_headers = _mask_headers(dict(response.headers), self.secrets)
        exchange.response_body = _mask_body(response.headers.get("Content-Type", ""),
                                            response.content, self.secrets)
        raw = prepared.body if isinstance(prepared.body, bytes) else str(prepared.body or "").encode()
        exchange.echoed = response.status_code >= 400 and self.secrets.echoed(
            f"{prepared.url} {dict(prepared.headers)} " + raw.decode("latin-1"), response.content)
        response.exchange = exchange  # type: ignore[attr-defined]
        return response

    # -- the three endpoints --------------------------------------------------------------

    def display_name(self, label: str = "") -> str:
        """A display name that marks a key as this kit's, unique within the run, and at
        most :data:`NAME_LIMIT` characters (§8: length limits are open): the label is cut
        to fit."""
        name = f"{self.name_prefix} #{self._numbers()}"
        room = NAME_LIMIT - len(name) - 1
        label = label[:room].strip() if room > 0 else ""
        return f"{name} {label}" if label else name

    def create(self, info: Any, *, raw: bytes | None = None, **kwargs: Any) -> requests.Response:
        """``POST api/api-keys/create`` with ``info`` as JSON (or ``raw`` bytes as given).

        A successful answer is remembered for :meth:`cleanup`, whatever its shape."""
        if self.default_expiration and isinstance(info, Mapping) and not any(
                k.lower() == "expiration" for k in info):
            info = {**info, "expiration": self.default_expiration}
            if raw is not None and raw.lstrip().startswith(b"{") and raw.rstrip().endswith(b"}"):
                raw = raw.rstrip()[:-1] + b',"expiration":"' + self.default_expiration.encode() + b'"}'
        if raw is not None:
            kwargs.setdefault("content_type", "application/json; charset=utf-8")
            response = self.request("POST", CREATE, data=raw, **kwargs)
        else:
            response = self.request("POST", CREATE, json_body=info, **kwargs)
        if response.status_code == 200:
            self._remember(info if isinstance(info, Mapping) else {}, response)
        return response

    def remember(self, info: Mapping[str, Any], response: requests.Response) -> None:
        """Remember a key created by a request sent some other way (for :meth:`cleanup`)."""
        self._remember(info, response)

    def _remember(self, info: Mapping[str, Any], response: requests.Response) -> None:
        body: Any = None
        try:
            body = response.json()
        except ValueError:
            pass
        body = body if isinstance(body, dict) else {}
        key_id = body.get("id") if isinstance(body.get("id"), int) else None
        text = body.get("key") if isinstance(body.get("key"), str) else None
        if text is None and not body and response.text.strip():
            text = response.text.strip()  # a plain-text answer: the key itself
        self.secrets.add(text)
        exchange = getattr(response, "exchange", None)
        if exchange is not None:  # the answer was recorded before its key text was known
            exchange.response_body = self.secrets.mask(exchange.response_body)
        name = next((v for k, v in info.items() if k.lower() == "displayname"), "")
        kind = next((v for k, v in info.items() if k.lower() == "type"), "")
        description = next((v for k, v in info.items() if k.lower() == "description"), "")
        created = CreatedKey(key_id, str(name or ""), str(kind).lower(), text, body, str(description or ""))
        self.created.append(created)

    def list(self, **kwargs: Any) -> requests.Response:
        """``GET api/api-keys/list``."""
        return self.request("GET", LIST, **kwargs)

    def delete(self, key_id: Any, **kwargs: Any) -> requests.Response:
        """``POST api/api-keys/delete?id=N`` with an empty body (spec §1, §7)."""
        params = dict(kwargs.pop("params", None) or {})
        params["id"] = key_id
        headers = dict(kwargs.pop("headers", None) or {})
        if kwargs.get("data") is None and kwargs.get("files") is None:
            headers.setdefault("Content-Length", "0")
        return self.request("POST", DELETE, params=params, headers=headers, **kwargs)

    def list_keys(self) -> builtins.list[dict[str, Any]]:
        """The listed keys; raises :class:`ContractViolation` unless a JSON array came back."""
        response = self.list()
        exchange = response.exchange  # type: ignore[attr-defined]
        if response.status_code != 200:
            raise ContractViolation(f"listing keys with the admin key: expected 200, got "
                                    f"{response.status_code}", exchange)
        try:
            keys = strict_json(response)
        except ValueError as error:
            raise ContractViolation(f"§6 [client]: the list answer is not JSON: {error}", exchange) from None
        if not isinstance(keys, list) or not all(isinstance(k, dict) for k in keys):
            raise ContractViolation("the list answer is not a JSON array of objects", exchange)
        ids = [k.get("id") for k in keys if isinstance(k.get("id"), int)]
        if len(ids) != len(set(ids)):
            twice = sorted({i for i in ids if ids.count(i) > 1})
            raise ContractViolation(f"§2 [doc]: the list shows key id(s) {twice} more than once (ids are "
                                    "unique)", exchange)
        return keys

    def mine(self, keys: Iterable[Mapping[str, Any]]) -> builtins.list[Mapping[str, Any]]:
        """The keys among ``keys`` whose display name (or, lacking one, description) marks
        them as this kit's."""
        return [k for k in keys if str(k.get("displayName") or k.get("description") or "").startswith(
            self.name_prefix)]

    # -- cleanup --------------------------------------------------------------------------

    def cleanup(self) -> builtins.list[str]:
        """Delete every key this client created; returns a description of any it could not.

        A key is found by the id its create answer gave, or else by its display name in the
        list. An id whose listed key carries another display name is left alone: it is not
        ours (never delete a key the kit did not create)."""
        if not self.created:
            return []
        created, self.created = self.created, []
        listed: dict[int, Mapping[str, Any]] | None
        try:
            keys = self.list_keys()
            listed = {k["id"]: k for k in keys if isinstance(k.get("id"), int)}
        except (ContractViolation, requests.RequestException):
            listed = None
        problems: builtins.list[str] = []
        for key in created:
            ids: builtins.list[int] = []
            if key.id is not None:
                other = listed.get(key.id) if listed is not None else None
                if other is not None and key.display_name and other.get("displayName") != key.display_name:
                    continue  # the id now belongs to a key that is not ours
                ids.append(key.id)
            elif listed is not None and key.display_name:
                ids = [i for i, k in listed.items() if k.get("displayName") == key.display_name]
            elif listed is not None and key.description.startswith(self.name_prefix):
                ids = [i for i, k in listed.items() if k.get("description") == key.description]
            if not ids:
                if listed is not None and key.id is None:
                    continue  # never stored, or not findable: nothing to delete
                problems.append(f"{key.type} key {key.display_name!r}: no id to delete it by")
                continue
            for key_id in ids:
                try:
                    response = self.delete(key_id)
                except requests.RequestException as error:
                    problems.append(f"key #{key_id} ({key.display_name}): {type(error).__name__}")
                    continue
                if response.status_code != 200 and (listed is None or key_id in listed):
                    problems.append(f"key #{key_id} ({key.display_name}): delete answered "
                                    f"{response.status_code}")
        return problems

    def iter_exchanges(self) -> Iterator[Exchange]:
        return iter(self.exchanges)
