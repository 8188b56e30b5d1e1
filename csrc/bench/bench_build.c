/*
 * bench_build.c -- loading a tree from sorted keys: rx_build_* against
 * rx_insert, and how fast the loaded tree lists.
 *
 *   make -C csrc bench-build           build (-O2) and run with defaults
 *   csrc/build/bench_build [N] [REPS]  N keys (default 10^6), REPS runs
 *
 * N chat-style keys ("user:<id>:thread:<t>:msg:<nnnnn>", 1..200 messages
 * per thread, 1..8 threads per user), sorted, with the shared prefix length
 * of each key computed beforehand (the snapshot reader reports it), then
 * timed as the median of REPS runs:
 *
 *   build          rx_build_add per key, then rx_build_finish
 *   insert-sorted  rx_insert per key in sorted order
 *   insert-random  rx_insert per key in a random order
 *   walk           a full in-order listing (touching every key's bytes) of
 *                  the built tree and of the tree inserted in random order
 *
 * Not part of the tests: the numbers depend on the machine.
 */
#define _POSIX_C_SOURCE 199309L
#include "radix.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"

struct key {
    char s[48];
    size_t len, shared;
};

static int cmp_key(const void *a, const void *b)
{
    const struct key *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->s, y->s, n);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

static volatile size_t sink;

static rx_tree *build(const struct key *keys, size_t n)
{
    rx_builder *b;
    rx_tree *t;
    size_t i;
    if (rx_build_new(&b, NULL) != RX_OK)
        exit(2);
    for (i = 0; i < n; i++) {
        if (rx_build_add(b, (const unsigned char *)keys[i].s, keys[i].len, keys[i].shared,
                         (void *)(keys + i)) != RX_OK) {
            fprintf(stderr, "rx_build_add failed at key %lu\n", (unsigned long)i);
            exit(2);
        }
    }
    rx_build_finish(b, &t);
    return t;
}

static rx_tree *insert(const struct key *keys, const size_t *order, size_t n)
{
    rx_tree *t = rx_tree_new(NULL);
    size_t i;
    void *old;
    for (i = 0; i < n; i++) {
        const struct key *k = &keys[order ? order[i] : i];
        if (rx_insert(t, (const unsigned char *)k->s, k->len, (void *)k, &old) != 1)
            exit(2);
    }
    return t;
}

static void walk(rx_tree *t, size_t expect)
{
    rx_iter it;
    size_t n = 0, sum = 0;
    rx_iter_init(&it, t);
    rx_iter_seek(&it, RX_SEEK_FIRST, NULL, 0);
    while (rx_iter_next(&it) == 1) {
        sum += it.key[it.key_len - 1] + it.key_len;
        n++;
    }
    rx_iter_release(&it);
    if (n != expect)
        exit(3);
    sink = sum;
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000, i;
    int reps = argc > 2 ? atoi(argv[2]) : 5, r;
    struct key *keys = malloc(n * sizeof *keys);
    size_t *order = malloc(n * sizeof *order);
    double *t_build = malloc(reps * sizeof(double)), *t_sorted = malloc(reps * sizeof(double));
    double *t_random = malloc(reps * sizeof(double)), *w_built = malloc(reps * sizeof(double));
    double *w_random = malloc(reps * sizeof(double));
    double start, mb, ms, mr, wb, wr;
    rx_tree *built, *shuffled;
    unsigned user = 0;
    if (!keys || !order || !t_build || !t_sorted || !t_random || !w_built || !w_random || reps < 1)
        return 2;
    for (i = 0; i < n;) {
        unsigned threads = 1 + (unsigned)(rnd() % 8), th;
        user += 1 + (unsigned)(rnd() % 50);
        for (th = 0; th < threads && i < n; th++) {
            unsigned msgs = 1 + (unsigned)(rnd() % 200), m;
            for (m = 0; m < msgs && i < n; m++, i++)
                keys[i].len = (size_t)sprintf(keys[i].s, "user:%u:thread:%u:msg:%05u", user, th, m);
        }
    }
    qsort(keys, n, sizeof *keys, cmp_key);
    for (i = 0; i < n; i++) {
        size_t s = 0;
        if (i) {
            size_t lim = keys[i].len < keys[i - 1].len ? keys[i].len : keys[i - 1].len;
            while (s < lim && keys[i].s[s] == keys[i - 1].s[s])
                s++;
        }
        keys[i].shared = s;
        order[i] = i;
    }
    for (i = n; i > 1; i--) {
        size_t j = (size_t)(rnd() % i), x = order[i - 1];
        order[i - 1] = order[j];
        order[j] = x;
    }
    for (r = 0; r < reps; r++) {
        rx_tree *t;
        start = now_ns();
        t = build(keys, n);
        t_build[r] = now_ns() - start;
        rx_tree_free(t, NULL, NULL);
        start = now_ns();
        t = insert(keys, NULL, n);
        t_sorted[r] = now_ns() - start;
        rx_tree_free(t, NULL, NULL);
        start = now_ns();
        t = insert(keys, order, n);
        t_random[r] = now_ns() - start;
        rx_tree_free(t, NULL, NULL);
    }
    /* both trees alive at once, as a process holding one store would */
    built = build(keys, n);
    shuffled = insert(keys, order, n);
    if (rx_memory(built) != rx_memory(shuffled))
        printf("note: rx_memory built %lu, inserted %lu\n", (unsigned long)rx_memory(built),
               (unsigned long)rx_memory(shuffled));
    for (r = 0; r < reps; r++) {
        start = now_ns();
        walk(built, n);
        w_built[r] = now_ns() - start;
        start = now_ns();
        walk(shuffled, n);
        w_random[r] = now_ns() - start;
    }
    mb = median(t_build, reps);
    ms = median(t_sorted, reps);
    mr = median(t_random, reps);
    wb = median(w_built, reps);
    wr = median(w_random, reps);
    printf("%lu chat keys, median of %d runs, rx_memory %.1f MB\n", (unsigned long)n, reps,
           rx_memory(built) / 1e6);
    printf("  build          %8.1f ms  %6.1f ns/key\n", mb / 1e6, mb / n);
    printf("  insert-sorted  %8.1f ms  %6.1f ns/key  (%.2fx build)\n", ms / 1e6, ms / n, ms / mb);
    printf("  insert-random  %8.1f ms  %6.1f ns/key  (%.2fx build)\n", mr / 1e6, mr / n, mr / mb);
    printf("  walk built     %8.1f ms  %6.1f ns/key\n", wb / 1e6, wb / n);
    printf("  walk inserted  %8.1f ms  %6.1f ns/key  (%.2fx built, random order)\n", wr / 1e6,
           wr / n, wr / wb);
    rx_tree_free(built, NULL, NULL);
    rx_tree_free(shuffled, NULL, NULL);
    free(keys);
    free(order);
    free(t_build);
    free(t_sorted);
    free(t_random);
    free(w_built);
    free(w_random);
    return 0;
}
