"""``ReduceOp``: how a reduction collective combines the ranks' values (PyTorch's names)."""

from __future__ import annotations

import enum

__all__ = ["RedOpType", "ReduceOp"]


class RedOpType(enum.Enum):
    SUM = 0
    AVG = 1
    PRODUCT = 2
    MIN = 3
    MAX = 4
    BAND = 5
    BOR = 6
    BXOR = 7


class ReduceOp:
    """``ReduceOp.SUM``, ``AVG`` (the mean over ranks; floating-point and complex tensors),
    ``PRODUCT``, ``MIN``, ``MAX`` and the bitwise ``BAND``, ``BOR``, ``BXOR`` (integer and
    bool tensors)."""

    RedOpType = RedOpType
    SUM = RedOpType.SUM
    AVG = RedOpType.AVG
    PRODUCT = RedOpType.PRODUCT
    MIN = RedOpType.MIN
    MAX = RedOpType.MAX
    BAND = RedOpType.BAND
    BOR = RedOpType.BOR
    BXOR = RedOpType.BXOR
