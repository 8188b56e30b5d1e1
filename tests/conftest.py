"""Shared fixtures and Hypothesis profiles for the memstore test-suite.

Hypothesis profiles:

* ``default`` (used unless told otherwise): quick enough for every run.
* ``ci``: the longer run CI makes of the state machine, bounded to a few
  minutes (each example must finish within a deadline)::

      HYPOTHESIS_PROFILE=ci python -m pytest tests/test_stateful.py

* ``long``: many more examples and longer stateful runs, for soak testing::

      HYPOTHESIS_PROFILE=long python -m pytest tests

* ``asan``: fewer examples, for the suite under the sanitizers
  (``.ci/asan_python.sh`` sets it).
"""

import os
import sys

import pytest
from hypothesis import HealthCheck, settings

# ------------------------------------------------------- LangChain on 3.9
#
# langchain-core, langchain-tests and langchain-classic 1.x need Python 3.10
# (none has a 3.9 release), so pyproject's test extra leaves them out there
# and their modules skip as a whole, with the reason in pytest's summary
# (-rs).  On 3.10+ the modules skip by themselves when LangChain is missing,
# or fail under MEMSTORE_REQUIRE_LANGCHAIN=1 (CI), as before.

# The same holds for langgraph-checkpoint (4.x needs Python 3.10).
NEEDS_PYTHON_3_10 = {
    "test_langchain_standard.py": "LangChain 1.x",
    "test_langchain_integration.py": "LangChain 1.x",
    "test_langgraph.py": "langgraph-checkpoint 4.x",
    "test_langgraph_upstream.py": "langgraph-checkpoint 4.x",
}


class _SkippedModule(pytest.Module):
    def collect(self):
        pytest.skip(
            f"{NEEDS_PYTHON_3_10[self.path.name]} needs Python >= 3.10; "
            f"this is {sys.version_info[0]}.{sys.version_info[1]}"
        )


def pytest_pycollect_makemodule(module_path, parent):
    if module_path.name in NEEDS_PYTHON_3_10 and sys.version_info < (3, 10):
        return _SkippedModule.from_parent(parent, path=module_path)
    return None


def _profile(name, examples, steps, deadline=None):
    """A Hypothesis profile; every one lets slow examples through (the
    engine's inputs are large by design), and only ``ci`` has a deadline."""
    settings.register_profile(
        name,
        max_examples=examples,
        stateful_step_count=steps,
        deadline=deadline,
        suppress_health_check=[HealthCheck.too_slow],
    )


_profile("default", 150, 50)
# 300 runs of 100 steps: four times the default's steps, in about 40 s (600
# took 84 s of a CI run that must stay well under 15 minutes); the deadline
# (ms per example) fails a hang or a pathological slowdown.
_profile("ci", 300, 100, deadline=5000)
_profile("long", 5000, 200)
# .ci/asan_python.sh: every example is several times slower under the
# sanitizers, which look for memory errors rather than rare inputs (the
# default and ci profiles run the same properties with more examples).
_profile("asan", 50, 50)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture
def unraisables():
    """Collects exceptions raised where Python cannot propagate them
    (``__del__``, weakref callbacks).  The test checks the list itself."""
    caught = []
    old = sys.unraisablehook

    def hook(u):
        caught.append((u.exc_type, u.exc_value, u.object))

    sys.unraisablehook = hook
    try:
        yield caught
    finally:
        sys.unraisablehook = old


# ------------------------------------------------------------ Redis server
#
# The Redis backend is tested against a real server, never a mock.
# MEMSTORE_REDIS_URL points the tests at one (.ci/run starts Debian's
# redis-server on a free loopback port and sets it); without it the tests
# start their own redis-server if one is on PATH.  Otherwise they are
# skipped, unless MEMSTORE_REQUIRE_REDIS=1 (set by CI) makes that an error.


def _redis_unavailable(why):
    if os.environ.get("MEMSTORE_REQUIRE_REDIS"):
        pytest.fail(f"MEMSTORE_REQUIRE_REDIS is set but {why}", pytrace=False)
    pytest.skip(why)


# Tests parametrized over backends (test_contract.py's `make_store`) import
# redis-py in the fixture body; without it the Redis cases skip (or fail
# under MEMSTORE_REQUIRE_REDIS) like every other Redis test, instead of
# erroring with ModuleNotFoundError.
REDIS_BACKENDS = {"redis", "redis-cluster"}


def pytest_runtest_setup(item):
    callspec = getattr(item, "callspec", None)
    if callspec is None:
        return
    if not any(
        isinstance(v, str) and v in REDIS_BACKENDS for v in callspec.params.values()
    ):
        return
    try:
        import redis  # noqa: F401
    except ImportError:
        _redis_unavailable("redis-py is not installed (pip install -e '.[test]')")


def _free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_redis(tmp_path, *extra):
    """Starts redis-server on a free loopback port with no persistence;
    returns (process, port) once it answers PING."""
    import shutil
    import subprocess
    import time

    import redis

    binary = shutil.which("redis-server") or shutil.which("valkey-server")
    if binary is None:
        _redis_unavailable("no redis-server or valkey-server on PATH")
    port = _free_port()
    # Under .ci/asan_python.sh the sanitizer runtimes are preloaded into
    # every child; the server is not ours to check and must not get them.
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("LD_PRELOAD", "ASAN_OPTIONS", "UBSAN_OPTIONS")
    }
    proc = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
            *extra,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        env=env,
    )
    client = redis.Redis(port=port)
    deadline = time.monotonic() + 20
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"{binary} did not start on port {port}", pytrace=False)
            time.sleep(0.05)
    client.close()
    return proc, port


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    try:
        import redis  # noqa: F401
    except ImportError:
        _redis_unavailable("redis-py is not installed (pip install -e '.[test]')")
    url = os.environ.get("MEMSTORE_REDIS_URL")
    if url:
        yield url
        return
    proc, port = _start_redis(tmp_path_factory.mktemp("redis"))
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture(scope="session")
def redis_cluster_port(tmp_path_factory):
    """A three-node Redis Cluster on loopback, the 16384 slots split in
    three: stores whose namespaces hash to different slots live on different
    servers, and redis-py's cluster client routes every call.  Returns the
    port of one node (the client finds the others)."""
    import time

    try:
        import redis
        import redis.cluster  # noqa: F401
    except ImportError:
        _redis_unavailable("redis-py is not installed (pip install -e '.[test]')")
    tmp = tmp_path_factory.mktemp("redis-cluster")
    servers = []
    try:
        for i in range(3):
            # The cluster bus defaults to port + 10000, which may be taken
            # or past 65535: give it a free port of its own.
            bus = _free_port()
            proc, port = _start_redis(
                tmp,
                "--cluster-enabled",
                "yes",
                "--cluster-port",
                str(bus),
                "--cluster-config-file",
                str(tmp / f"nodes-{i}.conf"),
            )
            servers.append((proc, port, bus))
        nodes = [redis.Redis(port=port) for _, port, _ in servers]
        bounds = [0, 5461, 10923, 16384]
        for i, node in enumerate(nodes):
            node.execute_command(
                "CLUSTER", "ADDSLOTSRANGE", bounds[i], bounds[i + 1] - 1
            )
        for _, port, bus in servers[1:]:
            nodes[0].execute_command("CLUSTER", "MEET", "127.0.0.1", port, bus)
        deadline = time.monotonic() + 30
        while not all(
            b"cluster_state:ok" in n.execute_command("CLUSTER", "INFO")
            and b"cluster_known_nodes:3" in n.execute_command("CLUSTER", "INFO")
            for n in nodes
        ):
            if time.monotonic() > deadline:
                pytest.fail(
                    "the three-node cluster did not reach state ok", pytrace=False
                )
            time.sleep(0.05)
        for node in nodes:
            node.close()
        yield servers[0][1]
    finally:
        for proc, _, _ in servers:
            proc.terminate()
        for proc, _, _ in servers:
            proc.wait(10)


def pytest_report_header(config):
    if sys.version_info < (3, 10):
        return [
            "LangChain and LangGraph suites skipped: LangChain 1.x and "
            "langgraph-checkpoint 4.x need Python >= 3.10"
        ]
    return []
