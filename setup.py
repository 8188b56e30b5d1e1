"""Build of memstore's extension: the Cython binding plus the C core.

Project metadata lives in pyproject.toml; this file only declares the
extension, which setuptools cannot express declaratively.  The .pyx is
cythonized at build time (no generated C is checked in), so a clean checkout
builds with ``pip install .``.
"""

import sys

from Cython.Build import cythonize
from setuptools import Extension, setup

# MSVC optimises by default and takes no GCC-style flags.
extra_compile_args = [] if sys.platform == "win32" else ["-O2"]

core = Extension(
    "memstore._core",
    sources=["memstore/_core.pyx", "csrc/radix.c"],
    include_dirs=["csrc"],
    depends=["csrc/radix.h", "memstore/_radix.pxd"],
    extra_compile_args=extra_compile_args,
)

setup(
    ext_modules=cythonize(
        [core],
        compiler_directives={"language_level": "3", "embedsignature": True},
    ),
)
