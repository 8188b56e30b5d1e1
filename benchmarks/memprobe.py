"""Bytes per key of one system, measured in a fresh process.

    python benchmarks/memprobe.py SYSTEM KEYS_FILE {rss,tracemalloc} [ALPHABET_FILE]

Prints one JSON object.

    python benchmarks/memprobe.py ratio [--sizes N ...] [--repeat R] [--keys-dir DIR]

runs the probe above for memstore on chat keys (benchmarks/workloads.py),
one child process per measurement, and prints how the process's RSS growth
per key compares with ``memory_usage()`` per key: what the operating system
sees against what the store says it holds.  The keys files are generated
once per size into DIR (default: the system's temporary directory) and kept
there for the next run.  ``--python`` runs the children with another
interpreter, ``PYTHONPATH`` picks the build (main's, side by side).  Method (identical for every system):

* The process imports everything, creates the single value object that every
  key will map to (values are shared, so they cost each system only its
  per-key reference), collects garbage, calls malloc_trim(0) and takes the
  baseline: resident set size from /proc/self/statm (``rss``) or
  tracemalloc's traced bytes (``tracemalloc``, started just before).
* Keys are read from KEYS_FILE (one UTF-8 key per line) in chunks of 1,000
  and inserted chunk by chunk with the system's own batch insert, so the
  process never holds more than one chunk of key strings it does not need:
  a system that keeps the key ``str`` objects (dict, SortedDict, pygtrie's
  node dicts, InMemoryStore) is charged for them, one that copies keys into
  its own nodes (memstore, marisa-trie, datrie) is not.
* After the build (the cyclic collector is off during it, as in the timed
  runs): malloc_trim(0), measure again.  The delta divided by the number of
  keys is the result.

tracemalloc sees every allocation made through Python's allocators:
memstore's node pool (its chunks come from PyMem_Malloc, so tracemalloc
counts the chunks, free space included, where memory_usage() counts the
nodes) and every Python object, but not
marisa-trie's or datrie's C/C++ heaps, so for those two only RSS counts.
"""

from __future__ import annotations

import ctypes
import gc
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import systems  # noqa: E402
from workloads import iter_keys_file  # noqa: E402

CHUNK = 1000
PAGE = os.sysconf("SC_PAGE_SIZE")

try:
    _trim = ctypes.CDLL("libc.so.6").malloc_trim
except OSError:  # not glibc
    _trim = None


def settle(collect=True):
    if collect:
        gc.collect()
    if _trim is not None:
        _trim(0)


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


def keys_file_for(workload: str, n: int, keys_dir: str) -> str:
    """The path of a file with the first n keys of the workload, one a line
    (written once, then reused)."""
    from workloads import generate

    path = os.path.join(keys_dir, f"memstore-{workload}-{n}.keys")
    if not os.path.exists(path):
        keys = generate(workload, n)[:n]
        tmp = path + f".{os.getpid()}.tmp"
        with open(tmp, "w", encoding="utf-8", newline="\n") as f:
            for k in keys:
                f.write(k)
                f.write("\n")
        os.replace(tmp, path)
    return path


def ratio_main(argv):
    import argparse
    import statistics
    import subprocess
    import tempfile

    ap = argparse.ArgumentParser(prog="memprobe.py ratio")
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--workload", default="chat")
    ap.add_argument("--keys-dir", default=tempfile.gettempdir())
    ap.add_argument("--python", default=sys.executable)
    a = ap.parse_args(argv)
    for n in a.sizes:
        kf = keys_file_for(a.workload, n, a.keys_dir)
        runs = []
        for _ in range(a.repeat):
            out = subprocess.run(
                [a.python, os.path.abspath(__file__), "memstore", kf, "rss"],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            r = json.loads(out)
            if "error" in r:
                raise SystemExit(f"{n}: {r['error']}")
            runs.append(r)
            print(
                f"  {a.workload} {n:>11,}: RSS {r['bytes_per_key']:6.1f} B/key,"
                f" memory_usage {r['memory_usage_per_key']:6.1f} B/key,"
                f" ratio {r['bytes_per_key'] / r['memory_usage_per_key']:.3f},"
                f" build {r['build_s']:.2f} s",
                flush=True,
            )
        ratios = [r["bytes_per_key"] / r["memory_usage_per_key"] for r in runs]
        print(
            f"{a.workload} {n:,}: RSS / memory_usage per key: median"
            f" {statistics.median(ratios):.3f} (runs {min(ratios):.3f}..{max(ratios):.3f});"
            f" memory_usage {runs[0]['memory_usage_per_key']:.1f} B/key",
            flush=True,
        )


def main():
    if sys.argv[1:2] == ["ratio"]:
        ratio_main(sys.argv[2:])
        return
    name, keys_file, mode = sys.argv[1:4]
    system = next(s for s in systems.make([name]))
    if system.error:
        print(json.dumps({"system": name, "error": system.error}))
        return

    class _DS:  # what prepare() needs
        alphabet = ""

    if len(sys.argv) > 4:
        with open(sys.argv[4], encoding="utf-8") as f:
            _DS.alphabet = f.read()
    system.prepare(_DS)
    # import the library (and what it imports) before the baseline
    system.build([("a", None)] if name != "datrie" else [])

    value = object()

    def chunks():
        buf = []
        for k in iter_keys_file(keys_file):
            buf.append((k, value))
            if len(buf) == CHUNK:
                yield buf
                buf = []
        if buf:
            yield buf

    n = sum(1 for _ in iter_keys_file(keys_file))
    settle()
    if mode == "tracemalloc":
        import tracemalloc

        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
    else:
        before = rss()
    gc.disable()  # as in the timed runs; millions of objects otherwise
    t0 = time.perf_counter()  # trigger collection after collection
    h = system.build_stream(chunks())
    build_s = time.perf_counter() - t0
    # No collection after the build: building makes no cyclic garbage, and a
    # full collection over pygtrie's tens of millions of nodes takes a minute.
    settle(collect=False)  # (the collector stays off: re-enabling it would
    # start that full collection at the next allocation)
    if mode == "tracemalloc":
        after = tracemalloc.get_traced_memory()[0]
    else:
        after = rss()
    out = {
        "system": name,
        "mode": mode,
        "n": n,
        "bytes": after - before,
        "bytes_per_key": (after - before) / n,
        "build_s": build_s,
    }
    if name == "memstore":
        out["memory_usage"] = h.memory_usage()
        out["memory_usage_per_key"] = h.memory_usage() / n
        if len(h) != n:
            out["error"] = f"len {len(h)} != {n}"
    if name == "dict":
        # the analytic figure: the table plus every key string it holds
        out["getsizeof_per_key"] = (sys.getsizeof(h) + sum(map(sys.getsizeof, h))) / n
    print(json.dumps(out), flush=True)
    # skip freeing millions of objects one by one at interpreter exit
    os._exit(0)


if __name__ == "__main__":
    main()
