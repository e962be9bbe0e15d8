"""Keeping secrets out of logs, the journal and control answers."""

from __future__ import annotations

import base64
import binascii
import bisect
import codecs
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from urllib.parse import parse_qsl, urlencode

import ahocorasick  # type: ignore[import-not-found]  # pyahocorasick ships no type hints

__all__ = ["MASK", "SECRET_NAMES", "Masker", "SecretText", "is_secret_value", "mask_headers", "mask_json", "mask_query", "mask_text",
           "mask_tokens", "secret_forms"]

MASK = "********"
#: Names whose values are secrets (compared case-insensitively): the four credential
#: carriers of spec §3, the key text of ApiKeyInfo, passwords, the control token.
SECRET_NAMES = frozenset({"x-apikey", "key", "api_key", "password", "authorization",
                          "proxy-authorization", "x-nuget-apikey", "x-mockproget-token",
                          "cookie", "admin_key", "token"})

_QUERY_SECRET = re.compile(r"(?i)([?&](?:key|api_key|password|token)=)[^&#\s\"]*")


#: A secret cut short (a truncated answer) is masked from this many characters on.
MIN_PREFIX = 6


def is_secret_value(value: str, is_secret: Callable[[str], bool]) -> bool:
    """Whether a whole (decoded) value is a secret: a key's text, a password, or a
    ``user:password`` pseudo-key, whatever characters the password holds."""
    if not value:
        return False
    return is_secret(value) or (":" in value and is_secret(value.partition(":")[2]))


def mask_query(query: str, is_secret: Callable[[str], bool] = lambda text: False) -> str:
    """Mask secret parameters in a query string (``key=...`` -> ``key=********``): by
    their (decoded) name, or because ``is_secret`` knows the value."""
    if not query:
        return query
    pairs = parse_qsl(query, keep_blank_values=True)
    return urlencode([(k, MASK if k.lower() in SECRET_NAMES or is_secret_value(v, is_secret) else v)
                      for k, v in pairs], safe="*")


def mask_text(text: str, secrets: Iterable[str] = ()) -> str:
    """Mask ``key=...`` in URLs within ``text`` and every literal secret given, also one
    cut short at the end of ``text`` (an answer truncated mid-key)."""
    if "=" in text:  # every match of _QUERY_SECRET holds one
        text = _QUERY_SECRET.sub(lambda m: m.group(1) + MASK, text)
    for secret in secrets:
        if not secret or secret[:MIN_PREFIX] not in text:  # neither whole nor cut short here
            continue
        text = text.replace(secret, MASK)
        # a cut-short secret at the end starts with its first MIN_PREFIX characters,
        # within the last len(secret) - 1 characters: without them, no size can match
        if len(secret) <= MIN_PREFIX or secret[:MIN_PREFIX] not in text[-(len(secret) - 1):]:
            continue
        for size in range(min(len(secret) - 1, len(text)), MIN_PREFIX - 1, -1):
            if text.endswith(secret[:size]):
                text = text[:-size] + MASK
                break
    return text


def mask_headers(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    return {name: (MASK if name.lower() in SECRET_NAMES else value) for name, value in headers}


def mask_json(value: object) -> object:
    """A copy of a JSON value with every secret-named property masked."""
    if isinstance(value, Mapping):
        return {k: (MASK if isinstance(k, str) and k.lower() in SECRET_NAMES else mask_json(v))
                for k, v in value.items()}
    if isinstance(value, list):
        return [mask_json(v) for v in value]
    return value


#: What separates tokens in a URL, a header or a body: punctuation, blanks, %XX escapes.
_TOKEN_SEPARATORS = re.compile(r"((?:%[0-9A-Fa-f]{2}|[\s/?&=:;,\"'<>()\[\]{}\\])+)")


def mask_tokens(text: str, is_secret: Callable[[str], bool]) -> str:
    """Mask every token of ``text`` that ``is_secret`` recognises (a live key's text, a
    user's password), wherever it appears: a path, a header, a body."""
    if not text:
        return text
    parts = _TOKEN_SEPARATORS.split(text)
    for i in range(0, len(parts), 2):  # even indexes are tokens, odd ones separators
        if parts[i] and is_secret(parts[i]):
            parts[i] = MASK
    return "".join(parts)


# -- masking by value ---------------------------------------------------------------------
#
# The Masker knows every live secret and hides each wherever it appears whole, in any of
# the encodings a request, a log line or an answer can carry it in. It looks for the
# secrets' literal forms (the text itself, its UTF-8 bytes read as Latin-1, the base64 of
# ``secret``, ``api:secret`` and ``user:secret``) with Aho-Corasick automata, in "views"
# of the text: the text as it is, percent-decoded (with and without ``+`` as a space),
# JSON-unescaped, and both. A match in a view maps back to the span of the original text
# it came from, so a secret written partly raw and partly escaped is found too.
#
# Automata are immutable once built. New secrets go into a small new automaton; automata
# of similar sizes are merged (a base-4 counter over levels), so adding one secret costs
# O(log n) amortised and masking costs one pass per level, not one per secret.

_PERCENT_OR_PLUS = re.compile(r"(?:%[0-9A-Fa-f]{2})+|\+")
_PERCENT = re.compile(r"(?:%[0-9A-Fa-f]{2})+")
_JSON_ESCAPE = re.compile(r"\\u[0-9A-Fa-f]{4}|\\[\"\\/bfnrt]")
_JSON_SIMPLE = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_BASIC = re.compile(r"(?i)\b(?:basic|bearer)[\s:]+([A-Za-z0-9+/_-]{2,}={0,2})")


class _View:
    """A decoded copy of a text, with the original span each decoded character came from.

    ``starts[i]``/``ends[i]`` are given per *segment*: a run of characters copied as they
    are (``plain``) or one decoded character.
    """

    __slots__ = ("text", "_view_at", "_orig_at", "_orig_end", "_plain")

    def __init__(self, text: str, view_at: list[int], orig_at: list[int], orig_end: list[int],
                 plain: list[bool]) -> None:
        self.text = text
        self._view_at, self._orig_at, self._orig_end, self._plain = view_at, orig_at, orig_end, plain

    def start(self, pos: int) -> int:
        i = bisect.bisect_right(self._view_at, pos) - 1
        return self._orig_at[i] + (pos - self._view_at[i] if self._plain[i] else 0)

    def end(self, pos: int) -> int:
        """The original end of the view character at ``pos`` (inclusive index)."""
        i = bisect.bisect_right(self._view_at, pos) - 1
        return self._orig_at[i] + (pos - self._view_at[i] + 1) if self._plain[i] else self._orig_end[i]


#: What a decoder makes of one escape: characters, each with the span (relative to the
#: escape's start) of the original text it came from.
_Decoded = list[tuple[str, int, int]]


def _decoded(text: str, pattern: re.Pattern[str], decode: Callable[[str], _Decoded]) -> _View | None:
    """``text`` with every match of ``pattern`` replaced by what ``decode`` makes of it
    (one segment per decoded character), or ``None`` when nothing matches."""
    parts: list[str] = []
    view_at: list[int] = []
    orig_at: list[int] = []
    orig_end: list[int] = []
    plain: list[bool] = []
    here = done = 0
    for match in pattern.finditer(text):
        start, end = match.span()
        if start > done:
            view_at.append(here)
            orig_at.append(done)
            orig_end.append(start)
            plain.append(True)
            parts.append(text[done:start])
            here += start - done
        for char, rel_start, rel_end in decode(match.group()):
            view_at.append(here)
            orig_at.append(start + rel_start)
            orig_end.append(start + rel_end)
            plain.append(False)
            parts.append(char)
            here += 1
        done = end
    if not view_at:
        return None
    if done < len(text):
        view_at.append(here)
        orig_at.append(done)
        orig_end.append(len(text))
        plain.append(True)
        parts.append(text[done:])
    return _View("".join(parts), view_at, orig_at, orig_end, plain)


def _utf8_chars(run: str) -> _Decoded:
    """A run of ``%XX`` escapes as UTF-8: each character spans the escapes of its bytes."""
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    chars: _Decoded = []
    first = 0
    for i in range(0, len(run), 3):
        out = decoder.decode(bytes([int(run[i + 1:i + 3], 16)]))
        for char in out:
            chars.append((char, first, i + 3))
        if out:
            first = i + 3
    for char in decoder.decode(b"", final=True):
        chars.append((char, first, len(run)))
    return chars


def _percent_chars(run: str) -> _Decoded:
    return [(" ", 0, 1)] if run == "+" else _utf8_chars(run)


def _json_chars(escape: str) -> _Decoded:
    char = chr(int(escape[2:], 16)) if escape[1] == "u" else _JSON_SIMPLE[escape[1]]
    return [(char, 0, len(escape))]


_JSON_PAIR = re.compile(r"[\ud800-\udbff][\udc00-\udfff]")


def _compose(outer: _View, inner: _View) -> _View:
    """``inner`` is a view of ``outer.text``: the same view, mapped to ``outer``'s original.

    Costs one step per segment of either view, not per character."""
    view_at: list[int] = []
    orig_at: list[int] = []
    orig_end: list[int] = []
    plain: list[bool] = []
    outer_at = outer._view_at
    for i, at in enumerate(inner._view_at):
        if not inner._plain[i]:
            view_at.append(at)
            orig_at.append(outer.start(inner._orig_at[i]))
            orig_end.append(outer.end(inner._orig_end[i] - 1))
            plain.append(False)
            continue
        src, src_end = inner._orig_at[i], inner._orig_end[i]  # a range of outer.text
        j = bisect.bisect_right(outer_at, src) - 1
        while src < src_end:
            next_at = outer_at[j + 1] if j + 1 < len(outer_at) else len(outer.text)
            upto = min(src_end, next_at)
            view_at.append(at + (src - inner._orig_at[i]))
            if outer._plain[j]:
                orig_at.append(outer._orig_at[j] + (src - outer_at[j]))
                orig_end.append(outer._orig_at[j] + (upto - outer_at[j]))
                plain.append(True)
            else:
                orig_at.append(outer._orig_at[j])
                orig_end.append(outer._orig_end[j])
                plain.append(False)
            src = upto
            j += 1
    return _View(inner.text, view_at, orig_at, orig_end, plain)


def _json_view(text: str) -> _View | None:
    if "\\" not in text:
        return None
    view = _decoded(text, _JSON_ESCAPE, _json_chars)
    return _join_surrogates(view) if view is not None else None


def _plus_view(text: str) -> _View | None:
    return _decoded(text, _PERCENT_OR_PLUS, _percent_chars) if "%" in text or "+" in text else None


def _percent_view(text: str) -> _View | None:
    return _decoded(text, _PERCENT, _utf8_chars) if "%" in text else None


_DECODERS = (_json_view, _plus_view, _percent_view)


def _views(text: str) -> list[tuple[str, _View | None]]:
    """The text and its decoded views (``None``: the text itself): JSON-unescaped,
    percent-decoded with and without ``+`` as a space, and each of those decoded again
    (double encodings)."""
    views: list[tuple[str, _View | None]] = [(text, None)]
    for first in _DECODERS:
        once = first(text)
        if once is None:
            continue
        views.append((once.text, once))
        for second in _DECODERS:
            twice = second(once.text)
            if twice is not None:
                views.append((twice.text, _compose(once, twice)))
    return views


def _join_surrogates(view: _View) -> _View:
    """JSON writes a character beyond U+FFFF as two ``\\uXXXX`` escapes: join the pair."""
    if not _JSON_PAIR.search(view.text):
        return view
    outer = _View(view.text, view._view_at, view._orig_at, view._orig_end, view._plain)
    inner = _decoded(view.text, _JSON_PAIR,
                     lambda pair: [(pair.encode("utf-16", "surrogatepass").decode("utf-16"), 0, 2)])
    return _compose(outer, inner) if inner is not None else view


def _b64_forms(data: bytes) -> list[str]:
    """``data`` in base64 (standard and URL-safe), unpadded, and its whole 3-byte groups
    alone (a prefix of the base64 of ``data`` followed by anything)."""
    forms = []
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        full = encode(data).decode("ascii").rstrip("=")
        forms.append(full)
        whole = len(data) // 3 * 3
        if whole and whole != len(data) and whole >= 6:
            forms.append(encode(data[:whole]).decode("ascii"))
    return forms


def secret_forms(text: str, user: str | None = None) -> set[str]:
    """The literal forms of a secret the masker looks for in every view of a text: the
    text, its UTF-8 bytes read as Latin-1 (a WSGI string), and base64 of ``text``,
    ``api:text`` and ``user:text``."""
    forms = {text}
    raw = text.encode("utf-8", "surrogatepass")
    latin = raw.decode("latin-1")
    if latin != text:
        forms.add(latin)
    for prefix in ["", "api:"] + ([f"{user}:"] if user else []):
        forms.update(_b64_forms(prefix.encode("utf-8", "surrogatepass") + raw))
    forms.discard("")
    return forms


class _Level:
    """One immutable automaton over the forms of some secrets.

    ``secrets`` maps each secret to its forms (computed once per secret and carried into
    the merged levels, so a merge costs the automaton, not the encodings); ``shortest``
    is the length of its shortest form.
    """

    __slots__ = ("secrets", "automaton", "shortest")

    def __init__(self, secrets: Mapping[tuple[str, str | None], tuple[str, ...]]) -> None:
        self.secrets = secrets
        automaton = ahocorasick.Automaton()
        shortest = 0
        for forms in secrets.values():
            for form in forms:
                automaton.add_word(form, len(form))
                shortest = len(form) if not shortest else min(shortest, len(form))
        automaton.make_automaton()
        self.automaton = automaton
        self.shortest = shortest

    @classmethod
    def of(cls, items: Iterable[tuple[str, str | None]]) -> _Level:
        return cls({item: tuple(secret_forms(*item)) for item in items})

    def spans(self, text: str) -> Iterator[tuple[int, int]]:
        for end, length in self.automaton.iter(text):
            yield end - length + 1, end + 1


#: The shape of the key texts the mock generates (40 lower-case hex digits): secrets of
#: this shape are kept in a set and found by their shape, so adding one costs a set insert.
SHAPED_LENGTH = 40
_SHAPED = re.compile(r"[0-9a-f]{40}")
#: a run of hex digits in either case: a key in upper or mixed case spells it as well
_HEX_RUN = re.compile(r"[0-9a-fA-F]{40,}")
#: base64 (standard or URL-safe) long enough to hold 40 bytes at any alignment.
_B64_RUN = re.compile(r"[A-Za-z0-9+/_-]{54,}")
_URLSAFE = str.maketrans("-_", "+/")


def is_shaped(text: str) -> bool:
    """Whether ``text`` has the shape of a generated key (kept in the shaped set)."""
    return len(text) == SHAPED_LENGTH and _SHAPED.fullmatch(text) is not None


class _ShapedLevel:
    """The secrets of :func:`is_shaped`'s shape, found where their shape appears: every
    40-digit window of a run of hex digits (in either case, looked up lower-cased), raw
    and inside base64 (decoded at each of the four alignments: ``base64(key)``,
    ``base64(api:key)``, ``base64(user:key)``, ``base64(anything key anything)``), is
    looked up in a set.

    The set is changed in place (a set's ``add`` and ``in`` are atomic), so a secret is
    found from the moment :meth:`Masker.add` returns.
    """

    __slots__ = ("texts",)
    shortest = SHAPED_LENGTH

    def __init__(self) -> None:
        self.texts: set[str] = set()

    def _raw(self, text: str, base: int = 0) -> Iterator[tuple[int, int]]:
        texts = self.texts
        for run in _HEX_RUN.finditer(text):
            start, digits = run.start(), run.group().lower()
            for at in range(len(digits) - SHAPED_LENGTH + 1):
                if digits[at:at + SHAPED_LENGTH] in texts:
                    yield base + start + at, base + start + at + SHAPED_LENGTH

    def spans(self, text: str) -> Iterator[tuple[int, int]]:
        if not self.texts:
            return
        yield from self._raw(text)
        for run in _B64_RUN.finditer(text):
            start, end = run.span()
            token = run.group().translate(_URLSAFE)
            for shift in range(4):
                chunk = token[shift:]
                if len(chunk) < 54:
                    break
                if len(chunk) % 4 == 1:  # a lone last character carries no whole byte
                    chunk = chunk[:-1]
                chunk += "=" * (-len(chunk) % 4)
                try:
                    decoded = base64.b64decode(chunk, validate=True).decode("latin-1")
                except (ValueError, binascii.Error):
                    continue
                for byte_start, byte_end in self._raw(decoded):
                    # a short prefix (``api:``, ``user:``) goes with the key, as one credential
                    first = start + shift + (0 if byte_start <= 256 else byte_start // 3 * 4)
                    last = start + shift + -(-byte_end // 3) * 4
                    yield first, min(last, end)


def _size_class(size: int) -> int:
    """``floor(log4(size))``: the masker merges four levels of a class into one."""
    return (max(size, 1).bit_length() - 1) // 2


#: What joins the texts :meth:`Masker.mask_many` looks at: not part of any escape, of a
#: base64 token or of a word, so no decoded view runs across it.
_SEPARATOR = "\x00"


class Masker:
    """The one place that knows the live secrets, and hides each wherever it appears.

    Thread-safe: changes build new automata and swap them in whole (copy-on-write), so
    :meth:`mask` never takes a lock and never sees a half-built set.

    A secret is a text, optionally with the name of the user whose password it is (so
    that ``base64(user:password)`` is recognised too). Pinned secrets (the control token)
    survive :meth:`replace`.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._levels: tuple[_Level, ...] = ()
        self._shaped = _ShapedLevel()  # generated-key shaped secrets: a set, not automata
        #: what masking looks through (the automata, then the shaped set, if it holds any)
        #: and the length of the shortest form they know, swapped in together
        self._current: tuple[tuple[_Level | _ShapedLevel, ...], int] = ((), 0)
        self._pinned: set[tuple[str, str | None]] = set()
        self._live: dict[tuple[str, str | None], int] = {}
        self._dead = 0
        self._longest = 0  # the longest secret ever known (the window masking looks at)
        self._before_forgetting: list[Callable[[], None]] = []

    def __repr__(self) -> str:
        return f"<Masker of {len(self._live)} secrets>"

    def __len__(self) -> int:
        return len(self._live)

    # -- changes -----------------------------------------------------------------------

    def before_forgetting(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` before any secret stops being masked (a journal renders the
        entries it has not rendered yet, while they are still masked)."""
        self._before_forgetting.append(callback)

    def _forgetting(self) -> None:
        for callback in self._before_forgetting:
            callback()

    def pin(self, text: str | None) -> None:
        """A secret that stays known across :meth:`replace` (the control token)."""
        if text:
            with self._lock:
                self._pinned.add((text, None))
                self._add_locked([(text, None)])

    def add(self, text: str | None, user: str | None = None) -> None:
        """Start masking ``text`` (a key's text; a password, with its user's name)."""
        if text:
            with self._lock:
                self._add_locked([(text, user)])

    def discard(self, text: str | None, user: str | None = None) -> None:
        """``text`` is no longer a secret (a deleted key). It stays masked until the
        secrets are next rebuilt, which happens once more of them are gone than are live
        (and more than 64): a request answered while it was live and still under way is
        masked with it."""
        if not text:
            return
        with self._lock:
            item = (text, user)
            count = self._live.get(item, 0)
            if count <= 0 or item in self._pinned and count == 1:
                return
            if count == 1:
                del self._live[item]
                self._dead += 1
            else:
                self._live[item] = count - 1
            if self._dead > 64 and self._dead > len(self._live):
                self._forgetting()
                self._rebuild_locked()

    def replace(self, secrets: Iterable[tuple[str, str | None]]) -> None:
        """Know exactly ``secrets`` (and the pinned ones): one rebuild, for bulk changes."""
        with self._lock:
            live: dict[tuple[str, str | None], int] = {}
            for item in list(secrets) + list(self._pinned):
                if item[0]:
                    live[item] = live.get(item, 0) + 1
            unchanged = not self._dead and live.keys() == self._live.keys() and len(self._levels) <= 1
            if self._dead or not live.keys() >= self._live.keys():  # some will stop being masked
                self._forgetting()
            self._live = live
            self._longest = max([self._longest, *(len(text) for text, _ in live)])
            if not unchanged:  # a state put back as it was costs no rebuild
                self._rebuild_locked()

    def _rebuild_locked(self) -> None:
        self._dead = 0
        shaped = {item for item in self._live if item[1] is None and is_shaped(item[0])}
        self._shaped.texts = {text for text, _ in shaped}
        others = [item for item in self._live if item not in shaped]
        self._set_levels((_Level.of(others),) if others else ())

    def _add_locked(self, items: list[tuple[str, str | None]]) -> None:
        new = []
        for item in items:
            count = self._live.get(item, 0)
            self._live[item] = count + 1
            self._longest = max(self._longest, len(item[0]))
            if count == 0:
                if item[1] is None and is_shaped(item[0]):
                    first = not self._shaped.texts
                    self._shaped.texts.add(item[0])
                    if first:  # the set joins what masking looks through
                        self._set_levels(self._levels)
                else:
                    new.append(item)
        if not new:
            return
        levels = list(self._levels)
        merged = {item: tuple(secret_forms(*item)) for item in new}
        # a base-4 counter: once the newest levels are four of one size class, they merge
        # (each secret is rebuilt about log4(n) times; at most three levels per class)
        while len(levels) >= 3 and len({_size_class(len(level.secrets)) for level in levels[-3:]}
                                       | {_size_class(len(merged))}) == 1:
            for level in levels[-3:]:
                merged = {**level.secrets, **merged}
            del levels[-3:]
        levels.append(_Level(merged))
        self._set_levels(tuple(levels))

    def _set_levels(self, levels: tuple[_Level, ...]) -> None:
        self._levels = levels
        searched: tuple[_Level | _ShapedLevel, ...] = levels + ((self._shaped,) if self._shaped.texts else ())
        self._current = (searched, min((level.shortest for level in searched), default=0))

    # -- masking -----------------------------------------------------------------------

    def spans(self, text: str) -> list[tuple[int, int]]:
        """The spans of ``text`` that hold a secret in some encoding, merged, in order."""
        return self._spans(text, self._current[0])

    def _spans(self, text: str, levels: tuple[_Level | _ShapedLevel, ...]) -> list[tuple[int, int]]:
        if not levels or not text:
            return []
        found: list[tuple[int, int]] = []
        for view_text, view in _views(text):
            for level in levels:
                for start, end in level.spans(view_text):
                    if view is None:
                        found.append((start, end))
                    else:
                        found.append((view.start(start), view.end(end - 1)))
        for match in _BASIC.finditer(text):
            token = match.group(1)
            if self._hides_secret(token, levels):
                found.append(match.span(1))
        if not found:
            return []
        found.sort()
        merged = [found[0]]
        for start, end in found[1:]:
            if start <= merged[-1][1]:
                if end > merged[-1][1]:
                    merged[-1] = (merged[-1][0], end)
            else:
                merged.append((start, end))
        return merged

    @staticmethod
    def _hides_secret(token: str, levels: tuple[_Level | _ShapedLevel, ...]) -> bool:
        """Whether a base64 token (a Basic credential) decodes to text holding a secret."""
        padded = token.rstrip("=") + "=" * (-len(token.rstrip("=")) % 4)
        for decode in (base64.b64decode, base64.urlsafe_b64decode):
            try:
                decoded = decode(padded).decode("utf-8", "replace")
            except (ValueError, binascii.Error):
                continue
            for level in levels:
                if next(level.spans(decoded), None) is not None:
                    return True
        return False

    @property
    def margin(self) -> int:
        """How far past a cut a secret that starts before it can reach, in its longest
        form (each character up to 24 characters: percent-encoded twice, JSON-escaped)."""
        return self._longest * 24 + 8

    def mask(self, text: str, keep: int | None = None) -> str:
        """``text`` with every secret, in every encoding, replaced by :data:`MASK`.

        :param keep: the caller keeps only this many characters: only as much of
            ``text`` as a secret starting before the cut can reach is looked at (and
            returned, masked), so a long text costs what its kept part does.
        """
        return self.mask_many([(text, keep)])[0]

    def mask_many(self, items: Sequence[tuple[str, int | None]]) -> list[str]:
        """``[mask(text, keep) for text, keep in items]``, in one pass over the texts.

        The texts are looked at joined by :data:`_SEPARATOR` (a character no decoder
        produces from, or folds into, its neighbours: a view of the joined text is the
        views of the texts, joined), and each span found is cut back to the texts it
        covers: every secret one text holds is found there, and is masked. A text shorter
        than the shortest form of any secret cannot hold one in any encoding (every view
        of a text is at most as long as the text) and is not looked at.
        """
        levels, shortest = self._current
        margin = self.margin
        texts = [text[:keep + margin] if keep is not None and len(text) > keep + margin else text
                 for text, keep in items]
        if not levels:
            return texts
        looked = [i for i, text in enumerate(texts) if len(text) >= shortest]
        if not looked:
            return texts
        joined = _SEPARATOR.join(texts[i] for i in looked)
        spans = self._spans(joined, levels)
        if not spans:
            return texts
        at, s = 0, 0
        for i in looked:
            text = texts[i]
            end = at + len(text)
            while s < len(spans) and spans[s][1] <= at:
                s += 1
            parts, done, j = [], 0, s
            while j < len(spans) and spans[j][0] < end:
                start, stop = max(spans[j][0], at) - at, min(spans[j][1], end) - at
                if stop > start:
                    parts.append(text[done:max(start, done)])
                    parts.append(MASK)
                    done = max(done, stop)
                j += 1
            if parts:
                parts.append(text[done:])
                texts[i] = "".join(parts)
            at = end + len(_SEPARATOR)
        return texts

    def mask_json(self, value: object) -> object:
        """A copy of a JSON value with every string masked (keys too)."""
        if isinstance(value, str):
            return self.mask(value)
        if isinstance(value, Mapping):
            return {self.mask(k) if isinstance(k, str) else k: self.mask_json(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.mask_json(v) for v in value]
        return value


class SecretText(str):
    """A secret string whose ``repr`` hides it (a control token kept in ``app.extensions``)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return repr(MASK)
