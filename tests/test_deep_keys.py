"""Deeply nested keys: "a", "aa", ..., "a" * 100_000.

Every key is a prefix of the next, so the tree is a path 100,000 levels deep
and the keys add up to ~5 GB of bytes.  Keys are generated lazily; nothing
here holds more than a few of them at a time.  Recursion anywhere in the C
core (insert, remove, free, iterate) shows up here as a crash.
"""

import gc
import os
import time

from memstore import TrieStore

N = 100_000
# The descending test's depth.  Its shortest-first passes are O(n^2) node
# visits: 6 s here, 21 s under AddressSanitizer (.ci/asan_python.sh), where
# 8,000 levels exercise the same splits and merges at a sixth of the cost.
UNDER_ASAN = "libasan" in os.environ.get("LD_PRELOAD", "")
DESCENDING_N = 8_000 if UNDER_ASAN else 20_000


def key(i):
    return "a" * i


def test_deep_nested_keys(capsys):
    t0 = time.perf_counter()
    timings = {}
    s = TrieStore()
    # Longest first: each key splits the path just above the previous one.
    # Shortest first walks the whole path for every key, O(N^2) node visits
    # (minutes at this depth) that the 20,000-deep test below already covers.
    for i in range(N, 0, -1):
        s[key(i)] = i
    timings["insert"] = time.perf_counter() - t0
    assert len(s) == N

    # count
    t = time.perf_counter()
    assert s.count() == N
    assert s.count("a") == N
    assert s.count(key(50_000)) == N - 50_000 + 1
    assert s.count(key(N)) == 1
    assert s.count(key(N + 1)) == 0
    assert s.count(key(70_000) + "b") == 0
    assert s.count("b") == 0
    timings["count"] = time.perf_counter() - t

    # point lookups
    assert s[key(1)] == 1
    assert s[key(N)] == N
    assert s.get(key(N + 1)) is None
    assert s.mget([key(77_777), key(3), "b"]) == [77_777, 3, None]
    assert key(12_345) in s
    assert key(12_345) + "b" not in s

    # longest_prefix
    assert s.longest_prefix(key(5000) + "b") == (key(5000), 5000)
    k, v = s.longest_prefix(key(N + 50))
    assert len(k) == N and v == N
    assert s.longest_prefix("b") is None

    # full listing, forward: check count, order, first and last
    t = time.perf_counter()
    n = 0
    for n, k in enumerate(s.yield_keys(), 1):
        if len(k) != n:
            raise AssertionError(f"key #{n} has length {len(k)}")
    assert n == N
    timings["list forward"] = time.perf_counter() - t

    # reverse listing, a few keys, and a deep prefix
    t = time.perf_counter()
    assert [len(k) for k in s.yield_keys(reverse=True, limit=3)] == [N, N - 1, N - 2]
    assert [len(k) for k in s.yield_keys(prefix=key(N - 10))] == list(
        range(N - 10, N + 1)
    )
    assert [len(k) for k in s.yield_keys(prefix=key(N - 10), reverse=True)] == list(
        range(N, N - 11, -1)
    )
    assert [len(k) for k in s.yield_keys(start_after=key(N - 2))] == [N - 1, N]
    assert [len(k) for k in s.yield_keys(start_after=key(3), reverse=True)] == [2, 1]
    assert list(s.values(prefix=key(N - 1))) == [N - 1, N]
    timings["list partial"] = time.perf_counter() - t

    # deletes
    t = time.perf_counter()
    assert s.delete_prefix(key(90_001)) == N - 90_000
    assert len(s) == 90_000
    assert s.count(key(90_000)) == 1
    s.mdelete(key(i) for i in range(1, 1001))
    assert len(s) == 89_000
    assert s.count() == 89_000
    for i in (50_000, 50_001, 1001, 90_000):
        del s[key(i)]
    assert len(s) == 88_996
    assert s.count(key(49_999)) == 39_999  # 49_999 and 50_002..89_999
    assert key(50_000) not in s and key(50_002) in s
    assert [len(k) for k in s.yield_keys(prefix=key(49_999), limit=3)] == [
        49_999,
        50_002,
        50_003,
    ]
    assert [len(k) for k in s.yield_keys(reverse=True, limit=2)] == [89_999, 89_998]
    assert [len(k) for k in s.yield_keys(limit=2)] == [1002, 1003]
    timings["delete"] = time.perf_counter() - t

    # free the whole deep path at once
    t = time.perf_counter()
    del s
    gc.collect()
    timings["free"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - t0
    with capsys.disabled():
        print("\n[deep keys] " + ", ".join(f"{k} {v:.1f}s" for k, v in timings.items()))


def test_deep_keys_descending_insert_then_clear_and_delete_prefix():
    n = DESCENDING_N
    s = TrieStore()
    for i in range(n, 0, -1):
        s[key(i)] = i
    assert len(s) == n
    assert s.count(key(n // 2)) == n - n // 2 + 1
    assert [len(k) for k in s.yield_keys(limit=3)] == [1, 2, 3]
    s.clear()
    assert len(s) == 0 and list(s) == []
    for i in range(1, n + 1):
        s[key(i)] = i
    assert s.delete_prefix("a") == n
    assert len(s) == 0
    for i in range(n, 0, -1):
        s[key(i)] = i
    for i in range(n, 0, -1):  # remove deepest first
        del s[key(i)]
    assert len(s) == 0
    for i in range(1, n + 1):
        s[key(i)] = i
    for i in range(1, n + 1):  # remove shallowest first
        del s[key(i)]
    assert len(s) == 0
    assert list(s) == []


def test_deep_keys_copy_and_pickle():
    import pickle

    n = 5_000
    s = TrieStore()
    for i in range(1, n + 1):
        s[key(i)] = i
    c = s.copy()
    assert len(c) == n
    assert c.count(key(4000)) == n - 4000 + 1
    p = pickle.loads(pickle.dumps(s))
    assert len(p) == n
    assert p.count(key(n)) == 1
    assert p == s
