"""Async twins: amget, amset, amdelete, ayield_keys."""

import asyncio
import inspect

import pytest

from memstore import InMemoryByteStore, TrieStore

KEYS = ["", "a", "ab", "abc", "abd", "b", "ba", "é", "\U0001f600", "x\x00y"]


def filled():
    s = TrieStore()
    s.mset([(k, "v:" + k) for k in KEYS])
    return s


async def collect(ait):
    return [k async for k in ait]


def test_async_methods_are_coroutine_functions():
    s = TrieStore()
    for name in ("amget", "amset", "amdelete"):
        assert inspect.iscoroutinefunction(getattr(s, name)), name
        assert inspect.iscoroutinefunction(getattr(TrieStore, name)), name


def test_ayield_keys_is_async_iterator():
    s = filled()
    ait = s.ayield_keys()
    assert hasattr(ait, "__anext__")
    assert hasattr(ait, "__aiter__")

    async def main():
        first = await ait.__anext__()
        rest = [k async for k in ait]
        return [first] + rest

    assert asyncio.run(main()) == sorted(KEYS)


def test_amget_matches_mget():
    s = filled()
    query = ["a", "missing", "abc", "a", "", "\U0001f600"]
    assert asyncio.run(s.amget(query)) == s.mget(query)
    assert asyncio.run(s.amget([])) == []


def test_amset_matches_mset():
    pairs = [("b", 1), ("a", 2), ("b", 3), ("", 4)]
    a, b = TrieStore(), TrieStore()
    assert asyncio.run(a.amset(pairs)) is None
    b.mset(pairs)
    assert list(a.items()) == list(b.items()) == [("", 4), ("a", 2), ("b", 3)]


def test_amset_accepts_generator():
    s = TrieStore()
    asyncio.run(s.amset((f"k{i}", i) for i in range(10)))
    assert s.mget(["k0", "k9"]) == [0, 9]
    assert len(s) == 10


def test_amdelete_matches_mdelete():
    a, b = filled(), filled()
    assert asyncio.run(a.amdelete(["a", "missing", "abd"])) is None
    b.mdelete(["a", "missing", "abd"])
    assert list(a.items()) == list(b.items())
    assert "a" not in a and "abd" not in a


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"prefix": None},
        {"prefix": "a"},
        {"prefix": "ab", "reverse": True},
        {"start_after": "ab"},
        {"start_after": "ab", "reverse": True},
        {"prefix": "a", "start_after": "a", "limit": 2},
        {"limit": 0},
        {"limit": 3, "reverse": True},
        {"prefix": "zz"},
    ],
)
def test_ayield_keys_matches_yield_keys(kwargs):
    s = filled()
    assert asyncio.run(collect(s.ayield_keys(**kwargs))) == list(s.yield_keys(**kwargs))


def test_ayield_keys_negative_limit():
    s = filled()
    with pytest.raises(ValueError):
        asyncio.run(collect(s.ayield_keys(limit=-1)))


def test_async_errors_propagate_and_change_nothing():
    s = filled()
    before = list(s.items())
    with pytest.raises(TypeError, match="int"):
        asyncio.run(s.amget(["a", 1]))
    with pytest.raises(TypeError, match="int"):
        asyncio.run(s.amset([("new", 1), (2, 2)]))
    with pytest.raises(TypeError, match="int"):
        asyncio.run(s.amdelete(["a", 3]))
    assert list(s.items()) == before


def test_amset_large_batch_bad_key_at_end_writes_nothing():
    s = TrieStore()
    s["k0"] = "old"
    pairs = [(f"k{i}", i) for i in range(20_000)] + [(None, 0)]
    with pytest.raises(TypeError, match="20000"):
        asyncio.run(s.amset(pairs))
    assert len(s) == 1
    assert s["k0"] == "old"


def test_amdelete_large_batch_bad_key_at_end_deletes_nothing():
    s = TrieStore()
    s.mset([(f"k{i}", i) for i in range(20_000)])
    with pytest.raises(TypeError, match="20000"):
        asyncio.run(s.amdelete([f"k{i}" for i in range(20_000)] + [b"k0"]))
    assert len(s) == 20_000


def test_amset_byte_store_validates_values():
    s = InMemoryByteStore()
    with pytest.raises(TypeError):
        asyncio.run(s.amset([("a", b"1"), ("b", "not bytes")]))
    assert len(s) == 0
    asyncio.run(s.amset([("a", b"1")]))
    assert asyncio.run(s.amget(["a"])) == [b"1"]


# -------------------------------------------------- yielding to the event loop

N = 100_000


def _run_with_ticker(coro_factory):
    """Runs coro_factory() while a concurrent task counts loop iterations.
    Returns (result, ticks seen while the coroutine was running)."""

    async def main():
        ticks = 0
        stop = False

        async def ticker():
            nonlocal ticks
            while not stop:
                ticks += 1
                await asyncio.sleep(0)

        t = asyncio.create_task(ticker())
        try:
            result = await coro_factory()
            during = ticks
        finally:
            stop = True
            await t
        return result, during

    return asyncio.run(main())


def test_amset_yields_to_event_loop():
    s = TrieStore()
    pairs = [(f"key:{i:06d}", i) for i in range(N)]
    _, ticks = _run_with_ticker(lambda: s.amset(pairs))
    assert ticks > 1
    assert len(s) == N
    assert s["key:099999"] == N - 1


def test_amget_yields_to_event_loop():
    s = TrieStore()
    s.mset([(f"key:{i:06d}", i) for i in range(N)])
    keys = [f"key:{i:06d}" for i in range(N)]
    result, ticks = _run_with_ticker(lambda: s.amget(keys))
    assert ticks > 1
    assert result == list(range(N))


def test_amdelete_yields_to_event_loop():
    s = TrieStore()
    s.mset([(f"key:{i:06d}", i) for i in range(N)])
    keys = [f"key:{i:06d}" for i in range(N)]
    _, ticks = _run_with_ticker(lambda: s.amdelete(keys))
    assert ticks > 1
    assert len(s) == 0


def test_ayield_keys_large_matches_sync():
    s = TrieStore()
    s.mset([(f"key:{i:06d}", i) for i in range(N)])
    got, _ = _run_with_ticker(lambda: collect(s.ayield_keys(prefix="key:05")))
    assert got == list(s.yield_keys(prefix="key:05"))
    assert len(got) == 10_000


# ------------------------------------ the batch is the one passed at call time


def test_amset_batch_mutated_by_another_task_is_all_or_nothing():
    """amset yields to the loop between chunks.  If another task changes the
    caller's list meanwhile (here: makes its last element invalid), the batch
    must still be all or nothing: either the pairs as passed are all written,
    or nothing is."""
    s = TrieStore()
    pairs = [(f"key:{i:06d}", i) for i in range(N)]
    original = list(pairs)

    async def main():
        async def vandal():
            await asyncio.sleep(0)
            pairs[-1] = (12345, "bad")  # no longer a str key
            pairs[0] = ("key:000000", "changed")

        v = asyncio.create_task(vandal())
        try:
            await s.amset(pairs)
        except TypeError:
            pass
        await v

    asyncio.run(main())
    assert len(s) in (0, N), f"partial write: {len(s)} of {N} keys"
    if len(s) == N:
        assert s.mget([k for k, _ in original[:1] + original[-1:]]) == [0, N - 1]


def test_amdelete_batch_mutated_by_another_task_is_all_or_nothing():
    s = TrieStore()
    keys = [f"key:{i:06d}" for i in range(N)]
    s.mset([(k, 0) for k in keys])
    batch = list(keys)

    async def main():
        async def vandal():
            await asyncio.sleep(0)
            batch[-1] = None  # no longer a str

        v = asyncio.create_task(vandal())
        try:
            await s.amdelete(batch)
        except TypeError:
            pass
        await v

    asyncio.run(main())
    assert len(s) in (0, N), f"partial delete: {N - len(s)} of {N} keys removed"
