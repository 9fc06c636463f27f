"""``save(ep, f)`` / ``load(f)``: an ``ExportedProgram`` as one zip file holding
``graph.json`` (the graph, readable: one entry per node with its op, inputs, attrs, shapes
and dtypes) and ``weights.safetensors`` (parameters, buffers, constants). Nothing is
pickled, so loading runs no code from the file.

A program with dynamic dims is written as format version 2: its sizes that depend on the
symbols are strings (``"s0"``, ``"4*s0*s1 + 2"``) in shapes and ``{"sym": "..."}`` (or
``{"symfloat": ...}`` for a float operand) in inputs and attrs, and ``range_constraints``
maps each symbol to its range and Dim name. Static programs stay version 1."""

from __future__ import annotations

__all__ = ["save", "load", "FORMAT_VERSION"]

import io
import json
import math
import os
import zipfile
import zlib
from typing import Any

from .._checkpoint.limits import file_size, read_entry
from .._checkpoint.storage import CheckpointError
from ..core import dtypes as _dt
from ..core.device import device as Device
from ..core.op import Op
from ..graph.ir import Graph, Node, SymExpr, Value

FORMAT_VERSION = 2  # the newest written; 1 (static shapes only) is read too
_VERSIONS = (1, 2)
_GRAPH, _WEIGHTS = "graph.json", "weights.safetensors"


def _enc(a: Any, node: int) -> Any:
    if isinstance(a, Value):
        return {"value": a.name}
    if isinstance(a, SymExpr):
        return {"symfloat" if a.is_float else "sym": str(a)}
    if isinstance(a, bool) or a is None or isinstance(a, (int, str)):
        return a
    if isinstance(a, float):
        return a if math.isfinite(a) else {"float": repr(a)}
    if isinstance(a, (tuple, list)):
        return {"tuple" if isinstance(a, tuple) else "list": [_enc(x, node) for x in a]}
    if isinstance(a, _dt.dtype):
        return {"dtype": a.name}
    if isinstance(a, Device):
        return {"device": str(a)}
    raise TypeError(f"save(): node {node} has an argument of type {type(a).__name__} that "
                    "the graph format cannot hold")


def _dec(a: Any, values: dict[str, Value]) -> Any:
    if not isinstance(a, dict):
        return a
    (kind, x), = a.items()
    if kind == "value":
        return values[x]
    if kind == "float":
        return float(x)
    if kind in ("sym", "symfloat"):
        return SymExpr.parse(x, kind == "symfloat")
    if kind in ("tuple", "list"):
        items = [_dec(v, values) for v in x]
        return tuple(items) if kind == "tuple" else items
    if kind == "dtype":
        return _dtype(x)
    if kind == "device":
        return Device(x)
    raise ValueError(f"load(): unknown encoded argument kind {kind!r}")


def _dtype(name: Any) -> _dt.dtype:
    found = getattr(_dt, name, None) if isinstance(name, str) else None
    if not isinstance(found, _dt.dtype):
        raise ValueError(f"unknown dtype {name!r:.80}")
    return found


def _shape_enc(shape: tuple) -> list:
    return [str(d) if isinstance(d, SymExpr) else d for d in shape]


def _shape_dec(shape: list) -> tuple:
    return tuple(SymExpr.parse(d) if isinstance(d, str) else d for d in shape)


def _graph_json(graph: Graph) -> dict:
    nodes = []
    for i, n in enumerate(graph.nodes):
        nodes.append({
            "kind": n.kind, "op": n.op.name if n.op is not None else None,
            "inputs": [_enc(a, i) for a in n.inputs], "attrs": [_enc(a, i) for a in n.attrs],
            "outputs": [{"name": v.name, "shape": _shape_enc(v.shape), "dtype": v.dtype.name,
                         "device": str(v.device)} for v in n.outputs],
            "role": n.role, "target": n.target, "multi": n.multi})
    return {"format": "mbtorch.export", "version": 1, "nodes": nodes,
            "outputs": [_enc(v, -1) for v in graph.outputs],
            "output_spec": _spec_enc(graph.output_spec)}


def _spec_enc(spec: Any) -> Any:
    if spec is None:
        return None
    kind, items = spec
    if kind is dict:
        return {"dict": [[k, _spec_enc(s)] for k, s in items]}
    return {kind.__name__: [_spec_enc(s) for s in items]}


def _spec_dec(spec: Any) -> Any:
    if spec is None:
        return None
    (kind, items), = spec.items()
    if kind == "dict":
        return (dict, tuple((k, _spec_dec(s)) for k, s in items))
    return ({"tuple": tuple, "list": list}[kind], tuple(_spec_dec(s) for s in items))


def _graph_from(doc: dict) -> Graph:
    if doc.get("format") != "mbtorch.export" or doc.get("version") not in _VERSIONS:
        raise ValueError(f"load(): not an mbtorch.export graph of format version "
                         f"{' or '.join(map(str, _VERSIONS))} (found {doc.get('format')!r} "
                         f"{doc.get('version')!r})")
    graph, values = Graph(), {}
    for entry in doc["nodes"]:
        node = Node(entry["kind"], Op[entry["op"]] if entry["op"] else None,
                    tuple(_dec(a, values) for a in entry["inputs"]),
                    tuple(_dec(a, values) for a in entry["attrs"]),
                    role=entry["role"], target=entry["target"], multi=entry["multi"])
        for out in entry["outputs"]:
            v = Value(out["name"], _shape_dec(out["shape"]), _dtype(out["dtype"]),
                      Device(out["device"]), node)
            values[v.name] = v
            node.outputs.append(v)
        graph.nodes.append(node)
    graph.outputs = [_dec(a, values) for a in doc["outputs"]]
    graph.output_spec = _spec_dec(doc["output_spec"])
    return graph


def save(ep: Any, f: str | os.PathLike | Any, *, extra_files: dict | None = None) -> None:
    """Write ``ep`` to ``f`` (a path or a binary file object); see the module docstring."""
    from ..serialization import save as save_tensors

    weights = io.BytesIO()
    tensors = {f"state/{k}": v.detach() for k, v in ep.state_dict.items()}
    tensors.update({f"constants/{k}": v for k, v in ep.constants.items()})
    save_tensors(tensors, weights, format="safetensors")
    doc = _graph_json(ep.graph)
    if ep.range_constraints:
        doc["version"] = 2
        doc["range_constraints"] = {
            s: {"min": vr.lower, "max": None if vr.upper == math.inf else vr.upper,
                "dim": ep.dim_names.get(s, s)} for s, vr in ep.range_constraints.items()}
    text = json.dumps(doc, indent=1)
    with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr(_GRAPH, text)
        z.writestr(_WEIGHTS, weights.getvalue())
        for name, data in (extra_files or {}).items():
            z.writestr(f"extra/{name}", data)


# what a damaged or hostile file makes zipfile, zlib, json and the graph decoder raise
_BROKEN_ZIP = (zipfile.BadZipFile, EOFError, NotImplementedError, OSError, zlib.error)
_MALFORMED = (KeyError, TypeError, ValueError, AttributeError, IndexError, RecursionError,
              RuntimeError)


def _records(f: Any, where: str, extra_files: dict | None) -> tuple[bytes, bytes]:
    """graph.json and weights.safetensors of the zip ``f`` (filling ``extra_files``), each
    record's declared size checked against the file before it is inflated."""
    with zipfile.ZipFile(f) as z:
        size = file_size(z.fp)
        names = set(z.namelist())
        if not {_GRAPH, _WEIGHTS} <= names:
            raise ValueError(f"load(): {where} is not an mbtorch.export file (it lacks "
                             f"{_GRAPH} or {_WEIGHTS})")
        graph, weights = (read_entry(z, n, size, where) for n in (_GRAPH, _WEIGHTS))
        for name in extra_files or ():
            if f"extra/{name}" not in names:
                raise ValueError(f"load(): {where} has no extra file {name!r}")
            extra_files[name] = read_entry(z, f"extra/{name}", size, where).decode()
    return graph, weights


def _program(doc: Any, graph: Graph, tensors: dict) -> Any:
    from . import ExportedProgram
    from ._dims import ValueRange

    state = {k[6:]: v for k, v in tensors.items() if k.startswith("state/")}
    constants = {k[10:]: v for k, v in tensors.items() if k.startswith("constants/")}
    ranges = {s: ValueRange(r["min"], math.inf if r["max"] is None else r["max"])
              for s, r in doc.get("range_constraints", {}).items()}
    names = {s: r["dim"] for s, r in doc.get("range_constraints", {}).items()}
    return ExportedProgram(graph, state, constants, ranges, names)


def load(f: str | os.PathLike | Any, *, extra_files: dict | None = None) -> Any:
    """Read a program written by ``save``. A damaged or hostile file is a ``ValueError``
    naming the file and the record at fault; nothing in it is run."""
    from ..serialization import load as load_tensors

    where = repr(os.fspath(f)) if isinstance(f, (str, os.PathLike)) else \
        repr(str(getattr(f, "name", "<file object>")))
    try:
        text, weights = _records(f, where, extra_files)
    except FileNotFoundError:
        raise
    except (*_BROKEN_ZIP, CheckpointError) as exc:
        raise ValueError(f"load(): {where} is not a readable mbtorch.export file: "
                         f"{type(exc).__name__}: {exc}") from None
    try:
        doc = json.loads(text)
        graph = _graph_from(doc)
    except _MALFORMED as exc:
        raise ValueError(f"load(): {_GRAPH} of {where} is malformed: "
                         f"{type(exc).__name__}: {exc}") from None
    try:
        tensors = load_tensors(io.BytesIO(weights))
    except CheckpointError as exc:
        raise ValueError(f"load(): {_WEIGHTS} of {where} is damaged: {exc}") from None
    try:
        return _program(doc, graph, tensors)
    except _MALFORMED as exc:
        raise ValueError(f"load(): {_GRAPH} of {where} is malformed: "
                         f"{type(exc).__name__}: {exc}") from None
