"""List the OpenCL platforms that have a device, one line each, for ``.ci/run``:

    <PYOPENCL_CTX value> <TAB> <label> <TAB> <platform version text>

``PYOPENCL_CTX=<value>`` (PyOpenCL's own variable, honoured by mbtorch-opencl) makes that
platform's devices the only ``opencl:N``, so ``--device opencl`` means that driver. The index
is the ICD loader's order, which differs between machines, so callers pick a driver by its
label, taken from the version text: ``debian`` for Debian's ``pocl-opencl-icd`` (its version
says ``+debian``), ``pip`` for the ``pocl-binary-distribution`` wheel (PoCL of the wheel's
version, without ``+debian``), else ``platform<N>``. Prints nothing when no platform has a
device; exits non-zero when PyOpenCL cannot list platforms.
"""

from __future__ import annotations

import importlib.metadata
import re

import pyopencl as cl


def _wheel_version() -> str | None:
    try:
        return importlib.metadata.version("pocl-binary-distribution")
    except importlib.metadata.PackageNotFoundError:
        return None


def label(index: int, version: str, wheel: str | None) -> str:
    m = re.search(r"PoCL (\S+)", version)
    if m is None:
        return f"platform{index}"
    if "+debian" in m.group(1):
        return "debian"
    if wheel is not None and m.group(1).startswith(wheel):
        return "pip"
    return f"platform{index}"


def main() -> None:
    wheel, seen = _wheel_version(), set()
    for i, platform in enumerate(cl.get_platforms()):
        try:
            platform.get_devices()
        except cl.Error:  # a platform with no devices raises CL_DEVICE_NOT_FOUND
            continue
        version = " ".join(platform.version.split())
        name = label(i, version, wheel)
        name = f"{name}{i}" if name in seen else name  # two platforms of one build
        seen.add(name)
        print(f"{i}\t{name}\t{version}")


if __name__ == "__main__":
    main()
