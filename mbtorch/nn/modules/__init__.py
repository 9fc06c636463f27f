"""Layer classes; each family in its own module."""

from .container import (  # noqa: F401
    Identity,
    ModuleDict,
    ModuleList,
    ParameterDict,
    ParameterList,
    Sequential,
)
from .module import Module  # noqa: F401
