/*
 * test_build.c -- rx_build_*: trees built bottom-up from sorted keys.
 *
 * Each key set is built twice: by the builder from the sorted keys and by
 * rx_insert in a random order.  Both must pass rx_check, be compact and
 * have the same shape (node types, node bytes, height), hold the same keys
 * with the same values in both directions, and answer count_prefix alike;
 * the built tree must then take inserts and removals as any other.  Also:
 * order violations (RX_EORDER, builder still usable), allocation failure
 * at every allocation of a build (RX_ENOMEM, retry works; abort frees all
 * and releases each value once); and a snapshot read back into a builder
 * (the reader's `shared` is exactly what rx_build_add checks).
 */
#include "test_util.h"

#include "../snapshot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t common_prefix(const unsigned char *a, size_t an, const unsigned char *b, size_t bn)
{
    size_t i = 0, n = an < bn ? an : bn;
    while (i < n && a[i] == b[i])
        i++;
    return i;
}

static int check_ok(const rx_tree *t, rx_check_stats *stats, const char *file, int line)
{
    const char *err = rx_check(t, stats);
    if (err)
        t_context("rx_check: %s", err);
    return t_check(err == NULL, file, line, "rx_check passes");
}
#define CHECK_OK(t, stats) check_ok((t), (stats), __FILE__, __LINE__)

/* The model's keys through a builder on a's allocator, value i+1 for key i
 * (m's values are set to that).  NULL on an unexpected error (reported). */
static rx_tree *build_model(model *m, t_alloc *a)
{
    rx_allocator al;
    rx_builder *b;
    rx_tree *t = NULL;
    size_t i;
    talloc_init(a, &al);
    if (!CHECK_EQ(rx_build_new(&b, &al), RX_OK))
        return NULL;
    for (i = 0; i < m->n; i++) {
        size_t shared = i ? common_prefix(m->e[i - 1].k, m->e[i - 1].n, m->e[i].k, m->e[i].n) : 0;
        m->e[i].v = i + 1;
        if (!CHECK_EQ(rx_build_add(b, m->e[i].k, m->e[i].n, shared, V(i + 1)), RX_OK)) {
            rx_build_abort(b, NULL, NULL);
            return NULL;
        }
    }
    CHECK_EQ(rx_build_finish(b, &t), RX_OK);
    return t;
}

/* The model's keys inserted in a random order. */
static rx_tree *insert_shuffled(const model *m, t_alloc *a, t_rng *rng)
{
    rx_tree *t = t_new_tree(a);
    size_t *order = malloc((m->n + 1) * sizeof *order), i;
    for (i = 0; i < m->n; i++)
        order[i] = i;
    for (i = m->n; i > 1; i--) {
        size_t j = rng_below(rng, i), x = order[i - 1];
        order[i - 1] = order[j];
        order[j] = x;
    }
    for (i = 0; i < m->n; i++) {
        const m_entry *e = &m->e[order[i]];
        void *old;
        CHECK_EQ(rx_insert(t, e->k, e->n, V(e->v), &old), 1);
    }
    free(order);
    return t;
}

/* Inserts, overwrites and removals on the built tree, mirrored in m. */
static void mutate_after_build(rx_tree *t, t_alloc *a, model *m, t_rng *rng)
{
    size_t i, rounds = 20 + m->n / 4;
    for (i = 0; i < rounds; i++) {
        unsigned char k[12];
        size_t n = rng_below(rng, sizeof k + 1), j;
        void *old = NULL;
        uintptr_t mold = 0;
        int op = (int)rng_below(rng, 4);
        if (m->n && rng_chance(rng, 1, 2)) { /* start from a stored key */
            const m_entry *e = &m->e[rng_below(rng, m->n)];
            n = e->n < sizeof k ? e->n : sizeof k;
            memcpy(k, e->k, n);
            if (op != 3 && n < sizeof k && rng_chance(rng, 1, 2))
                k[n++] = (unsigned char)rng_below(rng, 256);
        } else {
            for (j = 0; j < n; j++)
                k[j] = (unsigned char)("\x00\x01" "ab\xfe\xff")[rng_below(rng, 6)];
        }
        if (op <= 1) {
            int want = m_insert(m, k, n, 1000000 + i, &mold);
            CHECK_EQ(rx_insert(t, k, n, V(1000000 + i), &old), want);
            if (!want)
                CHECK_EQ(U(old), mold);
        } else if (op == 2) {
            int want = m_remove(m, k, n, &mold);
            CHECK_EQ(rx_remove(t, k, n, &old), want);
            if (want)
                CHECK_EQ(U(old), mold);
        } else {
            size_t lo, hi;
            n = n > 3 ? 3 : n; /* short prefixes take whole groups */
            m_prefix_range(m, k, n, &lo, &hi);
            CHECK_EQ(rx_remove_prefix(t, k, n, NULL, NULL), hi - lo);
            m_remove_range(m, lo, hi, NULL);
        }
        if (i % 8 == 0 || i + 1 == rounds) {
            REQUIRE(CHECK_OK(t, NULL));
            REQUIRE(CHECK_TREE(t, m));
            CHECK_MEM(t, a);
        }
    }
}

/* Builds m's keys (any order in m: it is sorted here) both ways and
 * compares; then mutates the built tree. */
static void check_build(model *m, t_rng *rng, const char *what)
{
    t_alloc ab, ai;
    rx_tree *built, *inserted;
    rx_check_stats sb, si;
    size_t i, j;
    t_where("%s: %lu keys", what, (unsigned long)m->n);
    built = build_model(m, &ab);
    REQUIRE(built != NULL);
    inserted = insert_shuffled(m, &ai, rng);
    if (CHECK_OK(built, &sb) && CHECK_OK(inserted, &si)) {
        CHECK(sb.compact);
        CHECK(si.compact);
        for (i = 0; i < 5; i++)
            CHECK_EQ(sb.nodes_of_type[i], si.nodes_of_type[i]);
        CHECK_EQ(sb.node_bytes, si.node_bytes);
        CHECK_EQ(sb.height, si.height);
        /* rx_memory also holds the walk stack rx_insert sizes from the node
         * total before each insert, so it depends on the order of inserts
         * when the tree has fewer nodes than its longest key has bytes
         * (a few keys, long ones).  Compare it whole when the stacks agree,
         * and what is not the stack always. */
        CHECK_EQ(rx_memory(built) - sb.visit_bytes, rx_memory(inserted) - si.visit_bytes);
        if (sb.visit_bytes == si.visit_bytes)
            CHECK_EQ(rx_memory(built), rx_memory(inserted));
    }
    CHECK_EQ(rx_size(built), m->n);
    CHECK_EQ(rx_size(inserted), m->n);
    CHECK_EQ(rx_version(built), m->n);
    CHECK_MEM(built, &ab);
    CHECK_TREE(built, m);
    CHECK_TREE(inserted, m);
    CHECK_VISIT(built, &ab, m);
    for (i = 0; i < m->n; i++) {
        void *v = NULL;
        CHECK_EQ(rx_find(built, m->e[i].k, m->e[i].n, &v), 1);
        CHECK_EQ(U(v), m->e[i].v);
    }
    /* every prefix of some keys, and the iterator's count for a few */
    for (i = 0; i < m->n; i += 1 + m->n / 64) {
        const m_entry *e = &m->e[i];
        for (j = 0; j <= e->n; j++) {
            size_t want = m_count_prefix(m, e->k, j);
            CHECK_EQ(rx_count_prefix(built, e->k, j), want);
            CHECK_EQ(rx_count_prefix(inserted, e->k, j), want);
            if (j == e->n / 2) {
                rx_iter it;
                rx_iter_init(&it, built);
                CHECK_EQ(rx_iter_set_prefix(&it, e->k, j), RX_OK);
                CHECK_EQ(rx_iter_seek(&it, RX_SEEK_FIRST, NULL, 0), RX_OK);
                CHECK_EQ(rx_iter_prefix_count(&it), want);
                rx_iter_release(&it);
            }
        }
    }
    FREE_TREE(inserted, &ai);
    mutate_after_build(built, &ab, m, rng);
    FREE_TREE(built, &ab);
}

static void add_key(model *m, const void *k, size_t n)
{
    m_insert(m, k, n, 0, NULL);
}

static void add_str(model *m, const char *s)
{
    add_key(m, s, strlen(s));
}

static void test_build_small_sets(void)
{
    t_rng rng;
    model m;
    unsigned char zero = 0, ff = 0xff;
    rng_seed(&rng, t_seed);
    m_init(&m);
    check_build(&m, &rng, "empty set");
    m_clear(&m);
    add_str(&m, "");
    check_build(&m, &rng, "empty key");
    m_clear(&m);
    add_str(&m, "solo");
    check_build(&m, &rng, "one key");
    m_clear(&m);
    add_str(&m, "");
    add_str(&m, "a");
    add_str(&m, "ab");
    add_str(&m, "abc");
    add_str(&m, "abd");
    add_str(&m, "abdx");
    add_str(&m, "b");
    check_build(&m, &rng, "prefix chain");
    m_clear(&m);
    add_str(&m, "romane");
    add_str(&m, "romanus");
    add_str(&m, "rom");
    add_str(&m, "rubens");
    add_str(&m, "rubicon");
    add_str(&m, "rubicundus");
    check_build(&m, &rng, "radix.c's example");
    m_clear(&m);
    add_key(&m, &zero, 1);
    add_key(&m, &ff, 1);
    add_key(&m, "\x00\x00", 2);
    add_key(&m, "\xff\xff", 2);
    add_key(&m, "\x00\xff\x00", 3);
    add_str(&m, "");
    check_build(&m, &rng, "0x00 and 0xff");
    m_free(&m);
}

/* Fan-outs on both sides of every node-type threshold, at the root and
 * below a shared prefix, with and without a value on the branching node. */
static void test_build_fanouts(void)
{
    static const unsigned fanouts[] = {1, 2, 3, 4, 5, 15, 16, 17, 47, 48, 49, 200, 255, 256};
    t_rng rng;
    model m;
    size_t f, i;
    int variant;
    rng_seed(&rng, t_seed + 1);
    m_init(&m);
    for (f = 0; f < sizeof fanouts / sizeof fanouts[0]; f++) {
        for (variant = 0; variant < 4; variant++) {
            char what[64];
            m_clear(&m);
            for (i = 0; i < fanouts[f]; i++) {
                unsigned char k[8] = "pre";
                size_t b = fanouts[f] == 256 ? i : (i * 251 + 7) % 256, n = 0;
                if (variant & 1) /* below a prefix */
                    n = 3;
                k[n++] = (unsigned char)b;
                if (variant & 2 && i % 3 == 0) { /* children that branch again */
                    k[n] = 'x';
                    add_key(&m, k, n + 1);
                    k[n] = 'y';
                }
                add_key(&m, k, n);
            }
            if (variant == 3)
                add_key(&m, "pre", 3); /* the branching node holds a value */
            sprintf(what, "fan-out %u, variant %d", fanouts[f], variant);
            check_build(&m, &rng, what);
        }
    }
    m_free(&m);
}

static void random_keys(model *m, t_rng *rng, size_t count, const unsigned char *alphabet,
                        size_t nalpha, size_t maxlen)
{
    unsigned char k[64];
    size_t i, j;
    for (i = 0; i < count; i++) {
        size_t n = rng_below(rng, maxlen + 1);
        for (j = 0; j < n; j++)
            k[j] = alphabet[rng_below(rng, nalpha)];
        add_key(m, k, n);
    }
}

static void test_build_random(void)
{
    static const unsigned char binary[] = {0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff};
    t_rng rng;
    model m;
    unsigned char all[256];
    size_t round, rounds = t_scaled(40), i;
    rng_seed(&rng, t_seed + 2);
    for (i = 0; i < 256; i++)
        all[i] = (unsigned char)i;
    m_init(&m);
    for (round = 0; round < rounds; round++) {
        size_t count = 1 + rng_below(&rng, round % 4 == 3 ? 3000 : 300);
        m_clear(&m);
        switch (round % 3) {
        case 0: /* dense prefixes: many keys are prefixes of others */
            random_keys(&m, &rng, count, binary, 2 + round % 4, 10);
            break;
        case 1:
            random_keys(&m, &rng, count, binary, sizeof binary, 6);
            break;
        default:
            random_keys(&m, &rng, count, all, 256, 4);
            break;
        }
        check_build(&m, &rng, "random keys");
    }
    m_free(&m);
}

static void test_build_long_prefixes(void)
{
    t_rng rng;
    model m;
    unsigned char k[1200];
    size_t i, j, round;
    rng_seed(&rng, t_seed + 3);
    m_init(&m);
    for (round = 0; round < 4; round++) {
        size_t common = round == 0 ? 5 : round * 300;
        m_clear(&m);
        for (j = 0; j < common; j++)
            k[j] = (unsigned char)('a' + j % 26);
        for (i = 0; i < 60; i++) {
            size_t n = common + rng_below(&rng, 12);
            for (j = common; j < n; j++)
                k[j] = (unsigned char)("ab\x00\xff")[rng_below(&rng, 4)];
            add_key(&m, k, n);
            if (i % 10 == 0) /* a key far longer than the rest, another short */
                add_key(&m, k, rng_below(&rng, common + 1));
        }
        check_build(&m, &rng, "long shared prefixes");
    }
    m_free(&m);
}

static size_t chat_key(char *buf, unsigned user, unsigned thread, unsigned msg)
{
    return (size_t)sprintf(buf, "user:%u:thread:%u:msg:%05u", user, thread, msg);
}

static void test_build_chat_keys(void)
{
    t_rng rng;
    model m;
    char k[64];
    size_t users = t_scaled(30), u, th, msg;
    rng_seed(&rng, t_seed + 4);
    m_init(&m);
    for (u = 0; u < users; u++) {
        unsigned user = (unsigned)rng_below(&rng, 1000);
        size_t threads = 1 + rng_below(&rng, 6);
        for (th = 0; th < threads; th++) {
            size_t msgs = 1 + rng_below(&rng, 40);
            for (msg = 0; msg < msgs; msg++)
                add_key(&m, k, chat_key(k, user, (unsigned)th, (unsigned)msg));
            add_key(&m, k, (size_t)sprintf(k, "user:%u:thread:%u", user, (unsigned)th));
        }
    }
    check_build(&m, &rng, "chat keys");
    m_free(&m);
}

/* ---- order violations ----------------------------------------------------- */

static void test_build_order(void)
{
    t_alloc a;
    rx_allocator al;
    rx_builder *b;
    rx_tree *t;
    model m;
    talloc_init(&a, &al);
    m_init(&m);
    REQUIRE(CHECK_EQ(rx_build_new(&b, &al), RX_OK));
    CHECK_EQ(rx_build_add(b, KEY("b"), 1, V(9)), RX_EORDER); /* first key shares nothing */
    CHECK_EQ(rx_build_add(b, KEY("abc"), 0, V(1)), RX_OK);
    CHECK_EQ(rx_build_add(b, KEY("abc"), 3, V(2)), RX_EORDER); /* the same key */
    CHECK_EQ(rx_build_add(b, KEY("abb"), 2, V(2)), RX_EORDER); /* smaller */
    CHECK_EQ(rx_build_add(b, KEY("ab"), 2, V(2)), RX_EORDER);  /* a prefix of it */
    CHECK_EQ(rx_build_add(b, KEY(""), 0, V(2)), RX_EORDER);
    CHECK_EQ(rx_build_add(b, KEY("abd"), 3, V(2)), RX_EORDER); /* shared too large */
    CHECK_EQ(rx_build_add(b, KEY("abd"), 1, V(2)), RX_EORDER); /* too small */
    CHECK_EQ(rx_build_add(b, KEY("abd"), 9, V(2)), RX_EORDER); /* past both keys */
    CHECK_EQ(rx_build_add(b, KEY("x"), 1, V(2)), RX_EORDER);   /* past the new key */
    CHECK_EQ(rx_build_add(b, KEY("abd"), 2, V(2)), RX_OK);     /* still usable */
    CHECK_EQ(rx_build_add(b, KEY("abdx"), 2, V(3)), RX_EORDER); /* shared too small, prefix */
    CHECK_EQ(rx_build_add(b, KEY("abdx"), 4, V(3)), RX_EORDER);
    CHECK_EQ(rx_build_add(b, KEY("abdx"), 3, V(3)), RX_OK);
    CHECK_EQ(rx_build_add(b, KEY("abe"), 2, V(4)), RX_OK);
    CHECK_EQ(rx_build_add(b, KEY("abd"), 2, V(5)), RX_EORDER); /* after a later key */
    CHECK_EQ(rx_build_finish(b, &t), RX_OK);
    add_str(&m, "abc");
    add_str(&m, "abd");
    add_str(&m, "abdx");
    add_str(&m, "abe");
    m.e[0].v = 1;
    m.e[1].v = 2;
    m.e[2].v = 3;
    m.e[3].v = 4;
    CHECK_OK(t, NULL);
    CHECK_TREE(t, &m);
    CHECK_MEM(t, &a);
    FREE_TREE(t, &a);
    m_free(&m);

    /* an empty build and an abort */
    talloc_init(&a, &al);
    REQUIRE(CHECK_EQ(rx_build_new(&b, &al), RX_OK));
    CHECK_EQ(rx_build_finish(b, &t), RX_OK);
    CHECK_EQ(rx_size(t), 0);
    CHECK_OK(t, NULL);
    FREE_TREE(t, &a);
    REQUIRE(CHECK_EQ(rx_build_new(&b, &al), RX_OK));
    rx_build_abort(b, NULL, NULL);
    CHECK_EQ(a.live_bytes, 0);
}

/* ---- allocation failures -------------------------------------------------- */

static void count_release(void *value, void *ctx)
{
    vl_push(ctx, U(value));
}

/* Builds the model's keys with the k-th allocation of each add failing,
 * k = 1, 2, ... until it succeeds: every failure is RX_ENOMEM and the retry
 * goes on from the builder as it was.  With `abort_at`, aborts after that
 * many keys and checks each value was released once and nothing is left. */
static void build_failing(model *m, size_t abort_at)
{
    t_alloc a;
    rx_allocator al;
    rx_builder *b = NULL;
    rx_tree *t;
    size_t i, failures = 0;
    unsigned long k;
    talloc_init(&a, &al);
    for (k = 1; k < 10; k++) { /* rx_build_new: tree then builder */
        a.fail_at = a.attempts + k;
        if (rx_build_new(&b, &al) == RX_OK)
            break;
        CHECK_EQ(a.live_bytes, 0);
    }
    talloc_heal(&a);
    REQUIRE(CHECK(b != NULL));
    for (i = 0; i < m->n && i < abort_at; i++) {
        size_t shared = i ? common_prefix(m->e[i - 1].k, m->e[i - 1].n, m->e[i].k, m->e[i].n) : 0;
        int rc = RX_ENOMEM;
        m->e[i].v = i + 1;
        for (k = 1; k < 100 && rc == RX_ENOMEM; k++) {
            unsigned long injected = a.injected;
            a.fail_at = a.attempts + k;
            rc = rx_build_add(b, m->e[i].k, m->e[i].n, shared, V(i + 1));
            if (rc == RX_ENOMEM) {
                failures++;
                CHECK(a.injected > injected); /* from the injection */
            }
        }
        talloc_heal(&a);
        REQUIRE(CHECK_EQ(rc, RX_OK));
    }
    CHECK(failures > 0 || m->n == 0);
    if (abort_at < m->n) {
        vlist released = {0};
        size_t j;
        rx_build_abort(b, count_release, &released);
        CHECK_EQ(a.live_bytes, 0);
        CHECK_EQ(a.live_blocks, 0);
        CHECK_EQ(a.bad_sizes, 0);
        CHECK_EQ(released.n, abort_at);
        /* each of 1..abort_at once */
        if (released.n == abort_at) {
            unsigned char *seen = calloc(abort_at + 1, 1);
            for (j = 0; j < released.n; j++) {
                uintptr_t v = released.v[j];
                if (CHECK(v >= 1 && v <= abort_at))
                    CHECK(seen[v]++ == 0);
            }
            free(seen);
        }
        vl_free(&released);
        return;
    }
    a.fail_all = 1; /* finish allocates nothing */
    CHECK_EQ(rx_build_finish(b, &t), RX_OK);
    talloc_heal(&a);
    CHECK_OK(t, NULL);
    CHECK_TREE(t, m);
    CHECK_MEM(t, &a);
    FREE_TREE(t, &a);
}

static void test_build_oom(void)
{
    static const unsigned char alphabet[] = {0x00, 'a', 'b', 0xff};
    t_rng rng;
    model m;
    size_t round;
    char k[64];
    unsigned i;
    rng_seed(&rng, t_seed + 5);
    m_init(&m);
    for (round = 0; round < 6; round++) {
        m_clear(&m);
        random_keys(&m, &rng, 20 + round * 40, alphabet, sizeof alphabet, 8);
        t_where("oom round %lu, %lu keys", (unsigned long)round, (unsigned long)m.n);
        build_failing(&m, (size_t)-1);
        build_failing(&m, m.n / 2);
        build_failing(&m, m.n);
    }
    /* wide nodes grow through every type */
    m_clear(&m);
    for (i = 0; i < 256; i++) {
        k[0] = 'w';
        k[1] = (char)i;
        add_key(&m, k, 2);
        add_key(&m, k, (size_t)sprintf(k, "user:%u:msg", i * 7));
    }
    t_where("oom wide, %lu keys", (unsigned long)m.n);
    build_failing(&m, (size_t)-1);
    build_failing(&m, 300);
    m_free(&m);
}

/* ---- from a snapshot: the reader's `shared` is what the builder takes ---- */

typedef struct {
    unsigned char *p;
    size_t n, cap, pos;
} membuf;

static int mem_write(void *ctx, const unsigned char *buf, size_t len)
{
    membuf *m = ctx;
    if (m->n + len > m->cap) {
        size_t cap = m->cap ? m->cap : 4096;
        unsigned char *p;
        while (cap < m->n + len)
            cap *= 2;
        if ((p = realloc(m->p, cap)) == NULL)
            return 1;
        m->p = p;
        m->cap = cap;
    }
    memcpy(m->p + m->n, buf, len);
    m->n += len;
    return 0;
}

static int mem_read(void *ctx, unsigned char *buf, size_t want, size_t *got)
{
    membuf *m = ctx;
    size_t n = m->n - m->pos < want ? m->n - m->pos : want;
    memcpy(buf, m->p + m->pos, n);
    m->pos += n;
    *got = n;
    return 0;
}

static void test_build_from_snapshot(void)
{
    static const unsigned char alphabet[] = {0x00, 'a', 'b', 0xff};
    t_rng rng;
    model m;
    membuf file = {0};
    rx_snap_writer *w;
    rx_snap_reader *r;
    rx_snap_record rec;
    rx_builder *b;
    rx_tree *t;
    t_alloc a;
    rx_allocator al;
    size_t i;
    int rc;
    rng_seed(&rng, t_seed + 6);
    m_init(&m);
    random_keys(&m, &rng, 2000, alphabet, sizeof alphabet, 12);
    REQUIRE(CHECK_EQ(rx_snap_writer_open(&w, NULL, mem_write, &file, 0, 256), RX_OK));
    for (i = 0; i < m.n; i++) {
        m.e[i].v = i + 1; /* the record's value: its index, 1-based, 8 bytes */
        CHECK_EQ(rx_snap_writer_add(w, m.e[i].k, m.e[i].n, (const unsigned char *)&m.e[i].v,
                                    sizeof m.e[i].v, 0, 0, 0),
                 RX_OK);
    }
    CHECK_EQ(rx_snap_writer_finish(w), RX_OK);
    rx_snap_writer_free(w);
    talloc_init(&a, &al);
    REQUIRE(CHECK_EQ(rx_snap_reader_open(&r, NULL, mem_read, &file), RX_OK));
    REQUIRE(CHECK_EQ(rx_build_new(&b, &al), RX_OK));
    while ((rc = rx_snap_reader_next(r, &rec)) == 1) {
        uintptr_t v;
        memcpy(&v, rec.value, sizeof v);
        if (!CHECK_EQ(rx_build_add(b, rec.key, rec.key_len, rec.shared, V(v)), RX_OK))
            break;
    }
    CHECK_EQ(rc, 0);
    rx_snap_reader_free(r);
    CHECK_EQ(rx_build_finish(b, &t), RX_OK);
    CHECK_OK(t, NULL);
    CHECK_TREE(t, &m);
    FREE_TREE(t, &a);
    free(file.p);
    m_free(&m);
}

void run_build_tests(void)
{
    t_run("build_small_sets", test_build_small_sets);
    t_run("build_fanouts", test_build_fanouts);
    t_run("build_random", test_build_random);
    t_run("build_long_prefixes", test_build_long_prefixes);
    t_run("build_chat_keys", test_build_chat_keys);
    t_run("build_order", test_build_order);
    t_run("build_oom", test_build_oom);
    t_run("build_from_snapshot", test_build_from_snapshot);
}
