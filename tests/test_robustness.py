"""Bad input gets a clear 4xx, never a 500, and never a half-written state."""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from mockproget import MockProGet

PATHS = ["api/api-keys/create", "api/api-keys/list", "api/api-keys/delete"]
FIELDS = ["type", "key", "displayName", "description", "systemApis", "packagePermissions", "feed",
          "feedGroup", "expiration", "logging", "user", "id", "API_Key", "Type", "LOGGING"]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
#: Bodies shaped like ApiKeyInfo with any values: the schema's own paths get exercised.
near_api_key_info = st.dictionaries(
    st.sampled_from(FIELDS),
    json_values | st.sampled_from(["system", "feed", "personal", "other", "none", "both", "MyNpmFeed",
                                   "Admin", "2024-08-01T00:00:00", "9999-12-31T23:59:59-14:00"])
    | st.lists(st.sampled_from(["full-control", "feeds", "sca", "view", "add", "bogus"]), max_size=4),
    max_size=8,
)
bodies = st.one_of(
    st.binary(max_size=300),
    json_values.map(lambda v: json.dumps(v).encode()),
    near_api_key_info.map(lambda v: json.dumps(v).encode()),
)
content_types = st.one_of(
    st.sampled_from(["application/json", "application/json; charset=utf-8", "application/json; charset=latin-1",
                     "application/x-www-form-urlencoded", "multipart/form-data", "multipart/form-data; boundary=x",
                     "text/plain", "application/xml", "", "*/*", "application/json; charset=nonsense"]),
    st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=30).map(str.strip),
)
credentials = st.sampled_from([None, "admin", "Admin:Admin", "Admin:wrong", "", "garbage", "a:b:c"])
queries = st.dictionaries(st.sampled_from(["id", "key", "format", "x"]),
                          st.text(max_size=12) | st.integers().map(str), max_size=3)


@pytest.fixture(scope="module")
def server() -> Any:
    with MockProGet() as running:
        yield running


@settings(max_examples=300)
@given(path=st.sampled_from(PATHS), method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH"]),
       body=bodies, content_type=content_types, credential=credentials, query=queries,
       chunked=st.booleans())
def test_no_input_produces_a_500_or_a_partial_write(
        server: MockProGet, path: str, method: str, body: bytes, content_type: str,
        credential: str | None, query: dict[str, str], chunked: bool) -> None:
    """Issue 2: arbitrary bytes, JSON values and content types → only 2xx/4xx, text errors."""
    headers = {"Content-Type": content_type}
    if credential is not None:
        headers["X-ApiKey"] = server.admin_key if credential == "admin" else credential
    before = len(server.backend.api_keys)
    data: Any = iter([body[: len(body) // 2], body[len(body) // 2:]]) if chunked else body
    response = requests.request(method, server.url + path, params=query, data=data, headers=headers, timeout=10)
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.headers["Content-Type"].startswith("text/plain")
        assert response.text.strip()
    after = len(server.backend.api_keys)
    created = response.status_code == 200 and path.endswith("create")
    deleted = response.status_code == 200 and path.endswith("delete")
    assert after == before + created - deleted


@settings(max_examples=150)
@given(raw=st.binary(min_size=1, max_size=200) | st.builds(
    lambda line, headers, body: line + b"\r\n" + headers + b"\r\n\r\n" + body,
    st.sampled_from([b"POST /api/api-keys/create HTTP/1.1", b"GET /api/api-keys/list HTTP/1.1",
                     b"POST /api/api-keys/delete?id=1 HTTP/1.1", b"GET /%ff%00 HTTP/1.1", b"BREW / HTCPCP/1.0"]),
    st.lists(st.sampled_from([b"Host: x", b"Transfer-Encoding: chunked", b"Content-Length: 5",
                              b"Content-Length: -1", b"Content-Length: x", b"Content-Type: application/json",
                              b"X-ApiKey: Admin:Admin", b"X-ApiKey: \xff\xfe", b"Expect: 100-continue"]),
             max_size=5).map(b"\r\n".join),
    st.binary(max_size=60)))
def test_raw_bytes_on_the_socket_never_get_a_500(server: MockProGet, raw: bytes) -> None:
    """Issue 2 acceptance: below HTTP too, malformed request lines, lengths and chunk streams are refused, not crashed on."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        try:
            sock.sendall(raw)
            sock.shutdown(socket.SHUT_WR)
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        except ConnectionResetError:
            return  # the server may close a hopeless connection; that is not a 500
    assert not answer.startswith(b"HTTP/1.1 5") and not answer.startswith(b"HTTP/1.0 5"), answer[:300]


@pytest.mark.parametrize("method, path, status", [
    ("GET", "nothing/here", 404), ("GET", "api/api-keys", 404), ("GET", "api/api-keys/create", 405),
    ("PUT", "api/api-keys/list", 405), ("GET", "api/api-keys/delete", 405), ("POST", "health", 405),
])
def test_unknown_paths_and_wrong_methods_get_text(server: MockProGet, method: str, path: str, status: int) -> None:
    """Issue 2 point 3: unknown paths 404, wrong methods 405 with ``Allow``, text bodies."""
    response = requests.request(method, server.url + path)
    assert response.status_code == status
    assert response.headers["Content-Type"].startswith("text/plain")
    assert response.text.strip()
    if status == 405:
        assert "Allow" in response.headers
        assert response.headers["Allow"].split(", ")[0] in response.text or "use" in response.text


# -- methods and upgrades no route speaks -----------------------------------------------------


@pytest.mark.parametrize("path, allowed", [("api/api-keys/create", "POST"), ("api/api-keys/list", "GET"),
                                           ("health", "GET"), ("__mockproget__/journal", "GET, DELETE"),
                                           ("__mockproget__/faults", "GET, POST, DELETE")])
def test_options_is_a_405_in_text_like_any_method_a_route_does_not_take(mock: MockProGet, path: str,
                                                                        allowed: str) -> None:
    """§6 (docs/fidelity.md): no route takes OPTIONS, so it is answered as any other
    method a route does not take: 405 in text, naming what the route does take, and an
    ``Allow`` header (not Flask's empty 200)."""
    response = requests.options(mock.url + path, timeout=10)
    assert response.status_code == 405, response.text
    assert response.headers["Content-Type"].startswith("text/plain")
    assert response.text == f"Method OPTIONS is not allowed on /{path}; use {allowed}.\n"
    assert "OPTIONS" not in response.headers["Allow"]
    assert [m for m in response.headers["Allow"].split(", ") if m != "HEAD"] == allowed.split(", ")  # one order


@pytest.mark.parametrize("upgrade", ["websocket", "WebSocket", "h2c"])
def test_an_upgrade_request_is_served_as_the_http_request_it_also_is(mock: MockProGet, upgrade: str) -> None:
    """RFC 9110 §7.8: a server may ignore ``Upgrade``; no route speaks WebSocket, so a
    request asking for one gets the answer it would get without (not a 400)."""
    headers = {"Upgrade": upgrade, "Connection": "Upgrade"}
    assert requests.get(mock.url + "health/json", headers=headers, timeout=10).json()["applicationName"] == "ProGet"
    made = requests.post(mock.url + "api/api-keys/create", timeout=10,
                         json={"type": "system", "systemApis": ["sca"], "logging": "none"},
                         headers={**headers, "X-ApiKey": mock.admin_key})
    assert made.status_code == 200 and made.json()["type"] == "system"
    assert requests.get(mock.url + "api/api-keys/list", headers=headers, timeout=10).status_code == 403
    wrong = requests.post(mock.url + "health", headers=headers, timeout=10)
    assert wrong.status_code == 405 and wrong.text.startswith("Method POST is not allowed on /health")
