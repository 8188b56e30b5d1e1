"""LangChain's own standard test suites for key-value stores, run against
memstore.langchain.InMemoryStore, InMemoryByteStore and RedisStore (on a
real redis-server, see the ``redis_url`` fixture).

The suites come from the ``langchain-tests`` package
(``langchain_tests.integration_tests.BaseStoreSyncTests`` and
``BaseStoreAsyncTests``).  Every test they define is run unmodified (their own
``test_no_overrides_DO_NOT_OVERRIDE`` checks that), once per store class and
value type.  Skipped as a whole when LangChain is not installed.
"""

from __future__ import annotations

import importlib
import os

import pytest

# Skipped without LangChain; MEMSTORE_REQUIRE_LANGCHAIN=1 (for CI) turns a
# missing package into an error instead, so the suite cannot skip silently.
for _module, _why in [
    ("langchain_core", "needs the langchain extra"),
    ("langchain_tests", "needs langchain-tests"),
    ("pytest_asyncio", "needs pytest-asyncio"),
]:
    if os.environ.get("MEMSTORE_REQUIRE_LANGCHAIN"):
        importlib.import_module(_module)
    else:
        pytest.importorskip(_module, reason=_why)

from langchain_core.documents import Document  # noqa: E402
from langchain_tests.integration_tests import (  # noqa: E402
    BaseStoreAsyncTests,
    BaseStoreSyncTests,
)

from memstore.langchain import InMemoryByteStore, InMemoryStore, RedisStore  # noqa: E402

# The async suite's tests are coroutines; mark them for pytest-asyncio
# explicitly so they run whatever ``asyncio_mode`` is configured.  The one
# synchronous test in that suite (``test_no_overrides_DO_NOT_OVERRIDE``) then
# gets a harmless "marked but not async" warning, which is silenced here.
ASYNC_MARKS = [
    pytest.mark.asyncio,
    pytest.mark.filterwarnings(
        "ignore:.*marked with '@pytest.mark.asyncio' but it is not an async function"
    ),
]


class _Fixtures:
    """Supplies the two fixtures the standard suites leave abstract."""

    store_class: type = InMemoryStore
    values: tuple = ()

    @pytest.fixture
    def kv_store(self):
        store = self.store_class()
        assert len(store) == 0
        return store

    @pytest.fixture
    def three_values(self):
        return self.values


BYTES = (b"foo", b"bar", b"\x00buzz\xff")
STRS = ("foo", "bar", "buzz \U0001f600")
DOCS = (
    Document(page_content="foo", metadata={"source": "a"}),
    Document(page_content="bar", metadata={"source": "b"}, id="doc-bar"),
    Document(page_content="buzz", metadata={"n": [1, 2, 3]}),
)
# Values that are equal but never identical to each other, and mutable.
OBJECTS = ({"k": [1.0, 2.0]}, [0.1, 0.2, 0.3], ("t", None))


# ------------------------------------------------------------- InMemoryStore


class TestStoreBytesSync(_Fixtures, BaseStoreSyncTests):
    values = BYTES


class TestStoreStrSync(_Fixtures, BaseStoreSyncTests):
    values = STRS


class TestStoreDocumentSync(_Fixtures, BaseStoreSyncTests):
    store_class = InMemoryStore[Document]
    values = DOCS


class TestStoreObjectSync(_Fixtures, BaseStoreSyncTests):
    values = OBJECTS


class TestStoreBytesAsync(_Fixtures, BaseStoreAsyncTests):
    pytestmark = ASYNC_MARKS
    values = BYTES


class TestStoreStrAsync(_Fixtures, BaseStoreAsyncTests):
    pytestmark = ASYNC_MARKS
    values = STRS


class TestStoreDocumentAsync(_Fixtures, BaseStoreAsyncTests):
    pytestmark = ASYNC_MARKS
    store_class = InMemoryStore[Document]
    values = DOCS


class TestStoreObjectAsync(_Fixtures, BaseStoreAsyncTests):
    pytestmark = ASYNC_MARKS
    values = OBJECTS


# --------------------------------------------------------- InMemoryByteStore


class TestByteStoreSync(_Fixtures, BaseStoreSyncTests):
    store_class = InMemoryByteStore
    values = BYTES


class TestByteStoreAsync(_Fixtures, BaseStoreAsyncTests):
    pytestmark = ASYNC_MARKS
    store_class = InMemoryByteStore
    values = BYTES


# ---------------------------------------------------------------- RedisStore


class _RedisFixtures(_Fixtures):
    """A Redis-backed store in a fresh namespace, emptied afterwards."""

    serializer = None

    @pytest.fixture
    def kv_store(self, redis_url):
        import uuid

        import redis
        import redis.asyncio

        store = RedisStore(
            redis.Redis.from_url(redis_url),
            async_client=redis.asyncio.Redis.from_url(redis_url),
            namespace=f"lc:{uuid.uuid4().hex}",
            serializer=self.serializer,
        )
        assert len(store) == 0
        yield store
        store.clear()


class TestRedisBytesSync(_RedisFixtures, BaseStoreSyncTests):
    values = BYTES


class TestRedisBytesAsync(_RedisFixtures, BaseStoreAsyncTests):
    pytestmark = ASYNC_MARKS
    values = BYTES


class TestRedisJSONSync(_RedisFixtures, BaseStoreSyncTests):
    serializer = "json"
    values = ({"k": [1.0, 2.0]}, [0.1, 0.2, 0.3], "buzz \U0001f600")
