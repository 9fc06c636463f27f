"""Every collective under ``mpiexec -n 2``, checked against NumPy, plus their error messages
(one MPI job; the worker is ``workers/collectives.py``)."""

from __future__ import annotations

import json

import numpy as np
import pytest

N = 2


@pytest.fixture(scope="module")
def results(tmp_path_factory, mpirun):
    out = tmp_path_factory.mktemp("collectives")
    proc = mpirun(N, "collectives.py", out)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return [json.loads((out / f"rank{r}.json").read_text()) for r in range(N)]


def _inputs(fn):
    return [np.asarray(fn(r), dtype=np.float64) for r in range(N)]


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16", "int64",
                                   "int32", "uint8"])
@pytest.mark.parametrize("op", ["SUM", "MAX", "MIN", "PRODUCT"])
def test_all_reduce_ops(results, dtype, op):
    xs = _inputs(lambda r: np.arange(4) + r + 1)
    want = {"SUM": np.sum, "MAX": np.max, "MIN": np.min, "PRODUCT": np.prod}[op](xs, axis=0)
    for res in results:
        np.testing.assert_array_equal(res[f"all_reduce/{dtype}/{op}"], want)


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
def test_all_reduce_avg(results, dtype):
    want = np.mean(_inputs(lambda r: np.arange(4) * (r + 1)), axis=0)
    for res in results:
        np.testing.assert_allclose(res[f"all_reduce/{dtype}/AVG"], want)


def test_all_reduce_bool_and_bitwise(results):
    bs = [np.array([True, False, r == 0]) for r in range(N)]
    for res in results:
        assert res["all_reduce/bool/SUM"] == np.logical_or.reduce(bs).tolist()
        assert res["all_reduce/bool/MIN"] == np.logical_and.reduce(bs).tolist()
        assert res["all_reduce/bool/BXOR"] == np.logical_xor.reduce(bs).tolist()
        want = np.bitwise_and.reduce([np.array([0b1100 | r, 0b0101]) for r in range(N)])
        assert res["all_reduce/int32/BAND"] == want.tolist()


def test_all_reduce_in_place_semantics(results):
    want = sum(np.arange(6.0).reshape(2, 3) * (r + 1) for r in range(N))
    for res in results:
        assert res["all_reduce/view"] == want.tolist()  # written through a transposed view
        values, requires_grad, version_bumped = res["all_reduce/leaf"]
        assert values == [float(N)] * 2 and requires_grad and version_bumped
        assert res["work"] == [True, True]


def test_broadcast_and_gathers(results):
    for r, res in enumerate(results):
        assert res["broadcast"] == [float(N - 1)] * 3
        assert res["all_gather"] == [[k + 1] * 2 for k in range(N)]
        assert res["all_gather_into_tensor"] == [[k + 1.0] * 2 for k in range(N)]
        assert res["reduce_scatter"] == [float(sum(r + 10 * k for k in range(N)))] * 2
        chunk = np.mean([np.arange(2.0 * N) * (k + 1) for k in range(N)], axis=0)
        assert res["reduce_scatter_tensor"] == chunk[2 * r:2 * r + 2].tolist()
        assert res["all_gather_object"] == [{"rank": k, "tag": "x" * (k + 1)} for k in range(N)]
        assert res["broadcast_object_list"] == [0, None]
        assert res["after_destroy"] is False


@pytest.mark.parametrize("key, exc, message", [
    ("avg_int", "RuntimeError", "ReduceOp.AVG needs a floating-point"),
    ("band_float", "RuntimeError", "ReduceOp.BAND needs an integer or bool tensor"),
    ("op_str", "TypeError", "op must be a ReduceOp"),
    ("root", "RuntimeError", "invalid root rank: 2"),
    ("gather_len", "RuntimeError", "expected length 2, got 3"),
    ("gather_shape", "RuntimeError", "invalid tensor size at index 0"),
    ("gather_tensor_size", "RuntimeError", "world_size (2) times the elements"),
    ("twice", "ValueError", "trying to initialize the default process group twice!"),
])
def test_errors(results, key, exc, message):
    for res in results:
        got = res["errors"][key]
        assert got is not None and got[0] == exc and message in got[1], got
