"""``mbtorch.fft``, as ``torch.fft``: the discrete Fourier transforms (``fft``, ``ifft``,
``rfft``, ``irfft``, ``hfft``, ``ihfft`` and their 2-D and n-D forms, with ``n``/``s``,
``dim`` and ``norm``; float32 input gives complex64 output), the sample frequencies
(``fftfreq``, ``rfftfreq``) and the spectrum reorderings (``fftshift``, ``ifftshift``).

``mbtorch.stft``/``mbtorch.istft`` (and ``Tensor.stft``/``Tensor.istft``) live in
``_stft`` here, loaded on first use.

The transforms need complex dtypes on the tensor's device: the cpu backend has them; on a
device that does not declare complex64/complex128 they raise a TypeError naming the function,
the dtype and the device."""

from ._freq import fftfreq, fftshift, ifftshift, rfftfreq
from ._transforms import (
    fft, fft2, fftn, hfft, hfft2, hfftn, ifft, ifft2, ifftn, ihfft, ihfft2, ihfftn, irfft,
    irfft2, irfftn, rfft, rfft2, rfftn,
)

__all__ = [
    "fft", "ifft", "fft2", "ifft2", "fftn", "ifftn", "rfft", "irfft", "rfft2", "irfft2",
    "rfftn", "irfftn", "hfft", "ihfft", "hfft2", "ihfft2", "hfftn", "ihfftn", "fftfreq",
    "rfftfreq", "fftshift", "ifftshift",
]
