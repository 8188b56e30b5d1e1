"""Lines mypy and pyright must both reject: values of the wrong type.

Never imported or run; ``.ci/typecheck.sh`` (``expect_errors.py``) checks
that each checker reports an error on every line marked ``expect-error``
and on no other line.
"""

from __future__ import annotations

from memstore import InMemoryByteStore, TrieStore

ints = TrieStore[int]()
ints["a"] = "one"  # expect-error: a str into a TrieStore[int]
ints.mset([("a", "one")])  # expect-error: the same in a batch
ints.mset([(1, 1)])  # expect-error: keys are str
TrieStore[int]({"a": "one"})  # expect-error: the same at construction
ints[1] = 1  # expect-error: keys are str
maybe_missing: int = ints.get("a")  # expect-error: get() may return None
still_maybe: int = ints.get("a", None)  # expect-error: so may get(k, None)
listed: list[int] = ints.mget(["a"])  # expect-error: mget() has None for missing keys
as_strs: list[str] = list(ints.values())  # expect-error: values are int
pairs: list[tuple[str, str]] = list(ints.items())  # expect-error: items are (str, int)

cache = InMemoryByteStore()
cache["a"] = "text"  # expect-error: InMemoryByteStore holds bytes
cache.mset([("a", "text")])  # expect-error: the same in a batch
as_text: str | None = cache.get("a")  # expect-error: its values are bytes
