"""Exercise 2: the fused cross-entropy and batchnorm backward passes, each one formula."""

import pytest

from grader.backprop_ninja import spec
from grader.backprop_ninja.cases import cases
from grader.backprop_ninja.mistakes import known_mistakes
from grader.grading import judge_case, make_item
from grader.hints import HintContext


@pytest.mark.parametrize("grad", spec.EXERCISE2)
def test_fused(grad, session, public_only, record):
    allowed = spec.allowed_exercise2(grad)
    results = []
    for case in cases(public_only):
        outcome = session.call("exercise2", grad, case.atomic_inputs, allowed)
        results.append(
            judge_case(
                case.meta(),
                outcome,
                case.atomic_grads[grad],
                input_dtype=case.dtype,
                hints=HintContext(case.n, known_mistakes(grad, case)),
                name=grad,
            )
        )
    item = record(make_item(f"exercise2.{grad}", results))
    assert item.passed, item.message
