/*
 * bench_memory.c -- where the bytes between rx_memory and the process's
 * resident memory go: the size of every block the tree holds, and what
 * allocators with size classes would make of them.
 *
 *   make -C csrc build/bench_memory
 *   csrc/build/bench_memory KEYS_FILE        (one key per line, inserted in
 *                                             file order, as memprobe.py does)
 *
 * The tree runs on a counting allocator (the C library's malloc beneath)
 * that keeps a histogram of the live block sizes.  After the build it
 * prints rx_memory, the RSS growth under glibc malloc, and the bytes the
 * same blocks would take rounded up to 8- and 16-byte size classes (16 is
 * pymalloc's granularity for blocks up to 512 bytes, which is what the
 * binding's PyMem_Malloc uses): the floor any size-class allocator can
 * reach before fragmentation.
 *
 *   csrc/build/bench_memory KEYS_FILE pool
 *
 * builds the tree instead on the node pool of pool.h (chunks from malloc)
 * and also prints the pool's footprint.  Nothing is asserted.
 */
#define _POSIX_C_SOURCE 200809L
#include "pool.h"
#include "radix.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SMALL_MAX 4096

typedef struct {
    size_t live[SMALL_MAX + 1]; /* live blocks by size */
    size_t big_bytes, big_blocks;
} histogram;

static void count(histogram *h, size_t size, int delta)
{
    if (size <= SMALL_MAX) {
        h->live[size] += (size_t)delta;
    } else {
        h->big_bytes += (size_t)delta * size;
        h->big_blocks += (size_t)delta;
    }
}

/* ---- where blocks come from: malloc, or a pool (pool.h) ---- */

static rx_allocator pool_alloc;
static int use_pool;

static void *backing_malloc(size_t size)
{
    return use_pool ? pool_alloc.malloc_fn(pool_alloc.ctx, size) : malloc(size);
}

static void *backing_realloc(void *ptr, size_t old_size, size_t new_size)
{
    return use_pool ? pool_alloc.realloc_fn(pool_alloc.ctx, ptr, old_size, new_size)
                    : realloc(ptr, new_size);
}

static void backing_free(void *ptr, size_t size)
{
    if (use_pool)
        pool_alloc.free_fn(pool_alloc.ctx, ptr, size);
    else
        free(ptr);
}

/* ---- the counting layer ---- */

static void *h_malloc(void *ctx, size_t size)
{
    void *p = backing_malloc(size);
    if (p)
        count(ctx, size, 1);
    return p;
}

static void *h_realloc(void *ctx, void *ptr, size_t old_size, size_t new_size)
{
    void *p = backing_realloc(ptr, old_size, new_size);
    if (p) {
        count(ctx, old_size, -1);
        count(ctx, new_size, 1);
    }
    return p;
}

static void h_free(void *ctx, void *ptr, size_t size)
{
    backing_free(ptr, size);
    count(ctx, size, -1);
}

static size_t rss(void)
{
    size_t pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%zu %zu", &pages, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    return resident * (size_t)sysconf(_SC_PAGESIZE);
}

static size_t rounded(const histogram *h, size_t granularity)
{
    size_t total = h->big_bytes, s;
    for (s = 1; s <= SMALL_MAX; s++)
        total += h->live[s] * ((s + granularity - 1) / granularity * granularity);
    return total;
}

int main(int argc, char **argv)
{
    static histogram h;
    rx_allocator alloc = {h_malloc, h_realloc, h_free, &h};
    rx_tree *t;
    FILE *f;
    char line[4096];
    size_t n = 0, before, blocks = h.big_blocks, s, exact;
    struct timespec t0, t1;
    if (argc < 2 || (f = fopen(argv[1], "r")) == NULL) {
        fprintf(stderr, "usage: %s KEYS_FILE [pool]\n", argv[0]);
        return 2;
    }
    use_pool = argc > 2 && strcmp(argv[2], "pool") == 0;
    if (use_pool) {
        rx_pool *pool = rx_pool_new(NULL);
        if (pool == NULL)
            return 1;
        rx_pool_allocator(pool, &pool_alloc);
    }
    before = rss();
    clock_gettime(CLOCK_MONOTONIC, &t0);
    t = rx_tree_new(&alloc);
    if (t == NULL)
        return 1;
    while (fgets(line, sizeof line, f)) {
        size_t len = strcspn(line, "\n");
        void *old;
        if (rx_insert(t, (const unsigned char *)line, len, (void *)(n + 1), &old) < 0)
            return 1;
        n++;
    }
    fclose(f);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    exact = rx_memory(t);
    for (s = 1; s <= SMALL_MAX; s++)
        blocks += h.live[s];
    printf("%zu keys, %zu blocks (%.2f per key), built in %.2f s (file reading included)\n", n,
           blocks, (double)blocks / (double)n,
           (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    printf("rx_memory            %6.2f B/key\n", (double)exact / (double)n);
    printf("%s RSS %6.2f B/key (%.3fx)\n", use_pool ? "pool (pool.h)    " : "glibc malloc     ",
           (double)(rss() - before) / (double)n, (double)(rss() - before) / (double)exact);
    printf("8-byte size classes  %6.2f B/key (%.3fx), before fragmentation\n",
           (double)rounded(&h, 8) / (double)n, (double)rounded(&h, 8) / (double)exact);
    printf("16-byte size classes %6.2f B/key (%.3fx), before fragmentation\n",
           (double)rounded(&h, 16) / (double)n, (double)rounded(&h, 16) / (double)exact);
    if (use_pool)
        printf("pool footprint       %6.2f B/key (%.3fx)\n",
               (double)rx_pool_footprint(pool_alloc.ctx) / (double)n,
               (double)rx_pool_footprint(pool_alloc.ctx) / (double)exact);
    printf("block sizes held (size: blocks):");
    for (s = 1; s <= SMALL_MAX; s++)
        if (h.live[s] * 200 >= blocks) /* the sizes holding >= 0.5% of the blocks */
            printf(" %zu:%zu", s, h.live[s]);
    printf("\n");
    rx_tree_free(t, NULL, NULL);
    if (use_pool)
        rx_pool_free(pool_alloc.ctx);
    return 0;
}
