"""Model-based test: TrieStore against a dict over random operation sequences.

Keys come from a tiny alphabet (ASCII, NUL, a 2-byte, a 4-byte character and
a lone surrogate) so prefixes collide a lot.  Range (start/stop) and
delimiter listings are checked against the same model, once and across
steps with writes in between.  Profiles live in conftest.py
(HYPOTHESIS_PROFILE=long for a soak run).
"""

import asyncio
import pickle

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from memstore import TrieStore

ALPHABET = ["a", "b", "\x00", "é", "\U0001f600", "\ud800"]
keys = st.lists(st.sampled_from(ALPHABET), max_size=5).map("".join)
opt_keys = st.none() | keys
values = st.integers(0, 50)
limits = st.none() | st.integers(0, 6)
# Delimiters drawn from the keys' own alphabet, one or two characters long.
delimiters = st.none() | st.lists(
    st.sampled_from(ALPHABET), min_size=1, max_size=2
).map("".join)
END = object()


def model_entries(model, prefix, start, stop, delimiter):
    """Entries of a range/delimiter listing, ascending (S3 semantics)."""
    prefix = prefix or ""
    entries = set()
    for k in model:
        if not k.startswith(prefix) or (start is not None and k < start):
            continue
        if stop is not None and k >= stop:
            continue
        rest = k[len(prefix) :]
        if delimiter is not None and delimiter in rest:
            k = prefix + rest[: rest.index(delimiter) + len(delimiter)]
        entries.add(k)
    return sorted(entries)


def next_entry(model, opts, last):
    """The entry a listing open across writes returns next: the first one
    beyond both the last entry returned and start_after."""
    reverse = opts["reverse"]
    beyond = [x for x in (last, opts["start_after"]) if x is not None]
    cands = [
        e
        for e in model_entries(
            model, opts["prefix"], opts["start"], opts["stop"], opts["delimiter"]
        )
        if all((e < b) if reverse else (e > b) for b in beyond)
    ]
    if not cands:
        return None
    return cands[-1] if reverse else cands[0]


def model_listing(model, prefix, start_after, limit, reverse):
    out = sorted(k for k in model if k.startswith(prefix or ""))
    if reverse:
        out.reverse()
    if start_after is not None:
        out = [k for k in out if (k < start_after if reverse else k > start_after)]
    if limit is not None:
        out = out[:limit]
    return out


def next_expected(model, prefix, last, reverse):
    cands = [k for k in model if k.startswith(prefix)]
    if last is not None:
        cands = [k for k in cands if (k < last if reverse else k > last)]
    if not cands:
        return None
    return max(cands) if reverse else min(cands)


class StoreMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.store = TrieStore()
        self.model = {}
        self.iters = []  # [iterator, prefix, reverse, last]
        self.range_iters = []  # [iterator, options, last]

    # ------------------------------------------------------------ writes

    @rule(pairs=st.lists(st.tuples(keys, values), max_size=6))
    def mset(self, pairs):
        assert self.store.mset(pairs) is None
        self.model.update(pairs)

    @rule(pairs=st.lists(st.tuples(keys, values), max_size=6))
    def mset_generator(self, pairs):
        self.store.mset(p for p in pairs)
        self.model.update(pairs)

    @rule(pairs=st.lists(st.tuples(keys, values), max_size=6), bad_at=st.integers(0, 6))
    def mset_invalid(self, pairs, bad_at):
        pairs = list(pairs)
        pairs.insert(min(bad_at, len(pairs)), (1, 1))
        with pytest.raises(TypeError):
            self.store.mset(pairs)

    @rule(ks=st.lists(keys, max_size=6))
    def mdelete(self, ks):
        assert self.store.mdelete(ks) is None
        for k in ks:
            self.model.pop(k, None)

    @rule(ks=st.lists(keys, max_size=6))
    def mdelete_invalid(self, ks):
        with pytest.raises(TypeError):
            self.store.mdelete(ks + [None])

    @rule(k=keys, v=values)
    def setitem(self, k, v):
        self.store[k] = v
        self.model[k] = v

    @rule(k=keys)
    def delitem(self, k):
        if k in self.model:
            del self.store[k]
            del self.model[k]
        else:
            with pytest.raises(KeyError):
                del self.store[k]

    @rule(prefix=keys)
    def delete_prefix(self, prefix):
        dead = [k for k in self.model if k.startswith(prefix)]
        assert self.store.delete_prefix(prefix) == len(dead)
        for k in dead:
            del self.model[k]

    @rule()
    def clear(self):
        assert self.store.clear() is None
        self.model.clear()

    @rule(swap=st.booleans())
    def copy(self, swap):
        c = self.store.copy()
        assert c == self.model
        assert list(c.items()) == sorted(self.model.items())
        if swap:
            old, self.store = self.store, c
            self.iters = []
            self.range_iters = []
            old.clear()
            old["only-in-old"] = 0
        else:
            c.clear()
            c["only-in-copy"] = 0
        assert self.store == self.model

    @rule()
    def pickle_roundtrip(self):
        p = pickle.loads(pickle.dumps(self.store))
        assert p == self.store
        assert list(p.items()) == list(self.store.items())

    @rule(
        pairs=st.lists(st.tuples(keys, values), max_size=6),
        ks=st.lists(keys, max_size=4),
    )
    def async_ops(self, pairs, ks):
        async def go():
            await self.store.amset(pairs)
            got = await self.store.amget(ks + [p[0] for p in pairs])
            await self.store.amdelete(ks)
            listed = [k async for k in self.store.ayield_keys()]
            return got, listed

        got, listed = asyncio.run(go())
        self.model.update(pairs)
        expected_got = [self.model.get(k) for k in ks + [p[0] for p in pairs]]
        for k in ks:
            self.model.pop(k, None)
        assert got == expected_got
        assert listed == sorted(self.model)

    # ------------------------------------------------------------- reads

    @rule(ks=st.lists(keys, max_size=6))
    def mget(self, ks):
        assert self.store.mget(ks) == [self.model.get(k) for k in ks]

    @rule(k=keys)
    def get_and_contains(self, k):
        sentinel = object()
        assert self.store.get(k) == self.model.get(k)
        got = self.store.get(k, sentinel)
        if k in self.model:
            assert got == self.model[k]
        else:
            assert got is sentinel
        assert (k in self.store) == (k in self.model)
        if k in self.model:
            assert self.store[k] == self.model[k]
        else:
            with pytest.raises(KeyError):
                self.store[k]

    @rule(
        prefix=opt_keys,
        start_after=opt_keys,
        limit=limits,
        reverse=st.booleans(),
        method=st.sampled_from(
            ["yield_keys", "keys", "values", "items", "ayield_keys"]
        ),
    )
    def listing(self, prefix, start_after, limit, reverse, method):
        expected = model_listing(self.model, prefix, start_after, limit, reverse)
        kw = {
            "prefix": prefix,
            "start_after": start_after,
            "limit": limit,
            "reverse": reverse,
        }
        if method == "yield_keys":
            assert list(self.store.yield_keys(**kw)) == expected
        elif method == "keys":
            assert list(self.store.keys(**kw)) == expected
        elif method == "values":
            assert list(self.store.values(**kw)) == [self.model[k] for k in expected]
        elif method == "items":
            assert list(self.store.items(**kw)) == [
                (k, self.model[k]) for k in expected
            ]
        else:

            async def go():
                return [k async for k in self.store.ayield_keys(**kw)]

            assert asyncio.run(go()) == expected

    @rule(
        prefix=opt_keys,
        start=opt_keys,
        stop=opt_keys,
        start_after=opt_keys,
        limit=limits,
        reverse=st.booleans(),
        delimiter=delimiters,
        method=st.sampled_from(
            ["yield_keys", "keys", "values", "items", "ayield_keys"]
        ),
    )
    def range_listing(
        self, prefix, start, stop, start_after, limit, reverse, delimiter, method
    ):
        if method in ("values", "items"):
            delimiter = None  # only key listings roll keys up into groups
        expected = model_entries(self.model, prefix, start, stop, delimiter)
        if reverse:
            expected.reverse()
        if start_after is not None:
            expected = [
                e for e in expected if (e < start_after if reverse else e > start_after)
            ]
        if limit is not None:
            expected = expected[:limit]
        kw = {
            "start_after": start_after,
            "limit": limit,
            "reverse": reverse,
            "start": start,
            "stop": stop,
        }
        if delimiter is not None:
            kw["delimiter"] = delimiter
        if method == "yield_keys":
            assert list(self.store.yield_keys(prefix=prefix, **kw)) == expected
        elif method == "keys":
            assert list(self.store.keys(prefix, **kw)) == expected
        elif method == "values":
            assert list(self.store.values(prefix, **kw)) == [
                self.model[k] for k in expected
            ]
        elif method == "items":
            assert list(self.store.items(prefix, **kw)) == [
                (k, self.model[k]) for k in expected
            ]
        else:

            async def go():
                return [k async for k in self.store.ayield_keys(prefix=prefix, **kw)]

            assert asyncio.run(go()) == expected

    @rule(prefix=keys)
    def count(self, prefix):
        assert self.store.count(prefix) == sum(
            1 for k in self.model if k.startswith(prefix)
        )

    @rule(k=keys)
    def longest_prefix(self, k):
        cands = [m for m in self.model if k.startswith(m)]
        if cands:
            best = max(cands, key=len)
            assert self.store.longest_prefix(k) == (best, self.model[best])
        else:
            assert self.store.longest_prefix(k) is None

    @rule()
    def iterate(self):
        assert list(self.store) == sorted(self.model)
        assert len(self.store) == len(self.model)

    # -------------------------------------------- iterators open across steps

    @precondition(lambda self: len(self.iters) < 4)
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
        exp = next_expected(self.model, prefix, last, reverse)
        got = next(it, END)
        if exp is None:
            assert got is END
            self.iters.remove(entry)
        else:
            assert got == exp
            entry[3] = got

    @precondition(lambda self: len(self.range_iters) < 3)
    @rule(
        prefix=opt_keys,
        start=opt_keys,
        stop=opt_keys,
        start_after=opt_keys,
        reverse=st.booleans(),
        delimiter=delimiters,
    )
    def open_range_iterator(self, prefix, start, stop, start_after, reverse, delimiter):
        opts = {
            "prefix": prefix,
            "start": start,
            "stop": stop,
            "start_after": start_after,
            "reverse": reverse,
            "delimiter": delimiter,
        }
        entry = [self.store.yield_keys(**opts), opts, None]
        self.range_iters.append(entry)
        self._advance_range(entry)

    @precondition(lambda self: self.range_iters)
    @rule(data=st.data())
    def advance_range_iterator(self, data):
        i = data.draw(st.integers(0, len(self.range_iters) - 1))
        self._advance_range(self.range_iters[i])

    def _advance_range(self, entry):
        it, opts, last = entry
        expected = next_entry(self.model, opts, last)
        got = next(it, END)
        if expected is None:
            assert got is END
            self.range_iters.remove(entry)
        else:
            assert got == expected, (opts, last)
            entry[2] = got

    # -------------------------------------------------------- invariants

    @invariant()
    def same_contents(self):
        assert len(self.store) == len(self.model)
        assert self.store.count("") == len(self.model)
        assert list(self.store.items()) == sorted(self.model.items())

    def teardown(self):
        assert self.store == self.model
        self.store.clear()
        assert self.store.memory_usage() == TrieStore().memory_usage()


TestStoreMachine = StoreMachine.TestCase
