"""memstore.redis.RedisStore against LangChain community's RedisStore, on the
same Redis server, side by side.

    python benchmarks/redis_compare.py [--quick] [--sizes 10000 100000 1000000]
        [--plot benchmarks/results/redis_prefix_query.png] [--md FILE]

Needs ``pip install '.[bench]'`` (redis-py, langchain-community) and a
``redis-server`` (or ``valkey-server``) on PATH: the script starts its own on
a free loopback port with no persistence, and stops it at the end.

Method
------
* Chat keys (``message:<session uuid>:<n>``, benchmarks/workloads.py) with
  16-byte values.  memstore's store lives in database 1, LangChain's in
  database 2, so LangChain's ``SCAN MATCH`` walks only its own keys (its
  best case; on a shared database it would walk everything).
* LangChain's ``yield_keys(prefix=p)`` builds the pattern from ``p`` alone,
  which matches only the key ``p`` itself; it is given ``p + "*"``, the
  pattern that lists by prefix.  It has no count: counting is listing.
* Before anything is timed, both stores' answers to every query are checked
  against the sorted key list (LangChain's come in SCAN order and are sorted
  for the check).
* The timing (compare.py's ``measure``): calls are repeated in interleaved
  rounds, medians reported; the server's ``used_memory`` before and after
  each fill gives bytes per key on the server.
"""

from __future__ import annotations

import argparse
import bisect
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import workloads as W  # noqa: E402
from compare import Cfg, compile_timer, fmt_ns, fmt_ratio, measure  # noqa: E402

MEMSTORE_DB, LANGCHAIN_DB = 1, 2
FILL_BATCH = 10_000


def start_server(workdir):
    binary = shutil.which("redis-server") or shutil.which("valkey-server")
    if binary is None:
        sys.exit("redis_compare.py: needs redis-server (or valkey-server) on PATH")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            workdir,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    import redis

    client = redis.Redis(port=port)
    for _ in range(200):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    else:
        proc.kill()
        sys.exit("redis_compare.py: the server did not start")
    version = client.info("server")["redis_version"]
    client.close()
    return proc, port, f"{os.path.basename(binary)} {version}"


def used_memory(client):
    return client.info("memory")["used_memory"]


def make_stores(port):
    import redis
    from langchain_community.storage import RedisStore as LangChainRedisStore

    from memstore.redis import RedisStore

    mem_client = redis.Redis(port=port, db=MEMSTORE_DB)
    lc_client = redis.Redis(port=port, db=LANGCHAIN_DB)
    ours = RedisStore(mem_client, namespace="bench")
    theirs = LangChainRedisStore(client=lc_client)
    return ours, theirs, mem_client, lc_client


def fill(store, pairs):
    t0 = time.perf_counter()
    for start in range(0, len(pairs), FILL_BATCH):
        store.mset(pairs[start : start + FILL_BATCH])
    return time.perf_counter() - t0


def run_size(port, n, cfg, log):
    ds = W.make_dataset("chat", n)
    pairs = [(k, k.encode()[-16:]) for k in ds.keys]
    ours, theirs, mem_client, lc_client = make_stores(port)
    mem_client.flushall()
    base = used_memory(mem_client)
    t_ours = fill(ours, pairs)
    after_ours = used_memory(mem_client)
    t_theirs = fill(theirs, pairs)
    after_theirs = used_memory(mem_client)
    log(f"  filled {n:,} keys: memstore {t_ours:.1f} s, LangChain {t_theirs:.1f} s")
    rows = [("fill (mset in batches of 10,000)", t_ours * 1e9, t_theirs * 1e9, n)]
    memory = ((after_ours - base) / n, (after_theirs - after_ours) / n)

    # Same answers first.
    for label, (p, c) in ds.prefixes.items():
        first = bisect.bisect_left(ds.sorted_keys, p)
        want = ds.sorted_keys[first : first + c]
        got_ours = list(ours.yield_keys(prefix=p))
        got_theirs = sorted(theirs.yield_keys(prefix=p + "*"))
        assert got_ours == want, f"memstore differs on {label}"
        assert got_theirs == want, f"LangChain differs on {label}"
        assert ours.count(p) == c
    q = ds.present_q
    assert ours.mget(q) == theirs.mget(q)

    timings = []
    for label, (p, c) in ds.prefixes.items():
        timings.append(
            (
                f"yield_keys {label} ({c:,})",
                c,
                "list(s.yield_keys(prefix=p))",
                "list(t.yield_keys(prefix=pat))",
                {"p": p, "pat": p + "*"},
            )
        )
    for label, (p, c) in ds.prefixes.items():
        if label in ("~1", "~100", "~10,000"):
            timings.append(
                (
                    f"count {label} ({c:,})",
                    None,
                    "s.count(p)",
                    "sum(1 for _ in t.yield_keys(prefix=pat))",
                    {"p": p, "pat": p + "*"},
                )
            )
    timings.append(("mget 1,000 present", 1000, "s.mget(q)", "t.mget(q)", {"q": q}))
    overwrite = pairs[:1000]
    timings.append(
        ("mset 1,000 (overwrites)", 1000, "s.mset(w)", "t.mset(w)", {"w": overwrite})
    )
    for label, per, ours_stmt, theirs_stmt, ns in timings:
        cases = {
            "memstore": compile_timer(ours_stmt, {"s": ours, **ns}),
            "LangChain": compile_timer(theirs_stmt, {"t": theirs, **ns}),
        }
        got = measure(cases, cfg)
        rows.append((label, got["memstore"][0], got["LangChain"][0], per))
        log(
            f"  {label}: memstore {fmt_ns(got['memstore'][0])}, "
            f"LangChain {fmt_ns(got['LangChain'][0])} "
            f"({got['LangChain'][0] / got['memstore'][0]:,.1f}x)"
        )
    mem_client.close()
    lc_client.close()
    return rows, memory


def markdown(results, memory, server, took):
    out = [
        f"## memstore.redis vs LangChain community's RedisStore: "
        f"`python benchmarks/redis_compare.py {' '.join(sys.argv[1:])}`",
        "",
        f"{server} on loopback, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs; chat keys, medians of interleaved repetitions; "
        f"run took {took:.0f} s.",
        "",
    ]
    for n, rows in results.items():
        out += [
            f"### {n:,} keys",
            "",
            "| operation | memstore RedisStore | LangChain RedisStore | LangChain ÷ memstore |",
            "|---|---|---|---|",
        ]
        for label, ours, theirs, _ in rows:
            out.append(
                f"| {label} | {fmt_ns(ours)} | {fmt_ns(theirs)} | "
                f"{fmt_ratio(theirs / ours)} |"
            )
        ours_b, theirs_b = memory[n]
        out += [
            "",
            f"Server memory (used_memory delta per key): memstore {ours_b:.0f} B "
            f"(value + lex index), LangChain {theirs_b:.0f} B "
            f"({ours_b / theirs_b:.2f}x).",
            "",
        ]
    return "\n".join(out)


def plot(results, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = sorted(results)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, prefix in zip(axes, ("yield_keys ~100", "count ~100")):
        for system, column, colour in (
            ("memstore RedisStore (lex index)", 1, "tab:blue"),
            ("LangChain RedisStore (SCAN MATCH)", 2, "tab:red"),
        ):
            ys = []
            for n in sizes:
                row = next(r for r in results[n] if r[0].startswith(prefix + " "))
                ys.append(row[column] / 1e6)
            ax.plot(sizes, ys, "o-", label=system, color=colour)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("keys in the store")
        ax.set_ylabel("ms per call")
        ax.set_title(f"Redis: {prefix} matches")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000]
    )
    ap.add_argument(
        "--quick", action="store_true", help="10^4 and 10^5 keys, fewer repetitions"
    )
    ap.add_argument("--plot", metavar="PNG")
    ap.add_argument("--md", metavar="FILE")
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    cfg = Cfg()
    cfg.reps = 5
    # A SCAN of 10^6 keys takes seconds: give each slow call a few samples.
    cfg.budget_ns = 20_000_000_000
    if args.quick:
        args.sizes = [s for s in args.sizes if s <= 100_000] or [10_000]
        cfg.reps = 3
        cfg.budget_ns = 2_000_000_000
    started = time.time()
    results, memory = {}, {}
    with tempfile.TemporaryDirectory() as workdir:
        proc, port, server = start_server(workdir)
        try:
            for n in args.sizes:
                print(f"== {n:,} chat keys", flush=True)
                results[n], memory[n] = run_size(
                    port, n, cfg, lambda s: print(s, flush=True)
                )
        finally:
            proc.terminate()
            proc.wait(10)
    md = markdown(results, memory, server, time.time() - started)
    print()
    print(md)
    if args.md:
        with open(args.md, "w") as f:
            f.write(md + "\n")
    if args.plot:
        plot(results, args.plot)
        print(f"plot written to {args.plot}")


if __name__ == "__main__":
    main()
