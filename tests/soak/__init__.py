"""Soak tests: long training runs and DataLoader worker churn that must leave memory, live
buffers, caches, processes and file descriptors where warm-up left them.

``measure`` trains and samples, ``workers`` churns DataLoader workers; ``test_soak`` runs the
short form on cpu and mini (``tests/plugins/test_opencl_soak.py`` on opencl), and
``python -m tests.soak`` prints the table the README quotes (``--help`` for its options).
``MBTORCH_SOAK=long`` makes the tests run the long form (1,000 steps, 100 loader rounds).
"""

from __future__ import annotations

import os

__all__ = ["LONG", "steps", "rounds"]

LONG = os.environ.get("MBTORCH_SOAK", "").lower() == "long"


def steps(short: int) -> int:
    """Training steps of a soak test: ``short`` by default, 1,000 in the long form."""
    return 1000 if LONG else short


def rounds(short: int) -> int:
    """DataLoader start/stop rounds: ``short`` by default, 100 in the long form."""
    return 100 if LONG else short
