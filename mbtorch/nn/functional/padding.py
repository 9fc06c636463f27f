"""Padding: constant, reflect, replicate, circular."""

from __future__ import annotations

from typing import Any, Sequence

import mbtorch as _mt

from ...core.tensor import Tensor

__all__ = ["pad"]


def pad(input: Tensor, pad: Sequence[int], mode: str = "constant", value: Any = None) -> Tensor:
    """Pad the last ``len(pad) // 2`` dims: constant, reflect, replicate or circular."""
    pad = tuple(pad)
    if len(pad) % 2:
        raise RuntimeError("pad(): Padding length must be divisible by 2")
    if len(pad) // 2 > input.dim():
        raise RuntimeError("pad(): Padding length should be less than or equal to two times "
                           "the input dimension")
    if mode == "constant":
        from ...core.ops.joining import pad_constant

        return pad_constant(input, pad, 0 if value is None else value)
    if value is not None and value != 0:
        raise ValueError(f"pad(): padding mode '{mode}' doesn't take in value argument")
    n = len(pad) // 2
    if mode in ("reflect", "replicate", "circular") and \
            (n > 3 or input.dim() not in (n + 1, n + 2)):
        raise NotImplementedError(
            f"pad(): Padding size {len(pad)} is not supported for {input.dim()}D input tensor. "
            "Non-constant padding pads the last 1, 2 or 3 dims of a (batched or unbatched) "
            "input: 2D or 3D input with padding size 2, 3D or 4D with 4, 4D or 5D with 6")
    out = input
    for i in range(len(pad) // 2):
        dim = input.dim() - 1 - i
        lo, hi = pad[2 * i], pad[2 * i + 1]
        size = out.shape[dim]
        if mode == "reflect":
            if lo >= size or hi >= size:
                raise RuntimeError(f"pad(): Padding size should be less than the corresponding "
                                   f"input dimension, but got: padding ({lo}, {hi}) at "
                                   f"dimension {dim} of input {list(input.shape)}")
            idx = [abs(j) if j < 0 else (2 * (size - 1) - j if j >= size else j)
                   for j in range(-lo, size + hi)]
        elif mode == "replicate":
            idx = [min(max(j, 0), size - 1) for j in range(-lo, size + hi)]
        elif mode == "circular":
            idx = [j % size for j in range(-lo, size + hi)]
        else:
            raise NotImplementedError(f"pad(): unsupported padding mode '{mode}'")
        out = out.index_select(dim, _mt.tensor(idx, device=input.device))
    return out
