"""This assignment's known mistakes, computed from a case, for the hint rule `known_mistake`.

Only mistakes that are not a sign, a constant factor or a transpose need to be here (those the
generic rules find): a branch left out where two meet, the non-accumulating `dC[Xb] += demb`,
Bessel's correction inside a fused formula, and the power rule's slips. Each is the wrong answer
a student would compute, in float64 from the case's values and autograd's upstream gradients.
Exercise 3 (`compact=True`) has only the parameter gradients: its Bessel and `dC` mistakes are
carried down to the parameters they reach.
"""

from __future__ import annotations

import torch

from .cases import Case

MISSING_BRANCH = "a branch is missing: {var} feeds two places in the forward pass; add both"
BESSEL = "Bessel's correction: the variance divides by n-1, not n"
REPEATED = (
    "repeated characters must add up: `dC[Xb] += demb` keeps only one of them; "
    "use index_add_ or a loop"
)
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
    if grad == "dcounts":
        return {MISSING_BRANCH.format(var="counts"): v["counts_sum_inv"] * g["dprobs"]}
    if grad == "dcounts_sum":
        return {
            POWER.format(what="x**-1 gives -x**-2"): -(v["counts_sum"] ** -1) * g["dcounts_sum_inv"]
        }
    if grad == "dbnvar":
        wrong = -0.5 * (v["bnvar"] + 1e-5) ** -0.5 * g["dbnvar_inv"]
        return {POWER.format(what="x**-0.5 gives -0.5 * x**-1.5"): wrong}
    if grad == "dbndiff":
        return {
            MISSING_BRANCH.format(var="bndiff"): v["bnvar_inv"] * g["dbnraw"],
            POWER.format(what="x**2 gives 2 * x"): v["bnvar_inv"] * g["dbnraw"]
            + v["bndiff"] * g["dbndiff2"],
        }
    if grad == "dhprebn":
        return {
            MISSING_BRANCH.format(var="hprebn"): g["dbndiff"],
            "the mean's branch misses its 1/n: bnmeani = 1/n * hprebn.sum(0)": g["dbndiff"]
            + g["dbnmeani"],
            BESSEL: _bn_fused_without_bessel(v, g["dhpreact"], n),
        }
    if grad == "dC":
        return {REPEATED: _dC_fancy_index(case.Xb, v["C"], g["demb"])}
    return {}


def _compact(grad: str, case: Case, v: dict, g: dict) -> dict[str, torch.Tensor]:
    """Exercise 3: Bessel forgotten in the fused batchnorm, and `dC[Xb] += demb`."""
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
        REPEATED: _dC_fancy_index(case.Xb, v["C"], g["demb"]),
    }


def _dC_fancy_index(Xb: torch.Tensor, C: torch.Tensor, demb: torch.Tensor) -> torch.Tensor:
    wrong = torch.zeros_like(C)
    wrong[Xb] += demb
    return wrong


def _bn_fused_without_bessel(v: dict, dhpreact: torch.Tensor, n: int) -> torch.Tensor:
    """The fused batchnorm backward with n where n-1 belongs: the factor n/(n-1) becomes 1."""
    bnraw = v["bnraw"]
    return (v["bngain"] * v["bnvar_inv"] / n) * (
        n * dhpreact - dhpreact.sum(0) - bnraw * (dhpreact * bnraw).sum(0)
    )
