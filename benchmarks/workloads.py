"""Seeded key generators and query sets for the benchmarks (no downloads).

Every generator is deterministic for a given (workload, n): it returns
``n + EXTRA`` distinct keys in a shuffled order.  The first ``n`` are stored,
the last ``EXTRA`` (same distribution, never stored) are the absent keys.

Workloads
---------
chat      ``message:<session uuid>:<n>``; many sessions, 1..200 messages each
paths     ``/<org>/<repo>/<dir>/.../<file>.py``, a deep shared hierarchy
words     English-like words built from syllables, letter-frequency weighted
hex       32 random hex digits: almost no shared prefix (the trie's worst case)
unicode   Cyrillic words, CJK words, emoji and digits mixed
"""

from __future__ import annotations

import bisect
import math
import random
import zlib
from dataclasses import dataclass, field

EXTRA = 1000  # absent keys drawn from the same distribution
QUERY = 1000  # keys per mget / mdelete batch
BATCHES = 100  # distinct mget batches for the cache-cold row
WORKLOADS = ("chat", "paths", "words", "hex", "unicode")
PREFIX_TARGETS = (1, 10, 100, 10_000)


def _rng(workload: str, n: int, salt: str = "") -> random.Random:
    return random.Random(zlib.crc32(f"{workload}/{n}/{salt}".encode()))


# ----------------------------------------------------------------- generators


def _uuid(r: random.Random) -> str:
    return f"{r.getrandbits(32):08x}-{r.getrandbits(16):04x}-4{r.getrandbits(12):03x}-{0x8000 | r.getrandbits(14):04x}-{r.getrandbits(48):012x}"


def gen_chat(r: random.Random, total: int):
    while True:
        sid = _uuid(r)
        for i in range(1, r.randint(1, 200) + 1):
            yield f"message:{sid}:{i}"


_ONSETS = (
    "b bl br c ch cl cr d dr f fl fr g gl gr h j k l m n p pl pr qu r s "
    "sc sh sk sl sm sn sp st str sw t th tr tw v w wh wr y z"
).split() + [""] * 6
_VOWELS = "a a a e e e e i i i o o o u u y ai ea ee ie oa ou oo".split()
_CODAS = (
    "",
    "",
    "",
    "",
    "n",
    "r",
    "s",
    "t",
    "l",
    "m",
    "d",
    "ng",
    "ck",
    "st",
    "nt",
    "rd",
    "ll",
    "ss",
    "sh",
    "ch",
    "rt",
    "nd",
)
_SUFFIXES = (
    "",
    "",
    "",
    "",
    "s",
    "ed",
    "ing",
    "er",
    "ly",
    "ness",
    "tion",
    "able",
    "ment",
    "est",
    "ful",
)


def _syllable(r: random.Random) -> str:
    return r.choice(_ONSETS) + r.choice(_VOWELS) + r.choice(_CODAS)


def gen_words(r: random.Random, total: int):
    # Zipf-ish stems reused with suffixes, so words share real prefixes.
    stems = []
    while True:
        if stems and r.random() < 0.6:
            stem = stems[
                min(int(r.paretovariate(1.1)) - 1, len(stems) - 1)
                if r.random() < 0.5
                else r.randrange(len(stems))
            ]
        else:
            stem = "".join(_syllable(r) for _ in range(r.choice((1, 2, 2, 3, 3, 4))))
            stems.append(stem)
        yield stem + r.choice(_SUFFIXES) + (_syllable(r) if r.random() < 0.5 else "")


_DIRS = (
    "src lib core utils api models views tests internal cmd pkg server client "
    "common config db handlers services schemas plugins tools scripts docs "
    "migrations templates static io net auth cache storage"
).split()


def gen_paths(r: random.Random, total: int):
    n_orgs = max(4, round(total**0.33 / 2))
    orgs = [
        "".join(_syllable(r) for _ in range(2)) + r.choice(("", "-labs", "-io", "hq"))
        for _ in range(n_orgs)
    ]
    repos: dict[str, list[str]] = {}
    while True:
        org = orgs[min(int(r.paretovariate(0.9)) - 1, n_orgs - 1)]
        pool = repos.setdefault(org, [])
        if not pool or r.random() < 0.02:
            pool.append(
                "".join(_syllable(r) for _ in range(r.randint(1, 3)))
                + r.choice(("", "-py", "-core", "-api", "_sdk"))
            )
        repo = r.choice(pool)
        depth = r.choice((1, 2, 2, 3, 3, 4, 5))
        dirs = "/".join(r.choice(_DIRS) for _ in range(depth))
        fname = "_".join(_syllable(r) for _ in range(r.randint(1, 3)))
        yield f"/{org}/{repo}/{dirs}/{fname}.py"


def gen_hex(r: random.Random, total: int):
    while True:
        yield f"{r.getrandbits(128):032x}"


_CYR = "абвгдеёжзийклмнопрстуфхцчшщъыьэюя"
_CJK = [chr(c) for c in range(0x4E00, 0x4E00 + 3000)]
_EMOJI = [chr(c) for c in range(0x1F600, 0x1F650)] + [
    chr(c) for c in range(0x1F300, 0x1F340)
]


def gen_unicode(r: random.Random, total: int):
    cyr = ["".join(r.choice(_CYR) for _ in range(r.randint(3, 9))) for _ in range(300)]
    cjk = ["".join(r.choice(_CJK) for _ in range(r.randint(2, 4))) for _ in range(3000)]
    while True:
        a = cyr[min(int(r.paretovariate(1.0)) - 1, len(cyr) - 1)]
        b = r.choice(cjk)
        e = "".join(r.choice(_EMOJI) for _ in range(r.randint(1, 2)))
        yield f"{a}/{b}/{e}{r.randrange(1000)}"


GENERATORS = {
    "chat": gen_chat,
    "paths": gen_paths,
    "words": gen_words,
    "hex": gen_hex,
    "unicode": gen_unicode,
}


def generate(workload: str, n: int) -> list[str]:
    """n + EXTRA distinct keys, deterministic, shuffled."""
    total = n + EXTRA
    r = _rng(workload, n)
    seen: set[str] = set()
    out: list[str] = []
    add = seen.add
    for k in GENERATORS[workload](r, total):
        if k not in seen:
            add(k)
            out.append(k)
            if len(out) == total:
                break
    r.shuffle(out)
    return out


# ------------------------------------------------------------------- prefixes


def prefix_upper(p: str):
    """Smallest string greater than every string starting with p (None: +inf)."""
    while p and p[-1] == "\U0010ffff":
        p = p[:-1]
    if not p:
        return None
    return p[:-1] + chr(ord(p[-1]) + 1)


def count_sorted(sorted_keys: list[str], p: str) -> int:
    lo = bisect.bisect_left(sorted_keys, p)
    hi_key = prefix_upper(p)
    hi = len(sorted_keys) if hi_key is None else bisect.bisect_left(sorted_keys, hi_key)
    return hi - lo


def pick_prefix(
    sorted_keys: list[str], target: int, r: random.Random, samples: int = 300
) -> tuple[str, int]:
    """A prefix of a stored key whose match count is close to target.

    Among prefixes within 25% of the target, one that ends at a separator
    (``:`` or ``/``: a whole session, a whole directory) is preferred, then
    the shortest; otherwise the closest on a log scale."""
    best = None
    n = len(sorted_keys)
    tol = math.log(1.25)
    for _ in range(samples):
        k = sorted_keys[r.randrange(n)]
        for L in range(1, len(k) + 1):
            p = k[:L]
            c = count_sorted(sorted_keys, p)
            d = abs(math.log(c / target))
            score = (0, p[-1] not in ":/", L) if d <= tol else (1, d, L)
            if best is None or score < best[0]:
                best = (score, p, c)
            if c < target / 4:
                break
    return best[1], best[2]


def pick_nomatch(sorted_keys: list[str], alphabet: str, r: random.Random) -> str:
    """A prefix that matches nothing, made of the workload's own characters and
    sharing a stored key's leading part (so lookups go some way down)."""
    for _ in range(1000):
        k = sorted_keys[r.randrange(len(sorted_keys))]
        L = r.randrange(len(k) // 2, len(k))
        for c in alphabet:
            p = k[:L] + c
            if count_sorted(sorted_keys, p) == 0:
                return p
    raise RuntimeError("no non-matching prefix found")


# -------------------------------------------------------------------- dataset


def fresh(s: str) -> str:
    """An equal str that is a distinct object with no cached hash."""
    return (s + "\x00")[:-1]


@dataclass
class Dataset:
    workload: str
    n: int
    keys: list[str]  # the n stored keys, insertion order
    absent: list[str]  # EXTRA keys never stored
    values: list  # one distinct object per stored key
    pairs: list  # list(zip(keys, values))
    sorted_keys: list[str]
    alphabet: str
    present_q: list[str]  # QUERY present keys, fresh str copies
    absent_q: list[str]  # QUERY absent keys, fresh str copies
    delete_pairs: list  # QUERY stored (key copy, its value) pairs
    absent_pairs: list  # QUERY (absent key, new value) pairs
    batches: list = field(default_factory=list)  # BATCHES lists of QUERY present keys
    prefixes: dict = field(default_factory=dict)  # label -> (prefix, count)

    @property
    def delete_q(self):
        return [k for k, _ in self.delete_pairs]


def make_dataset(workload: str, n: int) -> Dataset:
    allk = generate(workload, n)
    keys, absent = allk[:n], allk[n:]
    values = [object() for _ in range(n)]
    sk = sorted(keys)
    alphabet = "".join(sorted(set("".join(allk))))
    r = _rng(workload, n, "queries")
    q = min(QUERY, n)
    present = r.sample(range(n), q)
    delete = r.sample(range(n), q)
    ds = Dataset(
        workload,
        n,
        keys,
        absent,
        values,
        list(zip(keys, values)),
        sk,
        alphabet,
        present_q=[fresh(keys[i]) for i in present],
        absent_q=[fresh(k) for k in absent[:q]],
        delete_pairs=[(fresh(keys[i]), values[i]) for i in delete],
        absent_pairs=[(fresh(k), object()) for k in absent[:q]],
    )
    ds.batches = [
        [fresh(keys[i]) for i in r.sample(range(n), q)] for _ in range(BATCHES)
    ]
    for t in PREFIX_TARGETS:
        if t > n:
            continue
        ds.prefixes[f"~{t:,}"] = pick_prefix(sk, t, r)
    ds.prefixes["none"] = (pick_nomatch(sk, alphabet, r), 0)
    return ds


def iter_keys_file(path: str):
    with open(path, encoding="utf-8", newline="\n") as f:
        for line in f:
            yield line[:-1]
