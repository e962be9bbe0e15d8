"""What every clause class shares: the gate that skips clauses a target cannot run, and
the helper that runs a hypothesis property with the run's settings."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import pytest
from hypothesis import example, given, seed
from hypothesis import strategies as st

from mockproget_contracts.target import Target, gate

__all__ = ["ClauseBase", "for_all"]

T = TypeVar("T")


class ClauseBase:
    """Base of the clause classes. Not collected (its name does not start with ``Test``)."""

    @pytest.fixture(autouse=True)
    def _proget_contract_gate(self, request: pytest.FixtureRequest, proget_target: Target) -> None:
        """Skip [model] clauses off the mock, and creating clauses under --proget-readonly."""
        gate(request.node, proget_target)


def for_all(target: Target, strategy: st.SearchStrategy[T], check: Callable[[T], Any],
            examples: Iterable[T] = (), **settings: Any) -> None:
    """Run ``check`` on examples of ``strategy`` with the target's hypothesis settings
    (derandomized unless a seed was given; no example database). ``examples`` always run
    first (the enumerated cells of a small cross-product)."""

    def prop(value: T) -> None:
        check(value)

    test = given(strategy)(prop)
    for value in reversed(list(examples)):
        test = example(value)(test)
    test = target.hypothesis_settings(**settings)(test)
    if target.seed is not None:
        test = seed(target.seed)(test)
    test()
