"""This assignment's known mistakes, computed from a case, for the hint rule `known_mistake`.

Only mistakes that the generic rules of grader/hints.py cannot read off the numbers need to be
here: a sign, a constant factor, a transpose, a branch through a sum or a broadcast, rows of
repeated characters lost (`dC[Xb] += demb`) are found there, in the student bundle's check too.
These are the rest: the bndiff branch, Bessel's correction inside a fused formula, the mean's
1/n, the power rule's slips, tanh applied twice or its derivative taken at its input, and a
dropped BatchNorm epsilon. Their formulas
are near-misses of the answers, so this module never ships to students (tests/test_bundle.py
holds it out); their hints show in the grader only. Each is the wrong answer a student would
compute, in float64 from the case's values and autograd's upstream gradients. Exercise 3
(`compact=True`) has only the parameter gradients: its Bessel and tanh mistakes are carried
down to the parameters they reach.
"""

from __future__ import annotations

import torch

from ..hints import REPEATED  # noqa: F401 - the generic rule's words, for the tests
from .cases import Case

MISSING_BRANCH = "a branch is missing: {var} feeds two places in the forward pass; add both"
BESSEL = "Bessel's correction: the variance divides by n-1, not n"
EPSILON = "BatchNorm's epsilon: bnvar_inv = (bnvar + 1e-5)**-0.5, so its derivative keeps the 1e-5"
# The same slip below dbnvar: 1/sqrt(bnvar) or 1/std in place of bnvar_inv.
EPSILON_INV = (
    "BatchNorm's epsilon: the forward divides by sqrt(bnvar + 1e-5), not by sqrt(bnvar) or the "
    "std; use bnvar_inv (or keep the 1e-5)"
)
POWER = "the power rule: the derivative of x**k is k * x**(k-1) ({what})"
TANH_TWICE = (
    "tanh applied twice: h is already tanh(hpreact), so the derivative is 1 - h**2, "
    "not 1 - tanh(h)**2"
)
# The derivative's formula 1 - tanh**2 written with tanh's input: 1 - hpreact**2.
TANH_AT_INPUT = (
    "tanh's derivative was taken at its input hpreact: it is a function of tanh's output h, "
    "not of hpreact"
)


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
    if grad == "dhpreact":
        return _tanh_mistakes(v, g["dh"])
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
            EPSILON_INV: v["bnvar"] ** -0.5 * g["dbnraw"] + 2 * v["bndiff"] * g["dbndiff2"],
        }
    if grad == "dhprebn":
        return {
            "the mean's branch misses its 1/n: bnmeani = 1/n * hprebn.sum(0)": g["dbndiff"]
            + g["dbnmeani"],
            **_bn_fused_mistakes(v, g["dhpreact"], n),
        }
    return {}


def _tanh_mistakes(v: dict, dh: torch.Tensor) -> dict[str, torch.Tensor]:
    """dhpreact with tanh's derivative slipped: tanh applied twice, or taken at its input."""
    return {
        TANH_TWICE: (1.0 - torch.tanh(v["h"]) ** 2) * dh,
        TANH_AT_INPUT: (1.0 - v["hpreact"] ** 2) * dh,
    }


def _compact(grad: str, case: Case, v: dict, g: dict) -> dict[str, torch.Tensor]:
    """Exercise 3: the fused batchnorm's mistakes, carried down to dW1 and dC, and tanh's to
    every parameter below it (exercise 3 has no dhpreact item: the slip showed as four wrong
    gradients, dbngain to dC, with no word of tanh)."""
    below = {
        label: _below_tanh(grad, case, v, dhpreact)
        for label, dhpreact in _tanh_mistakes(v, g["dh"]).items()
    }
    below = {label: wrong for label, wrong in below.items() if wrong is not None}
    if grad not in ("dW1", "dC"):
        return below
    fused = _bn_fused_mistakes(v, g["dhpreact"], case.n)
    if grad == "dW1":
        return {**{label: v["embcat"].T @ dhprebn for label, dhprebn in fused.items()}, **below}
    return {**{label: _dC(case, v, dhprebn) for label, dhprebn in fused.items()}, **below}


def _below_tanh(grad: str, case: Case, v: dict, dhpreact: torch.Tensor) -> torch.Tensor | None:
    """What a wrong dhpreact makes of a parameter's gradient below tanh, or None for one above
    it (db1's true value is zero, and a wrong dhpreact leaves it zero)."""
    if grad == "dbngain":
        return (v["bnraw"] * dhpreact).sum(0, keepdim=True)
    if grad == "dbnbias":
        return dhpreact.sum(0, keepdim=True)
    if grad not in ("dW1", "dC"):
        return None
    dhprebn = _bn_fused(v["bngain"], v["bnvar_inv"], v["bnraw"], dhpreact, case.n)
    return v["embcat"].T @ dhprebn if grad == "dW1" else _dC(case, v, dhprebn)


def _dC(case: Case, v: dict, dhprebn: torch.Tensor) -> torch.Tensor:
    """What a wrong dhprebn makes of dC, every use of a character added up."""
    demb = (dhprebn @ v["W1"].T).view(v["emb"].shape)
    return torch.zeros_like(v["C"]).index_add_(
        0, case.Xb.reshape(-1), demb.reshape(-1, demb.shape[-1])
    )


def _bn_fused_mistakes(v: dict, dhpreact: torch.Tensor, n: int) -> dict[str, torch.Tensor]:
    """The fused batchnorm backward's slips, each labelled.

    Bessel forgotten (n where n-1 belongs: the factor n/(n-1) becomes 1), and the epsilon
    dropped: the quiet unit (model.quieten) makes it fail every case, so it needs its words. A
    student drops it either in 1/std only (keeping the given bnraw) or in a bnraw recomputed
    from it too; the two differ by as much as either differs from the truth, so both are here.
    """
    bare_inv = v["bnvar"] ** -0.5
    return {
        BESSEL: _bn_fused(v["bngain"], v["bnvar_inv"], v["bnraw"], dhpreact, n, bessel=1.0),
        EPSILON_INV: _bn_fused(v["bngain"], bare_inv, v["bnraw"], dhpreact, n),
        f"{EPSILON_INV}, in bnraw too": _bn_fused(
            v["bngain"], bare_inv, v["bnraw"] / v["bnvar_inv"] * bare_inv, dhpreact, n
        ),
    }


def _bn_fused(
    bngain: torch.Tensor,
    inv: torch.Tensor,
    bnraw: torch.Tensor,
    dhpreact: torch.Tensor,
    n: int,
    bessel: float | None = None,
) -> torch.Tensor:
    """The lecture's fused batchnorm backward from the given pieces. `bessel` is the factor of
    the variance's part: n/(n-1) when right (the default), 1 when Bessel is forgotten."""
    factor = n / (n - 1) if bessel is None else bessel
    variance_part = factor * bnraw * (dhpreact * bnraw).sum(0)
    return (bngain * inv / n) * (n * dhpreact - dhpreact.sum(0) - variance_part)
