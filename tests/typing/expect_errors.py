"""Checks that mypy and pyright both reject exactly the marked lines of
``tests/typing/fail_*.py``.

A line marked ``# expect-error`` must get at least one error from each
checker (else a check that should fail passes silently), and no unmarked
line may get one (else a file fails for a reason nobody meant, and hides
whether its marked lines fail).  Run by ``.ci/typecheck.sh``::

    python tests/typing/expect_errors.py [fail_x.py ...]

Exit status 0 when both checkers agree with every marker, 1 otherwise.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
MARKER = re.compile(r"#\s*expect-error\b")
MYPY_ERROR = re.compile(
    r"^(?P<path>[^:\n]+):(?P<line>\d+):(?:\d+:)? error: (?P<message>.*)$"
)


def marked_lines(path: Path) -> set[int]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return {number for number, line in enumerate(lines, 1) if MARKER.search(line)}


def run(command: list[str]) -> str:
    done = subprocess.run(
        command, capture_output=True, text=True, cwd=HERE.parent.parent
    )
    if done.returncode not in (0, 1):  # 1: errors found; anything else: it broke
        sys.exit(
            f"{command[2]} failed to run ({done.returncode}):\n{done.stdout}{done.stderr}"
        )
    return done.stdout


def mypy_errors(files: list[Path]) -> dict[Path, dict[int, list[str]]]:
    # follow-imports=silent: errors in memstore itself are the other run's.
    output = run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(HERE / "mypy.ini"),
            "--follow-imports=silent",
            "--no-error-summary",
            "--show-absolute-path",
            *map(str, files),
        ]
    )
    found: dict[Path, dict[int, list[str]]] = {}
    for line in output.splitlines():
        match = MYPY_ERROR.match(line)
        if match:
            path = Path(match["path"]).resolve()
            found.setdefault(path, {}).setdefault(int(match["line"]), []).append(
                match["message"]
            )
    return found


def pyright_errors(files: list[Path]) -> dict[Path, dict[int, list[str]]]:
    output = run(
        [
            sys.executable,
            "-m",
            "basedpyright",
            "--project",
            str(HERE / "pyrightconfig.json"),
            "--pythonpath",
            sys.executable,
            "--outputjson",
            *map(str, files),
        ]
    )
    found: dict[Path, dict[int, list[str]]] = {}
    for diagnostic in json.loads(output)["generalDiagnostics"]:
        if diagnostic["severity"] != "error":
            continue
        path = Path(diagnostic["file"]).resolve()
        line = diagnostic["range"]["start"]["line"] + 1
        message = diagnostic["message"].splitlines()[0]
        found.setdefault(path, {}).setdefault(line, []).append(message)
    return found


def compare(
    checker: str, files: list[Path], errors: dict[Path, dict[int, list[str]]]
) -> int:
    problems = 0
    for path in files:
        expected = marked_lines(path)
        got = errors.get(path, {})
        source = path.read_text(encoding="utf-8").splitlines()
        name = path.relative_to(HERE.parent.parent)
        for line in sorted(expected - got.keys()):
            problems += 1
            print(
                f"{name}:{line}: {checker} accepts a line it must reject: {source[line - 1].strip()}"
            )
        for line in sorted(got.keys() - expected):
            problems += 1
            print(f"{name}:{line}: {checker} rejects an unmarked line: {got[line][0]}")
        print(
            f"{checker}: {name}: {len(expected & got.keys())} of {len(expected)} marked lines rejected"
        )
    return problems


def main(argv: list[str]) -> int:
    files = [Path(a).resolve() for a in argv] or sorted(HERE.glob("fail_*.py"))
    for path in files:
        if not marked_lines(path):
            sys.exit(f"{path}: no line is marked '# expect-error'")
    problems = compare("mypy", files, mypy_errors(files))
    problems += compare("pyright", files, pyright_errors(files))
    if problems:
        print(f"{problems} disagreement(s) with the expect-error markers")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
