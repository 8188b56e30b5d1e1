"""Re-entrancy: values whose __del__ uses the store that is releasing them,
and prompt release of removed values (weak references die at once)."""

import gc
import weakref

import pytest

from memstore import TrieStore


def check_consistent(s):
    keys = list(s)
    assert len(keys) == len(s) == s.count("") == s.count()
    assert keys == sorted(set(keys))
    assert list(s.yield_keys(reverse=True)) == keys[::-1]
    for k in keys:
        assert k in s
    assert len(s.mget(keys)) == len(keys)


class R:
    """On release: records what it sees of the store, writes a key, deletes
    another one (the victim) and lists part of the store."""

    log = []

    def __init__(self, store, tag, victim=None, write=True):
        self.store = store
        self.tag = tag
        self.victim = victim
        self.write = write

    def __del__(self):
        st = self.store
        keys = list(st.yield_keys())
        R.log.append((self.tag, len(st), len(keys), st.count("")))
        if self.write:
            st[f"w:{self.tag}"] = self.tag
        if self.victim is not None:
            st.mdelete([self.victim])
        list(st.items(prefix="w:"))


@pytest.fixture(autouse=True)
def _reset_log():
    R.log = []
    yield
    R.log = []


def assert_log_consistent():
    assert R.log, "no __del__ ran"
    for tag, n, listed, counted in R.log:
        assert n == listed == counted, (tag, n, listed, counted)


def fresh(n_plain=20):
    s = TrieStore()
    s.mset([(f"p:{i:02d}", i) for i in range(n_plain)])
    return s


def test_release_by_overwrite(unraisables):
    s = fresh()
    s["r"] = R(s, "1", victim="p:05")
    s["r"] = "plain"
    assert not unraisables
    assert s["r"] == "plain"
    assert s["w:1"] == "1"
    assert "p:05" not in s
    assert_log_consistent()
    check_consistent(s)


def test_release_by_mset_overwrite(unraisables):
    s = fresh()
    s.mset([(f"r:{i}", R(s, str(i), victim=f"p:{i:02d}")) for i in range(10)])
    s.mset([(f"r:{i}", i) for i in range(10)] + [("new", 1)])
    assert not unraisables
    assert [s[f"r:{i}"] for i in range(10)] == list(range(10))
    assert s["new"] == 1
    assert all(f"w:{i}" in s for i in range(10))
    assert all(f"p:{i:02d}" not in s for i in range(10))
    assert len(R.log) == 10
    assert_log_consistent()
    check_consistent(s)


def test_release_by_mset_duplicate_in_batch(unraisables):
    s = fresh()
    s.mset([("r", R(s, "dup", victim="p:00")), ("r", "last")])
    assert not unraisables
    assert s["r"] == "last"
    assert s["w:dup"] == "dup"
    assert "p:00" not in s
    check_consistent(s)


def test_release_by_mdelete(unraisables):
    s = fresh()
    s.mset([(f"r:{i}", R(s, str(i), victim=f"p:{i:02d}")) for i in range(10)])
    s.mdelete([f"r:{i}" for i in range(10)] + ["missing"])
    assert not unraisables
    assert s.count("r:") == 0
    assert s.count("w:") == 10
    assert s.count("p:") == 10
    assert len(R.log) == 10
    assert_log_consistent()
    check_consistent(s)


def test_release_by_delitem(unraisables):
    s = fresh()
    s["r"] = R(s, "x", victim="p:01")
    del s["r"]
    assert not unraisables
    assert "r" not in s
    assert s["w:x"] == "x"
    assert "p:01" not in s
    assert_log_consistent()
    check_consistent(s)


def test_release_by_delete_prefix(unraisables):
    s = fresh()
    s.mset([(f"r:{i:02d}", R(s, str(i), victim=f"p:{i:02d}")) for i in range(15)])
    s["r"] = "not under r:"
    assert s.delete_prefix("r:") == 15
    assert not unraisables
    assert s.count("r:") == 0
    assert s["r"] == "not under r:"
    assert s.count("w:") == 15
    assert s.count("p:") == 5
    assert len(R.log) == 15
    assert_log_consistent()
    check_consistent(s)


def test_release_by_delete_prefix_writing_into_the_prefix(unraisables):
    s = fresh()

    class WritesBack(R):
        def __del__(self):
            self.store[f"r:again:{self.tag}"] = "back"
            check_consistent(self.store)

    s.mset([(f"r:{i}", WritesBack(s, str(i))) for i in range(5)])
    assert s.delete_prefix("r:") == 5
    assert not unraisables
    check_consistent(s)
    assert all(v == "back" for v in s.values(prefix="r:"))


def test_release_by_clear(unraisables):
    s = fresh()
    s.mset([(f"r:{i}", R(s, str(i), victim=f"p:{i:02d}")) for i in range(10)])
    s.clear()
    assert not unraisables
    assert s.count("r:") == 0
    assert s.count("p:") == 0
    assert len(R.log) == 10
    assert_log_consistent()
    check_consistent(s)
    # keys written by __del__ after the clear are the only possible survivors
    assert all(k.startswith("w:") for k in s)


def test_nested_clear_and_delete_prefix_in_del(unraisables):
    s = fresh()

    class Clears(R):
        def __del__(self):
            st = self.store
            st["tmp:a"] = 1
            st.delete_prefix("tmp:")
            st["tmp:b"] = 2
            st.clear()
            st["after"] = self.tag
            check_consistent(st)

    s.mset([(f"c:{i}", Clears(s, str(i))) for i in range(5)])
    s.delete_prefix("c:")
    check_consistent(s)
    s["c:x"] = Clears(s, "x")
    s.clear()
    check_consistent(s)
    s["c:y"] = Clears(s, "y")
    s["c:y"] = 0
    check_consistent(s)
    assert not unraisables


def test_del_iterating_during_release(unraisables):
    s = fresh()
    seen = []

    class Lister(R):
        def __del__(self):
            seen.append(list(self.store.items()))

    s.mset([(f"l:{i}", Lister(s, str(i))) for i in range(5)])
    s.delete_prefix("l:")
    assert not unraisables
    assert len(seen) == 5
    for snapshot in seen:
        assert all(not k.startswith("l:") for k, _ in snapshot)
    check_consistent(s)


def test_release_by_deleting_the_store(unraisables):
    other = TrieStore()

    class Reporter:
        def __init__(self, tag):
            self.tag = tag

        def __del__(self):
            other[f"gone:{self.tag}"] = 1
            check_consistent(other)

    s = TrieStore()
    s.mset([(f"k{i}", Reporter(i)) for i in range(100)])
    del s
    assert not unraisables
    assert other.count("gone:") == 100


def test_store_in_a_cycle_with_reentrant_values(unraisables):
    s = TrieStore()
    s.mset([(f"r:{i}", R(s, str(i), victim=f"r:{i + 1}")) for i in range(20)])
    s["self"] = s
    r = weakref.ref(s) if _weakrefable(s) else None
    del s
    gc.collect()
    gc.collect()
    assert not unraisables
    if r is not None and r() is not None:
        check_consistent(r())  # not collected (no GC support): still usable
        r().clear()


def _weakrefable(obj):
    try:
        weakref.ref(obj)
        return True
    except TypeError:
        return False


# --------------------------------------------------------- prompt release


class Tracked:
    pass


def tracked_store(n=5):
    s = TrieStore()
    objs = [Tracked() for _ in range(n)]
    refs = [weakref.ref(o) for o in objs]
    s.mset([(f"t:{i}", o) for i, o in enumerate(objs)])
    del objs
    return s, refs


def test_release_weakref_overwrite():
    s, refs = tracked_store()
    s["t:0"] = None
    assert refs[0]() is None
    s.mset([("t:1", 1), ("t:2", 2)])
    assert refs[1]() is None and refs[2]() is None
    assert refs[3]() is not None


def test_release_weakref_mdelete():
    s, refs = tracked_store()
    s.mdelete(["t:0", "t:3"])
    assert refs[0]() is None and refs[3]() is None
    assert refs[1]() is not None


def test_release_weakref_delitem():
    s, refs = tracked_store()
    del s["t:4"]
    assert refs[4]() is None
    assert refs[0]() is not None


def test_release_weakref_delete_prefix():
    s, refs = tracked_store()
    s["u"] = keep = Tracked()
    assert s.delete_prefix("t:") == 5
    assert all(r() is None for r in refs)
    assert s["u"] is keep


def test_release_weakref_clear():
    s, refs = tracked_store()
    s.clear()
    assert all(r() is None for r in refs)


def test_release_weakref_store_deleted():
    s, refs = tracked_store()
    del s
    assert all(r() is None for r in refs)


def test_copy_keeps_values_alive_independently():
    s, refs = tracked_store()
    c = s.copy()
    s.clear()
    assert all(r() is not None for r in refs)
    c.delete_prefix("t:")
    assert all(r() is None for r in refs)


def test_failed_operations_do_not_leak_or_release():
    s, refs = tracked_store()
    with pytest.raises(TypeError):
        s.mset([("t:0", None), (0, None)])
    with pytest.raises(TypeError):
        s.mdelete(["t:1", 1])
    assert all(r() is not None for r in refs)
    s.clear()
    assert all(r() is None for r in refs)


def test_mget_results_do_not_keep_extra_references():
    import sys

    s = TrieStore()
    o = Tracked()
    s["o"] = o
    base = sys.getrefcount(o)
    for _ in range(1000):
        s.mget(["o", "o"])
        s.get("o")
        s["o"]
        list(s.items())
        list(s.values())
        s.longest_prefix("oo")
    assert sys.getrefcount(o) == base
