/*
 * bench_util.h -- what every benchmark program in csrc/bench needs: a
 * seeded random source, a monotonic clock and the median of samples.
 * Header-only (static functions), included once per program.  Define
 * BENCH_SEED before including it to give a program its own sequence.
 */
#ifndef MEMSTORE_BENCH_UTIL_H
#define MEMSTORE_BENCH_UTIL_H

#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#ifndef BENCH_SEED
#define BENCH_SEED 0x9e3779b97f4a7c15ull
#endif

static uint64_t rng_state = BENCH_SEED;

/* splitmix64: enough for shuffling and ids */
static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

#endif /* MEMSTORE_BENCH_UTIL_H */
