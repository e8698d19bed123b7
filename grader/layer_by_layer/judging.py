"""One module's backward on one case: its dict of gradients, each judged by the framework's rule.

A module's backward returns several gradients (Linear: dx, dweight, dbias). Each is judged with
`grading.judge_case`, exactly as a Backprop Ninja gradient is; the case passes when all of them
do, and a failure names the gradient that failed first. The student's check.py runs this too:
the known mistakes (whose formulas must never reach students) come in from the grader's suite.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from ..grading import judge_case
from ..hints import HintContext
from ..records import CaseResult, Outcome
from .cases import Case
from .spec import Item, split

__all__ = ["judge_module", "split"]

# case -> {gradient: {label: wrong answer}}; the grader's suite passes mistakes.known_mistakes.
Mistakes = Callable[[Case], dict] | None


def judge_module(item: Item, case: Case, outcome: Outcome, mistakes: Mistakes = None) -> CaseResult:
    """The case's verdict: the call's own failure, or every gradient judged (with the hints the
    known `mistakes` give, when the grader passes them)."""
    first = item.grads[0]
    if outcome.status != "ok":
        failed = judge_case(
            case.meta(), outcome, case.truth[first], input_dtype=case.dtype, name=first
        )
        return dataclasses.replace(failed, gradient=first)
    values = split(outcome.value, item.grads)
    if isinstance(values, str):
        failed = judge_case(
            case.meta(), Outcome("failed", values), case.truth[first], input_dtype=case.dtype
        )
        return dataclasses.replace(failed, gradient=first)
    known = mistakes(case) if mistakes else {}
    results = {
        g: judge_case(
            case.meta(),
            Outcome("ok", value=values[g], arguments=outcome.arguments),
            case.truth[g],
            input_dtype=case.dtype,
            # Only BatchNorm's dx is reached by a variance's 1/(n-1): elsewhere (dgamma and dbeta
            # too) a factor n/(n-1) is a mean's 1/n, not Bessel's.
            hints=HintContext(
                case.n, known.get(g, {}), variance=item.kind == "batchnorm" and g == "dx"
            ),
            name=g,
        )
        for g in item.grads
    }
    warnings = list(outcome.warnings) + [
        f"{g}: {w}" for g, r in results.items() for w in r.warnings
    ]
    failed = next(((g, r) for g, r in results.items() if not r.passed), None)
    if failed is not None:
        g, r = failed
        return dataclasses.replace(r, message=f"{g}: {r.message}", warnings=warnings, gradient=g)
    # The case's errors are its worst gradient's, each measure on its own (dweight's difference
    # once went unshown behind dx's on a passing Linear).
    rel = [r.max_rel_err for r in results.values() if r.max_rel_err is not None]
    abs_ = [r.max_abs_err for r in results.values() if r.max_abs_err is not None]
    return dataclasses.replace(
        results[first],
        gradient=first,
        warnings=warnings,
        max_rel_err=max(rel) if rel else None,
        max_abs_err=max(abs_) if abs_ else None,
    )
