"""Exercise 1: every gradient of the atomic compute graph, in isolation and as a chain.

In isolation, each function gets autograd's upstream gradients, so one mistake costs one item.
Items run in the lecture's order, each over all cases before the next begins: a function never
receives a gradient that has not already been asked of the student for every case.
"""

from grader.backprop_ninja import spec
from grader.backprop_ninja.cases import cases
from grader.backprop_ninja.mistakes import known_mistakes
from grader.grading import judge_case, make_item
from grader.hints import HintContext


def test_gradients_in_isolation(session, public_only, record):
    """All 26 items in one test: pytest's own cost per test (a few ms) is paid once, not 26
    times, for every submission. Each item is still judged and filed on its own."""
    items = [isolated(grad, session, public_only) for grad in spec.EXERCISE1]
    record(*items)
    failed = [i.id for i in items if not i.passed]
    assert not failed, f"{len(failed)} of {len(items)} gradients failed: {', '.join(failed)}"


def isolated(grad: str, session, public_only: bool):
    """One gradient over every case, fed autograd's upstream gradients."""
    allowed = spec.allowed_exercise1(grad)
    results = []
    for case in cases(public_only):
        outcome = session.call("exercise1", grad, case.atomic_inputs, allowed)
        results.append(
            judge_case(
                case.meta(),
                outcome,
                case.atomic_grads[grad],
                input_dtype=case.dtype,
                scale_floor=case.scale_floor(grad, case.atomic_grads),
                hints=HintContext(case.n, known_mistakes(grad, case)),
                name=grad,
            )
        )
    return make_item(f"exercise1.{grad}", results)


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
