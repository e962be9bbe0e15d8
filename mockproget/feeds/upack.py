"""Universal feeds, ``/upack/«feed»/`` (proget-feeds spec §5): the Universal Feed API.

Upload (``POST``/``PUT /upload``, a ``.upack`` zip as the body or the first file of a
multipart form), download, versions, packages and delete. Every refusal is 403 [doc:
"A 403 response indicates a missing, unknown, or unauthorized API Key"].
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timezone
from typing import Any

from flask import Blueprint, Response, jsonify, request

from ..errors import InvalidInput, NotFound
from ..models import Package
from ..views import backend_of
from .auth import authorize, refusals
from .common import body, loads, open_zip, read_member

__all__ = ["name_key", "parse_package", "upack"]

upack = Blueprint("feeds_upack", __name__)
TYPE = "universal"

#: upack.json rules [doc: Content/proget/feeds/universal/upack-json]: name 1-50 of
#: ``[A-Za-z0-9._-]``, group up to 50 of the same plus ``/`` (not at the ends), version SemVer 2.
_NAME = re.compile(r"^[A-Za-z0-9._-]{1,50}$")
_GROUP = re.compile(r"^(?:[A-Za-z0-9._-]+(?:/[A-Za-z0-9._-]+)*)?$")
_SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
                     r"(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$")


def _ident(group: str, name: str, version: str) -> tuple[str, ...]:
    return (group.lower(), name.lower(), version)


def name_key(group: str, name: str) -> str:
    return f"{group.lower()}/{name.lower()}"


def _uploaded(feed: str) -> Package:
    if request.mimetype == "multipart/form-data":
        files = list(request.files.values())
        if not files:
            raise InvalidInput(["the form holds no package file"], heading="Invalid package")
        data = files[0].read()
    else:
        data = body()
    return parse_package(feed, data, request.args)


def parse_package(feed: str, data: bytes, query: Mapping[str, str] | None = None) -> Package:
    """A ``.upack`` file as a package (its ``upack.json``, checked); ``query`` may name it
    too (then it must agree, [doc] 400)."""
    query = query or {}
    if not data:
        raise InvalidInput(["the request body is empty: send the .upack file"], heading="Invalid package")
    archive = open_zip(data, "package")
    names = {i.filename for i in archive.infolist()}
    if "upack.json" not in names:
        raise InvalidInput(["the package has no upack.json"], heading="Invalid package")
    try:
        manifest = loads(read_member(archive, "upack.json", "upack.json").decode("utf-8-sig"))
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise InvalidInput(["upack.json is not valid JSON"], heading="Invalid package") from None
    if not isinstance(manifest, dict):
        raise InvalidInput(["upack.json must be a JSON object"], heading="Invalid package")
    group, name, version = manifest.get("group", ""), manifest.get("name"), manifest.get("version")
    problems = []
    if not isinstance(group, str) or len(group) > 50 or not _GROUP.fullmatch(group):
        problems.append("upack.json: group must be up to 50 letters, digits, . _ - and inner /")
        group = ""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        problems.append("upack.json: name must be 1 to 50 letters, digits, . _ -")
    if not isinstance(version, str) or len(version) > 100 or not _SEMVER.fullmatch(version):
        problems.append("upack.json: version must be a SemVer 2 version (e.g. 1.0.0)")
    for field in ("name", "version", "group"):  # the query may name the package too (doc: 400)
        given = query.get(field)
        if given is not None and given != manifest.get(field, ""):
            problems.append(f"the {field} in the query ({given[:100]!r}) differs from upack.json")
    if problems:
        raise InvalidInput(problems, heading="Invalid package")
    assert isinstance(name, str) and isinstance(version, str)
    details = {k: v for k, v in manifest.items() if k in ("title", "description", "summary") and isinstance(v, str)}
    return Package(feed=feed, name=name, version=version, group=group, filename=f"{name}.{version}.upack",
                   content=data, ident=_ident(group, name, version), name_key=name_key(group, name),
                   metadata=details)


@upack.route("/upack/<feed>/upload", methods=["POST", "PUT"])
def upload(feed: str) -> Response:
    """Upload a package: 201 with an empty body (2024-2025 docs, §5.3)."""
    principal = authorize(feed, TYPE, "publish", "forbidden")
    with refusals("forbidden"):
        backend_of().publish_package(principal, TYPE, _uploaded(feed))
    return Response("", status=201, mimetype="text/plain")


def _coordinates(rest: str, latest: bool) -> tuple[str, str, str | None]:
    """``«group…»/«name»/«version»`` (or ``«group…»/«name»`` with ``?latest``)."""
    parts = [p for p in rest.split("/") if p]
    if latest and len(parts) >= 1:
        return "/".join(parts[:-1]), parts[-1], None
    if len(parts) < 2:
        raise InvalidInput(["give …/«group»/«name»/«version», or …/«group»/«name»?latest"],
                           heading="Invalid request")
    return "/".join(parts[:-2]), parts[-2], parts[-1]


def _versions_of(feed: str, group: str, name: str) -> list[Package]:
    principal = authorize(feed, TYPE, "read", "forbidden")
    with refusals("forbidden"):
        return backend_of().find_packages(principal, feed, TYPE, name_key(group, name))


@upack.get("/upack/<feed>/download/<path:rest>")
def download(feed: str, rest: str) -> Response:
    """``GET /upack/«feed»/download/«group»/«name»/«version»`` (or ``?latest``): the
    package file."""
    if request.args.get("contentOnly"):
        raise InvalidInput(["contentOnly is not supported by the mock: download the whole package"],
                           heading="Invalid request")
    group, name, version = _coordinates(rest, "latest" in request.args)
    packages = _versions_of(feed, group, name)
    if version is not None:
        packages = [p for p in packages if p.version == version]
    if not packages:
        raise NotFound(f"There is no package {'/'.join(filter(None, (group, name, version)))} in feed {feed}.")
    package = max(packages, key=lambda p: _semver_key(p.version)) if version is None else packages[0]
    response = Response(package.content, mimetype="application/zip")
    response.headers["Content-Disposition"] = f'attachment; filename="{package.filename}"'
    return response


def _semver_key(version: str) -> tuple[Any, ...]:
    core, _, pre = version.partition("+")[0].partition("-")
    numbers = tuple(int(n) for n in core.split("."))
    return numbers + ((1,) if not pre else (0, pre))


def _info(package: Package) -> dict[str, Any]:
    return {"group": package.group, "name": package.name, "version": package.version,
            **package.metadata, "published": package.published.astimezone(timezone.utc).isoformat(),
            "size": len(package.content), "sha1": package.sha1, "sha256": package.sha256}


@upack.get("/upack/<feed>/versions")
def versions(feed: str) -> Response:
    """``?group=&name=`` (and ``&version=``): version entries, newest first (legacy API)."""
    group, name = request.args.get("group", ""), request.args.get("name")
    if not name:
        raise InvalidInput(["the name query parameter is required"], heading="Invalid request")
    packages = _versions_of(feed, group, name)
    wanted = request.args.get("version")
    found = [p for p in packages if wanted is None or p.version == wanted]
    return jsonify([_info(p) for p in sorted(found, key=lambda p: _semver_key(p.version), reverse=True)])


@upack.get("/upack/<feed>/packages")
def packages(feed: str) -> Response:
    """Every package (``?group=``, ``?name=`` filter): name, latest version, versions."""
    principal = authorize(feed, TYPE, "read", "forbidden")
    with refusals("forbidden"):
        stored = backend_of().find_packages(principal, feed, TYPE)
    group, name = request.args.get("group"), request.args.get("name")
    by_key: dict[str, list[Package]] = {}
    for package in stored:
        if (group is None or package.group.lower() == group.lower()) and (
                name is None or package.name.lower() == name.lower()):
            by_key.setdefault(package.name_key, []).append(package)
    answer = []
    for items in by_key.values():
        ordered = sorted(items, key=lambda p: _semver_key(p.version), reverse=True)
        answer.append({"group": ordered[0].group, "name": ordered[0].name,
                       "latestVersion": ordered[0].version, "versions": [p.version for p in ordered]})
    return jsonify(answer)


@upack.delete("/upack/<feed>/delete/<path:rest>")
def delete(feed: str, rest: str) -> Response:
    """``DELETE /upack/«feed»/delete/«group»/«name»/«version»``: 200, empty."""
    group, name, version = _coordinates(rest, False)
    assert version is not None
    principal = authorize(feed, TYPE, "delete", "forbidden")
    with refusals("forbidden"):
        backend_of().delete_packages(principal, feed, TYPE, _ident(group, name, version))
    return Response("", mimetype="text/plain")
