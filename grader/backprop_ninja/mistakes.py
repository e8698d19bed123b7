"""This assignment's known mistakes, computed from a case, for the hint rule `known_mistake`.

Only mistakes that are not a sign, a constant factor or a transpose need to be here (those the
generic rules find): a branch left out where two meet, and the non-accumulating `dC[Xb] += demb`.
"""

from __future__ import annotations

import torch

from .cases import Case

MISSING_BRANCH = "a branch is missing: {var} feeds two places in the forward pass; add both"


def known_mistakes(grad: str, case: Case, compact: bool = False) -> dict[str, torch.Tensor]:
    v = {k: t.double() for k, t in {**case.params, **case.atomic}.items()}
    g = case.compact_grads if compact else case.atomic_grads
    n = case.n
    if grad == "dcounts":
        return {MISSING_BRANCH.format(var="counts"): v["counts_sum_inv"] * g["dprobs"]}
    if grad == "dbndiff":
        return {MISSING_BRANCH.format(var="bndiff"): v["bnvar_inv"] * g["dbnraw"]}
    if grad == "dhprebn" and not compact:
        return {
            MISSING_BRANCH.format(var="hprebn"): g["dbndiff"],
            "Bessel's correction: the variance divides by n-1, not n": _bn_fused_without_bessel(
                v, g, n
            ),
        }
    if grad == "dC":
        wrong = torch.zeros_like(v["C"])
        wrong[case.Xb] += g["demb"]
        return {
            "repeated characters must add up: `dC[Xb] += demb` keeps only one of them; "
            "use index_add_ or a loop": wrong
        }
    return {}


def _bn_fused_without_bessel(v: dict, g: dict, n: int) -> torch.Tensor:
    """The fused batchnorm backward with n where n-1 belongs: the factor n/(n-1) becomes 1."""
    dhpreact, bnraw = g["dhpreact"], v["bnraw"]
    return (v["bngain"] * v["bnvar_inv"] / n) * (
        n * dhpreact - dhpreact.sum(0) - bnraw * (dhpreact * bnraw).sum(0)
    )
