"""The public self-check that the student bundle's check.py runs: the grader's judgement, locally.

It judges a student's files on the public cases with the grader's own code (judging.py, the
judge, the hints, the item messages) and prints the table `grader check` prints (student_text),
so both say the same words and the same numbers for the same code. Only the way functions are
called differs: in-process, under the grader's conditions (local_check.LocalSession). It needs
torch and nothing else, and it always exits 0: it reports, it does not grade.

Usage: python check.py [FOLDER]   (default: the folder check.py lives in)
"""

from __future__ import annotations

from pathlib import Path

from ..local_check import LocalSession, checked_folder, work_folder
from ..notebook_instead import notebook_graded_instead, notebook_notes
from ..records import ItemResult
from ..student_text import render
from . import judging, spec
from .cases import cases

FILES = ("exercise1", "exercise2", "exercise3")
# Every item, in the grader's order (the same list as the assignment's item ids).
ITEM_IDS = (
    *(f"exercise1.{g}" for g in spec.EXERCISE1),
    *(f"exercise2.{g}" for g in spec.EXERCISE2),
    *(f"exercise3.{g}" for g in spec.EXERCISE3_GRADS),
    "exercise3.training",
)
# The functions the grader calls in each file (the ASSIGNMENT's `functions`, which the grader's
# session is given too): answers to other questions, never typos, in "did you mean".
EXPECTED = {
    "exercise1": frozenset(spec.EXERCISE1),
    "exercise2": frozenset(spec.EXERCISE2),
    "exercise3": frozenset({"backward"}),
}
# The bundle's own folder (the stubs), which student code may not import from.
BUNDLE_FOLDER = Path(__file__).resolve().parent.parent


def check(folder: Path) -> dict:
    """The public cases judged as the grader judges them: a result like result.json's."""
    public = cases(public_only=True)
    with work_folder("backprop-ninja-check-") as workdir:
        session = LocalSession(folder, workdir, FILES, EXPECTED, (BUNDLE_FOLDER,))
        items: list[ItemResult] = [judging.isolated(g, session, public) for g in spec.EXERCISE1]
        chain = judging.chain(session, public[0])
        items += [judging.fused(g, session, public) for g in spec.EXERCISE2]
        gradients = judging.parameter_gradients(session, public)
        items += [*gradients, judging.training(session, gradients)]
        output = session.output()
    return {
        "items": [i.to_json() for i in items],
        "chain": chain,
        "output": output,
        "student": {"notes": session.notes},
    }


def main(folder: str | Path | None = None) -> int:
    """Check FOLDER (default: the folder this file is in). Reads no command line: a Jupyter
    kernel's arguments are not a folder; `python check.py FOLDER` passes it in explicitly."""
    where = checked_folder(folder, BUNDLE_FOLDER, "exercise files")
    if where is None:
        return 0
    # A student who worked in the bundle's notebook and ran check.py in its folder got a table
    # of `todo` for the untouched stubs, where the grader, given that folder, grades the
    # notebook: 36 of 36. That notebook is checked by its own check cells.
    notebook = notebook_graded_instead(where, FILES, EXPECTED)
    if notebook is not None:
        print(
            f"{where} holds no work in its exercise files (untouched stubs, or none), and "
            f"{notebook.name} beside them does: the grader grades the notebook then, not these "
            "files, so a table of them would not be its verdict. A notebook is checked by its "
            "own check cells: open it in Jupyter or Colab and run all its cells"
        )
        return 0
    result = check(where)
    # Work in the notebook beside exercise files with work in them is not graded, and a
    # notebook the grader cannot read is skipped: the grader says so, and so does the check,
    # which judged the files and said nothing of either.
    result["student"]["notes"] += notebook_notes(where, FILES, EXPECTED)
    print(render(result, where=str(where)))
    return 0
