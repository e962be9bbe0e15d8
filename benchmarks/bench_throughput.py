"""Throughput of the mock over real sockets, every figure beside its baseline, in one run.

    pip install -e . && python benchmarks/bench_throughput.py [--seconds S] [--rounds R] [--connections N]

A load generator in a child process (threads over keep-alive sockets, raw HTTP/1.1;
it reconnects when a server closes) posts ``api/api-keys/create`` and counts answers,
after a short warm-up; the servers compared run side by side and are measured in
interleaved rounds, so a change in the machine's load hits them all. Printed, as ratios measured in this run:

Each ratio is printed twice: of the servers' medians, and (in brackets) the median of
the ratios of single rounds, in which the servers compared were measured back to back
(a paired figure: a change in the machine's load between rounds cancels out).

1. the mock over its default server (``MockProGet``: waitress) vs a bare Flask create
   handler behind that same server, the same ``MockProGet`` server object with the bare
   app put in place of the mock's (target >= 0.8);
2. ``mockproget serve`` now vs ``mockproget serve`` as it was when issue 7 was filed
   (``--before``, a git revision: that revision's package is extracted with
   ``git archive``), each in a child process with its access log on (to /dev/null), the
   old one on werkzeug's threaded server (target >= 2); beside them, today's mock on
   werkzeug's threaded server (how much of the gain is the server's);
3. the cost per create with 10 and with 100,000 stored keys (flat: ratio about 1);
4. the latency of ``GET api/api-keys/list`` at 100,000 keys for the admin (all of them),
   beside the same list over werkzeug's server, and for a user who owns 10.

The machine's load average is printed with the figures: the ratios, not the absolute
numbers, are what to compare between machines.
"""

from __future__ import annotations

import argparse
import itertools
import json
import multiprocessing
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests
from flask import Flask, jsonify, request
from werkzeug.serving import WSGIRequestHandler, make_server

from mockproget import Config, MockProGet, NewApiKey, create_app
from mockproget.models import Credential

ADMIN = "bench-admin-key-0001"
BODY = json.dumps({"type": "system", "systemApis": ["sca"], "logging": "none"}).encode()


def _request(port: int) -> bytes:
    return (f"POST /api/api-keys/create HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"X-ApiKey: {ADMIN}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(BODY)}\r\n\r\n").encode() + BODY


def _client(port: int, stop_at: float, count_from: float, counts: list[int]) -> None:
    """One keep-alive connection: request, read the whole answer, again."""
    payload = _request(port)
    sock: socket.socket | None = None
    done = 0
    while time.monotonic() < stop_at:
        if sock is None:
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            buffered = b""
        try:
            sock.sendall(payload)
            while b"\r\n\r\n" not in buffered:
                chunk = sock.recv(65536)
                if not chunk:
                    raise ConnectionError("closed")
                buffered += chunk
            head, _, rest = buffered.partition(b"\r\n\r\n")
            lower = head.lower()
            length = int(lower.split(b"content-length:", 1)[1].split(b"\r\n", 1)[0])
            while len(rest) < length:
                chunk = sock.recv(65536)
                if not chunk:
                    raise ConnectionError("closed")
                rest += chunk
            buffered = rest[length:]
            if not head.startswith(b"HTTP/1.1 200") and not head.startswith(b"HTTP/1.0 200"):
                raise RuntimeError(head[:200].decode("latin-1"))
            if time.monotonic() >= count_from:
                done += 1
            if b"connection: close" in lower or head.startswith(b"HTTP/1.0"):
                sock.close()
                sock = None
        except (ConnectionError, OSError):
            if sock is not None:
                sock.close()
            sock = None
    if sock is not None:
        sock.close()
    counts.append(done)


def _load(port: int, connections: int, seconds: float, warmup: float,
          out: multiprocessing.Queue[float]) -> None:
    """In the child process: ``connections`` threads; answers per second."""
    start = time.monotonic()
    counts: list[int] = []
    threads = [threading.Thread(target=_client, args=(port, start + warmup + seconds, start + warmup, counts))
               for _ in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out.put(sum(counts) / seconds)


def measure(port: int, connections: int, seconds: float) -> float:
    """Creates per second against ``port``, from a child process."""
    context = multiprocessing.get_context("fork")
    out: multiprocessing.Queue[float] = context.Queue()
    child = context.Process(target=_load, args=(port, connections, seconds, 0.5, out))
    child.start()
    rate = out.get(timeout=seconds + 60)
    child.join()
    return rate


# -- the servers compared --------------------------------------------------------------


def bare_app() -> Flask:
    """A bare Flask create handler: read JSON, store it, answer it with an id and a key."""
    app = Flask("bare")
    ids, store = itertools.count(1), {}

    @app.post("/api/api-keys/create")
    def create() -> Any:
        if request.headers.get("X-ApiKey") != ADMIN:
            return "refused", 403
        data = request.get_json()
        key_id = next(ids)
        store[key_id] = data
        return jsonify({"id": key_id, **data, "key": secrets.token_hex(20)})

    return app


@contextmanager
def under_the_same_server(app: Flask, config: Config) -> Iterator[int]:
    """``app`` behind ``MockProGet``'s own server: a ``MockProGet`` whose Flask app
    hands every request to ``app`` (same parser, workers, timeouts, access log)."""
    server = MockProGet(config)
    server.app.wsgi_app = app.wsgi_app  # type: ignore[method-assign]
    with server:
        yield server.port


#: The revision ``mockproget serve`` is measured at as "before": main when issue 7 was
#: filed (werkzeug's threaded server, a thread per connection, no keep-alive).
BEFORE = "bc0e183"


@contextmanager
def serve_process(package_dir: str | None = None) -> Iterator[int]:
    """``mockproget serve`` in a child process, its access log to /dev/null: the package
    installed here, or the one in ``package_dir``."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    path = f"sys.path.insert(0, {package_dir!r}); " if package_dir else ""
    code = f"import sys; {path}from mockproget.cli import main; sys.exit(main())"
    child = subprocess.Popen([sys.executable, "-c", code, "serve", "--port", str(port), "--admin-key", ADMIN],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(400):
            try:
                requests.get(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.05)
        yield port
    finally:
        child.terminate()
        child.wait(10)


@contextmanager
def before_serve(revision: str) -> Iterator[int | None]:
    """``mockproget serve`` as it was at ``revision``, in a child process; ``None`` when
    that revision cannot be read (no git, no such commit)."""
    root = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory() as where:
        archive = subprocess.run(["git", "-C", str(root), "archive", revision, "mockproget"],
                                 capture_output=True, check=False)
        if archive.returncode != 0:
            yield None
            return
        subprocess.run(["tar", "-x", "-C", where], input=archive.stdout, check=True)
        with serve_process(where) as port:
            yield port


@contextmanager
def under_werkzeug(app: Any) -> Iterator[int]:
    """What ``mockproget serve`` ran before: werkzeug's threaded server, a thread per
    connection, no keep-alive."""
    class Quiet(WSGIRequestHandler):  # it logged through a logger that was off by default
        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            pass

    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=Quiet)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield int(server.server_port)
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def under_mockproget(config: Config) -> Iterator[MockProGet]:
    with MockProGet(config) as server:
        yield server


def _fill(server: MockProGet, total: int, user: str | None = None) -> None:
    """Store keys directly in the backend until it holds ``total``."""
    backend = server.backend
    principal = backend.authenticate(Credential("header", ADMIN), manage_keys=True)
    new = NewApiKey(type="system", system_apis=("sca",), logging="none")
    for _ in range(total - len(backend.api_keys)):
        backend.create_api_key(principal, new)


def _list_latency(url: str, key: str, rounds: int = 3) -> tuple[float, int]:
    """Median seconds per list and the number of keys returned, from a child process
    (a client in the server's process would share its interpreter lock)."""
    context = multiprocessing.get_context("fork")
    out: multiprocessing.Queue[tuple[float, int]] = context.Queue()
    child = context.Process(target=lambda: out.put(_list_here(url, key, rounds)))
    child.start()
    result = out.get(timeout=600)
    child.join()
    return result


def _list_here(url: str, key: str, rounds: int) -> tuple[float, int]:
    times, count = [], 0
    with requests.Session() as session:
        for _ in range(rounds):
            began = time.perf_counter()
            response = session.get(url + "api/api-keys/list", headers={"X-ApiKey": key}, timeout=120)
            times.append(time.perf_counter() - began)
            count = len(response.json())
    return statistics.median(times), count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per server, in all")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds per server")
    parser.add_argument("--connections", type=int, default=8, help="keep-alive client connections")
    parser.add_argument("--keys", type=int, default=100_000, help="stored keys for the flatness figure")
    parser.add_argument("--before", default=BEFORE, help="the git revision measured as 'before' (default %(default)s)")
    args = parser.parse_args()
    n, s = args.connections, args.seconds
    config = Config(port=0, admin_key=ADMIN)
    print(f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())}; "
          f"{os.cpu_count()} CPUs; {n} keep-alive connections, {s:g} s per server")

    rates: dict[str, list[float]] = {}
    with under_the_same_server(bare_app(), config) as bare, under_mockproget(config) as server, \
            under_werkzeug(create_app(config)) as today_on_werkzeug, serve_process() as serve_now, \
            before_serve(args.before) as before:
        ports = {"bare Flask create, same server": bare, "mock, MockProGet (waitress)": server.port,
                 "mockproget serve now": serve_now, "mock today, werkzeug threaded": today_on_werkzeug}
        if before is not None:
            ports[f"mockproget serve at {args.before} (before)"] = before
        else:
            print(f"(revision {args.before} cannot be read here: 'before' is today's mock on werkzeug)")
        for _ in range(args.rounds):  # interleaved: a change in the machine's load hits all
            for name, port in ports.items():
                rates.setdefault(name, []).append(measure(port, n, s / args.rounds))
    median = {name: statistics.median(values) for name, values in rates.items()}
    print(f"\ncreates per second (median of {args.rounds} interleaved rounds; all rounds)")
    for name, rate in median.items():
        print(f"  {name:<36} {rate:8.0f}   {' '.join(f'{v:.0f}' for v in rates[name])}")
    before_name = f"mockproget serve at {args.before} (before)"
    if before_name not in rates:
        before_name = "mock today, werkzeug threaded"
    print("  ratios: of the medians above; [the median of each round's own ratio, the servers of a"
          " round measured back to back]")
    for label, top, bottom, target in (
            ("mock / bare Flask (same server)", "mock, MockProGet (waitress)", "bare Flask create, same server",
             "(target >= 0.8)"),
            ("serve now / serve before", "mockproget serve now", before_name, "(target >= 2)"),
            ("mock / today's mock on werkzeug", "mock, MockProGet (waitress)", "mock today, werkzeug threaded",
             "(the server's part of the gain)")):
        paired = statistics.median(a / b for a, b in zip(rates[top], rates[bottom]))
        print(f"  ratio {label:<34} {median[top] / median[bottom]:.2f} [{paired:.2f}]   {target}")

    with under_mockproget(config) as server:
        _fill(server, 10)
        # three short rounds each side, medians: one round is at the mercy of the machine
        few = statistics.median(measure(server.port, n, s / args.rounds / 3) for _ in range(3))
        began = time.perf_counter()
        _fill(server, args.keys)
        filled = time.perf_counter() - began
        many = statistics.median(measure(server.port, n, s / args.rounds / 3) for _ in range(3))
        print(f"\nper create (median of 3 rounds each): {1e6 / few:.0f} us at 10 keys, {1e6 / many:.0f} us at "
              f"{len(server.backend.api_keys):,} keys; ratio {few / many:.2f} (flat: about 1); "
              f"filling took {filled:.1f} s")
        server.backend.add_user("bench", "bench-password", admin=False)
        user_key = "bench:bench-password"
        principal = server.backend.authenticate(Credential("header", user_key), manage_keys=True)
        for _ in range(10):
            server.backend.create_api_key(principal, NewApiKey(type="personal", user="bench", logging="none"))
        few_latency, few_count = _list_latency(server.url, user_key, rounds=10)
        with under_werkzeug(create_app(config, server.backend)) as port:  # the same keys
            news, olds = [], []
            for _ in range(3):  # interleaved: a change in the machine's load hits both
                latency, all_count = _list_latency(server.url, ADMIN, rounds=1)
                news.append(latency)
                olds.append(_list_latency(f"http://127.0.0.1:{port}/", ADMIN, rounds=1)[0])
            all_latency, old_latency = statistics.median(news), statistics.median(olds)
        print(f"list at {len(server.backend.api_keys):,} keys: {all_latency * 1000:.0f} ms for the admin "
              f"({all_count:,} returned; {old_latency * 1000:.0f} ms over werkzeug, before: ratio "
              f"{old_latency / all_latency:.2f}), {few_latency * 1000:.1f} ms for a user ({few_count} returned)")
    print(f"\nload average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
