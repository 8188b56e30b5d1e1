"""Unusual keys: "", NUL, lone surrogates, non-BMP, other scripts, huge keys,
str subclasses, and code-point ordering."""

import random

from hypothesis import given
from hypothesis import strategies as st

from memstore import TrieStore

SPECIAL = [
    "",
    "\x00",
    "\x00\x00",
    "a\x00b",
    "a\x00",
    "a",
    "\x7f",
    "\x80",
    "\u07ff",
    "\u0800",
    "\ud7ff",
    "\ud800",  # lone high surrogate
    "\udbff",
    "\udc00",  # lone low surrogate
    "\udfff",
    "a\ud800b",
    "\ud800\udc00",  # surrogate pair written as two code points (not U+10000)
    "\ue000",
    "\uffff",
    "\U00010000",
    "\U0001f600",
    "\U0010ffff",
    "привет",
    "при",
    "日本語",
    "日本",
    "中文",
    "한국어",
    "é",
    "e\u0301",  # decomposed é: a different key
]


def test_special_keys_roundtrip():
    s = TrieStore()
    s.mset([(k, i) for i, k in enumerate(SPECIAL)])
    assert len(s) == len(SPECIAL)
    for i, k in enumerate(SPECIAL):
        assert k in s
        assert s[k] == i
    assert s.mget(SPECIAL) == list(range(len(SPECIAL)))
    listed = list(s)
    assert listed == sorted(SPECIAL)
    assert set(listed) == set(SPECIAL)
    assert list(s.yield_keys(reverse=True)) == sorted(SPECIAL, reverse=True)


def test_listed_keys_are_identical_strings():
    s = TrieStore(dict.fromkeys(SPECIAL))
    for k in s:
        assert type(k) is str
        assert k in SPECIAL
    # lone surrogates survive exactly (no replacement characters)
    assert "\ud800" in list(s)
    assert "\ud800\udc00" in list(s)
    assert "\U00010000" in list(s)
    assert "\ud800\udc00" != "\U00010000"


def test_surrogate_pair_code_points_are_distinct_from_astral_char():
    s = TrieStore()
    s["\ud83d\ude00"] = "pair"
    s["\U0001f600"] = "astral"
    assert len(s) == 2
    assert s["\ud83d\ude00"] == "pair"
    assert s["\U0001f600"] == "astral"
    assert s.count("\ud83d") == 1
    assert s.longest_prefix("\ud83d\ude00x") == ("\ud83d\ude00", "pair")


def test_empty_key():
    s = TrieStore()
    s[""] = "empty"
    assert "" in s
    assert s[""] == "empty"
    assert list(s) == [""]
    s["a"] = 1
    assert list(s) == ["", "a"]
    assert list(s.yield_keys(prefix="")) == ["", "a"]
    assert list(s.yield_keys(prefix="a")) == ["a"]
    assert list(s.yield_keys(reverse=True)) == ["a", ""]
    del s[""]
    assert list(s) == ["a"]
    assert "" not in s


def test_nul_inside_keys():
    s = TrieStore()
    keys = ["a", "a\x00", "a\x00\x00", "a\x00b", "a\x01", "ab", "\x00", "\x00a"]
    s.mset([(k, k) for k in keys])
    assert list(s) == sorted(keys)
    assert list(s.yield_keys(prefix="a\x00")) == ["a\x00", "a\x00\x00", "a\x00b"]
    assert s.count("a\x00") == 3
    assert s.count("\x00") == 2
    assert s.longest_prefix("a\x00bc") == ("a\x00b", "a\x00b")
    assert s.delete_prefix("a\x00") == 3
    assert list(s) == sorted(["a", "a\x01", "ab", "\x00", "\x00a"])


def test_code_point_order_equals_utf8_byte_order():
    # The claim the README relies on, for the encoding the store uses.
    rng = random.Random(7)
    pool = SPECIAL + [
        chr(c)
        for c in (
            0,
            0x7F,
            0x80,
            0x7FF,
            0x800,
            0xD7FF,
            0xD800,
            0xDBFF,
            0xDC00,
            0xDFFF,
            0xE000,
            0xFFFF,
            0x10000,
            0x10FFFF,
        )
    ]
    keys = [
        "".join(rng.choice(pool) for _ in range(rng.randrange(4))) for _ in range(2000)
    ]
    by_code_point = sorted(set(keys))
    by_bytes = sorted(set(keys), key=lambda k: k.encode("utf-8", "surrogatepass"))
    assert by_code_point == by_bytes
    assert "\ud800".encode("utf-8", "surrogatepass") == b"\xed\xa0\x80"
    assert "\ue000".encode("utf-8", "surrogatepass") == b"\xee\x80\x80"
    assert "\U00010000".encode("utf-8", "surrogatepass")[0] == 0xF0
    s = TrieStore()
    s.mset([(k, None) for k in keys])
    assert list(s) == by_code_point
    assert list(s.yield_keys(reverse=True)) == by_code_point[::-1]


any_text = st.text(st.characters(exclude_categories=()), max_size=8)


@given(st.lists(any_text, max_size=60), any_text)
def test_ordering_property(keys, prefix):
    s = TrieStore()
    s.mset([(k, k) for k in keys])
    uniq = sorted(set(keys))
    assert list(s) == uniq
    assert list(s.items()) == [(k, k) for k in uniq]
    matching = [k for k in uniq if k.startswith(prefix)]
    assert list(s.yield_keys(prefix=prefix)) == matching
    assert list(s.yield_keys(prefix=prefix, reverse=True)) == matching[::-1]
    assert s.count(prefix) == len(matching)
    assert list(s.yield_keys(start_after=prefix)) == [k for k in uniq if k > prefix]
    assert (
        list(s.yield_keys(start_after=prefix, reverse=True))
        == [k for k in uniq if k < prefix][::-1]
    )


def test_one_megabyte_key():
    big = "k" * (1 << 20)
    big2 = big[:-1] + "z"
    s = TrieStore()
    s[big] = "big"
    s[big2] = "big2"
    s["k"] = "small"
    assert s[big] == "big"
    assert len(s) == 3
    listed = list(s)
    assert [len(k) for k in listed] == [1, 1 << 20, 1 << 20]
    assert listed[1] == big and listed[2] == big2
    assert s.count(big[: 1 << 19]) == 2
    assert s.count(big) == 1
    assert s.longest_prefix(big + "tail") == (big, "big")
    assert s.longest_prefix(big[:-1]) == ("k", "small")
    assert list(s.yield_keys(prefix=big[:-1], start_after=big)) == [big2]
    del s[big]
    assert big not in s
    assert s.delete_prefix("kk") == 1
    assert list(s) == ["k"]


def test_one_megabyte_non_ascii_key():
    big = "é\U0001f600\ud800" * (1 << 18)  # > 1 MB in UTF-8
    s = TrieStore({big: 1, big[:-1]: 2})
    assert s[big] == 1
    assert list(s) == [big[:-1], big]
    assert s.longest_prefix(big + "x") == (big, 1)


class S(str):
    pass


def test_str_subclass_keys_are_stored_as_str():
    s = TrieStore()
    s[S("b")] = 1
    s.mset([(S("a"), 2)])
    s.mset([(S("b"), 3)])  # overwrites the same key
    assert len(s) == 2
    keys = list(s)
    assert keys == ["a", "b"]
    assert all(type(k) is str for k in keys)
    assert all(type(k) is str for k in s.yield_keys())
    assert all(type(k) is str for k, _ in s.items())
    assert s["b"] == 3
    assert s[S("a")] == 2
    assert s.mget([S("a"), S("b")]) == [2, 3]
    assert s.get(S("a")) == 2
    k, _v = s.longest_prefix("bz")
    assert type(k) is str and k == "b"
    del s[S("a")]
    assert list(s) == ["b"]
    s.mdelete([S("b")])
    assert len(s) == 0


def test_str_subclass_with_overridden_str_is_stored_by_value():
    class Weird(str):
        def __str__(self):
            return "other"

        def __repr__(self):
            return "Weird()"

    s = TrieStore()
    s[Weird("real")] = 1
    assert list(s) == ["real"]
    assert "other" not in s


def test_many_keys_random_order():
    rng = random.Random(2)
    keys = list(
        {
            "".join(
                rng.choice("abcdefé\x00\U0001f600") for _ in range(rng.randrange(1, 12))
            )
            for _ in range(20_000)
        }
    )
    s = TrieStore()
    s.mset([(k, k) for k in keys])
    assert list(s) == sorted(keys)
    rng.shuffle(keys)
    gone = keys[: len(keys) // 2]
    s.mdelete(gone)
    rest = sorted(keys[len(keys) // 2 :])
    assert list(s) == rest
    assert s.mget(rest[:100]) == rest[:100]
