"""The downstream example project runs as a user would run it: its own root, the plugin
active through the package's entry point, serially and under pytest-xdist."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

EXAMPLE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples", "downstream")


@pytest.mark.parametrize("extra", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_downstream_example_passes(extra: list[str]) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PROGET_", "MOCKPROGET_TARGET_"))}
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", *extra], cwd=EXAMPLE, env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert re.search(r"\b12 passed\b", run.stdout.strip().splitlines()[-1]), run.stdout[-500:]
