"""Iterating while writing: an open iterator never crashes, never raises,
never yields a key twice, carries on after the last key it returned and sees
the store as it is at each step (README, Semantics)."""

import gc
import random

import pytest

from memstore import TrieStore

NOVALUE = object()
END = object()

# Each opener returns (iterator, extract) where extract(item) -> (key, value or NOVALUE).
# Values are stored as tuples whose first element is the key, so `values`
# can be checked too.


def open_yield_keys(s, **kw):
    return s.yield_keys(**kw), lambda k: (k, NOVALUE)


def open_iter(s, **kw):
    assert not kw
    return iter(s), lambda k: (k, NOVALUE)


def open_keys(s, **kw):
    return s.keys(**kw), lambda k: (k, NOVALUE)


def open_items(s, **kw):
    return s.items(**kw), lambda kv: kv


def open_values(s, **kw):
    return s.values(**kw), lambda v: (v[0], v)


OPENERS = {
    "yield_keys": open_yield_keys,
    "iter": open_iter,
    "keys": open_keys,
    "items": open_items,
    "values": open_values,
}
WITH_OPTIONS = ["yield_keys", "keys", "items", "values"]


def val(k, gen=0):
    return (k, gen)


def store_of(keys):
    s = TrieStore()
    s.mset([(k, val(k)) for k in keys])
    return s


def drain(it, extract):
    return [extract(x) for x in it]


# ------------------------------------------------------- scripted scenarios


@pytest.mark.parametrize("method", list(OPENERS))
def test_scripted_forward(method):
    keys = [f"k{i:02d}" for i in range(0, 20, 2)]  # k00 k02 ... k18
    s = store_of(keys)
    it, extract = OPENERS[method](s)
    out = []

    def step():
        k, v = extract(next(it))
        if v is not NOVALUE:
            assert v == s[k]
        out.append(k)
        return k

    assert step() == "k00"
    s["k05"] = val("k05")  # ahead: appears
    s["a"] = val("a")  # behind: does not appear
    s["k00x"] = val("k00x")  # right after the cursor: appears
    assert step() == "k00x"
    assert step() == "k02"
    del s["k02"]  # the current key
    s.mdelete(["k08"])  # ahead: does not appear
    s["k06"] = val("k06", 1)  # overwritten ahead: new value seen
    assert step() == "k04"
    assert step() == "k05"
    assert step() == "k06"
    assert step() == "k10"
    s.clear()  # clear and refill while open
    s.mset([(k, val(k)) for k in ["a", "k09", "k10", "k11", "k13", "k20"]])
    assert step() == "k11"
    s.delete_prefix("k1")  # removes k13 ahead (and k10, k11 behind)
    assert step() == "k20"
    assert next(it, END) is END
    assert out == ["k00", "k00x", "k02", "k04", "k05", "k06", "k10", "k11", "k20"]
    assert len(out) == len(set(out))


@pytest.mark.parametrize("method", WITH_OPTIONS)
def test_scripted_reverse(method):
    keys = [f"k{i:02d}" for i in range(0, 20, 2)]
    s = store_of(keys)
    it, extract = OPENERS[method](s, reverse=True)
    out = []

    def step():
        k, v = extract(next(it))
        if v is not NOVALUE:
            assert v == s[k]
        out.append(k)
        return k

    assert step() == "k18"
    s["k15"] = val("k15")  # ahead (smaller): appears
    s["z"] = val("z")  # behind: does not appear
    s["k18x"] = val("k18x")  # behind (greater than k18): does not appear
    assert step() == "k16"
    del s["k16"]
    s.mdelete(["k10"])
    s["k12"] = val("k12", 1)
    assert step() == "k15"
    assert step() == "k14"
    assert step() == "k12"
    assert step() == "k08"
    s.clear()
    s.mset([(k, val(k)) for k in ["z", "k08", "k07", "k05", "", "k"]])
    assert step() == "k07"
    s.delete_prefix("k0")
    assert step() == "k"
    assert step() == ""
    assert next(it, END) is END
    assert out == ["k18", "k16", "k15", "k14", "k12", "k08", "k07", "k", ""]


@pytest.mark.parametrize("method", WITH_OPTIONS)
@pytest.mark.parametrize("reverse", [False, True])
def test_scripted_with_prefix(method, reverse):
    s = store_of(["a", "b1", "b2", "b3", "b4", "c"])
    it, extract = OPENERS[method](s, prefix="b", reverse=reverse)
    first = extract(next(it))[0]
    assert first == ("b4" if reverse else "b1")
    s["b25"] = val("b25")
    s["a1"] = val("a1")  # outside prefix
    s["c1"] = val("c1")
    s["b"] = val("b")
    rest = [extract(x)[0] for x in it]
    if reverse:
        assert rest == ["b3", "b25", "b2", "b1", "b"]
    else:
        assert rest == ["b2", "b25", "b3", "b4"]


@pytest.mark.parametrize("method", list(OPENERS))
def test_delete_every_key_while_iterating(method):
    keys = [f"k{i:03d}" for i in range(300)]
    s = store_of(keys)
    it, extract = OPENERS[method](s)
    seen = []
    for item in it:
        k = extract(item)[0]
        seen.append(k)
        del s[k]
    assert seen == keys
    assert len(s) == 0


@pytest.mark.parametrize("method", list(OPENERS))
def test_insert_children_while_iterating(method):
    s = store_of(["a", "b"])
    it, extract = OPENERS[method](s)
    seen = []
    for item in it:
        k = extract(item)[0]
        seen.append(k)
        if len(k) < 4:
            s[k + "x"] = val(k + "x")
    assert seen == ["a", "ax", "axx", "axxx", "b", "bx", "bxx", "bxxx"]


@pytest.mark.parametrize("method", list(OPENERS))
def test_clear_before_resuming_ends_iteration(method):
    s = store_of(["a", "b", "c"])
    it, extract = OPENERS[method](s)
    assert extract(next(it))[0] == "a"
    s.clear()
    assert next(it, END) is END
    s["z"] = val("z")  # nothing resurrects past the end in this test: just no crash
    list(it)


@pytest.mark.parametrize("method", list(OPENERS))
def test_many_open_iterators(method):
    s = store_of([f"k{i}" for i in range(100)])
    its = [OPENERS[method](s) for _ in range(50)]
    firsts = [ex(next(it))[0] for it, ex in its]
    assert firsts == ["k0"] * 50
    s.delete_prefix("k1")
    for it, ex in its:
        rest = [ex(x)[0] for x in it]
        assert rest == sorted(
            f"k{i}" for i in range(100) if not str(i).startswith("1") and i != 0
        )


@pytest.mark.parametrize("method", list(OPENERS))
def test_iterator_outlives_store_reference(method):
    s = store_of(["a", "b", "c"])
    it, extract = OPENERS[method](s)
    assert extract(next(it))[0] == "a"
    del s
    gc.collect()
    assert [extract(x)[0] for x in it] == ["b", "c"]


@pytest.mark.parametrize("method", list(OPENERS))
def test_abandoned_iterators_are_harmless(method):
    s = store_of([f"k{i}" for i in range(1000)])
    for _ in range(200):
        it, _extract = OPENERS[method](s)
        next(it)
        del it
    s.clear()
    gc.collect()
    assert len(s) == 0


# ---------------------------------------------- randomized exact semantics


def expected_next(model, prefix, last, reverse):
    cands = [k for k in model if k.startswith(prefix or "")]
    if last is not None:
        cands = [k for k in cands if (k < last if reverse else k > last)]
    if not cands:
        return None
    return max(cands) if reverse else min(cands)


def random_run(method, seed, reverse=False, prefix=None, start_after=None, limit=None):
    rng = random.Random(seed)
    alphabet = "ab\x00é"

    def rkey():
        return "".join(rng.choice(alphabet) for _ in range(rng.randrange(5)))

    s = TrieStore()
    model = {}
    gen = 0

    def put(k):
        nonlocal gen
        gen += 1
        s[k] = model[k] = val(k, gen)

    for _ in range(60):
        put(rkey())
    kw = {}
    if method != "iter":
        kw = {
            "reverse": reverse,
            "prefix": prefix,
            "start_after": start_after,
            "limit": limit,
        }
    it, extract = OPENERS[method](s, **kw)
    last = start_after
    out = []
    while True:
        exp = expected_next(model, prefix, last, reverse)
        if limit is not None and len(out) == limit:
            exp = None
        item = next(it, END)
        if exp is None:
            assert item is END, f"expected end after {out[-3:]!r}, got {item!r}"
            break
        assert item is not END, f"ended early after {out[-3:]!r}, expected {exp!r}"
        k, v = extract(item)
        assert k == exp, (out[-3:], k, exp)
        if v is not NOVALUE:
            assert v == model[k]
        out.append(k)
        last = k
        # mutate the store between steps
        for _ in range(rng.randrange(4)):
            r = rng.random()
            if r < 0.35:
                put(rkey())
            elif r < 0.55 and model:
                k2 = rng.choice(sorted(model))
                del s[k2]
                del model[k2]
            elif r < 0.65:
                if last in model:
                    del s[last]
                    del model[last]
            elif r < 0.72:
                p = rkey()[:2]
                n = s.delete_prefix(p)
                dead = [x for x in model if x.startswith(p)]
                assert n == len(dead)
                for x in dead:
                    del model[x]
            elif r < 0.75:
                s.clear()
                model.clear()
                for _ in range(rng.randrange(40)):
                    put(rkey())
            elif r < 0.9:
                batch = [rkey() for _ in range(rng.randrange(6))]
                pairs = []
                for b in batch:
                    gen += 1
                    pairs.append((b, val(b, gen)))
                s.mset(pairs)
                model.update(pairs)
            else:
                batch = [rkey() for _ in range(rng.randrange(6))]
                s.mdelete(batch)
                for b in batch:
                    model.pop(b, None)
        assert len(out) < 2000
    assert len(out) == len(set(out))
    assert len(s) == len(model)
    return out


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("method", list(OPENERS))
def test_random_mutation_forward(method, seed):
    random_run(method, seed)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("method", WITH_OPTIONS)
def test_random_mutation_reverse(method, seed):
    random_run(method, seed, reverse=True)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("method", WITH_OPTIONS)
def test_random_mutation_with_options(method, reverse, seed):
    random_run(method, seed, reverse=reverse, prefix="a", start_after="a\x00")
    random_run(method, seed + 100, reverse=reverse, prefix="", start_after="é", limit=7)
    random_run(method, seed + 200, reverse=reverse, prefix="b", limit=0)


@pytest.mark.parametrize("method", list(OPENERS))
def test_changes_between_open_and_first_step_are_seen(method):
    s = store_of(["k1", "k2", "k3"])
    it, extract = OPENERS[method](s)
    s["k0"] = val("k0")  # before the first key
    del s["k1"]
    s["k2"] = val("k2", 7)
    out = [extract(x) for x in it]
    assert [k for k, _ in out] == ["k0", "k2", "k3"]
    if out[1][1] is not NOVALUE:
        assert out[1][1] == val("k2", 7)


@pytest.mark.parametrize("method", WITH_OPTIONS)
@pytest.mark.parametrize("reverse", [False, True])
def test_changes_between_open_and_first_step_with_start_after(method, reverse):
    s = store_of(["a", "k1", "k3", "k5", "z"])
    it, extract = OPENERS[method](s, prefix="k", start_after="k3", reverse=reverse)
    s.mset([(k, val(k)) for k in ["k4", "k2", "k30", "k", "k3"]])
    s.mdelete(["k5", "k1"])
    got = [extract(x)[0] for x in it]
    if reverse:
        assert got == ["k2", "k"]
    else:
        assert got == ["k30", "k4"]
