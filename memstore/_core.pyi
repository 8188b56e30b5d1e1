"""Type stub for the Cython extension memstore._core (see _core.pyx).

The docstrings are the extension's own, so that editors show them on hover
(they cannot read a compiled module's ``__doc__``);
``tests/typing/test_stub_docstrings.py`` keeps them equal to the built
module's.
"""

from collections.abc import (
    AsyncGenerator,
    Callable,
    Coroutine,
    Generator,
    Iterable,
    Mapping,
)
from os import PathLike
from types import GenericAlias
from typing import Any, Generic, Protocol, SupportsIndex, TypeVar, overload

from typing_extensions import Self

_V = TypeVar("_V")

class _Serializer(Protocol):
    def dumps(self, value: Any, /) -> bytes: ...
    def loads(self, data: bytes, /) -> Any: ...

class _Writable(Protocol):
    def write(self, data: bytes, /) -> object: ...

class _Readable(Protocol):
    def read(self, size: int, /) -> bytes: ...

class SnapshotError(ValueError):
    """A snapshot or journal file that cannot be read: truncated, corrupt,
    of an unknown version, or holding values this store may not decode.

    ``path`` is the file (or the name of the file object, or None) and
    ``offset`` the byte offset where the problem was found.
    """

    path: str | None
    offset: int | None
    def __init__(
        self, message: str, path: str | None = None, offset: int | None = None
    ) -> None: ...

def _crc32c(data: bytes | bytearray | memoryview, crc: int = 0) -> int:
    """x"""

_T = TypeVar("_T")

class _RecordReader(Generic[_T]):
    """Builds ``item_type`` objects (LangGraph's ``Item``, made without its
    ``__init__``) from memstore.langgraph records, decoding the JSON with
    ``loads``, so every Item gets a value of its own."""

    def __init__(self, loads: Callable[[bytes], Any], item_type: type[_T]) -> None: ...
    def item(self, record: bytes, key: str, namespace: tuple[str, ...]) -> _T:
        """The Item a record holds, with ``key`` and ``namespace``.
        ValueError for bytes that are not a record."""

_Item_co = TypeVar("_Item_co", covariant=True)

class StoreIterator(Generator[_Item_co, None, None]):  # noqa: UP043
    """Iterator over a store's keys, values or items (what ``yield_keys``,
    ``keys``, ``values``, ``items`` and ``iter`` return).

    It holds the store alive and survives changes to it: each step carries
    on after the last key returned and sees the store as it is then.  It is
    also a ``collections.abc.Generator`` (``send``, ``throw``, ``close``),
    as LangChain's ``yield_keys`` contract expects.
    """

    def __iter__(self) -> StoreIterator[_Item_co]: ...
    def __next__(self) -> _Item_co: ...
    def __length_hint__(self) -> int: ...
    def send(self, value: object, /) -> _Item_co:
        """Generator protocol: the next item (``value`` is ignored)."""
    @overload
    def throw(
        self, typ: type[BaseException], val: object = ..., tb: object = ..., /
    ) -> _Item_co:
        """Generator protocol: ends the iteration and raises the exception."""
    @overload
    def throw(
        self, typ: BaseException, val: None = ..., tb: object = ..., /
    ) -> _Item_co: ...
    def close(self) -> None:
        """Generator protocol: ends the iteration."""

class AsyncStoreIterator(AsyncGenerator[_Item_co, None]):  # noqa: UP043
    """Async iterator over a store's keys (what ``ayield_keys`` returns):
    the items of a :class:`StoreIterator`, yielding to the event loop once
    every ``chunk`` items.

    Like the iterator it wraps it survives changes to the store.  It is an
    ``collections.abc.AsyncGenerator`` (``asend``, ``athrow``, ``aclose``),
    as LangChain's ``ayield_keys`` contract expects.
    """

    def __init__(self, items: StoreIterator[_Item_co], chunk: int, /) -> None: ...
    def __class_getitem__(cls, item: Any, /) -> GenericAlias:
        """``AsyncStoreIterator[str]`` at runtime, for type hints."""
    def __aiter__(self) -> AsyncStoreIterator[_Item_co]: ...
    def __anext__(self) -> _NextItem[_Item_co]: ...
    def asend(self, value: object, /) -> _NextItem[_Item_co]:
        """Async generator protocol: the next item (``value`` is ignored)."""
    @overload
    def athrow(
        self, typ: type[BaseException], val: object = ..., tb: object = ..., /
    ) -> Coroutine[Any, Any, _Item_co]:
        """Async generator protocol: ends the listing and raises the
        exception."""
    @overload
    def athrow(
        self, typ: BaseException, val: None = ..., tb: object = ..., /
    ) -> Coroutine[Any, Any, _Item_co]: ...
    def aclose(self) -> Coroutine[Any, Any, None]:
        """Async generator protocol: ends the listing."""

class _NextItem(Coroutine[None, object, _Item_co]):
    """What ``AsyncStoreIterator.__anext__`` returns: awaiting it gives the
    next item, or raises ``StopAsyncIteration`` at the end.  One object is
    reused for every item of a listing, so each await is for the item that
    is next at that moment."""

    def __await__(self) -> Generator[None, object, _Item_co]: ...
    def __iter__(self) -> _NextItem[_Item_co]: ...
    def __next__(self) -> None: ...
    def send(self, value: object, /) -> None:
        """Coroutine protocol: same as ``__next__`` (``value`` is ignored)."""
    @overload
    def throw(
        self, typ: type[BaseException], val: object = ..., tb: object = ..., /
    ) -> None:
        """Coroutine protocol: ends the listing and raises the exception,
        as it would end an async generator suspended at a yield."""
    @overload
    def throw(
        self, typ: BaseException, val: None = ..., tb: object = ..., /
    ) -> None: ...
    def close(self) -> None:
        """Coroutine protocol: ends the listing."""

class TrieStoreBase(Generic[_V]):
    """An ordered ``str``-keyed store kept in an adaptive radix tree.

    The C extension type behind :class:`memstore.TrieStore`; use that class
    (or ``InMemoryStore`` / ``InMemoryByteStore``) rather than this one.
    """

    def __init__(
        self,
        items: Mapping[str, _V] | Iterable[tuple[str, _V]] | None = None,
        *,
        ttl: float | None = None,
        clock: Callable[[], float] | None = None,
        serializer: _Serializer | None = None,
    ) -> None:
        """A new store, filled from ``items``: a mapping, or an iterable of
        ``(key, value)`` pairs (the last of duplicate keys wins).

        ``ttl``: the default lifetime in seconds of every write that gives
        none (``store[k] = v``, ``mset`` without ``ttl``, ``items`` here);
        None, the default, means keys never expire.  ``clock``: a
        zero-argument callable returning the time in seconds (default: the
        wall clock, as ``time.time``); a key expires once ``clock()``
        reaches its deadline.  ``serializer``: how :meth:`save` and a
        journal write values that are not ``bytes``, an object with
        ``dumps(value) -> bytes`` and ``loads(bytes)``; None means pickle.

        O(B·L) for B items of length L.

        >>> TrieStore({"b": 2, "a": 1})
        TrieStore({'a': 1, 'b': 2})
        >>> TrieStore(ttl=60).default_ttl
        60.0
        """
    def __class_getitem__(cls, item: Any, /) -> GenericAlias:
        """``TrieStore[V]`` at runtime: a generic alias that builds a plain
        store when called."""
    @property
    def default_ttl(self) -> float | None:
        """The default lifetime in seconds given at construction, or None
        (keys never expire unless a write gives a ``ttl``).  O(1).

        >>> TrieStore(ttl=3600).default_ttl
        3600.0
        """

    # batches (LangChain's BaseStore API)
    def mget(self, keys: Iterable[str]) -> list[_V | None]:
        """Values for ``keys``, ``None`` for a missing key.

        ``keys`` is any iterable of ``str``.  O(B·L) for B keys of length L.

        >>> s = TrieStore({"a": 1})
        >>> s.mget(["a", "missing"])
        [1, None]
        """
    def mset(
        self, key_value_pairs: Iterable[tuple[str, _V]], *, ttl: float | None = ...
    ) -> None:
        """Stores every ``(key, value)`` pair; the last of duplicate keys wins.

        ``ttl``: the pairs' lifetime in seconds from now; left out, the
        store's ``default_ttl``; ``None``, no lifetime.  A key written
        without a lifetime loses the one it had.  A ``ttl`` that is not a
        positive finite number raises ``ValueError`` (``TypeError`` when not
        a number) and writes nothing.

        All or nothing: each item must be a 2-tuple or 2-list with a ``str``
        key, and a bad item anywhere writes nothing (what was written before
        it is undone, lifetimes included, before the error is raised);
        running out of memory midway undoes the writes already made too.
        Values replaced are released after the whole batch is written.
        O(B·L) for B pairs with keys of length L.

        >>> s = TrieStore()
        >>> s.mset([("a", 1), ("b", 2), ("a", 3)])
        >>> s.mget(["a", "b"])
        [3, 2]
        >>> s.mset([("session", "x")], ttl=30)
        >>> 0 < s.ttl("session") <= 30
        True
        """
    def mdelete(self, keys: Iterable[str]) -> None:
        """Removes ``keys``; missing keys are ignored.

        All or nothing on bad input: every key is checked before any is
        removed.  Removed values are released after the last removal.
        O(B·L) for B keys of length L.

        >>> s = TrieStore({"a": 1, "b": 2})
        >>> s.mdelete(["a", "missing"])
        >>> list(s)
        ['b']
        """
    def yield_keys(
        self,
        *,
        prefix: str | None = None,
        start_after: str | None = None,
        limit: SupportsIndex | None = None,
        reverse: bool = False,
        start: str | None = None,
        stop: str | None = None,
        delimiter: str | None = None,
    ) -> StoreIterator[str]:
        """Iterator over the keys starting with ``prefix``, in code-point
        order (``reverse=True``: descending).

        ``start`` (inclusive) and ``stop`` (exclusive) bound the keys too,
        in the same order; ``start >= stop`` lists nothing.  ``start_after``
        resumes a listing after that key (before it when reversed; it need
        not be stored); ``limit`` caps how many keys are returned.  The
        iterator stays valid while the store changes: it carries on after
        the last key it returned.  O(L + M) for a prefix or bound of length
        L and M keys listed: the listing starts from a seek, never a scan.

        >>> s = TrieStore([("a:1", 1), ("a:2", 2), ("a:3", 3), ("b:1", 4)])
        >>> list(s.yield_keys(prefix="a:", start_after="a:1", limit=1))
        ['a:2']
        >>> list(s.yield_keys(start="a:2", stop="b"))
        ['a:2', 'a:3']

        ``delimiter`` lists like a directory (Amazon S3's ListObjects): a
        key whose rest after ``prefix`` contains the delimiter is rolled up
        into its group, ``prefix`` + that rest up to and including the
        first delimiter, listed once at its place in key order.  ``limit``
        counts entries (a group is one), and ``start_after`` is compared
        with entries, so resuming after a group skips all of it.  O(E·L)
        for E entries listed, however many keys a group holds.

        >>> s = TrieStore(dict.fromkeys(["docs/a.md", "docs/img/1.png", "readme"], 0))
        >>> list(s.yield_keys(delimiter="/"))
        ['docs/', 'readme']
        >>> list(s.yield_keys(prefix="docs/", delimiter="/"))
        ['docs/a.md', 'docs/img/']
        """
    def _validate_pairs(
        self, key_value_pairs: Iterable[tuple[str, _V]], method: str = ...
    ) -> list[tuple[str, _V]]:
        """Checks a whole mset batch without writing anything and returns a
        snapshot of it: a new list of (key, value) tuples.  ``method`` is
        the name errors give.  O(B)."""
    def _validate_keys(self, keys: Iterable[str], method: str = ...) -> tuple[str, ...]:
        """Checks that every key is a str and returns a snapshot of the keys
        (a tuple).  ``method`` is the name errors give.  O(B)."""

    # listing
    def __iter__(self) -> StoreIterator[str]:
        """Iterator over all keys in code-point order.  O(N) in total."""
    def keys(
        self,
        prefix: str | None = None,
        *,
        start_after: str | None = None,
        limit: SupportsIndex | None = None,
        reverse: bool = False,
        start: str | None = None,
        stop: str | None = None,
        delimiter: str | None = None,
    ) -> StoreIterator[str]:
        """Iterator over keys; same options as :meth:`yield_keys`.

        O(L + M) for a prefix of length L and M keys listed (O(E·L) for E
        entries with a delimiter).

        >>> list(TrieStore({"b": 1, "a": 2}).keys())
        ['a', 'b']
        >>> s = TrieStore(dict.fromkeys(["a/1", "a/2", "b"], 0))
        >>> list(s.keys(delimiter="/", reverse=True))
        ['b', 'a/']
        """
    def values(
        self,
        prefix: str | None = None,
        *,
        start_after: str | None = None,
        limit: SupportsIndex | None = None,
        reverse: bool = False,
        start: str | None = None,
        stop: str | None = None,
    ) -> StoreIterator[_V]:
        """Iterator over values in key order; same options as
        :meth:`yield_keys` but ``delimiter``.  O(L + M).

        >>> list(TrieStore({"b": 1, "a": 2}).values())
        [2, 1]
        >>> list(TrieStore({"a": 1, "b": 2, "c": 3}).values(start="b"))
        [2, 3]
        """
    def items(
        self,
        prefix: str | None = None,
        *,
        start_after: str | None = None,
        limit: SupportsIndex | None = None,
        reverse: bool = False,
        start: str | None = None,
        stop: str | None = None,
    ) -> StoreIterator[tuple[str, _V]]:
        """Iterator over ``(key, value)`` pairs in key order; same options
        as :meth:`yield_keys` but ``delimiter``.  O(L + M).

        >>> list(TrieStore({"b": 1, "a": 2}).items(reverse=True))
        [('b', 1), ('a', 2)]
        >>> list(TrieStore({"a": 1, "b": 2, "c": 3}).items(stop="b"))
        [('a', 1)]
        """

    # single keys
    def __len__(self) -> int:
        """Number of keys (expired ones are purged first).  O(1), plus the
        purge of the keys that expired since the last call."""
    def __contains__(self, key: object) -> bool:
        """``key in store``; ``False`` for a key that is not a ``str``.  O(L)."""
    def __getitem__(self, key: str) -> _V:
        """``store[key]``; ``KeyError`` when missing.  O(L)."""
    def __setitem__(self, key: str, value: _V) -> None:
        """``store[key] = value``, with the store's ``default_ttl`` (a key
        written without a lifetime loses the one it had).  O(L)."""
    def __delitem__(self, key: str) -> None:
        """``del store[key]``; ``KeyError`` when missing.  O(L)."""
    @overload
    def get(self, key: str) -> _V | None:
        """The value for ``key``, or ``default`` when missing.  O(L).

        >>> TrieStore({"a": 1}).get("b", 0)
        0
        """
    @overload
    def get(self, key: str, default: _V | _T) -> _V | _T: ...

    # expiry
    def expire(self, key: str, ttl: float) -> bool:
        """Gives ``key`` a lifetime of ``ttl`` seconds from now, replacing
        any it had.  Returns False (and does nothing) when the key is absent
        or expired.  O(L).

        >>> s = TrieStore({"a": 1})
        >>> s.expire("a", 60), s.expire("missing", 60)
        (True, False)
        """
    def ttl(self, key: str) -> float | None:
        """Seconds ``key`` has left to live, or None when it never expires;
        ``KeyError`` when it is absent or expired.  O(L).

        >>> s = TrieStore({"a": 1})
        >>> s.ttl("a") is None
        True
        >>> s.expire("a", 60)
        True
        >>> 59 < s.ttl("a") <= 60
        True
        """
    def persist(self, key: str) -> bool:
        """Removes ``key``'s lifetime, so it never expires.  Returns True
        when it had one, False when it had none or is absent.  O(L).

        >>> s = TrieStore({"a": 1}, ttl=60)
        >>> s.persist("a"), s.persist("a"), s.ttl("a")
        (True, False, None)
        """

    # prefixes
    def count(self, prefix: str | None = "") -> int:
        """Number of keys starting with ``prefix`` (all keys for ``""``).

        O(L) for a prefix of length L, however many keys match.

        >>> TrieStore({"a:1": 0, "a:2": 0, "b": 0}).count("a:")
        2
        """
    def delete_prefix(self, prefix: str) -> int:
        """Removes every key starting with ``prefix``; returns how many.

        The removed values are released after the tree is consistent again.
        O(L + M) for a prefix of length L and M keys removed.

        >>> s = TrieStore({"a:1": 0, "a:2": 0, "b": 0})
        >>> s.delete_prefix("a:")
        2
        """
    def longest_prefix(self, key: str) -> tuple[str, _V] | None:
        """``(stored_key, value)`` for the longest stored key that ``key``
        starts with (``key`` itself included), or ``None``.  O(L).

        >>> TrieStore({"a": 1, "ab": 2}).longest_prefix("abc")
        ('ab', 2)
        """

    # whole store
    def clear(self) -> None:
        """Removes every key.  O(N).

        The values are released after the tree is empty, so code they run
        when released may use the store.

        >>> s = TrieStore({"a": 1})
        >>> s.clear()
        >>> len(s)
        0
        """
    def copy(self) -> Self:
        """A new store of the same class with the same live items, the same
        deadlines, default ttl and clock; values are shared, not copied.
        O(N·L).

        >>> s = TrieStore({"a": [1]})
        >>> c = s.copy()
        >>> c["a"] is s["a"]
        True
        """
    def __copy__(self) -> Self:
        """``copy.copy(store)``: same as :meth:`copy`.  O(N·L)."""
    def memory_usage(self) -> int:
        """Bytes held by the tree's nodes, keys included, values not.  O(1).

        Exact: the bytes the tree asked for, whatever allocated them, so the
        same keys give the same figure (and an emptied store its empty
        figure).  The nodes come from a node pool of the store's own, which
        rounds each to 8 bytes and grows by chunks: the process grows by
        about 1.13x this figure (10^6 and 10^7 chat keys, ``python
        benchmarks/memprobe.py ratio``).  Removing keys frees their nodes
        into the pool, where the store's next keys reuse them; the pool
        gives its chunks back to Python when the store is emptied
        (``clear``, deleting every key, expiry) or dropped.

        Keys with a lifetime add their expiry bookkeeping: a 16-byte entry
        each, plus the nodes of the expiry queue, which holds each such key
        once more behind its 8-byte deadline: about 16 + (8 + L) bytes
        plus a tree's node overhead per key of L bytes (measured for
        25-byte keys: +58 bytes a key when a batch shares one deadline, +84
        when every key has its own).  A store that never had a lifetime has
        no queue and the same usage as one built without expiry.

        >>> TrieStore({"k" * 1000: None}).memory_usage() > 1000
        True
        """
    def __sizeof__(self) -> int:
        """The object plus its tree's nodes and the buffers the tree keeps
        for its next listing (values not included), plus the expiry
        bookkeeping described in :meth:`memory_usage`.  O(1)."""
    def __eq__(self, other: object) -> bool:
        """Equal to another store or any mapping with the same live items
        (lifetimes are not compared).  O(N·L).

        Stores that contain each other nest comparisons without end; like
        ``dict`` this raises ``RecursionError`` instead of exhausting the C
        stack.
        """
    def __ne__(self, other: object) -> bool:
        """The negation of ``==``.  O(N·L)."""
    __hash__: None  # type: ignore[assignment]
    # persistence
    def save(self, target: str | PathLike[str] | _Writable) -> None:
        """Writes the store to ``target`` as a snapshot: a path (``str`` or
        ``os.PathLike``) or a binary file object.  Values that are not
        ``bytes`` are pickled (protocol 5), or encoded with the store's
        ``serializer``; keys already expired are left out.

        Saving to a path is atomic: a temporary file in the same directory
        is written, fsynced and renamed over the target, so a crash or an
        error (a value that cannot be pickled, a full disk) leaves the old
        file as it was.  Streams: the extra memory is one 64 KiB block.
        O(N·L).  Format: docs/persistence-format.md.

        >>> import io
        >>> buffer = io.BytesIO()
        >>> TrieStore({"a": 1}).save(buffer)
        >>> TrieStore.load(io.BytesIO(buffer.getvalue()))
        TrieStore({'a': 1})
        """
    @classmethod
    def load(cls, source: str | PathLike[str] | _Readable, **kwargs: Any) -> Self:
        """A new store of this class holding the snapshot in ``source`` (a
        path or a binary file object); ``kwargs`` go to the constructor
        (``clock=``, ``ttl=``, ``serializer=``).  Keys whose deadline has
        passed are dropped.

        Loading a snapshot whose values were pickled runs pickle: load only
        files you trust.  :class:`InMemoryByteStore` never unpickles (a
        pickled value raises).  A bad file raises :class:`SnapshotError`
        (naming the file and byte offset) and loads nothing; a missing one
        ``FileNotFoundError``.  O(N·L).
        """
    @classmethod
    def open(
        cls,
        directory: str | PathLike[str],
        *,
        fsync: str = "everysec",
        checkpoint_ratio: float | None = 1.0,
        **kwargs: Any,
    ) -> Self:
        """A store kept in ``directory`` (created if missing): its latest
        snapshot plus a journal of every write since, replayed here.

        Every write appends one checksummed record to the journal before it
        returns (a batch is one record); reads never touch the disk.
        ``fsync``: ``"always"`` (before each write returns), ``"everysec"``
        (a background thread, about once a second) or ``"no"`` (the OS
        decides).  The store checkpoints by itself when the journal grows
        past ``checkpoint_ratio`` times the snapshot (at least 64 MiB);
        None turns that off.  ``kwargs`` go to the constructor.  One store
        owns a directory at a time: a second open raises
        :class:`DirectoryLockedError`.  Close it (or use ``with``).
        See docs/persistence.md.
        """
    def checkpoint(self) -> None:
        """Writes a new snapshot and starts an empty journal, so reopening
        replays nothing; crash-safe at every step.  Only for a store made
        by :meth:`open`.  Blocks other writers while it runs.  O(N·L)."""
    def close(self) -> None:
        """Flushes and fsyncs the journal and releases the directory of a
        store made by :meth:`open`; afterwards writes raise ``ValueError``
        and reads still work.  Does nothing for other stores, or twice."""
    def __enter__(self) -> Self: ...
    def __exit__(self, *exc_info: object) -> bool: ...
    def _journal_fsync(self) -> str | None:
        """The fsync policy of the journal, or None: the async twins ask."""
    @property
    def directory(self) -> str | None:
        """The directory a store made by :meth:`open` is kept in, else None."""
    # The state is the engine's business (it carries the deadlines too).
    def __reduce__(self) -> tuple[type[Self], tuple[()], object]:
        """Pickles as the class plus the list of ``(key, value)`` pairs.

        The pairs are the state (restored by ``__setstate__``), not
        constructor arguments, so a store that contains itself pickles.
        A store with a default ttl, a clock of its own or keys with a
        lifetime pickles a dict instead: the items (``(key, value,
        deadline)`` for a key with a lifetime: deadlines are absolute),
        ``default_ttl`` and ``clock`` (which must then be picklable).
        """
    def __setstate__(self, state: object) -> None:
        """Unpickling: stores the pickled ``(key, value)`` pairs, or the
        dict of a store with lifetimes (see ``__reduce__``), whose deadlines
        are kept as they were.  O(N·L)."""
    def __repr__(self) -> str:
        """``TrieStore({'a': 1, ...})`` with at most 10 items, then how many
        more there are; a store met again inside itself shows as ``{...}``.
        O(1) in the store's size.
        """
