"""This assignment's known mistakes, computed from a case, for the hint rule `known_mistake`.

Only mistakes that the generic rules of grader/hints.py cannot read off the numbers need to be
here: a sign, a constant factor, a transpose, a branch through a sum or a broadcast, rows of
repeated characters lost (`dC[Xb] += demb`) are found there, in the student bundle's check too.
These are the rest: the bndiff branch, Bessel's correction inside a fused formula, the mean's
1/n, the power rule's slips and a dropped BatchNorm epsilon. Their formulas are near-misses of
the answers, so this module never ships to students (tests/test_bundle.py holds it out); their
hints show in the grader only. Each is the wrong answer a student would compute, in float64
from the case's values and autograd's upstream gradients. Exercise 3 (`compact=True`) has only
the parameter gradients: its Bessel mistake is carried down to the parameters it reaches.
"""

from __future__ import annotations

import torch

from ..hints import REPEATED  # noqa: F401 - the generic rule's words, for the tests
from .cases import Case

MISSING_BRANCH = "a branch is missing: {var} feeds two places in the forward pass; add both"
BESSEL = "Bessel's correction: the variance divides by n-1, not n"
EPSILON = "BatchNorm's epsilon: bnvar_inv = (bnvar + 1e-5)**-0.5, so its derivative keeps the 1e-5"
POWER = "the power rule: the derivative of x**k is k * x**(k-1) ({what})"


def known_mistakes(grad: str, case: Case, compact: bool = False) -> dict[str, torch.Tensor]:
    """Each likely wrong answer for `grad` on this case, labelled with what the student did.

    Computed once per (gradient, case) and kept: the cases are shared by every submission.
    """
    key = (grad, case.id, compact)
    if key not in _CACHE:
        _CACHE[key] = _known_mistakes(grad, case, compact)
    return _CACHE[key]


_CACHE: dict[tuple[str, str, bool], dict[str, torch.Tensor]] = {}


def _known_mistakes(grad: str, case: Case, compact: bool) -> dict[str, torch.Tensor]:
    v = {
        k: t.double()
        for k, t in {**case.params, **(case.compact if compact else case.atomic)}.items()
    }
    g = case.compact_grads if compact else case.atomic_grads
    if compact:
        return _compact(grad, case, v, g)
    n = case.n
    if grad == "dcounts_sum":
        return {
            POWER.format(what="x**-1 gives -x**-2"): -(v["counts_sum"] ** -1) * g["dcounts_sum_inv"]
        }
    if grad == "dbnvar":
        wrong = -0.5 * (v["bnvar"] + 1e-5) ** -0.5 * g["dbnvar_inv"]
        return {
            POWER.format(what="x**-0.5 gives -0.5 * x**-1.5"): wrong,
            EPSILON: -0.5 * v["bnvar"] ** -1.5 * g["dbnvar_inv"],
        }
    if grad == "dbndiff":
        return {
            MISSING_BRANCH.format(var="bndiff"): v["bnvar_inv"] * g["dbnraw"],
            POWER.format(what="x**2 gives 2 * x"): v["bnvar_inv"] * g["dbnraw"]
            + v["bndiff"] * g["dbndiff2"],
        }
    if grad == "dhprebn":
        return {
            "the mean's branch misses its 1/n: bnmeani = 1/n * hprebn.sum(0)": g["dbndiff"]
            + g["dbnmeani"],
            BESSEL: _bn_fused_without_bessel(v, g["dhpreact"], n),
        }
    return {}


def _compact(grad: str, case: Case, v: dict, g: dict) -> dict[str, torch.Tensor]:
    """Exercise 3: Bessel forgotten in the fused batchnorm, carried down to dW1 and dC."""
    if grad not in ("dW1", "dC"):
        return {}
    dhprebn = _bn_fused_without_bessel(v, g["dhpreact"], case.n)
    if grad == "dW1":
        return {BESSEL: v["embcat"].T @ dhprebn}
    demb = (dhprebn @ v["W1"].T).view(v["emb"].shape)
    return {
        BESSEL: torch.zeros_like(v["C"]).index_add_(
            0, case.Xb.reshape(-1), demb.reshape(-1, demb.shape[-1])
        ),
    }


def _bn_fused_without_bessel(v: dict, dhpreact: torch.Tensor, n: int) -> torch.Tensor:
    """The fused batchnorm backward with n where n-1 belongs: the factor n/(n-1) becomes 1."""
    bnraw = v["bnraw"]
    return (v["bngain"] * v["bnvar_inv"] / n) * (
        n * dhpreact - dhpreact.sum(0) - bnraw * (dhpreact * bnraw).sum(0)
    )
