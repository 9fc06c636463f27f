"""The conformance suite catches every mutant of ``tests/conformance/mutants_*.py`` (see
``mutants.py``), each with the failure its bug must cause."""

from __future__ import annotations

import pytest

from tests.conformance.mutants import caught, collect

MUTANTS = collect()


@pytest.mark.parametrize("mutant", MUTANTS, ids=[m.name for m in MUTANTS])
def test_the_suite_catches_the_mutant(mutant):
    ok, seen = caught(mutant)
    assert ok, f"{mutant.name} ({mutant.bug}) must fail {mutant.must_fail}; {seen}"
