"""The floor under a snapshot save: walking the values in key order.

    python benchmarks/save_floor.py [--keys 1000000] [--values dict]

Side by side, on 10^6 chat keys with 100-byte ``bytes`` values (or, with
``--values dict``, small dicts ``{"role": ..., "content": ...}``, which a
save pickles in groups), against ``pickle.dump`` of the same data as a dict
(protocol 5), all written to a sink that discards the bytes:

* ``save`` of a store built by ``mset`` in random key order;
* the walk alone: ``values()`` of that store (reads every value in key
  order, writes nothing);
* the same two on a store laid out by ``load`` (nodes in key order).

A save cannot take less than its walk.  ``pickle.dump`` reads its values in
the order they were created, while the walk of a randomly built store finds
consecutive keys' values far apart in memory (the save prefetches them
ahead; the walk alone does not), and a loaded store walks an order of
magnitude faster.  With dict values the save also waits on what each dict
points to, which it prefetches before pickling a group.
"""

from __future__ import annotations

import argparse
import gc
import io
import os
import pickle
import random
import time

from memstore import InMemoryByteStore, TrieStore


class Discard:
    def write(self, data: bytes) -> int:
        return len(data)


def best(run, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--values", choices=("bytes", "dict"), default="bytes")
    args = parser.parse_args()
    n = args.keys
    keys = [f"user:{i % 1000}:thread:{(i // 1000) % 100}:msg:{i:08d}" for i in range(n)]
    random.seed(1)
    random.shuffle(keys)
    if args.values == "bytes":
        values = [os.urandom(100) for _ in range(n)]
        kind, store_class = "100-byte values", InMemoryByteStore
    else:
        roles = ("user", "assistant", "system")
        values = [
            {
                "role": roles[i % 3],
                "content": f"message {i}: {random.getrandbits(40):x}",
            }
            for i in range(n)
        ]
        kind, store_class = "small dict values", TrieStore
    as_dict = dict(zip(keys, values))
    built = store_class()
    for i in range(0, n, 1000):
        built.mset(list(zip(keys[i : i + 1000], values[i : i + 1000])))
    buffer = io.BytesIO()
    built.save(buffer)
    loaded = store_class.load(io.BytesIO(buffer.getvalue()))
    del buffer

    def walk(store) -> None:
        for _ in store.values():
            pass

    dump = best(lambda: pickle.dump(as_dict, Discard(), 5), args.repeat)
    rows = [
        ("save, store built by mset in random order", lambda: built.save(Discard())),
        ("values() walk, same store", lambda: walk(built)),
        ("save, store laid out by load", lambda: loaded.save(Discard())),
        ("values() walk, same store", lambda: walk(loaded)),
    ]
    print(f"{n:,} keys, {kind}; pickle.dump of the dict: {dump * 1e3:.0f} ms")
    for name, run in rows:
        print(f"  {name:45} {best(run, args.repeat) / dump:.3f}x pickle.dump's time")


if __name__ == "__main__":
    main()
