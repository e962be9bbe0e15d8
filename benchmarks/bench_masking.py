"""Masking does not slow down as secrets pile up (one automaton pass, not one per key).

    python benchmarks/bench_masking.py [--keys N]

Masks the same texts (an access-log line, a header value, a JSON body, a percent- and
JSON-escaped text) with a masker knowing 10 secrets (the baseline) and one knowing
``--keys`` secrets, and prints the median time per call for each and their ratio (about
1 means the cost does not depend on how many secrets exist). Also prints how long
building the automata takes, in bulk and one secret at a time.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from urllib.parse import quote

from mockproget.masking import Masker


def masker_with(count: int) -> tuple[Masker, str]:
    masker = Masker()
    masker.replace([(f"filler-key-{i:08d}-{i * 7919 % 100_003:06d}", None) for i in range(count - 1)]
                   + [("c@r0l pass/word", "carol")])
    return masker, "c@r0l pass/word"


def texts(secret: str) -> dict[str, str]:
    return {
        "access-log line": f'127.0.0.1 "GET /api/api-keys/list?key={quote(secret)}&x=1 HTTP/1.1" 200 -',
        "header value": "Mozilla/5.0 (X11; Linux x86_64) " * 8,
        "JSON body (2 KiB)": json.dumps({"type": "personal", "user": "carol", "note": "n" * 2000,
                                         "API_Key": f"carol:{secret}"}),
        "escaped text": f"note=token+{quote(secret)}&j={json.dumps(secret)}" * 4,
    }


def per_call(masker: Masker, text: str, rounds: int = 2_000) -> float:
    samples = []
    for _ in range(9):
        began = time.perf_counter()
        for _ in range(rounds):
            masker.mask(text)
        samples.append((time.perf_counter() - began) / rounds)
    return statistics.median(samples)


def _once(masker: Masker, text: str, keep: int) -> float:
    began = time.perf_counter()
    masker.mask(text, keep)
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=100_000)
    args = parser.parse_args()
    began = time.perf_counter()
    large, secret = masker_with(args.keys)
    bulk = time.perf_counter() - began
    small, _ = masker_with(10)
    print(f"{'':22}{'10 keys':>12}{f'{args.keys:,} keys':>16}{'ratio':>8}  (microseconds per call)")
    for name, text in texts(secret).items():
        assert secret not in small.mask(text) and secret not in large.mask(text)
        a, b = per_call(small, text), per_call(large, text)
        print(f"{name:22}{a * 1e6:12.1f}{b * 1e6:16.1f}{b / a:8.2f}")
    hostile = "%41\\u0041+" * 6500  # a 64 KiB header value of nothing but escapes
    whole = per_call(large, hostile, rounds=3)
    cut = statistics.median([_once(large, hostile, 1024) for _ in range(30)])
    print(f"hostile 64 KiB of escapes: {whole * 1e3:.1f} ms whole, {cut * 1e3:.2f} ms when only "
          f"1,024 characters are kept (the journal's header cap)")
    one_by_one = Masker()
    began = time.perf_counter()
    for i in range(10_000):
        one_by_one.add(f"added-key-{i:08d}")
    added = time.perf_counter() - began
    print(f"building: {args.keys:,} secrets in bulk {bulk:.2f} s; "
          f"10,000 added one at a time {added:.2f} s ({added / 10_000 * 1e6:.0f} us each)")


if __name__ == "__main__":
    main()
