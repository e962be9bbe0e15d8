"""NuGet feeds over HTTP, with the requests NuGet's client sends (proget-feeds spec §2).

Push is what ``PackageUpdateResource`` sends: ``PUT {source}/`` with a multipart body
(one part ``package``, ``package.nupkg``), ``Transfer-Encoding: chunked`` and
``X-NuGet-ApiKey``; reads carry Basic credentials after a 401 challenge.
"""

from __future__ import annotations

import pytest
import requests

from feedkit import chunked, delete_key, feeds, feeds_server, new_feed_key, nupkg, nuget_multipart  # noqa: F401
from mockproget import MockProGet

ID, VERSION = "Demo.Package", "1.0.0"


def push(server: MockProGet, feed: str, key: str | None = None, data: bytes | None = None,
         auth: tuple[str, str] | None = None) -> requests.Response:
    body, content_type = nuget_multipart(data if data is not None else nupkg(ID, VERSION))
    headers = {"Content-Type": content_type, "User-Agent": "NuGet Command Line/6.8.0"}
    if key is not None:
        headers["X-NuGet-ApiKey"] = key
    return requests.put(f"{server.url}nuget/{feed}/", data=chunked(body), headers=headers, auth=auth, timeout=10)


def nupkg_url(server: MockProGet, feed: str, version: str = VERSION) -> str:
    lower = ID.lower()
    return f"{server.url}nuget/{feed}/v3/flatcontainer/{lower}/{version}/{lower}.{version}.nupkg"


def test_push_then_restore_with_basic_api_key(feeds: MockProGet) -> None:
    """§2.2-§2.3: push with X-NuGet-ApiKey (chunked multipart) → 201; the service index
    names the push and flat-container resources; the flat container serves the bytes."""
    data = nupkg(ID, VERSION)
    response = push(feeds, "nuget-a", "nuget-publish-a", data)
    assert response.status_code == 201, response.text
    index = requests.get(f"{feeds.url}nuget/nuget-a/v3/index.json", auth=("api", "nuget-view-a"), timeout=10).json()
    types = {r["@type"]: r["@id"] for r in index["resources"]}
    assert types["PackagePublish/2.0.0"] == f"{feeds.url}nuget/nuget-a/"
    base = types["PackageBaseAddress/3.0.0"]
    versions = requests.get(f"{base}{ID.lower()}/index.json", auth=("api", "nuget-view-a"), timeout=10)
    assert versions.json() == {"versions": ["1.0.0"]}
    download = requests.get(nupkg_url(feeds, "nuget-a"), auth=("api", "nuget-view-a"), timeout=10)
    assert download.status_code == 200 and download.content == data


def test_view_only_key_downloads_but_cannot_push(feeds: MockProGet) -> None:
    """§1.2: view downloads; a push with a view-only X-NuGet-ApiKey → 403 (§2.2 [model])."""
    assert push(feeds, "nuget-a", "nuget-publish-a").status_code == 201
    assert requests.get(nupkg_url(feeds, "nuget-a"), auth=("api", "nuget-view-a"), timeout=10).status_code == 200
    refused = push(feeds, "nuget-a", "nuget-view-a", nupkg(ID, "2.0.0"))
    assert refused.status_code == 403 and "WWW-Authenticate" not in refused.headers
    assert "add" in refused.text


def test_key_for_feed_a_is_refused_on_feed_b(feeds: MockProGet) -> None:
    """§1.2 [model]: out of scope → 403 on push and on a Basic read."""
    assert push(feeds, "nuget-b", "system-feeds").status_code == 201
    assert push(feeds, "nuget-b", "nuget-publish-a", nupkg(ID, "2.0.0")).status_code == 403
    assert requests.get(nupkg_url(feeds, "nuget-b"), auth=("api", "nuget-publish-a"), timeout=10).status_code == 403


def test_feed_group_key(feeds: MockProGet) -> None:
    """§1.2 [model]: the group key pushes to both feeds of its group, not to nuget-c."""
    assert push(feeds, "nuget-a", "nuget-group").status_code == 201
    assert push(feeds, "nuget-b", "nuget-group").status_code == 201
    assert push(feeds, "nuget-c", "nuget-group").status_code == 403


@pytest.mark.parametrize("which", ["expired", "deleted", "wrong"])
def test_refused_keys(feeds: MockProGet, which: str) -> None:
    """§7: a bad X-NuGet-ApiKey → 403 (the client treats 403 as a bad key); the same key
    as Basic `api:«key»` on a read → 401 with the challenge [model]."""
    key = {"expired": "nuget-expired", "wrong": "not-a-key"}.get(which, "")
    if which == "deleted":
        created = new_feed_key(feeds, "nuget-private")
        key = created["key"]
        assert push(feeds, "nuget-private", key).status_code == 201
        delete_key(feeds, created["id"])
    else:
        assert push(feeds, "nuget-private", "system-feeds").status_code == 201
    assert push(feeds, "nuget-private", key, nupkg(ID, "2.0.0")).status_code == 403
    read = requests.get(nupkg_url(feeds, "nuget-private"), auth=("api", key), timeout=10)
    assert read.status_code == 401
    assert read.headers["WWW-Authenticate"] == 'Basic realm="ProGet Feed nuget-private"'


def test_anonymous_reads_follow_the_feeds_setting_and_push_is_challenged(feeds: MockProGet) -> None:
    """§1.3, §2.2: anonymous reads a default feed; a protected feed answers 401 + Basic
    challenge (what `dotnet restore` needs to send stored credentials); a push with no
    key at all is challenged too."""
    assert push(feeds, "nuget-a", "system-feeds").status_code == 201
    assert requests.get(nupkg_url(feeds, "nuget-a"), timeout=10).status_code == 200
    index = requests.get(f"{feeds.url}nuget/nuget-private/v3/index.json", timeout=10)
    assert index.status_code == 401 and index.headers["WWW-Authenticate"].startswith("Basic realm=")
    assert requests.get(f"{feeds.url}nuget/nuget-private/v3/index.json", auth=("reader", "reader-password"),
                        timeout=10).status_code == 200
    anonymous_push = push(feeds, "nuget-a", None, nupkg(ID, "3.0.0"))
    assert anonymous_push.status_code == 401 and "WWW-Authenticate" in anonymous_push.headers


def test_existing_version_is_409_unless_the_key_may_overwrite(feeds: MockProGet) -> None:
    """§2.3 [doc: 5.3 upgrade notes]: 409 for an existing version without Overwrite/Delete;
    a key with `delete` replaces it; `dotnet nuget delete` → 204, then 404."""
    assert push(feeds, "nuget-a", "nuget-publish-a", nupkg(ID, "1.0")).status_code == 201
    assert push(feeds, "nuget-a", "nuget-publish-a", nupkg(ID, "1.0.0")).status_code == 409  # same normalized
    assert push(feeds, "nuget-a", "nuget-all-a", nupkg(ID, "1.0.0")).status_code == 201
    gone = requests.delete(f"{feeds.url}nuget/nuget-a/{ID}/1.0.0", headers={"X-NuGet-ApiKey": "nuget-publish-a"},
                           timeout=10)
    assert gone.status_code == 403
    gone = requests.delete(f"{feeds.url}nuget/nuget-a/{ID}/1.0.0", headers={"X-NuGet-ApiKey": "nuget-all-a"},
                           timeout=10)
    assert gone.status_code == 204
    assert requests.get(nupkg_url(feeds, "nuget-a"), timeout=10).status_code == 404
    again = requests.delete(f"{feeds.url}nuget/nuget-a/{ID}/1.0.0", headers={"X-NuGet-ApiKey": "nuget-all-a"},
                            timeout=10)
    assert again.status_code == 404


@pytest.mark.parametrize("data", [b"", b"not a zip", nupkg("bad id!", "1.0.0"), nupkg(ID, "one")])
def test_invalid_packages_are_400(feeds: MockProGet, data: bytes) -> None:
    """§2.3 [std]: 400 for an invalid package, text/plain, nothing stored."""
    response = push(feeds, "nuget-a", "nuget-publish-a", data)
    assert response.status_code == 400 and response.headers["Content-Type"].startswith("text/plain")
    assert feeds.backend.packages == []


def test_pseudo_key_in_the_nuget_key(feeds: MockProGet) -> None:
    """§2.2 [doc @c82fd288]: `-ApiKey Admin:Admin` pushes; it is off with pseudo-keys."""
    assert push(feeds, "nuget-a", "Admin:Admin").status_code == 201
    with feeds.backend.settings_changed(pseudo_keys=False):
        assert push(feeds, "nuget-a", "Admin:Admin", nupkg(ID, "2.0.0")).status_code == 403
