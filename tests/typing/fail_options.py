"""Bad options of TrieStore's own API that both checkers must reject (see
fail_values.py for how these files are checked)."""

from __future__ import annotations

from memstore import TrieStore

store = TrieStore[int]()
store.keys(delimiter=1)  # expect-error: the delimiter is a str
store.values(delimiter="/")  # expect-error: values are never rolled up
store.items(delimiter="/")  # expect-error: nor are items
store.yield_keys("a")  # expect-error: keyword-only options
store.keys(start=1)  # expect-error: start is a str
store.keys(stop=b"z")  # expect-error: so is stop
store.keys(start_after=1)  # expect-error: so is start_after
store.keys(limit="10")  # expect-error: limit is an int (or __index__)
store.keys(limit=1.5)  # expect-error: a float has no __index__
store.mset([("a", 1)], ttl="60")  # expect-error: ttl is a number of seconds
store.mset([("a", 1)], 60)  # expect-error: ttl is keyword-only
store.expire("a")  # expect-error: expire needs a ttl
store.expire("a", "60")  # expect-error: a number of seconds
store.ttl(1)  # expect-error: keys are str
store.persist()  # expect-error: persist needs a key
store.default_ttl = 5  # expect-error: read-only
TrieStore[int](ttl="60")  # expect-error: a number of seconds
TrieStore[int](clock=1.0)  # expect-error: the clock is a callable
TrieStore[int](clock=lambda: "now")  # expect-error: returning a number
TrieStore[int](expiry=5)  # expect-error: no such option
TrieStore[int]({}, 60)  # expect-error: ttl is keyword-only
