"""The runner, report and pytest plugin on the real cpu backend (small slices of the DB)."""

from __future__ import annotations

import json
import subprocess
import sys

from mbtorch_conformance.checks.common import Outcome
from mbtorch_conformance.runner import Expectations, _row, cells, run


def test_report_rows_json_and_markdown(tmp_path):
    report = run("cpu", "smoke", ops=["exp", "sum", "roundtrip"])
    checks = {(r.op, r.check) for r in report.rows}
    assert {("exp", "forward"), ("exp", "noncontig"), ("exp", "grad"), ("sum", "errors"),
            ("host<->device", "roundtrip")} <= checks
    exp = next(r for r in report.rows if r.op == "exp" and r.dtype == "float32"
               and r.check == "forward")
    assert exp.status == "pass" and exp.n >= 3 and exp.impl == "native"
    assert 0 < exp.max_ulp <= 4 and exp.max_rel < 1.3e-6  # NumPy float32 exp: not exact
    report.write_json(tmp_path / "r.json")
    report.write_markdown(tmp_path / "r.md")
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["backend"] == "cpu" and len(data["rows"]) == len(report.rows)
    md = (tmp_path / "r.md").read_text()
    assert "| op | Op | impl | bool |" in md and "| exp | EXP | native |" in md


def test_decomposed_ops_are_reported_as_such():
    report = run("cpu", "smoke", ops=["sigmoid"], dtypes=["float32"], checks=["forward"])
    assert report.rows[0].impl == "decomposed"


def test_a_cell_with_zero_samples_is_never_a_pass():
    ctx = next(cells("cpu", "smoke", ops=["exp"])).ctx
    row = _row(ctx, None, "x", None, "forward", Outcome(n=0), Expectations({}), 0.0)
    assert row.status == "fail" and "zero samples" in row.message


def test_cells_are_lazy_and_named():
    found = list(cells("cpu", "smoke", ops=["exp"], dtypes=["float64"]))
    assert [c.id for c in found] == ["cpu-exp-float64-forward", "cpu-exp-float64-noncontig",
                                     "cpu-exp-float64-inplace", "cpu-exp-float64-grad",
                                     "cpu-exp-float64-gradcheck", "cpu-exp-any-errors"]


def test_pytest_plugin_runs_the_cells():
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--pyargs",
           "mbtorch_conformance", "--mbtorch-device", "cpu", "--mbtorch-tier", "smoke",
           "--mbtorch-ops", "exp"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:]
    assert " passed" in done.stdout


def test_smoke_tier_gradchecks_the_window_ops():
    # their first samples are too large for finite differences: the small ones must be chosen
    report = run("cpu", "smoke", ops=["unfold (im2col)", "fold (col2im)", "max_pool2d"],
                 checks=["gradcheck"])
    assert len(report.rows) == 3
    assert all(r.status == "pass" and r.n > 0 for r in report.rows), report.rows


def test_suite_gaps_are_scoped_to_their_tiers():
    from mbtorch_conformance.gaps import known_gap

    assert known_gap("pow", "bfloat16", "grad", "standard") is not None
    assert known_gap("pow", "bfloat16", "grad", "smoke") is None
    smoke = run("cpu", "smoke", ops=["pow"], dtypes=["bfloat16"], checks=["grad"])
    standard = run("cpu", "standard", ops=["pow"], dtypes=["bfloat16"], checks=["grad"])
    assert [r.status for r in smoke.rows] == ["pass"]
    assert [r.status for r in standard.rows] == ["xfail"]
    assert "known gap of the suite" in standard.rows[0].message
