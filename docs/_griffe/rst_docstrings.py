"""A griffe extension for the API reference: renders memstore's docstrings,
written for ``help()`` and doctest, as Markdown.

* ``:meth:`mget```-style roles (Sphinx cross-references) become code spans;
* a doctest session (``>>>`` lines and their output) becomes a fenced
  ``pycon`` block instead of running into the paragraph above it;
* a ``::`` literal block (the ``Example::`` of memstore.langchain) becomes a
  fenced ``python`` block.
The docstrings themselves stay plain text for ``help()`` and IDEs.
"""

from __future__ import annotations

import re
import textwrap
from typing import Any

import griffe

_ROLE = re.compile(r":(?:meth|func|class|attr|mod|data|exc|obj):`~?([^`]+)`")


def _markdown(text: str) -> str:
    text = _ROLE.sub(r"`\1`", text)
    lines = text.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.lstrip().startswith(">>>"):
            # A session runs to the next blank line.
            session = []
            while i < len(lines) and lines[i].strip():
                session.append(lines[i])
                i += 1
            out += [
                "```pycon",
                *textwrap.dedent("\n".join(session)).splitlines(),
                "```",
            ]
            continue
        if line.rstrip().endswith("::") and not line.lstrip().startswith(("-", "*")):
            # "Example::" then an indented block: a literal block.
            head = line.rstrip()[:-2].rstrip()
            out.append(head + ":" if head else "")
            i += 1
            block = []
            while i < len(lines) and (
                not lines[i].strip() or lines[i].startswith((" ", "\t"))
            ):
                block.append(lines[i])
                i += 1
            while block and not block[-1].strip():
                block.pop()
            out += [
                "",
                "```python",
                *textwrap.dedent("\n".join(block)).strip("\n").splitlines(),
                "```",
                "",
            ]
            continue
        out.append(line)
        i += 1
    return "\n".join(out)


class RstDocstringsAsMarkdown(griffe.Extension):
    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = _markdown(obj.docstring.value)
