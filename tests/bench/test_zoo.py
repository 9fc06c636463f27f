"""``python -m bench --quick --only zoo``: LeNet-5 and vit_tiny forwards beside PyTorch's with
the same weights (checked before timing), compiled without graph breaks, the summary table."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("torch")

from bench import zoo  # noqa: E402 - needs torch
from bench.__main__ import main  # noqa: E402
from bench.zoo_torch_ref import ZOO, reference  # noqa: E402


@pytest.fixture(scope="module")
def quick_zoo(tmp_path_factory):
    out = tmp_path_factory.mktemp("zoo")
    assert main(["--quick", "--only", "zoo", "--out", str(out), "--no-chart"]) == 0
    return json.loads((out / "latest.json").read_text()), (out / "latest.md").read_text()


def test_every_quick_case_ran_and_agreed_with_pytorch(quick_zoo):
    res, _ = quick_zoo
    rows = res["rows"]
    assert {r["family"] for r in rows} == {"zoo"}
    bad = [r for r in rows if r["status"] != "ok"]
    assert not bad, bad  # an output differing from PyTorch's would be an error row
    cases = {r["case"] for r in rows}
    assert cases == {
        "lenet5 (61,706 params) forward, batch 1, 32×32",
        "lenet5 (61,706 params) forward, batch 2, 32×32",
        "lenet5 (61,706 params) forward, batch 1, 32×32, 1 thread",
        "vit_tiny (145,576 params) forward, batch 1, 32×32",
        "vit_tiny (145,576 params) forward, batch 2, 32×32",
        "vit_tiny (145,576 params) forward, batch 1, 32×32, 1 thread"}
    for case in cases:
        impls = {r["impl"]: r for r in rows if r["case"] == case}
        assert set(impls) == {"torch:cpu", "mbtorch:cpu", "mbtorch:cpu compiled"}
        assert impls["mbtorch:cpu"]["vs_torch"] > 0
        assert impls["mbtorch:cpu compiled"]["vs_torch"] > 0
        assert impls["torch:cpu"]["repeats"] == res["config"]["repeats"]


def test_markdown_has_the_summary_table(quick_zoo):
    _, md = quick_zoo
    assert "## zoo\n" in md and "## zoo summary\n" in md
    table = md.split("## zoo summary\n", 1)[1]
    lines = [ln for ln in table.splitlines() if ln.startswith("| lenet5") or
             ln.startswith("| vit_tiny")]
    assert len(lines) == 4
    cells = [c.strip() for c in lines[0].strip("|").split("|")]
    assert cells[:4] == ["lenet5", "61,706", "1", "32×32"]
    assert len(cells) == 14 and all(cells)  # batch 1 has one-thread figures too
    assert all(c.endswith("×") for c in (cells[6], cells[8], cells[11], cells[13]))


def test_summary_marks_error_rows_and_skips_other_families():
    case = zoo.case_name("resnet18", 11_689_512, 8, (3, 224, 224), False)
    rows = [{"family": "zoo", "case": case, "impl": "torch:cpu", "status": "ok",
             "median_s": 0.02, "vs_torch": None},
            {"family": "zoo", "case": case, "impl": "mbtorch:cpu", "status": "ok",
             "median_s": 0.05, "vs_torch": 2.5},
            {"family": "zoo", "case": case, "impl": "mbtorch:cpu compiled", "status": "error",
             "median_s": None, "vs_torch": None},
            {"family": "mlp", "case": "MLP", "impl": "torch:cpu", "status": "ok"}]
    for r in rows:
        r["repeats"] = 5 if r["status"] == "ok" else 0
    rows[0]["repeats"] = 15
    caption, blank, head, sep, line = zoo.summary(rows)
    assert caption.startswith("Median forward times (5–15 repeats after one warm-up block)")
    assert blank == "" and head.startswith("| model | params |") and sep.startswith("|---")
    assert line.split(" | ")[:9] == ["| resnet18", "11,689,512", "8", "224×224", "20 ms",
                                     "50 ms", "2.50×", "error", ""]
    assert zoo.summary(rows[3:]) == []


def test_a_wrong_forward_is_refused_before_timing():
    want = np.array([[1.0, -4.0]])
    zoo._check("x", want * (1 + 1e-6), want)
    with pytest.raises(ValueError, match="x: logits differ from PyTorch's .* max relative"):
        zoo._check("x", want + 1e-3, want)
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        zoo._check("x", want[0], want)


def test_every_zoo_model_is_planned_and_references_are_checked():
    from mbtorch.vision import models

    assert {name for name, _ in zoo.PLAN} == set(ZOO)
    assert all(callable(getattr(models, name)) for name in ZOO)
    with pytest.raises(ValueError, match="reference\\(\\): unknown zoo model 'resnet7'"):
        reference("resnet7")
