"""Which file of an upload is each exercise: one rule for `grader grade` and the bundle's check.py.

A file named like the exercise, ignoring case (`exercise1.py`), wins over a variant a browser or
a student makes (`exercise1 (1).py`, `Exercise 1.py`, `exercise_01.py`); a shallower file wins over
a deeper one; zips inside the upload are opened for exercises not found outside them. Two
different files left tied for one exercise are not guessed between: that exercise is not graded,
and the note says which files and what to do (docs/submissions.md).

It works on the listing `uploads.py` makes of a folder or a zip and reads nothing but the chosen
files' bytes (and, in an upload holding no exercise file, the head of a few .py files, to tell a
notebook exported as a script). It ships in the student bundle (stdlib only, like uploads.py),
so the bundle's check.py takes the file the grader will take, from a subfolder or a zip as much
as from the top.
"""

from __future__ import annotations

import contextlib
import difflib
import re
import unicodedata
from collections.abc import Callable

from .exercise_names import COPY, DRIVE_COPY, match_name, plain
from .uploads import (
    AmbiguousEntry,
    Budget,
    Entry,
    UploadError,
    open_inner_zip,
    read_capped,
    size_text,
)

MAX_INNER_ZIPS = 5  # zips inside one submission opened to look for missing exercises
# Candidates for one exercise read to be compared (the best tied ones) or, beside an untouched
# stub, parsed for work (submissions.py): those past them are named, never read.
MAX_COPIES_READ = 5
LISTED = 15  # files named when telling a student what their upload held
# The list, beside a student bundle's shipped modules, of the names at the top of the bundle's
# folder that are its own (README.md, check.py, the modules' folder; not the exercise files nor
# a notebook, which may hold work): a check run in that folder leaves them out of what it says
# the folder held (bundle.py writes it, local_check.bundle_own reads it).
OWN_LIST = "bundle_files.txt"
# Characters of one name in that listing: a zip may name an entry with 65,535 bytes, and fifteen
# such names, quoted whole in each missing exercise's state, made a 1.8 MB results.json whose
# page's top was one screen of `aaaa...` per exercise (the TA's report and grades.csv as much).
MAX_LISTED_NAME = 120
NONE: tuple[None, None, str] = (None, None, "")  # `_choose` for an exercise with no candidate


def _python(data: bytes) -> bytes:
    return data


# How each kind of exercise file becomes Python source: one function per file suffix (a reader
# for notebooks adds ".ipynb" here).
READERS: dict[str, Callable[[bytes], bytes]] = {".py": _python}


def match_exercise(filename: str, files: tuple[str, ...]) -> tuple[str, int] | None:
    """Which exercise a file name means and how surely (0: its exact name, 1: a variant)."""
    return match_name(filename, files, tuple(READERS))


def _suffix(name: str) -> str:
    return next((s for s in READERS if name.casefold().endswith(s)), next(iter(READERS)))


def relative(top: Entry, e: Entry) -> str:
    return e.path[len(top.path) + 1 :] if top.path else e.path


def candidates(top: Entry, files, budget: Budget) -> dict[str, list[tuple[int, int, Entry]]]:
    """Each exercise's files in `top`, as (rank, depth, entry): exact names first, then by kind
    of file; `submissions.py` also looks with it into a zip left shut."""
    found: dict[str, list[tuple[int, int, Entry]]] = {}
    deep = False
    for n, e in enumerate(top.walk()):
        if n >= budget.limits.entries:  # a zip listed whole (an export) is cut here
            budget.stop(relative(top, e))
            break
        if e.depth - top.depth > budget.limits.depth:
            if not deep:
                deep = True
                budget.notes.append(
                    f"did not look at {relative(top, e)}: nested more than {budget.limits.depth} "
                    "levels deep"
                )
            continue
        m = match_exercise(e.name, files) if e.kind == "file" else None
        if m:
            # Exact names first, then by kind of file (a .py before whatever READERS adds).
            rank = m[1] * len(READERS) + list(READERS).index(_suffix(e.name))
            found.setdefault(m[0], []).append((rank, e.depth - top.depth, e))
    return found


def _open_inner_zips(top, files, found, budget, stack) -> dict[str, tuple[str, str]]:
    """Look inside zips of the upload, shallowest first, for exercises not found outside them;
    by exercise, the zip it was first found in and the note saying it was read from there.

    A zip as deep as the one an exercise was first found in is opened too, and what it offers
    for that exercise joins the candidates: two zips side by side (`hw.zip`, `hw (1).zip`) are
    two candidates, compared as any tie is (`_choose`: different files make the exercise
    ambiguous), never one taken over the other because it came first in the listing."""
    opened = 0
    zip_depth: dict[str, int] = {}  # an exercise found in a zip: that zip's depth
    read_from: dict[str, tuple[str, str]] = {}
    while True:
        inner = next(
            (
                e
                for e in top.walk()
                if e.kind == "file" and not e.opened and e.name.casefold().endswith(".zip")
            ),
            None,
        )
        done = all(f in found for f in files)
        if inner is None or (done and inner.depth > max(zip_depth.values(), default=-1)):
            if inner is not None:
                _left_shut_note(top, files, found, budget)
            return read_from
        if opened >= MAX_INNER_ZIPS:
            # Still missing an exercise, or a sixth zip beside those it was found in (a
            # candidate as good as theirs, never compared): said either way (the second went
            # without a word).
            _unopened_note(top, budget)
            return read_from
        opened += 1
        try:
            open_inner_zip(inner, stack, budget)
        except UploadError as err:
            budget.notes.append(str(err))
            continue
        new = candidates(inner, files, budget)
        for f, cands in new.items():
            placed = [(r, d + inner.depth - top.depth, e) for r, d, e in cands]
            if f not in found:
                found[f], zip_depth[f] = placed, inner.depth
                where = relative(top, inner)
                note = f"read {f}{_suffix(cands[0][2].name)} from the zip {where}"
                read_from[f] = (where, note)
                budget.notes.append(note)
            elif zip_depth.get(f) == inner.depth:
                found[f] += placed  # a zip beside the first: a candidate as good as its
                budget.notes.append(f"found {f} in the zip {relative(top, inner)} too")


def shut_zips(top: Entry) -> list[Entry]:
    """The zips of an upload never opened (each one that was is listed, or failed to be)."""
    return [
        e
        for e in top.walk()
        if e.kind == "file" and not e.opened and e.name.casefold().endswith(".zip")
    ]


def _left_shut_note(top: Entry, files: tuple[str, ...], found: dict, budget: Budget) -> None:
    """Say which zips were not opened because every exercise was found without them: a
    student's `final.zip` beside an older `layers.py` was passed over without a word, and the
    older file graded. Whether the zip holds other work is the TA's to know
    (`submissions.py` looks into it, for the "needs a look" list)."""
    shut = [relative(top, e) for e in shut_zips(top)]
    more = f" and {len(shut) - LISTED} more" if len(shut) > LISTED else ""
    names = [relative(top, min(found[f], key=lambda c: c[:2])[2]) for f in files]
    it = "it" if len(shut) == 1 else "them"
    budget.notes.append(
        f"did not open {', '.join(shut[:LISTED])}{more}: {', '.join(names)} "
        f"{'was' if len(names) == 1 else 'were'} found outside {it}, and a zip inside an upload "
        f"is opened only to look for an exercise file not found outside one; if your work is in "
        f"{it}, upload your files themselves, not in a zip"
    )


def _unopened_note(top: Entry, budget: Budget) -> None:
    """Say which zips were left shut, with an exercise still missing: a student whose work sat
    in a sixth zip (after five of data or old attempts) got 0 points and "no exercise files
    found", the zip listed among their files and no word on why it was not looked into."""
    shut = [relative(top, e) for e in shut_zips(top)]
    more = f" and {len(shut) - LISTED} more" if len(shut) > LISTED else ""
    budget.notes.append(
        f"did not open {', '.join(shut[:LISTED])}{more}: at most {MAX_INNER_ZIPS} zips inside "
        "an upload are opened; upload your exercise files themselves, not in a zip"
    )


def _choose(
    f: str, cands: list[tuple[int, int, Entry]], top: Entry, budget: Budget
) -> tuple[bytes | None, str | None, str]:
    """The bytes for exercise `f` and, when None, why; the path of the file chosen ("" for
    none); notes say what was chosen over what."""
    limit = budget.limits.file_bytes
    cands = sorted(cands, key=lambda c: (c[0], c[1], c[2].path))
    best = [c for c in cands if c[:2] == cands[0][:2]][:MAX_COPIES_READ]
    contents: dict[str, bytes] = {}
    doubtful: list[str] = []
    failed: dict[str, str] = {}  # a candidate's path: why it could not be read (naming it)
    for _, _, e in best:
        try:
            contents[relative(top, e)] = read_capped(e, limit, budget)
        except AmbiguousEntry as err:
            doubtful.append(str(err))
        except UploadError as err:
            failed[relative(top, e)] = str(err)
    if doubtful:  # a zip's entries at one path that differ: no tied file is taken over them
        return None, "ambiguous: " + "; ".join(doubtful), ""
    if not contents:
        # Said once, where every item shows it: the same words as a note beside it, and
        # "could not be read (… is encrypted …)" around them, read as two problems.
        return None, "missing: " + "; ".join(failed.values()), ""
    if len(set(contents.values())) > 1:
        names = ", ".join(contents)
        return (
            None,
            (
                f"ambiguous: {names} could each be {f}{_suffix(best[0][2].name)} and differ; not "
                f"graded: keep one file named {f}{_suffix(best[0][2].name)}"
            ),
            "",
        )
    path, data = next(iter(contents.items()))
    if len(data) > limit:
        return None, _too_large(path, f, data, limit), ""
    chosen = next(c for c in best if relative(top, c[2]) == path)
    wanted = f + _suffix(chosen[2].name)
    if chosen[2].name.casefold() != wanted.casefold():
        budget.notes.append(f"graded {path} as {wanted}")
    elif "/" in path:
        budget.notes.append(_found_note(path))
    budget.notes += [f"{why}; graded {path} instead" for why in failed.values()]
    others = [
        relative(top, c[2])
        for c in cands
        if relative(top, c[2]) not in contents and relative(top, c[2]) not in failed
    ]
    if others:
        budget.notes.append(f"also found {', '.join(others[:5])}: not graded (graded {path})")
    return READERS[_suffix(chosen[2].name)](data), None, path


def _too_large(path: str, f: str, data: bytes, limit: int) -> str:
    """Why exercise `f`'s file `path` was not graded, being over `limit` bytes. The assignment's
    notebook exported as a script is that large (its setup cell carries the check's code), and
    renamed as an exercise it read only "too large ... (keep only your code in it)", never that
    it is a notebook's export, nor that the notebook itself is what to submit."""
    how = export_mark(data[:EXPORT_HEAD])
    if how is None:
        return (
            f"too large: {path} is over {size_text(limit)} and was not graded (keep only your "
            "code in it)"
        )
    return (
        f"too large: {path} is a notebook exported as a Python script ({how}), over "
        f"{size_text(limit)}, and was not graded: submit the notebook itself ({SUBMIT_NOTEBOOK}), "
        f"or only your {f} functions in {path}"
    )


# The note on an upload that holds no exercise file, and what it held: the TA's list quotes it.
NOTHING_FOUND, UPLOAD_HELD = "no exercise files found", "; the upload held: "
# The state of an exercise file missing beside others (said to the student, who uploaded it).
MISSING_BESIDE = "missing: not in your upload, which held "


# What is said of a zip that holds no file, and what to do about it.
EMPTY_ZIP = (
    "an empty zip, holding no file: zip the exercise files themselves again, check that it "
    "lists them, and upload that"
)


def upload_held(top: Entry, own: frozenset[str] = frozenset()) -> str:
    """The files an upload held, for a student who named a file otherwise than expected. A zip
    that holds no file says so, and what to do: "the upload held: empty.zip" (or "no files", of
    an upload that was that zip) left both to guess why nothing was found. Files under a name
    of `own` at the upload's top (a student bundle's own, OWN_LIST) are left out: in the
    bundle's folder they came first, and the student's own files were cut off after 15. An
    entry that is no regular file (a symbolic link, a FIFO) is named as what it is: an upload
    of three links named as the exercise files read "no exercise files found (the upload held:
    no files)" on the TA's list, as of a student who handed in nothing."""
    names = [
        shortened(relative(top, e))
        + (f" ({EMPTY_ZIP})" if e.empty_zip else "")
        + ("" if e.kind == "file" else f" ({e.kind}, not read)")
        for e in top.walk()
        if e.kind != "dir" and relative(top, e).split("/", 1)[0] not in own
    ]
    if not names:
        return f"no files ({top.name} is {EMPTY_ZIP})" if top.empty_zip else "no files"
    more = f" and {len(names) - LISTED} more" if len(names) > LISTED else ""
    return ", ".join(names[:LISTED]) + more


def shortened(name: str, limit: int = MAX_LISTED_NAME) -> str:
    """`name` cut in the middle past `limit` characters: its start and its end (the suffix, the
    part a student tells their files by) are kept, so a name that long is still recognised."""
    if len(name) <= limit:
        return name
    keep = (limit - 3) // 2
    return f"{name[:keep]}...{name[-keep:]}"


def exercise_files(
    top: Entry, files: tuple[str, ...], budget: Budget, stack: contextlib.ExitStack
) -> tuple[dict, dict[str, bytes | None], dict[str, str]]:
    """For each exercise of `files`: its candidates in the upload, the bytes chosen (None when
    none was or none could be), and why when it could not be chosen (ambiguous, too large)."""
    found = candidates(top, files, budget)
    read_from = _open_inner_zips(top, files, found, budget, stack)
    contents: dict[str, bytes | None] = {}
    absent: dict[str, str] = {}
    for f in files:
        contents[f], why, path = _choose(f, found[f], top, budget) if f in found else NONE
        if why:
            absent[f] = why
        zipped, note = read_from.get(f, ("", ""))
        if note and not path.startswith(zipped + "/"):
            # Not graded from that zip (encrypted, too large, two differing copies; or a zip
            # beside it gave the file graded): "read exercise1.py from the zip a.zip" stood
            # beside "a.zip/exercise1.py is encrypted" and a note that b.zip's was graded.
            budget.notes.remove(note)
        elif note and (found_in := f"found {path[len(zipped) + 1 :]} in {zipped}/") in budget.notes:
            # Said once: "found exercise1.py in hw.zip/" repeated the note on reading it there.
            budget.notes.remove(found_in)
        elif note and _found_note(path) in budget.notes:
            # In a folder of the zip ("found exercise1.py in hw.zip/hw/"), which says where: the
            # note on reading it from the zip, which does not, went beside it.
            budget.notes.remove(note)
    return found, contents, absent


# The notebooks of an upload that are read: any `*.ipynb` at most MAX_NOTEBOOK_DEPTH folders
# deep, the first MAX_NOTEBOOKS of them (a submission is one student's work).
MAX_NOTEBOOK_DEPTH = 3
MAX_NOTEBOOKS = 20


def find_notebooks(top: Entry) -> list[Entry]:
    """Regular `.ipynb` files of an upload's tree, shallowest first (the walk's order): the
    grader's (notebook_submissions) and a student's check's (notebook_instead) one rule."""
    found = [
        e
        for e in top.walk()
        if e.kind == "file"
        and e.name.casefold().endswith(".ipynb")
        and e.depth - top.depth <= MAX_NOTEBOOK_DEPTH + 1
    ]
    return found[:MAX_NOTEBOOKS]


def _found_note(path: str) -> str:
    """The note on a file found in a folder (`_choose`), of its path in the upload."""
    folder, name = path.rsplit("/", 1)
    return f"found {name} in {folder}/"


def note_missing(
    top: Entry,
    files: tuple[str, ...],
    found: dict,
    contents: dict[str, bytes | None],
    absent: dict[str, str],
    budget: Budget,
    own: frozenset[str] = frozenset(),
) -> list[tuple[Entry, str]]:
    """Say what the upload held where an exercise is not in it (in `budget.notes`): a note when
    it holds none, the reason in `absent` for each one missing beside others (a student who named
    a file otherwise sees the name they used), and a note on each .py file of it that is a
    notebook exported as a script, whether exercise files were found beside it or not (those
    exports are returned, for the TA's flag where what was graded holds no work); `own`: see
    upload_held."""
    wanted = ", ".join(f + ".py" for f in files)
    held = upload_held(top, own)
    notes = budget.notes
    if any(v is None for v in contents.values()):
        notes += other_archives(top)
    if not any(v is not None for v in contents.values()) and not absent:
        # The likely files named here too: an assignment of one file is always in this case,
        # and `layer.py` for `layers.py` drew only "no exercise files found".
        guesses = "".join(
            f"; {' or '.join(likely)} may be {f}.py: the grader reads only {f}.py, so rename it"
            for f in files
            if (likely := likely_files(top, f, files))
        )
        notes.append(
            f"{NOTHING_FOUND} (expected {wanted}, or a notebook that defines their "
            f"functions{guesses}){UPLOAD_HELD}{held}"
        )
    if any(v is not None for v in contents.values()):
        for f in files:
            if f not in found:
                odd = not_regular(top, f, files)
                absent[f] = (
                    _not_found(top, f, files, held) if odd is None else skipped(top, odd, budget)
                )
    exported = exported_notebooks(top, files, budget)
    beside = any(v is not None for v in contents.values())
    notes += [_exported_note(e, how, wanted, beside) for e, how in exported]
    return exported


def _not_found(top: Entry, f: str, files: tuple[str, ...], held: str) -> str:
    """The state of an exercise missing beside others, naming the upload's .py files that look
    like its file (`likely_files`) first: "not in your upload, which held ex1.py, ..." (in the
    bundle's folder, after a dozen of its own files) left the student to see that the grader
    reads exact names."""
    likely = likely_files(top, f, files)
    if not likely:
        return f"{MISSING_BESIDE}{held}"
    return (
        f"missing: not in your upload; {' or '.join(likely)} may be it: the grader reads only "
        f"{f}.py, so rename it (the upload held {held})"
    )


# How alike a file's name and an unnumbered exercise's must be to be named as likely
# (difflib's ratio of the two plain names: `layres` for `layers` is 0.83, `layer` 0.91).
LIKELY_RATIO = 0.8
LIKELY_SHOWN = 3  # likely files named for one exercise


def likely_files(top: Entry, f: str, files: tuple[str, ...]) -> list[str]:
    """The upload's .py files that no exercise's name reads as (`match_exercise`) but that look
    like exercise `f`'s file, to be named with "rename it" (`likely_entries`), by their paths."""
    return [shortened(relative(top, e)) for e in likely_entries(top, f, files)]


def likely_entries(top: Entry, f: str, files: tuple[str, ...]) -> list[Entry]:
    """The upload's .py files that no exercise's name reads as (`match_exercise`) but that look
    like exercise `f`'s file, at most LIKELY_SHOWN. A numbered exercise's: those whose
    name bears its number and no other (`ex1.py` for exercise1.py). An unnumbered one's: those
    whose plain name holds its plain name, is held in it, or is spelled almost alike (`layer.py`,
    `my_layers.py`, `layres.py` for layers.py), which one number could not tell: a one-file
    assignment's misnamed file drew no guess at all. Beside an untouched stub graded for `f`,
    they are judged for work too (submissions.py: `ex2.py` holding exercise 2 beside the
    bundle's exercise2.py scored 0 off the TA's list)."""
    number = re.sub(r"\D", "", f)
    target = plain(f)
    likely: list[Entry] = []
    for e in top.walk():
        # Invisible characters and blanks after `.py` (`exercise2.py` and a zero-width space,
        # pasted from a page) leave a name no exercise reads as, still a .py file to a person.
        bare = "".join(c for c in e.name if unicodedata.category(c) != "Cf").rstrip()
        if not (e.kind == "file" and bare.casefold().endswith(".py")):
            continue
        if match_exercise(e.name, files) is not None:
            continue
        if number:
            alike = re.sub(r"\D", "", e.name) == number
        else:
            stem = DRIVE_COPY.sub("", bare[: -len(".py")]).casefold()
            name = plain(COPY.sub("", stem)) or plain(stem)
            alike = len(name) >= 3 and (
                name in target
                or target in name
                or difflib.SequenceMatcher(None, name, target).ratio() >= LIKELY_RATIO
            )
        if alike:
            likely.append(e)
            if len(likely) == LIKELY_SHOWN:
                break
    return likely


# Archives of kinds the grader does not open (only zips are), by the ends of their names: the
# student who uploaded hw.rar read only "the upload held: hw.rar" beside a 0.
OTHER_ARCHIVES = {
    ".rar": "a RAR archive",
    ".7z": "a 7-Zip archive",
    ".tar": "a tar archive",
    ".tar.gz": "a tar archive",
    ".tgz": "a tar archive",
    ".tar.bz2": "a tar archive",
    ".tar.xz": "a tar archive",
    ".gz": "a gzip file",
    ".bz2": "a bzip2 file",
    ".xz": "an xz file",
}


# What a file compressed alone (.gz, .bz2, .xz) may hold of a student's work: its name without
# the compressor's ending ends so, or has no ending at all ("hw.gz"). A data file the student
# kept beside their work ("names.txt.gz") is no archive of it: the note sent them to zip it.
WORK_INSIDE = (".py", ".ipynb", ".zip")
SINGLE_FILE = (".gz", ".bz2", ".xz")


def other_archives(top: Entry) -> list[str]:
    """A note for each archive of the upload the grader does not open, saying what to upload."""
    notes = []
    for e in top.walk():
        lower = e.name.lower()
        suffix = next((s for s in OTHER_ARCHIVES if lower.endswith(s)), None)
        kind = OTHER_ARCHIVES.get(suffix or "")
        if kind and suffix in SINGLE_FILE and not _may_hold_work(lower[: -len(suffix)]):
            kind = None
        if e.kind == "file" and kind:
            notes.append(
                f"{shortened(relative(top, e))} is {kind}, which the grader does not open: "
                "upload a .zip instead (or the files themselves)"
            )
    return notes[:LISTED]


def _may_hold_work(inner: str) -> bool:
    """Whether a file compressed alone under the name `inner` may be the student's work."""
    return inner.endswith(WORK_INSIDE) or "." not in inner.lstrip(".")


def not_regular(top: Entry, f: str, files: tuple[str, ...]) -> Entry | None:
    """The entry named as exercise `f` that is no regular file (a symbolic link, a FIFO, a
    folder), which the grader never reads: its exercise said "not in your upload", beside a note
    that the very file was skipped (or, of a folder named `exercise1.py`, beside a list of the
    upload's files that did not name it)."""
    for e in top.walk():
        if e.kind != "file" and (m := match_exercise(e.name, files)) and m[0] == f:
            return e
    return None


def skipped(top: Entry, odd: Entry, budget: Budget) -> str:
    """The state of an exercise whose file is `odd`, no regular file; said once, so the note
    that skipped it goes."""
    budget.notes[:] = [n for n in budget.notes if not n.startswith(f"skipped {odd.path}: ")]
    kind = "a folder, not a file" if odd.kind == "dir" else f"{odd.kind}, not a regular file"
    return f"missing: {relative(top, odd)} is {kind}, so it was not read: upload the file itself"


# A notebook saved as a Python script: Jupyter's File > Save and Export As > Executable Script
# marks each cell `# In[3]:`; Colab's File > Download > Download .py opens with this docstring line;
# VS Code's Export (and Jupytext) mark cells `# %%`.
_EXPORT_MARKS = (
    (re.compile(rb"^# In\[[ \d]*\]:[ \t]*\r?$", re.MULTILINE), "Jupyter's `# In[ ]:` cell marks"),
    (re.compile(rb"^Automatically generated by Colab", re.MULTILINE), "Colab's Download .py"),
    (re.compile(rb"^# %%", re.MULTILINE), "the `# %%` cell marks of VS Code's Export"),
)
EXPORT_HEAD = 64 << 10  # where the marks are: the first cell's, or Colab's docstring
MAX_EXPORTS_READ = 5


def exported_notebooks(
    top: Entry, files: tuple[str, ...], budget: Budget
) -> list[tuple[Entry, str]]:
    """The .py files of an upload that are notebooks exported as scripts, each with how it tells.
    Such a file holds every exercise's functions at once (two exercises may define one name)
    and has the notebook's name, not an exercise's: it read as "no exercise files found" alone,
    and its student, who had submitted their work, was not told what to submit instead. One
    beside exercise files is named too: the bundle's folder uploaded with a Colab export in it
    graded the untouched stubs (0 points) without a word of the export. An exercise's own file
    is read as that exercise (an export renamed so fails as Python does, saying why), and is
    not looked at here: the bundle's own check.py and stubs left no room in the five looked at."""
    scripts = [
        e
        for e in top.walk()
        if e.kind == "file"
        and e.name.casefold().endswith(".py")
        and match_exercise(e.name, files) is None
    ]
    exported = []
    for e in scripts[:MAX_EXPORTS_READ]:
        try:
            head = read_capped(e, EXPORT_HEAD, budget)
        except UploadError:
            continue
        if how := export_mark(head):
            exported.append((e, how))
    return exported


def export_mark(head: bytes) -> str | None:
    """How the head of a .py file tells a notebook exported as a script, or None."""
    return next((how for mark, how in _EXPORT_MARKS if mark.search(head)), None)


SUBMIT_NOTEBOOK = "Colab: File > Download > Download .ipynb; Jupyter: File > Download"


# How `# %%` marks tell: VS Code's Export writes them, and so does a student's own script of cells
# run in VS Code's interactive window (a scratch file).
CELL_MARKS = _EXPORT_MARKS[2][1]


def _exported_note(entry: Entry, how: str, wanted: str, beside: bool = False) -> str:
    """The note on a notebook exported as a script. A file of `# %%` cells beside exercise files
    (`beside`) may as well be the student's scratch script as an export: "is a notebook exported
    ..., submit the notebook itself" was said of it beside exercise files holding the work,
    which is not true of a scratch file and sent its student to look for a notebook. It is said
    to be ungraded, and where its functions go to be graded."""
    if beside and how == CELL_MARKS:
        return (
            f"{entry.name} is not graded: it has `# %%` cell marks (a notebook's Export in VS "
            "Code, or a script of cells run there), and the grader reads only "
            f"{wanted}: put any function of it you want graded in those files (or, if it is a "
            "notebook's export, submit that notebook instead)"
        )
    return (
        f"{entry.name} is a notebook exported as a Python script ({how}), which the grader does "
        f"not read: submit the notebook itself ({SUBMIT_NOTEBOOK}), or your functions in {wanted}"
    )
