"""Expiry (TTL) on TrieStore: every operation sees an expired key as gone,
values of expired keys are released promptly and safely, bad lifetimes
change nothing, and a store without lifetimes pays nothing.

Time is a fake clock (never a sleep): ``clock.now`` is what the store reads,
and a test moves it forward by hand.
"""

import asyncio
import gc
import math
import pickle
import sys
import weakref
from fractions import Fraction

import pytest

from memstore import InMemoryByteStore, TrieStore


class FakeClock:
    """A clock a test moves by hand (module level: picklable)."""

    def __init__(self, now=1000.0):
        self.now = now
        self.reads = 0

    def __call__(self):
        self.reads += 1
        return self.now

    def advance(self, seconds):
        self.now += seconds


class Obj:
    """A value that can be weakly referenced."""

    def __init__(self, n=0):
        self.n = n

    def __eq__(self, other):
        return isinstance(other, Obj) and other.n == self.n

    __hash__ = object.__hash__


def rc(o):
    """sys.getrefcount on a plain name (see tests/test_leaks.py)."""
    return sys.getrefcount(o)


@pytest.fixture
def clock():
    return FakeClock()


LIVE = {"a": 1, "a:1": 2, "a:3": 3, "b": 4, "c:x": 5}
DOOMED = {"ab": 10, "a:2": 11, "a:4": 12, "c": 13, "c:y": 14, "z": 15}


def half_expired(clock, cls=TrieStore, ttl=10):
    """A store with LIVE forever and DOOMED for ttl seconds, ttl seconds
    later: DOOMED have just expired (clock() == deadline)."""
    s = cls(clock=clock)
    s.mset(LIVE.items())
    s.mset(DOOMED.items(), ttl=ttl)
    assert len(s) == len(LIVE) + len(DOOMED)
    clock.advance(ttl)
    return s


def sorted_live(prefix=""):
    return sorted(k for k in LIVE if k.startswith(prefix))


# ---------------------------------------------------------------- the API


def test_defaults_and_default_ttl(clock):
    assert TrieStore().default_ttl is None
    assert TrieStore(ttl=5).default_ttl == 5.0
    assert isinstance(TrieStore(ttl=5).default_ttl, float)
    s = TrieStore(ttl=5, clock=clock)
    s["a"] = 1
    s.mset([("b", 2)])  # left out: the default
    s.mset([("c", 3)], ttl=None)  # no lifetime
    s.mset([("d", 4)], ttl=50)
    assert s.ttl("a") == s.ttl("b") == 5.0
    assert s.ttl("c") is None
    assert s.ttl("d") == 50.0
    clock.advance(5)
    assert sorted(s) == ["c", "d"]
    with pytest.raises(AttributeError):
        s.default_ttl = 3


def test_items_given_to_the_constructor_take_the_default_ttl(clock):
    s = TrieStore({"a": 1}, ttl=2, clock=clock)
    assert s.ttl("a") == 2.0
    clock.advance(2)
    assert len(s) == 0


def test_deadline_is_reached_when_clock_equals_it(clock):
    s = TrieStore(clock=clock)
    s.mset([("k", 1)], ttl=10)
    clock.advance(9.5)
    assert s["k"] == 1 and s.ttl("k") == 0.5
    clock.now = 1010.0  # == deadline
    assert "k" not in s


def test_expire_ttl_persist_return_values(clock):
    s = TrieStore({"a": 1, "b": 2}, clock=clock)
    assert s.ttl("a") is None
    assert s.persist("a") is False  # no lifetime to remove
    assert s.expire("a", 10) is True
    assert s.ttl("a") == 10.0
    clock.advance(4)
    assert s.ttl("a") == 6.0
    assert s.expire("a", 1.5) is True  # replaces the lifetime, shorter
    assert s.ttl("a") == 1.5
    assert s.expire("a", 100) is True  # and longer
    assert s.ttl("a") == 100.0
    assert s.persist("a") is True
    assert s.persist("a") is False
    assert s.ttl("a") is None
    clock.advance(1000)
    assert s["a"] == 1
    assert s.expire("missing", 10) is False
    assert s.persist("missing") is False
    with pytest.raises(KeyError):
        s.ttl("missing")
    s.expire("b", 1)
    clock.advance(1)
    assert s.expire("b", 10) is False  # expired: absent
    assert s.persist("b") is False
    with pytest.raises(KeyError):
        s.ttl("b")
    for method in (s.ttl, s.persist):
        with pytest.raises(TypeError):
            method(1)
    with pytest.raises(TypeError):
        s.expire(1, 10)


def test_ttl_counts_down_on_the_wall_clock():
    s = TrieStore({"a": 1})
    assert s.expire("a", 1000) is True
    left = s.ttl("a")
    assert 990 < left <= 1000
    s.mset([("b", 2)], ttl=3600)
    assert 3590 < s.ttl("b") <= 3600
    assert s.persist("b") and s.ttl("b") is None


def test_write_without_lifetime_clears_the_old_one(clock):
    s = TrieStore(clock=clock)
    writes = {
        "setitem": lambda k: s.__setitem__(k, "new"),
        "mset-left-out": lambda k: s.mset([(k, "new")]),
        "mset-none": lambda k: s.mset([(k, "new")], ttl=None),
        "amset-none": lambda k: asyncio.run(s.amset([(k, "new")], ttl=None)),
        "amset-left-out": lambda k: asyncio.run(s.amset([(k, "new")])),
    }
    for name, write in writes.items():
        s.mset([(name, "old")], ttl=5)
        write(name)
        assert s.ttl(name) is None, name
    clock.advance(100)
    assert sorted(s.items()) == sorted((name, "new") for name in writes)


def test_rewrite_with_the_same_deadline_keeps_the_key_expiring(clock):
    # Same clock reading, same ttl: the old and the new lifetime share their
    # place in the expiry queue.
    s = TrieStore(clock=clock)
    s.mset([("a", 1)], ttl=5)
    s.mset([("a", 2), ("b", 0), ("a", 3)], ttl=5)
    s["x"] = 0
    s.expire("x", 5)
    s.expire("x", 5)
    assert s.ttl("a") == s.ttl("x") == 5.0
    clock.advance(5)
    assert list(s) == []


def test_a_key_removed_and_written_again_does_not_expire_with_its_old_deadline(clock):
    removals = {
        "delitem": lambda s, k: s.__delitem__(k),
        "mdelete": lambda s, k: s.mdelete([k]),
        "delete_prefix": lambda s, k: s.delete_prefix(k),
        "clear": lambda s, k: s.clear(),
        "persist": lambda s, k: s.persist(k),
        "overwrite": lambda s, k: s.__setitem__(k, 0),
        "expire-later": lambda s, k: s.expire(k, 100),
    }
    for name, remove in removals.items():
        s = TrieStore(clock=clock)
        s.mset([(name, 1), (name + "/sibling", 2)], ttl=5)
        remove(s, name)
        s.mset([(name, "again")], ttl=None if name != "expire-later" else 100)
        if name == "expire-later":
            s[name] = "again"
            s.expire(name, 100)
        clock.advance(10)
        assert s.get(name) == "again", name
        assert s.get(name + "/sibling") is None


def test_clock_must_be_callable_and_return_a_finite_number():
    with pytest.raises(TypeError, match="clock"):
        TrieStore(clock=3)
    for reading, error in (
        ("x", TypeError),
        (None, TypeError),
        (True, TypeError),
        (math.nan, ValueError),
        (math.inf, ValueError),
    ):
        s = TrieStore(clock=lambda reading=reading: reading)
        with pytest.raises(error, match="clock"):
            s.mset([("a", 1)], ttl=1)
        assert len(s) == 0
    s = TrieStore(clock=lambda: 10)  # an int is a number of seconds
    s.mset([("a", 1)], ttl=1)
    assert s.ttl("a") == 1.0
    s = TrieStore(clock=lambda: Fraction(1, 2))
    s.mset([("a", 1)], ttl=1)
    assert s.ttl("a") == 1.0


# ---------------------------------------- an expired key is gone, everywhere

OPERATIONS = {
    "get": lambda s: (
        [s.get(k) for k in sorted(LIVE) + sorted(DOOMED)]
        == [LIVE[k] for k in sorted(LIVE)] + [None] * len(DOOMED)
    ),
    "get-default": lambda s: s.get("ab", "gone") == "gone",
    "mget": lambda s: s.mget(sorted(DOOMED) + ["a"]) == [None] * len(DOOMED) + [1],
    "in": lambda s: all(k not in s for k in DOOMED) and all(k in s for k in LIVE),
    "getitem": lambda s: all(_raises_key_error(s, k) for k in DOOMED) and s["b"] == 4,
    "delitem": lambda s: _raises_key_error(s, "ab", delete=True),
    "len": lambda s: len(s) == len(LIVE),
    "count": lambda s: s.count() == len(LIVE) and s.count("") == len(LIVE),
    "count-prefix": lambda s: (
        s.count("a:") == 2 and s.count("c") == 1 and s.count("z") == 0
    ),
    "iter": lambda s: list(s) == sorted_live(),
    "keys": lambda s: list(s.keys()) == sorted_live(),
    "keys-prefix": lambda s: list(s.keys("a")) == sorted_live("a"),
    "keys-reverse": lambda s: list(s.keys(reverse=True)) == sorted_live()[::-1],
    "keys-start_after": lambda s: (
        list(s.keys(start_after="a:1")) == ["a:3", "b", "c:x"]
    ),
    "keys-reverse-start_after": lambda s: (
        list(s.keys(start_after="c", reverse=True)) == ["b", "a:3", "a:1", "a"]
    ),
    "keys-limit": lambda s: list(s.keys(limit=3)) == sorted_live()[:3],
    "keys-prefix-limit-reverse": lambda s: (
        list(s.keys("a", limit=2, reverse=True)) == ["a:3", "a:1"]
    ),
    "yield_keys": lambda s: list(s.yield_keys(prefix="c")) == ["c:x"],
    "values": lambda s: list(s.values()) == [LIVE[k] for k in sorted_live()],
    "items": lambda s: list(s.items()) == sorted(LIVE.items()),
    "items-reverse": lambda s: (
        list(s.items(reverse=True)) == sorted(LIVE.items())[::-1]
    ),
    "ayield_keys": lambda s: (
        asyncio.run(_alist(s.ayield_keys(prefix="a"))) == sorted_live("a")
    ),
    "amget": lambda s: asyncio.run(s.amget(["ab", "a"])) == [None, 1],
    "longest_prefix": lambda s: (
        s.longest_prefix("abc") == ("a", 1) and s.longest_prefix("zz") is None
    ),
    "delete_prefix-count": lambda s: (
        s.delete_prefix("a") == 3 and s.delete_prefix("z") == 0
    ),
    "delete_prefix-all": lambda s: s.delete_prefix("") == len(LIVE) and len(s) == 0,
    "eq-dict": lambda s: s == LIVE and (s != LIVE) is False,
    "eq-store": lambda s: s == TrieStore(LIVE) and TrieStore(LIVE) == s,
    "eq-expired-store": lambda s: s == _other_half_expired(),
    "copy": lambda s: dict(s.copy().items()) == LIVE and len(s.copy()) == len(LIVE),
    "pickle": lambda s: dict(pickle.loads(pickle.dumps(s)).items()) == LIVE,
    "repr": lambda s: "ab" not in repr(s) and "'b': 4" in repr(s),
    "ttl": lambda s: _raises_key_error(s, "ab", ttl=True),
    "expire": lambda s: s.expire("ab", 10) is False,
    "persist": lambda s: s.persist("ab") is False,
    "memory_usage": lambda s: s.memory_usage() == _memory_of_live(),
}


def _raises_key_error(s, key, delete=False, ttl=False):
    try:
        if delete:
            del s[key]
        elif ttl:
            s.ttl(key)
        else:
            s[key]
    except KeyError:
        return True
    return False


async def _alist(ait):
    return [k async for k in ait]


def _other_half_expired():
    return half_expired(FakeClock(5.0), ttl=3)


def _memory_of_live():
    """What a store holding LIVE and whose lifetimes have all gone uses:
    the same tree as a plain store, plus an empty expiry queue."""
    c = FakeClock()
    s = TrieStore(LIVE, clock=c)
    s.mset([("q", 0)], ttl=1)
    c.advance(1)
    return s.memory_usage()


@pytest.mark.parametrize("op", list(OPERATIONS))
def test_every_operation_sees_expired_keys_as_gone(clock, op):
    s = half_expired(clock)
    assert OPERATIONS[op](s)


@pytest.mark.parametrize(
    "op",
    [
        "get",
        "mget",
        "in",
        "len",
        "count",
        "items",
        "keys-reverse",
        "longest_prefix",
        "eq-dict",
        "copy",
        "pickle",
    ],
)
def test_keys_live_until_their_deadline(clock, op):
    s = TrieStore(clock=clock)
    s.mset(LIVE.items())
    s.mset(DOOMED.items(), ttl=10)
    clock.advance(9.999)
    every = {**LIVE, **DOOMED}
    checks = {
        "get": lambda: all(s.get(k) == v for k, v in every.items()),
        "mget": lambda: s.mget(sorted(every)) == [every[k] for k in sorted(every)],
        "in": lambda: all(k in s for k in every),
        "len": lambda: len(s) == len(every),
        "count": lambda: s.count("a") == 6,
        "items": lambda: list(s.items()) == sorted(every.items()),
        "keys-reverse": lambda: list(s.keys(reverse=True)) == sorted(every)[::-1],
        "longest_prefix": lambda: s.longest_prefix("abc") == ("ab", 10),
        "eq-dict": lambda: s == every,
        "copy": lambda: s.copy() == every,
        "pickle": lambda: pickle.loads(pickle.dumps(s)) == every,
    }
    assert checks[op]()


def test_open_iterator_stops_seeing_keys_that_expire(clock):
    s = TrieStore(clock=clock)
    s.mset([(f"k{i}", i) for i in range(0, 10, 2)])
    s.mset([(f"k{i}", i) for i in range(1, 10, 2)], ttl=5)
    fwd = s.keys()
    rev = s.items(reverse=True)
    vals = s.values(prefix="k")
    assert [next(fwd), next(fwd)] == ["k0", "k1"]
    assert next(rev) == ("k9", 9)
    assert next(vals) == 0
    clock.advance(5)  # the odd keys expire while the iterators are open
    assert list(fwd) == ["k2", "k4", "k6", "k8"]
    assert list(rev) == [("k8", 8), ("k6", 6), ("k4", 4), ("k2", 2), ("k0", 0)]
    assert list(vals) == [2, 4, 6, 8]


def test_open_iterator_with_limit_counts_only_live_keys(clock):
    s = TrieStore(clock=clock)
    s.mset([(f"k{i}", i) for i in range(10)], ttl=5)
    s.mset([("k5", 5), ("k9", 9)], ttl=None)
    it = s.keys(limit=2)
    clock.advance(5)
    assert list(it) == ["k5", "k9"]


def test_iterator_over_a_key_whose_lifetime_was_extended(clock):
    s = TrieStore(clock=clock)
    s.mset([("a", 1), ("b", 2), ("c", 3)], ttl=5)
    it = s.keys()
    assert next(it) == "a"
    s.expire("b", 100)
    clock.advance(5)
    assert list(it) == ["b"]


def test_iterator_rereads_its_key_when_the_clock_writes_to_the_store():
    now = [0.0]
    pending = []
    s = TrieStore(clock=lambda: (pending.pop()(), now[0])[1] if pending else now[0])
    s.mset([("a", 1), ("b", 2), ("c", 3), ("d", 4)], ttl=10)
    it = s.items()
    assert next(it) == ("a", 1)
    now[0] = 5.0
    # While the iterator reads the clock for "b": "b" is overwritten (with a
    # lifetime), "c" is deleted.
    pending.append(lambda: (s.mset([("b", "B")], ttl=1), s.mdelete(["c"])))
    assert next(it) == ("b", "B")
    assert list(it) == [("d", 4)]
    it = s.items(reverse=True)
    assert next(it) == ("d", 4)
    pending.append(lambda: s.mdelete(["a"]))
    now[0] = 6.0  # "b" (deadline 6) expires; the clock deletes "a"
    assert list(it) == []


# ------------------------------------------ values of expired keys released


class Noted:
    __slots__ = ("__weakref__",)


READS = {
    "len": len,
    "get": lambda s: s.get("other"),
    "mget": lambda s: s.mget(["other"]),
    "in": lambda s: "other" in s,
    "count": lambda s: s.count("nothing"),
    "keys": lambda s: s.keys(prefix="nothing"),
    "setitem-other": lambda s: s.__setitem__("other", 1),
    "mset-other": lambda s: s.mset([("other", 1)]),
    "mdelete-other": lambda s: s.mdelete(["other"]),
    "longest_prefix": lambda s: s.longest_prefix("x"),
    "delete_prefix": lambda s: s.delete_prefix("nothing"),
    "ttl-other": lambda s: s.ttl("keep"),
    "memory_usage": lambda s: s.memory_usage(),
    "eq": lambda s: s == {},
    "copy": lambda s: s.copy(),
    "repr": repr,
}


@pytest.mark.parametrize("read", list(READS))
def test_expired_values_are_released_at_the_next_call(clock, read):
    s = TrieStore(clock=clock)
    values = [Noted() for _ in range(100)]
    refs = [weakref.ref(v) for v in values]
    s.mset([(f"x{i:03d}", v) for i, v in enumerate(values)], ttl=3)
    s.mset([("keep", 0)])
    del values
    clock.advance(2.9)
    READS[read](s)
    assert all(r() is not None for r in refs)  # not before the deadline
    clock.advance(0.1)
    READS[read](s)
    assert all(r() is None for r in refs)


def test_an_iterator_releases_what_it_steps_over(clock):
    s = TrieStore(clock=clock)
    v = Noted()
    r = weakref.ref(v)
    s.mset([("a", 0), ("c", 0)])
    s.mset([("b", v)], ttl=1)
    del v
    it = s.keys()
    assert next(it) == "a"
    clock.advance(1)
    assert next(it) == "c"
    assert r() is None


class WritesOnRelease:
    """On release, uses the store that releases it: reads it, writes a key
    (with and without a lifetime), deletes one, lists it."""

    seen: list = []  # noqa: RUF012 - one log shared by every instance

    def __init__(self, store, tag):
        self.store = store
        self.tag = tag

    def __del__(self):
        st = self.store
        keys = list(st)
        WritesOnRelease.seen.append((len(st), len(keys), st.count("")))
        st[f"w:{self.tag}"] = self.tag
        st.mset([(f"wt:{self.tag}", self.tag)], ttl=100)
        st.mdelete([f"victim:{self.tag}"])
        st.get("a")


def test_release_that_writes_to_the_store_during_a_purge_is_safe(clock, unraisables):
    WritesOnRelease.seen = []
    s = TrieStore(clock=clock)
    s.mset([(f"victim:{i}", i) for i in range(20)] + [("a", 0)])
    s.mset([(f"x:{i:02d}", WritesOnRelease(s, i)) for i in range(20)], ttl=1)
    s.mset([(f"y:{i:02d}", i) for i in range(20)], ttl=2)
    clock.advance(1)
    assert len(s) == 1 + 20 + 20 + 20  # a, y:*, w:*, wt:*; victims gone
    assert not unraisables, unraisables
    assert len(WritesOnRelease.seen) == 20
    for n, listed, counted in WritesOnRelease.seen:
        assert n == listed == counted
    keys = list(s)
    assert keys == sorted(keys) and len(keys) == len(s)
    clock.advance(1)
    assert list(s) == sorted(
        ["a"] + [f"w:{i}" for i in range(20)] + [f"wt:{i}" for i in range(20)]
    )
    clock.advance(100)
    assert list(s) == sorted(["a"] + [f"w:{i}" for i in range(20)])


def test_release_during_an_iterator_purge_is_safe(clock, unraisables):
    WritesOnRelease.seen = []
    s = TrieStore(clock=clock)
    s.mset([("a", 0), ("z", 0)])
    s.mset([(f"m:{i:02d}", WritesOnRelease(s, i)) for i in range(10)], ttl=1)
    it = s.keys()
    assert next(it) == "a"
    clock.advance(1)
    rest = list(it)
    assert not unraisables, unraisables
    assert "z" in rest and not any(k.startswith("m:") for k in rest)
    assert len(WritesOnRelease.seen) == 10


def test_expired_store_in_a_cycle_is_collected(clock):
    s = TrieStore(clock=clock)
    s.mset([("self", s), ("v", Noted())], ttl=5)
    r = weakref.ref(s)
    del s
    gc.collect()
    assert r() is None


# ------------------------------------------------------------- bad ttl

BAD_TTLS = [
    (0, ValueError),
    (0.0, ValueError),
    (-1, ValueError),
    (-0.5, ValueError),
    (math.nan, ValueError),
    (math.inf, ValueError),
    (-math.inf, ValueError),
    (10**400, ValueError),
    (True, TypeError),
    (False, TypeError),
    ("10", TypeError),
    (b"10", TypeError),
    ([10], TypeError),
    (1j, TypeError),
]


@pytest.mark.parametrize("ttl,error", BAD_TTLS, ids=[repr(t) for t, _ in BAD_TTLS])
def test_bad_ttl_raises_and_writes_nothing(clock, ttl, error):
    s = TrieStore(clock=clock)
    old = Obj(1)
    s.mset([("a", old), ("b", 2)], ttl=50)
    s.mset([("p", 3)])
    before = sorted(s.items())
    lifetimes = {k: s.ttl(k) for k in s}
    new = Obj(2)
    calls = [
        lambda: s.mset([("a", new), ("c", new)], ttl=ttl),
        lambda: s.mset([], ttl=ttl),
        lambda: asyncio.run(s.amset([("a", new), ("c", new)], ttl=ttl)),
        lambda: asyncio.run(s.amset([], ttl=ttl)),
        lambda: s.expire("a", ttl),
        lambda: s.expire("p", ttl),
        lambda: s.expire("missing", ttl),
        lambda: TrieStore(ttl=ttl),
        lambda: TrieStore({"k": new}, ttl=ttl),
    ]
    base = rc(new)  # the calls' closures hold one more
    for call in calls:
        with pytest.raises(error) as info:
            call()
        assert str(info.value).startswith("ttl"), info.value
        del info  # its traceback holds frames
        assert sorted(s.items()) == before
        assert {k: s.ttl(k) for k in s} == lifetimes
    # One collection for all the calls (the tracebacks' frames form cycles):
    # a reference any of them kept would still be counted here.
    gc.collect()
    assert rc(new) == base


def test_good_ttl_types(clock):
    np = pytest.importorskip("numpy")
    s = TrieStore(clock=clock)
    for i, ttl in enumerate(
        [1, 2.5, Fraction(1, 3), np.float64(2.0), np.int64(3), 1e-9]
    ):
        s.mset([(f"k{i}", i)], ttl=ttl)
        assert s.ttl(f"k{i}") == pytest.approx(float(ttl))


def test_bad_pair_in_a_later_chunk_undoes_lifetimes_too(clock):
    """mset checks and writes 512 pairs at a time: a bad pair in the second
    chunk undoes the first, lifetimes included."""
    s = TrieStore(clock=clock)
    s.mset([(f"k{i:04d}", -i) for i in range(0, 1000, 3)], ttl=50)
    s.mset([(f"k{i:04d}", -i) for i in range(1, 1000, 3)])
    before = sorted(s.items())
    lifetimes = {k: s.ttl(k) for k in s}
    queue_usage = s.memory_usage()
    for ttl in (5, None):
        batch = [(f"k{i:04d}", i) for i in range(1000)] + [(1, 1)]
        with pytest.raises(TypeError):
            s.mset(batch, ttl=ttl)
        assert sorted(s.items()) == before
        assert {k: s.ttl(k) for k in s} == lifetimes
        assert s.memory_usage() == queue_usage
    clock.advance(50)
    assert len(s) == len(range(1, 1000, 3))


def test_out_of_memory_midway_undoes_the_batch_and_its_lifetimes(clock):
    """Each PyMem allocation of an mset with a ttl made to fail in turn
    (entries, queue nodes, tree nodes, scratch): the batch changes nothing,
    lifetimes included, and leaks no reference."""
    _testcapi = pytest.importorskip("_testcapi")
    s = TrieStore(clock=clock)
    olds = [Obj(i) for i in range(4)]
    s.mset([("old0", olds[0]), ("old1", olds[1])], ttl=30)
    s.mset([("old2", olds[2]), ("old3", olds[3])])
    s.mset([(f"pad{i}", i) for i in range(40)], ttl=60)
    base_olds = [rc(o) for o in olds]
    failures = 0
    for fail_at in range(120):
        news = [Obj(10 + i) for i in range(6)]
        base_news = [rc(n) for n in news]
        before = sorted(s.items(), key=lambda kv: kv[0])
        lifetimes = {k: s.ttl(k) for k in s}
        batch = (
            [("old0", news[0]), ("old2", news[1])]
            + [(f"new:{fail_at}:{j}:" + "é" * 40 * j, news[2 + j]) for j in range(3)]
            + [("old0", news[5])]
        )
        _testcapi.set_nomemory(fail_at, fail_at + 1)
        try:
            s.mset(batch, ttl=7)
        except MemoryError:
            failed = True
        else:
            failed = False
        finally:
            _testcapi.remove_mem_hooks()
        del batch
        if failed:
            failures += 1
            assert sorted(s.items(), key=lambda kv: kv[0]) == before
            assert {k: s.ttl(k) for k in s} == lifetimes
        else:
            assert (
                s["old0"] is news[5] and s.ttl("old0") == 7.0 and s.ttl("old2") == 7.0
            )
            s.delete_prefix("new:")
            s.mset([("old0", olds[0]), ("old1", olds[1])], ttl=30)
            s.mset([("old2", olds[2]), ("old3", olds[3])], ttl=None)
        del before
        assert [rc(n) for n in news] == base_news, fail_at
        assert [rc(o) for o in olds] == base_olds, fail_at
    assert failures >= 3
    clock.advance(30)
    assert sorted(s) == ["old2", "old3"] + sorted(f"pad{i}" for i in range(40))
    clock.advance(30)
    assert sorted(s) == ["old2", "old3"]


def test_out_of_memory_in_single_key_writes_changes_nothing(clock):
    _testcapi = pytest.importorskip("_testcapi")
    s = TrieStore(ttl=20, clock=clock)
    s.mset([("a", 1)], ttl=None)
    s.mset([("b", 2)], ttl=5)
    for fail_at in range(40):
        before = sorted(s.items())
        lifetimes = {k: s.ttl(k) for k in s}
        key = f"k{fail_at}" + "x" * 200
        for op in (
            lambda key=key: s.__setitem__(key, 0),
            lambda: s.expire("a", 9),
            lambda: s.expire("b", 9),
        ):
            _testcapi.set_nomemory(fail_at, fail_at + 1)
            try:
                op()
            except MemoryError:
                failed = True
            else:
                failed = False
            finally:
                _testcapi.remove_mem_hooks()
            if failed:
                assert sorted(s.items()) == before
                assert {k: s.ttl(k) for k in s} == lifetimes
            s.mset([("a", 1)], ttl=None)
            s.mset([("b", 2)], ttl=5)
            s.mdelete([key])
    clock.advance(5)
    assert sorted(s) == ["a"]


def test_out_of_memory_while_purging_loses_no_key_and_no_value(clock):
    """Purging 300 keys (more than the purge's first buffer) with each
    allocation made to fail in turn: the call may raise MemoryError, but
    afterwards the expired keys go, their values are released, and the
    live keys keep their values and lifetimes."""
    _testcapi = pytest.importorskip("_testcapi")
    raised = 0
    for fail_at in range(30):
        s = TrieStore(clock=clock)
        values = [Noted() for _ in range(300)]
        refs = [weakref.ref(v) for v in values]
        s.mset([(f"x{i:03d}" + "é" * (i % 3), v) for i, v in enumerate(values)], ttl=1)
        s.mset([(f"live{i}", i) for i in range(10)], ttl=5)
        s.mset([("plain", 0)])
        del values
        clock.advance(1)
        _testcapi.set_nomemory(fail_at, fail_at + 1)
        try:
            len(s)
        except MemoryError:
            raised += 1
        finally:
            _testcapi.remove_mem_hooks()
        assert sorted(s) == sorted([f"live{i}" for i in range(10)] + ["plain"])
        assert all(r() is None for r in refs), fail_at
        assert all(s.ttl(f"live{i}") == 4.0 for i in range(10))
        # a key written again after a failed purge is not purged by a
        # queue key left behind
        s.mset([("x001é", "again")], ttl=None)
        clock.advance(4)
        assert sorted(s) == ["plain", "x001é"]
    assert raised >= 1


def test_out_of_memory_while_removing_a_lifetime_leaves_no_trap(clock):
    """Removing a long key's lifetime needs scratch space to spell its
    queue key; when that fails, the queue key stays behind, and must not
    expire the key when it is written again without a lifetime."""
    _testcapi = pytest.importorskip("_testcapi")
    long_key = "k" * 10_000
    removals = {
        "delitem": lambda s: s.__delitem__(long_key),
        "mdelete": lambda s: s.mdelete([long_key]),
        "persist": lambda s: s.persist(long_key),
        "overwrite": lambda s: s.mset([(long_key, "plain")], ttl=None),
        "delete_prefix": lambda s: s.delete_prefix("k"),
    }
    for name, remove in removals.items():
        for fail_at in range(4):
            s = TrieStore(clock=clock)
            s.mset([(long_key, 1), ("other", 2)], ttl=5)
            s.mset([("plain", 3)])
            _testcapi.set_nomemory(fail_at, fail_at + 1)
            try:
                remove(s)
            except MemoryError:
                pass
            finally:
                _testcapi.remove_mem_hooks()
            s[long_key] = "again"
            clock.advance(5)
            assert sorted(s) == sorted([long_key, "plain"]), (name, fail_at)
            assert s[long_key] == "again" and s.ttl(long_key) is None


# ------------------------------------------------ references and memory


EXPIRING_REMOVALS = {
    "purge": lambda s, c: (c.advance(100), len(s)),
    "purge-by-iterator": lambda s, c: (c.advance(100), list(s.keys())),
    "overwrite-setitem": lambda s, c: s.__setitem__("kv", 0),
    "overwrite-mset-ttl": lambda s, c: s.mset([("kv", 0)], ttl=3),
    "overwrite-mset": lambda s, c: s.mset([("kv", 0)]),
    "delitem": lambda s, c: s.__delitem__("kv"),
    "mdelete": lambda s, c: s.mdelete(["kv"]),
    "delete_prefix": lambda s, c: s.delete_prefix("k"),
    "clear": lambda s, c: s.clear(),
}


@pytest.mark.parametrize("removal", list(EXPIRING_REMOVALS))
def test_refcount_back_to_baseline_for_expiring_keys(clock, removal):
    s = TrieStore(clock=clock)
    s.mset([(f"k{i}", i) for i in range(20)], ttl=50)
    v = Obj()
    r = weakref.ref(v)
    base = rc(v)
    s.mset([("kv", v)], ttl=10)
    assert rc(v) == base + 1  # one reference, held by the entry
    s.expire("kv", 20)
    s.persist("kv")
    s.expire("kv", 10)
    s.mget(["kv"])
    list(s.items())
    s.longest_prefix("kvx")
    s == s.copy()  # noqa: B015
    pickle.loads(pickle.dumps(s))
    repr(s)
    gc.collect()
    assert rc(v) == base + 1
    c = s.copy()
    assert rc(v) == base + 2
    del c
    assert rc(v) == base + 1
    EXPIRING_REMOVALS[removal](s, clock)
    assert rc(v) == base
    del v
    assert r() is None


def test_store_without_lifetimes_uses_the_same_memory(clock):
    keys = [(f"user:{i % 97}:doc:{i}", i) for i in range(5000)]
    plain = TrieStore(keys)
    with_options = TrieStore(keys, clock=clock)
    with_options.mset(keys[:100], ttl=None)
    with_options.persist("user:0:doc:0")
    with_options.mset([], ttl=5)  # no key got a lifetime
    assert with_options.expire("missing", 5) is False
    assert TrieStore(ttl=5).memory_usage() == TrieStore().memory_usage()
    assert with_options.memory_usage() == plain.memory_usage()
    assert sys.getsizeof(with_options) == sys.getsizeof(plain)


def test_memory_usage_counts_the_expiry_bookkeeping_and_gives_it_back(clock):
    keys = [(f"user:{i % 97}:doc:{i}", i) for i in range(5000)]
    s = TrieStore(keys, clock=clock)
    plain = s.memory_usage()
    s.mset(keys, ttl=10)
    per_key = (s.memory_usage() - plain) / len(keys)
    # a 16-byte entry plus the key once more (about 20 bytes) behind its
    # 8-byte deadline in the queue, in a tree
    assert 16 + 8 <= per_key <= 16 + 8 + 20 + 48, per_key
    clock.advance(10)
    assert len(s) == 0
    empty_with_queue = s.memory_usage()
    s.mset(keys)
    assert s.memory_usage() - plain == empty_with_queue - TrieStore().memory_usage()


def test_many_deadlines_purge_in_order(clock):
    s = TrieStore(clock=clock)
    for i in range(1, 101):
        s.mset([(f"k{i:03d}", i)], ttl=i)
    for i in range(1, 101):
        clock.advance(1)
        assert len(s) == 100 - i
        assert s.count() == 100 - i
        assert next(iter(s), None) == (f"k{i + 1:03d}" if i < 100 else None)


def test_negative_clock_times(clock):
    clock.now = -1000.0
    s = TrieStore(clock=clock)
    s.mset([("a", 1)], ttl=500)
    s.mset([("b", 2)], ttl=1500)
    clock.now = -500.0
    assert list(s) == ["b"]
    clock.now = 499.0
    assert list(s) == ["b"]
    clock.now = 500.0
    assert list(s) == []


# -------------------------------------------------- copy and pickle


def test_copy_keeps_deadlines_default_and_clock(clock):
    s = TrieStore({"p": 0}, ttl=7, clock=clock)
    s.mset([("a", 1)], ttl=5)
    clock.advance(2)
    c = s.copy()
    assert c.default_ttl == 7.0
    assert c.ttl("a") == 3.0 and c.ttl("p") == 7.0 - 2
    c["n"] = 9
    assert c.ttl("n") == 7.0
    clock.advance(3)
    assert list(c) == ["n", "p"] and list(s) == ["p"]


def test_copy_of_a_byte_store():
    s = InMemoryByteStore(ttl=5)
    s["a"] = b"x"
    c = s.copy()
    assert type(c) is InMemoryByteStore and c["a"] == b"x" and 4 < c.ttl("a") <= 5


def test_pickle_keeps_deadlines_default_and_clock(clock):
    s = TrieStore({"p": 0}, ttl=7, clock=clock)
    s.mset([("a", 1), ("é\ud800", 2)], ttl=5)
    s.mset([("n", 3)], ttl=None)
    s["self"] = s
    clock.advance(1)
    u = pickle.loads(pickle.dumps(s))
    assert u.default_ttl == 7.0
    assert u["self"] is u
    # the unpickled store has its own copy of the clock, at the same time
    assert {k: u.ttl(k) for k in u} == {k: s.ttl(k) for k in s}
    assert u.ttl("a") == 4.0 and u.ttl("n") is None


def test_pickle_with_the_wall_clock_keeps_absolute_deadlines():
    s = TrieStore()
    s.mset([("a", 1)], ttl=1000)
    s["b"] = 2
    u = pickle.loads(pickle.dumps(s))
    assert 990 < u.ttl("a") <= s.ttl("a") + 0.5
    assert u.ttl("b") is None and u.default_ttl is None


def test_pickle_of_a_store_without_lifetimes_is_the_old_format():
    s = TrieStore({"a": 1})
    assert s.__reduce__() == (TrieStore, (), [("a", 1)])
    # and a store pickled by an older version (a list of pairs) loads
    old = TrieStore.__new__(TrieStore)
    old.__setstate__([("x", 1), ("y", 2)])
    assert dict(old.items()) == {"x": 1, "y": 2}


def test_pickle_keeps_expired_keys_out(clock):
    s = half_expired(clock)
    state = s.__reduce__()[2]
    assert [item[0] for item in state["items"]] == sorted(LIVE)


def test_unpickled_keys_already_past_their_deadline_are_gone():
    s = TrieStore()
    s.mset([("old", 1)], ttl=1)
    s["plain"] = 2
    state = s.__reduce__()[2]
    items = []
    for item in state["items"]:
        if item[0] == "old":
            key, value, deadline = item
            item = (key, value, deadline - 3600)  # an hour ago
        items.append(item)
    state["items"] = items
    u = TrieStore.__new__(TrieStore)
    u.__setstate__(state)
    assert list(u) == ["plain"]


# ------------------------------------------------------------- async


def test_amset_ttl(clock):
    s = TrieStore(ttl=30, clock=clock)

    async def main():
        await s.amset([("default", 1)])
        await s.amset([("none", 2)], ttl=None)
        await s.amset([(f"big{i}", i) for i in range(10_000)], ttl=3)

    asyncio.run(main())
    assert (
        s.ttl("default") == 30.0 and s.ttl("none") is None and s.ttl("big9999") == 3.0
    )
    clock.advance(3)
    assert len(s) == 2


# --------------------------------------------------------- LangChain


def test_langchain_stores_take_ttl_and_clock(clock):
    pytest.importorskip("langchain_core")
    from langchain_core.stores import BaseStore

    from memstore.langchain import InMemoryByteStore as LCBytes
    from memstore.langchain import InMemoryStore as LCStore

    docs = LCStore(ttl=10, clock=clock)
    cache = LCBytes(ttl=60, clock=clock)
    assert isinstance(docs, BaseStore) and isinstance(cache, BaseStore)
    assert docs.default_ttl == 10.0 and cache.default_ttl == 60.0
    docs.mset([("doc:1", {"text": "hi"})])
    docs.mset([("doc:keep", {"text": "kept"})], ttl=None)
    cache.mset([("emb:a", b"[0.1]")])
    with pytest.raises(TypeError):
        cache.mset([("emb:b", "not bytes")], ttl=5)
    with pytest.raises(ValueError, match=r"^ttl"):
        cache.mset([("emb:b", b"x")], ttl=-5)
    clock.advance(10)
    assert docs.mget(["doc:1", "doc:keep"]) == [None, {"text": "kept"}]
    assert list(docs.yield_keys(prefix="doc:")) == ["doc:keep"]
    assert cache.mget(["emb:a"]) == [b"[0.1]"]
    clock.advance(50)
    assert cache.mget(["emb:a"]) == [None]
    copied = pickle.loads(pickle.dumps(LCStore({"a": 1}, ttl=5, clock=clock)))
    assert type(copied) is LCStore and copied.ttl("a") == 5.0
