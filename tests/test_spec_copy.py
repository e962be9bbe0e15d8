"""docs/spec/ is the repository's one copy of the wire contracts (the files every test and
docstring cites by section). It is copied from the shared upstream folder; this test
fails when the two differ, so a change upstream is not silently missed.

Where the upstream folder is absent (a fresh clone, CI), the copy is compared against the
digests recorded in tests/spec.sha256 when it was last copied: the test's id says which
comparison ran. To take a new upstream version:

    cp "$MOCKPROGET_SPEC_UPSTREAM"/*.md docs/spec/
    cd docs/spec && sha256sum *.md > ../../tests/spec.sha256
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
COPY = ROOT / "docs" / "spec"
RECORDED = Path(__file__).resolve().parent / "spec.sha256"
UPSTREAM = Path(os.environ.get("MOCKPROGET_SPEC_UPSTREAM", "/work/shared/spec"))


def _digests(folder: Path) -> dict[str, str]:
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in sorted(folder.glob("*.md"))}


def _recorded() -> dict[str, str]:
    lines = RECORDED.read_text(encoding="utf-8").splitlines()
    return {name.strip(): digest for digest, name in (line.split(None, 1) for line in lines if line.strip())}


def test_the_recorded_digests_are_the_committed_copy() -> None:
    """Spec §1-§8 (both files): docs/spec/ holds exactly the files tests/spec.sha256
    records, byte for byte: an edit to the copy alone (not taken from upstream) fails."""
    assert _digests(COPY) == _recorded()


SOURCE = "upstream" if UPSTREAM.is_dir() else "recorded-digests-upstream-absent"


@pytest.mark.parametrize("source", [SOURCE])
def test_the_copy_matches_upstream(source: str) -> None:
    """Spec §1-§8 (both files): docs/spec/ is byte for byte the upstream folder's
    ``*.md`` (same names, same bytes). Upstream absent: against the recorded digests
    (the test id says ``recorded-digests-upstream-absent``)."""
    wanted = _digests(UPSTREAM) if source == "upstream" else _recorded()
    have = _digests(COPY)
    stale = sorted(name for name in wanted.keys() | have.keys() if wanted.get(name) != have.get(name))
    assert not stale, (f"docs/spec/ differs from {UPSTREAM if source == 'upstream' else RECORDED} in "
                       f"{stale}; copy it again (see this module's docstring)")
