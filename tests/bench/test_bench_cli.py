"""``python -m bench --quick`` runs every family and writes valid JSON, Markdown and PNG."""

from __future__ import annotations

import json
import subprocess
import sys
import types
from pathlib import Path

import pytest

import bench
from bench import report, startup
from bench.__main__ import main, parse
from bench.targets import discover
from bench.timing import Config

ROOT = Path(__file__).resolve().parents[2]
FAST = ["overhead", "elementwise", "matmul", "mlp", "cnn", "dataloader"]


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    argv = ["--quick", "--out", str(out), "--no-chart"]
    for f in FAST:
        argv += ["--only", f]
    assert main(argv) == 0
    return out


def test_json_is_complete(quick_run):
    res = json.loads((quick_run / "latest.json").read_text())
    assert res["config"]["quick"] is True
    assert {"cpu", "logical_cores", "numpy", "blas", "env", "mbtorch_backends"} <= \
        res["machine"].keys()
    assert "numpy" in res["targets"] and "mbtorch:cpu" in res["targets"]
    assert {r["family"] for r in res["rows"]} == set(FAST)
    for r in res["rows"]:
        assert r["status"] in ("ok", "skipped", "error"), r
        if r["status"] == "ok":
            assert 0 < r["min_s"] <= r["median_s"] <= r["max_s"]
        else:
            assert r["reason"], r
    ok = {(r["family"], r["impl"]) for r in res["rows"] if r["status"] == "ok"}
    assert ("overhead", "mbtorch:cpu") in ok and ("elementwise", "mbtorch:cpu") in ok
    assert ("mlp", "numpy") in ok
    assert all(a["status"] in ("met", "missed", "not measured") for a in res["aims"])


def test_markdown_has_a_table_per_family(quick_run):
    md = (quick_run / "latest.md").read_text()
    assert "quick run" in md and "## Aims" in md
    for f in FAST:
        assert f"## {f}\n" in md
    assert md.count(report.TABLE_HEAD) == len(FAST)


def test_chart_is_a_png(quick_run, tmp_path):
    pytest.importorskip("matplotlib")
    res = json.loads((quick_run / "latest.json").read_text())
    paths = report.write(res, tmp_path)
    assert (tmp_path / "latest.png") in paths
    assert (tmp_path / "latest.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_startup_family_runs_fresh_processes():
    found = discover(["cpu"])
    found.items = [t for t in found.items if t.kind != "torch"]  # keep it fast
    rows = startup.run(found, Config.make(quick=True))
    impls = {r.impl for r in rows}
    assert {"numpy", "mbtorch", "mbtorch:cpu cold", "mbtorch:cpu warm"} <= impls
    assert all(r.status == "ok" and r.median_s > 0 for r in rows)


def test_dataloader_rows_join_the_table(monkeypatch):
    mod = types.ModuleType("bench.bench_dataloader")
    mod.run = lambda quick=False: [{"case": "loader", "impl": "mbtorch", "median_s": 1.0,
                                    "min_s": 0.5, "max_s": 2.0, "unknown_key": 1}]
    monkeypatch.setitem(sys.modules, "bench.bench_dataloader", mod)
    extra: dict = {}
    (row,) = bench.run_family("dataloader", None, Config.make(quick=True), extra)
    assert row.family == "dataloader" and row.median_s == 1.0 and not extra
    mod.run = lambda: {"anything": 3}
    assert bench.run_family("dataloader", None, Config.make(quick=True), extra) == []
    assert extra == {"dataloader": {"anything": 3}}


def test_dataloader_summary_becomes_rows(monkeypatch):
    mod = types.ModuleType("bench.bench_dataloader")
    mod.run = lambda quick=False: {"batches": 10, "batch_size": 64, "dataset": "synthetic",
                                   "results": [
        {"impl": "mbtorch", "num_workers": 0, "seconds": 2.0, "samples": 640,
         "samples_per_s": 320.0, "first_batch_s": 0.1},
        {"impl": "torch", "num_workers": 0, "seconds": 1.0, "samples": 640,
         "samples_per_s": 640.0, "first_batch_s": 0.1}]}
    monkeypatch.setitem(sys.modules, "bench.bench_dataloader", mod)
    rows = bench.run_family("dataloader", None, Config.make(quick=True), {})
    assert [r.impl for r in rows] == ["mbtorch:cpu", "torch:cpu"]
    assert rows[0].median_s == pytest.approx(0.2) and rows[0].vs_torch == pytest.approx(2.0)
    assert rows[0].metric["unit"] == "samples/s" and rows[1].vs_torch is None


def test_broken_family_is_an_error_row(monkeypatch):
    mod = types.ModuleType("bench.overhead")
    mod.run = lambda targets, cfg: 1 / 0
    monkeypatch.setitem(sys.modules, "bench.overhead", mod)
    (row,) = bench.run_family("overhead", None, Config.make(quick=True), {})
    assert row.status == "error" and "ZeroDivisionError" in row.reason


def test_aims_are_judged_from_ratios():
    rows = [{"family": "mlp", "case": "MLP 784-256-128-10 step, batch 128",
             "impl": "mbtorch:cpu", "status": "ok", "vs_numpy": 1.1, "vs_torch": 2.0,
             "reason": ""}]
    by_aim = {a["aim"]: a for a in report.aims(rows, {"mbtorch:cpu"})}
    assert by_aim["MLP step vs hand-written NumPy floor"]["status"] == "met"
    assert by_aim["MLP step vs PyTorch CPU"]["status"] == "missed"
    assert by_aim["CNN step vs PyTorch CPU"]["status"] == "not measured"
    assert not any("opencl" in a for a in by_aim)


def test_cnn_aims_keep_default_and_one_thread_rows_apart():
    rows = [{"family": "cnn", "case": f"CNN step 28×28, batch 64{suffix}",
             "impl": "mbtorch:cpu compiled", "status": "ok", "vs_numpy": None,
             "vs_torch": ratio, "reason": ""}
            for suffix, ratio in ((", 1 thread", 0.9), ("", 1.4))]
    by_aim = {a["aim"]: a for a in report.aims(rows, {"mbtorch:cpu"})}
    assert by_aim["compiled CNN step vs PyTorch eager"]["ratio"] == 1.4
    assert by_aim["compiled CNN step vs PyTorch eager, one BLAS thread"]["ratio"] == 0.9


def test_cli_rejects_unknown_family():
    with pytest.raises(SystemExit):
        parse(["--only", "nonsense"])


def test_module_entry_point_help():
    proc = subprocess.run([sys.executable, "-m", "bench", "--help"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "--quick" in proc.stdout
