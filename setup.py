"""Build of memstore's extension: the Cython binding plus the C core.

Project metadata lives in pyproject.toml; this file only declares the
extension, which setuptools cannot express declaratively.  The .pyx is
cythonized at build time (no generated C is checked in), so a clean checkout
builds with ``pip install .``.

On Linux the extension is stripped at link time: with the debug info that
Python's own CFLAGS ask for (``-g``) it is about 1.3 MB, stripped about
230 KB.  A build that asks for symbols keeps them: ``CFLAGS`` containing
``-g`` or ``-fsanitize`` (the ASan suite, .ci/asan_python.sh), or
``MEMSTORE_KEEP_SYMBOLS=1``.
"""

import os
import sys

from Cython.Build import cythonize
from setuptools import Extension, setup


def wants_symbols() -> bool:
    flags = os.environ.get("CFLAGS", "").split()
    return os.environ.get("MEMSTORE_KEEP_SYMBOLS", "") not in ("", "0") or any(
        f.startswith(("-g", "-fsanitize")) for f in flags
    )


# macOS keeps debug info out of the binary already; Windows links with MSVC.
strip = sys.platform.startswith("linux") and not wants_symbols()
extra_link_args = ["-s"] if strip else []
# MSVC optimises by default and takes no GCC-style flags.  A build that is
# stripped anyway does not make the debug info: -g0 overrides the -g of
# Python's CFLAGS and takes a third off compiling the generated _core.c
# (30 s -> 19 s of CPU), for the same shipped code.
# An -O in the CFLAGS of the environment wins (the ASan suite builds at -O1
# to compile in half the time).
user_optimises = any(f.startswith("-O") for f in os.environ.get("CFLAGS", "").split())
extra_compile_args = (
    []
    if sys.platform == "win32"
    else ([] if user_optimises else ["-O2"]) + (["-g0"] if strip else [])
)

core = Extension(
    "memstore._core",
    sources=["memstore/_core.pyx", "csrc/radix.c", "csrc/pool.c", "csrc/snapshot.c"],
    include_dirs=["csrc"],
    depends=[
        "csrc/radix.h",
        "csrc/pool.h",
        "csrc/snapshot.h",
        "memstore/_radix.pxd",
        "memstore/_snapshot.pxd",
        "memstore/_persist.pxi",
    ],
    extra_compile_args=extra_compile_args,
    extra_link_args=extra_link_args,
)

setup(
    ext_modules=cythonize(
        [core],
        compiler_directives={"language_level": "3", "embedsignature": True},
    ),
)
