/*
 * bench_skip.c -- a directory-style (delimiter) listing: each group of
 * keys is listed once, then left either with rx_iter_skip_prefix or, as a
 * binding without it does, with a seek to the group's successor string
 * (forward: RX_SEEK_GE to the group with its last byte bumped; backward:
 * RX_SEEK_LT the group); or the iterator rolls groups up itself
 * (rx_iter_set_delimiter: "step"), never entering one.
 *
 *   make -C csrc bench-skip
 *   csrc/build/bench_skip [GROUPS] [KEYS_PER_GROUP] [REPS]
 *
 * Keys "dir/<group>/file-<n>", inserted in random order, listed under the
 * prefix "dir/" with the delimiter '/'.  Reports the median ns per entry
 * listed (each entry: one step into the group, one skip or seek; or one
 * step), for the three ways and both directions, and checks they list the
 * same entries.
 */
#define _POSIX_C_SOURCE 199309L
#include "radix.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BENCH_SEED 0x853c49e6748fea9bull
#include "bench_util.h"

#define PREFIX "dir/"
#define PREFIX_LEN 4

enum { WAY_SEEK, WAY_SKIP, WAY_STEP };

/* Lists the entries under PREFIX rolled up at '/'; returns how many, and
 * a checksum of their lengths and last bytes. */
static size_t list_groups(rx_tree *t, int way, int backward, size_t *check)
{
    rx_iter it;
    unsigned char group[64];
    size_t entries = 0, sum = 0;
    int rc;
    rx_iter_init(&it, t);
    rx_iter_set_prefix(&it, (const unsigned char *)PREFIX, PREFIX_LEN);
    if (way == WAY_STEP)
        rx_iter_set_delimiter(&it, (const unsigned char *)"/", 1, PREFIX_LEN);
    rx_iter_seek(&it, backward ? RX_SEEK_LAST : RX_SEEK_FIRST, NULL, 0);
    while ((rc = rx_iter_next(&it)) == 1 || rc == RX_GROUP) {
        const unsigned char *cut =
            way == WAY_STEP ? NULL : memchr(it.key + PREFIX_LEN, '/', it.key_len - PREFIX_LEN);
        size_t n = cut ? (size_t)(cut - it.key) + 1 : it.key_len;
        entries++;
        sum += n * 31 + it.key[n - 1];
        if (!cut)
            continue;
        if (way == WAY_SKIP) {
            rx_iter_skip_prefix(&it, it.key, n);
        } else if (backward) {
            memcpy(group, it.key, n);
            rx_iter_seek(&it, RX_SEEK_LT, group, n);
        } else {
            /* the successor string: '/' is not 0xff, so bump it in place */
            memcpy(group, it.key, n);
            group[n - 1]++;
            rx_iter_seek(&it, RX_SEEK_GE, group, n);
        }
    }
    rx_iter_release(&it);
    *check = sum;
    return entries;
}

int main(int argc, char **argv)
{
    size_t groups = argc > 1 ? strtoul(argv[1], NULL, 10) : 10000;
    size_t per = argc > 2 ? strtoul(argv[2], NULL, 10) : 10;
    int reps = argc > 3 ? atoi(argv[3]) : 5, r, way;
    size_t n = groups * per, i, check[6], got[6];
    char (*keys)[48] = malloc(n * sizeof *keys);
    double *times[6];
    static const char *const names[6] = {"seek forward",  "skip forward",  "step forward",
                                         "seek backward", "skip backward", "step backward"};
    rx_tree *t = rx_tree_new(NULL);
    if (!keys || !t || reps < 1)
        return 1;
    for (way = 0; way < 6; way++)
        if ((times[way] = malloc(reps * sizeof(double))) == NULL)
            return 1;
    for (i = 0; i < n; i++)
        sprintf(keys[i], PREFIX "%08zx/file-%06zu", (i / per) * 2654435761u % 0xffffffffu, i % per);
    for (i = n; i > 1; i--) {
        size_t k = (size_t)(rnd() % i);
        char tmp[48];
        memcpy(tmp, keys[i - 1], sizeof tmp);
        memcpy(keys[i - 1], keys[k], sizeof tmp);
        memcpy(keys[k], tmp, sizeof tmp);
    }
    for (i = 0; i < n; i++) {
        void *old;
        if (rx_insert(t, (const unsigned char *)keys[i], strlen(keys[i]), (void *)(i + 1), &old) < 0)
            return 1;
    }
    free(keys);
    for (r = 0; r < reps; r++) {
        for (way = 0; way < 6; way++) {
            double t0 = now_ns();
            got[way] = list_groups(t, way % 3, way / 3, &check[way]);
            times[way][r] = (now_ns() - t0) / (double)got[way];
        }
        for (way = 0; way < 6; way++) {
            if (got[way] != groups || check[way] != check[0]) {
                fprintf(stderr, "the listings differ\n");
                return 1;
            }
        }
    }
    printf("%zu groups of %zu keys:", groups, per);
    for (way = 0; way < 6; way++)
        printf(" %s %.1f", names[way], median(times[way], reps));
    printf(" ns/entry (median of %d)\n", reps);
    rx_tree_free(t, NULL, NULL);
    for (way = 0; way < 6; way++)
        free(times[way]);
    return 0;
}
