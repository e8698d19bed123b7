"""The public self-check that the student bundle's check.py runs: the grader's judgement, locally.

It judges a student's files, or the notebook the grader grades, on the public cases with the
grader's own code (judging.py, the judge, the item messages) and prints the table `grader check`
prints: the same words and numbers for the same code. What is checked (a folder, a zip, a
notebook), the notes and the table are the core's (public_check); this module says what the
assignment's files are and how its public cases are judged.

Usage: python check.py [FOLDER | ZIP | NOTEBOOK]   (default: the folder check.py lives in)
"""

from __future__ import annotations

from pathlib import Path

from ..local_check import LocalSession
from ..public_check import PublicCheck
from ..public_check import check as check_public
from . import judging, spec
from .cases import cases

# Every item, in the grader's order (the same list as the assignment's item ids).
ITEM_IDS = (
    *(f"exercise1.{g}" for g in spec.EXERCISE1),
    *(f"exercise2.{g}" for g in spec.EXERCISE2),
    *(f"exercise3.{g}" for g in spec.EXERCISE3_GRADS),
    "exercise3.training",
)
# The bundle's own folder (the stubs), which student code may not import from.
BUNDLE_FOLDER = Path(__file__).resolve().parent.parent


def judge(session: LocalSession) -> dict:
    """Every public case called in `session` and judged, as the grader's suites judge them."""
    public = cases(public_only=True)
    items = [judging.isolated(g, session, public) for g in spec.EXERCISE1]
    chain = judging.chain(session, public[0])
    items += [judging.fused(g, session, public) for g in spec.EXERCISE2]
    gradients = judging.parameter_gradients(session, public)
    items += [*gradients, judging.training(session, gradients)]
    return {"items": [i.to_json() for i in items], "chain": chain}


CHECK = PublicCheck(
    name="backprop-ninja",
    # The functions the grader calls in each file (the ASSIGNMENT's `functions`), in its order.
    functions={
        "exercise1": tuple(spec.EXERCISE1),
        "exercise2": tuple(spec.EXERCISE2),
        "exercise3": ("backward",),
    },
    judge=judge,
    bundle_folder=BUNDLE_FOLDER,
    notebook_closing=(
        "(the notebook's own check cells check each exercise as you work: run them in Jupyter "
        "or Colab)"
    ),
)
FILES, EXPECTED = CHECK.files, CHECK.expected


def check(folder: str | Path) -> dict:
    """The public cases judged as the grader judges them: a result like result.json's."""
    return check_public(CHECK, folder)
