"""memstore.langchain: the stores are LangChain BaseStores, and work as one.

* type identity: ``isinstance(store, BaseStore)``, pydantic fields typed
  ``BaseStore[str, X]`` / ``ByteStore`` accept the stores, the methods are
  memstore's own (nothing wrapped), LangChain's signatures and async kinds;
* real use: the byte cache of ``CacheBackedEmbeddings`` (cache hits skip the
  embedding model) and the docstore of a ``MultiVectorRetriever`` (retrieved
  documents are the ones held in the memstore docstore);
* the core package does not need LangChain;
* the README's "Use with LangChain" snippets run.

Skipped as a whole when LangChain is not installed.
"""

from __future__ import annotations

import asyncio
import collections.abc as cabc
import copy
import importlib
import inspect
import json
import os
import pickle
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

# Skipped without LangChain; MEMSTORE_REQUIRE_LANGCHAIN=1 (for CI) turns a
# missing package into an error instead, so the suite cannot skip silently.
for _module, _why in [
    ("langchain_core", "needs the langchain extra"),
    ("langchain_classic", "needs langchain-classic"),
    ("numpy", "the fake embedding model needs numpy"),
]:
    if os.environ.get("MEMSTORE_REQUIRE_LANGCHAIN"):
        importlib.import_module(_module)
    else:
        pytest.importorskip(_module, reason=_why)

import pydantic  # noqa: E402
from langchain_classic.embeddings import CacheBackedEmbeddings  # noqa: E402
from langchain_classic.retrievers.multi_vector import MultiVectorRetriever  # noqa: E402
from langchain_core.documents import Document  # noqa: E402
from langchain_core.embeddings import DeterministicFakeEmbedding, Embeddings  # noqa: E402
from langchain_core.stores import BaseStore, ByteStore  # noqa: E402
from langchain_core.stores import InMemoryStore as LCInMemoryStore  # noqa: E402
from langchain_core.vectorstores import InMemoryVectorStore  # noqa: E402

import memstore  # noqa: E402
from memstore.langchain import InMemoryByteStore, InMemoryStore  # noqa: E402

BOTH = [InMemoryStore, InMemoryByteStore]
CORE = {
    InMemoryStore: memstore.TrieStore,
    InMemoryByteStore: memstore.InMemoryByteStore,
}
METHODS = [
    "mget",
    "mset",
    "mdelete",
    "yield_keys",
    "amget",
    "amset",
    "amdelete",
    "ayield_keys",
]


def run(coro):
    return asyncio.run(coro)


async def collect(ait):
    return [k async for k in ait]


# ================================================================ identity


@pytest.mark.parametrize("cls", BOTH)
def test_is_a_langchain_base_store(cls):
    store = cls()
    assert isinstance(store, BaseStore)
    assert issubclass(cls, BaseStore)
    assert BaseStore in cls.__mro__  # real inheritance, not ABC registration
    assert isinstance(store, CORE[cls])
    assert isinstance(store, memstore.TrieStore)
    assert not cls.__abstractmethods__


@pytest.mark.parametrize("cls", BOTH)
def test_methods_are_memstores_own(cls):
    """No wrapper: LangChain's class resolves every store method straight to
    the memstore implementation, ahead of BaseStore's thread-pool defaults."""
    for name in METHODS:
        assert getattr(cls, name) is getattr(CORE[cls], name), name
    for name in ["amget", "amset", "amdelete", "ayield_keys"]:
        assert getattr(cls, name) is not getattr(BaseStore, name), name


def test_generic_alias_builds_the_store():
    store = InMemoryStore[Document]()
    assert type(store) is InMemoryStore
    store.mset([("d", Document(page_content="x"))])
    assert store.mget(["d"]) == [Document(page_content="x")]


def test_byte_store_matches_bytestore_alias():
    # ByteStore is the alias BaseStore[str, bytes]; isinstance checks use its origin.
    assert ByteStore.__origin__ is BaseStore
    assert isinstance(InMemoryByteStore(), ByteStore.__origin__)


def test_constructor_takes_no_arguments_like_langchain_and_items_like_memstore():
    assert len(InMemoryStore()) == 0
    assert len(InMemoryByteStore()) == 0
    s = InMemoryStore([("b", 1), ("a", 2)])
    assert list(s.yield_keys()) == ["a", "b"]
    b = InMemoryByteStore({"k": b"v"})
    assert b.mget(["k"]) == [b"v"]


# ========================================================= pydantic fields


class Holder(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(arbitrary_types_allowed=True)

    docstore: BaseStore[str, Document]
    byte_store: ByteStore | None = None


def test_pydantic_fields_accept_the_stores():
    docs = InMemoryStore[Document]()
    raw = InMemoryByteStore()
    h = Holder(docstore=docs, byte_store=raw)
    assert h.docstore is docs
    assert h.byte_store is raw
    # pydantic's check for an arbitrary generic type is isinstance(value, BaseStore):
    # the plain core store is not a BaseStore, which is why memstore.langchain exists.
    with pytest.raises(pydantic.ValidationError):
        Holder(docstore=memstore.TrieStore())
    with pytest.raises(pydantic.ValidationError):
        Holder(docstore=docs, byte_store=memstore.InMemoryByteStore())


# ============================================================== signatures


@pytest.mark.parametrize("cls", BOTH)
def test_langchain_keyword_names(cls):
    """BaseStore's parameter names work as keywords: mget(keys=...),
    mset(key_value_pairs=...), mdelete(keys=...), yield_keys(prefix=...)."""
    s = cls()
    assert s.mset(key_value_pairs=[("a", b"1"), ("ab", b"2"), ("b", b"3")]) is None
    assert s.mget(keys=["a", "zz"]) == [b"1", None]
    assert list(s.yield_keys(prefix="a")) == ["a", "ab"]
    assert list(s.yield_keys(prefix=None)) == ["a", "ab", "b"]
    assert s.mdelete(keys=["a"]) is None
    assert list(s.yield_keys()) == ["ab", "b"]

    async def main():
        await s.amset(key_value_pairs=[("c", b"4")])
        got = await s.amget(keys=["c", "b"])
        await s.amdelete(keys=["c"])
        return (
            got,
            await collect(s.ayield_keys(prefix="a")),
            await collect(s.ayield_keys()),
        )

    assert run(main()) == ([b"4", b"3"], ["ab"], ["ab", "b"])


@pytest.mark.parametrize("cls", BOTH)
def test_prefix_is_keyword_only(cls):
    s = cls()
    with pytest.raises(TypeError):
        s.yield_keys("a")
    with pytest.raises(TypeError):
        s.ayield_keys("a")


def _params(func):
    try:
        return inspect.signature(func).parameters
    except (TypeError, ValueError):  # pragma: no cover - no introspectable signature
        pytest.skip(f"{func!r} has no introspectable signature")


@pytest.mark.parametrize("cls", BOTH)
@pytest.mark.parametrize("name", METHODS)
def test_signature_accepts_every_basestore_parameter(cls, name):
    """Where a signature is introspectable, each of BaseStore's parameters is
    there with the same name and kind; anything extra is optional."""
    ours = _params(getattr(cls, name))
    theirs = inspect.signature(getattr(BaseStore, name)).parameters
    for pname, p in theirs.items():
        assert pname in ours, (name, pname)
        assert ours[pname].kind == p.kind, (name, pname)
        assert (ours[pname].default is inspect.Parameter.empty) == (
            p.default is inspect.Parameter.empty
        ), (name, pname)
    for pname, p in ours.items():
        if pname not in theirs:
            assert p.default is not inspect.Parameter.empty or p.kind in (
                p.VAR_POSITIONAL,
                p.VAR_KEYWORD,
            ), (name, pname)


@pytest.mark.parametrize("cls", BOTH)
def test_async_kinds(cls):
    s = cls()
    for name in ["amget", "amset", "amdelete"]:
        assert inspect.iscoroutinefunction(getattr(s, name)), name
    ait = s.ayield_keys()
    assert isinstance(ait, cabc.AsyncIterator)
    assert isinstance(
        ait, cabc.AsyncGenerator
    )  # what LangChain's standard suite asserts
    run(collect(ait))
    assert isinstance(s.yield_keys(), cabc.Generator)


# ======================================================== store behaviour


def test_keys_are_sorted_and_prefix_listing_is_exact():
    s = InMemoryStore()
    keys = ["doc:10", "doc:2", "doc:1", "do", "doc", "img:1", "", "doc:1:chunk:0"]
    s.mset([(k, k.upper()) for k in keys])
    assert list(s.yield_keys()) == sorted(keys)  # code-point order: "0" < ":"
    assert list(s.yield_keys(prefix="doc:")) == [
        "doc:1",
        "doc:10",
        "doc:1:chunk:0",
        "doc:2",
    ]
    assert list(s.yield_keys(prefix="")) == sorted(keys)
    assert list(s.yield_keys(prefix="zzz")) == []
    assert run(collect(s.ayield_keys(prefix="doc:1"))) == [
        "doc:1",
        "doc:10",
        "doc:1:chunk:0",
    ]


def test_memstore_extras_through_the_langchain_class():
    s = InMemoryStore()
    s.mset([(f"user:{i:03d}", i) for i in range(20)] + [("admin:1", -1)])
    assert s.count("user:") == 20
    page = list(s.yield_keys(prefix="user:", start_after="user:004", limit=3))
    assert page == ["user:005", "user:006", "user:007"]
    assert list(s.yield_keys(prefix="user:", reverse=True, limit=2)) == [
        "user:019",
        "user:018",
    ]
    assert s.longest_prefix("user:003:avatar") == ("user:003", 3)
    assert s.delete_prefix("user:") == 20
    assert list(s.yield_keys()) == ["admin:1"]


def test_same_answers_as_langchain_in_memory_store():
    ours, theirs = InMemoryStore(), LCInMemoryStore()
    ops = [
        ("mset", [("b", 1), ("a", 2), ("b", 3), ("ab", None)]),
        ("mdelete", ["a", "missing"]),
        ("mset", [("a", [1]), ("", "empty")]),
        ("mdelete", []),
    ]
    for op, arg in ops:
        assert getattr(ours, op)(arg) == getattr(theirs, op)(arg)
        probe = ["", "a", "ab", "b", "missing"]
        assert ours.mget(probe) == theirs.mget(probe)
        for prefix in [None, "", "a", "b", "x"]:
            assert list(ours.yield_keys(prefix=prefix)) == sorted(
                theirs.yield_keys(prefix=prefix)
            )


@pytest.mark.parametrize("cls", BOTH)
def test_key_validation(cls):
    """Any str is a key; a non-str key is a TypeError and the batch changes nothing."""
    s = cls()
    weird = ["", "\x00", "a/b\\c", "..", "x" * 10_000, "\U0001f600", "\ud800"]
    s.mset([(k, b"v") for k in weird])
    assert s.mget(weird) == [b"v"] * len(weird)
    before = list(s.yield_keys())
    for bad in [1, None, b"bytes", ("t",)]:
        with pytest.raises(TypeError):
            s.mset([("fine", b"v"), (bad, b"v")])
        with pytest.raises(TypeError):
            s.mget(["fine", bad])
        with pytest.raises(TypeError):
            s.mdelete([weird[0], bad])
        with pytest.raises(TypeError):
            run(s.amset([("fine", b"v"), (bad, b"v")]))
    assert list(s.yield_keys()) == before


def test_byte_store_takes_only_bytes():
    s = InMemoryByteStore()
    s.mset([("a", b"1")])
    for bad in ["str", 1, None, bytearray(b"x"), [1.0]]:
        with pytest.raises(TypeError):
            s.mset([("b", b"2"), ("c", bad)])
    assert list(s.yield_keys()) == ["a"]
    assert s.mget(["a", "b", "c"]) == [b"1", None, None]


@pytest.mark.parametrize("cls", BOTH)
def test_copy_and_pickle_keep_the_langchain_class(cls):
    s = cls([("k2", b"v2"), ("k1", b"v1")])
    for clone in [
        s.copy(),
        copy.copy(s),
        pickle.loads(pickle.dumps(s)),
        copy.deepcopy(s),
    ]:
        assert type(clone) is cls
        assert isinstance(clone, BaseStore)
        assert clone is not s
        assert list(clone.yield_keys()) == ["k1", "k2"]
        assert clone.mget(["k1", "k2"]) == [b"v1", b"v2"]
        clone.mset([("k3", b"v3")])
        assert s.mget(["k3"]) == [None]


# ================================================ CacheBackedEmbeddings


class CountingEmbeddings(Embeddings):
    """A deterministic fake model that records every text it embeds."""

    def __init__(self, size: int = 8) -> None:
        self.model = DeterministicFakeEmbedding(size=size)
        self.embedded: list[str] = []

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.embedded.extend(texts)
        return [[float(x) for x in v] for v in self.model.embed_documents(texts)]

    def embed_query(self, text: str) -> list[float]:
        self.embedded.append(text)
        return [float(x) for x in self.model.embed_query(text)]


def test_cache_backed_embeddings_uses_the_byte_store_as_cache():
    model = CountingEmbeddings()
    cache = InMemoryByteStore()
    embedder = CacheBackedEmbeddings.from_bytes_store(
        model, cache, namespace="fake-8:", key_encoder="sha256"
    )

    first = embedder.embed_documents(["hello", "world"])
    assert model.embedded == ["hello", "world"]
    assert first == model.model.embed_documents(["hello", "world"])
    assert cache.count("fake-8:") == 2

    # Cache hits do not reach the model; only the new text is embedded.
    again = embedder.embed_documents(["world", "new text", "hello"])
    assert model.embedded == ["hello", "world", "new text"]
    assert again == [first[1], model.model.embed_query("new text"), first[0]]

    # The cache holds the JSON vectors as bytes, keyed by namespace + hash.
    keys = list(cache.yield_keys(prefix="fake-8:"))
    assert len(keys) == 3 and keys == sorted(keys)
    assert all(re.fullmatch(r"fake-8:[0-9a-f]{64}", k) for k in keys)
    for value in cache.mget(keys):
        assert isinstance(value, bytes)
        assert len(json.loads(value)) == 8

    # Nothing re-embedded on a fully cached batch.
    embedder.embed_documents(["new text", "hello", "world"])
    assert len(model.embedded) == 3


def test_cache_backed_embeddings_namespaces_share_one_store():
    cache = InMemoryByteStore()
    small, big = CountingEmbeddings(4), CountingEmbeddings(16)
    e_small = CacheBackedEmbeddings.from_bytes_store(
        small, cache, namespace="small:", key_encoder="sha256"
    )
    e_big = CacheBackedEmbeddings.from_bytes_store(
        big, cache, namespace="big:", key_encoder="sha256"
    )
    texts = ["a", "b", "c"]
    assert [len(v) for v in e_small.embed_documents(texts)] == [4, 4, 4]
    assert [len(v) for v in e_big.embed_documents(texts)] == [16, 16, 16]
    assert (cache.count("small:"), cache.count("big:"), len(cache)) == (3, 3, 6)

    # Dropping one model's cache is a prefix delete; the other model keeps its hits.
    assert cache.delete_prefix("small:") == 3
    e_big.embed_documents(texts)
    e_small.embed_documents(texts)
    assert big.embedded == texts
    assert small.embedded == texts + texts


def test_cache_backed_embeddings_async_and_query_cache():
    model = CountingEmbeddings()
    cache = InMemoryByteStore()
    embedder = CacheBackedEmbeddings.from_bytes_store(
        model, cache, namespace="m:", key_encoder="sha256", query_embedding_cache=True
    )

    async def main():
        a = await embedder.aembed_documents(["x", "y"])
        b = await embedder.aembed_documents(["y", "x", "z"])
        q1 = await embedder.aembed_query("x")  # already cached as a document
        q2 = await embedder.aembed_query("q")
        q3 = await embedder.aembed_query("q")
        return a, b, q1, q2, q3

    a, b, q1, q2, q3 = run(main())
    assert sorted(model.embedded) == ["q", "x", "y", "z"]
    assert b[:2] == [a[1], a[0]]
    assert q1 == a[0]
    assert q2 == q3
    assert cache.count("m:") == 4

    assert embedder.embed_query("q") == q2
    assert sorted(model.embedded) == ["q", "x", "y", "z"]


def test_cache_backed_embeddings_with_an_object_store():
    """CacheBackedEmbeddings also takes a BaseStore[str, list[float]] directly:
    the vectors are stored as lists, keyed by the raw text."""
    model = CountingEmbeddings()
    vectors = InMemoryStore[list]()
    embedder = CacheBackedEmbeddings(model, vectors)
    first = embedder.embed_documents(["b", "a"])
    second = embedder.embed_documents(["a", "b"])
    assert model.embedded == ["b", "a"]
    assert second == [first[1], first[0]]
    assert list(vectors.yield_keys()) == ["a", "b"]
    assert vectors["a"] is second[0]


# ================================================= MultiVectorRetriever


PARENTS = {
    "doc:cats": Document(
        page_content="All about cats. " * 5, metadata={"topic": "cats"}
    ),
    "doc:rockets": Document(
        page_content="All about rockets. " * 5, metadata={"topic": "rk"}
    ),
    "doc:soup": Document(
        page_content="All about soup. " * 5, metadata={"topic": "soup"}
    ),
}
CHILDREN = {
    "doc:cats": ["cats purr", "cats sleep all day"],
    "doc:rockets": ["rockets need fuel", "staging", "orbits"],
    "doc:soup": ["soup is hot"],
}


def _child_docs():
    return [
        Document(page_content=text, metadata={"doc_id": parent})
        for parent, texts in CHILDREN.items()
        for text in texts
    ]


def _vectorstore():
    vs = InMemoryVectorStore(embedding=DeterministicFakeEmbedding(size=32))
    vs.add_documents(_child_docs())
    return vs


def test_multi_vector_retriever_reads_parents_from_memstore_docstore():
    docstore = InMemoryStore[Document]()
    docstore.mset(list(PARENTS.items()))
    retriever = MultiVectorRetriever(
        vectorstore=_vectorstore(),
        docstore=docstore,
        id_key="doc_id",
        search_kwargs={"k": 1},
    )
    assert retriever.docstore is docstore  # pydantic kept our store

    # A query equal to a child's text finds that child first (identical fake
    # embedding); the retriever answers with the *parent*, fetched from memstore.
    for parent, texts in CHILDREN.items():
        for text in texts:
            (doc,) = retriever.invoke(text)
            assert doc is docstore[parent]

    # Removing the parent from the docstore removes it from the answers,
    # though its children are still in the vector store.
    docstore.mdelete(["doc:soup"])
    assert retriever.invoke("soup is hot") == []
    assert retriever.invoke("orbits") == [PARENTS["doc:rockets"]]


def test_multi_vector_retriever_deduplicates_parents_and_runs_async():
    docstore = InMemoryStore[Document]()
    docstore.mset(list(PARENTS.items()))
    retriever = MultiVectorRetriever(
        vectorstore=_vectorstore(), docstore=docstore, search_kwargs={"k": 6}
    )
    docs = retriever.invoke("staging")
    assert docs[0] is PARENTS["doc:rockets"]
    assert len(docs) == 3 == len({id(d) for d in docs})  # six children, three parents
    adocs = run(retriever.ainvoke("staging"))
    assert adocs == docs


def test_multi_vector_retriever_over_a_memstore_byte_store():
    """With ``byte_store=``, LangChain wraps the ByteStore in a Document
    serializer; the serialized parents live in memstore under their ids."""
    raw = InMemoryByteStore()
    retriever = MultiVectorRetriever(
        vectorstore=_vectorstore(), byte_store=raw, search_kwargs={"k": 1}
    )
    assert retriever.byte_store is raw
    retriever.docstore.mset(list(PARENTS.items()))
    assert list(raw.yield_keys(prefix="doc:")) == sorted(PARENTS)
    assert all(isinstance(v, bytes) for v in raw.mget(list(PARENTS)))

    (doc,) = retriever.invoke("cats purr")
    assert doc == PARENTS["doc:cats"]
    assert doc is not PARENTS["doc:cats"]  # a round trip through bytes
    (adoc,) = run(retriever.ainvoke("rockets need fuel"))
    assert adoc == PARENTS["doc:rockets"]

    assert raw.delete_prefix("doc:r") == 1
    assert retriever.invoke("rockets need fuel") == []


# ========================================= core does not need LangChain


def _python(code: str) -> subprocess.CompletedProcess:
    # Run from the directory holding the memstore under test, so the child
    # process imports the same package (a checkout or an installed copy).
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        cwd=Path(memstore.__file__).resolve().parent.parent,
    )


def test_core_package_does_not_import_langchain():
    r = _python(
        """
        import sys
        import memstore
        s = memstore.TrieStore([("a", 1)])
        assert s.mget(["a"]) == [1]
        leaked = sorted(m for m in sys.modules if m.startswith("langchain"))
        assert not leaked, leaked
        """
    )
    assert r.returncode == 0, r.stderr


def test_core_works_and_extra_explains_itself_without_langchain():
    r = _python(
        """
        import sys
        sys.modules["langchain_core"] = None  # as if langchain-core were not installed
        import memstore
        assert memstore.TrieStore([("a", 1)]).mget(["a"]) == [1]
        try:
            import memstore.langchain
        except ImportError as e:
            print(e)
        else:
            raise SystemExit("memstore.langchain imported without langchain-core")
        """
    )
    assert r.returncode == 0, r.stderr
    assert "pip install 'memstore-trie[langchain]'" in r.stdout
