"""The issue-7 crash reproduction at full scale, against ``mockproget serve``.

    python benchmarks/stress_chunked.py [--threads 16] [--seconds 20]

Starts ``mockproget serve`` in a child process; ``--threads`` clients each send, again
and again for ``--seconds``, a chunked create whose chunk header promises more bytes
than are sent, then half-close. Prints how many attempts got which status, whether the
process is alive, and whether ``/health`` answers after. Not a speed figure: the point
is that the process lives and every answer is a 4xx.
"""

from __future__ import annotations

import argparse
import collections
import socket
import subprocess
import sys
import threading
import time

import requests


def attempt(port: int, key: str | None) -> int:
    head = ["POST /api/api-keys/create HTTP/1.1", "Host: x", "Content-Type: application/json",
            "Transfer-Encoding: chunked"] + ([f"X-ApiKey: {key}"] if key else [])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + b"200000\r\n" + b"A" * 10)
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except OSError:
            pass
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.") else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    proc = subprocess.Popen([sys.executable, "-m", "mockproget", "serve", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    url = key = ""
    for line in proc.stdout:
        if "listening on" in line:
            url = line.split("listening on ")[1].strip()
        if "admin API key" in line:
            key = line.split(": ")[-1].strip()
        if "press Ctrl+C" in line:
            break
    port = int(url.rstrip("/").rsplit(":", 1)[1])
    statuses: collections.Counter[int] = collections.Counter()
    lock = threading.Lock()
    stop_at = time.monotonic() + args.seconds

    def client(n: int) -> None:
        i = 0
        while time.monotonic() < stop_at:
            status = attempt(port, key if (n + i) % 2 else None)
            i += 1
            with lock:
                statuses[status] += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(args.threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    alive = proc.poll() is None
    health = requests.get(url + "health", timeout=5).status_code if alive else None
    proc.terminate()
    proc.wait(10)
    print(f"{sum(statuses.values())} attempts from {args.threads} threads in {args.seconds:g} s; "
          f"statuses {dict(sorted(statuses.items()))}; process alive: {alive}; /health after: {health}")


if __name__ == "__main__":
    main()
