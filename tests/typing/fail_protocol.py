"""Stores that must not pass for a PrefixStore of the wrong kind (see
fail_values.py for how these files are checked)."""

from __future__ import annotations

from langchain_core.stores import InMemoryStore as LangChainInMemoryStore

from memstore import InMemoryByteStore, PrefixStore, TrieStore
from memstore.redis import RedisStore

URL = "redis://localhost:6379/0"


def total(store: PrefixStore[int]) -> int:
    return len(store)


def any_number(store: PrefixStore[float]) -> int:
    return len(store)


def texts(store: PrefixStore[str]) -> int:
    return len(store)


total(TrieStore[str]())  # expect-error: str values are no int values
total(InMemoryByteStore())  # expect-error: nor are bytes
# Invariant in V: a PrefixStore[float] may be given 1.5 to store, which a
# TrieStore[int] must not hold; a PrefixStore[int] may hand out what a
# TrieStore[bool] must not be given.
any_number(TrieStore[int]())  # expect-error: invariant
total(TrieStore[bool]())  # expect-error: invariant
total({"a": 1})  # expect-error: a dict has no prefix API
total(LangChainInMemoryStore())  # expect-error: LangChain's own store neither
texts(RedisStore(url=URL))  # expect-error: RedisStore() holds bytes
texts(RedisStore[bytes](url=URL))  # expect-error: the same, explicit


def protocol_options(store: PrefixStore[int]) -> None:
    store.mset([("a", "one")])  # expect-error: a str into a PrefixStore[int]
    store.mset([("a", 1)], ttl="60")  # expect-error: ttl is a number
    store.mset([("a", 1)], 60)  # expect-error: ttl is keyword-only
    store.values(delimiter="/")  # expect-error: only key listings roll up
    store.items(delimiter="/")  # expect-error: the same
    store.yield_keys("a")  # expect-error: LangChain's yield_keys is keyword-only
    store.keys(start=1)  # expect-error: start is a str
    store.expire("a")  # expect-error: expire needs a ttl
    store.default_ttl = 5  # expect-error: default_ttl is read-only
