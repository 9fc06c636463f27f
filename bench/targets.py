"""What the run measures: every available mbtorch device, plus raw NumPy and PyTorch beside it.

A ``Target`` knows how to turn a NumPy array into its own array type (so every implementation
starts from the same numbers) and how to wait for queued work (``sync``). mbtorch devices come
from ``mbtorch.backends.status()``; PyTorch CPU (and CUDA when there is a GPU) is added when
``torch`` imports. Anything missing becomes a note in the report, never a silent gap.
"""

from __future__ import annotations

import contextlib
import importlib
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np


@dataclass
class Target:
    name: str  # "numpy", "torch:cpu", "torch:cuda", "mbtorch:cpu", "mbtorch:opencl"...
    kind: str  # "numpy" | "torch" | "mbtorch"
    lib: Any  # the module: numpy, torch or mbtorch
    device: str = "cpu"
    sync: Callable[[], Any] | None = None
    notes: list[str] = field(default_factory=list)

    def array(self, a: np.ndarray, requires_grad: bool = False) -> Any:
        """A copy of ``a`` on this target (a leaf that requires grad when asked)."""
        if self.kind == "numpy":
            return a.copy()
        t = self.lib.tensor(a, device=self.device)
        if requires_grad:
            t.requires_grad_(True)
        return t


@dataclass
class Targets:
    items: list[Target]
    notes: list[str]

    def by_kind(self, kind: str) -> list[Target]:
        return [t for t in self.items if t.kind == kind]

    def get(self, name: str) -> Target | None:
        return next((t for t in self.items if t.name == name), None)


def _mbtorch_sync(lib: Any, device_type: str) -> Callable[[], Any] | None:
    """Wait for device 0's queued work: ``mbtorch.<dev>.synchronize()`` when the public API
    has it, else the backend spec's ``synchronize(index)`` hook; None when neither exists."""
    fn = getattr(getattr(lib, device_type, None), "synchronize", None)
    if callable(fn):
        return fn
    from mbtorch.core.plugins import get_backend

    hook = getattr(get_backend(device_type).spec, "synchronize", None)
    return (lambda: hook(0)) if callable(hook) else None


def mbtorch_targets(only: list[str] | None) -> tuple[list[Target], list[str]]:
    import mbtorch

    targets, notes = [], []
    for st in mbtorch.backends.status():
        dev = st.device_type
        if only and dev not in only and f"mbtorch:{dev}" not in only:
            continue
        if st.state != "available" or st.device_count < 1:
            notes.append(f"mbtorch:{dev}: {st.state} — {st.reason or 'no devices'}")
            continue
        sync = _mbtorch_sync(mbtorch, dev)
        t = Target(f"mbtorch:{dev}", "mbtorch", mbtorch, dev, sync)
        if dev != "cpu" and sync is None:
            t.notes.append(f"mbtorch:{dev} declares no synchronize hook: its times assume it "
                           "runs synchronously")
        targets.append(t)
    if only:
        missing = [d for d in only if d.removeprefix("mbtorch:") not in
                   {t.device for t in targets}]
        notes += [f"requested device {d!r} is not an available mbtorch device" for d in missing]
    return targets, notes


def torch_targets() -> tuple[list[Target], list[str]]:
    try:
        torch = importlib.import_module("torch")
    except ImportError as exc:
        return [], [f"PyTorch not installed ({exc}); its columns are empty"]
    out = [Target("torch:cpu", "torch", torch, "cpu")]
    if torch.cuda.is_available():
        out.append(Target("torch:cuda", "torch", torch, "cuda", torch.cuda.synchronize))
    return out, []


def discover(only: list[str] | None = None) -> Targets:
    """NumPy, PyTorch (CPU, CUDA) and the mbtorch devices (all, or those in ``only``)."""
    mb, notes = mbtorch_targets(only)
    th, tnotes = torch_targets()
    return Targets([Target("numpy", "numpy", np)] + th + mb, notes + tnotes)


def to_numpy(x: Any) -> np.ndarray:
    """Host copy of any target's array (for checking results before timing them)."""
    if isinstance(x, np.ndarray):
        return x
    if hasattr(x, "detach"):
        x = x.detach()
    if hasattr(x, "cpu"):
        x = x.cpu()
    return np.asarray(x.numpy())


def check_close(family: str, impl: str, got: Any, want: np.ndarray, rtol: float,
                atol: float) -> None:
    """Raise when a result differs from the NumPy one: a fast wrong answer is no benchmark."""
    g = to_numpy(got)
    if g.shape != want.shape or not np.allclose(g, want, rtol=rtol, atol=atol):
        err = float(np.max(np.abs(g.astype(np.float64) - want))) if g.shape == want.shape \
            else f"shape {g.shape} != {want.shape}"
        raise ValueError(f"{family}: {impl} result differs from NumPy's (max abs err {err})")


@contextlib.contextmanager
def one_thread(targets: Targets):
    """One BLAS/OpenMP thread inside the block: ``threadpoolctl`` for NumPy's OpenBLAS,
    ``torch.set_num_threads`` for PyTorch; yields a note (non-empty: not possible here)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield "threadpoolctl not installed: no single-thread figures"
        return
    torch = next((t.lib for t in targets.items if t.kind == "torch"), None)
    threads = torch.get_num_threads() if torch is not None else None
    try:
        with threadpool_limits(limits=1):
            if torch is not None:
                torch.set_num_threads(1)
            yield ""
    finally:
        if torch is not None:
            torch.set_num_threads(threads)
