"""The docstrings of ``memstore/_core.pyi`` against the built extension's.

Editors read docstrings from the stub, the source of truth is ``_core.pyx``:
this module lists where the two differ and can copy the built module's
docstrings into the stub::

    python tests/typing/stub_docstrings.py          # list the differences
    python tests/typing/stub_docstrings.py --write  # copy them into the stub

(rebuild the extension first when ``_core.pyx`` changed).
``test_stub_docstrings.py`` fails while they differ.
"""

from __future__ import annotations

import ast
import inspect
import re
import sys
import types
from dataclasses import dataclass
from pathlib import Path

import memstore._core as core

STUB = Path(__file__).resolve().parent.parent.parent / "memstore" / "_core.pyi"
# Cython's embedsignature puts "Class.method(args)" and a blank line first.
EMBEDDED_SIGNATURE = re.compile(
    r"\A\w+(?:\.\w+)?\(.*?\)(?: -> [^\n]*)?(?:\n\n|\Z)", re.S
)


@dataclass
class Docstring:
    name: str  # "Class" or "Class.method"
    node: ast.Constant | None  # the stub's docstring node, if it has one
    indent: int  # column the stub's docstring (or def body) starts at
    stub: str | None
    built: str | None  # None: the built module has no such docstring
    missing_at_runtime: bool  # the built module has no such class/method


def _clean(doc: str | None, *, runtime: bool) -> str | None:
    if doc is None:
        return None
    if runtime:
        doc = EMBEDDED_SIGNATURE.sub("", doc, count=1)
    return inspect.cleandoc(doc)


def _slot_texts(member: str) -> set[str]:
    """What CPython says of a special method nobody documented."""
    kinds: tuple[type, ...] = (
        object,
        int,
        list,
        dict,
        type(iter([])),
        types.GeneratorType,
        types.CoroutineType,
        types.AsyncGeneratorType,
    )
    return {getattr(kind, member).__doc__ for kind in kinds if hasattr(kind, member)}


def _runtime_doc(class_name: str, member: str | None) -> tuple[bool, str | None]:
    """(present, docstring) of a class or of one of its methods."""
    cls: object = getattr(core, class_name, None)
    if not isinstance(cls, type):
        return False, None
    if member is None:
        return True, _clean(cls.__doc__, runtime=True)
    namespace: dict[str, object] = dict(vars(cls))
    if member not in namespace:  # inherited from object is no docstring of ours
        return False, None
    value = namespace[member]
    function: object = getattr(value, "__func__", value)  # a classmethod's function
    doc: object = getattr(function, "__doc__", None)
    if not isinstance(doc, str) or doc in _slot_texts(member):
        return True, None  # none, or CPython's for the slot ("Implement iter(self).")
    return True, _clean(doc, runtime=True) or None


def _stub_doc(node: ast.ClassDef | ast.FunctionDef) -> ast.Constant | None:
    first = node.body[0] if node.body else None
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
        if isinstance(first.value.value, str):
            return first.value
    return None


def _stub_text(node: ast.Constant | None) -> str | None:
    return None if node is None else inspect.cleandoc(str(node.value))


def docstrings() -> list[Docstring]:
    """Every class and method of the stub, with both docstrings.  Of
    overloads, the first one carrying a docstring speaks for the method."""
    tree = ast.parse(STUB.read_text(encoding="utf-8"))
    found: list[Docstring] = []
    for cls in tree.body:
        if not isinstance(cls, ast.ClassDef):
            continue
        node = _stub_doc(cls)
        present, built = _runtime_doc(cls.name, None)
        found.append(
            Docstring(
                cls.name, node, cls.col_offset + 4, _stub_text(node), built, not present
            )
        )
        seen: set[str] = set()
        for item in cls.body:
            if not isinstance(item, ast.FunctionDef) or item.name in seen:
                continue
            node = _stub_doc(item)
            if node is None and any(
                isinstance(d, ast.Name) and d.id == "overload"
                for d in item.decorator_list
            ):
                continue  # a later overload may carry it
            seen.add(item.name)
            present, built = _runtime_doc(cls.name, item.name)
            found.append(
                Docstring(
                    f"{cls.name}.{item.name}",
                    node,
                    item.col_offset + 4,
                    _stub_text(node),
                    built,
                    not present,
                )
            )
    return found


def differences() -> list[Docstring]:
    """Members the built module has whose docstrings differ from the stub's
    (members it does not have yet are left alone)."""
    return [d for d in docstrings() if not d.missing_at_runtime and d.stub != d.built]


def _render(text: str, indent: int) -> list[str]:
    if '"""' in text or "\\" in text:
        raise ValueError(
            f"cannot write this docstring as a plain literal: {text[:40]!r}"
        )
    pad = " " * indent
    lines = text.split("\n")
    if len(lines) == 1:
        return [f'{pad}"""{text}"""']
    body = [pad + line if line else "" for line in lines[1:]]
    # A one-paragraph docstring closes on its last line, a longer one alone.
    if "" in lines:
        return [f'{pad}"""{lines[0]}', *body, f'{pad}"""']
    body[-1] += '"""'
    return [f'{pad}"""{lines[0]}', *body]


def write() -> int:
    """Copies the built module's docstrings into the stub; returns how many."""
    lines = STUB.read_text(encoding="utf-8").split("\n")
    changes = [d for d in differences() if d.built is not None and d.node is not None]
    for d in sorted(
        changes, key=lambda d: d.node.lineno if d.node else 0, reverse=True
    ):
        assert (
            d.node is not None and d.built is not None and d.node.end_lineno is not None
        )
        lines[d.node.lineno - 1 : d.node.end_lineno] = _render(d.built, d.indent)
    STUB.write_text("\n".join(lines), encoding="utf-8")
    return len(changes)


def main(argv: list[str]) -> int:
    if argv == ["--write"]:
        print(f"updated {write()} docstring(s) in {STUB}")
    left = differences()
    for d in left:
        print(f"{d.name}: the stub's docstring differs from the built module's")
    return 1 if left else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
