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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TextIO

from mockproget_contracts.constants import CLAUSE_MARKER, DEFAULT_MAX_EXAMPLES

if TYPE_CHECKING:
    from mockproget_contracts.client import Secrets
    from mockproget_contracts.target import Target

__all__ = ["ClauseResult", "VerifyResult", "add_arguments", "preflight", "report", "run", "verify", "verify_flags",
           "write_junit"]


@dataclass
class ClauseResult:
    """The outcome of one clause."""

    clause: str
    section: str = "?"
    source: str = "?"
    outcome: str = "not run"         # passed | failed | skipped | not run
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
    interrupted: bool = False

    @property
    def failed(self) -> list[ClauseResult]:
        return [c for c in self.clauses if c.outcome == "failed"]

    @property
    def ran(self) -> list[ClauseResult]:
        """The clauses that ran (passed, failed or skipped): not those an interrupt stopped."""
        return [c for c in self.clauses if c.outcome != "not run"]

    @property
    def ok(self) -> bool:
        return (not self.failed and not self.leftovers and not self.errors and bool(self.ran)
                and not self.interrupted)


def _failure_text(excinfo: Any, item: Any) -> str:
    """What a failed clause reports: the violation with its exchange, or the error and the
    last exchange the clause's client made."""
    from mockproget_contracts.client import ContractViolation

    value = excinfo.value
    parts: list[str] = []
    errors = list(value.exceptions) if isinstance(value, BaseExceptionGroup) else [value]
    shown, more = errors[:3], len(errors) - 3
    for error in shown:
        if isinstance(error, ContractViolation):
            parts.append(str(error))
        else:
            parts.append(f"{type(error).__name__}: {error}")
            client = getattr(item, "funcargs", {}).get("proget_client")
            if client is not None and client.exchanges:
                parts.append(client.exchanges[-1].format())
        notes = [n for n in getattr(error, "__notes__", []) if n.startswith("Falsifying")]
        parts.extend(notes)
    if more > 0:
        parts.append(f"(and {more} more failing examples of this clause)")
    return "\n".join(parts)


class _Collector:
    """A pytest plugin object: options in, per-clause results out."""

    def __init__(self, options: dict[str, Any], secrets: Secrets) -> None:
        self.options, self.secrets = options, secrets
        self.results: dict[str, ClauseResult] = {}
        self.target: Target | None = None
        self.errors: list[str] = []
        self.interrupted = False
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
        if report.passed and report.when == "call" and result.outcome == "not run":
            result.outcome = "passed"
        if report.failed and result.outcome != "failed":
            result.outcome = "failed"
            details = self._pending.pop(report.nodeid, None)
            text = "\n".join(details) if details else str(report.longrepr)
            result.detail = ("" if report.when == "call" else f"(during {report.when}) ") + self._mask(text)
        elif report.skipped and result.outcome in ("passed", "not run"):
            result.outcome = "skipped"
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
            result.detail = verify_flags(reason.removeprefix("Skipped: "))

    def pytest_keyboard_interrupt(self, excinfo: Any) -> None:
        self.interrupted = True

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


#: verify's own flag for each pytest option a skip reason may name.
_FLAGS = [("--proget-username and --proget-password", "--username and --password"),
          ("(no --proget-url; or a Target with a backend)", "(pytest --pyargs mockproget_contracts, no --proget-url)"),
          ("(run without --proget-url)", "(pytest --pyargs mockproget_contracts, no --proget-url)"),
          ("--proget-feed-group", "--feed-group"), ("--proget-feed", "--feed"), ("--proget-user", "--user"),
          ("--proget-readonly", "--readonly"), ("--proget-anonymous", "--anonymous")]


def verify_flags(text: str) -> str:
    """``text`` (a skip reason) with the kit's pytest flags named as verify's."""
    for pytest_flag, flag in _FLAGS:
        text = text.replace(pytest_flag, flag)
    return text


def verify(url: str, api_key: str, *, username: str | None = None, password: str | None = None,
           feed: str | None = None, feed_group: str | None = None, user: str | None = None,
           max_examples: int = DEFAULT_MAX_EXAMPLES, seed: int | None = None, readonly: bool = False,
           anonymous: bool = False, select: str | None = None) -> VerifyResult:
    """Run the clauses against ``url`` and return what they found (prints nothing).

    ``select`` is a pytest ``-k`` expression choosing clauses by name. An interrupt
    (Ctrl+C) stops the run: the result says so, and holds only the clauses that ran."""
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
                          seconds=time.perf_counter() - started, pytest_exit=int(code),
                          interrupted=collector.interrupted or int(code) == int(pytest.ExitCode.INTERRUPTED))
    if collector.target is not None:
        result.leftovers = list(collector.target.leftovers)
    if int(code) not in (0, 1, 2, 5) and not result.errors:
        result.errors.append(f"pytest stopped with exit status {int(code)}")
    return result


_MARK = {"passed": "PASS", "failed": "FAIL", "skipped": "SKIP"}


def report(result: VerifyResult, out: TextIO, *, durations: int = 5) -> None:
    """Print ``result`` clause by clause (only those that ran), then a summary, the slowest
    clauses and leftovers."""
    print(f"mockproget verify: {result.url}", file=out)
    ran = result.ran
    for clause in ran:
        line = f"{_MARK[clause.outcome]}  {clause.section:<3} [{clause.source}]  {clause.clause}"
        if clause.outcome == "skipped":
            line += f"  ({clause.detail})"
        print(line, file=out)
        if clause.outcome == "failed":
            for detail in clause.detail.splitlines():
                print(f"      {detail}", file=out)
    for error in result.errors:
        print(f"ERROR {error}", file=out)
    counts = {k: sum(c.outcome == k for c in ran) for k in ("passed", "failed", "skipped")}
    print(f"\n{counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped "
          f"in {result.seconds:.1f}s", file=out)
    if result.interrupted:
        print(f"INTERRUPTED: {len(ran)} of {len(result.clauses)} clauses ran; the others are not reported",
              file=out)
    if durations:
        print(f"slowest {durations} clauses:", file=out)
        for clause in sorted(ran, key=lambda c: c.duration, reverse=True)[:durations]:
            print(f"  {clause.duration:7.2f}s  {clause.clause}", file=out)
    if result.leftovers:
        print(f"LEFT BEHIND on the target ({len(result.leftovers)}): " + "; ".join(result.leftovers),
              file=out)
    else:
        print("left behind on the target: nothing", file=out)
    if result.interrupted:
        print("verdict: none (interrupted before the end)", file=out)
    else:
        print("verdict: " + ("conforms" if result.ok else "DOES NOT CONFORM"), file=out)


def write_junit(result: VerifyResult, path: str) -> None:
    """``result`` as JUnit XML (one testcase per clause that ran, secrets already masked)."""
    import xml.etree.ElementTree as ET

    ran = result.ran
    suite = ET.Element("testsuite", name="mockproget verify", tests=str(len(ran)),
                       failures=str(sum(c.outcome == "failed" for c in ran)), errors=str(len(result.errors)),
                       skipped=str(sum(c.outcome == "skipped" for c in ran)), time=f"{result.seconds:.3f}")
    properties = ET.SubElement(suite, "properties")
    ET.SubElement(properties, "property", name="url", value=result.url)
    for clause in ran:
        cls, _, name = clause.clause.rpartition("::")
        case = ET.SubElement(suite, "testcase", classname=f"mockproget_contracts.{cls}", name=name,
                             time=f"{clause.duration:.3f}")
        ET.SubElement(ET.SubElement(case, "properties"), "property", name="spec",
                      value=f"{clause.section} [{clause.source}]")
        if clause.outcome == "failed":
            first = clause.detail.splitlines()[0] if clause.detail else "failed"
            ET.SubElement(case, "failure", message=first).text = clause.detail
        elif clause.outcome == "skipped":
            ET.SubElement(case, "skipped", message=clause.detail)
    if result.leftovers:
        case = ET.SubElement(suite, "testcase", classname="mockproget_contracts.Run", name="leftovers")
        ET.SubElement(case, "failure", message="keys left behind on the target").text = "\n".join(result.leftovers)
    for error in result.errors:
        case = ET.SubElement(suite, "testcase", classname="mockproget_contracts.Run", name="error")
        ET.SubElement(case, "error", message=error.splitlines()[0] if error else "error").text = error
    root = ET.Element("testsuites")
    root.append(suite)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)


# -- the command line ---------------------------------------------------------------------------

#: Exit statuses of ``mockproget verify``.
CONFORMS, DOES_NOT_CONFORM, USAGE, UNUSABLE, INTERRUPTED = 0, 1, 2, 3, 130
#: ``--profile`` -> hypothesis examples per property clause.
PROFILES = {"quick": 10, "default": DEFAULT_MAX_EXAMPLES, "deep": 500}
EPILOG = f"""exit status: {CONFORMS} the server conforms; {DOES_NOT_CONFORM} it does not (a clause failed, or keys
were left behind); {USAGE} usage error (a bad option, or -k matching no clause); {UNUSABLE} the target is
unreachable or unusable (not ProGet, or the API key refused), found by a pre-flight before any
clause runs; {INTERRUPTED} interrupted (Ctrl+C): only the clauses that ran are reported.
environment: MOCKPROGET_TARGET_URL, MOCKPROGET_TARGET_API_KEY, MOCKPROGET_TARGET_USERNAME,
MOCKPROGET_TARGET_PASSWORD, MOCKPROGET_TARGET_FEED, MOCKPROGET_TARGET_FEED_GROUP, MOCKPROGET_TARGET_USER
stand in for the flags of the same name."""


def _whole(low: int) -> Callable[[str], int]:
    """An argparse type: a whole number of at least ``low``."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number, not {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be {low} or more, not {value}")
        return value
    return parse


_positive, _not_negative = _whole(1), _whole(0)


def _url(text: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(text.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise argparse.ArgumentTypeError(f"must be an http:// or https:// URL, not {text!r}")
    try:
        parts.port
    except ValueError:
        raise argparse.ArgumentTypeError(f"has no valid port: {text!r}") from None
    return text.strip()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``verify`` flags. Each may also come from its ``MOCKPROGET_TARGET_*`` variable
    (secrets had better: that keeps them out of the process list)."""
    if parser.epilog is None:  # ``mockproget verify`` brings its own (mockproget.clihelp)
        parser.epilog = EPILOG
        parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--url", type=_url, default=None,
                        help="base URL of the server to check (default: $MOCKPROGET_TARGET_URL)")
    parser.add_argument("--api-key", metavar="KEY", default=None,
                        help="a key that may manage API keys (default: $MOCKPROGET_TARGET_API_KEY, which "
                             "keeps it out of the process list)")
    parser.add_argument("--username", help="a user for the pseudo-key clauses (user:password) "
                                           "(default: $MOCKPROGET_TARGET_USERNAME)")
    parser.add_argument("--password", help="that user's password (default: $MOCKPROGET_TARGET_PASSWORD)")
    parser.add_argument("--feed", help="a feed that exists on the server (default: $MOCKPROGET_TARGET_FEED)")
    parser.add_argument("--feed-group", help="a feed group that exists on the server "
                                             "(default: $MOCKPROGET_TARGET_FEED_GROUP)")
    parser.add_argument("--user", help="a user that exists on the server, for personal keys "
                                       "(default: $MOCKPROGET_TARGET_USER)")
    parser.add_argument("--max-examples", type=_positive, default=None, metavar="N",
                        help=f"hypothesis examples per property clause (default {DEFAULT_MAX_EXAMPLES}; "
                             "overrides --profile)")
    parser.add_argument("--profile", choices=sorted(PROFILES), default="default",
                        help="how deep to explore: quick (10 examples), default (50), deep (500)")
    parser.add_argument("--seed", type=int, help="hypothesis seed (default: derandomized, repeatable)")
    parser.add_argument("--readonly", action="store_true", help="run only clauses that create nothing")
    parser.add_argument("--anonymous", action="store_true",
                        help="the server grants anonymous access on purpose (as a fresh ProGet does): "
                             "do not expect requests without a key to be refused")
    parser.add_argument("-k", dest="select", metavar="EXPR", help="run only clauses matching EXPR (pytest -k)")
    parser.add_argument("--durations", type=_not_negative, default=5, metavar="N",
                        help="list the N slowest clauses (default 5; 0: none)")
    parser.add_argument("--junitxml", metavar="PATH", help="also write the result as JUnit XML to PATH")


def _short(error: BaseException) -> str:
    """A one-line reason for a failed connection."""
    text = str(error)
    for needle, said in (("Connection refused", "connection refused"), ("timed out", "no answer in time"),
                         ("Name or service not known", "unknown host"), ("nodename nor servname", "unknown host"),
                         ("Failed to resolve", "unknown host"), ("Connection reset", "connection reset"),
                         ("SSL", "TLS handshake failed"), ("RemoteDisconnected", "connection closed without answer")):
        if needle in text:
            return said
    return type(error).__name__


def preflight(url: str, api_key: str, *, timeout: float = 3.0) -> str | None:
    """Before any clause: is ``url`` reachable, is it ProGet (``/health``, the X-ProGet-*
    headers), and is ``api_key`` accepted? ``None`` when usable, else one line saying why not."""
    import requests

    base = url if url.endswith("/") else url + "/"
    seen_headers = False
    with requests.Session() as session:
        try:
            health = session.get(base + "health", timeout=timeout, allow_redirects=False)
            listed = session.get(base + "api/api-keys/list", headers={"X-ApiKey": api_key}, timeout=timeout,
                                 allow_redirects=False)
        except requests.RequestException as error:
            return f"cannot reach {url}: {_short(error)}"
        for response in (health, listed):
            seen_headers |= "X-ProGet-Version" in response.headers or "X-ProGet-Edition" in response.headers
        health_json = False
        try:
            health_json = health.status_code == 200 and isinstance(health.json(), dict)
        except ValueError:
            pass
        if not (seen_headers or health_json):
            return (f"{url} does not look like ProGet: /health answered {health.status_code} "
                    f"{'without' if health.status_code == 200 else 'and no'} JSON health info, and no "
                    "answer carries X-ProGet-Version")
        if listed.status_code == 200:
            return None
        if listed.status_code == 404:
            return (f"{url} has no api-keys endpoints (GET api/api-keys/list answered 404): they need "
                    "ProGet 2024.3 or later")
        if listed.status_code in (401, 403):
            try:
                again = session.get(base + "api/api-keys/list", params={"key": api_key}, timeout=timeout)
            except requests.RequestException as error:
                return f"cannot reach {url}: {_short(error)}"
            if again.status_code == 200:
                return None  # the header is not honoured: the clauses will say so
            return (f"{url} refused the API key ({listed.status_code}): give a key that may manage API keys "
                    "(--api-key or MOCKPROGET_TARGET_API_KEY)")
        return f"{url} is not usable: GET api/api-keys/list with the API key answered {listed.status_code}"


def _from_env(value: str | None, name: str) -> str | None:
    return value if value else (os.environ.get(name) or None)


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """The ``verify`` command; the exit statuses are in :data:`EPILOG`."""
    out = out or sys.stdout
    try:
        return _run(args, out)
    except KeyboardInterrupt:
        print("mockproget verify: interrupted", file=sys.stderr)
        return INTERRUPTED


def _usage(message: str) -> int:
    print(f"mockproget verify: {message}", file=sys.stderr)
    return USAGE


def _run(args: argparse.Namespace, out: TextIO) -> int:
    url = _from_env(args.url, "MOCKPROGET_TARGET_URL")
    api_key = _from_env(args.api_key, "MOCKPROGET_TARGET_API_KEY")
    username = _from_env(args.username, "MOCKPROGET_TARGET_USERNAME")
    password = _from_env(args.password, "MOCKPROGET_TARGET_PASSWORD")
    names = {name: _from_env(getattr(args, name), f"MOCKPROGET_TARGET_{name.upper()}")
             for name in ("feed", "feed_group", "user")}
    if not url:
        return _usage("give --url or set MOCKPROGET_TARGET_URL")
    if args.url is None:
        try:
            url = _url(url)
        except argparse.ArgumentTypeError as error:
            return _usage(f"MOCKPROGET_TARGET_URL {error}")
    if not api_key:
        return _usage("give --api-key or set MOCKPROGET_TARGET_API_KEY")
    if bool(username) != bool(password):
        return _usage("--username and --password go together")
    if args.junitxml:
        folder = os.path.dirname(os.path.abspath(args.junitxml))
        if not os.path.isdir(folder):
            return _usage(f"--junitxml: no such directory: {folder}")
    problem = preflight(url, api_key)
    if problem is not None:
        print(f"mockproget verify: {problem}", file=out)
        return UNUSABLE
    max_examples = args.max_examples or PROFILES[args.profile]
    result = verify(url, api_key, username=username, password=password, **names, max_examples=max_examples,
                    seed=args.seed, readonly=args.readonly, anonymous=args.anonymous, select=args.select)
    if not result.clauses and not result.errors:
        return _usage(f"no clause matches -k {args.select!r}" if args.select else "no clause was collected")
    report(result, out, durations=args.durations)
    if args.junitxml:
        write_junit(result, args.junitxml)
    if result.interrupted:
        return INTERRUPTED
    return CONFORMS if result.ok else DOES_NOT_CONFORM
