"""Mutants a few ULPs off: formulas a backend author writes that are right to rtol 1.3e-6 but
not as accurate as PyTorch (caught by the ULP-based tolerances of ``accuracy.py``)."""

from __future__ import annotations

import numpy as np

from mbtorch.core.op import Op

from .mutants import Mutant

__all__ = ["MUTANTS"]

_LOG2E = np.float32(np.log2(np.e))


def _float32_only(formula, exact):
    """``formula`` for float32 input (where the mutant's bug is), ``exact`` otherwise."""

    def kernel(x):
        return formula(x) if x.dtype == np.float32 else exact(x)

    return kernel


def _exp_via_exp2(x):
    return np.exp2(x * _LOG2E)  # x * log2(e) rounds: |x| / 2 ULPs more


def _log1p_via_log(x):
    return np.log(np.float32(1) + x)  # 1 + x rounds away the low bits of a small x


def _tanh_via_exp(x):
    e = np.exp(np.float32(2) * x)  # cancellation in e - 1 for small |x|
    return np.where(np.abs(x) < 9, (e - 1) / (e + 1), np.sign(x)).astype(np.float32)


def _div_via_reciprocal(a, b):
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype.kind != "f" or b.dtype.kind != "f":
        return np.true_divide(a, b)
    return a * (np.ones((), b.dtype) / b)  # two roundings: not correctly rounded


def _softmax_in_half_steps(x, dim):
    """float16 softmax rounded to float16 after every step (PyTorch computes it in float32)."""
    if x.dtype != np.float16 or not x.shape[dim]:
        y = x.astype(np.float32) if x.dtype == np.float16 else x
        e = np.exp(y - np.max(y, axis=dim, keepdims=True)) if y.shape[dim] else y
        return (e / np.sum(e, axis=dim, keepdims=True)).astype(x.dtype)
    e = np.exp(x - np.max(x, axis=dim, keepdims=True))
    return e / np.sum(e, axis=dim, keepdims=True, dtype=np.float16)


MUTANTS = [
    Mutant("exp_via_exp2", "float32 exp computed as exp2(x * log2(e))",
           {Op.EXP: _float32_only(_exp_via_exp2, np.exp)}, ("exp",), ("exp", "forward"),
           dtypes=("float32",), checks=("forward",)),
    Mutant("log1p_via_log", "float32 log1p computed as log(1 + x)",
           {Op.LOG1P: _float32_only(_log1p_via_log, np.log1p)}, ("log1p",),
           ("log1p", "forward"), dtypes=("float32",), checks=("forward",)),
    Mutant("tanh_via_exp", "float32 tanh computed as (e^2x - 1) / (e^2x + 1)",
           {Op.TANH: _float32_only(_tanh_via_exp, np.tanh)}, ("tanh",), ("tanh", "forward"),
           dtypes=("float32",), checks=("forward",)),
    Mutant("div_via_reciprocal", "division computed as a * (1 / b)",
           {Op.DIV: _div_via_reciprocal}, ("div",), ("div", "forward"),
           dtypes=("float32",), checks=("forward",)),
    Mutant("softmax_half_steps", "float16 softmax rounded to float16 at every step",
           {Op.SOFTMAX: _softmax_in_half_steps}, ("softmax",), ("softmax", "forward"),
           dtypes=("float16",), checks=("forward",)),
]
