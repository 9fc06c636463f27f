"""Soak tests on cpu and mini: training steps, eager and compiled, leave live tensors, storages,
autograd nodes, caches and resident memory where warm-up left them; DataLoader workers started
and stopped many times leave no processes, file descriptors or shared memory. The short form
runs in CI; ``MBTORCH_SOAK=long`` runs 1,000 steps and 100 loader rounds (see
``python -m tests.soak`` for the table the README quotes)."""

from __future__ import annotations

import multiprocessing
import os
import warnings

import pytest

import mbtorch as mt
from mbtorch.compiler import RECOMPILE_LIMIT

from . import LONG, rounds, steps
from . import measure as m
from .__main__ import main
from .workers import child_pids, churn, fd_count, shm_entries

pytestmark = pytest.mark.soak

STEPS = steps(120)
SAMPLES = 10 if LONG else 4  # each sample is a full garbage collection


def _check(run: m.Run, nodes_before: int) -> None:
    assert m.problems(run) == []
    assert run.loss == run.loss  # trained to a finite loss, not NaN
    if run.compiled:  # traced twice (the first step makes the momentum/moment buffers)
        assert run.stats == {"traces": 2, "replays": run.steps - 2, "eager": 0}
        assert run.span("plans") == (2, 2)
        # a replay records no autograd graph (nodes counted process-wide: other tests' live
        # graphs, if any, were there before)
        assert run.span("nodes") == (nodes_before, nodes_before)


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "compiled"])
@pytest.mark.parametrize("model", m.MODELS)
def test_cpu_training_is_flat_after_warmup(model, compiled):
    before = m.census([])["nodes"]
    _check(m.soak("cpu", model, compiled, STEPS, samples=SAMPLES), before)


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "compiled"])
@pytest.mark.parametrize("model", m.MODELS)
def test_mini_training_is_flat_after_warmup(mini_device, model, compiled):
    before = m.census([])["nodes"]
    _check(m.soak(mini_device, model, compiled, STEPS, samples=SAMPLES), before)


def test_a_kept_loss_graph_is_reported_as_a_leak(monkeypatch):
    # keeping every step's loss (``total += loss`` without .item()) keeps its autograd graph
    kept = []

    def leaky(model, opt, x, y):
        loss = step(model, opt, x, y)
        kept.append(loss)
        return loss

    step = m._train_step
    monkeypatch.setattr(m, "_train_step", leaky)
    found = m.problems(m.soak("cpu", "mlp", False, 60, warmup=20, samples=4))
    assert any(p.startswith("tensors moved") for p in found)
    assert any(p.startswith("nodes moved") for p in found)


def test_a_growing_process_is_reported_as_a_leak():
    run = m.Run("cpu", "mlp", False, 300, 100, leak_per_step=1000)
    counts = {k: 1 for k in ("tensors", "storages", "nodes", "objects", "plans")}
    run.samples = [m.Sample(100, 10_000_000, dict(counts)),
                   m.Sample(200, 10_000_000 + 10_001, dict(counts)),
                   m.Sample(300, 10_000_000 + 20_002, dict(counts, objects=200))]
    found = m.problems(run)
    assert any("resident memory grew" in p for p in found), found
    assert any("more Python objects" in p for p in found), found
    # two samples only: the whole span is the one part
    run.samples = [run.samples[0], run.samples[2]]
    assert any("resident memory grew" in p for p in m.problems(run))


def test_one_jump_of_resident_memory_is_not_a_leak():
    # a long test process: another thread's heap extension lands between two samples once
    run = m.Run("cpu", "mlp", False, 300, 100, leak_per_step=1000)
    counts = {k: 1 for k in ("tensors", "storages", "nodes", "objects", "plans")}
    rss = [10_000_000, 10_000_000, 11_500_000, 11_500_000, 11_500_000]
    run.samples = [m.Sample(100 + 50 * i, r, dict(counts)) for i, r in enumerate(rss)]
    assert m.problems(run) == []


def test_compile_without_capturable_adam_keeps_its_cache_bounded():
    # a plain Adam's step count is a Python number: every step changes the optimizer's state,
    # so each traces again until the recompile limit, then runs eagerly; traces stay bounded
    mt.manual_seed(0)
    net = mt.nn.Linear(4, 3)
    opt = mt.optim.Adam(net.parameters(), lr=0.01)
    step = mt.compile(m._train_step)
    x, y = mt.randn(5, 4), mt.tensor([0, 1, 2, 0, 1])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(3 * RECOMPILE_LIMIT):
            step(net, opt, x, y)
    assert step.stats["traces"] == RECOMPILE_LIMIT
    assert step.stats["eager"] >= 2 * RECOMPILE_LIMIT - 1
    assert len(m._plans(step)) == RECOMPILE_LIMIT
    assert sum("recompile limit" in str(w.message) for w in caught) == 1


def test_dataloader_workers_started_and_stopped_leave_nothing_behind():
    report = churn(rounds(8))
    assert report.loaders == 3 * report.rounds
    assert report.children_left == set()
    assert report.fds[1] == report.fds[0]
    assert report.shm_left == set()


def test_the_probes_see_what_a_leak_would_leave():
    before_fds, before_kids = fd_count(), child_pids()
    r, w = os.pipe()
    assert fd_count() == before_fds + 2
    os.close(r)
    os.close(w)
    ctx = multiprocessing.get_context("fork")
    ev = ctx.Event()
    p = ctx.Process(target=ev.wait, daemon=True)
    p.start()
    try:
        assert p.pid in child_pids() - before_kids
    finally:
        ev.set()
        p.join()
    assert p.pid not in child_pids()
    from multiprocessing import shared_memory

    shm = shared_memory.SharedMemory(create=True, size=16)
    try:
        assert shm.name.lstrip("/") in shm_entries()
    finally:
        shm.close()
        shm.unlink()


def test_bad_arguments_name_the_function_and_argument():
    with pytest.raises(ValueError, match=r"soak\(\): model"):
        m.soak("cpu", "resnet", False, 10)
    with pytest.raises(ValueError, match=r"soak\(\): warmup"):
        m.soak("cpu", "mlp", False, 10, warmup=10)
    with pytest.raises(ValueError, match=r"churn\(\): rounds"):
        churn(0)


def test_the_command_prints_the_table(capsys):
    assert main(["--steps", "24", "--samples", "2", "--model", "mlp", "--mode", "compiled",
                 "--rounds", "1"]) == 0
    out = capsys.readouterr().out
    assert "| cpu | mlp | compiled | 24 |" in out
    assert "3 loaders started and stopped in 1 rounds" in out
    with pytest.raises(SystemExit):
        main(["--steps", "1"])
