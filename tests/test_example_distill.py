"""``examples/distill.py``: the distillation loss against the same formula in PyTorch, and the
recipe run end to end on tiny generated Fashion-MNIST files (a teacher trained on the spot,
and one loaded from an ``mbtorch-train`` checkpoint)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import mbtorch
from mbtorch import train

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "distill.py"


def _module():
    spec = importlib.util.spec_from_file_location("example_distill", EXAMPLE)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("temperature,alpha", [(1.0, 0.5), (4.0, 0.9), (2.5, 0.0), (8.0, 1.0)])
def test_distillation_loss_matches_the_formula_in_torch(temperature, alpha):
    torch = pytest.importorskip("torch")
    TF = torch.nn.functional
    rng = np.random.default_rng(3)
    s, t = rng.standard_normal((6, 10)) * 3, rng.standard_normal((6, 10)) * 3
    labels = rng.integers(0, 10, 6)
    ts = torch.tensor(s, dtype=torch.float32, requires_grad=True)
    tt, tl = torch.tensor(t, dtype=torch.float32), torch.tensor(labels)
    # Hinton et al.'s loss, written out with softmax probabilities
    p_teacher = TF.softmax(tt / temperature, dim=1)
    kl = (p_teacher * (p_teacher.log() - TF.log_softmax(ts / temperature, dim=1))).sum(1).mean()
    expected = alpha * temperature ** 2 * kl + (1 - alpha) * TF.cross_entropy(ts, tl)
    expected.backward()
    ms = mbtorch.tensor(s.astype(np.float32), requires_grad=True)
    got = _module().distillation_loss(ms, mbtorch.tensor(t.astype(np.float32)),
                                      mbtorch.tensor(labels), temperature, alpha)
    got.backward()
    np.testing.assert_allclose(got.item(), expected.item(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ms.grad.numpy(), ts.grad.numpy(), rtol=1e-4, atol=1e-6)


def test_student_is_several_times_smaller_than_the_teacher():
    mod = _module()
    teacher = mod.count_parameters(train.build_model(mbtorch.nn))
    student = mod.count_parameters(mod.build_student())
    assert teacher == 206970 and student == 15770


def test_runs_as_a_program_training_its_own_teacher(data_root):
    cmd = [sys.executable, str(EXAMPLE), "--data", data_root, "--limit", "48", "--epochs", "1",
           "--teacher-epochs", "1", "--baseline"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "no --teacher: training one for 1 epoch(s)" in out
    assert "teacher:  206970 parameters, test accuracy" in out
    assert "student:   15770 parameters (13.1x fewer), distilled (T=4, alpha=0.9)" in out
    assert "student without distillation (labels only): test accuracy" in out


def test_distils_from_an_mbtorch_train_checkpoint(data_root, tmp_path):
    out = tmp_path / "teacher"
    assert train.main(["--data-root", data_root, "--out", str(out), "--epochs", "2",
                       "--batch-size", "16", "--limit-train", "64", "--limit-test", "40",
                       "--no-progress", "--no-malloc-tuning"]) == 0
    ckpt = mbtorch.load(str(out / train.CHECKPOINT))
    res = _module().main(["--data", data_root, "--teacher", str(out / train.CHECKPOINT),
                          "--epochs", "3", "--limit", "64", "--temperature", "2",
                          "--alpha", "0.7", "--baseline"])
    # the loaded teacher is the checkpoint's model: the same test accuracy on the same images
    assert res["teacher_acc"] == pytest.approx(ckpt["history"]["test_acc"][-1])
    losses = res["losses"]
    assert len(losses) == 3 * 1 and all(np.isfinite(losses))  # 64 images, batches of 128
    assert 0.0 <= res["student_acc"] <= 1.0 and 0.0 <= res["baseline_acc"] <= 1.0
    # a plain state dict (what `--prune` writes) loads as a teacher too
    mbtorch.save(ckpt["model"], str(tmp_path / "state.pt"))
    again = _module().main(["--data", data_root, "--teacher", str(tmp_path / "state.pt"),
                            "--epochs", "1", "--limit", "40"])
    assert again["teacher_acc"] == pytest.approx(res["teacher_acc"])
    assert "baseline_acc" not in again


@pytest.mark.parametrize("argv,message", [(["--alpha", "1.5"], "--alpha must be in [0, 1]"),
                                          (["--temperature", "0"], "--temperature must be"),
                                          (["--limit", "0"], "--limit must be at least 1"),
                                          (["--epochs", "0"], "--epochs must be at least 1")])
def test_bad_options_are_usage_errors(argv, message, capsys):
    with pytest.raises(SystemExit) as e:
        _module().parse_args(argv)
    assert e.value.code == 2 and message in capsys.readouterr().err
