"""``GET /api/api-keys/list`` and ``POST /api/api-keys/delete?id=N`` (spec §1, §2, §6, §7)."""

from __future__ import annotations

import pytest
import requests
from conftest import ADMIN_PSEUDO_KEY, Api

from mockproget import MockProGet

SYSTEM = {"type": "system", "systemApis": ["sca"], "logging": "none"}


def test_list_is_a_json_array_of_api_key_info(api: Api, mock: MockProGet) -> None:
    """§1 [doc], §7 [client]: a JSON array the client parses as ApiKeyInfo objects."""
    created = api.new_key({**SYSTEM, "displayName": "ci", "expiration": "2999-01-01T00:00:00"})
    response = api.list()
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    listed = response.json()
    assert isinstance(listed, list)
    assert all({"id", "type", "logging"} <= set(info) for info in listed)
    assert created in listed  # everything create answered, key text included
    admin = next(info for info in listed if info["id"] == 1)
    assert admin["key"] == mock.admin_key and admin["systemApis"] == ["full-control"]


def test_list_is_in_id_order(api: Api) -> None:
    """§8: the mock lists by id [model]."""
    for _ in range(5):
        api.new_key(SYSTEM)
    ids = api.ids()
    assert ids == sorted(ids) and ids[0] == 1


def test_delete_removes_the_key_and_it_stops_working(api: Api) -> None:
    """§1 [doc], §3 [doc]: a deleted key is refused with 403."""
    info = api.new_key(SYSTEM | {"systemApis": ["full-control"]})
    assert api.list(key=info["key"]).status_code == 200
    response = api.delete(info["id"])
    assert response.status_code == 200
    assert response.text == ""
    assert info["id"] not in api.ids()
    assert api.list(key=info["key"]).status_code == 403


def test_delete_with_an_empty_body_as_pgutil_sends_it(mock: MockProGet, api: Api) -> None:
    """§7 [client]: ``POST api/api-keys/delete?id=N`` with ``Content-Length: 0``."""
    key_id = api.new_key(SYSTEM)["id"]
    prepared = requests.Request("POST", f"{mock.url}api/api-keys/delete?id={key_id}",
                                headers={"X-ApiKey": ADMIN_PSEUDO_KEY}).prepare()
    assert prepared.headers["Content-Length"] == "0"
    with requests.Session() as session:
        assert session.send(prepared).status_code == 200
    assert key_id not in api.ids()


def test_ids_are_never_reused_after_delete(api: Api) -> None:
    """§2 [model]: an id names one key for the life of the state."""
    first = api.new_key(SYSTEM)["id"]
    assert api.delete(first).status_code == 200
    second = api.new_key(SYSTEM)["id"]
    assert second > first


def test_delete_of_unknown_id_is_404_and_changes_nothing(api: Api) -> None:
    """§8 [model]: the mock answers 404 with a text body."""
    before = api.ids()
    response = api.delete(987654)
    assert response.status_code == 404
    assert "987654" in response.text
    assert api.ids() == before


def test_deleting_twice_is_404_the_second_time(api: Api) -> None:
    """§1, §8 [model]: a deleted id is unknown afterwards."""
    key_id = api.new_key(SYSTEM)["id"]
    assert api.delete(key_id).status_code == 200
    assert api.delete(key_id).status_code == 404


@pytest.mark.parametrize("raw", ["", "abc", "1.5", "1_000", "٣", "0x10", "9" * 40])
def test_delete_without_an_integer_id_is_400(api: Api, raw: str) -> None:
    """§6 [model]: ``id`` missing or not an integer."""
    before = api.ids()
    response = api.delete(raw)
    assert response.status_code == 400
    assert "id" in response.text
    assert api.ids() == before


def test_delete_without_id_parameter_is_400(mock: MockProGet) -> None:
    """§1, §6 [model]: ``id`` is required."""
    response = requests.post(mock.url + "api/api-keys/delete", headers={"X-ApiKey": ADMIN_PSEUDO_KEY})
    assert response.status_code == 400
    assert "id" in response.text


def test_admin_may_delete_its_own_key_and_is_then_locked_out(api: Api, mock: MockProGet) -> None:
    """§1, §3: a key deleting itself succeeds; the key then fails."""
    assert api.delete(1, key=mock.admin_key).status_code == 200
    assert api.list(key=mock.admin_key).status_code == 403


def test_hashed_instance_lists_without_key_text(api: Api, mock: MockProGet) -> None:
    """§2, §5 [doc]: with hashing, ``key`` is never returned by list; create shows it once."""
    mock.backend.update_settings(hash_keys=True)
    info = api.new_key(SYSTEM | {"systemApis": ["full-control"]})
    assert "key" in info
    listed = api.list().json()
    assert listed and all("key" not in entry for entry in listed)
    assert api.list(key=info["key"]).status_code == 200  # the hash still authenticates
    assert all(k.key is None for k in mock.backend.api_keys)  # only digests are kept
