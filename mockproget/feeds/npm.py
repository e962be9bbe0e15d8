"""npm feeds, ``/npm/«feed»/`` (proget-feeds spec §3): just enough for the npm CLI.

``npm install`` (packument, tarball), ``npm publish`` (PUT of the package document),
``npm whoami`` (token credentials) and the legacy ``npm login`` (couch user PUT).
"""

from __future__ import annotations

import base64
import binascii
import io
import re
import tarfile
from datetime import timezone
from typing import Any

from flask import Blueprint, Response, jsonify, request

from ..errors import Forbidden, InvalidInput, NotFound, Unauthorized
from ..journal import CREATED_KEY, PRINCIPAL
from ..models import Credential, Package
from ..views import backend_of
from .auth import authorize
from .common import feed_url, json_body, loads

__all__ = ["npm", "parse_tarball"]

npm = Blueprint("feeds_npm", __name__)
TYPE = "npm"

#: npm package names [std: npm "package.json" name rules]: at most 214 characters,
#: URL-safe, optionally ``@scope/``.
_NAME = re.compile(r"^(?:@[a-z0-9][a-z0-9._~-]*/)?[a-z0-9_][a-z0-9._~-]*$")
_VERSION = re.compile(r"^[0-9A-Za-z.+-]{1,128}$")


#: How deeply a version's manifest may nest (it is stored and rendered again).
MAX_DEPTH = 64


def _too_deep(value: Any) -> bool:
    """Whether a JSON value nests deeper than :data:`MAX_DEPTH` (checked without recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            return True
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return False


def _check_name(name: str) -> str:
    if len(name) > 214 or not _NAME.fullmatch(name):
        raise NotFound(f"Not a valid npm package name: {name[:100]!r}")
    return name


def _unscoped(name: str) -> str:
    return name.rpartition("/")[2]


def _tarball_url(feed: str, name: str, version: str) -> str:
    """Tarballs live under the registry prefix, so npm sends its credentials (§3.1 [model])."""
    return feed_url("npm", feed, name, "-", f"{_unscoped(name)}-{version}.tgz")


def _iso(package: Package) -> str:
    return package.published.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _packument(feed: str, name: str, packages: list[Package]) -> dict[str, Any]:
    """The package document [std: npm registry package-metadata.md] from its versions."""
    versions: dict[str, Any] = {}
    tags: dict[str, str] = {}
    times: dict[str, str] = {}
    for package in packages:  # oldest first: a later version takes a tag over
        manifest = dict(package.metadata.get("manifest", {}))
        manifest.update({"name": name, "version": package.version, "_id": f"{name}@{package.version}"})
        manifest["dist"] = {
            "tarball": _tarball_url(feed, name, package.version),
            "shasum": package.sha1,
            "integrity": "sha512-" + base64.b64encode(package.sha512).decode("ascii"),
        }
        versions[package.version] = manifest
        times[package.version] = _iso(package)
        for tag in package.metadata.get("tags", ()):
            tags[tag] = package.version
    if "latest" not in tags:
        tags["latest"] = packages[-1].version
    return {"_id": name, "name": name, "dist-tags": tags, "versions": versions,
            "time": {"created": _iso(packages[0]), "modified": _iso(packages[-1]), **times}}


@npm.get("/npm/<feed>/-/whoami")
def whoami(feed: str) -> Response:
    """``npm whoami`` with a token: the user acted for, or ``api`` for a key without one
    (§3.3 [model])."""
    principal = authorize(feed, TYPE, None)
    return jsonify({"username": principal.user or "api"})


@npm.put("/npm/<feed>/-/user/<path:rest>")
def login(feed: str, rest: str) -> Response:
    """Legacy ``npm login``: ``api`` + a key answers that key as the token; a user's
    password answers the ``user:password`` pseudo-key (§3.2 [model])."""
    data = json_body("an npm user document")
    name, password = (data.get("name"), data.get("password")) if isinstance(data, dict) else (None, None)
    if not isinstance(name, str) or not isinstance(password, str) or not name or not password:
        raise InvalidInput(["name and password must be non-empty strings"], heading="Invalid request")
    backend = backend_of()
    backend.get_feed(feed, TYPE)  # 404 for an unknown feed
    try:
        if name.lower() == "api":
            principal = backend.authenticate_feed(Credential("couch", password))
            token = password
        else:
            principal = backend.authenticate_feed(Credential("couch", f"{name}:{password}"), login=True)
            token = f"{name}:{password}"
    except Forbidden as error:
        raise Unauthorized(error.message, realm=f"ProGet Feed {feed}") from None
    request.environ[PRINCIPAL] = principal
    request.environ[CREATED_KEY] = token  # the journal masks it
    return _created({"ok": True, "id": f"org.couchdb.user:{name}", "token": token})


@npm.get("/npm/<feed>/<path:rest>")
def read(feed: str, rest: str) -> Response:
    """A packument (``«name»``, ``@scope/name``) or a tarball (``«name»/-/«file».tgz``)."""
    name, sep, filename = rest.partition("/-/")
    _check_name(name)
    principal = authorize(feed, TYPE, "read")
    backend = backend_of()
    if sep:
        package = backend.package_file(principal, feed, TYPE, filename)
        if package.name != name:
            raise NotFound(f"There is no file {filename} for {name} in feed {feed}.")
        return Response(package.content, mimetype="application/octet-stream")
    packages = backend.find_packages(principal, feed, TYPE, name)
    if not packages:
        raise NotFound(f"There is no package {name} in feed {feed}.")
    return jsonify(_packument(feed, name, packages))


def _published(feed: str, name: str, data: Any) -> Package:
    """The one version an ``npm publish`` body carries [client: libnpmpublish]."""
    if not isinstance(data, dict):
        raise InvalidInput(["the body must be a JSON object"], heading="Invalid npm publish")
    problems: list[str] = []
    if data.get("name") != name:
        problems.append(f"name must be {name!r}, the name in the URL")
    versions, attachments = data.get("versions"), data.get("_attachments")
    if not isinstance(versions, dict) or len(versions) != 1:
        problems.append("versions must be an object with exactly one version")
    if not isinstance(attachments, dict) or len(attachments) != 1:
        problems.append("_attachments must be an object with exactly one tarball")
    if problems:
        raise InvalidInput(problems, heading="Invalid npm publish")
    (version, manifest), = versions.items()  # type: ignore[union-attr]
    (_, attachment), = attachments.items()  # type: ignore[union-attr]
    if not _VERSION.fullmatch(version):
        problems.append(f"version {version[:100]!r} is not a valid version")
    if not isinstance(manifest, dict):
        problems.append("the version's manifest must be an object")
    elif _too_deep(manifest):
        problems.append(f"the version's manifest nests deeper than {MAX_DEPTH} levels")
    content = b""
    if not isinstance(attachment, dict) or not isinstance(attachment.get("data"), str):
        problems.append("the tarball must be an object with base64 data")
    else:
        try:
            content = base64.b64decode(attachment["data"], validate=True)
        except (binascii.Error, ValueError):
            problems.append("the tarball data is not valid base64")
        length = attachment.get("length")
        if isinstance(length, int) and not isinstance(length, bool) and length != len(content):
            problems.append(f"the tarball is {len(content)} bytes, not {length} as its length says")
    if not content and not problems:
        problems.append("the tarball is empty")
    tags = data.get("dist-tags", {})
    if not isinstance(tags, dict) or not all(isinstance(k, str) and v == version for k, v in tags.items()):
        problems.append(f"dist-tags must be an object of tags naming version {version!r}")
    if problems:
        raise InvalidInput(problems, heading="Invalid npm publish")
    kept = {k: v for k, v in manifest.items() if k != "dist" and not k.startswith("_")}
    return Package(feed=feed, name=name, version=version, filename=f"{_unscoped(name)}-{version}.tgz",
                   content=content, ident=(name, version), name_key=name,
                   metadata={"manifest": kept, "tags": sorted(tags)})


def parse_tarball(feed: str, data: bytes) -> Package:
    """An npm ``.tgz`` as a package: name and version from its ``package/package.json``."""
    manifest: Any = None
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
            for member in archive:
                if member.isfile() and member.name in ("package/package.json", "./package/package.json") \
                        and member.size <= 1024 * 1024:
                    handle = archive.extractfile(member)
                    manifest = loads(handle.read().decode("utf-8-sig")) if handle else None
                    break
    except (tarfile.TarError, OSError, EOFError, ValueError, RecursionError):
        manifest = None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("name"), str) \
            or not isinstance(manifest.get("version"), str):
        raise InvalidInput(["the tarball needs a package/package.json with a name and a version"],
                           heading="Invalid package")
    name, version = manifest["name"], manifest["version"]
    if len(name) > 214 or not _NAME.fullmatch(name) or not _VERSION.fullmatch(version) or _too_deep(manifest):
        raise InvalidInput([f"package.json: {name[:100]!r} {version[:100]!r} is not a valid name and version"],
                           heading="Invalid package")
    kept = {k: v for k, v in manifest.items() if k != "dist" and not k.startswith("_")}
    return Package(feed=feed, name=name, version=version, filename=f"{_unscoped(name)}-{version}.tgz",
                   content=data, ident=(name, version), name_key=name,
                   metadata={"manifest": kept, "tags": ["latest"]})


@npm.put("/npm/<feed>/<path:rest>")
def publish(feed: str, rest: str) -> Response:
    """``npm publish``: ``PUT /npm/«feed»/«name»``; 409 for an existing version (§3.3)."""
    name = _check_name(rest)
    principal = authorize(feed, TYPE, "publish")
    package = backend_of().publish_package(principal, TYPE, _published(feed, name, json_body("an npm package document")))
    return _created({"ok": True, "id": package.name, "version": package.version})


def _created(data: dict[str, Any]) -> Response:
    response = jsonify(data)
    response.status_code = 201
    return response
