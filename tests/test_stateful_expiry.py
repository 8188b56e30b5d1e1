"""Model-based test of expiry: TrieStore with a fake clock against a dict of
(value, deadline) over random sequences of writes, lifetime changes, reads,
listings (some left open across steps) and moves of the clock.

The model's view at time t is every key whose deadline is None or > t; the
store must show exactly that through every operation.  Profiles live in
conftest.py (HYPOTHESIS_PROFILE=long for a soak run).
"""

import asyncio
import pickle

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from memstore import TrieStore

ALPHABET = ["a", "b", "\x00", "é", "\U0001f600"]
keys = st.lists(st.sampled_from(ALPHABET), max_size=4).map("".join)
opt_keys = st.none() | keys
values = st.integers(0, 50)
limits = st.none() | st.integers(0, 6)
# Lifetimes and clock steps on a coarse grid, so deadlines often coincide
# (and keys expire exactly at a step) as well as differ.
ttls = st.sampled_from([0.5, 1.0, 1.5, 2.0, 3.0])
steps = st.sampled_from([0.0, 0.5, 1.0, 1.5, 4.0])
LEFT_OUT = object()
ttl_args = st.sampled_from([LEFT_OUT, None]) | ttls
bad_ttls = st.sampled_from(
    [0, -1.0, float("nan"), float("inf"), True, "1", None.__class__]
)
END = object()


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


class ExpiryMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.clock = Clock()
        self.store = None
        self.default = None
        self.model = {}  # key -> (value, deadline or None)
        self.iters = []  # [iterator, prefix, reverse, last]

    @initialize(default=st.none() | ttls)
    def make_store(self, default):
        self.default = default
        self.store = TrieStore(ttl=default, clock=self.clock)

    # ----------------------------------------------------------- the model

    def live(self):
        now = self.clock.now
        return {k: v for k, (v, d) in self.model.items() if d is None or now < d}

    def forget_expired(self):
        now = self.clock.now
        self.model = {
            k: vd for k, vd in self.model.items() if vd[1] is None or now < vd[1]
        }

    def deadline_for(self, ttl):
        if ttl is LEFT_OUT:
            ttl = self.default
        return None if ttl is None else self.clock.now + ttl

    # ------------------------------------------------------------- time

    @rule(step=steps)
    def advance(self, step):
        self.clock.now += step
        self.forget_expired()

    # ------------------------------------------------------------ writes

    @rule(pairs=st.lists(st.tuples(keys, values), max_size=6), ttl=ttl_args)
    def mset(self, pairs, ttl):
        options = {} if ttl is LEFT_OUT else {"ttl": ttl}
        self.store.mset(pairs, **options)
        deadline = self.deadline_for(ttl)
        for k, v in pairs:
            self.model[k] = (v, deadline)

    @rule(pairs=st.lists(st.tuples(keys, values), max_size=6), ttl=ttl_args)
    def amset(self, pairs, ttl):
        options = {} if ttl is LEFT_OUT else {"ttl": ttl}
        asyncio.run(self.store.amset(pairs, **options))
        deadline = self.deadline_for(ttl)
        for k, v in pairs:
            self.model[k] = (v, deadline)

    @rule(pairs=st.lists(st.tuples(keys, values), max_size=6), ttl=bad_ttls)
    def mset_bad_ttl(self, pairs, ttl):
        with pytest.raises((TypeError, ValueError), match=r"^ttl"):
            self.store.mset(pairs, ttl=ttl)

    @rule(
        pairs=st.lists(st.tuples(keys, values), max_size=6),
        bad_at=st.integers(0, 6),
        ttl=ttl_args,
    )
    def mset_bad_pair(self, pairs, bad_at, ttl):
        pairs = list(pairs)
        pairs.insert(min(bad_at, len(pairs)), (1, 1))
        options = {} if ttl is LEFT_OUT else {"ttl": ttl}
        with pytest.raises(TypeError):
            self.store.mset(pairs, **options)

    @rule(k=keys, v=values)
    def setitem(self, k, v):
        self.store[k] = v
        self.model[k] = (v, self.deadline_for(LEFT_OUT))

    @rule(ks=st.lists(keys, max_size=6))
    def mdelete(self, ks):
        self.store.mdelete(ks)
        for k in ks:
            self.model.pop(k, None)

    @rule(k=keys)
    def delitem(self, k):
        if k in self.live():
            del self.store[k]
            del self.model[k]
        else:
            with pytest.raises(KeyError):
                del self.store[k]

    @rule(prefix=keys)
    def delete_prefix(self, prefix):
        dead = [k for k in self.live() if k.startswith(prefix)]
        assert self.store.delete_prefix(prefix) == len(dead)
        self.model = {k: vd for k, vd in self.model.items() if not k.startswith(prefix)}

    @rule()
    def clear(self):
        self.store.clear()
        self.model.clear()

    # --------------------------------------------------------- lifetimes

    @rule(k=keys, ttl=ttls)
    def expire(self, k, ttl):
        live = self.live()
        assert self.store.expire(k, ttl) == (k in live)
        if k in live:
            self.model[k] = (live[k], self.clock.now + ttl)

    @rule(k=keys)
    def persist(self, k):
        live = self.live()
        had = k in live and self.model[k][1] is not None
        assert self.store.persist(k) == had
        if k in live:
            self.model[k] = (live[k], None)

    @rule(k=keys)
    def ttl(self, k):
        if k not in self.live():
            with pytest.raises(KeyError):
                self.store.ttl(k)
            return
        deadline = self.model[k][1]
        got = self.store.ttl(k)
        if deadline is None:
            assert got is None
        else:
            assert got == pytest.approx(deadline - self.clock.now)

    # ------------------------------------------------------------- reads

    @rule(ks=st.lists(keys, max_size=6))
    def mget(self, ks):
        live = self.live()
        assert self.store.mget(ks) == [live.get(k) for k in ks]

    @rule(k=keys)
    def get_and_contains(self, k):
        live = self.live()
        assert self.store.get(k) == live.get(k)
        assert (k in self.store) == (k in live)
        if k in live:
            assert self.store[k] == live[k]
        else:
            with pytest.raises(KeyError):
                self.store[k]

    @rule(
        prefix=opt_keys,
        start_after=opt_keys,
        limit=limits,
        reverse=st.booleans(),
        method=st.sampled_from(["keys", "values", "items"]),
    )
    def listing(self, prefix, start_after, limit, reverse, method):
        live = self.live()
        expected = sorted(k for k in live if k.startswith(prefix or ""))
        if reverse:
            expected.reverse()
        if start_after is not None:
            expected = [
                k for k in expected if (k < start_after if reverse else k > start_after)
            ]
        if limit is not None:
            expected = expected[:limit]
        kw = {
            "prefix": prefix,
            "start_after": start_after,
            "limit": limit,
            "reverse": reverse,
        }
        if method == "keys":
            assert list(self.store.keys(**kw)) == expected
        elif method == "values":
            assert list(self.store.values(**kw)) == [live[k] for k in expected]
        else:
            assert list(self.store.items(**kw)) == [(k, live[k]) for k in expected]

    @rule(prefix=keys)
    def count(self, prefix):
        assert self.store.count(prefix) == sum(
            1 for k in self.live() if k.startswith(prefix)
        )

    @rule(k=keys)
    def longest_prefix(self, k):
        live = self.live()
        cands = [m for m in live if k.startswith(m)]
        if cands:
            best = max(cands, key=len)
            assert self.store.longest_prefix(k) == (best, live[best])
        else:
            assert self.store.longest_prefix(k) is None

    @rule(swap=st.booleans())
    def copy(self, swap):
        c = self.store.copy()
        assert c == self.live()
        assert c.default_ttl == self.store.default_ttl
        if swap:  # the copy carries on with the same clock and deadlines
            old, self.store = self.store, c
            self.iters = []
            old.clear()

    @rule()
    def pickle_roundtrip(self):
        p = pickle.loads(pickle.dumps(self.store))
        # the unpickled store reads its own copy of the clock, stopped now
        assert list(p.items()) == list(self.store.items())
        assert {k: p.ttl(k) for k in p} == {k: self.store.ttl(k) for k in self.store}

    # ---------------------------------------- iterators open across steps

    @precondition(lambda self: self.store is not None and len(self.iters) < 4)
    @rule(prefix=keys, reverse=st.booleans())
    def open_iterator(self, prefix, reverse):
        it = self.store.yield_keys(prefix=prefix, reverse=reverse)
        entry = [it, prefix, reverse, None]
        self.iters.append(entry)
        self._advance(entry)

    @precondition(lambda self: self.iters)
    @rule(data=st.data())
    def advance_iterator(self, data):
        i = data.draw(st.integers(0, len(self.iters) - 1))
        self._advance(self.iters[i])

    def _advance(self, entry):
        it, prefix, reverse, last = entry
        cands = [k for k in self.live() if k.startswith(prefix)]
        if last is not None:
            cands = [k for k in cands if (k < last if reverse else k > last)]
        exp = (max(cands) if reverse else min(cands)) if cands else None
        got = next(it, END)
        if exp is None:
            assert got is END
            self.iters.remove(entry)
        else:
            assert got == exp
            entry[3] = got

    # -------------------------------------------------------- invariants

    @invariant()
    def same_contents(self):
        if self.store is None:
            return
        live = self.live()
        assert len(self.store) == len(live)
        assert list(self.store.items()) == sorted(live.items())
        assert self.store == live

    def teardown(self):
        if self.store is None:
            return
        self.store.clear()
        assert len(self.store) == 0


TestExpiryMachine = ExpiryMachine.TestCase
