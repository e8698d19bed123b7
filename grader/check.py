"""`grader check`: a student's own files on the public cases, printed like the lecture's `cmp`.

It is the same pipeline as `grader grade` with the hidden cases left out, so what it says about
the public cases is exactly what the grader will say; it never shows a hidden case. The table is
student_text.render, which the student bundle's check.py prints too.
"""

from __future__ import annotations

from pathlib import Path

import click

from .assignment import command_flag
from .pipeline import Grader
from .student_text import path_problem, render, terminal_text
from .submissions import FOLDER, SubmissionError, find


def run_check(folder: Path) -> int:
    folder = _folder_of(folder)
    grader = Grader(public_only=True, keep_out=(folder,))
    try:
        result = grader.grade(_upload(folder, grader.assignment.files)).to_json()
    except SubmissionError as e:
        raise click.ClickException(str(e)) from None
    finally:
        grader.close()
    click.echo(render(_with_files_left_out(result), where=str(folder)))
    items = result.get("items") or []
    if any((i.get("extra") or {}).get("grader_error") for i in items):
        # The table says "your TA has the details": here they are, for whoever runs it (the
        # report's package is imported only then: `grader check` stays quick).
        from .report.summary import first_grader_error

        click.echo(  # its last line may quote what student code returned or raised
            "\nThe grader could not judge some items (its suites, not these files): "
            + terminal_text(first_grader_error(items))
        )
    return 0


def _with_files_left_out(result: dict) -> dict:
    """The result with a note for each exercise file the upload held but the grader left out
    (two different `exercise1 (1).py` and `exercise1 (2).py`), saying why, as the report and
    Gradescope's summary do; the table alone said only "was not submitted"."""
    left = [  # a state other than these says why the file was left out (summary.attention)
        f"{name}.py: {state}"
        for name, state in (result.get("files") or {}).items()
        if state not in ("submitted", "missing")
    ]
    if not left:
        return result
    student = dict(result.get("student") or {})
    student["notes"] = [*(student.get("notes") or []), *left]
    return {**result, "student": student}


def _upload(folder: Path, files: tuple[str, ...]):
    """The one upload a student checks. A folder of submission folders is a mistake worth
    saying; a `submission_metadata.yml` or LMS-like file names in the student's own folder
    (a downloaded export kept beside the work) are not: it is read as one upload, as
    `grader grade --one` reads it."""
    try:
        found = find(folder, files, notebooks_are_students=False)
    except SubmissionError:
        # No exercise file yet (`exercise3.py.txt`): the table of missing rows, with a note on
        # what the folder held, as check.py prints it; not an error about classes and exports.
        found = find(folder, files, notebooks_are_students=False, one=True)
    if found.read_as == FOLDER and len(found.subs) > 1:
        raise SubmissionError(
            f"{folder} holds several submissions' folders or zips; give the one folder that "
            f"holds your {_listed([f'{f}.py' for f in files])}"  # the assignment's, not Ninja's
        )
    # One zip alone in the folder (the student's own upload, zipped) is read as a class of one:
    # it was refused as "several submissions' folders". It is one upload, as `--one` reads it.
    if found.is_batch or found.read_as == FOLDER:
        found = find(folder, files, notebooks_are_students=False, one=True)
    return found.subs[0]


def _listed(names: list[str]) -> str:
    """`a.py`, `a.py and b.py`, `a.py, b.py and c.py`."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _folder_of(path: Path) -> Path:
    """The folder to check: a path to one exercise file means the folder it is in. A zip or a
    notebook is checked as it is (README: `grader check "Copy of <notebook>.ipynb"`): the
    notebook's folder may hold .py files or other notebooks, which would be checked instead.
    A path that cannot be checked is refused in check.py's words (student_text.path_problem):
    one under a folder it may not enter ended in a PermissionError's traceback."""
    give = (
        "give the folder that holds your exercise files (`grader check"
        f"{command_flag()} .` in that folder), the zip you will upload or your notebook"
    )
    problem = path_problem(path, give)
    if not problem and path.is_file() and path.suffix.casefold() == ".py":
        path = path.parent
        problem = path_problem(path, give)
    if problem:
        raise click.ClickException(problem)
    return path
