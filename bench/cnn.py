"""CNN training step on 28×28 inputs, batch 64: conv 1→16 3×3, ReLU, max-pool 2, conv 16→32
3×3, ReLU, max-pool 2, linear 800→10; cross-entropy; SGD momentum 0.9.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Callable

import numpy as np

from . import training as tr
from .targets import Target, Targets
from .timing import Candidate, Config, Row, describe_error, measure, skipped

FAMILY = "cnn"
CNN_NN_NEEDS = tr.NN_NEEDS + ("nn.Conv2d", "nn.MaxPool2d", "nn.Flatten")
FUNCTIONAL_NEEDS = ("Tensor.backward", "no_grad", "nn.functional.conv2d",
                    "nn.functional.max_pool2d", "log_softmax", "Tensor.flatten", "Tensor.sum")


def init(seed: int = 0, batch_size: int = 64):
    """conv1 (w, b), conv2 (w, b), fc (w as (out, in), b), and one batch."""
    rng = np.random.default_rng(seed)
    arrays = [tr.linear_init(rng, 9, (16, 1, 3, 3)), tr.linear_init(rng, 9, (16,)),
              tr.linear_init(rng, 144, (32, 16, 3, 3)), tr.linear_init(rng, 144, (32,)),
              tr.linear_init(rng, 800, (10, 800)), tr.linear_init(rng, 800, (10,))]
    return arrays, tr.batch(rng, (batch_size, 1, 28, 28))


def nn_model(lib: Any, arrays: list[np.ndarray]) -> Any:
    nn = lib.nn
    convs = [nn.Conv2d(1, 16, 3), nn.Conv2d(16, 32, 3)]
    fc = nn.Linear(800, 10)
    tr.load_weights(lib, convs + [fc], arrays)
    return nn.Sequential(convs[0], nn.ReLU(), nn.MaxPool2d(2), convs[1], nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), fc)


def functional_step(t: Target, arrays: list[np.ndarray], x: np.ndarray,
                    onehot: np.ndarray) -> Callable[[], Any]:
    """``F.conv2d``/``F.max_pool2d`` on leaf tensors, log_softmax loss, hand-written SGD."""
    lib, fn = t.lib, t.lib.nn.functional
    params, bufs = tr.leaves(t, arrays)
    xt, oh = t.array(x), t.array(onehot)
    w1, b1, w2, b2, w3, b3 = params

    def step() -> Any:
        h = fn.max_pool2d(lib.relu(fn.conv2d(xt, w1, b1)), 2)
        h = fn.max_pool2d(lib.relu(fn.conv2d(h, w2, b2)), 2)
        loss = tr.plain_loss(lib, h.flatten(1) @ w3.T + b3, oh)
        loss.backward()
        tr.sgd_momentum(lib, params, bufs)
        return loss

    return step


def make_step(t: Target, arrays, x, y, onehot) -> tuple[Callable[[], Any] | None, str]:
    """(step, note) for ``t``, or (None, reason) when mbtorch lacks what it needs."""
    if t.kind == "torch" or not tr.missing(t.lib, CNN_NN_NEEDS):
        return tr.nn_step(t, nn_model(t.lib, arrays), x, y), "nn + optim.SGD"
    lacking = tr.missing(t.lib, FUNCTIONAL_NEEDS)
    if lacking:
        return None, "not implemented yet in mbtorch: " + ", ".join(lacking)
    return functional_step(t, arrays, x, onehot), "nn.functional + autograd, hand-written SGD"


def run(targets: Targets, cfg: Config) -> list[Row]:
    """The step with default threads, then with one BLAS/OpenMP thread (as the MLP family)."""
    bs = 8 if cfg.quick else 64
    return tr.default_and_one_thread(FAMILY, targets, cfg, f"CNN step 28×28, batch {bs}", bs,
                                     _run_case)


def _run_case(targets: Targets, cfg: Config, case: str, bs: int) -> list[Row]:
    arrays, (x, y, onehot) = init(batch_size=bs)
    cands, out, losses = [], [], {}
    for t in targets.items:
        if t.kind == "numpy":
            out.append(skipped(FAMILY, case, t.name, "no NumPy CNN floor (MLP has one)"))
            continue
        try:
            step, note = make_step(t, arrays, x, y, onehot)
            if step is None:
                out.append(skipped(FAMILY, case, t.name, note))
                continue
            losses[t.name] = tr.first_loss(step)
            _check_losses(losses)
        except Exception as exc:  # noqa: BLE001 - reported as an error row
            out.append(skipped(FAMILY, case, t.name, describe_error(exc), "error"))
            continue
        cands.append(Candidate(t.name, step, sync=t.sync, gc_enabled=True, note=note))
        if t.kind == "mbtorch" and hasattr(t.lib, "compile"):
            cands += tr.compiled(t, partial(make_step, t, arrays, x, y, onehot),
                                 partial(_check_compiled, t.name, losses[t.name]), FAMILY,
                                 case, out)
    return measure(FAMILY, case, cands, cfg, settle=True) + out


def _check_compiled(name: str, eager: float, got: float) -> None:
    _check_losses({name: eager, f"{name} compiled": got})


def _check_losses(losses: dict[str, float]) -> None:
    """Same weights, same batch: every implementation's first loss must agree."""
    first = next(iter(losses.items()))
    for name, v in losses.items():
        if not np.isclose(v, first[1], rtol=1e-4, atol=1e-5):
            raise ValueError(f"first loss {v} of {name} != {first[1]} of {first[0]}")
