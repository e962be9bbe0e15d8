"""A downstream project's code: provisioning ProGet API keys for CI jobs.

This is the code under test in ``test_keyprovision.py``; it talks to ProGet over HTTP
exactly as it would in production, and the tests point it at the mock.
"""

from __future__ import annotations

import time

import requests

__all__ = ["ProvisioningError", "provision_feed_key", "revoke_keys"]


class ProvisioningError(RuntimeError):
    """ProGet refused; the message is ProGet's own explanation (a text/plain body)."""


def _url(base_url: str, path: str) -> str:
    return base_url.rstrip("/") + "/" + path


def provision_feed_key(base_url: str, api_key: str, feed: str, job: str, *, attempts: int = 3) -> str:
    """Create a view+add feed key for CI job ``job``; returns the key text.

    A busy ProGet (429, 502, 503, 504) or a dropped connection is tried again, up to
    ``attempts`` times in all, waiting as ``Retry-After`` says.
    """
    for attempt in range(1, attempts + 1):
        try:
            response = requests.post(
                _url(base_url, "api/api-keys/create"), headers={"X-ApiKey": api_key}, timeout=10,
                json={"type": "feed", "feed": feed, "packagePermissions": ["view", "add"],
                      "displayName": f"ci {job}", "logging": "none"})
        except requests.ConnectionError:
            if attempt == attempts:
                raise
            continue
        if response.status_code in (429, 502, 503, 504) and attempt < attempts:
            time.sleep(float(response.headers.get("Retry-After", "0") or 0))
            continue
        if response.status_code != 200:
            raise ProvisioningError(f"{response.status_code}: {response.text.strip()}")
        return response.json()["key"]
    raise AssertionError("unreachable")


def revoke_keys(base_url: str, api_key: str, prefix: str = "ci ") -> list[int]:
    """Delete every key whose display name starts with ``prefix``; returns their ids."""
    headers = {"X-ApiKey": api_key}
    keys = requests.get(_url(base_url, "api/api-keys/list"), headers=headers, timeout=10).json()
    revoked = []
    for key in keys:
        if str(key.get("displayName", "")).startswith(prefix):
            requests.post(_url(base_url, "api/api-keys/delete"), params={"id": key["id"]},
                          headers=headers, timeout=10).raise_for_status()
            revoked.append(key["id"])
    return revoked
