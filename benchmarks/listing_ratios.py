"""The listing ratios of issue 12 (engine round 2), measured so that a busy
machine disturbs them least: compare.py's rows, timed as the best of many
short windows, every case in turn within each round.

1. Delimiter listing (compare.py's rows): a prefix holding 3 groups of 10^5
   keys against one holding 1 group of 1 key (target <= 1.5x), and against
   3 groups of 1 key (a group should cost the same whatever it holds).
2. Range listing of 100 keys (start/stop) against a prefix listing of the
   ~100-key prefix, each as SortedDict.irange's time / memstore's (target:
   the range's ratio >= the prefix's), on compare.py's chat keys at 10^5.
   Then where the range's gap comes from, each ratio again SortedDict's
   time / memstore's over the same keys: a prefix listing of a session
   holding exactly as many keys as the range (does the number of keys
   matter?), the same session listed as a range [session, its successor)
   (the range machinery: bounds, end checks, the count for list()), and
   the range row itself (a seek into the middle of one session and the
   step into the next).

    python benchmarks/listing_ratios.py                  # this checkout
    python benchmarks/listing_ratios.py --also /tmp/base  # and another build,
        # e.g. one from `git archive main` built in place, run in turn
    python benchmarks/listing_ratios.py --runs 3          # repeat, for the spread
"""

from __future__ import annotations

import argparse
import collections
import gc
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def best_of(cases, rounds, inner):
    gc.disable()
    best = dict.fromkeys(cases, float("inf"))
    for _ in range(rounds):
        for name, fn in cases.items():
            t0 = time.perf_counter_ns()
            for _ in range(inner):
                fn()
            best[name] = min(best[name], (time.perf_counter_ns() - t0) / inner)
    gc.enable()
    return best


def worker(path):
    if path:
        sys.path.insert(0, path)
    sys.path.insert(0, HERE)
    import compare as C
    import workloads as W
    from sortedcontainers import SortedDict

    from memstore import TrieStore

    d = C._delimiter_store()
    delim = {
        op: (lambda p=prefix: list(d.yield_keys(prefix=p, delimiter="/")))
        for _label, op, prefix, _entries in C.DELIM_ROWS
    }
    for _label, op, _prefix, entries in C.DELIM_ROWS:
        assert delim[op]() == entries
    ds = W.make_dataset("chat", 100_000)
    keys = ds.sorted_keys
    h = TrieStore((k, None) for k in keys)
    sd = SortedDict((k, None) for k in keys)
    p, _count = ds.prefixes["~100"]
    phi = W.prefix_upper(p)
    i = len(keys) // 3
    lo, hi = keys[i], keys[i + C.RANGE_KEYS]
    assert list(h.yield_keys(start=lo, stop=hi)) == keys[i : i + C.RANGE_KEYS]
    # a session of exactly RANGE_KEYS keys, the first in key order
    sizes = collections.Counter(k.rsplit(":", 1)[0] + ":" for k in keys)
    s = min(q for q, m in sizes.items() if m == C.RANGE_KEYS)
    shi = W.prefix_upper(s)
    assert list(h.yield_keys(start=s, stop=shi)) == list(h.yield_keys(prefix=s))
    listing = {
        "ms_prefix": lambda: list(h.yield_keys(prefix=p)),
        "sd_prefix": lambda: list(sd.irange(p, phi, inclusive=(True, False))),
        "ms_range": lambda: list(h.yield_keys(start=lo, stop=hi)),
        "sd_range": lambda: list(sd.irange(lo, hi, inclusive=(True, False))),
        "ms_session": lambda: list(h.yield_keys(prefix=s)),
        "ms_session_range": lambda: list(h.yield_keys(start=s, stop=shi)),
        "sd_session": lambda: list(sd.irange(s, shi, inclusive=(True, False))),
    }
    t = best_of(delim, 40, 1000)
    t.update(best_of(listing, 60, 200))
    import memstore

    t["range_keys"] = C.RANGE_KEYS
    t["build"] = os.path.dirname(os.path.dirname(memstore.__file__))
    print(json.dumps(t))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--worker", metavar="PATH", help=argparse.SUPPRESS)
    ap.add_argument("--also", metavar="PATH", help="another build, run in turn")
    ap.add_argument("--runs", type=int, default=1)
    a = ap.parse_args()
    if a.worker is not None:
        worker(a.worker)
        return
    builds = [os.path.dirname(HERE)] + ([a.also] if a.also else [])
    print(f"load {os.getloadavg()[0]:.1f}; best of short windows, in turn")
    for run in range(a.runs):
        for path in builds:
            out = subprocess.run(
                [sys.executable, __file__, "--worker", path],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            t = json.loads(out.strip().splitlines()[-1])
            print(
                f"run {run + 1} {t['build']}: delimiter 3x10^5 / 1 group of 1 key "
                f"{t['delim_big'] / t['delim_one']:.2f}x, 3 groups of 1 key "
                f"{t['delim_small'] / t['delim_one']:.2f}x "
                f"({t['delim_big']:.0f} / {t['delim_one']:.0f} ns); SortedDict / "
                f"memstore: range {t['sd_range'] / t['ms_range']:.2f}x, prefix "
                f"{t['sd_prefix'] / t['ms_prefix']:.2f}x "
                f"({t['ms_range']:.0f} vs {t['ms_prefix']:.0f} ns)",
                flush=True,
            )
            print(
                f"      the range's gap: prefix of the ~100 {t['sd_prefix'] / t['ms_prefix']:.2f}x "
                f"-> prefix of a {t['range_keys']}-key session {t['sd_session'] / t['ms_session']:.2f}x "
                f"-> that session as a range {t['sd_session'] / t['ms_session_range']:.2f}x "
                f"-> the range row {t['sd_range'] / t['ms_range']:.2f}x",
                flush=True,
            )


if __name__ == "__main__":
    main()
