/*
 * test_model.c -- randomized operations on a tree and on a sorted-array
 * model, every result compared.
 *
 * Keys come from small alphabets (with 0x00 and 0xFF) and short lengths so
 * they share prefixes heavily; a second phase uses long keys built on a
 * shared filler (long compressed paths); a third uses all 256 byte values
 * (wide nodes growing and shrinking).  Operations: insert (sometimes with an
 * allocation failure injected), overwrite, remove (sometimes with every
 * allocation failing), find, count_prefix, longest_prefix, remove_prefix
 * (release callback checked), clear (rarely), and two iterators left open
 * across the changes, seeked at random in both directions with random
 * prefixes and made to skip groups of keys (rx_iter_skip_prefix); each of
 * their steps is checked against the model.  Range listings (prefix, start,
 * exclusive stop, either direction, sometimes rolled up at a delimiter byte
 * with group skips) are checked entry by entry.
 *
 * Seed: RX_TEST_SEED / argv[1].  Set RX_TEST_TRACE=1 to print every
 * operation (with RX_TEST_ONLY=model_short etc. to isolate a failure).
 */
#include "test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXK 512

enum { S_INSERT, S_OVERWRITE, S_ENOMEM, S_REMOVE, S_MISS, S_FIND, S_COUNT, S_LONGEST,
       S_RMPREFIX, S_CLEAR, S_SEEK, S_NEXT, S_SKIP, S_RANGE, NSTATS };

typedef struct {
    t_rng rng;
    t_alloc a;
    rx_tree *t;
    model m;
    miter mi[2];
    uintptr_t next_v;
    size_t empty_mem;
    const unsigned char *alpha;
    size_t nalpha, maxlen;
    unsigned char filler[3][300];
    size_t fillen;
    unsigned long op;
    int trace;
    unsigned long stats[NSTATS];
} mstate;


static void trace(mstate *s, const char *what, const unsigned char *k, size_t n, long extra)
{
    char b[160];
    if (s->trace)
        printf("  op %lu: %s %s %ld\n", s->op, what, t_fmt_key(b, k, n), extra);
}

static void gen_key(mstate *s, unsigned char *k, size_t *n)
{
    t_rng *r = &s->rng;
    size_t c = rng_below(r, 100), i;
    if (c < 35 && s->m.n > 0) { /* an existing key */
        const m_entry *e = &s->m.e[rng_below(r, s->m.n)];
        *n = e->n;
        memcpy(k, e->k, *n);
        return;
    }
    if (c < 55 && s->m.n > 0) { /* an existing key, changed a little */
        const m_entry *e = &s->m.e[rng_below(r, s->m.n)];
        *n = e->n;
        memcpy(k, e->k, *n);
        switch (rng_below(r, 4)) {
        case 0:
            if (*n)
                *n = rng_below(r, *n);
            break;
        case 1:
            for (i = 1 + rng_below(r, 3); i > 0 && *n < MAXK; i--)
                k[(*n)++] = s->alpha[rng_below(r, s->nalpha)];
            break;
        case 2:
            if (*n)
                k[rng_below(r, *n)] = s->alpha[rng_below(r, s->nalpha)];
            break;
        default:
            if (*n)
                k[*n - 1] = (unsigned char)(k[*n - 1] + (rng_chance(r, 1, 2) ? 1 : 255));
            break;
        }
        return;
    }
    *n = 0;
    if (s->fillen) { /* a cut of a shared long filler, then a short tail */
        const unsigned char *f = s->filler[rng_below(r, 3)];
        size_t cut = rng_chance(r, 1, 4) ? rng_below(r, s->fillen + 1)
                                         : s->fillen - rng_below(r, 4);
        memcpy(k, f, cut);
        *n = cut;
    }
    {
        size_t len = rng_chance(r, 1, 2) ? rng_below(r, s->maxlen + 1)
                                         : rng_below(r, rng_below(r, s->maxlen + 1) + 1);
        for (i = 0; i < len; i++)
            k[(*n)++] = s->alpha[rng_below(r, s->nalpha)];
    }
}

/* A prefix: mostly a cut of a key (so it matches something), at times "". */
static void gen_prefix(mstate *s, unsigned char *p, size_t *n, int allow_empty)
{
    gen_key(s, p, n);
    if (*n && rng_chance(&s->rng, 1, 3))
        *n = rng_below(&s->rng, *n + 1); /* any cut */
    else if (*n)
        *n -= rng_below(&s->rng, *n < 3 ? *n + 1 : 3); /* a small subtree */
    if (*n == 0 && !allow_empty) {
        p[0] = s->alpha[rng_below(&s->rng, s->nalpha)];
        *n = 1;
    }
    if (allow_empty && rng_chance(&s->rng, 1, 8))
        *n = 0;
}

static void do_insert(mstate *s)
{
    unsigned char k[MAXK];
    size_t n;
    void *old = V(0xdead);
    uintptr_t v = s->next_v++, mold = 0;
    int rc, inject = rng_chance(&s->rng, 1, 12), want;
    unsigned long injected = s->a.injected;
    gen_key(s, k, &n);
    trace(s, inject ? "insert (alloc failure armed)" : "insert", k, n, (long)v);
    if (inject)
        s->a.fail_at = s->a.attempts + 1 + rng_below(&s->rng, 4);
    rc = rx_insert(s->t, k, n, V(v), &old);
    talloc_heal(&s->a);
    if (rc == RX_ENOMEM) {
        s->stats[S_ENOMEM]++;
        CHECK(s->a.injected > injected); /* only an injected failure may cause it */
        CHECK_EQ(rx_size(s->t), s->m.n);
        return;
    }
    want = m_insert(&s->m, k, n, v, &mold);
    s->stats[want ? S_INSERT : S_OVERWRITE]++;
    CHECK_EQ(rc, want);
    if (rc == 0 && want == 0)
        CHECK_PTR(old, mold);
}

static void do_remove(mstate *s)
{
    unsigned char k[MAXK];
    size_t n;
    void *old = NULL;
    uintptr_t mold = 0;
    int rc, want, starve = rng_chance(&s->rng, 1, 8);
    gen_key(s, k, &n);
    trace(s, starve ? "remove (every allocation fails)" : "remove", k, n, 0);
    s->a.fail_all = starve;
    rc = rx_remove(s->t, k, n, &old);
    talloc_heal(&s->a);
    want = m_remove(&s->m, k, n, &mold);
    s->stats[want ? S_REMOVE : S_MISS]++;
    CHECK_EQ(rc, want);
    if (rc == 1 && want == 1)
        CHECK_PTR(old, mold);
}

static void do_find(mstate *s)
{
    unsigned char k[MAXK];
    size_t n;
    void *v = NULL;
    uintptr_t mv = 0;
    int want;
    gen_key(s, k, &n);
    trace(s, "find", k, n, 0);
    s->stats[S_FIND]++;
    want = m_find(&s->m, k, n, &mv);
    CHECK_EQ(rx_find(s->t, k, n, &v), want);
    if (want)
        CHECK_PTR(v, mv);
}

static void do_find_many(mstate *s)
{
    enum { B = 40 };
    unsigned char store[B][MAXK];
    const unsigned char *keys[B];
    size_t lens[B], n = rng_below(&s->rng, B + 1), i, want = 0;
    void *values[B];
    for (i = 0; i < n; i++) {
        gen_key(s, store[i], &lens[i]);
        keys[i] = store[i];
        values[i] = NULL;
        want += (size_t)m_find(&s->m, store[i], lens[i], NULL);
    }
    if (s->trace)
        printf("  op %lu: find_many of %lu keys\n", s->op, (unsigned long)n);
    s->stats[S_FIND]++;
    CHECK_EQ(rx_find_many(s->t, n, keys, lens, values, V(0xBAD)), want);
    for (i = 0; i < n; i++) {
        uintptr_t mv;
        if (m_find(&s->m, keys[i], lens[i], &mv))
            CHECK_PTR(values[i], mv);
        else
            CHECK_PTR(values[i], V(0xBAD));
    }
}

static void do_count(mstate *s)
{
    unsigned char p[MAXK];
    size_t n;
    gen_prefix(s, p, &n, 1);
    trace(s, "count_prefix", p, n, 0);
    s->stats[S_COUNT]++;
    CHECK_EQ(rx_count_prefix(s->t, p, n), m_count_prefix(&s->m, p, n));
}

static void do_longest(mstate *s)
{
    unsigned char k[MAXK];
    size_t n, ml = 0, mml = 0;
    void *v = NULL;
    uintptr_t mv = 0;
    int want;
    gen_key(s, k, &n);
    if (n < MAXK - 2 && rng_chance(&s->rng, 1, 2))
        k[n++] = s->alpha[rng_below(&s->rng, s->nalpha)];
    trace(s, "longest_prefix", k, n, 0);
    s->stats[S_LONGEST]++;
    want = m_longest_prefix(&s->m, k, n, &mml, &mv);
    CHECK_EQ(rx_longest_prefix(s->t, k, n, &ml, &v), want);
    if (want) {
        CHECK_EQ(ml, mml);
        CHECK_PTR(v, mv);
    }
}

static void do_remove_prefix(mstate *s, int all)
{
    unsigned char p[MAXK];
    size_t n = 0, lo, hi, got;
    vlist rel = {0}, want = {0};
    uint64_t ver = rx_version(s->t);
    int starve = rng_chance(&s->rng, 1, 4);
    p[0] = 0;
    if (!all)
        gen_prefix(s, p, &n, 0);
    trace(s, all ? "clear" : starve ? "remove_prefix (every allocation fails)" : "remove_prefix",
          p, n, 0);
    s->stats[all ? S_CLEAR : S_RMPREFIX]++;
    m_prefix_range(&s->m, p, n, &lo, &hi);
    for (; lo < hi; hi--)
        vl_push(&want, s->m.e[hi - 1].v);
    m_prefix_range(&s->m, p, n, &lo, &hi);
    m_remove_range(&s->m, lo, hi, NULL);
    s->a.fail_all = starve;
    if (all)
        got = rx_clear(s->t, vl_collect, &rel);
    else
        got = rx_remove_prefix(s->t, p, n, vl_collect, &rel);
    talloc_heal(&s->a);
    CHECK_EQ(got, want.n);
    CHECK_VALUES(&rel, &want);
    if (got)
        CHECK(rx_version(s->t) != ver);
    vl_free(&rel);
    vl_free(&want);
}

static void do_iter(mstate *s)
{
    miter *mi = &s->mi[rng_below(&s->rng, 2)];
    if (!mi->active || rng_chance(&s->rng, 1, 6)) {
        unsigned char p[MAXK], k[MAXK];
        size_t pn, n;
        rx_seek_op op = (rx_seek_op)rng_below(&s->rng, 6);
        gen_prefix(s, p, &pn, 1);
        if (rng_chance(&s->rng, 1, 3))
            pn = 0;
        gen_key(s, k, &n);
        if (s->trace) {
            char b[160];
            printf("  op %lu: seek iterator %d prefix %s op %s", s->op, (int)(mi - s->mi),
                   t_fmt_key(b, p, pn), t_op_name(op));
            printf(" target %s\n", t_fmt_key(b, k, n));
        }
        s->stats[S_SEEK]++;
        MI_SEEK(mi, p, pn, op, k, n);
    } else if (rng_chance(&s->rng, 1, 5)) {
        /* skip a group: mostly one the last key is in (the iterator pops
         * its path), passed as a pointer into that key */
        unsigned char g[MAXK];
        const unsigned char *gp = g;
        size_t gn;
        if (mi->emitted && rng_chance(&s->rng, 3, 4)) {
            gn = rng_below(&s->rng, mi->it.key_len + 1);
            gp = mi->it.key;
        } else {
            gen_prefix(s, g, &gn, 1);
        }
        if (s->trace) {
            char b[160];
            printf("  op %lu: skip group %s on iterator %d\n", s->op, t_fmt_key(b, gp, gn),
                   (int)(mi - s->mi));
        }
        s->stats[S_SKIP]++;
        MI_SKIP(mi, gp, gn);
    } else {
        size_t steps = 1 + rng_below(&s->rng, 4);
        if (s->trace)
            printf("  op %lu: next x%lu on iterator %d\n", s->op, (unsigned long)steps,
                   (int)(mi - s->mi));
        while (steps-- > 0 && mi->active) {
            s->stats[S_NEXT]++;
            if (MI_NEXT(mi, &s->m) < 0)
                break;
        }
    }
}

/* Entry of a directory-style listing for key k under a prefix of pn
 * bytes, rolled up at the first byte d after it: the entry's length. */
static size_t entry_len(const unsigned char *k, size_t n, size_t pn, int d)
{
    const unsigned char *cut = d >= 0 ? memchr(k + pn, d, n - pn) : NULL;
    return cut ? (size_t)(cut - k) + 1 : n;
}

/* A range listing the way the binding makes one: the keys with a prefix,
 * >= start and < stop (each optional), forward or backward, from one seek
 * (GE start forward, LT stop backward), ended by the far bound; sometimes
 * rolled up into groups at a delimiter byte, each group listed once and
 * left with rx_iter_skip_prefix.  Every entry against the model's. */
static void do_range(mstate *s)
{
    unsigned char p[MAXK], start[MAXK], stop[MAXK], last[MAXK];
    size_t pn, startn, stopn, lastn = 0, lo, hi, a, b, listed = 0;
    int backward = rng_chance(&s->rng, 1, 2), has_start = rng_chance(&s->rng, 2, 3);
    int has_stop = rng_chance(&s->rng, 2, 3), grouped = 0, d = -1, rc;
    rx_iter it;
    gen_prefix(s, p, &pn, 1);
    if (rng_chance(&s->rng, 1, 3))
        pn = 0;
    gen_key(s, start, &startn);
    gen_key(s, stop, &stopn);
    if (rng_chance(&s->rng, 1, 2))
        d = s->alpha[rng_below(&s->rng, s->nalpha)];
    if (s->trace) {
        char b1[160], b2[160], b3[160];
        printf("  op %lu: range %s prefix %s start %s stop %s delimiter %d\n", s->op,
               backward ? "backward" : "forward", t_fmt_key(b1, p, pn),
               has_start ? t_fmt_key(b2, start, startn) : "-",
               has_stop ? t_fmt_key(b3, stop, stopn) : "-", d);
    }
    s->stats[S_RANGE]++;
    m_prefix_range(&s->m, p, pn, &lo, &hi);
    a = has_start && m_lower(&s->m, start, startn, 0) > lo ? m_lower(&s->m, start, startn, 0) : lo;
    b = has_stop && m_lower(&s->m, stop, stopn, 0) < hi ? m_lower(&s->m, stop, stopn, 0) : hi;
    rx_iter_init(&it, s->t);
    CHECK_EQ(rx_iter_set_prefix(&it, p, pn), RX_OK);
    if (backward)
        rc = rx_iter_seek(&it, has_stop ? RX_SEEK_LT : RX_SEEK_LAST, stop, stopn);
    else
        rc = rx_iter_seek(&it, has_start ? RX_SEEK_GE : RX_SEEK_FIRST, start, startn);
    CHECK_EQ(rc, RX_OK);
    while (!t_failures()) {
        const m_entry *e;
        size_t en;
        rc = rx_iter_next(&it);
        if (rc == 1 && (backward ? has_start && keycmp(it.key, it.key_len, start, startn) < 0
                                 : has_stop && keycmp(it.key, it.key_len, stop, stopn) >= 0))
            rc = 0; /* past the far bound */
        /* the model's next entry: past the keys of the group listed last */
        while (grouped && a < b) {
            e = &s->m.e[backward ? b - 1 : a];
            if (prefix_side(e->k, e->n, last, lastn) != 0)
                break;
            if (backward)
                b--;
            else
                a++;
        }
        if (a >= b) {
            CHECK_EQ(rc, 0);
            break;
        }
        if (!CHECK_EQ(rc, 1))
            break;
        e = &s->m.e[backward ? b - 1 : a];
        en = entry_len(e->k, e->n, pn, d);
        if (!CHECK_KEY("range entry", it.key, entry_len(it.key, it.key_len, pn, d), e->k, en))
            break;
        listed++;
        grouped = en < e->n;
        if (grouped) {
            memcpy(last, e->k, en);
            lastn = en;
            CHECK_EQ(rx_iter_skip_prefix(&it, it.key, en), RX_OK);
        } else if (backward) {
            b--;
        } else {
            a++;
        }
    }
    rx_iter_release(&it);
    (void)listed;
}

static void full_check(mstate *s)
{
    /* close the iterators so the allocator's bytes are the tree's alone
     * (and the buffers it keeps for its next iterator) */
    mi_free(&s->mi[0]);
    mi_free(&s->mi[1]);
    CHECK_TREE(s->t, &s->m);
    CHECK_MEM(s->t, &s->a);
    CHECK_VISIT(s->t, &s->a, &s->m);
    if (s->m.n == 0)
        CHECK_EQ(rx_memory(s->t), s->empty_mem);
    mi_init(&s->mi[0], s->t);
    mi_init(&s->mi[1], s->t);
}

static void run_model(const char *phase, const unsigned char *alpha, size_t nalpha,
                      size_t maxlen, size_t fillen, size_t nops, uint64_t salt)
{
    mstate *s = calloc(1, sizeof *s);
    size_t i;
    double sum_size = 0;
    const char *tr = getenv("RX_TEST_TRACE");
    if (s == NULL)
        return;
    rng_seed(&s->rng, t_seed ^ salt);
    s->t = t_new_tree(&s->a);
    s->empty_mem = rx_memory(s->t);
    m_init(&s->m);
    mi_init(&s->mi[0], s->t);
    mi_init(&s->mi[1], s->t);
    s->alpha = alpha;
    s->nalpha = nalpha;
    s->maxlen = maxlen;
    s->fillen = fillen;
    s->next_v = 1;
    s->trace = tr && *tr && *tr != '0';
    for (i = 0; i < fillen; i++) { /* three fillers sharing a long head */
        unsigned char c = alpha[rng_below(&s->rng, nalpha)];
        s->filler[0][i] = s->filler[1][i] = s->filler[2][i] = c;
        if (i >= fillen / 2)
            s->filler[1][i] = alpha[rng_below(&s->rng, nalpha)];
        if (i >= fillen - 8)
            s->filler[2][i] = alpha[rng_below(&s->rng, nalpha)];
    }

    for (s->op = 0; s->op < nops; s->op++) {
        size_t c = rng_below(&s->rng, 1000);
        t_where("phase %s, seed %llu, op %lu; rerun with RX_TEST_SEED=%llu RX_TEST_ONLY=%s "
                  "RX_TEST_TRACE=1",
                  phase, (unsigned long long)t_seed, s->op, (unsigned long long)t_seed, phase);
        if (c < 360)
            do_insert(s);
        else if (c < 500)
            do_remove(s);
        else if (c < 560)
            do_find(s);
        else if (c < 590)
            do_find_many(s);
        else if (c < 650)
            do_count(s);
        else if (c < 710)
            do_longest(s);
        else if (c < 712 && (c < 711 || rng_chance(&s->rng, 1, 2)))
            do_remove_prefix(s, 0);
        else if (c == 716 && rng_chance(&s->rng, 1, 150))
            do_remove_prefix(s, 1);
        else if (c >= 990)
            do_range(s);
        else
            do_iter(s);
        sum_size += s->m.n;
        CHECK_EQ(rx_size(s->t), s->m.n);
        CHECK_EQ(rx_count_prefix(s->t, KEY("")), s->m.n);
        if (s->op % 2000 == 1999)
            full_check(s);
        if (t_failures())
            break;
    }
    if (t_failures() == 0)
        full_check(s);
    if (getenv("RX_TEST_VERBOSE"))
        t_note("%lu ops: %lu new, %lu overwrite, %lu ENOMEM, %lu removed, %lu missed, "
               "%lu remove_prefix, %lu clear, %lu seeks, %lu steps, %lu skips, %lu range "
               "listings; %lu keys at the end, %.0f on average",
               s->op, s->stats[S_INSERT], s->stats[S_OVERWRITE], s->stats[S_ENOMEM],
               s->stats[S_REMOVE], s->stats[S_MISS], s->stats[S_RMPREFIX], s->stats[S_CLEAR],
               s->stats[S_SEEK], s->stats[S_NEXT], s->stats[S_SKIP], s->stats[S_RANGE],
               (unsigned long)s->m.n,
               sum_size / (double)(s->op ? s->op : 1));
    if (t_failures() == 0)
        CHECK(s->stats[S_ENOMEM] > 0 || nops < 1000);
    mi_free(&s->mi[0]);
    mi_free(&s->mi[1]);
    m_free(&s->m);
    FREE_TREE(s->t, &s->a);
    free(s);
}

static const unsigned char SMALL[] = {'a', 'b', 'c', 0x00, 0xFF};

static void test_model_short(void)
{
    run_model("model_short", SMALL, sizeof SMALL, 8, 0, t_scaled(1000000), 1);
}

static void test_model_long(void)
{
    run_model("model_long", SMALL, sizeof SMALL, 8, 260, t_scaled(200000), 2);
}

static void test_model_wide(void)
{
    static unsigned char all[256];
    size_t i;
    for (i = 0; i < 256; i++)
        all[i] = (unsigned char)i;
    run_model("model_wide", all, 256, 3, 0, t_scaled(300000), 3);
}

void run_model_tests(void)
{
    t_run("model_short", test_model_short);
    t_run("model_long", test_model_long);
    t_run("model_wide", test_model_wide);
}
