"""Exercise 1: every gradient of the atomic compute graph, in isolation and as a chain.

In isolation, each function gets autograd's upstream gradients, so one mistake costs one item.
Items run in the lecture's order, each over all cases before the next begins: a function never
receives a gradient that has not already been asked of the student for every case.
"""

import pytest

from grader.backprop_ninja import spec
from grader.backprop_ninja.cases import cases
from grader.backprop_ninja.mistakes import known_mistakes
from grader.grading import judge_case, make_item
from grader.hints import HintContext


@pytest.mark.parametrize("grad", spec.EXERCISE1)
def test_gradient_in_isolation(grad, session, public_only, record):
    allowed = spec.allowed_exercise1(grad)
    results = []
    for case in cases(public_only):
        outcome = session.call("exercise1", grad, case.atomic_inputs, allowed)
        truth = case.atomic_grads[grad]
        results.append(
            judge_case(
                case.meta(),
                outcome,
                truth,
                input_dtype=case.dtype,
                scale_floor=case.scale_floor(grad, case.atomic_grads),
                hints=HintContext(case.n, known_mistakes(grad, case)),
                name=grad,
            )
        )
    item = record(make_item(f"exercise1.{grad}", results))
    assert item.passed, item.message


def test_chain(session, public_only, record):
    """The whole backward pass on the public case, fed with the student's own gradients."""
    case = cases(public_only)[0]
    available = {**case.data(), **case.params, **case.atomic}
    steps, unreached, departure = [], [], None
    for grad in spec.EXERCISE1:
        declared = session.declared("exercise1", grad)
        needs = [a for a in declared or [] if a in spec.EXERCISE1 and a not in available]
        if declared is None or needs:
            unreached.append(grad)
            steps.append({"grad": grad, "status": "unreached", "needs": needs})
            continue
        outcome = session.call("exercise1", grad, available, spec.allowed_exercise1(grad))
        result = judge_case(
            case.meta(),
            outcome,
            case.atomic_grads[grad],
            input_dtype=case.dtype,
            scale_floor=case.scale_floor(grad, case.atomic_grads),
            name=grad,
        )
        steps.append({"grad": grad, "status": result.status, "max_rel_err": result.max_rel_err})
        if outcome.status == "ok" and result.shape is not None:
            available[grad] = outcome.value[0]
        if departure is None and not result.passed:
            departure = grad
    record(
        chain={
            "case": case.id,
            "first_departure": departure,
            "unreached": unreached,
            "steps": steps,
        }
    )
