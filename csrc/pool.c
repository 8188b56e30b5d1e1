/*
 * pool.c -- size classes over chunks for radix tree nodes (see pool.h).
 *
 * Layout: chunks come from the backing allocator, each a 16-byte header
 * (link to the next chunk, its size) then blocks carved in order by one
 * bump pointer shared by every class.  A small request of s bytes takes
 * ceil(s / 8) grains; class c holds free blocks of c grains, linked through
 * their first 8 bytes:
 *
 *   chunk: [next|size][blk c=3][blk c=7][blk c=3][ ...... bump -> end ]
 *   free_list[3] -> blk -> blk -> NULL      nonempty bitmap: bit 3 set
 *
 * Allocation takes, in this order, a free block of its class, a larger
 * free block split in two (the rest goes on its own class's list), or the
 * bump region; a new chunk only when the bump region is too short, and the
 * old region's tail goes on a free list.  A new chunk is about a sixteenth
 * of what the pool holds (a power of two from CHUNK_FIRST to CHUNK_MAX):
 * a pool for a small tree stays small (a tree of 100 keys takes a few
 * hundred bytes more than its blocks, not the rest of a 4 KiB chunk), a
 * big tree needs few chunks, and the unused end of the newest chunk is at
 * most an eighth of the pool.
 * Free blocks are never merged: the tree's sizes are few, and splitting
 * is what reuses the blocks a node frees when it grows.  The sizes handed
 * back on free and realloc (rx_allocator passes them) give each block's
 * class, so blocks carry no header.
 */
#include "pool.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Under AddressSanitizer the pool marks what no caller owns -- free blocks
 * past their link word, the bump region -- as unaddressable, so the tests' sanitizer builds still
 * catch an overflow or a use after free inside a chunk (to the 8-byte
 * grain, and past a free block's link word). */
#if defined(__SANITIZE_ADDRESS__)
#define RX_POOL_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RX_POOL_ASAN 1
#endif
#endif
#ifdef RX_POOL_ASAN
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define GRAIN 8u
#define NCLASS (RX_POOL_SMALL_MAX / GRAIN + 1) /* class 0 unused */
#define BITMAP_WORDS ((NCLASS + 63) / 64)
#define CHUNK_HEADER 16u
#define CHUNK_FIRST 256u
#define CHUNK_MAX (256u * 1024u)
#define CHUNK_SHARE 16u
/* A chunk of CHUNK_SLACK_FROM bytes or more asks for CHUNK_SLACK less than
 * its power of two: a C library serves big requests with whole pages plus
 * its own header, so a request of exactly 256 KiB would take a 65th page
 * for 16 bytes.  (Python's small-object allocator, which serves chunks of
 * up to 512 bytes through PyMem_Malloc, has no header.) */
#define CHUNK_SLACK 64u
#define CHUNK_SLACK_FROM 1024u
/* Tree headers held outside the chunks at once: a store's tree, plus the
 * tree and builder of a load in progress. */
#define OUTSIDE_MAX 4u

struct chunk {
    struct chunk *next;
    size_t size;
};

struct rx_pool {
    rx_allocator backing;
    void *free_list[NCLASS];
    uint64_t nonempty[BITMAP_WORDS]; /* bit c: free_list[c] is not empty */
    char *bump, *end;                /* unused tail of the newest chunk */
    struct chunk *chunks;
    size_t footprint;    /* bytes held from the backing allocator */
    size_t small_live;   /* small blocks handed out and not freed */
    /* Blocks served from the backing allocator while `outside_mode` is
     * set (see rx_pool_tree_new): they keep no chunk alive. */
    void *outside[OUTSIDE_MAX];
    unsigned n_outside;
    int outside_mode;
};

static void *default_malloc(void *ctx, size_t size)
{
    (void)ctx;
    return malloc(size);
}

static void *default_realloc(void *ctx, void *ptr, size_t old_size, size_t new_size)
{
    (void)ctx;
    (void)old_size;
    return realloc(ptr, new_size);
}

static void default_free(void *ctx, void *ptr, size_t size)
{
    (void)ctx;
    (void)size;
    free(ptr);
}

static size_t grains(size_t size)
{
    return size ? (size + GRAIN - 1) / GRAIN : 1;
}

static void push_free(rx_pool *p, void *block, size_t c)
{
    UNPOISON(block, sizeof(void *)); /* the link word */
    POISON((char *)block + sizeof(void *), c * GRAIN - sizeof(void *));
    memcpy(block, &p->free_list[c], sizeof(void *));
    p->free_list[c] = block;
    p->nonempty[c / 64] |= (uint64_t)1 << (c % 64);
}

static void *pop_free(rx_pool *p, size_t c)
{
    void *block = p->free_list[c];
    memcpy(&p->free_list[c], block, sizeof(void *));
    if (p->free_list[c] == NULL)
        p->nonempty[c / 64] &= ~((uint64_t)1 << (c % 64));
    return block;
}

/* Smallest class above c with a free block, or 0. */
static size_t larger_free_class(const rx_pool *p, size_t c)
{
    size_t w = (c + 1) / 64;
    uint64_t bits = p->nonempty[w] & (~(uint64_t)0 << ((c + 1) % 64));
    for (;;) {
        if (bits) {
            size_t i = 0;
            while (!(bits & 1)) { /* at most 63 shifts; runs only on a miss */
                bits >>= 1;
                i++;
            }
            return w * 64 + i;
        }
        if (++w == BITMAP_WORDS)
            return 0;
        bits = p->nonempty[w];
    }
}

/* Gives every chunk back (no small block is in use any more). */
static void release_chunks(rx_pool *p)
{
    while (p->chunks) {
        struct chunk *c = p->chunks;
        UNPOISON(c, c->size);
        p->chunks = c->next;
        p->footprint -= c->size;
        p->backing.free_fn(p->backing.ctx, c, c->size);
    }
    memset(p->free_list, 0, sizeof p->free_list);
    memset(p->nonempty, 0, sizeof p->nonempty);
    p->bump = p->end = NULL;
}

/* Bytes of the next chunk (see the top of this file), which must have room
 * for a block of `need` bytes. */
static size_t next_chunk_size(const rx_pool *p, size_t need)
{
    size_t size = CHUNK_FIRST;
    while (size < CHUNK_MAX && size < p->footprint / CHUNK_SHARE)
        size *= 2;
    while (size < CHUNK_HEADER + need + (size >= CHUNK_SLACK_FROM ? CHUNK_SLACK : 0))
        size *= 2;
    return size >= CHUNK_SLACK_FROM ? size - CHUNK_SLACK : size;
}

static void *small_malloc(rx_pool *p, size_t c)
{
    size_t bytes = c * GRAIN, d;
    char *block;
    if (p->free_list[c] != NULL) {
        block = pop_free(p, c);
    } else if ((d = larger_free_class(p, c)) != 0) {
        block = pop_free(p, d);
        push_free(p, block + bytes, d - c);
    } else {
        if ((size_t)(p->end - p->bump) < bytes) {
            size_t size = next_chunk_size(p, bytes);
            struct chunk *chunk = p->backing.malloc_fn(p->backing.ctx, size);
            if (chunk == NULL)
                return NULL;
            if (p->end - p->bump >= (long)GRAIN) /* keep the old tail */
                push_free(p, p->bump, (size_t)(p->end - p->bump) / GRAIN);
            chunk->next = p->chunks;
            chunk->size = size;
            p->chunks = chunk;
            p->footprint += size;
            p->bump = (char *)chunk + CHUNK_HEADER;
            p->end = (char *)chunk + size;
            POISON(p->bump, (size_t)(p->end - p->bump));
        }
        block = p->bump;
        p->bump += bytes;
    }
    p->small_live++;
    UNPOISON(block, bytes);
    return block;
}

static void small_free(rx_pool *p, void *block, size_t c)
{
    push_free(p, block, c);
    if (--p->small_live == 0)
        release_chunks(p);
}

/* Index of ptr among the outside blocks, or -1. */
static int outside_index(const rx_pool *p, const void *ptr)
{
    unsigned i;
    for (i = 0; i < p->n_outside; i++)
        if (p->outside[i] == ptr)
            return (int)i;
    return -1;
}

static void *pool_malloc(void *ctx, size_t size)
{
    rx_pool *p = ctx;
    void *block;
    int outside = p->outside_mode && p->n_outside < OUTSIDE_MAX;
    if (size <= RX_POOL_SMALL_MAX && !outside)
        return small_malloc(p, grains(size));
    block = p->backing.malloc_fn(p->backing.ctx, size);
    if (block) {
        p->footprint += size;
        if (outside && size <= RX_POOL_SMALL_MAX)
            p->outside[p->n_outside++] = block;
    }
    return block;
}

/* Whether a block of this size came from the chunks (else from backing). */
static int in_chunks(const rx_pool *p, const void *ptr, size_t size)
{
    return size <= RX_POOL_SMALL_MAX && (p->n_outside == 0 || outside_index(p, ptr) < 0);
}

static void pool_free(void *ctx, void *ptr, size_t size)
{
    rx_pool *p = ctx;
    int i;
    if (in_chunks(p, ptr, size)) {
        small_free(p, ptr, grains(size));
        return;
    }
    if (size <= RX_POOL_SMALL_MAX && (i = outside_index(p, ptr)) >= 0)
        p->outside[i] = p->outside[--p->n_outside];
    p->footprint -= size;
    p->backing.free_fn(p->backing.ctx, ptr, size);
}

static void *pool_realloc(void *ctx, void *ptr, size_t old_size, size_t new_size)
{
    rx_pool *p = ctx;
    void *block;
    int i;
    if (old_size <= RX_POOL_SMALL_MAX && (i = outside_index(p, ptr)) >= 0) {
        /* an outside block stays outside, whatever its new size */
        block = p->backing.realloc_fn(p->backing.ctx, ptr, old_size, new_size);
        if (block == NULL)
            return NULL;
        p->footprint = p->footprint - old_size + new_size;
        if (new_size <= RX_POOL_SMALL_MAX)
            p->outside[i] = block;
        else
            p->outside[i] = p->outside[--p->n_outside];
        return block;
    }
    if (old_size > RX_POOL_SMALL_MAX && new_size > RX_POOL_SMALL_MAX) {
        block = p->backing.realloc_fn(p->backing.ctx, ptr, old_size, new_size);
        if (block)
            p->footprint = p->footprint - old_size + new_size;
        return block;
    }
    if (old_size <= RX_POOL_SMALL_MAX && new_size <= RX_POOL_SMALL_MAX &&
        grains(old_size) == grains(new_size)) {
        return ptr; /* the block already has room */
    }
    block = pool_malloc(p, new_size);
    if (block == NULL)
        return NULL; /* ptr is untouched, as realloc leaves it */
    memcpy(block, ptr, old_size < new_size ? old_size : new_size);
    pool_free(p, ptr, old_size);
    return block;
}

rx_pool *rx_pool_new(const rx_allocator *backing)
{
    static const rx_allocator libc = {default_malloc, default_realloc, default_free, NULL};
    rx_pool *p;
    if (backing == NULL)
        backing = &libc;
    p = backing->malloc_fn(backing->ctx, sizeof *p);
    if (p == NULL)
        return NULL;
    memset(p, 0, sizeof *p);
    p->backing = *backing;
    p->footprint = sizeof *p;
    return p;
}

void rx_pool_free(rx_pool *pool)
{
    rx_allocator backing;
    if (pool == NULL)
        return;
    release_chunks(pool);
    backing = pool->backing;
    backing.free_fn(backing.ctx, pool, sizeof *pool);
}

void rx_pool_allocator(rx_pool *pool, rx_allocator *out)
{
    out->malloc_fn = pool_malloc;
    out->realloc_fn = pool_realloc;
    out->free_fn = pool_free;
    out->ctx = pool;
}

size_t rx_pool_footprint(const rx_pool *pool)
{
    return pool->footprint;
}

rx_tree *rx_pool_tree_new(rx_pool *pool)
{
    rx_allocator alloc;
    rx_tree *tree;
    rx_pool_allocator(pool, &alloc);
    pool->outside_mode = 1; /* rx_tree_new allocates the header only */
    tree = rx_tree_new(&alloc);
    pool->outside_mode = 0;
    return tree;
}

int rx_pool_build_new(rx_pool *pool, rx_builder **out)
{
    rx_allocator alloc;
    int rc;
    rx_pool_allocator(pool, &alloc);
    pool->outside_mode = 1; /* the tree's header and the builder's */
    rc = rx_build_new(out, &alloc);
    pool->outside_mode = 0;
    return rc;
}
