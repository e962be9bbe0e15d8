"""Form bodies on the feed uploads within ``max_body``: a twine upload whose long
description (the README twine sends as a form field) is larger than werkzeug's default
per-field bound, and a form with more parts than werkzeug reads.

Spec sections: proget-feeds §4.3 (twine's legacy upload, multipart), §1.4 (refusals
are 4xx with a readable text body); the body bound is the mock's ``max_body``
(docs/server.md).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import requests

from feedkit import PYTHON, feeds, feeds_server, run, sdist  # noqa: F401
from mockproget import MockProGet

NAME = "mockfeed-demo"
README = "A long README.\n" + "lorem ipsum dolor sit amet " * 24_000  # about 650 KB


def _wheel_with_readme(directory: Path, version: str) -> Path:
    """A pure-Python wheel whose METADATA carries :data:`README` as its description
    (twine reads it from there and sends it as the ``description`` form field)."""
    module = NAME.replace("-", "_")
    dist_info = f"{module}-{version}.dist-info"
    files = {
        f"{module}/__init__.py": f"VERSION = {version!r}\n".encode(),
        f"{dist_info}/METADATA": (f"Metadata-Version: 2.1\nName: {NAME}\nVersion: {version}\n"
                                  f"Description-Content-Type: text/plain\n\n{README}").encode(),
        f"{dist_info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: mockproget\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    files[f"{dist_info}/RECORD"] = "".join(f"{name},,\n" for name in [*files, f"{dist_info}/RECORD"]).encode()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{module}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return path


def test_twine_uploads_a_package_with_a_long_readme(feeds: MockProGet, tmp_path: Path) -> None:
    """§4.3: the real twine uploads a wheel whose README is about 650 KB (the whole
    request under the 1 MiB ``max_body``) and pip's index lists it. Before, werkzeug's
    500,000-byte bound on one form field refused it with a 413 that claimed the body was
    over its 1 MiB limit."""
    built = _wheel_with_readme(tmp_path / "dist", "1.0.0")
    env = {"HOME": str(tmp_path), "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring"}
    done = run([PYTHON, "-m", "twine", "upload", "--non-interactive", "--disable-progress-bar",
                "--repository-url", f"{feeds.url}pypi/pypi-a/legacy", "-u", "api", "-p", "pypi-publish-a",
                str(built)], env, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    [upload] = feeds.journal.entries(path="/pypi/pypi-a/legacy")
    assert upload["status"] == 200
    page = requests.get(feeds.url + f"pypi/pypi-a/simple/{NAME}/", auth=("api", "pypi-view-a"), timeout=10)
    assert built.name in page.text


def test_a_form_with_too_many_parts_is_told_so(feeds: MockProGet) -> None:
    """§1.4: a twine-shaped upload with 1,200 form fields (a small body) is refused with
    a 413 in text that names the form's parts, not a body over its limit; nothing is
    published."""
    fields = {":action": "file_upload", "name": NAME, "version": "1.0.0",
              "classifiers": [f"Topic :: T{i}" for i in range(1200)]}
    response = requests.post(feeds.url + "pypi/pypi-a/legacy", auth=("api", "pypi-publish-a"), data=fields,
                             files={"content": (f"{NAME}-1.0.0.tar.gz", sdist(NAME, "1.0.0"))}, timeout=10)
    assert response.status_code == 413
    assert response.headers["Content-Type"].startswith("text/plain")
    assert "more than 1000 parts" in response.text and "too large (the limit" not in response.text
    index = requests.get(feeds.url + f"pypi/pypi-a/simple/{NAME}/", auth=("api", "pypi-view-a"), timeout=10)
    assert index.status_code == 404
