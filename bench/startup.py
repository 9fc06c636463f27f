"""Start-up costs, each measured in a fresh interpreter (``subprocess``):

- ``import``: time of ``import mbtorch`` (plugins load lazily, so no array library beyond
  NumPy should be imported, nor ml_dtypes), beside ``import numpy`` and ``import torch``;
- time to first result: import, create two 256×256 float32 operands on the device, compute
  ``a * b + a`` (and ``a @ b`` when mbtorch has matmul), and copy the result to the host.
  ``cold`` points every kernel cache we know of (``XDG_CACHE_HOME``, ``POCL_CACHE_DIR``,
  ``CUPY_CACHE_DIR``, ``CUDA_CACHE_PATH``) at a new empty folder, so a device that compiles
  kernels pays for it; ``warm`` reuses a folder a previous run filled. The OS page cache is
  warm in both: this measures our caches, not the disk.

Python's own bytecode cache is on for every process (``PYTHONDONTWRITEBYTECODE`` removed,
``PYTHONPYCACHEPREFIX`` pointed at a folder of this run, filled by one untimed import first):
a library is measured as users have it, compiled once (pip compiles at install). Where the
environment disables bytecode caching, as some CI shells do, each import would otherwise
recompile every module of an editable checkout from source (about 0.27 s of mbtorch's 0.38 s
here) while NumPy's wheel ships its bytecode.

Each ratio is the median over rounds of one fresh mbtorch process ÷ the fresh NumPy process of
the same round, so a loaded machine slows both sides alike. The aims (``report.AIMS``):
``import mbtorch`` within 2.5× of ``import numpy``, import + first cpu result within 4× of
NumPy's import + the same computation. ``python -m bench --only startup --device cpu`` runs
this family alone.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

from .targets import Targets
from .timing import Config, Row, ratio_rows

FAMILY = "startup"
CACHE_VARS = ("XDG_CACHE_HOME", "POCL_CACHE_DIR", "CUPY_CACHE_DIR", "CUDA_CACHE_PATH")

IMPORT = "import time; t = time.perf_counter(); import {mod}; print(time.perf_counter() - t)"
FIRST = """import time; t = time.perf_counter()
import {mod} as lib
{body}
print(time.perf_counter() - t)
"""
BODY_NUMPY = """a = lib.ones((256, 256), lib.float32); b = a * 0.5
r = a * b + a{mm}
host = lib.asarray(r)"""
BODY_TENSOR = """a = lib.ones(256, 256, device={dev!r}); b = a * 0.5
r = a * b + a{mm}
host = r.cpu().numpy()"""


_PYCACHE = tempfile.mkdtemp(prefix="mbtorch-bench-pycache-")


def _compiled(env: dict | None) -> dict:
    """``env`` (default: this process's) with Python's bytecode cache on, in this run's folder."""
    env = dict(os.environ if env is None else env)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = _PYCACHE
    return env


def _seconds(code: str, env: dict | None = None) -> float:
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=_compiled(env), timeout=300)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.strip().splitlines()[-1] if proc.stderr else "failed")
    return float(proc.stdout.strip().splitlines()[-1])


def _cache_env(folder: str) -> dict:
    env = dict(os.environ)
    for var in CACHE_VARS:
        env[var] = os.path.join(folder, var.lower())
    return env


def import_times(targets: Targets, cfg: Config) -> list[Row]:
    mods = {"numpy": "numpy", "mbtorch": "mbtorch"}
    if targets.get("torch:cpu"):
        mods["torch:cpu"] = "torch"
    samples: dict[str, list[float]] = {k: [] for k in mods}
    for mod in mods.values():  # compile each once, untimed
        _seconds(IMPORT.format(mod=mod))
    for _ in range(cfg.startup_repeats):
        for impl, mod in mods.items():
            samples[impl].append(_seconds(IMPORT.format(mod=mod)))
    return ratio_rows(FAMILY, "import", samples)


def _scripts(targets: Targets) -> tuple[dict[str, str], str]:
    mbt = targets.by_kind("mbtorch")
    with_mm = bool(mbt) and hasattr(mbt[0].lib, "matmul")
    mm = " + a @ b" if with_mm else ""
    scripts = {"numpy": FIRST.format(mod="numpy", body=BODY_NUMPY.format(mm=mm))}
    if targets.get("torch:cpu"):
        body = BODY_TENSOR.format(dev="cpu", mm=mm)
        scripts["torch:cpu"] = FIRST.format(mod="torch", body=body)
    for t in mbt:
        body = BODY_TENSOR.format(dev=t.device, mm=mm)
        scripts[t.name] = FIRST.format(mod="mbtorch", body=body)
    return scripts, ("a*b + a@b" if with_mm else "a*b + a; no mbtorch matmul yet")


def first_result(targets: Targets, cfg: Config) -> list[Row]:
    scripts, what = _scripts(targets)
    samples: dict[str, list[float]] = {}
    notes: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="mbtorch-bench-warm-") as warm:
        for name in scripts:  # fill the warm caches once, untimed
            _seconds(scripts[name], _cache_env(warm))
        for _ in range(cfg.startup_repeats):
            for name, code in scripts.items():
                if name.startswith("mbtorch:"):
                    with tempfile.TemporaryDirectory(prefix="mbtorch-bench-cold-") as cold:
                        t = _seconds(code, _cache_env(cold))
                    samples.setdefault(f"{name} cold", []).append(t)
                    notes[f"{name} cold"] = "empty kernel caches"
                    name = f"{name} warm"
                samples.setdefault(name, []).append(_seconds(code, _cache_env(warm)))
    return ratio_rows(FAMILY, f"first result ({what}, 256×256)", samples, notes)


def run(targets: Targets, cfg: Config) -> list[Row]:
    return import_times(targets, cfg) + first_result(targets, cfg)
