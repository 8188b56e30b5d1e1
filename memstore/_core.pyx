# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""memstore._core: the Python binding of the C radix tree (csrc/radix.h).

This module owns every Python reference the store holds and runs the batch
loops; the public classes live in memstore._store and subclass
TrieStoreBase.

Reference discipline
--------------------
* The tree stores values as opaque ``void *``.  Every value in the tree
  carries exactly one strong reference owned by the store: it is taken
  (Py_INCREF) before the value is handed to rx_insert and given back
  (Py_DECREF) when the value leaves the tree.
* A value that leaves the tree -- overwritten (rx_insert's ``old``), removed
  (rx_remove's ``old``), or removed in bulk -- is released only after the C
  call has returned, i.e. when the tree is consistent again.  Releasing can
  run arbitrary Python code (``__del__``, weakref callbacks, other threads
  once the GIL is dropped), and that code may read or write this very
  store.  Batch methods go further and release the values they replaced
  only at the very end, after every write of the batch is done.
* Bulk removal (clear, delete_prefix, deallocation, GC clear) goes through
  ``_release_value``, the rx_release_fn the core calls once per value after
  it has detached the subtree, so again with the tree consistent.
* Keys are never stored as Python objects.  A key is looked at in place
  (an ASCII ``str`` is already its UTF-8 bytes) or encoded to a temporary
  ``bytes`` with ``surrogatepass``; keys read back are decoded from the
  tree's bytes.
* No Python code runs between the validation of a batch and the end of its
  writes: validation does type checks only; encoding and the tree's
  allocator (the store's node pool over PyMem_*) allocate nothing the
  garbage collector tracks, so no
  collection (and no finalizer) can run either; releases are deferred.
  That is what makes batches and single-key methods atomic with respect to
  other threads and lets a batch be all or nothing.  (``==``, ``repr``,
  pickling and building from a mapping run Python code between their steps
  -- values' ``__eq__``/``__repr__``, the mapping's iteration -- and are not
  atomic: the README says which operations are.)
* References the binding holds temporarily (a batch's keys and values, a
  value being compared or returned, the object owning a key's bytes, kept
  in a local named ``owner``) are strong ones, so Python code that runs in
  between cannot free them under our feet.  The one exception is mset,
  which reads ASCII keys in place, kept alive by the batch sequence: by
  the point above nothing can drop those before its writes are done.
* Iterators hold a strong reference to their store, so its tree outlives
  them.  The store takes part in garbage collection: tp_traverse visits the
  values in the tree and tp_clear empties it (see the end of this file).

Keys with a lifetime (see "Expiry" below for the layout)
----------------------------------------------------------
* The value of a key with a lifetime is stored as a tagged pointer: the low
  bit set, the rest pointing at an ``_Entry {value, deadline}`` allocated
  with PyMem.  The entry owns the store's one reference to the value, and
  the tree owns the entry.  Every read of a value from the tree goes
  through ``_value_of``, and every value that leaves the tree through
  ``_release_stored`` (which frees the entry, then drops the reference), so
  the rules above hold unchanged for both kinds of stored value.
* The expiry queue is a second tree whose keys are (deadline, key) and whose
  values are NULL: it owns no reference, so removing from it never runs
  Python code.  Every key with a lifetime has its queue key; the queue may
  hold a few more (after running out of memory while removing one:
  ``queue_has_stale`` then says so), which the purge recognises and drops.
* Expired keys are purged at the start of every public method, before it
  reads or writes anything: the clock is read once (a user clock is Python
  code), then every expired key leaves the tree and the queue before the
  first of their values is released, so a finalizer that uses the store
  sees both trees consistent and no expired key.  An open iterator that
  meets an expired key purges the same way, then steps on.  A batch reads
  the clock before its validation, so the rule above (no Python code
  between validation and the end of the writes) still holds.
"""

cimport cython
from cpython.mem cimport PyMem_Calloc, PyMem_Free, PyMem_Malloc, PyMem_Realloc
from cpython.object cimport PyObject, PyTypeObject
from libc.math cimport INFINITY, NAN, isfinite
from libc.stdint cimport uint64_t, uintptr_t
from libc.string cimport memcmp, memcpy

from memstore._radix cimport (
    RX_ENOMEM,
    RX_ETOOBIG,
    RX_GROUP,
    RX_MAX_KEY_LEN,
    RX_OK,
    RX_SEEK_FIRST,
    RX_SEEK_GE,
    RX_SEEK_GT,
    RX_SEEK_LAST,
    RX_SEEK_LE,
    RX_SEEK_LT,
    rx_allocator,
    rx_build_abort,
    rx_build_add,
    rx_build_finish,
    rx_pool_build_new,
    rx_builder,
    rx_check,
    rx_check_stats,
    rx_clear,
    rx_count_prefix,
    rx_count_range,
    rx_find,
    rx_find_many,
    rx_insert,
    rx_iter,
    rx_iter_init,
    rx_iter_next,
    rx_iter_prefix_count,
    rx_iter_release,
    rx_iter_seek,
    rx_iter_set_delimiter,
    rx_iter_set_end,
    rx_iter_set_prefix,
    rx_longest_prefix,
    rx_memory,
    rx_pool,
    rx_pool_free,
    rx_pool_new,
    rx_pool_tree_new,
    rx_spare_memory,
    rx_remove,
    rx_remove_prefix,
    rx_seek_op,
    rx_size,
    rx_tree,
    rx_tree_free,
    rx_version,
    rx_visit_values,
)

from collections.abc import Mapping as _Mapping
from numbers import Real as _Real
from operator import index as _index
from time import time as _time_time
from types import GenericAlias as _GenericAlias


cdef extern from "Python.h":
    # Declared with PyObject* so Cython adds no reference counting of its
    # own: the functions below are where references change hands.
    void Py_INCREF(PyObject *o)
    void Py_DECREF(PyObject *o)
    void Py_XDECREF(PyObject *o)

    bint PyUnicode_Check(PyObject *o)
    bint PyUnicode_CheckExact(PyObject *o)
    bint PyUnicode_IS_ASCII(PyObject *o)
    void *PyUnicode_DATA(PyObject *o)
    Py_ssize_t PyUnicode_GET_LENGTH(PyObject *o)
    object PyUnicode_AsEncodedString(object o, const char *encoding, const char *errors)
    PyObject *PyUnicode_AsEncodedString_raw "PyUnicode_AsEncodedString"(
        PyObject *o, const char *encoding, const char *errors) noexcept
    PyObject *PyErr_Occurred() noexcept

    bint PyBytes_Check(PyObject *o)
    bint PyBytes_CheckExact(PyObject *o)
    bint PyByteArray_Check(PyObject *o)
    char *PyBytes_AS_STRING(PyObject *o)
    Py_ssize_t PyBytes_GET_SIZE(PyObject *o)

    bint PyTuple_Check(PyObject *o)
    bint PyTuple_CheckExact(PyObject *o)
    Py_ssize_t PyTuple_GET_SIZE(PyObject *o)
    PyObject *PyTuple_GET_ITEM(PyObject *o, Py_ssize_t i)
    bint PyList_Check(PyObject *o)
    Py_ssize_t PyList_GET_SIZE(PyObject *o)
    PyObject *PyList_GET_ITEM(PyObject *o, Py_ssize_t i)
    object PyList_New(Py_ssize_t n)
    void PyList_SET_ITEM(object lst, Py_ssize_t i, PyObject *o)  # steals o
    bint PyDict_Check(object o)
    PyObject *PyDict_GetItemWithError(object d, object key) except? NULL

    object PySequence_Fast(object o, const char *message)
    object PySequence_Tuple(object o)
    Py_ssize_t PySequence_Fast_GET_SIZE(object o)
    PyObject **PySequence_Fast_ITEMS(object o)

    bint PyObject_TypeCheck(PyObject *o, PyTypeObject *t)
    int PyObject_RichCompareBool(PyObject *a, PyObject *b, int op) except -1
    int Py_EQ
    int Py_ReprEnter(object o) except -1
    void Py_ReprLeave(object o)
    int Py_EnterRecursiveCall(const char *where) except -1
    void Py_LeaveRecursiveCall()
    bint PyIndex_Check(object o)
    Py_ssize_t PY_SSIZE_T_MAX
    bint PyBool_Check(object o)
    bint PyFloat_Check(object o)
    bint PyLong_Check(object o)
    double PyFloat_AsDouble(object o) except? -1.0
    object PyBytes_FromStringAndSize(const char *s, Py_ssize_t n)

    # The two GC slots TrieStoreBase extends (see the end of this file).
    ctypedef int (*_visitproc "visitproc")(PyObject *o, void *arg) noexcept
    ctypedef int (*_traverseproc "traverseproc")(PyObject *o, _visitproc visit, void *arg) noexcept
    ctypedef int (*_inquiry "inquiry")(PyObject *o) noexcept
    ctypedef struct _GCSlots "PyTypeObject":
        _traverseproc tp_traverse
        _inquiry tp_clear


cdef extern from *:
    """
    /* Strings made by the legacy (pre-PEP 393) API must be made ready
     * before their data can be read in place; from 3.12 all strings are. */
    #if PY_VERSION_HEX < 0x030C0000
    #define MS_UNICODE_READY(o) PyUnicode_READY(o)
    #else
    #define MS_UNICODE_READY(o) 0
    #endif
    """
    int MS_UNICODE_READY(PyObject *o) except -1
    int MS_UNICODE_READY_raw "MS_UNICODE_READY"(PyObject *o) noexcept


cdef extern from *:
    """
    #include <string.h>

    /* A key read back from the tree, as a new str.  Most keys are ASCII, and
     * ASCII bytes are already the str's 1-byte data: copying them while
     * checking that they are ASCII is much cheaper than the general UTF-8
     * decoder (a third of the time of listing short keys).  Anything else
     * is decoded exactly as before, so non-ASCII keys round-trip unchanged. */
    static inline PyObject *ms_decode_key(const unsigned char *s, Py_ssize_t n)
    {
        uint64_t seen = 0, w;
        Py_ssize_t i;
        unsigned char *d;
        PyObject *u = PyUnicode_New(n, 127);
        if (u == NULL)
            return NULL;
        /* Copy and check in one pass, 8 bytes at a time; the last word
         * overlaps the one before it rather than looping over the tail. */
        d = PyUnicode_1BYTE_DATA(u);
        if (n >= 8) {
            for (i = 0; i < n - 8; i += 8) {
                memcpy(&w, s + i, 8);
                memcpy(d + i, &w, 8);
                seen |= w;
            }
            memcpy(&w, s + n - 8, 8);
            memcpy(d + n - 8, &w, 8);
            seen |= w;
        } else {
            for (i = 0; i < n; i++) {
                d[i] = s[i];
                seen |= s[i];
            }
        }
        if (!(seen & 0x8080808080808080ULL))
            return u;
        Py_DECREF(u);
        return PyUnicode_DecodeUTF8((const char *)s, n, "surrogatepass");
    }
    """
    str ms_decode_key(const unsigned char *s, Py_ssize_t n)


# --------------------------------------------------------------------------
# The tree's allocator and release callback.
#
# Each store's trees draw their nodes from a node pool of the store's own
# (csrc/pool.h): 8-byte size classes carved from chunks of up to 256 KiB.
# On Python's small-object allocator the tree's 20-byte leaves took 32
# bytes and shared pools with every batch's short-lived objects, so the
# process grew by 1.45x what memory_usage() counted (10^6 chat keys built
# by mset: 52 bytes a key for 36); in a pool of its own, by 1.13x (see
# benchmarks/memprobe.py ratio).  A pool per store, not one per process,
# because a pool gives its chunks back only when every block in it is free:
# per store, that is when the store empties (clear, delete_prefix of
# everything) or dies.  The trees' headers live outside the chunks
# (rx_pool_tree_new) for that reason.  The chunks, tree headers and blocks
# above 256 bytes come from PyMem_*, so tracemalloc and memory profilers
# see them.  A pool has no lock: the GIL, held by every call into the tree,
# serialises it.

cdef void *_pymem_malloc(void *ctx, size_t size) noexcept:
    return PyMem_Malloc(size)


cdef void *_pymem_realloc(void *ctx, void *ptr, size_t old_size, size_t new_size) noexcept:
    return PyMem_Realloc(ptr, new_size)


cdef void _pymem_free(void *ctx, void *ptr, size_t size) noexcept:
    PyMem_Free(ptr)


# Python's heap, for the pools' chunks and the snapshot reader and writer
# (the GIL is always held when the tree runs).
cdef rx_allocator _ALLOCATOR
_ALLOCATOR.malloc_fn = _pymem_malloc
_ALLOCATOR.realloc_fn = _pymem_realloc
_ALLOCATOR.free_fn = _pymem_free
_ALLOCATOR.ctx = NULL


cdef void _release_value(void *value, void *ctx) noexcept:
    # Called by the core once per value removed in bulk, tree consistent.
    _release_stored(value)


# --------------------------------------------------------------------------
# Expiry: what a key with a lifetime costs, and how it leaves.
#
# The main tree maps each key to a `void *`.  Its low bit says which of two
# things it is (Python objects and PyMem blocks are at least 8-byte aligned,
# so a real pointer has it clear):
#
#   key  -> PyObject *value                   no lifetime: nothing extra
#   key  -> (_Entry *) | 1 --> +--------------------+
#                              | PyObject *value    |   16 bytes, PyMem
#                              | double   deadline  |
#                              +--------------------+
#
# The expiry queue, a second rx_tree created with the first lifetime, holds
# one key per key with a lifetime, ordered by deadline:
#
#   +---------------------------+-------------------+
#   | deadline, 8 bytes, ordered | the key's bytes  |  -> NULL
#   +---------------------------+-------------------+
#
# so the purge pops expired keys from its front, in deadline order, without
# looking at any live key: amortised O(L) per expired key.  The 8 bytes are
# the double's bits turned into an unsigned integer that sorts like the
# double (sign bit flipped for positives, all bits for negatives), written
# big-endian so that byte order is numeric order.
#
# A store that never had a lifetime has no queue (queue is NULL) and pays
# one pointer test per method; its values are never tagged.

cdef struct _Entry:
    PyObject *value  # the store's reference to the value
    double deadline  # the clock's time at which the key expires


cdef extern from *:
    """
    #include <math.h>
    #include <string.h>
    #if !defined(_WIN32)
    #include <time.h>
    #endif

    static inline void ms_encode_deadline(double deadline, unsigned char *out)
    {
        uint64_t bits;
        int i;
        memcpy(&bits, &deadline, 8);
        bits = (bits >> 63) ? ~bits : bits | 0x8000000000000000ULL;
        for (i = 7; i >= 0; i--) {
            out[i] = (unsigned char)(bits & 0xff);
            bits >>= 8;
        }
    }

    static inline double ms_decode_deadline(const unsigned char *in)
    {
        uint64_t bits = 0;
        double deadline;
        int i;
        for (i = 0; i < 8; i++)
            bits = (bits << 8) | in[i];
        bits = (bits >> 63) ? bits & 0x7fffffffffffffffULL : ~bits;
        memcpy(&deadline, &bits, 8);
        return deadline;
    }

    /* Deadlines are compared by their bits: the queue key of a deadline is
     * its bits, so two deadlines share a queue key exactly when this holds
     * (0.0 and -0.0 do not). */
    static inline int ms_same_deadline(double a, double b)
    {
        return memcmp(&a, &b, sizeof a) == 0;
    }

    /* The wall clock, read without a Python call (time.time() reads the
     * same clock): 0 and *now set, or -1 when there is none here. */
    static inline int ms_wall_clock(double *now)
    {
    #if defined(_WIN32)
        (void)now;
        return -1;
    #else
        struct timespec ts;
        if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
            return -1;
        *now = (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
        return 0;
    #endif
    }
    """
    void ms_encode_deadline(double deadline, unsigned char *out) noexcept
    double ms_decode_deadline(const unsigned char *data) noexcept
    bint ms_same_deadline(double a, double b) noexcept
    int ms_wall_clock(double *now) noexcept


cdef enum:
    _DEADLINE_BYTES = 8  # bytes of a queue key before the key's own
    _QBUF_KEEP = 4096    # bytes of queue-key scratch a store keeps between calls


cdef inline bint _has_lifetime(void *stored) noexcept:
    return (<uintptr_t>stored) & 1


cdef inline _Entry *_entry_of(void *stored) noexcept:
    return <_Entry *>((<uintptr_t>stored) - 1)


cdef inline void *_tagged(_Entry *entry) noexcept:
    return <void *>((<uintptr_t>entry) | 1)


cdef inline PyObject *_value_of(void *stored) noexcept:
    """The Python value behind what the tree stores for a key (borrowed)."""
    if (<uintptr_t>stored) & 1:
        return (<_Entry *>((<uintptr_t>stored) - 1)).value
    return <PyObject *>stored


cdef inline void _release_stored(void *stored) noexcept:
    """Releases what the tree stored for a key, once it has left the tree:
    the entry is freed before the reference is dropped, because dropping it
    can run Python code."""
    cdef PyObject *value
    if _has_lifetime(stored):
        value = _entry_of(stored).value
        PyMem_Free(_entry_of(stored))
        Py_DECREF(value)
    else:
        Py_DECREF(<PyObject *>stored)


cdef class _LeftOut:
    """The default of ``mset``'s ``ttl``: the store's default lifetime."""

    def __repr__(self):
        return "<left out>"

    def __reduce__(self):
        return "_LEFT_OUT"


_LEFT_OUT = _LeftOut()


cdef double _parse_ttl(object ttl) except? -1.0:
    """A lifetime given by the user, in seconds: a positive finite number
    (int, float, or any numbers.Real), not a bool."""
    cdef double seconds
    if PyBool_Check(ttl) or not (PyFloat_Check(ttl) or PyLong_Check(ttl)
                                 or PyIndex_Check(ttl) or isinstance(ttl, _Real)):
        raise TypeError(f"ttl must be a number of seconds or None, not {_type_name(ttl)}")
    try:
        seconds = PyFloat_AsDouble(ttl)
    except OverflowError:
        raise ValueError(f"ttl must be a finite number of seconds, not {ttl!r}") from None
    if not isfinite(seconds):
        raise ValueError(f"ttl must be a finite number of seconds, not {ttl!r}")
    if not seconds > 0:
        raise ValueError(f"ttl must be > 0 seconds, not {ttl!r}")
    return seconds


cdef double _wall_clock() except? -1.0:
    cdef double now
    if ms_wall_clock(&now) == 0:
        return now
    return _time_time()


# --------------------------------------------------------------------------
# Keys: str <-> UTF-8 bytes.

cdef inline str _type_name(object o):
    return type(o).__name__


cdef inline object _key_bytes(PyObject *key, const unsigned char **data, size_t *size):
    """Points *data / *size at the UTF-8 bytes of key, a str (exact or
    subclass).  Returns the object that owns those bytes: None when they are
    the string's own data (ASCII), else a temporary bytes object the caller
    keeps alive while it uses them."""
    MS_UNICODE_READY(key)
    if PyUnicode_IS_ASCII(key):
        data[0] = <const unsigned char *>PyUnicode_DATA(key)
        size[0] = <size_t>PyUnicode_GET_LENGTH(key)
        return None
    encoded = PyUnicode_AsEncodedString(<object>key, "utf-8", "surrogatepass")
    data[0] = <const unsigned char *>PyBytes_AS_STRING(<PyObject *>encoded)
    size[0] = <size_t>PyBytes_GET_SIZE(<PyObject *>encoded)
    return encoded


cdef inline object _key_owner(PyObject *key):
    """A new reference to the object owning key's UTF-8 bytes: the str
    itself when it is ASCII, else its encoding (see _owner_bytes)."""
    MS_UNICODE_READY(key)
    if PyUnicode_IS_ASCII(key):
        return <object>key
    return PyUnicode_AsEncodedString(<object>key, "utf-8", "surrogatepass")


cdef inline void _owner_bytes(PyObject *owner, const unsigned char **data,
                              size_t *size) noexcept:
    if PyBytes_CheckExact(owner):
        data[0] = <const unsigned char *>PyBytes_AS_STRING(owner)
        size[0] = <size_t>PyBytes_GET_SIZE(owner)
    else:
        data[0] = <const unsigned char *>PyUnicode_DATA(owner)
        size[0] = <size_t>PyUnicode_GET_LENGTH(owner)


cdef inline str _decode(const unsigned char *data, size_t size):
    return ms_decode_key(data, <Py_ssize_t>size)


cdef inline int _check_key(object key) except -1:
    if not PyUnicode_Check(<PyObject *>key):
        raise TypeError(f"key must be str, not {_type_name(key)}")
    return 0


cdef inline int _check_key_length(size_t size, Py_ssize_t index) except -1:
    if size > RX_MAX_KEY_LEN:
        where = "key" if index < 0 else f"key at index {index}"
        raise OverflowError(
            f"{where} is {size} bytes in UTF-8; keys are limited to "
            f"{RX_MAX_KEY_LEN} bytes")
    return 0


cdef inline int _check_optional_str(object value, str what) except -1:
    if value is not None and not PyUnicode_Check(<PyObject *>value):
        raise TypeError(f"{what} must be str or None, not {_type_name(value)}")
    return 0


cdef int _raise_insert_error(int rc) except -1:
    if rc == RX_ENOMEM:
        raise MemoryError("out of memory while inserting into the store")
    raise OverflowError("the store is full: it holds at most 4294967295 keys")


cdef Py_ssize_t _parse_limit(object limit) except -2:
    """-1 for no limit, else the limit (clamped to PY_SSIZE_T_MAX).  An int
    or an object with ``__index__`` (numpy integers); a bool is refused like
    RedisStore refuses it, since ``limit=True`` is almost surely a mistake."""
    if limit is None:
        return -1
    if PyBool_Check(limit) or not PyIndex_Check(limit):
        raise TypeError(f"limit must be an int or None, not {_type_name(limit)}")
    value = _index(limit)
    if value < 0:
        raise ValueError(f"limit must be >= 0, not {value}")
    if value >= PY_SSIZE_T_MAX:
        return PY_SSIZE_T_MAX
    return value


cdef inline int _refuse_text_batch(object batch, str method, bint pairs=False) except -1:
    """A str, bytes or bytearray is iterable, so mget("user:1") would read
    the keys "u", "s", "e", ...: refuse it before anything is read or
    written."""
    cdef PyObject *o = <PyObject *>batch
    if PyUnicode_Check(o) or PyBytes_Check(o) or PyByteArray_Check(o):
        if pairs:
            raise TypeError(f"{method}() takes a batch of (key, value) pairs, "
                            f"not a {_type_name(batch)}")
        raise TypeError(f"{method}() takes a batch of keys, not a single "
                        f"{_type_name(batch)}; pass [key] for one key")
    return 0


# --------------------------------------------------------------------------
# Batches.

cdef enum:
    _FIND_LANES = 256  # keys per rx_find_many call in mget
    # Pairs mset checks, encodes and inserts before moving on: few enough
    # that their tuples and keys are still in cache when inserted, instead
    # of being fetched from memory once per pass over the whole batch.
    _WRITE_CHUNK = 512

cdef struct _Write:
    const unsigned char *data  # the key's UTF-8 bytes
    size_t size
    PyObject *owner  # owns `data` when it is a temporary encoding, else NULL
                     # (an ASCII key is read in place, kept alive by the batch)
    PyObject *value  # owned by this batch unless in_tree
    _Entry *entry    # the value's entry when the batch has a lifetime (it
                     # then goes into the tree tagged); owned like `value`
    void *old        # what this write replaced (owned; a value or a tagged
                     # entry), NULL when new
    bint in_tree     # the reference in `value` now belongs to the tree
    bint queued      # this write added its key to the expiry queue


cdef struct _Delete:
    PyObject *owner
    void *old        # what was removed (owned), NULL when the key was absent


cdef inline int _pair_parts(PyObject *item, Py_ssize_t i, PyObject **key,
                            PyObject **value) except -1:
    """Borrowed key and value of a (key, value) pair: a 2-tuple or 2-list."""
    if PyTuple_Check(item) and PyTuple_GET_SIZE(item) == 2:
        key[0] = PyTuple_GET_ITEM(item, 0)
        value[0] = PyTuple_GET_ITEM(item, 1)
        return 0
    if PyList_Check(item) and PyList_GET_SIZE(item) == 2:
        key[0] = PyList_GET_ITEM(item, 0)
        value[0] = PyList_GET_ITEM(item, 1)
        return 0
    o = <object>item
    if PyTuple_Check(item) or PyList_Check(item):
        raise TypeError(f"item at index {i} must be a (key, value) pair, "
                        f"not a {_type_name(o)} of length {len(o)}")
    raise TypeError(f"item at index {i} must be a (key, value) pair, not {_type_name(o)}")


cdef inline bint _pair_ok(PyObject *item, PyObject *value_type, PyObject **key,
                          PyObject **value) noexcept:
    """The checks TrieStoreBase._check_pairs makes, without raising: item is
    a 2-tuple or 2-list of a str and a value of value_type (None: any).
    Sets the borrowed *key and *value."""
    if PyTuple_Check(item) and PyTuple_GET_SIZE(item) == 2:
        key[0] = PyTuple_GET_ITEM(item, 0)
        value[0] = PyTuple_GET_ITEM(item, 1)
    elif PyList_Check(item) and PyList_GET_SIZE(item) == 2:
        key[0] = PyList_GET_ITEM(item, 0)
        value[0] = PyList_GET_ITEM(item, 1)
    else:
        return False
    if not PyUnicode_Check(key[0]):
        return False
    return value_type == <PyObject *>None or PyObject_TypeCheck(
        value[0], <PyTypeObject *>value_type)


cdef int _raise_pending() except -1:
    """Propagates the exception a C call left set."""
    return -1


cdef inline int _check_keys(PyObject **keys, Py_ssize_t n) except -1:
    cdef Py_ssize_t i
    for i in range(n):
        if not PyUnicode_Check(keys[i]):
            raise TypeError(f"key at index {i} must be str, not {_type_name(<object>keys[i])}")
    return 0


cdef void _free_writes(_Write *w, Py_ssize_t n) noexcept:
    """Drops every reference the batch still owns: temporary key encodings,
    values that did not go into the tree, and values that came out of it.
    Runs last, so any code a release triggers sees the finished batch."""
    cdef Py_ssize_t i
    for i in range(n):
        Py_XDECREF(w[i].owner)
        if not w[i].in_tree:
            PyMem_Free(w[i].entry)
            Py_XDECREF(w[i].value)
    for i in range(n):
        if w[i].old is not NULL:
            _release_stored(w[i].old)
    PyMem_Free(w)


cdef void _free_deletes(_Delete *d, Py_ssize_t n) noexcept:
    cdef Py_ssize_t i
    for i in range(n):
        Py_XDECREF(d[i].owner)
    for i in range(n):
        if d[i].old is not NULL:
            _release_stored(d[i].old)
    PyMem_Free(d)


# --------------------------------------------------------------------------
# Nested comparisons.
#
# `a == b` on stores that contain stores recurses in C: each level holds two
# rx_iters and half a dozen C frames (~550 bytes, ~750 under ASan).  From 3.12
# Py_EnterRecursiveCall also bounds C recursion; on 3.11 it counts against
# sys.getrecursionlimit() only, and a program that raises that limit (to
# 20,000, where dict comparisons still work) runs out of C stack first.  So
# nesting is also bounded by a fixed depth per thread, deep enough for any
# real nesting and shallow enough for a 2 MB stack.

cdef enum:
    _MAX_COMPARE_DEPTH = 2000

cdef extern from *:
    """
    #if defined(_MSC_VER)
    #define MS_THREAD_LOCAL __declspec(thread)
    #elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L && !defined(__STDC_NO_THREADS__)
    #define MS_THREAD_LOCAL _Thread_local
    #else
    #define MS_THREAD_LOCAL __thread
    #endif

    /* Store comparisons under way in this thread, nested in one another. */
    static MS_THREAD_LOCAL int ms_compare_depth = 0;

    static int ms_enter_compare(int limit)
    {
        if (ms_compare_depth >= limit)
            return 0;
        ms_compare_depth++;
        return 1;
    }

    static void ms_leave_compare(void)
    {
        ms_compare_depth--;
    }
    """
    bint ms_enter_compare(int limit) noexcept
    void ms_leave_compare() noexcept


# --------------------------------------------------------------------------
# The store.

@cython.trashcan(True)  # a long chain of stores in stores frees without recursion
cdef class TrieStoreBase:
    """An ordered ``str``-keyed store kept in an adaptive radix tree.

    The C extension type behind :class:`memstore.TrieStore`; use that class
    (or ``InMemoryStore`` / ``InMemoryByteStore``) rather than this one.
    """

    cdef rx_tree *tree
    cdef rx_pool *pool         # tree's nodes (a load builds its tree here too)
    cdef rx_pool *queue_pool   # the queue's, made with the queue
    # None, or the class every value must be an instance of (bytes for
    # InMemoryByteStore); read from the subclass's ``_value_type``.  Being a
    # Python object attribute, it also makes Cython give the type GC support,
    # which the GC slots at the end of this file extend to the values.
    cdef object _value_type
    cdef object __weakref__
    # Expiry (see "Expiry" above).  queue is NULL until the first lifetime.
    cdef rx_tree *queue
    cdef double next_deadline  # no key in the queue expires earlier
    cdef bint queue_has_stale  # the queue may hold keys without a lifetime
    cdef unsigned char *qbuf   # scratch where queue keys are spelled
    cdef size_t qbuf_cap
    cdef double _ttl           # the default lifetime, when _has_ttl
    cdef bint _has_ttl
    cdef object _clock         # None: the wall clock, read in C
    # Persistence (_persist.pxi, memstore/persistence.py).
    cdef object _serializer    # None: pickle, for values that are not bytes
    cdef readonly object _journal  # None, or the journal every write is logged to
    cdef double _fixed_now     # what _now() returns while _has_fixed_now:
    cdef bint _has_fixed_now   # a logged write's clock reading, or a replayed one's

    def __cinit__(self, *args, **kwargs):
        value_type = getattr(type(self), "_value_type", None)
        if value_type is not None and not isinstance(value_type, type):
            raise TypeError(f"_value_type must be a class or None, not {_type_name(value_type)}")
        self._value_type = value_type
        self.next_deadline = INFINITY
        self.pool = rx_pool_new(&_ALLOCATOR)
        if self.pool is NULL:
            raise MemoryError("out of memory while creating a store")
        self.tree = rx_pool_tree_new(self.pool)
        if self.tree is NULL:
            raise MemoryError("out of memory while creating a store")

    def __init__(self, items=None, *, ttl=None, clock=None, serializer=None):
        """A new store, filled from ``items``: a mapping, or an iterable of
        ``(key, value)`` pairs (the last of duplicate keys wins).

        ``ttl``: the default lifetime in seconds of every write that gives
        none (``store[k] = v``, ``mset`` without ``ttl``, ``items`` here);
        None, the default, means keys never expire.  ``clock``: a
        zero-argument callable returning the time in seconds (default: the
        wall clock, as ``time.time``); a key expires once ``clock()``
        reaches its deadline.  ``serializer``: how :meth:`save` and a
        journal write values that are not ``bytes``, an object with
        ``dumps(value) -> bytes`` and ``loads(bytes)``; None means pickle.

        O(B·L) for B items of length L.

        >>> TrieStore({"b": 2, "a": 1})
        TrieStore({'a': 1, 'b': 2})
        >>> TrieStore(ttl=60).default_ttl
        60.0
        """
        if ttl is not None:
            self._ttl = _parse_ttl(ttl)
            self._has_ttl = True
        if clock is not None and not callable(clock):
            raise TypeError(f"clock must be a callable or None, not {_type_name(clock)}")
        self._clock = clock
        if serializer is not None and not (callable(getattr(serializer, "dumps", None))
                                           and callable(getattr(serializer, "loads", None))):
            raise TypeError(f"serializer must have dumps() and loads(), not {_type_name(serializer)}")
        self._serializer = serializer
        if items is None:
            return
        if isinstance(items, (dict, TrieStoreBase)):
            self.mset(items.items())
        elif hasattr(items, "keys"):  # any other mapping, as dict.update does
            self.mset([(k, items[k]) for k in items.keys()])
        else:
            self.mset(items)

    def __dealloc__(self):
        if self.queue is not NULL:
            rx_tree_free(self.queue, NULL, NULL)  # owns nothing
            self.queue = NULL
        rx_pool_free(self.queue_pool)
        self.queue_pool = NULL
        PyMem_Free(self.qbuf)
        self.qbuf = NULL
        if self.tree is not NULL:
            # Nothing can reach this store any more, so the values' releases
            # cannot touch it; the pointer stays valid until the core is done.
            rx_tree_free(self.tree, _release_value, NULL)
            self.tree = NULL
        # Last: iterators hold the store, so none is left to free a buffer.
        rx_pool_free(self.pool)
        self.pool = NULL

    # ------------------------------------------------------------- expiry

    @property
    def default_ttl(self):
        """The default lifetime in seconds given at construction, or None
        (keys never expire unless a write gives a ``ttl``).  O(1).

        >>> TrieStore(ttl=3600).default_ttl
        3600.0
        """
        return self._ttl if self._has_ttl else None

    cdef double _now(self) except? -1.0:
        """The time on the store's clock."""
        cdef double now
        if self._has_fixed_now:
            return self._fixed_now
        if self._clock is None:
            return _wall_clock()
        reading = self._clock()
        if PyBool_Check(reading) or not (PyFloat_Check(reading) or PyLong_Check(reading)
                                         or isinstance(reading, _Real)):
            raise TypeError(f"clock() must return a number of seconds, not "
                            f"{_type_name(reading)}")
        now = PyFloat_AsDouble(reading)
        if not isfinite(now):
            raise ValueError(f"clock() must return a finite number of seconds, not {reading!r}")
        return now

    cdef int _expire_due(self) except -1:
        """Purges the keys whose deadline has passed.  Every public method
        calls it first (``if self.queue is not NULL``, so a store that never
        had a lifetime reads no clock), so none of them sees an expired
        key."""
        return self._purge_if_due(self._now())

    cdef int _purge_if_due(self, double now) except -1:
        self._trim_qbuf()
        if now >= self.next_deadline:
            self._purge(now)
        return 0

    cdef int _purge(self, double now) except -1:
        """Removes every key whose deadline is <= now, then releases their
        values.  Nothing in between runs Python code, so every due key is
        out of both trees before the first release: a finalizer that uses
        the store sees no expired key and has nothing left to purge,
        however many keys expired at once.  Amortised O(L) per key removed
        (no look at a live key); O(L) when nothing is due."""
        cdef rx_iter it
        cdef int rc
        cdef double deadline = -INFINITY
        cdef double complete_below = INFINITY  # deadlines fully handled
        cdef bint failed = False
        cdef void *stored
        cdef void *out
        cdef rx_tree *queue = self.queue
        cdef void *local[64]
        cdef void **popped = local  # values to release, once all are out
        cdef void **grown
        cdef size_t n_popped = 0, cap = 64, i
        if queue is NULL:
            return 0
        rx_iter_init(&it, queue)
        try:
            # 1. The due queue keys in order (the queue is left as it is, so
            #    these are plain steps), each key taken out of the tree.
            rc = rx_iter_seek(&it, RX_SEEK_FIRST, NULL, 0)
            while True:
                if rc == RX_OK:
                    rc = rx_iter_next(&it)
                if rc < 0:
                    failed = True
                    complete_below = deadline  # its other keys: unknown
                    break
                if rc == 0:
                    break
                deadline = ms_decode_deadline(it.key)
                if deadline > now:
                    break
                if n_popped == cap:
                    grown = <void **>PyMem_Malloc(2 * cap * sizeof(void *))
                    if grown is NULL:
                        failed = True
                        complete_below = deadline
                        break
                    memcpy(grown, popped, n_popped * sizeof(void *))
                    if popped is not local:
                        PyMem_Free(popped)
                    popped = grown
                    cap *= 2
                out = NULL
                if not self.queue_has_stale:
                    rx_remove(self.tree, it.key + _DEADLINE_BYTES,
                              it.key_len - _DEADLINE_BYTES, &out)
                elif (rx_find(self.tree, it.key + _DEADLINE_BYTES,
                              it.key_len - _DEADLINE_BYTES, &stored)
                        and _has_lifetime(stored)
                        and ms_same_deadline(_entry_of(stored).deadline, deadline)):
                    # else the queue key is stale (see the header)
                    rx_remove(self.tree, it.key + _DEADLINE_BYTES,
                              it.key_len - _DEADLINE_BYTES, &out)
                if out is not NULL:
                    popped[n_popped] = out
                    n_popped += 1
                rc = RX_OK
            # 2. Out of the queue, one deadline at a time: all the keys of a
            #    due deadline were handled above, and a batch shares one
            #    deadline, so this is one prefix removal per batch.
            while True:
                if rx_iter_seek(&it, RX_SEEK_FIRST, NULL, 0) != RX_OK:
                    failed = True
                    break
                rc = rx_iter_next(&it)
                if rc != 1:
                    failed = failed or rc < 0
                    break
                deadline = ms_decode_deadline(it.key)
                if deadline > now or deadline >= complete_below:
                    break
                rx_remove_prefix(queue, it.key, _DEADLINE_BYTES, NULL, NULL)
            # No code ran: `deadline` is the earliest left.  After a
            # failure, the keys handled in step 1 but still in the queue
            # are stale, and the next call looks again.
            if failed:
                self.queue_has_stale = True
                self.next_deadline = -INFINITY
            elif rc == 1:
                self.next_deadline = deadline
            else:
                self.next_deadline = INFINITY
                self.queue_has_stale = False  # the queue is empty
        finally:
            rx_iter_release(&it)
            for i in range(n_popped):
                _release_stored(popped[i])
            if popped is not local:
                PyMem_Free(popped)
        if failed:
            raise MemoryError("out of memory while removing expired keys")
        return 0

    cdef unsigned char *_queue_key(self, double deadline, const unsigned char *key,
                                   size_t size) noexcept:
        """The queue key of (deadline, key), spelled in qbuf; NULL when qbuf
        cannot grow.  Valid until the next call that uses qbuf."""
        cdef unsigned char *grown
        if size + _DEADLINE_BYTES > self.qbuf_cap:
            grown = <unsigned char *>PyMem_Realloc(self.qbuf, size + _DEADLINE_BYTES)
            if grown is NULL:
                return NULL
            self.qbuf = grown
            self.qbuf_cap = size + _DEADLINE_BYTES
        ms_encode_deadline(deadline, self.qbuf)
        memcpy(self.qbuf + _DEADLINE_BYTES, key, size)
        return self.qbuf

    cdef void _trim_qbuf(self) noexcept:
        # A long key with a lifetime must not pin its size in scratch.
        if self.qbuf_cap > _QBUF_KEEP:
            PyMem_Free(self.qbuf)
            self.qbuf = NULL
            self.qbuf_cap = 0

    cdef int _ensure_queue(self) except -1:
        # The queue has a pool of its own: one that it shared with the tree
        # would give nothing back while either held a key.
        if self.queue_pool is NULL:
            self.queue_pool = rx_pool_new(&_ALLOCATOR)
            if self.queue_pool is NULL:
                raise MemoryError("out of memory while creating the expiry queue")
        if self.queue is NULL:
            self.queue = rx_pool_tree_new(self.queue_pool)
            if self.queue is NULL:
                raise MemoryError("out of memory while creating the expiry queue")
        return 0

    cdef int _queue_add(self, double deadline, const unsigned char *key,
                        size_t size) noexcept:
        """Puts (deadline, key) in the queue (which must exist): 1 when added,
        0 when it was there, or RX_ENOMEM / RX_ETOOBIG with nothing
        changed."""
        cdef unsigned char *qkey
        cdef void *old
        cdef int rc
        if size > RX_MAX_KEY_LEN - _DEADLINE_BYTES:
            return RX_ETOOBIG
        qkey = self._queue_key(deadline, key, size)
        if qkey is NULL:
            return RX_ENOMEM
        rc = rx_insert(self.queue, qkey, size + _DEADLINE_BYTES, NULL, &old)
        if rc >= 0 and deadline < self.next_deadline:
            self.next_deadline = deadline
        return rc

    cdef void _queue_drop(self, double deadline, const unsigned char *key,
                          size_t size) noexcept:
        """Takes (deadline, key) out of the queue.  Never fails: if the key
        cannot be spelled for lack of memory it stays, stale, until the
        purge drops it at its deadline."""
        cdef unsigned char *qkey
        cdef void *old
        if self.queue is NULL:
            return
        qkey = self._queue_key(deadline, key, size)
        if qkey is NULL:
            self.queue_has_stale = True
        else:
            rx_remove(self.queue, qkey, size + _DEADLINE_BYTES, &old)

    cdef void _forget_lifetime(self, void *old, const unsigned char *key, size_t size,
                               bint expiring, double deadline) noexcept:
        """Takes the queue key of `old` (what a write replaced under key) out
        of the queue, unless the new value shares it (same deadline)."""
        cdef double old_deadline
        if _has_lifetime(old):
            old_deadline = _entry_of(old).deadline
            if not (expiring and ms_same_deadline(old_deadline, deadline)):
                self._queue_drop(old_deadline, key, size)

    cdef int _put(self, const unsigned char *key, size_t size, object value,
                  bint expiring, double deadline) except -1:
        """Stores value under key, with the deadline when expiring, and
        releases what it replaced once the trees are consistent.  Nothing
        changes when it raises.  O(L)."""
        cdef _Entry *entry = NULL
        cdef void *stored = <void *>value
        cdef void *old
        cdef int rc, queued = 0
        if expiring:
            self._ensure_queue()
            entry = <_Entry *>PyMem_Malloc(sizeof(_Entry))
            if entry is NULL:
                raise MemoryError("out of memory while inserting into the store")
            entry.value = <PyObject *>value
            entry.deadline = deadline
            queued = self._queue_add(deadline, key, size)
            if queued < 0:
                PyMem_Free(entry)
                _raise_insert_error(queued)
            stored = _tagged(entry)
        rc = rx_insert(self.tree, key, size, stored, &old)
        if rc < 0:
            if queued == 1:
                self._queue_drop(deadline, key, size)
            PyMem_Free(entry)
            _raise_insert_error(rc)
        Py_INCREF(<PyObject *>value)
        if rc == 0:
            self._forget_lifetime(old, key, size, expiring, deadline)
            _release_stored(old)  # both trees already consistent
        return 0

    cdef int _write_deadline(self, bint *expiring, double *deadline, object ttl,
                             double now, bint have_now) except -1:
        """Resolves a write's ttl argument (_LEFT_OUT: the store's default)
        into *expiring and *deadline, reading the clock if it was not read
        yet.  Raises for a bad ttl before anything is written."""
        cdef double seconds
        if ttl is _LEFT_OUT:
            expiring[0] = self._has_ttl
            seconds = self._ttl
        elif ttl is None:
            expiring[0] = False
        else:
            seconds = _parse_ttl(ttl)
            expiring[0] = True
        if expiring[0]:
            if not have_now:
                now = self._now()
            deadline[0] = now + seconds
        return 0

    cdef int _drop_lifetimes_under(self, const unsigned char *prefix, size_t size) except -1:
        """Before delete_prefix: takes the queue keys of the keys with a
        lifetime under prefix out of the queue.  O(M) for M keys.  Running
        out of memory midway only leaves stale queue keys."""
        cdef rx_iter it
        cdef int rc
        rx_iter_init(&it, self.tree)
        try:
            if size and rx_iter_set_prefix(&it, prefix, size) != RX_OK:
                self.queue_has_stale = True
                return 0
            rc = rx_iter_seek(&it, RX_SEEK_FIRST, NULL, 0)
            while rc == RX_OK:
                rc = rx_iter_next(&it)
                if rc != 1:
                    break
                if _has_lifetime(it.value):
                    self._queue_drop(_entry_of(it.value).deadline, it.key, it.key_len)
                rc = RX_OK
            if rc < 0:
                self.queue_has_stale = True
        finally:
            rx_iter_release(&it)
        return 0

    def expire(self, key, ttl):
        """Gives ``key`` a lifetime of ``ttl`` seconds from now, replacing
        any it had.  Returns False (and does nothing) when the key is absent
        or expired.  O(L).

        >>> s = TrieStore({"a": 1})
        >>> s.expire("a", 60), s.expire("missing", 60)
        (True, False)
        """
        if self._journal is not None:
            return self._logged(_OP_EXPIRE, key, ttl)
        return self._expire(key, ttl)

    cdef object _expire(self, key, ttl):
        cdef const unsigned char *data
        cdef size_t size
        cdef void *stored
        cdef void *old
        cdef double seconds, now, deadline, old_deadline
        cdef _Entry *entry
        cdef int queued
        _check_key(key)
        seconds = _parse_ttl(ttl)
        now = self._now()
        if self.queue is not NULL:
            self._purge_if_due(now)
        owner = _key_bytes(<PyObject *>key, &data, &size)
        if not rx_find(self.tree, data, size, &stored):
            return False
        deadline = now + seconds
        self._ensure_queue()
        if _has_lifetime(stored):
            entry = _entry_of(stored)
            old_deadline = entry.deadline
            queued = self._queue_add(deadline, data, size)
            if queued < 0:
                _raise_insert_error(queued)
            entry.deadline = deadline
            if not ms_same_deadline(old_deadline, deadline):
                self._queue_drop(old_deadline, data, size)
            return True
        entry = <_Entry *>PyMem_Malloc(sizeof(_Entry))
        if entry is NULL:
            raise MemoryError("out of memory while setting a lifetime")
        queued = self._queue_add(deadline, data, size)
        if queued < 0:
            PyMem_Free(entry)
            _raise_insert_error(queued)
        entry.value = <PyObject *>stored
        entry.deadline = deadline
        # Replaces the value of a stored key: allocates nothing, cannot fail.
        rx_insert(self.tree, data, size, _tagged(entry), &old)
        return True

    def ttl(self, key):
        """Seconds ``key`` has left to live, or None when it never expires;
        ``KeyError`` when it is absent or expired.  O(L).

        >>> s = TrieStore({"a": 1})
        >>> s.ttl("a") is None
        True
        >>> s.expire("a", 60)
        True
        >>> 59 < s.ttl("a") <= 60
        True
        """
        cdef const unsigned char *data
        cdef size_t size
        cdef void *stored
        cdef double now = 0
        _check_key(key)
        if self.queue is not NULL:
            now = self._now()
            self._purge_if_due(now)
        owner = _key_bytes(<PyObject *>key, &data, &size)
        if not rx_find(self.tree, data, size, &stored):
            raise KeyError(key)
        if not _has_lifetime(stored):
            return None
        return _entry_of(stored).deadline - now

    def persist(self, key):
        """Removes ``key``'s lifetime, so it never expires.  Returns True
        when it had one, False when it had none or is absent.  O(L).

        >>> s = TrieStore({"a": 1}, ttl=60)
        >>> s.persist("a"), s.persist("a"), s.ttl("a")
        (True, False, None)
        """
        if self._journal is not None:
            return self._logged(_OP_PERSIST, key, None)
        return self._persist(key)

    cdef object _persist(self, key):
        cdef const unsigned char *data
        cdef size_t size
        cdef void *stored
        cdef void *old
        cdef _Entry *entry
        _check_key(key)
        if self.queue is NULL:
            return False
        self._purge_if_due(self._now())
        owner = _key_bytes(<PyObject *>key, &data, &size)
        if not rx_find(self.tree, data, size, &stored) or not _has_lifetime(stored):
            return False
        entry = _entry_of(stored)
        self._queue_drop(entry.deadline, data, size)
        # The value's reference moves from the entry to the tree; replacing
        # the value of a stored key allocates nothing and cannot fail.
        rx_insert(self.tree, data, size, <void *>entry.value, &old)
        PyMem_Free(entry)
        return True

    @classmethod
    def __class_getitem__(cls, item):
        """``TrieStore[V]`` at runtime: a generic alias that builds a plain
        store when called."""
        return _GenericAlias(cls, item)

    # ------------------------------------------------------------ batches

    def mget(self, keys):
        """Values for ``keys``, ``None`` for a missing key.

        ``keys`` is any iterable of ``str``.  O(B·L) for B keys of length L.

        >>> s = TrieStore({"a": 1})
        >>> s.mget(["a", "missing"])
        [1, None]
        """
        cdef Py_ssize_t j, n, start, lanes
        cdef PyObject **items
        cdef PyObject *value
        # _FIND_LANES keys at a time, so the core can overlap
        # their cache misses (rx_find_many) without any heap allocation.
        cdef const unsigned char *datas[_FIND_LANES]
        cdef size_t sizes[_FIND_LANES]
        cdef void *found[_FIND_LANES]
        cdef PyObject *owners[_FIND_LANES]  # temporary UTF-8 bytes, or NULL
        _refuse_text_batch(keys, "mget")
        if self.queue is not NULL:
            self._expire_due()
        seq = PySequence_Fast(keys, "mget() argument must be an iterable of str")
        n = PySequence_Fast_GET_SIZE(seq)
        result = PyList_New(n)
        # Allocating the list may run a garbage collection, whose finalizers
        # could resize `keys` when it is a list: read its items only now.
        if PySequence_Fast_GET_SIZE(seq) != n:
            raise RuntimeError("mget() argument changed size")
        items = PySequence_Fast_ITEMS(seq)
        _check_keys(items, n)
        for start in range(0, n, _FIND_LANES):
            lanes = min(n - start, _FIND_LANES)
            for j in range(lanes):
                owners[j] = NULL
            try:
                for j in range(lanes):
                    owner = _key_bytes(items[start + j], &datas[j], &sizes[j])
                    if owner is not None:
                        owners[j] = <PyObject *>owner
                        Py_INCREF(owners[j])
                rx_find_many(self.tree, <size_t>lanes, datas, sizes, found, <void *>None)
                for j in range(lanes):
                    value = _value_of(found[j])
                    Py_INCREF(value)
                    PyList_SET_ITEM(result, start + j, value)
            finally:
                for j in range(lanes):
                    Py_XDECREF(owners[j])
        return result

    def mset(self, key_value_pairs, *, ttl=_LEFT_OUT):
        """Stores every ``(key, value)`` pair; the last of duplicate keys wins.

        ``ttl``: the pairs' lifetime in seconds from now; left out, the
        store's ``default_ttl``; ``None``, no lifetime.  A key written
        without a lifetime loses the one it had.  A ``ttl`` that is not a
        positive finite number raises ``ValueError`` (``TypeError`` when not
        a number) and writes nothing.

        All or nothing: each item must be a 2-tuple or 2-list with a ``str``
        key, and a bad item anywhere writes nothing (what was written before
        it is undone, lifetimes included, before the error is raised);
        running out of memory midway undoes the writes already made too.
        Values replaced are released after the whole batch is written.
        O(B·L) for B pairs with keys of length L.

        >>> s = TrieStore()
        >>> s.mset([("a", 1), ("b", 2), ("a", 3)])
        >>> s.mget(["a", "b"])
        [3, 2]
        >>> s.mset([("session", "x")], ttl=30)
        >>> 0 < s.ttl("session") <= 30
        True
        """
        if self._journal is not None:
            return self._logged(_OP_MSET, key_value_pairs, ttl)
        return self._mset(key_value_pairs, ttl)

    cdef object _mset(self, key_value_pairs, ttl):
        cdef Py_ssize_t start, end, bad, n, i
        cdef PyObject **items
        cdef _Write *w
        cdef bint encoding_failed
        _refuse_text_batch(key_value_pairs, "mset", True)
        cdef bint expiring = False
        cdef bint have_now = False
        cdef double now = 0, deadline = 0
        # The clock (maybe Python code) is read before the batch is looked
        # at: from validation to the last write no Python code runs.
        if self.queue is not NULL:
            now = self._now()
            have_now = True
            self._purge_if_due(now)
        if ttl is _LEFT_OUT:
            if self._has_ttl:
                self._write_deadline(&expiring, &deadline, ttl, now, have_now)
        elif ttl is not None:
            self._write_deadline(&expiring, &deadline, ttl, now, have_now)
        seq = PySequence_Fast(key_value_pairs,
                              "mset() argument must be an iterable of (key, value) pairs")
        n = PySequence_Fast_GET_SIZE(seq)
        if n == 0:
            return
        if expiring:
            self._ensure_queue()
        items = PySequence_Fast_ITEMS(seq)
        w = <_Write *>PyMem_Calloc(<size_t>n, sizeof(_Write))
        if w is NULL:
            raise MemoryError("out of memory while preparing a batch")
        # Chunk by chunk: check and encode the chunk, then insert it.  A bad
        # pair in a later chunk undoes the earlier ones before the error is
        # raised (so before any Python code can run and see them), which
        # keeps the batch all or nothing.  Until then no Python code runs at
        # all: the checks run none, and encoding and the tree's allocator
        # allocate nothing the garbage collector tracks.  So `items` stays
        # valid, and the keys read in place stay alive, without references.
        try:
            for start in range(0, n, _WRITE_CHUNK):
                end = min(start + _WRITE_CHUNK, n)
                bad = self._prepare_writes(items, w, start, end)
                if bad >= 0:
                    encoding_failed = PyErr_Occurred() is not NULL
                    self._undo_or_raise(w, start)
                    if encoding_failed:
                        _raise_pending()
                    # The same checks again, now raising for pair `bad`.
                    self._check_pairs(&items[bad], 1, bad)
                    _check_key_length(w[bad].size, bad)
                    raise SystemError(f"mset: pair {bad} failed a check, then passed it")
                self._apply_writes(w, start, end, expiring, deadline)
            if self.queue is not NULL:
                # Done: the lifetimes replaced leave the queue (undoing
                # needed them there; removing cannot fail).
                for i in range(n):
                    if w[i].old is not NULL:
                        self._forget_lifetime(w[i].old, w[i].data, w[i].size,
                                              expiring, deadline)
        finally:
            _free_writes(w, n)

    cdef Py_ssize_t _prepare_writes(self, PyObject **items, _Write *w,
                                    Py_ssize_t start, Py_ssize_t end) noexcept:
        """Checks pairs items[start:end] and fills w[start:end] for them
        (the key's bytes and a reference to the value).  Returns -1, or the
        index of the first pair that is bad or whose key could not be
        encoded; an encoding failure leaves its MemoryError set.  Runs no
        Python code."""
        cdef Py_ssize_t i
        cdef PyObject *key
        cdef PyObject *value
        cdef PyObject *encoded
        cdef PyObject *value_type = <PyObject *>self._value_type
        for i in range(start, end):
            if not _pair_ok(items[i], value_type, &key, &value):
                return i
            if MS_UNICODE_READY_raw(key) < 0:
                return i
            if PyUnicode_IS_ASCII(key):
                w[i].data = <const unsigned char *>PyUnicode_DATA(key)
                w[i].size = <size_t>PyUnicode_GET_LENGTH(key)
            else:
                encoded = PyUnicode_AsEncodedString_raw(key, "utf-8", "surrogatepass")
                if encoded is NULL:
                    return i
                w[i].owner = encoded
                w[i].data = <const unsigned char *>PyBytes_AS_STRING(encoded)
                w[i].size = <size_t>PyBytes_GET_SIZE(encoded)
            if w[i].size > RX_MAX_KEY_LEN:
                return i
            w[i].value = value
            Py_INCREF(value)
        return -1

    cdef int _check_pairs(self, PyObject **items, Py_ssize_t n,
                          Py_ssize_t first_index=0) except -1:
        """Type checks of mset items (items[0] is the batch's item number
        first_index); allocates nothing and runs no Python code unless it
        raises."""
        cdef Py_ssize_t i
        cdef PyObject *key
        cdef PyObject *value
        cdef PyObject *value_type = <PyObject *>self._value_type
        for i in range(n):
            _pair_parts(items[i], first_index + i, &key, &value)
            if not PyUnicode_Check(key):
                raise TypeError(f"key at index {first_index + i} must be str, "
                                f"not {_type_name(<object>key)}")
            if value_type != <PyObject *>None and not PyObject_TypeCheck(value, <PyTypeObject *>value_type):
                raise TypeError(f"value at index {first_index + i} must be "
                                f"{self._value_type.__name__}, not {_type_name(<object>value)}")
        return 0

    cdef int _apply_writes(self, _Write *w, Py_ssize_t start, Py_ssize_t end,
                           bint expiring, double deadline) except -1:
        """Inserts w[start:end], w[0:start] being in already, each with the
        deadline when expiring; on failure undoes all of them and raises.
        Lifetimes replaced stay in the queue until the batch is done."""
        cdef Py_ssize_t i
        cdef void *old
        cdef void *stored
        cdef int rc
        for i in range(start, end):
            stored = <void *>w[i].value
            if expiring:
                w[i].entry = <_Entry *>PyMem_Malloc(sizeof(_Entry))
                if w[i].entry is NULL:
                    self._undo_or_raise(w, i)
                    raise MemoryError("out of memory while inserting into the store")
                w[i].entry.value = w[i].value
                w[i].entry.deadline = deadline
                rc = self._queue_add(deadline, w[i].data, w[i].size)
                if rc < 0:
                    self._undo_or_raise(w, i)
                    _raise_insert_error(rc)
                w[i].queued = rc == 1
                stored = _tagged(w[i].entry)
            rc = rx_insert(self.tree, w[i].data, w[i].size, stored, &old)
            if rc < 0:
                if w[i].queued:
                    self._queue_drop(deadline, w[i].data, w[i].size)
                    w[i].queued = False
                self._undo_or_raise(w, i)
                _raise_insert_error(rc)
            w[i].in_tree = True
            if rc == 0:
                w[i].old = old
        return 0

    cdef int _undo_or_raise(self, _Write *w, Py_ssize_t applied) except -1:
        """Undoes w[0:applied]; raises MemoryError if that could not be
        done completely (see _undo_writes)."""
        if not self._undo_writes(w, applied):
            raise MemoryError(
                "out of memory while inserting a batch, and again while "
                "undoing it: some of its keys keep their new values")
        return 0

    cdef bint _undo_writes(self, _Write *w, Py_ssize_t applied) noexcept:
        """Undoes w[0:applied], newest first so that duplicate keys unwind
        in order: a new key is removed, a replaced value put back.  Whatever
        comes out of the tree is owned by the batch again (in `value`) and
        released with it.  Returns False if putting a value back failed for
        lack of memory; that key then keeps its current value, and the
        references stay consistent either way."""
        cdef Py_ssize_t j
        cdef void *out
        cdef int rc
        cdef bint complete = True
        for j in range(applied - 1, -1, -1):
            # What comes out is w[j]'s own value (or entry): every later
            # write of the same key has been undone already.
            if w[j].old is NULL:
                if rx_remove(self.tree, w[j].data, w[j].size, &out):  # never fails
                    w[j].in_tree = False
            else:
                rc = rx_insert(self.tree, w[j].data, w[j].size, w[j].old, &out)
                if rc < 0:
                    complete = False
                else:
                    w[j].old = NULL  # back in the tree, its queue key never left
                    if rc == 0:
                        w[j].in_tree = False
            if w[j].queued and not w[j].in_tree:
                # qbuf already holds a key this long: removing cannot fail
                self._queue_drop(w[j].entry.deadline, w[j].data, w[j].size)
                w[j].queued = False
        return complete

    def mdelete(self, keys):
        """Removes ``keys``; missing keys are ignored.

        All or nothing on bad input: every key is checked before any is
        removed.  Removed values are released after the last removal.
        O(B·L) for B keys of length L.

        >>> s = TrieStore({"a": 1, "b": 2})
        >>> s.mdelete(["a", "missing"])
        >>> list(s)
        ['b']
        """
        if self._journal is not None:
            return self._logged(_OP_MDELETE, keys, None)
        return self._mdelete(keys)

    cdef object _mdelete(self, keys):
        cdef Py_ssize_t i, n
        cdef PyObject **items
        cdef const unsigned char *data
        cdef size_t size
        cdef void *old
        cdef _Delete *d
        _refuse_text_batch(keys, "mdelete")
        if self.queue is not NULL:
            self._expire_due()
        seq = PySequence_Fast(keys, "mdelete() argument must be an iterable of str")
        n = PySequence_Fast_GET_SIZE(seq)
        if n == 0:
            return
        items = PySequence_Fast_ITEMS(seq)
        _check_keys(items, n)
        d = <_Delete *>PyMem_Calloc(<size_t>n, sizeof(_Delete))
        if d is NULL:
            raise MemoryError("out of memory while preparing a batch")
        try:
            for i in range(n):
                owner = _key_owner(items[i])
                d[i].owner = <PyObject *>owner
                Py_INCREF(d[i].owner)
            for i in range(n):
                _owner_bytes(d[i].owner, &data, &size)
                if rx_remove(self.tree, data, size, &old):
                    d[i].old = old
                    if _has_lifetime(old):
                        self._queue_drop(_entry_of(old).deadline, data, size)
        finally:
            _free_deletes(d, n)

    # The async twins work in chunks and let other tasks run in between, so
    # they validate a private snapshot of the batch and then process that
    # snapshot: a caller or another task changing the batch meanwhile cannot
    # turn it into a partial write.

    def _validate_pairs(self, key_value_pairs, str method="amset"):
        """Checks a whole mset batch without writing anything and returns a
        snapshot of it: a new list of (key, value) tuples.  ``method`` is
        the name errors give.  O(B)."""
        cdef Py_ssize_t i, n
        cdef PyObject *item
        cdef PyObject *key
        cdef PyObject *value
        _refuse_text_batch(key_value_pairs, method, True)
        seq = PySequence_Fast(key_value_pairs,
                              "mset() argument must be an iterable of (key, value) pairs")
        snapshot = PySequence_Tuple(seq)  # the outer sequence, frozen
        n = PySequence_Fast_GET_SIZE(snapshot)
        self._check_pairs(PySequence_Fast_ITEMS(snapshot), n)
        pairs = PyList_New(n)
        for i in range(n):
            # A 2-list could have changed since the check (allocating may
            # run finalizers): check this pair again as it is copied.
            item = PySequence_Fast_ITEMS(snapshot)[i]
            self._check_pairs(&item, 1, i)
            if PyTuple_CheckExact(item):
                Py_INCREF(item)
                PyList_SET_ITEM(pairs, i, item)
            else:
                _pair_parts(item, i, &key, &value)
                pair = (<object>key, <object>value)
                Py_INCREF(<PyObject *>pair)
                PyList_SET_ITEM(pairs, i, <PyObject *>pair)
        return pairs

    def _validate_keys(self, keys, str method="amget"):
        """Checks that every key is a str and returns a snapshot of the keys
        (a tuple).  ``method`` is the name errors give.  O(B)."""
        _refuse_text_batch(keys, method)
        seq = PySequence_Fast(keys, "argument must be an iterable of str")
        snapshot = PySequence_Tuple(seq)
        _check_keys(PySequence_Fast_ITEMS(snapshot), PySequence_Fast_GET_SIZE(snapshot))
        return snapshot

    # ------------------------------------------------------------ listing

    def yield_keys(self, *, prefix=None, start_after=None, limit=None, bint reverse=False,
                   start=None, stop=None, delimiter=None):
        """Iterator over the keys starting with ``prefix``, in code-point
        order (``reverse=True``: descending).

        ``start`` (inclusive) and ``stop`` (exclusive) bound the keys too,
        in the same order; ``start >= stop`` lists nothing.  ``start_after``
        resumes a listing after that key (before it when reversed; it need
        not be stored); ``limit`` caps how many keys are returned.  The
        iterator stays valid while the store changes: it carries on after
        the last key it returned.  O(L + M) for a prefix or bound of length
        L and M keys listed: the listing starts from a seek, never a scan.

        >>> s = TrieStore([("a:1", 1), ("a:2", 2), ("a:3", 3), ("b:1", 4)])
        >>> list(s.yield_keys(prefix="a:", start_after="a:1", limit=1))
        ['a:2']
        >>> list(s.yield_keys(start="a:2", stop="b"))
        ['a:2', 'a:3']

        ``delimiter`` lists like a directory (Amazon S3's ListObjects): a
        key whose rest after ``prefix`` contains the delimiter is rolled up
        into its group, ``prefix`` + that rest up to and including the
        first delimiter, listed once at its place in key order.  ``limit``
        counts entries (a group is one), and ``start_after`` is compared
        with entries, so resuming after a group skips all of it.  O(E·L)
        for E entries listed, however many keys a group holds.

        >>> s = TrieStore(dict.fromkeys(["docs/a.md", "docs/img/1.png", "readme"], 0))
        >>> list(s.yield_keys(delimiter="/"))
        ['docs/', 'readme']
        >>> list(s.yield_keys(prefix="docs/", delimiter="/"))
        ['docs/a.md', 'docs/img/']
        """
        return _open(self, _KEYS, prefix, start_after, limit, reverse, start, stop, delimiter)

    def __iter__(self):
        """Iterator over all keys in code-point order.  O(N) in total."""
        return _open(self, _KEYS, None, None, None, False)

    def keys(self, prefix=None, *, start_after=None, limit=None, bint reverse=False,
             start=None, stop=None, delimiter=None):
        """Iterator over keys; same options as :meth:`yield_keys`.

        O(L + M) for a prefix of length L and M keys listed (O(E·L) for E
        entries with a delimiter).

        >>> list(TrieStore({"b": 1, "a": 2}).keys())
        ['a', 'b']
        >>> s = TrieStore(dict.fromkeys(["a/1", "a/2", "b"], 0))
        >>> list(s.keys(delimiter="/", reverse=True))
        ['b', 'a/']
        """
        return _open(self, _KEYS, prefix, start_after, limit, reverse, start, stop, delimiter)

    def values(self, prefix=None, *, start_after=None, limit=None, bint reverse=False,
               start=None, stop=None):
        """Iterator over values in key order; same options as
        :meth:`yield_keys` but ``delimiter``.  O(L + M).

        >>> list(TrieStore({"b": 1, "a": 2}).values())
        [2, 1]
        >>> list(TrieStore({"a": 1, "b": 2, "c": 3}).values(start="b"))
        [2, 3]
        """
        return _open(self, _VALUES, prefix, start_after, limit, reverse, start, stop)

    def items(self, prefix=None, *, start_after=None, limit=None, bint reverse=False,
              start=None, stop=None):
        """Iterator over ``(key, value)`` pairs in key order; same options
        as :meth:`yield_keys` but ``delimiter``.  O(L + M).

        >>> list(TrieStore({"b": 1, "a": 2}).items(reverse=True))
        [('b', 1), ('a', 2)]
        >>> list(TrieStore({"a": 1, "b": 2, "c": 3}).items(stop="b"))
        [('a', 1)]
        """
        return _open(self, _ITEMS, prefix, start_after, limit, reverse, start, stop)

    # -------------------------------------------------------- single keys

    def __len__(self):
        """Number of keys (expired ones are purged first).  O(1), plus the
        purge of the keys that expired since the last call."""
        if self.queue is not NULL:
            self._expire_due()
        return rx_size(self.tree)

    def __contains__(self, key):
        """``key in store``; ``False`` for a key that is not a ``str``.  O(L)."""
        cdef const unsigned char *data
        cdef size_t size
        cdef void *value
        if self.queue is not NULL:
            self._expire_due()
        if not PyUnicode_Check(<PyObject *>key):
            return False
        owner = _key_bytes(<PyObject *>key, &data, &size)
        return rx_find(self.tree, data, size, &value) == 1

    cdef PyObject *_find(self, object key) except? NULL:
        """The stored value (borrowed) or NULL when key is missing; raises
        TypeError for a non-str key.  Values are never NULL."""
        cdef const unsigned char *data
        cdef size_t size
        cdef void *value
        if self.queue is not NULL:
            self._expire_due()
        _check_key(key)
        owner = _key_bytes(<PyObject *>key, &data, &size)
        if not rx_find(self.tree, data, size, &value):
            return NULL
        return _value_of(value)

    def __getitem__(self, key):
        """``store[key]``; ``KeyError`` when missing.  O(L)."""
        cdef PyObject *value = self._find(key)
        if value is NULL:
            raise KeyError(key)
        return <object>value

    def get(self, key, default=None):
        """The value for ``key``, or ``default`` when missing.  O(L).

        >>> TrieStore({"a": 1}).get("b", 0)
        0
        """
        cdef PyObject *value = self._find(key)
        if value is NULL:
            return default
        return <object>value

    def __setitem__(self, key, value):
        """``store[key] = value``, with the store's ``default_ttl`` (a key
        written without a lifetime loses the one it had).  O(L)."""
        if self._journal is not None:
            self._logged(_OP_SET, key, value)
        else:
            self._setitem(key, value)

    cdef object _setitem(self, key, value):
        cdef const unsigned char *data
        cdef size_t size
        cdef void *old
        cdef int rc
        cdef double now
        if self.queue is not NULL or self._has_ttl:
            now = self._now()
            self._purge_if_due(now)
            _check_key(key)
            self._check_value(value)
            owner = _key_bytes(<PyObject *>key, &data, &size)
            _check_key_length(size, -1)
            self._put(data, size, value, self._has_ttl, now + self._ttl)
            return
        _check_key(key)
        self._check_value(value)
        owner = _key_bytes(<PyObject *>key, &data, &size)
        _check_key_length(size, -1)
        Py_INCREF(<PyObject *>value)
        rc = rx_insert(self.tree, data, size, <void *>value, &old)
        if rc < 0:
            Py_DECREF(<PyObject *>value)
            _raise_insert_error(rc)
        if rc == 0:
            Py_DECREF(<PyObject *>old)  # tree already consistent; no queue: untagged

    def __delitem__(self, key):
        """``del store[key]``; ``KeyError`` when missing.  O(L)."""
        if self._journal is not None:
            self._logged(_OP_DELITEM, key, None)
        else:
            self._delitem(key)

    cdef object _delitem(self, key):
        cdef const unsigned char *data
        cdef size_t size
        cdef void *old
        if self.queue is not NULL:
            self._expire_due()
        _check_key(key)
        owner = _key_bytes(<PyObject *>key, &data, &size)
        if not rx_remove(self.tree, data, size, &old):
            raise KeyError(key)
        if _has_lifetime(old):
            self._queue_drop(_entry_of(old).deadline, data, size)
        _release_stored(old)

    cdef int _check_value(self, object value) except -1:
        if self._value_type is not None and not PyObject_TypeCheck(
                <PyObject *>value, <PyTypeObject *>self._value_type):
            raise TypeError(f"value must be {self._value_type.__name__}, not {_type_name(value)}")
        return 0

    # ------------------------------------------------------------ prefixes

    def count(self, prefix=""):
        """Number of keys starting with ``prefix`` (all keys for ``""``).

        O(L) for a prefix of length L, however many keys match.

        >>> TrieStore({"a:1": 0, "a:2": 0, "b": 0}).count("a:")
        2
        """
        cdef const unsigned char *data
        cdef size_t size
        if self.queue is not NULL:
            self._expire_due()
        if prefix is None:
            return rx_size(self.tree)
        if not PyUnicode_Check(<PyObject *>prefix):
            raise TypeError(f"prefix must be str, not {_type_name(prefix)}")
        owner = _key_bytes(<PyObject *>prefix, &data, &size)
        return rx_count_prefix(self.tree, data, size)

    def delete_prefix(self, prefix):
        """Removes every key starting with ``prefix``; returns how many.

        The removed values are released after the tree is consistent again.
        O(L + M) for a prefix of length L and M keys removed.

        >>> s = TrieStore({"a:1": 0, "a:2": 0, "b": 0})
        >>> s.delete_prefix("a:")
        2
        """
        if self._journal is not None:
            return self._logged(_OP_DELETE_PREFIX, prefix, None)
        return self._delete_prefix(prefix)

    cdef object _delete_prefix(self, prefix):
        cdef const unsigned char *data
        cdef size_t size
        if self.queue is not NULL:
            self._expire_due()
        if not PyUnicode_Check(<PyObject *>prefix):
            raise TypeError(f"prefix must be str, not {_type_name(prefix)}")
        owner = _key_bytes(<PyObject *>prefix, &data, &size)
        if self.queue is not NULL and rx_size(self.queue) != 0:
            self._drop_lifetimes_under(data, size)
        return rx_remove_prefix(self.tree, data, size, _release_value, NULL)

    def longest_prefix(self, key):
        """``(stored_key, value)`` for the longest stored key that ``key``
        starts with (``key`` itself included), or ``None``.  O(L).

        >>> TrieStore({"a": 1, "ab": 2}).longest_prefix("abc")
        ('ab', 2)
        """
        cdef const unsigned char *data
        cdef size_t size, match_len
        cdef void *value
        if self.queue is not NULL:
            self._expire_due()
        if not PyUnicode_Check(<PyObject *>key):
            raise TypeError(f"key must be str, not {_type_name(key)}")
        owner = _key_bytes(<PyObject *>key, &data, &size)
        if not rx_longest_prefix(self.tree, data, size, &match_len, &value):
            return None
        found = <object>_value_of(value)  # referenced before anything can run
        if match_len == size and PyUnicode_CheckExact(<PyObject *>key):
            return (key, found)
        return (_decode(data, match_len), found)

    # ------------------------------------------------------- whole store

    def clear(self):
        """Removes every key.  O(N).

        The values are released after the tree is empty, so code they run
        when released may use the store.

        >>> s = TrieStore({"a": 1})
        >>> s.clear()
        >>> len(s)
        0
        """
        if self._journal is not None:
            return self._logged(_OP_CLEAR, None, None)
        return self._clear()

    cdef object _clear(self):
        if self.queue is not NULL:
            rx_clear(self.queue, NULL, NULL)  # owns nothing: releases nothing
            self.next_deadline = INFINITY
            self.queue_has_stale = False
        rx_clear(self.tree, _release_value, NULL)

    def copy(self):
        """A new store of the same class with the same live items, the same
        deadlines, default ttl and clock; values are shared, not copied.
        O(N·L).

        >>> s = TrieStore({"a": [1]})
        >>> c = s.copy()
        >>> c["a"] is s["a"]
        True
        """
        cdef TrieStoreBase new
        cdef rx_iter it
        cdef void *old
        cdef int rc
        cdef _Entry *entry
        if self.queue is not NULL:
            self._expire_due()
        new = type(self)()
        new._ttl = self._ttl
        new._has_ttl = self._has_ttl
        new._clock = self._clock
        rx_iter_init(&it, self.tree)
        try:
            rc = rx_iter_seek(&it, RX_SEEK_FIRST, NULL, 0)
            while rc == RX_OK:
                rc = rx_iter_next(&it)
                if rc != 1:
                    break
                if _has_lifetime(it.value):
                    # May release a value `new` had (only if a subclass's
                    # __init__ filled it): the iterator copes with changes.
                    entry = _entry_of(it.value)
                    new._put(it.key, it.key_len, <object>entry.value, True, entry.deadline)
                    rc = RX_OK
                    continue
                rc = rx_insert(new.tree, it.key, it.key_len, it.value, &old)
                if rc < 0:
                    _raise_insert_error(rc)
                Py_INCREF(<PyObject *>it.value)
                if rc == 0:  # only if a subclass's __init__ filled `new`
                    new._forget_lifetime(old, it.key, it.key_len, False, 0)
                    _release_stored(old)
                rc = RX_OK
            if rc < 0:
                raise MemoryError("out of memory while copying the store")
        finally:
            rx_iter_release(&it)
        return new

    def __copy__(self):
        """``copy.copy(store)``: same as :meth:`copy`.  O(N·L)."""
        return self.copy()

    def memory_usage(self):
        """Bytes held by the tree's nodes, keys included, values not.  O(1).

        Exact: the bytes the tree asked for, whatever allocated them, so the
        same keys give the same figure (and an emptied store its empty
        figure).  The nodes come from a node pool of the store's own, which
        rounds each to 8 bytes and grows by chunks: the process grows by
        about 1.13x this figure (10^6 and 10^7 chat keys, ``python
        benchmarks/memprobe.py ratio``).  Removing keys frees their nodes
        into the pool, where the store's next keys reuse them; the pool
        gives its chunks back to Python when the store is emptied
        (``clear``, deleting every key, expiry) or dropped.

        Keys with a lifetime add their expiry bookkeeping: a 16-byte entry
        each, plus the nodes of the expiry queue, which holds each such key
        once more behind its 8-byte deadline: about 16 + (8 + L) bytes
        plus a tree's node overhead per key of L bytes (measured for
        25-byte keys: +58 bytes a key when a batch shares one deadline, +84
        when every key has its own).  A store that never had a lifetime has
        no queue and the same usage as one built without expiry.

        >>> TrieStore({"k" * 1000: None}).memory_usage() > 1000
        True
        """
        if self.queue is not NULL:
            self._expire_due()
        return rx_memory(self.tree) + self._expiry_memory()

    cdef size_t _expiry_memory(self):
        # Every queue key stands for one entry, but for the rare stale ones
        # (see the header), which make this an upper bound.
        if self.queue is NULL:
            return 0
        return rx_memory(self.queue) + rx_size(self.queue) * sizeof(_Entry)

    def __sizeof__(self):
        """The object plus its tree's nodes and the buffers the tree keeps
        for its next listing (values not included), plus the expiry
        bookkeeping described in :meth:`memory_usage`.  O(1)."""
        return (object.__sizeof__(self) + rx_memory(self.tree) + rx_spare_memory(self.tree)
                + self._expiry_memory() + self.qbuf_cap
                + (rx_spare_memory(self.queue) if self.queue is not NULL else 0))

    # -------------------------------------------------- equality, pickling

    def __eq__(self, other):
        """Equal to another store or any mapping with the same live items
        (lifetimes are not compared).  O(N·L).

        Stores that contain each other nest comparisons without end; like
        ``dict`` this raises ``RecursionError`` instead of exhausting the C
        stack."""
        if self.queue is not NULL:
            self._expire_due()
        if isinstance(other, TrieStoreBase):
            if (<TrieStoreBase>other).queue is not NULL:
                (<TrieStoreBase>other)._expire_due()
            is_store = True
        elif isinstance(other, _Mapping):
            is_store = False
        else:
            return NotImplemented
        # Each nesting level is counted against the recursion limit (next
        # to the count PyObject_RichCompare makes) and against a fixed
        # depth (see "Nested comparisons" above).
        Py_EnterRecursiveCall(" in comparison")
        try:
            if not ms_enter_compare(_MAX_COMPARE_DEPTH):
                raise RecursionError(
                    f"maximum recursion depth exceeded in comparison (stores "
                    f"nested more than {_MAX_COMPARE_DEPTH} deep)")
            try:
                if is_store:
                    return self._equals_store(<TrieStoreBase>other)
                return self._equals_mapping(other)
            finally:
                ms_leave_compare()
        finally:
            Py_LeaveRecursiveCall()

    def __ne__(self, other):
        """The negation of ``==``.  O(N·L)."""
        result = self.__eq__(other)
        if result is NotImplemented:
            return result
        return not result

    __hash__ = None

    cdef bint _equals_store(self, TrieStoreBase other) except -1:
        cdef rx_iter a, b
        cdef int ra = 0, rb = 0
        cdef PyObject *va
        cdef PyObject *vb
        if self is other:
            return True
        if rx_size(self.tree) != rx_size(other.tree):
            return False
        rx_iter_init(&a, self.tree)
        rx_iter_init(&b, other.tree)
        try:
            if (rx_iter_seek(&a, RX_SEEK_FIRST, NULL, 0) != RX_OK
                    or rx_iter_seek(&b, RX_SEEK_FIRST, NULL, 0) != RX_OK):
                raise MemoryError("out of memory while comparing stores")
            while True:
                ra = rx_iter_next(&a)
                rb = rx_iter_next(&b)
                if ra < 0 or rb < 0:
                    raise MemoryError("out of memory while comparing stores")
                if ra != rb:
                    return False
                if ra == 0:
                    return True
                if a.key_len != b.key_len or memcmp(a.key, b.key, a.key_len) != 0:
                    return False
                # Value comparison runs Python code, which may change either
                # store: hold both values, the iterators resume on their own.
                va = _value_of(a.value)
                vb = _value_of(b.value)
                Py_INCREF(va)
                Py_INCREF(vb)
                try:
                    if not PyObject_RichCompareBool(va, vb, Py_EQ):
                        return False
                finally:
                    Py_DECREF(va)
                    Py_DECREF(vb)
        finally:
            rx_iter_release(&a)
            rx_iter_release(&b)

    cdef bint _equals_mapping(self, other) except -1:
        cdef PyObject *found
        if len(other) != <Py_ssize_t>rx_size(self.tree):
            return False
        is_dict = PyDict_Check(other)
        for key, value in _open(self, _ITEMS, None, None, None, False):
            if is_dict:
                # Like dict.__eq__: no __missing__, no __getitem__ override.
                found = PyDict_GetItemWithError(other, key)
                if found is NULL:
                    return False
                theirs = <object>found
            else:
                try:
                    theirs = other[key]
                except KeyError:
                    return False
            if not PyObject_RichCompareBool(<PyObject *>value, <PyObject *>theirs, Py_EQ):
                return False
        return True

    # --------------------------------------------------------- persistence
    #
    # Snapshots (save, load) and stores kept in a directory (open): the
    # encoding is in _persist.pxi, the files in memstore/persistence.py.

    def save(self, target):
        """Writes the store to ``target`` as a snapshot: a path (``str`` or
        ``os.PathLike``) or a binary file object.  Values that are not
        ``bytes`` are pickled (protocol 5), or encoded with the store's
        ``serializer``; keys already expired are left out.

        Saving to a path is atomic: a temporary file in the same directory
        is written, fsynced and renamed over the target, so a crash or an
        error (a value that cannot be pickled, a full disk) leaves the old
        file as it was.  Streams: the extra memory is one 64 KiB block.
        O(N·L).  Format: docs/persistence-format.md.

        >>> import io
        >>> buffer = io.BytesIO()
        >>> TrieStore({"a": 1}).save(buffer)
        >>> TrieStore.load(io.BytesIO(buffer.getvalue()))
        TrieStore({'a': 1})
        """
        from memstore import persistence
        persistence.save(self, target)

    @classmethod
    def load(cls, source, **kwargs):
        """A new store of this class holding the snapshot in ``source`` (a
        path or a binary file object); ``kwargs`` go to the constructor
        (``clock=``, ``ttl=``, ``serializer=``).  Keys whose deadline has
        passed are dropped.

        Loading a snapshot whose values were pickled runs pickle: load only
        files you trust.  :class:`InMemoryByteStore` never unpickles (a
        pickled value raises).  A bad file raises :class:`SnapshotError`
        (naming the file and byte offset) and loads nothing; a missing one
        ``FileNotFoundError``.  O(N·L).
        """
        from memstore import persistence
        return persistence.load(cls, source, kwargs)

    @classmethod
    def open(cls, directory, *, fsync="everysec", checkpoint_ratio=1.0, **kwargs):
        """A store kept in ``directory`` (created if missing): its latest
        snapshot plus a journal of every write since, replayed here.

        Every write appends one checksummed record to the journal before it
        returns (a batch is one record); reads never touch the disk.
        ``fsync``: ``"always"`` (before each write returns), ``"everysec"``
        (a background thread, about once a second) or ``"no"`` (the OS
        decides).  The store checkpoints by itself when the journal grows
        past ``checkpoint_ratio`` times the snapshot (at least 64 MiB);
        None turns that off.  ``kwargs`` go to the constructor.  One store
        owns a directory at a time: a second open raises
        :class:`DirectoryLockedError`.  Close it (or use ``with``).
        See docs/persistence.md.
        """
        from memstore import persistence
        return persistence.open_store(cls, directory, fsync, checkpoint_ratio, kwargs)

    def checkpoint(self):
        """Writes a new snapshot and starts an empty journal, so reopening
        replays nothing; crash-safe at every step.  Only for a store made
        by :meth:`open`.  Blocks other writers while it runs.  O(N·L)."""
        if self._journal is None:
            raise ValueError("checkpoint() needs a store made by open()")
        self._journal.checkpoint(self)

    def close(self):
        """Flushes and fsyncs the journal and releases the directory of a
        store made by :meth:`open`; afterwards writes raise ``ValueError``
        and reads still work.  Does nothing for other stores, or twice."""
        if self._journal is not None:
            self._journal.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
        return False

    @property
    def directory(self):
        """The directory a store made by :meth:`open` is kept in, else None."""
        return None if self._journal is None else self._journal.directory

    def _attach_journal(self, journal):
        # persistence.open_store, once the directory is replayed.
        self._journal = journal

    def _journal_fsync(self):
        """The fsync policy of the journal, or None: the async twins ask."""
        return None if self._journal is None else self._journal.fsync

    def _save_to(self, file):
        """Streams a snapshot to file; returns its size.  (persistence.py)"""
        return _save_stream(self, file)

    def _load_from(self, file, path):
        """Fills this new, empty store from the snapshot in file."""
        if rx_size(self.tree) != 0:
            raise ValueError("a snapshot loads into a new, empty store only")
        _load_stream(self, file, path)

    def _check_tree(self):
        """For tests: rx_check's verdict on the tree (None when sound) and
        whether it is compact (what inserts alone make)."""
        cdef rx_check_stats stats
        cdef const char *problem = rx_check(self.tree, &stats)
        return (None if problem is NULL else problem.decode()), bool(stats.compact)

    def _replay(self, payload, path, offset):
        """Applies one journal record's payload (persistence.py, at open)."""
        _replay_record(self, payload, path, offset)

    cdef object _logged(self, int op, object a, object b):
        """A write to a store kept in a directory.  Its record is built
        first (checking the arguments and serializing values, which may run
        Python code), then, under the journal's lock, appended and the write
        applied at the clock reading the record holds; so the journal lists
        writes in the order they were applied, and a write that fails after
        its record was appended takes the record back."""
        cdef double now, seconds = 0, ttl = NAN
        cdef bint expiring
        journal = self._journal
        journal.check_writable()
        now = self._now()
        if self.queue is not NULL:
            # Now, so finalizers of expired values log their writes before
            # this one's record.
            self._purge_if_due(now)
        ttl_arg = None
        if op == _OP_MSET or op == _OP_SET:
            if op == _OP_SET:
                _check_key(a)
                self._check_value(b)
                pairs = [(a, b)]
                expiring = self._has_ttl
                seconds = self._ttl
            else:
                pairs = self._validate_pairs(a, "mset")
                if b is _LEFT_OUT:
                    expiring = self._has_ttl
                    seconds = self._ttl
                elif b is None:
                    expiring = False
                else:
                    seconds = _parse_ttl(b)
                    expiring = True
                if not pairs:
                    return None
            if expiring:
                ttl = seconds
                ttl_arg = seconds
            record = _mset_record(self, now, ttl, pairs)
        elif op == _OP_MDELETE or op == _OP_DELITEM:
            if op == _OP_DELITEM:
                _check_key(a)
                keys = [a]
            else:
                keys = self._validate_keys(a, "mdelete")
                if not keys:
                    return None
            record = _mdelete_record(now, keys)
        elif op == _OP_DELETE_PREFIX:
            if not PyUnicode_Check(<PyObject *>a):
                raise TypeError(f"prefix must be str, not {_type_name(a)}")
            record = _key_record(op, now, 0, a)
        elif op == _OP_CLEAR:
            record = _clear_record(now)
        elif op == _OP_EXPIRE:
            _check_key(a)
            seconds = _parse_ttl(b)
            record = _key_record(op, now, seconds, a)
        else:  # _OP_PERSIST
            _check_key(a)
            record = _key_record(op, now, 0, a)
        with journal.lock:
            mark = journal.append(record)
            had_fixed_now = self._has_fixed_now
            fixed_now = self._fixed_now
            self._fixed_now = now
            self._has_fixed_now = True
            try:
                if op == _OP_MSET or op == _OP_SET:
                    result = self._mset(pairs, ttl_arg)
                elif op == _OP_MDELETE:
                    result = self._mdelete(keys)
                elif op == _OP_DELITEM:
                    result = self._delitem(a)
                elif op == _OP_DELETE_PREFIX:
                    result = self._delete_prefix(a)
                elif op == _OP_CLEAR:
                    result = self._clear()
                elif op == _OP_EXPIRE:
                    result = self._expire(a, seconds)
                else:
                    result = self._persist(a)
            except BaseException:
                journal.undo(mark)
                raise
            finally:
                self._fixed_now = fixed_now
                self._has_fixed_now = had_fixed_now
        journal.written(self)
        return result

    def __reduce__(self):
        """Pickles as the class plus the list of ``(key, value)`` pairs.

        The pairs are the state (restored by ``__setstate__``), not
        constructor arguments, so a store that contains itself pickles.
        A store with a default ttl, a clock of its own or keys with a
        lifetime pickles a dict instead: the items (``(key, value,
        deadline)`` for a key with a lifetime: deadlines are absolute),
        ``default_ttl`` and ``clock`` (which must then be picklable).
        """
        if self.queue is not NULL:
            self._expire_due()
        if not self._has_ttl and self._clock is None and (
                self.queue is NULL or rx_size(self.queue) == 0):
            return (type(self), (), list(_open(self, _ITEMS, None, None, None, False)))
        state = {"items": self._items_with_deadlines(),
                 "default_ttl": self.default_ttl, "clock": self._clock}
        return (type(self), (), state)

    cdef list _items_with_deadlines(self):
        """[(key, value) or (key, value, deadline)] in key order.  O(N·L)."""
        cdef rx_iter it
        cdef int rc
        cdef double deadline
        cdef list out = []
        rx_iter_init(&it, self.tree)
        try:
            rc = rx_iter_seek(&it, RX_SEEK_FIRST, NULL, 0)
            while rc == RX_OK:
                rc = rx_iter_next(&it)
                if rc != 1:
                    break
                # The value is referenced, and the deadline read, before
                # anything that can run Python code (building the tuple).
                value = <object>_value_of(it.value)
                if _has_lifetime(it.value):
                    deadline = _entry_of(it.value).deadline
                    out.append((_decode(it.key, it.key_len), value, deadline))
                else:
                    out.append((_decode(it.key, it.key_len), value))
                rc = RX_OK
            if rc < 0:
                raise MemoryError("out of memory while pickling the store")
        finally:
            rx_iter_release(&it)
        return out

    def __setstate__(self, state):
        """Unpickling: stores the pickled ``(key, value)`` pairs, or the
        dict of a store with lifetimes (see ``__reduce__``), whose deadlines
        are kept as they were.  O(N·L)."""
        cdef const unsigned char *data
        cdef size_t size
        if not PyDict_Check(state):
            self.mset(state, ttl=None)
            return
        ttl = state["default_ttl"]
        clock = state["clock"]
        if clock is not None and not callable(clock):
            raise TypeError(f"clock must be a callable or None, not {_type_name(clock)}")
        self._has_ttl = ttl is not None
        if ttl is not None:
            self._ttl = _parse_ttl(ttl)
        self._clock = clock
        items = state["items"]
        self.mset([item for item in items if len(item) == 2], ttl=None)
        for item in items:
            if len(item) == 2:
                continue
            key, value, deadline = item
            deadline = float(deadline)
            if deadline != deadline:
                raise ValueError(f"the deadline of {key!r} is nan")
            _check_key(key)
            self._check_value(value)
            owner = _key_bytes(<PyObject *>key, &data, &size)
            _check_key_length(size, -1)
            self._put(data, size, value, True, deadline)

    # --------------------------------------------------------------- repr

    def __repr__(self):
        """``TrieStore({'a': 1, ...})`` with at most 10 items, then how many
        more there are; a store met again inside itself shows as ``{...}``.
        O(1) in the store's size.
        """
        cdef Py_ssize_t shown = 0
        name = type(self).__name__
        if Py_ReprEnter(self) != 0:
            return f"{name}({{...}})"
        try:
            parts = [f"{k!r}: {v!r}" for k, v in _open(self, _ITEMS, None, None, 10, False)]
            shown = len(parts)
            more = <Py_ssize_t>rx_size(self.tree) - shown
            if more > 0:
                parts.append(f"... {more} more")
            return f"{name}({{{', '.join(parts)}}})"
        finally:
            Py_ReprLeave(self)


# --------------------------------------------------------------------------
# Iterators.

cdef enum:
    _KEYS = 0
    _VALUES = 1
    _ITEMS = 2

cdef extern from *:
    """
    /* Byte order of two strings, memcmp-style (<0, 0, >0); a proper prefix
     * sorts first.  UTF-8 byte order is code-point order.  Compares the
     * options of a listing and, in a delimited one, each group with
     * start_after, on keys a few dozen bytes long: inline, 8 bytes at a
     * time, it costs a fraction of a call to memcmp.  The first byte is
     * tried alone: it usually decides. */
    static inline int ms_compare(const unsigned char *a, size_t na,
                                 const unsigned char *b, size_t nb)
    {
        size_t n = na < nb ? na : nb, i = 0;
        uint64_t x, y;
        if (n && a[0] != b[0])
            return a[0] < b[0] ? -1 : 1;
        for (; i + 8 <= n; i += 8) {
            memcpy(&x, a + i, 8);
            memcpy(&y, b + i, 8);
            if (x != y)
                break;  /* the differing byte is among these 8 */
        }
        for (; i < n; i++) {
            if (a[i] != b[i])
                return a[i] < b[i] ? -1 : 1;
        }
        return na < nb ? -1 : (na > nb ? 1 : 0);
    }

    /* Length of the longest common prefix of two strings. */
    static inline size_t ms_common(const unsigned char *a, size_t na,
                                   const unsigned char *b, size_t nb)
    {
        size_t n = na < nb ? na : nb, i = 0;
        while (i < n && a[i] == b[i])
            i++;
        return i;
    }

    /* Offset of the first occurrence of needle (m >= 1 bytes) in hay, or
     * -1.  A byte match of UTF-8 text is always a character match, since no
     * character's encoding starts inside another's.  memmem is not C99. */
    static inline Py_ssize_t ms_find(const unsigned char *hay, size_t n,
                                     const unsigned char *needle, size_t m)
    {
        const unsigned char *p = hay, *end = hay + n;
        while ((size_t)(end - p) >= m) {
            p = (const unsigned char *)memchr(p, needle[0], (size_t)(end - p) - m + 1);
            if (p == NULL)
                return -1;
            if (memcmp(p + 1, needle + 1, m - 1) == 0)
                return p - hay;
            p++;
        }
        return -1;
    }
    """
    int ms_compare(const unsigned char *a, size_t na,
                   const unsigned char *b, size_t nb) noexcept
    size_t ms_common(const unsigned char *a, size_t na,
                     const unsigned char *b, size_t nb) noexcept
    Py_ssize_t ms_find(const unsigned char *hay, size_t n,
                       const unsigned char *needle, size_t m) noexcept


cdef inline object _option_bytes(object option, str name):
    """None, or the object owning option's UTF-8 bytes (see _key_owner);
    TypeError naming the option when it is not a str."""
    if option is None:
        return None
    if not PyUnicode_Check(<PyObject *>option):
        raise TypeError(f"{name} must be str or None, not {_type_name(option)}")
    return _key_owner(<PyObject *>option)


cdef inline int _compare_owned(object a, object b):
    """Byte order of two owners from _option_bytes (<0, 0, >0)."""
    cdef const unsigned char *da
    cdef const unsigned char *db
    cdef size_t na, nb
    _owner_bytes(<PyObject *>a, &da, &na)
    _owner_bytes(<PyObject *>b, &db, &nb)
    return ms_compare(da, na, db, nb)


cdef bytes _group_successor(const unsigned char *data, size_t n):
    """The smallest string above every string starting with data[:n]: its
    last byte plus one.  Callers pass a group or a prefix, UTF-8 text, which
    never contains 0xFF, so the byte cannot overflow."""
    successor = bytearray(data[:n])
    successor[n - 1] += 1
    return bytes(successor)


cdef object _reverse_upper_bound(object after, const unsigned char *prefix, size_t prefix_size,
                                 const unsigned char *delim, size_t delim_size):
    """The exclusive upper key bound of a reversed delimiter listing resumed
    from start_after `after` (an owner).  Entries, not keys, are compared
    with start_after, so when start_after lies inside a group G (G a proper
    prefix of it: G < start_after), G is still to be listed, and keys of G
    above start_after count for it: the bound is then G's successor."""
    cdef const unsigned char *data
    cdef size_t size
    cdef Py_ssize_t found
    cdef size_t group_len
    _owner_bytes(<PyObject *>after, &data, &size)
    if ms_common(data, size, prefix, prefix_size) != prefix_size:
        return after  # outside the prefix: every entry lies on one side
    found = ms_find(data + prefix_size, size - prefix_size, delim, delim_size)
    if found < 0:
        return after
    group_len = prefix_size + <size_t>found + delim_size
    if group_len == size:
        return after  # start_after is the group itself: G < start_after is false
    return _group_successor(data, group_len)


# StoreIterator.hint of a range listing not counted yet (__length_hint__).
cdef enum:
    _HINT_ON_REQUEST = -2


cdef StoreIterator _open(TrieStoreBase store, int kind, object prefix,
                         object start_after, object limit, bint reverse,
                         object start=None, object stop=None, object delimiter=None):
    """Validates the listing options and returns a positioned iterator.

    Forward, the first key is found with one seek to the larger of start
    (>=) and start_after (>), and stop is the C iterator's end bound
    (exclusive); reversed, the seek is < the smaller of stop and
    start_after, and start the end bound (inclusive).  The prefix and the
    bound restrict the C iterator itself, so a bounded listing steps as a
    prefix listing does, with no check per key here."""
    cdef const unsigned char *data
    cdef size_t size
    cdef const unsigned char *prefix_data = NULL
    cdef size_t prefix_size = 0
    cdef const unsigned char *walk_data
    cdef size_t walk_size, shared
    cdef const unsigned char *end_data
    cdef size_t end_size
    cdef const unsigned char *stop_data
    cdef size_t stop_size
    cdef const unsigned char *delim_data = NULL
    cdef size_t delim_size = 0
    cdef Py_ssize_t remaining
    cdef int rc
    cdef rx_seek_op op
    cdef StoreIterator self
    _check_optional_str(prefix, "prefix")
    after_owner = _option_bytes(start_after, "start_after")
    start_owner = _option_bytes(start, "start")
    stop_owner = _option_bytes(stop, "stop")
    delim_owner = _option_bytes(delimiter, "delimiter")
    remaining = _parse_limit(limit)
    if delim_owner is not None and PyUnicode_GET_LENGTH(<PyObject *>delimiter) == 0:
        raise ValueError("delimiter must not be empty")

    if store.queue is not NULL:
        store._expire_due()
    self = StoreIterator.__new__(StoreIterator)
    self.store = store
    self.kind = kind
    self.reverse = reverse
    self.remaining = remaining
    self.hint = -1
    rx_iter_init(&self.it, store.tree)
    self.ready = True
    if start_owner is not None and stop_owner is not None \
            and _compare_owned(start_owner, stop_owner) >= 0:
        self._finish()  # start >= stop: an empty range
        return self
    prefix_owner = None
    if prefix is not None:
        # By length, not truthiness: a str subclass's __bool__ is not called.
        prefix_owner = _key_owner(<PyObject *>prefix)
        _owner_bytes(<PyObject *>prefix_owner, &prefix_data, &prefix_size)
    # The C walk's own prefix: the user's, or longer when start and stop
    # share more, since every key in [start, stop) starts with what they
    # share.  The walk then ends by itself past the range's subtree, and
    # the bound check compares only the bytes after that prefix.
    walk_data = prefix_data
    walk_size = prefix_size
    if start_owner is not None and stop_owner is not None:
        _owner_bytes(<PyObject *>start_owner, &data, &size)
        _owner_bytes(<PyObject *>stop_owner, &stop_data, &stop_size)
        shared = ms_common(data, size, stop_data, stop_size)
        if shared > prefix_size and ms_common(prefix_data, prefix_size, data, shared) == prefix_size:
            walk_data = data
            walk_size = shared
    if walk_size and rx_iter_set_prefix(&self.it, walk_data, walk_size) != RX_OK:
        raise MemoryError("out of memory while opening an iterator")
    if delim_owner is not None:
        # Groups are found by the C iterator's steps (rx_iter_set_delimiter),
        # looked for after the user's prefix, not the longer walk prefix.
        _owner_bytes(<PyObject *>delim_owner, &delim_data, &delim_size)
        if rx_iter_set_delimiter(&self.it, delim_data, delim_size, prefix_size) != RX_OK:
            raise MemoryError("out of memory while opening an iterator")

    # Where the listing starts (target; None for the prefix's first or
    # last key) and the bound that ends it (end_owner).
    target = None
    end_owner = None
    if not reverse:
        op = RX_SEEK_GE
        target = start_owner
        if after_owner is not None and (target is None or _compare_owned(after_owner, target) >= 0):
            op = RX_SEEK_GT
            target = after_owner
        end_owner = stop_owner
        if delim_owner is not None and after_owner is not None:
            self.after_owner = after_owner  # groups at or before it are skipped
    else:
        op = RX_SEEK_LT
        if after_owner is not None and delim_owner is not None:
            after_owner = _reverse_upper_bound(after_owner, prefix_data, prefix_size,
                                               delim_data, delim_size)
        target = stop_owner
        if after_owner is not None and (target is None or _compare_owned(after_owner, target) < 0):
            target = after_owner
        end_owner = start_owner
    if end_owner is not None:
        # Copied by the C iterator, which checks it as it steps: forward
        # stop is excluded, reversed start included.
        _owner_bytes(<PyObject *>end_owner, &end_data, &end_size)
        if rx_iter_set_end(&self.it, end_data, end_size, reverse) != RX_OK:
            raise MemoryError("out of memory while opening an iterator")
    self.ranged = delim_owner is not None

    if target is None:
        rc = rx_iter_seek(&self.it, RX_SEEK_LAST if reverse else RX_SEEK_FIRST, NULL, 0)
    else:
        _owner_bytes(<PyObject *>target, &data, &size)
        rc = rx_iter_seek(&self.it, op, data, size)
    if rc != RX_OK:
        raise MemoryError("out of memory while opening an iterator")
    if target is None and end_owner is None and not self.ranged:
        # Every key with the prefix will be listed.  With a bound, a
        # delimiter or a cursor the prefix's count is only an upper bound,
        # maybe a huge one (3 groups over 10^5 keys), and list() would
        # allocate that much: no hint then, but for a range below.
        self.hint = <Py_ssize_t>rx_iter_prefix_count(&self.it)
    elif not self.ranged and start_after is None:
        # A range: its exact count, counted when asked (list() asks, to
        # size its result once: growing a list of ~100 keys step by step
        # costs 8% of the listing; a loop or next() does not ask, and
        # pays nothing).
        self.hint = _HINT_ON_REQUEST
        self.range_start = start_owner
        self.range_stop = stop_owner
        self.range_prefix = prefix_owner
    return self


cdef Py_ssize_t _range_count(rx_tree *tree, object start_owner, object stop_owner,
                             object prefix_owner):
    """The number of keys with the prefix in [start, stop) (owners from
    _option_bytes and _key_owner; None for an open end or no prefix): the
    keys in [max(start, prefix), min(stop, the prefix's successor)).
    rx_count_range reads only subtrees inside the range."""
    cdef const unsigned char *prefix_data = NULL
    cdef size_t prefix_size = 0
    cdef const unsigned char *lo
    cdef size_t lo_size
    cdef const unsigned char *hi = NULL
    cdef size_t hi_size = 0
    cdef const unsigned char *data
    cdef size_t size
    cdef bint has_hi = False
    successor = None
    if prefix_owner is not None:
        _owner_bytes(<PyObject *>prefix_owner, &prefix_data, &prefix_size)
    lo = prefix_data
    lo_size = prefix_size
    if start_owner is not None:
        _owner_bytes(<PyObject *>start_owner, &data, &size)
        if ms_compare(data, size, lo, lo_size) > 0:
            lo = data
            lo_size = size
    if prefix_size:
        successor = _group_successor(prefix_data, prefix_size)
        hi = <const unsigned char *>PyBytes_AS_STRING(<PyObject *>successor)
        hi_size = prefix_size
        has_hi = True
    if stop_owner is not None:
        _owner_bytes(<PyObject *>stop_owner, &data, &size)
        if not has_hi or ms_compare(data, size, hi, hi_size) < 0:
            hi = data
            hi_size = size
            has_hi = True
    return <Py_ssize_t>rx_count_range(tree, lo, lo_size, hi, hi_size, has_hi)


@cython.final
@cython.no_gc_clear  # the rx_iter points into store's tree: keep store until dealloc
cdef class StoreIterator:
    """Iterator over a store's keys, values or items (what ``yield_keys``,
    ``keys``, ``values``, ``items`` and ``iter`` return).

    It holds the store alive and survives changes to it: each step carries
    on after the last key returned and sees the store as it is then.  It is
    also a ``collections.abc.Generator`` (``send``, ``throw``, ``close``),
    as LangChain's ``yield_keys`` contract expects.
    """

    cdef TrieStoreBase store
    cdef rx_iter it
    cdef Py_ssize_t remaining  # entries still allowed by limit; -1: no limit
    cdef Py_ssize_t hint       # keys still expected, -1 when unknown
    cdef int kind
    cdef bint reverse          # listing in descending order
    cdef bint ready            # it was initialised (so release it)
    # Delimiter listings (unset for a plain prefix or range listing, whose
    # steps then skip _next_entry altogether).  The C iterator rolls keys
    # up into groups itself (rx_iter_set_delimiter) and ends a range by
    # itself (rx_iter_set_end).
    cdef bint ranged           # delimiter: steps go through _next_entry
    cdef object after_owner    # forward delimiter listing: start_after, for groups
    # A range listing's bounds, kept for __length_hint__ to count it.
    cdef object range_start, range_stop, range_prefix

    def __cinit__(self):
        # Made only by _open; one made from Python (type(it)()) is empty
        # instead of reading an iterator that was never initialised.
        self.hint = 0
        self.remaining = 0

    def __dealloc__(self):
        if self.ready:
            rx_iter_release(&self.it)

    def __iter__(self):
        return self

    def __next__(self):
        if not self._advance():
            raise StopIteration
        return self._item()

    cdef inline bint _advance(self) except -1:
        """Moves to the next item: True, or False once the listing is over."""
        if self.remaining == 0:
            self._finish()
            return False
        # A prefix or range listing takes every key the C iterator gives;
        # only delimited ones pay for _next_entry's checks.
        if not (self._next_entry() if self.ranged else self._next_key()):
            self._finish()
            return False
        if self.remaining > 0:
            self.remaining -= 1
        if self.hint > 0:
            self.hint -= 1
        elif self.hint == _HINT_ON_REQUEST:
            self.hint = -1  # counting from here on would cost another walk
        return True

    cdef inline int _next_key(self) except -1:
        """Steps the C iterator: 1 on the next key, 0 when there is none."""
        cdef int rc = rx_iter_next(&self.it)
        if rc == 1 and _has_lifetime(self.it.value):
            rc = self._next_live()  # steps over keys that expired meanwhile
        if rc < 0:
            raise MemoryError("out of memory while iterating")
        return rc

    cdef inline int _next_entry(self) except -1:
        """_next_key for a delimited listing: 1 on the next key or group, 0
        at the end.  The C iterator returns a group (RX_GROUP) from the
        step that reaches it, without visiting its keys, so a group of a
        million keys costs what a key does."""
        cdef const unsigned char *after_data
        cdef size_t after_size
        cdef int rc
        while True:
            if self.store.queue is not NULL:
                # A group is listed unseen: none of its keys may have
                # expired since the listing opened (_next_live's check
                # needs a key to look at).
                self.store._expire_due()
            rc = self._next_key()
            if rc != RX_GROUP or self.after_owner is None:
                return rc != 0
            # Forward with start_after: the first group met may sort at or
            # before it (start_after inside the group), and is not listed.
            _owner_bytes(<PyObject *>self.after_owner, &after_data, &after_size)
            if ms_compare(self.it.key, self.it.key_len, after_data, after_size) > 0:
                return 1

    cdef int _next_live(self) except -2:
        """The iterator stands on a key with a lifetime.  Returns what
        rx_iter_next would (1, 0 or RX_ENOMEM) for the first key from here
        on that is live: each expired key met purges the store (every key
        due goes, the values released with the trees consistent), and the
        iterator then carries on after it.  The clock is read once."""
        cdef TrieStoreBase store = self.store
        cdef bint have_now = False
        cdef double now = 0
        cdef uint64_t version
        cdef int rc = 1
        while rc == 1 and _has_lifetime(self.it.value):
            if not have_now:
                version = rx_version(store.tree)
                now = store._now()
                have_now = True
                if store._clock is not None and rx_version(store.tree) != version:
                    # The clock's Python code changed the store: where the
                    # iterator stands may be gone.  Stand on the same key
                    # again (or the next one) and look with the time read.
                    here = PyBytes_FromStringAndSize(<const char *>self.it.key,
                                                     <Py_ssize_t>self.it.key_len)
                    if rx_iter_seek(&self.it, RX_SEEK_LE if self.reverse else RX_SEEK_GE,
                                    <const unsigned char *>PyBytes_AS_STRING(<PyObject *>here),
                                    <size_t>PyBytes_GET_SIZE(<PyObject *>here)) != RX_OK:
                        return RX_ENOMEM
                    rc = rx_iter_next(&self.it)
                    continue
            if now < _entry_of(self.it.value).deadline:
                return 1
            store._purge(now)
            rc = rx_iter_next(&self.it)
        return rc

    cdef inline object _item(self):
        """The item _advance moved to; call it before any Python code runs."""
        if self.kind == _KEYS:
            return _decode(self.it.key, self.it.key_len)  # a key or a group
        # Take the value's reference first: building the key allocates
        # nothing that can run Python code, building the tuple can.
        value = <object>_value_of(self.it.value)
        if self.kind == _VALUES:
            return value
        return (_decode(self.it.key, self.it.key_len), value)

    cdef void _finish(self) noexcept:
        """Frees the iterator's buffers once it is done; it stays done."""
        self.remaining = 0
        self.hint = 0
        if self.ready:
            rx_iter_release(&self.it)

    def __length_hint__(self):
        if self.hint == _HINT_ON_REQUEST:
            # A range not stepped yet: its count now is what it will list.
            if self.store.queue is not NULL:
                self.store._expire_due()
            self.hint = _range_count(self.store.tree, self.range_start, self.range_stop,
                                     self.range_prefix)
            self.range_start = self.range_stop = self.range_prefix = None
        if self.hint < 0:
            return NotImplemented
        if self.remaining >= 0 and self.remaining < self.hint:
            return self.remaining
        return self.hint

    def send(self, value):
        """Generator protocol: the next item (``value`` is ignored)."""
        return self.__next__()

    def throw(self, typ, val=None, tb=None):
        """Generator protocol: ends the iteration and raises the exception."""
        self._finish()
        if isinstance(typ, BaseException):
            exc = typ
        elif val is None:
            exc = typ()
        elif isinstance(val, BaseException):
            exc = val
        else:
            exc = typ(val)
        if tb is not None:
            exc = exc.with_traceback(tb)
        raise exc

    def close(self):
        """Generator protocol: ends the iteration."""
        self._finish()


# --------------------------------------------------------------------------
# Async iteration.
#
# An async generator costs about as much per key as the listing itself, all
# of it in the generator machinery.  AsyncStoreIterator is the same listing
# with nothing in between: __anext__ returns one reusable awaitable,
# _NextItem, whose await completes at once with the next item (every `chunk`
# items it first yields None once, a bare yield like asyncio.sleep(0), so
# that a long listing lets the other tasks of the loop run).
#
# On 3.10 and 3.11, `await` asks the awaitable's am_send slot for the
# outcome, so a completed await raises nothing.  Cython has no spelling for
# am_send: it is set on the type below.  3.12+ ignore am_send in `await`
# (and 3.10/3.11 do too while a trace function is set) and use tp_iternext,
# where completion is a StopIteration carrying the item: __next__ below.

cdef extern from *:
    """
    /* Own names for am_send's result codes: before 3.10 they do not exist
     * (and Cython may define its own backport of them). */
    #if PY_VERSION_HEX >= 0x030A0000
    typedef PySendResult ms_send_result;
    #define MS_SEND_RETURN PYGEN_RETURN
    #define MS_SEND_ERROR PYGEN_ERROR
    #define MS_SEND_NEXT PYGEN_NEXT
    typedef ms_send_result (*ms_send_fn)(PyObject *, PyObject *, PyObject **);
    static void ms_set_am_send(PyTypeObject *t, ms_send_fn f)
    {
        t->tp_as_async->am_send = f;
    }
    #else
    typedef int ms_send_result;
    #define MS_SEND_RETURN 0
    #define MS_SEND_ERROR (-1)
    #define MS_SEND_NEXT 1
    typedef ms_send_result (*ms_send_fn)(PyObject *, PyObject *, PyObject **);
    static void ms_set_am_send(PyTypeObject *t, ms_send_fn f)
    {
        (void)t;  /* no am_send slot before 3.10 */
        (void)f;
    }
    #endif
    """
    ctypedef enum ms_send_result:
        MS_SEND_RETURN
        MS_SEND_ERROR
        MS_SEND_NEXT
    ctypedef ms_send_result (*ms_send_fn)(PyObject *, PyObject *, PyObject **) except MS_SEND_ERROR
    void ms_set_am_send(PyTypeObject *t, ms_send_fn f)


@cython.final
@cython.no_gc_clear  # its methods use `items` without a None check
cdef class _NextItem:
    """What ``AsyncStoreIterator.__anext__`` returns: awaiting it gives the
    next item, or raises ``StopAsyncIteration`` at the end.  One object is
    reused for every item of a listing, so each await is for the item that
    is next at that moment."""

    cdef StoreIterator items
    cdef Py_ssize_t chunk      # items between two yields to the event loop
    cdef Py_ssize_t countdown  # items before the next yield to the loop
    cdef bint paused           # yielded to the loop, the next step resumes
    cdef bint pending          # handed out by __anext__, its await not finished

    def __cinit__(self, StoreIterator items not None, Py_ssize_t chunk):
        if chunk < 1:
            raise ValueError(f"chunk must be >= 1, not {chunk}")
        self.items = items
        self.chunk = chunk
        self.countdown = chunk

    cdef ms_send_result _step(self, PyObject **out) except MS_SEND_ERROR:
        """MS_SEND_RETURN with the next item in *out (a new reference), or
        MS_SEND_NEXT with None in *out (the await suspends once)."""
        if self.countdown == 0:
            if not self.paused:
                self.paused = True
                Py_INCREF(<PyObject *>None)
                out[0] = <PyObject *>None
                return MS_SEND_NEXT
            self.paused = False
            self.countdown = self.chunk
        self.pending = False
        if not self.items._advance():
            raise StopAsyncIteration
        item = self.items._item()
        self.countdown -= 1
        Py_INCREF(<PyObject *>item)
        out[0] = <PyObject *>item
        return MS_SEND_RETURN

    def __await__(self):
        return self

    def __iter__(self):
        return self

    def __next__(self):
        cdef PyObject *out = NULL
        cdef ms_send_result r = self._step(&out)
        result = <object>out
        Py_DECREF(out)  # `result` holds it now
        if r == MS_SEND_NEXT:
            return result
        raise StopIteration(result)

    def send(self, value):
        """Coroutine protocol: same as ``__next__`` (``value`` is ignored)."""
        return self.__next__()

    def throw(self, typ, val=None, tb=None):
        """Coroutine protocol: ends the listing and raises the exception,
        as it would end an async generator suspended at a yield."""
        self.items.throw(typ, val, tb)

    def close(self):
        """Coroutine protocol: ends the listing."""
        self.pending = False
        self.items._finish()


cdef ms_send_result _next_item_send(PyObject *o, PyObject *arg,
                                    PyObject **result) except MS_SEND_ERROR:
    # am_send of _NextItem; `arg` (what is sent in) is ignored like in send().
    result[0] = NULL
    return (<_NextItem>o)._step(result)


ms_set_am_send(<PyTypeObject *>_NextItem, _next_item_send)


@cython.final
@cython.no_gc_clear  # its methods use `next_item` without a None check
cdef class AsyncStoreIterator:
    """Async iterator over a store's keys (what ``ayield_keys`` returns):
    the items of a :class:`StoreIterator`, yielding to the event loop once
    every ``chunk`` items.

    Like the iterator it wraps it survives changes to the store.  It is an
    ``collections.abc.AsyncGenerator`` (``asend``, ``athrow``, ``aclose``),
    as LangChain's ``ayield_keys`` contract expects.
    """

    cdef _NextItem next_item

    def __cinit__(self, StoreIterator items not None, Py_ssize_t chunk):
        self.next_item = _NextItem(items, chunk)

    @classmethod
    def __class_getitem__(cls, item):
        """``AsyncStoreIterator[str]`` at runtime, for type hints."""
        return _GenericAlias(cls, item)

    def __aiter__(self):
        return self

    cdef _NextItem _hand_out(self):
        # The awaitable is reused, unless the last one handed out is still
        # to be awaited (gather(it.__anext__(), it.__anext__()), say): each
        # await must then be its own object, or both would get one item.
        cdef _NextItem n = self.next_item
        if n.pending:
            n = _NextItem(n.items, n.chunk)
        n.pending = True
        return n

    def __anext__(self):
        return self._hand_out()

    def asend(self, value):
        """Async generator protocol: the next item (``value`` is ignored)."""
        return self._hand_out()

    async def athrow(self, typ, val=None, tb=None):
        """Async generator protocol: ends the listing and raises the
        exception."""
        self.next_item.items.throw(typ, val, tb)

    async def aclose(self):
        """Async generator protocol: ends the listing."""
        self.next_item.items._finish()


# --------------------------------------------------------------------------
# memstore.langgraph's records.
#
# memstore.langgraph keeps each item as one bytes record: a header (created_at
# as a UTC datetime's 10-byte pickled state; then, if byte 10 is not "{", a
# flags byte: 1 = updated_at follows as another state, 2 = a ttl double
# follows) and the value's JSON (see "Values" in langgraph.py).  Turning a
# record into an Item is the whole of a get's own work; done here it is one
# call instead of a slice, a decode call, a datetime call, an object.__new__
# and five attribute writes from Python: measured 1.35 -> 1.10 µs per get
# (best of 200 samples, 10^5 items).
# It touches no tree and holds no store reference: the record is the
# caller's (kept alive by the argument), the Item is new.

# datetime's C API declared here, not cimported from cpython.datetime:
# that cimport made TrieStore.mget 1.2x slower (side by side, ab_builds.py),
# for no reason found; these declarations give the same call without it.
cdef extern from "datetime.h":
    ctypedef struct _DateTimeCAPI "PyDateTime_CAPI":
        PyTypeObject *DateTimeType
        object (*DateTime_FromDateAndTimeAndFold)(
            int, int, int, int, int, int, int, object, int, PyTypeObject *)
    _DateTimeCAPI *PyDateTimeAPI

from cpython.pycapsule cimport PyCapsule_Import
PyDateTimeAPI = <_DateTimeCAPI *>PyCapsule_Import(b"datetime.datetime_CAPI", 0)
from datetime import timezone as _timezone

cdef object _UTC = _timezone.utc

cdef extern from "Python.h":
    # Returns a new reference, which Cython then owns.
    ctypedef object (*_allocfunc "allocfunc")(PyTypeObject *t, Py_ssize_t n)
    ctypedef struct _AllocSlot "PyTypeObject":
        _allocfunc tp_alloc

cdef enum:
    _STATE = 10         # a datetime's pickled state
    _JSON_START = 0x7B  # "{": no flags byte
    _HAS_UPDATED = 1
    _HAS_TTL = 2
    _TTL_SIZE = 8


cdef inline object _state_datetime(const unsigned char *s):
    """The UTC datetime of a pickled state (what ``datetime(state, UTC)``
    builds), from its fields: no bytes object, no argument parsing.  The
    high bit of the month byte is ``fold``."""
    return PyDateTimeAPI.DateTime_FromDateAndTimeAndFold(
        (s[0] << 8) | s[1], s[2] & 0x7F, s[3], s[4], s[5], s[6],
        (s[7] << 16) | (s[8] << 8) | s[9], _UTC, s[2] >> 7, PyDateTimeAPI.DateTimeType)


cdef class _RecordReader:
    """Builds ``item_type`` objects (LangGraph's ``Item``, made without its
    ``__init__``) from memstore.langgraph records, decoding the JSON with
    ``loads``, so every Item gets a value of its own."""

    cdef object loads
    cdef object item_type

    def __init__(self, loads, item_type):
        if not callable(loads):
            raise TypeError(f"loads must be callable, not {_type_name(loads)}")
        # Made as object.__new__ makes them (the type's tp_alloc), so
        # without the type's __init__, which would re-check what is known
        # here: a plain class whose instances are objects with slots.
        if not isinstance(item_type, type) or item_type.__new__ is not object.__new__:
            raise TypeError(f"item_type must be a class using object.__new__, not {item_type!r}")
        self.loads = loads
        self.item_type = item_type

    def item(self, bytes record not None, key, namespace):
        """The Item a record holds, with ``key`` and ``namespace``.
        ValueError for bytes that are not a record."""
        cdef const unsigned char *p = <const unsigned char *>PyBytes_AS_STRING(<PyObject *>record)
        cdef Py_ssize_t size = PyBytes_GET_SIZE(<PyObject *>record)
        cdef Py_ssize_t start = _STATE
        cdef unsigned char flags
        if size <= _STATE:
            raise ValueError("not a memstore.langgraph record: too short")
        flags = p[_STATE]
        created = _state_datetime(p)
        # One datetime for both when they are equal (an item never
        # overwritten): datetimes are immutable, so sharing one is invisible.
        updated = created
        if flags != _JSON_START:
            start += 1
            if flags & _HAS_UPDATED:
                if size < start + _STATE:
                    raise ValueError("not a memstore.langgraph record: header cut short")
                updated = _state_datetime(p + start)
                start += _STATE
            if flags & _HAS_TTL:
                start += _TTL_SIZE
            if size <= start:
                raise ValueError("not a memstore.langgraph record: header cut short")
        value = self.loads(PyBytes_FromStringAndSize(<const char *>p + start, size - start))
        item = (<_AllocSlot *>self.item_type).tp_alloc(<PyTypeObject *>self.item_type, 0)
        item.value = value
        item.key = key
        item.namespace = namespace
        item.created_at = created
        item.updated_at = updated
        return item


include "_persist.pxi"


# --------------------------------------------------------------------------
# Garbage collection.
#
# Values live in the C tree, out of sight of the Python-object attributes
# Cython knows about.  So that a cycle through a store (a value holding the
# store, a store holding itself) can be collected, tp_traverse also visits
# every value and tp_clear empties the tree (releasing values with the tree
# consistent, like clear()).  The Cython-generated tp_clear is not chained:
# it would only reset _value_type, which is no part of a collectable cycle
# through the store, and the store must stay fully usable after a clear
# because finalizers of the values may still write to it.

cdef _traverseproc _generated_traverse = NULL


cdef struct _Visit:
    _visitproc visit
    void *arg


cdef int _visit_value(void *value, void *ctx) noexcept:
    cdef _Visit *v = <_Visit *>ctx
    return v.visit(_value_of(value), v.arg)


cdef int _store_traverse(PyObject *o, _visitproc visit, void *arg) noexcept:
    cdef rx_tree *tree = (<TrieStoreBase>o).tree
    cdef _Visit v
    cdef int r
    if _generated_traverse is not NULL:
        r = _generated_traverse(o, visit, arg)
        if r:
            return r
    if tree is NULL:
        return 0
    v.visit = visit
    v.arg = arg
    return rx_visit_values(tree, _visit_value, &v)  # allocates nothing


cdef int _store_clear(PyObject *o) noexcept:
    cdef TrieStoreBase store = <TrieStoreBase>o
    if store.queue is not NULL:
        rx_clear(store.queue, NULL, NULL)
        store.next_deadline = INFINITY
        store.queue_has_stale = False
    if store.tree is not NULL:
        rx_clear(store.tree, _release_value, NULL)
    return 0


cdef _GCSlots *_store_slots = <_GCSlots *><PyObject *>TrieStoreBase
_generated_traverse = _store_slots.tp_traverse
_store_slots.tp_traverse = _store_traverse
_store_slots.tp_clear = _store_clear
