/*
 * test_util.h -- the small harness shared by the C core's tests.
 *
 * No external framework: CHECK* macros count and report failures (file,
 * line, what differed), a test is a void function registered in
 * test_radix.c, a deterministic PRNG (splitmix64) replaces rand(), a
 * counting allocator can fail on demand, and a reference model (a sorted
 * array of keys) computes what the tree should answer.
 *
 * Portable C99.  Only radix.h's public API is used.
 */
#ifndef MEMSTORE_TEST_UTIL_H
#define MEMSTORE_TEST_UTIL_H

#include "../radix.h"

#include <stddef.h>
#include <stdint.h>

/* ---- checks ------------------------------------------------------------ */

/* Every CHECK returns 1 when it held, 0 (after printing) when it did not,
 * so a test can stop early: `if (!CHECK(...)) return;`. */
int t_check(int ok, const char *file, int line, const char *expr);
int t_check_u(int ok, const char *file, int line, const char *expr_a, const char *expr_b,
              unsigned long long a, unsigned long long b);
int t_check_eq(unsigned long long a, unsigned long long b, const char *file, int line,
               const char *expr_a, const char *expr_b);
int t_check_key(const char *file, int line, const char *what, const unsigned char *got,
                size_t got_len, const unsigned char *want, size_t want_len);
/* Prints a note attached to the current test (shown on failure context). */
void t_note(const char *fmt, ...);
/* Where the test is (e.g. "seed 7, op 1234"): printed with every failure
 * report until changed; cleared between tests. */
void t_where(const char *fmt, ...);
/* Context printed with the next failure report (e.g. "seed 7, op 1234"). */
void t_context(const char *fmt, ...);

#define CHECK(cond) t_check(!!(cond), __FILE__, __LINE__, #cond)
/* Integers (including sizes, return codes, pointers cast to uintptr_t).
 * Each operand is evaluated once. */
#define CHECK_EQ(a, b)                                                                     \
    t_check_eq((unsigned long long)(a), (unsigned long long)(b), __FILE__, __LINE__, #a, #b)
#define CHECK_PTR(a, b) CHECK_EQ((uintptr_t)(a), (uintptr_t)(b))
#define CHECK_KEY(what, got, glen, want, wlen)                                               \
    t_check_key(__FILE__, __LINE__, what, (const unsigned char *)(got), (glen),             \
                (const unsigned char *)(want), (wlen))
/* Stop the current test function on failure. */
#define REQUIRE(x) \
    do {           \
        if (!(x))  \
            return; \
    } while (0)

/* Number of failed checks in the current test so far. */
unsigned long t_failures(void);

/* ---- configuration ------------------------------------------------------ */

extern uint64_t t_seed;   /* RX_TEST_SEED or argv[1]; default fixed */
extern double t_scale;    /* RX_TEST_SCALE; default 1 */
/* n scaled by RX_TEST_SCALE, at least 1. */
size_t t_scaled(size_t n);

/* ---- PRNG (splitmix64) --------------------------------------------------- */

typedef struct {
    uint64_t s;
} t_rng;

void rng_seed(t_rng *r, uint64_t seed);
uint64_t rng_next(t_rng *r);
/* Uniform in [0, n) (n > 0). */
size_t rng_below(t_rng *r, size_t n);
/* 1 with probability num/den. */
int rng_chance(t_rng *r, unsigned num, unsigned den);

/* ---- counting allocator ---------------------------------------------------
 * Records every block's size in a header so the sizes the tree passes back
 * to realloc/free are checked; counts live bytes; fails the `fail_at`-th
 * allocation (malloc or realloc, counted from 1 by `attempts`) or every
 * allocation while `fail_all` is set. */

typedef struct {
    size_t live_bytes, live_blocks;
    unsigned long attempts;  /* malloc + realloc calls so far */
    unsigned long fail_at;   /* 0: off; else fail when attempts reaches it */
    int fail_all;
    unsigned long injected;  /* failures injected */
    unsigned long bad_sizes; /* realloc/free called with a size not matching */
    unsigned long bad_ptrs;  /* free/realloc of a block not ours */
} t_alloc;

void talloc_init(t_alloc *a, rx_allocator *out);
/* Turn failure injection off. */
void talloc_heal(t_alloc *a);

/* ---- byte keys ------------------------------------------------------------ */

int keycmp(const unsigned char *a, size_t an, const unsigned char *b, size_t bn);
/* 0 when key starts with prefix, else the sign of keycmp(key, prefix):
 * monotonic over sorted keys, so it bounds the prefix's range. */
int prefix_side(const unsigned char *key, size_t kn, const unsigned char *p, size_t pn);

/* ---- reference model: sorted array of (key, value) ------------------------ */

typedef struct {
    unsigned char *k;
    size_t n;
    uintptr_t v;
} m_entry;

typedef struct {
    m_entry *e;
    size_t n, cap;
} model;

void m_init(model *m);
void m_free(model *m);
void m_clear(model *m);
/* First index whose key is >= key (> when strict). */
size_t m_lower(const model *m, const unsigned char *key, size_t len, int strict);
/* [lo, hi) of the keys starting with prefix. */
void m_prefix_range(const model *m, const unsigned char *p, size_t pn, size_t *lo, size_t *hi);
int m_find(const model *m, const unsigned char *key, size_t len, uintptr_t *v);
/* Returns 1 new / 0 replaced (old in *old). */
int m_insert(model *m, const unsigned char *key, size_t len, uintptr_t v, uintptr_t *old);
int m_remove(model *m, const unsigned char *key, size_t len, uintptr_t *old);
size_t m_count_prefix(const model *m, const unsigned char *p, size_t pn);
int m_longest_prefix(const model *m, const unsigned char *key, size_t len, size_t *ml,
                     uintptr_t *v);
/* Removes [lo, hi); appends the removed values to vals (if not NULL). */
void m_remove_range(model *m, size_t lo, size_t hi, uintptr_t *vals);

/* Expected answer of an iterator seek from the model: the index of the
 * first key the iterator should return (or -1 for none) given the prefix,
 * the op and the target; `*backward` gets the direction. */
long m_seek_index(const model *m, const unsigned char *p, size_t pn, rx_seek_op op,
                  const unsigned char *t, size_t tn, int *backward);
/* Index of the key after `last` (strictly) in the direction within prefix,
 * or -1. */
long m_step_index(const model *m, const unsigned char *p, size_t pn, int backward,
                  const unsigned char *last, size_t ln);

/* Index of the key an iterator with prefix p returns first after
 * rx_iter_skip_prefix(group g) in the direction, or -1: forward, the first
 * key with the prefix after every key starting with g; backward, the last
 * key with the prefix before g. */
long m_past_group_index(const model *m, const unsigned char *p, size_t pn, int backward,
                        const unsigned char *g, size_t gn);

/* ---- tree helpers ------------------------------------------------------- */

/* Compares the whole tree with the model: size, count_prefix(""), a full
 * forward listing (keys and values) and a full backward listing.  Returns 1
 * when equal; prints the first difference otherwise. */
int t_tree_equals_model(rx_tree *t, const model *m, const char *file, int line);
#define CHECK_TREE(t, m) t_tree_equals_model((t), (m), __FILE__, __LINE__)

/* Fills model with the tree's forward listing (values as uintptr_t).
 * Returns 1 on success (0 on an iterator error). */
int t_snapshot(rx_tree *t, model *out);
/* 1 when a and b hold the same keys and values (prints the first diff). */
int t_models_equal(const model *a, const model *b, const char *file, int line);

/* Key formatting for messages: writes a quoted, escaped, possibly truncated
 * rendering of key into buf (size >= 160). */
const char *t_fmt_key(char *buf, const unsigned char *k, size_t n);

/* A tree on a fresh counting allocator (REQUIREs it is not NULL). */
rx_tree *t_new_tree(t_alloc *a);
/* rx_tree_free(t, release, ctx), then checks the allocator holds nothing
 * and saw only the sizes it handed out. */
int t_free_tree(rx_tree *t, t_alloc *a, rx_release_fn release, void *ctx, const char *file,
                int line);
#define FREE_TREE(t, a) t_free_tree((t), (a), NULL, NULL, __FILE__, __LINE__)
/* rx_memory equals the bytes the allocator holds (no iterator open). */
/* No iterator open: every live block is the tree's or kept for its next
 * iterator. */
#define CHECK_MEM(t, a) CHECK_EQ(rx_memory(t) + rx_spare_memory(t), (a)->live_bytes)

/* Values collected by a release callback. */
typedef struct {
    uintptr_t *v;
    size_t n, cap;
} vlist;
void vl_push(vlist *l, uintptr_t v);
void vl_free(vlist *l);
/* rx_release_fn that appends the value to the vlist ctx. */
void vl_collect(void *value, void *ctx);
/* 1 when a and b hold the same values (any order, duplicates counted);
 * sorts both. */
int vl_same(vlist *a, vlist *b, const char *file, int line);
#define CHECK_VALUES(a, b) vl_same((a), (b), __FILE__, __LINE__)

/* An iterator checked against the model at every step: each rx_iter_next
 * must return the key the model says comes next (after the last key
 * returned, in the model as it is now), with its current value. */
typedef struct {
    rx_iter it;
    int active; /* seeked and not finished */
    unsigned char *p, *t, *last;
    size_t pn, tn, ln, pcap, tcap, lcap;
    rx_seek_op op;
    int backward, emitted;
    int past_group; /* the last call was a skip of group t (mi_skip) */
    unsigned long steps;
} miter;

void mi_init(miter *mi, rx_tree *t);
void mi_free(miter *mi);
/* set_prefix then seek; checks both return RX_OK.  Returns 1 on success. */
int mi_seek(miter *mi, const unsigned char *p, size_t pn, rx_seek_op op, const unsigned char *t,
            size_t tn, const char *file, int line);
/* rx_iter_skip_prefix(group g), which must return RX_OK; the following
 * mi_next checks the model's first key past the group.  Only after a
 * successful mi_seek.  Returns 1 on success. */
int mi_skip(miter *mi, const unsigned char *g, size_t gn, const char *file, int line);
#define MI_SKIP(mi, ...) mi_skip((mi), __VA_ARGS__, __FILE__, __LINE__)
/* One rx_iter_next checked against m: returns 1 (a key), 0 (end; the
 * iterator becomes inactive) or -1 on a mismatch (already reported). */
int mi_next(miter *mi, const model *m, const char *file, int line);
/* After a mutation: the key returned last must still be readable and
 * unchanged (it stays valid until the next call on the iterator). */
int mi_key_intact(miter *mi, const char *file, int line);
/* variadic so KEY("...") can stand for a (pointer, length) pair */
#define MI_SEEK(mi, ...) mi_seek((mi), __VA_ARGS__, __FILE__, __LINE__)
#define MI_NEXT(mi, m) mi_next((mi), (m), __FILE__, __LINE__)

const char *t_op_name(rx_seek_op op);

/* rx_visit_values hands out exactly the model's values and allocates
 * nothing (every allocation is made to fail during the walk). */
int t_visit_matches(rx_tree *t, t_alloc *a, const model *m, const char *file, int line);
#define CHECK_VISIT(t, a, m) t_visit_matches((t), (a), (m), __FILE__, __LINE__)

/* Test entry points (one per file). */
void run_unit_tests(void);
void run_iter_tests(void);
void run_model_tests(void);
void run_oom_tests(void);
void run_stress_tests(void);
void run_pool_tests(void);
void run_build_tests(void);

/* Registers and runs one test (name filter: RX_TEST_ONLY substring). */
void t_run(const char *name, void (*fn)(void));

#define KEY(s) ((const unsigned char *)(s)), (sizeof(s) - 1)
#define V(x) ((void *)(uintptr_t)(x))
#define U(p) ((uintptr_t)(p))

#endif
