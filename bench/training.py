"""Pieces shared by the training-step benchmarks (MLP, CNN).

Every implementation of a step starts from the same NumPy weights and batch, so the loss of
its first step must equal every other's: that is checked before anything is timed. Steps
return the loss tensor without ``.item()`` (no forced host sync inside the timed loop).

Two ways to write the mbtorch step, chosen by what mbtorch has today and named in the note:
``nn_step`` (``nn`` modules, ``F.cross_entropy``, ``optim.SGD``: the same code PyTorch runs)
once ``mbtorch.nn`` and ``mbtorch.optim`` exist, else ``plain_step`` (tensor ops + autograd,
cross-entropy through ``log_softmax``, SGD with momentum written by hand under ``no_grad``).
"""

from __future__ import annotations

import time
from typing import Any, Callable

import numpy as np

from .targets import Target, Targets, one_thread, to_numpy
from .timing import Config, Row, skipped

LR = 0.01
MOMENTUM = 0.9
NN_NEEDS = ("nn.Sequential", "nn.Linear", "nn.ReLU", "nn.functional.cross_entropy",
            "optim.SGD")
PLAIN_NEEDS = ("Tensor.backward", "no_grad", "matmul", "log_softmax", "Tensor.sum")


def missing(lib: Any, names: tuple[str, ...]) -> list[str]:
    """The dotted names in ``names`` that ``lib`` does not have (yet)."""
    out = []
    for name in names:
        obj = lib
        for part in name.split("."):
            obj = getattr(obj, part, None)
            if obj is None:
                out.append(name)
                break
    return out


def linear_init(rng: np.random.Generator, fan_in: int, shape: tuple) -> np.ndarray:
    """PyTorch's default Linear/Conv init range, U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    bound = 1.0 / np.sqrt(fan_in)
    return rng.uniform(-bound, bound, shape).astype(np.float32)


def batch(rng: np.random.Generator, shape: tuple, classes: int = 10):
    x = rng.standard_normal(shape).astype(np.float32)
    y = rng.integers(0, classes, shape[0]).astype(np.int64)
    onehot = np.eye(classes, dtype=np.float32)[y]
    return x, y, onehot


def plain_loss(lib: Any, z: Any, onehot: Any) -> Any:
    """Mean cross-entropy from logits, written with ``log_softmax`` and a one-hot mask."""
    return -(lib.log_softmax(z, 1) * onehot).sum() / z.shape[0]


def sgd_momentum(lib: Any, params: list, bufs: list, lr: float = LR) -> None:
    """``torch.optim.SGD(momentum=0.9)``'s update (buffers start at zero), grads set to None."""
    with lib.no_grad():
        for p, buf in zip(params, bufs):
            buf.mul_(MOMENTUM).add_(p.grad)
            p.sub_(buf, alpha=lr)
            p.grad = None


def leaves(t: Target, arrays: list[np.ndarray]) -> tuple[list, list]:
    """Parameters (leaves requiring grad) and zeroed momentum buffers on ``t``."""
    params = [t.array(a, requires_grad=True) for a in arrays]
    bufs = [t.array(np.zeros_like(a)) for a in arrays]
    return params, bufs


def nn_step(t: Target, model: Any, x: np.ndarray, y: np.ndarray) -> Callable[[], Any]:
    """The idiomatic PyTorch step: zero_grad, forward, cross_entropy, backward, step."""
    lib = t.lib
    model = model.to(t.device)
    opt = lib.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    xt, yt = t.array(x), t.array(y)
    ce = lib.nn.functional.cross_entropy

    def step() -> Any:
        opt.zero_grad()  # set_to_none=True is the default in PyTorch 2
        loss = ce(model(xt), yt)
        loss.backward()
        opt.step()
        return loss

    return step


def load_weights(lib: Any, layers: list, arrays: list[np.ndarray]) -> None:
    """Copy (weight, bias) pairs from NumPy into ``nn`` layers, in order."""
    with lib.no_grad():
        for layer, (w, b) in zip(layers, zip(arrays[::2], arrays[1::2])):
            layer.weight.copy_(lib.tensor(w))
            layer.bias.copy_(lib.tensor(b))


def first_loss(step: Callable[[], Any]) -> float:
    return float(to_numpy(step()).reshape(()))


def compiled(t: Target, build: Callable[[], tuple], check: Callable[[float], None],
             family: str, case: str, out: list) -> list:
    """The step ``build()`` returns (``(step, note)``, a fresh model each time) through
    ``mbtorch.compile``, as a candidate named ``"<target> compiled"``: its first two calls
    trace (the second because the first made the momentum buffers) and are timed once into
    the note; ``check(loss)`` vets the first loss; what is timed is the replay. A failure
    becomes an error row in ``out``."""
    from .timing import Candidate, describe_error, skipped

    name = f"{t.name} compiled"
    try:
        step, note = build()
        fn = t.lib.compile(step)
        traces = []
        for _ in range(2):
            start = time.perf_counter()
            got = first_loss(fn)
            traces.append(time.perf_counter() - start)
            if len(traces) == 1:
                check(got)
        first_loss(fn)
        if fn.stats["replays"] != 1:
            raise RuntimeError(f"the step did not replay: {fn.stats}")
    except Exception as exc:  # noqa: BLE001 - reported as an error row
        out.append(skipped(family, case, name, describe_error(exc), "error"))
        return []
    traced = " + ".join(f"{s * 1e3:.0f}" for s in traces)
    return [Candidate(name, fn, sync=t.sync, gc_enabled=True,
                      note=f"{note}, mbtorch.compile replay (traces: {traced} ms)")]


def default_and_one_thread(family: str, targets: Targets, cfg: Config, case: str, bs: int,
                           run_case: Callable[[Targets, Config, str, int], list[Row]]
                           ) -> list[Row]:
    """``run_case`` with the libraries' default threads, then inside ``one_thread`` (one
    BLAS/OpenMP thread each) as case ``<case>, 1 thread``: one thread compares the frameworks'
    own work, and is the stable figure on a shared machine."""
    rows = run_case(targets, cfg, case, bs)
    with one_thread(targets) as note:
        if note:
            return rows + [skipped(family, case + ", 1 thread", "-", note)]
        return rows + run_case(targets, cfg, case + ", 1 thread", bs)
