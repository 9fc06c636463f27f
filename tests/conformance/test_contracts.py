"""The ``contract`` cells (``mbtorch_conformance/checks/contracts.py``) and the ``.to()`` copy
check of ``roundtrip``: every cell runs samples and passes on cpu and on a backend derived
from it (which keeps cpu's NumPy storage); each is shown failing by its mutant in
``mutants_contracts.py``."""

from __future__ import annotations

import pytest
from mbtorch_conformance.checks import contracts
from mbtorch_conformance.derive import derive_backend, forget_backend
from mbtorch_conformance.gaps import known_gap
from mbtorch_conformance.runner import cells, run

import mbtorch as mt

__all__: list = []


def test_one_cell_per_contract_and_declared_dtype():
    got = {(c.name, c.dtype) for c in cells("cpu", "smoke", ops=["contracts"],
                                            checks=["contract"])}
    assert ("contract kernel_errors", None) in got
    for name in contracts.CONTRACTS[:-1]:
        assert ("contract " + name, mt.float32) in got
    assert ("contract sort", mt.bool) not in got and ("contract cast", mt.bool) not in got
    assert ("contract cast", mt.uint8) in got


@pytest.mark.parametrize("device", ["cpu", "derived"])
def test_contracts_and_roundtrip_pass_with_samples(device):
    name = derive_backend("cpu", "cpu_contracts") if device == "derived" else "cpu"
    try:
        report = run(name, "smoke", ops=["contracts", "roundtrip"],
                     checks=["contract", "roundtrip"])
    finally:
        if name != "cpu":
            forget_backend(name)
    assert report.ok, [(r.op, r.dtype, r.message) for r in report.failures]
    assert all(r.n > 0 for r in report.rows)
    assert {r.check for r in report.rows} == {"contract", "roundtrip"}


def test_unknown_contract_is_refused():
    with pytest.raises(ValueError, match="unknown contract 'no_such_contract'"):
        contracts.contract("no_such_contract", mt.float32, None)


def test_suite_gaps_are_scoped_to_tiers():
    assert known_gap("pow", "bfloat16", "grad", "smoke") is None
    assert known_gap("pow", "bfloat16", "grad", "standard") is not None
