"""Every conformance cell as a pytest test: ``pytest --pyargs mbtorch_conformance
--mbtorch-device <type> [--mbtorch-tier smoke|standard|full] [--mbtorch-ops add,sum]``.
A failing cell's message holds its mbtorch-only reproduction; declared gaps are xfails."""

from __future__ import annotations

import pytest

from mbtorch_conformance.report import format_failure
from mbtorch_conformance.runner import Cell, cells

__all__ = ["pytest_generate_tests", "test_cell"]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "cell" not in metafunc.fixturenames:
        return
    opt = metafunc.config.getoption
    ops = opt("--mbtorch-ops", None)
    found = list(cells(opt("--mbtorch-device", None) or "cpu", opt("--mbtorch-tier", None)
                       or "standard", ops.split(",") if ops else None))
    metafunc.parametrize("cell", found, ids=[c.id for c in found])


def test_cell(cell: Cell) -> None:
    row = cell.run()
    if row.status == "skip":
        pytest.skip(row.message)
    if row.status == "xfail":
        pytest.xfail(row.message)
    assert row.status == "pass", format_failure(row)
