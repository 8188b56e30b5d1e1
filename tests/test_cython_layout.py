"""The type slots ``_core.pyx`` patches onto the types Cython generates.

``_core.pyx`` sets ``tp_traverse`` and ``tp_clear`` on ``TrieStoreBase``
(so values in the C tree take part in garbage collection) and ``am_send`` on
``_NextItem`` (so an ``await`` on 3.10/3.11 completes without raising
``StopIteration``).  That relies on how Cython lays out those types: the
store must be a GC type with a ``tp_traverse`` slot to replace, and
``_NextItem`` must have a ``tp_as_async`` table.  pyproject.toml pins Cython
to the range these tests passed on; a newer Cython that breaks the
assumption must fail here, by name, and not crash the suite: the first test
runs every check in a child process, so even a crash becomes a failure.
"""

from __future__ import annotations

import ctypes
import gc
import subprocess
import sys
import textwrap
import weakref

import pytest

from memstore import TrieStore
from memstore._core import AsyncStoreIterator, TrieStoreBase

Py_TPFLAGS_HAVE_GC = 1 << 14
PYGEN_RETURN = 0
PYGEN_NEXT = 1

# What the crash-proof check runs in a child process: every assumption, each
# printed before it is exercised, so a crash names the step it died in.
CHILD_CHECKS = textwrap.dedent(
    """
    import asyncio, gc, sys
    print("step: import memstore", flush=True)
    import memstore
    from memstore import TrieStore
    print("step: store is a GC type", flush=True)
    assert type(TrieStore()).__flags__ & (1 << 14)
    print("step: tp_traverse visits values", flush=True)
    value = object()
    store = TrieStore([("k", value)])
    assert any(r is value for r in gc.get_referents(store))
    print("step: tp_clear breaks a cycle", flush=True)
    cyclic = TrieStore()
    cyclic["self"] = cyclic
    del cyclic
    gc.collect()
    print("step: await on _NextItem", flush=True)
    async def main():
        return [k async for k in TrieStore([("a", 1), ("b", 2)]).ayield_keys()]
    assert asyncio.run(main()) == ["a", "b"]
    print("ok", flush=True)
    """
)


def test_layout_checks_in_a_child_process():
    r = subprocess.run(
        [sys.executable, "-c", CHILD_CHECKS],
        capture_output=True,
        text=True,
        timeout=120,
    )
    steps = [line for line in r.stdout.splitlines() if line.startswith("step:")]
    assert r.returncode == 0 and r.stdout.rstrip().endswith("ok"), (
        f"the type-slot patching in memstore/_core.pyx broke (exit {r.returncode}, "
        f"last step: {steps[-1] if steps else 'none'}); check the Cython version "
        f"against pyproject.toml's build requirement.\n"
        f"stdout:\n{r.stdout}\nstderr:\n{r.stderr}"
    )


def test_store_type_is_gc_tracked():
    for cls in (TrieStoreBase, TrieStore):
        assert cls.__flags__ & Py_TPFLAGS_HAVE_GC, (
            f"{cls.__name__} lost Py_TPFLAGS_HAVE_GC"
        )
    assert gc.is_tracked(TrieStore())


def test_traverse_visits_the_stored_values():
    marker = object()
    other = ["a list"]
    store = TrieStore([("k1", marker), ("k2", other)])
    referents = gc.get_referents(store)
    assert any(r is marker for r in referents), "tp_traverse does not visit values"
    assert any(r is other for r in referents)


def test_store_in_a_cycle_is_collected():
    class Holder:
        pass

    store = TrieStore()
    holder = Holder()
    holder.store = store
    store["holder"] = holder  # store -> holder -> store
    store["itself"] = store
    alive = weakref.ref(store)
    holder_alive = weakref.ref(holder)
    del store, holder
    gc.collect()
    assert alive() is None, "a store in a reference cycle was not collected"
    assert holder_alive() is None


# --------------------------------------------------------------- am_send


class _AsyncMethods(ctypes.Structure):
    _fields_ = [
        ("am_await", ctypes.c_void_p),
        ("am_aiter", ctypes.c_void_p),
        ("am_anext", ctypes.c_void_p),
        ("am_send", ctypes.c_void_p),
    ]


class _TypeHead(ctypes.Structure):
    # The first fields of PyTypeObject (a release build: no Py_TRACE_REFS).
    _fields_ = [
        ("ob_refcnt", ctypes.c_ssize_t),
        ("ob_type", ctypes.c_void_p),
        ("ob_size", ctypes.c_ssize_t),
        ("tp_name", ctypes.c_char_p),
        ("tp_basicsize", ctypes.c_ssize_t),
        ("tp_itemsize", ctypes.c_ssize_t),
        ("tp_dealloc", ctypes.c_void_p),
        ("tp_vectorcall_offset", ctypes.c_ssize_t),
        ("tp_getattr", ctypes.c_void_p),
        ("tp_setattr", ctypes.c_void_p),
        ("tp_as_async", ctypes.POINTER(_AsyncMethods)),
    ]


_SendFunc = ctypes.PYFUNCTYPE(
    ctypes.c_int, ctypes.py_object, ctypes.py_object, ctypes.POINTER(ctypes.c_void_p)
)


def _am_send_of(tp: type) -> int | None:
    head = _TypeHead.from_address(id(tp))
    assert head.tp_name.decode().endswith(tp.__name__), "unexpected PyTypeObject layout"
    assert head.tp_as_async, f"{tp.__name__} has no tp_as_async table"
    return head.tp_as_async.contents.am_send


@pytest.mark.skipif(
    sys.version_info < (3, 10) or sys.implementation.name != "cpython",
    reason="am_send exists from CPython 3.10",
)
@pytest.mark.skipif(hasattr(sys, "gettotalrefcount"), reason="debug build layout")
def test_next_item_am_send_completes_without_stopiteration():
    store = TrieStore([("a", 1), ("b", 2)])
    ait = store.ayield_keys()
    assert isinstance(ait, AsyncStoreIterator)
    awaitable = ait.__anext__()
    address = _am_send_of(type(awaitable))
    assert address, "_NextItem lost its am_send slot (set by _core.pyx)"
    send = _SendFunc(address)
    out = ctypes.c_void_p()
    # PYFUNCTYPE checks the error indicator after the call: a StopIteration
    # (or any exception) left set by am_send would be raised here.
    status = send(awaitable, None, ctypes.byref(out))
    assert status == PYGEN_RETURN, f"am_send returned {status}, not PYGEN_RETURN"
    item = ctypes.cast(out, ctypes.py_object).value
    assert item == "a"
    ctypes.pythonapi.Py_DecRef(ctypes.py_object(item))  # am_send gave a new reference
