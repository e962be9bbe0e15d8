"""Generated keys (40 lower-case hex digits) are masked by their shape and a set lookup,
not by automata: they must be hidden wherever the automata would hide them, in every
encoding (issue 8 §1: masking by value; spec §2: the key text of a created key; spec §3's
carriers), and adding one must not cost an automaton build.

The reference is the same masker with the shaped set turned off (every secret in
Aho-Corasick automata, as for any other secret): whatever it masks, the shaped set masks.
"""

from __future__ import annotations

import base64
import json
import re
from unittest import mock
from urllib.parse import quote, quote_plus

from hypothesis import given, settings
from hypothesis import strategies as st

from mockproget import masking
from mockproget.masking import MASK, Masker, is_shaped

_KEYS = st.text(alphabet="0123456789abcdef", min_size=40, max_size=40)
_B64 = re.compile(r"[A-Za-z0-9+/_-]+")


def _forms(key: str, before: bytes, after: bytes) -> list[str]:
    """The key as requests, logs and answers can carry it."""
    raw = key.encode()
    return [key, quote(key, safe=""), "".join(f"%{b:02X}" for b in raw), "".join(f"%{b:02x}" for b in raw),
            quote(quote(key, safe=""), safe=""), quote_plus(key), json.dumps(key)[1:-1],
            "".join(f"\\u{ord(c):04x}" for c in key),
            base64.b64encode(before + raw + after).decode(),
            base64.urlsafe_b64encode(before + raw + after).decode().rstrip("="),
            base64.b64encode(b"api:" + raw).decode(),
            "Basic " + base64.b64encode(b"user:" + raw).decode(),
            quote(base64.b64encode(before + raw + after).decode(), safe="")]


def _recoverable(text: str, key: str) -> bool:
    """Whether half the key can still be read from ``text``, raw or out of base64."""
    if key[:20] in text or key[20:] in text:
        return True
    for run in _B64.findall(text.replace("%2B", "+").replace("%2F", "/").replace("%3D", "=")):
        token = run.replace("-", "+").replace("_", "/")
        for shift in range(4):
            chunk = token[shift:]
            chunk = chunk[:len(chunk) // 4 * 4]
            try:
                decoded = base64.b64decode(chunk).decode("latin-1")
            except ValueError:
                continue
            if key[:20] in decoded or key[20:] in decoded:
                return True
    return False


@settings(max_examples=300, deadline=None)
@given(key=_KEYS, others=st.lists(_KEYS, max_size=3), form=st.integers(0, 12),
       before=st.binary(max_size=7), after=st.binary(max_size=7),
       left=st.text(max_size=10), right=st.text(max_size=10))
def test_a_generated_key_is_hidden_in_every_form(key: str, others: list[str], form: int, before: bytes,
                                                after: bytes, left: str, right: str) -> None:
    """The key, placed in any of its forms among any text, cannot be read back."""
    masker = Masker()
    for text in [key, *others]:
        masker.add(text)
    text = left + _forms(key, before, after)[form] + right
    shown = masker.mask(text)
    assert MASK in shown
    assert not _recoverable(shown, key)


@settings(max_examples=300, deadline=None)
@given(key=_KEYS, form=st.integers(0, 12), before=st.binary(max_size=7), after=st.binary(max_size=7),
       left=st.text(max_size=10), right=st.text(max_size=10))
def test_the_shaped_set_masks_whatever_the_automata_mask(key: str, form: int, before: bytes, after: bytes,
                                                         left: str, right: str) -> None:
    """Every span the automata find, the shaped set finds too (it may mask more of a
    base64 token around the key, never less)."""
    text = left + _forms(key, before, after)[form] + right
    shaped = Masker()
    shaped.add(key)
    with mock.patch.object(masking, "is_shaped", lambda text: False):
        reference = Masker()
        reference.add(key)
    covered = shaped.spans(text)
    for start, end in reference.spans(text):
        assert any(s <= start and end <= e for s, e in covered), (text, covered, (start, end))


@given(key=_KEYS, at=st.integers(0, 39), other=st.sampled_from("0123456789abcdef"))
def test_a_near_miss_of_a_generated_key_is_not_masked(key: str, at: int, other: str) -> None:
    """A text one character away from a key is not a secret (masking it would tell a
    guesser how close the guess was)."""
    masker = Masker()
    masker.add(key)
    near = key[:at] + other + key[at + 1:]
    if near != key:
        assert masker.mask(f"x {near} y") == f"x {near} y"
        assert masker.mask(f"x {near.upper()} y") == f"x {near.upper()} y"


@settings(max_examples=200, deadline=None)
@given(key=_KEYS, upper=st.lists(st.booleans(), min_size=40, max_size=40), form=st.integers(0, 12),
       before=st.binary(max_size=7), after=st.binary(max_size=7))
def test_a_generated_key_in_upper_or_mixed_case_is_hidden_too(key: str, upper: list[bool], form: int,
                                                            before: bytes, after: bytes) -> None:
    """A key's hex digits in any case spell the key (lower-casing them gives it back), so
    they are masked in every form; that tells a guesser nothing that sending the
    lower-case text as a key would not."""
    cased = "".join(c.upper() if u else c for c, u in zip(key, upper))
    masker = Masker()
    masker.add(key)
    shown = masker.mask("x " + _forms(cased, before, after)[form] + " y")
    assert MASK in shown
    assert not _recoverable(shown.lower(), key) and not _recoverable(shown, cased)


def test_a_generated_key_is_found_inside_a_longer_run_of_hex_digits() -> None:
    """Spec §2: the key's text, wherever it appears whole, even glued to other digits."""
    key = "0123456789abcdef" * 2 + "01234567"
    masker = Masker()
    masker.add(key)
    assert masker.mask("ff" + key + "ee") == "ff" + MASK + "ee"


def test_a_deleted_generated_key_stays_masked_until_the_secrets_are_rebuilt() -> None:
    """A key's text stays masked after its last holder is gone, until more secrets are
    gone than are live (and more than 64): then the set is rebuilt without it."""
    masker = Masker()
    keep = [f"{i:040x}" for i in range(10)]
    gone = [f"{i:040x}" for i in range(100, 180)]
    for text in keep + gone + gone[:1]:
        masker.add(text)
    assert is_shaped(gone[0]) and len(masker) == 90
    masker.discard(gone[0])
    assert masker.mask(gone[0]) == MASK  # a second holder
    forgotten: list[int] = []
    masker.before_forgetting(lambda: forgotten.append(len(masker)))
    for text in gone:
        masker.discard(text)
        if not forgotten:
            assert masker.mask(text) == MASK  # dead, still masked
    assert forgotten == [25]  # told once, at the rebuild (65 gone, 25 live)
    assert masker.mask(gone[0]) == gone[0]  # rebuilt without it
    assert masker.mask(gone[-1]) == MASK  # gone since: masked until the next rebuild
    assert masker.mask(keep[3]) == MASK and len(masker) == 10


def test_adding_generated_keys_builds_no_automaton() -> None:
    """Issue 7 §4: adding a generated key is a set insert (the cost of a create stays flat)."""
    masker = Masker()
    with mock.patch.object(masking, "_Level", side_effect=AssertionError("an automaton was built")):
        for i in range(100):
            masker.add(f"{i:040x}")
    assert masker.mask(f"key={99:040x}") == f"key={MASK}"
    masker.replace([(f"{i:040x}", None) for i in range(5)])
    assert masker.mask(f"{4:040x} {99:040x}") == f"{MASK} {99:040x}"
