"""Soak tests on opencl: training steps, eager and compiled, leave the memory pool's live and
cached buffers, the built programs, reduction plans, live tensors, autograd nodes and resident
memory where warm-up left them, and every buffer goes back to the pool when the model goes.
The short form runs in CI; ``MBTORCH_SOAK=long`` runs 1,000 steps (``python -m tests.soak
--device opencl`` prints the table). Skipped, with the reason, where OpenCL is missing."""

from __future__ import annotations

import gc

import pytest

from tests.plugins.test_opencl import _OK, _WHY
from tests.soak import LONG, steps
from tests.soak import measure as m

pytestmark = [pytest.mark.skipif(not _OK, reason=f"no usable OpenCL device: {_WHY}"),
              pytest.mark.soak]
DEV = "opencl"
STEPS = steps(160)
WARMUP = m.default_warmup(STEPS) if LONG else 60  # the driver settles slower (PoCL's first runs)
SAMPLES = 10 if LONG else 4


def _live_buffers() -> int:
    gc.collect()
    return m._opencl_pool(DEV)["buffers"]


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "compiled"])
@pytest.mark.parametrize("model", m.MODELS)
def test_opencl_training_is_flat_after_warmup_and_gives_its_buffers_back(model, compiled):
    before, nodes = _live_buffers(), m.census([])["nodes"]
    run = m.soak(DEV, model, compiled, STEPS, WARMUP, SAMPLES)
    assert m.problems(run) == []
    assert run.loss == run.loss
    assert run.span("buffers")[0] > before  # the counter sees the model's buffers
    if compiled:
        assert run.stats == {"traces": 2, "replays": run.steps - 2, "eager": 0}
        assert run.span("plans") == (2, 2)
        assert run.span("nodes") == (nodes, nodes)  # process-wide: other tests' graphs
    # model, optimizer state, batch, compiled plans and their planned buffers are gone now
    assert _live_buffers() == before


def test_accelerator_memory_stats_count_the_opencl_pool():
    import mbtorch as mt

    if mt.accelerator.current_accelerator().type != DEV:
        pytest.skip("another plugin is the accelerator here")
    gc.collect()
    mt.accelerator.reset_peak_memory_stats()
    base = mt.accelerator.memory_allocated()
    assert mt.accelerator.max_memory_allocated() == base
    t = mt.empty(1024, 1024, device=DEV)  # 4 MiB
    held = mt.accelerator.memory_allocated()
    assert held - base >= 4 * 2**20
    del t
    gc.collect()
    assert mt.accelerator.memory_allocated() == base
    assert mt.accelerator.max_memory_allocated() == held
    mt.accelerator.reset_peak_memory_stats()
    assert mt.accelerator.max_memory_allocated() == base
    mt.accelerator.empty_cache()  # the freed buffer goes back to the driver
    assert m._opencl_pool(DEV)["cached buffers"] == 0
    assert mt.accelerator.memory_allocated() == base
