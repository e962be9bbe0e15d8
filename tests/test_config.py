"""The TOML configuration file, environment variables and their precedence."""

from __future__ import annotations

from pathlib import Path

import pytest

from mockproget import Config, ConfigError, InstanceSettings, load_config
from mockproget.models import SeedState

FULL_FILE = """
seed = 42

[server]
host = "127.0.0.2"
port = 9000
max_body = 2048

[instance]
version = "2024.3"
edition = "Basic"
hash_keys = true
pseudo_keys = false
require_expiration = true
personal_keys = false
custom_keys = false
anonymous_admin = true
create_response = "text"

[[users]]
name = "ops"
password = "pw"
admin = true

[[users]]
name = "dev"

[[feeds]]
name = "internal-nuget"

[[api_keys]]
key = "0123456789abcdef0123456789abcdef01234567"
type = "System"
systemApis = ["full-control"]
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mock.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_every_setting_is_read(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, FULL_FILE), env={})
    assert (config.host, config.port, config.max_body, config.seed) == ("127.0.0.2", 9000, 2048, 42)
    assert config.instance == InstanceSettings(
        version="2024.3", edition="Basic", hash_keys=True, pseudo_keys=False, require_expiration=True,
        personal_keys=False, custom_keys=False, anonymous_admin=True, create_response="text")
    assert config.state.users == [("ops", "pw", True), ("dev", None, False)]
    assert config.state.feeds == ["internal-nuget"]
    assert config.state.feed_groups == ["MyFeedGroup"]  # not given: the default stays
    assert [k.type for k in config.state.api_keys] == ["system"]
    assert config.state.api_keys[0].logging == "none"  # seeded keys need not say it


def test_no_file_gives_the_defaults() -> None:
    config = load_config(None, env={})
    assert config == Config()
    assert config.host == "127.0.0.1"  # loopback unless told otherwise
    assert config.state.users == SeedState.default().users


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    env = {"MOCKPROGET_HOST": "127.0.0.3", "MOCKPROGET_PORT": "9100", "MOCKPROGET_SEED": "7",
           "MOCKPROGET_ADMIN_KEY": "from-env"}
    config = load_config(_write(tmp_path, FULL_FILE), env=env)
    assert (config.host, config.port, config.seed, config.admin_key) == ("127.0.0.3", 9100, 7, "from-env")
    assert "from-env" not in repr(config)


def test_flags_override_the_environment() -> None:
    config = load_config(None, env={"MOCKPROGET_PORT": "9100"}).with_overrides(port=9200, host=None)
    assert config.port == 9200 and config.host == "127.0.0.1"


@pytest.mark.parametrize("text, setting, words", [
    ('[instance]\nedition = "Gold"', "instance.edition", "Free, Basic, Enterprise"),
    ('[instance]\nversion = "next"', "instance.version", "2025.10"),
    ('[instance]\nversion = 2025.10', "instance.version", "string"),  # a float: 2025.1
    ('[instance]\nhash_keys = "yes"', "instance.hash_keys", "true or false"),
    ('[instance]\ncolour = "red"', "instance.colour", "unknown setting"),
    ('[server]\nport = 70000', "server.port", "65535"),
    ('[server]\nport = "80"', "server.port", "integer"),
    ('[server]\nmax_body = 0', "server.max_body", "at least 1"),
    ('seed = "x"', "seed", "integer"),
    ('[extras]\na = 1', "extras", "unknown section"),
    ('[[users]]\nname = "a:b"', "users[0].name", "':'"),
    ('[[users]]\nname = "a"\nadmin = "yes"', "users[0].admin", "true or false"),
    ('[[feeds]]\nname = ""', "feeds[0].name", "empty"),
    ('[[api_keys]]\ntype = "feed"', "api_keys[0]", "packagePermissions"),
    ('users = 3', "[[users]]", "array of tables"),
    ("[server\nport = 1", "file", "not valid TOML"),
])
def test_a_bad_file_names_file_setting_and_problem(tmp_path: Path, text: str, setting: str, words: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    message = str(caught.value)
    assert message.startswith(f"{path}: {setting}: "), message
    assert words in message


def test_missing_file_and_bad_environment(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot be read"):
        load_config(tmp_path / "absent.toml", env={})
    with pytest.raises(ConfigError, match="MOCKPROGET_PORT"):
        load_config(None, env={"MOCKPROGET_PORT": "eighty"})
    with pytest.raises(ConfigError, match="65535"):
        load_config(None, env={"MOCKPROGET_PORT": "99999"})
