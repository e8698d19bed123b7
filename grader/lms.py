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
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from .submissions import (
    IGNORED_DIRS,
    MAX_FILE_BYTES,
    MAX_ZIP_BYTES,
    Submission,
    read_submission,
    slug,
)

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
    entries: list[tuple[Path, str]] = field(default_factory=list)  # (path, original file name)
    student: dict[str, str] = field(default_factory=dict)
    stamp: str = ""  # Blackboard: the attempt graded


def from_lms_download(root: Path, files: tuple[str, ...], workdir: Path) -> list[Submission] | None:
    """The submissions in `root` when it is a Canvas, Moodle or Blackboard download, else None."""
    entries = sorted(p for p in root.iterdir() if not _ignored(p))
    if not entries:
        return None
    for lms, parse in (("Canvas", _canvas), ("Moodle", _moodle), ("Blackboard", _blackboard)):
        students = parse(entries)
        if students is not None:
            return [_submission(s, lms, files, workdir) for s in students.values()]
    return None


def _ignored(p: Path) -> bool:
    return p.name.startswith(".") or p.name in IGNORED_DIRS


def _canvas(entries: list[Path]) -> dict[str, Student] | None:
    matches = [(p, CANVAS.match(p.name)) for p in entries]
    if any(m is None or not p.is_file() for p, m in matches):
        return None
    students: dict[str, Student] = {}
    for p, m in matches:
        s = students.setdefault(m["id"], Student(m["id"], m["login"]))
        s.student = {"name": m["login"], "sid": m["id"]}
        again = CANVAS_AGAIN.match(m["file"])
        s.entries.append((p, f"{again['stem']}{again['ext']}" if again else m["file"]))
    return students


def _moodle(entries: list[Path]) -> dict[str, Student] | None:
    matches = [(p, MOODLE.match(p.name)) for p in entries]
    if any(m is None for _, m in matches):
        return None
    students: dict[str, Student] = {}
    for p, m in matches:
        s = students.setdefault(m["id"], Student(m["id"], m["name"]))
        s.student = {"name": m["name"], "sid": m["id"]}
        if m["plugin"] != "file":
            continue  # online text, comments: not exercise files
        if p.is_dir():
            s.entries += [(f, f.name) for f in sorted(p.iterdir()) if not _ignored(f)]
        else:
            s.entries.append((p, m["file"]))
    return students


def _blackboard(entries: list[Path]) -> dict[str, Student] | None:
    matches = [(p, BLACKBOARD.match(p.name)) for p in entries]
    if any(m is None or not p.is_file() for p, m in matches):
        return None
    latest: dict[str, str] = {}
    for _, m in matches:
        latest[m["id"]] = max(latest.get(m["id"], ""), m["stamp"])
    students: dict[str, Student] = {}
    for p, m in matches:
        if m["stamp"] != latest[m["id"]]:
            continue  # an earlier attempt
        s = students.setdefault(m["id"], Student(m["id"], m["id"], stamp=m["stamp"]))
        if m["receipt"]:
            s.name = _receipt_name(p) or s.name
        else:
            s.entries.append((p, m["file"]))
        s.student = {"name": s.name, "sid": m["id"]}
    return students


def _receipt_name(path: Path) -> str:
    """The full name on a Blackboard receipt's `Name: First Last (username)` line."""
    if path.stat().st_size > MAX_RECEIPT_BYTES:
        return ""
    m = RECEIPT_NAME.search(path.read_bytes().decode("utf-8", "replace"))
    return m["name"].strip() if m else ""


def _submission(s: Student, lms: str, files: tuple[str, ...], workdir: Path) -> Submission:
    """The student's files, under their original names, in a folder of their own, read the way
    any submission folder is read (nested folders and zips included)."""
    folder = workdir / "lms" / slug(f"{s.name}_{s.key}")
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    notes = []
    for path, original in s.entries:
        _copy(path, folder / _safe_name(original), notes)
    name = f"{s.name} ({s.key})"
    sub = read_submission(folder, name, files, workdir)
    sub.student = dict(s.student)
    sub.notes = [f"from a {lms} download", *notes, *sub.notes]
    return sub


def _safe_name(original: str) -> str:
    """A file name from the student's upload, never a path: the last part, cleaned."""
    return slug(original.replace("\\", "/").rsplit("/", 1)[-1]) or "file"


def _links(folder: str, names: list[str]) -> list[str]:
    return [n for n in names if Path(folder, n).is_symlink()]


def _copy(src: Path, dest: Path, notes: list[str]) -> None:
    limit = MAX_ZIP_BYTES if src.suffix.lower() == ".zip" else MAX_FILE_BYTES
    if src.is_symlink():
        return  # a link is not an upload
    if src.is_dir():
        shutil.copytree(src, dest, ignore=_links, dirs_exist_ok=True)
    elif src.stat().st_size <= limit:
        shutil.copyfile(src, dest)
    else:
        notes.append(f"{src.name} is larger than {limit} bytes and was not read")
