"""``mockproget verify``: run the contract clauses against a live server and report.

The clauses are run in-process with :func:`pytest.main` on the ``mockproget_contracts`` package; a
small plugin object collects each clause's outcome, spec section, duration and, on
failure, the request and response that show the departure (secrets masked).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TextIO

from mockproget_contracts.constants import CLAUSE_MARKER, DEFAULT_MAX_EXAMPLES

if TYPE_CHECKING:
    from mockproget_contracts.client import Secrets
    from mockproget_contracts.target import Target

__all__ = ["ClauseResult", "VerifyResult", "add_arguments", "report", "run", "verify"]


@dataclass
class ClauseResult:
    """The outcome of one clause."""

    clause: str
    section: str = "?"
    source: str = "?"
    outcome: str = "passed"          # passed | failed | skipped
    duration: float = 0.0
    detail: str = ""                 # failure message (masked) or skip reason


@dataclass
class VerifyResult:
    """Everything a verify run found. ``ok`` means no clause failed and nothing was left behind."""

    url: str
    clauses: list[ClauseResult] = field(default_factory=list)
    leftovers: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    pytest_exit: int = 0

    @property
    def failed(self) -> list[ClauseResult]:
        return [c for c in self.clauses if c.outcome == "failed"]

    @property
    def ok(self) -> bool:
        return not self.failed and not self.leftovers and not self.errors and bool(self.clauses)


def _failure_text(excinfo: Any, item: Any) -> str:
    """What a failed clause reports: the violation with its exchange, or the error and the
    last exchange the clause's client made."""
    from mockproget_contracts.client import ContractViolation

    value = excinfo.value
    parts: list[str] = []
    errors = list(value.exceptions) if isinstance(value, BaseExceptionGroup) else [value]
    for error in errors:
        if isinstance(error, ContractViolation):
            parts.append(str(error))
        else:
            parts.append(f"{type(error).__name__}: {error}")
            client = getattr(item, "funcargs", {}).get("proget_client")
            if client is not None and client.exchanges:
                parts.append(client.exchanges[-1].format())
        notes = [n for n in getattr(error, "__notes__", []) if n.startswith("Falsifying")]
        parts.extend(notes)
    return "\n".join(parts)


class _Collector:
    """A pytest plugin object: options in, per-clause results out."""

    def __init__(self, options: dict[str, Any], secrets: Secrets) -> None:
        self.options, self.secrets = options, secrets
        self.results: dict[str, ClauseResult] = {}
        self.target: Target | None = None
        self.errors: list[str] = []
        # failure text, made in makereport (where the exception is at hand), used in logreport
        self._pending: dict[str, list[str]] = {}

    def pytest_configure(self, config: Any) -> None:
        for dest, value in self.options.items():  # secrets never go through argv
            setattr(config.option, dest, value)

    def _result(self, nodeid: str) -> ClauseResult:
        if nodeid not in self.results:
            self.results[nodeid] = ClauseResult(nodeid.split("::", 1)[-1])
        return self.results[nodeid]

    def pytest_collection_finish(self, session: Any) -> None:
        for item in session.items:  # after -k deselection
            result = self._result(item.nodeid)
            marker = item.get_closest_marker(CLAUSE_MARKER)
            if marker is not None:
                result.section, result.source = marker.args[0], marker.args[1]

    def pytest_collectreport(self, report: Any) -> None:
        if report.failed:
            self.errors.append(f"collecting {report.nodeid or 'mockproget_contracts'} failed: "
                               + self._mask(str(report.longrepr))[-2000:])

    def pytest_runtest_makereport(self, item: Any, call: Any) -> None:
        from _pytest.outcomes import Skipped

        target = getattr(item, "funcargs", {}).get("proget_target")
        if target is not None:
            self.target = target
        if call.excinfo is not None and not call.excinfo.errisinstance(Skipped):
            self._pending.setdefault(item.nodeid, []).append(_failure_text(call.excinfo, item))

    def pytest_runtest_logreport(self, report: Any) -> None:
        result = self._result(report.nodeid)
        result.duration += report.duration
        if report.failed and result.outcome != "failed":
            result.outcome = "failed"
            details = self._pending.pop(report.nodeid, None)
            text = "\n".join(details) if details else str(report.longrepr)
            result.detail = ("" if report.when == "call" else f"(during {report.when}) ") + self._mask(text)
        elif report.skipped and result.outcome == "passed":
            result.outcome = "skipped"
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
            result.detail = reason.removeprefix("Skipped: ")

    def _mask(self, text: str) -> str:
        text = self.secrets.mask(text)
        return self.target.secrets.mask(text) if self.target is not None else text


@contextmanager
def _scratch_hypothesis_home() -> Iterator[None]:
    """Hypothesis caches what it learns from source files under ``./.hypothesis``; a
    verify run writes nothing into the directory it is started from (no example database
    is used either), so point that cache at a temporary directory for the run."""
    from hypothesis import configuration

    if os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY"):
        yield
        return
    with tempfile.TemporaryDirectory(prefix="mockproget-verify-") as home:
        configuration.set_hypothesis_home_dir(home)
        try:
            yield
        finally:
            configuration.set_hypothesis_home_dir(None)


def verify(url: str, api_key: str, *, username: str | None = None, password: str | None = None,
           feed: str | None = None, feed_group: str | None = None, user: str | None = None,
           max_examples: int = DEFAULT_MAX_EXAMPLES, seed: int | None = None, readonly: bool = False,
           anonymous: bool = False, select: str | None = None) -> VerifyResult:
    """Run the clauses against ``url`` and return what they found (prints nothing).

    ``select`` is a pytest ``-k`` expression choosing clauses by name."""
    import pytest

    from mockproget_contracts.client import Secrets

    secrets = Secrets([api_key, password, f"{username}:{password}" if username and password else None])
    options = {"proget_url": url, "proget_api_key": api_key, "proget_username": username,
               "proget_password": password, "proget_feed": feed, "proget_feed_group": feed_group,
               "proget_user": user, "proget_readonly": readonly, "proget_max_examples": max_examples,
               "proget_seed": seed, "proget_anonymous": anonymous}
    collector = _Collector(options, secrets)
    args = ["--pyargs", "mockproget_contracts", "-p", "no:cacheprovider", "-p", "no:terminal", "--noconftest",
            "-c", os.devnull, "--rootdir", os.path.dirname(os.path.abspath(__file__)),
            "-W", "ignore::pytest.PytestAssertRewriteWarning"]
    if os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"):
        args += ["-p", "mockproget_contracts.plugin"]
    if select:
        args += ["-k", select]
    started = time.perf_counter()
    with _scratch_hypothesis_home():
        code = pytest.main(args, plugins=[collector])
    result = VerifyResult(url=url, clauses=list(collector.results.values()), errors=collector.errors,
                          seconds=time.perf_counter() - started, pytest_exit=int(code))
    if collector.target is not None:
        result.leftovers = list(collector.target.leftovers)
    if int(code) not in (0, 1, 5) and not result.errors:
        result.errors.append(f"pytest stopped with exit status {int(code)}")
    return result


_MARK = {"passed": "PASS", "failed": "FAIL", "skipped": "SKIP"}


def report(result: VerifyResult, out: TextIO, *, durations: int = 5) -> None:
    """Print ``result`` clause by clause, then a summary, the slowest clauses and leftovers."""
    print(f"mockproget verify: {result.url}", file=out)
    for clause in result.clauses:
        line = f"{_MARK[clause.outcome]}  {clause.section:<3} [{clause.source}]  {clause.clause}"
        if clause.outcome == "skipped":
            line += f"  ({clause.detail})"
        print(line, file=out)
        if clause.outcome == "failed":
            for detail in clause.detail.splitlines():
                print(f"      {detail}", file=out)
    for error in result.errors:
        print(f"ERROR {error}", file=out)
    counts = {k: sum(c.outcome == k for c in result.clauses) for k in ("passed", "failed", "skipped")}
    print(f"\n{counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped "
          f"in {result.seconds:.1f}s", file=out)
    if durations:
        print(f"slowest {durations} clauses:", file=out)
        for clause in sorted(result.clauses, key=lambda c: c.duration, reverse=True)[:durations]:
            print(f"  {clause.duration:7.2f}s  {clause.clause}", file=out)
    if result.leftovers:
        print(f"LEFT BEHIND on the target ({len(result.leftovers)}): " + "; ".join(result.leftovers),
              file=out)
    else:
        print("left behind on the target: nothing", file=out)
    print("verdict: " + ("conforms" if result.ok else "DOES NOT CONFORM"), file=out)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``verify`` flags (secrets may come from ``MOCKPROGET_TARGET_API_KEY``/``MOCKPROGET_TARGET_PASSWORD``)."""
    parser.add_argument("--url", required=True, help="base URL of the server to check")
    parser.add_argument("--api-key", metavar="KEY", default=None,
                        help="a key that may manage API keys (default: $MOCKPROGET_TARGET_API_KEY, which "
                             "keeps it out of the process list)")
    parser.add_argument("--username", help="a user for the pseudo-key clauses (user:password)")
    parser.add_argument("--password", help="that user's password (default: $MOCKPROGET_TARGET_PASSWORD)")
    parser.add_argument("--feed", help="a feed that exists on the server")
    parser.add_argument("--feed-group", help="a feed group that exists on the server")
    parser.add_argument("--user", help="a user that exists on the server (personal keys)")
    parser.add_argument("--max-examples", type=int, default=DEFAULT_MAX_EXAMPLES,
                        help=f"hypothesis examples per property clause (default {DEFAULT_MAX_EXAMPLES})")
    parser.add_argument("--seed", type=int, help="hypothesis seed (default: derandomized, repeatable)")
    parser.add_argument("--readonly", action="store_true", help="run only clauses that create nothing")
    parser.add_argument("--anonymous", action="store_true",
                        help="the server grants anonymous access on purpose (as a fresh ProGet does): "
                             "do not expect requests without a key to be refused")
    parser.add_argument("-k", dest="select", metavar="EXPR", help="run only clauses matching EXPR (pytest -k)")
    parser.add_argument("--durations", type=int, default=5, metavar="N",
                        help="list the N slowest clauses (default 5; 0: none)")


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """The ``verify`` command: 0 when the server conforms, 1 when not, 2 on a usage error."""
    out = out or sys.stdout
    api_key = args.api_key or os.environ.get("MOCKPROGET_TARGET_API_KEY")
    password = args.password or os.environ.get("MOCKPROGET_TARGET_PASSWORD")
    if not api_key:
        print("mockproget verify: give --api-key or set MOCKPROGET_TARGET_API_KEY", file=sys.stderr)
        return 2
    if bool(args.username) != bool(password):
        print("mockproget verify: --username and --password go together", file=sys.stderr)
        return 2
    result = verify(args.url, api_key, username=args.username, password=password, feed=args.feed,
                    feed_group=args.feed_group, user=args.user, max_examples=args.max_examples,
                    seed=args.seed, readonly=args.readonly, anonymous=args.anonymous, select=args.select)
    report(result, out, durations=args.durations)
    return 0 if result.ok else 1
