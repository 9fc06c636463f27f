"""Worker: collectives and DDP on tensors of device ``argv[2]`` (through host buffers under
MPI); rank ``r`` writes ``<out>/rank<r>.json``."""

import json
import os
import sys

import mbtorch as mt
import mbtorch.distributed as dist
from mbtorch import nn
from mbtorch.nn.parallel import DistributedDataParallel as DDP

out, device = sys.argv[1], sys.argv[2]
dist.init_process_group(os.environ.get("MBTORCH_TEST_BACKEND", "mpi"))
r, n = dist.get_rank(), dist.get_world_size()
res = {}
t = (mt.arange(4.0) * (r + 1)).to(device)
dist.all_reduce(t, op=dist.ReduceOp.AVG)
res["all_reduce"] = [str(t.device), t.cpu().tolist()]
base = mt.arange(6.0).reshape(2, 3).to(device) * (r + 1)
dist.all_reduce(base[:, 1])  # a strided view on the device, written back through the view
res["view"] = base.cpu().tolist()
t = mt.full((2,), float(r)).to(device)
dist.broadcast(t, src=n - 1)
res["broadcast"] = t.cpu().tolist()
outs = [mt.zeros(2).to(device) for _ in range(n)]
dist.all_gather(outs, mt.full((2,), r + 1.0).to(device))
res["all_gather"] = [o.cpu().tolist() for o in outs]
mt.manual_seed(r)
model = nn.Linear(3, 2).to(device)
ddp = DDP(model)
x = mt.arange(6.0).reshape(2, 3).to(device) * (r + 1)
ddp(x).sum().backward()
res["weight"] = model.weight.detach().cpu().tolist()
res["grad"] = [str(model.weight.grad.device), model.weight.grad.cpu().tolist()]
with open(f"{out}/rank{r}.json", "w") as f:
    json.dump(res, f)
