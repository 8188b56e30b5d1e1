"""memstore.langgraph: LangGraph's BaseStore on both engines.

Every test runs against InMemoryStore (TrieStore) and RedisStore (on the
server the ``redis_url`` fixture provides).  LangGraph's own store tests
run against the same classes from tests/test_langgraph_upstream.py.
"""

import asyncio
import gc
import os
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest

try:
    import langgraph.store.base  # noqa: F401
except ImportError:
    # CI sets MEMSTORE_REQUIRE_LANGGRAPH so the suite cannot silently not run.
    if os.environ.get("MEMSTORE_REQUIRE_LANGGRAPH"):
        raise
    pytest.skip(
        "langgraph-checkpoint is not installed (pip install 'memstore-trie[langgraph]')",
        allow_module_level=True,
    )

from langgraph.store.base import (
    GetOp,
    InvalidNamespaceError,
    Item,
    ListNamespacesOp,
    MatchCondition,
    PutOp,
    SearchItem,
    SearchOp,
)

import memstore
from memstore.langgraph import InMemoryStore, RedisStore


@pytest.fixture(params=["memory", "redis"])
def make_store(request):
    """A factory of empty stores of one class; Redis stores each get a
    namespace of their own on the shared test server."""
    made = []

    def make(**kwargs):
        if request.param == "memory":
            return InMemoryStore(**kwargs)
        url = request.getfixturevalue("redis_url")
        store = RedisStore(url, namespace=f"lg-test-{uuid.uuid4().hex}", **kwargs)
        made.append(store)
        return store

    yield make
    for store in made:
        store._engine.clear()
        store.close()


@pytest.fixture
def store(make_store):
    return make_store()


# ------------------------------------------------------------ the defects


def test_created_at_is_kept_from_the_first_put(store):
    store.put(("users", "u1"), "k", {"v": 1})
    first = store.get(("users", "u1"), "k")
    time.sleep(0.002)  # distinct microsecond timestamps, not a timing assertion
    store.put(("users", "u1"), "k", {"v": 2})
    second = store.get(("users", "u1"), "k")
    assert second.value == {"v": 2}
    assert second.created_at == first.created_at
    assert second.updated_at > first.updated_at
    assert second.created_at.tzinfo is not None


def test_created_at_restarts_after_a_delete(store):
    store.put(("a",), "k", {"v": 1})
    first = store.get(("a",), "k")
    store.delete(("a",), "k")
    time.sleep(0.002)
    store.put(("a",), "k", {"v": 1})
    assert store.get(("a",), "k").created_at > first.created_at


def test_mutating_a_put_value_changes_nothing_stored(store):
    value = {"tags": ["a"], "nested": {"n": 1}}
    store.put(("a",), "k", value)
    value["tags"].append("b")
    value["nested"]["n"] = 2
    value["new"] = True
    assert store.get(("a",), "k").value == {"tags": ["a"], "nested": {"n": 1}}


def test_mutating_a_returned_value_changes_nothing_stored(store):
    store.put(("a",), "k", {"tags": ["a"]})
    store.get(("a",), "k").value["tags"].append("get")
    store.search(("a",))[0].value["tags"].append("search")
    store.search(("a",), filter={"tags": ["a"]})[0].value["tags"].append("filtered")
    assert store.get(("a",), "k").value == {"tags": ["a"]}


def test_reads_and_deletes_leave_no_ghost_namespaces(store):
    store.get(("ghost", "read"), "k")
    store.search(("ghost", "searched"))
    store.delete(("ghost", "deleted"), "never-there")
    store.put(("real",), "k", {"v": 1})
    store.put(("gone", "x"), "k", {"v": 1})
    store.delete(("gone", "x"), "k")
    assert store.list_namespaces() == [("real",)]
    assert store.list_namespaces(prefix=("ghost",)) == []
    assert store.list_namespaces(prefix=("gone",)) == []


def test_delete_namespace_removes_everything_below_the_prefix(store):
    for ns in [("t", "a"), ("t", "a", "deep"), ("t", "ab"), ("t", "b")]:
        for k in range(3):
            store.put(ns, f"k{k}", {"k": k})
    assert store.delete_namespace(("t", "a")) == 6
    assert store.list_namespaces() == [("t", "ab"), ("t", "b")]
    assert store.get(("t", "a"), "k0") is None
    assert store.get(("t", "ab"), "k0").value == {"k": 0}
    assert store.delete_namespace(("t", "a")) == 0
    assert store.delete_namespace(("nothing",)) == 0


def test_delete_namespace_refuses_bad_prefixes(store):
    store.put(("t",), "k", {"v": 1})
    for bad in [(), ("t", ""), ("t.x",), ("t", 1), "t"]:
        with pytest.raises(InvalidNamespaceError):
            store.delete_namespace(bad)
    assert store.get(("t",), "k").value == {"v": 1}


def test_adelete_namespace(store):
    store.put(("t", "a"), "k", {"v": 1})
    assert asyncio.run(store.adelete_namespace(("t",))) == 1
    assert store.get(("t", "a"), "k") is None


@pytest.mark.parametrize(
    "bad_namespace",
    [
        ("a.b",),
        ("",),
        ("a", ""),
        ("a", 1),
        ("a\x00b",),
        (None,),
    ],
)
@pytest.mark.parametrize("kind", ["get", "put", "delete", "search", "prefix", "suffix"])
def test_batch_validates_every_op_and_writes_nothing(store, bad_namespace, kind):
    bad = {
        "get": GetOp(bad_namespace, "k"),
        "put": PutOp(bad_namespace, "k", {"v": 1}),
        "delete": PutOp(bad_namespace, "k", None),
        "search": SearchOp(bad_namespace),
        "prefix": ListNamespacesOp((MatchCondition("prefix", bad_namespace),)),
        "suffix": ListNamespacesOp((MatchCondition("suffix", bad_namespace),)),
    }[kind]
    good_put = PutOp(("ok",), "k", {"v": 1})
    with pytest.raises(InvalidNamespaceError):
        store.batch([good_put, bad])
    with pytest.raises(InvalidNamespaceError):
        asyncio.run(store.abatch([good_put, bad]))
    assert store.get(("ok",), "k") is None


class _EqualityRaises:
    def __eq__(self, other):
        raise RuntimeError("compared")

    __hash__ = object.__hash__


@pytest.mark.parametrize(
    "bad_namespace",
    [("a.b",), ("",), ("a", ""), ("a", 1), ("a\x00b",), ("a\x00", "b"), (None,)]
    + [("a", _EqualityRaises())],
)
def test_get_and_put_check_namespaces_as_batch_does(store, bad_namespace):
    # get() and put() check a namespace on its joined text, not label by
    # label: every bad label must still raise, with LangGraph's error type.
    with pytest.raises(InvalidNamespaceError):
        store.get(bad_namespace, "k")
    with pytest.raises(InvalidNamespaceError):
        store.put(bad_namespace, "k", {"v": 1})
    assert store.search(()) == []


def test_namespaces_seen_before_are_remembered_boundedly_and_still_checked(store):
    # get() and put() remember namespaces they have checked (a dict lookup
    # instead of the checks); the memory is bounded, and whatever it holds,
    # a bad namespace still raises and a good one reads back as a tuple.
    from memstore import langgraph as memstore_langgraph

    count = 2 * memstore_langgraph._CHECKED_MAX + 3
    for i in range(count):
        store.put(("n", f"u{i}"), "k", {"i": i})
    assert [store.get(("n", f"u{i}"), "k").value["i"] for i in range(count)] == list(
        range(count)
    )
    assert len(memstore_langgraph._CHECKED) <= memstore_langgraph._CHECKED_MAX
    item = store.get(["n", "u1"], "k")
    assert item.namespace == ("n", "u1") and type(item.namespace) is tuple
    for bad in [("n", "u1", ""), ("n", ["u1"]), ("n.u1",), ("n", "u1\x00")]:
        with pytest.raises(InvalidNamespaceError):
            store.get(bad, "k")
        with pytest.raises(InvalidNamespaceError):
            store.put(bad, "k", {"v": 1})


def test_timestamps_are_the_utc_time_of_the_put(store):
    before = datetime.now(timezone.utc)
    store.put(("a",), "k", {"v": 1})
    after = datetime.now(timezone.utc)
    item = store.get(("a",), "k")
    assert before <= item.created_at == item.updated_at <= after
    assert item.created_at.utcoffset() == timedelta(0)
    assert store.search(("a",))[0].created_at == item.created_at


def test_a_label_with_the_separator_cannot_reach_another_namespace(store):
    store.put(("a", "b"), "k", {"v": 1})
    with pytest.raises(InvalidNamespaceError):
        store.batch([GetOp(("a\x00b",), "k")])
    with pytest.raises(InvalidNamespaceError):
        store.batch([PutOp(("a\x00b",), "k", None)])
    assert store.get(("a", "b"), "k").value == {"v": 1}


def test_prefixes_are_segment_safe(store):
    store.put(("acme",), "k", {"v": "acme"})
    store.put(("acme-corp",), "k", {"v": "corp"})
    store.put(("acme", "x"), "k", {"v": "x"})
    assert [i.value["v"] for i in store.search(("acme",))] == ["acme", "x"]
    assert store.list_namespaces(prefix=("acme",)) == [("acme",), ("acme", "x")]
    assert store.delete_namespace(("acme",)) == 2
    assert store.get(("acme-corp",), "k").value == {"v": "corp"}


def test_item_keys_may_hold_any_character(store):
    keys = ["", "\x00", "\x00\x00", "a.b", "with space", "é", "\U0001f600"]
    for key in keys:
        store.put(("ns",), key, {"key": key})
    for key in keys:
        assert store.get(("ns",), key).value == {"key": key}
    assert sorted(i.key for i in store.search(("ns",), limit=100)) == sorted(keys)
    assert store.list_namespaces() == [("ns",)]


# ------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "value, error",
    [
        (["not", "a", "dict"], TypeError),
        ("text", TypeError),
        ({"when": object()}, TypeError),
        ({1: "int key"}, TypeError),
    ],
)
def test_bad_values_raise_and_the_batch_writes_nothing(store, value, error):
    with pytest.raises(error):
        store.batch([PutOp(("ok",), "first", {"v": 1}), PutOp(("ok",), "k", value)])
    assert store.get(("ok",), "first") is None


@pytest.mark.parametrize(
    "op, error",
    [
        (GetOp(("a",), 1), TypeError),
        (PutOp(("a",), None, {"v": 1}), TypeError),
        (PutOp((), "k", {"v": 1}), InvalidNamespaceError),
        (PutOp(("a",), "k", {"v": 1}, ttl=0), ValueError),
        (PutOp(("a",), "k", {"v": 1}, ttl=-1), ValueError),
        (PutOp(("a",), "k", {"v": 1}, ttl=float("nan")), ValueError),
        (PutOp(("a",), "k", {"v": 1}, ttl="1"), TypeError),
        (PutOp(("a",), "k", {"v": 1}, ttl=True), TypeError),
        (SearchOp(("a",), limit=-1), ValueError),
        (SearchOp(("a",), offset=-1), ValueError),
        (SearchOp(("a",), limit=1.5), TypeError),
        (SearchOp(("a",), filter={"v": {"$regex": "x"}}), ValueError),
        (SearchOp(("a",), filter={"v": {"$gt": 1, "plain": 2}}), ValueError),
        (SearchOp(("a",), filter=["v"]), TypeError),
        (ListNamespacesOp(max_depth=0), ValueError),
        (ListNamespacesOp(limit=-1), ValueError),
        (ListNamespacesOp((MatchCondition("middle", ("a",)),)), ValueError),
        ("not an op", TypeError),
    ],
)
def test_bad_ops_raise_before_anything_runs(store, op, error):
    with pytest.raises(error):
        store.batch([PutOp(("ok",), "k", {"v": 1}), op])
    assert store.get(("ok",), "k") is None


def test_batch_refuses_a_string(store):
    with pytest.raises(TypeError, match="iterable of ops"):
        store.batch("ops")


def test_bad_ttl_config_is_refused(make_store):
    with pytest.raises(ValueError):
        make_store(ttl={"default_ttl": 0})
    with pytest.raises(ValueError):
        make_store(ttl={"default_minutes": 1})
    with pytest.raises(TypeError):
        make_store(ttl={"refresh_on_read": "yes"})


# ------------------------------------------------------------------ batch


def test_batch_results_in_op_order_and_reads_see_the_store_before_the_batch(store):
    store.put(("a",), "old", {"v": 0})
    results = store.batch(
        [
            PutOp(("a",), "new", {"v": 1}),
            GetOp(("a",), "new"),
            GetOp(("a",), "old"),
            SearchOp(("a",)),
            ListNamespacesOp(),
            PutOp(("a",), "old", None),
            PutOp(("a",), "new", {"v": 2}),  # the last put of a key wins
        ]
    )
    assert results[0] is None
    assert results[1] is None
    assert results[2].value == {"v": 0}
    assert [i.key for i in results[3]] == ["old"]
    assert results[4] == [("a",)]
    assert results[5] is None and results[6] is None
    assert store.get(("a",), "old") is None
    assert store.get(("a",), "new").value == {"v": 2}


def test_abatch_matches_batch(store):

    async def run():
        await store.aput(("a", "b"), "k", {"v": 1})
        got = await store.aget(("a", "b"), "k")
        found = await store.asearch(("a",))
        spaces = await store.alist_namespaces()
        await store.adelete(("a", "b"), "k")
        return got, found, spaces, await store.aget(("a", "b"), "k")

    got, found, spaces, after = asyncio.run(run())
    assert got.value == {"v": 1}
    assert [i.key for i in found] == ["k"]
    assert spaces == [("a", "b")]
    assert after is None


# ----------------------------------------------------------------- search


def _fill(store):
    store.put(
        ("docs", "u1"),
        "a",
        {"n": 1, "kind": "note", "meta": {"lang": "en", "x": 1}, "tags": ["x", "y"]},
    )
    store.put(
        ("docs", "u1"),
        "b",
        {"n": 5, "kind": "note", "meta": {"lang": "fr"}, "tags": ["y"]},
    )
    store.put(("docs", "u2"), "c", {"n": 10, "kind": "todo", "name": "bob"})
    store.put(("docs",), "d", {"n": 3.5, "kind": "note", "name": "ann"})
    store.put(("other",), "e", {"n": 2, "kind": "note"})


@pytest.mark.parametrize(
    "spec, keys",
    [
        ({"kind": "note"}, ["d", "a", "b"]),
        ({"kind": {"$eq": "todo"}}, ["c"]),
        ({"kind": {"$ne": "note"}}, ["c"]),
        ({"n": {"$gt": 3.5}}, ["b", "c"]),
        ({"n": {"$gte": 3.5}}, ["d", "b", "c"]),
        ({"n": {"$lt": 5}}, ["d", "a"]),
        ({"n": {"$lte": 5, "$gt": 1}}, ["d", "b"]),
        ({"name": {"$gt": "ann"}}, ["c"]),
        ({"name": {"$gt": 1}}, []),  # a str and a number have no order
        ({"meta": {"lang": "en"}}, ["a"]),  # a nested dict matches the fields it names
        ({"tags": ["y"]}, ["b"]),  # a list matches element-wise, whole
        ({"missing": "x"}, []),
        ({"kind": "note", "n": {"$lt": 2}}, ["a"]),
    ],
)
def test_search_filters(store, spec, keys):
    _fill(store)
    assert [i.key for i in store.search(("docs",), filter=spec)] == keys


def test_search_order_is_namespace_then_key_and_pages_cover_the_listing(store):
    for ns in [("p", "b"), ("p",), ("p", "a", "z"), ("p", "a")]:
        for key in ["2", "1", "3"]:
            store.put(ns, key, {"v": f"{ns}{key}"})
    everything = [(i.namespace, i.key) for i in store.search(("p",), limit=100)]
    assert everything == [
        (ns, k)
        for ns in [("p",), ("p", "a"), ("p", "a", "z"), ("p", "b")]
        for k in ["1", "2", "3"]
    ]
    for filtered in (None, {"v": {"$ne": "none"}}):
        pages = [
            (i.namespace, i.key)
            for off in range(0, 12, 5)
            for i in store.search(("p",), limit=5, offset=off, filter=filtered)
        ]
        assert pages == everything
    assert store.search(("p",), limit=0) == []
    assert store.search(("p",), offset=12) == []
    assert len(store.search(())) == 10  # the default limit


def test_search_items_carry_timestamps(store):
    store.put(("a",), "k", {"v": 1})
    item = store.get(("a",), "k")
    found = store.search(("a",))[0]
    assert (found.created_at, found.updated_at) == (item.created_at, item.updated_at)
    assert found.score is None


@pytest.mark.parametrize("ttl", [None, 5])
def test_every_header_layout_reads_back_in_get_search_and_filters(make_store, ttl):
    # The record header is 8 to 24 bytes, by whether updated_at differs from
    # created_at and whether there is a ttl: each layout must decode alike
    # on every read path.
    store = make_store()
    store.put(("a",), "once", {"v": 1}, ttl=ttl)
    store.put(("a",), "twice", {"v": 1}, ttl=ttl)
    time.sleep(0.002)  # distinct microsecond timestamps, not a timing assertion
    store.put(("a",), "twice", {"v": 2}, ttl=ttl)
    once, twice = store.get(("a",), "once"), store.get(("a",), "twice")
    assert once.created_at == once.updated_at
    assert twice.created_at < twice.updated_at
    assert (once.value, twice.value) == ({"v": 1}, {"v": 2})
    for found in (store.search(("a",)), store.search(("a",), filter={"v": {"$gt": 0}})):
        assert [(i.key, i.value, i.created_at, i.updated_at) for i in found] == [
            (i.key, i.value, i.created_at, i.updated_at) for i in (once, twice)
        ]
    assert type(once) is Item and type(store.search(("a",))[0]) is SearchItem


def test_the_record_reader_rebuilds_every_header_field_exactly():
    # get() builds its Item in C (memstore._core._RecordReader) from the
    # record's fields; each must come back as Python's own datetime(state,
    # UTC) and _header() read it, for any date, the fold bit included.
    from memstore._core import _RecordReader
    from memstore.langgraph import _header, _loads, _record

    read = _RecordReader(_loads, Item).item
    utc = timezone.utc
    moments = [
        datetime(1, 1, 1, tzinfo=utc),
        datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=utc),
        datetime(2026, 3, 29, 1, 30, 0, 123456, tzinfo=utc),
        datetime(2026, 10, 25, 1, 30, 0, 654321, fold=1, tzinfo=utc),
    ]
    # (pickle protocol 4 keeps fold, in the month byte's high bit)
    states = [m.__reduce_ex__(4)[1][0] for m in moments]
    assert states[3][2] & 0x80
    for created in states:
        for updated in states:
            for ttl in (0.0, 2.5):
                raw = _record(created, updated, ttl, b'{"v":[1,2]}')
                item = read(raw, "k", ("a", "b"))
                assert type(item) is Item
                assert (item.key, item.namespace, item.value) == (
                    "k",
                    ("a", "b"),
                    {"v": [1, 2]},
                )
                want = (datetime(created, utc), datetime(updated, utc))
                assert (item.created_at, item.updated_at) == want
                assert (item.created_at.fold, item.updated_at.fold) == tuple(
                    w.fold for w in want
                )
                assert _header(raw)[:3] == (created, updated, ttl)
                # Each read decodes afresh: no two Items share a value.
                assert read(raw, "k", ("a", "b")).value is not item.value


_STATE = datetime(2026, 1, 2, tzinfo=timezone.utc).__reduce__()[1][0]


@pytest.mark.parametrize(
    "record, message",
    [
        (b"", "not a memstore.langgraph record"),
        (_STATE, "not a memstore.langgraph record"),  # no JSON
        (_STATE + b"\x01", "not a memstore.langgraph record"),  # no updated_at
        (_STATE + b"\x01" + _STATE, "not a memstore.langgraph record"),  # no JSON
        (_STATE + b"\x02" + bytes(7), "not a memstore.langgraph record"),  # short ttl
        (b"\xff" * 10 + b"{}", "out of range"),  # no datetime's state
    ],
)
def test_the_record_reader_refuses_what_is_not_a_record(record, message):
    from memstore._core import _RecordReader
    from memstore.langgraph import _loads

    with pytest.raises(ValueError, match=message):
        _RecordReader(_loads, Item).item(record, "k", ("a",))


def test_the_record_reader_checks_its_arguments():
    from memstore._core import _RecordReader
    from memstore.langgraph import _loads

    with pytest.raises(TypeError, match="loads must be callable"):
        _RecordReader(None, Item)
    with pytest.raises(TypeError, match="item_type must be a class"):
        _RecordReader(_loads, dict)  # dict.__new__ is not object.__new__
    with pytest.raises(TypeError):
        _RecordReader(_loads, Item).item("not bytes", "k", ("a",))


# -------------------------------------------------------- list_namespaces


def _namespaces(store):
    for ns in [
        ("a", "b", "c"),
        ("a", "b", "d", "e"),
        ("a", "b", "d", "i"),
        ("a", "b", "f"),
        ("a", "c", "f"),
        ("b", "a", "f"),
        ("users", "123"),
        ("users", "456", "s"),
    ]:
        store.put(ns, "k", {"v": 1})


@pytest.mark.parametrize(
    "kwargs, expected",
    [
        (
            {},
            [
                ("a", "b", "c"),
                ("a", "b", "d", "e"),
                ("a", "b", "d", "i"),
                ("a", "b", "f"),
                ("a", "c", "f"),
                ("b", "a", "f"),
                ("users", "123"),
                ("users", "456", "s"),
            ],
        ),
        (
            {"prefix": ("a", "b"), "max_depth": 3},
            [("a", "b", "c"), ("a", "b", "d"), ("a", "b", "f")],
        ),
        ({"max_depth": 1}, [("a",), ("b",), ("users",)]),
        ({"prefix": ("users",), "max_depth": 2}, [("users", "123"), ("users", "456")]),
        ({"suffix": ("f",)}, [("a", "b", "f"), ("a", "c", "f"), ("b", "a", "f")]),
        ({"suffix": ("f",), "max_depth": 1}, [("a",), ("b",)]),
        (
            {"prefix": ("*", "b")},
            [
                ("a", "b", "c"),
                ("a", "b", "d", "e"),
                ("a", "b", "d", "i"),
                ("a", "b", "f"),
            ],
        ),
        ({"prefix": ("a", "*", "f")}, [("a", "b", "f"), ("a", "c", "f")]),
        ({"prefix": ("a",), "suffix": ("*", "f")}, [("a", "b", "f"), ("a", "c", "f")]),
        ({"prefix": ("a", "b", "d", "e"), "max_depth": 2}, [("a", "b")]),
        (
            {"prefix": ("a",), "limit": 2, "offset": 1},
            [("a", "b", "d", "e"), ("a", "b", "d", "i")],
        ),
        ({"prefix": ("nothing",)}, []),
        ({"prefix": ("a", "b", "d", "e", "deeper")}, []),
    ],
)
def test_list_namespaces(store, kwargs, expected):
    _namespaces(store)
    assert store.list_namespaces(**kwargs) == expected


def test_list_namespaces_sorts_like_tuples(store):
    # "-" and " " sort before any separator a printable encoding could use.
    spaces = [("a", "b"), ("a-c",), ("a",), ("a b",), ("a", "b", "c"), ("a!",)]
    for ns in spaces:
        store.put(ns, "k", {"v": 1})
    assert store.list_namespaces() == sorted(spaces)
    assert [i.namespace for i in store.search((), limit=100)] == sorted(spaces)


# -------------------------------------------------------------------- TTL


def test_ttl_expires_items(make_store):
    store = make_store(ttl={"default_ttl": 0.2 / 60})  # 0.2 s
    store.put(("a",), "default", {"v": 1})
    store.put(("a",), "forever", {"v": 1}, ttl=None)
    store.put(("a",), "own", {"v": 1}, ttl=10)
    time.sleep(0.35)
    assert store.get(("a",), "default") is None
    assert store.get(("a",), "forever").value == {"v": 1}
    assert store.get(("a",), "own").value == {"v": 1}
    assert [i.key for i in store.search(("a",))] == ["forever", "own"]
    assert store.sweep_ttl() == 0


def test_reads_renew_the_lifetime_unless_told_not_to(make_store):
    store = make_store()
    store.put(("a",), "k", {"v": 1}, ttl=10)
    engine_key = "a\x00\x00k"
    store._engine.expire(engine_key, 5)
    store.get(("a",), "k", refresh_ttl=False)
    assert store._engine.ttl(engine_key) <= 5
    store.get(("a",), "k")
    assert store._engine.ttl(engine_key) > 500


def test_ttl_sweeper_starts_and_stops(make_store):
    store = make_store(ttl={"default_ttl": 1, "sweep_interval_minutes": 1})
    future = store.start_ttl_sweeper()
    assert not future.done()
    assert store.start_ttl_sweeper() is future  # one sweeper per store
    assert store.stop_ttl_sweeper(timeout=10)
    future.result(timeout=10)
    assert store.stop_ttl_sweeper()
    gc.collect()


# ---------------------------------------------------------- semantic search


class CountingEmbeddings:
    """Each text's vector counts the letters a, b and c it holds; records
    every call, so tests see what was embedded and when."""

    def __init__(self):
        self.calls = []

    def __call__(self, texts):
        self.calls.append(list(texts))
        return [[t.count("a"), t.count("b"), t.count("c")] for t in texts]


def _indexed(make_store, fields=("text",)):
    embed = CountingEmbeddings()
    store = make_store(index={"dims": 3, "embed": embed, "fields": list(fields)})
    return store, embed


def test_semantic_search_ranks_by_cosine_within_the_prefix(make_store):
    store, _ = _indexed(make_store)
    store.put(("docs", "u1"), "aaa", {"text": "aaa"})
    store.put(("docs", "u1"), "bbb", {"text": "bbb"})
    store.put(("docs", "u1"), "ab", {"text": "ab"})
    store.put(("docs", "u1"), "none", {"other": "no text field"})
    store.put(("docs", "u2"), "aaaa", {"text": "aaaa"})  # outside the prefix
    found = store.search(("docs", "u1"), query="a", limit=10)
    assert [i.key for i in found] == ["aaa", "ab", "bbb", "none"]
    assert found[0].score == pytest.approx(1.0)
    assert found[1].score == pytest.approx(2**-0.5)
    assert found[2].score == pytest.approx(0.0)
    assert found[3].score is None  # no vector: after every scored item
    page = store.search(("docs", "u1"), query="a", limit=2, offset=1)
    assert [i.key for i in page] == ["ab", "bbb"]
    filtered = store.search(("docs",), query="a", filter={"text": {"$ne": "aaa"}})
    assert [i.key for i in filtered] == ["aaaa", "ab", "bbb", "none"]


def test_semantic_search_embeds_once_per_batch_and_honours_index_false(make_store):
    store, embed = _indexed(make_store)
    store.batch(
        [
            PutOp(("d",), "x", {"text": "abc"}),
            PutOp(("d",), "y", {"text": "abc"}),
            PutOp(("d",), "z", {"text": "aa"}, index=False),
        ]
    )
    assert embed.calls == [["abc"]]  # distinct texts, one call, none for index=False
    assert [i.key for i in store.search(("d",), query="aaa")][-1] == "z"
    store.put(("d",), "x", {"text": "c"}, index=False)  # an update drops old vectors
    assert store.search(("d",), query="abc", limit=1)[0].key == "y"
    assert [i.score for i in store.search(("d",), query="abc")][1:] == [None, None]


def test_semantic_search_async_awaits_an_async_embedder(make_store):
    calls = []

    async def aembed(texts):
        calls.append(list(texts))
        return [[t.count("a"), t.count("b")] for t in texts]

    store = make_store(index={"dims": 2, "embed": aembed, "fields": ["text"]})

    async def run():
        await store.aput(("d",), "a", {"text": "aa"})
        await store.aput(("d",), "b", {"text": "bb"})
        return await store.asearch(("d",), query="b")

    assert [i.key for i in asyncio.run(run())] == ["b", "a"]
    assert calls == [["aa"], ["bb"], ["b"]]


def test_deleting_an_item_or_namespace_drops_its_vectors(make_store):
    store, _ = _indexed(make_store)
    store.put(("d", "x"), "k", {"text": "a"})
    store.put(("d", "y"), "k", {"text": "a"})
    store.delete(("d", "x"), "k")
    store.delete_namespace(("d", "y"))
    assert len(store._vectors) == 0
    assert store.search(("d",), query="a") == []


def test_bad_index_configs_and_embedders_change_nothing(make_store):
    for config, error in [
        ({"dims": 0, "embed": CountingEmbeddings()}, ValueError),
        ({"dims": 3}, ValueError),
        ({"dims": 3, "embed": CountingEmbeddings(), "fields": "text"}, TypeError),
        ([("dims", 3)], TypeError),
    ]:
        with pytest.raises(error):
            make_store(index=config)
    store = make_store(index={"dims": 4, "embed": CountingEmbeddings()})  # returns 3
    with pytest.raises(ValueError, match="shape"):
        store.put(("d",), "k", {"text": "a"})
    assert store.get(("d",), "k") is None


# ------------------------------------------------------------- packaging


def run_probe(probe: str) -> str:
    """What a fresh interpreter running ``probe`` prints (it must succeed):
    what it imports cannot leak into, or from, this process."""
    import subprocess
    import sys

    run = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return run.stdout


def test_memstore_never_imports_langgraph_and_the_module_names_the_extra():
    probe = """
import sys

class NoLangGraph:
    def find_spec(self, name, path=None, target=None):
        if name == "langgraph" or name.startswith("langgraph."):
            raise ImportError(f"blocked {name}")

sys.meta_path.insert(0, NoLangGraph())
import memstore, memstore.redis
assert not any(m.startswith("langgraph") for m in sys.modules), "memstore imported langgraph"
try:
    import memstore.langgraph
except ImportError as exc:
    print(exc)
"""
    assert "pip install 'memstore-trie[langgraph]'" in run_probe(probe)


def test_without_msgspec_values_decode_with_orjson_alike():
    # msgspec is optional (the extra installs it): without it, orjson
    # decodes, and every read path gives the same answers.
    probe = """
import sys
sys.modules["msgspec"] = None  # import msgspec now raises ImportError
import orjson
import memstore.langgraph as lg
assert lg._loads is orjson.loads
store = lg.InMemoryStore()
value = {"t": "\\u00e9\\U0001f600", "n": [1, 2.5, None, True], "big": 2**64 - 1}
store.put(("a", "b"), "k", value)
store.put(("a", "b"), "k2", {"v": 1}, ttl=5)
assert store.get(("a", "b"), "k").value == value
assert [i.value for i in store.search(("a",))] == [value, {"v": 1}]
assert [i.key for i in store.search(("a",), filter={"v": 1})] == ["k2"]
print("ok")
"""
    assert run_probe(probe).strip() == "ok"


def test_values_read_back_as_orjson_wrote_them(store):
    import orjson

    value = {
        "uint64": 2**64 - 1,
        "int64": -(2**63),
        "floats": [1e308, 5e-324, 0.1, -0.0, 1.0, 1e16],
        "text": "\u00e9\u2028\U0001f600\x00",
        "nested": [None, True, False, {}, [], {"a": {"b": [1]}}],
    }
    store.put(("a",), "k", value)
    got = store.get(("a",), "k").value
    assert got == orjson.loads(orjson.dumps(value))
    assert repr(got) == repr(orjson.loads(orjson.dumps(value)))  # types, -0.0


def test_filter_keys_are_top_level_fields_first_then_dotted_paths(store):
    store.put(("d",), "nested", {"user": {"age": 30, "access-level": "x"}})
    store.put(("d",), "literal", {"user.age": 30})
    assert [i.key for i in store.search(("d",), filter={"user.age": 30})] == [
        "literal",
        "nested",
    ]
    assert [i.key for i in store.search(("d",), filter={"user.access-level": "x"})] == [
        "nested"
    ]
    assert store.search(("d",), filter={"user.age.more": 30}) == []


# ------------------------------------------------------ open(): on disk


def test_open_survives_a_restart(tmp_path):
    directory = tmp_path / "memory"
    with InMemoryStore.open(directory, fsync="always") as store:
        store.put(("users", "u1", "memories"), "m1", {"text": "likes tea"})
        store.put(("users", "u1", "memories"), "m2", {"text": "gone"})
        store.put(("users", "u2"), "m1", {"text": "other"})
        store.delete(("users", "u1", "memories"), "m2")
        created = store.get(("users", "u1", "memories"), "m1").created_at
    with InMemoryStore.open(directory) as again:
        item = again.get(("users", "u1", "memories"), "m1")
        assert item.value == {"text": "likes tea"} and item.created_at == created
        assert again.get(("users", "u1", "memories"), "m2") is None
        assert again.list_namespaces(prefix=("users",)) == [
            ("users", "u1", "memories"),
            ("users", "u2"),
        ]
        again.checkpoint()
        again.put(("users", "u3"), "m1", {"text": "after the checkpoint"})
    with InMemoryStore.open(directory) as third:
        assert [i.key for i in third.search(("users",))] == ["m1", "m1", "m1"]


def test_open_keeps_vectors_and_ttl(tmp_path):
    directory = tmp_path / "memory"
    index = {"dims": 3, "embed": CountingEmbeddings(), "fields": ["text"]}
    ttl = {"default_ttl": 60.0, "refresh_on_read": True}
    with InMemoryStore.open(directory, index=index, ttl=ttl) as store:
        store.put(("docs",), "aaa", {"text": "aaa"})
        store.put(("docs",), "bbb", {"text": "bbb"})
        store.put(("docs",), "short", {"text": "c"}, ttl=0.001)
    time.sleep(0.2)  # "short" expires: 0.06 s
    embed = CountingEmbeddings()
    with InMemoryStore.open(
        directory, index={**index, "embed": embed}, ttl=ttl
    ) as again:
        found = again.search(("docs",), query="a")
        assert [i.key for i in found] == ["aaa", "bbb"]
        assert found[0].score == pytest.approx(1.0)
        assert embed.calls == [["a"]]  # the stored vectors were not recomputed
    assert sorted(os.listdir(directory)) == ["items", "vectors"]


def test_a_closed_store_refuses_writes_and_frees_the_directory(tmp_path):
    store = InMemoryStore.open(tmp_path)
    store.put(("a",), "k", {"v": 1})
    with pytest.raises(memstore.DirectoryLockedError):
        InMemoryStore.open(tmp_path)
    store.close()
    assert store.get(("a",), "k").value == {"v": 1}
    with pytest.raises(ValueError, match="closed"):
        store.put(("a",), "k2", {"v": 2})
    InMemoryStore.open(tmp_path).close()


def test_open_checks_its_arguments_before_touching_the_directory(tmp_path):
    with pytest.raises(ValueError, match="fsync"):
        InMemoryStore.open(tmp_path / "x", fsync="sometimes")
    with pytest.raises(ValueError):
        InMemoryStore.open(tmp_path / "y", ttl={"default_ttl": -1})
    assert not (tmp_path / "y").exists()
