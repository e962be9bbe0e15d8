"""Contract tests for ProGet's api-keys endpoints, runnable against any server."""

from __future__ import annotations

__all__: list[str] = []
