"""Test support for the feed endpoints: a seeded feed instance and packages built in process.

Every package a test publishes is made here from a few bytes (no network, no build tool):
an npm package directory, a wheel and an sdist, a ``.upack`` and a ``.nupkg``.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from mockproget import MockProGet
from mockproget.config import Config, parse_config

TYPES = ("npm", "pypi", "nuget", "universal")
PREFIX = {"npm": "npm", "pypi": "pypi", "nuget": "nuget", "universal": "upack"}
PAST = "2020-01-01T00:00:00Z"


def feeds_config(**extra: Any) -> Config:
    """For each type T: feeds T-a and T-b (feed group T-grp), T-c (no group), T-private
    (anonymous may not view); feed keys with known texts; users with privileges."""
    feeds: list[dict[str, Any]] = []
    keys: list[dict[str, Any]] = []
    for kind in TYPES:
        feeds += [
            {"name": f"{kind}-a", "type": kind, "groups": [f"{kind}-grp"]},
            {"name": f"{kind}-b", "type": kind, "groups": [f"{kind}-grp"]},
            {"name": f"{kind}-c", "type": kind},
            {"name": f"{kind}-private", "type": kind, "anonymous": False},
        ]
        keys += [
            {"type": "feed", "key": f"{kind}-publish-a", "feed": f"{kind}-a", "packagePermissions": ["view", "add"]},
            {"type": "feed", "key": f"{kind}-view-a", "feed": f"{kind}-a", "packagePermissions": ["view"]},
            {"type": "feed", "key": f"{kind}-all-a", "feed": f"{kind}-a",
             "packagePermissions": ["view", "add", "delete", "promote"]},
            {"type": "feed", "key": f"{kind}-group", "feedGroup": f"{kind}-grp", "packagePermissions": ["view", "add"]},
            {"type": "feed", "key": f"{kind}-expired", "feed": f"{kind}-a", "packagePermissions": ["view", "add"],
             "expiration": PAST},
            {"type": "feed", "key": f"{kind}-publish-private", "feed": f"{kind}-private",
             "packagePermissions": ["view", "add"]},
            {"type": "feed", "key": f"{kind}-view-private", "feed": f"{kind}-private", "packagePermissions": ["view"]},
        ]
    keys += [
        {"type": "system", "key": "system-feeds", "systemApis": ["feeds"]},
        {"type": "system", "key": "system-sca", "systemApis": ["sca"]},
        {"type": "personal", "key": "personal-dev", "user": "dev"},
    ]
    data = {
        "feeds": feeds + [{"name": "plain"}],
        "feed_groups": [{"name": f"{kind}-grp"} for kind in TYPES],
        "users": [
            {"name": "Admin", "password": "Admin", "admin": True},
            {"name": "dev", "password": "dev-password",
             "privileges": {**{f"{kind}-a": ["view", "add"] for kind in TYPES}, "*": ["view"]}},
            {"name": "reader", "password": "reader-password", "privileges": {"*": ["view"]}},
        ],
        "api_keys": keys,
        **extra,
    }
    config = parse_config(data)
    config.port = 0
    return config


@pytest.fixture(scope="module")
def feeds_server() -> Any:
    """One mock with :func:`feeds_config` for the module."""
    with MockProGet(feeds_config()) as server:
        yield server


@pytest.fixture
def feeds(feeds_server: MockProGet) -> MockProGet:
    """The module's feed mock, reset before the test."""
    feeds_server.reset()
    return feeds_server


# -- packages ------------------------------------------------------------------------------


def npm_package_dir(root: Path, name: str = "mockfeed-demo", version: str = "1.0.0") -> Path:
    """A tiny npm package directory (``npm pack`` / ``npm publish`` take it as is)."""
    directory = root / f"{name.replace('/', '_')}-{version}"
    directory.mkdir(parents=True)
    (directory / "package.json").write_text(json.dumps(
        {"name": name, "version": version, "description": "a test package", "main": "index.js",
         "license": "MIT"}), encoding="utf-8")
    (directory / "index.js").write_text(f"module.exports = {json.dumps(version)};\n", encoding="utf-8")
    return directory


def npm_tarball(name: str, version: str) -> bytes:
    """A ``.tgz`` as ``npm pack`` makes it (``package/`` prefix)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as archive:
        for member, text in (("package/package.json", json.dumps({"name": name, "version": version})),
                             ("package/index.js", "module.exports = 1;\n")):
            data = text.encode()
            info = tarfile.TarInfo(member)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


def npm_publish_body(name: str, version: str, registry: str) -> dict[str, Any]:
    """The JSON ``npm publish`` sends [client: libnpmpublish]."""
    tarball = npm_tarball(name, version)
    filename = f"{name.rpartition('/')[2]}-{version}.tgz"
    return {
        "_id": name, "name": name, "description": "x", "dist-tags": {"latest": version},
        "versions": {version: {"name": name, "version": version, "_id": f"{name}@{version}", "dist": {
            "shasum": hashlib.sha1(tarball).hexdigest(),  # noqa: S324
            "integrity": "sha512-" + base64.b64encode(hashlib.sha512(tarball).digest()).decode(),
            "tarball": f"{registry}{name}/-/{filename}"}}},
        "access": None,
        "_attachments": {filename: {"content_type": "application/octet-stream",
                                    "data": base64.b64encode(tarball).decode(), "length": len(tarball)}},
    }


def _put(archive: zipfile.ZipFile, name: str, data: str | bytes) -> None:
    """A member with a fixed date: the same arguments build the same bytes."""
    archive.writestr(zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0)), data)


def _record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def wheel(directory: Path, name: str = "mockfeed_demo", version: str = "1.0.0") -> Path:
    """A pure-Python wheel with a valid RECORD, built with :mod:`zipfile`."""
    directory.mkdir(parents=True, exist_ok=True)
    module = name.replace("-", "_").lower()
    dist_info = f"{module}-{version}.dist-info"
    files = {
        f"{module}/__init__.py": f"VERSION = {version!r}\n".encode(),
        f"{dist_info}/METADATA": (f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
                                  f"Summary: a test package\n").encode(),
        f"{dist_info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: feedkit\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = "".join(f"{path},{_record_hash(data)},{len(data)}\n" for path, data in files.items())
    files[f"{dist_info}/RECORD"] = (record + f"{dist_info}/RECORD,,\n").encode()
    path = directory / f"{module}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for member, data in files.items():
            _put(archive, member, data)
    return path


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


def chunked(data: bytes, size: int = 1000) -> Any:
    """An iterator: ``requests`` sends it with ``Transfer-Encoding: chunked``."""
    return (data[i:i + size] for i in range(0, len(data), size))


# -- real clients ----------------------------------------------------------------------------


def run(args: Sequence[str], env: Mapping[str, str], cwd: Path, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    """A client in a subprocess with only ``env`` (plus PATH): no user config leaks in."""
    full = {"PATH": os.environ.get("PATH", ""), "LANG": "C.UTF-8", **env}
    return subprocess.run(list(args), env=full, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          check=False)


NPM = shutil.which("npm")
needs_npm = pytest.mark.skipif(NPM is None, reason="npm is not installed (Node.js 20 + npm are needed)")
PYTHON = sys.executable


def key_label(server: MockProGet, text: str) -> str:
    """How the journal names the seeded key whose text is ``text`` (``feed key #N``)."""
    from mockproget.models import digest

    key = next(k for k in server.backend.api_keys if k.digest == digest(text))
    owner = f" of user {key.user}" if key.user else ""
    return f"{key.type} key #{key.id}{owner}"
