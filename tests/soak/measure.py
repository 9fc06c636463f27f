"""Train a small model for many steps, eagerly or as one compiled step, and sample after
warm-up what a leak would grow: resident memory, live tensors and storages, autograd nodes,
Python objects, the device's buffers (opencl: its memory pool) and the caches (compiled
plans, fused kernels, OpenCL programs).

Two models: an MLP (Linear, ReLU, Dropout) with SGD momentum, and a small CNN (Conv2d,
BatchNorm2d, ReLU, MaxPool2d, Dropout, Linear) with Adam (``capturable=True``, the form a
compiled step replays: a plain Adam's Python step count changes every step, so each step would
trace again until the recompile limit). The compiled form is ``mbtorch.compile`` of the whole
step (``zero_grad``, forward, ``backward()``, ``step()``).
"""

from __future__ import annotations

import gc
import os
import time
from dataclasses import dataclass, field
from typing import Any

import mbtorch as mt
import mbtorch.nn.functional as F
from mbtorch.autograd.graph import Node
from mbtorch.core.tensor import Tensor

__all__ = ["MODELS", "Sample", "Run", "rss_bytes", "census", "soak", "default_warmup",
           "activation_bytes", "problems", "SLACK", "RSS_FRACTION"]

MODELS = ("mlp", "cnn")
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def rss_bytes() -> int:
    """This process's resident memory now (``/proc/self/statm``; Linux only)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * _PAGE
    except OSError as exc:
        raise RuntimeError(f"soak: rss_bytes() needs /proc/self/statm ({exc})") from exc


def _trim_heap() -> None:
    """Hand the C heap's freed pages back to the system (glibc's ``malloc_trim(0)``), so that
    resident memory counts live allocations, not what the allocator kept after a free: in a
    long test process other tests' threads and the census's own object list leave freed pages
    behind that would read as growth. Does nothing where the C library has no malloc_trim."""
    global _MALLOC_TRIM
    if _MALLOC_TRIM is None:
        import ctypes
        import ctypes.util

        try:
            _MALLOC_TRIM = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
        except (OSError, AttributeError):
            _MALLOC_TRIM = False
    if _MALLOC_TRIM:
        _MALLOC_TRIM(0)


_MALLOC_TRIM: Any = None


def census(plans: list) -> dict[str, int]:
    """One pass over the garbage collector's objects (after a collection): live tensors, the
    distinct storages they and the compiled ``plans``' planned buffers hold, autograd nodes,
    and all tracked Python objects."""
    gc.collect()
    tensors = nodes = 0
    roots: set[int] = set()
    # by exact type, memoized: isinstance would ask every object's ``__class__``, which some
    # library objects answer with a deprecation warning
    kinds: dict[type, int] = {}
    everything = gc.get_objects()
    for o in everything:
        t = type(o)
        kind = kinds.get(t)
        if kind is None:
            kind = kinds[t] = 1 if issubclass(t, Tensor) else 2 if issubclass(t, Node) else 0
        if kind == 1:
            tensors += 1
            roots.add(id(o._data if o._root is None else o._root._data))
        elif kind == 2:
            nodes += 1
    objects = len(everything)
    del everything
    buffers = sum(len(getattr(p, "buffers", ())) for p in plans)
    return {"tensors": tensors, "storages": len(roots) + buffers, "nodes": nodes,
            "objects": objects}


def _opencl_pool(device: str) -> dict[str, int]:
    """The opencl plugin's memory pool (live and cached buffers, bytes in use) and its
    per-device caches (built programs, reduction plans)."""
    from mbtorch_opencl import storage

    dev = storage.DEVICES[mt.device(device).index or 0]
    pool = dev._pool
    return {"buffers": pool.active_blocks if pool else 0,
            "cached buffers": pool.held_blocks if pool else 0,
            "device bytes": pool.active_bytes if pool else 0,
            "programs": len(dev.kernels), "reduction plans": len(dev.reductions)}


@dataclass
class Sample:
    step: int
    rss: int
    counts: dict[str, int]


@dataclass
class Run:
    device: str
    model: str
    compiled: bool
    steps: int
    warmup: int
    leak_per_step: int  # bytes one step's activations take: what leaking them would cost
    samples: list[Sample] = field(default_factory=list)
    stats: dict[str, int] = field(default_factory=dict)  # the compiled step's, if compiled
    seconds: float = 0.0
    loss: float = float("nan")

    @property
    def after_warmup(self) -> list[Sample]:
        return [s for s in self.samples if s.step >= self.warmup]

    def span(self, key: str) -> tuple[int, int]:
        """(at the end of warm-up, at the end) of ``rss`` or a count."""
        first, last = self.after_warmup[0], self.after_warmup[-1]
        if key == "rss":
            return first.rss, last.rss
        return first.counts[key], last.counts[key]

    def spread(self, key: str) -> int:
        """Largest minus smallest value of count ``key`` over the samples after warm-up."""
        values = [s.counts[key] for s in self.after_warmup]
        return max(values) - min(values)

    def growth_per_100(self, key: str = "rss") -> float:
        a, b = self.span(key)
        measured = self.after_warmup[-1].step - self.after_warmup[0].step
        return (b - a) * 100 / max(measured, 1)


def default_warmup(steps: int) -> int:
    """Steps before the first counted sample: allocators, pools and traces settle there."""
    return min(100, max(10, steps // 4))


def _mlp() -> tuple[mt.nn.Module, tuple, Any]:
    model = mt.nn.Sequential(mt.nn.Linear(64, 128), mt.nn.ReLU(), mt.nn.Dropout(0.1),
                             mt.nn.Linear(128, 10))
    return model, (32, 64), lambda ps: mt.optim.SGD(ps, lr=0.01, momentum=0.9)


def _cnn() -> tuple[mt.nn.Module, tuple, Any]:
    model = mt.nn.Sequential(
        mt.nn.Conv2d(1, 8, 3, padding=1), mt.nn.BatchNorm2d(8), mt.nn.ReLU(), mt.nn.MaxPool2d(2),
        mt.nn.Flatten(), mt.nn.Dropout(0.25), mt.nn.Linear(8 * 8 * 8, 10))
    return model, (16, 1, 16, 16), lambda ps: mt.optim.Adam(ps, lr=1e-3, capturable=True)


def activation_bytes(model: mt.nn.Module, x: Tensor) -> int:
    """Bytes of every leaf module's output in one forward of ``x``: at least what a step that
    leaked its activations would leak."""
    total = [0]

    def hook(module, inputs, out):
        total[0] += out.numel() * out.element_size()

    handles = [m.register_forward_hook(hook) for m in model.modules()
               if not list(m.children())]
    try:
        with mt.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
    return total[0]


def _train_step(model, opt, x, y):
    opt.zero_grad()
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    return loss


def soak(device: str, model: str, compiled: bool, steps: int, warmup: int | None = None,
         samples: int = 10) -> Run:
    """Train ``model`` (``"mlp"`` or ``"cnn"``) on ``device`` for ``steps`` steps on one
    batch; sample at the end of warm-up, ``samples`` times after it, and at the end."""
    if model not in MODELS:
        raise ValueError(f"soak(): model must be one of {MODELS}, got {model!r}")
    warmup = default_warmup(steps) if warmup is None else warmup
    if not 0 < warmup < steps:
        raise ValueError(f"soak(): warmup must be in 1..steps-1 ({steps}), got {warmup}")
    if samples < 1:
        raise ValueError(f"soak(): samples must be at least 1, got {samples}")
    mt.manual_seed(0)
    net, shape, make_opt = _mlp() if model == "mlp" else _cnn()
    net = net.to(device)
    opt = make_opt(net.parameters())
    x = mt.randn(*shape, device=device)
    y = mt.randint(0, 10, (shape[0],), device=device)
    step_fn = mt.compile(_train_step) if compiled else _train_step
    run = Run(device, model, compiled, steps, warmup, activation_bytes(net, x))
    every = max(1, (steps - warmup) // samples)
    marks = set(range(warmup, steps, every)) | {steps}
    start = time.perf_counter()
    for i in range(1, steps + 1):
        loss = step_fn(net, opt, x, y)
        if i == warmup:
            # a first census grows the allocator's heap for its own object list (glibc raises
            # its mmap threshold once a large block is freed): not the step's, so not sampled
            census([])
        if i in marks:
            run.samples.append(_sample(i, device, step_fn, len(run.samples)))
    run.seconds = time.perf_counter() - start
    run.loss = loss.item()
    run.stats = dict(getattr(step_fn, "stats", {}))
    return run


def _plans(step_fn: Any) -> list:
    entries = getattr(step_fn, "_entries", {})
    return [e.plan for es in entries.values() for e in es]


def _sample(step: int, device: str, step_fn: Any, earlier: int) -> Sample:
    from mbtorch.graph import fusion

    plans = _plans(step_fn)
    counts = census(plans)
    counts["objects"] -= earlier  # the earlier samples themselves (the dicts are untracked)
    counts["plans"] = len(plans)
    counts["fused kernels"] = len(fusion._CACHE)
    if mt.device(device).type == "opencl":
        counts.update(_opencl_pool(device))
    _trim_heap()
    return Sample(step, rss_bytes(), counts)


SLACK = {"tensors": 2, "storages": 2, "nodes": 0, "plans": 0, "fused kernels": 0,
         "buffers": 2, "cached buffers": 4, "programs": 0, "reduction plans": 0}
"""How much each count may move after warm-up (largest minus smallest sample): a leak grows
by at least one per step, so over hundreds of steps it would exceed any of these."""

RSS_FRACTION = 10
"""Resident memory may grow after warm-up by at most 1/RSS_FRACTION of what leaking one step's
activations every step would cost — in each half of the measured steps: a leak grows all the
time, while a single jump (a heap extension another thread of a long test process caused)
lands in one half only."""


def problems(run: Run) -> list[str]:
    """What in ``run`` looks like a leak, in words (empty: none)."""
    out = []
    counts = run.after_warmup[0].counts
    for key, slack in SLACK.items():
        if key in counts and run.spread(key) > slack:
            out.append(f"{key} moved by {run.spread(key)} after warm-up "
                       f"({'→'.join(map(str, run.span(key)))}; allowed {slack})")
    measured = run.after_warmup[-1].step - run.after_warmup[0].step
    grown = run.span("objects")[1] - run.span("objects")[0]
    if grown > measured // 2:
        out.append(f"{grown} more Python objects after {measured} steps")
    out += _rss_growth(run)
    return out


def _rss_growth(run: Run) -> list[str]:
    samples = run.after_warmup
    first, last = samples[0], samples[-1]
    # the sample nearest the middle of the measured steps splits them in two halves
    middle = min(samples[1:-1] or [last],
                 key=lambda s: abs(2 * s.step - first.step - last.step))
    halves = [(first, middle), (middle, last)] if middle is not last else [(first, last)]
    grew = []
    for a, b in halves:
        bound = run.leak_per_step * (b.step - a.step) // RSS_FRACTION
        if b.rss - a.rss <= bound:
            return []
        grew.append(f"{(b.rss - a.rss) / 2**20:.2f} MiB over steps {a.step}→{b.step} "
                    f"(bound {bound / 2**20:.2f} MiB)")
    return [f"resident memory grew after warm-up in every part: {'; '.join(grew)} — bound: "
            f"1/{RSS_FRACTION} of leaking {run.leak_per_step} bytes of activations per step"]
