"""``mbtorch-export CHECKPOINT --model fashion_cnn -o model.onnx`` (or ``python -m
mbtorch.onnx``): a checkpoint written by ``mbtorch-train`` as an ONNX model with a dynamic
batch dimension, checked under onnxruntime against mbtorch on random input when it is
installed. An existing output file is kept unless ``--overwrite`` is given."""

from __future__ import annotations

__all__ = ["main", "MODELS"]

import argparse
import os
import sys
from typing import Any, Callable, Sequence


def _fashion_cnn() -> tuple[Any, tuple]:
    import mbtorch
    from mbtorch.train import build_model

    return build_model(mbtorch.nn), (1, 28, 28)


MODELS: dict[str, Callable[[], tuple[Any, tuple]]] = {"fashion_cnn": _fashion_cnn}
"""Model name -> (the architecture, built untrained; one example's shape)."""


class _Usage(Exception):
    pass


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="mbtorch-export", description=__doc__.split("\n")[0])
    p.add_argument("checkpoint", help="a checkpoint of mbtorch-train (OUT/checkpoint.pt)")
    p.add_argument("--model", default="fashion_cnn", choices=sorted(MODELS))
    p.add_argument("-o", "--output", required=True, help="the .onnx file to write")
    p.add_argument("--opset", type=int, default=None, help="ONNX opset (default 18)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    return p.parse_args(argv)


def _load_model(args: argparse.Namespace) -> tuple[Any, tuple]:
    import mbtorch

    if not os.path.isfile(args.checkpoint):
        raise _Usage(f"no checkpoint at {args.checkpoint!r}")
    model, shape = MODELS[args.model]()
    try:
        state = mbtorch.load(args.checkpoint)
        model.load_state_dict(state["model"] if "model" in state else state)
    except (KeyError, TypeError, RuntimeError, ValueError) as e:
        raise _Usage(f"{args.checkpoint!r} is not a checkpoint of the {args.model} model "
                     f"({type(e).__name__}: {e})") from e
    return model.eval(), shape


def _check(program: Any, model: Any, shape: tuple) -> str:
    """onnxruntime against mbtorch on a random batch of 3 (not the export's batch of 2)."""
    import mbtorch

    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return "not checked (onnxruntime is not installed)"
    x = mbtorch.randn(3, *shape)
    with mbtorch.no_grad():
        want = model(x)
    got = program(x)[0]
    err = float((got - want).abs().max() / want.abs().max().clamp(min=1e-30))
    if err > 1e-4:
        raise RuntimeError(f"onnxruntime differs from mbtorch by {err:.3g} (relative)")
    return f"checked under onnxruntime: max relative difference {err:.2g}"


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    try:
        if os.path.exists(args.output) and not args.overwrite:
            raise _Usage(f"{args.output!r} exists: pass --overwrite to replace it")
        import mbtorch
        import mbtorch.onnx

        model, shape = _load_model(args)
        program = mbtorch.onnx.export(model, (mbtorch.zeros(2, *shape),), args.output,
                                      input_names=["images"], output_names=["logits"],
                                      dynamic_axes={"images": {0: "batch"}},
                                      opset_version=args.opset)
        print(f"wrote {args.output} ({os.path.getsize(args.output)} bytes, opset "
              f"{program.model_proto.opset_import[0].version}, input images[batch, "
              f"{', '.join(map(str, shape))}]); {_check(program, model, shape)}")
    except _Usage as e:
        print(f"mbtorch-export: error: {e}", file=sys.stderr)
        return 2
    except ImportError as e:
        print(f"mbtorch-export: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
