"""Keeping secrets out of logs, the journal and control answers."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from urllib.parse import parse_qsl, urlencode

__all__ = ["MASK", "SECRET_NAMES", "is_secret_value", "mask_headers", "mask_json", "mask_query", "mask_text",
           "mask_tokens"]

MASK = "********"
#: Names whose values are secrets (compared case-insensitively): the four credential
#: carriers of spec §3, the key text of ApiKeyInfo, passwords, the control token.
SECRET_NAMES = frozenset({"x-apikey", "x-nuget-apikey", "key", "api_key", "password", "authorization",
                          "x-mockproget-token", "cookie", "admin_key", "token"})

_QUERY_SECRET = re.compile(r"(?i)([?&](?:key|api_key|password|token)=)[^&#\s\"]*")


#: A secret cut short (a truncated answer) is masked from this many characters on.
MIN_PREFIX = 6


def is_secret_value(value: str, is_secret: Callable[[str], bool]) -> bool:
    """Whether a whole (decoded) value is a secret: a key's text, a password, or a
    ``user:password`` pseudo-key, whatever characters the password holds."""
    if not value:
        return False
    return is_secret(value) or (":" in value and is_secret(value.partition(":")[2]))


def mask_query(query: str, is_secret: Callable[[str], bool] = lambda text: False) -> str:
    """Mask secret parameters in a query string (``key=...`` -> ``key=********``): by
    their (decoded) name, or because ``is_secret`` knows the value."""
    if not query:
        return query
    pairs = parse_qsl(query, keep_blank_values=True)
    return urlencode([(k, MASK if k.lower() in SECRET_NAMES or is_secret_value(v, is_secret) else v)
                      for k, v in pairs], safe="*")


def mask_text(text: str, secrets: Iterable[str] = ()) -> str:
    """Mask ``key=...`` in URLs within ``text`` and every literal secret given, also one
    cut short at the end of ``text`` (an answer truncated mid-key)."""
    text = _QUERY_SECRET.sub(lambda m: m.group(1) + MASK, text)
    for secret in secrets:
        if not secret:
            continue
        text = text.replace(secret, MASK)
        for size in range(min(len(secret) - 1, len(text)), MIN_PREFIX - 1, -1):
            if text.endswith(secret[:size]):
                text = text[:-size] + MASK
                break
    return text


def mask_headers(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    return {name: (MASK if name.lower() in SECRET_NAMES else value) for name, value in headers}


def mask_json(value: object) -> object:
    """A copy of a JSON value with every secret-named property masked."""
    if isinstance(value, Mapping):
        return {k: (MASK if isinstance(k, str) and k.lower() in SECRET_NAMES else mask_json(v))
                for k, v in value.items()}
    if isinstance(value, list):
        return [mask_json(v) for v in value]
    return value


#: What separates tokens in a URL, a header or a body: punctuation, blanks, %XX escapes.
_TOKEN_SEPARATORS = re.compile(r"((?:%[0-9A-Fa-f]{2}|[\s/?&=:;,\"'<>()\[\]{}\\])+)")


def mask_tokens(text: str, is_secret: Callable[[str], bool]) -> str:
    """Mask every token of ``text`` that ``is_secret`` recognises (a live key's text, a
    user's password), wherever it appears: a path, a header, a body."""
    if not text:
        return text
    parts = _TOKEN_SEPARATORS.split(text)
    for i in range(0, len(parts), 2):  # even indexes are tokens, odd ones separators
        if parts[i] and is_secret(parts[i]):
            parts[i] = MASK
    return "".join(parts)
