"""An mkdocs hook: serves the plots in benchmarks/results/ as results/*.png.

The benchmark scripts write their plots there, and the pages show them from
there, so a rerun updates the site with no copy to keep in step (a symlink
would do the same, but not in a Windows checkout).  The tables next to them
are pulled into benchmarks.md by the snippets extension.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results"


def on_files(files: Files, config: Any, **kwargs: Any) -> Files:
    for plot in sorted(RESULTS.glob("*.png")):
        files.append(
            File.generated(config, f"results/{plot.name}", abs_src_path=str(plot))
        )
    return files
