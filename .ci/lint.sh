#!/usr/bin/env bash
# Lint and format check with ruff, as configured in pyproject.toml
# ([tool.ruff]).  Installs the pinned ruff (the `lint` extra) when missing.
#
#   bash .ci/lint.sh            # CI: fails on any finding
#   ruff check --fix . && ruff format .   # fix locally
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}

if ! "$PY" -m ruff --version >/dev/null 2>&1; then
    "$PY" -m pip install -q "ruff>=0.17,<0.18"
fi
echo "== $("$PY" -m ruff --version)"
status=0
echo "== ruff check"
"$PY" -m ruff check --output-format=concise . || status=1
echo "== ruff format --check"
"$PY" -m ruff format --check --output-format=concise . || status=1
exit $status
