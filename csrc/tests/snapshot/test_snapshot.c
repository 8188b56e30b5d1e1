/*
 * test_snapshot.c -- tests of the snapshot writer and reader (csrc/snapshot.h).
 *
 *   make -C csrc test            (runs this after building it with ASan + UBSan)
 *   make -C csrc test-snapshot   (this program alone)
 *   build/test_snapshot [seed]
 *   build/test_snapshot --corpus DIR   (write the fuzzer's seed files)
 *
 * A program of its own, not part of test_radix: the Makefile builds
 * test_radix from every .c file directly in tests/, and the snapshot layer
 * needs none of the tree's model.  The few harness pieces (checks, PRNG, a counting and
 * failing allocator) are small enough to keep here.
 *
 * What is checked:
 *   - CRC-32C against a bit-at-a-time reference and the standard check value;
 *   - round trips of random sorted key sets (empty store, empty key, a 1 MB
 *     key, every byte value, values of every varint length class and around
 *     every block boundary, deadlines at the int64 extremes, every tag) at
 *     several block sizes, with reads of 1 byte at a time too, and reading
 *     then writing again gives the same bytes;
 *   - the writer refuses out-of-order and repeated keys and bad arguments
 *     without writing anything, and a failing write callback is sticky;
 *   - front coding: 10^5 chat keys cost at most 8 bytes each;
 *   - a small snapshot truncated at every byte, and with every single bit
 *     flipped, is always an error, at a plausible offset, never success;
 *   - header errors (magic, version, flags, block size), and well
 *     checksummed but malformed files (order, canonical encoding, lengths,
 *     counts, trailing bytes) give their documented code and offset;
 *   - a huge declared length allocates only what the file holds;
 *   - every allocation of the writer and the reader is made to fail in turn:
 *     RX_ENOMEM, no leak, and a retried writer still writes the same file.
 */
#include "../../snapshot.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- checks ----------------------------------------------------------------- */

static unsigned long checks, failures, test_failures;
static const char *current;

static int check(int ok, const char *file, int line, const char *expr)
{
    checks++;
    if (ok)
        return 1;
    failures++;
    if (++test_failures <= 20)
        printf("%s:%d: [%s] check failed: %s\n", file, line, current, expr);
    return 0;
}

static int check_eq(unsigned long long a, unsigned long long b, const char *file, int line,
                    const char *ea, const char *eb)
{
    checks++;
    if (a == b)
        return 1;
    failures++;
    if (++test_failures <= 20)
        printf("%s:%d: [%s] check failed: %s == %s\n    got %llu (%lld), want %llu (%lld)\n",
               file, line, current, ea, eb, a, (long long)a, b, (long long)b);
    return 0;
}

#define CHECK(c) check(!!(c), __FILE__, __LINE__, #c)
#define CHECK_EQ(a, b) \
    check_eq((unsigned long long)(a), (unsigned long long)(b), __FILE__, __LINE__, #a, #b)

static void note(const char *fmt, ...)
{
    va_list ap;
    printf("  [%s] ", current);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}

/* ---- PRNG (splitmix64) -------------------------------------------------------- */

static uint64_t seed = 20261202u;

static uint64_t rnd_state;
static uint64_t rnd(void)
{
    uint64_t z = (rnd_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static size_t below(size_t n)
{
    return (size_t)(rnd() % n);
}

/* ---- counting allocator, fails on demand ------------------------------------------ */

typedef struct {
    size_t live, peak, blocks;
    unsigned long attempts, fail_at; /* fail the fail_at-th attempt (0: never) */
    unsigned long injected, bad;
} talloc;

#define HDR 16u

static void *ta_malloc(void *ctx, size_t n)
{
    talloc *a = ctx;
    unsigned char *b;
    if (++a->attempts == a->fail_at) {
        a->injected++;
        return NULL;
    }
    b = malloc(n + HDR);
    if (b == NULL)
        return NULL;
    memcpy(b, &n, sizeof n);
    a->live += n;
    a->blocks++;
    if (a->live > a->peak)
        a->peak = a->live;
    return b + HDR;
}

static void *ta_realloc(void *ctx, void *p, size_t old, size_t n)
{
    talloc *a = ctx;
    unsigned char *b = (unsigned char *)p - HDR, *nb;
    size_t rec;
    if (++a->attempts == a->fail_at) {
        a->injected++;
        return NULL;
    }
    memcpy(&rec, b, sizeof rec);
    if (rec != old)
        a->bad++;
    nb = realloc(b, n + HDR);
    if (nb == NULL)
        return NULL;
    memcpy(nb, &n, sizeof n);
    a->live = a->live - rec + n;
    if (a->live > a->peak)
        a->peak = a->live;
    return nb + HDR;
}

static void ta_free(void *ctx, void *p, size_t n)
{
    talloc *a = ctx;
    unsigned char *b = (unsigned char *)p - HDR;
    size_t rec;
    memcpy(&rec, b, sizeof rec);
    if (rec != n)
        a->bad++;
    a->live -= rec;
    a->blocks--;
    free(b);
}

static rx_allocator ta_init(talloc *a)
{
    rx_allocator r;
    memset(a, 0, sizeof *a);
    r.malloc_fn = ta_malloc;
    r.realloc_fn = ta_realloc;
    r.free_fn = ta_free;
    r.ctx = a;
    return r;
}

/* ---- in-memory files ------------------------------------------------------------------ */

typedef struct {
    unsigned char *p;
    size_t n, cap;
    size_t fail_after; /* fail the write that would pass this many bytes (0: never) */
} sink;

static int sink_write(void *ctx, const unsigned char *buf, size_t len)
{
    sink *s = ctx;
    if (len == 0)
        return 1; /* the API promises len > 0 */
    if (s->fail_after && s->n + len > s->fail_after)
        return 1;
    if (s->n + len > s->cap) {
        size_t c = s->cap ? s->cap : 256;
        while (c < s->n + len)
            c *= 2;
        s->p = realloc(s->p, c);
        if (s->p == NULL) {
            printf("out of memory in the test\n");
            exit(2);
        }
        s->cap = c;
    }
    memcpy(s->p + s->n, buf, len);
    s->n += len;
    return 0;
}

typedef struct {
    const unsigned char *p;
    size_t n, pos;
    size_t chunk;      /* most bytes per read (0: all asked for) */
    int fail;          /* the callback reports an error */
} source;

static int source_read(void *ctx, unsigned char *buf, size_t want, size_t *got)
{
    source *s = ctx;
    size_t k = s->n - s->pos;
    if (s->fail)
        return 1;
    if (want == 0)
        return 1; /* the API promises want > 0 */
    if (k > want)
        k = want;
    if (s->chunk && k > s->chunk)
        k = s->chunk;
    memcpy(buf, s->p + s->pos, k);
    s->pos += k;
    *got = k;
    return 0;
}

/* ---- records ------------------------------------------------------------------------- */

typedef struct {
    unsigned char *k;
    size_t kn;
    unsigned char *v;
    size_t vn;
    unsigned tag;
    int has_dl;
    int64_t dl;
} rec;

typedef struct {
    rec *r;
    size_t n, cap;
} recs;

static void recs_push(recs *s, const unsigned char *k, size_t kn, const unsigned char *v,
                      size_t vn, unsigned tag, int has_dl, int64_t dl)
{
    rec *r;
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 64;
        s->r = realloc(s->r, s->cap * sizeof *s->r);
        if (s->r == NULL)
            exit(2);
    }
    r = &s->r[s->n++];
    r->k = malloc(kn + 1);
    r->v = malloc(vn + 1);
    if (r->k == NULL || r->v == NULL)
        exit(2);
    if (kn)
        memcpy(r->k, k, kn);
    if (vn)
        memcpy(r->v, v, vn);
    r->kn = kn;
    r->vn = vn;
    r->tag = tag;
    r->has_dl = has_dl;
    r->dl = has_dl ? dl : 0;
}

static void recs_free(recs *s)
{
    size_t i;
    for (i = 0; i < s->n; i++) {
        free(s->r[i].k);
        free(s->r[i].v);
    }
    free(s->r);
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

static int rec_cmp(const void *x, const void *y)
{
    const rec *a = x, *b = y;
    return keycmp(a->k, a->kn, b->k, b->kn);
}

/* Sorts and drops repeated keys (keeping the first). */
static void recs_sort_unique(recs *s)
{
    size_t i, o = 0;
    if (s->n == 0)
        return; /* qsort wants a non-NULL base even for no elements */
    qsort(s->r, s->n, sizeof *s->r, rec_cmp);
    for (i = 0; i < s->n; i++) {
        if (o > 0 && rec_cmp(&s->r[o - 1], &s->r[i]) == 0) {
            free(s->r[i].k);
            free(s->r[i].v);
            continue;
        }
        s->r[o++] = s->r[i];
    }
    s->n = o;
}

/* Writes the records; returns the file in *out (caller frees out->p). */
static int write_all(const recs *s, unsigned file_tag, size_t bs, sink *out,
                     const rx_allocator *alloc)
{
    rx_snap_writer *w;
    size_t i;
    int rc;
    memset(out, 0, sizeof *out);
    rc = rx_snap_writer_open(&w, alloc, sink_write, out, file_tag, bs);
    if (rc != RX_OK)
        return rc;
    for (i = 0; i < s->n; i++) {
        const rec *r = &s->r[i];
        rc = rx_snap_writer_add(w, r->k, r->kn, r->v, r->vn, r->tag, r->has_dl, r->dl);
        if (rc != RX_OK)
            break;
    }
    if (rc == RX_OK)
        rc = rx_snap_writer_finish(w);
    if (rc == RX_OK && !CHECK_EQ(rx_snap_writer_bytes(w), out->n))
        rc = -999;
    if (rc == RX_OK && !CHECK_EQ(rx_snap_writer_count(w), s->n))
        rc = -999;
    rx_snap_writer_free(w);
    return rc;
}

/* Reads a whole file.  Returns next's final code (0 = verified end), the
 * records read in *got (may be NULL), the error offset in *off. */
static int read_all(const unsigned char *p, size_t n, size_t chunk, recs *got, uint64_t *off,
                    const rx_allocator *alloc, rx_snap_reader **keep)
{
    rx_snap_reader *r;
    rx_snap_record rc_rec;
    source src;
    int rc;
    memset(&src, 0, sizeof src);
    src.p = p;
    src.n = n;
    src.chunk = chunk;
    rc = rx_snap_reader_open(&r, alloc, source_read, &src);
    if (rc != RX_OK)
        return rc;
    while ((rc = rx_snap_reader_next(r, &rc_rec)) == 1) {
        size_t lcp = 0;
        if (got && got->n > 0) { /* shared is the common prefix with the last key */
            const rec *l = &got->r[got->n - 1];
            while (lcp < l->kn && lcp < rc_rec.key_len && l->k[lcp] == rc_rec.key[lcp])
                lcp++;
        }
        if (got)
            CHECK_EQ(rc_rec.shared, lcp);
        if (got)
            recs_push(got, rc_rec.key, rc_rec.key_len, rc_rec.value, rc_rec.value_len,
                      rc_rec.value_tag, rc_rec.has_deadline, rc_rec.deadline);
    }
    if (off)
        *off = rx_snap_reader_error_offset(r);
    if (rc < 0) { /* sticky */
        CHECK_EQ(rx_snap_reader_next(r, &rc_rec), rc);
        if (off)
            CHECK_EQ(rx_snap_reader_error_offset(r), *off);
    }
    if (keep)
        *keep = r;
    else
        rx_snap_reader_free(r);
    return rc;
}

static int recs_equal(const recs *a, const recs *b)
{
    size_t i;
    if (!CHECK_EQ(a->n, b->n))
        return 0;
    for (i = 0; i < a->n; i++) {
        const rec *x = &a->r[i], *y = &b->r[i];
        if (!CHECK(keycmp(x->k, x->kn, y->k, y->kn) == 0) ||
            !CHECK(keycmp(x->v, x->vn, y->v, y->vn) == 0) || !CHECK_EQ(x->tag, y->tag) ||
            !CHECK_EQ(x->has_dl, y->has_dl) || !CHECK_EQ(x->dl, y->dl)) {
            note("record %zu differs", i);
            return 0;
        }
    }
    return 1;
}

/* ---- a reference CRC-32C and a raw file builder ----------------------------------- */

static uint32_t ref_crc(uint32_t crc, const unsigned char *p, size_t n)
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

static void le32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static void le64(unsigned char *p, uint64_t v)
{
    le32(p, (uint32_t)v);
    le32(p + 4, (uint32_t)(v >> 32));
}

/* Frames an arbitrary record stream into a correctly checksummed file: the
 * way to test the record parser's own checks, which damage never reaches.
 * count/blocks/bytes_delta adjust the trailer's totals. */
static void build_raw(sink *out, const unsigned char *stream, size_t n, uint32_t version,
                      uint32_t flags, uint32_t bs, uint64_t count, int64_t blocks_delta)
{
    unsigned char h[32];
    uint32_t chain;
    uint64_t blocks = 0;
    size_t pos = 0;
    memset(out, 0, sizeof *out);
    memcpy(h, "\x89MST\r\n\x1a\n", 8);
    le32(h + 8, version);
    le32(h + 12, flags);
    le32(h + 16, bs);
    chain = ref_crc(0, h, 20);
    le32(h + 20, chain);
    sink_write(out, h, 24);
    while (pos < n) {
        size_t len = n - pos < bs ? n - pos : bs;
        unsigned char l[4], c[4];
        le32(l, (uint32_t)len);
        chain = ref_crc(chain, l, 4);
        chain = ref_crc(chain, stream + pos, len);
        le32(c, chain);
        sink_write(out, l, 4);
        sink_write(out, stream + pos, len);
        sink_write(out, c, 4);
        pos += len;
        blocks++;
    }
    le32(h, 0);
    le64(h + 4, count);
    le64(h + 12, blocks + (uint64_t)blocks_delta);
    le64(h + 20, n);
    le32(h + 28, ref_crc(chain, h, 28));
    sink_write(out, h, 32);
}

/* ---- tests ------------------------------------------------------------------------------ */

static void test_crc(void)
{
    /* the writer's header CRC, checked with the reference implementation */
    static const unsigned char vec[] = "123456789";
    sink s;
    recs none = {0};
    CHECK_EQ(ref_crc(0, vec, 9), 0xE3069283u);
    CHECK_EQ(ref_crc(ref_crc(0, vec, 4), vec + 4, 5), 0xE3069283u);
    /* rx_snap_crc32c, the public one (the journal's records use it): the
     * check value, chaining, the empty input, and every length and
     * alignment up to 64 bytes against the reference */
    CHECK_EQ(rx_snap_crc32c(0, vec, 9), 0xE3069283u);
    CHECK_EQ(rx_snap_crc32c(rx_snap_crc32c(0, vec, 4), vec + 4, 5), 0xE3069283u);
    CHECK_EQ(rx_snap_crc32c(0, NULL, 0), 0u);
    CHECK_EQ(rx_snap_crc32c(0x12345678u, vec, 0), 0x12345678u);
    {
        unsigned char buf[80];
        size_t at, n;
        for (at = 0; at < sizeof buf; at++)
            buf[at] = (unsigned char)rnd();
        for (at = 0; at < 8; at++)
            for (n = 0; n + at <= 72; n++)
                CHECK_EQ(rx_snap_crc32c(0xA5A5A5A5u, buf + at, n),
                         ref_crc(0xA5A5A5A5u, buf + at, n));
    }
    /* full 64 KiB blocks (checked in three lanes where the CPU has the
     * instruction) and the short last one, against the reference */
    {
        recs big = {0};
        unsigned char *v = malloc(300000);
        size_t at = 24, i;
        uint32_t chain;
        if (v == NULL)
            exit(2);
        for (i = 0; i < 300000; i++)
            v[i] = (unsigned char)rnd();
        recs_push(&big, vec, 3, v, 300000, 0, 0, 0);
        CHECK_EQ(write_all(&big, 0, 0, &s, NULL), RX_OK);
        chain = ref_crc(0, s.p, 20);
        while (at + 4 <= s.n) {
            size_t len = s.p[at] | s.p[at + 1] << 8 | (size_t)s.p[at + 2] << 16;
            if (len == 0)
                break;
            chain = ref_crc(chain, s.p + at, 4 + len);
            CHECK_EQ(chain, (uint32_t)(s.p[at + 4 + len] | s.p[at + 5 + len] << 8 |
                                       s.p[at + 6 + len] << 16 |
                                       (uint32_t)s.p[at + 7 + len] << 24));
            at += 8 + len;
        }
        CHECK_EQ(at, s.n - 32);
        free(s.p);
        free(v);
        recs_free(&big);
    }
    CHECK_EQ(write_all(&none, 7, 0, &s, NULL), RX_OK);
    CHECK_EQ(s.n, 24u + 32u);
    CHECK(memcmp(s.p, "\x89MST\r\n\x1a\n", 8) == 0);
    CHECK_EQ(s.p[8], 1);
    CHECK_EQ(s.p[12], 7);
    CHECK_EQ(s.p[16] | s.p[17] << 8 | s.p[18] << 16, 65536);
    CHECK_EQ(ref_crc(0, s.p, 20), (uint32_t)(s.p[20] | s.p[21] << 8 | s.p[22] << 16 |
                                              (uint32_t)s.p[23] << 24));
    free(s.p);
}

/* One random key set: keys from a small alphabet (to get shared prefixes),
 * full-byte keys, the empty key; values across length classes. */
static void random_recs(recs *s, size_t n, int big)
{
    static const size_t vlens[] = {0,     1,     2,     15,    16,    17,    127,
                                   128,   129,   255,   256,   16383, 16384, 16385,
                                   65535, 65536, 65537, 70000};
    size_t i, j;
    unsigned char k[64], *v;
    size_t vmax = 70000;
    v = malloc(vmax);
    if (v == NULL)
        exit(2);
    for (j = 0; j < vmax; j++)
        v[j] = (unsigned char)rnd();
    for (i = 0; i < n; i++) {
        size_t kn = below(sizeof k + 1), vn;
        int full = below(4) == 0;
        for (j = 0; j < kn; j++)
            k[j] = full ? (unsigned char)rnd() : (unsigned char)("ab\x00\xff"[below(4)]);
        vn = big && below(8) == 0 ? vlens[below(sizeof vlens / sizeof vlens[0])] : below(40);
        recs_push(s, k, kn, v + below(vmax - vn + 1), vn, (unsigned)below(128), below(2) == 0,
                  (int64_t)rnd());
    }
    if (below(2))
        recs_push(s, k, 0, v, below(3), 0, 0, 0); /* the empty key */
    free(v);
    recs_sort_unique(s);
}

static void round_trip(const recs *s, unsigned file_tag, size_t bs)
{
    sink f, f2;
    recs got = {0};
    uint64_t off = 0;
    rx_snap_reader *r = NULL;
    size_t chunks[] = {0, 1, 7};
    size_t c;
    if (!CHECK_EQ(write_all(s, file_tag, bs, &f, NULL), RX_OK))
        return;
    for (c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
        if (c > 0 && f.n > 200000)
            break; /* byte-at-a-time reads of big files only cost time */
        recs_free(&got);
        CHECK_EQ(read_all(f.p, f.n, chunks[c], &got, &off, NULL, &r), 0);
        CHECK_EQ(off, f.n);
        CHECK_EQ(rx_snap_reader_file_tag(r), file_tag);
        CHECK_EQ(rx_snap_reader_block_size(r), bs ? bs : 65536u);
        CHECK_EQ(rx_snap_reader_count(r), s->n);
        rx_snap_reader_free(r);
        recs_equal(s, &got);
    }
    /* read then write again: the same bytes (one encoding per content) */
    if (CHECK_EQ(write_all(&got, file_tag, bs, &f2, NULL), RX_OK)) {
        CHECK_EQ(f2.n, f.n);
        CHECK(f2.n == f.n && memcmp(f.p, f2.p, f.n) == 0);
    }
    free(f2.p);
    free(f.p);
    recs_free(&got);
}

static void test_round_trip(void)
{
    static const size_t sizes[] = {16, 17, 100, 4096, 0};
    size_t i, t, n;
    rnd_state = seed;
    for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        for (t = 0; t < 12; t++) {
            recs s = {0};
            n = t == 0 ? 0 : t == 1 ? 1 : below(t < 8 ? 50 : 2000);
            random_recs(&s, n, t >= 4);
            round_trip(&s, (unsigned)below(256), sizes[i]);
            recs_free(&s);
        }
    }
}

static void test_special_records(void)
{
    recs s = {0};
    unsigned char *big = malloc(1u << 20), b[256];
    size_t i;
    static const int64_t dls[] = {INT64_MIN, -1, 0, 1, INT64_MAX};
    if (big == NULL)
        exit(2);
    for (i = 0; i < (1u << 20); i++)
        big[i] = (unsigned char)(i * 31u + 7u);
    for (i = 0; i < 256; i++)
        b[i] = (unsigned char)i;
    recs_push(&s, b, 0, b, 0, 0, 0, 0);                      /* empty key, empty value */
    recs_push(&s, b, 1, b, 256, 127, 1, INT64_MIN);          /* "\0", every byte */
    recs_push(&s, b + 1, 255, big, 1u << 20, 1, 1, INT64_MAX); /* 1 MB value */
    recs_push(&s, big, 1u << 20, b, 3, 2, 0, 0);             /* 1 MB key */
    for (i = 0; i < 5; i++) {
        unsigned char k[3] = {0xC3, 0xA9, (unsigned char)(0x80 + i)}; /* UTF-8, non-ASCII */
        recs_push(&s, k, 3, b, i, (unsigned)i, 1, dls[i]);
    }
    recs_sort_unique(&s);
    CHECK_EQ(s.n, 9u);
    round_trip(&s, 255, 0);
    round_trip(&s, 0, 16);
    recs_free(&s);
    free(big);
}

static void test_writer_errors(void)
{
    rx_snap_writer *w;
    sink a, b;
    int i;
    CHECK_EQ(rx_snap_writer_open(&w, NULL, sink_write, &a, 256, 0), RX_SNAP_EARG);
    CHECK(w == NULL);
    CHECK_EQ(rx_snap_writer_open(&w, NULL, sink_write, &a, 0, 15), RX_SNAP_EARG);
    CHECK_EQ(rx_snap_writer_open(&w, NULL, sink_write, &a, 0, 65537), RX_SNAP_EARG);
    CHECK_EQ(rx_snap_writer_open(&w, NULL, NULL, &a, 0, 0), RX_SNAP_EARG);

    /* a writer that saw refused adds writes the same file as one that did not */
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    for (i = 0; i < 2; i++) {
        sink *s = i ? &b : &a;
        if (!CHECK_EQ(rx_snap_writer_open(&w, NULL, sink_write, s, 0, 16), RX_OK))
            continue;
        CHECK_EQ(rx_snap_writer_add(w, (const unsigned char *)"b", 1, NULL, 0, 0, 0, 0), RX_OK);
        if (i) {
            CHECK_EQ(rx_snap_writer_add(w, (const unsigned char *)"b", 1, NULL, 0, 0, 0, 0),
                     RX_SNAP_EORDER);
            CHECK_EQ(rx_snap_writer_add(w, (const unsigned char *)"a", 1, NULL, 0, 0, 0, 0),
                     RX_SNAP_EORDER);
            CHECK_EQ(rx_snap_writer_add(w, (const unsigned char *)"", 0, NULL, 0, 0, 0, 0),
                     RX_SNAP_EORDER);
            CHECK_EQ(rx_snap_writer_add(w, (const unsigned char *)"ab", 2, NULL, 0, 0, 0, 0),
                     RX_SNAP_EORDER);
            CHECK_EQ(rx_snap_writer_add(w, (const unsigned char *)"c", 1, NULL, 0, 128, 0, 0),
                     RX_SNAP_EARG);
            CHECK_EQ(rx_snap_writer_add(w, NULL, 1, NULL, 0, 0, 0, 0), RX_SNAP_EARG);
            CHECK_EQ(rx_snap_writer_add(w, (const unsigned char *)"c", 1, NULL, 3, 0, 0, 0),
                     RX_SNAP_EARG);
        }
        CHECK_EQ(rx_snap_writer_add(w, (const unsigned char *)"ba", 2, NULL, 0, 0, 0, 0),
                 RX_OK);
        CHECK_EQ(rx_snap_writer_add(w, (const unsigned char *)"c", 1, NULL, 0, 0, 0, 0), RX_OK);
        CHECK_EQ(rx_snap_writer_count(w), 3u);
        CHECK_EQ(rx_snap_writer_finish(w), RX_OK);
        CHECK_EQ(rx_snap_writer_finish(w), RX_SNAP_EARG);
        CHECK_EQ(rx_snap_writer_add(w, (const unsigned char *)"d", 1, NULL, 0, 0, 0, 0),
                 RX_SNAP_EARG);
        rx_snap_writer_free(w);
    }
    CHECK(a.n == b.n && memcmp(a.p, b.p, a.n) == 0);
    free(a.p);
    free(b.p);

    /* the write callback failing: at open, mid-stream, at finish; sticky */
    for (i = 1; i < 200; i++) {
        int rc, j;
        memset(&a, 0, sizeof a);
        a.fail_after = (size_t)i;
        rc = rx_snap_writer_open(&w, NULL, sink_write, &a, 0, 16);
        if (rc != RX_OK) {
            CHECK_EQ(rc, RX_SNAP_EIO);
            CHECK(w == NULL);
            free(a.p);
            continue;
        }
        for (j = 0; j < 10 && rc == RX_OK; j++) {
            unsigned char k[2] = {'k', (unsigned char)('0' + j)};
            rc = rx_snap_writer_add(w, k, 2, (const unsigned char *)"value-bytes", 11, 0, 0, 0);
        }
        if (rc == RX_OK)
            rc = rx_snap_writer_finish(w);
        if (rc != RX_OK) {
            CHECK_EQ(rc, RX_SNAP_EIO);
            CHECK_EQ(rx_snap_writer_add(w, (const unsigned char *)"z", 1, NULL, 0, 0, 0, 0),
                     RX_SNAP_EARG);
            CHECK_EQ(rx_snap_writer_finish(w), RX_SNAP_EARG);
        }
        CHECK(rx_snap_writer_bytes(w) == a.n);
        rx_snap_writer_free(w);
        free(a.p);
        if (rc == RX_OK)
            break;
    }
}

static void test_front_coding(void)
{
    rx_snap_writer *w;
    sink s;
    char k[64];
    size_t n = 100000, i, kn, key_bytes = 0;
    double per_key;
    memset(&s, 0, sizeof s);
    if (!CHECK_EQ(rx_snap_writer_open(&w, NULL, sink_write, &s, 0, 0), RX_OK))
        return;
    for (i = 0; i < n; i++) { /* 1,000 sessions of 100 messages, in order */
        kn = (size_t)sprintf(k, "message:session-%05zu:%06zu", i / 100, i % 100);
        key_bytes += kn;
        CHECK_EQ(rx_snap_writer_add(w, (const unsigned char *)k, kn, NULL, 0, 0, 0, 0), RX_OK);
    }
    CHECK_EQ(rx_snap_writer_finish(w), RX_OK);
    rx_snap_writer_free(w);
    /* each record: key (shared, rest_len, rest) + rflags + value_len */
    per_key = (double)(s.n - 56) / (double)n;
    note("10^5 chat keys (%.1f bytes each): %.2f bytes per record with empty values, "
         "%.2f for the key alone",
         (double)key_bytes / (double)n, per_key, per_key - 2.0);
    CHECK(per_key - 2.0 <= 8.0); /* the key's own cost */
    CHECK(per_key <= 8.0);       /* even with rflags and value_len */
    {
        recs got = {0};
        uint64_t off;
        CHECK_EQ(read_all(s.p, s.n, 0, &got, &off, NULL, NULL), 0);
        CHECK_EQ(got.n, n);
        if (got.n == n)
            CHECK(got.r[n - 1].kn == kn && memcmp(got.r[n - 1].k, k, kn) == 0);
        recs_free(&got);
    }
    free(s.p);
}

/* A small snapshot with several blocks (block size 16) and every record
 * kind, for the every-byte and every-bit tests. */
static void small_file(sink *f)
{
    recs s = {0};
    recs_push(&s, (const unsigned char *)"", 0, (const unsigned char *)"v0", 2, 0, 0, 0);
    recs_push(&s, (const unsigned char *)"chat:1", 6, (const unsigned char *)"hello", 5, 1, 1,
              1733000000000);
    recs_push(&s, (const unsigned char *)"chat:10", 7, (const unsigned char *)"", 0, 2, 0, 0);
    recs_push(&s, (const unsigned char *)"chat:2", 6, (const unsigned char *)"x", 1, 0, 1, -5);
    recs_push(&s, (const unsigned char *)"z\xff", 2,
              (const unsigned char *)"a longer value that spans blocks", 32, 127, 0, 0);
    CHECK_EQ(write_all(&s, 1, 16, f, NULL), RX_OK);
    recs_free(&s);
}

static void test_truncation(void)
{
    sink f;
    size_t cut;
    small_file(&f);
    note("small snapshot: %zu bytes", f.n);
    for (cut = 0; cut < f.n; cut++) {
        uint64_t off = 0;
        int rc = read_all(f.p, cut, 0, NULL, &off, NULL, NULL);
        if (!CHECK(rc < 0) || !CHECK_EQ(rc, RX_SNAP_ETRUNCATED) || !CHECK_EQ(off, cut))
            note("cut at %zu: rc %d (%s) offset %llu", cut, rc, rx_snap_strerror(rc),
                 (unsigned long long)off);
    }
    free(f.p);
}

static void test_bit_flips(void)
{
    sink f;
    size_t bit;
    unsigned long by_code[64] = {0};
    small_file(&f);
    for (bit = 0; bit < f.n * 8; bit++) {
        uint64_t off = 0;
        size_t byte = bit / 8;
        int rc;
        f.p[byte] ^= (unsigned char)(1u << (bit % 8));
        rc = read_all(f.p, f.n, 0, NULL, &off, NULL, NULL);
        f.p[byte] ^= (unsigned char)(1u << (bit % 8));
        if (!CHECK(rc < 0) || !CHECK(off <= f.n) ||
            !CHECK(rc != RX_SNAP_ECHECKSUM || off <= byte) ||
            /* damage is caught by framing or checksums, never by the parser */
            !CHECK(rc == RX_SNAP_ECHECKSUM || rc == RX_SNAP_ETRUNCATED ||
                   rc == RX_SNAP_ELENGTH || rc == RX_SNAP_EMAGIC || rc == RX_SNAP_EVERSION ||
                   rc == RX_SNAP_ETRAILING))
            note("bit %zu (byte %zu): rc %d (%s) offset %llu", bit, byte, rc,
                 rx_snap_strerror(rc), (unsigned long long)off);
        if (rc < 0 && -rc < 64)
            by_code[-rc]++;
    }
    note("%zu bits flipped: %lu checksum, %lu truncated, %lu length, %lu magic, %lu version",
         f.n * 8, by_code[-RX_SNAP_ECHECKSUM], by_code[-RX_SNAP_ETRUNCATED],
         by_code[-RX_SNAP_ELENGTH], by_code[-RX_SNAP_EMAGIC], by_code[-RX_SNAP_EVERSION]);
    free(f.p);
}

/* Reads a raw stream framed by build_raw and checks the code and offset. */
static void expect_raw_in(uint32_t bs, const char *what, const unsigned char *stream, size_t n,
                          uint64_t count, int want, long long want_off)
{
    sink f;
    uint64_t off = 0;
    int rc;
    build_raw(&f, stream, n, 1, 0, bs, count, 0);
    rc = read_all(f.p, f.n, 0, NULL, &off, NULL, NULL);
    if (!CHECK_EQ(rc, want) || (want_off >= 0 && !CHECK_EQ(off, (uint64_t)want_off)))
        note("%s: rc %d (%s) offset %llu", what, rc, rx_snap_strerror(rc),
             (unsigned long long)off);
    free(f.p);
}

static void expect_raw(const char *what, const unsigned char *stream, size_t n, uint64_t count,
                       int want, long long want_off)
{
    expect_raw_in(16, what, stream, n, count, want, want_off);
}

#define S(lit) (const unsigned char *)(lit), (sizeof(lit) - 1)

static void test_header_errors(void)
{
    sink f;
    uint64_t off;
    int rc;
    /* builder sanity: an empty, valid file */
    build_raw(&f, NULL, 0, 1, 0, 16, 0, 0);
    CHECK_EQ(read_all(f.p, f.n, 0, NULL, &off, NULL, NULL), 0);
    f.p[3] ^= 1;
    CHECK_EQ(read_all(f.p, f.n, 0, NULL, &off, NULL, NULL), RX_SNAP_EMAGIC);
    CHECK_EQ(off, 0u);
    free(f.p);
    CHECK_EQ(read_all((const unsigned char *)"hello", 5, 0, NULL, &off, NULL, NULL),
             RX_SNAP_EMAGIC);
    CHECK_EQ(read_all((const unsigned char *)"", 0, 0, NULL, &off, NULL, NULL),
             RX_SNAP_ETRUNCATED);
    build_raw(&f, NULL, 0, 2, 0, 16, 0, 0);
    CHECK_EQ(read_all(f.p, f.n, 0, NULL, &off, NULL, NULL), RX_SNAP_EVERSION);
    CHECK_EQ(off, 8u);
    free(f.p);
    build_raw(&f, NULL, 0, 1, 0x100, 16, 0, 0);
    CHECK_EQ(read_all(f.p, f.n, 0, NULL, &off, NULL, NULL), RX_SNAP_EHEADER);
    CHECK_EQ(off, 12u);
    free(f.p);
    build_raw(&f, NULL, 0, 1, 0, 15, 0, 0);
    CHECK_EQ(read_all(f.p, f.n, 0, NULL, &off, NULL, NULL), RX_SNAP_EHEADER);
    CHECK_EQ(off, 16u);
    free(f.p);
    build_raw(&f, NULL, 0, 1, 0, 65537, 0, 0);
    CHECK_EQ(read_all(f.p, f.n, 0, NULL, &off, NULL, NULL), RX_SNAP_EHEADER);
    free(f.p);
    /* trailing bytes, wrong counts */
    build_raw(&f, NULL, 0, 1, 0, 16, 0, 0);
    sink_write(&f, S("x"));
    CHECK_EQ(read_all(f.p, f.n, 0, NULL, &off, NULL, NULL), RX_SNAP_ETRAILING);
    CHECK_EQ(off, 56u);
    free(f.p);
    build_raw(&f, NULL, 0, 1, 0, 16, 1, 0);
    CHECK_EQ(read_all(f.p, f.n, 0, NULL, &off, NULL, NULL), RX_SNAP_ECOUNT);
    CHECK_EQ(off, 24u + 4u);
    free(f.p);
    build_raw(&f, S("\x00\x00\x00\x00"), 1, 0, 16, 1, 1);
    CHECK_EQ(read_all(f.p, f.n, 0, NULL, &off, NULL, NULL), RX_SNAP_ECOUNT);
    CHECK_EQ(off, 24u + 4u + 4u + 4u + 12u);
    free(f.p);
    /* payload total off by one, the trailer CRC made right again */
    build_raw(&f, S("\x00\x01" "a" "\x00\x00"), 1, 0, 16, 1, 0);
    {
        size_t t = f.n - 32;
        le64(f.p + t + 20, 6);
        le32(f.p + t + 28, ref_crc((uint32_t)(f.p[t - 4] | f.p[t - 3] << 8 | f.p[t - 2] << 16 |
                                              (uint32_t)f.p[t - 1] << 24),
                                   f.p + t, 28));
        CHECK_EQ(read_all(f.p, f.n, 0, NULL, &off, NULL, NULL), RX_SNAP_ECOUNT);
        CHECK_EQ(off, t + 20);
    }
    free(f.p);
    /* the read callback failing */
    {
        rx_snap_reader *r;
        rx_snap_record rec;
        source src;
        memset(&src, 0, sizeof src);
        src.fail = 1;
        CHECK_EQ(rx_snap_reader_open(&r, NULL, source_read, &src), RX_OK);
        rc = rx_snap_reader_next(r, &rec);
        CHECK_EQ(rc, RX_SNAP_EIO);
        rx_snap_reader_free(r);
    }
}

static void test_record_errors(void)
{
    /* offsets: the stream starts at 28 (24 header + 4 block length) */
    expect_raw("valid", S("\x00\x01" "a" "\x00\x00" "\x01\x01" "b" "\x00\x00"), 2, 0,
               24 + 4 + 10 + 4 + 32);
    expect_raw("repeat", S("\x00\x01" "a" "\x00\x00" "\x01\x00" "\x00\x00"), 2,
               RX_SNAP_EORDER, 28 + 5);
    expect_raw("smaller", S("\x00\x01" "b" "\x00\x00" "\x00\x01" "a" "\x00\x00"), 2,
               RX_SNAP_EORDER, 28 + 5);
    expect_raw("prefix of previous", S("\x00\x02" "ab" "\x00\x00" "\x01\x00" "\x00\x00"), 2,
               RX_SNAP_EORDER, 28 + 6);
    expect_raw("shared not maximal", S("\x00\x01" "a" "\x00\x00" "\x00\x02" "ab" "\x00\x00"),
               2, RX_SNAP_ENONCANON, 28 + 7);
    expect_raw("shared > previous", S("\x00\x01" "a" "\x00\x00" "\x02\x00" "\x00\x00"), 2,
               RX_SNAP_ERECORD, 28 + 5);
    expect_raw("first shared > 0", S("\x01\x00" "\x00\x00"), 1, RX_SNAP_ERECORD, 28);
    expect_raw("overlong varint", S("\x00\x81\x00" "a" "\x00\x00"), 1, RX_SNAP_ENONCANON, 29);
    expect_raw("varint overflow",
               S("\x00\x00\x00" "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02"), 1, RX_SNAP_ERECORD,
               31);
    expect_raw("varint too long",
               S("\x00\x00\x00" "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x81\x00"), 1,
               RX_SNAP_ERECORD, 31);
    expect_raw("ends mid-record", S("\x00\x01" "a" "\x00\x05" "abc"), 1, RX_SNAP_ERECORD, -1);
    expect_raw("ends before rflags", S("\x00\x01" "a"), 1, RX_SNAP_ERECORD, 24 + 8 + 3);
    expect_raw("key over 2^32-1", S("\x00\x80\x80\x80\x80\x10"), 1, RX_SNAP_ELENGTH, 29);
    expect_raw("value over 2^48", S("\x00\x00\x00" "\x80\x80\x80\x80\x80\x80\x80\x01"), 1,
               RX_SNAP_ELENGTH, 31);
    expect_raw("deadline cut", S("\x00\x00\x01" "\x01\x02\x03"), 1, RX_SNAP_ERECORD, -1);
    /* a short block before the last one: framed by hand */
    {
        sink f;
        uint64_t off;
        unsigned char h[24], blk[64], t[32];
        uint32_t chain;
        size_t i;
        memset(&f, 0, sizeof f);
        memcpy(h, "\x89MST\r\n\x1a\n", 8);
        le32(h + 8, 1);
        le32(h + 12, 0);
        le32(h + 16, 16);
        chain = ref_crc(0, h, 20);
        le32(h + 20, chain);
        sink_write(&f, h, 24);
        for (i = 0; i < 2; i++) { /* two blocks of 4 bytes: 2 records "a", "b" */
            le32(blk, 4);
            memcpy(blk + 4, i ? "\x00\x01" "b" "\x00" : "\x00\x01" "a" "\x00", 4);
            /* the record continues: value_len in the next block */
            chain = ref_crc(chain, blk, 8);
            le32(blk + 8, chain);
            sink_write(&f, blk, 12);
        }
        le32(t, 0);
        le64(t + 4, 0);
        le64(t + 12, 2);
        le64(t + 20, 8);
        le32(t + 28, ref_crc(chain, t, 28));
        sink_write(&f, t, 32);
        CHECK_EQ(read_all(f.p, f.n, 0, NULL, &off, NULL, NULL), RX_SNAP_ENONCANON);
        CHECK_EQ(off, 36u);
        free(f.p);
    }
    /* a block length over the block size */
    {
        sink f;
        uint64_t off;
        build_raw(&f, S("\x00\x01" "a" "\x00\x00"), 1, 0, 16, 1, 0);
        f.p[24] = 17;
        CHECK_EQ(read_all(f.p, f.n, 0, NULL, &off, NULL, NULL), RX_SNAP_ELENGTH);
        CHECK_EQ(off, 24u);
        free(f.p);
    }
}

/* The same errors in a second record, all in one 64 KiB block: the reader
 * parses such a record in place (r_next_fast) and must hand anything wrong
 * to the byte-at-a-time path, which reports it at the same offset.  The
 * first record, key "00000000" (long, so that the key buffer has room for
 * the second key: the in-place path never allocates), starts at 28; the
 * second at 40. */
static void test_record_errors_in_block(void)
{
#define FIRST "\x00\x08" "00000000" "\x00\x00"
    expect_raw_in(0x10000, "valid", S(FIRST "\x01\x01" "a" "\x01" "12345678" "\x01" "v"), 2, 0,
                  -1);
    expect_raw_in(0x10000, "repeat", S(FIRST "\x08\x00" "\x00\x00"), 2, RX_SNAP_EORDER, 40);
    expect_raw_in(0x10000, "smaller", S(FIRST "\x00\x01" "/" "\x00\x00"), 2, RX_SNAP_EORDER, 40);
    expect_raw_in(0x10000, "prefix of previous", S(FIRST "\x02\x00" "\x00\x00"), 2,
                  RX_SNAP_EORDER, 40);
    expect_raw_in(0x10000, "shared not maximal", S(FIRST "\x00\x02" "0a" "\x00\x00"), 2,
                  RX_SNAP_ENONCANON, 42);
    expect_raw_in(0x10000, "shared > previous", S(FIRST "\x09\x00" "\x00\x00"), 2,
                  RX_SNAP_ERECORD, 40);
    expect_raw_in(0x10000, "overlong varint", S(FIRST "\x00\x81\x00" "a" "\x00\x00"), 2,
                  RX_SNAP_ENONCANON, 41);
    expect_raw_in(0x10000, "varint overflow",
                  S(FIRST "\x00\x01" "a" "\x00" "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02"), 2,
                  RX_SNAP_ERECORD, 44);
    expect_raw_in(0x10000, "key over 2^32-1", S(FIRST "\x00\x80\x80\x80\x80\x10"), 2,
                  RX_SNAP_ELENGTH, 41);
    expect_raw_in(0x10000, "value over 2^48",
                  S(FIRST "\x00\x01" "a" "\x00" "\x80\x80\x80\x80\x80\x80\x80\x01"), 2,
                  RX_SNAP_ELENGTH, 44);
    expect_raw_in(0x10000, "ends mid-value", S(FIRST "\x00\x01" "a" "\x00\x05" "abc"), 2,
                  RX_SNAP_ERECORD, -1);
    expect_raw_in(0x10000, "ends mid-key", S(FIRST "\x00\x05" "ab"), 2, RX_SNAP_ERECORD, -1);
    expect_raw_in(0x10000, "deadline cut", S(FIRST "\x00\x01" "a" "\x01" "\x01\x02\x03"), 2,
                  RX_SNAP_ERECORD, -1);
#undef FIRST
}

static void test_limits_and_declared_sizes(void)
{
    sink f;
    talloc ta;
    rx_allocator a = ta_init(&ta);
    uint64_t off = 0;
    rx_snap_reader *r;
    rx_snap_record rec;
    source src;
    /* a value declared 2^40 bytes long in a file holding a few: allocation
     * follows the bytes present, and the error is "record cut short" */
    build_raw(&f, S("\x00\x00\x00" "\x80\x80\x80\x80\x80\x20" "abcdefgh"), 1, 0, 16, 1, 0);
    CHECK_EQ(read_all(f.p, f.n, 0, NULL, &off, &a, NULL), RX_SNAP_ERECORD);
    note("2^40-byte value declared in a %zu-byte file: peak allocation %zu bytes", f.n,
         ta.peak);
    CHECK(ta.peak < sizeof(rx_snap_record) + 16 * 1024);
    CHECK_EQ(ta.live, 0u);
    free(f.p);
    /* lowered limits */
    build_raw(&f, S("\x00\x03" "abc" "\x00\x05" "hello"), 1, 0, 16, 1, 0);
    memset(&src, 0, sizeof src);
    src.p = f.p;
    src.n = f.n;
    CHECK_EQ(rx_snap_reader_open(&r, NULL, source_read, &src), RX_OK);
    rx_snap_reader_set_limits(r, 2, 0);
    CHECK_EQ(rx_snap_reader_next(r, &rec), RX_SNAP_ELENGTH);
    CHECK_EQ(rx_snap_reader_error_offset(r), 29u);
    rx_snap_reader_free(r);
    src.pos = 0;
    CHECK_EQ(rx_snap_reader_open(&r, NULL, source_read, &src), RX_OK);
    rx_snap_reader_set_limits(r, 0, 4);
    CHECK_EQ(rx_snap_reader_next(r, &rec), RX_SNAP_ELENGTH);
    CHECK_EQ(rx_snap_reader_error_offset(r), 28u + 6u);
    rx_snap_reader_free(r);
    src.pos = 0;
    CHECK_EQ(rx_snap_reader_open(&r, NULL, source_read, &src), RX_OK);
    rx_snap_reader_set_limits(r, 3, 5);
    CHECK_EQ(rx_snap_reader_next(r, &rec), 1);
    CHECK_EQ(rx_snap_reader_next(r, &rec), 0);
    rx_snap_reader_free(r);
    free(f.p);
}

static void test_oom(void)
{
    recs s = {0};
    sink ref, f;
    talloc ta;
    rx_allocator a;
    unsigned long k;
    int rc;
    rnd_state = seed + 1;
    random_recs(&s, 200, 1);
    CHECK_EQ(write_all(&s, 3, 16, &ref, NULL), RX_OK);

    /* writer: the k-th allocation fails; a refused add is retried */
    for (k = 1;; k++) {
        rx_snap_writer *w;
        size_t i;
        a = ta_init(&ta);
        ta.fail_at = k;
        memset(&f, 0, sizeof f);
        rc = rx_snap_writer_open(&w, &a, sink_write, &f, 3, 16);
        if (rc != RX_OK) {
            CHECK_EQ(rc, RX_ENOMEM);
            CHECK(w == NULL);
            CHECK_EQ(ta.live, 0u);
            free(f.p);
            continue;
        }
        for (i = 0; i < s.n; i++) {
            const rec *r = &s.r[i];
            rc = rx_snap_writer_add(w, r->k, r->kn, r->v, r->vn, r->tag, r->has_dl, r->dl);
            if (rc == RX_ENOMEM)
                rc = rx_snap_writer_add(w, r->k, r->kn, r->v, r->vn, r->tag, r->has_dl, r->dl);
            CHECK_EQ(rc, RX_OK);
        }
        CHECK_EQ(rx_snap_writer_finish(w), RX_OK);
        rx_snap_writer_free(w);
        CHECK_EQ(ta.live, 0u);
        CHECK_EQ(ta.bad, 0u);
        CHECK(f.n == ref.n && memcmp(f.p, ref.p, f.n) == 0);
        free(f.p);
        if (ta.injected == 0)
            break;
    }
    note("writer: %lu allocation points failed in turn", k - 1);

    /* reader: the k-th allocation fails: RX_ENOMEM, sticky, no leak */
    for (k = 1;; k++) {
        recs got = {0};
        uint64_t off;
        rx_snap_reader *r = NULL;
        a = ta_init(&ta);
        ta.fail_at = k;
        rc = read_all(ref.p, ref.n, 0, &got, &off, &a, &r);
        if (ta.injected == 0) {
            CHECK_EQ(rc, 0);
            recs_equal(&s, &got);
        } else {
            CHECK_EQ(rc, RX_ENOMEM);
        }
        rx_snap_reader_free(r);
        CHECK_EQ(ta.live, 0u);
        CHECK_EQ(ta.bad, 0u);
        recs_free(&got);
        if (ta.injected == 0)
            break;
    }
    note("reader: %lu allocation points failed in turn", k - 1);
    free(ref.p);
    recs_free(&s);
}

/* ---- the fuzzer's seed corpus ------------------------------------------------------------
 * build/test_snapshot --corpus DIR writes the seeds of fuzz/fuzz_snapshot.c
 * (a mode byte, an OOM byte when mode bit 4 is set, then a file) into DIR.
 * The seeds are committed in fuzz/corpus_snapshot/; rerun after changing
 * the format or the harness's input encoding. */

static char corpus_dir[1024];
static unsigned corpus_files;

static void seed_file(const char *name, unsigned mode, int oom, const unsigned char *p, size_t n)
{
    char path[1200];
    FILE *f;
    unsigned char hdr[2];
    size_t hn = 0;
    snprintf(path, sizeof path, "%s/%s", corpus_dir, name);
    f = fopen(path, "wb");
    if (f == NULL) {
        perror(path);
        exit(2);
    }
    hdr[hn++] = (unsigned char)mode;
    if (mode & 16u)
        hdr[hn++] = (unsigned char)oom;
    if (fwrite(hdr, 1, hn, f) != hn || (n && fwrite(p, 1, n, f) != n) || fclose(f) != 0) {
        perror(path);
        exit(2);
    }
    corpus_files++;
}

static void seed_recs(const char *name, unsigned mode, const recs *s, unsigned tag, size_t bs)
{
    sink f;
    if (write_all(s, tag, bs, &f, NULL) != RX_OK)
        exit(2);
    seed_file(name, mode, 0, f.p, f.n);
    free(f.p);
}

static void seed_raw(const char *name, const unsigned char *stream, size_t n, uint64_t count)
{
    sink f;
    build_raw(&f, stream, n, 1, 0, 16, count, 0);
    seed_file(name, 1, 0, f.p, f.n); /* mode 1: mutations keep their checksums right */
    free(f.p);
}

static void write_corpus(void)
{
    recs s = {0};
    sink f;
    char name[64];
    size_t i;
    unsigned k;
    seed_recs("empty_block16", 0, &s, 0, 16);
    seed_recs("empty_block65536", 0, &s, 200, 0);
    small_file(&f);
    seed_file("small", 0, 0, f.p, f.n);
    seed_file("small_fix", 1, 0, f.p, f.n);
    seed_file("small_read1", 2, 0, f.p, f.n);
    seed_file("small_read3_fix", 5, 0, f.p, f.n);
    seed_file("small_read64", 6, 0, f.p, f.n);
    seed_file("small_low_limits", 8 | 1, 0, f.p, f.n);
    for (k = 0; k < 8; k++) {
        sprintf(name, "small_oom_%u", k);
        seed_file(name, 16 | 1, (int)k, f.p, f.n);
    }
    seed_file("small_truncated", 0, 0, f.p, f.n / 2);
    f.p[f.n / 3] ^= 4;
    seed_file("small_flipped", 0, 0, f.p, f.n);
    free(f.p);

    for (i = 0; i < 60; i++) { /* chat keys with deadlines */
        char k[40];
        int kn = sprintf(k, "message:session-%05u:%06u", (unsigned)(i / 20), (unsigned)(i % 20));
        recs_push(&s, (const unsigned char *)k, (size_t)kn, (const unsigned char *)"hi", 2,
                  (unsigned)(i % 3), (int)(i % 2), (int64_t)(1733000000000 + i));
    }
    seed_recs("chat_60_block64", 1, &s, 1, 64);
    recs_free(&s);

    rnd_state = seed + 7;
    for (k = 0; k < 4; k++) {
        random_recs(&s, 5 + 10 * k, 0);
        sprintf(name, "random_%u_block%u", k, 16 + 29 * k);
        seed_recs(name, k & 1 ? 1 : 3, &s, k, 16 + 29 * k);
        recs_free(&s);
    }
    {
        unsigned char big[1000];
        for (i = 0; i < sizeof big; i++)
            big[i] = (unsigned char)(i * 7);
        recs_push(&s, (const unsigned char *)"big", 3, big, sizeof big, 5, 1, -1);
        recs_push(&s, (const unsigned char *)"big2", 4, big, 300, 0, 0, 0);
        seed_recs("value_1000_block16", 1, &s, 9, 16);
        recs_free(&s);
    }

    /* well checksummed, badly formed: the record parser's own errors */
    seed_raw("raw_valid", S("\x00\x01" "a" "\x00\x00" "\x01\x01" "b" "\x00\x00"), 2);
    seed_raw("raw_repeat", S("\x00\x01" "a" "\x00\x00" "\x01\x00" "\x00\x00"), 2);
    seed_raw("raw_smaller", S("\x00\x01" "b" "\x00\x00" "\x00\x01" "a" "\x00\x00"), 2);
    seed_raw("raw_shared_not_maximal", S("\x00\x01" "a" "\x00\x00" "\x00\x02" "ab" "\x00\x00"),
             2);
    seed_raw("raw_shared_too_long", S("\x00\x01" "a" "\x00\x00" "\x02\x00" "\x00\x00"), 2);
    seed_raw("raw_overlong_varint", S("\x00\x81\x00" "a" "\x00\x00"), 1);
    seed_raw("raw_varint_overflow", S("\x00\x00\x00" "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02"),
             1);
    seed_raw("raw_ends_mid_record", S("\x00\x01" "a" "\x00\x05" "abc"), 1);
    seed_raw("raw_key_too_long", S("\x00\x80\x80\x80\x80\x10"), 1);
    seed_raw("raw_value_2e40", S("\x00\x00\x00" "\x80\x80\x80\x80\x80\x20" "abcdefgh"), 1);
    seed_raw("raw_deadline", S("\x00\x01" "k" "\x03" "\x01\x02\x03\x04\x05\x06\x07\x08" "\x01" "v"),
             1);
    seed_raw("raw_count_wrong", S("\x00\x01" "a" "\x00\x00"), 5);
    printf("wrote %u seed files into %s\n", corpus_files, corpus_dir);
}

/* ---- main ---------------------------------------------------------------------------------- */

static unsigned long passed, failed;

static void run(const char *name, void (*fn)(void))
{
    const char *only = getenv("RX_TEST_ONLY");
    if (only && *only && strstr(name, only) == NULL)
        return;
    current = name;
    test_failures = 0;
    fn();
    if (test_failures) {
        failed++;
        printf("FAIL %s (%lu failed checks)\n", name, test_failures);
    } else {
        passed++;
    }
    fflush(stdout);
}

int main(int argc, char **argv)
{
    const char *s = getenv("RX_TEST_SEED");
    if (s && *s)
        seed = strtoull(s, NULL, 0);
    if (argc > 2 && strcmp(argv[1], "--corpus") == 0) {
        snprintf(corpus_dir, sizeof corpus_dir, "%s", argv[2]);
        current = "corpus";
        write_corpus();
        return failures ? 1 : 0;
    }
    if (argc > 1)
        seed = strtoull(argv[1], NULL, 0);
    printf("test_snapshot: seed %llu\n", (unsigned long long)seed);
    run("crc", test_crc);
    run("round_trip", test_round_trip);
    run("special_records", test_special_records);
    run("writer_errors", test_writer_errors);
    run("front_coding", test_front_coding);
    run("truncation", test_truncation);
    run("bit_flips", test_bit_flips);
    run("header_errors", test_header_errors);
    run("record_errors", test_record_errors);
    run("record_errors_in_block", test_record_errors_in_block);
    run("limits_and_declared_sizes", test_limits_and_declared_sizes);
    run("oom", test_oom);
    printf("%lu checks, %lu failed; seed %llu\n", checks, failures, (unsigned long long)seed);
    printf("%lu passed, %lu failed\n", passed, failed);
    return failed ? 1 : 0;
}
