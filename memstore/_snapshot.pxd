# cython: language_level=3
#
# Cython view of csrc/snapshot.h, declaration for declaration and in the
# same order.  The contract (errors, offsets, memory) is documented there and
# in docs/persistence-format.md; the binding's use of it is in _persist.pxi.

from libc.stdint cimport int64_t, uint32_t, uint64_t

from memstore._radix cimport rx_allocator


cdef extern from "snapshot.h":

    unsigned RX_SNAP_VERSION
    unsigned RX_SNAP_MAX_BLOCK
    unsigned RX_SNAP_MIN_BLOCK
    uint64_t RX_SNAP_MAX_KEY_LEN
    uint64_t RX_SNAP_DEFAULT_MAX_VALUE_LEN
    unsigned RX_SNAP_MAX_FILE_TAG
    unsigned RX_SNAP_MAX_VALUE_TAG

    int RX_SNAP_EIO
    int RX_SNAP_EARG
    int RX_SNAP_ETRUNCATED
    int RX_SNAP_EMAGIC
    int RX_SNAP_EVERSION
    int RX_SNAP_EHEADER
    int RX_SNAP_ECHECKSUM
    int RX_SNAP_ELENGTH
    int RX_SNAP_EORDER
    int RX_SNAP_ENONCANON
    int RX_SNAP_ECOUNT
    int RX_SNAP_ETRAILING
    int RX_SNAP_ERECORD

    const char *rx_snap_strerror(int code)
    uint32_t rx_snap_crc32c(uint32_t crc, const void *data, size_t n)

    ctypedef int (*rx_snap_write_fn)(void *ctx, const unsigned char *buf, size_t len) noexcept
    ctypedef struct rx_snap_writer

    int rx_snap_writer_open(rx_snap_writer **out, const rx_allocator *alloc,
                            rx_snap_write_fn write, void *ctx, unsigned file_tag,
                            size_t block_size)
    int rx_snap_writer_add(rx_snap_writer *w, const unsigned char *key, size_t key_len,
                           const unsigned char *value, size_t value_len, unsigned value_tag,
                           int has_deadline, int64_t deadline)
    int rx_snap_writer_finish(rx_snap_writer *w)
    uint64_t rx_snap_writer_count(const rx_snap_writer *w)
    uint64_t rx_snap_writer_bytes(const rx_snap_writer *w)
    void rx_snap_writer_free(rx_snap_writer *w)

    ctypedef int (*rx_snap_read_fn)(void *ctx, unsigned char *buf, size_t want,
                                    size_t *got) noexcept
    ctypedef struct rx_snap_reader

    ctypedef struct rx_snap_record:
        const unsigned char *key
        size_t key_len
        size_t shared
        const unsigned char *value
        size_t value_len
        unsigned value_tag
        int has_deadline
        int64_t deadline

    int rx_snap_reader_open(rx_snap_reader **out, const rx_allocator *alloc,
                            rx_snap_read_fn read, void *ctx)
    void rx_snap_reader_set_limits(rx_snap_reader *r, uint64_t max_key_len,
                                   uint64_t max_value_len)
    int rx_snap_reader_header(rx_snap_reader *r)
    unsigned rx_snap_reader_file_tag(const rx_snap_reader *r)
    size_t rx_snap_reader_block_size(const rx_snap_reader *r)
    int rx_snap_reader_next(rx_snap_reader *r, rx_snap_record *rec)
    uint64_t rx_snap_reader_error_offset(const rx_snap_reader *r)
    uint64_t rx_snap_reader_count(const rx_snap_reader *r)
    void rx_snap_reader_free(rx_snap_reader *r)
