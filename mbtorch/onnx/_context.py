"""What a translation function sees of one graph node: its inputs as ONNX names (Python
scalars become constants of the node's operand dtype), its attrs, its outputs' types, and the
builder. Translation functions live in ``_ops_math`` and ``_ops_shape``, registered with
``@translates(Op.X)`` in ``TRANSLATIONS``."""

from __future__ import annotations

__all__ = ["Ctx", "TRANSLATIONS", "translates"]

from typing import Any, Callable

from ..core.op import Op
from ..graph.ir import Node, SymExpr, Value
from ._builder import Builder, UnsupportedOperatorError, onnx_dtype

TRANSLATIONS: dict[Op, Callable[[Ctx], Any]] = {}


def translates(*ops: Op) -> Callable:
    def register(fn: Callable) -> Callable:
        for op in ops:
            TRANSLATIONS[op] = fn
        return fn
    return register


class Ctx:
    """One op node being translated (see the module docstring)."""

    def __init__(self, b: Builder, node: Node, where: str) -> None:
        self.b, self.node, self.where = b, node, where
        self.op = node.op
        # the op's arguments in its kernel signature's order (``core.op``'s KernelSig):
        # tensors and scalars first, then the rest, as the kernel is called
        self.args = (*node.inputs, *node.attrs)
        self.outputs = node.outputs

    @property
    def out_dtype(self) -> Any:
        return self.outputs[0].dtype

    @property
    def out_type(self) -> int:
        return onnx_dtype(self.out_dtype, f"the output of {self.where}")

    def operand_dtype(self) -> Any:
        """The dtype scalar operands take: the output's for ``where`` (its condition is
        bool), else that of the first tensor input (a comparison's output is bool)."""
        if self.op is Op.WHERE:
            return self.out_dtype
        for x in self.args:
            if isinstance(x, Value):
                return x.dtype
        return self.out_dtype

    def arg(self, i: int) -> Any:
        return self.args[i]

    def input(self, i: int, dtype: Any = None) -> str:
        """Argument ``i`` as an ONNX name; a scalar becomes a constant of ``dtype`` (default:
        the operand dtype); ``None`` an omitted optional input."""
        x = self.args[i]
        if isinstance(x, Value):
            return self.b.name_of(x)
        if x is None:
            return ""
        return self.b.scalar(x, dtype if dtype is not None else self.operand_dtype())

    def inputs(self, n: int | None = None) -> list[str]:
        """The first ``n`` arguments (default: the node's tensor and scalar inputs)."""
        return [self.input(i) for i in range(len(self.node.inputs) if n is None else n)]

    def value(self, i: int) -> Value:
        x = self.args[i]
        if not isinstance(x, Value):
            self.unsupported(f"input {i} must be a tensor, got {type(x).__name__}")
        return x

    def rank(self, i: int = 0) -> int:
        return len(self.value(i).shape)

    def shape(self, i: int = 0) -> tuple:
        return self.value(i).shape

    def unsupported(self, why: str) -> None:
        raise UnsupportedOperatorError(f"onnx.export(): {self.where}: {why}")

    def static(self, x: Any, what: str) -> Any:
        """``x`` where the ONNX attribute needs a constant: a ``SymExpr`` is refused."""
        if isinstance(x, SymExpr) or (isinstance(x, (tuple, list))
                                      and any(isinstance(a, SymExpr) for a in x)):
            self.unsupported(f"{what} depends on a dynamic dimension ({x}), which this ONNX "
                             "translation needs constant")
        return x
