"""The app's answers do not depend on the interpreter run, and the app holds nothing of a
request once it is answered (api-keys spec §6: errors in text; docs/fidelity.md "§6
OPTIONS and Upgrade": a 405 names the methods the route takes, with ``Allow``;
docs/embedding.md: ``create_app`` gives the bare WSGI app to embed).
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import weakref

import pytest
import requests
from flask import Response, after_this_request

from mockproget import MockProGet, create_app

_ANSWERS_405 = """
import json
from mockproget import create_app
client = create_app().test_client()
out = []
for method, path in (("OPTIONS", "/__mockproget__/faults"), ("PATCH", "/__mockproget__/faults"),
                     ("OPTIONS", "/__mockproget__/journal"), ("OPTIONS", "/__mockproget__/state"),
                     ("POST", "/upack/f/download/x"), ("OPTIONS", "/npm/f/-/whoami")):
    answer = client.open(path, method=method)
    out.append([answer.status_code, answer.get_data(as_text=True), answer.headers.get("Allow")])
print(json.dumps(out))
"""


def test_a_405_lists_the_methods_in_one_order_whatever_the_hash_seed() -> None:
    """§6 (docs/fidelity.md "§6 OPTIONS and Upgrade"): the 405's text and its ``Allow``
    header list a route's methods in one fixed order (GET, HEAD, POST, PUT, PATCH,
    DELETE), not in the order of a set of strings, which changes from one interpreter
    run to the next with ``PYTHONHASHSEED`` (so a client or test that reads them sees the
    same answer every run)."""
    seen = set()
    for seed in range(8):
        run = subprocess.run([sys.executable, "-c", _ANSWERS_405], capture_output=True, text=True, timeout=120,
                             env={**os.environ, "PYTHONHASHSEED": str(seed)}, check=True)
        seen.add(run.stdout)
    assert len(seen) == 1, seen
    answers = json.loads(seen.pop())
    assert answers[0] == [405, "Method OPTIONS is not allowed on /__mockproget__/faults; use GET, POST, DELETE.\n",
                          "GET, HEAD, POST, DELETE"]
    assert answers[1][0] == 405 and answers[1][2] == "GET, HEAD, POST, DELETE"
    assert answers[2][1] == "Method OPTIONS is not allowed on /__mockproget__/journal; use GET, DELETE.\n"
    assert answers[3][2] == "GET, HEAD, PUT"
    assert answers[4][2] == "GET, HEAD" and answers[5][2] == "GET, HEAD, PUT"


def test_a_function_made_for_one_request_is_not_kept_after_it() -> None:
    """docs/embedding.md (and the standards: memory stays bounded): a function an
    embedding app makes for one request (Flask's ``after_this_request``, called through
    ``ensure_sync``) runs, and is freed once the request is answered; the app does not
    keep every such function it has seen, request after request."""
    app = create_app()
    made: list[weakref.ref[object]] = []

    @app.get("/embedded/tagged")
    def tagged() -> str:
        @after_this_request
        def tag(response: Response) -> Response:
            response.headers["X-Embedded"] = "yes"
            return response

        made.append(weakref.ref(tag))
        return "tagged"

    client = app.test_client()
    for _ in range(40):
        answer = client.get("/embedded/tagged")
        assert answer.status_code == 200 and answer.headers["X-Embedded"] == "yes"
    gc.collect()
    assert sum(1 for ref in made if ref() is not None) == 0
    assert client.get("/health/json").get_json()["applicationName"] == "ProGet"  # views still served


@pytest.mark.parametrize("method", ["OPTIONS", "GET", "HEAD", "POST", "PUT", "DELETE"])
def test_no_static_files_route_answers_under_static(mock: MockProGet, method: str) -> None:
    """§6 (docs/fidelity.md "§6 OPTIONS and Upgrade": no route takes OPTIONS, every error
    is text): ``/static/...`` is no ProGet path, so every method there gets the text 404
    of any unknown path; not Flask's built-in static-files route, which answered OPTIONS
    with an empty ``text/html`` 200 and other methods with a 405 offering OPTIONS."""
    response = requests.request(method, mock.url + "static/openapi.json", timeout=10)
    assert response.status_code == 404, (response.status_code, response.text)
    assert response.headers["Content-Type"].startswith("text/plain")
    assert "Allow" not in response.headers
    if method != "HEAD":
        assert response.text == "Not found: /...\n"
