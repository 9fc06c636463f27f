"""``python -m mbtorch_conformance --device cpu``: the same as the console script."""

import sys

from .cli import main

__all__ = []

sys.exit(main())
