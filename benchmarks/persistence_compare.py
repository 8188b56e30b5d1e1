"""memstore's persistence against pickle and the persistent stores a user
would pick instead, side by side in one run (issue 13).

    python benchmarks/persistence_compare.py [--keys 1000000] [--quick]
        [--out results.json] [--plot benchmarks/results/persistence.png]
        [--md benchmarks/results/persistence.md] [--dir DIR]

Sections (every one on the chat keys of benchmarks/workloads.py):

1. Snapshots: ``store.save(path)`` against ``pickle.dump`` of the same data
   as a dict (protocol 5), ``TrieStore.load`` against ``pickle.load``, with
   100-byte ``bytes`` values and with small dict values
   (``{"role": ..., "content": ...}``, which memstore pickles).  A path save
   is atomic and fsynced by contract, so pickle's file is fsynced too
   (``+ fsync`` rows); the rows without fsync save into an open file
   object, which is what the CPU targets are about.  File sizes, and the
   key bytes per key: the same keys saved with empty values, whose records
   cost 2 bytes beyond the key (rflags, value_len: the format page).
2. Journaled ``mset`` of 1,000-pair batches: plain ``TrieStore().mset``,
   ``TrieStore.open(d, fsync="no")`` and ``fsync="always"``, and SQLite in
   WAL mode with ``synchronous=FULL`` committing the same batches one
   transaction each.  The journal keeps its default automatic checkpoints.
3. Against LMDB, SQLite (key TEXT PRIMARY KEY) and rocksdict, all holding
   the same keys and 100-byte values: open-to-first-read (the page cache is
   warm for all: each file was just written), ``get`` of random stored keys
   and ~100-key prefix listings returning keys and values as ``str`` and
   ``bytes``.  memstore is the store loaded from its snapshot.
4. Full listing of the loaded store against one built by ``mset`` in random
   order, and the floor of any listing that makes a new ``str`` per key
   (benchmarks/floors.py): ``bytes.decode`` of a key-sized bytes per key.

Method: time.perf_counter; systems measured in turn, repetition after
repetition, each repetition starting with the next system (interleaved, so a
slow spell of a shared machine hits all alike); whole-file operations report
the best of --reps, per-call operations the median.  The cyclic GC is off
while timing.  Files live in a temporary directory on the real disk (--dir;
not /dev/shm, where fsync is free).  Answers are checked against the dict
before anything is timed.  LMDB and rocksdict are optional: without their
package a line says so and their rows are left out.  memstore's rows never
are: a memstore without persistence fails the run, unless --no-memstore
asks (loudly) to run the peers alone.
"""

from __future__ import annotations

import argparse
import bisect
import gc
import json
import os
import pickle
import platform
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import workloads as W  # noqa: E402

import memstore  # noqa: E402
from memstore import TrieStore  # noqa: E402

clock = time.perf_counter
BATCH = 1000  # pairs per journaled mset batch
PREFIX_TARGET = 100
VALUE_BYTES = 100


# -------------------------------------------------------------- data


def chat_keys(n: int) -> list[str]:
    return W.generate("chat", n)[:n]


def bytes_values(n: int) -> list[bytes]:
    blob = random.Random(f"values/{n}").randbytes(VALUE_BYTES * n)
    return [blob[i : i + VALUE_BYTES] for i in range(0, VALUE_BYTES * n, VALUE_BYTES)]


def dict_values(n: int) -> list[dict]:
    r = random.Random(f"dicts/{n}")
    roles = ("user", "assistant", "system")
    return [
        {
            "role": roles[r.randrange(3)],
            "content": f"message {i}: {r.getrandbits(40):x}",
        }
        for i in range(n)
    ]


def prefixes(sorted_keys: list[str], count: int) -> list[str]:
    """``count`` prefixes, each matching about PREFIX_TARGET keys (whole
    chat sessions when one is close enough)."""
    r = random.Random("prefixes")
    target = min(PREFIX_TARGET, len(sorted_keys))
    return [W.pick_prefix(sorted_keys, target, r, samples=40)[0] for _ in range(count)]


# ------------------------------------------------------------- timing


def interleaved(cases: dict, reps: int, pick=min) -> dict:
    """cases: {name: fn() -> seconds of one sample (per op)}.  Runs reps
    rounds, each starting with the next system; returns {name: pick(samples)}."""
    names = list(cases)
    samples: dict = {name: [] for name in names}
    gc.disable()
    try:
        for rep in range(reps):
            for name in names[rep % len(names) :] + names[: rep % len(names)]:
                samples[name].append(cases[name]())
                gc.collect()  # untimed: garbage of one system is not the next's cost
    finally:
        gc.enable()
    return {name: pick(times) for name, times in samples.items()}


def per_call(fn, args_list):
    """A sample: fn over every argument, seconds per call.  An untimed pass
    first, so each sample starts with the caches as this system leaves them,
    not as the system measured before it did (as in compare.py)."""

    def sample():
        for a in args_list:
            fn(a)
        t0 = clock()
        for a in args_list:
            fn(a)
        return (clock() - t0) / len(args_list)

    return sample


def fsync_file(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# ------------------------------------------------------- optional peers


def optional(module: str, why: str):
    try:
        return __import__(module)
    except ImportError:
        print(
            f"** {module} is not installed: its rows are left out ({why}; "
            f"pip install {module}, or the bench extra)"
        )
        return None


# ------------------------------------------------------------ section 1


def section_snapshots(work, keys, value_sets, reps, report):
    """save/load against pickle, per value kind; sizes; key bytes per key."""
    for kind, values in value_sets.items():
        data = dict(zip(keys, values))
        store = TrieStore(data.items())
        snap = os.path.join(work, f"snap-{kind}.mst")
        pick = os.path.join(work, f"dict-{kind}.pickle")
        snap_nofsync = os.path.join(work, f"snap-{kind}-file.mst")

        def save_path(store=store, snap=snap):
            t0 = clock()
            store.save(snap)
            return clock() - t0

        def save_file(store=store, path=snap_nofsync):
            t0 = clock()
            with open(path, "wb") as f:
                store.save(f)
            return clock() - t0

        def pickle_fsync(data=data, pick=pick):
            t0 = clock()
            with open(pick, "wb") as f:
                pickle.dump(data, f, protocol=5)
                f.flush()
                os.fsync(f.fileno())
            return clock() - t0

        def pickle_file(data=data, pick=pick):
            t0 = clock()
            with open(pick, "wb") as f:
                pickle.dump(data, f, protocol=5)
            return clock() - t0

        saves = interleaved(
            {
                "memstore save(path), atomic + fsync": save_path,
                "pickle.dump + fsync": pickle_fsync,
                "memstore save(file object)": save_file,
                "pickle.dump": pickle_file,
            },
            reps,
        )

        def load(snap=snap):
            t0 = clock()
            loaded = TrieStore.load(snap)
            elapsed = clock() - t0
            del loaded
            return elapsed

        def unpickle(pick=pick):
            t0 = clock()
            with open(pick, "rb") as f:
                loaded = pickle.load(f)
            elapsed = clock() - t0
            del loaded
            return elapsed

        # Checked before timed: the snapshot gives back the same store.
        loaded = TrieStore.load(snap)
        assert len(loaded) == len(data) and all(
            loaded[k] == data[k] for k in keys[:: max(1, len(keys) // 1000)]
        ), "the loaded snapshot differs from the saved store"
        del loaded
        loads = interleaved({"memstore load": load, "pickle.load": unpickle}, reps)

        snap_size = os.path.getsize(snap)
        pickle_size = os.path.getsize(pick)
        section = f"snapshots, {kind} values"
        report.row(
            section,
            "save, atomic + fsync",
            saves["memstore save(path), atomic + fsync"],
            saves["pickle.dump + fsync"],
            "s",
            "pickle.dump + fsync",
        )
        report.row(
            section,
            "save to a file object",
            saves["memstore save(file object)"],
            saves["pickle.dump"],
            "s",
            "pickle.dump",
        )
        report.row(
            section,
            "load",
            loads["memstore load"],
            loads["pickle.load"],
            "s",
            "pickle.load",
        )
        report.row(section, "file size", snap_size, pickle_size, "B", "the pickle")
        for path in (snap_nofsync, pick):
            os.remove(path)
        del store, data

    # The keys alone: the same keys with empty values.  Each record then
    # holds the front-coded key plus 2 bytes (rflags, value_len 0).
    empty = TrieStore((k, b"") for k in keys)
    path = os.path.join(work, "keys-only.mst")
    empty.save(path)
    size = os.path.getsize(path)
    os.remove(path)
    raw = sum(len(k.encode()) for k in keys) / len(keys)
    report.row(
        "snapshots, keys",
        "bytes per key, empty values (2 B of record overhead)",
        size / len(keys),
        raw,
        "B/key",
        "the UTF-8 key",
    )
    report.row(
        "snapshots, keys",
        "key bytes per key (front-coded)",
        size / len(keys) - 2,
        raw,
        "B/key",
        "the UTF-8 key",
    )


# ------------------------------------------------------------ section 2


def section_journal(work, keys, values, batches, reps, report, with_memstore):
    pairs = list(zip(keys, values))
    runs = [pairs[i : i + BATCH] for i in range(0, len(pairs), BATCH)][:batches]
    total = sum(len(b) for b in runs)
    counter = [0]

    def fresh_dir(name):
        counter[0] += 1
        d = os.path.join(work, f"{name}-{counter[0]}")
        os.makedirs(d)
        return d

    def plain():
        store = TrieStore()
        t0 = clock()
        for batch in runs:
            store.mset(batch)
        return (clock() - t0) / total

    def journaled(fsync, **options):
        def run():
            d = fresh_dir(f"journal-{fsync}")
            store = TrieStore.open(d, fsync=fsync, **options)
            t0 = clock()
            for batch in runs:
                store.mset(batch)
            elapsed = clock() - t0
            store.close()
            shutil.rmtree(d)
            return elapsed / total

        return run

    def sqlite_full():
        d = fresh_dir("sqlite")
        conn = sqlite3.connect(os.path.join(d, "kv.db"), isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("CREATE TABLE kv (key TEXT PRIMARY KEY, value BLOB) WITHOUT ROWID")
        insert = "INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)"
        t0 = clock()
        for batch in runs:
            conn.execute("BEGIN")
            conn.executemany(insert, batch)
            conn.execute("COMMIT")
        elapsed = clock() - t0
        conn.close()
        shutil.rmtree(d)
        return elapsed / total

    cases = {"plain mset": plain}
    if with_memstore:
        cases['open(fsync="no")'] = journaled("no")
        # The same without automatic checkpoints: the cost of the appends
        # alone (the row above includes the snapshots the journal triggers).
        cases['open(fsync="no", checkpoint_ratio=None)'] = journaled(
            "no", checkpoint_ratio=None
        )
        cases['open(fsync="always")'] = journaled("always")
    cases["SQLite WAL, synchronous=FULL"] = sqlite_full
    # Checked before timed: a journaled store reopens with every pair.
    if with_memstore:
        d = fresh_dir("check")
        with TrieStore.open(d, fsync="no") as store:
            for batch in runs:
                store.mset(batch)
        with TrieStore.open(d, fsync="no") as store:
            assert len(store) == total and store[runs[-1][-1][0]] == runs[-1][-1][1]
        shutil.rmtree(d)
    t = interleaved(cases, reps)
    section = f"journaled mset, {len(runs)} batches of {BATCH:,} pairs"
    report.row(section, "plain TrieStore().mset", t["plain mset"], None, "s/pair")
    if with_memstore:
        report.row(
            section,
            'open(fsync="no") mset',
            t['open(fsync="no")'],
            t["plain mset"],
            "s/pair",
            "plain mset",
        )
        report.row(
            section,
            'open(fsync="no", checkpoint_ratio=None) mset: appends only',
            t['open(fsync="no", checkpoint_ratio=None)'],
            t["plain mset"],
            "s/pair",
            "plain mset",
        )
        report.row(
            section,
            'open(fsync="always") mset',
            t['open(fsync="always")'],
            t["SQLite WAL, synchronous=FULL"],
            "s/pair",
            "SQLite",
        )
    report.row(
        section,
        "SQLite WAL synchronous=FULL, a transaction per batch",
        t["SQLite WAL, synchronous=FULL"],
        None,
        "s/pair",
    )


# ------------------------------------------------------------ section 3


class Peer:
    """One persistent store: how to build it, open it, get and list."""

    name = ""

    def build(self, directory, pairs): ...
    def open(self): ...  # -> handle
    def get(self, handle, key): ...
    def list_prefix(self, handle, prefix, upper): ...  # -> [(str, bytes)]
    def close(self, handle): ...


class LMDBPeer(Peer):
    name = "LMDB"

    def __init__(self, lmdb):
        self.lmdb = lmdb

    def build(self, directory, pairs):
        self.path = os.path.join(directory, "lmdb")
        size = sum(len(k) + len(v) + 64 for k, v in pairs) * 2 + (64 << 20)
        env = self.lmdb.open(self.path, map_size=size)
        with env.begin(write=True) as txn:
            cursor = txn.cursor()
            cursor.putmulti(sorted((k.encode(), v) for k, v in pairs), append=True)
        env.sync(True)
        env.close()

    def open(self):
        env = self.lmdb.open(self.path, readonly=True, lock=False)
        return env, env.begin(buffers=False)

    def get(self, handle, key):
        return handle[1].get(key.encode())

    def list_prefix(self, handle, prefix, upper):
        raw = prefix.encode()
        cursor = handle[1].cursor()
        out = []
        if cursor.set_range(raw):
            for k, v in cursor:
                if not k.startswith(raw):
                    break
                out.append((k.decode(), v))
        return out

    def close(self, handle):
        handle[1].abort()
        handle[0].close()


class SQLitePeer(Peer):
    name = "SQLite"

    def build(self, directory, pairs):
        self.path = os.path.join(directory, "kv.db")
        conn = sqlite3.connect(self.path, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE kv (key TEXT PRIMARY KEY, value BLOB) WITHOUT ROWID")
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO kv VALUES (?, ?)", sorted(pairs))
        conn.execute("COMMIT")
        conn.close()

    def open(self):
        return sqlite3.connect(self.path, isolation_level=None)

    def get(self, handle, key):
        row = handle.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def list_prefix(self, handle, prefix, upper):
        return handle.execute(
            "SELECT key, value FROM kv WHERE key >= ? AND key < ? ORDER BY key",
            (prefix, upper),
        ).fetchall()

    def close(self, handle):
        handle.close()


class RocksPeer(Peer):
    name = "rocksdict"

    def __init__(self, rocksdict):
        self.rocksdict = rocksdict

    def build(self, directory, pairs):
        self.path = os.path.join(directory, "rocks")
        db = self.rocksdict.Rdict(self.path)
        batch = self.rocksdict.WriteBatch()
        for k, v in pairs:
            batch.put(k, v)
        db.write(batch)
        db.flush()
        db.close()

    def open(self):
        return self.rocksdict.Rdict(self.path)

    def get(self, handle, key):
        return handle.get(key)

    def list_prefix(self, handle, prefix, upper):
        it = handle.iter()
        it.seek(prefix)
        out = []
        while it.valid():
            k = it.key()
            if not k.startswith(prefix):
                break
            out.append((k, it.value()))
            it.next()
        return out

    def close(self, handle):
        handle.close()


def section_peers(
    work, keys, values, snapshot, n_gets, n_prefixes, reps, report, with_memstore
):
    data = dict(zip(keys, values))
    sorted_keys = sorted(keys)
    r = random.Random("gets")
    get_keys = [W.fresh(keys[r.randrange(len(keys))]) for _ in range(n_gets)]
    listing = [(p, W.prefix_upper(p)) for p in prefixes(sorted_keys, n_prefixes)]

    peers: list[Peer] = [SQLitePeer()]
    lmdb = optional("lmdb", "LMDB rows")
    if lmdb is not None:
        peers.insert(0, LMDBPeer(lmdb))
    rocksdict = optional("rocksdict", "rocksdict rows")
    if rocksdict is not None:
        peers.append(RocksPeer(rocksdict))
    for peer in peers:
        t0 = clock()
        peer.build(work, list(data.items()))
        print(f"   built {peer.name} in {clock() - t0:.1f} s")

    def expected(p, u):
        lo = bisect.bisect_left(sorted_keys, p)
        hi = bisect.bisect_left(sorted_keys, u) if u is not None else len(sorted_keys)
        return [(k, data[k]) for k in sorted_keys[lo:hi]]

    # Open to first read first, with no other handle open: RocksDB refuses
    # a second open of a database in one process, and LMDB advises against
    # opening an environment twice.
    first_key = get_keys[0]
    open_cases = {}
    if with_memstore:

        def memstore_open():
            t0 = clock()
            s = TrieStore.load(snapshot)
            s.get(first_key)
            elapsed = clock() - t0
            del s
            return elapsed

        open_cases["memstore"] = memstore_open
    for peer in peers:

        def open_first(peer=peer):
            t0 = clock()
            h = peer.open()
            peer.get(h, first_key)
            elapsed = clock() - t0
            peer.close(h)
            return elapsed

        open_cases[peer.name] = open_first
    opened = interleaved(open_cases, reps)

    get_cases = {}
    list_cases = {}
    handles = {}
    if with_memstore:
        store = TrieStore.load(snapshot)
        # Checked before timed: the same answers as the dict.
        assert [store.get(k) for k in get_keys] == [data[k] for k in get_keys]
        for p, u in listing:
            assert list(store.items(p)) == expected(p, u), p
        get_cases["memstore"] = per_call(store.get, get_keys)
        list_cases["memstore"] = per_call(lambda pu: list(store.items(pu[0])), listing)
    for peer in peers:
        handle = handles[peer.name] = peer.open()
        for key in get_keys[:50]:
            assert peer.get(handle, key) == data[key], (peer.name, key)
        for p, u in listing:
            got = [(k, bytes(v)) for k, v in peer.list_prefix(handle, p, u)]
            assert got == expected(p, u), (peer.name, p)
        get_cases[peer.name] = per_call(
            lambda key, peer=peer, handle=handle: peer.get(handle, key), get_keys
        )
        list_cases[peer.name] = per_call(
            lambda pu, peer=peer, handle=handle: peer.list_prefix(handle, *pu), listing
        )
    gets = interleaved(get_cases, reps, pick=statistics.median)
    lists = interleaved(list_cases, reps, pick=statistics.median)
    for peer in peers:
        peer.close(handles[peer.name])

    section = "against persistent stores, 100-byte values"
    for label, results, unit in (
        ("open to first read", opened, "s"),
        ("get, random stored key", gets, "s/call"),
        (f"~{PREFIX_TARGET}-key prefix listing (keys and values)", lists, "s/call"),
    ):
        base = results.get("memstore")
        for name, t in results.items():
            if name == "memstore":
                report.row(section, f"{label}: memstore", t, None, unit)
            else:
                # peer / memstore: how many times slower the peer is
                report.row(
                    section,
                    f"{label}: {name}",
                    t,
                    base,
                    unit,
                    "memstore",
                    peer_ratio=True,
                )


# ------------------------------------------------------------ section 4


def section_listing(work, keys, snapshot, reps, report):
    loaded = TrieStore.load(snapshot)
    shuffled = list(keys)
    random.Random("order").shuffle(shuffled)
    built = TrieStore()
    built.mset((k, b"") for k in shuffled)
    assert list(loaded.keys()) == list(built.keys())
    longest = max(keys, key=len).encode()
    same = [longest] * len(keys)
    n = len(keys)

    def timed(fn):
        def sample():
            t0 = clock()
            result = fn()
            elapsed = clock() - t0
            del result
            return elapsed / n

        return sample

    t = interleaved(
        {
            "loaded": timed(lambda: list(loaded.keys())),
            "built": timed(lambda: list(built.keys())),
            "floor": timed(lambda: list(map(bytes.decode, same))),
        },
        reps,
        pick=statistics.median,
    )
    section = f"full key listing, {n:,} keys"
    report.row(
        section,
        "store loaded from its snapshot",
        t["loaded"],
        t["floor"],
        "s/key",
        "floor",
    )
    report.row(
        section,
        "store built by mset in random order",
        t["built"],
        t["floor"],
        "s/key",
        "floor",
    )
    report.row(
        section, "floor: a new str per key (bytes.decode)", t["floor"], None, "s/key"
    )


# ------------------------------------------------------------- report


class Report:
    def __init__(self):
        self.rows = []

    def row(self, section, label, value, base, unit, versus=None, peer_ratio=False):
        ratio = None
        if base:
            ratio = value / base
        self.rows.append(
            {
                "section": section,
                "measurement": label,
                "value": value,
                "unit": unit,
                "baseline": base,
                "versus": versus,
                "ratio": ratio,
                "peer_over_memstore": peer_ratio,
            }
        )
        print(
            f"   {section} | {label}: {fmt(value, unit)}"
            + (f" ({ratio:.2f}x)" if ratio else "")
        )

    def markdown(self, header):
        lines = [header, ""]
        current = None
        for row in self.rows:
            if row["section"] != current:
                current = row["section"]
                lines += [
                    "",
                    f"**{current}**",
                    "",
                    "| measurement | value | ratio |",
                    "|---|---|---|",
                ]
            if row["ratio"] is None:
                ratio = ""
            elif row["peer_over_memstore"]:
                ratio = f"{row['ratio']:.3g}x memstore's time"
            else:
                what = "size" if row["unit"] == "B" else "time"
                if row["unit"] == "B/key":
                    what = "bytes"
                ratio = f"{row['ratio']:.3g}x {row['versus']}'s {what}"
            lines.append(
                f"| {row['measurement']} | {fmt(row['value'], row['unit'])} | {ratio} |"
            )
        return "\n".join(lines) + "\n"


def fmt(value, unit):
    if unit in ("s", "s/call", "s/pair", "s/key"):
        per = unit[1:]
        if unit == "s/pair":  # journaled writes: throughput too
            return f"{value * 1e9:.0f} ns/pair ({1 / value / 1e6:.2f} M pairs/s)"
        if value >= 1:
            return f"{value:.2f} s{per}"
        if value >= 1e-3:
            return f"{value * 1e3:.2f} ms{per}"
        if value >= 1e-6:
            return f"{value * 1e6:.2f} µs{per}"
        return f"{value * 1e9:.1f} ns{per}"
    if unit == "B":
        return f"{value / 1e6:.2f} MB" if value >= 1e6 else f"{value:,.0f} B"
    return f"{value:.2f} {unit}"


def plot(report, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in report.rows if r["ratio"] is not None]

    def short(section):
        # the value kind tells the snapshot rows apart; the rest is context
        if section.startswith("snapshots"):
            return section
        return section.split(",")[0].replace("against persistent stores", "vs peers")

    labels = [f"{short(r['section'])}: {r['measurement']}" for r in rows]
    ratios = [r["ratio"] for r in rows]
    fig, ax = plt.subplots(figsize=(10, 0.32 * len(rows) + 1.2))
    colors = ["tab:orange" if r["peer_over_memstore"] else "tab:blue" for r in rows]
    ax.barh(range(len(rows)), ratios, color=colors)
    ax.set_yticks(range(len(rows)), labels, fontsize=7)
    ax.invert_yaxis()
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_xscale("log")
    ax.set_xlabel(
        "blue: memstore / the table's baseline (below 1: memstore is faster or smaller)\n"
        "orange: peer / memstore (above 1: the peer is slower)"
    )
    ax.set_title(f"memstore persistence, {report.keys:,} chat keys")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"== plot: {path}")


# --------------------------------------------------------------- main


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--keys", type=int, default=1_000_000)
    ap.add_argument("--quick", action="store_true", help="10^4 keys, fewer repetitions")
    ap.add_argument(
        "--reps", type=int, default=None, help="repetitions (default 5, quick 3)"
    )
    ap.add_argument(
        "--batches", type=int, default=200, help="journaled mset batches of 1,000 pairs"
    )
    ap.add_argument("--out", help="write the results as JSON here")
    ap.add_argument("--md", help="write the markdown table here")
    ap.add_argument("--plot", help="write a PNG of the ratios here (matplotlib)")
    ap.add_argument("--dir", help="where the files go (default: a temporary directory)")
    ap.add_argument(
        "--no-memstore",
        action="store_true",
        help="run the peers alone (for a memstore without persistence)",
    )
    args = ap.parse_args(argv)
    n = 10_000 if args.quick else args.keys
    reps = args.reps or (3 if args.quick else 5)
    batches = min(args.batches, 20) if args.quick else args.batches
    with_memstore = not args.no_memstore
    if with_memstore and not hasattr(TrieStore, "save"):
        sys.exit(
            f"memstore {memstore.__version__} ({memstore.__file__}) has no TrieStore.save: "
            "this benchmark needs persistence (issue 13); --no-memstore runs the peers alone"
        )
    if not with_memstore:
        print("** --no-memstore: every memstore row is LEFT OUT at your request")

    started = clock()
    work = tempfile.mkdtemp(prefix="memstore-persist-", dir=args.dir)
    report = Report()
    report.keys = n
    try:
        print(f"== {n:,} chat keys, {reps} repetitions, files in {work}")
        keys = chat_keys(n)
        raw = bytes_values(n)
        if with_memstore:
            print("== snapshots")
            section_snapshots(
                work,
                keys,
                {"100-byte": raw, "small dict": dict_values(n)},
                reps,
                report,
            )
        print("== journaled mset")
        section_journal(work, keys, raw, batches, reps, report, with_memstore)
        snapshot = os.path.join(work, "peer-snapshot.mst")
        if with_memstore:
            TrieStore(zip(keys, raw)).save(snapshot)
        print("== against persistent stores")
        section_peers(
            work,
            keys,
            raw,
            snapshot,
            n_gets=min(n, 2000),
            n_prefixes=20 if args.quick else 50,
            reps=reps,
            report=report,
            with_memstore=with_memstore,
        )
        if with_memstore:
            print("== full listing")
            section_listing(work, keys, snapshot, reps, report)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    header = (
        f"## `python benchmarks/persistence_compare.py{' --quick' if args.quick else ''}"
        f"{'' if args.quick or n == 1_000_000 else f' --keys {n}'}"
        f"{f' --reps {args.reps}' if args.reps else ''}"
        f"{' --no-memstore' if not with_memstore else ''}`\n\n"
        f"Python {platform.python_version()}, memstore {memstore.__version__}, "
        f"{n:,} chat keys, {platform.machine()} {platform.system()}, "
        f"{os.cpu_count()} CPUs; best of {reps} for whole-file operations, "
        f"median of {reps} for per-call ones; took {clock() - started:.0f} s"
    )
    table = report.markdown(header)
    print()
    print(table)
    if args.md:
        with open(args.md, "w", encoding="utf-8") as f:
            f.write(table)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            json.dump(
                {
                    "keys": n,
                    "reps": reps,
                    "python": platform.python_version(),
                    "memstore": memstore.__version__,
                    "rows": report.rows,
                },
                f,
                indent=1,
            )
    if args.plot:
        plot(report, args.plot)


if __name__ == "__main__":
    main()
