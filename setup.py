"""Declares the C extension pipeline._fastsgd; everything else about the package is in pyproject.toml."""
import hashlib
from pathlib import Path

from setuptools import Extension, setup

SOURCE = "pipeline/_fastsgd.c"
# Baked into the module so that pipeline.fast can tell a build older than the source.
SOURCE_SHA256 = hashlib.sha256((Path(__file__).parent / SOURCE).read_bytes()).hexdigest()

setup(
    ext_modules=[
        Extension(
            "pipeline._fastsgd",
            [SOURCE],
            define_macros=[("FASTSGD_SOURCE_SHA256", f'"{SOURCE_SHA256}"')],
            # -ffp-contract=off: the compiler must not fuse a*b+c by itself; the kernel calls
            # fmaf exactly where PyTorch fuses, so every machine computes the same bits.
            extra_compile_args=["-O2", "-ffp-contract=off"],
            # Without a C compiler the package still installs; pipeline.fast then reports why
            # and runs train on PyTorch.
            optional=True,
        )
    ]
)
