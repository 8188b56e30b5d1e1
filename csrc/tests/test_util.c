/*
 * test_util.c -- PRNG, counting allocator, reference model and the helpers
 * that compare a tree with a model.  See test_util.h.
 */
#include "test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- PRNG ------------------------------------------------------------------ */

void rng_seed(t_rng *r, uint64_t seed)
{
    r->s = seed;
}

uint64_t rng_next(t_rng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

size_t rng_below(t_rng *r, size_t n)
{
    return (size_t)(rng_next(r) % (uint64_t)n);
}

int rng_chance(t_rng *r, unsigned num, unsigned den)
{
    return rng_below(r, den) < num;
}

/* ---- counting allocator ---------------------------------------------------- */

/* Header before every block: the size handed out and a tag. */
#define HDR 16u
#define TAG 0x5AFEB10Cu

static int should_fail(t_alloc *a)
{
    a->attempts++;
    if (a->fail_all || (a->fail_at != 0 && a->attempts == a->fail_at)) {
        a->injected++;
        return 1;
    }
    return 0;
}

static unsigned char *block_of(t_alloc *a, void *p, size_t size)
{
    unsigned char *b = (unsigned char *)p - HDR;
    size_t recorded;
    uint32_t tag;
    memcpy(&recorded, b, sizeof recorded);
    memcpy(&tag, b + sizeof(size_t), sizeof tag);
    if (tag != TAG) {
        a->bad_ptrs++;
        return NULL;
    }
    if (recorded != size)
        a->bad_sizes++;
    return b;
}

static void *ta_malloc(void *ctx, size_t size)
{
    t_alloc *a = ctx;
    unsigned char *b;
    uint32_t tag = TAG;
    if (should_fail(a))
        return NULL;
    b = malloc(size + HDR);
    if (b == NULL)
        return NULL;
    memcpy(b, &size, sizeof size);
    memcpy(b + sizeof(size_t), &tag, sizeof tag);
    a->live_bytes += size;
    a->live_blocks++;
    return b + HDR;
}

static void *ta_realloc(void *ctx, void *ptr, size_t old_size, size_t new_size)
{
    t_alloc *a = ctx;
    unsigned char *b, *nb;
    size_t recorded;
    if (ptr == NULL)
        return ta_malloc(ctx, new_size);
    if (should_fail(a))
        return NULL;
    b = block_of(a, ptr, old_size);
    if (b == NULL)
        return NULL;
    memcpy(&recorded, b, sizeof recorded);
    nb = realloc(b, new_size + HDR);
    if (nb == NULL)
        return NULL;
    memcpy(nb, &new_size, sizeof new_size);
    a->live_bytes = a->live_bytes - recorded + new_size;
    return nb + HDR;
}

static void ta_free(void *ctx, void *ptr, size_t size)
{
    t_alloc *a = ctx;
    unsigned char *b;
    size_t recorded;
    uint32_t zero = 0;
    if (ptr == NULL)
        return;
    b = block_of(a, ptr, size);
    if (b == NULL)
        return;
    memcpy(&recorded, b, sizeof recorded);
    memcpy(b + sizeof(size_t), &zero, sizeof zero);
    a->live_bytes -= recorded;
    a->live_blocks--;
    free(b);
}

void talloc_init(t_alloc *a, rx_allocator *out)
{
    memset(a, 0, sizeof *a);
    out->malloc_fn = ta_malloc;
    out->realloc_fn = ta_realloc;
    out->free_fn = ta_free;
    out->ctx = a;
}

void talloc_heal(t_alloc *a)
{
    a->fail_at = 0;
    a->fail_all = 0;
}

/* ---- keys ------------------------------------------------------------------ */

int keycmp(const unsigned char *a, size_t an, const unsigned char *b, size_t bn)
{
    size_t n = an < bn ? an : bn;
    int c = n ? memcmp(a, b, n) : 0;
    if (c != 0)
        return c < 0 ? -1 : 1;
    return an < bn ? -1 : an > bn ? 1 : 0;
}

int prefix_side(const unsigned char *key, size_t kn, const unsigned char *p, size_t pn)
{
    if (kn >= pn && (pn == 0 || memcmp(key, p, pn) == 0))
        return 0;
    return keycmp(key, kn, p, pn);
}

/* ---- model ----------------------------------------------------------------- */

void m_init(model *m)
{
    m->e = NULL;
    m->n = m->cap = 0;
}

void m_clear(model *m)
{
    size_t i;
    for (i = 0; i < m->n; i++)
        free(m->e[i].k);
    m->n = 0;
}

void m_free(model *m)
{
    m_clear(m);
    free(m->e);
    m_init(m);
}

size_t m_lower(const model *m, const unsigned char *key, size_t len, int strict)
{
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = keycmp(m->e[mid].k, m->e[mid].n, key, len);
        if (c < 0 || (strict && c == 0))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

void m_prefix_range(const model *m, const unsigned char *p, size_t pn, size_t *lo_out,
                    size_t *hi_out)
{
    size_t lo = 0, hi = m->n;
    while (lo < hi) { /* first with side >= 0 */
        size_t mid = lo + (hi - lo) / 2;
        if (prefix_side(m->e[mid].k, m->e[mid].n, p, pn) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *lo_out = lo;
    hi = m->n;
    while (lo < hi) { /* first with side > 0 */
        size_t mid = lo + (hi - lo) / 2;
        if (prefix_side(m->e[mid].k, m->e[mid].n, p, pn) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *hi_out = lo;
}

int m_find(const model *m, const unsigned char *key, size_t len, uintptr_t *v)
{
    size_t i = m_lower(m, key, len, 0);
    if (i < m->n && keycmp(m->e[i].k, m->e[i].n, key, len) == 0) {
        if (v)
            *v = m->e[i].v;
        return 1;
    }
    return 0;
}

int m_insert(model *m, const unsigned char *key, size_t len, uintptr_t v, uintptr_t *old)
{
    size_t i = m_lower(m, key, len, 0);
    unsigned char *copy;
    if (i < m->n && keycmp(m->e[i].k, m->e[i].n, key, len) == 0) {
        if (old)
            *old = m->e[i].v;
        m->e[i].v = v;
        return 0;
    }
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 64;
        m_entry *e = realloc(m->e, cap * sizeof *e);
        if (e == NULL) {
            fprintf(stderr, "model: out of memory\n");
            exit(2);
        }
        m->e = e;
        m->cap = cap;
    }
    copy = malloc(len ? len : 1);
    if (copy == NULL) {
        fprintf(stderr, "model: out of memory\n");
        exit(2);
    }
    if (len)
        memcpy(copy, key, len);
    memmove(m->e + i + 1, m->e + i, (m->n - i) * sizeof *m->e);
    m->e[i].k = copy;
    m->e[i].n = len;
    m->e[i].v = v;
    m->n++;
    return 1;
}

int m_remove(model *m, const unsigned char *key, size_t len, uintptr_t *old)
{
    size_t i = m_lower(m, key, len, 0);
    if (i < m->n && keycmp(m->e[i].k, m->e[i].n, key, len) == 0) {
        if (old)
            *old = m->e[i].v;
        m_remove_range(m, i, i + 1, NULL);
        return 1;
    }
    return 0;
}

size_t m_count_prefix(const model *m, const unsigned char *p, size_t pn)
{
    size_t lo, hi;
    m_prefix_range(m, p, pn, &lo, &hi);
    return hi - lo;
}

int m_longest_prefix(const model *m, const unsigned char *key, size_t len, size_t *ml,
                     uintptr_t *v)
{
    size_t l = len + 1;
    while (l-- > 0) {
        if (m_find(m, key, l, v)) {
            *ml = l;
            return 1;
        }
    }
    return 0;
}

void m_remove_range(model *m, size_t lo, size_t hi, uintptr_t *vals)
{
    size_t i;
    for (i = lo; i < hi; i++) {
        if (vals)
            *vals++ = m->e[i].v;
        free(m->e[i].k);
    }
    memmove(m->e + lo, m->e + hi, (m->n - hi) * sizeof *m->e);
    m->n -= hi - lo;
}

long m_seek_index(const model *m, const unsigned char *p, size_t pn, rx_seek_op op,
                  const unsigned char *t, size_t tn, int *backward)
{
    size_t lo, hi, i;
    m_prefix_range(m, p, pn, &lo, &hi);
    switch (op) {
    case RX_SEEK_FIRST:
        *backward = 0;
        return lo < hi ? (long)lo : -1;
    case RX_SEEK_LAST:
        *backward = 1;
        return lo < hi ? (long)hi - 1 : -1;
    case RX_SEEK_GE:
    case RX_SEEK_GT:
        *backward = 0;
        i = m_lower(m, t, tn, op == RX_SEEK_GT);
        if (i < lo)
            i = lo;
        return i < hi ? (long)i : -1;
    case RX_SEEK_LE:
    case RX_SEEK_LT:
    default:
        *backward = 1;
        i = m_lower(m, t, tn, op == RX_SEEK_LE); /* first key after the range */
        if (i > hi)
            i = hi;
        return i > lo ? (long)i - 1 : -1;
    }
}

long m_step_index(const model *m, const unsigned char *p, size_t pn, int backward,
                  const unsigned char *last, size_t ln)
{
    int dummy;
    return m_seek_index(m, p, pn, backward ? RX_SEEK_LT : RX_SEEK_GT, last, ln, &dummy);
}

long m_past_group_index(const model *m, const unsigned char *p, size_t pn, int backward,
                        const unsigned char *g, size_t gn)
{
    size_t lo, hi, i;
    m_prefix_range(m, p, pn, &lo, &hi);
    i = m_lower(m, g, gn, 0); /* the keys starting with g follow from here */
    if (backward) {
        if (i > hi)
            i = hi;
        return i > lo ? (long)i - 1 : -1;
    }
    while (i < m->n && prefix_side(m->e[i].k, m->e[i].n, g, gn) == 0)
        i++;
    if (i < lo)
        i = lo;
    return i < hi ? (long)i : -1;
}

/* ---- tree helpers ------------------------------------------------------------ */

const char *t_fmt_key(char *buf, const unsigned char *k, size_t n)
{
    size_t i, o = 0, shown = n > 24 ? 24 : n;
    buf[o++] = '"';
    for (i = 0; i < shown; i++) {
        unsigned char c = k[i];
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
            buf[o++] = (char)c;
        else
            o += (size_t)sprintf(buf + o, "\\x%02x", c);
    }
    buf[o++] = '"';
    if (shown < n)
        o += (size_t)sprintf(buf + o, "...(%lu bytes)", (unsigned long)n);
    buf[o] = 0;
    return buf;
}

static int listing_equals(rx_tree *t, const model *m, int backward, const char *file, int line)
{
    rx_iter it;
    size_t i = 0;
    int rc, ok = 1;
    char b1[160], b2[160];
    rx_iter_init(&it, t);
    rc = rx_iter_seek(&it, backward ? RX_SEEK_LAST : RX_SEEK_FIRST, NULL, 0);
    if (rc != RX_OK) {
        t_check_u(0, file, line, "rx_iter_seek", "RX_OK", (unsigned long long)rc, 0);
        rx_iter_release(&it);
        return 0;
    }
    while ((rc = rx_iter_next(&it)) == 1) {
        const m_entry *e;
        if (i >= m->n) {
            t_context("%s listing: extra key %s after %lu keys", backward ? "backward" : "forward",
                      t_fmt_key(b1, it.key, it.key_len), (unsigned long)m->n);
            ok = t_check(0, file, line, "listing has no extra keys");
            break;
        }
        e = &m->e[backward ? m->n - 1 - i : i];
        if (keycmp(it.key, it.key_len, e->k, e->n) != 0 || U(it.value) != e->v) {
            t_context("%s listing #%lu: got %s=%lu, want %s=%lu", backward ? "backward" : "forward",
                      (unsigned long)i, t_fmt_key(b1, it.key, it.key_len),
                      (unsigned long)U(it.value), t_fmt_key(b2, e->k, e->n), (unsigned long)e->v);
            ok = t_check(0, file, line, "listing matches model");
            break;
        }
        i++;
    }
    if (ok && rc != 0) {
        ok = t_check_u(0, file, line, "rx_iter_next", "0 at the end", (unsigned long long)rc, 0);
    } else if (ok && i != m->n) {
        t_context("%s listing stopped early", backward ? "backward" : "forward");
        ok = t_check_u(0, file, line, "keys listed", "model size", i, m->n);
    }
    rx_iter_release(&it);
    return ok;
}

int t_tree_equals_model(rx_tree *t, const model *m, const char *file, int line)
{
    if (!t_check_u(rx_size(t) == m->n, file, line, "rx_size(t)", "model size", rx_size(t), m->n))
        return 0;
    if (!t_check_u(rx_count_prefix(t, (const unsigned char *)"", 0) == m->n, file, line,
                   "rx_count_prefix(t, \"\")", "model size",
                   rx_count_prefix(t, (const unsigned char *)"", 0), m->n))
        return 0;
    return listing_equals(t, m, 0, file, line) && listing_equals(t, m, 1, file, line);
}

int t_snapshot(rx_tree *t, model *out)
{
    rx_iter it;
    int rc;
    m_clear(out);
    rx_iter_init(&it, t);
    rc = rx_iter_seek(&it, RX_SEEK_FIRST, NULL, 0);
    if (rc == RX_OK) {
        while ((rc = rx_iter_next(&it)) == 1) {
            /* keys arrive sorted: appending through m_insert is O(1) amortised
             * (m_lower finds the end) */
            m_insert(out, it.key, it.key_len, U(it.value), NULL);
        }
    }
    rx_iter_release(&it);
    return rc == 0;
}

int t_models_equal(const model *a, const model *b, const char *file, int line)
{
    size_t i;
    char b1[160], b2[160];
    if (!t_check_u(a->n == b->n, file, line, "keys", "keys before", a->n, b->n))
        return 0;
    for (i = 0; i < a->n; i++) {
        if (keycmp(a->e[i].k, a->e[i].n, b->e[i].k, b->e[i].n) != 0 || a->e[i].v != b->e[i].v) {
            t_context("entry #%lu: %s=%lu vs %s=%lu", (unsigned long)i,
                      t_fmt_key(b1, a->e[i].k, a->e[i].n), (unsigned long)a->e[i].v,
                      t_fmt_key(b2, b->e[i].k, b->e[i].n), (unsigned long)b->e[i].v);
            return t_check(0, file, line, "same keys and values");
        }
    }
    return 1;
}

rx_tree *t_new_tree(t_alloc *a)
{
    rx_allocator al;
    rx_tree *t;
    talloc_init(a, &al);
    t = rx_tree_new(&al);
    if (t == NULL) {
        fprintf(stderr, "rx_tree_new failed\n");
        exit(2);
    }
    return t;
}

int t_free_tree(rx_tree *t, t_alloc *a, rx_release_fn release, void *ctx, const char *file,
                int line)
{
    talloc_heal(a);
    rx_tree_free(t, release, ctx);
    return t_check_u(a->live_bytes == 0, file, line, "live bytes after rx_tree_free", "0",
                     a->live_bytes, 0) &&
           t_check_u(a->live_blocks == 0, file, line, "live blocks after rx_tree_free", "0",
                     a->live_blocks, 0) &&
           t_check_u(a->bad_sizes == 0, file, line, "sizes passed to realloc/free that differ",
                     "0", a->bad_sizes, 0) &&
           t_check_u(a->bad_ptrs == 0, file, line, "foreign pointers freed", "0", a->bad_ptrs,
                     0);
}

void vl_push(vlist *l, uintptr_t v)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        uintptr_t *p = realloc(l->v, cap * sizeof *p);
        if (p == NULL) {
            fprintf(stderr, "vlist: out of memory\n");
            exit(2);
        }
        l->v = p;
        l->cap = cap;
    }
    l->v[l->n++] = v;
}

void vl_free(vlist *l)
{
    free(l->v);
    l->v = NULL;
    l->n = l->cap = 0;
}

void vl_collect(void *value, void *ctx)
{
    vl_push(ctx, U(value));
}

static int cmp_uptr(const void *a, const void *b)
{
    uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
    return x < y ? -1 : x > y;
}

int vl_same(vlist *a, vlist *b, const char *file, int line)
{
    size_t i;
    if (!t_check_u(a->n == b->n, file, line, "values released", "values expected", a->n, b->n))
        return 0;
    if (a->n) {
        qsort(a->v, a->n, sizeof *a->v, cmp_uptr);
        qsort(b->v, b->n, sizeof *b->v, cmp_uptr);
    }
    for (i = 0; i < a->n; i++)
        if (a->v[i] != b->v[i])
            return t_check_u(0, file, line, "released value (sorted)", "expected value", a->v[i],
                             b->v[i]);
    return 1;
}

/* ---- model-checked iterator -------------------------------------------- */

static void set_buf(unsigned char **buf, size_t *cap, size_t *len, const unsigned char *src,
                    size_t n)
{
    if (n > *cap || *buf == NULL) {
        size_t c = n > 16 ? n : 16;
        unsigned char *p = realloc(*buf, c);
        if (p == NULL) {
            fprintf(stderr, "miter: out of memory\n");
            exit(2);
        }
        *buf = p;
        *cap = c;
    }
    if (n)
        memcpy(*buf, src, n);
    *len = n;
}

const char *t_op_name(rx_seek_op op)
{
    static const char *names[] = {"FIRST", "LAST", "GE", "GT", "LE", "LT"};
    return (unsigned)op < 6 ? names[op] : "?";
}

void mi_init(miter *mi, rx_tree *t)
{
    memset(mi, 0, sizeof *mi);
    rx_iter_init(&mi->it, t);
}

void mi_free(miter *mi)
{
    rx_iter_release(&mi->it);
    free(mi->p);
    free(mi->t);
    free(mi->last);
    memset(mi, 0, sizeof *mi);
}

int mi_seek(miter *mi, const unsigned char *p, size_t pn, rx_seek_op op, const unsigned char *t,
            size_t tn, const char *file, int line)
{
    int rc;
    set_buf(&mi->p, &mi->pcap, &mi->pn, p, pn);
    set_buf(&mi->t, &mi->tcap, &mi->tn, t, tn);
    mi->op = op;
    mi->backward = op == RX_SEEK_LAST || op == RX_SEEK_LE || op == RX_SEEK_LT;
    mi->emitted = 0;
    mi->past_group = 0;
    mi->active = 0;
    rc = rx_iter_set_prefix(&mi->it, p, pn);
    if (!t_check_u(rc == RX_OK, file, line, "rx_iter_set_prefix", "RX_OK", (unsigned long long)rc,
                   0))
        return 0;
    rc = rx_iter_seek(&mi->it, op, t, tn);
    if (!t_check_u(rc == RX_OK, file, line, "rx_iter_seek", "RX_OK", (unsigned long long)rc, 0))
        return 0;
    mi->active = 1;
    return 1;
}

int mi_skip(miter *mi, const unsigned char *g, size_t gn, const char *file, int line)
{
    int rc;
    /* copied first: g may point into the iterator's key, which a skip that
     * seeks overwrites (the tree copies g before it does) */
    set_buf(&mi->t, &mi->tcap, &mi->tn, g, gn);
    rc = rx_iter_skip_prefix(&mi->it, g, gn);
    if (!t_check_u(rc == RX_OK, file, line, "rx_iter_skip_prefix", "RX_OK",
                   (unsigned long long)rc, 0))
        return 0;
    mi->past_group = 1;
    mi->emitted = 0;
    mi->active = 1; /* a skip is a seek: an iterator at its end may list again */
    return 1;
}

int mi_next(miter *mi, const model *m, const char *file, int line)
{
    long idx;
    int rc, dir;
    char b1[160], b2[160], b3[160], b4[160], b5[160];
    if (mi->emitted)
        idx = m_step_index(m, mi->p, mi->pn, mi->backward, mi->last, mi->ln);
    else if (mi->past_group)
        idx = m_past_group_index(m, mi->p, mi->pn, mi->backward, mi->t, mi->tn);
    else
        idx = m_seek_index(m, mi->p, mi->pn, mi->op, mi->t, mi->tn, &dir);
    rc = rx_iter_next(&mi->it);
    mi->steps++;
    if (idx < 0) {
        if (rc != 0) {
            t_context("prefix %s, seek %s %s, last returned %s; got %s",
                      t_fmt_key(b1, mi->p, mi->pn), t_op_name(mi->op), t_fmt_key(b2, mi->t, mi->tn),
                      mi->emitted ? t_fmt_key(b3, mi->last, mi->ln) : "nothing returned yet",
                      rc == 1 ? t_fmt_key(b4, mi->it.key, mi->it.key_len) : "an error");
            t_check_u(0, file, line, "rx_iter_next", "0 (no more keys)", (unsigned long long)rc, 0);
            return -1;
        }
        mi->active = 0;
        return 0;
    }
    {
        const m_entry *e = &m->e[idx];
        if (rc != 1 || keycmp(mi->it.key, mi->it.key_len, e->k, e->n) != 0 ||
            U(mi->it.value) != e->v) {
            t_context("prefix %s, seek %s %s, last returned %s: want %s=%lu, got %s=%lu (rc %d)",
                      t_fmt_key(b1, mi->p, mi->pn), t_op_name(mi->op), t_fmt_key(b2, mi->t, mi->tn),
                      mi->emitted ? t_fmt_key(b3, mi->last, mi->ln) : "(first step)",
                      t_fmt_key(b4, e->k, e->n), (unsigned long)e->v,
                      rc == 1 ? t_fmt_key(b5, mi->it.key, mi->it.key_len) : "-",
                      rc == 1 ? (unsigned long)U(mi->it.value) : 0ul, rc);
            t_check(0, file, line, "iterator step matches the model");
            return -1;
        }
    }
    if (mi->emitted) { /* strictly monotonic in its direction */
        int c = keycmp(mi->it.key, mi->it.key_len, mi->last, mi->ln);
        if (!t_check(mi->backward ? c < 0 : c > 0, file, line, "strictly after the last key"))
            return -1;
    }
    set_buf(&mi->last, &mi->lcap, &mi->ln, mi->it.key, mi->it.key_len);
    mi->emitted = 1;
    return 1;
}

int mi_key_intact(miter *mi, const char *file, int line)
{
    if (!mi->emitted || !mi->active)
        return 1;
    return t_check_key(file, line, "it.key still valid after a mutation", mi->it.key,
                       mi->it.key_len, mi->last, mi->ln);
}

/* ---- rx_visit_values against the model ------------------------------------- */

static int visit_into(void *value, void *ctx)
{
    vl_push(ctx, U(value));
    return 0;
}

int t_visit_matches(rx_tree *t, t_alloc *a, const model *m, const char *file, int line)
{
    vlist got = {0};
    vlist want = {0};
    size_t i;
    unsigned long attempts = a->attempts;
    int rc, ok, fail_all = a->fail_all;
    for (i = 0; i < m->n; i++)
        vl_push(&want, m->e[i].v);
    a->fail_all = 1; /* it must allocate nothing */
    rc = rx_visit_values(t, visit_into, &got);
    a->fail_all = fail_all;
    ok = t_check_u(rc == 0, file, line, "rx_visit_values", "0", (unsigned long long)rc, 0) &&
         t_check_u(a->attempts == attempts, file, line, "allocations by rx_visit_values", "0",
                   a->attempts - attempts, 0) &&
         vl_same(&got, &want, file, line);
    vl_free(&got);
    vl_free(&want);
    return ok;
}

