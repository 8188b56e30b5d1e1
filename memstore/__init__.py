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

import importlib

__all__ = [
    "DirectoryLockedError",
    "InMemoryByteStore",
    "InMemoryStore",
    "PrefixStore",
    "SnapshotError",
    "TrieStore",
]


def _missing_extension_message() -> str:
    """Why ``memstore._core`` is missing and what to do, for the usual case:
    Python found a source checkout (the current directory comes first on
    ``sys.path``) that was installed with a plain ``pip install .``, which
    builds the extension into site-packages, not into the checkout."""
    import importlib.machinery
    import os
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    # A copy of the package that has the extension for this Python, further
    # along sys.path (an installed wheel), hidden by this one.
    installed = None
    for entry in sys.path:
        candidate = os.path.abspath(os.path.join(entry or os.getcwd(), "memstore"))
        if candidate == here:
            continue
        if any(
            os.path.exists(os.path.join(candidate, "_core" + suffix))
            for suffix in importlib.machinery.EXTENSION_SUFFIXES
        ):
            installed = candidate
            break
    lines = [f"memstore's compiled extension memstore._core is missing from {here}."]
    if installed is not None:
        lines += [
            f"Python imported this source tree instead of the installed copy in "
            f"{installed}:",
            "run from another directory to use that one, or build the extension here",
            "(from the directory that holds setup.py) with one of:",
        ]
    else:
        lines += [
            "This is a source tree whose extension was not built here; build it",
            "(from the directory that holds setup.py) with one of:",
        ]
    lines += [
        "    pip install -e .    (editable: builds the extension next to the sources)",
        "    python setup.py build_ext --inplace",
    ]
    return "\n".join(lines)


try:
    importlib.import_module("memstore._core")
except ModuleNotFoundError as missing:
    if missing.name != "memstore._core":
        raise
    # `from None`: the message says all; a chained "No module named" first
    # would be the bare error this replaces.
    raise ImportError(_missing_extension_message(), name="memstore._core") from None

from memstore._protocol import PrefixStore  # noqa: E402
from memstore._store import InMemoryByteStore, InMemoryStore, TrieStore  # noqa: E402
from memstore.persistence import DirectoryLockedError, SnapshotError  # noqa: E402
