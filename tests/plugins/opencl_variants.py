"""Probe functions for tests/plugins/test_opencl_probe.py. They run in the probe's child
process (``python -m mbtorch_opencl.probe``), so they live in an importable module."""

from __future__ import annotations

import os

from mbtorch_opencl import gemm

# a GEMM update that does not compile: fma() with two arguments
BROKEN_MUL = "fma(av, bv)"


def gemm_with_broken_variant(dev, variant) -> None:
    gemm.MUL["broken"] = BROKEN_MUL
    gemm.probe_variant(dev, variant)


def abort(dev, variant) -> None:
    """What a driver whose compiler crashes does to the process."""
    os.abort()


def wrong(dev, variant) -> None:
    raise RuntimeError("gemm variant computed 3 of 1406 elements wrongly")
