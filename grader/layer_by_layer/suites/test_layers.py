"""Every module's backward in isolation on its cases, and the WaveNet trained by all of them.

In isolation each function gets autograd's upstream gradient `dout`, so one mistake costs one
item. All items run in one test: pytest's own cost per test is paid once per submission.
"""

from grader.grading import make_item
from grader.layer_by_layer import spec
from grader.layer_by_layer.cases import cases
from grader.layer_by_layer.judging import judge_module
from grader.layer_by_layer.mistakes import known_mistakes
from grader.layer_by_layer.training import counted, run_sized, sgd_run
from grader.records import CaseResult, ItemResult


def test_modules_in_isolation(session, public_only, record):
    """Every module's public cases, then the training run (public too), then the hidden cases:
    a process handed hidden inputs answers nothing the student sees (see Session.call_each).
    The run counts only beside modules that pass their cases at its sizes (training.counted)."""
    every = cases(public_only)
    outcomes = {item.name: _ask(session, item, every[item.name], True) for item in spec.ITEMS}
    training = _training(session)
    for item in spec.ITEMS:
        outcomes[item.name] += _ask(session, item, every[item.name], False)
    items = []
    for item in spec.ITEMS:
        its_cases = [c for c in every[item.name] if c.public] + [
            c for c in every[item.name] if not c.public
        ]
        results = [
            judge_module(item, c, o, known_mistakes)
            for c, o in zip(its_cases, outcomes[item.name], strict=True)
        ]
        items.append(make_item(f"{spec.FILE}.{item.name}", results))
    every_case = [c for its in every.values() for c in its]
    training = counted(training, items, run_sized(every_case))
    record(*items, training)
    failed = [i.id for i in items + [training] if not i.passed]
    assert not failed, f"{len(failed)} of {len(items) + 1} items failed: {', '.join(failed)}"


def _ask(session, item, its_cases, public: bool):
    chosen = [c for c in its_cases if c.public == public]
    inputs = [case.inputs for case in chosen]
    # Each item its own scope: linear and linear_nobias share a function, and a timeout in
    # one's cases once skipped the other's hidden ones.
    return session.call_each(
        spec.FILE, item.function, inputs, item.allowed, public, scope=item.name
    )


def _training(session) -> ItemResult:
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
    return ItemResult(
        id=f"{spec.FILE}.training",
        exercise=spec.FILE,
        status=run.status,
        message=run.message,
        cases=[case],
        extra={"per_param": run.per_param, "val_loss": run.val_loss},
    )
