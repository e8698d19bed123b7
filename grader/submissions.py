"""Finding submissions: one folder or zip, a folder of them, or a Gradescope "Export Submissions".

Whatever the shape of the input, the result is a list of `Submission`s, each with the raw bytes of
the exercise files it holds (or None, with the reason in `absent`), the student's name and email
where the export has them, and notes on anything odd (a nested folder, a zip inside, a renamed
file, a link skipped). Uploads are read through `uploads.py`, which lists folders and zips
without unpacking them and never follows a link; the bytes are never run or imported here.

Which file is which exercise is `choosing.py`'s rule (docs/submissions.md), shared with the
student bundle's check.py; this module decides which folder, zip or notebook is which student.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import stat
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from . import export_metadata, notebook_submissions
from .assignment import command_flag
from .choosing import (
    MAX_COPIES_READ,
    MAX_INNER_ZIPS,
    OTHER_ARCHIVES,
    candidates,
    exercise_files,
    likely_entries,
    match_exercise,
    note_missing,
    relative,
    shut_zips,
)
from .notebook import is_untouched_stub
from .uploads import (
    ENVIRONMENT_MARKER,
    IGNORED_DIRS,
    MAX_EXPORT_ENTRIES,
    NOT_A_ZIP,
    UPLOAD_TOO_LARGE,
    AmbiguousEntry,
    Budget,
    Encrypted,
    Entry,
    MiB,
    TooManyEntries,
    UploadError,
    UploadLimits,
    file_reader,
    hidden,
    kind_of,
    open_inner_zip,
    open_zip_file,
    read_capped,
    rebased,
    scan_folder,
    scan_zip,
    single_top,
    size_text,
    upload_tree,
)
from .valid_text import code_point_name, inked, lookalikes_written, valid

METADATA = "submission_metadata.yml"
MAX_METADATA_BYTES = 16 * MiB
# Folders an export's metadata may list without holding them. A real export holds every one; a
# metadata file of a student's own writing (an upload graded without --one) could list a million
# in its 16 MiB, each a gradebook row and a report written to disk.
MAX_MISSING_FOLDERS = 1_000


class SubmissionError(Exception):
    """The input is not something the grader can grade; the message says what was expected."""


@dataclass
class Submission:
    name: str
    files: dict[str, bytes | None]
    student: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    source: str = ""
    # Why an exercise is None when the upload held others (missing, ambiguous, too large):
    # shown in the report and on the TA's "needs a look" list.
    absent: dict[str, str] = field(default_factory=dict)
    folder: str = ""  # its output folder, unique in the batch (set by `assign_folders`)
    notebook: dict = field(default_factory=dict)  # what a notebook gave (grader/notebook.py)
    # Non-scoring flags for a TA found while reading the upload (an LMS download's doubts:
    # grader/lms.py), each {"flag", "reason"}: result.json's `review`, "needs a look".
    review: list[dict] = field(default_factory=list)
    # The students' uploads the upload itself holds, as `_uploads_inside` says them ("" for
    # none): a class's folder given one level up reads as one submission holding them.
    inside: str = ""

    @property
    def slug(self) -> str:
        return self.folder or slug(self.name)


# ---- names -------------------------------------------------------------------------------------

# Names Windows cannot hold as a folder: a TA may copy the reports there.
_DEVICES = {"con", "prn", "aux", "nul"} | {f"{d}{i}" for d in ("com", "lpt") for i in range(10)}


# A folder name's length in UTF-8 bytes: file systems hold 255, and `assign_folders` may add
# " (k)". Names a student chose (an LMS display name of 100 emoji) are cut to it.
MAX_FOLDER_BYTES = 200


def slug(name: str, *, shown: bool = True) -> str:
    """A folder name for a submission: unicode kept (undecodable bytes read as valid_text says),
    separators, dots at the ends, controls not, at most MAX_FOLDER_BYTES long. A character with
    no ink, a control character (C0, DEL, C1: `ls` quoted `Bo\\x85b/`, a file manager drew a
    box, and `Bo\\x01b` got the folder `Bo_b` of another name), a letter passing for another
    script's within a word (`Bоb`, its `о` Cyrillic) and a space drawn as a plain one are written
    as their code points (`folder_spelling`), unless not
    `shown`: a file's name in an upload, which the exercises are matched by (`exercise1.py`
    and a no-break space is exercise1.py, `exercise_names.match_name`)."""
    name = unicodedata.normalize("NFC", valid(str(name)))
    if shown:
        name = inked(lookalikes_written(name, folder_spelling), folder_spelling)
        name = "".join(folder_spelling(c) if unicodedata.category(c) == "Cc" else c for c in name)
    cleaned = re.sub(r"[/\\\x00-\x1f\x7f:*?\"<>|]", "_", name).strip(" .")[:120]
    cleaned = cleaned.encode()[:MAX_FOLDER_BYTES].decode(errors="ignore").strip(" .")
    if cleaned.split(".")[0].casefold() in _DEVICES:
        cleaned = "_" + cleaned
    return cleaned or "submission"


def folder_spelling(c: str) -> str:
    """An inkless character (`valid_text.inked`), or a lookalike letter or space
    (`valid_text.lookalikes_written`), in a folder's name: `{U+200B}`. Kept as it was,
    `Bo\\u200bb/` and `Bob/` read as one name in `ls` and a file manager, and `\\u202eecilA/` as
    Alice's; the pages' `\\u200b` cannot stand there (Windows reads a backslash as a separator).
    A brace without a comma is no pattern to a shell, so a path the terminal prints still
    pastes; a name written so by the student gets the same folder and `assign_folders` tells the
    two apart."""
    return f"{{U+{ord(c):04X}}}"


def assign_folders(subs: list[Submission], reserved: set[str] = frozenset()) -> None:
    """Give every submission an output folder no other one has and none of `reserved` is.

    Names are compared ignoring case (a TA's disk may). A submission keeps its own name when it
    is the first to claim it; a later one with the same name gets the first free `name (k)`.
    """
    taken = {r.casefold() for r in reserved}
    first: dict[str, Submission] = {}
    alike: dict[str, list[Submission]] = {}
    for s in subs:
        first.setdefault(slug(s.name).casefold(), s)
        alike.setdefault(slug(s.name).casefold(), []).append(s)
    claimed = taken | {k for k in first if k not in taken}
    renamed = []
    for s in subs:
        base = slug(s.name)
        if first.get(base.casefold()) is s and base.casefold() not in taken:
            s.folder = base
            taken.add(base.casefold())
            continue
        k = 2
        while f"{base} ({k})".casefold() in claimed | taken:
            k += 1
        s.folder = f"{base} ({k})"
        taken.add(s.folder.casefold())
        renamed.append(s)
    for same in alike.values():
        if len(same) > 1:
            _say_sources(same)
    for s in renamed:
        if len(alike[slug(s.name).casefold()]) < 2:  # a name the batch's own files hold
            s.notes.append(f"another submission is also named {s.name!r}: this one is {s.folder}")
        s.name = s.folder


def _say_sources(same: list[Submission]) -> None:
    """Each of several uploads read under one name (`carol/` beside `carol.zip`) says which it
    is: graded as `carol` and `carol (2)`, the rows, the reports and the TA's list never said
    which came from the folder and which from the zip. Each is on the TA's list (review flag
    `download`): one student may have handed in both."""
    for s in same:
        others = [f"{upload_words(t)} (graded as {t.folder})" for t in same if t is not s]
        have = f"{', '.join(others)} {'has' if len(others) == 1 else 'have'} its name"
        s.notes.append(f"read from {upload_words(s)} and graded as {s.folder}: {have}")
        s.review.append(
            {
                "flag": "download",
                "reason": f"this row is {upload_words(s)}; {have}: if they are one student's, "
                "keep the one meant and grade again",
            }
        )


def upload_words(sub: Submission) -> str:
    """Where a submission was read from, as a TA finds it in the input: `the folder carol/`,
    `the zip carol.zip`, `the notebook carol.ipynb` (its entry at the top of PATH), its inkless
    characters written as escapes (`valid_text.inked`) as the row's own name is: it tells apart
    uploads read under one name, and `Bo\\u200bb/` read as `Bob/` on the page."""
    source = sub.source or sub.name
    raw = source.rstrip("/").rsplit("/", 1)[-1]
    name = inked(raw)
    if source.endswith("/"):
        return f"the folder {name}/{_accents_apart(raw)}"
    kind = {".zip": "zip", ".ipynb": "notebook"}.get(Path(name).suffix.casefold(), "upload")
    return f"the {kind} {name}{_accents_apart(raw)}"


def _accents_apart(name: str) -> str:
    """How `name` writes its accents, where it writes some apart from their letters (`e` and
    U+0308 for `ë`, as a Mac may name a file): its folder's name is composed (`slug`), so
    `Zoë/` read under one name with `Zoë/` written the other way, and the TA's list said `the
    folder Zoë/` of both. '' for a name written composed."""
    composed = unicodedata.normalize("NFC", name)
    if composed == name:
        return ""
    marks = [c for c in dict.fromkeys(name) if unicodedata.combining(c) and c not in composed]
    named = ", ".join(code_point_name(c) for c in marks) or "other code points"
    return f" (its accents written as separate marks: {named})"


def natural_key(name: str) -> tuple:
    """A name's place in the class as a person reads it: case ignored, each run of digits a
    number, so `submission_2` comes before `submission_10` and `Bob` beside `bob`. The
    summary's column sort (templates/page.js, a numeric collator) orders names so; the
    batch's own order was the code points' (`Submission_3` before `alice`, `submission_10`
    before `submission_2`), which the gradebook kept. Accents are read as the collator reads
    them, after the letter (`Émile` among the e's, not after `Zoë`). The name itself breaks
    ties, so the order never depends on how a folder was listed."""
    bare = "".join(
        c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c)
    ).casefold()
    parts = re.split(r"(\d+)", bare)
    return tuple(int(p) if k % 2 else p for k, p in enumerate(parts)), name


def in_natural_order(subs: list[Submission]) -> list[Submission]:
    """The submissions in the class's one order (natural_key of each one's name), which every
    page, the gradebook and the terminal's list share."""
    return sorted(subs, key=lambda s: natural_key(s.name))


# ---- reading one submission --------------------------------------------------------------------


def read_tree(
    top: Entry, name: str, files, budget: Budget, stack: contextlib.ExitStack, source: str = ""
) -> Submission:
    """One submission from the tree of its upload."""
    found, contents, absent = exercise_files(top, files, budget, stack)
    stubbed = {
        f: _worked_copies(found[f], contents[f], top, budget, likely_entries(top, f, files))
        for f in found
    }
    unjudged = {f: stubbed[f][1] for f in found}
    misnamed = {f: stubbed[f][2] for f in found}
    stubbed = {f: stubbed[f][0] for f in found}
    # A notebook holds every exercise at once: when it is what gets graded, it fills `contents`.
    review: list[dict] = []
    notebook = notebook_submissions.use_notebook(top, files, contents, budget.notes, budget, review)
    if notebook.get("graded"):
        found, absent = dict.fromkeys(files), {}
    else:
        review += [
            _stub_flag(f, copies, unjudged[f], budget.limits.file_bytes, misnamed[f])
            for f, copies in stubbed.items()
            if copies or unjudged[f] or misnamed[f]
        ]
        review += _shut_zip_flags(top, files, contents, budget.limits, stack)
    review += _opened_zip_flags(top)
    exported = note_missing(top, files, found, contents, absent, budget)
    if exported and _holds_no_work(contents, notebook):
        review.append(_export_flag(top, exported, files))
    return Submission(
        name,
        contents,
        notes=budget.notes,
        source=source,
        absent=absent,
        notebook=notebook,
        review=review,
        inside=_uploads_inside(top, files),
    )


def _uploads_inside(top: Entry, files: tuple[str, ...]) -> str:
    """What of an upload's tree, below the folders it wraps alone (`hw3/`), reads as two or
    more students' uploads, in words ("" for none): its zips and folders holding an exercise
    file or a notebook (notebook_submissions.uploads_among), each named as a TA finds it
    (`alice/`, `bob.zip`), or files an LMS named for two or more students."""
    from .lms import lms_students  # lms.py imports this module

    node = top
    while len(kids := [c for c in node.children if not hidden_at_top(c)]) == 1:
        if kids[0].kind != "dir":
            break
        node = kids[0]
    ups = notebook_submissions.uploads_among(None, student_entries(node), files, listed=True)
    if len(ups) >= 2:
        return f"{len(ups)} folders or zips that read as students' uploads ({_first_named(ups)})"
    lms, count = lms_students(node)
    return f"files a {lms} download names for {count} students" if count >= 2 else ""


def _worked_copies(
    cands: list[tuple[int, int, Entry]],
    chosen: bytes | None,
    top: Entry,
    budget: Budget,
    likely: list[Entry] = (),
) -> tuple[list[str], list[str], list[str]]:
    """The other candidates for an exercise that hold work, when the one graded is an untouched
    stub: `exercise1.py` from the bundle beside the student's `exercise1 (1).py`, which a
    browser named so because the stub was already there. The exact name wins (never guessed
    between), so that exercise scores 0, and the TA should know.
    Each content is parsed once: the file graded is among the candidates, and a browser's copies
    are often identical, and a parse of a file at `file_bytes` costs the grader's own process
    half a second and 190 MB (three 256 KiB files of `f()` lines were parsed twice each).
    The copies parsed hold at most `file_bytes` in all: five copies of 256 KiB, each differing
    from the others (a file without functions counts as a stub), made fifteen parses, 8 s of
    the grader's own process for an upload a few KB zipped. A copy past that is left unjudged:
    the assignment's stubs and a student's work are a few KB each, so only such copies are;
    they are returned second, for the TA's flag to name (left unjudged, they were never said,
    though one may hold the student's work). So are the copies past the first MAX_COPIES_READ
    in the grader's order (`choosing._choose`'s, the file graded among the first), unread: a
    sixth copy holding the student's work raised no flag beside the stub's 0.
    Third, the `likely` files (`choosing.likely_entries`: `ex2.py` beside exercise2.py, a name
    no exercise reads as) that hold work, judged within the same bytes: the bundle's stub graded
    beside the student's `ex2.py` scored 0 with nothing on the TA's list."""
    if chosen is None or not is_untouched_stub(chosen):
        return [], [], []
    ranked = sorted(cands, key=lambda c: (c[0], c[1], c[2].path))
    stubs = {chosen: True}  # content -> is an untouched stub
    room = budget.limits.file_bytes  # bytes of copies still to be parsed
    unjudged = [relative(top, e) for _, _, e in ranked[MAX_COPIES_READ:]]

    def holding_work(entries: Iterable[Entry]) -> list[str]:
        """Those of `entries` that hold work, each distinct content parsed once within `room`;
        those past it are added to `unjudged`."""
        nonlocal room
        found = []
        for e in entries:
            try:
                data = read_capped(e, budget.limits.file_bytes, budget)
            except (UploadError, AmbiguousEntry):
                continue
            if data not in stubs:
                if len(data) > room:
                    unjudged.append(relative(top, e))
                    continue
                room -= len(data)
                stubs[data] = is_untouched_stub(data)
            if not stubs[data]:
                found.append(relative(top, e))
        return found

    worked = holding_work(e for _, _, e in ranked[:MAX_COPIES_READ])
    misnamed = holding_work(likely)
    return worked, unjudged, misnamed


def _shut_zip_flags(
    top: Entry, files, contents: dict[str, bytes | None], limits: UploadLimits, stack
) -> list[dict]:
    """A flag for the TA per zip the grader left shut (every exercise was found outside it:
    `choosing._left_shut_note` tells the student) that holds an exercise file other than the
    one graded: a `final.zip` beside an older `layers.py` was passed over without a word, and
    the older file's score stood. A copy of what was graded (a zip of the same files) is no
    news and raises nothing. Each zip is listed on a copy of its entry, so the tree graded is
    unchanged, and read within limits of its own, so it costs the upload's files nothing."""
    flags = []
    for shut in shut_zips(top)[:MAX_INNER_ZIPS]:
        budget = Budget(limits)
        peek = Entry(shut.name, shut.path, "file", shut.depth, shut.size, reader=shut.reader)
        peek.copies = shut.copies
        try:
            open_inner_zip(peek, stack, budget)
        except UploadError as e:
            flags.append(_unlisted_zip_flag(relative(top, shut), f"could not be read: {e}"))
            continue
        if not any(entry.kind == "file" for entry in peek.walk()):
            flags.append(
                _unlisted_zip_flag(relative(top, shut), "lists no file as the grader reads it")
            )
            continue
        unread: dict[str, list[str]] = {}  # why -> the files that could not be read so
        for inner, why in _open_nested(peek, stack, budget):
            unread.setdefault(why, []).append(relative(top, inner))
        other: list[str] = []
        for f, cands in candidates(peek, files, budget).items():
            for _, _, e in cands:
                data, why = _read_or_why(e, budget)
                if data is None:
                    unread.setdefault(why, []).append(relative(top, e))
                elif data != contents.get(f):
                    other.append(relative(top, e))
        if other or unread:
            flags.append(_shut_zip_flag(relative(top, shut), other, unread))
    return flags


NESTED_UNLISTED = (
    "a zip listing no file as the grader reads it; another zip tool may read it otherwise"
)


def _open_nested(peek: Entry, stack, budget: Budget) -> list[tuple[Entry, str]]:
    """Open the zips inside a zip left shut (at most MAX_INNER_ZIPS, within its budget and the
    upload's depth limit), shallowest first, so that work zipped twice is seen too: a
    `final.zip` holding `hw.zip` holding a newer `exercise1.py` raised nothing. Returns those
    of which no file was read, and why: a zip inside that could not be read or listed none
    raised nothing, where the same zip beside the files graded is on the TA's list
    (`_unlisted_zip_flag`), and another zip tool may read it otherwise."""
    opened, unlisted = 0, []
    while opened < MAX_INNER_ZIPS and (nested := shut_zips(peek)):
        try:  # marked opened whatever comes of it: not tried again
            open_inner_zip(nested[0], stack, budget)
            if not any(entry.kind == "file" for entry in nested[0].walk()):
                unlisted.append((nested[0], NESTED_UNLISTED))
        except UploadError as e:
            unlisted.append((nested[0], f"a zip: {e}"))
        opened += 1
    return unlisted


def _read_or_why(e: Entry, budget: Budget) -> tuple[bytes | None, str]:
    """An entry's bytes, or None and why it could not be read, in a few words for the TA."""
    try:
        return read_capped(e, budget.limits.file_bytes, budget), ""
    except Encrypted:
        return None, "encrypted"
    except AmbiguousEntry:
        return None, "listed twice with different contents"
    except UploadError as err:
        if UPLOAD_TOO_LARGE in str(err):
            return None, "past the upload's byte limit (--upload-limit)"
        return None, "damaged"


def _shut_zip_flag(zip_path: str, other: list[str], unread: dict[str, list[str]]) -> dict:
    """The TA's flag: the files that differ from those graded, and apart from them those that
    could not be read, and why (an encrypted entry was said to differ, which no one could know;
    one past the byte limit was said "encrypted or damaged", which it was not)."""
    held = []
    if other:
        held.append(
            f"{_listed(other)}, which {'differs' if len(other) == 1 else 'differ'} from "
            "the files graded"
        )
    for why, paths in unread.items():
        held.append(f"{_listed(paths)}, which could not be read ({why})")
    return {
        "flag": "zip_unopened",
        "reason": f"{zip_path} was not opened (every exercise file was found outside it), and "
        f"it holds {', and '.join(held)}: if that is the student's work, grade it on its own",
    }


def _unlisted_zip_flag(zip_path: str, what: str) -> dict:
    """The TA's flag for a zip left shut of which the grader read no file: one that cannot be
    read, or that lists none, raised nothing, yet another zip tool may read it otherwise (a
    comment holding a forged end record makes Python's zipfile read the zip as empty)."""
    return {
        "flag": "zip_unopened",
        "reason": f"{zip_path} was not opened (every exercise file was found outside it), and it "
        f"{what}; another zip tool may read it otherwise: open it with one, and if it holds "
        "the student's work, grade that on its own",
    }


def _opened_zip_flags(top: Entry) -> list[dict]:
    """A flag for the TA per zip the grader opened (to look for an exercise file) of which it
    read no file: one that could not be read, or that lists none. The student's note alone
    said so, where the same zip left shut is on the TA's list (`_unlisted_zip_flag`), and
    another zip tool may read the student's work in it."""
    flags = []
    for e in top.walk():
        if e.kind != "file" or not e.opened:
            continue
        if e.unreadable:
            flags.append(_opened_zip_flag(relative(top, e), f"could not be read: {e.unreadable}"))
        elif not any(inner.kind == "file" for inner in e.walk()):
            flags.append(_opened_zip_flag(relative(top, e), "lists no file as the grader reads it"))
    return flags


def _opened_zip_flag(zip_path: str, what: str) -> dict:
    return {
        "flag": "zip_unopened",
        "reason": f"{zip_path} was opened to look for exercise files, and it {what}; another "
        "zip tool may read it otherwise: open it with one, and if it holds the student's work, "
        "grade that on its own",
    }


def _listed(paths: list[str]) -> str:
    more = f" and {len(paths) - 5} more" if len(paths) > 5 else ""
    return f"{', '.join(paths[:5])}{more}"


def _stub_flag(
    f: str, copies: list[str], unjudged: list[str] = (), most: int = 0, misnamed: list[str] = ()
) -> dict:
    """The TA's flag for an untouched stub graded beside copies holding work (`copies`), or
    copies left unjudged past the copies parsed (`unjudged`: past MAX_COPIES_READ of them, or
    past `most` bytes in all), or files named like it that hold work (`misnamed`)."""
    said = []
    if copies:
        said.append(f"{', '.join(copies)} beside it holds work")
    if misnamed:
        said.append(
            f"{', '.join(misnamed)} beside it, a name the grader does not read as {f}.py, "
            f"{'holds' if len(misnamed) == 1 else 'hold'} work"
        )
    if unjudged:
        said.append(
            f"{_listed(unjudged)} beside it {'was' if len(unjudged) == 1 else 'were'} not "
            f"looked into (at most {MAX_COPIES_READ} copies of it, holding at most "
            f"{size_text(most)} in all, are parsed for work), so may hold work"
        )
    return {
        "flag": "stub_graded",
        "reason": f"{f}.py as graded is the untouched stub, and {', and '.join(said)}: if that "
        f"is the student's answer, grade it as {f}.py",
    }


def _holds_no_work(contents: dict[str, bytes | None], notebook: dict) -> bool:
    """Whether what is graded is the assignment's files untouched (stubs, or its notebook), at
    least one of them: an upload of nothing is on the TA's list already."""
    if notebook.get("graded"):
        return not notebook.get("implemented")
    present = [v for v in contents.values() if v is not None]
    return bool(present) and all(is_untouched_stub(v) for v in present)


def _export_flag(top: Entry, exported: list[tuple[Entry, str]], files) -> dict:
    """The TA's flag for an upload graded on untouched files beside a notebook exported as a
    script: the bundle's folder with a Colab export put in it scored 0 on its stubs, off the
    list, though the export may hold every answer."""
    names = _listed([relative(top, e) for e, _ in exported])
    wanted = ", ".join(f"{f}.py" for f in files)
    return {
        "flag": "stub_graded",
        "reason": f"what was graded holds no work (the untouched stubs or notebook), and {names} "
        "beside it is a notebook exported as a Python script, which the grader does not read: "
        f"if it holds the student's answers, ask for the notebook itself (.ipynb), or put its "
        f"functions in {wanted}, and grade again",
    }


def _failed(name: str, files, note: str, source: str = "", notes: Sequence[str] = ()) -> Submission:
    """A submission nothing could be read from, and why: on the TA's list saying so (review
    flag `download`), where "no exercise files found" alone read as a student who uploaded
    nothing, when the upload is a zip cut short or past a limit."""
    sub = Submission(name, dict.fromkeys(files), notes=[*notes, note], source=source)
    sub.review.append(
        {
            "flag": "download",
            "reason": f"{note} (its 0 grades nothing the student handed in): get the upload "
            "again and grade again",
        }
    )
    return sub


# ---- the shapes of an input --------------------------------------------------------------------


@dataclass
class Input:
    """What `grader grade` was given: a folder (listed one level) or a zip (listed whole)."""

    base: Path  # the real folder, or the folder holding the zip
    top: Entry
    is_zip: bool
    limits: UploadLimits
    stack: contextlib.ExitStack
    files: tuple[str, ...] = ()
    # Whether notebooks at the top are each a student's (a TA's folder of collected notebooks)
    # rather than one student's several copies: `grader grade` says yes, `grader check` no.
    notebooks_are_students: bool = True
    # The uploads of a class's zip listed only in part (uploads._per_upload), by path.
    cut: set[str] = field(default_factory=set)
    # The files of a class zip's hidden folders that its listing left out (`_HiddenSeen`), and
    # its hidden files named like an upload (`.alice.zip`), each with its first bytes.
    hidden_files: list[tuple[str, ...]] = field(default_factory=list)
    hidden_heads: dict[tuple[str, ...], bytes | None] = field(default_factory=dict)
    given: str = ""  # PATH as the TA gave it, for messages: a zip's `base` is its folder

    def open(self, e: Entry, budget: Budget, stack: contextlib.ExitStack) -> Entry:
        """The tree of the submission at entry `e` of this input (a folder, a zip, a notebook).
        What it opens goes on `stack`, the upload's own: closed once that upload is read
        (`one_upload`), never held to the end of the class."""
        if e.path in self.cut:
            budget.notes.append(
                f"the upload holds more than {budget.limits.entries} files and folders; only "
                "the first were looked at: upload only your exercise files"
            )
        if e.kind == "file" and _is_notebook(e):  # a tree of one, as for a notebook given alone
            stem = e.name[: -len(notebook_submissions.SUFFIX)]
            alone = Entry(e.name, e.name, "file", 1, e.size, reader=e.reader, copies=e.copies)
            return Entry(stem, "", "dir", children=[alone])
        if e.kind == "dir" and self.is_zip:
            return rebased(e)
        if e.kind == "dir":
            return scan_folder(self.base, _parts(self.top, e), budget)
        if self.is_zip:
            open_inner_zip(e, stack, budget)
            return rebased(e)
        tree = Entry(e.name, "", "dir")
        f = open_zip_file(self.base, _parts(self.top, e), stack)
        try:
            scan_zip(f, e.name, tree, budget)
        except UploadError:
            raise
        except Exception as err:  # noqa: BLE001 - BadZipFile, a forged listing's own errors
            raise UploadError(f"{e.name} is not a readable zip: {err}") from None
        return tree


def _parts(top: Entry, e: Entry) -> tuple[str, ...]:
    rel = relative(top, e)
    return tuple(rel.split("/")) if rel else ()


def _list_folder(base: Path) -> Entry:
    """One level of the folder given to the grader, nothing followed (kinds and sizes from
    lstat). The size is what a notebook there is refused by before a byte is read: listed as
    0, a 70 MB notebook in a folder of collected ones (or in a Canvas download) was read to
    the upload's 64 MiB and refused as "the upload would exceed 64 MiB unpacked (upload only
    your exercise files)", where one in a student's folder is told to clear its outputs."""
    top = Entry(base.name, "", "dir")
    with os.scandir(base) as it:
        for de in sorted(itertools.islice(it, MAX_EXPORT_ENTRIES), key=lambda d: d.name):
            size = 0
            try:
                st = de.stat(follow_symlinks=False)
                kind, size = kind_of(st.st_mode), st.st_size
            except OSError as e:
                kind = f"unreadable ({e.strerror})"
            entry = Entry(de.name, de.name, kind, 1, size)
            if kind == "file":
                entry.reader = file_reader(base, (de.name,))
            top.children.append(entry)
    return top


def hidden_at_top(e: Entry) -> bool:
    """An entry at the top of PATH that is no one's: a dot file, `__MACOSX`, ... but not a name
    an LMS wrote for a student whose name starts with a dot (`lms.lms_named`)."""
    return hidden(e.name) and not _lms_named(e.name)


def _lms_named(name: str) -> bool:
    from .lms import lms_named  # lms.py imports this module

    return lms_named(name)


def _at_download_top(parts: tuple[str, ...]) -> bool:
    """Whether a path of PATH's zip with a hidden part is listed all the same: its one hidden
    part is at the top of what may be a class download (the zip's top, or in its one top folder,
    `_single_top`) and reads as an LMS's name of a student's entry. Below that top it is pruned
    again (`_prune_hidden`): inside an upload a dot name is hidden, as in a folder."""
    at = [i for i, p in enumerate(parts) if hidden(p)]
    return len(at) == 1 and at[0] <= 1 and _lms_named(parts[at[0]])


def _prune_hidden(root: Entry) -> None:
    """Drop, below the children of `root`, what `_at_download_top` kept for another top."""
    stack = list(root.children)
    while stack:
        e = stack.pop()
        e.children = [c for c in e.children if not hidden(c.name)]
        stack += e.children


def _single_top(top: Entry) -> Entry:
    """A zip of one folder is that folder; either way, only its top may hold a hidden name."""
    root = single_top(top, hidden_at_top)
    _prune_hidden(root)
    return root


# What PATH is read as, in words: the summary of `grader grade` starts with it, so a TA sees at
# once when a student's upload was read as a class (a metadata file or LMS-like names in it).
EXPORT = "a Gradescope export"
ONE = "one submission"
FOLDER = "a folder of submissions"


def _as_export(inp: Input, root: Entry) -> str | None:
    meta = root.child(METADATA)
    return EXPORT if meta is not None and meta.kind == "file" else None


def _as_one_submission(inp: Input, root: Entry) -> str | None:
    if any(e.kind == "file" and match_exercise(e.name, inp.files) for e in root.children):
        return ONE
    if inp.notebooks_are_students and len(_loose_notebooks(root)) > 1:
        return None  # a TA's folder of collected notebooks: read as one, it lost all but one
    one = notebook_submissions.is_notebook_submission(
        inp.base, root, student_entries(root), inp.files, inp.is_zip
    )
    return ONE if one else None


def _as_folder_of_submissions(inp: Input, root: Entry) -> str | None:
    return FOLDER


def _one_submission(inp: Input, root: Entry, name: str) -> list[Submission]:
    budget = Budget(inp.limits)
    # A zip is not a download here: what `_at_download_top` kept for one is hidden, as in a
    # folder (`upload_tree`).
    tree = upload_tree(inp.top, root, budget) if inp.is_zip else scan_folder(inp.base, (), budget)
    return [read_tree(tree, name, inp.files, budget, inp.stack, source=str(inp.base))]


# A few of the uploads beside a stray exercise file are named on the TA's list; the rest counted.
NAMED_UPLOADS = 5


def _first_named(entries: list[Entry]) -> str:
    """`alice/, bob.zip and 3 more`: the first NAMED_UPLOADS entries as a TA finds them (a
    folder with its `/`, inkless characters as escapes), and how many more there are."""
    shown = [inked(e.name) + ("/" if e.kind == "dir" else "") for e in entries[:NAMED_UPLOADS]]
    more = len(entries) - NAMED_UPLOADS
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def _one_beside_uploads(inp: Input, root: Entry, name: str) -> list[Submission]:
    """One submission, read so because an exercise file sits at the top of PATH (or a notebook
    does with fewer than two uploads beside it), and put on the TA's list (review flag
    `download`) when two or more students' uploads sit beside that exercise file: a class's
    folder with a stray `exercise1.py` at its top (the TA's own copy) was graded as one student,
    its other exercises taken from classmates' folders, and the run ended `none needs a look`.
    The shape stands, since a student's own folder may hold copies of their work in folders;
    `--one` (the TA saying it is one upload) never comes here."""
    [sub] = _one_submission(inp, root, name)
    stray = [
        e.name for e in root.children if e.kind == "file" and match_exercise(e.name, inp.files)
    ]
    if not stray or not inp.notebooks_are_students:  # `grader check`: a student's own folder
        return [sub]
    uploads = notebook_submissions.uploads_among(
        inp.base, student_entries(root), inp.files, inp.is_zip
    )
    if len(uploads) < 2:
        return [sub]
    listed = _first_named(uploads)
    where = Path(inp.given).name or inp.given
    sub.review.append(
        {
            "flag": "download",
            "reason": f"{inked(stray[0])} sits at the top of {inked(where)}, which was graded as "
            f"one student's upload, but {len(uploads)} folders or zips beside it read as "
            f"students' uploads ({listed}): if it is a class's folder, move {inked(stray[0])} "
            "into its student's folder (or out of the class's) and grade again; if it is one "
            "student's upload, grade it with --one",
        }
    )
    return [sub]


def student_entries(root: Entry) -> list[Entry]:
    """The entries of a folder of submissions that are each one student's: every folder and
    `.zip` (and a link or FIFO in their place, read as a note), but hidden ones and other files."""
    return [
        e
        for e in root.children
        if not hidden_at_top(e) and (e.kind != "file" or e.name.casefold().endswith(".zip"))
    ]


def _is_notebook(e: Entry) -> bool:
    return e.name.casefold().endswith(notebook_submissions.SUFFIX)


def _loose_notebooks(root: Entry) -> list[Entry]:
    """The notebooks at the top of a folder (files only: a link is no one's work)."""
    return [
        e for e in root.children if e.kind == "file" and not hidden_at_top(e) and _is_notebook(e)
    ]


def _folder_of_submissions(inp: Input, root: Entry, name: str) -> list[Submission]:
    subs = []
    uploads = student_entries(root)
    for e in uploads:
        named_zip = e.name.casefold().endswith(".zip")
        sub_name = e.name[:-4] if named_zip else e.name
        subs.append(_read_entry(inp, root, e, sub_name))
    # A notebook beside the class's uploads may be a student's (collected by hand) or the TA's
    # own copy: it is graded, never dropped unseen, and flagged when it could be either: alone
    # there. Several are notebooks collected by hand beside the zips and folders of others (a
    # class of 300 read one flag per notebook, each asking whether it was the TA's copy).
    loose = _loose_notebooks(root) if inp.notebooks_are_students else []
    for e in loose:
        sub = _read_entry(inp, root, e, e.name[: -len(notebook_submissions.SUFFIX)])
        if uploads and len(loose) == 1:
            sub.review.append(_loose_flag(e.name))
        subs.append(sub)
    _flag_copy_numbers(subs)
    if len(subs) == 1 and subs[0].inside:
        subs[0].review.append(_one_row_flag(inp, uploads[0] if uploads else loose[0], subs[0]))
    if not subs and inp.is_zip and not any(e.kind == "file" for e in inp.top.walk()):
        raise SubmissionError(
            f"{inp.given} is an empty zip, holding no file: there is nothing to grade (a "
            "student's upload made of an empty folder? ask for the exercise files again)"
        )
    if not subs:
        wanted = ", ".join(f + ".py" for f in inp.files)
        hidden_ones, beside = hidden_uploads(inp, root), hidden_beside(inp, root)
        raise SubmissionError(
            f"{inp.given or inp.base} holds no exercise files ({wanted}) and "
            "no submission folders, zips or notebooks: give one submission, a folder of "
            "submissions, or a Gradescope export zip"
            + (f"; {hidden_note(hidden_ones, inp.is_zip)}" if hidden_ones else "")
            + (f"; {hidden_note(beside, inp.is_zip, root.name)}" if beside else "")
        )
    return subs


def _one_row_flag(inp: Input, e: Entry, sub: Submission) -> dict:
    """The flag of a class's one upload that holds students' uploads itself (`sub.inside`):
    `grader grade downloads/`, where `downloads/` held only the class's folder or zip, graded
    the class as one student named after it, each exercise taken from a classmate's folder,
    and ended `none needs a look` with a score of 100."""
    path = Path(inp.given or inp.base) / e.name
    return {
        "flag": "download",
        "reason": f"{upload_words(sub)} is this class's one upload, holds {sub.inside}, and "
        "was graded as one student's: if it is a class's folder, download or export, grade it "
        f"instead (`grader grade{command_flag()} {inked(str(path))}`)",
    }


def _flag_copy_numbers(subs: list[Submission]) -> None:
    """Put on the TA's list each upload whose name is another's with a browser's copy number
    (`carol (1).zip` beside `carol.zip`: one file downloaded twice): they were two students'
    rows in grades.csv without a word, one of them a copy or an older upload of the other.
    Each is named as its row is, inkless characters as escapes (`valid_text.inked`)."""
    names = {s.name.casefold(): s.name for s in subs}
    for s in subs:
        m = BROWSER_COPY.fullmatch(s.name)
        first = names.get(m["base"].casefold()) if m else None
        if first is None:
            continue
        reason = (
            f"{inked(s.name)} and {inked(first)} read as two students' uploads, but {m['n']} is "
            "how a browser names a second download of one file: if they are one student's, keep "
            "the one meant and grade again"
        )
        for flagged in (s, next(t for t in subs if t.name == first)):
            flagged.review.append({"flag": "download", "reason": reason})


# An upload's name with a browser's copy number: `carol (1)`, `carol(2)`.
BROWSER_COPY = re.compile(r"(?P<base>.+?) ?(?P<n>\(\d{1,3}\))")


def _loose_flag(name: str) -> dict:
    return {
        "flag": "download",
        "reason": f"{inked(name)} sat at the top of the class folder beside the students' "
        "folders and zips, and is graded as a student's upload; if it is not one (your own copy "
        "of the notebook), leave its row out, or move it out of the folder and grade again",
    }


def _read_entry(inp: Input, root: Entry, e: Entry, name: str) -> Submission:
    """One submission at entry `e`; whatever goes wrong is a note on it, never an exception."""
    if e.kind not in ("dir", "file"):
        why = (
            f"{e.name} is {e.kind}, not a folder or a zip: skipped (the grader reads only real "
            "folders and files; copy the upload in place)"
        )
        return _failed(name, inp.files, why, source=e.path)
    budget = Budget(inp.limits)
    with one_upload() as stack:
        return _read_upload(inp, e, name, budget, stack)


def _read_upload(
    inp: Input, e: Entry, name: str, budget: Budget, stack: contextlib.ExitStack
) -> Submission:
    """`_read_entry`'s reading, within the upload's own `stack` (`one_upload`)."""
    try:
        tree = inp.open(e, budget, stack)
        # A folder's source ends in "/", so a TA can tell `carol/` from `carol.zip`.
        source = e.path + "/" if e.kind == "dir" else e.path
        return read_tree(tree, name, inp.files, budget, stack, source=source)
    except (UploadError, OSError) as err:
        msg = str(err) if isinstance(err, UploadError) else f"{e.name}: {err.strerror or err}"
        if msg.startswith(NOT_A_ZIP):  # about the upload's own bytes: say which upload
            msg = f"{e.name} is {msg}"
        return _failed(name, inp.files, msg, source=e.path, notes=budget.notes)
    except Exception as err:  # noqa: BLE001 - the last guard: one upload never stops a batch
        msg = f"{e.name} could not be read ({type(err).__name__}: {err})"
        return _failed(name, inp.files, msg, source=e.path, notes=budget.notes)


def one_upload() -> contextlib.ExitStack:
    """What one upload of a class opens, closed once it is read: its zip's file, and the zips
    inside it, spooled to memory or to anonymous temporary files (uploads._spool). Held to the
    end of the class, a folder of 300 zips ran out of file descriptors where a process may
    open 256 (macOS's default; Linux's is often 1,024): every student after the 250th scored 0,
    "could not open student251.zip: Too many open files". An export's zip of 100 uploads, each
    a 7 MiB zip inside, kept 700 MB in memory before a line was graded."""
    return contextlib.ExitStack()


def _gradescope_export(inp: Input, root: Entry, name: str) -> list[Submission]:
    meta_entry = root.child(METADATA)
    held = {e.name for e in root.children if e.kind == "dir"}
    try:
        raw = read_capped(meta_entry, MAX_METADATA_BYTES, Budget(UploadLimits(bytes=1 << 40)))
        if len(raw) > MAX_METADATA_BYTES:
            raise UploadError(f"it is larger than {MAX_METADATA_BYTES // MiB} MiB")
        meta = export_metadata.read(raw.decode("utf-8"), held, MAX_MISSING_FOLDERS)
    except export_metadata.NotAMapping:
        raise SubmissionError(
            f"the export's {METADATA} is not a mapping of submission folders"
        ) from None
    except export_metadata.TooManyAbsent:
        # A download cut short, or a student's upload carrying a metadata file: each folder
        # it lacks would be a row and a report.
        raise SubmissionError(
            f"the export's {METADATA} lists more than {MAX_MISSING_FOLDERS} folders the export "
            "does not hold: download the export again, or, if PATH is one student's upload, "
            "give --one"
        ) from None
    except (UploadError, export_metadata.MetadataError, UnicodeDecodeError) as e:
        raise SubmissionError(f"cannot read the export's {METADATA}: {e}") from None
    subs = []
    joined: dict[int, dict] = {}
    for folder, people in sorted(meta.items()):
        # A group given by alias is one list, joined once: 300 folders naming an aliased group
        # of 100 people with 1,000-character fields held 300 joined copies of it, 90 MB.
        if id(people) not in joined:
            joined[id(people)] = export_metadata.fields_of(people)
        student = dict(joined[id(people)])
        entry = root.child(folder) if _folder_name(folder) else None
        if entry is None or entry.kind != "dir":
            why = (
                f"the export lists {folder} but has no such folder"
                if _folder_name(folder)
                else f"the export's {METADATA} names {folder!r}, which is not a folder name "
                "of this export: nothing read"
            )
            sub = Submission(folder, dict.fromkeys(inp.files), student, [why])
            sub.review.append(_absent_flag(why))
            subs.append(sub)
            continue
        sub = _read_entry(inp, root, entry, folder)
        sub.student = student
        if not any(student.get(k) for k in export_metadata.PERSON_FIELDS):
            sub.review.append(_nameless_flag(folder))
        elif unnamed := sum(not person for person in people):
            sub.review.append(_unnamed_member_flag(folder, unnamed, len(people)))
        subs.append(sub)
    listed = set(meta)
    for e in root.children:  # never a folder of the export left unseen
        if e.kind == "dir" and e.name not in listed and not hidden_at_top(e):
            sub = _read_entry(inp, root, e, e.name)
            sub.review.append(_unlisted_flag(e.name))
            subs.append(sub)
    _flag_claimed_twice(subs)
    return subs


def _absent_flag(why: str) -> dict:
    """A folder the metadata lists and the export lacks (or a key that names no folder): its
    row scored 0 with "no exercise files found" on the TA's list, which reads as a student who
    uploaded nothing, when the export holds nothing of theirs to read."""
    return {
        "flag": "download",
        "reason": f"{why} (its 0 grades nothing the student handed in): download the export "
        "again, or check the submission in Gradescope",
    }


def _unlisted_flag(name: str) -> dict:
    """A folder of an export its metadata does not name: once skipped without a word, its
    student without a row or a report."""
    return {
        "flag": "download",
        "reason": f"the export's {METADATA} does not list the folder {name}: graded without a "
        "name, email or SID; check in Gradescope whose submission it is",
    }


def _nameless_flag(name: str) -> dict:
    """A folder the metadata lists with nobody readable in it (`:submitters:` missing, empty,
    or not names): its gradebook row had no name, email or SID, and no one was told."""
    return {
        "flag": "download",
        "reason": f"the export's {METADATA} names nobody for the folder {name} (its submitters "
        "are missing or not readable): graded without a name, email or SID; check in "
        "Gradescope whose submission it is",
    }


def _unnamed_member_flag(name: str, unnamed: int, people: int) -> dict:
    """A group the metadata lists with someone in it whose name, email and SID are all
    unreadable: their grades.csv row held only the folder's name, which no gradebook matches,
    and the submission was on no list (its other members' names hid it)."""
    who = "a submitter" if unnamed == 1 else f"{unnamed} submitters"
    return {
        "flag": "download",
        "reason": f"the export's {METADATA} gives {who} of the {people} in the folder {name} no "
        "readable name, email or SID: grades.csv gives each such submitter a row holding only "
        "the folder's name; check in Gradescope who it is and fill in their email or SID",
    }


def _flag_claimed_twice(subs: list[Submission]) -> None:
    """Put on the TA's list each submission whose SID or email the metadata gives another one
    too: grades.csv then holds a row for that student per submission, with different scores,
    and a gradebook import keeps one of them, unseen (a student's 100 under a 0 of a forged
    or stale entry). Which is theirs is for the TA to check, as for an LMS's id given twice.
    Linear in the metadata: a forged file may give one SID to a million entries."""
    claims: dict[tuple[str, str], list[Submission]] = {}
    for sub in subs:
        for key in sorted(_keys(sub)):
            claims.setdefault(key, []).append(sub)
    shared: dict[int, list[tuple[str, str, list[Submission]]]] = {}
    for (kind, value), claimants in claims.items():
        for sub in claimants if len(claimants) > 1 else ():
            shared.setdefault(id(sub), []).append((kind, value, claimants))
    for sub in subs:
        mine = shared.get(id(sub))
        if mine:
            sub.review.append(_claimed_flag(sub, mine))


def _claimed_flag(sub: Submission, mine: list[tuple[str, str, list[Submission]]]) -> dict:
    what = " and ".join(f"the {'SID' if k == 'sid' else 'email'} {v}" for k, v, _ in mine)
    others: dict[str, None] = {}
    for _, _, claimants in mine:
        for other in claimants:
            if len(others) > 5:
                break
            if other is not sub:
                others[other.name] = None
    names = list(others)
    more = " and others" if len(names) > 5 else ""
    return {
        "flag": "download",
        "reason": f"the export's {METADATA} gives {what} to {', '.join(names[:5])}{more} too: "
        "grades.csv has a row for each, and a gradebook import keeps one; check in Gradescope "
        "which is the student's",
    }


def _keys(sub: Submission) -> set[tuple[str, str]]:
    """The SIDs and emails a submission's members have, as a gradebook matches them: case and
    surrounding blanks aside (an import trims a cell, and `1001 ` claimed 1001's row unflagged)."""
    return {
        (k, str(m[k]).strip().casefold())
        for m in sub.student.get("members") or []
        for k in ("sid", "email")
        if isinstance(m, dict) and str(m.get(k) or "").strip()
    }


def _folder_name(name: str) -> bool:
    """A plain name of one folder: no separator, no `.` or `..`, no control character."""
    return (
        bool(name)
        and name not in (".", "..")
        and not re.search(r"[/\\\x00-\x1f]", name)
        and len(name) <= 255
    )


def _as_lms_download(inp: Input, root: Entry) -> str | None:
    from .lms import lms_download  # Canvas, Moodle, Blackboard (lms.py imports this module)

    lms = lms_download(inp, root)
    return f"a {lms} download" if lms else None


def _lms_download(inp: Input, root: Entry, name: str) -> list[Submission]:
    from .lms import read_lms_download

    return read_lms_download(inp, root, name)


# How an input is recognised, first match wins: (what it is, read). The first says in words
# what the input is read as (`EXPORT`, ...), or None when it is not that shape. Export mode is
# only ever tried at the root of what `grader grade` got.
SHAPES: list[tuple[Callable[[Input, Entry], str | None], Callable]] = [
    (_as_export, _gradescope_export),
    (_as_lms_download, _lms_download),
    (_as_one_submission, _one_beside_uploads),
    (_as_folder_of_submissions, _folder_of_submissions),
]


@dataclass
class Found:
    """Every submission of an input, and what the input was read as (one of SHAPES' words)."""

    subs: list[Submission]
    read_as: str
    # Files at the top of a folder of submissions that may be a student's work but are no
    # upload (`eve.py`, `dave.rar`): `left_out`, named in `described`.
    left_out: list[str] = field(default_factory=list)
    # Hidden folders there that hold a student's work (`.honest/`: `hidden_uploads`) and hidden
    # files that are uploads (`.alice.zip`), named too; `zipped`: they sit in a zip, which must
    # be unpacked to rename them; `beside`: those beside the one folder a class's zip holds
    # (`class/` beside `.honest/`), named apart (they go into that folder).
    hidden: list[Entry] = field(default_factory=list)
    zipped: bool = False
    beside: list[Entry] = field(default_factory=list)
    top: str = ""  # that folder's name

    @property
    def is_batch(self) -> bool:
        return self.read_as != ONE

    def described(self) -> str:
        """`a Gradescope export: 2 submissions`, `one submission`: what a TA is told."""
        if not self.is_batch:
            return self.read_as
        n = len(self.subs)
        text = f"{self.read_as}: {n} submission{'' if n == 1 else 's'}"
        # An export's or a download's names, ids and emails come from the input itself, which
        # may be a student's upload holding a metadata file or names copied from an LMS. Said
        # as a question, "(one student's upload? give --one)" read to a TA grading a real
        # export as a doubt about it, with no condition on the advice.
        if self.read_as == FOLDER:
            note = self.left_out_note()
            return text + (f"; {note}" if note else "")
        return f"{text} (if it is one student's upload, grade it with --one)"

    def left_out_note(self) -> str:
        """What a TA is told of `left_out` ("" for nothing), in the terminal's first line and
        on summary.html: the class's line counted the uploads read and dropped a student's
        `eve.py` or `dave.rar` beside them without a word, and a hidden folder holding a
        student's work (`.honest/`) too."""
        notes = []
        if self.left_out:
            shown = _first_named([Entry(n, n, "file") for n in self.left_out])
            notes.append(
                f"left out, as no upload: {shown} (a student's upload is a folder, a .zip or a "
                "notebook: put each student's files in a folder of their own, an archive "
                "unpacked, and grade again)"
            )
        if self.hidden:
            notes.append(hidden_note(self.hidden, self.zipped))
        if self.beside:
            notes.append(hidden_note(self.beside, self.zipped, self.top))
        return "; ".join(notes)


def hidden_note(found: list[Entry], zipped: bool = False, into: str = "") -> str:
    """What a TA is told of the hidden folders holding a student's work and the hidden files
    that are uploads (`hidden_uploads`); `zipped`: they sit in the zip given, which is unpacked
    to rename them; `into`: they sit beside the class's one folder of that name, not in it (a
    `.honest/` there was left out unsaid)."""
    shown = _first_named(found)
    unzip = "unzip the class, " if zipped else ""
    again = "grade the folder" if zipped else "grade again"
    # Beside the class's folder, each goes into it: "rename it without the dot, move it into
    # class/ and grade that folder".
    then = f", move it into {into}/ and grade that folder" if into else f" and {again}"
    beside = f" beside {into}/" if into else ""
    one = len(found) == 1
    if not any(e.kind == "file" for e in found):
        if one:
            return (
                f"left out, as a hidden folder{beside}: {shown} (a folder whose name starts "
                "with a dot is read as a tool's, like .git, but it holds exercise files or a "
                f"notebook: if it is a student's upload, {unzip}rename it without the dot{then})"
            )
        return (
            f"left out, as hidden folders{beside}: {shown} (folders whose names start with a "
            "dot are read as tools', like .git, but these hold exercise files or notebooks: "
            f"{unzip}rename each that is a student's upload without the dot{then})"
        )
    if one:
        return (
            f"left out, as a hidden file{beside}: {shown} (a file whose name starts with a dot "
            "is read as a tool's or the system's, like .DS_Store, but it is named as a zip or "
            f"a notebook: if it is a student's upload, {unzip}rename it without the dot{then})"
        )
    return (
        f"left out, as hidden{beside}: {shown} (names that start with a dot are read as tools' "
        "or the system's, like .git and .DS_Store, but these hold exercise files or notebooks, "
        f"or are named as zips or notebooks: {unzip}rename each that is a student's upload "
        f"without the dot{then})"
    )


# How much of a hidden folder `hidden_uploads` looks at: its files and one level of folders
# below (a student's zip unpacked into a folder of its own), at most this many entries.
HIDDEN_LOOK = UploadLimits(entries=500, depth=2)


def hidden_uploads(inp: Input, root: Entry) -> list[Entry]:
    """The hidden folders at the top of a folder of submissions that hold a student's work (an
    exercise file or a notebook), and the hidden files there that are named as an upload (a
    zip, a notebook: `_hidden_upload_file`). A class's `.honest/` beside `alice/` (a student's
    name, or a name an archive tool gave) was read as a tool's folder, like `.git`, and its
    student had no row and no word; `.alice.zip` too. It is not graded: a dot folder of a class
    folder is most often a tool's (Jupyter's `.ipynb_checkpoints` holds copies of notebooks, an
    editor's or a backup tool's copies of the exercise files), and graded it would be a
    gradebook row for a folder `ls` does not show; it is named instead, with the fix (rename
    it). Quiet: what IGNORED_DIRS holds, a virtual environment, anything holding no work, and
    dot files of other names (`.DS_Store`) or holding macOS's metadata (`._alice.zip`). A zip's
    hidden paths are left out as it is listed: those that could be such work were noted then
    (`_HiddenSeen`)."""
    if inp.is_zip:
        return _hidden_in_zip(inp, tuple(root.path.split("/")) if root.path else ())
    found = []
    for e in root.children:
        if not hidden_at_top(e) or e.name in IGNORED_DIRS:
            continue
        if e.kind == "file":
            named = e.name.casefold().endswith(HIDDEN_UPLOAD_SUFFIXES)  # read no other
            if named and _hidden_upload_file(e.name, _head(e)):
                found.append(Entry(e.name, e.name, "file"))
            continue
        if e.kind != "dir":
            continue
        tree = scan_folder(inp.base, (e.name,), Budget(HIDDEN_LOOK))
        if any(c.name == ENVIRONMENT_MARKER for c in tree.children):
            continue
        if any(
            f.kind == "file" and (match_exercise(f.name, inp.files) or _is_notebook(f))
            for f in tree.walk()
        ):
            found.append(Entry(e.name, e.name, "dir"))
    return sorted(found, key=lambda e: natural_key(e.name))


def hidden_beside(inp: Input, root: Entry) -> list[Entry]:
    """`hidden_uploads` beside the one folder a class's zip holds (`class/` beside `.honest/`),
    which is read as the class: they were left out unsaid."""
    return _hidden_in_zip(inp, ()) if inp.is_zip and root.path else []


def _hidden_in_zip(inp: Input, top: tuple[str, ...]) -> list[Entry]:
    """`hidden_uploads` for the folder `top` of a class's zip, from the paths its listing left
    out."""
    work: set[str] = set()
    environments: set[str] = set()
    files: list[Entry] = []
    for parts in inp.hidden_files:
        if parts[: len(top)] != top or len(parts) <= len(top) or not hidden(parts[len(top)]):
            continue
        folder, name = parts[len(top)], parts[-1]
        if len(parts) == len(top) + 1:  # a hidden file there
            if _hidden_upload_file(name, inp.hidden_heads.get(parts)):
                files.append(Entry(name, name, "file"))
        elif name == ENVIRONMENT_MARKER and len(parts) == len(top) + 2:
            environments.add(folder)
        elif match_exercise(name, inp.files) or name.casefold().endswith(
            notebook_submissions.SUFFIX
        ):
            work.add(folder)
    folders = [Entry(n, n, "dir") for n in work - environments]
    return sorted(folders + files, key=lambda e: natural_key(e.name))


# The suffixes of a hidden file named as an upload: renamed without its dot, it would be read as
# one (a `.py` file at a class's top is no upload either way: `left_out` names it).
HIDDEN_UPLOAD_SUFFIXES = (".zip", notebook_submissions.SUFFIX)
# How an AppleDouble file starts (the metadata macOS writes as `._name` beside `name` where the
# file system has no place for it: a USB stick, a network share, `tar` on a Mac).
APPLE_DOUBLE = b"\x00\x05\x16\x07"


def _hidden_upload_file(name: str, head: bytes | None) -> bool:
    """Whether a hidden file at the top of a class (`.alice.zip`) is named as an upload and is
    not macOS's AppleDouble metadata (`._alice.zip`, told apart by its first bytes, `head`;
    None when they could not be read, which names it: the grader reads nothing of it)."""
    if not name.casefold().endswith(HIDDEN_UPLOAD_SUFFIXES):
        return False
    return head is None or not head.startswith(APPLE_DOUBLE)


def _head(e: Entry) -> bytes | None:
    """The first bytes of file entry `e`, or None where it cannot be read."""
    try:
        return e.reader(len(APPLE_DOUBLE)) if e.reader is not None else None
    except (OSError, UploadError, ValueError):
        return None


def left_out(root: Entry) -> list[str]:
    """The files at the top of a folder of submissions that may be a student's work but are
    read as no one's upload (student_entries, _loose_notebooks): a `.py` file, an archive of a
    kind the grader does not open. Another file (a roster, the TA's notes) is no one's work."""
    kept = (".py", *OTHER_ARCHIVES)
    return sorted(
        (
            e.name
            for e in root.children
            if e.kind == "file" and not hidden_at_top(e) and e.name.casefold().endswith(kept)
        ),
        key=natural_key,
    )


def find(
    path: Path,
    files: tuple[str, ...],
    limits: UploadLimits | None = None,
    *,
    notebooks_are_students: bool = True,
    one: bool = False,
    leave_out: Path | None = None,
) -> Found:
    """Every submission under `path`, and what it was read as. Nothing is unpacked to disk.

    `limits` bound what is read per submission. `notebooks_are_students`: several notebooks at
    the top of `path` are a class's, one each (a TA's door); otherwise one student's, the most
    complete graded (a student's own check). `one`: `path` is one student's upload, whatever it
    holds; its files choose no shape. A student's zip holding a `submission_metadata.yml`, or
    files named as an LMS names them, is otherwise read as a class of names they wrote
    (`grader grade --one`: a late upload, a regrade). `leave_out`: the batch's OUT, no one's
    submission where it lies at the top of a folder `path` (`--out submissions/reports`).
    """
    path = Path(path)
    if not os.path.lexists(path):
        raise SubmissionError(
            f"{path} does not exist: give a submission folder or zip, a folder "
            "of submissions, or a Gradescope export zip"
        )
    real = path.resolve()
    try:
        mode = os.stat(real).st_mode
    except OSError as e:
        raise SubmissionError(f"cannot read {path}: {e.strerror}") from None
    with contextlib.ExitStack() as stack:
        try:
            inp = _input(path, real, mode, limits or UploadLimits(), stack)
        except (UploadError, OSError) as e:
            raise SubmissionError(f"cannot read {path}: {e}") from None
        inp.files, inp.given = files, str(path)
        inp.notebooks_are_students = notebooks_are_students
        if leave_out is not None and not inp.is_zip:
            out = Path(os.path.realpath(leave_out))
            inp.top.children = [e for e in inp.top.children if not _is_out(real, e, out)]
        root = _single_top(inp.top) if inp.is_zip else inp.top
        name = path.stem if inp.is_zip else real.name
        if one:
            return Found(_one_submission(inp, root, name), ONE)
        for test, read in SHAPES:
            read_as = test(inp, root)
            if read_as:
                found = Found(read(inp, root, name), read_as)
                if read_as == FOLDER:
                    found.left_out = left_out(root)
                    found.hidden, found.zipped = hidden_uploads(inp, root), inp.is_zip
                    found.beside, found.top = hidden_beside(inp, root), root.name
                return found
    raise AssertionError("the last shape matches everything")


def _one_file(path: Path) -> str:
    """Why a PATH that is one file, neither a zip nor a notebook, is not graded, and the fix.
    A TA's `grader grade alice/exercise2.py` was told the file was "not a readable zip (it has
    no end record, as when a download is cut short)", as of a download broken on its way."""
    return (
        f"{path} is a single file, not a submission: the grader reads a folder or a zip of "
        "a student's files, or a notebook; give the folder holding it "
        f"(`grader grade{command_flag()} {path.parent} --one` grades that folder as one "
        "student's upload)"
    )


def _is_out(real: Path, e: Entry, out: Path) -> bool:
    """Whether entry `e` at the top of folder `real` (resolved) is the batch's OUT (`out`,
    resolved): its results would otherwise be graded as a student's on the next run. A folder
    listed there is no link (kinds come from lstat), so its path needs no resolving."""
    return e.kind == "dir" and real / e.name == out


def _input(path: Path, real: Path, mode: int, limits, stack) -> Input:
    if stat.S_ISDIR(mode):
        return Input(real, _list_folder(real), False, limits, stack)
    if not stat.S_ISREG(mode):
        raise SubmissionError(
            f"{path} is {kind_of(mode)}: give a submission folder or zip, a folder of "
            "submissions, or a Gradescope export zip"
        )
    if real.name.casefold().endswith(".ipynb"):  # one notebook on its own: a listed tree of one
        top = Entry(real.stem, "", "dir")
        entry = Entry(real.name, real.name, "file", 1, os.stat(real).st_size)
        entry.reader = file_reader(real.parent, (real.name,))
        top.children.append(entry)
        return Input(real.parent, top, True, limits, stack)
    f = open_zip_file(real.parent, (real.name,), stack)
    top = Entry(real.stem, "", "dir")
    # The whole zip is listed once; each submission in it is then charged to its own budget.
    whole = Budget(UploadLimits(bytes=1 << 40, entries=MAX_EXPORT_ENTRIES, depth=64))
    cut: set[str] = set()
    seen = _HiddenSeen()
    try:
        listed = scan_zip(
            f,
            path.name,
            top,
            whole,
            max_entries=MAX_EXPORT_ENTRIES,
            keep_hidden=seen.keep,
            per_upload=limits.entries,
            cut=cut,
        )
        if whole.full:
            raise TooManyEntries(f"it lists more than {MAX_EXPORT_ENTRIES} files and folders")
    except TooManyEntries as e:
        # Never a class graded from part of its listing: the uploads left out would each be
        # "missing". A folder is listed one upload at a time, each within its own limits.
        raise SubmissionError(
            f"{path} is too large to be read as one zip ({e}): unzip it and grade the folder"
        ) from None
    except (UploadError, OSError, ValueError, EOFError) as e:
        if not path.name.casefold().endswith(".zip"):
            raise SubmissionError(_one_file(path)) from None
        raise SubmissionError(
            f"{path} is a file but not a readable zip ({str(e).removeprefix(NOT_A_ZIP + ': ')}): "
            "give a submission folder or zip, a folder of submissions, or a Gradescope export zip"
        ) from None
    except Exception as e:  # zipfile raises BadZipFile and friends
        raise SubmissionError(f"{path} is not a readable zip: {e}") from None
    for folder in (top, *top.walk()):  # by name, as a folder is listed: a class zip's rows
        folder.children.sort(key=lambda e: e.name)  # came in the order its maker added them
    heads = seen.heads(listed)
    return Input(
        real.parent, top, True, limits, stack, cut=cut, hidden_files=seen.files, hidden_heads=heads
    )


class _HiddenSeen:
    """`scan_zip`'s `keep_hidden` for PATH's zip: keeps what `_at_download_top` keeps, and notes
    the paths it leaves out that `hidden_uploads` looks at, as it looks into a folder's hidden
    folders: a file in a hidden folder (not IGNORED_DIRS) at the zip's top or in its one top
    folder, or one folder below it, with no other hidden part. A class's zip holding
    `.honest/exercise1.py` beside `alice/` dropped it as it was listed, before anything could
    name it."""

    def __init__(self) -> None:
        self.files: list[tuple[str, ...]] = []
        # Hidden files there named as an upload (`.alice.zip`), whose first bytes tell them
        # from macOS's AppleDouble metadata (`_hidden_upload_file`), read once listed (`heads`).
        self.members: dict[tuple[str, ...], zipfile.ZipInfo] = {}

    def keep(self, parts: tuple[str, ...], info: zipfile.ZipInfo) -> bool:
        if _at_download_top(parts):
            return True
        at = [i for i, p in enumerate(parts) if hidden(p)]
        if (
            len(at) == 1
            and at[0] <= 1
            and parts[at[0]] not in IGNORED_DIRS
            and 0 <= len(parts) - at[0] - 1 <= HIDDEN_LOOK.depth
            and len(self.files) < HIDDEN_LOOK.entries
        ):
            if at[0] == len(parts) - 1:  # the hidden part is the file itself
                if info.is_dir() or not _hidden_upload_file(parts[-1], b""):
                    return False
                self.members[parts] = info
            self.files.append(parts)
        return False

    def heads(self, z: zipfile.ZipFile) -> dict[tuple[str, ...], bytes | None]:
        """The first bytes of each hidden file named as an upload: None for one that cannot
        be read (encrypted, an unknown compression), which is named all the same."""
        found: dict[tuple[str, ...], bytes | None] = {}
        for parts, info in self.members.items():
            try:
                with z.open(info) as f:
                    found[parts] = f.read(len(APPLE_DOUBLE))
            except Exception:  # noqa: BLE001 - zipfile's own errors: that member is unread
                found[parts] = None
        return found


def read_submission(
    path: Path,
    name: str,
    files,
    limits: UploadLimits | None = None,
) -> Submission:
    """One submission from a folder or zip; exercise files may sit in a nested folder or zip."""
    limits = limits or UploadLimits()
    path = Path(path)
    with contextlib.ExitStack() as stack:
        budget = Budget(limits)
        try:
            if path.is_dir():
                tree = scan_folder(path.resolve(), (), budget)
            else:
                real = path.resolve()
                tree = Entry(name, "", "dir")
                scan_zip(open_zip_file(real.parent, (real.name,), stack), path.name, tree, budget)
        except (UploadError, OSError, ValueError, EOFError) as e:
            return _failed(name, files, f"{path.name}: {e}", source=str(path))
        except Exception as e:  # noqa: BLE001 - zipfile's own errors: a note, never a crash
            return _failed(name, files, f"{path.name} is not a readable zip: {e}", str(path))
        return read_tree(tree, name, files, budget, stack, source=str(path))
