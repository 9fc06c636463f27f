"""Elementwise throughput: ``a * b + c`` on float32, in GB/s.

Bytes counted are the logical traffic, 16 per element (three reads and one write); the
temporary ``a * b`` costs every implementation the same extra pass and is not counted.
"""

from __future__ import annotations

import numpy as np

from .targets import Targets, check_close
from .timing import Candidate, Config, Row, describe_error, measure, skipped

FAMILY = "elementwise"


def run(targets: Targets, cfg: Config) -> list[Row]:
    n = 1 << 16 if cfg.quick else 1 << 22
    case = f"a * b + c, {n // 1024}K float32" if n < 1 << 20 else f"a * b + c, {n >> 20}M float32"
    rng = np.random.default_rng(1)
    host = [rng.standard_normal(n).astype(np.float32) for _ in range(3)]
    want = host[0] * host[1] + host[2]
    cands, bad = [], []
    for t in targets.items:
        ns = dict(zip("abc", (t.array(x) for x in host)))
        try:
            check_close(FAMILY, t.name, ns["a"] * ns["b"] + ns["c"], want, 1e-6, 1e-6)
        except Exception as exc:  # noqa: BLE001 - reported as an error row
            bad.append(skipped(FAMILY, case, t.name, describe_error(exc), "error"))
            continue
        cands.append(Candidate(t.name, "a * b + c", ns, t.sync))

    def gbps(seconds: float) -> dict:
        return {"unit": "GB/s", "value": 16 * n / seconds / 1e9}

    return measure(FAMILY, case, cands, cfg, gbps, settle=True) + bad
