"""Run one operation of one system in a loop, for a profiler to look at.

    perf record -g -o /tmp/perf.data -- \\
        python benchmarks/profile_op.py memstore yield --label ~100 --seconds 10
    perf report -i /tmp/perf.data --no-children --percent-limit 2 --stdio
    py-spy top -- python benchmarks/profile_op.py memstore mget --seconds 10

Operations: the adapter ops of benchmarks/systems.py (mget, yield, count,
list, mset, mdelete, amget, amset, ayield) plus ``build`` (bulk mset).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import systems as S  # noqa: E402
import workloads as W  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("system", choices=S.NAMES)
    ap.add_argument("op")
    ap.add_argument("--workload", default="chat", choices=W.WORKLOADS)
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--label", default="~100", help="prefix label for yield/count")
    ap.add_argument("--absent", action="store_true", help="mget absent keys")
    ap.add_argument("--seconds", type=float, default=10.0)
    a = ap.parse_args()

    ds = W.make_dataset(a.workload, a.n)
    s = S.make([a.system])[0]
    if s.error:
        sys.exit(s.error)
    s.prepare(ds)
    h = s.build(ds.pairs)
    p, _ = ds.prefixes.get(a.label, ("", 0))
    ns = s.namespace()
    ns.update(
        h=h,
        p=p,
        lo=p,
        hi=W.prefix_upper(p) if p else None,
        q=ds.absent_q if a.absent else ds.present_q,
        pairs=ds.absent_pairs,
    )
    if a.op == "build":

        def step():
            s.build(ds.pairs)
    elif a.op.startswith("a"):
        exec(f"async def _f():\n    {s.exprs[a.op]}\n", ns)
        loop = asyncio.new_event_loop()
        f = ns["_f"]

        def step():
            loop.run_until_complete(f())
    else:
        undo = {
            "mset": s.exprs["mdelete"].replace("q", "[k for k, _ in pairs]"),
            "mdelete": s.exprs["mset"].replace("pairs", "[(k, 0) for k in q]"),
        }
        src = f"def _f():\n    for _ in range(100):\n        {s.exprs[a.op]}\n"
        if a.op in undo:
            src += f"        {undo[a.op]}\n"
        exec(src, ns)
        step = ns["_f"]
    print(
        f"profiling {a.system} {a.op} on {a.workload} {a.n:,} (prefix {p!r})",
        file=sys.stderr,
        flush=True,
    )
    end = time.perf_counter() + a.seconds
    calls = 0
    while time.perf_counter() < end:
        step()
        calls += 1
    print(f"{calls} rounds", file=sys.stderr)


if __name__ == "__main__":
    main()
