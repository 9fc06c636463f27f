"""``mbtorch``'s public names: a written list, held to PyTorch's (``dir(torch)``)."""

from __future__ import annotations

import ast
import importlib
import pathlib
import types

import torch

import mbtorch as mt

# Public names torch lacks, each with the reason it is public here.
NOT_IN_TORCH = {
    "core": "the plugin API (mbtorch.core.hookspecs, backend, op) that backends import",
    "data": "Dataset/DataLoader; torch keeps them in torch.utils.data",
    "train": "the mbtorch-train program; an attribute only once imported (python -m ...)",
    "train_parallel": "its data-parallel form; an attribute only once imported",
    "compat": "the API-coverage report against PyTorch (python -m mbtorch.compat); an "
              "attribute only once imported",
    "graph": "the graph layer under export and compile (IR, capture, interpreter); an "
             "attribute only once imported",
    "vision": "torchvision's models, datasets and transforms (its own package in PyTorch's "
              "world: import mbtorch.vision); an attribute only once imported",
    "text": "Hugging Face's language models (GPT-2) with transformers' parameter names: "
            "import mbtorch.text; an attribute only once imported",
}

# Submodules that become attributes only when something imports them.
ON_DEMAND = {"train", "train_parallel", "compat", "graph", "vision", "text"}

# Submodules that are public attributes of mbtorch (torch has each, except those above).
SUBMODULES = {"accelerator", "amp", "ao", "compiler", "cpu", "export", "fft", "hub", "onnx",
              "special",
              "autograd", "backends", "core", "cuda", "data", "distributed", "distributions",
              "linalg", "nn",
              "optim", "serialization", "sparse", "utils"}

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGES = ("mbtorch", "plugins", "conformance/mbtorch_conformance", "examples/mbtorch_mini")


def _public() -> set[str]:
    return {n for n in dir(mt) if not n.startswith("_")}


def test_public_names_are_the_written_list_plus_submodules():
    public = _public()
    modules = {n for n in public if isinstance(getattr(mt, n), types.ModuleType)}
    assert modules - ON_DEMAND == SUBMODULES
    assert public - modules == set(mt.__all__)
    assert len(mt.__all__) == len(set(mt.__all__))


def test_every_public_name_is_torchs_or_has_a_reason():
    extra = sorted(n for n in _public() if not hasattr(torch, n) and n not in NOT_IN_TORCH)
    assert extra == [], f"not in torch and no reason in NOT_IN_TORCH: {extra}"


def test_internals_are_not_public():
    for name in ("run", "STATE", "define", "Op", "math", "FLOAT", "tensor_method", "wrap",
                 "annotations", "contiguous", "view"):
        assert not hasattr(mt, name), name


def test_public_names_are_torch_kinds_of_things():
    # a name torch has must mean the same kind of object here (function, class, dtype, ...)
    for name in mt.__all__:
        ours, theirs = getattr(mt, name), getattr(torch, name, None)
        if theirs is None:
            continue
        assert callable(ours) == callable(theirs), name


def test_every_module_declares_all():
    missing = []
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            if ".venv" in path.parts or "build" in path.parts:
                continue
            tree = ast.parse(path.read_text())
            if not any(isinstance(node, (ast.Assign, ast.AnnAssign)) and any(
                    isinstance(t, ast.Name) and t.id == "__all__"
                    for t in (node.targets if isinstance(node, ast.Assign) else [node.target]))
                    for node in tree.body):
                missing.append(str(path.relative_to(ROOT)))
    assert missing == []


def test_all_lists_only_names_the_module_has():
    for name in ("mbtorch", "mbtorch.nn", "mbtorch.nn.functional", "mbtorch.optim",
                 "mbtorch.autograd", "mbtorch.data", "mbtorch.linalg", "mbtorch.core.ops.binary",
                 "mbtorch.core.ops.unary", "mbtorch.core.ops.views"):
        module = importlib.import_module(name)
        assert [n for n in module.__all__ if not hasattr(module, n)] == [], name


def test_tensor_methods_are_the_modules_tables():
    from mbtorch.core import ops
    from mbtorch.core.tensor import Tensor

    tables = [m for m in vars(ops).values()
              if isinstance(m, types.ModuleType) and hasattr(m, "TENSOR_METHODS")]
    assert len(tables) >= 20
    for module in [*tables, mt.autograd.api]:
        for name, fn in module.TENSOR_METHODS.items():
            assert vars(Tensor)[name] is fn, (module.__name__, name)
