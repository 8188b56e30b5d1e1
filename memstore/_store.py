"""The public store classes: a thin layer over the Cython ``TrieStoreBase``.

Everything synchronous (and every rule about keys, batches and references)
is in ``memstore._core``.  This module adds the async twins, which run on the
calling event loop, and the aliases.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from memstore._core import AsyncStoreIterator, TrieStoreBase

__all__ = ["InMemoryByteStore", "InMemoryStore", "TrieStore"]

V = TypeVar("V")

# Keys per synchronous call in amget/amset/amdelete: a few hundred
# microseconds to a couple of milliseconds of work between two chances for the
# event loop to run other tasks.
_CHUNK = 4096
# Keys listed by ayield_keys between two yields to the event loop.
_LIST_CHUNK = 1024


class _LeftOut:
    """amset's ``ttl`` when not given: mset then applies the store's default."""

    def __repr__(self) -> str:
        return "<left out>"


_LEFT_OUT: Any = _LeftOut()


async def _let_loop_run() -> None:
    # asyncio is imported here, not at module level: whoever awaits this
    # already runs an asyncio loop, and plain `import memstore` stays light.
    import asyncio

    await asyncio.sleep(0)


async def _journaled_write(store: Any, write: Any, *args: Any, **options: Any) -> None:
    """A batch on a store kept in a directory is one journal record, so it
    is written in one call, not in chunks.  With fsync="always" that call
    waits for the disk: it runs in the loop's default executor so the loop
    keeps running (the store's journal lock keeps writes in order)."""
    if store._journal_fsync() == "always":
        import asyncio
        import functools

        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, functools.partial(write, *args, **options))
    else:
        write(*args, **options)


class TrieStore(TrieStoreBase[V]):
    """An in-memory ``str``-keyed store, ordered by key, on a radix tree.

    LangChain's store API (``mget``, ``mset``, ``mdelete``, ``yield_keys``
    and their async twins) plus a mapping interface, prefix counts, prefix
    deletion, longest-prefix match and ordered, resumable, reversible
    listing.  See the README for the full table of methods and costs.

    >>> store = TrieStore()
    >>> store.mset([("message:s1:1", "hi"), ("message:s2:1", "yo")])
    >>> list(store.yield_keys(prefix="message:s1:"))
    ['message:s1:1']
    """

    __slots__ = ()

    async def amget(self, keys: Iterable[str]) -> list[V | None]:
        """Async :meth:`mget`: runs on the calling loop, yielding to it
        between chunks of keys.  O(B·L).

        Every key is checked before the first lookup (on a snapshot of the
        batch), so an error names the key's index in the whole batch.

        >>> await store.amget(["a", "missing"])  # doctest: +SKIP
        [1, None]
        """
        keys = self._validate_keys(keys)
        if len(keys) <= _CHUNK:
            return self.mget(keys)
        values: list[V | None] = []
        for start in range(0, len(keys), _CHUNK):
            if start:
                await _let_loop_run()
            values.extend(self.mget(keys[start : start + _CHUNK]))
        return values

    async def amset(
        self, key_value_pairs: Iterable[tuple[str, V]], *, ttl: Any = _LEFT_OUT
    ) -> None:
        """Async :meth:`mset`: validates the whole batch, then writes it in
        chunks, yielding to the loop between them.  O(B·L).

        What is written is a snapshot of the batch taken at the call, so a
        bad element anywhere writes nothing, even if the caller's list
        changes while the chunks are written.  Other tasks may see the batch
        half written while it runs; running out of memory keeps the chunks
        already written.  ``ttl`` is :meth:`mset`'s, checked before anything
        is written; each chunk's lifetime starts when the chunk is written.
        On a store made by :meth:`open` the batch is written in one call
        (one journal record); with ``fsync="always"`` that call runs in the
        loop's default executor, so waiting for the disk does not block the
        loop.

        >>> await store.amset([("a", 1), ("b", 2)], ttl=60)  # doctest: +SKIP
        """
        pairs = self._validate_pairs(key_value_pairs)
        options = {} if ttl is _LEFT_OUT else {"ttl": ttl}
        if self._journal_fsync() is not None:
            await _journaled_write(self, self.mset, pairs, **options)
            return
        if not pairs:
            self.mset((), **options)  # a bad ttl raises even for no pairs
        for start in range(0, len(pairs), _CHUNK):
            if start:
                await _let_loop_run()
            self.mset(pairs[start : start + _CHUNK], **options)

    async def amdelete(self, keys: Iterable[str]) -> None:
        """Async :meth:`mdelete`: validates every key, then deletes in
        chunks, yielding to the loop between them.  O(B·L).

        Like :meth:`amset` it works on a snapshot of the batch: a bad key
        anywhere deletes nothing.

        >>> await store.amdelete(["a", "missing"])  # doctest: +SKIP
        """
        keys = self._validate_keys(keys, "amdelete")
        if self._journal_fsync() is not None:
            await _journaled_write(self, self.mdelete, keys)
            return
        for start in range(0, len(keys), _CHUNK):
            if start:
                await _let_loop_run()
            self.mdelete(keys[start : start + _CHUNK])

    def ayield_keys(
        self,
        *,
        prefix: str | None = None,
        start_after: str | None = None,
        limit: int | None = None,
        reverse: bool = False,
        start: str | None = None,
        stop: str | None = None,
        delimiter: str | None = None,
    ) -> AsyncStoreIterator[str]:
        """Async :meth:`yield_keys`: same options (range bounds ``start`` and
        ``stop``, ``delimiter`` for a directory listing) and order, yielding
        to the loop every 1024 entries.  O(L + M) for M keys listed; with a
        delimiter O(E·L) for E entries, whatever a group holds.

        The options are checked at the call, like :meth:`yield_keys`.  Like
        the synchronous iterator it survives changes to the store made while
        it is open (by other tasks, say).  An await of the next key that
        needs no yield to the loop completes without suspending.

        >>> [k async for k in store.ayield_keys(prefix="a")]  # doctest: +SKIP
        ['a', 'ab']
        >>> [k async for k in store.ayield_keys(delimiter="/")]  # doctest: +SKIP
        ['docs/', 'readme']
        """
        keys = self.yield_keys(
            prefix=prefix,
            start_after=start_after,
            limit=limit,
            reverse=reverse,
            start=start,
            stop=stop,
            delimiter=delimiter,
        )
        return AsyncStoreIterator(keys, _LIST_CHUNK)


InMemoryStore = TrieStore
"""Alias of :class:`TrieStore`, named after LangChain's ``InMemoryStore``."""


class InMemoryByteStore(TrieStore[bytes]):
    """A :class:`TrieStore` whose values must be ``bytes`` (or a subclass).

    Named after LangChain's ``InMemoryByteStore``.  A value of another type
    raises ``TypeError`` naming it (and its index in a batch); the batch
    then changes nothing.

    >>> cache = InMemoryByteStore()
    >>> cache.mset([("emb:a", b"[0.1, 0.2]")])
    >>> cache.mget(["emb:a"])
    [b'[0.1, 0.2]']
    """

    __slots__ = ()
    _value_type = bytes
