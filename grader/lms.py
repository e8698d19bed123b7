"""Class downloads from learning management systems: Canvas, Moodle and Blackboard.

Each LMS names the files of its "download all submissions" after the student, in its own scheme
(the formats as their documentation and downloads show them; nothing else is read):

- Canvas: one flat folder, `<login>[_LATE]_<user id>_<file id>_<file name>`, where the login is
  the word characters of the student's sortable name in lower case (`Smith, Bob` is `smithbob`;
  `_` and digits stay, except that `_<digits>_` is folded into the digits; older versions write
  `late`; a name of no word characters gives the empty login, `_<user id>_...`) and a file
  uploaded again gets `-1`, `-2` before its extension (`exercise1-1.py`): of
  one student's `exercise1.py`, `exercise1-1.py`, `exercise1-2.py` only the highest number, the
  latest upload, is read. An online text entry is the page `<login>[_LATE]_<user id>_text.html`,
  a website URL `..._link.html`: its student's, with a note, and not graded. With anonymous
  grading `[LATE_]anon_<anonymous id>` (5 characters of base58) stands for the login and the user
  id: each anonymous id is a student, named `anonymous`, with the id `anon_<anonymous id>`.
  The late mark becomes the submission's review flag `late` (`late_flag`), for the TA's list
  and grades.csv's `late` column.
- Moodle: a folder per student, `<Full Name>_<participant id>_assignsubmission_file_`, holding
  the files as uploaded; or, without "download submissions in folders", flat files
  `<Full Name>_<participant id>_assignsubmission_file_<file name>`. Another plugin's entry
  (`_assignsubmission_onlinetext_`, online text) is said in a note and not graded.
- Blackboard: one flat folder, `<assignment>_<username>_attempt_<YYYY-MM-DD-HH-MM-SS>_<file
  name>`, beside a receipt `<assignment>_<username>_attempt_<stamp>.txt` whose `Name:` line holds
  the student's full name. The latest attempt of each student is graded; text the student
  wrote there (the receipt's Submission Field, Comments) is said in a note, not graded.

A folder is taken for an LMS download only when every entry in it follows one scheme, so a
plain folder of submissions is never misread. Names and ids from file names are the student's
own text: they are kept as data (escaped in reports, defused in the gradebook), never as paths.

The student's text sits inside the LMS's own (a full name before Moodle's part, a file name
after Blackboard's, both around Canvas's), and it may copy that part to pass as a classmate. So
a name is split only where the LMS's part must be: Blackboard's is the first `_attempt_<stamp>`
(what comes before it is the assignment and username, which students do not choose), the
assignment is what every entry starts with, and an attempt counts only if the download holds its
receipt; a Moodle folder's part is the end of its name; a flat Moodle file, or a Canvas file,
whose name reads as two students' is not read. Canvas's part `_<user id>_<file id>_` may stand
in a login (a name ending in `_1001`) or a file name (`1001_5555_x.zip`) too, and a login holds
`_`, so every place it occurs is a reading, unless what comes before it cannot be a login (a
capital, a space, a dash). A file read for no one is said on each student of the download its
name may be; where it may also be someone with no other entry, it goes to an "unidentified"
submission with no id, never to one made in a reading's name (that id may be a classmate's).
A download is anonymous or not as a whole, and a login may start with `anon_`: a name is read
as anonymous only when some other name cannot be read as a login's. Entries claiming one
Moodle id, or one Canvas user id, under two names are graded apart. Two entries that would
land on one path in a student's tree are kept apart (`_kept_apart`), so one never stands for
the other unseen: different files for one exercise make it ambiguous, not guessed.
"""

from __future__ import annotations

import contextlib
import os
import re
import unicodedata
from dataclasses import dataclass, field
from typing import NamedTuple

from .submissions import (
    Input,
    Submission,
    hidden_at_top,
    one_upload,
    read_tree,
    slug,
)
from .uploads import IGNORED_DIRS, Budget, Entry, UploadError, UploadLimits, read_capped

# Canvas's own part of a name, after the login: `_<user id>_<file id>_`, ids in ASCII digits;
# one reading per occurrence in the name (the login and the file name may hold it too).
CANVAS_IDS = re.compile(r"_(?P<id>[0-9]+)_(?P<file_id>[0-9]+)_")
# Canvas's late mark, just before the user id (`LATE`, `late` in older versions).
CANVAS_LATE = re.compile(r"_(?i:late)$")
# An online text entry or a website URL: Canvas writes the page `<login>[_LATE]_<user id>_text.html`
# or `..._link.html` in place of files (a submission is one kind or the other).
CANVAS_ONLINE = re.compile(r"(?P<login>.*)_(?P<id>[0-9]+)_(?P<kind>text|link)\.html", re.S)
# A name with more readings than this is read for no one all the same (two already are): the
# rest are not kept. Each reading holds most of the name, and `_1_1_..._1_x.py` of 64,000
# characters has 32,000 of them.
MAX_CANVAS_READINGS = 16
# Symbols Ruby's `[[:word:]]` keeps, being Alphabetic (circled, squared, negative circled and
# negative squared Latin letters), which Python's categories call So.
ALPHABETIC_SYMBOLS = ((0x24B6, 0x24E9), (0x1F130, 0x1F149), (0x1F150, 0x1F169), (0x1F170, 0x1F189))
ONLINE_KIND = {"text": "an online text entry", "link": "a website URL"}
# With anonymous grading Canvas writes `[LATE_]anon_<anonymous id>` in place of the login and the
# user id; an anonymous id is 5 characters of base58 (no 0, O, I, l). Then come `_<file id>_<file
# name>`, `_text.html` or `_link.html`.
CANVAS_ANON = re.compile(
    r"(?P<late>(?i:late)_)?anon_(?P<id>[1-9A-HJ-NP-Za-km-z]{5})_"
    r"(?:(?P<kind>text|link)\.html|(?P<file_id>[0-9]+)_(?P<file>.+))",
    re.S,
)
# Moodle's own part of a name, after the full name: one reading per occurrence in the name.
MOODLE_TAIL = re.compile(r"_(?P<id>\d+)_assignsubmission_(?P<plugin>[a-z]+)_")
# Blackboard's own part of a name: the first occurrence is the one Blackboard wrote.
BLACKBOARD_ATTEMPT = re.compile(r"_attempt_(?P<stamp>\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2})")
# Canvas renames a file uploaded again: exercise1-1.py, exercise1-2.py (ASCII digits).
CANVAS_AGAIN = re.compile(r"^(?P<stem>.+?)-(?P<n>[0-9]+)(?P<ext>\.[A-Za-z0-9]+)$")
MAX_RECEIPT_BYTES = 64 << 10


class CanvasName(NamedTuple):
    """One reading of a Canvas entry's name."""

    login: str  # "anonymous" in an anonymous download
    id: str  # the user id, or `anon_<anonymous id>`
    file: str  # the uploaded file's name; "" for an online entry
    kind: str = "file"  # or "text", "link": an online entry, not an upload
    late: bool = False  # Canvas's late mark stood before the user id (`_LATE_`, `LATE_anon_`)


class MoodleName(NamedTuple):
    """One reading of a Moodle entry's name."""

    name: str
    id: str
    plugin: str
    file: str


@dataclass
class Student:
    """One student's entries in a download, before they become a Submission."""

    key: str  # the id the LMS gives (user id, participant id, username)
    name: str
    entries: list[tuple[Entry, str]] = field(default_factory=list)  # (entry, original name)
    student: dict[str, str] = field(default_factory=dict)
    stamp: str = ""  # Blackboard: the attempt graded
    receipt: Entry | None = None
    who: str = ""  # Blackboard: `<assignment>_<username>`, as Blackboard wrote it
    notes: list[str] = field(default_factory=list)  # what the reading of the download noted
    # What each note a TA must act on before trusting the score is about, in a few words
    # (`_doubt`): something of the download may be this student's and was not read for them.
    # They put the submission on the summary's "needs a look" list, where a routine note (an
    # older upload) does not.
    doubts: list[str] = field(default_factory=list)
    title: str = ""  # the submission's name, where it is not `<name> (<key>)`
    late: bool = False  # the LMS marked the submission late (Canvas's `_LATE_`)


def lms_named(name: str) -> bool:
    """Whether a hidden name (`uploads.hidden`) at the top of a download reads as an LMS's name
    for a student's entry, and so is a student's, not a hidden file.

    The student's full name comes first in Moodle's scheme, and a name may start with a dot
    (`.NET Dev_1002_assignsubmission_file_`): read as a hidden file, that student was dropped
    without a word. Blackboard's assignment name comes first too. Canvas never writes a name
    starting with a dot (a login is word characters; an anonymous name starts `anon_`), and its
    readings cost a pass over the name for each `_<id>_<id>_` in it: not tried. Never macOS's
    `._<name>` (the AppleDouble twin it writes beside a file in a zip, named after that file)
    nor what IGNORED_DIRS holds: their names copy a student's."""
    if name.startswith("._") or name in IGNORED_DIRS:
        return False
    as_file = Entry(name, name, "file")  # a file's name reads every way a folder's does, and more
    return bool(_moodle_names(as_file) or _attempt(name))


def _parse(root: Entry) -> tuple[str, dict[str, Student]] | None:
    """Which LMS named the entries of `root`, and its students; None for anything else."""
    entries = [e for e in root.children if not hidden_at_top(e)]
    if not entries:
        return None
    for lms, parse in (("Canvas", _canvas), ("Moodle", _moodle), ("Blackboard", _blackboard)):
        students = parse(entries)
        if students is not None:
            return lms, students
    return None


def lms_students(root: Entry) -> tuple[str, int]:
    """The LMS whose scheme every entry of `root` follows and how many students it names
    (("", 0) for none): a download given one level up reads as one upload holding it."""
    parsed = _parse(root)
    return (parsed[0], len(parsed[1])) if parsed else ("", 0)


def lms_download(inp: Input, root: Entry) -> str | None:
    """A row of `submissions.SHAPES`: the LMS whose scheme every entry of the root follows."""
    parsed = _parse(root)
    return parsed[0] if parsed else None


def read_lms_download(inp: Input, root: Entry, name: str) -> list[Submission]:
    """A row of `submissions.SHAPES`: one submission per student of the download."""
    lms, students = _parse(root)
    return [_submission(inp, s, lms) for s in students.values()]


# ---- Canvas ------------------------------------------------------------------------------------


def _canvas(entries: list[Entry]) -> dict[str, Student] | None:
    if any(e.kind != "file" for e in entries):
        return None
    parsed = list(zip(entries, _canvas_readings(entries), strict=True))
    if any(not names for _, names in parsed):
        return None
    students: dict[tuple[str, str], Student] = {}
    uploads: dict[tuple[str, str], dict[str, list[tuple[tuple[int, str], Entry]]]] = {}
    doubtful: list[tuple[Entry, list[CanvasName]]] = []
    for e, names in parsed:
        if len(names) > 1:
            doubtful.append((e, names))
            continue
        (c,) = names
        s = _student(students, c.id, c.login)
        s.late |= c.late
        if c.kind != "file":
            _doubt(s, _online_note(e.name, c.kind), f"{ONLINE_KIND[c.kind]}, not graded")
            continue
        again = CANVAS_AGAIN.match(c.file)
        original, n = (
            (f"{again['stem']}{again['ext']}", _upload_number(again["n"]))
            if again
            else (c.file, (0, ""))
        )
        uploads.setdefault((c.id, c.login), {}).setdefault(original, []).append((n, e))
    for key, by_name in uploads.items():
        for original, versions in by_name.items():
            _latest_upload(students[key], original, versions)
    return _settled(
        students,
        [(e, [(c.id, c.login) for c in names]) for e, names in doubtful],
        ("user id", "login", "Canvas", "student"),
        "Canvas writes `<login>_<user id>_<file id>_<file name>`, and a login or a file name "
        "may hold `_<number>_<number>_` too; if it is this student's, ask them to upload it "
        "again under a name without `_<number>_` in it (nor a number first), or take it "
        "from Canvas and grade it on its own",
        # A reading of its name that carries Canvas's late mark may be the one Canvas wrote.
        late=frozenset(e.name for e, names in doubtful if any(c.late for c in names)),
    )


def _canvas_readings(entries: list[Entry]) -> list[list[CanvasName]]:
    """The readings of each entry's name, in a download with or without anonymous grading.

    Canvas anonymises an assignment's download as a whole, so a download is anonymous when every
    entry reads as `anon_<id>_...` and some entry cannot read otherwise, and named the other way
    round. A login may itself be `anon_...` (`anon_ab3xy_2002_7001_hw.zip` is the upload
    `7001_hw.zip` of anonymous ab3xy, or the upload `hw.zip` of user 2002): one classmate's
    ordinary name settles it, and a download where every entry reads both ways keeps both
    readings, so such names are read for no one rather than guessed."""
    named = [_canvas_names(e) for e in entries]
    anonymous = [_canvas_anonymous(e) for e in entries]
    use_named, use_anonymous = all(named), all(anonymous)
    return [
        (n if use_named else []) + (a if use_anonymous else [])
        for n, a in zip(named, anonymous, strict=True)
    ]


def _canvas_names(e: Entry) -> list[CanvasName]:
    """Every way of reading `e`'s name as Canvas's `<login>[_LATE]_<user id>_<file id>_<file>`,
    or as its page for an online entry, `<login>[_LATE]_<user id>_text.html` (`_link.html`).

    The file name is the student's own, and so, where students may edit their name, is the
    login: Canvas makes it of the sortable name's word characters, in lower case, folding
    `_<digits>_` into digits first, but a name ending in `_<digits>` keeps them, and so does one
    holding `_<digits>,_` (the comma goes after the folding). So `_<id>_<id>_` may stand in
    the login or the file name as well as where Canvas wrote it: each place is one reading, and
    a name with several is not guessed between. A login holds no capital and no character
    Canvas removes (a space, a dot, a dash...), which rules out many a reading of a file name.
    An upload named `text.html` (`mallory_2002_7001_text.html`) also reads as the online entry of
    a login `mallory_2002`: that is one more reading, not a reason to prefer either."""
    # Whether a prefix can be a login is whether it ends before the first character a login
    # cannot hold: found once, not once per reading (a name of 64,000 characters took ~230 s,
    # in the batch's own process before anyone was graded).
    room = _login_room(e.name)
    readings = []
    for t in _matches(CANVAS_IDS, e.name):
        if len(readings) > MAX_CANVAS_READINGS:
            break
        end = t.start()
        late = end >= 5 and CANVAS_LATE.search(e.name[end - 5 : end]) and end - 5 <= room
        if late:
            end -= 5  # Canvas's late mark, where what precedes it can be a login
        if t.end() < len(e.name) and end <= room:
            readings.append(CanvasName(e.name[:end], t["id"], e.name[t.end() :], late=bool(late)))
    online = CANVAS_ONLINE.fullmatch(e.name)
    if online and _canvas_login(login := _canvas_late(online["login"])):
        late = login != online["login"]
        readings.append(CanvasName(login, online["id"], "", online["kind"], late=late))
    return readings


def _canvas_late(login: str) -> str:
    """`login` without Canvas's late mark, where what precedes the mark can be a login."""
    late = CANVAS_LATE.search(login)
    return login[: late.start()] if late and _canvas_login(login[: late.start()]) else login


def _canvas_anonymous(e: Entry) -> list[CanvasName]:
    """`e`'s name read as an anonymous download's `[LATE_]anon_<id>_...`: Canvas's part comes
    first and has one length, so there is at most one reading, whatever the file name holds."""
    t = CANVAS_ANON.fullmatch(e.name)
    if t is None:
        return []
    return [
        CanvasName(
            "anonymous",
            f"anon_{t['id']}",
            t["file"] or "",
            t["kind"] or "file",
            late=bool(t["late"]),
        )
    ]


def _online_note(name: str, kind: str) -> str:
    """What a TA reads about an online entry: Canvas's page of it, which is not an upload."""
    return (
        f"not graded: {name} is {ONLINE_KIND[kind]} (Canvas's page of it, not an uploaded "
        "file); this assignment grades uploaded .py files or the notebook, so ask the student "
        "to submit them as a file upload, or read the entry in Canvas and grade it by hand"
    )


def _login_room(name: str) -> int:
    """How long a prefix of `name` may be and still be a login (`_canvas_login`)."""
    return next((i for i, c in enumerate(name) if not _canvas_login(c)), len(name))


def _canvas_login(text: str) -> bool:
    """Whether Canvas could write `text` as a login: word characters (letters, marks, numbers,
    `_`) of a name in lower case, as Ruby's `[[:word:]]` and `downcase` leave them. A name with
    none gives the empty login (`_<user id>_...`). Ruby's letters are Unicode's Alphabetic
    property, which holds symbols too (circled letters: `Ⓜallory` is `ⓜallory`), and its Unicode
    may be newer than Python's: a character Python does not know may be a letter. Taking too
    much for a login only adds a reading (read for no one); too little would leave a student's
    every entry without one, and the whole download read as a plain folder."""
    return all(
        (
            unicodedata.category(c)[0] in "LMN"
            or unicodedata.category(c) in ("Pc", "Cn")
            or any(lo <= ord(c) <= hi for lo, hi in ALPHABETIC_SYMBOLS)
        )
        and not "A" <= c <= "Z"
        for c in text
    )


def _upload_number(digits: str) -> tuple[int, str]:
    """Canvas's number of an upload, compared as a number however many digits the name gives
    (`int` refuses more than 4300, and a file name is the student's: one such name stopped the
    batch). `-1` and `-01` are one number."""
    digits = digits.lstrip("0")
    return len(digits), digits


def _latest_upload(
    s: Student, original: str, versions: list[tuple[tuple[int, str], Entry]]
) -> None:
    """Of the files one student uploaded under one name, the one Canvas took last.

    Canvas names a file uploaded again `-1`, `-2`, ... (the highest number is the latest), so
    `exercise1.py` and `exercise1-1.py` are two uploads of one file, not two files: only the
    latest is kept, with a note. Two versions with one number (`-1`, `-01`) both stay, and
    `_kept_apart` makes the grader see two files for one exercise (ambiguous, not guessed)."""
    top = max(n for n, _ in versions)
    latest = sorted((e for n, e in versions if n == top), key=lambda e: e.name)
    s.entries += [(e, original) for e in latest]
    older = sorted(e.name for n, e in versions if n != top)
    if older:
        s.notes.append(
            f"not read: {', '.join(older)}: Canvas numbers a file uploaded again, and the "
            f"highest number ({' and '.join(e.name for e in latest)}) is the latest {original}"
        )


# ---- Moodle ------------------------------------------------------------------------------------


def _moodle(entries: list[Entry]) -> dict[str, Student] | None:
    parsed = [(e, _moodle_names(e)) for e in entries]
    if any(not names for _, names in parsed):
        return None
    students: dict[tuple[str, str], Student] = {}
    doubtful: list[tuple[Entry, list[MoodleName]]] = []
    online: list[tuple[Student, Entry, str]] = []
    for e, names in parsed:
        if len(names) > 1:
            doubtful.append((e, names))
            continue
        m = names[0]
        s = _student(students, m.id, m.name)
        s.entries += _moodle_files(e, m)
        if m.plugin != "file":
            online.append((s, e, m.plugin))
    for s, e, plugin in online:
        _moodle_online(s, e.name, plugin)
    return _settled(
        students,
        [(e, [(m.id, m.name) for m in names]) for e, names in doubtful],
        ("participant id", "name", "Moodle", "participant"),
        "if it is this student's, take it from Moodle and grade it on its own",
    )


def _moodle_names(e: Entry) -> list[MoodleName]:
    """Every way of reading `e`'s name as Moodle's `<Full Name>_<id>_assignsubmission_...`.

    The full name and the file name are the student's own text, and either may hold
    `_<id>_assignsubmission_file_`. A folder's name ends with Moodle's part, so it has one
    reading; a flat file's name may have several, and then it is not guessed between."""
    readings = []
    for t in _matches(MOODLE_TAIL, e.name):
        file = e.name[t.end() :]
        if t.start() > 0 and not (e.kind == "dir" and file):
            readings.append(MoodleName(e.name[: t.start()], t["id"], t["plugin"], file))
    return readings


def _matches(pattern: re.Pattern, name: str) -> list[re.Match]:
    """Every match of `pattern` in `name`, overlapping ones included."""
    found, at = [], 0
    while (t := pattern.search(name, at)) is not None:
        found.append(t)
        at = t.start() + 1
    return found


def _moodle_online(s: Student, name: str, plugin: str) -> None:
    """A note on an entry of another plugin than files (online text), which is not graded: it
    was left out without a word, and a student who handed in online text alone (a Colab link)
    read "no exercise files found ...; the upload held: no files". Where it is all the student
    handed in, the TA must look (a doubt); beside uploaded files, Moodle's two plugins are the
    course's set-up, and a note is enough."""
    what = MOODLE_PLUGIN.get(plugin, f"a {plugin} entry")
    note = f"not graded: {name} is {what} (Moodle's page of it, not an uploaded file)"
    if s.entries:
        s.notes.append(f"{note}; the files uploaded beside it were graded")
        return
    _doubt(
        s,
        f"{note}, and the student uploaded no file; this assignment grades uploaded .py files "
        "or the notebook, so ask the student to upload them, or read the entry in Moodle and "
        "grade it by hand",
        f"{what}, not graded",
    )


# Moodle's words for a submission plugin other than files (`assignsubmission_<plugin>_`).
MOODLE_PLUGIN = {"onlinetext": "an online text entry"}


def _moodle_files(e: Entry, m: MoodleName) -> list[tuple[Entry, str]]:
    """The exercise files an entry adds: online text and comments are not exercise files."""
    return [(e, m.file or e.name)] if m.plugin == "file" else []


# ---- what Canvas and Moodle share: a student is an id and a name --------------------------------


def _settled(
    students: dict[tuple[str, str], Student],
    doubtful: list[tuple[Entry, list[tuple[str, str]]]],
    words: tuple[str, str, str, str],
    fix: str,
    late: frozenset[str] = frozenset(),
) -> dict[str, Student]:
    """The last steps Canvas and Moodle share: each file read for no one said where it may
    belong (`_doubtful`), ids claimed under two names kept apart (`_shared_ids`), and every
    student keyed. `words`: the LMS's words for an id and a name, its name, and a student.
    `late`: the names of the doubtful entries the LMS marked late, whoever is their uploader:
    the unidentified row they go to is marked late as a student's row is (its gradebook row
    said nothing of the `_LATE_` its files carried)."""
    unidentified: dict[frozenset[tuple[str, str]], Student] = {}
    for e, readings in doubtful:
        _doubtful(students, unidentified, e, readings, words[0], fix, e.name in late)
    _shared_ids(students, *words)
    return _keyed(students, unidentified)


def _student(students: dict[tuple[str, str], Student], sid: str, name: str) -> Student:
    s = students.setdefault((sid, name), Student(sid, name))
    s.student = {"name": name, "sid": sid}
    return s


def _doubtful(
    students: dict[tuple[str, str], Student],
    unidentified: dict[frozenset[tuple[str, str]], Student],
    e: Entry,
    readings: list[tuple[str, str]],
    id_word: str,
    fix: str,
    late: bool = False,
) -> None:
    """A flat file whose name reads as more than one student's (id, name): read for no one.

    Its uploader is one of the readings, and the download cannot say which. Each reading that is
    a student of the download (one with an entry of one reading: that one is sure) gets a note.
    A reading that is not may be the uploader, with no submission of their own; nor may it be a
    phantom carrying a classmate's id, so no submission is made in its name: the entry goes to an
    "unidentified" one, with no id, which shows the TA every file no one could be given (one per
    set of such readings, so one uploader's files stay together). A reading whose id the
    download gives under another name is no one (the LMS gives an id one name), so it needs none.

    The note names the entry as the download has it and the readings its name gives, nothing
    more: what it holds is never read, and the other students' other entries are not named. So a
    classmate's crafted name tells a student only that name, which the LMS wrote from the
    uploader's own name and file name."""
    note = (
        f"did not read {e.name}: its name reads as the file of {_who(readings, id_word)}, and "
        f"the download cannot say which; {fix}"
    )
    for s in (students[r] for r in readings if r in students):
        _doubt(s, note, NO_ONES_FILE)
    ids = {sid for sid, _ in students}
    unsure = frozenset(r for r in readings if r not in students and r[0] not in ids)
    if unsure:
        if unsure not in unidentified:
            k = len(unidentified) + 1
            row = unidentified[unsure] = Student("", "unidentified", title=f"unidentified {k}")
            row.student = {"name": "unidentified", "sid": ""}
            row.notes.append(
                "no student's own: the entries named below read as files of more than one "
                f"student; their uploader may be {_who(sorted(unsure), id_word)}, who has no "
                "other submission in this download; check in the LMS whose they are"
            )
        _doubt(unidentified[unsure], note, NO_ONES_FILE)
        unidentified[unsure].late |= late


def _doubt(s: Student, note: str, about: str) -> None:
    """A note the TA must act on, and what it is `about` in a few words, which the TA's "needs
    a look" line names (Student.doubts): "files not read for it, or claimed twice" was all it
    said of a Canvas online text entry, which is neither."""
    s.notes.append(note)
    s.doubts.append(about)


NO_ONES_FILE = "a file whose name reads as more than one student's, read for no one"


def _who(readings: list[tuple[str, str]], id_word: str) -> str:
    return " or ".join(f"{name!r} ({id_word} {sid})" for sid, name in readings)


def _keyed(
    students: dict[tuple[str, str], Student],
    unidentified: dict[frozenset[tuple[str, str]], Student],
) -> dict[str, Student]:
    """The download's students by a key no two share, the unidentified rows after them."""
    keyed = {f"{sid}\0{name}": s for (sid, name), s in students.items()}
    return keyed | {f"\0unidentified\0{s.title}": s for s in unidentified.values()}


def _shared_ids(
    students: dict[tuple[str, str], Student], id_word: str, name_word: str, lms: str, who: str
) -> None:
    """An LMS gives each student one id and one name: entries that claim one id under two names
    are never merged (one of them is a student's text made to look like another's)."""
    names: dict[str, list[str]] = {}
    for sid, name in students:
        names.setdefault(sid, []).append(name)
    for (sid, name), s in students.items():
        others = [n for n in names[sid] if n != name]
        if others:
            _doubt(
                s,
                f"other entries of this download also claim {id_word} {sid}, under the "
                f"{name_word} {', '.join(map(repr, others))}: graded apart, not merged; check in "
                f"{lms} which is this {who}'s",
                f"its {id_word} claimed under another {name_word} too",
            )


# ---- Blackboard --------------------------------------------------------------------------------


class Attempt(NamedTuple):
    """A Blackboard entry's name, split where Blackboard's own part is."""

    who: str  # `<assignment>_<username>`: Blackboard's text, never the student's
    stamp: str
    file: str  # the student's file name; "" for the attempt's receipt


def _attempt(name: str) -> Attempt | None:
    """`name` read at the first `_attempt_<stamp>`: what comes before it is Blackboard's, so a
    student's file named `x_ghopper_attempt_2099-..._exercise1.py` stays a file of its own
    attempt, however many `_attempt_` it holds."""
    t = BLACKBOARD_ATTEMPT.search(name)
    if t is None or t.start() == 0:
        return None
    rest = name[t.end() :]
    if rest == ".txt":
        return Attempt(name[: t.start()], t["stamp"], "")
    if rest.startswith("_") and len(rest) > 1:
        return Attempt(name[: t.start()], t["stamp"], rest[1:])
    return None


def _assignment(whos: set[str]) -> str | None:
    """The assignment's part of `<assignment>_<username>`: what every entry of the download
    starts with, up to a `_`. With one student it cannot be told from the name, so a username
    is taken to hold no `_` (the receipt's `Name:` line corrects it)."""
    common = os.path.commonprefix(sorted(whos))
    if len(whos) > 1:  # the common part may run into the usernames (`jsmith`, `jsmyth`)
        common = common[: common.rfind("_") + 1]
    cut = common.rfind("_")
    return common[:cut] if cut > 0 else None


def _blackboard(entries: list[Entry]) -> dict[str, Student] | None:
    parsed = [(e, _attempt(e.name)) for e in entries]
    if any(a is None or e.kind != "file" for e, a in parsed):
        return None
    assignment = _assignment({a.who for _, a in parsed})
    if assignment is None:
        return None  # no part common to every entry: not one assignment's download
    attempts: dict[str, dict[str, list[tuple[Entry, Attempt]]]] = {}
    for e, a in parsed:
        attempts.setdefault(a.who, {}).setdefault(a.stamp, []).append((e, a))
    receipts = any(not a.file for _, a in parsed)
    return {
        who: _bb_student(who, who[len(assignment) + 1 :], by_stamp, receipts)
        for who, by_stamp in attempts.items()
    }


def _bb_student(
    who: str, user: str, by_stamp: dict[str, list[tuple[Entry, Attempt]]], receipts: bool
) -> Student:
    """One student's latest attempt. Blackboard writes a receipt for every attempt, so where the
    download has receipts, an attempt without one is not Blackboard's and is not graded."""
    s = Student(user, user, who=who)
    s.student = {"name": user, "sid": user}
    kept = [t for t, es in by_stamp.items() if not receipts or any(not a.file for _, a in es)]
    if kept:
        s.stamp = max(kept)
        for e, a in by_stamp[s.stamp]:
            if a.file:
                s.entries.append((e, a.file))
            else:
                s.receipt = e
    unsure = sorted(e.name for t, es in by_stamp.items() if t not in kept for e, _ in es)
    if unsure:
        _doubt(
            s,
            f"not read: {', '.join(unsure[:5])}{' and more' if len(unsure) > 5 else ''}: the "
            f"download has no receipt for {'that attempt' if kept else 'any attempt'} of "
            f"{user}; Blackboard writes one per attempt, so check the download in Blackboard",
            "an attempt without its receipt, not read",
        )
    return s


def _receipt(entry: Entry, budget: Budget) -> tuple[str, str, list[str]]:
    """The full name and username on a Blackboard receipt's `Name: First Last (username)`, and
    the receipt's sections that hold text the student wrote (`_written`)."""
    try:
        raw = read_capped(entry, MAX_RECEIPT_BYTES, budget)
    except UploadError:
        return "", "", []
    lines = raw[:MAX_RECEIPT_BYTES].decode("utf-8", "replace").splitlines()
    line = next((ln for ln in lines if ln.startswith("Name:")), None)
    name, user = _receipt_name(line[len("Name:") :]) if line is not None else ("", "")
    return name, user, _written(lines)


# A receipt's sections a student writes in, with what Blackboard puts there when they did not.
RECEIPT_WRITTEN = {
    "Submission Field:": "There is no student submission text data for this assignment.",
    "Comments:": "There are no student comments for this assignment.",
}


def _written(lines: list[str]) -> list[str]:
    """The receipt's sections (RECEIPT_WRITTEN) holding the student's own text: a section runs
    from its heading to the next blank line, and Blackboard's "there is no ..." is no text."""
    written = []
    for k, line in enumerate(lines):
        heading = line.strip()
        if heading in RECEIPT_WRITTEN:
            body = []
            for text in lines[k + 1 :]:
                if not text.strip():
                    break
                body.append(text.strip())
            if body and " ".join(body) != RECEIPT_WRITTEN[heading]:
                written.append(heading.rstrip(":"))
    return written


def _receipt_name(rest: str) -> tuple[str, str]:
    """`First Last (username)` -> (name, username), in string operations: the regular expression
    this replaced backtracked cubically on a long run of blanks (72 s for 4,000 of them)."""
    rest = rest.strip()
    head, _, user = rest[:-1].rpartition("(") if rest.endswith(")") else ("", "", "")
    if head.strip() and ")" not in user:
        return head.strip(), user.strip()
    return rest, ""


def _use_receipt(s: Student, budget: Budget) -> None:
    """The receipt is Blackboard's own text: its name is the student's, and its username says
    where `<assignment>_<username>` splits when a username holds a `_`."""
    name, user, written = _receipt(s.receipt, budget)
    s.name = name or s.name
    s.student["name"] = s.name
    if written:
        _receipt_text(s, written)
    if not user or user == s.key:
        return
    if s.who.endswith("_" + user):
        s.key = s.student["sid"] = user
    else:
        _doubt(
            s,
            f"the receipt {s.receipt.name} names the user {user!r}, its files {s.key!r}: "
            "graded as the files say; check the download in Blackboard",
            "a receipt naming another user",
        )


def _receipt_text(s: Student, written: list[str]) -> None:
    """A note on text the student wrote on Blackboard (its Submission Field, a comment), which
    the receipt holds and nothing grades: a Colab link written there read "no exercise files
    found ...; the upload held: no files". Where the attempt holds no file, the TA must look."""
    where = " and ".join(f"its {w}" for w in written)
    note = f"not graded: the receipt {s.receipt.name} holds text the student wrote ({where})"
    if s.entries:
        s.notes.append(f"{note}; read it in Blackboard, beside the files graded")
        return
    _doubt(
        s,
        f"{note}, and the attempt holds no file; this assignment grades uploaded .py files or "
        "the notebook, so read it in Blackboard, and ask the student to upload the files",
        "text written on Blackboard, not graded",
    )


def _submission(inp: Input, s: Student, lms: str) -> Submission:
    """The student's entries under their original names, as one upload's tree, read the way any
    submission is read (nested folders and zips included). Nothing is copied or unpacked."""
    with one_upload() as stack:  # closed once read, never held to the end of the class
        return _read_student(inp, s, lms, stack)


def _read_student(inp: Input, s: Student, lms: str, stack: contextlib.ExitStack) -> Submission:
    """`_submission`'s reading, within the student's own `stack` (`submissions.one_upload`)."""
    budget = Budget(inp.limits or UploadLimits())
    if s.receipt is not None:
        _use_receipt(s, budget)
    top = Entry(s.name, "", "dir")
    placed: list[tuple[str, Entry]] = []  # (the download's entry, what it put at the top)
    for e, original in s.entries:
        if e.kind == "dir":
            try:
                opened = inp.open(e, budget, stack)
            except (UploadError, OSError) as err:
                budget.notes.append(f"could not read {e.name}: {err}")
                continue
            placed += [(e.name, c) for c in opened.children]
        elif e.kind == "file":
            # Its copies (the download's zip holding this name twice) go with it: read_capped
            # reads it only if they are the same.
            f = Entry(
                _safe_name(original), original, "file", 1, e.size, reader=e.reader, copies=e.copies
            )
            placed.append((e.name, f))
        else:
            budget.notes.append(f"skipped {e.name}: {e.kind}, not a regular file")
    top.children = _kept_apart(placed, budget)
    name = s.title or f"{s.name} ({s.key})"
    sub = read_tree(top, name, inp.files, budget, stack, source=s.key)
    # One person, listed as such: the gradebook never splits a name that holds "; ".
    sub.student = {**s.student, "members": [dict(s.student)]}
    marked = ", marked late" if s.late else ""
    sub.notes = [f"from a {lms} download{marked}", *s.notes, *sub.notes]
    if s.late:
        sub.review.append(late_flag(lms))
    if s.doubts:
        n = len(s.doubts)
        sub.review.append(
            {
                "flag": "download",
                "reason": f"the {lms} download left {n} thing{'s' if n > 1 else ''} about this "
                f"submission unsure ({'; '.join(dict.fromkeys(s.doubts))}): see the notes at "
                "the top of its report",
            }
        )
    return sub


def late_flag(lms: str) -> dict:
    """The LMS's own word that the submission came after the deadline: the download's names
    carry it (Canvas's `_LATE_`), and reading the names for a student's id dropped it, so the
    TA lost who was late. The score takes no penalty: the course's policy is the TA's to apply.
    A review flag, so the summary, `grader grade`'s "needs a look" and grades.csv's `late`
    column show it (report/summary.py)."""
    return {
        "flag": "late",
        "reason": f"{lms} marked this submission late (LATE in the download's file names): "
        "the score takes no late penalty; apply the course's late policy",
    }


def _kept_apart(placed: list[tuple[str, Entry]], budget: Budget) -> list[Entry]:
    """The top of a student's tree, where no two entries of the download share a path.

    Exercise files are told apart by their path in the tree, so two entries at one path would
    silently stand for each other (one student's folder over another's, an older upload over a
    newer). Each such entry goes under a folder named after the download's entry it came from:
    the grader then sees two files for one exercise, grades them if identical and otherwise
    reports the exercise as ambiguous, naming both."""
    sources: dict[str, set[str]] = {}
    for source, c in placed:
        sources.setdefault(c.path, set()).add(source)
    folders: dict[str, Entry] = {}
    taken = set(sources)  # a folder made here must not land on a path of the upload either
    top: list[Entry] = []
    for source, c in placed:
        if len(sources[c.path]) == 1:
            top.append(c)
            continue
        if source not in folders:
            folders[source] = _folder_for(source, taken)
            top.append(folders[source])
        _move_under(folders[source], c)
    for path, names in sources.items():
        if len(names) > 1:
            budget.notes.append(
                f"{', '.join(sorted(names))} each give {path}: kept apart, never one over the other"
            )
    return top


def _folder_for(source: str, taken: set[str]) -> Entry:
    """A folder at the top named after a download's entry, on a path nothing else has."""
    name, k = _safe_name(source), 2
    while name in taken:
        name, k = f"{_safe_name(source)} ({k})", k + 1
    taken.add(name)
    return Entry(name, name, "dir", 1)


def _move_under(folder: Entry, e: Entry) -> None:
    folder.children.append(e)
    for d in (e, *e.walk()):
        d.path = f"{folder.path}/{d.path}"
        d.depth += 1


def _safe_name(original: str) -> str:
    """A file name from the student's upload, never a path: the last part, cleaned."""
    return slug(original.replace("\\", "/").rsplit("/", 1)[-1], shown=False) or "file"
