"""Model zoo forward time: every ``mbtorch.vision.models`` architecture in eval mode under
``no_grad`` on ``cpu``, beside PyTorch running the same architecture with the same weights.

The PyTorch references (torchvision's parameter names) are ``bench/zoo_torch_ref.py``'s; the
mbtorch model gets the reference's state dict (``same_weights``), and before anything is timed
both outputs must agree (relative to the largest logit), so a wrong forward is an error row.
Candidates per case: ``torch:cpu``, ``mbtorch:cpu`` and ``mbtorch:cpu compiled``
(``mbtorch.compile(model, fullgraph=True)``: a graph break is an error row, not a slow
number; what is timed is the replay). Every batch-1 case runs again with one BLAS/OpenMP
thread (``threadpoolctl``, ``torch.set_num_threads``), as the MLP family does.

Sizes: 224×224 images (LeNet-5 32×32, ``vit_tiny`` its own 32×32, ``fashion_cnn`` 28×28),
batch 1 and 8 for the small models, batch 1 only for ResNet-50, the VGGs and ViT-B/16; one
warm-up block, and at most ``MAX_REPEATS`` repeats where mbtorch's forward takes over
``SLOW_S`` (a ViT-B/16 forward takes about a second). ``--quick`` runs LeNet-5 and
``vit_tiny`` at batch 1 and 2 only. ``summary(rows)`` pivots the rows into the table the
README quotes (one line per model and batch).
"""

from __future__ import annotations

import dataclasses
import re
import time
from typing import Any

import numpy as np

from .report import fmt_time
from .targets import Target, Targets, one_thread, to_numpy
from .timing import Candidate, Config, Row, describe_error, measure, skipped
from .zoo_torch_ref import ZOO, reference, same_weights

__all__ = ["FAMILY", "MAX_REPEATS", "PLAN", "QUICK_PLAN", "SLOW_S", "run", "summary"]

FAMILY = "zoo"
MAX_REPEATS = 5  # for a model whose mbtorch forward takes over SLOW_S seconds
SLOW_S = 0.1
RTOL = 1e-4  # float32 through up to 50 layers, relative to the largest |logit|
# (model, batches); the image size is the zoo entry's
PLAN = [("lenet5", (1, 8)), ("vit_tiny", (1, 8)), ("mobilenet_v2", (1, 8)),
        ("resnet18", (1, 8)), ("resnet50", (1,)), ("vgg11", (1,)), ("vgg11_bn", (1,)),
        ("vit_b_16", (1,))]
if "fashion_cnn" in ZOO:
    PLAN.insert(1, ("fashion_cnn", (1, 8)))
QUICK_PLAN = [("lenet5", (1, 2)), ("vit_tiny", (1, 2))]
CASE = re.compile(r"(?P<model>\w+) \((?P<params>[\d,]+) params\) forward, batch (?P<batch>\d+), "
                  r"(?P<size>\d+×\d+)(?P<one>, 1 thread)?")


def case_name(model: str, params: int, batch: int, image: tuple, one_thread: bool) -> str:
    return (f"{model} ({params:,} params) forward, batch {batch}, {image[1]}×{image[2]}"
            + (", 1 thread" if one_thread else ""))


def _forward(lib: Any, model: Any, x: Any):
    def forward() -> Any:
        with lib.no_grad():
            return model(x)

    return forward


def _check(impl: str, got: Any, want: np.ndarray) -> None:
    g = to_numpy(got)
    scale = max(float(np.abs(want).max()), 1e-30)
    err = float(np.abs(g.astype(np.float64) - want).max()) / scale if g.shape == want.shape \
        else float("inf")
    if not err <= RTOL:
        raise ValueError(f"{impl}: logits differ from PyTorch's (shape {g.shape}, max relative "
                         f"error {err:.3g} > {RTOL:g})")


def _compiled(t: Target, model: Any, x: Any, want: np.ndarray) -> Candidate:
    """The model's call through ``mbtorch.compile(fullgraph=True)``: traced once, checked,
    replayed."""
    fn = t.lib.compile(lambda inp: model(inp), fullgraph=True)
    forward = _forward(t.lib, fn, x)
    _check(f"{t.name} compiled", forward(), want)
    forward()
    if fn.stats["replays"] < 1:
        raise RuntimeError(f"the forward did not replay: {fn.stats}")
    return Candidate(f"{t.name} compiled", forward, sync=t.sync,
                     note="mbtorch.compile(fullgraph=True) replay")


def _pair(name: str) -> tuple[Any, Any, int]:
    """The reference and the mbtorch model with its weights, and the parameter count."""
    from mbtorch.vision import models

    theirs = reference(name)
    ours = same_weights(theirs, getattr(models, name)(**ZOO[name].kwargs))
    return theirs, ours, sum(p.numel() for p in ours.parameters())


def _case(name: str, pair: tuple, b: int, targets: Targets, cfg: Config,
          one_thread: bool) -> list[Row]:
    """One model at batch ``b``: PyTorch, mbtorch eager and compiled, interleaved."""
    import mbtorch

    theirs, ours, params = pair
    image = ZOO[name].image
    case = case_name(name, params, b, image, one_thread)
    torch_t, mb_t = targets.get("torch:cpu"), targets.get("mbtorch:cpu")
    x = np.random.default_rng(b).standard_normal((b, *image)).astype(np.float32)
    want = _forward(torch_t.lib, theirs, torch_t.array(x))().numpy().astype(np.float64)
    cands = [Candidate("torch:cpu", _forward(torch_t.lib, theirs, torch_t.array(x)))]
    rows: list[Row] = []
    try:
        eager = Candidate(mb_t.name, _forward(mbtorch, ours, mb_t.array(x)))
        start = time.perf_counter()
        _check(eager.impl, eager.stmt(), want)
        if time.perf_counter() - start > SLOW_S:  # few repeats of a forward this long
            cfg = dataclasses.replace(cfg, repeats=min(cfg.repeats, MAX_REPEATS))
        cands.append(eager)
    except Exception as exc:  # noqa: BLE001 - reported as an error row
        rows.append(skipped(FAMILY, case, mb_t.name, describe_error(exc), "error"))
    try:
        cands.append(_compiled(mb_t, ours, mb_t.array(x), want))
    except Exception as exc:  # noqa: BLE001 - reported as an error row
        rows.append(skipped(FAMILY, case, f"{mb_t.name} compiled", describe_error(exc),
                            "error"))
    return measure(FAMILY, case, cands, cfg, settle=True) + rows


def run(targets: Targets, cfg: Config) -> list[Row]:
    if targets.get("torch:cpu") is None or targets.get("mbtorch:cpu") is None:
        return [skipped(FAMILY, "zoo", "-", "needs PyTorch and the mbtorch cpu device")]
    cfg = dataclasses.replace(cfg, warmup=min(cfg.warmup, 1))
    rows: list[Row] = []
    for name, batches in (QUICK_PLAN if cfg.quick else PLAN):
        try:
            pair = _pair(name)  # built once: a VGG pair holds 1 GB
            rows += [r for b in batches for r in _case(name, pair, b, targets, cfg, False)]
            with one_thread(targets) as note:
                rows += [skipped(FAMILY, f"{name}, 1 thread", "-", note)] if note else \
                    _case(name, pair, 1, targets, cfg, True)
        except Exception as exc:  # noqa: BLE001 - one model's failure is one row
            rows.append(skipped(FAMILY, name, "-", describe_error(exc), "error"))
        pair = None
    return rows


def summary(rows: list[dict]) -> list[str]:
    """One Markdown line per model and batch: params, PyTorch, mbtorch and compiled times
    and ratios, with the one-thread figures beside them."""
    table: dict[tuple, dict] = {}
    for r in rows:
        m = CASE.fullmatch(r["case"]) if r["family"] == FAMILY else None
        if m is None:
            continue
        key = (m["model"], int(m["batch"]))
        cell = table.setdefault(key, {"params": m["params"], "size": m["size"]})
        cell[(r["impl"], bool(m["one"]))] = r
    head = ["| model | params | batch | image | PyTorch | mbtorch | ÷ PyTorch | compiled | "
            "÷ PyTorch | 1 thread: PyTorch | mbtorch | ÷ PyTorch | compiled | ÷ PyTorch |",
            "|---" * 14 + "|"]
    lines = []
    repeats = sorted({r["repeats"] for c in table.values() for k, r in c.items()
                      if isinstance(k, tuple) and r["status"] == "ok"})
    caption = (f"Median forward times ({repeats[0]}–{repeats[-1]} repeats after one warm-up "
               "block); `÷ PyTorch` per interleaved round, as above." if repeats else "")
    for (model, batch), cell in table.items():
        out = [model, cell["params"], str(batch), cell["size"]]
        for one in (False, True):
            for impl in ("torch:cpu", "mbtorch:cpu", "mbtorch:cpu compiled"):
                out += _cells(cell.get((impl, one)), impl != "torch:cpu")
        lines.append("| " + " | ".join(out) + " |")
    return [caption, ""] + head + lines if lines else []


def _cells(row: dict | None, ratio: bool) -> list[str]:
    """The median time (and the ratio to PyTorch) of one row; an error says so."""
    if row is None:
        return [""] * (1 + ratio)
    if row["status"] != "ok":
        return [row["status"]] + [""] * ratio
    r = row["vs_torch"]
    return [fmt_time(row["median_s"])] + ([f"{r:.2f}×" if r is not None else ""] * ratio)
