"""docs/feeds.md: the client lines a user copies run as written against `mockproget serve`
(only the port changes), with the configuration the page shows (proget-feeds spec §2-§5)."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import requests

from feedkit import needs_npm, npm_package_dir, nupkg, run, upack, wheel
from serve_process import ServeProcess

DOC = Path(__file__).resolve().parent.parent / "docs" / "feeds.md"
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def blocks(kind: str) -> list[str]:
    return [text for lang, text in BLOCK.findall(DOC.read_text(encoding="utf-8")) if lang == kind]


@needs_npm
def test_client_lines_of_the_feeds_page_run_against_mockproget_serve(tmp_path: Path) -> None:
    """§3-§5 and issue 11's acceptance: npm config + publish + install, pip install with
    the key in the index URL, twine upload, the NuGet push and the Universal upload and
    download, each line as the page prints it, with the page's feeds.toml."""
    config = tmp_path / "feeds.toml"
    config.write_text(blocks("toml")[0], encoding="utf-8")
    shell = blocks("sh")
    assert shell[0].strip() == "mockproget serve --config feeds.toml"
    server = ServeProcess("--config", str(config))
    try:
        port = server.url.rstrip("/").rsplit(":", 1)[1]
        work = tmp_path / "work"
        (work / "dist").mkdir(parents=True)
        wheel(work / "dist", "mockfeed-demo", "1.0.0")
        (work / "Demo.Package.1.0.0.nupkg").write_bytes(nupkg("Demo.Package", "1.0.0"))
        (work / "demo-1.0.0.upack").write_bytes(upack("demo", "1.0.0", "tools"))
        package = npm_package_dir(tmp_path / "npm")
        project = tmp_path / "project"
        project.mkdir()
        (project / "package.json").write_text('{"name": "project", "version": "1.0.0"}', encoding="utf-8")
        env = {"HOME": str(tmp_path / "home"), "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
               "PIP_CONFIG_FILE": os.devnull, "PIP_TARGET": str(tmp_path / "site"), "PIP_NO_CACHE_DIR": "1",
               "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
               "TWINE_NON_INTERACTIVE": "1", "npm_config_fetch_retries": "0", "npm_config_audit": "false",
               "npm_config_fund": "false", "npm_config_update_notifier": "false"}
        (tmp_path / "home").mkdir()
        [dotnet] = [b for b in blocks("text") if b.startswith("dotnet nuget push")]
        assert "--api-key ci-key" in dotnet and "/nuget/MyNuGetFeed/" in dotnet  # no .NET SDK here
        ran: list[str] = []
        for text in shell[1:]:
            lines = [line for line in text.strip().splitlines() if line and not line.startswith("#")]
            for line in lines:
                command = line.replace("127.0.0.1:8624", f"127.0.0.1:{port}")
                cwd = package if "npm publish" in line else project if "npm install" in line else work
                done = run(["bash", "-c", command], env, cwd)
                assert done.returncode == 0, f"{line}\n{done.stdout}\n{done.stderr}"
                ran.append(line.split()[0] + " " + line.split()[1])
        assert ran == ["npm config", "npm publish", "npm install", "twine upload", "pip install",
                       "curl -fsS", "curl -fsS", "curl -fsS"]
        assert (project / "node_modules" / "mockfeed-demo" / "index.js").is_file()
        assert (tmp_path / "site" / "mockfeed_demo" / "__init__.py").is_file()
        assert (work / "demo.upack").read_bytes() == upack("demo", "1.0.0", "tools")
        state = requests.get(server.url + "__mockproget__/state", timeout=10).json()
        assert sorted(p["filename"] for p in state["packages"]) == [
            "demo.1.0.0.upack", "demo.package.1.0.0.nupkg", "mockfeed-demo-1.0.0.tgz",
            "mockfeed_demo-1.0.0-py3-none-any.whl"]
    finally:
        server.stop()


def test_python_examples_of_the_feeds_page_run() -> None:
    """Each ```python block of docs/feeds.md runs on its own and its assertions hold."""
    examples = blocks("python")
    assert examples
    for source in examples:
        exec(compile(source, str(DOC), "exec"), {"__name__": "feeds_doc"})  # noqa: S102


def test_the_readme_client_lines_are_the_ones_this_page_runs() -> None:
    """Issue 11: the README's one line per client is, word for word, a line of
    docs/feeds.md that the test above runs (npm, pip, twine, the Universal upload) or
    checks (the dotnet push, no .NET SDK here)."""
    readme = (DOC.parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("The one line each client needs", 1)[1]
    [shown] = [text for lang, text in BLOCK.findall(section) if lang == "text"][:1]
    page_lines = {line.strip() for kind in ("sh", "text") for block in blocks(kind) for line in block.splitlines()}
    lines = [line.strip() for line in shown.splitlines() if line.strip()]
    assert {line.split()[0] for line in lines} == {"npm", "pip", "twine", "dotnet", "curl"}
    for line in lines:
        assert line in page_lines, line
