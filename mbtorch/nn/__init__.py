"""Neural-network layers, losses and utilities, written only against the public Tensor API
(never a backend's arrays or the tensor's private fields), so they run on every backend."""

from . import functional, init, utils
from .modules import *  # noqa: F403 - modules/__init__.py lists its names in __all__
from .modules import __all__ as _modules_all
from .parameter import Buffer, Parameter
from . import parallel  # noqa: E402

__all__ = ["functional", "init", "utils", "parallel", "Buffer", "Parameter", *_modules_all]
