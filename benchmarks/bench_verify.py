"""How long a default ``mockproget verify`` run takes against ``mockproget serve``.

    python benchmarks/bench_verify.py [--rounds N]

Starts ``mockproget serve`` on a free port, then times ``mockproget verify`` with every
name given (so no clause skips for want of one), and a ``--readonly`` run beside it as
the baseline (the clauses that create nothing). Prints the medians, their ratio, and the
full run's share of the 20-second budget a default run should stay within on a 2-core
machine. The slowest clauses come from verify's own ``--durations``.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time

ADMIN_KEY = "0123456789abcdef0123456789abcdef01234567"
BUDGET_SECONDS = 20.0


def timed_verify(url: str, *extra: str) -> tuple[float, str]:
    began = time.perf_counter()
    run = subprocess.run(
        [sys.executable, "-m", "mockproget", "verify", "--url", url, "--username", "Admin",
         "--feed", "MyNpmFeed", "--feed-group", "MyFeedGroup", "--user", "johnsmith", *extra],
        env={**os.environ, "MOCKPROGET_TARGET_API_KEY": ADMIN_KEY, "MOCKPROGET_TARGET_PASSWORD": "Admin"},
        capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - began
    if run.returncode != 0:
        raise SystemExit(f"verify failed:\n{run.stdout[-3000:]}{run.stderr[-2000:]}")
    return elapsed, run.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    server = subprocess.Popen([sys.executable, "-m", "mockproget", "serve", "--port", "0"],
                              env={**os.environ, "MOCKPROGET_ADMIN_KEY": ADMIN_KEY},
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert server.stdout is not None
        url = re.search(r"listening on (\S+)", server.stdout.readline()).group(1)  # type: ignore[union-attr]
        full, readonly, report = [], [], ""
        for _ in range(args.rounds):
            seconds, report = timed_verify(url, "--durations", "5")
            full.append(seconds)
            readonly.append(timed_verify(url, "--readonly")[0])
    finally:
        server.terminate()
        server.wait(timeout=10)
    f, r = statistics.median(full), statistics.median(readonly)
    print(f"mockproget verify against mockproget serve, median of {args.rounds} (s)")
    print(f"{'default run':28}{f:>8.2f}")
    print(f"{'--readonly run (baseline)':28}{r:>8.2f}   ratio default/readonly: {f / r:.1f}")
    print(f"{'share of the 20 s budget':28}{f / BUDGET_SECONDS:>8.0%}")
    summary = report[report.index("slowest"):report.index("left behind")] if "slowest" in report else ""
    print(summary.rstrip())


if __name__ == "__main__":
    main()
