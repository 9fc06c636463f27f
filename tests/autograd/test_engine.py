"""Engine semantics: accumulation, retain_graph, non-scalar roots, autograd.grad, hooks,
retain_grad, higher order, deep graphs, and memory across a training-style loop."""

from __future__ import annotations

import gc
import tracemalloc

import numpy as np
import pytest

import mbtorch as mt


def leaf(values, dtype=mt.float64):
    return mt.tensor(values, dtype=dtype, requires_grad=True)


def np_(t):
    return t.detach().numpy()


def test_grad_accumulates_across_backward_calls():
    x = leaf([1.0, 2.0])
    (x * 3).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(np_(x.grad), [3 + 2, 3 + 4])


def test_grad_of_a_shared_input_sums_all_paths():
    x = leaf(2.0)
    y = x * x + x.exp() * x
    y.backward()
    np.testing.assert_allclose(np_(x.grad), 2 * 2 + np.exp(2) * 3)


def test_leaf_grad_does_not_alias_graph_tensors():
    a, b = leaf([1.0]), leaf([1.0])
    (a + b).sum().backward()
    a.grad.add_(5)
    np.testing.assert_allclose(np_(b.grad), [1.0])


def test_second_backward_without_retain_graph_raises():
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second"):
        y.backward()


def test_retain_graph_allows_second_backward():
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(np_(x.grad), [4.0, 8.0])


def test_graph_without_saved_tensors_can_run_twice():
    x = leaf([1.0, 2.0])
    y = (x + 1).sum()
    y.backward()
    y.backward()  # as in PyTorch: nothing was saved, nothing was freed
    np.testing.assert_allclose(np_(x.grad), [2.0, 2.0])


def test_non_scalar_backward_needs_gradient():
    x = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar"):
        (x * 2).backward()
    (x * 2).backward(mt.tensor([1.0, 10.0], dtype=mt.float64))
    np.testing.assert_allclose(np_(x.grad), [2.0, 20.0])


def test_backward_on_tensor_without_grad_raises():
    with pytest.raises(RuntimeError, match="does not require grad and does not have a grad_fn"):
        mt.ones(2).sum().backward()


def test_gradient_shape_mismatch():
    x = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match="Mismatch in shape"):
        (x * 2).backward(mt.ones(3, dtype=mt.float64))


def test_autograd_grad_returns_without_accumulating():
    x, w = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    gx, gw = mt.autograd.grad((x * w).sum(), (x, w))
    np.testing.assert_allclose(np_(gx), [3.0, 4.0])
    np.testing.assert_allclose(np_(gw), [1.0, 2.0])
    assert x.grad is None and w.grad is None


def test_autograd_grad_allow_unused():
    x, unused = leaf([1.0]), leaf([1.0])
    with pytest.raises(RuntimeError, match="appears to not have been used in the graph"):
        mt.autograd.grad((x * 2).sum(), (x, unused))
    gx, gu = mt.autograd.grad((x * 2).sum(), (x, unused), allow_unused=True)
    assert gu is None and np_(gx).tolist() == [2.0]
    _, gz = mt.autograd.grad((x * 2).sum(), (x, unused), materialize_grads=True)
    assert np_(gz).tolist() == [0.0]


def test_autograd_grad_wrt_intermediate():
    x = leaf([1.0, 2.0])
    h = x * 3
    (g,) = mt.autograd.grad((h * h).sum(), h)
    np.testing.assert_allclose(np_(g), 2 * np_(h))


def test_higher_order_with_create_graph():
    x = leaf(3.0)
    y = x ** 3
    (g,) = mt.autograd.grad(y, x, create_graph=True)
    assert g.requires_grad
    (g2,) = mt.autograd.grad(g, x, create_graph=True)
    (g3,) = mt.autograd.grad(g2, x)
    assert (g.item(), g2.item(), g3.item()) == (27.0, 18.0, 6.0)


def test_backward_create_graph_gives_differentiable_grad():
    x = leaf([1.0, 2.0])
    (x.sin() * x).sum().backward(create_graph=True)
    assert x.grad.requires_grad
    (gg,) = mt.autograd.grad(x.grad.sum(), x)
    xs = np.array([1.0, 2.0])
    np.testing.assert_allclose(np_(gg), 2 * np.cos(xs) - xs * np.sin(xs))


def test_backward_inputs_limits_accumulation():
    x, w = leaf([1.0]), leaf([2.0])
    (x * w).sum().backward(inputs=[w])
    assert x.grad is None and np_(w.grad).tolist() == [1.0]


def test_tensor_hooks_on_leaf_and_intermediate():
    x = leaf([1.0, 2.0])
    seen = []
    x.register_hook(lambda g: seen.append(("x", np_(g).tolist())))
    h = x * 2
    h.register_hook(lambda g: g * 10)  # replaces the gradient flowing on
    (h + x).sum().backward()
    assert seen == [("x", [21.0, 21.0])]  # leaf hook runs once, on the summed gradient
    np.testing.assert_allclose(np_(x.grad), [21.0, 21.0])


def test_hook_handle_remove():
    x = leaf([1.0])
    handle = x.register_hook(lambda g: g * 0)
    handle.remove()
    (x * 2).sum().backward()
    assert np_(x.grad).tolist() == [2.0]


def test_register_hook_needs_grad():
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        mt.ones(1).register_hook(lambda g: g)


def test_retain_grad():
    x = leaf([1.0, 2.0])
    h = x * 2
    h.retain_grad()
    assert h.retains_grad and not x.retains_grad
    (h * h).sum().backward()
    np.testing.assert_allclose(np_(h.grad), 2 * np_(h))
    y = x * 2
    y.sum().backward()
    assert y.grad is None


def test_node_hooks_and_names():
    x = leaf([1.0])
    y = x * 2
    assert y.grad_fn.name() == "MulBackward0" and not y.is_leaf and x.is_leaf
    nxt = y.grad_fn.next_functions
    assert nxt[0][0].variable is x and nxt[1] == (None, 0)
    calls = []
    y.grad_fn.register_hook(lambda gi, go: calls.append(len(gi)))
    y.sum().backward()
    assert calls == [2]


def test_deep_graph_of_ten_thousand_ops():
    x = leaf([1.0])
    y = x
    for _ in range(10_000):
        y = y * 1.0001
    y.sum().backward()
    np.testing.assert_allclose(np_(x.grad), [1.0001 ** 10_000], rtol=1e-9)


def _train_step(w, b, xs, ys):
    pred = xs @ w + b
    loss = ((pred - ys) ** 2).mean()
    loss.backward()
    with mt.no_grad():
        w -= 0.01 * w.grad
        b -= 0.01 * b.grad
        w.grad.zero_()
        b.grad.zero_()
    return loss


def test_training_loop_does_not_leak():
    rng = np.random.default_rng(0)
    xs = mt.tensor(rng.standard_normal((16, 4)), dtype=mt.float32)
    ys = mt.tensor(rng.standard_normal((16, 1)), dtype=mt.float32)
    w = mt.zeros(4, 1, requires_grad=True)
    b = mt.zeros(1, requires_grad=True)
    for _ in range(50):  # warm caches (rule plans, device lookups)
        _train_step(w, b, xs, ys)
    gc.collect()
    tracemalloc.start()
    try:
        for _ in range(200):
            _train_step(w, b, xs, ys)
        gc.collect()
        first, _ = tracemalloc.get_traced_memory()
        for _ in range(1_000):
            loss = _train_step(w, b, xs, ys)
        gc.collect()
        second, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert second - first < 64 * 1024, f"grew by {second - first} bytes"
    assert loss.item() < 2.0


def test_graph_is_freed_without_retain_graph():
    import weakref

    x = leaf([1.0, 2.0])
    y = (x.exp() * x).sum()
    node = y.grad_fn
    ref = weakref.ref(node.next_functions[0][0])
    y.backward()
    del y, node
    gc.collect()
    assert ref() is None


def test_transfer_between_devices_is_differentiable():
    x = leaf([1.0, 2.0])
    y = x.to("cpu", copy=True) * 2
    y.sum().backward()
    np.testing.assert_allclose(np_(x.grad), [2.0, 2.0])
