/*
 * test_stress.c -- size and shape extremes.
 *
 *   deep:  100,000 nested keys "a", "aa", ..., "a" x 100000 (a path of
 *          100,000 nodes): insert, find, list both ways, count_prefix, seek,
 *          remove every other one near both ends, free.  The core uses no
 *          recursion, so none of this may overflow the C stack.
 *          RX_TEST_DEPTH overrides the depth.
 *   wide:  100,000 random keys over all 256 byte values (RX_TEST_SCALE).
 *   million_under_one_node: 10^6 keys under "u", then a 16 MB key.
 *   fan:   65,536 + 256 + 1 keys under "w" (two levels of 256-way nodes),
 *          shrunk back one child at a time.
 */
#include "test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double secs_since(clock_t start)
{
    return (double)(clock() - start) / CLOCKS_PER_SEC;
}

struct deepvisit {
    size_t calls;
    unsigned long long sum;
};

static int visit_count(void *value, void *ctx)
{
    struct deepvisit *d = ctx;
    d->calls++;
    d->sum += U(value);
    return 0;
}

/* The keys test_deep removes: the even lengths among the 2,000 shortest
 * and the 500 longest. */
static int deep_removed(size_t len, size_t n)
{
    return len % 2 == 0 && (len <= 2000 || len + 500 > n);
}

static void test_deep(void)
{
    const char *env = getenv("RX_TEST_DEPTH");
    size_t N = env && *env ? (size_t)strtoul(env, NULL, 10)
                           : (t_scale < 1.0 ? t_scaled(100000) : 100000);
    unsigned char *buf = malloc(N + 2);
    t_alloc a;
    rx_tree *t;
    size_t empty_mem, i, ml = 0;
    void *v = NULL, *old;
    rx_iter it;
    int rc;
    clock_t start;
    double t_ins, t_list, t_rm, t_free;
    REQUIRE(CHECK(buf != NULL) && CHECK(N >= 8));
    memset(buf, 'a', N + 2);
    t = t_new_tree(&a);
    empty_mem = rx_memory(t);

    /* insert longest first: each key splits the path above the previous
     * one (shortest first would walk the whole chain each time: O(N^2)) */
    start = clock();
    for (i = N; i >= 1; i--)
        if (!CHECK_EQ(rx_insert(t, buf, i, V(i), &old), 1))
            break;
    t_ins = secs_since(start);
    REQUIRE(CHECK_EQ(rx_size(t), N));
    CHECK_MEM(t, &a);
    {
        static const size_t probe[] = {1, 2, 3, 1000, 50000, 99999, 100000};
        for (i = 0; i < sizeof probe / sizeof probe[0]; i++) {
            size_t n = probe[i] > N ? N : probe[i];
            v = NULL;
            CHECK_EQ(rx_find(t, buf, n, &v), 1);
            CHECK_PTR(v, V(n));
        }
    }
    CHECK_EQ(rx_find(t, buf, N + 1, &v), 0);
    CHECK_EQ(rx_find(t, KEY(""), &v), 0);
    CHECK_EQ(rx_count_prefix(t, buf, 1), N);
    CHECK_EQ(rx_count_prefix(t, buf, N / 2), N - N / 2 + 1);
    CHECK_EQ(rx_count_prefix(t, buf, N), 1);
    CHECK_EQ(rx_count_prefix(t, buf, N + 1), 0);
    buf[N] = 'b';
    CHECK_EQ(rx_longest_prefix(t, buf, N + 1, &ml, &v), 1);
    CHECK_EQ(ml, N);
    buf[N] = 'a';

    /* every value once, without allocating, without recursion */
    {
        struct deepvisit dv = {0, 0};
        unsigned long attempts = a.attempts;
        a.fail_all = 1;
        CHECK_EQ(rx_visit_values(t, visit_count, &dv), 0);
        a.fail_all = 0;
        CHECK_EQ(a.attempts, attempts);
        CHECK_EQ(dv.calls, N);
        CHECK_EQ(dv.sum, (unsigned long long)N * (N + 1) / 2);
    }

    /* full listings */
    start = clock();
    rx_iter_init(&it, t);
    CHECK_EQ(rx_iter_seek(&it, RX_SEEK_FIRST, NULL, 0), RX_OK);
    for (i = 1; (rc = rx_iter_next(&it)) == 1; i++) {
        if (!CHECK_EQ(it.key_len, i) || !CHECK_PTR(it.value, V(i)))
            break;
        if (i % 997 == 0 || i == N)
            CHECK(memcmp(it.key, buf, i) == 0);
    }
    CHECK_EQ(rc, 0);
    CHECK_EQ(i, N + 1);
    CHECK_EQ(rx_iter_seek(&it, RX_SEEK_LAST, NULL, 0), RX_OK);
    for (i = N; (rc = rx_iter_next(&it)) == 1; i--) {
        if (!CHECK_EQ(it.key_len, i) || !CHECK_PTR(it.value, V(i)))
            break;
        if (i % 997 == 0 || i == 1)
            CHECK(memcmp(it.key, buf, i) == 0);
    }
    CHECK_EQ(rc, 0);
    CHECK_EQ(i, 0);
    t_list = secs_since(start);
    /* seeks deep down, with a deep prefix */
    CHECK_EQ(rx_iter_set_prefix(&it, buf, N / 4), RX_OK);
    CHECK_EQ(rx_iter_seek(&it, RX_SEEK_GE, buf, N / 2), RX_OK);
    CHECK_EQ(rx_iter_next(&it), 1);
    CHECK_EQ(it.key_len, N / 2);
    CHECK_EQ(rx_iter_seek(&it, RX_SEEK_LT, buf, N / 2), RX_OK);
    CHECK_EQ(rx_iter_next(&it), 1);
    CHECK_EQ(it.key_len, N / 2 - 1);
    CHECK_EQ(rx_iter_seek(&it, RX_SEEK_LE, KEY("b")), RX_OK); /* above: LAST */
    CHECK_EQ(rx_iter_next(&it), 1);
    CHECK_EQ(it.key_len, N);
    CHECK_EQ(rx_iter_seek(&it, RX_SEEK_GE, KEY("a")), RX_OK); /* below: FIRST */
    CHECK_EQ(rx_iter_next(&it), 1);
    CHECK_EQ(it.key_len, N / 4);
    rx_iter_release(&it);

    /* remove every other one (the even lengths) near both ends of the path,
     * shortest first: each removal descends to its depth, so removing every
     * other key of the whole path would cost O(N^2) node visits (most of
     * this test's time under ASan) without reaching any code these don't */
    start = clock();
    for (i = 2; i <= N; i += 2) {
        if (!deep_removed(i, N))
            continue;
        old = NULL;
        if (!CHECK_EQ(rx_remove(t, buf, i, &old), 1) || !CHECK_PTR(old, V(i)))
            break;
    }
    t_rm = secs_since(start);
    {
        size_t kept = 0, kept_from_half = 0;
        for (i = 1; i <= N; i++)
            if (!deep_removed(i, N)) {
                kept++;
                kept_from_half += i >= N / 2;
            }
        CHECK_EQ(rx_size(t), kept);
        CHECK_EQ(rx_count_prefix(t, buf, N / 2), kept_from_half);
    }
    CHECK_EQ(rx_find(t, buf, 2, &v), 0);
    CHECK_EQ(rx_find(t, buf, 3, &v), 1);
    CHECK_MEM(t, &a);
    rx_iter_init(&it, t);
    CHECK_EQ(rx_iter_seek(&it, RX_SEEK_LAST, NULL, 0), RX_OK);
    for (i = N; i >= 1 && deep_removed(i, N); i--)
        ;
    while ((rc = rx_iter_next(&it)) == 1) {
        if (!CHECK_EQ(it.key_len, i))
            break;
        for (i--; i >= 1 && deep_removed(i, N); i--)
            ;
    }
    CHECK_EQ(rc, 0);
    CHECK_EQ(i, 0);
    rx_iter_release(&it);

    start = clock();
    FREE_TREE(t, &a);
    t_free = secs_since(start);
    (void)empty_mem;
    t_note("depth %lu: insert %.2fs, list both ways %.2fs, remove near the ends %.2fs, free %.2fs",
           (unsigned long)N, t_ins, t_list, t_rm, t_free);
    free(buf);
}

/* ---- 100,000 random keys --------------------------------------------------- */

static int cmp_entry(const void *x, const void *y)
{
    const m_entry *a = x, *b = y;
    int c = keycmp(a->k, a->n, b->k, b->n);
    if (c)
        return c;
    return a->v < b->v ? -1 : a->v > b->v;
}

static void test_wide_random(void)
{
    size_t N = t_scaled(100000), i, j, uniq = 0, news = 0;
    t_alloc a;
    rx_tree *t = t_new_tree(&a);
    size_t empty_mem = rx_memory(t);
    model m;
    t_rng rng;
    m_entry *e = malloc(N * sizeof *e);
    size_t *order;
    clock_t start = clock();
    REQUIRE(CHECK(e != NULL));
    rng_seed(&rng, t_seed ^ 0x77);
    for (i = 0; i < N; i++) {
        e[i].n = 1 + rng_below(&rng, 16);
        e[i].k = malloc(e[i].n);
        for (j = 0; j < e[i].n; j++)
            e[i].k[j] = (unsigned char)rng_next(&rng);
        if (i > 0 && rng_chance(&rng, 1, 4)) { /* share a prefix with an earlier key */
            size_t src = rng_below(&rng, i), cut = rng_below(&rng, e[src].n + 1);
            if (cut > e[i].n)
                cut = e[i].n;
            memcpy(e[i].k, e[src].k, cut);
        }
        e[i].v = i + 1;
    }
    for (i = 0; i < N; i++) {
        void *old = NULL;
        int rc = rx_insert(t, e[i].k, e[i].n, V(e[i].v), &old);
        if (!CHECK(rc == 0 || rc == 1))
            break;
        news += (size_t)rc;
    }
    /* the model: sorted, the last value of each key wins */
    qsort(e, N, sizeof *e, cmp_entry);
    for (i = 0; i < N; i++) {
        if (uniq > 0 && keycmp(e[uniq - 1].k, e[uniq - 1].n, e[i].k, e[i].n) == 0) {
            free(e[uniq - 1].k);
            e[uniq - 1] = e[i];
        } else
            e[uniq++] = e[i];
    }
    m.e = e;
    m.n = uniq;
    m.cap = N;
    CHECK_EQ(news, uniq);
    REQUIRE(CHECK_TREE(t, &m));
    CHECK_MEM(t, &a);
    for (i = 0; i < m.n; i++) {
        void *v = NULL;
        if (!CHECK_EQ(rx_find(t, m.e[i].k, m.e[i].n, &v), 1) || !CHECK_PTR(v, m.e[i].v))
            break;
    }
    for (i = 0; i < 3000; i++) {
        const m_entry *x = &m.e[rng_below(&rng, m.n)];
        size_t pn = rng_below(&rng, x->n + 1), ml = 0, mml = 0;
        void *v = NULL;
        uintptr_t mv = 0;
        CHECK_EQ(rx_count_prefix(t, x->k, pn), m_count_prefix(&m, x->k, pn));
        CHECK_EQ(rx_longest_prefix(t, x->k, pn, &ml, &v), m_longest_prefix(&m, x->k, pn, &mml, &mv));
        CHECK_EQ(ml, mml);
    }
    /* remove everything in random order */
    order = malloc(m.n * sizeof *order);
    for (i = 0; i < m.n; i++)
        order[i] = i;
    for (i = m.n; i > 1; i--) {
        size_t r = rng_below(&rng, i), tmp = order[i - 1];
        order[i - 1] = order[r];
        order[r] = tmp;
    }
    for (i = 0; i < m.n; i++) {
        const m_entry *x = &m.e[order[i]];
        void *old = NULL;
        if (!CHECK_EQ(rx_remove(t, x->k, x->n, &old), 1) || !CHECK_PTR(old, x->v))
            break;
        if (i == m.n / 2)
            CHECK_MEM(t, &a);
    }
    CHECK_EQ(rx_size(t), 0);
    CHECK_EQ(rx_memory(t), empty_mem);
    free(order);
    m_free(&m);
    FREE_TREE(t, &a);
    if (secs_since(start) > 1.0)
        t_note("%lu random keys: %.2fs", (unsigned long)N, secs_since(start));
}

/* ---- 256 x 256 under one prefix ---------------------------------------------- */

static void test_fan(void)
{
    t_alloc a;
    rx_tree *t = t_new_tree(&a);
    size_t empty_mem = rx_memory(t), i, mem_full;
    t_rng rng;
    unsigned *perm = malloc(65536 * sizeof *perm);
    void *old, *v;
    model m;
    REQUIRE(CHECK(perm != NULL));
    m_init(&m);
    rng_seed(&rng, 7);
    for (i = 0; i < 65536; i++)
        perm[i] = (unsigned)i;
    for (i = 65536; i > 1; i--) {
        size_t r = rng_below(&rng, i);
        unsigned tmp = perm[i - 1];
        perm[i - 1] = perm[r];
        perm[r] = tmp;
    }
    for (i = 0; i < 65536; i++) {
        unsigned char k[3] = {'w', (unsigned char)(perm[i] >> 8), (unsigned char)perm[i]};
        if (!CHECK_EQ(rx_insert(t, k, 3, V(perm[i]), &old), 1))
            break;
    }
    for (i = 0; i < 256; i++) {
        unsigned char k[2] = {'w', (unsigned char)i};
        CHECK_EQ(rx_insert(t, k, 2, V(100000 + i), &old), 1);
    }
    CHECK_EQ(rx_insert(t, KEY("w"), V(200000), &old), 1);
    CHECK_EQ(rx_size(t), 65536 + 256 + 1);
    /* the model, built in order */
    m_insert(&m, KEY("w"), 200000, NULL);
    for (i = 0; i < 256; i++) {
        size_t j;
        unsigned char k[3] = {'w', (unsigned char)i, 0};
        m_insert(&m, k, 2, 100000 + i, NULL);
        for (j = 0; j < 256; j++) {
            k[2] = (unsigned char)j;
            m_insert(&m, k, 3, i * 256 + j, NULL);
        }
    }
    REQUIRE(CHECK_TREE(t, &m));
    CHECK_MEM(t, &a);
    mem_full = rx_memory(t);
    for (i = 0; i < 256; i += 51) {
        unsigned char k[2] = {'w', (unsigned char)i};
        CHECK_EQ(rx_count_prefix(t, k, 2), 257);
    }
    /* shrink every node step by step: remove the children high to low */
    for (i = 65536; i-- > 0;) {
        unsigned char k[3] = {'w', (unsigned char)(i & 255), (unsigned char)(255 - (i >> 8))};
        if (!CHECK_EQ(rx_remove(t, k, 3, &old), 1))
            break;
        if (i % 4096 == 0) {
            CHECK_MEM(t, &a);
            CHECK(rx_memory(t) < mem_full);
        }
    }
    CHECK_EQ(rx_size(t), 257);
    CHECK_EQ(rx_find(t, KEY("w\x07"), &v), 1);
    CHECK_PTR(v, V(100007));
    CHECK_EQ(rx_remove_prefix(t, KEY("w"), NULL, NULL), 257);
    CHECK_EQ(rx_memory(t), empty_mem);
    free(perm);
    m_free(&m);
    FREE_TREE(t, &a);
}

/* 10^6 keys under one node ("u" + 4 bytes spelling 0..999,999 in base 256:
 * three levels of 256-way nodes), listed in order, counted, removed by
 * prefix; then one 16 MB key beside them, found, listed and removed. */
static void test_million_under_one_node(void)
{
    const size_t n = 1000000, big_len = (size_t)16 << 20;
    rx_tree *t = rx_tree_new(NULL);
    unsigned char key[5], *big = malloc(big_len);
    void *old, *value;
    rx_iter it;
    size_t i, listed = 0;
    int rc, in_order = 1;
    key[0] = 'u';
    for (i = 0; i < n; i++) {
        key[1] = (unsigned char)(i >> 24);
        key[2] = (unsigned char)(i >> 16);
        key[3] = (unsigned char)(i >> 8);
        key[4] = (unsigned char)i;
        if (rx_insert(t, key, 5, (void *)(uintptr_t)(i + 1), &old) != 1) {
            CHECK(!"insert of a new key returned something else");
            break;
        }
    }
    CHECK_EQ(rx_size(t), n);
    CHECK_EQ(rx_count_prefix(t, (const unsigned char *)"u", 1), n);
    rx_iter_init(&it, t);
    CHECK_EQ(rx_iter_set_prefix(&it, (const unsigned char *)"u", 1), RX_OK);
    CHECK_EQ(rx_iter_seek(&it, RX_SEEK_FIRST, NULL, 0), RX_OK);
    while ((rc = rx_iter_next(&it)) == 1) {
        if ((uintptr_t)it.value != listed + 1)
            in_order = 0;
        listed++;
    }
    CHECK_EQ(rc, 0);
    CHECK_EQ(listed, n);
    CHECK(in_order);
    rx_iter_release(&it);

    memset(big, 'u', big_len);
    CHECK_EQ(rx_insert(t, big, big_len, (void *)(uintptr_t)7, &old), 1);
    CHECK_EQ(rx_find(t, big, big_len, &value), 1);
    CHECK_EQ((uintptr_t)value, 7);
    CHECK_EQ(rx_count_prefix(t, big, big_len - 1), 1);
    CHECK_EQ(rx_remove(t, big, big_len, &old), 1);
    CHECK_EQ(rx_remove_prefix(t, (const unsigned char *)"u", 1, NULL, NULL), n);
    CHECK_EQ(rx_size(t), 0);
    free(big);
    rx_tree_free(t, NULL, NULL);
}

void run_stress_tests(void)
{
    t_run("deep", test_deep);
    t_run("wide_random", test_wide_random);
    t_run("fan", test_fan);
    t_run("million_under_one_node", test_million_under_one_node);
}
