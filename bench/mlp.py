"""MLP training step: 784-256-128-10, ReLU, cross-entropy, SGD momentum 0.9, batch 128.

Beside PyTorch and mbtorch runs a hand-written NumPy step (forward and backward by hand): the
floor, what the same math costs with no framework at all.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Callable

import numpy as np

from . import training as tr
from .targets import Target, Targets
from .timing import Candidate, Config, Row, describe_error, measure, skipped

FAMILY = "mlp"
SIZES = (784, 256, 128, 10)


def init(seed: int = 0, batch_size: int = 128):
    """Weights as (in, out) matrices and biases, and one batch: the same for every target."""
    rng = np.random.default_rng(seed)
    arrays = []
    for fan_in, fan_out in zip(SIZES[:-1], SIZES[1:]):
        arrays += [tr.linear_init(rng, fan_in, (fan_in, fan_out)),
                   tr.linear_init(rng, fan_in, (fan_out,))]
    return arrays, tr.batch(rng, (batch_size, SIZES[0]))


class NumpyMLP:
    """The floor: forward, backward and the momentum update written by hand in NumPy."""

    def __init__(self, arrays: list[np.ndarray], x: np.ndarray, y: np.ndarray):
        self.p = [a.copy() for a in arrays]
        self.bufs = [np.zeros_like(a) for a in arrays]
        self.x, self.y, self.rows = x, y, np.arange(len(y))

    def step(self) -> float:
        w1, b1, w2, b2, w3, b3 = self.p
        h1 = self.x @ w1 + b1
        a1 = np.maximum(h1, 0)
        h2 = a1 @ w2 + b2
        a2 = np.maximum(h2, 0)
        z = a2 @ w3 + b3
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        s = e.sum(axis=1, keepdims=True)
        loss = float(np.mean(np.log(s[:, 0]) - z[self.rows, self.y]))
        dz = e / s  # d loss / d logits = (softmax - onehot) / batch
        dz[self.rows, self.y] -= 1
        dz /= len(self.y)
        d2 = dz @ w3.T
        d2[h2 <= 0] = 0
        d1 = d2 @ w2.T
        d1[h1 <= 0] = 0
        grads = (self.x.T @ d1, d1.sum(0), a1.T @ d2, d2.sum(0), a2.T @ dz, dz.sum(0))
        for p, buf, g in zip(self.p, self.bufs, grads):
            buf *= tr.MOMENTUM
            buf += g
            p -= tr.LR * buf
        return loss


def plain_step(t: Target, arrays: list[np.ndarray], x: np.ndarray,
               onehot: np.ndarray) -> Callable[[], Any]:
    """Tensor ops + autograd: ``x @ W1 + b1``, relu, log_softmax, hand-written SGD."""
    lib = t.lib
    params, bufs = tr.leaves(t, arrays)
    xt, oh = t.array(x), t.array(onehot)
    w1, b1, w2, b2, w3, b3 = params

    def step() -> Any:
        h = lib.relu(xt @ w1 + b1)
        h = lib.relu(h @ w2 + b2)
        loss = tr.plain_loss(lib, h @ w3 + b3, oh)
        loss.backward()
        tr.sgd_momentum(lib, params, bufs)
        return loss

    return step


def nn_model(lib: Any, arrays: list[np.ndarray]) -> Any:
    nn = lib.nn
    layers = [nn.Linear(i, o) for i, o in zip(SIZES[:-1], SIZES[1:])]
    # nn.Linear keeps weight as (out, in): transpose the shared (in, out) matrices
    tr.load_weights(lib, layers, [a.T.copy() if a.ndim == 2 else a for a in arrays])
    return nn.Sequential(layers[0], nn.ReLU(), layers[1], nn.ReLU(), layers[2])


def make_step(t: Target, arrays, x, y, onehot) -> tuple[Callable[[], Any] | None, str]:
    """(step, note) for ``t``, or (None, reason) when mbtorch lacks what it needs."""
    if t.kind == "torch" or not tr.missing(t.lib, tr.NN_NEEDS):
        return tr.nn_step(t, nn_model(t.lib, arrays), x, y), "nn + optim.SGD"
    lacking = tr.missing(t.lib, tr.PLAIN_NEEDS)
    if lacking:
        return None, "not implemented yet in mbtorch: " + ", ".join(lacking)
    return plain_step(t, arrays, x, onehot), "plain ops + autograd, hand-written SGD"


def run(targets: Targets, cfg: Config) -> list[Row]:
    """The step with the libraries' default threads, then with one BLAS/OpenMP thread each
    (``threadpoolctl`` for NumPy's OpenBLAS, ``torch.set_num_threads`` for PyTorch): at this
    size threads help little, and one thread compares the frameworks' own work."""
    bs = 16 if cfg.quick else 128
    case = f"MLP 784-256-128-10 step, batch {bs}"
    return tr.default_and_one_thread(FAMILY, targets, cfg, case, bs, _run_case)


def _run_case(targets: Targets, cfg: Config, case: str, bs: int) -> list[Row]:
    arrays, (x, y, onehot) = init(batch_size=bs)
    floor = NumpyMLP(arrays, x, y)
    want = floor.step()
    cands = [Candidate("numpy", floor.step, gc_enabled=True, note="hand-written floor")]
    out: list[Row] = []
    for t in targets.items:
        if t.kind == "numpy":
            continue
        try:
            step, note = make_step(t, arrays, x, y, onehot)
            if step is None:
                out.append(skipped(FAMILY, case, t.name, note))
                continue
            got = tr.first_loss(step)
            if not np.isclose(got, want, rtol=1e-4, atol=1e-5):
                raise ValueError(f"first loss {got} != NumPy floor's {want}")
        except Exception as exc:  # noqa: BLE001 - reported as an error row
            out.append(skipped(FAMILY, case, t.name, describe_error(exc), "error"))
            continue
        cands.append(Candidate(t.name, step, sync=t.sync, gc_enabled=True, note=note))
        if t.kind == "mbtorch" and hasattr(t.lib, "compile"):
            cands += tr.compiled(t, partial(make_step, t, arrays, x, y, onehot),
                                 partial(_check_first, want=want), FAMILY, case, out)
    return measure(FAMILY, case, cands, cfg, settle=True) + out


def _check_first(got: float, want: float) -> None:
    if not np.isclose(got, want, rtol=1e-4, atol=1e-5):
        raise ValueError(f"first loss {got} != NumPy floor's {want}")
