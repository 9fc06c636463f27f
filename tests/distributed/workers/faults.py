"""Worker: rank 1 fails in the way ``argv[1]`` names while rank 0 waits in a collective.

``raise``: an uncaught exception; ``exit``: ``os._exit(3)`` (dies without MPI noticing);
``hang``: stops taking part (sleeps), so rank 0's deadline (``MBTORCH_DIST_TIMEOUT``) fires;
``ddp_shapes``: rank 1 builds a different model, which DDP refuses at wrap time.
"""

import os
import sys
import time

import mbtorch as mt
import mbtorch.distributed as dist
from mbtorch import nn
from mbtorch.nn.parallel import DistributedDataParallel as DDP

mode = sys.argv[1]
dist.init_process_group("mpi")
r = dist.get_rank()
# both ranks are up (a generous wait of its own: start-up skew must not trip the short
# MBTORCH_DIST_TIMEOUT the test gives the collective under test)
dist.barrier(async_op=True).wait(timeout=60)
if mode == "ddp_shapes":
    DDP(nn.Linear(4, 3 if r == 0 else 5))
    print(f"rank {r}: wrapped a mismatched model", flush=True)
elif r == 1:
    if mode == "raise":
        raise ValueError("rank 1 fails on purpose")
    if mode == "exit":
        os._exit(3)
    if mode == "hang":
        time.sleep(100)
else:
    t = mt.ones(1000)
    dist.all_reduce(t)
    print("rank 0: all_reduce returned", flush=True)
