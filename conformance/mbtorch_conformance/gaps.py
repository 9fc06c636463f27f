"""The suite's own known gaps: cells where a correct backend may fail because the check's
criterion cannot be met in that dtype (PyTorch fails it the same way), so no backend has to
declare them. A backend's own ``BackendSpec.expectations`` are for its gaps.

A suite gap is scoped to the tiers whose samples show it and is not strict: such a cell that
fails is reported ``xfail`` with the reason, one that passes is a plain pass (a backend that
computes more precisely than PyTorch is not at fault).
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

__all__ = ["Gap", "KNOWN_GAPS", "known_gap"]


@dataclass(frozen=True)
class Gap:
    reason: str
    tiers: tuple[str, ...]


KNOWN_GAPS: dict[str, Gap] = {
    "pow:bfloat16:grad": Gap(
        "the exponent's gradient sums g * a**b * log(a) over the broadcast dims; with terms "
        "near 150 cancelling to about 5.5 (standard tier sample #5, full tier sample #10), "
        "each term rounded to bfloat16 (ulp 1 at 150) moves the sum past the tolerance; "
        "PyTorch's bfloat16 backward gives the same 6.0625 (float64: 5.46). The smoke tier "
        "has no such sample", ("standard", "full")),
    "logsumexp:bfloat16:grad": Gap(
        "the gradient is g * exp(x - logsumexp(x)); on the large-values sample the result "
        "rounds to bfloat16 (ulp 0.5 at 102: 102.145 -> 102), so exp(x - result) at the row's "
        "maximum is 1.0 where float64 gives 0.865; PyTorch's bfloat16 backward gives the same "
        "1.0", ("standard", "full")),
}
"""``entry:dtype:check`` (fnmatch patterns) -> the gap."""


def known_gap(entry: str, dtype: str, check: str, tier: str) -> Gap | None:
    key = f"{entry}:{dtype}:{check}"
    for pattern, gap in KNOWN_GAPS.items():
        if tier in gap.tiers and fnmatch.fnmatchcase(key, pattern):
            return gap
    return None
