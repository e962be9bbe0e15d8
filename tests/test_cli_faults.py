"""Issue 3 §1, §3, §5: ``mockproget serve`` with fault rules, the journal size and the
control token; bad rules refused before anything starts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import requests
from serve_process import ServeProcess

from mockproget.cli import main


@pytest.mark.parametrize(("args", "wording"), [
    (["--fault", "POST /api/* status=99"], "--fault 'POST /api/* status=99': status: must be at least 200"),
    (["--fault", "GET /x explode"], "syntax: cannot read 'explode'"),
    (["--fault", "{path = "], "syntax: not a TOML inline table"),
    (["--fault", "reset name=a", "--fault", "close name=a"], "name: a fault rule named 'a' already exists"),
])
def test_bad_fault_spec_is_one_line_and_exit_2(args: list[str], wording: str,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 3 §1: a bad ``--fault`` is refused with one line naming it; exit status 2."""
    assert main(["serve", "--port", "0", *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("mockproget: bad configuration: ") and wording in err


def test_bad_faults_table_names_file_and_setting(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 3 §1: a bad ``[[faults]]`` table: one line naming file, setting, problem; exit 2."""
    path = tmp_path / "mock.toml"
    path.write_text('[[faults]]\naction = "reset"\n\n[[faults]]\naction = "delay"\nsigma = 1\n', encoding="utf-8")
    assert main(["serve", "--config", str(path), "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert err == f"mockproget: bad configuration: {path}: faults[1].delay: give exactly one of: " \
                  "duration_ms (fixed); lower_ms and upper_ms (uniform); median_ms and sigma (lognormal)\n"


def test_journal_size_must_be_positive() -> None:
    """Issue 3 §4: ``--journal-size`` takes a positive integer (argparse: exit 2)."""
    with pytest.raises(SystemExit) as caught:
        main(["serve", "--journal-size", "0"])
    assert caught.value.code == 2


def test_serve_prints_seed_and_rules_and_takes_the_flags() -> None:
    """Issue 3 §2, §4, §5: the seed and the rules are printed at start; ``--journal-size``
    and ``--control-token`` take effect; no warning on a loopback address."""
    process = ServeProcess("--seed", "17", "--journal-size", "3", "--control-token", "t0ken-xyz",
                       "--fault", "GET /health 503 name=busy")
    try:
        assert "mockproget: seed: 17\n" in process.lines
        assert "mockproget: fault rules: busy\n" in process.lines
        assert requests.get(process.url + "health", timeout=10).status_code == 503
        assert requests.get(process.url + "__mockproget__/settings", timeout=10).status_code == 403
        settings = requests.get(process.url + "__mockproget__/settings", timeout=10,
                                headers={"X-MockProGet-Token": "t0ken-xyz"}).json()
        assert settings["seed"] == 17 and settings["journal_size"] == 3
    finally:
        err = process.stop()
    assert "warning" not in err and "t0ken-xyz" not in "".join(process.lines) + err


def test_non_loopback_without_token_warns() -> None:
    """Issue 3 §5: binding a non-loopback address with no control token warns at start."""
    process = ServeProcess("--host", "0.0.0.0")
    err = process.stop()
    assert "mockproget: warning: 0.0.0.0 is not a loopback address" in err
    assert "--control-token" in err


def test_help_documents_the_flags() -> None:
    """Issue 3 §3: the new flags are documented in ``serve --help``."""
    out = subprocess.run([sys.executable, "-m", "mockproget", "serve", "--help"], capture_output=True,
                         text=True, check=True).stdout
    for flag in ("--fault SPEC", "--control-token TOKEN", "--journal-size N", "--seed"):
        assert flag in out
