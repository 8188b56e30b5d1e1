"""memory_usage(): bytes held by the trie (keys included, values not)."""

from memstore import InMemoryByteStore, TrieStore


def test_memory_usage_is_int():
    assert isinstance(TrieStore().memory_usage(), int)
    assert TrieStore().memory_usage() >= 0


def test_memory_usage_grows_and_returns_after_clear():
    s = TrieStore()
    empty = s.memory_usage()
    s.mset([(f"key:{i}", i) for i in range(1000)])
    full = s.memory_usage()
    assert full > 0
    assert full > empty
    s.clear()
    assert s.memory_usage() == empty
    assert s.memory_usage() == TrieStore().memory_usage()


def test_memory_usage_counts_key_bytes():
    s = TrieStore()
    empty = s.memory_usage()
    s["k" * 100_000] = 1
    assert s.memory_usage() - empty >= 100_000


def test_memory_usage_does_not_count_values():
    a, b = TrieStore(), TrieStore()
    a.mset([(f"k{i}", None) for i in range(100)])
    b.mset([(f"k{i}", "x" * 10_000) for i in range(100)])
    assert a.memory_usage() == b.memory_usage()


def test_memory_usage_after_deleting_everything():
    s = TrieStore()
    empty = s.memory_usage()
    keys = [f"user:{i}:{j}" for i in range(50) for j in range(20)]
    s.mset([(k, 0) for k in keys])
    full = s.memory_usage()
    assert full > empty
    s.mdelete(keys)
    assert len(s) == 0
    # removal frees the nodes it empties (exact value not specified)
    assert s.memory_usage() < full
    s.clear()
    assert s.memory_usage() == empty
    s["again"] = 1
    assert s.memory_usage() > empty
    assert s.delete_prefix("") == 1
    s.clear()
    assert s.memory_usage() == empty


def test_memory_usage_byte_store():
    s = InMemoryByteStore()
    empty = s.memory_usage()
    s["a"] = b"x"
    assert s.memory_usage() > empty
    s.clear()
    assert s.memory_usage() == empty


# memory_usage() counts the bytes the tree asked for, not what the store's
# node pool holds (chunks, 8-byte rounding, blocks freed for reuse): the
# figure is exact, so it depends on the keys, not on the history.

KEYS = [f"message:{i % 89:04x}-{i % 7}:{i}" for i in range(5000)]


def test_memory_usage_depends_on_the_keys_not_the_order():
    a, b = TrieStore(), TrieStore()
    a.mset((k, 0) for k in KEYS)
    for k in reversed(KEYS):
        b[k] = 1
    assert a.memory_usage() == b.memory_usage()


def test_memory_usage_does_not_count_blocks_kept_for_reuse():
    s = TrieStore()
    s.mset((k, 0) for k in KEYS)
    full = s.memory_usage()
    s.mdelete(KEYS[::2])
    assert s.memory_usage() < full
    s.mset((k, 0) for k in KEYS[::2])
    assert s.memory_usage() == full


def test_memory_usage_of_a_loaded_store_is_the_stores(tmp_path):
    s = TrieStore((k, 0) for k in KEYS)
    s.save(tmp_path / "snap")
    assert TrieStore.load(tmp_path / "snap").memory_usage() == s.memory_usage()


def test_sizeof_is_at_least_memory_usage():
    import sys

    s = TrieStore((k, 0) for k in KEYS)
    assert sys.getsizeof(s) >= s.memory_usage() > 0
