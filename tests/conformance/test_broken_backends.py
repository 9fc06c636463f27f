"""The suite's own behaviour on broken backends: reproductions, the CLI's exit status,
expectations (xfail/xpass) and declared dtypes. That each mutant is caught at all is
``test_mutants.py``'s."""

from __future__ import annotations

import numpy as np
from mbtorch_conformance.cli import main
from mbtorch_conformance.derive import derive_backend, forget_backend
from mbtorch_conformance.runner import run

from mbtorch.core.op import Op
from tests.conformance.mutants_basic import _drops_nan  # noqa: E402


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
