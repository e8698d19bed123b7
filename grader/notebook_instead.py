"""The notebook the grader grades instead of a folder's .py files, found as a bundle's check runs.

The grader grades a notebook of an upload when every exercise file found in it holds no work
(untouched stubs, or none) and it can read the notebook, whether or not it holds work
(notebook_submissions.use_notebook). A student's check of such a folder judged the stubs beside
it and printed `todo` on every row where the grader, given that folder, graded the notebook. This
module finds that notebook the same way for every assignment's check (public_check judges it).
The other way round, .py files holding work are graded and a notebook beside them is not, work
and all: each check adds the grader's note on it, and its words on each notebook it refuses
(notebook_notes).
It ships in every student bundle (grader/bundle.py's CHECK_CORE): standard library only, beside
the other shipped modules.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from .local_check import UploadRead, read_upload
from .notebook import (
    NotebookError,
    NotebookRead,
    is_untouched_stub,
    preference,
    py_files_graded_note,
    several_notebooks_note,
    tied_notebooks,
    work_left_in,
)
from .notebook_json import (
    MAX_NOTEBOOK_BYTES,
    JsonParts,
    cells_as_version_4,
    cells_read,
    no_cells,
    notebook_text,
    parse_notebook_json,
    prepared,
    too_large,
)

# A notebook larger than the grader reads is not read, and the grader's words say so.
NOTEBOOK_BYTES = MAX_NOTEBOOK_BYTES


@dataclass(frozen=True)
class GradedNotebook:
    """A notebook the grader grades instead of the folder's .py files, and what it reads in it."""

    name: str  # its path under the folder, as the student sees it
    read: NotebookRead
    present: tuple[str, ...] = ()  # the exercise files beside it, untouched stubs all
    # The grader's notes on the upload's other notebooks: each it refuses, and which it graded
    # of several (notebook.several_notebooks_note), which the check did not say.
    notes: tuple[str, ...] = ()


def notebook_graded_instead(
    folder: Path, files: tuple[str, ...], expected: dict[str, Collection[str]]
) -> GradedNotebook | None:
    """The notebook the grader would grade instead of `folder`'s exercise files (or a zip's):
    when every exercise file found holds no work and the upload holds a notebook it reads,
    with work or not (the bundle's untouched folder: the check judged its stubs, the grader its
    notebook); of several, the one the grader prefers (notebook.preference). A zip's
    notebook was never looked for: `check.py hw.zip` tabled its untouched stubs, 0 of 36,
    where `grader check hw.zip` graded the notebook, 36 of 36."""
    upload = read_upload(folder, files, NOTEBOOK_BYTES)
    if not all(is_untouched_stub(data) for data in upload.sources.values()):
        return None
    best, refused, reads = _best_notebook(upload, files, expected)
    if best is None:
        return None
    notes = [*refused]
    if len(upload.places) > 1:
        rivals = tied_notebooks(reads, best.name)
        notes.append(several_notebooks_note(upload.places, best.name, best.read, rivals))
    return GradedNotebook(best.name, best.read, tuple(upload.sources), tuple(notes))


def notebook_notes(
    folder: Path, files: tuple[str, ...], expected: dict[str, Collection[str]]
) -> list[str]:
    """The grader's notes on the notebooks of `folder` (or of a zip) when it grades the
    exercise files: each notebook it refuses, in its words (a number longer than Python reads),
    then, when those files hold work, the note on a notebook beside them that implements a
    gradient function and is not graded. The check judged the files and said nothing of
    either: a student whose only notebook the grader refused saw a table of `todo` and no
    reason; one who started exercise 1 in exercise1.py and did exercises 2 and 3 in the
    notebook read the grader's 0 for the untouched stubs as its first word of it."""
    upload = read_upload(folder, files, NOTEBOOK_BYTES)
    best, refused, _ = _best_notebook(upload, files, expected)
    if best is None or all(is_untouched_stub(data) for data in upload.sources.values()):
        return refused
    unread = work_left_in(best.read, files, upload.sources)
    if not best.read.implemented and not unread:  # a notebook without work: nothing to choose
        return refused
    return [*refused, py_files_graded_note(upload.sources, best.name, unread)]


def _best_notebook(
    upload: UploadRead, files: tuple[str, ...], expected: dict[str, Collection[str]]
) -> tuple[GradedNotebook | None, list[str], list[tuple[str, NotebookRead]]]:
    """Of the upload's notebooks (choosing.find_notebooks, the grader's rule), the one the
    grader prefers (notebook.preference), None when it reads none; the grader's words on
    reading them (upload.reading) and on each it refuses (NotebookError), named by where it
    sits, as the grader names it; and those it reads, by where each sits. Only those
    implementing a gradient function were ranked, so a folder of untouched stubs and an
    untouched notebook had its stubs checked, where the grader grades the notebook (every row
    `todo` either way, the notes not)."""
    # As the grader says them: what reading each said (its byte budget), then each refused.
    ranked, refused = [], [*upload.reading, *upload.unread]
    parts = JsonParts()  # for all of them together, as the grader counts them
    for where, depth, data in upload.notebooks:
        try:
            if data is None:
                raise too_large(where)
            read = _read_notebook(data, where, files, expected, parts)
        except NotebookError as e:
            refused.append(str(e))
            continue
        if read is not None:
            name = where.rsplit("/", 1)[-1]
            ranked.append((preference(read, depth, name), where, read))
    reads = [(where, read) for _, where, read in ranked]
    if not ranked:
        return None, refused, reads
    _, where, read = max(ranked, key=lambda r: r[0])
    return GradedNotebook(where, read), refused, reads


def read_notebook_path(
    path: Path, files: tuple[str, ...], expected: dict[str, Collection[str]]
) -> NotebookRead | None:
    """A notebook's exercise modules, read by the grader's rule (notebook.read_cells); None for
    a file the check cannot read (over the grader's size, or gone). NotebookError, in the
    grader's words, for what the grader refuses so (no JSON, a number longer than Python
    reads, a version other than 1 to 4)."""
    try:
        if path.stat().st_size > NOTEBOOK_BYTES:
            return None
        return _read_notebook(path.read_bytes(), path.name, files, expected)
    except OSError:
        return None


def _read_notebook(
    data: bytes,
    name: str,
    files: tuple[str, ...],
    expected: dict[str, Collection[str]],
    parts: JsonParts | None = None,
) -> NotebookRead:
    """The notebook's exercise modules as the grader reads them, with the grader's own code for
    all but nbformat's upgrade (notebook_json: refused or mended by `prepared`, older versions
    upgraded by `cells_as_version_4`, read by `cells_read`), what was mended noted as the
    grader notes it; NotebookError, in the grader's words, for what it refuses (a reading that
    failed on the cells included: it was None here, the notebook skipped unsaid)."""
    functions = {f: _in_order(expected[f]) for f in files}
    text = notebook_text(data, name, parts)  # the grader's cut of long strings, its count
    raw = parse_notebook_json(text, name)
    mended = prepared(raw, name)
    cells = cells_as_version_4(raw)
    if not isinstance(cells, list):
        raise NotebookError(no_cells(name))
    mended_notes = [f"{name}: {why}" for why in mended]
    return cells_read([c for c in cells if isinstance(c, dict)], name, functions, mended_notes)


def _in_order(names: Collection[str]) -> tuple[str, ...]:
    """A file's functions in the order the grader names them (the assignment's, when given as
    a sequence; else sorted): a note on a notebook defining none of them named them sorted
    where the grader's named them in the assignment's order."""
    return tuple(names) if isinstance(names, (tuple, list)) else tuple(sorted(names))
