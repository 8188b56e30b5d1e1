# Persistence, the binding's side: snapshot streams (csrc/snapshot.c) and
# journal records.  Included by _core.pyx because both read the tree and the
# expiry entries directly; files, directories, fsync and recovery live in
# memstore/persistence.py.  Formats: docs/persistence-format.md.
#
# References follow the header of _core.pyx: a value read from the tree is
# referenced before anything can run Python code (pickling, a file's write),
# and the C iterator re-seeks after any change such code makes, so a save
# that runs user code stays in key order and never reads a freed node.

from cpython.bytes cimport PyBytes_FromStringAndSize as _new_bytes
from cpython.memoryview cimport PyMemoryView_FromMemory
from libc.math cimport isnan, llround
from libc.stdint cimport int64_t, uint32_t
from libc.string cimport memset

from memstore._snapshot cimport (
    RX_SNAP_EIO,
    RX_SNAP_MAX_VALUE_TAG,
    rx_snap_crc32c,
    rx_snap_reader,
    rx_snap_reader_error_offset,
    rx_snap_reader_file_tag,
    rx_snap_reader_free,
    rx_snap_reader_header,
    rx_snap_reader_next,
    rx_snap_reader_open,
    rx_snap_record,
    rx_snap_strerror,
    rx_snap_writer,
    rx_snap_writer_add,
    rx_snap_writer_bytes,
    rx_snap_writer_finish,
    rx_snap_writer_free,
    rx_snap_writer_open,
)

cdef extern from "Python.h":
    int PyBUF_READ
    int PyBUF_WRITE

cdef extern from *:
    """
    /* Asks for the cache lines of a value a save will copy soon: the
     * object's header and its first 192 bytes (a 100-byte bytes value and
     * its header span three lines).  Only a hint: no load, no fault. */
    static inline void ms_prefetch_value(const void *p)
    {
    #if defined(__GNUC__) || defined(__clang__)
        const char *c = (const char *)p;
        __builtin_prefetch(c);
        __builtin_prefetch(c + 64);
        __builtin_prefetch(c + 128);
    #else
        (void)p;
    #endif
    }
    """
    void ms_prefetch_value(const void *p) noexcept

cdef extern from *:
    """
    /* A pickle group's values are pickled after the walk has gathered them:
     * the walk's prefetch brought each value object near, but pickle then
     * waits on what a dict points to -- its table (keys object) and its
     * values -- scattered over the heap in a store built in random order.
     * ms_group_prefetch asks for those in two stages, the table `ahead`
     * values early and the items once it has arrived, so pickle finds
     * them in cache.  Reads only (no reference, no code), so only a hint;
     * exact dicts of up to 8 items, the values of chat-style stores. */
    static inline void ms_prefetch_lines(const void *p, int lines)
    {
    #if defined(__GNUC__) || defined(__clang__)
        const char *c = (const char *)p;
        int i;
        for (i = 0; i < lines; i++)
            __builtin_prefetch(c + 64 * i);
    #else
        (void)p;
        (void)lines;
    #endif
    }
    static void ms_group_prefetch(PyObject *list, Py_ssize_t ahead)
    {
        Py_ssize_t n = PyList_GET_SIZE(list), i;
        for (i = 0; i < n + ahead; i++) {
            if (i < n) {
                PyObject *v = PyList_GET_ITEM(list, i);
                if (PyDict_CheckExact(v) && PyDict_GET_SIZE(v) <= 8) {
                    PyDictObject *d = (PyDictObject *)v;
                    ms_prefetch_lines(d->ma_keys, 3);
                    if (d->ma_values != NULL)
                        ms_prefetch_lines(d->ma_values, 1);
                }
            }
            if (i >= ahead) {
                PyObject *v = PyList_GET_ITEM(list, i - ahead), *key, *item;
                Py_ssize_t pos = 0;
                if (PyDict_CheckExact(v) && PyDict_GET_SIZE(v) <= 8)
                    while (PyDict_Next(v, &pos, &key, &item))
                        ms_prefetch_lines(item, 2);
            }
        }
    }
    """
    void ms_group_prefetch(object values, Py_ssize_t ahead) noexcept

cdef extern from *:
    """
    /* A load makes one or two objects per key (10^6 keys of 100-byte values
     * are 150 MB of new objects), and first touching each new 4 KiB page of
     * pymalloc's arenas costs a page fault: about a fifth of a load's time.
     * While a load runs, each new arena is pre-faulted in one madvise call
     * instead (MADV_POPULATE_WRITE, Linux 5.14), a sixth less load time.
     * The wrapper is installed once, at the first load, and forwards to the
     * allocator it found; outside a load it only forwards, so it never has
     * to be uninstalled (which would break anyone who wrapped it since).
     * Only a hint: a kernel without the advice, or a build without pymalloc's
     * arenas (free-threaded), loads as before. */
    #if defined(__linux__) && !defined(Py_GIL_DISABLED)
    #include <sys/mman.h>
    #endif
    #if defined(MADV_POPULATE_WRITE) && !defined(Py_GIL_DISABLED)
    static PyObjectArenaAllocator ms_next_arena;
    static int ms_arena_installed = 0, ms_populate_works = 1;
    static long ms_loading = 0; /* loads running (the GIL guards it) */
    static void *ms_arena_alloc(void *ctx, size_t size)
    {
        void *p = ms_next_arena.alloc(ms_next_arena.ctx, size);
        (void)ctx;
        if (p != NULL && ms_loading > 0 && ms_populate_works) {
            int saved = errno; /* an allocation must not change errno */
            if (madvise(p, size, MADV_POPULATE_WRITE) != 0 && errno == EINVAL)
                ms_populate_works = 0; /* a kernel older than the advice */
            errno = saved;
        }
        return p;
    }
    static void ms_arena_free(void *ctx, void *p, size_t size)
    {
        (void)ctx;
        ms_next_arena.free(ms_next_arena.ctx, p, size);
    }
    static void ms_load_begin(void)
    {
        if (!ms_arena_installed) {
            PyObjectArenaAllocator mine = {NULL, ms_arena_alloc, ms_arena_free}, found;
            PyObject_GetArenaAllocator(&found);
            if (found.alloc != ms_arena_alloc) { /* never wrap itself */
                ms_next_arena = found;
                PyObject_SetArenaAllocator(&mine);
            }
            ms_arena_installed = 1;
        }
        ms_loading++;
    }
    static void ms_load_end(void)
    {
        ms_loading--;
    }
    #else
    static void ms_load_begin(void) {}
    static void ms_load_end(void) {}
    #endif
    """
    void ms_load_begin() noexcept
    void ms_load_end() noexcept


class SnapshotError(ValueError):
    """A snapshot or journal file that cannot be read: truncated, corrupt,
    of an unknown version, or holding values this store may not decode.

    ``path`` is the file (or the name of the file object, or None) and
    ``offset`` the byte offset where the problem was found.
    """

    def __init__(self, message, path=None, offset=None):
        super().__init__(message)
        self.path = path
        self.offset = offset

    def __reduce__(self):
        return (type(self), (self.args[0], self.path, self.offset))


# Value tags, per record (format: "Values").  The file tag is 0: these tags.
cdef enum:
    _TAG_BYTES = 0       # the value is a bytes object, stored as it is
    _TAG_PICKLE = 1      # pickle, protocol 5, of this value alone
    _TAG_SERIALIZER = 2  # the store's serializer=
    _TAG_GROUP = 3       # pickle of the list of this value and the next ones
    _TAG_IN_GROUP = 4    # no bytes: the next value of the open group (records
                         # of other tags may come in between)
    _FILE_TAG = 0
    # Values that are not bytes are pickled in groups: one pickle of a list
    # shares the memo (a dict's keys are written once, not once per value)
    # and one call's overhead; 10^6 small dicts load in half the time and
    # take 0.56x the bytes of one pickle per value.  A group is cut at
    # _GROUP_MAX values, and sized from the last one to about _GROUP_BYTES
    # of pickle, so big values do not make a big group in memory.
    _GROUP_MAX = 1024
    _GROUP_BYTES = 1 << 20


cdef class _Group:
    """The values of the pickle group being read."""
    cdef list values
    cdef Py_ssize_t next

    cdef bint open(self):
        return self.values is not None and self.next < len(self.values)


cdef object _pickle_module = None


cdef object _pickle():
    # Imported at first use: stores that never persist do not load pickle.
    global _pickle_module
    if _pickle_module is None:
        import pickle
        _pickle_module = pickle
    return _pickle_module


cdef object _encode_value(TrieStoreBase store, object value, unsigned *tag):
    """The bytes a value is kept as in a file, and its tag.  bytes are kept
    as they are; anything else goes through the store's serializer, or
    pickle.  Runs Python code for anything but bytes."""
    if PyBytes_Check(<PyObject *>value):
        tag[0] = _TAG_BYTES
        return value
    if store._serializer is not None:
        data = store._serializer.dumps(value)
        if not PyBytes_Check(<PyObject *>data):
            raise TypeError(f"serializer.dumps() must return bytes, not {_type_name(data)}")
        tag[0] = _TAG_SERIALIZER
        return data
    tag[0] = _TAG_PICKLE
    return _pickle().dumps(value, 5)


cdef object _decode_value(TrieStoreBase store, const unsigned char *data, size_t size,
                          unsigned tag, _Group group, object path, object offset,
                          const unsigned char *key=NULL, size_t key_len=0):
    """The value a file holds.  offset: the journal record's, or None in a
    snapshot (whose records have no offset of their own: key names it)."""
    if tag == _TAG_IN_GROUP:
        if not group.open():
            raise SnapshotError(f"{_where(path)}: {_which_value(offset, key, key_len)} "
                                f"belongs to a pickle group that holds no more values",
                                path, offset)
        value = group.values[group.next]
        group.next += 1
        if group.next == len(group.values):
            group.values = None  # done: the list goes, its values stay
    elif tag == _TAG_GROUP and group.open():
        raise SnapshotError(f"{_where(path)}: a pickle group holds more values than "
                            f"records, up to {_which_value(offset, key, key_len)}",
                            path, offset)
    elif tag == _TAG_BYTES:
        value = _new_bytes(<const char *>data, <Py_ssize_t>size)
    elif tag == _TAG_PICKLE or tag == _TAG_GROUP:
        if store._value_type is bytes:
            raise SnapshotError(
                f"{_where(path)}: {_which_value(offset, key, key_len)} is pickled, and "
                f"{type(store).__name__} never unpickles; load it into a TrieStore",
                path, offset)
        value = _pickle().loads(_new_bytes(<const char *>data, <Py_ssize_t>size))
        if tag == _TAG_GROUP:
            if type(value) is not list or len(<list>value) == 0:
                raise SnapshotError(f"{_where(path)}: {_which_value(offset, key, key_len)} "
                                    f"is not a pickle group", path, offset)
            group.values = <list>value
            group.next = 1
            value = group.values[0]
            if len(group.values) == 1:
                group.values = None
    elif tag == _TAG_SERIALIZER:
        if store._serializer is None:
            raise SnapshotError(
                f"{_where(path)}: {_which_value(offset, key, key_len)} was written with "
                f"a serializer; pass the same serializer= to read it", path, offset)
        value = store._serializer.loads(_new_bytes(<const char *>data, <Py_ssize_t>size))
    else:
        raise SnapshotError(f"{_where(path)}: {_which_value(offset, key, key_len)} has an "
                            f"unknown value tag {tag}", path, offset)
    if store._value_type is not None and not isinstance(value, store._value_type):
        raise SnapshotError(
            f"{_where(path)}: {_which_value(offset, key, key_len)} is {_type_name(value)}, "
            f"and {type(store).__name__} holds only {store._value_type.__name__}",
            path, offset)
    return value


cdef int _group_closed(_Group group, object path, object offset) except -1:
    """At the end of a file or a journal record: no group may be left open."""
    if group.open():
        raise SnapshotError(f"{_where(path)}: a pickle group holds more values than "
                            f"records (at byte {offset})", path, offset)
    return 0


cdef str _which_value(object offset, const unsigned char *key, size_t key_len):
    if offset is None:
        return f"the value of key {_decode(key, key_len)!r}"
    return f"a value in the record at byte {offset}"


cdef str _where(object path):
    return "<stream>" if path is None else str(path)


cdef inline int64_t _deadline_ms(double deadline) noexcept:
    # Milliseconds since the epoch (on the store's clock).  Clamped: a
    # deadline past year 292 million is as good as never.
    if deadline >= 9.2e15:
        return <int64_t>9200000000000000000
    if deadline <= -9.2e15:
        return -(<int64_t>9200000000000000000)
    return llround(deadline * 1000.0)


# -------------------------------------------------------------- snapshots

cdef class _Sink:
    """What the writer's callback needs: the file's write, and the first
    exception it raised (re-raised once the C call has returned)."""
    cdef object write
    cdef object error


cdef int _sink_write(void *ctx, const unsigned char *buf, size_t size) noexcept:
    cdef _Sink sink = <_Sink>ctx
    cdef Py_ssize_t done = 0, n
    try:
        # A copy, not a view of the writer's block: a file object may keep
        # what it is given (BytesIO does, until its next write).
        chunk = _new_bytes(<const char *>buf, <Py_ssize_t>size)
        while done < <Py_ssize_t>size:
            written = sink.write(chunk if done == 0 else chunk[done:])
            # Buffered and text-free files return the length or None; a raw
            # file may write less.
            if written is None:
                break
            n = written
            if n <= 0:
                raise OSError(f"the file's write() wrote {n} bytes")
            done += n
        return 0
    except BaseException as error:
        sink.error = error
        return 1


cdef uint64_t _save_stream(TrieStoreBase store, object file) except? 0:
    """Writes the store to file (an object with write) as a snapshot and
    returns its size in bytes.  Keys expired by now are left out."""
    cdef rx_snap_writer *w = NULL
    cdef rx_iter it
    cdef int rc
    cdef unsigned tag
    cdef bint has_deadline
    cdef int64_t deadline = 0
    cdef double now = 0
    cdef _Sink sink = _Sink()
    cdef uint64_t size
    # Pickled values go in groups (see _TAG_GROUP); a serializer encodes
    # one value at a time.
    cdef bint grouping = store._serializer is None
    cdef Py_ssize_t group_limit = 4  # the first group, before any is sized
    cdef list group_values = []
    cdef _GroupKeys group_keys  # copied: pickling may run code that changes them
    # A second iterator walks _LOOKAHEAD keys ahead and only prefetches the
    # values it passes: in a store built in random order consecutive keys'
    # values lie far apart, and waiting for each in turn is most of a save.
    # It reads nothing but what the tree holds when it steps (it re-seeks
    # after any change, as every iterator does), so it is only a hint.
    cdef rx_iter ahead
    cdef bint ahead_live = True
    cdef int k
    sink.write = file.write
    if store.queue is not NULL:
        now = store._now()
        store._purge_if_due(now)
    rc = rx_snap_writer_open(&w, &_ALLOCATOR, _sink_write, <void *>sink, _FILE_TAG, 0)
    if rc != RX_OK:
        _raise_writer_error(rc, sink)
    memset(&group_keys, 0, sizeof(group_keys))
    rx_iter_init(&it, store.tree)
    rx_iter_init(&ahead, store.tree)
    try:
        rc = rx_iter_seek(&it, RX_SEEK_FIRST, NULL, 0)
        ahead_live = rx_iter_seek(&ahead, RX_SEEK_FIRST, NULL, 0) == RX_OK
        for k in range(_LOOKAHEAD):
            ahead_live = ahead_live and _prefetch_next(&ahead)
        while rc == RX_OK:
            rc = rx_iter_next(&it)
            if rc != 1:
                break
            rc = RX_OK
            ahead_live = ahead_live and _prefetch_next(&ahead)
            has_deadline = _has_lifetime(it.value)
            if has_deadline:
                if _entry_of(it.value).deadline <= now:
                    continue  # expired while the save ran user code
                deadline = _deadline_ms(_entry_of(it.value).deadline)
            value = <object>_value_of(it.value)  # referenced before code runs
            if grouping and not PyBytes_Check(<PyObject *>value):
                # Copied: the key and the deadline are written after the
                # group is pickled, which may run code that changes them.
                _group_keys_add(&group_keys, it.key, it.key_len, has_deadline, deadline)
                group_values.append(value)
                if len(group_values) >= group_limit:
                    group_limit = _write_group(w, sink, &group_keys, group_values)
                continue
            if group_values:
                group_limit = _write_group(w, sink, &group_keys, group_values)
            # it.key stays valid while code runs: it is the iterator's own
            # buffer, and the iterator re-seeks after its key if the tree
            # changed meanwhile.
            data = _encode_value(store, value, &tag)
            rc = rx_snap_writer_add(w, it.key, it.key_len,
                                    <const unsigned char *>PyBytes_AS_STRING(<PyObject *>data),
                                    <size_t>PyBytes_GET_SIZE(<PyObject *>data), tag,
                                    has_deadline, deadline)
            if rc != RX_OK:
                _raise_writer_error(rc, sink)
        if rc >= 0 and group_values:
            _write_group(w, sink, &group_keys, group_values)
        if rc < 0:
            raise MemoryError("out of memory while saving the store")
        rc = rx_snap_writer_finish(w)
        if rc != RX_OK:
            _raise_writer_error(rc, sink)
        size = rx_snap_writer_bytes(w)
    finally:
        rx_iter_release(&ahead)
        rx_iter_release(&it)
        rx_snap_writer_free(w)
        _group_keys_free(&group_keys)
    return size


cdef enum:
    _LOOKAHEAD = 8  # keys between the prefetching iterator and the save's


cdef inline bint _prefetch_next(rx_iter *ahead) noexcept:
    """Steps the prefetching iterator and prefetches the value it finds;
    False once it has no more keys (or ran out of memory re-seeking)."""
    if rx_iter_next(ahead) != 1:
        return False
    ms_prefetch_value(<const void *>_value_of(ahead.value))
    return True


cdef struct _GroupKey:
    size_t end  # in _GroupKeys.buf: the key runs from the previous end
    bint has_deadline
    int64_t deadline


# The keys (and deadlines) of the pickle group being gathered, copied into
# one buffer: a bytes object per key was a tenth of a save of dict values.
cdef struct _GroupKeys:
    unsigned char *buf
    size_t used, cap
    _GroupKey *keys
    Py_ssize_t n, keys_cap


cdef int _group_keys_add(_GroupKeys *g, const unsigned char *key, size_t key_len,
                         bint has_deadline, int64_t deadline) except -1:
    cdef void *p
    cdef size_t cap
    if g.used + key_len > g.cap:
        cap = max(g.cap * 2, g.used + key_len, <size_t>4096)
        p = PyMem_Realloc(g.buf, cap)
        if p is NULL:
            raise MemoryError("out of memory while saving the store")
        g.buf = <unsigned char *>p
        g.cap = cap
    if g.n == g.keys_cap:
        cap = max(<size_t>g.keys_cap * 2, <size_t>64)
        p = PyMem_Realloc(g.keys, cap * sizeof(_GroupKey))
        if p is NULL:
            raise MemoryError("out of memory while saving the store")
        g.keys = <_GroupKey *>p
        g.keys_cap = <Py_ssize_t>cap
    if key_len:
        memcpy(g.buf + g.used, key, key_len)
    g.used += key_len
    g.keys[g.n].end = g.used
    g.keys[g.n].has_deadline = has_deadline
    g.keys[g.n].deadline = deadline if has_deadline else 0
    g.n += 1
    return 0


cdef void _group_keys_free(_GroupKeys *g) noexcept:
    PyMem_Free(g.buf)
    PyMem_Free(g.keys)


cdef Py_ssize_t _write_group(rx_snap_writer *w, _Sink sink, _GroupKeys *keys,
                             list values) except -1:
    """Writes a pickle group: the first record carries the pickle of the
    list of values, the others no bytes.  Empties keys and values; returns
    how many values the next group should hold."""
    cdef Py_ssize_t i, n = len(values)
    cdef int rc
    cdef size_t per_value, start = 0
    ms_group_prefetch(values, 8)
    data = _pickle().dumps(values, 5)
    for i in range(n):
        rc = rx_snap_writer_add(
            w, keys.buf + start, keys.keys[i].end - start,
            <const unsigned char *>PyBytes_AS_STRING(<PyObject *>data) if i == 0 else NULL,
            <size_t>PyBytes_GET_SIZE(<PyObject *>data) if i == 0 else 0,
            _TAG_GROUP if i == 0 else _TAG_IN_GROUP,
            keys.keys[i].has_deadline, keys.keys[i].deadline)
        if rc != RX_OK:
            _raise_writer_error(rc, sink)
        start = keys.keys[i].end
    keys.n = 0
    keys.used = 0
    del values[:]
    per_value = <size_t>PyBytes_GET_SIZE(<PyObject *>data) // <size_t>n + 1
    return max(1, min(_GROUP_MAX, <Py_ssize_t>(_GROUP_BYTES // per_value)))


cdef int _raise_writer_error(int rc, _Sink sink) except -1:
    if rc == RX_SNAP_EIO and sink.error is not None:
        error = sink.error
        sink.error = None
        raise error
    if rc == RX_ENOMEM:
        raise MemoryError("out of memory while saving the store")
    raise SystemError(f"snapshot writer: {rx_snap_strerror(rc).decode()}")


cdef class _Source:
    """What the reader's callback needs: the file, and the first exception
    it raised."""
    cdef object readinto
    cdef object read
    cdef object error


cdef int _source_read(void *ctx, unsigned char *buf, size_t want, size_t *got) noexcept:
    cdef _Source source = <_Source>ctx
    cdef Py_ssize_t n
    try:
        if source.readinto is not None:
            view = PyMemoryView_FromMemory(<char *>buf, <Py_ssize_t>want, PyBUF_WRITE)
            try:
                n = source.readinto(view)
            finally:
                view.release()  # the reader's block must not outlive this call
        else:
            chunk = source.read(want)
            if not PyBytes_Check(<PyObject *>chunk):
                raise TypeError(f"the file's read() returned {_type_name(chunk)}, not bytes")
            n = PyBytes_GET_SIZE(<PyObject *>chunk)
            if <size_t>n > want:
                raise OSError(f"the file's read() returned {n} bytes, more than the {want} asked")
            memcpy(buf, PyBytes_AS_STRING(<PyObject *>chunk), <size_t>n)
        if n < 0 or <size_t>n > want:
            raise OSError(f"the file's readinto() returned {n}")
        got[0] = <size_t>n
        return 0
    except BaseException as error:
        source.error = error
        return 1


cdef int _raise_reader_error(int rc, rx_snap_reader *r, _Source source,
                             object path) except -1:
    if rc == RX_SNAP_EIO and source.error is not None:
        error = source.error
        source.error = None
        raise error
    if rc == RX_ENOMEM:
        raise MemoryError("out of memory while loading a snapshot")
    offset = rx_snap_reader_error_offset(r)
    raise SnapshotError(f"{_where(path)}: {rx_snap_strerror(rc).decode()} at byte {offset}",
                        path, offset)


cdef int _load_stream(TrieStoreBase store, object file, object path) except -1:
    """Fills store, which must be new and empty, from the snapshot in file,
    building its tree bottom-up (rx_build_*: one pass, no descent per key,
    nodes laid out in key order).  Raises (SnapshotError for a bad file)
    with nothing loaded: the partial tree is freed and its values released.
    Keys whose deadline has passed are dropped."""
    cdef rx_snap_reader *r = NULL
    cdef rx_builder *builder = NULL
    cdef rx_tree *tree = NULL
    cdef rx_snap_record rec
    cdef _Source source = _Source()
    cdef _Group group = _Group()
    cdef _Entry *entry
    cdef void *stored
    cdef int rc, queued
    cdef bint expired
    cdef double now = 0, deadline = 0
    cdef bint clock_read = False, added_any = False
    # The builder wants each key's common prefix with the last key *added*;
    # over dropped (expired) records that is the least of the shared
    # lengths since, as the keys are sorted.
    cdef size_t shared = <size_t>-1
    # bytes values may go in without the type check of _decode_value
    cdef bint bytes_ok = store._value_type is None or issubclass(bytes, store._value_type)
    source.readinto = getattr(file, "readinto", None)
    if source.readinto is None:
        source.read = file.read
    if rx_snap_reader_open(&r, &_ALLOCATOR, _source_read, <void *>source) != RX_OK:
        raise MemoryError("out of memory while loading a snapshot")
    ms_load_begin()
    try:
        if rx_pool_build_new(store.pool, &builder) != RX_OK:
            raise MemoryError("out of memory while loading a snapshot")
        rc = rx_snap_reader_header(r)
        if rc != RX_OK:
            _raise_reader_error(rc, r, source, path)
        if rx_snap_reader_file_tag(r) != _FILE_TAG:
            raise SnapshotError(f"{_where(path)}: unknown file value tag "
                                f"{rx_snap_reader_file_tag(r)} at byte 12", path, 12)
        while True:
            rc = rx_snap_reader_next(r, &rec)
            if rc == 0:
                _group_closed(group, path, rx_snap_reader_error_offset(r))
                break
            if rc < 0:
                _raise_reader_error(rc, r, source, path)
            if rec.shared < shared:
                shared = rec.shared
            if rec.value_tag == _TAG_BYTES and not rec.has_deadline and bytes_ok:
                # The common record, without _decode_value's dispatch: a
                # bytes value made straight from the reader's block.
                value = _new_bytes(<const char *>rec.value, <Py_ssize_t>rec.value_len)
                rc = rx_build_add(builder, rec.key, rec.key_len,
                                  shared if added_any else 0, <void *>value)
                if rc != RX_OK:
                    _raise_build_error(rc, &rec, path)
                Py_INCREF(<PyObject *>value)  # the tree's reference
                added_any = True
                shared = <size_t>-1
                continue
            expired = False
            if rec.has_deadline:
                if not clock_read:
                    now = store._now()
                    clock_read = True
                deadline = <double>rec.deadline / 1000.0
                expired = deadline <= now
            # An expired key's value is still read when it is part of a
            # pickle group, so that the group's next values stay in step.
            if expired and rec.value_tag != _TAG_GROUP and rec.value_tag != _TAG_IN_GROUP:
                continue
            value = _decode_value(store, rec.value, rec.value_len, rec.value_tag, group,
                                  path, None, rec.key, rec.key_len)
            if expired:
                continue
            stored = <void *>value
            entry = NULL
            if rec.has_deadline:
                store._ensure_queue()
                entry = <_Entry *>PyMem_Malloc(sizeof(_Entry))
                if entry is NULL:
                    raise MemoryError("out of memory while loading a snapshot")
                entry.value = <PyObject *>value
                entry.deadline = deadline
                stored = _tagged(entry)
            rc = rx_build_add(builder, rec.key, rec.key_len, shared if added_any else 0, stored)
            if rc != RX_OK:
                PyMem_Free(entry)
                _raise_build_error(rc, &rec, path)
            Py_INCREF(<PyObject *>value)  # the tree's reference, now it holds it
            if entry is not NULL:
                queued = store._queue_add(deadline, rec.key, rec.key_len)
                if queued < 0:
                    raise MemoryError("out of memory while loading a snapshot")
            added_any = True
            shared = <size_t>-1
        rx_build_finish(builder, &tree)  # cannot fail
        builder = NULL
        rx_tree_free(store.tree, NULL, NULL)  # new and empty: owns nothing
        store.tree = tree
    finally:
        if builder is not NULL:
            rx_build_abort(builder, _release_value, NULL)
        rx_snap_reader_free(r)
        ms_load_end()
    return 0


cdef int _raise_build_error(int rc, rx_snap_record *rec, object path) except -1:
    if rc == RX_ENOMEM:
        raise MemoryError("out of memory while loading a snapshot")
    # The reader checked the order: only the tree's own limits (a key too
    # long for it, 2^32 keys) are left.
    raise SnapshotError(f"{_where(path)}: key {_decode(rec.key, rec.key_len)!r} "
                        f"cannot be loaded: {_build_error(rc)}", path, None)


cdef str _build_error(int rc):
    if rc == RX_ETOOBIG:
        return "longer than the tree's limit, or one key too many"
    return f"the tree refused it ({rc})"


# ---------------------------------------------------------- journal records
#
# A record is [u32 payload length][u32 CRC-32C of the payload][u32 CRC-32C
# of the 8 bytes before it][payload], little-endian (docs/persistence-format.md); the payload starts with an op byte and the clock reading
# the write was applied at, so a replay purges exactly what the write saw
# expire.  memstore/persistence.py frames files of them; the payloads are
# encoded and applied here.

cdef enum:
    _OP_MSET = 1
    _OP_MDELETE = 2
    _OP_DELETE_PREFIX = 3
    _OP_CLEAR = 4
    _OP_EXPIRE = 5
    _OP_PERSIST = 6
    _RECORD_HEADER = 12
    _OP_SET = 101      # __setitem__: logged as a one-pair mset
    _OP_DELITEM = 102  # __delitem__: logged as a one-key mdelete


cdef struct _Out:
    unsigned char *p
    size_t n


cdef inline size_t _varint_size(uint64_t v) noexcept:
    cdef size_t n = 1
    while v >= 0x80:
        v >>= 7
        n += 1
    return n


cdef inline void _put_varint(_Out *o, uint64_t v) noexcept:
    while v >= 0x80:
        o.p[o.n] = <unsigned char>(v & 0x7f) | 0x80
        o.n += 1
        v >>= 7
    o.p[o.n] = <unsigned char>v
    o.n += 1


cdef inline void _put_bytes(_Out *o, const unsigned char *data, size_t size) noexcept:
    _put_varint(o, size)
    if size:
        memcpy(o.p + o.n, data, size)
        o.n += size


cdef inline void _put_f64(_Out *o, double v) noexcept:
    cdef uint64_t bits
    cdef int i
    memcpy(&bits, &v, 8)
    for i in range(8):
        o.p[o.n + i] = <unsigned char>(bits >> (8 * i))
    o.n += 8


cdef inline void _put_u32(unsigned char *p, uint32_t v) noexcept:
    p[0] = <unsigned char>v
    p[1] = <unsigned char>(v >> 8)
    p[2] = <unsigned char>(v >> 16)
    p[3] = <unsigned char>(v >> 24)


cdef object _new_record(size_t payload_size, _Out *o):
    """A bytes object with room for a record of payload_size; o writes the
    payload.  _seal_record fills the header when the payload is written."""
    if payload_size > 0xFFFFFFFF - _RECORD_HEADER:
        raise ValueError(f"a write of {payload_size} bytes is too large to journal (4 GiB)")
    record = _new_bytes(NULL, <Py_ssize_t>(payload_size + _RECORD_HEADER))
    o.p = <unsigned char *>PyBytes_AS_STRING(<PyObject *>record)
    o.n = _RECORD_HEADER
    return record


cdef void _seal_record(_Out *o) noexcept:
    cdef uint32_t size = <uint32_t>(o.n - _RECORD_HEADER)
    _put_u32(o.p, size)
    _put_u32(o.p + 4, rx_snap_crc32c(0, o.p + _RECORD_HEADER, size))
    _put_u32(o.p + 8, rx_snap_crc32c(0, o.p, 8))


def _crc32c(const unsigned char[:] data not None, uint32_t crc=0):
    """CRC-32C of data, continuing from crc (the journal reader's check).
    O(len(data))."""
    if data.shape[0] == 0:
        return crc
    return rx_snap_crc32c(crc, &data[0], <size_t>data.shape[0])


cdef object _key_record(int op, double now, double ttl, object key):
    """A record naming one key or prefix: delete_prefix, expire, persist."""
    cdef const unsigned char *data
    cdef size_t size
    cdef _Out o
    owner = _key_bytes(<PyObject *>key, &data, &size)
    record = _new_record(1 + 8 + (8 if op == _OP_EXPIRE else 0) + _varint_size(size) + size, &o)
    o.p[o.n] = <unsigned char>op
    o.n += 1
    _put_f64(&o, now)
    if op == _OP_EXPIRE:
        _put_f64(&o, ttl)
    _put_bytes(&o, data, size)
    _seal_record(&o)
    return record


cdef object _clear_record(double now):
    cdef _Out o
    record = _new_record(9, &o)
    o.p[o.n] = _OP_CLEAR
    o.n += 1
    _put_f64(&o, now)
    _seal_record(&o)
    return record


cdef object _mdelete_record(double now, object keys):
    """keys: a list or tuple of str, already checked."""
    cdef Py_ssize_t i, n = len(keys)
    cdef size_t total = 1 + 8 + _varint_size(<uint64_t>n), size
    cdef const unsigned char *data
    cdef _Out o
    owners = [None] * n
    for i in range(n):
        owners[i] = _key_owner(<PyObject *>keys[i])
        _owner_bytes(<PyObject *>owners[i], &data, &size)
        total += _varint_size(size) + size
    record = _new_record(total, &o)
    o.p[o.n] = _OP_MDELETE
    o.n += 1
    _put_f64(&o, now)
    _put_varint(&o, <uint64_t>n)
    for i in range(n):
        _owner_bytes(<PyObject *>owners[i], &data, &size)
        _put_bytes(&o, data, size)
    _seal_record(&o)
    return record


cdef struct _Pair:
    const unsigned char *key
    size_t key_size
    const unsigned char *value
    size_t value_size
    unsigned tag


cdef object _mset_record(TrieStoreBase store, double now, double ttl, list pairs):
    """pairs: a private list of (str, value) tuples, already checked.  ttl:
    NaN for no lifetime.  Serializes every value that is not bytes (Python
    code).  The bytes are read in place: ASCII keys and bytes values from
    the pairs, which the list keeps alive; the rest from `made`."""
    cdef Py_ssize_t i, n = len(pairs)
    cdef size_t total = 1 + 8 + 8 + _varint_size(<uint64_t>n)
    cdef PyObject *pair
    cdef _Pair *parts
    cdef _Out o
    made = []  # encoded keys and serialized values, alive until written
    grouped = []  # the values pickled together
    cdef Py_ssize_t first_grouped = -1
    cdef bint grouping = store._serializer is None
    parts = <_Pair *>PyMem_Malloc(<size_t>n * sizeof(_Pair) if n else 1)
    if parts is NULL:
        raise MemoryError("out of memory while journaling a batch")
    try:
        for i in range(n):
            pair = PyList_GET_ITEM(<PyObject *>pairs, i)
            key = <object>PyTuple_GET_ITEM(pair, 0)
            owner = _key_owner(<PyObject *>key)
            if owner is not key:
                made.append(owner)
            _owner_bytes(<PyObject *>owner, &parts[i].key, &parts[i].key_size)
            value = <object>PyTuple_GET_ITEM(pair, 1)
            if grouping and not PyBytes_Check(<PyObject *>value):
                # One pickle for the batch's values (see _TAG_GROUP): the
                # first such pair carries it, the others no bytes.
                if first_grouped < 0:
                    first_grouped = i
                    parts[i].tag = _TAG_GROUP
                else:
                    parts[i].tag = _TAG_IN_GROUP
                grouped.append(value)
                parts[i].value = NULL
                parts[i].value_size = 0
            else:
                data = _encode_value(store, value, &parts[i].tag)
                if data is not value:
                    made.append(data)
                parts[i].value = <const unsigned char *>PyBytes_AS_STRING(<PyObject *>data)
                parts[i].value_size = <size_t>PyBytes_GET_SIZE(<PyObject *>data)
            total += (_varint_size(parts[i].key_size) + parts[i].key_size + 1
                      + _varint_size(parts[i].value_size) + parts[i].value_size)
        if first_grouped >= 0:
            data = _pickle().dumps(grouped, 5)
            made.append(data)
            parts[first_grouped].value = <const unsigned char *>PyBytes_AS_STRING(<PyObject *>data)
            parts[first_grouped].value_size = <size_t>PyBytes_GET_SIZE(<PyObject *>data)
            total += _varint_size(parts[first_grouped].value_size) - 1
            total += parts[first_grouped].value_size
        record = _new_record(total, &o)
        o.p[o.n] = _OP_MSET
        o.n += 1
        _put_f64(&o, now)
        _put_f64(&o, ttl)
        _put_varint(&o, <uint64_t>n)
        for i in range(n):
            _put_bytes(&o, parts[i].key, parts[i].key_size)
            o.p[o.n] = <unsigned char>parts[i].tag
            o.n += 1
            _put_bytes(&o, parts[i].value, parts[i].value_size)
        _seal_record(&o)
    finally:
        PyMem_Free(parts)
    return record


cdef struct _In:
    const unsigned char *p
    size_t n
    size_t at


cdef int _bad_record(object path, object offset, str what) except -1:
    raise SnapshotError(f"{_where(path)}: journal record at byte {offset}: {what}",
                        path, offset)


cdef inline uint64_t _get_varint(_In *i, object path, object offset) except? 0xFFFFFFFFFFFFFFFF:
    cdef uint64_t v = 0
    cdef int shift = 0
    cdef unsigned char b
    while True:
        if i.at >= i.n or shift > 63:
            _bad_record(path, offset, "a length runs past its end")
        b = i.p[i.at]
        i.at += 1
        v |= (<uint64_t>(b & 0x7f)) << shift
        if not b & 0x80:
            return v
        shift += 7


cdef inline double _get_f64(_In *i, object path, object offset) except? -1.0:
    cdef uint64_t bits = 0
    cdef int k
    cdef double v
    if i.n - i.at < 8:
        _bad_record(path, offset, "it ends early")
    for k in range(8):
        bits |= (<uint64_t>i.p[i.at + k]) << (8 * k)
    i.at += 8
    memcpy(&v, &bits, 8)
    return v


cdef object _get_str(_In *i, object path, object offset):
    cdef uint64_t size = _get_varint(i, path, offset)
    if size > i.n - i.at:
        _bad_record(path, offset, "a key runs past its end")
    key = _decode(i.p + i.at, <size_t>size)
    i.at += <size_t>size
    return key


cdef int _replay_record(TrieStoreBase store, const unsigned char[:] payload,
                        object path, object offset) except -1:
    """Applies one journal record's payload to store (no journal attached),
    at the clock reading it was written at."""
    cdef _In i
    cdef int op
    cdef double now, ttl
    cdef _Group group = _Group()
    cdef uint64_t n, k, size
    cdef unsigned tag
    i.p = &payload[0] if payload.shape[0] else NULL
    i.n = <size_t>payload.shape[0]
    i.at = 1
    if i.n < 9:
        _bad_record(path, offset, "it is too short")
    op = i.p[0]
    now = _get_f64(&i, path, offset)
    store._fixed_now = now
    store._has_fixed_now = True
    try:
        if op == _OP_MSET:
            ttl = _get_f64(&i, path, offset)
            n = _get_varint(&i, path, offset)
            if n > i.n:  # every pair takes at least one byte
                _bad_record(path, offset, "its pair count is too large")
            pairs = []
            for k in range(n):
                key = _get_str(&i, path, offset)
                if i.at >= i.n:
                    _bad_record(path, offset, "it ends early")
                tag = i.p[i.at]
                i.at += 1
                size = _get_varint(&i, path, offset)
                if size > i.n - i.at:
                    _bad_record(path, offset, "a value runs past its end")
                pairs.append((key, _decode_value(store, i.p + i.at, <size_t>size, tag,
                                                 group, path, offset)))
                i.at += <size_t>size
            _end_of_record(&i, path, offset)
            _group_closed(group, path, offset)
            store.mset(pairs, ttl=None if isnan(ttl) else ttl)
        elif op == _OP_MDELETE:
            n = _get_varint(&i, path, offset)
            if n > i.n:
                _bad_record(path, offset, "its key count is too large")
            keys = [_get_str(&i, path, offset) for k in range(n)]
            _end_of_record(&i, path, offset)
            store.mdelete(keys)
        elif op == _OP_DELETE_PREFIX:
            prefix = _get_str(&i, path, offset)
            _end_of_record(&i, path, offset)
            store.delete_prefix(prefix)
        elif op == _OP_CLEAR:
            _end_of_record(&i, path, offset)
            store.clear()
        elif op == _OP_EXPIRE:
            ttl = _get_f64(&i, path, offset)
            key = _get_str(&i, path, offset)
            _end_of_record(&i, path, offset)
            store.expire(key, ttl)
        elif op == _OP_PERSIST:
            key = _get_str(&i, path, offset)
            _end_of_record(&i, path, offset)
            store.persist(key)
        else:
            _bad_record(path, offset, f"unknown operation {op}")
    finally:
        store._has_fixed_now = False
    return 0


cdef int _end_of_record(_In *i, object path, object offset) except -1:
    if i.at != i.n:
        _bad_record(path, offset, f"{i.n - i.at} bytes after its last field")
    return 0
