"""memstore stores that *are* LangChain stores.

Install with ``pip install 'memstore-trie[langchain]'`` (the extra pulls in
``langchain-core``; the rest of memstore does not need it).

``InMemoryStore`` and ``InMemoryByteStore`` here are drop-in replacements for
``langchain_core.stores.InMemoryStore`` and ``InMemoryByteStore``::

    from memstore.langchain import InMemoryStore, InMemoryByteStore

Each class inherits from both the memstore store and
``langchain_core.stores.BaseStore``, so:

* ``isinstance(store, BaseStore)`` holds, and pydantic fields typed
  ``BaseStore[str, X]`` or ``ByteStore`` (``MultiVectorRetriever.docstore``,
  ``.byte_store``, ...) accept the store;
* every method is memstore's own, found first in the method resolution order:
  ``InMemoryStore.mget is memstore.TrieStore.mget``.  Nothing is wrapped, so a
  call costs what it costs on ``memstore.TrieStore``;
* ``amget``, ``amset``, ``amdelete`` and ``ayield_keys`` are memstore's
  coroutines / async iterator, which run on the calling event loop instead of
  ``BaseStore``'s default of sending every call to a thread pool;
* the LangChain signatures hold: ``mget(keys)``, ``mset(key_value_pairs)``,
  ``mdelete(keys)``, ``yield_keys(*, prefix=None)``.  ``yield_keys`` and
  ``ayield_keys`` also take memstore's keyword-only ``start_after``, ``limit``
  and ``reverse``, and the whole memstore API (``count``, ``delete_prefix``,
  ``longest_prefix``, mapping access, ...) is available.

Both in-memory classes take memstore's keyword-only constructor options,
``ttl`` (a default lifetime in seconds for every write that gives none) and
``clock`` (the time source, default the wall clock), and have ``expire``,
``ttl`` and ``persist``; ``mset``/``amset`` take ``ttl=`` for one batch::

    cache = InMemoryByteStore(ttl=3600)           # entries live an hour
    cache.mset([("emb:a", b"[0.1]")], ttl=60)     # this batch a minute

Keys follow ``BaseStore[str, V]``: any ``str`` is a valid key (there are no
forbidden characters, unlike ``LocalFileStore`` whose keys become file
paths), and a key that is not a ``str`` raises ``TypeError``.
``InMemoryByteStore`` raises ``TypeError`` for a value that is not ``bytes``
(or a subclass); in both cases the batch changes nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

try:
    from langchain_core.stores import BaseStore
except ImportError as exc:  # pragma: no cover - exercised in a subprocess test
    raise ImportError(
        "memstore.langchain needs langchain-core; install it with pip install 'memstore-trie[langchain]'"
    ) from exc

from memstore import InMemoryByteStore as _TrieByteStore
from memstore import TrieStore as _TrieStore
from memstore.redis import RedisStore as _RedisStore

__all__ = ["InMemoryByteStore", "InMemoryStore", "RedisStore"]

V = TypeVar("V")

if TYPE_CHECKING:
    # RedisStore made without a serializer stores bytes: with this default
    # it needs no annotation under mypy --strict (as memstore.redis's).
    from typing_extensions import TypeVar as _DefaultingTypeVar

    _RedisV = _DefaultingTypeVar("_RedisV", default=bytes)
else:
    _RedisV = TypeVar("_RedisV")


class InMemoryStore(_TrieStore[V], BaseStore[str, V]):  # pyright: ignore[reportIncompatibleMethodOverride]
    """A ``memstore.TrieStore`` that is a ``langchain_core.stores.BaseStore[str, V]``.

    Values can be any Python object.  Drop-in replacement for
    ``langchain_core.stores.InMemoryStore``; see the module docstring.

    Example::

        from langchain_core.documents import Document
        from memstore.langchain import InMemoryStore

        docstore = InMemoryStore[Document]()
        docstore.mset([("doc:1", Document(page_content="hello"))])
        docstore.mget(["doc:1", "doc:2"])          # [Document(...), None]
        list(docstore.yield_keys(prefix="doc:"))   # ['doc:1']

        sessions = InMemoryStore(ttl=1800)         # keys expire after 30 min
    """


class InMemoryByteStore(_TrieByteStore, BaseStore[str, bytes]):  # pyright: ignore[reportIncompatibleMethodOverride]
    """A ``memstore.InMemoryByteStore`` that is a LangChain ``ByteStore``.

    ``ByteStore`` is ``BaseStore[str, bytes]``: values must be ``bytes``.
    Drop-in replacement for ``langchain_core.stores.InMemoryByteStore``;
    see the module docstring.

    Example::

        from memstore.langchain import InMemoryByteStore

        cache = InMemoryByteStore()
        cache.mset([("emb:a", b"[0.1, 0.2]")])
        cache.mget(["emb:a"])                      # [b'[0.1, 0.2]']
        cache.mset([("emb:b", b"[0.3]")], ttl=60)  # gone after a minute
    """


class RedisStore(_RedisStore[_RedisV], BaseStore[str, _RedisV]):  # pyright: ignore[reportIncompatibleMethodOverride]
    """A ``memstore.redis.RedisStore`` that is a LangChain ``BaseStore``.

    Replaces ``langchain_community.storage.RedisStore``: the same
    ``mget``/``mset``/``mdelete``/``yield_keys(prefix=...)``, but listing by
    prefix reads a lex-ordered index instead of scanning the keyspace, and
    the async methods use redis-py's asyncio client instead of a thread
    pool.  Needs the ``redis`` extra as well.  With the default
    ``serializer=None`` it is a ``ByteStore``.

    Example::

        from memstore.langchain import RedisStore

        store = RedisStore(url="redis://localhost:6379/0", namespace="emb")
        store.mset([("emb:a", b"[0.1, 0.2]")])
        list(store.yield_keys(prefix="emb:"))      # ['emb:a']
    """
