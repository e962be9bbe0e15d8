"""``MockProGet``: the embedded server handle, its state and its secrets."""

from __future__ import annotations

import logging
import socket

import pytest
import requests

from mockproget import Backend, Config, MockProGet, NewApiKey, create_app
from mockproget.models import SeedState

SYSTEM = {"type": "system", "systemApis": ["sca"], "logging": "none"}


def test_binds_loopback_on_an_ephemeral_port_and_answers() -> None:
    with MockProGet() as server:
        assert server.host == "127.0.0.1"
        assert server.port > 0
        assert server.url == f"http://127.0.0.1:{server.port}/"  # trailing slash, §7
        response = requests.get(server.url + "api/api-keys/list", headers={"X-ApiKey": server.admin_key})
        assert response.status_code == 200


def test_stop_releases_the_port_and_is_idempotent() -> None:
    server = MockProGet().start()
    port = server.port
    server.stop()
    server.stop()
    assert not server.running
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/health", timeout=2)
    with socket.socket() as sock:  # the port is free again
        sock.bind(("127.0.0.1", port))


def test_stop_ends_an_open_keep_alive_connection() -> None:
    """Stopping does not wait for idle clients."""
    server = MockProGet().start()
    client = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    try:
        server.stop()
        client.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        assert client.recv(100) == b""  # closed, not answered
    except (ConnectionResetError, BrokenPipeError):
        pass  # reset: also closed (a timeout, i.e. a connection left open, fails)
    finally:
        client.close()


def test_two_servers_run_side_by_side() -> None:
    with MockProGet() as one, MockProGet() as two:
        assert one.port != two.port
        requests.post(one.url + "api/api-keys/create", json=SYSTEM, headers={"X-ApiKey": one.admin_key})
        assert len(one.backend.api_keys) == 2 and len(two.backend.api_keys) == 1


def test_cannot_start_twice() -> None:
    with MockProGet() as server, pytest.raises(RuntimeError):
        server.start()


def test_admin_key_given_or_seeded() -> None:
    assert MockProGet(admin_key="given").admin_key == "given"
    assert MockProGet(seed=7).admin_key == MockProGet(seed=7).admin_key != MockProGet(seed=8).admin_key
    assert MockProGet().admin_key != MockProGet().admin_key


def test_seed_makes_generated_keys_deterministic() -> None:
    """Issue: an optional ``seed`` makes generated keys and ids deterministic."""
    def created(seed: int) -> list[tuple[int, str]]:
        with MockProGet(seed=seed) as server:
            out = []
            for _ in range(3):
                info = requests.post(server.url + "api/api-keys/create", json=SYSTEM,
                                     headers={"X-ApiKey": server.admin_key}).json()
                out.append((info["id"], info["key"]))
            return out

    assert created(1) == created(1)
    assert created(1) != created(2)


def test_reset_restores_the_seeded_state(mock: MockProGet) -> None:
    requests.post(mock.url + "api/api-keys/create", json=SYSTEM, headers={"X-ApiKey": mock.admin_key})
    mock.backend.add_feed("extra")
    mock.backend.update_settings(edition="Free")
    mock.reset()
    assert [k.id for k in mock.backend.api_keys] == [1]
    assert "extra" not in mock.backend.feeds
    assert mock.backend.settings.edition == "Enterprise"
    info = requests.post(mock.url + "api/api-keys/create", json=SYSTEM,
                         headers={"X-ApiKey": mock.admin_key}).json()
    assert info["id"] == 2  # ids start again with the seeded state [model]


def test_snapshot_and_restore() -> None:
    backend = Backend()
    snap = backend.snapshot()
    backend.add_api_key(NewApiKey(type="system", system_apis=("sca",), key="k1"))
    backend.add_feed("later")
    backend.restore(snap)
    assert backend.api_keys == [] and "later" not in backend.feeds
    created, _ = backend.add_api_key(NewApiKey(type="system", system_apis=("sca",), key="k1"))
    assert created.id == 1  # the id counter came back too
    backend.restore(snap)
    backend.restore(snap)  # a snapshot can be restored more than once
    assert backend.api_keys == []


def test_seeded_users_feeds_and_keys() -> None:
    state = SeedState(users=[("ops", "pw", True)], feeds=["f"], feed_groups=["g"],
                      api_keys=[NewApiKey(type="feed", package_permissions=("view",), feed="f", key="feedkey")])
    with MockProGet(Config(port=0, state=state)) as server:
        assert requests.get(server.url + "api/api-keys/list", headers={"X-ApiKey": "ops:pw"}).status_code == 200
        assert requests.get(server.url + "api/api-keys/list", headers={"X-ApiKey": "Admin:Admin"}).status_code == 403
        assert requests.get(server.url + "api/api-keys/list", headers={"X-ApiKey": "feedkey"}).status_code == 403
        assert [k.type for k in server.backend.api_keys] == ["feed", "system"]


def test_create_app_serves_without_a_socket() -> None:
    """``create_app`` is a plain WSGI app (Flask's test client, no port)."""
    app = create_app()
    client = app.test_client()
    assert client.get("/health").status_code == 200
    assert client.get("/api/api-keys/list", headers={"X-ApiKey": "Admin:Admin"}).status_code == 200


def test_no_secret_in_reprs_or_the_access_log(caplog: pytest.LogCaptureFixture) -> None:
    """Secrets stay secret: reprs and log lines never show a key or a password."""
    secret_key, password = "s3cret-admin-key-0001", "pässwörd-0002"
    config = Config(port=0, admin_key=secret_key,
                    state=SeedState(users=[("ops", password, True)]))
    caplog.set_level(logging.INFO, logger="mockproget.access")
    with MockProGet(config) as server:
        created = requests.post(server.url + "api/api-keys/create", params={"key": secret_key},
                                json={**SYSTEM, "key": "created-key-0003"}).json()
        requests.get(server.url + "api/api-keys/list", params={"key": f"ops:{password}"})
        requests.get(server.url + "api/api-keys/list?key=" + secret_key + "&x=1")
        texts = [repr(server), repr(server.config), repr(server.backend.api_keys), repr(config.state),
                 repr(server.backend.users), repr(server.backend.snapshot()), caplog.text]
    assert "api/api-keys/list" in caplog.text  # the log was captured
    for text in texts:
        for secret in (secret_key, password, created["key"], "ops:"):
            assert secret not in text, text


def test_a_port_in_use_raises_oserror_instead_of_exiting() -> None:
    """werkzeug prints and calls ``sys.exit`` on a bind error; the handle raises instead."""
    with MockProGet() as first:
        with pytest.raises(OSError):
            MockProGet(port=first.port).start()
        assert requests.get(first.url + "health").status_code == 200


def test_free_edition_still_seeds_the_admin_key() -> None:
    from mockproget import InstanceSettings

    with MockProGet(Config(port=0, instance=InstanceSettings(edition="Free"))) as server:
        response = requests.get(server.url + "api/api-keys/list", headers={"X-ApiKey": server.admin_key})
        assert response.status_code == 200


def test_an_unexpected_error_is_a_logged_text_500(monkeypatch: pytest.MonkeyPatch,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    """§6 [doc]: 500 carries the message and stack trace as text, and is logged."""
    app = create_app()
    backend = app.extensions["mockproget"]

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("simulated defect")

    monkeypatch.setattr(backend, "list_api_keys", broken)
    response = app.test_client().get("/api/api-keys/list", headers={"X-ApiKey": "Admin:Admin"})
    assert response.status_code == 500
    assert response.mimetype == "text/plain"
    assert "RuntimeError: simulated defect" in response.text and "Traceback" in response.text
    assert "simulated defect" in caplog.text


def test_werkzeug_refusals_are_text_without_the_key(mock: MockProGet) -> None:
    """A malformed request line is refused as text, the key in it masked."""
    with socket.create_connection(("127.0.0.1", mock.port), timeout=5) as sock:
        sock.sendall(f"GET /api/api-keys/list?key={mock.admin_key} x HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 400")
    assert b"text/plain" in answer
    assert mock.admin_key.encode() not in answer


def test_error_bodies_do_not_echo_a_key_in_the_path(mock: MockProGet) -> None:
    for method in ("GET", "PUT"):
        response = requests.request(method, mock.url + "api/api-keys/list/" + mock.admin_key)
        assert response.status_code in (404, 405)
        assert mock.admin_key not in response.text


def test_settings_changed_gives_back_the_key_texts_hashing_forgot(mock: MockProGet) -> None:
    with mock.backend.settings_changed(hash_keys=True):
        assert all(k.key is None for k in mock.backend.api_keys)
    assert [k.key for k in mock.backend.api_keys] == [mock.admin_key]
