"""Leaks: memory stays flat over long churn, and every value the store lets
go of is released at once, whatever the path it leaves by.

* 10^5 cycles of set / overwrite / mset / delete / mdelete / delete_prefix /
  clear / iterate on one store: traced memory (tracemalloc sees the tree's
  node pool, whose chunks come from PyMem_Malloc), the store's
  memory_usage() and the process's RSS are compared between the end of a
  warm-up and the end.
* Each removal path drops the store's reference: weak references die and
  sys.getrefcount() is back to its baseline (a stored value carries exactly
  one reference per key).
* However a store is emptied or dropped, its node pool gives every chunk
  back; what a partial delete frees is reused by the store's next keys.
"""

import asyncio
import copy
import functools
import gc
import os
import pickle
import sys
import threading
import tracemalloc
import weakref

import pytest

from memstore import InMemoryByteStore, SnapshotError, TrieStore

# Tracing makes a cycle ~10x slower, so the traced cycles are most of the
# test's time: 10,000 of them keep the bound at 13 bytes a cycle (less than
# one object each) in about half the time 18,000 took.
CYCLES = 50_000
WARMUP = 5_000  # then RSS and memory_usage() are compared with the end
TRACED_FROM = 38_000  # tracemalloc runs from here on,
TRACED_WARM = 40_000  # and its total is compared between here and the end

# Under AddressSanitizer (.ci/asan_python.sh) freed memory sits in a
# quarantine (256 MB by default) before it is reused, so RSS keeps growing
# until the quarantine is full even without a leak; the RSS bound allows for
# it.  Traced memory and memory_usage() are exact either way.
UNDER_ASAN = "libasan" in os.environ.get("LD_PRELOAD", "")
RSS_SLACK = (16 + (320 if UNDER_ASAN else 0)) * 2**20
TRACED_SLACK = 128 * 2**10  # 13 bytes a cycle over 10,000 cycles


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class Val:
    """A value that can be weakly referenced."""

    __slots__ = ("__weakref__", "n")

    def __init__(self, n=0):
        self.n = n


def cycle(s, i):
    """One round of churn on s; leaves s as it found it (the pinned keys).

    Every value that leaves the store is checked dead right after the
    operation that removed it."""
    base = f"churn:{i % 251}:{i}:"  # new key strings every cycle

    # set, then overwrite with __setitem__
    s[base] = Val(i)
    r = weakref.ref(s[base])
    s[base] = i
    assert r() is None

    # mset: new keys plus an overwrite in the batch
    s[base + "o"] = Val(i)
    r = weakref.ref(s[base + "o"])
    s.mset([(f"{base}{j}", Val(j)) for j in range(8)] + [(base + "o", i)])
    assert r() is None
    refs = [weakref.ref(v) for v in s.values(prefix=base + "0", limit=1)]

    # __delitem__ and mdelete
    del s[base + "0"]
    assert refs[0]() is None
    refs = [weakref.ref(v) for v in s.mget([f"{base}{j}" for j in range(1, 4)])]
    s.mdelete([f"{base}{j}" for j in range(1, 4)] + [base + "missing"])
    assert all(r() is None for r in refs)

    # iterate: forward, reverse with a limit, one left open
    assert len(list(s.items(prefix=base))) == 6  # base, base0..7 minus 0..3, base+o
    assert list(s.keys(prefix=base, reverse=True, limit=2)) == [base + "o", base + "7"]
    it = s.yield_keys(prefix="churn:", start_after=base)
    next(it)  # abandoned while open
    s.longest_prefix(base + "7x")
    s.count(base)

    # delete_prefix
    refs = [weakref.ref(v) for v in s.values(prefix=base) if isinstance(v, Val)]
    assert s.delete_prefix(base) == 6
    assert all(r() is None for r in refs)
    assert next(it, None) is None  # nothing left after base under churn:


def pinned_items(n=500):
    return [(f"pin:{k % 10}:{k}", k) for k in range(n)]


def test_churn_keeps_memory_flat():
    s = TrieStore()
    empty_usage = s.memory_usage()
    pins = pinned_items()
    s.mset(pins)
    pinned_usage = s.memory_usage()

    def run(first, last):
        for i in range(first, last):
            cycle(s, i)
            if i % 1000 == 500:
                # clear: every value dies, the tree goes back to empty
                refs = [weakref.ref(v) for v in (Val(), Val())]
                s.mset([("x:a", refs[0]()), ("x:b", refs[1]())])
                s.clear()
                assert all(r() is None for r in refs)
                assert len(s) == 0
                assert s.memory_usage() == empty_usage
                s.mset(pins)
                assert s.memory_usage() == pinned_usage  # same build, same nodes
                # iterate over everything now and then
                assert sum(1 for _ in s.items()) == len(pins)

    run(0, WARMUP)
    gc.collect()
    usage_warm = s.memory_usage()
    rss_warm = rss_bytes()

    run(WARMUP, TRACED_FROM)
    # Tracing makes every allocation ~10x slower, so only the last cycles
    # are traced.  What was allocated before is not traced and its frees are
    # ignored: the traced total is what the traced cycles left behind.
    tracemalloc.start()
    try:
        run(TRACED_FROM, TRACED_WARM)  # fills CPython's free lists
        gc.collect()
        traced_warm = tracemalloc.get_traced_memory()[0]
        run(TRACED_WARM, CYCLES)
        gc.collect()
        traced_end = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    usage_end = s.memory_usage()
    rss_end = rss_bytes()

    assert list(s.items()) == sorted(pins)
    assert usage_end == usage_warm
    assert traced_end - traced_warm < TRACED_SLACK, (traced_warm, traced_end)
    assert rss_end - rss_warm < RSS_SLACK, (rss_warm, rss_end)
    print(
        f"\n[churn] traced +{traced_end - traced_warm} B over {CYCLES - TRACED_WARM} cycles,"
        f" RSS +{(rss_end - rss_warm) // 1024} KiB over {CYCLES - WARMUP} cycles,"
        f" memory_usage {usage_warm} -> {usage_end} (pinned only: {pinned_usage})"
    )
    s.clear()
    assert s.memory_usage() == empty_usage


def test_tree_nodes_are_traced_and_freed():
    """memory_usage() is what tracemalloc sees the nodes take, and clear(),
    delete_prefix() and dropping the store give it all back."""
    keys = [f"user:{i % 97}:doc:{i}" for i in range(20_000)]
    gc.collect()
    tracemalloc.start()
    try:
        s = TrieStore()
        empty = s.memory_usage()
        # warm up: CPython's free lists (2-tuples, ...) keep some memory
        s.mset((k, None) for k in keys)
        s.clear()
        start = tracemalloc.get_traced_memory()[0]
        s.mset((k, None) for k in keys)
        grown = tracemalloc.get_traced_memory()[0] - start
        used = s.memory_usage() - empty
        assert used > 20_000 * 8  # at least the key bytes not shared
        # the pool's chunks come from PyMem_*, so tracemalloc sees them all
        assert grown >= used * 0.9, (grown, used)
        assert grown <= used * 1.5 + 2**16, (grown, used)
        for op, back_to_empty in (
            (s.clear, True),
            (functools.partial(s.delete_prefix, "user:"), True),
            (functools.partial(s.mdelete, keys), False),  # exact usage unspecified
        ):
            s.mset((k, None) for k in keys)
            op()
            assert len(s) == 0
            if back_to_empty:
                assert s.memory_usage() == empty
            assert tracemalloc.get_traced_memory()[0] - start < 2**16
        s.mset((k, None) for k in keys)
        del op, s  # op is a bound method of s
        gc.collect()
        assert tracemalloc.get_traced_memory()[0] - start < 2**16
    finally:
        tracemalloc.stop()


# ------------------------------------------------ references, path by path


class Obj:
    pass


def rc(o):
    """sys.getrefcount(o).  Call it on a plain name in an assert: pytest's
    assertion rewriting keeps a temporary reference to the value of any
    other expression (rc(x[0]) would count one more)."""
    return sys.getrefcount(o)


def fresh_store():
    s = TrieStore()
    s.mset([(f"k{i}", i) for i in range(50)])
    return s


def _overwrite_setitem(s, key):
    s[key] = "other"


def _overwrite_mset(s, key):
    s.mset([("k1", 1), (key, "other"), ("new", 2)])


def _mdelete(s, key):
    s.mdelete(["k2", key, "missing", key])


def _delitem(s, key):
    del s[key]


def _delete_prefix(s, key):
    assert s.delete_prefix(key[:2]) >= 1


def _delete_prefix_all(s, key):
    n = len(s)
    assert s.delete_prefix("") == n


def _clear(s, key):
    s.clear()


def _amset_overwrite(s, key):
    asyncio.run(s.amset([(key, "other")] + [(f"bulk{i}", i) for i in range(10_000)]))


def _amdelete(s, key):
    asyncio.run(s.amdelete([f"k{i}" for i in range(10_000)] + [key]))


REMOVALS = {
    "overwrite-setitem": _overwrite_setitem,
    "overwrite-mset": _overwrite_mset,
    "overwrite-amset": _amset_overwrite,
    "mdelete": _mdelete,
    "amdelete": _amdelete,
    "delitem": _delitem,
    "delete_prefix": _delete_prefix,
    "delete_prefix-all": _delete_prefix_all,
    "clear": _clear,
}


@pytest.mark.parametrize("removal", list(REMOVALS))
def test_refcount_back_to_baseline(removal):
    s = fresh_store()
    v = Obj()
    r = weakref.ref(v)
    base = rc(v)
    s["kv"] = v
    assert rc(v) == base + 1  # exactly one reference, owned by the store
    s.mset([("kv2", v), ("kv3", v)])
    assert rc(v) == base + 3  # one per key
    s.mdelete(["kv2", "kv3"])
    assert rc(v) == base + 1
    # reads and listings leave no reference behind
    s.mget(["kv", "kv"])
    list(s.items())
    list(s.values(prefix="kv", reverse=True))
    s.longest_prefix("kvx")
    s.get("kv")
    s == s.copy()  # noqa: B015
    repr(s)
    assert rc(v) == base + 1
    REMOVALS[removal](s, "kv")
    assert s.get("kv") is not v
    assert rc(v) == base
    del v
    assert r() is None


@pytest.mark.parametrize("removal", list(REMOVALS))
def test_removal_releases_every_value(removal):
    """The same paths with many values: all of them die, none early."""
    s = TrieStore()
    vals = [Obj() for _ in range(300)]
    refs = [weakref.ref(v) for v in vals]
    s.mset([(f"kv{i:03d}", v) for i, v in enumerate(vals)])
    keep = Obj()
    s["other"] = keep
    del vals
    assert all(r() is not None for r in refs)
    if removal in ("delitem", "overwrite-setitem"):
        for i in range(300):
            REMOVALS[removal](s, f"kv{i:03d}")
    elif removal in ("overwrite-mset", "overwrite-amset", "mdelete", "amdelete"):
        many = {
            "overwrite-mset": lambda: s.mset([(f"kv{i:03d}", i) for i in range(300)]),
            "overwrite-amset": lambda: asyncio.run(
                s.amset([(f"kv{i:03d}", i) for i in range(300)])
            ),
            "mdelete": lambda: s.mdelete([f"kv{i:03d}" for i in range(300)]),
            "amdelete": lambda: asyncio.run(
                s.amdelete([f"kv{i:03d}" for i in range(300)])
            ),
        }
        many[removal]()
    else:
        REMOVALS[removal](s, "kv000")
    assert all(r() is None for r in refs)
    if removal not in ("clear", "delete_prefix-all"):
        assert s["other"] is keep


def test_mset_duplicate_in_batch_releases_the_loser():
    s = fresh_store()
    a, b = Obj(), Obj()
    base_a, base_b = rc(a), rc(b)
    batch = [("d", a), ("k1", 0), ("d", b)]
    s.mset(batch)
    del batch
    assert s["d"] is b
    assert rc(a) == base_a
    assert rc(b) == base_b + 1
    s.mset([("d", b), ("d", a), ("d", b)])
    assert rc(a) == base_a and rc(b) == base_b + 1
    s.clear()
    assert rc(b) == base_b


def test_failed_batches_take_and_leave_nothing():
    s = fresh_store()
    old, new = Obj(), Obj()
    base_old, base_new = rc(old), rc(new)
    s["a"] = old

    def attempt(call):
        with pytest.raises((TypeError, ValueError, OverflowError, KeyboardInterrupt)):
            call()
        gc.collect()  # asyncio's failed tasks are reference cycles
        assert s["a"] is old
        assert rc(old) == base_old + 1
        assert rc(new) == base_new

    attempt(lambda: s.mset([("a", new), ("b", new), (1, new)]))
    attempt(lambda: s.mset([("a", new), ("b", new), ("c", new, 3)]))
    attempt(lambda: s.mset([("a", new), ("b", new), (None, None)][i] for i in range(3)))
    attempt(lambda: s.mdelete(["a", "b", 1]))
    attempt(lambda: asyncio.run(s.amset([("a", new)] * 5000 + [(2, new)])))
    attempt(lambda: asyncio.run(s.amdelete(["a"] * 5000 + [b"a"])))

    def gen():
        yield ("a", new)
        yield ("b", new)
        raise KeyboardInterrupt

    attempt(lambda: s.mset(gen()))
    attempt(lambda: s.yield_keys(limit=-1))
    attempt(lambda: s.items(prefix=3))

    b = InMemoryByteStore()
    b["a"] = b"x"
    with pytest.raises(TypeError):
        b.mset([("a", b"y"), ("n", new)])
    assert rc(new) == base_new


def test_rollback_after_out_of_memory_releases_new_values():
    """A batch that runs out of memory midway (one PyMem allocation made to
    fail with _testcapi.set_nomemory) undoes what it wrote: every value it
    put in is popped back out and released, the values it replaced are back
    with exactly one reference each.  The new keys are long: their leaves
    (over 256 bytes) come straight from PyMem, where the smaller nodes come
    from the store's node pool, which asks PyMem only for a new chunk now
    and then, so each insert of the batch is a point where it can fail."""
    _testcapi = pytest.importorskip("_testcapi")
    s = TrieStore()
    olds = [Obj() for _ in range(4)]
    s.mset(
        [(f"old{i}", o) for i, o in enumerate(olds)]
        + [(f"pad{i}", i) for i in range(40)]
    )
    base_olds = [rc(o) for o in olds]
    rolled_back = 0
    for fail_at in range(80):
        news = [Obj() for _ in range(6)]
        base_news = [rc(n) for n in news]
        before = list(s.items())
        batch = (
            [(f"old{i}", news[i]) for i in range(2)]  # overwrites (never allocate)
            + [
                (f"new:{fail_at}:{j}:é" + "x" * 600, news[2 + j]) for j in range(3)
            ]  # new keys, non-ASCII
            + [("old0", news[5])]  # a duplicate overwrite at the end
        )
        _testcapi.set_nomemory(fail_at, fail_at + 1)  # only that allocation fails
        try:
            s.mset(batch)
        except MemoryError as e:
            failed = str(e)
        else:
            failed = None
        finally:
            _testcapi.remove_mem_hooks()
        del batch
        if failed is None:
            assert s["old0"] is news[5] and s["old1"] is news[1]
            assert [rc(n) for n in news][5] == base_news[5] + 1  # measured alike
            s.delete_prefix("new:")
            s.mset([(f"old{i}", o) for i, o in enumerate(olds)])
        else:
            rolled_back += "while inserting" in failed
            assert list(s.items()) == before, failed
        del before
        assert [rc(n) for n in news] == base_news, (fail_at, failed)
        assert [rc(o) for o in olds] == base_olds, (fail_at, failed)
    assert rolled_back >= 2  # the undo path itself ran, not only early failures


def test_copy_pickle_and_store_death_release_values():
    v = Obj()
    base = rc(v)
    s = fresh_store()
    s["v"] = v
    c = s.copy()
    c2 = copy.copy(s)
    assert rc(v) == base + 3
    s.clear()
    assert c["v"] is v
    assert rc(v) == base + 2
    data = pickle.dumps([c, v])  # v pickled once, shared
    c3, v3 = pickle.loads(data)
    assert c3["v"] is v3
    assert rc(v) == base + 2
    del c
    assert rc(v) == base + 1
    with pytest.raises(TypeError):  # "cannot pickle '_thread.lock' object"
        pickle.dumps(TrieStore({"v": v, "lock": threading.Lock()}))
    assert rc(v) == base + 1
    del c2
    assert rc(v) == base
    # a store that dies in a reference cycle gives its values back to the GC
    s = fresh_store()
    s["v"] = v
    s["self"] = s
    r = weakref.ref(s)
    del s
    gc.collect()
    assert r() is None
    assert rc(v) == base


def test_open_iterators_hold_no_values():
    s = fresh_store()
    v = Obj()
    base = rc(v)
    s["kv"] = v
    its = [s.values(), s.items(prefix="k", reverse=True), s.yield_keys()]
    for it in its:
        next(it)
    s.clear()
    assert rc(v) == base
    for it in its:
        assert list(it) == []


# ------------------------------------------ the node pool gives memory back
#
# A store's nodes come from a node pool of its own (csrc/pool.h), whose
# chunks go back to Python's heap when every block in them is free: when
# the store is emptied, whichever way, or dies.


DEAD_SLACK = 128


def _traced_now():
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


def _fill(s, keys, ttl=None):
    s.mset(((k, None) for k in keys), ttl=ttl)


EMPTYINGS = {
    "clear": lambda s, keys: s.clear(),
    "delete_prefix-all": lambda s, keys: s.delete_prefix(""),
    "delete_prefix-each": lambda s, keys: [
        s.delete_prefix(f"user:{i}:") for i in range(97)
    ],
    "mdelete": lambda s, keys: s.mdelete(keys),
    "delitem": lambda s, keys: [s.__delitem__(k) for k in keys],
    "gc-clear": None,  # a cycle through the store, collected
    "drop": None,
}


@pytest.mark.parametrize("ttl", [None, 50], ids=["no-ttl", "ttl"])
@pytest.mark.parametrize("emptying", list(EMPTYINGS))
def test_an_emptied_store_gives_its_memory_back(emptying, ttl):
    """Whichever way a store is emptied (or dropped), its pools hand every
    chunk back: tracemalloc is back within a few hundred bytes of where it
    was before the store was filled (the pool and the tree's header stay
    with a live store).  With a lifetime the expiry queue's pool does too."""

    class Clock:
        now = 1000.0

        def __call__(self):
            return self.now

    keys = [f"user:{i % 97}:doc:{i}" for i in range(20_000)]
    clock = Clock()
    tracemalloc.start()
    try:
        s = TrieStore(clock=clock)
        _fill(s, keys[:10], ttl)  # the queue and its pool exist before the baseline
        s.clear()
        s.items()  # an iterator made and dropped: its buffers go back too
        start = _traced_now()
        _fill(s, keys, ttl)
        full = _traced_now() - start
        assert full > s.memory_usage() * 0.9
        list(s.keys(prefix="user:1"))  # leaves spare listing buffers in the tree
        if emptying == "gc-clear":
            s["self"] = s
            del s
        elif emptying == "drop":
            del s
        else:
            EMPTYINGS[emptying](s, keys)
            assert len(s) == 0
        left = _traced_now() - start
        # A live store keeps its pool (~300 bytes) and tree header; a dead
        # one nothing: DEAD_SLACK allows for a few bytes of interpreter
        # caches, less than the smallest chunk (256 bytes).
        limit = 1024 if emptying not in ("gc-clear", "drop") else DEAD_SLACK
        assert left <= limit, (emptying, full, left)
    finally:
        tracemalloc.stop()


def test_expired_keys_give_their_memory_back():
    class Clock:
        now = 1000.0

        def __call__(self):
            return self.now

    clock = Clock()
    keys = [f"session:{i % 50}:{i}" for i in range(10_000)]
    tracemalloc.start()
    try:
        s = TrieStore(clock=clock)
        s.mset([("x", 1)], ttl=1)
        clock.now += 2
        assert len(s) == 0
        start = _traced_now()
        s.mset(((k, None) for k in keys), ttl=10)
        assert _traced_now() - start > s.memory_usage() * 0.9
        clock.now += 20
        assert len(s) == 0
        assert _traced_now() - start <= 1024
    finally:
        tracemalloc.stop()


def test_a_loaded_store_gives_its_memory_back(tmp_path):
    """A load builds its tree on the store's pool (rx_pool_build_new): the
    loaded store emptied or dropped gives it all back, and a failed load
    leaves nothing behind."""
    keys = [f"user:{i % 97}:doc:{i}" for i in range(20_000)]
    src = TrieStore((k, i) for i, k in enumerate(keys))
    src.save(tmp_path / "snap")
    usage = src.memory_usage()
    del src
    tracemalloc.start()
    try:
        TrieStore.load(tmp_path / "snap").clear()  # warm-up: pickle, free lists
        start = _traced_now()
        s = TrieStore.load(tmp_path / "snap")
        assert s.memory_usage() == usage  # the same nodes, built in key order
        assert _traced_now() - start > usage * 0.9
        s.clear()
        assert _traced_now() - start <= 1024
        del s
        assert _traced_now() - start <= DEAD_SLACK
        data = (tmp_path / "snap").read_bytes()
        (tmp_path / "torn").write_bytes(data[: len(data) // 2])
        for _ in range(3):  # the first failures warm caches up (~3 KiB)
            with pytest.raises(SnapshotError):
                TrieStore.load(tmp_path / "torn")
        start = _traced_now()
        with pytest.raises(SnapshotError):
            TrieStore.load(tmp_path / "torn")
        assert _traced_now() - start <= DEAD_SLACK  # pytest keeps a few bytes
    finally:
        tracemalloc.stop()


def test_a_partial_delete_keeps_blocks_for_the_store_to_reuse():
    """Deleting part of a store frees its blocks into the store's pool: the
    same keys written again take them back rather than new memory."""
    keys = [f"user:{i % 97}:doc:{i}" for i in range(20_000)]
    half = keys[::2]
    tracemalloc.start()
    try:
        s = TrieStore()
        _fill(s, keys, None)
        s.mdelete(half)
        _fill(s, half, None)  # warm-up: CPython's free lists
        start = _traced_now()
        for _ in range(3):
            s.mdelete(half)
            _fill(s, half, None)
        assert _traced_now() - start <= 4096
    finally:
        tracemalloc.stop()


def test_nodes_come_from_the_pools_chunks():
    """The nodes are not one Python allocation each: tracemalloc sees a few
    chunks for 20,000 keys' ~30,000 nodes."""
    keys = [f"user:{i % 97}:doc:{i}" for i in range(20_000)]
    s = TrieStore()
    gc.collect()
    tracemalloc.start()
    try:
        before = len(tracemalloc.take_snapshot().traces)
        _fill(s, keys, None)
        gc.collect()
        after = len(tracemalloc.take_snapshot().traces)
    finally:
        tracemalloc.stop()
    assert after - before < 500, (before, after)
