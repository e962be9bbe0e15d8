"""The Common Packages API, ``/api/packages/«feed»/`` ([doc: Content/proget/api/packages]):
upload, download and delete for every feed type, as pgutil sends them
(``PUT …/upload[/«file»]``, ``GET …/download?name=&version=&group=``, ``POST …/delete?…``,
the key in ``X-ApiKey``; proget-feeds spec §1.4, §4.1).

Not a feed endpoint, but the same principal and permission table; every refusal is 403
with the documented text.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import Blueprint, Response, request

from ..errors import Forbidden, InvalidInput, NotFound, Unauthorized
from ..models import Package, Principal
from ..views import backend_of
from .auth import authorize
from .common import body
from .npm import parse_tarball
from .nuget import is_version, normalize_version
from .nuget import parse_package as parse_nupkg
from .pypi import normalize, parse_distribution
from .upack import name_key
from .upack import parse_package as parse_upack

__all__ = ["DOC_REFUSAL", "packages_api"]

packages_api = Blueprint("feeds_packages_api", __name__)

#: The 403 text of the Common Packages API [doc], for a missing, unknown or insufficient key.
DOC_REFUSAL = "The specified API key does not have the proper permissions to perform this action."


@contextmanager
def _refusals() -> Iterator[None]:
    """Every refusal as the documented 403 (the mock's reason on the next line)."""
    try:
        yield
    except (Forbidden, Unauthorized) as error:
        raise Forbidden(f"{DOC_REFUSAL}\n{error.message}") from None


def _parse(feed: str, feed_type: str, filename: str | None, data: bytes) -> Package:
    if not data:
        raise InvalidInput(["the request body is empty: send the package file"], heading="Invalid package")
    if feed_type == "npm":
        return parse_tarball(feed, data)
    if feed_type == "nuget":
        return parse_nupkg(feed, data)
    if feed_type == "universal":
        return parse_upack(feed, data)
    if not filename:
        raise InvalidInput(["a PyPI upload needs the file name: PUT /api/packages/«feed»/upload/«file»"],
                           heading="Invalid request")
    return parse_distribution(feed, filename, data)


@packages_api.put("/api/packages/<feed>/upload")
@packages_api.put("/api/packages/<feed>/upload/<filename>")
@packages_api.post("/api/packages/<feed>/upload")
@packages_api.post("/api/packages/<feed>/upload/<filename>")
def upload(feed: str, filename: str | None = None) -> Response:
    """Upload Package [doc]: the package file as the body; 201 [model], 409 for an
    existing version without the overwrite privilege."""
    feed_type = backend_of().feed_type(feed)
    with _refusals():
        principal = authorize(feed, feed_type, "publish", "forbidden")
    package = _parse(feed, feed_type, filename, body())
    with _refusals():
        backend_of().publish_package(principal, feed_type, package)
    return Response("", status=201, mimetype="text/plain")


def _coordinates(feed_type: str) -> tuple[str, str]:
    """The looked-up name and version of ``?name=&version=&group=``."""
    name, version, group = (request.args.get(k, "") for k in ("name", "version", "group"))
    if not name or not version:
        raise InvalidInput(["name and version are required query parameters"], heading="Invalid request")
    if feed_type == "pypi":
        return normalize(name), version
    if feed_type == "nuget":
        return name.lower(), normalize_version(version) if is_version(version) else version.lower()
    if feed_type == "universal":
        return name_key(group, name), version
    return name, version


def _find(principal: Principal, feed: str, feed_type: str) -> Package:
    key, version = _coordinates(feed_type)
    with _refusals():
        found = [p for p in backend_of().find_packages(principal, feed, feed_type, key) if p.version == version]
    if not found:
        raise NotFound(f"There is no package {request.args.get('name')} {request.args.get('version')} "
                       f"in feed {feed}.")
    return found[0]


@packages_api.get("/api/packages/<feed>/download")
def download(feed: str) -> Response:
    """Download Package [doc]: the package file."""
    feed_type = backend_of().feed_type(feed)
    with _refusals():
        principal = authorize(feed, feed_type, "read", "forbidden")
    package = _find(principal, feed, feed_type)
    response = Response(package.content, mimetype="application/octet-stream")
    response.headers["Content-Disposition"] = f'attachment; filename="{package.filename}"'
    return response


@packages_api.post("/api/packages/<feed>/delete")
def delete(feed: str) -> Response:
    """Delete Package [doc]: needs Overwrite/Delete; 200, or 404 for an unknown version."""
    feed_type = backend_of().feed_type(feed)
    with _refusals():
        principal = authorize(feed, feed_type, "delete", "forbidden")
    key, version = _coordinates(feed_type)
    with _refusals():
        backend_of().delete_version(principal, feed, feed_type, key, version)
    return Response("", mimetype="text/plain")
