"""What expiry costs: the numbers behind issue 12's targets for TrieStore.

1. A store that never used a lifetime, against the build of the commit
   before expiry (``--base``, default: the merge base with ``main``):
   ``mget``, ``mset`` and ``yield_keys`` of ~100 keys.  Target <= 1.03x.
2. The same operations on a store where 10% of the keys carry a lifetime
   (long enough never to expire during the run), against one where none
   does, both on this build.  Target <= 1.2x.
3. Purging 10^6 expired keys at once (``--quick``: 10^5): ns per key.

Parts 2 and 3 are also rows of ``benchmarks/compare.py --ttl`` (on its
chat dataset, timed side by side with the plain store); part 1 needs two
builds and lives only here.

Each measurement runs in a fresh subprocess; the two builds (or the two
stores) alternate, round after round, so that drifts of a busy machine hit
both alike.  A time is the median over rounds of each round's best; a
ratio is the median over rounds of the two runs' ratio in that round.

    python benchmarks/ttl_overhead.py            # about 5 minutes on 2 cores
    python benchmarks/ttl_overhead.py --quick    # fewer rounds, 10^5 purged

The base build is made from ``git archive`` of the base commit in a
temporary directory (``python setup.py build_ext --inplace``: needs
Cython and setuptools, as the normal build does); this checkout must be
built in place already.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
N_KEYS = 100_000
BATCH = 100
LONG = 86_400.0  # a lifetime that does not end during the run


# ------------------------------------------------------------- the worker


def chat_keys(n):
    # ~100 keys per session prefix, as in the README's chat workload
    return [f"session:{i % (n // BATCH):05d}:msg:{i:07d}" for i in range(n)]


def build_store(TrieStore, expiring_share):
    keys = chat_keys(N_KEYS)
    store = TrieStore()
    store.mset([(k, i) for i, k in enumerate(keys)])
    if expiring_share:
        step = round(1 / expiring_share)
        store.mset([(k, i) for i, k in enumerate(keys) if i % step == 3], ttl=LONG)
    return store, keys


def best_ns(fn, inner, repeats):
    # Many short windows: on a shared machine the best of them is the one
    # least disturbed by other processes.
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter_ns()
        for _ in range(inner):
            fn()
        best = min(best, (time.perf_counter_ns() - t0) / inner)
    return best


def worker(args):
    sys.path.insert(0, args.path)
    import memstore
    from memstore import TrieStore

    assert memstore.__file__.startswith(args.path), memstore.__file__
    if args.op == "purge":
        now = [0.0]
        store = TrieStore(clock=lambda: now[0])
        keys = chat_keys(args.purge_keys)
        for start in range(0, len(keys), 10_000):
            store.mset(
                [(k, i) for i, k in enumerate(keys[start : start + 10_000])], ttl=1
            )
        now[0] = 1.0
        t0 = time.perf_counter_ns()
        left = len(store)  # purges everything
        elapsed = time.perf_counter_ns() - t0
        assert left == 0
        print(json.dumps({"ns": elapsed / len(keys)}))
        return
    store, keys = build_store(TrieStore, args.share)
    rng = random.Random(12)
    batch = rng.sample(keys, BATCH)
    if args.share:  # write keys without a lifetime, so the share stays 10%
        step = round(1 / args.share)
        plain = [k for i, k in enumerate(keys) if i % step != 3]
        writes = [(k, 0) for k in rng.sample(plain, BATCH)]
    else:
        writes = [(k, 0) for k in batch]
    prefix = keys[BATCH * 7][: len("session:00000:")]
    ops = {
        "mget": lambda: store.mget(batch),
        "mset": lambda: store.mset(writes),
        "yield_keys": lambda: list(store.yield_keys(prefix=prefix)),
    }
    assert len(ops["yield_keys"]()) == BATCH
    print(json.dumps({"ns": best_ns(ops[args.op], args.inner, args.repeats)}))


# ----------------------------------------------------------- the driver


def run_worker(path, op, share=0.0, inner=200, repeats=60, purge_keys=0):
    cmd = [
        sys.executable,
        __file__,
        "--worker",
        "--path",
        str(path),
        "--op",
        op,
        "--share",
        str(share),
        "--inner",
        str(inner),
        "--repeats",
        str(repeats),
        "--purge-keys",
        str(purge_keys),
    ]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out)["ns"]


def base_commit(spec):
    if spec:
        ref = spec
    else:
        try:
            ref = subprocess.run(
                ["git", "merge-base", "HEAD", "main"],
                cwd=ROOT,
                check=True,
                capture_output=True,
                text=True,
            ).stdout.strip()
        except subprocess.CalledProcessError:
            ref = "HEAD~1"
    return subprocess.run(
        ["git", "rev-parse", ref], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.strip()


def build_base(commit, where):
    archive = subprocess.run(
        ["git", "archive", commit], cwd=ROOT, check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", where], input=archive, check=True)
    subprocess.run(
        [sys.executable, "setup.py", "-q", "build_ext", "--inplace"],
        cwd=where,
        check=True,
        capture_output=True,
    )


def compare(label, a, b, rounds, **kw):
    """Alternates a and b (paths or shares), round after round.  The ratio
    is the median of each round's b/a: a round's two runs are seconds
    apart, so the machine's load drifts less within a round than across."""
    times = {0: [], 1: []}
    for r in range(rounds):
        order = (0, 1) if r % 2 == 0 else (1, 0)
        for side in order:
            times[side].append(run_worker(**(a if side == 0 else b), **kw))
    ma, mb = statistics.median(times[0]), statistics.median(times[1])
    ratios = sorted(tb / ta for ta, tb in zip(times[0], times[1]))
    ratio = statistics.median(ratios)
    print(
        f"  {label:<12} {ma:10.0f} ns  {mb:10.0f} ns  {ratio:6.3f}x"
        f"  (rounds {ratios[0]:.3f}..{ratios[-1]:.3f})",
        flush=True,
    )
    return ratio


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--path", help=argparse.SUPPRESS)
    ap.add_argument("--op", help=argparse.SUPPRESS)
    ap.add_argument("--share", type=float, default=0.0, help=argparse.SUPPRESS)
    ap.add_argument("--inner", type=int, default=2000, help=argparse.SUPPRESS)
    ap.add_argument("--repeats", type=int, default=7, help=argparse.SUPPRESS)
    ap.add_argument("--purge-keys", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument(
        "--base", help="commit to compare with (default: merge base with main)"
    )
    ap.add_argument("--quick", action="store_true", help="5 rounds, 10^5 keys purged")
    ap.add_argument(
        "--rounds", type=int, help="rounds per comparison (default 9, quick 5)"
    )
    args = ap.parse_args()
    if args.worker:
        worker(args)
        return
    rounds = args.rounds or (5 if args.quick else 9)
    purge_keys = 10**5 if args.quick else 10**6
    commit = base_commit(args.base)
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load "
        f"{os.getloadavg()[0]:.1f}; base {commit[:10]}; {rounds} rounds; "
        f"store of {N_KEYS} chat keys, batches of {BATCH}"
    )
    with tempfile.TemporaryDirectory(prefix="memstore-base-") as where:
        build_base(commit, where)
        print(
            "\n1. store that never used TTL: base build vs this build (target <= 1.03x)"
        )
        print(f"  {'op':<12} {'base':>13} {'this':>13}  ratio (range over rounds)")
        for op in ("mget", "mset", "yield_keys"):
            compare(op, {"path": where}, {"path": str(ROOT)}, rounds, op=op)
    print("\n2. this build: no lifetimes vs 10% of keys with one (target <= 1.2x)")
    print(f"  {'op':<12} {'none':>13} {'10%':>13}  ratio (range over rounds)")
    for op in ("mget", "mset", "yield_keys"):
        compare(
            op,
            {"path": str(ROOT), "share": 0.0},
            {"path": str(ROOT), "share": 0.1},
            rounds,
            op=op,
        )
    print(f"\n3. purging {purge_keys} expired keys at once (one call)")
    runs = [run_worker(str(ROOT), "purge", purge_keys=purge_keys) for _ in range(3)]
    print(
        f"  {statistics.median(runs):.0f} ns per key (median of 3 runs: "
        + ", ".join(f"{r:.0f}" for r in runs)
        + ")"
    )


if __name__ == "__main__":
    main()
