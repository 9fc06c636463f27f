"""Per-op overhead: small ops on 8-element float32, where the math is nothing and the framework
is everything (argument checks, promotion, dispatch, wrapping the result, autograd recording).

The set covers each kind of dispatch: binary arithmetic (``+ - * /``), a comparison, unary
ops (``exp``, ``-``) and a full reduction (``sum``), each plain and with ``requires_grad``
inputs (a comparison records nothing, but still checks). NumPy runs the same statement as the
floor: what the arithmetic itself costs. BLAS threads play no part at this size.
"""

from __future__ import annotations

import numpy as np

from .targets import Targets
from .timing import Candidate, Config, Row, measure, skipped

FAMILY = "overhead"
# (case label, the statement on tensors, the statement on NumPy arrays)
OPS = (
    ("a + b", "a + b", "a + b"),
    ("a - b", "a - b", "a - b"),
    ("a * b", "a * b", "a * b"),
    ("a / b", "a / b", "a / b"),
    ("a < b", "a < b", "a < b"),
    ("a.exp()", "a.exp()", "np.exp(a)"),
    ("-a", "-a", "-a"),
    ("a.sum()", "a.sum()", "a.sum()"),
)


def _pair(t, requires_grad: bool) -> dict:
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal(8).astype(np.float32) for _ in range(2))
    return {"a": t.array(a, requires_grad), "b": t.array(b, requires_grad), "np": np}


def _grad_missing(t) -> str:
    if t.kind == "mbtorch" and not hasattr(t.lib.Tensor, "backward"):
        return "autograd not implemented yet (mbtorch.Tensor.backward missing)"
    return ""


def case_name(label: str, requires_grad: bool) -> str:
    return f"{label}, 8 float32" + (", requires_grad" if requires_grad else "")


def run(targets: Targets, cfg: Config) -> list[Row]:
    rows: list[Row] = []
    for requires_grad in (False, True):
        for label, stmt, np_stmt in OPS:
            case = case_name(label, requires_grad)
            cands, skips = [], []
            for t in targets.items:
                if t.kind == "numpy":  # kept as the floor: what the arithmetic itself costs
                    cands.append(Candidate(t.name, np_stmt, _pair(t, False),
                                           note="no autograd" if requires_grad else ""))
                elif requires_grad and _grad_missing(t):
                    skips.append(skipped(FAMILY, case, t.name, _grad_missing(t)))
                else:
                    cands.append(Candidate(t.name, stmt, _pair(t, requires_grad), t.sync))
            rows += measure(FAMILY, case, cands, cfg) + skips
    return rows
