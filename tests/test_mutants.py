"""Mutation testing of the scoring (bench/mutants.py): no small slip earns full points.

Every first-order mutant of the solutions (sum for mean, keepdim, a dim, n for n-1 or n+1, the
epsilon dropped, a sign, a transpose, a term of a sum dropped, an input swapped for another of
its shape...) is judged on every case with the grader's own judge. A mutant passing all of its
cases must be a valid gradient (autograd's in float64): anything else is a slip the cases or
the tolerance let through, which would score as right code.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import torch

from grader import judge

BENCH = Path(__file__).resolve().parent.parent / "bench" / "mutants.py"
# Mutants that transpose a 3-D tensor with .T are killed; torch warns about them on the way.
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module")
def mutants():
    spec = importlib.util.spec_from_file_location("bench_mutants", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks its module up there
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("assignment", "at_least"), [("backprop-ninja", 1000), ("layer-by-layer", 200)]
)
def test_every_mutant_that_earns_full_points_is_a_valid_gradient(mutants, assignment, at_least):
    counts, slips = mutants.screen(assignment)
    assert slips == []
    assert counts["made"] >= at_least
    assert counts["survived"] == counts["equivalent"]
    assert counts["killed"] >= 0.9 * counts["made"]


def test_a_tolerance_too_loose_lets_slips_through_and_the_screen_names_them(mutants, monkeypatch):
    """The screen can fail: at 2e-2 of the scale, exercise 2's Bessel's n (n/(n-1) dropped,
    1e-2 to 0.2 off) and a misplaced epsilon pass every case, and each is named."""
    monkeypatch.setitem(judge.TOLERANCE, torch.float32, 2e-2)
    counts, slips = mutants.screen("backprop-ninja", frozenset({"exercise2"}))
    assert counts["survived"] > counts["equivalent"]
    assert any(s.startswith("exercise2.dhprebn: n -> n-1") for s in slips), slips
