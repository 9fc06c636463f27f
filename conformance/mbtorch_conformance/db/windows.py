"""Sliding-window ops (convolution's im2col/col2im, max pooling with indices), reached through
``nn.functional`` as PyTorch users call them; NumPy references written with explicit loops
over the kernel positions, independent of the implementation's strided views."""

from __future__ import annotations

import itertools

import numpy as np

import mbtorch as mt
from mbtorch.core.op import Op

from ..samples import case
from . import FLOATS, Bad, Entry

__all__ = ["ENTRIES"]

_STD = ("standard", "full")
# fold sums up to prod(kernel) terms per element
_SUM_TOL = {mt.float16: (2e-3, 2e-3), mt.bfloat16: (1.6e-2, 1.6e-2)}


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def _blocks(size, k, d, p, s):
    return [(size[i] + 2 * p[i] - d[i] * (k[i] - 1) - 1) // s[i] + 1 for i in range(2)]


def _unfold(x, kernel_size, dilation=1, padding=0, stride=1):
    k, d, p, s = map(_pair, (kernel_size, dilation, padding, stride))
    xp = np.pad(x, [(0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])])
    oh, ow = _blocks(x.shape[2:], k, d, p, s)
    out = np.zeros((x.shape[0], x.shape[1], k[0], k[1], oh, ow), x.dtype)
    for i, j in itertools.product(range(k[0]), range(k[1])):
        out[:, :, i, j] = xp[:, :, i * d[0]:i * d[0] + (oh - 1) * s[0] + 1:s[0],
                             j * d[1]:j * d[1] + (ow - 1) * s[1] + 1:s[1]]
    return out.reshape(x.shape[0], x.shape[1] * k[0] * k[1], oh * ow)


def _fold(cols, output_size, kernel_size, dilation=1, padding=0, stride=1):
    size, k, d, p, s = map(_pair, (output_size, kernel_size, dilation, padding, stride))
    oh, ow = _blocks(size, k, d, p, s)
    n, c = cols.shape[0], cols.shape[1] // (k[0] * k[1])
    parts = cols.reshape(n, c, k[0], k[1], oh, ow)
    out = np.zeros((n, c, size[0] + 2 * p[0], size[1] + 2 * p[1]), cols.dtype)
    for i, j in itertools.product(range(k[0]), range(k[1])):
        out[:, :, i * d[0]:i * d[0] + (oh - 1) * s[0] + 1:s[0],
            j * d[1]:j * d[1] + (ow - 1) * s[1] + 1:s[1]] += parts[:, :, i, j]
    return out[:, :, p[0]:p[0] + size[0], p[1]:p[1] + size[1]]


def _conv2d(x, w, stride=1, padding=0, dilation=1, groups=1):
    """Each group's weights times its channels' im2col columns, in float64."""
    k = w.shape[2:]
    cols = _unfold(x.astype(np.float64), k, dilation, padding, stride)  # (N, C*K, L)
    oh, ow = _blocks(x.shape[2:], k, _pair(dilation), _pair(padding), _pair(stride))
    n, o = x.shape[0], w.shape[0]
    cols = cols.reshape(n, groups, cols.shape[1] // groups, oh * ow)
    wg = w.astype(np.float64).reshape(groups, o // groups, -1)
    return np.einsum("gok,ngkl->ngol", wg, cols).reshape(n, o, oh, ow).astype(x.dtype)


def _conv1d(x, w, stride=1, padding=0, dilation=1, groups=1):
    out = _conv2d(x[:, :, None], w[:, :, None], (1, stride), (0, padding), (1, dilation),
                  groups)
    return out[:, :, 0]


def _max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, return_indices=True):
    k, p, d = _pair(kernel_size), _pair(padding), _pair(dilation)
    s = k if stride is None else _pair(stride)
    n, c, h, w = x.shape
    oh, ow = _blocks((h, w), k, d, p, s)
    vals = np.full((n, c, oh, ow), -np.inf, x.dtype)
    idx = np.zeros((n, c, oh, ow), np.int64)
    for y, z in itertools.product(range(oh), range(ow)):
        for i, j in itertools.product(range(k[0]), range(k[1])):
            r, q = y * s[0] - p[0] + i * d[0], z * s[1] - p[1] + j * d[1]
            if 0 <= r < h and 0 <= q < w:
                v = x[:, :, r, q]
                better = v > vals[:, :, y, z]  # strictly greater: the first maximum wins
                vals[:, :, y, z] = np.where(better, v, vals[:, :, y, z])
                idx[:, :, y, z] = np.where(better, r * w + q, idx[:, :, y, z])
    return vals, idx


def _max_pool1d(x, kernel_size, stride=None, padding=0, dilation=1, return_indices=True):
    vals, idx = _max_pool2d(x[:, :, None, :], (1, kernel_size), (1, stride or kernel_size),
                            (0, padding), (1, dilation))
    return vals[:, :, 0], idx[:, :, 0]


_UNFOLD_CASES = [
    case((2, 3, 5, 6), kernel_size=(2, 3)), case((1, 2, 4, 4), kernel_size=2, stride=2),
    case((2, 1, 6, 5), kernel_size=3, padding=1), case((1, 2, 7, 7), kernel_size=2, dilation=2),
    case((3, 2, 5, 8), kernel_size=(3, 2), stride=(2, 3), padding=(1, 0), tiers=_STD),
    case((0, 2, 4, 4), kernel_size=2), case((1, 1, 3, 3), kernel_size=3),
    case((2, 2, 6, 6), kernel_size=(2, 2), dilation=(1, 2), stride=(1, 2), tiers=_STD)]

_FOLD_CASES = [
    case((2, 12, 12), output_size=(4, 5), kernel_size=2), case((1, 8, 4), output_size=4,
                                                               kernel_size=2, stride=2),
    case((2, 9, 16), output_size=(4, 4), kernel_size=3, padding=1),
    case((1, 8, 9), output_size=(7, 7), kernel_size=2, dilation=2, stride=2),
    case((2, 6, 9), output_size=(5, 8), kernel_size=(3, 2), stride=(2, 3), padding=(1, 0),
         tiers=_STD),
    case((0, 4, 9), output_size=(4, 4), kernel_size=2), case((1, 9, 1), output_size=3,
                                                             kernel_size=3),
    case((3, 4, 25), output_size=(6, 6), kernel_size=2, tiers=_STD)]

_POOL2D_CASES = [
    case((2, 3, 6, 6), kernel_size=2), case((1, 2, 7, 5), kernel_size=3, stride=2, padding=1),
    case((2, 1, 5, 5), kernel_size=2, stride=1), case((1, 2, 8, 8), kernel_size=2, dilation=2),
    case((2, 2, 7, 6), kernel_size=(3, 2), stride=(2, 1), tiers=_STD),
    case((0, 2, 4, 4), kernel_size=2), case((1, 1, 3, 3), kernel_size=3),
    case((1, 3, 9, 9), kernel_size=3, stride=3, padding=1, tiers=_STD)]

_POOL1D_CASES = [
    case((2, 3, 8), kernel_size=2), case((1, 2, 9), kernel_size=3, stride=2, padding=1),
    case((2, 1, 7), kernel_size=2, stride=1), case((1, 2, 10), kernel_size=2, dilation=3),
    case((3, 2, 6), kernel_size=3, tiers=_STD), case((0, 2, 4), kernel_size=2),
    case((1, 1, 3), kernel_size=3), case((2, 2, 11), kernel_size=3, stride=3, padding=1)]

_CONV2D_CASES = [
    case((2, 3, 6, 6), (4, 3, 3, 3)), case((1, 4, 7, 5), (6, 2, 3, 2), stride=2, padding=1,
                                           groups=2),
    case((2, 2, 9, 9), (3, 2, 3, 3), dilation=2, padding=2),
    case((0, 2, 4, 4), (3, 2, 2, 2)), case((1, 1, 3, 3), (2, 1, 3, 3)),
    case((2, 6, 8, 8), (6, 1, 3, 3), padding=1, groups=6, tiers=_STD),
    case((1, 4, 12, 12), (8, 4, 5, 5), stride=(2, 1), padding=(2, 1), tiers=_STD),
    case((3, 2, 5, 7), (4, 2, 1, 3), stride=(1, 3)),
    case((1, 3, 4, 4), (3, 3, 4, 4), padding=1, tiers=_STD)]

_CONV1D_CASES = [
    case((2, 3, 10), (4, 3, 3)), case((1, 4, 9), (2, 2, 2), stride=2, padding=1, groups=2),
    case((2, 2, 12), (3, 2, 3), dilation=3, tiers=_STD), case((0, 2, 5), (2, 2, 3)),
    case((1, 1, 4), (1, 1, 4)), case((2, 6, 7), (6, 1, 3), padding=1, groups=6),
    case((3, 2, 9), (5, 2, 1), stride=3, tiers=_STD), case((1, 4, 8), (2, 4, 5), padding=2)]

# sums of C/groups * prod(kernel) products ("small" values, as matmul's: sums of many
# products of normal values cancel further than the accuracy class bounds)
_CONV_TOL = {mt.float16: (2e-3, 2e-3), mt.bfloat16: (1.6e-2, 1.6e-2)}

ENTRIES = [
    Entry("conv2d (convolution)", Op.CONVOLUTION, "expr:mbtorch.nn.functional.conv2d(x0, x1, "
          "**kw)", _conv2d, _CONV2D_CASES, FLOATS, ("small",), tol=_CONV_TOL,
          errors=(Bad(((1, 2, 4, 4), (3, 4, 3, 3)), {}, RuntimeError,
                      "weight expects 4 channels, input has 2"),)),
    Entry("conv1d (convolution)", Op.CONVOLUTION, "expr:mbtorch.nn.functional.conv1d(x0, x1, "
          "**kw)", _conv1d, _CONV1D_CASES, FLOATS, ("small",), tol=_CONV_TOL),
    Entry("unfold (im2col)", Op.IM2COL, "expr:mbtorch.nn.functional.unfold(x0, **kw)", _unfold,
          _UNFOLD_CASES, FLOATS,
          errors=(Bad(((1, 1, 2, 2),), {"kernel_size": 3}, RuntimeError, "kernel > input"),)),
    Entry("fold (col2im)", Op.COL2IM, "expr:mbtorch.nn.functional.fold(x0, **kw)", _fold,
          _FOLD_CASES, FLOATS, tol=_SUM_TOL,
          errors=(Bad(((1, 5, 9),), {"output_size": 4, "kernel_size": 2}, RuntimeError,
                      "channels not divisible by the kernel size"),)),
    Entry("max_pool2d", Op.MAX_POOL,
          "expr:mbtorch.nn.functional.max_pool2d(x0, return_indices=True, **kw)", _max_pool2d,
          _POOL2D_CASES, FLOATS, out=("same", "int64")),
    Entry("max_pool1d", Op.MAX_POOL,
          "expr:mbtorch.nn.functional.max_pool1d(x0, return_indices=True, **kw)", _max_pool1d,
          _POOL1D_CASES, FLOATS, out=("same", "int64")),
]
