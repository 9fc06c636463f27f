"""The view and indexing fuzz tests (tests/fuzz/test_fuzz_views.py, test_fuzz_indexing.py)
and their regression tests on the OpenCL device: the same test bodies, with the ``device``
fixture giving ``opencl``. CI runs this file once per OpenCL driver in its own process
(PYOPENCL_CTX picks the driver), so a driver crash cannot take the main run down."""

from __future__ import annotations

import pytest

pytest.importorskip("hypothesis")
pytest.importorskip("torch")

from tests.fuzz.test_fuzz_indexing import (  # noqa: E402, F401 - collected here on opencl
    test_gather_scatter_take_index_select_match_torch,
    test_getitem_matches_torch,
    test_index_put_accumulate_matches_torch,
    test_masked_fill_and_scatter_match_torch,
    test_setitem_matches_torch,
)
from tests.fuzz.test_fuzz_regressions_indexing import *  # noqa: E402, F401, F403
from tests.fuzz.test_fuzz_views import (  # noqa: E402, F401
    test_in_place_between_views_of_one_tensor_matches_torch,
    test_view_chain_then_write_matches_torch,
)
from tests.plugins.test_opencl import _OK, _WHY  # noqa: E402

pytestmark = [pytest.mark.fuzz,
              pytest.mark.skipif(not _OK, reason=f"no usable OpenCL device: {_WHY}")]


@pytest.fixture(scope="module")
def device():
    """Overrides the fuzz modules' cpu/mini ``device`` fixture: every test body imported
    above runs on OpenCL here."""
    return "opencl"
