"""Threads: inference of one shared model from several threads gives the serial results;
the first use of a device from two threads at once loads its plugin once; grad mode is per
thread (as in PyTorch, checked against it); backward passes from several threads, on separate
graphs or into shared leaves, give the serial gradients; a compiled function called from two
threads gives eager results."""

from __future__ import annotations

import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import mbtorch as mt

THREADS = 4
ROUNDS = 6  # calls per thread


def mlp() -> mt.nn.Module:
    mt.manual_seed(0)
    return mt.nn.Sequential(mt.nn.Linear(32, 64), mt.nn.ReLU(), mt.nn.Dropout(0.5),
                            mt.nn.Linear(64, 10)).eval()


def cnn() -> mt.nn.Module:
    mt.manual_seed(1)
    model = mt.nn.Sequential(
        mt.nn.Conv2d(3, 8, 3, padding=1), mt.nn.BatchNorm2d(8), mt.nn.ReLU(),
        mt.nn.MaxPool2d(2), mt.nn.Conv2d(8, 4, 3), mt.nn.BatchNorm2d(4), mt.nn.ReLU(),
        mt.nn.Flatten(), mt.nn.Linear(4 * 2 * 2, 5))
    # running statistics other than the defaults, so eval mode's use of them shows
    for bn in (model[1], model[5]):
        bn.running_mean.copy_(mt.randn(bn.num_features))
        bn.running_var.copy_(mt.rand(bn.num_features) + 0.5)
    return model.eval()


MODELS = {"mlp": (mlp, (32,)), "cnn": (cnn, (3, 8, 8))}


def run_threads(fn, n: int = THREADS) -> list:
    """``fn(i)`` on ``n`` threads released together by a barrier, switching often; their
    results in order (a thread's exception is raised here)."""
    barrier = threading.Barrier(n)

    def start(i):
        barrier.wait()
        return fn(i)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # switch threads often: races show within a short test
    try:
        with ThreadPoolExecutor(n) as pool:
            return list(pool.map(start, range(n)))
    finally:
        sys.setswitchinterval(interval)


def _inputs(shape: tuple, device: str) -> list:
    rng = np.random.default_rng(7)
    return [[mt.tensor(rng.standard_normal((5, *shape)).astype(np.float32), device=device)
             for _ in range(ROUNDS)] for _ in range(THREADS)]


@pytest.mark.parametrize("mode", ["grad", "no_grad", "inference_mode"])
@pytest.mark.parametrize("name", list(MODELS))
def test_shared_model_inference_from_threads_matches_serial_cpu(name, mode):
    check_shared_inference(name, mode, "cpu")


@pytest.mark.parametrize("name", list(MODELS))
def test_shared_model_inference_from_threads_matches_serial_mini(name, mini_device):
    check_shared_inference(name, "no_grad", mini_device)


def check_shared_inference(name: str, mode: str, device: str) -> None:
    build, shape = MODELS[name]
    model = build().to(device)
    xs = _inputs(shape, device)
    ctx = {"grad": mt.enable_grad, "no_grad": mt.no_grad, "inference_mode": mt.inference_mode}

    def infer(i):
        with ctx[mode]():
            return [model(x).detach().cpu().numpy() for x in xs[i]]

    serial = [infer(i) for i in range(THREADS)]
    for _ in range(2):
        threaded = run_threads(infer)
        for want, got in zip(serial, threaded):
            for w, g in zip(want, got):
                np.testing.assert_array_equal(g, w)
    # eval mode kept its buffers: nothing the threads ran wrote to the shared model
    again = infer(0)
    for w, g in zip(serial[0], again):
        np.testing.assert_array_equal(g, w)


_PLUGIN_LOAD = """
import sys, threading
import mbtorch as mt
from mbtorch.core import plugins
calls = []
original = plugins.register_plugin
def counting(plugin, name=None):
    calls.append(name)
    return original(plugin, name)
plugins.register_plugin = counting
dev = sys.argv[1]
barrier = threading.Barrier(2)
out = [None, None]
def first_use(i):
    barrier.wait()
    out[i] = mt.zeros(1, device=dev)
ts = [threading.Thread(target=first_use, args=(i,)) for i in range(2)]
[t.start() for t in ts]
[t.join() for t in ts]
assert all(t is not None and t.device.type == dev for t in out), out
print(len(calls), len({id(plugins.get_backend(dev))}))
"""


@pytest.mark.parametrize("device", ["cpu", "mini"])
def test_first_use_of_a_device_from_two_threads_loads_its_plugin_once(device, request):
    if device == "mini":
        request.getfixturevalue("mini_device")
    for _ in range(2):  # a fresh process each time: the first use is the race
        out = subprocess.run([sys.executable, "-c", _PLUGIN_LOAD, device], capture_output=True,
                             text=True, timeout=120)
        assert out.returncode == 0, out.stderr[-3000:]
        assert out.stdout.split() == ["1", "1"]


def _grad_modes(lib) -> dict:
    """What each thread sees of grad mode while the others hold theirs (``lib`` is mbtorch or
    torch: the same scenario, run on both)."""
    seen = {}
    holding = threading.Barrier(4)

    def thread(name, ctx):
        with ctx():
            holding.wait()  # every thread is inside its own context now
            x = lib.ones(2, requires_grad=True)
            seen[name] = (lib.is_grad_enabled(), lib.is_inference_mode_enabled(),
                          (x * 2).requires_grad)
            holding.wait()  # nobody leaves before all have looked

    from contextlib import nullcontext
    modes = {"no_grad": lib.no_grad, "inference_mode": lib.inference_mode,
             "set_grad_enabled(False)": lambda: lib.set_grad_enabled(False),
             "default": nullcontext}
    ts = [threading.Thread(target=thread, args=item) for item in modes.items()]
    with lib.no_grad():  # the main thread's mode is not inherited by new threads
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        seen["main"] = (lib.is_grad_enabled(), lib.is_inference_mode_enabled(), False)
    return seen


def test_grad_mode_is_per_thread_as_in_torch(torch_or_skip):
    got = _grad_modes(mt)
    assert got == _grad_modes(torch_or_skip)
    assert got["default"] == (True, False, True)  # new threads start with grad enabled
    assert got["no_grad"] == (False, False, False)
    assert got["main"] == (False, False, False)


def test_backward_from_threads_on_separate_graphs():
    model = mlp().train(False)
    xs = _inputs((32,), "cpu")

    def grads(i):
        x = xs[i][0].clone().requires_grad_(True)
        out = mt.autograd.grad(model(x).square().sum(), [x, *model.parameters()])
        return [g.numpy() for g in out]

    serial = [grads(i) for i in range(THREADS)]
    for want, got in zip(serial, run_threads(grads)):
        for w, g in zip(want, got):
            np.testing.assert_array_equal(g, w)


def test_backward_from_threads_accumulates_into_shared_leaves():
    # PyTorch locks each leaf's accumulation: concurrent backward passes into one parameter
    # sum all their gradients
    w = mt.zeros(256, 256, requires_grad=True)
    ones = mt.ones(256, 256)

    def step(i):
        for _ in range(25):
            (w * ones).sum().backward()

    run_threads(step)
    assert w.grad is not None
    np.testing.assert_array_equal(w.grad.numpy(), np.full((256, 256), THREADS * 25.0))


def test_compiled_function_from_two_threads_gives_eager_results():
    model = cnn()

    def forward(x):
        return model(x)

    compiled = mt.compile(forward)
    xs = _inputs((3, 8, 8), "cpu")
    with mt.no_grad():
        eager = [[model(x).numpy() for x in row] for row in xs]

    def call(i):
        with mt.no_grad():
            return [compiled(x).numpy() for x in xs[i]]

    for _ in range(2):  # the first round traces (both threads at once), the second replays
        for want, got in zip(eager, run_threads(call, 2)):
            for w, g in zip(want, got):
                np.testing.assert_allclose(g, w, rtol=1e-6, atol=1e-6)
    assert compiled.stats["replays"] > 0


def _settings_seen_by_main(lib) -> dict:
    """What the main thread sees after another thread changed the default dtype and device
    and the deterministic flag (``lib``: mbtorch or torch)."""
    def change():
        lib.set_default_dtype(lib.float64)
        lib.set_default_device("cpu")  # thread-local in PyTorch: the main thread keeps None
        lib.use_deterministic_algorithms(True)

    thread = threading.Thread(target=change)
    try:
        thread.start()
        thread.join()
        return {"dtype": str(lib.get_default_dtype()).split(".")[-1],
                "device": str(lib.get_default_device()),
                "deterministic": lib.are_deterministic_algorithms_enabled(),
                "tensor": str(lib.tensor([1.5]).dtype).split(".")[-1]}
    finally:
        lib.set_default_dtype(lib.float32)
        lib.use_deterministic_algorithms(False)


def test_process_wide_settings_are_process_wide_as_in_torch(torch_or_skip):
    got = _settings_seen_by_main(mt)
    assert got == _settings_seen_by_main(torch_or_skip)
    assert got["dtype"] == got["tensor"] == "float64"  # set_default_dtype is process-wide


def test_random_draws_from_threads_partition_the_serial_stream():
    # the default generator reserves each draw's counter range under a lock: threads drawing
    # at once get disjoint parts of the stream a serial run draws, never the same numbers
    draws = THREADS * ROUNDS
    mt.manual_seed(123)
    serial = np.concatenate([mt.randn(257).numpy() for _ in range(draws)])
    mt.manual_seed(123)
    threaded = run_threads(lambda i: [mt.randn(257).numpy() for _ in range(ROUNDS)])
    got = np.concatenate([a for row in threaded for a in row])
    np.testing.assert_array_equal(np.sort(got), np.sort(serial))
