"""The training program (``mbtorch.train``) on tiny generated IDX files."""

import os
import subprocess
import sys

import numpy as np
import pytest

import mbtorch
from mbtorch import train
from mbtorch.data.datasets import FashionMNIST
from tests.fashion_idx import train_args as _args


def _load(out):
    return mbtorch.load(os.path.join(out, train.CHECKPOINT))


def test_one_epoch_writes_checkpoint_and_plot(data_root, tmp_path, capsys):
    out = tmp_path / "run"
    assert train.main(_args(data_root, out, "--epochs", "1")) == 0
    ckpt = _load(out)
    assert ckpt["epoch"] == 1
    h = ckpt["history"]
    assert h["epoch"] == [1]
    assert len(h["step_loss"]) == 3  # 48 images in batches of 16
    assert 0.0 <= h["test_acc"][0] <= 1.0
    assert h["samples_per_s"][0] > 0
    assert all(np.isfinite(v) for v in h["step_loss"])
    assert set(ckpt["model"]) == set(train.build_model(mbtorch.nn).state_dict())
    assert ckpt["optimizer"]["state"], "the optimizer state is saved after a step"
    assert ckpt["args"]["epochs"] == 1 and ckpt["args"]["limit_train"] == 48
    with open(out / train.PLOT, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    assert "epoch 1/1: train loss" in capsys.readouterr().out  # bars go to stderr


def test_resume_continues_epochs_history_and_optimizer(data_root, tmp_path):
    out = tmp_path / "run"
    assert train.main(_args(data_root, out, "--epochs", "1")) == 0
    first = _load(out)
    ckpt_path = str(out / train.CHECKPOINT)
    assert train.main(_args(data_root, out, "--epochs", "2", "--resume", ckpt_path)) == 0
    second = _load(out)
    assert second["epoch"] == 2
    assert second["history"]["epoch"] == [1, 2]
    assert second["history"]["step_loss"][:3] == first["history"]["step_loss"]
    assert len(second["history"]["step_loss"]) == 6
    # Adam's step counts went on from the checkpoint's
    steps = [int(s["step"].item()) if hasattr(s["step"], "item") else int(s["step"])
             for s in second["optimizer"]["state"].values()]
    assert steps and all(s == 6 for s in steps)


def test_resume_at_the_target_epoch_trains_nothing(data_root, tmp_path, capsys):
    out = tmp_path / "run"
    assert train.main(_args(data_root, out, "--epochs", "1")) == 0
    before = _load(out)
    ckpt_path = str(out / train.CHECKPOINT)
    assert train.main(_args(data_root, out, "--epochs", "1", "--resume", ckpt_path)) == 0
    assert "nothing to train" in capsys.readouterr().out
    assert _load(out)["history"] == before["history"]


def test_same_seed_same_losses(data_root, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    assert train.main(_args(data_root, a, "--epochs", "1", "--seed", "3")) == 0
    assert train.main(_args(data_root, b, "--epochs", "1", "--seed", "3")) == 0
    assert _load(a)["history"]["step_loss"] == _load(b)["history"]["step_loss"]


def test_time_budget_stops_early(data_root, tmp_path, capsys):
    out = tmp_path / "run"
    assert train.main(_args(data_root, out, "--epochs", "5", "--time-budget", "0.001")) == 0
    h = _load(out)["history"]
    assert h["epoch"] == [1] and len(h["step_loss"]) == 1
    assert "time budget" in capsys.readouterr().out


def test_missing_dataset_says_where_it_looked_and_how_to_get_it(tmp_path, monkeypatch,
                                                                   capsys):
    monkeypatch.setattr(FashionMNIST, "system_dirs", ())
    empty = tmp_path / "empty"
    empty.mkdir()
    assert train.main(_args(str(empty), tmp_path / "run", "--epochs", "1")) == 2
    err = capsys.readouterr().err
    assert "FashionMNIST dataset not found" in err and str(empty) in err
    assert "apt-get install dataset-fashion-mnist" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("case", ["missing", "not a checkpoint", "other structure"])
def test_bad_resume_paths_are_clear_errors(data_root, tmp_path, capsys, case):
    path = tmp_path / "bad.pt"
    if case == "not a checkpoint":
        path.write_bytes(b"this is not a safetensors file")
    elif case == "other structure":
        mbtorch.save({"weights": mbtorch.zeros(3)}, str(path))
    rc = train.main(_args(data_root, tmp_path / "run", "--epochs", "1", "--resume", str(path)))
    assert rc == 2
    err = capsys.readouterr().err
    assert err.startswith("mbtorch-train: error: --resume:") and str(path) in err


def test_out_that_is_a_file_is_a_clear_error(data_root, tmp_path, capsys):
    out = tmp_path / "taken"
    out.write_text("x")
    assert train.main(_args(data_root, out, "--epochs", "1")) == 2
    assert "exists and is not a folder" in capsys.readouterr().err


def test_a_second_run_never_replaces_the_first(data_root, tmp_path, capsys):
    out = tmp_path / "run"
    assert train.main(_args(data_root, out, "--epochs", "1")) == 0
    first = (out / train.CHECKPOINT).read_bytes()
    plot = (out / train.PLOT).read_bytes()
    capsys.readouterr()
    assert train.main(_args(data_root, out, "--epochs", "1", "--seed", "3")) == 2
    err = capsys.readouterr().err
    assert "already holds a run" in err and "--resume" in err and "--overwrite" in err
    assert str(out / train.CHECKPOINT) in err
    assert (out / train.CHECKPOINT).read_bytes() == first
    assert (out / train.PLOT).read_bytes() == plot
    # resuming that very checkpoint continues the run in place
    assert train.main(_args(data_root, out, "--epochs", "2", "--resume",
                            str(out / train.CHECKPOINT))) == 0
    assert _load(out)["epoch"] == 2
    # --overwrite replaces it with a fresh run
    assert train.main(_args(data_root, out, "--epochs", "1", "--overwrite")) == 0
    assert _load(out)["epoch"] == 1


def test_resuming_another_checkpoint_into_a_held_folder_is_refused(data_root, tmp_path,
                                                                    capsys):
    a, b = tmp_path / "a", tmp_path / "b"
    assert train.main(_args(data_root, a, "--epochs", "1")) == 0
    assert train.main(_args(data_root, b, "--epochs", "1")) == 0
    held = (b / train.CHECKPOINT).read_bytes()
    capsys.readouterr()
    assert train.main(_args(data_root, b, "--epochs", "2", "--resume",
                            str(a / train.CHECKPOINT))) == 2
    assert "already holds a run" in capsys.readouterr().err
    assert (b / train.CHECKPOINT).read_bytes() == held


@pytest.mark.parametrize("case", ["bad resume", "bad device", "missing data"])
def test_a_failed_start_creates_nothing(data_root, tmp_path, monkeypatch, capsys, case):
    out = tmp_path / "deep" / "run"
    if case == "missing data":
        monkeypatch.setattr(FashionMNIST, "system_dirs", ())
        (tmp_path / "empty").mkdir()
        args = _args(str(tmp_path / "empty"), out, "--epochs", "1")
    else:
        extra = (["--resume", str(tmp_path / "nope.pt")] if case == "bad resume"
                 else ["--device", "nosuchdevice"])
        args = _args(data_root, out, "--epochs", "1", *extra)
    assert train.main(args) == 2
    assert "mbtorch-train: error:" in capsys.readouterr().err
    assert not (tmp_path / "deep").exists()


@pytest.mark.parametrize("flag", ["--epochs", "--batch-size", "--limit-train"])
def test_bad_numbers_are_usage_errors(flag, capsys):
    with pytest.raises(SystemExit) as e:
        train.parse_args([flag, "0"])
    assert e.value.code == 2
    assert f"{flag} must be at least 1" in capsys.readouterr().err


def test_learning_rate_warms_up_then_decays():
    args = train.parse_args(["--epochs", "2", "--lr", "0.01"])
    run = train.Run.__new__(train.Run)
    run.args, run.steps_per_epoch = args, 10
    lrs = [run.learning_rate(s) for s in range(20)]
    assert lrs[0] < lrs[4] == pytest.approx(0.01)
    assert all(a >= b for a, b in zip(lrs[4:], lrs[5:]))
    assert lrs[-1] == pytest.approx(0.01 * (0.02 + 0.98 * 0.5 * (1 + np.cos(np.pi * 14 / 15))))


def test_runs_as_a_module_with_progress_bars_and_malloc_reexec(data_root, tmp_path):
    out = tmp_path / "run"
    env = {k: v for k, v in os.environ.items()
           if k not in ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_",
                        "MBTORCH_TRAIN_REEXEC")}
    cmd = [sys.executable, "-m", "mbtorch.train", "--data-root", data_root, "--out",
           str(out), "--epochs", "1", "--limit-train", "32", "--limit-test", "16",
           "--batch-size", "16"]
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert res.returncode == 0, res.stderr
    assert "samples_s=" in res.stderr and "loss=" in res.stderr  # the tqdm postfix
    assert "test accuracy" in res.stdout
    assert (out / train.CHECKPOINT).is_file() and (out / train.PLOT).is_file()
    # the re-exec alone: this process is replaced by ``python -m mbtorch.train --help``
    res = subprocess.run([sys.executable, "-c",
                          "import sys, mbtorch.train as t; t._reexec_with_malloc_tuning(["
                          "'--help'])"], capture_output=True, text=True, env=env, timeout=120)
    assert res.returncode == 0 and "mbtorch-train" in res.stdout


def test_unknown_device_is_a_clear_error(data_root, tmp_path, capsys):
    assert train.main(_args(data_root, tmp_path / "run", "--device", "nosuchdevice")) == 2
    err = capsys.readouterr().err
    assert "no backend provides device 'nosuchdevice'" in err and "Traceback" not in err


def test_compile_trains_like_eager_and_replays(data_root, tmp_path):
    eager, compiled = tmp_path / "eager", tmp_path / "compiled"
    assert train.main(_args(data_root, eager, "--epochs", "2")) == 0
    assert train.main(_args(data_root, compiled, "--epochs", "2", "--compile")) == 0
    a, b = _load(eager)["history"], _load(compiled)["history"]
    # capturable Adam rounds its bias correction differently: close, not bit-identical
    np.testing.assert_allclose(b["step_loss"], a["step_loss"], rtol=1e-3, atol=1e-6)
    assert b["test_acc"] == a["test_acc"]
    ckpt = _load(compiled)
    assert ckpt["args"]["compile"] is True
    # a compiled run's checkpoint resumes (the lr tensor and the step tensors load back)
    assert train.main(_args(data_root, compiled, "--epochs", "3", "--compile", "--resume",
                            str(compiled / train.CHECKPOINT))) == 0
    assert _load(compiled)["epoch"] == 3
