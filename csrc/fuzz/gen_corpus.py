#!/usr/bin/env python3
"""Writes the seed corpus for fuzz_radix.c into csrc/fuzz/corpus/.

Each seed is an operation stream in the harness's input encoding (see
run_op() and read_key() in fuzz_radix.c; the encoders below mirror them).
The seeds are committed; rerun this only after changing the encoding:

    python3 csrc/fuzz/gen_corpus.py          # rewrites csrc/fuzz/corpus/
"""
import os
import random
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus")

ALPHA4 = [0x00, ord("a"), ord("b"), 0xFF]
ALPHA8 = [0x00, 0x01, ord("a"), ord("b"), ord("c"), 0x7F, 0x80, 0xFF]

# ---- keys (read_key) -------------------------------------------------------


def k4(s):
    """Key over {00, 'a', 'b', ff}, at most 15 symbols; str or bytes."""
    b = s.encode("latin-1") if isinstance(s, str) else bytes(s)
    assert len(b) <= 15 and all(c in ALPHA4 for c in b), s
    out = [len(b)]
    for i in range(0, len(b), 4):
        v = 0
        for j, c in enumerate(b[i:i + 4]):
            v |= ALPHA4.index(c) << (2 * j)
        out.append(v)
    return out


def k_null():
    """Empty key passed to the tree as NULL."""
    return [16]


def k8(s):
    b = s.encode("latin-1") if isinstance(s, str) else bytes(s)
    assert len(b) <= 31 and all(c in ALPHA8 for c in b), s
    return [(2 << 5) | len(b)] + [ALPHA8.index(c) for c in b]


def raw(s):
    b = s.encode("latin-1") if isinstance(s, str) else bytes(s)
    assert len(b) <= 31
    return [(3 << 5) | len(b)] + list(b)


def stored(i, kind=0, low=0, arg=0, ext=(0, 0)):
    """Key derived from stored key #i (mod size): kind 0 exact, 1 truncated
    (to arg % (len+1) unless low&4: minus (low>>3)&3 bytes), 2 extended by
    1 + (low>>2)&1 bytes from ext (ALPHA8 indexes unless low&8: raw),
    3 neighbour (byte arg % len, or the last when low&4, bumped +1 when
    low&8 else -1, cut after it when low&16)."""
    low = (low & ~3 & 31) | kind
    out = [(4 << 5) | low, i & 0xFF, i >> 8]
    if kind in (1, 3) and not low & 4:
        out += [arg & 0xFF, arg >> 8]
    if kind == 2:
        out += list(ext[:1 + ((low >> 2) & 1)])
    return out


def long_key(b1, b2, pos, low=0):
    """16 + b1 + (b2&3)*256 bytes of filler (b2>>2)&3, byte at pos*len/256
    set to ALPHA8[(low>>1)&7], plus one suffix byte when low&1."""
    return [(6 << 5) | low, b1, b2, pos]


def k_empty():
    return [7 << 5]


def k_iter(which):
    """The key iterator `which` just returned (passed as an alias)."""
    return [(7 << 5) | 1 | (which << 1)]


# ---- operations (run_op) ---------------------------------------------------
FIRST, LAST, GE, GT, LE, LT = range(6)


def insert(k):
    return [0] + k


def overwrite(i):
    return [5, i & 0xFF, i >> 8]


def remove(k):
    return [6] + k


def remove_stored(i):
    return [9, i & 0xFF, i >> 8]


def find(k):
    return [10] + k


def count(k):
    return [11] + k


def longest(k):
    return [12] + k


def remove_prefix(k, control=0):
    """control: bits 0-3 which release re-enters, 0x30 also every 8th,
    0xC0 release == NULL; 0 = no re-entry."""
    return [13, control] + k


def clear(control=0):
    return [15, 0, control]


def seek(which, op, k):
    return [16, which | (op << 1)] + k


def set_prefix(which, k):
    return [18, which] + k


def set_delimiter(which, k, from_=0):
    """rx_iter_set_delimiter with (up to 3 bytes of) key k, looked for from
    byte from_ (0..3); the empty key removes it."""
    return [18, which | 4 | 0x20 | (from_ << 6)] + k


def next_(which, steps=1, through_end=False):
    assert 1 <= steps <= 16
    return [19, which | ((steps - 1) << 1) | (0x80 if through_end else 0)]


def release(which, reinit=False):
    return [22, which | (2 if reinit else 0)]


def skip(which, k=None, cut=None):
    """rx_iter_skip_prefix: of key k, or (cut given) of the first cut % (len+1)
    bytes of the key the iterator just returned (the path-popping case)."""
    if cut is not None:
        return [15, 4 | (which << 3) | 0x10, cut]
    return [15, 4 | (which << 3)] + k


def range_(p, start=None, stop=None, backward=False, delim=None, step=False):
    """A range listing (prefix p, optional start/stop), rolled up at the
    byte delim when given: by the iterator's delimiter step when step."""
    control = (1 if backward else 0) | (2 if start else 0) | (4 if stop else 0) | (8 if delim is not None else 0)
    control |= 0x20 if step else 0
    out = [15, 6, control] + p + (start or k_empty()) + (stop or k_empty())
    return out + ([delim] if delim is not None else [])


def arm(n):
    """Fail the n-th allocation from now (0 = the next one)."""
    return [23, n]


def bulk_insert(base, lo, cnt, tail=0):
    return [24] + base + [lo, cnt - 1, tail]


def bulk_remove(base, lo, cnt, tail=0):
    return [25] + base + [lo, cnt - 1, tail]


def verify(backward=0):
    return [26, backward]


def rebuild(abort=False, order_errors=False, backward=False):
    """Build a new tree from the model with rx_build_* and swap it in."""
    return [26, 6 | ((1 if abort else 0) | (2 if order_errors else 0) | (4 if backward else 0)) << 3]


def step_mutate(which, kind, steps=1, up=0, control=None):
    b = which | (kind << 1) | ((steps - 1) << 4) | (up << 6)
    out = [27, b]
    if kind == 5:
        out.append(control or 0)
    return out


def alias(b):
    return [29, b]


def fail_all(op):
    return [30] + op


def toobig():
    return [31, 1]


def find_many(keys, missing_null=False):
    assert len(keys) < 24
    out = [31, 2, len(keys) | (0x80 if missing_null else 0)]
    for k in keys:
        out += k
    return out


def visit(stop=None):
    """rx_visit_values; stop=j makes the callback stop at visit 1 + j % size."""
    return [31, 3, 0 if stop is None else (1 | (stop << 1)) & 0xFF]


def cat(*parts):
    out = []
    for p in parts:
        out += p
    return bytes(out)


# ---- seeds -----------------------------------------------------------------


def seeds():
    s = {}
    ab = ["", "a", "ab", "abb", "b", "ba", "\x00", "\x00a", "\xff", "\xff\xff", "a\x00", "a\xff"]
    s["basic"] = cat(*[insert(k4(x)) for x in ab], *[find(k4(x)) for x in ab + ["abbb", "bb"]],
                     count(k4("a")), count(k4("")), longest(k4("abbbb")), longest(k4("\xff\xff\xff")),
                     verify(0), verify(1))
    romans = ["romane", "romanus", "romulus", "rubens", "ruber", "rubicon", "rubicundus", "rom"]
    s["romans"] = cat(*[insert(raw(x)) for x in romans], count(raw("rom")), count(raw("rub")),
                      count(raw("r")), longest(raw("romanesque")), longest(raw("rubensx")),
                      remove(raw("romane")), remove(raw("rom")), remove(raw("r")), verify(1),
                      remove_prefix(raw("rub"), 0x01), verify(0))
    s["empty_and_null"] = cat(insert(k_null()), insert(k4("")), insert(k_empty()), find(k_null()),
                              remove(k_null()), insert(k4("\x00")), remove(k4("")), longest(k4("\x00\x00")),
                              count(k_null()), verify(0))
    s["n256_grow_shrink"] = cat(bulk_insert(k4("a"), 0, 256), verify(0), count(k4("a")),
                                bulk_remove(k4("a"), 0, 200), verify(1), bulk_remove(k4("a"), 200, 56), verify(0))
    s["n48_n16_n4"] = cat(bulk_insert(k4("b"), 10, 48), bulk_insert(k4("a"), 0, 16, 1), bulk_insert(k4(""), 100, 5),
                          bulk_remove(k4("b"), 10, 40), bulk_remove(k4("a"), 0, 14, 1), verify(0),
                          bulk_remove(k4(""), 100, 4), verify(1))
    s["n256_under_empty"] = cat(bulk_insert(k_empty(), 0, 256, 3), bulk_remove(k_empty(), 0, 250, 3), verify(0),
                                bulk_insert(k_empty(), 0, 256, 0), remove_prefix(k_empty(), 0), verify(0))
    s["long_keys"] = cat(insert(long_key(40, 0, 0)), insert(long_key(40, 0, 128)), insert(long_key(40, 0, 255)),
                         insert(long_key(40, 0, 64, 3)), insert(long_key(200, 1, 100, 5)),
                         insert(long_key(10, 4, 7)), insert(long_key(10, 8, 7)), insert(long_key(10, 12, 9)),
                         count(long_key(40, 0, 0)), longest(long_key(40, 0, 128, 1)),
                         remove(long_key(40, 0, 128)), remove(long_key(40, 0, 255)), verify(0), verify(1))
    s["giant_key"] = cat(insert(long_key(255, 7, 3, 31)), insert(long_key(255, 7, 200, 31)),
                         insert(long_key(255, 3, 3, 1)), find(long_key(255, 7, 3, 31)),
                         remove(long_key(255, 7, 200, 31)), verify(0), remove_prefix(k_empty(), 0))
    deep = "ab\x00\xffab\x00\xffab\x00\xffab\x00"
    s["deep_prefix_chain"] = cat(*[insert(k4(deep[:n])) for n in range(15, -1, -1)], verify(0),
                                 *[remove(k4(deep[:n])) for n in range(0, 16, 2)], verify(1),
                                 seek(0, GE, k4(deep[:5])), next_(0, 16))
    words = ["a", "a\x00", "a\x00a", "aa", "ab", "ab\x00", "aba", "abb", "b", "b\xff", "ba", "\xff"]
    base = cat(*[insert(k4(w)) for w in words])
    s["iter_forward_prefix"] = base + cat(set_prefix(0, k4("a")), seek(0, FIRST, k_empty()), next_(0, 16, True))
    s["iter_backward_prefix"] = base + cat(set_prefix(1, k4("ab")), seek(1, LAST, k_empty()), next_(1, 16, True))
    for op, name in ((GE, "ge"), (GT, "gt"), (LE, "le"), (LT, "lt")):
        s["iter_seek_" + name] = base + cat(
            set_prefix(0, k4("a")), seek(0, op, k4("ab")), next_(0, 4),
            seek(0, op, k4("")), next_(0, 3), seek(0, op, k4("b")), next_(0, 3),
            seek(0, op, k4("ab\x00\x00")), next_(0, 3), set_prefix(1, k4("")), seek(1, op, k4("a\xff")), next_(1, 5))
    for kind in range(8):
        s["iter_mutate_kind%d" % kind] = base + cat(
            seek(kind & 1, LAST if kind & 1 else FIRST, k_empty()), next_(kind & 1, 2),
            step_mutate(kind & 1, kind, 2, control=0x02), step_mutate(kind & 1, kind, 3, up=1, control=0x11),
            next_(kind & 1, 16, True))
    s["iter_two_with_writes"] = base + cat(
        seek(0, FIRST, k_empty()), seek(1, LAST, k_empty()), next_(0), next_(1),
        remove(k4("a\x00")), insert(k4("a\x00\x00")), next_(0, 2), next_(1, 2),
        remove_prefix(k4("ab"), 0), next_(0, 3), next_(1, 3), clear(0), next_(0), next_(1),
        insert(k4("zz".replace("z", "b"))), next_(0), release(0, True), seek(0, GE, k4("a")), next_(0, 2))
    s["iter_seek_then_write"] = base + cat(
        seek(0, GT, k4("ab")), insert(k4("ab\x00")), next_(0), seek(1, LE, k4("b")), remove(k4("b")),
        next_(1, 2), seek(0, FIRST, k_empty()), remove(k4("a")), next_(0, 2))
    s["iter_aliases"] = base + cat(
        seek(0, FIRST, k_empty()), next_(0), insert(k_iter(0)), next_(0), remove(k_iter(0)), next_(0),
        alias(0x00), next_(0), alias(0x08), next_(0), alias(0x18), next_(0), seek(1, LAST, k_empty()),
        next_(1), alias(0x02 | 0x10), next_(0, 2))
    s["remove_prefix_reenter"] = base + cat(
        seek(0, FIRST, k_empty()), next_(0),
        remove_prefix(k4("a"), 0x01) + insert(k4("ab")),
        remove_prefix(k4(""), 0x30 | 0x03) + insert(k4("a")) + remove(k4("a")) + next_(0),
        next_(0, 3), verify(0))
    s["remove_prefix_nested"] = base + cat(
        remove_prefix(k4("a"), 0x02) + remove_prefix(k4("b"), 0x01) + insert(k4("ba")) + count(k4("b")),
        verify(0), remove_prefix(k4(""), 0xC0))
    s["clear_reenter"] = base + cat(seek(1, LAST, k_empty()), next_(1),
                                    clear(0x01) + insert(k4("b")) + next_(1), next_(1, 2), verify(0), clear(0xC0))
    for n in range(6):
        s["enomem_split_%d" % n] = cat(insert(k4("abab")), insert(k4("abba")), arm(n), insert(k4("ab\x00")),
                                      arm(n), insert(k4("a")), arm(n), bulk_insert(k4("a"), 0, 40),
                                      arm(n), remove_prefix(k4("a"), 0), arm(n), remove(k4("abab")), verify(0))
    s["enomem_fail_all"] = base + cat(fail_all(insert(k4("abba"))), fail_all(bulk_insert(k4("b"), 0, 20)),
                                      fail_all(seek(0, FIRST, k_empty())), next_(0),
                                      seek(1, FIRST, k_empty()), next_(1), insert(k4("\x00\x00\x00")),
                                      fail_all(next_(1, 3)), next_(1, 3),
                                      fail_all(set_prefix(0, k4("abababababababab"[:15]))),
                                      fail_all(remove(k4("ab"))), fail_all(remove_prefix(k4("a"), 0x01) + insert(k4("a"))))
    # an iterator that must re-seek a path that grew deeper than its stack
    chain = "abababababababa"
    s["enomem_reseek"] = cat(insert(k4(chain)), insert(k4(chain[:14] + "\xff")), seek(0, FIRST, k_empty()),
                             next_(0), *[insert(k4(chain[:n])) for n in range(1, 14)],
                             arm(1), next_(0), next_(0, 3), arm(0), insert(k4(chain + "")), next_(0))
    chain8 = "ab" * 15
    s["enomem_reseek_deep"] = cat(insert(k8(chain8)), seek(0, FIRST, k_empty()), next_(0),
                                  *[insert(k8(chain8[:n])) for n in range(1, 30)],
                                  arm(1), next_(0), next_(0, 3), arm(2), remove(k8(chain8[:3])), next_(0, 2))
    s["enomem_step_push"] = cat(insert(k4("a")), insert(long_key(100, 12, 50)), insert(long_key(100, 12, 60)),
                                seek(0, FIRST, k_empty()), next_(0), arm(0), next_(0), next_(0, 2),
                                seek(1, LAST, k_empty()), arm(0), next_(1), next_(1, 3))
    s["enomem_seek_push"] = cat(*[insert(k8(chain8[:n])) for n in range(2, 31, 2)],
                                arm(0), seek(0, GE, k8(chain8)), next_(0), arm(1), seek(0, LE, k8(chain8)),
                                next_(0), arm(2), seek(1, GT, k8(chain8[:20])), next_(1, 2),
                                arm(1), seek(1, LAST, k_empty()), next_(1, 2))
    s["find_misses"] = cat(insert(k4("abab")), insert(k4("abba")), insert(k4("b")), find(k4("aa")), find(k4("ab")),
                           find(k4("a")), find(k4("ababa")), find(k4("\x00")), longest(k4("aba")),
                           count(k4("aa")), count(k4("abb")), remove(k4("ab")), remove(k4("aa")))
    s["enomem_iter_step"] = cat(bulk_insert(long_key(60, 0, 10), 0, 20), seek(0, FIRST, k_empty()),
                                arm(0), next_(0), arm(1), next_(0), arm(2), next_(0, 3),
                                seek(1, LAST, k_empty()), arm(0), next_(1, 2))
    s["toobig"] = cat(insert(k4("a")), toobig(), verify(0))
    probe = [k4(w) for w in words] + [k4("abab"), k4("\xff\xff"), k_null(), k4("a"), k8("ac"), k_empty()]
    s["find_many"] = base + cat(find_many(probe), find_many(probe[::-1], True), find_many([]),
                                remove(k4("a")), find_many(probe[:9]), clear(0), find_many(probe[:3]))
    s["find_many_deep"] = cat(bulk_insert(k4("ab"), 0, 256), bulk_insert(long_key(90, 1, 30), 0, 20, 1),
                              find_many([k4("ab"), raw("ab\x10"), raw("ab\xff"), long_key(90, 1, 30, 1),
                                         stored(7), stored(300), stored(12, 3, 4), stored(40, 2, 0, ext=(1, 2))] * 2))
    s["visit_values"] = base + cat(visit(), visit(0), visit(5), bulk_insert(k4("b"), 0, 256), visit(),
                                   visit(200), fail_all(visit()), remove_prefix(k4("b"), 0x01) + visit(),
                                   clear(0x02) + visit() + insert(k4("ab")) + visit(), visit())
    chain8b = "ab" * 15
    s["visit_deep"] = cat(*[insert(k8(chain8b[:n])) for n in range(0, 31, 1)], visit(), visit(17),
                          *[remove(k8(chain8b[:n])) for n in range(1, 31, 3)], visit(),
                          insert(long_key(255, 3, 1)), visit())
    s["tree_new_fails"] = bytes([0xA7]) + cat(k4("a"), insert(k4("ab")), verify(0))
    s["system_allocator"] = bytes([0xA8]) + cat(k4("a"), base, bulk_insert(k4("a"), 0, 60), seek(0, FIRST, k_empty()),
                                               next_(0, 4), remove_prefix(k4("a"), 0x01) + insert(k4("b")), clear(0))
    s["set_prefix_then_seek"] = base + cat(set_prefix(0, k4("a")), seek(0, FIRST, k_empty()), next_(0, 2),
                                          set_prefix(0, k4("b")), seek(0, LAST, k_empty()), next_(0, 3),
                                          set_prefix(0, k_null()), seek(0, GE, k4("a\x00")), next_(0, 3))
    s["stored_key_variants"] = base + cat(
        insert(stored(3, 2, 0, ext=(1, 0))), insert(stored(5, 2, 4, ext=(2, 3))), insert(stored(7, 3, 4)),
        insert(stored(2, 3, 8 | 16, arg=1)), count(stored(4, 1, 0, arg=2)), count(stored(6, 1, 4 | 8)),
        remove_prefix(stored(9, 1, 4), 0x01) + find(stored(1)), verify(1))
    dirs = ["a", "aa", "aab", "aaba", "aabb", "ab", "aba", "abab", "abb", "abba", "b", "ba", "bab", "bb",
            "\xff", "\xff\xff", "\xffb", "\xffb\xff"]
    dbase = cat(*[insert(k4(w)) for w in dirs])
    B = ord("b")
    s["skip_groups"] = dbase + cat(
        seek(0, FIRST, k_empty()), next_(0, 2), skip(0, cut=2), next_(0), skip(0, cut=2), next_(0, 2),
        skip(0, cut=1), next_(0, 2), skip(0, k4("\xff")), next_(0),
        seek(1, LAST, k_empty()), next_(1), skip(1, cut=1), next_(1), skip(1, cut=1), insert(k4("baa")),
        next_(1), skip(1, cut=2), insert(k4("ab\x00")), next_(1, 4, True),
        set_prefix(0, k4("a")), seek(0, GE, k4("ab")), next_(0), skip(0, cut=2), remove(k4("abb")),
        next_(0, 3, True), skip(1, k4("")), next_(1), skip(0, k4("\xff")), next_(0, 2, True))
    s["range_delimiter"] = dbase + cat(
        range_(k_empty()), range_(k_empty(), delim=B), range_(k_empty(), backward=True, delim=B),
        range_(k4("a"), delim=B), range_(k4("a"), start=k4("aab"), stop=k4("abb"), delim=B),
        range_(k4("a"), start=k4("aab"), stop=k4("abb"), backward=True, delim=B),
        range_(k_empty(), start=k4("ab"), stop=k4("ba")), range_(k_empty(), start=k4("ab"), backward=True),
        range_(k_empty(), stop=k4("\xff"), backward=True, delim=0xFF), range_(k_empty(), delim=0xFF),
        range_(k4("b"), start=k4("a"), stop=k4("\xff")), range_(k4("ab"), start=k4("b"), stop=k4("a")),
        arm(3), range_(k_empty(), delim=B), arm(1), range_(k4("a"), backward=True, delim=B),
        bulk_insert(k4("ab"), 0, 200, 1), range_(k4("ab"), delim=0x05), range_(k4("ab"), backward=True, delim=0x05))
    s["range_delimiter_step"] = dbase + cat(
        range_(k_empty(), delim=B, step=True), range_(k_empty(), backward=True, delim=B, step=True),
        range_(k4("a"), delim=B, step=True), range_(k4("a"), start=k4("aab"), stop=k4("abb"), delim=B, step=True),
        range_(k4("a"), start=k4("aab"), stop=k4("abb"), backward=True, delim=B, step=True),
        range_(k_empty(), stop=k4("\xff"), backward=True, delim=0xFF, step=True),
        arm(2), range_(k_empty(), delim=B, step=True), arm(0), range_(k4("a"), backward=True, delim=B, step=True),
        bulk_insert(k4("ab"), 0, 200, 1), range_(k4("ab"), delim=0x05, step=True),
        range_(k4("ab"), start=k4("ab\x00"), backward=True, delim=0x05, step=True))
    s["iter_delimiter"] = dbase + cat(
        set_delimiter(0, k4("b"), 1), seek(0, FIRST, k_empty()), next_(0, 6, True),
        set_delimiter(1, k4("b")), seek(1, LAST, k_empty()), next_(1, 3), insert(k4("abba\x00")), next_(1, 3),
        set_prefix(0, k4("a")), seek(0, GE, k4("aba")), next_(0), remove(k4("abab")), next_(0, 3, True),
        set_delimiter(0, k_empty()), next_(0, 2), set_delimiter(0, k4("\xff"), 0), seek(0, LT, k4("b")),
        next_(0, 4, True), arm(1), set_delimiter(1, k4("ab")), seek(1, GE, k4("a")), next_(1, 4, True),
        skip(1, cut=2), next_(1, 2))
    s["rebuild"] = base + cat(rebuild(), seek(0, FIRST, k_empty()), next_(0, 2), insert(k4("ab\x00")),
                              rebuild(order_errors=True), next_(0), rebuild(abort=True),
                              bulk_insert(k4("b"), 0, 256, 1), bulk_insert(k4("a"), 0, 49), rebuild(backward=True),
                              remove_prefix(k4("b"), 0), remove(k4("a")), verify(0), rebuild(), clear(0), rebuild())
    s["rebuild_enomem"] = base + cat(*[arm(n) + rebuild() for n in range(0, 12)],
                                     bulk_insert(k4("a"), 0, 60), arm(5), rebuild(abort=True),
                                     fail_all(rebuild()), insert(long_key(60, 0, 128)), arm(2), rebuild(), verify(1))
    # a few random streams over the whole op set
    rnd = random.Random(20240601)
    for n in range(10):
        ops = []
        for _ in range(rnd.randrange(40, 160)):
            c = rnd.random()
            key = rnd.choice([
                lambda: k4("".join(rnd.choice("ab\x00\xff") for _ in range(rnd.randrange(0, 8)))),
                lambda: k8(bytes(rnd.choice(ALPHA8) for _ in range(rnd.randrange(0, 6)))),
                lambda: stored(rnd.randrange(0, 300), rnd.randrange(4), rnd.randrange(32), rnd.randrange(65536),
                               (rnd.randrange(256), rnd.randrange(256))),
                lambda: long_key(rnd.randrange(0, 80), rnd.randrange(16), rnd.randrange(256), rnd.randrange(31)),
            ])()
            if c < 0.35:
                ops.append(insert(key))
            elif c < 0.5:
                ops.append(remove(key))
            elif c < 0.55:
                ops.append(count(key))
            elif c < 0.6:
                ops.append(longest(key))
            elif c < 0.65:
                ops.append(remove_prefix(key, rnd.choice([0, 1, 0x12, 0x33, 0xC0])))
            elif c < 0.72:
                ops.append(seek(rnd.randrange(2), rnd.randrange(6), key))
            elif c < 0.84:
                ops.append(next_(rnd.randrange(2), rnd.randrange(1, 5)))
            elif c < 0.88:
                ops.append(step_mutate(rnd.randrange(2), rnd.randrange(8), rnd.randrange(1, 3), rnd.randrange(2),
                                       control=rnd.randrange(256)))
            elif c < 0.91:
                ops.append(arm(rnd.randrange(8)))
            elif c < 0.93:
                ops.append(bulk_insert(key, rnd.randrange(256), rnd.randrange(1, 60), rnd.randrange(8)))
            elif c < 0.95:
                ops.append(bulk_remove(key, rnd.randrange(256), rnd.randrange(1, 60), rnd.randrange(8)))
            elif c < 0.97:  # (followed by a seek: a bare set_prefix is a known bug)
                w = rnd.randrange(2)
                ops.append(set_prefix(w, key) + seek(w, rnd.randrange(6), k4("a")))
            else:
                ops.append(verify(rnd.randrange(2)))
        s["random_%02d" % n] = cat(*ops)
    return s


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    total = 0
    for name, data in sorted(seeds().items()):
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
        total += len(data)
    print("%d seeds, %d bytes in %s" % (len(os.listdir(OUT)), total, OUT))


if __name__ == "__main__":
    main()
