"""mset checks, encodes and inserts a batch a chunk at a time (512 pairs);
a bad pair in a later chunk must still leave the store as it was: new keys
removed, overwritten keys back to their old values, nothing released
twice or early."""

import gc
import sys
import weakref

import pytest

from memstore import InMemoryByteStore, TrieStore

CHUNK = 512
N = 5 * CHUNK + 17


RELEASED = []


class Tracked:
    """A value whose release is recorded, to see that it happens once and
    only after the batch."""

    def __init__(self, tag):
        self.tag = tag

    def __del__(self):
        RELEASED.append(self.tag)


def _store_with_old_values():
    s = TrieStore()
    # Every third key of the batch exists already, ASCII and not.
    s.mset([(_key(i), f"old{i}") for i in range(0, N, 3)])
    return s


def _key(i):
    return f"k:{i:05d}" if i % 2 else f"k:{i:05d}:é"


BAD = {
    "key type": (123, "v"),
    "not a pair": ("k", "v", "extra"),
    "not a tuple": "kv",
    "short list": ["k"],
}


@pytest.mark.parametrize("bad_at", [0, CHUNK - 1, CHUNK, 3 * CHUNK + 5, N - 1, N])
@pytest.mark.parametrize("kind", list(BAD))
def test_bad_pair_in_any_chunk_writes_nothing(bad_at, kind):
    s = _store_with_old_values()
    before = list(s.items())
    pairs = [(_key(i), f"new{i}") for i in range(N)]
    pairs.insert(bad_at, BAD[kind])
    with pytest.raises(TypeError, match=f"index {bad_at}"):
        s.mset(pairs)
    assert list(s.items()) == before


def test_bad_pair_late_with_duplicates_restores_each_key():
    s = TrieStore({"dup": "old", "a": 1})
    pairs = [("dup", i) for i in range(3 * CHUNK)] + [
        (f"n{i}", i) for i in range(CHUNK)
    ]
    pairs.append((None, 0))
    with pytest.raises(TypeError, match=f"index {4 * CHUNK}"):
        s.mset(pairs)
    assert dict(s.items()) == {"dup": "old", "a": 1}


def test_byte_store_bad_value_late_writes_nothing():
    s = InMemoryByteStore({"k:00001": b"old"})
    pairs = [(_key(i), b"x") for i in range(N)] + [("last", "not bytes")]
    with pytest.raises(TypeError, match=f"value at index {N} must be bytes"):
        s.mset(pairs)
    assert list(s.items()) == [("k:00001", b"old")]


def test_rollback_releases_nothing_early_and_everything_once():
    RELEASED.clear()
    s = TrieStore()
    olds = [(_key(i), Tracked(f"old{i}")) for i in range(0, N, 2)]
    s.mset(olds)
    del olds
    gc.collect()
    news = [(_key(i), Tracked(f"new{i}")) for i in range(N)]
    refs = [weakref.ref(v) for _, v in news]
    batch = [*news, (b"bad", None)]
    del news
    with pytest.raises(TypeError):
        s.mset(batch)
    assert RELEASED == []  # the old values are back, the new ones still ours
    assert [v.tag for v in s.values()] == [f"old{i}" for i in range(0, N, 2)]
    del batch
    gc.collect()
    assert sorted(RELEASED) == sorted(f"new{i}" for i in range(N))
    assert all(r() is None for r in refs)
    RELEASED.clear()


def test_reentrant_del_of_replaced_values_runs_after_the_batch():
    """Values replaced by a multi-chunk batch are released only when the
    whole batch is in; their __del__ sees the finished batch."""
    seen = []

    class Watcher:
        def __del__(self):
            seen.append((len(s), s.get(_key(N - 1))))
            s["written by del"] = 1

    s = TrieStore((_key(i), Watcher()) for i in range(0, N, 5))
    s.mset([(_key(i), i) for i in range(N)])
    assert seen[0] == (N, N - 1)  # the first sees the batch alone
    assert all(last == N - 1 for _, last in seen)
    assert s["written by del"] == 1
    assert len(s) == N + 1


def test_references_unchanged_after_success_and_failure():
    keys = [_key(i) for i in range(N)]
    value = object()
    s = TrieStore()
    before = [sys.getrefcount(k) for k in keys], sys.getrefcount(value)
    with pytest.raises(TypeError):
        s.mset([(k, value) for k in keys] + [(1, 1)])
    assert ([sys.getrefcount(k) for k in keys], sys.getrefcount(value)) == before
    s.mset([(k, value) for k in keys])
    assert sys.getrefcount(value) == before[1] + N
    s.clear()
    assert ([sys.getrefcount(k) for k in keys], sys.getrefcount(value)) == before


def test_generator_batch_across_chunks():
    s = TrieStore()
    s.mset((_key(i), i) for i in range(N))
    assert len(s) == N
    assert s[_key(N - 1)] == N - 1
    with pytest.raises(TypeError):
        s.mset((_key(i) if i < N else 0, -i) for i in range(N + 1))
    assert s[_key(N - 1)] == N - 1
