"""Deploy the Fashion-MNIST model through ONNX: load a checkpoint of ``mbtorch-train`` (or train
one briefly), export it with ``mbtorch.onnx.export``, then run the ONNX file under onnxruntime
and under ``mbtorch.onnx.load`` on every available mbtorch device, printing test accuracy and
latency per batch for each.

    python examples/deploy_onnx.py --checkpoint runs/fashion_mnist/checkpoint.pt
    python examples/deploy_onnx.py --train-epochs 1      # no checkpoint: train one first

Needs ``pip install 'mbtorch[onnx,train]'``.
"""

import argparse
import os
import sys
import tempfile
import time


def parse(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--checkpoint", help="a checkpoint of mbtorch-train (else train one)")
    ap.add_argument("--train-epochs", type=int, default=1)
    ap.add_argument("--data-root", default="data")
    ap.add_argument("--limit-test", type=int, default=None, help="first N test images")
    ap.add_argument("--limit-train", type=int, default=None, help="when training here")
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--out", default=None, help="where to write model.onnx (default: a "
                                                "temporary folder)")
    return ap.parse_args(argv)


def checkpoint(args, work):
    if args.checkpoint:
        return args.checkpoint
    from mbtorch import train

    run = os.path.join(work, "run")
    argv = ["--epochs", str(args.train_epochs), "--data-root", args.data_root, "--out", run,
            "--no-progress", "--no-malloc-tuning"]
    if args.limit_train:
        argv += ["--limit-train", str(args.limit_train)]
    if train.main(argv) != 0:
        sys.exit("training failed")
    return os.path.join(run, train.CHECKPOINT)


def evaluate(name, run_batch, images, labels, batch_size):
    """Accuracy and median latency per batch of ``run_batch`` (NumPy in, NumPy logits out)."""
    import numpy as np

    correct, times = 0, []
    for i in range(0, len(images), batch_size):
        x = images[i:i + batch_size]
        t0 = time.perf_counter()
        logits = run_batch(x)
        times.append(time.perf_counter() - t0)
        correct += int((logits.argmax(1) == labels[i:i + batch_size]).sum())
    ms = 1e3 * float(np.median(times[1:] if len(times) > 1 else times))
    print(f"{name:28s} accuracy {100 * correct / len(images):6.2f} %   "
          f"{ms:8.2f} ms per batch of {batch_size}")
    return correct / len(images)


def main(argv=None):
    args = parse(argv)
    import onnxruntime

    import mbtorch
    import mbtorch.onnx
    from mbtorch import backends
    from mbtorch.train import load_split

    with tempfile.TemporaryDirectory() as work:
        ckpt = checkpoint(args, work)
        out = os.path.join(args.out or work, "model.onnx")
        from mbtorch.onnx.__main__ import main as mbtorch_export  # the mbtorch-export command

        if mbtorch_export([ckpt, "-o", out, "--overwrite"]) != 0:
            sys.exit("export failed")
        images, labels = load_split(args.data_root, False, args.limit_test)
        images, labels = images.numpy(), labels.numpy()
        results = {}
        sess = onnxruntime.InferenceSession(out, providers=["CPUExecutionProvider"])
        results["onnxruntime (CPU)"] = evaluate(
            "onnxruntime (CPU)", lambda x: sess.run(None, {"images": x})[0], images, labels,
            args.batch_size)
        module = mbtorch.onnx.load(out)
        for st in backends.status():
            if st.state != "available":
                print(f"{'mbtorch.onnx.load on ' + st.device_type:28s} skipped: {st.reason}")
                continue
            on_device = module.to(st.device_type)

            def run(x, m=on_device, d=st.device_type):
                with mbtorch.no_grad():
                    return m(mbtorch.tensor(x).to(d)).numpy(force=True)

            name = f"mbtorch.onnx.load on {st.device_type}"
            results[name] = evaluate(name, run, images, labels, args.batch_size)
        spread = max(results.values()) - min(results.values())
        print(f"accuracy spread across runtimes: {100 * spread:.2f} points")
        return results


if __name__ == "__main__":
    main()
