"""NuGet feeds, ``/nuget/«feed»/`` (proget-feeds spec §2): just enough for nuget/dotnet.

The v3 service index, push (``PUT /nuget/«feed»/``, multipart, ``X-NuGet-ApiKey``), the
flat container (``PackageBaseAddress``: version list, ``.nupkg``, ``.nuspec``) and delete.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

from flask import Blueprint, Response, jsonify, request

from ..errors import InvalidInput, NotFound
from ..models import Package
from ..views import backend_of
from .auth import authorize
from .common import feed_url, multipart_body, open_zip, read_member

__all__ = ["is_version", "normalize_version", "nuget", "parse_package"]

nuget = Blueprint("feeds_nuget", __name__)
TYPE = "nuget"

#: Package ids [std: NuGet "Package ID" rules]: at most 100 of letters, digits, ``._-``.
_ID = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,99}$")
_VERSION = re.compile(r"^\d+(\.\d+){1,3}(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$")


def is_version(version: str) -> bool:
    """Whether ``version`` is a NuGet version (then :func:`normalize_version` applies)."""
    return bool(_VERSION.fullmatch(version))


def normalize_version(version: str) -> str:
    """NuGet's normalized form [std: NuGet "Normalized version numbers"]: no build
    metadata, no leading zeros, a fourth part only when it is not 0; lower case."""
    core, _, pre = version.partition("+")[0].partition("-")
    numbers = [str(int(n)) for n in core.split(".")]
    while len(numbers) < 3:
        numbers.append("0")
    if len(numbers) == 4 and numbers[3] == "0":
        numbers.pop()
    return (".".join(numbers) + (f"-{pre}" if pre else "")).lower()


@nuget.get("/nuget/<feed>/v3/index.json")
def service_index(feed: str) -> Response:
    """The v3 service index [std]: PackagePublish at ``/nuget/«feed»/`` (§2.1 [model])
    and PackageBaseAddress at the flat container."""
    authorize(feed, TYPE, "read")
    base = feed_url("nuget", feed) + "/"
    return jsonify({"version": "3.0.0", "resources": [
        {"@id": base, "@type": "PackagePublish/2.0.0"},
        {"@id": base + "v3/flatcontainer/", "@type": "PackageBaseAddress/3.0.0"},
    ]})


def _nuspec(archive: Any) -> tuple[str, bytes]:
    names = [i.filename for i in archive.infolist() if "/" not in i.filename and i.filename.lower().endswith(".nuspec")]
    if len(names) != 1:
        raise InvalidInput(["the package must hold exactly one .nuspec at its root"], heading="Invalid package")
    return names[0], read_member(archive, names[0], ".nuspec")


def _pushed(feed: str) -> Package:
    """The package of a push: the first file of the multipart body [std: package-publish]."""
    multipart_body("push", "Invalid package")
    files = list(request.files.values())
    if not files:
        raise InvalidInput(["the form holds no package file"], heading="Invalid package")
    return parse_package(feed, files[0].read())


def parse_package(feed: str, data: bytes) -> Package:
    """A ``.nupkg`` as a package: id and version from its ``.nuspec`` (a 400 if invalid)."""
    archive = open_zip(data, "package")
    _, text = _nuspec(archive)
    try:
        # expat refuses external entities and bounds entity expansion; the text is bounded
        root = ET.fromstring(text)
    except ET.ParseError as error:
        raise InvalidInput([f"the .nuspec is not valid XML ({error})"], heading="Invalid package") from None
    fields = {el.tag.rpartition("}")[2]: (el.text or "").strip() for el in root.iter()}
    package_id, version = fields.get("id", ""), fields.get("version", "")
    problems = []
    if not _ID.fullmatch(package_id):
        problems.append(f"the .nuspec id {package_id[:100]!r} is not a valid package id")
    if not _VERSION.fullmatch(version):
        problems.append(f"the .nuspec version {version[:100]!r} is not a valid version")
    if problems:
        raise InvalidInput(problems, heading="Invalid package")
    lower, normalized = package_id.lower(), normalize_version(version)
    return Package(feed=feed, name=package_id, version=normalized, filename=f"{lower}.{normalized}.nupkg",
                   content=data, ident=(lower, normalized), name_key=lower,
                   metadata={"nuspec": text.decode("utf-8", "replace"), "original_version": version})


@nuget.put("/nuget/<feed>/")
@nuget.put("/nuget/<feed>/api/v2/package")
@nuget.put("/nuget/<feed>/api/v2/package/")
def push(feed: str) -> Response:
    """``dotnet nuget push``: 201; 409 for an existing version without the overwrite
    privilege [doc: 5.3 upgrade notes]."""
    principal = authorize(feed, TYPE, "publish")
    backend_of().publish_package(principal, TYPE, _pushed(feed))
    return Response("", status=201, mimetype="text/plain")


@nuget.get("/nuget/<feed>/v3/flatcontainer/<package_id>/index.json")
def versions(feed: str, package_id: str) -> Response:
    principal = authorize(feed, TYPE, "read")
    packages = backend_of().find_packages(principal, feed, TYPE, package_id.lower())
    if not packages:
        raise NotFound(f"There is no package {package_id} in feed {feed}.")
    return jsonify({"versions": [p.version for p in packages]})


@nuget.get("/nuget/<feed>/v3/flatcontainer/<package_id>/<version>/<filename>")
def download(feed: str, package_id: str, version: str, filename: str) -> Response:
    """``«id».«version».nupkg`` or ``«id».nuspec`` (lower case) [std: PackageBaseAddress]."""
    principal = authorize(feed, TYPE, "read")
    lower, wanted = package_id.lower(), version.lower()
    packages = [p for p in backend_of().find_packages(principal, feed, TYPE, lower) if p.version == wanted]
    if not packages:
        raise NotFound(f"There is no package {package_id} {version} in feed {feed}.")
    package = packages[0]
    if filename.lower() == package.filename:
        return Response(package.content, mimetype="application/octet-stream")
    if filename.lower() == f"{lower}.nuspec":
        return Response(package.metadata["nuspec"], mimetype="application/xml")
    raise NotFound(f"There is no file {filename} for {package_id} {version} in feed {feed}.")


@nuget.delete("/nuget/<feed>/<package_id>/<version>")
def delete(feed: str, package_id: str, version: str) -> Response:
    """``dotnet nuget delete``: 204; 404 for an unknown version [std]."""
    principal = authorize(feed, TYPE, "delete")
    normalized = normalize_version(version) if is_version(version) else version.lower()
    backend_of().delete_packages(principal, feed, TYPE, (package_id.lower(), normalized))
    return Response("", status=204)
