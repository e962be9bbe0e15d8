"""The cost of the mock's own layers per request, in-process, every figure beside its
baseline, in one run (no sockets: what the server adds is bench_throughput.py's part).

    pip install -e . && python benchmarks/bench_layers.py [--requests N] [--rounds R] [--keys K]

Printed, as ratios measured in this run (interleaved rounds, medians):

1. ``POST api/api-keys/create`` through the mock's WSGI app vs a bare Flask create
   handler (the same environ, called directly): what the mock's layers (journal, faults,
   auth, schema, masking) cost over Flask itself;
2. one journal entry with the request's texts masked in one pass (``mask_many``) vs one
   masker call per text (how the journal masked before);
3. adding a secret to the masker with 10 and with ``--keys`` secrets known: a generated
   key (40 hex digits, kept in a set) and a custom text (kept in automata); and masking a
   request's texts at both sizes;
4. a user's ``list`` at 10 and at ``--keys`` stored keys, for a user who owns 10.

The machine's load average is printed with the figures: compare ratios, not absolute
numbers, between machines.
"""

from __future__ import annotations

import argparse
import io
import os
import secrets
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from typing import Any

from bench_throughput import ADMIN, BODY, bare_app  # the same bare handler, the same request
from mockproget import Backend, Config, NewApiKey, create_app
from mockproget.journal import build_entry
from mockproget.masking import Masker
from mockproget.models import Credential, Principal


def environ() -> dict[str, Any]:
    """What waitress hands an app for the benchmark's create (keep-alive client)."""
    return {
        "REQUEST_METHOD": "POST", "SCRIPT_NAME": "", "PATH_INFO": "/api/api-keys/create",
        "QUERY_STRING": "", "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8624",
        "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1", "REMOTE_HOST": "127.0.0.1",
        "REMOTE_PORT": "50000", "HTTP_HOST": "127.0.0.1:8624", "HTTP_X_APIKEY": ADMIN,
        "HTTP_USER_AGENT": "python-requests/2.32.3", "HTTP_ACCEPT_ENCODING": "gzip, deflate",
        "HTTP_ACCEPT": "*/*", "HTTP_CONNECTION": "keep-alive",
        "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(BODY)),
        "wsgi.input": io.BytesIO(BODY), "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr,
        "wsgi.version": (1, 0), "wsgi.multithread": True, "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }


def _start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
    if not status.startswith("200"):
        raise RuntimeError(f"the benchmark's create was refused: {status}")
    return lambda data: None


def per_request(app: Any, count: int) -> float:
    """Seconds per create through ``app`` (a WSGI callable)."""
    began = time.perf_counter()
    for _ in range(count):
        result: Iterable[bytes] = app(environ(), _start_response)
        b"".join(result)
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return (time.perf_counter() - began) / count


def per_call(step: Callable[[], object], count: int) -> float:
    began = time.perf_counter()
    for _ in range(count):
        step()
    return (time.perf_counter() - began) / count


def interleaved(steps: dict[str, Callable[[], float]], rounds: int) -> dict[str, float]:
    """The median of ``rounds`` interleaved runs of each step (a change in the machine's
    load hits them all)."""
    samples: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(rounds):
        for name, step in steps.items():
            samples[name].append(step())
    return {name: statistics.median(values) for name, values in samples.items()}


def _masker(count: int, custom: bool = False) -> Masker:
    """A masker of ``count`` generated keys (40 hex digits: its set), or of as many
    custom texts (its automata)."""
    masker = Masker()
    masker.replace([(_secret(custom), None) for _ in range(count)])
    return masker


def _secret(custom: bool) -> str:
    return "custom-" + secrets.token_urlsafe(24) if custom else secrets.token_hex(20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="creates per round and app")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds")
    parser.add_argument("--keys", type=int, default=100_000, help="secrets / stored keys for the flatness figures")
    args = parser.parse_args()
    n, rounds = args.requests, args.rounds
    print(f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())}; {os.cpu_count()} CPUs; "
          f"{n} requests per round, {rounds} rounds")

    # 1. the mock's create vs a bare Flask create, both called as WSGI apps
    mock, bare = create_app(Config(port=0, admin_key=ADMIN)), bare_app()
    per_request(mock, 200), per_request(bare, 200)  # warm-up
    apps = interleaved({"bare": lambda: per_request(bare, n), "mock": lambda: per_request(mock, n)}, rounds)
    print("\ncreate, in-process (WSGI, no server), per request")
    print(f"  bare Flask create handler      {apps['bare'] * 1e6:8.1f} us")
    print(f"  the mock's create              {apps['mock'] * 1e6:8.1f} us")
    print(f"  ratio bare / mock (speed)      {apps['bare'] / apps['mock']:8.2f}"
          "   (the mock's layers over Flask's own cost)")

    # 2. one journal entry: one masker pass for all texts vs one call per text
    backend: Backend = mock.extensions["mockproget"]
    env = environ()
    env["mockproget.principal"] = Principal(kind="api-key", carrier="header", key_id=1,
                                            key_type="system", admin=True, logging="none")
    env["mockproget.created_key"] = secrets.token_hex(20)
    env["mockproget.body"] = BODY

    def entry(batched: bool) -> Callable[[], float]:
        many = backend.mask_many if batched else None
        return lambda: per_call(lambda: build_entry(
            env, when=0.0, duration=0.001, status=200, response_type="application/json",
            response=b"{}", mask=backend.mask, mask_many=many), n)

    entries = interleaved({"one pass": entry(True), "one call per text": entry(False)}, rounds)
    print(f"\njournal entry of that request ({len(backend.masker):,} secrets known)")
    print(f"  one masker call per text       {entries['one call per text'] * 1e6:8.1f} us")
    print(f"  one pass (mask_many)           {entries['one pass'] * 1e6:8.1f} us")
    print(f"  ratio                          {entries['one call per text'] / entries['one pass']:8.2f}")

    # 3. the masker at 10 and at --keys secrets
    large = {False: _masker(args.keys), True: _masker(args.keys, custom=True)}
    texts: list[tuple[str, int | None]] = [
        ("POST", 32), ("/api/api-keys/create", 8192), ("", 8192), ("127.0.0.1:8624", 1024),
        ("python-requests/2.32.3", 1024), ("gzip, deflate", 1024), ("*/*", 1024),
        ("keep-alive", 1024), ("application/json", 1024), (str(len(BODY)), 1024), ("Host", 256),
        ("User-Agent", 256), ("Accept-Encoding", 256), ("Accept", 256), ("Connection", 256),
        ("Content-Type", 256), ("Content-Length", 256)]

    def adds_from(count: int, custom: bool) -> Callable[[], float]:
        def step() -> float:  # a fresh masker of ``count`` secrets each round
            masker = _masker(count, custom) if count < 1000 else large[custom]
            return per_call(lambda: masker.add(_secret(custom)), min(n, 500))
        return step

    def masks_with(masker: Masker) -> Callable[[], float]:
        return lambda: per_call(lambda: masker.mask_many(texts), n)

    short = _masker(10)
    short.add("hunter22", "carol")  # a password shorter than most of the texts: all are looked at
    adds = interleaved({"10": adds_from(10, False), "many": adds_from(args.keys, False),
                        "10 custom": adds_from(10, True), "many custom": adds_from(args.keys, True)}, rounds)
    masks = interleaved({"10": masks_with(_masker(10)), "many": masks_with(large[False]),
                         "short": masks_with(short)}, rounds)
    print("\nthe masker")
    print(f"  add a generated key: {adds['10'] * 1e6:.1f} us from 10 secrets, {adds['many'] * 1e6:.1f} us from "
          f"{args.keys:,}; ratio {adds['many'] / adds['10']:.2f} (a set insert: flat)")
    print(f"  add a custom secret: {adds['10 custom'] * 1e6:.1f} us from 10 secrets, {adds['many custom'] * 1e6:.1f} "
          f"us from {args.keys:,}; ratio {adds['many custom'] / adds['10 custom']:.2f} (new secrets go to small\n"
          "    automata; a rare merge into the largest one is not in this window: amortised, the cost grows as log n)")
    print(f"  mask a request's texts: {masks['10'] * 1e6:.1f} us at 10 secrets, {masks['many'] * 1e6:.1f} us at "
          f"{args.keys:,}; ratio {masks['many'] / masks['10']:.2f} (about 1: flat); "
          f"{masks['short'] * 1e6:.1f} us when an 8-character password is among them (every text looked at)")

    # 4. a user's list at 10 and at --keys stored keys
    lists: dict[str, Callable[[], float]] = {}
    for label, total in (("10", 10), ("many", args.keys)):
        owner = Backend()
        owner.add_user("bench", "bench-password", admin=False)
        for _ in range(total - 10):
            owner.add_api_key(NewApiKey(type="system", system_apis=("sca",), logging="none"))
        for _ in range(10):
            owner.add_api_key(NewApiKey(type="personal", user="bench", logging="none"))
        principal = owner.authenticate(Credential("header", "bench:bench-password"), manage_keys=True)
        lists[label] = (lambda b, p: lambda: per_call(lambda: b.list_api_keys(p), 200))(owner, principal)
    listed = interleaved(lists, rounds)
    print(f"\na user's list (10 returned): {listed['10'] * 1e6:.1f} us at 10 keys, {listed['many'] * 1e6:.1f} us "
          f"at {args.keys:,}; ratio {listed['many'] / listed['10']:.2f} (about 1: proportional to what it returns)")
    print(f"\nload average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
