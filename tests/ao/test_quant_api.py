"""``mbtorch.ao.quantization.quantize_`` against torchao's ``quantize_`` with
``Int8WeightOnlyConfig`` and ``Int8DynamicActivationInt8WeightConfig`` on the same weights:
the int8 weights and scales, and the outputs."""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest

import mbtorch as mt
from mbtorch.ao.quantization.quant_api import (
    Int8DynamicActivationInt8WeightConfig,
    Int8WeightOnlyConfig,
    quantize_,
)

torch = pytest.importorskip("torch")
warnings.filterwarnings("ignore", message=".*(deprecated|Enum subclass).*")


def _twins():
    torch.manual_seed(3)
    tm = torch.nn.Sequential(torch.nn.Linear(24, 16), torch.nn.ReLU(), torch.nn.Linear(16, 5))
    mm = mt.nn.Sequential(mt.nn.Linear(24, 16), mt.nn.ReLU(), mt.nn.Linear(16, 5))
    mm.load_state_dict({k: mt.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    return tm, mm


@pytest.mark.parametrize("name", ["Int8WeightOnlyConfig",
                                  "Int8DynamicActivationInt8WeightConfig"])
def test_matches_torchao(name):
    tao = pytest.importorskip("torchao.quantization",
                              reason="torchao is the oracle of quantize_ (.ci/run installs it)")
    tm, mm = _twins()
    quantize_(mm, {"Int8WeightOnlyConfig": Int8WeightOnlyConfig,
                   "Int8DynamicActivationInt8WeightConfig":
                   Int8DynamicActivationInt8WeightConfig}[name]())
    tao.quantize_(tm, getattr(tao, name)())
    for i in (0, 2):
        np.testing.assert_allclose(mm[i].weight_scale.numpy(),
                                   tm[i].weight.scale.reshape(-1, 1).numpy(), rtol=1e-7)
        diff = np.abs(mm[i].weight.numpy().astype(int) - tm[i].weight.qdata.numpy())
        assert diff.max() <= 1 and (diff > 0).mean() < 0.02  # ties at float rounding only
        assert isinstance(mm[i], mt.nn.Linear) and mm[i].weight.dtype is mt.int8
    x = np.random.default_rng(0).normal(size=(7, 24)).astype(np.float32)
    with torch.no_grad():
        want = tm(torch.tensor(x)).numpy()
    got = mm(mt.tensor(x)).detach().numpy()
    np.testing.assert_allclose(got, want, atol=2e-2)


def test_state_dict_keys_filter_and_errors():
    _, mm = _twins()
    quantize_(mm, Int8WeightOnlyConfig(), filter_fn=lambda m, fqn: fqn == "2")
    assert type(mm[0]) is mt.nn.Linear and mm[2].weight.dtype is mt.int8
    assert sorted(mm[2].state_dict()) == ["bias", "weight", "weight_scale"]
    again = copy.deepcopy(mm)
    again.load_state_dict(mm.state_dict())
    with pytest.raises(TypeError, match="unsupported config"):
        quantize_(mm, object())
    with pytest.raises(TypeError, match="only nn.Linear"):
        quantize_(mm, Int8WeightOnlyConfig(), filter_fn=lambda m, fqn: fqn == "1")
    with pytest.raises(NotImplementedError, match="group_size"):
        quantize_(mm, Int8WeightOnlyConfig(group_size=32))
    with pytest.raises(TypeError, match="must be an nn.Module"):
        quantize_(mt.ones(2), Int8WeightOnlyConfig())
