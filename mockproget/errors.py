"""The errors the mock answers with. One handler (in ``app``) renders them as text/plain."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

__all__ = ["Conflict", "Forbidden", "InvalidInput", "NotFound", "ProGetError", "Unauthorized"]


class ProGetError(Exception):
    """An HTTP error answer: a status and a human-readable, secret-free message."""

    status: int = 500
    #: Extra response headers (a challenge); never secrets.
    headers: Mapping[str, str] = MappingProxyType({})

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.status}, {self.message!r})"


class InvalidInput(ProGetError):
    """400: invalid or missing properties (spec §6). Carries every problem found."""

    status = 400

    def __init__(self, problems: Iterable[str], heading: str = "Invalid ApiKeyInfo") -> None:
        self.problems = list(problems) or ["the request is invalid"]
        text = heading + ":\n" + "\n".join(f"- {p}" for p in self.problems)
        super().__init__(text)


class Forbidden(ProGetError):
    """403: missing, unknown, expired or unauthorized key (spec §3, §6)."""

    status = 403


class NotFound(ProGetError):
    status = 404


class Unauthorized(ProGetError):
    """401 with a Basic challenge for ``realm`` (proget-feeds spec §1.4 [model])."""

    status = 401

    def __init__(self, message: str, realm: str) -> None:
        super().__init__(message)
        # a header value is printable ASCII here, whatever a feed's name holds
        self.realm = "".join(c if " " <= c <= "~" and c not in '"\\' else "_" for c in realm)
        self.headers = {"WWW-Authenticate": f'Basic realm="{self.realm}"'}


class Conflict(ProGetError):
    """409: the package version exists and may not be overwritten (proget-feeds spec §2.3)."""

    status = 409
