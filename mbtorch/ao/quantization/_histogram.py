"""``HistogramObserver``: a running histogram of the values seen, and PyTorch's search for the
(min, max) that minimises the L2 quantization error (``_non_linear_param_search``, after
caffe2's ``NormMinimization``). The arithmetic follows PyTorch step by step, in float32."""

from __future__ import annotations

import struct
import warnings
from typing import Any

import mbtorch as mt

from ._observer_base import UniformQuantizationObserverBase, _factory_kwargs, _per_tensor

__all__ = ["HistogramObserver"]

_BITS = {"qint8": 8, "quint8": 8, "int8": 8, "uint8": 8, "int16": 16, "uint16": 16,
         "qint32": 32, "int32": 32}


def _f32(v: float) -> float:
    """``v`` rounded to float32: PyTorch compares a float32 tensor with a Python number after
    casting the number to the tensor's dtype."""
    return struct.unpack("f", struct.pack("f", v))[0]


def _get_norm(delta_begin: Any, delta_end: Any, density: mt.Tensor) -> mt.Tensor:
    """density * integral of x^2 from delta_begin to delta_end."""
    norm = (delta_end * delta_end * delta_end - delta_begin * delta_begin * delta_begin) / 3
    return density * norm


class HistogramObserver(UniformQuantizationObserverBase):
    """Records a ``bins``-bin histogram of the values seen (re-binned as the range grows) and
    picks the quantization range that minimises the L2 error over it."""

    def __init__(self, bins: int = 2048, dtype: Any = None, qscheme: Any = None,
                 reduce_range: bool = False, quant_min: int | None = None,
                 quant_max: int | None = None, factory_kwargs: dict | None = None,
                 eps: float = mt.finfo(mt.float32).eps, is_dynamic: bool = False,
                 **kwargs: Any) -> None:
        qscheme = mt.per_tensor_affine if qscheme is None else qscheme
        if not _per_tensor(qscheme):
            raise NotImplementedError("HistogramObserver's qscheme only support "
                                      "mbtorch.per_tensor_symmetric and "
                                      f"mbtorch.per_tensor_affine, got {qscheme}")
        if is_dynamic:
            raise NotImplementedError("HistogramObserver doesn't support dynamic quantization")
        if not isinstance(bins, int) or bins <= 0:
            raise ValueError(f"HistogramObserver: argument 'bins' must be a positive int, "
                             f"got {bins!r}")
        super().__init__(dtype=dtype, qscheme=qscheme, reduce_range=reduce_range,
                         quant_min=quant_min, quant_max=quant_max,
                         factory_kwargs=factory_kwargs, eps=eps, is_dynamic=is_dynamic,
                         **kwargs)
        fk = _factory_kwargs(factory_kwargs)
        self.bins = bins
        self.register_buffer("histogram", mt.zeros(bins, **fk))
        self.register_buffer("min_val", mt.tensor(float("inf"), **fk))
        self.register_buffer("max_val", mt.tensor(float("-inf"), **fk))
        self.dst_nbins = 2 ** _BITS[str(self.dtype).rsplit(".", 1)[-1]]
        self.upsample_rate = 16  # reduces the error of re-binning an upscaled histogram
        self.register_load_state_dict_pre_hook(_legacy_minmax_hook)

    def _compute_quantization_error(self, next_start_bin: int, next_end_bin: int) -> float:
        """L2 error of quantizing the histogram with bins [start, end] as the range."""
        bin_width = (self.max_val.item() - self.min_val.item()) / self.bins
        dst_bin_width = bin_width * (next_end_bin - next_start_bin + 1) / self.dst_nbins
        if dst_bin_width == 0.0:
            return 0.0
        dev = self.histogram.device
        src_bin = mt.arange(self.bins, device=dev)
        src_bin_begin = (src_bin - next_start_bin) * bin_width
        src_bin_end = src_bin_begin + bin_width
        last = self.dst_nbins - 1
        dst_bin_of_begin = mt.clamp(mt.div(src_bin_begin, dst_bin_width, rounding_mode="floor"),
                                    0, last)
        dst_bin_of_begin_center = (dst_bin_of_begin + 0.5) * dst_bin_width
        dst_bin_of_end = mt.clamp(mt.div(src_bin_end, dst_bin_width, rounding_mode="floor"),
                                  0, last)
        density = self.histogram / bin_width
        norm = mt.zeros(self.bins, device=dev)
        delta_begin = src_bin_begin - dst_bin_of_begin_center
        delta_end = dst_bin_width / 2
        norm += _get_norm(delta_begin, mt.ones(self.bins, device=dev) * delta_end, density)
        norm += (dst_bin_of_end - dst_bin_of_begin - 1) * _get_norm(
            mt.tensor(-dst_bin_width / 2), mt.tensor(dst_bin_width / 2), density)
        dst_bin_of_end_center = dst_bin_of_end * dst_bin_width + dst_bin_width / 2
        delta_end = src_bin_end - dst_bin_of_end_center
        norm += _get_norm(mt.tensor(-dst_bin_width / 2), delta_end, density)
        return norm.sum().item()

    def _non_linear_param_search(self) -> tuple[mt.Tensor, mt.Tensor]:
        """Shrink [start_bin, end_bin] from the side holding less mass, one 1e-5 quantile step
        at a time, while the quantization error keeps falling; return the range's (min, max)."""
        if self.histogram.shape[0] != self.bins:
            raise AssertionError("bins mismatch")
        bin_width = (self.max_val - self.min_val) / self.bins
        total = mt.sum(self.histogram).item()
        c_sum = mt.cumsum(self.histogram, dim=0).tolist()  # float32 values, read once
        stepsize, alpha, beta = 1e-5, 0.0, 1.0
        start_bin, end_bin = 0, self.bins - 1
        norm_min = float("inf")
        while alpha < beta:
            next_alpha, next_beta = alpha + stepsize, beta - stepsize
            lo, hi = start_bin, end_bin
            a_total, b_total = _f32(next_alpha * total), _f32(next_beta * total)
            while lo < end_bin and c_sum[lo] < a_total:
                lo += 1
            while hi > start_bin and c_sum[hi] > b_total:
                hi -= 1
            next_start_bin, next_end_bin = start_bin, end_bin
            if (lo - start_bin) > (end_bin - hi):
                next_start_bin, alpha = lo, next_alpha
            else:
                next_end_bin, beta = hi, next_beta
            if next_start_bin == start_bin and next_end_bin == end_bin:
                continue
            norm = self._compute_quantization_error(next_start_bin, next_end_bin)
            if norm > norm_min:
                break
            norm_min, start_bin, end_bin = norm, next_start_bin, next_end_bin
        new_min = self.min_val + bin_width * start_bin
        new_max = self.min_val + bin_width * (end_bin + 1)
        return new_min, new_max

    def _upscale_histogram(self, histogram: mt.Tensor, orig_min: mt.Tensor,
                           orig_max: mt.Tensor, update_min: mt.Tensor,
                           update_max: mt.Tensor) -> mt.Tensor:
        """Spread each old bin over ``upsample_rate`` sub-bins and re-bin their midpoints
        into the new range."""
        rate = self.upsample_rate
        histogram = histogram.repeat_interleave(rate) / rate
        bin_size = (orig_max - orig_min) / (self.bins * rate)
        mid_points = (mt.linspace(float(orig_min), float(orig_max), self.bins * rate + 1)[:-1]
                      + 0.5 * bin_size)
        boundaries = mt.linspace(float(update_min), float(update_max), self.bins + 1)
        buckets = mt.bucketize(mid_points, boundaries, right=True) - 1
        buckets = mt.clamp(buckets, 0, self.bins - 1)
        return mt.bincount(buckets, weights=histogram, minlength=self.bins)

    def _combine_histograms(self, orig_hist: mt.Tensor, orig_min: mt.Tensor,
                            orig_max: mt.Tensor, update_hist: mt.Tensor,
                            update_min: mt.Tensor, update_max: mt.Tensor) -> mt.Tensor:
        if bool(update_min == orig_min) and bool(update_max == orig_max):
            return orig_hist + update_hist
        if bool(orig_min == orig_max):
            bin_value = mt.sum(orig_hist)
            moved = mt.histc(orig_min.reshape(1), bins=self.bins, min=float(update_min),
                             max=float(update_max)) * bin_value
            return moved + update_hist
        if bool(update_min > orig_min):
            raise AssertionError("update_min must be <= orig_min")
        if bool(update_max < orig_max):
            raise AssertionError("update_max must be >= orig_max")
        return update_hist + self._upscale_histogram(orig_hist, orig_min, orig_max, update_min,
                                                     update_max)

    def reset_histogram(self, x: mt.Tensor, min_val: mt.Tensor, max_val: mt.Tensor) -> None:
        self.min_val.copy_(min_val)
        self.max_val.copy_(max_val)
        self._set_histogram(mt.histc(x, self.bins, min=float(min_val), max=float(max_val)))

    def _set_histogram(self, hist: mt.Tensor) -> None:
        self.histogram.resize_(tuple(hist.shape))
        self.histogram.copy_(hist)

    def forward(self, x_orig: mt.Tensor) -> mt.Tensor:
        if x_orig.numel() == 0:
            return x_orig
        x = x_orig.detach()
        x_min, x_max = mt.aminmax(x)
        if float(x_min) == float("-inf") or float(x_max) == float("inf"):
            warnings.warn("torch.inf detected in input tensor, ignoring input", stacklevel=2)
            x = x[x.abs() != float("inf")]
            if x.numel() == 0:
                return x_orig
            x_min, x_max = mt.aminmax(x)
        if float(self.min_val) == float("inf") or float(self.max_val) == float("-inf"):
            self.reset_histogram(x, x_min, x_max)
            return x_orig
        cur_min, cur_max = self.min_val.clone(), self.max_val.clone()
        new_min, new_max = mt.minimum(cur_min, x_min), mt.maximum(cur_max, x_max)
        update = mt.histc(x, self.bins, min=float(new_min), max=float(new_max))
        if bool(new_min == cur_min) and bool(new_max == cur_max):
            self._set_histogram(self.histogram + update)
        else:
            self._set_histogram(self._combine_histograms(self.histogram, cur_min, cur_max,
                                                         update, new_min, new_max))
            self.min_val.copy_(new_min)
            self.max_val.copy_(new_max)
        return x_orig

    def calculate_qparams(self) -> tuple[mt.Tensor, mt.Tensor]:  # type: ignore[override]
        if float(self.min_val) == float("inf") and float(self.max_val) == float("-inf"):
            warnings.warn("must run observer before calling calculate_qparams. Returning "
                          "default scale and zero point ", stacklevel=2)
            return mt.tensor([1.0]), mt.tensor([0])
        if self.bins != len(self.histogram):
            raise AssertionError("The number of bins in histogram should be equal to the "
                                 "number of bins supplied while making this observer")
        new_min, new_max = self._non_linear_param_search()
        return self._calculate_qparams(new_min, new_max)

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}"

    def _load_from_state_dict(self, state_dict: dict, prefix: str, local_metadata: dict,
                              strict: bool, missing_keys: list, unexpected_keys: list,
                              error_msgs: list) -> None:
        from ._observer_base import _load_buffers

        _legacy_minmax_hook(self, state_dict, prefix)
        _load_buffers(self, state_dict, prefix, strict, missing_keys)


def _legacy_minmax_hook(module: Any, state_dict: dict, prefix: str, *_: Any) -> None:
    """State dicts older than version 3 stored an unobserved min/max as shape [0]; PyTorch
    maps that to the 0-d +/-inf of today. The histogram may also change length."""
    for name, fill in (("min_val", float("inf")), ("max_val", float("-inf"))):
        val = state_dict.get(prefix + name)
        if val is not None and tuple(val.shape) == (0,):
            state_dict[prefix + name] = mt.tensor(fill)
    hist = state_dict.get(prefix + "histogram")
    if hist is not None and tuple(hist.shape) != tuple(module.histogram.shape):
        module.histogram.resize_(tuple(hist.shape))
