"""``ctc_loss``: the Connectionist Temporal Classification loss (Graves et al., 2006) as the
forward (alpha) recursion in log space, vectorised over the batch and the extended label
sequence and looped over time; autograd gives the gradient."""

from __future__ import annotations

from typing import Any

import mbtorch as _mt

from ...core.autocast import AUTOCAST, to_float32
from ...core.tensor import Tensor

__all__ = ["ctc_loss"]

# stands in for log(0): finite, so the gradients of impossible paths are exact zeros rather than
# the NaN that exp(-inf - -inf) would give; paths through it stay far below any real path
_NEG = -1e30


def _lengths(x: Any, n: int, name: str) -> list[int]:
    if isinstance(x, Tensor):
        vals = x.reshape(-1).tolist()
    else:
        vals = list(x) if isinstance(x, (list, tuple)) else [x]
    if len(vals) != n:
        raise RuntimeError(f"ctc_loss(): Expected {name} to have value of size {n}, got "
                           f"{len(vals)}")
    return [int(v) for v in vals]


def _padded_targets(targets: Tensor, lens: list[int], n: int) -> list[list[int]]:
    flat = targets.tolist()
    if targets.dim() == 2:
        return [row[:ln] for row, ln in zip(flat, lens)]
    out, pos = [], 0
    for ln in lens:
        out.append(flat[pos:pos + ln])
        pos += ln
    return out


def _lse3(a: Tensor, b: Tensor, c: Tensor) -> Tensor:
    m = _mt.maximum(_mt.maximum(a, b), c)
    return m + _mt.log(_mt.exp(a - m) + _mt.exp(b - m) + _mt.exp(c - m))


def _check(log_probs: Tensor, blank: int, reduction: str) -> None:
    if log_probs.dim() not in (2, 3):
        raise RuntimeError(f"ctc_loss(): log_probs must be 2D (T, C) or 3D (T, N, C), got "
                           f"{list(log_probs.shape)}")
    if not 0 <= blank < log_probs.shape[-1]:
        raise RuntimeError("ctc_loss(): blank must be in label range")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"ctc_loss(): {reduction} is not a valid value for reduction")


def ctc_loss(log_probs: Tensor, targets: Tensor, input_lengths: Any, target_lengths: Any,
             blank: int = 0, reduction: str = "mean", zero_infinity: bool = False) -> Tensor:
    """``log_probs`` (T, N, C) or unbatched (T, C); ``targets`` padded (N, S) or concatenated;
    'mean' divides each loss by its target length, then averages over the batch."""
    if AUTOCAST.on:  # on PyTorch's autocast float32 list
        log_probs, = to_float32(log_probs)
    _check(log_probs, blank, reduction)
    unbatched = log_probs.dim() == 2
    lp = log_probs.unsqueeze(1) if unbatched else log_probs
    if unbatched and targets.dim() == 1:
        targets = targets.unsqueeze(0)
    t_len, n, _ = lp.shape
    in_lens = _lengths(input_lengths, n, "input_lengths")
    tg_lens = _lengths(target_lengths, n, "target_lengths")
    if max(in_lens) > t_len:
        raise RuntimeError(f"ctc_loss(): Expected input_lengths to be at most {t_len}")
    labels = _padded_targets(targets, tg_lens, n)
    nll = _alpha_recursion(lp, labels, in_lens, tg_lens, blank)
    if zero_infinity:
        nll = _mt.where(_mt.isinf(nll), 0.0, nll)
    if unbatched:
        nll = nll.squeeze(0)
    if reduction == "mean":
        div = _mt.tensor(tg_lens, dtype=nll.dtype, device=nll.device).clamp_min(1)
        return (nll / (div.squeeze(0) if unbatched else div)).mean()
    return nll.sum() if reduction == "sum" else nll


def _alpha_recursion(lp: Tensor, labels: list[list[int]], in_lens: list[int],
                     tg_lens: list[int], blank: int) -> Tensor:
    t_len, n, _ = lp.shape
    s = 2 * max(tg_lens + [0]) + 1
    ext = [[blank] * s for _ in range(n)]
    for b, row in enumerate(labels):
        for j, lab in enumerate(row):
            ext[b][2 * j + 1] = int(lab)
    # a state may skip the blank before it when it holds a label unlike the one two back
    skip = [[j >= 2 and e[j] != blank and e[j] != e[j - 2] for j in range(s)] for e in ext]
    dev = lp.device
    ext_t = _mt.tensor(ext, device=dev)
    skip_t = _mt.tensor(skip, device=dev)
    valid = _mt.arange(s, device=dev).unsqueeze(0) < \
        (2 * _mt.tensor(tg_lens, device=dev) + 1).unsqueeze(1)
    neg = _mt.full((n, s), _NEG, dtype=lp.dtype, device=dev)
    first = _mt.arange(s, device=dev).unsqueeze(0) < 2
    alpha = _mt.where(first & valid, lp[0].gather(1, ext_t), neg)
    in_len_t = _mt.tensor(in_lens, device=dev).unsqueeze(1)
    pad1 = neg[:, :1]
    pad2 = neg[:, :2]
    for t in range(1, t_len):
        prev1 = _mt.cat([pad1, alpha[:, :-1]], 1)
        prev2 = _mt.where(skip_t, _mt.cat([pad2, alpha[:, :-2]], 1), neg)
        new = _lse3(alpha, prev1, prev2) + lp[t].gather(1, ext_t)
        new = _mt.where(valid, new, neg)
        alpha = _mt.where(in_len_t > t, new, alpha)
    last = _mt.tensor([2 * ln for ln in tg_lens], device=dev).unsqueeze(1)
    before = _mt.tensor([max(2 * ln - 1, 0) for ln in tg_lens], device=dev).unsqueeze(1)
    a_last = alpha.gather(1, last).squeeze(1)
    a_before = _mt.where(_mt.tensor(tg_lens, device=dev) > 0, alpha.gather(1, before).squeeze(1),
                         _NEG)
    m = _mt.maximum(a_last, a_before)
    ll = m + _mt.log(_mt.exp(a_last - m) + _mt.exp(a_before - m))
    # no alignment exists (e.g. the input is too short): the loss is infinite, as PyTorch's
    return _mt.where(ll < _NEG / 2, float("inf"), -ll)
