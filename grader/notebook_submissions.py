"""Notebooks in a submission: which one is graded, and whether it or the .py files are.

Called once where a submission's files are collected (grader/submissions.py), for every front
door (`grader grade`, `grader check`, Gradescope). The rules, each reported in a note:
- A notebook is any `*.ipynb` at most three folders deep, under any name (`Copy of
  <assignment>.ipynb` is what Colab downloads), in the upload's listed tree (uploads.py: links,
  FIFOs and `.ipynb_checkpoints` are never in it).
- Two notebooks: the one with the most implemented gradient functions is graded (ties: the
  shallower, then the first by name); the note names both.
- A notebook and exercise .py files: the .py files are graded, unless they hold no work (every
  function still an untouched stub raising NotImplementedError, or no function at all), as when
  a student zips the whole bundle folder after working in the notebook; then the notebook is.
  When the .py files are graded and the notebook holds work for an exercise whose .py file
  holds none (an untouched stub, or no file), a `notebook` review flag puts the submission on
  the TA's "needs a look" list: that work was not graded.
"""

from __future__ import annotations

from pathlib import Path

from .assignment import having
from .choosing import find_notebooks, relative
from .notebook import (
    MAX_CODE_BYTES,
    MAX_COMMAND_LINES,
    SUFFIX,
    Allowance,
    NotebookError,
    NotebookRead,
    graded_instead_note,
    graded_notebook_note,
    is_untouched_stub,
    preference,
    py_files_graded_note,
    several_notebooks_note,
    tied_notebooks,
    work_left_in,
)
from .notebook_file import MAX_NOTEBOOK_BYTES, JsonParts, read_notebook, too_large
from .notebook_json import unreadable
from .uploads import Budget, Entry, UploadError, UploadLimits, read_capped, scan_folder


def is_notebook_submission(
    base, root: Entry, students: list[Entry], files: tuple[str, ...], listed: bool
) -> bool:
    """Whether a folder holding a notebook itself is one submission, not a class of them.

    It is, unless two or more of `students` (the entries a folder of submissions would read as
    one student's each: submissions.student_entries) are a submission of their own: a zip, or a
    folder holding a notebook or an exercise file. A notebook beside the students' folders or
    zips (the TA's copy, or a student's collected by hand) must not turn the class into one
    student; a student's backup folder, or the bundle's zip beside their notebook, must not turn
    the student into a class. (Several notebooks at the top are settled before this, by the
    door: submissions.find, by its `notebooks_are_students`.)
    `listed`: the root's tree is listed whole (a zip); otherwise only its first level is, and
    each folder is looked into one level, nothing followed.
    """
    if not any(e.kind == "file" and e.name.casefold().endswith(SUFFIX) for e in root.children):
        return False
    return len(uploads_among(base, students, files, listed)) < 2


def uploads_among(
    base: Path | None, students: list[Entry], files: tuple[str, ...], listed: bool
) -> list[Entry]:
    """Those of `students` (submissions.student_entries) that are a submission of their own: a
    zip, or a folder holding a notebook or an exercise file. `listed`: as for
    is_notebook_submission."""
    wanted = {f + ".py" for f in files}

    def has_work(d: Entry) -> bool:
        if listed:
            children = d.children
        else:
            small = Budget(UploadLimits(entries=500, depth=1))
            children = scan_folder(base, (d.name,), small).children
        return any(
            c.kind == "file" and (c.name.casefold() in wanted or c.name.casefold().endswith(SUFFIX))
            for c in children
        )

    def is_upload(e: Entry) -> bool:
        if e.kind == "dir":
            return has_work(e)
        # A zip counts unopened: a class's uploads are folders or zips, and opening each here
        # would read every upload twice. A link or FIFO is never read: it is no one's work.
        return e.kind == "file"

    return [e for e in students if is_upload(e)]


def functions_of(files: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """The functions each file's grader calls, from the assignment that has these files."""
    assignment = having(files)
    known = dict(assignment.functions)
    return {f: known.get(f, ()) for f in files}


def use_notebook(
    top: Entry,
    files: tuple[str, ...],
    contents: dict[str, bytes | None],
    notes: list[str],
    budget: Budget,
    review: list[dict] | None = None,
) -> dict:
    """Fill `contents` from a notebook of the upload when one should be graded; its record.

    `contents` holds the .py files found (or None); it is changed in place, and `notes` gets a
    line saying what was graded and why. The record (empty when no notebook is involved) goes
    to result.json's `notebook`. `review` gets a flag for the TA when the .py files are graded
    and the notebook holds work for an exercise whose .py file holds none.
    """
    entries = find_notebooks(top)
    if not entries:
        return {}
    functions = functions_of(files)
    reads: list[tuple[Entry, NotebookRead]] = []
    allowance = Allowance(MAX_CODE_BYTES, MAX_COMMAND_LINES)  # for all of them together
    parts = JsonParts()  # so are the JSON parts parsed
    for e in entries:
        try:
            if e.size > MAX_NOTEBOOK_BYTES:
                # Said before reading: the read would stop at the upload's own byte limit, whose
                # note told a notebook's student to "upload only your exercise files".
                raise too_large(relative(top, e))
            data = read_capped(e, MAX_NOTEBOOK_BYTES, budget)
            reads.append((e, read_notebook(data, relative(top, e), functions, allowance, parts)))
        except NotebookError as err:
            notes.append(str(err))
        except UploadError as err:
            notes.append(unreadable(relative(top, e), err))
    # Each notebook is named by where it sits in the upload (`final/hw.ipynb`): Gradescope keeps
    # an upload's folders, and a student who uploaded an old copy and a finished one in a folder
    # was told "graded hw.ipynb ...; not graded: hw.ipynb", with no way to know which counted.
    places = [relative(top, e) for e in entries]
    if not reads:
        return {"graded": None, "notebooks": places}
    entry, chosen = max(reads, key=lambda r: _preference(r, top))
    where = relative(top, entry)
    rivals = tied_notebooks([(relative(top, e), read) for e, read in reads], where)
    present = {f: b for f, b in contents.items() if b is not None}
    py_graded = bool(present) and not all(is_untouched_stub(b) for b in present.values())
    if rivals and review is not None:
        review.append(_rival_flag(where, rivals, chosen.implemented, py_graded))
    if py_graded:
        unread = work_left_in(chosen, files, present)
        # Said of a notebook holding work only: the bundle's untouched notebook, zipped with
        # the folder, was told "Submit only the one you want graded" of nothing to choose.
        if chosen.implemented or unread:
            notes.append(py_files_graded_note(present, where, unread))
        if unread and review is not None:
            review.append(_unread_flag(where, unread))
        return {"graded": None, "notebooks": places, "reason": "py files"}
    if len(entries) > 1:
        # Said only where a notebook is graded: beside .py files holding work it said "graded
        # hw.ipynb" above "graded your .py files ..., not the notebook hw.ipynb".
        notes.append(several_notebooks_note(places, where, chosen, rivals))
    if present:
        notes.append(graded_instead_note(where, present))
    for f in files:
        text = chosen.sources.get(f)
        contents[f] = text.encode("utf-8") if text is not None else None
    notes.extend(chosen.notes)
    notes.append(graded_notebook_note(where, chosen, files))
    return {"graded": where, **chosen.to_json()}


def _rival_flag(name: str, rivals: list[str], implemented: int, py_graded: bool) -> dict:
    """The TA's flag where notebook `name` was chosen over `rivals` by its name alone. Beside
    .py files holding work (`py_graded`) none is graded: it said "graded the notebook" there
    all the same, of a notebook the student's note said was not graded."""
    tied = (
        f"{', '.join(rivals)} {'implements' if len(rivals) == 1 else 'implement'} as many "
        f"gradient functions ({implemented}) with other code"
    )
    if py_graded:
        return {
            "flag": "notebook",
            "reason": f"graded the .py files, not the notebooks; the notes name {name}, chosen "
            f"by its name alone: {tied}; if a notebook is the student's answer, grade it on its "
            "own (grader grade NOTEBOOK --one) and take the better score",
        }
    return {
        "flag": "notebook",
        "reason": f"graded the notebook {name}, chosen by its name alone: {tied}; if that is "
        "the student's answer, grade it on its own (grader grade NOTEBOOK --one) and keep the "
        "one meant",
    }


def _unread_flag(name: str, exercises: list[str]) -> dict:
    which = ", ".join(exercises)
    return {
        "flag": "notebook",
        "reason": f"the .py files were graded, not the notebook {name}, which holds work for "
        f"{which} where the .py files hold none; if it is the student's answer there, grade "
        "the notebook on its own (grader grade NOTEBOOK --one) and take the better score",
    }


def _preference(entry: tuple[Entry, NotebookRead], top: Entry) -> tuple:
    e, read = entry
    return preference(read, e.depth - top.depth, e.name)
