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

# The one place the version is written: pyproject.toml reads it from here
# (statically, without importing the package) and the tests check that the
# installed metadata agrees.
__version__ = "0.2.0"

__all__ = ["InMemoryByteStore", "InMemoryStore", "PrefixStore", "TrieStore"]


def _missing_extension_message() -> str:
    """Why ``memstore._core`` is missing and what to do, for the usual case:
    Python found a source checkout (the current directory comes first on
    ``sys.path``) that was installed with a plain ``pip install .``, which
    builds the extension into site-packages, not into the checkout."""
    import os

    here = os.path.dirname(os.path.abspath(__file__))
    lines = [
        f"memstore's compiled extension memstore._core is missing from {here}.",
    ]
    try:
        from importlib.metadata import PackageNotFoundError, distribution

        dist = distribution("memstore-trie")
        installed = os.path.abspath(str(dist.locate_file("memstore")))
    except (ImportError, PackageNotFoundError):
        installed = None
    if installed is not None and installed != here and os.path.isdir(installed):
        lines.append(
            f"Python imported this source tree instead of the installed copy in "
            f"{installed}: run from another directory to use that one,"
        )
        lines.append("or build the extension here:")
    else:
        lines.append(
            "This is a source tree whose extension was not built here; build it"
        )
        lines.append("(from the directory that holds setup.py) with one of:")
    lines.append(
        "    pip install -e .    "
        "(editable: builds the extension next to the sources)"
    )
    lines.append("    python setup.py build_ext --inplace")
    return "\n".join(lines)


try:
    from memstore._core import TrieStoreBase as _TrieStoreBase  # noqa: F401
except ModuleNotFoundError as missing:
    if missing.name != "memstore._core":
        raise
    # `from None`: the message says all; a chained "No module named" first
    # would be the bare error this replaces.
    raise ImportError(_missing_extension_message(), name="memstore._core") from None

from memstore._protocol import PrefixStore  # noqa: E402
from memstore._store import InMemoryByteStore, InMemoryStore, TrieStore  # noqa: E402
