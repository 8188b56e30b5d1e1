"""The store contract: one suite, every backend.

Each test runs on ``TrieStore`` (in memory), on ``RedisStore`` against a
real redis-server, and on ``RedisStore`` through redis-py's cluster client on
a three-node Redis Cluster.  The Redis stores list in pages of 7 keys, so
listings cross page boundaries all the time.  Values are ``bytes``, which
every backend stores as they are.
"""

import asyncio
import random
import time
import uuid

import pytest

from memstore import PrefixStore, TrieStore

BACKENDS = ["trie", "redis", "redis-cluster"]

KEYS = [
    "",
    "\x00",
    "a",
    "a\x00",
    "ab",
    "abc",
    "abd",
    "b",
    "ba",
    "z" * 300,
    "é",
    "éa",
    "日本",
    "日本語",
    "\U0001f600",
    "\U0001f600x",
    "\ud800",
]


def byte_order(keys):
    return sorted(keys, key=lambda k: k.encode("utf-8", "surrogatepass"))


def value_of(key):
    return b"v:" + key.encode("utf-8", "surrogatepass")


@pytest.fixture(params=BACKENDS, name="backend")
def backend_fixture(request):
    """Which engine a test runs on: the parameter every contract test has."""
    return request.param


class FakeClock:
    """TrieStore's clock in tests (``TrieStore(clock=...)``): time moves
    only when the test says so."""

    def __init__(self):
        self.now = 1_700_000_000.0

    def __call__(self):
        return self.now

    def advance(self, seconds):
        self.now += seconds


class ServerClock:
    """Redis keeps its own time: advancing sleeps for real.  It sleeps a
    little past the span, since Redis expires a key once its millisecond
    clock has passed the deadline, and lifetimes in these tests stay short
    (at most 0.3 s) so the suite stays fast."""

    def advance(self, seconds):
        assert seconds <= 0.35, "keep real lifetimes short"
        time.sleep(seconds + 0.02)


@pytest.fixture(name="clock")
def clock_fixture(backend):
    """``clock.advance(seconds)`` moves time on for the stores of this
    backend made with ``make_store(clock=clock)``."""
    return FakeClock() if backend == "trie" else ServerClock()


@pytest.fixture(name="make_store")
def make_store_fixture(backend, request):
    """A factory of empty stores of one backend; Redis namespaces are fresh
    per test and cleared afterwards.  ``make_store(ttl=..., clock=...)``
    passes a default lifetime and (to TrieStore; Redis keeps its own time)
    a clock."""
    made = []
    if backend == "trie":
        yield lambda **options: TrieStore(**options)
        return
    from memstore.redis import RedisStore

    if backend == "redis":
        import redis

        url = request.getfixturevalue("redis_url")
        client = redis.Redis.from_url(url)
        import redis.asyncio

        def aclient_factory():
            return redis.asyncio.Redis.from_url(url)

        namespace = f"contract:{uuid.uuid4().hex}"
    else:
        import redis.asyncio.cluster
        import redis.cluster

        port = request.getfixturevalue("redis_cluster_port")
        client = redis.cluster.RedisCluster(host="127.0.0.1", port=port)

        def aclient_factory():
            return redis.asyncio.cluster.RedisCluster(host="127.0.0.1", port=port)

        namespace = f"{{contract:{uuid.uuid4().hex}}}"

    def factory(**options):
        options.pop("clock", None)
        # The asyncio client is made by the store from the factory, in the
        # loop that first uses it (each test runs its own): made here, it
        # could not be on Python 3.9, outside a running loop.
        store = RedisStore(
            client,
            async_client=aclient_factory,
            namespace=f"{namespace}:{len(made)}",
            page_size=7,
            **options,
        )
        made.append(store)
        return store

    yield factory
    for store in made:
        store.clear()
        assert len(store) == 0
    client.close()


@pytest.fixture
def store(make_store):
    return make_store()


@pytest.fixture
def filled(store):
    store.mset([(k, value_of(k)) for k in KEYS])
    return store


def test_every_backend_satisfies_the_protocol(store):
    assert isinstance(store, PrefixStore)


# ------------------------------------------------------------- batches


def test_mset_then_mget_in_order_with_none_for_missing(filled):
    asked = ["ab", "missing", "", "\U0001f600", "ab", "\ud800"]
    assert filled.mget(asked) == [
        value_of("ab"),
        None,
        value_of(""),
        value_of("\U0001f600"),
        value_of("ab"),
        value_of("\ud800"),
    ]
    assert filled.mget([]) == []


def test_mset_overwrites_and_last_duplicate_wins(filled):
    filled.mset([("ab", b"1"), ("new", b"2"), ("ab", b"3")])
    assert filled.mget(["ab", "new"]) == [b"3", b"2"]
    assert len(filled) == len(KEYS) + 1


def test_mdelete_removes_and_ignores_missing(filled):
    filled.mdelete(["ab", "missing", "ab", ""])
    assert filled.mget(["ab", "", "abc"]) == [None, None, value_of("abc")]
    assert len(filled) == len(KEYS) - 2
    filled.mdelete([])
    assert len(filled) == len(KEYS) - 2


def test_values_are_kept_byte_exact(store):
    blobs = [b"", b"\x00", bytes(range(256)), b"\xff" * 100_000]
    store.mset([(f"k{i}", b) for i, b in enumerate(blobs)])
    assert store.mget([f"k{i}" for i in range(len(blobs))]) == blobs


@pytest.mark.parametrize(
    "bad_batch, message",
    [
        ([("a", b"1"), ("b", b"2"), (3, b"x")], "key at index 2 must be str, not int"),
        ([("a", b"1"), ("b",)], "item at index 1 must be a (key, value) pair"),
        ([("a", b"1"), "ab"], "item at index 1 must be a (key, value) pair"),
        ([("a", b"1"), (None, b"x")], "key at index 1 must be str, not NoneType"),
    ],
)
def test_a_bad_element_anywhere_writes_nothing(filled, bad_batch, message):
    before = list(filled.yield_keys())
    with pytest.raises(TypeError) as info:
        filled.mset(bad_batch)
    assert message in str(info.value)
    assert list(filled.yield_keys()) == before
    assert filled.mget(["a"]) == [value_of("a")]


def test_a_bad_key_in_mdelete_deletes_nothing(filled):
    with pytest.raises(TypeError, match="key at index 1 must be str, not bytes"):
        filled.mdelete(["a", b"ab"])
    assert len(filled) == len(KEYS)


def test_a_large_batch_with_a_bad_last_element_writes_nothing(store):
    batch = [(f"k{i:05}", b"x") for i in range(20_000)] + [(20_000, b"x")]
    with pytest.raises(TypeError, match="index 20000"):
        store.mset(batch)
    assert len(store) == 0
    store.mset(batch[:-1])
    assert store.count("k") == 20_000
    assert store.mget(["k19999"]) == [b"x"]


# ------------------------------------------------------------- listing


def test_yield_keys_lists_in_utf8_byte_order(filled):
    assert list(filled.yield_keys()) == byte_order(KEYS)
    assert list(filled.yield_keys(reverse=True)) == byte_order(KEYS)[::-1]


@pytest.mark.parametrize(
    "prefix",
    [
        "",
        "a",
        "ab",
        "abc",
        "abz",
        "é",
        "日本",
        "\U0001f600",
        "\x00",
        "zz",
        "z" * 299,
        "q",
    ],
)
def test_prefix_listing_and_counting_agree_with_a_scan(filled, prefix):
    expected = byte_order([k for k in KEYS if k.startswith(prefix)])
    assert list(filled.yield_keys(prefix=prefix)) == expected
    assert list(filled.yield_keys(prefix=prefix, reverse=True)) == expected[::-1]
    assert filled.count(prefix) == len(expected)


def test_start_after_and_limit_resume_a_listing_in_both_directions(filled):
    everything = byte_order(KEYS)
    for reverse in (False, True):
        order = everything[::-1] if reverse else everything
        resumed, after = [], None
        while True:
            page = list(filled.yield_keys(start_after=after, limit=3, reverse=reverse))
            if not page:
                break
            assert len(page) <= 3
            resumed += page
            after = page[-1]
        assert resumed == order


@pytest.mark.parametrize(
    "start_after", ["", "a", "ab", "abb", "abz", "b", "\U0010ffff"]
)
@pytest.mark.parametrize("reverse", [False, True])
def test_start_after_need_not_be_stored_or_inside_the_prefix(
    filled, start_after, reverse
):
    for prefix in ("", "a", "ab"):
        matches = byte_order([k for k in KEYS if k.startswith(prefix)])
        cut = start_after.encode("utf-8")
        if reverse:
            expected = [
                k for k in matches[::-1] if k.encode("utf-8", "surrogatepass") < cut
            ]
        else:
            expected = [k for k in matches if k.encode("utf-8", "surrogatepass") > cut]
        got = list(
            filled.yield_keys(prefix=prefix, start_after=start_after, reverse=reverse)
        )
        assert got == expected, (prefix, start_after, reverse)


def test_limit(filled):
    assert list(filled.yield_keys(limit=0)) == []
    assert list(filled.yield_keys(prefix="a", limit=2)) == ["a", "a\x00"]
    assert list(filled.yield_keys(limit=10_000)) == byte_order(KEYS)
    assert list(filled.yield_keys(limit=8)) == byte_order(KEYS)[:8]


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"prefix": 3}, TypeError),
        ({"prefix": b"a"}, TypeError),
        ({"start_after": 1.5}, TypeError),
        ({"limit": -1}, ValueError),
        ({"limit": "3"}, TypeError),
    ],
)
def test_bad_listing_arguments_raise_at_the_call(filled, kwargs, error):
    with pytest.raises(error):
        filled.yield_keys(**kwargs)


def test_items_pair_keys_with_values_in_order(filled):
    assert list(filled.items("a")) == [
        (k, value_of(k)) for k in byte_order(KEYS) if k.startswith("a")
    ]
    assert list(filled.items(reverse=True, limit=2)) == [
        (k, value_of(k)) for k in byte_order(KEYS)[::-1][:2]
    ]


def test_a_listing_survives_writes_made_while_it_runs(store):
    store.mset([(f"k{i:03}", b"x") for i in range(0, 100, 2)])
    seen = []
    for n, key in enumerate(store.yield_keys(prefix="k")):
        seen.append(key)
        # Writes behind, at and ahead of the position: never a crash, a
        # repeat or a step backwards, and keys present throughout appear.
        store.mset([(f"k{(n * 7) % 100:03}", b"y")])
        store.mdelete([f"k{(n * 13 + 1) % 100:03}"])
    assert seen == sorted(set(seen))
    kept = {f"k{i:03}" for i in range(0, 100, 2)} - {
        f"k{(n * 13 + 1) % 100:03}" for n in range(200)
    }
    assert kept <= set(seen)


# ------------------------------------------------------------ prefixes


def test_count_and_len(filled):
    assert len(filled) == len(KEYS)
    assert filled.count() == filled.count("") == filled.count(None) == len(KEYS)
    assert filled.count("a") == 5  # a, a\x00, ab, abc, abd
    assert filled.count("nope") == 0


def test_delete_prefix_removes_exactly_the_matching_keys(filled):
    assert filled.delete_prefix("a") == 5
    assert list(filled.yield_keys()) == byte_order(
        [k for k in KEYS if not k.startswith("a")]
    )
    assert filled.delete_prefix("a") == 0
    assert filled.delete_prefix("") == len(KEYS) - 5
    assert len(filled) == 0


def test_delete_prefix_across_many_pages(store):
    store.mset([(f"p:{i}", b"x") for i in range(500)] + [("q", b"y")])
    assert store.delete_prefix("p:") == 500
    assert list(store.yield_keys()) == ["q"]


@pytest.mark.parametrize(
    "query, expected",
    [
        ("abcd", "abc"),
        ("abc", "abc"),
        ("abe", "ab"),
        ("a\x00\x00", "a\x00"),
        ("a", "a"),
        ("b", "b"),
        ("bb", "b"),
        ("c", ""),
        ("日本語です", "日本語"),
        ("日本人", "日本"),
        ("\U0001f600\U0001f600", "\U0001f600"),
        ("éz", "é"),
        ("", ""),
        ("\ud800\ud800", "\ud800"),
    ],
)
def test_longest_prefix(filled, query, expected):
    assert filled.longest_prefix(query) == (expected, value_of(expected))


def test_longest_prefix_without_an_empty_key(filled):
    filled.mdelete([""])
    assert filled.longest_prefix("c") is None
    assert filled.longest_prefix("") is None
    assert filled.longest_prefix("abq") == ("ab", value_of("ab"))
    with pytest.raises(TypeError):
        filled.longest_prefix(5)


# ---------------------------------------------------------- single keys


def test_mapping_access(filled):
    assert filled["ab"] == value_of("ab")
    assert filled.get("ab") == value_of("ab")
    assert filled.get("nope") is None
    assert filled.get("nope", b"d") == b"d"
    with pytest.raises(KeyError):
        filled["nope"]
    filled["nope"] = b"now"
    assert filled["nope"] == b"now"
    del filled["nope"]
    with pytest.raises(KeyError):
        del filled["nope"]
    assert "ab" in filled and "nope" not in filled
    assert 5 not in filled and b"ab" not in filled
    with pytest.raises(TypeError):
        filled.get(5)


def test_clear_empties_the_store(filled):
    filled.clear()
    assert len(filled) == 0
    assert list(filled.yield_keys()) == []
    assert filled.mget(["a"]) == [None]


# ----------------------------------------------------------------- async


def test_async_twins_match_the_sync_methods(store):
    async def main():
        await store.amset([(k, value_of(k)) for k in KEYS])
        got = await store.amget(["ab", "missing", ""])
        listed = [k async for k in store.ayield_keys(prefix="a")]
        backwards = [
            k async for k in store.ayield_keys(start_after="b", reverse=True, limit=3)
        ]
        await store.amdelete(["ab", "missing"])
        return got, listed, backwards

    got, listed, backwards = asyncio.run(main())
    assert got == [value_of("ab"), None, value_of("")]
    assert listed == byte_order([k for k in KEYS if k.startswith("a")])
    assert (
        backwards
        == byte_order([k for k in KEYS if k.encode("utf-8", "surrogatepass") < b"b"])[
            ::-1
        ][:3]
    )
    assert "ab" not in store
    assert len(store) == len(KEYS) - 1


def test_async_batches_validate_before_writing(store):
    async def main():
        with pytest.raises(TypeError, match="key at index 1"):
            await store.amset([("a", b"1"), (2, b"2")])
        with pytest.raises(TypeError, match="key at index 0"):
            await store.amdelete([None])
        with pytest.raises(TypeError):
            store.ayield_keys(prefix=1)

    asyncio.run(main())
    assert len(store) == 0


# ------------------------------------------------------ against a model


@pytest.mark.parametrize("seed", range(4))
def test_random_operations_agree_with_a_dict(make_store, seed):
    rng = random.Random(seed)
    alphabet = ["a", "b", "é", "日", "\U0001f600", ":", "\x00"]
    store, model = make_store(), {}

    def key():
        return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 5)))

    for step in range(150):
        op = rng.random()
        if op < 0.4:
            batch = [
                (key(), str(rng.random()).encode()) for _ in range(rng.randint(0, 6))
            ]
            store.mset(batch)
            model.update(batch)
        elif op < 0.6:
            batch = [key() for _ in range(rng.randint(0, 4))]
            store.mdelete(batch)
            for k in batch:
                model.pop(k, None)
        elif op < 0.65:
            p = key()[:2]
            assert store.delete_prefix(p) == sum(k.startswith(p) for k in model)
            model = {k: v for k, v in model.items() if not k.startswith(p)}
        else:
            p = key()[:3]
            matches = byte_order([k for k in model if k.startswith(p)])
            assert list(store.yield_keys(prefix=p)) == matches, step
            assert store.count(p) == len(matches)
            q = key()
            best = max((k for k in model if q.startswith(k)), key=len, default=None)
            assert store.longest_prefix(q) == (
                None if best is None else (best, model[best])
            )
    assert dict(store.items()) == model
    assert len(store) == len(model)
