"""The HTTP version on the request line, read as the server reads the line (§6 of the
api-keys spec: every refusal is a 4xx in text; docs/server.md, docs/fidelity.md "§6
request heads": a later HTTP/1 minor version is answered as HTTP/1.1, another major
version, HTTP/0.9 included, is a 400 saying to send HTTP/1.1; RFC 9112 §2.3, §3).

waitress cuts every trailing whitespace byte off the request line (``bytes.rstrip``:
space, tab, vertical tab, form feed) before it reads the version, so the mock must judge
the version on the same cut line; and a line with no version at all is what an HTTP/0.9
client sends.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from mockproget import MockProGet
from netkit import read_all, status_of


@pytest.fixture(scope="module")
def server() -> Iterator[MockProGet]:
    with MockProGet() as running:
        yield running


def _ask(server: MockProGet, line: bytes, rest: bytes = b"Host: x\r\nConnection: close\r\n\r\n") -> bytes:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(line + b"\r\n" + rest)
        return read_all(sock)


def _refused_for_its_version(answer: bytes) -> bool:
    head, _, text = answer.partition(b"\r\n\r\n")
    return status_of(head) == 400 and b"text/plain" in head.lower() and b"send HTTP/1.1" in text


@settings(max_examples=60, deadline=None)
@given(major=st.integers(0, 9), minor=st.integers(0, 9),
       trailing=st.text(alphabet=" \t\x0b\x0c", max_size=3))
def test_the_version_is_judged_on_the_line_waitress_reads(server: MockProGet, major: int, minor: int,
                                                         trailing: str) -> None:
    """§6 (docs/fidelity.md "§6 request heads", RFC 9112 §2.3): whatever whitespace ends
    the request line, HTTP/1.0 is answered as 1.0, HTTP/1.1 and later 1.x as 1.1, and any
    other major version is a 400 in text, never served as HTTP/1.0."""
    answer = _ask(server, f"GET /health HTTP/{major}.{minor}{trailing}".encode())
    if major != 1:
        assert _refused_for_its_version(answer), answer[:300]
    elif minor == 0:
        assert answer.startswith(b"HTTP/1.0 200 "), answer[:300]
    else:
        assert answer.startswith(b"HTTP/1.1 200 "), answer[:300]


@pytest.mark.parametrize("line, first", [(b"GET /health HTTP/2.0\x0c", b"HTTP/1.1 400 "),
                                         (b"GET /health HTTP/3.0\x0b", b"HTTP/1.1 400 "),
                                         (b"GET /health HTTP/1.2\x0c", b"HTTP/1.1 200 "),
                                         (b"GET /health HTTP/1.9 \x0b", b"HTTP/1.1 200 ")])
def test_a_form_feed_or_vertical_tab_after_the_version_changes_nothing(server: MockProGet, line: bytes,
                                                                       first: bytes) -> None:
    """§6 (RFC 9112 §2.3): ``HTTP/2.0`` followed by a form feed is still HTTP/2.0 (a 400,
    not a 200 as HTTP/1.0), ``HTTP/1.2`` followed by one is still answered as HTTP/1.1."""
    answer = _ask(server, line)
    assert answer.startswith(first), answer[:300]
    if first.startswith(b"HTTP/1.1 400"):
        assert _refused_for_its_version(answer)


@pytest.mark.parametrize("line", [b"GET /health", b"GET /api/api-keys/list", b"GET HTTP/1.1", b"GET HTTP/1.2",
                                  b"POST /api/api-keys/create"])
def test_a_request_line_without_a_version_is_http_0_9_and_a_400(server: MockProGet, line: bytes) -> None:
    """§6 (docs/fidelity.md: ``HTTP/0.9`` is a 400 saying to send HTTP/1.1; RFC 9112 §3:
    the request line ends with the version): a line with no version, the form an HTTP/0.9
    client sends (``GET HTTP/1.1`` is one too: its target is the text ``HTTP/1.1``), is
    refused like ``GET /health HTTP/0.9``, not served as HTTP/1.0; the connection closes,
    so a request pipelined behind it is not answered, and the server goes on serving."""
    pipelined = b"Host: x\r\n\r\nGET /health HTTP/1.1\r\nHost: x\r\n\r\n"
    answer = _ask(server, line, pipelined)
    assert _refused_for_its_version(answer), answer[:300]
    assert b"HTTP/0.9" in answer.partition(b"\r\n\r\n")[2]
    assert b" 200 " not in answer  # the pipelined request was not served
    assert _refused_for_its_version(_ask(server, b"GET /health HTTP/0.9"))
    assert requests.get(server.url + "health", timeout=10).status_code == 200


@pytest.mark.parametrize("rest", [b"\r\n",  # no Host: HTTP/1.1's rules refuse it
                                  b"Host: x\r\nTransfer-Encoding: gzip\r\n\r\n",
                                  b"Host: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"])
def test_a_refused_later_minor_version_is_logged_as_it_was_sent(rest: bytes,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    """§6 (docs/server.md: HTTP/1.2 is read as HTTP/1.1, the access log shows the line as
    sent): an HTTP/1.2 request that HTTP/1.1's rules refuse (a 400) is logged with the
    ``HTTP/1.2`` it came with, as a served one is, not with the ``HTTP/1.1`` it was read as."""
    import logging

    caplog.set_level(logging.INFO, logger="mockproget")
    with MockProGet() as running:
        answer = _ask(running, b"GET /health HTTP/1.2", rest)
    assert status_of(answer) == 400, answer[:300]
    lines = [r.getMessage() for r in caplog.records if r.name == "mockproget.access"]
    assert any('"GET /health HTTP/1.2" 400' in line for line in lines), lines
    assert not any("HTTP/1.1" in line for line in lines), lines
