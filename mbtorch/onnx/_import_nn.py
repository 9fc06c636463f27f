"""ONNX neural-network operators as mbtorch calls (see ``_import_ops``): convolution, pooling,
normalization, and the recurrent LSTM/GRU (ONNX's gate orders: LSTM ``i, o, f, c``, GRU
``z, r, h``)."""

from __future__ import annotations

__all__: list[str] = []

from typing import Any

import mbtorch as mt

from ._import_ops import Run, imports

F = mt.nn.functional


def _spatial_pads(run: Run, op: str, pads: Any, n: int, auto_pad: str) -> list[int]:
    if auto_pad not in ("NOTSET", "VALID"):
        raise run.error(op, f"auto_pad={auto_pad!r} is not supported (export with explicit pads)")
    pads = list(pads) if pads is not None else [0] * (2 * n)
    begin, end = pads[:n], pads[n:]
    if begin != end:
        raise run.error(op, f"asymmetric pads {pads} are not supported")
    return begin


def _conv_fn(op: str, run: Run, n: int, transpose: bool) -> Any:
    fns = ({1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d} if transpose
           else {1: F.conv1d, 2: F.conv2d, 3: F.conv3d})
    if n not in fns:
        raise run.error(op, f"{n}-D convolution is not supported")
    return fns[n]


@imports("Conv")
def _conv(op: str, run: Run, x: Any, w: Any, b: Any = None, group: int = 1, pads: Any = None,
          strides: Any = None, dilations: Any = None, kernel_shape: Any = None,
          auto_pad: str = "NOTSET") -> list:
    n = x.ndim - 2
    padding = _spatial_pads(run, op, pads, n, auto_pad)
    return [_conv_fn(op, run, n, False)(x, w, b, list(strides or [1] * n), padding,
                                        list(dilations or [1] * n), group)]


@imports("ConvTranspose")
def _conv_transpose(op: str, run: Run, x: Any, w: Any, b: Any = None, group: int = 1,
                    pads: Any = None, strides: Any = None, dilations: Any = None,
                    kernel_shape: Any = None, output_padding: Any = None,
                    output_shape: Any = None, auto_pad: str = "NOTSET") -> list:
    n = x.ndim - 2
    if output_shape is not None:
        raise run.error(op, "output_shape is not supported (export with pads)")
    padding = _spatial_pads(run, op, pads, n, auto_pad)
    return [_conv_fn(op, run, n, True)(x, w, b, list(strides or [1] * n), padding,
                                       list(output_padding or [0] * n), group,
                                       list(dilations or [1] * n))]


@imports("MaxPool")
def _max_pool(op: str, run: Run, x: Any, kernel_shape: Any, pads: Any = None,
              strides: Any = None, dilations: Any = None, ceil_mode: int = 0,
              storage_order: int = 0, auto_pad: str = "NOTSET") -> list:
    n = x.ndim - 2
    padding = _spatial_pads(run, op, pads, n, auto_pad)
    fn = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}[n]
    values, idx = fn(x, list(kernel_shape), list(strides or [1] * n), padding,
                     list(dilations or [1] * n), bool(ceil_mode), True)
    # ONNX numbers positions over the whole tensor, PyTorch within each (n, c) plane
    plane = 1
    for s in x.shape[2:]:
        plane *= s
    offsets = mt.arange(x.shape[0] * x.shape[1], device=x.device).reshape(
        x.shape[0], x.shape[1], *([1] * n)) * plane
    return [values, idx + offsets]


@imports("AveragePool")
def _avg_pool(op: str, run: Run, x: Any, kernel_shape: Any, pads: Any = None,
              strides: Any = None, ceil_mode: int = 0, count_include_pad: int = 0,
              dilations: Any = None, auto_pad: str = "NOTSET") -> list:
    n = x.ndim - 2
    if dilations is not None and any(d != 1 for d in dilations):
        raise run.error(op, "dilations are not supported")
    padding = _spatial_pads(run, op, pads, n, auto_pad)
    fn = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}[n]
    return [fn(x, list(kernel_shape), list(strides or [1] * n), padding, bool(ceil_mode),
               bool(count_include_pad))]


@imports("GlobalAveragePool", "GlobalMaxPool")
def _global_pool(op: str, run: Run, x: Any) -> list:
    dims = tuple(range(2, x.ndim))
    if op == "GlobalAveragePool":
        return [mt.mean(x, dims, keepdim=True)]
    return [mt.amax(x, dims, keepdim=True)]


@imports("BatchNormalization")
def _batch_norm(op: str, run: Run, x: Any, scale: Any, bias: Any, mean: Any, var: Any,
                epsilon: float = 1e-5, momentum: float = 0.9, training_mode: int = 0) -> list:
    if training_mode:
        raise run.error(op, "training_mode=1: only inference is supported")
    return [F.batch_norm(x, mean, var, scale, bias, False, 0.0, epsilon)]


@imports("LayerNormalization")
def _layer_norm(op: str, run: Run, x: Any, scale: Any, bias: Any = None, axis: int = -1,
                epsilon: float = 1e-5, stash_type: int = 1) -> list:
    axis %= x.ndim
    return [F.layer_norm(x, tuple(x.shape[axis:]), scale, bias, epsilon)]


@imports("InstanceNormalization")
def _instance_norm(op: str, run: Run, x: Any, scale: Any, bias: Any,
                   epsilon: float = 1e-5) -> list:
    return [F.instance_norm(x, weight=scale, bias=bias, eps=epsilon)]


@imports("GroupNormalization")
def _group_norm(op: str, run: Run, x: Any, scale: Any, bias: Any, num_groups: int,
                epsilon: float = 1e-5, stash_type: int = 1) -> list:
    if scale.shape[0] != x.shape[1]:  # opset 18's per-group scale
        raise run.error(op, "per-group scale (opset 18) is not supported; use opset 21")
    return [F.group_norm(x, num_groups, scale, bias, epsilon)]


@imports("Col2Im")
def _col2im(op: str, run: Run, x: Any, image_shape: Any, block_shape: Any,
            dilations: Any = None, pads: Any = None, strides: Any = None) -> list:
    from ._import_ops import host_ints

    size, kernel = host_ints(image_shape), host_ints(block_shape)
    if len(size) != 2:
        raise run.error(op, "only 2-D images are supported")
    padding = _spatial_pads(run, op, pads, 2, "NOTSET")
    return [F.fold(x, size, kernel, list(dilations or [1, 1]), padding,
                   list(strides or [1, 1]))]


def _rnn_checks(run: Run, op: str, layout: int, direction: str, clip: Any,
                activations: Any) -> list[bool]:
    if layout:
        raise run.error(op, "layout=1 is not supported (export with batch_first handled "
                            "by Transpose)")
    if clip is not None or activations is not None:
        raise run.error(op, "clip and custom activations are not supported")
    if direction not in ("forward", "reverse", "bidirectional"):
        raise run.error(op, f"direction={direction!r}")
    return ([False, True] if direction == "bidirectional"
            else [direction == "reverse"])


def _steps(x: Any, reverse: bool) -> list[int]:
    order = list(range(x.shape[0]))
    return order[::-1] if reverse else order


@imports("LSTM")
def _lstm(op: str, run: Run, x: Any, w: Any, r: Any, b: Any = None, seq_lens: Any = None,
          h0: Any = None, c0: Any = None, p: Any = None, hidden_size: int | None = None,
          direction: str = "forward", layout: int = 0, clip: Any = None,
          activations: Any = None, activation_alpha: Any = None, activation_beta: Any = None,
          input_forget: int = 0) -> list:
    if seq_lens is not None or p is not None or input_forget:
        raise run.error(op, "sequence_lens, peepholes and input_forget are not supported")
    hs = hidden_size or r.shape[-1]
    ys, hn, cn = [], [], []
    for d, reverse in enumerate(_rnn_checks(run, op, layout, direction, clip, activations)):
        bias = (b[d, :4 * hs] + b[d, 4 * hs:]) if b is not None else 0.0
        h = h0[d] if h0 is not None else mt.zeros(x.shape[1], hs, dtype=x.dtype, device=x.device)
        c = c0[d] if c0 is not None else mt.zeros_like(h)
        xw = mt.matmul(x, w[d].t()) + bias  # all steps' input products at once
        out = [None] * x.shape[0]
        for t in _steps(x, reverse):
            g = xw[t] + mt.matmul(h, r[d].t())
            i, o, f, cc = g.chunk(4, -1)
            c = mt.sigmoid(f) * c + mt.sigmoid(i) * mt.tanh(cc)
            h = mt.sigmoid(o) * mt.tanh(c)
            out[t] = h
        ys.append(mt.stack(out))
        hn.append(h)
        cn.append(c)
    return [mt.stack(ys, 1), mt.stack(hn), mt.stack(cn)]


@imports("GRU")
def _gru(op: str, run: Run, x: Any, w: Any, r: Any, b: Any = None, seq_lens: Any = None,
         h0: Any = None, hidden_size: int | None = None, direction: str = "forward",
         layout: int = 0, clip: Any = None, activations: Any = None,
         activation_alpha: Any = None, activation_beta: Any = None,
         linear_before_reset: int = 0) -> list:
    if seq_lens is not None:
        raise run.error(op, "sequence_lens is not supported")
    hs = hidden_size or r.shape[-1]
    ys, hn = [], []
    for d, reverse in enumerate(_rnn_checks(run, op, layout, direction, clip, activations)):
        wb = b[d, :3 * hs] if b is not None else 0.0
        rb = b[d, 3 * hs:] if b is not None else mt.zeros(3 * hs, dtype=x.dtype,
                                                          device=x.device)
        h = h0[d] if h0 is not None else mt.zeros(x.shape[1], hs, dtype=x.dtype, device=x.device)
        xw = mt.matmul(x, w[d].t()) + wb
        rz, rr, rh = r[d].chunk(3, 0)
        bz, br, bh = rb.chunk(3, 0)
        out = [None] * x.shape[0]
        for t in _steps(x, reverse):
            xz, xr, xh = xw[t].chunk(3, -1)
            z = mt.sigmoid(xz + mt.matmul(h, rz.t()) + bz)
            rt = mt.sigmoid(xr + mt.matmul(h, rr.t()) + br)
            if linear_before_reset:
                n = mt.tanh(xh + rt * (mt.matmul(h, rh.t()) + bh))
            else:
                n = mt.tanh(xh + mt.matmul(rt * h, rh.t()) + bh)
            h = (1 - z) * n + z * h
            out[t] = h
        ys.append(mt.stack(out))
        hn.append(h)
    return [mt.stack(ys, 1), mt.stack(hn)]
