"""The OpenAPI 3.1 description: valid, served as shipped, complete, and true of the mock
(a seeded Schemathesis run over every operation finds nothing)."""

from __future__ import annotations

import base64
import json
import re
import socket
from collections.abc import Iterator
from typing import Any
from importlib import resources

import pytest
import requests
import schemathesis
from schemathesis import APIOperation
from hypothesis import HealthCheck, settings
from openapi_schema_validator import OAS31Validator
from openapi_schema_validator import validate as validate_instance
from openapi_spec_validator import validate
from schemathesis.checks import positive_data_acceptance

import mockproget
from mockproget import Config, MockProGet
from mockproget.config import ServerSettings
from mockproget.openapi import PATH, document

#: Prefixes of the routes the document describes: ProGet's api-keys and health (spec §1)
#: and the control API.
DESCRIBED = ("/api/api-keys/", "/health", "/__mockproget__/")
#: Operations whose schema cannot say everything the server checks (a name must exist,
#: fields allowed per fault action, a state's keys must name its feeds): a schema-valid
#: request may rightly get a 400 there, so "valid data is accepted" is not asserted.
DOMAIN_RULES = {"POST /api/api-keys/create", "PUT /__mockproget__/state",
                "POST /__mockproget__/faults", "PATCH /__mockproget__/settings"}


@pytest.fixture(scope="module")
def server() -> Iterator[MockProGet]:
    with MockProGet() as running:
        yield running


def test_the_document_is_valid_openapi_3_1() -> None:
    """openapi-spec-validator accepts the shipped document (OpenAPI 3.1)."""
    doc = document()
    validate(doc)
    assert doc["openapi"] == "3.1.0" and doc["info"]["version"] == mockproget.__version__


def test_served_as_shipped(server: MockProGet) -> None:
    """``GET /__mockproget__/openapi.json`` answers the file shipped in the package, as JSON."""
    r = requests.get(server.url + PATH.lstrip("/"), timeout=10)
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/json"
    shipped = resources.files("mockproget").joinpath("openapi.json").read_text(encoding="utf-8")
    assert r.text == shipped and json.loads(r.text) == document()


def test_every_route_is_described(server: MockProGet) -> None:
    """Spec §1 and the control API: each route the app serves under the described prefixes,
    with each method, is an operation of the document, and nothing else is."""
    served = set()
    for rule in server.app.url_map.iter_rules():
        if not rule.rule.startswith(DESCRIBED):
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        served |= {(m, path) for m in rule.methods or () if m not in ("HEAD", "OPTIONS")}
    described = {(method.upper(), path) for path, item in document()["paths"].items() for method in item}
    assert served == described


def test_the_four_carriers_are_described() -> None:
    """Spec §3: header and query as security schemes, the form ``key`` and JSON ``API_Key``
    in the request bodies; errors are text/plain (§6)."""
    doc = document()
    schemes = doc["components"]["securitySchemes"]
    assert (schemes["ApiKeyHeader"]["in"], schemes["ApiKeyHeader"]["name"]) == ("header", "X-ApiKey")
    assert (schemes["ApiKeyQuery"]["in"], schemes["ApiKeyQuery"]["name"]) == ("query", "key")
    create = doc["paths"]["/api/api-keys/create"]["post"]
    variants = doc["components"]["schemas"]["ApiKeyInfoCreate"]["oneOf"]
    assert all("API_Key" in v["properties"] for v in variants)
    delete = doc["paths"]["/api/api-keys/delete"]["post"]
    form = delete["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
    assert "key" in form["properties"]
    for code in ("400", "403"):
        name = create["responses"][code]["$ref"].rsplit("/", 1)[1]
        assert list(doc["components"]["responses"][name]["content"]) == ["text/plain"]


def _operations() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document()["paths"].items():
        for method, operation in item.items():
            yield method.upper(), path, operation


def _text_plain(doc: dict[str, Any], answer: dict[str, Any]) -> bool:
    name = answer["$ref"].rsplit("/", 1)[1]
    return list(doc["components"]["responses"][name]["content"]) == ["text/plain"]


def test_control_writes_are_described_as_json_only() -> None:
    """Control API (docs/control-api.md): every write (POST, PUT, PATCH, ``reset``
    included) takes a required ``application/json`` body and lists the 415 it gets
    without one (text/plain); no read has a body."""
    doc = document()
    for method, path, operation in _operations():
        if not path.startswith("/__mockproget__/"):
            continue
        if method in ("POST", "PUT", "PATCH"):
            assert operation["requestBody"]["required"] is True, (method, path)
            assert list(operation["requestBody"]["content"]) == ["application/json"], (method, path)
            assert _text_plain(doc, operation["responses"]["415"]), (method, path)
        else:
            assert "requestBody" not in operation and "415" not in operation["responses"], (method, path)


def test_the_journal_parameters_are_the_ones_it_reads(server: MockProGet) -> None:
    """Control API: the journal's described query parameters are the ones the index
    route names, and a bad ``limit`` is the 400 the document lists."""
    operation = document()["paths"]["/__mockproget__/journal"]["get"]
    described = {p["name"] for p in operation["parameters"]}
    routes = requests.get(server.url + "__mockproget__/", timeout=10).json()["routes"]
    journal = next(r for r in routes if r.startswith("GET|DELETE /__mockproget__/journal?"))
    assert described == {part.split("=")[0] for part in journal.split("?", 1)[1].split("&")}
    answer = requests.get(server.url + "__mockproget__/journal?limit=0", timeout=10)
    assert answer.status_code == 400 and "400" in operation["responses"]
    assert answer.headers["Content-Type"].startswith("text/plain") and "limit" in answer.text


def _raw(server: MockProGet, data: bytes, wait: float = 10.0) -> tuple[int, str]:
    host, port = server.url.split("//", 1)[1].rstrip("/").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=wait) as sock:
        sock.sendall(data)
        answer = b""
        while b"\r\n\r\n" not in answer:
            piece = sock.recv(65536)
            if not piece:
                break
            answer += piece
    head = answer.split(b"\r\n\r\n", 1)[0].decode("latin-1").lower()
    return int(head.split()[1]), head


def test_the_servers_own_answers_are_on_every_operation() -> None:
    """Server (docs/server.md): the answers the server gives before any route (400 for
    framing it cannot trust, 408 for a request too slow, 431 for a header block too
    large) happen as described, text/plain, and every operation lists each."""
    doc = document()
    settings = ServerSettings(header_timeout=0.5)
    with MockProGet(Config(port=0, server=settings)) as mock:
        seen = {
            _raw(mock, b"GET /health HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
            _raw(mock, b"GET /health HTTP/1.1\r\nHost: x\r\n"),  # never ends its headers
            _raw(mock, b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 300_000 + b"\r\n\r\n"),
        }
    assert {status for status, _ in seen} == {400, 408, 431}
    assert all("content-type: text/plain" in head for _, head in seen)
    for method, path, operation in _operations():
        for status, _ in seen:
            assert _text_plain(doc, operation["responses"][str(status)]), (method, path, status)


def _conforms(instance: Any, schema: str) -> None:
    """``instance`` is valid against ``components/schemas/<schema>`` (OpenAPI 3.1 dialect)."""
    validate_instance(instance, {"$ref": f"#/components/schemas/{schema}", "components": document()["components"]},
                      cls=OAS31Validator)


def test_a_full_state_and_a_journal_page_are_as_described(server: MockProGet) -> None:
    """Control API: a state holding every kind of thing (a user with feed privileges, a
    typed feed in a group, a bare feed, a package) and a journal page with a ``next`` are
    valid against the document, and the state read back restores as it was."""
    content = base64.b64encode(b"package bytes").decode("ascii")
    written = {
        "users": [{"name": "dev", "password": "pw", "privileges": {"npm-feed": ["view", "add"], "*": ["view"]}}],
        "feeds": [{"name": "npm-feed", "type": "npm", "groups": ["group"], "anonymous": []}, "plain"],
        "feedGroups": ["group"],
        "packages": [{"feed": "npm-feed", "name": "left-pad", "version": "1.0.0", "filename": "left-pad-1.0.0.tgz",
                      "nameKey": "left-pad", "ident": ["left-pad"], "metadata": {"description": "x"},
                      "published": "2025-01-02T03:04:05+00:00", "content": content}],
    }
    control = server.url + "__mockproget__/"
    try:
        put = requests.put(control + "state", json=written, timeout=10)
        assert put.status_code == 200, put.text[:300]
        state = requests.get(control + "state", timeout=10).json()
        assert [p["name"] for p in state["packages"]] == ["left-pad"] and state["users"][0]["privileges"]
        _conforms(state, "State")
        assert requests.put(control + "state", json=state, timeout=10).json() == state
        for _ in range(2):
            requests.get(server.url + "health", timeout=10)
        page = requests.get(control + "journal?limit=1", timeout=10).json()
        assert len(page["entries"]) == 1 and page["next"] is not None
        schema = document()["paths"]["/__mockproget__/journal"]["get"]["responses"]["200"]
        body = schema["content"]["application/json"]["schema"]
        _conforms(page["entries"][0], "JournalEntry")
        assert set(body["required"]) == set(page)
        _conforms(requests.get(control + "settings", timeout=10).json(), "SettingsAnswer")
    finally:
        server.reset()


SCHEMA = schemathesis.openapi.from_dict(document())


@SCHEMA.parametrize()
@settings(max_examples=25, derandomize=True, database=None, deadline=None,
          suppress_health_check=list(HealthCheck))
def test_schemathesis_finds_nothing(case: schemathesis.Case[APIOperation[Any, Any, Any, Any]], server: MockProGet) -> None:
    """Every operation, fuzzed from the document (valid and invalid requests, a few hundred
    in all, derandomized so every run sends the same): no 5xx, every status, content type,
    header and body as described, invalid input refused, credentials not ignored. The mock
    is reset before each request (a fault rule or a state put by one must not leak)."""
    server.reset()
    excluded = [positive_data_acceptance] if case.operation.label in DOMAIN_RULES else []
    case.call_and_validate(base_url=server.url.rstrip("/"), headers={"X-ApiKey": server.admin_key},
                           excluded_checks=excluded)


@SCHEMA.include(tag="api-keys").parametrize()
@settings(max_examples=10, derandomize=True, database=None, deadline=None,
          suppress_health_check=list(HealthCheck))
def test_schemathesis_without_a_valid_key(case: schemathesis.Case[APIOperation[Any, Any, Any, Any]],
                                          server: MockProGet) -> None:
    """Spec §3/§6: the api-keys operations with whatever credentials Schemathesis makes up
    (none, or made-up header and query keys): refused as the document says (403,
    text/plain, before the body is read, §4), or 405 for another method; never a 5xx,
    never accepted."""
    server.reset()
    response = case.call_and_validate(base_url=server.url.rstrip("/"), excluded_checks=[positive_data_acceptance])
    assert response.status_code in (403, 405), (case.method, response.status_code, response.text[:300])
