"""OpenCL and threads: several threads running one shared model on the ``opencl`` device get
the serial results (CI runs this file per OpenCL driver, in its own process)."""

import numpy as np
import pytest

import mbtorch as mt
from tests.plugins.test_opencl import _OK, _WHY
from tests.test_threads import MODELS, THREADS, _inputs, run_threads

pytestmark = pytest.mark.skipif(not _OK, reason=f"no usable OpenCL device: {_WHY}")


@pytest.mark.parametrize("name", list(MODELS))
def test_shared_model_inference_from_threads_matches_serial(name):
    build, shape = MODELS[name]
    model = build().to("opencl")
    xs = _inputs(shape, "opencl")

    def infer(i):
        with mt.no_grad():
            return [model(x).cpu().numpy() for x in xs[i]]

    serial = [infer(i) for i in range(THREADS)]
    for _ in range(3):
        for want, got in zip(serial, run_threads(infer)):
            for w, g in zip(want, got):
                np.testing.assert_array_equal(g, w)


def test_backward_from_threads_on_separate_graphs():
    build, shape = MODELS["mlp"]
    model = build().to("opencl")
    xs = _inputs(shape, "opencl")

    def grads(i):
        x = xs[i][0].clone().requires_grad_(True)
        out = mt.autograd.grad(model(x).square().sum(), [x, *model.parameters()])
        return [g.cpu().numpy() for g in out]

    serial = [grads(i) for i in range(THREADS)]
    for want, got in zip(serial, run_threads(grads)):
        for w, g in zip(want, got):
            np.testing.assert_array_equal(g, w)


def test_kernel_launches_from_threads_match_serial():
    # many small launches of the same cached kernels: a launch sets a kernel's arguments then
    # enqueues it, which must not interleave with another thread's launch
    rng = np.random.default_rng(0)
    xs = [[mt.tensor(rng.standard_normal(1000).astype(np.float32), device="opencl")
           for _ in range(40)] for _ in range(THREADS)]

    def work(i):
        return [((x * 2.0 + 1.0).exp() - x).cpu().numpy() for x in xs[i]]

    serial = [work(i) for i in range(THREADS)]
    for _ in range(3):
        for want, got in zip(serial, run_threads(work)):
            for w, g in zip(want, got):
                np.testing.assert_array_equal(g, w)
