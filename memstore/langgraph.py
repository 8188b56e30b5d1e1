"""LangGraph long-term memory stores on memstore's engines.

Install with ``pip install 'memstore-trie[langgraph]'`` (the extra adds
``langgraph-checkpoint`` and ``orjson``; the rest of memstore never imports
them).  Two classes, one implementation of LangGraph's ``BaseStore``
semantics over the :class:`memstore.PrefixStore` protocol:

* :class:`InMemoryStore` on a :class:`memstore.TrieStore`; changing
  ``from langgraph.store.memory import InMemoryStore`` to
  ``from memstore.langgraph import InMemoryStore`` is the migration;
* :class:`RedisStore` on :class:`memstore.redis.RedisStore`, shared by every
  process that opens the same Redis namespace.

Key layout
----------
An item ``(namespace, key)`` is stored under the engine key made of every
label followed by NUL, then one more NUL, then the item's key::

    ("users", "u1", "memories"), "k1"  ->  "users\\0u1\\0memories\\0\\0k1"

LangGraph already forbids NUL (and ``.``) in labels and labels are never
empty, so the first ``"\\0\\0"`` ends the namespace: the encoding is
unambiguous whatever the item key holds.  A namespace prefix is a key
prefix that ends on a label boundary, so ``("acme",)`` never matches
``("acme-corp",)``.  NUL is the smallest code point, which makes the engine's
key order the order of LangGraph's namespace tuples (a namespace's own items
come before its sub-namespaces), and listing the namespaces under a prefix
is a delimiter listing with ``"\\0"``: one entry per child label, however
many items sit below it.

Values
------
Each engine value is bytes: a header, then the value as orjson-encoded
JSON (decoded with msgspec where installed: the same objects, faster).
The header starts with ``created_at`` as the 10 bytes of the pickled state
of a UTC ``datetime`` (big-endian year in 2 bytes, then month, day, hour,
minute, second, and microseconds in 3 bytes), which ``datetime(state,
timezone.utc)`` turns back into the datetime in one C call.  If byte 10 is
``{`` the JSON starts there: an item written once without a ttl pays 10
bytes.  Otherwise byte 10 holds flags (1: ``updated_at`` follows, as
another 10-byte state, when it differs from ``created_at``; 2: the ttl in
minutes the item was written with follows, as a little-endian double),
then those fields in that order, then the JSON: 39 bytes at most.  Storing
bytes isolates the store from callers (mutating a dict after ``put``, or an
item returned by ``get``, changes nothing stored), is the same code on both
engines, and was measured the fastest way to get an independent copy: an
orjson round trip of a small memory dict takes 1.4 µs, against 2.8 µs for
pickle, 6.5 µs for ``copy.deepcopy`` and 8.4 µs for the ``json`` module.
Values must therefore be JSON documents, as in LangGraph's SQLite and
Postgres stores: tuples come back as lists; a value orjson cannot encode
raises ``TypeError`` and the batch writes nothing.

Order
-----
``search`` returns items in key order: by namespace (as tuples compare),
then by key.  ``list_namespaces`` is sorted, like every LangGraph backend.

Expiry and vectors
------------------
``ttl`` (minutes) is the engine's own expiry, so an expired item is never
returned; reads renew it with the engine's ``expire``.  With an ``index``,
an item's vectors (unit float32 rows, one per embedded text) live in a
second engine under the item's own key, so a namespace prefix selects the
same items in both and a semantic search reads and scores only the
prefix's rows.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import math
import numbers
import os
import struct
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime, timezone
from itertools import chain, islice
from typing import Any, Literal, NamedTuple, cast

try:
    import orjson
    from langgraph.store.base import (
        NOT_PROVIDED,
        BaseStore,
        GetOp,
        IndexConfig,
        InvalidNamespaceError,
        Item,
        ListNamespacesOp,
        MatchCondition,
        NotProvided,
        Op,
        PutOp,
        Result,
        SearchItem,
        SearchOp,
        TTLConfig,
    )
    from langgraph.store.base.embed import (
        ensure_embeddings,
        get_text_at_path,
        tokenize_path,
    )
except ImportError as exc:  # pragma: no cover - exercised in a subprocess test
    raise ImportError(
        "memstore.langgraph needs langgraph-checkpoint and orjson; install them with "
        "pip install 'memstore-trie[langgraph]'"
    ) from exc

from memstore import PrefixStore, TrieStore
from memstore._core import _RecordReader

try:
    # msgspec's JSON decoder, where installed (the extra installs it): the
    # same Python objects as orjson.loads from the JSON orjson wrote,
    # measured 30-40% faster on one small value, as fast on a page.
    from msgspec.json import Decoder as _JSONDecoder
except ImportError:  # pragma: no cover - the extra installs msgspec
    _loads = orjson.loads
else:
    _loads = _JSONDecoder().decode

__all__ = ["InMemoryStore", "PrefixStoreBackedStore", "RedisStore", "TTLConfig"]

# Ends every label; doubled, it ends the namespace (see the module docstring).
_SEP = "\x00"
_END_OF_NAMESPACE = _SEP + _SEP

# The record (see "Values" in the module docstring) starts with created_at
# as the 10 bytes of a UTC datetime's pickled state (year, month, day, hour,
# minute, second, µs): ``datetime(state, UTC)`` rebuilds it in one C call,
# 0.16 µs where the epoch plus a timedelta of µs took 0.7.  The value's JSON
# (always an object, so it starts with "{") follows at once, unless byte 10
# is a flags byte saying which fields come first, in this order: updated_at
# (another 10-byte state; absent when equal to created_at) and the ttl in
# minutes the item was written with (a little-endian double; absent when
# none), kept so a read can renew the same lifetime.  An item written once
# without a ttl, the common case, pays 10 bytes of header.
_STATE = 10
_JSON_START = 0x7B  # "{": no flags byte
_HAS_UPDATED = 1
_HAS_TTL = 2
_TTL = struct.Struct("<d")
_UTC = timezone.utc
# datetime's constructor from a pickled state, ``_from_state(state, _UTC)``
# (the type stubs know only its (year, month, day, ...) form).
_from_state = cast(Callable[[bytes, timezone], datetime], datetime)

_OPERATORS = frozenset({"$eq", "$ne", "$gt", "$gte", "$lt", "$lte"})


def _type_name(o: object) -> str:
    return type(o).__name__


# ------------------------------------------------------------ validation


def _check_labels(labels: object, what: str) -> tuple[str, ...]:
    """``labels`` as a tuple, after LangGraph's label rules (str, non-empty,
    no ``.``, no NUL); the encoding depends on them, so every op is checked,
    ``batch()`` included."""
    if not isinstance(labels, tuple):
        if isinstance(labels, (str, bytes)) or not isinstance(labels, Iterable):
            raise InvalidNamespaceError(
                f"{what} must be a tuple of str labels, not {_type_name(labels)}"
            )
        labels = tuple(labels)
    for label in labels:
        if type(label) is str and len(label) and "." not in label and _SEP not in label:
            continue  # the usual case, checked in one line
        if not isinstance(label, str):
            raise InvalidNamespaceError(
                f"{what} {labels!r}: labels must be str, not {_type_name(label)}"
            )
        if len(label) == 0:
            raise InvalidNamespaceError(f"{what} {labels!r}: labels cannot be empty")
        if "." in label:
            raise InvalidNamespaceError(
                f"{what} {labels!r}: label {label!r} contains a period ('.')"
            )
        if _SEP in label:
            raise InvalidNamespaceError(
                f"{what} {labels!r}: label {label!r} contains a NUL character"
            )
    return labels


# Namespaces already checked, each mapped to (the checked tuple, the head of
# its engine keys): get() and put() take one dict lookup instead of the
# checks and the join, measured at a fifth of a get.  A hit hands back the
# tuple that was checked (equal to the caller's), so what is used is always
# a checked tuple of str labels.  Bounded: cleared when full, as agents use
# few namespaces at a time.
_CHECKED: dict[tuple[str, ...], tuple[tuple[str, ...], str]] = {}
_CHECKED_MAX = 1024


def _namespace_head(labels: object, what: str) -> tuple[tuple[str, ...], str]:
    """``labels`` checked as :func:`_check_labels` does, and the head of
    its items' engine keys (the labels joined, then the namespace's end).  The
    usual case is checked on the joined text, a few C-level scans instead
    of a Python loop over the labels: a label holding NUL adds a separator
    to the count, one holding ``.`` shows in the text, a non-str one fails
    the join.  Remembered in ``_CHECKED``."""
    if type(labels) is tuple:
        try:
            joined = _SEP.join(labels)
        except TypeError:
            pass  # a label is not a str: _check_labels says which
        else:
            # Compared with "" only once every label is known to be a str,
            # whose == cannot raise.
            if (
                "." not in joined
                and joined.count(_SEP) == len(labels) - 1
                and "" not in labels
            ):
                if len(_CHECKED) >= _CHECKED_MAX:
                    _CHECKED.clear()
                found = _CHECKED[labels] = (labels, joined + _END_OF_NAMESPACE)
                return found
    checked = _check_labels(labels, what)  # raises, or labels was a list
    return checked, _SEP.join(checked) + _END_OF_NAMESPACE


def _check_index(index: object) -> None:
    if index is not None and index is not False and not isinstance(index, list):
        raise TypeError(
            f"index must be None, False or a list of field paths, "
            f"not {_type_name(index)}"
        )


def _check_key(key: object) -> str:
    if not isinstance(key, str):
        raise TypeError(f"key must be str, not {_type_name(key)}")
    return key


def _check_count(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{what} must be an int, not {_type_name(value)}")
    count = int(value)
    if count < 0:
        raise ValueError(f"{what} must be >= 0, not {count}")
    return count


def _check_ttl_minutes(ttl: object, what: str) -> float | None:
    if ttl is None:
        return None
    if isinstance(ttl, bool) or not isinstance(ttl, numbers.Real):
        raise TypeError(
            f"{what} must be a number of minutes or None, not {_type_name(ttl)}"
        )
    minutes = float(ttl)
    if not math.isfinite(minutes) or minutes <= 0:
        raise ValueError(f"{what} must be a positive number of minutes, not {ttl!r}")
    return minutes


def _check_filter(spec: object) -> None:
    """Refuses a filter the matcher could not apply, before any op runs."""
    if not isinstance(spec, Mapping):
        raise TypeError(f"filter must be a dict, not {_type_name(spec)}")
    for field, wanted in spec.items():
        if not isinstance(field, str):
            raise TypeError(f"filter field names must be str, not {_type_name(field)}")
        if isinstance(wanted, Mapping):
            operators = [k for k in wanted if isinstance(k, str) and k.startswith("$")]
            if operators and len(operators) != len(wanted):
                raise ValueError(
                    f"filter on {field!r} mixes operators and fields: {dict(wanted)!r}"
                )
            for name in operators:
                if name not in _OPERATORS:
                    raise ValueError(
                        f"unsupported filter operator {name!r} on {field!r}; "
                        f"use one of {sorted(_OPERATORS)}"
                    )
            if not operators:
                _check_filter(wanted)


# ---------------------------------------------------------------- filters


def _equal(actual: Any, wanted: Any) -> bool:
    """JSON equality; a nested dict in the filter matches the fields it
    names (the stored dict may hold more), a list matches element-wise."""
    if isinstance(wanted, Mapping):
        return isinstance(actual, dict) and _matches(actual, wanted)
    if isinstance(wanted, (list, tuple)):
        return (
            isinstance(actual, list)
            and len(actual) == len(wanted)
            and all(_equal(a, w) for a, w in zip(actual, wanted))
        )
    return bool(actual == wanted)


def _ordered(actual: Any, wanted: Any) -> bool:
    """Whether ``$gt`` and friends can compare the two: numbers with
    numbers, strings with strings (JSON has no other order)."""

    def number(v: Any) -> bool:
        return isinstance(v, (int, float)) and not isinstance(v, bool)

    return (number(actual) and number(wanted)) or (
        isinstance(actual, str) and isinstance(wanted, str)
    )


def _operator_holds(actual: Any, name: str, operand: Any) -> bool:
    if name == "$eq":
        return _equal(actual, operand)
    if name == "$ne":
        return not _equal(actual, operand)
    # A missing field, or one of another type, never satisfies an order.
    if not _ordered(actual, operand):
        return False
    if name == "$gt":
        return bool(actual > operand)
    if name == "$gte":
        return bool(actual >= operand)
    if name == "$lt":
        return bool(actual < operand)
    return bool(actual <= operand)  # "$lte"; _check_filter refused the rest


_ABSENT: Any = object()


def _field(value: Mapping[str, Any], name: str) -> Any:
    """The field ``name`` of a stored value: the top-level key if there is
    one (LangGraph's InMemoryStore), else a dotted path into nested dicts
    (``"user.age"``, as the SQLite and Postgres stores read filter keys)."""
    found = value.get(name, _ABSENT)
    if found is not _ABSENT or "." not in name:
        return None if found is _ABSENT else found
    node: Any = value
    for part in name.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def _matches(value: Mapping[str, Any], spec: Mapping[str, Any]) -> bool:
    for field, wanted in spec.items():
        actual = _field(value, field)
        if (
            isinstance(wanted, Mapping)
            and wanted
            and all(isinstance(k, str) and k.startswith("$") for k in wanted)
        ):
            if not all(_operator_holds(actual, n, o) for n, o in wanted.items()):
                return False
        elif not _equal(actual, wanted):
            return False
    return True


def _condition_holds(condition: MatchCondition, namespace: tuple[str, ...]) -> bool:
    path = condition.path
    if len(namespace) < len(path):
        return False
    part = (
        namespace[: len(path)]
        if condition.match_type == "prefix"
        else (namespace[len(namespace) - len(path) :])
    )
    return all(p == "*" or p == label for p, label in zip(path, part))


def _prefix_allows(
    conditions: tuple[MatchCondition, ...], labels: tuple[str, ...]
) -> bool:
    """Whether a namespace starting with ``labels`` can still satisfy every
    prefix condition (suffixes are checked on whole namespaces)."""
    depth = len(labels)
    for c in conditions:
        if c.match_type == "prefix":
            for p, label in zip(c.path[:depth], labels):
                if p != "*" and p != label:
                    return False
    return True


# ------------------------------------------------------------- encoding


def _namespace_prefix(labels: tuple[str, ...]) -> str:
    # One join, not a concatenation per label: every key is built here.
    return _SEP.join(labels) + _SEP if labels else ""


def _item_key(namespace: tuple[str, ...], key: str) -> str:
    return _namespace_prefix(namespace) + _SEP + key


def _now_state() -> bytes:
    """The current time as a datetime state (see ``_STATE``)."""
    return cast(bytes, datetime.now(_UTC).__reduce__()[1][0])


def _record(created: bytes, updated: bytes, ttl_minutes: float, body: bytes) -> bytes:
    """The engine value: the header, then the value's JSON."""
    if created == updated:
        if not ttl_minutes:
            return created + body
        return b"".join((created, b"\x02", _TTL.pack(ttl_minutes), body))
    if not ttl_minutes:
        return b"".join((created, b"\x01", updated, body))
    return b"".join((created, b"\x03", updated, _TTL.pack(ttl_minutes), body))


def _header(raw: bytes) -> tuple[bytes, bytes, float, int]:
    """``(created, updated, ttl_minutes, body_start)`` of a record, the
    times as datetime states."""
    created = raw[:_STATE]
    flags = raw[_STATE]
    if flags == _JSON_START:  # the common case
        return created, created, 0.0, _STATE
    start = _STATE + 1
    updated = created
    if flags & _HAS_UPDATED:
        updated = raw[start : start + _STATE]
        start += _STATE
    ttl = 0.0
    if flags & _HAS_TTL:
        ttl = _TTL.unpack_from(raw, start)[0]
        start += _TTL.size
    return created, updated, ttl, start


def _body(raw: bytes) -> bytes:
    """The value's JSON in a record."""
    return raw[_STATE:] if raw[_STATE] == _JSON_START else raw[_header(raw)[3] :]


# Items are built without their __init__, which re-checks what is known here
# (the namespace is already a tuple, the times are datetimes): measured at a
# third of the cost, and an Item is made for every item a read returns.
_new = object.__new__

# A record (its header and JSON) to an Item in one C call (memstore._core):
# the whole of a get's own work, 1.35 -> 1.10 µs per get against the same
# steps (slices, decode, datetime, object.__new__, five attribute writes)
# from Python.  Every call decodes afresh, so each Item's value is its own.
_read_item = _RecordReader(_loads, Item).item


def _encode_value(value: object) -> bytes:
    if not isinstance(value, Mapping):
        raise TypeError(
            f"value must be a dict (or None to delete), not {_type_name(value)}"
        )
    try:
        return orjson.dumps(value if isinstance(value, dict) else dict(value))
    except TypeError as exc:  # orjson.JSONEncodeError is a TypeError
        raise TypeError(f"value is not JSON-serializable: {exc}") from None


# ----------------------------------------------------------- the index


class _Embedded(NamedTuple):
    """A batch's embeddings, as unit float32 rows: by text for puts, by
    query for searches."""

    texts: dict[str, Any]
    queries: dict[str, Any]


_NOTHING_EMBEDDED = _Embedded({}, {})


class _Index:
    """An ``IndexConfig``, checked: which fields of a value are embedded,
    and the vectors kept for an item (its texts' unit vectors, one float32
    row each, so a cosine similarity is one dot product)."""

    def __init__(self, config: object) -> None:
        if not isinstance(config, Mapping):
            raise TypeError(
                f"index must be an IndexConfig dict, not {_type_name(config)}"
            )
        dims = config.get("dims")
        if isinstance(dims, bool) or not isinstance(dims, int) or dims < 1:
            raise ValueError(f"index['dims'] must be an int >= 1, not {dims!r}")
        if config.get("embed") is None:
            raise ValueError(
                "index['embed'] is required: an Embeddings, a function of "
                "a list of texts, or a 'provider:model' string"
            )
        fields = config.get("fields") or ["$"]
        if isinstance(fields, str) or not all(isinstance(f, str) for f in fields):
            raise TypeError(
                f"index['fields'] must be a list of str paths, not {fields!r}"
            )
        try:
            import numpy
        except ImportError as exc:
            raise ImportError(
                "semantic search in memstore.langgraph needs numpy; pip install numpy"
            ) from exc
        self.np = numpy
        self.config: IndexConfig = dict(config)  # type: ignore[assignment]
        self.dims = dims
        self.embeddings = ensure_embeddings(config["embed"])
        self.fields = _tokenized(fields)

    def texts_of(self, op: PutOp) -> list[str]:
        """The texts of ``op``'s value its index (or the config's fields)
        selects; none for ``index=False``."""
        if op.index is False:
            return []
        paths = self.fields if op.index is None else _tokenized(op.index)
        return [
            text for _, tokens in paths for text in get_text_at_path(op.value, tokens)
        ]

    def unit_rows(self, vectors: list[Any], what: str) -> Any:
        np = self.np
        matrix = np.asarray(vectors, dtype=np.float32)
        if matrix.ndim != 2 or matrix.shape[1] != self.dims:
            raise ValueError(
                f"the embedder returned {what} of shape {matrix.shape}, not "
                f"(n, {self.dims}) as index['dims'] says"
            )
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        norms[norms == 0] = 1.0  # a zero vector scores 0, not NaN
        return matrix / norms

    def embedded(
        self,
        texts: list[str],
        documents: list[Any],
        queries: list[str],
        query_vectors: list[Any],
    ) -> _Embedded:
        if len(documents) != len(texts):
            raise ValueError(
                f"the embedder returned {len(documents)} vectors for {len(texts)} texts"
            )
        rows = self.unit_rows(documents, "document vectors") if texts else []
        query_rows = self.unit_rows(query_vectors, "query vectors") if queries else []
        return _Embedded(dict(zip(texts, rows)), dict(zip(queries, query_rows)))

    def matrix_of(self, op: PutOp, embedded: _Embedded) -> bytes | None:
        """The float32 rows stored for ``op``'s item, or None if it has no
        text to index."""
        texts = self.texts_of(op)
        if not texts:
            return None
        matrix: bytes = self.np.stack([embedded.texts[t] for t in texts]).tobytes()
        return matrix

    def ranked(
        self, stored: Iterable[tuple[str, bytes]], query: Any
    ) -> tuple[list[str], list[float]]:
        """The keys of the stored items by descending best cosine similarity
        of their vectors to ``query`` (ties in key order), and their scores:
        one matrix product over the rows of the items given, no others.
        Per item, only C-level steps (no numpy scalar handled in Python):
        measured 4x faster than a Python loop over the ranking."""
        np = self.np
        pairs = list(stored)
        if not pairs:
            return [], []
        keys, blobs = zip(*pairs)
        rows = np.fromiter(map(len, blobs), dtype=np.intp, count=len(blobs))
        rows //= 4 * self.dims
        matrix = np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(-1, self.dims)
        starts = np.zeros(len(blobs), dtype=np.intp)
        np.cumsum(rows[:-1], out=starts[1:])
        scores = np.maximum.reduceat(matrix @ query, starts)
        order = np.argsort(-scores, kind="stable")
        ranked_scores: list[float] = scores[order].tolist()
        return [keys[j] for j in order.tolist()], ranked_scores


def _tokenized(paths: Iterable[str]) -> list[tuple[str, Any]]:
    return [(p, p if p == "$" else tokenize_path(p)) for p in paths]


# ------------------------------------------------------------ the store


class PrefixStoreBackedStore(BaseStore):
    """LangGraph's ``BaseStore`` over any :class:`memstore.PrefixStore`
    engine that offers the expiry and delimiter listing of memstore's
    engines.  Use :class:`InMemoryStore` or :class:`RedisStore`; this class
    holds their shared implementation.

    Batches: every op is checked first (namespaces, keys, values, filters,
    limits), so a bad op anywhere raises before anything is read or
    written.  Then, as LangGraph's own stores do, reads (``GetOp``,
    ``SearchOp``, ``ListNamespacesOp``) see the store as it was before the
    batch, and the batch's writes are applied after them, the last
    ``PutOp`` of a key winning.
    """

    supports_ttl = True

    def __init__(
        self,
        engine: PrefixStore[bytes],
        *,
        index: IndexConfig | None = None,
        ttl: TTLConfig | None = None,
        vector_engine: PrefixStore[bytes] | None = None,
    ) -> None:
        self._engine: Any = engine
        self.ttl_config = _check_ttl_config(ttl)
        self._index = None if index is None else _Index(index)
        self.index_config = None if self._index is None else self._index.config
        self.embeddings = None if self._index is None else self._index.embeddings
        # Each item's vectors, under the item's own engine key: a namespace
        # prefix selects the same items in both engines.
        self._vectors: Any = vector_engine
        if self._index is not None and vector_engine is None:
            raise ValueError("an index needs a vector_engine")
        # Serializes this object's read-modify-write of created_at; other
        # processes sharing a Redis engine may still race on it.
        self._lock = threading.RLock()
        self._sweeper: threading.Thread | None = None
        self._sweeper_done: concurrent.futures.Future[None] = (
            concurrent.futures.Future()
        )
        self._sweeper_stop = threading.Event()

    # ------------------------------------------------------------ batch

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        """Runs ``ops``; results in op order (``Item | None`` for a get,
        ``list[SearchItem]`` for a search, ``list[tuple]`` for a namespace
        listing, ``None`` for a put).  Cost: one engine mget for the gets,
        one per search page, one walk per namespace listing, one mget and
        one mset/mdelete for the writes."""
        checked, bodies = _check_ops(ops)
        embedded = _NOTHING_EMBEDDED if self._index is None else self._embed(checked)
        with self._lock:
            return self._run(checked, bodies, embedded)

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        """Async :meth:`batch`.  In memory it runs on the calling loop (the
        engine answers in microseconds); on Redis in a worker thread, so the
        loop is free while the server answers."""
        checked, bodies = _check_ops(ops)
        embedded = (
            _NOTHING_EMBEDDED if self._index is None else await self._aembed(checked)
        )
        if isinstance(self._engine, TrieStore):
            with self._lock:
                return self._run(checked, bodies, embedded)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            None, self._locked_run, checked, bodies, embedded
        )

    def _locked_run(
        self, checked: list[Op], bodies: dict[int, bytes], embedded: _Embedded
    ) -> list[Result]:
        with self._lock:
            return self._run(checked, bodies, embedded)

    # -------------------------------------------------------- embedding

    def _texts(self, ops: list[Op]) -> tuple[list[str], list[str]]:
        """The distinct texts the batch's puts index, and its distinct
        search queries (both empty without an index)."""
        if self._index is None:
            return [], []
        texts: dict[str, None] = {}
        queries: dict[str, None] = {}
        for op in ops:
            if isinstance(op, PutOp) and op.value is not None:
                texts.update(dict.fromkeys(self._index.texts_of(op)))
            elif isinstance(op, SearchOp) and op.query:
                queries[op.query] = None
        return list(texts), list(queries)

    def _embed(self, ops: list[Op]) -> _Embedded:
        """Embeds before anything is written, so an embedder that fails
        leaves the store unchanged.  One embed_documents call per batch."""
        texts, queries = self._texts(ops)
        if self._index is None:
            return _Embedded({}, {})
        embeddings = self._index.embeddings
        documents = embeddings.embed_documents(texts) if texts else []
        return self._index.embedded(
            texts, documents, queries, [embeddings.embed_query(q) for q in queries]
        )

    async def _aembed(self, ops: list[Op]) -> _Embedded:
        texts, queries = self._texts(ops)
        if self._index is None:
            return _Embedded({}, {})
        embeddings = self._index.embeddings
        documents = await embeddings.aembed_documents(texts) if texts else []
        query_vectors = await asyncio.gather(
            *(embeddings.aembed_query(q) for q in queries)
        )
        return self._index.embedded(texts, documents, queries, list(query_vectors))

    def _run(
        self, ops: list[Op], bodies: dict[int, bytes], embedded: _Embedded
    ) -> list[Result]:
        results: list[Result] = [None] * len(ops)
        to_refresh: dict[str, float] = {}
        gets: list[int] = []
        # The last put of a key wins, as in LangGraph's stores.
        writes: dict[tuple[tuple[str, ...], str], int] = {}
        for i, op in enumerate(ops):
            kind = type(op)
            if kind is GetOp:
                gets.append(i)
            elif kind is PutOp:
                put = cast(PutOp, op)  # `type() is` is faster than isinstance
                writes[(put.namespace, put.key)] = i
            elif kind is SearchOp:
                results[i] = self._search(cast(SearchOp, op), to_refresh, embedded)
            else:
                results[i] = self._list_namespaces(cast(ListNamespacesOp, op))
        if gets:
            self._get(ops, gets, results, to_refresh)
        if to_refresh:
            self._refresh(to_refresh)
        if writes:
            self._write(
                [(cast(PutOp, ops[i]), bodies.get(i)) for i in writes.values()],
                embedded,
            )
        return results

    def _get(
        self,
        ops: list[Op],
        gets: list[int],
        results: list[Result],
        to_refresh: dict[str, float],
    ) -> None:
        get_ops = [cast(GetOp, ops[i]) for i in gets]
        stored = [_item_key(op.namespace, op.key) for op in get_ops]
        # One key (what get() sends) skips building a batch in the engine.
        found = (
            [self._engine.get(stored[0])]
            if len(stored) == 1
            else self._engine.mget(stored)
        )
        for i, op, engine_key, raw in zip(gets, get_ops, stored, found):
            if raw is None:
                continue
            results[i] = _read_item(raw, op.key, op.namespace)
            flags = raw[_STATE]
            if op.refresh_ttl and flags != _JSON_START and flags & _HAS_TTL:
                to_refresh[engine_key] = _header(raw)[2]

    # ------------------------------------------------- single-item paths

    def get(
        self, namespace: tuple[str, ...], key: str, *, refresh_ttl: bool | None = None
    ) -> Item | None:
        """The item, or ``None``; renews its lifetime unless ``refresh_ttl``
        is False (default: the TTL config's ``refresh_on_read``, else True).
        The same checks and answer as ``batch([GetOp(...)])``, without
        building a batch: one engine read, O(key length) in memory."""
        # .get, not [namespace]: a namespace not seen yet raising KeyError
        # cost more than checking it (1.3 -> 2.1 µs), paid on every get
        # once more namespaces are in use than _CHECKED keeps.
        try:
            found = _CHECKED.get(namespace)
        except Exception:  # unhashable, or a label's hash raised
            found = None
        labels, head = found or _namespace_head(namespace, "namespace")
        if type(key) is not str:
            key = str(key)
        # (an empty namespace gives a key no put can write: found as None)
        engine_key = head + key
        raw = self._engine.get(engine_key)
        if raw is None:
            return None
        flags = raw[_STATE]
        # ("{" has the _HAS_TTL bit set: it says there is no flags byte)
        if flags != _JSON_START and flags & _HAS_TTL:
            if self._refresh_on_read(refresh_ttl):
                self._refresh({engine_key: _header(raw)[2]})
        return _read_item(raw, key, labels)

    def put(
        self,
        namespace: tuple[str, ...],
        key: str,
        value: Mapping[str, Any],
        index: Literal[False] | list[str] | None = None,
        *,
        ttl: float | NotProvided | None = NOT_PROVIDED,
    ) -> None:
        """Stores ``value`` (a JSON dict) under ``(namespace, key)``,
        keeping ``created_at`` if the item exists; ``ttl`` in minutes
        (default: the TTL config's ``default_ttl``; ``None``: no expiry).
        The same checks and effect as ``batch([PutOp(...)])``; without an
        index, without building a batch."""
        try:
            found = _CHECKED.get(namespace)  # .get: see get()
        except Exception:  # unhashable, or a label's hash raised
            found = None
        labels, head = found or _namespace_head(namespace, "namespace")
        if len(labels) == 0:
            raise InvalidNamespaceError("Namespace cannot be empty.")
        if labels[0] == "langgraph":
            # LangGraph reserves the root label for its own use in put().
            raise InvalidNamespaceError(
                f'Root label for namespace cannot be "langgraph". Got: {labels}'
            )
        if ttl is NOT_PROVIDED:
            ttl = (self.ttl_config or {}).get("default_ttl")
        key = str(key)
        if self._index is not None or value is None:
            self.batch([PutOp(labels, key, value, index=index, ttl=ttl)])  # type: ignore[arg-type]
            return
        # The checks _check_op makes of a PutOp, without building one.
        try:
            _check_index(index)
            minutes = _check_ttl_minutes(ttl, "ttl")
            body = _encode_value(value)
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"put: {exc}") from None
        engine_key = head + key
        with self._lock:
            # created_at survives an overwrite: read the old header first.
            old = self._engine.get(engine_key)
            now = _now_state()
            created = now if old is None else old[:_STATE]
            record = _record(created, now, minutes or 0.0, body)
            if minutes is None:
                # The engine's default lifetime: none, as made here (as in
                # _mset_by_ttl).
                self._engine[engine_key] = record
            else:
                self._engine.mset([(engine_key, record)], ttl=minutes * 60.0)

    def _refresh_on_read(self, refresh_ttl: bool | None) -> bool:
        if refresh_ttl is not None:
            return refresh_ttl
        return bool((self.ttl_config or {}).get("refresh_on_read", True))

    # ----------------------------------------------------------- writes

    def _write(
        self, puts: list[tuple[PutOp, bytes | None]], embedded: _Embedded
    ) -> None:
        """Applies puts (``body``: the value's JSON) and deletes (``None``),
        and replaces the vectors of every item written."""
        deletes = [_item_key(op.namespace, op.key) for op, body in puts if body is None]
        stores = [(op, body) for op, body in puts if body is not None]
        # Items deleted, and items now written without vectors, lose theirs.
        unindexed = list(deletes)
        if stores:
            keys = [_item_key(op.namespace, op.key) for op, _ in stores]
            now = _now_state()
            # created_at survives an overwrite: read the old headers first.
            records: dict[float | None, list[tuple[str, bytes]]] = {}
            vectors: dict[float | None, list[tuple[str, bytes]]] = {}
            for key, (op, body), old in zip(keys, stores, self._engine.mget(keys)):
                created = old[:_STATE] if old is not None else now
                record = _record(created, now, op.ttl or 0.0, body)
                records.setdefault(op.ttl, []).append((key, record))
                if self._index is not None:
                    matrix = self._index.matrix_of(op, embedded)
                    if matrix is None:
                        unindexed.append(key)
                    else:
                        vectors.setdefault(op.ttl, []).append((key, matrix))
            _mset_by_ttl(self._engine, records)
            if vectors:
                _mset_by_ttl(self._vectors, vectors)
        if deletes:
            self._engine.mdelete(deletes)
        if unindexed and self._index is not None:
            self._vectors.mdelete(unindexed)

    def _refresh(self, to_refresh: dict[str, float]) -> None:
        """Renews each read item's lifetime (and its vectors') to the ttl it
        was written with."""
        for engine_key, minutes in to_refresh.items():
            self._engine.expire(engine_key, minutes * 60.0)
            if self._index is not None:
                self._vectors.expire(engine_key, minutes * 60.0)

    # ----------------------------------------------------------- search

    def _search(
        self, op: SearchOp, to_refresh: dict[str, float], embedded: _Embedded
    ) -> list[SearchItem]:
        prefix = _namespace_prefix(op.namespace_prefix)
        if op.limit == 0:
            return []
        scores: dict[str, float] = {}
        page: list[tuple[str, bytes, dict[str, Any] | None]]
        if op.query and self._index is not None:
            page = self._ranked_page(op, prefix, embedded.queries[op.query], scores)
        elif not op.filter:
            # Keys only up to the page's end, values only for the page: the
            # engines list keys in order from a seek but cannot jump over
            # ``offset`` keys, so the cost is O(offset + limit) keys listed
            # and O(limit) values read.
            keys = list(
                islice(
                    self._engine.yield_keys(prefix=prefix, limit=op.offset + op.limit),
                    op.offset,
                    None,
                )
            )
            page = [
                (k, raw, None)
                for k, raw in zip(keys, self._engine.mget(keys))
                if raw is not None
            ]
        else:
            page = list(
                islice(
                    self._filtered(prefix, op.filter), op.offset, op.offset + op.limit
                )
            )
        return self._search_items(page, scores, to_refresh if op.refresh_ttl else None)

    @staticmethod
    def _search_items(
        page: list[tuple[str, bytes, dict[str, Any] | None]],
        scores: dict[str, float],
        to_refresh: dict[str, float] | None,
    ) -> list[SearchItem]:
        """SearchItems of (engine key, record, value if already decoded);
        the per-item loop of every search, kept to plain local calls.  The
        values still encoded are decoded by one orjson call on a JSON array
        of their bodies: measured 40% cheaper than a call per item."""
        state, json_start = _STATE, _JSON_START
        decoded = iter(
            _loads(
                b"["
                + b",".join(
                    [
                        raw[state:] if raw[state] == json_start else _body(raw)
                        for _, raw, value in page
                        if value is None
                    ]
                )
                + b"]"
            )
        )
        new, utc = _new, _UTC
        score_of = scores.get if scores else None
        results = []
        # The namespace's part of the engine key, its end included.  It
        # cannot be a part of a key of another namespace (the first "\0\0"
        # ends a namespace), so a key starting with it is in it.
        namespace_head = _END_OF_NAMESPACE  # matches no key: labels are non-empty
        key_start = 0
        namespace: tuple[str, ...] = ()
        for engine_key, raw, value in page:
            # A page's items mostly share their namespace: split it once.
            if not engine_key.startswith(namespace_head):
                key_start = engine_key.index(_END_OF_NAMESPACE) + 2
                namespace_head = engine_key[:key_start]
                namespace = tuple(namespace_head[:-2].split(_SEP))
            # Built as _read_item builds an Item (without its __init__),
            # inline: this loop is the cost of a large page.
            item: SearchItem = new(SearchItem)
            item.value = next(decoded) if value is None else value
            item.key = engine_key[key_start:]
            item.namespace = namespace
            if raw[state] == json_start:  # _header()'s common case, inline
                item.created_at = item.updated_at = _from_state(raw[:state], utc)
            else:
                created, updated, ttl_minutes, _ = _header(raw)
                item.created_at = created_at = _from_state(created, utc)
                item.updated_at = (
                    created_at if updated == created else _from_state(updated, utc)
                )
                if ttl_minutes and to_refresh is not None:
                    to_refresh[engine_key] = ttl_minutes
            item.score = None if score_of is None else score_of(engine_key)
            results.append(item)
        return results

    def _ranked_page(
        self, op: SearchOp, prefix: str, query: Any, scores: dict[str, float]
    ) -> list[tuple[str, bytes, dict[str, Any] | None]]:
        """The page of a semantic search: items with vectors by descending
        score, then those without (in key order), filtered, then offset and
        limit.  Only the prefix's vectors are read and scored."""
        assert self._index is not None
        ranked, ranked_scores = self._index.ranked(self._vectors.items(prefix), query)
        scores.update(zip(ranked, ranked_scores))

        def unscored() -> Iterator[str]:
            for key in self._engine.yield_keys(prefix=prefix):
                if key not in scores:
                    yield key

        candidates = chain(ranked, unscored())
        matching = self._records_matching(candidates, op.filter)
        return list(islice(matching, op.offset, op.offset + op.limit))

    def _records_matching(
        self, keys: Iterator[str], spec: Mapping[str, Any] | None
    ) -> Iterator[tuple[str, bytes, dict[str, Any] | None]]:
        """The records of ``keys`` that exist and match ``spec``, read with
        one mget per chunk of keys."""
        while chunk := list(islice(keys, 256)):
            for key, raw in zip(chunk, self._engine.mget(chunk)):
                if raw is None:
                    continue
                if not spec:
                    yield key, raw, None
                    continue
                value = _loads(_body(raw))
                if _matches(value, spec):
                    yield key, raw, value

    def _filtered(
        self, prefix: str, spec: Mapping[str, Any]
    ) -> Iterator[tuple[str, bytes, dict[str, Any]]]:
        for engine_key, raw in self._engine.items(prefix):
            value = _loads(_body(raw))
            if _matches(value, spec):
                yield engine_key, raw, value

    # --------------------------------------------------- list_namespaces

    def _list_namespaces(self, op: ListNamespacesOp) -> list[tuple[str, ...]]:
        conditions = tuple(op.match_conditions or ())
        start: tuple[str, ...] = ()
        for c in conditions:
            if c.match_type == "prefix":
                # Walk only below the literal labels a prefix starts with.
                literal = tuple(islice((p for p in c.path), _first_wildcard(c.path)))
                if len(literal) > len(start):
                    start = literal
        if op.max_depth is not None:
            start = start[: op.max_depth]
        found = self._namespaces_below(start, conditions, op.max_depth)
        return list(islice(found, op.offset, op.offset + op.limit))

    def _children(self, labels: tuple[str, ...]) -> Iterator[str | None]:
        """The child labels of a namespace, in order, after ``None`` when the
        namespace itself holds items.  One delimiter listing: O(children),
        not O(items below)."""
        prefix = _namespace_prefix(labels)
        skip = len(prefix)
        for entry in self._engine.yield_keys(prefix=prefix, delimiter=_SEP):
            rest = entry[skip:-1]
            yield rest if len(rest) else None

    def _namespaces_below(
        self,
        start: tuple[str, ...],
        conditions: tuple[MatchCondition, ...],
        max_depth: int | None,
    ) -> Iterator[tuple[str, ...]]:
        """Namespaces at or below ``start`` that satisfy ``conditions``,
        truncated to ``max_depth`` (each once), in tuple order.  A pre-order
        walk of the namespace tree: a namespace's own entry comes before its
        children, which come in label order.  An explicit stack, so depth
        costs no Python recursion."""
        if not _prefix_allows(conditions, start):
            return
        if max_depth is not None and len(start) >= max_depth:
            if self._any_below(start, conditions):
                yield start
            return
        stack = [(start, self._children(start))]
        while stack:
            labels, children = stack[-1]
            child = next(children, _DONE)
            if child is _DONE:
                stack.pop()
                continue
            if child is None:
                if all(_condition_holds(c, labels) for c in conditions):
                    yield labels
                continue
            below = labels + (child,)
            if not _prefix_allows(conditions, below):
                continue
            if max_depth is not None and len(below) >= max_depth:
                # A listed child holds items somewhere below (no ghosts), so
                # once the prefixes are all matched and no suffix is asked,
                # it is an answer without a walk down to its items.
                if _settled(conditions, len(below)) or self._any_below(
                    below, conditions
                ):
                    yield below
                continue
            stack.append((below, self._children(below)))

    def _any_below(
        self, start: tuple[str, ...], conditions: tuple[MatchCondition, ...]
    ) -> bool:
        """Whether some namespace at or below ``start`` holds items and
        satisfies ``conditions``; stops at the first."""
        return next(self._namespaces_below(start, conditions, None), None) is not None

    # -------------------------------------------------------- additions

    def delete_namespace(self, namespace_prefix: tuple[str, ...]) -> int:
        """Deletes every item whose namespace starts with
        ``namespace_prefix`` (label by label); returns how many.  One engine
        ``delete_prefix``: O(prefix + items removed) in memory."""
        labels = _check_labels(namespace_prefix, "namespace_prefix")
        if len(labels) == 0:
            raise InvalidNamespaceError(
                "delete_namespace needs a non-empty namespace prefix (an empty one "
                "would delete every item)"
            )
        prefix = _namespace_prefix(labels)
        with self._lock:
            removed = int(self._engine.delete_prefix(prefix))
            if self._index is not None:
                self._vectors.delete_prefix(prefix)
            return removed

    async def adelete_namespace(self, namespace_prefix: tuple[str, ...]) -> int:
        """Async :meth:`delete_namespace`."""
        if isinstance(self._engine, TrieStore):
            return self.delete_namespace(namespace_prefix)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, self.delete_namespace, namespace_prefix)

    # -------------------------------------------------------------- TTL

    def sweep_ttl(self) -> int:
        """Releases expired items now.  The engine already hides an expired
        item from every read and releases it at the next call after its
        deadline, so there is nothing left for a sweep to count: returns 0.
        Kept for the API of LangGraph's SQLite and Postgres stores."""
        with self._lock:
            len(self._engine)  # any engine call releases what is due
            if self._vectors is not None:
                len(self._vectors)
        return 0

    def start_ttl_sweeper(
        self, sweep_interval_minutes: float | None = None
    ) -> concurrent.futures.Future[None]:
        """Starts a daemon thread calling :meth:`sweep_ttl` every
        ``sweep_interval_minutes`` (default: the TTL config's, else 5).
        Returns a future that completes when the sweeper stops."""
        minutes = sweep_interval_minutes
        if minutes is None:
            minutes = (self.ttl_config or {}).get("sweep_interval_minutes") or 5
        minutes = _check_ttl_minutes(minutes, "sweep_interval_minutes")
        assert minutes is not None
        if self._sweeper is not None and self._sweeper.is_alive():
            return self._sweeper_done  # one sweeper per store
        done: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._sweeper_done = done
        stop = self._sweeper_stop
        stop.clear()
        # The thread holds the store weakly, so a store dropped without
        # stop_ttl_sweeper() is still freed (and its sweeper ends).
        store = weakref.ref(self)

        def sweep_until_stopped() -> None:
            try:
                while not stop.wait(minutes * 60.0):
                    alive = store()
                    if alive is None:
                        return
                    alive.sweep_ttl()
                    del alive
            finally:
                done.set_result(None)

        self._sweeper = threading.Thread(
            target=sweep_until_stopped, name="memstore-ttl-sweeper", daemon=True
        )
        self._sweeper.start()
        return done

    def stop_ttl_sweeper(self, timeout: float | None = None) -> bool:
        """Stops the sweeper thread; ``True`` once it has ended (or if none
        ran), ``False`` if it is still running after ``timeout`` seconds."""
        sweeper = self._sweeper
        if sweeper is None:
            return True
        self._sweeper_stop.set()
        sweeper.join(timeout)
        if sweeper.is_alive():
            return False
        self._sweeper = None
        return True


_DONE: Any = object()


def _mset_by_ttl(
    engine: Any, by_ttl: dict[float | None, list[tuple[str, bytes]]]
) -> None:
    """One engine write per lifetime (the engines take one ttl per batch)."""
    for ttl, pairs in by_ttl.items():
        if ttl is None:
            # Left out, the engine's default applies: none, as made here.
            engine.mset(pairs)
        else:
            engine.mset(pairs, ttl=ttl * 60.0)


def _settled(conditions: tuple[MatchCondition, ...], depth: int) -> bool:
    """Whether every condition is decided by a namespace's first ``depth``
    labels (already checked): prefixes no longer than that, no suffix."""
    return all(c.match_type == "prefix" and len(c.path) <= depth for c in conditions)


def _first_wildcard(path: tuple[str, ...]) -> int:
    return next((i for i, p in enumerate(path) if p == "*"), len(path))


def _check_ttl_config(config: object) -> TTLConfig | None:
    if config is None:
        return None
    if not isinstance(config, Mapping):
        raise TypeError(
            f"ttl must be a TTLConfig dict or None, not {_type_name(config)}"
        )
    unknown = set(config) - {"default_ttl", "refresh_on_read", "sweep_interval_minutes"}
    if unknown:
        raise ValueError(f"ttl: unknown TTLConfig keys {sorted(unknown)}")
    _check_ttl_minutes(config.get("default_ttl"), "ttl['default_ttl']")
    _check_ttl_minutes(
        config.get("sweep_interval_minutes"), "ttl['sweep_interval_minutes']"
    )
    refresh = config.get("refresh_on_read", True)
    if not isinstance(refresh, bool):
        raise TypeError(
            f"ttl['refresh_on_read'] must be a bool, not {_type_name(refresh)}"
        )
    return TTLConfig(**config)  # type: ignore[typeddict-item]


def _check_ops(ops: Iterable[Op]) -> tuple[list[Op], dict[int, bytes]]:
    """The ops as a list, each checked, and the JSON of each put's value by
    op index; or the first error: nothing has run yet when one is raised."""
    if isinstance(ops, (str, bytes)) or not isinstance(ops, Iterable):
        raise TypeError(f"batch() takes an iterable of ops, not {_type_name(ops)}")
    checked = list(ops)
    bodies: dict[int, bytes] = {}
    for i, op in enumerate(checked):
        try:
            body = _check_op(op)
        except (TypeError, ValueError) as exc:
            # The message gains where the op is; built only on error, as
            # formatting it for every op costs more than the checks.
            raise type(exc)(f"{_type_name(op)} at index {i}: {exc}") from None
        if body is not None:
            bodies[i] = body
    # Namespaces given as lists are used as tuples from here on.
    return [_normalized(op) for op in checked], bodies


def _check_op(op: object) -> bytes | None:
    """Checks one op; returns a put's value as JSON."""
    if isinstance(op, GetOp):
        _check_labels(op.namespace, "namespace")
        _check_key(op.key)
    elif isinstance(op, PutOp):
        labels = _check_labels(op.namespace, "namespace")
        if len(labels) == 0:
            raise InvalidNamespaceError("namespace cannot be empty")
        _check_key(op.key)
        _check_index(op.index)
        if op.value is not None:
            _check_ttl_minutes(op.ttl, "ttl")
            return _encode_value(op.value)
    elif isinstance(op, SearchOp):
        _check_labels(op.namespace_prefix, "namespace_prefix")
        _check_count(op.limit, "limit")
        _check_count(op.offset, "offset")
        if op.filter is not None:
            _check_filter(op.filter)
    elif isinstance(op, ListNamespacesOp):
        for condition in op.match_conditions or ():
            if condition.match_type not in ("prefix", "suffix"):
                raise ValueError(
                    f"match_type must be 'prefix' or 'suffix', "
                    f"not {condition.match_type!r}"
                )
            # "*" passes: only match conditions read it as a wildcard.
            _check_labels(condition.path, condition.match_type)
        if op.max_depth is not None and _check_count(op.max_depth, "max_depth") == 0:
            raise ValueError("max_depth must be >= 1 or None")
        _check_count(op.limit, "limit")
        _check_count(op.offset, "offset")
    else:
        raise TypeError("an op must be a GetOp, PutOp, SearchOp or ListNamespacesOp")
    return None


def _normalized(op: Op) -> Op:
    if isinstance(op, (GetOp, PutOp)) and not isinstance(op.namespace, tuple):
        return op._replace(namespace=tuple(op.namespace))
    if isinstance(op, SearchOp) and not isinstance(op.namespace_prefix, tuple):
        return op._replace(namespace_prefix=tuple(op.namespace_prefix))
    return op


# ---------------------------------------------------------- the classes


class InMemoryStore(PrefixStoreBackedStore):
    """LangGraph's ``BaseStore`` on a :class:`memstore.TrieStore`, in this
    process.  A drop-in replacement for
    ``langgraph.store.memory.InMemoryStore``::

        from memstore.langgraph import InMemoryStore

        store = InMemoryStore()
        store.put(("users", "u1", "memories"), "m1", {"text": "likes tea"})
        store.get(("users", "u1", "memories"), "m1").value   # {'text': 'likes tea'}
        store.list_namespaces(prefix=("users",), max_depth=2)  # [('users', 'u1')]

    ``ttl`` is a ``TTLConfig`` (minutes); ``index`` an ``IndexConfig``
    (``dims``, ``embed``, ``fields``) for ``search(prefix, query=...)``,
    which needs numpy.
    """

    def __init__(
        self,
        *,
        index: IndexConfig | None = None,
        ttl: TTLConfig | None = None,
        _engines: tuple[TrieStore[bytes], TrieStore[bytes] | None] | None = None,
    ) -> None:
        if _engines is None:
            _engines = (
                TrieStore[bytes](),
                None if index is None else TrieStore[bytes](),
            )
        super().__init__(_engines[0], index=index, ttl=ttl, vector_engine=_engines[1])

    @classmethod
    def open(
        cls,
        directory: str | os.PathLike[str],
        *,
        fsync: str = "everysec",
        index: IndexConfig | None = None,
        ttl: TTLConfig | None = None,
    ) -> InMemoryStore:
        """A store kept in ``directory`` (created if missing), which survives
        a restart: the items (and, with an ``index``, their vectors) are
        ``memstore.InMemoryByteStore.open`` stores in ``directory/items``
        and ``directory/vectors``, so every put and delete is journaled
        before it returns, with ``fsync`` as in
        :meth:`memstore.TrieStore.open` (``"always"``, ``"everysec"``,
        ``"no"``).  Expiry deadlines are kept.  One process opens a
        directory at a time.  :meth:`close` it (or use ``with``)::

            with InMemoryStore.open("agent-memory") as store:
                store.put(("users", "u1"), "m1", {"text": "likes tea"})
        """
        from memstore import InMemoryByteStore

        _check_ttl_config(ttl)
        if index is not None:
            _Index(index)
        root = os.fspath(directory)
        items = InMemoryByteStore.open(os.path.join(root, "items"), fsync=fsync)
        vectors = None
        if index is not None:
            try:
                vectors = InMemoryByteStore.open(
                    os.path.join(root, "vectors"), fsync=fsync
                )
            except BaseException:
                items.close()
                raise
        return cls(index=index, ttl=ttl, _engines=(items, vectors))

    def close(self) -> None:
        """Stops the TTL sweeper and, for a store made by :meth:`open`,
        fsyncs and closes its journals and releases the directory; reads
        still work afterwards, writes raise ``ValueError``."""
        self.stop_ttl_sweeper()
        self._engine.close()
        if self._vectors is not None:
            self._vectors.close()

    def checkpoint(self) -> None:
        """For a store made by :meth:`open`: snapshots the items (and
        vectors) and starts empty journals, so a reopen replays nothing."""
        self._engine.checkpoint()
        if self._vectors is not None:
            self._vectors.checkpoint()

    def __enter__(self) -> InMemoryStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class RedisStore(PrefixStoreBackedStore):
    """LangGraph's ``BaseStore`` on Redis, through
    :class:`memstore.redis.RedisStore`: every process opening the same
    ``namespace`` on the same server shares the items.

    ``url`` or ``client`` (a sync ``redis.Redis``, made with
    ``decode_responses=False``); ``namespace`` names the Redis key space the
    store owns (see :mod:`memstore.redis`).  Each write group (the puts of
    one ttl, the deletes) is one atomic script; ``created_at`` is read
    before writing, so two processes writing the same new key at once may
    each set it.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        client: Any = None,
        namespace: str = "langgraph",
        index: IndexConfig | None = None,
        ttl: TTLConfig | None = None,
    ) -> None:
        from memstore.redis import RedisStore as _RedisEngine

        if url is not None and client is not None:
            raise ValueError("pass either url or client, not both")
        if url is None and client is None:
            raise ValueError("RedisStore needs a url or a client")
        if not isinstance(namespace, str) or len(namespace) == 0 or _SEP in namespace:
            raise ValueError(
                f"namespace must be a non-empty str without NUL, not {namespace!r}"
            )
        # Checked before a client is made, so a bad config leaks no connection.
        _check_ttl_config(ttl)
        if index is not None:
            _Index(index)

        def engine(space: str) -> Any:
            if url is not None:
                return _RedisEngine(url=url, namespace=space)
            return _RedisEngine(client, namespace=space)

        # The vectors live in a Redis namespace of their own, which no
        # store's namespace can name (those have no NUL).
        super().__init__(
            engine(namespace),
            index=index,
            ttl=ttl,
            vector_engine=None
            if index is None
            else engine(namespace + _SEP + "vectors"),
        )

    def close(self) -> None:
        """Stops the sweeper and closes the client if this store made it."""
        self.stop_ttl_sweeper()
        self._engine.close()
        if self._vectors is not None:
            self._vectors.close()
