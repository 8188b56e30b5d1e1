"""Range (start/stop) and delimiter (directory-style) listings, the argument
checks the engines agree on (a str is not a batch, limit, prefix by length)
and the recursion guard of ``==``.

Listings are compared with a brute-force model over random key sets and
random combinations of every option; the model is the specification in
SPEC.md written as plainly as possible.
"""

import asyncio
import operator
import random
import subprocess
import sys
import textwrap

import pytest

from memstore import InMemoryByteStore, TrieStore

# ------------------------------------------------------------------ model


def model_entries(keys, prefix=None, start=None, stop=None, delimiter=None):
    """Every entry of a listing, ascending, before start_after and limit."""
    prefix = prefix or ""
    entries = set()
    for k in keys:
        if not k.startswith(prefix):
            continue
        if start is not None and k < start:
            continue
        if stop is not None and k >= stop:
            continue
        rest = k[len(prefix) :]
        if delimiter is not None and delimiter in rest:
            entries.add(prefix + rest[: rest.index(delimiter) + len(delimiter)])
        else:
            entries.add(k)
    return sorted(entries)


def model_listing(
    keys,
    prefix=None,
    start=None,
    stop=None,
    start_after=None,
    limit=None,
    reverse=False,
    delimiter=None,
):
    out = model_entries(keys, prefix, start, stop, delimiter)
    if reverse:
        out.reverse()
    if start_after is not None:
        out = [e for e in out if (e < start_after if reverse else e > start_after)]
    if limit is not None:
        out = out[:limit]
    return out


def listed(store, method, **kw):
    """What `method` lists, as keys (values and items are checked against
    the store's own values)."""
    if method == "ayield_keys":

        async def go():
            return [k async for k in store.ayield_keys(**kw)]

        return asyncio.run(go())
    if method in ("keys", "values", "items"):
        prefix = kw.pop("prefix", None)
        got = list(getattr(store, method)(prefix, **kw))
    else:
        got = list(store.yield_keys(**kw))
    if method == "values":
        return got
    if method == "items":
        assert all(store[k] is v for k, v in got)
        return [k for k, _ in got]
    return got


# Characters that make prefixes, groups and delimiters collide: ASCII, the
# delimiters' own characters, NUL, 2-, 3- and 4-byte UTF-8 and a lone
# surrogate (stored with surrogatepass).
ALPHABET = ["a", "b", "/", ":", "\x00", "é", "€", "\U0001f600", "\ud800"]
DELIMITERS = ["/", ":", "a", "::", "/a", "é", "é/", "\U0001f600", "\ud800", "aa", "//"]


def random_key(r, max_len=6):
    return "".join(r.choice(ALPHABET) for _ in range(r.randint(0, max_len)))


def random_bound(r, keys):
    """None, a stored key, a prefix of one, or an arbitrary string."""
    roll = r.random()
    if roll < 0.3:
        return None
    if roll < 0.55 and keys:
        return r.choice(keys)
    if roll < 0.75 and keys:
        k = r.choice(keys)
        return k[: r.randint(0, len(k))]
    return random_key(r, 4)


def random_options(r, keys, with_delimiter=True):
    opts = {}
    for name in ("prefix", "start", "stop", "start_after"):
        value = random_bound(r, keys)
        if value is not None:
            opts[name] = value
    if r.random() < 0.5:
        opts["limit"] = r.choice([0, 1, 2, 3, 5, 100])
    opts["reverse"] = r.random() < 0.5
    if with_delimiter and r.random() < 0.6:
        opts["delimiter"] = r.choice(DELIMITERS)
    return opts


# ------------------------------------------------------ model comparisons


@pytest.mark.parametrize("seed", range(12))
def test_random_listings_match_the_model(seed):
    r = random.Random(seed)
    for _ in range(6):
        keys = sorted({random_key(r) for _ in range(r.randint(0, 60))})
        store = TrieStore((k, i) for i, k in enumerate(keys))
        for _ in range(150):
            opts = random_options(r, keys)
            method = r.choice(
                ["yield_keys", "keys", "ayield_keys"]
                if "delimiter" in opts
                else ["yield_keys", "keys", "values", "items", "ayield_keys"]
            )
            expected = model_listing(keys, **opts)
            got = listed(store, method, **opts)
            if method == "values":
                expected = [store[k] for k in expected]
            assert got == expected, (method, opts)


@pytest.mark.parametrize("delimiter", ["/", "::", "é/", "\U0001f600"])
@pytest.mark.parametrize("reverse", [False, True])
def test_every_combination_on_a_directory_tree(delimiter, reverse):
    """Exhaustive over a small tree: every prefix/start/stop/start_after
    drawn from the keys, their groups and strings around them."""
    d = delimiter
    keys = [
        "",
        "a",
        f"a{d}",
        f"a{d}x",
        f"a{d}x{d}1",
        f"a{d}x{d}2",
        f"a{d}y",
        f"a{d}{d}z",
        f"ab{d}1",
        "b",
        f"b{d}",
        f"b{d}{d}",
        f"c{d}1{d}2{d}3",
    ]
    store = TrieStore((k, None) for k in keys)
    bounds = sorted(
        {
            None,
            "",
            "a",
            "a0",
            f"a{d}",
            f"a{d}x",
            f"a{d}x{d}",
            f"a{d}z",
            "b",
            f"b{d}",
            "c",
            "z",
        },
        key=lambda b: (b is not None, b),
    )
    for prefix in (None, "", "a", f"a{d}", f"a{d}x{d}", "b", "zz"):
        for start in bounds:
            for stop in bounds[::3]:
                for start_after in bounds[::2]:
                    for limit in (None, 1, 2):
                        opts = {
                            "prefix": prefix,
                            "start": start,
                            "stop": stop,
                            "start_after": start_after,
                            "limit": limit,
                            "reverse": reverse,
                            "delimiter": d,
                        }
                        assert list(store.yield_keys(**opts)) == model_listing(
                            keys, **opts
                        ), opts


def test_s3_example():
    store = TrieStore(dict.fromkeys(["docs/a.md", "docs/img/1.png", "readme"], b""))
    assert list(store.yield_keys(delimiter="/")) == ["docs/", "readme"]
    assert list(store.keys("docs/", delimiter="/")) == ["docs/a.md", "docs/img/"]
    assert list(store.yield_keys(delimiter="/", reverse=True)) == ["readme", "docs/"]
    # resuming after a group skips the whole group
    assert list(store.yield_keys(delimiter="/", start_after="docs/")) == ["readme"]
    assert list(store.yield_keys(delimiter="/", limit=1)) == ["docs/"]
    # a cursor inside a group: the group sorts before it, so it is done
    assert list(store.yield_keys(delimiter="/", start_after="docs/b")) == ["readme"]
    # reversed, a group sorting before the cursor is listed, even though
    # keys of it sort after the cursor
    assert list(
        store.yield_keys(delimiter="/", start_after="docs/b", reverse=True)
    ) == ["docs/"]
    assert (
        list(store.yield_keys(delimiter="/", start_after="docs/", reverse=True)) == []
    )


def test_paging_with_a_delimiter_visits_every_entry_once():
    keys = [f"d/{g}/{i}" for g in "abcde" for i in range(50)] + [
        f"d/k{i}" for i in range(7)
    ]
    store = TrieStore(dict.fromkeys(keys, 0))
    expected = model_listing(keys, prefix="d/", delimiter="/")
    for reverse in (False, True):
        pages, cursor = [], None
        while True:
            page = list(
                store.yield_keys(
                    prefix="d/",
                    delimiter="/",
                    limit=2,
                    start_after=cursor,
                    reverse=reverse,
                )
            )
            if not page:
                break
            pages += page
            cursor = page[-1]
        assert pages == (expected[::-1] if reverse else expected)


def test_keys_equal_to_a_group_and_to_the_prefix():
    store = TrieStore(dict.fromkeys(["p/", "p/g/", "p/g/x", "p/h", "p"], 0))
    # "p/g/" itself has the delimiter in its rest: it is part of its group
    assert list(store.yield_keys(prefix="p/", delimiter="/")) == ["p/", "p/g/", "p/h"]
    assert list(store.yield_keys(prefix="p/", delimiter="/", reverse=True)) == [
        "p/h",
        "p/g/",
        "p/",
    ]
    assert list(store.yield_keys(delimiter="/")) == ["p", "p/"]


def test_empty_strings():
    store = TrieStore(dict.fromkeys(["", "/", "//", "a"], 0))
    assert list(store.yield_keys(delimiter="/")) == ["", "/", "a"]
    assert list(store.yield_keys(prefix="", start="", stop="a")) == ["", "/", "//"]
    assert list(store.yield_keys(start="", stop="")) == []
    assert list(store.yield_keys(stop="")) == []
    assert list(store.yield_keys(start="", reverse=True)) == ["a", "//", "/", ""]
    assert list(store.yield_keys(start_after="", delimiter="/")) == ["/", "a"]


@pytest.mark.parametrize("reverse", [False, True])
def test_start_at_or_above_stop_lists_nothing(reverse):
    store = TrieStore(dict.fromkeys("abcdef", 0))
    for start, stop in (("c", "c"), ("d", "c"), ("z", "a"), ("c", "b\uffff")):
        for method in ("keys", "values", "items"):
            assert (
                list(getattr(store, method)(start=start, stop=stop, reverse=reverse))
                == []
            )
        assert (
            list(store.yield_keys(prefix="", start=start, stop=stop, reverse=reverse))
            == []
        )
        assert (
            list(
                store.yield_keys(start=start, stop=stop, delimiter="/", reverse=reverse)
            )
            == []
        )


def test_time_ordered_keys_between_two_instants():
    keys = [
        f"events:2026-12-02T{h:02}:{m:02}" for h in range(24) for m in range(0, 60, 15)
    ]
    store = TrieStore((k, i) for i, k in enumerate(keys))
    got = list(
        store.items(
            "events:", start="events:2026-12-02T10:", stop="events:2026-12-02T12:"
        )
    )
    assert [k for k, _ in got] == [k for k in keys if "T10:" in k or "T11:" in k]
    assert list(store.keys(start="events:2026-12-02T23:30", reverse=True, limit=2)) == [
        "events:2026-12-02T23:45",
        "events:2026-12-02T23:30",
    ]


def test_bounds_outside_the_prefix():
    store = TrieStore(dict.fromkeys(["a1", "a2", "b1", "b2", "c1"], 0))
    assert list(store.keys("b", start="a", stop="z")) == ["b1", "b2"]
    assert list(store.keys("b", start="c")) == []
    assert list(store.keys("b", stop="b")) == []
    assert list(store.keys("b", stop="b2")) == ["b1"]
    assert list(store.keys("b", start="b1\x00", reverse=True)) == ["b2"]


# -------------------------------------------------------- cost, structure


def test_a_group_of_many_keys_is_one_entry_and_one_seek():
    """3 groups of 10^5 keys under one prefix list as 3 entries.  Each group
    is skipped with one seek: a key written into a group after it was listed
    is not listed (a scan over the group's keys would meet it), and a
    listing of only the groups' first keys pages through in 3 steps."""
    store = TrieStore()
    for g in ("a", "b", "c"):
        store.mset([(f"big/{g}/{i:06}", None) for i in range(100_000)])
    store["big/z"] = None
    assert list(store.yield_keys(prefix="big/", delimiter="/")) == [
        "big/a/",
        "big/b/",
        "big/c/",
        "big/z",
    ]
    assert list(store.yield_keys(prefix="big/", delimiter="/", reverse=True)) == [
        "big/z",
        "big/c/",
        "big/b/",
        "big/a/",
    ]
    it = store.yield_keys(prefix="big/", delimiter="/")
    assert next(it) == "big/a/"
    store["big/a/zzz"] = None  # inside the group just listed: not listed again
    store["big/b"] = None  # between two groups: listed
    store.delete_prefix("big/c/")  # a whole group vanishes
    assert list(it) == ["big/b", "big/b/", "big/z"]
    hint = operator.length_hint(store.yield_keys(prefix="big/", delimiter="/"), -1)
    assert hint == -1  # no promise of 200,000 entries


def test_length_hint_never_over_promises():
    store = TrieStore(dict.fromkeys((f"k{i:03}" for i in range(500)), 0))
    cases = [
        ({}, 500),
        ({"prefix": "k1"}, 100),
        ({"prefix": "k1", "limit": 7}, 7),
    ]
    for kw, hint in cases:
        assert operator.length_hint(store.yield_keys(**kw), -1) == hint
    for kw in (
        {"start": "k100", "stop": "k102"},
        {"stop": "k0"},
        {"start": "k498", "reverse": True},
        {"delimiter": "k"},
        {"start_after": "k497"},
    ):
        listed_now = len(model_listing(list(store), **kw))
        hint = operator.length_hint(store.yield_keys(**kw), -1)
        assert hint == -1 or hint <= listed_now, kw
        assert len(list(store.yield_keys(**kw))) == listed_now


# ----------------------------------------------------- writes meanwhile


def _next_entry(keys, opts, last, cursor):
    entries = model_entries(
        keys,
        opts.get("prefix"),
        opts.get("start"),
        opts.get("stop"),
        opts.get("delimiter"),
    )
    if opts.get("reverse"):
        entries = [
            e
            for e in entries
            if (last is None or e < last) and (cursor is None or e < cursor)
        ]
        return entries[-1] if entries else None
    entries = [
        e
        for e in entries
        if (last is None or e > last) and (cursor is None or e > cursor)
    ]
    return entries[0] if entries else None


@pytest.mark.parametrize("seed", range(8))
def test_listing_while_writing(seed):
    """Each step returns the next entry after the last one returned, in the
    store as it is at that step."""
    r = random.Random(seed)
    keys = {random_key(r) for _ in range(40)}
    store = TrieStore(dict.fromkeys(keys, 0))
    for _ in range(40):
        opts = random_options(r, sorted(keys))
        opts.pop("limit", None)
        it = store.yield_keys(**opts)
        last = None
        for _ in range(200):
            for _ in range(r.randint(0, 3)):
                k = random_key(r)
                if r.random() < 0.5:
                    store[k] = 0
                    keys.add(k)
                elif k in keys:
                    del store[k]
                    keys.discard(k)
                else:
                    store.delete_prefix(k)
                    keys = {x for x in keys if not x.startswith(k)}
            expected = _next_entry(keys, opts, last, opts.get("start_after"))
            got = next(it, None)
            assert got == expected, (opts, last)
            if got is None:
                break
            last = got


def test_async_twin():
    store = TrieStore(
        dict.fromkeys([f"n/{i % 7}/{i}" for i in range(3000)] + ["n/x"], 0)
    )
    keys = list(store)

    async def go(**kw):
        return [k async for k in store.ayield_keys(**kw)]

    for kw in (
        {"prefix": "n/", "delimiter": "/"},
        {"prefix": "n/", "delimiter": "/", "reverse": True, "start_after": "n/5/"},
        {"start": "n/2/", "stop": "n/4/", "limit": 1500},
        {"start": "n/2/", "stop": "n/4/", "reverse": True, "start_after": "n/3/2000"},
    ):
        assert asyncio.run(go(**kw)) == model_listing(keys, **kw)


# ------------------------------------------------------------ bad options


def test_bad_option_types_and_values():
    store = TrieStore({"a/b": 1})
    for name in ("start", "stop"):
        for method in ("yield_keys", "ayield_keys"):
            with pytest.raises(
                TypeError, match=f"^{name} must be str or None, not bytes"
            ):
                getattr(store, method)(**{name: b"a"})
        for method in ("keys", "values", "items"):
            with pytest.raises(
                TypeError, match=f"^{name} must be str or None, not int"
            ):
                getattr(store, method)(**{name: 1})
    with pytest.raises(ValueError, match="delimiter must not be empty"):
        store.yield_keys(delimiter="")
    with pytest.raises(ValueError, match="delimiter must not be empty"):
        store.ayield_keys(delimiter="")
    with pytest.raises(TypeError, match="delimiter must be str or None, not bytes"):
        store.keys(delimiter=b"/")
    for method in ("values", "items"):
        with pytest.raises(TypeError):
            getattr(store, method)(delimiter="/")


class _Index:
    def __init__(self, n):
        self.n = n

    def __index__(self):
        return self.n


def test_limit_values():
    store = TrieStore(dict.fromkeys("abc", 0))
    for bad in (True, False, 1.0, 2.5, "2", b"2", [1]):
        for call in (
            lambda v: store.yield_keys(limit=v),
            lambda v: store.keys(limit=v),
            lambda v: store.values(limit=v),
            lambda v: store.items(limit=v),
            lambda v: store.ayield_keys(limit=v),
            lambda v: store.yield_keys(limit=v, delimiter="/", start="a"),
        ):
            with pytest.raises(TypeError, match=r"^limit must be an int or None"):
                call(bad)
    for negative in (-1, _Index(-3)):
        with pytest.raises(ValueError, match=r"^limit must be >= 0"):
            store.keys(limit=negative)
    assert list(store.keys(limit=_Index(2))) == ["a", "b"]
    assert list(store.keys(limit=10**30)) == ["a", "b", "c"]
    np = pytest.importorskip("numpy")
    assert list(store.keys(limit=np.int64(1))) == ["a"]
    assert list(store.keys(limit=np.uint8(0))) == []
    with pytest.raises(TypeError):
        store.keys(limit=np.float64(1))
    if not hasattr(np.bool_(True), "__index__"):
        # numpy >= 2: its bool is no integer, like Python's.  (Before 2.0
        # np.bool_ had a deprecated __index__ and counts as an int here.)
        with pytest.raises(TypeError):
            store.keys(limit=np.bool_(True))


# ------------------------------------------- a str is not a batch, prefix


@pytest.mark.parametrize("batch", ["user:1", b"user:1", bytearray(b"user:1"), ""])
def test_a_str_or_bytes_is_not_a_batch(batch):
    keys = list("user:1") + ["user:1"]
    for cls in (TrieStore, InMemoryByteStore):
        store = cls(dict.fromkeys(keys, b"v"))
        before = list(store.items())
        for method in ("mget", "mset", "mdelete"):
            with pytest.raises(TypeError, match=f"^{method}\\(\\) takes a batch"):
                getattr(store, method)(batch)
            assert list(store.items()) == before
        for method in ("amget", "amset", "amdelete"):
            with pytest.raises(TypeError, match=f"^{method}\\(\\) takes a batch"):
                asyncio.run(getattr(store, method)(batch))
            assert list(store.items()) == before


def test_batches_still_take_any_iterable_of_str():
    store = TrieStore()
    store.mset(iter([("a", 1), ("b", 2)]))
    store.mset({("c", 3)})
    assert store.mget(("a", "c")) == [1, 3]
    assert store.mget(k for k in "ab") == [1, 2]
    store.mdelete({"a": 0}.keys())
    assert list(store) == ["b", "c"]


class _LyingStr(str):
    """A str subclass whose truthiness and length lie."""

    def __bool__(self):
        raise AssertionError("__bool__ must not be called")

    def __len__(self):
        raise AssertionError("__len__ must not be called")


class _FalsyStr(str):
    def __bool__(self):
        return False

    def __len__(self):
        return 0


class _TruthyEmpty(str):
    def __bool__(self):
        return True

    def __len__(self):
        return 1


def test_options_are_tested_by_length_not_truthiness():
    store = TrieStore(dict.fromkeys(["a:1", "a:2", "b:1", "b:/x"], 0))
    for cls in (_LyingStr, _FalsyStr):
        assert list(store.yield_keys(prefix=cls("a:"))) == ["a:1", "a:2"]
        assert list(store.keys(cls("a:"), reverse=True)) == ["a:2", "a:1"]
        assert list(store.yield_keys(start=cls("b"), delimiter=cls("/"))) == [
            "b:/",
            "b:1",
        ]
        assert list(store.yield_keys(start_after=cls("a:2"), stop=cls("b:1"))) == [
            "b:/x"
        ]
    assert list(store.yield_keys(prefix=_TruthyEmpty(""))) == list(store)
    with pytest.raises(ValueError, match="delimiter must not be empty"):
        store.yield_keys(delimiter=_TruthyEmpty(""))


# ------------------------------------------------------- == recursion


@pytest.mark.parametrize("limit", [1_000, 10_000, 20_000, 1_000_000])
@pytest.mark.parametrize("other", ["store", "dict", "self"])
def test_nested_comparison_raises_recursion_error(limit, other):
    """a["k"] = a; b["k"] = b; a == b used to exhaust the C stack (from a
    recursion limit of about 11,000 here, lower under ASan).  Run in a
    subprocess, so a crash fails this test instead of killing pytest."""
    code = textwrap.dedent(
        f"""
        import sys
        from memstore import TrieStore
        sys.setrecursionlimit({limit})
        a = TrieStore()
        a["k"] = a
        b = {{"store": TrieStore, "dict": dict, "self": lambda: a}}[{other!r}]()
        b["k"] = b
        for x, y in ((a, b), (b, a)):
            try:
                print(x == y)
            except RecursionError:
                print("RecursionError")
        # the store still works afterwards
        assert a["k"] is a and a != 1 and not (a == {{}})
        print("ok")
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, (proc.returncode, proc.stderr[-2000:])
    # a store is equal to itself without looking inside (identity first)
    outcome = "True" if other == "self" else "RecursionError"
    assert proc.stdout.split() == [outcome, outcome, "ok"]


def _run_python(code):
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, (proc.returncode, proc.stderr[-2000:])
    return proc.stdout.split()


def test_nesting_depth_bound_is_per_thread_and_fits_a_small_stack():
    """The fixed bound (2,000 nested store comparisons) holds whatever the
    recursion limit, in a thread with a 4 MB stack too; shallower nesting
    still compares."""
    out = _run_python(
        """
        import sys, threading
        from memstore import TrieStore
        sys.setrecursionlimit(1_000_000)

        def nest(depth, make):
            s = make()
            for _ in range(depth):
                outer = make()
                outer["k"] = s
                s = outer
            return s

        def compare(depth, other):
            try:
                print(nest(depth, TrieStore) == nest(depth, other))
            except RecursionError:
                print("RecursionError")

        def run():
            # 500: below CPython 3.12's own C recursion limit (1,500 calls,
            # two per nesting level) as well as below memstore's bound
            compare(500, TrieStore)
            compare(500, dict)
            compare(50_000, TrieStore)
            compare(50_000, dict)

        run()
        threading.stack_size(4 * 1024 * 1024)
        t = threading.Thread(target=run)
        t.start()
        t.join()
        """
    )
    assert out == ["True", "True", "RecursionError", "RecursionError"] * 2


def test_deep_but_finite_nesting_still_compares_equal():
    def nest(depth, make):
        s = make()
        for _ in range(depth):
            outer = make()
            outer["k"] = s
            s = outer
        return s

    a, b = nest(200, TrieStore), nest(200, TrieStore)
    assert a == b
    assert a == nest(200, dict)
    c = nest(200, TrieStore)
    inner = c
    while "k" in inner:
        inner = inner["k"]
    inner["x"] = 1
    assert a != c


@pytest.mark.parametrize("reverse", [False, True])
def test_a_group_whose_keys_expire_while_listing_is_not_listed(reverse):
    # The engine lists a group without reading its keys, so the listing
    # must purge what expired before each step, as a key's step would.
    now = [0.0]
    store = TrieStore(clock=lambda: now[0])
    store.mset([("d/a/1", 0), ("d/a/2", 0), ("d/c/1", 0)], ttl=10)
    store.mset([("d/b/1", 0), ("d/m", 0)])
    it = store.yield_keys(prefix="d/", delimiter="/", reverse=reverse)
    first = next(it)
    now[0] = 20.0  # every key with a lifetime is gone
    assert first == ("d/m" if reverse else "d/a/")
    assert list(it) == (["d/b/"] if reverse else ["d/b/", "d/m"])
    assert list(store.yield_keys(prefix="d/", delimiter="/")) == ["d/b/", "d/m"]


def test_a_range_listing_hints_its_exact_length():
    # list() sizes its result from the hint: a range gives its exact count
    # (the keys with the prefix in [start, stop)), in either direction.
    keys = [f"k{i:03}" for i in range(500)] + ["j", "k", "k5", "l\u00e9", "\U0001f600"]
    store = TrieStore(dict.fromkeys(keys, 0))
    rng = random.Random(5)
    bounds = [None, "", "k", "k1", "k10", "k100", "k2", "k49", "k5", "k500", "l", "z"]
    for _ in range(300):
        kw = {
            "prefix": rng.choice([None, "", "k", "k1", "k4", "k49", "l", "x"]),
            "start": rng.choice(bounds),
            "stop": rng.choice(bounds),
            "reverse": rng.random() < 0.5,
        }
        if kw["start"] is None and kw["stop"] is None:
            continue
        listed = list(store.yield_keys(**kw))
        assert operator.length_hint(store.yield_keys(**kw), -1) == len(listed), kw
        it = store.yield_keys(**kw, limit=3)
        assert operator.length_hint(it, -1) == min(3, len(listed)), kw
