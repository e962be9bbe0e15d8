"""Shared fixtures for the project's own tests: one mock per session, reset per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from mockproget import MockProGet


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
