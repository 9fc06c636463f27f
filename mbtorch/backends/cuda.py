"""``mbtorch.backends.cuda``: PyTorch's CUDA switches, answered from the plugins.

``is_built()`` is whether the cuda plugin (``mbtorch-cuda``) is installed, usable or not;
``mbtorch.cuda.is_available()`` says whether it can run. ``matmul.allow_tf32`` & co. and the
scaled-dot-product-attention switches read and set as in PyTorch and are kept for programs
that set them; no mbtorch kernel reads them: the cuda plugin's float32 products are full
float32 (as with ``allow_tf32=False``) and mbtorch has one attention implementation, the math
one, which runs whatever these say.
"""

from __future__ import annotations

from typing import Any

from ._flags import plugin_installed

__all__ = ["is_built", "matmul", "cuBLASModule", "enable_flash_sdp", "flash_sdp_enabled",
           "enable_mem_efficient_sdp", "mem_efficient_sdp_enabled", "enable_math_sdp",
           "math_sdp_enabled", "enable_cudnn_sdp", "cudnn_sdp_enabled",
           "is_flash_attention_available"]


def is_built() -> bool:
    """Whether the cuda plugin is installed (not whether a GPU is usable)."""
    return plugin_installed("cuda")


class cuBLASModule:  # noqa: N801 - torch's spelling
    """``matmul``: ``allow_tf32`` and ``allow_fp16_accumulation`` (default False), and
    ``allow_fp16_reduced_precision_reduction`` / ``allow_bf16_...`` (default True; set from a
    bool or ``(allow_reduced_precision, allow_splitk)``, the second readable as ``..._split_k``);
    other names are refused, as in PyTorch."""

    _BOOLS = {"allow_tf32": "set_allow_tf32_cublas",
              "allow_fp16_accumulation": "set_allow_fp16_accumulation_cublas"}
    _REDUCTIONS = ("allow_fp16_reduced_precision_reduction",
                   "allow_bf16_reduced_precision_reduction")

    def __init__(self) -> None:
        values = {"allow_tf32": False, "allow_fp16_accumulation": False}
        for name in self._REDUCTIONS:
            values[name], values[name + "_split_k"] = True, True
        object.__setattr__(self, "_values", values)

    def __getattr__(self, name: str) -> Any:
        values = object.__getattribute__(self, "_values")
        if name in values:
            return values[name]
        raise AttributeError(f"Unknown attribute {name}")

    def __setattr__(self, name: str, value: Any) -> None:
        if name in self._BOOLS:
            if not isinstance(value, bool):
                raise RuntimeError(f"{self._BOOLS[name]} expects a bool, but got "
                                   f"{type(value).__name__}")
            self._values[name] = value
        elif name in self._REDUCTIONS:
            self._values[name], self._values[name + "_split_k"] = _reduction(value, name)
        else:
            raise AttributeError(f"Unknown attribute {name}")


def _reduction(value: Any, name: str) -> tuple[bool, bool]:
    """``True`` or ``(allow_reduced_precision, allow_splitk)`` as PyTorch parses it."""
    if isinstance(value, bool):
        return value, True
    if isinstance(value, (list, tuple)) and 1 <= len(value) <= 2 and all(
            isinstance(v, bool) for v in value):
        pair = value[0], (value[1] if len(value) == 2 else True)
        if pair == (True, False):
            raise RuntimeError("allow_splitk=False is not supported when reduced precision "
                               "reductions are enabled")
        return pair
    raise TypeError(f"{name} expects a bool or a tuple/list of one or two bools, but got "
                    f"{value!r}")


matmul = cuBLASModule()

_SDP = {"flash": True, "mem_efficient": True, "math": True, "cudnn": True}


def _sdp_switch(kind: str):
    def enable(enabled: bool) -> None:
        if not isinstance(enabled, bool):
            raise RuntimeError(f"set_sdp_use_{kind} expects a bool, but got "
                               f"{type(enabled).__name__}")
        _SDP[kind] = enabled

    def query() -> bool:
        return _SDP[kind]

    enable.__name__, query.__name__ = f"enable_{kind}_sdp", f"{kind}_sdp_enabled"
    enable.__doc__ = f"Record whether the {kind} attention kernel may be used."
    query.__doc__ = f"Whether the {kind} attention kernel is enabled (recorded flag)."
    return enable, query


enable_flash_sdp, flash_sdp_enabled = _sdp_switch("flash")
enable_mem_efficient_sdp, mem_efficient_sdp_enabled = _sdp_switch("mem_efficient")
enable_math_sdp, math_sdp_enabled = _sdp_switch("math")
enable_cudnn_sdp, cudnn_sdp_enabled = _sdp_switch("cudnn")


def is_flash_attention_available() -> bool:
    """False: mbtorch has no flash-attention kernel."""
    return False
