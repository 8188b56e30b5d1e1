"""What only the Redis backend has: its layout on the server, namespaces,
TTLs, eviction, serializers, clients, and consistency with several writing processes.
The behaviour it shares with TrieStore is in test_contract.py."""

import asyncio
import multiprocessing
import pickle
import time
import uuid

import pytest

from memstore.redis import RedisStore


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
        (b"a", 0.0), (b"b", 0.0), ("é".encode(), 0.0)}
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


def test_listing_reads_pages_not_one_reply(client, namespace):
    store = RedisStore(client, namespace=namespace, page_size=10)
    store.mset([(f"k{i:04}", b"x") for i in range(95)])
    pages = []
    listing = store._listing("k", None, None, False)
    for page in store._pages(listing):
        pages.append(len(page))
    assert pages == [10] * 9 + [5]
    assert list(store.yield_keys(prefix="k", limit=23)) == [f"k{i:04}" for i in range(23)]


# --------------------------------------------------------------------- TTL


def test_ttl_expires_the_key_and_leaves_the_index_clean(client, namespace):
    store = RedisStore(client, namespace=namespace)
    store.mset([("keep", b"1")])
    store.mset([("brief:1", b"x"), ("brief:2", b"y")], ttl=0.2)
    assert store.count("brief:") == 2
    assert 0 < client.pttl(value_key(namespace, "brief:1")) <= 200
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
    store = RedisStore(client, namespace=namespace, ttl=0.2)
    store.mset([("a", b"1"), ("b", b"2")])  # the store's default TTL
    assert client.pttl(value_key(namespace, "a")) > 0
    plain = RedisStore(client, namespace=namespace)
    plain.mset([("a", b"again")])
    assert client.pttl(value_key(namespace, "a")) == -1
    assert client.zrange(expiry_key(namespace), 0, -1) == [b"b"]
    wait_until(lambda: client.exists(value_key(namespace, "b")) == 0)
    assert list(plain.yield_keys()) == ["a"]
    store.mset([("c", b"3")], ttl=60)
    assert client.pttl(value_key(namespace, "c")) > 59_000


@pytest.mark.parametrize("ttl, error", [(0, ValueError), (-1, ValueError),
                                        (0.0004, ValueError), (1e12, ValueError),
                                        (float("inf"), ValueError), (float("nan"), ValueError),
                                        ("5", TypeError), (True, TypeError)])
def test_bad_ttl(client, namespace, ttl, error):
    with pytest.raises(error, match="ttl"):
        RedisStore(client, namespace=namespace, ttl=ttl)
    store = RedisStore(client, namespace=namespace)
    with pytest.raises(error, match="ttl"):
        store.mset([("a", b"1")], ttl=ttl)
    assert len(store) == 0


def test_a_foreign_key_where_the_index_lives_fails_the_batch_before_any_write(
        client, namespace):
    store = RedisStore(client, namespace=namespace)
    for foreign, where in ((index_key(namespace), "index"), (expiry_key(namespace), "expiry")):
        client.set(foreign, b"not a sorted set")
        for ttl in (None, 60):
            with pytest.raises(Exception, match=f"{where} holds a string"):
                store.mset([("a", b"1"), ("b", b"2")], ttl=ttl)
            assert client.exists(value_key(namespace, "a"), value_key(namespace, "b")) == 0
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
    assert client.get(value_key(namespace, "d")) == '{"text":"héllo","n":[1,2.5,null,true]}'.encode()
    with pytest.raises(TypeError, match="value at index 0"):
        store.mset([("x", object())])
    circular = []
    circular.append(circular)
    with pytest.raises(ValueError, match="value at index 1 could not be serialized by the json"):
        store.mset([("x", 1), ("y", circular)])
    assert "x" not in store


def test_pickle_only_when_asked_for_by_name(client, namespace):
    pickled = RedisStore(client, namespace=namespace, serializer="pickle")
    pickled.mset([("obj", {"set": {1, 2}, "t": (1, "a")})])
    assert pickled["obj"] == {"set": {1, 2}, "t": (1, "a")}
    # The same data read without naming pickle stays bytes: never unpickled.
    raw = RedisStore(client, namespace=namespace)
    assert raw["obj"] == pickle.dumps({"set": {1, 2}, "t": (1, "a")},
                                      protocol=pickle.HIGHEST_PROTOCOL)
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


def test_sync_only_and_async_only_stores_say_what_is_missing(client, redis_url, namespace):
    import redis.asyncio

    sync_only = RedisStore(client, namespace=namespace)
    with pytest.raises(RuntimeError, match="no async client"):
        asyncio.run(sync_only.amget(["a"]))
    with pytest.raises(RuntimeError, match="no async client"):
        sync_only.ayield_keys()

    async def main():
        async_only = RedisStore(async_client=redis.asyncio.Redis.from_url(redis_url),
                                namespace=namespace)
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
            per_node = {node.name: list(cluster.scan_iter(match="{" + tag + "}*",
                                                          target_nodes=node))
                        for node in cluster.get_nodes()}
            holding = {name: keys for name, keys in per_node.items() if keys}
            assert len(holding) == 1  # one shard holds the whole store
            (keys,) = holding.values()
            assert len(keys) == 21  # 20 values and the index (no TTLs: no expiry set)
        assert (cluster.get_node_from_key("{" + tags[0] + "}").name
                != cluster.get_node_from_key("{" + tags[1] + "}").name)
        for store in stores:
            store.clear()
    finally:
        cluster.close()


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
        client, redis_url, namespace):
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_writer, args=(redis_url, namespace, w, 150))
               for w in range(4)]
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

    text = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
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
