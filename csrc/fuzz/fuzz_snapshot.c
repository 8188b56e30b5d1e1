/*
 * fuzz_snapshot.c -- libFuzzer harness for the snapshot reader and writer
 * (csrc/snapshot.h).
 *
 * Input: one mode byte, [one OOM byte], then the bytes of a snapshot file.
 *
 *   mode bit 0    fix the checksums first: rewrite the header CRC, every
 *                 block CRC and the trailer's block/byte totals and CRC, so
 *                 mutations reach the record parser instead of dying at the
 *                 first checksum (damage itself is covered without this bit)
 *   mode bits 1-2 read callback returns at most: all / 1 / 3 / 64 bytes
 *   mode bit 3    low limits (keys 40 bytes, values 200 bytes)
 *   mode bit 4    OOM: the next byte k makes the (k+1)-th allocation fail
 *
 * Checks (any failure prints what and aborts):
 *   - the reader returns 0 or a documented file error, never RX_SNAP_EIO /
 *     RX_SNAP_EARG, and RX_ENOMEM only when an allocation was made to fail;
 *   - the error offset lies in the file, equals its length for ETRUNCATED,
 *     and errors are sticky;
 *   - records come in strictly increasing key order, within the limits;
 *   - the reader frees everything, passes back the sizes it was given, and
 *     never holds more than its fixed part, one block and about twice the
 *     bytes of the file: no allocation of a size the file merely declares;
 *   - a file read to its verified end is written again, from its records,
 *     into exactly the same bytes (the format has one encoding per content);
 *   - the records read before any error are written and read back equal;
 *   - with an allocation failing: RX_ENOMEM or the same result as without,
 *     never a leak; a writer add refused with RX_ENOMEM succeeds on retry.
 *
 * Build and run: see csrc/fuzz/README.md and .ci/fuzz.sh.
 */
#include "snapshot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FAIL(...)                                                  \
    do {                                                           \
        fprintf(stderr, "fuzz_snapshot MISMATCH: " __VA_ARGS__);   \
        fprintf(stderr, "\n");                                     \
        abort();                                                   \
    } while (0)

/* ---- a counting allocator that can fail one allocation ---------------------- */

typedef struct {
    size_t live, peak;
    unsigned long attempts, fail_at, injected;
} alloc_state;

#define HDR 16u

static void *a_malloc(void *ctx, size_t n)
{
    alloc_state *a = ctx;
    unsigned char *b;
    if (++a->attempts == a->fail_at) {
        a->injected++;
        return NULL;
    }
    b = malloc(n + HDR);
    if (b == NULL)
        FAIL("harness out of memory (%zu bytes asked)", n);
    memcpy(b, &n, sizeof n);
    a->live += n;
    if (a->live > a->peak)
        a->peak = a->live;
    return b + HDR;
}

static void *a_realloc(void *ctx, void *p, size_t old, size_t n)
{
    alloc_state *a = ctx;
    unsigned char *b = (unsigned char *)p - HDR;
    size_t rec;
    if (++a->attempts == a->fail_at) {
        a->injected++;
        return NULL;
    }
    memcpy(&rec, b, sizeof rec);
    if (rec != old)
        FAIL("realloc passed size %zu for a block of %zu", old, rec);
    b = realloc(b, n + HDR);
    if (b == NULL)
        FAIL("harness out of memory (%zu bytes asked)", n);
    memcpy(b, &n, sizeof n);
    a->live = a->live - rec + n;
    if (a->live > a->peak)
        a->peak = a->live;
    return b + HDR;
}

static void a_free(void *ctx, void *p, size_t n)
{
    alloc_state *a = ctx;
    unsigned char *b = (unsigned char *)p - HDR;
    size_t rec;
    memcpy(&rec, b, sizeof rec);
    if (rec != n)
        FAIL("free passed size %zu for a block of %zu", n, rec);
    a->live -= rec;
    free(b);
}

static rx_allocator make_alloc(alloc_state *a, unsigned long fail_at)
{
    rx_allocator r;
    memset(a, 0, sizeof *a);
    a->fail_at = fail_at;
    r.malloc_fn = a_malloc;
    r.realloc_fn = a_realloc;
    r.free_fn = a_free;
    r.ctx = a;
    return r;
}

/* ---- in-memory files -------------------------------------------------------- */

typedef struct {
    const unsigned char *p;
    size_t n, pos, chunk;
} source;

static int source_read(void *ctx, unsigned char *buf, size_t want, size_t *got)
{
    source *s = ctx;
    size_t k = s->n - s->pos;
    if (want == 0)
        FAIL("read callback asked for 0 bytes");
    if (k > want)
        k = want;
    if (s->chunk && k > s->chunk)
        k = s->chunk;
    if (k)
        memcpy(buf, s->p + s->pos, k);
    s->pos += k;
    *got = k;
    return 0;
}

typedef struct {
    unsigned char *p;
    size_t n, cap;
} sink;

static int sink_write(void *ctx, const unsigned char *buf, size_t len)
{
    sink *s = ctx;
    if (len == 0)
        FAIL("write callback given 0 bytes");
    if (s->n + len > s->cap) {
        size_t c = s->cap ? s->cap : 1024;
        while (c < s->n + len)
            c *= 2;
        s->p = realloc(s->p, c);
        if (s->p == NULL)
            FAIL("harness out of memory");
        s->cap = c;
    }
    memcpy(s->p + s->n, buf, len);
    s->n += len;
    return 0;
}

/* ---- records read ---------------------------------------------------------------- */

typedef struct {
    size_t koff, kn, voff, vn; /* into the arena */
    unsigned tag;
    int has_dl;
    int64_t dl;
} rec;

typedef struct {
    rec *r;
    size_t n, cap;
    unsigned char *arena;
    size_t used, acap;
} recs;

static size_t arena_put(recs *s, const unsigned char *p, size_t n)
{
    size_t at = s->used;
    /* allocated even for empty keys and values: arena + offset must be a
     * valid pointer for the writer */
    if (s->arena == NULL || s->used + n > s->acap) {
        size_t c = s->acap ? s->acap : 1024;
        while (c < s->used + n)
            c *= 2;
        s->arena = realloc(s->arena, c);
        if (s->arena == NULL)
            FAIL("harness out of memory");
        s->acap = c;
    }
    if (n)
        memcpy(s->arena + at, p, n);
    s->used += n;
    return at;
}

static void recs_push(recs *s, const rx_snap_record *x)
{
    rec *r;
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->r = realloc(s->r, s->cap * sizeof *s->r);
        if (s->r == NULL)
            FAIL("harness out of memory");
    }
    r = &s->r[s->n++];
    r->koff = arena_put(s, x->key, x->key_len);
    r->kn = x->key_len;
    r->voff = arena_put(s, x->value, x->value_len);
    r->vn = x->value_len;
    r->tag = x->value_tag;
    r->has_dl = x->has_deadline;
    r->dl = x->deadline;
}

static void recs_free(recs *s)
{
    free(s->r);
    free(s->arena);
    memset(s, 0, sizeof *s);
}

static int keycmp(const unsigned char *a, size_t an, const unsigned char *b, size_t bn)
{
    size_t n = an < bn ? an : bn;
    int c = n ? memcmp(a, b, n) : 0;
    if (c)
        return c;
    return an < bn ? -1 : an > bn;
}

static void recs_same(const recs *a, const recs *b, const char *what)
{
    size_t i;
    if (a->n != b->n)
        FAIL("%s: %zu records, want %zu", what, b->n, a->n);
    for (i = 0; i < a->n; i++) {
        const rec *x = &a->r[i], *y = &b->r[i];
        if (keycmp(a->arena + x->koff, x->kn, b->arena + y->koff, y->kn) != 0 ||
            keycmp(a->arena + x->voff, x->vn, b->arena + y->voff, y->vn) != 0 ||
            x->tag != y->tag || x->has_dl != y->has_dl || x->dl != y->dl)
            FAIL("%s: record %zu differs", what, i);
    }
}

/* ---- reading and writing ------------------------------------------------------------- */

typedef struct {
    int rc;
    uint64_t off;
    unsigned file_tag;
    size_t block_size;
    recs got;
    alloc_state a;
} outcome;

static void read_file(const unsigned char *p, size_t n, size_t chunk, int low_limits,
                      unsigned long fail_at, outcome *o)
{
    rx_snap_reader *r;
    rx_snap_record x;
    rx_allocator al = make_alloc(&o->a, fail_at);
    source src;
    uint64_t max_key = low_limits ? 40 : RX_SNAP_MAX_KEY_LEN;
    uint64_t max_val = low_limits ? 200 : RX_SNAP_DEFAULT_MAX_VALUE_LEN;
    size_t bound;
    memset(&o->got, 0, sizeof o->got);
    src.p = p;
    src.n = n;
    src.pos = 0;
    src.chunk = chunk;
    o->rc = rx_snap_reader_open(&r, &al, source_read, &src);
    o->off = 0;
    o->file_tag = 0;
    o->block_size = 0;
    if (o->rc != RX_OK) {
        if (o->rc != RX_ENOMEM || o->a.injected == 0 || r != NULL)
            FAIL("reader_open returned %d", o->rc);
        return;
    }
    if (low_limits)
        rx_snap_reader_set_limits(r, max_key, max_val);
    while ((o->rc = rx_snap_reader_next(r, &x)) == 1) {
        if (x.key == NULL || x.value == NULL || x.value_tag > RX_SNAP_MAX_VALUE_TAG ||
            x.key_len > max_key || x.value_len > max_val || (!x.has_deadline && x.deadline))
            FAIL("bad record %zu", o->got.n);
        if (o->got.n > 0) {
            const rec *l = &o->got.r[o->got.n - 1];
            const unsigned char *lk = o->got.arena + l->koff;
            size_t lcp = 0;
            if (keycmp(lk, l->kn, x.key, x.key_len) >= 0)
                FAIL("record %zu is not after the previous one", o->got.n);
            while (lcp < l->kn && lcp < x.key_len && lk[lcp] == x.key[lcp])
                lcp++;
            if (x.shared != lcp)
                FAIL("record %zu: shared %zu, common prefix %zu", o->got.n, x.shared, lcp);
        } else if (x.shared != 0) {
            FAIL("first record: shared %zu", x.shared);
        }
        recs_push(&o->got, &x);
    }
    o->off = rx_snap_reader_error_offset(r);
    o->file_tag = rx_snap_reader_file_tag(r);
    o->block_size = rx_snap_reader_block_size(r);
    if (rx_snap_reader_count(r) != o->got.n)
        FAIL("reader_count %llu, records %zu", (unsigned long long)rx_snap_reader_count(r),
             o->got.n);
    if (o->rc < 0) {
        int again = rx_snap_reader_next(r, &x);
        if (again != o->rc || rx_snap_reader_error_offset(r) != o->off)
            FAIL("error %d not sticky (then %d)", o->rc, again);
    } else if (rx_snap_reader_next(r, &x) != 0) {
        FAIL("end not sticky");
    }
    /* fixed part (the reader and its CRC tables), one block, and each of
     * the key and value buffers at most twice the file */
    bound = 16384 + RX_SNAP_MAX_BLOCK + 4 + 4 * n + 256;
    if (o->a.peak > bound)
        FAIL("reader held %zu bytes for a %zu-byte file", o->a.peak, n);
    rx_snap_reader_free(r);
    if (o->a.live != 0)
        FAIL("reader leaked %zu bytes", o->a.live);

    switch (o->rc) {
    case 0:
        if (o->off != n)
            FAIL("end at offset %llu of %zu", (unsigned long long)o->off, n);
        break;
    case RX_ENOMEM:
        if (o->a.injected == 0)
            FAIL("RX_ENOMEM with no failed allocation");
        break;
    case RX_SNAP_ETRUNCATED:
        if (o->off != n)
            FAIL("truncated at %llu, file is %zu", (unsigned long long)o->off, n);
        break;
    case RX_SNAP_ETRAILING:
        if (o->off >= n)
            FAIL("trailing bytes at %llu of %zu", (unsigned long long)o->off, n);
        break;
    case RX_SNAP_EMAGIC:
    case RX_SNAP_EVERSION:
    case RX_SNAP_EHEADER:
    case RX_SNAP_ECHECKSUM:
    case RX_SNAP_ELENGTH:
    case RX_SNAP_EORDER:
    case RX_SNAP_ENONCANON:
    case RX_SNAP_ECOUNT:
    case RX_SNAP_ERECORD:
        if (o->off >= n)
            FAIL("error %d at offset %llu of %zu", o->rc, (unsigned long long)o->off, n);
        break;
    default:
        FAIL("unexpected return %d", o->rc);
    }
}

/* Writes the records; with fail_at set, an add refused with RX_ENOMEM is
 * retried once and must then succeed. */
static void write_recs(const recs *s, unsigned file_tag, size_t bs, unsigned long fail_at,
                       sink *out)
{
    rx_snap_writer *w;
    alloc_state as;
    rx_allocator al = make_alloc(&as, fail_at);
    size_t i;
    int rc;
    memset(out, 0, sizeof *out);
    rc = rx_snap_writer_open(&w, &al, sink_write, out, file_tag, bs);
    if (rc == RX_ENOMEM && as.injected) {
        free(out->p);
        memset(out, 0, sizeof *out);
        rc = rx_snap_writer_open(&w, &al, sink_write, out, file_tag, bs);
    }
    if (rc != RX_OK)
        FAIL("writer_open(tag %u, block %zu) returned %d", file_tag, bs, rc);
    for (i = 0; i < s->n; i++) {
        const rec *r = &s->r[i];
        rc = rx_snap_writer_add(w, s->arena + r->koff, r->kn, s->arena + r->voff, r->vn, r->tag,
                                r->has_dl, r->dl);
        if (rc == RX_ENOMEM && as.injected)
            rc = rx_snap_writer_add(w, s->arena + r->koff, r->kn, s->arena + r->voff, r->vn,
                                    r->tag, r->has_dl, r->dl);
        if (rc != RX_OK)
            FAIL("writer_add of record %zu returned %d", i, rc);
    }
    if ((rc = rx_snap_writer_finish(w)) != RX_OK)
        FAIL("writer_finish returned %d", rc);
    if (rx_snap_writer_bytes(w) != out->n || rx_snap_writer_count(w) != s->n)
        FAIL("writer totals differ from its output");
    rx_snap_writer_free(w);
    if (as.live != 0)
        FAIL("writer leaked %zu bytes", as.live);
}

/* ---- checksum fix-up ---------------------------------------------------------------------- */

static uint32_t crc32c(uint32_t crc, const unsigned char *p, size_t n)
{
    int k;
    crc = ~crc;
    while (n--) {
        crc ^= *p++;
        for (k = 0; k < 8; k++)
            crc = (crc & 1u) ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
    }
    return ~crc;
}

static uint32_t rd32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void wr32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static void wr64(unsigned char *p, uint64_t v)
{
    wr32(p, (uint32_t)v);
    wr32(p + 4, (uint32_t)(v >> 32));
}

/* Makes every checksum (and the trailer's block and byte totals) right, as
 * far as the framing can be followed; the record count is left to the
 * fuzzer, which finds it through the comparison the reader makes. */
static void fix_checksums(unsigned char *p, size_t n)
{
    uint32_t chain, bs, len;
    uint64_t blocks = 0, bytes = 0;
    size_t pos = 24;
    if (n < 24)
        return;
    chain = crc32c(0, p, 20);
    wr32(p + 20, chain);
    bs = rd32(p + 16);
    while (pos + 4 <= n) {
        len = rd32(p + pos);
        if (len == 0) {
            if (pos + 32 > n)
                return;
            wr64(p + pos + 12, blocks);
            wr64(p + pos + 20, bytes);
            wr32(p + pos + 28, crc32c(chain, p + pos, 28));
            return;
        }
        if (len > bs || len > n - pos - 4 || n - pos - 4 - len < 4)
            return;
        chain = crc32c(chain, p + pos, 4 + (size_t)len);
        wr32(p + pos + 4 + len, chain);
        pos += 8 + (size_t)len;
        blocks++;
        bytes += len;
    }
}

/* ---- the harness -------------------------------------------------------------------------- */

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    static const size_t chunks[4] = {0, 1, 3, 64};
    unsigned mode;
    unsigned long fail_at = 0;
    unsigned char *file;
    size_t n;
    outcome o, oom;
    sink again;

    if (size < 1)
        return 0;
    mode = data[0];
    data++;
    size--;
    if (mode & 16u) {
        if (size < 1)
            return 0;
        fail_at = (unsigned long)data[0] + 1;
        data++;
        size--;
    }
    n = size;
    file = malloc(n ? n : 1);
    if (file == NULL)
        return 0;
    if (n)
        memcpy(file, data, n);
    if (mode & 1u)
        fix_checksums(file, n);

    read_file(file, n, chunks[(mode >> 1) & 3u], (mode & 8u) != 0, 0, &o);

    /* one encoding per content: a valid file is what its records write */
    if (o.rc == 0) {
        write_recs(&o.got, o.file_tag, o.block_size, 0, &again);
        if (again.n != n || memcmp(again.p, file, n) != 0)
            FAIL("a valid %zu-byte file rewrites as %zu different bytes", n, again.n);
        free(again.p);
    }

    /* whatever was read before an error is a valid store of its own */
    if (o.got.n > 0 || o.rc == 0) {
        outcome back;
        write_recs(&o.got, o.file_tag, o.block_size ? o.block_size : 16, fail_at, &again);
        read_file(again.p, again.n, 0, 0, 0, &back);
        if (back.rc != 0)
            FAIL("the records read (%zu) wrote a file that reads as error %d", o.got.n,
                 back.rc);
        recs_same(&o.got, &back.got, "write-back");
        recs_free(&back.got);
        free(again.p);
    }

    /* an allocation failing: RX_ENOMEM, or what happened without it */
    if (fail_at) {
        read_file(file, n, chunks[(mode >> 1) & 3u], (mode & 8u) != 0, fail_at, &oom);
        if (oom.a.injected == 0) {
            if (oom.rc != o.rc || oom.off != o.off)
                FAIL("no allocation failed, yet %d at %llu instead of %d at %llu", oom.rc,
                     (unsigned long long)oom.off, o.rc, (unsigned long long)o.off);
            recs_same(&o.got, &oom.got, "same run");
        } else if (oom.rc != RX_ENOMEM) {
            FAIL("allocation %lu failed, yet returned %d (without: %d)", fail_at, oom.rc, o.rc);
        }
        recs_free(&oom.got);
    }

    recs_free(&o.got);
    free(file);
    return 0;
}
