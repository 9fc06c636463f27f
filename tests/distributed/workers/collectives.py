"""Worker: every collective on a few dtypes and layouts; each rank writes its results as JSON
to ``<out>/rank<r>.json`` for the test to check."""

import json
import sys

import mbtorch as mt
import mbtorch.distributed as dist

out_dir = sys.argv[1]
dist.init_process_group("mpi")
r, n = dist.get_rank(), dist.get_world_size()
res = {"rank": r, "world": n, "backend": dist.get_backend()}
Op = dist.ReduceOp

for name in ("float32", "float64", "float16", "bfloat16", "int64", "int32", "uint8"):
    dt = getattr(mt, name)
    for op in ("SUM", "MAX", "MIN", "PRODUCT"):
        t = (mt.arange(4) + r + 1).to(dt)
        dist.all_reduce(t, op=getattr(Op, op))
        res[f"all_reduce/{name}/{op}"] = t.tolist()
for name in ("float32", "float64", "float16", "bfloat16"):
    t = (mt.arange(4) * (r + 1)).to(getattr(mt, name))
    dist.all_reduce(t, op=Op.AVG)
    res[f"all_reduce/{name}/AVG"] = t.tolist()
for op in ("SUM", "MIN", "BXOR"):
    b = mt.tensor([True, False, r == 0])
    dist.all_reduce(b, op=getattr(Op, op))
    res[f"all_reduce/bool/{op}"] = b.tolist()
t = mt.tensor([0b1100 | r, 0b0101], dtype=mt.int32)
dist.all_reduce(t, op=Op.BAND)
res["all_reduce/int32/BAND"] = t.tolist()
base = mt.arange(6.0).reshape(2, 3) * (r + 1)
dist.all_reduce(base.t(), op=Op.SUM)  # a non-contiguous view: written back into base
res["all_reduce/view"] = base.tolist()
leaf = mt.ones(2, requires_grad=True)
v0 = leaf._version
dist.all_reduce(leaf)
res["all_reduce/leaf"] = [leaf.detach().tolist(), leaf.requires_grad, leaf._version > v0]
w = dist.all_reduce(mt.full((3,), float(r)), async_op=True)
res["work"] = [w.wait(), w.is_completed()]

t = mt.full((3,), float(r))
dist.broadcast(t, src=n - 1)
res["broadcast"] = t.tolist()
outs = [mt.zeros(2, dtype=mt.int64) for _ in range(n)]
dist.all_gather(outs, mt.full((2,), r + 1, dtype=mt.int64))
res["all_gather"] = [o.tolist() for o in outs]
o = mt.zeros(n, 2)
dist.all_gather_into_tensor(o, mt.full((2,), r + 1.0))
res["all_gather_into_tensor"] = o.tolist()
o = mt.zeros(2)
dist.reduce_scatter(o, [mt.full((2,), float(i + 10 * r)) for i in range(n)])
res["reduce_scatter"] = o.tolist()
o = mt.zeros(2, dtype=mt.float64)
dist.reduce_scatter_tensor(o, mt.arange(2.0 * n, dtype=mt.float64) * (r + 1), op=Op.AVG)
res["reduce_scatter_tensor"] = o.tolist()
objs = [None] * n
dist.all_gather_object(objs, {"rank": r, "tag": "x" * (r + 1)})
res["all_gather_object"] = objs
lst = [r, None]
dist.broadcast_object_list(lst, src=0)
res["broadcast_object_list"] = lst

errors = {}
for key, fn in {
    "avg_int": lambda: dist.all_reduce(mt.ones(2, dtype=mt.int64), op=Op.AVG),
    "band_float": lambda: dist.all_reduce(mt.ones(2), op=Op.BAND),
    "op_str": lambda: dist.all_reduce(mt.ones(2), op="sum"),
    "root": lambda: dist.broadcast(mt.ones(2), src=n),
    "gather_len": lambda: dist.all_gather([mt.ones(2)] * (n + 1), mt.ones(2)),
    "gather_shape": lambda: dist.all_gather([mt.ones(3)] * n, mt.ones(2)),
    "gather_tensor_size": lambda: dist.all_gather_into_tensor(mt.ones(3), mt.ones(2)),
    "twice": lambda: dist.init_process_group("mpi"),
}.items():
    try:
        fn()
        errors[key] = None
    except Exception as exc:  # noqa: BLE001 - the test checks the type and message
        errors[key] = [type(exc).__name__, str(exc)]
res["errors"] = errors
dist.barrier()
dist.destroy_process_group()
res["after_destroy"] = dist.is_initialized()
with open(f"{out_dir}/rank{r}.json", "w") as f:
    json.dump(res, f)
