/*
 * snapshot.c -- streaming writer and reader of memstore snapshot files.
 *
 * The format is specified in docs/persistence-format.md; the API in
 * snapshot.h.  In short:
 *
 *   header   magic(8) version(4) flags(4) block_size(4) crc(4)
 *   block    len(4) payload(len) crc(4)     len == block_size but the last
 *   ...
 *   trailer  0(4) records(8) blocks(8) payload_bytes(8) crc(4)
 *
 * The payloads, concatenated, are the record stream:
 *
 *   record   shared(varint) rest_len(varint) rest  rflags(1) [deadline(8)]
 *            value_len(varint) value
 *
 * Every CRC is seeded with the one stored before it, so the chain also
 * pins the order of the blocks.
 *
 * How the reader stays safe on hostile input:
 *   - it parses a byte only after the block holding it passed its CRC, so
 *     damage is reported as damage (ECHECKSUM) and never reaches the record
 *     parser; the parser's own checks are for well-checksummed nonsense;
 *   - the only buffer sized from the file before checking is the block, and
 *     its size is bounded by RX_SNAP_MAX_BLOCK once the header CRC passed;
 *   - keys and values grow with the bytes actually read (at most doubling),
 *     never to the length a varint declares, so a 1 TB declared value in a
 *     100-byte file allocates about 100 bytes before failing as truncated;
 *   - every loop advances through the file or ends: no hang on any input.
 */
#include "snapshot.h"

#include <stdlib.h>
#include <string.h>

#define HEADER_LEN 24u
#define TRAILER_LEN 32u
#define CRC_POLY 0x82F63B78u /* CRC-32C, reflected */
#define VARINT_MAX 10u       /* bytes of a 64-bit LEB128 value */
#define RFLAG_DEADLINE 1u

static const unsigned char MAGIC[8] = {0x89, 'M', 'S', 'T', '\r', '\n', 0x1A, '\n'};

/* What an empty key or value points at, so a record's pointers are never
 * NULL (a caller may memcpy from them without a length check). */
static const unsigned char EMPTY[1] = {0};

/* ---- allocation ----------------------------------------------------------- */

static void *std_malloc(void *ctx, size_t size)
{
    (void)ctx;
    return malloc(size);
}

static void *std_realloc(void *ctx, void *ptr, size_t old_size, size_t new_size)
{
    (void)ctx;
    (void)old_size;
    return realloc(ptr, new_size);
}

static void std_free(void *ctx, void *ptr, size_t size)
{
    (void)ctx;
    (void)size;
    free(ptr);
}

static void set_allocator(rx_allocator *dst, const rx_allocator *src)
{
    if (src != NULL) {
        *dst = *src;
    } else {
        dst->malloc_fn = std_malloc;
        dst->realloc_fn = std_realloc;
        dst->free_fn = std_free;
        dst->ctx = NULL;
    }
}

/* Grows *buf (capacity *cap) to hold at least need bytes, doubling so a
 * buffer filled piece by piece costs O(log) reallocations; never past
 * `most`, the size the caller knows is the final one.  RX_OK / RX_ENOMEM
 * (the buffer unchanged). */
static int grow(const rx_allocator *a, unsigned char **buf, size_t *cap, size_t need,
                size_t most)
{
    size_t n;
    unsigned char *p;
    if (need <= *cap)
        return RX_OK;
    n = *cap < 64 ? 64 : *cap;
    while (n < need)
        n = n > (size_t)-1 / 2 ? need : n * 2;
    if (n > most)
        n = most;
    if (n < need)
        n = need;
    p = *buf == NULL ? a->malloc_fn(a->ctx, n) : a->realloc_fn(a->ctx, *buf, *cap, n);
    if (p == NULL)
        return RX_ENOMEM;
    *buf = p;
    *cap = n;
    return RX_OK;
}

/* ---- CRC-32C, slicing by 8 ------------------------------------------------
 * Eight tables let the loop fold 8 input bytes per step with independent
 * lookups (about 1-2 GB/s in portable C, against ~400 MB/s a byte at a
 * time), which keeps checksumming well under the save/load budget.  The
 * tables live in each writer and reader (8 KiB) rather than in a global
 * built on first use, so there is no initialisation race between threads
 * and nothing to set up before the API is used. */

typedef struct {
    uint32_t t[8][256];
    int hw; /* use the CPU's CRC-32C instruction (crc_hw) */
    /* With hw: the register after CRC_LANE zero bytes, by register byte
     * (crc_shift): how crc_hw_lanes joins its three lanes. */
    uint32_t shift[4][256];
} crc_tables;

/* x86-64 has computed CRC-32C in hardware since SSE 4.2 (2008): about 8
 * bytes a cycle against slicing's 1-2, which matters at the size of a
 * snapshot (10^6 keys of 100-byte values are 105 MB to checksum on save and
 * on load).  Compiled only with GCC or clang, chosen at run time from the
 * CPU's features, so the portable path below stays the reference.
 * -DRX_SNAP_PORTABLE_CRC turns it off (the tests run both). */
#if !defined(RX_SNAP_PORTABLE_CRC) && defined(__x86_64__) && \
    (defined(__GNUC__) || defined(__clang__))
#define SNAP_HW_CRC 1
__attribute__((target("sse4.2"))) static uint32_t crc_hw(uint32_t crc, const unsigned char *p,
                                                         size_t n)
{
    uint64_t c = (uint32_t)~crc;
    uint32_t c32;
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, p, 8); /* x86 is little-endian: the byte order CRC-32C reads */
        c = __builtin_ia32_crc32di(c, v);
        p += 8;
        n -= 8;
    }
    c32 = (uint32_t)c;
    while (n--)
        c32 = __builtin_ia32_crc32qi(c32, *p++);
    return ~c32;
}

/* The instruction takes 3 cycles but can start one every cycle, so one
 * chain of it runs at a third of its speed.  crc_hw_lanes runs three
 * chains over three consecutive lanes of CRC_LANE bytes and joins them:
 * the register is linear in its input, so the CRC of A||B equals the
 * register after A followed by len(B) zero bytes ("shifted"), XORed with
 * the CRC of B from a zero register.  A 64 KiB block checks in about half
 * the time (load of 10^6 keys: 7% of it went to the CRC). */
#define CRC_LANE 2048u

static uint32_t crc_shift(const crc_tables *c, uint32_t x)
{
    return c->shift[0][x & 0xFFu] ^ c->shift[1][(x >> 8) & 0xFFu] ^
           c->shift[2][(x >> 16) & 0xFFu] ^ c->shift[3][x >> 24];
}

/* The shift tables: each register bit run through CRC_LANE zero bytes
 * (32 independent chains, so at the instruction's full rate: ~3 us),
 * then every byte value as the XOR of its bits' columns. */
__attribute__((target("sse4.2"))) static void crc_shift_init(crc_tables *c)
{
    uint64_t col[32];
    unsigned i, j, k, b;
    for (i = 0; i < 32; i++)
        col[i] = (uint64_t)1 << i;
    for (j = 0; j < CRC_LANE / 8; j++)
        for (i = 0; i < 32; i++)
            col[i] = __builtin_ia32_crc32di(col[i], 0);
    for (k = 0; k < 4; k++) {
        c->shift[k][0] = 0;
        for (b = 1; b < 256; b++)
            c->shift[k][b] = c->shift[k][b & (b - 1)] ^ (uint32_t)col[8 * k + __builtin_ctz(b)];
    }
}

__attribute__((target("sse4.2"))) static uint32_t crc_hw_lanes(const crc_tables *t, uint32_t crc,
                                                               const unsigned char *p, size_t n)
{
    uint64_t a = (uint32_t)~crc;
    while (n >= 3 * CRC_LANE) {
        uint64_t b = 0, c = 0;
        size_t i;
        for (i = 0; i < CRC_LANE; i += 8) {
            uint64_t x, y, z;
            memcpy(&x, p + i, 8);
            memcpy(&y, p + CRC_LANE + i, 8);
            memcpy(&z, p + 2 * CRC_LANE + i, 8);
            a = __builtin_ia32_crc32di(a, x);
            b = __builtin_ia32_crc32di(b, y);
            c = __builtin_ia32_crc32di(c, z);
        }
        a = crc_shift(t, crc_shift(t, (uint32_t)a) ^ (uint32_t)b) ^ (uint32_t)c;
        p += 3 * CRC_LANE;
        n -= 3 * CRC_LANE;
    }
    return crc_hw(~(uint32_t)a, p, n); /* the rest, one chain */
}
#endif

static void crc_init(crc_tables *c)
{
    uint32_t i, k, v;
    for (i = 0; i < 256; i++) {
        v = i;
        for (k = 0; k < 8; k++)
            v = (v & 1u) ? (v >> 1) ^ CRC_POLY : v >> 1;
        c->t[0][i] = v;
    }
    for (k = 1; k < 8; k++)
        for (i = 0; i < 256; i++)
            c->t[k][i] = (c->t[k - 1][i] >> 8) ^ c->t[0][c->t[k - 1][i] & 0xFFu];
#ifdef SNAP_HW_CRC
    c->hw = __builtin_cpu_supports("sse4.2") != 0;
    if (c->hw)
        crc_shift_init(c);
#else
    c->hw = 0;
#endif
}

static uint32_t crc_update(const crc_tables *c, uint32_t crc, const unsigned char *p, size_t n)
{
    uint32_t lo, hi;
#ifdef SNAP_HW_CRC
    if (c->hw)
        return n >= 3 * CRC_LANE ? crc_hw_lanes(c, crc, p, n) : crc_hw(crc, p, n);
#endif
    crc = ~crc;
    while (n >= 8) {
        /* byte-assembled so the code is endian- and alignment-neutral;
         * compilers turn it into plain loads on little-endian machines */
        lo = crc ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                    (uint32_t)p[3] << 24);
        hi = (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 | (uint32_t)p[7] << 24;
        crc = c->t[7][lo & 0xFFu] ^ c->t[6][(lo >> 8) & 0xFFu] ^ c->t[5][(lo >> 16) & 0xFFu] ^
              c->t[4][lo >> 24] ^ c->t[3][hi & 0xFFu] ^ c->t[2][(hi >> 8) & 0xFFu] ^
              c->t[1][(hi >> 16) & 0xFFu] ^ c->t[0][hi >> 24];
        p += 8;
        n -= 8;
    }
    while (n--)
        crc = c->t[0][(crc ^ *p++) & 0xFFu] ^ (crc >> 8);
    return ~crc;
}

/* ---- rx_snap_crc32c: the checksum alone, for callers outside a stream --- */

/* One table of 256 entries (a byte at a time, ~400 MB/s), constant so it
 * needs no initialisation and no race: callers such as the journal's records
 * checksum a few KB at a time, where slicing's 8 KiB of tables would cost
 * more to build than they save.  The hardware path is used when the CPU has
 * it, as in the streams. */
static const uint32_t crc_byte_table[256] = {
    0x00000000u, 0xf26b8303u, 0xe13b70f7u, 0x1350f3f4u, 0xc79a971fu, 0x35f1141cu,
    0x26a1e7e8u, 0xd4ca64ebu, 0x8ad958cfu, 0x78b2dbccu, 0x6be22838u, 0x9989ab3bu,
    0x4d43cfd0u, 0xbf284cd3u, 0xac78bf27u, 0x5e133c24u, 0x105ec76fu, 0xe235446cu,
    0xf165b798u, 0x030e349bu, 0xd7c45070u, 0x25afd373u, 0x36ff2087u, 0xc494a384u,
    0x9a879fa0u, 0x68ec1ca3u, 0x7bbcef57u, 0x89d76c54u, 0x5d1d08bfu, 0xaf768bbcu,
    0xbc267848u, 0x4e4dfb4bu, 0x20bd8edeu, 0xd2d60dddu, 0xc186fe29u, 0x33ed7d2au,
    0xe72719c1u, 0x154c9ac2u, 0x061c6936u, 0xf477ea35u, 0xaa64d611u, 0x580f5512u,
    0x4b5fa6e6u, 0xb93425e5u, 0x6dfe410eu, 0x9f95c20du, 0x8cc531f9u, 0x7eaeb2fau,
    0x30e349b1u, 0xc288cab2u, 0xd1d83946u, 0x23b3ba45u, 0xf779deaeu, 0x05125dadu,
    0x1642ae59u, 0xe4292d5au, 0xba3a117eu, 0x4851927du, 0x5b016189u, 0xa96ae28au,
    0x7da08661u, 0x8fcb0562u, 0x9c9bf696u, 0x6ef07595u, 0x417b1dbcu, 0xb3109ebfu,
    0xa0406d4bu, 0x522bee48u, 0x86e18aa3u, 0x748a09a0u, 0x67dafa54u, 0x95b17957u,
    0xcba24573u, 0x39c9c670u, 0x2a993584u, 0xd8f2b687u, 0x0c38d26cu, 0xfe53516fu,
    0xed03a29bu, 0x1f682198u, 0x5125dad3u, 0xa34e59d0u, 0xb01eaa24u, 0x42752927u,
    0x96bf4dccu, 0x64d4cecfu, 0x77843d3bu, 0x85efbe38u, 0xdbfc821cu, 0x2997011fu,
    0x3ac7f2ebu, 0xc8ac71e8u, 0x1c661503u, 0xee0d9600u, 0xfd5d65f4u, 0x0f36e6f7u,
    0x61c69362u, 0x93ad1061u, 0x80fde395u, 0x72966096u, 0xa65c047du, 0x5437877eu,
    0x4767748au, 0xb50cf789u, 0xeb1fcbadu, 0x197448aeu, 0x0a24bb5au, 0xf84f3859u,
    0x2c855cb2u, 0xdeeedfb1u, 0xcdbe2c45u, 0x3fd5af46u, 0x7198540du, 0x83f3d70eu,
    0x90a324fau, 0x62c8a7f9u, 0xb602c312u, 0x44694011u, 0x5739b3e5u, 0xa55230e6u,
    0xfb410cc2u, 0x092a8fc1u, 0x1a7a7c35u, 0xe811ff36u, 0x3cdb9bddu, 0xceb018deu,
    0xdde0eb2au, 0x2f8b6829u, 0x82f63b78u, 0x709db87bu, 0x63cd4b8fu, 0x91a6c88cu,
    0x456cac67u, 0xb7072f64u, 0xa457dc90u, 0x563c5f93u, 0x082f63b7u, 0xfa44e0b4u,
    0xe9141340u, 0x1b7f9043u, 0xcfb5f4a8u, 0x3dde77abu, 0x2e8e845fu, 0xdce5075cu,
    0x92a8fc17u, 0x60c37f14u, 0x73938ce0u, 0x81f80fe3u, 0x55326b08u, 0xa759e80bu,
    0xb4091bffu, 0x466298fcu, 0x1871a4d8u, 0xea1a27dbu, 0xf94ad42fu, 0x0b21572cu,
    0xdfeb33c7u, 0x2d80b0c4u, 0x3ed04330u, 0xccbbc033u, 0xa24bb5a6u, 0x502036a5u,
    0x4370c551u, 0xb11b4652u, 0x65d122b9u, 0x97baa1bau, 0x84ea524eu, 0x7681d14du,
    0x2892ed69u, 0xdaf96e6au, 0xc9a99d9eu, 0x3bc21e9du, 0xef087a76u, 0x1d63f975u,
    0x0e330a81u, 0xfc588982u, 0xb21572c9u, 0x407ef1cau, 0x532e023eu, 0xa145813du,
    0x758fe5d6u, 0x87e466d5u, 0x94b49521u, 0x66df1622u, 0x38cc2a06u, 0xcaa7a905u,
    0xd9f75af1u, 0x2b9cd9f2u, 0xff56bd19u, 0x0d3d3e1au, 0x1e6dcdeeu, 0xec064eedu,
    0xc38d26c4u, 0x31e6a5c7u, 0x22b65633u, 0xd0ddd530u, 0x0417b1dbu, 0xf67c32d8u,
    0xe52cc12cu, 0x1747422fu, 0x49547e0bu, 0xbb3ffd08u, 0xa86f0efcu, 0x5a048dffu,
    0x8ecee914u, 0x7ca56a17u, 0x6ff599e3u, 0x9d9e1ae0u, 0xd3d3e1abu, 0x21b862a8u,
    0x32e8915cu, 0xc083125fu, 0x144976b4u, 0xe622f5b7u, 0xf5720643u, 0x07198540u,
    0x590ab964u, 0xab613a67u, 0xb831c993u, 0x4a5a4a90u, 0x9e902e7bu, 0x6cfbad78u,
    0x7fab5e8cu, 0x8dc0dd8fu, 0xe330a81au, 0x115b2b19u, 0x020bd8edu, 0xf0605beeu,
    0x24aa3f05u, 0xd6c1bc06u, 0xc5914ff2u, 0x37faccf1u, 0x69e9f0d5u, 0x9b8273d6u,
    0x88d28022u, 0x7ab90321u, 0xae7367cau, 0x5c18e4c9u, 0x4f48173du, 0xbd23943eu,
    0xf36e6f75u, 0x0105ec76u, 0x12551f82u, 0xe03e9c81u, 0x34f4f86au, 0xc69f7b69u,
    0xd5cf889du, 0x27a40b9eu, 0x79b737bau, 0x8bdcb4b9u, 0x988c474du, 0x6ae7c44eu,
    0xbe2da0a5u, 0x4c4623a6u, 0x5f16d052u, 0xad7d5351u,
};

uint32_t rx_snap_crc32c(uint32_t crc, const void *data, size_t n)
{
    const unsigned char *p = (const unsigned char *)data;
#ifdef SNAP_HW_CRC
    if (__builtin_cpu_supports("sse4.2"))
        return crc_hw(crc, p, n);
#endif
    crc = ~crc;
    while (n--)
        crc = crc_byte_table[(crc ^ *p++) & 0xFFu] ^ (crc >> 8);
    return ~crc;
}

/* ---- little-endian fields and varints ------------------------------------ */

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static void put64(unsigned char *p, uint64_t v)
{
    put32(p, (uint32_t)v);
    put32(p + 4, (uint32_t)(v >> 32));
}

static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const unsigned char *p)
{
    return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

/* Writes v as LEB128 into p (VARINT_MAX bytes room); returns its length. */
static size_t put_varint(unsigned char *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (unsigned char)v;
    return n;
}

const char *rx_snap_strerror(int code)
{
    switch (code) {
    case RX_OK:
        return "success";
    case RX_ENOMEM:
        return "out of memory";
    case RX_SNAP_EIO:
        return "I/O error";
    case RX_SNAP_EARG:
        return "invalid argument or call out of sequence";
    case RX_SNAP_ETRUNCATED:
        return "file truncated";
    case RX_SNAP_EMAGIC:
        return "not a memstore snapshot (bad magic number)";
    case RX_SNAP_EVERSION:
        return "unsupported snapshot format version";
    case RX_SNAP_EHEADER:
        return "invalid header (reserved flags or block size)";
    case RX_SNAP_ECHECKSUM:
        return "checksum mismatch (file corrupt)";
    case RX_SNAP_ELENGTH:
        return "declared length over its limit";
    case RX_SNAP_EORDER:
        return "keys out of order";
    case RX_SNAP_ENONCANON:
        return "non-canonical encoding";
    case RX_SNAP_ECOUNT:
        return "trailer totals do not match the records";
    case RX_SNAP_ETRAILING:
        return "trailing bytes after the end of the snapshot";
    case RX_SNAP_ERECORD:
        return "malformed record";
    default:
        return "unknown error";
    }
}

/* ==========================================================================
 * Writer
 * ======================================================================== */

enum { W_OPEN, W_FINISHED, W_FAILED };

struct rx_snap_writer {
    rx_allocator a;
    rx_snap_write_fn write;
    void *ctx;
    crc_tables crc;
    /* [0..4) length, [4..4+block_size) payload, then 4 bytes of CRC: a
     * whole block goes out in one write call */
    unsigned char *block;
    size_t block_size, fill;
    unsigned char *prev; /* previous key, for order and front coding */
    size_t prev_len, prev_cap;
    uint32_t chain; /* last CRC written */
    uint64_t count, blocks, payload, bytes;
    int state;
};

static int w_out(rx_snap_writer *w, const unsigned char *p, size_t n)
{
    if (w->write(w->ctx, p, n) != 0) {
        w->state = W_FAILED;
        return RX_SNAP_EIO;
    }
    w->bytes += n;
    return RX_OK;
}

static int w_flush_block(rx_snap_writer *w)
{
    uint32_t crc;
    put32(w->block, (uint32_t)w->fill);
    crc = crc_update(&w->crc, w->chain, w->block, 4 + w->fill);
    put32(w->block + 4 + w->fill, crc);
    if (w_out(w, w->block, 8 + w->fill) != RX_OK)
        return RX_SNAP_EIO;
    w->chain = crc;
    w->blocks++;
    w->payload += w->fill;
    w->fill = 0;
    return RX_OK;
}

/* Appends n bytes to the record stream; a block goes out as soon as it is
 * full, so all blocks but the last are full (the format requires it). */
static int w_emit(rx_snap_writer *w, const unsigned char *p, size_t n)
{
    while (n > 0) {
        size_t room = w->block_size - w->fill, take = n < room ? n : room;
        memcpy(w->block + 4 + w->fill, p, take);
        w->fill += take;
        p += take;
        n -= take;
        if (w->fill == w->block_size && w_flush_block(w) != RX_OK)
            return RX_SNAP_EIO;
    }
    return RX_OK;
}

int rx_snap_writer_open(rx_snap_writer **out, const rx_allocator *alloc,
                        rx_snap_write_fn write, void *ctx, unsigned file_tag,
                        size_t block_size)
{
    rx_allocator a;
    rx_snap_writer *w;
    unsigned char h[HEADER_LEN];
    int rc;
    if (out == NULL)
        return RX_SNAP_EARG;
    *out = NULL;
    if (block_size == 0)
        block_size = RX_SNAP_MAX_BLOCK;
    if (write == NULL || file_tag > RX_SNAP_MAX_FILE_TAG || block_size < RX_SNAP_MIN_BLOCK ||
        block_size > RX_SNAP_MAX_BLOCK)
        return RX_SNAP_EARG;
    set_allocator(&a, alloc);
    w = a.malloc_fn(a.ctx, sizeof *w);
    if (w == NULL)
        return RX_ENOMEM;
    memset(w, 0, sizeof *w);
    w->a = a;
    w->write = write;
    w->ctx = ctx;
    w->block_size = block_size;
    w->block = a.malloc_fn(a.ctx, block_size + 8);
    if (w->block == NULL) {
        a.free_fn(a.ctx, w, sizeof *w);
        return RX_ENOMEM;
    }
    crc_init(&w->crc);

    memcpy(h, MAGIC, 8);
    put32(h + 8, RX_SNAP_VERSION);
    put32(h + 12, (uint32_t)file_tag);
    put32(h + 16, (uint32_t)block_size);
    w->chain = crc_update(&w->crc, 0, h, 20);
    put32(h + 20, w->chain);
    rc = w_out(w, h, HEADER_LEN);
    if (rc != RX_OK) {
        rx_snap_writer_free(w);
        return rc;
    }
    *out = w;
    return RX_OK;
}

int rx_snap_writer_add(rx_snap_writer *w, const unsigned char *key, size_t key_len,
                       const unsigned char *value, size_t value_len, unsigned value_tag,
                       int has_deadline, int64_t deadline)
{
    unsigned char buf[2 * VARINT_MAX + 1 + 8];
    size_t shared = 0, n, limit;
    int rc;
    if (w == NULL || w->state != W_OPEN || value_tag > RX_SNAP_MAX_VALUE_TAG ||
        (key == NULL && key_len > 0) || (value == NULL && value_len > 0))
        return RX_SNAP_EARG;
    if ((uint64_t)key_len > RX_SNAP_MAX_KEY_LEN)
        return RX_SNAP_ELENGTH;
    /* Order: strictly after the previous key, so the reader's order check
     * and a bottom-up tree build can rely on it. */
    if (w->count > 0) {
        limit = key_len < w->prev_len ? key_len : w->prev_len;
        /* eight bytes at a time: sorted keys share tens of bytes (ids) */
        while (limit - shared >= 8) {
            uint64_t x, y;
            memcpy(&x, key + shared, 8);
            memcpy(&y, w->prev + shared, 8);
            if (x != y)
                break;
            shared += 8;
        }
        while (shared < limit && key[shared] == w->prev[shared])
            shared++;
        if (shared == key_len || (shared < w->prev_len && key[shared] < w->prev[shared]))
            return RX_SNAP_EORDER;
    }
    /* Room for this key as the next "previous" before anything is written,
     * so an allocation failure leaves the file and the writer unchanged. */
    rc = grow(&w->a, &w->prev, &w->prev_cap, key_len, (size_t)-1);
    if (rc != RX_OK)
        return rc;

    n = put_varint(buf, shared);
    n += put_varint(buf + n, key_len - shared);
    if ((rc = w_emit(w, buf, n)) != RX_OK || (rc = w_emit(w, key + shared, key_len - shared)) != RX_OK)
        return rc;
    n = 0;
    buf[n++] = (unsigned char)(value_tag << 1 | (has_deadline ? RFLAG_DEADLINE : 0u));
    if (has_deadline) {
        put64(buf + n, (uint64_t)deadline);
        n += 8;
    }
    n += put_varint(buf + n, value_len);
    if ((rc = w_emit(w, buf, n)) != RX_OK || (rc = w_emit(w, value, value_len)) != RX_OK)
        return rc;

    if (key_len > shared)
        memcpy(w->prev + shared, key + shared, key_len - shared);
    w->prev_len = key_len;
    w->count++;
    return RX_OK;
}

int rx_snap_writer_finish(rx_snap_writer *w)
{
    unsigned char t[TRAILER_LEN];
    int rc;
    if (w == NULL || w->state != W_OPEN)
        return RX_SNAP_EARG;
    if (w->fill > 0 && (rc = w_flush_block(w)) != RX_OK)
        return rc;
    put32(t, 0);
    put64(t + 4, w->count);
    put64(t + 12, w->blocks);
    put64(t + 20, w->payload);
    put32(t + 28, crc_update(&w->crc, w->chain, t, 28));
    if ((rc = w_out(w, t, TRAILER_LEN)) != RX_OK)
        return rc;
    w->state = W_FINISHED;
    return RX_OK;
}

uint64_t rx_snap_writer_count(const rx_snap_writer *w)
{
    return w->count;
}

uint64_t rx_snap_writer_bytes(const rx_snap_writer *w)
{
    return w->bytes;
}

void rx_snap_writer_free(rx_snap_writer *w)
{
    rx_allocator a;
    if (w == NULL)
        return;
    a = w->a;
    if (w->prev != NULL)
        a.free_fn(a.ctx, w->prev, w->prev_cap);
    a.free_fn(a.ctx, w->block, w->block_size + 8);
    a.free_fn(a.ctx, w, sizeof *w);
}

/* ==========================================================================
 * Reader
 * ======================================================================== */

enum { R_FRESH, R_RECORDS, R_DONE, R_FAILED };

struct rx_snap_reader {
    rx_allocator a;
    rx_snap_read_fn read;
    void *ctx;
    crc_tables crc;
    uint64_t max_key, max_value;
    int state, err;
    uint64_t err_off;
    uint64_t off; /* bytes consumed from the file */

    unsigned file_tag;
    size_t block_size;
    unsigned char *block; /* payload then CRC: block_size + 4 bytes */
    size_t blen, bpos;    /* current block's payload length, read position */
    uint64_t block_off;   /* file offset of the current block's length field */
    int last_short;       /* the last data block was shorter than block_size */
    uint32_t chain;       /* last CRC verified */
    uint64_t count, blocks, payload;

    unsigned char *key; /* current key; the previous one until overwritten */
    size_t key_len, key_cap;
    unsigned char *val;
    size_t val_cap;
};

/* Records the first error and its offset; every later call returns it. */
static int r_fail(rx_snap_reader *r, int code, uint64_t off)
{
    r->state = R_FAILED;
    r->err = code;
    r->err_off = off;
    return code;
}

/* File offset of the next unread stream byte in the current block. */
static uint64_t r_pos(const rx_snap_reader *r)
{
    return r->block_off + 4 + r->bpos;
}

/* Reads exactly n bytes from the file.  The file ending first is
 * ETRUNCATED at its length (the offset where bytes were missing). */
static int r_read_exact(rx_snap_reader *r, unsigned char *p, size_t n)
{
    while (n > 0) {
        size_t got = 0;
        if (r->read(r->ctx, p, n, &got) != 0 || got > n)
            return r_fail(r, RX_SNAP_EIO, r->off);
        if (got == 0)
            return r_fail(r, RX_SNAP_ETRUNCATED, r->off);
        r->off += got;
        p += got;
        n -= got;
    }
    return RX_OK;
}

int rx_snap_reader_open(rx_snap_reader **out, const rx_allocator *alloc,
                        rx_snap_read_fn read, void *ctx)
{
    rx_allocator a;
    rx_snap_reader *r;
    if (out == NULL)
        return RX_SNAP_EARG;
    *out = NULL;
    if (read == NULL)
        return RX_SNAP_EARG;
    set_allocator(&a, alloc);
    r = a.malloc_fn(a.ctx, sizeof *r);
    if (r == NULL)
        return RX_ENOMEM;
    memset(r, 0, sizeof *r);
    r->a = a;
    r->read = read;
    r->ctx = ctx;
    r->max_key = RX_SNAP_MAX_KEY_LEN;
    r->max_value = RX_SNAP_DEFAULT_MAX_VALUE_LEN;
    crc_init(&r->crc);
    *out = r;
    return RX_OK;
}

void rx_snap_reader_set_limits(rx_snap_reader *r, uint64_t max_key_len, uint64_t max_value_len)
{
    if (max_key_len != 0 && max_key_len < RX_SNAP_MAX_KEY_LEN)
        r->max_key = max_key_len;
    if (max_value_len != 0)
        r->max_value = max_value_len;
}

int rx_snap_reader_header(rx_snap_reader *r)
{
    unsigned char h[HEADER_LEN];
    uint32_t flags, bs;
    int rc;
    if (r->state == R_FAILED)
        return r->err;
    if (r->state != R_FRESH)
        return RX_OK;
    if ((rc = r_read_exact(r, h, HEADER_LEN)) != RX_OK) {
        /* a short file that does not even start like a snapshot (a text
         * file, an empty pickle) is "not a snapshot", not "truncated" */
        size_t have = (size_t)r->off < 8 ? (size_t)r->off : 8;
        if (rc == RX_SNAP_ETRUNCATED && memcmp(h, MAGIC, have) != 0)
            return r_fail(r, RX_SNAP_EMAGIC, 0);
        return rc;
    }
    if (memcmp(h, MAGIC, 8) != 0)
        return r_fail(r, RX_SNAP_EMAGIC, 0);
    /* version before the CRC: a newer file says so instead of "corrupt" */
    if (get32(h + 8) != RX_SNAP_VERSION)
        return r_fail(r, RX_SNAP_EVERSION, 8);
    r->chain = crc_update(&r->crc, 0, h, 20);
    if (r->chain != get32(h + 20))
        return r_fail(r, RX_SNAP_ECHECKSUM, 0);
    flags = get32(h + 12);
    if (flags > RX_SNAP_MAX_FILE_TAG)
        return r_fail(r, RX_SNAP_EHEADER, 12);
    bs = get32(h + 16);
    if (bs < RX_SNAP_MIN_BLOCK || bs > RX_SNAP_MAX_BLOCK)
        return r_fail(r, RX_SNAP_EHEADER, 16);
    r->file_tag = (unsigned)flags;
    r->block_size = bs;
    /* bounded by RX_SNAP_MAX_BLOCK and checksummed: safe to allocate */
    r->block = r->a.malloc_fn(r->a.ctx, r->block_size + 4);
    if (r->block == NULL)
        return r_fail(r, RX_ENOMEM, HEADER_LEN);
    r->block_off = HEADER_LEN - 4; /* so r_pos() is the first block's start */
    r->state = R_RECORDS;
    return RX_OK;
}

unsigned rx_snap_reader_file_tag(const rx_snap_reader *r)
{
    return r->file_tag;
}

size_t rx_snap_reader_block_size(const rx_snap_reader *r)
{
    return r->block_size;
}

/* Loads and verifies the next block.  Returns 1 for a data block (blen,
 * bpos reset), 0 for the trailer (verified; its totals in *t), or an error. */
static int r_next_block(rx_snap_reader *r, unsigned char t[TRAILER_LEN])
{
    unsigned char lenbuf[4];
    uint64_t start = r->off;
    uint32_t len, crc;
    int rc;
    if ((rc = r_read_exact(r, lenbuf, 4)) != RX_OK)
        return rc;
    len = get32(lenbuf);
    if (len == 0) {
        memcpy(t, lenbuf, 4);
        if ((rc = r_read_exact(r, t + 4, TRAILER_LEN - 4)) != RX_OK)
            return rc;
        if (crc_update(&r->crc, r->chain, t, 28) != get32(t + 28))
            return r_fail(r, RX_SNAP_ECHECKSUM, start);
        r->block_off = start;
        r->blen = r->bpos = 0;
        return 0;
    }
    if (len > r->block_size)
        return r_fail(r, RX_SNAP_ELENGTH, start);
    if ((rc = r_read_exact(r, r->block, (size_t)len + 4)) != RX_OK)
        return rc;
    crc = crc_update(&r->crc, r->chain, lenbuf, 4);
    crc = crc_update(&r->crc, crc, r->block, len);
    if (crc != get32(r->block + len))
        return r_fail(r, RX_SNAP_ECHECKSUM, start);
    /* after the CRC, so damage (a flipped bit in the trailer's zero length)
     * reads as damage; a checksummed block after a short one is a writer
     * that broke the one-encoding rule */
    if (r->last_short)
        return r_fail(r, RX_SNAP_ENONCANON, start);
    r->chain = crc;
    r->blocks++;
    r->payload += len;
    r->last_short = len < r->block_size;
    r->block_off = start;
    r->blen = len;
    r->bpos = 0;
    return 1;
}

/* Makes at least one stream byte available inside a record: reaching the
 * trailer there means the stream ended mid-record. */
static int r_more(rx_snap_reader *r)
{
    unsigned char t[TRAILER_LEN];
    int rc;
    if (r->bpos < r->blen)
        return RX_OK;
    rc = r_next_block(r, t);
    if (rc == 0)
        return r_fail(r, RX_SNAP_ERECORD, r->block_off);
    return rc < 0 ? rc : RX_OK;
}

static int r_bytes(rx_snap_reader *r, unsigned char *p, size_t n)
{
    int rc;
    while (n > 0) {
        size_t avail, take;
        if ((rc = r_more(r)) != RX_OK)
            return rc;
        avail = r->blen - r->bpos;
        take = n < avail ? n : avail;
        memcpy(p, r->block + r->bpos, take);
        r->bpos += take;
        p += take;
        n -= take;
    }
    return RX_OK;
}

/* Reads n stream bytes into *buf at `at`, growing the buffer only as the
 * bytes arrive (each piece at most one verified block), so the allocation
 * follows what the file holds, not what it declares. */
static int r_bytes_grow(rx_snap_reader *r, unsigned char **buf, size_t *cap, size_t at, size_t n)
{
    size_t done = 0;
    int rc;
    while (done < n) {
        size_t avail, take;
        if ((rc = r_more(r)) != RX_OK)
            return rc;
        avail = r->blen - r->bpos;
        take = n - done < avail ? n - done : avail;
        if (grow(&r->a, buf, cap, at + done + take, at + n) != RX_OK)
            return r_fail(r, RX_ENOMEM, r_pos(r));
        memcpy(*buf + at + done, r->block + r->bpos, take);
        r->bpos += take;
        done += take;
    }
    return RX_OK;
}

/* One LEB128 varint; *at gets the offset of its first byte. */
static int r_varint(rx_snap_reader *r, uint64_t *v, uint64_t *at)
{
    unsigned i;
    int rc;
    *v = 0;
    if ((rc = r_more(r)) != RX_OK)
        return rc;
    *at = r_pos(r);
    for (i = 0; i < VARINT_MAX; i++) {
        unsigned char b;
        if ((rc = r_bytes(r, &b, 1)) != RX_OK)
            return rc;
        if (i == VARINT_MAX - 1 && b > 1) /* bits past 64 */
            return r_fail(r, RX_SNAP_ERECORD, *at);
        *v |= (uint64_t)(b & 0x7Fu) << (7 * i);
        if (!(b & 0x80u)) {
            if (i > 0 && b == 0) /* overlong: a shorter encoding exists */
                return r_fail(r, RX_SNAP_ENONCANON, *at);
            return RX_OK;
        }
    }
    return r_fail(r, RX_SNAP_ERECORD, *at); /* not reached: byte 10 ends or fails above */
}

/* At a record boundary with the stream exhausted: the trailer must follow,
 * agree with what was read, and end the file. */
static int r_finish(rx_snap_reader *r, const unsigned char t[TRAILER_LEN])
{
    unsigned char extra;
    size_t got = 0;
    uint64_t at = r->block_off;
    if (get64(t + 4) != r->count)
        return r_fail(r, RX_SNAP_ECOUNT, at + 4);
    if (get64(t + 12) != r->blocks)
        return r_fail(r, RX_SNAP_ECOUNT, at + 12);
    if (get64(t + 20) != r->payload)
        return r_fail(r, RX_SNAP_ECOUNT, at + 20);
    if (r->read(r->ctx, &extra, 1, &got) != 0 || got > 1)
        return r_fail(r, RX_SNAP_EIO, r->off);
    if (got != 0)
        return r_fail(r, RX_SNAP_ETRAILING, r->off);
    r->state = R_DONE;
    return 0;
}

/* A varint read in place from [*p, end): 1 with *p past it, or 0 when it
 * runs past end or is not canonical (the slow path then reads it again
 * and reports what is wrong). */
static int fast_varint_long(const unsigned char **p, const unsigned char *end, uint64_t *v)
{
    const unsigned char *q = *p;
    uint64_t x = 0;
    unsigned i;
    for (i = 0; i < VARINT_MAX && q < end; i++) {
        unsigned char b = *q++;
        x |= (uint64_t)(b & 0x7Fu) << (7 * i);
        if (!(b & 0x80u)) {
            if ((i > 0 && b == 0) || (i == VARINT_MAX - 1 && b > 1))
                return 0;
            *v = x;
            *p = q;
            return 1;
        }
    }
    return 0;
}

/* Most lengths in a snapshot are under 128: one byte, inline. */
static inline int fast_varint(const unsigned char **p, const unsigned char *end, uint64_t *v)
{
    if (*p < end && **p < 0x80u) {
        *v = *(*p)++;
        return 1;
    }
    return fast_varint_long(p, end, v);
}

/* The common case of next: a well-formed record wholly inside the current
 * block, whose key fits the key buffer.  It is parsed in place and its
 * value handed out as a pointer into the block (no copy); nothing in the
 * reader changes unless it returns 1.  A record it does not take (one
 * spanning blocks, or any check failing) goes to the byte-at-a-time path,
 * which gives the same records and reports errors at their offsets; this
 * path only keeps the per-record calls and copies out of a load. */
static int r_next_fast(rx_snap_reader *r, rx_snap_record *rec)
{
    const unsigned char *p = r->block + r->bpos, *end = r->block + r->blen, *rest_p;
    uint64_t shared, rest, vlen;
    int64_t deadline = 0;
    unsigned flags;
    if (!fast_varint(&p, end, &shared) || shared > r->key_len || !fast_varint(&p, end, &rest) ||
        rest > (uint64_t)(end - p) || rest > r->max_key - shared || shared + rest > r->key_cap)
        return 0;
    rest_p = p;
    p += rest;
    if (r->count > 0) {
        if (shared == r->key_len) {
            if (rest == 0)
                return 0;
        } else if (rest == 0 || rest_p[0] <= r->key[shared]) {
            return 0;
        }
    }
    if (p == end)
        return 0;
    flags = *p++;
    if (flags & RFLAG_DEADLINE) {
        if (end - p < 8)
            return 0;
        deadline = (int64_t)get64(p);
        p += 8;
    }
    if (!fast_varint(&p, end, &vlen) || vlen > r->max_value || vlen > (uint64_t)(end - p))
        return 0;
    if (rest > 0)
        memcpy(r->key + shared, rest_p, (size_t)rest);
    r->key_len = (size_t)(shared + rest);
    r->bpos = (size_t)(p + vlen - r->block);
    r->count++;
    rec->key = r->key_len ? r->key : EMPTY;
    rec->key_len = r->key_len;
    rec->shared = (size_t)shared;
    rec->value = vlen ? p : EMPTY;
    rec->value_len = (size_t)vlen;
    rec->value_tag = flags >> 1;
    rec->has_deadline = (flags & RFLAG_DEADLINE) != 0;
    rec->deadline = deadline;
    return 1;
}

int rx_snap_reader_next(rx_snap_reader *r, rx_snap_record *rec)
{
    unsigned char t[TRAILER_LEN], b[8];
    uint64_t shared, rest, vlen, rec_off, at;
    size_t prev_len;
    unsigned char prev_byte = 0;
    int rc;
    if (r->state == R_FRESH && (rc = rx_snap_reader_header(r)) != RX_OK)
        return rc;
    if (r->state == R_FAILED)
        return r->err;
    if (r->state == R_DONE)
        return 0;
    if (r->bpos == r->blen) {
        rc = r_next_block(r, t);
        if (rc < 0)
            return rc;
        if (rc == 0)
            return r_finish(r, t);
    }
    if (r_next_fast(r, rec))
        return 1;
    rec_off = r_pos(r);

    /* key: previous_key[0:shared] || rest, strictly after previous_key */
    if ((rc = r_varint(r, &shared, &at)) != RX_OK)
        return rc;
    prev_len = r->key_len;
    if (shared > prev_len)
        return r_fail(r, RX_SNAP_ERECORD, at);
    if ((rc = r_varint(r, &rest, &at)) != RX_OK)
        return rc;
    if (rest > r->max_key - shared)
        return r_fail(r, RX_SNAP_ELENGTH, at);
    if (shared < prev_len)
        prev_byte = r->key[shared];
    if (rest > 0) { /* where the first rest byte is, for ENONCANON */
        if ((rc = r_more(r)) != RX_OK)
            return rc;
        at = r_pos(r);
    }
    if ((rc = r_bytes_grow(r, &r->key, &r->key_cap, (size_t)shared, (size_t)rest)) != RX_OK)
        return rc;
    r->key_len = (size_t)(shared + rest);
    if (r->count > 0) {
        if (shared == prev_len) {
            if (rest == 0) /* the same key again */
                return r_fail(r, RX_SNAP_EORDER, rec_off);
        } else if (rest == 0 || r->key[shared] < prev_byte) {
            return r_fail(r, RX_SNAP_EORDER, rec_off);
        } else if (r->key[shared] == prev_byte) {
            return r_fail(r, RX_SNAP_ENONCANON, at);
        }
    }

    if ((rc = r_bytes(r, b, 1)) != RX_OK)
        return rc;
    rec->value_tag = b[0] >> 1;
    rec->has_deadline = (b[0] & RFLAG_DEADLINE) != 0;
    rec->deadline = 0;
    if (rec->has_deadline) {
        if ((rc = r_bytes(r, b, 8)) != RX_OK)
            return rc;
        rec->deadline = (int64_t)get64(b);
    }
    if ((rc = r_varint(r, &vlen, &at)) != RX_OK)
        return rc;
    if (vlen > r->max_value || vlen > (uint64_t)((size_t)-1 / 2))
        return r_fail(r, RX_SNAP_ELENGTH, at);
    if ((rc = r_bytes_grow(r, &r->val, &r->val_cap, 0, (size_t)vlen)) != RX_OK)
        return rc;

    r->count++;
    rec->key = r->key_len ? r->key : EMPTY;
    rec->key_len = r->key_len;
    rec->shared = (size_t)shared;
    rec->value = vlen ? r->val : EMPTY;
    rec->value_len = (size_t)vlen;
    return 1;
}

uint64_t rx_snap_reader_error_offset(const rx_snap_reader *r)
{
    return r->state == R_DONE ? r->off : r->err_off;
}

uint64_t rx_snap_reader_count(const rx_snap_reader *r)
{
    return r->count;
}

void rx_snap_reader_free(rx_snap_reader *r)
{
    rx_allocator a;
    if (r == NULL)
        return;
    a = r->a;
    if (r->key != NULL)
        a.free_fn(a.ctx, r->key, r->key_cap);
    if (r->val != NULL)
        a.free_fn(a.ctx, r->val, r->val_cap);
    if (r->block != NULL)
        a.free_fn(a.ctx, r->block, r->block_size + 4);
    a.free_fn(a.ctx, r, sizeof *r);
}
