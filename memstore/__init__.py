"""memstore: an in-memory ``str``-keyed store on an adaptive radix tree.

LangChain's store API (``mget``, ``mset``, ``mdelete``, ``yield_keys`` and
their async twins) plus what a ``dict`` cannot do well: prefix listing in
time proportional to the matches, prefix counts, prefix deletion,
longest-prefix match, and ordered, resumable, reversible listing.

>>> from memstore import TrieStore
>>> store = TrieStore({"user:1": "ada", "user:2": "bob", "team:1": "core"})
>>> list(store.yield_keys(prefix="user:"))
['user:1', 'user:2']
>>> store.count("user:")
2

``python -m memstore`` runs a short demo and a comparison with a dict scan.
"""

from memstore._protocol import PrefixStore
from memstore._store import InMemoryByteStore, InMemoryStore, TrieStore

__all__ = ["InMemoryByteStore", "InMemoryStore", "PrefixStore", "TrieStore"]
__version__ = "0.1.0"
