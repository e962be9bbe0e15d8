"""PyPI feeds driven by the real pip and twine (proget-feeds spec §4, statuses §1.4 / §7).

pip runs with ``--isolated`` (no user or site configuration, no environment variables)
and ``--no-cache-dir --no-deps``; twine with an empty HOME and the null keyring.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from feedkit import PYTHON, delete_key, feeds, feeds_server, key_label, new_feed_key, run, wheel  # noqa: F401
from mockproget import MockProGet

NAME, VERSION = "mockfeed-demo", "1.0.0"


def index_url(server: MockProGet, feed: str, user: str | None = None, password: str | None = None) -> str:
    base = server.url + f"pypi/{feed}/simple"
    if user is None:
        return base
    return base.replace("://", f"://{user}:{password}@", 1)


def env(tmp: Path) -> dict[str, str]:
    return {"HOME": str(tmp), "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
            "PIP_NO_INPUT": "1"}


def pip(tmp: Path, command: str, url: str, *args: str) -> tuple[int, str]:
    out = tmp / f"out-{command}"
    where = ["--target", str(out)] if command == "install" else ["--dest", str(out)]
    done = run([PYTHON, "-m", "pip", command, "--isolated", "--no-cache-dir", "--no-deps",
                "--no-input", "--disable-pip-version-check", "-vv", "--index-url", url, *where, *args, NAME],
               env(tmp), tmp)
    return done.returncode, done.stdout + done.stderr


def twine(tmp: Path, server: MockProGet, feed: str, user: str, password: str, *files: Path) -> tuple[int, str]:
    done = run([PYTHON, "-m", "twine", "upload", "--non-interactive", "--disable-progress-bar",
                "--repository-url", f"{server.url}pypi/{feed}/legacy", "-u", user, "-p", password,
                *map(str, files)], env(tmp), tmp)
    return done.returncode, done.stdout + done.stderr


def refused(code: int, out: str, status: int) -> None:
    """The client failed, and said it was because of ``status`` (pip -vv: "401 Client
    Error"; twine: "HTTPError: 401 Unauthorized")."""
    assert code != 0, out
    assert f"{status} Client Error" in out or f"HTTPError: {status} " in out, out


def seed(server: MockProGet, tmp: Path, feed: str, version: str = VERSION) -> Path:
    """Upload a wheel with the system key, as twine would (multipart legacy upload)."""
    path = wheel(tmp / "seed", NAME, version)
    response = requests.post(f"{server.url}pypi/{feed}/legacy", auth=("api", "system-feeds"), timeout=10,
                             data={":action": "file_upload", "protocol_version": "1", "name": NAME,
                                   "version": version, "filetype": "bdist_wheel", "pyversion": "py3",
                                   "metadata_version": "2.1"},
                             files={"content": (path.name, path.read_bytes(), "application/octet-stream")})
    assert response.status_code == 200, response.text
    return path


def test_twine_uploads_and_pip_installs_with_a_publishing_key(feeds: MockProGet, tmp_path: Path) -> None:
    """§4.3, §1.2: `twine upload -u api -p KEY` with view+add; `pip install` and
    `pip download` with the key in the index URL get the same bytes back."""
    built = wheel(tmp_path / "dist", NAME, VERSION)
    code, out = twine(tmp_path, feeds, "pypi-a", "api", "pypi-publish-a", built)
    assert code == 0, out
    url = index_url(feeds, "pypi-a", "api", "pypi-view-a")
    code, out = pip(tmp_path, "install", url)
    assert code == 0, out
    assert (tmp_path / "out-install" / "mockfeed_demo" / "__init__.py").read_text() == "VERSION = '1.0.0'\n"
    code, out = pip(tmp_path, "download", url)
    assert code == 0, out
    assert (tmp_path / "out-download" / built.name).read_bytes() == built.read_bytes()
    downloads = feeds.journal.entries(path=f"/pypi/pypi-a/files/{built.name}")
    assert downloads and {e["principal"] for e in downloads} == {key_label(feeds, "pypi-view-a")}


def test_view_only_key_downloads_but_cannot_upload(feeds: MockProGet, tmp_path: Path) -> None:
    """§1.2: `view` installs; uploading needs `add` → 403 (§1.4 [model])."""
    seed(feeds, tmp_path, "pypi-a")
    code, out = pip(tmp_path, "download", index_url(feeds, "pypi-a", "api", "pypi-view-a"))
    assert code == 0, out
    code, out = twine(tmp_path, feeds, "pypi-a", "api", "pypi-view-a", wheel(tmp_path / "d2", NAME, "2.0.0"))
    refused(code, out, 403)


def test_key_for_feed_a_is_refused_on_feed_b(feeds: MockProGet, tmp_path: Path) -> None:
    """§1.2 [model]: out of scope → 403 for pip (not retried) and for twine."""
    seed(feeds, tmp_path, "pypi-b")
    code, out = pip(tmp_path, "download", index_url(feeds, "pypi-b", "api", "pypi-publish-a"))
    refused(code, out, 403)
    code, out = twine(tmp_path, feeds, "pypi-b", "api", "pypi-publish-a", wheel(tmp_path / "d2", NAME, "2.0.0"))
    refused(code, out, 403)


def test_feed_group_key_works_on_every_feed_of_its_group(feeds: MockProGet, tmp_path: Path) -> None:
    """§1.2 [model]: twine uploads to both feeds of the group, pip installs from both;
    a feed outside the group refuses the key."""
    built = wheel(tmp_path / "dist", NAME, VERSION)
    for feed in ("pypi-a", "pypi-b"):
        code, out = twine(tmp_path, feeds, feed, "api", "pypi-group", built)
        assert code == 0, out
        (tmp_path / feed).mkdir()
        code, out = pip(tmp_path / feed, "install", index_url(feeds, feed, "api", "pypi-group"))
        assert code == 0, out
    code, out = twine(tmp_path, feeds, "pypi-c", "api", "pypi-group", built)
    refused(code, out, 403)


@pytest.mark.parametrize("which", ["expired", "deleted", "wrong"])
def test_refused_keys_get_401(feeds: MockProGet, tmp_path: Path, which: str) -> None:
    """§1.4 / §7 [model]: a key that does not authenticate → 401 (pip: "Credentials not
    correct"), for pip download and twine upload; the key stays out of the journal."""
    seed(feeds, tmp_path, "pypi-private")
    key = {"expired": "pypi-expired", "wrong": "not-a-key"}.get(which, "")
    if which == "deleted":
        created = new_feed_key(feeds, "pypi-private")
        key = created["key"]
        code, out = pip(tmp_path, "download", index_url(feeds, "pypi-private", "api", key))
        assert code == 0, out
        delete_key(feeds, created["id"])
        (tmp_path / "again").mkdir()
        tmp_path = tmp_path / "again"
    code, out = pip(tmp_path, "download", index_url(feeds, "pypi-private", "api", key))
    refused(code, out, 401)
    code, out = twine(tmp_path, feeds, "pypi-private", "api", key, wheel(tmp_path / "d2", NAME, "2.0.0"))
    refused(code, out, 401)
    entries = feeds.journal.entries(path="/pypi/pypi-private/*", status=401)
    assert entries and all(key not in str(e) for e in entries)


def test_anonymous_download_follows_the_feeds_setting(feeds: MockProGet, tmp_path: Path) -> None:
    """§1.3: no credentials: a default feed serves pip; a feed without anonymous access
    answers 401 with `WWW-Authenticate: Basic realm="ProGet Feed «feed»"`."""
    seed(feeds, tmp_path, "pypi-a")
    seed(feeds, tmp_path, "pypi-private")
    code, out = pip(tmp_path, "download", index_url(feeds, "pypi-a"))
    assert code == 0, out
    code, out = pip(tmp_path, "download", index_url(feeds, "pypi-private"))
    refused(code, out, 401)
    response = requests.get(index_url(feeds, "pypi-private") + f"/{NAME}/", timeout=10)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Basic realm="ProGet Feed pypi-private"'


def test_user_login_and_duplicate_upload(feeds: MockProGet, tmp_path: Path) -> None:
    """§1.1.3, §1.2: twine with a user's own name and password and that user's `add`
    privilege uploads; the same file again is a 409 (§4.3 [model])."""
    built = wheel(tmp_path / "dist", NAME, VERSION)
    code, out = twine(tmp_path, feeds, "pypi-a", "dev", "dev-password", built)
    assert code == 0, out
    code, out = twine(tmp_path, feeds, "pypi-a", "dev", "dev-password", built)
    refused(code, out, 409)
    code, out = twine(tmp_path, feeds, "pypi-b", "dev", "dev-password", built)  # dev may only view there
    refused(code, out, 403)
