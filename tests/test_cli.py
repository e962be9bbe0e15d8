"""``mockproget serve`` as a new user runs it, and the README's requests against it."""

from __future__ import annotations

import ctypes
import os
import re
import shlex
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

README = Path(__file__).resolve().parent.parent / "docs" / "trying.md"


class Served:
    """A ``mockproget serve`` child process and what it printed at start."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "mockproget", "serve", "--port", "0", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, **(env or {})})
        self.banner: list[str] = []
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.banner.append(line.rstrip("\n"))
            if "press Ctrl+C" in line:
                break
        else:
            raise AssertionError(f"serve did not start: {self.process.stderr.read()}")  # type: ignore[union-attr]
        match = re.search(r"listening on (http://\S+/)", "\n".join(self.banner))
        assert match, self.banner
        self.url = match.group(1)

    def stop(self) -> tuple[int, str, str]:
        self.process.send_signal(signal.SIGTERM)
        out, err = self.process.communicate(timeout=10)
        return self.process.returncode, out, err


@pytest.fixture
def served() -> Iterator[Served]:
    server = Served("--seed", "5")
    yield server
    if server.process.poll() is None:
        server.stop()


def test_serve_prints_url_version_edition_key_and_seed(served: Served) -> None:
    banner = "\n".join(served.banner)
    assert re.search(r"ProGet 2025\.10 \(Enterprise edition\) listening on http://127\.0\.0\.1:\d+/", banner)
    key = re.search(r"admin API key: ([0-9a-f]{40})", banner)
    assert key, banner
    assert "seed: 5" in banner
    response = requests.get(served.url + "api/api-keys/list", headers={"X-ApiKey": key.group(1)})
    assert response.status_code == 200


def test_serve_stops_cleanly_on_sigterm(served: Served) -> None:
    code, out, _ = served.stop()
    assert code == 0
    assert "stopped" in out


def test_given_admin_key_is_not_echoed() -> None:
    server = Served(env={"MOCKPROGET_ADMIN_KEY": "env-given-admin-key"})
    try:
        assert "env-given-admin-key" not in "\n".join(server.banner)
        assert requests.get(server.url + "api/api-keys/list",
                            headers={"X-ApiKey": "env-given-admin-key"}).status_code == 200
    finally:
        _, out, err = server.stop()
    assert "env-given-admin-key" not in out + err


def test_config_file_and_flags(tmp_path: Path) -> None:
    path = tmp_path / "mock.toml"
    path.write_text('[instance]\nedition = "Free"\nversion = "2024.3"\n', encoding="utf-8")
    server = Served("--config", str(path))
    try:
        assert "ProGet 2024.3 (Free edition)" in server.banner[0]
        response = requests.get(server.url + "health")
        assert response.headers["X-ProGet-Version"] == "24.0.3"
        assert response.headers["X-ProGet-Edition"] == "Free"
    finally:
        server.stop()


@pytest.mark.parametrize("text, expected", [
    ('[instance]\nedition = "Gold"\n', "instance.edition: edition must be one of Free, Basic, Enterprise, not 'Gold'"),
    ("not toml at all [", "file: is not valid TOML"),
])
def test_bad_config_is_one_line_and_exit_status_2(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "mock.toml"
    path.write_text(text, encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "mockproget", "serve", "--config", str(path)],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr  # no traceback
    assert lines[0].startswith(f"mockproget: bad configuration: {path}: ")
    assert expected in lines[0]


def test_port_in_use_is_a_clear_error(served: Served) -> None:
    port = served.url.rsplit(":", 1)[1].strip("/")
    result = subprocess.run([sys.executable, "-m", "mockproget", "serve", "--port", port],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr


# -- the README, as a new user would try it ------------------------------------------------------


def _readme_curl_commands() -> list[str]:
    """Every ``curl`` command of the README's "Trying it" section, continuation lines joined."""
    text = README.read_text(encoding="utf-8")
    section = text.split("# Trying it", 1)[1]
    blocks = re.findall(r"```sh\n(.*?)```", section, flags=re.S)
    commands = []
    for block in blocks:
        for command in block.replace("\\\n", " ").splitlines():
            if command.strip().startswith("curl "):
                commands.append(command.strip())
    return commands


def _run_curl(command: str, base: str) -> requests.Response:
    """Send what ``curl`` would for the README's flags (-sS, -X, -H, -d)."""
    words = shlex.split(command.replace("$P", base.rstrip("/")))[1:]
    method, headers, data, url = None, {}, None, None
    while words:
        word = words.pop(0)
        if word == "-X":
            method = words.pop(0)
        elif word == "-H":
            name, _, value = words.pop(0).partition(":")
            headers[name.strip()] = value.strip()
        elif word == "-d":
            data = words.pop(0).encode()
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        elif word.startswith("-"):
            assert word == "-sS", f"the README uses a curl flag this test does not know: {word}"
        else:
            url = word
    assert url is not None
    return requests.request(method or ("POST" if data is not None else "GET"), url, headers=headers, data=data)


def test_readme_requests_all_succeed_against_mockproget_serve(served: Served) -> None:
    """Issue 2: every vendor example, as the README shows it with curl, succeeds."""
    commands = _readme_curl_commands()
    assert len(commands) >= 9, commands  # 4 creates, list, delete, health, 2 other carriers
    for command in commands:
        response = _run_curl(command, served.url)
        assert response.status_code == 200, (command, response.status_code, response.text)
        if "api-keys/create" in command:
            info = response.json()
            assert {"id", "type", "key", "logging"} <= set(info)


@pytest.mark.parametrize("args, words", [
    (["--port", "99999"], "65535"),
    (["--journal-size", "99999999999999999999"], "1,000,000"),
])
def test_out_of_range_flags_are_refused(args: list[str], words: str) -> None:
    result = subprocess.run([sys.executable, "-m", "mockproget", "serve", *args],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert words in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("text, extra, words", [
    ('[[api_keys]]\ntype = "feed"\nfeed = "nope"\npackagePermissions = ["view"]\n', [], "nope"),
    ('[[api_keys]]\nkey = "abc"\ntype = "system"\nsystemApis = ["sca"]\n', ["--admin-key", "abc"],
     "already exists"),
])
def test_a_seeded_state_that_breaks_a_rule_is_one_line(tmp_path: Path, text: str, extra: list[str],
                                                       words: str) -> None:
    path = tmp_path / "k.toml"
    path.write_text(text, encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "mockproget", "serve", "--config", str(path), *extra],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mockproget: bad configuration: ")
    assert words in lines[0]
    assert "abc" not in lines[0].replace("already exists", "")


def test_an_empty_admin_key_flag_shows_the_generated_key() -> None:
    server = Served("--admin-key", "")
    try:
        key = re.search(r"admin API key: ([0-9a-f]{40})", "\n".join(server.banner))
        assert key, server.banner
        assert requests.get(server.url + "api/api-keys/list", headers={"X-ApiKey": key.group(1)}).status_code == 200
    finally:
        server.stop()


def _to_another_thread(pid: int, number: int) -> None:
    """Send signal ``number`` to one of ``pid``'s threads other than its main one (what the
    kernel may do with a signal sent to the process), or to the process where threads
    cannot be named (not Linux)."""
    try:
        tasks = sorted(int(t) for t in os.listdir(f"/proc/{pid}/task") if int(t) != pid)
        tgkill = ctypes.CDLL(None, use_errno=True).tgkill
    except (OSError, AttributeError):
        os.kill(pid, number)
        return
    assert tasks, "serve runs its server in threads of its own"
    assert tgkill(pid, tasks[0], number) == 0, ctypes.get_errno()


def test_serve_stops_on_a_sigterm_handed_to_another_thread() -> None:
    """A process-directed SIGTERM may reach any thread; serve stops all the same, at once
    (its main thread does not sleep on a lock that a signal elsewhere never wakes)."""
    server = Served()
    try:
        assert requests.get(server.url + "health", timeout=5).status_code == 200
        _to_another_thread(server.process.pid, signal.SIGTERM)
        out, _ = server.process.communicate(timeout=10)
        assert server.process.returncode == 0 and "stopped" in out
    finally:
        if server.process.poll() is None:
            server.process.kill()
            server.process.communicate()
