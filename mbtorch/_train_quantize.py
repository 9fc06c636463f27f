"""``mbtorch-train --quantize {dynamic,static,qat}``: int8 versions of the trained CNN.

- ``dynamic``: ``quantize_dynamic`` — the Linear layers get int8 weights and quantize their
  inputs on the fly; the convolutions stay float.
- ``static``: the graph flow — ``mbtorch.export`` the model, ``prepare_pt2e`` with the x86
  recipe (uint8 activations, int8 per-channel weights), calibrate on
  ``--calibration-batches`` training batches, ``convert_pt2e``; saved as an exported program
  (``OUT/quantized.pt2``: a readable graph plus safetensors weights, int8 included).
- ``qat``: quantization-aware training — ``prepare_qat`` (fake-quantized weights and
  activations, Linear+ReLU fused), ``--finetune-epochs`` of training, ``convert``.

Each reports the test accuracy before and after and the file sizes (the float state dict as
safetensors against the quantized model's file) in ``OUT/quantize.json``; the model goes to
``OUT/quantized.pt`` (a state dict) or ``OUT/quantized.pt2``. Runs after ``--prune`` when
both are given, on the pruned model. The pieces are public API: this is what a user would
write (see README, "Compression").
"""

from __future__ import annotations

import copy
import io
import os
import time
from typing import Any

__all__ = ["MODES", "QUANT_REPORT", "add_arguments", "check_args", "files_for", "quantize",
           "dynamic", "static_graph", "qat", "file_bytes"]

MODES = ("dynamic", "static", "qat")
QUANT_REPORT = "quantize.json"


def add_arguments(g: Any) -> None:
    g.add_argument("--quantize", choices=MODES,
                   help="int8-quantize the trained model (dynamic: Linear weights; static: "
                        "the graph flow with calibration; qat: quantization-aware fine-tuning "
                        f"for --finetune-epochs) and save it with OUT/{QUANT_REPORT}")
    g.add_argument("--calibration-batches", type=int, default=32, metavar="N",
                   help="training batches that calibrate --quantize static (default 32)")


def check_args(p: Any, args: Any) -> None:
    if args.calibration_batches < 1:
        p.error(f"--calibration-batches must be at least 1, got {args.calibration_batches}")
    if args.quantize == "qat" and args.finetune_epochs < 1:
        p.error("--quantize qat trains: --finetune-epochs must be at least 1")


def files_for(args: Any) -> tuple[str, ...]:
    model = "quantized.pt2" if getattr(args, "quantize", None) == "static" else "quantized.pt"
    return (model, QUANT_REPORT)


def file_bytes(state: dict) -> int:
    """Bytes of ``state`` saved as safetensors (quantized tensors: integers, scales and
    zero points)."""
    import mbtorch

    buf = io.BytesIO()
    mbtorch.save(state, buf, format="safetensors")
    return buf.tell()


def dynamic(model: Any, ctx: Any) -> Any:
    import mbtorch
    from mbtorch.ao.quantization import quantize_dynamic

    return quantize_dynamic(model.cpu(), {mbtorch.nn.Linear}, dtype=mbtorch.qint8)


def _calibration(ctx: Any) -> Any:
    from .train import make_loader

    args = ctx.args
    loader = make_loader(*ctx.train_data, args.batch_size, True, args.seed + 104729, 0)
    for i, (images, _) in enumerate(loader):
        if i == args.calibration_batches:
            break
        yield images


def static_graph(model: Any, ctx: Any) -> Any:
    """Export, prepare with the x86 quantizer, calibrate, convert (the recommended path)."""
    import mbtorch
    from mbtorch.ao.quantization.quantize_pt2e import convert_pt2e, prepare_pt2e
    from mbtorch.ao.quantization.quantizer import (
        X86InductorQuantizer,
        get_default_x86_inductor_quantization_config,
    )

    model = model.cpu().eval()
    example = mbtorch.zeros(ctx.args.batch_size, 1, 28, 28)
    batch = mbtorch.export.Dim("batch", min=1, max=1 << 16)
    program = mbtorch.export.export(model, (example,), dynamic_shapes=({0: batch},))
    quantizer = X86InductorQuantizer().set_global(get_default_x86_inductor_quantization_config())
    prepared = prepare_pt2e(program.module(), quantizer)
    with mbtorch.no_grad():
        for images in _calibration(ctx):
            prepared(images)
    return convert_pt2e(prepared)


def qat(model: Any, ctx: Any) -> Any:
    """Fake-quantized fine-tuning of the float model, then ``convert``."""
    import mbtorch.ao.quantization as tq

    from ._train_compress import _finetune

    wrapped = tq.QuantWrapper(model.cpu()).train()
    wrapped.qconfig = tq.get_default_qat_qconfig("x86")
    tq.fuse_modules_qat(wrapped.module, [["9", "10"]], inplace=True)  # Linear + ReLU
    prepared = tq.prepare_qat(wrapped).to(ctx.args.device)
    run = ctx.run
    float_model, run.model = run.model, prepared
    try:
        ctx.report.setdefault("quantize", {})["qat_accuracy"] = _finetune(
            ctx, ctx.args.finetune_epochs)
    finally:
        run.model = float_model
    return tq.convert(prepared.cpu().eval())


_FLOWS = {"dynamic": dynamic, "static": static_graph, "qat": qat}


def quantize(ctx: Any) -> None:
    """The ``--quantize`` step: quantize a copy of ``ctx.run.model``, evaluate, save, report."""
    import mbtorch

    from ._train_compress import _write_json
    from .train import _make_out, evaluate

    args, run, say = ctx.args, ctx.run, ctx.say
    t0 = time.perf_counter()
    before = evaluate(run, ctx.test_loader)[1]
    float_bytes = file_bytes(run.model.state_dict())
    quantized = _FLOWS[args.quantize](copy.deepcopy(run.model), ctx)
    after = _evaluate_on_cpu(run, quantized, ctx.test_loader)
    _make_out(args.out)
    path = os.path.join(args.out, files_for(args)[0])
    if args.quantize == "static":
        mbtorch.export.save(quantized._program, path)
    else:
        mbtorch.save(quantized.state_dict(), path, format="safetensors")
    report = dict(ctx.report.get("quantize", {}), mode=args.quantize, model_epoch=run.epoch,
                  seconds=time.perf_counter() - t0,
                  accuracy={"float": before, "quantized": after},
                  bytes={"float_safetensors": float_bytes, "quantized_file":
                         os.path.getsize(path)})
    _write_json(report, os.path.join(args.out, QUANT_REPORT))
    ctx.report["quantize"] = report
    b = report["bytes"]
    say(f"quantized ({args.quantize}): test accuracy {100 * before:.2f}% -> {100 * after:.2f}%; "
        f"file {b['float_safetensors'] / 1024:.1f} KiB -> {b['quantized_file'] / 1024:.1f} KiB "
        f"({b['float_safetensors'] / b['quantized_file']:.2f}x smaller); model {path}, report "
        f"{os.path.join(args.out, QUANT_REPORT)}")


def _evaluate_on_cpu(run: Any, model: Any, loader: Any) -> float:
    """Test accuracy of a quantized model, run on cpu (its integer weights live there)."""
    from .train import evaluate

    device, float_model = run.args.device, run.model
    run.model, run.args.device = model, "cpu"
    try:
        return evaluate(run, loader)[1]
    finally:
        run.model, run.args.device = float_model, device
