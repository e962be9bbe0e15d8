"""Feed authentication and authorization shared by every feed type (proget-feeds spec
§1), and what the journal, faults, control API and state do with feed requests."""

from __future__ import annotations

import base64
import json
import threading

import pytest
import requests

from feedkit import (  # noqa: F401 - feeds_server is the fixture feeds needs
    feeds,
    feeds_server,
    new_feed_key,
    new_key,
    npm_publish_body,
    nupkg,
    nuget_multipart,
    upack,
    wheel,
)
from mockproget import MockProGet

# One protected read per feed type: (url path, style of refusal)
READS = {
    "npm": "npm/npm-private/some-package",
    "pypi": "pypi/pypi-private/simple/",
    "nuget": "nuget/nuget-private/v3/index.json",
    "universal": "upack/universal-private/packages",
}


def get(server: MockProGet, path: str, **kwargs: object) -> requests.Response:
    return requests.get(server.url + path, timeout=10, **kwargs)  # type: ignore[arg-type]


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def ok(response: requests.Response) -> bool:
    """Authorized: the endpoint answered (a 404 for a package that is not there counts)."""
    return response.status_code in (200, 404) and "WWW-Authenticate" not in response.headers


@pytest.mark.parametrize("kind", list(READS))
def test_refusal_statuses_per_type(feeds: MockProGet, kind: str) -> None:
    """§1.4 / §7: no credential and a bad Basic or Bearer credential → 401 + challenge
    (Universal: 403 [doc]); a bad dedicated key header → 403; an insufficient one → 403."""
    path = READS[kind]
    challenge = kind != "universal"
    for refused in (get(feeds, path), get(feeds, path, auth=("api", "wrong")),
                    get(feeds, path, headers={"Authorization": "Bearer wrong"}),
                    get(feeds, path, auth=("reader", "not-the-password"))):
        if challenge:
            assert refused.status_code == 401, refused.text
            assert refused.headers["WWW-Authenticate"] == f'Basic realm="ProGet Feed {kind}-private"'
        else:
            assert refused.status_code == 403 and "WWW-Authenticate" not in refused.headers
        assert refused.headers["Content-Type"].startswith("text/plain") and refused.text.strip()
    for header in ({"X-ApiKey": "wrong"}, {"X-NuGet-ApiKey": "wrong"}):
        assert get(feeds, path, headers=header).status_code == 403
    assert get(feeds, path, params={"key": "wrong"}).status_code == 403
    insufficient = get(feeds, path, auth=("api", "system-sca"))
    assert insufficient.status_code == 403 and "WWW-Authenticate" not in insufficient.headers
    assert ok(get(feeds, path, auth=("api", f"{kind}-view-private")))


@pytest.mark.parametrize("kind", list(READS))
def test_every_kind_of_principal(feeds: MockProGet, kind: str) -> None:
    """§1.2: system keys with full-control or `feeds` read any feed, `sca` alone none; a
    personal key and a user's login act by the user's privileges; Admin may all; the
    Basic user `api` is not case-sensitive [model]."""
    path = READS[kind]
    assert ok(get(feeds, path, auth=("api", feeds.admin_key)))
    assert ok(get(feeds, path, auth=("API", "system-feeds")))
    assert ok(get(feeds, path, headers={"Authorization": "Bearer system-feeds"}))
    assert ok(get(feeds, path, headers={"X-ApiKey": "personal-dev"}))  # dev may view everywhere
    assert ok(get(feeds, path, auth=("Admin", "Admin")))
    assert ok(get(feeds, path, headers={"X-ApiKey": "Admin:Admin"}))  # a pseudo-key
    assert get(feeds, path, auth=("api", "system-sca")).status_code == 403


def test_user_privileges_decide_publishing(feeds: MockProGet) -> None:
    """§1.2: dev has view+add on npm-a only: its personal key and its login publish there,
    not on npm-b (403); `reader` may only view."""
    registry = f"{feeds.url}npm/npm-a/"
    body = npm_publish_body("user-made", "1.0.0", registry)
    assert requests.put(registry + "user-made", json=body, headers={"Authorization": "Bearer personal-dev"},
                        timeout=10).status_code == 201
    body = npm_publish_body("user-made", "1.0.1", registry)
    assert requests.put(registry + "user-made", json=body, auth=("dev", "dev-password"), timeout=10).status_code == 201
    other = f"{feeds.url}npm/npm-b/"
    refused = requests.put(other + "user-made", json=npm_publish_body("user-made", "1.0.0", other),
                           auth=("dev", "dev-password"), timeout=10)
    assert refused.status_code == 403 and "add" in refused.text
    assert requests.put(registry + "user-made", json=npm_publish_body("user-made", "2.0.0", registry),
                        auth=("reader", "reader-password"), timeout=10).status_code == 403


def test_hashed_keys_and_disabled_pseudo_keys(feeds: MockProGet) -> None:
    """§1.2 / api-keys spec §5: keys authenticate by digest, so a hashing instance accepts
    them the same; without pseudo-keys, `user:password` as a key is refused (403 for
    X-ApiKey, 401 as a Bearer token) while a Basic login still works [model]."""
    path = READS["pypi"]
    with feeds.backend.settings_changed(hash_keys=True):
        assert ok(get(feeds, path, auth=("api", "pypi-view-private")))
        assert get(feeds, path, auth=("api", "pypi-expired")).status_code == 401
    with feeds.backend.settings_changed(pseudo_keys=False):
        assert get(feeds, path, headers={"X-ApiKey": "Admin:Admin"}).status_code == 403
        assert get(feeds, path, headers={"Authorization": "Bearer Admin:Admin"}).status_code == 401
        assert ok(get(feeds, path, auth=("Admin", "Admin")))


def test_anonymous_admin_instance_lets_anonymous_publish(feeds: MockProGet) -> None:
    """§1.3: on an instance where Anonymous administers (the docs' example list), anonymous
    may publish; by default it may not (401)."""
    registry = f"{feeds.url}npm/npm-a/"
    body = npm_publish_body("anon", "1.0.0", registry)
    assert requests.put(registry + "anon", json=body, timeout=10).status_code == 401
    with feeds.backend.settings_changed(anonymous_admin=True):
        assert requests.put(registry + "anon", json=body, timeout=10).status_code == 201


@pytest.mark.parametrize("path", ["npm/nope/x", "pypi/nope/simple/", "nuget/nope/v3/index.json",
                                  "upack/nope/packages", "npm/pypi-a/x", "pypi/plain/simple/",
                                  "pypi/%D1%84%D0%B8%D0%B4/simple/"])
def test_unknown_feed_or_wrong_type_is_404(feeds: MockProGet, path: str) -> None:
    """§2-§5: a feed endpoint of a feed that does not exist, has another type or none → 404
    text/plain; a bad credential there still gets an answer, never a 500."""
    response = get(feeds, path, auth=("api", feeds.admin_key))
    assert response.status_code == 404 and response.headers["Content-Type"].startswith("text/plain")
    assert get(feeds, path, auth=("api", "wrong")).status_code in (401, 403)


@pytest.mark.parametrize("header", ["Basic !!!", "Basic " + base64.b64encode(b"no-colon").decode(),
                                    "Basic " + base64.b64encode(b"\xff\xfe:\xff").decode(), "Negotiate abc",
                                    "Bearer ", "Basic", "Basic " + base64.b64encode(b"api:").decode()])
def test_malformed_authorization_is_a_clean_401(feeds: MockProGet, header: str) -> None:
    """§1.4 [model]: an Authorization header that carries no usable credential is refused
    like a wrong one (401 + challenge), never a 500."""
    response = get(feeds, READS["pypi"], headers={"Authorization": header})
    assert response.status_code == 401 and "WWW-Authenticate" in response.headers


def test_journal_masks_feed_credentials_and_follows_the_keys_logging(feeds: MockProGet) -> None:
    """Issue 11 / api-keys spec §2 logging: feed requests are journaled with their
    principal; Authorization and X-NuGet-ApiKey are masked; a key with logging=both keeps
    the bodies, a pseudo-key or login request keeps none."""
    created = new_feed_key(feeds, "npm-a", logging="both")
    registry = f"{feeds.url}npm/npm-a/"
    assert requests.put(registry + "logged", json=npm_publish_body("logged", "1.0.0", registry), timeout=10,
                        headers={"Authorization": f"Bearer {created['key']}"}).status_code == 201
    assert requests.put(registry + "logged", json=npm_publish_body("logged", "1.0.1", registry), timeout=10,
                        auth=("Admin", "Admin")).status_code == 201
    body, content_type = nuget_multipart(nupkg())
    assert requests.put(f"{feeds.url}nuget/nuget-a/", data=body, timeout=10,
                        headers={"X-NuGet-ApiKey": "nuget-publish-a", "Content-Type": content_type}).status_code == 201
    keyed, login = feeds.journal.entries(path="/npm/npm-a/logged")
    assert keyed["principal"] == f"feed key #{created['id']}" and keyed["logging"] == "both"
    assert json.loads(keyed["request_body"])["name"] == "logged" and keyed["response_body"]
    assert login["principal"] == "user Admin" and login["request_body"] is None and login["response_body"] is None
    push = feeds.journal.entries(path="/nuget/nuget-a/")[0]
    assert push["headers"]["X-Nuget-Apikey"] == "********"
    text = json.dumps(feeds.journal.entries())
    assert created["key"] not in text and "nuget-publish-a" not in text
    assert base64.b64encode(b"Admin:Admin").decode() not in text


def test_a_fault_rule_targets_feed_paths(feeds: MockProGet) -> None:
    """Issue 11 item 4: a fault rule on `/npm/*` answers feed requests (journaled with
    the fault), and leaves other paths alone."""
    feeds.faults.add(name="npm-down", path="/npm/*", status=503)
    response = get(feeds, "npm/npm-a/anything")
    assert response.status_code == 503 and response.headers["Retry-After"]
    assert feeds.journal.entries(path="/npm/npm-a/anything")[0]["faults"] == ["npm-down"]
    assert get(feeds, "pypi/pypi-a/simple/").status_code == 200


def test_packages_are_state_reset_snapshot_restore_and_the_control_document(feeds: MockProGet, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Issue 11 item 1: packages are backend state — reset empties them, restore puts
    them back, and the control API's state document carries feeds (type, groups,
    anonymous) and packages through a GET/PUT round trip."""
    up = requests.put(f"{feeds.url}upack/universal-a/upload", data=upack(), headers={"X-ApiKey": "system-feeds"},
                      timeout=10)
    assert up.status_code == 201
    snapshot = feeds.backend.snapshot()
    state = requests.get(feeds.url + "__mockproget__/state", timeout=10).json()
    described = {f["name"]: f for f in state["feeds"] if isinstance(f, dict)}
    assert described["universal-private"] == {"name": "universal-private", "type": "universal",
                                              "groups": [], "anonymous": []}
    assert described["universal-a"]["groups"] == ["universal-grp"]
    assert "plain" in state["feeds"]
    assert [p["filename"] for p in state["packages"]] == ["demo.1.0.0.upack"]
    feeds.backend.reset()
    assert feeds.backend.packages == []
    assert get(feeds, "upack/universal-a/download/tools/demo/1.0.0").status_code == 404
    feeds.backend.restore(snapshot)
    assert get(feeds, "upack/universal-a/download/tools/demo/1.0.0").content == upack()
    feeds.backend.reset()
    put = requests.put(feeds.url + "__mockproget__/state", json=state, timeout=10)
    assert put.status_code == 200, put.text
    assert get(feeds, "upack/universal-a/download/tools/demo/1.0.0").content == upack()
    assert get(feeds, READS["universal"]).status_code == 403  # anonymous setting came back
    bad = dict(state, packages=[{**state["packages"][0], "feed": "nope"}])
    refused = requests.put(feeds.url + "__mockproget__/state", json=bad, timeout=10)
    assert refused.status_code == 400 and "nope" in refused.text


def test_concurrent_publishes_of_one_version_store_it_once(feeds: MockProGet) -> None:
    """Concurrency: 8 threads publish the same version, 8 others distinct versions: one
    201 and seven 409 for the first, all 201 for the second; the packument has 9 versions."""
    registry = f"{feeds.url}npm/npm-a/"
    statuses: list[int] = []
    lock = threading.Lock()

    def publish(version: str) -> None:
        response = requests.put(registry + "race", json=npm_publish_body("race", version, registry),
                                headers={"Authorization": "Bearer npm-publish-a"}, timeout=20)
        with lock:
            statuses.append(response.status_code)

    threads = [threading.Thread(target=publish, args=("1.0.0",)) for _ in range(8)]
    threads += [threading.Thread(target=publish, args=(f"2.0.{i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(statuses) == [201] * 9 + [409] * 7
    assert len(get(feeds, "npm/npm-a/race").json()["versions"]) == 9


@pytest.mark.parametrize("body,content_type", [
    (b"{not json", "application/json"), (b"[]", "application/json"), (b"", "application/json"),
    (json.dumps({"name": "x", "versions": {"1.0.0": {}}, "_attachments": {"x-1.0.0.tgz": {"data": "@@@"}}}).encode(),
     "application/json"),
    (b"\xff\xfe", "text/plain"),
    (json.dumps({"name": "x", "dist-tags": {"latest": "1.0.0"},
                 "versions": {"1.0.0": {"deep": json.loads("[" * 200 + "]" * 200)}},
                 "_attachments": {"x-1.0.0.tgz": {"data": "AAAA"}}}).encode(), "application/json"),
])
def test_bad_npm_publish_bodies_are_400(feeds: MockProGet, body: bytes, content_type: str) -> None:
    """Standards: malformed or mistyped publish bodies get a readable 400, nothing stored."""
    response = requests.put(f"{feeds.url}npm/npm-a/x", data=body, timeout=10,
                            headers={"Authorization": "Bearer npm-publish-a", "Content-Type": content_type})
    assert response.status_code == 400 and response.headers["Content-Type"].startswith("text/plain")
    assert feeds.backend.packages == []


def test_bad_twine_uploads_are_400(feeds: MockProGet, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """§4.3: a non-multipart body, a missing file, a file of another project or a wrong
    digest are 400s with the problem named."""
    url = f"{feeds.url}pypi/pypi-a/legacy"
    auth = ("api", "pypi-publish-a")
    built = wheel(tmp_path, "mockfeed-demo", "1.0.0")
    fields = {":action": "file_upload", "name": "mockfeed-demo", "version": "1.0.0"}
    cases = [
        requests.post(url, data=b"x", headers={"Content-Type": "application/octet-stream"}, auth=auth, timeout=10),
        requests.post(url, data=fields, files={"other": ("x", b"y")}, auth=auth, timeout=10),
        requests.post(url, data={**fields, "name": "other"}, files={"content": (built.name, built.read_bytes())},
                      auth=auth, timeout=10),
        requests.post(url, data={**fields, "sha256_digest": "00" * 32},
                      files={"content": (built.name, built.read_bytes())}, auth=auth, timeout=10),
        requests.post(url, data={**fields, ":action": "remove"}, files={"content": (built.name, built.read_bytes())},
                      auth=auth, timeout=10),
    ]
    for response in cases:
        assert response.status_code == 400 and response.text.strip(), response.text
    assert feeds.backend.packages == []


def test_a_body_over_max_body_is_413(feeds: MockProGet) -> None:
    """Standards: feed uploads are bounded by `max_body` (1 MiB by default): 413, nothing stored."""
    big = b"\x00" * (feeds.config.max_body + 1)
    response = requests.put(f"{feeds.url}upack/universal-a/upload", data=big, timeout=30,
                            headers={"X-ApiKey": "universal-publish-a", "Content-Type": "application/zip"})
    assert response.status_code == 413
    assert feeds.backend.packages == []


def test_npm_legacy_login_answers_a_token_that_works(feeds: MockProGet) -> None:
    """§3.2 [model]: the couch login PUT with `api` + a key answers that key as `token`;
    with a user's password, the `user:password` pseudo-key; a wrong one is a 401; the
    token then authenticates `npm whoami`, and the journal never shows it."""
    url = f"{feeds.url}npm/npm-a/-/user/org.couchdb.user:"
    answer = requests.put(url + "api", json={"name": "api", "password": "npm-view-a", "type": "user"}, timeout=10)
    assert answer.status_code == 201 and answer.json()["token"] == "npm-view-a"
    answer = requests.put(url + "dev", json={"name": "dev", "password": "dev-password"}, timeout=10)
    assert answer.status_code == 201
    token = answer.json()["token"]
    whoami = requests.get(f"{feeds.url}npm/npm-a/-/whoami", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert whoami.json() == {"username": "dev"}
    wrong = requests.put(url + "dev", json={"name": "dev", "password": "nope"}, timeout=10)
    assert wrong.status_code == 401 and "WWW-Authenticate" in wrong.headers
    assert requests.put(url + "x", data=b"{", timeout=10, headers={"Content-Type": "application/json"}).status_code == 400
    assert "dev-password" not in json.dumps(feeds.journal.entries())


def test_whoami_needs_a_credential(feeds: MockProGet) -> None:
    """§3.3 [model]: `-/whoami` without a credential is a 401 with the challenge."""
    response = get(feeds, "npm/npm-a/-/whoami")
    assert response.status_code == 401 and response.headers["WWW-Authenticate"] == 'Basic realm="ProGet Feed npm-a"'


def test_package_storage_is_bounded(feeds: MockProGet, monkeypatch: pytest.MonkeyPatch) -> None:
    """Standards (memory within documented bounds): past the storage bound an upload is a
    413 that says so and nothing is stored; deleting makes room again."""
    import mockproget.feedstore

    first = upack(version="1.0.0")
    monkeypatch.setattr(mockproget.feedstore, "MAX_STORED_BYTES", len(first) + 10)
    url = f"{feeds.url}upack/universal-a/upload"
    headers = {"X-ApiKey": "universal-all-a", "Content-Type": "application/zip"}
    assert requests.put(url, data=first, headers=headers, timeout=10).status_code == 201
    full = requests.put(url, data=upack(version="2.0.0"), headers=headers, timeout=10)
    assert full.status_code == 413 and "storage is full" in full.text
    assert [p.version for p in feeds.backend.packages] == ["1.0.0"]
    assert requests.delete(f"{feeds.url}upack/universal-a/delete/tools/demo/1.0.0", headers=headers,
                           timeout=10).status_code == 200
    assert requests.put(url, data=upack(version="2.0.0"), headers=headers, timeout=10).status_code == 201


def test_a_non_ascii_key_works_in_every_feed_carrier(feeds: MockProGet) -> None:
    """§1.4 (proget-feeds), api-keys spec §3 (docs/fidelity.md): a feed-reading key with
    non-ASCII text works as UTF-8 bytes in ``X-ApiKey`` and ``X-NuGet-ApiKey``, in the
    query and as the Basic password alike; a near miss does not."""
    text = "ключ-feeds-é"
    new_key(feeds, {"type": "system", "systemApis": ["feeds"], "key": text})
    path = READS["npm"]
    raw = text.encode("utf-8")
    assert ok(get(feeds, path, headers={"X-ApiKey": raw}))
    assert ok(get(feeds, path, headers={"X-NuGet-ApiKey": raw}))
    assert ok(get(feeds, path, params={"key": text}))
    assert ok(get(feeds, path, headers={"Authorization": "Basic " + base64.b64encode(b"api:" + raw).decode()}))
    assert get(feeds, path, headers={"X-ApiKey": raw + b"x"}).status_code == 403
