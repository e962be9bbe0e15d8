"""Hypothesis profiles for this project's own test run; nothing else."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

# Tests talk to a real socket: timing varies, so no per-example deadline.
settings.register_profile("default", deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", parent=settings.get_profile("default"), derandomize=True,
                          database=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "default"))
