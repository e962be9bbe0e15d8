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



# A downstream suite that only needs a ProGet to talk to (works against a remote target too),
# and one that needs the embedded mock.
PORTABLE_TESTS = '''
import requests

def test_admin_lists(proget):
    r = requests.get(proget.url + "api/api-keys/list", headers={"X-ApiKey": proget.admin_key}, timeout=10)
    assert r.status_code == 200

def test_client_talks_to_the_target(proget_client, proget_target, proget_server):
    assert proget_target.url == proget_server.url
    assert proget_client.list().status_code == 200
'''

MOCK_ONLY_TESTS = '''
import pytest

def test_is_the_embedded_mock(proget):
    assert proget.backend.settings.edition == "Enterprise"

@pytest.mark.proget_settings(hash_keys=True)
def test_settings(proget):
    assert proget.backend.settings.hash_keys
'''


@pytest.fixture
def remote() -> Iterator[MockProGet]:
    with MockProGet(admin_key=ADMIN_KEY) as server:
        yield server


def _project(path: Any, **files: str) -> Any:
    for name, text in files.items():
        target = path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(text))
    return path


def test_remote_target_from_environment(tmp_path: Any, remote: MockProGet) -> None:
    """Spec §1 (base URL) and §3 (X-ApiKey): with MOCKPROGET_TARGET_URL and _API_KEY, the
    fixtures talk to that server and the key never shows in the output."""
    _project(tmp_path, **{"test_portable.py": PORTABLE_TESTS})
    run = _run(tmp_path, MOCKPROGET_TARGET_URL=remote.url, MOCKPROGET_TARGET_API_KEY=ADMIN_KEY)
    assert run.returncode == 0, run.stdout[-3000:]
    assert "2 passed" in run.stdout
    assert ADMIN_KEY not in run.stdout + run.stderr
    # the requests went to the remote server, not to an embedded mock
    assert any(entry["path"] == "/api/api-keys/list" for entry in remote.journal.entries())


def test_mock_only_fixtures_fail_against_a_remote_target(tmp_path: Any, remote: MockProGet) -> None:
    """Spec §1: a remote target has no backend nor settings; a test that needs them fails
    with one line naming the target (it is not skipped: a green run must have tested)."""
    _project(tmp_path, **{"test_mock_only.py": MOCK_ONLY_TESTS})
    run = _run(tmp_path, "--proget-url", remote.url, "--proget-api-key", ADMIN_KEY)
    assert run.returncode == 1, run.stdout[-3000:]
    assert "1 failed, 1 error" in run.stdout and "skipped" not in run.stdout  # the fixture errs in setup
    assert f"seeding state through the backend needs the embedded mock: this run targets {remote.url}" in run.stdout
    assert "instance settings (hash_keys) can only be changed on the embedded mock" in run.stdout
    assert "Traceback" not in run.stdout


def test_proget_url_in_the_environment_changes_nothing(tmp_path: Any, remote: MockProGet) -> None:
    """The plugin reads only MOCKPROGET_TARGET_* variables: a project's own PROGET_URL /
    PROGET_API_KEY (common in ProGet automation) leave its suite on the embedded mock."""
    _project(tmp_path, **{"test_mock_only.py": MOCK_ONLY_TESTS, "test_portable.py": PORTABLE_TESTS})
    run = _run(tmp_path, PROGET_URL=remote.url, PROGET_API_KEY=ADMIN_KEY)
    assert run.returncode == 0, run.stdout[-3000:]
    assert "4 passed" in run.stdout and "skipped" not in run.stdout
    assert remote.journal.entries() == []


def test_a_project_with_its_own_contracts_package_runs_normally(tmp_path: Any) -> None:
    """The kit installs as ``mockproget_contracts``: a downstream ``contracts`` package (a
    common name) is the project's own, and the plugin still loads."""
    _project(tmp_path, **{
        "contracts/__init__.py": "NAME = 'ours'\n",
        "contracts/plugin.py": "raise RuntimeError('not the mockproget plugin')\n",
        "tests/test_own.py": '''
            import contracts

            def test_own_contracts_package(proget):
                assert contracts.NAME == "ours" and proget.url.startswith("http://127.0.0.1:")
            ''',
    })
    run = _run(tmp_path, "-p", "no:randomly")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "1 passed" in run.stdout


@pytest.mark.parametrize("args, env, message", [
    pytest.param([], {"MOCKPROGET_TARGET_URL": "http://127.0.0.1:9/"},
                 "a remote target (MOCKPROGET_TARGET_URL) needs an API key", id="url-env-no-key"),
    pytest.param(["--proget-url", "http://127.0.0.1:9/"], {},
                 "a remote target (--proget-url) needs an API key", id="url-option-no-key"),
    pytest.param(["--proget-api-key", "k"], {},
                 "--proget-api-key describe a remote target, but no --proget-url", id="key-without-url"),
    pytest.param(["--proget-url", "http://127.0.0.1:9/", "--proget-api-key", "k",
                  "--proget-username", "Admin"], {},
                 "--proget-username needs its pair", id="user-without-password"),
    pytest.param(["--proget-max-examples", "0"], {}, "--proget-max-examples must be at least 1", id="zero-examples"),
    pytest.param([], {"MOCKPROGET_TARGET_SEED": "abc"}, "--proget-seed must be an integer", id="bad-seed"),
    pytest.param([], {"MOCKPROGET_TARGET_FEED_TYPE": "maven"}, "--proget-feed-type must be one of npm, pypi,",
                 id="unknown-feed-type"),
])
def test_a_bad_target_option_is_one_usage_error(tmp_path: Any, args: list[str], env: dict[str, str],
                                                message: str) -> None:
    """A missing or contradictory option stops the run at start with exit 4 and ONE error
    line; no test runs (no per-test error)."""
    _project(tmp_path, **{"test_portable.py": PORTABLE_TESTS})
    run = _run(tmp_path, *args, **env)
    assert run.returncode == 4, run.stdout[-3000:] + run.stderr[-3000:]
    errors = [line for line in (run.stdout + run.stderr).splitlines() if line.startswith("ERROR:")]
    assert len(errors) == 1 and message in errors[0], run.stdout + run.stderr
    assert "passed" not in run.stdout and "error" not in run.stdout.lower()


def test_a_target_key_in_the_environment_alone_keeps_the_embedded_mock(tmp_path: Any) -> None:
    """A MOCKPROGET_TARGET_API_KEY exported for ``mockproget verify`` (as docs/conformance.md
    shows) does not switch anything on: without a URL the suite runs on the embedded mock."""
    _project(tmp_path, **{"test_mock_only.py": MOCK_ONLY_TESTS})
    run = _run(tmp_path, MOCKPROGET_TARGET_API_KEY=ADMIN_KEY, MOCKPROGET_TARGET_PASSWORD="pw")
    assert run.returncode == 0, run.stdout[-3000:]
    assert "2 passed" in run.stdout


def test_the_kit_without_a_key_is_one_usage_error(tmp_path: Any) -> None:
    """``pytest --pyargs mockproget_contracts --proget-url URL`` without a key: one usage
    line, not an error per clause."""
    run = _run(tmp_path, "--pyargs", "mockproget_contracts", "--proget-url", "http://127.0.0.1:9/")
    assert run.returncode == 4, run.stdout[-3000:] + run.stderr[-3000:]
    output = (run.stdout + run.stderr).strip().splitlines()
    assert len(output) <= 2 and "needs an API key" in output[0], output


def test_positional_marker_settings_are_refused(tmp_path: Any) -> None:
    """``@pytest.mark.proget_settings({"hash_keys": True})`` would silently do nothing:
    the test fails saying to use keyword arguments."""
    _project(tmp_path, **{"test_marker.py": '''
        import pytest

        @pytest.mark.proget_settings({"hash_keys": True})
        def test_positional(proget):
            pass
        '''})
    run = _run(tmp_path)
    assert run.returncode == 1, run.stdout[-3000:]
    assert ("@pytest.mark.proget_settings takes keyword arguments only, e.g. "
            "@pytest.mark.proget_settings(hash_keys=True); got positional {'hash_keys': True}") in run.stdout


def test_unknown_or_bad_settings_fail_with_one_line(tmp_path: Any) -> None:
    """Spec §5: a setting the mock does not have, or a value it refuses, fails the test with
    a message naming it (no traceback into the plugin)."""
    _project(tmp_path, **{"test_settings.py": '''
        import pytest

        @pytest.mark.proget_settings(hash_key=True)
        def test_typo(proget):
            pass

        @pytest.mark.proget_settings(edition="Gold")
        def test_bad_value(proget):
            pass
        '''})
    run = _run(tmp_path, "-p", "no:randomly")
    assert run.returncode == 1 and "2 error" in run.stdout, run.stdout[-3000:]
    assert "proget_settings {'hash_key': True}: unknown instance setting(s): hash_key" in run.stdout
    assert "proget_settings {'edition': 'Gold'}: edition must be one of Free, Basic, Enterprise" in run.stdout
    assert "plugin.py" not in run.stdout


def test_options_are_listed_in_help(tmp_path: Any) -> None:
    """The options and their environment variables are in ``pytest --help``."""
    run = _run(tmp_path, "--help")
    for option in ("--proget-url", "--proget-api-key", "--proget-username", "--proget-password",
                   "--proget-feed", "--proget-feed-group", "--proget-user", "--proget-readonly",
                   "--proget-anonymous", "--proget-max-examples", "--proget-seed"):
        assert option in run.stdout
    assert "MOCKPROGET_TARGET_URL" in run.stdout and "PROGET_URL]" not in run.stdout.replace("TARGET_URL]", "")


def test_loading_the_plugin_imports_neither_the_mock_nor_the_kit() -> None:
    """Every pytest run in the environment loads the plugin: it must not pull in Flask,
    werkzeug, hypothesis, requests or the mock (benchmarks/bench_plugin_import.py measures
    the cost; this checks what is imported, which is what the cost comes from)."""
    probe = ("import sys, mockproget_contracts.plugin\n"
             "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))")
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    loaded = set(run.stdout.split())
    assert "mockproget_contracts" in loaded
    assert not loaded & {"flask", "werkzeug", "hypothesis", "requests", "marshmallow", "mockproget"}, loaded
    loaded_modules = subprocess.run(
        [sys.executable, "-c", "import sys, mockproget_contracts.plugin\n"
                               "print(' '.join(m for m in sys.modules if m.startswith('mockproget_contracts.')))"],
        capture_output=True, text=True, timeout=60).stdout.split()
    assert set(loaded_modules) <= {"mockproget_contracts.plugin", "mockproget_contracts.options",
                                   "mockproget_contracts.constants", "mockproget_contracts.verify"}, loaded_modules
