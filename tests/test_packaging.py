"""Release packaging and a newcomer's first minutes: the version is written
once, the demo and its --help read well, and importing a checkout whose
extension was built elsewhere says what to do."""

from __future__ import annotations

import importlib.machinery
import importlib.metadata
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import memstore
from memstore import __main__ as cli

PACKAGE_DIR = Path(memstore.__file__).resolve().parent


def test_version_is_the_installed_metadata():
    assert memstore.__version__ == importlib.metadata.version("memstore-trie")


def test_demo_shows_every_line_it_runs(capsys):
    cli.demo()
    out = capsys.readouterr().out
    assert ">>> from memstore import TrieStore\n" in out
    assert ">>> store = TrieStore()\n" in out
    # the store line comes before the first use of `store`
    assert out.index(">>> store = TrieStore()") < out.index(">>> store.mset(")


def test_help_is_plain_text(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "python -m memstore" in out
    assert "`" not in out, out


@pytest.mark.parametrize(
    ("store_s", "dict_s", "words"),
    [
        (1.21, 1.0, "1.21x slower"),
        (1.0, 2.5, "2.50x faster"),
        (1.0, 1.001, "same time"),
    ],
)
def test_time_ratio_says_which_way(store_s, dict_s, words):
    assert cli.compare_times(store_s, dict_s) == words


def test_comparison_rows_explain_themselves(capsys):
    cli.compare(2_000, seed=1)
    out = capsys.readouterr().out
    assert "the time" not in out
    assert "TrieStore vs dict" in out
    row = next(line for line in out.splitlines() if line.startswith("mget vs"))
    assert row.rstrip().endswith(("slower", "faster", "same time")), row
    assert "one hash probe" in out


def test_import_from_a_checkout_without_the_extension(tmp_path):
    # As after `pip install .` from a checkout: the checkout's memstore/ has
    # no built extension, and Python (run from the checkout) imports it.
    # -S: without site-packages, so an editable install of the package
    # under test cannot supply the extension (.ci/wheel.sh checks the same
    # beside a real installed wheel, where the message names that copy).
    checkout = tmp_path / "checkout"
    (checkout / "memstore").mkdir(parents=True)
    for source in PACKAGE_DIR.glob("*.py"):
        shutil.copy(source, checkout / "memstore" / source.name)
    r = subprocess.run(
        [sys.executable, "-S", "-c", "import memstore"],
        cwd=checkout,
        capture_output=True,
        text=True,
    )
    assert r.returncode != 0
    last = r.stderr.strip().splitlines()
    assert any(
        line.startswith("ImportError: memstore's compiled extension") for line in last
    ), r.stderr
    assert "memstore._core is missing" in r.stderr
    assert "pip install -e ." in r.stderr
    assert "build_ext --inplace" in r.stderr


def test_import_from_a_checkout_names_the_installed_copy(tmp_path):
    # The checkout hides an installed copy (with its extension) further
    # along sys.path: the message points there.
    checkout = tmp_path / "checkout"
    installed = tmp_path / "site-packages" / "memstore"
    for package in (checkout / "memstore", installed):
        package.mkdir(parents=True)
        for source in PACKAGE_DIR.glob("*.py"):
            shutil.copy(source, package / source.name)
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    (installed / f"_core{suffix}").write_bytes(b"")  # only looked for, never loaded
    code = f"import sys; sys.path.append({str(installed.parent)!r}); import memstore"
    r = subprocess.run(
        [sys.executable, "-S", "-c", code], cwd=checkout, capture_output=True, text=True
    )
    assert r.returncode != 0
    assert f"instead of the installed copy in {installed}" in r.stderr, r.stderr
    assert "run from another directory" in r.stderr


def test_other_missing_modules_are_not_disguised(tmp_path):
    # Only a missing memstore._core gets the explanation; any other missing
    # module is reported as it is.
    checkout = tmp_path / "checkout"
    (checkout / "memstore").mkdir(parents=True)
    for source in PACKAGE_DIR.glob("*.py"):
        shutil.copy(source, checkout / "memstore" / source.name)
    (checkout / "memstore" / "_core.py").write_text("import memstore_no_such_module\n")
    r = subprocess.run(
        [sys.executable, "-S", "-c", "import memstore"],
        cwd=checkout,
        capture_output=True,
        text=True,
    )
    assert r.returncode != 0
    assert "No module named 'memstore_no_such_module'" in r.stderr
    assert "compiled extension" not in r.stderr
