"""`[[feeds]]` and users' `privileges` in the config file (proget-feeds spec §1.2-§1.3):
what they make the server do, and the one-line refusal of a bad value."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from feedkit import upack
from mockproget import ConfigError, MockProGet, load_config

GOOD = """
[[feeds]]
name = "Py"
type = "pypi"
groups = ["g1"]
anonymous = false

[[feeds]]
name = "Up"
type = "universal"
anonymous = ["view", "add"]

[[feeds]]
name = "Bare"

[[users]]
name = "ci"
password = "ci-password"
privileges = { Py = ["view", "add"], "*" = ["view"] }
"""


def test_feeds_and_privileges_from_the_file_drive_the_endpoints(tmp_path: Path) -> None:
    """§1.2-§1.3: a typed feed gets endpoints, `anonymous = false` challenges, a list of
    privileges lets Anonymous upload, a bare name has no endpoints, a user's privileges
    apply to its login; the feed group named by a feed exists."""
    path = tmp_path / "mock.toml"
    path.write_text(GOOD, encoding="utf-8")
    config = load_config(path, env={})
    config.port = 0
    with MockProGet(config) as mock:
        assert "g1" in mock.backend.feed_groups
        assert requests.get(mock.url + "pypi/Py/simple/", timeout=10).status_code == 401
        assert requests.get(mock.url + "pypi/Py/simple/", auth=("ci", "ci-password"), timeout=10).status_code == 200
        assert requests.get(mock.url + "upack/Up/packages", timeout=10).status_code == 200
        assert requests.get(mock.url + "pypi/Bare/simple/", timeout=10).status_code == 404
        assert requests.put(mock.url + "upack/Up/upload", data=upack(), timeout=10,
                            headers={"Content-Type": "application/zip"}).status_code == 201
        mock.reset()  # the configured feeds come back, their packages do not
        assert [f.name for f in mock.backend.feed_details] == ["Py", "Up", "Bare"]
        assert mock.backend.packages == []


def test_default_seed_has_an_npm_feed() -> None:
    """Issue 11: the seeded MyNpmFeed is an npm feed that anonymous may read."""
    with MockProGet() as mock:
        response = requests.get(mock.url + "npm/MyNpmFeed/left-pad", timeout=10)
        assert response.status_code == 404 and "left-pad" in response.text


@pytest.mark.parametrize("text,setting,problem", [
    ('[[feeds]]\nname = "F"\ntype = "maven"', "feeds[0].type", "must be one of npm, pypi, nuget, universal"),
    ('[[feeds]]\nname = "F"\ntype = "npm"\ngroups = "g"', "feeds[0].groups", "list of feed group names"),
    ('[[feeds]]\nname = "F"\ntype = "npm"\nanonymous = ["read"]', "feeds[0].anonymous", "unknown privilege 'read'"),
    ('[[feeds]]\nname = "F"\ntype = "npm"\nowner = "x"', "feeds[0].owner", "unknown setting"),
    ('[[users]]\nname = "u"\nprivileges = ["view"]', "users[0].privileges", "a table of feed name"),
    ('[[users]]\nname = "u"\nprivileges = { MyNpmFeed = "view" }', "users[0].privileges.MyNpmFeed",
     "must be a list of privileges"),
    ('[[users]]\nname = "u"\nprivileges = { Nope = ["view"] }', "users[0].privileges.Nope", "no feed named 'Nope'"),
])
def test_bad_feed_settings_are_refused_naming_the_setting(tmp_path: Path, text: str, setting: str,
                                                          problem: str) -> None:
    """Config: a bad `[[feeds]]` or `privileges` value is refused before anything starts,
    naming the setting and the problem."""
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    assert caught.value.setting == setting
    assert problem in caught.value.problem
