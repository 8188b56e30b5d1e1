"""Abuse: what the other suites do not already try.

* many iterators (forward, reverse, prefixes, start_after, limit) left open
  while the store is cleared and refilled hundreds of times, each step
  checked against a model of the current contents;
* one thread per core hammering one store with every operation, each thread
  checking its own key range exactly (iterators kept open across the other
  threads' writes included);
* KeyboardInterrupt (raised, or a real SIGINT) from inside the input
  generator of mset / mdelete / amset / amdelete, midway through a large
  batch: nothing changes and the store stays usable;
* pickling stores whose values cannot be pickled (nested, raising from
  __reduce__, changing the store while it is pickled);
* values whose __del__ calls clear() / delete_prefix() / mset() / mdelete()
  on the store releasing them, released by every removal path, checked
  against a model.
"""

import asyncio
import bisect
import copy
import gc
import os
import pickle
import random
import signal
import sys
import threading
import time
import weakref

import pytest

from memstore import TrieStore

END = object()


def expected_next(model, prefix, last, reverse):
    """The key an iterator must return next: the first key of the model
    under prefix after (before, reversed) the last key it returned."""
    cands = [k for k in model if k.startswith(prefix or "")]
    if last is not None:
        cands = [k for k in cands if (k < last if reverse else k > last)]
    if not cands:
        return None
    return max(cands) if reverse else min(cands)


def expected_next_sorted(keys, last, reverse):
    """expected_next over keys, the sorted keys under the prefix."""
    if reverse:
        i = len(keys) if last is None else bisect.bisect_left(keys, last)
        return keys[i - 1] if i > 0 else None
    i = 0 if last is None else bisect.bisect_right(keys, last)
    return keys[i] if i < len(keys) else None


def check_consistent(s, model=None):
    keys = list(s)
    assert keys == sorted(set(keys))
    assert len(keys) == len(s) == s.count("")
    assert list(s.yield_keys(reverse=True)) == keys[::-1]
    if model is not None:
        assert keys == sorted(model)


# =========================================== open iterators, clear & refill


ALPHABET = "ab\x00é"

SPECS = [
    {},
    {"reverse": True},
    {"prefix": "a"},
    {"prefix": "a", "reverse": True},
    {"prefix": "ab"},
    {"prefix": "b", "reverse": True},
    {"prefix": "é"},
    {"start_after": "b"},
    {"prefix": "a", "start_after": "ab", "reverse": True},
    {"prefix": "", "start_after": "a\x00"},
    {"limit": 5},
    {"prefix": "b", "limit": 3, "reverse": True},
    {"start_after": "", "limit": 40},
]
KINDS = ["yield_keys", "keys", "values", "items", "iter"]


class OpenIterator:
    """An iterator of the store plus what it must return next."""

    def __init__(self, s, kind, spec):
        self.kind = kind
        self.spec = spec if kind != "iter" else {}
        self.prefix = self.spec.get("prefix")
        self.reverse = self.spec.get("reverse", False)
        self.limit = self.spec.get("limit")
        self.last = self.spec.get("start_after")
        self.returned = 0
        self.ended = False
        if kind == "iter":
            self.it = iter(s)
        else:
            self.it = getattr(s, kind)(**self.spec)

    def step(self, model, by_prefix=None):
        """One step, checked against model; by_prefix, if given, maps each
        prefix to the model's sorted keys under it (for big models)."""
        item = next(self.it, END)
        if self.ended:
            assert item is END, f"{self} came back to life with {item!r}"
            return
        if by_prefix is None:
            exp = expected_next(model, self.prefix, self.last, self.reverse)
        else:
            exp = expected_next_sorted(
                by_prefix[self.prefix or ""], self.last, self.reverse
            )
        if self.limit is not None and self.returned == self.limit:
            exp = None
        if exp is None:
            assert item is END, f"{self} returned {item!r}, expected the end"
            self.ended = True
            return
        assert item is not END, f"{self} ended, expected {exp!r}"
        if self.kind == "items":
            key, value = item
        elif self.kind == "values":
            key, value = item[0], item  # values are (key, generation) tuples
        else:
            key, value = item, None
        assert key == exp, f"{self}: got {key!r}, expected {exp!r}"
        if value is not None:
            assert value == model[key], (self, key, value)
        self.last = key
        self.returned += 1

    def __repr__(self):
        return f"<{self.kind} {self.spec} last={self.last!r} n={self.returned}>"


@pytest.mark.parametrize("seed", range(3))
def test_open_iterators_across_clear_and_refill(seed):
    rng = random.Random(seed)
    s = TrieStore()
    model = {}
    gen = 0

    def rkey():
        return "".join(rng.choice(ALPHABET) for _ in range(rng.randrange(5)))

    def refill():
        nonlocal gen
        gen += 1
        pairs = [(k, (k, gen)) for k in (rkey() for _ in range(rng.randrange(60)))]
        how = rng.randrange(5)
        # empty the store one way or another
        if how == 0:
            s.clear()
        elif how == 1:
            assert s.delete_prefix("") == len(model)
        elif how == 2:
            s.mdelete(list(model))
        elif how == 3:
            for k in list(s):
                del s[k]
        else:
            for p in ["a", "b", "é", ""]:
                s.delete_prefix(p)
        model.clear()
        assert len(s) == 0
        # and fill it again
        if how % 2:
            s.mset(pairs)
        elif how == 2:
            asyncio.run(s.amset(pairs))
        else:
            for k, v in pairs:
                s[k] = v
        model.update(pairs)

    def open_one():
        return OpenIterator(s, rng.choice(KINDS), rng.choice(SPECS))

    refill()
    its = [OpenIterator(s, kind, spec) for kind in KINDS for spec in SPECS[:3]]
    its += [open_one() for _ in range(15)]
    reopened = 0
    for _round in range(300):
        refill()
        for i, it in enumerate(its):
            for _ in range(rng.randrange(3)):
                it.step(model)
                if rng.random() < 0.1:  # a small change between two steps
                    k = rkey()
                    if k in model and rng.random() < 0.5:
                        del s[k]
                        del model[k]
                    else:
                        s[k] = model[k] = (k, -1)
            if it.ended and rng.random() < 0.5:
                its[i] = open_one()  # opened now, first stepped after a clear
                reopened += 1
        check_consistent(s, model)
    assert reopened > 20
    # drain everything still open
    for it in its:
        while not it.ended:
            it.step(model)
        it.step(model)  # stays ended


def test_open_iterators_on_a_store_refilled_with_many_keys():
    """Clear-and-refill between steps with enough keys that the tree's inner
    nodes (not just leaves) are freed and rebuilt under the open iterators."""
    s = TrieStore()
    rng = random.Random(7)
    model = {}
    its = []
    for rnd in range(30):
        s.clear()
        model.clear()
        keys = {f"{rng.choice('abc')}{rng.randrange(2000):04d}" for _ in range(1500)}
        pairs = [(k, (k, rnd)) for k in keys]
        s.mset(pairs)
        model.update(pairs)
        ordered = sorted(model)
        by_prefix = {
            p: [k for k in ordered if k.startswith(p)] for p in ["", "a", "b", "c"]
        }
        if rnd % 3 == 0:
            its.append(
                OpenIterator(
                    s, "items", {"prefix": rng.choice("abc"), "reverse": rnd % 2 == 1}
                )
            )
            its.append(
                OpenIterator(s, "keys", {"start_after": f"b{rng.randrange(2000):04d}"})
            )
            its.append(OpenIterator(s, "values", {"reverse": True}))
        for it in its:
            for _ in range(rng.randrange(1, 40)):
                it.step(model, by_prefix)
    assert any(it.returned > 50 for it in its)


# =============================================================== threads


@pytest.fixture
def fast_switching():
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        yield
    finally:
        sys.setswitchinterval(old)


THREADS = max(2, os.cpu_count() or 2)
# Releases the GIL so that another thread runs now: the switch interval
# alone gives a switch only every few milliseconds on a busy 2-core box.
yield_gil = getattr(os, "sched_yield", None) or (lambda: time.sleep(0))
OPS_PER_THREAD = 20_000
LOCKSTEP = 250  # operations each thread makes between two meetings
SHARED = 300


def hammer(s, tid, model, errors, barrier, trace):
    rng = random.Random(5000 + tid)
    own = f"t{tid}:"
    it = None
    it_last = None
    it_reverse = False

    def rkey():
        return own + "".join(rng.choice("abcé") for _ in range(rng.randrange(0, 4)))

    try:
        barrier.wait()
        for op in range(OPS_PER_THREAD):
            if op % LOCKSTEP == 0:
                # The threads meet every LOCKSTEP operations, so they
                # interleave however busy the machine is (the scheduler
                # alone may run one thread for thousands of operations).
                barrier.wait(timeout=60)
            trace.append(tid)  # who ran when: to check that threads interleaved
            if op % 3 == 0:
                yield_gil()
            r = rng.randrange(16)
            if r == 0:
                pairs = [(rkey(), (tid, op, j)) for j in range(rng.randrange(1, 10))]
                s.mset(pairs)  # duplicates in the batch: the last wins
                model.update(pairs)
            elif r == 1:
                keys = [rkey() for _ in range(rng.randrange(1, 6))]
                expected = [model.get(k) for k in keys]
                assert s.mget(keys + [f"shared:{op % SHARED:04d}"]) == expected + [
                    op % SHARED
                ]
            elif r == 2:
                keys = [rkey() for _ in range(rng.randrange(1, 6))]
                s.mdelete(keys)
                for k in keys:
                    model.pop(k, None)
            elif r == 3:
                p = own + rng.choice("abcé")
                dead = [k for k in model if k.startswith(p)]
                assert s.delete_prefix(p) == len(dead)
                for k in dead:
                    del model[k]
            elif r == 4:
                assert s.count(own) == len(model)
                assert s.count("") >= SHARED + len(model)
                assert s.count("shared:") == SHARED
            elif r == 5:
                k = rkey() + rng.choice(["", "x", "ab"])
                cands = [m for m in model if k.startswith(m)]
                best = max(cands, key=len) if cands else None
                assert s.longest_prefix(k) == ((best, model[best]) if cands else None)
            elif r == 6:
                assert list(s.yield_keys(prefix=own)) == sorted(model)
                limit = rng.randrange(1, 5)
                assert (
                    list(s.yield_keys(prefix=own, reverse=True, limit=limit))
                    == sorted(model, reverse=True)[:limit]
                )
            elif r == 7:
                assert list(s.items(prefix=own)) == sorted(model.items())
            elif r == 8 and op % 10 == 0:
                c = s.copy()  # atomic: this thread's range is exact in it
                assert dict(c.items(prefix=own)) == model
                assert c.count("shared:") == SHARED
                check_consistent(c)
            elif r == 9 and op % 5 == 0:
                assert s.delete_prefix(own) == len(model)  # clear of its own range
                model.clear()
            elif r == 10:
                k = rkey()
                s[k] = model[k] = (tid, op)
                assert s[k] == (tid, op)
                assert k in s and s.get(k) == (tid, op)
            elif r == 11:
                k = rkey()
                if k in model:
                    del s[k]
                    del model[k]
                else:
                    with pytest.raises(KeyError):
                        del s[k]
            elif r == 12:
                # a listing of everything: sorted, though others write
                last = None
                for n, k in enumerate(s.keys(reverse=op % 2 == 0, limit=200)):
                    if n % 16 == 0:
                        yield_gil()
                    if last is not None:
                        assert (k < last) if op % 2 == 0 else (k > last), (last, k)
                    last = k
            else:
                # an iterator over this thread's range kept open across the
                # other threads' writes: its next key is exact
                if it is None:
                    it_reverse = rng.random() < 0.5
                    it = s.items(prefix=own, reverse=it_reverse)
                    it_last = None
                exp = expected_next(model, own, it_last, it_reverse)
                got = next(it, END)
                if exp is None:
                    assert got is END, (got, it_last)
                    it = None
                else:
                    assert got == (exp, model[exp]), (got, exp)
                    it_last = exp
    except BaseException as e:  # noqa: BLE001 - report everything
        errors.append((tid, e))
        barrier.abort()  # the others stop waiting for this thread


def test_thread_per_core_every_operation(fast_switching):
    s = TrieStore()
    s.mset([(f"shared:{i:04d}", i) for i in range(SHARED)])
    models = [{} for _ in range(THREADS)]
    errors = []
    trace = []
    barrier = threading.Barrier(THREADS)
    threads = [
        threading.Thread(
            target=hammer,
            args=(s, tid, models[tid], errors, barrier, trace),
            daemon=True,
        )
        for tid in range(THREADS)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    assert not errors, errors
    assert len(trace) == THREADS * OPS_PER_THREAD
    switches = sum(a != b for a, b in zip(trace, trace[1:]))
    # every meeting starts a round in which each thread runs
    assert switches >= OPS_PER_THREAD // LOCKSTEP, (
        f"the threads hardly interleaved ({switches} switches)"
    )
    for tid, model in enumerate(models):
        own = f"t{tid}:"
        assert dict(s.items(prefix=own)) == model
        assert s.count(own) == len(model)
    assert dict(s.items(prefix="shared:")) == {
        f"shared:{i:04d}": i for i in range(SHARED)
    }
    assert len(s) == SHARED + sum(map(len, models))
    check_consistent(s)


# ================================================= KeyboardInterrupt midway


@pytest.fixture
def default_sigint():
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


class Tracked:
    __slots__ = ("__weakref__", "n")

    def __init__(self, n):
        self.n = n

    def __eq__(self, other):
        return isinstance(other, Tracked) and other.n == self.n

    __hash__ = None


def interrupting(items, at, how, refs):
    """Yields items, and is interrupted before item `at`."""
    for i, item in enumerate(items):
        if i == at:
            if how == "signal":
                signal.raise_signal(signal.SIGINT)  # Python raises it here
                raise AssertionError("SIGINT did not interrupt")
            raise KeyboardInterrupt
        if isinstance(item, tuple) and isinstance(item[1], Tracked):
            refs.append(weakref.ref(item[1]))
        yield item


def run_coroutine(coro):
    # Not asyncio.run: its SIGINT handler would turn the signal into a
    # cancellation instead of a KeyboardInterrupt raised in the generator.
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.close()


N_BATCH = 10_000  # more than one chunk of amset / amdelete (4096)


@pytest.mark.usefixtures("default_sigint")
@pytest.mark.parametrize("how", ["raise", "signal"])
@pytest.mark.parametrize("method", ["mset", "mdelete", "amset", "amdelete"])
def test_keyboard_interrupt_from_the_input_generator(method, how):
    s = TrieStore()
    olds = [Tracked(i) for i in range(N_BATCH // 2)]
    s.mset([(f"k{i:05d}", o) for i, o in enumerate(olds)])
    s["other"] = "x"
    base_rcs = [sys.getrefcount(o) for o in olds]
    before = list(s.items())
    usage = s.memory_usage()
    refs = []
    if method in ("mset", "amset"):
        # overwrites of existing keys and new keys, interrupted at 80%
        items = [(f"k{i:05d}", Tracked(-i)) for i in range(N_BATCH)]
    else:
        items = [f"k{i:05d}" for i in range(N_BATCH)]
    gen = interrupting(items, at=N_BATCH * 4 // 5, how=how, refs=refs)
    del items
    call = getattr(s, method)
    with pytest.raises(KeyboardInterrupt):
        if method.startswith("a"):
            run_coroutine(call(gen))
        else:
            call(gen)
    del gen
    gc.collect()

    # nothing written, nothing released, no reference taken
    assert list(s.items()) == before
    assert all(a[1] is b[1] for a, b in zip(s.items(), before))
    del before
    assert s.memory_usage() == usage
    assert [sys.getrefcount(o) for o in olds] == base_rcs
    if method in ("mset", "amset"):
        assert len(refs) == N_BATCH * 4 // 5
        assert all(r() is None for r in refs)  # the batch's values died
    check_consistent(s)

    # and the store is fully usable
    model = dict(s.items())
    s.mset([("k00000", 0), ("new", 1)])
    model.update([("k00000", 0), ("new", 1)])
    s.mdelete(["k00001", "other"])
    del model["k00001"], model["other"]
    run_coroutine(s.amset([(f"z{i}", i) for i in range(5000)]))
    model.update((f"z{i}", i) for i in range(5000))
    run_coroutine(s.amdelete([f"z{i}" for i in range(0, 5000, 2)]))
    for i in range(0, 5000, 2):
        del model[f"z{i}"]
    assert s.delete_prefix("k0001") == 10
    for k in [k for k in model if k.startswith("k0001")]:
        del model[k]
    assert dict(s.items()) == model
    assert list(s.keys(prefix="z", reverse=True, limit=2)) == ["z999", "z997"]
    check_consistent(s, model)
    s.clear()
    assert len(s) == 0 and list(s) == []


@pytest.mark.usefixtures("default_sigint")
def test_keyboard_interrupt_in_a_generator_feeding_the_constructor_and_mget():
    s = TrieStore({"a": 1})
    with pytest.raises(KeyboardInterrupt):
        TrieStore(interrupting([(f"k{i}", i) for i in range(100)], 50, "signal", []))
    with pytest.raises(KeyboardInterrupt):
        run_coroutine(s.amget(interrupting(["a"] * 10_000, 9_000, "signal", [])))
    assert s.mget(["a"]) == [1]
    s["b"] = 2
    assert list(s.items()) == [("a", 1), ("b", 2)]


# ============================================================== pickling


class NoPickle:
    def __reduce__(self):
        raise TypeError("NoPickle objects cannot be pickled")


class ClearsOnPickle:
    """Empties the store it is in while the store is being pickled."""

    def __init__(self, store):
        self.store = store

    def __reduce__(self):
        self.store.clear()
        self.store["written"] = "during pickling"
        return (str, ("stand-in",))


def filled(n=2000):
    s = TrieStore()
    s.mset([(f"k{i:05d}", [i, {"i": i}]) for i in range(n)])
    return s


@pytest.mark.parametrize("protocol", [0, 2, pickle.HIGHEST_PROTOCOL])
@pytest.mark.parametrize(
    "bad,message",
    [
        (lambda: {"deep": [threading.Lock()]}, "lock"),
        (lambda: [1, (2, NoPickle())], "NoPickle objects cannot be pickled"),
        (lambda: (x for x in ()), "generator"),
    ],
    ids=["nested-lock", "raising-reduce", "generator"],
)
def test_pickle_unpicklable_deep_in_a_value(bad, message, protocol):
    s = filled()
    value = bad()
    base = sys.getrefcount(value)
    s["k01000:bad"] = value
    before = list(s.items())
    with pytest.raises((TypeError, pickle.PicklingError)) as ei:
        pickle.dumps(s, protocol=protocol)
    assert message in str(ei.value)  # the error says what could not be pickled
    del ei
    with pytest.raises((TypeError, pickle.PicklingError)):
        copy.deepcopy(s)
    # intact and usable
    assert list(s.items()) == before
    assert all(a[1] is b[1] for a, b in zip(s.items(), before))
    del before
    gc.collect()
    assert sys.getrefcount(value) == base + 1  # only the store's reference is new
    del s["k01000:bad"]
    t = pickle.loads(pickle.dumps(s, protocol=protocol))
    assert t == s and len(t) == 2000
    check_consistent(s)


def test_pickle_a_store_that_contains_itself_and_an_unpicklable_value():
    s = filled(50)
    s["self"] = s
    s["lock"] = threading.Lock()
    with pytest.raises(TypeError, match="lock"):
        pickle.dumps(s)
    assert s["self"] is s and len(s) == 52
    del s["lock"]
    t = pickle.loads(pickle.dumps(s))
    assert t["self"] is t and len(t) == 51
    s.clear()
    t.clear()


def test_pickle_while_a_value_clears_the_store():
    s = filled(100)
    s["m"] = ClearsOnPickle(s)
    t = pickle.loads(pickle.dumps(s))
    # the pickle holds the items as they were when pickling started
    assert len(t) == 101 and t["m"] == "stand-in" and t["k00099"] == [99, {"i": 99}]
    # the store holds what the value left in it
    assert list(s.items()) == [("written", "during pickling")]
    check_consistent(s)
    s.clear()


# ============================================ re-entrant __del__ with a model


class Reentrant:
    """A value whose __del__ changes the store that releases it, and the
    model along with it (model first: releases it triggers run inside)."""

    def __init__(self, world, action, arg, budget):
        self.world = world
        self.tag = world.new_tag()
        self.action = action
        self.arg = arg
        self.budget = budget

    def __del__(self):
        w = self.world
        w.released.append(self.tag)
        try:
            w.apply(self.action, self.arg, self.budget)
        except BaseException as e:  # noqa: BLE001 - an error here is unraisable
            w.errors.append((self.tag, self.action, e))


def tag_of(v):
    return v.tag if isinstance(v, Reentrant) else v


class World:
    """A store, its model (key -> tag of the value) and the re-entrant
    values' bookkeeping."""

    ACTIONS = ["clear", "delete_prefix", "mset", "mdelete", "setitem", "none"]

    def __init__(self, seed):
        self.s = TrieStore()
        self.model = {}
        self.rng = random.Random(seed)
        self.tags = 0
        self.released = []
        self.errors = []

    def new_tag(self):
        self.tags += 1
        return f"v{self.tags}"

    def key(self):
        rng = self.rng
        return rng.choice(["r:", "w:", "p:", ""]) + "".join(
            rng.choice("ab") for _ in range(rng.randrange(4))
        )

    def value(self, budget):
        if budget <= 0 or self.rng.random() < 0.3:
            return self.new_tag()  # a plain value: its tag is itself
        action = self.rng.choice(self.ACTIONS)
        arg = (
            self.rng.choice(["r:", "w:", "p:", "r:a", ""])
            if action == "delete_prefix"
            else None
        )
        return Reentrant(self, action, arg, budget - 1)

    def apply(self, action, arg, budget):
        """Runs one action on the model, then on the store."""
        s, m = self.s, self.model
        if action == "clear":
            m.clear()
            s.clear()
        elif action == "delete_prefix":
            dead = [k for k in m if k.startswith(arg)]
            for k in dead:
                del m[k]
            n = s.delete_prefix(arg)
            assert n == len(dead), (arg, n, len(dead))
        elif action == "mset":
            pairs = [
                (self.key(), self.value(budget))
                for _ in range(self.rng.randrange(1, 5))
            ]
            m.update((k, tag_of(v)) for k, v in pairs)
            s.mset(pairs)
        elif action == "mdelete":
            keys = [self.key() for _ in range(self.rng.randrange(1, 5))]
            for k in keys:
                m.pop(k, None)
            s.mdelete(keys)
        elif action == "setitem":
            k, v = self.key(), self.value(budget)
            m[k] = tag_of(v)
            s[k] = v

    def populate(self, n=40, budget=3):
        for _ in range(n):
            self.apply("setitem", None, budget)

    def drop(self):
        """Empties the store (values released by clear() may write to it
        again, a bounded number of times), breaking the store <-> value
        reference cycles."""
        for _ in range(10):
            self.apply("clear", None, 0)
            self.check()
            if not self.s:
                return
        raise AssertionError("the store keeps being refilled")

    def check(self):
        assert not self.errors, self.errors
        got = {k: tag_of(v) for k, v in self.s.items()}
        assert got == self.model
        check_consistent(self.s, self.model)


def removal_by(path):
    """The top-level operation under test, model first like World.apply."""

    def setitem_overwrite(w):
        for k in [k for k in w.model if w.rng.random() < 0.5]:
            v = w.value(2)
            w.model[k] = tag_of(v)
            w.s[k] = v

    def mset_overwrite(w):
        keys = list(w.model) + [w.key() for _ in range(5)]
        pairs = [
            (k, w.value(2)) for k in keys for _ in range(w.rng.randrange(1, 3))
        ]  # duplicates
        w.model.update((k, tag_of(v)) for k, v in pairs)
        w.s.mset(pairs)

    def amset_overwrite(w):
        pairs = [(k, w.value(2)) for k in list(w.model)]
        w.model.update((k, tag_of(v)) for k, v in pairs)
        asyncio.run(w.s.amset(pairs))

    def mdelete(w):
        keys = [k for k in w.model if w.rng.random() < 0.7] + ["missing"]
        for k in keys:
            w.model.pop(k, None)
        w.s.mdelete(keys)

    def amdelete(w):
        keys = list(w.model)
        w.model.clear()
        asyncio.run(w.s.amdelete(keys))

    def delitem(w):
        for k in list(w.model):
            if k in w.model:  # an earlier __del__ may have removed it
                del w.model[k]
                del w.s[k]

    def delete_prefix(w):
        for p in ["r:a", "r:", "w:", ""]:
            w.apply("delete_prefix", p, 0)

    def clear(w):
        w.apply("clear", None, 0)

    return locals()[path]


REMOVAL_PATHS = [
    "setitem_overwrite",
    "mset_overwrite",
    "amset_overwrite",
    "mdelete",
    "amdelete",
    "delitem",
    "delete_prefix",
    "clear",
]


@pytest.mark.parametrize("path", REMOVAL_PATHS)
def test_reentrant_del_released_by_every_path(path, unraisables):
    released = 0
    for seed in range(25):
        w = World(hash((path, seed)) & 0xFFFF)
        w.populate()
        w.check()
        removal_by(path)(w)
        assert not unraisables, unraisables
        w.check()
        released += len(w.released)
        w.drop()
    assert released > 100


def test_reentrant_del_released_by_rollback_after_out_of_memory(unraisables):
    """A batch from a generator runs out of memory midway and is undone; its
    values, owned only by the batch, are released once the store is back as
    it was, and their __del__ writes to it."""
    _testcapi = pytest.importorskip("_testcapi")
    rolled_back = 0
    for fail_at in range(40):
        w = World(fail_at)
        w.populate(20)
        w.check()
        # long keys: leaves over 256 bytes come from PyMem at each insert
        # (smaller nodes from the store's node pool, which rarely asks)
        keys = [f"n:{fail_at}:{j}:é" + "x" * 300 for j in range(4)] + list(w.model)[:3]
        pairs = [
            (k, Reentrant(w, w.rng.choice(["clear", "mset", "setitem"]), None, 1))
            for k in keys
        ]
        batch = (p for p in pairs)
        del pairs
        _testcapi.set_nomemory(fail_at, fail_at + 1)  # that allocation only
        try:
            w.s.mset(batch)
        except MemoryError as e:
            failed = str(e)
        else:
            failed = None
        finally:
            _testcapi.remove_mem_hooks()
        if failed is None:
            # Past the batch's allocations: done.  (The allocation made to
            # fail may have been one of a __del__ run by the batch.)
            w.errors.clear()
            w.model = {k: tag_of(v) for k, v in w.s.items()}
            w.drop()
            break
        # nothing was written; the batch's values died once the store was
        # back as it was, their __del__ changing store and model alike
        del batch
        assert len(w.released) >= len(keys), failed
        assert not unraisables, unraisables
        w.check()
        rolled_back += "while inserting" in failed
        w.drop()
    assert rolled_back >= 2
