"""PyPI feeds, ``/pypi/«feed»/`` (proget-feeds spec §4): just enough for pip and twine.

The PEP 503 simple index (``/simple/``, ``/simple/«project»/``), the files it links to
(``/files/«file»``, [model]: ProGet's own file URLs are unknown) and twine's legacy upload
(``POST /legacy``, multipart ``:action=file_upload``).
"""

from __future__ import annotations

import email.parser
import hashlib
import hmac
import io
import re
import tarfile
from html import escape

from flask import Blueprint, Response, redirect, request

from ..errors import InvalidInput, NotFound
from ..models import Package
from ..views import backend_of
from .auth import authorize
from .common import feed_url, multipart_body, open_zip, read_member

__all__ = ["normalize", "parse_distribution", "pypi"]

pypi = Blueprint("feeds_pypi", __name__)
TYPE = "pypi"

#: Project names [std: PEP 508 / packaging's name rule] and their PEP 503 normal form.
_NAME = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$", re.IGNORECASE)
_VERSION = re.compile(r"^[0-9A-Za-z.+!_-]{1,100}$")
_FILENAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+!-]{0,254}$")
_SEPARATORS = re.compile(r"[-_.]+")


def normalize(name: str) -> str:
    """PEP 503: lower case, runs of ``-_.`` as one ``-``."""
    return _SEPARATORS.sub("-", name).lower()


def _page(title: str, links: list[tuple[str, str, str]]) -> Response:
    """A PEP 503 HTML page: one anchor per link (url, text, extra attributes)."""
    anchors = "\n".join(f'    <a href="{escape(url)}"{attrs}>{escape(text)}</a><br/>' for url, text, attrs in links)
    html = (f"<!DOCTYPE html>\n<html>\n  <head><meta name=\"pypi:repository-version\" content=\"1.0\">"
            f"<title>{escape(title)}</title></head>\n  <body>\n{anchors}\n  </body>\n</html>\n")
    return Response(html, mimetype="text/html")


@pypi.get("/pypi/<feed>/simple/")
def index(feed: str) -> Response:
    """Every project of the feed."""
    principal = authorize(feed, TYPE, "read")
    names = sorted({p.name_key for p in backend_of().find_packages(principal, feed, TYPE)})
    return _page(f"Simple index of {feed}", [(feed_url("pypi", feed, "simple", n) + "/", n, "") for n in names])


@pypi.get("/pypi/<feed>/simple/<project>")
def project_without_slash(feed: str, project: str) -> Response:
    """PEP 503: the project URL ends with ``/``."""
    return redirect(feed_url("pypi", feed, "simple", normalize(project)) + "/", code=301)  # type: ignore[return-value]


@pypi.get("/pypi/<feed>/simple/<project>/")
def project(feed: str, project: str) -> Response:
    """The files of one project, by its normalized name (PEP 503)."""
    principal = authorize(feed, TYPE, "read")
    packages = backend_of().find_packages(principal, feed, TYPE, normalize(project))
    if not packages:
        raise NotFound(f"There is no project {project} in feed {feed}.")
    links = []
    for package in packages:
        attrs = ""
        requires = package.metadata.get("requires_python")
        if requires:
            attrs = f' data-requires-python="{escape(requires)}"'
        links.append((feed_url("pypi", feed, "files", package.filename) + f"#sha256={package.sha256}",
                      package.filename, attrs))
    return _page(f"Links for {project}", links)


@pypi.get("/pypi/<feed>/files/<filename>")
def download(feed: str, filename: str) -> Response:
    principal = authorize(feed, TYPE, "read")
    package = backend_of().package_file(principal, feed, TYPE, filename)
    return Response(package.content, mimetype="application/octet-stream")


def _uploaded(feed: str) -> Package:
    """The file of a twine upload [std: warehouse legacy upload API], checked."""
    multipart_body("upload", "Invalid upload")
    form, files = request.form, request.files
    problems: list[str] = []
    if form.get(":action") != "file_upload":
        problems.append(":action must be file_upload")
    name, version = form.get("name", ""), form.get("version", "")
    if not _NAME.fullmatch(name) or len(name) > 200:
        problems.append(f"name {name[:100]!r} is not a valid project name")
    if not _VERSION.fullmatch(version):
        problems.append(f"version {version[:100]!r} is not a valid version")
    upload = files.get("content")
    if upload is None or not upload.filename:
        problems.append("content: the distribution file is missing")
    if problems:
        raise InvalidInput(problems, heading="Invalid upload")
    assert upload is not None and upload.filename is not None
    filename = upload.filename
    content = upload.read()
    if not _FILENAME.fullmatch(filename) or not normalize(filename).startswith(normalize(name) + "-"):
        problems.append(f"content: file name {filename[:100]!r} is not a distribution of {name}")
    if not content:
        problems.append("content: the file is empty")
    for field, algorithm in (("sha256_digest", "sha256"), ("md5_digest", "md5")):
        given = form.get(field)
        if given and not hmac.compare_digest(given.lower().encode("ascii", "replace"),
                                             hashlib.new(algorithm, content).hexdigest().encode()):
            problems.append(f"{field} does not match the file")
    if problems:
        raise InvalidInput(problems, heading="Invalid upload")
    metadata = {k: form.get(k, "") for k in ("summary", "requires_python", "filetype", "pyversion")
                if form.get(k)}
    return _package(feed, name, version, filename, content, metadata)


def _package(feed: str, name: str, version: str, filename: str, content: bytes,
             metadata: dict[str, str]) -> Package:
    return Package(feed=feed, name=name, version=version, filename=filename, content=content,
                   ident=(filename,), name_key=normalize(name), metadata=metadata)


def parse_distribution(feed: str, filename: str, data: bytes) -> Package:
    """A wheel or an sdist (``.tar.gz``, ``.zip``) as a package: name and version from its
    core metadata (``*.dist-info/METADATA`` or ``PKG-INFO``), a 400 if there is none."""
    if not _FILENAME.fullmatch(filename) or not filename.endswith((".whl", ".tar.gz", ".zip")):
        raise InvalidInput([f"{filename[:100]!r} is not a wheel or sdist file name"], heading="Invalid package")
    text = _core_metadata(filename, data)
    fields = email.parser.HeaderParser().parsestr(text)
    name, version = fields.get("Name", ""), fields.get("Version", "")
    if not _NAME.fullmatch(name) or not _VERSION.fullmatch(version):
        raise InvalidInput(["the core metadata needs a valid Name and Version"], heading="Invalid package")
    if not normalize(filename).startswith(normalize(name) + "-"):
        raise InvalidInput([f"{filename[:100]!r} is not a distribution of {name}"], heading="Invalid package")
    metadata = {k: v for k, v in (("summary", fields.get("Summary", "")),
                                  ("requires_python", fields.get("Requires-Python", ""))) if v}
    return _package(feed, name, version, filename, data, metadata)


def _core_metadata(filename: str, data: bytes) -> str:
    """The METADATA / PKG-INFO text of a distribution, bounded, or a 400."""
    try:
        if filename.endswith(".tar.gz"):
            with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
                for member in archive:
                    if member.isfile() and member.name.count("/") == 1 and member.name.endswith("/PKG-INFO") \
                            and member.size <= 1024 * 1024:
                        handle = archive.extractfile(member)
                        if handle is not None:
                            return handle.read().decode("utf-8", "replace")
        else:
            zipped = open_zip(data, "distribution")
            for name in zipped.namelist():
                parts = name.split("/")
                if (filename.endswith(".whl") and len(parts) == 2 and parts[0].endswith(".dist-info")
                        and parts[1] == "METADATA") or (len(parts) == 2 and parts[1] == "PKG-INFO"):
                    return read_member(zipped, name, name).decode("utf-8", "replace")
    except (tarfile.TarError, OSError, EOFError, ValueError):
        pass
    raise InvalidInput(["the distribution holds no readable core metadata (METADATA or PKG-INFO)"],
                       heading="Invalid package")


@pypi.post("/pypi/<feed>/legacy")
@pypi.post("/pypi/<feed>/legacy/")
def upload(feed: str) -> Response:
    """``twine upload --repository-url …/pypi/«feed»/legacy``: 200, or 409 for a file that
    exists (§4.3 [model], which ``--skip-existing`` recognises)."""
    principal = authorize(feed, TYPE, "publish")
    backend_of().publish_package(principal, TYPE, _uploaded(feed))
    return Response("OK\n", mimetype="text/plain")
