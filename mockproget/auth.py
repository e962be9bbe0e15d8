"""The four credential carriers of spec §3, read from a request.

The first carrier present, in the order header, querystring, form, JSON, is the one
judged [model]. An empty value counts as absent [model]. The form ``key`` counts only in
an ``application/x-www-form-urlencoded`` body, the ``API_Key`` property only on the root
object of an ``application/json`` body (charset allowed) [doc]. Every carrier is read as
UTF-8 text, the header's bytes too, so a key with non-ASCII text works in all four
(docs/fidelity.md).
"""

from __future__ import annotations

import io
import json
from collections.abc import MutableMapping
from typing import Any

from flask import Request
from werkzeug.wrappers import Request as WsgiRequest

from .models import Credential, fold_case

__all__ = ["BODY", "credential_from_environ", "find_credential", "header_text", "json_root", "wsgi_text"]

#: WSGI environ key: the request body, read whole once (bytes), or ``None`` when too large.
BODY = "mockproget.body"
#: WSGI environ key: the request's credential once found (see credential_from_environ).
CREDENTIAL = _CREDENTIAL = "mockproget.credential"
_JSON_ROOT = "mockproget.json_root"


_NO_BODY = object()


def json_root(request: Request) -> Any:
    """The JSON body when the content type is ``application/json``; else ``None``.

    Parsed once per request (cached in the WSGI environ); a body that is not valid JSON
    yields ``None`` here (the schema reports it later, after authentication).
    """
    cached = request.environ.get(_JSON_ROOT, _NO_BODY)
    if cached is not _NO_BODY:
        return cached
    value = None
    if request.mimetype == "application/json":
        try:
            value = json.loads(request.get_data(cache=True).decode("utf-8-sig"))
        except (ValueError, UnicodeDecodeError, RecursionError):
            value = None
    request.environ[_JSON_ROOT] = value
    return value


def _json_key(request: Request) -> str | None:
    root = json_root(request)
    if not isinstance(root, dict):
        return None
    for name, value in root.items():
        if isinstance(name, str) and fold_case(name) == "API_KEY" and isinstance(value, str):
            return value
    return None


def wsgi_text(value: str) -> str:
    """A WSGI string (bytes read as Latin-1: header values, the path, the request line)
    back to the text its bytes spell in UTF-8; bytes that are not UTF-8 stay the Latin-1
    text they spell."""
    if value.isascii():
        return value
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


def header_text(value: str | None) -> str | None:
    """A header value as :func:`wsgi_text` reads it, as the query, form and JSON carriers
    are read. The whitespace around it is no part of it (RFC 9110 §5.5 [std]), whatever
    the WSGI server left there."""
    return None if value is None else wsgi_text(value.strip(" \t"))


def find_credential(request: Request) -> Credential | None:
    """The credential to judge for ``request``, or ``None`` when none is present."""
    value = header_text(request.environ.get("HTTP_X_APIKEY"))  # what request.headers reads
    if value:
        return Credential("header", value)
    value = request.args.get("key")
    if value:
        return Credential("query", value)
    if request.mimetype == "application/x-www-form-urlencoded":
        value = request.form.get("key")
        if value:
            return Credential("form", value)
    value = _json_key(request)
    return Credential("json", value) if value else None


def credential_from_environ(environ: MutableMapping[str, Any]) -> Credential | None:
    """:func:`find_credential` for a raw WSGI environ, outside any view (cached in it).

    Reads the body from ``environ[BODY]`` (buffered by the journal middleware) on a copy
    of the environ, so the mock still reads it whole afterwards.
    """
    if _CREDENTIAL in environ:
        return environ[_CREDENTIAL]  # type: ignore[no-any-return]
    copy = dict(environ)
    body = environ.get(BODY)
    copy["wsgi.input"] = io.BytesIO(body or b"")
    copy["CONTENT_LENGTH"] = str(len(body or b""))
    copy.pop("wsgi.input_terminated", None)
    try:
        credential = find_credential(WsgiRequest(copy))  # type: ignore[arg-type]
    except Exception:  # noqa: BLE001 - a body werkzeug cannot parse carries no credential
        credential = None
    environ[_CREDENTIAL] = credential
    return credential
