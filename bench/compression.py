"""``python -m bench.compression``: the Fashion-MNIST CNN of ``mbtorch-train``, compressed
every way issue 20 asks for, measured side by side in one run.

    python -m bench.compression [--epochs 3] [--checkpoint CKPT] [--out DIR] [--device cpu]

It trains the float model once (or takes ``--checkpoint``), then runs ``mbtorch-train`` on a
copy of that checkpoint for each of ``--prune 0.8`` (one fine-tuning epoch), ``--quantize
dynamic``, ``--quantize static`` (the graph flow) and ``--quantize qat`` (one epoch of
quantization-aware training), and reads their reports: test accuracy, file size. The float
model and the static and QAT int8 models are exported to ONNX and run under onnxruntime on
the test set: accuracy and latency per batch of 256 (median of ``--repeats`` after warm-up),
with one intra-op thread and with onnxruntime's default. Writes
``DIR/compression-<date>.{md,json}`` (never replacing an earlier file: a ``-N`` suffix) and
prints the Markdown table.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .machine import describe, load_average

RESULTS = Path(__file__).resolve().parent / "results"
BATCH = 256


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.compression", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--epochs", type=int, default=3, help="float training epochs (default 3)")
    p.add_argument("--checkpoint", help="start from this mbtorch-train checkpoint instead")
    p.add_argument("--device", default="cpu", help="where training and fine-tuning run")
    p.add_argument("--data-root", default=None, help="the Fashion-MNIST IDX files "
                   "(default: mbtorch-train's)")
    p.add_argument("--limit-train", type=int, default=None)
    p.add_argument("--limit-test", type=int, default=None)
    p.add_argument("--repeats", type=int, default=20, help="timed onnxruntime batches")
    p.add_argument("--out", type=Path, default=RESULTS)
    return p.parse_args(argv)


def _train_args(args: argparse.Namespace, out: str, *extra: str) -> list[str]:
    # --no-malloc-tuning: mbtorch-train would otherwise re-execute (replace) this process
    common = ["--out", out, "--device", args.device, "--no-progress", "--no-malloc-tuning"]
    if args.data_root:
        common += ["--data-root", args.data_root]
    for flag in ("limit_train", "limit_test"):
        if getattr(args, flag):
            common += [f"--{flag.replace('_', '-')}", str(getattr(args, flag))]
    return common + list(extra)


def _run_train(argv: list[str]) -> None:
    from mbtorch import train

    code = train.main(argv)
    if code:
        raise SystemExit(f"bench.compression: mbtorch-train {' '.join(argv)} exited {code}")


def _variant(args: argparse.Namespace, work: str, ckpt: str, name: str, *flags: str) -> dict:
    """``mbtorch-train`` resumed from a copy of ``ckpt`` with ``flags``; its report."""
    out = os.path.join(work, name)
    os.makedirs(out)
    shutil.copy(ckpt, os.path.join(out, "checkpoint.pt"))
    _run_train(_train_args(args, out, "--resume", os.path.join(out, "checkpoint.pt"),
                           "--epochs", "0", *flags))
    report = "prune.json" if flags[0] == "--prune" else "quantize.json"
    with open(os.path.join(out, report)) as f:
        return json.load(f) | {"dir": out}


def _test_set(args: argparse.Namespace) -> tuple[Any, Any]:
    from mbtorch import train

    root = args.data_root or train.parse_args([]).data_root
    return train.load_split(root, False, args.limit_test)


def _onnx_rows(args: argparse.Namespace, work: str, ckpt: str, variants: dict) -> list[dict]:
    """Export the float, static and QAT models and time them under onnxruntime."""
    import mbtorch
    from mbtorch import train

    images, labels = _test_set(args)
    model = train.build_model(mbtorch.nn)
    model.load_state_dict(mbtorch.load(ckpt)["model"])
    models = {"float32": model.eval(),
              "static int8 (graph)": mbtorch.export.load(
                  os.path.join(variants["static"]["dir"], "quantized.pt2")).module(),
              "QAT int8": _qat_model(variants["qat"]["dir"])}
    rows = []
    for name, m in models.items():
        path = os.path.join(work, name.split()[0] + ".onnx")
        mbtorch.onnx.export(m, (mbtorch.zeros(BATCH, 1, 28, 28),), path,
                            input_names=["images"], output_names=["logits"],
                            dynamic_axes={"images": {0: "batch"}, "logits": {0: "batch"}})
        row = {"model": name, "onnx_bytes": os.path.getsize(path)}
        for threads in (1, 0):
            acc, ms = _ort(path, images, labels, threads, args.repeats)
            key = "1 thread" if threads == 1 else "default threads"
            row[f"ms ({key})"], row["accuracy"] = ms, acc
        row["int8 kernels"] = _int8_kernels(path)
        rows.append(row)
    return rows


def _qat_model(out: str) -> Any:
    """The QAT model rebuilt as ``--quantize qat`` made it, its state dict loaded."""
    import copy

    import mbtorch
    import mbtorch.ao.quantization as tq
    from mbtorch import train

    wrapped = tq.QuantWrapper(train.build_model(mbtorch.nn)).train()
    wrapped.qconfig = tq.get_default_qat_qconfig("x86")
    tq.fuse_modules_qat(wrapped.module, [["9", "10"]], inplace=True)
    prepared = tq.prepare_qat(wrapped)
    prepared(mbtorch.zeros(2, 1, 28, 28))  # every observer sees data once before convert
    model = tq.convert(copy.deepcopy(prepared).eval())
    model.load_state_dict(mbtorch.load(os.path.join(out, "quantized.pt")))
    return model


def _ort(path: str, images: Any, labels: Any, threads: int, repeats: int) -> tuple[float, float]:
    import numpy as np
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
    x = images.numpy().astype(np.float32).reshape(-1, 1, 28, 28) if hasattr(images, "numpy") \
        else np.asarray(images, np.float32).reshape(-1, 1, 28, 28)
    y = labels.numpy() if hasattr(labels, "numpy") else np.asarray(labels)
    correct = 0
    for i in range(0, len(x), BATCH):
        (logits,) = sess.run(None, {"images": x[i:i + BATCH]})
        correct += int((logits.argmax(1) == y[i:i + BATCH]).sum())
    batch = x[:BATCH]
    for _ in range(3):
        sess.run(None, {"images": batch})
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        sess.run(None, {"images": batch})
        times.append(1000 * (time.perf_counter() - t0))
    return correct / len(x), statistics.median(times)


def _int8_kernels(path: str) -> str:
    """The integer kernels onnxruntime's optimized graph runs (QLinearConv, ...)."""
    import onnx
    import onnxruntime as ort

    with tempfile.TemporaryDirectory() as tmp:
        opts = ort.SessionOptions()
        opts.log_severity_level = 3  # its note that the saved graph suits only this machine
        opts.optimized_model_filepath = os.path.join(tmp, "opt.onnx")
        ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
        ops = sorted({n.op_type for n in onnx.load(opts.optimized_model_filepath).graph.node
                      if n.op_type.startswith(("QLinear", "MatMulInteger", "ConvInteger",
                                               "QGemm", "DynamicQuantize"))})
    return ", ".join(ops) or "none"


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    started = time.time()
    load = load_average()
    work = tempfile.mkdtemp(prefix="mbtorch-compression-")
    try:
        if args.checkpoint:
            ckpt = args.checkpoint
        else:
            _run_train(_train_args(args, os.path.join(work, "float"), "--epochs",
                                   str(args.epochs)))
            ckpt = os.path.join(work, "float", "checkpoint.pt")
        variants = {
            "prune": _variant(args, work, ckpt, "prune", "--prune", "0.8"),
            "dynamic": _variant(args, work, ckpt, "dynamic", "--quantize", "dynamic"),
            "static": _variant(args, work, ckpt, "static", "--quantize", "static"),
            "qat": _variant(args, work, ckpt, "qat", "--quantize", "qat"),
        }
        onnx_rows = _onnx_rows(args, work, ckpt, variants)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result = {"command": " ".join(["python -m bench.compression"] + (argv or sys.argv[1:])),
              "machine": describe(), "load_average": [load, load_average()],
              "seconds": time.time() - started, "variants": variants, "onnx": onnx_rows}
    text = markdown(result)
    print(text)
    for path in _write(result, text, args.out):
        print(path)
    return 0


def markdown(r: dict) -> str:
    v = r["variants"]
    float_acc = v["dynamic"]["accuracy"]["float"]
    float_bytes = v["dynamic"]["bytes"]["float_safetensors"]
    rows = [("float32", float_acc, float_bytes, "")]
    p = v["prune"]
    rows.append(("pruned 80 % + 1 epoch fine-tuning", p["accuracy"]["final"],
                 p["bytes"]["sparse_bitmask"], "size: nonzero values + bitmask (the file "
                 f"stores zeros: {p['bytes']['pruned_file'] / 1024:.0f} KiB)"))
    for key, name in (("dynamic", "dynamic int8 (Linear)"), ("static", "static int8 (graph "
                      "flow, x86 recipe)"), ("qat", "QAT int8 (1 epoch)")):
        q = v[key]
        rows.append((name, q["accuracy"]["quantized"], q["bytes"]["quantized_file"], ""))
    lines = [f"`{r['command']}` — {r['machine'].get('cpu', '')}, load average "
             f"{r['load_average'][0]} → {r['load_average'][1]}, {r['seconds']:.0f} s", "",
             "| model | test accuracy | Δ vs float | file | smaller | note |",
             "| --- | --- | --- | --- | --- | --- |"]
    for name, acc, size, note in rows:
        lines.append(f"| {name} | {100 * acc:.2f} % | {100 * (acc - float_acc):+.2f} | "
                     f"{size / 1024:.0f} KiB | {float_bytes / size:.2f}× | {note} |")
    lines += ["", "onnxruntime (CPU), batch 256:", "",
              "| ONNX model | accuracy | ms (1 thread) | ms (default threads) | file | "
              "int8 kernels |", "| --- | --- | --- | --- | --- | --- |"]
    for o in r["onnx"]:
        lines.append(f"| {o['model']} | {100 * o['accuracy']:.2f} % | {o['ms (1 thread)']:.2f} "
                     f"| {o['ms (default threads)']:.2f} | {o['onnx_bytes'] / 1024:.0f} KiB | "
                     f"{o['int8 kernels']} |")
    return "\n".join(lines)


def _write(result: dict, text: str, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    stem = f"compression-{datetime.date.today().isoformat()}"
    n, base = 1, stem
    while (out / f"{stem}.md").exists() or (out / f"{stem}.json").exists():
        n += 1
        stem = f"{base}-{n}"
    (out / f"{stem}.json").write_text(json.dumps(result, indent=1, default=str))
    (out / f"{stem}.md").write_text(text + "\n")
    return [out / f"{stem}.md", out / f"{stem}.json"]


if __name__ == "__main__":
    sys.exit(main())
