"""Who may create, list and delete which key (spec §4)."""

from __future__ import annotations

import pytest
from conftest import Api

from mockproget import MockProGet

FULL = {"type": "system", "systemApis": ["full-control"], "logging": "none"}
PERSONAL_JOHN = {"type": "personal", "user": "johnsmith", "logging": "none"}
PERSONAL_ADMIN = {"type": "personal", "user": "Admin", "logging": "none"}
FEED = {"type": "feed", "packagePermissions": ["view"], "feed": "MyNpmFeed", "logging": "none"}


@pytest.fixture
def john(api: Api, mock: MockProGet) -> str:
    """A personal key of the non-admin user ``johnsmith``, who also gets a password."""
    mock.backend.add_user("johnsmith", "secret-pw")
    return str(api.new_key(PERSONAL_JOHN)["key"])


@pytest.mark.parametrize("creator", ["admin key", "all three apis", "admin pseudo-key", "admin personal key"])
def test_full_control_principals_may_create_any_key(api: Api, mock: MockProGet, creator: str) -> None:
    """§4: full-control (or all three APIs) system keys and admin users may create any key."""
    key = {
        "admin key": mock.admin_key,
        "all three apis": api.new_key({**FULL, "systemApis": ["feeds", "sca", "sbom-upload"]})["key"],
        "admin pseudo-key": "Admin:Admin",
        "admin personal key": api.new_key(PERSONAL_ADMIN)["key"],
    }[creator]
    for body in (FULL, FEED, PERSONAL_JOHN):
        assert api.create(body, key=key).status_code == 200


@pytest.mark.parametrize("apis", [["feeds"], ["sca"], ["sbom-upload"], ["feeds", "sca"]])
def test_limited_system_keys_get_403_everywhere(api: Api, apis: list[str]) -> None:
    """§4 [model]: a system key without full control may not manage keys."""
    key = api.new_key({**FULL, "systemApis": apis})["key"]
    before = api.ids()
    assert api.create(FULL, key=key).status_code == 403
    assert api.list(key=key).status_code == 403
    assert api.delete(before[-1], key=key).status_code == 403
    assert api.ids() == before


def test_feed_keys_get_403_everywhere(api: Api) -> None:
    """§4 [doc]: feed keys "can only use feed-related APIs"."""
    key = api.new_key(FEED)["key"]
    before = api.ids()
    for response in (api.create(FEED, key=key), api.list(key=key), api.delete(before[-1], key=key)):
        assert response.status_code == 403
        assert response.text.strip()
    assert api.ids() == before


def test_user_may_create_a_personal_key_for_itself(api: Api, john: str) -> None:
    """§4: a non-admin user's personal key may create personal keys for itself only."""
    assert api.create(PERSONAL_JOHN, key=john).status_code == 200
    assert api.create(PERSONAL_JOHN, key="johnsmith:secret-pw").status_code == 200


@pytest.mark.parametrize("body", [FULL, FEED, PERSONAL_ADMIN], ids=["system", "feed", "other user's"])
def test_user_may_not_create_other_keys(api: Api, john: str, body: dict[str, object]) -> None:
    """§4: a non-admin user may create personal keys for itself only."""
    before = api.ids()
    response = api.create(body, key=john)
    assert response.status_code == 403
    assert "johnsmith" in response.text
    assert api.ids() == before


def test_user_lists_only_its_own_personal_keys(api: Api, john: str) -> None:
    """§4 [model]."""
    own = api.new_key(PERSONAL_JOHN)["id"]
    api.new_key(PERSONAL_ADMIN)
    listed = api.list(key=john).json()
    assert {info["id"] for info in listed} == {own, own - 1}
    assert all(info["user"] == "johnsmith" for info in listed)


def test_user_deletes_only_its_own_keys(api: Api, john: str) -> None:
    """§4 [model]."""
    own = api.new_key(PERSONAL_JOHN)["id"]
    other = api.new_key(PERSONAL_ADMIN)["id"]
    assert api.delete(other, key=john).status_code == 403
    assert other in api.ids()
    assert api.delete(own, key=john).status_code == 200
    assert own not in api.ids()


def test_personal_keys_off_refuses_creation_and_shuts_users_out(api: Api, mock: MockProGet, john: str) -> None:
    """§5 [doc] "personal keys enabled or not"; [model]: 400 on create, 403 for users."""
    admin_personal = api.new_key(PERSONAL_ADMIN)["key"]
    mock.backend.update_settings(personal_keys=False)
    response = api.create(PERSONAL_JOHN)
    assert response.status_code == 400 and "disabled" in response.text
    assert api.list(key=john).status_code == 403
    assert api.list(key="johnsmith:secret-pw").status_code == 403
    assert api.list(key=admin_personal).status_code == 200  # an admin's personal key still works


def test_admin_rights_follow_the_user(api: Api, mock: MockProGet) -> None:
    """§4: an admin's personal key is admin while its user is."""
    key = api.new_key(PERSONAL_ADMIN)["key"]
    assert api.create(FULL, key=key).status_code == 200
    mock.backend.add_user("Admin", "Admin", admin=False)
    assert api.create(FULL, key=key).status_code == 403
