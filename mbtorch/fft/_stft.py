"""``stft`` and ``istft`` (``torch.stft``/``torch.istft`` and the Tensor methods), composed of
differentiable ops: frames are a strided view (``unfold``) of the (reflect-)padded signal,
windowed and transformed along their last dim; the inverse transforms the frames back,
windows them again and overlap-adds them with a scatter-add, dividing by the summed squared
window (the NOLA envelope) as PyTorch does."""

from __future__ import annotations

import warnings
from typing import Any

from ..core import dtypes as _dt
from ..core.ops import binary as _b
from ..core.ops.complex import view_as_complex, view_as_real
from ..core.ops.creation import arange, ones, zeros
from ..core.tensor import Tensor
from ._transforms import fft, ifft, irfft, rfft

__all__ = ["stft", "istft"]


def _window(window: Any, n_fft: int, win_length: int | None, x: Tensor, name: str,
            advice: str) -> Tensor:
    """The window zero-padded to ``n_fft`` (centred), a rectangular one when None."""
    win_length = n_fft if win_length is None else win_length
    if not 0 < win_length <= n_fft:
        raise RuntimeError(f"{name}: expected 0 < win_length <= n_fft, but got "
                           f"win_length={win_length}")
    if window is None:
        warnings.warn(f"{name}: A window was not provided. A rectangular window will be "
                      f"applied. {advice}", UserWarning, stacklevel=3)
        window = ones(win_length, dtype=x._dtype.to_real(), device=x._device)
    elif not isinstance(window, Tensor) or window.ndim != 1 or window.shape[0] != win_length:
        raise RuntimeError(f"{name}: expected a 1D window tensor of size equal to "
                           f"win_length={win_length}")
    left = (n_fft - win_length) // 2
    if left or n_fft - win_length - left:
        from ..core.ops.joining import cat

        pad_l = zeros(left, dtype=window._dtype, device=window._device)
        pad_r = zeros(n_fft - win_length - left, dtype=window._dtype, device=window._device)
        window = cat([pad_l, window, pad_r])
    return window


def _check_sizes(n_fft: Any, hop_length: Any, name: str) -> int:
    if not isinstance(n_fft, int) or n_fft <= 0:
        raise RuntimeError(f"{name}: expected 0 < n_fft, but got n_fft={n_fft}")
    hop = n_fft // 4 if hop_length is None else hop_length
    if not isinstance(hop, int) or hop <= 0:
        raise RuntimeError(f"{name}: expected hop_length > 0, but got hop_length={hop}")
    return hop


def stft(input: Tensor, n_fft: int, hop_length: int | None = None,
         win_length: int | None = None, window: Tensor | None = None, center: bool = True,
         pad_mode: str = "reflect", normalized: bool = False, onesided: bool | None = None,
         return_complex: bool | None = None) -> Tensor:
    """The short-time Fourier transform of a 1-D ``(L,)`` or batched ``(B, L)`` signal:
    ``(B?, n_fft // 2 + 1, frames)`` complex (all ``n_fft`` frequencies when ``onesided``
    is False, the default for complex input or window)."""
    name = "stft"
    if not isinstance(input, Tensor):
        raise TypeError(f"stft(): argument 'input' must be Tensor, not {type(input).__name__}")
    if input.ndim not in (1, 2):
        raise RuntimeError(f"stft: expected a 1D or 2D tensor, but got {input.ndim}D")
    complex_in = input._dtype.is_complex or (window is not None and window._dtype.is_complex)
    if return_complex is None:
        if not complex_in:
            raise RuntimeError("stft requires the return_complex parameter be given for real "
                               "inputs, and will further require that return_complex=True in "
                               "a future PyTorch release.")
        return_complex = True
    hop = _check_sizes(n_fft, hop_length, name)
    x = input if input.ndim == 2 else input.unsqueeze(0)
    if x._dtype.category < _dt.FLOATING_CATEGORY:
        x = x.to(_dt.get_default_dtype())
    if center:
        from ..nn.functional import pad

        x = pad(x.unsqueeze(1), (n_fft // 2, n_fft // 2), mode=pad_mode).squeeze(1)
    if x.shape[-1] < n_fft:
        raise RuntimeError(f"stft: expected 0 < n_fft <= {x.shape[-1]}, but got n_fft={n_fft}")
    w = _window(window, n_fft, win_length, x, name,
                "Other windows such as mbtorch.hann_window are recommended to reduce spectral "
                "leakage.")
    frames = _b.mul(x.unfold(-1, n_fft, hop), w)  # (B, frames, n_fft)
    onesided = (not complex_in) if onesided is None else onesided
    if onesided and complex_in:
        raise RuntimeError("stft: Cannot have onesided output if window or input is complex")
    norm = "ortho" if normalized else "backward"
    out = (rfft if onesided else fft)(frames, dim=-1, norm=norm).transpose(-1, -2)
    if input.ndim == 1:
        out = out.squeeze(0)
    if not return_complex:
        warnings.warn("stft with return_complex=False is deprecated: call view_as_real on "
                      "the complex output instead", UserWarning, stacklevel=2)
        return view_as_real(out.contiguous())
    return out


def istft(input: Tensor, n_fft: int, hop_length: int | None = None,
          win_length: int | None = None, window: Tensor | None = None, center: bool = True,
          normalized: bool = False, onesided: bool | None = None, length: int | None = None,
          return_complex: bool = False) -> Tensor:
    """The inverse of ``stft``: overlap-add of the inverse-transformed, windowed frames,
    divided by the summed squared window."""
    name = "istft"
    if not isinstance(input, Tensor):
        raise TypeError(f"istft(): argument 'input' must be Tensor, not "
                        f"{type(input).__name__}")
    if not input._dtype.is_complex:
        if input.ndim >= 3 and input.shape[-1] == 2:  # the deprecated real-pairs layout
            input = view_as_complex(input.contiguous())
        else:
            raise RuntimeError("istft requires a complex-valued input tensor")
    if input.ndim not in (2, 3):
        raise RuntimeError(f"istft: expected a tensor with 2 or 3 dims of complex values, "
                           f"but got {input.ndim}")
    hop = _check_sizes(n_fft, hop_length, name)
    spec = input if input.ndim == 3 else input.unsqueeze(0)
    onesided = (spec.shape[-2] != n_fft) if onesided is None else onesided
    expected = n_fft // 2 + 1 if onesided else n_fft
    if spec.shape[-2] != expected:
        raise RuntimeError(f"istft: expected the frequency dimension (3rd to the last) of the "
                           f"input tensor to match n_fft / 2 + 1 when onesided=True, but got "
                           f"{spec.shape[-2]}" if onesided else
                           f"istft: expected the frequency dimension to be n_fft={n_fft} when "
                           f"onesided=False, but got {spec.shape[-2]}")
    if onesided and return_complex:
        raise RuntimeError("istft: cannot have onesided output if return_complex=True")
    norm = "ortho" if normalized else "backward"
    frames = spec.transpose(-1, -2)  # (B, frames, freq)
    if onesided:
        frames = irfft(frames, n=n_fft, dim=-1, norm=norm)
    else:
        frames = ifft(frames, dim=-1, norm=norm)
        if not return_complex:
            from ..core.ops.complex import real

            frames = real(frames)
    w = _window(window, n_fft, win_length, frames, name,
                "Please provide the same window used by stft to make the inversion lossless.")
    return _overlap_add(_b.mul(frames, w), w, n_fft, hop, center, length, input.ndim == 2)


def _overlap_add(frames: Tensor, w: Tensor, n_fft: int, hop: int, center: bool,
                 length: int | None, unbatched: bool) -> Tensor:
    n_frames = frames.shape[-2]
    total = n_fft + hop * (n_frames - 1)
    # each frame's samples land at t * hop + k: a scatter-add over the flattened frames
    pos = _b.add(_b.mul(arange(n_frames, device=w._device).unsqueeze(1), hop),
                 arange(n_fft, device=w._device)).reshape(-1)
    batch = frames.shape[0]
    index = pos.unsqueeze(0).expand(batch, pos.shape[0])
    y = zeros(batch, total, dtype=frames._dtype, device=frames._device)
    y = y.scatter_add(-1, index, frames.reshape(batch, -1))
    sq = _b.mul(w, w)
    env = zeros(total, dtype=sq._dtype, device=sq._device).scatter_add(
        0, pos, sq.unsqueeze(0).expand(n_frames, n_fft).reshape(-1))
    start = n_fft // 2 if center else 0
    end = total if length is None and not center else (
        total - n_fft // 2 if length is None else start + length)
    end = min(end, total)
    y, env = y[:, start:end], env[start:end]
    if float(env.abs().min()) < 1e-11:
        raise RuntimeError("istft: window overlap add min: the window's squared sum is zero "
                           "somewhere (NOLA condition failed)")
    y = _b.div(y, env)
    if length is not None and y.shape[-1] < length:
        y = _pad_end(y, length - y.shape[-1])
    return y.squeeze(0) if unbatched else y


def _pad_end(y: Tensor, extra: int) -> Tensor:
    from ..core.ops.joining import cat

    return cat([y, zeros(y.shape[0], extra, dtype=y._dtype, device=y._device)], -1)
