/*
 * test_unit.c -- one group of checks per public function of radix.h, plus
 * the awkward keys: "", NUL bytes, 0x00/0xFF, keys that are prefixes of
 * each other, a 1 MB key.
 */
#include "test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *k;
    size_t n;
} bkey;

#define BK(s) {(s), sizeof(s) - 1}

static const unsigned char *B(const bkey *k)
{
    return (const unsigned char *)k->k;
}

/* The keys of radix.c's header comment plus a few that branch nearby. */
static const bkey ROMAN[] = {BK("romane"), BK("romanus"), BK("rom"),
                             BK("rubens"), BK("rubicon"), BK("rubicundus")};
#define NROMAN (sizeof ROMAN / sizeof ROMAN[0])

static void insert_all(rx_tree *t, model *m, const bkey *keys, size_t n, uintptr_t base)
{
    size_t i;
    for (i = 0; i < n; i++) {
        void *old = NULL;
        CHECK_EQ(rx_insert(t, B(&keys[i]), keys[i].n, V(base + i), &old), 1);
        if (m)
            m_insert(m, B(&keys[i]), keys[i].n, base + i, NULL);
    }
}

/* ------------------------------------------------------------------------ */

static void test_empty_tree(void)
{
    t_alloc a;
    rx_tree *t = t_new_tree(&a);
    void *v = V(77), *old = V(88);
    size_t ml = 99;
    uint64_t ver = rx_version(t);
    vlist rel = {0};
    rx_iter it;
    int op;

    CHECK_EQ(rx_size(t), 0);
    CHECK(rx_memory(t) > 0);
    CHECK_MEM(t, &a);
    CHECK_EQ(rx_find(t, KEY(""), &v), 0);
    CHECK_EQ(rx_find(t, KEY("a"), &v), 0);
    CHECK_EQ(rx_remove(t, KEY(""), &old), 0);
    CHECK_EQ(rx_remove(t, KEY("abc"), &old), 0);
    CHECK_EQ(rx_count_prefix(t, KEY("")), 0);
    CHECK_EQ(rx_count_prefix(t, KEY("a")), 0);
    CHECK_EQ(rx_longest_prefix(t, KEY("abc"), &ml, &v), 0);
    CHECK_EQ(rx_longest_prefix(t, KEY(""), &ml, &v), 0);
    CHECK_EQ(rx_remove_prefix(t, KEY(""), vl_collect, &rel), 0);
    CHECK_EQ(rx_remove_prefix(t, KEY("a"), vl_collect, &rel), 0);
    CHECK_EQ(rx_clear(t, vl_collect, &rel), 0);
    CHECK_EQ(rel.n, 0);
    CHECK_EQ(rx_version(t), ver);
    CHECK_EQ(rx_size(t), 0);

    rx_iter_init(&it, t);
    CHECK_EQ(rx_iter_next(&it), 0); /* not positioned yet */
    for (op = RX_SEEK_FIRST; op <= RX_SEEK_LT; op++) {
        CHECK_EQ(rx_iter_seek(&it, (rx_seek_op)op, KEY("m")), RX_OK);
        CHECK_EQ(rx_iter_next(&it), 0);
        CHECK_EQ(rx_iter_next(&it), 0);
    }
    CHECK_EQ(rx_iter_set_prefix(&it, KEY("m")), RX_OK);
    for (op = RX_SEEK_FIRST; op <= RX_SEEK_LT; op++) {
        CHECK_EQ(rx_iter_seek(&it, (rx_seek_op)op, KEY("m")), RX_OK);
        CHECK_EQ(rx_iter_next(&it), 0);
    }
    rx_iter_release(&it);
    CHECK_MEM(t, &a);
    FREE_TREE(t, &a);
    vl_free(&rel);

    /* the C library's allocator (ASan's leak checker watches this one) */
    t = rx_tree_new(NULL);
    REQUIRE(CHECK(t != NULL));
    CHECK_EQ(rx_size(t), 0);
    CHECK_EQ(rx_insert(t, KEY("x"), V(1), &old), 1);
    CHECK_EQ(rx_find(t, KEY("x"), &v), 1);
    CHECK_PTR(v, V(1));
    rx_tree_free(t, NULL, NULL);
    t = rx_tree_new(NULL);
    rx_tree_free(t, NULL, NULL); /* empty */
}

static void test_insert_overwrite(void)
{
    t_alloc a;
    rx_tree *t = t_new_tree(&a);
    void *v = NULL, *old = V(5);
    size_t i;

    CHECK_EQ(rx_insert(t, KEY("key"), V(1), &old), 1);
    CHECK_EQ(rx_size(t), 1);
    CHECK_EQ(rx_find(t, KEY("key"), &v), 1);
    CHECK_PTR(v, V(1));
    old = NULL;
    CHECK_EQ(rx_insert(t, KEY("key"), V(2), &old), 0);
    CHECK_PTR(old, V(1));
    CHECK_EQ(rx_size(t), 1);
    CHECK_EQ(rx_find(t, KEY("key"), &v), 1);
    CHECK_PTR(v, V(2));
    old = NULL;
    CHECK_EQ(rx_insert(t, KEY("key"), V(2), &old), 0); /* same value again */
    CHECK_PTR(old, V(2));

    /* NULL is a value like any other */
    CHECK_EQ(rx_insert(t, KEY("nul"), NULL, &old), 1);
    v = V(9);
    CHECK_EQ(rx_find(t, KEY("nul"), &v), 1);
    CHECK_PTR(v, NULL);
    old = V(9);
    CHECK_EQ(rx_insert(t, KEY("nul"), V(3), &old), 0);
    CHECK_PTR(old, NULL);

    /* new keys around the existing ones: before, after, extension, prefix */
    CHECK_EQ(rx_insert(t, KEY("ke"), V(4), &old), 1);
    CHECK_EQ(rx_insert(t, KEY("keys"), V(5), &old), 1);
    CHECK_EQ(rx_insert(t, KEY("kex"), V(6), &old), 1);
    CHECK_EQ(rx_insert(t, KEY("a"), V(7), &old), 1);
    CHECK_EQ(rx_insert(t, KEY("z"), V(8), &old), 1);
    CHECK_EQ(rx_size(t), 7);
    for (i = 0; i < 3; i++) { /* overwrite each one again */
        old = NULL;
        CHECK_EQ(rx_insert(t, KEY("keys"), V(100 + i), &old), 0);
        CHECK_PTR(old, i == 0 ? V(5) : V(100 + i - 1));
    }
    CHECK_EQ(rx_size(t), 7);
    CHECK_EQ(rx_find(t, KEY("key"), &v), 1);
    CHECK_PTR(v, V(2));
    CHECK_EQ(rx_find(t, KEY("ke"), &v), 1);
    CHECK_PTR(v, V(4));
    CHECK_MEM(t, &a);
    FREE_TREE(t, &a);
}

static void test_find(void)
{
    static const bkey absent[] = {BK(""),       BK("r"),       BK("ro"),       BK("roma"),
                                  BK("roman"),  BK("romanes"), BK("romanf"),   BK("rub"),
                                  BK("rube"),   BK("rubic"),   BK("rubensx"),  BK("x"),
                                  BK("romanu"), BK("rubicun"), BK("rubicundu"), BK("q")};
    t_alloc a;
    rx_tree *t = t_new_tree(&a);
    size_t i;
    void *v;
    insert_all(t, NULL, ROMAN, NROMAN, 10);
    for (i = 0; i < NROMAN; i++) {
        v = NULL;
        CHECK_EQ(rx_find(t, B(&ROMAN[i]), ROMAN[i].n, &v), 1);
        CHECK_PTR(v, V(10 + i));
    }
    for (i = 0; i < sizeof absent / sizeof absent[0]; i++) {
        t_context("key %s", absent[i].k);
        CHECK_EQ(rx_find(t, B(&absent[i]), absent[i].n, &v), 0);
    }
    FREE_TREE(t, &a);
}

static void test_remove(void)
{
    t_alloc a;
    rx_tree *t = t_new_tree(&a);
    size_t empty_mem = rx_memory(t), i;
    uint64_t ver;
    void *old, *v;
    model m;
    m_init(&m);
    insert_all(t, &m, ROMAN, NROMAN, 10);

    /* absent: inner node without value, inside a compressed path, past a
     * leaf, unrelated */
    ver = rx_version(t);
    CHECK_EQ(rx_remove(t, KEY("roman"), &old), 0);
    CHECK_EQ(rx_remove(t, KEY("rub"), &old), 0);
    CHECK_EQ(rx_remove(t, KEY("rube"), &old), 0);
    CHECK_EQ(rx_remove(t, KEY("rubensx"), &old), 0);
    CHECK_EQ(rx_remove(t, KEY(""), &old), 0);
    CHECK_EQ(rx_remove(t, KEY("zzz"), &old), 0);
    CHECK_EQ(rx_version(t), ver);
    CHECK_EQ(rx_size(t), NROMAN);
    CHECK_TREE(t, &m);

    /* an inner key with a value ("rom" has romane/romanus below) */
    old = NULL;
    CHECK_EQ(rx_remove(t, KEY("rom"), &old), 1);
    CHECK_PTR(old, V(12));
    m_remove(&m, KEY("rom"), NULL);
    CHECK_EQ(rx_find(t, KEY("rom"), &v), 0);
    CHECK_EQ(rx_remove(t, KEY("rom"), &old), 0);
    CHECK_TREE(t, &m);
    CHECK_MEM(t, &a);

    /* the rest in an order that empties branches one by one */
    {
        static const bkey order[] = {BK("rubicon"), BK("romanus"), BK("rubens"), BK("romane"),
                                     BK("rubicundus")};
        for (i = 0; i < sizeof order / sizeof order[0]; i++) {
            uintptr_t want;
            m_remove(&m, B(&order[i]), order[i].n, &want);
            old = NULL;
            CHECK_EQ(rx_remove(t, B(&order[i]), order[i].n, &old), 1);
            CHECK_PTR(old, want);
            CHECK_TREE(t, &m);
            CHECK_MEM(t, &a);
        }
    }
    CHECK_EQ(rx_size(t), 0);
    CHECK_EQ(rx_memory(t), empty_mem);

    /* reinsert after emptying works */
    insert_all(t, &m, ROMAN, NROMAN, 30);
    CHECK_TREE(t, &m);
    m_free(&m);
    FREE_TREE(t, &a);
}

static void test_size(void)
{
    t_alloc a;
    rx_tree *t = t_new_tree(&a);
    void *old;
    char buf[16];
    size_t i;
    for (i = 0; i < 300; i++) {
        sprintf(buf, "k%03u", (unsigned)i);
        CHECK_EQ(rx_insert(t, (const unsigned char *)buf, 4, V(i), &old), 1);
        CHECK_EQ(rx_size(t), i + 1);
    }
    CHECK_EQ(rx_insert(t, (const unsigned char *)"k000", 4, V(1), &old), 0);
    CHECK_EQ(rx_size(t), 300);
    CHECK_EQ(rx_remove(t, (const unsigned char *)"k", 1, &old), 0);
    CHECK_EQ(rx_size(t), 300);
    for (i = 0; i < 300; i += 2) {
        sprintf(buf, "k%03u", (unsigned)i);
        CHECK_EQ(rx_remove(t, (const unsigned char *)buf, 4, &old), 1);
    }
    CHECK_EQ(rx_size(t), 150);
    CHECK_EQ(rx_remove_prefix(t, KEY("k1"), NULL, NULL), 50);
    CHECK_EQ(rx_size(t), 100);
    CHECK_EQ(rx_clear(t, NULL, NULL), 100);
    CHECK_EQ(rx_size(t), 0);
    FREE_TREE(t, &a);
}

static void test_count_prefix(void)
{
    static const struct {
        bkey p;
        size_t want;
    } cases[] = {
        {BK(""), 8},       {BK("r"), 6},          {BK("ro"), 3},        {BK("rom"), 3},
        {BK("roma"), 2},   {BK("roman"), 2},      {BK("romanu"), 1},    {BK("romanus"), 1},
        {BK("romanusx"), 0}, {BK("romanx"), 0},   {BK("ru"), 3},        {BK("rub"), 3},
        {BK("rube"), 1},   {BK("ruben"), 1},      {BK("rubensss"), 0},  {BK("rubi"), 2},
        {BK("rubicu"), 1}, {BK("rubix"), 0},      {BK("x"), 0},         {BK("a"), 0},
        {BK("prefix_long_common_"), 2},           {BK("prefix_long"), 2},
        {BK("prefix_long_common_abcdefgh"), 2},   {BK("prefix_long_common_abcdefgh1"), 1},
        {BK("prefix_long_commoX"), 0},            {BK("p"), 2},
    };
    static const bkey extra[] = {BK("prefix_long_common_abcdefgh1"),
                                 BK("prefix_long_common_abcdefgh2")};
    t_alloc a;
    rx_tree *t = t_new_tree(&a);
    size_t i;
    insert_all(t, NULL, ROMAN, NROMAN, 10);
    insert_all(t, NULL, extra, 2, 50);
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        t_context("prefix \"%s\"", cases[i].p.k);
        CHECK_EQ(rx_count_prefix(t, B(&cases[i].p), cases[i].p.n), cases[i].want);
    }
    FREE_TREE(t, &a);
}

static void test_longest_prefix(void)
{
    static const bkey keys[] = {BK("a"), BK("abc"), BK("abcdef"), BK("x\0y"), BK("longcommonpath1")};
    static const struct {
        bkey q;
        int found;
        size_t len;
        uintptr_t v;
    } cases[] = {
        {BK("abcde"), 1, 3, 1},   {BK("abcdef"), 1, 6, 2},   {BK("abcdefg"), 1, 6, 2},
        {BK("abc"), 1, 3, 1},     {BK("ab"), 1, 1, 0},       {BK("a"), 1, 1, 0},
        {BK("b"), 0, 0, 0},       {BK(""), 0, 0, 0},         {BK("x"), 0, 0, 0},
        {BK("x\0"), 0, 0, 0},     {BK("x\0y\0"), 1, 3, 3},   {BK("x\0yz"), 1, 3, 3},
        {BK("longcommon"), 0, 0, 0}, {BK("longcommonpath12"), 1, 15, 4},
        {BK("longcommonpath2"), 0, 0, 0},
    };
    t_alloc a;
    rx_tree *t = t_new_tree(&a);
    size_t i, ml;
    void *v, *old;
    insert_all(t, NULL, keys, sizeof keys / sizeof keys[0], 0);
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc;
        ml = 12345;
        v = V(12345);
        t_context("query %s", cases[i].q.k);
        rc = rx_longest_prefix(t, B(&cases[i].q), cases[i].q.n, &ml, &v);
        CHECK_EQ(rc, cases[i].found);
        if (rc == 1 && cases[i].found) {
            CHECK_EQ(ml, cases[i].len);
            CHECK_PTR(v, cases[i].v);
        }
    }
    /* the empty key matches everything once stored */
    CHECK_EQ(rx_insert(t, KEY(""), V(99), &old), 1);
    ml = 7;
    CHECK_EQ(rx_longest_prefix(t, KEY("b"), &ml, &v), 1);
    CHECK_EQ(ml, 0);
    CHECK_PTR(v, V(99));
    ml = 7;
    CHECK_EQ(rx_longest_prefix(t, KEY(""), &ml, &v), 1);
    CHECK_EQ(ml, 0);
    CHECK_EQ(rx_longest_prefix(t, KEY("abz"), &ml, &v), 1);
    CHECK_EQ(ml, 1);
    CHECK_PTR(v, V(0));
    /* after removing the shorter match, the empty key is the answer */
    CHECK_EQ(rx_remove(t, KEY("a"), &old), 1);
    CHECK_EQ(rx_longest_prefix(t, KEY("abz"), &ml, &v), 1);
    CHECK_EQ(ml, 0);
    CHECK_PTR(v, V(99));
    CHECK_EQ(rx_longest_prefix(t, KEY("abcdx"), &ml, &v), 1);
    CHECK_EQ(ml, 3);
    FREE_TREE(t, &a);
}

/* ---- remove_prefix / clear / tree_free and their release callbacks ------ */

typedef struct {
    rx_tree *t;
    model *m;          /* the expected tree after the bulk removal */
    vlist got;
    int reenter;       /* insert/remove/iterate from the callback */
    unsigned calls;
    uintptr_t next_value;
    size_t expect_size; /* rx_size when the first callback runs */
    const unsigned char *gone;
    size_t gone_len;    /* prefix whose keys must all be gone already */
    t_alloc *a;
} relctx;

static void release_checking(void *value, void *ctx)
{
    relctx *r = ctx;
    vl_push(&r->got, U(value));
    if (r->calls++ == 0 && r->m) {
        /* the tree is consistent before the first value is handed back */
        CHECK_EQ(rx_size(r->t), r->expect_size);
        CHECK_EQ(rx_count_prefix(r->t, r->gone, r->gone_len), 0);
        CHECK_EQ(rx_count_prefix(r->t, KEY("")), r->expect_size);
        CHECK_TREE(r->t, r->m);
        CHECK_VISIT(r->t, r->a, r->m);
    }
    if (r->reenter && r->calls <= 3) {
        void *old;
        char key[32];
        rx_iter it;
        size_t n = 0;
        int rc;
        /* insert a key under the removed prefix and one elsewhere */
        sprintf(key, "%.*sre%u", (int)r->gone_len, (const char *)r->gone, r->calls);
        CHECK_EQ(rx_insert(r->t, (const unsigned char *)key, strlen(key), V(r->next_value), &old),
                 1);
        if (r->m)
            m_insert(r->m, (const unsigned char *)key, strlen(key), r->next_value, NULL);
        r->next_value++;
        sprintf(key, "zz-reentered-%u", r->calls);
        CHECK_EQ(rx_insert(r->t, (const unsigned char *)key, strlen(key), V(r->next_value), &old),
                 1);
        if (r->m)
            m_insert(r->m, (const unsigned char *)key, strlen(key), r->next_value, NULL);
        r->next_value++;
        /* remove one key that survived the bulk removal */
        if (r->m && r->m->n > 0) {
            m_entry *e = &r->m->e[0];
            uintptr_t want = e->v;
            old = NULL;
            if (CHECK_EQ(rx_remove(r->t, e->k, e->n, &old), 1))
                CHECK_PTR(old, want);
            m_remove(r->m, e->k, e->n, NULL);
        }
        /* iterate */
        rx_iter_init(&it, r->t);
        CHECK_EQ(rx_iter_seek(&it, RX_SEEK_LAST, NULL, 0), RX_OK);
        while ((rc = rx_iter_next(&it)) == 1)
            n++;
        CHECK_EQ(rc, 0);
        CHECK_EQ(n, rx_size(r->t));
        rx_iter_release(&it);
        if (r->m) {
            CHECK_TREE(r->t, r->m);
            CHECK_VISIT(r->t, r->a, r->m);
        }
    }
}

static void build_roman(rx_tree *t, model *m)
{
    static const bkey more[] = {BK("r"), BK("ro"), BK("romanesque"), BK("x"), BK(""),
                                BK("rubicundusissimus")};
    insert_all(t, m, ROMAN, NROMAN, 10);
    insert_all(t, m, more, sizeof more / sizeof more[0], 20);
}

/* Removes prefix p from tree and model, checking the count, the released
 * values and the tree; with reenter the callback changes the tree. */
static void remove_prefix_case(const unsigned char *p, size_t pn, int reenter, int use_clear)
{
    t_alloc a;
    rx_tree *t = t_new_tree(&a);
    model m;
    relctx r;
    vlist want = {0};
    size_t lo, hi, n, i, empty_mem = rx_memory(t);
    uint64_t ver;
    char pk[64];

    m_init(&m);
    build_roman(t, &m);
    t_context("prefix %s reenter %d clear %d", t_fmt_key(pk, p, pn), reenter, use_clear);
    m_prefix_range(&m, p, pn, &lo, &hi);
    for (i = lo; i < hi; i++)
        vl_push(&want, m.e[i].v);
    m_remove_range(&m, lo, hi, NULL);

    memset(&r, 0, sizeof r);
    r.t = t;
    r.m = &m;
    r.reenter = reenter;
    r.next_value = 1000;
    r.expect_size = m.n;
    r.gone = p;
    r.gone_len = pn;
    r.a = &a;
    ver = rx_version(t);
    if (use_clear)
        n = rx_clear(t, release_checking, &r);
    else
        n = rx_remove_prefix(t, p, pn, release_checking, &r);
    CHECK_EQ(n, hi - lo);
    CHECK_VALUES(&r.got, &want);
    if (n > 0)
        CHECK(rx_version(t) != ver);
    CHECK_TREE(t, &m);
    CHECK_MEM(t, &a);
    if (m.n == 0)
        CHECK_EQ(rx_memory(t), empty_mem);
    m_free(&m);
    vl_free(&want);
    vl_free(&r.got);
    FREE_TREE(t, &a);
}

static void test_remove_prefix(void)
{
    static const bkey prefixes[] = {BK("rom"),   BK("roman"), BK("rube"), BK("rubens"),
                                    BK("r"),     BK(""),      BK("x"),    BK("romz"),
                                    BK("rubex"), BK("rubicundusissimus"), BK("ro"),
                                    BK("rubicundusissimusX"), BK("q")};
    size_t i;
    int reenter;
    for (reenter = 0; reenter <= 1; reenter++)
        for (i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
            remove_prefix_case(B(&prefixes[i]), prefixes[i].n, reenter, 0);

    /* release NULL; a prefix matching nothing calls nothing */
    {
        t_alloc a;
        rx_tree *t = t_new_tree(&a);
        model m;
        vlist rel = {0};
        m_init(&m);
        build_roman(t, &m);
        CHECK_EQ(rx_remove_prefix(t, KEY("rom"), NULL, NULL), 3 + 1);
        CHECK_EQ(rx_remove_prefix(t, KEY("romane"), vl_collect, &rel), 0);
        CHECK_EQ(rx_remove_prefix(t, KEY("zz"), vl_collect, &rel), 0);
        CHECK_EQ(rel.n, 0);
        CHECK_EQ(rx_size(t), m.n - 4);
        m_free(&m);
        vl_free(&rel);
        FREE_TREE(t, &a);
    }
}

/* A release callback that runs rx_remove_prefix / rx_clear on the same
 * tree (nested bulk removals). */
typedef struct {
    rx_tree *t;
    vlist got;
    int depth;
} nestctx;

static void release_nested(void *value, void *ctx)
{
    nestctx *n = ctx;
    vl_push(&n->got, U(value));
    if (n->depth == 0) {
        n->depth++;
        rx_remove_prefix(n->t, KEY("b"), release_nested, n);
        if (U(value) == 2)
            rx_clear(n->t, release_nested, n);
        n->depth--;
    }
}

static void test_release_nested(void)
{
    t_alloc a;
    rx_tree *t = t_new_tree(&a);
    nestctx n;
    vlist want = {0};
    void *old;
    uintptr_t i;
    memset(&n, 0, sizeof n);
    n.t = t;
    CHECK_EQ(rx_insert(t, KEY("a1"), V(1), &old), 1);
    CHECK_EQ(rx_insert(t, KEY("a2"), V(2), &old), 1);
    CHECK_EQ(rx_insert(t, KEY("b1"), V(3), &old), 1);
    CHECK_EQ(rx_insert(t, KEY("b2"), V(4), &old), 1);
    CHECK_EQ(rx_insert(t, KEY("c1"), V(5), &old), 1);
    CHECK_EQ(rx_remove_prefix(t, KEY("a"), release_nested, &n), 2);
    for (i = 1; i <= 5; i++)
        vl_push(&want, i);
    CHECK_VALUES(&n.got, &want);
    CHECK_EQ(rx_size(t), 0);
    vl_free(&want);
    vl_free(&n.got);
    FREE_TREE(t, &a);
}

static void test_clear(void)
{
    t_alloc a;
    rx_tree *t = t_new_tree(&a);
    size_t empty_mem = rx_memory(t);
    vlist rel = {0};
    model m;
    uint64_t ver;
    m_init(&m);
    CHECK_EQ(rx_clear(t, vl_collect, &rel), 0);
    CHECK_EQ(rel.n, 0);
    build_roman(t, &m);
    ver = rx_version(t);
    CHECK_EQ(rx_clear(t, vl_collect, &rel), m.n);
    CHECK(rx_version(t) != ver);
    CHECK_EQ(rel.n, m.n);
    CHECK_EQ(rx_size(t), 0);
    CHECK_EQ(rx_memory(t), empty_mem);
    CHECK_EQ(rx_clear(t, NULL, NULL), 0);
    build_roman(t, NULL);
    CHECK_EQ(rx_clear(t, NULL, NULL), m.n);
    CHECK_EQ(rx_memory(t), empty_mem);
    m_free(&m);
    vl_free(&rel);
    FREE_TREE(t, &a);

    /* with checks and re-entrant inserts from the callback */
    remove_prefix_case(KEY(""), 0, 1);
    remove_prefix_case(KEY(""), 1, 1);
}

/* tree_free's callback inserts a few keys again: they must be released
 * too, exactly once, and nothing may leak. */
typedef struct {
    rx_tree *t;
    vlist got, inserted;
    unsigned calls;
} freectx;

static void release_on_free(void *value, void *ctx)
{
    freectx *f = ctx;
    void *old;
    vl_push(&f->got, U(value));
    if (f->calls++ < 5) {
        char key[16];
        uintptr_t v = 500 + f->calls;
        sprintf(key, "again%u", f->calls);
        CHECK_EQ(rx_insert(f->t, (const unsigned char *)key, strlen(key), V(v), &old), 1);
        vl_push(&f->inserted, v);
        CHECK_EQ(rx_remove(f->t, KEY("never-there"), &old), 0);
    }
}

static void test_tree_free_release(void)
{
    t_alloc a;
    rx_tree *t = t_new_tree(&a);
    vlist got = {0}, want = {0};
    model m;
    freectx f;
    size_t i;
    m_init(&m);
    build_roman(t, &m);
    for (i = 0; i < m.n; i++)
        vl_push(&want, m.e[i].v);
    t_free_tree(t, &a, vl_collect, &got, __FILE__, __LINE__);
    CHECK_VALUES(&got, &want);
    vl_free(&got);

    t = t_new_tree(&a);
    build_roman(t, NULL);
    memset(&f, 0, sizeof f);
    f.t = t;
    for (i = 0; i < m.n; i++)
        vl_push(&f.inserted, m.e[i].v);
    t_free_tree(t, &a, release_on_free, &f, __FILE__, __LINE__);
    CHECK_EQ(f.calls, m.n + 5);
    CHECK_VALUES(&f.got, &f.inserted);
    vl_free(&f.got);
    vl_free(&f.inserted);
    vl_free(&want);
    m_free(&m);
}

/* ---- special keys ------------------------------------------------------- */

static void test_special_keys(void)
{
    static const bkey keys[] = {
        BK(""),     BK("\0"),    BK("\0\0"),  BK("\0\xff"), BK("\xff"),  BK("\xff\xff"),
        BK("\xff\0"), BK("a"),   BK("a\0"),   BK("a\0b"),   BK("ab"),    BK("abc"),
        BK("\x7f"), BK("\x80"),  BK("\0a\0"), BK("a\xff"),  BK("\xff\xff\xff\0"),
    };
    const size_t nkeys = sizeof keys / sizeof keys[0];
    t_alloc a;
    rx_tree *t = t_new_tree(&a);
    size_t empty_mem = rx_memory(t), i, ml;
    model m;
    void *v, *old;
    t_rng rng;

    m_init(&m);
    insert_all(t, &m, keys, nkeys, 1);
    CHECK_TREE(t, &m);
    for (i = 0; i < nkeys; i++) {
        v = NULL;
        CHECK_EQ(rx_find(t, B(&keys[i]), keys[i].n, &v), 1);
        CHECK_PTR(v, 1 + i);
    }
    CHECK_EQ(rx_find(t, KEY("\0\0\0"), &v), 0);
    CHECK_EQ(rx_find(t, KEY("a\0c"), &v), 0);
    CHECK_EQ(rx_count_prefix(t, KEY("\0")), 4);
    CHECK_EQ(rx_count_prefix(t, KEY("a")), 6);
    CHECK_EQ(rx_count_prefix(t, KEY("a\0")), 2);
    CHECK_EQ(rx_count_prefix(t, KEY("\xff")), 4);
    CHECK_EQ(rx_count_prefix(t, KEY("\xff\xff")), 2);
    CHECK_EQ(rx_longest_prefix(t, KEY("a\0bc"), &ml, &v), 1);
    CHECK_EQ(ml, 3);
    CHECK_EQ(rx_longest_prefix(t, KEY("\xff\xff\xff"), &ml, &v), 1);
    CHECK_EQ(ml, 2);
    CHECK_EQ(rx_longest_prefix(t, KEY("q"), &ml, &v), 1);
    CHECK_EQ(ml, 0);
    CHECK_EQ(rx_remove(t, KEY(""), &old), 1);
    m_remove(&m, KEY(""), NULL);
    CHECK_EQ(rx_longest_prefix(t, KEY("q"), &ml, &v), 0);
    CHECK_TREE(t, &m);
    CHECK_EQ(rx_remove_prefix(t, KEY("\0"), NULL, NULL), 4);
    {
        size_t lo, hi;
        m_prefix_range(&m, KEY("\0"), &lo, &hi);
        m_remove_range(&m, lo, hi, NULL);
    }
    CHECK_TREE(t, &m);
    /* remove the rest in a shuffled order */
    rng_seed(&rng, 1);
    while (m.n > 0) {
        size_t j = rng_below(&rng, m.n);
        uintptr_t want = m.e[j].v;
        old = NULL;
        CHECK_EQ(rx_remove(t, m.e[j].k, m.e[j].n, &old), 1);
        CHECK_PTR(old, want);
        m_remove_range(&m, j, j + 1, NULL);
        CHECK_TREE(t, &m);
    }
    CHECK_EQ(rx_memory(t), empty_mem);

    /* the empty key alone */
    CHECK_EQ(rx_insert(t, KEY(""), V(5), &old), 1);
    CHECK_EQ(rx_size(t), 1);
    CHECK_EQ(rx_find(t, KEY(""), &v), 1);
    CHECK_PTR(v, V(5));
    CHECK_EQ(rx_find(t, KEY("\0"), &v), 0);
    CHECK_EQ(rx_count_prefix(t, KEY("")), 1);
    CHECK_EQ(rx_count_prefix(t, KEY("\0")), 0);
    CHECK_EQ(rx_longest_prefix(t, KEY("anything"), &ml, &v), 1);
    CHECK_EQ(ml, 0);
    CHECK_EQ(rx_remove(t, KEY(""), &old), 1);
    CHECK_PTR(old, V(5));
    CHECK_EQ(rx_size(t), 0);
    CHECK_EQ(rx_memory(t), empty_mem);
    m_free(&m);
    FREE_TREE(t, &a);
}

/* "a", "ab", "abc" (and "", "abcd") inserted and removed in every order. */
static void test_prefix_chain(void)
{
    static const bkey chain[] = {BK(""), BK("a"), BK("ab"), BK("abc"), BK("abcd")};
    const size_t n = sizeof chain / sizeof chain[0];
    size_t perm[5], ins, rem, i, j;
    t_rng rng;
    rng_seed(&rng, 2);
    for (ins = 0; ins < 40; ins++) {
        t_alloc a;
        rx_tree *t = t_new_tree(&a);
        size_t empty_mem = rx_memory(t);
        model m;
        void *old;
        m_init(&m);
        for (i = 0; i < n; i++)
            perm[i] = i;
        for (i = n - 1; i > 0; i--) { /* Fisher-Yates */
            size_t k = rng_below(&rng, i + 1), tmp = perm[i];
            perm[i] = perm[k];
            perm[k] = tmp;
        }
        for (i = 0; i < n; i++) {
            const bkey *k = &chain[perm[i]];
            CHECK_EQ(rx_insert(t, B(k), k->n, V(perm[i]), &old), 1);
            m_insert(&m, B(k), k->n, perm[i], NULL);
            REQUIRE(CHECK_TREE(t, &m));
            for (j = 0; j < n; j++)
                CHECK_EQ(rx_count_prefix(t, B(&chain[j]), chain[j].n),
                         m_count_prefix(&m, B(&chain[j]), chain[j].n));
        }
        for (rem = 0; rem < n; rem++) {
            size_t k = rng_below(&rng, m.n);
            uintptr_t want = m.e[k].v;
            old = NULL;
            CHECK_EQ(rx_remove(t, m.e[k].k, m.e[k].n, &old), 1);
            CHECK_PTR(old, want);
            m_remove_range(&m, k, k + 1, NULL);
            REQUIRE(CHECK_TREE(t, &m));
            CHECK_MEM(t, &a);
        }
        CHECK_EQ(rx_memory(t), empty_mem);
        m_free(&m);
        FREE_TREE(t, &a);
    }
}

static void test_huge_key(void)
{
    const size_t L = 1u << 20;
    unsigned char *k = malloc(L + 2);
    t_alloc a;
    rx_tree *t = t_new_tree(&a);
    size_t empty_mem = rx_memory(t), i, ml;
    model m;
    void *v, *old;
    rx_iter it;
    int rc;
    REQUIRE(CHECK(k != NULL));
    for (i = 0; i < L + 2; i++)
        k[i] = (unsigned char)('a' + (i * 7) % 19);
    m_init(&m);

    CHECK_EQ(rx_insert(t, k, L, V(1), &old), 1);
    m_insert(&m, k, L, 1, NULL);
    CHECK(rx_memory(t) >= empty_mem + L); /* the key bytes are stored once */
    CHECK_EQ(rx_find(t, k, L, &v), 1);
    CHECK_EQ(rx_find(t, k, L - 1, &v), 0);
    CHECK_EQ(rx_find(t, k, L + 1, &v), 0);
    CHECK_EQ(rx_insert(t, k, L - 1, V(2), &old), 1); /* split at the very end */
    m_insert(&m, k, L - 1, 2, NULL);
    {
        unsigned char save = k[L - 1];
        k[L - 1] = 'z'; /* sibling differing in the last byte, sorting after K+2 */
        CHECK_EQ(rx_insert(t, k, L, V(3), &old), 1);
        m_insert(&m, k, L, 3, NULL);
        k[L - 1] = save;
    }
    CHECK_EQ(rx_insert(t, k, L / 2, V(4), &old), 1); /* split in the middle */
    m_insert(&m, k, L / 2, 4, NULL);
    k[L / 2] ^= 2;
    CHECK_EQ(rx_insert(t, k, L / 2 + 1, V(5), &old), 1); /* branch in the middle */
    m_insert(&m, k, L / 2 + 1, 5, NULL);
    k[L / 2] ^= 2;
    CHECK_EQ(rx_insert(t, k, L + 2, V(6), &old), 1); /* extension */
    m_insert(&m, k, L + 2, 6, NULL);
    CHECK_TREE(t, &m);
    CHECK_MEM(t, &a);
    CHECK_EQ(rx_count_prefix(t, k, L / 2), 6);
    CHECK_EQ(rx_count_prefix(t, k, L - 1), 4);
    CHECK_EQ(rx_count_prefix(t, k, L), 2);
    CHECK_EQ(rx_longest_prefix(t, k, L + 1, &ml, &v), 1);
    CHECK_EQ(ml, L);
    CHECK_PTR(v, V(1));

    /* iterator seeks next to the long keys */
    rx_iter_init(&it, t);
    CHECK_EQ(rx_iter_set_prefix(&it, k, L - 1), RX_OK);
    CHECK_EQ(rx_iter_seek(&it, RX_SEEK_GT, k, L), RX_OK);
    rc = rx_iter_next(&it);
    CHECK_EQ(rc, 1);
    if (rc == 1)
        CHECK_KEY("GT the 1 MB key", it.key, it.key_len, k, L + 2);
    CHECK_EQ(rx_iter_seek(&it, RX_SEEK_LT, k, L), RX_OK);
    rc = rx_iter_next(&it);
    CHECK_EQ(rc, 1);
    if (rc == 1)
        CHECK_KEY("LT the 1 MB key", it.key, it.key_len, k, L - 1);
    CHECK_EQ(rx_iter_next(&it), 0); /* the middle keys lack the prefix */
    rx_iter_release(&it);

    CHECK_EQ(rx_remove_prefix(t, k, L, NULL, NULL), 2);
    CHECK_EQ(rx_remove(t, k, L / 2, &old), 1);
    CHECK_PTR(old, V(4));
    CHECK_EQ(rx_size(t), 3);
    CHECK_EQ(rx_clear(t, NULL, NULL), 3);
    CHECK_EQ(rx_memory(t), empty_mem);
    m_free(&m);
    free(k);
    FREE_TREE(t, &a);
}

static void test_too_big(void)
{
    /* RX_ETOOBIG needs a key longer than 2^32-1 bytes; only meaningful (and
     * only representable) with a 64-bit size_t.  The tree must refuse it
     * from the length alone, before reading the key. */
    if ((size_t)-1 > RX_MAX_KEY_LEN) {
        t_alloc a;
        rx_tree *t = t_new_tree(&a);
        unsigned char k[4] = "abc";
        void *old;
        uint64_t ver = rx_version(t);
        CHECK_EQ(rx_insert(t, k, RX_MAX_KEY_LEN + 1, V(1), &old), RX_ETOOBIG);
        CHECK_EQ(rx_size(t), 0);
        CHECK_EQ(rx_version(t), ver);
        CHECK_MEM(t, &a);
        FREE_TREE(t, &a);
    }
}

static void test_version(void)
{
    t_alloc a;
    rx_tree *t = t_new_tree(&a);
    uint64_t ver = rx_version(t);
    void *old, *v;
    size_t ml;
    rx_iter it;

#define BUMPED()                        \
    do {                                \
        CHECK(rx_version(t) != ver);    \
        ver = rx_version(t);            \
    } while (0)
#define SAME() CHECK_EQ(rx_version(t), ver)

    CHECK_EQ(rx_insert(t, KEY("abc"), V(1), &old), 1);
    BUMPED();
    CHECK_EQ(rx_insert(t, KEY("abd"), V(2), &old), 1); /* split */
    BUMPED();
    CHECK_EQ(rx_insert(t, KEY("ab"), V(3), &old), 1); /* value on an inner node */
    BUMPED();
    CHECK_EQ(rx_insert(t, KEY("ab"), V(4), &old), 0); /* overwrite */
    BUMPED();
    CHECK_EQ(rx_insert(t, KEY("ab"), V(4), &old), 0); /* overwrite, same value */
    BUMPED();
    CHECK_EQ(rx_find(t, KEY("ab"), &v), 1);
    CHECK_EQ(rx_count_prefix(t, KEY("a")), 3);
    CHECK_EQ(rx_longest_prefix(t, KEY("abcd"), &ml, &v), 1);
    rx_iter_init(&it, t);
    CHECK_EQ(rx_iter_seek(&it, RX_SEEK_FIRST, NULL, 0), RX_OK);
    CHECK_EQ(rx_iter_next(&it), 1);
    rx_iter_release(&it);
    SAME();
    CHECK_EQ(rx_remove(t, KEY("zz"), &old), 0); /* failed removes */
    CHECK_EQ(rx_remove(t, KEY("a"), &old), 0);
    CHECK_EQ(rx_remove(t, KEY("abcd"), &old), 0);
    SAME();
    CHECK_EQ(rx_remove(t, KEY("ab"), &old), 1);
    BUMPED();
    CHECK_EQ(rx_remove_prefix(t, KEY("abc"), NULL, NULL), 1);
    BUMPED();
    CHECK_EQ(rx_insert(t, KEY("x"), V(1), &old), 1);
    BUMPED();
    CHECK_EQ(rx_clear(t, NULL, NULL), 2);
    BUMPED();
#undef BUMPED
#undef SAME
    FREE_TREE(t, &a);
}

static void test_memory(void)
{
    t_alloc a;
    rx_tree *t = t_new_tree(&a);
    size_t empty_mem = rx_memory(t), prev, i;
    model m;
    t_rng rng;
    void *old;
    int round;
    CHECK_MEM(t, &a);
    m_init(&m);
    rng_seed(&rng, 3);
    for (round = 0; round < 3; round++) {
        prev = rx_memory(t);
        for (i = 0; i < 2000; i++) {
            unsigned char key[12];
            size_t n = 1 + rng_below(&rng, sizeof key), j;
            int rc;
            for (j = 0; j < n; j++)
                key[j] = (unsigned char)"ab\0\xffz"[rng_below(&rng, 5)];
            rc = rx_insert(t, key, n, V(i), &old);
            CHECK_EQ(rc, m_insert(&m, key, n, i, NULL));
            if (rc == 1)
                CHECK(rx_memory(t) >= prev);
            else
                CHECK_EQ(rx_memory(t), prev);
            prev = rx_memory(t);
            CHECK_MEM(t, &a);
        }
        CHECK(rx_memory(t) > empty_mem);
        CHECK_TREE(t, &m);
        /* empty it: one by one, by prefixes, or with clear */
        if (round == 0) {
            while (m.n) {
                size_t j = rng_below(&rng, m.n);
                CHECK_EQ(rx_remove(t, m.e[j].k, m.e[j].n, &old), 1);
                m_remove_range(&m, j, j + 1, NULL);
                CHECK(rx_memory(t) <= prev);
                prev = rx_memory(t);
                CHECK_MEM(t, &a);
            }
        } else if (round == 1) {
            static const char *ps[] = {"a", "b", "\xff", "z", ""};
            for (i = 0; i < 5; i++) {
                size_t lo, hi, pn = i == 2 ? 1 : strlen(ps[i]);
                m_prefix_range(&m, (const unsigned char *)ps[i], pn, &lo, &hi);
                CHECK_EQ(rx_remove_prefix(t, (const unsigned char *)ps[i], pn, NULL, NULL),
                         hi - lo);
                m_remove_range(&m, lo, hi, NULL);
                CHECK_MEM(t, &a);
            }
        } else {
            CHECK_EQ(rx_clear(t, NULL, NULL), m.n);
            m_clear(&m);
        }
        CHECK_EQ(rx_size(t), 0);
        CHECK_EQ(rx_memory(t), empty_mem);
        CHECK_MEM(t, &a);
    }
    m_free(&m);
    FREE_TREE(t, &a);
}

/* Node types grow 4 -> 16 -> 48 -> 256 and shrink back as children come
 * and go; every step must keep the tree equal to the model. */
static void test_fanout(void)
{
    t_alloc a;
    rx_tree *t = t_new_tree(&a);
    size_t empty_mem = rx_memory(t);
    model m;
    unsigned b;
    void *old;
    m_init(&m);
    for (b = 0; b < 256; b++) {
        unsigned char key[3] = {'p', (unsigned char)(b * 37 % 256), 'x'};
        CHECK_EQ(rx_insert(t, key, 2 + (b & 1), V(b), &old), 1);
        m_insert(&m, key, 2 + (b & 1), b, NULL);
        if (b == 3 || b == 4 || b == 15 || b == 16 || b == 47 || b == 48 || b == 255)
            REQUIRE(CHECK_TREE(t, &m));
        CHECK_EQ(rx_count_prefix(t, KEY("p")), b + 1);
    }
    CHECK_EQ(rx_insert(t, KEY("p"), V(1000), &old), 1);
    m_insert(&m, KEY("p"), 1000, NULL);
    REQUIRE(CHECK_TREE(t, &m));
    for (b = 0; b < 256; b++) {
        unsigned char key[3] = {'p', (unsigned char)(b * 101 % 256), 'x'};
        size_t n = 2 + ((b * 101 % 256 * 37) & 1);
        uintptr_t want;
        /* the key with that second byte has length 2 or 3: find which */
        if (!m_find(&m, key, 2, &want)) {
            n = 3;
            m_find(&m, key, 3, &want);
        } else
            n = 2;
        old = NULL;
        CHECK_EQ(rx_remove(t, key, n, &old), 1);
        CHECK_PTR(old, want);
        m_remove(&m, key, n, NULL);
        if (b % 16 == 0 || b > 240)
            REQUIRE(CHECK_TREE(t, &m));
        CHECK_MEM(t, &a);
    }
    CHECK_EQ(rx_remove(t, KEY("p"), &old), 1);
    CHECK_EQ(rx_memory(t), empty_mem);
    m_free(&m);
    FREE_TREE(t, &a);
}

/* ---- rx_find_many ------------------------------------------------------- */

static void test_find_many(void)
{
    t_alloc a;
    rx_tree *t = t_new_tree(&a);
    model m;
    t_rng rng;
    const unsigned char *keys[300];
    size_t lens[300], i, j, round;
    void *values[301], *old;
    unsigned char store[300][40];
    void *const MISSING = V(0xBAD);
    m_init(&m);

    /* empty tree: everything missing */
    keys[0] = (const unsigned char *)"a";
    lens[0] = 1;
    keys[1] = (const unsigned char *)"";
    lens[1] = 0;
    values[0] = values[1] = NULL;
    CHECK_EQ(rx_find_many(t, 2, keys, lens, values, MISSING), 0);
    CHECK_PTR(values[0], MISSING);
    CHECK_PTR(values[1], MISSING);
    values[0] = V(1);
    CHECK_EQ(rx_find_many(t, 0, keys, lens, values, MISSING), 0);
    CHECK_PTR(values[0], V(1)); /* n = 0 writes nothing */

    build_roman(t, &m);
    rng_seed(&rng, 17);
    for (i = 0; i < 2000; i++) { /* a few thousand short keys with NULs */
        unsigned char k[8];
        size_t n = rng_below(&rng, 8);
        for (j = 0; j < n; j++)
            k[j] = (unsigned char)"ab\0\xff"[rng_below(&rng, 4)];
        CHECK_EQ(rx_insert(t, k, n, V(100 + i), &old), m_insert(&m, k, n, 100 + i, NULL));
    }
    for (round = 0; round < 200; round++) {
        size_t n = round < 20 ? round : rng_below(&rng, 300), want = 0;
        for (i = 0; i < n; i++) {
            size_t c = rng_below(&rng, 4);
            if (c == 0 && i > 0) { /* a key repeated within the batch */
                size_t src = rng_below(&rng, i);
                memcpy(store[i], store[src], lens[src]);
                lens[i] = lens[src];
            } else if (c <= 1 && m.n) { /* present */
                const m_entry *e = &m.e[rng_below(&rng, m.n)];
                lens[i] = e->n < 40 ? e->n : 40;
                memcpy(store[i], e->k, lens[i]);
            } else { /* random, mostly absent; cut or extended */
                lens[i] = rng_below(&rng, 10);
                for (j = 0; j < lens[i]; j++)
                    store[i][j] = (unsigned char)"ab\0\xffr"[rng_below(&rng, 5)];
            }
            keys[i] = store[i];
            values[i] = V(0x5555);
            want += (size_t)m_find(&m, store[i], lens[i], NULL);
        }
        values[n] = V(0x7777); /* not written */
        t_context("batch %lu of %lu keys", (unsigned long)round, (unsigned long)n);
        CHECK_EQ(rx_find_many(t, n, keys, lens, values, MISSING), want);
        for (i = 0; i < n; i++) {
            uintptr_t mv;
            if (m_find(&m, keys[i], lens[i], &mv))
                CHECK_PTR(values[i], mv);
            else
                CHECK_PTR(values[i], MISSING);
        }
        CHECK_PTR(values[n], V(0x7777));
        if (t_failures())
            break;
    }
    m_free(&m);
    FREE_TREE(t, &a);
}

/* ---- rx_visit_values ------------------------------------------------------ */

typedef struct {
    vlist got;
    size_t stop_at; /* return non-zero at this call (1-based), 0: never */
    unsigned long attempts_seen;
    t_alloc *a;
} visitctx;

static int visit_collect(void *value, void *ctx)
{
    visitctx *v = ctx;
    vl_push(&v->got, U(value));
    if (v->stop_at && v->got.n == v->stop_at)
        return 42;
    return 0;
}

static void test_visit_values(void)
{
    t_alloc a;
    rx_tree *t = t_new_tree(&a);
    model m;
    visitctx v;
    t_rng rng;
    size_t i, j;
    void *old;
    m_init(&m);
    memset(&v, 0, sizeof v);
    CHECK_EQ(rx_visit_values(t, visit_collect, &v), 0);
    CHECK_EQ(v.got.n, 0);
    CHECK_EQ(rx_insert(t, KEY("solo"), V(5), &old), 1);
    m_insert(&m, KEY("solo"), 5, NULL);
    t_visit_matches(t, &a, &m, __FILE__, __LINE__);
    build_roman(t, &m);
    t_visit_matches(t, &a, &m, __FILE__, __LINE__);
    /* stops at the first non-zero result and returns it */
    for (i = 1; i <= m.n; i++) {
        memset(&v, 0, sizeof v);
        v.stop_at = i;
        CHECK_EQ(rx_visit_values(t, visit_collect, &v), 42);
        CHECK_EQ(v.got.n, i);
        vl_free(&v.got);
    }
    /* random shapes, growing and shrinking, deep chains; after removals
     * and failed inserts too */
    rng_seed(&rng, 23);
    for (i = 0; i < 3000; i++) {
        unsigned char k[64];
        size_t n = rng_below(&rng, rng_chance(&rng, 1, 10) ? 64 : 6);
        for (j = 0; j < n; j++)
            k[j] = (unsigned char)"a\0\xff"[rng_below(&rng, 3)];
        if (rng_chance(&rng, 1, 3)) {
            CHECK_EQ(rx_remove(t, k, n, &old), m_remove(&m, k, n, NULL));
        } else {
            int rc;
            a.fail_at = rng_chance(&rng, 1, 5) ? a.attempts + 1 : 0;
            rc = rx_insert(t, k, n, V(1000 + i), &old);
            talloc_heal(&a);
            if (rc != RX_ENOMEM)
                CHECK_EQ(rc, m_insert(&m, k, n, 1000 + i, NULL));
        }
        if (i % 100 == 0 && !t_visit_matches(t, &a, &m, __FILE__, __LINE__))
            break;
    }
    t_visit_matches(t, &a, &m, __FILE__, __LINE__);
    CHECK_EQ(rx_clear(t, NULL, NULL), m.n);
    m_clear(&m);
    t_visit_matches(t, &a, &m, __FILE__, __LINE__);
    m_free(&m);
    FREE_TREE(t, &a);
}

void run_unit_tests(void)
{
    t_run("empty_tree", test_empty_tree);
    t_run("insert_overwrite", test_insert_overwrite);
    t_run("find", test_find);
    t_run("find_many", test_find_many);
    t_run("visit_values", test_visit_values);
    t_run("remove", test_remove);
    t_run("size", test_size);
    t_run("count_prefix", test_count_prefix);
    t_run("longest_prefix", test_longest_prefix);
    t_run("remove_prefix", test_remove_prefix);
    t_run("release_nested", test_release_nested);
    t_run("clear", test_clear);
    t_run("tree_free_release", test_tree_free_release);
    t_run("special_keys", test_special_keys);
    t_run("prefix_chain", test_prefix_chain);
    t_run("huge_key", test_huge_key);
    t_run("too_big", test_too_big);
    t_run("version", test_version);
    t_run("memory", test_memory);
    t_run("fanout", test_fanout);
}
