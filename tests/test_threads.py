"""Threads: every method is atomic with respect to other threads."""

import random
import sys
import threading

import pytest

from memstore import TrieStore

THREADS = 4
OPS = 4000


@pytest.fixture
def fast_switching():
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        yield
    finally:
        sys.setswitchinterval(old)


def worker(s, tid, model, errors, barrier):
    rng = random.Random(1000 + tid)
    own = f"t{tid}:"

    def rkey():
        return own + "".join(rng.choice("abc") for _ in range(rng.randrange(1, 5)))

    try:
        barrier.wait()
        for op in range(OPS):
            r = rng.random()
            if r < 0.30:
                pairs = [(rkey(), (tid, op, j)) for j in range(rng.randrange(1, 8))]
                s.mset(pairs)
                model.update(pairs)
            elif r < 0.45:
                keys = [rkey() for _ in range(rng.randrange(1, 6))]
                s.mdelete(keys)
                for k in keys:
                    model.pop(k, None)
            elif r < 0.60:
                keys = [rkey() for _ in range(rng.randrange(1, 6))]
                assert s.mget(keys) == [model.get(k) for k in keys]
            elif r < 0.65:
                p = own + rng.choice("abc")
                n = s.delete_prefix(p)
                dead = [k for k in model if k.startswith(p)]
                assert n == len(dead)
                for k in dead:
                    del model[k]
            elif r < 0.72:
                k = rkey()
                s[k] = (tid, op)
                model[k] = (tid, op)
            elif r < 0.76:
                k = rkey()
                if k in model:
                    del s[k]
                    del model[k]
                else:
                    with pytest.raises(KeyError):
                        del s[k]
            elif r < 0.84:
                # listing over everything while the others write
                last = None
                rev = rng.random() < 0.5
                for k in s.yield_keys(reverse=rev, limit=rng.choice([None, 50])):
                    if last is not None:
                        assert (k < last) if rev else (k > last), (last, k)
                    last = k
                    if k.startswith(own):
                        assert k in model
                n = s.count("")
                assert n >= len(model)
            elif r < 0.92:
                # own range: only this thread writes it, so it is exact
                assert list(s.yield_keys(prefix=own)) == sorted(model)
                assert s.count(own) == len(model)
            elif r < 0.96:
                assert list(s.items(prefix=own, reverse=True)) == sorted(
                    model.items(), reverse=True
                )
            else:
                k = rkey()
                lp = s.longest_prefix(k)
                cands = [m for m in model if k.startswith(m)]
                if cands:
                    best = max(cands, key=len)
                    assert lp == (best, model[best])
                else:
                    assert lp is None
    except BaseException as e:  # noqa: BLE001 - report everything
        errors.append((tid, e))


def test_threads_disjoint_ranges_no_lost_update(fast_switching):
    s = TrieStore()
    s.mset([(f"shared:{i}", i) for i in range(200)])
    models = [{} for _ in range(THREADS)]
    errors = []
    barrier = threading.Barrier(THREADS)
    threads = [
        threading.Thread(target=worker, args=(s, tid, models[tid], errors, barrier))
        for tid in range(THREADS)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    assert not errors, errors
    for tid in range(THREADS):
        own = f"t{tid}:"
        assert dict(s.items(prefix=own)) == models[tid]
        assert s.count(own) == len(models[tid])
    assert s.count("shared:") == 200
    assert len(s) == 200 + sum(len(m) for m in models)
    keys = list(s)
    assert keys == sorted(keys) and len(keys) == len(s)


def test_threads_iterators_survive_concurrent_clear(fast_switching):
    s = TrieStore()
    stop = threading.Event()
    errors = []

    def writer():
        rng = random.Random(5)
        try:
            i = 0
            while not stop.is_set():
                i += 1
                s.mset([(f"k{rng.randrange(2000)}", i) for _ in range(20)])
                if i % 50 == 0:
                    s.clear()
                elif i % 7 == 0:
                    s.delete_prefix(f"k{rng.randrange(10)}")
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    def reader():
        try:
            for _ in range(300):
                last = None
                for k in s.keys(reverse=False):
                    assert last is None or k > last
                    last = k
                for k, _v in s.items(prefix="k1", limit=100):
                    assert k.startswith("k1")
                s.count("k")
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    w = threading.Thread(target=writer)
    readers = [threading.Thread(target=reader) for _ in range(2)]
    w.start()
    for t in readers:
        t.start()
    for t in readers:
        t.join(timeout=300)
    stop.set()
    w.join(timeout=60)
    assert not errors, errors
    assert len(list(s)) == len(s)
