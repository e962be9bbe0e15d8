"""The pytest plugin as another project sees it: fixtures, settings, options, remote mode."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from typing import Any

import pytest

from mockproget import MockProGet

ADMIN_KEY = "0123456789abcdef0123456789abcdef01234567"

PROJECT_TESTS = '''
import pytest
from mockproget import MockProGet

created = []

def test_server_is_the_embedded_mock(proget_server):
    assert isinstance(proget_server, MockProGet) and proget_server.url.endswith("/")

def test_client_creates(proget_client, proget):
    info = proget_client.create({"type": "system", "systemApis": ["sca"], "logging": "none",
                                 "displayName": proget_client.display_name("x")}).json()
    created.append(info["id"])
    assert proget.backend.get_api_key(info["id"]) is not None

def test_client_keys_are_gone_after_the_test(proget_server):
    # no reset here (proget_server, not proget): the client's teardown deleted the key
    assert created and proget_server.backend.get_api_key(created[0]) is None

@pytest.mark.proget_settings(pseudo_keys=False, edition="Basic")
def test_marker_settings(proget):
    assert proget.backend.settings.edition == "Basic" and not proget.backend.settings.pseudo_keys

def test_settings_restored(proget_server):
    assert proget_server.backend.settings.edition == "Enterprise"
'''

REMOTE_TESTS = '''
import pytest

def test_remote_proget_has_no_backend(proget):
    proget.backend

def test_remote_settings_skip(proget):
    pass
test_remote_settings_skip = pytest.mark.proget_settings(hash_keys=True)(test_remote_settings_skip)

def test_client_talks_to_the_remote(proget_client, proget_target, proget_server):
    assert proget_target.url == proget_server.url and not proget_target.is_mock
    assert proget_client.list().status_code == 200
'''


def _run(path: Any, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("PROGET_", "MOCKPROGET_TARGET_"))}
    environ.update(env)
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--strict-markers",
                           "-rs", *args], cwd=path, env=environ, capture_output=True, text=True, timeout=120)


def test_fixtures_reset_clean_up_and_restore_settings(tmp_path: Any) -> None:
    (tmp_path / "test_project.py").write_text(textwrap.dedent(PROJECT_TESTS))
    run = _run(tmp_path, "-p", "no:randomly")
    assert run.returncode == 0, run.stdout[-3000:]
    assert "5 passed" in run.stdout


@pytest.fixture
def remote() -> Iterator[MockProGet]:
    with MockProGet(admin_key=ADMIN_KEY) as server:
        yield server


def test_remote_target_from_environment(tmp_path: Any, remote: MockProGet) -> None:
    (tmp_path / "test_remote.py").write_text(textwrap.dedent(REMOTE_TESTS))
    run = _run(tmp_path, MOCKPROGET_TARGET_URL=remote.url, MOCKPROGET_TARGET_API_KEY=ADMIN_KEY)
    assert run.returncode == 0, run.stdout[-3000:]
    assert "1 passed, 2 skipped" in run.stdout
    assert "seeding state through the backend needs the embedded mock" in run.stdout
    assert "instance settings can only be changed on the embedded mock" in run.stdout
    assert ADMIN_KEY not in run.stdout


def test_remote_target_from_options_needs_a_key(tmp_path: Any, remote: MockProGet) -> None:
    (tmp_path / "test_remote.py").write_text(textwrap.dedent(REMOTE_TESTS))
    run = _run(tmp_path, "--proget-url", remote.url, "-k", "talks")
    assert run.returncode != 0
    assert "--proget-url needs --proget-api-key (or MOCKPROGET_TARGET_API_KEY)" in run.stdout + run.stderr
    run = _run(tmp_path, "--proget-url", remote.url, "--proget-api-key", ADMIN_KEY, "-k", "talks")
    assert run.returncode == 0, run.stdout[-3000:]


def test_options_are_listed_in_help(tmp_path: Any) -> None:
    run = _run(tmp_path, "--help")
    for option in ("--proget-url", "--proget-api-key", "--proget-username", "--proget-password",
                   "--proget-feed", "--proget-feed-group", "--proget-user", "--proget-readonly",
                   "--proget-anonymous",
                   "--proget-max-examples", "--proget-seed"):
        assert option in run.stdout
    assert "MOCKPROGET_TARGET_URL" in run.stdout
