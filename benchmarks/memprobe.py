"""Bytes per key of one system, measured in a fresh process.

    python benchmarks/memprobe.py SYSTEM KEYS_FILE {rss,tracemalloc} [ALPHABET_FILE]

Prints one JSON object.  Method (identical for every system):

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
memstore's nodes (PyMem_Malloc) and every Python object, but not
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


def main():
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
