"""Max and average pooling over ``Tensor.unfold`` windows (views), adaptive pooling."""

from __future__ import annotations

from typing import Any

import mbtorch as _mt

from ...core.tensor import Tensor
from ._utils import _tuple
from .conv import _windows
from .padding import pad


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


def _ceil_extra(size: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    if not ceil_mode:
        return 0
    out = -(-(size + 2 * p - d * (k - 1) - 1) // s) + 1
    if (out - 1) * s >= size + p:
        out -= 1
    return max(0, (out - 1) * s + d * (k - 1) + 1 - (size + 2 * p))


def _max_poolnd(input: Tensor, kernel_size: Any, stride: Any, padding: Any, dilation: Any,
                ceil_mode: bool, return_indices: bool, n: int, op: str) -> Any:
    k, s, p, d = _pool_setup(input, kernel_size, stride, padding, dilation, n, op)
    unbatched = input.dim() == n + 1
    x = input.unsqueeze(0) if unbatched else input
    spatial = x.shape[2:]
    extra = [_ceil_extra(spatial[i], k[i], s[i], p[i], d[i], ceil_mode) for i in range(n)]
    if any(p) or any(extra):
        flat = []
        for i in reversed(range(n)):
            flat += [p[i], p[i] + extra[i]]
        x = pad(x, flat, value=float("-inf") if x.is_floating_point() else
                _mt.iinfo(x.dtype).min)
    win = _windows(x, k, s, d)
    out_sp = tuple(win.shape[2:2 + n])
    flat_win = win.reshape(tuple(win.shape[:2 + n]) + (-1,))
    # gather at the argmax so the gradient reaches one element per window, as PyTorch
    idx = flat_win.argmax(-1, keepdim=True)
    out = flat_win.gather(-1, idx).squeeze(-1)
    if unbatched:
        out = out.squeeze(0)
    if not return_indices:
        return out
    indices = _pool_indices(idx.squeeze(-1), out_sp, k, s, p, d, spatial)
    return out, indices.squeeze(0) if unbatched else indices


def _pool_indices(idx: Tensor, out_sp: tuple, k: tuple, s: tuple, p: tuple, d: tuple,
                  spatial: tuple) -> Tensor:
    """Flat indices into the unpadded input of each window's argmax (``return_indices``)."""
    n = len(k)
    flat = _mt.zeros_like(idx)
    rem = idx
    strides_in = []
    acc = 1
    for size in reversed(spatial):
        strides_in.insert(0, acc)
        acc *= size
    kstride = []
    acc = 1
    for kk in reversed(k):
        kstride.insert(0, acc)
        acc *= kk
    for i in range(n):
        ki = _mt.div(rem, kstride[i], rounding_mode="floor")
        rem = rem - ki * kstride[i]
        shape = [1] * idx.dim()
        shape[2 + i] = out_sp[i]
        oi = _mt.arange(out_sp[i], device=idx.device).reshape(shape)
        pos = oi * s[i] + ki * d[i] - p[i]
        flat = flat + pos * strides_in[i]
    return flat


def max_pool1d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
               dilation: Any = 1, ceil_mode: bool = False, return_indices: bool = False) -> Any:
    return _max_poolnd(input, kernel_size, stride, padding, dilation, ceil_mode,
                       return_indices, 1, "max_pool1d")


def max_pool2d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
               dilation: Any = 1, ceil_mode: bool = False, return_indices: bool = False) -> Any:
    return _max_poolnd(input, kernel_size, stride, padding, dilation, ceil_mode,
                       return_indices, 2, "max_pool2d")


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


def adaptive_avg_pool2d(input: Tensor, output_size: Any) -> Tensor:
    """Average over PyTorch's adaptive windows [floor(i*H/oh), ceil((i+1)*H/oh))."""
    if input.dim() not in (3, 4):
        raise RuntimeError(f"adaptive_avg_pool2d(): Expected 3D or 4D input, got "
                           f"{list(input.shape)}")
    h, w = input.shape[-2:]
    oh, ow = _tuple(output_size, 2, "output_size", "adaptive_avg_pool2d")
    oh, ow = oh or h, ow or w
    if h % oh == 0 and w % ow == 0:
        return avg_pool2d(input, (h // oh, w // ow))
    rows = []
    for i in range(oh):
        r0, r1 = (i * h) // oh, -(-((i + 1) * h) // oh)
        cols = []
        for j in range(ow):
            c0, c1 = (j * w) // ow, -(-((j + 1) * w) // ow)
            cols.append(input[..., r0:r1, c0:c1].mean((-2, -1)))
        rows.append(_mt.stack(cols, -1))
    return _mt.stack(rows, -2)


def adaptive_avg_pool1d(input: Tensor, output_size: Any) -> Tensor:
    return adaptive_avg_pool2d(input.unsqueeze(-2), (1, _tuple(output_size, 1, "output_size",
                                                               "adaptive_avg_pool1d")[0])
                               ).squeeze(-2)
