/*
 * test_iter.c -- iterators: byte order, prefixes, every seek op (with
 * clamping to the prefix's range), empty trees, and changes to the tree
 * while an iterator is open.
 */
#include "test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void insert_strs(rx_tree *t, model *m, const char *const *keys, uintptr_t base)
{
    size_t i;
    void *old;
    for (i = 0; keys[i]; i++) {
        size_t n = strlen(keys[i]);
        CHECK_EQ(rx_insert(t, (const unsigned char *)keys[i], n, V(base + i), &old), 1);
        m_insert(m, (const unsigned char *)keys[i], n, base + i, NULL);
    }
}

/* Lists from a seek and compares with want (NULL-terminated strings). */
static void check_listing(rx_tree *t, const char *prefix, rx_seek_op op, const char *target,
                          const char *const *want, const char *file, int line)
{
    rx_iter it;
    size_t i = 0;
    int rc;
    char ctx[200];
    rx_iter_init(&it, t);
    sprintf(ctx, "prefix \"%s\" seek %s \"%s\"", prefix, t_op_name(op), target);
    if (!t_check_u(rx_iter_set_prefix(&it, (const unsigned char *)prefix, strlen(prefix)) == RX_OK,
                   file, line, "rx_iter_set_prefix", "RX_OK", 1, 0) ||
        !t_check_u(rx_iter_seek(&it, op, (const unsigned char *)target, strlen(target)) == RX_OK,
                   file, line, "rx_iter_seek", "RX_OK", 1, 0)) {
        rx_iter_release(&it);
        return;
    }
    while ((rc = rx_iter_next(&it)) == 1) {
        t_context("%s, key #%lu", ctx, (unsigned long)i);
        if (want[i] == NULL) {
            t_check_key(file, line, "no more keys expected", it.key, it.key_len,
                        (const unsigned char *)"", 0);
            break;
        }
        if (!t_check_key(file, line, "listed key", it.key, it.key_len,
                         (const unsigned char *)want[i], strlen(want[i])))
            break;
        i++;
    }
    if (rc == 0 && want[i] != NULL) {
        t_context("%s", ctx);
        t_check_key(file, line, "listing ended early; missing", (const unsigned char *)"", 0,
                    (const unsigned char *)want[i], strlen(want[i]));
    }
    if (rc < 0)
        t_check_u(0, file, line, "rx_iter_next", "1 or 0", (unsigned long long)rc, 0);
    rx_iter_release(&it);
}

/* ------------------------------------------------------------------------ */

static void test_iter_order(void)
{
    static const char *const keys[] = {"b", "a", "ab", "", "abc", "\x01", "\x7f", "\x80",
                                       "\xff", "\xff\xff", "aa", "b\x01", NULL};
    static const char *const want[] = {"",  "\x01", "a", "aa", "ab", "abc", "b", "b\x01",
                                       "\x7f", "\x80", "\xff", "\xff\xff", NULL};
    static const char *const back[] = {"\xff\xff", "\xff", "\x80", "\x7f", "b\x01", "b",
                                       "abc", "ab", "aa", "a", "\x01", "", NULL};
    t_alloc a;
    rx_tree *t = t_new_tree(&a);
    model m;
    t_rng rng;
    size_t i, j;
    void *old;
    m_init(&m);
    insert_strs(t, &m, keys, 1);
    check_listing(t, "", RX_SEEK_FIRST, "", want, __FILE__, __LINE__);
    check_listing(t, "", RX_SEEK_LAST, "", back, __FILE__, __LINE__);
    CHECK_TREE(t, &m);

    /* NUL bytes sort first, a key before its extensions, 0xFF last */
    m_clear(&m);
    CHECK_EQ(rx_clear(t, NULL, NULL), 12);
    rng_seed(&rng, 11);
    for (i = 0; i < 3000; i++) {
        unsigned char k[7];
        size_t n = rng_below(&rng, sizeof k + 1);
        for (j = 0; j < n; j++)
            k[j] = (unsigned char)"\0\x01" "ab\xfe\xff"[rng_below(&rng, 6)];
        CHECK_EQ(rx_insert(t, k, n, V(i), &old), m_insert(&m, k, n, i, NULL));
    }
    CHECK_TREE(t, &m); /* full forward and backward listings vs memcmp order */
    m_free(&m);
    FREE_TREE(t, &a);
}

static void test_iter_prefix(void)
{
    static const char *const keys[] = {"a", "ab", "abc", "abd", "abdd", "ac", "b",
                                       "long-common-path/1", "long-common-path/2", NULL};
    static const struct {
        const char *p;
        const char *want[7];
    } cases[] = {
        {"ab", {"ab", "abc", "abd", "abdd", NULL}},
        {"abd", {"abd", "abdd", NULL}},
        {"abdd", {"abdd", NULL}},
        {"abdde", {NULL}},
        {"a", {"a", "ab", "abc", "abd", "abdd", "ac"}},
        {"b", {"b", NULL}},
        {"c", {NULL}},
        {"aa", {NULL}},
        {"long-com", {"long-common-path/1", "long-common-path/2", NULL}},
        {"long-common-path/", {"long-common-path/1", "long-common-path/2", NULL}},
        {"long-common-path/2", {"long-common-path/2", NULL}},
        {"long-commoX", {NULL}},
        {"long-common-path/3", {NULL}},
    };
    t_alloc a;
    rx_tree *t = t_new_tree(&a);
    model m;
    size_t i, j;
    m_init(&m);
    insert_strs(t, &m, keys, 1);
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *rev[7];
        size_t n = 0;
        while (cases[i].want[n])
            n++;
        for (j = 0; j < n; j++)
            rev[j] = cases[i].want[n - 1 - j];
        rev[n] = NULL;
        check_listing(t, cases[i].p, RX_SEEK_FIRST, "", cases[i].want, __FILE__, __LINE__);
        check_listing(t, cases[i].p, RX_SEEK_LAST, "", rev, __FILE__, __LINE__);
    }
    m_free(&m);
    FREE_TREE(t, &a);
}

#define L(...) {__VA_ARGS__, NULL}
#define NONE {NULL}

static void test_iter_seek_cases(void)
{
    static const char *const keys[] = {"b", "ba", "bb", "c", "ca", NULL};
    static const struct {
        const char *prefix;
        rx_seek_op op;
        const char *target;
        const char *want[7];
    } cases[] = {
        {"", RX_SEEK_FIRST, "zzz", L("b", "ba", "bb", "c", "ca")}, /* key ignored */
        {"", RX_SEEK_LAST, "a", L("ca", "c", "bb", "ba", "b")},
        {"", RX_SEEK_GE, "b", L("b", "ba", "bb", "c", "ca")},
        {"", RX_SEEK_GT, "b", L("ba", "bb", "c", "ca")},
        {"", RX_SEEK_GE, "b!", L("ba", "bb", "c", "ca")},    /* between keys */
        {"", RX_SEEK_GE, "bab", L("bb", "c", "ca")},         /* between, longer */
        {"", RX_SEEK_GE, "a", L("b", "ba", "bb", "c", "ca")}, /* before all */
        {"", RX_SEEK_GE, "", L("b", "ba", "bb", "c", "ca")},
        {"", RX_SEEK_GT, "", L("b", "ba", "bb", "c", "ca")},
        {"", RX_SEEK_GE, "d", NONE}, /* after all */
        {"", RX_SEEK_GT, "ca", NONE},
        {"", RX_SEEK_GE, "ca", L("ca")},
        {"", RX_SEEK_GE, "c\x01", L("ca")},
        {"", RX_SEEK_LE, "bz", L("bb", "ba", "b")},
        {"", RX_SEEK_LE, "b", L("b")},
        {"", RX_SEEK_LT, "b", NONE},
        {"", RX_SEEK_LT, "ba", L("b")},
        {"", RX_SEEK_LT, "b!", L("b")},
        {"", RX_SEEK_LE, "a", NONE}, /* before all */
        {"", RX_SEEK_LE, "", NONE},
        {"", RX_SEEK_LT, "", NONE},
        {"", RX_SEEK_LE, "z", L("ca", "c", "bb", "ba", "b")}, /* after all */
        {"", RX_SEEK_LE, "c", L("c", "bb", "ba", "b")},
        {"", RX_SEEK_LT, "c", L("bb", "ba", "b")},
        {"", RX_SEEK_LE, "caa", L("ca", "c", "bb", "ba", "b")},
        {"", RX_SEEK_LT, "caa", L("ca", "c", "bb", "ba", "b")},
        {"", RX_SEEK_LE, "c\x01", L("c", "bb", "ba", "b")},
        {"b", RX_SEEK_FIRST, "", L("b", "ba", "bb")},
        {"b", RX_SEEK_LAST, "", L("bb", "ba", "b")},
        {"b", RX_SEEK_GE, "a", L("b", "ba", "bb")}, /* below the range: FIRST */
        {"b", RX_SEEK_GT, "a", L("b", "ba", "bb")},
        {"b", RX_SEEK_GE, "", L("b", "ba", "bb")},
        {"b", RX_SEEK_GE, "c", NONE}, /* above the range */
        {"b", RX_SEEK_GT, "bb", NONE},
        {"b", RX_SEEK_GE, "bc", NONE},
        {"b", RX_SEEK_GE, "ba", L("ba", "bb")},
        {"b", RX_SEEK_GT, "b", L("ba", "bb")},
        {"b", RX_SEEK_GE, "b", L("b", "ba", "bb")},
        {"b", RX_SEEK_LE, "c", L("bb", "ba", "b")}, /* above the range: LAST */
        {"b", RX_SEEK_LT, "c", L("bb", "ba", "b")},
        {"b", RX_SEEK_LE, "\xff", L("bb", "ba", "b")},
        {"b", RX_SEEK_LE, "bzz", L("bb", "ba", "b")},
        {"b", RX_SEEK_LE, "bc", L("bb", "ba", "b")},
        {"b", RX_SEEK_LE, "ba", L("ba", "b")},
        {"b", RX_SEEK_LE, "b", L("b")},
        {"b", RX_SEEK_LT, "b", NONE},
        {"b", RX_SEEK_LE, "a", NONE}, /* below the range */
        {"b", RX_SEEK_LE, "", NONE},
        {"bb", RX_SEEK_GE, "b", L("bb")},
        {"bb", RX_SEEK_GE, "ba", L("bb")},
        {"bb", RX_SEEK_LE, "c", L("bb")},
        {"bb", RX_SEEK_LE, "bba", L("bb")},
        {"bb", RX_SEEK_LT, "bb", NONE},
        {"bb", RX_SEEK_GT, "bb", NONE},
        {"x", RX_SEEK_FIRST, "", NONE},
        {"x", RX_SEEK_LAST, "", NONE},
        {"x", RX_SEEK_GE, "a", NONE},
        {"x", RX_SEEK_LE, "z", NONE},
        {"bab", RX_SEEK_FIRST, "", NONE}, /* prefix between keys */
        {"bab", RX_SEEK_LE, "z", NONE},
        {"bab", RX_SEEK_GE, "a", NONE},
    };
    static const char *const keys2[] = {"", "a", "ab", NULL};
    static const struct {
        rx_seek_op op;
        const char *target;
        const char *want[4];
    } cases2[] = {
        {RX_SEEK_FIRST, "", L("", "a", "ab")},
        {RX_SEEK_LAST, "", L("ab", "a", "")},
        {RX_SEEK_GE, "", L("", "a", "ab")},
        {RX_SEEK_GT, "", L("a", "ab")},
        {RX_SEEK_LE, "", L("")},
        {RX_SEEK_LT, "", NONE},
        {RX_SEEK_LT, "a", L("")},
        {RX_SEEK_LE, "a\x01", L("a", "")},
        {RX_SEEK_GT, "a", L("ab")},
        {RX_SEEK_GE, "a\x01", L("ab")},
        {RX_SEEK_LE, "aa", L("a", "")},
        {RX_SEEK_LT, "ab", L("a", "")},
        {RX_SEEK_LE, "\x01", L("")},
    };
    t_alloc a;
    rx_tree *t = t_new_tree(&a);
    model m;
    size_t i;
    m_init(&m);
    insert_strs(t, &m, keys, 1);
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_listing(t, cases[i].prefix, cases[i].op, cases[i].target, cases[i].want, __FILE__,
                      __LINE__);
    CHECK_EQ(rx_clear(t, NULL, NULL), 5);
    m_clear(&m);
    insert_strs(t, &m, keys2, 1);
    for (i = 0; i < sizeof cases2 / sizeof cases2[0]; i++)
        check_listing(t, "", cases2[i].op, cases2[i].target, cases2[i].want, __FILE__, __LINE__);
    m_free(&m);
    CHECK_MEM(t, &a);
    FREE_TREE(t, &a);
}

/* Every (prefix, op, target) over a small alphabet against the model. */
static size_t all_strings(unsigned char (*out)[5], size_t *lens, size_t maxlen,
                          const unsigned char *alpha, size_t na)
{
    size_t n = 0, len, i, j;
    for (len = 0; len <= maxlen; len++) {
        size_t count = 1;
        for (i = 0; i < len; i++)
            count *= na;
        for (i = 0; i < count; i++) {
            size_t x = i;
            for (j = 0; j < len; j++) {
                out[n][len - 1 - j] = alpha[x % na];
                x /= na;
            }
            lens[n++] = len;
        }
    }
    return n;
}

static void exhaustive_seeks(rx_tree *t, const model *m, unsigned char (*targets)[5],
                             const size_t *tlens, size_t nt, size_t np)
{
    miter mi;
    size_t pi, ti;
    int op;
    mi_init(&mi, t);
    for (pi = 0; pi < np; pi++)
        for (op = RX_SEEK_FIRST; op <= RX_SEEK_LT; op++)
            for (ti = 0; ti < nt; ti++) {
                int rc;
                if (!MI_SEEK(&mi, targets[pi], tlens[pi], (rx_seek_op)op, targets[ti], tlens[ti]))
                    goto out;
                while ((rc = MI_NEXT(&mi, m)) == 1)
                    ;
                if (rc < 0)
                    goto out;
                if (op <= RX_SEEK_LAST)
                    break; /* the target does not matter */
            }
out:
    mi_free(&mi);
}

static void test_iter_seek_model(void)
{
    static const unsigned char alpha[] = {0x00, 'a', 'b', 0xFF};
    static unsigned char strs[1 + 4 + 16 + 64 + 256][5];
    static size_t lens[sizeof strs / sizeof strs[0]];
    size_t n = all_strings(strs, lens, 4, alpha, 4), np = 1 + 4 + 16, i;
    t_alloc a;
    rx_tree *t = t_new_tree(&a);
    model m;
    t_rng rng;
    void *old;
    int round;
    m_init(&m);
    rng_seed(&rng, 5);
    for (round = 0; round < 3; round++) {
        /* a random half (then a sparse, then a dense subset) of the strings up
         * to length 3 are keys; all strings up to length 4 are targets */
        unsigned keep = round == 0 ? 2 : round == 1 ? 8 : 1;
        for (i = 0; i < 85; i++)
            if (rng_below(&rng, keep) == 0)
                CHECK_EQ(rx_insert(t, strs[i], lens[i], V(i), &old),
                         m_insert(&m, strs[i], lens[i], i, NULL));
        REQUIRE(CHECK_TREE(t, &m));
        exhaustive_seeks(t, &m, strs, lens, n, np);
        REQUIRE(t_failures() == 0);
        CHECK_EQ(rx_clear(t, NULL, NULL), m.n);
        m_clear(&m);
    }

    /* long compressed paths: 20 'a's then short tails; targets cut or
     * extend them at every length */
    {
        static const struct {
            const char *s;
            size_t n;
        } tails[] = {{"", 0}, {"b", 1}, {"bb", 2}, {"ab", 2}, {"ba", 2}, {"\xff", 1}, {"a", 1},
                     {"b\0", 2}};
        unsigned char keys[8][32];
        size_t klens[8], nk = 0, j;
        for (i = 0; i < 8; i++) {
            memset(keys[nk], 'a', 20);
            memcpy(keys[nk] + 20, tails[i].s, tails[i].n);
            klens[nk] = 20 + tails[i].n;
            CHECK_EQ(rx_insert(t, keys[nk], klens[nk], V(nk), &old), 1);
            m_insert(&m, keys[nk], klens[nk], nk, NULL);
            nk++;
        }
        REQUIRE(CHECK_TREE(t, &m));
        {
            miter mi;
            mi_init(&mi, t);
            /* prefixes and targets: every cut of every key, plus one byte */
            for (i = 0; i < nk; i++)
                for (j = 0; j <= klens[i] + 1; j++) {
                    unsigned char target[40];
                    size_t tn = j, pi;
                    int op;
                    memcpy(target, keys[i], klens[i]);
                    if (j > klens[i])
                        target[klens[i]] = 'a';
                    for (op = RX_SEEK_GE; op <= RX_SEEK_LT; op++)
                        for (pi = 0; pi < 4; pi++) {
                            static const size_t plen[] = {0, 10, 20, 21};
                            int rc;
                            if (!MI_SEEK(&mi, keys[i], plen[pi] < klens[i] ? plen[pi] : klens[i],
                                         (rx_seek_op)op, target, tn))
                                break;
                            while ((rc = MI_NEXT(&mi, &m)) == 1)
                                ;
                            if (rc < 0)
                                break;
                        }
                }
            mi_free(&mi);
        }
    }
    m_free(&m);
    CHECK_MEM(t, &a);
    FREE_TREE(t, &a);
}

static void test_iter_empty(void)
{
    t_alloc a;
    rx_tree *t = t_new_tree(&a);
    rx_iter it;
    int op;
    void *old;
    rx_iter_init(&it, t);
    rx_iter_release(&it); /* never used */
    rx_iter_init(&it, t);
    for (op = RX_SEEK_FIRST; op <= RX_SEEK_LT; op++) {
        CHECK_EQ(rx_iter_seek(&it, (rx_seek_op)op, KEY("")), RX_OK);
        CHECK_EQ(rx_iter_next(&it), 0);
    }
    /* emptied tree: same */
    CHECK_EQ(rx_insert(t, KEY("k"), V(1), &old), 1);
    CHECK_EQ(rx_remove(t, KEY("k"), &old), 1);
    for (op = RX_SEEK_FIRST; op <= RX_SEEK_LT; op++) {
        CHECK_EQ(rx_iter_seek(&it, (rx_seek_op)op, KEY("k")), RX_OK);
        CHECK_EQ(rx_iter_next(&it), 0);
    }
    rx_iter_release(&it);
    /* released iterators can be initialised and used again */
    rx_iter_init(&it, t);
    CHECK_EQ(rx_insert(t, KEY("k"), V(1), &old), 1);
    CHECK_EQ(rx_iter_seek(&it, RX_SEEK_FIRST, NULL, 0), RX_OK);
    CHECK_EQ(rx_iter_next(&it), 1);
    CHECK_EQ(rx_iter_next(&it), 0);
    CHECK_EQ(rx_iter_next(&it), 0);
    rx_iter_release(&it);
    CHECK_MEM(t, &a);
    FREE_TREE(t, &a);
}

/* ---- changes while an iterator is open ----------------------------------- */

static void key_num(unsigned char *k, int x)
{
    k[0] = 'k';
    k[1] = (unsigned char)('0' + x / 10);
    k[2] = (unsigned char)('0' + x % 10);
}

static void put(rx_tree *t, model *m, const unsigned char *k, size_t n, uintptr_t v)
{
    void *old;
    uintptr_t mold;
    int want = m_insert(m, k, n, v, &mold);
    CHECK_EQ(rx_insert(t, k, n, V(v), &old), want);
    if (want == 0)
        CHECK_PTR(old, mold);
}

static void del(rx_tree *t, model *m, const unsigned char *k, size_t n)
{
    void *old;
    uintptr_t mold = 0;
    int want = m_remove(m, k, n, &mold);
    CHECK_EQ(rx_remove(t, k, n, &old), want);
    if (want == 1)
        CHECK_PTR(old, mold);
}

/* Keys k10..k98 (even).  After each key x returned: insert x+1 (ahead),
 * remove x+2 (ahead), remove x itself, remove x-2 and insert x-3
 * (behind); backward mirrors it.  The iterator must return every number
 * from the first to the last exactly once, in order. */
static void mutation_walk(int backward, const char *prefix)
{
    t_alloc a;
    rx_tree *t = t_new_tree(&a);
    model m;
    miter mi;
    unsigned char k[3];
    int x, expect, rc, d = backward ? -1 : 1, others = 0;
    uintptr_t v = 1000;
    m_init(&m);
    for (x = 10; x <= 98; x += 2) {
        key_num(k, x);
        put(t, &m, k, 3, (uintptr_t)x);
    }
    put(t, &m, KEY("j50"), 1);
    put(t, &m, KEY("l50"), 2);
    put(t, &m, KEY("k"), 3);
    mi_init(&mi, t);
    REQUIRE(MI_SEEK(&mi, (const unsigned char *)prefix, strlen(prefix),
                    backward ? RX_SEEK_LAST : RX_SEEK_FIRST, NULL, 0));
    expect = backward ? 98 : 10;
    for (;;) {
        rc = MI_NEXT(&mi, &m);
        if (rc != 1)
            break;
        if (mi.it.key_len != 3 || mi.it.key[0] != 'k') {
            others++; /* "k", "j50", "l50": not changed by the walk */
            continue;
        }
        x = (mi.it.key[1] - '0') * 10 + (mi.it.key[2] - '0');
        CHECK_EQ(x, expect);
        expect = x + d;
        if (x + d >= 10 && x + d <= 99) {
            key_num(k, x + d);
            put(t, &m, k, 3, v++);
        }
        if (x + 2 * d >= 10 && x + 2 * d <= 99) {
            key_num(k, x + 2 * d);
            del(t, &m, k, 3);
        }
        key_num(k, x);
        del(t, &m, k, 3);
        if (x - 2 * d >= 10 && x - 2 * d <= 99) {
            key_num(k, x - 2 * d);
            del(t, &m, k, 3);
        }
        if (x - 3 * d >= 10 && x - 3 * d <= 99) {
            key_num(k, x - 3 * d);
            put(t, &m, k, 3, v++);
        }
        mi_key_intact(&mi, __FILE__, __LINE__);
    }
    CHECK_EQ(rc, 0);
    CHECK_EQ(others, *prefix ? 1 : 3);
    CHECK_EQ(expect, backward ? 9 : 100); /* every number once */
    mi_free(&mi);
    CHECK_TREE(t, &m);
    m_free(&m);
    FREE_TREE(t, &a);
}

static void test_iter_mutation_walk(void)
{
    mutation_walk(0, "k");
    mutation_walk(1, "k");
    mutation_walk(0, "");
    mutation_walk(1, "");
}

/* Seek, then change the tree before the first next: the seek's target is
 * applied to the tree as it is now. */
static void test_iter_seek_then_mutate(void)
{
    t_alloc a;
    rx_tree *t = t_new_tree(&a);
    model m;
    miter mi;
    m_init(&m);
    put(t, &m, KEY("b"), 1);
    put(t, &m, KEY("d"), 2);
    put(t, &m, KEY("f"), 3);
    put(t, &m, KEY("pa"), 4);
    put(t, &m, KEY("pc"), 5);
    mi_init(&mi, t);

    MI_SEEK(&mi, KEY(""), RX_SEEK_GE, KEY("c"));
    put(t, &m, KEY("c"), 10); /* the target itself appears */
    CHECK_EQ(MI_NEXT(&mi, &m), 1);
    CHECK_KEY("GE c after inserting c", mi.it.key, mi.it.key_len, "c", 1);
    del(t, &m, KEY("c"));

    MI_SEEK(&mi, KEY(""), RX_SEEK_GT, KEY("c"));
    del(t, &m, KEY("d")); /* the would-be first key goes */
    CHECK_EQ(MI_NEXT(&mi, &m), 1);
    CHECK_KEY("GT c after removing d", mi.it.key, mi.it.key_len, "f", 1);
    put(t, &m, KEY("d"), 11);

    MI_SEEK(&mi, KEY(""), RX_SEEK_LE, KEY("e"));
    put(t, &m, KEY("e"), 12);
    CHECK_EQ(MI_NEXT(&mi, &m), 1);
    CHECK_KEY("LE e after inserting e", mi.it.key, mi.it.key_len, "e", 1);

    MI_SEEK(&mi, KEY(""), RX_SEEK_LT, KEY("e"));
    del(t, &m, KEY("d"));
    put(t, &m, KEY("d\xff"), 13);
    CHECK_EQ(MI_NEXT(&mi, &m), 1);
    CHECK_KEY("LT e after changes", mi.it.key, mi.it.key_len, "d\xff", 2);

    MI_SEEK(&mi, KEY("p"), RX_SEEK_FIRST, NULL, 0);
    put(t, &m, KEY("p"), 14); /* new first key of the prefix */
    put(t, &m, KEY("o"), 15); /* outside the prefix */
    CHECK_EQ(MI_NEXT(&mi, &m), 1);
    CHECK_KEY("FIRST p after inserting p", mi.it.key, mi.it.key_len, "p", 1);

    MI_SEEK(&mi, KEY("p"), RX_SEEK_LAST, NULL, 0);
    put(t, &m, KEY("pz"), 16);
    put(t, &m, KEY("q"), 17);
    CHECK_EQ(MI_NEXT(&mi, &m), 1);
    CHECK_KEY("LAST p after inserting pz", mi.it.key, mi.it.key_len, "pz", 2);

    MI_SEEK(&mi, KEY("p"), RX_SEEK_GE, KEY("a")); /* clamped to FIRST */
    del(t, &m, KEY("p"));
    CHECK_EQ(MI_NEXT(&mi, &m), 1);
    CHECK_KEY("GE a (clamped) after removing p", mi.it.key, mi.it.key_len, "pa", 2);

    MI_SEEK(&mi, KEY("p"), RX_SEEK_LE, KEY("z")); /* clamped to LAST */
    put(t, &m, KEY("pzz"), 18);
    CHECK_EQ(MI_NEXT(&mi, &m), 1);
    CHECK_KEY("LE z (clamped) after inserting pzz", mi.it.key, mi.it.key_len, "pzz", 3);

    /* clear then next; remove_prefix of the rest of the range */
    MI_SEEK(&mi, KEY("p"), RX_SEEK_FIRST, NULL, 0);
    CHECK_EQ(MI_NEXT(&mi, &m), 1);
    CHECK_EQ(rx_remove_prefix(t, KEY("p"), NULL, NULL), 4);
    {
        size_t lo, hi;
        m_prefix_range(&m, KEY("p"), &lo, &hi);
        m_remove_range(&m, lo, hi, NULL);
    }
    mi_key_intact(&mi, __FILE__, __LINE__);
    CHECK_EQ(MI_NEXT(&mi, &m), 0);
    MI_SEEK(&mi, KEY(""), RX_SEEK_FIRST, NULL, 0);
    CHECK_EQ(MI_NEXT(&mi, &m), 1);
    CHECK_EQ(rx_clear(t, NULL, NULL), m.n);
    m_clear(&m);
    CHECK_EQ(MI_NEXT(&mi, &m), 0);
    MI_SEEK(&mi, KEY(""), RX_SEEK_LAST, NULL, 0);
    put(t, &m, KEY("x"), 19);
    CHECK_EQ(MI_NEXT(&mi, &m), 1);
    CHECK_KEY("LAST on a cleared then refilled tree", mi.it.key, mi.it.key_len, "x", 1);
    mi_free(&mi);
    m_free(&m);
    CHECK_MEM(t, &a);
    FREE_TREE(t, &a);
}

/* Random changes between the steps of two open iterators, many of them
 * right next to the last key an iterator returned. */
static void random_key(t_rng *r, const model *m, const miter *near, unsigned char *k, size_t *n)
{
    static const unsigned char alpha[] = {0x00, 'a', 'b', 'c', 0xFF};
    size_t i, c = rng_below(r, 10);
    if (near && near->emitted && c < 5) {
        /* the last key, cut, extended or with its last byte bumped */
        size_t len = near->ln > 12 ? 12 : near->ln;
        memcpy(k, near->last, len);
        *n = len;
        if (c == 1 && *n > 0)
            *n -= 1 + rng_below(r, *n);
        else if (c == 2)
            k[(*n)++] = alpha[rng_below(r, 5)];
        else if (c == 3 && *n > 0)
            k[*n - 1] = (unsigned char)(k[*n - 1] + (rng_chance(r, 1, 2) ? 1 : -1));
        else if (c == 4 && *n > 0)
            k[*n - 1] = alpha[rng_below(r, 5)];
        return;
    }
    if (c < 7 && m->n > 0) {
        const m_entry *e = &m->e[rng_below(r, m->n)];
        *n = e->n > 12 ? 12 : e->n;
        memcpy(k, e->k, *n);
        return;
    }
    *n = rng_below(r, 6);
    for (i = 0; i < *n; i++)
        k[i] = alpha[rng_below(r, 5)];
}

static void test_iter_mutation_random(void)
{
    t_alloc a;
    rx_tree *t = t_new_tree(&a);
    model m;
    miter mi[2];
    t_rng rng;
    size_t step, nsteps = t_scaled(30000);
    uintptr_t v = 1;
    unsigned long returned = 0;
    m_init(&m);
    mi_init(&mi[0], t);
    mi_init(&mi[1], t);
    rng_seed(&rng, t_seed ^ 0x1234);
    for (step = 0; step < nsteps && t_failures() == 0; step++) {
        unsigned char k[16], p[16];
        size_t n, pn;
        miter *it = &mi[rng_below(&rng, 2)];
        size_t c = rng_below(&rng, 100);
        t_where("seed %llu step %lu", (unsigned long long)t_seed, (unsigned long)step);
        if (!it->active || c < 3) {
            /* a new seek: prefix from a key, op and target at random */
            random_key(&rng, &m, NULL, p, &pn);
            pn = rng_below(&rng, pn + 1);
            if (rng_chance(&rng, 1, 3))
                pn = 0;
            random_key(&rng, &m, NULL, k, &n);
            if (!MI_SEEK(it, p, pn, (rx_seek_op)rng_below(&rng, 6), k, n))
                break;
        } else if (c < 50) {
            int rc = MI_NEXT(it, &m);
            if (rc < 0)
                break;
            returned += (unsigned long)rc;
        } else if (c < 75) {
            random_key(&rng, &m, it, k, &n);
            put(t, &m, k, n, v++);
        } else if (c < 97) {
            random_key(&rng, &m, it, k, &n);
            del(t, &m, k, n);
        } else if (c < 99) {
            size_t lo, hi;
            random_key(&rng, &m, it, k, &n);
            n = rng_below(&rng, n + 1);
            if (n == 0 && rng_chance(&rng, 3, 4))
                n = 1;
            m_prefix_range(&m, k, n, &lo, &hi);
            CHECK_EQ(rx_remove_prefix(t, k, n, NULL, NULL), hi - lo);
            m_remove_range(&m, lo, hi, NULL);
        } else if (rng_chance(&rng, 1, 10)) {
            CHECK_EQ(rx_clear(t, NULL, NULL), m.n);
            m_clear(&m);
        }
        mi_key_intact(&mi[0], __FILE__, __LINE__);
        mi_key_intact(&mi[1], __FILE__, __LINE__);
        CHECK_EQ(rx_size(t), m.n);
    }
    CHECK(returned > nsteps / 10);
    mi_free(&mi[0]);
    mi_free(&mi[1]);
    CHECK_TREE(t, &m);
    CHECK_MEM(t, &a);
    m_free(&m);
    FREE_TREE(t, &a);
}

/* radix.h: rx_iter_set_prefix "takes effect at the next seek".  An open
 * iterator keeps listing with the prefix of its last seek. */
static void test_iter_set_prefix_deferred(void)
{
    t_alloc a;
    rx_tree *t = t_new_tree(&a);
    rx_iter it;
    void *old;
    CHECK_EQ(rx_insert(t, KEY("a1"), V(1), &old), 1);
    CHECK_EQ(rx_insert(t, KEY("a2"), V(2), &old), 1);
    CHECK_EQ(rx_insert(t, KEY("b1"), V(3), &old), 1);
    rx_iter_init(&it, t);
    CHECK_EQ(rx_iter_seek(&it, RX_SEEK_FIRST, NULL, 0), RX_OK);
    CHECK_EQ(rx_iter_next(&it), 1);
    CHECK_KEY("first", it.key, it.key_len, "a1", 2);
    CHECK_EQ(rx_iter_set_prefix(&it, KEY("b")), RX_OK); /* for the next seek */
    CHECK_EQ(rx_iter_next(&it), 1);
    CHECK_KEY("still the old (empty) prefix", it.key, it.key_len, "a2", 2);
    CHECK_EQ(rx_insert(t, KEY("a3"), V(4), &old), 1); /* forces a re-seek */
    CHECK_EQ(rx_iter_next(&it), 1);
    CHECK_KEY("after a change, still the old prefix", it.key, it.key_len, "a3", 2);
    CHECK_EQ(rx_iter_seek(&it, RX_SEEK_FIRST, NULL, 0), RX_OK); /* now it applies */
    CHECK_EQ(rx_iter_next(&it), 1);
    CHECK_KEY("new prefix after the seek", it.key, it.key_len, "b1", 2);
    CHECK_EQ(rx_iter_next(&it), 0);
    rx_iter_release(&it);
    FREE_TREE(t, &a);
}

/* FIRST and LAST ignore the key argument entirely, even a NULL with a
 * length (was a NULL memcmp when a prefix was set). */
static void test_iter_first_last_ignore_key(void)
{
    rx_tree *t = rx_tree_new(NULL);
    rx_iter it;
    void *old;
    CHECK_EQ(rx_insert(t, (const unsigned char *)"user:1", 6, (void *)1, &old), 1);
    CHECK_EQ(rx_insert(t, (const unsigned char *)"user:2", 6, (void *)2, &old), 1);
    CHECK_EQ(rx_insert(t, (const unsigned char *)"zed", 3, (void *)3, &old), 1);
    rx_iter_init(&it, t);
    CHECK_EQ(rx_iter_set_prefix(&it, (const unsigned char *)"user:", 5), RX_OK);
    CHECK_EQ(rx_iter_seek(&it, RX_SEEK_FIRST, NULL, 3), RX_OK);
    CHECK_EQ(rx_iter_next(&it), 1);
    CHECK_KEY("first with prefix", it.key, it.key_len, "user:1", 6);
    CHECK_EQ(rx_iter_seek(&it, RX_SEEK_LAST, NULL, 3), RX_OK);
    CHECK_EQ(rx_iter_next(&it), 1);
    CHECK_KEY("last with prefix", it.key, it.key_len, "user:2", 6);
    rx_iter_release(&it);
    rx_tree_free(t, NULL, NULL);
}

/* The tree keeps the buffers of the last iterator released for the next
 * one, unless they would be a big share of a small tree: a second listing
 * of the same shape allocates nothing, rx_spare_memory counts what is kept
 * (rx_memory does not change), rx_trim and emptying the tree give it back,
 * and two
 * iterators open at once each get their own buffers. */
static void test_iter_spare_buffers(void)
{
    t_alloc a;
    rx_tree *t = t_new_tree(&a);
    rx_iter it, other;
    size_t nodes_mem, kept, n = 0;
    unsigned long attempts;
    void *old;
    CHECK_EQ(rx_insert(t, KEY("user:1:profile"), V(1), &old), 1);
    CHECK_EQ(rx_insert(t, KEY("user:1:settings"), V(2), &old), 1);
    CHECK_EQ(rx_insert(t, KEY("user:2:profile"), V(3), &old), 1);
    CHECK_EQ(rx_insert(t, KEY("zed"), V(4), &old), 1);

    /* a tree this small keeps nothing: the buffers would outweigh it */
    rx_iter_init(&it, t);
    CHECK_EQ(rx_iter_seek(&it, RX_SEEK_FIRST, NULL, 0), RX_OK);
    while (rx_iter_next(&it) == 1)
        n++;
    CHECK_EQ(n, 4);
    rx_iter_release(&it);
    CHECK_EQ(rx_spare_memory(t), 0);
    CHECK_MEM(t, &a);

    /* big enough for them to be a small share of it */
    for (n = 0; n < 300; n++) {
        char key[16];
        sprintf(key, "item:%03lu", (unsigned long)n);
        CHECK_EQ(rx_insert(t, (const unsigned char *)key, strlen(key), V(100 + n), &old), 1);
    }
    n = 0;
    nodes_mem = rx_memory(t);
    CHECK_MEM(t, &a);

    /* first listing: allocates its buffers, leaves them with the tree */
    rx_iter_init(&it, t);
    CHECK_EQ(rx_iter_set_prefix(&it, KEY("user:1:")), RX_OK);
    CHECK_EQ(rx_iter_seek(&it, RX_SEEK_FIRST, NULL, 0), RX_OK);
    while (rx_iter_next(&it) == 1)
        n++;
    CHECK_EQ(n, 2);
    CHECK(a.live_bytes > nodes_mem);
    rx_iter_release(&it);
    kept = rx_spare_memory(t);
    CHECK(kept > 0);
    CHECK_EQ(rx_memory(t), nodes_mem);
    CHECK_MEM(t, &a); /* what is kept is counted, nothing else is held */

    /* the same listing again: no allocation at all */
    attempts = a.attempts;
    rx_iter_init(&it, t);
    CHECK_EQ(rx_spare_memory(t), 0); /* the iterator holds them now */
    CHECK_EQ(a.live_bytes, nodes_mem + kept);
    CHECK_EQ(rx_iter_set_prefix(&it, KEY("user:1:")), RX_OK);
    CHECK_EQ(rx_iter_seek(&it, RX_SEEK_LAST, NULL, 0), RX_OK);
    CHECK_EQ(rx_iter_next(&it), 1);
    CHECK_KEY("last with prefix", it.key, it.key_len, "user:1:settings", 15);
    CHECK_EQ(rx_iter_next(&it), 1);
    CHECK_KEY("first with prefix", it.key, it.key_len, "user:1:profile", 14);
    CHECK_EQ(rx_iter_next(&it), 0);
    CHECK_EQ(a.attempts, attempts);

    /* a second iterator open at the same time gets buffers of its own */
    rx_iter_init(&other, t);
    CHECK_EQ(rx_iter_seek(&other, RX_SEEK_FIRST, NULL, 0), RX_OK);
    CHECK_EQ(rx_iter_next(&other), 1);
    CHECK_KEY("other's first", other.key, other.key_len, "item:000", 8);
    CHECK(a.attempts > attempts);
    rx_iter_release(&it);    /* kept */
    rx_iter_release(&other); /* freed: the tree keeps one set */
    CHECK_MEM(t, &a);

    /* rx_trim gives it back */
    CHECK_EQ(rx_spare_memory(t), kept);
    rx_trim(t);
    CHECK_EQ(rx_spare_memory(t), 0);
    CHECK_EQ(a.live_bytes, nodes_mem);
    rx_trim(t); /* nothing kept: a no-op */
    CHECK_EQ(a.live_bytes, nodes_mem);

    /* a tree that becomes empty keeps nothing, and an iterator released
     * on an empty tree leaves nothing behind */
    rx_iter_init(&it, t);
    CHECK_EQ(rx_iter_seek(&it, RX_SEEK_FIRST, NULL, 0), RX_OK);
    CHECK_EQ(rx_iter_next(&it), 1);
    rx_iter_release(&it);
    CHECK(rx_spare_memory(t) > 0);
    rx_iter_init(&it, t);
    CHECK_EQ(rx_iter_seek(&it, RX_SEEK_FIRST, NULL, 0), RX_OK);
    CHECK_EQ(rx_clear(t, NULL, NULL), 304);
    CHECK_EQ(rx_iter_next(&it), 0);
    rx_iter_release(&it);
    CHECK_MEM(t, &a);
    rx_iter_init(&it, t);
    rx_iter_release(&it);
    CHECK_MEM(t, &a);
    CHECK_EQ(rx_spare_memory(t), 0);
    CHECK_EQ(a.live_bytes, rx_memory(t));
    FREE_TREE(t, &a);
}

/* Fills t with `n` keys of `len` bytes: byte 0 is `group`, byte 1 the
 * key's number, the rest filler.  A listing of them needs a key buffer of
 * about `len` bytes. */
static void put_long_keys(rx_tree *t, unsigned char group, size_t n, size_t len)
{
    unsigned char *k = malloc(len);
    size_t i;
    void *old;
    REQUIRE(k != NULL);
    memset(k, 'x', len);
    k[0] = group;
    for (i = 0; i < n; i++) {
        k[1] = (unsigned char)('A' + i);
        CHECK_EQ(rx_insert(t, k, len, V(i + 1), &old), 1);
    }
    free(k);
}

/* Lists every key, so the tree may keep the iterator's buffers. */
static size_t list_all(rx_tree *t)
{
    rx_iter it;
    size_t n = 0;
    rx_iter_init(&it, t);
    CHECK_EQ(rx_iter_seek(&it, RX_SEEK_FIRST, NULL, 0), RX_OK);
    while (rx_iter_next(&it) == 1)
        n++;
    rx_iter_release(&it);
    return n;
}

/* The bound on the buffers a tree keeps (1/16 of its memory) holds after
 * the tree shrinks, not only when they are handed back: listing long keys
 * and then removing most of them (rx_remove, rx_remove_prefix) must not
 * leave the tree with buffers sized for the keys that are gone. */
static void test_iter_spare_bound_on_shrink(void)
{
    enum { LONG = 64 * 1024 };
    t_alloc a;
    rx_tree *t = t_new_tree(&a);
    unsigned char k[LONG];
    size_t i, kept;
    void *old;

    put_long_keys(t, 'a', 35, LONG);
    put_long_keys(t, 'b', 5, LONG);
    CHECK_EQ(list_all(t), 40);
    kept = rx_spare_memory(t);
    CHECK(kept > LONG); /* the key buffer alone is longer than one key */
    CHECK(kept <= rx_memory(t) / 16);
    CHECK_MEM(t, &a);

    /* one key less: still well within the bound, still kept */
    memset(k, 'x', LONG);
    k[0] = 'a';
    k[1] = 'A';
    CHECK_EQ(rx_remove(t, k, LONG, &old), 1);
    CHECK_EQ(rx_spare_memory(t), kept);
    CHECK_MEM(t, &a);

    /* rx_remove down to a tree the buffers outweigh: they go with the key
     * that crossed the bound */
    for (i = 1; i < 35 && rx_spare_memory(t) == kept; i++) {
        k[1] = (unsigned char)('A' + i);
        CHECK_EQ(rx_remove(t, k, LONG, &old), 1);
        CHECK(rx_spare_memory(t) == kept || rx_spare_memory(t) == 0);
    }
    CHECK_EQ(rx_spare_memory(t), 0);
    CHECK(kept > rx_memory(t) / 16);
    CHECK_MEM(t, &a);
    CHECK_EQ(rx_clear(t, NULL, NULL), 40 - i);

    /* rx_remove_prefix: the same, in one call */
    put_long_keys(t, 'a', 35, LONG);
    put_long_keys(t, 'b', 5, LONG);
    CHECK_EQ(list_all(t), 40);
    CHECK_EQ(rx_spare_memory(t), kept);
    CHECK_EQ(rx_remove_prefix(t, KEY("a"), NULL, NULL), 35);
    CHECK_EQ(rx_spare_memory(t), 0);
    CHECK_MEM(t, &a);
    /* and a listing of the smaller tree keeps nothing either */
    CHECK_EQ(list_all(t), 5);
    CHECK_EQ(rx_spare_memory(t), 0);
    CHECK_MEM(t, &a);
    FREE_TREE(t, &a);
}

/* ---- directory-style listings: one tree and one table of answers for the
 * two ways of making them (rx_iter_skip_prefix, rx_iter_set_delimiter) ---- */

static const char *const dir_keys[] = {"docs/a.md",      "docs/img",     "docs/img/1.png",
                                       "docs/img/2.png", "docs/img/x/3", "docs/z",
                                       "readme",         "\xff\xff",     "\xff\xff\x01"};

static rx_tree *new_dir_tree(t_alloc *a)
{
    rx_tree *t = t_new_tree(a);
    size_t i;
    void *old;
    for (i = 0; i < sizeof dir_keys / sizeof *dir_keys; i++)
        CHECK_EQ(rx_insert(t, (const unsigned char *)dir_keys[i], strlen(dir_keys[i]), V(i + 1),
                           &old),
                 1);
    return t;
}

/* Listings of dir_keys with a one-byte delimiter, both ways of making them
 * must give: in both directions, with and without a prefix, a group that is
 * also a key, and groups of 0xff bytes (no successor string exists). */
static const struct dir_case {
    const char *prefix;
    int backward;
    const char *delimiter;
    const char *want; /* the entries joined by '|' */
} dir_cases[] = {
    {"", 0, "/", "docs/|readme|\xff\xff|\xff\xff\x01"},
    {"", 1, "/", "\xff\xff\x01|\xff\xff|readme|docs/"},
    {"docs/", 0, "/", "docs/a.md|docs/img|docs/img/|docs/z"},
    {"docs/", 1, "/", "docs/z|docs/img/|docs/img|docs/a.md"},
    {"docs/img/", 0, "/", "docs/img/1.png|docs/img/2.png|docs/img/x/"},
    {"docs/img/", 1, "/", "docs/img/x/|docs/img/2.png|docs/img/1.png"},
    {"docs/img", 0, "/", "docs/img|docs/img/"},
    /* the group "\xff" has no successor string: forward, nothing follows */
    {"", 0, "\xff",
     "docs/a.md|docs/img|docs/img/1.png|docs/img/2.png|docs/img/x/3|docs/z|readme|\xff"},
    {"", 1, "\xff",
     "\xff|readme|docs/z|docs/img/x/3|docs/img/2.png|docs/img/1.png|docs/img|docs/a.md"},
    {"", 0, "m", "docs/a.m|docs/im|docs/z|readm|\xff\xff|\xff\xff\x01"},
};

/* Appends '|' (unless out is empty) and n bytes of key to out[*used...],
 * NUL-terminated; 0 when that would not fit in cap. */
static int append_entry(char *out, size_t *used, size_t cap, const unsigned char *key, size_t n)
{
    if (*used + n + 2 > cap)
        return 0;
    if (*used)
        out[(*used)++] = '|';
    memcpy(out + *used, key, n);
    *used += n;
    out[*used] = '\0';
    return 1;
}

/* A directory-style listing of the keys with prefix p: a key whose rest
 * after p holds the byte d is rolled up into its group (p + rest up to and
 * including d), listed once; the group is left with rx_iter_skip_prefix.
 * Writes the entries joined by '|' into out. */
static void list_grouped(rx_tree *t, const char *p, int backward, unsigned char d, char *out,
                         size_t cap)
{
    rx_iter it;
    size_t pn = strlen(p), used = 0;
    int rc;
    out[0] = '\0';
    rx_iter_init(&it, t);
    CHECK_EQ(rx_iter_set_prefix(&it, (const unsigned char *)p, pn), RX_OK);
    CHECK_EQ(rx_iter_seek(&it, backward ? RX_SEEK_LAST : RX_SEEK_FIRST, NULL, 0), RX_OK);
    while ((rc = rx_iter_next(&it)) == 1) {
        const unsigned char *cut = memchr(it.key + pn, d, it.key_len - pn);
        size_t n = cut ? (size_t)(cut - it.key) + 1 : it.key_len;
        if (!append_entry(out, &used, cap, it.key, n))
            break;
        if (cut)
            CHECK_EQ(rx_iter_skip_prefix(&it, it.key, n), RX_OK);
    }
    CHECK_EQ(rc, 0);
    rx_iter_release(&it);
}

#define CHECK_GROUPED(t, p, backward, d, want)                                  \
    do {                                                                        \
        char got_[256];                                                         \
        list_grouped((t), (p), (backward), (d), got_, sizeof got_);             \
        CHECK_KEY("grouped listing", got_, strlen(got_), (want), strlen(want)); \
    } while (0)

/* rx_iter_skip_prefix: the listings of dir_cases, groups outside the
 * prefix's range, skips before a seek and before a step, and changes to the
 * tree between the skip and the next step. */
static void test_iter_skip_prefix_cases(void)
{
    t_alloc a;
    rx_tree *t = new_dir_tree(&a);
    rx_iter it;
    size_t i;
    unsigned long attempts;
    void *old;
    for (i = 0; i < sizeof dir_cases / sizeof *dir_cases; i++) {
        const struct dir_case *c = &dir_cases[i];
        CHECK_GROUPED(t, c->prefix, c->backward, (unsigned char)c->delimiter[0], c->want);
    }

    /* before any seek: nothing to skip, still positioned nowhere */
    rx_iter_init(&it, t);
    CHECK_EQ(rx_iter_skip_prefix(&it, KEY("docs/")), RX_OK);
    CHECK_EQ(rx_iter_next(&it), 0);
    /* the empty group holds every key; so does one the prefix extends */
    CHECK_EQ(rx_iter_seek(&it, RX_SEEK_FIRST, NULL, 0), RX_OK);
    CHECK_EQ(rx_iter_skip_prefix(&it, NULL, 0), RX_OK);
    CHECK_EQ(rx_iter_next(&it), 0);
    CHECK_EQ(rx_iter_set_prefix(&it, KEY("docs/img/")), RX_OK);
    CHECK_EQ(rx_iter_seek(&it, RX_SEEK_LAST, NULL, 0), RX_OK);
    CHECK_EQ(rx_iter_next(&it), 1);
    CHECK_EQ(rx_iter_skip_prefix(&it, KEY("docs/")), RX_OK);
    CHECK_EQ(rx_iter_next(&it), 0);
    /* a group before the prefix's range: forward that is every key with
     * the prefix, backward none; after the range the other way round */
    CHECK_EQ(rx_iter_set_prefix(&it, KEY("docs/")), RX_OK);
    CHECK_EQ(rx_iter_seek(&it, RX_SEEK_LAST, NULL, 0), RX_OK);
    CHECK_EQ(rx_iter_set_prefix(&it, KEY("readme")), RX_OK); /* staged: not applied */
    CHECK_EQ(rx_iter_skip_prefix(&it, KEY("r")), RX_OK);
    CHECK_EQ(rx_iter_next(&it), 1);
    CHECK_KEY("last before a later group", it.key, it.key_len, "docs/z", 6);
    CHECK_EQ(rx_iter_skip_prefix(&it, KEY("a")), RX_OK);
    CHECK_EQ(rx_iter_next(&it), 0);
    CHECK_EQ(rx_iter_set_prefix(&it, KEY("docs/")), RX_OK);
    CHECK_EQ(rx_iter_seek(&it, RX_SEEK_GE, KEY("docs/z")), RX_OK);
    CHECK_EQ(rx_iter_skip_prefix(&it, KEY("a")), RX_OK);
    CHECK_EQ(rx_iter_next(&it), 1);
    CHECK_KEY("first after an earlier group", it.key, it.key_len, "docs/a.md", 9);
    CHECK_EQ(rx_iter_skip_prefix(&it, KEY("r")), RX_OK);
    CHECK_EQ(rx_iter_next(&it), 0);
    /* a group holding no key, from anywhere: a seek */
    CHECK_EQ(rx_iter_set_prefix(&it, NULL, 0), RX_OK);
    CHECK_EQ(rx_iter_seek(&it, RX_SEEK_FIRST, NULL, 0), RX_OK);
    CHECK_EQ(rx_iter_skip_prefix(&it, KEY("docs/b")), RX_OK);
    CHECK_EQ(rx_iter_next(&it), 1);
    CHECK_KEY("after an empty group", it.key, it.key_len, "docs/img", 8);
    CHECK_EQ(rx_iter_skip_prefix(&it, KEY("docs/e")), RX_OK); /* behind: a seek back */
    CHECK_EQ(rx_iter_next(&it), 1);
    CHECK_KEY("after a group behind", it.key, it.key_len, "docs/img", 8);
    /* a group that is a whole key, answered as a leaf */
    CHECK_EQ(rx_iter_seek(&it, RX_SEEK_GE, KEY("readme")), RX_OK);
    CHECK_EQ(rx_iter_next(&it), 1);
    CHECK_EQ(rx_iter_skip_prefix(&it, KEY("readme")), RX_OK);
    CHECK_EQ(rx_iter_next(&it), 1);
    CHECK_KEY("after a leaf group", it.key, it.key_len, "\xff\xff", 2);

    /* the tree changes between the skip and the next step: the iterator
     * seeks again past the group, not after the key it returned last */
    CHECK_EQ(rx_iter_seek(&it, RX_SEEK_GE, KEY("docs/img/")), RX_OK);
    CHECK_EQ(rx_iter_next(&it), 1);
    CHECK_KEY("in the group", it.key, it.key_len, "docs/img/1.png", 14);
    CHECK_EQ(rx_iter_skip_prefix(&it, KEY("docs/img/")), RX_OK);
    CHECK_EQ(rx_insert(t, KEY("docs/img/0"), V(50), &old), 1);
    CHECK_EQ(rx_insert(t, KEY("docs/m"), V(51), &old), 1);
    CHECK_EQ(rx_iter_next(&it), 1);
    CHECK_KEY("past the group after a change", it.key, it.key_len, "docs/m", 6);
    CHECK_EQ(rx_iter_seek(&it, RX_SEEK_LE, KEY("docs/img/2.png")), RX_OK);
    CHECK_EQ(rx_iter_next(&it), 1);
    CHECK_EQ(rx_iter_skip_prefix(&it, KEY("docs/img/")), RX_OK);
    CHECK_EQ(rx_insert(t, KEY("docs/img/00"), V(52), &old), 1);
    CHECK_EQ(rx_insert(t, KEY("docs/b"), V(53), &old), 1);
    CHECK_EQ(rx_iter_next(&it), 1);
    CHECK_KEY("before the group after a change", it.key, it.key_len, "docs/img", 8);
    CHECK_EQ(rx_iter_next(&it), 1);
    CHECK_KEY("then on", it.key, it.key_len, "docs/b", 6);

    /* right after a step into the group, a skip allocates nothing once the
     * iterator's resume buffer has held a group that long */
    CHECK_EQ(rx_iter_seek(&it, RX_SEEK_GE, KEY("docs/img/1")), RX_OK);
    CHECK_EQ(rx_iter_next(&it), 1);
    CHECK_EQ(rx_iter_skip_prefix(&it, KEY("docs/img/")), RX_OK);
    CHECK_EQ(rx_iter_seek(&it, RX_SEEK_GE, KEY("docs/img/1")), RX_OK);
    CHECK_EQ(rx_iter_next(&it), 1);
    attempts = a.attempts;
    CHECK_EQ(rx_iter_skip_prefix(&it, KEY("docs/img/")), RX_OK);
    CHECK_EQ(rx_iter_next(&it), 1);
    CHECK_KEY("past the group", it.key, it.key_len, "docs/m", 6);
    CHECK_EQ(a.attempts, attempts);
    rx_iter_release(&it);
    FREE_TREE(t, &a);
}

/* rx_iter_skip_prefix against the model: random trees over a small
 * alphabet (so groups share long runs and 0xff appears), random prefixes
 * and seeks, then steps and skips -- of a group the last key starts with
 * (the path-popping case) or of any string (the seek case) -- with
 * changes to the tree in between.  Each key returned is the one the model
 * says follows the last key, seek or skip. */
/* Whether key k lies beyond the end bound b (rx_iter_set_end's rule),
 * computed plainly, for the model. */
static int beyond_bound(const unsigned char *k, size_t kn, const unsigned char *b, size_t bn,
                        int inclusive, int backward)
{
    size_t n = kn < bn ? kn : bn;
    int cmp = n ? memcmp(k, b, n) : 0;
    if (cmp == 0)
        cmp = kn < bn ? -1 : (kn > bn ? 1 : 0);
    if (cmp == 0)
        return !inclusive;
    return backward ? cmp < 0 : cmp > 0;
}

/* Steps, skips, seeks and changes to the tree, as the model predicts them;
 * half the rounds also carry an end bound (set before the seek or in the
 * middle of the listing), past which every step must return 0. */
static void test_iter_skip_prefix_model(void)
{
    static const unsigned char alphabet[] = {'a', 'b', '/', 0xff};
    t_alloc a;
    rx_tree *t = t_new_tree(&a);
    model m;
    t_rng rng;
    size_t round, rounds = t_scaled(3000), steps = 0, skips = 0, popped = 0, bounds = 0;
    size_t ended = 0;
    m_init(&m);
    rng_seed(&rng, t_seed ^ 0x5c1b);
    for (round = 0; round < rounds && !t_failures(); round++) {
        unsigned char k[8], p[3], g[9], last[16];
        size_t kn, pn, gn, ln = 0, i, j;
        unsigned char b[8];
        size_t bn = 0;
        int bounded = 0, inclusive = 0;
        rx_iter it;
        rx_seek_op op = (rx_seek_op)rng_below(&rng, 6);
        enum { AFTER_SEEK, AFTER_KEY, AFTER_GROUP } state = AFTER_SEEK;
        int backward, rc;
        long want;
        /* grow or thin the tree */
        for (i = 0; i < 20; i++) {
            kn = rng_below(&rng, 8);
            for (j = 0; j < kn; j++)
                k[j] = alphabet[rng_below(&rng, 4)];
            if (m.n < 200 || rng_chance(&rng, 1, 2))
                put(t, &m, k, kn, round * 100 + i + 1);
            else
                del(t, &m, k, kn);
        }
        pn = rng_below(&rng, 3);
        for (j = 0; j < pn; j++)
            p[j] = alphabet[rng_below(&rng, 4)];
        kn = rng_below(&rng, 6);
        for (j = 0; j < kn; j++)
            k[j] = alphabet[rng_below(&rng, 4)];
        t_where("round %lu", (unsigned long)round);
        rx_iter_init(&it, t);
        CHECK_EQ(rx_iter_set_prefix(&it, p, pn), RX_OK);
        if (rng_chance(&rng, 1, 2)) {
            bn = rng_below(&rng, 7);
            for (j = 0; j < bn; j++)
                b[j] = alphabet[rng_below(&rng, 4)];
            inclusive = rng_chance(&rng, 1, 2);
            bounded = 1;
            CHECK_EQ(rx_iter_set_end(&it, b, bn, inclusive), RX_OK);
        }
        CHECK_EQ(rx_iter_seek(&it, op, k, kn), RX_OK);
        m_seek_index(&m, p, pn, op, k, kn, &backward);
        for (i = 0; i < 40; i++) {
            if (rng_chance(&rng, 1, 20)) { /* a new bound, mid-listing */
                bn = rng_below(&rng, 7);
                for (j = 0; j < bn; j++)
                    b[j] = alphabet[rng_below(&rng, 4)];
                inclusive = rng_chance(&rng, 1, 2);
                bounded = 1;
                bounds++;
                CHECK_EQ(rx_iter_set_end(&it, b, bn, inclusive), RX_OK);
            }
            if (rng_chance(&rng, 1, 8)) { /* a change before the next call */
                unsigned char c[8];
                size_t cn = rng_below(&rng, 7);
                for (j = 0; j < cn; j++)
                    c[j] = alphabet[rng_below(&rng, 4)];
                if (rng_chance(&rng, 1, 2))
                    put(t, &m, c, cn, 999999 + i);
                else
                    del(t, &m, c, cn);
            }
            if (rng_chance(&rng, 1, 3)) {
                if (state == AFTER_KEY && rng_chance(&rng, 3, 4)) {
                    gn = rng_below(&rng, ln + 1); /* a group the last key is in */
                    memcpy(g, last, gn);
                    popped++;
                } else {
                    gn = rng_below(&rng, 6);
                    for (j = 0; j < gn; j++)
                        g[j] = alphabet[rng_below(&rng, 4)];
                }
                CHECK_EQ(rx_iter_skip_prefix(&it, g, gn), RX_OK);
                state = AFTER_GROUP;
                skips++;
                continue;
            }
            if (state == AFTER_SEEK)
                want = m_seek_index(&m, p, pn, op, k, kn, &backward);
            else if (state == AFTER_KEY)
                want = m_step_index(&m, p, pn, backward, last, ln);
            else
                want = m_past_group_index(&m, p, pn, backward, g, gn);
            if (want >= 0 && bounded &&
                beyond_bound(m.e[want].k, m.e[want].n, b, bn, inclusive, backward)) {
                want = -1;
                ended++;
            }
            rc = rx_iter_next(&it);
            steps++;
            if (want < 0) {
                if (!CHECK_EQ(rc, 0))
                    break;
                break;
            }
            if (!CHECK_EQ(rc, 1))
                break;
            if (!CHECK_KEY("after a skip or step", it.key, it.key_len, m.e[want].k, m.e[want].n))
                break;
            CHECK_PTR(it.value, V(m.e[want].v));
            memcpy(last, it.key, it.key_len);
            ln = it.key_len;
            state = AFTER_KEY;
        }
        rx_iter_release(&it);
    }
    t_note("%lu rounds, %lu steps, %lu skips (%lu of a group the last key is in), "
           "%lu bounds set mid-listing, %lu listings ended by a bound",
           (unsigned long)round, (unsigned long)steps, (unsigned long)skips,
           (unsigned long)popped, (unsigned long)bounds, (unsigned long)ended);
    CHECK_TREE(t, &m);
    m_free(&m);
    FREE_TREE(t, &a);
}

/* rx_iter_prefix_count right after a seek is the prefix's count: checked
 * against rx_count_prefix and the model for every prefix of every key (and
 * prefixes matching nothing), after FIRST and LAST seeks. */
static void test_iter_prefix_count(void)
{
    t_alloc a;
    rx_tree *t = t_new_tree(&a);
    model m;
    t_rng rng;
    rx_iter it;
    size_t i, j;
    void *old;
    m_init(&m);
    rng_seed(&rng, 77);
    for (i = 0; i < 3000; i++) {
        unsigned char key[10];
        size_t n = rng_below(&rng, sizeof key + 1), k;
        for (k = 0; k < n; k++)
            key[k] = (unsigned char)"ab\0\xff:1"[rng_below(&rng, 6)];
        m_insert(&m, key, n, i, NULL);
        rx_insert(t, key, n, V(i), &old);
    }
    rx_iter_init(&it, t);
    for (i = 0; i < m.n; i += 7) {
        for (j = 0; j <= m.e[i].n + 1; j++) {
            unsigned char p[12];
            size_t pn = j, lo, hi;
            int op;
            memcpy(p, m.e[i].k, m.e[i].n);
            if (j > m.e[i].n) /* one past the key: most of these match nothing */
                p[pn - 1] = (unsigned char)"q\0"[i % 2];
            m_prefix_range(&m, p, pn, &lo, &hi);
            for (op = 0; op < 2; op++) {
                t_context("key #%lu, prefix length %lu, %s", (unsigned long)i,
                          (unsigned long)pn, op ? "LAST" : "FIRST");
                CHECK_EQ(rx_iter_set_prefix(&it, p, pn), RX_OK);
                CHECK_EQ(rx_iter_seek(&it, op ? RX_SEEK_LAST : RX_SEEK_FIRST, NULL, 0), RX_OK);
                CHECK_EQ(rx_iter_prefix_count(&it), hi - lo);
                CHECK_EQ(rx_iter_prefix_count(&it), rx_count_prefix(t, p, pn));
            }
        }
    }
    t_context("");
    rx_iter_release(&it);
    rx_iter_init(&it, t); /* no seek yet: nothing */
    CHECK_EQ(rx_iter_prefix_count(&it), 0);
    rx_iter_release(&it);
    m_free(&m);
    FREE_TREE(t, &a);
}

/* The walk requests siblings ahead of the child it enters (a window of a
 * few slots, tracked per frame for N48/N256).  Nodes of every fan-out
 * around that window's size and around the type boundaries, with inner
 * children that have values and children of their own, listed in both
 * directions from a seek to every child (so the window starts mid-node),
 * with keys inserted and removed just ahead of the position mid-walk. */
static void test_iter_prefetch_window(void)
{
    static const unsigned fanouts[] = {1, 2, 3, 4, 5, 7, 8, 9, 12, 16, 17, 40, 48, 49, 100, 256};
    t_alloc a;
    rx_tree *t = t_new_tree(&a);
    model m;
    miter mi;
    t_rng rng;
    size_t f;
    m_init(&m);
    mi_init(&mi, t);
    rng_seed(&rng, t_seed ^ 0x5eed);
    for (f = 0; f < sizeof fanouts / sizeof fanouts[0] && t_failures() == 0; f++) {
        unsigned fan = fanouts[f], c, stride = 256 / fan;
        unsigned char k[4];
        size_t i;
        int dir;
        /* "F" + byte c: a leaf, or (every third child) a node with a value
         * and three children of its own, one of them with children again */
        for (c = 0; c < fan; c++) {
            unsigned char b = (unsigned char)(c * stride);
            k[0] = 'F';
            k[1] = b;
            put(t, &m, k, 2, 1 + c);
            if (c % 3 == 0) {
                unsigned g;
                for (g = 0; g < 3; g++) {
                    k[2] = (unsigned char)(g * 100);
                    put(t, &m, k, 3, 1000 + c * 10 + g);
                }
                k[2] = 0;
                k[3] = 'x';
                put(t, &m, k, 4, 5000 + c);
            }
        }
        /* a sibling subtree before and after, so frames above see steps too */
        put(t, &m, (const unsigned char *)"E", 1, 7);
        put(t, &m, (const unsigned char *)"G", 1, 8);
        REQUIRE(CHECK_TREE(t, &m));
        for (dir = 0; dir < 2; dir++) {
            for (i = 0; i <= m.n && t_failures() == 0; i++) {
                /* seek at key i (or past the end), then walk to the end */
                static const unsigned char past[] = {0xFF};
                const unsigned char *target = i < m.n ? m.e[i].k : past;
                size_t tn = i < m.n ? m.e[i].n : 1;
                int rc;
                t_where("fan-out %u, %s from key #%lu", fan, dir ? "backward" : "forward",
                        (unsigned long)i);
                if (!MI_SEEK(&mi, NULL, 0, dir ? RX_SEEK_LE : RX_SEEK_GE, target, tn))
                    break;
                while ((rc = MI_NEXT(&mi, &m)) == 1)
                    ;
                if (rc < 0)
                    break;
            }
        }
        /* mutate inside the window while walking: remove or add keys a few
         * slots ahead of the position, then carry on (the iterator re-seeks) */
        for (dir = 0; dir < 2 && t_failures() == 0; dir++) {
            int rc = 1;
            if (!MI_SEEK(&mi, (const unsigned char *)"F", 1, dir ? RX_SEEK_LAST : RX_SEEK_FIRST,
                         NULL, 0))
                break;
            while (rc == 1) {
                rc = MI_NEXT(&mi, &m);
                if (rc == 1 && mi.ln >= 2 && rng_chance(&rng, 1, 3)) {
                    int ahead = 1 + (int)rng_below(&rng, 10);
                    k[0] = 'F';
                    k[1] = (unsigned char)(mi.last[1] + (dir ? -ahead : ahead));
                    if (rng_chance(&rng, 1, 2))
                        del(t, &m, k, 2);
                    else
                        put(t, &m, k, 2, 9000 + k[1]);
                    mi_key_intact(&mi, __FILE__, __LINE__);
                }
            }
        }
        CHECK_TREE(t, &m);
        CHECK_EQ(rx_clear(t, NULL, NULL), m.n);
        m_clear(&m);
    }
    mi_free(&mi);
    CHECK_MEM(t, &a);
    m_free(&m);
    FREE_TREE(t, &a);
}

/* ---- digit tries: keys answered straight from their parent's frame -----
 *
 * Numbered keys ("s:1".."s:130") make a trie of digits where most keys are
 * childless nodes, which the walk answers without entering them, and the
 * others have a value and children ("s:1" above "s:10".."s:19").  A few
 * childless nodes spell more than their byte ("s:3zzz", and one long
 * enough to grow the key buffer).  Every position of a listing is tried:
 * step to it, change the tree right there, and check the rest. */

static void digit_tree(rx_tree *t, model *m)
{
    unsigned char k[200];
    size_t n;
    int x;
    for (x = 1; x <= 130; x++) {
        n = (size_t)sprintf((char *)k, "s:%d", x);
        put(t, m, k, n, (uintptr_t)x);
    }
    put(t, m, KEY("s:3zzz"), 1001);
    memset(k, 'q', sizeof k);
    memcpy(k, "s:4", 3);
    put(t, m, k, sizeof k, 1002);
    put(t, m, KEY("r"), 1003);
    put(t, m, KEY("t"), 1004);
}

/* Changes the tree around key k (n bytes), the key just returned. */
static void digit_change(rx_tree *t, model *m, int kind, const unsigned char *k, size_t n,
                         int backward)
{
    unsigned char c[256];
    size_t lo, hi;
    memcpy(c, k, n);
    switch (kind) {
    case 0: /* the leaf grows children: now a node with a frame */
        c[n] = '0';
        put(t, m, c, n + 1, 2001);
        c[n] = '9';
        put(t, m, c, n + 1, 2002);
        break;
    case 1: /* the key itself goes */
        del(t, m, c, n);
        break;
    case 2: { /* the key next in the listing goes */
        long i = m_step_index(m, NULL, 0, backward, c, n);
        if (i >= 0 && m->e[i].n <= sizeof c) { /* copied: del frees the model's */
            size_t cn = m->e[i].n;
            memcpy(c, m->e[i].k, cn);
            del(t, m, c, cn);
        }
        break;
    }
    case 3: /* siblings on both sides: last byte bumped up and down */
        c[n - 1]++;
        put(t, m, c, n, 2003);
        c[n - 1] -= 2;
        put(t, m, c, n, 2004);
        break;
    case 4: /* its whole run of siblings goes, the key included */
        m_prefix_range(m, c, n - 1, &lo, &hi);
        CHECK_EQ(rx_remove_prefix(t, c, n - 1, NULL, NULL), hi - lo);
        m_remove_range(m, lo, hi, NULL);
        break;
    default: /* an overwrite: only the version changes */
        put(t, m, c, n, 2005);
        break;
    }
}

static void test_iter_digit_leaves(void)
{
    static const char *const prefixes[] = {"s:", "", "s:1", "s:4"};
    int pi, backward, kind;
    for (pi = 0; pi < 4; pi++) {
        for (backward = 0; backward < 2; backward++) {
            for (kind = 0; kind < 6; kind++) {
                size_t pos, total = 0;
                for (pos = 0; total == 0 || pos < total; pos++) {
                    t_alloc a;
                    rx_tree *t = t_new_tree(&a);
                    model m;
                    miter mi;
                    size_t i;
                    int rc = 1;
                    m_init(&m);
                    digit_tree(t, &m);
                    mi_init(&mi, t);
                    t_where("prefix \"%s\" %s change %d at key #%lu", prefixes[pi],
                            backward ? "backward" : "forward", kind, (unsigned long)pos);
                    if (!MI_SEEK(&mi, (const unsigned char *)prefixes[pi], strlen(prefixes[pi]),
                                 backward ? RX_SEEK_LAST : RX_SEEK_FIRST, NULL, 0))
                        break;
                    for (i = 0; i <= pos && rc == 1; i++)
                        rc = MI_NEXT(&mi, &m);
                    if (total == 0) { /* first round: count the listing */
                        total = i - (rc != 1);
                        while (rc == 1) {
                            rc = MI_NEXT(&mi, &m);
                            total += rc == 1;
                        }
                    } else if (rc == 1) {
                        unsigned char k[256];
                        size_t n = mi.it.key_len;
                        memcpy(k, mi.it.key, n);
                        digit_change(t, &m, kind, k, n, backward);
                        mi_key_intact(&mi, __FILE__, __LINE__);
                        while ((rc = MI_NEXT(&mi, &m)) == 1) {
                        }
                        CHECK_EQ(MI_NEXT(&mi, &m), 0); /* exhausted stays so */
                    }
                    CHECK_EQ(rc, 0);
                    mi_free(&mi);
                    CHECK_TREE(t, &m);
                    m_free(&m);
                    FREE_TREE(t, &a);
                    if (t_failures())
                        return;
                }
            }
        }
    }
}

/* Every seek op at every key of a digit trie and next to it, each listing
 * run to its end against the model, with a change after the first key. */
static void test_iter_digit_seeks(void)
{
    static const char *const prefixes[] = {"s:", "", "s:1"};
    static const char suffixes[][3] = {"", "0", "5", "~", "\x01"};
    int pi, op, si;
    t_alloc a;
    rx_tree *t = t_new_tree(&a);
    model m, m0;
    size_t i;
    m_init(&m);
    digit_tree(t, &m);
    m_init(&m0);
    for (i = 0; i < m.n; i++)
        m_insert(&m0, m.e[i].k, m.e[i].n, m.e[i].v, NULL);
    for (pi = 0; pi < 3; pi++) {
        for (op = RX_SEEK_GE; op <= RX_SEEK_LT; op++) {
            for (i = 0; i < m0.n; i++) {
                for (si = 0; si < 5; si++) {
                    unsigned char k[256];
                    size_t n = m0.e[i].n > 250 ? 250 : m0.e[i].n, sn = strlen(suffixes[si]);
                    int change;
                    memcpy(k, m0.e[i].k, n);
                    if (si == 4) /* a target just below the key */
                        k[n - 1]--;
                    else
                        memcpy(k + n, suffixes[si], sn), n += sn;
                    for (change = 0; change < 2; change++) {
                        miter mi;
                        int rc;
                        t_where("prefix \"%s\" seek %s at key #%lu suffix %d change %d",
                                prefixes[pi], t_op_name((rx_seek_op)op), (unsigned long)i, si,
                                change);
                        mi_init(&mi, t);
                        if (!MI_SEEK(&mi, (const unsigned char *)prefixes[pi],
                                     strlen(prefixes[pi]), (rx_seek_op)op, k, n))
                            break;
                        rc = MI_NEXT(&mi, &m);
                        if (rc == 1 && change) {
                            /* the key after the one returned grows children */
                            unsigned char c[256];
                            size_t cn = mi.it.key_len;
                            memcpy(c, mi.it.key, cn);
                            c[cn] = '7';
                            put(t, &m, c, cn + 1, 3001);
                            mi_key_intact(&mi, __FILE__, __LINE__);
                            del(t, &m, c, cn + 1);
                        }
                        while (rc == 1)
                            rc = MI_NEXT(&mi, &m);
                        CHECK_EQ(rc, 0);
                        mi_free(&mi);
                        if (t_failures())
                            goto done;
                    }
                }
            }
        }
    }
done:
    CHECK_TREE(t, &m);
    m_free(&m);
    m_free(&m0);
    FREE_TREE(t, &a);
}

/* Range listings on numbered keys ("r0000".."r1999", some left out), the
 * shape the end bound's shortcut is for: most keys are leaves answered
 * from their parent and share all but a byte or two with the key before.
 * [lo, hi) forward (RX_SEEK_GE lo, bound hi exclusive) and reversed
 * (RX_SEEK_LT hi, bound lo inclusive), for random lo and hi, present or
 * not, against the model.  Then: a listing that met its bound stays ended,
 * even across a change to the tree, until the next seek; the bound applies
 * to the new key set after a change mid-listing. */
static void num4(unsigned char *k, int x)
{
    k[0] = (unsigned char)('0' + x / 1000 % 10);
    k[1] = (unsigned char)('0' + x / 100 % 10);
    k[2] = (unsigned char)('0' + x / 10 % 10);
    k[3] = (unsigned char)('0' + x % 10);
}

static void test_iter_end_bound_digits(void)
{
    t_alloc a;
    rx_tree *t = t_new_tree(&a);
    model m;
    t_rng rng;
    size_t round, rounds = t_scaled(400);
    unsigned char k[8];
    int x, backward;
    m_init(&m);
    rng_seed(&rng, t_seed ^ 0xe7d);
    for (x = 0; x < 2000; x++) {
        if (rng_chance(&rng, 1, 5))
            continue;
        k[0] = 'r';
        num4(k + 1, x);
        put(t, &m, k, 5, (uintptr_t)x + 1);
    }
    for (round = 0; round < rounds && !t_failures(); round++) {
        unsigned char lo[6], hi[6];
        size_t lon = 5, hin = 5, from, to, i;
        int rc;
        lo[0] = hi[0] = 'r';
        num4(lo + 1, (int)rng_below(&rng, 2100));
        num4(hi + 1, (int)rng_below(&rng, 2100));
        if (rng_chance(&rng, 1, 4))
            lon = 1 + rng_below(&rng, 5); /* a bound that is a prefix of keys */
        if (rng_chance(&rng, 1, 4))
            hin = 1 + rng_below(&rng, 5);
        from = m_lower(&m, lo, lon, 0);
        to = m_lower(&m, hi, hin, 0);
        for (backward = 0; backward < 2; backward++) {
            rx_iter it;
            t_where("round %lu, [%.*s, %.*s) %s", (unsigned long)round, (int)lon, lo,
                    (int)hin, hi, backward ? "reversed" : "forward");
            rx_iter_init(&it, t);
            if (backward) {
                CHECK_EQ(rx_iter_set_end(&it, lo, lon, 1), RX_OK);
                CHECK_EQ(rx_iter_seek(&it, RX_SEEK_LT, hi, hin), RX_OK);
            } else {
                CHECK_EQ(rx_iter_set_end(&it, hi, hin, 0), RX_OK);
                CHECK_EQ(rx_iter_seek(&it, RX_SEEK_GE, lo, lon), RX_OK);
            }
            for (i = 0; i < (to > from ? to - from : 0); i++) {
                size_t w = backward ? to - 1 - i : from + i;
                rc = rx_iter_next(&it);
                if (!CHECK_EQ(rc, 1) ||
                    !CHECK_KEY("in the range", it.key, it.key_len, m.e[w].k, m.e[w].n))
                    break;
            }
            CHECK_EQ(rx_iter_next(&it), 0);
            rx_iter_release(&it);
        }
    }

    /* ended by the bound: stays ended across a change, until a seek */
    {
        rx_iter it;
        unsigned char lo[6] = "r0100", hi[6] = "r0110", c[6] = "r0105";
        size_t n = 0;
        t_where("sticky end");
        rx_iter_init(&it, t);
        CHECK_EQ(rx_iter_set_end(&it, hi, 5, 0), RX_OK);
        CHECK_EQ(rx_iter_seek(&it, RX_SEEK_GE, lo, 5), RX_OK);
        while (rx_iter_next(&it) == 1)
            n++;
        CHECK_EQ(n, m_lower(&m, hi, 5, 0) - m_lower(&m, lo, 5, 0));
        put(t, &m, c, 5, 77);
        CHECK_EQ(rx_iter_next(&it), 0);
        CHECK_EQ(rx_iter_seek(&it, RX_SEEK_GE, c, 5), RX_OK);
        CHECK_EQ(rx_iter_next(&it), 1);
        CHECK_KEY("after a new seek", it.key, it.key_len, c, 5);
        rx_iter_release(&it);
    }

    /* a change mid-listing: the re-seek keeps the bound, and the bound
     * holds for a key inserted past it and one inserted before it */
    {
        rx_iter it;
        unsigned char lo[6] = "r0300", hi[6] = "r0320", in[7] = "r03150", out[6] = "r0321";
        size_t want = m_lower(&m, hi, 5, 0) - m_lower(&m, lo, 5, 0), n = 0;
        t_where("change mid-listing");
        rx_iter_init(&it, t);
        CHECK_EQ(rx_iter_set_end(&it, hi, 5, 0), RX_OK);
        CHECK_EQ(rx_iter_seek(&it, RX_SEEK_GE, lo, 5), RX_OK);
        CHECK_EQ(rx_iter_next(&it), 1);
        n++;
        put(t, &m, in, 6, 78);
        put(t, &m, out, 5, 79);
        while (rx_iter_next(&it) == 1) {
            CHECK(memcmp(it.key, hi, 5) < 0);
            n++;
        }
        CHECK_EQ(n, want + 1);
        rx_iter_release(&it);
    }
    CHECK_TREE(t, &m);
    m_free(&m);
    FREE_TREE(t, &a);
}


/* ---- rx_iter_set_delimiter ---------------------------------------------- */

/* The same directory-style listing as list_grouped, by the iterator's own
 * delimiter step (delimiter d after the prefix): each group comes back
 * once with RX_GROUP and value NULL. */
static void list_delimited(rx_tree *t, const char *p, int backward, const char *d, char *out,
                           size_t cap)
{
    rx_iter it;
    size_t pn = strlen(p), used = 0;
    int rc;
    out[0] = '\0';
    rx_iter_init(&it, t);
    CHECK_EQ(rx_iter_set_prefix(&it, (const unsigned char *)p, pn), RX_OK);
    CHECK_EQ(rx_iter_set_delimiter(&it, (const unsigned char *)d, strlen(d), pn), RX_OK);
    CHECK_EQ(rx_iter_seek(&it, backward ? RX_SEEK_LAST : RX_SEEK_FIRST, NULL, 0), RX_OK);
    while ((rc = rx_iter_next(&it)) == 1 || rc == RX_GROUP) {
        if (rc == RX_GROUP)
            CHECK_PTR(it.value, NULL);
        if (!append_entry(out, &used, cap, it.key, it.key_len))
            break;
    }
    CHECK_EQ(rc, 0);
    rx_iter_release(&it);
}

#define CHECK_DELIMITED(t, p, backward, d, want)                                    \
    do {                                                                            \
        char got_[256];                                                             \
        list_delimited((t), (p), (backward), (d), got_, sizeof got_);               \
        CHECK_KEY("delimited listing", got_, strlen(got_), (want), strlen(want));   \
    } while (0)

/* The delimiter step on dir_cases (the answers of rx_iter_skip_prefix), a
 * delimiter of two bytes whose occurrence straddles a branch byte, one
 * inside the prefix (not looked at), and removing it. */
static void test_iter_delimiter_cases(void)
{
    t_alloc a;
    rx_tree *t = new_dir_tree(&a);
    rx_iter it;
    size_t i;
    int rc;
    void *old;
    for (i = 0; i < sizeof dir_cases / sizeof *dir_cases; i++) {
        const struct dir_case *c = &dir_cases[i];
        CHECK_DELIMITED(t, c->prefix, c->backward, c->delimiter, c->want);
    }
    /* two bytes: "g/" ends at the branch byte after "docs/img" */
    CHECK_DELIMITED(t, "", 0, "g/", "docs/a.md|docs/img|docs/img/|docs/z|readme|\xff\xff|"
                                    "\xff\xff\x01");
    CHECK_DELIMITED(t, "", 1, "s/a", "\xff\xff\x01|\xff\xff|readme|docs/z|docs/img/x/3|"
                                     "docs/img/2.png|docs/img/1.png|docs/img|docs/a");
    CHECK_DELIMITED(t, "docs", 0, "/", "docs/");          /* the prefix's own "/" is not */
    CHECK_DELIMITED(t, "docs/img/x/", 0, "/", "docs/img/x/3"); /* looked at, ... */
    CHECK_DELIMITED(t, "nothing", 0, "/", "");
    CHECK_DELIMITED(t, "", 0, "docs/img/x/3", "docs/a.md|docs/img|docs/img/1.png|"
                                              "docs/img/2.png|docs/img/x/3|docs/z|readme|"
                                              "\xff\xff|\xff\xff\x01");

    /* a seek into a group lists the group (it has keys from there on);
     * one past its last key does not */
    rx_iter_init(&it, t);
    CHECK_EQ(rx_iter_set_prefix(&it, KEY("docs/")), RX_OK);
    CHECK_EQ(rx_iter_set_delimiter(&it, KEY("/"), 5), RX_OK);
    CHECK_EQ(rx_iter_seek(&it, RX_SEEK_GE, KEY("docs/img/2")), RX_OK);
    CHECK_EQ(rx_iter_next(&it), RX_GROUP);
    CHECK_KEY("group sought into", it.key, it.key_len, "docs/img/", 9);
    CHECK_EQ(rx_iter_next(&it), 1);
    CHECK_KEY("after it", it.key, it.key_len, "docs/z", 6);
    CHECK_EQ(rx_iter_seek(&it, RX_SEEK_GT, KEY("docs/img/x/3")), RX_OK);
    CHECK_EQ(rx_iter_next(&it), 1);
    CHECK_KEY("past the group's last key", it.key, it.key_len, "docs/z", 6);
    CHECK_EQ(rx_iter_seek(&it, RX_SEEK_LT, KEY("docs/img/2")), RX_OK);
    CHECK_EQ(rx_iter_next(&it), RX_GROUP);
    CHECK_KEY("group sought into backward", it.key, it.key_len, "docs/img/", 9);
    CHECK_EQ(rx_iter_next(&it), 1);
    CHECK_KEY("before it", it.key, it.key_len, "docs/img", 8);

    /* the end bound: a group is listed when its first key in the
     * direction is within it (cut groups included), and ends the listing
     * otherwise */
    CHECK_EQ(rx_iter_set_end(&it, KEY("docs/img/1.png"), 0), RX_OK);
    CHECK_EQ(rx_iter_seek(&it, RX_SEEK_FIRST, NULL, 0), RX_OK);
    CHECK_EQ(rx_iter_next(&it), 1);
    CHECK_EQ(rx_iter_next(&it), 1);
    CHECK_KEY("before the cut group", it.key, it.key_len, "docs/img", 8);
    CHECK_EQ(rx_iter_next(&it), 0); /* docs/img/1.png is its first key: excluded */
    CHECK_EQ(rx_iter_set_end(&it, KEY("docs/img/1.png"), 1), RX_OK);
    CHECK_EQ(rx_iter_seek(&it, RX_SEEK_GE, KEY("docs/img")), RX_OK);
    CHECK_EQ(rx_iter_next(&it), 1);
    CHECK_EQ(rx_iter_next(&it), RX_GROUP);
    CHECK_KEY("cut group, first key included", it.key, it.key_len, "docs/img/", 9);
    CHECK_EQ(rx_iter_next(&it), 0);
    CHECK_EQ(rx_iter_set_end(&it, KEY("docs/zz"), 1), RX_OK);
    CHECK_EQ(rx_iter_seek(&it, RX_SEEK_LAST, NULL, 0), RX_OK);
    CHECK_EQ(rx_iter_next(&it), 0); /* docs/z is below the bound: nothing */
    CHECK_EQ(rx_iter_set_end(&it, KEY("docs/img/2"), 1), RX_OK);
    CHECK_EQ(rx_iter_seek(&it, RX_SEEK_LAST, NULL, 0), RX_OK);
    CHECK_EQ(rx_iter_next(&it), 1);
    CHECK_EQ(rx_iter_next(&it), RX_GROUP);
    CHECK_KEY("cut group backward", it.key, it.key_len, "docs/img/", 9);
    CHECK_EQ(rx_iter_next(&it), 0);
    CHECK_EQ(rx_iter_set_end(&it, KEY("docs/a"), 1), RX_OK);
    CHECK_EQ(rx_iter_seek(&it, RX_SEEK_LAST, NULL, 0), RX_OK);
    CHECK_EQ(rx_iter_next(&it), 1);
    CHECK_EQ(rx_iter_next(&it), RX_GROUP); /* wholly above the bound */
    CHECK_EQ(rx_iter_next(&it), 1);
    CHECK_EQ(rx_iter_next(&it), 1);
    CHECK_KEY("last within", it.key, it.key_len, "docs/a.md", 9);
    CHECK_EQ(rx_iter_next(&it), 0);
    rx_iter_release(&it);

    /* changes between steps: after a group the listing goes on past all
     * of it, keys written into it since included */
    rx_iter_init(&it, t);
    CHECK_EQ(rx_iter_set_delimiter(&it, KEY("/"), 5), RX_OK);
    CHECK_EQ(rx_iter_set_prefix(&it, KEY("docs/")), RX_OK);
    CHECK_EQ(rx_iter_seek(&it, RX_SEEK_GE, KEY("docs/img/")), RX_OK);
    CHECK_EQ(rx_iter_next(&it), RX_GROUP);
    CHECK_EQ(rx_insert(t, KEY("docs/img/zz"), V(60), &old), 1);
    CHECK_EQ(rx_insert(t, KEY("docs/k/1"), V(61), &old), 1);
    CHECK_EQ(rx_iter_next(&it), RX_GROUP);
    CHECK_KEY("a new group after a change", it.key, it.key_len, "docs/k/", 7);
    CHECK_EQ(rx_iter_seek(&it, RX_SEEK_LE, KEY("docs/k/")), RX_OK);
    CHECK_EQ(rx_iter_next(&it), RX_GROUP);
    CHECK_KEY("backward", it.key, it.key_len, "docs/img/", 9);
    CHECK_EQ(rx_insert(t, KEY("docs/img/"), V(62), &old), 1);
    CHECK_EQ(rx_iter_next(&it), 1);
    CHECK_KEY("before the group after a change", it.key, it.key_len, "docs/img", 8);
    /* removing the delimiter: from the next step on, keys one by one */
    CHECK_EQ(rx_iter_seek(&it, RX_SEEK_FIRST, NULL, 0), RX_OK);
    CHECK_EQ(rx_iter_next(&it), 1);
    CHECK_EQ(rx_iter_next(&it), 1);
    CHECK_EQ(rx_iter_next(&it), RX_GROUP);
    CHECK_EQ(rx_iter_set_delimiter(&it, NULL, 0, 0), RX_OK);
    CHECK_EQ(rx_iter_next(&it), 1);
    CHECK_KEY("after the group, undelimited", it.key, it.key_len, "docs/k/1", 8);
    /* and setting one mid-listing rolls up from the next step */
    CHECK_EQ(rx_iter_seek(&it, RX_SEEK_GE, KEY("docs/img/1")), RX_OK);
    CHECK_EQ(rx_iter_next(&it), 1);
    CHECK_KEY("a key of the group", it.key, it.key_len, "docs/img/1.png", 14);
    CHECK_EQ(rx_iter_set_delimiter(&it, KEY("/"), 5), RX_OK);
    rc = rx_iter_next(&it);
    CHECK_EQ(rc, RX_GROUP);
    CHECK_KEY("its group", it.key, it.key_len, "docs/img/", 9);
    rx_iter_release(&it);
    FREE_TREE(t, &a);
}

/* A group is returned without visiting its keys: listing three groups,
 * one holding a key of 10^5 bytes, the iterator's buffers never grow to
 * that key's length (a walk to the key would have to spell it). */
static void test_iter_delimiter_unvisited(void)
{
    t_alloc a;
    rx_tree *t = t_new_tree(&a);
    rx_iter it;
    size_t n = 100000, before;
    unsigned char *k = malloc(n);
    void *old;
    int backward;
    REQUIRE(k != NULL);
    memset(k, 'x', n);
    memcpy(k, "d/a/", 4);
    CHECK_EQ(rx_insert(t, k, n, V(1), &old), 1);
    k[n - 1] = 'y';
    CHECK_EQ(rx_insert(t, k, n, V(2), &old), 1);
    CHECK_EQ(rx_insert(t, KEY("d/b/1"), V(3), &old), 1);
    CHECK_EQ(rx_insert(t, KEY("d/c"), V(4), &old), 1);
    for (backward = 0; backward < 2; backward++) {
        rx_trim(t);
        before = a.live_bytes;
        rx_iter_init(&it, t);
        CHECK_EQ(rx_iter_set_prefix(&it, KEY("d/")), RX_OK);
        CHECK_EQ(rx_iter_set_delimiter(&it, KEY("/"), 2), RX_OK);
        CHECK_EQ(rx_iter_seek(&it, backward ? RX_SEEK_LAST : RX_SEEK_FIRST, NULL, 0), RX_OK);
        CHECK_EQ(rx_iter_next(&it), backward ? 1 : RX_GROUP);
        CHECK_EQ(rx_iter_next(&it), RX_GROUP);
        CHECK_EQ(rx_iter_next(&it), backward ? RX_GROUP : 1);
        CHECK_KEY("last entry", it.key, it.key_len, backward ? "d/a/" : "d/c", backward ? 4 : 3);
        CHECK_EQ(rx_iter_next(&it), 0);
        CHECK(a.live_bytes - before < 4096);
        rx_iter_release(&it);
    }
    free(k);
    FREE_TREE(t, &a);
}

/* The length of the group of key index i (the key up to the end of the
 * first delimiter at or after `from`; a key that ends with it is in the
 * group it spells), or 0 when the key is listed as itself. */
static size_t m_group_len(const model *m, long i, const unsigned char *d, size_t dn, size_t from)
{
    const unsigned char *k = m->e[i].k;
    size_t n = m->e[i].n, s;
    for (s = from; s + dn <= n; s++)
        if (memcmp(k + s, d, dn) == 0)
            return s + dn;
    return 0;
}

/* The delimiter step against the model: random trees over a small
 * alphabet, random prefixes, seeks, end bounds, delimiters of one to three
 * bytes looked for from the prefix's end (or elsewhere), and changes to the
 * tree between steps.  Each entry is the model's: the first key after the
 * last entry (past all of it, for a group) rolled up into its group. */
static void test_iter_delimiter_model(void)
{
    static const unsigned char alphabet[] = {'a', 'b', '/', 0xff};
    t_alloc a;
    rx_tree *t = t_new_tree(&a);
    model m;
    t_rng rng;
    size_t round, rounds = t_scaled(4000), entries = 0, groups = 0, ended = 0, changes = 0;
    m_init(&m);
    rng_seed(&rng, t_seed ^ 0xde11);
    for (round = 0; round < rounds && !t_failures(); round++) {
        unsigned char k[10], p[3], last[16], b[8], d[3];
        size_t kn, pn, ln = 0, bn = 0, dn, from, i, j, en;
        int bounded = 0, inclusive = 0, backward, rc;
        rx_iter it;
        rx_seek_op op = (rx_seek_op)rng_below(&rng, 6);
        enum { AFTER_SEEK, AFTER_KEY, AFTER_GROUP } state = AFTER_SEEK;
        long want;
        for (i = 0; i < 20; i++) {
            kn = rng_below(&rng, 10);
            for (j = 0; j < kn; j++)
                k[j] = alphabet[rng_below(&rng, rng_chance(&rng, 1, 3) ? 4 : 2)];
            if (m.n < 300 || rng_chance(&rng, 1, 2))
                put(t, &m, k, kn, round * 100 + i + 1);
            else
                del(t, &m, k, kn);
        }
        pn = rng_below(&rng, 3);
        for (j = 0; j < pn; j++)
            p[j] = alphabet[rng_below(&rng, 4)];
        kn = rng_below(&rng, 6);
        for (j = 0; j < kn; j++)
            k[j] = alphabet[rng_below(&rng, 4)];
        dn = 1 + (rng_chance(&rng, 1, 4) ? rng_below(&rng, 3) : 0);
        for (j = 0; j < dn; j++)
            d[j] = alphabet[rng_below(&rng, 4)];
        from = rng_chance(&rng, 1, 4) ? rng_below(&rng, 4) : pn;
        t_where("round %lu", (unsigned long)round);
        rx_iter_init(&it, t);
        CHECK_EQ(rx_iter_set_prefix(&it, p, pn), RX_OK);
        CHECK_EQ(rx_iter_set_delimiter(&it, d, dn, from), RX_OK);
        if (rng_chance(&rng, 1, 2)) {
            bn = rng_below(&rng, 7);
            for (j = 0; j < bn; j++)
                b[j] = alphabet[rng_below(&rng, 4)];
            inclusive = rng_chance(&rng, 1, 2);
            bounded = 1;
            CHECK_EQ(rx_iter_set_end(&it, b, bn, inclusive), RX_OK);
        }
        CHECK_EQ(rx_iter_seek(&it, op, k, kn), RX_OK);
        m_seek_index(&m, p, pn, op, k, kn, &backward);
        for (i = 0; i < 30; i++) {
            if (rng_chance(&rng, 1, 6)) { /* a change before the next step */
                unsigned char c[10];
                size_t cn = rng_below(&rng, 9);
                for (j = 0; j < cn; j++)
                    c[j] = alphabet[rng_below(&rng, 4)];
                if (rng_chance(&rng, 1, 2))
                    put(t, &m, c, cn, 999999 + i);
                else
                    del(t, &m, c, cn);
                changes++;
            }
            if (state == AFTER_SEEK)
                want = m_seek_index(&m, p, pn, op, k, kn, &backward);
            else if (state == AFTER_KEY)
                want = m_step_index(&m, p, pn, backward, last, ln);
            else
                want = m_past_group_index(&m, p, pn, backward, last, ln);
            if (want >= 0 && bounded &&
                beyond_bound(m.e[want].k, m.e[want].n, b, bn, inclusive, backward)) {
                want = -1;
                ended++;
            }
            rc = rx_iter_next(&it);
            if (want < 0) {
                CHECK_EQ(rc, 0);
                break;
            }
            en = m_group_len(&m, want, d, dn, from);
            if (rc != (en ? RX_GROUP : 1)) {
                char b1[160], b2[160], b3[160], b4[160], b5[160], b6[160];
                t_context("prefix %s, delimiter %s from %lu, seek %d %s, state %d last %s; got %s, model key %s",
                          t_fmt_key(b1, p, pn), t_fmt_key(b2, d, dn), (unsigned long)from, (int)op,
                          t_fmt_key(b3, k, kn), (int)state, t_fmt_key(b5, last, ln),
                          t_fmt_key(b4, it.key, it.key_len), t_fmt_key(b6, m.e[want].k, m.e[want].n));
            }
            if (!CHECK_EQ(rc, en ? RX_GROUP : 1))
                break;
            if (!CHECK_KEY("entry", it.key, it.key_len, m.e[want].k, en ? en : m.e[want].n))
                break;
            CHECK_PTR(it.value, rc == 1 ? V(m.e[want].v) : NULL);
            memcpy(last, it.key, it.key_len);
            ln = it.key_len;
            state = rc == 1 ? AFTER_KEY : AFTER_GROUP;
            entries++;
            groups += rc == RX_GROUP;
        }
        rx_iter_release(&it);
    }
    t_note("%lu rounds, %lu entries (%lu groups), %lu changes between steps, "
           "%lu listings ended by a bound",
           (unsigned long)round, (unsigned long)entries, (unsigned long)groups,
           (unsigned long)changes, (unsigned long)ended);
    CHECK_TREE(t, &m);
    m_free(&m);
    FREE_TREE(t, &a);
}

/* Every allocation of a delimited listing failing in turn (set_delimiter,
 * the seek, the key buffer growing as a step writes a long branch, the
 * re-seek after a change): RX_ENOMEM, then the listing either ends or,
 * retried, carries on exactly; nothing leaks. */
static void test_iter_delimiter_oom(void)
{
    t_alloc a;
    rx_tree *t = t_new_tree(&a);
    unsigned char k[300];
    unsigned long fail;
    void *old;
    size_t i;
    memset(k, 'q', sizeof k);
    memcpy(k, "p/", 2);
    for (i = 0; i < 8; i++) {
        k[2] = (unsigned char)('a' + i);
        k[3] = '/';
        CHECK_EQ(rx_insert(t, k, 40 + i * 30, V(i + 1), &old), 1);
        k[3] = 'z';
        CHECK_EQ(rx_insert(t, k, 40 + i * 30, V(i + 20), &old), 1);
    }
    for (fail = 1; fail < 40 && !t_failures(); fail++) {
        rx_iter it;
        int rc, backward = (int)(fail & 1), listed = 0, failed = 0;
        rx_trim(t);
        rx_iter_init(&it, t);
        a.fail_at = a.attempts + fail;
        rc = rx_iter_set_delimiter(&it, KEY("/"), 2);
        if (rc == RX_ENOMEM) {
            failed = 1;
            talloc_heal(&a);
            rc = rx_iter_set_delimiter(&it, KEY("/"), 2);
        }
        CHECK_EQ(rc, RX_OK);
        rc = rx_iter_seek(&it, backward ? RX_SEEK_LAST : RX_SEEK_FIRST, NULL, 0);
        if (rc == RX_ENOMEM) {
            failed = 1;
            CHECK_EQ(rx_iter_next(&it), 0); /* exhausted */
            talloc_heal(&a);
            rc = rx_iter_seek(&it, backward ? RX_SEEK_LAST : RX_SEEK_FIRST, NULL, 0);
        }
        CHECK_EQ(rc, RX_OK);
        for (;;) {
            if (listed == 3) { /* a change (not failed): the next step seeks again */
                unsigned long at = a.fail_at, before = a.attempts;
                a.fail_at = 0;
                k[2] = 'c';
                k[3] = '/';
                CHECK_EQ(rx_insert(t, k, 41, V(99), &old), 1);
                CHECK_EQ(rx_remove(t, k, 41, &old), 1);
                if (at > before)
                    a.fail_at = at + (a.attempts - before);
            }
            rc = rx_iter_next(&it);
            if (rc == RX_ENOMEM) {
                failed = 1;
                talloc_heal(&a);
                if (it.exhausted) /* a step failed half-way: the listing ends */
                    break;
                continue; /* the re-seek failed: retried exactly */
            }
            if (rc == 0) {
                CHECK_EQ(listed, 16);
                break;
            }
            {
                /* entries alternate group / key: "p/a/", "p/aqq..", ... */
                size_t idx = (size_t)(backward ? 15 - listed : listed);
                int group = (idx & 1) == 0;
                CHECK_EQ(rc, group ? RX_GROUP : 1);
                CHECK_EQ(it.key[2], 'a' + idx / 2);
                CHECK_EQ(it.key_len, group ? 4 : 40 + idx / 2 * 30);
            }
            listed++;
        }
        talloc_heal(&a);
        rx_iter_release(&it);
        if (!failed)
            break; /* every allocation of the listing has been failed once */
    }
    CHECK(fail > 3);
    FREE_TREE(t, &a);
}

/* rx_count_range against the model: random trees over a small alphabet
 * (long shared runs, so lo and hi part inside node prefixes and at branch
 * bytes), random bounds in every order, with and without an upper end. */
static void test_count_range_model(void)
{
    static const unsigned char alphabet[] = {0x00, 'a', 'b', 0xff};
    t_alloc a;
    rx_tree *t = t_new_tree(&a);
    model m;
    t_rng rng;
    size_t round, rounds = t_scaled(3000), checks = 0;
    m_init(&m);
    rng_seed(&rng, t_seed ^ 0xc0de);
    for (round = 0; round < rounds && !t_failures(); round++) {
        unsigned char k[12], lo[10], hi[10];
        size_t kn, ln, hn, i, j, want;
        for (i = 0; i < 10; i++) {
            kn = rng_below(&rng, 12);
            for (j = 0; j < kn; j++)
                k[j] = alphabet[rng_below(&rng, rng_chance(&rng, 1, 4) ? 4 : 2)];
            if (m.n < 400 || rng_chance(&rng, 1, 2))
                put(t, &m, k, kn, round * 10 + i + 1);
            else
                del(t, &m, k, kn);
        }
        for (i = 0; i < 10; i++) {
            size_t lower, upper;
            ln = rng_below(&rng, 10);
            for (j = 0; j < ln; j++)
                lo[j] = alphabet[rng_below(&rng, rng_chance(&rng, 1, 4) ? 4 : 2)];
            if (rng_chance(&rng, 1, 2) && m.n) { /* a bound near stored keys */
                const m_entry *e = &m.e[rng_below(&rng, m.n)];
                ln = e->n < 10 ? e->n : 10;
                memcpy(lo, e->k, ln);
            }
            hn = rng_below(&rng, 10);
            for (j = 0; j < hn; j++)
                hi[j] = alphabet[rng_below(&rng, rng_chance(&rng, 1, 4) ? 4 : 2)];
            if (rng_chance(&rng, 1, 3)) { /* hi extending lo */
                hn = ln + rng_below(&rng, 11 - ln);
                memcpy(hi, lo, ln);
                for (j = ln; j < hn; j++)
                    hi[j] = alphabet[rng_below(&rng, 4)];
            }
            lower = m_lower(&m, lo, ln, 0);
            upper = m_lower(&m, hi, hn, 0);
            want = upper > lower ? upper - lower : 0;
            t_where("round %lu", (unsigned long)round);
            CHECK_EQ(rx_count_range(t, ln ? lo : NULL, ln, hi, hn, 1), want);
            CHECK_EQ(rx_count_range(t, lo, ln, NULL, 0, 0), m.n - lower);
            checks += 2;
        }
    }
    t_note("%lu rounds, %lu counts", (unsigned long)round, (unsigned long)checks);
    m_free(&m);
    FREE_TREE(t, &a);
}

void run_iter_tests(void)
{
    t_run("iter_order", test_iter_order);
    t_run("iter_prefix", test_iter_prefix);
    t_run("iter_seek_cases", test_iter_seek_cases);
    t_run("iter_seek_model", test_iter_seek_model);
    t_run("iter_empty", test_iter_empty);
    t_run("iter_mutation_walk", test_iter_mutation_walk);
    t_run("iter_seek_then_mutate", test_iter_seek_then_mutate);
    t_run("iter_mutation_random", test_iter_mutation_random);
    /* was a bug: csrc/fuzz/regressions/set_prefix_applies_before_seek */
    t_run("iter_set_prefix_deferred", test_iter_set_prefix_deferred);
    t_run("iter_first_last_ignore_key", test_iter_first_last_ignore_key);
    t_run("iter_prefetch_window", test_iter_prefetch_window);
    t_run("iter_digit_leaves", test_iter_digit_leaves);
    t_run("iter_digit_seeks", test_iter_digit_seeks);
    t_run("iter_spare_buffers", test_iter_spare_buffers);
    t_run("iter_spare_bound_on_shrink", test_iter_spare_bound_on_shrink);
    t_run("iter_prefix_count", test_iter_prefix_count);
    t_run("iter_skip_prefix_cases", test_iter_skip_prefix_cases);
    t_run("iter_skip_prefix_model", test_iter_skip_prefix_model);
    t_run("iter_end_bound_digits", test_iter_end_bound_digits);
    t_run("iter_delimiter_cases", test_iter_delimiter_cases);
    t_run("iter_delimiter_unvisited", test_iter_delimiter_unvisited);
    t_run("iter_delimiter_model", test_iter_delimiter_model);
    t_run("iter_delimiter_oom", test_iter_delimiter_oom);
    t_run("count_range_model", test_count_range_model);
}
