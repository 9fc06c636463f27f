"""``python -m tests.soak``: the soak figures the README quotes, as a Markdown table.

    python -m tests.soak --device cpu --device mini --device opencl --steps 1000 --rounds 100

trains the MLP and the CNN eagerly and compiled for ``--steps`` steps on each device, then
starts and stops DataLoader workers ``--rounds`` times; prints one row per run (resident
memory and live counts at the end of warm-up → at the end) and exits 1 if anything grew.
"""

from __future__ import annotations

import argparse
import sys

from .measure import MODELS, Run, default_warmup, problems, soak
from .workers import churn

__all__ = ["main", "table"]

_MIB = 2**20


def _buffers(run: Run) -> str:
    """Live storages; on opencl the memory pool's live buffers (and cached ones)."""
    if "buffers" in run.after_warmup[0].counts:
        a, b = run.span("buffers")
        c, d = run.span("cached buffers")
        return f"{a}→{b} (+{c}→{d} cached)"
    return "{}→{}".format(*run.span("storages"))


def table(runs: list[Run]) -> str:
    lines = ["| device | model | mode | steps | RSS MiB (after warm-up → end) | RSS per 100 "
             "steps | live tensors | live buffers | autograd nodes | plans | s |",
             "|---|---|---|---:|---|---:|---|---|---|---|---:|"]
    for r in runs:
        a, b = r.span("rss")
        lines.append(
            f"| {r.device} | {r.model} | {'compiled' if r.compiled else 'eager'} | {r.steps} | "
            f"{a / _MIB:.1f}→{b / _MIB:.1f} | {r.growth_per_100() / 1024:+.0f} KiB | "
            "{}→{} | ".format(*r.span("tensors")) + f"{_buffers(r)} | "
            "{}→{} | {}→{} | ".format(*r.span("nodes"), *r.span("plans")) +
            f"{r.seconds:.0f} |")
    return "\n".join(lines)


def _args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m tests.soak", description=__doc__.split("\n")[0])
    p.add_argument("--device", action="append", help="device to train on (repeatable; "
                   "default: cpu)")
    p.add_argument("--steps", type=int, default=1000, help="training steps per run")
    p.add_argument("--warmup", type=int, default=None,
                   help="steps before the first counted sample (default: min(100, steps/4))")
    p.add_argument("--samples", type=int, default=10,
                   help="samples after warm-up (each one a full garbage collection)")
    p.add_argument("--model", choices=(*MODELS, "all"), default="all")
    p.add_argument("--mode", choices=("eager", "compiled", "all"), default="all")
    p.add_argument("--rounds", type=int, default=100,
                   help="DataLoader start/stop rounds (0: skip)")
    args = p.parse_args(argv)
    if args.steps < 2:
        p.error(f"--steps must be at least 2, got {args.steps}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = _args(argv)
    models = MODELS if args.model == "all" else (args.model,)
    modes = (False, True) if args.mode == "all" else (args.mode == "compiled",)
    warmup = default_warmup(args.steps) if args.warmup is None else args.warmup
    runs, bad = [], []
    for device in args.device or ["cpu"]:
        for model in models:
            for compiled in modes:
                run = soak(device, model, compiled, args.steps, warmup, args.samples)
                runs.append(run)
                bad += [f"{device} {model} {'compiled' if compiled else 'eager'}: {p}"
                        for p in problems(run)]
    print(f"warm-up: {warmup} steps; counts at the end of warm-up → after step {args.steps}")
    print(table(runs))
    if args.rounds:
        c = churn(args.rounds)
        print(f"\nDataLoader (num_workers=2): {c.loaders} loaders started and stopped in "
              f"{c.rounds} rounds ({c.batches} batches, {c.seconds:.0f} s); file descriptors "
              f"{c.fds[0]}→{c.fds[1]}, child processes left {len(c.children_left)}, "
              f"/dev/shm entries left {len(c.shm_left)}")
        if c.fds[1] != c.fds[0] or c.children_left or c.shm_left:
            bad.append(f"DataLoader: {c}")
    for line in bad:
        print("LEAK?", line)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
