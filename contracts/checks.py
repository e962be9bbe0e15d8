"""Assertions shared by the clauses; each failure names the rule and shows the exchange."""

from __future__ import annotations

import re
from collections.abc import Container, Mapping
from typing import Any

import requests

from mockproget_contracts.client import ContractViolation, strict_json
from mockproget_contracts.shapes import parse_instant

__all__ = [
    "FULL_CONTROL",
    "expect_created",
    "expect_error",
    "expect_json_array",
    "expect_proget_headers",
    "expect_status",
    "same_apis",
]

#: ``["full-control"]`` and all three limited APIs mean the same (pgutil sends the latter, §2).
FULL_CONTROL = frozenset({"feeds", "sca", "sbom-upload"})
_DOTNET_VERSION = re.compile(r"^\d+\.\d+\.\d+(\.\d+)?$")
EDITIONS = ("Free", "Basic", "Enterprise")


def fail(message: str, response: requests.Response | None = None) -> ContractViolation:
    return ContractViolation(message, getattr(response, "exchange", None))


def _describe(expected: int | Container[int]) -> str:
    if isinstance(expected, int):
        return str(expected)
    if expected == range(400, 500):
        return "a 4xx status"
    return " or ".join(str(s) for s in sorted(expected))  # type: ignore[call-overload]


def expect_status(response: requests.Response, expected: int | Container[int], rule: str) -> None:
    """``response.status_code`` is ``expected`` (a status or a container of them)."""
    ok = response.status_code == expected if isinstance(expected, int) else response.status_code in expected
    if not ok:
        raise fail(f"{rule}: expected {_describe(expected)}, got {response.status_code}", response)


def _mimetype(response: requests.Response) -> str:
    return response.headers.get("Content-Type", "").split(";")[0].strip().lower()


def expect_error(response: requests.Response, expected: int | Container[int], rule: str) -> None:
    """An error answer: the status, and a non-empty ``text/plain`` body (spec §6, §7)."""
    expect_status(response, expected, rule)
    if response.status_code in (401, 403) and getattr(getattr(response, "exchange", None), "echoed", False):
        raise fail(f"{rule}: the {response.status_code} answer repeats the credential it refused (§6: a "
                   "message, never the secret; the client shows the body to the user)", response)
    if _mimetype(response) != "text/plain":
        raise fail(f"{rule}: a {response.status_code} answer must be text/plain (§6), got "
                   f"Content-Type {response.headers.get('Content-Type')!r}", response)
    if not response.text.strip():
        raise fail(f"{rule}: a {response.status_code} answer must explain itself in its body "
                   "(§6: the body text is the error the client shows, §7); the body is empty", response)


def expect_proget_headers(response: requests.Response, rule: str = "§6 [client]") -> None:
    """``X-ProGet-Version`` in .NET form (at least 24.0.3: the endpoints exist) and
    ``X-ProGet-Edition`` one of Free/Basic/Enterprise."""
    version = response.headers.get("X-ProGet-Version")
    if version is None:
        raise fail(f"{rule}: X-ProGet-Version header missing (the client reads it)", response)
    if not _DOTNET_VERSION.match(version.strip()):
        raise fail(f"{rule}: X-ProGet-Version {version!r} is not a .NET version string "
                   "(e.g. 24.0.3 for ProGet 2024.3)", response)
    parts = [int(p) for p in version.strip().split(".")]
    if (parts[0], parts[2]) < (24, 3) or parts[1] != 0:
        raise fail(f"{rule}: X-ProGet-Version {version!r} names no ProGet release with the "
                   "api-keys endpoints (2024.3 = 24.0.3 or later)", response)
    edition = response.headers.get("X-ProGet-Edition")
    if edition is None:
        raise fail(f"{rule}: X-ProGet-Edition header missing (the client reads it)", response)
    if edition.strip() not in EDITIONS:
        raise fail(f"{rule}: X-ProGet-Edition {edition!r} is not one of {', '.join(EDITIONS)}", response)


def expect_json_array(response: requests.Response, rule: str) -> list[dict[str, Any]]:
    """A 200 JSON array of ApiKeyInfo objects, each with what the client needs to parse it."""
    expect_status(response, 200, rule)
    if _mimetype(response) != "application/json":
        raise fail(f"{rule}: the list must be application/json, got "
                   f"{response.headers.get('Content-Type')!r}", response)
    try:
        keys = strict_json(response)
    except ValueError as error:
        raise fail(f"{rule}: the list body is not JSON: {error}", response) from None
    if not isinstance(keys, list):
        raise fail(f"{rule}: the list body is not a JSON array", response)
    for item in keys:
        _expect_info(item, response, f"{rule}: a listed key")
    return keys


def _expect_info(item: Any, response: requests.Response, what: str) -> None:
    """The ApiKeyInfo shape pgutil parses: id (int), type and logging (required, lower-camelCase
    enum strings), no nulls (§2 [client]: nulls are left out)."""
    if not isinstance(item, dict):
        raise fail(f"{what} is not a JSON object", response)
    if not isinstance(item.get("id"), int) or isinstance(item.get("id"), bool):
        raise fail(f"{what} has no integer 'id' (§2)", response)
    for name in ("type", "logging"):
        if not isinstance(item.get(name), str):
            raise fail(f"{what} has no string {name!r} (the client requires it, §6)", response)
    if item["type"] not in ("system", "feed", "personal", "other"):
        raise fail(f"{what}: type {item['type']!r} is not a lower-camelCase ApiKeyType (§2)", response)
    if item["logging"] not in ("none", "request", "response", "both"):
        raise fail(f"{what}: logging {item['logging']!r} is not a lower-camelCase logging mode (§2)",
                   response)
    for name, allowed in (("systemApis", ("full-control", "feeds", "sca", "sbom-upload")),
                          ("packagePermissions", ("view", "add", "promote", "delete"))):
        values = item.get(name)
        if values is not None and (not isinstance(values, list) or any(v not in allowed for v in values)):
            raise fail(f"{what}: {name} {values!r} is not a list of lower-camelCase values "
                       f"({', '.join(allowed)}) (§2)", response)
    nulls = sorted(k for k, v in item.items() if v is None)
    if nulls:
        raise fail(f"{what} carries null properties {nulls} (§2 [client]: nulls are left out)", response)
    for name in item:
        if name and name[0].isupper():
            raise fail(f"{what}: property {name!r} is not camelCase (§2)", response)


def same_apis(sent: Any, got: Any) -> bool:
    """``systemApis`` equal as sets, ``full-control`` being the three limited APIs (§2)."""
    def norm(value: Any) -> frozenset[str]:
        names = frozenset(str(v).lower() for v in (value or ()))
        return FULL_CONTROL if names == {"full-control"} else names
    return norm(sent) == norm(got)


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def expect_created(response: requests.Response, sent: Mapping[str, Any],
                   rule: str = "§6 [client] create") -> dict[str, Any]:
    """200 with an ``application/json`` ApiKeyInfo: id, type, logging and the key text,
    matching what was sent."""
    expect_status(response, 200, f"{rule}: a valid body from an authorized caller")
    if _mimetype(response) != "application/json":
        raise fail(f"{rule}: the new key must come back as application/json ApiKeyInfo "
                   f"(pgutil parses it), got Content-Type {response.headers.get('Content-Type')!r}",
                   response)
    try:
        info = strict_json(response)
    except ValueError as error:
        raise fail(f"{rule}: the create answer is not JSON: {error}", response) from None
    _expect_info(info, response, f"{rule}: the created key")
    if not isinstance(info.get("key"), str) or not info["key"]:
        raise fail(f"{rule}: the created key has no 'key' text (§2: generated when absent; "
                   "pgutil prints it)", response)
    fields = {k.lower(): v for k, v in sent.items()}
    if info["type"] != _lower(fields.get("type")):
        raise fail(f"{rule}: type {info['type']!r} does not match the {fields.get('type')!r} sent", response)
    if info["logging"] != _lower(fields.get("logging")):
        raise fail(f"{rule}: logging {info['logging']!r} does not match the "
                   f"{fields.get('logging')!r} sent", response)
    if fields.get("key") is not None and info["key"] != fields["key"]:
        raise fail(f"{rule}: the key text differs from the custom key sent (§2)", response)
    _expect_scope(info, fields, response, f"{rule}: the created key")
    return dict(info)


def _expect_scope(item: Mapping[str, Any], fields: Mapping[str, Any], response: requests.Response,
                  what: str) -> None:
    """``feed``, ``feedGroup`` and ``user`` are what was sent, and absent when not sent
    (§2 [doc]: exactly one of feed/feedGroup for a feed key, absent for other types; user
    only for a personal key). ``fields`` has lower-cased names."""
    for name in ("feed", "feedGroup", "user"):
        sent = fields.get(name.lower())
        if name in item and item[name] is not None and item[name] != sent:
            raise fail(f"{what} shows {name}={item[name]!r}, sent "
                       f"{'nothing' if sent is None else repr(sent)} (§2)", response)


def expect_listed_as_sent(item: Mapping[str, Any], sent: Mapping[str, Any],
                          response: requests.Response, rule: str, text: str | None = None) -> None:
    """A listed key shows what it was created with (§1: list answers ApiKeyInfo), in the
    shape the client parses (§2: the same rules for every key type), its expiration as
    the same instant; if the list shows its key text (an instance that does not hash keys), it is the created one."""
    _expect_info(item, response, f"{rule}: key #{item.get('id')} as listed")
    if text is not None and "key" in item and item["key"] != text:
        raise fail(f"{rule}: key #{item.get('id')} is listed with another key text than the "
                   "one its create answered", response)
    fields = {k.lower(): v for k, v in sent.items()}
    checks = {"type": _lower(fields.get("type")), "logging": _lower(fields.get("logging")),
              "displayName": fields.get("displayname"), "feed": fields.get("feed"),
              "feedGroup": fields.get("feedgroup"), "user": fields.get("user"),
              "description": fields.get("description") or None}
    for name, value in checks.items():
        if value is not None and item.get(name) != value:
            raise fail(f"{rule}: key #{item.get('id')} lists {name}={item.get(name)!r}, "
                       f"created with {value!r}", response)
    _expect_scope(item, fields, response, f"{rule}: key #{item.get('id')} as listed")
    if fields.get("packagepermissions") and {_lower(p) for p in item.get("packagePermissions") or ()} != {
            _lower(p) for p in fields["packagepermissions"]}:
        raise fail(f"{rule}: key #{item.get('id')} lists packagePermissions="
                   f"{item.get('packagePermissions')!r}, created with {fields['packagepermissions']!r}",
                   response)
    if fields.get("systemapis") and not same_apis(fields["systemapis"], item.get("systemApis")):
        raise fail(f"{rule}: key #{item.get('id')} lists systemApis={item.get('systemApis')!r}, "
                   f"created with {fields['systemapis']!r}", response)
    sent_expiration = parse_instant(fields["expiration"]) if isinstance(fields.get("expiration"), str) else None
    if sent_expiration is not None:
        shown = item.get("expiration")
        listed = parse_instant(shown) if isinstance(shown, str) else None
        if listed is None or abs((listed - sent_expiration).total_seconds()) >= 1:
            raise fail(f"{rule}: key #{item.get('id')} lists expiration={shown!r}, created with "
                       f"{fields['expiration']!r} (§2: the same instant)", response)
