/*
 * pool.h -- a node allocator for radix trees: 8-byte size classes carved
 * from large chunks, behind the rx_allocator interface (radix.h).
 *
 * Why: a tree's blocks are small (a leaf is 20 bytes plus its key bytes)
 * and long-lived.  A general-purpose heap rounds them up to its own classes
 * (pymalloc: 16 bytes, so a 20-byte leaf takes 32) and mixes them with the
 * caller's short-lived objects, whose freed space the tree's blocks then
 * pin.  A pool of its own rounds to 8 bytes, keeps the tree's blocks
 * together, and reuses a freed block for a smaller request by splitting it
 * (a tree that grows a node frees the smaller one, whose class the build
 * may never ask for again).
 *
 * Blocks up to RX_POOL_SMALL_MAX bytes come from the pool; bigger ones go
 * straight to the backing allocator.  The pool keeps freed small blocks for
 * reuse; its chunks go back to the backing allocator when every small
 * block is free again (every tree using it emptied), or with the pool.
 * A tree's header lives as long as the tree, empty or not, so the trees
 * made by rx_pool_tree_new and rx_pool_build_new keep theirs outside the
 * chunks (from the backing allocator): emptying the tree (clear, removing
 * every key) then gives every chunk back.  Blocks are 8-byte aligned.
 * Not thread-safe: callers serialise access, as for the trees themselves.
 *
 *   rx_pool *pool = rx_pool_new(NULL);         // chunks from malloc
 *   rx_tree *t = rx_pool_tree_new(pool);
 *   ...
 *   rx_tree_free(t, NULL, NULL);
 *   rx_pool_free(pool);                         // after every tree on it
 */
#ifndef MEMSTORE_POOL_H
#define MEMSTORE_POOL_H

#include "radix.h"

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Blocks larger than this bypass the pool.  A tree's blocks are almost all
 * smaller (leaves 20 bytes plus their key bytes, N4 56, N16 168); keeping
 * the classes few keeps an empty pool small (its free list heads). */
#define RX_POOL_SMALL_MAX 256

typedef struct rx_pool rx_pool;

/* New empty pool drawing its chunks (and big blocks) from *backing (copied;
 * NULL: the C library's malloc/realloc/free).  NULL when out of memory. */
rx_pool *rx_pool_new(const rx_allocator *backing);

/* Frees the pool and its chunks.  Every block must have been freed (every
 * tree on the pool freed) first. */
void rx_pool_free(rx_pool *pool);

/* Fills *out with an allocator drawing from pool, for rx_tree_new.  Its
 * allocations fail (NULL) only when the backing allocator does. */
void rx_pool_allocator(rx_pool *pool, rx_allocator *out);

/* Bytes the pool holds from its backing allocator: chunks, big blocks,
 * tree headers and itself.  O(1). */
size_t rx_pool_footprint(const rx_pool *pool);

/* rx_tree_new on the pool, with the tree's header held outside the chunks
 * (up to four headers at once; past that they come from the chunks, which
 * then stay until the tree is freed).  NULL when out of memory. */
rx_tree *rx_pool_tree_new(rx_pool *pool);

/* rx_build_new on the pool, the headers of the builder and of its tree
 * held outside the chunks as by rx_pool_tree_new.  RX_OK or RX_ENOMEM. */
int rx_pool_build_new(rx_pool *pool, rx_builder **out);

#ifdef __cplusplus
}
#endif

#endif /* MEMSTORE_POOL_H */
