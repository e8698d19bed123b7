"""What each item is judged on: which function is called with which values, against which truth.

One code path for the grader's suites and the student bundle's check.py: a suite passes the
grader's sandboxed session and every case, check.py an in-process session and the public cases.
Known mistakes (whose formulas must never reach students) come in as an optional function, so
this module ships in the bundle without them.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
import re
from collections.abc import Callable, Sequence

import torch

from ..grading import judge_case, make_item
from ..hints import HintContext, SizeRule
from ..judge import judge
from ..records import CaseResult, ItemResult, Outcome
from . import spec
from .cases import Case
from .training import TRAIN_CFG, Absent, TrainingRun, sgd_run, split_grads

# The lecture's configuration (model.Config's defaults), as a case's config reports it: a
# gradient right there and wrong at the other public sizes has a size hard-coded.
LECTURE_SIZES = SizeRule(
    {"vocab_size": 27, "block_size": 3, "n_embd": 10, "n_hidden": 64, "n": 32},
    name="the lecture's sizes",
    examples="32, 27, 64, range(32), one_hot(..., 27)",
    advice="use n, the sizes you may declare, or the shapes of your inputs",
)

# (gradient, case, compact) -> {label: wrong answer}; the grader passes mistakes.known_mistakes.
Mistakes = Callable[..., dict] | None


def hint_context(grad: str, case: Case, mistakes: Mistakes, compact: bool = False) -> HintContext:
    """What the hint rules may know for `grad` on `case`: the numbers' context, never a formula
    (the known mistakes come only from the grader, which never ships them)."""
    known = mistakes(grad, case, compact) if mistakes else {}
    index = case.Xb if grad == "dC" else None
    variance = grad in spec.BELOW_VARIANCE  # exercise 3's dC, dW1, db1 too: the same names
    return HintContext(case.n, known, index, spec.variable_of(grad), variance)


def phases(cases: Sequence[Case]) -> tuple[list[Case], list[Case]]:
    """A file's cases split as its process is asked them: every public case, of every item,
    in the suites' public phase, before any process of the submission is handed a hidden input
    (student code can keep a hidden case's inputs and tell them in a later public answer); the
    hidden cases after. Asked out of that order, the grader's session ends every process first."""
    return [c for c in cases if c.public], [c for c in cases if not c.public]


def ask(session, file: str, grad: str, cases: Sequence[Case]) -> list[Outcome]:
    """`file.grad` called on each case (exercise 1 or 2), each marked public or hidden."""
    allowed = spec.allowed_exercise1(grad) if file == "exercise1" else spec.allowed_exercise2(grad)
    inputs = [case.atomic_inputs for case in cases]
    return session.call_each(file, grad, inputs, allowed, [case.public for case in cases])


def public_calls(session, file: str, grads: Sequence[str], cases: Sequence[Case]) -> dict:
    """Exercise 1's or 2's functions on their public cases, for the suites' public phase."""
    public, _ = phases(cases)
    return {g: ask(session, file, g, public) for g in grads}


def judged(
    session,
    file: str,
    grads: Sequence[str],
    cases: Sequence[Case],
    public_outcomes: dict,
    mistakes: Mistakes = None,
) -> list[ItemResult]:
    """Exercise 1's or 2's items: each function's hidden cases asked after its public ones
    (`public_outcomes`, from `public_calls`), then judged over every case."""
    public, hidden = phases(cases)
    judge = isolated if file == "exercise1" else fused
    return [
        judge(
            g,
            session,
            public + hidden,
            mistakes,
            public_outcomes[g] + ask(session, file, g, hidden),
        )
        for g in grads
    ]


def isolated(
    grad: str,
    session,
    cases: Sequence[Case],
    mistakes: Mistakes = None,
    outcomes: Sequence[Outcome] | None = None,
) -> ItemResult:
    """Exercise 1: one gradient over every case, fed autograd's upstream gradients.
    `outcomes`: the calls already made, one per case (else they are made here)."""
    return _over_cases("exercise1", grad, session, cases, mistakes, outcomes, scale_floor=True)


def fused(
    grad: str,
    session,
    cases: Sequence[Case],
    mistakes: Mistakes = None,
    outcomes: Sequence[Outcome] | None = None,
) -> ItemResult:
    """Exercise 2: a fused backward pass over every case (`outcomes` as for `isolated`)."""
    return _over_cases("exercise2", grad, session, cases, mistakes, outcomes, scale_floor=False)


def _over_cases(
    file: str,
    grad: str,
    session,
    cases: Sequence[Case],
    mistakes: Mistakes,
    outcomes: Sequence[Outcome] | None,
    *,
    scale_floor: bool,
) -> ItemResult:
    """One function called on every case and judged against autograd's `grad`. Exercise 1's
    mathematically zero gradients are judged on a related gradient's scale (`scale_floor`)."""
    results = []
    if outcomes is None:
        outcomes = ask(session, file, grad, cases)
    for case, outcome in zip(cases, outcomes, strict=True):
        floor = case.scale_floor(grad, case.atomic_grads) if scale_floor else 0.0
        results.append(
            judge_case(
                case.meta(),
                outcome,
                case.atomic_grads[grad],
                input_dtype=case.dtype,
                hints=functools.partial(hint_context, grad, case, mistakes),
                scale_floor=floor,
                name=grad,
            )
        )
    return make_item(f"{file}.{grad}", results, LECTURE_SIZES)


def chain(session, case: Case) -> dict:
    """Exercise 1's whole backward pass on one case, fed with the student's own gradients."""
    available = {**case.data(), **case.params, **case.atomic}
    steps, unreached, departure, cause = [], [], None, ""
    reshaped: dict[str, str] = {}  # gradients passed on in a shape other than autograd's
    retyped: dict[str, str] = {}  # and in a dtype other than the inputs' (float64)
    for grad in spec.EXERCISE1:
        declared = session.declared("exercise1", grad)
        needs = [a for a in declared or [] if a in spec.EXERCISE1 and a not in available]
        if declared is None or needs:
            unreached.append(grad)
            steps.append({"grad": grad, "status": "unreached", "needs": needs})
            continue
        outcome = session.call(
            "exercise1",
            grad,
            available,
            spec.allowed_exercise1(grad),
            public=case.public,
            scope="chain",  # reported only: no timeout of the cases' skips it, nor its theirs
        )
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
            expected = tuple(case.atomic_grads[grad].shape)
            if tuple(result.shape) != expected:
                reshaped[grad] = f"`{grad}` of shape {_shape(result.shape)}"
                reshaped[grad] += f" where autograd's is {_shape(expected)}"
            inputs = str(case.dtype).removeprefix("torch.")
            if result.dtype != inputs:
                retyped[grad] = f"`{grad}` in {result.dtype} where the inputs are {inputs}"
        if departure is None and not result.passed:
            departure = grad
            # A dtype is only a cause where it raised: float64 mixes into float32 arithmetic.
            cause = _departure_cause(
                declared or [], reshaped, retyped if result.status == "error" else {}
            )
    chain = {"case": case.id, "first_departure": departure, "unreached": unreached, "steps": steps}
    return {**chain, "departure_cause": cause} if cause else chain


def _shape(shape) -> str:
    return "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


def _departure_cause(
    declared: Sequence[str], reshaped: dict[str, str], retyped: dict[str, str]
) -> str:
    """Why the chain's first departure may not be that function's fault: it was handed one of
    the student's gradients in a shape accepted when judged alone (a dropped keepdim=True), which
    does not broadcast there as autograd's does, or in float64, accepted alone too, which a
    matrix product with the float32 inputs refuses. The chain once blamed the right `dlogits` for
    `dlogit_maxes` of shape (32,), and the right `dh` for a float64 `dlogprobs` passed down."""
    causes = []
    shapes = [reshaped[name] for name in declared if name in reshaped]
    if shapes:
        causes.append(
            f"fed your {', '.join(shapes)}: a shape accepted when judged alone, which does not "
            "broadcast like autograd's here (keepdim=True?)"
        )
    dtypes = [retyped[name] for name in declared if name in retyped]
    if dtypes:
        causes.append(
            f"fed your {', '.join(dtypes)}: a dtype accepted when judged alone, which does not "
            "mix with the inputs' here (return the inputs' dtype)"
        )
    return "; ".join(causes)


# The scope (Session.call_each) of backward's cases at the training run's sizes.
AT_RUN_SIZES = "at the run's sizes"


def backward_calls(session, cases: Sequence[Case]) -> list[Outcome]:
    """Exercise 3's `backward` called on each case, each marked public or hidden.

    A timeout skips backward's later cases, but not those at the run's sizes, which are asked
    in a scope of their own: the run counts only where backward answered them (`counted`), and
    a backward too slow at a larger batch alone, answering right at the lecture's sizes, once had
    the hidden case there skipped after it, and with it the run's 17 points, for its one mistake.
    A timeout at the run's sizes still skips every later case, as before."""
    outcomes: list[Outcome] = []
    for at_run, group in itertools.groupby(cases, key=_case_at_run_sizes):
        chosen = list(group)
        ended = ("exercise3", "backward", AT_RUN_SIZES) in session.timed_out
        outcomes += session.call_each(
            "exercise3",
            "backward",
            [case.compact_inputs for case in chosen],
            spec.ALLOWED_EXERCISE3,
            [case.public for case in chosen],
            scope=AT_RUN_SIZES if at_run or ended else "",
        )
    return outcomes


def _case_at_run_sizes(case: Case) -> bool:
    return all(getattr(case.cfg, k) == getattr(TRAIN_CFG, k) for k in LECTURE_SIZES.reference)


def parameter_gradients(
    session,
    cases: Sequence[Case],
    mistakes: Mistakes = None,
    outcomes: Sequence[Outcome] | None = None,
) -> list[ItemResult]:
    """Exercise 3: `backward`'s seven gradients at one step, over every case (`outcomes`: the
    calls already made, one per case, else they are made here)."""
    per_grad: dict[str, list[CaseResult]] = {g: [] for g in spec.EXERCISE3_GRADS}
    if outcomes is None:
        outcomes = backward_calls(session, cases)
    for case, outcome in zip(cases, outcomes, strict=True):
        grads = split_grads(outcome.value) if outcome.status == "ok" else None
        ones = {grad: _one(grad, grads, outcome) for grad in spec.EXERCISE3_GRADS}
        results = {
            grad: judge_case(
                case.meta(),
                one,
                case.compact_grads[grad],
                input_dtype=case.dtype,
                scale_floor=case.scale_floor(grad, case.compact_grads),
                hints=functools.partial(hint_context, grad, case, mistakes, compact=True),
                name=grad,
            )
            for grad, one in ones.items()
        }
        # A swap leaves both places wrong: a gradient whose own place holds it right is no
        # other's (dbngain without `bnraw *` equals dbnbias's value beside a right dbnbias).
        misplaced = {g for g, r in results.items() if not r.passed}
        for grad, result in results.items():
            one = ones[grad]
            if result.status == "failed" and not result.hint and one.status == "ok":
                keyed = isinstance(outcome.value, dict)
                result.hint = _in_place_of(grad, one.value, case, keyed, misplaced)
                result.hint = result.hint or _an_update(grad, one.value, case)
                result.hint = result.hint or _noise_of_others(grad, result, results, case)
            per_grad[grad].append(result)
    return [make_item(f"exercise3.{g}", results, LECTURE_SIZES) for g, results in per_grad.items()]


def _one(grad: str, grads, outcome: Outcome) -> Outcome:
    """`grad`'s own answer out of `backward`'s (`grads`: split_grads's reading of it)."""
    if isinstance(grads, str):
        return Outcome("failed", grads)
    if grads is None:
        return outcome
    if isinstance(grads[grad], Absent):
        return Outcome("failed", grads[grad].message)
    return Outcome("ok", value=grads[grad], arguments=outcome.arguments)


def _in_place_of(grad: str, value: object, case: Case, keyed: bool, wrong: set[str]) -> str:
    """The hint for a gradient that is right, but another parameter's: `backward`'s list in
    another order than the lecture's (dW1 first, say), or a dict's keys swapped. Its item said
    only "wrong shape", or, between dbngain and dbnbias (one shape), "values differ".
    Only a parameter whose own place is `wrong` is named: one answered right there was not
    swapped away. db1's truth is zero: any zero passes as it, so it is never named."""
    for other in spec.EXERCISE3_GRADS:
        if other in (grad, "db1") or other not in wrong:
            continue
        truth = case.compact_grads[other]
        floor = case.scale_floor(other, case.compact_grads)
        if judge(value, truth, input_dtype=case.dtype, scale_floor=floor, name=other).passed:
            where = (
                f"under the key {grad}"
                if keyed
                else f"in {grad}'s place: the list goes {', '.join(spec.EXERCISE3_GRADS)}"
            )
            return f"this is {other}, right, {where}"
    return ""


# How near `param - answer` must lie to a multiple of the gradient to be named an update: the
# student's float32 subtraction from a parameter ~100x the step rounds off ~1e-5 of the step.
UPDATE_TOLERANCE = 1e-3


def _an_update(grad: str, value: object, case: Case) -> str:
    """The hint for a gradient returned as its parameter after the training step (`W1 - lr *
    dW1`: the lecture's update done inside `backward`): its item said only "values differ".
    `backward` returns the gradients; the training loop, the grader's too, updates."""
    param = grad[1:]
    answer = value[0] if isinstance(value, tuple) and value else None
    start = case.params.get(param)
    if not isinstance(answer, torch.Tensor) or start is None or answer.numel() != start.numel():
        return ""
    step = start.double().flatten() - answer.double().flatten()
    truth = case.compact_grads[grad].double().flatten()
    size = float(truth.abs().max()) if truth.numel() else 0.0
    # db1's truth is zero up to rounding (batchnorm subtracts b1 out): no step is along it.
    if size <= case.scale_floor(grad, case.compact_grads):
        return ""
    lr = float(step @ truth) / float(truth @ truth)
    off = float((step - lr * truth).abs().max())
    # Asked so that NaN fails it: an answer holding NaN or Inf (a division by zero), or so large
    # that the sums overflow, has no step to read, and was told "this is W2 after an update
    # (W2 - nan * dW2)"; its item already says what it holds.
    if not (0 < lr < math.inf and off <= UPDATE_TOLERANCE * lr * size):
        return ""
    return (
        f"this is {param} after an update ({param} - {lr:.3g} * {grad}), not {grad}: return "
        "the gradient itself; the training loop applies the update"
    )


# Of a true zero's scale, the most an answer may hold to be read as rounding noise: the lecture's
# db1 computed from gradients off by a factor n holds ~2e-5 of it, a value computed another way
# than zero (a missing term) far more.
NOISE = 1e-3
_FACTOR = re.compile(r"^off by a factor ([^:]+):")


def _noise_of_others(grad: str, result: CaseResult, results: dict, case: Case) -> str:
    """The hint for a gradient whose truth is zero (db1: BatchNorm's mean subtracts b1 out)
    that fails by rounding noise alone, beside other gradients of the same `backward` that are
    wrong: noise grows with the gradients it is computed from, and the row said only "values
    differ ... 2.1e-05 of the gradient's scale (allowed: 2e-05 of it)", of a value that is zero
    to five places. Said only where the others' rows name a mistake to fix."""
    truth = case.compact_grads[grad]
    floor = case.scale_floor(grad, case.compact_grads)
    zero = truth.numel() == 0 or float(truth.abs().max()) <= NOISE * floor
    others = [g for g, r in results.items() if g != grad and not r.passed]
    if not zero or not others or result.max_rel_err is None or result.max_rel_err > NOISE:
        return ""
    factors = {m.group(1) if (m := _FACTOR.match(results[g].hint or "")) else "" for g in others}
    (factor,) = factors if len(factors) == 1 else ("",)
    grown = (
        f"{', '.join(others)} are off by a factor {factor}, and so is its noise"
        if factor
        else f"{', '.join(others)} are wrong, and its noise grows with them"
    )
    return (
        f"{grad}'s true value is zero, so yours is rounding noise, here over the tolerance: "
        f"{grown}: fix them first"
    )


def excused(gradient_items: Sequence[ItemResult]) -> list[str]:
    """The gradients the training run takes from autograd: those already wrong at one step
    where the run is made, at its sizes (the lecture's).

    A gradient wrong only at other sizes (a hard-coded 32) is right in the run and drives it.
    Excused, it once left a run with nothing of the student's to judge: 0 of 17 points, while
    the same slip written so that it crashes at other sizes (`.view(32, -1)`) kept all 17.
    Whatever the item's status says of other cases: a backward crashing (or timing out) only
    at other sizes once kept its gradients wrong at the run's sizes in the run, which a
    second charge of one mistake failed (Bessel's n cost 17 points more beside a crash at
    other sizes than beside wrong values there). Only a wrong value is excused: a missing or
    crashing backward at the run's sizes fails the run on its own."""
    return [
        i.id.split(".", 1)[1]
        for i in gradient_items
        if any(c.status == "failed" and _at_run_sizes(c) for c in i.cases)
    ]


def _at_run_sizes(case: CaseResult) -> bool:
    return all(case.config.get(k) == getattr(TRAIN_CFG, k) for k in LECTURE_SIZES.reference)


def unanswered(gradient_items: Sequence[ItemResult]) -> CaseResult | None:
    """The first case at the run's sizes where `backward` gave nothing to judge (it raised,
    timed out, was skipped, went missing, ran into the autograd ban), or None.

    The run's inputs are public and fixed (training.py ships), so a file can store autograd's
    answers for its steps and the public cases and raise on any other input: no case at the
    run's sizes then failed, nothing was excused, and the run scored its 17 points with no
    gradient computed. A run counts only where backward's own answers there were judged."""
    for item in gradient_items:
        for case in item.cases:
            if case.status not in ("passed", "failed") and _at_run_sizes(case):
                return case
    return None


def training(
    session, gradient_items: Sequence[ItemResult] = (), after_hidden: bool = False
) -> ItemResult:
    """Exercise 3's short SGD run, judged on the parameters whose gradients pass (see sgd_run).
    A run made `after_hidden` cases is filed as a hidden case: student code can tell what it
    was handed there through the run's words or its timing, so they wait for publication."""
    run: TrainingRun = sgd_run(session, excused=excused(gradient_items))
    case = CaseResult(
        case="training",
        seed=0,
        public=not after_hidden,
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
        extra={"per_param": run.per_param, "excused": run.excused},
    )
    return counted(item, gradient_items)


def counted(run: ItemResult, gradient_items: Sequence[ItemResult]) -> ItemResult:
    """The run's item as it counts: a run that passed, where `backward` gave no answer to judge
    on a case at the run's sizes (`unanswered`), takes that case's status, since nothing shows
    that the gradients driving it are computed rather than stored. Its case is hidden where
    that case is: its words tell the case's verdict."""
    gap = unanswered(gradient_items)
    if not run.passed or gap is None:
        return run
    where = "a public case" if gap.public else "a hidden case"
    message = (
        f"the run is made at the lecture's sizes, and on {where} at those sizes backward gave "
        f"no answer to judge ({gap.status}: its gradient items say why), so the run cannot "
        "count: it is judged only beside gradients judged at its sizes"
    )
    case = dataclasses.replace(
        run.cases[0], status=gap.status, message=message, public=run.cases[0].public and gap.public
    )
    return dataclasses.replace(run, status=gap.status, message=message, cases=[case])
