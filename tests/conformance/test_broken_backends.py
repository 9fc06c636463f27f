"""The suite tests itself: deliberately broken copies of the cpu backend must fail, and the
failure must name the broken op (and, where it matters, the right check)."""

from __future__ import annotations

import numpy as np
import pytest
from mbtorch_conformance.cli import main
from mbtorch_conformance.derive import derive_backend, forget_backend
from mbtorch_conformance.runner import run

from mbtorch.core.op import Op


def _off_by_relative_error(x):
    return np.exp(x) * (1 + 1e-5)  # invisible when printed, 8 float32 ULPs off


def _memory_order(x):
    """abs() that walks the input in memory order: right for contiguous input only."""
    if x.flags.c_contiguous or x.ndim == 0:
        return np.abs(x, out=...)
    offsets = sum(np.indices(x.shape)[d] * x.strides[d] for d in range(x.ndim))
    order = np.argsort(offsets.reshape(-1), kind="stable")
    return np.abs(x.reshape(-1)[order].reshape(x.shape))


def _float64_product(a, b):
    return np.multiply(np.asarray(a, np.float64), np.asarray(b, np.float64))


def _drops_nan(a, b):
    return np.fmax(a, b, out=...)


def _sub_wrong_for_scalar_first(a, b):
    # right for `x - y` and `x - 2.0`, wrong for `1.0 - x` -- which only backward formulas
    # (tanh' = 1 - y^2, sigmoid' = y (1 - y)) use, so only the gradient checks can see it
    if isinstance(a, float):
        return np.subtract(b, a, out=...)
    return np.subtract(a, b, out=...)


def _sum_ignoring_keepdim(x, dims, keepdim):
    return np.asarray(np.sum(x, axis=dims))


# (device type, broken kernels, ops to run, (op, check) that must fail, (op, check) that must pass)
BROKEN = [
    ("broken_rel", {Op.EXP: _off_by_relative_error}, ["exp"], ("exp", "forward"), None),
    ("broken_strides", {Op.ABS: _memory_order}, ["abs"], ("abs", "noncontig"),
     ("abs", "forward")),
    ("broken_dtype", {Op.MUL: _float64_product}, ["mul"], ("mul", "forward"), None),
    ("broken_nan", {Op.MAXIMUM: _drops_nan}, ["maximum"], ("maximum", "forward"), None),
    ("broken_grad", {Op.SUB: _sub_wrong_for_scalar_first}, ["tanh", "sigmoid", "sub"],
     ("tanh", "grad"), ("tanh", "forward")),
    ("broken_keepdim", {Op.SUM: _sum_ignoring_keepdim}, ["sum"], ("sum", "forward"), None),
]


@pytest.fixture(params=BROKEN, ids=[b[0] for b in BROKEN])
def broken(request):
    name, kernels, ops, must_fail, must_pass = request.param
    derive_backend("cpu", name, kernels=kernels)
    yield name, ops, must_fail, must_pass
    forget_backend(name)


def test_the_suite_catches_each_broken_backend(broken):
    name, ops, (op, check), must_pass = broken
    report = run(name, "smoke", ops=ops)
    failing = {(r.op, r.check) for r in report.failures}
    assert (op, check) in failing, f"{name}: {op} {check} was not caught; failures: {failing}"
    for r in report.failures:
        assert r.backend == name and r.op in ops and r.message
    if must_pass:
        assert must_pass not in failing, f"{name}: {must_pass} should pass, it is not broken"


def test_failures_carry_an_mbtorch_only_reproduction():
    derive_backend("cpu", "broken_repro", kernels={Op.MAXIMUM: _drops_nan})
    try:
        report = run("broken_repro", "smoke", ops=["maximum"], checks=["forward"])
    finally:
        forget_backend("broken_repro")
    fail = report.failures[0]
    assert "mbtorch.maximum(x0, x1)" in fail.repro and "import numpy" not in fail.repro
    assert "nan" in fail.repro and "seed" in fail.repro


def test_the_reproduction_reproduces():
    """Executing the printed reproduction on the broken device gives the observed values."""
    derive_backend("cpu", "broken_exec", kernels={Op.MAXIMUM: _drops_nan})
    try:
        fail = run("broken_exec", "smoke", ops=["maximum"], checks=["forward"]).failures[0]
        scope: dict = {}
        exec(fail.repro.replace("print(out)", ""), scope)  # noqa: S102 - our own output
        x0, x1, out = (scope[k].cpu().numpy() for k in ("x0", "x1", "out"))
        want = np.isnan(np.maximum(x0, x1))
        assert np.isnan(out).sum() < want.sum()  # NaN dropped, as reported
    finally:
        forget_backend("broken_exec")


def test_cli_exit_status(capsys):
    derive_backend("cpu", "broken_cli", kernels={Op.MAXIMUM: _drops_nan})
    try:
        assert main(["--device", "broken_cli", "--tier", "smoke", "--ops", "maximum"]) == 1
        assert "FAIL broken_cli maximum" in capsys.readouterr().out
        assert main(["--device", "broken_cli", "--tier", "smoke", "--ops", "exp"]) == 0
    finally:
        forget_backend("broken_cli")


def test_expectations_turn_failures_into_xfails_and_report_stale_ones():
    derive_backend("cpu", "broken_known", kernels={Op.MAXIMUM: _drops_nan}, expectations={
        "xfail": {"maximum:*:forward": "fmax drops NaN", "exp:float32:forward": "stale"}})
    try:
        report = run("broken_known", "smoke", ops=["maximum", "exp"], checks=["forward"])
    finally:
        forget_backend("broken_known")
    status = {(r.op, r.dtype): r.status for r in report.rows}
    assert status[("maximum", "float32")] == "xfail"
    assert status[("exp", "float32")] == "xpass"  # declared, but passes: reported
    assert not report.ok


def test_works_but_undeclared_and_declared_but_fails():
    import mbtorch as mt

    derive_backend("cpu", "broken_decl", dtypes=frozenset(
        d for d in mt.core.dtypes.ALL_DTYPES if d is not mt.int16))
    try:
        report = run("broken_decl", "smoke", ops=["add"], checks=["undeclared", "forward"])
    finally:
        forget_backend("broken_decl")
    row = next(r for r in report.rows if r.dtype == "int16")
    assert row.check == "undeclared" and row.status == "fail" and "works" in row.message
