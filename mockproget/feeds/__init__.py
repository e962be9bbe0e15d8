"""Feed endpoints (proget-feeds spec §2-§5): one blueprint per protocol, one feed auth,
and the Common Packages API (``/api/packages/``) over the same rules."""

from __future__ import annotations

from flask import Flask

from .npm import npm
from .nuget import nuget
from .packages_api import packages_api
from .pypi import pypi
from .upack import upack

__all__ = ["BLUEPRINTS", "register"]

BLUEPRINTS = (npm, pypi, nuget, upack, packages_api)


def register(app: Flask) -> None:
    """Add every feed protocol's blueprint to ``app``."""
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
