"""Adaptive (average and max), power-average (LP) and fractional max pooling, and max
unpooling, in 1, 2 and 3 spatial dims."""

from __future__ import annotations

import itertools
from typing import Any

import mbtorch as _mt

from ...core.ops.windows import max_pool
from ...core.tensor import Tensor
from ._utils import _tuple
from .activation import relu
from .pooling import avg_pool1d, avg_pool2d, avg_pool3d, max_pool1d, max_pool2d, max_pool3d

__all__ = [
    "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d", "adaptive_max_pool1d",
    "adaptive_max_pool2d", "adaptive_max_pool3d", "adaptive_max_pool1d_with_indices",
    "adaptive_max_pool2d_with_indices", "adaptive_max_pool3d_with_indices", "lp_pool1d",
    "lp_pool2d", "lp_pool3d", "max_unpool1d", "max_unpool2d", "max_unpool3d",
    "fractional_max_pool2d", "fractional_max_pool3d", "fractional_max_pool2d_with_indices",
    "fractional_max_pool3d_with_indices"
]


def _adaptive_setup(input: Tensor, output_size: Any, n: int, op: str) -> tuple:
    if input.dim() not in (n + 1, n + 2) or any(s == 0 for s in input.shape[-n:]):
        raise RuntimeError(f"{op}(): Expected {n + 1}D or {n + 2}D tensor with non-zero spatial "
                           f"sizes, but got {list(input.shape)}")
    sizes = tuple(input.shape[-n:])
    out = tuple(o if o is not None else s
                for o, s in zip(_tuple(output_size, n, "output_size", op), sizes))
    if any(o < 0 for o in out):
        raise RuntimeError(f"{op}(): output_size must be non-negative, got {out}")
    return sizes, out


def _bounds(i: int, size: int, out: int) -> tuple[int, int]:
    """PyTorch's adaptive window along one dim: [floor(i*size/out), ceil((i+1)*size/out))."""
    return (i * size) // out, -(-((i + 1) * size) // out)


def _adaptive_avg(input: Tensor, output_size: Any, n: int, op: str) -> Tensor:
    sizes, out = _adaptive_setup(input, output_size, n, op)
    x = input
    # averages over boxes are separable: pool one spatial dim at a time
    for i in range(n):
        dim = x.dim() - n + i
        size, o = sizes[i], out[i]
        if size % o == 0:
            shape = tuple(x.shape[:dim]) + (o, size // o) + tuple(x.shape[dim + 1:])
            x = x.reshape(shape).mean(dim + 1)
        else:
            parts = [x.narrow(dim, lo, hi - lo).mean(dim, keepdim=True)
                     for lo, hi in (_bounds(j, size, o) for j in range(o))]
            x = _mt.cat(parts, dim)
    return x


def adaptive_avg_pool1d(input: Tensor, output_size: Any) -> Tensor:
    return _adaptive_avg(input, output_size, 1, "adaptive_avg_pool1d")


def adaptive_avg_pool2d(input: Tensor, output_size: Any) -> Tensor:
    return _adaptive_avg(input, output_size, 2, "adaptive_avg_pool2d")


def adaptive_avg_pool3d(input: Tensor, output_size: Any) -> Tensor:
    return _adaptive_avg(input, output_size, 3, "adaptive_avg_pool3d")


def _adaptive_max(input: Tensor, output_size: Any, n: int, op: str) -> tuple[Tensor, Tensor]:
    sizes, out = _adaptive_setup(input, output_size, n, op)
    unbatched = input.dim() == n + 1
    x = input.unsqueeze(0) if unbatched else input
    if all(s % o == 0 for s, o in zip(sizes, out)):
        k = tuple(s // o for s, o in zip(sizes, out))
        vals, idx = max_pool(x, k, k, (0,) * n, (1,) * n, False)
    else:
        vals, idx = _adaptive_max_cells(x, sizes, out)
    return (vals.squeeze(0), idx.squeeze(0)) if unbatched else (vals, idx)


def _adaptive_max_cells(x: Tensor, sizes: tuple, out: tuple) -> tuple[Tensor, Tensor]:
    """Uneven windows: one max per output cell, its index mapped to the flat input plane."""
    n = len(sizes)
    vals, idxs = [], []
    for cell in itertools.product(*(range(o) for o in out)):
        box = [_bounds(c, s, o) for c, s, o in zip(cell, sizes, out)]
        win = x[(slice(None), slice(None)) + tuple(slice(lo, hi) for lo, hi in box)]
        v, a = win.reshape(x.shape[0], x.shape[1], -1).max(-1)
        flat = None
        for d in range(n):
            inner = 1
            for lo, hi in box[d + 1:]:
                inner *= hi - lo
            coord = (a // inner) % (box[d][1] - box[d][0]) + box[d][0]
            plane = 1
            for s in sizes[d + 1:]:
                plane *= s
            flat = coord * plane if flat is None else flat + coord * plane
        vals.append(v)
        idxs.append(flat)
    shape = (x.shape[0], x.shape[1]) + tuple(out)
    return _mt.stack(vals, -1).reshape(shape), _mt.stack(idxs, -1).reshape(shape)


def adaptive_max_pool1d(input: Tensor, output_size: Any, return_indices: bool = False) -> Any:
    v, i = _adaptive_max(input, output_size, 1, "adaptive_max_pool1d")
    return (v, i) if return_indices else v


def adaptive_max_pool2d(input: Tensor, output_size: Any, return_indices: bool = False) -> Any:
    v, i = _adaptive_max(input, output_size, 2, "adaptive_max_pool2d")
    return (v, i) if return_indices else v


def adaptive_max_pool3d(input: Tensor, output_size: Any, return_indices: bool = False) -> Any:
    v, i = _adaptive_max(input, output_size, 3, "adaptive_max_pool3d")
    return (v, i) if return_indices else v


def adaptive_max_pool1d_with_indices(input: Tensor, output_size: Any,
                                     return_indices: bool = True) -> tuple:
    return _adaptive_max(input, output_size, 1, "adaptive_max_pool1d")


def adaptive_max_pool2d_with_indices(input: Tensor, output_size: Any,
                                     return_indices: bool = True) -> tuple:
    return _adaptive_max(input, output_size, 2, "adaptive_max_pool2d")


def adaptive_max_pool3d_with_indices(input: Tensor, output_size: Any,
                                     return_indices: bool = True) -> tuple:
    return _adaptive_max(input, output_size, 3, "adaptive_max_pool3d")


def _lp_pool(input: Tensor, norm_type: float, kernel_size: Any, stride: Any, ceil_mode: bool,
             n: int, op: str) -> Tensor:
    avg = (avg_pool1d, avg_pool2d, avg_pool3d)[n - 1]
    mx = (max_pool1d, max_pool2d, max_pool3d)[n - 1]
    k = _tuple(kernel_size, n, "kernel_size", op)
    if norm_type == float("inf"):
        return mx(input.abs(), k, stride, 0, 1, ceil_mode)
    if norm_type == -float("inf"):
        return -mx(-input.abs(), k, stride, 0, 1, ceil_mode)
    out = avg(input.pow(norm_type), k, stride, 0, ceil_mode)
    count = 1
    for v in k:
        count *= v
    return (_mt.sign(out) * relu(out.abs())).mul(count).pow(1.0 / norm_type)


def lp_pool1d(input: Tensor, norm_type: float, kernel_size: Any, stride: Any = None,
              ceil_mode: bool = False) -> Tensor:
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 1, "lp_pool1d")


def lp_pool2d(input: Tensor, norm_type: float, kernel_size: Any, stride: Any = None,
              ceil_mode: bool = False) -> Tensor:
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 2, "lp_pool2d")


def lp_pool3d(input: Tensor, norm_type: float, kernel_size: Any, stride: Any = None,
              ceil_mode: bool = False) -> Tensor:
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 3, "lp_pool3d")


def _unpool_size(input: Tensor, k: tuple, s: tuple, p: tuple, output_size: Any,
                 op: str) -> tuple:
    n = len(k)
    default = [(input.shape[-n + d] - 1) * s[d] + k[d] - 2 * p[d] for d in range(n)]
    if output_size is None:
        return tuple(default)
    size = list(output_size)
    if len(size) == n + 2:
        size = size[2:]
    if len(size) != n:
        raise ValueError(f"{op}(): output_size should be a sequence containing {n} or {n + 2} "
                         f"elements, but it has a length of '{len(size)}'")
    for d in range(n):
        lo, hi = default[d] - s[d], default[d] + s[d]
        if not lo < size[d] < hi:
            raise ValueError(f'{op}(): invalid output_size "{list(output_size)}" (dim {d} must '
                             f"be between {lo} and {hi})")
    return tuple(size)


def _max_unpool(input: Tensor, indices: Tensor, kernel_size: Any, stride: Any, padding: Any,
                output_size: Any, n: int, op: str) -> Tensor:
    if input.dim() not in (n + 1, n + 2):
        raise RuntimeError(f"{op}(): Expected {n + 1}D or {n + 2}D input, got "
                           f"{list(input.shape)}")
    if indices.shape != input.shape:
        raise RuntimeError(f"{op}(): Expected shape of indices to be same as that of the input "
                           f"tensor ({list(input.shape)}) but got indices tensor with shape: "
                           f"{list(indices.shape)}")
    k = _tuple(kernel_size, n, "kernel_size", op)
    s = k if stride is None else _tuple(stride, n, "stride", op)
    p = _tuple(padding, n, "padding", op)
    size = _unpool_size(input, k, s, p, output_size, op)
    lead = tuple(input.shape[:-n])
    plane = 1
    for v in size:
        plane *= v
    flat_idx = indices.reshape(lead + (-1,))
    if flat_idx.numel() and bool(((flat_idx < 0) | (flat_idx >= plane)).any()):
        raise RuntimeError(f"{op}(): Found an invalid max index (output volume is {plane})")
    out = _mt.zeros(lead + (plane,), dtype=input.dtype, device=input.device)
    out = out.scatter(len(lead), flat_idx, input.reshape(lead + (-1,)))
    return out.reshape(lead + size)


def max_unpool1d(input: Tensor, indices: Tensor, kernel_size: Any, stride: Any = None,
                 padding: Any = 0, output_size: Any = None) -> Tensor:
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 1,
                       "max_unpool1d")


def max_unpool2d(input: Tensor, indices: Tensor, kernel_size: Any, stride: Any = None,
                 padding: Any = 0, output_size: Any = None) -> Tensor:
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 2,
                       "max_unpool2d")


def max_unpool3d(input: Tensor, indices: Tensor, kernel_size: Any, stride: Any = None,
                 padding: Any = 0, output_size: Any = None) -> Tensor:
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 3,
                       "max_unpool3d")


def _fractional_starts(sample: Tensor, size: int, out: int, k: int) -> Tensor:
    """PyTorch's pseudo-random window starts along one dim, computed in the input's dtype:
    ``int((i + u) * alpha) - int(u * alpha)``, the last window flush with the end."""
    lead = tuple(sample.shape)
    if out == 1:
        return _mt.full(lead + (1,), size - k, dtype=_mt.int64, device=sample.device)
    alpha = _mt.tensor(size - k, dtype=sample.dtype) / _mt.tensor(out - 1, dtype=sample.dtype)
    i = _mt.arange(out - 1, device=sample.device).to(sample.dtype)
    u = sample.unsqueeze(-1)
    starts = ((i + u) * alpha).trunc().long() - (u * alpha).trunc().long()
    last = _mt.full(lead + (1,), size - k, dtype=_mt.int64, device=sample.device)
    return _mt.cat([starts, last], -1)


def _fractional_max(input: Tensor, kernel_size: Any, output_size: Any, output_ratio: Any,
                    return_indices: bool, samples: Tensor | None, n: int, op: str) -> Any:
    if input.dim() not in (n + 1, n + 2):
        raise RuntimeError(f"{op}(): Expected {n + 1}D or {n + 2}D tensor, but got "
                           f"{list(input.shape)}")
    if output_size is None and output_ratio is None:
        raise ValueError(f"{op} requires specifying either an output_size or an output_ratio")
    k = _tuple(kernel_size, n, "kernel_size", op)
    sizes = tuple(input.shape[-n:])
    if output_size is None:
        ratio = output_ratio if isinstance(output_ratio, (tuple, list)) else (output_ratio,) * n
        output_size = [int(s * r) for s, r in zip(sizes, ratio)]
    out = _tuple(output_size, n, "output_size", op)
    for i in range(n):
        if out[i] + k[i] - 1 > sizes[i]:
            raise RuntimeError(f"{op}(): out(): pool size {k[i]} too large relative to input "
                               f"size {sizes[i]} for output size {out[i]}")
    x = input.unsqueeze(0) if input.dim() == n + 1 else input
    batch, chans = x.shape[0], x.shape[1]
    if samples is None:
        samples = _mt.rand(batch, chans, n, dtype=input.dtype, device=input.device)
    if tuple(samples.shape) != (batch, chans, n):
        raise RuntimeError(f"{op}(): expected _random_samples of shape {(batch, chans, n)}, "
                           f"got {tuple(samples.shape)}")
    # sample j of a plane drives dim n-1-j in 2-D (PyTorch's (W, H) order), dim j in 3-D
    order = [n - 1 - j for j in range(n)] if n == 2 else list(range(n))
    flat = None
    for d in range(n):
        starts = _fractional_starts(samples[..., order.index(d)], sizes[d], out[d], k[d])
        pos = starts.unsqueeze(-1) + _mt.arange(k[d], device=x.device)  # (N, C, out_d, k_d)
        plane = 1
        for s in sizes[d + 1:]:
            plane *= s
        # place this dim's (out_d, k_d) axes at positions d and n + d of (*out, *k)
        shape = [batch, chans] + [1] * (2 * n)
        shape[2 + d], shape[2 + n + d] = out[d], k[d]
        term = (pos * plane).reshape(shape)
        flat = term if flat is None else flat + term
    flat = flat.expand((batch, chans) + out + k).reshape(batch, chans, -1)
    win = x.reshape(batch, chans, -1).gather(2, flat).reshape((batch, chans) + out + (-1,))
    arg = win.argmax(-1, keepdim=True)
    vals = win.gather(-1, arg).squeeze(-1)
    idx = flat.reshape((batch, chans) + out + (-1,)).gather(-1, arg).squeeze(-1)
    if input.dim() == n + 1:
        vals, idx = vals.squeeze(0), idx.squeeze(0)
    return (vals, idx) if return_indices else vals


def fractional_max_pool2d(input: Tensor, kernel_size: Any, output_size: Any = None,
                          output_ratio: Any = None, return_indices: bool = False,
                          _random_samples: Tensor | None = None) -> Any:
    return _fractional_max(input, kernel_size, output_size, output_ratio, return_indices,
                           _random_samples, 2, "fractional_max_pool2d")


def fractional_max_pool3d(input: Tensor, kernel_size: Any, output_size: Any = None,
                          output_ratio: Any = None, return_indices: bool = False,
                          _random_samples: Tensor | None = None) -> Any:
    return _fractional_max(input, kernel_size, output_size, output_ratio, return_indices,
                           _random_samples, 3, "fractional_max_pool3d")


def fractional_max_pool2d_with_indices(input: Tensor, kernel_size: Any, output_size: Any = None,
                                       output_ratio: Any = None, return_indices: bool = False,
                                       _random_samples: Tensor | None = None) -> tuple:
    return _fractional_max(input, kernel_size, output_size, output_ratio, True,
                           _random_samples, 2, "fractional_max_pool2d")


def fractional_max_pool3d_with_indices(input: Tensor, kernel_size: Any, output_size: Any = None,
                                       output_ratio: Any = None, return_indices: bool = False,
                                       _random_samples: Tensor | None = None) -> tuple:
    return _fractional_max(input, kernel_size, output_size, output_ratio, True,
                           _random_samples, 3, "fractional_max_pool3d")
