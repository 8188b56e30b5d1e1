"""Two builds of memstore timed side by side, sample by sample.

    python benchmarks/ab_builds.py BASE_DIR [NEW_DIR] [--n 100000] [--rounds 30]

BASE_DIR and NEW_DIR (default: this checkout) are source trees with the
extension built in place (``python setup.py build_ext --inplace``).  Each
build runs in a worker process of its own (``memstore`` imported from its
directory), and both build the same store: ``n`` chat keys
(benchmarks/workloads.py) written by ``mset`` in batches of 1,000.  Then,
operation by operation, the driver asks the two workers for one sample in
turn, ``--rounds`` times, so a slow spell of a shared machine hits both
alike.  A sample is the time of a loop of calls, divided by the calls.

Prints, per operation, the median over rounds of NEW's time over BASE's in
the same round, with the spread (the middle 80% of rounds), and the ratio
of the two builds' fastest samples (the least disturbed by other load);
below 1: NEW is faster.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

WORKER = r"""
import gc, json, random, sys, time
sys.path.insert(0, sys.argv[2])
from workloads import generate
import memstore
from memstore import TrieStore

n = int(sys.argv[1])
keys = generate("chat", n)
absent, keys = keys[n:], keys[:n]
value = object()
store = TrieStore()
for i in range(0, n, 1000):
    store.mset([(k, value) for k in keys[i:i + 1000]])
r = random.Random(7)
present = [(k + "\x00")[:-1] for k in r.sample(keys, 1000)]
new_pairs = [(k, value) for k in absent[:1000]]
new_keys = [k for k, _ in new_pairs]
session = keys[0].rsplit(":", 1)[0] + ":"  # one chat session: 1..200 keys
group = keys[0][:10]                        # message:<2 hex digits>: ~n/256
cell = [0]

def mset_new():
    store.mset(new_pairs)
    store.mdelete(new_keys)

OPS = {
    "mget 1,000 present": (lambda: store.mget(present), 1),
    "mset 1,000 new (+ mdelete)": (mset_new, 1),
    "yield_keys one session": (lambda: list(store.yield_keys(prefix=session)), 1),
    f"yield_keys ~n/256 ({store.count(group)})": (lambda: list(store.yield_keys(prefix=group)), 1),
    "count one session": (lambda: store.count(session), 1),
}
gc.disable()
print(json.dumps({"memstore": memstore.__file__, "ops": list(OPS)}), flush=True)
for line in sys.stdin:
    fn, _ = OPS[line.rstrip("\n")]
    fn()  # warm
    loops, t = 1, 0
    while True:  # a sample of at least 5 ms
        t0 = time.perf_counter_ns()
        for _ in range(loops):
            fn()
        t = time.perf_counter_ns() - t0
        if t >= 5_000_000:
            break
        loops *= 2
    print(t / loops, flush=True)
"""


def start(build_dir: str, n: int):
    env = dict(os.environ, PYTHONPATH=os.path.abspath(build_dir))
    p = subprocess.Popen(
        [sys.executable, "-c", WORKER, str(n), HERE],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=os.path.abspath(build_dir),
    )
    hello = json.loads(p.stdout.readline())
    return p, hello


def sample(p, op: str) -> float:
    p.stdin.write(op + "\n")
    p.stdin.flush()
    return float(p.stdout.readline())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("base")
    ap.add_argument("new", nargs="?", default=os.path.dirname(HERE))
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=30)
    a = ap.parse_args()
    (pb, hb), (pn, hn) = start(a.base, a.n), start(a.new, a.n)
    print(
        f"base {hb['memstore']}\nnew  {hn['memstore']}\n{a.n:,} chat keys, {a.rounds} rounds"
    )
    for op in hb["ops"]:
        ratios, tbs, tns = [], [], []
        for i in range(a.rounds):
            if i % 2:  # who goes first alternates
                tn, tb = sample(pn, op), sample(pb, op)
            else:
                tb, tn = sample(pb, op), sample(pn, op)
            ratios.append(tn / tb)
            tbs.append(tb)
            tns.append(tn)
        ratios.sort()
        lo, hi = ratios[len(ratios) // 10], ratios[-1 - len(ratios) // 10]
        print(
            f"  {op:32s} new/base {statistics.median(ratios):.3f}  ({lo:.3f}..{hi:.3f});"
            f" fastest samples {min(tns) / min(tbs):.3f}",
            flush=True,
        )
    for p in (pb, pn):
        p.stdin.close()
        p.wait()


if __name__ == "__main__":
    main()
