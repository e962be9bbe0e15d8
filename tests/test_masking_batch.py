"""The masker's one-pass form, ``Masker.mask_many``, hides what ``Masker.mask`` hides
(issue 8 §1: masking by value in every encoding; spec §3's carriers), text by text.

The journal masks a request's method, path, query and headers in one pass; these tests
hold that pass to masking each text alone, with secrets and texts drawn from every kind of
character, placed in every form the masker knows, and cut at the journal's caps.
"""

from __future__ import annotations

import base64
import json
from urllib.parse import quote, quote_plus

import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from mockproget import MockProGet
from mockproget.masking import MASK, Masker

_SECRETS = st.text(alphabet=st.one_of(st.sampled_from(" /%+;=\"'&?#:\\,"),
                                      st.characters(codec="utf-8", exclude_categories=["Cs"],
                                                    exclude_characters="\x00")),
                   min_size=1, max_size=24)


def _encodings(secret: str) -> list[str]:
    raw = secret.encode("utf-8")
    return [secret, quote(secret, safe=""), quote_plus(secret), json.dumps(secret)[1:-1],
            quote(quote(secret, safe=""), safe=""), raw.decode("latin-1"),
            base64.b64encode(raw).decode(), base64.b64encode(b"api:" + raw).decode(),
            "Basic " + base64.b64encode(b"x:" + raw).decode()]


@st.composite
def _case(draw: st.DrawFn) -> tuple[list[str], list[tuple[str, int | None]]]:
    secrets = draw(st.lists(_SECRETS, min_size=1, max_size=4, unique=True))
    pieces = st.one_of(st.text(max_size=12),
                       st.sampled_from(secrets).flatmap(lambda s: st.sampled_from(_encodings(s))),
                       st.sampled_from(["%", "%4", "+", "\\", "\\u00", "basic", "=", "\x00"]))
    texts = draw(st.lists(st.lists(pieces, max_size=6).map("".join), max_size=8))
    keeps = draw(st.lists(st.sampled_from([None, 4, 32, 256, 1024]), min_size=len(texts),
                          max_size=len(texts)))
    return secrets, list(zip(texts, keeps))


@settings(max_examples=300, deadline=None)
@given(case=_case())
def test_mask_many_is_mask_text_by_text(case: tuple[list[str], list[tuple[str, int | None]]]) -> None:
    """Issue 8 §1: every text of a batch comes back exactly as masking it alone gives it."""
    secrets, items = case
    masker = Masker()
    for secret in secrets:
        masker.add(secret)
    assert masker.mask_many(items) == [masker.mask(text, keep) for text, keep in items]


def test_mask_many_hides_a_secret_in_each_text_of_a_batch() -> None:
    """Issue 8 §1: a secret in several texts, raw and encoded, is hidden in each; texts
    too short to hold any secret come back as they are."""
    masker = Masker()
    masker.add("s3cret/key+1", "carol")
    items: list[tuple[str, int | None]] = [
        ("POST", 32), ("/api/s3cret%2Fkey%2B1/x", 8192), ("key=s3cret%2Fkey%2B1", 8192),
        ("Basic " + base64.b64encode(b"carol:s3cret/key+1").decode(), 1024), ("gzip", 1024),
        ("s3cret/key+1", None)]  # as long as the shortest form: still looked at
    shown = masker.mask_many(items)
    assert shown[0] == "POST" and shown[4] == "gzip"
    assert shown[1] == f"/api/{MASK}/x" and shown[2] == f"key={MASK}"
    assert shown[3] == f"Basic {MASK}" and shown[5] == MASK


def test_the_journal_masks_every_header_in_one_request(mock: MockProGet) -> None:
    """Spec §3, issue 8 §1: a key sent in several headers at once, in several encodings,
    is masked in every one of them in the journal entry."""
    key = mock.admin_key
    assert key
    response = requests.get(mock.url + f"api/{quote(key)}/x", headers={
        "X-ApiKey": key, "X-Echo-A": f"a {key} b", "X-Echo-B": quote(quote(key, safe=""), safe=""),
        "X-Echo-C": base64.b64encode(f"api:{key}".encode()).decode()}, timeout=10)
    assert response.status_code == 404
    entry = mock.journal.entries(path="/api/*/x")[-1]
    dumped = json.dumps(entry)
    assert key not in dumped and quote(key) not in dumped
    assert entry["headers"]["X-Echo-A"] == f"a {MASK} b"
    assert entry["headers"]["X-Echo-B"] == MASK
    assert entry["headers"]["X-Echo-C"].rstrip("=") == MASK  # base64 padding is no secret
