"""A downstream project type-checks its use of mockproget with ``mypy --strict``: both
packages ship ``py.typed`` (PEP 561), so no ``ignore_missing_imports`` is needed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

DOWNSTREAM = '''
from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from mockproget import Config, FaultRule, Journal, MockProGet
from mockproget_contracts import ProGetClient, Target


@pytest.fixture
def journal(proget: MockProGet) -> Journal:
    return proget.journal


def test_list(proget: MockProGet, journal: Journal) -> None:
    rule: FaultRule = proget.faults.add(method="POST", path="/api/api-keys/create", status=503, times=1)
    r = requests.get(proget.url + "api/api-keys/list", headers={"X-ApiKey": proget.admin_key}, timeout=10)
    assert r.status_code == 200 and rule.name
    entries = journal.entries(path="/api/api-keys/list")
    assert entries[-1]["status"] == 200


def test_client(proget_client: ProGetClient, proget_target: Target) -> None:
    assert proget_client.list().status_code == 200 and proget_target.url


def embedded() -> Iterator[str]:
    with MockProGet(Config(seed=1)) as server:
        yield server.url
'''

BROKEN = '''
from mockproget import MockProGet

def use(server: MockProGet) -> int:
    return server.url  # a str, not an int: mypy must say so
'''


def _mypy(tmp_path: Path, source: str) -> subprocess.CompletedProcess[str]:
    site = tmp_path / "site"
    if not site.exists():  # the packages as `pip install mockproget` lays them out (not editable),
        tree = tmp_path / "source"  # built from a clean copy: no stale build/ of the checkout
        for name in ("mockproget", "contracts"):
            shutil.copytree(ROOT / name, tree / name, ignore=shutil.ignore_patterns("__pycache__"))
        for name in ("pyproject.toml", "README.md"):
            shutil.copy(ROOT / name, tree / name)
        install = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                                  "--target", str(site), str(tree)], capture_output=True, text=True, timeout=300)
        assert install.returncode == 0, install.stderr[-3000:]
        for shipped in ("mockproget/py.typed", "mockproget_contracts/py.typed", "mockproget/openapi.json"):
            assert (site / shipped).is_file(), f"{shipped} is not in the installed package"
    (tmp_path / "test_downstream.py").write_text(textwrap.dedent(source))
    env = {**os.environ, "PYTHONPATH": str(site)}
    return subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-incremental", "test_downstream.py"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)


def test_downstream_file_passes_mypy_strict(tmp_path: Path) -> None:
    """PEP 561: a file using MockProGet, the fixtures and the journal passes ``mypy --strict``
    with the installed packages, and mypy does see their types (a wrong one is reported)."""
    run = _mypy(tmp_path, DOWNSTREAM)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Success: no issues found in 1 source file" in run.stdout
    assert "py.typed" not in run.stdout and "missing library stubs" not in run.stdout
    run = _mypy(tmp_path, BROKEN)
    assert run.returncode == 1
    assert 'Incompatible return value type (got "str", expected "int")' in run.stdout, run.stdout
