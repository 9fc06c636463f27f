"""A backend with only the primitives (the template plugin's ``mini`` device) gets correct
gradients with no gradient code of its own: composites decompose, the table does the rest."""

from __future__ import annotations

import numpy as np
import pytest

import mbtorch as mt
from mbtorch.autograd import gradcheck
from mbtorch.core.op import Op
from tests.autograd.test_derivatives import SAMPLES
from tests.conftest import MINI_MISSING, mini_available

ON_ANY_DEVICE = [
    Op.ADD, Op.MUL, Op.DIV, Op.POW, Op.EXP, Op.LOG, Op.TANH, Op.SIGMOID, Op.RELU, Op.WHERE,
    Op.CLAMP, Op.LERP, Op.VIEW, Op.PERMUTE, Op.EXPAND, Op.SLICE, Op.SELECT, Op.DIAGONAL,
    Op.SUM, Op.MEAN, Op.PROD, Op.AMAX, Op.LOGSUMEXP, Op.SOFTMAX, Op.LOG_SOFTMAX, Op.CUMSUM,
    Op.MATMUL, Op.SORT, Op.VAR, Op.CUMPROD, Op.TRIL, Op.SINH, Op.ASIN,
]


def _device():
    if not mini_available():
        pytest.fail(MINI_MISSING)
    return "mini"


@pytest.mark.parametrize("op", ON_ANY_DEVICE, ids=lambda op: op.name)
def test_gradcheck_on_template_device(op):
    device = _device()
    fn, inputs, *options = SAMPLES[op]
    moved = tuple(x.detach().to(device).requires_grad_() for x in inputs)
    assert gradcheck(fn, moved, **(options[0] if options else {}))


def test_same_gradient_as_cpu():
    device = _device()
    fn, inputs, *_ = SAMPLES[Op.SOFTMAX]
    grads = []
    for dev in ("cpu", device):
        x = inputs[0].detach().to(dev).requires_grad_()
        (fn(x) * mt.arange(3, dtype=mt.float64, device=dev)).sum().backward()
        grads.append(x.grad.to("cpu").tolist())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-12)


@pytest.mark.parametrize("fn", [lambda x: x.argmax(), lambda x: x > 0.5,
                                lambda x: mt.isnan(x), lambda x: x.argmin(dim=0)],
                         ids=["argmax", "gt", "isnan", "argmin"])
def test_non_differentiable_composite_records_nothing_when_decomposed(fn):
    # on a primitives-only device these composites run their decompositions, whose parts
    # (amax, eq, ...) are differentiable: nothing of it may be recorded, as on cpu
    for dev in ("cpu", _device()):
        x = mt.tensor([[0.2, 0.9], [0.7, 0.1]], device=dev, requires_grad=True)
        out = fn(x)
        assert out.grad_fn is None and not out.requires_grad, dev
