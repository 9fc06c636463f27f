"""``mbtorch.amp`` (autocast, GradScaler) against ``torch.amp`` on CPU: dtypes, values,
gradients, nesting, and the scaler's step-by-step state."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import mbtorch as mt
import mbtorch.nn.functional as F

RNG = np.random.default_rng(0)


def _pair(*shape, grad=False):
    a = RNG.standard_normal(shape).astype(np.float32)
    return (mt.tensor(a, requires_grad=grad), torch.tensor(a, requires_grad=grad))


def _close(ours, theirs, rtol=1e-2, atol=1e-2):
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]
    np.testing.assert_allclose(ours.detach().float().numpy(), theirs.detach().float().numpy(),
                               rtol=rtol, atol=atol)


# -- autocast: the op lists -------------------------------------------------------------------
def test_matmul_chain_runs_in_bfloat16_like_torch():
    (x, tx), (a, ta), (b, tb) = _pair(8, 16), _pair(16, 32), _pair(32, 4)
    with mt.autocast("cpu"):
        ours = mt.mm(x @ a, b)
        bat = mt.bmm(x.reshape(2, 4, 16), a.reshape(2, 16, 16))
        add = mt.addmm(b[:1], x @ a, b)
    with torch.autocast("cpu"):
        theirs = torch.mm(tx @ ta, tb)
        tbat = torch.bmm(tx.reshape(2, 4, 16), ta.reshape(2, 16, 16))
        tadd = torch.addmm(tb[:1], tx @ ta, tb)
    _close(ours, theirs, rtol=3e-2, atol=5e-2)
    _close(bat, tbat, rtol=3e-2, atol=5e-2)
    _close(add, tadd, rtol=3e-2, atol=5e-2)


@pytest.mark.parametrize("eq, shapes", [
    ("ii", [(3, 3)]), ("i,i->i", [(3,), (3,)]), ("i,i->", [(3,), (3,)]),
    ("ij,jk->ik", [(3, 4), (4, 2)]), ("i,j->ij", [(3,), (2,)]), ("ij,j->i", [(3, 4), (4,)]),
])
def test_einsum_autocasts_where_torch_contracts(eq, shapes):
    pairs = [_pair(*s) for s in shapes]
    with mt.autocast("cpu"):
        ours = mt.einsum(eq, *[p[0] for p in pairs])
    with torch.autocast("cpu"):
        theirs = torch.einsum(eq, *[p[1] for p in pairs])
    _close(ours, theirs, rtol=3e-2, atol=3e-2)


def _mlp_weights():
    return [_pair(16, 8, grad=True), _pair(16, grad=True), _pair(3, 16, grad=True),
            _pair(3, grad=True)]


def test_mlp_forward_backward_matches_torch_autocast():
    ws = _mlp_weights()
    (x, tx) = _pair(5, 8)
    target = np.array([0, 2, 1, 1, 0])
    with mt.autocast("cpu"):
        h = F.relu(F.linear(x, ws[0][0], ws[1][0]))
        logits = F.linear(h, ws[2][0], ws[3][0])
        loss = F.cross_entropy(logits, mt.tensor(target))
        mse = F.mse_loss(logits, mt.zeros(5, 3))
    with torch.autocast("cpu"):
        th = torch.relu(torch.nn.functional.linear(tx, ws[0][1], ws[1][1]))
        tlogits = torch.nn.functional.linear(th, ws[2][1], ws[3][1])
        tloss = torch.nn.functional.cross_entropy(tlogits, torch.tensor(target))
        tmse = torch.nn.functional.mse_loss(tlogits, torch.zeros(5, 3))
    _close(h, th)
    _close(logits, tlogits, rtol=3e-2, atol=3e-2)
    _close(loss, tloss, rtol=1e-2, atol=1e-2)  # float32, on PyTorch's float32 list
    _close(mse, tmse, rtol=2e-2, atol=2e-2)
    (loss + mse).backward()
    (tloss + tmse).backward()
    for ours, theirs in ws:
        assert ours.grad.dtype is mt.float32
        _close(ours.grad, theirs.grad, rtol=5e-2, atol=3e-2)


def test_conv_net_matches_torch_autocast():
    (x, tx), (w, tw), (b, tb) = _pair(2, 3, 8, 8), _pair(4, 3, 3, 3, grad=True), _pair(4)
    (w1, tw1) = _pair(2, 4, 5, grad=True)
    (v, tv) = _pair(5, 4, 3, grad=True)
    with mt.autocast("cpu"):
        y = F.conv2d(x, w, b, padding=1)
        z = F.conv1d(y.mean(-1).float(), w1)
        t = F.conv_transpose2d(y, v.reshape(4, 5, 3, 1)[:, :, :, :1].expand(4, 5, 3, 3))
    with torch.autocast("cpu"):
        ty = torch.nn.functional.conv2d(tx, tw, tb, padding=1)
        tz = torch.nn.functional.conv1d(ty.mean(-1).float(), tw1)
        tt = torch.nn.functional.conv_transpose2d(
            ty, tv.reshape(4, 5, 3, 1)[:, :, :, :1].expand(4, 5, 3, 3))
    _close(y, ty, rtol=3e-2, atol=5e-2)
    _close(z, tz, rtol=5e-2, atol=1e-1)
    _close(t, tt, rtol=5e-2, atol=1.5e-1)
    z.float().sum().backward()
    tz.float().sum().backward()
    _close(w.grad, tw.grad, rtol=5e-2, atol=2e-1)


def test_elementwise_ops_and_other_dtypes_are_untouched():
    (x, _), = [_pair(3, 3)]
    d = mt.ones(2, 2, dtype=mt.float64)
    i = mt.ones(2, 2, dtype=mt.int64)
    with mt.autocast("cpu"):
        low = x @ x
        assert (low + x).dtype is mt.float32  # add is on no list: it promotes
        assert mt.softmax(low, -1).dtype is mt.bfloat16  # not on PyTorch's CPU fp32 list
        assert (d @ d).dtype is mt.float64
        assert (i @ i).dtype is mt.int64
        assert mt.mv(x, x[0]).dtype is mt.float32  # mv is on no CPU list
        assert mt.trace(low).dtype is mt.float32  # trace is on the float32 list


# -- autocast: the state --------------------------------------------------------------------
def test_state_nesting_and_disable_like_torch():
    x, _ = _pair(2, 2)
    assert not mt.is_autocast_enabled("cpu")
    assert mt.get_autocast_dtype("cpu") is mt.bfloat16
    with mt.autocast("cpu"):
        assert mt.is_autocast_enabled("cpu") and not mt.is_autocast_enabled()
        with mt.autocast("cpu", enabled=False):
            assert not mt.is_autocast_enabled("cpu")
            assert (x @ x).dtype is mt.float32
        with mt.autocast("cpu", dtype=mt.float16):
            assert mt.get_autocast_dtype("cpu") is mt.float16
            assert (x @ x).dtype is mt.float16
        assert mt.get_autocast_dtype("cpu") is mt.bfloat16
        assert (x @ x).dtype is mt.bfloat16
    assert not mt.is_autocast_enabled("cpu")
    assert (x @ x).dtype is mt.float32


def test_autocast_as_decorator_and_aliases():
    x, _ = _pair(2, 2)

    @mt.amp.autocast("cpu")
    def f(a):
        return a @ a

    assert f(x).dtype is mt.bfloat16
    assert not mt.is_autocast_enabled("cpu")
    with pytest.warns(FutureWarning, match="deprecated"):
        ctx = mt.cpu.amp.autocast()
    with ctx:
        assert (x @ x).dtype is mt.bfloat16
    from mbtorch.cuda.amp import autocast as cuda_autocast

    from mbtorch.cpu.amp import GradScaler as CpuScaler

    assert cuda_autocast is mt.cuda.amp.autocast
    with pytest.warns(FutureWarning):
        assert CpuScaler().is_enabled()


def test_unsupported_dtype_warns_and_disables():
    x, _ = _pair(2, 2)
    with pytest.warns(UserWarning, match="not supported"):
        ctx = mt.autocast("cpu", dtype=mt.float64)
    with ctx:
        assert not mt.is_autocast_enabled("cpu")
        assert (x @ x).dtype is mt.float32


def test_autocast_on_an_unavailable_device_warns_and_disables():
    if mt.cuda.is_available():
        pytest.skip("a CUDA device is present")
    with pytest.warns(UserWarning, match="not available"):
        ctx = mt.autocast("cuda")
    with ctx:
        assert not mt.is_autocast_enabled("cuda")
    with pytest.warns(FutureWarning):
        with pytest.warns(UserWarning, match="not available"):
            mt.cuda.amp.autocast()


def test_bad_device_type_is_refused():
    with pytest.raises(ValueError, match="device_type"):
        mt.autocast(3)
    with pytest.raises(RuntimeError, match="Invalid device string"):
        mt.autocast("no such device!")


def test_weight_casts_are_cached_in_the_region():
    w, _ = _pair(4, 4, grad=True)
    x, _ = _pair(2, 4)
    with mt.autocast("cpu"):
        a = F.linear(x, w)
        b = F.linear(x, w)
        assert len(mt.core.autocast.AUTOCAST.cache) == 1
        assert a.dtype is b.dtype is mt.bfloat16
    assert mt.core.autocast.AUTOCAST.cache == {}
    with mt.autocast("cpu", cache_enabled=False):
        F.linear(x, w)
        assert mt.core.autocast.AUTOCAST.cache == {}


# -- GradScaler -----------------------------------------------------------------------------
def _scalers(**kw):
    return mt.amp.GradScaler("cpu", **kw), torch.amp.GradScaler("cpu", **kw)


def _params():
    a = RNG.standard_normal(3).astype(np.float32)
    p, tp = mt.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    return p, tp, mt.optim.SGD([p], lr=0.01), torch.optim.SGD([tp], lr=0.01)


def test_scaler_step_by_step_matches_torch():
    s, ts = _scalers(growth_interval=2, init_scale=8.0)
    p, tp, opt, topt = _params()
    for it, bad in enumerate([False, False, False, True, False, False, True]):
        loss, tloss = (p * p).sum() * (1 + it), (tp * tp).sum() * (1 + it)
        sl, tsl = s.scale(loss), ts.scale(tloss)
        _close(sl, tsl, rtol=1e-6, atol=0)
        sl.backward()
        tsl.backward()
        if bad:
            p.grad[1] = float("inf") if it == 3 else float("nan")
            tp.grad[1] = float("inf") if it == 3 else float("nan")
        if it % 2:
            s.unscale_(opt)
            ts.unscale_(topt)
            _close(p.grad, tp.grad, rtol=1e-6, atol=0)
        s.step(opt)
        ts.step(topt)
        s.update()
        ts.update()
        _close(p, tp, rtol=1e-6, atol=1e-7)
        assert s.get_scale() == ts.get_scale()
        assert s.state_dict() == ts.state_dict()
        opt.zero_grad()
        topt.zero_grad()


def test_scaler_scales_nested_outputs_and_new_scale():
    s, ts = _scalers()
    (x, tx) = _pair(2)
    out = s.scale([x, (x, x)])
    tout = ts.scale([tx, (tx, tx)])
    assert isinstance(out, list) and isinstance(out[1], tuple)
    _close(out[1][0], tout[1][0], rtol=1e-6, atol=0)
    s.update(100.0)
    assert s.get_scale() == 100.0
    s.update(mt.tensor([4.0]))
    assert s.get_scale() == 4.0
    with pytest.raises(AssertionError, match="new_scale"):
        s.update(mt.tensor([1.0, 2.0]))


def test_scaler_misuse_errors_like_torch():
    s, _ = _scalers()
    p, _, opt, _ = _params()
    for call in (lambda: s.unscale_(opt), lambda: s.step(opt), lambda: s.update()):
        with pytest.raises(AssertionError, match="_scale is None"):
            call()
    s.scale((p * 2).sum()).backward()
    s.unscale_(opt)
    with pytest.raises(RuntimeError, match="already been called"):
        s.unscale_(opt)
    s.step(opt)
    with pytest.raises(RuntimeError, match="step\\(\\) has already been called"):
        s.step(opt)
    with pytest.raises(RuntimeError, match="Closure"):
        mt.amp.GradScaler("cpu").step(opt, closure=lambda: 0)
    with pytest.raises(ValueError, match="growth_factor"):
        mt.amp.GradScaler("cpu", growth_factor=0.5)


def test_scaler_state_dict_round_trip_and_disabled_passthrough():
    s, ts = _scalers(init_scale=2.0**10)
    p, tp, opt, topt = _params()
    s.scale((p * 2).sum()).backward()
    s.step(opt)
    s.update()
    fresh = mt.amp.GradScaler("cpu")
    fresh.load_state_dict(s.state_dict())
    assert fresh.state_dict() == s.state_dict()
    tfresh = torch.amp.GradScaler("cpu")
    tfresh.load_state_dict(s.state_dict())  # torch reads ours
    assert tfresh.state_dict() == s.state_dict()
    with pytest.raises(RuntimeError, match="empty"):
        fresh.load_state_dict({})
    off, toff = _scalers(enabled=False)
    loss = (p * 3).sum()
    assert off.scale(loss) is loss and off.get_scale() == 1.0 and off.state_dict() == {}
    loss.backward()
    before = p.detach().clone()
    off.step(opt)
    off.update()
    assert not bool((p == before).all())  # the optimizer ran, unscaled
    assert toff.state_dict() == off.state_dict()


def test_scaler_on_unavailable_device_disables_with_warning():
    if mt.cuda.is_available():
        pytest.skip("a CUDA device is present")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        s = mt.amp.GradScaler()  # device defaults to 'cuda', as in PyTorch
        legacy = mt.cuda.amp.GradScaler()
    assert not s.is_enabled() and not legacy.is_enabled()
    assert any(w.category is FutureWarning for w in caught)
    assert any("not available" in str(w.message) for w in caught)


# -- custom Functions -------------------------------------------------------------------------
def _custom_matmul(lib, cast_inputs):
    class MatMul(lib.autograd.Function):
        @staticmethod
        @lib.amp.custom_fwd(device_type="cpu", cast_inputs=cast_inputs)
        def forward(ctx, a, b):
            ctx.save_for_backward(a, b)
            ctx.inside = lib.is_autocast_enabled("cpu")
            return a @ b

        @staticmethod
        @lib.amp.custom_bwd(device_type="cpu")
        def backward(ctx, g):
            a, b = ctx.saved_tensors
            ctx.inside_backward = lib.is_autocast_enabled("cpu")
            return g @ b.t(), a.t() @ g

    return MatMul


@pytest.mark.parametrize("cast_inputs", [None, "float32"])
def test_custom_fwd_bwd_match_torch(cast_inputs):
    (a, ta), (b, tb) = _pair(3, 4, grad=True), _pair(4, 2, grad=True)
    ours_fn = _custom_matmul(mt, cast_inputs and mt.float32)
    theirs_fn = _custom_matmul(torch, cast_inputs and torch.float32)
    with mt.autocast("cpu"):
        out = ours_fn.apply(a, b)
        out.float().sum().backward()
    with torch.autocast("cpu"):
        tout = theirs_fn.apply(ta, tb)
        tout.float().sum().backward()
    _close(out, tout, rtol=3e-2, atol=3e-2)
    # values only: torch's engine casts a Function's gradient to its input's dtype (float32
    # here), mbtorch's Function passes the bfloat16 one backward(...) computed under autocast
    _close(a.grad.float(), ta.grad.float(), rtol=3e-2, atol=3e-2)
    _close(b.grad.float(), tb.grad.float(), rtol=3e-2, atol=3e-2)
    with pytest.raises(ValueError, match="device_type"):
        mt.amp.custom_fwd(device_type=None)


def _train(lib, weights, x, y, steps=15):
    model = lib.nn.Sequential(lib.nn.Linear(6, 16), lib.nn.ReLU(), lib.nn.Linear(16, 3))
    with lib.no_grad():
        for p, w in zip(model.parameters(), weights):
            p.copy_(lib.tensor(w))
    opt = lib.optim.SGD(model.parameters(), lr=0.2)
    scaler = lib.amp.GradScaler("cpu", init_scale=2.0**8)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        with lib.autocast(device_type="cpu", dtype=lib.bfloat16):
            loss = lib.nn.functional.cross_entropy(model(lib.tensor(x)), lib.tensor(y))
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        losses.append(loss.item())
    return losses, loss.dtype


def test_amp_training_loop_learns_like_torch():
    weights = [RNG.standard_normal(s).astype(np.float32) * 0.4
               for s in ((16, 6), (16,), (3, 16), (3,))]
    x = RNG.standard_normal((32, 6)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 0.5).astype(np.int64)
    ours, dtype = _train(mt, weights, x, y)
    theirs, tdtype = _train(torch, weights, x, y)
    assert dtype is mt.float32 and tdtype is torch.float32
    assert ours[-1] < 0.7 * ours[0]
    np.testing.assert_allclose(ours, theirs, rtol=3e-2, atol=2e-2)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_state_functions_match_torch():
    for lib in (mt, torch):
        assert not lib.is_autocast_cpu_enabled()
        assert lib.get_autocast_cpu_dtype() is lib.bfloat16
        assert lib.get_autocast_gpu_dtype() is lib.float16
        assert lib.is_autocast_cache_enabled()
        with lib.autocast("cpu", dtype=lib.float16):
            assert lib.is_autocast_cpu_enabled()
            assert lib.get_autocast_cpu_dtype() is lib.float16
        assert lib.get_autocast_cpu_dtype() is lib.bfloat16
        lib.set_autocast_cpu_enabled(True)
        try:
            assert lib.is_autocast_enabled("cpu")
        finally:
            lib.set_autocast_cpu_enabled(False)
        assert lib.autocast_increment_nesting() == 1
        assert lib.autocast_decrement_nesting() == 0
    with pytest.warns(DeprecationWarning, match="is_autocast_enabled"):
        mt.is_autocast_cpu_enabled()


def test_autocast_on_another_backend_uses_float16():
    from mbtorch.amp.autocast_mode import is_autocast_available

    if not is_autocast_available("mini"):
        pytest.skip("the mbtorch-mini example backend is not installed")
    x = mt.randn(4, 4, device="mini")
    w = mt.randn(3, 4, device="mini", requires_grad=True)
    with mt.autocast("mini"):  # float16 by default off cpu, as PyTorch's cuda
        y = F.linear(x, w)
        loss = F.mse_loss(y, mt.zeros(4, 3, device="mini"))
        assert not mt.is_autocast_enabled("cpu")
        assert (mt.ones(2, 2) @ mt.ones(2, 2)).dtype is mt.float32  # cpu tensors untouched
    assert y.dtype is mt.float16 and loss.dtype is mt.float32
    loss.backward()
    assert w.grad.dtype is mt.float32
    ref = ((x.cpu().half().float() @ w.detach().cpu().half().float().t()) ** 2).mean()
    np.testing.assert_allclose(loss.item(), ref.item(), rtol=2e-3)


@pytest.mark.parametrize("name, x_shape, w_shape", [
    ("conv3d", (1, 2, 4, 4, 4), (3, 2, 2, 2, 2)),
    ("conv_transpose1d", (1, 2, 5), (2, 3, 3)),
    ("conv_transpose3d", (1, 2, 3, 3, 3), (2, 3, 2, 2, 2)),
])
def test_other_convolutions_autocast_like_torch(name, x_shape, w_shape):
    if not hasattr(F, name):
        pytest.skip(f"mbtorch.nn.functional.{name} is not there yet")
    (x, tx), (w, tw) = _pair(*x_shape), _pair(*w_shape)
    with mt.autocast("cpu"):
        ours = getattr(F, name)(x, w)
    with torch.autocast("cpu"):
        theirs = getattr(torch.nn.functional, name)(tx, tw)
    _close(ours, theirs, rtol=5e-2, atol=1e-1)


@pytest.mark.parametrize("call", [
    lambda lib, F, x, y: F.prelu(x, lib.tensor([0.25])),
    lambda lib, F, x, y: F.scaled_dot_product_attention(x[None], y[None], y[None]),
    lambda lib, F, x, y: F.soft_margin_loss(x.bfloat16(), lib.ones(4, 5)),
    lambda lib, F, x, y: F.triplet_margin_loss(x.bfloat16(), y, y),
    lambda lib, F, x, y: F.cosine_embedding_loss(x.bfloat16(), y, lib.ones(4)),
    lambda lib, F, x, y: F.poisson_nll_loss(x.bfloat16(), y.abs()),
], ids=["prelu", "sdpa", "soft_margin", "triplet_margin", "cosine_embedding", "poisson_nll"])
def test_more_ops_follow_torchs_cpu_lists(call):
    x, y = np.random.default_rng(0).standard_normal((2, 4, 5)).astype(np.float32)
    with torch.autocast("cpu"):
        theirs = call(torch, torch.nn.functional, torch.tensor(x), torch.tensor(y))
    with mt.autocast("cpu"):
        ours = call(mt, mt.nn.functional, mt.tensor(x), mt.tensor(y))
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]
    np.testing.assert_allclose(ours.float().detach().numpy(), theirs.float().detach().numpy(),
                               rtol=2e-2, atol=2e-2)
