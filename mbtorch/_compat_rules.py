"""The exclusion rules of ``mbtorch.compat``: which of PyTorch's public names do not count in a
namespace's total, each rule with the reason the report prints beside every name it leaves out
(CUDA-, quantization-, build- and internals-specific names, removed ones, imports that are not
PyTorch's own)."""

from __future__ import annotations

import re
import types
from typing import Any, Callable, NamedTuple

__all__ = ["COMMON", "EXCLUDED", "Rule", "home"]


class Rule(NamedTuple):
    """Leaves a name out of a namespace's total; ``reason`` is printed with each such name."""

    reason: str
    test: Callable[[str, Any, dict], bool]  # (name, object, context) -> excluded?


def _named(reason: str, names: str) -> Rule:
    listed = frozenset(names.split())
    return Rule(reason, lambda name, obj, ctx: name in listed)


def _matching(reason: str, pattern: str) -> Rule:
    regex = re.compile(pattern)
    return Rule(reason, lambda name, obj, ctx: regex.fullmatch(name) is not None)


def home(obj: Any) -> str:
    """The module an object comes from (for a module, its own name)."""
    if isinstance(obj, types.ModuleType):
        return obj.__name__
    module = getattr(obj, "__module__", None)
    return module if isinstance(module, str) else type(obj).__module__


_QUANTIZATION = _matching(
    "quantization (torch.ao): quantized dtypes, qschemes, storages and kernels",
    r"q_\w+|qu?int\d+(x\d+)?|QU?Int\w*Storage|(fake_)?quantize\w*|quantized_\w+|\w*fake_quant"
    r"|\w*qparams\w*|dequantize|int_repr|empty_quantized|qscheme|is_quantized"
    r"|per_(tensor|channel)_\w+")
_REMOVED = _named("removed from PyTorch: the stub only raises (or does nothing), pointing at "
                  "its replacement", "eig lstsq symeig solve matrix_rank reinforce volatile")
_ATEN_INTERNALS = _matching("undocumented ATen op the bindings expose (internal helper of "
                           "other ops or of functionalization)",
                           r"unsafe_\w+|slice_inverse|resize_as_sparse_|segment_reduce"
                           r"|saddmm|dsmm|hsmm")
_FLOAT8 = _matching("8- or 4-bit float format for accelerator matrix units (torch._scaled_mm); "
                    "core CPU ops only convert to and from it", r"float[48]_\w+")

# Per namespace, the names left out of its total and why; the first rule that matches names
# the reason. The issue measures top-level torch "of those that are not CUDA-, quantization-
# or internals-specific", so that row has the most; the others only leave out what the issue
# leaves out (lazy modules) or what is not an API of that namespace.
EXCLUDED: dict[str, tuple[Rule, ...]] = {
    "torch": (
        Rule("a submodule: namespaces have rows of their own or are out of scope; this row "
             "counts functions, classes, dtypes and constants",
             lambda name, obj, ctx: (isinstance(obj, types.ModuleType)
                                     and obj.__name__.startswith("torch."))),
        _QUANTIZATION,
        _matching("CUDA-specific or a vendor library's kernel (cuDNN, MIOpen, oneDNN, FBGEMM)",
                  r"(cudnn|miopen|mkldnn|fbgemm)_\w+|\w*cuda\w*"),
        _matching("autocast state of one other device type (CUDA, IPU, XLA), deprecated for "
                  "the device_type argument of is_autocast_enabled / get_autocast_dtype",
                  r"(get|set)_autocast_(gpu|ipu|xla)_dtype|(is|set)_autocast_(ipu|xla)_enabled"),
        _named("describes how the PyTorch binary was built",
               "has_lapack has_mkl has_openmp has_spectral compiled_with_cxx11_abi "
               "is_vulkan_available USE_GLOBAL_DEPS USE_RTLD_GLOBAL_WITH_LIBTORCH TYPE_CHECKING"),
        Rule("TorchScript/JIT internals: C++ bindings of its IR, types, compiler, mobile "
             "runtime, serializer and benchmarks",
             lambda name, obj, ctx: (isinstance(obj, type)
                                     and issubclass(obj, ctx["torch"]._C.Type))),
        _named("TorchScript/JIT internals: C++ bindings of its IR, types, compiler, mobile "
               "runtime, serializer and benchmarks",
               "AVG SUM AggregationType AliasDb Argument ArgumentSpec BenchmarkConfig "
               "BenchmarkExecutionStats Block BufferDict CallStack Capsule Code "
               "CompilationUnit CompleteArgumentSpec ConcreteModuleType "
               "ConcreteModuleTypeBuilder DeepCopyMemoTable DeserializationStorageContext "
               "ErrorReport ExecutionPlan FileCheck FunctionSchema Gradient Graph "
               "GraphExecutorState IODescriptor InferredType JITException LiteScriptModule "
               "LockingLogger LoggerBase ModuleDict Node NoopLogger OperatorInfo ParameterDict "
               "PyTorchFileReader PyTorchFileWriter ScriptClass ScriptClassFunction ScriptDict "
               "ScriptDictIterator ScriptDictKeyIterator ScriptFunction ScriptList "
               "ScriptListIterator ScriptMethod ScriptModule ScriptModuleSerializer "
               "ScriptObject ScriptObjectProperty SerializationStorageContext StaticModule "
               "ThroughputBenchmark TracingState Use Value fork wait import_ir_module "
               "import_ir_module_from_buffer merge_type_from_type_comment parse_ir "
               "parse_schema parse_type_comment unify_type_list"),
        _named("dispatcher, __torch_function__ or import-time internals",
               "DispatchKey DispatchKeySet ExcludeDispatchKeyGuard DisableTorchFunction "
               "DisableTorchFunctionSubclass Tag classproperty PRIVATE_OPS get_file_path "
               "prepare_multiprocessing_environment autocast_increment_nesting "
               "autocast_decrement_nesting"),
        _matching("symbolic-shape type or helper of torch.compile's tracer (dynamo internals)",
                  r"Sym(Bool|Float|Int)|sym_\w+"),
        _matching("out-of-place *_copy twin of a view op, generated for functionalization "
                  "(compiler backends); the view op itself is counted", r"(?!index_copy$)\w+_copy"),
        _matching("ATen kernel entry point behind torch.nn / nn.functional (the user-facing "
                  "form is counted there)",
                  r"native_\w+|batch_norm_\w+|grid_sampler(_2d|_3d)?|affine_grid_generator"
                  r"|embedding_renorm_|norm_except_dim|constant_pad_nd|convolution"
                  r"|(rnn_relu|rnn_tanh|lstm|gru)(_cell)?"),
        _ATEN_INTERNALS,
        _REMOVED,
        _matching("legacy per-dtype storage class, deprecated since PyTorch 2.0 (UntypedStorage "
                  "is counted)", r"(Bool|Byte|Char|Short|Int|Long|Half|Float|Double|BFloat16"
                  r"|ComplexFloat|ComplexDouble)Storage|Storage|StorageBase"),
        _matching("placeholder dtype for out-of-tree low-bit kernels (torchao): core PyTorch "
                  "has no operators on it", r"bit|bits\d\w*|u?int[1-7]"),
        _FLOAT8,
    ),
    "Tensor": (
        _QUANTIZATION,
        _named("CUDA-specific or a vendor library's (oneDNN) layout",
               "is_mkldnn to_mkldnn record_stream"),
        _ATEN_INTERNALS,
        _REMOVED,
    ),
    "torch.nn": (
        _matching("lazy module (infers its shapes on the first call); issue 15 leaves lazy "
                  "modules out", r"Lazy\w+"),
    ),
    "nn.functional": (
        _named("matmul in scaled 8-/4-bit float formats (and its enums) for accelerator matrix "
               "units: the formats the torch row leaves out", "scaled_mm scaled_grouped_mm "
               "ScalingType SwizzleType"),
    ),
    "torch.autograd": (
        Rule("profiler binding re-exported from C++ (the profiler API is torch.profiler)",
             lambda name, obj, ctx: (home(obj).startswith("torch._C._profiler")
                                     or name in ("ProfilerEvent", "DeviceType",
                                                 "kineto_available"))),
    ),
}

# Applied to every namespace that is a module, after its own rules: what is not an API of it.
COMMON = (
    Rule("not PyTorch's own here: an import from the standard library, typing or NumPy, or a "
         "plain value (flag, docstring fragment)",
         lambda name, obj, ctx: (ctx["module"] and not home(obj).startswith("torch")
                                 and name not in ctx["declared"])),
    Rule("a module imported from elsewhere, not a submodule of this namespace",
         lambda name, obj, ctx: (isinstance(obj, types.ModuleType)
                                 and not obj.__name__.startswith(ctx["path"] + "."))),
    Rule("re-export of torch.Tensor (the Tensor row counts its methods)",
         lambda name, obj, ctx: ctx["path"] != "torch" and obj is ctx["torch"].Tensor),
    Rule("__torch_function__ or TorchScript plumbing this module imports, not its API",
         lambda name, obj, ctx: (ctx["module"] and (
             home(obj) in ("torch.overrides", "torch._jit_internal")
             or name.startswith("has_torch_function")))),
)
