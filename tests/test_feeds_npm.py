"""npm feeds driven by the real npm CLI (proget-feeds spec §3, statuses §1.4 / §7).

Each client runs in a subprocess with its own HOME, userconfig and cache (so a tarball is
really downloaded, not taken from a cache) and only loopback registries.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from feedkit import (  # noqa: F401 - feeds_server is the fixture feeds needs
    delete_key,
    feeds,
    feeds_server,
    key_label,
    needs_npm,
    new_feed_key,
    npm_package_dir,
    npm_publish_body,
    run,
    run_in_pty,
)
from mockproget import MockProGet

pytestmark = needs_npm


class Npm:
    """The npm CLI configured for one registry (one feed), with a token or nothing."""

    def __init__(self, root: Path, server: MockProGet, feed: str, token: str | None = None,
                 basic: str | None = None) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self.registry = f"{server.url}npm/{feed}/"
        scope = "//" + self.registry.split("://", 1)[1]
        lines = [f"registry={self.registry}"]
        if token is not None:
            lines.append(f"{scope}:_authToken={token}")
        if basic is not None:  # _auth = base64(user:password) [doc: feeds/npm]
            import base64
            lines.append(f"{scope}:_auth={base64.b64encode(basic.encode()).decode()}")
        (root / ".npmrc").write_text("\n".join(lines) + "\n", encoding="utf-8")
        self.env = {"HOME": str(root), "npm_config_userconfig": str(root / ".npmrc"),
                    "npm_config_cache": str(root / "cache"), "npm_config_fetch_retries": "0",
                    "npm_config_prefer_offline": "true", "npm_config_audit": "false",
                    "npm_config_fund": "false", "npm_config_update_notifier": "false"}

    def __call__(self, *args: str, cwd: Path | None = None) -> tuple[int, str]:
        done = run(["npm", *args, "--registry", self.registry], self.env, cwd or self.root)
        return done.returncode, done.stdout + done.stderr

    def publish(self, name: str = "mockfeed-demo", version: str = "1.0.0") -> tuple[int, str]:
        return self("publish", cwd=npm_package_dir(self.root / "src", name, version))

    def install(self, spec: str = "mockfeed-demo") -> tuple[int, str, Path]:
        project = self.root / "project"
        project.mkdir(exist_ok=True)
        (project / "package.json").write_text('{"name": "project", "version": "1.0.0"}', encoding="utf-8")
        code, out = self("install", spec, "--no-package-lock", cwd=project)
        return code, out, project


def seed(server: MockProGet, feed: str, name: str = "mockfeed-demo", version: str = "1.0.0") -> None:
    """Publish over HTTP with the system key (what npm sends, without running npm)."""
    registry = f"{server.url}npm/{feed}/"
    response = requests.put(registry + name, json=npm_publish_body(name, version, registry),
                            headers={"Authorization": "Bearer system-feeds"}, timeout=10)
    assert response.status_code == 201, response.text


def installed(project: Path, name: str = "mockfeed-demo") -> str:
    return json.loads((project / "node_modules" / name / "package.json").read_text())["version"]


def test_publish_install_whoami_with_a_publishing_key(feeds: MockProGet, tmp_path: Path) -> None:
    """§3.3, §1.2: a feed key with view+add publishes with `npm publish`; `npm install`
    (another cache: the tarball is downloaded) and `npm whoami` (token: "api") work."""
    code, out = Npm(tmp_path / "pub", feeds, "npm-a", token="npm-publish-a").publish()
    assert code == 0, out
    assert "+ mockfeed-demo@1.0.0" in out
    reader = Npm(tmp_path / "read", feeds, "npm-a", token="npm-view-a")
    code, out, project = reader.install()
    assert code == 0, out
    assert installed(project) == "1.0.0"
    tarballs = feeds.journal.entries(path="/npm/npm-a/mockfeed-demo/-/*")
    assert [e["status"] for e in tarballs] == [200]
    assert tarballs[0]["principal"] == key_label(feeds, "npm-view-a")  # the view key, sent with the tarball too
    code, out = reader("whoami")
    assert code == 0 and out.strip().splitlines()[0] == "api", out


def test_view_only_key_installs_but_cannot_publish(feeds: MockProGet, tmp_path: Path) -> None:
    """§1.2: `view` downloads; publishing needs `add` → 403 (§1.4 [model])."""
    seed(feeds, "npm-a")
    npm = Npm(tmp_path, feeds, "npm-a", token="npm-view-a")
    code, out, project = npm.install()
    assert code == 0 and installed(project) == "1.0.0", out
    code, out = npm.publish(version="2.0.0")
    assert code != 0 and "E403" in out, out
    assert feeds.journal.entries(path="/npm/npm-a/mockfeed-demo")[-1]["status"] == 403


def test_key_for_feed_a_is_refused_on_feed_b(feeds: MockProGet, tmp_path: Path) -> None:
    """§1.2: a feed key used outside its feed → 403, for install and publish alike."""
    seed(feeds, "npm-b")
    npm = Npm(tmp_path, feeds, "npm-b", token="npm-publish-a")
    code, out, _ = npm.install()
    assert code != 0 and "E403" in out, out
    code, out = npm.publish(version="3.0.0")
    assert code != 0 and "E403" in out, out


def test_feed_group_key_publishes_to_every_feed_of_its_group(feeds: MockProGet, tmp_path: Path) -> None:
    """§1.2 [model]: a key bound to a feed group works on each feed in it, not elsewhere."""
    for feed in ("npm-a", "npm-b"):
        code, out = Npm(tmp_path / feed, feeds, feed, token="npm-group").publish()
        assert code == 0, out
    code, out = Npm(tmp_path / "c", feeds, "npm-c", token="npm-group").publish()
    assert code != 0 and "E403" in out, out


@pytest.mark.parametrize("which", ["expired", "deleted", "wrong"])
def test_refused_tokens_get_401(feeds: MockProGet, tmp_path: Path, which: str) -> None:
    """§1.4 / §7 [model]: a Bearer token that does not authenticate (expired, deleted,
    unknown) → 401 with the Basic challenge, for install and publish."""
    seed(feeds, "npm-private")
    token = {"expired": "npm-expired", "wrong": "not-a-key"}.get(which, "")
    if which == "deleted":
        created = new_feed_key(feeds, "npm-private")
        token = created["key"]
        assert requests.get(f"{feeds.url}npm/npm-private/mockfeed-demo", timeout=10,
                            headers={"Authorization": f"Bearer {token}"}).status_code == 200
        delete_key(feeds, created["id"])
    npm = Npm(tmp_path, feeds, "npm-private", token=token)
    code, out, _ = npm.install()
    assert code != 0 and "E401" in out, out
    code, out = npm.publish(version="4.0.0")
    assert code != 0 and "E401" in out, out
    refused = feeds.journal.entries(path="/npm/npm-private/*", status=401)
    assert refused
    assert not any(token in json.dumps(e) for e in refused)  # the token never reaches the journal


def test_anonymous_install_follows_the_feeds_setting(feeds: MockProGet, tmp_path: Path) -> None:
    """§1.3: without credentials, a default feed installs; a feed whose anonymous access
    is off answers 401 + challenge."""
    seed(feeds, "npm-a")
    seed(feeds, "npm-private")
    code, out, project = Npm(tmp_path / "a", feeds, "npm-a").install()
    assert code == 0 and installed(project) == "1.0.0", out
    code, out, _ = Npm(tmp_path / "p", feeds, "npm-private").install()
    assert code != 0 and "E401" in out, out
    challenge = feeds.journal.entries(path="/npm/npm-private/mockfeed-demo", status=401)
    assert challenge


def test_anonymous_publish_is_refused_by_npm_itself(feeds: MockProGet, tmp_path: Path) -> None:
    """§3.3 [client]: with no credentials npm stops with ENEEDAUTH before any request."""
    code, out = Npm(tmp_path, feeds, "npm-a").publish()
    assert code != 0 and "ENEEDAUTH" in out, out
    assert feeds.journal.entries(path="/npm/npm-a/mockfeed-demo", status=201) == []


def test_whoami_of_a_personal_key_and_basic_auth_install(feeds: MockProGet, tmp_path: Path) -> None:
    """§3.3 [model]: whoami names the user of a personal key; `_auth` (Basic user:password)
    installs from a feed that needs authentication."""
    code, out = Npm(tmp_path / "t", feeds, "npm-a", token="personal-dev")("whoami")
    assert code == 0 and out.strip().splitlines()[0] == "dev", out
    seed(feeds, "npm-private")
    code, out, project = Npm(tmp_path / "b", feeds, "npm-private", basic="reader:reader-password").install()
    assert code == 0 and installed(project) == "1.0.0", out


def test_scoped_package_publish_and_install(feeds: MockProGet, tmp_path: Path) -> None:
    """§3.1: a scoped name (`@scope/name`, sent as `@scope%2fname`) publishes and
    installs; its tarball is under the registry prefix, so the token goes with it."""
    code, out = Npm(tmp_path / "pub", feeds, "npm-private", token="npm-publish-private").publish("@acme/tool", "0.1.0")
    assert code == 0, out
    code, out, project = Npm(tmp_path / "read", feeds, "npm-private", token="npm-view-private").install("@acme/tool")
    assert code == 0, out
    assert installed(project, "@acme/tool") == "0.1.0"
    assert [e["status"] for e in feeds.journal.entries(path="/npm/npm-private/@acme/tool/-/*")] == [200]


@pytest.mark.parametrize("user,password,expected", [("api", "npm-publish-a", "api"), ("dev", "dev-password", "dev")])
def test_npm_login_stores_a_token_that_publishes(feeds: MockProGet, tmp_path: Path, user: str, password: str,
                                                 expected: str) -> None:
    """§3.2 [doc: `npm login`, answering `api` and the key; model: the token]: the real
    `npm login --auth-type=legacy` (on a terminal) stores a token for the registry;
    `npm whoami` then names the user and `npm publish` works with it."""
    npm = Npm(tmp_path, feeds, "npm-a")
    code, out = run_in_pty(["npm", "login", "--auth-type=legacy", "--registry", npm.registry], npm.env, tmp_path,
                           [("Username:", user), ("Password:", password)])
    assert code == 0 and "Logged in" in out, out
    assert ":_authToken=" in (tmp_path / ".npmrc").read_text()
    code, out = npm("whoami")
    assert code == 0 and out.strip().splitlines()[0] == expected, out
    code, out = npm.publish(f"login-{user}", "1.0.0")
    assert code == 0, out
