"""Every module's backward in isolation on its cases, then the WaveNet trained by all of them.

In isolation each function gets autograd's upstream gradient `dout`, so one mistake costs one
item. All items run in one test: pytest's own cost per test is paid once per submission.
"""

from grader.grading import make_item
from grader.layer_by_layer import spec
from grader.layer_by_layer.cases import cases
from grader.layer_by_layer.judging import judge_module
from grader.layer_by_layer.training import sgd_run
from grader.records import CaseResult, ItemResult


def test_modules_in_isolation(session, public_only, record):
    items = []
    for item in spec.ITEMS:
        its_cases = cases(public_only)[item.name]
        inputs = [case.inputs for case in its_cases]
        outcomes = session.call_each(spec.FILE, item.function, inputs, item.allowed)
        results = [judge_module(item, c, o) for c, o in zip(its_cases, outcomes, strict=True)]
        items.append(make_item(f"{spec.FILE}.{item.name}", results))
    record(*items)
    failed = [i.id for i in items if not i.passed]
    assert not failed, f"{len(failed)} of {len(items)} modules failed: {', '.join(failed)}"


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
        id=f"{spec.FILE}.training",
        exercise=spec.FILE,
        status=run.status,
        message=run.message,
        cases=[case],
        extra={"per_param": run.per_param, "val_loss": run.val_loss},
    )
    record(item)
    assert item.passed, item.message
