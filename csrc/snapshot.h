/*
 * snapshot.h -- the public contract of memstore's snapshot writer and reader.
 *
 * A snapshot is a stream of (key, value, optional deadline) records in
 * strictly increasing key order, front-coded and cut into checksummed
 * blocks of at most 64 KiB.  The format is specified byte by byte in
 * docs/persistence-format.md; this header is the C API over it.  Portable
 * C99, no Python.h, no file handling: bytes go through callbacks the caller
 * provides, so the binding can pass a Python file object.
 *
 * Memory: a writer holds one block and the previous key; a reader holds one
 * block, the current key and the current value.  Nothing is sized by a
 * length the file declares before those bytes were read and checksummed.
 *
 * Values, the value tags and deadlines are opaque: the C layer stores and
 * returns them unchanged.
 *
 * Errors: every function returns RX_OK (or a documented count) or a
 * negative code; nothing aborts.  Reader errors are sticky and come with the
 * byte offset where they were detected (rx_snap_reader_error_offset).
 *
 * Threads: a writer or reader is used by one thread at a time.
 */
#ifndef MEMSTORE_SNAPSHOT_H
#define MEMSTORE_SNAPSHOT_H

#include "radix.h" /* rx_allocator, RX_OK, RX_ENOMEM */

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Format version written, and the only one read (see the version rule). */
#define RX_SNAP_VERSION 1u
/* Largest and default block payload; smallest accepted. */
#define RX_SNAP_MAX_BLOCK 65536u
#define RX_SNAP_MIN_BLOCK 16u
/* Longest key (the tree's limit) and default longest value a reader takes. */
#define RX_SNAP_MAX_KEY_LEN ((uint64_t)UINT32_MAX)
#define RX_SNAP_DEFAULT_MAX_VALUE_LEN ((uint64_t)1 << 48)
/* Value tags (per file and per record) are 0..RX_SNAP_MAX_VALUE_TAG. */
#define RX_SNAP_MAX_FILE_TAG 255u
#define RX_SNAP_MAX_VALUE_TAG 127u

/* Status codes (RX_ENOMEM = -1 comes from radix.h).  The offset each file
 * error is reported at is documented in docs/persistence-format.md. */
#define RX_SNAP_EIO (-20)        /* the read or write callback failed */
#define RX_SNAP_EARG (-21)       /* bad argument or call out of sequence */
#define RX_SNAP_ETRUNCATED (-30) /* the file ends early */
#define RX_SNAP_EMAGIC (-31)     /* not a snapshot */
#define RX_SNAP_EVERSION (-32)   /* a format version this reader does not know */
#define RX_SNAP_EHEADER (-33)    /* reserved flag bits set, block size out of range */
#define RX_SNAP_ECHECKSUM (-34)  /* a checksum does not match: the file is corrupt */
#define RX_SNAP_ELENGTH (-35)    /* a declared length over its limit */
#define RX_SNAP_EORDER (-36)     /* keys not in strictly increasing order */
#define RX_SNAP_ENONCANON (-37)  /* a field not in its one valid encoding */
#define RX_SNAP_ECOUNT (-38)     /* the trailer's totals differ from the records */
#define RX_SNAP_ETRAILING (-39)  /* bytes after the trailer */
#define RX_SNAP_ERECORD (-40)    /* the stream ends inside a record; varint overflow */

/* A short English description of any code above (or of RX_OK/RX_ENOMEM).
 * Never NULL; static storage. */
const char *rx_snap_strerror(int code);

/* CRC-32C (Castagnoli) of n bytes continuing from crc (0 to start), as the
 * format defines it: crc32c(crc32c(0, a), b) == crc32c(0, a || b). */
uint32_t rx_snap_crc32c(uint32_t crc, const void *data, size_t n);

/* ------------------------------------------------------------------------
 * Writer.
 *
 *   rx_snap_writer *w;
 *   rc = rx_snap_writer_open(&w, NULL, my_write, file, 0, 0);
 *   for each key in sorted order:
 *       rc = rx_snap_writer_add(w, key, klen, val, vlen, 0, has_dl, dl);
 *   rc = rx_snap_writer_finish(w);      -- trailer written; file complete
 *   rx_snap_writer_free(w);
 *
 * A file the writer did not finish has no trailer, so every reader rejects
 * it (RX_SNAP_ETRUNCATED).
 * ---------------------------------------------------------------------- */

/* Writes len bytes (len > 0); returns 0 on success, non-zero on failure
 * (then the writer fails with RX_SNAP_EIO and writes nothing more). */
typedef int (*rx_snap_write_fn)(void *ctx, const unsigned char *buf, size_t len);

typedef struct rx_snap_writer rx_snap_writer;

/* New writer; writes the header at once.  alloc NULL means malloc/free,
 * else *alloc is copied.  file_tag 0..255 goes into the header's flags;
 * block_size 0 means RX_SNAP_MAX_BLOCK, else RX_SNAP_MIN_BLOCK..MAX_BLOCK.
 * RX_OK with *out set, or RX_ENOMEM / RX_SNAP_EARG / RX_SNAP_EIO with *out
 * NULL and nothing left allocated. */
int rx_snap_writer_open(rx_snap_writer **out, const rx_allocator *alloc,
                        rx_snap_write_fn write, void *ctx, unsigned file_tag,
                        size_t block_size);

/* Appends one record.  key must sort strictly after the previous key;
 * value_tag is 0..127; deadline is stored only when has_deadline.  value
 * may be NULL when value_len is 0 (key likewise).  Returns RX_OK;
 * RX_SNAP_EORDER (out of order or repeated), RX_SNAP_ELENGTH (key over
 * RX_SNAP_MAX_KEY_LEN), RX_SNAP_EARG (bad tag, after finish or a failure)
 * or RX_ENOMEM, each with nothing written and the writer still usable; or
 * RX_SNAP_EIO, after which the writer only fails. */
int rx_snap_writer_add(rx_snap_writer *w, const unsigned char *key, size_t key_len,
                       const unsigned char *value, size_t value_len, unsigned value_tag,
                       int has_deadline, int64_t deadline);

/* Writes the last block and the trailer.  RX_OK, RX_SNAP_EIO, or
 * RX_SNAP_EARG when called twice or after an I/O failure. */
int rx_snap_writer_finish(rx_snap_writer *w);

/* Records added so far. */
uint64_t rx_snap_writer_count(const rx_snap_writer *w);
/* Bytes handed to the write callback so far (the file size after finish). */
uint64_t rx_snap_writer_bytes(const rx_snap_writer *w);

/* Frees the writer (NULL is fine).  Never writes. */
void rx_snap_writer_free(rx_snap_writer *w);

/* ------------------------------------------------------------------------
 * Reader.
 *
 *   rx_snap_reader *r;
 *   rx_snap_record rec;
 *   rc = rx_snap_reader_open(&r, NULL, my_read, file);
 *   while ((rc = rx_snap_reader_next(r, &rec)) == 1) use(&rec);
 *   if (rc < 0) report(rx_snap_strerror(rc), rx_snap_reader_error_offset(r));
 *   rx_snap_reader_free(r);
 *
 * next returns 0 only after the trailer verified and the file ended right
 * after it: a caller that loads records as they come must be ready to throw
 * them away until then.
 * ---------------------------------------------------------------------- */

/* Reads up to want bytes (want > 0) into buf and puts the number read in
 * *got: 0 only at the end of the file; fewer than want is fine.  Returns 0
 * on success, non-zero on failure (the reader fails with RX_SNAP_EIO). */
typedef int (*rx_snap_read_fn)(void *ctx, unsigned char *buf, size_t want, size_t *got);

typedef struct rx_snap_reader rx_snap_reader;

/* One record; the pointers stay valid until the next call on the reader. */
typedef struct rx_snap_record {
    const unsigned char *key; /* not NUL-terminated; non-NULL */
    size_t key_len;
    /* Length of the common prefix of key and the previous record's key (0
     * for the first): a bottom-up tree builder closes the nodes deeper
     * than this without comparing keys itself. */
    size_t shared;
    const unsigned char *value; /* non-NULL */
    size_t value_len;
    unsigned value_tag; /* 0..127 */
    int has_deadline;
    int64_t deadline; /* 0 when !has_deadline */
} rx_snap_record;

/* New reader; reads nothing yet.  alloc as for the writer.  RX_OK with *out
 * set, or RX_ENOMEM with *out NULL. */
int rx_snap_reader_open(rx_snap_reader **out, const rx_allocator *alloc,
                        rx_snap_read_fn read, void *ctx);

/* Lowers the longest value accepted (default RX_SNAP_DEFAULT_MAX_VALUE_LEN)
 * and, below RX_SNAP_MAX_KEY_LEN, the longest key.  A longer one fails with
 * RX_SNAP_ELENGTH before its bytes are read.  Call before the first read. */
void rx_snap_reader_set_limits(rx_snap_reader *r, uint64_t max_key_len,
                               uint64_t max_value_len);

/* Reads and checks the header (next does it when not done yet).  RX_OK or
 * an error. */
int rx_snap_reader_header(rx_snap_reader *r);
/* After the header: the file value tag and the block size. */
unsigned rx_snap_reader_file_tag(const rx_snap_reader *r);
size_t rx_snap_reader_block_size(const rx_snap_reader *r);

/* Next record: 1 with *rec set, 0 at the verified end of the file, or a
 * negative code (then every later call returns the same code). */
int rx_snap_reader_next(rx_snap_reader *r, rx_snap_record *rec);

/* Byte offset of the error returned last (from the file's start); of the
 * end of the file after next returned 0. */
uint64_t rx_snap_reader_error_offset(const rx_snap_reader *r);
/* Records returned so far. */
uint64_t rx_snap_reader_count(const rx_snap_reader *r);

/* Frees the reader (NULL is fine). */
void rx_snap_reader_free(rx_snap_reader *r);

#ifdef __cplusplus
}
#endif

#endif /* MEMSTORE_SNAPSHOT_H */
