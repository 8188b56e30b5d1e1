/*
 * fuzz_radix.c -- libFuzzer harness for csrc/radix.{h,c}.
 *
 * The input is read as a stream of operations on one tree; every result is
 * compared with a deliberately simple reference model (a sorted array of
 * byte-string keys with their values).  Any difference prints what differed
 * and calls abort().
 *
 * What is exercised:
 *   - insert / overwrite / remove / find / find_many / count_prefix /
 *     longest_prefix / visit_values (each value once, early stop, and no
 *     allocation at all), insert with a length over RX_MAX_KEY_LEN,
 *   - remove_prefix and clear with a release callback that checks every
 *     released value belongs to the removed keys (exactly once) and sometimes
 *     re-enters the tree (runs a whole nested operation, iterators included),
 *   - two iterators: set_prefix, every rx_seek_op, next in both directions,
 *     mutations while they are open (each next must return the first key
 *     strictly after the last one returned, in the tree as it is now),
 *     rx_iter_skip_prefix of a group the last key is in (the group passed
 *     as a pointer into the iterator's own key) or of any string, before or
 *     after a seek (the next key must be the model's first key past the
 *     group, in the tree as it is at that next),
 *   - rx_iter_set_end on the two iterators (at any time, inclusive or not;
 *     the model then expects nothing past the bound until the next seek),
 *   - rx_count_range of every range listing's [start, stop) against the model,
 *   - range listings as the binding builds them: prefix, seek GE start (or
 *     LT stop backward), steps until the far bound (set with
 *     rx_iter_set_end as the binding does, or checked here); sometimes rolled
 *     up into groups at a delimiter byte with rx_iter_skip_prefix
 *     (directory-style listing) or by the iterator's own delimiter step
 *     (rx_iter_set_delimiter, as the binding), compared entry by entry
 *     with the model; rx_iter_set_delimiter on the two long-lived
 *     iterators too (groups expected from the next step on),
 *   - an allocator that fails on demand (the input arms "fail the n-th next
 *     allocation" or "fail every allocation during the next operation"); an
 *     RX_ENOMEM must come from an injected failure and leave the tree equal
 *     to the model (checked by a full listing); after RX_ENOMEM from
 *     rx_iter_next the iterator is either finished (a step failed) or must
 *     resume exactly where it was (the re-seek failed),
 *   - rebuilding the tree from the model's keys with rx_build_* and swapping
 *     it in (the iterators re-initialised): failed allocations retried,
 *     RX_EORDER for wrong `shared` or a repeated key, an abort halfway
 *     releasing each value added once; the built tree must be compact and
 *     pass rx_check (as must the tree at every full verification),
 *   - rx_size after every operation; rx_memory equal to the bytes held by
 *     blocks that tree calls allocated (each block's header records its
 *     size and its owner -- the tree or one iterator -- so the sizes handed
 *     back to realloc/free are checked, and neither side may free the
 *     other's blocks); rx_memory back at its empty value whenever the tree
 *     is empty; rx_iter_init allocates nothing and rx_iter_release frees
 *     everything or leaves it with the tree (rx_spare_memory); rx_version bumped by every change; no leak after
 *     rx_tree_free (which must release every value once, even when its
 *     release callback stores new keys).
 *
 * Values are unique ids (one of them is NULL), so a released or visited
 * value names exactly one key.  The first input byte 0xA7 also makes
 * rx_tree_new fail once; 0xA8 uses rx_tree_new(NULL) (the C library's
 * allocator; memory accounting checks are then skipped).
 *
 * Keys come mostly from tiny alphabets that include 0x00 and 0xFF (so
 * prefixes collide), from mutations of keys already stored (truncate,
 * extend, bump a byte), from raw bytes, and sometimes are long (hundreds of
 * bytes, rarely 64 KiB+) with a shared filler so node prefixes are long.
 *
 * Set FUZZ_TRACE=1 in the environment to print every operation (use with
 * the replay binary to turn a crash file into a readable reproducer).
 *
 * C99.  Build: see .ci/fuzz.sh (libFuzzer) and replay_main.c (any compiler).
 */
#include "radix.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Values are ids 1, 2, 3, ... (unique per input, so a released value names
 * its key); the pointer stored is id - 1, so the first value is NULL. */
#define V2P(id) ((void *)((uintptr_t)(id) - 1u))
#define P2V(p) ((uintptr_t)(p) + 1u)

#define MAX_DEPTH 2        /* nesting of operations run from release callbacks */
#define VERIFY_BUDGET 200  /* full listings per input triggered by RX_ENOMEM */

/* ======================================================================
 * Input stream
 * ==================================================================== */

typedef struct {
    const uint8_t *d;
    size_t n, pos;
} reader;

static unsigned u8(reader *r)
{
    return r->pos < r->n ? r->d[r->pos++] : 0u;
}

static unsigned u16(reader *r)
{
    unsigned lo = u8(r);
    return lo | (u8(r) << 8);
}

/* ======================================================================
 * Allocator that can fail, and that checks the sizes handed back
 * ==================================================================== */

#define HDR 16 /* size, owner; keeps the 16-byte alignment malloc gives */

/* Who a block belongs to, from the API call that allocated it: the tree
 * (0), harness iterator i (1 + i), or verify_full's own iterator. */
#define NITER 2
#define OWNER_TREE 0
#define OWNER_VERIFY (NITER + 1)
#define NOWNERS (NITER + 2)

typedef struct {
    size_t live_bytes, live_blocks;
    size_t owner_bytes[NOWNERS];
    int owner;               /* owner of allocations made now */
    long countdown;          /* -1: none; 0: fail the next allocation */
    int fail_all;            /* fail every allocation (one operation) */
    int disabled;            /* never fail (verification, teardown) */
    unsigned long failures;  /* failures injected so far */
    unsigned long calls;
} fz_alloc;

static void die(const char *fmt, ...);

static int should_fail(fz_alloc *a)
{
    a->calls++;
    if (a->disabled)
        return 0;
    if (a->fail_all) {
        a->failures++;
        return 1;
    }
    if (a->countdown >= 0 && a->countdown-- == 0) {
        a->failures++;
        return 1;
    }
    return 0;
}

static size_t block_size(const void *p)
{
    size_t s;
    memcpy(&s, (const unsigned char *)p - HDR, sizeof s);
    return s;
}

static int block_owner(const void *p)
{
    int o;
    memcpy(&o, (const unsigned char *)p - HDR + sizeof(size_t), sizeof o);
    return o;
}

static void check_owner(const fz_alloc *a, const void *p, const char *what)
{
    if (block_owner(p) != a->owner)
        die("%s by %s of a block allocated by %s", what,
            a->owner == OWNER_TREE ? "a tree call" : "an iterator call",
            block_owner(p) == OWNER_TREE ? "the tree" : "an iterator");
}

static void *fz_malloc(void *ctx, size_t size)
{
    fz_alloc *a = ctx;
    unsigned char *p;
    if (should_fail(a))
        return NULL;
    p = malloc(HDR + size);
    if (p == NULL)
        die("real malloc(%zu) failed", size);
    memcpy(p, &size, sizeof size);
    memcpy(p + sizeof size, &a->owner, sizeof a->owner);
    memset(p + HDR, 0xA5, size); /* garbage: nothing may rely on zeroed memory */
    a->live_bytes += size;
    a->live_blocks++;
    a->owner_bytes[a->owner] += size;
    return p + HDR;
}

static void *fz_realloc(void *ctx, void *ptr, size_t old_size, size_t new_size)
{
    fz_alloc *a = ctx;
    unsigned char *p;
    if (ptr == NULL)
        die("realloc_fn called with NULL");
    if (block_size(ptr) != old_size)
        die("realloc_fn: old_size %zu but the block has %zu bytes", old_size, block_size(ptr));
    check_owner(a, ptr, "realloc");
    if (should_fail(a))
        return NULL;
    p = realloc((unsigned char *)ptr - HDR, HDR + new_size);
    if (p == NULL)
        die("real realloc(%zu) failed", new_size);
    memcpy(p, &new_size, sizeof new_size);
    if (new_size > old_size)
        memset(p + HDR + old_size, 0xA5, new_size - old_size);
    a->live_bytes = a->live_bytes - old_size + new_size;
    a->owner_bytes[a->owner] = a->owner_bytes[a->owner] - old_size + new_size;
    return p + HDR;
}

static void fz_free(void *ctx, void *ptr, size_t size)
{
    fz_alloc *a = ctx;
    if (ptr == NULL)
        die("free_fn called with NULL");
    if (block_size(ptr) != size)
        die("free_fn: size %zu but the block has %zu bytes", size, block_size(ptr));
    check_owner(a, ptr, "free");
    if (a->live_blocks == 0 || a->live_bytes < size)
        die("free_fn: more freed than allocated");
    a->owner_bytes[a->owner] -= size;
    a->live_bytes -= size;
    a->live_blocks--;
    free((unsigned char *)ptr - HDR);
}

/* ======================================================================
 * Keys, reference model
 * ==================================================================== */

typedef struct {
    unsigned char *k;
    size_t n;
    uintptr_t v;
} entry;

typedef struct {
    unsigned char *p; /* owned copy (may be NULL when n == 0) */
    size_t n;
    const unsigned char *arg; /* what is passed to the tree: p, NULL, or an alias */
} key_t_;

typedef struct {
    rx_iter it;
    int active;     /* a seek succeeded; keys may come */
    int ended;      /* next returned 0 and the model agreed */
    int backward;
    int op;         /* rx_seek_op (or OP_PAST) giving the next expected key */
    int sought;     /* rx_iter_seek was called (it sets direction and prefix) */
    unsigned char *target;
    size_t target_n;
    unsigned char *prefix; /* in effect since the last seek */
    size_t prefix_n;
    unsigned char *pending; /* set by set_prefix, used by the next seek */
    size_t pending_n;
    int has_key; /* last call was a next returning 1: it.key is valid */
    unsigned char *bound; /* rx_iter_set_end's key, when has_bound */
    size_t bound_n;
    int has_bound, inclusive;
    unsigned char *delim; /* rx_iter_set_delimiter's, when delim_n > 0 */
    size_t delim_n, delim_from;
} miter;

typedef struct fz {
    reader in;
    rx_tree *t;
    fz_alloc alloc;
    entry *m;
    size_t mn, mcap;
    uintptr_t next_value;
    size_t empty_memory;
    miter its[NITER];
    int trace;
    unsigned long ops;
    int verify_budget;
    int depth;
    int in_release; /* inside a release callback: detached nodes still count */
    int sysalloc;   /* tree made with rx_tree_new(NULL): nothing to count */
} fz;

static fz *cur; /* for die() */

static void print_key(FILE *f, const unsigned char *k, size_t n)
{
    size_t i, shown = n > 48 ? 40 : n;
    fputc('"', f);
    for (i = 0; i < shown; i++) {
        if (k[i] >= 0x20 && k[i] < 0x7f && k[i] != '"' && k[i] != '\\')
            fputc(k[i], f);
        else
            fprintf(f, "\\x%02x", k[i]);
    }
    fputc('"', f);
    if (shown < n)
        fprintf(f, "...(len %zu, ends \\x%02x)", n, k[n - 1]);
}

static void dump_model(FILE *f, const fz *F)
{
    size_t i;
    fprintf(f, "model (%zu keys):\n", F->mn);
    for (i = 0; i < F->mn && i < 40; i++) {
        fprintf(f, "  ");
        print_key(f, F->m[i].k, F->m[i].n);
        fprintf(f, " = %lu\n", (unsigned long)F->m[i].v);
    }
    if (F->mn > 40)
        fprintf(f, "  ...\n");
}

static void die(const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    fprintf(stderr, "\n==== radix fuzz MISMATCH (op #%lu): ", cur ? cur->ops : 0ul);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    if (cur)
        dump_model(stderr, cur);
    fflush(stderr);
    abort();
}

#define TRACE(...)                                                                                 \
    do {                                                                                           \
        if (F->trace) {                                                                            \
            fprintf(stderr, "%*s", 2 * F->depth, "");                                              \
            fprintf(stderr, __VA_ARGS__);                                                          \
        }                                                                                          \
    } while (0)
#define TRACEKEY(k, n)                                                                             \
    do {                                                                                           \
        if (F->trace)                                                                              \
            print_key(stderr, (k), (n));                                                           \
    } while (0)

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL)
        die("out of memory in the harness");
    return p;
}

static unsigned char *dup_bytes(const unsigned char *p, size_t n)
{
    unsigned char *d = xmalloc(n);
    if (n)
        memcpy(d, p, n);
    return d;
}

static void set_buf(unsigned char **dst, size_t *dn, const unsigned char *src, size_t n)
{
    unsigned char *d = dup_bytes(src, n);
    free(*dst);
    *dst = d;
    *dn = n;
}

static int cmp_keys(const unsigned char *a, size_t an, const unsigned char *b, size_t bn)
{
    size_t n = an < bn ? an : bn;
    int c = n ? memcmp(a, b, n) : 0;
    if (c)
        return c;
    return an < bn ? -1 : an > bn;
}

static int has_prefix(const unsigned char *k, size_t n, const unsigned char *p, size_t pn)
{
    return n >= pn && (pn == 0 || memcmp(k, p, pn) == 0);
}

/* first index whose key is >= key (or > key when strict) */
static size_t m_bound(const fz *F, const unsigned char *k, size_t n, int strict)
{
    size_t lo = 0, hi = F->mn;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = cmp_keys(F->m[mid].k, F->m[mid].n, k, n);
        if (c < 0 || (strict && c == 0))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static long m_find(const fz *F, const unsigned char *k, size_t n)
{
    size_t i = m_bound(F, k, n, 0);
    if (i < F->mn && cmp_keys(F->m[i].k, F->m[i].n, k, n) == 0)
        return (long)i;
    return -1;
}

/* [*lo, *hi): the keys starting with p (contiguous in byte order) */
static void m_prefix_range(const fz *F, const unsigned char *p, size_t pn, size_t *lo, size_t *hi)
{
    size_t a = m_bound(F, p, pn, 0), b = F->mn;
    size_t l = a;
    while (l < b) { /* first index >= a without the prefix */
        size_t mid = l + (b - l) / 2;
        if (has_prefix(F->m[mid].k, F->m[mid].n, p, pn))
            l = mid + 1;
        else
            b = mid;
    }
    *lo = a;
    *hi = l;
}

static void m_insert_at(fz *F, size_t i, const unsigned char *k, size_t n, uintptr_t v)
{
    if (F->mn == F->mcap) {
        size_t cap = F->mcap ? F->mcap * 2 : 64;
        entry *e = realloc(F->m, cap * sizeof *e);
        if (e == NULL)
            die("out of memory in the harness");
        F->m = e;
        F->mcap = cap;
    }
    memmove(F->m + i + 1, F->m + i, (F->mn - i) * sizeof *F->m);
    F->m[i].k = dup_bytes(k, n);
    F->m[i].n = n;
    F->m[i].v = v;
    F->mn++;
}

static void m_delete_range(fz *F, size_t lo, size_t hi)
{
    size_t i;
    if (lo == hi)
        return;
    for (i = lo; i < hi; i++)
        free(F->m[i].k);
    memmove(F->m + lo, F->m + hi, (F->mn - hi) * sizeof *F->m);
    F->mn -= hi - lo;
}

/* ======================================================================
 * Key decoding
 * ==================================================================== */

static const unsigned char ALPHA4[4] = {0x00, 'a', 'b', 0xff};
static const unsigned char ALPHA8[8] = {0x00, 0x01, 'a', 'b', 'c', 0x7f, 0x80, 0xff};

static void key_free(key_t_ *k)
{
    free(k->p);
    k->p = NULL;
}

static key_t_ key_from(const unsigned char *p, size_t n)
{
    key_t_ k;
    k.p = dup_bytes(p, n);
    k.n = n;
    k.arg = k.p;
    return k;
}

static key_t_ read_key(fz *F)
{
    reader *r = &F->in;
    unsigned m = u8(r), sel = m >> 5, low = m & 31;
    unsigned char tmp[64] = {0};
    size_t n = 0, i;
    switch (sel) {
    case 0:
    case 1: { /* 4-symbol alphabet, 4 symbols per byte, length 0..15 */
        unsigned bits = 0;
        n = low & 15;
        for (i = 0; i < n; i++) {
            if (i % 4 == 0)
                bits = u8(r);
            tmp[i] = ALPHA4[bits & 3];
            bits >>= 2;
        }
        if (n == 0 && (low & 16)) { /* empty key passed as NULL */
            key_t_ k = key_from(tmp, 0);
            k.arg = NULL;
            return k;
        }
        return key_from(tmp, n);
    }
    case 2: /* 8-symbol alphabet, length 0..31 */
        n = low;
        for (i = 0; i < n; i++)
            tmp[i] = ALPHA8[u8(r) & 7];
        return key_from(tmp, n);
    case 3: /* raw bytes, length 0..31 */
        n = low;
        for (i = 0; i < n; i++)
            tmp[i] = (unsigned char)u8(r);
        return key_from(tmp, n);
    case 4:
    case 5: { /* derived from a stored key; reads a fixed number of bytes */
        const entry *e;
        key_t_ k;
        unsigned kind = low & 3, idx = u16(r), arg = 0;
        unsigned char ext[2];
        if (kind == 1 || kind == 3)
            arg = (low & 4) ? 0 : u16(r);
        for (i = 0; kind == 2 && i < 1 + ((low >> 2) & 1u); i++)
            ext[i] = (low & 8) ? (unsigned char)u8(r) : ALPHA8[u8(r) & 7];
        if (F->mn == 0) {
            n = low & 3;
            for (i = 0; i < n; i++)
                tmp[i] = ALPHA4[(low >> 2) & 3];
            return key_from(tmp, n);
        }
        e = &F->m[idx % F->mn];
        if (kind == 0)
            return key_from(e->k, e->n);
        if (kind == 1) { /* truncated: a prefix of a stored key */
            size_t cut = arg % (e->n + 1);
            if (low & 4) /* drop only the last few bytes */
                cut = e->n > (size_t)((low >> 3) & 3) ? e->n - ((low >> 3) & 3) : 0;
            return key_from(e->k, cut);
        }
        if (kind == 2) { /* extended by one or two bytes */
            size_t extra = 1 + ((low >> 2) & 1);
            k.n = e->n + extra;
            k.p = xmalloc(k.n);
            memcpy(k.p, e->k, e->n);
            memcpy(k.p + e->n, ext, extra);
            k.arg = k.p;
            return k;
        }
        /* kind 3: one byte bumped up or down (a neighbour), maybe truncated after it */
        k = key_from(e->k, e->n);
        if (k.n) {
            size_t pos = (low & 4) ? k.n - 1 : arg % k.n;
            k.p[pos] = (unsigned char)(k.p[pos] + ((low & 8) ? 1 : 0xff));
            if (low & 16)
                k.n = pos + 1;
        }
        return k;
    }
    case 6: { /* long keys sharing a filler */
        unsigned b1 = u8(r), b2 = u8(r), fill = (b2 >> 2) & 3;
        key_t_ k;
        size_t pos;
        n = 16 + b1 + ((size_t)(b2 & 3) << 8);
        if (low == 31 && b1 == 255)
            n = 65536 + 70 + b2; /* rare: beyond 16 bits */
        k.n = n + (low & 1);
        k.p = xmalloc(k.n);
        for (i = 0; i < n; i++)
            k.p[i] = fill == 0 ? 'x' : fill == 1 ? 0x00 : fill == 2 ? 0xff : (unsigned char)('a' + i % 3);
        pos = (size_t)u8(r) * n / 256;
        k.p[pos] = ALPHA8[(low >> 1) & 7];
        if (low & 1)
            k.p[n] = ALPHA4[(low >> 4) & 1 ? 3 : 0];
        k.arg = k.p;
        return k;
    }
    default: { /* 7: empty key, or the key an iterator just returned (alias) */
        miter *mi = &F->its[(low >> 1) & 1];
        if ((low & 1) && mi->has_key) {
            key_t_ k = key_from(mi->it.key, mi->it.key_len);
            k.arg = mi->it.key; /* the tree reads the iterator's own buffer */
            return k;
        }
        {
            key_t_ k = key_from(tmp, 0);
            if (low & 4)
                k.arg = NULL;
            return k;
        }
    }
    }
}

/* ======================================================================
 * Invariant checks
 * ==================================================================== */

/* Iterator calls, with their allocations charged to the iterator. */
static int it_next(fz *F, int owner, rx_iter *it)
{
    int saved = F->alloc.owner, rc;
    F->alloc.owner = owner;
    rc = rx_iter_next(it);
    F->alloc.owner = saved;
    return rc;
}

static int it_seek(fz *F, int owner, rx_iter *it, int op, const unsigned char *key, size_t len)
{
    int saved = F->alloc.owner, rc;
    F->alloc.owner = owner;
    rc = rx_iter_seek(it, (rx_seek_op)op, key, len);
    F->alloc.owner = saved;
    return rc;
}

static int it_set_prefix(fz *F, int owner, rx_iter *it, const unsigned char *p, size_t len)
{
    int saved = F->alloc.owner, rc;
    F->alloc.owner = owner;
    rc = rx_iter_set_prefix(it, p, len);
    F->alloc.owner = saved;
    return rc;
}

/* The tree keeps the buffers of the last iterator released and hands them
 * to the next one initialised: ownership moves with no allocator call, so
 * the harness re-tags those blocks itself (it reads the iterator's private
 * buffer pointers, which is what they are there for). */
static void retag_iter_buffers(fz *F, rx_iter *it, int from, int to)
{
    void *bufs[7];
    size_t i;
    bufs[0] = it->stack;
    bufs[1] = it->buf;
    bufs[2] = it->prefix;
    bufs[3] = it->staged;
    bufs[4] = it->resume;
    bufs[5] = it->bound;
    bufs[6] = it->delim;
    for (i = 0; i < 7; i++) {
        unsigned char *p = bufs[i];
        size_t size;
        if (p == NULL)
            continue;
        if (block_owner(p) != from)
            die("iterator buffer owned by %d, expected %d", block_owner(p), from);
        size = block_size(p);
        memcpy(p - HDR + sizeof(size_t), &to, sizeof to);
        F->alloc.owner_bytes[from] -= size;
        F->alloc.owner_bytes[to] += size;
    }
}

/* rx_iter_init allocates nothing (it may take the tree's spare buffers) */
static void it_init(fz *F, int owner, rx_iter *it)
{
    unsigned long calls = F->alloc.calls;
    rx_iter_init(it, F->t);
    if (F->alloc.calls != calls)
        die("rx_iter_init allocated");
    if (!F->sysalloc)
        retag_iter_buffers(F, it, OWNER_TREE, owner);
}

/* rx_iter_release frees what the iterator holds or leaves it with the tree,
 * (rx_spare_memory; check_cheap checks the sum) */
static void it_release(fz *F, int owner, rx_iter *it)
{
    int saved = F->alloc.owner;
    if (!F->sysalloc)
        retag_iter_buffers(F, it, owner, OWNER_TREE);
    F->alloc.owner = OWNER_TREE;
    rx_iter_release(it);
    F->alloc.owner = saved;
    if (!F->sysalloc && F->alloc.owner_bytes[owner] != 0)
        die("rx_iter_release left %zu bytes of the iterator allocated", F->alloc.owner_bytes[owner]);
}

/* Cheap checks run after every operation (and inside release callbacks). */
static void check_cheap(fz *F, const char *where)
{
    if (rx_size(F->t) != F->mn)
        die("%s: rx_size %zu, model %zu", where, rx_size(F->t), F->mn);
    /* rx_memory counts exactly the blocks allocated by tree calls, apart
     * from the iterator buffers the tree keeps (rx_spare_memory) */
    if (!F->sysalloc &&
        rx_memory(F->t) + rx_spare_memory(F->t) != F->alloc.owner_bytes[OWNER_TREE])
        die("%s: rx_memory %zu + spare %zu, bytes held by the tree %zu", where, rx_memory(F->t),
            rx_spare_memory(F->t), F->alloc.owner_bytes[OWNER_TREE]);
    if (F->mn == 0 && !F->in_release && rx_memory(F->t) != F->empty_memory)
        die("%s: empty tree but rx_memory %zu (empty value %zu)", where, rx_memory(F->t),
            F->empty_memory);
}

/* The whole tree against the model: a listing in one direction, sizes,
 * and rx_find on a sample of keys.  Never fails an allocation. */
static void verify_full(fz *F, int backward, const char *why)
{
    int saved = F->alloc.disabled;
    rx_iter it;
    size_t i, step;
    int rc;
    F->alloc.disabled = 1;
    TRACE("verify (%s, %s)\n", why, backward ? "backward" : "forward");
    check_cheap(F, why);
    if (rx_count_prefix(F->t, NULL, 0) != F->mn)
        die("%s: rx_count_prefix(\"\") %zu, model %zu", why, rx_count_prefix(F->t, NULL, 0), F->mn);
    it_init(F, OWNER_VERIFY, &it);
    if (it_seek(F, OWNER_VERIFY, &it, backward ? RX_SEEK_LAST : RX_SEEK_FIRST, NULL, 0) != RX_OK)
        die("%s: seek failed with allocation failures disabled", why);
    for (i = 0; i < F->mn; i++) {
        const entry *e = &F->m[backward ? F->mn - 1 - i : i];
        rc = it_next(F, OWNER_VERIFY, &it);
        if (rc != 1) {
            fprintf(stderr, "expected key #%zu ", i);
            print_key(stderr, e->k, e->n);
            die("%s: full listing ended early (rc %d)", why, rc);
        }
        if (cmp_keys(it.key, it.key_len, e->k, e->n) != 0 || P2V(it.value) != e->v) {
            fprintf(stderr, "listed ");
            print_key(stderr, it.key, it.key_len);
            fprintf(stderr, " = %lu, model ", (unsigned long)P2V(it.value));
            print_key(stderr, e->k, e->n);
            fprintf(stderr, " = %lu\n", (unsigned long)e->v);
            die("%s: full listing differs at #%zu", why, i);
        }
    }
    rc = it_next(F, OWNER_VERIFY, &it);
    if (rc != 0) {
        if (rc == 1) {
            fprintf(stderr, "extra key ");
            print_key(stderr, it.key, it.key_len);
            fprintf(stderr, "\n");
        }
        die("%s: full listing has more than the model's %zu keys (rc %d)", why, F->mn, rc);
    }
    it_release(F, OWNER_VERIFY, &it);
    if (!F->in_release) { /* (detached nodes count until freed) */
        const char *err = rx_check(F->t, NULL);
        if (err)
            die("%s: rx_check: %s", why, err);
    }
    step = F->mn / 32 + 1;
    for (i = 0; i < F->mn; i += step) {
        void *v = NULL;
        if (rx_find(F->t, F->m[i].k, F->m[i].n, &v) != 1 || P2V(v) != F->m[i].v)
            die("%s: rx_find misses a stored key (#%zu)", why, i);
    }
    F->alloc.disabled = saved;
}

static void after_enomem(fz *F, const char *what)
{
    check_cheap(F, what);
    if (F->verify_budget > 0) {
        F->verify_budget--;
        verify_full(F, F->verify_budget & 1, what);
    }
}

static void expect_failure_injected(fz *F, unsigned long before, const char *what)
{
    if (F->alloc.failures == before)
        die("%s returned RX_ENOMEM without a failed allocation", what);
}

/* ======================================================================
 * Operations
 * ==================================================================== */

static void run_op(fz *F);

static void do_insert(fz *F, const key_t_ *k)
{
    uintptr_t v = F->next_value++;
    void *old = (void *)(uintptr_t)0xdeadbeef;
    uint64_t ver = rx_version(F->t);
    unsigned long f0 = F->alloc.failures;
    long idx;
    int rc;
    rc = rx_insert(F->t, k->arg, k->n, V2P(v), &old);
    idx = m_find(F, k->p, k->n);
    TRACE("insert ");
    TRACEKEY(k->p, k->n);
    TRACE(" = %lu -> %d\n", (unsigned long)v, rc);
    if (rc == RX_ENOMEM) {
        expect_failure_injected(F, f0, "rx_insert");
        after_enomem(F, "after rx_insert ENOMEM");
        return;
    }
    if (idx >= 0) {
        if (rc != 0 || P2V(old) != F->m[idx].v)
            die("rx_insert over a stored key: rc %d old %lu, model old %lu", rc,
                (unsigned long)P2V(old), (unsigned long)F->m[idx].v);
        F->m[idx].v = v;
    } else {
        if (rc != 1)
            die("rx_insert of a new key returned %d", rc);
        m_insert_at(F, m_bound(F, k->p, k->n, 0), k->p, k->n, v);
    }
    if (rx_version(F->t) <= ver)
        die("rx_insert changed the tree but not its version");
}

static void do_remove(fz *F, const key_t_ *k)
{
    void *old = (void *)(uintptr_t)0xdeadbeef;
    uint64_t ver = rx_version(F->t);
    int rc = rx_remove(F->t, k->arg, k->n, &old);
    long idx = m_find(F, k->p, k->n);
    TRACE("remove ");
    TRACEKEY(k->p, k->n);
    TRACE(" -> %d\n", rc);
    if (idx >= 0) {
        if (rc != 1 || P2V(old) != F->m[idx].v)
            die("rx_remove of a stored key: rc %d old %lu, model %lu", rc,
                (unsigned long)P2V(old), (unsigned long)F->m[idx].v);
        m_delete_range(F, (size_t)idx, (size_t)idx + 1);
        if (rx_version(F->t) <= ver)
            die("rx_remove changed the tree but not its version");
    } else if (rc != 0) {
        die("rx_remove of a missing key returned %d", rc);
    }
}

static void do_find(fz *F, const key_t_ *k)
{
    void *v = (void *)(uintptr_t)0xdeadbeef;
    int rc = rx_find(F->t, k->arg, k->n, &v);
    long idx = m_find(F, k->p, k->n);
    TRACE("find ");
    TRACEKEY(k->p, k->n);
    TRACE(" -> %d\n", rc);
    if (idx >= 0 ? (rc != 1 || P2V(v) != F->m[idx].v) : rc != 0)
        die("rx_find: rc %d value %lu, model %s %lu", rc, (unsigned long)P2V(v),
            idx >= 0 ? "has" : "lacks", idx >= 0 ? (unsigned long)F->m[idx].v : 0ul);
}

static int cmp_ids(const void *a, const void *b)
{
    uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
    return x < y ? -1 : x > y;
}

/* rx_find_many over a batch of keys (duplicates and misses included) */
static void do_find_many(fz *F, unsigned b)
{
    size_t n = (b & 0x7f) % 24, i, found = 0, got;
    key_t_ *keys = xmalloc((n ? n : 1) * sizeof *keys);
    const unsigned char **ptrs = xmalloc((n ? n : 1) * sizeof *ptrs);
    size_t *lens = xmalloc((n ? n : 1) * sizeof *lens);
    void **values = xmalloc((n ? n : 1) * sizeof *values);
    void *missing = (b & 0x80) ? NULL : (void *)(uintptr_t)0x5a5a5a5a;
    for (i = 0; i < n; i++) {
        keys[i] = read_key(F);
        ptrs[i] = keys[i].arg;
        lens[i] = keys[i].n;
        values[i] = (void *)(uintptr_t)0xdeadbeef;
    }
    got = rx_find_many(F->t, n, n ? ptrs : NULL, lens, values, missing);
    TRACE("find_many of %zu keys -> %zu\n", n, got);
    for (i = 0; i < n; i++) {
        long idx = m_find(F, keys[i].p, keys[i].n);
        void *want = idx >= 0 ? V2P(F->m[idx].v) : missing;
        found += idx >= 0;
        if (values[i] != want) {
            fprintf(stderr, "key #%zu ", i);
            print_key(stderr, keys[i].p, keys[i].n);
            die("rx_find_many: value %p, model %p (%s)", values[i], want, idx >= 0 ? "stored" : "missing");
        }
    }
    if (got != found)
        die("rx_find_many returned %zu, model finds %zu", got, found);
    for (i = 0; i < n; i++)
        key_free(&keys[i]);
    free(keys);
    free(ptrs);
    free(lens);
    free(values);
}

typedef struct {
    uintptr_t *ids;
    unsigned char *seen;
    size_t n, visited, stop_at;
} visit_ctx;

static int visit_cb(void *value, void *ctx)
{
    visit_ctx *c = ctx;
    uintptr_t v = P2V(value);
    uintptr_t *hit = c->n ? bsearch(&v, c->ids, c->n, sizeof v, cmp_ids) : NULL;
    if (hit == NULL)
        die("rx_visit_values visited value %lu that is not stored", (unsigned long)v);
    if (c->seen[hit - c->ids])
        die("rx_visit_values visited value %lu twice", (unsigned long)v);
    c->seen[hit - c->ids] = 1;
    c->visited++;
    return c->visited == c->stop_at ? (int)(c->stop_at % 7) + 1 : 0;
}

/* rx_visit_values: every value once, stops at the first non-zero result,
 * and allocates nothing (so it works with every allocation failing) */
static void do_visit(fz *F, unsigned b)
{
    visit_ctx c;
    size_t i;
    unsigned long calls = F->alloc.calls;
    uint64_t ver = rx_version(F->t);
    int rc;
    c.n = F->mn;
    c.ids = xmalloc((c.n ? c.n : 1) * sizeof *c.ids);
    c.seen = xmalloc(c.n ? c.n : 1);
    for (i = 0; i < c.n; i++)
        c.ids[i] = F->m[i].v;
    if (c.n)
        qsort(c.ids, c.n, sizeof *c.ids, cmp_ids);
    memset(c.seen, 0, c.n ? c.n : 1);
    c.visited = 0;
    c.stop_at = (b & 1) && c.n ? 1 + (b >> 1) % c.n : 0;
    rc = rx_visit_values(F->t, visit_cb, &c);
    TRACE("visit_values (stop at %zu) -> %d after %zu\n", c.stop_at, rc, c.visited);
    if (F->alloc.calls != calls)
        die("rx_visit_values allocated (%lu allocator calls)", F->alloc.calls - calls);
    if (rx_version(F->t) != ver)
        die("rx_visit_values changed the tree's version");
    if (c.stop_at) {
        if (rc != (int)(c.stop_at % 7) + 1 || c.visited != c.stop_at)
            die("rx_visit_values: stop at %zu: returned %d after %zu visits", c.stop_at, rc, c.visited);
    } else if (rc != 0 || c.visited != c.n) {
        die("rx_visit_values returned %d after %zu visits, model has %zu values", rc, c.visited, c.n);
    }
    free(c.ids);
    free(c.seen);
}

static void do_count(fz *F, const key_t_ *k)
{
    size_t lo, hi, got = rx_count_prefix(F->t, k->arg, k->n);
    m_prefix_range(F, k->p, k->n, &lo, &hi);
    TRACE("count_prefix ");
    TRACEKEY(k->p, k->n);
    TRACE(" -> %zu\n", got);
    if (got != hi - lo)
        die("rx_count_prefix %zu, model %zu", got, hi - lo);
}

static void do_longest(fz *F, const key_t_ *k)
{
    size_t ml = (size_t)-1, l, i;
    void *v = (void *)(uintptr_t)0xdeadbeef;
    int rc = rx_longest_prefix(F->t, k->arg, k->n, &ml, &v);
    long idx = -1;
    TRACE("longest_prefix ");
    TRACEKEY(k->p, k->n);
    TRACE(" -> %d len %zu\n", rc, rc == 1 ? ml : 0);
    /* the longest stored key that k starts with (linear: fine for the
     * model's sizes, and not quadratic in the length of long keys) */
    l = 0;
    for (i = 0; i < F->mn; i++) {
        const entry *e = &F->m[i];
        if ((idx < 0 || e->n > l) && has_prefix(k->p, k->n, e->k, e->n)) {
            idx = (long)i;
            l = e->n;
        }
    }
    if (idx < 0 ? rc != 0 : (rc != 1 || ml != l || P2V(v) != F->m[idx].v))
        die("rx_longest_prefix: rc %d len %zu value %lu; model %s len %zu", rc, ml,
            (unsigned long)P2V(v), idx < 0 ? "none" : "match", idx < 0 ? 0 : l);
}

/* ---- bulk removal with a checking, re-entering release callback ---- */

typedef struct {
    fz *F;
    uintptr_t *ids; /* sorted values expected to be released */
    unsigned char *seen;
    size_t n, released;
    unsigned control; /* which releases re-enter the tree */
} release_ctx;

static void release_cb(void *value, void *ctx)
{
    release_ctx *c = ctx;
    fz *F = c->F;
    uintptr_t v = P2V(value);
    uintptr_t *hit = c->n ? bsearch(&v, c->ids, c->n, sizeof v, cmp_ids) : NULL;
    size_t nth = c->released;
    if (hit == NULL)
        die("release of value %lu that was not removed", (unsigned long)v);
    if (c->seen[hit - c->ids])
        die("value %lu released twice", (unsigned long)v);
    c->seen[hit - c->ids] = 1;
    c->released++;
    F->in_release++;
    /* the tree must be consistent before any release */
    check_cheap(F, "inside release callback");
    if (c->control && F->depth < MAX_DEPTH &&
        (nth == (c->control & 15) || ((c->control & 0x30) == 0x30 && nth % 8 == 7))) {
        TRACE("release #%zu re-enters:\n", nth);
        F->depth++;
        run_op(F);
        F->depth--;
        check_cheap(F, "after re-entering from a release callback");
    }
    F->in_release--;
}

static void release_ctx_init(release_ctx *c, fz *F, size_t lo, size_t hi, unsigned control)
{
    size_t i;
    c->F = F;
    c->n = hi - lo;
    c->ids = xmalloc(c->n * sizeof *c->ids);
    c->seen = xmalloc(c->n);
    memset(c->seen, 0, c->n);
    for (i = lo; i < hi; i++)
        c->ids[i - lo] = F->m[i].v;
    qsort(c->ids, c->n, sizeof *c->ids, cmp_ids);
    c->released = 0;
    c->control = control;
}

static void release_ctx_done(release_ctx *c, const char *what)
{
    if (c->released != c->n)
        die("%s released %zu values, expected %zu", what, c->released, c->n);
    free(c->ids);
    free(c->seen);
}

static void do_remove_prefix(fz *F, const key_t_ *k, unsigned control)
{
    size_t lo, hi, got;
    uint64_t ver = rx_version(F->t);
    int with_cb = (control & 0xC0) != 0xC0; /* sometimes release == NULL */
    release_ctx c;
    m_prefix_range(F, k->p, k->n, &lo, &hi);
    TRACE("remove_prefix ");
    TRACEKEY(k->p, k->n);
    TRACE(" (model %zu, control 0x%02x)\n", hi - lo, control);
    release_ctx_init(&c, F, lo, hi, control & 0x3f);
    m_delete_range(F, lo, hi);
    got = rx_remove_prefix(F->t, k->arg, k->n, with_cb ? release_cb : NULL, &c);
    if (got != c.n)
        die("rx_remove_prefix returned %zu, model removed %zu", got, c.n);
    if (with_cb)
        release_ctx_done(&c, "rx_remove_prefix");
    else {
        free(c.ids);
        free(c.seen);
    }
    if (got && rx_version(F->t) <= ver)
        die("rx_remove_prefix changed the tree but not its version");
}

static void do_clear(fz *F, unsigned control)
{
    size_t got, before = F->mn;
    uint64_t ver = rx_version(F->t);
    int with_cb = (control & 0xC0) != 0xC0;
    release_ctx c;
    TRACE("clear (model %zu, control 0x%02x)\n", F->mn, control);
    release_ctx_init(&c, F, 0, F->mn, control & 0x3f);
    m_delete_range(F, 0, F->mn);
    got = rx_clear(F->t, with_cb ? release_cb : NULL, &c);
    if (got != before)
        die("rx_clear returned %zu, model had %zu", got, before);
    if (with_cb)
        release_ctx_done(&c, "rx_clear");
    else {
        free(c.ids);
        free(c.seen);
    }
    if (before && rx_version(F->t) <= ver)
        die("rx_clear changed the tree but not its version");
    if (F->mn == 0 && !F->in_release && rx_memory(F->t) != F->empty_memory)
        die("rx_memory %zu after clear, empty value %zu", rx_memory(F->t), F->empty_memory);
}

/* ---- iterators ---- */

static void miter_reset(miter *mi)
{
    mi->active = mi->ended = mi->has_key = mi->sought = 0;
    mi->backward = 0;
    mi->op = RX_SEEK_FIRST;
    mi->target_n = mi->prefix_n = mi->pending_n = 0;
    mi->has_bound = mi->inclusive = 0;
    mi->bound_n = 0;
    mi->delim_n = mi->delim_from = 0;
}

/* Length of the group key k rolls up into under a delimiter d (dn >= 1)
 * looked for from byte `from`: the key up to the end of the first
 * occurrence (a key ending with it is in the group it spells); 0 when it
 * has none and is listed as itself. */
static size_t group_of(const unsigned char *k, size_t n, const unsigned char *d, size_t dn,
                       size_t from)
{
    size_t s;
    for (s = from; s + dn <= n; s++)
        if (memcmp(k + s, d, dn) == 0)
            return s + dn;
    return 0;
}

/* Whether key k lies beyond the end bound (radix.h's rx_iter_set_end). */
static int beyond_bound(const unsigned char *k, size_t kn, const unsigned char *b, size_t bn,
                        int inclusive, int backward)
{
    int c = cmp_keys(k, kn, b, bn);
    if (c == 0)
        return !inclusive;
    return backward ? c < 0 : c > 0;
}

/* miter.op after a forward rx_iter_skip_prefix: the next key is the first
 * after every key starting with target.  (Backward it is RX_SEEK_LT.) */
#define OP_PAST 6

/* First model index past the keys that start with p. */
static size_t m_past(const fz *F, const unsigned char *p, size_t pn)
{
    size_t i = m_bound(F, p, pn, 0);
    while (i < F->mn && has_prefix(F->m[i].k, F->m[i].n, p, pn))
        i++;
    return i;
}

/* The key the model says the iterator returns next: its index, or -1. */
static long m_expected_unbounded(const fz *F, const miter *mi)
{
    size_t lo, hi, a, b;
    m_prefix_range(F, mi->prefix, mi->prefix_n, &lo, &hi);
    if (!mi->backward) {
        a = lo;
        if (mi->op == RX_SEEK_GE || mi->op == RX_SEEK_GT || mi->op == OP_PAST) {
            size_t t = mi->op == OP_PAST ? m_past(F, mi->target, mi->target_n)
                                         : m_bound(F, mi->target, mi->target_n, mi->op == RX_SEEK_GT);
            if (t > a)
                a = t;
        }
        return a < hi ? (long)a : -1;
    }
    b = hi;
    if (mi->op == RX_SEEK_LE || mi->op == RX_SEEK_LT) {
        size_t t = m_bound(F, mi->target, mi->target_n, mi->op == RX_SEEK_LE);
        if (t < b)
            b = t;
    }
    return b > lo ? (long)b - 1 : -1;
}

/* The same with the iterator's end bound: nothing past it. */
static long m_expected(const fz *F, const miter *mi)
{
    long i = m_expected_unbounded(F, mi);
    if (i >= 0 && mi->has_bound &&
        beyond_bound(F->m[i].k, F->m[i].n, mi->bound, mi->bound_n, mi->inclusive, mi->backward))
        return -1;
    return i;
}

static const char *const SEEK_NAMES[] = {"FIRST", "LAST", "GE", "GT", "LE", "LT", "PAST"};

static int do_next(fz *F, int which)
{
    miter *mi = &F->its[which];
    unsigned long f0 = F->alloc.failures;
    uint64_t ver = rx_version(F->t);
    int rc = it_next(F, 1 + which, &mi->it);
    long want = mi->active ? m_expected(F, mi) : -1;
    mi->has_key = 0;
    TRACE("next it%d -> %d ", which, rc);
    if (rc == 1)
        TRACEKEY(mi->it.key, mi->it.key_len);
    TRACE("\n");
    if (rx_version(F->t) != ver)
        die("rx_iter_next changed the tree's version");
    if (rc == RX_ENOMEM) {
        expect_failure_injected(F, f0, "rx_iter_next");
        if (!mi->active)
            die("rx_iter_next on a finished iterator returned RX_ENOMEM");
        /* Two documented outcomes (radix.c): the re-seek after a change
         * failed and the next call tries again from the same place, or a
         * step failed half-way and the iterator is finished.  The private
         * `exhausted` flag says which; a retry must then be exact. */
        if (mi->it.exhausted)
            mi->active = 0;
        return rc;
    }
    if (rc == 1 || rc == RX_GROUP) {
        const entry *e;
        size_t g;
        if (!mi->active || want < 0) {
            fprintf(stderr, "got ");
            print_key(stderr, mi->it.key, mi->it.key_len);
            fprintf(stderr, "\n");
            die("rx_iter_next (it%d, %s, %s) returned a key, model expects none", which,
                mi->active ? "open" : "never sought / failed seek",
                mi->backward ? "backward" : "forward");
        }
        e = &F->m[want];
        g = mi->delim_n ? group_of(e->k, e->n, mi->delim, mi->delim_n, mi->delim_from) : 0;
        if (g) { /* the key rolls up into its group: listed once, then passed */
            if (rc != RX_GROUP || cmp_keys(mi->it.key, mi->it.key_len, e->k, g) != 0 ||
                mi->it.value != NULL) {
                fprintf(stderr, "got %s ", rc == 1 ? "key" : "group");
                print_key(stderr, mi->it.key, mi->it.key_len);
                fprintf(stderr, ", model group ");
                print_key(stderr, e->k, g);
                fprintf(stderr, " of key ");
                print_key(stderr, e->k, e->n);
                fprintf(stderr, "; after %s ", SEEK_NAMES[mi->op]);
                print_key(stderr, mi->target, mi->target_n);
                fprintf(stderr, "\n");
                die("rx_iter_next (it%d, %s, delimited) differs", which,
                    mi->backward ? "backward" : "forward");
            }
            set_buf(&mi->target, &mi->target_n, e->k, g);
            mi->op = mi->backward ? RX_SEEK_LT : OP_PAST;
            mi->ended = 0;
            mi->has_key = 1;
            return 1;
        }
        if (rc != 1 || cmp_keys(mi->it.key, mi->it.key_len, e->k, e->n) != 0 ||
            P2V(mi->it.value) != e->v) {
            fprintf(stderr, "got ");
            print_key(stderr, mi->it.key, mi->it.key_len);
            fprintf(stderr, " = %lu, model ", (unsigned long)P2V(mi->it.value));
            print_key(stderr, e->k, e->n);
            fprintf(stderr, " = %lu; iterator prefix ", (unsigned long)e->v);
            print_key(stderr, mi->prefix, mi->prefix_n);
            fprintf(stderr, ", after %s ", SEEK_NAMES[mi->op]);
            print_key(stderr, mi->target, mi->target_n);
            fprintf(stderr, "\n");
            die("rx_iter_next (it%d, %s) differs", which, mi->backward ? "backward" : "forward");
        }
        set_buf(&mi->target, &mi->target_n, e->k, e->n);
        mi->op = mi->backward ? RX_SEEK_LT : RX_SEEK_GT;
        mi->ended = 0;
        mi->has_key = 1;
        return 1;
    }
    if (rc != 0)
        die("rx_iter_next returned %d", rc);
    if (want >= 0 && !mi->ended) {
        const entry *e = &F->m[want];
        fprintf(stderr, "model expects ");
        print_key(stderr, e->k, e->n);
        fprintf(stderr, "; iterator prefix ");
        print_key(stderr, mi->prefix, mi->prefix_n);
        fprintf(stderr, ", after %s ", SEEK_NAMES[mi->op]);
        print_key(stderr, mi->target, mi->target_n);
        fprintf(stderr, "\n");
        die("rx_iter_next (it%d, %s) returned 0 but the model has a key", which,
            mi->backward ? "backward" : "forward");
    } else if (want < 0) {
        mi->ended = 1; /* finished: stays finished (or resumes correctly) */
    }
    return 0;
}

static void do_seek(fz *F, int which, int op, const key_t_ *k)
{
    miter *mi = &F->its[which];
    unsigned long f0 = F->alloc.failures;
    /* radix.h: "key is ignored for FIRST/LAST" -- so it may be anything */
    int first_last = op == RX_SEEK_FIRST || op == RX_SEEK_LAST;
    int rc = it_seek(F, 1 + which, &mi->it, op, first_last && (k->n & 1) ? NULL : k->arg, k->n);
    TRACE("seek it%d %s ", which, SEEK_NAMES[op]);
    TRACEKEY(k->p, k->n);
    TRACE(" -> %d\n", rc);
    mi->has_key = 0;
    /* direction and prefix are set even by a seek that fails: a later
     * rx_iter_skip_prefix uses them */
    mi->sought = 1;
    mi->backward = op == RX_SEEK_LAST || op == RX_SEEK_LE || op == RX_SEEK_LT;
    set_buf(&mi->prefix, &mi->prefix_n, mi->pending, mi->pending_n);
    if (rc == RX_ENOMEM) {
        expect_failure_injected(F, f0, "rx_iter_seek");
        mi->active = 0;
        return;
    }
    if (rc != RX_OK)
        die("rx_iter_seek returned %d", rc);
    mi->active = 1;
    mi->ended = 0;
    mi->op = op;
    set_buf(&mi->target, &mi->target_n, k->p, k->n);
}

/* rx_iter_skip_prefix: control bit 0x10 with a key just returned skips a
 * group that key is in (its first `len` bytes, passed as a pointer into
 * the iterator's own key: the fast path); otherwise a key from the input. */
static void do_skip(fz *F, int which, unsigned control)
{
    miter *mi = &F->its[which];
    unsigned long f0 = F->alloc.failures, calls = F->alloc.calls;
    uint64_t ver = rx_version(F->t);
    key_t_ g;
    int rc, saved = F->alloc.owner;
    if ((control & 0x10) && mi->has_key) {
        g = key_from(mi->it.key, u8(&F->in) % (mi->it.key_len + 1));
        g.arg = mi->it.key;
    } else {
        g = read_key(F);
    }
    F->alloc.owner = 1 + which;
    rc = rx_iter_skip_prefix(&mi->it, g.arg, g.n);
    F->alloc.owner = saved;
    TRACE("skip it%d ", which);
    TRACEKEY(g.p, g.n);
    TRACE(" -> %d\n", rc);
    mi->has_key = 0;
    if (rx_version(F->t) != ver)
        die("rx_iter_skip_prefix changed the tree's version");
    if (!mi->sought) {
        if (rc != RX_OK || F->alloc.calls != calls)
            die("rx_iter_skip_prefix before any seek returned %d / allocated", rc);
    } else if (rc == RX_ENOMEM) {
        expect_failure_injected(F, f0, "rx_iter_skip_prefix");
        mi->active = 0;
    } else if (rc != RX_OK) {
        die("rx_iter_skip_prefix returned %d", rc);
    } else {
        mi->active = 1;
        mi->ended = 0;
        mi->op = mi->backward ? RX_SEEK_LT : OP_PAST;
        set_buf(&mi->target, &mi->target_n, g.p, g.n);
    }
    key_free(&g);
}

/* Entry of a directory-style listing for key k under prefix p, rolled up
 * at the first byte d after p: its length (the group's, or n). */
static size_t entry_len(const unsigned char *k, size_t n, size_t pn, int d)
{
    const unsigned char *cut = d >= 0 ? memchr(k + pn, d, n - pn) : NULL;
    return cut ? (size_t)(cut - k) + 1 : n;
}

/* A range listing the way the binding makes one: keys with prefix P, at
 * or after `start` and before `stop` (each optional), in either direction,
 * from one seek, stopping at the far bound; with a delimiter byte, keys
 * with it after P are rolled up into one entry per group, left with
 * rx_iter_skip_prefix.  Entry by entry against the model.  Allocation
 * failures may end it early (RX_ENOMEM, checked to be injected). */
static void op_range(fz *F, unsigned control)
{
    key_t_ p = read_key(F), start = read_key(F), stop = read_key(F);
    int backward = control & 1, has_start = (control >> 1) & 1, has_stop = (control >> 2) & 1;
    int d = (control & 0x08) ? (int)u8(&F->in) : -1, rc;
    /* the delimiter step in the iterator (rx_iter_set_delimiter, as the
     * binding), which needs the far bound there too */
    int c_delim = d >= 0 && (control & 0x20) != 0;
    int c_bound = (control & 0x10) != 0 || c_delim; /* the far bound in the iterator */
    unsigned char dbyte = (unsigned char)d;
    unsigned long f0 = F->alloc.failures;
    size_t lo, hi, a, b, listed = 0;
    unsigned char *last = NULL; /* the model's last entry (a group rolls up) */
    size_t last_n = 0;
    rx_iter it;
    TRACE("range %s prefix ", backward ? "backward" : "forward");
    TRACEKEY(p.p, p.n);
    TRACE(" start%s ", has_start ? "" : "(none)");
    TRACEKEY(start.p, start.n);
    TRACE(" stop%s ", has_stop ? "" : "(none)");
    TRACEKEY(stop.p, stop.n);
    TRACE(" delimiter %d%s%s\n", d, c_bound ? " (bound in the iterator)" : "",
          c_delim ? " (delimiter in the iterator)" : "");
    /* the model's answer: indexes [a, b) of the keys, in the direction */
    m_prefix_range(F, p.p, p.n, &lo, &hi);
    a = lo;
    b = hi;
    if (has_start && m_bound(F, start.p, start.n, 0) > a)
        a = m_bound(F, start.p, start.n, 0);
    if (has_stop && m_bound(F, stop.p, stop.n, 0) < b)
        b = m_bound(F, stop.p, stop.n, 0);
    if (b < a)
        b = a;
    { /* rx_count_range over [start, stop), each end optional */
        size_t lo_i = has_start ? m_bound(F, start.p, start.n, 0) : 0;
        size_t hi_i = has_stop ? m_bound(F, stop.p, stop.n, 0) : F->mn;
        size_t got = rx_count_range(F->t, has_start ? start.arg : NULL, has_start ? start.n : 0,
                                    stop.arg, stop.n, has_stop);
        if (got != (hi_i > lo_i ? hi_i - lo_i : 0))
            die("rx_count_range returned %zu, the model has %zu", got,
                hi_i > lo_i ? hi_i - lo_i : 0);
    }

    it_init(F, OWNER_VERIFY, &it);
    rc = it_set_prefix(F, OWNER_VERIFY, &it, p.arg, p.n);
    if (rc == RX_OK && c_delim) {
        int saved = F->alloc.owner;
        F->alloc.owner = OWNER_VERIFY;
        rc = rx_iter_set_delimiter(&it, &dbyte, 1, p.n);
        F->alloc.owner = saved;
        if (rc == RX_ENOMEM)
            expect_failure_injected(F, f0, "range listing's rx_iter_set_delimiter");
        else if (rc != RX_OK)
            die("rx_iter_set_delimiter returned %d", rc);
    }
    if (rc == RX_OK && c_bound && (backward ? has_start : has_stop)) {
        int saved = F->alloc.owner;
        F->alloc.owner = OWNER_VERIFY;
        rc = backward ? rx_iter_set_end(&it, start.arg, start.n, 1)
                      : rx_iter_set_end(&it, stop.arg, stop.n, 0);
        F->alloc.owner = saved;
        if (rc == RX_ENOMEM)
            expect_failure_injected(F, f0, "range listing's rx_iter_set_end");
        else if (rc != RX_OK)
            die("rx_iter_set_end returned %d", rc);
    }
    if (rc == RX_OK) {
        if (backward)
            rc = it_seek(F, OWNER_VERIFY, &it, has_stop ? RX_SEEK_LT : RX_SEEK_LAST, stop.arg, stop.n);
        else
            rc = it_seek(F, OWNER_VERIFY, &it, has_start ? RX_SEEK_GE : RX_SEEK_FIRST, start.arg,
                         start.n);
    }
    while (rc == RX_OK) {
        size_t en;
        const entry *e;
        int saved;
        rc = it_next(F, OWNER_VERIFY, &it);
        if (rc == RX_GROUP && !c_delim)
            die("range listing: RX_GROUP from an iterator without a delimiter");
        if (rc == 1 && (backward ? has_start && cmp_keys(it.key, it.key_len, start.p, start.n) < 0
                                 : has_stop && cmp_keys(it.key, it.key_len, stop.p, stop.n) >= 0)) {
            if (c_bound) {
                fprintf(stderr, "got ");
                print_key(stderr, it.key, it.key_len);
                fprintf(stderr, "\n");
                die("range listing: rx_iter_next returned a key past the iterator's end bound");
            }
            rc = 0; /* past the far bound: the listing ends */
        }
        /* the model's next entry: skip the keys of the group listed last */
        while (a < b) {
            e = &F->m[backward ? b - 1 : a];
            if (!(last && has_prefix(e->k, e->n, last, last_n)))
                break;
            if (backward)
                b--;
            else
                a++;
        }
        if (rc != 1 && rc != RX_GROUP) {
            if (rc == RX_ENOMEM) {
                expect_failure_injected(F, f0, "range listing");
                break;
            }
            if (rc != 0)
                die("range listing: rx_iter_next returned %d", rc);
            if (a < b)
                die("range listing ended after %zu entries; the model has more", listed);
            break;
        }
        if (a >= b) {
            fprintf(stderr, "got ");
            print_key(stderr, it.key, it.key_len);
            fprintf(stderr, "\n");
            die("range listing returned an entry (#%zu) the model does not have", listed);
        }
        e = &F->m[backward ? b - 1 : a];
        if (c_delim) {
            /* the iterator rolls up: a group (a key ending with the
             * delimiter spells its own) comes once, with RX_GROUP */
            size_t g = group_of(e->k, e->n, &dbyte, 1, p.n);
            if (rc != (g ? RX_GROUP : 1) || cmp_keys(it.key, it.key_len, e->k, g ? g : e->n) != 0 ||
                (g ? it.value != NULL : P2V(it.value) != e->v)) {
                fprintf(stderr, "got %s ", rc == 1 ? "key" : "group");
                print_key(stderr, it.key, it.key_len);
                fprintf(stderr, ", model %s ", g ? "group" : "key");
                print_key(stderr, e->k, g ? g : e->n);
                fprintf(stderr, "\n");
                die("delimited range listing differs at entry #%zu", listed);
            }
            listed++;
            rc = RX_OK;
            free(last);
            last = NULL;
            last_n = 0;
            if (g)
                set_buf(&last, &last_n, e->k, g);
            else if (backward)
                b--;
            else
                a++;
            continue;
        }
        en = entry_len(e->k, e->n, p.n, d);
        if (cmp_keys(it.key, entry_len(it.key, it.key_len, p.n, d), e->k, en) != 0) {
            fprintf(stderr, "got ");
            print_key(stderr, it.key, it.key_len);
            fprintf(stderr, ", model entry ");
            print_key(stderr, e->k, en);
            fprintf(stderr, "\n");
            die("range listing differs at entry #%zu", listed);
        }
        listed++;
        rc = RX_OK;
        if (en < e->n) { /* a group: listed once, then skipped */
            set_buf(&last, &last_n, e->k, en);
            saved = F->alloc.owner;
            F->alloc.owner = OWNER_VERIFY;
            rc = rx_iter_skip_prefix(&it, it.key, en);
            F->alloc.owner = saved;
            if (rc == RX_ENOMEM)
                expect_failure_injected(F, f0, "range listing's skip");
            else if (rc != RX_OK)
                die("rx_iter_skip_prefix returned %d", rc);
        } else {
            free(last);
            last = NULL;
            last_n = 0;
            if (backward)
                b--;
            else
                a++;
        }
    }
    it_release(F, OWNER_VERIFY, &it); /* first: verify_full's iterator has the same owner */
    if (rc == RX_ENOMEM)
        after_enomem(F, "range listing");
    free(last);
    key_free(&p);
    key_free(&start);
    key_free(&stop);
}

static void do_set_prefix(fz *F, int which, const key_t_ *k)
{
    miter *mi = &F->its[which];
    unsigned long f0 = F->alloc.failures;
    int rc = it_set_prefix(F, 1 + which, &mi->it, k->arg, k->n);
    TRACE("set_prefix it%d ", which);
    TRACEKEY(k->p, k->n);
    TRACE(" -> %d\n", rc);
    mi->has_key = 0;
    if (rc == RX_ENOMEM) {
        expect_failure_injected(F, f0, "rx_iter_set_prefix");
        return;
    }
    if (rc != RX_OK)
        die("rx_iter_set_prefix returned %d", rc);
    set_buf(&mi->pending, &mi->pending_n, k->p, k->n);
}

static void do_set_end(fz *F, int which, const key_t_ *k, int inclusive)
{
    miter *mi = &F->its[which];
    unsigned long f0 = F->alloc.failures;
    int saved = F->alloc.owner, rc;
    F->alloc.owner = 1 + which;
    rc = rx_iter_set_end(&mi->it, k->arg, k->n, inclusive);
    F->alloc.owner = saved;
    TRACE("set_end it%d ", which);
    TRACEKEY(k->p, k->n);
    TRACE(" %s -> %d\n", inclusive ? "inclusive" : "exclusive", rc);
    mi->has_key = 0;
    if (rc == RX_ENOMEM) {
        expect_failure_injected(F, f0, "rx_iter_set_end");
        return; /* the iterator is unchanged */
    }
    if (rc != RX_OK)
        die("rx_iter_set_end returned %d", rc);
    set_buf(&mi->bound, &mi->bound_n, k->p, k->n);
    mi->has_bound = 1;
    mi->inclusive = inclusive;
}

/* rx_iter_set_delimiter on a long-lived iterator: from the next step on,
 * do_next expects groups (len 0 removes it). */
static void do_set_delimiter(fz *F, int which, const key_t_ *k, size_t from)
{
    miter *mi = &F->its[which];
    unsigned long f0 = F->alloc.failures;
    size_t n = k->n > 3 ? 3 : k->n; /* a long delimiter would rarely occur */
    int saved = F->alloc.owner, rc;
    F->alloc.owner = 1 + which;
    rc = rx_iter_set_delimiter(&mi->it, k->arg, n, from);
    F->alloc.owner = saved;
    TRACE("set_delimiter it%d ", which);
    TRACEKEY(k->p, n);
    TRACE(" from %zu -> %d\n", from, rc);
    mi->has_key = 0;
    if (rc == RX_ENOMEM) {
        expect_failure_injected(F, f0, "rx_iter_set_delimiter");
        return; /* the iterator is unchanged */
    }
    if (rc != RX_OK)
        die("rx_iter_set_delimiter returned %d", rc);
    set_buf(&mi->delim, &mi->delim_n, k->p, n);
    mi->delim_from = from;
}

static void do_iter_release(fz *F, int which, int reinit)
{
    miter *mi = &F->its[which];
    TRACE("release it%d%s\n", which, reinit ? " + init" : "");
    it_release(F, 1 + which, &mi->it);
    if (reinit)
        it_init(F, 1 + which, &mi->it);
    miter_reset(mi);
}

/* ---- op dispatcher ---- */

static void op_bulk(fz *F, int insert)
{
    key_t_ base = read_key(F);
    unsigned lo = u8(&F->in), cnt = 1 + u8(&F->in), tail = u8(&F->in), b;
    key_t_ k;
    TRACE("bulk %s under ", insert ? "insert" : "remove");
    TRACEKEY(base.p, base.n);
    TRACE(" bytes %u..%u%s\n", lo, lo + cnt - 1 > 255 ? 255 : lo + cnt - 1, tail & 1 ? " + tail" : "");
    k.n = base.n + 1 + (tail & 1);
    k.p = xmalloc(k.n);
    k.arg = k.p;
    if (base.n)
        memcpy(k.p, base.p, base.n);
    if (tail & 1)
        k.p[base.n + 1] = ALPHA4[(tail >> 1) & 3];
    for (b = lo; b < lo + cnt && b < 256; b++) {
        k.p[base.n] = (unsigned char)b;
        if (insert)
            do_insert(F, &k);
        else
            do_remove(F, &k);
    }
    key_free(&k);
    key_free(&base);
}

/* Step an iterator, then change the tree right around the key it returned,
 * then step again: the iterator must continue strictly after that key. */
static void op_step_and_mutate(fz *F)
{
    unsigned b = u8(&F->in);
    int which = b & 1, steps = 1 + ((b >> 4) & 3);
    unsigned control = ((b >> 1) & 7) == 5 ? u8(&F->in) : 0;
    miter *mi = &F->its[which];
    key_t_ k;
    if (do_next(F, which) != 1)
        return;
    k = key_from(mi->it.key, mi->it.key_len);
    TRACE("mutate around it%d's key (kind %u)\n", which, (b >> 1) & 7);
    switch ((b >> 1) & 7) {
    case 0: /* remove the key just returned, reading the iterator's buffer */
        k.arg = mi->it.key;
        do_remove(F, &k);
        break;
    case 1: /* insert right after it (its first child) */
    case 2: { /* insert the key minus its last byte (before it, an ancestor) */
        key_t_ n2;
        n2.n = ((b >> 1) & 7) == 1 ? k.n + 1 : (k.n ? k.n - 1 : 0);
        n2.p = xmalloc(n2.n);
        memcpy(n2.p, k.p, k.n < n2.n ? k.n : n2.n);
        if (n2.n > k.n)
            n2.p[k.n] = 0x00;
        n2.arg = n2.p;
        do_insert(F, &n2);
        key_free(&n2);
        break;
    }
    case 3: { /* remove the model's neighbours of the key */
        long i = m_find(F, k.p, k.n);
        size_t at = i >= 0 ? (size_t)i : m_bound(F, k.p, k.n, 0);
        if (at + 1 < F->mn) {
            key_t_ n2 = key_from(F->m[at + 1].k, F->m[at + 1].n);
            do_remove(F, &n2);
            key_free(&n2);
        }
        if (at > 0) {
            key_t_ n2 = key_from(F->m[at - 1].k, F->m[at - 1].n);
            do_remove(F, &n2);
            key_free(&n2);
        }
        break;
    }
    case 4: /* neighbour with the last byte bumped */
        if (k.n) {
            k.p[k.n - 1] = (unsigned char)(k.p[k.n - 1] + ((b & 0x40) ? 1 : 0xff));
            do_insert(F, &k);
        }
        break;
    case 5: /* drop everything under the key's parent */
        if (k.n)
            k.n--;
        do_remove_prefix(F, &k, control);
        break;
    case 6: /* overwrite it, through the alias */
        k.arg = mi->it.key;
        do_insert(F, &k);
        break;
    default: /* insert the key again from another iterator's position */
        do_insert(F, &k);
        do_remove(F, &k);
        break;
    }
    key_free(&k);
    check_cheap(F, "after mutate-around");
    while (steps--)
        do_next(F, which);
}

/* Seek an iterator with the key it just returned (resume-style), or pass
 * the other iterator's key as a target or prefix. */
static void op_alias(fz *F)
{
    unsigned b = u8(&F->in);
    int which = b & 1;
    miter *mi = &F->its[which], *other = &F->its[!which];
    key_t_ k;
    if (!mi->has_key && !other->has_key) {
        do_next(F, which);
        return;
    }
    if (mi->has_key && !(b & 2)) {
        k = key_from(mi->it.key, mi->it.key_len);
        k.arg = mi->it.key;
        if (b & 4) {
            do_set_prefix(F, which, &k);
        } else {
            do_seek(F, which, 2 + ((b >> 3) & 3), &k);
        }
    } else if (other->has_key) {
        k = key_from(other->it.key, other->it.key_len);
        k.arg = other->it.key;
        do_seek(F, which, (b >> 3) % 6, &k);
    } else {
        return;
    }
    key_free(&k);
}

static void op_toobig(fz *F)
{
    /* a length beyond RX_MAX_KEY_LEN must be refused before the key is read */
    if ((uint64_t)SIZE_MAX > (uint64_t)RX_MAX_KEY_LEN) {
        unsigned char one = 'a';
        void *old = NULL;
        int rc = rx_insert(F->t, &one, (size_t)RX_MAX_KEY_LEN + 1, (void *)(uintptr_t)1, &old);
        TRACE("insert with len RX_MAX_KEY_LEN+1 -> %d\n", rc);
        if (rc != RX_ETOOBIG)
            die("rx_insert of a too long key returned %d", rc);
    }
}

/* Builds a new tree from the model's keys, in order, with rx_build_*, and
 * swaps it in for the tree (the iterators are re-initialised on it).
 * control: bit 0 aborts the build halfway (every value released once and
 * nothing left allocated, the tree kept), bit 1 offers each key once with
 * a wrong `shared` or the previous key again (RX_EORDER, nothing added).
 * An RX_ENOMEM from an armed failure is retried: the builder must be as it
 * was.  The built tree must be compact (what inserts alone make) and pass
 * rx_check; the full listing then compares it with the model. */
typedef struct {
    uintptr_t *ids; /* values added, sorted */
    unsigned char *seen;
    size_t n, released;
} build_release_ctx;

static void build_release_cb(void *value, void *ctx)
{
    build_release_ctx *c = ctx;
    uintptr_t v = P2V(value);
    uintptr_t *hit = c->n ? bsearch(&v, c->ids, c->n, sizeof v, cmp_ids) : NULL;
    if (hit == NULL)
        die("rx_build_abort released value %lu, never added", (unsigned long)v);
    if (c->seen[hit - c->ids]++)
        die("rx_build_abort released value %lu twice", (unsigned long)v);
    c->released++;
}

static void op_rebuild(fz *F, unsigned control)
{
    rx_allocator a;
    rx_builder *b;
    rx_tree *built;
    rx_check_stats stats;
    const char *err;
    size_t i, stop = (control & 1) ? F->mn / 2 : F->mn, live = F->alloc.owner_bytes[OWNER_TREE];
    unsigned long f0 = F->alloc.failures;
    int rc;
    if (F->depth > 0) /* a release callback runs inside the tree's own call */
        return;
    TRACE("rebuild from the model (%zu keys)%s%s\n", F->mn, control & 1 ? ", abort halfway" : "",
          control & 2 ? ", with order errors" : "");
    a.malloc_fn = fz_malloc;
    a.realloc_fn = fz_realloc;
    a.free_fn = fz_free;
    a.ctx = &F->alloc;
    rc = rx_build_new(&b, F->sysalloc ? NULL : &a);
    if (rc == RX_ENOMEM) {
        expect_failure_injected(F, f0, "rx_build_new");
        if (!F->sysalloc && F->alloc.owner_bytes[OWNER_TREE] != live)
            die("failed rx_build_new left %zu bytes", F->alloc.owner_bytes[OWNER_TREE] - live);
        return;
    }
    if (rc != RX_OK)
        die("rx_build_new returned %d", rc);
    for (i = 0; i < stop; i++) {
        const entry *e = &F->m[i], *prev = i ? &F->m[i - 1] : NULL;
        size_t shared = 0;
        if (prev) {
            size_t n = prev->n < e->n ? prev->n : e->n;
            while (shared < n && prev->k[shared] == e->k[shared])
                shared++;
        }
        if (control & 2) {
            if (prev && (rc = rx_build_add(b, prev->k, prev->n, prev->n, V2P(e->v))) != RX_EORDER)
                die("rx_build_add of the previous key again returned %d", rc);
            if ((rc = rx_build_add(b, e->k, e->n, shared + 1, V2P(e->v))) != RX_EORDER)
                die("rx_build_add with shared one too large returned %d", rc);
            if (shared > 0 && (rc = rx_build_add(b, e->k, e->n, shared - 1, V2P(e->v))) != RX_EORDER)
                die("rx_build_add with shared one too small returned %d", rc);
        }
        for (;;) {
            unsigned long f1 = F->alloc.failures;
            rc = rx_build_add(b, e->k, e->n, shared, V2P(e->v));
            TRACE("  build add ");
            TRACEKEY(e->k, e->n);
            TRACE(" shared %zu -> %d\n", shared, rc);
            if (rc != RX_ENOMEM)
                break;
            expect_failure_injected(F, f1, "rx_build_add");
            F->alloc.fail_all = 0; /* a retry must go on from the builder as it was */
        }
        if (rc != RX_OK)
            die("rx_build_add of model key #%zu returned %d", i, rc);
    }
    if (stop < F->mn) {
        build_release_ctx c;
        c.n = stop;
        c.released = 0;
        c.ids = xmalloc(stop * sizeof *c.ids);
        c.seen = xmalloc(stop);
        for (i = 0; i < stop; i++) {
            c.ids[i] = F->m[i].v;
            c.seen[i] = 0;
        }
        if (stop)
            qsort(c.ids, stop, sizeof *c.ids, cmp_ids);
        rx_build_abort(b, build_release_cb, &c);
        free(c.ids);
        free(c.seen);
        if (c.released != stop)
            die("rx_build_abort released %zu values, %zu were added", c.released, stop);
        if (!F->sysalloc && F->alloc.owner_bytes[OWNER_TREE] != live)
            die("rx_build_abort left %zu bytes", F->alloc.owner_bytes[OWNER_TREE] - live);
        return;
    }
    f0 = F->alloc.calls;
    if ((rc = rx_build_finish(b, &built)) != RX_OK)
        die("rx_build_finish returned %d", rc);
    if (F->alloc.calls != f0)
        die("rx_build_finish allocated");
    F->alloc.disabled++;
    err = rx_check(built, &stats);
    F->alloc.disabled--;
    if (err)
        die("built tree: rx_check: %s", err);
    if (!stats.compact)
        die("built tree is not compact");
    if (rx_version(built) != F->mn)
        die("built tree has version %lu, expected its size %zu", (unsigned long)rx_version(built),
            F->mn);
    /* the old tree hands its values over: nothing to release */
    for (i = 0; i < NITER; i++)
        it_release(F, 1 + (int)i, &F->its[i].it);
    rx_tree_free(F->t, NULL, NULL);
    F->t = built;
    for (i = 0; i < NITER; i++) {
        it_init(F, 1 + (int)i, &F->its[i].it);
        miter_reset(&F->its[i]);
    }
    verify_full(F, control & 4 ? 1 : 0, "after a rebuild");
}

static void run_op(fz *F)
{
    reader *r = &F->in;
    unsigned o = u8(r), b;
    key_t_ k, k2;
    F->ops++;
    switch (o % 32) {
    case 0: case 1: case 2: case 3: case 4:
        k = read_key(F);
        do_insert(F, &k);
        key_free(&k);
        break;
    case 5: /* overwrite a stored key */
        b = u16(r);
        if (F->mn == 0)
            break;
        k = key_from(F->m[b % F->mn].k, F->m[b % F->mn].n);
        do_insert(F, &k);
        key_free(&k);
        break;
    case 6: case 7: case 8:
        k = read_key(F);
        do_remove(F, &k);
        key_free(&k);
        break;
    case 9: /* remove a stored key */
        b = u16(r);
        if (F->mn == 0)
            break;
        k = key_from(F->m[b % F->mn].k, F->m[b % F->mn].n);
        do_remove(F, &k);
        key_free(&k);
        break;
    case 10:
        k = read_key(F);
        do_find(F, &k);
        key_free(&k);
        break;
    /* (rx_find_many, rx_visit_values and RX_ETOOBIG: op 31) */
    case 11:
        k = read_key(F);
        do_count(F, &k);
        key_free(&k);
        break;
    case 12:
        k = read_key(F);
        do_longest(F, &k);
        key_free(&k);
        break;
    case 13: case 14:
        b = u8(r);
        k = read_key(F);
        do_remove_prefix(F, &k, b);
        key_free(&k);
        check_cheap(F, "after remove_prefix");
        break;
    case 15: /* clear, rarely; skip a group; list a range */
        b = u8(r);
        if ((b & 7) == 0) {
            do_clear(F, u8(r));
        } else if ((b & 7) == 4 || (b & 7) == 5) {
            do_skip(F, (b >> 3) & 1, b);
        } else if ((b & 7) >= 6) {
            op_range(F, u8(r));
        } else {
            k = read_key(F);
            do_count(F, &k);
            key_free(&k);
        }
        break;
    case 16: case 17:
        b = u8(r);
        k = read_key(F);
        do_seek(F, b & 1, (int)((b >> 1) % 6), &k);
        key_free(&k);
        break;
    case 18: /* set a prefix; one in four an end bound; one in eight a delimiter */
        b = u8(r);
        k = read_key(F);
        if (((b >> 1) & 3) == 3)
            do_set_end(F, b & 1, &k, (b >> 3) & 1);
        else if (((b >> 1) & 3) == 2 && (b & 0x20))
            do_set_delimiter(F, b & 1, &k, b >> 6);
        else
            do_set_prefix(F, b & 1, &k);
        key_free(&k);
        break;
    case 19: case 20: case 21: {
        unsigned steps;
        b = u8(r);
        steps = 1 + ((b >> 1) & 15);
        while (steps--)
            if (do_next(F, b & 1) == 0 && !(b & 0x80))
                break;
        break;
    }
    case 22:
        b = u8(r);
        do_iter_release(F, b & 1, (b >> 1) & 1);
        break;
    case 23: /* fail the n-th next allocation */
        b = u8(r);
        F->alloc.countdown = (long)(b & 31);
        TRACE("arm: fail allocation #%ld from now\n", F->alloc.countdown);
        break;
    case 24:
        op_bulk(F, 1);
        break;
    case 25:
        op_bulk(F, 0);
        break;
    case 26: /* verify; one in four a rebuild with rx_build_* */
        b = u8(r);
        if (((b >> 1) & 3) == 3)
            op_rebuild(F, b >> 3);
        else
            verify_full(F, b & 1, "verify op");
        break;
    case 27: case 28:
        op_step_and_mutate(F);
        break;
    case 29:
        op_alias(F);
        break;
    case 30: /* the next operation with every allocation failing */
        if (F->depth > 0 || F->alloc.fail_all)
            break;
        TRACE("arm: fail every allocation of the next operation\n");
        F->alloc.fail_all = 1;
        run_op(F);
        F->alloc.fail_all = 0;
        verify_full(F, 0, "after an operation with allocations failing");
        break;
    default: /* 31 */
        b = u8(r);
        if ((b & 3) == 1) {
            op_toobig(F);
        } else if ((b & 3) == 2) {
            do_find_many(F, u8(r));
        } else if ((b & 3) == 3) {
            do_visit(F, u8(r));
        } else { /* count a prefix then longest-prefix of a key under it */
            k = read_key(F);
            k2 = read_key(F);
            do_count(F, &k);
            do_longest(F, &k2);
            key_free(&k);
            key_free(&k2);
        }
        break;
    }
    check_cheap(F, "after operation");
}

/* ---- teardown: rx_tree_free must release every value exactly once ---- */

typedef struct {
    fz *F;
    uintptr_t *ids;
    unsigned char *seen;
    size_t n, cap, released;
    unsigned inserts_left;
    unsigned long serial;
} free_ctx;

static void free_cb(void *value, void *ctx)
{
    free_ctx *c = ctx;
    uintptr_t v = P2V(value);
    size_t i;
    uintptr_t *hit = c->n ? bsearch(&v, c->ids, c->n, sizeof v, cmp_ids) : NULL;
    if (hit == NULL)
        die("rx_tree_free released value %lu that was never stored", (unsigned long)v);
    i = (size_t)(hit - c->ids);
    if (c->seen[i])
        die("rx_tree_free released value %lu twice", (unsigned long)v);
    c->seen[i] = 1;
    c->released++;
    if (c->inserts_left > 0 && (v & 1)) {
        /* a release may use the tree: store a fresh key in it */
        unsigned char key[16];
        void *old = NULL;
        size_t kn = 0;
        int rc;
        uintptr_t nv = c->F->next_value++;
        c->inserts_left--;
        key[kn++] = 0xff;
        key[kn++] = 0xfe;
        memcpy(key + kn, &c->serial, sizeof c->serial);
        kn += sizeof c->serial;
        c->serial++;
        rc = rx_insert(c->F->t, key, kn, V2P(nv), &old);
        if (rc != 1)
            die("insert from rx_tree_free's release returned %d", rc);
        if (c->n == c->cap) {
            c->cap *= 2;
            c->ids = realloc(c->ids, c->cap * sizeof *c->ids);
            c->seen = realloc(c->seen, c->cap);
            if (!c->ids || !c->seen)
                die("out of memory in the harness");
        }
        c->ids[c->n] = nv;
        c->seen[c->n] = 0;
        c->n++;
    }
}

static void teardown(fz *F)
{
    free_ctx c;
    size_t i;
    for (i = 0; i < NITER; i++) {
        it_release(F, 1 + (int)i, &F->its[i].it);
        free(F->its[i].target);
        free(F->its[i].prefix);
        free(F->its[i].pending);
        free(F->its[i].bound);
        free(F->its[i].delim);
    }
    F->alloc.disabled = 1;
    c.F = F;
    c.cap = F->mn + 16;
    c.n = F->mn;
    c.ids = xmalloc(c.cap * sizeof *c.ids);
    c.seen = xmalloc(c.cap);
    for (i = 0; i < F->mn; i++) {
        c.ids[i] = F->m[i].v;
        c.seen[i] = 0;
    }
    /* sorted for bsearch; values stored from the callback come later and
     * are larger (ids only grow), so appending keeps the order */
    if (c.n)
        qsort(c.ids, c.n, sizeof *c.ids, cmp_ids);
    c.released = 0;
    c.inserts_left = u8(&F->in) & 3;
    c.serial = 0;
    rx_tree_free(F->t, free_cb, &c);
    if (c.released != c.n)
        die("rx_tree_free released %zu values, expected %zu", c.released, c.n);
    if (!F->sysalloc && (F->alloc.live_bytes != 0 || F->alloc.live_blocks != 0))
        die("after rx_tree_free: %zu bytes in %zu blocks still allocated", F->alloc.live_bytes,
            F->alloc.live_blocks);
    free(c.ids);
    free(c.seen);
    m_delete_range(F, 0, F->mn);
    free(F->m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz state, *F = &state;
    const char *tr = getenv("FUZZ_TRACE");
    size_t i;
    memset(F, 0, sizeof *F);
    cur = F;
    F->in.d = data;
    F->in.n = size;
    F->trace = tr != NULL && *tr != '\0' && *tr != '0';
    F->alloc.countdown = -1;
    F->next_value = 1;
    F->verify_budget = VERIFY_BUDGET;
    {
        rx_allocator a;
        a.malloc_fn = fz_malloc;
        a.realloc_fn = fz_realloc;
        a.free_fn = fz_free;
        a.ctx = &F->alloc;
        if (size > 0 && data[0] == 0xA7) { /* the tree's own allocation can fail too */
            F->alloc.fail_all = 1;
            if (rx_tree_new(&a) != NULL)
                die("rx_tree_new succeeded with every allocation failing");
            F->alloc.fail_all = 0;
        }
        if (size > 0 && data[0] == 0xA8) { /* the C library's allocator */
            F->sysalloc = 1;
            F->t = rx_tree_new(NULL);
        } else {
            F->t = rx_tree_new(&a);
        }
    }
    if (F->t == NULL)
        die("rx_tree_new failed");
    F->empty_memory = rx_memory(F->t);
    if (!F->sysalloc && F->empty_memory != F->alloc.live_bytes)
        die("new tree: rx_memory %zu, allocated %zu", F->empty_memory, F->alloc.live_bytes);
    if (rx_size(F->t) != 0)
        die("new tree has size %zu", rx_size(F->t));
    for (i = 0; i < NITER; i++) {
        it_init(F, 1 + (int)i, &F->its[i].it);
        miter_reset(&F->its[i]);
        if (it_next(F, 1 + (int)i, &F->its[i].it) != 0)
            die("next before any seek must return 0");
    }
    while (F->in.pos < F->in.n)
        run_op(F);
    verify_full(F, 0, "end of input");
    verify_full(F, 1, "end of input");
    teardown(F);
    cur = NULL;
    return 0;
}
