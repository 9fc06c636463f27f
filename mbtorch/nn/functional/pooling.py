"""Max and average pooling over ``Tensor.unfold`` windows (views), adaptive pooling."""

from __future__ import annotations

from typing import Any

import mbtorch as _mt

from ...core.ops.windows import ceil_extra as _ceil_extra
from ...core.ops.windows import max_pool
from ...core.ops.windows import windows as _windows
from ...core.tensor import Tensor
from ._utils import _tuple
from .padding import pad

__all__ = [
    "max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d",
    "max_pool1d_with_indices", "max_pool2d_with_indices", "max_pool3d_with_indices"
]


def _pool_setup(input: Tensor, kernel_size: Any, stride: Any, padding: Any, dilation: Any,
                n: int, op: str):
    if input.dim() not in (n + 1, n + 2):
        raise RuntimeError(f"{op}(): Expected {n + 1}D or {n + 2}D input, got "
                           f"{list(input.shape)}")
    k = _tuple(kernel_size, n, "kernel_size", op)
    s = k if stride is None or (not isinstance(stride, int) and len(stride) == 0) \
        else _tuple(stride, n, "stride", op)
    p = _tuple(padding, n, "padding", op)
    d = _tuple(dilation, n, "dilation", op)
    for i in range(n):
        if p[i] * 2 > k[i]:
            raise RuntimeError(f"{op}(): pad should be at most half of effective kernel size, "
                               f"but got pad={p[i]}, kernel_size={k[i]}")
    return k, s, p, d


def _max_poolnd(input: Tensor, kernel_size: Any, stride: Any, padding: Any, dilation: Any,
                ceil_mode: bool, return_indices: bool, n: int, op: str) -> Any:
    k, s, p, d = _pool_setup(input, kernel_size, stride, padding, dilation, n, op)
    unbatched = input.dim() == n + 1
    x = input.unsqueeze(0) if unbatched else input
    for i in range(n):
        size = x.shape[2 + i] + 2 * p[i] + _ceil_extra(x.shape[2 + i], k[i], s[i], p[i], d[i],
                                                         ceil_mode)
        if (size - d[i] * (k[i] - 1) - 1) // s[i] + 1 <= 0:
            raise RuntimeError(f"{op}(): Given input size: {list(input.shape)}. Calculated "
                               "output size is too small")
    # one op (values and the argmax's flat index): its gradient is a single scatter
    out, indices = max_pool(x, tuple(k), tuple(s), tuple(p), tuple(d), bool(ceil_mode))
    if unbatched:
        out, indices = out.squeeze(0), indices.squeeze(0)
    return (out, indices) if return_indices else out


def max_pool1d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
               dilation: Any = 1, ceil_mode: bool = False, return_indices: bool = False) -> Any:
    return _max_poolnd(input, kernel_size, stride, padding, dilation, ceil_mode,
                       return_indices, 1, "max_pool1d")


def max_pool2d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
               dilation: Any = 1, ceil_mode: bool = False, return_indices: bool = False) -> Any:
    return _max_poolnd(input, kernel_size, stride, padding, dilation, ceil_mode,
                       return_indices, 2, "max_pool2d")


def max_pool3d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
               dilation: Any = 1, ceil_mode: bool = False, return_indices: bool = False) -> Any:
    return _max_poolnd(input, kernel_size, stride, padding, dilation, ceil_mode,
                       return_indices, 3, "max_pool3d")


def max_pool1d_with_indices(input: Tensor, kernel_size: Any, stride: Any = None,
                            padding: Any = 0, dilation: Any = 1, ceil_mode: bool = False,
                            return_indices: bool = True) -> Any:
    return max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool2d_with_indices(input: Tensor, kernel_size: Any, stride: Any = None,
                            padding: Any = 0, dilation: Any = 1, ceil_mode: bool = False,
                            return_indices: bool = True) -> Any:
    return max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool3d_with_indices(input: Tensor, kernel_size: Any, stride: Any = None,
                            padding: Any = 0, dilation: Any = 1, ceil_mode: bool = False,
                            return_indices: bool = True) -> Any:
    return max_pool3d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def _avg_poolnd(input: Tensor, kernel_size: Any, stride: Any, padding: Any, ceil_mode: bool,
                count_include_pad: bool, divisor_override: Any, n: int, op: str) -> Tensor:
    k, s, p, d = _pool_setup(input, kernel_size, stride, padding, 1, n, op)
    unbatched = input.dim() == n + 1
    x = input.unsqueeze(0) if unbatched else input
    spatial = x.shape[2:]
    extra = [_ceil_extra(spatial[i], k[i], s[i], p[i], 1, ceil_mode) for i in range(n)]
    ones = _mt.ones((1, 1) + tuple(spatial), dtype=x.dtype, device=x.device)
    flat = []
    for i in reversed(range(n)):
        flat += [p[i], p[i] + extra[i]]
    if any(flat):
        x = pad(x, flat)
    sums = _windows(x, k, s, d).sum(tuple(range(-n, 0)))
    if divisor_override:
        out = sums / divisor_override
    else:
        if count_include_pad:
            # padding counts, the ceil-mode overhang does not
            inc = [p[i] for i in range(n)]
            inside = pad(ones, [v for i in reversed(range(n)) for v in (inc[i], inc[i])],
                         value=1.0)
            flat2 = []
            for i in reversed(range(n)):
                flat2 += [0, extra[i]]
            inside = pad(inside, flat2) if any(flat2) else inside
        else:
            inside = pad(ones, flat) if any(flat) else ones
        counts = _windows(inside, k, s, d).sum(tuple(range(-n, 0)))
        out = sums / counts
    return out.squeeze(0) if unbatched else out


def avg_pool1d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
               ceil_mode: bool = False, count_include_pad: bool = True) -> Tensor:
    return _avg_poolnd(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                       None, 1, "avg_pool1d")


def avg_pool2d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
               ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: Any = None) -> Tensor:
    return _avg_poolnd(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                       divisor_override, 2, "avg_pool2d")


def avg_pool3d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
               ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: Any = None) -> Tensor:
    return _avg_poolnd(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                       divisor_override, 3, "avg_pool3d")
