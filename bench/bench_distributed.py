"""Distributed training figures: all-reduce throughput of ``mbtorch.distributed.all_reduce``
against raw mpi4py (``comm.Allreduce(MPI.IN_PLACE, array)``) on the same buffers, and the
epoch time of ``mbtorch-train`` with 1 and 2 ranks.

All-reduce: a float32 buffer of each size is summed over the ranks (zeros, so values stay
finite) ``iters`` times per block; the two implementations alternate block by block, after
a warm-up, and each reports its best block. Bandwidth is the algorithm bandwidth (buffer
bytes / time per call). mbtorch reduces a ``cpu`` tensor that shares the NumPy array's
memory, so the difference is mbtorch's own cost: argument checks, the request, the deadline
polling loop. Epoch time: ``mpiexec -n N python -m mbtorch.train`` for one epoch on
Fashion-MNIST (``--limit-train`` images; a generated stand-in when the dataset is not
installed), read from the checkpoint's history (the training loop only, evaluation excluded);
each rank gets an equal share of the cores for its BLAS threads.

    python bench/bench_distributed.py [--quick] [--out result.json]   # launches mpiexec itself
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SIZES = (1 << 10, 1 << 14, 1 << 18, 1 << 20, 1 << 22, 1 << 24)  # float32 elements
QUICK_SIZES = (1 << 10, 1 << 18, 1 << 20)
RANKS = 2
INNER = "--inner-allreduce"
_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def _mpiexec() -> str:
    beside = Path(sys.executable).parent / "mpiexec"
    return str(beside) if beside.exists() else "mpiexec"


def _time_block(fn: Any, iters: int, comm: Any) -> float:
    comm.Barrier()
    t0 = time.perf_counter()
    for _ in range(iters):
        fn()
    return (time.perf_counter() - t0) / iters


def _allreduce_case(n: int, rounds: int, target_s: float, comm: Any) -> dict:
    import numpy as np
    from mpi4py import MPI

    import mbtorch
    import mbtorch.distributed as dist

    arr = np.zeros(n, np.float32)
    t = mbtorch.from_numpy(arr)  # the same memory: both reduce the same buffer in place
    impls = {"mpi4py": lambda: comm.Allreduce(MPI.IN_PLACE, arr),
             "mbtorch": lambda: dist.all_reduce(t)}
    once = _time_block(impls["mpi4py"], 3, comm)
    iters = comm.bcast(max(3, min(10000, int(target_s / max(once, 1e-7)))), root=0)
    for fn in impls.values():
        _time_block(fn, iters, comm)  # warm-up
    best = {k: float("inf") for k in impls}
    for _ in range(rounds):
        for name, fn in impls.items():
            best[name] = min(best[name], _time_block(fn, iters, comm))
    best = {k: comm.allreduce(v, op=MPI.MAX) for k, v in best.items()}  # the slowest rank
    mb = n * 4 / 1e6
    return {"elements": n, "megabytes": mb, "iters": iters,
            "mpi4py_us": best["mpi4py"] * 1e6, "mbtorch_us": best["mbtorch"] * 1e6,
            "mpi4py_GBps": mb / 1e3 / best["mpi4py"], "mbtorch_GBps": mb / 1e3 / best["mbtorch"],
            "mbtorch_vs_raw": best["mpi4py"] / best["mbtorch"]}


def _inner(quick: bool, out: str) -> None:
    """Inside the MPI job: measure every size, rank 0 writes the JSON."""
    import mbtorch.distributed as dist

    dist.init_process_group("mpi")
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    sizes = QUICK_SIZES if quick else SIZES
    rows = [_allreduce_case(n, 3 if quick else 7, 0.02 if quick else 0.15, comm) for n in sizes]
    if comm.rank == 0:
        Path(out).write_text(json.dumps({"ranks": comm.size, "rows": rows}))
    dist.destroy_process_group()


def allreduce(quick: bool = False) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "allreduce.json")
        cmd = [_mpiexec(), "-n", str(RANKS), sys.executable, os.path.abspath(__file__), INNER,
               out] + (["--quick"] if quick else [])
        subprocess.run(cmd, check=True, timeout=600)
        res = json.loads(Path(out).read_text())
    res["command"] = " ".join(["mpiexec", "-n", str(RANKS), "python", "bench/bench_distributed.py",
                               INNER, "OUT"] + (["--quick"] if quick else []))
    return res


def _data_root(tmp: str, limit: int) -> tuple[str, str]:
    from mbtorch.data.datasets import FashionMNIST

    try:
        ds = FashionMNIST("data", train=True)
        return os.path.dirname(ds.images_file), "FashionMNIST"
    except RuntimeError:
        import numpy as np

        from mbtorch.data.idx import write_idx

        rng = np.random.default_rng(0)
        names = (("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte", limit),
                 ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte", 1000))
        for images, labels, n in names:
            write_idx(os.path.join(tmp, images),
                      rng.integers(0, 256, (n, 28, 28)).astype(np.uint8))
            write_idx(os.path.join(tmp, labels), rng.integers(0, 10, n).astype(np.uint8))
        return tmp, "synthetic (FashionMNIST not installed)"


def epochs(quick: bool = False) -> dict:
    """One epoch of the main program with 1 and 2 ranks (same global batch of 128)."""
    import mbtorch

    limit = 2048 if quick else 12800
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root, source = _data_root(tmp, limit)
        for ranks in (1, RANKS):
            out = os.path.join(tmp, f"run{ranks}")
            args = ["--data-root", root, "--out", out, "--epochs", "1", "--limit-train",
                    str(limit), "--limit-test", "1000", "--no-progress"]
            cmd = [_mpiexec(), "-n", str(ranks), sys.executable, "-m", "mbtorch.train", *args]
            threads = str(max(1, (os.cpu_count() or 1) // ranks))  # the cores, split evenly
            env = dict(os.environ, **{v: threads for v in _THREAD_VARS})
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True, timeout=1200, capture_output=True, env=env)
            wall = time.perf_counter() - t0
            h = mbtorch.load(os.path.join(out, "checkpoint.pt"))["history"]
            rows.append({"ranks": ranks, "threads_per_rank": int(threads),
                         "epoch_s": h["seconds"][0],
                         "samples_per_s": h["samples_per_s"][0], "wall_s": wall,
                         "test_acc": h["test_acc"][0]})
    base = rows[0]["epoch_s"]
    for r in rows:
        r["speedup"] = base / r["epoch_s"]
    return {"dataset": source, "train_images": limit, "batch_size": 128, "rows": rows,
            "command": "mpiexec -n N python -m mbtorch.train --epochs 1 --limit-train "
                       f"{limit} --limit-test 1000 --no-progress"}


def run(quick: bool = False) -> dict:
    """Both measurements (each launches its own MPI jobs); ``quick`` is a smoke run."""
    return {"benchmark": "distributed", "quick": quick, "allreduce": allreduce(quick),
            "train_epoch": epochs(quick),
            "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0],
                        "platform": platform.platform()}}


def _print(res: dict) -> None:
    ar = res["allreduce"]
    print(f"all-reduce, float32 SUM, {ar['ranks']} ranks  ({ar['command']})")
    print(f"{'MB':>8} {'mpi4py us':>11} {'mbtorch us':>11} {'mpi4py GB/s':>12} "
          f"{'mbtorch GB/s':>13} {'mbtorch/raw':>12}")
    for r in ar["rows"]:
        print(f"{r['megabytes']:8.3f} {r['mpi4py_us']:11.1f} {r['mbtorch_us']:11.1f} "
              f"{r['mpi4py_GBps']:12.3f} {r['mbtorch_GBps']:13.3f} {r['mbtorch_vs_raw']:11.1%}")
    te = res["train_epoch"]
    print(f"\nmbtorch-train, one epoch of {te['train_images']} images ({te['dataset']}), "
          f"global batch {te['batch_size']}  ({te['command']})")
    for r in te["rows"]:
        print(f"  {r['ranks']} rank(s) x {r['threads_per_rank']} BLAS thread(s): "
              f"{r['epoch_s']:.2f} s ({r['samples_per_s']:.0f} "
              f"samples/s, speed-up {r['speedup']:.2f}x, test acc {100 * r['test_acc']:.1f}%)")


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == INNER:
        _inner("--quick" in argv, argv[1])
        return
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="smaller sizes (a smoke run)")
    p.add_argument("--out", help="also write the result as JSON here")
    args = p.parse_args(argv)
    res = run(args.quick)
    _print(res)
    if args.out:
        Path(args.out).write_text(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
