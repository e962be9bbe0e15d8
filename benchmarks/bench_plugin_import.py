"""What the mockproget plugin adds to the start of every pytest run in its environment.

    python benchmarks/bench_plugin_import.py [--rounds N]

The plugin is loaded (``pytest11`` entry point) by every pytest run where the package is
installed, in projects that never use it. This times ``pytest --collect-only`` on a
one-test project in a temporary folder, alternately with the plugin and without it
(``-p no:mockproget``, the baseline), and prints the medians and the difference (target:
under 50 ms). A third timing shows the cost once a test asks for the ``proget`` fixture
(the mock and Flask are imported then, and only then).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

TARGET_MS = 50.0


def timed(cwd: str, *args: str) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "MOCKPROGET_TARGET_"))}
    began = time.perf_counter()
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
                         cwd=cwd, env=env, capture_output=True, text=True, check=False)
    elapsed = (time.perf_counter() - began) * 1000
    if run.returncode != 0:
        raise SystemExit(f"pytest failed:\n{run.stdout[-3000:]}{run.stderr[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15, help="runs of each kind (default 15)")
    rounds = parser.parse_args().rounds
    with tempfile.TemporaryDirectory(prefix="mockproget-bench-") as project:
        with open(os.path.join(project, "test_plain.py"), "w", encoding="utf-8") as file:
            file.write("def test_plain():\n    assert True\n")
        with open(os.path.join(project, "test_uses.py"), "w", encoding="utf-8") as file:
            file.write("def test_uses(proget):\n    assert proget.url\n")
        timed(project, "--collect-only", "test_plain.py")  # warm the file cache
        without, with_plugin, used = [], [], []
        for _ in range(rounds):  # interleaved, so drift on a shared machine hits both alike
            without.append(timed(project, "--collect-only", "-p", "no:mockproget", "test_plain.py"))
            with_plugin.append(timed(project, "--collect-only", "test_plain.py"))
            used.append(timed(project, "test_uses.py"))
    base, plug, use = (statistics.median(x) for x in (without, with_plugin, used))
    added = plug - base
    print(f"pytest --collect-only, one test, median of {rounds} runs each:")
    print(f"  without the plugin (-p no:mockproget): {base:7.1f} ms")
    print(f"  with the plugin:                       {plug:7.1f} ms")
    print(f"  added by the plugin:                   {added:7.1f} ms "
          f"(ratio {plug / base:.3f}; target < {TARGET_MS:.0f} ms: {'met' if added < TARGET_MS else 'MISSED'})")
    print(f"  a run whose test uses `proget`:        {use:7.1f} ms (imports and starts the mock)")


if __name__ == "__main__":
    main()
