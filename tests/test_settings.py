"""Instance settings (spec §5), versions and editions (§1, §6), health (§1)."""

from __future__ import annotations

import pytest
import requests
from conftest import Api

from mockproget import InstanceSettings, MockProGet
from mockproget.models import ProGetVersion

SYSTEM = {"type": "system", "systemApis": ["sca"], "logging": "none"}
FEED = {"type": "feed", "packagePermissions": ["view"], "feed": "MyNpmFeed", "logging": "none"}
PERSONAL = {"type": "personal", "user": "johnsmith", "logging": "none"}


# -- §6: the headers the client reads ---------------------------------------------------------


@pytest.mark.parametrize("version, header", [("2024.3", "24.0.3"), ("2025.10", "25.0.10"), ("24.0.3", "24.0.3"),
                                             ("2026.1", "26.0.1"), ("2023.30", "23.0.30")])
def test_version_header_is_the_dotnet_form(mock: MockProGet, version: str, header: str) -> None:
    """§6 [client]: ProGet 2024.3 sends ``X-ProGet-Version: 24.0.3``."""
    mock.backend.update_settings(version=version)
    for response in (requests.get(mock.url + "health"), requests.get(mock.url + "no/such/path"),
                     requests.get(mock.url + "api/api-keys/list")):
        assert response.headers["X-ProGet-Version"] == header
        assert response.headers["X-ProGet-Edition"] == "Enterprise"


@pytest.mark.parametrize("edition", ["Free", "Basic", "Enterprise"])
def test_edition_header_on_every_answer(mock: MockProGet, edition: str) -> None:
    """§6 [client]: ``X-ProGet-Edition`` on every answer, errors included."""
    mock.backend.update_settings(edition=edition)
    for response in (requests.get(mock.url + "api/api-keys/list"),                       # 403
                     requests.get(mock.url + "api/api-keys/list", headers={"X-ApiKey": mock.admin_key}),
                     requests.get(mock.url + "api/api-keys/create")):                    # 405
        assert response.headers["X-ProGet-Edition"] == edition


def test_version_parsing() -> None:
    """§6: the release (2024.3) and .NET (24.0.3) forms name the same version."""
    assert ProGetVersion.parse("2024.3") == ProGetVersion.parse("24.0.3") == ProGetVersion(2024, 3)
    assert str(ProGetVersion.parse("25.0.10.7")) == "2025.10"
    for bad in ("", "latest", "2024", "1.2.3.4.5", "3000.1"):
        with pytest.raises(ValueError):
            ProGetVersion.parse(bad)


# -- §1: versions before 2024.3 ----------------------------------------------------------------


@pytest.mark.parametrize("path, method", [("api/api-keys/create", "POST"), ("api/api-keys/list", "GET"),
                                          ("api/api-keys/delete?id=1", "POST")])
def test_before_2024_3_the_api_key_paths_are_404(mock: MockProGet, path: str, method: str) -> None:
    """§1 [doc]: the endpoints arrived in 2024.3; [model] older versions answer 404."""
    mock.backend.update_settings(version="2024.2")
    response = requests.request(method, mock.url + path, headers={"X-ApiKey": mock.admin_key})
    assert response.status_code == 404
    assert "2024.3" in response.text
    assert len(mock.backend.api_keys) == 1
    mock.backend.update_settings(version="2024.3")
    assert requests.get(mock.url + "api/api-keys/list", headers={"X-ApiKey": mock.admin_key}).status_code == 200


# -- §5, §6: edition -------------------------------------------------------------------------


@pytest.mark.parametrize("body", [SYSTEM, FEED], ids=["system", "feed"])
def test_free_edition_refuses_system_and_feed_keys(api: Api, mock: MockProGet, body: dict[str, object]) -> None:
    """§6 [client][model]: pgutil names Basic as the minimum for system and feed keys."""
    mock.backend.update_settings(edition="Free")
    before = api.ids()
    response = api.create(body)
    assert response.status_code == 400
    assert "Free" in response.text and "Basic" in response.text
    assert api.ids() == before
    assert api.create(PERSONAL).status_code == 200


@pytest.mark.parametrize("edition", ["Basic", "Enterprise"])
def test_paid_editions_create_every_type(api: Api, mock: MockProGet, edition: str) -> None:
    """§6 [client]: Basic is the minimum for system and feed keys."""
    mock.backend.update_settings(edition=edition)
    for body in (SYSTEM, FEED, PERSONAL):
        assert api.create(body).status_code == 200


# -- §5: key storage and creation rules ---------------------------------------------------------


def test_hash_keys_refuses_a_custom_key(api: Api, mock: MockProGet) -> None:
    """§2, §5 [doc]: ``key`` must be absent when the instance hashes keys."""
    mock.backend.update_settings(hash_keys=True)
    response = api.create({**SYSTEM, "key": "custom"})
    assert response.status_code == 400
    assert "hash" in response.text
    info = api.new_key(SYSTEM)
    assert len(info["key"]) == 40  # still shown once, on create


def test_custom_keys_off_refuses_a_custom_key(api: Api, mock: MockProGet) -> None:
    """§5 [doc]: custom (user-entered) keys allowed or not."""
    mock.backend.update_settings(custom_keys=False)
    response = api.create({**SYSTEM, "key": "custom"})
    assert response.status_code == 400
    assert "custom" in response.text
    assert api.create(SYSTEM).status_code == 200


def test_require_expiration(api: Api, mock: MockProGet) -> None:
    """§5 [doc]: expiring keys required or not; then ``expiration`` is mandatory."""
    mock.backend.update_settings(require_expiration=True)
    response = api.create(SYSTEM)
    assert response.status_code == 400
    assert "expiration" in response.text
    assert api.create({**SYSTEM, "expiration": "2999-01-01T00:00:00"}).status_code == 200


def test_settings_changed_restores_the_previous_settings(mock: MockProGet) -> None:
    """§5: a block's settings are undone after it."""
    with mock.backend.settings_changed(edition="Free", hash_keys=True) as settings:
        assert settings.edition == "Free" and mock.backend.settings.hash_keys
    assert mock.backend.settings == InstanceSettings()


@pytest.mark.parametrize("change", [{"edition": "Gold"}, {"version": "banana"}, {"hash_keys": "yes"},
                                    {"create_response": "xml"}, {"colour": "blue"}])
def test_invalid_settings_are_refused(mock: MockProGet, change: dict[str, object]) -> None:
    """§5: a setting outside its values is refused and changes nothing."""
    with pytest.raises(ValueError):
        mock.backend.update_settings(**change)
    assert mock.backend.settings == InstanceSettings()


# -- §1: health --------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["health", "health?format=json", "health/json"])
def test_health_is_json_up_to_2025_without_a_key(mock: MockProGet, path: str) -> None:
    """§1 [doc]: no key needed; JSON ``ProGetHealthInfo`` in 2025 and earlier."""
    response = requests.get(mock.url + path)
    assert response.status_code == 200
    info = response.json()
    assert info["applicationName"] == "ProGet"
    assert info["versionNumber"] == "25.0.10" and info["releaseNumber"] == "2025.10"
    assert info["serviceStatus"] == "OK"


def test_health_from_2026_is_text_unless_json_is_asked_for(mock: MockProGet) -> None:
    """§1 [doc]: ``/health/json`` and ``/health?format=json`` are always JSON."""
    mock.backend.update_settings(version="2026.1")
    response = requests.get(mock.url + "health")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    assert "2026.1" in response.text
    for path in ("health/json", "health?format=json", "health?format=JSON"):
        assert requests.get(mock.url + path).json()["versionNumber"] == "26.0.1"


@pytest.mark.parametrize("method, path", [("GET", "api/api-keys/create"), ("POST", "api/api-keys/list"),
                                          ("GET", "api/api-keys/delete")])
def test_before_2024_3_a_wrong_method_is_404_too(mock: MockProGet, method: str, path: str) -> None:
    """§1: not even a 405 tells that the endpoints exist."""
    mock.backend.update_settings(version="2023.30")
    response = requests.request(method, mock.url + path)
    assert response.status_code == 404
    assert "Allow" not in response.headers
