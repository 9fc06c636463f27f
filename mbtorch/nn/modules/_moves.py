"""``Module``'s device and dtype moves (``to``, ``cpu``, ``cuda``, ``float``...), a mixin so
that ``module.py`` stays readable; each converts every parameter and buffer through
``Module._apply``, keeping the same ``Parameter`` objects."""

from __future__ import annotations

from typing import Any

from ...core.tensor import Tensor

__all__ = []


class _Moves:
    _apply: Any

    def to(self, *args: Any, **kwargs: Any) -> "_Moves":
        """``to(device)``, ``to(dtype)`` (floating tensors only), ``to(device, dtype)``;
        ``memory_format=`` lays out the 4- and 5-d parameters and buffers, as PyTorch."""
        from ...core import dtypes as _dt

        dtype = kwargs.get("dtype")
        device = kwargs.get("device")
        memory_format = kwargs.get("memory_format")
        for a in args:
            if isinstance(a, _dt.dtype):
                dtype = a
            elif isinstance(a, Tensor):
                dtype, device = a.dtype, a.device
            else:
                device = a
        if dtype is not None and not dtype.is_floating_point:
            raise TypeError(f"nn.Module.to only accepts floating point dtypes, but got "
                            f"desired dtype={dtype}")

        def convert(t: Tensor) -> Tensor:
            use_dtype = dtype if (dtype is not None and t.is_floating_point()) else None
            if memory_format is not None and t.dim() in (4, 5):
                return t.to(device=device, dtype=use_dtype, memory_format=memory_format)
            return t.to(device=device, dtype=use_dtype)

        return self._apply(convert)

    def cpu(self) -> "_Moves":
        return self.to("cpu")

    def cuda(self, device: Any = None) -> "_Moves":
        return self.to("cuda" if device is None else f"cuda:{device}"
                       if isinstance(device, int) else device)

    def float(self) -> "_Moves":
        from ...core import dtypes as _dt

        return self.to(_dt.float32)

    def double(self) -> "_Moves":
        from ...core import dtypes as _dt

        return self.to(_dt.float64)

    def half(self) -> "_Moves":
        from ...core import dtypes as _dt

        return self.to(_dt.float16)

    def bfloat16(self) -> "_Moves":
        from ...core import dtypes as _dt

        return self.to(_dt.bfloat16)

    def type(self, dst_type: Any) -> "_Moves":
        """Cast every parameter and buffer (floating or not) to ``dst_type``."""
        return self._apply(lambda t: t.to(dtype=dst_type))

    def xpu(self, device: Any = None) -> "_Moves":
        return self.to("xpu" if device is None else f"xpu:{device}"
                       if isinstance(device, int) else device)

    def to_empty(self, *, device: Any = None, recurse: bool = True) -> "_Moves":
        """Replace every parameter and buffer by an uninitialised tensor on ``device``."""
        import mbtorch as _mt

        return self._apply(lambda t: _mt.empty(tuple(t.shape), dtype=t.dtype,
                                               device=device if device is not None
                                               else t.device))
