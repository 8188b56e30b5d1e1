"""What any store that keeps no ``str`` per key must pay to list keys:
building a new ``str`` for each one.

    python benchmarks/floors.py [--keys 1000000]

memstore keeps each key once, as UTF-8 bytes in its tree (its memory win);
a listing therefore makes one new ``str`` per key.  SortedDict (and a dict)
hand out the ``str`` objects they already hold.  This script times, side by
side in one process on the chat keys of benchmarks/workloads.py:

* making N new key-sized ``str`` objects from bytes that sit in cache and
  keeping them in a list (what ``list(store.yield_keys())`` must at least
  do), the same when each is dropped at once, and the same loop making no
  object (its call overhead, to subtract);
* ``list(store.yield_keys())`` and ``SortedDict``'s ``list(sd)``;
* for a ~100-key prefix: memstore's ``list(yield_keys(prefix=p))``,
  ``SortedDict.irange``, and ``str.split`` making the same keys as new
  ``str`` objects in one C loop; then the budget behind the "2x
  SortedDict" target: the same walk listing values (no new ``str``), a
  ``list(iter(tuple))`` of the same keys (the cheapest listing of objects
  that exist), and from them what a listing would cost if the walk were
  free;
* the memory side of keeping a ``str`` per key instead: its bytes per key
  against a dict's whole footprint per key;
* the cost of ``async for`` itself: the same stored values (no new objects)
  listed through the sync iterator and through the async iterator that
  ``ayield_keys`` uses, each in a comprehension.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import gc
import os
import random
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import workloads as W  # noqa: E402

from memstore import TrieStore  # noqa: E402


def per_item(fn, items, reps):
    times = []
    for _ in range(reps):
        t0 = time.perf_counter_ns()
        result = fn()
        times.append(time.perf_counter_ns() - t0)
        del result
    return statistics.median(times) / items


def per_call(fn, reps, loops):
    times = []
    for _ in range(reps):
        t0 = time.perf_counter_ns()
        for _ in range(loops):
            fn()
        times.append((time.perf_counter_ns() - t0) / loops)
    return statistics.median(times)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--keys", type=int, default=1_000_000)
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args(argv)
    from sortedcontainers import SortedDict

    n = args.keys
    keys = W.generate("chat", n)[:n]
    store = TrieStore((k, None) for k in keys)
    sd = SortedDict((k, None) for k in keys)
    sorted_keys = sorted(keys)
    p, c = W.pick_prefix(sorted_keys, 100, random.Random(1))
    first = bisect.bisect_left(sorted_keys, p)
    joined = "\n".join(sorted_keys[first : first + c])
    key_bytes = max(keys, key=len).encode()
    same = [key_bytes] * n
    gc.disable()

    rows = [
        (
            f"new str per key, kept in a list ({n:,})",
            "ns/key",
            per_item(lambda: list(map(bytes.decode, same)), n, args.reps),
        ),
        (
            f"new str per key, dropped at once ({n:,})",
            "ns/key",
            per_item(lambda: [0 for _ in map(bytes.decode, same)][:0], n, args.reps),
        ),
        (
            "the same loop calling bytes.__len__ (call and list overhead, no new object)",
            "ns/key",
            per_item(lambda: list(map(bytes.__len__, same)), n, args.reps),
        ),
        (
            "memstore list(store.yield_keys())",
            "ns/key",
            per_item(lambda: list(store.yield_keys()), n, args.reps),
        ),
        ("SortedDict list(sd)", "ns/key", per_item(lambda: list(sd), n, args.reps)),
        # CPython's own C loop making the same keys as new strs, for scale.
        (
            f"str.split making the same {c} keys as new strs",
            "ns/call",
            per_call(lambda: joined.split("\n"), args.reps, 20_000),
        ),
        (
            f"memstore list(yield_keys(prefix)), {c} keys",
            "ns/call",
            per_call(lambda: list(store.yield_keys(prefix=p)), args.reps, 20_000),
        ),
        (
            f"SortedDict list(irange(prefix range)), {c} keys",
            "ns/call",
            per_call(
                lambda: list(sd.irange(p, W.prefix_upper(p), inclusive=(True, False))),
                args.reps,
                20_000,
            ),
        ),
    ]
    # The budget of the 2x-SortedDict target, side by side: `keys - values`
    # is what building (and freeing) one str per key costs in memstore's
    # own listing; a tuple listing is the protocol cost with existing
    # objects; their sum is a listing whose walk costs nothing.
    prefix_keys = tuple(sorted_keys[first : first + c])
    loops = 20_000
    t_keys = per_call(lambda: list(store.yield_keys(prefix=p)), args.reps, loops)
    t_values = per_call(lambda: list(store.values(prefix=p)), args.reps, loops)
    t_tuple = per_call(lambda: list(iter(prefix_keys)), args.reps, loops)
    t_sorted = per_call(
        lambda: list(sd.irange(p, W.prefix_upper(p), inclusive=(True, False))),
        args.reps,
        loops,
    )
    str_per_key = (t_keys - t_values) / c
    free_walk = t_tuple + (t_keys - t_values)
    rows += [
        (
            f"memstore list(values(prefix)), {c} items: the walk and the protocol, no new str",
            "ns/call",
            t_values,
        ),
        (
            f"list(iter(tuple of the same {c} keys)): the cheapest listing of existing objects",
            "ns/call",
            t_tuple,
        ),
        (
            "memstore keys - values: one new str per key, made and freed",
            "ns/key",
            str_per_key,
        ),
        (
            "a listing whose walk costs nothing: tuple listing + the new strs",
            "ns/call",
            free_walk,
        ),
        (
            "SortedDict (same run) / that listing: the ceiling for a listing making a new str per key",
            "x",
            t_sorted / free_walk,
        ),
        ("SortedDict / memstore keys (same run)", "x", t_sorted / t_keys),
    ]
    # Keeping a str per key (so a listing copies pointers) instead: the
    # str objects alone, against a dict's whole footprint (table + keys).
    str_bytes = sum(map(sys.getsizeof, keys)) / n
    dict_bytes = (
        sys.getsizeof(dict.fromkeys(keys)) + sum(map(sys.getsizeof, keys))
    ) / n
    rows += [
        ("bytes per key of one str per key (sys.getsizeof)", "B/key", str_bytes),
        ("a dict's bytes per key (table + key strs)", "B/key", dict_bytes),
        (
            "one str per key alone, as a share of the dict (memory target: <= 0.4x in all)",
            "x",
            str_bytes / dict_bytes,
        ),
    ]
    # The async machinery alone: the same values (existing objects, no new
    # str) listed by the sync iterator and by the async iterator ayield_keys
    # is built on; the difference is what every awaited item costs.
    from memstore._core import AsyncStoreIterator

    big_p, big_c = W.pick_prefix(sorted_keys, 10_000, random.Random(2))
    loop = asyncio.new_event_loop()

    async def drain_async():
        return [v async for v in AsyncStoreIterator(store.values(prefix=big_p), 1024)]

    rows += [
        (
            f"values(prefix), {big_c:,} items: sync list comprehension",
            "ns/item",
            per_item(lambda: list(store.values(prefix=big_p)), big_c, args.reps * 4),
        ),
        (
            "same values through the async iterator, async comprehension",
            "ns/item",
            per_item(
                lambda: loop.run_until_complete(drain_async()), big_c, args.reps * 4
            ),
        ),
    ]
    print(
        f"Python {sys.version.split()[0]}, {n:,} chat keys, prefix {p!r} ({c} keys), "
        f"medians of {args.reps}"
    )
    print()
    print("| measurement | time | |")
    print("|---|---|---|")
    for label, unit, value in rows:
        print(
            f"| {label} | {value:,.2f} | {unit} |"
            if unit == "x"
            else f"| {label} | {value:,.1f} | {unit} |"
        )


if __name__ == "__main__":
    main()
