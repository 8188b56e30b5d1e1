# cython: language_level=3
#
# Cython view of csrc/radix.h, declaration for declaration and in the same
# order, so the C contract and the binding cannot drift apart unnoticed.
# Ownership and error rules are documented in radix.h; they are not repeated
# here.  Logic lives in _core.pyx.
#
# The GIL is never released around these calls: the binding's trees draw
# from a node pool (pool.h, below) per store whose chunks come from PyMem_*,
# and its release callback runs Py_DECREF, all of which need the GIL (which
# also serialises each store's pool).

from libc.stdint cimport uint64_t


cdef extern from "radix.h":

    # Status codes.
    int RX_OK
    int RX_ENOMEM
    int RX_ETOOBIG
    int RX_EORDER

    size_t RX_MAX_KEY_LEN

    ctypedef struct rx_allocator:
        void *(*malloc_fn)(void *ctx, size_t size) noexcept
        void *(*realloc_fn)(void *ctx, void *ptr, size_t old_size, size_t new_size) noexcept
        void (*free_fn)(void *ctx, void *ptr, size_t size) noexcept
        void *ctx

    ctypedef struct rx_tree
    ctypedef struct rx_node

    ctypedef void (*rx_release_fn)(void *value, void *ctx) noexcept

    rx_tree *rx_tree_new(const rx_allocator *alloc)
    void rx_tree_free(rx_tree *tree, rx_release_fn release, void *ctx)
    size_t rx_size(const rx_tree *tree)
    size_t rx_memory(const rx_tree *tree)
    size_t rx_spare_memory(const rx_tree *tree)
    uint64_t rx_version(const rx_tree *tree)

    int rx_find(const rx_tree *tree, const unsigned char *key, size_t len,
                void **value)
    size_t rx_find_many(const rx_tree *tree, size_t n,
                        const unsigned char *const *keys, const size_t *lens,
                        void **values, void *missing)
    int rx_insert(rx_tree *tree, const unsigned char *key, size_t len,
                  void *value, void **old)
    int rx_remove(rx_tree *tree, const unsigned char *key, size_t len,
                  void **old)

    size_t rx_count_prefix(const rx_tree *tree, const unsigned char *prefix,
                           size_t len)
    size_t rx_count_range(const rx_tree *tree, const unsigned char *lo, size_t lo_len,
                          const unsigned char *hi, size_t hi_len, int has_hi)
    int rx_longest_prefix(const rx_tree *tree, const unsigned char *key,
                          size_t len, size_t *match_len, void **value)
    size_t rx_remove_prefix(rx_tree *tree, const unsigned char *prefix,
                            size_t len, rx_release_fn release, void *ctx)
    size_t rx_clear(rx_tree *tree, rx_release_fn release, void *ctx)

    ctypedef int (*rx_visit_fn)(void *value, void *ctx) noexcept
    int rx_visit_values(const rx_tree *tree, rx_visit_fn visit, void *ctx)

    # Iterators.
    ctypedef enum rx_seek_op:
        RX_SEEK_FIRST
        RX_SEEK_LAST
        RX_SEEK_GE
        RX_SEEK_GT
        RX_SEEK_LE
        RX_SEEK_LT

    # Only the read-only public fields are declared: the C compiler knows the
    # full layout from radix.h, and the binding never touches the private
    # ones.
    ctypedef struct rx_iter:
        const unsigned char *key
        size_t key_len
        void *value

    void rx_iter_init(rx_iter *it, rx_tree *tree)
    int rx_iter_set_prefix(rx_iter *it, const unsigned char *prefix, size_t len)
    int rx_iter_seek(rx_iter *it, rx_seek_op op, const unsigned char *key,
                     size_t len)
    size_t rx_iter_prefix_count(const rx_iter *it)
    int rx_iter_skip_prefix(rx_iter *it, const unsigned char *group,
                            size_t len)
    int rx_iter_set_end(rx_iter *it, const unsigned char *key, size_t len,
                        int inclusive)
    int rx_iter_set_delimiter(rx_iter *it, const unsigned char *delim, size_t len,
                              size_t start)
    int RX_GROUP
    int rx_iter_next(rx_iter *it)
    void rx_iter_release(rx_iter *it)


    # Bulk building from sorted keys.
    ctypedef struct rx_builder

    int rx_build_new(rx_builder **out, const rx_allocator *alloc)
    int rx_build_add(rx_builder *b, const unsigned char *key, size_t len, size_t shared,
                     void *value)
    int rx_build_finish(rx_builder *b, rx_tree **out)
    void rx_build_abort(rx_builder *b, rx_release_fn release, void *ctx)

    # Checking (for tests).
    ctypedef struct rx_check_stats:
        size_t nodes_of_type[5]
        size_t node_bytes
        size_t visit_bytes
        size_t height
        int compact

    const char *rx_check(const rx_tree *tree, rx_check_stats *stats)


cdef extern from "pool.h":

    # Node pool: 8-byte size classes carved from chunks of a backing
    # allocator (csrc/pool.h).
    size_t RX_POOL_SMALL_MAX

    ctypedef struct rx_pool

    rx_pool *rx_pool_new(const rx_allocator *backing)
    void rx_pool_free(rx_pool *pool)
    void rx_pool_allocator(rx_pool *pool, rx_allocator *out)
    size_t rx_pool_footprint(const rx_pool *pool)
    rx_tree *rx_pool_tree_new(rx_pool *pool)
    int rx_pool_build_new(rx_pool *pool, rx_builder **out)
