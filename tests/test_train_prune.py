"""``mbtorch-train --prune``: global L1 pruning of the trained CNN, fine-tuning with the masks
in place, the permanent pruned model and its report, on tiny generated IDX files (cpu)."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

import mbtorch
from mbtorch import _train_compress as tc
from mbtorch import train
from tests.fashion_idx import train_args as _args


def _weights(state):
    """The Conv2d/Linear weights of ``build_model``'s state dict, as NumPy arrays."""
    names = {f"{n}.weight" for n, _ in tc.prunable(train.build_model(mbtorch.nn))}
    return {k: v.numpy() for k, v in state.items() if k in names}


def _report(out):
    with open(out / tc.PRUNE_REPORT) as f:
        return json.load(f)


def test_train_then_prune_and_finetune(data_root, tmp_path, capsys):
    out = tmp_path / "run"
    assert train.main(_args(data_root, out, "--epochs", "1", "--prune", "0.5",
                            "--finetune-epochs", "2")) == 0
    said = capsys.readouterr().out
    for text in ("before pruning", "right after", "after fine-tuning", "fine-tune epoch 2/2",
                 "nonzero Conv2d/Linear weights", "values + int32 indices", "bitmask"):
        assert text in said, text
    trained = mbtorch.load(str(out / train.CHECKPOINT))
    pruned_state = mbtorch.load(str(out / tc.PRUNED))
    # the pruned file is a plain state dict of the same model: it loads strictly
    model = train.build_model(mbtorch.nn)
    model.load_state_dict(pruned_state)
    weights = _weights(pruned_state)
    total = sum(w.size for w in weights.values())
    zeros = sum(int((w == 0).sum()) for w in weights.values())
    assert zeros == round(0.5 * total)  # fine-tuning left the pruned entries at zero
    dense = _weights(trained["model"])  # the training checkpoint stays dense
    assert sum(int((w == 0).sum()) for w in dense.values()) == 0
    r = _report(out)
    assert r["amount"] == 0.5 and r["finetune_epochs"] == 2 and r["model_epoch"] == 1
    assert r["weights"]["nonzero"] == total - zeros and r["weights"]["total"] == total
    assert set(r["weights"]["per_layer"]) == set(weights)
    acc = r["accuracy"]
    assert len(acc["finetuned"]) == 2 and acc["final"] == acc["finetuned"][-1]
    assert all(0.0 <= a <= 1.0 for a in (acc["before"], acc["pruned"], acc["final"]))
    assert acc["before"] == trained["history"]["test_acc"][-1]
    # the final accuracy is that of the saved model
    test_x, test_y = train.load_split(data_root, False, 32)
    model.eval()
    with mbtorch.no_grad():
        got = float((model(test_x).argmax(1) == test_y).float().mean().item())
    assert got == pytest.approx(acc["final"])
    b = r["bytes"]
    assert b["pruned_file"] == b["dense_file"] == os.path.getsize(out / tc.PRUNED)
    assert b["sparse_bitmask"] < b["dense"]
    # at 50 %, a value and an int32 index per kept weight cost what two dense weights do
    assert b["sparse_coo_int32"] == b["dense"]


def test_prune_a_resumed_checkpoint_without_training(data_root, tmp_path, capsys):
    out = tmp_path / "run"
    assert train.main(_args(data_root, out, "--epochs", "1")) == 0
    ckpt = out / train.CHECKPOINT
    held = ckpt.read_bytes()
    dense = _weights(mbtorch.load(str(ckpt))["model"])
    assert train.main(_args(data_root, out, "--epochs", "0", "--resume", str(ckpt),
                            "--prune", "0.8", "--finetune-epochs", "0")) == 0
    assert "nothing to train" in capsys.readouterr().out
    assert ckpt.read_bytes() == held  # the trained run is untouched
    pruned = _weights(mbtorch.load(str(out / tc.PRUNED)))
    # global L1: exactly the 80 % smallest magnitudes of all layers together are zero
    magnitudes = np.concatenate([np.abs(w).ravel() for w in dense.values()])
    k = round(0.8 * magnitudes.size)
    threshold = np.sort(magnitudes)[k - 1]
    for name, w in dense.items():
        np.testing.assert_array_equal(pruned[name] == 0, np.abs(w) <= threshold, name)
        np.testing.assert_array_equal(pruned[name][pruned[name] != 0], w[np.abs(w) > threshold])
    r = _report(out)
    assert r["accuracy"]["finetuned"] == [] and r["accuracy"]["final"] == r["accuracy"]["pruned"]
    # layers differ in how much they lose: the threshold is one for all
    kept = {n: v[0] / v[1] for n, v in r["weights"]["per_layer"].items()}
    assert len(set(round(x, 3) for x in kept.values())) > 1


def test_a_second_prune_never_replaces_the_first(data_root, tmp_path, capsys):
    out = tmp_path / "run"
    assert train.main(_args(data_root, out, "--epochs", "1", "--prune", "0.5",
                            "--finetune-epochs", "0")) == 0
    first, report = (out / tc.PRUNED).read_bytes(), (out / tc.PRUNE_REPORT).read_bytes()
    capsys.readouterr()
    ckpt = str(out / train.CHECKPOINT)
    args = _args(data_root, out, "--epochs", "1", "--resume", ckpt, "--prune", "0.9",
                 "--finetune-epochs", "0")
    assert train.main(args) == 2
    err = capsys.readouterr().err
    assert "already holds compression results" in err and tc.PRUNED in err
    assert "--overwrite" in err
    assert (out / tc.PRUNED).read_bytes() == first
    assert (out / tc.PRUNE_REPORT).read_bytes() == report
    assert train.main([*args, "--overwrite"]) == 0
    assert _report(out)["amount"] == 0.9 and (out / tc.PRUNED).read_bytes() != first


def test_fit_returns_the_compression_report(data_root, tmp_path):
    args = train.parse_args(_args(data_root, tmp_path / "run", "--epochs", "1", "--prune",
                                  "0.3", "--finetune-epochs", "1"))
    history = train.fit(args)
    assert history["epoch"] == [1] and history["compression"]["prune"]["amount"] == 0.3
    plain = train.fit(train.parse_args(_args(data_root, tmp_path / "plain", "--epochs", "1")))
    assert "compression" not in plain


@pytest.mark.parametrize("argv,message", [
    (["--prune", "0"], "--prune must be a fraction between 0 and 1"),
    (["--prune", "1"], "--prune must be a fraction between 0 and 1"),
    (["--prune", "1.5"], "--prune must be a fraction between 0 and 1"),
    (["--prune", "-0.2"], "--prune must be a fraction between 0 and 1"),
    (["--prune", "0.5", "--finetune-epochs", "-1"], "--finetune-epochs must be >= 0"),
    (["--epochs", "0"], "--epochs must be at least 1"),
    (["--epochs", "-1", "--resume", "x.pt"], "--epochs must be at least 0"),
])
def test_bad_compression_options_are_usage_errors(argv, message, capsys):
    with pytest.raises(SystemExit) as e:
        train.parse_args(argv)
    assert e.value.code == 2
    assert message in capsys.readouterr().err


def test_epochs_zero_is_accepted_only_when_resuming():
    assert train.parse_args(["--epochs", "0", "--resume", "x.pt"]).epochs == 0
    assert train.parse_args(["--prune", "0.8"]).finetune_epochs == 1


def test_sparse_bytes_counts_values_and_indices():
    state = {"a.weight": mbtorch.tensor([[0.0, 1.5, 0.0, 0.0], [2.0, 0.0, 0.0, 0.0]]),
             "a.bias": mbtorch.zeros(3),
             "n": mbtorch.tensor([7, 0])}
    sizes = tc.sparse_bytes(state, {"a.weight"})
    assert sizes["dense"] == 8 * 4 + 3 * 4 + 2 * 8
    assert sizes["sparse_coo_int32"] == 2 * (4 + 4) + 3 * 4 + 2 * 8  # others stay dense
    assert sizes["sparse_bitmask"] == 2 * 4 + 1 + 3 * 4 + 2 * 8  # 8 entries: one byte of bits


def test_prunable_layers_are_the_conv_and_linear_ones():
    names = [n for n, _ in tc.prunable(train.build_model(mbtorch.nn))]
    assert names == ["0", "4", "9", "11"]
