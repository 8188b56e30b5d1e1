"""LangGraph's own store tests, unmodified, against memstore's classes.

For each suite in ``SUITES`` (``langgraph-checkpoint``: ``tests/test_store.py``
against LangGraph's InMemoryStore API; ``langgraph-checkpoint-sqlite``:
``tests/test_store.py``, ``test_async_store.py`` and ``test_ttl.py`` against
SqliteStore's), the test fetches the sdist of the pinned release from PyPI
(``pip download --no-deps --no-binary :all:``), copies its ``tests/``
directory (only the tests, never LangGraph's package) into a temporary
directory, and runs the files there in a pytest subprocess, once per
memstore class.  Nothing of LangGraph's code is kept in this repository.

This same module is the plugin of that subprocess (``-p
test_langgraph_upstream``): with ``MEMSTORE_LANGGRAPH_BACKEND`` set, it
replaces the store class LangGraph's tests construct
(``langgraph.store.memory.InMemoryStore``, or ``SqliteStore`` and
``AsyncSqliteStore`` with their ``from_conn_string`` and ``setup``) with
memstore's, before the test modules are imported, and checks after
collection that the modules hold memstore's classes.  On Redis each store
opens a fresh namespace on ``MEMSTORE_LANGGRAPH_REDIS_URL``.

Tests left out, each with its reason, are in ``SUITES``.  Run one by hand,
with its output::

    python -m pytest tests/test_langgraph_upstream.py -k "checkpoint and memory" -s

Without network access (or pip), or without the pinned release installed,
the test is skipped with the reason, unless ``MEMSTORE_REQUIRE_LANGGRAPH=1``
(CI) makes that an error.  The SQLite suite's ``test_ttl.py`` sleeps
through real lifetimes of seconds: about 40 s per class.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest

# The releases whose tests are run; pinned, because tests follow the release
# they ship with.  suite -> (distribution, version, test files, left out).
# "left out" maps a test (a node id prefix inside its file) to the reason.
_SQLITE_ONLY = "tests SQLite itself"
SUITES = {
    "checkpoint": ("langgraph-checkpoint", "4.3.2", ["tests/test_store.py"], {}),
    "sqlite": (
        "langgraph-checkpoint-sqlite",
        "3.1.2",
        ["tests/test_store.py", "tests/test_async_store.py", "tests/test_ttl.py"],
        {
            "tests/test_store.py::test_nonnull_migrations": f"{_SQLITE_ONLY}: reads SqliteStore.MIGRATIONS (its SQL schema)",
            "tests/test_store.py::test_vector_store_initialization": f"{_SQLITE_ONLY}: queries sqlite_master for its vector tables through "
            "store.conn, and reads SQLite's own index key text_fields",
            "tests/test_store.py::test_sql_injection_vulnerability": f"{_SQLITE_ONLY}: expects SQLite's 'Invalid filter key' ValueError for a key "
            "that would break its SQL; memstore builds no SQL, so such a key is a field "
            "name that matches nothing",
            "tests/test_async_store.py::test_no_running_loop": f"{_SQLITE_ONLY}: AsyncSqliteStore's sync methods refuse to run on the event "
            "loop's thread; memstore's stores have no such restriction",
            "tests/test_ttl.py::test_ttl_refresh": "asserts sweep_ttl() counts the items it deletes; memstore's engines release "
            "expired items themselves, so sweep_ttl() returns 0 (expiry itself is "
            "tested by the rest of test_ttl.py)",
            "tests/test_ttl.py::test_ttl_override_default": "relies on SqliteStore not renewing a lifetime on get() unless the TTL config "
            "sets refresh_on_read explicitly; TTLConfig documents refresh_on_read as "
            "True when not configured, which memstore follows",
        },
    ),
}

_BACKEND = "MEMSTORE_LANGGRAPH_BACKEND"
_SUITE = "MEMSTORE_LANGGRAPH_SUITE"
_REDIS_URL = "MEMSTORE_LANGGRAPH_REDIS_URL"


# ---------------------------------------------------- the subprocess's plugin


def pytest_configure(config):
    """Runs in the subprocess only (``-p test_langgraph_upstream``)."""
    backend = os.environ.get(_BACKEND)
    if backend is None:
        return
    import uuid

    from memstore import langgraph as memstore_langgraph

    if backend == "memory":

        def open_store(name, **kwargs):
            return memstore_langgraph.InMemoryStore(**kwargs)

        base = memstore_langgraph.InMemoryStore
    else:
        url = os.environ[_REDIS_URL]

        def open_store(name, **kwargs):
            return memstore_langgraph.RedisStore(url, namespace=name, **kwargs)

        base = memstore_langgraph.RedisStore

    if os.environ.get(_SUITE, "checkpoint") == "checkpoint":
        replacement = base
        if backend == "redis":

            class RedisBackedStore(base):
                # LangGraph's tests call InMemoryStore(index=..., ttl=...):
                # the same signature, each store on a namespace of its own.
                def __init__(self, *, index=None, ttl=None):
                    super().__init__(
                        url,
                        namespace=f"lg-upstream-{uuid.uuid4().hex}",
                        index=index,
                        ttl=ttl,
                    )

            replacement = RedisBackedStore
        import langgraph.store.memory

        langgraph.store.memory.InMemoryStore = replacement
        config._memstore_replacements = {
            "tests.test_store": ("InMemoryStore", replacement)
        }
        return
    config._memstore_replacements = _sqlite_shaped(open_store, uuid)


def _sqlite_shaped(open_store, uuid):
    """Stand-ins for SqliteStore and AsyncSqliteStore: their
    ``from_conn_string(conn, index=, ttl=)`` context managers and ``setup()``
    give a memstore store (the same file names the same Redis namespace)."""
    import contextlib

    import langgraph.store.sqlite
    import langgraph.store.sqlite.aio

    def opened(conn_string, index, ttl):
        if index is not None:
            # SQLite's IndexConfig names the fields text_fields and adds a
            # distance_type (cosine, the only one either store offers).
            fields = index.get("text_fields")
            index = {
                k: v
                for k, v in index.items()
                if k not in ("text_fields", "distance_type")
            }
            if fields is not None:
                index["fields"] = fields
        name = (
            f"lg-sqlite-{uuid.uuid4().hex}"
            if conn_string == ":memory:"
            else f"lg-sqlite-{conn_string}"
        )
        return open_store(name, index=index, ttl=ttl)

    class SqliteShaped:
        @staticmethod
        @contextlib.contextmanager
        def from_conn_string(conn_string, *, index=None, ttl=None, **_):
            store = opened(conn_string, index, ttl)
            store.setup = lambda: None
            try:
                yield store
            finally:
                store.stop_ttl_sweeper()

    class AsyncSqliteShaped:
        @staticmethod
        @contextlib.asynccontextmanager
        async def from_conn_string(conn_string, *, index=None, ttl=None, **_):
            store = opened(conn_string, index, ttl)
            sync = {
                name: getattr(store, name)
                for name in ("sweep_ttl", "start_ttl_sweeper", "stop_ttl_sweeper")
            }

            async def setup():
                return None

            def awaitable(method):
                async def call(*args, **kwargs):
                    return method(*args, **kwargs)

                return call

            store.setup = setup
            for name, method in sync.items():
                setattr(store, name, awaitable(method))
            try:
                yield store
            finally:
                sync["stop_ttl_sweeper"]()

    langgraph.store.sqlite.SqliteStore = SqliteShaped
    langgraph.store.sqlite.AsyncSqliteStore = AsyncSqliteShaped
    langgraph.store.sqlite.aio.AsyncSqliteStore = AsyncSqliteShaped
    return {
        "tests.test_store": ("SqliteStore", SqliteShaped),
        "tests.test_ttl": ("SqliteStore", SqliteShaped),
        "tests.test_async_store": ("AsyncSqliteStore", AsyncSqliteShaped),
    }


def pytest_collection_finish(session):
    """Proves the run tests memstore: LangGraph's test modules hold
    memstore's stand-ins under the names they construct stores with."""
    replacements = getattr(session.config, "_memstore_replacements", None)
    if replacements is None:
        return
    for module_name, (name, replacement) in replacements.items():
        module = sys.modules.get(module_name)
        if module is None:
            continue  # not collected in this run
        used = getattr(module, name, None)
        if used is not replacement:
            raise pytest.UsageError(f"{module_name}.{name} is {used!r}, not memstore's")
        print(f"\n{module_name}.{name} is {replacement.__qualname__} (memstore)")


# ------------------------------------------------------ memstore's own test


def _unavailable(why):
    if os.environ.get("MEMSTORE_REQUIRE_LANGGRAPH"):
        pytest.fail(f"MEMSTORE_REQUIRE_LANGGRAPH is set but {why}", pytrace=False)
    pytest.skip(why)


def _fetch_tests(tmp_path_factory, distribution, release):
    """A directory holding the ``tests/`` package of the release's sdist."""
    if sys.version_info < (3, 10):
        # Printed as the skip reason: these releases need Python 3.10.
        _unavailable(f"{distribution} {release} requires Python >= 3.10")
    try:
        installed = version(distribution)
    except PackageNotFoundError:
        _unavailable(f"{distribution} is not installed")
    if installed != release:
        _unavailable(
            f"LangGraph's tests are pinned to {distribution} {release}, "
            f"{installed} is installed (pip install {distribution}=={release})"
        )
    for plugin in ("pytest_asyncio", "pytest_mock"):
        try:
            __import__(plugin)
        except ImportError:
            _unavailable(f"LangGraph's tests need {plugin.replace('_', '-')}")
    download = tmp_path_factory.mktemp("sdist")
    fetched = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "-q",
            "--no-deps",
            "--no-binary",
            ":all:",
            "-d",
            str(download),
            f"{distribution}=={release}",
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    archives = list(download.glob("*.tar.gz"))
    if fetched.returncode != 0 or not archives:
        _unavailable(
            f"pip download of the {distribution} sdist failed: "
            f"{fetched.stderr.strip()[-500:]}"
        )
    run_dir = tmp_path_factory.mktemp(distribution)
    top = f"{distribution.replace('-', '_')}-{release}/tests/"
    with tarfile.open(archives[0]) as sdist:
        for member in sdist.getmembers():
            if member.isfile() and member.name.startswith(top):
                target = run_dir / "tests" / member.name[len(top) :]
                target.parent.mkdir(parents=True, exist_ok=True)
                with sdist.extractfile(member) as source, open(target, "wb") as out:
                    shutil.copyfileobj(source, out)
    return run_dir


@pytest.mark.parametrize("backend", ["memory", "redis"])
@pytest.mark.parametrize("suite", sorted(SUITES))
def test_langgraph_store_tests_pass(suite, backend, tmp_path_factory, request):
    distribution, release, files, left_out = SUITES[suite]
    env = dict(os.environ)
    env[_BACKEND] = backend
    env[_SUITE] = suite
    if backend == "redis":
        env[_REDIS_URL] = request.getfixturevalue("redis_url")
    run_dir = _fetch_tests(tmp_path_factory, distribution, release)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(Path(__file__).parent), *filter(None, [env.get("PYTHONPATH")])]
    )
    deselect = [arg for name in left_out for arg in ("--deselect", name)]
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            *files,
            "-q",
            "-rs",
            "-p",
            "test_langgraph_upstream",
            "-p",
            "no:cacheprovider",
            "-o",
            "asyncio_mode=auto",
            "-o",
            "asyncio_default_fixture_loop_scope=function",
            "--rootdir",
            str(run_dir),
            *deselect,
        ],
        cwd=run_dir,
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=900,
    )
    print(run.stdout[-5000:])
    print(run.stderr[-2000:])
    assert run.returncode == 0, run.stdout[-5000:]
