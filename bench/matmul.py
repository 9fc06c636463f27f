"""Matrix multiply, float32, square n×n, in GFLOP/s (2n³ flops per product)."""

from __future__ import annotations

import numpy as np

from .targets import Targets, check_close
from .timing import Candidate, Config, Row, describe_error, measure, skipped

FAMILY = "matmul"


def _candidates(targets: Targets, case: str, n: int) -> tuple[list[Candidate], list[Row]]:
    rng = np.random.default_rng(n)
    a, b = (rng.standard_normal((n, n)).astype(np.float32) for _ in range(2))
    want = a.astype(np.float64) @ b.astype(np.float64)
    cands, out = [], []
    for t in targets.items:
        if t.kind == "mbtorch" and not hasattr(t.lib, "matmul"):
            out.append(skipped(FAMILY, case, t.name, "mbtorch.matmul not implemented yet"))
            continue
        ns = {"a": t.array(a), "b": t.array(b)}
        try:  # float32 sums of n products: tolerance grows with sqrt(n)
            check_close(FAMILY, t.name, ns["a"] @ ns["b"], want, 1e-4, 1e-4 * np.sqrt(n))
        except Exception as exc:  # noqa: BLE001 - reported as an error row
            out.append(skipped(FAMILY, case, t.name, describe_error(exc), "error"))
            continue
        cands.append(Candidate(t.name, "a @ b", ns, t.sync))
    return cands, out


def run(targets: Targets, cfg: Config) -> list[Row]:
    rows: list[Row] = []
    for n in (64, 128) if cfg.quick else (256, 1024, 2048):
        case = f"matmul {n}×{n} float32"
        cands, out = _candidates(targets, case, n)

        def gflops(seconds: float, n: int = n) -> dict:
            return {"unit": "GFLOP/s", "value": 2 * n**3 / seconds / 1e9}

        rows += measure(FAMILY, case, cands, cfg, gflops, settle=True) + out
    return rows
