"""The Flask application: blueprints, the ProGet headers and ONE error renderer."""

from __future__ import annotations

import traceback

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from .backend import Backend
from .config import Config
from .errors import ProGetError
from .views import api_keys, backend_of, health

__all__ = ["create_app"]


def create_app(config: Config | None = None, backend: Backend | None = None) -> Flask:
    """Build the mock's WSGI app around ``backend`` (made from ``config`` when not given)."""
    config = config or Config()
    if backend is None:
        backend = Backend(config.instance, config.state, seed=config.seed)
    app = Flask("mockproget")
    app.config["MAX_CONTENT_LENGTH"] = config.max_body
    app.json.sort_keys = False  # type: ignore[attr-defined]  # keep ApiKeyInfo's order
    app.extensions["mockproget"] = backend
    app.register_blueprint(api_keys)
    app.register_blueprint(health)
    app.after_request(_proget_headers)
    app.register_error_handler(Exception, _render_error)
    return app


def _proget_headers(response: Response) -> Response:
    """``X-ProGet-Version`` / ``X-ProGet-Edition`` on every answer (spec §6)."""
    settings = backend_of().settings
    response.headers["X-ProGet-Version"] = settings.parsed_version.header
    response.headers["X-ProGet-Edition"] = settings.edition
    return response


def _render_error(error: Exception) -> Response:
    """Every error as ``text/plain``: ProGet's own (spec §6), HTTP ones, and bugs (500)."""
    if isinstance(error, ProGetError):
        return Response(error.message + "\n", status=error.status, mimetype="text/plain")
    if isinstance(error, HTTPException):
        status = error.code or 500
        if status == 405:
            allowed = ", ".join(m for m in (error.valid_methods or []) if m not in ("HEAD", "OPTIONS"))
            text = f"Method {request.method} is not allowed on {request.path}; use {allowed}."
        elif status == 404:
            text = f"Not found: {request.path}"
        elif status == 413:
            limit = request.max_content_length
            text = f"The request body is too large (the limit is {limit} bytes)."
        else:
            text = f"{error.name}: {error.description}"
        response = Response(text + "\n", status=status, mimetype="text/plain")
        if status == 405 and error.valid_methods:
            response.headers["Allow"] = ", ".join(error.valid_methods)
        return response
    # A bug in the mock: answer as ProGet does (message and stack trace, spec §6).
    text = f"{type(error).__name__}: {error}\n\n{traceback.format_exc()}"
    return Response(text, status=500, mimetype="text/plain")
