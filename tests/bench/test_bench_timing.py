"""bench.timing: interleaved measurement produces well-formed rows (values, never speed)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bench.targets import check_close
from bench.timing import Candidate, Config, measure, ratio_rows

CFG = Config.make(quick=True)


def test_measure_rows_are_well_formed_and_ratios_present():
    cands = [Candidate("numpy", "x + 1", {"x": 1}), Candidate("torch:cpu", "x * 2", {"x": 3}),
             Candidate("other", "sum(range(10))")]
    rows = measure("fam", "case", cands, CFG, lambda s: {"unit": "op/s", "value": 1 / s})
    assert [r.impl for r in rows] == ["numpy", "torch:cpu", "other"]
    for r in rows:
        assert r.status == "ok" and r.repeats == CFG.repeats and r.number >= 1
        assert 0 < r.min_s <= r.median_s <= r.max_s
        assert r.metric["unit"] == "op/s"
        assert r.metric["min"] <= r.metric["median"] <= r.metric["max"]
    assert rows[0].vs_numpy is None and rows[0].vs_torch > 0
    assert rows[1].vs_torch is None and rows[1].vs_numpy > 0
    assert rows[2].vs_numpy > 0 and rows[2].vs_torch > 0


def test_ratio_is_per_round_median():
    samples = {"numpy": [1.0, 2.0, 4.0], "b": [2.0, 2.0, 2.0]}
    rows = {r.impl: r for r in ratio_rows("f", "c", samples)}
    assert rows["b"].vs_numpy == pytest.approx(1.0)  # ratios 2, 1, 0.5 -> median 1
    assert rows["numpy"].median_s == 2.0 and rows["numpy"].max_s == 4.0


def test_failing_candidate_becomes_error_row_and_others_run():
    def boom():
        raise ZeroDivisionError("nope")

    rows = measure("fam", "case", [Candidate("numpy", "pass"), Candidate("bad", boom)], CFG)
    assert rows[0].status == "ok"
    assert rows[1].status == "error" and "ZeroDivisionError: nope" in rows[1].reason
    assert rows[1].median_s is None


def test_sync_is_called_inside_every_block():
    calls = []
    measure("f", "c", [Candidate("numpy", "pass", sync=lambda: calls.append(1))], CFG)
    assert len(calls) >= CFG.repeats + CFG.warmup


def test_check_close_rejects_wrong_results():
    want = np.arange(4, dtype=np.float32)
    check_close("f", "x", want.copy(), want, 0, 0)
    with pytest.raises(ValueError, match="differs from NumPy"):
        check_close("f", "x", want + 1, want, 1e-6, 1e-6)
    with pytest.raises(ValueError, match="shape"):
        check_close("f", "x", want[:2], want, 1e-6, 1e-6)


def test_quick_config_is_smaller():
    full = Config.make(quick=False)
    assert CFG.repeats < full.repeats and CFG.sample_s < full.sample_s
    assert not math.isnan(full.settle_s)


def test_candidate_failing_mid_run_is_an_error_row():
    state = {"n": 0}

    def flaky():
        state["n"] += 1
        if state["n"] > 50:
            raise RuntimeError("went wrong later")

    cfg = Config(quick=True, repeats=50, warmup=0, sample_s=1e-9, settle_s=0.0)
    rows = measure("f", "c", [Candidate("numpy", "pass"), Candidate("flaky", flaky)], cfg)
    assert rows[0].status == "ok" and rows[0].repeats == 50
    assert rows[1].status == "error" and "went wrong later" in rows[1].reason
