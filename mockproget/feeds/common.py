"""Small helpers the feed protocols share (no state, no rules)."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any
from urllib.parse import quote

from flask import request

from ..errors import InvalidInput
from ..views import refuse_a_broken_body

__all__ = ["body", "feed_url", "json_body", "loads", "open_zip"]

#: The most members, and uncompressed bytes, an uploaded zip (nupkg, upack) may hold.
ZIP_MEMBERS = 10_000
ZIP_UNCOMPRESSED = 64 * 1024 * 1024


def feed_url(*parts: str) -> str:
    """An absolute URL on this server, each part percent-encoded (``/`` and ``@`` kept)."""
    return request.host_url + "/".join(quote(p, safe="@/") for p in parts)


def body() -> bytes:
    """The request body (bounded by ``max_body``: larger ones were answered 413)."""
    refuse_a_broken_body()
    return request.get_data(cache=True)


def multipart_body(what: str, heading: str) -> None:
    """A 400 unless the body was read whole and is ``multipart/form-data`` (a push, an
    upload: ``what`` names it in the answer)."""
    refuse_a_broken_body()
    if request.mimetype != "multipart/form-data":
        raise InvalidInput([f"the {what} must be multipart/form-data, not {request.mimetype or 'no content type'}"],
                           heading=heading)


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


def loads(text: str) -> Any:
    """JSON as RFC 8259 writes it: ``NaN``, ``Infinity`` and ``-Infinity`` (which Python's
    parser takes) are refused with a ``ValueError``, so no answer built from a stored
    manifest is ever invalid JSON for the clients that read it."""
    return json.loads(text, parse_constant=_not_json)


def json_body(what: str) -> Any:
    """The body as JSON, or a 400 naming what was expected."""
    try:
        return loads(body().decode("utf-8-sig"))
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise InvalidInput([f"the request body must be {what} as JSON"], heading="Invalid request") from None


def open_zip(data: bytes, what: str) -> zipfile.ZipFile:
    """``data`` as a zip archive within bounds, or a 400 saying what is wrong."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError, EOFError):
        raise InvalidInput([f"the {what} is not a valid zip archive"], heading="Invalid package") from None
    if len(infos) > ZIP_MEMBERS or sum(i.file_size for i in infos) > ZIP_UNCOMPRESSED:
        raise InvalidInput([f"the {what} is too large once uncompressed"], heading="Invalid package")
    return archive


def read_member(archive: zipfile.ZipFile, name: str, what: str) -> bytes:
    """One member of an archive opened by :func:`open_zip`, or a 400."""
    try:
        return archive.read(name)
    except (KeyError, zipfile.BadZipFile, ValueError, OSError, EOFError, NotImplementedError):
        raise InvalidInput([f"the {what} cannot be read from the archive"], heading="Invalid package") from None
