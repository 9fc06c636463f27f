"""``DistributedDataParallel``: the same model on every rank, each on its share of the batch,
gradients averaged over the ranks during backward (see ``_reducer``).

State dicts: ``state_dict()`` and ``load_state_dict()`` are the wrapped module's, without the
``module.`` prefix PyTorch adds, so a checkpoint written under DDP loads into the plain model
and back; ``load_state_dict`` also accepts a PyTorch-DDP-style dict whose keys all start with
``module.``. Traversal keeps PyTorch's view of DDP as a container (``named_parameters()``
names start with ``module.``). Attributes DDP does not have are looked up on the module.
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from typing import Any, Iterator

from ... import distributed as dist
from ...autograd.grad_mode import is_grad_enabled, no_grad
from ...core.ops.joining import cat
from ...core.tensor import Tensor
from ..modules.module import Module
from ._reducer import Reducer

__all__ = ["DistributedDataParallel"]

_PREFIX = "module."


def _broadcast_coalesced(tensors: list[Tensor], src: int, group: Any) -> None:
    """Rank ``src``'s values into ``tensors`` on every rank: one broadcast per (device,
    dtype) group rather than one per tensor."""
    groups: dict[tuple, list[Tensor]] = {}
    for t in tensors:
        groups.setdefault((t.device, t.dtype), []).append(t)
    with no_grad():
        for ts in groups.values():
            flat = cat([t.detach().reshape(-1) for t in ts])
            dist.broadcast(flat, src=src, group=group)
            start = 0
            for t in ts:
                n = t.numel()
                t.copy_(flat[start:start + n].view(t.shape))
                start += n


def _check_same_model(module: Module, group: Any) -> None:
    """Every rank must wrap the same architecture; compare names, shapes and dtypes."""
    mine = [(name, tuple(t.shape), str(t.dtype)) for name, t in
            list(module.named_parameters()) + list(module.named_buffers())]
    everyone: list = [None] * dist.get_world_size(group)
    dist.all_gather_object(everyone, mine, group=group)
    ref = everyone[0]
    for rank, theirs in enumerate(everyone[1:], start=1):
        if theirs == ref:
            continue
        for a, b in zip(ref, theirs):
            if a != b:
                raise RuntimeError(
                    f"DistributedDataParallel: rank 0 has {a[0]} of shape {a[1]} ({a[2]}) but "
                    f"rank {rank} has {b[0]} of shape {b[1]} ({b[2]}); every rank must build "
                    "the same model")
        raise RuntimeError(f"DistributedDataParallel: rank 0's model has {len(ref)} parameters "
                           f"and buffers, rank {rank}'s has {len(theirs)}; every rank must "
                           "build the same model")


class DistributedDataParallel(Module):
    """Wrap ``module`` for data-parallel training under ``mbtorch.distributed`` (call
    ``init_process_group`` first). At construction every rank checks it has the same
    parameter names and shapes as rank 0 and takes rank 0's parameters and buffers; each
    forward refreshes the buffers from rank 0 (``broadcast_buffers``); each backward leaves
    the average over ranks of the gradients in ``.grad``. Inside ``no_sync()`` gradients
    accumulate locally; the next synchronized backward averages the accumulated sum.

    Parameters that get no gradient in a pass (unused on this rank, or on all) count as
    zeros in the average, whatever ``find_unused_parameters`` says (PyTorch raises without
    it); a layer never used anywhere ends with a zero ``.grad`` rather than ``None``.
    ``device_ids``, ``output_device`` and ``dim`` are kept for PyTorch compatibility and not
    used: the model runs where its parameters are, and inputs are not moved.
    ``check_reduction`` and ``static_graph`` are accepted and have no effect.

    >>> model = DistributedDataParallel(Net())
    >>> loss_fn(model(x), y).backward()       # .grad: the mean over ranks
    """

    def __init__(self, module: Module, device_ids: Any = None, output_device: Any = None,
                 dim: int = 0, broadcast_buffers: bool | None = True, init_sync: bool = True,
                 process_group: Any = None, bucket_cap_mb: float | None = None,
                 find_unused_parameters: bool = False, check_reduction: bool = False,
                 static_graph: bool = False) -> None:
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel: module must be an nn.Module, got "
                            f"{type(module).__name__}")
        if not dist.is_initialized():
            raise ValueError("DistributedDataParallel: Default process group has not been "
                             "initialized, please make sure to call init_process_group.")
        self.module = module
        self.device_ids, self.output_device, self.dim = device_ids, output_device, dim
        self.broadcast_buffers = True if broadcast_buffers is None else broadcast_buffers
        self.process_group = process_group
        self.find_unused_parameters = find_unused_parameters
        self.static_graph = static_graph
        self.require_backward_grad_sync = True
        self.bucket_cap_mb = 25.0 if bucket_cap_mb is None else float(bucket_cap_mb)
        params = [p for p in module.parameters() if p.requires_grad]
        if not params:
            raise RuntimeError("DistributedDataParallel is not needed when a module doesn't "
                               "have any parameter that requires a gradient.")
        _check_same_model(module, process_group)
        if init_sync and dist.get_world_size(process_group) > 1:
            _broadcast_coalesced(list(module.parameters()) + list(module.buffers()), 0,
                                 process_group)
        self.reducer = Reducer(params, int(self.bucket_cap_mb * (1 << 20)), process_group)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        if self.broadcast_buffers and dist.get_world_size(self.process_group) > 1:
            buffers = list(self.module.buffers())
            if buffers:
                _broadcast_coalesced(buffers, 0, self.process_group)
        if is_grad_enabled() and self.require_backward_grad_sync:
            self.reducer.arm()
        return self.module(*args, **kwargs)

    @contextlib.contextmanager
    def no_sync(self) -> Iterator[None]:
        """Backward passes of forwards run inside this block only accumulate ``.grad`` on
        each rank; the first synchronized one afterwards averages the sum.

        >>> with ddp.no_sync():
        ...     loss_fn(ddp(x1), y1).backward()
        >>> loss_fn(ddp(x2), y2).backward()   # averages the grads of both micro-batches
        """
        prev = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = prev

    # -- the wrapped module's state, without a prefix ----------------------------------------
    def state_dict(self, destination: dict | None = None, prefix: str = "",
                   keep_vars: bool = False) -> "OrderedDict[str, Tensor]":
        return self.module.state_dict(destination, prefix, keep_vars)

    def load_state_dict(self, state_dict: dict, strict: bool = True,
                        assign: bool = False) -> Any:
        keys = list(state_dict)
        if keys and all(k.startswith(_PREFIX) for k in keys):
            state_dict = OrderedDict((k[len(_PREFIX):], v) for k, v in state_dict.items())
        return self.module.load_state_dict(state_dict, strict, assign)

    def __getattr__(self, name: str) -> Any:
        try:
            return super().__getattr__(name)
        except AttributeError:
            mods = self.__dict__.get("_modules")
            if mods is None or "module" not in mods:
                raise
            return getattr(mods["module"], name)
