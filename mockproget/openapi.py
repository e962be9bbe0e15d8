"""The OpenAPI 3.1 description of the mock: the emulated ProGet endpoints (spec §1-§6) and
the control API, shipped as ``openapi.json`` beside this module and served at
``GET /__mockproget__/openapi.json``.

For tools people already use on an HTTP API: Schemathesis, Prism, client generators,
Postman. The document's server is ``/``: relative to where it was fetched from.
"""

from __future__ import annotations

import copy
import json
from functools import lru_cache
from importlib import resources
from typing import Any

from flask import Blueprint, Response

__all__ = ["PATH", "document", "openapi"]

#: Where a running mock serves the document.
PATH = "/__mockproget__/openapi.json"

openapi = Blueprint("mockproget_openapi", __name__)


@lru_cache(maxsize=1)
def _text() -> str:
    return resources.files(__package__).joinpath("openapi.json").read_text(encoding="utf-8")


def document() -> dict[str, Any]:
    """The OpenAPI document, as a fresh dict (change it freely)."""
    return copy.deepcopy(_parsed())


@lru_cache(maxsize=1)
def _parsed() -> dict[str, Any]:
    value: dict[str, Any] = json.loads(_text())
    return value


@openapi.get(PATH)
def serve() -> Response:
    """``GET /__mockproget__/openapi.json``: the document, as shipped."""
    return Response(_text(), mimetype="application/json")
