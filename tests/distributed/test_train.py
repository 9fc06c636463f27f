"""``mpiexec -n 2 python -m mbtorch.train``: data-parallel training of the main program on a
tiny generated Fashion-MNIST; rank 0 alone reports and writes the checkpoint."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import mbtorch
from tests.fashion_idx import write_split as _write_split


@pytest.fixture
def data_root(tmp_path):
    pytest.importorskip("tqdm")
    pytest.importorskip("matplotlib")
    root = tmp_path / "data"
    root.mkdir()
    _write_split(str(root), True, 64, 0)
    _write_split(str(root), False, 41, 1)  # odd: the ranks' test shares differ in size
    return str(root)


def _train(mpirun, data_root, out, *extra):
    # mpirun runs a script; `-m mbtorch.train` is spelled as its __main__ module's path
    import mbtorch.train as program

    return mpirun(2, program.__file__, "--data-root", data_root, "--out", out,
                  "--batch-size", "16", "--no-progress", *extra)


def test_two_ranks_train_and_rank_0_reports(mpirun, data_root, tmp_path):
    out = tmp_path / "run"
    proc = _train(mpirun, data_root, out, "--epochs", "2")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert sum(line.startswith("epoch 1/2:") for line in lines) == 1  # rank 0 alone prints
    assert sum(line.startswith("trained ") for line in lines) == 1
    assert os.path.isfile(out / "curves.png")
    state = mbtorch.load(out / "checkpoint.pt")
    h = state["history"]
    assert h["epoch"] == [1, 2]
    assert len(h["step_loss"]) == 2 * 4  # 64 images, global batch 16: 4 steps per epoch
    assert h["test_acc"][-1] > 0.9
    from mbtorch.train import build_model

    model = build_model(mbtorch.nn)
    result = model.load_state_dict(state["model"])  # no "module." prefix
    assert list(result.missing_keys) == [] and list(result.unexpected_keys) == []


def test_resume_under_two_ranks(mpirun, data_root, tmp_path):
    out = tmp_path / "run"
    assert _train(mpirun, data_root, out, "--epochs", "1").returncode == 0
    proc = _train(mpirun, data_root, out, "--epochs", "2", "--resume",
                  str(out / "checkpoint.pt"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert mbtorch.load(out / "checkpoint.pt")["history"]["epoch"] == [1, 2]


def test_global_batch_must_split_evenly(mpirun, data_root, tmp_path):
    proc = _train(mpirun, data_root, tmp_path / "run", "--batch-size", "15")
    assert proc.returncode != 0
    assert "--batch-size 15 (the global batch) must be a multiple of the number of " \
           "processes, 2" in proc.stderr


def test_single_process_is_unchanged(data_root, tmp_path):
    """Without a launcher the program does not touch MPI."""
    code = ("import sys, mbtorch.train as t; rc = t.main(sys.argv[1:]); "
            "print('mpi4py' in sys.modules); sys.exit(rc)")
    env = {k: v for k, v in os.environ.items() if k not in ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE")}
    proc = subprocess.run([sys.executable, "-c", code, "--data-root", data_root, "--out",
                           str(tmp_path / "run"), "--batch-size", "16", "--epochs", "1",
                           "--no-progress", "--no-malloc-tuning"], capture_output=True,
                          text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "False"
