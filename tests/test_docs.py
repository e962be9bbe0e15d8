"""Every code block of README.md and docs/*.md runs, so a snippet that rots fails the suite.

Blocks are found by Sybil (its Markdown code-block parser); what each language means is
decided here and written down for authors in docs/development.md ("Code blocks in the
documentation"). One test per document: its blocks run in order, sharing one namespace,
one working folder and one running mock, so a block may build on the ones above it
(and pytest-xdist never splits a document between workers).
"""

from __future__ import annotations

import ast
import contextlib
import io
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from sybil import Example, Sybil
from sybil.evaluators.python import PythonEvaluator
from sybil.parsers.markdown import CodeBlockParser

from mockproget import MockProGet, load_config
from mockproget.cli import _with_cli_faults, build_parser
from mockproget.config import ConfigError
from mockproget_contracts.options import OPTIONS

ROOT = Path(__file__).resolve().parent.parent
#: Pages whose blocks another test runs, with what they need that this harness does not
#: build: docs/feeds.md drives real npm, pip and twine with packages the test makes
#: (tests/test_feeds_docs.py runs every block of it).
RUN_ELSEWHERE = {ROOT / "docs" / "feeds.md": "tests/test_feeds_docs.py"}
DOCUMENTS = [p for p in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))] if p not in RUN_ELSEWHERE]
#: The address the documentation writes for `mockproget serve`; replayed against the
#: document's own mock.
DOCUMENTED_BASE = "http://127.0.0.1:8624"
#: The languages a fence may name; any other (or none) is an error, so that no block is
#: silently left unchecked.
SHELL = ("sh", "bash", "shell", "console")
UNCHECKED = ("text",)
#: Shell built-ins a block may use; they change nothing the harness checks.
SHELL_BUILTINS = ("cd", "echo", "set", "unset", "true", ":", "sleep")
FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})(?P<info>[^\n`]*)$", re.M)
FILE_LINE = re.compile(r"^#\s*(?P<name>[\w.-]+\.(?:py|toml|json))\s*$")
#: A trailing ``# answers 403`` (curl: the HTTP status) or ``# exits 4`` (a command's exit status).
EXPECT = re.compile(r"#\s*(?:answers|exits)\s+(?P<status>\d+)\b")


class Page:
    """What the blocks of one document share: a folder, a running mock, shell variables."""

    def __init__(self, path: Path, folder: Path) -> None:
        self.path, self.folder = path, folder
        self.server = MockProGet().start()
        self.vars: dict[str, str] = {"P": self.server.url.rstrip("/")}
        self.env: dict[str, str] = {}
        #: what the last command of the previous shell block printed, when it was run,
        #: and where that block ends in the document
        self.output: str | None = None
        self.output_end = 0

    def close(self) -> None:
        self.server.stop()

    # -- python ---------------------------------------------------------------------------

    def python(self, example: Example) -> None:
        self.output = None
        source = str(example.parsed)
        first = source.lstrip().splitlines()[0] if source.strip() else ""
        named = FILE_LINE.match(first)
        tree = ast.parse(source, filename=f"{self.path.name}:{example.line}")
        defines_tests = any(isinstance(node, (ast.FunctionDef, ast.ClassDef)) and
                            node.name.lower().startswith("test") for node in tree.body)
        if named or defines_tests:
            name = named.group("name") if named else f"test_{self.path.stem.replace('-', '_')}_{example.line}.py"
            (self.folder / name).write_text(source, encoding="utf-8")
            if name.startswith("test_"):
                self.pytest([name], collect_only=False)
            return
        previous = os.getcwd()
        os.chdir(self.folder)
        try:
            PythonEvaluator()(example)
        finally:
            os.chdir(previous)
            shadow = example.namespace.get("proget")
            if isinstance(shadow, MockProGet) and not shadow.running:
                example.namespace["proget"] = self.server  # a block's own `with` mock has stopped

    def pytest(self, args: list[str], *, collect_only: bool, env: dict[str, str] | None = None,
               expect: int | None = None) -> None:
        environ = {k: v for k, v in os.environ.items()
                   if not k.startswith(("PROGET_", "MOCKPROGET_TARGET_", "PYTEST_ADDOPTS"))}
        environ.update(self.env)
        environ.update(env or {})
        environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(self.folder), environ.get("PYTHONPATH")]))
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
                   *(["--collect-only"] if collect_only else []), *args]
        run = subprocess.run(command, cwd=self.folder, env=environ, capture_output=True, text=True, timeout=300)
        allowed = (expect,) if expect is not None else (0, 5) if collect_only else (0,)  # 5: no tests here
        self.output = run.stdout + run.stderr
        assert run.returncode in allowed, (f"{shlex.join(['pytest', *args])} exited {run.returncode}:\n"
                                           + run.stdout[-3000:] + run.stderr[-2000:])

    # -- toml / json ------------------------------------------------------------------------

    def toml(self, example: Example) -> None:
        self.output = None
        source = str(example.parsed)
        tomllib.loads(source)  # a TOML error names the line
        named = FILE_LINE.match(source.lstrip().splitlines()[0]) if source.strip() else None
        path = self.folder / (named.group("name") if named else f"block-{example.line}.toml")
        path.write_text(source, encoding="utf-8")
        try:  # every TOML block of these docs is (part of) a mockproget configuration
            MockProGet(load_config(str(path), env={}))
        except ConfigError as error:
            raise AssertionError(f"{self.path.name}:{example.line}: not a valid configuration: {error}") from None

    def json(self, example: Example) -> None:
        json.loads(str(example.parsed))
        self.output = None

    def text(self, example: Example) -> None:
        """Output right after a shell block (nothing but blank lines between them) whose
        last command ran: each line is in what it printed (``…`` stands for any text).
        Other text is not checked."""
        output = self.output
        if output is None or example.document.text[self.output_end:example.start].strip():
            return
        for line in filter(None, (line.strip() for line in str(example.parsed).splitlines())):
            pattern = ".*".join(re.escape(part) for part in line.split("…"))
            assert re.search(pattern, output), f"not in the output of the block above: {line!r}"
        self.output = None

    # -- shell ------------------------------------------------------------------------------

    def shell(self, example: Example) -> None:
        """Each block starts a fresh shell: ``$P`` is the page's mock, nothing else is set."""
        self.vars, self.env, self.output = {"P": self.server.url.rstrip("/")}, {}, None
        self.output_end = example.end
        for line in _logical_lines(str(example.parsed)):
            expect = EXPECT.search(line)
            words = shlex.split(line, comments=True)
            command: list[str] = []
            for word in [*words, "&&"]:
                if word in ("&&", ";", "||"):
                    if command:
                        self.command(command, int(expect.group("status")) if expect else None)
                    command = []
                else:
                    command.append(word)

    def expand(self, word: str) -> str:
        def value(match: re.Match[str]) -> str:
            name = match.group(1) or match.group(2)
            return self.vars.get(name, self.env.get(name, os.environ.get(name, "")))
        return re.sub(r"\$\{(\w+)\}|\$(\w+)", value, word)

    def command(self, words: list[str], expect: int | None) -> None:
        words = [self.expand(w) for w in words]
        env: dict[str, str] = {}
        if words[0] == "export":
            for word in words[1:]:
                name, _, value = word.partition("=")
                self.env[name] = value
            return
        while words and re.match(r"^[A-Za-z_]\w*=", words[0]):
            name, _, value = words.pop(0).partition("=")
            env[name] = value
        if not words:  # plain assignments: shell variables for the lines below
            self.vars.update(env)
            return
        program, args = words[0], words[1:]
        if program in ("python", "python3") and args[:2] == ["-m", "mockproget"]:
            program, args = "mockproget", args[2:]
        if program in ("python", "python3") and args[:2] == ["-m", "pytest"]:
            program, args = "pytest", args[2:]
        if program == "curl":
            self.curl(args, expect)
        elif program == "mockproget":
            self.mockproget(args, env, expect)
        elif program == "pytest":
            for arg in args:
                if arg.startswith("--proget-"):
                    assert arg.split("=")[0] in OPTIONS, f"pytest {arg}: not an option of the plugin"
            self.pytest(args, collect_only=True, env=env, expect=expect)
        elif program == "pip":
            self.pip(args)
        elif program in SHELL_BUILTINS:
            pass
        elif program in ("python", "python3"):
            script = ROOT / args[0]
            assert script.is_file(), f"python {args[0]}: no such file in the repository"
            compile(script.read_text(encoding="utf-8"), str(script), "exec")
        else:
            assert shutil.which(program), (f"{program}: not installed here; install it in .ci/run, "
                                           "or show the block as ```text")

    def curl(self, args: list[str], expect: int | None) -> None:
        """Send what curl would for the flags the docs use; the answer must be a success
        (or the status a trailing ``# answers NNN`` comment names)."""
        method: str | None = None
        headers: dict[str, str] = {}
        data: list[bytes] = []
        form: dict[str, Any] = {}
        auth: tuple[str, str] | None = None
        url: str | None = None
        output: Path | None = None
        args = list(args)
        while args:
            word = args.pop(0)
            if word in ("-X", "--request"):
                method = args.pop(0)
            elif word in ("-H", "--header"):
                name, _, value = args.pop(0).partition(":")
                headers[name.strip()] = value.strip()
            elif word in ("-d", "--data", "--data-binary", "--data-raw"):
                text = args.pop(0)
                data.append((self.folder / text[1:]).read_bytes() if text.startswith("@") and word != "--data-raw"
                            else text.encode())
            elif word in ("-F", "--form"):
                name, _, value = args.pop(0).partition("=")
                form[name] = ((Path(value[1:]).name, (self.folder / value[1:]).read_bytes())
                              if value.startswith("@") else (None, value))
            elif word in ("-T", "--upload-file"):
                data.append((self.folder / args.pop(0)).read_bytes())
                method = method or "PUT"
            elif word in ("-u", "--user"):
                user, _, password = args.pop(0).partition(":")
                auth = (user, password)
            elif word in (">", "-o", "--output"):
                output = self.folder / args.pop(0)
            elif word.startswith("-"):
                assert re.fullmatch(r"-[sSfiLkv]+|--(silent|show-error|fail|include|location|verbose)", word), \
                    f"curl {word}: a flag the docs harness does not replay (tests/test_docs.py)"
            else:
                url = word.replace(DOCUMENTED_BASE, self.server.url.rstrip("/"))
        assert url is not None, "curl without a URL"
        body = b"&".join(data) if data else None
        if body is not None and not any(n.lower() == "content-type" for n in headers):
            headers["Content-Type"] = "application/x-www-form-urlencoded"  # as curl -d does
        response = requests.request(method or ("POST" if body is not None or form else "GET"), url,
                                    headers=headers, data=body, files=form or None, auth=auth, timeout=30)
        if expect is None:
            assert response.status_code < 400, (f"curl {url}: {response.status_code} {response.text[:500]}")
        else:
            assert response.status_code == expect, (f"curl {url}: {response.status_code}, "
                                                    f"the docs say {expect}: {response.text[:500]}")
        if output is not None:
            output.write_bytes(response.content)

    def mockproget(self, args: list[str], env: dict[str, str], expect: int | None = None) -> None:
        """Parse the command line as ``mockproget`` would; for ``serve``, build the server it
        describes (configuration, faults, seeded state) without binding its port."""
        wanted = expect or 0
        try:
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()) as err:
                parsed = build_parser().parse_args(args)
        except SystemExit as stop:  # --help, --version, or a usage error
            assert stop.code == wanted, f"mockproget {shlex.join(args)}: exit {stop.code}: {err.getvalue()[-500:]}"
            return
        code = 2 if parsed.command is None else 0  # no command: the help, exit 2
        assert code == wanted, f"mockproget {shlex.join(args)}: exit {code}, the docs say {wanted}"
        if parsed.command != "serve":
            return
        config_path = str(self.folder / parsed.config) if parsed.config else None
        if config_path:
            assert Path(config_path).exists(), (
                f"--config {parsed.config}: show that file in a ```toml block whose first line is "
                f"`# {parsed.config}`")
        config = load_config(config_path, env={**self.env, **env}).with_overrides(
            host=parsed.host, port=parsed.port, admin_key=parsed.admin_key, seed=parsed.seed,
            control_token=parsed.control_token, journal_size=parsed.journal_size)
        MockProGet(_with_cli_faults(config, parsed.fault or []))

    def pip(self, args: list[str]) -> None:
        if not args or args[0] != "install":
            return  # other pip commands: shell syntax only
        extras = set(tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
                     ["project"]["optional-dependencies"])
        for target in (a for a in args[1:] if a.startswith(".")):  # this project: its extras must exist
            match = re.fullmatch(r"\.(?:\[(?P<extras>[\w,-]+)\])?", target)
            assert match, f"pip install {target}: not this project's folder"
            for extra in filter(None, (match.group("extras") or "").split(",")):
                assert extra in extras, f"pip install {target}: no extra {extra!r} in pyproject.toml"


def _logical_lines(source: str) -> Iterator[str]:
    """Shell lines with backslash continuations joined and quoted newlines kept together."""
    pending = ""
    for line in source.splitlines():
        pending += line
        if pending.endswith("\\"):
            pending = pending[:-1] + " "
            continue
        try:
            shlex.split(pending, comments=True)
        except ValueError:  # an open quote: the command goes on on the next line
            pending += "\n"
            continue
        if pending.strip():
            yield pending
        pending = ""
    assert not pending.strip(), f"unterminated shell command: {pending[:200]}"


def _unlabelled_fences(text: str) -> list[int]:
    """Line numbers of opening fences that name no language."""
    inside: str | None = None
    found = []
    for match in FENCE.finditer(text):
        fence, info = match.group("fence"), match.group("info").strip()
        if inside is None:
            inside = fence
            if not info:
                found.append(text.count("\n", 0, match.start()) + 1)
        elif fence[0] == inside[0] and len(fence) >= len(inside) and not info:
            inside = None
    return found


def _evaluator(method: str) -> Any:
    def evaluate(example: Example) -> None:
        __tracebackhide__ = True
        getattr(example.namespace["page"], method)(example)
    return evaluate


SYBIL = Sybil(parsers=[
    CodeBlockParser("python", _evaluator("python")),
    *(CodeBlockParser(language, _evaluator("shell")) for language in SHELL),
    CodeBlockParser("toml", _evaluator("toml")),
    CodeBlockParser("json", _evaluator("json")),
    CodeBlockParser("text", _evaluator("text")),
])


def _languages(text: str) -> set[str]:
    return {m.group("info").strip().split()[0] for m in FENCE.finditer(text) if m.group("info").strip()}


def run_document(path: Path, folder: Path) -> None:
    """Run every block of ``path`` in order, in ``folder``; the first that fails raises
    :class:`AssertionError` naming the page and the block's line."""
    __tracebackhide__ = True
    text = path.read_text(encoding="utf-8")
    shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name
    assert not _unlabelled_fences(text), (f"{shown}: a code block without a language at line(s) "
                                          f"{_unlabelled_fences(text)}: write ```text for output")
    unknown = _languages(text) - {"python", *SHELL, "toml", "json", *UNCHECKED}
    assert not unknown, f"{shown}: code blocks in {sorted(unknown)}, which the docs harness does not check"
    document = SYBIL.parse(path)
    page = Page(path, folder)
    document.namespace.update(page=page, proget=page.server)
    sys.path.insert(0, str(folder))  # file blocks (``# name.py``) import each other
    try:
        for example in document.examples():
            try:
                example.evaluate()
            except Exception as error:
                raise AssertionError(f"{shown}, the block at line {example.line}: "
                                     f"{type(error).__name__}: {error}") from error
    finally:
        page.close()
        sys.path.remove(str(folder))
        for name in [n for n in sys.modules if (getattr(sys.modules[n], "__file__", None) or "")
                     .startswith(str(folder))]:
            del sys.modules[name]  # a module of this page must not shadow another page's


@pytest.mark.parametrize("path", DOCUMENTS, ids=[str(p.relative_to(ROOT)) for p in DOCUMENTS])
def test_every_code_block_runs(path: Path, tmp_path: Path) -> None:
    """README.md and docs/*.md: each block, in order, does what the page says it does."""
    run_document(path, tmp_path)


BROKEN_PAGES = {
    "python": ("```python\nassert 1 + 1 == 3\n```\n", "the block at line 1: AssertionError"),
    "name": ("```python\nprovision_feed_key_with_retries()\n```\n", "NameError"),
    "pytest file": ("```python\ndef test_x(proget):\n    assert proget.admin_key == 'x'\n```\n", "exited 1"),
    "curl status": ('```sh\ncurl -sS "$P/api/api-keys/list"\n```\n', "403"),
    "curl expected": ('```sh\ncurl -sS "$P/health"   # answers 404\n```\n', "the docs say 404"),
    "serve flag": ("```sh\nmockproget serve --no-such-flag\n```\n", "exit 2"),
    "fault spec": ('```sh\nmockproget serve --fault "POST /api/* 999"\n```\n', "status"),
    "pytest option": ("```sh\npytest --proget-nope\n```\n", "not an option of the plugin"),
    "extra": ('```sh\npip install -e ".[nope]"\n```\n', "no extra 'nope'"),
    "toml": ('```toml\n[instance]\nedition = "Gold"\n```\n', "not a valid configuration"),
    "json": ('```json\n{"a": ...}\n```\n', "JSONDecodeError"),
    "output": ("```sh\npytest --proget-max-examples 0   # exits 4\n```\n\n```text\nERROR: something else\n```\n",
               "not in the output of the block above"),
    "no language": ("```\nmockproget serve\n```\n", "without a language"),
    "language": ("```yaml\na: 1\n```\n", "does not check"),
    "program": ("```sh\nno-such-program-here --flag\n```\n", "not installed here"),
}


@pytest.mark.parametrize("name", BROKEN_PAGES)
def test_a_block_that_does_not_do_what_it_says_fails(name: str, tmp_path: Path) -> None:
    """The harness can fail: a page whose block is wrong stops the test, naming the block."""
    text, message = BROKEN_PAGES[name]
    page = tmp_path / "page.md"
    page.write_text(text, encoding="utf-8")
    (tmp_path / "work").mkdir()
    with pytest.raises(AssertionError) as failure:
        run_document(page, tmp_path / "work")
    assert message in str(failure.value), str(failure.value)


def test_every_document_is_checked() -> None:
    """The harness covers README.md and every page under docs/ (new pages are picked up)."""
    assert ROOT / "README.md" in DOCUMENTS and len(DOCUMENTS) > 5
    assert {p.name for p in DOCUMENTS} >= {"index.md", "fixtures.md", "embedding.md", "development.md"}


def test_the_site_builds_with_warnings_as_errors(tmp_path: Path) -> None:
    """``mkdocs build --strict``: every page under docs/ is in the site, and no link or
    anchor is broken (a warning fails the build)."""
    run = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    built = {p.relative_to(tmp_path / "site").parent for p in (tmp_path / "site").rglob("index.html")}
    for page in (ROOT / "docs").rglob("*.md"):
        relative = page.relative_to(ROOT / "docs").with_suffix("")
        expected = relative.parent if relative.name == "index" else relative
        assert expected in built, f"{page.name} is not in the site"
