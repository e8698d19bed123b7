"""From call outcomes to verdicts: one case judged, then an item made of its cases.

Suites use these two functions so that every assignment words its verdicts and hints the same
way; the suite only says what to call, on which cases, against which truth.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from .hints import HintContext, SizeRule, hint_for, size_hint
from .judge import ROUNDED_HINT, judge
from .records import CaseResult, ItemResult, Outcome, worst_status
from .student_text import cases_passed


def judge_case(
    meta: dict,
    outcome: Outcome,
    truth: torch.Tensor,
    *,
    input_dtype: torch.dtype,
    scale_floor: float = 0.0,
    hints: HintContext | Callable[[], HintContext] | None = None,
    name: str = "the gradient",
) -> CaseResult:
    """One case: the call's failure as it is, or its value judged against the truth.

    `hints`: what the hint rules may know, or a function that gathers it, asked only for a
    wrong answer: a submission's ~250 judged answers are mostly right, and gathering the
    context for each of them was work thrown away (~1.7 ms a submission)."""
    if outcome.status != "ok":
        return CaseResult(
            **meta, status=outcome.status, message=outcome.message, expected_shape=list(truth.shape)
        )
    v = judge(
        outcome.value,
        truth,
        input_dtype=input_dtype,
        scale_floor=scale_floor,
        name=name,
        arguments=outcome.arguments,
    )
    hint = ""
    if v.rounded:
        hint = ROUNDED_HINT
    elif not v.passed and v.answer is not None and hints is not None:
        hint = hint_for(v.answer, truth, hints() if callable(hints) else hints)
    return CaseResult(
        **meta,
        status="passed" if v.passed else "failed",
        message=v.message,
        max_abs_err=v.max_abs_err,
        max_rel_err=v.max_rel_err,
        shape=v.shape,
        expected_shape=list(truth.shape),
        dtype=v.dtype,
        warnings=outcome.warnings + v.warnings,
        hint=hint,
        diff_map=v.diff_map,
    )


def parts_of(outcome: Outcome, names: tuple[str, ...]) -> list[Outcome]:
    """One outcome per value of a function that returns several (`return dW, db, dx`), in the
    order of `names`, each keeping the call's arguments for the judge's shape reading.

    Every assignment whose function returns a tuple takes the answer apart; indexing it as it
    comes back misread a single tensor (a `(tensor, dtype)` pair: "returned a Tensor, not a
    torch.Tensor") and made a short tuple an IndexError in the suite, every item it had not
    filed a grader error. Here anything else than `len(names)` values is each part's `failed`
    outcome, saying what came back and what was expected; a dict is read by the names."""
    if outcome.status != "ok":
        return [outcome] * len(names)
    value, expected = outcome.value, f"expected {len(names)} values: {', '.join(names)}"
    if isinstance(value, dict) and all(name in value for name in names):
        values = [value[name] for name in names]
    elif isinstance(value, list) and len(value) == len(names):
        values = value
    else:
        return [Outcome("failed", f"{_what_came_back(value, names)}; {expected}")] * len(names)
    return [
        Outcome("ok", value=v, warnings=outcome.warnings, arguments=outcome.arguments)
        for v in values
    ]


def _what_came_back(value: object, names: tuple[str, ...]) -> str:
    """A returned value that is not `names`' values, in the student's terms."""
    if value is None:
        return "returned None: did you forget `return`?"
    if isinstance(value, list):
        return f"returned {len(value)} value{'s' if len(value) != 1 else ''}"
    if isinstance(value, dict):
        absent = [name for name in names if name not in value]
        return f"returned a dict without {', '.join(absent)}"
    if isinstance(value, tuple) and value and isinstance(value[0], torch.Tensor):
        return "returned a single tensor"  # the sandbox's (tensor, dtype name) pair
    kind = getattr(value, "type_name", None)  # the sandbox's NotATensor: its type name only
    return f"returned a {kind if isinstance(kind, str) else type(value).__name__}"


def make_item(
    item_id: str, cases: list[CaseResult], size_rule: SizeRule | None = None
) -> ItemResult:
    """An item's status is its cases' most pressing one; message and hint the first failure's.
    `size_rule`: where a hard-coded size shows (hints.SizeRule; default: the first public
    case's sizes)."""
    status = worst_status([c.status for c in cases])
    first = next((c for c in cases if c.status == status and not c.passed), None)
    passed = sum(c.passed for c in cases)
    message = cases_passed(len(cases), len(cases)) if status == "passed" else ""
    if first is not None:
        # A hidden case is not named to the student: its details are in the TA's report only.
        where = "a public case" if first.public else "a hidden case"
        message = f"{cases_passed(passed, len(cases))}; on {where}: {first.message}"
    # A coarser dtype's rounding passes or fails a case by chance, whatever its sizes.
    rounded = any(c.hint == ROUNDED_HINT for c in cases if not c.passed)
    sizes = "" if rounded else size_hint(cases, size_rule)
    for c in cases:  # every front end shows a case's hint: the public one at other sizes gets it
        if sizes and c.public and not c.passed:
            c.hint = sizes
    warnings = list(dict.fromkeys(w for c in cases for w in c.warnings))
    return ItemResult(
        id=item_id,
        exercise=item_id.split(".")[0],
        status=status,
        message=message,
        # A size hard-coded shows in the cases' pattern, which says more than any one case.
        hint=sizes or (first.hint if first is not None else ""),
        warnings=warnings,
        cases=cases,
    )
