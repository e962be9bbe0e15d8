"""Issue 8: secrets never leak, in any encoding, anywhere a user can look.

Spec §3 names the four carriers (``X-ApiKey``, ``key`` query, ``key`` form value,
``API_Key`` JSON property) and pseudo-keys (``user:password``); feed clients add Basic
credentials (``api:key``, ``user:password``). A secret may hold any character.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import secrets as random_secrets
import socket
import string
from collections.abc import Iterator
from urllib.parse import quote, quote_plus

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mockproget import Config, MockProGet, NewApiKey, SeedState
from mockproget.masking import MASK, Masker

LIST = "api/api-keys/list"
CREATE = "api/api-keys/create"
DELETE = "api/api-keys/delete"
C = "__mockproget__/"

#: Secrets with every awkward character: blanks, '/', '%', '+', ';', '=', quotes, non-ASCII.
PASSWORDS = {"carol": "c@r0l/sl ash;=\"q'+%41ü", "dave": "pässwörd 1/2+3=4;%"}
KEYS = ["key one/+;=%\"'é-0001", "ключ two%2F+x;y=z-0002", "k3y 😀 three 'q\" &amp; -0003"]
LOGGING_KEY = "logging key both/;=+% ß-0004"
TOKEN = "control token /+;=% ñ-0005"


def forms(secret: str, user: str | None = None) -> set[str]:
    """Every form of ``secret`` the test places, and searches for."""
    raw = secret.encode("utf-8")
    found = {
        secret,
        quote(secret, safe=""), quote(secret, safe="/;=+"), re.sub("%[0-9A-F]{2}", lambda m: m.group().lower(), quote(secret, safe="")),
        quote_plus(secret), quote_plus(secret, safe="/"),
        json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1],
        raw.decode("latin-1"),
    }
    for prefix in ("api:", f"{user}:" if user else "", ""):
        if prefix or user is None:
            encoded = base64.b64encode(prefix.encode() + raw).decode()
            found |= {encoded, encoded.rstrip("="), base64.urlsafe_b64encode(prefix.encode() + raw).decode()}
    return {f for f in found if f}


@pytest.fixture
def proget() -> Iterator[MockProGet]:
    """A mock whose users, keys and control token hold awkward characters."""
    state = SeedState(
        users=[("carol", PASSWORDS["carol"], True), ("dave", PASSWORDS["dave"], False)],
        feeds=["MyNpmFeed"],
        api_keys=[NewApiKey(type="system", key=k, system_apis=("full-control",), logging="none")
                  for k in KEYS]
        + [NewApiKey(type="system", key=LOGGING_KEY, system_apis=("full-control",), logging="both")])
    with MockProGet(Config(port=0, state=state, control_token=TOKEN)) as server:
        yield server


def _send(session: requests.Session, method: str, url: str, **kwargs: object) -> requests.Response:
    return session.request(method, url, timeout=10, **kwargs)  # type: ignore[arg-type]


def test_no_secret_in_any_encoding_anywhere(proget: MockProGet, caplog: pytest.LogCaptureFixture) -> None:
    """Issue 8 acceptance, spec §3: every secret (key texts, passwords, the control token,
    a just-created key), used through all four carriers, pseudo-keys and Basic
    credentials, and placed raw, percent-, plus- and base64-encoded in paths, queries,
    headers and bodies, appears in no form in the access log, the journal, any
    control-API answer, any error body or any repr."""
    caplog.set_level(logging.INFO, logger="mockproget.access")
    url = proget.url
    token = {"X-MockProGet-Token": TOKEN}
    answers: list[str] = []  # error bodies and control answers
    with requests.Session() as http:
        def record(response: requests.Response) -> None:
            if response.status_code >= 400 or response.url.startswith(url + C):
                answers.append(response.text)

        created = http.post(url + CREATE, headers={"X-ApiKey": LOGGING_KEY}, timeout=10,
                            json={"type": "system", "systemApis": ["full-control"], "logging": "both"})
        assert created.status_code == 200, created.text
        new_key = created.json()["key"]
        secrets: dict[str, tuple[str, str | None]] = {
            **{f"key {i}": (k, None) for i, k in enumerate(KEYS)},
            "logging key": (LOGGING_KEY, None), "created key": (new_key, None),
            "control token": (TOKEN, None),
            **{f"password of {u}": (p, u) for u, p in PASSWORDS.items()},
        }
        credentials = [k for k in KEYS] + [new_key] + [f"{u}:{p}" for u, p in PASSWORDS.items()]
        # 1. every credential through every carrier (spec §3), and as Basic credentials
        for credential in credentials:
            record(_send(http, "GET", url + LIST, headers={"X-ApiKey": credential.encode()}))
            record(_send(http, "GET", url + LIST, params={"key": credential}))
            record(_send(http, "POST", url + DELETE + "?id=999999", data={"key": credential}))
            record(_send(http, "POST", url + CREATE, json={"API_Key": credential, "type": "personal",
                                                          "user": "carol", "logging": "none"}))
        for who, password in [(u, k) for k in KEYS + [new_key] for u in ("api", "someone")] \
                + list(PASSWORDS.items()):
            basic = base64.b64encode(f"{who}:{password}".encode()).decode()
            for header in ("Authorization", "Proxy-Authorization", "X-Forwarded-Authorization"):
                record(_send(http, "GET", url + LIST, headers={header: f"Basic {basic}"}))
                record(_send(http, "GET", url + LIST, headers={header: f"Basic {basic.rstrip('=')}"}))
        # 2. every form of every secret in a path, a query, a header and bodies
        for name, (secret, user) in secrets.items():
            for form in sorted(forms(secret, user)):
                path_form = form.replace("?", "%3F").replace("#", "%23")
                record(_send(http, "GET", url + "probe/" + path_form))
                record(_send(http, "GET", url + "health?note=" + quote(form, safe="%+/=")))
                record(_send(http, "GET", url + "health", params={"note": form}))
                record(_send(http, "GET", url + "health", headers={"X-Note": form.encode()}))
                record(_send(http, "POST", url + DELETE + "?id=" + quote(form, safe="%+/"),
                             headers={"X-ApiKey": LOGGING_KEY, "Content-Type": "text/plain"},
                             data=f"body {form} end".encode()))
                record(_send(http, "POST", url + CREATE, headers={"X-ApiKey": LOGGING_KEY},
                             json={"type": "nope", "note": form}))
                record(_send(http, "PUT", url + LIST + "/" + path_form))  # 404 / 405 bodies
        # 3. control answers (with the token), and refusals
        record(_send(http, "GET", url + C + "state", headers=token))
        for path in ("", "faults", "settings", "journal?limit=10000"):
            record(_send(http, "GET", url + C + path, headers=token))
        record(_send(http, "POST", url + C + "faults", headers=token, json={"path": "/x", "status": 99,
                                                                           "body": 5}))
        record(_send(http, "POST", url + C + "reset", headers={**token, "Content-Type": "text/plain"}))
        record(_send(http, "GET", url + C + "state", headers={"X-MockProGet-Token": TOKEN + "x"}))
        record(_send(http, "GET", url + C + "state", headers={**token, "Host": "evil.example"}))
        journal = proget.journal.entries()
    assert len(journal) > 500 and any(e["request_body"] for e in journal)
    assert any(e["carrier"] == carrier for e in journal for carrier in ("header", "query", "form", "json"))
    places = {
        "access log": caplog.text,
        "journal": json.dumps(journal, ensure_ascii=False) + json.dumps(journal) + str(journal),
        "answers": "\n".join(answers),
        "reprs": "\n".join(repr(x) for x in (proget, proget.config, proget.backend, proget.backend.masker,
                                             proget.journal, proget.app.extensions, proget.backend.users,
                                             proget.backend.api_keys, proget.backend.export_state())),
    }
    assert "/api/api-keys/list" in places["access log"] and MASK in places["journal"]
    any_user = {base64.b64encode(f"someone:{k}".encode()).decode() for k in KEYS + [new_key]}
    assert not [b for b in any_user for text in places.values() if b.rstrip("=") in text]
    leaks = [(name, form, where) for name, (secret, user) in secrets.items()
             for form in forms(secret, user) for where, text in places.items() if form in text]
    assert leaks == [], leaks[:5]


def test_404_does_not_tell_a_live_key_from_a_random_string(proget: MockProGet) -> None:
    """Issue 8 acceptance (no oracle): the 404 for a path holding a live key or a password,
    in any encoding, is byte for byte the 404 for a random string of the same shape;
    likewise a refused request line, read straight from the socket."""
    def same_shape(text: str) -> str:
        pool = {c: random_secrets.choice(string.ascii_letters) if c.isalnum() else c for c in text}
        return "".join(pool[c] for c in text)

    with requests.Session() as http:
        for secret in KEYS + list(PASSWORDS.values()):
            for form in (quote(secret, safe=""), quote(secret, safe="/;=+"), secret.replace("%", "%25")):
                live = http.get(proget.url + "probe/" + form, timeout=10)
                other = http.get(proget.url + "probe/" + same_shape(form), timeout=10)
                assert live.status_code == other.status_code == 404
                assert live.content == other.content and live.headers["Content-Length"] == other.headers[
                    "Content-Length"]
                for method in ("PUT", "SECRET"):
                    a = http.request(method, proget.url + LIST + "/" + form, timeout=10)
                    b = http.request(method, proget.url + LIST + "/" + same_shape(form), timeout=10)
                    assert (a.status_code, a.content) == (b.status_code, b.content)
    key = KEYS[0].replace(" ", "_")
    proget.backend.add_api_key(NewApiKey(type="system", key=key, system_apis=("full-control",),
                                         logging="none"))

    def raw(line: bytes) -> bytes:
        with socket.create_connection(("127.0.0.1", proget.port), timeout=10) as sock:
            sock.sendall(line + b"\r\nHost: 127.0.0.1\r\n\r\n")
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
        return re.sub(rb"Date: [^\r]*", b"", data)

    refused = raw(b"GET /x " + key.encode() + b" HTTP/1.1")
    refused_other = raw(b"GET /x " + same_shape(key).encode() + b" HTTP/1.1")
    assert refused.startswith(b"HTTP/1.") and b" 400 " in refused.split(b"\r\n")[0]
    assert refused == refused_other and key.encode() not in refused


def test_error_bodies_echo_no_input(proget: MockProGet) -> None:
    """Issue 8: ``delete?id=<secret>`` answers 400 without echoing the value; an unknown
    path names only the route prefix it shares with the mock (``/api/api-keys/...``)."""
    with requests.Session() as http:
        answer = http.post(proget.url + DELETE, params={"id": "my-guess-123"},
                           headers={"X-ApiKey": KEYS[0]}, timeout=10)
        assert answer.status_code == 400 and "my-guess-123" not in answer.text
        assert "id: must be an integer" in answer.text
        answer = http.get(proget.url + "api/api-keys/nothing-here", timeout=10)
        assert answer.status_code == 404 and answer.text == "Not found: /api/api-keys/...\n"
        answer = http.put(proget.url + CREATE, timeout=10)
        assert answer.status_code == 405 and "/api/api-keys/create" in answer.text


# -- the masker on its own ----------------------------------------------------------------

#: Secret texts drawn from every kind of character, separators and non-ASCII included.
secret_texts = st.text(
    alphabet=st.one_of(st.sampled_from(" /%+;=\"'&?#:\\,"), st.characters(codec="utf-8",
                                                                          exclude_categories=["Cs"])),
    min_size=6, max_size=24).filter(lambda s: s.strip() == s and len(set(s)) > 3)


@settings(max_examples=150, deadline=None)
@given(secret=secret_texts, user=st.sampled_from(["carol", "ü-user"]),
       before=st.text(max_size=20), after=st.text(max_size=20))
def test_masker_hides_every_form(secret: str, user: str, before: str, after: str) -> None:
    """Issue 8 §1: whatever characters a secret holds, each of its forms is masked where
    it appears whole, with any text around it."""
    masker = Masker()
    masker.add(secret, user)
    for form in forms(secret, user):
        shown = masker.mask(f"{before}{form}{after}")
        assert form not in shown and secret not in shown, (form, shown)
        assert MASK in shown


def test_masker_forgets_and_rebuilds() -> None:
    """Issue 8 §1: a replaced set of secrets is what is masked; pinned secrets stay;
    many additions stay masked (merged automata)."""
    masker = Masker()
    masker.pin("the-control-token")
    many = [f"secret-number-{i:05d}" for i in range(3000)]
    for text in many:
        masker.add(text)
    assert all(MASK in masker.mask(f"x {t} y") for t in many[::97])
    masker.replace([("only-this-one", None)])
    assert masker.mask("secret-number-00001 only-this-one the-control-token") == \
        f"secret-number-00001 {MASK} {MASK}"
    assert "only-this-one" not in repr(masker)


def test_masker_is_consistent_under_concurrency() -> None:
    """Issue 8 §1 (copy-on-write): while threads add secrets, other threads mask texts
    holding secrets already added; every one of them is masked, none is lost."""
    import threading

    masker = Masker()
    added: list[str] = []
    lock = threading.Lock()
    misses: list[str] = []

    def writer(n: int) -> None:
        for i in range(300):
            text = f"concurrent secret {n}/{i} ;=+%"
            masker.add(text)
            with lock:
                added.append(text)

    def reader() -> None:
        for _ in range(300):
            with lock:
                known = list(added[-20:])
            for text in known:
                shown = masker.mask(f"x {quote(text)} y {text} z")
                if text in shown or quote(text) in shown:
                    misses.append(text)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    threads += [threading.Thread(target=reader) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert misses == [] and len(added) == 1200 and len(masker) == 1200
    assert all(masker.mask(text) == MASK for text in added)


def test_the_backend_keeps_the_masker_in_step(proget: MockProGet) -> None:
    """Issue 8 §1: a deleted key is forgotten once enough are gone; a changed password is
    masked, the old one no longer; reset and a restored snapshot mask exactly their secrets."""
    backend = proget.backend
    snapshot = backend.snapshot()
    backend.add_user("erin", "erins-first-pw")
    backend.add_user("erin", "erins-second-pw")
    key, text = backend.add_api_key(NewApiKey(type="system", system_apis=("sca",), logging="none"))
    assert backend.mask(f"{text} erins-second-pw") == f"{MASK} {MASK}"
    proget.reset()
    assert backend.mask(f"{text} erins-second-pw {KEYS[0]}") == f"{text} erins-second-pw {MASK}"
    backend.restore(snapshot)
    assert backend.mask(f"{LOGGING_KEY}|{PASSWORDS['dave']}") == f"{MASK}|{MASK}"


def test_the_reported_leaks_are_closed(caplog: pytest.LogCaptureFixture) -> None:
    """Issue 8, as reported: a generated key re-encoded with ``+`` in the access log, a
    password with ``/`` in a 404 body, a key straddling the header cap, Basic
    ``api:KEY`` in ``Proxy-Authorization``."""
    caplog.set_level(logging.INFO, logger="mockproget.access")
    with MockProGet(Config(port=0, state=SeedState(users=[("carol", "c@r0l/slash/pw", True)]))) as proget, \
            requests.Session() as http:
        key = http.post(proget.url + CREATE, headers={"X-ApiKey": "carol:c@r0l/slash/pw"}, timeout=10,
                        json={"type": "system", "systemApis": ["sca"], "logging": "none"}).json()["key"]
        http.get(proget.url + f"health?note=token%20{key}", timeout=10)
        http.get(proget.url + f"health?note=token+{key}", timeout=10)
        answer = http.get(proget.url + "nope/c@r0l%2Fslash/pw", timeout=10)
        assert answer.text == "Not found: /...\n"
        http.get(proget.url + "health", timeout=10, headers={
            "X-Long": "x" * 1020 + key,
            "Proxy-Authorization": "Basic " + base64.b64encode(f"api:{key}".encode()).decode(),
            "X-Forwarded-Auth": "Basic " + base64.b64encode(f"api:{key}".encode()).decode()})
        journal = json.dumps(proget.journal.entries())
    for text in (caplog.text, journal):
        assert key not in text and key[:8] not in text
        assert "c@r0l/slash/pw" not in text and "c@r0l%2Fslash" not in text
    assert "note=token" in caplog.text and "X-Long" in journal


#: Secret texts a header can carry too (no control characters).
header_texts = st.text(
    alphabet=st.one_of(st.sampled_from(" /%+;=\"'&?#:\\,"), st.characters(codec="utf-8",
                                                                          exclude_categories=["Cs", "Cc"])),
    min_size=6, max_size=24).filter(lambda s: s.strip() == s and len(set(s)) > 3)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(password=header_texts)
def test_a_drawn_password_never_shows_through_the_server(
        mock: MockProGet, password: str) -> None:
    """Issue 8 acceptance with drawn secrets (spec §3 pseudo-keys): a password of any
    characters, used as a pseudo-key and placed in a path, a query and a header, in raw
    and encoded forms, shows in no journal entry and no error body."""
    mock.reset()
    mock.backend.add_user("drawn", password, admin=True)
    bodies = []
    with requests.Session() as http:
        pseudo = f"drawn:{password}"
        http.get(mock.url + LIST, headers={"X-ApiKey": pseudo.encode()}, timeout=10)
        assert http.get(mock.url + LIST, params={"key": pseudo}, timeout=10).status_code == 200
        for form in (quote(password, safe=""), quote_plus(password), json.dumps(password)[1:-1]):
            bodies.append(http.get(mock.url + "probe/" + quote(form, safe="%"), timeout=10).text)
            http.get(mock.url + "health", params={"q": form}, headers={"X-Note": form.encode()}, timeout=10)
    # what the requests put there (the journal's own field names and constants, such as
    # "duration_ms" or "header", are no part of any request: a drawn text may spell them)
    carried = [{k: e[k] for k in ("method", "path", "query", "headers", "request_body", "response_body")}
               for e in mock.journal.entries()]
    shown = json.dumps(carried, ensure_ascii=False) + json.dumps(carried)
    shown += "".join(bodies)
    assert not [f for f in forms(password, "drawn") if f in shown]
