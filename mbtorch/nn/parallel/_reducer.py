"""Gradient buckets: all-reduce gradients while backward is still running.

Parameters are grouped into buckets (by device and dtype, about ``bucket_cap_mb`` each) in
reverse registration order, roughly the order backward produces their gradients. A
post-accumulate-grad hook marks a parameter ready once its ``.grad`` holds this pass's total;
when every parameter of a bucket is ready, the bucket's gradients are copied into one flat
tensor and a non-blocking averaging all-reduce starts, so communication overlaps the rest of
backward. Buckets start strictly in index order, on every rank alike: MPI (and NCCL) match
collectives by the order they are issued, so a bucket that is ready early waits for its
predecessors. A callback queued on the autograd engine runs when backward ends: it starts the
buckets still waiting (parameters that got no gradient in this pass count as zeros), waits for
every reduction (under the process group's deadline) and writes the averages back to ``.grad``.
"""

from __future__ import annotations

from typing import Any

from ... import distributed as dist
from ...autograd.engine import queue_callback
from ...autograd.grad_mode import no_grad
from ...core.ops.creation import empty
from ...core.tensor import Tensor

__all__ = ["FIRST_BUCKET_BYTES", "Bucket", "make_buckets", "Reducer"]

FIRST_BUCKET_BYTES = 1 << 20  # a small first bucket starts communication early, as torch


class Bucket:
    __slots__ = ("params", "offsets", "numel", "flat", "views", "ready", "work")

    def __init__(self, params: list[Tensor]) -> None:
        self.params = params
        self.offsets, n = [], 0
        for p in params:
            self.offsets.append(n)
            n += p.numel()
        self.numel = n
        self.flat: Tensor | None = None
        self.views: list[Tensor] = []
        self.ready: set[int] = set()
        self.work: Any = None

    def _buffer(self) -> None:
        """The flat tensor on the parameters' current device and dtype (they may have moved
        since the last pass), and one view of it per parameter."""
        p0 = self.params[0]
        if self.flat is not None and self.flat.device == p0.device and \
                self.flat.dtype == p0.dtype:
            return
        self.flat = empty(self.numel, dtype=p0.dtype, device=p0.device)
        self.views = [self.flat[o:o + p.numel()].view(p.shape)
                      for o, p in zip(self.offsets, self.params)]

    def launch(self, group: Any) -> None:
        self._buffer()
        with no_grad():
            for p, v in zip(self.params, self.views):
                if p.grad is None:  # no gradient this pass (unused on this rank): zero
                    v.zero_()
                else:
                    v.copy_(p.grad)
        self.work = dist.all_reduce(self.flat, op=dist.ReduceOp.AVG, group=group, async_op=True)

    def finish(self) -> None:
        self.work.wait()
        self.work = None
        with no_grad():
            for p, v in zip(self.params, self.views):
                if p.grad is None:
                    p.grad = v.clone()
                else:
                    p.grad.copy_(v)
        self.ready.clear()


def make_buckets(params: list[Tensor], cap_bytes: int) -> list[Bucket]:
    buckets, current, size, key = [], [], 0, None
    for p in reversed(params):
        k = (p.device, p.dtype)
        limit = min(FIRST_BUCKET_BYTES, cap_bytes) if not buckets else cap_bytes
        if current and (k != key or size >= limit):
            buckets.append(Bucket(current))
            current, size = [], 0
        current.append(p)
        size += p.numel() * p.element_size()
        key = k
    if current:
        buckets.append(Bucket(current))
    return buckets


class Reducer:
    """Owns the buckets and the per-pass state; ``arm()`` before a forward whose backward
    must synchronize gradients."""

    def __init__(self, params: list[Tensor], cap_bytes: int, group: Any) -> None:
        self.group = group
        self.buckets = make_buckets(params, cap_bytes)
        self.where: dict[int, tuple[int, int]] = {}
        for bi, b in enumerate(self.buckets):
            for pi, p in enumerate(b.params):
                self.where[id(p)] = (bi, pi)
        self.handles = [p.register_post_accumulate_grad_hook(self._hook) for p in params]
        self.armed = False
        self.queued = False
        self.next = 0  # index of the first bucket not started in this pass

    def arm(self) -> None:
        if any(b.work is not None for b in self.buckets):
            raise RuntimeError("DistributedDataParallel: the previous backward pass did not "
                               "finish its gradient reduction (did it raise?); the ranks' "
                               "collectives are out of step")
        for b in self.buckets:
            b.ready.clear()
        self.armed, self.queued, self.next = True, False, 0

    def _hook(self, p: Tensor) -> None:
        if not self.armed:
            return
        if not self.queued:
            queue_callback(self._finalize)
            self.queued = True
        bi, pi = self.where[id(p)]
        self.buckets[bi].ready.add(pi)
        self._launch_ready()
        for b in self.buckets[:self.next]:  # drive MPI's progress between backward steps
            if b.work is not None:
                b.work.is_completed()

    def _launch_ready(self) -> None:
        while self.next < len(self.buckets):
            b = self.buckets[self.next]
            if len(b.ready) < len(b.params):
                return
            b.launch(self.group)
            self.next += 1

    def _finalize(self) -> None:
        self.armed = False
        while self.next < len(self.buckets):
            self.buckets[self.next].launch(self.group)
            self.next += 1
        for b in self.buckets:
            b.finish()

    def remove(self) -> None:
        for h in self.handles:
            h.remove()

