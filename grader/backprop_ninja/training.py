"""Exercise 3's judgement helpers: reading `backward`'s return value, and the short SGD run.

The SGD run is the lecture's training loop in miniature: the grader runs the forward pass, the
student's `backward` supplies every gradient, the grader applies the update. Beside it runs the
same loop driven by autograd in float64 from the same start; after a few steps the student's
parameter updates must match autograd's.

One mistake is charged once: a parameter whose one-step gradient item already failed is
"excused": its gradient in the run comes from autograd, and the run is judged on the other
parameters, which the student's `backward` alone drives (student_readme.md and the rubric say so).
A run left with only parameters whose true gradient is zero (b1) judges nothing and fails.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from ..judge import not_finite
from ..records import Outcome
from ..student_text import did_you_mean
from . import model, spec
from .model import Config

TRAIN_CFG = Config(seed=1337)
TRAIN_STEPS = 8
TRAIN_LR = 0.1
# Measured: after 8 steps the solution's parameters sit 2.6e-6 (of their update) from autograd's
# float64 run; Bessel's n in exercise 3 drifts 7.5e-3. 1e-4 is 38x above one, 75x below the other.
TRAIN_TOLERANCE = 1e-4


@dataclass(frozen=True)
class Absent:
    """A gradient `backward`'s dict leaves out: that gradient alone fails, with `message`; the
    others are judged (a list with None in that place is judged the same way)."""

    message: str


# A dict's keys weighed for "did you mean" (`dbngian` for `dbngain`); more are not looked at.
_KEYS_WEIGHED = 100


def split_grads(value: object) -> dict[str, object] | str:
    """`backward`'s dict (keys dC...) or list/tuple (the lecture's order) -> {dC: value, ...}.

    A dict without some of the keys maps each of them to an Absent: one key left out or
    misspelt costs that gradient, not the six others beside it."""
    names = spec.EXERCISE3_GRADS
    if isinstance(value, dict):
        return {k: value[k] if k in value else Absent(_absent(k, value)) for k in names}
    if isinstance(value, list):
        if len(value) != len(names):
            return f"returned {len(value)} values; expected {len(names)}: {', '.join(names)}"
        return dict(zip(names, value, strict=True))
    expected = f"expected a dict with keys {', '.join(names)} or a list in that order"
    if value is None:  # "returned a None": exercise 1's functions are asked about `return`
        return f"returned None: did you forget `return`? {expected[0].upper()}{expected[1:]}"
    kind = getattr(value, "type_name", None)  # the sandbox's NotATensor: its type name only
    kind = kind if isinstance(kind, str) else "single tensor"
    return f"returned a {kind}; {expected}"


def _absent(name: str, value: dict) -> str:
    """Why the returned dict has no gradient `name`, with the key meant, when one is close.
    A key named after the parameter (`C` for dC, as in the lecture's `parameters` list) is
    too far for the spelling check, and said as such."""
    others = [k for k in itertools.islice(value, _KEYS_WEIGHED) if k not in spec.EXERCISE3_GRADS]
    close = did_you_mean(name, set(others), frozenset(spec.EXERCISE3_GRADS))
    if not close and name[1:] in others:
        close = f"did you mean `{name[1:]}`?"
    typo = f"; it has {close.removeprefix('did you mean ').rstrip('?')}: meant as `{name}`?"
    return f"the returned dict has no {name} (keys must be {', '.join(spec.EXERCISE3_GRADS)})" + (
        typo if close else ""
    )


@dataclass
class TrainingRun:
    """How the student's training run compared with autograd's, step by step."""

    passed: bool
    status: str
    message: str
    steps_done: int = 0
    max_rel_err: float | None = None
    per_param: dict[str, float] = field(default_factory=dict)
    excused: list[str] = field(default_factory=list)


def sgd_run(session, excused: Sequence[str] = ()) -> TrainingRun:
    """TRAIN_STEPS steps at TRAIN_CFG's sizes, the ones judging takes for the run's
    (judging._at_run_sizes: a gradient failing there is excused). `excused`: gradients (dW1,
    ...) already failed at one step: autograd supplies them here."""
    excused = [g for g in spec.EXERCISE3_GRADS if g in set(excused)]
    judged = [k for k in model.PARAMS if "d" + k not in excused]
    if not judged:
        return TrainingRun(
            False,
            "failed",
            "no parameter gradient of yours passed at one step, so the run has nothing of "
            "yours to judge (each gradient item already says what is wrong)",
            excused=excused,
        )
    start, batches, ref = reference_run(TRAIN_CFG, TRAIN_STEPS)
    moved = {k: (ref[k] - start[k].double()).abs().max().item() for k in model.PARAMS}
    # b1's true update is zero (batchnorm subtracts it out): judged on the others' scale, and
    # alone it judges nothing (zeros pass), so a run left with only such parameters fails.
    floor = 0.01 * max(moved.values())
    if all(moved[k] <= floor for k in judged):
        only = ", ".join("d" + k for k in judged)
        return TrainingRun(
            False,
            "failed",
            f"of your gradients only {only} passed at one step, and its true value is zero "
            "(batchnorm subtracts b1 out): a run driven by nothing else of yours has nothing "
            "to judge (each gradient item already says what is wrong)",
            excused=excused,
        )
    # The student's run keeps float64 master weights and runs the forward in float32, so its
    # drift from autograd's run is its gradients' error alone, not float32's rounding of weights.
    params = {k: t.double() for k, t in start.items()}
    for step, (Xb, Yb) in enumerate(batches):
        current = {k: p.to(start[k].dtype) for k, p in params.items()}
        grads = _student_grads(session, TRAIN_CFG, current, Xb, Yb, excused)
        if isinstance(grads, Outcome):
            message = grads.message if grads.whole_file else f"step {step + 1}: {grads.message}"
            return TrainingRun(False, grads.status, message, step, excused=excused)
        if excused:
            own = model.autograd_grads(model.compact_forward, current, Xb, Yb)
            grads.update({name: own[name] for name in excused})
        for k in model.PARAMS:
            params[k] = params[k] - TRAIN_LR * grads["d" + k].double()
    per_param = {
        k: (params[k].double() - ref[k]).abs().max().item() / max(moved[k], floor, 1e-30)
        for k in judged
    }
    worst = max(per_param, key=per_param.get)
    note = (
        f" ({', '.join(excused)} came from autograd: already marked wrong at one step)"
        if excused
        else ""
    )
    if per_param[worst] > TRAIN_TOLERANCE:
        return TrainingRun(
            False,
            "failed",
            f"after {TRAIN_STEPS} SGD steps {worst} has drifted from "
            f"autograd's run by {per_param[worst]:.2g} of its update{note}",
            TRAIN_STEPS,
            per_param[worst],
            per_param,
            excused,
        )
    return TrainingRun(
        True,
        "passed",
        f"{TRAIN_STEPS} SGD steps track autograd's run{note}",
        TRAIN_STEPS,
        per_param[worst],
        per_param,
        excused,
    )


@functools.lru_cache(maxsize=4)
def reference_run(cfg: Config, steps: int):
    """(starting parameters, each step's batch, autograd's float64 parameters after the run):
    the same for every student, so computed once per process. Read only: never modify them."""
    g = torch.Generator().manual_seed(cfg.seed)
    start = model.init_params(cfg, g)
    ref = {k: t.double() for k, t in start.items()}
    batches = []
    for _ in range(steps):
        Xb, Yb = model.random_batch(cfg, g)
        batches.append((Xb, Yb))
        truth = model.autograd_grads(model.compact_forward, ref, Xb, Yb)
        ref = {k: ref[k] - TRAIN_LR * truth["d" + k] for k in model.PARAMS}
    return start, tuple(batches), ref


def _student_grads(
    session, cfg, params, Xb, Yb, excused: Sequence[str] = ()
) -> dict[str, torch.Tensor] | Outcome:
    """The student's gradients for one step, or why there are none; excused ones are skipped
    (autograd supplies them), so a wrong shape there is not charged again."""
    with torch.no_grad():
        forward = model.compact_forward(params, Xb, Yb)
    available = {"Xb": Xb, "Yb": Yb, "n": cfg.n, **cfg.sizes(), **params, **forward}
    # Public: the run's verdict and deviations are shown to the student.
    # Its own scope: a timeout among backward's cases does not skip the run, nor one here them.
    outcome = session.call(
        "exercise3", "backward", available, spec.ALLOWED_EXERCISE3, public=True, scope="training"
    )
    if outcome.status != "ok":
        return outcome
    grads = split_grads(outcome.value)
    if isinstance(grads, str):
        return Outcome("failed", grads)
    usable = {}
    for name, value in grads.items():
        if name in excused:
            continue
        if isinstance(value, Absent):
            return Outcome("failed", value.message)
        p = params[name[1:]]
        if not isinstance(value, tuple) or value[0].numel() != p.numel():
            return Outcome("failed", f"{name} is not a tensor of {p.numel()} numbers")
        t = value[0].reshape(p.shape).to(p.dtype)
        if not torch.isfinite(t).all():
            return Outcome("failed", f"{name} {not_finite(value[0], p.dtype)}")
        usable[name] = t
    return usable
