"""Key lookup does not slow down as keys pile up (no linear scan).

    python benchmarks/bench_auth.py [--keys N]

Authenticates the same key against a backend holding 10 keys (the baseline) and one
holding ``--keys`` keys, and prints the median time per authentication for each and
their ratio (about 1 means the lookup does not depend on how many keys exist). A
pseudo-key (``user:password``, which misses the key index and checks a password
digest) is measured the same way.
"""

from __future__ import annotations

import argparse
import statistics
import time

from mockproget import Backend, Forbidden, NewApiKey
from mockproget.models import Credential


def backend_with(count: int) -> tuple[Backend, str]:
    backend = Backend(seed=1)
    for i in range(count - 1):
        backend.add_api_key(NewApiKey(type="system", system_apis=("sca",), key=f"filler-{i:08d}"))
    _, text = backend.add_api_key(NewApiKey(type="system", system_apis=("full-control",)))
    return backend, text


def per_call(backend: Backend, credential: Credential, rounds: int = 1_000) -> float:
    """Median seconds per ``authenticate`` call (a refusal counts as an answer too)."""
    samples = []
    for _ in range(15):
        began = time.perf_counter()
        for _ in range(rounds):
            try:
                backend.authenticate(credential, manage_keys=True)
            except Forbidden:
                pass
        samples.append((time.perf_counter() - began) / rounds)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=100_000)
    args = parser.parse_args()
    small, small_key = backend_with(10)
    large, large_key = backend_with(args.keys)
    print(f"{'':28}{'10 keys':>12}{f'{args.keys:,} keys':>16}{'ratio':>8}  (microseconds per call)")
    for label, small_text, large_text in (
        ("api key (header)", small_key, large_key),
        ("pseudo-key Admin:Admin", "Admin:Admin", "Admin:Admin"),
        ("unknown key (403)", "nope", "nope"),
    ):
        a = per_call(small, Credential("header", small_text))
        b = per_call(large, Credential("header", large_text))
        print(f"{label:28}{a * 1e6:>12.2f}{b * 1e6:>16.2f}{b / a:>8.2f}")


if __name__ == "__main__":
    main()
