"""mbtorch-conformance: checks any mbtorch backend numerically against NumPy and the reference
backend, op by op and dtype by dtype, and writes a JSON and Markdown report.

Run ``mbtorch-conformance --device <type>`` or ``pytest --pyargs mbtorch_conformance
--mbtorch-device <type>``; from Python, ``mbtorch_conformance.run("cpu")``.
"""

from __future__ import annotations

__version__ = "0.1.0"

from .runner import run  # noqa: E402

__all__ = ["run", "__version__"]
