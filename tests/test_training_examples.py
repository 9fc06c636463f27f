"""The four training scripts under examples/ (MLP, CNN with BatchNorm/Dropout and a checkpoint
round trip, causal transformer, LSTM) train with mbtorch — their losses fall — and, where
torch is importable, the same scripts under PyTorch fall the same way. The numbers differ
(the two libraries' random streams differ); the trend must not."""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

# (script, steps): few steps, enough for a clear fall on 2 CPU cores
SCRIPTS = [("train_mlp", 40), ("train_cnn", 25), ("train_transformer", 30),
           ("train_lstm", 30)]


def _main(name: str):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.main


def _trend(losses: list[float]) -> tuple[float, float]:
    assert all(np.isfinite(losses)), losses
    return float(np.mean(losses[:10])), float(np.mean(losses[-10:]))


@functools.lru_cache(maxsize=None)  # each script runs once per library per session
def _run(name: str, steps: int, *extra: str):
    out = _main(name)(["--steps", str(steps), *extra])
    losses = out[0] if isinstance(out, tuple) else out
    assert len(losses) == steps
    return losses, out


@pytest.mark.parametrize("name,steps", SCRIPTS)
def test_example_trains_with_mbtorch(name, steps):
    losses, out = _run(name, steps)
    first, last = _trend(losses)
    assert last < 0.6 * first, f"{name}: loss {first:.3f} -> {last:.3f}"
    if name == "train_mlp":
        assert out[1] > 0.8  # training accuracy
    if name == "train_cnn":
        _, acc, same = out
        assert acc > 0.7 and same is True  # eval accuracy, identical after save/load


@pytest.mark.parametrize("name,steps", SCRIPTS)
def test_example_falls_like_torch(name, steps):
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a shared 2-core machine: no oversubscription
    try:
        t_first, t_last = _trend(_run(name, steps, "--torch")[0])
    finally:
        torch.set_num_threads(threads)
    m_first, m_last = _trend(_run(name, steps)[0])
    assert t_last < 0.6 * t_first  # the script itself is sound under PyTorch
    # same starting point (an untrained model with the same initialisation rules) ...
    assert m_first == pytest.approx(t_first, rel=0.25)
    # ... and a comparable fall: each library's fall ratio within 2.5x of the other's
    m_ratio, t_ratio = m_last / m_first, t_last / t_first
    print(f"{name}: mbtorch {m_first:.3f} -> {m_last:.3f}, torch {t_first:.3f} -> {t_last:.3f}")
    assert 1 / 2.5 < m_ratio / t_ratio < 2.5, f"mbtorch {m_ratio:.3f}, torch {t_ratio:.3f}"
