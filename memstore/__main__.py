"""``python -m memstore``: a short tour of the API, then memstore against a
dict scan on chat-style keys.

    python -m memstore               # 1,000,000 keys, about 15-30 s
    python -m memstore --keys 100000 # quicker

The comparison builds the same keys ``message:<session>:<n>`` (seeded; up to
200 messages per session) in a dict and in a TrieStore, then times listing by
prefix (a dict has to scan every key), batch lookups and memory per key.
The README's benchmark section has the fuller, rerunnable benchmarks in
``benchmarks/``.
"""

from __future__ import annotations

import argparse
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence

from memstore import TrieStore


def demo() -> None:
    print("== memstore in a few lines\n")
    store: TrieStore[str] = TrieStore()
    pairs = [("message:s1:1", "hi"), ("message:s1:2", "hello"), ("message:s2:1", "yo")]
    store.mset(pairs)
    # Every line the demo runs is shown, so it can be pasted as it is.
    shown = [
        ("from memstore import TrieStore", None),
        ("store = TrieStore()", None),
        (f"store.mset({pairs!r})", None),
        (
            'store.mget(["message:s1:1", "missing"])',
            store.mget(["message:s1:1", "missing"]),
        ),
        (
            'list(store.yield_keys(prefix="message:s1:"))',
            list(store.yield_keys(prefix="message:s1:")),
        ),
        ('store.count("message:")', store.count("message:")),
        (
            'store.longest_prefix("message:s1:1:attachment")',
            store.longest_prefix("message:s1:1:attachment"),
        ),
        (
            'list(store.yield_keys(prefix="message:", start_after="message:s1:2", limit=10))',
            list(
                store.yield_keys(
                    prefix="message:", start_after="message:s1:2", limit=10
                )
            ),
        ),
        (
            "list(store.yield_keys(reverse=True, limit=2))",
            list(store.yield_keys(reverse=True, limit=2)),
        ),
        ('store.delete_prefix("message:s1:")', store.delete_prefix("message:s1:")),
        ("list(store.items())", list(store.items())),
    ]
    for code, result in shown:
        print(f">>> {code}")
        if result is not None:
            print(repr(result))
    print()


# ----------------------------------------------------------------- comparison


def chat_keys(n: int, seed: int) -> tuple[list[str], list[int]]:
    """n keys message:<session>:<i>, sessions of 1..200 messages; returns the
    keys (in insertion order: sessions shuffled) and each session's size."""
    rng = random.Random(seed)
    sizes: list[int] = []
    total = 0
    while total < n:
        size = min(rng.randint(1, 200), n - total)
        sizes.append(size)
        total += size
    keys = [
        f"{session_prefix(sid, len(sizes))}{i}"
        for sid, size in enumerate(sizes)
        for i in range(1, size + 1)
    ]
    rng.shuffle(keys)
    return keys, sizes


def session_prefix(sid: int, sessions: int) -> str:
    """``message:s<sid>:`` with sid zero-padded to at least 5 digits, so
    ``message:s000`` covers sessions 0-99 (about 10,000 keys)."""
    width = max(5, len(str(sessions - 1)))
    return f"message:s{sid:0{width}d}:"


def median_time(
    fn: Callable[[], object], budget: float = 0.25, repeat: int = 5
) -> float:
    """Median seconds per call of fn, over `repeat` samples of enough calls
    to take about budget / repeat seconds each."""
    t0 = time.perf_counter()
    fn()
    once = max(time.perf_counter() - t0, 1e-7)
    loops = max(1, int(budget / repeat / once))
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(loops):
            fn()
        samples.append((time.perf_counter() - t0) / loops)
    return statistics.median(samples)


def fmt_time(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def fmt_ratio(ratio: float) -> str:
    return f"{ratio:,.0f}x" if ratio >= 10 else f"{ratio:.1f}x"


def compare_times(t_store: float, t_dict: float) -> str:
    """The TrieStore's time next to the dict's, in words: "1.21x slower"
    rather than a bare ratio whose direction the reader has to guess."""
    ratio = t_store / t_dict
    if ratio >= 1.005:
        return f"{ratio:.2f}x slower"
    if ratio <= 1 / 1.005:
        return f"{1 / ratio:.2f}x faster"
    return "same time"


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows)]
    line = "  ".join(
        f"{{:<{w}}}" if i == 0 else f"{{:>{w}}}" for i, w in enumerate(widths)
    )
    print(line.format(*header))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print(line.format(*row))
    print()


def compare(n: int, seed: int) -> None:
    print(f"== memstore vs dict on {n:,} chat keys (message:<session>:<n>)")
    print(
        f"   Python {platform.python_version()} on {platform.machine()} {platform.system()}; seed {seed}\n"
    )

    t0 = time.perf_counter()
    keys, sizes = chat_keys(n, seed)
    gen_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    d = dict.fromkeys(keys, "text")
    dict_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    store: TrieStore[str] = TrieStore()
    store.mset(zip(keys, ["text"] * len(keys)))
    store_s = time.perf_counter() - t0
    print(
        f"built in: keys {gen_s:.2f} s, dict {dict_s:.2f} s, TrieStore {store_s:.2f} s\n"
    )

    # Prefixes matching about 1, 100 and 10,000 keys.
    mid = min(range(len(sizes)), key=lambda s: abs(sizes[s] - 100))
    session = session_prefix(mid, len(sizes))
    prefixes = [f"{session}{sizes[mid]}", session, session_prefix(0, len(sizes))[:-3]]

    rows = []
    for p in prefixes:
        expected = sorted(k for k in d if k.startswith(p))
        got = list(store.yield_keys(prefix=p))
        if got != expected:
            raise SystemExit(
                f"mismatch for prefix {p!r}: {len(got)} vs {len(expected)} keys"
            )

        def dict_scan(p: str = p) -> list[str]:
            return [k for k in d if k.startswith(p)]

        def trie_listing(p: str = p) -> list[str]:
            return list(store.yield_keys(prefix=p))

        t_dict = median_time(dict_scan)
        t_store = median_time(trie_listing)
        rows.append(
            (
                repr(p),
                f"{len(got):,}",
                fmt_time(t_dict),
                fmt_time(t_store),
                fmt_ratio(t_dict / t_store),
            )
        )
    print("listing keys by prefix (median per call; the dict scans all its keys)")
    table(("prefix", "matches", "dict scan", "TrieStore", "TrieStore speedup"), rows)

    rng = random.Random(seed + 1)
    batch = rng.sample(keys, min(10_000, len(keys))) + [
        f"missing:{i}" for i in range(100)
    ]
    if store.mget(batch) != list(map(d.get, batch)):
        raise SystemExit("mget mismatch")
    t_dict = median_time(lambda: list(map(d.get, batch)))
    t_store = median_time(lambda: store.mget(batch))
    print(f"batch lookup of {len(batch):,} keys (median per call)")
    table(
        ("operation", "dict", "TrieStore", "TrieStore vs dict"),
        [
            (
                "mget vs list(map(d.get, keys))",
                fmt_time(t_dict),
                fmt_time(t_store),
                compare_times(t_store, t_dict),
            )
        ],
    )
    print(
        "   A dict finds each key with one hash probe, the trie walks each key's\n"
        "   bytes: batch lookups stay close to a dict's (a little faster or\n"
        "   slower with the machine and the key length). Prefix listing, above,\n"
        "   is where the trie wins.\n"
    )

    dict_bytes = sys.getsizeof(d) + sum(map(sys.getsizeof, d))
    store_bytes = store.memory_usage()
    print("memory for the keys (values excluded)")
    table(
        ("structure", "bytes per key"),
        [
            ("dict: table + key strings (sys.getsizeof)", f"{dict_bytes / n:.1f}"),
            ("TrieStore: nodes (memory_usage())", f"{store_bytes / n:.1f}"),
        ],
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m memstore",
        # The module docstring is reStructuredText; the terminal gets plain text.
        description=(__doc__ or "").split("\n\n")[0].replace("``", ""),
    )
    parser.add_argument(
        "--keys", type=int, default=1_000_000, help="number of keys (default 1,000,000)"
    )
    parser.add_argument(
        "--seed", type=int, default=2024, help="random seed (default 2024)"
    )
    args = parser.parse_args(argv)
    if args.keys < 1:
        parser.error("--keys must be at least 1")
    demo()
    compare(args.keys, args.seed)


if __name__ == "__main__":
    main()
