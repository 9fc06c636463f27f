"""The opencl backend against its own device's limits, on every opencl device side by side
(issue 13's targets; figures, never asserted):

- ``a + b`` on 4M float32 beside a plain copy kernel written with PyOpenCL directly (one
  element per work item, driver-chosen work-group size) on the same device and context: the
  note gives ``a + b``'s GB/s (12 bytes an element) as a share of the copy's (8 bytes);
- ``a * b + c`` on 4M float32, eager and through ``mbtorch.compile`` (one fused kernel), GB/s
  counted as in the elementwise family (16 bytes an element), beside NumPy;
- per-op async overhead: ``a + b`` on 8 float32, with and without ``requires_grad``, no wait
  per op, one ``synchronize`` at the end of each timed block, beside ``pyopencl.array``'s
  ``a + b`` on the same queue;
- first result in a fresh process (import, two 256×256 tensors, ``a * b + a``, the result on
  the host): ``cold`` with empty PoCL, PyOpenCL and mbtorch caches, ``warm`` with the caches a
  previous run filled.
"""

from __future__ import annotations

import tempfile

import numpy as np

from .startup import _cache_env, _seconds
from .targets import Targets, check_close
from .timing import Candidate, Config, Row, describe_error, measure, ratio_rows, skipped

FAMILY = "opencl"
COPY_SOURCE = """__kernel void copy(__global float* out, __global const float* a)
{ size_t i = get_global_id(0); out[i] = a[i]; }"""
FIRST = """import time; t = time.perf_counter()
import mbtorch as mt
a = mt.ones(256, 256, device={dev!r}); b = a * 0.5
host = (a * b + a).cpu().numpy()
print(time.perf_counter() - t)
"""
FIRST_NUMPY = """import time; t = time.perf_counter()
import numpy as np
a = np.ones((256, 256), np.float32); b = a * 0.5
host = np.asarray(a * b + a)
print(time.perf_counter() - t)
"""


def _env(folder: str) -> dict:
    """Every kernel and verdict cache under ``folder`` (see ``bench.startup``)."""
    env = _cache_env(folder)
    env.pop("MBTORCH_OPENCL_CACHE", None)
    return env


def _devices(targets: Targets) -> list[tuple[str, object]]:
    """``(device string, sync)`` for every opencl device, or none when opencl is unavailable."""
    if targets.get("mbtorch:opencl") is None:
        return []
    from mbtorch.core.plugins import get_backend

    spec = get_backend("opencl").spec
    return [(f"opencl:{i}", (lambda i=i: spec.synchronize(i)))
            for i in range(spec.device_count)]


def _copy_candidate(dev: str, n: int, host: np.ndarray) -> Candidate:
    import pyopencl as cl
    from mbtorch_opencl.storage import DEVICES

    d = DEVICES[int(dev.split(":")[1])]
    mf = cl.mem_flags
    src = cl.Buffer(d.context, mf.READ_WRITE | mf.COPY_HOST_PTR, hostbuf=host)
    dst = cl.Buffer(d.context, mf.READ_WRITE, host.nbytes)
    kernel = cl.Program(d.context, COPY_SOURCE).build().copy
    queue = d.queue

    def run() -> None:
        kernel(queue, (n,), None, dst, src)

    run()
    got = np.empty_like(host)
    cl.enqueue_copy(queue, got, dst)
    check_close(FAMILY, f"copy kernel {dev}", got, host, 0, 0)
    return Candidate(f"pyopencl copy kernel {dev}", run, sync=queue.finish,
                     note="reference: 8 bytes an element")


def bandwidth(targets: Targets, cfg: Config, devices: list) -> list[Row]:
    import mbtorch as mt

    n = 1 << 16 if cfg.quick else 1 << 22
    size = f"{n // 1024}K" if n < 1 << 20 else f"{n >> 20}M"
    rng = np.random.default_rng(2)
    host = [rng.standard_normal(n).astype(np.float32) for _ in range(3)]
    rows: list[Row] = []
    for expr, nbytes, fn in (("a + b", 12, lambda a, b, c: a + b),
                             ("a * b + c", 16, lambda a, b, c: a * b + c)):
        case = f"{expr}, {size} float32"
        want = fn(*host)
        cands = [Candidate("numpy", expr, dict(zip("abc", (x.copy() for x in host))))]
        bad = []
        for dev, sync in devices:
            ns = dict(zip("abc", (mt.tensor(x, device=dev) for x in host)))
            try:
                check_close(FAMILY, dev, fn(**ns), want, 1e-6, 1e-6)
                if expr == "a + b":
                    cands.append(_copy_candidate(dev, n, host[0]))
            except Exception as exc:  # noqa: BLE001 - reported as an error row
                bad.append(skipped(FAMILY, case, f"mbtorch:{dev}", describe_error(exc), "error"))
                continue
            cands.append(Candidate(f"mbtorch:{dev}", expr, ns, sync))
            if expr == "a * b + c":
                cands += _compiled_candidate(dev, fn, ns, sync, want, case, bad)
        measured = measure(FAMILY, case, cands, cfg,
                           lambda s, b=nbytes: {"unit": "GB/s", "value": b * n / s / 1e9},
                           settle=True)
        rows += _copy_shares(measured) + bad
    return rows


def _compiled_candidate(dev: str, fn, ns: dict, sync, want: np.ndarray, case: str,
                        bad: list) -> list[Candidate]:
    """``fn`` through ``mbtorch.compile`` (one fused kernel where the backend fuses), with the
    number of kernels its replay runs in the note."""
    import mbtorch as mt

    compiled = mt.compile(fn)
    try:
        compiled(**ns)
        check_close(FAMILY, f"{dev} compiled", compiled(**ns), want, 1e-6, 1e-6)
    except Exception as exc:  # noqa: BLE001 - reported as an error row
        bad.append(skipped(FAMILY, case, f"mbtorch:{dev} compiled", describe_error(exc),
                           "error"))
        return []
    plans = [e.plan for entries in compiled._entries.values() for e in entries]
    note = f"replay runs {plans[0].n_kernels} kernel(s)" if plans else "not compiled"
    return [Candidate(f"mbtorch:{dev} compiled", lambda: compiled(**ns), sync=sync, note=note)]


def _copy_shares(rows: list[Row]) -> list[Row]:
    """Copy rows get their own byte count (8, not 12); ``a + b`` rows a note with their share
    of the same device's copy bandwidth."""
    copies = {r.impl.rsplit(" ", 1)[1]: r for r in rows if r.impl.startswith("pyopencl copy")}
    for r in copies.values():
        if r.metric:
            r.metric = {k: (v * 8 / 12 if k != "unit" else v) for k, v in r.metric.items()}
    for r in rows:
        ref = copies.get(r.impl.removeprefix("mbtorch:"))
        if ref is not None and r.metric and ref.metric:
            share = r.metric["median"] / ref.metric["median"]
            r.note = f"{share:.0%} of the copy kernel's GB/s on this device"
    return rows


def _pyopencl_array(dev: str, a: np.ndarray, b: np.ndarray) -> Candidate:
    """PyOpenCL's own array type on the same queue: its enqueue path as a reference."""
    import pyopencl.array as cla
    from mbtorch_opencl.storage import DEVICES

    queue = DEVICES[int(dev.split(":")[1])].queue
    ns = {"a": cla.to_device(queue, a), "b": cla.to_device(queue, b)}
    return Candidate(f"pyopencl.array {dev}", "a + b", ns, queue.finish,
                     note="reference: PyOpenCL's array, no autograd")


def overhead(targets: Targets, cfg: Config, devices: list) -> list[Row]:
    import mbtorch as mt

    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal(8).astype(np.float32) for _ in range(2))
    rows: list[Row] = []
    for grad in (False, True):
        case = "a + b, 8 float32, async" + (", requires_grad" if grad else "")
        cands = [Candidate("numpy", "a + b", {"a": a.copy(), "b": b.copy()},
                           note="no autograd" if grad else "")]
        for dev, sync in devices:
            ns = {"a": mt.tensor(a, device=dev, requires_grad=grad),
                  "b": mt.tensor(b, device=dev, requires_grad=grad)}
            cands.append(Candidate(f"mbtorch:{dev}", "a + b", ns, sync))
            if not grad:
                cands.append(_pyopencl_array(dev, a, b))
        rows += measure(FAMILY, case, cands, cfg)
    return rows


def first_result(targets: Targets, cfg: Config, devices: list) -> list[Row]:
    samples: dict[str, list[float]] = {}
    notes: dict[str, str] = {}
    scripts = {"numpy": FIRST_NUMPY}
    scripts.update({f"mbtorch:{dev}": FIRST.format(dev=dev) for dev, _ in devices})
    with tempfile.TemporaryDirectory(prefix="mbtorch-bench-warm-") as warm:
        for code in scripts.values():  # fill the warm caches once, untimed
            _seconds(code, _env(warm))
        for _ in range(cfg.startup_repeats):
            for name, code in scripts.items():
                if name != "numpy":
                    with tempfile.TemporaryDirectory(prefix="mbtorch-bench-cold-") as cold:
                        t = _seconds(code, _env(cold))
                    samples.setdefault(f"{name} cold", []).append(t)
                    notes[f"{name} cold"] = "empty PoCL, PyOpenCL and mbtorch caches"
                    name = f"{name} warm"
                samples.setdefault(name, []).append(_seconds(code, _env(warm)))
    return ratio_rows(FAMILY, "first result (import, a * b + a, 256×256, to host)", samples,
                      notes)


def run(targets: Targets, cfg: Config) -> list[Row]:
    devices = _devices(targets)
    if not devices:
        return [skipped(FAMILY, "opencl", "mbtorch:opencl", "no available opencl device")]
    return (bandwidth(targets, cfg, devices) + overhead(targets, cfg, devices)
            + first_result(targets, cfg, devices))
