"""The programs under examples/ run as a user would run them."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.error import URLError

import pytest

REPO = Path(__file__).resolve().parents[1]


def test_quickstart_runs():
    proc = subprocess.run([sys.executable, str(REPO / "examples" / "quickstart.py")],
                          capture_output=True, text=True, timeout=300, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "after xt[0, 1] = 100, x[1, 0] = 100.0" in out
    assert "y = x @ w has shape (2, 4)" in out
    assert "error: mat1 and mat2 shapes cannot be multiplied (2x3 and 4x2)" in out
    assert "backend cpu: available" in out
    # run from examples/, the plugin template's directory must not shadow the installed plugin
    assert "backend mini: broken" not in out


FASHION = Path("/usr/share/datasets/fashion-mnist")
needs_fashion = pytest.mark.skipif(not FASHION.is_dir(), reason=f"no Fashion-MNIST in {FASHION} "
                                   "(Debian's dataset-fashion-mnist package installs it)")


def _finetune(home, *args):
    """examples/finetune.py in a child process, with its own hub cache ``home``."""
    env = {**os.environ, "MBTORCH_HOME": str(home)}
    proc = subprocess.run([sys.executable, str(REPO / "examples" / "finetune.py"), *args],
                          capture_output=True, text=True, timeout=300, cwd=REPO, env=env)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _accuracy(out, label):
    return float(re.search(re.escape(label) + r": test accuracy ([\d.]+)%", out).group(1))


@needs_fashion
def test_finetune_beats_chance_with_the_shipped_weights(tmp_path):
    out = _finetune(tmp_path, "--limit-train", "200", "--limit-test", "500", "--epochs", "3")
    assert ("fashion_cnn with FashionCNN_Weights.FASHION_MNIST (206,970 parameters): head '11' "
            "Linear(128 -> 10) replaced by Linear(-> 3)") in out
    chance = float(re.search(r"always guessing the most common class: ([\d.]+)%", out).group(1))
    tuned = _accuracy(out, "fine-tuned, pre-trained features frozen (387 trainable parameters)")
    scratch = _accuracy(out, "from scratch, random init, every layer (206,067 trainable "
                             "parameters)")
    assert 33 < chance < 60 and 0 <= scratch <= 100
    assert tuned > chance + 20, out
    # the shipped weights were loaded through the hub: checked and copied into its cache
    from mbtorch.vision.models import FashionCNN_Weights

    name = FashionCNN_Weights.DEFAULT.url.rsplit("/", 1)[1]
    assert os.listdir(tmp_path / "hub" / "checkpoints") == [name]


@needs_fashion
def test_finetune_any_builder_from_the_hub_cache(tmp_path):
    import mbtorch
    from mbtorch.vision import models

    (tmp_path / "hub" / "checkpoints").mkdir(parents=True)
    mbtorch.manual_seed(0)  # stands in for torchvision's file, which cannot be downloaded here
    mbtorch.save(models.resnet18().state_dict(),
                 tmp_path / "hub" / "checkpoints" / "resnet18-f37072fd.pth")
    out = _finetune(tmp_path, "--model", "resnet18", "--weights", "IMAGENET1K_V1",
                    "--image-size", "16", "--limit-train", "16", "--limit-test", "16",
                    "--epochs", "1", "--batch-size", "16")
    assert ("resnet18 with ResNet18_Weights.IMAGENET1K_V1 (11,689,512 parameters): head 'fc' "
            "Linear(512 -> 1000) replaced by Linear(-> 3)") in out
    assert 0 <= _accuracy(out, "fine-tuned, pre-trained features frozen (1,539 trainable "
                               "parameters)") <= 100


def test_finetune_offline_fails_with_the_hubs_message(tmp_path, monkeypatch, capsys):
    from mbtorch import hub

    def offline(*args, **kwargs):
        raise URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(hub, "urlopen", offline)
    monkeypatch.setattr(hub, "_hub_dir", str(tmp_path / "hub"))
    spec = importlib.util.spec_from_file_location("example_finetune",
                                                  REPO / "examples" / "finetune.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    with pytest.raises(URLError, match="could not download 'https://download.pytorch.org/models/"
                                       "resnet18-f37072fd.pth'.*place it at"):
        mod.main(["--model", "resnet18", "--image-size", "16"])
    assert os.listdir(tmp_path / "hub" / "checkpoints") == []
    with pytest.raises(SystemExit):  # a weights name of another enum: argparse's error
        mod.main(["--model", "resnet18", "--weights", "FASHION_MNIST"])
    assert "ResNet18_Weights: no weights named 'FASHION_MNIST'" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # fashion_cnn's preprocessing has no size to set
        mod.main(["--image-size", "32"])
    assert "the transforms of FashionCNN_Weights.FASHION_MNIST take no size" in \
        capsys.readouterr().err
