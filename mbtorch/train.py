"""Train a small CNN on Fashion-MNIST: ``python -m mbtorch.train`` or ``mbtorch-train``.

Each epoch shows progress bars (tqdm) with the loss and the throughput, evaluates the test
accuracy, writes the checkpoint ``OUT/checkpoint.pt`` (``mbtorch.save``: model, optimizer,
epoch, history and the arguments) and the plot ``OUT/curves.png`` of the loss and accuracy
curves. ``--resume OUT/checkpoint.pt`` continues where a run stopped: ``--epochs`` is the
total, so resuming a 2-epoch checkpoint with ``--epochs 3`` trains one more epoch.

A run never replaces an earlier run's results: a folder that already holds a checkpoint or a
plot is refused unless the run resumes that very checkpoint or ``--overwrite`` is given (the old
files are then replaced, atomically, when the new run saves its first epoch). Nothing is
created before the first epoch is saved, so a start that fails leaves no folder behind.

    python -m mbtorch.train                      # cpu, 3 epochs, reaches ~90% test accuracy
    python -m mbtorch.train --device opencl --epochs 1 --out runs/ocl
    mpiexec -n 2 python -m mbtorch.train         # data-parallel (see mbtorch.train_parallel)

The images come from :class:`mbtorch.data.datasets.FashionMNIST` (``--data-root``, then
Debian's ``/usr/share/datasets/fashion-mnist/``); a missing dataset says where it looked and
how to get it.

On glibc, NumPy's large temporaries are returned to the kernel and faulted back in on every
step; the program re-executes itself once with ``MALLOC_TRIM_THRESHOLD_`` and
``MALLOC_MMAP_THRESHOLD_`` raised so freed memory is reused instead (``--no-malloc-tuning`` or
either variable already set keeps the environment as it is).

``--prune AMOUNT`` then prunes the trained model (global L1 over the Conv2d/Linear weights),
fine-tunes it and writes ``OUT/pruned.pt`` and ``OUT/prune.json`` (see ``_train_compress``).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from typing import Any, Sequence

from mbtorch import _train_compress  # absolute: mpiexec may run this file as a script
from mbtorch.vision.models import fashioncnn as _fashion

__all__ = [
    "CHECKPOINT", "PLOT", "UsageError", "parse_args", "build_model", "load_split", "make_loader",
    "new_history", "Run", "train_epoch", "evaluate", "save_plot", "prepare_out", "fit", "main"
]

_MALLOC_ENV = {"MALLOC_TRIM_THRESHOLD_": str(1 << 30), "MALLOC_MMAP_THRESHOLD_": str(1 << 30)}
_MALLOC_GUARD = "MBTORCH_TRAIN_REEXEC"
# Fashion-MNIST's training-set pixel mean and standard deviation (in [0, 1]), as the zoo's
# FASHION_MNIST weights expect them
_MEAN, _STD = _fashion.FASHION_MNIST_MEAN, _fashion.FASHION_MNIST_STD
CHECKPOINT, PLOT = "checkpoint.pt", "curves.png"


class UsageError(Exception):
    """A problem with the command line or the files it names (printed without a traceback)."""


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="mbtorch-train", description=__doc__.split("\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--epochs", type=int, default=3, help="total epochs (including resumed)")
    p.add_argument("--batch-size", type=int, default=128,
                   help="global batch (split between the processes under mpiexec)")
    p.add_argument("--lr", type=float, default=2e-3, help="peak learning rate (Adam)")
    p.add_argument("--device", default="cpu", help="any mbtorch device: cpu, opencl, ...")
    p.add_argument("--data-root", default="data", help="where to look for the IDX files")
    p.add_argument("--download", action="store_true",
                   help="fetch the dataset into --data-root when it is not found")
    p.add_argument("--out", default="runs/fashion_mnist", help="folder for checkpoint and plot")
    p.add_argument("--resume", metavar="PATH", help="continue from this checkpoint")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the run already in --out (without it such a folder is "
                        "refused, unless --resume names its checkpoint)")
    p.add_argument("--num-workers", type=int, default=0, help="DataLoader worker processes")
    p.add_argument("--limit-train", type=int, metavar="N", help="use the first N train images")
    p.add_argument("--limit-test", type=int, metavar="N", help="use the first N test images")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--time-budget", type=float, metavar="SECONDS",
                   help="stop training after this many seconds (then evaluate and save)")
    p.add_argument("--compile", action="store_true",
                   help="run the training step through mbtorch.compile (traced once, then "
                        "replayed; Adam capturable, the learning rate a tensor)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--no-malloc-tuning", action="store_true",
                   help="do not re-execute with glibc malloc thresholds raised")
    _train_compress.add_arguments(p)
    args = p.parse_args(argv)
    for name in ("epochs", "batch_size", "limit_train", "limit_test"):
        value, low = getattr(args, name), 0 if name == "epochs" and args.resume else 1
        if value is not None and value < low:
            p.error(f"--{name.replace('_', '-')} must be at least {low}, got {value}")
    _train_compress.check_args(p, args)
    if args.num_workers < 0:
        p.error(f"--num-workers must be >= 0, got {args.num_workers}")
    if not args.lr > 0:
        p.error(f"--lr must be positive, got {args.lr}")
    return args


def build_model(nn: Any) -> Any:
    """The zoo's Fashion-MNIST CNN built with the ``nn`` namespace (``mbtorch.nn``, or
    ``torch.nn`` for a PyTorch twin): two 3x3 convolutions, each followed by max pooling, batch
    norm and ReLU, then two linear layers. The architecture is defined once, in
    :func:`mbtorch.vision.models.fashioncnn.build_fashion_cnn`; ``fashion_cnn(weights=
    "FASHION_MNIST")`` is this model trained with the default command."""
    return _fashion.build_fashion_cnn(nn)


def load_split(root: str, train: bool, limit: int | None,
               download: bool = False) -> tuple[Any, Any]:
    """One split as normalized ``N x 1 x 28 x 28`` float32 images and int64 labels (cpu)."""
    from mbtorch.data.datasets import FashionMNIST

    ds = FashionMNIST(root, train=train, download=download)
    images, labels = ds.to_tensors()
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    return (images - _MEAN) / _STD, labels


def make_loader(images: Any, labels: Any, batch_size: int, shuffle: bool, seed: int,
                num_workers: int) -> Any:
    """Batches fetched whole (one indexing op per batch) through the DataLoader: the sampler
    yields index lists and ``batch_size=None`` hands each list to the dataset at once."""
    import mbtorch
    from mbtorch.data import (
        BatchSampler,
        DataLoader,
        RandomSampler,
        SequentialSampler,
        TensorDataset,
    )

    ds = TensorDataset(images, labels)
    if shuffle:
        gen = mbtorch.Generator().manual_seed(seed)
        base = RandomSampler(ds, generator=gen)
    else:
        base = SequentialSampler(ds)
    sampler = BatchSampler(base, batch_size, drop_last=False)
    return DataLoader(ds, batch_size=None, sampler=sampler, num_workers=num_workers)


def new_history() -> dict[str, list]:
    return {"epoch": [], "train_loss": [], "test_loss": [], "test_acc": [], "seconds": [],
            "samples_per_s": [], "step_loss": []}


class Run:
    """The model, optimizer, schedule and history of one training run."""

    def __init__(self, args: argparse.Namespace, steps_per_epoch: int) -> None:
        import mbtorch

        self.torch, self.args = mbtorch, args
        mbtorch.manual_seed(args.seed)
        self.model = build_model(mbtorch.nn).to(args.device)
        self.steps_per_epoch = steps_per_epoch
        self.epoch, self.history = 0, new_history()
        compiled = getattr(args, "compile", False)
        # compiled: no host read in the step (capturable Adam), and a learning rate that
        # changes without changing the traced call (a tensor the schedule writes in place)
        self.opt = mbtorch.optim.Adam(self.model.parameters(), lr=args.lr, capturable=compiled)
        if args.resume:
            self._resume(args.resume)
        self.step = mbtorch.compile(train_step) if compiled else train_step
        if compiled:
            for group in self.opt.param_groups:
                group["lr"] = mbtorch.tensor(float(group["lr"]), device=args.device)

    def set_learning_rate(self, lr: float) -> None:
        for group in self.opt.param_groups:
            if isinstance(group["lr"], self.torch.Tensor):
                group["lr"].fill_(lr)
            else:
                group["lr"] = lr

    def _resume(self, path: str) -> None:
        if not os.path.isfile(path):
            raise UsageError(f"--resume: no checkpoint at {path!r}")
        try:
            state = self.torch.load(path, map_location=self.args.device)
            self.model.load_state_dict(state["model"])
            self.opt.load_state_dict(state["optimizer"])
            self.epoch, self.history = int(state["epoch"]), state["history"]
        except (KeyError, TypeError) as e:
            raise UsageError(f"--resume: {path!r} is not a checkpoint of this program "
                             f"({type(e).__name__}: {e})") from e
        except RuntimeError as e:  # mbtorch.load's CheckpointError, shape mismatches
            raise UsageError(f"--resume: cannot load {path!r}: {e}") from e

    def learning_rate(self, step: int) -> float:
        """Linear warm-up over the first half epoch, then cosine decay to 2% of the peak at
        ``--epochs``: a short run converges as far as a longer constant-rate one."""
        total = max(1, self.args.epochs * self.steps_per_epoch)
        warm = max(1, self.steps_per_epoch // 2)
        if step < warm:
            return self.args.lr * (step + 1) / warm
        t = min(1.0, (step - warm) / max(1, total - warm))
        return self.args.lr * (0.02 + 0.98 * 0.5 * (1.0 + math.cos(math.pi * t)))

    def state(self) -> dict:
        return {"model": self.model.state_dict(), "optimizer": self.opt.state_dict(),
                "epoch": self.epoch, "history": self.history,
                "args": {k: v for k, v in vars(self.args).items()
                         if isinstance(v, (int, float, str, bool)) or v is None}}


def train_step(model: Any, opt: Any, images: Any, labels: Any) -> Any:
    """One optimisation step (what ``--compile`` traces and replays); returns the loss."""
    from mbtorch.nn.functional import cross_entropy

    loss = cross_entropy(model(images), labels)
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss


def train_epoch(run: Run, loader: Any, bar: Any, deadline: float | None,
                dp: Any = None) -> tuple[float, int]:
    """One pass over ``loader``; returns the mean loss and the number of samples seen (this
    process's, under ``mpiexec``: ``dp`` is the ``train_parallel.DataParallel``)."""
    device = run.args.device
    run.model.train()
    total, seen, start = 0.0, 0, time.perf_counter()
    step = run.epoch * run.steps_per_epoch
    for images, labels in loader:
        run.set_learning_rate(run.learning_rate(step))
        images, labels = images.to(device), labels.to(device)
        loss = run.step(run.model, run.opt, images, labels)
        value, n = loss.item(), labels.shape[0]
        run.history["step_loss"].append(value)
        total, seen, step = total + value * n, seen + n, step + 1
        rate = seen / max(time.perf_counter() - start, 1e-9)
        # drawn at tqdm's own pace, and always for the epoch's last batch
        last = bar.n + 1 >= (bar.total or 0)
        bar.set_postfix(loss=f"{value:.4f}", samples_s=f"{rate:.0f}", refresh=last)
        bar.update(1)
        if deadline is not None and _past(deadline, dp):
            break
    return total / max(seen, 1), seen


def evaluate(run: Run, loader: Any, dp: Any = None) -> tuple[float, float]:
    """Mean cross-entropy and accuracy over ``loader`` in eval mode (over every process's
    ``loader`` under ``mpiexec``)."""
    F, device = run.torch.nn.functional, run.args.device
    model = run.model if dp is None else dp.eval_model(run.model)
    model.eval()
    loss_sum, correct, count = 0.0, 0, 0
    with run.torch.no_grad():
        for images, labels in loader:
            images, labels = images.to(device), labels.to(device)
            logits = model(images)
            loss_sum += F.cross_entropy(logits, labels, reduction="sum").item()
            correct += int((logits.argmax(1) == labels).sum().item())
            count += labels.shape[0]
    if dp is not None:
        loss_sum, correct, count = dp.sum(loss_sum, correct, count)
    return loss_sum / max(count, 1), correct / max(count, 1)


def save_plot(history: dict, path: str) -> None:
    """Loss per step (and per epoch on the test set) beside the test accuracy per epoch."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 4))
    steps = history["step_loss"]
    per_epoch = len(steps) / max(len(history["epoch"]), 1)
    ax_loss.plot([(i + 1) / per_epoch for i in range(len(steps))], steps, lw=0.6, alpha=0.5,
                 label="train (per batch)")
    ax_loss.plot(history["epoch"], history["train_loss"], "o-", label="train (epoch mean)")
    ax_loss.plot(history["epoch"], history["test_loss"], "s-", label="test")
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy", title="loss")
    ax_loss.legend()
    ax_acc.plot(history["epoch"], [100 * a for a in history["test_acc"]], "o-")
    for e, a in zip(history["epoch"], history["test_acc"]):
        ax_acc.annotate(f"{100 * a:.1f}%", (e, 100 * a), textcoords="offset points",
                        xytext=(0, 6), ha="center", fontsize=8)
    ax_acc.set(xlabel="epoch", ylabel="test accuracy (%)", title="Fashion-MNIST test accuracy")
    ax_acc.grid(alpha=0.3)
    fig.tight_layout()
    tmp = path + ".tmp.png"
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    os.replace(tmp, path)


def prepare_out(out: str, resume: str | None = None, overwrite: bool = False) -> None:
    """Check ``--out`` before anything runs, creating nothing: it must be (or become) a
    writable folder, and must not hold another run's results unless ``overwrite``."""
    if os.path.exists(out) and not os.path.isdir(out):
        raise UsageError(f"--out: {out!r} exists and is not a folder")
    ckpt = os.path.join(out, CHECKPOINT)
    held = [name for name in (CHECKPOINT, PLOT) if os.path.exists(os.path.join(out, name))]
    resuming_it = (resume is not None and os.path.exists(ckpt) and os.path.exists(resume)
                   and os.path.samefile(resume, ckpt))
    if held and not (overwrite or resuming_it):
        raise UsageError(
            f"--out: {out!r} already holds a run ({', '.join(held)}); continue it with "
            f"--resume {ckpt} (and a higher --epochs), replace it with --overwrite, or choose "
            f"another --out")
    existing = os.path.abspath(out)
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise UsageError(f"--out: cannot create folder {out!r}: {existing!r} is not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(f"--out: folder {existing!r} is not writable")


def _make_out(out: str) -> None:
    """Create ``--out`` when the first checkpoint is saved (see :func:`prepare_out`)."""
    try:
        os.makedirs(out, exist_ok=True)
    except OSError as e:
        raise UsageError(f"--out: cannot create folder {out!r}: {e.strerror}") from e


def fit(args: argparse.Namespace) -> dict:
    """Train to ``args.epochs`` (or the time budget), evaluating and saving every epoch."""
    from tqdm.auto import tqdm

    from .train_parallel import DataParallel

    dp = DataParallel()  # inert unless started by mpiexec with several processes
    if dp.active and _train_compress.requested(args):
        raise UsageError("--prune and --quantize run in one process: compress the checkpoint "
                         "without mpiexec")
    if args.batch_size % dp.world:
        raise UsageError(f"--batch-size {args.batch_size} (the global batch) must be a "
                         f"multiple of the number of processes, {dp.world}")
    quiet, say = args.no_progress or not dp.is_main, tqdm.write if dp.is_main else _silent
    train_x, train_y = load_split(args.data_root, True, args.limit_train, args.download)
    test_x, test_y = load_split(args.data_root, False, args.limit_test, args.download)
    steps = dp.steps(train_x.shape[0], args.batch_size)
    run = Run(args, steps)
    run.model = dp.wrap(run.model)
    test_x, test_y = dp.test_share(test_x, test_y)
    test_loader = make_loader(test_x, test_y, 1000, False, 0, args.num_workers)
    ckpt, plot = os.path.join(args.out, CHECKPOINT), os.path.join(args.out, PLOT)
    if run.epoch >= args.epochs:
        say(f"checkpoint is at epoch {run.epoch}, --epochs is {args.epochs}: "
            "nothing to train (raise --epochs to continue)")
        return _train_compress.finish(args, run, (train_x, train_y), test_loader, say)
    start = time.perf_counter()
    deadline = start + args.time_budget if args.time_budget else None
    epochs = tqdm(total=args.epochs, initial=run.epoch, desc="epochs", unit="epoch",
                  disable=quiet, dynamic_ncols=True)
    while run.epoch < args.epochs:
        if dp.active:
            loader = dp.train_loader(train_x, train_y, args.batch_size, args.seed, run.epoch,
                                     args.num_workers)
        else:
            loader = make_loader(train_x, train_y, args.batch_size, True, args.seed + run.epoch,
                                 args.num_workers)
        t0 = time.perf_counter()
        with tqdm(total=steps, desc=f"epoch {run.epoch + 1}", unit="batch", leave=False,
                  disable=quiet, dynamic_ncols=True) as bar:
            train_loss, seen = train_epoch(run, loader, bar, deadline, dp)
        if dp.active:  # the epoch's mean over every process's samples
            loss_total, seen = dp.sum(train_loss * seen, seen)
            train_loss, seen = loss_total / max(seen, 1), int(seen)
        seconds = time.perf_counter() - t0
        test_loss, test_acc = evaluate(run, test_loader, dp)
        run.epoch += 1
        h = run.history
        for key, value in (("epoch", run.epoch), ("train_loss", train_loss),
                           ("test_loss", test_loss), ("test_acc", test_acc),
                           ("seconds", seconds), ("samples_per_s", seen / seconds)):
            h[key].append(value)
        if dp.is_main:
            _make_out(args.out)
            run.torch.save(run.state(), ckpt, format="safetensors")  # pickle-free
            save_plot(h, plot)
        epochs.set_postfix(loss=f"{train_loss:.4f}", test_acc=f"{100 * test_acc:.2f}%")
        epochs.update(1)
        say(f"epoch {run.epoch}/{args.epochs}: train loss {train_loss:.4f}, test loss "
            f"{test_loss:.4f}, test accuracy {100 * test_acc:.2f}%, {seconds:.1f} s "
            f"({seen / seconds:.0f} samples/s)")
        if deadline is not None and _past(deadline, dp):
            say(f"time budget of {args.time_budget:g} s reached after epoch {run.epoch}")
            break
    epochs.close()
    dp.close()
    say(f"trained {time.perf_counter() - start:.1f} s on {args.device}; checkpoint "
        f"{ckpt}, plot {plot}")
    return _train_compress.finish(args, run, (train_x, train_y), test_loader, say)


def _past(deadline: float, dp: Any) -> bool:
    """Whether the time budget is spent; under ``mpiexec`` whether it is on any rank, so
    that every rank stops at the same step."""
    past = time.perf_counter() >= deadline
    return past if dp is None else dp.any(past)


def _silent(*args: Any, **kwargs: Any) -> None:
    """``tqdm.write`` on the ranks other than 0 under ``mpiexec``."""


def _reexec_with_malloc_tuning(argv: Sequence[str] | None) -> None:
    """Replace this process by one with the malloc thresholds raised (see the module doc)."""
    if sys.platform != "linux" or os.environ.get(_MALLOC_GUARD) or any(
            k in os.environ for k in _MALLOC_ENV):
        return
    env = dict(os.environ, **_MALLOC_ENV, **{_MALLOC_GUARD: "1"})
    args = list(sys.argv[1:] if argv is None else argv)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [sys.executable, "-m", "mbtorch.train", *args], env)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.no_malloc_tuning:
        _reexec_with_malloc_tuning(argv)
    try:
        prepare_out(args.out, args.resume, args.overwrite)
        _train_compress.check_out(args, UsageError)
        import mbtorch

        mbtorch.zeros(1, device=args.device)  # an unusable device fails before the data loads
        fit(args)
    except UsageError as e:
        print(f"mbtorch-train: error: {e}", file=sys.stderr)
        return 2
    except RuntimeError as e:
        if any(m in str(e) for m in ("dataset not found", "could not download",
                                     "no backend provides", "is unavailable")):
            print(f"mbtorch-train: error: {e}", file=sys.stderr)
            return 2
        raise
    except ModuleNotFoundError as e:
        if e.name not in ("tqdm", "matplotlib"):
            raise
        print(f"mbtorch-train: error: needs {e.name}: pip install 'mbtorch[train]'",
              file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nmbtorch-train: interrupted (the last finished epoch's checkpoint is kept)",
              file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
