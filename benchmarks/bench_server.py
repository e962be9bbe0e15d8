"""Start, first answer and stop: ``MockProGet`` beside pytest-httpserver, in one run.

    pip install -e ".[bench]" && python benchmarks/bench_server.py [--rounds N]

For each server: the time from constructing it to the first answered HTTP request (its
start, as a fixture pays it), and the time ``stop()`` takes. Medians over ``--rounds``;
the ratio is the baseline's median over ours (above 1: we are faster). A second table
compares ``MockProGet.reset()`` (what the pytest fixture pays per test) with a full
restart, and request throughput over one session with the baseline's.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import time
from collections.abc import Callable

import requests
from pytest_httpserver import HTTPServer

from mockproget import MockProGet

SYSTEM = {"type": "system", "systemApis": ["sca"], "logging": "none"}


def _ms(seconds: float) -> float:
    return seconds * 1000


def measure_mock(session: requests.Session) -> tuple[float, float]:
    began = time.perf_counter()
    server = MockProGet().start()
    response = session.get(server.url + "health")
    started = time.perf_counter()
    assert response.status_code == 200
    server.stop()
    return started - began, time.perf_counter() - started


def measure_httpserver(session: requests.Session) -> tuple[float, float]:
    began = time.perf_counter()
    server = HTTPServer(host="127.0.0.1", port=0)
    server.expect_request("/health").respond_with_json({"serviceStatus": "OK"})
    server.start()
    response = session.get(server.url_for("/health"))
    started = time.perf_counter()
    assert response.status_code == 200
    server.stop()
    return started - began, time.perf_counter() - started


def lifecycle(rounds: int) -> None:
    results: dict[str, tuple[list[float], list[float]]] = {}
    with requests.Session() as session:
        for name, measure in (("mockproget", measure_mock), ("pytest-httpserver", measure_httpserver)):
            starts, stops = [], []
            measure(session)  # warm-up: imports, first socket
            for _ in range(rounds):
                start, stop = measure(session)
                starts.append(start)
                stops.append(stop)
            results[name] = (starts, stops)
    ours, base = results["mockproget"], results["pytest-httpserver"]
    print(f"lifecycle, median of {rounds} rounds (ms)")
    print(f"{'':24}{'start+first answer':>20}{'stop':>12}")
    for name, (starts, stops) in results.items():
        print(f"{name:24}{_ms(statistics.median(starts)):>20.2f}{_ms(statistics.median(stops)):>12.2f}")
    print(f"{'ratio (baseline/ours)':24}"
          f"{statistics.median(base[0]) / statistics.median(ours[0]):>20.1f}"
          f"{statistics.median(base[1]) / statistics.median(ours[1]):>12.1f}")


def _median_of(action: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        began = time.perf_counter()
        action()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def reset_versus_restart(rounds: int) -> None:
    with MockProGet() as server, requests.Session() as session:
        session.headers["X-ApiKey"] = server.admin_key
        for _ in range(20):
            session.post(server.url + "api/api-keys/create", json=SYSTEM)
        reset = _median_of(server.reset, rounds)
        requests_ = _median_of(lambda: session.get(server.url + "api/api-keys/list"), rounds)

    def restart() -> None:
        MockProGet().start().stop()

    full = _median_of(restart, rounds)
    with HTTPServer(host="127.0.0.1", port=0) as base, requests.Session() as session:
        base.expect_request("/list").respond_with_json([])
        base_request = _median_of(lambda: session.get(base.url_for("/list")), rounds)
    print(f"\nper test and per request, median of {rounds} (ms)")
    print(f"{'mockproget reset()':32}{_ms(reset):>10.3f}")
    print(f"{'mockproget start+stop':32}{_ms(full):>10.3f}   ratio restart/reset: {full / reset:.0f}")
    print(f"{'mockproget GET list':32}{_ms(requests_):>10.3f}")
    print(f"{'pytest-httpserver GET':32}{_ms(base_request):>10.3f}   ratio baseline/ours: {base_request / requests_:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the baseline's access log
    lifecycle(args.rounds)
    reset_versus_restart(args.rounds * 10)


if __name__ == "__main__":
    main()
