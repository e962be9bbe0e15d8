"""The contract kit end to end: ``pytest --pyargs mockproget_contracts``, ``mockproget verify``
against a separately started ``mockproget serve``, and what a run leaves on a server."""

from __future__ import annotations

import io
import json
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from mockproget_contracts import verify
from mockproget_contracts.verify import report
from mockproget import MockProGet
from mockproget.cli import main as cli_main
from test_contract_broken_servers import (
    ADMIN_KEY,
    NAMES,
    Tamper,
    create_as_text,
    delete_does_nothing,
    kit_keys,
    list_omits_newest,
    serve_broken,
)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PROGET_", "MOCKPROGET_TARGET_"))}
    env.update(extra)
    return env


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def served() -> Iterator[str]:
    """A ``mockproget serve`` process on a free port; yields its base URL."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "mockproget", "serve", "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env=_env(MOCKPROGET_ADMIN_KEY=ADMIN_KEY))
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert "listening on" in line, line
        yield re.search(r"listening on (\S+)", line).group(1)  # type: ignore[union-attr]
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_pytest_pyargs_contracts_passes_against_the_embedded_mock(tmp_path: Any) -> None:
    run = subprocess.run([sys.executable, "-m", "pytest", "--pyargs", "mockproget_contracts", "-q",
                          "-p", "no:cacheprovider", "-rs"],
                         cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    summary = run.stdout.strip().splitlines()[-1]
    assert re.search(r"\d+ passed", summary) and "failed" not in summary and "skipped" not in summary, summary


def test_verify_passes_against_mockproget_serve(served: str, tmp_path: Any) -> None:
    """Its run time is measured by ``benchmarks/bench_verify.py``, not asserted here."""
    run = subprocess.run(
        [sys.executable, "-m", "mockproget", "verify", "--url", served, "--username", "Admin",
         "--feed", "MyNpmFeed", "--feed-group", "MyFeedGroup", "--user", "johnsmith", "--durations", "3"],
        env=_env(MOCKPROGET_TARGET_API_KEY=ADMIN_KEY, MOCKPROGET_TARGET_PASSWORD="Admin"), capture_output=True, text=True,
        timeout=300, cwd=tmp_path)
    assert list(tmp_path.iterdir()) == []  # no .hypothesis example database, no pytest cache
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "verdict: conforms" in run.stdout
    assert "left behind on the target: nothing" in run.stdout
    assert "slowest 3 clauses:" in run.stdout
    assert re.search(r"^PASS\s+§7\s+\[client\]\s+TestWire::test_pgutil_creates_system_key$", run.stdout, re.M)
    assert re.search(r"^SKIP\s+§3\s+\[model\]\s+.*checked only against the embedded mock", run.stdout, re.M)
    assert ADMIN_KEY not in run.stdout + run.stderr
    keys = requests.get(served + "api/api-keys/list", headers={"X-ApiKey": ADMIN_KEY}, timeout=10).json()
    assert [k["displayName"] for k in keys] == ["mockproget admin"]


@pytest.mark.parametrize("departure", [create_as_text, list_omits_newest],
                         ids=["create-answers-text", "list-omits-newest"])
def test_full_run_against_a_broken_server_fails_and_leaves_nothing(departure: Any, capsys: Any) -> None:
    """Clauses fail, yet every key the kit created is gone afterwards."""
    server = serve_broken(departure)
    try:
        code = cli_main(["verify", "--url", server.url, "--api-key", ADMIN_KEY, "--username", "Admin",
                         "--password", "Admin", "--feed", "MyNpmFeed", "--feed-group", "MyFeedGroup",
                         "--user", "johnsmith", "--max-examples", "5"])
        remaining = kit_keys(server)
        total = len(server.backend.api_keys)
    finally:
        server.stop()
    out = capsys.readouterr().out
    assert code == 1
    assert "verdict: DOES NOT CONFORM" in out
    assert re.search(r"^FAIL\s+§\d\s+\[(doc|client)\]\s+", out, re.M)
    assert ADMIN_KEY not in out and "Admin:Admin" not in out
    assert remaining == [] and total == 1, [k.display_name for k in remaining]
    assert "left behind on the target: nothing" in out


def test_keys_left_behind_are_reported(capsys: Any) -> None:
    """A server whose delete does nothing keeps the kit's keys: the report says so."""
    server = serve_broken(delete_does_nothing)
    try:
        result = verify(server.url, ADMIN_KEY, **NAMES, max_examples=2, select="create_answers or pgutil")
    finally:
        server.stop()
    assert not result.ok and result.leftovers
    report(result, out := io.StringIO())
    assert "LEFT BEHIND on the target" in out.getvalue()


def test_failure_report_shows_the_exchange_with_secrets_masked() -> None:
    server = serve_broken(create_as_text)
    try:
        result = verify(server.url, ADMIN_KEY, **NAMES, max_examples=2, select="create_answers")
    finally:
        server.stop()
    [failed] = result.failed
    assert failed.clause == "TestEndpoints::test_create_answers_json_api_key_info"
    assert (failed.section, failed.source) == ("§6", "client")
    assert "> POST /api/api-keys/create" in failed.detail and "< 200 OK" in failed.detail
    assert "> X-ApiKey: ********" in failed.detail
    assert "< Content-Type: text/plain" in failed.detail
    assert "< ********" in failed.detail  # the key text, the only content of the answer
    assert ADMIN_KEY not in failed.detail


@pytest.fixture(scope="module")
def good_mock() -> Iterator[MockProGet]:
    with MockProGet(admin_key=ADMIN_KEY) as server:
        yield server


def test_readonly_creates_nothing(good_mock: MockProGet) -> None:
    seen: list[str] = []
    inner = good_mock.app.wsgi_app

    def record(environ: dict[str, Any], start_response: Any) -> Any:
        seen.append(f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']}")
        return inner(environ, start_response)
    good_mock.app.wsgi_app = record
    try:
        result = verify(good_mock.url, ADMIN_KEY, **NAMES, readonly=True)
    finally:
        good_mock.app.wsgi_app = inner
    assert result.ok
    ran = [c.clause for c in result.clauses if c.outcome == "passed"]
    assert "TestEndpoints::test_list_answers_json_array" in ran and len(ran) >= 5
    assert all("creates API keys, and --readonly was given" in c.detail or "[model]" in c.detail
               or "needs" in c.detail for c in result.clauses if c.outcome == "skipped")
    assert seen and not any(s.startswith("POST") for s in seen), seen


def test_clauses_needing_a_name_skip_naming_the_option(good_mock: MockProGet) -> None:
    """A skip names verify's own flag (``--feed-group``), not the pytest option (§1-§7 clauses)."""
    result = verify(good_mock.url, ADMIN_KEY, max_examples=2, select="pgutil or pseudo_key")
    reasons = {c.clause: c.detail for c in result.clauses}
    assert result.ok
    assert "needs --feed " in reasons["TestWire::test_pgutil_creates_feed_key"]
    assert "needs --feed-group" in reasons["TestWire::test_pgutil_creates_feed_group_key"]
    assert "needs --user " in reasons["TestWire::test_pgutil_creates_personal_key"]
    assert "--username and --password" in reasons["TestAuth::test_pseudo_key_in_each_carrier[header]"]
    assert not any("--proget-" in reason for reason in reasons.values()), reasons


def _bodies_sent(seed: int | None) -> list[Any]:
    bodies: list[Any] = []

    def hook(environ: dict[str, Any], body: bytes) -> bytes:
        if environ["PATH_INFO"] == "/api/api-keys/create":
            data = json.loads(body)
            data.pop("displayName", None)  # carries the run's random id
            bodies.append(data)
        return body

    def departure(server: MockProGet) -> None:
        server.app.wsgi_app = Tamper(server.app.wsgi_app, request=hook)
    server = serve_broken(departure)
    try:
        assert verify(server.url, ADMIN_KEY, **NAMES, max_examples=10, seed=seed,
                      select="valid_system_keys").ok
    finally:
        server.stop()
    return bodies


def test_runs_are_repeatable_and_seed_changes_them() -> None:
    first, again = _bodies_sent(None), _bodies_sent(None)
    assert first == again and len(first) >= 10
    assert _bodies_sent(12345) != first


def test_display_names_are_unique_across_clients_and_short() -> None:
    """Names come from one run-wide counter (a new client per clause must not restart it),
    stay within 40 characters however long the label, and are unique across threads."""
    from concurrent.futures import ThreadPoolExecutor

    from mockproget_contracts import Target

    target = Target(url="http://127.0.0.1:9/", api_key=ADMIN_KEY, readonly=True)  # no probes
    first, second = target.client(), target.client()
    names = [first.display_name("a label"), second.display_name("a label"),
             first.display_name("x" * 200), second.display_name()]
    assert len(set(names)) == len(names)
    assert all(len(n) <= 40 and n.startswith(target.name_prefix) for n in names)
    assert re.fullmatch(r"mockproget-contracts [0-9a-f]{6}", target.name_prefix)
    with ThreadPoolExecutor(8) as pool:
        many = list(pool.map(lambda _: target.client().display_name("t"), range(400)))
    assert len(set(many)) == 400
    other = Target(url="http://127.0.0.1:9/", api_key=ADMIN_KEY, readonly=True)
    assert other.client().display_name() != first.display_name()  # another run, another id


# -- verify as a CI tool: pre-flight, exit statuses, options, interrupt, JUnit XML -------------

def _verify_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 5) -> subprocess.CompletedProcess[str]:
    """``mockproget verify`` in a fresh process, bounded in time (a hang fails the test)."""
    return subprocess.run([sys.executable, "-m", "mockproget", "verify", *args], capture_output=True, text=True,
                          env=env or _env(), timeout=timeout)


def _one_line(run: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in (run.stdout + run.stderr).splitlines() if line.strip()]
    assert len(lines) == 1, lines
    return lines[0]


def test_dead_port_is_one_line_and_exit_3() -> None:
    """Pre-flight (§1): nothing listens on the port: one line, exit 3, within the 5 s bound."""
    run = _verify_cli("--url", f"http://127.0.0.1:{_free_port()}/", "--api-key", ADMIN_KEY)
    assert run.returncode == 3, run.stdout + run.stderr
    assert "cannot reach" in _one_line(run) and "connection refused" in _one_line(run)


def test_wrong_key_is_one_line_and_exit_3(served: str) -> None:
    """Pre-flight (§3): the key is refused on list in the header and the query: one line, exit 3,
    and the key is not printed."""
    wrong = "f" * 40
    run = _verify_cli("--url", served, "--api-key", wrong)
    assert run.returncode == 3, run.stdout + run.stderr
    line = _one_line(run)
    assert "refused the API key (403)" in line and wrong not in line


def test_non_proget_server_is_one_line_and_exit_3(tmp_path: Any) -> None:
    """Pre-flight (§1, §6): ``python -m http.server`` has no /health and no X-ProGet-*
    headers: one line saying it does not look like ProGet, exit 3."""
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
                              cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                requests.get(f"http://127.0.0.1:{port}/", timeout=1)
                break
            except requests.ConnectionError:
                import time
                time.sleep(0.05)
        run = _verify_cli("--url", f"http://127.0.0.1:{port}/", "--api-key", ADMIN_KEY)
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert run.returncode == 3, run.stdout + run.stderr
    assert "does not look like ProGet" in _one_line(run)


@pytest.mark.parametrize("args, says", [
    (["--max-examples", "0"], "--max-examples: must be 1 or more"),
    (["--max-examples", "-5"], "--max-examples: must be 1 or more"),
    (["--durations", "-1"], "--durations: must be 0 or more"),
    (["--url", "ftp://example.com/"], "--url: must be an http:// or https:// URL"),
    (["--profile", "heavy"], "--profile: invalid choice"),
], ids=["max-examples-0", "max-examples-negative", "durations-negative", "not-http", "profile"])
def test_bad_options_are_usage_errors(args: list[str], says: str) -> None:
    """Every option is validated (§1-§8 runs need sane settings): exit 2, and no verdict."""
    url = ["--url", "http://127.0.0.1:9/"] if "--url" not in args else []
    run = _verify_cli(*url, "--api-key", ADMIN_KEY, *args)
    assert run.returncode == 2, run.stdout + run.stderr
    assert says in run.stderr and "CONFORM" not in run.stdout + run.stderr


def test_k_matching_nothing_is_a_usage_error(served: str) -> None:
    """``-k nomatch``: a usage message naming the expression, exit 2, not DOES NOT CONFORM (§1)."""
    run = _verify_cli("--url", served, "--api-key", ADMIN_KEY, "-k", "nomatch", timeout=60)
    assert run.returncode == 2, run.stdout + run.stderr
    assert _one_line(run) == "mockproget verify: no clause matches -k 'nomatch'"


def test_url_and_names_come_from_the_environment(served: str, tmp_path: Any) -> None:
    """``--url`` and the names default to ``MOCKPROGET_TARGET_*`` like the secrets (§1, §3);
    ``--junitxml`` writes one testcase per clause that ran, its section as a property, no secret."""
    report_path = tmp_path / "verify.xml"
    run = _verify_cli("-k", "pgutil_creates or health", "--junitxml", str(report_path), timeout=120, env=_env(
        MOCKPROGET_TARGET_URL=served, MOCKPROGET_TARGET_API_KEY=ADMIN_KEY, MOCKPROGET_TARGET_FEED="MyNpmFeed",
        MOCKPROGET_TARGET_FEED_GROUP="MyFeedGroup", MOCKPROGET_TARGET_USER="johnsmith"))
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr
    assert "SKIP" not in run.stdout  # every name came from the environment
    import xml.etree.ElementTree as ET

    suite = ET.parse(report_path).getroot().find("testsuite")
    assert suite is not None
    cases = suite.findall("testcase")
    assert len(cases) == int(suite.get("tests", "0")) == len(re.findall(r"^PASS ", run.stdout, re.M)) >= 6
    assert {p.get("value") for c in cases for p in c.iter("property")} >= {"§7 [client]", "§1 [doc]"}
    assert ADMIN_KEY not in report_path.read_text()


def test_junitxml_reports_a_failure(capsys: Any, tmp_path: Any) -> None:
    """A failing clause is a JUnit ``failure`` with its masked detail (§6 [client])."""
    server = serve_broken(create_as_text)
    path = tmp_path / "out.xml"
    try:
        code = cli_main(["verify", "--url", server.url, "--api-key", ADMIN_KEY, "-k", "create_answers",
                         "--junitxml", str(path)])
    finally:
        server.stop()
    assert code == 1
    text = path.read_text()
    assert "<failure" in text and "test_create_answers_json_api_key_info" in text and ADMIN_KEY not in text


def test_interrupt_reports_only_what_ran(served: str) -> None:
    """Ctrl+C (SIGINT) stops the run with exit 130; only clauses that ran are listed, the
    summary says how many of all ran, and there is no verdict (§1-§8: nothing is claimed)."""
    import signal
    import time

    process = subprocess.Popen(
        [sys.executable, "-m", "mockproget", "verify", "--url", served, "--api-key", ADMIN_KEY,
         "--username", "Admin", "--password", "Admin", "--feed", "MyNpmFeed", "--user", "johnsmith"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())
    deadline = time.monotonic() + 60
    before = requests.get(served + "__mockproget__/journal", params={"limit": 1}, timeout=10).json()["total"]
    while time.monotonic() < deadline:  # wait until clauses are running: the kit's requests flow
        # (a kit key exists only for moments, so polling the key list can miss every one)
        total = requests.get(served + "__mockproget__/journal", params={"limit": 1}, timeout=10).json()["total"]
        if total - before > 80:
            break
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, out[-2000:] + err[-2000:]
    match = re.search(r"INTERRUPTED: (\d+) of (\d+) clauses ran", out)
    assert match, out[-2000:]
    ran, total = int(match.group(1)), int(match.group(2))
    assert 0 < ran < total
    assert len(re.findall(r"^(PASS|FAIL|SKIP) ", out, re.M)) == ran
    assert "verdict: none (interrupted" in out and "conforms" not in out
    keys = requests.get(served + "api/api-keys/list", headers={"X-ApiKey": ADMIN_KEY}, timeout=10).json()
    assert [k["displayName"] for k in keys] == ["mockproget admin"]  # the interrupted run cleaned up


def test_help_documents_the_exit_statuses() -> None:
    """``mockproget verify --help`` names every exit status and the environment variables (§1-§8 runs)."""
    run = _verify_cli("--help")
    assert run.returncode == 0
    text = " ".join(run.stdout.split())
    for said in ("0 the server conforms", "1 the server does not conform", "2 usage error",
                 "3 the target is unreachable or unusable", "130 interrupted", "MOCKPROGET_TARGET_URL",
                 "--junitxml", "--profile"):
        assert said in text, said
