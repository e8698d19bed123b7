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
from grader.sandbox.client import NotATensor
from grader.session import Outcome

from .cases import Case
from .mistakes import known_mistakes
from .spec import Item


def split(value: object, grads: tuple[str, ...]) -> dict[str, object] | str:
    """The returned value as {gradient: value}, or why it cannot be read that way.

    A dict with the gradient names as keys; a function with one gradient may return the tensor.
    """
    if isinstance(value, dict):
        missing = [g for g in grads if g not in value]
        if missing:
            return f"the returned dict has no {', '.join(missing)} (keys: {', '.join(grads)})"
        return {g: value[g] for g in grads}
    if len(grads) == 1 and isinstance(value, tuple) and len(value) == 2:
        return {grads[0]: value}  # a bare tensor, as (tensor, dtype name)
    kind = value.type_name if isinstance(value, NotATensor) else type(value).__name__
    kind = "None" if value is None else kind
    return f"returned {kind}; expected a dict with the keys {', '.join(grads)}"


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
