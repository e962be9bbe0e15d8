"""Tests of keyprovision.py against the mock ProGet, using the mockproget pytest plugin.

Nothing to configure: installing mockproget activates the plugin. ``proget`` is a running
mock, reset before each test (state, fault rules and journal); ``proget_client`` talks
to it with admin rights; ``proget.faults`` injects failures and ``proget.journal`` shows
what the code under test really sent.
"""

from __future__ import annotations

import pytest
import requests

from keyprovision import ProvisioningError, provision_feed_key, revoke_keys


def test_provisioned_key_is_a_feed_key_for_that_feed(proget):
    proget.backend.add_feed("ci-nuget")                      # seed state directly

    text = provision_feed_key(proget.url, proget.admin_key, "ci-nuget", job="build-42")

    [key] = [k for k in proget.backend.api_keys if k.display_name == "ci build-42"]
    assert (key.type, key.feed, key.package_permissions) == ("feed", "ci-nuget", ("view", "add"))
    # a feed key cannot manage API keys
    listed = requests.get(proget.url + "api/api-keys/list", headers={"X-ApiKey": text}, timeout=10)
    assert listed.status_code == 403


def test_state_is_reset_between_tests(proget):
    assert "ci-nuget" not in proget.backend.feeds
    assert [k.display_name for k in proget.backend.api_keys] == ["mockproget admin"]


def test_unknown_feed_is_reported_with_progets_explanation(proget):
    with pytest.raises(ProvisioningError, match=r"(?s)^400: .*no-such-feed"):
        provision_feed_key(proget.url, proget.admin_key, "no-such-feed", job="x")


def test_revoke_deletes_only_ci_keys(proget, proget_client):
    for job in ("a", "b"):
        provision_feed_key(proget.url, proget.admin_key, "MyNpmFeed", job=job)
    kept = proget_client.create({"type": "personal", "user": "johnsmith", "logging": "none",
                                 "displayName": "johnsmith's laptop"}).json()

    revoked = revoke_keys(proget.url, proget.admin_key)

    assert len(revoked) == 2
    names = [k.display_name for k in proget.backend.api_keys]
    assert names == ["mockproget admin", "johnsmith's laptop"] and kept["id"] not in revoked


@pytest.mark.proget_settings(hash_keys=True)
def test_works_when_progets_keys_are_hashed(proget):
    text = provision_feed_key(proget.url, proget.admin_key, "MyNpmFeed", job="hashed")
    assert len(text) == 40
    listed = requests.get(proget.url + "api/api-keys/list", headers={"X-ApiKey": proget.admin_key},
                          timeout=10).json()
    [mine] = [k for k in listed if k.get("displayName") == "ci hashed"]
    assert "key" not in mine                                 # hashed: list never shows it


class TestOnFreeEdition:
    """Override ``proget_settings`` for a whole class (or module)."""

    @pytest.fixture
    def proget_settings(self):
        return {"edition": "Free"}

    def test_feed_keys_need_a_paid_edition(self, proget):
        with pytest.raises(ProvisioningError, match="Free edition"):
            provision_feed_key(proget.url, proget.admin_key, "MyNpmFeed", job="free")

    @pytest.mark.proget_settings(version="2024.2")
    def test_marker_adds_to_the_fixture(self, proget):
        assert proget.backend.settings.edition == "Free"
        with pytest.raises(ProvisioningError, match="^404"):
            provision_feed_key(proget.url, proget.admin_key, "MyNpmFeed", job="old")


def test_a_busy_proget_is_tried_again(proget):
    proget.faults.add(name="busy", method="POST", path="/api/api-keys/create",
                      status=503, retry_after=0, times=1)

    text = provision_feed_key(proget.url, proget.admin_key, "MyNpmFeed", job="retry")

    creates = proget.journal.entries(path="/api/api-keys/create")
    assert [(e["status"], e["faults"]) for e in creates] == [(503, ["busy"]), (200, [])]
    assert text not in str(proget.journal.entries())         # the new key is masked


def test_a_dropped_connection_is_tried_again(proget):
    proget.faults.add(path="/api/api-keys/create", action="reset", times=1)

    provision_feed_key(proget.url, proget.admin_key, "MyNpmFeed", job="reset")

    assert [e["connection"] for e in proget.journal.entries(path="/api/api-keys/create")] == ["reset", None]
    assert [k.display_name for k in proget.backend.api_keys].count("ci reset") == 1


def test_gives_up_after_the_last_attempt(proget):
    proget.faults.add(path="/api/api-keys/create", status=503, retry_after=0)

    with pytest.raises(ProvisioningError, match="^503"):
        provision_feed_key(proget.url, proget.admin_key, "MyNpmFeed", job="down", attempts=2)
    assert len(proget.journal.entries(path="/api/api-keys/create")) == 2


def test_faults_and_journal_are_reset_between_tests(proget):
    assert proget.faults.rules == [] and proget.journal.entries() == []


def test_settings_are_back_to_default(proget):
    assert (proget.backend.settings.edition, proget.backend.settings.hash_keys) == ("Enterprise", False)
