"""Neural-network layers, losses and utilities, written only against the public Tensor API
(never a backend's arrays or the tensor's private fields), so they run on every backend."""

from . import functional, init, utils
from .modules import *  # noqa: F403 - modules/__init__.py lists its names in __all__
from .modules import __all__ as _modules_all
from .parameter import Buffer, Parameter, UninitializedBuffer, UninitializedParameter
from . import parallel  # noqa: E402
from . import common_types, grad  # noqa: E402
from .parallel import DataParallel  # noqa: E402

__all__ = ["functional", "init", "utils", "parallel", "Buffer", "Parameter", "DataParallel",
           "UninitializedBuffer", "UninitializedParameter", "common_types", "grad",
           "factory_kwargs", *_modules_all]


def factory_kwargs(kwargs: dict | None) -> dict:
    """The ``device``/``dtype``/``memory_format`` entries of ``kwargs`` (merged with its
    ``factory_kwargs`` entry), ready for factory functions; anything else is an error."""
    if kwargs is None:
        return {}
    simple = {"device", "dtype", "memory_format"}
    unexpected = set(kwargs) - simple - {"factory_kwargs"}
    if unexpected:
        raise TypeError(f"unexpected kwargs {unexpected}")
    out = dict(kwargs.get("factory_kwargs", {}))
    for k in simple & set(kwargs):
        if k in out:
            raise TypeError(f"{k} specified twice, in **kwargs and in factory_kwargs")
        out[k] = kwargs[k]
    return out
