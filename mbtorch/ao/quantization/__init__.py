"""``torch.ao.quantization``: observers, qconfigs, fake quantization, fusing, and the eager flows
(``quantize_dynamic``; ``prepare`` -> calibrate -> ``convert``; ``prepare_qat`` -> train ->
``convert``); the graph flow (``quantize_pt2e``: ``prepare_pt2e`` -> calibrate ->
``convert_pt2e`` with a ``quantizer``), the recommended path for static int8; torchao's
``quantize_`` for weight-only and dynamic int8 Linear layers."""

__all__: list[str] = []

# observers, fake quantization, qconfigs, stubs and fusing (the "prepare side"); star imports
# of each module's __all__, as torch.ao.quantization does
import sys as _sys  # noqa: E402

from .fake_quantize import *  # noqa: E402, F403
from .fuse_modules import *  # noqa: E402, F403
from .fuser_method_mappings import *  # noqa: E402, F403
from .observer import *  # noqa: E402, F403
from .qconfig import *  # noqa: E402, F403
from .qconfig_mapping import *  # noqa: E402, F403
from .stubs import *  # noqa: E402, F403

# looked up by module path: the function fuse_modules shadows its module's name here
for _m in ("fake_quantize", "fuse_modules", "fuser_method_mappings", "observer", "qconfig",
           "qconfig_mapping", "stubs"):
    __all__ += [n for n in _sys.modules[f"{__name__}.{_m}"].__all__ if n not in __all__]
del _m

# the eager flows and their module mappings
from .quantization_mappings import (  # noqa: E402
    get_default_compare_output_module_list,
    get_default_dynamic_quant_module_mappings,
    get_default_float_to_quantized_operator_mappings,
    get_default_qat_module_mappings,
    get_default_qconfig_propagation_list,
    get_default_static_quant_module_mappings,
    get_dynamic_quant_module_class,
    get_quantized_operator,
    get_static_quant_module_class,
    no_observer_set,
)
from .quantize import (  # noqa: E402
    add_quant_dequant,
    convert,
    get_default_custom_config_dict,
    prepare,
    prepare_qat,
    propagate_qconfig_,
    quantize,
    quantize_dynamic,
    quantize_qat,
    swap_module,
)

__all__ += [
    "add_quant_dequant", "convert", "get_default_compare_output_module_list",
    "get_default_custom_config_dict", "get_default_dynamic_quant_module_mappings",
    "get_default_float_to_quantized_operator_mappings", "get_default_qat_module_mappings",
    "get_default_qconfig_propagation_list", "get_default_static_quant_module_mappings",
    "get_dynamic_quant_module_class", "get_quantized_operator", "get_static_quant_module_class",
    "no_observer_set", "prepare", "prepare_qat", "propagate_qconfig_", "quantize",
    "quantize_dynamic", "quantize_qat", "swap_module",
]

# torchao's one-call entry (weight-only and dynamic int8 of Linear layers); the graph flow
# (static int8 of whole programs) is the submodule quantize_pt2e with the quantizer package
from .quant_api import (  # noqa: E402
    Int8DynamicActivationInt8WeightConfig,
    Int8WeightOnlyConfig,
    quantize_,
)

__all__ += ["Int8DynamicActivationInt8WeightConfig", "Int8WeightOnlyConfig", "quantize_"]
