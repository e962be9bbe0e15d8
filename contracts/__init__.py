"""Contract tests for ProGet's api-keys endpoints, runnable against any server.

- ``pytest --pyargs contracts [--proget-url URL --proget-api-key KEY]``: every clause;
- :class:`ProGetContractSuite`: subclass it to run every clause against your own server;
- ``mockproget verify --url URL --api-key KEY``: a per-clause report for a live server;
- the pytest plugin (:mod:`contracts.plugin`): fixtures ``proget_server``, ``proget``,
  ``proget_client``, ``proget_settings``, ``proget_target``.
"""

from __future__ import annotations

from .client import ContractViolation, ProGetClient
from .suite import ProGetContractSuite
from .target import RemoteProGet, Target, clause, serve_wsgi
from .verify import VerifyResult, verify

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
