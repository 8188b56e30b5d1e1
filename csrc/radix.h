/*
 * radix.h -- the whole public contract of memstore's C core.
 *
 * An ordered map from byte strings to opaque `void *` values, kept in an
 * adaptive radix tree (Leis et al., ICDE 2013) with path compression and a
 * per-node count of the keys below it.  Portable C99, no Python.h.
 *
 * Ownership: the tree owns its nodes and the key bytes (each key is stored
 * once, spread over the path that spells it).  It never owns, frees or
 * inspects a value: a value that leaves the tree (overwrite, remove,
 * remove_prefix, clear, tree_free) is handed back to the caller, and only
 * once the tree is consistent again.  That is what lets a caller release a
 * value whose destructor re-enters the tree.
 *
 * Errors: functions that can allocate return a negative RX_E* code on
 * failure and leave the tree exactly as it was.  Nothing aborts.
 *
 * Threads: no internal locking.  Callers serialise access to one tree.
 */
#ifndef MEMSTORE_RADIX_H
#define MEMSTORE_RADIX_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes.  Success values are >= 0 and documented per function. */
#define RX_OK 0
#define RX_ENOMEM (-1)  /* an allocation failed; the tree is unchanged */
#define RX_ETOOBIG (-2) /* key longer than RX_MAX_KEY_LEN, or 2^32-1 keys */
#define RX_EORDER (-3)  /* rx_build_add: key out of order or `shared` wrong */

/* Keys are at most this many bytes (node prefixes store 32-bit lengths). */
#define RX_MAX_KEY_LEN ((size_t)UINT32_MAX)

/*
 * Every allocation the tree and its iterators make goes through one of
 * these, so a test can count or fail them and a binding can route them to
 * its own heap.  Sizes are passed back on realloc and free so a counting
 * allocator needs no header.  `ctx` is passed through untouched.
 */
typedef struct rx_allocator {
    void *(*malloc_fn)(void *ctx, size_t size);
    void *(*realloc_fn)(void *ctx, void *ptr, size_t old_size, size_t new_size);
    void (*free_fn)(void *ctx, void *ptr, size_t size);
    void *ctx;
} rx_allocator;

typedef struct rx_tree rx_tree;
typedef struct rx_node rx_node;

/* Called once per value that leaves the tree in bulk (remove_prefix, clear,
 * tree_free), after the tree is consistent again.  It may use the tree
 * (insert, remove, iterate); it must not free it. */
typedef void (*rx_release_fn)(void *value, void *ctx);

/* New empty tree.  alloc NULL means the C library's malloc/realloc/free;
 * otherwise *alloc is copied.  Returns NULL when out of memory. */
rx_tree *rx_tree_new(const rx_allocator *alloc);

/* Empties the tree (release called per value, may be NULL), then frees it. */
void rx_tree_free(rx_tree *tree, rx_release_fn release, void *ctx);

/* Number of keys stored. O(1). */
size_t rx_size(const rx_tree *tree);

/* Bytes currently allocated by the tree for its nodes and itself. O(1). */
size_t rx_memory(const rx_tree *tree);

/* Bytes of the buffers the tree keeps from the last iterator released, to
 * hand to the next one (iterator memory: not part of rx_memory). O(1). */
size_t rx_spare_memory(const rx_tree *tree);

/* Frees the buffers the tree keeps for its next iterator. O(1). */
void rx_trim(rx_tree *tree);

/* Bumped by every change (insert, overwrite, remove, remove_prefix, clear);
 * iterators compare it to know their position is stale. */
uint64_t rx_version(const rx_tree *tree);

/* 1 and *value set when key is present, else 0. O(len). */
int rx_find(const rx_tree *tree, const unsigned char *key, size_t len,
            void **value);

/* Looks up n keys at once (keys[i] of lens[i] bytes), overlapping their
 * memory latency; values[i] gets the value or `missing`.  Returns how many
 * were found. O(sum of lens). */
size_t rx_find_many(const rx_tree *tree, size_t n, const unsigned char *const *keys,
                    const size_t *lens, void **values, void *missing);

/* Stores value under key.  Returns 1 when the key is new, 0 when it
 * replaced a value (the previous one is put in *old, never released by the
 * tree), or RX_ENOMEM / RX_ETOOBIG with the tree unchanged.  Replacing the
 * value of a stored key allocates nothing and cannot fail. O(len). */
int rx_insert(rx_tree *tree, const unsigned char *key, size_t len,
              void *value, void **old);

/* Removes key.  Returns 1 and puts its value in *old, or 0 when absent.
 * Never fails: when shrinking a node cannot allocate, the node stays as it
 * is (still valid, just less compact). O(len). */
int rx_remove(rx_tree *tree, const unsigned char *key, size_t len,
              void **old);

/* Number of keys that start with prefix (all keys for len 0). O(len). */
size_t rx_count_prefix(const rx_tree *tree, const unsigned char *prefix,
                       size_t len);

/* Number of keys k with lo <= k < hi (with has_hi 0, hi is ignored and
 * every key >= lo counts).  O(len + the subtrees wholly inside the range,
 * fewer than the keys counted): the cost of the listing it sizes, at most. */
size_t rx_count_range(const rx_tree *tree, const unsigned char *lo, size_t lo_len,
                      const unsigned char *hi, size_t hi_len, int has_hi);

/* Longest stored key that is a prefix of key (key itself included).
 * Returns 1 with its length in *match_len and value in *value, else 0. */
int rx_longest_prefix(const rx_tree *tree, const unsigned char *key,
                      size_t len, size_t *match_len, void **value);

/* Removes every key that starts with prefix and returns how many.  The
 * subtree is detached first, so release (may be NULL) runs with the tree
 * already consistent.  Never fails. O(len + removed). */
size_t rx_remove_prefix(rx_tree *tree, const unsigned char *prefix,
                        size_t len, rx_release_fn release, void *ctx);

/* Removes every key; same release contract as rx_remove_prefix. */
size_t rx_clear(rx_tree *tree, rx_release_fn release, void *ctx);

/* Calls visit(value, ctx) for every value, in no set order, and stops at
 * the first non-zero result, which it returns (0 when all were visited).
 * Allocates nothing -- the tree keeps a stack as deep as itself for this
 * walk -- so a garbage collector's traversal can rely on it.  visit must not
 * change the tree. O(N). */
typedef int (*rx_visit_fn)(void *value, void *ctx);
int rx_visit_values(const rx_tree *tree, rx_visit_fn visit, void *ctx);

/* ------------------------------------------------------------------------
 * Iterators.
 *
 * An iterator lists the keys that start with its prefix (set with
 * rx_iter_set_prefix, empty by default) in byte order, forward or backward,
 * from the position a seek gave it.  It never holds a node across a change
 * of the tree: every step compares the tree's version with the one it saw
 * last and, when they differ, seeks again from the last key it returned.
 * So an iterator left open while the tree changes carries on after its
 * last key and sees the tree as it is now.
 *
 *   rx_iter it;
 *   rx_iter_init(&it, tree);
 *   rx_iter_set_prefix(&it, (const unsigned char *)"user:", 5);
 *   rx_iter_seek(&it, RX_SEEK_FIRST, NULL, 0);
 *   while ((rc = rx_iter_next(&it)) == 1) use(it.key, it.key_len, it.value);
 *   if (rc < 0) handle RX_ENOMEM;
 *   rx_iter_release(&it);
 * ---------------------------------------------------------------------- */

typedef enum rx_seek_op {
    RX_SEEK_FIRST, /* forward from the first key with the prefix */
    RX_SEEK_LAST,  /* backward from the last key with the prefix */
    RX_SEEK_GE,    /* forward from the first key >= target */
    RX_SEEK_GT,    /* forward from the first key >  target */
    RX_SEEK_LE,    /* backward from the last key <= target */
    RX_SEEK_LT     /* backward from the last key <  target */
} rx_seek_op;

struct rx_iter_frame; /* private */

typedef struct rx_iter {
    /* Read-only for callers; valid after rx_iter_next returned 1 and until
     * the next call on this iterator.  key is not NUL-terminated. */
    const unsigned char *key;
    size_t key_len;
    void *value;

    /* Private. */
    rx_tree *tree;
    uint64_t version;            /* tree version the stack is valid for */
    struct rx_iter_frame *stack; /* path from the root to the position */
    size_t depth, stack_cap;
    size_t base; /* frames above the prefix's subtree: the walk ends there */
    unsigned char *buf; /* key spelled by the path */
    size_t buf_cap;
    unsigned char *prefix; /* only keys starting with this are listed */
    size_t prefix_len, prefix_cap;
    unsigned char *staged; /* prefix for the next seek (rx_iter_set_prefix) */
    size_t staged_len, staged_cap;
    int prefix_staged;
    unsigned char *resume; /* target to seek again after a change */
    size_t resume_len, resume_cap;
    unsigned char *bound; /* end bound (rx_iter_set_end) */
    size_t bound_len, bound_cap;
    size_t bound_match; /* bytes the key returned last shares with bound */
    size_t written;     /* buffer bytes below this unchanged since that key */
    int has_bound;
    int bound_inclusive;
    unsigned char *delim; /* rx_iter_set_delimiter; delim_len 0: none */
    size_t delim_len, delim_cap;
    size_t delim_from; /* the delimiter is looked for from this key byte on */
    size_t group_len;  /* the path enters this group: its first key found is
                        * returned as the group (0: none) */
    int entry_group;   /* the entry returned last is a group */
    int resume_op;  /* rx_seek_op used for the re-seek */
    int backward;   /* direction given by the last seek */
    int emitted;    /* a key was returned since the last seek */
    int seeked;     /* rx_iter_seek was called: the direction is known */
    int exhausted;  /* no more keys in this direction */
    int skipping;   /* a skip since the last key: no sibling prefetch */
} rx_iter;

/* Prepares an iterator over tree, positioned nowhere (next returns 0 until
 * a seek).  Allocates nothing: it takes over the buffers the tree kept from
 * the last iterator released, so every iterator initialised must be
 * released. */
void rx_iter_init(rx_iter *it, rx_tree *tree);

/* Restricts the iterator to keys starting with prefix (copied).  Takes
 * effect at the next seek.  RX_OK or RX_ENOMEM. */
int rx_iter_set_prefix(rx_iter *it, const unsigned char *prefix, size_t len);

/* Positions the iterator; the direction of later steps follows op.  A
 * target outside the prefix's range is clamped to it (GE below the range
 * means FIRST, LE above it means LAST).  key is ignored for FIRST/LAST.
 * RX_OK or RX_ENOMEM (then the iterator is exhausted). */
int rx_iter_seek(rx_iter *it, rx_seek_op op, const unsigned char *key,
                 size_t len);

/* Right after a seek: the number of keys with the iterator's prefix (every
 * key when it has none), so after RX_SEEK_FIRST or RX_SEEK_LAST how many
 * keys the listing returns if the tree does not change; 0 when no key has
 * the prefix.  Spares a separate rx_count_prefix walk.  O(1). */
size_t rx_iter_prefix_count(const rx_iter *it);

/* Moves the iterator past every key that starts with group (len bytes,
 * copied first, so group may point into it->key; the empty group holds
 * every key): forward, the next key returned is the first key with the
 * iterator's prefix that sorts after every key starting with group;
 * backward, the last one that sorts before group.  So
 * it is a seek -- forward it is RX_SEEK_GE to the smallest string above
 * every extension of group, with no such string to compute; backward it is
 * RX_SEEK_LT group -- in the direction of the last rx_iter_seek and with
 * its prefix (one staged since is not applied).  Before any seek it does
 * nothing.  For a directory-style listing: call it right after rx_iter_next
 * returned a key that starts with group; then it only pops the iterator's
 * path (O(depth), no descent, no allocation once the iterator's resume
 * buffer holds len bytes).  Otherwise it descends as a seek does (O(len)).
 * RX_OK, or RX_ENOMEM (then the iterator is exhausted). */
int rx_iter_skip_prefix(rx_iter *it, const unsigned char *group, size_t len);

/* Ends the listing at key (len bytes, copied): forward, rx_iter_next
 * returns 0 instead of a key above it; backward, instead of a key below
 * it; and key itself is returned only when inclusive is non-zero.  So a
 * range [start, stop) is RX_SEEK_GE start with the bound stop, exclusive,
 * and reversed RX_SEEK_LT stop with the bound start, inclusive.  Takes
 * effect at the next step, applies in whichever direction the seeks give,
 * and stays until replaced by another call or the iterator is released
 * (rx_iter_init starts without one).  Once a step has met the bound the
 * iterator is exhausted until the next seek.  Checking it costs a comparison only
 * on the steps that rewrite the key at or above the byte where it leaves
 * the bound, usually a few per listing.  RX_OK or RX_ENOMEM (then the
 * iterator is unchanged). */
int rx_iter_set_end(rx_iter *it, const unsigned char *key, size_t len, int inclusive);

/* Lists like a directory (Amazon S3's ListObjects): a key that holds
 * delim (len bytes, copied) starting at or after its byte `from` (the
 * length of the caller's prefix) is rolled up into its group, the key's
 * bytes up to the end of the first such occurrence, and rx_iter_next
 * returns each group once, with RX_GROUP: key is the group, value NULL.  A
 * group comes where its first key in the listing's direction (from the
 * seek, within the end bound) would come, and the listing goes on past its
 * last key.  The step that enters a group returns it without descending
 * into it, so a group costs what a key does, whatever it holds (a group
 * met by a seek, or the one the end bound cuts, costs a descent to its
 * first key in range).  len 0 removes the delimiter.  Takes effect at the
 * next step, which goes on after the last entry returned (as after a
 * change of the tree).  RX_OK or RX_ENOMEM (then the iterator is
 * unchanged). */
int rx_iter_set_delimiter(rx_iter *it, const unsigned char *delim, size_t len, size_t from);

/* rx_iter_next's result for a group (rx_iter_set_delimiter). */
#define RX_GROUP 2

/* Steps to the next key in the seek's direction.  Returns 1 with key,
 * key_len and value set, RX_GROUP for a group (see rx_iter_set_delimiter),
 * 0 when there is none, or RX_ENOMEM. */
int rx_iter_next(rx_iter *it);

/* Frees the iterator's buffers, or leaves them with the tree for the next
 * iterator (when the tree keeps none yet and they are small next to it:
 * see rx_spare_memory); it may be initialised again afterwards. */
void rx_iter_release(rx_iter *it);

/* ------------------------------------------------------------------------
 * Bulk building from sorted keys (loading a snapshot).
 *
 * The builder makes the tree bottom-up from keys given in strictly
 * increasing order, each with the length of its common prefix with the key
 * before (what the snapshot reader reports), in one pass and without a
 * descent from the root per key.  The tree it hands over is the one
 * rx_insert would make from the same keys (same nodes, types, prefixes and
 * counts), with its nodes allocated in key order.  rx_memory matches too,
 * save one case: a tree with fewer nodes than its longest key has bytes,
 * where the size of rx_visit_values' stack depends on the insert order.
 * Memory during a build: the tree so far plus O(longest key).
 *
 *   rx_builder *b;
 *   if (rx_build_new(&b, NULL) != RX_OK) fail;
 *   while (next record) if ((rc = rx_build_add(b, key, len, shared, v)) < 0) ...;
 *   rx_build_finish(b, &tree);   (or rx_build_abort(b, release, ctx))
 * ---------------------------------------------------------------------- */

typedef struct rx_builder rx_builder;

/* A builder for a tree on the allocator alloc (as rx_tree_new: NULL means
 * the C library's).  RX_OK with *out set, or RX_ENOMEM. */
int rx_build_new(rx_builder **out, const rx_allocator *alloc);

/* Adds key -> value (any value, NULL included).  key must sort strictly
 * after the previous key, and shared must be the length of the longest
 * common prefix of key and the previous key (0 for the first key); both
 * are verified (O(len)).  Returns RX_OK; RX_EORDER when either is violated;
 * RX_ETOOBIG for a key longer than RX_MAX_KEY_LEN or when 2^32-1 keys were
 * added (rx_insert's limit); or RX_ENOMEM.  On every error nothing is added
 * and the builder stays usable (a failed add can be retried as it was). */
int rx_build_add(rx_builder *b, const unsigned char *key, size_t len, size_t shared,
                 void *value);

/* Closes every open node, hands over the tree in *out (it holds the values
 * as if rx_insert had stored them; its rx_version is the number of keys)
 * and frees the builder.  Allocates nothing and cannot fail: every node is
 * allocated by the add that opened it, so finishing only links them.
 * Always RX_OK; a build with no key gives an empty tree. */
int rx_build_finish(rx_builder *b, rx_tree **out);

/* Frees the builder and everything built so far, calling release(value,
 * ctx) once per value added (release may be NULL). */
void rx_build_abort(rx_builder *b, rx_release_fn release, void *ctx);

/* ------------------------------------------------------------------------
 * Checking (for tests and fuzzing): O(N), allocates a walk stack.
 * ---------------------------------------------------------------------- */

typedef struct rx_check_stats {
    size_t nodes_of_type[5]; /* leaf, 4, 16, 48 and 256-way nodes */
    size_t node_bytes;       /* bytes of all nodes */
    size_t visit_bytes;      /* bytes of rx_visit_values' stack (in rx_memory) */
    size_t height;           /* nodes on the longest root-to-leaf path */
    int compact; /* every node of the smallest type for its children and no
                  * value-less node with one child: what inserts alone make */
} rx_check_stats;

/* Verifies the tree's structural invariants: counts (each node's is its
 * value plus its children's), node kinds and child areas, rx_memory and
 * the node total, the walk stack covering the height, the longest key.
 * Returns NULL when they hold, else a description of the first violation
 * (a static string).  stats (may be NULL) is filled as far as the walk got. */
const char *rx_check(const rx_tree *tree, rx_check_stats *stats);

#ifdef __cplusplus
}
#endif

#endif /* MEMSTORE_RADIX_H */
