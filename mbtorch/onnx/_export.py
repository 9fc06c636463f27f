"""``mbtorch.onnx.export``: an ``ExportedProgram`` (``mbtorch.export``: the same capture, not a
second tracer) translated node by node into an ONNX model (``_ops_math``, ``_ops_shape``),
checked with ``onnx.checker.check_model(full_check=True)`` and written atomically.

Names: graph inputs are the forward's parameter names (or ``input_names``), outputs
``output`` / ``output_0, output_1, ...`` (or ``output_names``), weights keep their state-dict
keys. Dynamic dimensions (``dynamic_axes`` as PyTorch spells it, or ``dynamic_shapes``)
become named ONNX dims (``dim_param``); sizes computed from them are ``Shape`` slices of the
inputs, so one file serves every batch size.
"""

from __future__ import annotations

__all__ = ["export", "write_atomically", "DEFAULT_OPSET", "EXTERNAL_DATA_THRESHOLD"]

import inspect
import os
import tempfile
from typing import Any, Mapping, Sequence

import onnx
from onnx import helper

from ._builder import OnnxExporterError
from ._translate import to_model_proto

DEFAULT_OPSET = 18
MIN_OPSET = 18  # reductions take their axes as an input from 18 on
EXTERNAL_DATA_THRESHOLD = 2 ** 31 - 2 ** 26  # protobuf's 2 GB limit, with room for the graph


def export(model: Any, args: tuple = (), f: Any = None, *, kwargs: Mapping | None = None,
           input_names: Sequence[str] | None = None, output_names: Sequence[str] | None = None,
           opset_version: int | None = None, dynamic_axes: Mapping | None = None,
           dynamic_shapes: Any = None, external_data: bool = True, verbose: bool | None = None,
           **unsupported: Any) -> Any:
    """Export ``model`` (an ``nn.Module`` or an ``ExportedProgram``) called with ``args`` to
    ONNX; write it to ``f`` (a path or a binary file object) when given. Returns an
    ``ONNXProgram`` (``model_proto``, ``save(path)``, callable through onnxruntime)."""
    from ._program import ONNXProgram

    _refuse(unsupported)
    opset = DEFAULT_OPSET if opset_version is None else int(opset_version)
    if not MIN_OPSET <= opset <= onnx.defs.onnx_opset_version():
        raise ValueError(f"onnx.export(): opset_version must be in [{MIN_OPSET}, "
                         f"{onnx.defs.onnx_opset_version()}], got {opset_version}")
    args = args if isinstance(args, tuple) else (args,)
    ep, arg_names = _exported(model, args, kwargs, input_names, output_names, dynamic_axes,
                              dynamic_shapes)
    proto = to_model_proto(ep, opset, input_names or arg_names, output_names)
    program = ONNXProgram(proto)
    if f is not None:
        program.save(f, external_data=external_data)
    if verbose:
        print(helper.printable_graph(proto.graph))
    return program


def _refuse(options: dict) -> None:
    # torch.onnx.export's other options: accepted only at the values that mean what we do
    fine = {"dynamo": (True, False), "export_params": (True,), "training": (None,),
            "do_constant_folding": (True, False), "optimize": (True, False),
            "keep_initializers_as_inputs": (False,), "report": (False,), "verify": (False,)}
    for name, value in options.items():
        if name not in fine:
            raise TypeError(f"onnx.export() got an unexpected keyword argument {name!r}")
        if value not in fine[name] and not (name == "training" and _is_eval(value)):
            raise ValueError(f"onnx.export(): {name}={value!r} is not supported")


def _is_eval(mode: Any) -> bool:
    return getattr(mode, "name", str(mode)).upper().endswith("EVAL")


def _exported(model: Any, args: tuple, kwargs: Mapping | None, input_names: Any,
              output_names: Any, dynamic_axes: Any,
              dynamic_shapes: Any) -> tuple[Any, list[str]]:
    """The ``ExportedProgram`` to translate and the default names of its user inputs."""
    from ..export import ExportedProgram
    from ..export import export as trace

    if isinstance(model, ExportedProgram):
        if dynamic_axes is not None or dynamic_shapes is not None:
            raise ValueError("onnx.export(): an ExportedProgram's dynamic dimensions are fixed "
                             "at its export; dynamic_axes/dynamic_shapes must be None")
        n = len(model.graph.placeholders("input"))
        return model, [f"input_{i}" if n > 1 else "input" for i in range(n)]
    names = _forward_names(model, len(args), kwargs)
    if dynamic_axes is not None:
        if dynamic_shapes is not None:
            raise ValueError("onnx.export(): give dynamic_axes or dynamic_shapes, not both")
        dynamic_shapes = _shapes_from_axes(dynamic_axes, list(input_names or names),
                                           output_names, len(args) + len(kwargs or {}))
    was_training = model.training
    model.eval()  # PyTorch's default TrainingMode.EVAL: dropout off, batch norm's running stats
    try:
        ep = trace(model, args, kwargs, dynamic_shapes=dynamic_shapes)
    finally:
        model.train(was_training)
    return ep, names


def _forward_names(model: Any, n_args: int, kwargs: Mapping | None) -> list[str]:
    try:
        params = [p for p in inspect.signature(model.forward).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        params = []
    names = [p.name for p in params[:n_args]]
    names += [f"input_{i}" for i in range(len(names), n_args)]
    return names + list(kwargs or {})


def _shapes_from_axes(dynamic_axes: Mapping, names: list[str], output_names: Any,
                      n: int) -> tuple:
    """``dynamic_axes`` (``{"x": {0: "batch"}}`` or ``{"x": [0]}``) as ``dynamic_shapes``:
    one ``Dim`` per distinct name, so axes that share a name share a size. Output names are
    accepted (an output's dims follow from the inputs'); any other key is an error."""
    from ..export import Dim

    dims: dict[str, Any] = {}
    shapes: list = [None] * n
    for key, axes in dynamic_axes.items():
        if key not in names:
            if _is_output_name(key, output_names):
                continue
            raise ValueError(f"onnx.export(): dynamic_axes names {key!r}, which is neither an "
                             f"input ({', '.join(map(repr, names))}) nor an output")
        i = names.index(key)
        if not isinstance(axes, Mapping):
            axes = {int(a): f"{key}_dim_{int(a)}" for a in axes}
        shapes[i] = {int(a): dims.setdefault(str(name), Dim(_identifier(str(name))))
                     for a, name in axes.items()}
    return tuple(shapes)


def _is_output_name(key: str, output_names: Any) -> bool:
    if output_names is not None:
        return key in output_names
    return key == "output" or (key.startswith("output_") and key[7:].isdigit())


def _identifier(name: str) -> str:
    out = "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in name)
    return out if out.isidentifier() else f"d_{out}"


def write_atomically(proto: onnx.ModelProto, path: str, external_data: bool) -> None:
    """Write ``proto`` to ``path`` through a temporary file in the same folder (renamed over
    ``path`` once complete); weights past 2 GB go to ``<file name>.data`` beside it."""
    folder = os.path.dirname(os.path.abspath(path)) or "."
    big = proto.ByteSize() > EXTERNAL_DATA_THRESHOLD
    if big and not external_data:
        raise OnnxExporterError(f"onnx.export(): the model is over 2 GB "
                                f"({proto.ByteSize()} bytes): external_data=True is needed")
    with tempfile.TemporaryDirectory(dir=folder, prefix=".onnx-export-") as tmp:
        tmp_model = os.path.join(tmp, os.path.basename(path))
        data_name = os.path.basename(path) + ".data"
        if big:
            copy = onnx.ModelProto()
            copy.CopyFrom(proto)  # saving with external data rewrites the tensors it is given
            onnx.save_model(copy, tmp_model, save_as_external_data=True,
                            all_tensors_to_one_file=True, location=data_name,
                            size_threshold=1024)
            os.replace(os.path.join(tmp, data_name), os.path.join(folder, data_name))
        else:
            onnx.save_model(proto, tmp_model)
        os.replace(tmp_model, path)
