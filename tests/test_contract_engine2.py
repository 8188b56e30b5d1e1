"""The contract of issue 12's API, on every backend of test_contract.py.

Expiry (``ttl=``, ``expire``, ``ttl()``, ``persist``), range listing
(``start``/``stop``), delimiter listing, and the arguments both engines
agree on.  TrieStore runs with a fake clock; RedisStore keeps its own time,
so its lifetimes are short real ones (``SHORT``) and ``clock.advance``
sleeps: a test advances at most once or twice.  Keys that must survive get
``LONG`` lifetimes, so no assertion depends on how fast the machine is.

Listings are compared with a brute-force model of the spec (SPEC.md) over
every combination of options; the Redis stores read pages of 7, so the
listings and the ``start_after`` paging cross page boundaries.
"""

import asyncio
import itertools
import math
import random

import pytest

# The backends and their fixtures (backend, make_store, clock) are
# test_contract.py's: importing the fixture functions registers them here.
from test_contract import BACKENDS, backend_fixture, clock_fixture, make_store_fixture

SHORT = 0.2  # seconds: expires within the test
LONG = 3600.0  # seconds: never expires within the test

assert BACKENDS and backend_fixture and clock_fixture and make_store_fixture


def enc(key):
    return key.encode("utf-8", "surrogatepass")


def value_of(key):
    return b"v:" + enc(key)


# ---------------------------------------------------------------- model


def model_listing(
    keys,
    prefix=None,
    start=None,
    stop=None,
    start_after=None,
    reverse=False,
    limit=None,
    delimiter=None,
):
    """SPEC.md's listing, by brute force: the keys under ``prefix`` within
    [start, stop), rolled up by ``delimiter``, ordered, cut after
    ``start_after`` (compared with the entries), at most ``limit``."""
    p = prefix or ""
    chosen = [
        k
        for k in keys
        if k.startswith(p)
        and (start is None or enc(k) >= enc(start))
        and (stop is None or enc(k) < enc(stop))
    ]
    entries = set()
    for k in chosen:
        rest = k[len(p) :]
        if delimiter is not None and delimiter in rest:
            entries.add(p + rest[: rest.index(delimiter) + len(delimiter)])
        else:
            entries.add(k)
    ordered = sorted(entries, key=enc, reverse=reverse)
    if start_after is not None:
        cut = enc(start_after)
        ordered = [e for e in ordered if (enc(e) < cut if reverse else enc(e) > cut)]
    return ordered if limit is None else ordered[:limit]


def test_the_model_gives_the_specs_example():
    keys = ["docs/a.md", "docs/img/1.png", "readme"]
    assert model_listing(keys, delimiter="/") == ["docs/", "readme"]
    assert model_listing(keys, prefix="docs/", delimiter="/") == [
        "docs/a.md",
        "docs/img/",
    ]


# Groups of one and of many keys (more than a Redis page of 7), keys equal
# to a group, empty rests, multi-character and non-ASCII delimiters.
TREE = sorted(
    set(
        [
            "",
            "/",
            "//",
            "/x",
            "a",
            "a/",
            "a//",
            "a/b",
            "a/b/c",
            "a/c",
            "ab",
            "ab/x",
            "b",
            "b/1",
            "b/2",
            "b/2/3",
            "c/é",
            "c/é/1",
            "c/日/x",
            "d::e",
            "d::f::g",
            "d:x",
            "e:é:1",
            "e:é:2",
            "eé",
            "z",
            "\U0001f600/1",
            "\U0001f600/2",
            "\ud800/s",
        ]
        + [f"g/{i:02}" for i in range(20)]
        + [f"g/sub/{i}" for i in range(9)]
        + [f"h{i:02}" for i in range(15)]
    ),
    key=enc,
)

PREFIXES = [None, "", "a", "a/", "b/", "g/", "c/", "d:", "\U0001f600", "nope"]
BOUNDS = [
    (None, None),
    ("a/", None),
    (None, "b/2"),
    ("a/b", "g/05"),
    ("g/sub/", "h03"),
    ("b", "b"),
    ("z", "a"),
    ("", "\U0010ffff"),
    ("c/é/", "d"),
]
AFTERS = [
    None,
    "",
    "a/",
    "a/b/c",
    "b/2",
    "b/2/9",
    "c/",
    "g/",
    "g/07",
    "g/sub/",
    "h05",
    "\U0010ffff",
]
DELIMITERS = [None, "/", "::", "é", ":"]


@pytest.fixture
def tree(make_store):
    store = make_store()
    store.mset([(k, value_of(k)) for k in TREE])
    return store


@pytest.mark.parametrize("delimiter", DELIMITERS)
def test_listings_agree_with_the_model_for_every_option(tree, delimiter):
    extra = {} if delimiter is None else {"delimiter": delimiter}
    for prefix, (start, stop), reverse in itertools.product(
        PREFIXES, BOUNDS, (False, True)
    ):
        for start_after, limit in itertools.product(AFTERS, (None, 3)):
            got = list(
                tree.yield_keys(
                    prefix=prefix,
                    start=start,
                    stop=stop,
                    start_after=start_after,
                    reverse=reverse,
                    limit=limit,
                    **extra,
                )
            )
            expected = model_listing(
                TREE, prefix, start, stop, start_after, reverse, limit, delimiter
            )
            assert got == expected, (prefix, start, stop, start_after, reverse, limit)
        assert list(
            tree.keys(prefix, start=start, stop=stop, reverse=reverse, **extra)
        ) == model_listing(TREE, prefix, start, stop, None, reverse, None, delimiter)


@pytest.mark.parametrize("delimiter", DELIMITERS)
@pytest.mark.parametrize("reverse", [False, True])
def test_start_after_pages_through_every_listing(tree, delimiter, reverse):
    """Resuming from the last entry of each page lists everything once,
    groups included, whatever the page and the backend's own paging."""
    for prefix, (start, stop) in itertools.product([None, "a", "g/", "b/"], BOUNDS[:5]):
        expected = model_listing(
            TREE, prefix, start, stop, None, reverse, None, delimiter
        )
        for size in (1, 3, 8):
            resumed, after = [], None
            while True:
                page = list(
                    tree.yield_keys(
                        prefix=prefix,
                        start=start,
                        stop=stop,
                        start_after=after,
                        limit=size,
                        reverse=reverse,
                        delimiter=delimiter,
                    )
                )
                assert len(page) <= size
                if not page:
                    break
                resumed += page
                after = page[-1]
            assert resumed == expected, (prefix, start, stop, size)


@pytest.mark.parametrize("seed", range(3))
def test_random_listings_agree_with_the_model(make_store, seed):
    """Random keys over a small alphabet (so groups nest and delimiters
    overlap) and random options, after random writes and deletes."""
    rng = random.Random(seed)
    alphabet = ["a", "b", "/", ":", "é", "\U0001f600"]
    store, model = make_store(), set()

    def text(longest):
        return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, longest)))

    for _ in range(40):
        batch = [text(6) for _ in range(rng.randint(1, 12))]
        store.mset([(k, b"x") for k in batch])
        model.update(batch)
        gone = [text(4) for _ in range(rng.randint(0, 3))]
        store.mdelete(gone)
        model.difference_update(gone)
        options = {
            "prefix": rng.choice([None, text(2)]),
            "start": rng.choice([None, text(3)]),
            "stop": rng.choice([None, text(3)]),
            "start_after": rng.choice([None, text(4)]),
            "reverse": rng.random() < 0.5,
            "limit": rng.choice([None, 0, 1, 5, 9]),
            "delimiter": rng.choice([None, "/", ":", "/:", "a", "é\U0001f600"]),
        }
        assert list(store.yield_keys(**options)) == model_listing(model, **options), (
            options
        )
    assert list(store.keys()) == model_listing(model)


def test_the_specs_delimiter_example(make_store):
    store = make_store()
    store.mset([("docs/a.md", b"1"), ("docs/img/1.png", b"2"), ("readme", b"3")])
    assert list(store.yield_keys(delimiter="/")) == ["docs/", "readme"]
    assert list(store.yield_keys(prefix="docs/", delimiter="/")) == [
        "docs/a.md",
        "docs/img/",
    ]
    assert list(store.keys(delimiter="/", reverse=True)) == ["readme", "docs/"]
    assert list(store.keys(delimiter="/", start_after="docs/")) == ["readme"]
    assert list(store.keys(delimiter="/", start_after="docs/img/1.png")) == ["readme"]
    assert list(store.keys(delimiter="/", start_after="readme", reverse=True)) == [
        "docs/"
    ]
    assert list(store.keys(delimiter="/", limit=1)) == ["docs/"]


def test_a_group_of_many_keys_is_one_entry(make_store):
    store = make_store()
    store.mset(
        [(f"big/{i:05}", b"x") for i in range(3000)]
        + [("a", b"1"), ("big", b"2"), ("big0", b"3"), ("c/1", b"4")]
    )
    assert list(store.keys(delimiter="/")) == ["a", "big", "big/", "big0", "c/"]
    assert list(store.keys(delimiter="/", reverse=True)) == [
        "c/",
        "big0",
        "big/",
        "big",
        "a",
    ]
    assert list(store.keys(prefix="big/", delimiter="/", limit=2)) == [
        "big/00000",
        "big/00001",
    ]


def test_range_listing_of_values_and_items(tree):
    for reverse, start, stop, limit in itertools.product(
        (False, True), (None, "b", "g/1"), (None, "g/15", "h"), (None, 4)
    ):
        keys = model_listing(TREE, None, start, stop, None, reverse, limit)
        assert list(
            tree.items(start=start, stop=stop, reverse=reverse, limit=limit)
        ) == [(k, value_of(k)) for k in keys]
        assert list(
            tree.values(start=start, stop=stop, reverse=reverse, limit=limit)
        ) == [value_of(k) for k in keys]
    keys = model_listing(TREE, "g/", "g/05", "g/12", "g/07")
    assert list(tree.items("g/", start="g/05", stop="g/12", start_after="g/07")) == [
        (k, value_of(k)) for k in keys
    ]
    assert keys == ["g/08", "g/09", "g/10", "g/11"]


def test_start_at_or_past_stop_lists_nothing(tree):
    for start, stop in (("b", "b"), ("c", "b"), ("\U0010ffff", "")):
        for reverse in (False, True):
            assert list(tree.yield_keys(start=start, stop=stop, reverse=reverse)) == []
            assert list(tree.items(start=start, stop=stop, reverse=reverse)) == []
            assert (
                list(tree.keys(start=start, stop=stop, delimiter="/", reverse=reverse))
                == []
            )


def test_async_listing_takes_every_option(tree):
    async def main():
        ranged = [k async for k in tree.ayield_keys(start="b", stop="g/03")]
        grouped = [
            k
            async for k in tree.ayield_keys(
                prefix="a", delimiter="/", reverse=True, limit=4
            )
        ]
        resumed = [k async for k in tree.ayield_keys(delimiter="/", start_after="b/")]
        return ranged, grouped, resumed

    ranged, grouped, resumed = asyncio.run(main())
    assert ranged == model_listing(TREE, start="b", stop="g/03")
    assert grouped == model_listing(TREE, "a", delimiter="/", reverse=True, limit=4)
    assert resumed == model_listing(TREE, delimiter="/", start_after="b/")


# ------------------------------------------------------------ arguments


@pytest.mark.parametrize(
    "kwargs, error, name",
    [
        ({"start": 3}, TypeError, "start"),
        ({"stop": b"x"}, TypeError, "stop"),
        ({"delimiter": ""}, ValueError, "delimiter"),
        ({"delimiter": 1}, TypeError, "delimiter"),
        ({"delimiter": b"/"}, TypeError, "delimiter"),
        ({"limit": True}, TypeError, "limit"),
        ({"limit": False}, TypeError, "limit"),
        ({"limit": 1.0}, TypeError, "limit"),
        ({"limit": "3"}, TypeError, "limit"),
        ({"limit": -1}, ValueError, "limit"),
    ],
)
def test_bad_options_raise_naming_the_option(tree, kwargs, error, name):
    with pytest.raises(error, match=name):
        tree.yield_keys(**kwargs)
    with pytest.raises(error, match=name):
        tree.ayield_keys(**kwargs)
    if "delimiter" not in kwargs:
        with pytest.raises(error, match=name):
            tree.items(**kwargs)


def test_limit_takes_any_integer_type(tree):
    numpy = pytest.importorskip("numpy")

    class Three:
        def __index__(self):
            return 3

    expected = model_listing(TREE, limit=3)
    assert list(tree.yield_keys(limit=numpy.int64(3))) == expected
    assert list(tree.yield_keys(limit=Three())) == expected
    assert list(tree.items(limit=numpy.uint8(3))) == [
        (k, value_of(k)) for k in expected
    ]


class Liar(str):
    """A str whose truth value lies: options are tested by length."""

    def __bool__(self):
        raise AssertionError("an option's __bool__ was called")

    def __len__(self):
        raise AssertionError("an option's __len__ was called")


def test_str_subclass_options_are_read_as_their_text(tree):
    got = list(
        tree.yield_keys(
            prefix=Liar("g/"),
            start=Liar("g/03"),
            stop=Liar("g/sub/3"),
            start_after=Liar("g/05"),
            delimiter=Liar("/"),
        )
    )
    assert got == model_listing(TREE, "g/", "g/03", "g/sub/3", "g/05", delimiter="/")
    assert list(tree.yield_keys(prefix=Liar(""))) == TREE


BATCH_METHODS = ["mget", "mset", "mdelete", "amget", "amset", "amdelete"]


@pytest.mark.parametrize("method", BATCH_METHODS)
@pytest.mark.parametrize(
    "batch", ["ab", b"ab", bytearray(b"ab")], ids=["str", "bytes", "bytearray"]
)
def test_a_str_or_bytes_is_not_a_batch(make_store, method, batch):
    store = make_store()
    store.mset([("a", b"1"), ("b", b"2"), ("ab", b"3")])
    call = getattr(store, method)
    with pytest.raises(TypeError, match=method):
        if method.startswith("a"):
            asyncio.run(call(batch))
        else:
            call(batch)
    assert list(store.items()) == [("a", b"1"), ("ab", b"3"), ("b", b"2")]


# --------------------------------------------------------------- expiry


def test_default_ttl_is_read_back(make_store):
    assert make_store().default_ttl is None
    assert make_store(ttl=LONG).default_ttl == LONG


def test_an_expired_key_is_gone_for_every_operation(make_store, clock):
    store = make_store(clock=clock)
    store.mset([("a", b"1"), ("a/b", b"2"), ("c", b"3")])
    store.mset([("a/b/c", b"short"), ("a/x", b"short"), ("b", b"short")], ttl=SHORT)
    store.mset([("a/y", b"long")], ttl=LONG)
    assert store.ttl("a/y") > LONG - 60
    clock.advance(SHORT)

    live = ["a", "a/b", "a/y", "c"]
    assert store.get("b") is None and store.get("b", b"d") == b"d"
    assert store.mget(["a/b/c", "a", "a/x"]) == [None, b"1", None]
    assert "b" not in store and "a" in store
    with pytest.raises(KeyError):
        store["a/x"]
    assert len(store) == 4
    assert store.count("a/") == 2 and store.count("b") == 0
    assert list(store.yield_keys()) == live
    assert list(store.keys(reverse=True)) == live[::-1]
    assert list(store.keys(start="a/b/", stop="a/y")) == []
    assert list(store.keys(delimiter="/")) == ["a", "a/", "c"]
    assert list(store.keys(prefix="a/", delimiter="/")) == ["a/b", "a/y"]
    assert list(store.items()) == [(k, store[k]) for k in live]
    assert list(store.values(limit=2)) == [b"1", b"2"]
    assert store.longest_prefix("a/b/c/d") == ("a/b", b"2")
    assert store.longest_prefix("bb") is None
    for key in ("a/x", "b"):
        with pytest.raises(KeyError):
            store.ttl(key)
        assert store.expire(key, LONG) is False
        assert store.persist(key) is False
    with pytest.raises(KeyError):
        del store["b"]

    async def listed():
        return (
            await store.amget(["a/x", "c"]),
            [k async for k in store.ayield_keys(prefix="a/", delimiter="/")],
        )

    assert asyncio.run(listed()) == ([None, b"3"], ["a/b", "a/y"])
    assert store.delete_prefix("a/") == 2
    assert list(store.keys()) == ["a", "c"]


def test_ttl_left_out_uses_the_default_and_none_means_never(make_store, clock):
    # Lifetimes are read back from a store whose default is long (a short
    # one could run out before it is read on a busy machine) ...
    store = make_store(ttl=LONG, clock=clock)
    store.mset([("default", b"1")])
    store["item"] = b"2"
    store.mset([("never", b"3")], ttl=None)
    store.mset([("own", b"4")], ttl=2 * LONG)

    async def write():
        await store.amset([("adefault", b"5")])
        await store.amset([("anever", b"6")], ttl=None)
        await store.amset([("aown", b"7")], ttl=2 * LONG)

    asyncio.run(write())
    for key in ("default", "item", "adefault"):
        assert LONG - 60 < store.ttl(key) <= LONG
    assert store.ttl("never") is None and store.ttl("anever") is None
    for key in ("own", "aown"):
        assert 2 * LONG - 60 < store.ttl(key) <= 2 * LONG

    # ... and a short default makes keys written without a lifetime expire.
    brief = make_store(ttl=SHORT, clock=clock)
    brief.mset([("default", b"1")])
    brief["item"] = b"2"
    brief.mset([("never", b"3")], ttl=None)
    brief.mset([("own", b"4")], ttl=LONG)
    asyncio.run(brief.amset([("adefault", b"5")]))
    asyncio.run(brief.amset([("anever", b"6")], ttl=None))
    clock.advance(SHORT)
    assert list(brief.keys()) == ["anever", "never", "own"]


def test_writing_without_a_lifetime_clears_the_old_one(make_store, clock):
    store = make_store(clock=clock)
    store.mset([("a", b"1"), ("b", b"1"), ("c", b"1"), ("d", b"1")], ttl=SHORT)
    store.mset([("a", b"2")])  # left out, and the store has no default
    store.mset([("b", b"2")], ttl=None)
    store["c"] = b"2"

    async def write():
        await store.amset([("d", b"2")], ttl=None)

    asyncio.run(write())
    assert [store.ttl(k) for k in "abcd"] == [None] * 4
    clock.advance(SHORT)
    assert store.mget(list("abcd")) == [b"2"] * 4


def test_expire_ttl_and_persist(make_store, clock):
    store = make_store(clock=clock)
    store.mset([("a", b"1"), ("b", b"2"), ("c", b"3")])
    assert store.expire("missing", LONG) is False
    assert "missing" not in store
    with pytest.raises(KeyError):
        store.ttl("missing")
    assert store.persist("missing") is False
    assert store.ttl("a") is None
    assert store.persist("a") is False

    assert store.expire("a", LONG) is True
    assert LONG - 60 < store.ttl("a") <= LONG
    assert store.persist("a") is True
    assert store.ttl("a") is None and store.persist("a") is False

    assert store.expire("b", LONG) is True
    assert store.expire("b", SHORT) is True  # a new deadline replaces the old one
    assert store.expire("c", LONG) is True
    assert store.persist("c") is True
    clock.advance(SHORT)
    assert list(store.keys()) == ["a", "c"]
    assert store.expire("b", LONG) is False
    assert store.count() == 2


@pytest.mark.parametrize(
    "bad, error",
    [
        (0, ValueError),
        (-1, ValueError),
        (-0.5, ValueError),
        (math.nan, ValueError),
        (math.inf, ValueError),
        (-math.inf, ValueError),
        (True, TypeError),
        (False, TypeError),
        ("5", TypeError),
        (b"5", TypeError),
        ([5], TypeError),
    ],
)
def test_a_bad_ttl_raises_and_writes_nothing(make_store, bad, error):
    with pytest.raises(error, match=r"^ttl"):
        make_store(ttl=bad)
    store = make_store()
    store.mset([("keep", b"1")])
    with pytest.raises(error, match=r"^ttl"):
        store.mset([("a", b"1"), ("b", b"2")], ttl=bad)
    with pytest.raises(error, match=r"^ttl"):
        asyncio.run(store.amset([("a", b"1")], ttl=bad))
    with pytest.raises(error, match=r"^ttl"):
        store.expire("keep", bad)
    assert list(store.keys()) == ["keep"]
    assert store.ttl("keep") is None


def test_expire_needs_a_number(make_store):
    store = make_store()
    store.mset([("a", b"1")])
    with pytest.raises(TypeError, match=r"^ttl"):
        store.expire("a", None)
    assert store.ttl("a") is None


def test_an_open_listing_stops_seeing_keys_that_expire(make_store, clock):
    store = make_store(clock=clock)
    store.mset([(f"a{i}", b"live") for i in range(10)])
    store.mset([(f"b{i:02}", b"brief") for i in range(20)], ttl=SHORT)
    store.mset([("c", b"live")])
    keys = store.yield_keys()
    items = store.items()
    assert next(keys) == "a0"
    assert next(items) == ("a0", b"live")
    clock.advance(SHORT)
    # The Redis stores read pages of 7 keys: every expiring key lies past
    # the page the listing holds.
    assert list(keys) == [f"a{i}" for i in range(1, 10)] + ["c"]
    assert list(items) == [(f"a{i}", b"live") for i in range(1, 10)] + [("c", b"live")]
