"""The surface every memstore backend offers, so code written against one
runs unchanged on another (``TrieStore`` in memory, ``RedisStore`` on a
server).  The shared contract tests in ``tests/contract`` run against each
backend through this protocol.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from typing import Protocol, TypeVar, runtime_checkable

__all__ = ["PrefixStore"]

V = TypeVar("V")


@runtime_checkable
class PrefixStore(Protocol[V]):
    """A ``str``-keyed store ordered by the UTF-8 bytes of its keys.

    LangChain's store API (``mget``, ``mset``, ``mdelete``, ``yield_keys``
    and the async twins) plus prefix counting, prefix deletion,
    longest-prefix match and ordered, resumable, reversible listing.
    A batch with one bad element writes nothing.
    """

    # LangChain's BaseStore API
    def mget(self, keys: Sequence[str]) -> list[V | None]: ...
    def mset(self, key_value_pairs: Sequence[tuple[str, V]]) -> None: ...
    def mdelete(self, keys: Sequence[str]) -> None: ...
    def yield_keys(
        self,
        *,
        prefix: str | None = None,
        start_after: str | None = None,
        limit: int | None = None,
        reverse: bool = False,
    ) -> Iterator[str]: ...
    async def amget(self, keys: Sequence[str]) -> list[V | None]: ...
    async def amset(self, key_value_pairs: Sequence[tuple[str, V]]) -> None: ...
    async def amdelete(self, keys: Sequence[str]) -> None: ...
    def ayield_keys(
        self,
        *,
        prefix: str | None = None,
        start_after: str | None = None,
        limit: int | None = None,
        reverse: bool = False,
    ) -> AsyncIterator[str]: ...

    # prefixes
    def count(self, prefix: str | None = "") -> int: ...
    def delete_prefix(self, prefix: str) -> int: ...
    def longest_prefix(self, key: str) -> tuple[str, V] | None: ...

    # single keys and the whole store
    def __len__(self) -> int: ...
    def __contains__(self, key: object) -> bool: ...
    def __getitem__(self, key: str) -> V: ...
    def __setitem__(self, key: str, value: V) -> None: ...
    def __delitem__(self, key: str) -> None: ...
    def get(self, key: str, default: V | None = None) -> V | None: ...
    def items(
        self,
        prefix: str | None = None,
        *,
        start_after: str | None = None,
        limit: int | None = None,
        reverse: bool = False,
    ) -> Iterable[tuple[str, V]]: ...
    def clear(self) -> None: ...
