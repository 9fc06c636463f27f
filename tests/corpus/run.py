"""Run one corpus program as a PyTorch user would, under real PyTorch or under mbtorch.

``python -m tests.corpus.run {torch,mbtorch} PROGRAM [ARGS...]``: with ``mbtorch``, every import of
``torch`` or ``torch.<sub>`` inside the program resolves to ``mbtorch`` / ``mbtorch.<sub>``
(an import hook: the program's text is not touched). The program prints one JSON line
starting with ``RESULT `` that the test compares between the two runs.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import runpy
import sys


class _TorchIsMbtorch(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """``import torch.nn.functional as F`` gives ``mbtorch.nn.functional``."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname == "torch" or fullname.startswith("torch."):
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        module = importlib.import_module("mbtorch" + spec.name[len("torch"):])
        sys.modules[spec.name] = module
        return module

    def exec_module(self, module):
        pass  # already imported under its own name


def main(argv: list[str]) -> None:
    lib, program, *args = argv
    if lib == "mbtorch":
        sys.meta_path.insert(0, _TorchIsMbtorch())
    elif lib != "torch":
        raise SystemExit(f"run.py: library must be torch or mbtorch, not {lib!r}")
    sys.argv = [program, *args]
    runpy.run_path(program, run_name="__main__")


if __name__ == "__main__":
    main(sys.argv[1:])
