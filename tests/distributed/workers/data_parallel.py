"""Worker: data-parallel training of ``ddp_common.Net``; each rank saves its parameters and
gradients to ``<out>/<mode>_rank<r>.npz`` and a few facts to ``<out>/<mode>_rank<r>.json``.

Modes: ``plain`` (one backward per step) and ``accum`` (two micro-batches per step, the first
under ``no_sync``). Each rank starts from different weights (seeded by rank) and a different
buffer: DDP must replace them with rank 0's.
"""

import json
import sys

import numpy as np
from ddp_common import Net, make_model, train

import mbtorch as mt
import mbtorch.distributed as dist
from mbtorch.nn.parallel import DistributedDataParallel as DDP

out, mode = sys.argv[1], sys.argv[2]
dist.init_process_group("mpi")
r, n = dist.get_rank(), dist.get_world_size()
model = make_model(seed=r)
model.scale.fill_(1.0 + r)
ddp = DDP(model, bucket_cap_mb=100 / 2**20)  # 100-byte buckets: several, started in order
started_during_backward = []  # buckets already reducing when backward's end callback runs
finalize = ddp.reducer._finalize


def spy():
    started_during_backward.append(ddp.reducer.next)
    finalize()


ddp.reducer._finalize = spy
if mode == "plain":
    train(ddp, ddp, r, n)
else:
    train(ddp, ddp, r, n, micro=2, no_sync=ddp.no_sync)
state = {k: v.numpy() for k, v in ddp.state_dict().items()}
grads = {f"grad.{k}": p.grad.numpy() for k, p in model.named_parameters() if p.grad is not None}
np.savez(f"{out}/{mode}_rank{r}.npz", **state, **grads)
plain = Net()
plain.load_state_dict(ddp.state_dict())
prefixed = {"module." + k: v for k, v in model.state_dict().items()}
facts = {
    "buckets": [len(b.params) for b in ddp.reducer.buckets],
    "started_during_backward": started_during_backward,
    "module_is_model": ddp.module is model,
    "forwards_attribute": ddp.fc1 is model.fc1,
    "keys": list(ddp.state_dict()),
    "named_parameter": next(iter(ddp.named_parameters()))[0],
    "load_prefixed": list(map(list, ddp.load_state_dict(prefixed))),
    "unused_grad": None if model.unused.weight.grad is None
    else model.unused.weight.grad.abs().sum().item(),
    "loaded_equal": bool(mt.equal(plain.fc1.weight, model.fc1.weight)),
}
with open(f"{out}/{mode}_rank{r}.json", "w") as f:
    json.dump(facts, f)
