"""Mutants that only long inputs or numerically hard values expose: blocked kernels that lose a
partial block or the carry between blocks, a single work group that never strides past its
size, a tiled matmul without its K tail, and the textbook formulas that overflow (softmax
without the max shift) or cancel (the one-pass variance). The short samples of every tier
pass all of them; the long cases (``samples.LONG_STD``) and the ``Vals`` kinds catch them.

Each kernel is written as a plugin author would write it for a device, in NumPy, with the
cpu kernel's calling convention (``Op.SUM(x, dims, keepdim)``, ``Op.CUMSUM(x, dim)``, ...).
"""

from __future__ import annotations

import numpy as np

from mbtorch.core.op import Op

from .mutants import Mutant

__all__ = ["MUTANTS", "BLOCK", "SCAN_BLOCK", "GROUP", "TILE"]

BLOCK = 256  # a reduction's work-group size
SCAN_BLOCK = 1024  # a scan's block
GROUP = 4096  # threads of the one work group an arg-reduction launches
TILE = 64  # matmul's K tile


def _wide(x: np.ndarray) -> np.ndarray:
    """float16/bfloat16 computed in float32, as the cpu kernels (and PyTorch) do."""
    return x.astype(np.float32) if x.dtype.kind == "f" and x.dtype.itemsize == 2 or \
        x.dtype.name == "bfloat16" else x


def _reduced_last(x: np.ndarray, dims: tuple) -> np.ndarray:
    """``x`` with the reduced dims moved last and flattened into one."""
    dims = tuple(d % max(x.ndim, 1) for d in dims) if x.ndim else ()
    keep = [d for d in range(x.ndim) if d not in dims]
    moved = np.transpose(x, keep + list(dims))
    return moved.reshape(tuple(x.shape[d] for d in keep) + (-1,))


def _restore(out: np.ndarray, x: np.ndarray, dims: tuple, keepdim: bool) -> np.ndarray:
    if keepdim:
        out = out.reshape(tuple(1 if d in dims else s for d, s in enumerate(x.shape)))
    return np.asarray(out)


def _sum_drops_partial_block(x, dims, keepdim):
    # one work group per full block of 256: n // BLOCK groups, so the n % BLOCK tail is never
    # read once there is at least one full block (a single short block is launched as is)
    flat = _reduced_last(_wide(x), dims)
    n = flat.shape[-1]
    used = (n // BLOCK) * BLOCK if n > BLOCK else n
    out = np.sum(flat[..., :used], axis=-1, dtype=flat.dtype)
    return _restore(out, x, dims, keepdim).astype(x.dtype)


def _cumsum_loses_carry(x, dim):
    # each block of 1024 scans itself; the pass that adds the previous blocks' totals is missing
    y = np.moveaxis(_wide(x), dim, -1)
    out = np.empty_like(y)
    for start in range(0, y.shape[-1], SCAN_BLOCK):
        out[..., start:start + SCAN_BLOCK] = np.cumsum(y[..., start:start + SCAN_BLOCK], axis=-1)
    return np.moveaxis(out, -1, dim).astype(x.dtype)


def _softmax_unshifted(x, dim):
    e = np.exp(_wide(x))
    return (e / np.sum(e, axis=dim, keepdims=True)).astype(x.dtype)


def _log_softmax_unshifted(x, dim):
    y = _wide(x)
    return (y - np.log(np.sum(np.exp(y), axis=dim, keepdims=True))).astype(x.dtype)


def _logsumexp_unshifted(x, dims, keepdim):
    return np.asarray(np.log(np.sum(np.exp(_wide(x)), axis=dims, keepdims=keepdim))).astype(
        x.dtype)


def _var_one_pass(x, dims, correction, keepdim):
    # E[x^2] - E[x]^2 in one sweep: cancels catastrophically when the mean is large
    y = _wide(x)
    n = int(np.prod([x.shape[d] for d in dims])) if dims else 1
    s, sq = np.sum(y, axis=dims, keepdims=keepdim), np.sum(y * y, axis=dims, keepdims=keepdim)
    with np.errstate(all="ignore"):
        out = (sq - s * s / n) / max(n - correction, 0)
    return np.asarray(out).astype(x.dtype)


def _amax_one_group(x, dims, keepdim):
    # one work group of GROUP threads, each reading one element: no loop over the rest
    flat = _reduced_last(x, dims)
    out = np.max(flat[..., :GROUP], axis=-1)
    return _restore(out, x, dims, keepdim)


def _argmax_one_group(x, dim, keepdim):
    if dim is None:
        out = np.asarray(np.argmax(x.reshape(-1)[:GROUP])).astype(np.int64)
        return out.reshape((1,) * x.ndim) if keepdim else out
    head = np.take(x, np.arange(min(GROUP, x.shape[dim])), axis=dim)
    return np.asarray(np.argmax(head, axis=dim, keepdims=keepdim)).astype(np.int64)


def _matmul_drops_k_tail(a, b):
    # K is walked in tiles of 64; the remainder loop after the last full tile is missing
    k = a.shape[-1]
    used = (k // TILE) * TILE if k > TILE else k
    a_used = a[..., :used]
    b_used = b[:used] if b.ndim == 1 else b[..., :used, :]
    return np.matmul(_wide(a_used), _wide(b_used)).astype(a.dtype)


_F32 = ("float32",)
MUTANTS = [
    Mutant("sum_drops_partial_block", "blocked sum skips the last partial block of 256",
           {Op.SUM: _sum_drops_partial_block}, ("sum",), ("sum", "forward"),
           checks=("forward",), dtypes=_F32),
    Mutant("cumsum_loses_carry", "cumsum's blocks of 1024 never get the previous totals",
           {Op.CUMSUM: _cumsum_loses_carry}, ("cumsum",), ("cumsum", "forward"),
           checks=("forward",), dtypes=_F32),
    Mutant("softmax_unshifted", "softmax as exp(x) / sum(exp(x)), without the max shift",
           {Op.SOFTMAX: _softmax_unshifted}, ("softmax",), ("softmax", "forward"),
           checks=("forward",), dtypes=_F32),
    Mutant("log_softmax_unshifted", "log_softmax as x - log(sum(exp(x))), without the max shift",
           {Op.LOG_SOFTMAX: _log_softmax_unshifted}, ("log_softmax",),
           ("log_softmax", "forward"), checks=("forward",), dtypes=_F32),
    Mutant("logsumexp_unshifted", "logsumexp as log(sum(exp(x))), without the max shift",
           {Op.LOGSUMEXP: _logsumexp_unshifted}, ("logsumexp",), ("logsumexp", "forward"),
           checks=("forward",), dtypes=_F32),
    Mutant("var_one_pass", "var as (sum(x^2) - sum(x)^2 / n) / (n - correction)",
           {Op.VAR: _var_one_pass}, ("var",), ("var", "forward"), checks=("forward",),
           dtypes=_F32),
    Mutant("amax_one_group", "amax reads only the first 4096 elements (one work group)",
           {Op.AMAX: _amax_one_group}, ("amax",), ("amax", "forward"), checks=("forward",),
           dtypes=("float32", "float64")),
    Mutant("argmax_one_group", "argmax reads only the first 4096 elements (one work group)",
           {Op.ARGMAX: _argmax_one_group}, ("argmax",), ("argmax", "forward"),
           checks=("forward",), dtypes=("float32", "float64")),
    Mutant("matmul_drops_k_tail", "tiled matmul drops the K remainder past the last tile of 64",
           {Op.MATMUL: _matmul_drops_k_tail}, ("matmul",), ("matmul", "forward"),
           checks=("forward",), dtypes=_F32),
]
