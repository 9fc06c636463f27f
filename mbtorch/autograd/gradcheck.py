"""``gradcheck`` / ``gradgradcheck``: analytical gradients against central finite differences.

Both Jacobians are built in full (one backward per output element, two forward calls per
input element), so use small inputs in float64, as with PyTorch's versions.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from ..core._lazy import lazy_import
from ..core.ops.creation import tensor as _tensor
from ..core.tensor import Tensor
from .api import grad as _grad

__all__ = ["GradcheckError", "gradcheck", "gradgradcheck"]

np = lazy_import("numpy", globals(), "np")


class GradcheckError(RuntimeError):
    """Raised by ``gradcheck`` when the gradients disagree (and ``raise_exception``)."""


def _as_tuple(x: Any) -> tuple:
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _host(t: Tensor) -> np.ndarray:
    return np.array(t.detach().numpy(force=True), dtype=np.float64)


def _float_outputs(out: Any) -> list:
    return [o for o in _as_tuple(out) if isinstance(o, Tensor) and o._dtype.is_floating_point]


def _evaluate(func: Callable, inputs: tuple) -> list[np.ndarray]:
    return [_host(o).ravel() for o in _float_outputs(func(*inputs))]


def _numerical(func: Callable, inputs: tuple, i: int, eps: float) -> list[np.ndarray]:
    """d(outputs)/d(inputs[i]) by central differences: one (numel_in, numel_out) per output."""
    x = inputs[i]
    base = _host(x)
    cols = []
    for j in range(base.size):
        vals = []
        for step in (eps, -eps):
            arr = base.copy()
            arr.flat[j] += step
            moved = _tensor(arr, dtype=x._dtype, device=x._device,
                            requires_grad=x._requires_grad)
            vals.append(_evaluate(func, inputs[:i] + (moved,) + inputs[i + 1:]))
        cols.append([(p - m) / (2 * eps) for p, m in zip(*vals)])
    # explicit sizes: an empty input has no columns, an empty output no rows
    sizes = [o.size for o in _evaluate(func, inputs)]
    return [np.array([c[k] for c in cols]).reshape(base.size, n) for k, n in enumerate(sizes)]


def _analytical(func: Callable, inputs: tuple, diff: list) -> list[list[np.ndarray]]:
    """``[output][input]`` Jacobians (numel_in, numel_out) by one backward per element."""
    outs = _float_outputs(func(*inputs))
    wrt = [inputs[i] for i in diff]
    result = []
    for o in outs:
        mats = [np.zeros((w.numel(), o.numel())) for w in wrt]
        for k in range(o.numel() if o._requires_grad else 0):
            onehot = np.zeros(o.numel())
            onehot[k] = 1.0
            seed = _tensor(onehot.reshape(o._shape), dtype=o._dtype, device=o._device)
            grads = _grad(o, wrt, seed, retain_graph=True, allow_unused=True)
            for m, g in zip(mats, grads):
                if g is not None:
                    m[:, k] = _host(g).ravel()
        result.append(mats)
    return result


def gradcheck(func: Callable, inputs: Any, *, eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-3, raise_exception: bool = True, **_ignored: Any) -> bool:
    """Check ``func``'s gradients for the ``inputs`` that require grad.

    >>> x = mbtorch.randn(3, dtype=mbtorch.float64, requires_grad=True)
    >>> mbtorch.autograd.gradcheck(mbtorch.sin, (x,))
    True
    """
    inputs = _as_tuple(inputs)
    diff = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x._requires_grad]
    if not diff:
        raise ValueError("gradcheck expects at least one input tensor to require gradient, "
                         "but none of the them have requires_grad=True.")
    analytical = _analytical(func, inputs, diff)
    for col, i in enumerate(diff):
        numerical = _numerical(func, inputs, i, eps)
        for k, (num, ana) in enumerate(zip(numerical, (a[col] for a in analytical))):
            if not np.allclose(ana, num, rtol=rtol, atol=atol, equal_nan=True):
                if not raise_exception:
                    return False
                raise GradcheckError(f"Jacobian mismatch for output {k} with respect to input "
                                     f"{i},\nnumerical:{num}\nanalytical:{ana}\n")
    return True


def gradgradcheck(func: Callable, inputs: Any, grad_outputs: Sequence[Tensor] | None = None,
                  *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
                  raise_exception: bool = True, seed: int = 0, **_ignored: Any) -> bool:
    """Check second derivatives: ``gradcheck`` of the vector-Jacobian product of ``func``
    with respect to both the inputs and (random, unless given) ``grad_outputs``."""
    inputs = _as_tuple(inputs)
    diff = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x._requires_grad]
    outs = _float_outputs(func(*inputs))
    if grad_outputs is None:
        rng = np.random.default_rng(seed)
        grad_outputs = [_tensor(rng.standard_normal(o._shape), dtype=o._dtype, device=o._device,
                                requires_grad=True) for o in outs]
    grad_outputs = tuple(grad_outputs)
    n = len(inputs)

    def vjp(*args: Any) -> tuple:
        ins, gos = args[:n], args[n:]
        outs = [o for o in _float_outputs(func(*ins)) if o._requires_grad]
        grads = _grad(outs, [ins[i] for i in diff], list(gos)[:len(outs)], create_graph=True,
                      allow_unused=True)
        return tuple(g for g in grads if g is not None)

    return gradcheck(vjp, inputs + grad_outputs, eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception)
