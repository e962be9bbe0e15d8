"""Test support for the feed endpoints: a seeded feed instance and packages built in process.

Every package a test publishes is made here from a few bytes (no network, no build tool):
an npm package directory, a wheel and an sdist, a ``.upack`` and a ``.nupkg``.
"""

from __future__ import annotations

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
import requests

from mockproget import MockProGet
from mockproget.config import Config, parse_config
from mockproget_contracts.packages import (  # noqa: F401 - re-exported for the feed tests
    npm_publish_body,
    npm_tarball,
    nuget_multipart,
    nupkg,
    upack,
    wheel_bytes,
)

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


# -- keys made over the API ------------------------------------------------------------------


def new_key(server: MockProGet, body: Mapping[str, Any]) -> dict[str, Any]:
    """A key created with the admin key over ``api/api-keys/create``: its ``ApiKeyInfo``."""
    created = requests.post(server.url + "api/api-keys/create", headers={"X-ApiKey": server.admin_key},
                            json={"logging": "none", **body}, timeout=10)
    assert created.status_code == 200, created.text
    info: dict[str, Any] = created.json()
    return info


def new_feed_key(server: MockProGet, feed: str, permissions: Sequence[str] = ("view", "add"),
                 **extra: Any) -> dict[str, Any]:
    """A feed key for ``feed`` (by default it may view and add), made over the API."""
    return new_key(server, {"type": "feed", "feed": feed, "packagePermissions": list(permissions), **extra})


def delete_key(server: MockProGet, key_id: int) -> None:
    """Delete a key by id over ``api/api-keys/delete`` (with the admin key)."""
    deleted = requests.post(server.url + "api/api-keys/delete", params={"id": key_id},
                            headers={"X-ApiKey": server.admin_key}, timeout=10)
    assert deleted.status_code == 200, deleted.text


# -- packages ------------------------------------------------------------------------------


def zip_of(members: Mapping[str, str | bytes]) -> bytes:
    """A zip holding ``members`` (name → content): a package with chosen parts."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def sdist(name: str = "mockfeed-demo", version: str = "1.0.0") -> bytes:
    """A ``.tar.gz`` sdist with just its ``PKG-INFO``."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as archive:
        data = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()
        info = tarfile.TarInfo(f"{name}-{version}/PKG-INFO")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


def npm_package_dir(root: Path, name: str = "mockfeed-demo", version: str = "1.0.0") -> Path:
    """A tiny npm package directory (``npm pack`` / ``npm publish`` take it as is)."""
    directory = root / f"{name.replace('/', '_')}-{version}"
    directory.mkdir(parents=True)
    (directory / "package.json").write_text(json.dumps(
        {"name": name, "version": version, "description": "a test package", "main": "index.js",
         "license": "MIT"}), encoding="utf-8")
    (directory / "index.js").write_text(f"module.exports = {json.dumps(version)};\n", encoding="utf-8")
    return directory


def wheel(directory: Path, name: str = "mockfeed_demo", version: str = "1.0.0") -> Path:
    """A pure-Python wheel with a valid RECORD, written into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    filename, data = wheel_bytes(name, version)
    path = directory / filename
    path.write_bytes(data)
    return path


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


def run_in_pty(args: Sequence[str], env: Mapping[str, str], cwd: Path, answers: Sequence[tuple[str, str]],
               timeout: float = 60) -> tuple[int, str]:
    """A client that prompts on a terminal (``npm login``): run it in a pseudo-terminal and
    answer each prompt (text it ends with, answer) in turn. Bounded by ``timeout``."""
    import pty
    import select
    import time

    full = {"PATH": os.environ.get("PATH", ""), "LANG": "C.UTF-8", "TERM": "dumb", **env}
    pid, fd = pty.fork()
    if pid == 0:  # the child: become the client
        try:
            os.chdir(cwd)
            os.execvpe(args[0], list(args), full)
        finally:
            os._exit(127)
    out, pending, deadline = b"", list(answers), time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.2)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            out += chunk
            if pending and out.rstrip().endswith(pending[0][0].encode()):
                os.write(fd, (pending.pop(0)[1] + "\r").encode())
        else:
            os.kill(pid, 9)
    finally:
        os.close(fd)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), out.decode("utf-8", "replace")
