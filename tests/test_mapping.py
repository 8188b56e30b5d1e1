"""Mapping surface: len, in, [], get, iteration, keys/values/items, clear,
copy, equality, hashing, pickle, repr, constructor."""

import copy as copy_module
import pickle
import threading
import types

import pytest

from memstore import InMemoryByteStore, TrieStore

KEYS = ["", "a", "ab", "abc", "abd", "b", "ba", "é", "\U0001f600", "x\x00y", "\ud800"]


def filled(keys=KEYS):
    s = TrieStore()
    s.mset([(k, "v:" + k) for k in keys])
    return s


# ---------------------------------------------------------------- construct


def test_constructor_empty():
    assert len(TrieStore()) == 0
    assert len(TrieStore(None)) == 0
    assert list(TrieStore()) == []


def test_constructor_from_mapping():
    s = TrieStore({"b": 2, "a": 1})
    assert list(s.items()) == [("a", 1), ("b", 2)]


def test_constructor_from_pairs():
    s = TrieStore([("b", 2), ("a", 1), ("b", 3)])
    assert list(s.items()) == [("a", 1), ("b", 3)]
    s = TrieStore((k, len(k)) for k in ["xx", "y"])
    assert list(s.items()) == [("xx", 2), ("y", 1)]


def test_constructor_from_store():
    src = filled()
    s = TrieStore(src)
    assert list(s.items()) == list(src.items())
    s["new"] = 1
    assert "new" not in src


def test_constructor_bad_input():
    with pytest.raises(TypeError):
        TrieStore([("a", 1), (2, 2)])
    with pytest.raises(TypeError):
        TrieStore({1: "a"})
    with pytest.raises(TypeError):
        TrieStore([("a", 1), 7])


# ---------------------------------------------------------------- len / in


def test_len():
    s = TrieStore()
    assert len(s) == 0
    s["a"] = 1
    s["a"] = 2
    assert len(s) == 1
    s["ab"] = 1
    s[""] = 1
    assert len(s) == 3
    del s["a"]
    assert len(s) == 2
    s.mdelete(["", "ab", "zz"])
    assert len(s) == 0


def test_bool():
    s = TrieStore()
    assert not s
    s["a"] = 0
    assert s


def test_contains():
    s = filled()
    for k in KEYS:
        assert k in s
    for k in ["abcd", "c", "\x00", "x", "x\x00", "\ud801", "\U0001f601", "A"]:
        assert k not in s


@pytest.mark.parametrize(
    "other", [1, 1.5, None, b"a", b"", ["a"], {"a": 1}, ("a",), object()]
)
def test_contains_non_str_is_false(other):
    s = filled()
    assert (other in s) is False


def test_contains_str_subclass():
    class S(str):
        pass

    s = filled()
    assert S("ab") in s
    assert S("zz") not in s


# ------------------------------------------------------- getitem / setitem


def test_getitem_setitem_delitem():
    s = TrieStore()
    s["k"] = 1
    assert s["k"] == 1
    s["k"] = 2
    assert s["k"] == 2
    del s["k"]
    assert "k" not in s
    assert len(s) == 0


def test_getitem_missing_raises_keyerror():
    s = filled()
    with pytest.raises(KeyError) as ei:
        s["missing"]
    assert ei.value.args[0] == "missing"
    with pytest.raises(KeyError):
        s["abcd"]  # longer than a stored key
    with pytest.raises(KeyError):
        TrieStore()[""]


def test_delitem_missing_raises_keyerror():
    s = filled()
    before = list(s.items())
    with pytest.raises(KeyError):
        del s["missing"]
    with pytest.raises(KeyError):
        del s["abcd"]
    with pytest.raises(KeyError):
        del TrieStore()["a"]
    assert list(s.items()) == before


def test_delitem_twice():
    s = filled()
    del s["ab"]
    with pytest.raises(KeyError):
        del s["ab"]
    assert "abc" in s and "a" in s


def test_non_str_key_in_item_access_raises_typeerror():
    s = filled()
    with pytest.raises(TypeError, match="int"):
        s[1] = "x"
    with pytest.raises(TypeError, match="bytes"):
        s[b"a"] = "x"
    with pytest.raises(TypeError):
        s[1]
    with pytest.raises(TypeError):
        del s[1]
    assert len(s) == len(KEYS)


def test_get_with_default():
    s = filled()
    assert s.get("a") == "v:a"
    assert s.get("missing") is None
    sentinel = object()
    assert s.get("missing", sentinel) is sentinel
    assert s.get("a", sentinel) == "v:a"
    s["none"] = None
    assert s.get("none", sentinel) is None


def test_values_are_stored_by_reference():
    obj = []
    s = TrieStore()
    s["o"] = obj
    assert s["o"] is obj
    obj.append(1)
    assert s["o"] == [1]


# ---------------------------------------------------------------- iteration


def test_iter_sorted():
    import random

    keys = KEYS + [f"n{i}" for i in range(300)]
    random.Random(5).shuffle(keys)
    s = filled(keys)
    assert list(s) == sorted(keys)
    assert list(iter(s)) == sorted(keys)


def test_keys_values_items():
    s = filled()
    srt = sorted(KEYS)
    assert list(s.keys()) == srt
    assert list(s.values()) == ["v:" + k for k in srt]
    assert list(s.items()) == [(k, "v:" + k) for k in srt]


@pytest.mark.parametrize(
    "args,kwargs",
    [
        ((), {}),
        (("a",), {}),
        ((), {"prefix": "a"}),
        ((None,), {}),
        (("a",), {"reverse": True}),
        ((), {"start_after": "ab"}),
        ((), {"start_after": "ab", "reverse": True}),
        (("a",), {"start_after": "a", "limit": 2}),
        ((), {"limit": 0}),
        ((), {"limit": 4, "reverse": True}),
        (("zz",), {}),
    ],
)
def test_keys_values_items_listing_options(args, kwargs):
    s = filled()
    yk = dict(kwargs)
    if args:
        yk["prefix"] = args[0]
    expected = list(s.yield_keys(**yk))
    assert list(s.keys(*args, **kwargs)) == expected
    assert list(s.values(*args, **kwargs)) == ["v:" + k for k in expected]
    assert list(s.items(*args, **kwargs)) == [(k, "v:" + k) for k in expected]


def test_keys_values_items_negative_limit():
    s = filled()
    for meth in (s.keys, s.values, s.items):
        with pytest.raises(ValueError):
            list(meth(limit=-1))


def test_keys_values_items_bad_prefix_type():
    s = filled()
    for meth in (s.keys, s.values, s.items):
        with pytest.raises(TypeError):
            list(meth(1))
        with pytest.raises(TypeError):
            list(meth(start_after=b"a"))


# -------------------------------------------------------------------- clear


def test_clear():
    s = filled()
    assert s.clear() is None
    assert len(s) == 0
    assert list(s) == []
    assert s.count("") == 0
    assert s.mget(["a"]) == [None]
    s["again"] = 1
    assert list(s.items()) == [("again", 1)]
    s.clear()
    s.clear()
    assert len(s) == 0


# --------------------------------------------------------------------- copy


def test_copy_is_independent_and_shallow():
    shared = {"inner": 1}
    s = filled()
    s["shared"] = shared
    c = s.copy()
    assert isinstance(c, TrieStore)
    assert c is not s
    assert list(c.items()) == list(s.items())
    assert c["shared"] is shared  # shallow
    c["new"] = 1
    del c["a"]
    c["b"] = "changed"
    assert "new" not in s
    assert s["a"] == "v:a"
    assert s["b"] == "v:b"
    s.clear()
    assert len(c) == len(KEYS) + 1  # + shared + new - a
    assert c["shared"] is shared


def test_copy_empty():
    c = TrieStore().copy()
    assert len(c) == 0
    c["a"] = 1
    assert len(c) == 1


def test_copy_module():
    s = filled()
    s["obj"] = [1]
    c = copy_module.copy(s)
    assert c == s and c is not s
    assert c["obj"] is s["obj"]
    d = copy_module.deepcopy(s)
    assert d == s
    assert d["obj"] is not s["obj"]


# ---------------------------------------------------------------- equality


def test_eq_with_store():
    a, b = filled(), filled()
    assert a == b
    assert not (a != b)
    b["a"] = "other"
    assert a != b
    assert not (a == b)
    b["a"] = "v:a"
    assert a == b
    b["extra"] = 1
    assert a != b
    del b["extra"]
    del b["a"]
    assert a != b
    assert TrieStore() == TrieStore()


def test_eq_with_dict():
    s = filled()
    d = {k: "v:" + k for k in KEYS}
    assert s == d
    assert d == s
    assert not (s != d)
    assert not (d != s)
    d["a"] = "other"
    assert s != d
    assert d != s
    assert TrieStore() == {}
    assert {} == TrieStore()
    assert TrieStore({"a": 1}) != {}
    assert TrieStore() != {"a": 1}


def test_eq_with_other_mapping():
    s = filled()
    assert s == types.MappingProxyType({k: "v:" + k for k in KEYS})
    assert s != types.MappingProxyType({})


def test_eq_same_keys_different_values_and_vice_versa():
    assert TrieStore({"a": 1}) != TrieStore({"a": 2})
    assert TrieStore({"a": 1}) != TrieStore({"b": 1})
    assert TrieStore({"a": 1}) != {"a": 2}
    assert TrieStore({"a": 1, "b": 2}) == {"b": 2, "a": 1}


@pytest.mark.parametrize("other", [None, 0, "a", ["a"], [("a", 1)], {"a"}, ("a",)])
def test_eq_with_non_mapping_is_false(other):
    s = TrieStore({"a": 1})
    assert (s == other) is False
    assert (s != other) is True


def test_eq_uses_value_equality():
    assert TrieStore({"a": 1}) == TrieStore({"a": 1.0})
    assert TrieStore({"a": [1, 2]}) == {"a": [1, 2]}


def test_unhashable():
    with pytest.raises(TypeError):
        hash(TrieStore())
    with pytest.raises(TypeError):
        {TrieStore()}


# ------------------------------------------------------------------- pickle


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_pickle_roundtrip(protocol):
    s = filled()
    s["nested"] = {"list": [1, 2, 3], "bytes": b"\x00\xff"}
    s["long:" + "x" * 10_000] = 5
    data = pickle.dumps(s, protocol=protocol)
    t = pickle.loads(data)
    assert type(t) is TrieStore
    assert t == s
    assert list(t.items()) == list(s.items())
    t["new"] = 1
    assert "new" not in s


def test_pickle_empty():
    t = pickle.loads(pickle.dumps(TrieStore()))
    assert type(t) is TrieStore
    assert len(t) == 0


def test_pickle_large():
    s = TrieStore((f"k{i}", i) for i in range(50_000))
    t = pickle.loads(pickle.dumps(s, protocol=pickle.HIGHEST_PROTOCOL))
    assert t == s
    assert len(t) == 50_000


def test_pickle_byte_store():
    s = InMemoryByteStore()
    s.mset([("a", b"1"), ("b", b"")])
    t = pickle.loads(pickle.dumps(s))
    assert type(t) is InMemoryByteStore
    assert t == s
    with pytest.raises(TypeError):
        t["c"] = "str"


@pytest.mark.parametrize(
    "bad", [lambda: None, threading.Lock()], ids=["lambda", "lock"]
)
def test_pickle_unpicklable_value_raises_and_leaves_store_intact(bad):
    s = filled()
    s["bad"] = bad
    before = list(s.items())
    # a lambda: PicklingError (AttributeError on some versions); a lock: TypeError
    with pytest.raises((pickle.PicklingError, AttributeError, TypeError)):
        pickle.dumps(s)
    assert list(s.items()) == before
    assert s["bad"] is bad
    assert len(s) == len(KEYS) + 1
    s["after"] = 1
    del s["bad"]
    assert len(s) == len(KEYS) + 1
    assert pickle.loads(pickle.dumps(s)) == s


# --------------------------------------------------------------------- repr


def test_repr_small():
    s = TrieStore({"a": 1, "b": [2]})
    r = repr(s)
    assert isinstance(r, str)
    assert "'a'" in r and "'b'" in r and "[2]" in r
    assert isinstance(repr(TrieStore()), str)


def test_repr_large_is_short():
    n = 200_000
    s = TrieStore()
    s.mset((f"key:{i:07d}", i) for i in range(n))
    r = repr(s)
    assert len(r) < 2000
    assert "key:0000000" in r
    assert "key:0000001" in r
    assert "key:0000010" not in r  # at most 10 items shown
    assert "key:0199999" not in r


def test_repr_self_reference_does_not_recurse():
    s = TrieStore()
    s["a"] = 1
    s["self"] = s
    r = repr(s)
    assert isinstance(r, str)
    assert "'a'" in r
    assert len(r) < 10_000
    # indirect cycle
    t = TrieStore()
    s["t"] = t
    t["s"] = s
    assert isinstance(repr(t), str)
    s.clear()  # break the cycles
    t.clear()


def test_str_does_not_fail():
    s = TrieStore({"a": 1})
    assert isinstance(str(s), str)


def test_store_holding_itself_can_be_cleared_and_collected():
    import gc

    s = TrieStore()
    s["self"] = s
    s["x"] = [s]
    del s
    gc.collect()  # must not crash, whatever the GC support


def test_pickle_store_containing_itself():
    s = TrieStore({"a": 1})
    s["self"] = s
    t = pickle.loads(pickle.dumps(s))
    assert type(t) is TrieStore
    assert t["self"] is t
    assert t["a"] == 1
    assert list(t) == ["a", "self"]
    s.clear()
    t.clear()


def test_long_chain_of_nested_stores_frees_without_recursion():
    import gc

    outer = TrieStore()
    cur = outer
    for _ in range(100_000):
        nxt = TrieStore()
        cur["next"] = nxt
        cur = nxt
    cur["end"] = 1
    del cur, nxt
    del outer  # frees 100,000 stores, each releasing the next
    gc.collect()


def test_eq_survives_values_that_mutate_the_stores():
    class Meddler:
        def __init__(self, store):
            self.store = store

        def __eq__(self, other):
            self.store.clear()
            self.store.mset([(f"z{i}", i) for i in range(50)])
            return True

        __hash__ = None

    a = TrieStore()
    b = TrieStore()
    a.mset([(f"k{i}", Meddler(a)) for i in range(20)])
    b.mset([(f"k{i}", Meddler(b)) for i in range(20)])
    result = a == b  # outcome not specified; must not crash or raise
    assert isinstance(result, bool)
    c = TrieStore({f"k{i}": Meddler(None) for i in range(5)})
    d = {f"k{i}": 0 for i in range(5)}
    c_vals = list(c.values())
    for v in c_vals:
        v.store = c
    assert isinstance(c == d, bool)
    a.clear(), b.clear(), c.clear()


class _Node:
    """A plain object that can hold a reference back to its store."""


def test_cycle_through_a_store_is_collected():
    import gc
    import weakref

    s = TrieStore()
    value = _Node()
    value.store = s  # store -> value -> store
    s["v"] = value
    s["self"] = s
    store_ref, value_ref = weakref.ref(s), weakref.ref(value)
    del s, value
    gc.collect()
    assert store_ref() is None
    assert value_ref() is None


def test_values_held_only_by_a_live_store_survive_collection():
    import gc
    import weakref

    s = TrieStore()
    refs = []
    for i in range(2000):
        value = _Node()
        value.peer = _Node()  # gc-tracked, referenced only through the store
        value.peer.back = value  # a cycle that is reachable through the store
        refs.append(weakref.ref(value))
        s[f"k:{i:05d}"] = value
    del value
    for _ in range(3):
        gc.collect()
    assert all(r() is not None for r in refs)
    assert all(s[f"k:{i:05d}"].peer.back is s[f"k:{i:05d}"] for i in range(2000))
