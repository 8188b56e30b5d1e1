/*
 * bench_descent.c -- the operations that descend the tree by one key:
 * rx_find, rx_longest_prefix, rx_count_prefix and rx_remove (+ rx_insert
 * to put the key back), on a big tree of chat-style keys.
 *
 *   make -C csrc bench-descent        build (-O2) and run with defaults
 *   csrc/build/bench_descent [N] [REPS]
 *
 * To compare two versions of radix.c, build this file against each with
 * the same flags and run the binaries alternately (the machine is shared,
 * so a single run of each says little):
 *
 *   gcc -std=c99 -O2 -Icsrc csrc/radix.c csrc/bench/bench_descent.c -o new
 *   git show HEAD~1:csrc/radix.c > /tmp/old/radix.c; cp csrc/radix.h /tmp/old/
 *   gcc -std=c99 -O2 -I/tmp/old /tmp/old/radix.c csrc/bench/bench_descent.c -o old
 *   for i in 1 2 3; do ./old; ./new; done
 *
 * Keys: message:<uuid>:<n>, 1..200 per session, inserted in random order
 * (as bench_iter.c builds them).  Every operation is timed over all keys
 * in another random order, so most node visits miss the cache, as in a
 * big store.  Reports the median ns per operation over REPS runs; asserts
 * nothing (the answers are checked, the times are not).
 */
#define _POSIX_C_SOURCE 199309L
#include "radix.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BENCH_SEED 0x2545f4914f6cdd1dull
#include "bench_util.h"

struct key {
    char s[72];
    size_t len;
};

static void shuffle(struct key *keys, size_t n)
{
    size_t i;
    for (i = n; i > 1; i--) {
        size_t k = (size_t)(rnd() % i);
        struct key tmp = keys[i - 1];
        keys[i - 1] = keys[k];
        keys[k] = tmp;
    }
}

enum { OP_FIND, OP_MISS, OP_LONGEST, OP_COUNT, OP_REMOVE, NOPS };
static const char *const OP_NAMES[NOPS] = {
    "find (hit)", "find (miss)", "longest_prefix", "count_prefix", "remove+insert"};

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
    int reps = argc > 2 ? atoi(argv[2]) : 3, r, op;
    struct key *keys = malloc(n * sizeof *keys);
    double *times[NOPS];
    rx_tree *t = rx_tree_new(NULL);
    size_t i, hits;
    double t0;

    if (!keys || !t || reps < 1)
        return 1;
    for (op = 0; op < NOPS; op++)
        if ((times[op] = malloc(reps * sizeof(double))) == NULL)
            return 1;
    for (i = 0; i < n;) {
        uint64_t a = rnd(), b = rnd();
        unsigned m = 1 + (unsigned)(rnd() % 200), j;
        for (j = 1; j <= m && i < n; j++, i++)
            keys[i].len = (size_t)sprintf(
                keys[i].s, "message:%08x-%04x-4%03x-%04x-%012llx:%u", (unsigned)(a >> 32),
                (unsigned)(a >> 16) & 0xffff, (unsigned)a & 0xfff,
                0x8000 | ((unsigned)(b >> 48) & 0x3fff), (unsigned long long)(b & 0xffffffffffffull),
                j);
    }
    shuffle(keys, n);
    for (i = 0; i < n; i++) {
        void *old;
        if (rx_insert(t, (const unsigned char *)keys[i].s, keys[i].len, (void *)(i + 1), &old) != 1)
            return 1;
    }
    for (r = 0; r < reps; r++) {
        for (op = 0; op < NOPS; op++) {
            size_t ops = op == OP_REMOVE ? n / 10 : n;
            shuffle(keys, n);
            hits = 0;
            t0 = now_ns();
            for (i = 0; i < ops; i++) {
                const unsigned char *k = (const unsigned char *)keys[i].s;
                size_t len = keys[i].len, match;
                void *v;
                switch (op) {
                case OP_FIND:
                    hits += (size_t)rx_find(t, k, len, &v);
                    break;
                case OP_MISS:
                    /* diverges in the last byte: the whole path is walked */
                    keys[i].s[len - 1] ^= 0x40;
                    hits += (size_t)rx_find(t, k, len, &v);
                    keys[i].s[len - 1] ^= 0x40;
                    break;
                case OP_LONGEST:
                    /* the key plus a suffix: the answer is the key itself */
                    memcpy(keys[i].s + len, "/x", 3);
                    hits += (size_t)rx_longest_prefix(t, k, len + 2, &match, &v);
                    keys[i].s[len] = '\0';
                    break;
                case OP_COUNT:
                    /* the session's prefix, "message:<uuid>:" */
                    hits += rx_count_prefix(t, k, 46) > 0;
                    break;
                default:
                    hits += (size_t)rx_remove(t, k, len, &v);
                    if (rx_insert(t, k, len, v, &v) != 1)
                        return 1;
                }
            }
            times[op][r] = (now_ns() - t0) / (double)ops;
            if (hits != (op == OP_MISS ? 0 : ops)) {
                fprintf(stderr, "%s: %zu hits of %zu\n", OP_NAMES[op], hits, ops);
                return 1;
            }
        }
    }
    printf("%zu keys, %.1f B/key of nodes:", n, (double)rx_memory(t) / (double)n);
    for (op = 0; op < NOPS; op++)
        printf(" %s %.1f", OP_NAMES[op], median(times[op], reps));
    printf(" ns/op (median of %d)\n", reps);
    rx_tree_free(t, NULL, NULL);
    for (op = 0; op < NOPS; op++)
        free(times[op]);
    free(keys);
    return 0;
}
