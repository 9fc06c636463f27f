"""Hostile files for ``tests/test_hostile_files.py``: builders of files in each format and
the hand-made cases, each faking one thing (a size, an offset, a nesting, an opcode)."""

from __future__ import annotations

import gzip
import io
import json
import pickle
import struct
import zipfile

import numpy as np

import mbtorch as mt
from mbtorch.data.idx import read_idx, write_idx
from mbtorch.serialization import CheckpointError, WeightsOnlyUnpicklingError

SMALL = 16 << 20
PER_BYTE = 256
"""A refusal may allocate at most ``SMALL + PER_BYTE * file size`` bytes (Python and NumPy,
by tracemalloc): linear in what the file holds (one pickle opcode byte can make a 56-byte list
and its bookkeeping), never what it claims (the huge cases claim gigabytes)."""


# -- building files ---------------------------------------------------------------------------
def _op(obj) -> bytes:
    """The protocol-2 opcodes that push ``obj`` (pickle's own output minus PROTO and STOP)."""
    return pickle.dumps(obj, 2)[2:-1]


def _global(module: str, name: str) -> bytes:
    return f"c{module}\n{name}\n".encode()


def tensor_pickle(numel=3, offset=0, size=(3,), stride=(1,), storage="FloatStorage") -> bytes:
    """``{"w": tensor}`` as torch.save pickles it, each number of the tensor chosen."""
    pid = (b"(" + _op("storage") + _global("torch", storage) + _op("0") + _op("cpu")
           + _op(numel) + b"tQ")
    tensor = (_global("torch._utils", "_rebuild_tensor_v2") + b"(" + pid + _op(offset)
              + _op(tuple(size)) + _op(tuple(stride)) + b"\x89"
              + _global("collections", "OrderedDict") + b")RtR")
    return b"\x80\x02}" + _op("w") + tensor + b"s."


def checkpoint_zip(pkl: bytes, records: dict | None = None, deflate: bool = False) -> bytes:
    """A zip in torch.save's layout holding the pickle ``pkl`` and ``records``
    (default: one storage '0' of three float32)."""
    records = {"0": np.arange(3, dtype=np.float32).tobytes()} if records is None else records
    out = io.BytesIO()
    method = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
    with zipfile.ZipFile(out, "w", method) as z:
        z.writestr("archive/data.pkl", pkl)
        z.writestr("archive/byteorder", "little")
        for key, data in records.items():
            z.writestr(f"archive/data/{key}", data)
    return out.getvalue()


def patch_central(data: bytes, name: str, field: str, value: int) -> bytes:
    """``data`` with one field of record ``name``'s central directory entry (and its local
    header, for sizes) rewritten: "size" (uncompressed), "offset" or "flags"; or the local
    header's extra field length ("local_extra")."""
    buf, key = bytearray(data), name.encode()
    at = buf.find(b"PK\x01\x02")
    while at >= 0:
        if buf[at + 46:at + 46 + len(key)] == key and field == "local_extra":
            local = struct.unpack("<I", buf[at + 42:at + 46])[0]
            buf[local + 28:local + 30] = struct.pack("<H", value)
            return bytes(buf)
        if buf[at + 46:at + 46 + len(key)] == key:
            pos, fmt = {"size": (24, "<I"), "offset": (42, "<I"), "flags": (8, "<H")}[field]
            buf[at + pos:at + pos + struct.calcsize(fmt)] = struct.pack(fmt, value)
            if field == "size":
                local = struct.unpack("<I", buf[at + 42:at + 46])[0]
                buf[local + 22:local + 26] = struct.pack("<I", value)
            return bytes(buf)
        at = buf.find(b"PK\x01\x02", at + 4)
    raise AssertionError(f"no central directory entry for {name}")


def safetensors_file(header: dict, data: bytes = b"", length: int | None = None) -> bytes:
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text) if length is None else length) + text + data


def deep_list_pickle(depth: int) -> bytes:
    return b"\x80\x02" + b"]" * depth + b"a" * (depth - 1) + b"."


def memo_bomb_pickle(levels: int = 60, width: int = 10) -> bytes:
    """Each level is a tuple of ``width`` references to the level below: ``width**levels``
    paths through a structure that the file spells in ``levels * width`` opcodes."""
    body = b"\x80\x02]q\x00"
    for i in range(levels):
        body += b"(" + (b"h" + bytes([i])) * width + b"t"
        body += b"q" + bytes([i + 1])
    return body + b"."


def valid_files(tmp) -> dict[str, bytes]:
    """One valid file of each format (the same bytes every time; the global generator is left
    as it was)."""
    state = mt.get_rng_state()
    try:
        return _valid_files(tmp)
    finally:
        mt.set_rng_state(state)


def _valid_files(tmp) -> dict[str, bytes]:
    mt.manual_seed(0)
    write_idx(tmp / "v.idx", np.arange(24, dtype=np.uint8).reshape(2, 3, 4))
    write_idx(tmp / "v.idx.gz", np.arange(24, dtype=np.float32).reshape(6, 4))
    sd = {"w": mt.randn(3, 4), "b": mt.arange(3), "meta": {"n": [1, 2.5, "x"]},
          "v": mt.randn(4, 3).t()}
    files = {"idx": (tmp / "v.idx").read_bytes(), "idx.gz": (tmp / "v.idx.gz").read_bytes()}
    for kind, kw in (("zip", {}), ("legacy", {"_use_new_zipfile_serialization": False}),
                     ("safetensors", {"format": "safetensors"})):
        buf = io.BytesIO()
        mt.save(sd, buf, **kw)
        files[kind] = buf.getvalue()
    files["zip-mmap"] = files["zip"]  # the same file, its storages mapped
    files["export"] = export_file()
    return files


def export_file() -> bytes:
    """A valid ``mbtorch.export`` file of a small MLP."""
    state = mt.get_rng_state()
    try:
        mt.manual_seed(0)
        ep = mt.export.export(mt.nn.Sequential(mt.nn.Linear(4, 3), mt.nn.ReLU()),
                              (mt.randn(2, 4),))
    finally:
        mt.set_rng_state(state)
    buf = io.BytesIO()
    mt.export.save(ep, buf)
    return buf.getvalue()


# -- loading and judging ----------------------------------------------------------------------
def load_as(kind: str, path) -> object:
    if kind.startswith("idx"):
        return read_idx(path)
    if kind == "export":
        return mt.export.load(path)
    return mt.load(path, mmap=kind == "zip-mmap")


def _idx_header(code: int, *dims: int) -> bytes:
    return bytes([0, 0, code, len(dims)]) + struct.pack(f">{len(dims)}I", *dims)


def _legacy(main: bytes | None = None, numel: int | None = None, patch=None) -> bytes:
    """A legacy-format checkpoint of ``{"w": arange(3.)}``, its main pickle replaced by
    ``main`` or its storage's numel by ``numel``, or ``patch(bytes)`` applied."""
    buf = io.BytesIO()
    mt.save({"w": mt.arange(3.0)}, buf, _use_new_zipfile_serialization=False)
    data = buf.getvalue()
    if numel is not None:
        at = data.index(b"K\x03", data.index(b"cpu"))
        data = data[:at] + _op(numel) + data[at + 2:]
    if main is not None:
        from mbtorch._checkpoint.torch_write import LEGACY_MAGIC, LEGACY_PROTOCOL_VERSION
        data = (pickle.dumps(LEGACY_MAGIC, 2) + pickle.dumps(LEGACY_PROTOCOL_VERSION, 2)
                + pickle.dumps({"little_endian": True}, 2) + main + pickle.dumps([], 2))
    return patch(data) if patch else data


def _export(graph=None, weights=None, drop=()) -> bytes:
    """A valid export file with graph.json replaced (``graph(doc) -> doc`` or bytes) or
    weights.safetensors replaced, or records dropped."""
    src = zipfile.ZipFile(io.BytesIO(export_file()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name in src.namelist():
            data = src.read(name)
            if name in drop:
                continue
            if name == "graph.json" and graph is not None:
                data = graph if isinstance(graph, bytes) else json.dumps(
                    graph(json.loads(data))).encode()
            if name == "weights.safetensors" and weights is not None:
                data = weights
            z.writestr(name, data)
    return out.getvalue()


def _node_edit(key, value, field="outputs"):
    def edit(doc):
        node = next(n for n in doc["nodes"] if n["kind"] == "op")
        if field == "outputs":
            node["outputs"][0][key] = value
        else:
            node[key] = value
        return doc
    return edit


def _nested_structure(depth: int) -> bytes:
    structure = "[" + '{"__list__": [' * depth + "1" + "]}" * depth + "]"
    meta = {"mbtorch.structure": '{"__list__": ' + structure + "}"}
    return safetensors_file({"__metadata__": meta})


DEEP = 20_000
HUGE = {  # case id: (format, file builder, load kwargs, error type, message pattern)
    "idx: dims of 2^40 values": (
        "idx", lambda t: _idx_header(8, 2**20, 2**20) + b"x" * 10, {}, ValueError,
        r"truncated IDX file: the header says 1048576x1048576 values of uint8"),
    "idx: dims whose product overflows int64": (
        "idx", lambda t: _idx_header(8, 65536, 65536, 65536, 65536), {}, ValueError,
        r"65536x65536x65536x65536 values of uint8 \(18446744073709551616 bytes"),
    "idx.gz: dims of 2^31 values": (
        "idx.gz", lambda t: gzip.compress(_idx_header(8, 2**31) + bytes(1000)), {}, ValueError,
        r"truncated IDX file: the header says 2147483648 values"),
    "idx.gz: 16 MiB bomb behind a 10-value header": (
        "idx.gz", lambda t: gzip.compress(_idx_header(8, 10) + bytes(16 << 20)), {},
        ValueError, r"IDX file has trailing bytes: .* the file holds more than 10"),
    "zip: record claims 1 GiB, holds 12 bytes": (
        "zip", lambda t: patch_central(checkpoint_zip(tensor_pickle(numel=2**28, size=(3,))),
                                       "archive/data/0", "size", 2**30), {}, CheckpointError,
        r"record 'archive/data/0' .* claims 1073741824 bytes, more than its 12 stored bytes"),
    "zip (mmap): record claims 1 GiB, holds 12 bytes": (
        "zip", lambda t: patch_central(checkpoint_zip(tensor_pickle(numel=2**28, size=(3,))),
                                       "archive/data/0", "size", 2**30), {"mmap": True},
        CheckpointError, r"claims 1073741824 bytes, more than its 12 stored bytes"),
    "zip: deflated data.pkl claims 2 GiB": (
        "zip", lambda t: patch_central(checkpoint_zip(tensor_pickle(), deflate=True),
                                       "archive/data.pkl", "size", 2**31), {}, CheckpointError,
        r"record 'archive/data.pkl' .* claims 2147483648 bytes, more than its \d+ stored"),
    "legacy: storage of 2^30 elements": (
        "legacy", lambda t: _legacy(numel=2**30), {}, CheckpointError,
        r"storage '0' .* declares 1073741824 .*float32 elements, more than the \d+ bytes left"),
    "legacy: string of 2^31 bytes": (
        "legacy", lambda t: _legacy(patch=lambda d: d.replace(
            b"X\x01\x00\x00\x00w", b"X" + struct.pack("<I", 2**31), 1)), {}, CheckpointError,
        r"not a valid PyTorch \(legacy format\) checkpoint .*truncated"),
    "safetensors: header length 2^40": (
        "safetensors", lambda t: struct.pack("<Q", 2**40) + b"{}", {}, CheckpointError,
        r"not a valid safetensors checkpoint"),
    "safetensors: data offsets past the end": (
        "safetensors", lambda t: safetensors_file(
            {"w": {"dtype": "F32", "shape": [2**38], "data_offsets": [0, 2**40]}}, bytes(12)),
        {}, CheckpointError, r"not a valid safetensors checkpoint"),
    "safetensors: shape of 2^40 over 12 bytes": (
        "safetensors", lambda t: safetensors_file(
            {"w": {"dtype": "F32", "shape": [2**40], "data_offsets": [0, 12]}}, bytes(12)),
        {}, CheckpointError, r"not a valid safetensors checkpoint"),
    "export: graph.json claims 2 GiB": (
        "export", lambda t: patch_central(export_file(), "graph.json", "size", 2**31), {},
        ValueError, r"graph.json' .* claims 2147483648 bytes, more than its \d+ stored"),
}
CASES = {**HUGE,
    "idx: header cut short": (
        "idx", lambda t: bytes([0, 0, 8, 3]) + bytes(4), {}, ValueError,
        r"truncated IDX header: 3 dimensions need 16 bytes"),
    "zip: record past the end of the file": (
        "zip", lambda t: patch_central(checkpoint_zip(tensor_pickle()), "archive/data/0",
                                       "offset", 2**31), {}, CheckpointError,
        r"claims 12 bytes at offset 2147483648, past the end of the \d+-byte file"),
    "zip (mmap): local header's extra field past the end": (
        "zip", lambda t: patch_central(checkpoint_zip(tensor_pickle()), "archive/data/0",
                                       "local_extra", 0xFFFF), {"mmap": True}, CheckpointError,
        r"storage record 'archive/data/0' of .* reaches past the end of the file"),
    "zip: record flagged as encrypted": (
        "zip", lambda t: patch_central(checkpoint_zip(tensor_pickle()), "archive/data.pkl",
                                       "flags", 1), {}, CheckpointError,
        r"record 'archive/data.pkl' of .* is encrypted"),
    "zip: storage smaller than its numel": (
        "zip", lambda t: checkpoint_zip(tensor_pickle(numel=4, size=(4,))), {}, CheckpointError,
        r"storage record 'archive/data/0' .* holds 12 bytes where 4 .*float32 elements need 16"),
    "zip: view past its storage": (
        "zip", lambda t: checkpoint_zip(tensor_pickle(size=(4,))), {}, CheckpointError,
        r"a tensor of size \(4,\), stride \(1,\) at offset 0 reaches past its storage of 3"),
    "zip: offset past its storage": (
        "zip", lambda t: checkpoint_zip(tensor_pickle(offset=3, size=(1,))), {},
        CheckpointError, r"at offset 3 reaches past its storage of 3 elements"),
    "zip: view of 2^62 elements": (
        "zip", lambda t: checkpoint_zip(tensor_pickle(size=(2**62,), stride=(0,))), {},
        CheckpointError, r"overflows 64-bit sizes"),
    "zip: 65 dims": (
        "zip", lambda t: checkpoint_zip(tensor_pickle(size=(1,) * 65, stride=(0,) * 65)), {},
        CheckpointError, r"a tensor of 65 dims; at most 64"),
    "zip: negative numel": (
        "zip", lambda t: checkpoint_zip(tensor_pickle(numel=-1)), {},
        WeightsOnlyUnpicklingError, r"malformed storage id"),
    "zip: numel of 2^70": (
        "zip", lambda t: checkpoint_zip(tensor_pickle(numel=2**70)), {}, CheckpointError,
        r"holds 12 bytes where 1180591620717411303424 .*float32 elements need"),
    "zip: storage record missing": (
        "zip", lambda t: checkpoint_zip(tensor_pickle(), records={}), {}, CheckpointError,
        r"lacks the storage record 'archive/data/0'"),
    "zip: data.pkl missing": (
        "zip", lambda t: zipfile_bytes({"archive/data/0": bytes(12)}), {}, CheckpointError,
        r"has no data.pkl record"),
    "zip: lists nested 20000 deep": (
        "zip", lambda t: checkpoint_zip(deep_list_pickle(DEEP), {}), {}, CheckpointError,
        r"nests containers more than 500 deep"),
    "zip: dicts nested 20000 deep": (
        "zip", lambda t: checkpoint_zip(b"\x80\x02}" + b"K\x01}" * DEEP + b"s" * DEEP + b".",
                                        {}), {}, CheckpointError, r"nests containers more than"),
    "zip: GLOBAL os.system": (
        "zip", lambda t: checkpoint_zip(b"\x80\x02" + _global("os", "system") + _op(("ls",))
                                        + b"R.", {}), {}, WeightsOnlyUnpicklingError,
        r"GLOBAL os.system .*blocked|Unsupported global: GLOBAL os.system"),
    "zip: INST opcode": (
        "zip", lambda t: checkpoint_zip(b"\x80\x02(ios\nsystem\n.", {}), {},
        WeightsOnlyUnpicklingError, r"Unsupported operand 105"),
    "zip: OBJ opcode": (
        "zip", lambda t: checkpoint_zip(b"\x80\x02(o.", {}), {}, WeightsOnlyUnpicklingError,
        r"Unsupported operand 111"),
    "zip: EXT1 opcode": (
        "zip", lambda t: checkpoint_zip(b"\x80\x02\x82\x01.", {}), {},
        WeightsOnlyUnpicklingError, r"Unsupported operand 130"),
    "zip: LONG4 of 2^31 bytes": (
        "zip", lambda t: checkpoint_zip(b"\x80\x02\x8b" + struct.pack("<i", 2**31 - 1) + b".",
                                        {}), {}, WeightsOnlyUnpicklingError,
        r"LONG pickle has an unsupported byte count"),
    "zip: rebuild called with one argument": (
        "zip", lambda t: checkpoint_zip(b"\x80\x02" + _global("torch._utils",
                                                               "_rebuild_tensor_v2")
                                        + _op((1,)) + b"R.", {}), {}, CheckpointError,
        r"calling _rebuild_tensor_v2 failed: missing a required argument"),
    "legacy: lists nested 20000 deep": (
        "legacy", lambda t: _legacy(main=deep_list_pickle(DEEP)), {}, CheckpointError,
        r"nests containers more than 500 deep"),
    "safetensors: structure nested 20000 deep": (
        "safetensors", lambda t: _nested_structure(DEEP), {}, CheckpointError,
        r"corrupted structure metadata: RecursionError"),
    "safetensors: structure nested 501 deep": (
        "safetensors", lambda t: _nested_structure(300), {}, CheckpointError,
        r"structure metadata of .* nests containers more than 500 deep"),
    "safetensors: malformed structure": (
        "safetensors", lambda t: safetensors_file({"__metadata__": {
            "mbtorch.structure": '{"__dict__": [[1]]}'}}), {}, CheckpointError,
        r"malformed structure metadata: ValueError"),
    "export: weights.safetensors missing": (
        "export", lambda t: _export(drop=("weights.safetensors",)), {}, ValueError,
        r"is not an mbtorch.export file \(it lacks graph.json or weights.safetensors\)"),
    "export: graph.json nested 20000 deep": (
        "export", lambda t: _export(graph=b"[" * DEEP), {}, ValueError,
        r"graph.json of .* is malformed: RecursionError"),
    "export: unknown op": (
        "export", lambda t: _export(graph=_node_edit("op", "NO_SUCH_OP", field="node")), {},
        ValueError, r"graph.json of .* is malformed: KeyError: 'NO_SUCH_OP'"),
    "export: dtype naming a module attribute": (
        "export", lambda t: _export(graph=_node_edit("dtype", "np")), {}, ValueError,
        r"is malformed: ValueError: unknown dtype 'np'"),
    "export: input naming no value": (
        "export", lambda t: _export(graph=_node_edit("inputs", [{"value": "nowhere"}],
                                                        field="node")), {}, ValueError,
        r"is malformed: KeyError: 'nowhere'"),
    "export: damaged weights": (
        "export", lambda t: _export(weights=b"\x08" + bytes(7) + b"{junk"), {}, ValueError,
        r"weights.safetensors of .* is damaged"),
}


def zipfile_bytes(records: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name, data in records.items():
            z.writestr(name, data)
    return out.getvalue()


def load_case(tmp, case: str):
    kind, build, kwargs, _, _ = CASES[case]
    path = tmp / f"case.{kind}"
    path.write_bytes(build(tmp))
    if kind.startswith("idx"):
        return read_idx(path)
    return mt.export.load(path) if kind == "export" else mt.load(path, **kwargs)


