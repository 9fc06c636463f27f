"""The model, data and training loop shared by the data-parallel worker and the test's
single-process reference."""

import contextlib

import numpy as np

import mbtorch as mt
from mbtorch import nn

GLOBAL_BATCH, STEPS = 8, 4


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        # never in the graph: DDP must cope; registered first, so it is in the last bucket
        self.unused = nn.Linear(2, 2)
        self.fc1 = nn.Linear(6, 16)
        self.fc2 = nn.Linear(16, 3)
        self.register_buffer("scale", mt.ones(1))

    def forward(self, x):
        return self.fc2(mt.tanh(self.fc1(x * self.scale)))


def make_model(seed: int) -> Net:
    mt.manual_seed(seed)
    return Net()


def data():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((GLOBAL_BATCH * STEPS, 6)).astype(np.float32)
    y = rng.integers(0, 3, GLOBAL_BATCH * STEPS)
    return mt.tensor(x), mt.tensor(y)


def batches(rank: int = 0, world: int = 1):
    """Step ``s``'s batch rows for ``rank``: a DistributedSampler share of the global batch."""
    x, y = data()
    for s in range(STEPS):
        rows = list(range(s * GLOBAL_BATCH, (s + 1) * GLOBAL_BATCH))
        mine = mt.tensor(rows[rank::world])
        yield x[mine], y[mine]


def train(model, params_of, rank: int = 0, world: int = 1, micro: int = 1, no_sync=None):
    """SGD with momentum; ``micro`` micro-batches per step, all but the last under
    ``no_sync`` when given (gradient accumulation)."""
    opt = mt.optim.SGD(params_of.parameters(), lr=0.1, momentum=0.9)
    for xb, yb in batches(rank, world):
        opt.zero_grad()
        parts = list(zip(xb.chunk(micro), yb.chunk(micro)))
        for i, (xm, ym) in enumerate(parts):
            local = no_sync is not None and i < micro - 1
            with no_sync() if local else contextlib.nullcontext():
                loss = nn.functional.cross_entropy(model(xm), ym) / micro
                loss.backward()
        opt.step()
