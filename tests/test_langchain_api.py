"""LangChain's store surface: mget, mset, mdelete, yield_keys (+ listing options)."""

import pytest

from memstore import TrieStore


def make(keys, value=lambda k: "v:" + k):
    s = TrieStore()
    s.mset([(k, value(k)) for k in keys])
    return s


# --------------------------------------------------------------------- mget


def test_mget_missing_is_none():
    s = make(["a", "b"])
    assert s.mget(["a", "missing", "b", ""]) == ["v:a", None, "v:b", None]


def test_mget_empty_batch():
    s = make(["a"])
    assert s.mget([]) == []
    assert TrieStore().mget([]) == []


def test_mget_preserves_order():
    keys = [f"k{i:03d}" for i in range(200)]
    s = make(keys)
    order = keys[::-1] + keys[::7]
    assert s.mget(order) == ["v:" + k for k in order]


def test_mget_duplicates():
    s = make(["a", "b"])
    assert s.mget(["a", "a", "zz", "b", "a", "zz"]) == [
        "v:a",
        "v:a",
        None,
        "v:b",
        "v:a",
        None,
    ]


def test_mget_accepts_any_iterable():
    s = make(["a", "b", "c"])
    assert s.mget(("c", "a")) == ["v:c", "v:a"]
    assert s.mget(k for k in ["b", "x"]) == ["v:b", None]
    assert s.mget(iter(["a"])) == ["v:a"]


def test_mget_returns_the_stored_objects():
    obj = object()
    s = TrieStore()
    s.mset([("o", obj)])
    (got,) = s.mget(["o"])
    assert got is obj


def test_mget_none_value_is_stored_value():
    s = TrieStore()
    s.mset([("n", None)])
    assert s.mget(["n"]) == [None]
    assert "n" in s
    assert len(s) == 1


def test_mget_returns_a_new_list():
    s = make(["a"])
    r1 = s.mget(["a"])
    r1.append("junk")
    assert s.mget(["a"]) == ["v:a"]


# --------------------------------------------------------------------- mset


def test_mset_inserts_and_overwrites():
    s = TrieStore()
    assert s.mset([("a", 1), ("b", 2)]) is None
    s.mset([("b", 3), ("c", 4)])
    assert s.mget(["a", "b", "c"]) == [1, 3, 4]
    assert len(s) == 3


def test_mset_last_duplicate_wins():
    s = TrieStore()
    s.mset([("a", 1), ("b", 2), ("a", 3), ("a", 4), ("b", 5)])
    assert s.mget(["a", "b"]) == [4, 5]
    assert len(s) == 2


def test_mset_last_duplicate_wins_over_existing():
    s = make(["a"])
    s.mset([("a", 1), ("a", 2)])
    assert s["a"] == 2
    assert len(s) == 1


@pytest.mark.parametrize(
    "wrap",
    [list, tuple, lambda ps: (p for p in ps), iter, lambda ps: [list(p) for p in ps]],
    ids=["list", "tuple", "generator", "iterator", "list-of-lists"],
)
def test_mset_accepts_pair_containers(wrap):
    pairs = [("x", 1), ("y", 2), ("x", 3)]
    s = TrieStore()
    s.mset(wrap(pairs))
    assert sorted(s.items()) == [("x", 3), ("y", 2)]


def test_mset_accepts_dict_items():
    s = TrieStore()
    s.mset({"a": 1, "b": 2}.items())
    assert dict(s.items()) == {"a": 1, "b": 2}


def test_mset_empty_batch():
    s = make(["a"])
    s.mset([])
    s.mset(iter(()))
    assert list(s.items()) == [("a", "v:a")]


def test_mset_large_batch():
    pairs = [(f"key:{i}", i) for i in range(20_000)]
    s = TrieStore()
    s.mset(pairs)
    assert len(s) == 20_000
    assert s.mget(["key:0", "key:19999", "key:20000"]) == [0, 19999, None]


# ------------------------------------------------------------------ mdelete


def test_mdelete_removes_and_ignores_missing():
    s = make(["a", "b", "c"])
    assert s.mdelete(["b", "missing", "", "b"]) is None
    assert list(s) == ["a", "c"]
    assert s.mget(["a", "b", "c"]) == ["v:a", None, "v:c"]


def test_mdelete_on_empty_store():
    s = TrieStore()
    s.mdelete(["a", "b"])
    assert len(s) == 0


def test_mdelete_accepts_generator():
    s = make(["a", "b", "c"])
    s.mdelete(k for k in "ac")
    assert list(s) == ["b"]


def test_mdelete_everything():
    keys = [f"k{i}" for i in range(500)]
    s = make(keys)
    s.mdelete(keys)
    assert len(s) == 0
    assert list(s) == []
    assert s.count("") == 0


# --------------------------------------------------------------- yield_keys

KEYS = [
    "",
    "a",
    "ab",
    "abc",
    "abd",
    "b",
    "ba",
    "message:s1:1",
    "message:s1:2",
    "message:s2:1",
]


def test_yield_keys_all_sorted():
    import random

    shuffled = KEYS[:]
    random.Random(1).shuffle(shuffled)
    s = make(shuffled)
    assert list(s.yield_keys()) == sorted(KEYS)
    assert list(s.yield_keys(prefix=None)) == sorted(KEYS)
    assert list(s.yield_keys(prefix="")) == sorted(KEYS)


def test_yield_keys_prefix():
    s = make(KEYS)
    assert list(s.yield_keys(prefix="a")) == ["a", "ab", "abc", "abd"]
    assert list(s.yield_keys(prefix="ab")) == ["ab", "abc", "abd"]
    assert list(s.yield_keys(prefix="abc")) == ["abc"]
    assert list(s.yield_keys(prefix="abcd")) == []
    assert list(s.yield_keys(prefix="message:s1:")) == ["message:s1:1", "message:s1:2"]
    assert list(s.yield_keys(prefix="message:")) == [
        "message:s1:1",
        "message:s1:2",
        "message:s2:1",
    ]
    assert list(s.yield_keys(prefix="c")) == []
    assert list(s.yield_keys(prefix="mess")) == [
        "message:s1:1",
        "message:s1:2",
        "message:s2:1",
    ]


def test_yield_keys_prefix_in_middle_of_compressed_path():
    s = make(["hello world", "hello there", "help"])
    assert list(s.yield_keys(prefix="hel")) == ["hello there", "hello world", "help"]
    assert list(s.yield_keys(prefix="hello t")) == ["hello there"]
    assert list(s.yield_keys(prefix="hello x")) == []
    assert list(s.yield_keys(prefix="hello world!")) == []


def test_yield_keys_is_an_iterator():
    s = make(["a", "b"])
    it = s.yield_keys()
    assert iter(it) is it
    assert next(it) == "a"
    assert next(it) == "b"
    with pytest.raises(StopIteration):
        next(it)
    with pytest.raises(StopIteration):
        next(it)


def test_yield_keys_yields_str():
    s = make(["a", "é", "\U0001f600"])
    for k in s.yield_keys():
        assert type(k) is str


def test_yield_keys_options_are_keyword_only():
    s = make(["a"])
    with pytest.raises(TypeError):
        s.yield_keys("a")


def test_yield_keys_empty_store():
    s = TrieStore()
    assert list(s.yield_keys()) == []
    assert list(s.yield_keys(prefix="a", reverse=True)) == []
    assert list(s.yield_keys(start_after="a", limit=3)) == []


def test_yield_keys_reverse():
    s = make(KEYS)
    assert list(s.yield_keys(reverse=True)) == sorted(KEYS, reverse=True)
    assert list(s.yield_keys(prefix="a", reverse=True)) == ["abd", "abc", "ab", "a"]
    assert list(s.yield_keys(prefix="x", reverse=True)) == []


def test_yield_keys_limit():
    s = make(KEYS)
    srt = sorted(KEYS)
    assert list(s.yield_keys(limit=0)) == []
    assert list(s.yield_keys(limit=None)) == srt
    assert list(s.yield_keys(limit=1)) == srt[:1]
    assert list(s.yield_keys(limit=3)) == srt[:3]
    assert list(s.yield_keys(limit=len(KEYS))) == srt
    assert list(s.yield_keys(limit=10**9)) == srt
    assert list(s.yield_keys(prefix="a", limit=2)) == ["a", "ab"]
    assert list(s.yield_keys(prefix="a", limit=2, reverse=True)) == ["abd", "abc"]
    assert list(s.yield_keys(prefix="a", limit=0, reverse=True)) == []


@pytest.mark.parametrize("limit", [-1, -2, -(10**20)])
def test_yield_keys_negative_limit_is_value_error(limit):
    s = make(KEYS)
    with pytest.raises(ValueError):
        list(s.yield_keys(limit=limit))
    with pytest.raises(ValueError):
        list(s.yield_keys(prefix="a", limit=limit, reverse=True))


def test_yield_keys_start_after():
    s = make(KEYS)
    srt = sorted(KEYS)
    assert list(s.yield_keys(start_after="")) == srt[1:]
    assert list(s.yield_keys(start_after="ab")) == ["abc", "abd", "b", "ba"] + srt[-3:]
    # start_after need not be stored
    assert list(s.yield_keys(start_after="abcc")) == ["abd", "b", "ba"] + srt[-3:]
    assert list(s.yield_keys(start_after="zzz")) == []
    assert list(s.yield_keys(start_after="message:s2:1")) == []
    assert list(s.yield_keys(start_after="\x00")) == srt[1:]


def test_yield_keys_start_after_reverse():
    s = make(KEYS)
    assert list(s.yield_keys(start_after="abc", reverse=True)) == ["ab", "a", ""]
    assert list(s.yield_keys(start_after="abcc", reverse=True)) == [
        "abc",
        "ab",
        "a",
        "",
    ]
    assert list(s.yield_keys(start_after="a", reverse=True)) == [""]
    assert list(s.yield_keys(start_after="", reverse=True)) == []
    assert list(s.yield_keys(start_after="zzz", reverse=True)) == sorted(
        KEYS, reverse=True
    )


def test_yield_keys_start_after_with_prefix():
    s = make(KEYS)
    assert list(s.yield_keys(prefix="a", start_after="ab")) == ["abc", "abd"]
    assert list(s.yield_keys(prefix="a", start_after="ab", reverse=True)) == ["a"]
    # start_after below the prefix range: the whole range
    assert list(s.yield_keys(prefix="ab", start_after="a")) == ["ab", "abc", "abd"]
    assert list(s.yield_keys(prefix="ab", start_after="")) == ["ab", "abc", "abd"]
    # start_after above the prefix range: nothing forward, everything backward
    assert list(s.yield_keys(prefix="ab", start_after="b")) == []
    assert list(s.yield_keys(prefix="ab", start_after="b", reverse=True)) == [
        "abd",
        "abc",
        "ab",
    ]
    # below the range, backward: nothing
    assert list(s.yield_keys(prefix="ab", start_after="a", reverse=True)) == []
    # start_after equal to the prefix
    assert list(s.yield_keys(prefix="ab", start_after="ab")) == ["abc", "abd"]
    assert list(s.yield_keys(prefix="ab", start_after="ab", reverse=True)) == []
    # combined with limit
    assert list(
        s.yield_keys(prefix="message:", start_after="message:s1:1", limit=1)
    ) == ["message:s1:2"]


def test_readme_example():
    store = TrieStore()
    store.mset(
        [("message:s1:1", "hi"), ("message:s1:2", "hello"), ("message:s2:1", "yo")]
    )
    assert store.mget(["message:s1:1", "missing"]) == ["hi", None]
    assert list(store.yield_keys(prefix="message:s1:")) == [
        "message:s1:1",
        "message:s1:2",
    ]
    assert store.count("message:") == 3
    assert store.longest_prefix("message:s1:1:attachment") == ("message:s1:1", "hi")
    page = list(
        store.yield_keys(prefix="message:", start_after="message:s1:2", limit=10)
    )
    assert page == ["message:s2:1"]
    assert store.delete_prefix("message:s1:") == 2
    assert list(store) == ["message:s2:1"]


# ------------------------------------------------------------------- paging


def _page_all(s, *, reverse, limit=37, prefix=None):
    out, last, pages = [], None, 0
    while True:
        page = list(
            s.yield_keys(prefix=prefix, start_after=last, limit=limit, reverse=reverse)
        )
        assert len(page) <= limit
        pages += 1
        if not page:
            break
        out.extend(page)
        last = page[-1]
        assert pages < 10_000, "paging does not terminate"
    return out, pages


@pytest.mark.parametrize("reverse", [False, True])
def test_paging_1000_keys(reverse):
    import random

    keys = [f"user:{random.Random(i).randrange(10**9):09d}:{i}" for i in range(1000)]
    s = TrieStore()
    s.mset([(k, None) for k in keys])
    out, pages = _page_all(s, reverse=reverse)
    assert out == sorted(keys, reverse=reverse)
    assert pages == 1000 // 37 + 2  # 27 full pages, one of 1, one empty


@pytest.mark.parametrize("reverse", [False, True])
def test_paging_with_prefix_and_nested_keys(reverse):
    # keys that are prefixes of one another, plus keys outside the prefix
    keys = (
        ["p" * i for i in range(1, 60)]
        + [f"p{i:04d}" for i in range(700)]
        + ["o", "q", "pz", "pq"]
    )
    keys += ["p\x00" + str(i) for i in range(50)] + [
        "p\U0001f600" * 3,
        "p\ud800",
        "p\ue000",
    ]
    s = TrieStore()
    s.mset([(k, k) for k in keys])
    out, _ = _page_all(s, reverse=reverse, prefix="p")
    assert out == sorted((k for k in keys if k.startswith("p")), reverse=reverse)
    for limit in (1, 2, 1000):
        out, _ = _page_all(s, reverse=reverse, prefix="pp", limit=limit)
        assert out == sorted((k for k in keys if k.startswith("pp")), reverse=reverse)
