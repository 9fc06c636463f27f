"""``DistributedDataParallel`` under ``mpiexec -n 2`` trains to the same parameters as one
process on the same global batches (workers ``data_parallel.py`` and ``ddp_common.py``)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

N = 2
WORKERS = Path(__file__).parent / "workers"


def _common():
    spec = importlib.util.spec_from_file_location("ddp_common", WORKERS / "ddp_common.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def reference():
    """One process, the whole global batch each step, rank 0's initial weights."""
    common = _common()
    model = common.make_model(seed=0)
    common.train(model, model)
    return {k: v.numpy() for k, v in model.state_dict().items()}, \
        {k: p.grad.numpy() for k, p in model.named_parameters() if p.grad is not None}


@pytest.mark.parametrize("mode", ["plain", "accum"])
def test_matches_single_process(mpirun, tmp_path, reference, mode):
    proc = mpirun(N, "data_parallel.py", tmp_path, mode)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    ref_state, ref_grads = reference
    for r in range(N):
        got = np.load(tmp_path / f"{mode}_rank{r}.npz")
        for k, want in ref_state.items():
            np.testing.assert_allclose(got[k], want, rtol=1e-5, atol=1e-6, err_msg=k)
        for k, want in ref_grads.items():  # the last step's gradients: the global mean
            np.testing.assert_allclose(got[f"grad.{k}"], want, rtol=1e-5, atol=1e-6,
                                       err_msg=k)
        facts = json.loads((tmp_path / f"{mode}_rank{r}.json").read_text())
        assert len(facts["buckets"]) > 1 and sum(facts["buckets"]) == 6
        # one synchronized backward per step; by its end every bucket but the last (which
        # holds the unused layer, never ready) was already reducing: the overlap
        assert facts["started_during_backward"] == [len(facts["buckets"]) - 1] * 4
        assert facts["module_is_model"] and facts["forwards_attribute"]
        assert facts["keys"] == list(ref_state)  # no "module." prefix
        assert facts["named_parameter"] == "module.unused.weight"
        assert facts["load_prefixed"] == [[], []]  # no missing, no unexpected keys
        assert facts["loaded_equal"]
        assert facts["unused_grad"] == 0.0  # unused on every rank: a zero average
