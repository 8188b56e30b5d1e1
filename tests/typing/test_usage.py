"""memstore used the way its users type it.

Two jobs in one file:

* ``.ci/typecheck.sh`` checks it with ``mypy --strict`` and pyright (strict):
  every ``assert_type`` must hold for both checkers, and every call must be
  accepted.  The lines that must be *rejected* are in ``fail_*.py``.
* pytest runs it, so what the types promise is also what happens.  Code that
  needs no server runs; RedisStore is only constructed in functions that are
  type-checked and never called (``check_*``), so no server is needed.

Unions in ``assert_type`` are quoted: both checkers read them as types, and
Python 3.9 never evaluates ``int | None``.  So is ``StoreIterator[...]``:
the extension type is generic only in the stub (no ``__class_getitem__``).  Tests of API that the extension
in this checkout does not have yet (expiry, range and delimiter listing are
built on other branches) skip, saying so; the type checks of that API run
regardless.
"""

from __future__ import annotations

import asyncio
import copy
import pickle
import sys
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import TypeVar

import pytest

from memstore import InMemoryByteStore, InMemoryStore, PrefixStore, TrieStore
from memstore._core import AsyncStoreIterator, StoreIterator  # noqa: F401 (in quoted types)
from memstore.redis import RedisStore

if sys.version_info >= (3, 11):
    from typing import assert_type
else:
    from typing_extensions import assert_type

V = TypeVar("V")


def _engine_has(option: str) -> bool:
    """Whether the built extension takes this listing option yet."""
    keys = getattr(TrieStore[int](), "keys")  # noqa: B009 - options it may not type
    try:
        keys(**{option: "a"})
    except TypeError:
        return False
    return True


needs_expiry = pytest.mark.skipif(
    not hasattr(TrieStore, "expire"),
    reason="the built extension has no expiry yet (ttl branch)",
)
needs_range = pytest.mark.skipif(
    not _engine_has("start"),
    reason="the built extension has no start/stop yet (listing branch)",
)
needs_delimiter = pytest.mark.skipif(
    not _engine_has("delimiter"),
    reason="the built extension has no delimiter yet (listing branch)",
)


# ---------------------------------------------------------------- TrieStore


def test_trie_store_values_keep_their_type() -> None:
    store = TrieStore[int]({"a": 1})
    assert_type(store, TrieStore[int])
    store["b"] = 2
    store.mset([("c", 3), ("d", 4)])
    store.mset({"e": 5}.items())  # any iterable of pairs

    assert_type(store["a"], int)
    assert_type(store.get("a"), "int | None")
    assert_type(store.get("missing", 0), int)
    assert_type(store.get("missing", "none"), "int | str")
    assert_type(store.get("missing", None), "int | None")
    assert_type(store.mget(["a", "missing"]), "list[int | None]")
    assert_type(store.longest_prefix("ab"), "tuple[str, int] | None")
    assert_type(store.count("a"), int)
    assert_type(store.delete_prefix("e"), int)
    assert_type(len(store), int)
    assert_type("a" in store, bool)
    assert_type(store.memory_usage(), int)

    assert store["a"] == 1
    assert store.get("missing", 0) == 0
    assert store.mget(["a", "missing"]) == [1, None]
    assert store.longest_prefix("ab") == ("a", 1)
    assert len(store) == 4
    del store["d"]
    store.mdelete(["c", "missing"])
    assert list(store) == ["a", "b"]


def test_trie_store_from_pairs_and_mappings() -> None:
    # (pyright infers TrieStore[Literal[b"x"]] here, mypy TrieStore[bytes].)
    from_pairs: TrieStore[bytes] = TrieStore([("a", b"x")])
    from_mapping = TrieStore({"a": [1, 2]})
    assert_type(from_mapping, TrieStore[list[int]])
    annotated: TrieStore[str] = TrieStore()
    assert_type(annotated.get("a"), "str | None")
    assert from_pairs["a"] == b"x"
    assert from_mapping["a"] == [1, 2]


def test_copy_and_pickle_keep_the_class_and_value_type() -> None:
    store = TrieStore[str]({"a": "x"})
    assert_type(store.copy(), TrieStore[str])
    assert_type(copy.copy(store), TrieStore[str])
    restored: TrieStore[str] = pickle.loads(pickle.dumps(store))
    assert restored == store == {"a": "x"}
    assert store.copy() == store


def test_listings_are_typed_iterators() -> None:
    store = TrieStore[float]({"a:1": 1.0, "a:2": 2.0, "b": 3.0})
    keys = store.yield_keys(prefix="a:", start_after="a:1", limit=5, reverse=False)
    assert_type(keys, "StoreIterator[str]")
    assert_type(next(keys), str)
    assert_type(store.keys("a:"), "StoreIterator[str]")
    assert_type(store.values(limit=1), "StoreIterator[float]")
    assert_type(store.items(reverse=True), "StoreIterator[tuple[str, float]]")
    assert_type(iter(store), "StoreIterator[str]")
    for key in store:
        assert_type(key, str)
    for key, value in store.items("a:"):
        assert_type(key, str)
        assert_type(value, float)

    # What LangChain's yield_keys contract asks: a generator, and an Iterator.
    generator = store.yield_keys()
    listed: Iterator[str] = generator
    assert next(listed) == "a:1"
    generator.close()
    assert list(generator) == []
    assert list(store.values()) == [1.0, 2.0, 3.0]
    assert list(store.items("a:", limit=1)) == [("a:1", 1.0)]


def test_limit_takes_an_index_like_number() -> None:
    # SupportsIndex, so numpy integers pass the type check as they do at
    # runtime; the same for every listing.
    class Two:
        def __index__(self) -> int:
            return 2

    store = TrieStore[int]({"a": 1, "b": 2, "c": 3})
    assert list(store.keys(limit=Two())) == ["a", "b"]


def test_async_methods_and_async_iterator() -> None:
    async def use(store: TrieStore[int]) -> list[str]:
        await store.amset([("a", 1), ("b", 2)])
        assert_type(await store.amget(["a", "zz"]), "list[int | None]")
        await store.amdelete(["b"])
        listing = store.ayield_keys(prefix="", limit=10)
        assert_type(listing, AsyncStoreIterator[str])
        as_iterator: AsyncIterator[str] = listing
        return [key async for key in as_iterator]

    assert asyncio.run(use(TrieStore[int]())) == ["a"]


# ------------------------------------------------------- the new API (issue 12)


@needs_expiry
def test_expiry_api() -> None:
    now = [100.0]
    store = TrieStore[str](ttl=10, clock=lambda: now[0])
    assert_type(store.default_ttl, "float | None")
    store["a"] = "x"  # the store's default lifetime
    store.mset([("b", "y")], ttl=None)  # no lifetime
    store.mset([("c", "z")], ttl=2.5)
    assert_type(store.expire("b", 5), bool)
    assert_type(store.ttl("a"), "float | None")
    assert_type(store.persist("b"), bool)

    assert store.default_ttl == 10
    assert store.ttl("a") == 10
    now[0] += 3
    assert "c" not in store
    assert store.persist("b") is False  # persisted above
    assert store.ttl("b") is None
    assert TrieStore[int]().default_ttl is None


@needs_expiry
def test_amset_takes_a_ttl() -> None:
    now = [0.0]
    store = InMemoryStore[int](clock=lambda: now[0])

    async def write() -> None:
        await store.amset([("a", 1)], ttl=1)
        await store.amset([("b", 2)])

    asyncio.run(write())
    now[0] = 1.0
    assert list(store) == ["b"]


@needs_range
def test_range_listing() -> None:
    store = TrieStore[int](dict.fromkeys(["e:1", "e:2", "e:3", "f"], 0))
    between = store.keys(start="e:2", stop="e:3")
    assert_type(between, "StoreIterator[str]")
    assert_type(store.values(start="e", stop="f"), "StoreIterator[int]")
    assert_type(store.items(prefix="e:", start="e:2"), "StoreIterator[tuple[str, int]]")
    assert_type(store.yield_keys(start="e:2", stop=None), "StoreIterator[str]")
    assert list(between) == ["e:2"]
    assert list(store.yield_keys(prefix="e:", start="e:2", reverse=True)) == [
        "e:3",
        "e:2",
    ]


@needs_delimiter
def test_delimiter_listing() -> None:
    store = TrieStore[bytes](
        dict.fromkeys(["docs/a.md", "docs/img/1.png", "readme"], b"")
    )
    assert_type(store.keys(delimiter="/"), "StoreIterator[str]")
    assert list(store.keys(delimiter="/")) == ["docs/", "readme"]
    assert list(store.yield_keys(prefix="docs/", delimiter="/")) == [
        "docs/a.md",
        "docs/img/",
    ]

    async def listing() -> list[str]:
        return [k async for k in store.ayield_keys(delimiter="/", start="a", stop="z")]

    assert asyncio.run(listing()) == ["docs/", "readme"]


# ----------------------------------------------- aliases and the bytes store


def test_in_memory_store_is_trie_store() -> None:
    store = InMemoryStore[str]()
    assert_type(store, TrieStore[str])
    store["a"] = "x"
    assert InMemoryStore is TrieStore


def test_in_memory_byte_store_holds_bytes() -> None:
    cache = InMemoryByteStore()
    assert_type(cache, InMemoryByteStore)
    cache.mset([("emb:a", b"[0.1]")])
    assert_type(cache.mget(["emb:a"]), "list[bytes | None]")
    assert_type(cache.get("emb:a"), "bytes | None")
    assert_type(cache.copy(), InMemoryByteStore)
    as_trie: TrieStore[bytes] = cache
    assert as_trie["emb:a"] == b"[0.1]"


# ----------------------------------------------------------- the protocol


def total(store: PrefixStore[int], prefix: str) -> int:
    """A function written against the protocol: runs on any backend."""
    return sum(value for _, value in store.items(prefix))


def first_value(store: PrefixStore[V], prefix: str) -> V | None:
    """Generic over the value type: the store's V comes back."""
    for key in store.yield_keys(prefix=prefix, limit=1):
        return store.get(key)
    return None


def copy_keys(
    source: PrefixStore[V], target: PrefixStore[V], keys: Sequence[str]
) -> None:
    values = source.mget(keys)
    target.mset([(k, v) for k, v in zip(keys, values) if v is not None])


def use_protocol(store: PrefixStore[int]) -> None:
    """Every member of the protocol, as a caller reaches it."""
    assert_type(store.get("a"), "int | None")
    assert_type(store.get("a", 0), int)
    assert_type(store.get("a", "no"), "int | str")
    assert_type(store["a"], int)
    assert_type(store.mget(["a"]), "list[int | None]")
    assert_type(store.longest_prefix("a"), "tuple[str, int] | None")
    assert_type(store.count(), int)
    assert_type(store.count(None), int)
    assert_type(store.delete_prefix("zz"), int)
    assert_type(list(store.keys("a", limit=1, reverse=True)), list[str])
    assert_type(list(store.values()), list[int])
    assert_type(list(store.items()), list[tuple[str, int]])
    assert_type(list(store), list[str])
    store.mset([("b", 2)])
    store["c"] = 3
    del store["c"]
    store.mdelete(["b"])


def use_protocol_new_api(store: PrefixStore[int]) -> None:
    """The members added by issue 12 (checked; run when the engine has them)."""
    store.mset([("t", 1)], ttl=60)
    store.mset([("u", 2)], ttl=None)
    assert_type(store.default_ttl, "float | None")
    assert_type(store.expire("t", 1.5), bool)
    assert_type(store.ttl("t"), "float | None")
    assert_type(store.persist("t"), bool)
    assert_type(list(store.keys(start="a", stop="z", delimiter="/")), list[str])
    assert_type(list(store.yield_keys(start="a", stop="z", delimiter="/")), list[str])
    assert_type(list(store.values(start="a", stop="z")), list[int])
    assert_type(list(store.items(start="a", stop="z")), list[tuple[str, int]])


async def use_protocol_async(store: PrefixStore[int]) -> list[str]:
    await store.amset([("a", 1)])
    assert_type(await store.amget(["a"]), "list[int | None]")
    await store.amdelete(["zz"])
    return [key async for key in store.ayield_keys(prefix="a")]


async def use_protocol_async_new_api(store: PrefixStore[int]) -> list[str]:
    await store.amset([("a", 1)], ttl=30)
    await store.amset([("b", 1)], ttl=None)
    return [key async for key in store.ayield_keys(start="a", stop="b", delimiter="/")]


def test_trie_stores_satisfy_the_protocol() -> None:
    store = TrieStore[int]({"a": 1, "ab": 2, "b": 5})
    as_protocol: PrefixStore[int] = store
    alias_as_protocol: PrefixStore[int] = InMemoryStore[int]()
    bytes_as_protocol: PrefixStore[bytes] = InMemoryByteStore()
    assert isinstance(store, PrefixStore)
    assert isinstance(bytes_as_protocol, PrefixStore)
    assert total(store, "a") == 3
    assert total(alias_as_protocol, "a") == 0
    assert_type(first_value(store, "a"), "int | None")
    assert_type(first_value(bytes_as_protocol, "a"), "bytes | None")
    assert first_value(store, "a") == 1
    target = TrieStore[int]()
    copy_keys(store, target, ["a", "b", "missing"])
    assert target == {"a": 1, "b": 5}
    use_protocol(as_protocol)
    assert asyncio.run(use_protocol_async(store)) == ["a", "ab"]


@needs_expiry
@needs_range
@needs_delimiter
def test_trie_stores_satisfy_the_new_protocol_api() -> None:
    store = TrieStore[int]()
    use_protocol_new_api(store)
    assert asyncio.run(use_protocol_async_new_api(store)) == ["a"]


# -------------------------------------------------------------- LangChain


def test_langchain_stores() -> None:
    pytest.importorskip("langchain_core")
    from langchain_core.stores import BaseStore, ByteStore

    from memstore import langchain

    docstore = langchain.InMemoryStore[str]()
    docstore.mset([("doc:1", "hello")])
    assert_type(docstore.mget(["doc:1"]), "list[str | None]")
    assert_type(docstore.get("doc:1"), "str | None")
    assert_type(docstore.yield_keys(prefix="doc:"), "StoreIterator[str]")
    as_base: BaseStore[str, str] = docstore
    as_protocol: PrefixStore[str] = docstore
    assert as_base.mget(["doc:1"]) == ["hello"]
    assert first_value(as_protocol, "doc:") == "hello"

    cache = langchain.InMemoryByteStore()
    as_byte_store: ByteStore = cache
    bytes_protocol: PrefixStore[bytes] = cache
    as_byte_store.mset([("k", b"v")])
    assert_type(cache.mget(["k"]), "list[bytes | None]")
    assert first_value(bytes_protocol, "k") == b"v"


# ------------------------------------------------ RedisStore: checked only
#
# Never called: constructing them needs no server, but using them does, and
# tests/test_redis.py and tests/test_contract.py run them against one.


def check_redis_default_is_a_byte_store() -> None:
    store = RedisStore(url="redis://localhost:6379/0", namespace="demo")
    assert_type(store, RedisStore[bytes])
    store.mset([("message:s1:1", b"hi")])
    assert_type(store.get("message:s1:1"), "bytes | None")
    assert_type(store.get("message:s1:1", b""), bytes)
    assert_type(store["message:s1:1"], bytes)
    assert_type(store.mget(["message:s1:1"]), "list[bytes | None]")
    assert_type(list(store.yield_keys(prefix="message:")), list[str])
    assert_type(store.default_ttl, "float | None")
    bytes_protocol: PrefixStore[bytes] = store
    assert_type(first_value(bytes_protocol, "message:"), "bytes | None")
    store.close()


def check_redis_with_a_serializer() -> None:
    store = RedisStore[dict[str, int]](
        url="redis://localhost:6379/0", serializer="json", ttl=60
    )
    store.mset([("a", {"n": 1})], ttl=None)
    assert_type(store.get("a"), "dict[str, int] | None")
    assert_type(store.get("a", {}), "dict[str, int]")
    as_protocol: PrefixStore[dict[str, int]] = store
    use_ints: PrefixStore[int] = RedisStore[int](
        url="redis://localhost", serializer="json"
    )
    use_protocol(use_ints)
    use_protocol_new_api(use_ints)
    assert_type(first_value(as_protocol, "a"), "dict[str, int] | None")


async def check_redis_async() -> list[str]:
    store = RedisStore[int](url="redis://localhost:6379/0", serializer="json")
    await store.amset([("a", 1)], ttl=1.0)
    assert_type(await store.amget(["a"]), "list[int | None]")
    await store.aclose()
    return await use_protocol_async(store) + await use_protocol_async_new_api(store)


def check_langchain_redis_store() -> None:
    from memstore import langchain

    store = langchain.RedisStore(url="redis://localhost:6379/0")
    assert_type(store.get("a"), "bytes | None")
    typed = langchain.RedisStore[str](url="redis://localhost:6379/0", serializer="json")
    as_protocol: PrefixStore[str] = typed
    assert_type(first_value(as_protocol, ""), "str | None")


# ------------------------------------------------------- the protocol guard


def test_protocol_runtime_check_covers_the_expiry_api_once_built() -> None:
    # Every backend has expiry, so isinstance(x, PrefixStore) must check
    # those members too: an object with everything else is not a store.
    members = ("default_ttl", "expire", "ttl", "persist")
    backends: list[type[object]] = [TrieStore, RedisStore]
    if not all(hasattr(b, m) for b in backends for m in members):
        pytest.skip("not every backend has expiry yet (ttl and redis branches)")

    def anything(self: object, *args: object, **kwargs: object) -> None:
        pass

    dunders = (
        "__len__",
        "__contains__",
        "__getitem__",
        "__setitem__",
        "__delitem__",
        "__iter__",
    )
    without_expiry = type(
        "WithoutExpiry",
        (),
        {
            name: anything
            for name in dir(TrieStore)
            if name not in members and (not name.startswith("_") or name in dunders)
        },
    )
    assert isinstance(without_expiry(), PrefixStore) is False, (
        "PrefixStore's runtime check ignores the expiry members"
    )
