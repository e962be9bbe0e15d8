"""Feed endpoints (proget-feeds spec §2-§5): one blueprint per protocol, one feed auth."""

from __future__ import annotations

from flask import Flask

from .npm import npm
from .nuget import nuget
from .pypi import pypi
from .upack import upack

__all__ = ["BLUEPRINTS", "register"]

BLUEPRINTS = (npm, pypi, nuget, upack)


def register(app: Flask) -> None:
    """Add every feed protocol's blueprint to ``app``."""
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
