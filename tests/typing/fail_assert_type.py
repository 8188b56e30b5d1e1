"""assert_type lines that must fail: they prove assert_type is enforced, and
that results are precise types, never Any (see fail_values.py for how these
files are checked)."""

from __future__ import annotations

import sys
from typing import Any

from memstore import PrefixStore, TrieStore
from memstore.redis import RedisStore

if sys.version_info >= (3, 11):
    from typing import assert_type
else:
    from typing_extensions import assert_type

store = TrieStore[int]()
assert_type(store.get("a"), int)  # expect-error: it is int | None
assert_type(store.get("a"), Any)  # expect-error: and not Any
assert_type(store.mget(["a"]), list[int])  # expect-error: list[int | None]
assert_type(store.copy(), TrieStore[Any])  # expect-error: TrieStore[int]

redis_store = RedisStore(url="redis://localhost:6379/0")
assert_type(redis_store, RedisStore[Any])  # expect-error: RedisStore[bytes]
assert_type(redis_store.get("a"), Any)  # expect-error: bytes | None, not Any
assert_type(redis_store.mget(["a"]), list[Any])  # expect-error: list[bytes | None]


def through_protocol(protocol: PrefixStore[str]) -> None:
    assert_type(protocol.get("a"), str)  # expect-error: str | None
    assert_type(protocol.get("a", 0), str)  # expect-error: str | int
