#!/usr/bin/env bash
# The suite on every other Python version the project declares (>=3.9),
# as pyenv installed them: 3.9, 3.10, 3.12 and 3.13 (3.11 is the main run's).
# A version not installed is skipped with a line saying so.
#
# For each: a venv, `uv pip install '<copy>[test]'` (which builds the wheel,
# and shows the test extra resolves on that version), then on 3.9 and 3.13
# the core, contract, Redis and LangChain suites (on 3.10 and 3.12 the
# CORE list below), run from outside the source tree so
# the installed package is imported.  Left to the main 3.11 run: the
# 10^5-nested-keys test, the memory-churn tests (test_leaks.py) and the
# Hypothesis state machine, which are slow and exercise the C engine rather
# than the Python version.  Two versions run at once (2 cores).
#
#   bash .ci/pythons.sh                  # every version found
#   bash .ci/pythons.sh 3.9 3.13         # some of them
#   PYTHONS_JOBS=1 bash .ci/pythons.sh   # one at a time
#
# Redis: uses MEMSTORE_REDIS_URL when set (.ci/run starts a server);
# otherwise the tests start their own redis-server.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
START=$(date +%s)
JOBS=${PYTHONS_JOBS:-2}
if [ $# -gt 0 ]; then VERSIONS=("$@"); else VERSIONS=(3.9 3.10 3.12 3.13); fi
WORK=$(mktemp -d "${TMPDIR:-/tmp}/memstore-pythons.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

PYENV_ROOT_DIR=$( (command -v pyenv >/dev/null && pyenv root) || echo "${PYENV_ROOT:-$HOME/.pyenv}")

# The newest pyenv install of a minor version, e.g. 3.9 -> .../versions/3.9.18
find_python() {
    local d
    d=$(ls -d "$PYENV_ROOT_DIR/versions/$1".* 2>/dev/null | grep -E "/$1\.[0-9]+$" | sort -V | tail -n 1)
    [ -n "$d" ] && [ -x "$d/bin/python" ] && echo "$d/bin/python"
}

# One copy of the tracked sources, shared read-only by every version (pip
# builds in its own temporary directory).
mkdir -p "$WORK/src"
git ls-files -z | xargs -0 cp --parents -t "$WORK/src"

# The installer: uv, fetched from PyPI into a venv of its own, when it can
# be had; pip otherwise.  The test extra is ~70 wheels and pip resolves it
# one index request at a time: on this machine 220-370 s per version (half
# of it waiting on the network), uv 57-64 s with the build, as it fetches in
# parallel and keeps one cache for every version.
UV=
if python -m venv "$WORK/uv" >/dev/null 2>&1 &&
    "$WORK/uv/bin/python" -m pip install -q uv >/dev/null 2>&1; then
    UV=$WORK/uv/bin/uv
    echo "== installing with $("$UV" --version)"
else
    echo "== uv could not be installed: installing with pip"
fi

TESTS=$WORK/src/tests
SUITES=(
    "$TESTS"
    --ignore="$TESTS/test_deep_keys.py"
    --ignore="$TESTS/test_leaks.py"
    --ignore="$TESTS/test_stateful.py"
    --ignore="$TESTS/test_langgraph_upstream.py"
    # Version-independent and slow: SIGKILL trials of child interpreters
    # (the journal's Python runs in test_persistence.py on every version)
    # and the expiry state machine.
    --ignore="$TESTS/test_crash.py"
    --ignore="$TESTS/test_stateful_expiry.py"
)

# The oldest and newest versions run all of SUITES; the ones between run
# the suites most likely to differ between versions (the C API the binding
# uses, pickle and the snapshot files, asyncio), to keep CI short.
CORE=(
    "$TESTS/test_contract.py" "$TESTS/test_mapping.py" "$TESTS/test_async.py"
    "$TESTS/test_expiry.py" "$TESTS/test_persistence.py" "$TESTS/test_cython_layout.py"
)

run_version() {
    local v=$1 py=$2 dir=$WORK/py$1 t0 t1 t2 suites=("${SUITES[@]}")
    case $v in 3.10 | 3.11 | 3.12) suites=("${CORE[@]}") ;; esac
    t0=$(date +%s)
    local install=("$dir/venv/bin/python" -m pip install -q)
    if [ -n "$UV" ]; then
        "$py" -m venv --without-pip "$dir/venv" || return 1
        install=("$UV" pip install -q --python "$dir/venv/bin/python")
    else
        "$py" -m venv "$dir/venv" || return 1
    fi
    if ! "${install[@]}" "$WORK/src[test]" >"$dir/pip.log" 2>&1; then
        grep -v "^WARNING: Location" "$dir/pip.log" | tail -n 30
        echo "${install[*]} '.[test]' failed on Python $v"
        return 1
    fi
    (cd "$dir" && "$dir/venv/bin/python" -c 'import memstore; print("   memstore", memstore.__version__, "from", memstore.__file__)') || return 1
    t1=$(date +%s)
    mkdir -p "$dir/run"
    # The copy's tests, from an empty directory: the installed package is
    # what gets imported.  (cd inside a subshell: jobs run concurrently.)
    (cd "$dir/run" && "$dir/venv/bin/python" -m pytest -q -p no:cacheprovider -rs --tb=short \
        --rootdir "$WORK/src" "${suites[@]}") || return 1
    t2=$(date +%s)
    echo "== Python $v: install + build $((t1 - t0)) s, tests $((t2 - t1)) s"
}

FAILED=()
RAN=()
for v in "${VERSIONS[@]}"; do
    py=$(find_python "$v" || true)
    if [ -z "$py" ]; then
        echo "== Python $v: not found under $PYENV_ROOT_DIR/versions/, skipped"
        continue
    fi
    while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n || true; done
    echo "== Python $v: $("$py" -V 2>&1) ($py), log $WORK/py$v.log"
    (
        set +e
        run_version "$v" "$py" >"$WORK/py$v.log" 2>&1
        echo $? >"$WORK/py$v.rc"
    ) &
    RAN+=("$v")
done
wait

for v in "${RAN[@]}"; do
    if [ "$(cat "$WORK/py$v.rc")" = 0 ]; then
        echo "---- Python $v: ok"
        grep -E "^(== |   memstore |SKIPPED|[0-9]+ (passed|failed))" "$WORK/py$v.log" || true
    else
        FAILED+=("$v")
        echo "---- Python $v: FAILED; the end of its log:"
        tail -n 80 "$WORK/py$v.log"
    fi
done

echo "== pythons.sh: ran ${RAN[*]:-none}; failed: ${FAILED[*]:-none}; $(($(date +%s) - START)) s"
[ ${#FAILED[@]} -eq 0 ]
