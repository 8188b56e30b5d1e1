/*
 * test_pool.c -- the node pool (pool.h): blocks of every small size and
 * some big ones, alignment, contents kept across realloc, reuse of freed
 * blocks by splitting, chunks given back when every block is free, and
 * trees built on a pool (against the model, with the backing allocator
 * failing on demand).
 */
#include "../pool.h"
#include "test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A pool on a counting allocator (so its footprint can be checked against
 * what it really holds), and the allocator drawing from it. */
static rx_pool *new_pool(t_alloc *a, rx_allocator *out)
{
    rx_allocator backing;
    rx_pool *pool;
    talloc_init(a, &backing);
    pool = rx_pool_new(&backing);
    if (pool != NULL)
        rx_pool_allocator(pool, out);
    return pool;
}

/* Blocks of sizes 1..600 (small and big), filled with a pattern, resized,
 * freed in another order: contents survive, blocks are 8-byte aligned and
 * never overlap, the footprint is what the backing allocator holds, and
 * once everything is freed the pool gives its chunks back. */
static void test_pool_blocks(void)
{
    enum { N = 600 };
    t_alloc a;
    rx_allocator al;
    rx_pool *pool = new_pool(&a, &al);
    unsigned char *blocks[N];
    size_t sizes[N], i, j;
    size_t empty;
    REQUIRE(CHECK(pool != NULL));
    empty = rx_pool_footprint(pool);
    CHECK_EQ(empty, a.live_bytes);
    for (i = 0; i < N; i++) {
        sizes[i] = i + 1;
        blocks[i] = al.malloc_fn(al.ctx, sizes[i]);
        REQUIRE(CHECK(blocks[i] != NULL));
        CHECK_EQ((uintptr_t)blocks[i] % 8, 0);
        memset(blocks[i], (int)(i & 0xff), sizes[i]);
    }
    CHECK_EQ(rx_pool_footprint(pool), a.live_bytes);
    /* resize every third block, up or down, within and across classes */
    for (i = 0; i < N; i += 3) {
        size_t to = i % 2 ? sizes[i] + 1 + i % 40 : (sizes[i] > 9 ? sizes[i] - 9 : sizes[i]);
        unsigned char *p = al.realloc_fn(al.ctx, blocks[i], sizes[i], to);
        REQUIRE(CHECK(p != NULL));
        for (j = 0; j < (sizes[i] < to ? sizes[i] : to); j++)
            if (!CHECK_EQ(p[j], i & 0xff))
                break;
        memset(p, (int)(i & 0xff), to);
        blocks[i] = p;
        sizes[i] = to;
    }
    /* no two live blocks overlap: each still holds its own pattern */
    for (i = 0; i < N; i++)
        for (j = 0; j < sizes[i]; j++)
            if (!CHECK_EQ(blocks[i][j], i & 0xff))
                break;
    /* a resize within the block's class keeps the block */
    {
        unsigned char *p = al.malloc_fn(al.ctx, 17), *q;
        REQUIRE(CHECK(p != NULL));
        q = al.realloc_fn(al.ctx, p, 17, 24);
        CHECK_PTR(q, p);
        al.free_fn(al.ctx, q, 24);
    }
    CHECK_EQ(rx_pool_footprint(pool), a.live_bytes);
    for (i = 0; i < N; i += 2)
        al.free_fn(al.ctx, blocks[i], sizes[i]);
    for (i = 1; i < N; i += 2)
        al.free_fn(al.ctx, blocks[i], sizes[i]);
    CHECK_EQ(rx_pool_footprint(pool), empty); /* every chunk given back */
    CHECK_EQ(a.live_bytes, empty);
    rx_pool_free(pool);
    CHECK_EQ(a.live_bytes, 0);
    CHECK_EQ(a.live_blocks, 0);
    CHECK_EQ(a.bad_sizes, 0);
    CHECK_EQ(a.bad_ptrs, 0);
}

/* Freed blocks serve smaller requests: what a tree frees when a node
 * grows (a 56-byte N4 for a 168-byte N16) is reused for its leaves. */
static void test_pool_split_reuse(void)
{
    enum { N = 400 };
    t_alloc a;
    rx_allocator al;
    rx_pool *pool = new_pool(&a, &al);
    void *big[N], *small[2 * N], *keep;
    size_t i, footprint;
    REQUIRE(CHECK(pool != NULL));
    keep = al.malloc_fn(al.ctx, 8); /* so the pool never empties here */
    for (i = 0; i < N; i++)
        REQUIRE(CHECK((big[i] = al.malloc_fn(al.ctx, 56)) != NULL));
    for (i = 0; i < N; i++)
        al.free_fn(al.ctx, big[i], 56);
    footprint = rx_pool_footprint(pool);
    for (i = 0; i < 2 * N; i++) /* two 24-byte blocks fit in each 56 */
        REQUIRE(CHECK((small[i] = al.malloc_fn(al.ctx, 20)) != NULL));
    CHECK_EQ(rx_pool_footprint(pool), footprint);
    for (i = 0; i < 2 * N; i++)
        al.free_fn(al.ctx, small[i], 20);
    al.free_fn(al.ctx, keep, 8);
    rx_pool_free(pool);
    CHECK_EQ(a.live_bytes, 0);
}

/* Trees on a pool, against the model: two trees share it; one is
 * emptied and freed while the other lives on; the backing allocator fails
 * at random and every RX_ENOMEM leaves the tree as it was.  rx_memory
 * stays the sum of the sizes the tree asked for. */
static void test_pool_trees(void)
{
    t_alloc a;
    rx_allocator al;
    rx_pool *pool = new_pool(&a, &al);
    rx_tree *t[2];
    model m[2];
    t_rng rng;
    size_t i, w, enomem = 0;
    REQUIRE(CHECK(pool != NULL));
    rng_seed(&rng, t_seed ^ 0x9001);
    /* the first block needs the pool's first chunk: when the backing
     * allocator cannot give it, the tree is not made */
    a.fail_all = 1;
    CHECK(rx_tree_new(&al) == NULL);
    talloc_heal(&a);
    for (w = 0; w < 2; w++) {
        t[w] = rx_tree_new(&al);
        REQUIRE(CHECK(t[w] != NULL));
        m_init(&m[w]);
    }
    for (i = 0; i < t_scaled(60000) && !t_failures(); i++) {
        unsigned char k[700];
        size_t n = 1 + rng_below(&rng, 12), j;
        void *old;
        uintptr_t mold;
        int rc;
        w = rng_below(&rng, 2);
        for (j = 0; j < n; j++)
            k[j] = (unsigned char)"ab:/0123"[rng_below(&rng, 8)];
        if (rng_chance(&rng, 1, 3)) {
            int want = m_remove(&m[w], k, n, &mold);
            CHECK_EQ(rx_remove(t[w], k, n, &old), want);
            continue;
        }
        if (rng_chance(&rng, 1, 50)) {
            /* a key whose leaf is too big for the pool's classes, so it
             * comes from the backing allocator, which fails now */
            for (; n < 600; n++)
                k[n] = (unsigned char)('a' + rng_below(&rng, 26));
            a.fail_all = rng_chance(&rng, 1, 2);
        }
        rc = rx_insert(t[w], k, n, V(i + 1), &old);
        talloc_heal(&a);
        if (rc == RX_ENOMEM) {
            enomem++;
            continue; /* the model is unchanged, and so must the tree be */
        }
        CHECK_EQ(rc, m_insert(&m[w], k, n, i + 1, &mold));
    }
    t_note("%lu operations, %lu RX_ENOMEM from the backing allocator", (unsigned long)i,
           (unsigned long)enomem);
    for (w = 0; w < 2; w++)
        CHECK_TREE(t[w], &m[w]);
    /* one tree emptied and freed; the other still right */
    rx_clear(t[0], NULL, NULL);
    rx_tree_free(t[0], NULL, NULL);
    CHECK_TREE(t[1], &m[1]);
    CHECK_EQ(rx_pool_footprint(pool), a.live_bytes);
    rx_tree_free(t[1], NULL, NULL);
    /* every block freed: the pool holds only itself */
    CHECK_EQ(a.live_bytes, rx_pool_footprint(pool));
    CHECK(rx_pool_footprint(pool) < 1024);
    rx_pool_free(pool);
    CHECK_EQ(a.live_bytes, 0);
    CHECK_EQ(a.bad_sizes, 0);
    for (w = 0; w < 2; w++)
        m_free(&m[w]);
}

/* Sorted keys "k:00000".."k:NNNNN" and the bytes each shares with the one
 * before, for the builder. */
static void build_key(unsigned char *k, size_t i)
{
    snprintf((char *)k, 8, "k:%05lu", (unsigned long)i);
}

static size_t shared_with_previous(size_t i)
{
    unsigned char a[8], b[8];
    size_t n = 0;
    if (i == 0)
        return 0;
    build_key(a, i - 1);
    build_key(b, i);
    while (n < 7 && a[n] == b[n])
        n++;
    return n;
}

/* A tree made by rx_pool_tree_new keeps its header outside the chunks:
 * whichever way it is emptied (clear, removing every key, remove_prefix),
 * the pool gives every chunk back and holds only itself and the header,
 * also after an iterator was released on the full tree (its buffers are
 * dropped with the last key).  A tree loaded with rx_pool_build_new does
 * the same. */
static void test_pool_tree_header_outside(void)
{
    enum { N = 5000 };
    t_alloc a;
    rx_allocator al;
    rx_pool *pool = new_pool(&a, &al);
    rx_builder *b;
    rx_tree *t, *loaded;
    rx_iter it;
    unsigned char k[8];
    size_t empty, i, way;
    void *old;
    REQUIRE(CHECK(pool != NULL));
    t = rx_pool_tree_new(pool);
    REQUIRE(CHECK(t != NULL));
    empty = rx_pool_footprint(pool);
    CHECK_EQ(empty, a.live_bytes);
    CHECK_EQ(a.live_blocks, 2); /* the pool and the header: no chunk */
    for (way = 0; way < 3; way++) {
        for (i = 0; i < N; i++) {
            build_key(k, (i * 7919) % N);
            REQUIRE(CHECK_EQ(rx_insert(t, k, 7, V(i + 1), &old), 1));
        }
        CHECK(rx_pool_footprint(pool) > empty + N * 8);
        rx_iter_init(&it, t);
        CHECK_EQ(rx_iter_seek(&it, RX_SEEK_GE, (const unsigned char *)"k:01", 4), RX_OK);
        CHECK_EQ(rx_iter_next(&it), 1);
        rx_iter_release(&it); /* its buffers stay with the tree, as spare */
        if (way == 0) {
            CHECK_EQ(rx_clear(t, NULL, NULL), N);
        } else if (way == 1) {
            for (i = 0; i < N; i++) {
                build_key(k, i);
                CHECK_EQ(rx_remove(t, k, 7, &old), 1);
            }
        } else {
            CHECK_EQ(rx_remove_prefix(t, (const unsigned char *)"k:", 2, NULL, NULL), N);
        }
        CHECK_EQ(rx_size(t), 0);
        CHECK_EQ(rx_pool_footprint(pool), empty);
        CHECK_EQ(a.live_bytes, empty);
    }
    /* a load next to it: builder and tree headers outside too */
    REQUIRE(CHECK_EQ(rx_pool_build_new(pool, &b), RX_OK));
    for (i = 0; i < N; i++) {
        build_key(k, i);
        REQUIRE(CHECK_EQ(rx_build_add(b, k, 7, shared_with_previous(i), V(i + 1)), RX_OK));
    }
    CHECK_EQ(rx_build_finish(b, &loaded), RX_OK);
    rx_tree_free(t, NULL, NULL); /* the store's old tree, replaced */
    CHECK_EQ(rx_size(loaded), N);
    CHECK(rx_check(loaded, NULL) == NULL);
    CHECK_EQ(rx_clear(loaded, NULL, NULL), N);
    CHECK_EQ(a.live_blocks, 2); /* the pool and the loaded tree's header */
    CHECK_EQ(rx_pool_footprint(pool), a.live_bytes);
    /* an aborted load gives everything back */
    REQUIRE(CHECK_EQ(rx_pool_build_new(pool, &b), RX_OK));
    for (i = 0; i < 100; i++) {
        build_key(k, i);
        REQUIRE(CHECK_EQ(rx_build_add(b, k, 7, shared_with_previous(i), V(i + 1)), RX_OK));
    }
    rx_build_abort(b, NULL, NULL);
    CHECK_EQ(a.live_blocks, 2);
    rx_tree_free(loaded, NULL, NULL);
    CHECK_EQ(rx_pool_footprint(pool), a.live_bytes);
    rx_pool_free(pool);
    CHECK_EQ(a.live_bytes, 0);
    CHECK_EQ(a.bad_sizes, 0);
    CHECK_EQ(a.bad_ptrs, 0);
}

/* Past four headers outside at once the next come from the chunks: the
 * trees still work, and freeing them all gives everything back.  Blocks
 * of other sizes (small and big) freed between them are told apart from
 * the headers. */
static void test_pool_many_trees(void)
{
    enum { T = 7 };
    t_alloc a;
    rx_allocator al;
    rx_pool *pool = new_pool(&a, &al);
    rx_tree *t[T];
    model m[T];
    t_rng rng;
    size_t i, w;
    REQUIRE(CHECK(pool != NULL));
    rng_seed(&rng, t_seed ^ 0x7ee5);
    for (w = 0; w < T; w++) {
        REQUIRE(CHECK((t[w] = rx_pool_tree_new(pool)) != NULL));
        m_init(&m[w]);
    }
    for (i = 0; i < t_scaled(20000); i++) {
        unsigned char k[600];
        size_t n = 1 + rng_below(&rng, rng_chance(&rng, 1, 40) ? 590 : 10), j;
        void *old;
        uintptr_t mold;
        w = rng_below(&rng, T);
        for (j = 0; j < n; j++)
            k[j] = (unsigned char)"ab:/0123"[rng_below(&rng, 8)];
        if (rng_chance(&rng, 1, 3))
            CHECK_EQ(rx_remove(t[w], k, n, &old), m_remove(&m[w], k, n, &mold));
        else
            CHECK_EQ(rx_insert(t[w], k, n, V(i + 1), &old), m_insert(&m[w], k, n, i + 1, &mold));
    }
    for (w = 0; w < T; w++) {
        CHECK_TREE(t[w], &m[w]);
        rx_tree_free(t[w], NULL, NULL);
        m_free(&m[w]);
        CHECK_EQ(rx_pool_footprint(pool), a.live_bytes);
    }
    CHECK_EQ(a.live_blocks, 1); /* the pool alone */
    rx_pool_free(pool);
    CHECK_EQ(a.live_bytes, 0);
    CHECK_EQ(a.bad_sizes, 0);
    CHECK_EQ(a.bad_ptrs, 0);
}

/* The backing allocator failing at each allocation in turn (until a run
 * where none failed): making a tree
 * or a builder, inserting, building and finishing either succeed or fail
 * with RX_ENOMEM, and nothing leaks or is left recorded as outside (the
 * pool's footprint stays what the backing allocator holds). */
static void test_pool_outside_oom(void)
{
    unsigned long fail_at, injected = 1;
    for (fail_at = 1; injected && !t_failures(); fail_at++) {
        t_alloc a;
        rx_allocator al;
        rx_pool *pool = new_pool(&a, &al);
        rx_builder *b = NULL;
        rx_tree *t, *loaded = NULL;
        unsigned char k[8];
        size_t i, added = 0;
        int rc = RX_OK;
        void *old;
        REQUIRE(CHECK(pool != NULL));
        a.attempts = 0;
        a.fail_at = fail_at;
        t = rx_pool_tree_new(pool);
        if (t != NULL) {
            for (i = 0; i < 200; i++) {
                build_key(k, (i * 37) % 200);
                rc = rx_insert(t, k, 7, V(i + 1), &old);
                if (rc < 0)
                    CHECK_EQ(rc, RX_ENOMEM);
            }
            rc = rx_pool_build_new(pool, &b);
            if (rc == RX_OK) {
                for (i = 0; i < 200 && rc == RX_OK; i++) {
                    build_key(k, i);
                    rc = rx_build_add(b, k, 7, added ? shared_with_previous(i) : 0, V(i + 1));
                    if (rc == RX_OK)
                        added++;
                }
                if (rc == RX_OK)
                    CHECK_EQ(rx_build_finish(b, &loaded), RX_OK);
                else
                    rx_build_abort(b, NULL, NULL);
            }
            if (rc != RX_OK)
                CHECK_EQ(rc, RX_ENOMEM);
        }
        injected = a.injected; /* 0: every allocation of the run succeeded */
        talloc_heal(&a);
        CHECK_EQ(rx_pool_footprint(pool), a.live_bytes);
        if (loaded) {
            CHECK_EQ(rx_size(loaded), 200);
            rx_tree_free(loaded, NULL, NULL);
        }
        if (t) {
            rx_clear(t, NULL, NULL);
            CHECK_EQ(a.live_blocks, 2); /* the pool and the header */
            rx_tree_free(t, NULL, NULL);
        }
        CHECK_EQ(a.live_blocks, 1);
        CHECK_EQ(rx_pool_footprint(pool), a.live_bytes);
        rx_pool_free(pool);
        CHECK_EQ(a.live_bytes, 0);
        CHECK_EQ(a.bad_sizes, 0);
        CHECK_EQ(a.bad_ptrs, 0);
    }
    t_note("failed each of %lu allocations in turn", fail_at - 2);
    CHECK(fail_at > 6); /* headers, chunks, the builder: each was failed */
}

#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif

#ifdef TEST_ASAN
#include <sanitizer/asan_interface.h>

/* Under AddressSanitizer the pool marks free blocks (past their link word)
 * and its unused bump region unaddressable, and blocks in use addressable:
 * the sanitizer builds catch overflows and uses after free inside chunks. */
static void test_pool_asan_poison(void)
{
    t_alloc a;
    rx_allocator al;
    rx_pool *pool = new_pool(&a, &al);
    unsigned char *b, *c, *d;
    REQUIRE(CHECK(pool != NULL));
    b = al.malloc_fn(al.ctx, 24);
    c = al.malloc_fn(al.ctx, 40);
    REQUIRE(CHECK(b != NULL && c != NULL));
    CHECK(!__asan_region_is_poisoned(b, 24));
    CHECK(!__asan_region_is_poisoned(c, 40));
    CHECK(__asan_address_is_poisoned(c + 40)); /* the bump region after it */
    al.free_fn(al.ctx, c, 40);
    CHECK(!__asan_address_is_poisoned(c));     /* the link word */
    CHECK(__asan_address_is_poisoned(c + 8));  /* the rest of the free block */
    CHECK(__asan_address_is_poisoned(c + 39));
    d = al.malloc_fn(al.ctx, 16); /* split from c: addressable again, the rest not */
    CHECK_PTR(d, c);
    CHECK(!__asan_region_is_poisoned(d, 16));
    CHECK(__asan_address_is_poisoned(c + 24));
    al.free_fn(al.ctx, d, 16);
    al.free_fn(al.ctx, b, 24);
    rx_pool_free(pool);
    CHECK_EQ(a.live_bytes, 0);
}
#endif

/* rx_pool_new fails cleanly when its backing allocator does. */
static void test_pool_new_fails(void)
{
    t_alloc a;
    rx_allocator backing;
    talloc_init(&a, &backing);
    a.fail_all = 1;
    CHECK(rx_pool_new(&backing) == NULL);
    CHECK_EQ(a.live_bytes, 0);
    rx_pool_free(NULL); /* a no-op */
}

void run_pool_tests(void)
{
    t_run("pool_blocks", test_pool_blocks);
    t_run("pool_split_reuse", test_pool_split_reuse);
    t_run("pool_trees", test_pool_trees);
    t_run("pool_new_fails", test_pool_new_fails);
    t_run("pool_tree_header_outside", test_pool_tree_header_outside);
    t_run("pool_many_trees", test_pool_many_trees);
    t_run("pool_outside_oom", test_pool_outside_oom);
#ifdef TEST_ASAN
    t_run("pool_asan_poison", test_pool_asan_poison);
#endif
}
