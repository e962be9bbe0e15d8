"""The Common Packages API as pgutil calls it (proget-feeds spec §1.4, §4.1; [doc:
Content/proget/api/packages]): `PUT /api/packages/«feed»/upload[/«file»]` with the file
as a chunked body and `X-ApiKey`, `GET …/download?name=&version=&group=`, `POST …/delete?…`."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from feedkit import chunked, feeds, feeds_server, npm_tarball, nupkg, sdist, upack, wheel_bytes  # noqa: F401
from mockproget import MockProGet
from mockproget.feeds.packages_api import DOC_REFUSAL

WHEEL_NAME, WHEEL = wheel_bytes("mockfeed-demo", "1.0.0")
#: type -> (file name in the URL or None, body, download query)
PACKAGES: dict[str, tuple[str | None, bytes, dict[str, str]]] = {
    "npm": (None, npm_tarball("mockfeed-demo", "1.0.0"), {"name": "mockfeed-demo", "version": "1.0.0"}),
    "pypi": (WHEEL_NAME, WHEEL, {"name": "mockfeed_demo", "version": "1.0.0"}),
    "nuget": (None, nupkg("Demo.Package", "1.0.0"), {"name": "demo.package", "version": "1.0.0.0"}),
    "universal": (None, upack("demo", "1.0.0", "tools"), {"name": "demo", "version": "1.0.0", "group": "tools"}),
}


def upload(server: MockProGet, feed: str, key: str | None, kind: str) -> requests.Response:
    filename, data, _ = PACKAGES[kind]
    url = f"{server.url}api/packages/{feed}/upload" + (f"/{filename}" if filename else "")
    headers = {"X-ApiKey": key} if key else {}
    return requests.put(url, data=chunked(data, 100), headers=headers, timeout=10)  # StreamContent: chunked


def download(server: MockProGet, feed: str, key: str | None, kind: str, **kwargs: Any) -> requests.Response:
    headers = {"X-ApiKey": key} if key else {}
    return requests.get(f"{server.url}api/packages/{feed}/download", params=PACKAGES[kind][2], headers=headers,
                        timeout=10, **kwargs)


@pytest.mark.parametrize("kind", list(PACKAGES))
def test_upload_download_delete_per_feed_type(feeds: MockProGet, kind: str) -> None:
    """[doc] Upload Package with Add/Repackage → 201 (the package is then served by the
    feed's own protocol too); Download Package with View/Download gives the bytes back
    (names matched as each protocol matches them); Delete Package needs Overwrite/Delete."""
    feed = f"{kind}-a"
    assert upload(feeds, feed, f"{kind}-publish-a", kind).status_code == 201
    got = download(feeds, feed, f"{kind}-view-a", kind)
    assert got.status_code == 200 and got.content == PACKAGES[kind][1]
    assert upload(feeds, feed, f"{kind}-publish-a", kind).status_code == 409
    query = PACKAGES[kind][2]
    url = f"{feeds.url}api/packages/{feed}/delete"
    refused = requests.post(url, params=query, headers={"X-ApiKey": f"{kind}-publish-a"}, timeout=10)
    assert refused.status_code == 403 and refused.text.startswith(DOC_REFUSAL)
    assert requests.post(url, params=query, headers={"X-ApiKey": f"{kind}-all-a"}, timeout=10).status_code == 200
    assert download(feeds, feed, f"{kind}-view-a", kind).status_code == 404


def test_the_feed_protocol_serves_what_pgutil_uploaded(feeds: MockProGet) -> None:
    """The same store: an npm tarball uploaded through the Common Packages API is in the
    npm packument, and its tarball downloads."""
    assert upload(feeds, "npm-a", "npm-publish-a", "npm").status_code == 201
    packument = requests.get(f"{feeds.url}npm/npm-a/mockfeed-demo", timeout=10).json()
    tarball = packument["versions"]["1.0.0"]["dist"]["tarball"]
    assert requests.get(tarball, timeout=10).content == PACKAGES["npm"][1]


@pytest.mark.parametrize("key", [None, "wrong", "universal-view-private", "universal-expired", "npm-publish-a"])
def test_every_refusal_is_the_documented_403(feeds: MockProGet, key: str | None) -> None:
    """[doc]: "403 … The specified API key does not have the proper permissions to perform
    this action." for a missing, unknown or insufficient key; nothing stored."""
    response = upload(feeds, "universal-private", key, "universal")
    assert response.status_code == 403 and "WWW-Authenticate" not in response.headers
    assert response.text.startswith(DOC_REFUSAL)
    assert feeds.backend.packages == []


def test_bad_requests(feeds: MockProGet) -> None:
    """400s with the problem named: a PyPI upload without a file name, a body that is not
    a package, a download without name or version; 404 for an unknown or untyped feed."""
    key = {"X-ApiKey": "system-feeds"}
    assert requests.put(f"{feeds.url}api/packages/pypi-a/upload", data=WHEEL, headers=key,
                        timeout=10).status_code == 400
    for kind in PACKAGES:
        response = requests.put(f"{feeds.url}api/packages/{kind}-a/upload/x-1.0.tar.gz", data=b"junk", headers=key,
                                timeout=10)
        assert response.status_code == 400 and response.text.strip(), (kind, response.text)
    assert requests.get(f"{feeds.url}api/packages/npm-a/download", params={"name": "x"}, headers=key,
                        timeout=10).status_code == 400
    assert requests.put(f"{feeds.url}api/packages/nope/upload", data=b"x", headers=key, timeout=10).status_code == 404
    assert requests.put(f"{feeds.url}api/packages/plain/upload", data=b"x", headers=key, timeout=10).status_code == 404
    assert feeds.backend.packages == []


def test_an_sdist_is_read_by_its_pkg_info_and_listed_for_pip(feeds: MockProGet) -> None:
    """§4: an sdist uploaded with its file name is read by its PKG-INFO and appears on the
    PEP 503 project page next to the wheel; a file of another project is a 400."""
    archive = sdist("mockfeed-demo", "1.0.0")
    key = {"X-ApiKey": "pypi-publish-a"}
    url = f"{feeds.url}api/packages/pypi-a/upload/"
    assert requests.put(url + "mockfeed-demo-1.0.0.tar.gz", data=archive, headers=key, timeout=10).status_code == 201
    assert upload(feeds, "pypi-a", "pypi-publish-a", "pypi").status_code == 201
    page = requests.get(f"{feeds.url}pypi/pypi-a/simple/mockfeed-demo/", timeout=10).text
    assert "mockfeed-demo-1.0.0.tar.gz" in page and WHEEL_NAME in page
    assert requests.put(url + "other-1.0.0.tar.gz", data=archive, headers=key, timeout=10).status_code == 400
