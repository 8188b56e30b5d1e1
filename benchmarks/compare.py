"""memstore against a dict scan and its peers, side by side in one process.

    python benchmarks/compare.py [--quick] [--sizes 10000 100000 1000000]
        [--workloads chat hex ...] [--systems dict SortedDict memstore ...]
        [--plot benchmarks/results/prefix_query.png] [--md FILE] [--json FILE]
        [--ttl] [--ttl-purge 1000000]

Method
------
* Every system gets the same keys, values and query lists, generated from a
  fixed seed (benchmarks/workloads.py).  Before any time is reported, every
  system's answers to every query (and its state after each write) are
  checked against the plain dict's; a system that disagrees is dropped from
  that dataset with the difference printed.
* Each operation is timed for all systems in turn, repetition after
  repetition, starting each repetition with the next system (interleaved:
  a slow spell of a shared machine hits every system alike).  A sample is a
  loop of K calls (K chosen so a sample takes a few ms) timed with
  time.perf_counter_ns; the reported figure is the median over repetitions
  of time per call.  The cyclic garbage collector is off while timing.
* Writes are timed one batch per sample, with the store restored untimed
  after it (mdelete re-inserts the keys, mset of new keys deletes them).
* mget queries are fresh str copies of stored keys (equal, not identical, so
  the dict cannot take its pointer-identity shortcut).  The same list is
  passed to every system in every repetition, so after the warm-up call the
  strings carry a cached hash: the dict's best realistic case and the
  strictest one for memstore.  The "cold" row gives each sample brand-new
  copies (no cached hash: a key that just arrived in a request).
* The bulk build is timed from the second build on (key hashes cached, as
  above); the "first build" row is the one with cold hashes.
* Memory is measured afterwards, in a fresh process per system (see
  benchmarks/memprobe.py): values are one shared object, keys are streamed
  in, RSS delta and tracemalloc delta are both reported.
* Slow peers are not run at a size where their build is projected (from the
  previous size) to exceed --max-build seconds; the reason is printed.
* --ttl adds what expiry costs (issue 12), memstore only: mget, mset and
  yield_keys on a second store with the same keys where 10% carry a
  lifetime (long enough never to end during the run), timed interleaved
  with the same ops on the plain store; and purging --ttl-purge expired
  keys at once (one call, ns per key, median of 3 stores).  A store that
  never used a lifetime against the build of the commit before expiry
  needs two builds: benchmarks/ttl_overhead.py measures that.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import systems as S  # noqa: E402
import workloads as W  # noqa: E402

pc = time.perf_counter_ns


# ----------------------------------------------------------------- timers


def compile_timer(stmt, ns, *, is_async=False, setup=None, teardown=None):
    """A function f(K) -> ns spent in K executions of stmt (setup/teardown
    run around each execution, untimed).  Names in ns become locals."""
    names = [n for n in ns if n.isidentifier()]
    args = "".join(f", {n}={n}" for n in names)
    ind = "        "
    if setup is None and teardown is None:
        # one untimed warm-up call first (when the sample loops): every
        # sample then starts with the caches as this system left them, not
        # as the previous system did
        body = (
            f"    _r = range(_K)\n    if _K > 1:\n{ind}{stmt}\n    _t0 = _pc()\n"
            f"    for _ in _r:\n{ind}{stmt}\n    return _pc() - _t0\n"
        )
    else:
        body = (
            "    _tot = 0\n    for _ in range(_K):\n"
            + (f"{ind}{setup}\n" if setup else "")
            + f"{ind}_t0 = _pc()\n{ind}{stmt}\n{ind}_tot += _pc() - _t0\n"
            + (f"{ind}{teardown}\n" if teardown else "")
            + "    return _tot\n"
        )
    src = f"{'async ' if is_async else ''}def _run(_K{args}, _pc=_pc):\n{body}"
    g = dict(ns)
    g["_pc"] = pc
    exec(compile(src, "<timer>", "exec"), g)
    fn = g["_run"]
    if is_async:
        loop = _loop()
        return lambda K: loop.run_until_complete(fn(K))
    return fn


_LOOP = None


def _loop():
    global _LOOP
    if _LOOP is None:
        _LOOP = asyncio.new_event_loop()
    return _LOOP


def evaluate(expr, ns, is_async=False):
    if is_async:
        src = f"async def _f():\n    return {expr}\n"
        g = dict(ns)
        exec(src, g)
        return _loop().run_until_complete(g["_f"]())
    return eval(expr, dict(ns))


class Cfg:
    ttl = False  # --ttl: the expiry rows
    ttl_purge = 1_000_000  # keys purged at once in the purge row
    reps = 7
    sample_ns = 3_000_000  # aim: one sample ~3 ms
    budget_ns = 600_000_000  # per (op, system) for slow calls
    long_ns = 30_000_000  # a call this long needs no warm-up
    max_k = 100_000
    max_build_s = 30.0


def measure(cases, cfg):
    """cases: {system: timer(K)}; returns {system: (median ns per call, n)}.

    A calibration call first gives K (calls per sample, so a sample takes
    ~cfg.sample_ns) and warms up.  Then up to cfg.reps interleaved
    repetitions.  A call longer than cfg.long_ns keeps its calibration call
    as a sample and gets fewer repetitions (at least 3, or 1 when a single
    call is over half of cfg.budget_ns)."""
    plan = {}
    for name, timer in cases.items():
        t1 = max(timer(1), 1)
        if t1 < cfg.long_ns:  # the first call may be cold: size K on a second
            t1 = max(min(t1, timer(1)), 1)
        if t1 >= cfg.long_ns:
            reps = (
                1
                if t1 * 2 >= cfg.budget_ns
                else min(cfg.reps, max(3, cfg.budget_ns // t1))
            )
            plan[name] = [timer, 1, reps, [t1]]
        else:
            k = max(1, min(cfg.max_k, cfg.sample_ns // t1))
            plan[name] = [timer, k, cfg.reps, []]
    names = list(plan)
    rounds = max((p[2] for p in plan.values()), default=0)
    for r in range(rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            timer, k, reps, samples = plan[name]
            if len(samples) < reps:
                samples.append(timer(k) / k)
    return {n: (statistics.median(p[3]), len(p[3])) for n, p in plan.items()}


def project_build(hist, n):
    """Projected build seconds at n from earlier builds [(n, s), ...]:
    power law through the last two points (exponent at least 1), x1.2."""
    (n1, t1) = hist[-1]
    e = 1.0
    if len(hist) >= 2:
        n0, t0 = hist[-2]
        if t0 > 0 and t1 > 0 and n1 > n0:
            e = max(1.0, math.log(t1 / t0) / math.log(n1 / n0))
    return t1 * (n / n1) ** e * 1.2, e


# ---------------------------------------------------------------- dataset run


class Skip(Exception):
    pass


def _norm_keys(system, result, ref_sorted):
    res = list(result)
    if system.ordered:
        return res == ref_sorted
    return sorted(res) == ref_sorted


def run_dataset(ds, syss, cfg, history, log):
    """Times every op for every system on ds.  Returns (results, notes).

    results: {op_label: {"per": items per call or None, "times": {sys: ns}}}
    """
    results: dict = {}
    notes: list[str] = []
    stores = {}

    def add(label, per, times, **extra):
        results.setdefault(label, {"per": per, "times": {}, **extra})["times"].update(
            {k: v[0] for k, v in times.items()}
        )

    # ---- which systems run here
    active = []
    for s in syss:
        if s.error:
            notes.append(f"{s.name}: skipped, {s.error}")
            continue
        why = s.unsupported(ds)
        if why:
            notes.append(f"{s.name}: skipped, {why}")
            continue
        prev = history.get((ds.workload, s.name))
        if prev:
            proj, e = project_build(prev, ds.n)
            if proj > cfg.max_build_s:
                pn, pt = prev[-1]
                notes.append(
                    f"{s.name}: skipped at {ds.n:,}: its build is projected "
                    f"to take ~{proj:.0f} s (n^{e:.2f} from {pt:.2f} s at {pn:,}; "
                    f"limit --max-build {cfg.max_build_s:.0f} s)"
                )
                continue
        s.prepare(ds)
        active.append(s)

    # ---- first build (kept as the store every query runs against)
    first = {}
    gc.collect()
    gc.disable()  # enabled again at the end: builds are timed too
    for s in active:
        t0 = pc()
        h = s.build(ds.pairs)
        first[s.name] = pc() - t0
        stores[s.name] = h
        history.setdefault((ds.workload, s.name), []).append(
            (ds.n, first[s.name] / 1e9)
        )
        log(f"    built {s.name:<14} {first[s.name] / 1e9:7.2f} s")

    # ---- check every answer against the dict's
    ref_sys = next(s for s in active if s.name == "dict")
    params = _params(ds)
    refs = _references(ref_sys, stores["dict"], ds, params)
    bad = {}
    for s in active:
        err = _verify(s, stores[s.name], refs, ds, params)
        if err:
            bad[s.name] = err
            notes.append(f"{s.name}: WRONG ANSWERS, dropped: {err}")
            log(f"    !! {s.name}: {err}")
    active = [s for s in active if s.name not in bad]
    for name in bad:
        del stores[name]

    # ---- bulk build: further builds, interleaved, result dropped untimed
    def build_timer(s):
        def t(K, s=s):
            tot = 0
            for _ in range(K):
                t0 = pc()
                h = s.build(ds.pairs)
                tot += pc() - t0
                del h
            return tot

        return t

    # (a build over 1 s is not repeated: its first build is its sample)
    again = {s.name: build_timer(s) for s in active if first[s.name] < 1e9}
    times = dict(measure(again, cfg).items()) if again else {}
    for s in active:
        if s.name not in times:
            times[s.name] = (first[s.name], 1)
    add(f"mset bulk ({ds.n:,} pairs)", ds.n, times, op="mset_bulk")
    add(
        "mset bulk, first build (cold hashes)",
        ds.n,
        {k: (v, 1) for k, v in first.items() if k in stores},
        op="mset_bulk_first",
    )

    try:
        wrong = _time_ops(ds, active, stores, params, cfg, add, log)
        for name, err in wrong.items():
            notes.append(f"{name}: WRONG ANSWERS, dropped: {err}")
            log(f"    !! {name}: {err}")
            for r in results.values():
                r["times"].pop(name, None)
    finally:
        stores.clear()
        gc.enable()
        gc.collect()
    return results, notes


def _params(ds):
    """label -> (prefix, lo, hi, matches)"""
    return {
        label: (prefix, W.prefix_upper(prefix), count)
        for label, (prefix, count) in ds.prefixes.items()
    }


def _ns(s, h, **kw):
    ns = s.namespace()
    ns["h"] = h
    ns.update(kw)
    return ns


def _references(ref_sys, d, ds, params):
    """The dict's answers, computed once per dataset."""

    def ref(op, **kw):
        return evaluate(ref_sys.exprs[op], _ns(ref_sys, d, **kw))

    out = {
        "present": ref("mget", q=ds.present_q),
        "absent": ref("mget", q=ds.absent_q),
        "batches": [ref("mget", q=b) for b in ds.batches],
    }
    for label, (p, _hi, c) in params.items():
        out[label] = sorted(ref("yield", p=p))
        assert len(out[label]) == c == ref("count", p=p), (label, p, c)
    return out


def _verify(s, h, refs, ds, params):
    """None when every read answers as the dict does, else a description.
    (Writes are checked as they are timed, see _time_ops.)"""

    def got(op, is_async=False, **kw):
        return evaluate(s.exprs[op], _ns(s, h, **kw), is_async)

    try:
        for qname, q in (("present", ds.present_q), ("absent", ds.absent_q)):
            if got("mget", q=q) != refs[qname]:
                return f"mget({qname}) differs"
            if s.has_async and got("amget", True, q=q) != refs[qname]:
                return f"amget({qname}) differs"
        if [got("mget", q=b) for b in ds.batches] != refs["batches"]:
            return "mget of the cache-cold batches differs"
        for label, (p, hi, c) in params.items():
            r = refs[label]
            if not _norm_keys(s, got("yield", p=p, lo=p, hi=hi), r):
                return f"yield_keys({p!r}) differs"
            n = got("count", p=p, lo=p, hi=hi)
            if n != c:
                return f"count({p!r}) = {n}, expected {c}"
            if s.has_async and not _norm_keys(s, got("ayield", True, p=p), r):
                return f"ayield_keys({p!r}) differs"
        if got("list") != ds.sorted_keys:
            return "listing all keys in order differs"
    except Exception as e:  # noqa: BLE001 -- any failure is a wrong answer
        return f"raised {e!r}"
    return None


class WriteCheck:
    """Run in the teardown of a timed write, between the write and its undo:
    the first time, checks that mget(q) now gives `after`.  `check_undone`
    (called once timing is over) checks that mget(q) gives `before`."""

    def __init__(self, s, h, what, q, after, before):
        self.s, self.h, self.what, self.q = s, h, what, q
        self.after, self.before = after, before
        self.done = False
        self.error = None

    def _mget(self):
        return evaluate(self.s.exprs["mget"], _ns(self.s, self.h, q=self.q))

    def __call__(self):
        if self.done:
            return
        self.done = True
        try:
            if self._mget() != self.after:
                self.error = f"{self.what}: mget afterwards differs from the dict's"
        except Exception as e:  # noqa: BLE001
            self.error = f"{self.what}: raised {e!r}"

    def check_undone(self):
        if self.error is None and not self.done:
            self.error = f"{self.what}: never checked"
        if self.error is None and self._mget() != self.before:
            self.error = f"{self.what}: undoing it left the store different"
        return self.error


class _cycler:
    """Each call returns the next batch, round and round (shared by the
    systems: every call, whoever makes it, gets a different batch)."""

    def __init__(self, batches):
        self.batches, self.i = batches, 0

    def __call__(self):
        self.i = (self.i + 1) % len(self.batches)
        return self.batches[self.i]


def _fresh_list(q):
    return [W.fresh(k) for k in q]


class Row:
    """One table row: an op timed on every system that has it.

    kw: names for the timed source; setup: untimed source run before each
    call; undo: op run untimed after each call (a write's inverse), with
    check = (what, q, after, before) verified around the first call;
    only: restrict to these systems; exprs: {system: timed source} for an
    op the adapters in systems.py do not have (only those systems run)."""

    def __init__(
        self,
        label,
        op,
        per,
        kw,
        setup=None,
        undo=None,
        check=None,
        only=None,
        exprs=None,
    ):
        self.label, self.op, self.per, self.kw = label, op, per, kw
        self.setup, self.undo, self.check, self.only = setup, undo, check, only
        self.exprs = exprs

    def source(self, s):
        """The timed source for system s, or None when s does not run."""
        if self.only and s.name not in self.only:
            return None
        if self.exprs is not None:
            return self.exprs.get(s.name)
        return s.exprs.get(self.op)


# Range listing: the ~100 keys from one stored key up to (not including)
# another, with no common prefix to lean on.  Only systems with an ordered
# range API, plus the dict's scan as the baseline.
RANGE_KEYS = 100
RANGE_EXPRS = {
    "dict": "sorted(k for k in h if lo <= k < hi)",
    "SortedDict": "list(h.irange(lo, hi, inclusive=(True, False)))",
    "memstore": "list(h.yield_keys(start=lo, stop=hi))",
}

# Delimiter listing (S3-style): a prefix holding 3 groups of 10^5 keys each
# against prefixes holding 3 groups of one key and 1 group of one key, in one
# store of their own.  Equal times say a group costs one seek whatever it
# holds.  memstore only: no peer lists by delimiter.
DELIM_GROUP_KEYS = 100_000
DELIM_ROWS = (  # (label, op, prefix, expected entries)
    (
        f"delimiter listing, 3 groups of {DELIM_GROUP_KEYS:,} keys",
        "delim_big",
        "big/",
        ["big/a/", "big/b/", "big/c/"],
    ),
    (
        "delimiter listing, 3 groups of 1 key",
        "delim_small",
        "small/",
        ["small/a/", "small/b/", "small/c/"],
    ),
    ("delimiter listing, 1 group of 1 key", "delim_one", "one/", ["one/a/"]),
)
_DELIM_STORE = None


def _delimiter_store():
    """The store of the delimiter rows, built once per run (3 x 10^5 keys)."""
    global _DELIM_STORE
    if _DELIM_STORE is None:
        from memstore import TrieStore

        d = TrieStore()
        for g in "abc":
            d.mset([(f"big/{g}/{i:06}", None) for i in range(DELIM_GROUP_KEYS)])
            d[f"small/{g}/0"] = None
        d["one/a/0"] = None
        _DELIM_STORE = d
    return _DELIM_STORE


def _time_ops(ds, active, stores, params, cfg, add, log):
    checks = []

    def run(*rows):
        """Times the rows' cases together, interleaved: sync/async twins and
        present/absent lookups meet the same machine conditions."""
        t0 = time.perf_counter()
        cases = {}
        for i, row in enumerate(rows):
            for s in active:
                src = row.source(s)
                if src is None:
                    continue
                ns = _ns(s, stores[s.name], **row.kw)
                extra = {}
                if row.setup:
                    extra["setup"] = row.setup
                if row.undo:
                    teardown = s.exprs[row.undo]
                    if row.check:
                        c = WriteCheck(s, stores[s.name], *row.check)
                        checks.append((s.name, c))
                        ns["_chk"] = c
                        teardown = "_chk(); " + teardown
                    extra["teardown"] = teardown
                cases[(i, s.name)] = compile_timer(
                    src, ns, is_async=row.op.startswith("a"), **extra
                )
        res = measure(cases, cfg)
        for i, row in enumerate(rows):
            add(
                row.label,
                row.per,
                {n: v for (j, n), v in res.items() if j == i},
                op=row.op,
            )
        log(f"    {rows[0].label:<40} {time.perf_counter() - t0:6.1f} s")

    n_q = len(ds.present_q)
    aq = [k for k, _ in ds.absent_pairs]
    dq = ds.delete_q
    none = [None] * n_q
    new_check = ("mset of new keys", aq, [v for _, v in ds.absent_pairs], none)
    del_check = ("mdelete", dq, none, [v for _, v in ds.delete_pairs])
    asyncs = {s.name for s in active if s.has_async}
    big = max(
        (lab for lab in params if lab.startswith("~")), key=lambda lab: params[lab][2]
    )
    bp, bhi, bc = params[big]

    run(
        Row(f"mget {n_q:,} present", "mget", n_q, {"q": ds.present_q}),
        Row(
            f"mget {n_q:,} present, cold (new str each call)",
            "mget",
            n_q,
            {"q0": ds.present_q, "_fresh_list": _fresh_list},
            setup="q = _fresh_list(q0)",
        ),
        Row(f"mget {n_q:,} absent", "mget", n_q, {"q": ds.absent_q}),
        Row(
            f"mget {n_q:,} present, {len(ds.batches)} batches in turn (cache-cold)",
            "mget",
            n_q,
            {"_next": _cycler(ds.batches)},
            setup="q = _next()",
        ),
    )
    for label, (p, hi, c) in params.items():
        run(
            Row(
                f"yield_keys {label} ({c:,})",
                "yield",
                c or None,
                {"p": p, "lo": p, "hi": hi},
            )
        )
    for label, (p, hi, c) in params.items():
        run(Row(f"count {label} ({c:,})", "count", None, {"p": p, "lo": p, "hi": hi}))
    run(
        Row(
            f"mset {n_q:,} new keys",
            "mset",
            n_q,
            {"pairs": ds.absent_pairs, "q": aq},
            undo="mdelete",
            check=new_check,
        )
    )
    run(
        Row(
            f"mdelete {n_q:,}",
            "mdelete",
            n_q,
            {"q": dq, "pairs": ds.delete_pairs},
            undo="mset",
            check=del_check,
        )
    )
    run(Row(f"list all {ds.n:,} keys in order", "list", ds.n, {}))
    # async twins, each timed together with its sync version (systems with
    # an async API only; the sync rows repeat an op above, in this pairing)
    run(
        Row(f"amget {n_q:,} present", "amget", n_q, {"q": ds.present_q}),
        Row(
            f"mget {n_q:,} present (sync twin of amget)",
            "mget",
            n_q,
            {"q": ds.present_q},
            only=asyncs,
        ),
    )
    run(
        Row(
            f"amset {n_q:,} new keys",
            "amset",
            n_q,
            {"pairs": ds.absent_pairs, "q": aq},
            undo="mdelete",
            check=("amset of new keys",) + new_check[1:],
        ),
        Row(
            f"mset {n_q:,} new keys (sync twin of amset)",
            "mset",
            n_q,
            {"pairs": ds.absent_pairs, "q": aq},
            undo="mdelete",
            check=new_check,
            only=asyncs,
        ),
    )
    run(
        Row(
            f"ayield_keys {big} ({bc:,})", "ayield", bc, {"p": bp, "lo": bp, "hi": bhi}
        ),
        Row(
            f"yield_keys {big} ({bc:,}) (sync twin of ayield_keys)",
            "yield",
            bc,
            {"p": bp, "lo": bp, "hi": bhi},
            only=asyncs,
        ),
    )
    wrong = {}
    _range_and_delimiter_rows(ds, active, stores, run, wrong)
    if cfg.ttl and "memstore" in stores:
        _ttl_rows(ds, stores["memstore"], run, add, cfg, log)
    for name, c in checks:
        err = c.check_undone()
        if err and name not in wrong:
            wrong[name] = err
    return wrong


def _range_and_delimiter_rows(ds, active, stores, run, wrong):
    """The range row on every system with a range API, then the delimiter
    rows on memstore; every answer is checked before anything is timed."""
    if ds.n > RANGE_KEYS:
        i = ds.n // 3  # a range from the middle of the key order
        lo, hi = ds.sorted_keys[i], ds.sorted_keys[i + RANGE_KEYS]
        expected = ds.sorted_keys[i : i + RANGE_KEYS]
        row = Row(
            f"range listing start/stop ({RANGE_KEYS} keys)",
            "range",
            RANGE_KEYS,
            {"lo": lo, "hi": hi},
            exprs=RANGE_EXPRS,
        )
        for s in active:
            src = row.source(s)
            if src is not None and s.name not in wrong:
                got = evaluate(src, _ns(s, stores[s.name], lo=lo, hi=hi))
                if got != expected:
                    wrong[s.name] = f"range listing [{lo!r}, {hi!r}) differs"
        run(row)
    if any(s.name == "memstore" for s in active) and "memstore" not in wrong:
        d = _delimiter_store()
        rows = []
        for label, op, prefix, entries in DELIM_ROWS:
            src = f"list(d.yield_keys(prefix={prefix!r}, delimiter='/'))"
            if evaluate(src, {"d": d}) != entries:
                wrong["memstore"] = f"delimiter listing of {prefix!r} differs"
                return
            rows.append(Row(label, op, len(entries), {"d": d}, exprs={"memstore": src}))
        run(*rows)


# Expiry rows (--ttl): the share of keys with a lifetime, and one that
# does not end during the run.
TTL_SHARE_STEP = 10  # every 10th key: 10%
TTL_LONG = 86_400.0


def _ttl_rows(ds, plain, run, add, cfg, log):
    """mget / mset / yield_keys on a store where 10% of the keys carry a
    lifetime, each timed together with the same op on the plain store;
    then purging cfg.ttl_purge expired keys at once."""
    from memstore import TrieStore

    t = TrieStore()
    t.mset(ds.pairs)
    t.mset(
        [kv for i, kv in enumerate(ds.pairs) if i % TTL_SHARE_STEP == 3], ttl=TTL_LONG
    )
    n_q = len(ds.present_q)
    # writes of keys without a lifetime, so that the share stays 10%
    has_ttl = {k for i, k in enumerate(ds.keys) if i % TTL_SHARE_STEP == 3}
    writes = [(k, v) for k, v in ds.delete_pairs if k not in has_ttl]
    label = "~100"
    p, _c = ds.prefixes.get(label, next(iter(ds.prefixes.values())))
    assert list(t.yield_keys(prefix=p)) == list(plain.yield_keys(prefix=p))
    assert t.mget(ds.present_q) == plain.mget(ds.present_q)
    for op, src, per, kw in (
        ("mget", "{h}.mget(q)", n_q, {"q": ds.present_q}),
        ("mset", "{h}.mset(pairs)", len(writes), {"pairs": writes}),
        ("yield", "list({h}.yield_keys(prefix=p))", None, {"p": p}),
    ):
        what = f"{op} {per:,} keys" if per else f"yield_keys {label}"
        run(
            Row(
                f"{what}, no key with a lifetime",
                f"ttl0_{op}",
                per,
                {**kw, "t": t},
                exprs={"memstore": src.format(h="h")},
            ),
            Row(
                f"{what}, 10% of keys with a lifetime",
                f"ttl10_{op}",
                per,
                {**kw, "t": t},
                exprs={"memstore": src.format(h="t")},
            ),
        )
    del t
    runs = []
    for _ in range(3):
        now = [0.0]
        s = TrieStore(clock=lambda now=now: now[0])
        keys = ds.keys * (cfg.ttl_purge // len(ds.keys) + 1)
        for start in range(0, cfg.ttl_purge, 10_000):
            end = min(start + 10_000, cfg.ttl_purge)
            s.mset(
                [(f"{k}#{i}", None) for i, k in enumerate(keys[start:end], start)],
                ttl=1,
            )
        assert len(s) == cfg.ttl_purge
        now[0] = 1.0
        t0 = pc()
        left = len(s)  # purges every key
        runs.append(pc() - t0)
        assert left == 0
        del s
    add(
        f"purge {cfg.ttl_purge:,} expired keys at once (per call)",
        cfg.ttl_purge,
        {"memstore": (statistics.median(runs), 3)},
        op="ttl_purge",
        runs=runs,
    )
    log(f"    ttl rows done; purge runs {[f'{r / 1e6:.0f} ms' for r in runs]}")


# ----------------------------------------------------------------- memory


def run_memory(ds_files, names, jobs, log):
    """ds_files: {(workload, n): (keys_file, alphabet_file)} -> records."""
    tasks = []
    for (wl, n), (kf, af) in ds_files.items():
        for name in names.get((wl, n), ()):
            # tracemalloc cannot see marisa's and datrie's C heaps; on
            # pygtrie (millions of small objects) it costs minutes and
            # gigabytes, and RSS agrees with it within ~10%
            modes = (
                ["rss"]
                if name in ("marisa-trie", "datrie", "pygtrie")
                else ["rss", "tracemalloc"]
            )
            for mode in modes:
                tasks.append((wl, n, name, mode, kf, af))

    def one(t):
        wl, n, name, mode, kf, af = t
        cmd = [sys.executable, os.path.join(HERE, "memprobe.py"), name, kf, mode, af]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
        try:
            rec = json.loads(p.stdout.strip().splitlines()[-1])
        except (IndexError, ValueError):
            rec = {
                "system": name,
                "mode": mode,
                "error": (p.stderr.strip().splitlines() or ["?"])[-1],
            }
        rec.update(workload=wl, n=n)
        log(
            f"    memory {wl:<8} {n:>9,} {name:<14} {mode:<11} "
            + (
                f"{rec['bytes_per_key']:8.1f} B/key"
                if "bytes_per_key" in rec
                else rec.get("error", "")
            )
        )
        return rec

    with ThreadPoolExecutor(max_workers=jobs) as ex:
        return list(ex.map(one, tasks))


# ----------------------------------------------------------------- report


def fmt_ns(ns):
    if ns is None or (isinstance(ns, float) and math.isnan(ns)):
        return "—"
    if ns < 1e3:
        return f"{ns:.0f} ns"
    if ns < 1e6:
        return f"{ns / 1e3:.3g} µs"
    if ns < 1e9:
        return f"{ns / 1e6:.3g} ms"
    return f"{ns / 1e9:.3g} s"


def fmt_ratio(x):
    if x is None:
        return "—"
    if x >= 100:
        return f"{x:,.0f}x"
    return f"{x:.3g}x"


def table_for(ds_key, results, sys_names):
    wl, n = ds_key
    cols = [s for s in sys_names if any(s in r["times"] for r in results.values())]
    head = (
        "| operation | "
        + " | ".join(cols)
        + " | dict ÷ memstore | best peer ÷ memstore |"
    )
    lines = [f"#### {wl}, {n:,} keys", "", head, "|" + "---|" * (len(cols) + 3)]
    for label, r in results.items():
        t = r["times"]
        cells = [fmt_ns(t.get(c)) for c in cols]
        m = t.get("memstore")
        d = t.get("dict")
        peers = {k: v for k, v in t.items() if k in S.PEERS}
        vs_dict = fmt_ratio(d / m) if m and d else "—"
        if m and peers:
            best = min(peers, key=peers.get)
            vs_peer = f"{fmt_ratio(peers[best] / m)} ({best})"
        else:
            vs_peer = "—"
        lines.append(
            f"| {label} | " + " | ".join(cells) + f" | {vs_dict} | {vs_peer} |"
        )
    lines.append("")
    lines.append("Ratios above 1x: memstore is faster.  Times are medians per call.")
    lines.append("")
    return lines


def memory_table(mem):
    if not mem:
        return []
    keys = sorted(
        {(r["workload"], r["n"]) for r in mem},
        key=lambda k: (W.WORKLOADS.index(k[0]), k[1]),
    )
    names = [s for s in S.NAMES if any(r["system"] == s for r in mem)]
    lines = [
        "### Memory, bytes per key",
        "",
        "tracemalloc / RSS delta, fresh process per system; values are one "
        "shared object (see benchmarks/memprobe.py).  tracemalloc does not "
        "see marisa-trie's or datrie's C heaps, so only RSS is given for "
        "them, and for pygtrie (tracemalloc would take minutes and GBs there).",
        "",
        "| workload | N | " + " | ".join(names) + " | memstore ÷ dict (tracemalloc) |",
        "|" + "---|" * (len(names) + 3),
    ]
    for wl, n in keys:
        cells = []
        by = {
            (r["system"], r["mode"]): r
            for r in mem
            if r["workload"] == wl and r["n"] == n
        }
        for s in names:
            tm = by.get((s, "tracemalloc"), {}).get("bytes_per_key")
            rs = by.get((s, "rss"), {}).get("bytes_per_key")
            extra = ""
            if (
                s == "memstore"
                and (s, "rss") in by
                and "memory_usage_per_key" in by[(s, "rss")]
            ):
                extra = f" (own {by[(s, 'rss')]['memory_usage_per_key']:.0f})"
            if (
                s == "dict"
                and (s, "rss") in by
                and "getsizeof_per_key" in by[(s, "rss")]
            ):
                extra = f" (getsizeof {by[(s, 'rss')]['getsizeof_per_key']:.0f})"
            cells.append(
                ("—" if tm is None else f"{tm:.0f}")
                + " / "
                + ("—" if rs is None else f"{rs:.0f}")
                + extra
            )
        m = by.get(("memstore", "tracemalloc"), {}).get("bytes_per_key")
        d = by.get(("dict", "tracemalloc"), {}).get("bytes_per_key")
        ratio = f"{m / d:.2f}x" if m and d else "—"
        lines.append(f"| {wl} | {n:,} | " + " | ".join(cells) + f" | {ratio} |")
    lines.append("")
    return lines


# ----------------------------------------------------------------- targets


def _find(results, op, label_start=None):
    for label, r in results.items():
        if r.get("op") == op and (label_start is None or label.startswith(label_start)):
            return label, r
    return None, None


def targets(all_results, mem, sizes):
    """[(target text, measured text, PASS/MISS/n.a.)]"""
    out = []
    chat = {n: res for (wl, n), res in all_results.items() if wl == "chat"}
    if not chat:
        return [("(targets are measured on chat keys; none run)", "", "n.a.")]
    nmax, nmin = max(chat), min(chat)
    R = chat[nmax]
    at = f" @ {nmax:,} chat" + ("" if nmax >= 10**6 else " (targets are for 10^6)")

    def t(label_start, op, sysname):
        _, r = _find(R, op, label_start)
        return None if r is None else r["times"].get(sysname)

    def row(text, value_text, ok):
        out.append(
            (
                text + at,
                value_text,
                "n.a." if ok is None else ("PASS" if ok else "MISS"),
            )
        )

    _lab, r = _find(R, "yield", "yield_keys ~100 ")
    if r:
        m, sd, d = (r["times"].get(k) for k in ("memstore", "SortedDict", "dict"))
        per = r["per"]
        row(
            "yield_keys ~100 matches: >= 2x faster than SortedDict",
            f"{sd / m:.2f}x" if m and sd else "—",
            (sd / m >= 2) if m and sd else None,
        )
        row(
            "yield_keys ~100 matches: <= ~27 ns per listed key",
            f"{m / per:.1f} ns/key ({per} keys)" if m else "—",
            (m / per <= 27.5) if m else None,
        )
        row(
            "yield_keys ~100 matches: >= 1,000x faster than the dict scan",
            f"{d / m:,.0f}x" if m and d else "—",
            (d / m >= 1000) if m and d else None,
        )
        _, r0 = _find(chat[nmin], "yield", "yield_keys ~100 ")
        if r0 and nmin < nmax and r0["times"].get("memstore") and m:
            a = r0["times"]["memstore"] / r0["per"]
            b = m / per
            out.append(
                (
                    f"yield_keys ~100 matches: flat from {nmin:,} to {nmax:,} keys "
                    f"(per listed key, <= 2x)",
                    f"{a:.1f} -> {b:.1f} ns/key = {b / a:.2f}x",
                    "PASS" if b / a <= 2 else "MISS",
                )
            )
        else:
            out.append(
                ("yield_keys ~100 matches: flat as N grows", "needs two sizes", "n.a.")
            )
    _, rr = _find(R, "range")
    _, rp = _find(R, "yield", "yield_keys ~100 ")
    if rr and rp:
        m, sd = rr["times"].get("memstore"), rr["times"].get("SortedDict")
        pm, psd = rp["times"].get("memstore"), rp["times"].get("SortedDict")
        if m and sd and pm and psd:
            row(
                f"range listing of {rr['per']} keys: SortedDict.irange ÷ memstore >= the "
                f"prefix listing's ratio",
                f"{sd / m:.2f}x vs {psd / pm:.2f}x ({fmt_ns(m)} vs {fmt_ns(sd)})",
                sd / m >= psd / pm,
            )
        else:
            row(
                "range listing: SortedDict.irange ÷ memstore >= the prefix listing's ratio",
                "—",
                None,
            )
    _, rbig = _find(R, "delim_big")
    _, rone = _find(R, "delim_one")
    _, rsmall = _find(R, "delim_small")
    if rbig and rone:
        big, one = rbig["times"].get("memstore"), rone["times"].get("memstore")
        small = rsmall["times"].get("memstore") if rsmall else None
        extra = f"; vs 3 groups of 1 key: {big / small:.2f}x" if big and small else ""
        row(
            f"delimiter listing, 3 groups of {DELIM_GROUP_KEYS:,} keys: <= 1.5x one group "
            f"of one key",
            f"{big / one:.2f}x ({fmt_ns(big)} vs {fmt_ns(one)}){extra}"
            if big and one
            else "—",
            (big / one <= 1.5) if big and one else None,
        )
    ttl_ratios = []
    for op in ("mget", "mset", "yield"):
        _, r0 = _find(R, f"ttl0_{op}")
        _, r10 = _find(R, f"ttl10_{op}")
        if r0 and r10 and r0["times"].get("memstore") and r10["times"].get("memstore"):
            ttl_ratios.append((op, r10["times"]["memstore"] / r0["times"]["memstore"]))
    if ttl_ratios:
        row(
            "expiry: mget/mset/yield_keys with 10% of keys carrying a lifetime "
            "<= 1.2x none",
            ", ".join(f"{op} {x:.2f}x" for op, x in ttl_ratios),
            max(x for _, x in ttl_ratios) <= 1.2,
        )
        out.append(
            (
                "expiry: a store that never used a lifetime vs the previous "
                "commit's build <= 1.03x",
                "two builds: python benchmarks/ttl_overhead.py",
                "n.a.",
            )
        )
    _, rp = _find(R, "ttl_purge")
    if rp and rp["times"].get("memstore"):
        runs = rp.get("runs") or [rp["times"]["memstore"]]
        row(
            f"expiry: purging {rp['per']:,} expired keys at once (ns per key)",
            f"{rp['times']['memstore'] / rp['per']:.0f} ns/key (runs "
            + ", ".join(f"{x / rp['per']:.0f}" for x in runs)
            + ")",
            None,
        )
    counts = [
        (lab, r) for lab, r in R.items() if r.get("op") == "count" and "none" not in lab
    ]
    ms = [r["times"].get("memstore") for _, r in counts]
    if counts and all(ms):
        row(
            "count(prefix): independent of the number of matches (max/min over "
            "~1..~10,000 matches <= 1.5x)",
            " / ".join(fmt_ns(x) for x in ms) + f" = {max(ms) / min(ms):.2f}x",
            max(ms) / min(ms) <= 1.5,
        )
        sds = [r["times"].get("SortedDict") for _, r in counts]
        if all(sds):
            worst = min(s / m for s, m in zip(sds, ms))
            row(
                "count(prefix): >= 10x faster than SortedDict's two bisects (worst case)",
                f"{worst:.1f}x",
                worst >= 10,
            )
    _, r = _find(R, "mget", "mget 1,000 present")
    _, ra = _find(R, "mget", "mget 1,000 absent")
    _, rc = _find(R, "mget", "mget 1,000 present, cold")
    if r:
        m, d = r["times"].get("memstore"), r["times"].get("dict")
        extra = ""
        if rc and rc["times"].get("memstore") and rc["times"].get("dict"):
            extra = f"; new str each call: {rc['times']['memstore'] / rc['times']['dict']:.2f}x"
        _, rb = _find(R, "mget", "mget 1,000 present, 100 batches")
        if rb and rb["times"].get("memstore") and rb["times"].get("dict"):
            extra += f"; cache-cold batches: {rb['times']['memstore'] / rb['times']['dict']:.2f}x"
        row(
            "mget 1,000 present: <= 1.2x list(map(d.get, keys))",
            (f"{m / d:.2f}x" + extra) if m and d else "—",
            (m / d <= 1.2) if m and d else None,
        )
        if ra:
            a = ra["times"].get("memstore")
            row(
                "mget 1,000 absent faster than present",
                f"{fmt_ns(a)} vs {fmt_ns(m)}" if a and m else "—",
                (a < m) if a and m else None,
            )
    _, r = _find(R, "mset_bulk")
    if r:
        m, d, sd = (r["times"].get(k) for k in ("memstore", "dict", "SortedDict"))
        row(
            "bulk mset: <= 2x building the dict",
            f"{m / d:.2f}x" if m and d else "—",
            (m / d <= 2) if m and d else None,
        )
        row(
            "bulk mset: faster than SortedDict",
            f"{sd / m:.2f}x faster" if m and sd else "—",
            (m < sd) if m and sd else None,
        )
    for wl, lim in (("chat", 0.4), ("hex", 1.0)):
        recs = [
            x for x in mem if x["workload"] == wl and x.get("mode") == "tracemalloc"
        ]
        if not recs:
            out.append(
                (f"memory, {wl}: <= {lim}x dict bytes per key", "not measured", "n.a.")
            )
            continue
        n = max(x["n"] for x in recs)
        by = {x["system"]: x.get("bytes_per_key") for x in recs if x["n"] == n}
        m, d = by.get("memstore"), by.get("dict")
        rss = {
            x["system"]: x.get("bytes_per_key")
            for x in mem
            if x["workload"] == wl and x["n"] == n and x.get("mode") == "rss"
        }
        rs = ""
        if rss.get("memstore") and rss.get("dict"):
            rs = f"; RSS {rss['memstore']:.0f} vs {rss['dict']:.0f} = {rss['memstore'] / rss['dict']:.2f}x"
        out.append(
            (
                f"memory, {wl} keys: <= {lim}x a dict's bytes per key (tracemalloc) @ {n:,}",
                f"{m:.1f} vs {d:.1f} B/key = {m / d:.2f}x{rs}" if m and d else "—",
                "n.a." if not (m and d) else ("PASS" if m / d <= lim else "MISS"),
            )
        )
    _, r = _find(R, "list")
    if r and r["times"].get("memstore"):
        v = r["times"]["memstore"] / r["per"]
        row("listing every key in order: <= 30 ns per key", f"{v:.1f} ns/key", v <= 30)
    for aop, sop in (("amget", "mget"), ("amset", "mset"), ("ayield", "yield")):
        la, ra_ = _find(R, aop)
        if not ra_:
            continue
        rs_ = next(
            (r for lab, r in R.items() if r.get("op") == sop and "sync twin" in lab),
            None,
        )
        a = ra_["times"].get("memstore")
        s = rs_["times"].get("memstore") if rs_ else None
        row(
            f"{la.split(' ')[0]} within 1.3x of {sop if sop != 'yield' else 'yield_keys'} per key",
            f"{a / s:.2f}x ({fmt_ns(a)} vs {fmt_ns(s)})" if a and s else "—",
            (a / s <= 1.3) if a and s else None,
        )
    return out


def target_lines(tg):
    lines = ["### Targets", "", "| target | measured | |", "|---|---|---|"]
    for text, val, verdict in tg:
        lines.append(f"| {text} | {val} | {verdict} |")
    lines.append("")
    return lines


# ----------------------------------------------------------------- plots


def plot(all_results, mem, path, log):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as e:
        log(f"no plot: {e}")
        return []
    colors = {n: plt.get_cmap("tab10")(i) for i, n in enumerate(S.NAMES)}
    wls = [w for w in W.WORKLOADS if any(k[0] == w for k in all_results)]
    fig, axes = plt.subplots(1, len(wls), figsize=(4.2 * len(wls), 4.4), squeeze=False)
    for ax, wl in zip(axes[0], wls):
        for sname in S.NAMES:
            xs, ys = [], []
            for (w, n), res in sorted(all_results.items()):
                if w != wl:
                    continue
                _, r = _find(res, "yield", "yield_keys ~100 ")
                if r and sname in r["times"]:
                    xs.append(n)
                    ys.append(r["times"][sname] / 1e3)
            if xs:
                ax.plot(
                    xs,
                    ys,
                    marker="o",
                    label=sname,
                    color=colors[sname],
                    linewidth=2.5 if sname == "memstore" else 1.2,
                )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(f"{wl}: yield_keys(prefix), ~100 matches")
        ax.set_xlabel("keys in store")
        ax.grid(True, which="both", alpha=0.3)
    axes[0][0].set_ylabel("µs per query (median)")
    handles, labels = axes[0][0].get_legend_handles_labels()
    for ax in axes[0][1:]:
        for h_, l_ in zip(*ax.get_legend_handles_labels()):
            if l_ not in labels:
                handles.append(h_)
                labels.append(l_)
    if len(wls) == 1:
        axes[0][0].legend(handles, labels, fontsize=8)
        fig.tight_layout()
    else:
        fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=9)
        fig.tight_layout(rect=(0, 0.07, 1, 1))
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    written = [path]
    recs = [r for r in mem if "bytes_per_key" in r]
    if recs:
        root, ext = os.path.splitext(path)
        mpath = root + "_memory" + (ext or ".png")
        keys = sorted(
            {(r["workload"], r["n"]) for r in recs},
            key=lambda k: (W.WORKLOADS.index(k[0]), k[1]),
        )
        names = [s for s in S.NAMES if any(r["system"] == s for r in recs)]
        fig, ax = plt.subplots(figsize=(max(6, 2.2 * len(keys)), 4.5))
        width = 0.8 / len(names)
        table = {}
        for s_ in names:
            for wl, n in keys:
                by = {
                    r["mode"]: r["bytes_per_key"]
                    for r in recs
                    if r["system"] == s_ and r["workload"] == wl and r["n"] == n
                }
                table[s_, wl, n] = by.get("tracemalloc", by.get("rss", float("nan")))
        finite = sorted(v for v in table.values() if v == v)
        # an outlier (pygtrie on hex: kilobytes per key) is cut off and labelled
        top = min(finite[-1], 5 * finite[len(finite) // 2]) * 1.2 if finite else 1
        for i, s_ in enumerate(names):
            vals = [table[s_, wl, n] for wl, n in keys]
            bars = ax.bar(
                [j + i * width for j in range(len(keys))],
                [min(v, top) if v == v else v for v in vals],
                width,
                label=s_,
                color=colors[s_],
            )
            ax.bar_label(
                bars,
                labels=[
                    "" if v != v else (f"{v:,.0f}" + (" ↑" if v > top else ""))
                    for v in vals
                ],
                fontsize=7,
                rotation=90,
                padding=2,
            )
        ax.set_ylim(0, top * 1.15)
        ax.set_xticks([j + 0.4 - width / 2 for j in range(len(keys))])
        ax.set_xticklabels([f"{wl}\n{n:,}" for wl, n in keys])
        ax.set_ylabel("bytes per key\n(tracemalloc; RSS for marisa, datrie, pygtrie)")
        ax.set_title("Memory per key (values shared; lower is better)")
        ax.grid(True, axis="y", alpha=0.3)
        ax.legend(fontsize=8, ncol=2)
        fig.tight_layout()
        fig.savefig(mpath, dpi=110)
        plt.close(fig)
        written.append(mpath)
    return written


# ----------------------------------------------------------------- main


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--quick",
        action="store_true",
        help="chat keys at 10^4 and 10^5, fewer repetitions (< 1 minute)",
    )
    ap.add_argument("--sizes", type=int, nargs="+")
    ap.add_argument("--workloads", nargs="+", choices=W.WORKLOADS)
    ap.add_argument("--systems", nargs="+", choices=S.NAMES)
    ap.add_argument("--reps", type=int)
    ap.add_argument(
        "--max-build",
        type=float,
        default=30.0,
        help="skip a system at a size where its build is projected "
        "to take longer than this many seconds",
    )
    ap.add_argument(
        "--memory-sizes",
        type=int,
        nargs="*",
        help="sizes for the memory probes (default: the largest size)",
    )
    ap.add_argument("--memory-systems", nargs="+", choices=S.NAMES)
    ap.add_argument("--memory-workloads", nargs="+", choices=W.WORKLOADS)
    ap.add_argument("--no-memory", action="store_true")
    ap.add_argument(
        "--ttl",
        action="store_true",
        help="add the expiry rows (memstore: 10%% of keys with a lifetime; a purge)",
    )
    ap.add_argument(
        "--ttl-purge",
        type=int,
        default=None,
        help="expired keys purged at once in the purge row (default 10^6; "
        "--quick 10^5)",
    )
    ap.add_argument("--jobs", type=int, default=2, help="memory probes at once")
    ap.add_argument(
        "--plot",
        metavar="PNG",
        help="prefix-query plot here, memory bars next to it (*_memory.png)",
    )
    ap.add_argument("--md", metavar="FILE", help="also write the markdown here")
    ap.add_argument("--json", metavar="FILE", help="raw results as JSON")
    ap.add_argument(
        "--replot",
        metavar="JSON",
        help="only redraw --plot from a --json file of an earlier run",
    )
    a = ap.parse_args(argv)
    if a.replot:
        with open(a.replot, encoding="utf-8") as f:
            raw = json.load(f)
        res = {
            (k.split("/")[0], int(k.split("/")[1])): v
            for k, v in raw["results"].items()
        }
        for p in plot(res, raw["memory"], a.plot or "prefix_query.png", print):
            print(f"wrote {p}")
        return

    cfg = Cfg()
    cfg.max_build_s = a.max_build
    cfg.ttl = a.ttl
    cfg.ttl_purge = a.ttl_purge or (100_000 if a.quick else 1_000_000)
    if a.quick:
        sizes = a.sizes or [10_000, 100_000]
        wls = a.workloads or ["chat"]
        cfg.reps = a.reps or 5
        cfg.sample_ns = 1_500_000
        cfg.budget_ns = 300_000_000
        mem_sys = {"chat": ["dict", "SortedDict", "memstore"]}
    else:
        sizes = a.sizes or [10_000, 100_000, 1_000_000]
        wls = a.workloads or list(W.WORKLOADS)
        cfg.reps = a.reps or 7
        # every system on the two workloads with memory targets, the
        # cheaper-to-probe ones on the rest
        mem_sys = {
            w: list(S.NAMES)
            if w in ("chat", "hex")
            else ["dict", "SortedDict", "marisa-trie", "memstore"]
            for w in W.WORKLOADS
        }
    if a.memory_systems:
        mem_sys = dict.fromkeys(W.WORKLOADS, a.memory_systems)
    mem_wls = a.memory_workloads or wls
    mem_sizes = a.memory_sizes if a.memory_sizes is not None else [max(sizes)]
    syss = S.make(a.systems)
    if not any(s.name == "dict" for s in syss):
        syss.insert(0, S.DictScan())

    t_start = time.perf_counter()

    def log(msg):
        print(
            f"[{time.perf_counter() - t_start:6.1f}s] {msg}",
            file=sys.stderr,
            flush=True,
        )

    for s in syss:
        if s.error:
            if s.name == "memstore":
                # A peer may be missing; the system under test may not.
                sys.exit(f"compare.py: {s.error} (pip install -e '.[bench]' first)")
            log(f"{s.name}: skipped: {s.error}")
    log(
        f"python {platform.python_version()}, {platform.machine()}, "
        f"{os.cpu_count()} cpus; sizes {sizes}; workloads {wls}"
    )

    history: dict = {}
    all_results: dict = {}
    all_notes: dict = {}
    ds_files: dict = {}
    mem_names: dict = {}
    tmp = tempfile.mkdtemp(prefix="memstore-bench-")
    for wl in wls:
        for n in sorted(sizes):
            log(f"{wl} {n:,}: generating")
            ds = W.make_dataset(wl, n)
            log(f"{wl} {n:,}: prefixes {ds.prefixes}")
            results, notes = run_dataset(ds, syss, cfg, history, log)
            for note in notes:
                log("  " + note)
            all_results[(wl, n)] = results
            all_notes[(wl, n)] = notes
            if not a.no_memory and n in mem_sizes and wl in mem_wls and mem_sys.get(wl):
                kf = os.path.join(tmp, f"{wl}-{n}.keys")
                af = os.path.join(tmp, f"{wl}-{n}.alphabet")
                with open(kf, "w", encoding="utf-8", newline="\n") as f:
                    for k in ds.keys:
                        f.write(k)
                        f.write("\n")
                with open(af, "w", encoding="utf-8") as f:
                    f.write(ds.alphabet)
                ds_files[(wl, n)] = (kf, af)
                ran = {k for r in results.values() for k in r["times"]}
                mem_names[(wl, n)] = [s for s in mem_sys.get(wl, ()) if s in ran]
            del ds
            gc.collect()

    mem = []
    if ds_files:
        log("memory probes")
        mem = run_memory(ds_files, mem_names, a.jobs, log)
        for kf, af in ds_files.values():
            os.unlink(kf)
            os.unlink(af)
    os.rmdir(tmp) if not os.listdir(tmp) else None

    sys_names = [s.name for s in syss]
    tg = targets(all_results, mem, sizes)
    lines = [
        f"## memstore benchmark: `python benchmarks/compare.py "
        f"{' '.join(argv if argv is not None else sys.argv[1:])}`",
        "",
        f"Python {platform.python_version()} on {platform.machine()}, "
        f"{os.cpu_count()} CPUs; {time.strftime('%Y-%m-%d')}; "
        f"medians of up to {cfg.reps} interleaved repetitions; "
        f"run took {time.perf_counter() - t_start:.0f} s.",
        "",
    ]
    lines += target_lines(tg)
    lines += memory_table(mem)
    lines += ["### Times", ""]
    for key, res in all_results.items():
        lines += table_for(key, res, sys_names)
        for note in all_notes[key]:
            lines.append(f"- {note}")
        if all_notes[key]:
            lines.append("")
    text = "\n".join(lines)
    print(text)
    if a.md:
        os.makedirs(os.path.dirname(os.path.abspath(a.md)), exist_ok=True)
        with open(a.md, "w", encoding="utf-8") as f:
            f.write(text + "\n")
    if a.json:
        with open(a.json, "w", encoding="utf-8") as f:
            json.dump(
                {
                    "results": {f"{k[0]}/{k[1]}": v for k, v in all_results.items()},
                    "notes": {f"{k[0]}/{k[1]}": v for k, v in all_notes.items()},
                    "memory": mem,
                    "targets": tg,
                },
                f,
                indent=1,
                ensure_ascii=False,
            )
    if a.plot:
        for p in plot(all_results, mem, a.plot, log):
            log(f"wrote {p}")
    log("done")


if __name__ == "__main__":
    main()
