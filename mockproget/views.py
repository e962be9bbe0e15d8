"""The ProGet endpoints: api-keys (spec §1-§3, §6) and health.

Each view does one thing: authenticate, load the body, make one backend call, render.
"""

from __future__ import annotations

import re

from flask import Blueprint, Request, Response, current_app, jsonify, request

from .auth import BODY, CREDENTIAL, find_credential
from .backend import Backend
from .errors import InvalidInput, NotFound
from .journal import CREATED_KEY, PRINCIPAL
from .models import NewApiKey, Principal
from .schemas import dump_api_key, load_new_api_key, parse_json

__all__ = ["BODY_ERROR", "FORM_TYPES", "api_keys", "backend_of", "health", "missing_before_2024_3",
           "refuse_a_broken_body", "shown_path"]

#: Set in the WSGI environ when the request body could not be read (a broken chunk stream).
BODY_ERROR = "mockproget.body_error"

_ID = re.compile(r"\s*-?[0-9]{1,18}\s*", re.ASCII)

api_keys = Blueprint("api_keys", __name__)
health = Blueprint("health", __name__)


def backend_of() -> Backend:
    """The backend of the app serving the current request."""
    return current_app.extensions["mockproget"]  # type: ignore[no-any-return]


def _route_prefixes() -> frozenset[str]:
    """Every leading run of whole segments of this app's routes, up to a variable part
    (worked out once per app: the routes are fixed once it serves)."""
    cached: frozenset[str] | None = current_app.extensions.get("mockproget.route_prefixes")
    if cached is None:
        cached = current_app.extensions["mockproget.route_prefixes"] = frozenset(_prefixes_of_routes())
    return cached


def _prefixes_of_routes() -> set[str]:
    prefixes = {""}
    for rule in current_app.url_map.iter_rules():
        static = rule.rule.split("<", 1)[0]
        parts = static.split("/")
        if "<" in rule.rule:
            parts = parts[:-1]  # the segment the variable part is in
        for i in range(1, len(parts) + 1):
            prefixes.add("/".join(parts[:i]))
    return prefixes


def shown_path() -> str:
    """The request path as an error message shows it: its leading segments as far as
    they spell the start of one of the mock's routes, then ``/...`` for the rest.

    What is shown never depends on what the rest holds, so an answer cannot tell a
    live key or a password from any other text (no oracle), whatever the encoding.
    """
    path = request.path
    prefixes = _route_prefixes()
    if path in prefixes:
        return path
    segments = path.split("/")
    kept = 0
    for i in range(1, len(segments) + 1):
        if "/".join(segments[:i]) in prefixes:
            kept = i
    return "/".join(segments[:kept]) + "/..."


def missing_before_2024_3() -> NotFound | None:
    """Spec §1: an instance before 2024.3 has no api-keys endpoints [model: 404], whatever
    the method (so not even a 405 tells that they exist)."""
    settings = backend_of().settings
    if settings.has_api_keys_endpoints or not request.path.startswith("/api/api-keys/"):
        return None
    return NotFound(f"Not found: {shown_path()} (this instance emulates ProGet "
                    f"{settings.parsed_version}; the api-keys endpoints need 2024.3 or later)")


def _authenticate(backend: Backend | None = None, current: Request | None = None) -> Principal:
    """Spec §3-§4: judged before the body is validated, so a caller that may not use the
    api-keys endpoints (no key, a bad key, a feed key, ...) gets 403, never a 400.

    Every api-keys view begins here, so the version comes first: before 2024.3 there is
    nothing to authenticate to (spec §1, :func:`missing_before_2024_3`; a method the
    route does not take gets the same 404 from the error renderer)."""
    backend = backend or backend_of()
    if not backend.settings.has_api_keys_endpoints and (refusal := missing_before_2024_3()) is not None:
        raise refusal
    current = current or _current_request()
    credential = find_credential(current)
    environ = current.environ
    if credential is not None and credential.carrier in ("header", "query"):
        # what the journal and the fault rules read again from the environ: the same
        # first carrier (spec §3); one found in the body is left for them to find
        environ[CREDENTIAL] = credential
    principal = backend.authenticate(credential, manage_keys=True)
    environ[PRINCIPAL] = principal
    return principal


def _current_request() -> Request:
    """The request itself, not the context-local proxy: a view that reads it several
    times looks it up once."""
    return request._get_current_object()  # type: ignore[attr-defined,no-any-return]


def refuse_a_broken_body(current: Request | None = None) -> None:
    """A 400 naming what broke when the request body could not be read (a malformed or
    truncated chunk stream): every view that reads a body asks first."""
    problem = (current or _current_request()).environ.get(BODY_ERROR)
    if problem:
        raise InvalidInput([problem], heading="Invalid request")


#: The media types of form bodies (werkzeug parses them as a form; create refuses them).
FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


def _new_api_key(current: Request) -> NewApiKey:
    refuse_a_broken_body(current)
    if current.environ.get("CONTENT_TYPE") != "application/json" and current.mimetype in FORM_TYPES:
        raise InvalidInput([f"the request body must be an ApiKeyInfo JSON object, not "
                            f"{current.mimetype} (send Content-Type: application/json)"])
    body = current.environ.get(BODY)  # read once by the journal middleware, when it could
    return load_new_api_key(parse_json(body if body is not None else current.get_data(cache=True)))


@api_keys.post("/api/api-keys/create")
def create() -> Response:
    """``POST /api/api-keys/create``: the new key as ``ApiKeyInfo`` JSON (or its text)."""
    backend, current = backend_of(), _current_request()
    principal = _authenticate(backend, current)
    key, text = backend.create_api_key(principal, _new_api_key(current))
    current.environ[CREATED_KEY] = text  # so the journal can mask it
    if backend.settings.create_response == "text":
        return Response(text, mimetype="text/plain")
    return jsonify(dump_api_key(key, text=text))


@api_keys.get("/api/api-keys/list")
def list_keys() -> Response:
    """``GET /api/api-keys/list``: a JSON array of ``ApiKeyInfo``."""
    principal = _authenticate()
    return jsonify([dump_api_key(k) for k in backend_of().list_api_keys(principal)])


@api_keys.post("/api/api-keys/delete")
def delete() -> Response:
    """``POST /api/api-keys/delete?id=N``: no body; 200 with an empty body."""
    principal = _authenticate()
    raw = request.args.get("id", "")
    if not _ID.fullmatch(raw):
        problem = "the id query parameter is required" if not raw else "id: must be an integer"
        raise InvalidInput([problem], heading="Invalid request")
    backend_of().delete_api_key(principal, int(raw))
    return Response("", mimetype="text/plain")


def _health_info() -> dict[str, object]:
    settings = backend_of().settings
    version = settings.parsed_version
    return {
        "applicationName": "ProGet",
        "databaseStatus": "OK",
        "licenseStatus": "OK",
        "versionNumber": version.header,
        "releaseNumber": str(version),
        "serviceStatus": "OK",
        "extensionsInstalled": {},
        "replicationStatus": {},
    }


@health.get("/health")
def health_default() -> Response:
    """JSON ``ProGetHealthInfo`` up to 2025; a text summary from 2026 unless asked for JSON."""
    settings = backend_of().settings
    if request.args.get("format", "").lower() == "json" or settings.parsed_version.year <= 2025:
        return jsonify(_health_info())
    info = _health_info()
    text = "\n".join(f"{name}: {info[name]}" for name in
                     ("applicationName", "releaseNumber", "databaseStatus", "licenseStatus",
                      "serviceStatus"))
    return Response(text + "\n", mimetype="text/plain")


@health.get("/health/json")
def health_json() -> Response:
    return jsonify(_health_info())
