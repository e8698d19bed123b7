"""One module's backward on one case: its dict of gradients, each judged by the framework's rule.

A module's backward returns several gradients (Linear: dx, dweight, dbias). Each is judged with
`grading.judge_case`, exactly as a Backprop Ninja gradient is; the case passes when all of them
do, and a failure names the gradient that failed first.
"""

from __future__ import annotations

import dataclasses

from grader.grading import judge_case
from grader.hints import HintContext
from grader.records import CaseResult
from grader.session import Outcome

from .cases import Case
from .mistakes import known_mistakes
from .spec import Item, split

__all__ = ["judge_module", "split"]


def judge_module(item: Item, case: Case, outcome: Outcome) -> CaseResult:
    """The case's verdict: the call's own failure, or every gradient judged."""
    first = item.grads[0]
    if outcome.status != "ok":
        return judge_case(
            case.meta(), outcome, case.truth[first], input_dtype=case.dtype, name=first
        )
    values = split(outcome.value, item.grads)
    if isinstance(values, str):
        return judge_case(
            case.meta(), Outcome("failed", values), case.truth[first], input_dtype=case.dtype
        )
    mistakes = known_mistakes(case)
    results = {
        g: judge_case(
            case.meta(),
            Outcome("ok", value=values[g]),
            case.truth[g],
            input_dtype=case.dtype,
            hints=HintContext(case.n, mistakes.get(g, {})),
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
        return dataclasses.replace(r, message=f"{g}: {r.message}", warnings=warnings)
    errs = [r.max_rel_err for r in results.values() if r.max_rel_err is not None]
    return dataclasses.replace(
        results[first], warnings=warnings, max_rel_err=max(errs) if errs else None
    )
