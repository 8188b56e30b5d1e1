"""The floor under a snapshot save: walking the values in key order.

    python benchmarks/save_floor.py [--keys 1000000]

Side by side, on 10^6 chat keys with 100-byte ``bytes`` values, against
``pickle.dump`` of the same data as a dict (protocol 5), all written to a
sink that discards the bytes:

* ``save`` of a store built by ``mset`` in random key order;
* the walk alone: ``values()`` of that store (reads every value in key
  order, writes nothing);
* the same two on a store laid out by ``load`` (nodes in key order).

A save cannot take less than its walk: when the walk of a randomly built
store already costs about 0.3x of ``pickle.dump`` (which reads its values
in the order they were created), a save at 0.33x is out of reach for it,
while a loaded store walks an order of magnitude faster.
"""

from __future__ import annotations

import argparse
import gc
import io
import os
import pickle
import random
import time

from memstore import InMemoryByteStore


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
    args = parser.parse_args()
    n = args.keys
    keys = [f"user:{i % 1000}:thread:{(i // 1000) % 100}:msg:{i:08d}" for i in range(n)]
    random.seed(1)
    random.shuffle(keys)
    values = [os.urandom(100) for _ in range(n)]
    as_dict = dict(zip(keys, values))
    built = InMemoryByteStore()
    for i in range(0, n, 1000):
        built.mset(list(zip(keys[i : i + 1000], values[i : i + 1000])))
    buffer = io.BytesIO()
    built.save(buffer)
    loaded = InMemoryByteStore.load(io.BytesIO(buffer.getvalue()))
    del buffer

    def walk(store: InMemoryByteStore) -> None:
        for _ in store.values():
            pass

    dump = best(lambda: pickle.dump(as_dict, Discard(), 5), args.repeat)
    rows = [
        ("save, store built by mset in random order", lambda: built.save(Discard())),
        ("values() walk, same store", lambda: walk(built)),
        ("save, store laid out by load", lambda: loaded.save(Discard())),
        ("values() walk, same store", lambda: walk(loaded)),
    ]
    print(f"{n:,} keys, 100-byte values; pickle.dump of the dict: {dump * 1e3:.0f} ms")
    for name, run in rows:
        print(f"  {name:45} {best(run, args.repeat) / dump:.3f}x pickle.dump's time")


if __name__ == "__main__":
    main()
