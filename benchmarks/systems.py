"""The systems under comparison, behind one small adapter each.

An adapter builds a store from a list of ``(key, value)`` pairs and gives,
for every operation, the Python source the benchmark times (an expression
for the read-only operations, whose result is also what gets checked against
the dict's, a statement for the writes).  The timed source is what a user of
that library would write; names it may use:

    h      the store built by ``build``
    q      a list of keys (mget / mdelete)
    pairs  a list of (key, value) pairs (mset)
    p      a prefix; lo/hi its range (lo == p, hi = first string above it)

A system that cannot hold a workload (datrie's alphabet) says why in
``unsupported``; a system whose library is missing is skipped with the
import error.
"""

from __future__ import annotations

import importlib
from operator import itemgetter

# Operations every adapter provides.  The read-only ones return a value that
# is compared with the dict's answer.
READ_OPS = ("mget", "yield", "count", "list")
WRITE_OPS = ("mset", "mdelete")
ASYNC_OPS = ("amget", "amset", "ayield")


class System:
    name = "?"
    module = None  # import needed, for the "missing" message
    attr = None  # and a name it must define
    ordered = True  # yield_keys comes out in code-point order
    has_async = False
    static = False  # every write rebuilds the whole structure
    exprs: dict = {}

    def __init__(self):
        self.error = None
        if self.module:
            try:
                mod = importlib.import_module(self.module)
                if self.attr:
                    getattr(mod, self.attr)
            except Exception as e:  # noqa: BLE001 -- any import failure skips
                self.error = f"{self.module} not importable: {e!r}"

    def unsupported(self, ds):
        """A reason this system cannot run the dataset, or None."""
        return None

    def prepare(self, ds):
        """Per-dataset setup (datrie's alphabet)."""

    def build(self, pairs):
        raise NotImplementedError

    def build_stream(self, chunks):
        """Build from an iterator of lists of pairs (memory probe); by default
        one mset per chunk, so each chunk's key strings can be freed before
        the next one is read."""
        raise NotImplementedError

    def namespace(self):
        return {}

    def __len__(self):
        return 0


# ------------------------------------------------------------------ helpers


def _pop_all(h, q):
    pop = h.pop
    for k in q:
        pop(k, None)


# --------------------------------------------------------------------- dict


class DictScan(System):
    """The baseline: a plain dict; prefix queries scan every key."""

    name = "dict"
    ordered = False
    exprs = {
        "mget": "list(map(h.get, q))",
        "yield": "[k for k in h if k.startswith(p)]",
        "count": "sum(1 for k in h if k.startswith(p))",
        "list": "sorted(h)",
        "mset": "h.update(pairs)",
        "mdelete": "_pop_all(h, q)",
    }

    def build(self, pairs):
        return dict(pairs)

    def build_stream(self, chunks):
        d = {}
        for c in chunks:
            d.update(c)
        return d

    def namespace(self):
        return {"_pop_all": _pop_all}


# ------------------------------------------------------ langchain InMemoryStore


class LangChain(System):
    name = "InMemoryStore"
    module = "langchain_core.stores"
    ordered = False
    has_async = True
    exprs = {
        "mget": "h.mget(q)",
        "yield": "list(h.yield_keys(prefix=p))",
        "count": "sum(1 for _ in h.yield_keys(prefix=p))",
        "list": "sorted(h.yield_keys())",
        "mset": "h.mset(pairs)",
        "mdelete": "h.mdelete(q)",
        "amget": "await h.amget(q)",
        "amset": "await h.amset(pairs)",
        "ayield": "[k async for k in h.ayield_keys(prefix=p)]",
    }

    def build(self, pairs):
        from langchain_core.stores import InMemoryStore

        s = InMemoryStore()
        s.mset(pairs)
        return s

    def build_stream(self, chunks):
        from langchain_core.stores import InMemoryStore

        s = InMemoryStore()
        for c in chunks:
            s.mset(c)
        return s


# --------------------------------------------------------------- SortedDict


class Sorted(System):
    """sortedcontainers.SortedDict: a dict plus a sorted key list; prefix
    listing is irange over [p, hi), count two bisects."""

    name = "SortedDict"
    module = "sortedcontainers"
    exprs = {
        "mget": "list(map(h.get, q))",
        "yield": "list(h.irange(lo, hi, inclusive=(True, False)))",
        "count": "h.bisect_left(hi) - h.bisect_left(lo)",
        "list": "list(h)",
        "mset": "h.update(pairs)",
        "mdelete": "_pop_all(h, q)",
    }

    def build(self, pairs):
        from sortedcontainers import SortedDict

        return SortedDict(pairs)

    def build_stream(self, chunks):
        from sortedcontainers import SortedDict

        d = SortedDict()
        for c in chunks:
            d.update(c)
        return d

    def namespace(self):
        return {"_pop_all": _pop_all}


# -------------------------------------------------------------- marisa-trie


class MarisaStore:
    """marisa_trie.Trie maps each key to an id; values live in a list by id.
    The trie is static: every write rebuilds it from all current items."""

    __slots__ = ("t", "vals")

    def __init__(self, items):
        import marisa_trie

        items = dict(items)
        t = marisa_trie.Trie(items)  # iterates the keys
        vals = [None] * len(t)
        for k, i in t.iteritems():
            vals[i] = items[k]
        self.t, self.vals = t, vals

    def items(self):
        vals = self.vals
        return ((k, vals[i]) for k, i in self.t.iteritems())

    def mget(self, q):
        get, vals = self.t.get, self.vals
        return [None if (i := get(k)) is None else vals[i] for k in q]

    def mset(self, pairs):
        d = dict(self.items())
        d.update(pairs)
        self.__init__(d)

    def mdelete(self, q):
        d = dict(self.items())
        for k in q:
            d.pop(k, None)
        self.__init__(d)


class Marisa(System):
    name = "marisa-trie"
    module = "marisa_trie"
    ordered = False
    static = True
    exprs = {
        "mget": "h.mget(q)",
        "yield": "h.t.keys(p)",
        "count": "len(h.t.keys(p))",
        "list": "sorted(h.t.keys())",
        "mset": "h.mset(pairs)",
        "mdelete": "h.mdelete(q)",
    }

    def build(self, pairs):
        return MarisaStore(pairs)

    def build_stream(self, chunks):
        # static: the whole key set is needed at once; values list by id
        import marisa_trie

        value = None

        def keys():
            nonlocal value
            for c in chunks:
                for k, v in c:
                    value = v
                    yield k

        s = MarisaStore.__new__(MarisaStore)
        s.t = marisa_trie.Trie(keys())
        s.vals = [value] * len(s.t)
        return s


# ------------------------------------------------------------------- datrie


class Datrie(System):
    """datrie.Trie (libdatrie double-array trie).  Its alphabet must be
    declared up front and holds at most 255 characters.  Random-order
    insertion is superlinear in libdatrie, so its batch insert sorts the
    batch first (that sort is counted)."""

    name = "datrie"
    module = "datrie"
    exprs = {
        "mget": "list(map(h.get, q))",
        "yield": "h.keys(p)",
        "count": "len(h.keys(p))",
        "list": "h.keys()",
        "mset": "_dt_set(h, pairs)",
        "mdelete": "_dt_del(h, q)",
    }
    MAX_ALPHABET = 255

    def unsupported(self, ds):
        if len(ds.alphabet) > self.MAX_ALPHABET:
            return (
                f"alphabet of {len(ds.alphabet)} characters; libdatrie "
                f"holds at most {self.MAX_ALPHABET} (it corrupts or "
                f"crashes beyond)"
            )
        return None

    def prepare(self, ds):
        self.alphabet = ds.alphabet

    def build(self, pairs):
        import datrie

        t = datrie.Trie(self.alphabet)
        _dt_set(t, pairs)
        return t

    def build_stream(self, chunks):
        import datrie

        t = datrie.Trie(self.alphabet)
        for c in chunks:
            _dt_set(t, c)
        return t

    def namespace(self):
        return {"_dt_set": _dt_set, "_dt_del": _dt_del}


def _dt_set(t, pairs):
    for k, v in sorted(pairs, key=itemgetter(0)):
        t[k] = v


def _dt_del(t, q):
    for k in q:
        if k in t:
            del t[k]


# ------------------------------------------------------------------ pygtrie


def _pyg_keys(t, p):
    try:
        return list(t.iterkeys(prefix=p))
    except KeyError:
        return []


def _pyg_count(t, p):
    try:
        return sum(1 for _ in t.iterkeys(prefix=p))
    except KeyError:
        return 0


class Pygtrie(System):
    """pygtrie.CharTrie, one Python node per character; sorting enabled so
    it lists in order like memstore."""

    name = "pygtrie"
    module = "pygtrie"
    exprs = {
        "mget": "list(map(h.get, q))",
        "yield": "_pyg_keys(h, p)",
        "count": "_pyg_count(h, p)",
        "list": "list(h.iterkeys())",
        "mset": "h.update(pairs)",
        "mdelete": "_pop_all(h, q)",
    }

    def build(self, pairs):
        import pygtrie

        t = pygtrie.CharTrie()
        t.enable_sorting(True)
        t.update(pairs)
        return t

    def build_stream(self, chunks):
        import pygtrie

        t = pygtrie.CharTrie()
        t.enable_sorting(True)
        for c in chunks:
            t.update(c)
        return t

    def namespace(self):
        return {"_pyg_keys": _pyg_keys, "_pyg_count": _pyg_count, "_pop_all": _pop_all}


# ----------------------------------------------------------------- memstore


class Memstore(System):
    name = "memstore"
    module = "memstore"
    attr = "TrieStore"
    has_async = True
    exprs = {
        "mget": "h.mget(q)",
        "yield": "list(h.yield_keys(prefix=p))",
        "count": "h.count(p)",
        "list": "list(h.yield_keys())",
        "mset": "h.mset(pairs)",
        "mdelete": "h.mdelete(q)",
        "amget": "await h.amget(q)",
        "amset": "await h.amset(pairs)",
        "ayield": "[k async for k in h.ayield_keys(prefix=p)]",
    }

    def build(self, pairs):
        from memstore import TrieStore

        s = TrieStore()
        s.mset(pairs)
        return s

    def build_stream(self, chunks):
        from memstore import TrieStore

        s = TrieStore()
        for c in chunks:
            s.mset(c)
        return s


ALL = (DictScan, LangChain, Sorted, Marisa, Datrie, Pygtrie, Memstore)
NAMES = tuple(c.name for c in ALL)
PEERS = tuple(n for n in NAMES if n not in ("dict", "memstore"))


def make(names=None):
    out = []
    for cls in ALL:
        if names is None or cls.name in names:
            out.append(cls())
    return out
