"""The server is threaded: state changes are atomic, ids and keys unique, nothing lost."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import requests

from mockproget import MockProGet

THREADS, PER_THREAD = 8, 500
SYSTEM = {"type": "system", "systemApis": ["sca"], "logging": "none"}


def test_parallel_creates_give_distinct_ids_and_keys_all_listed() -> None:
    """Issue 2: 8 threads x 500 creates → 4,000 distinct ids and keys, all listed, no error."""
    with MockProGet() as server:
        start = threading.Barrier(THREADS)

        def create_many(_: int) -> list[tuple[int, str]]:
            out = []
            with requests.Session() as session:
                session.headers["X-ApiKey"] = server.admin_key
                start.wait()
                for _ in range(PER_THREAD):
                    response = session.post(server.url + "api/api-keys/create", json=SYSTEM, timeout=30)
                    assert response.status_code == 200, response.text
                    info = response.json()
                    out.append((info["id"], info["key"]))
            return out

        with ThreadPoolExecutor(THREADS) as pool:
            results = [pair for part in pool.map(create_many, range(THREADS)) for pair in part]

        ids = [key_id for key_id, _ in results]
        keys = [text for _, text in results]
        assert len(results) == THREADS * PER_THREAD
        assert len(set(ids)) == len(ids) and len(set(keys)) == len(keys)
        listed = requests.get(server.url + "api/api-keys/list", headers={"X-ApiKey": server.admin_key}).json()
        listed_keys = {info["id"]: info["key"] for info in listed}
        assert all(listed_keys[key_id] == text for key_id, text in results)
        assert len(listed) == THREADS * PER_THREAD + 1  # and the admin key


def test_parallel_deletes_of_one_key_succeed_exactly_once() -> None:
    """Issue 2 point 7: a delete is atomic: of many racing deletes of one id, one wins and the rest get 404."""
    with MockProGet() as server:
        headers = {"X-ApiKey": server.admin_key}
        for _ in range(20):
            key_id = requests.post(server.url + "api/api-keys/create", json=SYSTEM, headers=headers).json()["id"]
            with ThreadPoolExecutor(8) as pool:
                statuses = list(pool.map(
                    lambda _: requests.post(server.url + "api/api-keys/delete", params={"id": key_id},
                                            headers=headers).status_code, range(8)))
            assert sorted(statuses) == [200] + [404] * 7


def test_parallel_custom_keys_with_the_same_text_create_one() -> None:
    """No second key with the same text may exist (§8), even when the creates race."""
    with MockProGet() as server:
        headers = {"X-ApiKey": server.admin_key}
        for attempt in range(20):
            body = {**SYSTEM, "key": f"raced-{attempt}"}
            with ThreadPoolExecutor(8) as pool:
                statuses = list(pool.map(
                    lambda _: requests.post(server.url + "api/api-keys/create", json=body,
                                            headers=headers).status_code, range(8)))
            assert sorted(statuses) == [200] + [400] * 7
