/*
 * test_radix.c -- test program for the C core (csrc/radix.h).
 *
 *   make -C csrc test        ASan + UBSan, -O1
 *   make -C csrc test-fast   no sanitizers, -O2
 *
 *   build/test_radix [seed]
 *
 * Environment:
 *   RX_TEST_SEED=n     seed of the randomized tests (argv[1] wins)
 *   RX_TEST_SCALE=x    multiply iteration counts by x (default 1; 0.1 quick)
 *   RX_TEST_ONLY=sub   run only tests whose name contains sub
 *   RX_TEST_VERBOSE=1  print a line per test with its time
 *   RX_TEST_TRACE=1    print every operation of the model tests
 *   RX_TEST_DEPTH=n    depth of the nested-keys test (default 100000)
 *
 * Output: a line per failed check (file:line, what differed), a line per
 * failed test, then exactly "N passed, M failed" (tests) on its own line.
 * Exit status 0 only when nothing failed.
 *
 * The tests live in:
 *   test_unit.c    one group per public function, special keys
 *   test_iter.c    ordering, prefixes, every seek op, mutation while open
 *   test_model.c   randomized operations against a sorted-array model
 *   test_oom.c     allocation failure injection, leak and size accounting
 *   test_stress.c  100,000-deep nesting, 100,000 random keys, 65,536-wide
 *   test_util.c    PRNG, counting allocator, reference model, checked iterator
 */
#include "test_util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

uint64_t t_seed = 20240611u;
double t_scale = 1.0;

static const char *current_test = "";
static unsigned long test_failed_checks; /* in the current test */
static unsigned long total_checks, total_failed_checks;
static unsigned long tests_passed, tests_failed;
static const char *only;
static int verbose;
static char context[512], where[512];

#define MAX_REPORTS_PER_TEST 20

unsigned long t_failures(void)
{
    return test_failed_checks;
}

void t_context(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(context, sizeof context, fmt, ap);
    va_end(ap);
}

void t_where(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(where, sizeof where, fmt, ap);
    va_end(ap);
}

void t_note(const char *fmt, ...)
{
    va_list ap;
    printf("  [%s] ", current_test);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
}

static int fail_report(const char *file, int line)
{
    total_failed_checks++;
    if (++test_failed_checks > MAX_REPORTS_PER_TEST) {
        if (test_failed_checks == MAX_REPORTS_PER_TEST + 1)
            printf("  [%s] further failures not shown\n", current_test);
        context[0] = 0;
        return 0;
    }
    printf("%s:%d: [%s] check failed", file, line, current_test);
    return 1;
}

static void end_report(void)
{
    if (context[0])
        printf("    (%s)\n", context);
    if (where[0])
        printf("    at: %s\n", where);
    context[0] = 0;
    fflush(stdout);
}

int t_check(int ok, const char *file, int line, const char *expr)
{
    total_checks++;
    if (ok)
        return 1;
    if (fail_report(file, line)) {
        printf(": %s\n", expr);
        end_report();
    }
    return 0;
}

int t_check_u(int ok, const char *file, int line, const char *expr_a, const char *expr_b,
              unsigned long long a, unsigned long long b)
{
    total_checks++;
    if (ok)
        return 1;
    if (fail_report(file, line)) {
        printf(": %s == %s\n    got %llu (%lld), want %llu (%lld)\n", expr_a, expr_b, a,
               (long long)a, b, (long long)b);
        end_report();
    }
    return 0;
}

int t_check_eq(unsigned long long a, unsigned long long b, const char *file, int line,
               const char *expr_a, const char *expr_b)
{
    return t_check_u(a == b, file, line, expr_a, expr_b, a, b);
}

int t_check_key(const char *file, int line, const char *what, const unsigned char *got,
                size_t got_len, const unsigned char *want, size_t want_len)
{
    char b1[160], b2[160];
    total_checks++;
    if (keycmp(got, got_len, want, want_len) == 0)
        return 1;
    if (fail_report(file, line)) {
        printf(": %s\n    got %s, want %s\n", what, t_fmt_key(b1, got, got_len),
               t_fmt_key(b2, want, want_len));
        end_report();
    }
    return 0;
}

size_t t_scaled(size_t n)
{
    double x = (double)n * t_scale;
    return x < 1.0 ? 1 : (size_t)x;
}

void t_run(const char *name, void (*fn)(void))
{
    clock_t start;
    double secs;
    if (only && strstr(name, only) == NULL)
        return;
    current_test = name;
    test_failed_checks = 0;
    context[0] = where[0] = 0;
    start = clock();
    fn();
    secs = (double)(clock() - start) / CLOCKS_PER_SEC;
    if (test_failed_checks) {
        tests_failed++;
        printf("FAIL %s (%lu failed checks, %.2fs)\n", name, test_failed_checks, secs);
    } else {
        tests_passed++;
        if (verbose || secs > 2.0)
            printf("ok   %s (%.2fs)\n", name, secs);
    }
    fflush(stdout);
    where[0] = 0;
    current_test = "";
}

int main(int argc, char **argv)
{
    const char *s;
    clock_t start = clock();
    if ((s = getenv("RX_TEST_SEED")) != NULL && *s)
        t_seed = strtoull(s, NULL, 0);
    if (argc > 1)
        t_seed = strtoull(argv[1], NULL, 0);
    if ((s = getenv("RX_TEST_SCALE")) != NULL && *s) {
        t_scale = strtod(s, NULL);
        if (!(t_scale > 0))
            t_scale = 1.0;
    }
    only = getenv("RX_TEST_ONLY");
    if (only && !*only)
        only = NULL;
    verbose = (s = getenv("RX_TEST_VERBOSE")) != NULL && *s && *s != '0';
    printf("test_radix: seed %llu, scale %g\n", (unsigned long long)t_seed, t_scale);
    fflush(stdout);

    run_unit_tests();
    run_iter_tests();
    run_model_tests();
    run_oom_tests();
    run_stress_tests();
    run_pool_tests();
    run_build_tests();

    printf("%lu checks, %lu failed; %.1fs cpu; seed %llu\n", total_checks, total_failed_checks,
           (double)(clock() - start) / CLOCKS_PER_SEC, (unsigned long long)t_seed);
    printf("%lu passed, %lu failed\n", tests_passed, tests_failed);
    return tests_failed ? 1 : 0;
}
