"""pytest-benchmark suite: every system, every operation, one dataset.

    pytest benchmarks/                                  # chat keys, 100,000
    MEMSTORE_BENCH_WORKLOAD=hex MEMSTORE_BENCH_N=10000 pytest benchmarks/
    pytest benchmarks/ -k memstore --benchmark-group-by=group

It only measures: no assertion here is about time (the machine may be shared
and noisy).  Each benchmark does check that the system's answer equals the
plain dict's.  Results are grouped by operation, so pytest-benchmark's table
compares the systems side by side.  For the interleaved, side-by-side
comparison with ratios and targets use ``python benchmarks/compare.py``.
"""

from __future__ import annotations

import asyncio
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import systems as S  # noqa: E402
import workloads as W  # noqa: E402

WORKLOAD = os.environ.get("MEMSTORE_BENCH_WORKLOAD", "chat")
N = int(os.environ.get("MEMSTORE_BENCH_N", "100000"))
PREFIX_LABELS = ("~1", "~10", "~100", "~10,000", "none")

pytest.importorskip("pytest_benchmark")


@pytest.fixture(scope="session")
def ds():
    return W.make_dataset(WORKLOAD, N)


_STORES: dict = {}


@pytest.fixture(scope="session")
def loop():
    lp = asyncio.new_event_loop()
    yield lp
    lp.close()


def _system(name, ds):
    sys_ = S.make([name])[0]
    if sys_.error:
        pytest.skip(sys_.error)
    why = sys_.unsupported(ds)
    if why:
        pytest.skip(f"{name}: {why}")
    sys_.prepare(ds)
    return sys_


@pytest.fixture(params=S.NAMES)
def system(request, ds):
    """(adapter, store) with the dataset loaded; built once per session."""
    name = request.param
    sys_ = _system(name, ds)
    if name not in _STORES:
        _STORES[name] = sys_.build(ds.pairs)
    return sys_, _STORES[name]


@pytest.fixture(scope="session")
def ref(ds):
    d = S.DictScan()
    return d, d.build(ds.pairs)


def _fn(sys_, h, expr, **names):
    ns = sys_.namespace()
    ns.update(h=h, **names)
    return eval(f"lambda: {expr}", ns)


def _stmt(sys_, h, stmt, **names):
    ns = sys_.namespace()
    ns.update(h=h, **names)
    exec(f"def _f():\n    {stmt}\n", ns)
    return ns["_f"]


def _async_fn(sys_, h, expr, loop, **names):
    ns = sys_.namespace()
    ns.update(h=h, **names)
    exec(f"async def _f():\n    return {expr}\n", ns)
    f = ns["_f"]
    return lambda: loop.run_until_complete(f())


def _same_keys(sys_, got, want_sorted):
    got = list(got)
    return got == want_sorted if sys_.ordered else sorted(got) == want_sorted


def _prefix(ds, label):
    if label not in ds.prefixes:
        pytest.skip(f"no {label} prefix at N={ds.n}")
    p, c = ds.prefixes[label]
    return p, W.prefix_upper(p), c


# ------------------------------------------------------------------ builds


@pytest.mark.parametrize("name", S.NAMES)
def test_mset_bulk(benchmark, ds, name):
    """mset of all N pairs into an empty store (marisa: one static build)."""
    benchmark.group = f"mset bulk {N:,}"
    sys_ = _system(name, ds)
    h = benchmark.pedantic(sys_.build, args=(ds.pairs,), rounds=3, warmup_rounds=0)
    assert len(ds.pairs) == N and h is not None


# ------------------------------------------------------------------ reads


@pytest.mark.parametrize("which", ["present", "absent"])
def test_mget(benchmark, system, ref, ds, which):
    sys_, h = system
    q = ds.present_q if which == "present" else ds.absent_q
    benchmark.group = f"mget 1,000 {which}"
    got = benchmark(_fn(sys_, h, sys_.exprs["mget"], q=q))
    assert got == _fn(ref[0], ref[1], ref[0].exprs["mget"], q=q)()


@pytest.mark.parametrize("label", PREFIX_LABELS)
def test_yield_keys(benchmark, system, ds, label):
    sys_, h = system
    p, hi, c = _prefix(ds, label)
    benchmark.group = f"yield_keys {label} ({c:,} matches)"
    got = benchmark(_fn(sys_, h, sys_.exprs["yield"], p=p, lo=p, hi=hi))
    assert _same_keys(sys_, got, [k for k in ds.sorted_keys if k.startswith(p)])


@pytest.mark.parametrize("label", PREFIX_LABELS)
def test_count(benchmark, system, ds, label):
    sys_, h = system
    p, hi, c = _prefix(ds, label)
    benchmark.group = f"count {label} ({c:,} matches)"
    assert benchmark(_fn(sys_, h, sys_.exprs["count"], p=p, lo=p, hi=hi)) == c


def test_list_all(benchmark, system, ds):
    sys_, h = system
    benchmark.group = f"list all {N:,} keys in order"
    assert benchmark(_fn(sys_, h, sys_.exprs["list"])) == ds.sorted_keys


# ------------------------------------------------------------------ writes


def test_mset_new(benchmark, system, ds):
    """mset of 1,000 new keys into the loaded store (removed untimed after)."""
    sys_, h = system
    benchmark.group = "mset 1,000 new keys"
    aq = [k for k, _ in ds.absent_pairs]
    undo = _stmt(sys_, h, sys_.exprs["mdelete"], q=aq)
    benchmark.pedantic(
        _stmt(sys_, h, sys_.exprs["mset"], pairs=ds.absent_pairs),
        teardown=undo,
        rounds=5 if sys_.static else 50,
    )
    undo()  # --benchmark-disable runs the call once without its teardown
    assert _fn(sys_, h, sys_.exprs["mget"], q=aq)() == [None] * len(aq)


def test_mdelete(benchmark, system, ds):
    """mdelete of 1,000 stored keys (re-inserted untimed after)."""
    sys_, h = system
    benchmark.group = "mdelete 1,000"
    dq = ds.delete_q
    undo = _stmt(sys_, h, sys_.exprs["mset"], pairs=ds.delete_pairs)
    benchmark.pedantic(
        _stmt(sys_, h, sys_.exprs["mdelete"], q=dq),
        teardown=undo,
        rounds=5 if sys_.static else 50,
    )
    undo()  # --benchmark-disable runs the call once without its teardown
    assert _fn(sys_, h, sys_.exprs["mget"], q=dq)() == [v for _, v in ds.delete_pairs]


# ------------------------------------------------------------------ async


def _async_system(system):
    sys_, h = system
    if not sys_.has_async:
        pytest.skip(f"{sys_.name} has no async API")
    return sys_, h


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_async_mget(benchmark, system, ref, ds, loop, mode):
    sys_, h = _async_system(system)
    benchmark.group = "amget vs mget 1,000 present"
    if mode == "sync":
        f = _fn(sys_, h, sys_.exprs["mget"], q=ds.present_q)
    else:
        f = _async_fn(sys_, h, sys_.exprs["amget"], loop, q=ds.present_q)
    assert benchmark(f) == [ref[1].get(k) for k in ds.present_q]


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_async_mset(benchmark, system, ds, loop, mode):
    sys_, h = _async_system(system)
    benchmark.group = "amset vs mset 1,000 new keys"
    aq = [k for k, _ in ds.absent_pairs]
    if mode == "sync":
        f = _stmt(sys_, h, sys_.exprs["mset"], pairs=ds.absent_pairs)
    else:
        ns = {"h": h, "pairs": ds.absent_pairs}
        exec("async def _f():\n    await h.amset(pairs)\n", ns)
        f = lambda: loop.run_until_complete(ns["_f"]())  # noqa: E731
    undo = _stmt(sys_, h, sys_.exprs["mdelete"], q=aq)
    benchmark.pedantic(f, teardown=undo, rounds=50)
    undo()  # --benchmark-disable runs the call once without its teardown


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_async_yield_keys(benchmark, system, ds, loop, mode):
    sys_, h = _async_system(system)
    p, hi, c = _prefix(ds, "~10,000")
    benchmark.group = f"ayield_keys vs yield_keys ({c:,} matches)"
    if mode == "sync":
        f = _fn(sys_, h, sys_.exprs["yield"], p=p, lo=p, hi=hi)
    else:
        f = _async_fn(sys_, h, sys_.exprs["ayield"], loop, p=p)
    assert _same_keys(
        sys_, benchmark(f), [k for k in ds.sorted_keys if k.startswith(p)]
    )
