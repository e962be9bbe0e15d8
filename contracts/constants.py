"""Constants shared by the kit's modules (importing this is cheap: no pytest, no hypothesis)."""

from __future__ import annotations

__all__ = ["CLAUSE_MARKER", "DEFAULT_MAX_EXAMPLES", "FAR_FUTURE", "FEED_TYPES", "NAME_PREFIX"]

#: The marker every contract clause carries: ``proget_contract(section, source, creates=…)``.
CLAUSE_MARKER = "proget_contract"
#: Every key the kit creates has a display name starting with this and the run's id.
NAME_PREFIX = "mockproget-contracts"
#: Hypothesis examples per property clause unless told otherwise.
DEFAULT_MAX_EXAMPLES = 50
#: The expiration given to keys on an instance that requires one (§5).
FAR_FUTURE = "2099-01-01T00:00:00Z"
#: The feed types the feed clauses know (``--proget-feed-type``).
FEED_TYPES = ("npm", "pypi", "nuget", "universal")
