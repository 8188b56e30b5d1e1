"""The stub carries the extension's docstrings (editors show the stub's),
and they stay the built module's: see stub_docstrings.py."""

import pytest
import stub_docstrings  # tests/typing/, on sys.path under pytest

from memstore import TrieStore


def _engine_has(option: str) -> bool:
    try:
        TrieStore().keys(**{option: "a"})
    except TypeError:
        return False
    return True


def test_the_stub_documents_every_member_the_built_module_documents():
    undocumented = [
        d.name
        for d in stub_docstrings.docstrings()
        if d.stub is None and d.built is not None
    ]
    assert not undocumented, "give these a docstring in memstore/_core.pyi"


@pytest.mark.skipif(
    not (hasattr(TrieStore, "expire") and _engine_has("delimiter")),
    reason="the built extension predates issue 12 (ttl and listing branches), "
    "whose docstrings the stub already has",
)
def test_the_stub_docstrings_are_the_built_modules():
    differing = [d.name for d in stub_docstrings.differences()]
    assert not differing, (
        "the stub's docstrings differ from the built extension's: run "
        "python tests/typing/stub_docstrings.py --write"
    )
