"""Model compression for ``mbtorch-train``, run after training (or on a resumed checkpoint).

``--prune AMOUNT`` prunes every Conv2d and Linear weight together by L1 magnitude
(``nn.utils.prune.global_unstructured``: one threshold for the whole model, so layers with
many small weights lose more), fine-tunes ``--finetune-epochs`` epochs with the masks in place
(the pruned entries stay zero while the rest adapt), makes the pruning permanent
(``prune.remove``) and reports the test accuracy before pruning, right after it and after each
fine-tuning epoch, the nonzero weights, and the file size: ``OUT/pruned.pt`` stores the
weights dense (zeros included, so it is as large as the unpruned model), and the report says
what a sparse layout of the same tensors would take. The figures also go to
``OUT/prune.json``.

Each compression is a :class:`Step`: its flag, the files it writes into ``--out`` (refused when
present, unless ``--overwrite``) and the function that runs it on the trained model. Steps run
in :data:`STEPS` order on the same model, so a later step (``--quantize``, in
``_train_quantize``) sees the pruned one; a new step adds its options in
:func:`add_arguments`, its checks in :func:`check_args` and one entry in :data:`STEPS`.

    mbtorch-train --epochs 3 --prune 0.8                       # train, then prune 80 %
    mbtorch-train --resume runs/fashion_mnist/checkpoint.pt --epochs 0 --prune 0.8
    mbtorch-train --resume runs/fashion_mnist/checkpoint.pt --epochs 0 --quantize static
"""

from __future__ import annotations

import argparse
import io
import json
import os
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from . import _train_quantize

__all__ = ["PRUNED", "PRUNE_REPORT", "Step", "STEPS", "Context", "add_arguments", "check_args",
           "requested", "check_out", "compress", "finish", "prunable", "sparse_bytes",
           "prune_and_finetune"]

PRUNED, PRUNE_REPORT = "pruned.pt", "prune.json"
# fine-tuning starts from a trained model: a tenth of the peak rate, constant, keeps it close
FINETUNE_LR_SCALE = 0.1


def add_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("compression (after training, or on a --resume'd checkpoint)")
    g.add_argument("--prune", type=float, metavar="AMOUNT",
                   help="prune this fraction of all Conv2d/Linear weights by global L1 "
                        f"magnitude, fine-tune, save OUT/{PRUNED} and OUT/{PRUNE_REPORT}")
    g.add_argument("--finetune-epochs", type=int, default=1, metavar="N",
                   help="epochs of fine-tuning with the pruning masks in place (0: none), "
                        "and of quantization-aware training (--quantize qat)")
    _train_quantize.add_arguments(g)


def check_args(p: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Reject bad compression options through ``p.error`` (exit status 2)."""
    if args.prune is not None and not 0.0 < args.prune < 1.0:
        p.error(f"--prune must be a fraction between 0 and 1 (exclusive), got {args.prune}")
    if args.finetune_epochs < 0:
        p.error(f"--finetune-epochs must be >= 0, got {args.finetune_epochs}")
    _train_quantize.check_args(p, args)


@dataclass
class Context:
    """What a step works on: the training run (its model is compressed in place), the data,
    and where to write and say things."""

    args: argparse.Namespace
    run: Any
    train_data: tuple[Any, Any]
    test_loader: Any
    say: Callable[[str], None]
    report: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Step:
    flag: str  # the argparse attribute that requests the step (None: not requested)
    files: Any  # what it writes into --out: a tuple, or a function of the arguments giving one
    run: Callable[[Context], None]


def requested(args: argparse.Namespace) -> list[Step]:
    return [s for s in STEPS if getattr(args, s.flag, None) is not None]


def check_out(args: argparse.Namespace, error: type[Exception]) -> None:
    """Refuse, before anything runs, an ``--out`` holding a requested step's results."""
    held = [f for s in requested(args) for f in (s.files(args) if callable(s.files) else s.files)
            if os.path.exists(os.path.join(args.out, f))]
    if held and not args.overwrite:
        raise error(f"--out: {args.out!r} already holds compression results "
                    f"({', '.join(held)}); replace them with --overwrite or choose another "
                    f"--out")


def compress(args: argparse.Namespace, run: Any, train_data: tuple[Any, Any],
             test_loader: Any, say: Callable[[str], None]) -> dict:
    """Run the requested steps in order on ``run.model``; returns their reports."""
    ctx = Context(args, run, train_data, test_loader, say)
    for step in requested(args):
        step.run(ctx)
    return ctx.report


def finish(args: argparse.Namespace, run: Any, train_data: tuple[Any, Any], test_loader: Any,
           say: Callable[[str], None]) -> dict:
    """What ``train.fit`` returns: the run's history, with the reports of the compression
    steps under ``"compression"`` when any was asked for (after they ran)."""
    if not requested(args):
        return run.history
    return dict(run.history, compression=compress(args, run, train_data, test_loader, say))


def prunable(model: Any) -> list[tuple[str, Any]]:
    """``(qualified name, module)`` of every Conv2d and Linear: the weights ``--prune`` cuts."""
    from mbtorch import nn

    return [(name, m) for name, m in model.named_modules()
            if isinstance(m, (nn.Conv2d, nn.Linear))]


def sparse_bytes(state: dict, sparse_keys: set[str]) -> dict[str, int]:
    """Bytes of the tensors of ``state`` stored dense, and with the ``sparse_keys`` tensors
    sparse: as nonzero values with int32 flat indices (COO), or as nonzero values with a
    one-bit-per-entry presence mask (the smaller layout from about 1/32 density up)."""
    dense = coo = bitmask = 0
    for key, t in state.items():
        size = t.numel() * t.element_size()
        dense += size
        if key in sparse_keys:
            nnz = int((t != 0).sum().item())
            coo += nnz * (t.element_size() + 4)
            bitmask += nnz * t.element_size() + (t.numel() + 7) // 8
        else:
            coo, bitmask = coo + size, bitmask + size
    return {"dense": dense, "sparse_coo_int32": coo, "sparse_bitmask": bitmask}


def _file_bytes(state: dict) -> int:
    import mbtorch

    buf = io.BytesIO()
    mbtorch.save(state, buf, format="safetensors")
    return buf.tell()


def _finetune(ctx: Context, epochs: int) -> list[float]:
    """``epochs`` epochs of Adam at a constant, reduced rate; the test accuracy after each."""
    from tqdm.auto import tqdm

    import mbtorch

    from .train import evaluate, make_loader, train_step

    args, run = ctx.args, ctx.run
    opt = mbtorch.optim.Adam(run.model.parameters(), lr=args.lr * FINETUNE_LR_SCALE)
    accuracies = []
    for epoch in range(epochs):
        loader = make_loader(*ctx.train_data, args.batch_size, True, args.seed + 7919 + epoch,
                             args.num_workers)
        run.model.train()
        for images, labels in tqdm(loader, desc=f"fine-tune {epoch + 1}", unit="batch",
                                   leave=False, disable=args.no_progress, dynamic_ncols=True):
            train_step(run.model, opt, images.to(args.device), labels.to(args.device))
        accuracies.append(evaluate(run, ctx.test_loader)[1])
        ctx.say(f"fine-tune epoch {epoch + 1}/{epochs}: test accuracy "
                f"{100 * accuracies[-1]:.2f}%")
    return accuracies


def _nonzero(model: Any) -> dict[str, list[int]]:
    return {f"{name}.weight" if name else "weight":
            [int((m.weight != 0).sum().item()), m.weight.numel()] for name, m in prunable(model)}


def prune_and_finetune(ctx: Context) -> None:
    """The ``--prune`` step (see the module docstring)."""
    from mbtorch.nn.utils import prune

    from .train import _make_out, evaluate

    args, run, say = ctx.args, ctx.run, ctx.say
    layers = prunable(run.model)
    t0 = time.perf_counter()
    before = evaluate(run, ctx.test_loader)[1]
    dense_file = _file_bytes(run.model.state_dict())
    prune.global_unstructured([(m, "weight") for _, m in layers],
                              pruning_method=prune.L1Unstructured, amount=args.prune)
    pruned = evaluate(run, ctx.test_loader)[1]
    say(f"pruned {100 * args.prune:g}% of the Conv2d/Linear weights (global L1): test accuracy "
        f"{100 * before:.2f}% -> {100 * pruned:.2f}%")
    tuned = _finetune(ctx, args.finetune_epochs)
    for _, m in layers:
        prune.remove(m, "weight")
    final = evaluate(run, ctx.test_loader)[1]
    state = run.model.state_dict()
    weights = _nonzero(run.model)
    nz, total = (sum(v[i] for v in weights.values()) for i in (0, 1))
    sizes = sparse_bytes(state, set(weights))
    sizes.update(dense_file=dense_file, pruned_file=_file_bytes(state))
    report = {"amount": args.prune, "finetune_epochs": args.finetune_epochs,
              "model_epoch": run.epoch, "seconds": time.perf_counter() - t0,
              "accuracy": {"before": before, "pruned": pruned, "finetuned": tuned,
                           "final": final},
              "weights": {"nonzero": nz, "total": total, "per_layer": weights},
              "bytes": sizes}
    _make_out(args.out)
    run.torch.save(state, os.path.join(args.out, PRUNED), format="safetensors")
    _write_json(report, os.path.join(args.out, PRUNE_REPORT))
    ctx.report["prune"] = report
    _say_prune(report, args.out, say)


def _write_json(obj: dict, path: str) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1)
    os.replace(tmp, path)


def _say_prune(r: dict, out: str, say: Callable[[str], None]) -> None:
    acc, w, b = r["accuracy"], r["weights"], r["bytes"]
    after = f"{100 * acc['final']:.2f}%" if r["finetune_epochs"] else "(no fine-tuning)"
    say(f"test accuracy: before pruning {100 * acc['before']:.2f}%, right after "
        f"{100 * acc['pruned']:.2f}%, after fine-tuning {after}")
    say(f"nonzero Conv2d/Linear weights: {w['nonzero']} / {w['total']} "
        f"({100 * w['nonzero'] / max(w['total'], 1):.1f}%)")
    kib = 1024.0
    say(f"size: dense file {b['dense_file'] / kib:.1f} KiB, pruned file (zeros stored) "
        f"{b['pruned_file'] / kib:.1f} KiB; tensor bytes dense {b['dense'] / kib:.1f} KiB, "
        f"sparse as values + int32 indices {b['sparse_coo_int32'] / kib:.1f} KiB, as values + "
        f"bitmask {b['sparse_bitmask'] / kib:.1f} KiB")
    say(f"pruned model {os.path.join(out, PRUNED)}, report {os.path.join(out, PRUNE_REPORT)}")


# the order the steps run in: a pruned model is then quantized
STEPS: tuple[Step, ...] = (Step("prune", (PRUNED, PRUNE_REPORT), prune_and_finetune),
                           Step("quantize", _train_quantize.files_for, _train_quantize.quantize))
