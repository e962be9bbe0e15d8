"""Shared fixtures for the project's own tests: one mock per session, reset per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from mockproget import MockProGet

pytest_plugins = ["pytester"]  # the kit's own plugin comes from its entry point only


@pytest.fixture(scope="session")
def mock_server() -> Iterator[MockProGet]:
    """One embedded mock on an ephemeral port for the whole session."""
    with MockProGet() as server:
        yield server


@pytest.fixture
def mock(mock_server: MockProGet) -> MockProGet:
    """The session's mock, reset to its seeded state before the test."""
    mock_server.reset()
    return mock_server


@pytest.fixture
def http() -> Iterator[requests.Session]:
    """A plain ``requests`` session (no credentials attached)."""
    with requests.Session() as session:
        yield session


#: The pseudo-key of the seeded administrator (spec §3; README "Trying it").
ADMIN_PSEUDO_KEY = "Admin:Admin"


class Api:
    """A tiny client for the api-keys endpoints of one server, over a real socket."""

    def __init__(self, server: MockProGet, session: requests.Session) -> None:
        self.server, self.session, self.url = server, session, server.url

    def create(self, body: object, key: str | None = ADMIN_PSEUDO_KEY, **kwargs: object) -> requests.Response:
        headers = {"X-ApiKey": key} if key is not None else {}
        return self.session.post(self.url + "api/api-keys/create", json=body, headers=headers, **kwargs)

    def list(self, key: str | None = ADMIN_PSEUDO_KEY) -> requests.Response:
        headers = {"X-ApiKey": key} if key is not None else {}
        return self.session.get(self.url + "api/api-keys/list", headers=headers)

    def delete(self, key_id: object, key: str | None = ADMIN_PSEUDO_KEY) -> requests.Response:
        headers = {"X-ApiKey": key} if key is not None else {}
        return self.session.post(self.url + "api/api-keys/delete", params={"id": key_id}, headers=headers)

    def new_key(self, body: object, key: str | None = ADMIN_PSEUDO_KEY) -> dict[str, object]:
        """Create a key that must be created; its ``ApiKeyInfo``."""
        response = self.create(body, key)
        assert response.status_code == 200, response.text
        return response.json()

    def ids(self, key: str | None = ADMIN_PSEUDO_KEY) -> list[int]:
        response = self.list(key)
        assert response.status_code == 200, response.text
        return [info["id"] for info in response.json()]


@pytest.fixture
def api(mock: MockProGet, http: requests.Session) -> Api:
    """:class:`Api` bound to the freshly reset session mock."""
    return Api(mock, http)
