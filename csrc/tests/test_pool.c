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
#ifdef TEST_ASAN
    t_run("pool_asan_poison", test_pool_asan_poison);
#endif
}
