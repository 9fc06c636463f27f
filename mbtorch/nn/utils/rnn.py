"""Variable-length sequences for the recurrent layers: ``PackedSequence`` and
``pack_padded_sequence``, ``pad_packed_sequence``, ``pad_sequence``, ``pack_sequence``,
``unpad_sequence``, ``unpack_sequence``, with PyTorch's layouts (time-major packed data,
``batch_sizes`` per step, sequences sorted by decreasing length). Packing and unpacking are
single index selects, so gradients flow through both."""

from __future__ import annotations

from collections import namedtuple
from typing import Any, Sequence

import mbtorch as _mt

from ...core.tensor import Tensor

__all__ = [
    "PackedSequence", "pack_padded_sequence", "pad_packed_sequence", "pad_sequence",
    "pack_sequence", "unpad_sequence", "unpack_sequence", "invert_permutation"
]

_Fields = namedtuple("PackedSequence_", ["data", "batch_sizes", "sorted_indices",
                                         "unsorted_indices"])


def invert_permutation(permutation: Tensor | None) -> Tensor | None:
    if permutation is None:
        return None
    out = _mt.empty_like(permutation)
    out[permutation] = _mt.arange(permutation.numel(), device=permutation.device)
    return out


class PackedSequence(_Fields):
    """``data`` (sum of lengths, *) holds step 0 of every sequence, then step 1 of those
    still running, ...; ``batch_sizes[t]`` counts the sequences running at step t."""

    def __new__(cls, data: Tensor, batch_sizes: Tensor | None = None,
                sorted_indices: Tensor | None = None,
                unsorted_indices: Tensor | None = None) -> "PackedSequence":
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        if batch_sizes is None:  # PyTorch also accepts the (data, batch_sizes) tuple
            data, batch_sizes = data
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args: Any, **kwargs: Any) -> "PackedSequence":
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        dev = data.device
        move = (lambda t: None if t is None else t.to(dev))
        return type(self)(data, self.batch_sizes, move(self.sorted_indices),
                          move(self.unsorted_indices))

    def cpu(self) -> "PackedSequence":
        return self.to("cpu")

    def double(self) -> "PackedSequence":
        return self.to(dtype=_mt.float64)

    def float(self) -> "PackedSequence":
        return self.to(dtype=_mt.float32)

    @property
    def is_cuda(self) -> bool:
        return self.data.is_cuda

    def is_pinned(self) -> bool:
        return False


def _lengths_list(lengths: Any) -> list[int]:
    if isinstance(lengths, Tensor):
        return [int(v) for v in lengths.reshape(-1).tolist()]
    return [int(v) for v in lengths]


def _sorted_order(lengths: list[int], enforce_sorted: bool) -> list[int] | None:
    if enforce_sorted:
        if any(a < b for a, b in zip(lengths, lengths[1:])):
            raise RuntimeError("`lengths` array must be sorted in decreasing order when "
                               "`enforce_sorted` is True. You can pass `enforce_sorted=False` "
                               "to pack_padded_sequence and/or pack_sequence to sidestep this "
                               "requirement if you do not need ONNX exportability.")
        return None
    return sorted(range(len(lengths)), key=lambda i: -lengths[i])  # stable, as PyTorch's


def _batch_sizes(sorted_lengths: list[int]) -> list[int]:
    return [sum(1 for n in sorted_lengths if n > t) for t in range(sorted_lengths[0])]


def pack_padded_sequence(input: Tensor, lengths: Any, batch_first: bool = False,
                         enforce_sorted: bool = True) -> PackedSequence:
    """Pack a padded (T, B, *) batch (or (B, T, *) with ``batch_first``) of sequences of the
    given lengths."""
    lens = _lengths_list(lengths)
    if len(lens) != input.shape[1 if not batch_first else 0]:
        raise RuntimeError(f"pack_padded_sequence(): Expected `len(lengths)` to be equal to "
                           f"batch_size, but got {len(lens)} (batch_size="
                           f"{input.shape[0 if batch_first else 1]})")
    if any(n <= 0 for n in lens):
        raise RuntimeError("Length of all samples has to be greater than 0, but found an "
                           "element in 'lengths' that is <= 0")
    order = _sorted_order(lens, enforce_sorted)
    x = input.transpose(0, 1) if batch_first else input
    if max(lens) > x.shape[0]:
        raise RuntimeError(f"pack_padded_sequence(): a length ({max(lens)}) exceeds the "
                           f"padded sequence length ({x.shape[0]})")
    perm = order if order is not None else list(range(len(lens)))
    sizes = _batch_sizes([lens[i] for i in perm])
    n = x.shape[1]
    flat = [t * n + perm[b] for t, bs in enumerate(sizes) for b in range(bs)]
    data = x.reshape((-1,) + tuple(x.shape[2:])).index_select(
        0, _mt.tensor(flat, device=x.device))
    sorted_idx = _mt.tensor(order, device=x.device) if order is not None else None
    return PackedSequence(data, _mt.tensor(sizes), sorted_idx, invert_permutation(sorted_idx))


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False,
                        padding_value: float = 0.0,
                        total_length: int | None = None) -> tuple[Tensor, Tensor]:
    """The inverse of ``pack_padded_sequence``: (padded batch, lengths), in the original
    batch order."""
    sizes = [int(v) for v in sequence.batch_sizes.tolist()]
    max_len, batch = len(sizes), sizes[0]
    if total_length is not None:
        if total_length < max_len:
            raise ValueError(f"Expected total_length to be at least the length of the longest "
                             f"sequence in input, but got total_length={total_length} and max "
                             f"sequence length being {max_len}")
        max_len = total_length
    data = sequence.data
    unsorted = sequence.unsorted_indices
    to_sorted = unsorted.tolist() if unsorted is not None else list(range(batch))
    fill = data.shape[0]  # one extra row holding the padding value
    starts = [sum(sizes[:t]) for t in range(len(sizes))]
    idx = [[starts[t] + to_sorted[b] if t < len(sizes) and to_sorted[b] < sizes[t] else fill
            for b in range(batch)] for t in range(max_len)]
    pad_row = _mt.full((1,) + tuple(data.shape[1:]), padding_value, dtype=data.dtype,
                       device=data.device)
    ext = _mt.cat([data, pad_row], 0)
    out = ext.index_select(0, _mt.tensor(idx, device=data.device).reshape(-1))
    out = out.reshape((max_len, batch) + tuple(data.shape[1:]))
    lengths = [sum(1 for bs in sizes if bs > to_sorted[b]) for b in range(batch)]
    return (out.transpose(0, 1) if batch_first else out), _mt.tensor(lengths)


def pad_sequence(sequences: Sequence[Tensor] | Tensor, batch_first: bool = False,
                 padding_value: float = 0.0, padding_side: str = "right") -> Tensor:
    """Stack sequences of different lengths (L_i, *) into (T, B, *) (or (B, T, *))."""
    if padding_side not in ("left", "right"):
        raise ValueError(f"Expected padding_side to be one of left or right, but got "
                         f"{padding_side}.")
    seqs = list(sequences.unbind(0)) if isinstance(sequences, Tensor) else list(sequences)
    if not seqs:
        raise RuntimeError("pad_sequence(): received an empty list of sequences")
    trailing = tuple(seqs[0].shape[1:])
    longest = max(s.shape[0] for s in seqs)
    rows = []
    for s in seqs:
        if tuple(s.shape[1:]) != trailing:
            raise RuntimeError(f"pad_sequence(): The size of tensor a ({list(s.shape)}) must "
                               f"match the others ({list(trailing)}) outside dim 0")
        gap = longest - s.shape[0]
        if gap:
            pad = _mt.full((gap,) + trailing, padding_value, dtype=s.dtype, device=s.device)
            s = _mt.cat([s, pad] if padding_side == "right" else [pad, s], 0)
        rows.append(s)
    return _mt.stack(rows, 0 if batch_first else 1)


def pack_sequence(sequences: Sequence[Tensor], enforce_sorted: bool = True) -> PackedSequence:
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths,
                                enforce_sorted=enforce_sorted)


def unpad_sequence(padded_sequences: Tensor, lengths: Any,
                   batch_first: bool = False) -> list[Tensor]:
    x = padded_sequences if batch_first else padded_sequences.transpose(0, 1)
    return [x[i, :n] for i, n in enumerate(_lengths_list(lengths))]


def unpack_sequence(packed_sequences: PackedSequence) -> list[Tensor]:
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)


def _pack_like(padded: Tensor, like: PackedSequence) -> PackedSequence:
    """Pack time-major ``padded`` (original batch order) with ``like``'s layout."""
    sizes = [int(v) for v in like.batch_sizes.tolist()]
    n = padded.shape[1]
    order = like.sorted_indices.tolist() if like.sorted_indices is not None else list(range(n))
    flat = [t * n + order[b] for t, bs in enumerate(sizes) for b in range(bs)]
    data = padded.reshape((-1,) + tuple(padded.shape[2:])).index_select(
        0, _mt.tensor(flat, device=padded.device))
    return PackedSequence(data, like.batch_sizes, like.sorted_indices, like.unsorted_indices)

