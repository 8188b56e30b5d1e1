"""Keys read back from the tree: the ASCII fast path and the general decoder
must give back exactly the str that was stored, at every length and wherever
a non-ASCII character sits (the fast path works on 8-byte words)."""

import pytest

from memstore import TrieStore

NON_ASCII = ["\x80", "é", "\u0416", "\u4e2d", "\U0001f600", "\udc80", "\ud800"]


def _keys():
    keys = set()
    for n in range(42):
        base = "".join(chr(ord("a") + (i % 26)) for i in range(n))
        keys.add(base)
        keys.add("\x7f" * n)  # the highest ASCII byte
        for pos in range(n):
            for ch in NON_ASCII:
                keys.add(base[:pos] + ch + base[pos + 1 :])
    return sorted(keys)


KEYS = _keys()


def test_every_key_round_trips_exactly():
    s = TrieStore((k, i) for i, k in enumerate(KEYS))
    listed = list(s)
    assert listed == KEYS
    assert [type(k) for k in listed] == [str] * len(KEYS)
    assert list(s.yield_keys(reverse=True)) == KEYS[::-1]
    assert [k for k, _ in s.items()] == KEYS


@pytest.mark.parametrize(
    "key", ["", "a", "abcdefgh", "abcdefghi", "x" * 1000, "é" * 9, "a\x00b"]
)
def test_listed_key_is_a_normal_str(key):
    s = TrieStore({key: 1})
    (got,) = list(s)
    assert got == key
    assert len(got) == len(key)
    assert hash(got) == hash(key)
    assert got.isascii() == key.isascii()
    # The copy is a fully built str: usable as a dict key, encodable.
    assert {got: 1}[key] == 1
    assert got.encode("utf-8", "surrogatepass") == key.encode("utf-8", "surrogatepass")


def test_longest_prefix_decodes_the_stored_part():
    s = TrieStore({"ab": 1, "abcdefghé": 2})
    assert s.longest_prefix("abcdefghéz") == ("abcdefghé", 2)
    assert s.longest_prefix("abz") == ("ab", 1)
