"""The target options of the pytest plugin and how they are read and checked.

Cheap to import (``os`` and pytest only): the plugin needs this table at every pytest
start, in every project of the environment, before anything of the kit is used.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import pytest

from mockproget_contracts.constants import FEED_TYPES

__all__ = ["BOOLEAN_OPTIONS", "ENV_PREFIX", "INTEGER_OPTIONS", "OPTIONS", "check_options", "option_value"]

#: Every environment variable the kit reads starts with this; nothing else is read.
ENV_PREFIX = "MOCKPROGET_TARGET_"

#: pytest option -> (environment variable, help). Values are strings unless noted.
OPTIONS: dict[str, tuple[str, str]] = {
    "--proget-url": ("MOCKPROGET_TARGET_URL", "base URL of the server to check (default: the embedded mock)"),
    "--proget-api-key": ("MOCKPROGET_TARGET_API_KEY", "an API key that may manage API keys on the target"),
    "--proget-username": ("MOCKPROGET_TARGET_USERNAME", "a user whose user:password pseudo-key may manage API keys"),
    "--proget-password": ("MOCKPROGET_TARGET_PASSWORD", "that user's password"),
    "--proget-feed": ("MOCKPROGET_TARGET_FEED", "name of a feed that exists on the target"),
    "--proget-feed-group": ("MOCKPROGET_TARGET_FEED_GROUP", "name of a feed group that exists on the target"),
    "--proget-feed-type": ("MOCKPROGET_TARGET_FEED_TYPE", "type of --proget-feed: npm, pypi, nuget or universal "
                                                          "(the feed clauses need it)"),
    "--proget-may-publish": ("MOCKPROGET_TARGET_MAY_PUBLISH", "the feed clauses may publish test packages to "
                                                              "--proget-feed (deleted again where the protocol allows)"),
    "--proget-user": ("MOCKPROGET_TARGET_USER", "name of a user that exists on the target (personal keys)"),
    "--proget-readonly": ("MOCKPROGET_TARGET_READONLY", "run only the clauses that create nothing"),
    "--proget-anonymous": ("MOCKPROGET_TARGET_ANONYMOUS", "the target grants anonymous access on purpose "
                                                          "(as a fresh ProGet does): no-credential clauses skip"),
    "--proget-max-examples": ("MOCKPROGET_TARGET_MAX_EXAMPLES", "hypothesis examples per property clause (default 50)"),
    "--proget-seed": ("MOCKPROGET_TARGET_SEED", "seed for hypothesis (default: derandomized, repeatable)"),
}

#: Flags (``store_true``); their variables take 1/true/yes/on.
BOOLEAN_OPTIONS = frozenset({"--proget-readonly", "--proget-anonymous", "--proget-may-publish"})
#: Options whose value is an integer.
INTEGER_OPTIONS = frozenset({"--proget-max-examples", "--proget-seed"})
#: Options that describe a remote target and mean nothing without ``--proget-url``.
REMOTE_ONLY = ("--proget-api-key", "--proget-username", "--proget-password")


def _given(config: pytest.Config, option: str, env: Mapping[str, str]) -> str | None:
    """Where ``option`` was given (its flag or its variable), or None."""
    value = config.getoption(option, default=None)
    if value is not None and value is not False:
        return option
    if env.get(OPTIONS[option][0]):
        return OPTIONS[option][0]
    return None


def option_value(config: pytest.Config, option: str, env: Mapping[str, str] | None = None) -> Any:
    """A target option from the command line, else its ``MOCKPROGET_TARGET_*`` environment variable."""
    env = os.environ if env is None else env
    value = config.getoption(option, default=None)
    if value is None or value is False:
        raw = env.get(OPTIONS[option][0])
        if raw is not None and raw != "":
            value = raw
    if option in BOOLEAN_OPTIONS:
        return value is True or str(value).lower() in ("1", "true", "yes", "on")
    if option in INTEGER_OPTIONS and value is not None:
        try:
            value = int(value)
        except ValueError:
            raise pytest.UsageError(f"{option} must be an integer, not {value!r}") from None
    return value


def check_options(config: pytest.Config, env: Mapping[str, str] | None = None) -> None:
    """Refuse, with one :class:`pytest.UsageError` before any test runs, target options that
    are missing or contradict each other (a remote URL without a key, a password without a
    user name, a ``--proget-api-key`` flag without a URL, a value that is not a number, a
    feed type the feed clauses do not know).
    A ``MOCKPROGET_TARGET_*`` variable without a URL is not an error: it may be exported for
    ``mockproget verify``, and the run uses the embedded mock."""
    env = os.environ if env is None else env
    problems: list[str] = []
    for option in INTEGER_OPTIONS:
        try:
            value = option_value(config, option, env)
        except pytest.UsageError as error:
            problems.append(str(error))
            continue
        if option == "--proget-max-examples" and value is not None and value < 1:
            problems.append(f"--proget-max-examples must be at least 1, not {value}")
    url = _given(config, "--proget-url", env)
    if url and not _given(config, "--proget-api-key", env):
        problems.append(f"a remote target ({url}) needs an API key that may manage API keys: "
                        "give --proget-api-key or MOCKPROGET_TARGET_API_KEY")
    if not url:  # on the command line only: the variables may be exported for `mockproget verify`
        stray = [o for o in REMOTE_ONLY if config.getoption(o, default=None) is not None]
        if stray:
            problems.append(f"{' and '.join(stray)} describe a remote target, but no --proget-url "
                            "(or MOCKPROGET_TARGET_URL) is given: the embedded mock would be "
                            "checked instead; give the URL, or drop them")
    user, password = _given(config, "--proget-username", env), _given(config, "--proget-password", env)
    if url and bool(user) != bool(password):
        problems.append(f"{user or password} needs its pair: give both --proget-username and "
                        "--proget-password (or MOCKPROGET_TARGET_USERNAME and MOCKPROGET_TARGET_PASSWORD)")
    feed_type = option_value(config, "--proget-feed-type", env)
    if feed_type and feed_type not in FEED_TYPES:
        problems.append(f"--proget-feed-type must be one of {', '.join(FEED_TYPES)}, not {feed_type!r}")
    if problems:
        raise pytest.UsageError("mockproget: " + "; ".join(problems))
