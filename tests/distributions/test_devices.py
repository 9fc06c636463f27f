"""The distributions run on any backend: the template plugin's device ``mini`` gives the
values the CPU gives, keeps results on the device, and differentiates them."""

from __future__ import annotations

import numpy as np

import mbtorch as mt
import mbtorch.distributions as D

from ._specs import np_of


def _on(dev, *arrays):
    return [mt.tensor(np.asarray(a, dtype=np.float32), device=dev) for a in arrays]


def test_log_prob_entropy_and_gradients_match_the_cpu(mini_device):
    results = {}
    for dev in ("cpu", mini_device):
        loc, scale, conc, rate, v = _on(dev, [0.3, -1.0], [0.5, 2.0], [0.7, 3.0], [1.0, 2.0],
                                        [0.4, 1.2])
        loc.requires_grad_()
        conc.requires_grad_()
        total = (D.Normal(loc, scale).log_prob(v).sum() + D.Gamma(conc, rate).entropy().sum()
                 + D.kl_divergence(D.Beta(conc, rate), D.Beta(rate, conc)).sum())
        total.backward()
        assert total.device.type == mt.device(dev).type and loc.grad.device == loc.device
        results[dev] = (np_of(total), np_of(loc.grad), np_of(conc.grad))
    for a, b in zip(results["cpu"], results[mini_device]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_sampling_stays_on_the_device_with_the_right_moments(mini_device):
    mt.manual_seed(0)
    conc, rate = _on(mini_device, [0.5, 3.0], [1.0, 2.0])
    s = D.Gamma(conc, rate).sample((20000,))
    assert s.device.type == "mini"
    np.testing.assert_allclose(np_of(s.mean(0)), [0.5, 1.5], rtol=0.05)
    (cov,) = _on(mini_device, [[2.0, 0.3], [0.3, 1.0]])
    mvn = D.MultivariateNormal(mt.zeros(2, device=mini_device), covariance_matrix=cov)
    x = mvn.rsample((20000,))
    assert x.device.type == "mini"
    np.testing.assert_allclose(np.cov(np_of(x).T), np_of(cov), atol=0.06)
    c = D.Categorical(logits=mt.zeros(3, device=mini_device)).sample((10,))
    assert c.device.type == "mini" and c.dtype is mt.int64
