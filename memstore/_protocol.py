"""The surface every memstore backend offers, so code written against one
runs unchanged on another (``TrieStore`` in memory, ``RedisStore`` on a
server).  The shared contract tests in ``tests/test_contract.py`` run against each
backend through this protocol.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Protocol, TypeVar, overload, runtime_checkable

__all__ = ["PrefixStore"]

# Invariant: a store's values are read (get, mget, items) and written (mset,
# __setitem__), so a PrefixStore[bool] is no PrefixStore[int] (writing 2 into
# it would be allowed) and a PrefixStore[int] no PrefixStore[bool].
V = TypeVar("V")
T = TypeVar("T")


@runtime_checkable
class PrefixStore(Protocol[V]):
    """A ``str``-keyed store ordered by the UTF-8 bytes of its keys.

    LangChain's store API (``mget``, ``mset``, ``mdelete``, ``yield_keys``
    and the async twins) plus prefix counting, prefix deletion,
    longest-prefix match, keys that expire, and ordered, resumable,
    reversible listing by prefix, by range and by "directory" (delimiter).
    A batch with one bad element writes nothing.

    Parameter types are what every backend accepts: a backend may accept
    more (``TrieStore.mget`` takes any iterable, ``limit`` an object with
    ``__index__``), code typed against the protocol passes what all take.
    """

    # LangChain's BaseStore API
    def mget(self, keys: Sequence[str]) -> list[V | None]:
        """Values of ``keys``, ``None`` where a key is missing, in order."""
        ...

    def mset(
        self, key_value_pairs: Sequence[tuple[str, V]], *, ttl: float | None = ...
    ) -> None:
        """Stores every pair, all or nothing.  ``ttl``: the pairs' lifetime
        in seconds; left out, the store's ``default_ttl``; ``None``, none."""
        ...

    def mdelete(self, keys: Sequence[str]) -> None:
        """Removes ``keys``; missing ones are ignored."""
        ...

    def yield_keys(
        self,
        *,
        prefix: str | None = None,
        start_after: str | None = None,
        limit: int | None = None,
        reverse: bool = False,
        start: str | None = None,
        stop: str | None = None,
        delimiter: str | None = None,
    ) -> Iterator[str]:
        """Keys starting with ``prefix`` and within ``start`` (inclusive)
        and ``stop`` (exclusive), in key order (descending with
        ``reverse``), after ``start_after`` in that order, at most
        ``limit``.  With ``delimiter``, keys whose rest after ``prefix``
        contains it are rolled up into one entry per group, as S3's
        ListObjects does."""
        ...

    async def amget(self, keys: Sequence[str]) -> list[V | None]:
        """Async :meth:`mget`."""
        ...

    async def amset(
        self, key_value_pairs: Sequence[tuple[str, V]], *, ttl: float | None = ...
    ) -> None:
        """Async :meth:`mset`, with the same ``ttl``."""
        ...

    async def amdelete(self, keys: Sequence[str]) -> None:
        """Async :meth:`mdelete`."""
        ...

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
    ) -> AsyncIterator[str]:
        """Async :meth:`yield_keys`: the same options and order."""
        ...

    # prefixes
    def count(self, prefix: str | None = "") -> int:
        """Number of keys starting with ``prefix`` (all keys for ``""``
        or ``None``)."""
        ...

    def delete_prefix(self, prefix: str) -> int:
        """Removes every key starting with ``prefix``; returns how many."""
        ...

    def longest_prefix(self, key: str) -> tuple[str, V] | None:
        """``(stored_key, value)`` for the longest stored key that ``key``
        starts with, or ``None``."""
        ...

    # single keys and the whole store
    def __len__(self) -> int: ...
    def __contains__(self, key: object) -> bool: ...
    def __getitem__(self, key: str) -> V: ...
    def __setitem__(self, key: str, value: V) -> None: ...
    def __delitem__(self, key: str) -> None: ...
    def __iter__(self) -> Iterator[str]: ...

    # A default of another type than V widens the result (get(k, 0) on a
    # PrefixStore[str] is str | int).  The stores spell the second overload
    # `default: V | T`, which this one accepts; spelt so here, mypy could no
    # longer infer V when a PrefixStore[V] parameter is given a TrieStore.
    @overload
    def get(self, key: str) -> V | None: ...
    @overload
    def get(self, key: str, default: T) -> V | T: ...
    def get(self, key: str, default: object = None) -> object:
        """The value for ``key``, or ``default`` when missing."""
        ...

    def keys(
        self,
        prefix: str | None = None,
        *,
        start_after: str | None = None,
        limit: int | None = None,
        reverse: bool = False,
        start: str | None = None,
        stop: str | None = None,
        delimiter: str | None = None,
    ) -> Iterator[str]:
        """:meth:`yield_keys` with ``prefix`` as the first argument."""
        ...

    def values(
        self,
        prefix: str | None = None,
        *,
        start_after: str | None = None,
        limit: int | None = None,
        reverse: bool = False,
        start: str | None = None,
        stop: str | None = None,
    ) -> Iterator[V]:
        """Values in key order; options as :meth:`yield_keys` but
        ``delimiter``."""
        ...

    def items(
        self,
        prefix: str | None = None,
        *,
        start_after: str | None = None,
        limit: int | None = None,
        reverse: bool = False,
        start: str | None = None,
        stop: str | None = None,
    ) -> Iterator[tuple[str, V]]:
        """``(key, value)`` pairs in key order; options as
        :meth:`yield_keys` but ``delimiter``."""
        ...

    def clear(self) -> None:
        """Removes every key."""
        ...

    # expiry

    @property
    def default_ttl(self) -> float | None:
        """The store's default lifetime in seconds, or ``None``."""
        ...

    def expire(self, key: str, ttl: float) -> bool:
        """Gives ``key`` a lifetime of ``ttl`` seconds from now; False
        when it is absent or expired."""
        ...

    def ttl(self, key: str) -> float | None:
        """Seconds ``key`` has left, ``None`` when it never expires;
        ``KeyError`` when it is absent or expired."""
        ...

    def persist(self, key: str) -> bool:
        """Removes ``key``'s lifetime; True when it had one."""
        ...
