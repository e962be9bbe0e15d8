"""Feed credentials (proget-feeds spec §1.1) to the principal the api-keys endpoints use.

The one place every feed protocol authenticates and is authorized. Carriers, in the order
they are judged [model: a dedicated key header wins, §2.2]:

1. ``X-NuGet-ApiKey`` (NuGet push) — a key, or ``user:password`` as a pseudo-key;
2. ``X-ApiKey`` header, then ``key`` query string ([doc] on ``/upack/``, accepted on every
   feed type as §8.1 proposes);
3. ``Authorization: Bearer «key»`` (npm ``_authToken``);
4. ``Authorization: Basic`` — user ``api`` (any case) with the key as password, or a
   ProGet user's ``user:password`` login.

Refusals (§1.4, §7 [model]; ``/upack/`` [doc]): no credential where Anonymous may not, or a
Basic/Bearer credential that does not authenticate → 401 with ``WWW-Authenticate: Basic
realm="ProGet Feed «feed»"``; a dedicated key header that does not authenticate, or an
authenticated principal without the privilege → 403; on ``/upack/`` every refusal is 403.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

from flask import request

from ..auth import header_text
from ..errors import Forbidden, Unauthorized
from ..journal import PRINCIPAL
from ..models import Credential, Principal
from ..views import backend_of

__all__ = ["FeedCredential", "Style", "authorize", "read_credential", "refusals"]

#: ``challenge``: 401 + Basic challenge where a client needs one; ``forbidden``: 403 only.
Style = Literal["challenge", "forbidden"]


class FeedCredential:
    """A credential found on a feed request: what to judge and how to refuse it."""

    __slots__ = ("credential", "dedicated", "login", "problem")

    def __init__(self, credential: Credential, *, login: bool = False, dedicated: bool = False,
                 problem: str | None = None) -> None:
        self.credential = credential
        self.login = login  # a Basic user:password login, not a key
        self.dedicated = dedicated  # a key header: refused with 403, never challenged
        self.problem = problem  # why it cannot authenticate at all (a malformed header)

    @classmethod
    def unusable(cls, problem: str) -> FeedCredential:
        """An Authorization header that carries no credential: refused like a wrong one."""
        return cls(Credential("authorization", ""), problem=problem)

    def __repr__(self) -> str:
        return f"FeedCredential({self.credential.carrier}, login={self.login})"


def _basic(value: str) -> FeedCredential:
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        return FeedCredential.unusable("The Basic credentials are not valid base64.")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    user, sep, password = text.partition(":")
    if not sep or not user:
        return FeedCredential.unusable("The Basic credentials need a user name and a password.")
    if user.lower() == "api":
        if not password:
            return FeedCredential.unusable("The Basic user api needs an API key as its password.")
        return FeedCredential(Credential("basic", password))
    return FeedCredential(Credential("basic", text), login=True)


def read_credential() -> FeedCredential | None:
    """The credential of the current feed request, or ``None`` when there is none."""
    headers = request.headers
    for name, carrier in (("X-NuGet-ApiKey", "x-nuget-apikey"), ("X-ApiKey", "header")):
        value = header_text(headers.get(name))
        if value:
            return FeedCredential(Credential(carrier, value), dedicated=True)
    value = request.args.get("key")
    if value:
        return FeedCredential(Credential("query", value), dedicated=True)
    authorization = headers.get("Authorization", "").strip()
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "basic":
        return _basic(value)
    if scheme.lower() == "bearer" and value.strip():
        return FeedCredential(Credential("bearer", value.strip()))
    return FeedCredential.unusable("The Authorization header must be Basic or Bearer.")


def _realm(feed: str) -> str:
    return f"ProGet Feed {feed}"


def authorize(feed: str, feed_type: str, operation: str | None, style: Style = "challenge") -> Principal:
    """Authenticate the current request and check it may do ``operation`` on ``feed``
    (``None``: authenticate only). Returns the principal, also kept for the journal."""
    backend = backend_of()
    found = read_credential()
    try:
        if found is not None and found.problem is not None:
            raise Forbidden(found.problem)
        principal = backend.authenticate_feed(found.credential if found else None,
                                              login=bool(found and found.login))
    except Forbidden as error:
        if style == "forbidden" or (found is not None and found.dedicated):
            raise
        raise Unauthorized(error.message, realm=_realm(feed)) from None
    request.environ[PRINCIPAL] = principal
    if operation is not None:
        with refusals(style):
            backend.feed_access(principal, feed, feed_type, operation)
    elif principal.kind == "anonymous":
        backend.get_feed(feed, feed_type)  # 404 for an unknown feed
        refusal = f"Authentication is required (feed {feed})."
        if style == "forbidden":
            raise Forbidden(refusal)
        raise Unauthorized(refusal, realm=_realm(feed))
    return principal


@contextmanager
def refusals(style: Style) -> Iterator[None]:
    """Answer the backend's anonymous refusals in ``style`` (``/upack/``: 403, §5.3)."""
    try:
        yield
    except Unauthorized as error:
        if style == "forbidden":
            raise Forbidden(error.message) from None
        raise
