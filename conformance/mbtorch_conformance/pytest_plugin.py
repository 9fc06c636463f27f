"""pytest integration: ``pytest --pyargs mbtorch_conformance --mbtorch-device cpu`` runs every
conformance cell as one test (``test_conformance.py`` in this package). Registered through
the ``pytest11`` entry point; it only adds options, so it costs nothing in other sessions."""

from __future__ import annotations

from typing import Any

__all__ = ["pytest_addoption"]


def pytest_addoption(parser: Any) -> None:
    group = parser.getgroup("mbtorch-conformance")
    group.addoption("--mbtorch-device", default=None, metavar="TYPE",
                    help="device type whose backend the conformance tests check (default cpu)")
    group.addoption("--mbtorch-tier", default="standard",
                    choices=("smoke", "standard", "full"), help="conformance sample tier")
    group.addoption("--mbtorch-ops", default=None, metavar="NAMES",
                    help="comma-separated database entries to check (default: all)")
