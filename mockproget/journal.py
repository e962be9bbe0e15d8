"""The request journal: a bounded ring buffer of what the mock was asked and answered.

Each entry is a JSON-ready dict, secrets masked when it is recorded: credential carriers
(``X-ApiKey``, ``key``, ``API_Key``), passwords, tokens, the ``key`` of every JSON body,
the text of a newly created key, and the credential's value wherever else it appears.
Bodies are kept as the authenticating API key's ``logging`` says (``request``,
``response``, ``both``; ProGet's access-log semantics, seed doc "Logging Options");
pseudo-key, anonymous and refused requests never have their bodies kept.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import heapq
import io
import json
import logging
import operator
import sys
import threading
import time
from collections import deque
from urllib.parse import parse_qsl
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from .auth import BODY, CREDENTIAL, credential_from_environ, wsgi_text
from .faults import APPLIED, CONNECTION_APPLIED, CONTROL_PREFIX, DELAY_MS, ConnectionFault
from .models import Credential, Principal
from .masking import MASK, SECRET_NAMES, mask_headers, mask_json, mask_query, mask_text

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

class MaskFunction(Protocol):
    """``backend.mask``: ``text`` with every live secret hidden; with ``keep``, only the
    part a cut at ``keep`` characters can show needs to come back (masked)."""

    def __call__(self, text: str, keep: int | None = None) -> str: ...


class MaskManyFunction(Protocol):
    """``backend.mask_many``: ``[mask(text, keep) for text, keep in items]`` in one pass."""

    def __call__(self, items: Sequence[tuple[str, int | None]]) -> list[str]: ...


def _no_mask(text: str, keep: int | None = None) -> str:
    return text


def _one_by_one(mask: MaskFunction) -> MaskManyFunction:
    def mask_many(items: Sequence[tuple[str, int | None]]) -> list[str]:
        return [mask(text, keep) for text, keep in items]
    return mask_many


log = logging.getLogger("mockproget")

__all__ = ["DEFAULT_MAX_BYTES", "DEFAULT_PAGE", "DEFAULT_SIZE", "HeaderDict", "Journal", "JournalMiddleware"]

DEFAULT_SIZE = 1000
#: The most memory (bytes, as :func:`entry_bytes` counts them) the entries may hold.
DEFAULT_MAX_BYTES = 32 * 1024 * 1024
#: The control API answers this many entries per page unless ``limit`` says otherwise.
DEFAULT_PAGE = 100
MAX_PAGE = 10_000
#: At most this many characters of a body, of a header value, of the path and of the
#: query are kept (masked first, then cut); at most HEADERS_CAP characters of headers.
BODY_CAP = 8192
HEADER_CAP = 1024
HEADERS_CAP = 16384
URL_CAP = 8192
PRINCIPAL = "mockproget.principal"
CREATED_KEY = "mockproget.created_key"


#: The most entries a journal may keep (entries hold up to two 8 KiB bodies each).
MAX_SIZE = 1_000_000
#: The byte bound's range: an entry holds at most about 200 KiB (every field at its cap,
#: four bytes a character), so the lower bound always leaves room for one.
MIN_BYTES = 1024 * 1024
MAX_BYTES = 16 * 1024 * 1024 * 1024


def check_size(size: object) -> int:
    """``size`` if it is a usable journal size, else :class:`ValueError` saying why."""
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_SIZE:
        raise ValueError(f"the journal size must be an integer from 1 to {MAX_SIZE:,}, not {size!r}")
    return size


def check_bytes(max_bytes: object) -> int:
    """``max_bytes`` if it is a usable byte bound, else :class:`ValueError` saying why."""
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) \
            or not MIN_BYTES <= max_bytes <= MAX_BYTES:
        raise ValueError(f"the journal byte bound must be an integer from {MIN_BYTES:,} "
                         f"to {MAX_BYTES:,}, not {max_bytes!r}")
    return max_bytes


class HeaderDict(dict[str, str]):
    """Request headers as sent (names as the client wrote them), looked up in any case as
    HTTP says: ``"x-apikey" in entry["headers"]``. A plain ``dict`` to JSON."""

    def __contains__(self, name: object) -> bool:
        if isinstance(name, str):
            wanted = name.lower()
            return any(k.lower() == wanted for k in self.keys())
        return False

    def __getitem__(self, name: str) -> str:
        if dict.__contains__(self, name):
            return dict.__getitem__(self, name)
        wanted = name.lower()
        for k, v in self.items():
            if k.lower() == wanted:
                return v
        raise KeyError(name)

    def get(self, name: str, default: Any = None) -> Any:
        try:
            return self[name]
        except KeyError:
            return default


def entry_bytes(entry: dict[str, Any]) -> int:
    """The memory an entry holds: the dict, its values, its headers and fault names
    (``sys.getsizeof`` of each; the field names are shared constants)."""
    total = sys.getsizeof(entry)
    for value in entry.values():
        if isinstance(value, dict):
            total += sys.getsizeof(value) + sum(sys.getsizeof(k) + sys.getsizeof(v) for k, v in value.items())
        elif isinstance(value, list):
            total += sys.getsizeof(value) + sum(sys.getsizeof(v) for v in value)
        elif value is not None and not isinstance(value, bool):
            total += sys.getsizeof(value)
    return total


class _Held:
    """One entry of the journal: built, or still to be built (``build``) from what the
    request left; ``size`` is what it counts against the byte bound (an estimate of what
    the unbuilt request holds, then the built entry's :func:`entry_bytes`)."""

    __slots__ = ("entry", "build", "args", "size", "dropped")

    def __init__(self, entry: dict[str, Any] | None, build: Callable[..., dict[str, Any]] | None,
                 args: tuple[Any, ...], size: int) -> None:
        self.entry, self.build, self.args, self.size, self.dropped = entry, build, args, size, False

    def __repr__(self) -> str:  # what an unbuilt entry holds is not masked yet: never shown
        return f"<journal entry {'built' if self.entry is not None else 'pending'}, {self.size} bytes>"


class Journal:
    """A thread-safe ring buffer of request entries; the oldest go first.

    An entry may be recorded built (:meth:`record`) or as what the request left, to be
    built (masked and cut) when it is first read (:meth:`record_later`): every read
    builds the pending entries first, and so does :meth:`flush`, which the masker calls
    before it forgets a secret (a deleted key, a reset), so that an entry is always
    masked with every secret that was live when its request was answered.

    :param size: the most entries kept.
    :param max_bytes: the most bytes they may hold (:func:`entry_bytes`; a pending entry
        counts what its request left): memory stays flat under any load, however big
        the requests.
    """

    def __init__(self, size: int = DEFAULT_SIZE, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        check_size(size)
        check_bytes(max_bytes)
        self._lock = threading.Lock()
        self._entries: deque[_Held] = deque()
        self._pending: list[_Held] = []  # entries to build, oldest first
        self._building = threading.Lock()  # one flush at a time
        self._size, self._max_bytes = size, max_bytes
        self._configured = (size, max_bytes)  # what reset() goes back to
        self._bytes = 0
        self._total = self._seq = 0

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def __repr__(self) -> str:
        return f"<Journal {len(self)}/{self.size} entries, {self.bytes}/{self.max_bytes} bytes>"

    @property
    def size(self) -> int:
        """The bound in entries."""
        return self._size

    @property
    def max_bytes(self) -> int:
        """The bound in bytes."""
        return self._max_bytes

    @property
    def bytes(self) -> int:
        """The bytes the kept entries hold, as :func:`entry_bytes` counts them."""
        with self._lock:
            return self._bytes

    @property
    def total(self) -> int:
        """Entries recorded since the last :meth:`clear`, including those dropped."""
        with self._lock:
            return self._total

    def resize(self, size: int | None = None, max_bytes: int | None = None) -> None:
        """Change the bounds, keeping the newest entries."""
        if size is not None:
            check_size(size)
        if max_bytes is not None:
            check_bytes(max_bytes)
        with self._lock:
            self._size = size if size is not None else self._size
            self._max_bytes = max_bytes if max_bytes is not None else self._max_bytes
            self._evict_locked()

    def _evict_locked(self) -> None:
        while self._entries and (len(self._entries) > self._size or self._bytes > self._max_bytes):
            held = self._entries.popleft()
            held.dropped = True  # a pending one is never built
            held.build, held.args = None, ()
            self._bytes -= held.size

    def arrival(self) -> int:
        """The next sequence number: taken when a request arrives, so entries list
        requests in the order they came even when they finish in another order."""
        with self._lock:
            self._seq += 1
            return self._seq

    def record(self, entry: dict[str, Any]) -> None:
        """Append an entry (already masked); one without ``seq`` gets the next one."""
        size = entry_bytes(entry)
        with self._lock:
            self._total += 1
            if not entry.get("seq"):
                self._seq += 1
                entry["seq"] = self._seq
            self._entries.append(_Held(entry, None, (), size))
            self._bytes += size
            self._evict_locked()

    def record_later(self, build: Callable[..., dict[str, Any]], args: tuple[Any, ...], size: int) -> None:
        """Append an entry that ``build(*args)`` makes (masked, with its ``seq``) when the
        journal is next read or flushed; ``size`` bytes count against the bound until then."""
        held = _Held(None, build, args, size)
        with self._lock:
            self._total += 1
            self._entries.append(held)
            self._pending.append(held)
            self._bytes += size
            self._evict_locked()
            if len(self._pending) > 2 * self._size:  # the dropped ones, forgotten
                self._pending = [h for h in self._pending if not h.dropped]

    def flush(self) -> None:
        """Build every pending entry now (the masker calls this before forgetting a secret).

        Entries are built outside the journal's lock (requests go on being recorded
        meanwhile), one builder at a time: a read that comes while another builds waits
        for it, so that it sees every entry recorded before it began.
        """
        with self._building:
            with self._lock:
                pending, self._pending = self._pending, []
            built: list[tuple[_Held, dict[str, Any]]] = []
            for held in pending:
                build = held.build
                if held.dropped or build is None:
                    continue
                try:
                    built.append((held, build(*held.args)))
                except Exception:  # noqa: BLE001 - a bug here must not fail the read or the delete
                    log.exception("a journal entry could not be built; it is left out")
                    held.build, held.args = None, ()
            with self._lock:
                for held, entry in built:
                    held.build, held.args = None, ()
                    if held.dropped:  # dropped meanwhile: its size is no longer counted
                        continue
                    held.entry = entry
                    size = entry_bytes(entry)
                    self._bytes += size - held.size
                    held.size = size
                self._evict_locked()

    def clear(self) -> None:
        """Forget every entry; ``seq`` starts again at 1."""
        with self._lock:
            for held in self._entries:
                held.dropped = True  # a flush under way leaves them be
            self._entries.clear()
            self._pending = []
            self._bytes = self._total = self._seq = 0

    def reset(self) -> None:
        """Empty, with the bounds it was made with (a ``PATCH /settings`` undone)."""
        with self._lock:
            self._size, self._max_bytes = self._configured
            for held in self._entries:
                held.dropped = True  # a flush under way leaves them be
            self._entries.clear()
            self._pending = []
            self._bytes = self._total = self._seq = 0

    def entries(self, *, path: str | None = None, status: int | None = None,
                since: float | None = None, method: str | None = None,
                carrier: str | None = None, after: int | None = None,
                limit: int | None = None) -> list[dict[str, Any]]:
        """Entries, oldest first, filtered (all filters combine).

        :param path: a glob on the path (``/api/*``); an exact path matches itself.
        :param status: the HTTP status (entries of connection faults have ``None``).
        :param since: only entries whose ``time`` (epoch seconds) is after this.
        :param method: the HTTP method, in any case.
        :param carrier: where the credential was (``header``, ``query``, ``form``,
            ``json``), or ``none`` for requests that carried none.
        :param after: only entries whose ``seq`` is above this (paging).
        :param limit: at most this many (the oldest that match).
        """
        wanted_method = method.upper() if method else None
        wanted_carrier = None if carrier is None else (None if carrier == "none" else carrier)
        self.flush()
        with self._lock:
            selected = [e for held in self._entries if (e := held.entry) is not None
                        if (path is None or fnmatch.fnmatchcase(e["path"], path))
                        and (status is None or e["status"] == status)
                        and (since is None or e["time"] > since)
                        and (wanted_method is None or e["method"].upper() == wanted_method)
                        and (carrier is None or e["carrier"] == wanted_carrier)
                        and (after is None or e["seq"] > after)]
        if limit is not None:  # a page: the oldest ``limit`` without sorting them all
            selected = heapq.nsmallest(max(limit, 0), selected, key=lambda e: e["seq"])
        else:
            selected.sort(key=lambda e: e["seq"])
        return [{**e, "headers": HeaderDict(e["headers"]), "faults": list(e.get("faults", ()))}
                for e in selected]


class JournalMiddleware:
    """Records every request but the control API's in a :class:`Journal`.

    Outermost of the mock's middlewares but the chunked-body reader: it reads a request
    body with a ``Content-Length`` (up to ``max_body``) once, into ``environ[BODY]``, and
    hands the rest of the app an in-memory copy.
    """

    def __init__(self, app: WSGIApplication, journal: Journal, max_body: int,
                 mask: MaskFunction = _no_mask, mask_many: MaskManyFunction | None = None) -> None:
        self.app, self.journal, self.max_body = app, journal, max_body
        self.mask = mask
        self.mask_many = mask_many or _one_by_one(mask)
        self._later = self._build_later  # one bound method for every pending entry

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "").startswith(CONTROL_PREFIX):
            return self.app(environ, start_response)
        _buffer_body(environ, self.max_body)
        when, started = time.time(), time.perf_counter()
        seen: dict[str, Any] = {"status": None, "content_type": "", "seq": self.journal.arrival()}

        def observe(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            seen["status"], seen["content_type"] = int(status.split(None, 1)[0]), ""
            for name, value in headers:
                if name.lower() == "content-type":
                    seen["content_type"] = value
                    break
            return start_response(status, headers, exc_info)

        try:
            result = self.app(environ, observe)
        except ConnectionFault:
            seen["status"] = None
            self._record(environ, when, started, seen, [])
            raise
        if environ.get(CONNECTION_APPLIED) == "dribble":  # streamed slowly: record at the end
            return _Recorded(result, lambda chunks: self._record(environ, when, started, seen, chunks))
        try:  # the mock's answers are small: record now, so lazy WSGI clients see the entry too
            chunks = list(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        self._record(environ, when, started, seen, chunks)
        return chunks

    def _record(self, environ: WSGIEnvironment, when: float, started: float,
                seen: dict[str, Any], chunks: list[bytes]) -> None:
        """Keep what the entry needs (bodies only when the key's logging keeps them);
        build it when the journal is read. A request that would leave more than
        :data:`_BUILD_NOW` bytes (large bodies or headers) is built now: its entry keeps
        at most each field's cap, so a few big requests do not push others out."""
        duration = time.perf_counter() - started
        principal = environ.get(PRINCIPAL)
        logging = principal.logging if principal is not None and principal.kind == "api-key" else "none"
        response = b"".join(chunks) if logging in ("response", "both") else b""
        body = environ.get(BODY) if logging in ("request", "both") else None
        status, response_type, seq = seen["status"], seen["content_type"], seen["seq"]
        mask, mask_many = self.mask, self.mask_many
        kept: dict[str, Any] = {name: value for name, value in environ.items() if value.__class__ is str}
        size = _HELD_OVERHEAD + 64 * len(kept) + sum(map(len, kept.values())) + len(response) + len(body or b"")
        if size > _BUILD_NOW:
            entry = build_entry(environ, when=when, duration=duration, status=status, response_type=response_type,
                                response=response, mask=mask, mask_many=mask_many)
            entry["seq"] = seq
            self.journal.record(entry)
            return
        credential = credential_from_environ(environ)  # found now, while the whole body is at hand
        # what is kept is plain values only (no objects), so the garbage collector soon
        # stops looking at a pending entry: the credential and principal as tuples
        kept[CREDENTIAL] = _credential_fields(credential) if credential is not None else None
        if principal is not None:
            kept[PRINCIPAL] = _principal_fields(principal)
        for name in _KEPT:
            if name in environ:
                value = environ[name]
                kept[name] = tuple(value) if value.__class__ is list else value
        kept[BODY] = body
        self.journal.record_later(self._later, (kept, when, duration, status, response_type, response, seq),
                                  size)

    def _build_later(self, kept: dict[str, Any], when: float, duration: float, status: int | None,
                     response_type: str, response: bytes, seq: int) -> dict[str, Any]:
        """A pending entry, built (what :meth:`Journal.record_later` calls)."""
        environ: dict[str, Any] = dict(kept)
        carried = environ[CREDENTIAL]
        environ[CREDENTIAL] = Credential(*carried) if carried is not None else None
        if PRINCIPAL in environ:
            environ[PRINCIPAL] = Principal(*environ[PRINCIPAL])
        entry = build_entry(environ, when=when, duration=duration, status=status, response_type=response_type,
                            response=response, mask=self.mask, mask_many=self.mask_many)
        entry["seq"] = seq
        return entry


#: A request that would leave more than this (bytes of text and bodies) has its entry
#: built at once.
_BUILD_NOW = 4 * BODY_CAP
#: What a pending entry counts beyond the texts it keeps (the dict, the argument tuple).
_HELD_OVERHEAD = 1024
#: A credential's and a principal's fields, in order, as a tuple (what rebuilds them).
_credential_fields = operator.attrgetter(*(f.name for f in dataclasses.fields(Credential)))
_principal_fields = operator.attrgetter(*(f.name for f in dataclasses.fields(Principal)))
#: The other non-text environ values an entry is built from (beside the credential and
#: the principal).
_KEPT = (APPLIED, DELAY_MS, CONNECTION_APPLIED)


class _Recorded:
    """The app's answer, passed through; records the entry once, when it ends."""

    def __init__(self, inner: Iterable[bytes], done: Callable[[list[bytes]], None]) -> None:
        self.inner, self.done = inner, done
        self.chunks: list[bytes] = []
        self.kept = 0
        self.finished = False

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.inner:
            if self.kept <= BODY_CAP * 4:
                self.chunks.append(chunk)
                self.kept += len(chunk)
            yield chunk
        self._finish()

    def _finish(self) -> None:
        if not self.finished:
            self.finished = True
            self.done(self.chunks)

    def close(self) -> None:
        try:
            close = getattr(self.inner, "close", None)
            if close is not None:
                close()
        finally:
            self._finish()


def _buffer_body(environ: WSGIEnvironment, limit: int) -> None:
    """Read a ``Content-Length`` body once into ``environ[BODY]``; leave the rest alone.

    A chunked body (``wsgi.input_terminated``: the chunked-body reader did not take it,
    e.g. it came with a Content-Length too), a body over ``limit`` (413) and a bad length
    are left to the app as they are (``BODY`` is ``None``). A stream that breaks midway
    leaves the app the part that arrived.
    """
    if BODY in environ:
        return
    raw = environ.get("CONTENT_LENGTH") or ""
    environ[BODY] = None
    if environ.get("wsgi.input_terminated"):
        return
    try:
        length = int(raw) if raw.strip() else 0
    except ValueError:
        return
    if length <= 0:
        environ[BODY] = b"" if length == 0 else None
        return
    if length > limit:
        return  # the app answers 413 without reading it
    stream = environ["wsgi.input"]
    parts, size = [], 0
    try:
        while size < length:
            part = stream.read(length - size)
            if not part:
                break
            parts.append(part)
            size += len(part)
    except ConnectionError:
        raise
    except (OSError, ValueError):
        pass  # a broken stream: the app gets what arrived
    body = b"".join(parts)
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    environ[BODY] = body


def _headers(environ: WSGIEnvironment) -> list[tuple[str, str]]:
    pairs = []
    for name, value in environ.items():
        if name.startswith("HTTP_"):
            pairs.append((name[5:].replace("_", "-").title(), wsgi_text(str(value))))
        elif name in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
            pairs.append((name.replace("_", "-").title(), str(value)))
    return pairs


def render_body(data: bytes, content_type: str, secrets: list[str],
                mask: MaskFunction = _no_mask) -> str:
    """A body as journal text: JSON with secret properties masked, forms with ``key``
    masked, every known secret masked (whole, in any encoding), then cut to at most
    :data:`BODY_CAP` characters."""
    mimetype = content_type.split(";", 1)[0].strip().lower()
    text: str | None = None
    if mimetype != "application/x-www-form-urlencoded":  # create reads JSON under any other type
        try:
            text = json.dumps(mask_json(json.loads(data.decode("utf-8-sig"))), ensure_ascii=False)
        except (ValueError, UnicodeDecodeError, RecursionError):
            text = None
    if text is None:
        text = data.decode("utf-8", "replace")
        if mimetype == "application/x-www-form-urlencoded":
            text = mask_query(text)
    text = mask(mask_text(text, secrets), BODY_CAP)
    if len(text) > BODY_CAP:
        text = text[:BODY_CAP] + f"... ({len(data)} bytes in all)"
    return text


def _query_text(query: str, secrets: list[str]) -> str:
    """The query string, decoded for reading, secret values masked by name and value
    (the masker's pass and the cut come after)."""
    pairs = parse_qsl(query, keep_blank_values=True)
    text = "&".join(f"{name}={MASK if name.lower() in SECRET_NAMES else value}" for name, value in pairs)
    return mask_text(text, secrets)


def _shown(masked: str, original: str, cap: int) -> str:
    """A masked text cut to ``cap`` characters (saying how long it was), as :func:`_cap`."""
    return masked if len(masked) <= cap else masked[:cap] + f"... ({len(original)} characters in all)"


#: Headers are masked this many at a time (with the method, path and query in the first
#: batch): a request's usual headers cost one pass of the masker, and once the headers'
#: budget is spent the rest are dropped unread.
_HEADER_BATCH = 32


def build_entry(environ: WSGIEnvironment, *, when: float, duration: float, status: int | None,
                response_type: str, response: bytes,
                mask: MaskFunction = _no_mask,
                mask_many: MaskManyFunction | None = None) -> dict[str, Any]:
    """One journal entry for a finished request: every secret masked, whole, first; then
    each field cut to its cap (path, query, headers, bodies)."""
    many = mask_many or _one_by_one(mask)
    credential = credential_from_environ(environ)
    principal = environ.get(PRINCIPAL)
    secrets = [s for s in (credential.value if credential else None, environ.get(CREATED_KEY)) if s]
    method = environ.get("REQUEST_METHOD", "")
    path = mask_text(wsgi_text(environ.get("PATH_INFO", "")), secrets)
    query = _query_text(wsgi_text(environ.get("QUERY_STRING", "")), secrets)
    pairs = list(mask_headers(_headers(environ)).items())
    headers = HeaderDict()
    budget, dropped = HEADERS_CAP, 0
    first: list[str] = []
    for at in range(0, max(len(pairs), 1), _HEADER_BATCH):
        batch = pairs[at:at + _HEADER_BATCH]
        if budget <= 0:  # dropped unread: a flood of headers costs no masking
            dropped += len(batch)
            continue
        values = [mask_text(value, secrets) for _, value in batch]
        items: list[tuple[str, int | None]] = [(v, HEADER_CAP) for v in values]
        items += [(name, 256) for name, _ in batch]
        if at == 0:
            items += [(method, 32), (path, URL_CAP), (query, URL_CAP)]
        masked = many(items)
        if at == 0:
            first = masked[-3:]
        names, shown_values = masked[len(batch):2 * len(batch)], masked[:len(batch)]
        if len(pairs) <= _HEADER_BATCH and all(len(v) <= HEADER_CAP for v in shown_values) \
                and all(len(n) <= 256 for n in names) \
                and sum(map(len, names)) + sum(map(len, shown_values)) <= budget:
            headers.update(zip(names, shown_values))  # the usual request: nothing to cut
            break
        for i, (name, _) in enumerate(batch):
            if budget <= 0:
                dropped += 1
                continue
            shown = _shown(masked[i], values[i], HEADER_CAP)
            shown = shown[:max(budget - len(name), 0)]
            budget -= len(name) + len(shown)
            headers[masked[len(batch) + i][:256]] = shown
    logging = principal.logging if principal is not None and principal.kind == "api-key" else "none"
    request_body = response_body = None
    if logging in ("request", "both"):
        body = environ.get(BODY)
        request_body = None if body is None else render_body(
            body, environ.get("CONTENT_TYPE", ""), secrets, mask)
    if logging in ("response", "both") and status is not None:
        response_body = render_body(response, response_type, secrets, mask)
    entry = {
        "seq": 0,
        "time": when,
        "method": _shown(first[0], method, 32),
        "path": _shown(first[1], path, URL_CAP),
        "query": _shown(first[2], query, URL_CAP),
        "headers": headers,
        "carrier": credential.carrier if credential else None,
        "principal": principal.describe() if principal is not None else None,
        "status": status,
        "duration_ms": round(duration * 1000, 3),
        "faults": list(environ.get(APPLIED, ())),
        "delay_ms": environ.get(DELAY_MS),
        "connection": environ.get(CONNECTION_APPLIED),
        "logging": logging,
        "request_body": request_body,
        "response_body": response_body,
    }
    if dropped:
        entry["headers_dropped"] = dropped
    return entry
