"""The reusable suite: every clause, to run against your own server or WSGI app.

Subclass :class:`ProGetContractSuite` in a class whose name starts with ``Test`` and give
it a ``proget_target`` fixture (webargs-style: the base is not collected where defined)::

    import pytest
    from mockproget_contracts import ProGetContractSuite, Target, serve_wsgi
    from myapp import create_app

    class TestMyServer(ProGetContractSuite):
        @pytest.fixture(scope="class")
        @classmethod
        def proget_target(cls):
            with serve_wsgi(create_app()) as url, Target(url=url, api_key="…") as target:
                yield target
"""

from __future__ import annotations

from mockproget_contracts.test_auth import AuthClauses
from mockproget_contracts.test_endpoints import EndpointClauses, WireClauses
from mockproget_contracts.test_instance import InstanceClauses
from mockproget_contracts.test_lifecycle import LifecycleClauses
from mockproget_contracts.test_model import ModelClauses
from mockproget_contracts.test_shapes import ShapeClauses
from mockproget_contracts.test_validation import ValidationClauses

__all__ = ["ProGetContractSuite"]


class ProGetContractSuite(EndpointClauses, WireClauses, AuthClauses, ValidationClauses,
                          LifecycleClauses, InstanceClauses, ModelClauses, ShapeClauses):
    """All contract clauses. Without an override of ``proget_target`` they check the
    session's target (the embedded mock, or ``--proget-url``)."""
