"""The four training scripts under examples/ train on ``device='opencl'`` as they do on cpu
(``tests/test_training_examples.py``): their losses fall. CI runs this file once per OpenCL
driver (``PYOPENCL_CTX`` picks the platform, see ``.ci/opencl_platforms.py``). Skipped, with
the reason, where no OpenCL device is usable."""

from __future__ import annotations

import pytest

from tests.plugins.test_opencl import _OK, _WHY
from tests.test_training_examples import SCRIPTS, _main, _trend

pytestmark = pytest.mark.skipif(not _OK, reason=f"no usable OpenCL device: {_WHY}")


@pytest.mark.parametrize("name,steps", SCRIPTS)
def test_example_trains_on_opencl(name, steps):
    out = _main(name)(["--steps", str(steps), "--device", "opencl"])
    losses = out[0] if isinstance(out, tuple) else out
    assert len(losses) == steps
    first, last = _trend(losses)
    assert last < 0.6 * first, f"{name}: loss {first:.3f} -> {last:.3f}"
    if name == "train_cnn":
        _, acc, same = out
        assert acc > 0.7 and same is True  # eval accuracy, identical after save/load
