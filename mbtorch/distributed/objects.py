"""Collectives on picklable Python objects (``all_gather_object``, ``broadcast_object_list``),
through the host transport whatever the backend. They pickle: use them for small metadata
(shapes, settings, metrics), tensors for data."""

from __future__ import annotations

import pickle
from typing import Any

from ..core._lazy import lazy_import
from .collectives import _ready, _wait_for

__all__ = ["all_gather_object", "broadcast_object_list"]

np = lazy_import("numpy", globals(), "np")


def _gather_bytes(pg: Any, payload: bytes, what: str) -> list[bytes]:
    size = np.array([len(payload)], np.int64)
    sizes = np.empty(pg.world_size, np.int64)
    _wait_for(pg, pg.host.allgather(size, sizes), what, None)
    counts = sizes.tolist()
    recv = np.empty(sum(counts), np.uint8)
    send = np.frombuffer(payload, np.uint8)
    _wait_for(pg, pg.host.allgatherv(send, recv, counts), what, None)
    out, start = [], 0
    for n in counts:
        out.append(recv[start:start + n].tobytes())
        start += n
    return out


def all_gather_object(object_list: list, obj: Any, group: Any = None) -> None:
    """``object_list[r]`` receives rank ``r``'s ``obj`` (``object_list`` has world-size
    entries; they are replaced).

    >>> shapes = [None] * dist.get_world_size(); dist.all_gather_object(shapes, (3, 4))
    """
    pg = _ready(group, "all_gather_object")
    if not isinstance(object_list, list) or len(object_list) != pg.world_size:
        raise ValueError(f"all_gather_object(): object_list must be a list of world_size "
                         f"({pg.world_size}) entries")
    parts = _gather_bytes(pg, pickle.dumps(obj), "all_gather_object")
    object_list[:] = [pickle.loads(p) for p in parts]


def broadcast_object_list(object_list: list, src: int = 0, group: Any = None,
                          device: Any = None) -> None:
    """Rank ``src``'s ``object_list`` entries replace every other rank's, in place."""
    pg = _ready(group, "broadcast_object_list")
    if not 0 <= src < pg.world_size:
        raise RuntimeError(f"broadcast_object_list(): invalid root rank: {src} (world size "
                           f"{pg.world_size})")
    payload = pickle.dumps(list(object_list)) if pg.rank == src else b""
    size = np.array([len(payload)], np.int64)
    _wait_for(pg, pg.host.broadcast(size, src), "broadcast_object_list", None)
    buf = np.frombuffer(payload, np.uint8).copy() if pg.rank == src else np.empty(
        int(size[0]), np.uint8)
    _wait_for(pg, pg.host.broadcast(buf, src), "broadcast_object_list", None)
    if pg.rank != src:
        received = pickle.loads(buf.tobytes())
        if len(received) != len(object_list):
            raise RuntimeError(f"broadcast_object_list(): rank {src} sent {len(received)} "
                               f"objects, this rank's list has {len(object_list)}")
        object_list[:] = received
