"""Hostile input on the feed endpoints: whatever the method, path, credential, content
type or body, the answer is a 2xx-4xx with a readable body, never a 500 (standards;
proget-feeds spec §1.4)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feedkit import feeds_config, npm_publish_body, nupkg, nuget_multipart, upack, zip_of
from mockproget import Backend, create_app

CONFIG = feeds_config()
APP = create_app(CONFIG, Backend(CONFIG.instance, CONFIG.state, seed=1))
CLIENT = APP.test_client()

PREFIXES = ["/npm/npm-a/", "/npm/npm-private/", "/pypi/pypi-a/", "/pypi/pypi-a/simple/", "/pypi/pypi-a/legacy",
            "/nuget/nuget-a/", "/nuget/nuget-a/v3/flatcontainer/", "/upack/universal-a/",
            "/upack/universal-a/download/", "/upack/universal-private/upload", "/npm/nope/", "/pypi/plain/simple/",
            "/api/packages/npm-a/upload", "/api/packages/pypi-a/upload/", "/api/packages/nuget-a/",
            "/api/packages/universal-a/download", "/api/packages/universal-a/delete"]
# path segments (no "?"/"#": those would start a query or fragment in the test client)
SEGMENT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",), exclude_characters="?#"), max_size=12)
CREDENTIALS = st.one_of(
    st.just({}),
    # any header value HTTP can carry: latin-1, no CR/LF
    st.builds(lambda v: {"Authorization": v},
              st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=40)),
    st.sampled_from([{"Authorization": "Bearer npm-publish-a"}, {"X-ApiKey": "universal-publish-a"},
                     {"X-NuGet-ApiKey": "nuget-publish-a"}, {"Authorization": "Basic YXBpOnB5cGktcHVibGlzaC1h"},
                     {"X-ApiKey": "Admin:Admin"}, {"X-ApiKey": "ключ"}]),
)
BODIES = st.one_of(st.binary(max_size=300), st.sampled_from([
    upack(), upack(name="x" * 60), nupkg(), nuget_multipart(nupkg())[0], b"{}", b"[]", b"null",
    b'{"name": "x", "versions": {"1.0.0": []}, "_attachments": {"a": {"data": 5}}}',
])) | st.builds(lambda d: __import__("json").dumps(d).encode(),
                st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                             lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c, max_size=3),
                             max_leaves=10))
TYPES = st.sampled_from(["application/json", "application/zip", "multipart/form-data; boundary=x",
                         'multipart/form-data; boundary="c3c35c2a-9a8f-4b53-9dc3-08a6a5e5b1f0"',
                         "application/x-www-form-urlencoded", "text/plain", ""])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(method=st.sampled_from(["GET", "PUT", "POST", "DELETE", "HEAD", "PATCH"]), prefix=st.sampled_from(PREFIXES),
       rest=st.lists(SEGMENT, max_size=4), headers=CREDENTIALS, body=BODIES, content_type=TYPES,
       query=st.dictionaries(st.sampled_from(["key", "latest", "name", "group", "version", "contentOnly"]),
                             SEGMENT, max_size=2))
def test_no_input_makes_a_feed_endpoint_fail(method: str, prefix: str, rest: list[str], headers: dict[str, str],
                                             body: bytes, content_type: str, query: dict[str, str]) -> None:
    """Standards: no 5xx for any request; every 4xx explains itself in text/plain."""
    sent: dict[str, Any] = {**headers}
    if content_type:
        sent["Content-Type"] = content_type
    response = CLIENT.open(prefix + "/".join(rest), method=method, headers=sent, data=body, query_string=query)
    assert response.status_code < 500, response.get_data(as_text=True)
    if response.status_code >= 400 and method != "HEAD":
        assert response.mimetype == "text/plain" and response.get_data(as_text=True).strip()


def test_a_valid_publish_still_works_after_the_fuzzing() -> None:
    """The fuzzed app keeps its state consistent: a normal publish succeeds (or is a 409
    when the fuzzer happened to publish that very version)."""
    body = npm_publish_body("after-fuzz", "1.0.0", "http://localhost/npm/npm-a/")
    response = CLIENT.put("/npm/npm-a/after-fuzz", json=body, headers={"Authorization": "Bearer npm-publish-a"})
    assert response.status_code in (201, 409)
    assert CLIENT.get("/npm/npm-a/after-fuzz").json["versions"]["1.0.0"]["version"] == "1.0.0"


# -- manifests that are not JSON (RFC 8259): NaN and Infinity -----------------------------

NOT_JSON = ["NaN", "Infinity", "-Infinity"]


def _tarball_with(package_json: str) -> bytes:
    import io
    import tarfile

    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as archive:
        data = package_json.encode()
        info = tarfile.TarInfo("package/package.json")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


@pytest.mark.parametrize("constant", NOT_JSON)
def test_an_npm_publish_with_nan_is_refused_and_leaves_no_packument(constant: str) -> None:
    """§3.3, §1.4: a publish body holding ``NaN``/``Infinity`` (Python's parser takes them,
    JSON does not) is a 400 in text and nothing is stored. Before, it was stored and the
    packument every npm client then read held ``NaN``: not JSON, so no client could
    install the package."""
    body = json.dumps(npm_publish_body("nan-pkg", "1.0.0", "http://localhost/npm/npm-a/"))
    body = body.replace('"version": "1.0.0"', f'"version": "1.0.0", "weird": {constant}', 1)
    assert constant in body
    response = CLIENT.put("/npm/npm-a/nan-pkg", data=body, content_type="application/json",
                          headers={"Authorization": "Bearer npm-publish-a"})
    assert response.status_code == 400 and response.mimetype == "text/plain", response.get_data(as_text=True)
    assert "as JSON" in response.get_data(as_text=True)
    assert CLIENT.get("/npm/npm-a/nan-pkg").status_code == 404


@pytest.mark.parametrize("constant", NOT_JSON)
def test_a_tarball_or_upack_manifest_with_nan_is_refused(constant: str) -> None:
    """§3.3, §5, §1.4: the same for a package.json inside an npm tarball (the Common
    Packages API upload) and a ``upack.json``: a 400, nothing published, and every
    answer about the feed stays strict JSON."""
    tarball = _tarball_with(f'{{"name": "nan-tgz", "version": "1.0.0", "x": {constant}}}')
    response = CLIENT.put("/api/packages/npm-a/upload", data=tarball,
                          headers={"Authorization": "Bearer npm-publish-a"})
    assert response.status_code == 400 and response.mimetype == "text/plain", response.get_data(as_text=True)
    assert CLIENT.get("/npm/npm-a/nan-tgz").status_code == 404
    manifest = f'{{"group": "g", "name": "nan-upack", "version": "1.0.0", "title": {constant}}}'
    response = CLIENT.put("/upack/universal-a/upload", data=zip_of({"upack.json": manifest}),
                          headers={"X-ApiKey": "universal-publish-a", "Content-Type": "application/zip"})
    assert response.status_code == 400 and response.mimetype == "text/plain", response.get_data(as_text=True)
    listed = CLIENT.get("/upack/universal-a/packages", headers={"X-ApiKey": "universal-publish-a"})
    json.loads(listed.get_data(as_text=True), parse_constant=lambda c: pytest.fail(f"{c} in the answer"))
    assert "nan-upack" not in listed.get_data(as_text=True)
