#!/usr/bin/env bash
# The examples in the docstrings of the public modules, run as doctests:
# the Python modules through pytest's --doctest-modules, and the compiled
# extension memstore._core (which pytest does not collect) through doctest
# itself.  Examples that cannot run as written (awaits at top level, a Redis
# server) are marked `# doctest: +SKIP` in the docstrings.
#
# Assumes the package is built in place (`pip install -e '.[test]'`).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}

echo "== doctests of memstore/*.py"
# memstore.langchain imports langchain-core, an optional extra: without it
# that module is left out rather than failing collection.
IGNORE=()
"$PY" -c 'import langchain_core' 2>/dev/null || IGNORE=(--ignore=memstore/langchain.py)
"$PY" -m pytest -q -p no:cacheprovider --doctest-modules memstore ${IGNORE[@]+"${IGNORE[@]}"}

echo "== doctests of the extension memstore._core"
"$PY" - <<'PY'
import doctest
import sys

import memstore
import memstore._core as core

# The extension's examples use the public names (TrieStore, ...) as a user
# would after `from memstore import ...`.  Cython also copies every example
# into the module's __test__ dict (its autotestdict): run each example once.
globs = {name: getattr(memstore, name) for name in memstore.__all__}
tests = [
    t
    for t in doctest.DocTestFinder().find(core, globs=globs)
    if ".__test__." not in t.name and t.examples
]
runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
for test in tests:
    runner.run(test)
result = runner.summarize(verbose=False)
print(f"memstore._core: {result.attempted} examples in {len(tests)} docstrings, {result.failed} failed")
if result.attempted == 0:
    sys.exit("doctest found no example in memstore._core: are its docstrings compiled in?")
sys.exit(1 if result.failed else 0)
PY
