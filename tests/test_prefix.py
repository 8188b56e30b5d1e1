"""Prefix surface: count, delete_prefix, longest_prefix."""

import random

import pytest

from memstore import TrieStore

KEYS = [
    "",
    "a",
    "ab",
    "abc",
    "abcdef",
    "abd",
    "b",
    "ba",
    "hello world",
    "hello there",
    "help",
    "é",
    "éa",
    "\U0001f600",
    "\U0001f600\U0001f600",
    "x\x00",
    "x\x00y",
    "x",
]


def filled(keys=KEYS):
    s = TrieStore()
    s.mset([(k, "v:" + k) for k in keys])
    return s


def model_count(keys, p):
    return sum(1 for k in keys if k.startswith(p))


# -------------------------------------------------------------------- count


def test_count_empty_prefix_is_len():
    s = filled()
    assert s.count() == len(KEYS)
    assert s.count("") == len(KEYS)
    assert TrieStore().count() == 0
    assert TrieStore().count("a") == 0


@pytest.mark.parametrize(
    "prefix",
    [
        "a",
        "ab",
        "abc",
        "abcd",
        "abcdef",
        "abcdefg",
        "b",
        "c",
        "h",
        "hel",
        "hell",
        "hello ",
        "hello w",
        "hello x",
        "é",
        "\U0001f600",
        "x",
        "x\x00",
        "x\x00y",
        "x\x00z",
        "\x00",
        "y",
    ],
)
def test_count_prefix(prefix):
    s = filled()
    assert s.count(prefix) == model_count(KEYS, prefix)


def test_count_prefix_in_middle_of_keys():
    s = filled(["abcdefgh", "abcdefgi", "abcdxyz"])
    assert s.count("abcdef") == 2
    assert s.count("abcd") == 3
    assert s.count("abcde") == 2
    assert s.count("abcdefgh") == 1
    assert s.count("abcdefghi") == 0
    assert s.count("abcdefgj") == 0
    assert s.count("abcx") == 0
    assert s.count("b") == 0


def test_count_partial_utf8_sequence_does_not_match():
    # "é" is C3 A9 and "ê" is C3 AA: they share a byte, but neither is a
    # prefix of the other as a str.
    s = filled(["é", "ê", "éa"])
    assert s.count("é") == 2
    assert s.count("ê") == 1
    assert s.count("\u00c3") == 0


def test_count_tracks_changes():
    rng = random.Random(3)
    keys = set()
    s = TrieStore()
    for i in range(3000):
        k = "".join(rng.choice("abc") for _ in range(rng.randrange(6)))
        if rng.random() < 0.6:
            s[k] = i
            keys.add(k)
        else:
            s.mdelete([k])
            keys.discard(k)
        if i % 97 == 0:
            for p in ["", "a", "ab", "abc", "c", "cc", "bca"]:
                assert s.count(p) == model_count(keys, p)
    assert s.count() == len(keys) == len(s)


# ------------------------------------------------------------ delete_prefix


@pytest.mark.parametrize(
    "prefix",
    [
        "a",
        "ab",
        "abc",
        "abcd",
        "abcdef",
        "b",
        "c",
        "hel",
        "hello ",
        "hello w",
        "é",
        "x\x00",
        "x",
        "\U0001f600",
    ],
)
def test_delete_prefix(prefix):
    s = filled()
    removed = [k for k in KEYS if k.startswith(prefix)]
    kept = sorted(k for k in KEYS if not k.startswith(prefix))
    assert s.delete_prefix(prefix) == len(removed)
    assert list(s) == kept
    assert len(s) == len(kept)
    assert s.count() == len(kept)
    for k in kept:
        assert s[k] == "v:" + k
    for k in removed:
        assert k not in s
    assert s.count(prefix) == 0
    assert s.delete_prefix(prefix) == 0


def test_delete_prefix_empty_removes_everything():
    s = filled()
    assert s.delete_prefix("") == len(KEYS)
    assert len(s) == 0
    assert list(s) == []
    assert s.delete_prefix("") == 0
    s["again"] = 1
    assert list(s.items()) == [("again", 1)]


def test_delete_prefix_no_match():
    s = filled()
    assert s.delete_prefix("zzz") == 0
    assert s.delete_prefix("abcdefg") == 0
    assert s.delete_prefix("hello x") == 0
    assert len(s) == len(KEYS)
    assert list(s) == sorted(KEYS)


def test_delete_prefix_then_reinsert():
    s = filled()
    s.delete_prefix("ab")
    s["abz"] = 1
    s["ab"] = 2
    assert list(s.yield_keys(prefix="a")) == ["a", "ab", "abz"]
    assert s.count("ab") == 2


def test_delete_prefix_large():
    s = TrieStore()
    s.mset([(f"user:{i % 10}:{i}", i) for i in range(50_000)])
    s.mset([(f"other:{i}", i) for i in range(1000)])
    assert s.delete_prefix("user:3:") == 5000
    assert s.count("user:") == 45_000
    assert s.count("user:3") == 0
    assert s.count("other:") == 1000
    assert s["user:4:4"] == 4
    assert s.delete_prefix("user:") == 45_000
    assert len(s) == 1000
    assert list(s) == sorted(f"other:{i}" for i in range(1000))


# ----------------------------------------------------------- longest_prefix


def test_longest_prefix():
    s = filled()
    assert s.longest_prefix("abcde") == ("abc", "v:abc")
    assert s.longest_prefix("abcdef") == ("abcdef", "v:abcdef")  # key itself
    assert s.longest_prefix("abcdefXYZ") == ("abcdef", "v:abcdef")
    assert s.longest_prefix("abc") == ("abc", "v:abc")
    assert s.longest_prefix("ab") == ("ab", "v:ab")
    assert s.longest_prefix("ac") == ("a", "v:a")
    assert s.longest_prefix("bar") == ("ba", "v:ba")
    assert s.longest_prefix("hello world!") == ("hello world", "v:hello world")
    assert s.longest_prefix("hello") == ("", "v:")  # no key is a prefix but ""
    assert s.longest_prefix("zzz") == ("", "v:")
    assert s.longest_prefix("") == ("", "v:")
    assert s.longest_prefix("x\x00yz") == ("x\x00y", "v:x\x00y")
    assert s.longest_prefix("x\x00z") == ("x\x00", "v:x\x00")
    assert s.longest_prefix("\U0001f600\U0001f600\U0001f600") == (
        "\U0001f600\U0001f600",
        "v:\U0001f600\U0001f600",
    )
    assert s.longest_prefix("éb") == ("é", "v:é")


def test_longest_prefix_none_when_nothing():
    s = filled([k for k in KEYS if k])  # without ""
    assert s.longest_prefix("zzz") is None
    assert s.longest_prefix("") is None
    assert s.longest_prefix("hello") is None
    assert s.longest_prefix("ab") == ("ab", "v:ab")
    assert TrieStore().longest_prefix("a") is None
    assert TrieStore().longest_prefix("") is None


def test_longest_prefix_empty_key_stored():
    s = TrieStore({"": 0})
    assert s.longest_prefix("") == ("", 0)
    assert s.longest_prefix("anything") == ("", 0)


def test_longest_prefix_does_not_split_characters():
    # "ê" (C3 AA) vs "é" (C3 A9): sharing a lead byte is not a prefix match.
    s = TrieStore({"é": 1})
    assert s.longest_prefix("ê") is None
    assert s.longest_prefix("éé") == ("é", 1)


def test_longest_prefix_returns_str_key_and_same_value():
    obj = object()
    s = TrieStore({"ab": obj})
    k, v = s.longest_prefix("abc")
    assert type(k) is str and k == "ab"
    assert v is obj


def test_longest_prefix_after_delete():
    s = filled()
    del s["abc"]
    assert s.longest_prefix("abcde") == ("ab", "v:ab")
    s.delete_prefix("a")
    assert s.longest_prefix("abcde") == ("", "v:")


def test_longest_prefix_random():
    rng = random.Random(11)
    keys = {
        "".join(rng.choice("ab\x00é") for _ in range(rng.randrange(7)))
        for _ in range(200)
    }
    keys.discard("")
    s = filled(sorted(keys))
    for _ in range(500):
        q = "".join(rng.choice("ab\x00é") for _ in range(rng.randrange(9)))
        cands = [k for k in keys if q.startswith(k)]
        expected = None
        if cands:
            best = max(cands, key=len)
            expected = (best, "v:" + best)
        assert s.longest_prefix(q) == expected


# ------------------------------------------------------------ bad arguments


@pytest.mark.parametrize("bad", [1, None, b"a", ["a"], 1.0])
def test_prefix_methods_reject_non_str(bad):
    s = filled()
    with pytest.raises(TypeError):
        s.delete_prefix(bad)
    with pytest.raises(TypeError):
        s.longest_prefix(bad)
    if bad is not None:
        with pytest.raises(TypeError):
            s.count(bad)
    assert len(s) == len(KEYS)


@pytest.mark.parametrize("bad", [1, b"a", ["a"], 1.0])
def test_listing_rejects_non_str_prefix_and_start_after(bad):
    s = filled()
    with pytest.raises(TypeError):
        list(s.yield_keys(prefix=bad))
    with pytest.raises(TypeError):
        list(s.yield_keys(start_after=bad))
    with pytest.raises(TypeError):
        list(s.yield_keys(prefix="a", start_after=bad, reverse=True))


def test_prefix_methods_accept_str_subclass():
    class S(str):
        pass

    s = filled()
    assert s.count(S("ab")) == model_count(KEYS, "ab")
    assert s.longest_prefix(S("abcz")) == ("abc", "v:abc")
    assert list(s.yield_keys(prefix=S("ab"), start_after=S("abc"))) == ["abcdef", "abd"]
    assert s.delete_prefix(S("ab")) == model_count(KEYS, "ab")


# ------------------------------------------------------ listing length hint
# list() sizes its result from __length_hint__; the hint comes from the
# prefix's subtree found by the seek, so it must be exact for every prefix.


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("method", ["yield_keys", "keys", "values", "items"])
def test_length_hint_is_the_prefix_count(method, reverse):
    import operator

    s = filled()
    prefixes = sorted(
        {k[:i] for k in KEYS for i in range(len(k) + 1)}
        | {"zz", "ab\x00", "\U0001f601"}
    )
    for p in prefixes:
        it = getattr(s, method)(prefix=p, reverse=reverse)
        expected = model_count(KEYS, p)
        assert operator.length_hint(it, -1) == expected, p
        assert len(list(it)) == expected
        assert operator.length_hint(it, -1) == 0


def test_length_hint_counts_down_and_respects_limit():
    import operator

    s = filled([f"k:{i:03}" for i in range(50)] + ["other"])
    it = s.yield_keys(prefix="k:")
    assert operator.length_hint(it) == 50
    next(it), next(it)
    assert operator.length_hint(it) == 48
    assert operator.length_hint(s.yield_keys(prefix="k:", limit=7)) == 7
    assert operator.length_hint(s.yield_keys()) == 51
    # past start_after the count is unknown: list() falls back to its default
    assert (
        operator.length_hint(s.yield_keys(prefix="k:", start_after="k:010"), -1) == -1
    )
    assert list(s.yield_keys(prefix="k:", start_after="k:047")) == ["k:048", "k:049"]


def test_sizeof_counts_the_buffers_kept_for_the_next_listing():
    import sys

    def kept(store):
        return sys.getsizeof(store) - store.memory_usage() - base

    small = filled(["user:1:profile", "user:2:profile"])
    base = sys.getsizeof(small) - small.memory_usage()
    assert list(small.yield_keys(prefix="user:")) == [
        "user:1:profile",
        "user:2:profile",
    ]
    assert kept(small) == 0  # buffers would outweigh a store this small

    keys = [f"user:{i}:profile" for i in range(2000)]
    s = filled(keys)
    assert kept(s) == 0
    assert list(s.yield_keys(prefix="user:7")) == sorted(
        k for k in keys if k.startswith("user:7")
    )
    assert (
        0 < kept(s) <= s.memory_usage() // 16
    )  # the listing's buffers, kept by the tree
    # the next listing takes them over, and leaves them again
    it = s.yield_keys(prefix="user:")
    assert kept(s) == 0
    assert len(list(it)) == 2000
    assert kept(s) > 0
    # a store that becomes empty keeps nothing
    s.clear()
    assert kept(s) == 0
