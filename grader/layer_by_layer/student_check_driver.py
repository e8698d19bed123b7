"""The public self-check that the student bundle's check.py runs: the grader's judgement, locally.

It calls each function of the student's layers.py on the public cases (spec.PUBLIC: nothing
hidden) in-process, under the grader's conditions (local_check.LocalSession: from memory in an
empty folder, the grader's limits, its static scan, autograd caught), judges every returned
gradient with the grader's own judging.judge_module and grading.make_item, and prints the table
`grader check` prints (student_text.render). So each public case's verdict and message are the
grader's. Not here: the known mistakes' hints (they stay in the grader) and the WaveNet training
item (the grader's alone). A notebook is checked as the grader reads it: given instead of a
folder, or found in a folder whose layers.py holds no work (the grader grades it then). It needs
only torch, and always exits 0: it reports, it does not grade.

Usage: python check.py [FOLDER | NOTEBOOK]   (default: the folder check.py lives in)
"""

from __future__ import annotations

from pathlib import Path

from ..grading import make_item
from ..local_check import LocalSession, checked_folder, work_folder
from ..notebook import NotebookError
from ..notebook_instead import notebook_graded_instead, notebook_notes, read_notebook_path
from ..student_text import render
from .cases import cases
from .judging import judge_module
from .spec import FILE, FUNCTIONS, ITEMS

FILES = (FILE,)
EXPECTED = {FILE: frozenset(FUNCTIONS)}
# The same in the assignment's order, in which the grader's notes on a notebook name them.
IN_ORDER = {FILE: FUNCTIONS}
# The bundle's own folder (the stub), which student code may not import from.
BUNDLE_FOLDER = Path(__file__).resolve().parent.parent


def check(folder: Path) -> dict:
    """The public cases judged as the grader judges them: a result like result.json's.
    `folder` may be a notebook: its functions are judged as the grader reads them."""
    folder, public = Path(folder), cases(public_only=True)
    with work_folder("layer-by-layer-check-") as workdir:
        if folder.suffix.casefold() == ".ipynb":
            return _check_notebook(folder, workdir, public)
        session = LocalSession(folder, workdir, FILES, EXPECTED, (BUNDLE_FOLDER,))
        return _judged(session, public)


def _judged(session: LocalSession, public: dict) -> dict:
    """Every item's public cases called in `session` and judged."""
    items = []
    for item in ITEMS:
        its = public[item.name]
        inputs = [c.inputs for c in its]
        # Each item its own scope, as in the grader's suite (Session.timed_out).
        outcomes = session.call_each(FILE, item.function, inputs, item.allowed, scope=item.name)
        judged = [judge_module(item, c, o) for c, o in zip(its, outcomes, strict=True)]
        items.append(make_item(f"{FILE}.{item.name}", judged))
    return {
        "items": [i.to_json() for i in items],
        "output": session.output(),
        "student": {"notes": session.notes},
    }


def _check_notebook(notebook: Path, workdir: Path, public: dict) -> dict:
    """The functions the grader reads from a notebook (imports, definitions and constants:
    notebook.read_cells), judged as layers.py; the grader grades a notebook so when it is the
    upload, or beside a layers.py that holds no work. This check tabled the untouched stub
    beside it instead, `todo` on every row, where the grader gave the notebook 100 of 100."""
    try:
        read, refused = read_notebook_path(notebook, FILES, IN_ORDER), ""
    except NotebookError as e:  # the grader's words for it (a number too long to read)
        read, refused = None, str(e)
    source = read.sources.get(FILE) if read is not None else None
    read_as = workdir / "notebook"
    read_as.mkdir()
    if source is not None:
        (read_as / f"{FILE}.py").write_text(source, encoding="utf-8")
    run = workdir / "run"
    run.mkdir()
    session = LocalSession(read_as, run, FILES, EXPECTED, (BUNDLE_FOLDER, notebook.parent))
    result = _judged(session, public)
    if read is None:
        said = [refused or f"{notebook.name} could not be read as a notebook (no JSON with cells)"]
    else:
        said = [f"checked the functions the grader reads from {notebook.name}", *read.notes]
    result["student"]["notes"][:0] = said
    # What printed is named as the grader names it, and what it left out of the notebook said.
    cells = read.to_json()["cells"] if read is not None else []
    result["notebook"] = {"graded": notebook.name, "cells": cells}
    return result


def main(folder: str | Path | None = None) -> int:
    """Check FOLDER (default: the folder check.py is in), or a notebook given instead: the
    notebook the grader grades, with no layers.py beside it holding work, is the one checked."""
    given = Path(folder) if folder is not None else None
    if given is not None and given.is_file() and given.suffix.casefold() == ".ipynb":
        print(render(check(given), where=str(given)))
    else:
        where = checked_folder(folder, BUNDLE_FOLDER, f"{FILE}.py")
        if where is None:
            return 0
        # A zip's notebook is not checked here (it is read from the zip, never a file of its
        # own): its stub's table is printed, as before.
        graded = notebook_graded_instead(where, FILES, IN_ORDER) if where.is_dir() else None
        if graded is None:
            result = check(where)
            # The grader's notes on its notebooks: one left out, one it cannot read.
            result["student"]["notes"] += notebook_notes(where, FILES, IN_ORDER)
            print(render(result, where=str(where)))
        else:
            print(
                f"Note: {FILE}.py holds no work yet (an untouched stub, or none), so the grader "
                f"grades the notebook {graded.name} beside it: checked here in its place"
            )
            print(render(check(where / graded.name), where=str(where / graded.name)))
    print("(the WaveNet training item is judged by the grader only)")
    return 0
