"""mockproget: a mock ProGet server for the api-keys endpoints."""

from __future__ import annotations

from .app import create_app
from .backend import Backend, Snapshot
from .config import Config, ConfigError, load_config
from .errors import Forbidden, InvalidInput, NotFound, ProGetError
from .faults import ConnectionFault, FaultRule, FaultRuleError, FaultSet
from .journal import Journal
from .models import ApiKey, InstanceSettings, NewApiKey, Principal, SeedState, User
from .server import MockProGet

__all__ = [
    "ApiKey",
    "Backend",
    "Config",
    "ConfigError",
    "ConnectionFault",
    "FaultRule",
    "FaultRuleError",
    "FaultSet",
    "Forbidden",
    "InstanceSettings",
    "InvalidInput",
    "Journal",
    "MockProGet",
    "NewApiKey",
    "NotFound",
    "Principal",
    "ProGetError",
    "SeedState",
    "Snapshot",
    "User",
    "create_app",
    "load_config",
]

__version__ = "0.1.0"
