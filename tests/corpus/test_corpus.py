"""PyTorch-style programs (``programs/``), each run unchanged under real PyTorch and under
mbtorch (``import torch`` resolved to ``mbtorch`` by ``run.py``'s import hook), in fresh
processes. Both runs must pass the same seed-independent checks: the loss falls as far, the
model learns what it should, and shapes, dtypes, type strings and names agree exactly (the
random streams differ, so the numbers themselves do not).

The programs are written in the styles real projects use: device-agnostic boilerplate, the
legacy API, custom autograd Functions, an LSTM tagger, a GAN, a VAE, a graph network on a
sparse adjacency matrix and a small GPT.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def _falls(to: float):
    return lambda r: r["last"] < to * r["first"]


# program -> (extra argv, checks on one run's RESULT, keys that must be equal in both runs)
PROGRAMS = {
    "boilerplate_mlp": (["--no-accel"], [_falls(0.4), lambda r: r["accuracy"] > 0.9],
                        ["device", "out_shape"]),
    "legacy_style": ([], [_falls(0.01), lambda r: r["w_err"] < 0.1],
                     ["types", "double_of_long", "shape", "empty", "picked"]),
    "custom_function": ([], [_falls(0.05), lambda r: r["gradcheck"]], ["grad_fn"]),
    "rnn_tagger": ([], [_falls(0.6), lambda r: r["tags"] == [0, 1, 2, 0, 1]],
                   ["tags", "shape"]),
    "gan": ([], [_falls(0.3), lambda r: abs(r["mean"] - 4.0) < 0.6,
                 lambda r: 0.6 < r["std"] < 2.0], ["shape"]),
    "vae": ([], [_falls(0.95)], ["sample_shape", "in_range"]),
    "gcn": ([], [_falls(0.1), lambda r: r["accuracy"] > 0.9], ["nnz", "coalesced"]),
    "tiny_gpt": ([], [_falls(0.3)], ["generated", "params"]),
}


def _run(lib: str, name: str, argv: list[str]) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1",
               PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-m", "tests.corpus.run", lib,
                          str(HERE / "programs" / f"{name}.py"), *argv],
                         capture_output=True, text=True, cwd=ROOT, env=env, timeout=600)
    assert out.returncode == 0, f"{name} under {lib} failed:\n{out.stderr[-3000:]}"
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")]
    assert len(lines) == 1, f"{name} under {lib}: no RESULT line in\n{out.stdout[-2000:]}"
    return json.loads(lines[0][len("RESULT "):])


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_program_runs_alike_under_torch_and_mbtorch(name):
    argv, checks, same = PROGRAMS[name]
    results = {lib: _run(lib, name, argv) for lib in ("torch", "mbtorch")}
    for lib, r in results.items():
        for i, check in enumerate(checks):
            assert check(r), f"{name} under {lib}: check {i} failed on {r}"
    for key in same:
        assert results["mbtorch"][key] == results["torch"][key], (name, key, results)


def test_the_import_hook_maps_submodules():
    code = ("import sys; sys.meta_path.insert(0, __import__('tests.corpus.run', "
            "fromlist=['_']).__dict__['_TorchIsMbtorch']())\n"
            "import torch, torch.nn.functional as F\n"
            "from torch.utils.data import DataLoader\n"
            "print(torch.__name__, F.__name__, DataLoader.__module__.split('.')[0])\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["mbtorch", "mbtorch.nn.functional", "mbtorch"]
