"""A user's ``GET /api/api-keys/list`` through every change of state (spec §4, §1).

The backend keeps each user's personal keys in an index so that a user's list costs what
it returns; these tests hold the index to what a scan of every key would answer, across
create, delete, snapshot/restore, reset and a state import.
"""

from __future__ import annotations

import requests

from mockproget import Backend, MockProGet, NewApiKey
from mockproget.models import Credential, SeedState


def _backend() -> Backend:
    return Backend(state=SeedState(users=[("ann", "ann-password", False), ("bob", "bob-password", False),
                                          ("root", "root-password", True)]))


def _ids(backend: Backend, user: str) -> list[int]:
    principal = backend.authenticate(Credential("header", f"{user}:{user}-password"), manage_keys=True)
    return [k.id for k in backend.list_api_keys(principal)]


def _scan(backend: Backend, user: str) -> list[int]:
    """What the list must answer: every personal key of ``user``, in id order (spec §4)."""
    return [k.id for k in backend.api_keys if k.type == "personal" and k.user == user]


def _personal(user: str) -> NewApiKey:
    return NewApiKey(type="personal", user=user, logging="none")


def test_a_users_list_follows_create_and_delete() -> None:
    """§4 [doc]: a user lists exactly its own personal keys, in id order, after creates
    and deletes; an admin lists every key."""
    backend = _backend()
    root = backend.authenticate(Credential("header", "root:root-password"), manage_keys=True)
    made = [backend.create_api_key(root, _personal(user))[0].id for user in ["ann", "bob", "ann", "root"] * 3]
    backend.create_api_key(root, NewApiKey(type="system", system_apis=("sca",), logging="none"))
    assert _ids(backend, "ann") == _scan(backend, "ann") == sorted(made[0::4] + made[2::4])
    assert _ids(backend, "bob") == made[1::4]
    backend.delete_api_key(root, made[0])
    backend.delete_api_key(root, made[1])
    assert _ids(backend, "ann") == _scan(backend, "ann") == sorted(made[2::4] + made[4::4])
    assert _ids(backend, "bob") == _scan(backend, "bob") == made[5::4]
    assert _ids(backend, "root") == [k.id for k in backend.api_keys]  # the admin sees them all
    for key_id in made[5::4]:
        backend.delete_api_key(root, key_id)
    assert _ids(backend, "bob") == []


def test_a_users_list_after_restore_reset_and_import() -> None:
    """§4 [doc], §8 [model]: the index comes back with a snapshot, empties at reset and
    follows an imported state."""
    backend = _backend()
    root = backend.authenticate(Credential("header", "root:root-password"), manage_keys=True)
    first = backend.create_api_key(root, _personal("ann"))[0].id
    snapshot = backend.snapshot()
    second = backend.create_api_key(root, _personal("ann"))[0].id
    dump = backend.export_state()
    assert _ids(backend, "ann") == [first, second]
    backend.restore(snapshot)
    assert _ids(backend, "ann") == _scan(backend, "ann") == [first]
    third = backend.create_api_key(root, _personal("ann"))[0].id
    assert _ids(backend, "ann") == [first, third]
    backend.reset()
    assert _ids(backend, "ann") == []
    backend.import_state(dump)
    assert _ids(backend, "ann") == _scan(backend, "ann") == [first, second]
    backend.delete_api_key(root, first)
    assert _ids(backend, "ann") == [second]


def test_a_users_list_over_http_among_many_keys(mock: MockProGet) -> None:
    """§1 [doc], §4 [doc]: among many system keys, a user's list answers its own keys."""
    mock.backend.add_user("carol", "carol-password", admin=False)
    for _ in range(200):
        mock.backend.add_api_key(NewApiKey(type="system", system_apis=("sca",), logging="none"))
    own = [mock.backend.add_api_key(_personal("carol"))[0].id for _ in range(3)]
    response = requests.get(mock.url + "api/api-keys/list",
                            headers={"X-ApiKey": "carol:carol-password"}, timeout=10)
    assert response.status_code == 200
    assert [info["id"] for info in response.json()] == own
