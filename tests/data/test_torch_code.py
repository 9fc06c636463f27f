"""PyTorch data-loading code runs unchanged on mbtorch, with only the imports renamed.

The program below is written for PyTorch. The test runs it as it is under torch (when
importable) and with ``torch`` renamed to ``mbtorch`` under mbtorch, each in a fresh process
with a time limit, and compares what both print.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

PROGRAM = textwrap.dedent('''
    import json
    import torch
    from torch.utils.data import DataLoader, Dataset, IterableDataset, TensorDataset
    from torch.utils.data import get_worker_info, random_split


    class Squares(Dataset):
        def __init__(self, n):
            self.n = n

        def __len__(self):
            return self.n

        def __getitem__(self, i):
            return {"x": torch.tensor([float(i), 1.0]), "y": i * i, "name": f"s{i}"}


    class Counting(IterableDataset):
        def __iter__(self):
            info = get_worker_info()
            start, step = (0, 1) if info is None else (info.id, info.num_workers)
            return iter(range(start, 10, step))


    def main():
        out = {}
        x = torch.arange(40, dtype=torch.float32).reshape(20, 2)
        y = torch.arange(20)
        ds = TensorDataset(x, y)
        for workers in (0, 2):
            loader = DataLoader(ds, batch_size=6, num_workers=workers)
            out[f"tensor_{workers}"] = [(xb.tolist(), yb.tolist()) for xb, yb in loader]
            out[f"len_{workers}"] = len(loader)
        loader = DataLoader(Squares(7), batch_size=3, num_workers=2, persistent_workers=True,
                            drop_last=True)
        out["dicts"] = [[(b["x"].tolist(), b["y"].tolist(), b["name"]) for b in loader]
                        for _ in range(2)]
        stream = DataLoader(Counting(), batch_size=4, num_workers=2)
        out["stream"] = sorted(sum((b.tolist() for b in stream), []))
        train, val = random_split(ds, [15, 5])
        out["split"] = [len(train), len(val)]
        loader = DataLoader(train, batch_size=4, shuffle=True)
        out["shuffled"] = sorted(sum((yb.tolist() for _, yb in loader), [])) == sorted(
            train.indices)
        print(json.dumps(out))


    if __name__ == "__main__":
        main()
''')


def _run(source: str, tmp_path, name: str) -> dict:
    path = tmp_path / name
    path.write_text(source)
    done = subprocess.run([sys.executable, str(path)], capture_output=True, text=True,
                          timeout=180)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_torch_program_runs_unchanged(tmp_path):
    renamed = PROGRAM.replace("import torch\n", "import mbtorch as torch\n").replace(
        "from torch.utils.data", "from mbtorch.utils.data")
    ours = _run(renamed, tmp_path, "ours.py")
    assert ours["len_0"] == ours["len_2"] == 4
    assert ours["tensor_0"] == ours["tensor_2"]
    assert ours["stream"] == list(range(10)) and ours["split"] == [15, 5] and ours["shuffled"]
    pytest.importorskip("torch")
    assert ours == _run(PROGRAM, tmp_path, "theirs.py")
