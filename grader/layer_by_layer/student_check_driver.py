"""The public self-check that the student bundle's check.py runs: the grader's judgement, locally.

It calls each function of the student's layers.py (or of the notebook the grader grades) on the
public cases (spec.PUBLIC: nothing hidden) and judges every returned gradient with the grader's
own judging.judge_module and grading.make_item. What is checked (a folder, a zip, a notebook),
the notes and the table are the core's (public_check). Not here: the known mistakes' hints (they
stay in the grader) and the WaveNet training item (the grader's alone).

Usage: python check.py [FOLDER | ZIP | NOTEBOOK]   (default: the folder check.py lives in)
"""

from __future__ import annotations

from pathlib import Path

from ..grading import make_item
from ..local_check import LocalSession
from ..public_check import PublicCheck
from ..public_check import check as check_public
from .cases import cases
from .judging import judge_module
from .spec import FILE, FUNCTIONS, ITEMS


def judge(session: LocalSession) -> dict:
    """Every item's public cases called in `session` and judged."""
    public, items = cases(public_only=True), []
    for item in ITEMS:
        its = public[item.name]
        inputs = [c.inputs for c in its]
        # Each item its own scope, as in the grader's suite (Session.timed_out).
        outcomes = session.call_each(FILE, item.function, inputs, item.allowed, scope=item.name)
        judged = [judge_module(item, c, o) for c, o in zip(its, outcomes, strict=True)]
        items.append(make_item(f"{FILE}.{item.name}", judged).to_json())
    return {"items": items}


CHECK = PublicCheck(
    name="layer-by-layer",
    functions={FILE: tuple(FUNCTIONS)},
    judge=judge,
    bundle_folder=Path(__file__).resolve().parent.parent,  # the bundle's own (the stub)
    closing="(the WaveNet training item is judged by the grader only)",
)
FILES, EXPECTED = CHECK.files, CHECK.expected


def check(folder: str | Path) -> dict:
    """The public cases judged as the grader judges them: a result like result.json's."""
    return check_public(CHECK, folder)
