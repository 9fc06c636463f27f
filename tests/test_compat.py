"""``python -m mbtorch.compat``: the API-coverage report against PyTorch, the README block and
the ``--check`` against the committed baseline (tests/api_coverage.json)."""

from __future__ import annotations

import json
import subprocess
import sys
import types
from pathlib import Path

import pytest

from mbtorch import compat
from mbtorch.compat import END, NAMESPACES, START, Namespace

REPO = Path(__file__).resolve().parents[1]
BASELINE = REPO / "tests" / "api_coverage.json"
ISSUE_FLOORS = {"torch": 80, "Tensor": 90, "torch.nn": 95, "nn.functional": 95,
                "torch.optim": 100, "optim.lr_scheduler": 100, "torch.distributions": 60}


@pytest.fixture(scope="module")
def report():
    pytest.importorskip("torch")
    return compat.coverage()


@pytest.fixture
def probe(monkeypatch):
    """A fake mbtorch namespace holding exactly the names it is given."""
    def make(*names: str) -> str:
        module = types.ModuleType("mbtorch._compat_probe")
        for name in names:
            setattr(module, name, object())
        monkeypatch.setitem(sys.modules, module.__name__, module)
        return module.__name__
    return make


def test_every_namespace_of_the_issue_is_a_row_with_its_floor(report):
    rows = report["namespaces"]
    assert list(rows) == [ns.label for ns in NAMESPACES]
    assert set(rows) >= {"torch", "Tensor", "torch.nn", "nn.functional", "nn.init", "nn.utils",
                         "torch.optim", "optim.lr_scheduler", "torch.autograd",
                         "torch.utils.data", "torch.linalg", "torch.fft", "torch.special",
                         "torch.distributions", "torch.amp", "torch.backends"}
    assert {k: r["floor"] for k, r in rows.items() if r["floor"] is not None} == ISSUE_FLOORS
    import torch

    assert report["torch_version"] == torch.__version__


def test_rows_add_up(report):
    for label, row in report["namespaces"].items():
        counted = row["present"] + row["missing"]
        assert len(counted) == len(set(counted)) == row["total"], label
        assert row["present_count"] == len(row["present"]), label
        assert not set(counted) & set(row["excluded"]), label
        assert all(why.strip() for why in row["excluded"].values()), label
        assert row["percent"] == round(100 * len(row["present"]) / max(row["total"], 1), 1)
        if row["floor"] is not None:
            assert row["floor_met"] == (row["present_count"] * 100 >= row["floor"] * row["total"])


def test_known_present_names_are_found(report):
    rows = report["namespaces"]
    assert {"add", "tensor", "zeros", "Tensor", "float16", "no_grad", "manual_seed"} <= set(
        rows["torch"]["present"])
    assert {"add_", "backward", "shape", "view", "cuda"} <= set(rows["Tensor"]["present"])
    assert {"Linear", "Module", "Sequential"} <= set(rows["torch.nn"]["present"])
    assert {"SGD", "Adam", "Optimizer"} <= set(rows["torch.optim"]["present"])
    assert {"DataLoader", "Dataset"} <= set(rows["torch.utils.data"]["present"])


def test_what_counts_and_what_is_excluded(report):
    rows = report["namespaces"]
    top = rows["torch"]
    counted = set(top["present"] + top["missing"])
    assert {"Tensor", "bitwise_and", "index_copy", "pi", "float16", "FloatTensor"} <= counted
    for name, word in [("cudnn_convolution", "CUDA"), ("quantize_per_tensor", "quantization"),
                       ("qint8", "quantization"), ("ScriptModule", "TorchScript"),
                       ("TensorType", "TorchScript"), ("nn", "submodule"),
                       ("os", "standard library"), ("has_mkl", "built"),
                       ("view_copy", "functionalization"), ("eig", "removed"),
                       ("float8_e4m3fn", "float"), ("uint3", "placeholder")]:
        assert word in top["excluded"][name], (name, top["excluded"][name])
    tensor = rows["Tensor"]
    assert "cuda" in tensor["present"] + tensor["missing"]
    assert "quantization" in tensor["excluded"]["q_scale"]
    nn = rows["torch.nn"]
    assert "lazy" in nn["excluded"]["LazyLinear"]
    # the nn row counts module classes only
    assert "Parameter" not in nn["present"] + nn["missing"] + list(nn["excluded"])
    assert "not PyTorch's own" in rows["nn.functional"]["excluded"]["math"]
    assert "torch.Tensor" in rows["torch.fft"]["excluded"]["Tensor"]
    assert "file module" in rows["torch.distributions"]["excluded"]["normal"]


def test_known_missing_names_and_an_absent_namespace(probe):
    pytest.importorskip("torch")
    fft = compat.coverage([Namespace("fft", "torch.fft", probe("fft", "ifft"), floor=5)])
    row = fft["namespaces"]["fft"]
    assert row["present"] == ["fft", "ifft"]
    assert {"rfft", "irfft", "fftn", "fftfreq"} <= set(row["missing"])
    assert row["floor_met"] is True and row["mbtorch_has_namespace"] is True
    absent = compat.coverage([Namespace("fft", "torch.fft", "mbtorch._no_such_namespace",
                                        floor=50)])["namespaces"]["fft"]
    assert absent["present"] == [] and absent["present_count"] == 0
    assert absent["mbtorch_has_namespace"] is False and absent["floor_met"] is False
    assert len(absent["missing"]) == absent["total"] == row["total"]


def test_a_namespace_that_fails_inside_is_an_error_not_zero_coverage(tmp_path, monkeypatch):
    pytest.importorskip("torch")
    (tmp_path / "c15probe").mkdir()
    (tmp_path / "c15probe" / "__init__.py").write_text("")
    (tmp_path / "c15probe" / "broken.py").write_text("import c15_no_such_dependency\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModuleNotFoundError, match="c15_no_such_dependency"):
        compat.coverage([Namespace("fft", "torch.fft", "c15probe.broken")])
    row = compat.coverage([Namespace("fft", "torch.fft", "c15probe.absent")])["namespaces"]
    assert row["fft"]["mbtorch_has_namespace"] is False


def test_a_namespace_the_installed_torch_lacks_is_an_error():
    pytest.importorskip("torch")
    with pytest.raises(RuntimeError, match="has no torch.c15_no_such_namespace"):
        compat.coverage([Namespace("x", "torch.c15_no_such_namespace", "mbtorch")])


def test_without_torch_the_report_says_so(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(RuntimeError, match="PyTorch is not installed"):
        compat.coverage()


def test_markdown_table(report):
    table = compat.markdown_table(report)
    lines = table.splitlines()
    assert lines[0] == "| namespace | present | total | % | floor |"
    rows = {line.split("|")[1].strip(" `"): line for line in lines[2:] if line.startswith("| `")}
    assert list(rows) == [ns.label for ns in NAMESPACES]
    for label, row in report["namespaces"].items():
        cells = [c.strip() for c in rows[label].split("|")[1:-1]]
        assert cells[1:4] == [str(row["present_count"]), str(row["total"]),
                              f"{row['percent']:.1f}"]
        if row["floor"] is None:
            assert cells[4] == "—"
        else:
            assert cells[4].endswith("met" if row["floor_met"] else "**missed**")
    assert report["torch_version"] in table and "--details" in table


def test_details_name_missing_and_excluded(report, monkeypatch, capsys):
    monkeypatch.setattr(compat, "coverage", lambda: report)
    assert compat.main(["--details"]) == 0
    out = capsys.readouterr().out
    assert "excluded: cudnn_convolution (CUDA-specific" in out
    assert "## torch.nn (" in out and "missing: " in out


def _raw(path: Path) -> str:
    with open(path, encoding="utf-8", newline="") as f:
        return f.read()


def test_readme_block_is_replaced_and_nothing_else(tmp_path, report, monkeypatch):
    before = "# Title\r\nintro\n\n" + START + "\nold table\nmore old\n" + END + "\ntail ✓\n"
    readme = tmp_path / "README.md"
    readme.write_bytes(before.encode())
    readme.chmod(0o640)
    monkeypatch.setattr(compat, "coverage", lambda: report)
    assert compat.main(["--readme", str(readme)]) == 0
    after = _raw(readme)
    head, rest = after.split(START + "\n")
    block, tail = rest.split(END + "\n")
    assert head == "# Title\r\nintro\n\n" and tail == "tail ✓\n"
    assert block == compat.markdown_table(report) + "\n"
    assert compat.main(["--readme", str(readme)]) == 0  # idempotent
    assert _raw(readme) == after
    assert [p.name for p in tmp_path.iterdir()] == ["README.md"]  # no temporary left behind
    assert readme.stat().st_mode & 0o777 == 0o640


@pytest.mark.parametrize("text", ["# no markers\n", f"{START}\n", f"{END}\nx\n{START}\n",
                                  f"{START}\n{END}\n{START}\n{END}\n"])
def test_readme_without_one_pair_of_markers_is_refused(tmp_path, text, capsys):
    readme = tmp_path / "README.md"
    readme.write_text(text)
    with pytest.raises(ValueError, match="api-coverage:start"):
        compat.replace_block(readme, "table")
    assert readme.read_text() == text


def test_readme_cli_reports_missing_markers(tmp_path, report, monkeypatch, capsys):
    readme = tmp_path / "README.md"
    readme.write_text("# no markers\n")
    monkeypatch.setattr(compat, "coverage", lambda: report)
    assert compat.main(["--readme", str(readme)]) == 2
    assert "needs exactly one line" in capsys.readouterr().err
    assert readme.read_text() == "# no markers\n"


def test_json_written_by_the_cli_is_the_report(tmp_path, report, monkeypatch):
    monkeypatch.setattr(compat, "coverage", lambda: report)
    out = tmp_path / "cov.json"
    assert compat.main(["--json", str(out)]) == 0
    assert json.loads(out.read_text()) == json.loads(json.dumps(report))
    assert out.stat().st_mode & 0o777 == 0o644


def _baseline(tmp_path: Path, rows: dict) -> str:
    path = tmp_path / "baseline.json"
    path.write_text(json.dumps({"torch_version": "x", "namespaces": rows}))
    return str(path)


def test_check_fails_naming_every_name_that_is_gone(tmp_path, capsys):
    path = _baseline(tmp_path, {
        "torch": {"mbtorch": "mbtorch", "present": ["add", "c15_gone_fn", "c15_gone_too"],
                  "missing": []},
        "torch.fft": {"mbtorch": "mbtorch._no_such_namespace", "present": ["fft"],
                      "missing": []}})
    assert compat.main(["--check", "--baseline", path]) == 1
    out = capsys.readouterr()
    assert "gone: torch: c15_gone_fn" in out.out and "gone: torch: c15_gone_too" in out.out
    assert "gone: torch.fft: fft" in out.out and "gone: torch: add" not in out.out
    assert "3 names" in out.err


def test_check_passes_and_points_at_new_names(tmp_path, capsys):
    path = _baseline(tmp_path, {"torch": {"mbtorch": "mbtorch", "present": ["zeros"],
                                          "missing": ["add", "c15_still_missing"]}})
    assert compat.main(["--check", "--baseline", path]) == 0
    out = capsys.readouterr().out
    assert "1 names the baseline lists as missing are present now" in out


def test_check_refuses_a_bad_or_absent_baseline(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"namespaces": {"torch": {"present": []}}}))
    with pytest.raises(ValueError, match="not a baseline written by --json"):
        compat.check(bad)
    assert compat.main(["--check", "--baseline", str(tmp_path / "none.json")]) == 2
    assert "no baseline" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        compat.main(["--check", "--json", str(tmp_path / "x.json")])


def test_committed_baseline_matches_the_code():
    data = json.loads(BASELINE.read_text())
    assert list(data["namespaces"]) == [ns.label for ns in NAMESPACES]
    for ns in NAMESPACES:
        row = data["namespaces"][ns.label]
        assert (row["mbtorch"], row["floor"]) == (ns.mbtorch, ns.floor)
        assert row["total"] == len(row["present"]) + len(row["missing"])
    gone, _ = compat.check(BASELINE)
    assert gone == [], f"listed present in {BASELINE.name} but gone: {gone}"


def test_check_command_passes_on_the_committed_baseline_without_torch():
    # the CI gate: runs as a command, and needs no PyTorch (torch is made unimportable)
    code = ("import sys; sys.modules['torch'] = None; from mbtorch.compat import main; "
            "sys.exit(main(['--check']))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, cwd=REPO)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "still present" in proc.stdout
