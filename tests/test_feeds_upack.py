"""Universal feeds over HTTP (proget-feeds spec §5), with the requests pgutil and
Inedo.UPack send: ``X-ApiKey`` (a key, or ``user:password``), ``PUT …/upload`` with
``application/zip``. Every refusal is 403 [doc].
"""

from __future__ import annotations

import io
import zipfile

import pytest
import requests

from feedkit import delete_key, feeds, feeds_server, new_feed_key, upack, zip_of  # noqa: F401
from mockproget import MockProGet


def upload(server: MockProGet, feed: str, key: str | None, data: bytes | None = None,
           method: str = "PUT", **kwargs: object) -> requests.Response:
    headers = {"Content-Type": "application/zip", "User-Agent": "pgutil/2.0"}
    if key is not None:
        headers["X-ApiKey"] = key
    return requests.request(method, f"{server.url}upack/{feed}/upload", data=data if data is not None else upack(),
                            headers=headers, timeout=10, **kwargs)  # type: ignore[arg-type]


def download(server: MockProGet, feed: str, key: str | None, path: str = "tools/demo/1.0.0",
             **kwargs: object) -> requests.Response:
    headers = {"X-ApiKey": key} if key else {}
    return requests.get(f"{server.url}upack/{feed}/download/{path}", headers=headers, timeout=10,
                        **kwargs)  # type: ignore[arg-type]


def test_upload_download_versions(feeds: MockProGet) -> None:
    """§5.1, §5.3: upload → 201 (PUT as Inedo.UPack, POST as documented); download gives
    the bytes back; versions and packages list them, newest first."""
    first = upack(version="1.0.0")
    assert upload(feeds, "universal-a", "universal-publish-a", first).status_code == 201
    assert upload(feeds, "universal-a", "universal-publish-a", upack(version="1.2.0"), method="POST").status_code == 201
    got = download(feeds, "universal-a", "universal-view-a")
    assert got.status_code == 200 and got.content == first
    assert zipfile.ZipFile(io.BytesIO(got.content)).read("upack.json")
    latest = download(feeds, "universal-a", "universal-view-a", "tools/demo", params={"latest": ""})
    assert latest.status_code == 200 and latest.content == upack(version="1.2.0")
    versions = requests.get(f"{feeds.url}upack/universal-a/versions", params={"group": "tools", "name": "demo"},
                            headers={"X-ApiKey": "universal-view-a"}, timeout=10).json()
    assert [v["version"] for v in versions] == ["1.2.0", "1.0.0"]
    listed = requests.get(f"{feeds.url}upack/universal-a/packages", headers={"X-ApiKey": "universal-view-a"},
                          timeout=10).json()
    assert listed == [{"group": "tools", "name": "demo", "latestVersion": "1.2.0", "versions": ["1.2.0", "1.0.0"]}]


@pytest.mark.parametrize("carrier", ["header", "query", "basic", "pseudo-header", "login"])
def test_every_documented_carrier_works(feeds: MockProGet, carrier: str) -> None:
    """§5.2 [doc]: X-ApiKey, ?key=, Basic api:«key», X-ApiKey user:password (pgutil) and
    Basic user:password all authenticate."""
    assert upload(feeds, "universal-private", "universal-publish-private").status_code == 201
    url = f"{feeds.url}upack/universal-private/download/tools/demo/1.0.0"
    request = {
        "header": {"headers": {"X-ApiKey": "universal-view-private"}},
        "query": {"params": {"key": "universal-view-private"}},
        "basic": {"auth": ("api", "universal-view-private")},
        "pseudo-header": {"headers": {"X-ApiKey": "reader:reader-password"}},
        "login": {"auth": ("reader", "reader-password")},
    }[carrier]
    assert requests.get(url, timeout=10, **request).status_code == 200  # type: ignore[arg-type]


def test_view_only_key_downloads_but_cannot_upload(feeds: MockProGet) -> None:
    """§5.3 [doc]: View/Download for downloads, Add/Repackage to upload; refusal 403."""
    assert upload(feeds, "universal-a", "universal-publish-a").status_code == 201
    assert download(feeds, "universal-a", "universal-view-a").status_code == 200
    assert upload(feeds, "universal-a", "universal-view-a", upack(version="2.0.0")).status_code == 403


def test_key_for_feed_a_is_refused_on_feed_b_and_group_key_covers_its_group(feeds: MockProGet) -> None:
    """§1.2 [model] with §5.3's 403: scope by feed and by feed group."""
    assert upload(feeds, "universal-b", "universal-publish-a").status_code == 403
    assert upload(feeds, "universal-a", "universal-group").status_code == 201
    assert upload(feeds, "universal-b", "universal-group").status_code == 201
    assert upload(feeds, "universal-c", "universal-group").status_code == 403
    assert download(feeds, "universal-b", "universal-publish-a").status_code == 403


@pytest.mark.parametrize("which", ["expired", "deleted", "wrong", "none"])
def test_refusals_are_403_without_challenge(feeds: MockProGet, which: str) -> None:
    """§5.3 [doc]: "A 403 response indicates a missing, unknown, or unauthorized API Key"
    — also for Basic, and with no credential on a protected feed; never a challenge."""
    assert upload(feeds, "universal-private", "system-feeds").status_code == 201
    key: str | None = {"expired": "universal-expired", "wrong": "not-a-key", "none": None}.get(which)
    if which == "deleted":
        created = new_feed_key(feeds, "universal-private")
        key = created["key"]
        assert download(feeds, "universal-private", key).status_code == 200
        delete_key(feeds, created["id"])
    for response in (download(feeds, "universal-private", key),
                     upload(feeds, "universal-private", key, upack(version="9.0.0")),
                     requests.get(f"{feeds.url}upack/universal-private/download/tools/demo/1.0.0",
                                  auth=("api", key or "x"), timeout=10)):
        assert response.status_code == 403, response.text
        assert "WWW-Authenticate" not in response.headers


def test_anonymous_download_follows_the_feeds_setting(feeds: MockProGet) -> None:
    """§1.3, §5.3: anonymous downloads from a default feed, 403 on a protected one, and
    may never upload."""
    assert upload(feeds, "universal-a", "system-feeds").status_code == 201
    assert download(feeds, "universal-a", None).status_code == 200
    assert upload(feeds, "universal-a", None, upack(version="2.0.0")).status_code == 403


def test_duplicate_is_409_and_delete_needs_the_delete_privilege(feeds: MockProGet) -> None:
    """§1.2: an existing version without Overwrite/Delete → 409; delete needs `delete`
    (403 without), 200, then 404."""
    assert upload(feeds, "universal-a", "universal-publish-a").status_code == 201
    assert upload(feeds, "universal-a", "universal-publish-a").status_code == 409
    url = f"{feeds.url}upack/universal-a/delete/tools/demo/1.0.0"
    assert requests.delete(url, headers={"X-ApiKey": "universal-publish-a"}, timeout=10).status_code == 403
    assert requests.delete(url, headers={"X-ApiKey": "universal-all-a"}, timeout=10).status_code == 200
    assert download(feeds, "universal-a", "universal-view-a").status_code == 404
    assert requests.delete(url, headers={"X-ApiKey": "universal-all-a"}, timeout=10).status_code == 404


@pytest.mark.parametrize("data", [b"", b"PK\x03\x04broken", upack(name="bad name"), upack(version="1.0"),
                                  b"\x00" * 100])
def test_invalid_packages_are_400(feeds: MockProGet, data: bytes) -> None:
    """§5.3: 400 with a readable text/plain body; nothing stored."""
    response = upload(feeds, "universal-a", "universal-publish-a", data)
    assert response.status_code == 400 and response.headers["Content-Type"].startswith("text/plain")
    assert response.text.strip()
    assert feeds.backend.packages == []


def test_missing_zip_members(feeds: MockProGet) -> None:
    """§5.3: a zip without upack.json, or with upack.json that is not JSON, is a 400."""
    for members in ({"package/x": "1"}, {"upack.json": "{not json"}, {"upack.json": "[]"}):
        assert upload(feeds, "universal-a", "universal-publish-a", zip_of(members)).status_code == 400
