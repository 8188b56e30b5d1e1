#!/usr/bin/env bash
# Static type checks (issue 11, "Typed, linted"):
#   1. mypy --strict on tests/typing/test_usage.py (and the two helper
#      scripts next to it) and the package memstore/
#      (the stub _core.pyi, the protocol, the facade, langchain.py, redis.py);
#   2. pyright on the same, through basedpyright (a PyPI package that bundles
#      pyright and runs offline; pyright's own PyPI wrapper downloads from
#      npm).  Pyright's "strict" mode for the usage tests, the stub, the
#      protocol, __init__.py, _store.py and langchain.py; "standard" for
#      redis.py and __main__.py (not strict-clean yet); target Python 3.9
#      (mypy 2 targets 3.10 at the lowest);
#   3. tests/typing/fail_*.py: both checkers must reject every line marked
#      "# expect-error" and no other line (tests/typing/expect_errors.py),
#      so that a check that silently passes is caught.
# Settings: tests/typing/mypy.ini and tests/typing/pyrightconfig.json.
#
# Needs memstore installed with its test extra (pip install -e '.[test]':
# the checkers read the types of langchain-core, redis and pytest) and the
# checkers of .ci/typecheck-requirements.txt (exact versions), installed
# here when missing.
#
# Usage: .ci/typecheck.sh   (PYTHON=/path/to/python to choose the interpreter)
set -uo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python}
mapfile -t REQUIREMENTS < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' .ci/typecheck-requirements.txt)

if ! "$PYTHON" - "${REQUIREMENTS[@]}" <<'EOF'
import re
import sys
from importlib.metadata import PackageNotFoundError, version

def numbers(v):
    return tuple(int(part) for part in re.findall(r"\d+", v)[:3])

for requirement in sys.argv[1:]:
    name, op, wanted = re.match(r"([\w.-]+)\s*(==|>=)\s*(\S+)", requirement).groups()
    try:
        have = version(name)
    except PackageNotFoundError:
        sys.exit(1)
    if (op == "==" and have != wanted) or (op == ">=" and numbers(have) < numbers(wanted)):
        sys.exit(1)
EOF
then
    echo "typecheck: installing ${REQUIREMENTS[*]}"
    "$PYTHON" -m pip install -q "${REQUIREMENTS[@]}" || exit 1
fi

failed=()

echo "== mypy --strict: tests/typing/ (but fail_*.py) and memstore/"
"$PYTHON" -m mypy --config-file tests/typing/mypy.ini tests/typing/test_usage.py \
    tests/typing/expect_errors.py tests/typing/stub_docstrings.py memstore/ \
    || failed+=("mypy")

echo "== pyright ($("$PYTHON" -m basedpyright --version | tr '\n' ' ')): tests/typing/ (but fail_*.py) and memstore/"
"$PYTHON" -m basedpyright --project tests/typing/pyrightconfig.json \
    --pythonpath "$("$PYTHON" -c 'import sys; print(sys.executable)')" \
    || failed+=("pyright")

echo "== lines that must fail: tests/typing/fail_*.py"
"$PYTHON" tests/typing/expect_errors.py || failed+=("expect-error markers")

if ((${#failed[@]})); then
    echo "typecheck: FAILED: ${failed[*]}"
    exit 1
fi
echo "typecheck: OK"
