"""A griffe extension for the API reference: documents methods that a stub
declares only as ``@overload``s.

A ``.pyi`` gives an overloaded method no implementation (``get`` in
``memstore/_core.pyi``), and griffe keeps such overloads aside without making
them a member, so the reference would skip the method.  This makes the last
overload the member, with every overload listed and the first docstring any
of them carries.
"""

from __future__ import annotations

from typing import Any

import griffe


class StubOnlyOverloads(griffe.Extension):
    def on_class_members(self, *, cls: griffe.Class, **kwargs: Any) -> None:
        for name, overloads in list(cls.overloads.items()):
            if not overloads or name in cls.members:
                continue
            method = overloads[-1]
            method.overloads = overloads[:-1] or None
            if method.docstring is None:
                method.docstring = next(
                    (o.docstring for o in overloads if o.docstring is not None), None
                )
            cls.set_member(name, method)
            del cls.overloads[name]
