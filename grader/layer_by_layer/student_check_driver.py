"""The public self-check that the student bundle's check.py runs: the grader's judgement, locally.

It calls each function of the student's layers.py on the public cases (spec.PUBLIC: nothing
hidden) in-process, under the grader's conditions (local_check.LocalSession: from memory in an
empty folder, the grader's limits, its static scan, autograd caught), judges every returned
gradient with the grader's own judging.judge_module and grading.make_item, and prints the table
`grader check` prints (student_text.render). So each public case's verdict and message are the
grader's. Not here: the known mistakes' hints (they stay in the grader) and the WaveNet training
item (the grader's alone). It needs only torch, and always exits 0: it reports, it does not
grade.

Usage: python check.py [FOLDER]   (default: the folder check.py lives in)
"""

from __future__ import annotations

from pathlib import Path

from ..grading import make_item
from ..local_check import LocalSession, checked_folder, work_folder
from ..student_text import render
from .cases import cases
from .judging import judge_module
from .spec import FILE, FUNCTIONS, ITEMS

FILES = (FILE,)
EXPECTED = {FILE: frozenset(FUNCTIONS)}
# The bundle's own folder (the stub), which student code may not import from.
BUNDLE_FOLDER = Path(__file__).resolve().parent.parent


def check(folder: Path) -> dict:
    """The public cases judged as the grader judges them: a result like result.json's."""
    public = cases(public_only=True)
    with work_folder("layer-by-layer-check-") as workdir:
        session = LocalSession(Path(folder), workdir, FILES, EXPECTED, (BUNDLE_FOLDER,))
        items = []
        for item in ITEMS:
            its = public[item.name]
            inputs = [c.inputs for c in its]
            # Each item its own scope, as in the grader's suite (Session.timed_out).
            outcomes = session.call_each(FILE, item.function, inputs, item.allowed, scope=item.name)
            judged = [judge_module(item, c, o) for c, o in zip(its, outcomes, strict=True)]
            items.append(make_item(f"{FILE}.{item.name}", judged))
        output = session.output()
    return {
        "items": [i.to_json() for i in items],
        "output": output,
        "student": {"notes": session.notes},
    }


def main(folder: str | Path | None = None) -> int:
    """Check FOLDER (default: the folder check.py is in)."""
    where = checked_folder(folder, BUNDLE_FOLDER, f"{FILE}.py")
    if where is not None:
        print(render(check(where), where=str(where)))
        print("(the WaveNet training item is judged by the grader only)")
    return 0
