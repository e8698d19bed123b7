"""Class downloads from learning management systems: Canvas, Moodle and Blackboard.

Each LMS names the files of its "download all submissions" after the student, in its own scheme
(the formats as their documentation and downloads show them; nothing else is read):

- Canvas: one flat folder, `<loginname>[_late]_<user id>_<submission id>_<file name>`, where
  the login name is the student's name in lower case without spaces (`smithbob`) and a file
  uploaded again gets `-1`, `-2` before its extension (`exercise1-1.py`).
- Moodle: a folder per student, `<Full Name>_<participant id>_assignsubmission_file_`, holding
  the files as uploaded; or, without "download submissions in folders", flat files
  `<Full Name>_<participant id>_assignsubmission_file_<file name>`.
- Blackboard: one flat folder, `<assignment>_<username>_attempt_<YYYY-MM-DD-HH-MM-SS>_<file
  name>`, beside a receipt `<assignment>_<username>_attempt_<stamp>.txt` whose `Name:` line holds
  the student's full name. The latest attempt of each student is graded.

A folder is taken for an LMS download only when every entry in it follows one scheme, so a
plain folder of submissions is never misread. Names and ids from file names are the student's
own text: they are kept as data (escaped in reports, defused in the gradebook), never as paths.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .submissions import (
    IGNORED_DIRS,
    Input,
    Submission,
    read_tree,
    slug,
)
from .uploads import Budget, Entry, UploadError, UploadLimits, read_capped

CANVAS = re.compile(
    r"^(?P<login>[^_]+?)(?P<late>_(?i:late))?_(?P<id>\d+)_(?P<sub>\d+)_(?P<file>.+)$"
)
MOODLE = re.compile(r"^(?P<name>.+?)_(?P<id>\d+)_assignsubmission_(?P<plugin>[a-z]+)_(?P<file>.*)$")
BLACKBOARD = re.compile(
    r"^(?P<assignment>.+)_(?P<id>[^_]+)_attempt_"
    r"(?P<stamp>\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2})(?:_(?P<file>.+)|(?P<receipt>\.txt))$"
)
# Canvas renames a file uploaded again: exercise1-1.py, exercise1-2.py.
CANVAS_AGAIN = re.compile(r"^(?P<stem>.+?)-\d+(?P<ext>\.[A-Za-z0-9]+)$")
RECEIPT_NAME = re.compile(r"^Name:\s*(?P<name>.+?)\s*(?:\((?P<user>[^()]*)\))?\s*$", re.M)
MAX_RECEIPT_BYTES = 64 << 10


@dataclass
class Student:
    """One student's entries in a download, before they become a Submission."""

    key: str  # the id the LMS gives (user id, participant id, username)
    name: str
    entries: list[tuple[Entry, str]] = field(default_factory=list)  # (entry, original name)
    student: dict[str, str] = field(default_factory=dict)
    stamp: str = ""  # Blackboard: the attempt graded
    receipt: Entry | None = None


def _ignored(e: Entry) -> bool:
    return e.name.startswith(".") or e.name in IGNORED_DIRS


def _parse(root: Entry) -> tuple[str, dict[str, Student]] | None:
    """Which LMS named the entries of `root`, and its students; None for anything else."""
    entries = [e for e in root.children if not _ignored(e)]
    if not entries:
        return None
    for lms, parse in (("Canvas", _canvas), ("Moodle", _moodle), ("Blackboard", _blackboard)):
        students = parse(entries)
        if students is not None:
            return lms, students
    return None


def is_lms_download(inp: Input, root: Entry) -> bool:
    """A row of `submissions.SHAPES`: every entry of the root follows one LMS's scheme."""
    return _parse(root) is not None


def read_lms_download(inp: Input, root: Entry, name: str) -> list[Submission]:
    """A row of `submissions.SHAPES`: one submission per student of the download."""
    lms, students = _parse(root)
    return [_submission(inp, s, lms) for s in students.values()]


def _canvas(entries: list[Entry]) -> dict[str, Student] | None:
    matches = [(e, CANVAS.match(e.name)) for e in entries]
    if any(m is None or e.kind != "file" for e, m in matches):
        return None
    students: dict[str, Student] = {}
    for e, m in matches:
        s = students.setdefault(m["id"], Student(m["id"], m["login"]))
        s.student = {"name": m["login"], "sid": m["id"]}
        again = CANVAS_AGAIN.match(m["file"])
        s.entries.append((e, f"{again['stem']}{again['ext']}" if again else m["file"]))
    return students


def _moodle(entries: list[Entry]) -> dict[str, Student] | None:
    matches = [(e, MOODLE.match(e.name)) for e in entries]
    if any(m is None for _, m in matches):
        return None
    students: dict[str, Student] = {}
    for e, m in matches:
        s = students.setdefault(m["id"], Student(m["id"], m["name"]))
        s.student = {"name": m["name"], "sid": m["id"]}
        if m["plugin"] == "file":  # online text, comments: not exercise files
            s.entries.append((e, m["file"] or e.name))
    return students


def _blackboard(entries: list[Entry]) -> dict[str, Student] | None:
    matches = [(e, BLACKBOARD.match(e.name)) for e in entries]
    if any(m is None or e.kind != "file" for e, m in matches):
        return None
    latest: dict[str, str] = {}
    for _, m in matches:
        latest[m["id"]] = max(latest.get(m["id"], ""), m["stamp"])
    students: dict[str, Student] = {}
    for e, m in matches:
        if m["stamp"] != latest[m["id"]]:
            continue  # an earlier attempt
        s = students.setdefault(m["id"], Student(m["id"], m["id"], stamp=m["stamp"]))
        if m["receipt"]:
            s.receipt = e
        else:
            s.entries.append((e, m["file"]))
        s.student = {"name": s.name, "sid": m["id"]}
    return students


def _receipt_name(entry: Entry, budget: Budget) -> str:
    """The full name on a Blackboard receipt's `Name: First Last (username)` line."""
    try:
        raw = read_capped(entry, MAX_RECEIPT_BYTES, budget)
    except UploadError:
        return ""
    m = RECEIPT_NAME.search(raw[:MAX_RECEIPT_BYTES].decode("utf-8", "replace"))
    return m["name"].strip() if m else ""


def _submission(inp: Input, s: Student, lms: str) -> Submission:
    """The student's entries under their original names, as one upload's tree, read the way any
    submission is read (nested folders and zips included). Nothing is copied or unpacked."""
    budget = Budget(inp.limits or UploadLimits())
    if s.receipt is not None:
        s.name = _receipt_name(s.receipt, budget) or s.name
        s.student["name"] = s.name
    top = Entry(s.name, "", "dir")
    for e, original in s.entries:
        if e.kind == "dir":
            try:
                opened = inp.open(e, budget)
            except (UploadError, OSError) as err:
                budget.notes.append(f"could not read {e.name}: {err}")
                continue
            top.children += opened.children
        elif e.kind == "file":
            top.children.append(
                Entry(_safe_name(original), original, "file", 1, e.size, reader=e.reader)
            )
        else:
            budget.notes.append(f"skipped {e.name}: {e.kind}, not a regular file")
    name = f"{s.name} ({s.key})"
    sub = read_tree(top, name, inp.files, budget, inp.stack, source=s.key)
    sub.student = dict(s.student)
    sub.notes = [f"from a {lms} download", *sub.notes]
    return sub


def _safe_name(original: str) -> str:
    """A file name from the student's upload, never a path: the last part, cleaned."""
    return slug(original.replace("\\", "/").rsplit("/", 1)[-1]) or "file"
