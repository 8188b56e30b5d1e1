"""ayield_keys's async iterator: the same listing as yield_keys, awaits that
complete without suspending, a yield to the event loop every 1024 keys, and
the async generator protocol."""

import asyncio
import collections.abc as cabc
import sys

import pytest

from memstore import TrieStore
from memstore._core import AsyncStoreIterator

CHUNK = 1024  # keys listed between two yields to the loop (memstore._store)


def store(n):
    return TrieStore((f"key:{i:06d}", i) for i in range(n))


async def collect(ait):
    return [k async for k in ait]


def test_protocols_and_eager_validation():
    s = store(3)
    ait = s.ayield_keys()
    assert isinstance(ait, cabc.AsyncIterator)
    assert isinstance(ait, cabc.AsyncGenerator)
    assert ait.__aiter__() is ait
    assert isinstance(ait.__anext__(), cabc.Awaitable)
    assert AsyncStoreIterator[str] is not None  # subscriptable for type hints
    with pytest.raises(TypeError):
        s.ayield_keys(prefix=1)
    with pytest.raises(ValueError):
        s.ayield_keys(limit=-1)
    with pytest.raises(ValueError):
        AsyncStoreIterator(s.yield_keys(), 0)
    with pytest.raises(TypeError):
        AsyncStoreIterator([], 1)


def test_explicit_anext_and_end():
    s = store(3)

    async def main():
        ait = s.ayield_keys()
        got = [await ait.__anext__(), await ait.asend(None), await ait.__anext__()]
        for _ in range(2):  # stays exhausted
            with pytest.raises(StopAsyncIteration):
                await ait.__anext__()
        return got

    assert asyncio.run(main()) == ["key:000000", "key:000001", "key:000002"]


def test_anext_builtin():
    if sys.version_info < (3, 10):
        pytest.skip("anext() is new in 3.10")
    s = store(2)

    async def main():
        ait = s.ayield_keys(reverse=True)
        return [await anext(ait), await anext(ait), await anext(ait, "end")]  # noqa: F821

    assert asyncio.run(main()) == ["key:000001", "key:000000", "end"]


@pytest.mark.parametrize("n", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 5])
def test_matches_yield_keys_across_chunk_edges(n):
    s = store(n)
    assert asyncio.run(collect(s.ayield_keys())) == list(s.yield_keys())
    assert asyncio.run(collect(s.ayield_keys(reverse=True, limit=n // 2))) == list(
        s.yield_keys(reverse=True, limit=n // 2)
    )


def test_awaits_complete_without_suspending_between_yields_to_the_loop():
    """Every CHUNK keys the listing yields to the loop exactly once (a bare
    yield, like asyncio.sleep(0)); all other awaits complete at once.
    Driven by hand, without an event loop, to count the suspensions."""
    s = store(3 * CHUNK + 5)

    async def main():
        return [k async for k in s.ayield_keys()]

    coro = main()
    suspensions = 0
    try:
        while True:
            assert coro.send(None) is None
            suspensions += 1
    except StopIteration as stop:
        result = stop.value
    assert result == list(s.yield_keys())
    assert suspensions == 3


def test_under_a_trace_function():
    """With a trace function set, 3.10/3.11 drive an await through
    tp_iternext (as 3.12+ always do) instead of am_send: same listing."""
    s = store(2 * CHUNK + 3)
    expected = list(s.yield_keys(prefix="key:00"))
    calls = []

    def tracer(frame, event, arg):
        calls.append(event)

    sys.settrace(tracer)
    try:
        got = asyncio.run(collect(s.ayield_keys(prefix="key:00")))
    finally:
        sys.settrace(None)
    assert calls
    assert got == expected


def test_long_listing_lets_other_tasks_run():
    s = store(50 * CHUNK)

    async def main():
        ticks = []
        stop = False

        async def ticker():
            while not stop:
                ticks.append(None)
                await asyncio.sleep(0)

        t = asyncio.create_task(ticker())
        await asyncio.sleep(0)  # let the ticker start
        start = len(ticks)
        listed = 0
        progress = []
        async for _ in s.ayield_keys():
            listed += 1
            if listed % CHUNK == 0:
                progress.append(len(ticks))
        during = len(ticks) - start
        stop = True
        await t
        return listed, during, progress

    listed, during, progress = asyncio.run(main())
    assert listed == 50 * CHUNK
    # The other task ran about once per chunk, all through the listing.
    assert during >= 49
    assert progress[-1] - progress[0] >= 48


def test_store_changed_during_iteration():
    s = TrieStore({"a": 1, "c": 3, "e": 5})

    async def main():
        got = []
        async for k in s.ayield_keys():
            got.append(k)
            if k == "a":
                s["b"] = 2  # after the current key: listed
                del s["c"]  # removed before reached: not listed
                s["0"] = 0  # before the current key: not listed
        return got

    assert asyncio.run(main()) == ["a", "b", "e"]


def test_other_task_writes_while_suspended():
    s = store(2 * CHUNK)

    async def main():
        async def writer():
            s.delete_prefix("key:0019")  # after the first chunk of keys
            s["key:zzz"] = 1

        got = []
        task = None
        async for k in s.ayield_keys():
            got.append(k)
            if task is None:  # runs at the first yield to the loop
                task = asyncio.create_task(writer())
        await task
        return got

    got = asyncio.run(main())
    assert got[-1] == "key:zzz"
    assert not any(k.startswith("key:0019") for k in got)
    assert got == sorted(got)


def test_aclose_and_athrow_end_the_listing():
    s = store(5)

    async def main():
        ait = s.ayield_keys()
        first = await ait.__anext__()
        assert await ait.aclose() is None
        with pytest.raises(StopAsyncIteration):
            await ait.__anext__()
        ait2 = s.ayield_keys()
        await ait2.__anext__()
        with pytest.raises(KeyError, match="boom"):
            await ait2.athrow(KeyError("boom"))
        with pytest.raises(StopAsyncIteration):
            await ait2.__anext__()
        ait3 = s.ayield_keys()
        with pytest.raises(ValueError):
            await ait3.athrow(ValueError)
        return first

    assert asyncio.run(main()) == "key:000000"


def test_cancelled_while_yielding_to_the_loop():
    s = store(10 * CHUNK)

    async def main():
        ait = s.ayield_keys()
        listed = 0

        async def consume():
            nonlocal listed
            async for _ in ait:
                listed += 1

        task = asyncio.create_task(consume())
        while listed < CHUNK:
            await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # Like an async generator, the listing ended with the exception.
        with pytest.raises(StopAsyncIteration):
            await ait.__anext__()
        return listed

    assert asyncio.run(main()) == CHUNK


def test_awaitable_protocol_by_hand():
    s = store(2)
    ait = s.ayield_keys()
    aw = ait.__anext__()
    assert iter(aw.__await__()) is aw
    with pytest.raises(StopIteration) as e:
        aw.send(None)
    assert e.value.value == "key:000000"
    with pytest.raises(StopIteration) as e:
        next(aw)
    assert e.value.value == "key:000001"
    with pytest.raises(StopAsyncIteration):
        next(aw)
    aw.close()
    with pytest.raises(StopAsyncIteration):
        aw.send(None)


def test_iterator_keeps_store_alive():
    ait = store(3).ayield_keys(prefix="key:")
    assert asyncio.run(collect(ait)) == ["key:000000", "key:000001", "key:000002"]


def test_reference_cycle_through_a_value_is_collected():
    import gc
    import weakref

    s = store(3)
    ait = s.ayield_keys()
    s["self"] = ait  # store -> iterator -> store
    ref = weakref.ref(s)
    del s, ait
    gc.collect()
    assert ref() is None


def test_iterator_types_made_from_python_are_safe():
    s = store(2)
    assert list(type(iter(s))()) == []  # empty, not an uninitialised read
    ait = s.ayield_keys()
    with pytest.raises(TypeError):
        type(ait)()
    with pytest.raises(TypeError):
        type(ait.__anext__())()


def test_awaits_handed_out_together_each_get_their_own_item():
    store = TrieStore({f"k{i}": i for i in range(6)})

    async def main():
        it = store.ayield_keys()
        first, second = await asyncio.gather(it.__anext__(), it.__anext__())
        pending = it.__anext__()
        late = it.__anext__()  # handed out before `pending` is awaited
        third, fourth = await pending, await late
        return [first, second, third, fourth] + [k async for k in it]

    assert asyncio.run(main()) == [f"k{i}" for i in range(6)]


def test_one_awaitable_serves_a_whole_listing():
    store = TrieStore({f"k{i}": i for i in range(3)})

    async def main():
        it = store.ayield_keys()
        seen = []
        for _ in range(3):
            step = it.__anext__()
            seen.append(id(step))
            await step
        return seen

    assert len(set(asyncio.run(main()))) == 1
