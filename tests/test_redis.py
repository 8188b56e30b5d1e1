"""What only the Redis backend has: its layout on the server, namespaces,
TTLs, eviction, serializers, clients, and consistency with several writing processes.
The behaviour it shares with TrieStore is in test_contract.py."""

import asyncio
import multiprocessing
import pickle
import time
import uuid

import pytest

from memstore.redis import EvictionPolicyError, RedisStore


@pytest.fixture
def client(redis_url):
    import redis

    c = redis.Redis.from_url(redis_url)
    yield c
    c.close()


@pytest.fixture
def namespace(client):
    ns = f"t:{uuid.uuid4().hex}"
    yield ns
    leftovers = list(client.scan_iter(match=ns + "*"))
    if leftovers:
        client.delete(*leftovers)


def home(ns):
    """Where every Redis key of the namespace ``ns`` starts."""
    return ns.encode() + b"\xff"


def index_key(ns):
    return home(ns) + b"index"


def expiry_key(ns):
    return home(ns) + b"expiry"


def value_key(ns, key):
    return home(ns) + b"v:" + key.encode()


def raw_index(client, ns):
    return client.zrange(index_key(ns), 0, -1)


def raw_value_keys(client, ns):
    return sorted(client.scan_iter(match=value_key(ns, "*"), count=1000))


def wait_until(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


# ------------------------------------------------------------------ layout


def test_layout_values_under_namespaced_keys_and_a_lex_index(client, namespace):
    store = RedisStore(client, namespace=namespace)
    store.mset([("b", b"2"), ("a", b"1"), ("é", b"3")])
    assert client.get(value_key(namespace, "a")) == b"1"
    assert client.get(value_key(namespace, "é")) == b"3"
    assert raw_index(client, namespace) == [b"a", b"b", "é".encode()]
    assert set(client.zrange(index_key(namespace), 0, -1, withscores=True)) == {
        (b"a", 0.0),
        (b"b", 0.0),
        ("é".encode(), 0.0),
    }
    store.mdelete(["a"])
    assert client.get(value_key(namespace, "a")) is None
    assert raw_index(client, namespace) == [b"b", "é".encode()]


def test_clear_touches_only_its_own_namespace(client, namespace):
    mine = RedisStore(client, namespace=namespace)
    other = RedisStore(client, namespace=namespace + "-other")
    client.set(namespace + "-unrelated", b"keep")
    mine.mset([(f"k{i}", b"x") for i in range(50)])
    other.mset([("k1", b"theirs")])
    mine.clear()
    assert len(mine) == 0
    assert list(client.scan_iter(match=home(namespace) + b"*")) == []
    assert other.mget(["k1"]) == [b"theirs"]
    assert client.get(namespace + "-unrelated") == b"keep"
    other.clear()


def test_no_namespace_shares_a_redis_key_with_another(client, namespace):
    """A namespace ends at a 0xFF byte, which UTF-8 never produces: keys
    named like another namespace's index, expiry set or values leave the
    nested namespaces untouched (no WRONGTYPE, no lost data)."""
    nested_names = [
        namespace + suffix
        for suffix in (
            ":v",
            ":x",
            ":v:x",
            ":index",
            "\xff",
            "\x00",
            ":",
            "v:",
            "\U0010ffff",
        )
    ]
    nested = [RedisStore(client, namespace=name) for name in nested_names]
    for n, store in enumerate(nested):
        store.mset([("index", b"i%d" % n), ("k", b"k%d" % n)])
        store.mset([("brief", b"b")], ttl=60)  # every store has an expiry set too
    outer = RedisStore(client, namespace=namespace)
    tricky = [
        "index",
        "expiry",
        "x:index",
        "x:expiry",
        "v:index",
        "v:x:index",
        ":index",
        ":expiry",
        "index:",
        "\xffindex",
        "\x00index",
        "v:",
        "",
    ]
    outer.mset([(k, k.encode("utf-8")) for k in tricky])
    outer.mset([("v:expiry", b"e")], ttl=60)
    for n, store in enumerate(nested):
        assert store.mget(["index", "k", "brief"]) == [b"i%d" % n, b"k%d" % n, b"b"]
        assert list(store.keys()) == ["brief", "index", "k"]
        assert store.count() == 3 and 0 < store.ttl("brief") <= 60
    assert outer.count() == len(tricky) + 1
    assert outer.mget(tricky) == [k.encode("utf-8") for k in tricky]
    outer.clear()
    for store in nested:
        assert store.count() == 3
        store.clear()
    assert list(client.scan_iter(match=home(namespace) + b"*")) == []


def test_data_in_the_old_layout_is_not_read(client, namespace):
    client.set(namespace + ":v:a", b"old")
    client.zadd(namespace + ":index", {b"a": 0})
    store = RedisStore(client, namespace=namespace)
    assert store.mget(["a"]) == [None] and len(store) == 0
    client.delete(namespace + ":v:a", namespace + ":index")


def test_listing_reads_pages_not_one_reply(client, namespace):
    store = RedisStore(client, namespace=namespace, page_size=10)
    store.mset([(f"k{i:04}", b"x") for i in range(95)])
    pages = []
    listing = store._listing("k", None, None, False)
    for page in store._pages(listing):
        pages.append(len(page))
    assert pages == [10] * 9 + [5]
    assert list(store.yield_keys(prefix="k", limit=23)) == [
        f"k{i:04}" for i in range(23)
    ]


# --------------------------------------------------------------------- TTL


def test_ttl_expires_the_key_and_leaves_the_index_clean(client, namespace):
    store = RedisStore(client, namespace=namespace)
    store.mset([("keep", b"1")])
    before = time_ms(client)
    store.mset([("brief:1", b"x"), ("brief:2", b"y")], ttl=0.2)
    deadline = client.zscore(expiry_key(namespace), b"brief:1")
    assert before + 200 <= deadline <= time_ms(client) + 200
    wait_until(lambda: client.exists(value_key(namespace, "brief:1")) == 0)
    # Counting drops the expired entries before it counts ...
    assert store.count("brief:") == 0
    assert raw_index(client, namespace) == [b"keep"]
    assert client.zcard(expiry_key(namespace)) == 0
    assert list(store.yield_keys()) == ["keep"]
    assert store.mget(["brief:1", "keep"]) == [None, b"1"]
    assert "brief:1" not in store and len(store) == 1


def test_every_read_sees_expired_keys_gone(client, namespace):
    store = RedisStore(client, namespace=namespace)
    store.mset([("a", b"1"), ("ab", b"2")])
    store.mset([("abc", b"3")], ttl=0.1)
    wait_until(lambda: client.exists(value_key(namespace, "abc")) == 0)
    assert store.longest_prefix("abcd") == ("ab", b"2")
    store.mset([("abc", b"3")], ttl=0.1)
    wait_until(lambda: client.exists(value_key(namespace, "abc")) == 0)
    assert list(store.yield_keys(prefix="a", reverse=True)) == ["ab", "a"]
    store.mset([("abc", b"3")], ttl=0.1)
    wait_until(lambda: client.exists(value_key(namespace, "abc")) == 0)
    assert store.delete_prefix("a") == 2
    assert raw_index(client, namespace) == []


def test_more_expired_entries_than_one_purge_takes(client, namespace):
    store = RedisStore(client, namespace=namespace)
    store.mset([(f"e{i:05}", b"x") for i in range(2_500)], ttl=0.1)
    store.mset([("live", b"y")])
    wait_until(lambda: client.exists(value_key(namespace, "e02499")) == 0)
    assert len(store) == 1
    assert client.zcard(expiry_key(namespace)) == 0


def test_rewriting_without_ttl_cancels_the_expiry(client, namespace):
    store = RedisStore(client, namespace=namespace, ttl=60)
    store.mset([("a", b"1"), ("b", b"2")])  # the store's default TTL
    assert client.pttl(value_key(namespace, "a")) > 0
    plain = RedisStore(client, namespace=namespace)
    plain.mset([("a", b"again")])
    assert client.pttl(value_key(namespace, "a")) == -1
    assert client.zrange(expiry_key(namespace), 0, -1) == [b"b"]
    store.mset([("b", b"2")], ttl=0.1)
    wait_until(lambda: client.exists(value_key(namespace, "b")) == 0)
    assert list(plain.yield_keys()) == ["a"]
    store.mset([("c", b"3")], ttl=600)
    assert client.pttl(value_key(namespace, "c")) > 500_000


def test_mget_mset_only_workloads_keep_the_sets_proportional_to_live_keys(
    client, namespace
):
    """The CacheBackedEmbeddings pattern: rounds of mset with a lifetime and
    mget, and nothing that reads the index.  Each write purges at least
    twice its batch of due entries, so expired rounds do not pile up."""
    store = RedisStore(client, namespace=namespace, ttl=0.2)
    batch = 20_000
    for r in range(5):
        keys = [f"emb:{r}:{i:05}" for i in range(batch)]
        store.mset([(k, b"vector") for k in keys])
        # The whole round shares one deadline: once one key is gone, all are.
        last = value_key(namespace, keys[-1])
        wait_until(lambda: client.exists(last) == 0)  # noqa: B023 - called at once
        assert store.mget(keys[:100]) == [None] * 100
        # Only the round just expired is left in the sets, never the ones before.
        assert client.zcard(index_key(namespace)) <= batch
        assert client.zcard(expiry_key(namespace)) <= batch
    # A one-key write purges a bounded batch; a read that uses the index
    # purges every due entry before it answers.
    store.mset([("live", b"1")], ttl=None)
    assert client.zcard(index_key(namespace)) <= batch
    assert len(store) == 1
    assert client.zcard(index_key(namespace)) == 1
    assert client.zcard(expiry_key(namespace)) == 0


def test_expire_and_persist_keep_the_expiry_set_in_step(client, namespace):
    store = RedisStore(client, namespace=namespace)
    store.mset([("a", b"1"), ("b", b"2")])
    assert client.zcard(expiry_key(namespace)) == 0
    before = time_ms(client)
    assert store.expire("a", 60) is True
    deadline = client.zscore(expiry_key(namespace), b"a")
    assert before + 60_000 <= deadline <= time_ms(client) + 60_000
    left = client.pttl(value_key(namespace, "a"))
    assert deadline - time_ms(client) - 1 <= left <= 60_000
    assert 59 < store.ttl("a") <= 60
    assert store.persist("a") is True
    assert client.zscore(expiry_key(namespace), b"a") is None
    assert client.pttl(value_key(namespace, "a")) == -1
    # A value that lost its index entry behind the store's back is absent.
    client.zrem(index_key(namespace), b"b")
    assert store.expire("b", 60) is False
    assert client.pttl(value_key(namespace, "b")) == -1
    store.expire("a", 0.1)
    wait_until(lambda: client.exists(value_key(namespace, "a")) == 0)
    assert store.expire("a", 60) is False
    assert client.zcard(index_key(namespace)) == 0
    assert client.zcard(expiry_key(namespace)) == 0


def time_ms(client):
    seconds, micros = client.time()
    return seconds * 1000 + micros // 1000


@pytest.mark.parametrize(
    "ttl, error",
    [
        (0, ValueError),
        (-1, ValueError),
        (0.0004, ValueError),
        (1e12, ValueError),
        (float("inf"), ValueError),
        (float("nan"), ValueError),
        ("5", TypeError),
        (True, TypeError),
    ],
)
def test_bad_ttl(client, namespace, ttl, error):
    with pytest.raises(error, match="ttl"):
        RedisStore(client, namespace=namespace, ttl=ttl)
    store = RedisStore(client, namespace=namespace)
    with pytest.raises(error, match="ttl"):
        store.mset([("a", b"1")], ttl=ttl)
    assert len(store) == 0


def test_a_foreign_key_where_the_index_lives_fails_the_batch_before_any_write(
    client, namespace
):
    store = RedisStore(client, namespace=namespace)
    for foreign, where in (
        (index_key(namespace), "index"),
        (expiry_key(namespace), "expiry"),
    ):
        client.set(foreign, b"not a sorted set")
        for ttl in (None, 60):
            with pytest.raises(Exception, match=f"{where} holds a string"):
                store.mset([("a", b"1"), ("b", b"2")], ttl=ttl)
            assert (
                client.exists(value_key(namespace, "a"), value_key(namespace, "b")) == 0
            )
        with pytest.raises(Exception, match=f"{where} holds a string"):
            store.mdelete(["a"])
        client.delete(foreign)
    store.mset([("a", b"1")])
    assert store.mget(["a"]) == [b"1"]


# ------------------------------------------------------------- serializers


def test_bytes_only_by_default(client, namespace):
    store = RedisStore(client, namespace=namespace)
    with pytest.raises(TypeError, match="value at index 1: must be bytes, not str"):
        store.mset([("a", b"ok"), ("b", "text")])
    assert len(store) == 0


def test_json_serializer(client, namespace):
    store = RedisStore(client, namespace=namespace, serializer="json")
    doc = {"text": "héllo", "n": [1, 2.5, None, True]}
    store.mset([("d", doc)])
    assert store.mget(["d"]) == [doc]
    assert (
        client.get(value_key(namespace, "d"))
        == '{"text":"héllo","n":[1,2.5,null,true]}'.encode()
    )
    with pytest.raises(TypeError, match="value at index 0"):
        store.mset([("x", object())])
    circular = []
    circular.append(circular)
    with pytest.raises(
        ValueError, match="value at index 1 could not be serialized by the json"
    ):
        store.mset([("x", 1), ("y", circular)])
    assert "x" not in store


def test_pickle_only_when_asked_for_by_name(client, namespace):
    pickled = RedisStore(client, namespace=namespace, serializer="pickle")
    pickled.mset([("obj", {"set": {1, 2}, "t": (1, "a")})])
    assert pickled["obj"] == {"set": {1, 2}, "t": (1, "a")}
    # The same data read without naming pickle stays bytes: never unpickled.
    raw = RedisStore(client, namespace=namespace)
    assert raw["obj"] == pickle.dumps(
        {"set": {1, 2}, "t": (1, "a")}, protocol=pickle.HIGHEST_PROTOCOL
    )
    as_json = RedisStore(client, namespace=namespace, serializer="json")
    with pytest.raises(ValueError):
        as_json["obj"]


def test_custom_serializer_and_bad_ones(client, namespace):
    class Upper:
        def dumps(self, value):
            return value.upper().encode()

        def loads(self, data):
            return data.decode().lower()

    store = RedisStore(client, namespace=namespace, serializer=Upper())
    store["k"] = "hello"
    assert client.get(value_key(namespace, "k")) == b"HELLO"
    assert store["k"] == "hello"

    class ReturnsStr:
        def dumps(self, value):
            return "not bytes"

        def loads(self, data):
            return data

    with pytest.raises(TypeError, match="returned str, not bytes"):
        RedisStore(client, namespace=namespace, serializer=ReturnsStr())["k2"] = 1
    with pytest.raises(ValueError, match="unknown serializer 'yaml'"):
        RedisStore(client, namespace=namespace, serializer="yaml")
    with pytest.raises(TypeError, match="dumps"):
        RedisStore(client, namespace=namespace, serializer=object())


# ----------------------------------------------------------------- clients


def test_constructor_checks(client, redis_url, namespace):
    import redis

    with pytest.raises(ValueError, match="client, an async_client or a url"):
        RedisStore(namespace=namespace)
    with pytest.raises(ValueError, match="either url or client"):
        RedisStore(client, url=redis_url)
    with pytest.raises(TypeError, match="redis-py client"):
        RedisStore({"not": "a client"})
    with pytest.raises(ValueError, match="decode_responses=False"):
        RedisStore(redis.Redis.from_url(redis_url, decode_responses=True))
    with pytest.raises(ValueError, match="namespace"):
        RedisStore(client, namespace="")
    with pytest.raises(ValueError, match="page_size"):
        RedisStore(client, page_size=0)


def test_sync_only_and_async_only_stores_say_what_is_missing(
    client, redis_url, namespace
):
    import redis.asyncio

    sync_only = RedisStore(client, namespace=namespace)
    with pytest.raises(RuntimeError, match="no async client"):
        asyncio.run(sync_only.amget(["a"]))
    with pytest.raises(RuntimeError, match="no async client"):
        sync_only.ayield_keys()

    async def main():
        async_only = RedisStore(
            async_client=redis.asyncio.Redis.from_url(redis_url), namespace=namespace
        )
        await async_only.amset([("a", b"1")])
        got = await async_only.amget(["a"])
        with pytest.raises(RuntimeError, match="no sync client"):
            async_only.mget(["a"])
        with pytest.raises(RuntimeError, match="no sync client"):
            async_only.yield_keys()
        await async_only.amdelete(["a"])
        return got

    assert asyncio.run(main()) == [b"1"]


def test_url_store_owns_and_closes_its_clients(redis_url, namespace):
    store = RedisStore(url=redis_url, namespace=namespace)
    store.mset([("a", b"1")])

    async def main():
        assert [k async for k in store.ayield_keys()] == ["a"]
        store.clear()
        await store.aclose()

    asyncio.run(main())


def test_cluster_needs_a_hash_tag(redis_cluster_port):
    import redis.cluster

    cluster = redis.cluster.RedisCluster(host="127.0.0.1", port=redis_cluster_port)
    try:
        with pytest.raises(ValueError, match="hash tag"):
            RedisStore(cluster, namespace="plain")
        with pytest.raises(ValueError, match="hash tag"):
            RedisStore(cluster, namespace="{}empty")
        # Two namespaces whose hash tags live on different shards: each
        # store's keys stay on its own shard, and both work side by side.
        by_node = {}
        for i in range(200):
            tag = f"tenant-{i}"
            by_node.setdefault(cluster.get_node_from_key("{" + tag + "}").name, tag)
        assert len(by_node) == 3, by_node
        tags = list(by_node.values())[:2]
        stores = [RedisStore(cluster, namespace="{" + tag + "}:cache") for tag in tags]
        for n, store in enumerate(stores):
            store.mset([(f"k{i}", bytes([n])) for i in range(20)])
        for n, (tag, store) in enumerate(zip(tags, stores)):
            assert store.count("k") == 20
            assert store.mget(["k3"]) == [bytes([n])]
            per_node = {
                node.name: list(
                    cluster.scan_iter(match="{" + tag + "}*", target_nodes=node)
                )
                for node in cluster.get_nodes()
            }
            holding = {name: keys for name, keys in per_node.items() if keys}
            assert len(holding) == 1  # one shard holds the whole store
            (keys,) = holding.values()
            assert len(keys) == 21  # 20 values and the index (no TTLs: no expiry set)
        assert (
            cluster.get_node_from_key("{" + tags[0] + "}").name
            != cluster.get_node_from_key("{" + tags[1] + "}").name
        )
        for store in stores:
            store.clear()
    finally:
        cluster.close()


# ------------------------------------------------------ hardening (issue 12)


def test_longest_prefix_skips_indexed_keys_that_lost_their_value(client, namespace):
    """A value deleted or evicted behind the store's back leaves its index
    entry: the answer is the next shorter stored prefix, found in a bounded
    number of steps (this looped forever before)."""
    store = RedisStore(client, namespace=namespace)
    store.mset([("", b"root"), ("a", b"1"), ("ab", b"2"), ("abc", b"3"), ("abd", b"4")])
    client.delete(value_key(namespace, "abc"), value_key(namespace, "ab"))
    assert store.longest_prefix("abcd") == ("a", b"1")
    assert store.longest_prefix("abd") == ("abd", b"4")
    client.delete(value_key(namespace, "a"), value_key(namespace, ""))
    assert store.longest_prefix("abcd") is None
    assert store.longest_prefix("") is None
    assert store.longest_prefix("zz") is None


def test_items_and_values_keep_values_that_decode_to_none(client, namespace):
    for serializer in ("json", "pickle"):
        store = RedisStore(client, namespace=namespace, serializer=serializer)
        store.mset([("a", None), ("b", 0), ("c", None)])
        assert list(store.items()) == [("a", None), ("b", 0), ("c", None)]
        assert list(store.values(reverse=True)) == [None, 0, None]
        assert store.mget(["a", "missing"]) == [None, None]
        assert store.get("a", "default") is None and "a" in store
        store.clear()


@pytest.fixture
def eviction_policy(client):
    """Sets the test server's maxmemory-policy; restores it afterwards."""
    before = client.config_get("maxmemory-policy")["maxmemory-policy"]
    yield lambda policy: client.config_set("maxmemory-policy", policy)
    client.config_set("maxmemory-policy", before)


def test_an_allkeys_eviction_policy_is_refused_on_first_use(
    client, redis_url, namespace, eviction_policy
):
    eviction_policy("allkeys-lru")
    store = RedisStore(client, namespace=namespace)
    for use in (
        lambda: store.mset([("a", b"1")]),
        lambda: store.mget(["a"]),
        lambda: list(store.yield_keys()),
        lambda: len(store),
        lambda: "a" in store,
    ):
        with pytest.raises(
            EvictionPolicyError,
            match=r"maxmemory-policy is allkeys-lru.*noeviction.*"
            "allow_eviction=True",
        ):
            use()
    assert isinstance(EvictionPolicyError("x"), RuntimeError)

    async def async_use():
        url_store = RedisStore(url=redis_url, namespace=namespace)
        with pytest.raises(EvictionPolicyError, match="allkeys-lru"):
            await url_store.amset([("a", b"1")])
        with pytest.raises(EvictionPolicyError, match="allkeys-lru"):
            [k async for k in url_store.ayield_keys()]
        await url_store.aclose()

    asyncio.run(async_use())
    assert client.exists(value_key(namespace, "a")) == 0
    opted_in = RedisStore(client, namespace=namespace, allow_eviction=True)
    opted_in.mset([("a", b"1")])
    assert opted_in.mget(["a"]) == [b"1"]
    for policy in ("volatile-lru", "noeviction"):
        eviction_policy(policy)
        assert RedisStore(client, namespace=namespace).mget(["a"]) == [b"1"]
    # Checked once per store: a store that passed keeps working.
    checked = RedisStore(client, namespace=namespace)
    assert len(checked) == 1
    eviction_policy("allkeys-random")
    assert len(checked) == 1
    opted_in.clear()


def test_a_server_without_config_is_refused_with_the_reason(
    client, redis_url, namespace
):
    import redis

    class NoConfig(redis.Redis):
        """A server where CONFIG is renamed away, as managed services do."""

        def config_get(self, *args, **kwargs):
            raise redis.ResponseError("unknown command 'CONFIG'")

    no_config = NoConfig.from_url(redis_url)
    with pytest.raises(
        EvictionPolicyError, match=r"CONFIG GET failed.*unknown command"
    ):
        RedisStore(no_config, namespace=namespace).mget(["a"])
    store = RedisStore(no_config, namespace=namespace, allow_eviction=True)
    store.mset([("a", b"1")])
    assert store.mget(["a"]) == [b"1"]
    store.clear()
    no_config.close()


def test_a_url_store_made_after_asyncio_run_works_in_later_loops(redis_url, namespace):
    """The asyncio client is made on first async use, in the running loop
    (made eagerly, Python 3.9 raised "There is no current event loop"
    after an asyncio.run), and anew for each later loop."""

    async def nothing():
        return None

    asyncio.run(nothing())
    store = RedisStore(url=redis_url, namespace=namespace)

    async def use(n):
        await store.amset([(f"k{n}", b"%d" % n)])
        return await store.amget([f"k{n}"]), [k async for k in store.ayield_keys()]

    assert asyncio.run(use(1)) == ([b"1"], ["k1"])
    assert asyncio.run(use(2)) == ([b"2"], ["k1", "k2"])

    async def finish():
        await store.amdelete(["k1", "k2"])
        await store.aclose()

    asyncio.run(finish())
    assert store.count() == 0
    store.close()


def test_an_async_client_factory_is_called_once_per_event_loop(
    client, redis_url, namespace
):
    import redis.asyncio

    made = []

    def make():
        made.append(redis.asyncio.Redis.from_url(redis_url))
        return made[-1]

    store = RedisStore(client, async_client=make, namespace=namespace)
    assert made == []  # nothing made outside a loop

    async def use():
        await store.amset([("a", b"1")])
        assert await store.amget(["a"]) == [b"1"]
        assert [k async for k in store.ayield_keys()] == ["a"]

    asyncio.run(use())
    assert len(made) == 1
    asyncio.run(use())
    assert len(made) == 2

    async def finish():
        await store.amdelete(["a"])
        await store.aclose()

    asyncio.run(finish())
    assert len(made) == 3 and store.count() == 0
    with pytest.raises(ValueError, match="decode_responses=False"):
        asyncio.run(
            RedisStore(
                client,
                namespace=namespace,
                async_client=lambda: redis.asyncio.Redis.from_url(
                    redis_url, decode_responses=True
                ),
            ).amget(["a"])
        )


def test_delimiter_listing_jumps_over_a_group_without_reading_it(client, namespace):
    """A group costs one range query however many keys it holds: the keys
    the server reads for a delimiter listing do not grow with the group."""
    store = RedisStore(client, namespace=namespace)
    store.mset([("a", b"1"), ("z", b"2")])

    def commands_for_listing():
        client.config_resetstat()
        assert list(store.keys(delimiter="/")) == ["a", *groups, "z"]
        stats = client.info("commandstats")
        return stats.get("cmdstat_zrangebylex", {}).get("calls", 0)

    groups = []
    for size in (1, 20_000):
        store.mset([(f"g{size}/{i:05}", b"x") for i in range(size)])
        groups.append(f"g{size}/")
    calls = commands_for_listing()
    # One query finds a, then one per group jump, then the final empty read.
    assert calls <= 2 + len(groups) + 1
    store.clear()


# -------------------------------------------------------------- concurrency


def _writer(url, namespace, worker, rounds):
    store = RedisStore(url=url, namespace=namespace)
    for r in range(rounds):
        version = f"{worker}:{r}".encode()
        # Every batch writes the same ten keys with one version; another
        # process's batch deletes some of them.  Atomic batches mean a
        # reader never sees two versions among the live keys.
        store.mset([(f"shared:{i}", version) for i in range(10)])
        if r % 3 == worker % 3:
            store.mdelete([f"shared:{i}" for i in range(worker % 10, 10, 3)])
        store.mset([(f"own:{worker}:{r}", version)])
    store.close()


def test_several_processes_writing_keep_batches_atomic_and_the_index_exact(
    client, redis_url, namespace
):
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(target=_writer, args=(redis_url, namespace, w, 150))
        for w in range(4)
    ]
    for w in workers:
        w.start()
    reader = RedisStore(client, namespace=namespace)
    observed = 0
    try:
        while any(w.is_alive() for w in workers):
            values = {v for v in reader.mget([f"shared:{i}" for i in range(10)]) if v}
            assert len(values) <= 1, values
            listed = set(reader.yield_keys(prefix="shared:"))
            assert len(listed) <= 10
            observed += 1
        for w in workers:
            w.join(60)
            assert w.exitcode == 0
    finally:
        for w in workers:
            if w.is_alive():
                w.kill()
    assert observed > 0
    members = raw_index(client, namespace)
    value_keys = raw_value_keys(client, namespace)
    assert sorted(value_key(namespace, "") + m for m in members) == value_keys
    assert reader.count("own:") == 4 * 150


# ------------------------------------------------------------------- README


def test_readme_scaling_out_snippet_runs_and_shows_true_results(redis_url):
    """Runs the README's "Scaling out" example against the test server; a
    line ``expr  # value`` whose comment is a Python literal must produce
    that value."""
    import ast
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "README.md").read_text(
        encoding="utf-8"
    )
    section = re.search(r"^## Scaling out.*?(?=^## |\Z)", text, re.S | re.M)
    assert section, "README has no 'Scaling out' section"
    snippets = re.findall(r"```python\n(.*?)```", section.group(0), re.S)
    assert snippets
    checked = 0
    for snippet in snippets:
        lines = []
        for line in snippet.replace("redis://localhost:6379/0", redis_url).splitlines():
            m = re.match(r"^(\S.*?)\s+#\s+(.*)$", line)
            if m:
                try:
                    expected = ast.literal_eval(m.group(2))
                except (ValueError, SyntaxError):
                    pass
                else:
                    line = f"assert ({m.group(1)}) == {expected!r}, {m.group(1)!r}"
                    checked += 1
            lines.append(line)
        exec(compile("\n".join(lines), "README.md", "exec"), {"__name__": "readme"})
    assert checked >= 4
