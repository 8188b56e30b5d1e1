"""Snapshots (save/load) and stores kept in a directory (open): what is
written comes back, bad files raise SnapshotError and load nothing, a write
that cannot be logged changes nothing, and a checkpoint is safe at every
step.  The SIGKILL crash test is tests/test_crash.py."""

from __future__ import annotations

import asyncio
import io
import json
import os
import pickle
import subprocess
import sys
import threading
import tracemalloc
import warnings

import pytest

import memstore
from memstore import (
    DirectoryLockedError,
    InMemoryByteStore,
    SnapshotError,
    TrieStore,
    persistence,
)

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX file semantics")


class FakeClock:
    """A clock a test moves by hand (module level: picklable)."""

    def __init__(self, now=1000.0):
        self.now = now

    def __call__(self):
        return self.now


class JsonSerializer:
    def dumps(self, value):
        return json.dumps(value).encode()

    def loads(self, data):
        return json.loads(data)


class Unpicklable:
    def __reduce__(self):
        raise TypeError("this value cannot be pickled")


class Tracked:
    """A picklable value that can be weakly referenced."""


STORES_WRITTEN_BY_FINALIZERS = []


class WritesWhenReleased:
    """Writes to the store in STORES_WRITTEN_BY_FINALIZERS when released."""

    def __init__(self, n):
        self.n = n

    def __del__(self):
        for store in STORES_WRITTEN_BY_FINALIZERS:
            if store.directory is not None and not store._journal.closed:
                store[f"released:{self.n}"] = self.n


def sample_items(n=300):
    items = {f"user:{i % 7}:thread:{i % 13}:msg:{i:05d}": f"text {i}" for i in range(n)}
    items.update(
        {
            "": "empty key",
            "bytes": b"\x00\xff raw",
            "none": None,
            "nested": {"a": [1, 2]},
        }
    )
    items["unicode:é☃"] = "ü"
    return items


def snapshot_bytes(store):
    buffer = io.BytesIO()
    store.save(buffer)
    return buffer.getvalue()


def journal_path(directory):
    names = sorted(n for n in os.listdir(directory) if n.startswith("journal-"))
    return os.path.join(directory, names[-1])


# ---------------------------------------------------------------- snapshots


def test_save_and_load_round_trip_through_a_path(tmp_path):
    store = TrieStore(sample_items())
    path = tmp_path / "store.mst"
    assert store.save(path) is None
    loaded = TrieStore.load(path)
    assert loaded == store
    assert list(loaded.items()) == list(store.items())
    assert type(loaded) is TrieStore
    assert os.listdir(tmp_path) == ["store.mst"]  # no temporary file left


def test_save_and_load_through_file_objects_and_str_paths(tmp_path):
    store = TrieStore(sample_items(50))
    assert TrieStore.load(io.BytesIO(snapshot_bytes(store))) == store
    path = str(tmp_path / "s")
    store.save(path)
    with open(path, "rb") as file:
        assert TrieStore.load(file) == store


def test_an_empty_store_round_trips():
    assert len(TrieStore.load(io.BytesIO(snapshot_bytes(TrieStore())))) == 0


def test_load_returns_the_class_it_is_called_on_and_passes_kwargs():
    data = snapshot_bytes(InMemoryByteStore({"a": b"1"}))
    loaded = InMemoryByteStore.load(io.BytesIO(data))
    assert type(loaded) is InMemoryByteStore and loaded["a"] == b"1"
    clock = FakeClock()
    with_ttl = TrieStore.load(io.BytesIO(data), ttl=5, clock=clock)
    with_ttl["b"] = 2
    assert with_ttl.default_ttl == 5.0 and with_ttl.ttl("b") == 5.0


def test_langchain_classes_load_as_themselves():
    pytest.importorskip("langchain_core")
    from memstore import langchain

    data = snapshot_bytes(TrieStore({"k": b"v"}))
    assert (
        type(langchain.InMemoryStore.load(io.BytesIO(data))) is langchain.InMemoryStore
    )
    byte_store = langchain.InMemoryByteStore.load(io.BytesIO(data))
    assert type(byte_store) is langchain.InMemoryByteStore
    assert byte_store.mget(["k"]) == [b"v"]


def test_bytes_are_stored_raw_and_other_values_pickled():
    raw = snapshot_bytes(TrieStore({"k": b"PAYLOAD-BYTES"}))
    assert b"PAYLOAD-BYTES" in raw
    pickled = snapshot_bytes(TrieStore({"k": "PAYLOAD-STR"}))
    assert pickle.dumps(["PAYLOAD-STR"], 5) in pickled  # a group of one


def test_pickled_values_share_a_pickle_in_groups():
    # Values that are not bytes are pickled a group at a time, so a dict key
    # repeated in every value is written once per group, not once per value.
    values = {
        f"k{i:05d}": {"role": "user", "content": f"text {i}"} for i in range(5000)
    }
    data = snapshot_bytes(TrieStore(values))
    assert data.count(b"role") < 5000 / 100
    assert TrieStore.load(io.BytesIO(data)) == TrieStore(values)


def test_groups_mix_with_bytes_and_expired_keys():
    clock = FakeClock(1000.0)
    store = TrieStore(clock=clock)
    for i in range(3000):
        value = b"raw" if i % 7 == 0 else {"n": i}
        if i % 5 == 0:
            store.mset([(f"k{i:05d}", value)], ttl=10)  # gone at load
        else:
            store[f"k{i:05d}"] = value
    data = snapshot_bytes(store)
    clock.now = 1020.0
    loaded = TrieStore.load(io.BytesIO(data), clock=clock)
    assert dict(loaded.items()) == {k: v for k, v in store.items() if int(k[1:]) % 5}


def test_grouped_values_keep_their_keys_and_deadlines():
    # A group's keys wait in a buffer while its values are pickled: keys of
    # every length (some of 4 KB, so it grows mid-group), each with its own
    # deadline or none, come back as they were.
    clock = FakeClock(1000.0)
    store = TrieStore(clock=clock)
    for i in range(2500):
        key = f"k{i:05d}" + "x" * (i % 3 * 2000)
        store.mset([(key, {"n": i})], ttl=100 + i if i % 2 else None)
    store[""] = {"empty": True}
    loaded = TrieStore.load(io.BytesIO(snapshot_bytes(store)), clock=clock)
    assert dict(loaded.items()) == dict(store.items())
    for key in store:
        if store.ttl(key) is None:
            assert loaded.ttl(key) is None
        else:
            assert loaded.ttl(key) == pytest.approx(store.ttl(key), abs=1e-3)


def test_big_values_make_small_groups():
    big = TrieStore({f"k{i:03d}": "x" * 1_000_000 for i in range(40)})

    class Discard:
        def write(self, b):
            return len(b)

    tracemalloc.start()
    try:
        big.save(Discard())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 12_000_000  # a group of a few values, not all 40 MB


def test_a_serializer_encodes_values_and_is_needed_to_read_them():
    store = TrieStore({"a": {"x": 1}, "b": b"raw"}, serializer=JsonSerializer())
    data = snapshot_bytes(store)
    assert b'{"x": 1}' in data
    assert TrieStore.load(io.BytesIO(data), serializer=JsonSerializer()) == store
    with pytest.raises(SnapshotError, match="serializer"):
        TrieStore.load(io.BytesIO(data))


def test_a_bad_serializer_is_refused():
    with pytest.raises(TypeError, match="serializer"):
        TrieStore(serializer=object())

    class NotBytes:
        def dumps(self, value):
            return "text"

        def loads(self, data):
            return data

    with pytest.raises(TypeError, match="must return bytes"):
        TrieStore({"a": 1}, serializer=NotBytes()).save(io.BytesIO())


def test_in_memory_byte_store_never_unpickles(monkeypatch):
    data = snapshot_bytes(TrieStore({"a": b"ok", "b": "pickled"}))

    def refuse(*args, **kwargs):
        raise AssertionError("pickle.loads ran")

    monkeypatch.setattr(pickle, "loads", refuse)
    with pytest.raises(SnapshotError, match="never unpickles") as caught:
        InMemoryByteStore.load(io.BytesIO(data))
    assert "'b'" in str(caught.value)


def test_deadlines_are_saved_and_passed_ones_dropped_at_load():
    clock = FakeClock(1000.0)
    store = TrieStore(clock=clock)
    store.mset([("short", 1)], ttl=10)
    store.mset([("long", 2)], ttl=100)
    store["forever"] = 3
    data = snapshot_bytes(store)
    loaded = TrieStore.load(io.BytesIO(data), clock=clock)
    assert loaded.ttl("short") == pytest.approx(10, abs=1e-3)
    assert loaded.ttl("long") == pytest.approx(100, abs=1e-3)
    assert loaded.ttl("forever") is None
    clock.now = 1050.0
    later = TrieStore.load(io.BytesIO(data), clock=clock)
    assert sorted(later) == ["forever", "long"]
    assert later.ttl("long") == pytest.approx(50, abs=1e-3)


def test_keys_expired_at_save_are_left_out():
    clock = FakeClock(1000.0)
    store = TrieStore(clock=clock)
    store.mset([("gone", 1)], ttl=1)
    store["kept"] = 2
    clock.now = 1001.0
    assert list(TrieStore.load(io.BytesIO(snapshot_bytes(store)), clock=clock)) == [
        "kept"
    ]


def test_a_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        TrieStore.load(tmp_path / "missing.mst")


def test_save_and_load_refuse_what_is_not_a_file():
    with pytest.raises(TypeError, match="path or a binary file"):
        TrieStore().save(42)
    with pytest.raises(TypeError, match="path or a binary file"):
        TrieStore.load(42)


def test_snapshot_error_is_a_value_error_exported_and_picklable():
    assert issubclass(SnapshotError, ValueError)
    assert memstore.SnapshotError is SnapshotError
    error = pickle.loads(pickle.dumps(SnapshotError("bad", "/x", 7)))
    assert (str(error), error.path, error.offset) == ("bad", "/x", 7)


def test_every_truncation_raises_with_the_path_and_an_offset(tmp_path):
    data = snapshot_bytes(TrieStore(sample_items(400)))
    assert len(data) > 3 * 1024
    path = tmp_path / "cut.mst"
    for size in range(len(data)):
        path.write_bytes(data[:size])
        with pytest.raises(SnapshotError) as caught:
            TrieStore.load(path)
        assert caught.value.path == str(path)
        assert 0 <= caught.value.offset <= size
        assert str(path) in str(caught.value) and f"byte {caught.value.offset}" in str(
            caught.value
        )


def test_every_flipped_bit_raises():
    store = TrieStore({"a": b"1", "ab": "two", "b": b"", "c": None})
    store.mset([("d", b"x")], ttl=1e6)
    data = snapshot_bytes(store)
    for i in range(len(data)):
        for bit in range(8):
            damaged = bytearray(data)
            damaged[i] ^= 1 << bit
            with pytest.raises(SnapshotError):
                TrieStore.load(io.BytesIO(bytes(damaged)))


def test_trailing_bytes_wrong_magic_and_version_raise():
    data = snapshot_bytes(TrieStore({"a": b"1"}))
    with pytest.raises(SnapshotError, match=r"trailer|after"):
        TrieStore.load(io.BytesIO(data + b"\x00"))
    with pytest.raises(SnapshotError) as caught:
        TrieStore.load(io.BytesIO(b"PK\x03\x04" + data[4:]))
    assert caught.value.offset == 0
    newer = bytearray(data)
    newer[8] = 2
    with pytest.raises(SnapshotError, match="version") as caught:
        TrieStore.load(io.BytesIO(bytes(newer)))
    assert caught.value.offset == 8


def test_a_file_that_raises_while_read_propagates_its_error():
    class Failing(io.BytesIO):
        def readinto(self, buffer):
            raise OSError("disk gone")

    with pytest.raises(OSError, match="disk gone"):
        TrieStore.load(Failing(snapshot_bytes(TrieStore({"a": 1}))))


def test_a_file_object_with_only_read_works():
    data = snapshot_bytes(TrieStore(sample_items(30)))

    class ReadOnly:
        def __init__(self):
            self.inner = io.BytesIO(data)

        def read(self, n):
            return self.inner.read(min(n, 7))  # short reads too

    assert TrieStore.load(ReadOnly()) == TrieStore(sample_items(30))


def test_a_failed_save_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "s.mst"
    TrieStore({"old": 1}).save(path)
    before = path.read_bytes()
    items = {f"k{i:06d}": b"v" * 100 for i in range(5000)}  # several blocks first
    items["zzz"] = Unpicklable()
    with pytest.raises(TypeError, match="cannot be pickled"):
        TrieStore(items).save(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["s.mst"]


def test_a_full_disk_during_save_leaves_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "s.mst"
    TrieStore({"old": 1}).save(path)
    before = path.read_bytes()

    def no_space(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", no_space)
    with pytest.raises(OSError, match="No space"):
        TrieStore({"new": 2}).save(path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["s.mst"]


def test_save_fsyncs_the_file_and_its_directory(tmp_path, monkeypatch):
    synced = []
    real_fsync = os.fsync

    def spy(fd):
        synced.append(
            os.path.isdir(f"/proc/self/fd/{fd}") if sys.platform == "linux" else None
        )
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", spy)
    TrieStore({"a": 1}).save(tmp_path / "s.mst")
    assert len(synced) == 2
    if sys.platform == "linux":
        assert synced == [False, True]


def test_a_write_to_a_file_object_that_fails_raises_it():
    class Full(io.BytesIO):
        def write(self, data):
            raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space"):
        TrieStore({"a": b"1"}).save(Full())


def test_a_raw_file_with_short_writes_gets_every_byte():
    class Short(io.RawIOBase):
        def __init__(self):
            self.data = bytearray()

        def writable(self):
            return True

        def write(self, b):
            chunk = bytes(b[:1000])
            self.data += chunk
            return len(chunk)

    store = TrieStore(sample_items(500))
    sink = Short()
    store.save(sink)
    assert TrieStore.load(io.BytesIO(bytes(sink.data))) == store


def test_save_survives_values_that_change_the_store_while_pickled():
    class Meddler:
        def __init__(self, store, n):
            self.store, self.n = store, n

        def __reduce__(self):
            # Writes keys before and after the save's position, and removes
            # the next one: the save must stay in key order and not crash.
            self.store[f"a{self.n}"] = b"early"
            self.store.mdelete([f"m{self.n + 1:03d}"])
            self.store[f"z{self.n}"] = b"late"
            return (int, (self.n,))

    store = TrieStore()
    store.mset([(f"m{i:03d}", Meddler(store, i)) for i in range(0, 100, 2)])
    store.mset([(f"m{i:03d}", b"plain") for i in range(1, 100, 2)])
    loaded = TrieStore.load(io.BytesIO(snapshot_bytes(store)))
    keys = list(loaded)
    assert keys == sorted(keys)
    assert loaded["m000"] == 0 and all(k.startswith(("a", "m", "z")) for k in keys)


def test_save_streams_in_a_few_megabytes():
    store = InMemoryByteStore(
        {f"user:{i}:msg:{i:07d}": b"v" * 100 for i in range(100_000)}
    )

    class Discard:
        written = 0

        def write(self, b):
            self.written += len(b)
            return len(b)

    sink = Discard()
    tracemalloc.start()
    try:
        store.save(sink)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sink.written > 10_000_000
    assert peak < 2_000_000


def test_load_never_half_loads(tmp_path):
    # A failure after most records were read leaves no store behind: the
    # caller gets the error, and nothing holds the values read so far.
    import weakref

    tracked = Tracked()
    store = TrieStore({f"k{i}": b"x" for i in range(1000)})
    store["k0000"] = tracked
    data = snapshot_bytes(store)
    del store
    with pytest.raises(SnapshotError):
        TrieStore.load(io.BytesIO(data[:-3]))
    # The unpickled copy was released with the partial store.
    ref = weakref.ref(tracked)
    del tracked
    assert ref() is None


# ------------------------------------------------------------------ journal


@pytest.fixture
def directory(tmp_path):
    return str(tmp_path / "store")


def reopen(directory, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        store = TrieStore.open(directory, **kwargs)
    store.close()
    return store


def test_open_creates_the_directory_and_every_write_is_replayed(directory):
    with TrieStore.open(directory) as store:
        assert store.directory == directory
        store["a"] = 1
        store.mset([("b", b"2"), ("c", {"three": 3}), ("d", 4)])
        store.mdelete(["d", "missing"])
        store["e"] = 5
        del store["e"]
        store.mset([("p:1", 1), ("p:2", 2), ("q", 3)])
        assert store.delete_prefix("p:") == 2
        expected = dict(store.items())
    assert sorted(os.listdir(directory)) == ["LOCK", "journal-0000000000.log"]
    assert dict(reopen(directory).items()) == expected


def test_clear_expire_and_persist_are_replayed(directory):
    clock = FakeClock(1000.0)
    with TrieStore.open(directory, clock=clock) as store:
        store.mset([("a", 1), ("b", 2), ("c", 3)])
        store.clear()
        store.mset([("x", 1), ("y", 2)])
        assert store.expire("x", 30) is True
        assert store.expire("missing", 30) is False
        store.mset([("z", 3)], ttl=60)
        assert store.persist("z") is True
    again = reopen(directory, clock=clock)
    assert dict(again.items()) == {"x": 1, "y": 2, "z": 3}
    assert again.ttl("x") == 30.0 and again.ttl("z") is None


def test_replay_sees_each_write_at_its_own_time(directory):
    # expire() on a key that had already expired did nothing; replayed at a
    # later time it must still do nothing (not revive the key).
    clock = FakeClock(1000.0)
    with TrieStore.open(directory, clock=clock) as store:
        store.mset([("k", 1)], ttl=10)
        clock.now = 1020.0
        assert store.expire("k", 100) is False
        store.mset([("j", 2)], ttl=10)
        clock.now = 1025.0
        assert store.expire("j", 100) is True
    clock.now = 1030.0
    again = reopen(directory, clock=clock)
    assert dict(again.items()) == {"j": 2}
    assert again.ttl("j") == pytest.approx(95.0)


def test_default_ttl_is_resolved_when_written(directory):
    clock = FakeClock(1000.0)
    with TrieStore.open(directory, clock=clock, ttl=10) as store:
        store["a"] = 1
        store.mset([("b", 2)])
        store.mset([("c", 3)], ttl=None)
    # Reopened without a default ttl, the lifetimes written stay as written.
    again = reopen(directory, clock=clock)
    assert again.ttl("a") == 10.0 and again.ttl("b") == 10.0 and again.ttl("c") is None


def test_a_batch_is_one_record(directory):
    with TrieStore.open(directory, fsync="no") as store:
        size = os.path.getsize(journal_path(directory))
        store.mset([(f"k{i}", b"v") for i in range(100)])
        after = os.path.getsize(journal_path(directory))
    with open(journal_path(directory), "rb") as file:
        file.seek(size)
        length, _, _ = persistence.RECORD_HEADER.unpack(file.read(12))
    assert after - size == 12 + length


def test_a_value_that_cannot_be_serialized_changes_nothing(directory):
    with TrieStore.open(directory) as store:
        store["a"] = 1
        size = os.path.getsize(journal_path(directory))
        with pytest.raises(TypeError, match="cannot be pickled"):
            store.mset([("b", 2), ("c", Unpicklable())])
        with pytest.raises(TypeError, match="cannot be pickled"):
            store["d"] = Unpicklable()
        assert dict(store.items()) == {"a": 1}
        assert os.path.getsize(journal_path(directory)) == size
    assert dict(reopen(directory).items()) == {"a": 1}


def test_bad_arguments_raise_before_anything_is_logged(directory):
    with TrieStore.open(directory) as store:
        size = os.path.getsize(journal_path(directory))
        with pytest.raises(TypeError):
            store.mset([("a", 1), (2, 2)])
        with pytest.raises(TypeError):
            store.mdelete(["a", None])
        with pytest.raises(TypeError):
            store.delete_prefix(b"a")
        with pytest.raises(ValueError):
            store.mset([("a", 1)], ttl=-1)
        with pytest.raises(ValueError):
            store.expire("a", 0)
        with pytest.raises(TypeError):
            store[1] = 2
        assert os.path.getsize(journal_path(directory)) == size


def test_a_write_that_fails_after_its_record_takes_it_back(directory):
    with TrieStore.open(directory) as store:
        store["a"] = 1
        size = os.path.getsize(journal_path(directory))
        with pytest.raises(KeyError):
            del store["missing"]  # checked only when applied
        assert os.path.getsize(journal_path(directory)) == size
    assert dict(reopen(directory).items()) == {"a": 1}


def test_a_disk_error_while_appending_changes_nothing(directory, monkeypatch):
    store = TrieStore.open(directory)
    store["a"] = 1
    size = os.path.getsize(journal_path(directory))
    real_write = os.write

    def half_then_fail(fd, data):
        if len(data) > 12:
            real_write(fd, bytes(data[:7]))
            raise OSError(28, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", half_then_fail)
    with pytest.raises(OSError, match="No space"):
        store.mset([("b", b"x" * 50)])
    monkeypatch.undo()
    assert dict(store.items()) == {"a": 1}
    assert os.path.getsize(journal_path(directory)) == size
    store["c"] = 3
    store.close()
    assert dict(reopen(directory).items()) == {"a": 1, "c": 3}


def test_fsync_policy_is_checked_and_always_syncs_every_write(directory, monkeypatch):
    for bad in ("sometimes", None, 1):
        with pytest.raises(ValueError, match="fsync"):
            TrieStore.open(directory, fsync=bad)
    with pytest.raises(ValueError, match="checkpoint_ratio"):
        TrieStore.open(directory, checkpoint_ratio=0)
    calls = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (calls.append(fd), real_fsync(fd)))
    store = TrieStore.open(directory, fsync="always")
    calls.clear()
    store["a"] = 1
    store.mset([("b", 2)])
    del store["a"]
    assert len(calls) == 3
    store.close()
    calls.clear()
    store = TrieStore.open(directory, fsync="no")
    calls.clear()
    store["c"] = 3
    assert calls == []
    store.close()
    assert len(calls) == 1  # close fsyncs


def test_everysec_syncs_in_the_background(directory, monkeypatch):
    synced = threading.Event()
    real_fsync = os.fsync

    def spy(fd):
        synced.set()
        real_fsync(fd)

    store = TrieStore.open(directory, fsync="everysec")
    monkeypatch.setattr(os, "fsync", spy)
    store["a"] = 1
    assert not synced.is_set()  # not in the write itself
    assert synced.wait(10), "the background thread never fsynced"
    store.close()


def test_reads_after_close_work_and_writes_raise(directory):
    store = TrieStore.open(directory)
    store["a"] = 1
    store.close()
    store.close()  # twice is fine
    assert store["a"] == 1 and list(store) == ["a"]
    for write in (
        lambda: store.__setitem__("b", 2),
        lambda: store.mset([("b", 2)]),
        lambda: store.mdelete(["a"]),
        lambda: store.clear(),
        lambda: store.checkpoint(),
    ):
        with pytest.raises(ValueError, match="closed"):
            write()


def test_checkpoint_needs_an_opened_store():
    with pytest.raises(ValueError, match="open"):
        TrieStore().checkpoint()
    TrieStore().close()  # a plain store closes as a no-op
    with TrieStore() as plain:
        assert plain.directory is None


def test_checkpoint_writes_a_snapshot_and_starts_an_empty_journal(directory):
    with TrieStore.open(directory) as store:
        store.mset([(f"k{i}", i) for i in range(100)])
        store.checkpoint()
        assert sorted(os.listdir(directory)) == [
            "LOCK",
            "journal-0000000001.log",
            "snapshot-0000000001.mst",
        ]
        assert os.path.getsize(journal_path(directory)) == len(
            persistence.JOURNAL_HEADER
        )
        store["after"] = 1
        store.checkpoint()
        store["later"] = 2
    assert sorted(os.listdir(directory))[1:] == [
        "journal-0000000002.log",
        "snapshot-0000000002.mst",
    ]
    again = reopen(directory)
    assert len(again) == 102 and again["after"] == 1 and again["later"] == 2


@pytest.mark.parametrize(
    "step",
    [
        "save_atomically",
        "os.replace",
        "_open_file",
        "os.close",
        "_remove_generations_below",
    ],
)
def test_a_crash_at_any_step_of_a_checkpoint_loses_nothing(
    directory, monkeypatch, step
):
    store = TrieStore.open(directory, fsync="no")
    store.mset([(f"k{i}", i) for i in range(50)])
    store.checkpoint()
    store.mset([(f"j{i}", i) for i in range(50)])
    expected = dict(store.items())

    class Crash(BaseException):
        pass

    def crash(*args, **kwargs):
        raise Crash

    target = {
        "save_atomically": (persistence, "save_atomically"),
        "os.replace": (os, "replace"),
        "_open_file": (persistence.Journal, "_open_file"),
        "os.close": (os, "close"),
        "_remove_generations_below": (persistence, "_remove_generations_below"),
    }[step]
    monkeypatch.setattr(*target, crash)
    with pytest.raises(Crash):
        store.checkpoint()
    monkeypatch.undo()
    # The process "dies": its lock goes with it.
    journal = store._journal
    os.close(journal._lock_fd)
    journal._lock_fd = os.open(os.devnull, os.O_RDONLY)
    again = reopen(directory)
    assert dict(again.items()) == expected


def test_auto_checkpoint_when_the_journal_outgrows_the_snapshot(directory, monkeypatch):
    monkeypatch.setattr(persistence, "CHECKPOINT_MIN_BYTES", 10_000)
    with TrieStore.open(directory, fsync="no", checkpoint_ratio=1.0) as store:
        for i in range(100):
            store.mset([(f"k{i}:{j}", b"v" * 100) for j in range(10)])
        snapshots = [n for n in os.listdir(directory) if n.startswith("snapshot-")]
        assert len(snapshots) == 1  # older generations are removed
        snapshot_size = os.path.getsize(os.path.join(directory, snapshots[0]))
        batch = 10 * 120
        assert (
            os.path.getsize(journal_path(directory))
            <= max(snapshot_size, 10_000) + batch
        )
        expected = dict(store.items())
    assert dict(reopen(directory).items()) == expected


def test_auto_checkpoint_can_be_turned_off(directory, monkeypatch):
    monkeypatch.setattr(persistence, "CHECKPOINT_MIN_BYTES", 1000)
    with TrieStore.open(directory, fsync="no", checkpoint_ratio=None) as store:
        for i in range(50):
            store[f"k{i}"] = b"v" * 100
    assert not any(n.startswith("snapshot-") for n in os.listdir(directory))


def test_one_open_at_a_time_in_this_process(directory):
    store = TrieStore.open(directory)
    with pytest.raises(DirectoryLockedError) as caught:
        TrieStore.open(directory)
    assert isinstance(caught.value, OSError)
    assert caught.value.filename == directory and directory in str(caught.value)
    store.close()
    TrieStore.open(directory).close()  # released by close


def test_one_open_at_a_time_across_processes(directory):
    store = TrieStore.open(directory)
    store["a"] = 1
    script = (
        "import sys, memstore\n"
        "try:\n"
        "    memstore.TrieStore.open(sys.argv[1])\n"
        "except memstore.DirectoryLockedError as e:\n"
        "    print('locked', e.filename)\n"
    )
    child = subprocess.run(
        [sys.executable, "-c", script, directory],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert child.stdout.strip() == f"locked {directory}", child.stderr
    store.close()


def test_a_dropped_store_releases_its_directory(directory):
    store = TrieStore.open(directory)
    store["a"] = 1
    del store
    import gc

    gc.collect()
    assert dict(reopen(directory).items()) == {"a": 1}


def write_three_records(directory):
    with TrieStore.open(directory, fsync="no") as store:
        store["a"] = b"1"
        store["b"] = b"2"
        start = os.path.getsize(journal_path(directory))
        store["c"] = b"3" * 40
    return start, os.path.getsize(journal_path(directory))


def test_a_torn_last_record_is_dropped_with_a_warning(directory):
    start, end = write_three_records(directory)
    path = journal_path(directory)
    whole = open(path, "rb").read()
    for cut in range(start + 1, end):
        with open(path, "wb") as file:
            file.write(whole[:cut])
        with pytest.warns(RuntimeWarning, match=f"byte {start}") as caught:
            store = TrieStore.open(directory)
        assert path in str(caught[0].message)
        assert dict(store.items()) == {"a": b"1", "b": b"2"}
        assert os.path.getsize(path) == start  # cut there
        store.close()


def test_a_zero_filled_tail_is_torn_not_corrupt(directory):
    _, end = write_three_records(directory)
    path = journal_path(directory)
    with open(path, "ab") as file:
        file.write(b"\x00" * 100)
    with pytest.warns(RuntimeWarning, match="zeros"):
        store = TrieStore.open(directory)
    assert len(store) == 3
    store.close()
    assert os.path.getsize(path) == end


def test_a_corrupt_record_before_the_end_raises(directory):
    start, _ = write_three_records(directory)
    path = journal_path(directory)
    whole = open(path, "rb").read()
    header = len(persistence.JOURNAL_HEADER)
    for position in range(header, start):
        damaged = bytearray(whole)
        damaged[position] ^= 0x10
        with open(path, "wb") as file:
            file.write(damaged)
        with pytest.raises(SnapshotError) as caught:
            TrieStore.open(directory)
        assert caught.value.path == path and header <= caught.value.offset < start
    with open(path, "wb") as file:
        file.write(whole)
    TrieStore.open(directory).close()  # nothing was left locked


def test_a_corrupt_journal_header_raises(directory):
    write_three_records(directory)
    path = journal_path(directory)
    whole = bytearray(open(path, "rb").read())
    whole[0] ^= 1
    open(path, "wb").write(whole)
    with pytest.raises(SnapshotError, match="not a memstore journal"):
        TrieStore.open(directory)


def test_a_corrupt_snapshot_in_the_directory_raises(directory):
    with TrieStore.open(directory) as store:
        store["a"] = 1
        store.checkpoint()
    snapshot = os.path.join(directory, "snapshot-0000000001.mst")
    data = bytearray(open(snapshot, "rb").read())
    data[30] ^= 4
    open(snapshot, "wb").write(data)
    with pytest.raises(SnapshotError) as caught:
        TrieStore.open(directory)
    assert caught.value.path == snapshot


def test_writes_from_threads_are_replayed_in_the_order_applied(directory):
    store = TrieStore.open(directory, fsync="no")

    def writer(n):
        for i in range(300):
            store.mset([(f"shared:{i % 10}", (n, i)), (f"own:{n}:{i}", i)])
            if i % 50 == 0:
                store.delete_prefix(f"own:{n}:1")

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    expected = dict(store.items())
    store.close()
    assert dict(reopen(directory).items()) == expected


def test_writes_from_finalizers_are_logged_in_order(directory):
    store = TrieStore.open(directory, fsync="no")
    STORES_WRITTEN_BY_FINALIZERS.append(store)
    store["x"] = WritesWhenReleased(1)
    store["x"] = WritesWhenReleased(2)  # releases 1, which writes
    store.mset([("x", 3)])  # releases 2
    expected = dict(store.items())
    store.close()
    STORES_WRITTEN_BY_FINALIZERS.clear()
    again = reopen(directory)
    assert dict(again.items()) == expected
    assert again["released:1"] == 1 and again["released:2"] == 2


def test_async_twins_write_one_record_each(directory):
    async def main():
        for policy in ("always", "everysec", "no"):
            store = TrieStore.open(directory, fsync=policy)
            before = os.path.getsize(journal_path(directory))
            await store.amset([(f"{policy}:{i}", i) for i in range(10_000)])
            await store.amdelete([f"{policy}:{i}" for i in range(5_000)])
            with open(journal_path(directory), "rb") as file:
                file.seek(before)
                first = persistence.RECORD_HEADER.unpack(file.read(12))[0]
                file.seek(before + 12 + first)
                second = persistence.RECORD_HEADER.unpack(file.read(12))[0]
            assert (
                os.path.getsize(journal_path(directory)) == before + 24 + first + second
            )
            store.close()

    asyncio.run(main())
    again = reopen(directory)
    assert len(again) == 15_000


def test_in_memory_stores_of_langchain_open_the_same_way(directory):
    pytest.importorskip("langchain_core")
    from memstore import langchain

    with langchain.InMemoryByteStore.open(directory) as store:
        assert type(store) is langchain.InMemoryByteStore
        store.mset([("a", b"1")])
    with langchain.InMemoryByteStore.open(directory) as store:
        assert store.mget(["a"]) == [b"1"]
        store.mset([("b", b"2")])
    store = langchain.InMemoryStore.open(directory)
    assert type(store) is langchain.InMemoryStore and store.mget(["a", "b"]) == [
        b"1",
        b"2",
    ]
    store.close()


def test_a_byte_store_directory_never_unpickles(directory):
    with TrieStore.open(directory) as store:
        store["a"] = "pickled str"
    with pytest.raises(SnapshotError, match="never unpickles"):
        InMemoryByteStore.open(directory)
    TrieStore.open(directory).close()  # the failed open released the lock


def test_a_loaded_tree_is_sound_compact_and_writable():
    # Built bottom-up from the file; expired records dropped in between
    # change which key each added key follows.
    clock = FakeClock(1000.0)
    store = TrieStore(clock=clock)
    items = sample_items(2000)
    for i, (key, value) in enumerate(sorted(items.items())):
        if i % 3 == 0:
            store.mset([(key, value)], ttl=1)
        elif i % 3 == 1:
            store.mset([(key, value)], ttl=1000)
        else:
            store[key] = value
    data = snapshot_bytes(store)
    clock.now = 1005.0
    loaded = TrieStore.load(io.BytesIO(data), clock=clock)
    assert loaded._check_tree() == (None, True)
    assert dict(loaded.items()) == dict(store.items())
    plain = InMemoryByteStore(dict.fromkeys(items, b"v"))
    reloaded = InMemoryByteStore.load(io.BytesIO(snapshot_bytes(plain)))
    assert reloaded.memory_usage() == plain.memory_usage()  # the same nodes
    loaded.mset([(f"new:{i}", i) for i in range(100)])
    loaded.delete_prefix("user:1")
    del loaded[next(iter(loaded))]
    assert loaded._check_tree()[0] is None
    assert list(loaded) == sorted(loaded)


def test_load_releases_every_value_it_made_when_it_fails():
    values = [Tracked() for _ in range(50)]
    data = snapshot_bytes(TrieStore({f"k{i:03d}": v for i, v in enumerate(values)}))
    import gc
    import weakref

    before = len([o for o in gc.get_objects() if type(o) is Tracked])
    for cut in (len(data) // 2, len(data) - 1):
        with pytest.raises(SnapshotError):
            TrieStore.load(io.BytesIO(data[:cut]))
    gc.collect()
    assert len([o for o in gc.get_objects() if type(o) is Tracked]) == before
    ref = weakref.ref(values[0])
    del values
    assert ref() is None


def test_async_writes_with_fsync_always_leave_the_loop_free(directory, monkeypatch):
    # The fsync of an amset waits until another task has run: if the loop
    # were blocked in the fsync, that task could not run and the wait would
    # time out.
    store = TrieStore.open(directory, fsync="always")
    other_task_ran = threading.Event()
    real_fsync = os.fsync
    waited = []

    def slow_fsync(fd):
        waited.append(other_task_ran.wait(30))
        real_fsync(fd)

    async def other_task():
        other_task_ran.set()

    async def main():
        monkeypatch.setattr(os, "fsync", slow_fsync)
        try:
            write = asyncio.ensure_future(store.amset([("a", 1), ("b", 2)]))
            await asyncio.sleep(0)
            await other_task()
            await write
            await store.amdelete(["a"])
        finally:
            monkeypatch.undo()

    asyncio.run(main())
    assert waited[:1] == [True]
    store.close()
    assert dict(reopen(directory).items()) == {"b": 2}


def test_a_failed_automatic_checkpoint_warns_and_keeps_the_write(
    directory, monkeypatch
):
    monkeypatch.setattr(persistence, "CHECKPOINT_MIN_BYTES", 1000)
    store = TrieStore.open(directory, fsync="no", checkpoint_ratio=1.0)

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(persistence, "save_atomically", full_disk)
    store.mset([(f"k{i}", b"v" * 100) for i in range(5)])
    with pytest.warns(RuntimeWarning, match="automatic checkpoint"):
        store.mset([(f"j{i}", b"v" * 100) for i in range(10)])
    store["after"] = b"1"  # no retry (so no warning) until the journal doubles
    monkeypatch.undo()
    expected = dict(store.items())
    assert len(expected) == 16
    store.close()
    assert dict(reopen(directory).items()) == expected


def test_open_takes_no_items(directory):
    with pytest.raises(TypeError, match="items"):
        TrieStore.open(directory, items={"a": 1})


def test_running_out_of_memory_while_loading_loads_nothing_and_leaks_nothing():
    _testcapi = pytest.importorskip("_testcapi")
    if not hasattr(_testcapi, "set_nomemory"):
        pytest.skip("this Python's _testcapi cannot fail allocations")
    import gc
    import weakref

    clock = FakeClock(1000.0)
    store = TrieStore(clock=clock)
    store.mset([(f"user:{i:03d}", Tracked()) for i in range(40)])
    store.mset([(f"ttl:{i:03d}", b"v" * i) for i in range(40)], ttl=100)
    data = snapshot_bytes(store)
    del store
    gc.collect()
    failures = 0
    for fail_at in range(1, 5000):
        source = io.BytesIO(data)
        _testcapi.set_nomemory(fail_at, fail_at + 1)  # that allocation only
        try:
            loaded = TrieStore.load(source, clock=clock)
        except MemoryError:
            failures += 1
            continue
        finally:
            _testcapi.remove_mem_hooks()
        # Past the load's allocations: it must be complete.
        assert len(loaded) == 80 and loaded._check_tree() == (None, True)
        ref = weakref.ref(loaded["user:000"])
        del loaded
        assert ref() is None
        break
    else:
        pytest.fail("the load never succeeded")
    assert failures >= 1  # how many allocations a load makes varies by version
    gc.collect()
    assert not [o for o in gc.get_objects() if type(o) is Tracked]


def _varint(n):
    out = bytearray()
    while n >= 0x80:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _framed(payload):
    import struct

    from memstore._core import _crc32c

    head = struct.pack("<II", len(payload), _crc32c(payload))
    return head + struct.pack("<I", _crc32c(head)) + payload


def _mset_payload(pairs):
    """An mset record's payload; pairs of (key, value tag, value bytes)."""
    import struct

    out = bytes([1]) + struct.pack("<dd", 1000.0, float("nan")) + _varint(len(pairs))
    for key, tag, data in pairs:
        out += (
            _varint(len(key)) + key.encode() + bytes([tag]) + _varint(len(data)) + data
        )
    return out


@pytest.mark.parametrize(
    ("pairs", "message"),
    [
        ([("a", 4, b"")], "no more values"),
        ([("a", 3, pickle.dumps([1, 2], 5))], "more values than records"),
        ([("a", 3, pickle.dumps((1, 2), 5))], "not a pickle group"),
        ([("a", 3, pickle.dumps([], 5))], "not a pickle group"),
        (
            [("a", 3, pickle.dumps([1, 2], 5)), ("b", 3, pickle.dumps([3], 5))],
            "more values than records",
        ),
        ([("a", 9, b"")], "unknown value tag 9"),
    ],
)
def test_a_bad_pickle_group_in_the_journal_raises(directory, pairs, message):
    with TrieStore.open(directory) as store:
        store["first"] = 1
    good = _framed(_mset_payload([("z", 0, b"ok")]))
    with open(journal_path(directory), "ab") as file:
        file.write(_framed(_mset_payload(pairs)) + good)
    with pytest.raises(SnapshotError, match=message):
        TrieStore.open(directory)


def test_a_well_formed_crafted_group_with_bytes_between_replays(directory):
    with TrieStore.open(directory) as store:
        store["first"] = 1
    pairs = [("a", 3, pickle.dumps([1, 2], 5)), ("b", 0, b"raw"), ("c", 4, b"")]
    with open(journal_path(directory), "ab") as file:
        file.write(_framed(_mset_payload(pairs)))
    assert dict(reopen(directory).items()) == {"a": 1, "b": b"raw", "c": 2, "first": 1}
