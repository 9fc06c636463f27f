"""Random number generators: a generator is a Philox key (the seed) and a counter (the offset).

Every random op asks its generator for ``n`` words with ``words``: the generator hands out the
counter range ``[offset, offset + n)`` and advances by ``n``, and the device's ``PHILOX``
kernel computes those words of the Philox4x32-10 stream (``plugin_api.philox_words``). The
stream depends only on (seed, offset), never on the device, so the same seed gives the same
numbers on every backend.

Unlike PyTorch, which keeps one default generator per device, mbtorch keeps a single default
generator for all devices, and a ``Generator`` may feed ops on any device: there is no
per-device state to keep apart.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from .. import dtypes as _dt
from ..device import device as Device
from ..op import Op
from ..state import STATE
from ..tensor import Tensor
from ._common import run

__all__ = [
    "DEFAULT_SEED", "Generator", "default_generator", "check_generator", "words", "manual_seed",
    "seed", "initial_seed", "get_rng_state", "set_rng_state"
]

DEFAULT_SEED = 67280421310721  # PyTorch's default seed, so initial_seed() reads the same
_U64 = 1 << 64
_STATE_BYTES = 16  # seed and offset, 8 bytes each, little-endian


def _check_seed(seed: Any, op: str) -> int:
    try:
        value = int(seed)
    except (TypeError, ValueError):
        raise TypeError(f"{op}(): seed must be an int, not {type(seed).__name__}") from None
    if not -(1 << 63) <= value < _U64:
        raise ValueError(f"{op}(): seed must be in [-2**63, 2**64), got {value}")
    return value % _U64  # negative seeds wrap, as PyTorch's do


class Generator:
    """A Philox4x32-10 generator: ``mbtorch.Generator().manual_seed(0)``.

    The state is the 64-bit seed (the Philox key) and the 64-bit offset (how many 32-bit words
    of the stream have been used). ``device`` is recorded for PyTorch compatibility; the
    numbers do not depend on it.
    """

    def __init__(self, device: Any = "cpu") -> None:
        self.device = Device(device)
        self._seed = DEFAULT_SEED
        self._offset = 0
        self._lock = threading.Lock()

    def manual_seed(self, seed: Any) -> "Generator":
        """Seed the generator and rewind its stream to the start."""
        seed = _check_seed(seed, "manual_seed")
        with self._lock:
            self._seed, self._offset = seed, 0
        return self

    def seed(self) -> int:
        """Seed from the operating system's entropy; returns the new seed."""
        value = int.from_bytes(os.urandom(8), "little")
        self.manual_seed(value)
        return value

    def initial_seed(self) -> int:
        return self._seed

    def get_offset(self) -> int:
        """How many 32-bit words of the stream have been consumed."""
        return self._offset

    def set_offset(self, offset: int) -> "Generator":
        if not isinstance(offset, int) or not 0 <= offset < _U64:
            raise ValueError(f"set_offset(): offset must be an int in [0, 2**64), got "
                             f"{offset!r}")
        with self._lock:
            self._offset = offset
        return self

    def get_state(self) -> Tensor:
        """The state as a ``uint8`` cpu tensor of 16 bytes (seed, then offset)."""
        from .creation import tensor

        raw = self._seed.to_bytes(8, "little") + self._offset.to_bytes(8, "little")
        return tensor(list(raw), dtype=_dt.uint8)

    def set_state(self, new_state: Tensor) -> "Generator":
        """Restore a state returned by ``get_state``."""
        if not isinstance(new_state, Tensor) or new_state._dtype is not _dt.uint8:
            raise TypeError("set_state(): RNG state must be a mbtorch.uint8 tensor")
        if new_state._shape != (_STATE_BYTES,):
            raise RuntimeError(f"set_state(): RNG state must have {_STATE_BYTES} bytes, got "
                               f"shape {list(new_state._shape)}")
        raw = bytes(int(b) for b in new_state.tolist())
        with self._lock:
            self._seed = int.from_bytes(raw[:8], "little")
            self._offset = int.from_bytes(raw[8:], "little")
        return self

    def _reserve(self, n: int) -> int:
        with self._lock:
            offset = self._offset
            self._offset = (offset + n) % _U64
        return offset

    def __repr__(self) -> str:
        return f"<mbtorch.Generator seed={self._seed} offset={self._offset}>"


default_generator = Generator()


def check_generator(generator: Any, op: str) -> Generator:
    """``generator`` or the default one, with PyTorch's kind of TypeError for a wrong type."""
    if generator is None:
        return default_generator
    if not isinstance(generator, Generator):
        raise TypeError(f"{op}(): argument 'generator' must be mbtorch.Generator, not "
                        f"{type(generator).__name__}")
    return generator


def words(n: int, d: Any, be: Any, generator: Generator) -> Tensor:
    """``n`` fresh words of ``generator``'s stream on device ``d``: int64 in [0, 2**32)."""
    if STATE.tracer is not None:  # mbtorch.compile replays the draw from the generator
        STATE.tracer.on_random(generator)
    offset = generator._reserve(n)
    return run(Op.PHILOX, (), (generator._seed, offset, n, d.index or 0),
               ((n,), _dt.int64), d, be)


def manual_seed(seed: Any) -> Generator:
    """Seed the default generator (all devices): every random op becomes reproducible."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    """Seed the default generator non-deterministically; returns the seed."""
    return default_generator.seed()


def initial_seed() -> int:
    return default_generator.initial_seed()


def get_rng_state() -> Tensor:
    """The default generator's state (``uint8`` tensor), for ``set_rng_state``."""
    return default_generator.get_state()


def set_rng_state(new_state: Tensor) -> None:
    default_generator.set_state(new_state)
