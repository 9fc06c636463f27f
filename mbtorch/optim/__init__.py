"""Optimizers and learning-rate schedulers with PyTorch's update rules, arguments and
state-dict layout (``torch.optim`` of PyTorch 2.13, every optimizer)."""

from __future__ import annotations

from typing import Any

from . import lr_scheduler  # noqa: F401
from ._stateless import swap_in_optimizer_params_and_state  # noqa: F401
from .adafactor import Adafactor  # noqa: F401
from .adam import Adam, AdamW  # noqa: F401
from .adaptive import ASGD, Adadelta, Adamax, Rprop  # noqa: F401
from .lbfgs import LBFGS  # noqa: F401
from .muon import Muon, SparseAdam  # noqa: F401
from .nadam import NAdam, RAdam  # noqa: F401
from .optimizer import Optimizer  # noqa: F401
from .rmsprop import Adagrad, RMSprop  # noqa: F401
from .sgd import SGD  # noqa: F401

__all__ = ["lr_scheduler", "swa_utils", "ASGD", "Adadelta", "Adafactor", "Adagrad", "Adam",
           "AdamW", "Adamax", "LBFGS", "Muon", "NAdam", "Optimizer", "RAdam", "RMSprop",
           "Rprop", "SGD", "SparseAdam", "swap_in_optimizer_params_and_state"]


def __getattr__(name: str) -> Any:
    # swa_utils needs mbtorch.nn (AveragedModel is a Module): imported on first use, so
    # ``import mbtorch.optim`` stays free of it
    if name == "swa_utils":
        import importlib

        module = importlib.import_module(f"{__name__}.swa_utils")
        globals()[name] = module
        return module
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
