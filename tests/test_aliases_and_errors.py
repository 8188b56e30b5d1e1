"""Aliases (InMemoryStore, InMemoryByteStore, TrieStore[V]) and the
all-or-nothing error rules of the batch methods."""

import pytest

import memstore
from memstore import InMemoryByteStore, InMemoryStore, TrieStore

# ------------------------------------------------------------------ aliases


def test_inmemorystore_is_triestore():
    assert InMemoryStore is TrieStore
    assert memstore.InMemoryStore is memstore.TrieStore


def test_class_subscript_at_runtime():
    alias = TrieStore[int]
    s = alias()
    s["a"] = 1
    assert s["a"] == 1
    assert isinstance(s, TrieStore)
    t = InMemoryStore[str]({"x": "y"})
    assert t["x"] == "y"


def test_byte_store_accepts_bytes():
    s = InMemoryByteStore()
    s.mset([("a", b"1"), ("b", b""), ("c", b"\x00" * 1000)])
    assert s.mget(["a", "b", "c", "d"]) == [b"1", b"", b"\x00" * 1000, None]
    s["d"] = b"dd"
    assert s["d"] == b"dd"
    assert list(s.yield_keys(prefix="c")) == ["c"]
    assert s.count() == 4
    assert s.longest_prefix("dz") == ("d", b"dd")
    assert s.delete_prefix("") == 4


def test_byte_store_rejects_non_bytes_and_writes_nothing():
    s = InMemoryByteStore()
    s["keep"] = b"old"
    with pytest.raises(TypeError) as ei:
        s.mset([("a", b"1"), ("keep", b"new"), ("b", "text")])
    msg = str(ei.value)
    assert "2" in msg and "index" in msg
    assert "str" in msg
    assert list(s.items()) == [("keep", b"old")]


@pytest.mark.parametrize(
    "bad,typename",
    [
        (1, "int"),
        (None, "NoneType"),
        (bytearray(b"x"), "bytearray"),
        (memoryview(b"x"), "memoryview"),
        ([1], "list"),
    ],
)
def test_byte_store_rejects_value_types(bad, typename):
    s = InMemoryByteStore()
    with pytest.raises(TypeError, match=typename) as ei:
        s.mset([("a", b"1"), ("b", bad)])
    assert "index 1" in str(ei.value)
    assert len(s) == 0


def test_byte_store_setitem_rejects_non_bytes():
    s = InMemoryByteStore()
    with pytest.raises(TypeError, match="str"):
        s["a"] = "text"
    assert "a" not in s
    assert len(s) == 0


def test_byte_store_bad_value_at_end_of_large_batch():
    s = InMemoryByteStore()
    s.mset([(f"k{i}", b"old") for i in range(1000)])
    pairs = [(f"k{i}", b"new") for i in range(999)] + [("k999", "not bytes")]
    with pytest.raises(TypeError, match="999"):
        s.mset(pairs)
    assert set(s.values()) == {b"old"}
    assert len(s) == 1000


def test_byte_store_constructor_validates():
    with pytest.raises(TypeError):
        InMemoryByteStore({"a": "text"})
    assert InMemoryByteStore({"a": b"1"})["a"] == b"1"


def test_byte_store_bytes_subclass_accepted():
    class B(bytes):
        pass

    s = InMemoryByteStore()
    s["a"] = B(b"x")
    assert s["a"] == b"x"


# ------------------------------------------------------------ key type errors


@pytest.mark.parametrize(
    "bad,typename",
    [
        (3, "int"),
        (None, "NoneType"),
        (b"k", "bytes"),
        (1.5, "float"),
        (("a",), "tuple"),
    ],
)
def test_mget_non_str_key(bad, typename):
    s = TrieStore({"a": 1})
    with pytest.raises(TypeError) as ei:
        s.mget(["a", "b", bad, "c"])
    msg = str(ei.value)
    assert "index 2" in msg
    assert typename in msg


@pytest.mark.parametrize(
    "bad,typename", [(3, "int"), (None, "NoneType"), (b"k", "bytes")]
)
def test_mset_non_str_key(bad, typename):
    s = TrieStore({"a": 1})
    with pytest.raises(TypeError) as ei:
        s.mset([("a", 2), ("b", 2), (bad, 2), ("c", 2)])
    msg = str(ei.value)
    assert "index 2" in msg
    assert typename in msg
    assert list(s.items()) == [("a", 1)]


@pytest.mark.parametrize(
    "bad,typename", [(3, "int"), (None, "NoneType"), (b"k", "bytes")]
)
def test_mdelete_non_str_key(bad, typename):
    s = TrieStore({"a": 1, "b": 2, "c": 3})
    with pytest.raises(TypeError) as ei:
        s.mdelete(["a", "b", bad, "c"])
    msg = str(ei.value)
    assert "index 2" in msg
    assert typename in msg
    assert list(s.items()) == [("a", 1), ("b", 2), ("c", 3)]


def test_error_message_format():
    s = TrieStore()
    with pytest.raises(TypeError, match=r"^key at index 3 must be str, not int$"):
        s.mget(["a", "b", "c", 7])


@pytest.mark.parametrize(
    "bad",
    [5, None, "abc", ("only-key",), ("k", 1, 2), ()],
    ids=["int", "None", "3-char-str", "1-tuple", "3-tuple", "empty-tuple"],
)
def test_mset_element_not_a_pair(bad):
    s = TrieStore({"a": 1})
    with pytest.raises(TypeError):
        s.mset([("a", 2), ("b", 2), bad])
    assert list(s.items()) == [("a", 1)]


@pytest.mark.parametrize("batch", [5, None, object()])
def test_batch_argument_not_iterable(batch):
    s = TrieStore({"a": 1})
    with pytest.raises(TypeError):
        s.mset(batch)
    with pytest.raises(TypeError):
        s.mget(batch)
    with pytest.raises(TypeError):
        s.mdelete(batch)
    assert list(s.items()) == [("a", 1)]


# ---------------------------------------------------- iterators that raise


class Boom(RuntimeError):
    pass


class Interrupt(KeyboardInterrupt):
    pass


def raising_gen(items, exc):
    yield from items
    raise exc


@pytest.mark.parametrize("exc", [Boom, Interrupt])
def test_mset_generator_raising_midway_writes_nothing(exc):
    s = TrieStore({"a": "old"})
    pairs = [("a", "new"), ("b", 1), ("c", 2)]
    with pytest.raises(exc):
        s.mset(raising_gen(pairs, exc("stop")))
    assert list(s.items()) == [("a", "old")]


@pytest.mark.parametrize("exc", [Boom, Interrupt])
def test_mdelete_generator_raising_midway_deletes_nothing(exc):
    s = TrieStore({"a": 1, "b": 2, "c": 3})
    with pytest.raises(exc):
        s.mdelete(raising_gen(["a", "b"], exc("stop")))
    assert list(s.items()) == [("a", 1), ("b", 2), ("c", 3)]


@pytest.mark.parametrize("exc", [Boom, Interrupt])
def test_mget_generator_raising_midway_propagates(exc):
    s = TrieStore({"a": 1})
    with pytest.raises(exc):
        s.mget(raising_gen(["a", "b"], exc("stop")))
    assert s["a"] == 1


@pytest.mark.parametrize("exc", [Boom, Interrupt])
def test_constructor_generator_raising_propagates(exc):
    with pytest.raises(exc):
        TrieStore(raising_gen([("a", 1)], exc("stop")))


def test_mset_pair_whose_iteration_raises():
    class BadPair:
        def __iter__(self):
            yield "k"
            raise Boom("pair")

        def __len__(self):
            return 2

        def __getitem__(self, i):
            if i == 0:
                return "k"
            raise Boom("pair")

    s = TrieStore({"a": 1})
    with pytest.raises(
        (Boom, TypeError)
    ):  # TypeError if only tuples/lists count as pairs
        s.mset([("x", 1), BadPair()])
    assert list(s.items()) == [("a", 1)]


def test_mset_key_str_subclass_raising_on_encode_is_not_called():
    # A str subclass is stored by its str value; overriding methods must not matter.
    class S(str):
        def encode(self, *a, **k):
            raise Boom("encode called")

        def __str__(self):
            return "other"

        def __hash__(self):
            return 0

        def __eq__(self, other):
            return False

    s = TrieStore()
    s.mset([(S("key"), 1)])
    assert list(s.items()) == [("key", 1)]
    assert type(next(iter(s))) is str
    s[S("key2")] = 2
    assert s.mget([S("key"), "key2"]) == [1, 2]
    s.mdelete([S("key")])
    assert list(s) == ["key2"]


# --------------------------------------------------- bad element at the end


def test_mset_bad_key_at_end_of_1000_writes_nothing():
    s = TrieStore()
    s.mset([(f"k{i:04d}", "old") for i in range(0, 1000, 2)])
    before = list(s.items())
    pairs = [(f"k{i:04d}", "new") for i in range(999)] + [(999, "new")]
    with pytest.raises(TypeError) as ei:
        s.mset(pairs)
    assert "index 999" in str(ei.value) and "int" in str(ei.value)
    assert list(s.items()) == before
    assert len(s) == 500


def test_mset_non_pair_at_end_of_1000_writes_nothing():
    s = TrieStore({"k0000": "old"})
    pairs = [(f"k{i:04d}", "new") for i in range(999)] + [("tail",)]
    with pytest.raises(TypeError):
        s.mset(pairs)
    assert list(s.items()) == [("k0000", "old")]


def test_mdelete_bad_key_at_end_of_1000_deletes_nothing():
    s = TrieStore()
    s.mset([(f"k{i:04d}", i) for i in range(1000)])
    with pytest.raises(TypeError) as ei:
        s.mdelete([f"k{i:04d}" for i in range(999)] + [object()])
    assert "index 999" in str(ei.value)
    assert len(s) == 1000
    assert s["k0000"] == 0


def test_mset_duplicate_then_bad_key_writes_nothing():
    s = TrieStore({"a": "old"})
    with pytest.raises(TypeError):
        s.mset([("a", 1), ("a", 2), ("b", 3), (None, 4)])
    assert list(s.items()) == [("a", "old")]


def test_failed_batch_releases_nothing_stored():
    import weakref

    class V:
        pass

    old = V()
    r = weakref.ref(old)
    s = TrieStore({"a": old})
    del old
    with pytest.raises(TypeError):
        s.mset([("a", V()), (1, V())])
    assert r() is not None
    assert s["a"] is r()
