"""Per-op overhead: ``a + b`` on 8-element float32, where the math is nothing and the framework
is everything (argument checks, promotion, dispatch, wrapping the result, autograd recording).
"""

from __future__ import annotations

import numpy as np

from .targets import Targets
from .timing import Candidate, Config, Row, measure, skipped

FAMILY = "overhead"


def _pair(t, requires_grad: bool) -> dict:
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal(8).astype(np.float32) for _ in range(2))
    return {"a": t.array(a, requires_grad), "b": t.array(b, requires_grad)}


def _grad_missing(t) -> str:
    if t.kind == "mbtorch" and not hasattr(t.lib.Tensor, "backward"):
        return "autograd not implemented yet (mbtorch.Tensor.backward missing)"
    return ""


def run(targets: Targets, cfg: Config) -> list[Row]:
    rows: list[Row] = []
    case = "a + b, 8 float32"
    cands = [Candidate(t.name, "a + b", _pair(t, False), t.sync) for t in targets.items]
    rows += measure(FAMILY, case, cands, cfg)

    case = "a + b, 8 float32, requires_grad"
    cands, skips = [], []
    for t in targets.items:
        if t.kind == "numpy":  # kept as the floor: what the addition itself costs
            cands.append(Candidate(t.name, "a + b", _pair(t, False), note="no autograd"))
        elif _grad_missing(t):
            skips.append(skipped(FAMILY, case, t.name, _grad_missing(t)))
        else:
            cands.append(Candidate(t.name, "a + b", _pair(t, True), t.sync))
    return rows + measure(FAMILY, case, cands, cfg) + skips
