"""Tiny test packages for the feed clauses, built in memory (no build tool, no network),
and the requests each feed type's client sends to publish, read and delete them
(proget-feeds spec §2-§5)."""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import re
import tarfile
import zipfile
from dataclasses import dataclass
from typing import Any

from mockproget_contracts.constants import FEED_TYPES  # re-exported: the feed types packages are made for

__all__ = ["FEED_TYPES", "TestPackage", "npm_publish_body", "npm_tarball", "nupkg", "nuget_multipart",
           "upack", "wheel_bytes"]

_DATE = (2024, 1, 1, 0, 0, 0)


def _put(archive: zipfile.ZipFile, name: str, data: str | bytes) -> None:
    archive.writestr(zipfile.ZipInfo(name, date_time=_DATE), data)


def npm_tarball(name: str, version: str) -> bytes:
    """A ``.tgz`` as ``npm pack`` makes it (members under ``package/``); the same bytes
    every time (the gzip header's time is fixed, not the current second)."""
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as packed, \
            tarfile.open(fileobj=packed, mode="w") as archive:
        for member, text in (("package/package.json", json.dumps({"name": name, "version": version})),
                             ("package/index.js", "module.exports = 1;\n")):
            data = text.encode()
            info = tarfile.TarInfo(member)
            info.size, info.mtime = len(data), 1704067200
            archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


def npm_publish_body(name: str, version: str, registry: str, tarball: bytes | None = None) -> dict[str, Any]:
    """The JSON ``npm publish`` sends [client: libnpmpublish ``buildMetadata``]."""
    tarball = tarball if tarball is not None else npm_tarball(name, version)
    filename = f"{name.rpartition('/')[2]}-{version}.tgz"
    return {
        "_id": name, "name": name, "description": "a test package", "dist-tags": {"latest": version},
        "versions": {version: {"name": name, "version": version, "_id": f"{name}@{version}", "dist": {
            "shasum": hashlib.sha1(tarball).hexdigest(),  # noqa: S324 - npm's shasum
            "integrity": "sha512-" + base64.b64encode(hashlib.sha512(tarball).digest()).decode(),
            "tarball": f"{registry}{name}/-/{filename}"}}},
        "access": None,
        "_attachments": {filename: {"content_type": "application/octet-stream",
                                    "data": base64.b64encode(tarball).decode(), "length": len(tarball)}},
    }


def _record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def wheel_bytes(name: str, version: str) -> tuple[str, bytes]:
    """A pure-Python wheel (file name, bytes) with a valid RECORD."""
    module = name.replace("-", "_").lower()
    dist_info = f"{module}-{version}.dist-info"
    files = {
        f"{module}/__init__.py": f"VERSION = {version!r}\n".encode(),
        f"{dist_info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
                                 f"Summary: a test package\n".encode(),
        f"{dist_info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: mockproget\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = "".join(f"{path},{_record_hash(data)},{len(data)}\n" for path, data in files.items())
    files[f"{dist_info}/RECORD"] = (record + f"{dist_info}/RECORD,,\n").encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for member, data in files.items():
            _put(archive, member, data)
    return f"{module}-{version}-py3-none-any.whl", out.getvalue()


def upack(name: str = "demo", version: str = "1.0.0", group: str = "tools", **manifest: Any) -> bytes:
    """A ``.upack``: a zip with ``upack.json`` and ``package/`` content."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        _put(archive, "upack.json", json.dumps({"group": group, "name": name, "version": version, **manifest}))
        _put(archive, "package/readme.txt", f"{name} {version}\n")
    return out.getvalue()


def nupkg(package_id: str = "Demo.Package", version: str = "1.0.0") -> bytes:
    """A ``.nupkg``: a zip with a ``.nuspec`` at its root."""
    nuspec = (f'<?xml version="1.0" encoding="utf-8"?>\n'
              f'<package xmlns="http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd">'
              f"<metadata><id>{package_id}</id><version>{version}</version><authors>t</authors>"
              f"<description>a test package</description></metadata></package>")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        _put(archive, f"{package_id}.nuspec", nuspec)
        _put(archive, "lib/net8.0/_._", "")
    return out.getvalue()


def nuget_multipart(data: bytes, boundary: str = "c3c35c2a-9a8f-4b53-9dc3-08a6a5e5b1f0") -> tuple[bytes, str]:
    """The body NuGet's ``PackageUpdateResource`` sends: one part ``package``,
    ``package.nupkg``, ``application/octet-stream`` [client]."""
    body = (f"--{boundary}\r\nContent-Type: application/octet-stream\r\n"
            f'Content-Disposition: form-data; name="package"; filename="package.nupkg"\r\n\r\n').encode()
    body += data + f"\r\n--{boundary}--\r\n".encode()
    return body, f'multipart/form-data; boundary="{boundary}"'


@dataclass(frozen=True)
class TestPackage:
    """One package of one feed type, and the paths its client uses (relative to the base URL)."""

    __test__ = False  # not a test class, whatever pytest thinks of the name

    feed_type: str
    feed: str
    name: str
    version: str

    @property
    def escaped_name(self) -> str:
        """The name as npm writes it into a path: ``@scope%2fname`` for a scoped package
        [std: npm registry package-metadata.md]."""
        return self.name.replace("/", "%2f") if self.name.startswith("@") else self.name

    @property
    def project(self) -> str:
        """The name as looked up: PyPI's normalized project name (PEP 503 [std]: lower case,
        each run of ``-``, ``_``, ``.`` as one ``-``), which pip asks for whatever the
        package calls itself; the name itself for the other types."""
        return re.sub(r"[-_.]+", "-", self.name).lower() if self.feed_type == "pypi" else self.name

    @property
    def read_path(self) -> str:
        """A listing/metadata read any credential with `view` may make (§2-§5)."""
        return {"npm": f"npm/{self.feed}/{self.escaped_name}", "pypi": f"pypi/{self.feed}/simple/",
                "nuget": f"nuget/{self.feed}/v3/index.json",
                "universal": f"upack/{self.feed}/packages"}[self.feed_type]

    @property
    def download_path(self) -> str:
        lower = self.name.lower()
        return {"npm": f"npm/{self.feed}/{self.name}/-/{self.name.rpartition('/')[2]}-{self.version}.tgz",
                "pypi": "",  # found through the simple page (PEP 503)
                "nuget": f"nuget/{self.feed}/v3/flatcontainer/{lower}/{self.version}/{lower}.{self.version}.nupkg",
                "universal": f"upack/{self.feed}/download/mockproget/{self.name}/{self.version}"}[self.feed_type]

    @property
    def delete_path(self) -> str | None:
        """Where the protocol deletes it (NuGet [std], Universal [doc]); npm and PyPI: none here."""
        return {"nuget": f"nuget/{self.feed}/{self.name}/{self.version}",
                "universal": f"upack/{self.feed}/delete/mockproget/{self.name}/{self.version}"}.get(self.feed_type)

    def content(self) -> bytes:
        if self.feed_type == "npm":
            return npm_tarball(self.name, self.version)
        if self.feed_type == "pypi":
            return wheel_bytes(self.name, self.version)[1]
        if self.feed_type == "nuget":
            return nupkg(self.name, self.version)
        return upack(self.name, self.version, "mockproget")

    def publish_request(self, base_url: str) -> dict[str, Any]:
        """Method, path and body of the client's publish request (no credential)."""
        if self.feed_type == "npm":
            registry = f"{base_url}npm/{self.feed}/"
            body = json.dumps(npm_publish_body(self.name, self.version, registry, self.content())).encode()
            return {"method": "PUT", "path": f"npm/{self.feed}/{self.escaped_name}", "data": body,
                    "content_type": "application/json"}
        if self.feed_type == "pypi":
            filename, data = wheel_bytes(self.name, self.version)
            return {"method": "POST", "path": f"pypi/{self.feed}/legacy", "files": {
                "content": (filename, data, "application/octet-stream")},
                "data": {":action": "file_upload", "protocol_version": "1", "name": self.name,
                         "version": self.version, "filetype": "bdist_wheel", "pyversion": "py3",
                         "metadata_version": "2.1", "sha256_digest": hashlib.sha256(data).hexdigest()}}
        if self.feed_type == "nuget":
            body, content_type = nuget_multipart(self.content())
            return {"method": "PUT", "path": f"nuget/{self.feed}/", "data": body, "content_type": content_type,
                    "chunked": True}
        return {"method": "PUT", "path": f"upack/{self.feed}/upload", "data": self.content(),
                "content_type": "application/zip"}
