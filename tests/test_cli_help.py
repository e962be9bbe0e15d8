"""``mockproget`` as a newcomer meets it: ``--version``, help without a command, and help
texts that say what each command does, with examples, variables and exit codes."""

from __future__ import annotations

import subprocess
import sys

import pytest

from mockproget import __version__


def _mockproget(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mockproget", *args], capture_output=True, text=True,
                          timeout=60)


def test_version() -> None:
    """``mockproget --version`` prints the installed version and exits 0."""
    run = _mockproget("--version")
    assert run.returncode == 0 and run.stdout.strip() == f"mockproget {__version__}"


def test_no_command_prints_help_and_exits_2() -> None:
    """``mockproget`` alone prints the help (not an error) and exits 2, a usage error."""
    run = _mockproget()
    assert run.returncode == 2
    assert run.stdout.startswith("usage: mockproget") and "serve" in run.stdout and "verify" in run.stdout
    assert "error" not in run.stderr


@pytest.mark.parametrize("command, needles", [
    ("serve", ["Run the mock ProGet server until interrupted", "examples:", "MOCKPROGET_ADMIN_KEY",
               "MOCKPROGET_CONTROL_TOKEN", "exit codes:", "1  cannot listen"]),
    ("verify", ["Check a server", "examples:", "MOCKPROGET_TARGET_API_KEY", "MOCKPROGET_TARGET_URL",
                "exit codes:", "3    the target is unreachable", "130  interrupted"]),
])
def test_command_help_has_description_examples_variables_exit_codes(command: str, needles: list[str]) -> None:
    """``serve --help`` / ``verify --help`` keep the lines of their examples and tables."""
    run = _mockproget(command, "--help")
    assert run.returncode == 0
    for needle in needles:
        assert needle in run.stdout, needle
    examples = run.stdout.split("examples:")[1].splitlines()
    assert all(line.startswith("  ") for line in examples[1:3])  # one example per line, indented
    assert any(line.strip().startswith(f"mockproget {command}") or f" mockproget {command}" in line
               for line in examples)
