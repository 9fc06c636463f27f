"""Post-accumulate-grad hooks and end-of-backward callbacks (what data-parallel training
builds on), compared with PyTorch where it has the same API."""

from __future__ import annotations

import pytest

import mbtorch as mt
from mbtorch.autograd.engine import queue_callback


def _events(lib, engine_queue):
    p = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
    seen = []
    p.register_hook(lambda g: seen.append(("hook", g.tolist())))

    def after(t):
        seen.append(("acc", t.grad.tolist()))
        engine_queue(lambda: seen.append(("final", p.grad.tolist())))

    p.register_post_accumulate_grad_hook(after)
    (p * p).sum().backward()
    (p * 2).sum().backward()
    return seen


def test_order_and_values_match_torch():
    torch = pytest.importorskip("torch")
    ours = _events(mt, queue_callback)
    theirs = _events(torch, torch.autograd.Variable._execution_engine.queue_callback)
    assert ours == theirs
    assert ours[:3] == [("hook", [2.0, 4.0, 6.0]), ("acc", [2.0, 4.0, 6.0]),
                        ("final", [2.0, 4.0, 6.0])]


def test_hook_may_change_grad_and_be_removed():
    p = mt.ones(2, requires_grad=True)
    handle = p.register_post_accumulate_grad_hook(lambda t: t.grad.mul_(10))
    (p * 3).sum().backward()
    assert p.grad.tolist() == [30.0, 30.0]
    handle.remove()
    p.grad = None
    (p * 3).sum().backward()
    assert p.grad.tolist() == [3.0, 3.0]


def test_callbacks_queued_by_callbacks_run_in_the_same_pass():
    p = mt.ones(1, requires_grad=True)
    order = []

    def first():
        order.append(1)
        queue_callback(lambda: order.append(2))

    p.register_post_accumulate_grad_hook(lambda t: queue_callback(first))
    p.sum().backward()
    assert order == [1, 2]


def test_errors():
    with pytest.raises(RuntimeError, match="only be installed during backward"):
        queue_callback(lambda: None)
    p = mt.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="non-leaf"):
        (p * 2).register_post_accumulate_grad_hook(lambda t: None)
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        mt.ones(2).register_post_accumulate_grad_hook(lambda t: None)
