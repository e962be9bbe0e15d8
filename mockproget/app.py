"""The Flask application: blueprints, the ProGet headers and ONE error renderer."""

from __future__ import annotations

import io
import json
import logging
import threading
import traceback
import weakref
from collections.abc import Callable, Iterable
from types import FunctionType
from typing import TYPE_CHECKING, Any

from flask import Flask, Response, request
from flask.json.provider import DefaultJSONProvider
from flask.sessions import NullSession, SessionInterface
from werkzeug.exceptions import HTTPException
from werkzeug.routing import MapAdapter
from werkzeug.sansio.response import Response as SansioResponse
from werkzeug.utils import get_content_type

from .backend import Backend
from .config import Config
from .control import Sealer, control, control_hosts, foreign_host_refusal, warn_if_exposed
from .errors import ProGetError
from .faults import CONTROL_PREFIX, FaultMiddleware, FaultSet
from .feeds import register as register_feeds
from .journal import Journal, JournalMiddleware
from .masking import SecretText
from .models import NewApiKey, SeedState
from .openapi import openapi
from .views import BODY_ERROR, FORM_TYPES, api_keys, backend_of, health, missing_before_2024_3, shown_path

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = ["ADMIN_KEY_NAME", "create_app", "seeded_state"]

log = logging.getLogger("mockproget")


def create_app(config: Config | None = None, backend: Backend | None = None) -> Flask:
    """Build the mock's WSGI app around ``backend`` (made from ``config`` when not given:
    with ``config.admin_key`` seeded as a full-control system key, as ``MockProGet`` does)."""
    config = config or Config()
    if backend is None:
        backend = Backend(config.instance, seeded_state(config), seed=config.seed)
    app = _App("mockproget", static_folder=None)  # no /static/<path> route: ProGet's paths only
    # a form field may be as large as the body may be
    app.config["MAX_CONTENT_LENGTH"] = app.config["MAX_FORM_MEMORY_SIZE"] = config.max_body
    app.config["PROVIDE_AUTOMATIC_OPTIONS"] = False  # OPTIONS is a method like any other the routes do not take: 405
    app.json = _JSONProvider(app)
    app.session_interface = _NoSessions()
    app.extensions["mockproget"] = backend
    if config.admin_key:  # kept across a hand-written PUT /__mockproget__/state
        app.extensions["mockproget.admin_key"] = SecretText(config.admin_key)
    app.register_blueprint(api_keys)
    app.register_blueprint(health)
    register_feeds(app)

    app.register_error_handler(Exception, _render_error)
    app.wsgi_app = _ProGetHeaders(app.wsgi_app, backend)  # type: ignore[method-assign]
    _add_faults_and_journal(app, config, backend)
    app.wsgi_app = _BufferChunkedBody(app.wsgi_app, config.max_body,  # type: ignore[method-assign]
                                      config.control_max_body)
    return app


#: The display name of the admin key seeded from ``Config.admin_key``.
ADMIN_KEY_NAME = "mockproget admin"


def seeded_state(config: Config, admin_key: str | None = None) -> SeedState:
    """``config.state`` plus the admin key (``admin_key``, else ``config.admin_key``, if
    any) as a full-control system key: what :meth:`Backend.reset` goes back to."""
    key = admin_key or config.admin_key
    seeded = config.state
    extra = [NewApiKey(type="system", key=key, system_apis=("full-control",),
                       display_name=ADMIN_KEY_NAME, logging="none")] if key else []
    return SeedState(list(seeded.users), list(seeded.feeds), list(seeded.feed_groups),
                     list(seeded.api_keys) + extra)


class _BufferChunkedBody:
    """Read a chunked request body (no Content-Length, as pgutil sends, spec §7) up front.

    werkzeug caps such a body at ``MAX_CONTENT_LENGTH`` by silently truncating it; this
    reads at most one byte more than the limit, so an oversized body gets a 413 like any
    other, and a body within the limit reaches the views whole, with a Content-Length.
    A malformed chunk stream is noted under ``BODY_ERROR`` for the view that reads the
    body (a 400 after authentication), never a 500.

    The stream is read with ``readinto`` into a buffer this class owns, and the count is
    checked against that buffer: werkzeug's ``DechunkedInput.readinto`` reports the full
    length when a chunk is cut short (the buffer shrinks), and ``read()`` on it would
    hand back memory past the data. Under ``MockProGet``'s own server (waitress) bodies
    arrive de-chunked with a Content-Length, and this layer passes them through.
    """

    def __init__(self, app: WSGIApplication, limit: int, control_limit: int | None = None) -> None:
        self.app, self.limit = app, limit
        self.control_limit = control_limit or limit

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("wsgi.input_terminated") and not environ.get("CONTENT_LENGTH"):
            stream = environ["wsgi.input"]
            chunks, size = [], 0
            limit = self.control_limit if environ.get("PATH_INFO", "").startswith(CONTROL_PREFIX) else self.limit
            try:
                while size <= limit:
                    chunk = _read_some(stream, min(65536, limit + 1 - size))
                    if not chunk:
                        break
                    chunks.append(chunk)
                    size += len(chunk)
            except (OSError, ValueError) as error:  # werkzeug: "Invalid chunk header", ...
                chunks, size = [], 0
                environ[BODY_ERROR] = f"the chunked request body is malformed ({error})"
            environ["wsgi.input"] = io.BytesIO(b"".join(chunks))
            environ["CONTENT_LENGTH"] = str(size)  # over the limit: Flask answers 413
            environ.pop("wsgi.input_terminated", None)
            environ.pop("HTTP_TRANSFER_ENCODING", None)  # else werkzeug ignores the length
        return self.app(environ, start_response)


def _read_some(stream: object, want: int) -> bytes:
    """Up to ``want`` bytes of ``stream``, never more than it really wrote.

    :raises ValueError: the stream reported more bytes than it put in the buffer (a chunk
        cut short): the body is truncated.
    """
    readinto = getattr(stream, "readinto", None)
    if readinto is None:
        data = stream.read(want)  # type: ignore[attr-defined]
        if not isinstance(data, bytes) or len(data) > want:
            raise ValueError("the request body stream misbehaved")
        return data
    buffer = bytearray(want)
    count = readinto(buffer)
    if count is None:
        return b""
    if not 0 <= count <= len(buffer) or len(buffer) != want:
        raise ValueError("the body ends inside a chunk")
    return bytes(buffer[:count])


class _App(Flask):
    """Flask, with the check that a view is a coroutine made once per view rather than
    on every request (the views are fixed once the app serves; Flask wraps an ``async``
    one the same way either way)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: functions known not to be coroutines, held weakly: one made for a single
        #: request (``after_this_request``) goes with it
        self._synced: weakref.WeakSet[Callable[..., Any]] = weakref.WeakSet()

    def create_url_adapter(self, request: Any) -> MapAdapter | None:
        """Flask's, but a WebSocket upgrade request is routed as the plain HTTP request it
        also is: no route speaks WebSocket, and a server may ignore ``Upgrade`` (RFC 9110
        §7.8), as ProGet's endpoints do, rather than refuse it."""
        adapter = super().create_url_adapter(request)
        if adapter is not None and adapter.websocket:
            adapter.websocket = False
            adapter.url_scheme = "https" if adapter.url_scheme == "wss" else "http"
        return adapter

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        if func.__class__ is not FunctionType:  # a bound method, a partial, ...: as Flask does
            return super().ensure_sync(func)
        if func in self._synced:
            return func
        synced = super().ensure_sync(func)
        if synced is func:
            self._synced.add(func)
        return synced


class _JSONProvider(DefaultJSONProvider):
    """Flask's JSON answers (compact, ASCII, ``ApiKeyInfo``'s property order kept), with
    the encoder made once rather than for every answer."""

    sort_keys = False

    def __init__(self, app: Flask) -> None:
        super().__init__(app)
        self._compact = json.JSONEncoder(default=self.default, ensure_ascii=self.ensure_ascii,
                                         sort_keys=False, separators=(",", ":"))
        self._content_type = get_content_type(self.mimetype, "utf-8")  # worked out once

    def response(self, *args: Any, **kwargs: Any) -> SansioResponse:
        if self.compact is False or (self.compact is None and self._app.debug):
            return super().response(*args, **kwargs)  # indented: Flask's own way
        text = self._compact.encode(self._prepare_response_obj(args, kwargs))
        return self._app.response_class(f"{text}\n", content_type=self._content_type)


class _NoSessions(SessionInterface):
    """ProGet's API keeps no sessions, nor does the mock: every request gets the same
    read-only null session, and there is never one to save."""

    _null = NullSession()

    def open_session(self, app: Flask, request: Any) -> NullSession:
        return self._null

    def save_session(self, app: Flask, session: Any, response: Any) -> None:
        return None


class _ProGetHeaders:
    """``X-ProGet-Version`` / ``X-ProGet-Edition`` on every answer of the app (spec §6),
    errors included: added to the header list as the answer starts (the app's own answers
    never set them), from the instance settings of that moment."""

    def __init__(self, app: WSGIApplication, backend: Backend) -> None:
        self.app, self.backend = app, backend

    def headers(self) -> list[tuple[str, str]]:
        settings = self.backend.settings
        return [("X-ProGet-Version", settings.version_header), ("X-ProGet-Edition", settings.edition)]

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            return start_response(status, headers + self.headers(), exc_info)

        return self.app(environ, start)


def _add_faults_and_journal(app: Flask, config: Config, backend: Backend) -> None:
    """The fault rules, the journal and the control API (issue 3).

    WSGI order, outside in: chunked-body reader, journal (reads other bodies once),
    faults (the one place rules are matched), the Flask app.
    """
    faults = FaultSet(config.faults, seed=config.seed)
    journal = Journal(config.journal_size, config.journal_bytes)
    stopping = threading.Event()  # set by the server at stop: injected waits end
    app.extensions.update({
        "mockproget.faults": faults, "mockproget.journal": journal,
        "mockproget.stopping": stopping,
        "mockproget.control_token": SecretText(config.control_token) if config.control_token else None,
        "mockproget.sealer": Sealer(), "mockproget.control_hosts": control_hosts(config),
        "mockproget.control_max_body": config.control_max_body,
    })
    backend.masker.pin(config.control_token)
    backend.masker.before_forgetting(journal.flush)  # entries are masked with what was live
    warn_if_exposed(config)
    app.register_blueprint(control)
    app.register_blueprint(openapi)  # GET /__mockproget__/openapi.json

    with_headers: _ProGetHeaders = app.wsgi_app  # type: ignore[assignment]
    app.wsgi_app = JournalMiddleware(  # type: ignore[method-assign]
        FaultMiddleware(with_headers, faults, stopping, lambda: dict(with_headers.headers())), journal, config.max_body,
        backend.mask, backend.mask_many)


#: Methods an error message names; any other is not echoed (it could be anything).
_KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"})
#: The order a 405 lists a route's methods in (werkzeug hands them over as a set, whose
#: order changes with the interpreter's hash seed).
_METHOD_ORDER = {name: i for i, name in enumerate(("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"))}


def _render_error(error: Exception) -> Response:
    """Every error as ``text/plain``: ProGet's own (spec §6), HTTP ones, and bugs (500)."""
    if isinstance(error, ProGetError):
        return Response(backend_of().mask(error.message) + "\n", status=error.status, mimetype="text/plain",
                        headers=error.headers)
    if isinstance(error, HTTPException):
        if error is request.routing_exception and request.path.startswith(CONTROL_PREFIX) \
                and (foreign := foreign_host_refusal()) is not None:
            return _render_error(foreign)  # the Host first, even where routing failed
        status = error.code or 500
        valid_methods: list[str] = sorted(getattr(error, "valid_methods", None) or [],  # MethodNotAllowed's
                                          key=lambda m: (_METHOD_ORDER.get(m, len(_METHOD_ORDER)), m))
        if status == 405 and (refusal := missing_before_2024_3()) is not None:
            return _render_error(refusal)
        if status == 405:
            allowed = ", ".join(m for m in valid_methods if m not in ("HEAD", "OPTIONS"))
            method = request.method if request.method in _KNOWN_METHODS else "this method"
            text = f"Method {method} is not allowed on {shown_path()}; use {allowed}."
        elif status == 404:
            text = f"Not found: {shown_path()}"
        elif status == 413 and request.mimetype in FORM_TYPES and (request.content_length or 0) <= (
                request.max_content_length or 0):  # werkzeug's bound on the form, not the body's
            text = f"The request form has more than {request.max_form_parts} parts (fields and files)."
        elif status == 413:
            limit = request.max_content_length
            text = f"The request body is too large (the limit is {limit} bytes)."
        else:
            text = f"{error.name}: {error.description}"
        response = Response(backend_of().mask(text) + "\n", status=status, mimetype="text/plain")
        if status == 405 and valid_methods:
            response.headers["Allow"] = ", ".join(valid_methods)
        return response
    # A bug in the mock: answer as ProGet does (message and stack trace, also logged, §6).
    mask = backend_of().mask
    log.error("unexpected error on %s %s: %s", request.method, shown_path(),
              mask(f"{type(error).__name__}: {error}\n{traceback.format_exc()}"))
    text = f"{type(error).__name__}: {error}\n\n{traceback.format_exc()}"
    return Response(mask(text), status=500, mimetype="text/plain")
