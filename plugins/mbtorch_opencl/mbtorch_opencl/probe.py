"""Proving risky kernel variants before the user's process relies on them.

OpenCL compilers crash. PoCL 3.0 (LLVM 14) on AMD Zen 4, for one, aborts the whole process
inside LLVM at the *first launch* of a kernel that calls ``fma`` on ``float16`` vectors
(PoCL compiles each launch configuration when it is first enqueued). A crash there cannot be
caught, so a kernel family whose code generator has variants (vector widths, ``fma`` versus a
multiply and an add, ...) lists them in a *ladder*, fastest first and most portable last, and
``select`` walks it: each variant is built **and launched** on small inputs by a short-lived
child process (``python -m mbtorch_opencl.probe``), which checks the result against NumPy.
The first variant whose child exits cleanly is used; a variant whose child fails to build,
gives a wrong answer, crashes or hangs is skipped, with one warning per device and family
that names the device, the variant and why.

Verdicts are kept on disk per device and driver (``$MBTORCH_OPENCL_CACHE``, default
``~/.cache/mbtorch/opencl``), keyed by family, variant and a hash of the module that generates
the family's source, so a machine pays each probe (about a second) once per driver and code
version. A probe function is ``"module:function"``, importable in the child and called as
``function(dev, variant)`` with a fresh ``CLDevice``; it raises when the result is wrong.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import json
import os
import signal
import subprocess
import sys
import traceback
import warnings
from pathlib import Path
from typing import Any, Sequence

__all__ = [
    "PROBE_TIMEOUT", "cache_dir", "locator", "fingerprint", "label", "select", "run_probe", "main"
]

_FAILED = "probe failed:"
PROBE_TIMEOUT = 300.0  # seconds: PoCL compiles a kernel in 0.1-2 s; a hang is a failure
_MODULE_HASHES: dict[str, str] = {}


def cache_dir() -> Path:
    env = os.environ.get("MBTORCH_OPENCL_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "mbtorch" / "opencl"


def locator(dev: Any) -> dict:
    """What a child process needs to find the same device: platform and device identity,
    and the position among identical devices."""
    d = dev.device
    same = [x for x in dev.platform.get_devices() if x.name == d.name]
    return {"platform": dev.platform.name, "platform_version": dev.platform.version,
            "device": d.name, "nth": next(i for i, x in enumerate(same) if x == d),
            "index": dev.index}


def fingerprint(dev: Any) -> str:
    """Device and driver identity: a verdict is valid for exactly this pair."""
    d = dev.device
    text = "\n".join([dev.platform.name, dev.platform.version, d.name, d.version,
                      d.driver_version, d.vendor, d.extensions])
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def label(variant: dict) -> str:
    return ",".join(f"{k}={v}" for k, v in variant.items()) or "default"


def select(dev: Any, family: str, ladder: Sequence[dict], probe: str) -> dict:
    """The first variant of ``ladder`` that builds, launches and computes correctly on
    ``dev`` (see the module docstring). Raises ``RuntimeError`` when none does."""
    chosen = dev.variants.get(family)
    if chosen is not None:
        return chosen
    failed = []
    for variant in ladder:
        ok, reason = _verdict(dev, family, variant, probe)
        if ok:
            if failed:
                skipped = "; ".join(f"{label(v)}: {r}" for v, r in failed)
                warnings.warn(
                    f"opencl:{dev.index} ({dev.device.name.strip()}, "
                    f"{dev.platform.version.strip()}): {family} kernel variant(s) failed their "
                    f"probe and are not used ({skipped}); using {label(variant)}",
                    RuntimeWarning, stacklevel=2)
            dev.variants[family] = variant
            return variant
        failed.append((variant, reason))
    detail = "; ".join(f"{label(v)}: {r}" for v, r in failed)
    raise RuntimeError(f"opencl:{dev.index} ({dev.device.name.strip()}): no {family} kernel "
                       f"variant works on this device and driver ({detail})")


def _verdict(dev: Any, family: str, variant: dict, probe: str) -> tuple[bool, str]:
    key = f"{family}|{json.dumps(variant, sort_keys=True)}|{_module_hash(probe)}"
    path = cache_dir() / f"{fingerprint(dev)}.json"
    known = _read(path)
    if key in known:
        return known[key]["ok"], known[key]["reason"]
    ok, reason = run_probe(dev, probe, variant)
    known = _read(path)  # another process may have written meanwhile
    known[key] = {"ok": ok, "reason": reason, "device": dev.device.name.strip(),
                  "driver": dev.platform.version.strip()}
    _write(path, known)
    return ok, reason


def run_probe(dev: Any, probe: str, variant: dict) -> tuple[bool, str]:
    """Run ``probe`` for ``variant`` on ``dev`` in a child process: (passed, reason)."""
    arg = json.dumps({"locator": locator(dev), "probe": probe, "variant": variant})
    try:
        res = subprocess.run([sys.executable, "-m", "mbtorch_opencl.probe", arg],
                             capture_output=True, text=True, timeout=PROBE_TIMEOUT,
                             stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return False, f"the probe did not finish within {PROBE_TIMEOUT:.0f} s"
    if res.returncode == 0:
        return True, ""
    lines = [ln.strip() for ln in (res.stderr + res.stdout).splitlines() if ln.strip()]
    last = lines[-1] if lines else "no output"
    for marker in (_FAILED, "LLVM ERROR"):
        found = [ln for ln in lines if ln.startswith(marker)]
        if found:
            last = found[0].removeprefix(_FAILED).strip()
            break
    if res.returncode < 0:
        try:
            name = signal.Signals(-res.returncode).name
        except ValueError:
            name = f"signal {-res.returncode}"
        return False, f"the probe process was killed by {name} ({last[:300]})"
    return False, last[:300]


def _module_hash(probe: str) -> str:
    module = probe.partition(":")[0]
    h = _MODULE_HASHES.get(module)
    if h is None:
        spec = importlib.util.find_spec(module)
        data = Path(spec.origin).read_bytes() if spec and spec.origin else module.encode()
        h = _MODULE_HASHES[module] = hashlib.sha256(data).hexdigest()[:12]
    return h


def _read(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _write(path: Path, data: dict) -> None:
    try:  # a cache that cannot be written only costs a probe next time
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
        os.replace(tmp, path)
    except OSError:
        pass


def _find_device(loc: dict) -> Any:
    import pyopencl as cl

    for p in cl.get_platforms():
        if p.name == loc["platform"] and p.version == loc["platform_version"]:
            same = [d for d in p.get_devices() if d.name == loc["device"]]
            if len(same) > loc["nth"]:
                return same[loc["nth"]]
    raise RuntimeError(f"probe: device {loc['device']!r} on {loc['platform_version']!r} "
                       "not found")


def main(argv: Sequence[str]) -> int:
    from .storage import CLDevice

    req = json.loads(argv[0])
    dev = CLDevice(req["locator"]["index"], _find_device(req["locator"]))
    module, _, name = req["probe"].partition(":")
    try:
        getattr(importlib.import_module(module), name)(dev, req["variant"])
        dev.queue.finish()
    except Exception as exc:  # noqa: BLE001 - the verdict is the message
        traceback.print_exc()
        lines = str(exc).splitlines() or [""]
        line = next((ln for ln in lines if "error:" in ln), lines[0])
        print(f"{_FAILED} {type(exc).__name__}: {line.strip()}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
