"""mbtorch: a PyTorch-style tensor framework whose devices are plugins.

``import mbtorch as torch`` and write PyTorch code; ``device='cpu'`` runs on NumPy, other
devices come from separately installed backend packages (see ``mbtorch.backends.status()``).
"""

# ruff: noqa: F405 - the names in __all__ come from the star-imports of modules with __all__
# The public names are the list ``__all__`` at the end of this file; each star-import below
# brings only the torch-level functions its module lists in its own ``__all__`` (its Tensor
# methods are installed by ``mbtorch.core.ops``). tests/test_namespace.py checks the list
# against ``dir(torch)``: a name torch lacks needs a reason there.

__version__ = "0.1.0"

from .core.device import device
from .core.dtypes import (  # noqa: F401
    bfloat16, bool, double, dtype, float, float16, float32, float64, get_default_dtype, half,
    int, int8, int16, int32, int64, long, promote_types, set_default_dtype, short, uint8,
)
from .core.dtypes import (  # noqa: F401
    cdouble, cfloat, chalf, complex32, complex64, complex128, uint16, uint32, uint64,
)
from .core.dtypes import qint8, qint32, quint8  # noqa: F401
from .core.formatting import set_printoptions  # noqa: F401
from .core.host import finfo, iinfo
from .core.ops.binary import *  # noqa: F401,F403
from .core.ops.copying import clone, detach, detach_  # noqa: F401
from .core.ops.creation import (  # noqa: F401
    arange, as_tensor, asarray, empty, empty_like, eye, from_numpy, full, full_like,
    linspace, ones, ones_like, tensor, zeros, zeros_like,
)
from .core.ops.dlpack import from_dlpack, to_dlpack  # noqa: F401
from .core.ops.random import (  # noqa: F401
    Generator, bernoulli, default_generator, get_rng_state, initial_seed, manual_seed, normal,
    rand, rand_like, randint, randint_like, randn, randn_like, randperm, seed, set_rng_state,
)
from .core.ops.unary import *  # noqa: F401,F403
from .core.ops.ternary import *  # noqa: F401,F403
from .core.ops.gathering import *  # noqa: F401,F403
from .core.ops.indexing import *  # noqa: F401,F403
from .core.ops.joining import *  # noqa: F401,F403
from .core.ops.rearranging import *  # noqa: F401,F403
from .core.ops.sorting import *  # noqa: F401,F403
from .core.ops.views import *  # noqa: F401,F403
from .core.ops.einsum import einsum  # noqa: F401
from .core.ops.linalg import *  # noqa: F401,F403
from .core.ops.norms import cdist, dist, norm  # noqa: F401
from .core.ops.reductions import *  # noqa: F401,F403
from .core.ops.scans import *  # noqa: F401,F403
from .core.ops.softmax import *  # noqa: F401,F403
from .core.ops.special import *  # noqa: F401,F403
from .core.ops.gamma import *  # noqa: F401,F403
from .core.ops.errorfn import *  # noqa: F401,F403
from .core.ops.bessel import *  # noqa: F401,F403
from .core.ops.searching import *  # noqa: F401,F403
from .core.ops.sampling import multinomial  # noqa: F401
from .core.ops.combining import *  # noqa: F401,F403
from .core.ops.matrices import *  # noqa: F401,F403
from .core.ops.index_writes import *  # noqa: F401,F403
from .core.ops.attributes import *  # noqa: F401,F403
from .core.ops.statistics import *  # noqa: F401,F403
from .core.ops.decompositions import *  # noqa: F401,F403
from .core.ops.matfuncs import *  # noqa: F401,F403
from .core.ops.householder import *  # noqa: F401,F403
from .core.ops.complex import *  # noqa: F401,F403
from .core.ops.covariance import *  # noqa: F401,F403
from .core.ops.float_math import *  # noqa: F401,F403
from .core.ops.histograms import *  # noqa: F401,F403
from .core.ops.integer_math import *  # noqa: F401,F403
from .core.ops.integration import *  # noqa: F401,F403
from .core.ops.quantiles import *  # noqa: F401,F403
from .core.ops.scatter_reduce import *  # noqa: F401,F403
from .core.ops.signal_windows import *  # noqa: F401,F403
from .core.ops.spaced_ranges import *  # noqa: F401,F403
from .core.ops.buffer_factories import *  # noqa: F401,F403
from .core.ops.consecutive_runs import *  # noqa: F401,F403
from .core.ops.index_math import *  # noqa: F401,F403
from .core.ops.log_cumulative import *  # noqa: F401,F403
from .core.ops.random_counts import *  # noqa: F401,F403
from .core.ops.splitting import *  # noqa: F401,F403
from .core.ops.spectral import *  # noqa: F401,F403
from .core.ops.lowrank import *  # noqa: F401,F403
from .core.ops.lobpcg import *  # noqa: F401,F403
from .core.ops.quantize import *  # noqa: F401,F403
from .core.quantized import (  # noqa: F401
    per_channel_affine, per_channel_affine_float_qparams, per_channel_symmetric,
    per_tensor_affine, per_tensor_symmetric, qscheme,
)
from .core.ops.view_scatter import *  # noqa: F401,F403
from .core.ops.joining import split_with_sizes  # noqa: F401
from .core.ops.hyperbolic import *  # noqa: F401,F403
from .core.ops.inplace import *  # noqa: F401,F403
from .core.ops.inplace_views import resize_as_  # noqa: F401
from .core.ops.tensor_misc import *  # noqa: F401,F403
from .core.ops.storages import TypedStorage, UntypedStorage  # noqa: F401
from .core.tensor import Size, Tensor
from .core.layout import layout, sparse_coo, strided  # noqa: F401
from . import _functional_aliases  # noqa: E402
from ._functional_aliases import *  # noqa: F401,F403  (nn.functional loads on first call)
from .core.memory_format import (  # noqa: F401
    channels_last, channels_last_3d, contiguous_format, legacy_contiguous_format, memory_format,
    preserve_format,
)
from .core.settings import *  # noqa: F401,F403
from .core.legacy import (  # noqa: F401
    BFloat16Tensor, BoolTensor, ByteTensor, CharTensor, DoubleTensor, FloatTensor, HalfTensor,
    IntTensor, LongTensor, ShortTensor, set_default_tensor_type,
)
from . import backends  # noqa: F401,E402
from . import autograd  # noqa: E402
from .autograd import (  # noqa: F401,E402
    enable_grad, inference_mode, is_grad_enabled, is_inference_mode_enabled, no_grad,
    set_grad_enabled,
)
from . import cuda  # noqa: F401,E402
from . import linalg  # noqa: F401,E402
from ._queries import *  # noqa: F401,F403,E402

# Submodules the tensor core does not need are loaded on first use (PEP 562): ``mbtorch.nn`` as an
# attribute, ``from mbtorch import nn`` and ``import mbtorch.nn`` all work as in PyTorch, and
# ``import mbtorch`` does not pay for them (they were two fifths of its import time).
_ON_FIRST_USE = {"accelerator": "accelerator",
                 "nn": "nn", "optim": "optim", "data": "data", "utils": "utils",
                 "distributions": "distributions",
                 "distributed": "distributed", "serialization": "serialization",
                 "load": "serialization", "save": "serialization",
                 "sparse": "sparse", "sparse_coo_tensor": "sparse", "spmm": "sparse",
                 "amp": "amp", "GradScaler": "amp", "compile": "compiler",
                 "compiler": "compiler", "export": "export", "onnx": "onnx", "cpu": "cpu",
                 "ao": "ao", "hub": "hub",
                 "fft": "fft",
                 "stft": "fft._stft", "istft": "fft._stft",
                 "special": "special",
                 "autocast": "amp", "is_autocast_enabled": "amp.autocast_mode",
                 "get_autocast_dtype": "amp.autocast_mode",
                 "set_autocast_enabled": "amp.autocast_mode",
                 "set_autocast_dtype": "amp.autocast_mode",
                 "is_autocast_cache_enabled": "amp.autocast_mode",
                 "set_autocast_cache_enabled": "amp.autocast_mode",
                 "clear_autocast_cache": "amp.autocast_mode",
                 "autocast_increment_nesting": "amp.autocast_mode",
                 "autocast_decrement_nesting": "amp.autocast_mode",
                 "is_autocast_cpu_enabled": "amp.autocast_mode",
                 "set_autocast_cpu_enabled": "amp.autocast_mode",
                 "get_autocast_cpu_dtype": "amp.autocast_mode",
                 "set_autocast_cpu_dtype": "amp.autocast_mode",
                 "get_autocast_gpu_dtype": "amp.autocast_mode",
                 "set_autocast_gpu_dtype": "amp.autocast_mode"}


def __getattr__(name: str):
    module = _ON_FIRST_USE.get(name)
    if module is None:
        raise AttributeError(f"module 'mbtorch' has no attribute {name!r}")
    import importlib

    value = importlib.import_module(f".{module}", __name__)
    if name != module:
        value = getattr(value, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_ON_FIRST_USE))


# Every public name, written out: tests/test_namespace.py holds it to dir(torch). Submodules
# (nn, optim, autograd, ...) are public as attributes and listed in that test.
__all__ = [
    "layout", "sparse_coo", "sparse_coo_tensor", "spmm", "strided",
    "abs", "absolute", "acos", "add", "addcdiv", "addcmul", "addmm", "all", "allclose", "amax",
    "amin", "aminmax", "any", "arange", "arccos", "arcsin", "arctan", "arctan2", "argmax",
    "argmin", "argsort", "argwhere", "as_strided", "BFloat16Tensor", "BoolTensor", "ByteTensor",
    "CharTensor", "DoubleTensor", "FloatTensor", "HalfTensor", "IntTensor", "LongTensor",
    "ShortTensor", "set_default_tensor_type", "as_tensor", "asarray", "asin", "atan", "atan2",
    "atleast_1d", "atleast_2d", "atleast_3d", "baddbmm", "bernoulli", "bfloat16", "bitwise_and",
    "bitwise_not", "bitwise_or", "bitwise_xor", "block_diag", "bmm", "bool", "broadcast_shapes",
    "broadcast_tensors", "broadcast_to", "bucketize", "cartesian_prod", "cat", "cdist", "ceil",
    "chunk", "clamp", "clamp_max", "clamp_min", "clip", "clone", "column_stack", "combinations",
    "concat", "concatenate", "copysign", "cos", "cosh", "count_nonzero", "cummax", "cummin",
    "cumprod", "cumsum", "default_generator", "deg2rad", "detach", "detach_", "device", "diag",
    "diag_embed", "diagonal", "diff", "dist", "div", "divide", "dot", "double", "dstack", "dtype",
    "einsum", "empty", "empty_like", "enable_grad", "eq", "equal", "erf", "erfinv", "exp", "exp2",
    "expm1", "eye", "finfo", "fix", "flatten", "flip", "fliplr", "flipud", "float", "float16",
    "float32", "float64", "float_power", "floor", "floor_divide", "fmod", "frac", "from_dlpack",
    "from_numpy", "full", "full_like", "to_dlpack",
    "gather", "ge", "Generator", "ger", "get_default_dtype",
    "get_rng_state", "greater", "greater_equal", "gt", "half", "heaviside", "histc", "hstack",
    "hypot", "iinfo", "index_add", "index_copy", "index_fill", "index_put", "index_put_",
    "index_select", "inference_mode", "initial_seed", "int", "int16", "int32", "int64", "int8",
    "is_floating_point", "is_grad_enabled", "is_inference_mode_enabled", "is_nonzero", "is_tensor",
    "isclose", "isfinite", "isin", "isinf", "isnan", "isneginf", "isposinf", "kthvalue", "le",
    "lerp", "less", "less_equal", "linspace", "load", "log", "log10", "log1p", "log2",
    "log_softmax", "logaddexp", "logaddexp2", "logical_and", "logical_not", "logical_or",
    "logical_xor", "logit", "logsumexp", "long", "lt", "manual_seed", "masked_fill",
    "masked_scatter", "masked_select", "matmul", "max", "maximum", "mean", "meshgrid", "min",
    "minimum", "mm", "moveaxis", "movedim", "msort", "mul", "multinomial", "multiply", "mv",
    "nan_to_num",
    "nanmean", "nansum", "narrow", "ne", "neg", "negative", "no_grad", "nonzero", "norm", "normal",
    "not_equal", "numel", "ones", "ones_like", "outer", "permute", "pow", "prod", "promote_types",
    "rad2deg", "rand", "rand_like", "randint", "randint_like", "randn", "randn_like", "randperm",
    "reciprocal", "relu", "remainder", "repeat_interleave", "reshape", "roll", "rot90", "round",
    "row_stack", "rsqrt", "save", "scatter", "scatter_add", "searchsorted", "seed", "select",
    "set_default_dtype", "set_grad_enabled", "set_printoptions", "set_rng_state", "sgn", "short",
    "sigmoid", "sign", "signbit", "sin", "sinh", "Size", "softmax", "sort", "split", "sqrt",
    "square", "squeeze", "stack", "std", "std_mean", "sub", "subtract", "sum", "swapaxes",
    "swapdims", "t", "take", "take_along_dim", "tan", "tanh", "Tensor", "tensor", "tensordot",
    "tile", "topk", "trace", "transpose", "tril", "tril_indices", "triu", "triu_indices",
    "true_divide", "trunc", "uint8", "unbind", "unflatten", "unique", "unsqueeze", "var",
    "var_mean", "vdot", "vstack", "where", "xlogy", "zeros", "zeros_like",
    "autocast", "clear_autocast_cache", "get_autocast_dtype", "is_autocast_cache_enabled",
    "is_autocast_enabled", "set_autocast_cache_enabled", "set_autocast_dtype",
    "set_autocast_enabled", "digamma", "erfc", "i0", "lgamma", "mvlgamma", "polygamma", "sinc",
    "autocast_increment_nesting", "autocast_decrement_nesting", "is_autocast_cpu_enabled",
    "set_autocast_cpu_enabled", "get_autocast_cpu_dtype", "set_autocast_cpu_dtype",
    "get_autocast_gpu_dtype", "set_autocast_gpu_dtype", "igamma", "igammac", "GradScaler",
    "compile",
    "addbmm", "addmv", "addmv_", "addr", "chain_matmul", "cholesky", "cholesky_inverse",
    "cholesky_solve", "cross", "det", "inner", "inverse", "kron", "logdet", "lu", "lu_solve",
    "lu_unpack", "matrix_exp", "matrix_power", "qr", "slogdet", "triangular_solve", "vander",
    "geqrf", "orgqr", "ormqr",
]
# issue 15: math, statistics, splitting and indexing functions (core/ops modules of those names)
__all__ += [
    "bincount", "corrcoef", "cov", "dsplit", "histogram", "histogramdd", "hsplit", "median",
    "mode", "nanmedian", "nanquantile", "quantile", "split_with_sizes", "tensor_split", "vsplit",
    "index_reduce", "put", "scatter_reduce", "as_strided_scatter", "diagflat",
    "diagonal_scatter", "select_scatter", "slice_scatter", "cumulative_trapezoid", "gradient",
    "trapezoid", "trapz", "bitwise_left_shift", "bitwise_right_shift", "gcd", "gcd_", "lcm",
    "lcm_", "fmax", "fmin", "frexp", "ldexp", "ldexp_", "nextafter", "rsub",
    "bartlett_window", "blackman_window", "hamming_window", "hann_window", "kaiser_window",
    "logspace", "range", "empty_permuted", "empty_strided", "frombuffer", "scalar_tensor",
    "logcumsumexp", "nonzero_static", "renorm", "unique_consecutive", "unravel_index",
    "binomial", "poisson",
]
__all__ += [  # complex dtypes and numbers (issue 15)
    "adjoint", "cdouble", "cfloat", "chalf", "complex32", "complex64", "complex128", "complex",
    "polar",
    "real", "imag", "view_as_real", "view_as_complex", "conj", "conj_physical",
    "conj_physical_", "resolve_conj", "resolve_neg", "is_conj", "is_neg", "angle", "isreal",
    "is_complex", "stft", "istft", "uint16", "uint32", "uint64",
]
__all__ += [  # quantized tensors (issue 20: core/quantized.py, core/ops/quantize.py)
    "qint8", "quint8", "qint32", "qscheme", "per_tensor_affine", "per_channel_affine",
    "per_tensor_symmetric", "per_channel_symmetric", "per_channel_affine_float_qparams",
    "quantize_per_tensor", "quantize_per_tensor_dynamic", "quantize_per_channel", "dequantize",
    "fake_quantize_per_tensor_affine", "fake_quantize_per_channel_affine",
]
__all__ += [  # spectral (issue 15: core/ops/spectral.py, lowrank.py, lobpcg.py)
    "frobenius_norm", "lobpcg", "nuclear_norm", "pca_lowrank", "pinverse", "svd", "svd_lowrank",
]
# the nn functions torch has at top level: their list is _functional_aliases.__all__
__all__ += _functional_aliases.__all__
__all__ += [  # drop-in API (issue 15): settings, formats, queries
    "memory_format", "contiguous_format", "channels_last", "channels_last_3d",
    "preserve_format", "legacy_contiguous_format",
    "get_num_threads", "set_num_threads", "get_num_interop_threads", "set_num_interop_threads",
    "init_num_threads", "use_deterministic_algorithms", "are_deterministic_algorithms_enabled",
    "is_deterministic_algorithms_warn_only_enabled", "get_deterministic_debug_mode",
    "set_deterministic_debug_mode", "set_float32_matmul_precision",
    "get_float32_matmul_precision", "set_flush_denormal", "set_warn_always",
    "is_warn_always_enabled", "set_default_device", "get_default_device",
    "e", "pi", "inf", "nan", "newaxis", "can_cast", "result_type", "is_same_size", "is_signed",
    "is_storage", "is_distributed", "is_inference", "typename", "get_device_module",
    "set_anomaly_enabled", "is_anomaly_enabled", "is_anomaly_check_nan_enabled",
]
__all__ += [  # in-place spellings, tensor metadata (issue 15: inplace*.py, tensor_misc.py)
    "abs_", "acos_", "acosh", "acosh_", "alpha_dropout_", "arccos_", "arccosh", "arccosh_",
    "arcsin_", "arcsinh", "arcsinh_", "arctan_", "arctanh", "arctanh_", "as_strided_", "asin_",
    "asinh",
    "asinh_", "atan_", "atanh", "atanh_", "ceil_", "celu_", "clamp_", "clamp_max_", "clamp_min_",
    "clip_", "cos_", "cosh_", "deg2rad_", "dropout_", "erf_", "erfc_", "exp2_", "exp_", "expm1_",
    "feature_alpha_dropout_", "feature_dropout_", "fill", "fill_", "fix_", "floor_", "frac_",
    "get_device", "i0_", "log10_", "log1p_", "log2_", "log_", "logit_", "nan_to_num_", "neg_",
    "negative_", "positive", "rad2deg_", "ravel", "reciprocal_", "relu_", "resize_as_", "round_",
    "rrelu_", "rsqrt_", "selu_", "sigmoid_", "sin_", "sinc_", "sinh_", "sqrt_", "square_", "tan_",
    "tanh_", "threshold_", "trunc_", "xlogy_", "zero_", "TypedStorage", "UntypedStorage",
]
