"""``GradScaler``: loss scaling for mixed-precision training, as ``torch.amp.GradScaler``.

>>> scaler = mbtorch.amp.GradScaler("cpu")
>>> scaler.scale(loss).backward()
>>> scaler.step(optimizer)      # unscales the grads; skips the step if one is inf or nan
>>> scaler.update()             # backs the scale off after an overflow, grows it after
...                             # growth_interval clean steps

The scale and the growth tracker are tensors on the scaler's device (float32 and int32), as
PyTorch's; ``enabled=False`` makes every method a pass-through.
"""

from __future__ import annotations

import enum
import warnings
from typing import Any

from ..core import dtypes as _dt
from ..core.tensor import Tensor

__all__ = ["GradScaler", "OptState"]


class OptState(enum.Enum):
    READY = 0
    UNSCALED = 1
    STEPPED = 2


def _fresh_state() -> dict:
    return {"stage": OptState.READY, "found_inf_per_device": {}}


def _none_scale_error(fn: str) -> AssertionError:
    # PyTorch's own type and words for a scaler used before scale()
    return AssertionError(f"Attempted {fn} but _scale is None.  This may indicate your script "
                          "did not use scaler.scale(loss or outputs) earlier in the iteration.")


class GradScaler:
    """Scales the loss so low-precision gradients do not underflow, then unscales them."""

    def __init__(self, device: str = "cuda", init_scale: float = 2.0**16,
                 growth_factor: float = 2.0, backoff_factor: float = 0.5,
                 growth_interval: int = 2000, enabled: bool = True) -> None:
        from ..core.device import device as _device

        self._device = _device(device).type
        self._enabled = bool(enabled)
        if self._enabled and not _available(self._device):
            warnings.warn(f"GradScaler is enabled, but device '{self._device}' is not "
                          "available.  Disabling.", stacklevel=2)
            self._enabled = False
        if self._enabled:
            if growth_factor <= 1.0:
                raise ValueError("GradScaler(): growth_factor should be > 1.")
            if not 0.0 < backoff_factor < 1.0:
                raise ValueError("GradScaler(): backoff_factor should be < 1.")
            if not isinstance(growth_interval, int) or growth_interval <= 0:
                raise ValueError("GradScaler(): growth_interval should be a positive integer.")
        self._init_scale = init_scale
        self._scale: Tensor | None = None
        self._growth_factor = growth_factor
        self._backoff_factor = backoff_factor
        self._growth_interval = growth_interval
        self._init_growth_tracker = 0
        self._growth_tracker: Tensor | None = None
        self._per_optimizer_states: dict[int, dict] = {}

    # -- scale -----------------------------------------------------------------------------
    def _lazy_init(self, dev: Any) -> None:
        import mbtorch as mt

        self._scale = mt.full((), self._init_scale, dtype=_dt.float32, device=dev)
        self._growth_tracker = mt.full((), self._init_growth_tracker, dtype=_dt.int32,
                                       device=dev)

    def scale(self, outputs: Any) -> Any:
        """``outputs`` (a tensor or nested lists/tuples of tensors) times the scale."""
        if not self._enabled:
            return outputs
        if isinstance(outputs, Tensor):
            if self._scale is None:
                self._lazy_init(outputs.device)
            return outputs * self._scale.to(outputs.device)
        if isinstance(outputs, (list, tuple)):
            return type(outputs)(self.scale(v) for v in outputs)
        raise ValueError("outputs must be a Tensor or an iterable of Tensors")

    # -- unscale ---------------------------------------------------------------------------
    def _unscale_grads_(self, optimizer: Any, inv_scale: Tensor, allow_fp16: bool) -> dict:
        import mbtorch as mt

        found: dict[Any, Tensor] = {}
        with mt.no_grad():
            for group in optimizer.param_groups:
                for p in group["params"]:
                    g = p.grad
                    if g is None:
                        continue
                    if not allow_fp16 and g.dtype is _dt.float16:
                        raise ValueError("Attempting to unscale FP16 gradients.")
                    bad = (~mt.isfinite(g)).any()
                    key = g.device
                    found[key] = bad if key not in found else found[key] | bad
                    g.mul_(inv_scale.to(g.device).to(g.dtype))
        return found

    def unscale_(self, optimizer: Any) -> None:
        """Divide ``optimizer``'s gradients by the scale in place (once per ``update()``),
        recording whether any is inf or nan."""
        if not self._enabled:
            return
        if self._scale is None:
            raise _none_scale_error("unscale_")
        state = self._per_optimizer_states.setdefault(id(optimizer), _fresh_state())
        if state["stage"] is OptState.UNSCALED:
            raise RuntimeError("unscale_() has already been called on this optimizer since "
                               "the last update().")
        if state["stage"] is OptState.STEPPED:
            raise RuntimeError("unscale_() is being called after step().")
        inv_scale = self._scale.double().reciprocal().float()
        state["found_inf_per_device"] = self._unscale_grads_(optimizer, inv_scale, False)
        state["stage"] = OptState.UNSCALED

    # -- step and update -------------------------------------------------------------------
    def step(self, optimizer: Any, *args: Any, **kwargs: Any) -> Any:
        """Unscale (unless ``unscale_`` was called) and run ``optimizer.step(*args,
        **kwargs)`` unless a gradient is inf or nan; returns what it returned, or None."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise RuntimeError("Closure use is not currently supported if GradScaler is "
                               "enabled.")
        if self._scale is None:
            raise _none_scale_error("step")
        state = self._per_optimizer_states.setdefault(id(optimizer), _fresh_state())
        if state["stage"] is OptState.STEPPED:
            raise RuntimeError("step() has already been called since the last update().")
        if state["stage"] is OptState.READY:
            self.unscale_(optimizer)
        if not state["found_inf_per_device"]:
            raise RuntimeError("No inf checks were recorded for this optimizer.")
        retval = None
        if not sum(v.item() for v in state["found_inf_per_device"].values()):
            retval = optimizer.step(*args, **kwargs)
        state["stage"] = OptState.STEPPED
        return retval

    def update(self, new_scale: float | Tensor | None = None) -> None:
        """Back off the scale if any step this iteration saw inf/nan, else count a clean
        step and grow it every ``growth_interval``; or set it to ``new_scale``."""
        if not self._enabled:
            return
        if self._scale is None:
            raise _none_scale_error("update")
        if new_scale is not None:
            self._set_scale(new_scale)
        else:
            found = [f for s in self._per_optimizer_states.values()
                     for f in s["found_inf_per_device"].values()]
            if not found:
                raise AssertionError("No inf checks were recorded prior to update.")
            self._update_scale(sum(bool(f.item()) for f in found) > 0)
        self._per_optimizer_states = {}

    def _set_scale(self, new_scale: Any) -> None:
        if isinstance(new_scale, float):
            self._scale.fill_(new_scale)
            return
        if not (isinstance(new_scale, Tensor) and new_scale.numel() == 1
                and new_scale.dtype is _dt.float32 and not new_scale.requires_grad):
            raise AssertionError("new_scale should be a float or a 1-element torch.cuda."
                                 "FloatTensor or torch.FloatTensor with requires_grad=False.")
        self._scale.copy_(new_scale.reshape(()))

    def _update_scale(self, found_inf: bool) -> None:
        if found_inf:
            self._scale.mul_(self._backoff_factor)
            self._growth_tracker.fill_(0)
            return
        grown = int(self._growth_tracker.item()) + 1
        if grown == self._growth_interval:
            bigger = self._scale * self._growth_factor
            if bool(bigger.isfinite()):  # never grow the scale into inf
                self._scale.copy_(bigger)
            grown = 0
        self._growth_tracker.fill_(grown)

    # -- accessors and state ---------------------------------------------------------------
    def get_scale(self) -> float:
        if not self._enabled:
            return 1.0
        return self._init_scale if self._scale is None else float(self._scale.item())

    def get_growth_factor(self) -> float:
        return self._growth_factor

    def set_growth_factor(self, new_factor: float) -> None:
        self._growth_factor = new_factor

    def get_backoff_factor(self) -> float:
        return self._backoff_factor

    def set_backoff_factor(self, new_factor: float) -> None:
        self._backoff_factor = new_factor

    def get_growth_interval(self) -> int:
        return self._growth_interval

    def set_growth_interval(self, new_interval: int) -> None:
        self._growth_interval = new_interval

    def _get_growth_tracker(self) -> int:
        if not self._enabled:
            return 0
        if self._growth_tracker is None:
            return self._init_growth_tracker
        return int(self._growth_tracker.item())

    def is_enabled(self) -> bool:
        return self._enabled

    def state_dict(self) -> dict[str, Any]:
        """The scale, factors, interval and tracker (empty when disabled), as PyTorch's."""
        if not self._enabled:
            return {}
        return {"scale": self.get_scale(), "growth_factor": self._growth_factor,
                "backoff_factor": self._backoff_factor,
                "growth_interval": self._growth_interval,
                "_growth_tracker": self._get_growth_tracker()}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        if not self._enabled:
            return
        if len(state_dict) == 0:
            raise RuntimeError("The source state dict is empty, possibly because it was saved "
                               "from a disabled instance of GradScaler.")
        self._init_scale = state_dict["scale"]
        if self._scale is not None:
            self._scale.fill_(float(state_dict["scale"]))
        self._growth_factor = state_dict["growth_factor"]
        self._backoff_factor = state_dict["backoff_factor"]
        self._growth_interval = state_dict["growth_interval"]
        self._init_growth_tracker = state_dict["_growth_tracker"]
        if self._growth_tracker is not None:
            self._growth_tracker.fill_(state_dict["_growth_tracker"])


def _available(device_type: str) -> bool:
    from ..core.plugins import get_backend

    try:
        get_backend(device_type)
    except RuntimeError:
        return False
    return True
