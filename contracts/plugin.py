"""pytest plugin: fixtures for a mock ProGet and options for a remote target."""

from __future__ import annotations
