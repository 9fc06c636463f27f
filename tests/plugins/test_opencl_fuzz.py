"""The differential fuzz tests of tests/fuzz (elementwise ops, reductions) on ``opencl``:
the same test bodies, collected here with a ``device`` fixture that gives ``"opencl"``, so
CI runs them once per OpenCL driver in its own process, plus the opencl-only counterexample.
Skipped, with the reason, where PyOpenCL or an OpenCL platform is missing."""

from __future__ import annotations

import pytest

from tests.fuzz import test_fuzz_elementwise as _elementwise
from tests.fuzz import test_fuzz_reductions as _reductions
from tests.fuzz.test_fuzz_regressions import check
from tests.plugins.test_opencl import _OK, _WHY

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as hst  # noqa: E402

__all__ = ["test_binary_tensor_scalar", "test_binary_tensor_tensor",
           "test_half_remainder_by_a_python_float", "test_inplace", "test_reduction",
           "test_unary", "test_where"]

# Fewer examples per op than on cpu (each new dtype combination compiles kernels, seconds
# each on a PoCL without a warm cache): 10 in CI (cpu: 30, reductions 60), 100 under
# MBTORCH_FUZZ=long. The bodies are the tests' own (``inner_test``), under @given again.
_EXAMPLES = settings(max_examples=max(5, settings.default.max_examples // 6))


def _fewer_examples(test):
    """``test``'s own body under ``@given`` again with fewer examples, keeping its marks."""
    again = _EXAMPLES(given(data=hst.data())(test.hypothesis.inner_test))
    again.pytestmark = list(getattr(test, "pytestmark", []))
    return again


test_binary_tensor_tensor = _fewer_examples(_elementwise.test_binary_tensor_tensor)
test_binary_tensor_scalar = _fewer_examples(_elementwise.test_binary_tensor_scalar)
test_unary = _fewer_examples(_elementwise.test_unary)
test_inplace = _fewer_examples(_elementwise.test_inplace)
test_where = _elementwise.test_where
test_reduction = _fewer_examples(_reductions.test_reduction)


pytestmark = [pytest.mark.fuzz,
              pytest.mark.skipif(not _OK, reason=f"no usable OpenCL device: {_WHY}")]


@pytest.fixture(scope="module")
def device():
    """The device the imported fuzz tests run on here."""
    return "opencl"


@pytest.mark.xfail(strict=True, reason="opencl's remainder divides a float16 tensor by the "
                   "Python float unrounded (1.9726 % 1.9731 = 1.9726); PyTorch rounds the "
                   "number to float16 first for remainder (1.973 % 1.973 = 0)")
def test_half_remainder_by_a_python_float(device):
    check(device, lambda m, a: a % 1.9730656147003174, (1.973, "float16"))
