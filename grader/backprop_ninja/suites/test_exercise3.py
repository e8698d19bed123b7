"""Exercise 3: the whole backward pass, judged at one step and over a short SGD run."""

from grader.backprop_ninja import spec
from grader.backprop_ninja.cases import cases
from grader.backprop_ninja.mistakes import known_mistakes
from grader.backprop_ninja.training import sgd_run, split_grads
from grader.grading import judge_case, make_item
from grader.hints import HintContext
from grader.records import CaseResult, ItemResult
from grader.session import Outcome


def test_parameter_gradients(session, public_only, record):
    per_grad: dict[str, list] = {g: [] for g in spec.EXERCISE3_GRADS}
    for case in cases(public_only):
        outcome = session.call("exercise3", "backward", case.compact_inputs, spec.ALLOWED_EXERCISE3)
        grads = split_grads(outcome.value) if outcome.status == "ok" else None
        for grad in spec.EXERCISE3_GRADS:
            if isinstance(grads, str):
                one = Outcome("failed", grads)
            else:
                one = Outcome("ok", value=grads[grad]) if grads else outcome
            per_grad[grad].append(
                judge_case(
                    case.meta(),
                    one,
                    case.compact_grads[grad],
                    input_dtype=case.dtype,
                    scale_floor=case.scale_floor(grad, case.compact_grads),
                    hints=HintContext(case.n, known_mistakes(grad, case, compact=True)),
                    name=grad,
                )
            )
    items = [make_item(f"exercise3.{g}", results) for g, results in per_grad.items()]
    record(*items)
    assert all(i.passed for i in items), "; ".join(i.message for i in items if not i.passed)


def test_training(session, record):
    run = sgd_run(session)
    case = CaseResult(
        case="training",
        seed=0,
        public=True,
        config={"steps": run.steps_done},
        status=run.status,
        message=run.message,
        max_rel_err=run.max_rel_err,
    )
    item = ItemResult(
        id="exercise3.training",
        exercise="exercise3",
        status=run.status,
        message=run.message,
        cases=[case],
        extra={"per_param": run.per_param, "val_loss": run.val_loss},
    )
    record(item)
    assert item.passed, item.message
