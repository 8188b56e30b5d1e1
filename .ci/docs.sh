#!/usr/bin/env bash
# Builds the documentation site with `mkdocs build --strict`: a broken link,
# a missing page or an API reference that cannot be resolved fails the build.
#
# Requirements: the `docs` extra (mkdocs-material, mkdocstrings[python]),
# installed by CI with the others (`pip install -e '.[test,docs]'`).  When it
# is missing this script installs those two packages itself, so it also runs
# on its own.  The API reference is read statically from the sources and
# from memstore/_core.pyi, so the build needs no compiled extension.
# The examples on the pages are run by tests/test_docs_examples.py, with
# the rest of the test suite.
#
# Usage: bash .ci/docs.sh [SITE_DIR]   (default: a temporary directory,
# removed afterwards; pass a directory to keep the site and look at it)
set -euo pipefail
cd "$(dirname "$0")/.."

if ! python -c 'import material, mkdocstrings, mkdocstrings_handlers.python' 2>/dev/null; then
    echo "docs extra not installed: installing mkdocs-material and mkdocstrings[python]"
    python -m pip install -q mkdocs-material 'mkdocstrings[python]'
fi

if [ $# -ge 1 ]; then
    SITE_DIR=$1
else
    SITE_DIR=$(mktemp -d)
    trap 'rm -rf "$SITE_DIR"' EXIT
fi

# Material's notice about MkDocs 2.0 is not about this site.
NO_MKDOCS_2_WARNING=1 python -m mkdocs build --strict --site-dir "$SITE_DIR"
echo "docs: built with --strict into $SITE_DIR"
