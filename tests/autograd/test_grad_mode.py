"""Grad mode: no_grad, enable_grad, set_grad_enabled, inference_mode; thread-local."""

from __future__ import annotations

import threading

import mbtorch as mt


def test_no_grad_context_and_decorator():
    x = mt.ones(2, requires_grad=True)
    with mt.no_grad():
        assert not mt.is_grad_enabled()
        assert not (x * 2).requires_grad
    assert mt.is_grad_enabled()

    @mt.no_grad()
    def f(t):
        return t * 2

    assert not f(x).requires_grad and mt.is_grad_enabled()


def test_enable_grad_inside_no_grad():
    x = mt.ones(2, requires_grad=True)
    with mt.no_grad():
        with mt.enable_grad():
            assert (x * 2).requires_grad
        assert not (x * 2).requires_grad


def test_set_grad_enabled_as_function_context_and_decorator():
    x = mt.ones(1, requires_grad=True)
    mt.set_grad_enabled(False)
    try:
        assert not (x * 2).requires_grad
    finally:
        mt.set_grad_enabled(True)
    with mt.set_grad_enabled(False):
        assert not mt.is_grad_enabled()
    assert mt.is_grad_enabled()

    @mt.set_grad_enabled(False)
    def f():
        return mt.is_grad_enabled()

    assert mt.is_grad_enabled() and f() is False and mt.is_grad_enabled()


def test_inference_mode():
    x = mt.ones(1, requires_grad=True)
    with mt.inference_mode():
        assert mt.is_inference_mode_enabled() and not (x * 2).requires_grad
    assert not mt.is_inference_mode_enabled() and (x * 2).requires_grad


def test_grad_mode_is_thread_local():
    seen = []
    with mt.no_grad():
        t = threading.Thread(target=lambda: seen.append(mt.is_grad_enabled()))
        t.start()
        t.join()
    assert seen == [True]


def test_detach_and_requires_grad_flags():
    x = mt.ones(2, requires_grad=True)
    y = x * 2
    d = y.detach()
    assert not d.requires_grad and d.grad_fn is None and d.is_leaf
    y.detach_()
    assert y.is_leaf and not y.requires_grad
