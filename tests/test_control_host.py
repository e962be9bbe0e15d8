"""The control API's Host check (DNS rebinding defence) against malformed and arbitrary
``Host`` values (docs/control-api.md "Safe from web pages"; RFC 9110 §7.2, RFC 3986 §3.2.2).

Spec: the control API is the mock's own (issue 8 §3); errors are text (§6).
"""

from __future__ import annotations

import ipaddress
import re
import socket

import pytest
from flask import Flask
from hypothesis import example, given, settings
from hypothesis import strategies as st

from mockproget import Config, MockProGet, create_app

SETTINGS = "/__mockproget__/settings"
MALFORMED = ["[::1", "[::1]x", "[::1]:8o", "[::1]]", "[[::1]]", "[127.0.0.1]", "::1",
             "[::1]:99999999999", "localhost:80:80", "localhost:-1", "localhost:+80", "local host",
             "localhost,evil.example", "127.0.0.1, evil.example", "localhost@evil.example",
             "evil.example#.localhost", "localhost/x", "[::1%25lo]", "", " ", "127.0.0.1\t:80",
             "localhost..", ".localhost", "[::1]\x00", "\u2488.localhost", "ⓛocalhost"]


@pytest.fixture(scope="module")
def app() -> Flask:
    return create_app(Config(admin_key="k-host-check-0001"))


def _status(app: Flask, host: str) -> tuple[int, str]:
    answer = app.test_client().get(SETTINGS, headers={"Host": host})
    return answer.status_code, answer.mimetype or ""


@pytest.mark.parametrize("host", MALFORMED)
def test_a_malformed_host_is_refused_like_a_foreign_one(app: Flask, host: str) -> None:
    """Issue 8 §3, §6: a Host value that is not ``host[:port]`` as RFC 3986 writes it (a
    bracket left open, an IPv4 address in brackets, an IPv6 address without them, two
    ports, a list, userinfo) is a 403 in text, as ``evil.example`` is."""
    assert _status(app, host) == (403, "text/plain"), host


def test_a_malformed_host_is_refused_on_the_wire() -> None:
    """Issue 8 §3, §6, RFC 9112 §3.2: ``Host: [::1`` over MockProGet's socket: refused
    before the app (a 400 in text: a Host that is not ``host[:port]`` is the client's
    error on every path), the state unread; the control API's own check (403, above)
    refuses it under any other WSGI server."""
    with MockProGet() as server, socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(b"GET /__mockproget__/state HTTP/1.1\r\nHost: [::1\r\nConnection: close\r\n\r\n")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 ") and b"text/plain" in head
    assert b"Host" in body and b"apiKeys" not in body


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.1:8624", "localhost", "LOCALHOST:1234",
                                  "localhost.", "app.localhost:9", "a-b.c_d.localhost", "[::1]",
                                  "[::1]:80", "[::1]:", "localhost:", "[0:0:0:0:0:0:0:1]:65535", "127.9.9.9:1"])
def test_well_formed_local_hosts_still_pass(app: Flask, host: str) -> None:
    """Issue 8 §3 (docs/control-api.md): the bound address, ``localhost`` and
    ``*.localhost`` (any case, any port), loopback addresses are answered."""
    assert _status(app, host)[0] == 200, host


# -- the property: what passes is a well-formed loopback name or address -------------------

_NAME = re.compile(r"(?:[a-z0-9_-]+\.)*[a-z0-9_-]+\.?")


def _reference(host: str) -> bool:
    """What may pass, written from RFC 3986 §3.2.2 and docs/control-api.md, separately from
    the code under test: ``[IPv6]`` or a name / IPv4 address, an optional port of digits
    (at most 65535; ``:`` alone is an empty port, RFC 3986 §3.2.3); the name is ``localhost``, ``*.localhost`` or a loopback address."""
    match = re.fullmatch(r"(?:\[([0-9a-f:.]+)\]|([^\[\]:]+))(?::([0-9]{0,5}))?", host.lower())
    if match is None or (match.group(3) and int(match.group(3)) > 65535):
        return False
    literal, name = match.group(1), match.group(2)
    if literal is not None:
        try:
            return ipaddress.IPv6Address(literal).is_loopback
        except ValueError:
            return False
    if not _NAME.fullmatch(name):
        return False
    if name.rstrip(".") == "localhost" or name.rstrip(".").endswith(".localhost"):
        return True
    try:
        return ipaddress.IPv4Address(name).is_loopback
    except ValueError:
        return False


_HOST_TEXT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x2fff, exclude_characters="\x7f"),
                     max_size=40)
_PIECES = st.lists(st.sampled_from(["[", "]", ":", "::1", "127.0.0.1", "localhost", ".", "80", "x",
                                    "0", "@", ",", " ", "%25", "ffff", "evil.example", "-", "1"]),
                   max_size=8).map("".join)


@settings(max_examples=400, deadline=None)
@given(st.one_of(_HOST_TEXT, _PIECES))
@example("[::1")
@example("::1")
@example("[127.0.0.1]")
@example("localhost:")
@example("127.0.0.1.")
@example("127.0.0.0.:80")
def test_only_well_formed_loopback_hosts_pass(app: Flask, host: str) -> None:
    """Issue 8 §3, §6: for any Host value (text of any kind, and strings built from the
    pieces of a Host), the control API answers 200 exactly when the value is a well-formed
    loopback name or address with an optional port; every other value is a 403 in text,
    never a 5xx."""
    status, mimetype = _status(app, host)
    expected = _reference(host.strip(" \t"))
    assert (status == 200) == expected, (host, status)
    if not expected:
        assert (status, mimetype) == (403, "text/plain")
