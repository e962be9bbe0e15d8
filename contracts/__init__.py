"""Contract tests for ProGet's api-keys endpoints, runnable against any server.

- ``pytest --pyargs mockproget_contracts [--proget-url URL --proget-api-key KEY]``: every clause;
- :class:`ProGetContractSuite`: subclass it to run every clause against your own server;
- ``mockproget verify --url URL --api-key KEY``: a per-clause report for a live server;
- the pytest plugin (:mod:`mockproget_contracts.plugin`): fixtures ``proget_server``, ``proget``,
  ``proget_client``, ``proget_settings``, ``proget_target``.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

# Eager, and cheap: binds ``mockproget_contracts.verify`` to the function, not the submodule.
from mockproget_contracts.verify import VerifyResult, verify

if TYPE_CHECKING:
    from mockproget_contracts.client import ContractViolation, ProGetClient
    from mockproget_contracts.suite import ProGetContractSuite
    from mockproget_contracts.target import RemoteProGet, Target, clause, serve_wsgi

__all__ = [
    "ContractViolation",
    "ProGetClient",
    "ProGetContractSuite",
    "RemoteProGet",
    "Target",
    "VerifyResult",
    "clause",
    "serve_wsgi",
    "verify",
]

# Imported on first use, so that ``mockproget serve`` (which only needs the CLI flags of
# ``verify``) does not pay for pytest and hypothesis.
_HOMES = {"ContractViolation": "client", "ProGetClient": "client", "ProGetContractSuite": "suite",
          "RemoteProGet": "target", "Target": "target", "clause": "target", "serve_wsgi": "target"}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(import_module(f"mockproget_contracts.{_HOMES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
