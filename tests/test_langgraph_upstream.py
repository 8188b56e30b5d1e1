"""LangGraph's own store tests, unmodified, against memstore's classes.

The test fetches the ``langgraph-checkpoint`` sdist of the pinned version
from PyPI (``pip download --no-deps --no-binary :all:``), copies its
``tests/`` directory (only the tests, never LangGraph's package) into a
temporary directory, and runs ``tests/test_store.py`` there in a pytest
subprocess, once per memstore class.  Nothing of LangGraph's code is kept in
this repository.

This same module is the plugin of that subprocess (``-p
test_langgraph_upstream``): with ``MEMSTORE_LANGGRAPH_BACKEND`` set, it
replaces ``langgraph.store.memory.InMemoryStore`` with memstore's class
before LangGraph's test module is imported, so every ``InMemoryStore()``
those tests make is memstore's.  For ``redis`` the class is a subclass that
opens a fresh Redis namespace on ``MEMSTORE_LANGGRAPH_REDIS_URL``.

Tests left out, each with its reason, are in ``LEFT_OUT``.  Run one
backend by hand, with its output::

    python -m pytest tests/test_langgraph_upstream.py -k memory -s

Without network access (or pip), the test is skipped, unless
``MEMSTORE_REQUIRE_LANGGRAPH=1`` (CI) makes that an error.
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

# LangGraph's tests of this release are the ones run; the version is pinned
# because the tests follow the release they ship with.
LANGGRAPH_CHECKPOINT = "4.3.2"

# test id (in tests/test_store.py) -> why it is not run against memstore.
LEFT_OUT: dict[str, str] = {}

_BACKEND = "MEMSTORE_LANGGRAPH_BACKEND"
_REDIS_URL = "MEMSTORE_LANGGRAPH_REDIS_URL"


# ---------------------------------------------------- the subprocess's plugin


def pytest_configure(config):
    """Runs in the subprocess only (``-p test_langgraph_upstream``)."""
    backend = os.environ.get(_BACKEND)
    if backend is None:
        return
    import uuid

    import langgraph.store.memory

    from memstore import langgraph as memstore_langgraph

    if backend == "memory":
        replacement = memstore_langgraph.InMemoryStore
    else:
        url = os.environ[_REDIS_URL]

        class RedisBackedStore(memstore_langgraph.RedisStore):
            # LangGraph's tests call InMemoryStore(index=..., ttl=...): the
            # same signature, each store on a namespace of its own.
            def __init__(self, *, index=None, ttl=None):
                super().__init__(url, namespace=f"lg-upstream-{uuid.uuid4().hex}",
                                 index=index, ttl=ttl)

        replacement = RedisBackedStore
    langgraph.store.memory.InMemoryStore = replacement
    config._memstore_replacement = replacement


def pytest_collection_finish(session):
    """Proves the run tests memstore: LangGraph's test module holds
    memstore's class under the name InMemoryStore."""
    replacement = getattr(session.config, "_memstore_replacement", None)
    if replacement is None:
        return
    module = sys.modules.get("tests.test_store")
    used = getattr(module, "InMemoryStore", None)
    if used is not replacement:
        raise pytest.UsageError(f"tests/test_store.py uses {used!r}, not memstore's class")
    print(f"\nLangGraph's tests/test_store.py runs against {replacement.__module__}."
          f"{replacement.__qualname__}")


# ------------------------------------------------------ memstore's own test


def _unavailable(why):
    if os.environ.get("MEMSTORE_REQUIRE_LANGGRAPH"):
        pytest.fail(f"MEMSTORE_REQUIRE_LANGGRAPH is set but {why}", pytrace=False)
    pytest.skip(why)


@pytest.fixture(scope="module")
def upstream_tests(tmp_path_factory):
    """A directory holding LangGraph's ``tests/`` package of the pinned
    release."""
    if sys.version_info < (3, 10):
        # Printed as the skip reason: langgraph-checkpoint 4 needs 3.10.
        _unavailable(f"langgraph-checkpoint {LANGGRAPH_CHECKPOINT} requires Python >= 3.10")
    try:
        installed = version("langgraph-checkpoint")
    except PackageNotFoundError:
        _unavailable("langgraph-checkpoint is not installed")
    if installed != LANGGRAPH_CHECKPOINT:
        _unavailable(f"LangGraph's tests are pinned to langgraph-checkpoint "
                     f"{LANGGRAPH_CHECKPOINT}, {installed} is installed "
                     f"(pip install langgraph-checkpoint=={LANGGRAPH_CHECKPOINT})")
    for plugin in ("pytest_asyncio", "pytest_mock"):
        try:
            __import__(plugin)
        except ImportError:
            _unavailable(f"LangGraph's tests need {plugin.replace('_', '-')}")
    download = tmp_path_factory.mktemp("sdist")
    fetched = subprocess.run(
        [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:",
         "-d", str(download), f"langgraph-checkpoint=={LANGGRAPH_CHECKPOINT}"],
        check=False, capture_output=True, text=True, timeout=300)
    archives = list(download.glob("*.tar.gz"))
    if fetched.returncode != 0 or not archives:
        _unavailable(f"pip download of the langgraph-checkpoint sdist failed: "
                     f"{fetched.stderr.strip()[-500:]}")
    run_dir = tmp_path_factory.mktemp("langgraph-tests")
    top = f"langgraph_checkpoint-{LANGGRAPH_CHECKPOINT}/tests/"
    with tarfile.open(archives[0]) as sdist:
        for member in sdist.getmembers():
            if member.isfile() and member.name.startswith(top):
                target = run_dir / "tests" / member.name[len(top):]
                target.parent.mkdir(parents=True, exist_ok=True)
                with sdist.extractfile(member) as source, open(target, "wb") as out:
                    shutil.copyfileobj(source, out)
    if not (run_dir / "tests" / "test_store.py").exists():
        pytest.fail(f"the sdist has no tests/test_store.py under {top}", pytrace=False)
    return run_dir


@pytest.mark.parametrize("backend", ["memory", "redis"])
def test_langgraph_store_tests_pass(backend, upstream_tests, request):
    env = dict(os.environ)
    env[_BACKEND] = backend
    if backend == "redis":
        env[_REDIS_URL] = request.getfixturevalue("redis_url")
    else:
        from memstore import TrieStore

        try:
            list(TrieStore().yield_keys(delimiter="\x00"))
        except TypeError:
            pytest.skip("TrieStore on this branch lacks delimiter listing "
                        "(branch listing); list_namespaces needs it")
    env["PYTHONPATH"] = os.pathsep.join(
        [str(Path(__file__).parent), *filter(None, [env.get("PYTHONPATH")])])
    deselect = [arg for name in LEFT_OUT
                for arg in ("--deselect", f"tests/test_store.py::{name}")]
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/test_store.py", "-q", "-rs",
         "-p", "test_langgraph_upstream", "-p", "no:cacheprovider",
         "-o", "asyncio_mode=auto", "-o", "asyncio_default_fixture_loop_scope=function",
         "--rootdir", str(upstream_tests), *deselect],
        cwd=upstream_tests, env=env, check=False, capture_output=True, text=True,
        timeout=600)
    print(run.stdout[-5000:])
    print(run.stderr[-2000:])
    assert run.returncode == 0, run.stdout[-5000:]
