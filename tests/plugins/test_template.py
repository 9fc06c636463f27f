"""The plugin template (examples/mbtorch_mini), pip-installed: it implements only the
primitives and still runs the tensor API through decompositions, with cpu's answers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import mbtorch as mt
from mbtorch.core.op import PRIMITIVES

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "examples" / "mbtorch_mini"


def test_kernel_table_is_exactly_the_primitives(mini_device):
    from mbtorch_mini.kernels import KERNELS

    assert set(KERNELS) == set(PRIMITIVES)
    st = {r.device_type: r for r in mt.backends.status()}[mini_device]
    assert st.state == "available" and st.distribution == "mbtorch-mini"
    assert st.native_ops == len(PRIMITIVES) and st.native_composites == 0
    assert st.device_count == 2


def test_same_file_names_as_the_numpy_backend():
    def names(pkg: Path) -> set[str]:
        return {p.name for p in pkg.glob("*.py")}

    numpy_plugin = REPO / "plugins" / "mbtorch_numpy" / "mbtorch_numpy"
    assert names(TEMPLATE / "src" / "mbtorch_mini") == names(numpy_plugin)


def test_readme_lists_every_primitive_with_its_calling_convention():
    readme = (TEMPLATE / "README.md").read_text()
    for op, sig in PRIMITIVES.items():
        assert f"| `{op.name}` | `({sig.params})` | {sig.returns} |" in readme, op.name


def _pair(mini_device, data, dtype=None):
    return mt.tensor(data, dtype=dtype), mt.tensor(data, dtype=dtype, device=mini_device)


FLOATS = [[1.5, -2.0, 3.25], [0.5, 4.0, -0.75]]
INTS = [[7, -7, 5], [2, 0, -3]]

CASES = {
    "arith": lambda x, i: (x * 2 - 1) / 3 + x[0] ** 2,
    "reflected": lambda x, i: 1 - x + 2 / (x + 5),
    "int_div_mod": lambda x, i: (i // 2) * 10 + i % 3,
    "promotion": lambda x, i: i + x,
    "compare": lambda x, i: (x > 0) & (x <= 3) | (x == -2.0),
    "bitwise": lambda x, i: (i ^ 5) | (i & 3),
    "unary": lambda x, i: mt.exp(x).log1p() + mt.sin(x) * mt.tanh(x) + mt.erf(x),
    "unary2": lambda x, i: mt.sigmoid(x) + x.abs().sqrt() + x.abs().rsqrt() + x.abs().log2(),
    "rounding": lambda x, i: mt.round(x) + x.floor() + x.ceil() + x.trunc(),
    "where_clamp": lambda x, i: mt.where(x > 0, x, -x).clamp(0.6, 3.0),
    "nan_to_num": lambda x, i: (x / 0).nan_to_num(posinf=9.0, neginf=-9.0),
    "cast": lambda x, i: x.to(mt.int32) * 3 + i.to(mt.float64).to(mt.int16),
    "views": lambda x, i: x.t()[::2] + x.reshape(3, 2)[1:, :1].t().expand(3, 2).t()[:, :1],
    "permute": lambda x, i: x.unsqueeze(0).permute(2, 0, 1).flatten() * 2,
    "contiguous": lambda x, i: x.t().contiguous().view(6),
    "setitem": lambda x, i: _setitem(x.clone()),
    "mask_index": lambda x, i: x[x > 0] + 1,
    "int_index": lambda x, i: x[:, mt.tensor([2, 0], device=x.device)],
    "cat_stack": lambda x, i: mt.cat([x, x * 2], dim=1) * mt.stack([x, x], 2).reshape(2, 6),
    "flip_roll": lambda x, i: mt.flip(x, [1]) + mt.roll(x, 1, 0),
    "gather": lambda x, i: mt.gather(x, 1, mt.tensor([[2, 0], [1, 1]], device=x.device)),
    "sort": lambda x, i: mt.sort(x, dim=1, descending=True)[0],
    "argsort": lambda x, i: mt.argsort(x, dim=0),
    "tril": lambda x, i: mt.tril(x) - mt.triu(x, 1),
    "arange_linspace": lambda x, i: mt.arange(6, device=x.device) + mt.linspace(
        0, 1, 6, device=x.device),
    "eye_full": lambda x, i: mt.eye(3, device=x.device) + mt.full((3, 3), 2.0, device=x.device),
}
CASES.update({  # reductions, linear algebra, composites
    "sum_mean": lambda x, i: x.sum(1) + x.mean(0, keepdim=True).sum() + i.sum(),
    "max_argmax": lambda x, i: x.max(1).values * 10 + x.argmax(1),
    "var_std": lambda x, i: mt.var(x, 1) + mt.std(x),
    "softmax": lambda x, i: mt.softmax(x, 1) + mt.log_softmax(x, 0),
    "logsumexp": lambda x, i: mt.logsumexp(x, 1),
    "cumsum": lambda x, i: mt.cumsum(x, 1) * mt.cumprod(x, 0)[0],
    "matmul": lambda x, i: x @ x.t() + mt.matmul(x.t(), x).sum(),
    "einsum": lambda x, i: mt.einsum("ij,kj->ik", x, x),
    "norm": lambda x, i: mt.norm(x) + mt.linalg.norm(x, dim=1),
    "all_any": lambda x, i: mt.any(x > 3).int() + mt.all(x > -5, dim=0).int(),
})


def _setitem(x):
    x[0, 1] = 10.0
    x[1, ::2] = mt.tensor([-1.0, -2.0], device=x.device)
    return x


def _compare(fn, mini_device):
    xc, xm = _pair(mini_device, FLOATS)
    ic, im = _pair(mini_device, INTS)
    want, got = fn(xc, ic), fn(xm, im)
    assert got.device.type == mini_device and want.device.type == "cpu"
    assert got.dtype is want.dtype and got.shape == want.shape
    np.testing.assert_allclose(got.cpu().numpy().astype(np.float64),
                               want.numpy().astype(np.float64), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", sorted(CASES))
def test_tensor_api_matches_cpu(mini_device, name):
    _compare(CASES[name], mini_device)


@pytest.mark.parametrize("dtype", [mt.float16, mt.bfloat16, mt.int8, mt.uint8, mt.bool])
def test_small_dtypes_round_trip(mini_device, dtype):
    xc, xm = _pair(mini_device, [[0, 1, 1], [1, 0, 1]], dtype)
    assert (xm * 1).dtype is (xc * 1).dtype
    assert xm.cpu().tolist() == xc.tolist()


def test_random_values_identical_across_devices(mini_device):
    samplers = [lambda d: mt.rand(3, 4, device=d), lambda d: mt.randn(5, device=d,
                                                                      dtype=mt.float64),
                lambda d: mt.randint(-5, 5, (7,), device=d), lambda d: mt.randperm(9, device=d),
                lambda d: mt.bernoulli(mt.full((6,), 0.5, device=d)),
                lambda d: mt.zeros(4, device=d).uniform_(-1, 1)]
    for sample in samplers:
        mt.manual_seed(2024)
        on_cpu = sample("cpu").tolist()
        mt.manual_seed(2024)
        assert sample(f"{mini_device}:1").tolist() == on_cpu


def test_devices_and_transfers(mini_device):
    x = mt.arange(4.0, device=f"{mini_device}:1")
    assert x.device == f"{mini_device}:1"
    y = x.to(f"{mini_device}:0")
    assert y.device == f"{mini_device}:0" and y.tolist() == [0.0, 1.0, 2.0, 3.0]
    with pytest.raises(RuntimeError, match="same device"):
        x + y
    with pytest.raises(RuntimeError, match="does not exist"):
        mt.zeros(1, device=f"{mini_device}:5")
    host = np.ones(3)
    m = mt.tensor(host, device=mini_device)
    host[0] = 5.0  # a device tensor never aliases host memory
    assert m.tolist() == [1.0, 1.0, 1.0]
    with pytest.raises(TypeError, match="numpy"):
        m.numpy()


def _python(code: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=dict(os.environ, **env), timeout=300, cwd=REPO)


def test_unavailable_device_reports_reason(mini_device):
    proc = _python(f"import mbtorch; mbtorch.zeros(1, device='{mini_device}')",
                   MBTORCH_MINI_UNAVAILABLE="no mini hardware found")
    assert proc.returncode != 0
    assert "device 'mini' is unavailable: installed, but no mini hardware found" in proc.stderr


def test_not_installed_device_names_the_package():
    proc = _python("import mbtorch; mbtorch.zeros(1, device='mini')",
                   MBTORCH_DISABLE_PLUGIN_AUTOLOAD="1")
    assert proc.returncode != 0
    assert "no backend provides device 'mini'; install mbtorch-mini" in proc.stderr


def test_info_lists_the_template(mini_device):
    proc = subprocess.run([sys.executable, "-m", "mbtorch", "info"], capture_output=True,
                          text=True, timeout=300, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    assert "mini: available" in proc.stdout and "mbtorch-mini 0.1.0" in proc.stdout
    assert f"native kernels  {len(PRIMITIVES)} ({len(PRIMITIVES)} primitives, 0 composites)" \
        in proc.stdout
