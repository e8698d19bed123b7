"""The training demo (`grader train -a layer-by-layer [layers.py]`): a WaveNet trained on names
by a student's own module backwards.

The same network and step as the graded training item (training.py), at makemore part 5's
width, for as many steps as asked: the grader runs the forward pass, the student's functions
(in the sandbox, like any submission) give every gradient, and for the first steps autograd's
gradients are compared, so a student sees at once whether a bad loss is their gradient's fault.
"""

from __future__ import annotations

import random
from pathlib import Path

import click
import torch
from tqdm import tqdm

from grader.sandbox.client import Limits, Zygote, warm_torch
from grader.session import Outcome, Session

from . import training
from .spec import FILE

N_EMBD, N_HIDDEN, BATCH = 24, 128, 32  # makemore part 5's WaveNet
LR, LR_LATE = 0.1, 0.01
# The demo grades nothing, so a submission's total time budget (the Session's 300 s) has no
# place in it: it stopped the reference solution's own 3,000 default steps part-way on a 2-core
# machine ("step 1305: linear_backward: the submission's total time budget ran out"). Each call
# keeps its own limit (Limits' call_seconds) and Ctrl-C stops the run; finite, so that the
# Session's sums of what is left stay numbers.
DEMO_TIME_BUDGET = 1e9


class DemoError(click.ClickException):
    """The student's functions could not drive training; the message says why (no traceback)."""


def training_demo(assignment, path: Path | None, *, data=None, steps=3000, check_steps=3,
                  seed=2147483647) -> dict:  # fmt: skip
    path = path or assignment.solutions / f"{FILE}.py"
    try:
        source = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise DemoError(f"cannot read {path}: {e}") from None
    words = training.census_names() if data is None else Path(data).read_text().split()
    random.Random(42).shuffle(words)
    n1 = int(0.9 * len(words))
    (Xtr, Ytr), (Xval, Yval) = training.contexts(words[:n1]), training.contexts(words[n1:])
    g = torch.Generator().manual_seed(seed)
    p = training.init_params(g, N_EMBD, N_HIDDEN)
    warm_torch()
    zygote = Zygote(Limits())
    session = Session({FILE: source}, zygote, time_budget=DEMO_TIME_BUDGET)
    try:
        losses = []
        # disable=None: a bar on a terminal only, not its every redraw in a log or a pipe
        for step in (bar := tqdm(range(steps), desc="training", unit="step", disable=None)):
            ix = torch.randint(0, Xtr.shape[0], (BATCH,), generator=g)
            grads = training.student_grads(session, p, Xtr[ix], Ytr[ix])
            if isinstance(grads, Outcome):
                raise DemoError(f"step {step + 1}: {grads.message}")
            if step < check_steps:
                tqdm.write(_compare(p, Xtr[ix], Ytr[ix], grads, step))
            lr = LR if step < 0.75 * steps else LR_LATE
            p = {k: v - lr * grads[k] for k, v in p.items()}
            losses.append(float(training.loss_of(p, Xtr[ix], Ytr[ix])))
            if step % 50 == 0:
                bar.set_postfix(loss=f"{losses[-1]:.4f}")
    finally:
        session.close()
        zygote.close()
    with torch.no_grad():
        val = float(training.loss_of(p, Xval, Yval))
    print(f"val loss {val:.4f} (batch statistics over the whole validation set)")
    return {"val_loss": val, "losses": losses}


def _compare(p: dict, Xb, Yb, grads: dict, step: int) -> str:
    ref = {k: v.double().requires_grad_() for k, v in p.items()}
    truth = torch.autograd.grad(training.loss_of(ref, Xb, Yb), list(ref.values()))
    worst = max(
        ((grads[k].double() - t).abs().max() / t.abs().max().clamp_min(1e-30)).item()
        for k, t in zip(ref, truth, strict=True)
    )
    verdict = "ok" if worst <= 1e-4 else "NOT OK"
    return (
        f"step {step + 1}: your gradients differ from autograd's by {worst:.1e} at most: {verdict}"
    )
