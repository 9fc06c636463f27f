"""The kernel calling convention is one table per kind (``mbtorch.core.op``: ``PRIMITIVES``
and ``COMPOSITE_KERNELS``): every composite is listed with its decomposition's arguments, the
cpu backend's native kernels take that many, and the plugin template's README shows the table
(``python -m tests.core.test_kernel_signatures`` prints it)."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from mbtorch.core import plugins
from mbtorch.core.backend import _arity_ok
from mbtorch.core.op import COMPOSITE_KERNELS, OPS, PRIMITIVES, KernelSig, Op

__all__: list = []

README = Path(__file__).resolve().parents[2] / "examples" / "mbtorch_mini" / "README.md"
COMPOSITES = [op for op in Op if op not in PRIMITIVES]


def _names(sig: KernelSig) -> list[str]:
    return [p.strip() for p in sig.params.split(",")]


def row(op: Op, sig: KernelSig) -> str:
    return f"| `{op.name}` | `({sig.params})` | {sig.returns} | {sig.notes} |"


def table(sigs: dict) -> str:
    head = ["| op | kernel arguments | returns | notes |", "| --- | --- | --- | --- |"]
    return "\n".join(head + [row(op, sig) for op, sig in sigs.items()])


def test_every_composite_is_listed_once():
    assert set(COMPOSITE_KERNELS) == set(COMPOSITES)
    assert not set(COMPOSITE_KERNELS) & set(PRIMITIVES)


@pytest.mark.parametrize("op", COMPOSITES, ids=[op.name for op in COMPOSITES])
def test_arguments_are_the_decompositions(op):
    params = list(inspect.signature(OPS[op].decomposition).parameters.values())
    names = _names(COMPOSITE_KERNELS[op])
    if params[0].kind is inspect.Parameter.VAR_POSITIONAL:  # CAT: the tensors, then dim
        assert names[0].startswith("*"), op.name
        return
    assert names == [p.name for p in params], op.name


def test_cpu_native_composites_take_those_arguments():
    kernels = plugins.get_backend("cpu").spec.kernels
    native = [op for op in COMPOSITES if op in kernels]
    assert len(native) > 40  # the cpu backend runs most composites natively
    for op in native:
        n = len(_names(COMPOSITE_KERNELS[op]))
        assert _arity_ok(kernels[op], n), f"{op.name}: the cpu kernel does not take {n} args"


def test_arity_check_sees_a_wrong_kernel():
    assert not _arity_ok(lambda x, dims: x, len(_names(COMPOSITE_KERNELS[Op.MEAN])))


def test_template_readme_shows_both_tables():
    text = README.read_text()
    for sigs in (PRIMITIVES, COMPOSITE_KERNELS):
        for op, sig in sigs.items():
            assert row(op, sig) in text, op.name


if __name__ == "__main__":
    print(table(COMPOSITE_KERNELS))
