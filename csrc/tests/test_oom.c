/*
 * test_oom.c -- out-of-memory injection through rx_allocator.
 *
 * Each workload step is run with the 1st, 2nd, 3rd, ... allocation failing
 * until it succeeds; every failed attempt must return RX_ENOMEM (caused by
 * the injected failure) and leave the tree exactly as before: same full
 * listing (keys and values), rx_size, rx_memory, rx_version, and the same
 * bytes held by the allocator.  Removals must never fail, even with every
 * allocation failing.  The allocator checks the sizes the tree passes back
 * and that nothing is left after rx_tree_free.
 */
#include "test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    model keys;
    size_t size, memory, live;
    uint64_t version;
} snap;

static void take(rx_tree *t, t_alloc *a, snap *s)
{
    talloc_heal(a);
    CHECK(t_snapshot(t, &s->keys));
    s->size = rx_size(t);
    s->memory = rx_memory(t);
    s->live = a->live_bytes;
    s->version = rx_version(t);
}

static int snaps_equal(const snap *x, const snap *y, const char *file, int line)
{
    if (!t_models_equal(&x->keys, &y->keys, file, line))
        return 0;
    return t_check_u(x->size == y->size, file, line, "rx_size", "before", x->size, y->size) &&
           t_check_u(x->memory == y->memory, file, line, "rx_memory", "before", x->memory,
                     y->memory) &&
           t_check_u(x->live == y->live, file, line, "allocator live bytes", "before", x->live,
                     y->live) &&
           t_check_u(x->version == y->version, file, line, "rx_version", "before", x->version,
                     y->version);
}

/* Inserts key with the k-th allocation failing, k = 1, 2, ... until the
 * insert succeeds.  Returns the number of failed attempts (or -1). */
static long insert_until_ok(rx_tree *t, t_alloc *a, model *m, const unsigned char *key,
                            size_t n, uintptr_t v, const char *file, int line)
{
    snap before, after;
    unsigned long k;
    long failures = 0;
    char b[160];
    m_init(&before.keys);
    m_init(&after.keys);
    take(t, a, &before);
    for (k = 1; k < 10000; k++) {
        unsigned long injected = a->injected;
        void *old = NULL;
        int rc;
        a->fail_at = a->attempts + k;
        rc = rx_insert(t, key, n, V(v), &old);
        talloc_heal(a);
        if (rc == RX_ENOMEM) {
            failures++;
            t_context("insert %s failing allocation #%lu", t_fmt_key(b, key, n), k);
            if (!t_check(a->injected > injected, file, line, "RX_ENOMEM comes from the injection"))
                break;
            t_context("insert %s failing allocation #%lu", t_fmt_key(b, key, n), k);
            take(t, a, &after);
            t_visit_matches(t, a, &after.keys, file, line);
            /* on a difference, report it and compare later attempts with
             * the tree as it is now */
            if (!snaps_equal(&after, &before, file, line))
                take(t, a, &before);
            continue;
        }
        {
            uintptr_t mold = 0;
            int want = m_insert(m, key, n, v, &mold);
            t_context("insert %s after %ld failed attempts", t_fmt_key(b, key, n), failures);
            t_check_u(rc == want, file, line, "rx_insert", "model", (unsigned long long)rc,
                      (unsigned long long)want);
            if (rc == 0 && want == 0)
                t_check_u(U(old) == mold, file, line, "old value", "model", U(old), mold);
        }
        break;
    }
    t_context("");
    m_free(&before.keys);
    m_free(&after.keys);
    return failures;
}
#define INSERT_OOM(t, a, m, ...) insert_until_ok((t), (a), (m), __VA_ARGS__, __FILE__, __LINE__)

static void put(rx_tree *t, model *m, const unsigned char *k, size_t n, uintptr_t v)
{
    void *old;
    CHECK_EQ(rx_insert(t, k, n, V(v), &old), m_insert(m, k, n, v, NULL));
}

static void put_str(rx_tree *t, model *m, const char *s, uintptr_t v)
{
    put(t, m, (const unsigned char *)s, strlen(s), v);
}

/* ------------------------------------------------------------------------ */

static void test_oom_tree_new(void)
{
    t_alloc a;
    rx_allocator al;
    rx_tree *t;
    talloc_init(&a, &al);
    a.fail_all = 1;
    CHECK(rx_tree_new(&al) == NULL);
    CHECK_EQ(a.live_bytes, 0);
    talloc_heal(&a);
    t = rx_tree_new(&al);
    REQUIRE(CHECK(t != NULL));
    CHECK_MEM(t, &a);
    /* the allocator was copied: a changed local struct does not matter */
    memset(&al, 0, sizeof al);
    FREE_TREE(t, &a);
}

static void test_oom_insert_steps(void)
{
    t_alloc a;
    rx_tree *t = t_new_tree(&a);
    model m;
    char buf[600];
    unsigned i;
    uintptr_t v = 1;
    long f;
    const size_t BIG = 1u << 20;
    unsigned char *big = malloc(BIG + 8);
    REQUIRE(CHECK(big != NULL));
    m_init(&m);

    /* the first key of an empty tree */
    f = INSERT_OOM(t, &a, &m, KEY("split/compressed-path-0123456789"), v++);
    CHECK(f >= 1);
    /* a chain of nested keys: the tree gets deeper with each one */
    memset(buf, 'g', 64);
    for (i = 1; i <= 64; i++)
        INSERT_OOM(t, &a, &m, (const unsigned char *)buf, i, v++);

    /* a populated tree: node types at their limits, a deep chain, a long
     * compressed path, a 1 MB key */
    for (i = 0; i < 4; i++) {
        sprintf(buf, "n4/%c", 'a' + i);
        put_str(t, &m, buf, v++);
    }
    for (i = 0; i < 16; i++) {
        sprintf(buf, "n16/%c", 'a' + i);
        put_str(t, &m, buf, v++);
    }
    for (i = 0; i < 48; i++) {
        sprintf(buf, "n48/%c", 'A' + i);
        put_str(t, &m, buf, v++);
    }
    for (i = 0; i < 100; i++) {
        unsigned char k[6] = {'n', '2', '5', '6', '/', (unsigned char)(i * 2)};
        put(t, &m, k, 6, v++);
    }
    memcpy(buf, "deep/", 5);
    memset(buf + 5, 'x', 400);
    for (i = 1; i <= 200; i++)
        put(t, &m, (const unsigned char *)buf, 5 + i, v++);
    memcpy(big, "big/", 4);
    for (i = 4; i < BIG + 8; i++)
        big[i] = (unsigned char)('a' + i % 13);
    put(t, &m, big, BIG, v++);
    REQUIRE(CHECK_TREE(t, &m));
    CHECK_MEM(t, &a);

    /* split a compressed path in the middle, at its end, inside it with
     * the key ending there, and extend a leaf */
    f = INSERT_OOM(t, &a, &m, KEY("split/compressed-path-01234XYZ"), v++);
    CHECK(f >= 1);
    f = INSERT_OOM(t, &a, &m, KEY("split/compressed"), v++);
    CHECK(f >= 1);
    f = INSERT_OOM(t, &a, &m, KEY("split/compressed-path-0123456789/extension"), v++);
    CHECK(f >= 1);
    /* grow 4 -> 16 -> 48 -> 256 */
    f = INSERT_OOM(t, &a, &m, KEY("n4/e"), v++);
    CHECK(f >= 2); /* a leaf and a bigger node */
    f = INSERT_OOM(t, &a, &m, KEY("n16/q"), v++);
    CHECK(f >= 2);
    f = INSERT_OOM(t, &a, &m, KEY("n48/~"), v++);
    CHECK(f >= 2);
    f = INSERT_OOM(t, &a, &m, KEY("n256/\x01"), v++);
    CHECK(f >= 1);
    /* new leaves deep down, a branch off the deep chain, past its end */
    f = INSERT_OOM(t, &a, &m, (const unsigned char *)buf, 5 + 300, v++);
    CHECK(f >= 1);
    buf[5 + 100] = 'y';
    f = INSERT_OOM(t, &a, &m, (const unsigned char *)buf, 5 + 102, v++);
    CHECK(f >= 1);
    buf[5 + 100] = 'x';
    /* a value on an existing inner node, an overwrite (may need nothing) */
    f = INSERT_OOM(t, &a, &m, KEY("n4/"), v++);
    CHECK(f >= 0);
    f = INSERT_OOM(t, &a, &m, KEY("n4/a"), v++);
    CHECK(f >= 0);
    /* split the 1 MB key's path in its middle, and extend it */
    big[BIG / 2] = 'Z';
    f = INSERT_OOM(t, &a, &m, big, BIG, v++);
    CHECK(f >= 1);
    big[BIG / 2] = (unsigned char)('a' + (BIG / 2) % 13);
    f = INSERT_OOM(t, &a, &m, big, BIG + 8, v++);
    CHECK(f >= 1);
    /* a new first byte at the root */
    f = INSERT_OOM(t, &a, &m, KEY("\x01root"), v++);
    CHECK(f >= 1);
    f = INSERT_OOM(t, &a, &m, KEY(""), v++);
    CHECK(f >= 0);

    CHECK_TREE(t, &m);
    CHECK_MEM(t, &a);
    m_free(&m);
    free(big);
    FREE_TREE(t, &a);
}

/* Every insert of a random workload, each with every failure point. */
static void test_oom_insert_random(void)
{
    t_alloc a;
    rx_tree *t = t_new_tree(&a);
    model m;
    t_rng rng;
    size_t i, n, j, count = t_scaled(400);
    unsigned char k[24];
    static const unsigned char alpha[] = {0x00, 'a', 'b', 0xFF};
    m_init(&m);
    rng_seed(&rng, t_seed ^ 0x0F0F);
    for (i = 0; i < count && t_failures() == 0; i++) {
        n = rng_below(&rng, 1 + rng_below(&rng, sizeof k));
        for (j = 0; j < n; j++)
            k[j] = rng_chance(&rng, 1, 4) ? (unsigned char)rng_below(&rng, 256)
                                          : alpha[rng_below(&rng, 4)];
        INSERT_OOM(t, &a, &m, k, n, i + 1);
    }
    CHECK_TREE(t, &m);
    CHECK_MEM(t, &a);
    m_free(&m);
    FREE_TREE(t, &a);
}

/* ---- iterators ----------------------------------------------------------- */

static void build_deep(rx_tree *t, model *m, unsigned char **bigp, size_t *bign)
{
    unsigned char buf[2100];
    size_t i;
    const size_t BIG = 200000;
    unsigned char *big = malloc(BIG);
    memcpy(buf, "d/", 2);
    memset(buf + 2, 'q', sizeof buf - 2);
    for (i = 1; i <= 2000; i += 1 + i / 64) /* a chain of nested keys */
        put(t, m, buf, 2 + i, i);
    for (i = 0; i < 256; i += 3) { /* a wide node */
        unsigned char w[3] = {'w', '/', (unsigned char)i};
        put(t, m, w, 3, 10000 + i);
    }
    memcpy(big, "z/", 2);
    for (i = 2; i < BIG; i++)
        big[i] = (unsigned char)('a' + i % 7);
    put(t, m, big, BIG, 20000);
    put(t, m, big, BIG / 2, 20001);
    *bigp = big;
    *bign = BIG;
}

static void test_oom_iter(void)
{
    t_alloc a;
    rx_tree *t = t_new_tree(&a);
    model m;
    unsigned char *big, deep[2100];
    size_t bign, mem;
    rx_iter it;
    unsigned long k;
    int rc;
    struct {
        const unsigned char *p;
        size_t pn;
        rx_seek_op op;
        const unsigned char *t;
        size_t tn;
    } seeks[8];
    size_t ns = 0, s;
    m_init(&m);
    build_deep(t, &m, &big, &bign);
    memcpy(deep, "d/", 2);
    memset(deep + 2, 'q', sizeof deep - 2);
    mem = rx_memory(t);
    CHECK_MEM(t, &a);

    /* set_prefix allocates its copy */
    rx_trim(t);
    rx_iter_init(&it, t);
    a.fail_all = 1;
    CHECK_EQ(rx_iter_set_prefix(&it, deep, 1000), RX_ENOMEM);
    talloc_heal(&a);
    CHECK_EQ(rx_iter_set_prefix(&it, deep, 1000), RX_OK);
    rx_iter_release(&it);
    CHECK_MEM(t, &a);

#define SEEK(P, PN, OP, T, TN)     \
    do {                           \
        seeks[ns].p = (P);         \
        seeks[ns].pn = (PN);       \
        seeks[ns].op = (OP);       \
        seeks[ns].t = (T);         \
        seeks[ns].tn = (TN);       \
        ns++;                      \
    } while (0)
    SEEK(deep, 0, RX_SEEK_FIRST, deep, 0);
    SEEK(deep, 0, RX_SEEK_LAST, deep, 0);
    SEEK(deep, 2, RX_SEEK_GE, deep, 1500);
    SEEK(deep, 2, RX_SEEK_LE, deep, 1800);
    SEEK(deep, 500, RX_SEEK_LAST, deep, 0);
    SEEK(big, 2, RX_SEEK_GT, big, bign / 2);
    SEEK(big, 0, RX_SEEK_LT, big, bign);
    SEEK(big, 0, RX_SEEK_LE, big, bign + 0);
#undef SEEK

    for (s = 0; s < ns && t_failures() == 0; s++) {
        /* the seek with allocation k failing */
        for (k = 1; k < 1000; k++) {
            unsigned long injected;
            rx_trim(t); /* no spare buffers: the seek allocates them all */
            rx_iter_init(&it, t);
            CHECK_EQ(rx_iter_set_prefix(&it, seeks[s].p, seeks[s].pn), RX_OK);
            injected = a.injected;
            a.fail_at = a.attempts + k;
            rc = rx_iter_seek(&it, seeks[s].op, seeks[s].t, seeks[s].tn);
            talloc_heal(&a);
            t_context("seek #%lu failing allocation %lu", (unsigned long)s, k);
            if (rc == RX_ENOMEM) {
                CHECK(a.injected > injected);
                CHECK_EQ(rx_iter_next(&it), 0); /* exhausted */
                rx_iter_release(&it);
            } else {
                miter mi;
                CHECK_EQ(rc, RX_OK);
                rx_iter_release(&it);
                /* check the listing from that seek once */
                mi_init(&mi, t);
                if (MI_SEEK(&mi, seeks[s].p, seeks[s].pn, seeks[s].op, seeks[s].t, seeks[s].tn))
                    while (MI_NEXT(&mi, &m) == 1)
                        ;
                mi_free(&mi);
                break;
            }
            CHECK_MEM(t, &a);
            rx_trim(t);
            CHECK_EQ(rx_memory(t), mem);
            if (t_failures())
                break;
        }
        /* the listing with allocation k (counted after the seek) failing:
         * the keys before the failure are right, then RX_ENOMEM */
        {
            long *want = malloc((m.n + 1) * sizeof *want), idx;
            size_t nwant = 0;
            int dir;
            idx = m_seek_index(&m, seeks[s].p, seeks[s].pn, seeks[s].op, seeks[s].t, seeks[s].tn,
                               &dir);
            while (idx >= 0) {
                want[nwant++] = idx;
                idx = dir ? idx - 1 : idx + 1;
                if (idx < 0 || idx >= (long)m.n ||
                    prefix_side(m.e[idx].k, m.e[idx].n, seeks[s].p, seeks[s].pn) != 0)
                    idx = -1;
            }
            for (k = 1; k < 1000 && t_failures() == 0; k++) {
                unsigned long injected;
                size_t got = 0;
                int saw_enomem = 0;
                rx_trim(t);
                rx_iter_init(&it, t);
                CHECK_EQ(rx_iter_set_prefix(&it, seeks[s].p, seeks[s].pn), RX_OK);
                CHECK_EQ(rx_iter_seek(&it, seeks[s].op, seeks[s].t, seeks[s].tn), RX_OK);
                injected = a.injected;
                a.fail_at = a.attempts + k;
                t_context("listing from seek #%lu failing allocation %lu", (unsigned long)s, k);
                while ((rc = rx_iter_next(&it)) == 1) {
                    if (!CHECK(got < nwant))
                        break;
                    if (!CHECK_KEY("listed key", it.key, it.key_len, m.e[want[got]].k,
                                   m.e[want[got]].n))
                        break;
                    got++;
                }
                talloc_heal(&a);
                if (rc == RX_ENOMEM) {
                    saw_enomem = 1;
                    CHECK(a.injected > injected);
                } else {
                    CHECK_EQ(rc, 0);
                    CHECK_EQ(got, nwant);
                }
                rx_iter_release(&it);
                CHECK_MEM(t, &a);
                if (!saw_enomem)
                    break; /* k is past the listing's last allocation */
            }
            free(want);
        }
    }
    t_context("");

    /* a change forces a re-seek from the last key; with allocations failing
     * the step may fail, but nothing leaks and the tree is untouched */
    for (k = 1; k < 50 && t_failures() == 0; k++) {
        miter mi;
        long idx;
        rx_trim(t); /* so the re-seek allocates */
        mi_init(&mi, t);
        MI_SEEK(&mi, deep, 2, RX_SEEK_GE, deep, 1000);
        CHECK_EQ(MI_NEXT(&mi, &m), 1);
        put(t, &m, deep, 1001 + k, 5);
        idx = m_step_index(&m, mi.p, mi.pn, 0, mi.last, mi.ln);
        a.fail_at = a.attempts + k;
        rc = rx_iter_next(&mi.it);
        talloc_heal(&a);
        CHECK(rc == 1 || rc == RX_ENOMEM);
        if (rc == 1 && CHECK(idx >= 0))
            CHECK_KEY("next key after a change", mi.it.key, mi.it.key_len, m.e[idx].k,
                      m.e[idx].n);
        mi_free(&mi);
        CHECK_MEM(t, &a);
        if (rc == 1)
            break;
    }
    CHECK_TREE(t, &m);
    m_free(&m);
    free(big);
    FREE_TREE(t, &a);
}

/* ---- removals never fail --------------------------------------------------- */

static void build_mixed(rx_tree *t, model *m, t_rng *rng)
{
    size_t i, j;
    char buf[64];
    for (i = 0; i < 256; i++) { /* N256 under "w", each with a small subtree */
        unsigned char k[4] = {'w', (unsigned char)i, 'x', 'y'};
        put(t, m, k, 2, i);
        if (i % 5 == 0)
            put(t, m, k, 4, 1000 + i);
    }
    for (i = 0; i < 48; i++) { /* N48 */
        sprintf(buf, "m48/%c", (char)('0' + i));
        put_str(t, m, buf, 2000 + i);
    }
    for (i = 0; i < 16; i++) { /* N16 */
        sprintf(buf, "m16/%c/tail", (char)('a' + i));
        put_str(t, m, buf, 3000 + i);
    }
    for (i = 0; i < 60; i++) { /* chains with values on inner nodes */
        sprintf(buf, "chain/%.*s", (int)(i % 30), "abcdefghijklmnopqrstuvwxyz0123");
        put_str(t, m, buf, 4000 + i);
    }
    for (i = 0; i < 300; i++) { /* random keys sharing long prefixes */
        char k[64];
        size_t n = 10 + rng_below(rng, 20);
        memcpy(k, "long-shared-prefix-", 19);
        for (j = 19; j < n + 19; j++)
            k[j] = "ab\0\xff"[rng_below(rng, 4)];
        put(t, m, (const unsigned char *)k, n + 19, 5000 + i);
    }
}

static void test_oom_remove(void)
{
    t_alloc a;
    rx_tree *t = t_new_tree(&a);
    size_t empty_mem = rx_memory(t), removed = 0;
    model m;
    t_rng rng;
    int round;
    m_init(&m);
    rng_seed(&rng, t_seed ^ 0xABC);
    for (round = 0; round < 2; round++) {
        build_mixed(t, &m, &rng);
        REQUIRE(CHECK_TREE(t, &m));
        while (m.n > 0 && t_failures() == 0) {
            size_t j = rng_below(&rng, m.n);
            uintptr_t want = m.e[j].v;
            void *old = NULL;
            a.fail_all = 1;
            CHECK_EQ(rx_remove(t, m.e[j].k, m.e[j].n, &old), 1);
            CHECK_PTR(old, want);
            m_remove_range(&m, j, j + 1, NULL);
            if (rng_chance(&rng, 1, 10)) { /* a miss next to it */
                CHECK_EQ(rx_remove(t, KEY("w\x05x"), &old), m_remove(&m, KEY("w\x05x"), NULL));
            }
            talloc_heal(&a);
            CHECK_EQ(rx_size(t), m.n);
            CHECK_MEM(t, &a);
            if (++removed % 40 == 0) {
                /* the less compact tree still answers everything right */
                static const char *ps[] = {"w", "m48/", "m16/c", "chain/abc", "long-shared-prefix-a",
                                           "long", ""};
                size_t p, ml = 0, mml = 0;
                void *v = NULL;
                uintptr_t mv = 0;
                REQUIRE(CHECK_TREE(t, &m));
                for (p = 0; p < sizeof ps / sizeof ps[0]; p++)
                    CHECK_EQ(rx_count_prefix(t, (const unsigned char *)ps[p], strlen(ps[p])),
                             m_count_prefix(&m, (const unsigned char *)ps[p], strlen(ps[p])));
                CHECK_EQ(rx_longest_prefix(t, KEY("chain/abcdefghijklmnopqrstuvwxyz0123XX"), &ml,
                                           &v),
                         m_longest_prefix(&m, KEY("chain/abcdefghijklmnopqrstuvwxyz0123XX"), &mml,
                                          &mv));
                CHECK_EQ(ml, mml);
                /* inserting into the uncompacted tree works, then goes again */
                if (round == 0 && m.n > 10) {
                    size_t q = rng_below(&rng, m.n);
                    unsigned char k[64];
                    size_t kn = m.e[q].n < 60 ? m.e[q].n : 60;
                    memcpy(k, m.e[q].k, kn);
                    k[kn++] = 'N';
                    put(t, &m, k, kn, 99999);
                    REQUIRE(CHECK_TREE(t, &m));
                }
            }
        }
        CHECK_EQ(rx_size(t), 0);
        CHECK_EQ(rx_memory(t), empty_mem);
        CHECK_MEM(t, &a);
    }

    /* remove_prefix and clear with every allocation failing */
    build_mixed(t, &m, &rng);
    {
        static const char *ps[] = {"w\x10", "m48/", "chain/abcdef", "long-shared-prefix-\xff", "w"};
        size_t p;
        for (p = 0; p < sizeof ps / sizeof ps[0]; p++) {
            size_t lo, hi;
            m_prefix_range(&m, (const unsigned char *)ps[p], strlen(ps[p]), &lo, &hi);
            a.fail_all = 1;
            CHECK_EQ(rx_remove_prefix(t, (const unsigned char *)ps[p], strlen(ps[p]), NULL, NULL),
                     hi - lo);
            talloc_heal(&a);
            m_remove_range(&m, lo, hi, NULL);
            REQUIRE(CHECK_TREE(t, &m));
            CHECK_MEM(t, &a);
        }
        a.fail_all = 1;
        CHECK_EQ(rx_clear(t, NULL, NULL), m.n);
        talloc_heal(&a);
        m_clear(&m);
        CHECK_EQ(rx_memory(t), empty_mem);
    }
    m_free(&m);
    FREE_TREE(t, &a);
}

/* Frees with every allocation failing: nothing may leak. */
static void test_oom_free(void)
{
    t_alloc a;
    rx_tree *t = t_new_tree(&a);
    model m;
    t_rng rng;
    m_init(&m);
    rng_seed(&rng, 99);
    build_mixed(t, &m, &rng);
    a.fail_all = 1;
    rx_tree_free(t, NULL, NULL);
    CHECK_EQ(a.live_bytes, 0);
    CHECK_EQ(a.live_blocks, 0);
    CHECK_EQ(a.bad_sizes, 0);
    m_free(&m);
}

/* Replacing a stored key's value must not allocate: a batch's rollback
 * puts old values back with it and cannot handle a failure there (was a
 * bug: the visit stack was grown before the walk knew the key existed). */
static void test_oom_overwrite_never_fails(void)
{
    t_alloc a;
    rx_allocator alloc;
    rx_tree *t;
    void *old;
    size_t i, j;
    talloc_init(&a, &alloc);
    t = rx_tree_new(&alloc);
    for (i = 0; i < 200; i++) {
        char key[64];
        int len = sprintf(key, "k%zu/%zu/padding-padding-padding", i % 7, i);
        CHECK_EQ(rx_insert(t, (const unsigned char *)key, (size_t)len, (void *)(i + 1), &old), 1);
        a.fail_all = 1;
        for (j = 0; j <= i; j++) {
            int klen = sprintf(key, "k%zu/%zu/padding-padding-padding", j % 7, j);
            CHECK_EQ(rx_insert(t, (const unsigned char *)key, (size_t)klen, (void *)(j + 2), &old), 0);
        }
        a.fail_all = 0;
    }
    talloc_heal(&a);
    rx_tree_free(t, NULL, NULL);
}

/* rx_iter_skip_prefix with each of its allocations failing, both when it
 * pops the path (the group is copied as the resume target) and when it
 * seeks (resume target, stack, key buffer): RX_ENOMEM leaves the iterator
 * exhausted, the tree unchanged and nothing leaked; once allocations
 * succeed, the skip lands after the group. */
static void test_oom_skip(void)
{
    t_alloc a;
    rx_tree *t = t_new_tree(&a);
    char key[64];
    size_t i, j, mem;
    int path, backward;
    void *old;
    for (i = 0; i < 8; i++)
        for (j = 0; j < 8; j++) {
            size_t n = (size_t)sprintf(key, "a-group-with-a-long-name-%02lu/%03lu", (unsigned long)i,
                                       (unsigned long)j);
            CHECK_EQ(rx_insert(t, (const unsigned char *)key, n, V(i * 8 + j + 1), &old), 1);
        }
    mem = rx_memory(t);
    for (path = 0; path < 2; path++) {
        for (backward = 0; backward < 2; backward++) {
            unsigned long k;
            /* the group of the second key, or (path 0) of the third group
             * while the iterator stands in the second */
            const char *group = path ? "a-group-with-a-long-name-01/" : "a-group-with-a-long-name-02/";
            const char *want = backward ? (path ? "a-group-with-a-long-name-00/007"
                                                : "a-group-with-a-long-name-01/007")
                                        : (path ? "a-group-with-a-long-name-02/000"
                                                : "a-group-with-a-long-name-03/000");
            for (k = 1; k < 100; k++) {
                unsigned long injected;
                rx_iter it;
                int rc;
                t_where("path %d backward %d failing allocation %lu", path, backward, k);
                rx_trim(t);
                rx_iter_init(&it, t);
                /* a short seek target leaves the resume buffer shorter
                 * than the group, so the skip has to grow it */
                CHECK_EQ(rx_iter_seek(&it, backward ? RX_SEEK_LE : RX_SEEK_GE,
                                      (const unsigned char *)(backward ? "b" : "a"), 1),
                         RX_OK);
                do
                    CHECK_EQ(rx_iter_next(&it), 1);
                while (!t_failures() && memcmp(it.key, "a-group-with-a-long-name-01/", 28) != 0);
                injected = a.injected;
                a.fail_at = a.attempts + k;
                rc = rx_iter_skip_prefix(&it, (const unsigned char *)group, strlen(group));
                talloc_heal(&a);
                if (rc == RX_ENOMEM) {
                    CHECK(a.injected > injected);
                    CHECK_EQ(rx_iter_next(&it), 0); /* exhausted */
                    rx_iter_release(&it);
                    rx_trim(t);
                    CHECK_MEM(t, &a);
                    CHECK_EQ(rx_memory(t), mem);
                    if (t_failures())
                        break;
                    continue;
                }
                CHECK_EQ(rc, RX_OK);
                CHECK(k > 1); /* the first allocation is always needed */
                CHECK_EQ(rx_iter_next(&it), 1);
                CHECK_KEY("after the group", it.key, it.key_len, want, strlen(want));
                rx_iter_release(&it);
                break;
            }
        }
    }
    rx_trim(t);
    CHECK_MEM(t, &a);
    FREE_TREE(t, &a);
}

void run_oom_tests(void)
{
    t_run("oom_overwrite_never_fails", test_oom_overwrite_never_fails);
    t_run("oom_tree_new", test_oom_tree_new);
    t_run("oom_insert_steps", test_oom_insert_steps);
    t_run("oom_insert_random", test_oom_insert_random);
    t_run("oom_iter", test_oom_iter);
    t_run("oom_skip", test_oom_skip);
    t_run("oom_remove", test_oom_remove);
    t_run("oom_free", test_oom_free);
}
