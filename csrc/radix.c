/*
 * radix.c -- adaptive radix tree with path compression and subtree counts.
 *
 * Every node spells a run of key bytes (its compressed "prefix"), may hold a
 * value (the key that ends exactly there), and branches on one byte per
 * child.  Storing "romane", "romanus", "rom" and "rubens":
 *
 *                     [r] count=4
 *                    /   \
 *               'o' /     \ 'u'
 *                  /       \
 *        [m] =v(rom)       [bens] =v(rubens)
 *            count=3        count=1
 *              | 'a'
 *           [n] count=2
 *           /   \
 *      'e' /     \ 'u'
 *         /       \
 *   [] =v(romane)  [s] =v(romanus)
 *
 * A key is the concatenation of prefixes and branch bytes on its path, so
 * each key's bytes are stored once.  A key that is a prefix of another
 * ("rom" of "romane") is a value on an inner node, which is also why a node
 * lists its own value before its children: byte order puts the shorter key
 * first.  `count` is the number of values at or below a node, which makes
 * count-by-prefix cost O(len(prefix)).
 *
 * Node layout: one malloc block per node, the header then a type-specific
 * child area then the prefix bytes.  The node grows and shrinks between
 * five types as its fan-out changes (ART's 4/16/48/256, plus a childless
 * leaf so the most common node pays for no child area at all):
 *
 *   header (20 bytes): value | count | prefix_len | type | has_value | nchild
 *   LEAF : header | prefix                                   20 + p bytes
 *   N4   : header | keys[4]  | child[4]   | prefix           56 + p
 *   N16  : header | keys[16] | pad | child[16] | prefix     168 + p
 *   N48  : header | index[256] | pad | child[48] | prefix   664 + p
 *   N256 : header | pad | child[256] | prefix              2072 + p
 *
 * N4/N16 keep keys sorted (children in key order); N48 maps a byte to
 * 1 + the slot of its child (0 = none) and keeps children packed in
 * slots [0, nchild); N256 indexes children by byte.
 *
 * Invariants: a node without a value has at least one child (count > 0);
 * a node without a value and with one child is merged into that child
 * unless the merge could not allocate (harmless: every walk handles it).
 *
 * Walks are loops, never recursion: the depth of a tree is bounded only by
 * the longest key.  Changes that allocate do all their allocation before
 * touching the tree, so a failure leaves it exactly as it was; removals
 * never fail, they just skip a shrink or merge that cannot allocate.
 */
#include "radix.h"

#include <stdlib.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#if defined(__GNUC__) || defined(__clang__)
#define rx_ctz(x) ((unsigned)__builtin_ctz(x))
#else
static unsigned rx_ctz(unsigned x)
{
    unsigned i = 0;
    while (!(x & 1u)) {
        x >>= 1;
        i++;
    }
    return i;
}
#endif
#endif

enum { NODE_LEAF, NODE_4, NODE_16, NODE_48, NODE_256 };

struct rx_node {
    void *value;           /* meaningful when has_value; link while freeing */
    uint32_t count;        /* values at or below this node */
    uint32_t prefix_len;   /* bytes of compressed path spelled by the node */
    uint8_t type;          /* NODE_* */
    uint8_t has_value;
    uint16_t num_children;
    unsigned char tail[];  /* child area then prefix, see layout above */
};

/* C99 has no static_assert: a negative array size fails the build. */
typedef char rx_check_header_size[offsetof(struct rx_node, tail) == 20 ? 1 : -1];

#define HEADER_SIZE 20u
static const uint32_t CHILD_OFFSET[] = {0, 24, 40, 280, 24};
static const uint32_t PREFIX_OFFSET[] = {20, 56, 168, 664, 2072};
static const uint16_t CAPACITY[] = {0, 4, 16, 48, 256};
/* Shrink a node once it holds this few children (hysteresis against
 * grow/shrink flapping around one size). */
static const uint16_t SHRINK_AT[] = {0, 0, 3, 12, 36};

/* Frame of rx_visit_values' walk; the tree keeps enough of them for its
 * depth so that walk never allocates (a garbage collector calls it). */
struct visit_frame {
    rx_node *node;
    int slot;
};

struct rx_iter_buffers {
    struct rx_iter_frame *stack;
    size_t stack_cap;
    unsigned char *buf, *prefix, *staged, *resume, *bound, *delim;
    size_t buf_cap, prefix_cap, staged_cap, resume_cap, bound_cap, delim_cap;
};

struct rx_tree {
    rx_node *root;
    size_t memory;
    uint64_t version;
    size_t nodes;   /* nodes allocated, detached ones included until freed */
    size_t longest; /* longest key inserted since the tree was last empty */
    struct visit_frame *visit_stack;
    size_t visit_cap;
    /* The buffers of the last iterator released, handed to the next one
     * initialised: a short listing then allocates nothing (four buffers
     * per listing were a third of its fixed cost).  Empty when stack,
     * buf, prefix, staged and resume are all NULL. */
    struct rx_iter_buffers spare;
    /* buffers_size(&spare), kept so that a removal checks the bound on
     * them (spare_within_bound) with one compare. */
    size_t spare_size;
    rx_allocator alloc;
};

/* ---- allocation: everything goes through the tree's allocator ---------- */

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

static const rx_allocator DEFAULT_ALLOCATOR = {default_malloc, default_realloc, default_free, NULL};

static size_t node_size(const rx_node *n)
{
    return PREFIX_OFFSET[n->type] + (size_t)n->prefix_len;
}

static rx_node *node_new(rx_tree *t, int type, size_t prefix_len)
{
    size_t size = PREFIX_OFFSET[type] + prefix_len;
    rx_node *n = t->alloc.malloc_fn(t->alloc.ctx, size);
    if (n == NULL)
        return NULL;
    t->memory += size;
    t->nodes++;
    memset(n, 0, PREFIX_OFFSET[type]);
    n->type = (uint8_t)type;
    n->prefix_len = (uint32_t)prefix_len;
    return n;
}

static void node_free(rx_tree *t, rx_node *n)
{
    size_t size = node_size(n);
    t->memory -= size;
    t->nodes--;
    t->alloc.free_fn(t->alloc.ctx, n, size);
}

/* ---- node accessors ------------------------------------------------------ */

static unsigned char *node_prefix(rx_node *n)
{
    return (unsigned char *)n + PREFIX_OFFSET[n->type];
}

static rx_node **node_children(rx_node *n)
{
    return (rx_node **)(void *)((unsigned char *)n + CHILD_OFFSET[n->type]);
}

/* Length of the common run of a and b, at most n bytes. */
static size_t common_length(const unsigned char *a, const unsigned char *b, size_t n)
{
    size_t i = 0;
    /* eight bytes at a time: prefixes of tens of bytes are common (ids) */
    while (n - i >= 8) {
        uint64_t x, y;
        memcpy(&x, a + i, 8);
        memcpy(&y, b + i, 8);
        if (x != y)
            break;
        i += 8;
    }
    while (i < n && a[i] == b[i])
        i++;
    return i;
}

/* memcmp that accepts NULL for empty ranges (an empty key may be NULL). */
static int compare_bytes(const unsigned char *a, const unsigned char *b, size_t n)
{
    return n ? memcmp(a, b, n) : 0;
}

/* Callers may pass NULL for an empty key; walks index it as bytes. */
static const unsigned char NO_BYTES[1] = {0};
#define NONNULL(key) ((key) ? (key) : NO_BYTES)

/* Slot holding the child for byte b, or NULL. */
static rx_node **child_ref(rx_node *n, unsigned char b)
{
    rx_node **children = node_children(n);
    switch (n->type) {
    case NODE_4: {
        const unsigned char *keys = n->tail;
        unsigned i;
        for (i = 0; i < n->num_children; i++) {
            if (keys[i] == b)
                return &children[i];
        }
        return NULL;
    }
    case NODE_16: {
#ifdef __SSE2__
        /* compare all sixteen keys at once; the mask drops unused slots */
        __m128i hits = _mm_cmpeq_epi8(_mm_set1_epi8((char)b),
                                      _mm_loadu_si128((const __m128i *)(const void *)n->tail));
        unsigned mask = (unsigned)_mm_movemask_epi8(hits) & ((1u << n->num_children) - 1u);
        return mask ? &children[rx_ctz(mask)] : NULL;
#else
        const unsigned char *keys = n->tail;
        unsigned i;
        for (i = 0; i < n->num_children; i++) {
            if (keys[i] == b)
                return &children[i];
        }
        return NULL;
#endif
    }
    case NODE_48: {
        unsigned slot = n->tail[b];
        return slot ? &children[slot - 1] : NULL;
    }
    case NODE_256:
        return children[b] ? &children[b] : NULL;
    default:
        return NULL;
    }
}

/* Number of children whose byte is below b; for N48/N256, b itself (those
 * types address slots by byte).  Iterator positions are slots, and this is
 * the slot where b is or would be. */
static int slot_lower_bound(const rx_node *n, unsigned char b)
{
    if (n->type == NODE_4 || n->type == NODE_16) {
        int i = 0;
        while (i < n->num_children && n->tail[i] < b)
            i++;
        return i;
    }
    return b;
}

/* Smallest occupied slot after `after` (-1: from the start), or -1. */
static int next_slot(rx_node *n, int after, rx_node **child, unsigned char *byte)
{
    rx_node **children = node_children(n);
    int s;
    switch (n->type) {
    case NODE_4:
    case NODE_16:
        s = after + 1;
        if (s < n->num_children) {
            *child = children[s];
            *byte = n->tail[s];
            return s;
        }
        return -1;
    case NODE_48:
        for (s = after + 1; s < 256; s++) {
            if (n->tail[s]) {
                *child = children[n->tail[s] - 1];
                *byte = (unsigned char)s;
                return s;
            }
        }
        return -1;
    case NODE_256:
        for (s = after + 1; s < 256; s++) {
            if (children[s]) {
                *child = children[s];
                *byte = (unsigned char)s;
                return s;
            }
        }
        return -1;
    default:
        return -1;
    }
}

/* Largest occupied slot before `before` (256: from the end), or -1. */
static int prev_slot(rx_node *n, int before, rx_node **child, unsigned char *byte)
{
    rx_node **children = node_children(n);
    int s;
    switch (n->type) {
    case NODE_4:
    case NODE_16:
        s = (before < n->num_children ? before : n->num_children) - 1;
        if (s >= 0) {
            *child = children[s];
            *byte = n->tail[s];
        }
        return s;
    case NODE_48:
        for (s = before - 1; s >= 0; s--) {
            if (n->tail[s]) {
                *child = children[n->tail[s] - 1];
                *byte = (unsigned char)s;
                return s;
            }
        }
        return -1;
    case NODE_256:
        for (s = before - 1; s >= 0; s--) {
            if (children[s]) {
                *child = children[s];
                *byte = (unsigned char)s;
                return s;
            }
        }
        return -1;
    default:
        return -1;
    }
}

/* Adds a child for byte b (absent) to a node with room for it. */
static void add_child(rx_node *n, unsigned char b, rx_node *child)
{
    rx_node **children = node_children(n);
    unsigned num = n->num_children;
    switch (n->type) {
    case NODE_4:
    case NODE_16: {
        unsigned char *keys = n->tail;
        unsigned i = (unsigned)slot_lower_bound(n, b);
        memmove(keys + i + 1, keys + i, num - i);
        memmove(children + i + 1, children + i, (num - i) * sizeof *children);
        keys[i] = b;
        children[i] = child;
        break;
    }
    case NODE_48:
        children[num] = child;
        n->tail[b] = (unsigned char)(num + 1);
        break;
    case NODE_256:
        children[b] = child;
        break;
    default:
        return;
    }
    n->num_children = (uint16_t)(num + 1);
}

/* Removes the child for byte b (present).  Allocates nothing. */
static void remove_child(rx_node *n, unsigned char b)
{
    rx_node **children = node_children(n);
    unsigned num = n->num_children;
    switch (n->type) {
    case NODE_4:
    case NODE_16: {
        unsigned char *keys = n->tail;
        unsigned i = (unsigned)slot_lower_bound(n, b);
        memmove(keys + i, keys + i + 1, num - i - 1);
        memmove(children + i, children + i + 1, (num - i - 1) * sizeof *children);
        break;
    }
    case NODE_48: {
        unsigned slot = n->tail[b] - 1u, last = num - 1u;
        n->tail[b] = 0;
        if (slot != last) {
            /* keep slots packed: move the last child into the hole */
            unsigned s;
            children[slot] = children[last];
            for (s = 0; s < 256; s++) {
                if (n->tail[s] == last + 1) {
                    n->tail[s] = (unsigned char)(slot + 1);
                    break;
                }
            }
        }
        break;
    }
    case NODE_256:
        children[b] = NULL;
        break;
    default:
        return;
    }
    n->num_children = (uint16_t)(num - 1);
}

/* Gives copy, a fresh node of any type with room for n's children and the
 * same prefix length, n's value, count, prefix and children. */
static void node_copy_contents(rx_node *copy, rx_node *n)
{
    rx_node *child;
    unsigned char byte;
    int s;
    copy->value = n->value;
    copy->count = n->count;
    copy->has_value = n->has_value;
    memcpy(node_prefix(copy), node_prefix(n), n->prefix_len);
    for (s = next_slot(n, -1, &child, &byte); s >= 0; s = next_slot(n, s, &child, &byte))
        add_child(copy, byte, child); /* in byte order: appends for N4/N16 */
}

/* A copy of n as another type (with room for its children), or NULL. */
static rx_node *node_retype(rx_tree *t, rx_node *n, int type)
{
    rx_node *copy = node_new(t, type, n->prefix_len);
    if (copy == NULL)
        return NULL;
    node_copy_contents(copy, n);
    return copy;
}

/* A copy of n whose prefix is the `len` bytes at `prefix`, or NULL. */
static rx_node *node_with_prefix(rx_tree *t, rx_node *n, const unsigned char *prefix, size_t len)
{
    rx_node *copy = node_new(t, n->type, len);
    if (copy == NULL)
        return NULL;
    memcpy(copy, n, PREFIX_OFFSET[n->type]);
    copy->prefix_len = (uint32_t)len;
    memcpy(node_prefix(copy), prefix, len);
    return copy;
}

static rx_node *leaf_new(rx_tree *t, const unsigned char *suffix, size_t len, void *value)
{
    rx_node *leaf = node_new(t, NODE_LEAF, len);
    if (leaf == NULL)
        return NULL;
    memcpy(node_prefix(leaf), suffix, len);
    leaf->value = value;
    leaf->has_value = 1;
    leaf->count = 1;
    return leaf;
}

/* Frees a detached subtree without recursion or extra memory: a node's
 * value field is free once its value is handed to `release`, so it links
 * the nodes still to visit. */
static void free_subtree(rx_tree *t, rx_node *root, rx_release_fn release, void *ctx)
{
    rx_node *pending = root;
    if (root == NULL)
        return;
    if (root->has_value && release)
        release(root->value, ctx);
    root->value = NULL;
    while (pending) {
        rx_node *n = pending, *child;
        unsigned char byte;
        int s;
        pending = n->value;
        for (s = next_slot(n, -1, &child, &byte); s >= 0; s = next_slot(n, s, &child, &byte)) {
            if (child->has_value && release)
                release(child->value, ctx);
            child->value = pending;
            pending = child;
        }
        node_free(t, n);
    }
}

/* Restores compactness at *ref after a removal below or at it: merges a
 * value-less node with its only child, or moves it to a smaller type.
 * Skips quietly when the allocation fails. */
static void tidy(rx_tree *t, rx_node **ref)
{
    rx_node *n = *ref;
    if (!n->has_value && n->num_children == 1) {
        rx_node *child, *merged;
        unsigned char byte;
        size_t head = (size_t)n->prefix_len + 1, old_size;
        unsigned char *prefix;
        next_slot(n, -1, &child, &byte);
        old_size = node_size(child);
        merged = t->alloc.realloc_fn(t->alloc.ctx, child, old_size, old_size + head);
        if (merged == NULL)
            return;
        t->memory += head;
        prefix = node_prefix(merged);
        memmove(prefix + head, prefix, merged->prefix_len);
        memcpy(prefix, node_prefix(n), n->prefix_len);
        prefix[n->prefix_len] = byte;
        merged->prefix_len += (uint32_t)head;
        *ref = merged;
        node_free(t, n);
        return;
    }
    if (n->type != NODE_LEAF && n->num_children <= SHRINK_AT[n->type]) {
        unsigned num = n->num_children;
        int smaller = num == 0 ? NODE_LEAF : num <= 4 ? NODE_4 : num <= 16 ? NODE_16 : NODE_48;
        rx_node *copy = node_retype(t, n, smaller);
        if (copy == NULL)
            return;
        *ref = copy;
        node_free(t, n);
    }
}

#if defined(__GNUC__) || defined(__clang__)
#define rx_prefetch(p) __builtin_prefetch(p)
#else
#define rx_prefetch(p) ((void)(p))
#endif

/* For helpers on the hot paths that GCC would keep out of line once they
 * have several callers: the descent step (every lookup), the iterator's
 * per-key steps (the forward and the backward loop). */
#if defined(__GNUC__) || defined(__clang__)
#define RX_ALWAYS_INLINE __attribute__((always_inline)) inline
#else
#define RX_ALWAYS_INLINE inline
#endif

/* ---- the descent: following a key down the tree ---------------------------
 *
 * Every operation that looks a key up (find, longest_prefix, count_prefix,
 * remove, and the recounting walks that retrace a path) moves the same way:
 * match the node's prefix against the key, then step to the child for the
 * key's next byte.  descend_step is that one step, written once.  Seeks
 * are not descents of this kind: they compare for order, not equality.
 */
enum descent {
    DESCENT_DIVERGES, /* the key differs from the node's prefix */
    DESCENT_INSIDE,   /* the key ends inside the node's prefix (partial only) */
    DESCENT_HERE,     /* the key ends exactly where the node's prefix ends */
    DESCENT_NO_CHILD, /* the key goes on; the node has no child for its next byte */
    DESCENT_CHILD     /* the key goes on into *child */
};

/* Matches node n's prefix against key[*depth..len).  When it matches,
 * *depth moves to the end of the prefix (key[*depth] is then the branch
 * byte, for DESCENT_NO_CHILD and DESCENT_CHILD; the caller steps past it
 * as it enters *child).  `partial` (a constant at every call, so the test
 * folds away) says whether a key ending inside the prefix is an answer
 * (DESCENT_INSIDE: a prefix of keys, for prefix lookups) or a miss
 * (DESCENT_DIVERGES: exact lookups, which then skip the comparison). */
static RX_ALWAYS_INLINE int descend_step(rx_node *n, const unsigned char *key, size_t len,
                                         size_t *depth, rx_node ***child, int partial)
{
    size_t plen = n->prefix_len, rest = len - *depth;
    if (rest < plen) {
        if (partial && common_length(node_prefix(n), key + *depth, rest) == rest)
            return DESCENT_INSIDE;
        return DESCENT_DIVERGES;
    }
    if (common_length(node_prefix(n), key + *depth, plen) != plen)
        return DESCENT_DIVERGES;
    *depth += plen;
    if (*depth == len)
        return DESCENT_HERE;
    *child = child_ref(n, key[*depth]);
    return *child ? DESCENT_CHILD : DESCENT_NO_CHILD;
}

/* ---- tree ---------------------------------------------------------------- */

static void unlink_node(rx_tree *t, rx_node **parent_ref, unsigned char edge);

/* A path holds at most one node per key byte plus the root, and never more
 * nodes than the tree has, so this many frames always cover its depth; an
 * insert adds at most two nodes. */
static size_t visit_frames_needed(const rx_tree *t, size_t key_len)
{
    size_t longest = key_len > t->longest ? key_len : t->longest;
    return t->nodes + 2 < longest + 1 ? t->nodes + 2 : longest + 1;
}

/* A larger visit stack for an insert, allocated before the insert changes
 * anything; the old one's contents are scratch, so nothing is copied and
 * a failed insert can drop the new one and leave the tree as it was. */
static struct visit_frame *visit_stack_alloc(rx_tree *t, size_t need, size_t *cap)
{
    size_t new_cap = t->visit_cap ? t->visit_cap : 8;
    struct visit_frame *p;
    while (new_cap < need)
        new_cap *= 2;
    p = t->alloc.malloc_fn(t->alloc.ctx, new_cap * sizeof *p);
    *cap = new_cap;
    return p;
}

static void visit_stack_install(rx_tree *t, struct visit_frame *stack, size_t cap)
{
    if (t->visit_stack) {
        t->alloc.free_fn(t->alloc.ctx, t->visit_stack, t->visit_cap * sizeof *stack);
        t->memory -= t->visit_cap * sizeof *stack;
    }
    t->visit_stack = stack;
    t->visit_cap = cap;
    t->memory += cap * sizeof *stack;
}

static void drop_spare_buffers(rx_tree *t);
static void spare_within_bound(rx_tree *t);

/* Called when the last key left: an empty tree holds no spare memory. */
static void tree_emptied(rx_tree *t)
{
    drop_spare_buffers(t);
    if (t->visit_stack) {
        size_t bytes = t->visit_cap * sizeof *t->visit_stack;
        t->alloc.free_fn(t->alloc.ctx, t->visit_stack, bytes);
        t->memory -= bytes;
    }
    t->visit_stack = NULL;
    t->visit_cap = 0;
    t->longest = 0;
}

int rx_visit_values(const rx_tree *tree, rx_visit_fn visit, void *ctx)
{
    struct visit_frame *stack = tree->visit_stack;
    size_t depth = 0;
    int rc;
    if (tree->root == NULL)
        return 0;
    if (tree->root->has_value && (rc = visit(tree->root->value, ctx)) != 0)
        return rc;
    stack[depth].node = tree->root;
    stack[depth++].slot = -1;
    while (depth > 0) {
        struct visit_frame *f = &stack[depth - 1];
        rx_node *child;
        unsigned char byte;
        int slot = next_slot(f->node, f->slot, &child, &byte);
        if (slot < 0) {
            depth--;
            continue;
        }
        f->slot = slot;
        if (child->has_value && (rc = visit(child->value, ctx)) != 0)
            return rc;
        if (child->num_children) {
            stack[depth].node = child;
            stack[depth++].slot = -1;
        }
    }
    return 0;
}

rx_tree *rx_tree_new(const rx_allocator *alloc)
{
    rx_tree *t;
    if (alloc == NULL)
        alloc = &DEFAULT_ALLOCATOR;
    t = alloc->malloc_fn(alloc->ctx, sizeof *t);
    if (t == NULL)
        return NULL;
    t->root = NULL;
    t->memory = sizeof *t;
    t->version = 0;
    t->nodes = 0;
    t->longest = 0;
    t->visit_stack = NULL;
    t->visit_cap = 0;
    memset(&t->spare, 0, sizeof t->spare);
    t->spare_size = 0;
    t->alloc = *alloc;
    return t;
}

void rx_tree_free(rx_tree *tree, rx_release_fn release, void *ctx)
{
    rx_allocator alloc;
    if (tree == NULL)
        return;
    while (tree->root) /* a release callback may have inserted again */
        rx_clear(tree, release, ctx);
    drop_spare_buffers(tree);
    alloc = tree->alloc;
    alloc.free_fn(alloc.ctx, tree, sizeof *tree);
}

size_t rx_size(const rx_tree *tree)
{
    return tree->root ? tree->root->count : 0;
}

size_t rx_memory(const rx_tree *tree)
{
    return tree->memory;
}

uint64_t rx_version(const rx_tree *tree)
{
    return tree->version;
}

int rx_find(const rx_tree *tree, const unsigned char *key, size_t len, void **value)
{
    rx_node *n = tree->root, **child;
    size_t depth = 0;
    key = NONNULL(key);
    while (n) {
        switch (descend_step(n, key, len, &depth, &child, 0)) {
        case DESCENT_CHILD:
            n = *child;
            depth++;
            continue;
        case DESCENT_HERE:
            if (!n->has_value)
                return 0;
            *value = n->value;
            return 1;
        default:
            return 0;
        }
    }
    return 0;
}

/* rx_find_many requests the next node of a lane as soon as it is known:
 * the header and what follows it in the next line (N4's keys and children,
 * most of a leaf's prefix), which is what the lane reads on its next turn. */
static RX_ALWAYS_INLINE void prefetch_for_lookup(const rx_node *n)
{
    rx_prefetch(n);
    rx_prefetch((const char *)n + 64);
}

/* Lookups in flight at once in rx_find_many. */
#define FIND_LANES 8

struct find_lane {
    const rx_node *node;
    const unsigned char *key;
    size_t len, depth, index;
};

size_t rx_find_many(const rx_tree *tree, size_t n, const unsigned char *const *keys,
                    const size_t *lens, void **values, void *missing)
{
    /* A lookup is a chain of dependent loads, each likely a cache miss in a
     * big tree.  Walking several keys in turn, one node each, with the next
     * node prefetched, overlaps those misses instead of paying them in a row. */
    struct find_lane lanes[FIND_LANES];
    size_t next = 0, found = 0;
    int active = 0, i;

    if (tree->root == NULL) {
        for (next = 0; next < n; next++)
            values[next] = missing;
        return 0;
    }
    while (active < FIND_LANES && next < n) {
        struct find_lane *l = &lanes[active++];
        l->node = tree->root;
        l->key = NONNULL(keys[next]);
        l->len = lens[next];
        l->depth = 0;
        l->index = next++;
    }
    while (active > 0) {
        for (i = 0; i < active;) {
            struct find_lane *l = &lanes[i];
            const rx_node *node = l->node;
            size_t plen = node->prefix_len, rest = l->len - l->depth;
            rx_node **child;
            void *result = missing;
            if (rest >= plen &&
                common_length(node_prefix((rx_node *)node), l->key + l->depth, plen) == plen) {
                l->depth += plen;
                if (l->depth == l->len) {
                    if (node->has_value) {
                        result = node->value;
                        found++;
                    }
                } else if ((child = child_ref((rx_node *)node, l->key[l->depth])) != NULL) {
                    l->node = *child;
                    l->depth++;
                    prefetch_for_lookup(l->node);
                    i++;
                    continue;
                }
            }
            values[l->index] = result;
            if (next < n) { /* reuse the lane for the next key */
                l->node = tree->root;
                l->key = NONNULL(keys[next]);
                l->len = lens[next];
                l->depth = 0;
                l->index = next++;
                i++;
            } else {
                *l = lanes[--active];
            }
        }
    }
    return found;
}

/* Undoes the counting a descent did on the nodes above *stop: adds `up`
 * (+1 or -1) to each node on key's path from the root down to, but not
 * including, *stop, except the first `skip` of them. */
static void recount_above(rx_tree *t, const unsigned char *key, size_t len, rx_node **stop,
                          int up, size_t skip)
{
    rx_node **ref = &t->root;
    size_t depth = 0, level = 0;
    /* the path is known to exist down to *stop: every step is a child */
    while (ref != stop) {
        rx_node *n = *ref;
        if (level++ >= skip)
            n->count += (uint32_t)up; /* unsigned wrap-around makes -1 work */
        descend_step(n, key, len, &depth, &ref, 0);
        depth++;
    }
}

/* Inserts below *ref, whose node n diverges from the key after `common`
 * bytes of its prefix (key[depth..] is the unmatched rest of the key). */
static int insert_split(rx_tree *t, rx_node **ref, size_t common, const unsigned char *key,
                        size_t depth, size_t len, void *value)
{
    rx_node *n = *ref, *split, *rest, *leaf = NULL;
    const unsigned char *prefix = node_prefix(n);
    size_t key_end = depth + common;

    split = node_new(t, NODE_4, common);
    rest = node_with_prefix(t, n, prefix + common + 1, n->prefix_len - common - 1);
    if (key_end < len)
        leaf = leaf_new(t, key + key_end + 1, len - key_end - 1, value);
    if (split == NULL || rest == NULL || (key_end < len && leaf == NULL)) {
        if (split)
            node_free(t, split);
        if (rest)
            node_free(t, rest);
        if (leaf)
            node_free(t, leaf);
        return RX_ENOMEM;
    }
    memcpy(node_prefix(split), prefix, common);
    split->count = n->count + 1;
    add_child(split, prefix[common], rest);
    if (leaf)
        add_child(split, key[key_end], leaf);
    else {
        split->has_value = 1;
        split->value = value;
    }
    *ref = split;
    node_free(t, n);
    return 1;
}

/* Inserts a leaf for key[depth+1..] under the node at *ref, which has no
 * child for key[depth]; grows the node first when it is full. */
static int insert_child(rx_tree *t, rx_node **ref, const unsigned char *key, size_t depth,
                        size_t len, void *value)
{
    rx_node *n = *ref, *target = n;
    rx_node *leaf = leaf_new(t, key + depth + 1, len - depth - 1, value);
    if (leaf == NULL)
        return RX_ENOMEM;
    if (n->num_children == CAPACITY[n->type]) {
        target = node_retype(t, n, n->type + 1);
        if (target == NULL) {
            node_free(t, leaf);
            return RX_ENOMEM;
        }
    }
    add_child(target, key[depth], leaf);
    target->count++;
    if (target != n) {
        *ref = target;
        node_free(t, n);
    }
    return 1;
}

/* Levels of an insert's path remembered on the C stack (see rx_insert). */
#define PATH_MEMO 48

/* Allocates a larger visit stack when the nodes an insert is about to add
 * could outgrow it.  Called only where nodes are added, so an overwrite
 * never allocates (and so never fails: batch rollbacks rely on that). */
static int reserve_for_new_nodes(rx_tree *t, size_t key_len, struct visit_frame **fresh,
                                 size_t *fresh_cap)
{
    size_t need = visit_frames_needed(t, key_len);
    if (need <= t->visit_cap)
        return 1;
    *fresh = visit_stack_alloc(t, need, fresh_cap);
    return *fresh != NULL;
}

int rx_insert(rx_tree *tree, const unsigned char *key, size_t len, void *value, void **old)
{
    rx_node **ref = &tree->root;
    size_t depth = 0, fresh_cap = 0, passed_count = 0;
    struct visit_frame *fresh_stack = NULL;
    rx_node *passed[PATH_MEMO];
    int rc;

    key = NONNULL(key);
    if (len > RX_MAX_KEY_LEN)
        return RX_ETOOBIG;
    if (tree->root && tree->root->count == UINT32_MAX && !rx_find(tree, key, len, old))
        return RX_ETOOBIG;
    /* One walk.  The nodes passed through are remembered and counted only
     * once the key turns out to be new, so an overwrite (common: mset of
     * existing keys) writes nothing but the value.  Past PATH_MEMO levels
     * they are counted on the way down instead, and an overwrite or a failed
     * allocation undoes that with a second walk. */
    for (;;) {
        rx_node *n = *ref, **next;
        size_t plen, rest, common;
        if (n == NULL) { /* empty tree */
            if (!reserve_for_new_nodes(tree, len, &fresh_stack, &fresh_cap)) {
                rc = RX_ENOMEM;
                break;
            }
            n = leaf_new(tree, key, len, value);
            rc = RX_ENOMEM;
            if (n != NULL) {
                *ref = n;
                rc = 1;
            }
            break;
        }
        plen = n->prefix_len;
        rest = len - depth;
        common = common_length(node_prefix(n), key + depth, rest < plen ? rest : plen);
        if (common < plen) {
            rc = reserve_for_new_nodes(tree, len, &fresh_stack, &fresh_cap)
                     ? insert_split(tree, ref, common, key, depth, len, value)
                     : RX_ENOMEM;
            break;
        }
        depth += plen;
        if (depth == len) {
            if (n->has_value) {
                if (passed_count > PATH_MEMO)
                    recount_above(tree, key, len, ref, -1, PATH_MEMO);
                *old = n->value;
                n->value = value;
                rc = 0;
                break;
            }
            n->has_value = 1;
            n->value = value;
            n->count++;
            rc = 1;
            break;
        }
        next = child_ref(n, key[depth]);
        if (next == NULL) {
            rc = reserve_for_new_nodes(tree, len, &fresh_stack, &fresh_cap)
                     ? insert_child(tree, ref, key, depth, len, value)
                     : RX_ENOMEM;
            break;
        }
        if (passed_count < PATH_MEMO)
            passed[passed_count] = n;
        else
            n->count++;
        passed_count++;
        ref = next;
        depth++;
    }
    if (rc < 0 && passed_count > PATH_MEMO)
        recount_above(tree, key, len, ref, -1, PATH_MEMO);
    if (rc == 1) {
        size_t i, memo = passed_count < PATH_MEMO ? passed_count : PATH_MEMO;
        for (i = 0; i < memo; i++)
            passed[i]->count++;
    }
    if (rc >= 0)
        tree->version++;
    if (rc == 1) {
        if (len > tree->longest)
            tree->longest = len;
        if (fresh_stack) {
            visit_stack_install(tree, fresh_stack, fresh_cap);
            fresh_stack = NULL;
        }
    }
    if (fresh_stack)
        tree->alloc.free_fn(tree->alloc.ctx, fresh_stack, fresh_cap * sizeof *fresh_stack);
    return rc;
}

/* Subtracts `amount` from every node on key's path down to and including
 * *last, then unlinks the highest node whose count fell to zero (it holds
 * no value any more; neither does anything below it) and returns it for
 * freeing, or NULL when every node on the path still holds something. */
static rx_node *uncount_path(rx_tree *t, const unsigned char *key, size_t len, rx_node **last,
                            uint32_t amount)
{
    rx_node **ref = &t->root, **parent_ref = NULL, **zero_ref = NULL, **zero_parent = NULL;
    unsigned char edge = 0, zero_edge = 0;
    size_t depth = 0;
    rx_node *unlinked;

    for (;;) {
        rx_node *n = *ref;
        n->count -= amount;
        if (n->count == 0 && zero_ref == NULL) {
            zero_ref = ref;
            zero_parent = parent_ref;
            zero_edge = edge;
        }
        if (ref == last)
            break;
        parent_ref = ref;
        /* the path is known to exist down to *last: every step is a child */
        descend_step(n, key, len, &depth, &ref, 0);
        edge = key[depth++];
    }
    if (zero_ref == NULL)
        return NULL;
    unlinked = *zero_ref;
    unlink_node(t, zero_parent, zero_edge);
    return unlinked;
}

/* Unlinks child `edge` of the node at *parent_ref (the root when
 * parent_ref is NULL) and tidies that parent.  The caller frees the child. */
static void unlink_node(rx_tree *t, rx_node **parent_ref, unsigned char edge)
{
    if (parent_ref == NULL) {
        t->root = NULL;
        tree_emptied(t);
        return;
    }
    remove_child(*parent_ref, edge);
    tidy(t, parent_ref);
}

int rx_remove(rx_tree *tree, const unsigned char *key, size_t len, void **old)
{
    rx_node **ref = &tree->root, **parent_ref = NULL, *n;
    rx_node **zero_ref = NULL, **zero_parent = NULL; /* highest emptied node */
    unsigned char edge = 0, zero_edge = 0;
    size_t depth = 0;

    key = NONNULL(key);
    /* One walk: uncount the key on every node passed through, assuming it
     * is present; a miss undoes that with a second. */
    for (;;) {
        rx_node **next;
        n = *ref;
        if (n == NULL)
            goto missing;
        switch (descend_step(n, key, len, &depth, &next, 0)) {
        case DESCENT_CHILD:
            break;
        case DESCENT_HERE:
            goto found;
        default:
            goto missing;
        }
        if (--n->count == 0 && zero_ref == NULL) {
            zero_ref = ref;
            zero_parent = parent_ref;
            zero_edge = edge;
        }
        edge = key[depth];
        parent_ref = ref;
        ref = next;
        depth++;
    }
found:
    if (!n->has_value)
        goto missing;
    *old = n->value;
    n->value = NULL;
    n->has_value = 0;
    if (--n->count == 0 && zero_ref == NULL) {
        zero_ref = ref;
        zero_parent = parent_ref;
        zero_edge = edge;
    }
    if (zero_ref) {
        /* that node and everything below it on the path now hold nothing */
        rx_node *emptied = *zero_ref;
        unlink_node(tree, zero_parent, zero_edge);
        free_subtree(tree, emptied, NULL, NULL);
    } else {
        tidy(tree, ref);
    }
    tree->version++;
    spare_within_bound(tree);
    return 1;

missing:
    recount_above(tree, key, len, ref, +1, 0);
    return 0;
}

/* Slot of the node whose subtree holds exactly the keys starting with
 * prefix, or NULL when none does. */
static rx_node **prefix_subtree(const rx_tree *tree, const unsigned char *prefix, size_t len,
                                size_t *start)
{
    rx_node **ref = (rx_node **)&tree->root, **child;
    size_t depth = 0, at;
    prefix = NONNULL(prefix);
    while (*ref) {
        at = depth;
        switch (descend_step(*ref, prefix, len, &depth, &child, 1)) {
        case DESCENT_CHILD:
            ref = child;
            depth++;
            continue;
        case DESCENT_INSIDE:
        case DESCENT_HERE:
            if (start)
                *start = at; /* where the node's prefix starts in a key */
            return ref;
        default:
            return NULL;
        }
    }
    return NULL;
}

size_t rx_count_prefix(const rx_tree *tree, const unsigned char *prefix, size_t len)
{
    rx_node **ref = prefix_subtree(tree, prefix, len, NULL);
    return ref ? (*ref)->count : 0;
}

/* ---- counting a range (rx_count_range) --------------------------------------
 *
 * The keys of [lo, hi) below the node where lo and hi part are its own key
 * (when it is lo), the subtrees of the children between lo's and hi's
 * bytes, the keys >= lo below lo's child and those < hi below hi's: each
 * of those two is the sum of the subtrees hanging on the far side of the
 * path, level by level.  Every subtree summed lies wholly inside the range,
 * so the walk reads at most (keys counted + the two paths) node headers. */

/* Sum of the counts of n's children on bytes from..to (ints, inclusive). */
static size_t children_count(rx_node *n, int from, int to)
{
    rx_node **children = node_children(n);
    size_t total = 0;
    int i;
    switch (n->type) {
    case NODE_4:
    case NODE_16: /* keys sorted by slot */
        for (i = from > to ? n->num_children : slot_lower_bound(n, (unsigned char)from);
             i < n->num_children && n->tail[i] <= to; i++)
            total += children[i]->count;
        return total;
    case NODE_48:
        for (i = from; i <= to; i++)
            if (n->tail[i])
                total += children[n->tail[i] - 1]->count;
        return total;
    case NODE_256:
        for (i = from; i <= to; i++)
            if (children[i])
                total += children[i]->count;
        return total;
    default:
        return 0;
    }
}

/* Keys below n (its prefix starting at key byte `start`) that are >= key
 * (ge) or < key (!ge). */
static size_t count_side(rx_node *n, size_t start, const unsigned char *key, size_t len, int ge)
{
    size_t total = 0;
    rx_node **child;
    while (n) {
        size_t plen = n->prefix_len, rest = len - start, m = rest < plen ? rest : plen;
        int cmp = compare_bytes(node_prefix(n), key + start, m);
        unsigned char b;
        if (cmp != 0 || rest <= plen) {
            /* the subtree lies wholly on one side of key: >= it when its
             * path is greater, extends key or is key */
            return total + ((cmp >= 0) == (ge != 0) ? n->count : 0);
        }
        start += plen;
        b = key[start];
        if (ge) {
            total += children_count(n, b + 1, 255);
        } else {
            total += n->has_value; /* the node's key is a proper prefix of key */
            total += children_count(n, 0, b - 1);
        }
        child = child_ref(n, b);
        n = child ? *child : NULL;
        start++;
    }
    return total;
}

size_t rx_count_range(const rx_tree *tree, const unsigned char *lo, size_t lo_len,
                      const unsigned char *hi, size_t hi_len, int has_hi)
{
    rx_node **ref, **child;
    rx_node *n;
    size_t c, start = 0, end;
    lo = NONNULL(lo);
    hi = NONNULL(hi);
    if (tree->root == NULL)
        return 0;
    if (!has_hi)
        return count_side(tree->root, 0, lo, lo_len, 1);
    c = common_length(lo, hi, lo_len < hi_len ? lo_len : hi_len);
    if (c == hi_len || (c < lo_len && lo[c] > hi[c]))
        return 0; /* lo >= hi */
    /* every key in the range starts with lo[0, c): below this node */
    ref = prefix_subtree(tree, lo, c, &start);
    if (ref == NULL)
        return 0;
    n = *ref;
    end = start + n->prefix_len;
    if (c < end) {
        /* lo and hi part inside the node's prefix, so one of them at most
         * goes below it; x is the path's byte where they part */
        unsigned char x = node_prefix(n)[c - start];
        if (x == hi[c])
            return count_side(n, start, hi, hi_len, 0);
        if (c < lo_len && x == lo[c])
            return count_side(n, start, lo, lo_len, 1);
        return (c == lo_len || x > lo[c]) && x < hi[c] ? n->count : 0;
    }
    /* they part at the node's branch byte, or lo is the node's key */
    {
        size_t total = 0;
        int from = 0;
        if (lo_len == end) {
            total += n->has_value;
        } else {
            from = lo[end] + 1;
            child = child_ref(n, lo[end]);
            if (child)
                total += count_side(*child, end + 1, lo, lo_len, 1);
        }
        total += children_count(n, from, hi[end] - 1);
        child = child_ref(n, hi[end]);
        if (child)
            total += count_side(*child, end + 1, hi, hi_len, 0);
        return total;
    }
}

int rx_longest_prefix(const rx_tree *tree, const unsigned char *key, size_t len,
                      size_t *match_len, void **value)
{
    rx_node *n = tree->root, **child;
    size_t depth = 0;
    int found = 0;
    key = NONNULL(key);
    while (n) {
        int step = descend_step(n, key, len, &depth, &child, 0);
        if (step == DESCENT_DIVERGES)
            break;
        if (n->has_value) { /* the key spelled so far is stored: the longest yet */
            found = 1;
            *match_len = depth;
            *value = n->value;
        }
        if (step != DESCENT_CHILD)
            break;
        n = *child;
        depth++;
    }
    return found;
}

size_t rx_remove_prefix(rx_tree *tree, const unsigned char *prefix, size_t len,
                        rx_release_fn release, void *ctx)
{
    rx_node **ref = prefix_subtree(tree, prefix, len, NULL);
    rx_node *unlinked;
    size_t removed;
    if (ref == NULL)
        return 0;
    removed = (*ref)->count;
    unlinked = uncount_path(tree, NONNULL(prefix), len, ref, (uint32_t)removed);
    tree->version++;
    free_subtree(tree, unlinked, release, ctx);
    spare_within_bound(tree);
    return removed;
}

size_t rx_clear(rx_tree *tree, rx_release_fn release, void *ctx)
{
    rx_node *root = tree->root;
    size_t removed = rx_size(tree);
    if (root == NULL)
        return 0;
    tree->root = NULL;
    tree_emptied(tree);
    tree->version++;
    free_subtree(tree, root, release, ctx);
    return removed;
}

/* ---- iterators ------------------------------------------------------------
 *
 * The iterator keeps the path from the root to its position as a stack of
 * frames; the key buffer spells that path.  A frame's `pos` says what of its
 * node is still to come:
 *
 *   forward:  POS_VALUE_NEXT (value, then children), POS_CHILDREN (children
 *             from the first), or the slot of the child last entered;
 *   backward: POS_END (children from the last, then the value), the slot of
 *             the child last entered, or POS_DONE (nothing left).
 *
 * A seek builds the stack from the root so that the following steps produce
 * exactly the keys on the requested side of the target.
 */

/* A resume_op of the iterator's own, beside rx_seek_op's: forward from the
 * first key after every key that starts with the target
 * (rx_iter_skip_prefix). */
#define SEEK_PAST_PREFIX (RX_SEEK_LT + 1)

#define POS_VALUE_NEXT (-2)
#define POS_CHILDREN (-1)
#define POS_DONE (-1)
#define POS_END 256

struct rx_iter_frame {
    rx_node *node;
    size_t end; /* key length at the end of node's prefix */
    int pos;
    int lead;  /* prefetched children past pos; 0: none */
    int ahead; /* furthest slot prefetched, when lead > 0 */
};

static int grow_buffer(rx_tree *t, void **buf, size_t *cap, size_t need, size_t item)
{
    size_t new_cap;
    void *p;
    if (need <= *cap)
        return RX_OK;
    new_cap = *cap ? *cap : 16;
    while (new_cap < need)
        new_cap *= 2;
    if (*buf == NULL)
        p = t->alloc.malloc_fn(t->alloc.ctx, new_cap * item);
    else
        p = t->alloc.realloc_fn(t->alloc.ctx, *buf, *cap * item, new_cap * item);
    if (p == NULL)
        return RX_ENOMEM;
    *buf = p;
    *cap = new_cap;
    return RX_OK;
}

static int set_bytes(rx_tree *t, unsigned char **buf, size_t *cap, size_t *len,
                     const unsigned char *src, size_t n)
{
    if (grow_buffer(t, (void **)buf, cap, n ? n : 1, 1) != RX_OK)
        return RX_ENOMEM;
    if (n)
        memcpy(*buf, src, n);
    *len = n;
    return RX_OK;
}

/* Copies n bytes (node prefixes: usually a few) where a call to memcpy
 * costs more than the copy: every step of a listing copies one prefix.
 * Up to 16 bytes it is two fixed-size, overlapping moves (which compilers
 * inline), never writing outside dst[0, n). */
static RX_ALWAYS_INLINE void copy_short(unsigned char *dst, const unsigned char *src, size_t n)
{
    if (n >= 8 && n <= 16) {
        uint64_t head, tail;
        memcpy(&head, src, 8);
        memcpy(&tail, src + n - 8, 8);
        memcpy(dst, &head, 8);
        memcpy(dst + n - 8, &tail, 8);
    } else if (n >= 4 && n < 8) {
        uint32_t head, tail;
        memcpy(&head, src, 4);
        memcpy(&tail, src + n - 4, 4);
        memcpy(dst, &head, 4);
        memcpy(dst + n - 4, &tail, 4);
    } else if (n < 4) {
        if (n > 0) {
            dst[0] = src[0];
            dst[n / 2] = src[n / 2];
            dst[n - 1] = src[n - 1];
        }
    } else {
        memcpy(dst, src, n);
    }
}

/* Enters node n, whose prefix starts at key offset `start` (the branch byte
 * before it is already in the buffer). */
static int push_frame(rx_iter *it, rx_node *n, size_t start, int pos)
{
    struct rx_iter_frame *f;
    size_t end = start + n->prefix_len;
    /* capacity checks inline: this runs once per node visited */
    if ((end + 1 > it->buf_cap &&
         grow_buffer(it->tree, (void **)&it->buf, &it->buf_cap, end + 1, 1) != RX_OK) ||
        (it->depth + 1 > it->stack_cap &&
         grow_buffer(it->tree, (void **)&it->stack, &it->stack_cap, it->depth + 1, sizeof *f) != RX_OK))
        return RX_ENOMEM;
    copy_short(it->buf + start, node_prefix(n), n->prefix_len);
    f = &it->stack[it->depth++];
    f->node = n;
    f->end = end;
    f->pos = pos;
    f->lead = 0; /* nothing prefetched yet */
    return RX_OK;
}

/* Positions for forward steps from the first key >= target (> when
 * exclusive).  With `past_prefix`, target is a prefix and every key that
 * extends it counts as < (that is how rx_iter_skip_prefix moves past a
 * group of keys without computing the group's successor string). */
static int seek_forward(rx_iter *it, const unsigned char *target, size_t len, int exclusive,
                        int past_prefix)
{
    rx_node *n = it->tree->root;
    size_t start = 0;
    while (n) {
        size_t plen = n->prefix_len, rest = len - start;
        size_t compared = rest < plen ? rest : plen, end;
        int cmp = compare_bytes(node_prefix(n), target + start, compared);
        rx_node **child;
        struct rx_iter_frame *f;
        unsigned char b;
        if (cmp < 0)
            return RX_OK; /* the whole subtree sorts before target */
        if (cmp == 0 && rest <= plen && past_prefix)
            return RX_OK; /* every key below n extends target: all skipped */
        if (cmp > 0 || rest < plen)
            return push_frame(it, n, start, POS_VALUE_NEXT); /* all after */
        if (push_frame(it, n, start, POS_VALUE_NEXT) != RX_OK)
            return RX_ENOMEM;
        f = &it->stack[it->depth - 1];
        end = f->end;
        if (end == len) {
            f->pos = exclusive ? POS_CHILDREN : POS_VALUE_NEXT;
            return RX_OK;
        }
        /* the node's own key is shorter than target: only children remain */
        b = target[end];
        child = child_ref(n, b);
        if (child == NULL) {
            f->pos = slot_lower_bound(n, b) - 1;
            return RX_OK;
        }
        f->pos = slot_lower_bound(n, b);
        it->buf[end] = b;
        n = *child;
        start = end + 1;
    }
    return RX_OK;
}

/* Positions for backward steps from the last key <= target (< when
 * exclusive).  With `whole_prefix`, target is a prefix and every key that
 * extends it counts as <= (that is how RX_SEEK_LAST finds the end). */
static int seek_backward(rx_iter *it, const unsigned char *target, size_t len, int exclusive,
                         int whole_prefix)
{
    rx_node *n = it->tree->root;
    size_t start = 0;
    while (n) {
        size_t plen = n->prefix_len, rest = len - start;
        size_t compared = rest < plen ? rest : plen, end;
        int cmp = compare_bytes(node_prefix(n), target + start, compared);
        rx_node **child;
        struct rx_iter_frame *f;
        unsigned char b;
        if (cmp < 0 || (cmp == 0 && rest < plen && whole_prefix))
            return push_frame(it, n, start, POS_END); /* all before */
        if (cmp > 0 || rest < plen)
            return RX_OK; /* the whole subtree sorts after target */
        if (push_frame(it, n, start, POS_END) != RX_OK)
            return RX_ENOMEM;
        f = &it->stack[it->depth - 1];
        end = f->end;
        if (end == len) {
            if (!whole_prefix) /* children sort after target */
                f->pos = exclusive ? POS_DONE : 0;
            return RX_OK;
        }
        b = target[end];
        child = child_ref(n, b);
        f->pos = slot_lower_bound(n, b);
        if (child == NULL)
            return RX_OK;
        it->buf[end] = b;
        n = *child;
        start = end + 1;
    }
    return RX_OK;
}

/* The buffers kept for the next iterator are at most this fraction
 * (1/SPARE_SHARE) of the tree's own memory: a few hundred bytes against a
 * tree of a few hundred keys or more. */
#define SPARE_SHARE 16

static size_t buffers_size(const struct rx_iter_buffers *b)
{
    return b->stack_cap * sizeof *b->stack + b->buf_cap + b->prefix_cap + b->staged_cap +
           b->resume_cap + b->bound_cap + b->delim_cap;
}

static void free_buffers(rx_tree *t, const struct rx_iter_buffers *b)
{
    rx_allocator *a = &t->alloc;
    if (b->stack)
        a->free_fn(a->ctx, b->stack, b->stack_cap * sizeof *b->stack);
    if (b->buf)
        a->free_fn(a->ctx, b->buf, b->buf_cap);
    if (b->prefix)
        a->free_fn(a->ctx, b->prefix, b->prefix_cap);
    if (b->staged)
        a->free_fn(a->ctx, b->staged, b->staged_cap);
    if (b->resume)
        a->free_fn(a->ctx, b->resume, b->resume_cap);
    if (b->bound)
        a->free_fn(a->ctx, b->bound, b->bound_cap);
    if (b->delim)
        a->free_fn(a->ctx, b->delim, b->delim_cap);
}

static void drop_spare_buffers(rx_tree *t)
{
    free_buffers(t, &t->spare);
    memset(&t->spare, 0, sizeof t->spare);
    t->spare_size = 0;
}

/* The bound rx_iter_release applies when it keeps buffers must still hold
 * once the tree has shrunk: otherwise a tree that once held (and listed) a
 * long key keeps buffers sized for it after the key is gone.  Called by
 * every removal; costs one compare when nothing is to be dropped. */
static void spare_within_bound(rx_tree *t)
{
    if (t->spare_size > t->memory / SPARE_SHARE)
        drop_spare_buffers(t);
}

size_t rx_spare_memory(const rx_tree *tree)
{
    return tree->spare_size;
}

void rx_trim(rx_tree *tree)
{
    drop_spare_buffers(tree);
}

void rx_iter_init(rx_iter *it, rx_tree *tree)
{
    struct rx_iter_buffers *b = &tree->spare;
    memset(it, 0, sizeof *it);
    it->tree = tree;
    it->exhausted = 1;
    /* take the spare buffers, if any: lengths are 0, only capacity is reused */
    it->stack = b->stack;
    it->stack_cap = b->stack_cap;
    it->buf = b->buf;
    it->buf_cap = b->buf_cap;
    it->prefix = b->prefix;
    it->prefix_cap = b->prefix_cap;
    it->staged = b->staged;
    it->staged_cap = b->staged_cap;
    it->resume = b->resume;
    it->resume_cap = b->resume_cap;
    it->bound = b->bound;
    it->bound_cap = b->bound_cap;
    it->delim = b->delim;
    it->delim_cap = b->delim_cap;
    if (it->staged == NULL) {
        /* a seek swaps staged and prefix; set_prefix comes first and fills
         * staged, so hand it the free one */
        it->staged = it->prefix;
        it->staged_cap = it->prefix_cap;
        it->prefix = NULL;
        it->prefix_cap = 0;
    }
    memset(b, 0, sizeof *b);
    tree->spare_size = 0;
}

void rx_iter_release(rx_iter *it)
{
    rx_tree *t = it->tree;
    struct rx_iter_buffers mine;
    mine.stack = it->stack;
    mine.stack_cap = it->stack_cap;
    mine.buf = it->buf;
    mine.buf_cap = it->buf_cap;
    mine.prefix = it->prefix;
    mine.prefix_cap = it->prefix_cap;
    mine.staged = it->staged;
    mine.staged_cap = it->staged_cap;
    mine.resume = it->resume;
    mine.resume_cap = it->resume_cap;
    mine.bound = it->bound;
    mine.bound_cap = it->bound_cap;
    mine.delim = it->delim;
    mine.delim_cap = it->delim_cap;
    /* Keep them for the next iterator unless another one's are kept
     * already, or they are big next to the tree: a program holding many
     * small stores, or one that once listed a very deep key, should not
     * carry idle buffers (an empty tree keeps none). */
    size_t size = buffers_size(&mine);
    if (t->root && t->spare_size == 0 && size > 0 && size <= t->memory / SPARE_SHARE) {
        t->spare = mine;
        t->spare_size = size;
    } else {
        free_buffers(t, &mine);
    }
    memset(it, 0, sizeof *it);
    it->tree = t;
    it->exhausted = 1;
}

int rx_iter_set_prefix(rx_iter *it, const unsigned char *prefix, size_t len)
{
    /* staged, so a listing under way keeps the prefix it was started with */
    if (set_bytes(it->tree, &it->staged, &it->staged_cap, &it->staged_len, prefix, len) != RX_OK)
        return RX_ENOMEM;
    it->prefix_staged = 1;
    return RX_OK;
}

int rx_iter_set_end(rx_iter *it, const unsigned char *key, size_t len, int inclusive)
{
    if (set_bytes(it->tree, &it->bound, &it->bound_cap, &it->bound_len, NONNULL(key), len) !=
        RX_OK)
        return RX_ENOMEM;
    it->has_bound = 1;
    it->bound_inclusive = inclusive != 0;
    /* the key returned last was not checked against this bound */
    it->bound_match = 0;
    it->written = 0;
    return RX_OK;
}

int rx_iter_set_delimiter(rx_iter *it, const unsigned char *delim, size_t len, size_t from)
{
    if (set_bytes(it->tree, &it->delim, &it->delim_cap, &it->delim_len, NONNULL(delim), len) !=
        RX_OK)
        return RX_ENOMEM;
    it->delim_from = from;
    /* The path on the stack was walked without looking for this delimiter:
     * the next step seeks again (as after a change), which finds the group
     * the path is in, if any (reseek). */
    it->version = it->tree->version - 1;
    return RX_OK;
}

static void apply_staged_prefix(rx_iter *it)
{
    unsigned char *buf = it->prefix;
    size_t cap = it->prefix_cap;
    it->prefix = it->staged;
    it->prefix_cap = it->staged_cap;
    it->prefix_len = it->staged_len;
    it->staged = buf;
    it->staged_cap = cap;
    it->staged_len = 0;
    it->prefix_staged = 0;
}

/* ---- delimiter listings (rx_iter_set_delimiter) ----------------------------
 *
 * A group is the set of keys that start with g, the bytes of a key up to the
 * end of the first delimiter starting at or after delim_from.  The walk looks
 * for the delimiter in the bytes it writes as it enters a node (the branch
 * byte and the node's prefix): when an occurrence ends there, and none did
 * above, the node's subtree is exactly the group -- every key below it
 * starts with g, and every key starting with g goes through the branch byte,
 * which lies inside g.  So the step returns the group instead of entering
 * the node, and the parent's next step leaves it:
 *
 *   prefix "big/", delimiter "/":      [big/] <- base frame
 *                                      /  |  \
 *                                    'a' 'b' 'c'
 *                                    /0   ..   ..    "big/a/0...": the step
 *                                   /|\                 into 'a' writes "a/0",
 *                 (10^5 keys below, never visited)   sees "/", returns "big/a/"
 *
 * A group the walk cannot return unseen (a seek landed inside it, or the end
 * bound cuts it) is noted in group_len instead: the walk goes on into it,
 * and the first key it would return is returned as the group, with the
 * group's frames popped.  The note holds while buf[0, group_len) still
 * spells the group, i.e. until the walk enters a child at a byte below it. */

/* End (exclusive) of the first delimiter starting at or after delim_from
 * in the path buf[0, nbuf) followed by tail[0, tlen) (the prefix of a node
 * about to be entered, not copied yet: a group needs only its own bytes),
 * among those ending after byte `after`; 0 when there is none. */
static size_t group_end(const rx_iter *it, size_t after, size_t nbuf, const unsigned char *tail,
                        size_t tlen)
{
    const unsigned char *buf = it->buf, *d = it->delim, *p;
    size_t dl = it->delim_len, total = nbuf + tlen, s, j, q;
    s = after + 1 >= dl ? after + 1 - dl : 0;
    if (s < it->delim_from)
        s = it->delim_from;
    for (; s < nbuf && s + dl <= total; s++) { /* starting in the path */
        for (j = 0; j < dl; j++) {
            q = s + j;
            if ((q < nbuf ? buf[q] : tail[q - nbuf]) != d[j])
                break;
        }
        if (j == dl)
            return s + dl;
    }
    while (s + dl <= total) { /* starting in the tail */
        p = memchr(tail + (s - nbuf), d[0], total - dl + 1 - s);
        if (p == NULL)
            return 0;
        s = nbuf + (size_t)(p - tail);
        if (dl == 1 || memcmp(p + 1, d + 1, dl - 1) == 0)
            return s + dl;
        s++;
    }
    return 0;
}

/* Where the keys below the path buf[0, nbuf) + tail[0, tlen) lie against
 * the end bound: GROUP_IN, all within it; GROUP_PAST, all beyond it;
 * GROUP_CUT, the bound extends the path (or is it): on both sides. */
enum { GROUP_IN, GROUP_PAST, GROUP_CUT };
static int group_side(const rx_iter *it, size_t nbuf, const unsigned char *tail, size_t tlen)
{
    const unsigned char *bound = NONNULL(it->bound);
    size_t blen = it->bound_len, end = nbuf + tlen, n = end < blen ? end : blen, i;
    unsigned char c = 0;
    for (i = 0; i < n; i++) {
        c = i < nbuf ? it->buf[i] : tail[i - nbuf];
        if (c != bound[i])
            break;
    }
    if (i == end)
        return GROUP_CUT;
    /* i == blen: the path extends the bound, so its keys sort after it */
    if (i == blen ? !it->backward : (c > bound[i]) != (it->backward != 0))
        return GROUP_PAST;
    return GROUP_IN;
}

/* The keys with the prefix are exactly those below the first node whose
 * path spells the whole prefix.  A seek inside the prefix's range puts that
 * node on the stack when it exists, so checking the prefix once here lets
 * every step skip the check: the walk just ends when it pops that node's
 * frame (depth == base).  No such frame: no key with the prefix is left. */
static void set_base(rx_iter *it)
{
    size_t i, plen = it->prefix_len;
    it->base = 0;
    if (plen == 0)
        return;
    for (i = 0; i < it->depth; i++) {
        if (it->stack[i].end >= plen) {
            if (memcmp(it->buf, it->prefix, plen) == 0) {
                it->base = i;
                return;
            }
            break;
        }
    }
    it->depth = 0; /* not exhausted yet: a change before the next step reseeks */
}

/* Seeks to the position described by it->resume_op and it->resume. */
static int reseek(rx_iter *it)
{
    const unsigned char *target = NONNULL(it->resume);
    const unsigned char *prefix = NONNULL(it->prefix);
    size_t len = it->resume_len;
    int rc;
    it->depth = 0;
    it->base = 0;
    it->group_len = 0;
    it->entry_group = 0; /* (rx_iter_next read it for the resume op already) */
    it->emitted = 0;
    it->exhausted = 0;
    it->written = 0; /* the seek rewrites the buffer: check the next key whole */
    it->version = it->tree->version;
    switch (it->resume_op) {
    case RX_SEEK_FIRST:
        rc = seek_forward(it, prefix, it->prefix_len, 0, 0);
        break;
    case RX_SEEK_LAST:
        rc = seek_backward(it, prefix, it->prefix_len, 0, 1);
        break;
    case RX_SEEK_GE:
    case RX_SEEK_GT:
        rc = seek_forward(it, target, len, it->resume_op == RX_SEEK_GT, 0);
        break;
    case SEEK_PAST_PREFIX:
        rc = seek_forward(it, target, len, 0, 1);
        break;
    default:
        rc = seek_backward(it, target, len, it->resume_op == RX_SEEK_LT, 0);
        break;
    }
    if (rc != RX_OK) {
        it->depth = 0;
        it->version = it->tree->version - 1; /* retry on the next step */
        return rc;
    }
    set_base(it);
    /* the seek's path may lead into a group: its first key found is the
     * group (emit) */
    if (it->delim_len && it->depth)
        it->group_len = group_end(it, 0, it->stack[it->depth - 1].end, NULL, 0);
    return RX_OK;
}

/* Marks the iterator as having no key left in its direction. */
static void exhaust(rx_iter *it)
{
    it->group_len = 0;
    it->depth = 0;
    it->exhausted = 1;
    it->emitted = 0;
    it->version = it->tree->version;
}

/* Seeks to target (copied) with the resume op `op`; on failure the
 * iterator is exhausted. */
static int seek_to(rx_iter *it, int op, const unsigned char *target, size_t len)
{
    if (set_bytes(it->tree, &it->resume, &it->resume_cap, &it->resume_len, target, len) != RX_OK) {
        exhaust(it);
        return RX_ENOMEM;
    }
    it->resume_op = op;
    if (reseek(it) != RX_OK) {
        exhaust(it);
        return RX_ENOMEM;
    }
    return RX_OK;
}

int rx_iter_seek(rx_iter *it, rx_seek_op op, const unsigned char *key, size_t len)
{
    size_t plen, shared;
    int side = 0;

    if (it->prefix_staged)
        apply_staged_prefix(it);
    it->seeked = 1;
    it->skipping = 0;
    it->backward = op == RX_SEEK_LAST || op == RX_SEEK_LE || op == RX_SEEK_LT;
    if (op == RX_SEEK_FIRST || op == RX_SEEK_LAST) {
        len = 0; /* key is ignored, and may be anything */
    } else {
        /* where target lies against the prefix's range: <0 before, 0 in, >0 after */
        int cmp;
        plen = it->prefix_len;
        shared = len < plen ? len : plen;
        cmp = compare_bytes(key, it->prefix, shared);
        side = cmp != 0 ? cmp : (len < plen ? -1 : 0);
    }
    if (side != 0 && (side < 0) == !it->backward) {
        /* the whole prefix range lies on the requested side of target */
        op = it->backward ? RX_SEEK_LAST : RX_SEEK_FIRST;
        side = 0;
        len = 0;
    }
    if (side != 0) { /* no key with the prefix is on that side */
        exhaust(it);
        return RX_OK;
    }
    return seek_to(it, op, key, len);
}

int rx_iter_skip_prefix(rx_iter *it, const unsigned char *group, size_t len)
{
    size_t plen = it->prefix_len, shared = len < plen ? len : plen, i;
    int cmp;

    if (!it->seeked)
        return RX_OK; /* no direction yet: nothing to skip */
    group = NONNULL(group);
    cmp = compare_bytes(group, NONNULL(it->prefix), shared);
    if (cmp == 0 && len <= plen) { /* every key listed starts with group */
        exhaust(it);
        return RX_OK;
    }
    if (cmp != 0) {
        /* group's keys lie wholly before or after the prefix's range: past
         * them is either every key with the prefix or none */
        if ((cmp < 0) == (it->backward != 0)) {
            exhaust(it);
            return RX_OK;
        }
        return seek_to(it, it->backward ? RX_SEEK_LAST : RX_SEEK_FIRST, NULL, 0);
    }
    if (!it->exhausted && it->emitted && it->version == it->tree->version &&
        it->key_len >= len && memcmp(it->buf, group, len) == 0) {
        /* The key returned last is in the group, so the stack holds the
         * path to it: the group's keys are exactly the subtree of the
         * first node on that path whose key reaches len bytes.  Popping
         * that node's frame leaves its parent positioned on it, and the
         * parent's next step in either direction leaves the group.  When
         * no frame reaches len, that node was a leaf answered from its
         * parent, or (backward) a node whose keys are all returned
         * already: there is nothing left in the group to pop. */
        for (i = 0; i < it->depth; i++) {
            if (it->stack[i].end >= len) {
                it->depth = i;
                break;
            }
        }
        /* a change to the tree before the next step re-seeks past the
         * group, not after the key (which would land inside it again) */
        if (set_bytes(it->tree, &it->resume, &it->resume_cap, &it->resume_len, group, len) !=
            RX_OK) {
            exhaust(it);
            return RX_ENOMEM;
        }
        it->resume_op = it->backward ? RX_SEEK_LT : SEEK_PAST_PREFIX;
        it->emitted = 0;
        it->written = 0;
        it->skipping = 1;
        return RX_OK;
    }
    if (seek_to(it, it->backward ? RX_SEEK_LT : SEEK_PAST_PREFIX, group, len) != RX_OK)
        return RX_ENOMEM;
    it->skipping = 1;
    return RX_OK;
}

size_t rx_iter_prefix_count(const rx_iter *it)
{
    /* after a seek, the frame at base is the root of the prefix's subtree
     * (set_base); no frame there: no key has the prefix */
    return it->depth > it->base ? it->stack[it->base].node->count : 0;
}

/* Whether the key in the first `len` bytes of the buffer lies beyond the
 * end bound (rx_iter_set_end).  Keys come in order, so this is decided by
 * where the key first differs from the bound.  The key returned last
 * shared bound_match bytes with the bound and was within it; when the new
 * key keeps more than that of it (buffer bytes below `written` are
 * unchanged since), it differs from the bound at the same byte, the same
 * way, and needs no comparison at all.  In a listing of neighbouring keys
 * that is most keys: only a step that rewrites the bytes at or above the
 * point where the path leaves the bound's compares, and then only from
 * `written` on. */
static int past_bound(rx_iter *it, size_t len)
{
    const unsigned char *key = it->buf, *bound = NONNULL(it->bound);
    size_t from = it->written < len ? it->written : len;
    size_t blen = it->bound_len, n = len < blen ? len : blen, i;
    int cmp;
    it->written = len;
    if (from > it->bound_match)
        return 0;
    for (i = from; i < n && key[i] == bound[i]; i++)
        ;
    it->bound_match = i;
    if (i < n)
        cmp = key[i] < bound[i] ? -1 : 1;
    else
        cmp = len < blen ? -1 : (len > blen ? 1 : 0);
    if (cmp == 0)
        return !it->bound_inclusive;
    return it->backward ? cmp < 0 : cmp > 0;
}

/* Makes the first `end` bytes of the buffer the iterator's answer (it has
 * the prefix: the walk never leaves the prefix's subtree, see set_base),
 * or, past the end bound, ends the walk and returns 0. */
/* The first key met in the group noted on the path (group_len) was just
 * made the answer: the group is the entry instead, and its frames go
 * (those reaching into it), so the next step leaves it. */
static int emit_noted_group(rx_iter *it)
{
    size_t g = it->group_len;
    while (it->depth > 0 && it->stack[it->depth - 1].end >= g)
        it->depth--;
    it->group_len = 0;
    it->key_len = g;
    it->value = NULL;
    it->entry_group = 1;
    return RX_GROUP;
}

/* `delimited` is a constant at every call (the walk loops come in two
 * versions), so a listing without a delimiter pays nothing for groups. */
static RX_ALWAYS_INLINE int emit(rx_iter *it, size_t end, void *value, int delimited)
{
    if (it->has_bound) {
        /* past_bound's shortcut, inline: most keys of a range need no look
         * at the bound */
        if ((it->written < end ? it->written : end) > it->bound_match) {
            it->written = end;
        } else if (past_bound(it, end)) {
            /* the walk loops stop at depth 0; rx_iter_next returns 0 from now on */
            exhaust(it);
            return 0;
        }
    }
    it->key = it->buf;
    it->key_len = end;
    it->value = value;
    it->emitted = 1;
    it->skipping = 0;
    if (delimited) {
        it->entry_group = 0;
        if (it->group_len && end >= it->group_len)
            return emit_noted_group(it);
    }
    return 1;
}

/* Returns the group buf[0, nbuf) + tail[0, g - nbuf) as the entry, its
 * keys known to lie within the end bound (none of them is visited). */
static int emit_group(rx_iter *it, size_t nbuf, const unsigned char *tail, size_t g)
{
    if (g > it->buf_cap && grow_buffer(it->tree, (void **)&it->buf, &it->buf_cap, g, 1) != RX_OK) {
        it->exhausted = 1;
        it->depth = 0;
        return RX_ENOMEM;
    }
    if (g > nbuf)
        copy_short(it->buf + nbuf, tail, g - nbuf);
    it->key = it->buf;
    it->key_len = g;
    it->value = NULL;
    it->emitted = 1;
    it->skipping = 0;
    it->entry_group = 1;
    it->written = 0; /* for past_bound: compare the next key whole */
    return RX_GROUP;
}

/* In a big tree built in random order every node the walk enters is a
 * cache miss, and the walk alone cannot overlap them: a node is only found
 * by reading its parent.  Siblings are known early, though, so the walk
 * requests a child's header this many steps before entering it (except on
 * the way to the first key after rx_iter_skip_prefix: a directory-style
 * listing takes one key of a group and skips the rest, so the siblings of
 * that descent are mostly never read, and requesting eight of them per
 * level cost more than the descent itself; a frame left without its window
 * starts it at its next step)... */
#define ITER_PREFETCH 8
/* ...and this many steps before, when that header has most likely arrived,
 * the rest of what entering the child will read: its child array, prefix
 * and first child. */
#define ITER_PREFETCH_INNER 4

/* A header is 20 bytes at any 16-byte-aligned address: up to two lines. */
#define prefetch_header(n)                                \
    do {                                                  \
        rx_prefetch(n);                                   \
        rx_prefetch((const char *)(n) + HEADER_SIZE - 1); \
    } while (0)

static void prefetch_inside(rx_node *n, int backward)
{
    if (n->num_children == 0)
        return;
    if (n->type <= NODE_16) {
        /* up to four lines; children are held by index, so the first is
         * known without a scan */
        const char *p = (const char *)n;
        size_t size = node_size(n), off;
        for (off = 64; off < size; off += 64)
            rx_prefetch(p + off);
        rx_prefetch(p + size - 1);
        prefetch_header(node_children(n)[backward ? n->num_children - 1 : 0]);
    } else if (n->prefix_len) {
        rx_prefetch(node_prefix(n)); /* N48/N256: finding a child takes a scan */
    }
}

/* N48/N256 part of prefetch_siblings: slots are bytes, so finding the
 * next children takes a scan; `ahead` remembers the last one requested. */
static void prefetch_siblings_wide(struct rx_iter_frame *f, int slot, int backward)
{
    rx_node *n = f->node, *child;
    unsigned char byte;
    if (f->lead == 0)
        f->ahead = slot;
    else
        f->lead--;
    while (f->lead < ITER_PREFETCH) {
        int s = backward ? prev_slot(n, f->ahead, &child, &byte)
                         : next_slot(n, f->ahead, &child, &byte);
        if (s < 0) {
            f->lead = ITER_PREFETCH + 1; /* none left: stop looking */
            break;
        }
        prefetch_header(child);
        f->ahead = s;
        f->lead++;
    }
}

/* Called as the walk enters the child at `slot` of frame f's node: keeps
 * the next ITER_PREFETCH children (in the walk's direction) requested. */
static RX_ALWAYS_INLINE void prefetch_siblings(struct rx_iter_frame *f, rx_node *n, int slot,
                                               int backward)
{
    /* N4/N16: slots are indexes, so each step requests one more: no
     * bookkeeping past the first step, which requests the whole window */
    rx_node **children;
    int num, d = backward ? -1 : 1, i, s;
    if (n->type > NODE_16) {
        prefetch_siblings_wide(f, slot, backward);
        return;
    }
    children = node_children(n);
    num = n->num_children;
    if (f->lead == 0) {
        f->lead = 1;
        for (i = 1; i < ITER_PREFETCH; i++) {
            s = slot + d * i;
            if (s < 0 || s >= num)
                break;
            prefetch_header(children[s]);
        }
    }
    s = slot + d * ITER_PREFETCH;
    if (s >= 0 && s < num)
        prefetch_header(children[s]);
    s = slot + d * ITER_PREFETCH_INNER;
    if (s >= 0 && s < num)
        prefetch_inside(children[s], backward);
}

/* Enters `child`, reached from frame f by `byte`.  A child without
 * children is a key and nothing more: it is answered straight from f (its
 * bytes written after f's), with no frame pushed or popped for it.  That
 * is most of the keys in trees of numbered keys (".../17": a digit leaf).
 * Otherwise the child gets a frame, and in forward order its value comes
 * first, so it is answered at once.  0 when there is nothing to answer
 * yet, 1 when there is, or RX_ENOMEM. */
static RX_ALWAYS_INLINE int enter_child(rx_iter *it, struct rx_iter_frame *f, rx_node *child,
                                        unsigned char byte, int backward, int delimited)
{
    size_t end = f->end;
    it->buf[end] = byte;
    if (end < it->written)
        it->written = end; /* for past_bound: the key changes from here on */
    if (child->num_children == 0 && child->has_value) {
        size_t plen = child->prefix_len, key_len = end + 1 + plen;
        if (plen) {
            if (key_len > it->buf_cap &&
                grow_buffer(it->tree, (void **)&it->buf, &it->buf_cap, key_len, 1) != RX_OK)
                goto nomem;
            copy_short(it->buf + end + 1, node_prefix(child), plen);
        }
        return emit(it, key_len, child->value, delimited);
    }
    if (push_frame(it, child, end + 1, backward ? POS_END : POS_CHILDREN) != RX_OK)
        goto nomem;
    if (!backward && child->has_value)
        return emit(it, it->stack[it->depth - 1].end, child->value, delimited);
    return 0;
nomem:
    /* the buffer no longer spells the last key, so no retry */
    it->exhausted = 1;
    it->depth = 0;
    return RX_ENOMEM;
}

/* enter_child for a listing with a delimiter: returns the group the child
 * starts, if any, without entering it (see "delimiter listings" above). */
static int enter_delimited(rx_iter *it, struct rx_iter_frame *f, rx_node *child,
                           unsigned char byte, int backward)
{
    size_t end = f->end, plen = child->prefix_len, g;
    const unsigned char *tail = node_prefix(child);
    if (it->group_len) {
        if (end >= it->group_len) /* inside the group noted: no new one */
            return enter_child(it, f, child, byte, backward, 1);
        it->group_len = 0; /* the walk leaves it */
    }
    it->buf[end] = byte; /* within the buffer: f's push made room for it */
    g = group_end(it, end, end + 1, tail, plen);
    if (g == 0 || (child->num_children == 0 && child->has_value)) {
        /* no group, or a key alone (emit returns the group of a noted one) */
        it->group_len = g;
        return enter_child(it, f, child, byte, backward, 1);
    }
    switch (it->has_bound ? group_side(it, end + 1, tail, plen) : GROUP_IN) {
    case GROUP_IN:
        if (end < it->written)
            it->written = end;
        return emit_group(it, end + 1, tail, g);
    case GROUP_PAST:
        exhaust(it);
        return 0;
    default: /* the bound cuts the group: walk to its first key in range */
        it->group_len = g;
        return enter_child(it, f, child, byte, backward, 1);
    }
}

/* One step into a child: with a delimiter, enter_delimited. */
#define ENTER(it, f, child, byte, backward, delimited)                             \
    ((delimited) ? enter_delimited(it, f, child, byte, backward)                    \
                 : enter_child(it, f, child, byte, backward, 0))

/* The walk in each direction has its own loop: the direction is fixed for
 * a listing, and a step is short enough that testing it costs. */
static RX_ALWAYS_INLINE int walk_forward(rx_iter *it, int delimited)
{
    while (it->depth > it->base) {
        struct rx_iter_frame *f = &it->stack[it->depth - 1];
        rx_node *n = f->node, *child;
        unsigned char byte;
        int slot, rc;
        if (f->pos == POS_VALUE_NEXT) { /* only the frame a seek left on top */
            f->pos = POS_CHILDREN;
            if (n->has_value)
                return emit(it, f->end, n->value, delimited);
        }
        if (n->type <= NODE_16) {
            /* sorted by index: the next child is the next slot (a leaf has
             * num_children 0 and so takes this branch too) */
            slot = f->pos + 1;
            if (slot >= n->num_children) {
                it->depth--;
                continue;
            }
            child = node_children(n)[slot];
            byte = n->tail[slot];
        } else {
            slot = next_slot(n, f->pos, &child, &byte);
            if (slot < 0) {
                it->depth--;
                continue;
            }
        }
        f->pos = slot;
        if (!it->skipping)
            prefetch_siblings(f, n, slot, 0);
        rc = ENTER(it, f, child, byte, 0, delimited);
        if (rc != 0)
            return rc;
    }
    it->exhausted = 1;
    return 0;
}

static RX_ALWAYS_INLINE int walk_backward(rx_iter *it, int delimited)
{
    while (it->depth > it->base) {
        struct rx_iter_frame *f = &it->stack[it->depth - 1];
        rx_node *n = f->node, *child;
        unsigned char byte;
        int slot, rc;
        if (f->pos == POS_DONE) {
            it->depth--;
            continue;
        }
        if (n->type <= NODE_16) { /* as in next_forward */
            slot = (f->pos < n->num_children ? f->pos : n->num_children) - 1;
            if (slot >= 0) {
                child = node_children(n)[slot];
                byte = n->tail[slot];
            }
        } else {
            slot = prev_slot(n, f->pos, &child, &byte);
        }
        if (slot < 0) {
            /* children done: the node's own key is the last; its frame is
             * popped now, the buffer still spells the key */
            it->depth--;
            if (n->has_value)
                return emit(it, f->end, n->value, delimited);
            continue;
        }
        f->pos = slot;
        if (!it->skipping)
            prefetch_siblings(f, n, slot, 1);
        rc = ENTER(it, f, child, byte, 1, delimited);
        if (rc != 0)
            return rc;
    }
    it->exhausted = 1;
    return 0;
}

/* The walks, without and with a delimiter: two versions of each loop. */
static int next_forward(rx_iter *it)
{
    return walk_forward(it, 0);
}

static int next_backward(rx_iter *it)
{
    return walk_backward(it, 0);
}

static int next_forward_delimited(rx_iter *it)
{
    return walk_forward(it, 1);
}

static int next_backward_delimited(rx_iter *it)
{
    return walk_backward(it, 1);
}

int rx_iter_next(rx_iter *it)
{
    if (it->exhausted)
        return 0;
    if (it->version != it->tree->version) {
        /* The tree changed under us: the stack may point at freed nodes.
         * Start again just past the last key returned, which is still in
         * the buffer: nothing has written to it since it was returned. */
        if (it->emitted) {
            if (set_bytes(it->tree, &it->resume, &it->resume_cap, &it->resume_len, it->buf,
                          it->key_len) != RX_OK)
                return RX_ENOMEM;
            /* after a group, past all of it (backward, < the group is) */
            it->resume_op = it->backward      ? RX_SEEK_LT
                            : it->entry_group ? SEEK_PAST_PREFIX
                                              : RX_SEEK_GT;
        }
        if (reseek(it) != RX_OK)
            return RX_ENOMEM; /* resume is kept: the next call tries again */
        if (it->exhausted)
            return 0;
    }
    if (it->delim_len)
        return it->backward ? next_backward_delimited(it) : next_forward_delimited(it);
    return it->backward ? next_backward(it) : next_forward(it);
}

/* ---- bulk building from sorted keys (rx_build_*) ---------------------------
 *
 * Sorted keys make the tree the way a trie is built from sorted input,
 * with no descent from the root.  The builder keeps the path of the last
 * key: a stack of open nodes ("frames"), each ending at a branch point of
 * the keys so far (frame j spells the key from just past frame j-1's
 * branch byte to its own `end`), and the last key's leaf ("pending") below
 * the top frame.  Every open node has exactly one child not linked into it
 * yet: the frame above it, or the pending leaf for the top frame.  A key
 * that shares `shared` bytes with the last one either
 *
 *   - branches inside the pending leaf (shared past the top frame's end):
 *     a frame is opened there, holding the last key as its value when that
 *     key ends there, else as a shorter leaf; or
 *   - branches at or above the top frame's end: the pending leaf and every
 *     frame ending deeper than shared are closed -- linked into the frame
 *     below and never touched again -- and when no frame ends exactly at
 *     shared, one is opened there above the last frame closed (which then
 *     loses the head of its prefix to it).
 *
 * Then the new key's leaf is the pending one, below the frame ending at
 * shared.  Nodes thus appear exactly where rx_insert would put them: at
 * every byte where keys diverge or a key ends inside another.
 *
 * Allocation: a node is allocated by the add that opens it, with its
 * final prefix (a frame's start cannot move while it stays open) and the
 * smallest type with room for its children plus the one not yet linked;
 * when one more child comes the node grows by one type, as insert_child
 * does.  So every node ends as the smallest type for its fan-out (as
 * inserts make it), nodes come in key order with parents before children
 * (the order a listing reads them), except the few re-allocated when they
 * grow or lose a prefix head, and rx_build_finish has nothing left to
 * allocate: it only links, so it cannot fail.  The alternative -- children
 * in per-depth scratch, nodes allocated exactly at close -- would order
 * nodes children first and leave finish with allocations that can fail.
 * (A pending leaf is allocated again, shorter, when the next key branches
 * inside it: its prefix is only final once a key branches at or above it.)
 * An add allocates everything it needs before changing anything, so
 * RX_ENOMEM leaves the builder as it was.  Beyond the tree, a build holds
 * one frame per open node and a copy of the last key: O(longest key).
 */

struct build_frame {
    rx_node *node;
    size_t end; /* key offset of the node's branch byte: its prefix ends here */
};

struct rx_builder {
    /* The tree being built: root NULL until finish, but its node count,
     * memory, longest key and visit stack kept as for the nodes so far. */
    rx_tree *tree;
    struct build_frame *frames; /* open nodes, root first */
    size_t depth, frames_cap;
    rx_node *pending;    /* the last key's leaf, not linked; NULL before any */
    unsigned char *last; /* the last key: checks the next, gives branch bytes */
    size_t last_len, last_cap;
    size_t size; /* keys added */
};

int rx_build_new(rx_builder **out, const rx_allocator *alloc)
{
    rx_tree *t = rx_tree_new(alloc);
    rx_builder *b;
    if (t == NULL)
        return RX_ENOMEM;
    b = t->alloc.malloc_fn(t->alloc.ctx, sizeof *b);
    if (b == NULL) {
        rx_tree_free(t, NULL, NULL);
        return RX_ENOMEM;
    }
    memset(b, 0, sizeof *b);
    b->tree = t;
    *out = b;
    return RX_OK;
}

/* key comes strictly after the last key and shares exactly `shared` bytes
 * with it. */
static int build_order_ok(const rx_builder *b, const unsigned char *key, size_t len,
                          size_t shared)
{
    const unsigned char *last = b->last;
    if (b->pending == NULL)
        return shared == 0;
    if (shared > len || shared > b->last_len || compare_bytes(key, last, shared) != 0)
        return 0;
    if (shared == b->last_len) /* the last key is a prefix of this one */
        return len > shared;
    return shared < len && key[shared] > last[shared];
}

/* Links child, closed, into frame j as the child for the last key's byte
 * at the frame's end. */
static void build_link(rx_builder *b, size_t j, rx_node *child)
{
    rx_node *n = b->frames[j].node;
    unsigned char byte = b->last[b->frames[j].end];
    /* Keys come sorted, so a child sorts after every one already linked:
     * small nodes append, without add_child's search and moves (a tenth
     * of a load's time went there). */
    if (n->type == NODE_4 || n->type == NODE_16) {
        n->tail[n->num_children] = byte;
        node_children(n)[n->num_children] = child;
        n->num_children++;
    } else {
        add_child(n, byte, child);
    }
    n->count += child->count;
}

int rx_build_add(rx_builder *b, const unsigned char *key, size_t len, size_t shared, void *value)
{
    rx_tree *t = b->tree;
    struct visit_frame *fresh_stack = NULL;
    size_t fresh_cap = 0, keep = b->depth, top_end = 0, leaf_start = shared + 1;
    rx_node *opened = NULL; /* a frame opened at shared */
    rx_node *moved = NULL;  /* a node that moves below it with a shorter prefix */
    rx_node *grown = NULL;  /* the frame ending at shared, one type bigger */
    rx_node *leaf;
    int split_pending = 0;

    key = NONNULL(key);
    if (len > RX_MAX_KEY_LEN)
        return RX_ETOOBIG;
    if (!build_order_ok(b, key, len, shared))
        return RX_EORDER;
    if (b->size == UINT32_MAX)
        return RX_ETOOBIG;
    /* the builder's own buffers first: growing them changes nothing (the
     * checks inline: they rarely grow, and an add is a load's inner loop) */
    if ((len >= b->last_cap || b->depth + 1 > b->frames_cap) &&
        (grow_buffer(t, (void **)&b->last, &b->last_cap, len ? len : 1, 1) != RX_OK ||
         grow_buffer(t, (void **)&b->frames, &b->frames_cap, b->depth + 1, sizeof *b->frames) !=
             RX_OK))
        return RX_ENOMEM;
    if (visit_frames_needed(t, len) > t->visit_cap &&
        !reserve_for_new_nodes(t, len, &fresh_stack, &fresh_cap))
        return RX_ENOMEM;

    /* Allocate what this key needs, in key order, before changing anything. */
    if (b->depth)
        top_end = b->frames[b->depth - 1].end;
    if (b->pending == NULL) {
        leaf_start = 0;
    } else if (b->depth == 0 || shared > top_end) {
        size_t start = b->depth ? top_end + 1 : 0;
        split_pending = 1;
        opened = node_new(t, NODE_4, shared - start);
        if (opened && shared < b->last_len) {
            moved = node_new(t, NODE_LEAF, b->last_len - shared - 1);
            if (moved == NULL)
                goto nomem;
        }
        if (opened == NULL)
            goto nomem;
    } else {
        while (keep > 0 && b->frames[keep - 1].end > shared)
            keep--;
        if (keep > 0 && b->frames[keep - 1].end == shared) {
            /* it links what it has pending and takes the new key's leaf */
            rx_node *n = b->frames[keep - 1].node;
            if (n->num_children + 2 > CAPACITY[n->type]) {
                grown = node_new(t, n->type + 1, n->prefix_len);
                if (grown == NULL)
                    goto nomem;
            }
        } else {
            size_t start = keep ? b->frames[keep - 1].end + 1 : 0;
            rx_node *low = b->frames[keep].node;
            opened = node_new(t, NODE_4, shared - start);
            moved = node_new(t, low->type, b->frames[keep].end - shared - 1);
            if (opened == NULL || moved == NULL)
                goto nomem;
        }
    }
    leaf = node_new(t, NODE_LEAF, len - leaf_start);
    if (leaf == NULL)
        goto nomem;

    /* From here on nothing fails. */
    if (split_pending) {
        rx_node *old = b->pending;
        size_t start = b->depth ? top_end + 1 : 0;
        memcpy(node_prefix(opened), b->last + start, shared - start);
        if (moved) {
            memcpy(node_prefix(moved), b->last + shared + 1, moved->prefix_len);
            moved->value = old->value;
            moved->has_value = 1;
            moved->count = 1;
            add_child(opened, b->last[shared], moved);
        } else {
            opened->value = old->value;
            opened->has_value = 1;
        }
        opened->count = 1;
        node_free(t, old);
        b->frames[b->depth].node = opened;
        b->frames[b->depth++].end = shared;
    } else if (b->pending) {
        build_link(b, b->depth - 1, b->pending);
        while (b->depth > keep + 1) {
            b->depth--;
            build_link(b, b->depth - 1, b->frames[b->depth].node);
        }
        if (b->depth > keep) { /* frames[keep] ends past shared: it closes too */
            rx_node *closed = b->frames[keep].node;
            if (opened == NULL) { /* frames[keep - 1] ends at shared */
                b->depth--;
                build_link(b, keep - 1, closed);
            } else {
                size_t start = keep ? b->frames[keep - 1].end + 1 : 0;
                uint32_t moved_len = moved->prefix_len;
                /* same type: header and children as they are, prefix cut */
                memcpy(moved, closed, PREFIX_OFFSET[closed->type]);
                moved->prefix_len = moved_len;
                memcpy(node_prefix(moved), b->last + shared + 1, moved_len);
                memcpy(node_prefix(opened), b->last + start, shared - start);
                opened->count = moved->count;
                add_child(opened, b->last[shared], moved);
                node_free(t, closed);
                b->frames[keep].node = opened;
                b->frames[keep].end = shared;
            }
        }
        if (grown) {
            struct build_frame *top = &b->frames[b->depth - 1];
            node_copy_contents(grown, top->node);
            node_free(t, top->node);
            top->node = grown;
        }
    }
    memcpy(node_prefix(leaf), key + leaf_start, len - leaf_start);
    leaf->value = value;
    leaf->has_value = 1;
    leaf->count = 1;
    b->pending = leaf;
    if (len > shared)
        memcpy(b->last + shared, key + shared, len - shared);
    b->last_len = len;
    b->size++;
    if (len > t->longest)
        t->longest = len;
    if (fresh_stack)
        visit_stack_install(t, fresh_stack, fresh_cap);
    return RX_OK;

nomem:
    if (opened)
        node_free(t, opened);
    if (moved)
        node_free(t, moved);
    if (grown)
        node_free(t, grown);
    if (fresh_stack)
        t->alloc.free_fn(t->alloc.ctx, fresh_stack, fresh_cap * sizeof *fresh_stack);
    return RX_ENOMEM;
}

int rx_build_finish(rx_builder *b, rx_tree **out)
{
    rx_tree *t = b->tree;
    rx_allocator alloc = t->alloc;
    rx_node *closed = b->pending;
    /* every open node has room for its last child: linking cannot fail */
    while (b->depth > 0) {
        b->depth--;
        build_link(b, b->depth, closed);
        closed = b->frames[b->depth].node;
    }
    t->root = closed;
    t->version = b->size; /* as if each key had been inserted */
    if (b->frames)
        alloc.free_fn(alloc.ctx, b->frames, b->frames_cap * sizeof *b->frames);
    if (b->last)
        alloc.free_fn(alloc.ctx, b->last, b->last_cap);
    alloc.free_fn(alloc.ctx, b, sizeof *b);
    *out = t;
    return RX_OK;
}

void rx_build_abort(rx_builder *b, rx_release_fn release, void *ctx)
{
    rx_tree *t;
    rx_build_finish(b, &t);
    rx_tree_free(t, release, ctx);
}

/* ---- checking (rx_check) ----------------------------------------------- */

struct check_item {
    const rx_node *node;
    size_t height;  /* nodes from the root to this one, itself included */
    size_t key_end; /* length of the key spelled down to its prefix's end */
};

/* The invariants of one node, its children excepted. */
static const char *check_node(const rx_node *n, int *compact)
{
    rx_node *const *children;
    uint64_t sum;
    unsigned i, num = n->num_children, seen = 0;
    int smallest;
    if (n->type > NODE_256)
        return "node of no known type";
    if (num > CAPACITY[n->type])
        return "more children than the node type holds";
    if (n->has_value > 1)
        return "has_value neither 0 nor 1";
    if (n->type == NODE_LEAF && !n->has_value)
        return "leaf without a value";
    children = (rx_node *const *)(const void *)((const unsigned char *)n + CHILD_OFFSET[n->type]);
    sum = n->has_value;
    switch (n->type) {
    case NODE_4:
    case NODE_16:
        for (i = 0; i < num; i++) {
            if (children[i] == NULL)
                return "missing child in a 4/16-way node";
            if (i > 0 && n->tail[i - 1] >= n->tail[i])
                return "4/16-way node keys not strictly increasing";
            sum += children[i]->count;
        }
        break;
    case NODE_48: {
        uint64_t used = 0;
        for (i = 0; i < 256; i++) {
            unsigned slot = n->tail[i];
            if (slot == 0)
                continue;
            if (slot > num || (used >> (slot - 1) & 1u))
                return "48-way node index out of range or shared";
            used |= (uint64_t)1 << (slot - 1);
            if (children[slot - 1] == NULL)
                return "missing child in a 48-way node";
            sum += children[slot - 1]->count;
            seen++;
        }
        if (seen != num)
            return "48-way node index does not cover its children";
        break;
    }
    case NODE_256:
        for (i = 0; i < 256; i++) {
            if (children[i]) {
                sum += children[i]->count;
                seen++;
            }
        }
        if (seen != num)
            return "256-way node children differ from its count";
        break;
    default:
        break;
    }
    if (sum != n->count)
        return "count is not the value plus the children's counts";
    if (n->count == 0)
        return "node holding nothing";
    smallest = num == 0 ? NODE_LEAF : num <= 4 ? NODE_4 : num <= 16 ? NODE_16 : num <= 48 ? NODE_48 : NODE_256;
    if (n->type != smallest || (!n->has_value && num == 1))
        *compact = 0;
    return NULL;
}

const char *rx_check(const rx_tree *tree, rx_check_stats *stats)
{
    rx_check_stats local;
    struct check_item *stack = NULL;
    size_t depth = 0, cap = 0, nodes = 0, longest = 0;
    const char *err = NULL;
    rx_tree *t = (rx_tree *)tree; /* grow_buffer takes the allocator from it */
    if (stats == NULL)
        stats = &local;
    memset(stats, 0, sizeof *stats);
    stats->compact = 1;
    stats->visit_bytes = tree->visit_cap * sizeof *tree->visit_stack;
    if (tree->root) {
        if (grow_buffer(t, (void **)&stack, &cap, 1, sizeof *stack) != RX_OK)
            return "out of memory for the check";
        stack[0].node = tree->root;
        stack[0].height = 1;
        stack[0].key_end = tree->root->prefix_len;
        depth = 1;
    }
    while (depth > 0 && err == NULL) {
        struct check_item item = stack[--depth];
        const rx_node *n = item.node;
        rx_node *child;
        unsigned char byte;
        int s;
        if ((err = check_node(n, &stats->compact)) != NULL)
            break;
        nodes++;
        stats->nodes_of_type[n->type]++;
        stats->node_bytes += node_size(n);
        if (item.height > stats->height)
            stats->height = item.height;
        if (item.key_end > longest)
            longest = item.key_end;
        for (s = next_slot((rx_node *)n, -1, &child, &byte); s >= 0;
             s = next_slot((rx_node *)n, s, &child, &byte)) {
            if (grow_buffer(t, (void **)&stack, &cap, depth + 1, sizeof *stack) != RX_OK) {
                err = "out of memory for the check";
                break;
            }
            stack[depth].node = child;
            stack[depth].height = item.height + 1;
            stack[depth++].key_end = item.key_end + 1 + child->prefix_len;
        }
    }
    if (stack)
        t->alloc.free_fn(t->alloc.ctx, stack, cap * sizeof *stack);
    if (err)
        return err;
    if (nodes != tree->nodes)
        return "node total differs from the nodes reachable";
    if (sizeof *tree + stats->node_bytes + stats->visit_bytes != tree->memory)
        return "rx_memory differs from the tree, its nodes and its visit stack";
    if (tree->root && stats->height > tree->visit_cap)
        return "visit stack shorter than the tree's height";
    if (longest > tree->longest)
        return "a key longer than the longest recorded";
    return NULL;
}
