"""``mbtorch.backends.mkl``: whether the ``cpu`` device's BLAS is Intel oneMKL — true only
when the installed NumPy is built against MKL (PyTorch: whether it is built with MKL).

``verbose`` has PyTorch's interface; mbtorch cannot switch MKL's verbose mode (no binding to
it), so entering it with ``VERBOSE_ON`` fails as PyTorch's does when it cannot.
"""

from __future__ import annotations

from typing import Any

__all__ = ["is_available", "verbose", "VERBOSE_OFF", "VERBOSE_ON"]

VERBOSE_OFF = 0
VERBOSE_ON = 1


def numpy_blas_name() -> str:
    """The BLAS NumPy reports it was built with (lower case; "" when it does not say)."""
    import numpy as np

    try:
        config = np.show_config(mode="dicts")
    except TypeError:  # NumPy < 1.25 prints only
        return ""
    return str(config.get("Build Dependencies", {}).get("blas", {}).get("name", "")).lower()


def is_available() -> bool:
    """Whether NumPy (the cpu device) computes through MKL."""
    return "mkl" in numpy_blas_name()


class verbose:  # noqa: N801 - torch's spelling
    """``with mbtorch.backends.mkl.verbose(VERBOSE_ON):`` as PyTorch; see the module note."""

    def __init__(self, enable: int) -> None:
        self.enable = enable

    def __enter__(self) -> Any:
        if self.enable == VERBOSE_OFF:
            return None
        raise AssertionError("Failed to set MKL into verbose mode. Please consider to disable "
                             "this verbose scope.")

    def __exit__(self, *exc: Any) -> bool:
        return False
