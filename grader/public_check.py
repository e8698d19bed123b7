"""The student bundle's check.py for every assignment: what is checked, the notes, the table.

An assignment's student_check_driver declares a `PublicCheck` (its files, each file's functions in
its order, how its public cases are judged in a LocalSession, a closing line) and hands it to `main`
here. This module does the rest, the same way for every assignment, as the grader reads an upload: a
folder, a zip given as it is, or a notebook given itself; a notebook beside exercise files that hold
no work (untouched stubs, or none) is checked in their place, as the grader grades it; the grader's
notes on the notebook it read (what it left out, what it mended, the one it refuses, the one left
ungraded beside files with work); the table (student_text.render), the assignment's closing line,
exit code 0 (1 for a path it cannot check, 2 for several). Each assignment wrote this itself, and
they differed: Backprop Ninja's check sent a student whose work was in a notebook to the notebook's
check cells and checked nothing, given the notebook or its folder. It ships to students
(grader/bundle.py's CHECK_CORE): torch and the standard library only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .local_check import LocalSession, checked_folder, work_folder
from .notebook import NotebookError, NotebookRead, graded_instead_note, graded_notebook_note
from .notebook_instead import notebook_graded_instead, notebook_notes, read_notebook_path
from .student_text import NOTHING_CHECKED, one_path_only, render, terminal_text

# A notebook's file name ends so (any case), as the grader finds them.
NOTEBOOK_SUFFIX = ".ipynb"


@dataclass(frozen=True)
class PublicCheck:
    """What an assignment's public check is: the rest is this module's.

    `judge(session)` calls and judges every public case in the session and returns the result's
    own parts: {"items": [item.to_json(), ...]} (and "chain" where the assignment has one);
    `closing`, a line printed under the table (what the grader alone judges);
    `notebook_closing`, one printed under it when a notebook was checked."""

    name: str  # the assignment's, which names the check's working folder
    functions: dict[str, tuple[str, ...]]  # each file's functions, in the assignment's order
    judge: Callable[[LocalSession], dict]
    bundle_folder: Path  # the bundle's own folder, which student code may not import from
    closing: str = ""
    notebook_closing: str = ""
    files: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "files", tuple(self.functions))

    @property
    def expected(self) -> dict[str, frozenset[str]]:
        """The functions the grader calls in each file ("did you mean" leaves them out)."""
        return {f: frozenset(names) for f, names in self.functions.items()}

    @property
    def holds(self) -> str:
        """What a folder to check holds, in a message naming it."""
        names = [f"{f}.py" for f in self.files]
        return names[0] if len(names) == 1 else "exercise files (" + ", ".join(names) + ")"


def is_notebook(path: Path) -> bool:
    return path.is_file() and path.suffix.casefold() == NOTEBOOK_SUFFIX


def check(assignment: PublicCheck, path: str | Path) -> dict:
    """The public cases judged as the grader judges them, a result like result.json's, of
    `path`: a folder or zip as the grader reads that upload (the notebook it grades instead of
    untouched stubs included), or a notebook given itself."""
    path = Path(path)
    with work_folder(f"{assignment.name}-check-") as workdir:
        if is_notebook(path):
            try:
                read, refused = read_notebook_path(path, assignment.files, assignment.functions), ""
            except NotebookError as e:  # the grader's words for it (a number too long to read)
                read, refused = None, str(e)
            if read is None:
                refused = refused or f"{path.name} could not be read as a notebook"
            return _notebook_checked(assignment, read, path.name, path.parent, workdir, [refused])
        graded = notebook_graded_instead(path, assignment.files, assignment.functions)
        if graded is not None:
            # As the grader notes it: its other notebooks, then the .py files beside it, if any
            # (the check said "only untouched stubs ()" beside none).
            notes = [*graded.notes]
            if graded.present:
                notes.append(graded_instead_note(graded.name, graded.present))
            home = path if path.is_dir() else path.parent
            return _notebook_checked(assignment, graded.read, graded.name, home, workdir, notes)
        # The grader's notes on the notebooks beside the files (one it refuses, one left
        # ungraded), where the grader says them among the upload's notes.
        beside = notebook_notes(path, assignment.files, assignment.functions)
        files, expected, away = assignment.files, assignment.expected, (assignment.bundle_folder,)
        session = LocalSession(path, workdir, files, expected, away, beside=beside)
        return _result(assignment, session)


def _result(assignment: PublicCheck, session: LocalSession) -> dict:
    result = assignment.judge(session)
    return {**result, "output": session.output(), "student": {"notes": list(session.notes)}}


def _notebook_checked(
    assignment: PublicCheck,
    read: NotebookRead | None,
    name: str,
    home: Path,
    workdir: Path,
    said: list[str],
) -> dict:
    """The functions the grader reads from a notebook (imports, definitions and constants:
    notebook.read_cells), judged as the files they stand for, with the grader's notes on it
    (`said` first: why this notebook, or why it cannot be read). `home`: where it lies, which
    student code may not import from, as in the grader."""
    read_as = workdir / "notebook"
    read_as.mkdir()
    for file in assignment.files:
        source = read.sources.get(file) if read is not None else None
        if source is not None:
            (read_as / f"{file}.py").write_text(source, encoding="utf-8")
    run = workdir / "run"
    run.mkdir()
    away = (assignment.bundle_folder, home)
    files, expected = assignment.files, assignment.expected
    session = LocalSession(read_as, run, files, expected, away, notebook=name)
    result = _result(assignment, session)
    notes = [n for n in said if n]
    if read is not None:
        notes += [*read.notes, graded_notebook_note(name, read, assignment.files)]
    result["student"]["notes"][:0] = notes
    # What printed is named as the grader names it, and what it left out of the notebook said.
    cells = read.to_json()["cells"] if read is not None else []
    result["notebook"] = {"graded": name, "cells": cells}
    return result


def main(assignment: PublicCheck, given: str | Path | None = None) -> int:
    """check.py: check GIVEN (a folder, a zip or a notebook; default: the bundle's folder) and
    print the table. Reads no command line: a Jupyter kernel's arguments are not a folder."""
    where = checked_folder(given, assignment.bundle_folder, assignment.holds)
    if where is None:  # said why: exit 1, as `grader check` does (a script may test it)
        return 1
    path = where
    result = check(assignment, path)
    print(render(result, where=str(path)))
    if assignment.closing:
        print(terminal_text(assignment.closing))
    if assignment.notebook_closing and result.get("notebook"):
        print(terminal_text(assignment.notebook_closing))
    return 0


def command_line(words: list[str], run: Callable[[str | None], int]) -> int:
    """check.py run from a shell: `run` (its main) on the one path given, or on none. Several
    words are refused, naming their usual cause, as `grader check` refuses them: `python
    check.py Copy of hw.ipynb` checked `Copy` alone, or said there was no such file, with
    the rest of the name dropped unsaid. Exit code 2, a shell's for a command misused."""
    if len(words) > 1:
        print(terminal_text(one_path_only(words) + NOTHING_CHECKED))
        return 2
    return run(words[0] if words else None)
