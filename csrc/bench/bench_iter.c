/*
 * bench_iter.c -- how fast the iterator lists keys in order on a big tree.
 *
 *   make -C csrc bench                 build (-O2) and run with defaults
 *   csrc/build/bench_iter [N] [REPS] [sorted] [warm] [pool]
 *                                      N keys (default 10^6), REPS runs;
 *                                      "warm": only the warm listings, many
 *                                      times over (for perf record);
 *                                      "pool": nodes from pool.h's allocator
 *
 * Builds N chat-style keys (message:<uuid>:<n>, 1..200 messages per
 * session, like benchmarks/workloads.py) inserted in random order, which
 * scatters the nodes over the heap the way a real store's are, then times:
 *
 *   walk      a full in-order listing, touching every key's bytes
 *   walk+copy the same, copying each key into a fresh sequential arena
 *             and doing ~40 dependent multiplies per key: roughly what
 *             building one Python str per key costs
 *   prefix    listings of "message:<uuid>:" for sessions of 90..110
 *             messages, a different session each time (cold, as a
 *             yield_keys(prefix) on a big store mostly is)
 *   prefix-warm the same prefix listed again and again
 *   prefix-warm-back  the same, backward
 *
 * Reports the median ns per key over REPS runs.  Not part of the tests: the
 * numbers depend on the machine, and nothing here asserts on them.
 */
#define _POSIX_C_SOURCE 199309L
#include "pool.h"
#include "radix.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"

struct key {
    char s[64];
    size_t len;
};

/* Consumer stand-ins.  volatile sink keeps the compiler from dropping work. */
static volatile size_t sink;

/* About as much dependent work per key as the binding's str creation; it
 * fills the CPU's window, so misses in the walk cannot overlap by themselves. */
static size_t busy(size_t x)
{
    int i;
    for (i = 0; i < 40; i++)
        x = x * 2654435761u + (x >> 7);
    return x;
}

static size_t list_all(rx_tree *t, unsigned char *arena, size_t *arena_used)
{
    rx_iter it;
    size_t n = 0, acc = 0, used = 0;
    rx_iter_init(&it, t);
    rx_iter_seek(&it, RX_SEEK_FIRST, NULL, 0);
    while (rx_iter_next(&it) == 1) {
        if (arena) {
            /* a str object: ~48 bytes of header then the text */
            memcpy(arena + used + 48, it.key, it.key_len);
            arena[used] = (unsigned char)it.key_len;
            used += (48 + it.key_len + 15) & ~(size_t)15;
            acc = busy(acc + it.key[it.key_len - 1]);
        } else {
            acc += it.key[it.key_len - 1];
        }
        n++;
    }
    rx_iter_release(&it);
    sink = acc;
    if (arena_used)
        *arena_used = used;
    return n;
}

static size_t list_prefix(rx_tree *t, const char *p, size_t plen, int backward)
{
    rx_iter it;
    size_t n = 0, acc = 0;
    rx_iter_init(&it, t);
    rx_iter_set_prefix(&it, (const unsigned char *)p, plen);
    rx_iter_seek(&it, backward ? RX_SEEK_LAST : RX_SEEK_FIRST, NULL, 0);
    while (rx_iter_next(&it) == 1) {
        acc += it.key[it.key_len - 1];
        n++;
    }
    rx_iter_release(&it);
    sink = acc;
    return n;
}

#define MAX_PREFIXES 2000

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
    int reps = argc > 2 ? atoi(argv[2]) : 5, r;
    struct key *keys = malloc(n * sizeof *keys);
    char (*prefixes)[64] = malloc(MAX_PREFIXES * sizeof *prefixes);
    size_t nprefix = 0, i, got, arena_used = 0;
    double *walk = malloc(reps * sizeof(double)), *copy = malloc(reps * sizeof(double));
    double *pre = malloc(reps * sizeof(double)), *warm = malloc(reps * sizeof(double));
    double *back = malloc(reps * sizeof(double));
    int sorted = 0, warm_only = 0, a;
    unsigned char *arena;
    rx_tree *t;
    rx_pool *pool = NULL;
    rx_allocator pool_alloc;
    double t0;

    for (a = 3; a < argc; a++) {
        sorted |= strcmp(argv[a], "sorted") == 0;
        warm_only |= strcmp(argv[a], "warm") == 0;
        if (strcmp(argv[a], "pool") == 0 && pool == NULL) {
            if ((pool = rx_pool_new(NULL)) == NULL)
                return 1;
            rx_pool_allocator(pool, &pool_alloc);
        }
    }
    t = rx_tree_new(pool ? &pool_alloc : NULL);
    if (!keys || !prefixes || !t || !walk || !copy || !pre || !warm || !back || reps < 1)
        return 1;
    for (i = 0; i < n;) {
        char sid[40];
        uint64_t a = rnd(), b = rnd();
        unsigned m = 1 + (unsigned)(rnd() % 200), j;
        sprintf(sid, "%08x-%04x-4%03x-%04x-%012llx", (unsigned)(a >> 32), (unsigned)(a >> 16) & 0xffff,
                (unsigned)a & 0xfff, 0x8000 | ((unsigned)(b >> 48) & 0x3fff),
                (unsigned long long)(b & 0xffffffffffffull));
        if (m >= 90 && m <= 110 && nprefix < MAX_PREFIXES && i + m <= n)
            sprintf(prefixes[nprefix++], "message:%s:", sid);
        for (j = 1; j <= m && i < n; j++, i++)
            keys[i].len = (size_t)sprintf(keys[i].s, "message:%s:%u", sid, j);
    }
    for (i = n; i > 1 && !sorted; i--) {
        /* shuffle: insertion order is random (unless "sorted" was asked
         * for, the best case: then the keys arrive in generation order) */
        size_t k = (size_t)(rnd() % i);
        struct key tmp = keys[i - 1];
        keys[i - 1] = keys[k];
        keys[k] = tmp;
    }
    t0 = now_ns();
    for (i = 0; i < n; i++) {
        void *old;
        if (rx_insert(t, (const unsigned char *)keys[i].s, keys[i].len, (void *)(i + 1), &old) < 0)
            return 1;
    }
    printf("built %zu keys in %.2f s, %.1f B/key of nodes; %zu prefixes of ~100\n", n,
           (now_ns() - t0) / 1e9, (double)rx_memory(t) / n, nprefix);
    free(keys);

    arena = malloc(n * 128);
    if (!arena)
        return 1;
    memset(arena, 0, n * 128); /* fault the pages in once, outside the timing */
    if (warm_only) {
        for (r = 0; r < reps; r++) {
            size_t total = 0, p;
            t0 = now_ns();
            for (p = 0; p < 100000; p++)
                total += list_prefix(t, prefixes[r % nprefix], strlen(prefixes[0]), 0);
            warm[r] = (now_ns() - t0) / total;
        }
        printf("prefix-warm %6.1f ns/key (median of %d)\n", median(warm, reps), reps);
        return 0;
    }
    for (r = 0; r < reps; r++) {
        t0 = now_ns();
        got = list_all(t, NULL, NULL);
        walk[r] = (now_ns() - t0) / got;
        t0 = now_ns();
        got = list_all(t, arena, &arena_used);
        copy[r] = (now_ns() - t0) / got;
        {
            size_t total = 0, p;
            t0 = now_ns();
            for (p = 0; p < nprefix; p++)
                total += list_prefix(t, prefixes[(p * 7919 + r) % nprefix], strlen(prefixes[0]), 0);
            pre[r] = (now_ns() - t0) / total;
            total = 0;
            t0 = now_ns();
            for (p = 0; p < 1000; p++)
                total += list_prefix(t, prefixes[r % nprefix], strlen(prefixes[0]), 0);
            warm[r] = (now_ns() - t0) / total;
            total = 0;
            t0 = now_ns();
            for (p = 0; p < 1000; p++)
                total += list_prefix(t, prefixes[r % nprefix], strlen(prefixes[0]), 1);
            back[r] = (now_ns() - t0) / total;
        }
        if (got != n)
            return 1;
    }
    printf("walk        %6.1f ns/key (median of %d)\n", median(walk, reps), reps);
    printf("walk+copy   %6.1f ns/key\n", median(copy, reps));
    printf("prefix      %6.1f ns/key (cold, ~100 keys per listing)\n", median(pre, reps));
    printf("prefix-warm %6.1f ns/key\n", median(warm, reps));
    printf("prefix-warm-back %6.1f ns/key\n", median(back, reps));
    rx_tree_free(t, NULL, NULL);
    rx_pool_free(pool);
    free(arena);
    free(prefixes);
    free(walk);
    free(copy);
    free(pre);
    free(warm);
    free(back);
    return 0;
}
