"""Class downloads from Canvas, Moodle and Blackboard are recognised, names and ids included.

Each fixture is built to the LMS's documented naming scheme for "download all submissions"
(grader/lms.py describes the three), with the quirks a TA meets: a late submission, a file
uploaded twice, a student who zipped their files, an earlier attempt, a receipt. `discover` must
find one submission per student with the right files, name and id; one Canvas download is then
graded end to end, into a gradebook keyed by those ids.

The file names and full names in a download are partly the students' own text. The attacks
below use that text to pass as another student (a file named like a classmate's Blackboard
attempt, a Moodle name ending like a classmate's folder) or to put two files at one path: each
victim must keep their own files, and nothing may be overwritten without a word.
"""

from __future__ import annotations

import csv
import io
import json
import warnings
import zipfile
from pathlib import Path

import pytest
from conftest import STUBS, discover, never_hangs, solution

from grader.batch import grade_batch

FILES = ("exercise1", "exercise2", "exercise3")
EX2 = solution("exercise2").encode()


def found(path: Path, tmp_path: Path) -> dict[str, tuple[dict, dict[str, bytes | None], list]]:
    subs, is_batch = discover(path, FILES)
    assert is_batch
    found = {}
    for s in subs:
        student = {k: v for k, v in s.student.items() if k != "members"}
        assert s.student["members"] == [student]  # one person each, never split again
        found[s.name] = (student, s.files, s.notes)
    return found


def write(root: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


def zipped(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buf.getvalue()


def test_canvas_download(tmp_path):
    root = write(
        tmp_path / "submissions",
        {
            "smithbob_340934_208490284_exercise2.py": EX2,
            "smithbob_340934_208490284_exercise1.py": b"# bob's first exercise\n",
            "wellslane_late_334244_394803489_exercise2-1.py": EX2,  # late, uploaded again
            "ngkim_350001_394800001_mywork.zip": zipped({"hw/exercise3.py": b"# kim\n"}),
        },
    )
    subs = found(root, tmp_path)
    assert set(subs) == {"smithbob (340934)", "wellslane (334244)", "ngkim (350001)"}
    student, files, notes = subs["smithbob (340934)"]
    assert student == {"name": "smithbob", "sid": "340934"}
    assert files["exercise2"] == EX2 and files["exercise1"] == b"# bob's first exercise\n"
    assert "from a Canvas download" in notes
    assert subs["wellslane (334244)"][1]["exercise2"] == EX2
    assert subs["ngkim (350001)"][1]["exercise3"] == b"# kim\n"


def test_a_canvas_file_name_keeps_its_spaces_as_the_exercises_are_matched(tmp_path):
    """Report folders write a no-break space or a zero-width space as its code point; a file's
    name in a download is matched to an exercise as given: `exercise1.py` and a no-break space
    was read as exercise1.py, and then as `exercise1.py{U+00A0}`, scoring 0."""
    root = write(
        tmp_path / "submissions",
        {
            "smithbob_340934_208490284_exercise1.py\u00a0": b"# bob\n",
            "smithbob_340934_208490284_exercise2.py": EX2,
        },
    )
    [(_, files, notes)] = found(root, tmp_path).values()
    assert files["exercise1"] == b"# bob\n"
    assert "graded exercise1.py\u00a0 as exercise1.py" in notes


def test_moodle_download_in_folders_and_flat(tmp_path):
    folders = write(
        tmp_path / "moodle",
        {
            "Ada Lovelace_1001_assignsubmission_file_/exercise2.py": EX2,
            "Zoë Martin_1002_assignsubmission_file_/hw.zip": zipped({"exercise1.py": b"# z\n"}),
            "Zoë Martin_1002_assignsubmission_onlinetext_/onlinetext.html": b"<p>hi</p>",
        },
    )
    subs = found(folders, tmp_path)
    assert set(subs) == {"Ada Lovelace (1001)", "Zoë Martin (1002)"}
    assert subs["Ada Lovelace (1001)"][0] == {"name": "Ada Lovelace", "sid": "1001"}
    assert subs["Zoë Martin (1002)"][1]["exercise1"] == b"# z\n"
    flat = write(
        tmp_path / "flat",
        {"Ada Lovelace_1001_assignsubmission_file_exercise2.py": EX2},
    )
    assert found(flat, tmp_path / "f")["Ada Lovelace (1001)"][1]["exercise2"] == EX2


def test_a_moodle_online_text_entry_is_said_and_alone_needs_a_look(tmp_path):
    """Moodle's online text (`..._assignsubmission_onlinetext_`) was left out without a word: a
    student who handed in a Colab link there read "no exercise files found ...; the upload
    held: no files". Alone it is on the TA's list, saying what it is; beside uploaded files,
    a note."""
    root = write(
        tmp_path / "moodle",
        {
            "Ada Lovelace_1001_assignsubmission_file_/exercise2.py": EX2,
            "Ada Lovelace_1001_assignsubmission_onlinetext_/onlinetext.html": b"<p>see files</p>",
            "Fay Text_1006_assignsubmission_onlinetext_/onlinetext.html": b"<p>colab link</p>",
        },
    )
    subs, _ = discover(root, FILES)
    got = {s.name: s for s in subs}
    ada, fay = got["Ada Lovelace (1001)"], got["Fay Text (1006)"]
    text = "Fay Text_1006_assignsubmission_onlinetext_ is an online text entry"
    assert any(f"not graded: {text}" in n and "uploaded no file" in n for n in fay.notes)
    (flag,) = fay.review
    assert "(an online text entry, not graded)" in flag["reason"]
    assert ada.files["exercise2"] == EX2 and ada.review == []
    assert any(n.endswith("the files uploaded beside it were graded") for n in ada.notes)


def test_blackboard_download_takes_the_latest_attempt_and_the_receipts_name(tmp_path):
    early, late = "2026-11-01-09-00-00", "2026-11-02-23-59-01"
    receipt = f"Name: Grace Hopper (ghopper)\nAssignment: HW3\nDate Submitted: {late}\n"
    root = write(
        tmp_path / "bb",
        {
            f"HW3_backprop_ghopper_attempt_{early}_exercise2.py": b"# first try\n",
            f"HW3_backprop_ghopper_attempt_{early}.txt": receipt.encode(),
            f"HW3_backprop_ghopper_attempt_{late}_exercise2.py": EX2,
            f"HW3_backprop_ghopper_attempt_{late}.txt": receipt.encode(),
            f"HW3_backprop_aturing_attempt_{early}_exercise1.py": b"# alan\n",
            f"HW3_backprop_aturing_attempt_{early}.txt": b"Name: aturing\n",
        },
    )
    subs = found(root, tmp_path)
    assert set(subs) == {"Grace Hopper (ghopper)", "aturing (aturing)"}
    student, files, _ = subs["Grace Hopper (ghopper)"]
    assert student == {"name": "Grace Hopper", "sid": "ghopper"}
    assert files["exercise2"] == EX2  # the latest attempt, not the first
    assert subs["aturing (aturing)"][1]["exercise1"] == b"# alan\n"


def test_text_written_on_blackboard_is_said_and_alone_needs_a_look(tmp_path):
    """A receipt holds what the student wrote in the attempt's text field and comments, which
    nothing grades: a Colab link written there read "no exercise files found ...; the upload
    held: no files". Alone it is on the TA's list; beside the attempt's files, a note. The
    receipt's own "there is no ..." is no text."""
    stamp = "2026-11-01-09-00-00"

    def receipt(user: str, field: str, comment: str) -> bytes:
        return (
            f"Name: {user.title()} ({user})\nAssignment: HW3\nDate Submitted: x\n\n"
            f"Submission Field:\n{field}\n\nComments:\n{comment}\n\nFiles:\n"
        ).encode()

    nothing = "There is no student submission text data for this assignment."
    no_comment = "There are no student comments for this assignment."
    root = write(
        tmp_path / "bb",
        {
            f"HW3_bob_attempt_{stamp}.txt": receipt("bob", "my work: colab.example/x", no_comment),
            f"HW3_ada_attempt_{stamp}.txt": receipt("ada", nothing, "see the files"),
            f"HW3_ada_attempt_{stamp}_exercise2.py": EX2,
            f"HW3_cy_attempt_{stamp}.txt": receipt("cy", nothing, no_comment),
            f"HW3_cy_attempt_{stamp}_exercise2.py": EX2,
        },
    )
    got = {s.name: s for s in discover(root, FILES)[0]}
    bob, ada, cy = got["Bob (bob)"], got["Ada (ada)"], got["Cy (cy)"]
    (flag,) = bob.review
    assert "(text written on Blackboard, not graded)" in flag["reason"]
    assert any("holds text the student wrote (its Submission Field)" in n for n in bob.notes)
    assert ada.review == [] and ada.files["exercise2"] == EX2
    assert any("(its Comments); read it in Blackboard, beside the files" in n for n in ada.notes)
    assert cy.review == [] and not any("not graded" in n for n in cy.notes)


def test_a_plain_folder_of_submissions_is_not_read_as_an_lms_download(tmp_path):
    root = write(
        tmp_path / "class",
        {
            "ada/exercise2.py": EX2,
            "smithbob_340934_208490284_exercise2.py": EX2,  # one stray Canvas-like file
        },
    )
    subs, _ = discover(root, FILES)
    assert [s.name for s in subs] == ["ada"]


def test_a_graded_canvas_download_gives_one_gradebook_row_per_student(tmp_path):
    zpath = tmp_path / "submissions.zip"
    zpath.write_bytes(
        zipped(
            {
                "smithbob_340934_208490284_exercise2.py": EX2,
                "wellslane_late_334244_394803489_exercise2.py": b"def dlogits(): pass\n",
            }
        )
    )
    grade_batch(zpath, tmp_path / "out", progress=False)
    rows = list(csv.DictReader(io.StringIO((tmp_path / "out" / "grades.csv").read_text())))
    by_sid = {r["sid"]: r for r in rows}
    assert set(by_sid) == {"340934", "334244"}
    assert by_sid["340934"]["name"] == "smithbob" and by_sid["340934"]["exercise2"] == "20"
    assert by_sid["334244"]["exercise2"] == "0"


def test_canvas_late_marks_reach_the_submission_and_no_one_else(tmp_path):
    """Canvas writes `_LATE_` (older downloads `_late_`) before the user id of a late
    submission, and `LATE_anon_` in an anonymous download: reading the name for the student's
    id dropped it, and the TA lost who was late."""
    named = write(
        tmp_path / "named",
        {
            "smithbob_340934_208490284_exercise2.py": EX2,
            "wellslane_LATE_334244_394803489_exercise2.py": EX2,
            "ngkim_late_350001_394800001_exercise1.py": EX2,
            "doeann_LATE_350002_text.html": b"<p>see colab</p>",
        },
    )
    anonymous = write(
        tmp_path / "anon",
        {"anon_Ab3xY_7001_exercise2.py": EX2, "LATE_anon_Qq7Rt_8001_exercise2.py": EX2},
    )
    subs = {s.name: s for path in (named, anonymous) for s in discover(path, FILES)[0]}
    late = {name for name, s in subs.items() if any(f["flag"] == "late" for f in s.review)}
    assert late == {
        "wellslane (334244)",
        "ngkim (350001)",
        "doeann (350002)",
        "anonymous (anon_Qq7Rt)",
    }
    assert "from a Canvas download, marked late" in subs["wellslane (334244)"].notes
    assert "from a Canvas download" in subs["smithbob (340934)"].notes


def test_a_canvas_file_read_for_no_one_takes_its_late_mark_to_the_unidentified_row(tmp_path):
    """`lovelaceada_1001_2002_LATE_3003_4004_hw.zip` is user 1001's `LATE_3003_4004_hw.zip`,
    or user 3003's late `hw.zip`: read for no one, it went to an unidentified row that said
    nothing of the late mark one of its readings carries."""
    root = write(
        tmp_path / "canvas",
        {
            "smithbob_340934_208490284_exercise2.py": EX2,
            "lovelaceada_1001_2002_LATE_3003_4004_hw.zip": zipped({"exercise1.py": BAD}),
        },
    )
    subs = {s.name: s for s in discover(root, FILES)[0]}
    assert set(subs) == {"smithbob (340934)", "unidentified 1"}
    assert [f["flag"] for f in subs["unidentified 1"].review] == ["late", "download"]
    assert subs["unidentified 1"].notes[0] == "from a Canvas download, marked late"
    assert all(f["flag"] != "late" for f in subs["smithbob (340934)"].review)


def graded_download(tmp_path: Path, files: dict[str, str]) -> list[dict[str, str]]:
    """An LMS download of `files` graded as a batch into tmp_path/out: grades.csv's rows."""
    zpath = tmp_path / "download.zip"
    zpath.write_bytes(zipped(files))
    grade_batch(zpath, tmp_path / "out", progress=False)
    return list(csv.DictReader(io.StringIO((tmp_path / "out" / "grades.csv").read_text())))


def test_a_late_canvas_submission_is_marked_in_the_gradebook_and_the_summary(tmp_path):
    rows = graded_download(
        tmp_path,
        {
            "smithbob_340934_208490284_exercise2.py": EX2,
            "wellslane_LATE_334244_394803489_exercise2.py": EX2,
        },
    )
    assert {r["sid"]: r["late"] for r in rows} == {"340934": "", "334244": "yes"}
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    students = {s["sid"]: s for s in summary["students"]}
    assert students["334244"]["late"] and not students["340934"]["late"]
    assert any("marked this submission late" in a for a in students["334244"]["attention"])
    assert not any("late" in a for a in students["340934"]["attention"])
    page = (tmp_path / "out" / "summary.html").read_text()
    assert "Canvas marked this submission late" in page


def test_a_full_name_holding_the_member_separator_is_one_gradebook_row(tmp_path):
    """ "; " joins a Gradescope group's names; a Moodle full name may hold it too, and is still
    one person: one row, with their id."""
    rows = graded_download(
        tmp_path,
        {
            "Carl; Dan_1001_assignsubmission_file_/exercise2.py": EX2,
            "Ada Lovelace_1002_assignsubmission_file_/exercise2.py": EX2,
        },
    )
    assert sorted((r["name"], r["sid"]) for r in rows) == [
        ("Ada Lovelace", "1002"),
        ("Carl; Dan", "1001"),
    ]


def test_a_link_in_a_download_is_not_followed(tmp_path):
    """A link is not an upload: the grader never reads what it points to (here, a file outside
    the download that a student could not have uploaded)."""
    secret = tmp_path / "secret.py"
    secret.write_text("TOKEN = 'grader-only'\n")
    folder = tmp_path / "moodle" / "Mallory_1003_assignsubmission_file_"
    folder.mkdir(parents=True)
    (folder / "exercise1.py").symlink_to(secret)
    (folder / "exercise2.py").write_bytes(EX2)
    student, files, _ = found(tmp_path / "moodle", tmp_path)["Mallory (1003)"]
    assert files["exercise1"] is None and files["exercise2"] == EX2


# ---- a student's text passing for another student's --------------------------------------------

BAD = b"def dlogits():\n    return 0  # mallory's\n"


def test_a_blackboard_file_named_like_a_classmates_later_attempt_stays_its_uploaders(tmp_path):
    """Mallory uploads `x_ghopper_attempt_2099-..._exercise2.py`: Blackboard prefixes it with her
    own attempt, and only that first `_attempt_` is Blackboard's. Grace keeps her files, her
    receipt's name and her attempt; Mallory's files stay hers."""
    grace, mallory, forged = "2026-11-01-09-00-00", "2026-11-02-10-00-00", "2099-12-31-23-59-59"
    root = write(
        tmp_path / "bb",
        {
            f"HW3_ghopper_attempt_{grace}.txt": b"Name: Grace Hopper (ghopper)\n",
            f"HW3_ghopper_attempt_{grace}_exercise2.py": EX2,
            f"HW3_mallory_attempt_{mallory}.txt": b"Name: Mallory Evil (mallory)\n",
            f"HW3_mallory_attempt_{mallory}_exercise1.py": b"# mallory's own\n",
            f"HW3_mallory_attempt_{mallory}_x_ghopper_attempt_{forged}_exercise2.py": BAD,
            f"HW3_mallory_attempt_{mallory}_x_ghopper_attempt_{forged}.txt": b"Name: Grace\n",
        },
    )
    subs = found(root, tmp_path)
    assert set(subs) == {"Grace Hopper (ghopper)", "Mallory Evil (mallory)"}
    student, files, _ = subs["Grace Hopper (ghopper)"]
    assert student == {"name": "Grace Hopper", "sid": "ghopper"}
    assert files["exercise2"] == EX2
    student, files, _ = subs["Mallory Evil (mallory)"]
    assert student == {"name": "Mallory Evil", "sid": "mallory"}
    assert files["exercise1"] == b"# mallory's own\n" and files["exercise2"] is None


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Name: Grace Hopper (ghopper)", ("Grace Hopper", "ghopper")),
        ("Name:   Grace Hopper   ", ("Grace Hopper", "")),
        ("Name: Ada (the first) (alovelace)", ("Ada (the first)", "alovelace")),
        ("Name: (alovelace)", ("(alovelace)", "")),
        ("Name: Ada (a(b))", ("Ada (a(b))", "")),
        ("Name:" + " " * 60_000 + "Grace (ghopper)", ("Grace", "ghopper")),
        ("Name: G" + " " * 60_000 + "x", ("G" + " " * 60_000 + "x", "")),
    ],
)
def test_a_receipt_s_name_line_is_read_in_linear_time(tmp_path, line, expected):
    """Blackboard's `Name: First Last (username)`; a long run of blanks took the regular
    expression this replaced cubic time (72 s for 4,000), in the batch's own process."""
    from grader.lms import _receipt
    from grader.uploads import Budget, Entry, UploadLimits

    text = f"Assignment: HW3\n{line}\nDate Submitted: x\n".encode()
    entry = Entry("r.txt", "r.txt", "file", reader=lambda limit: text[:limit])
    with never_hangs():
        assert _receipt(entry, Budget(UploadLimits())) == (*expected, [])


@pytest.mark.parametrize("login", ["mallory", "mallory_2002_7002_" + "m" * 20_000 + "A"])
def test_a_long_name_of_many_canvas_readings_is_read_in_linear_time(tmp_path, login):
    """Each `_<id>_<id>_` in a name was one pass over the name, and each reading kept most of
    it: 64,000 characters took ~230 s in the batch's own process before anyone was graded."""
    zpath = tmp_path / "submissions.zip"
    name = login + "_1" * 20_000 + "_exercise2.py"
    zpath.write_bytes(zipped({"lovelaceada_1001_3001_exercise2.py": EX2, name: BAD}))
    with never_hangs():
        subs = found(zpath, tmp_path)
    assert subs["lovelaceada (1001)"][1]["exercise2"] == EX2
    assert all(files["exercise2"] != BAD for _, files, _ in subs.values())  # read for no one


def test_a_blackboard_attempt_without_a_receipt_is_not_graded(tmp_path):
    """Blackboard writes a receipt for every attempt: files of an attempt without one are not
    Blackboard's, so they are never graded (not even as a later attempt), and the TA is told."""
    early, late = "2026-11-01-09-00-00", "2026-11-05-09-00-00"
    root = write(
        tmp_path / "bb",
        {
            f"HW3_ghopper_attempt_{early}.txt": b"Name: Grace Hopper (ghopper)\n",
            f"HW3_ghopper_attempt_{early}_exercise2.py": EX2,
            f"HW3_ghopper_attempt_{late}_exercise2.py": BAD,
            f"HW3_nobody_attempt_{late}_exercise2.py": BAD,
        },
    )
    subs = found(root, tmp_path)
    _, files, notes = subs["Grace Hopper (ghopper)"]
    assert files["exercise2"] == EX2
    assert any("no receipt for that attempt" in n for n in notes)
    _, files, notes = subs["nobody (nobody)"]
    assert files["exercise2"] is None
    assert any("no receipt for any attempt" in n for n in notes)


def test_a_blackboard_username_with_an_underscore_is_taken_from_the_receipt(tmp_path):
    stamp = "2026-11-01-09-00-00"
    root = write(
        tmp_path / "bb",
        {
            f"HW3_john_smith_attempt_{stamp}.txt": b"Name: John Smith (john_smith)\n",
            f"HW3_john_smith_attempt_{stamp}_exercise2.py": EX2,
            f"HW3_john_doe_attempt_{stamp}.txt": b"Name: John Doe (john_doe)\n",
            f"HW3_john_doe_attempt_{stamp}_exercise2.py": BAD,
        },
    )
    subs = found(root, tmp_path)
    assert subs["John Smith (john_smith)"][0] == {"name": "John Smith", "sid": "john_smith"}
    assert subs["John Smith (john_smith)"][1]["exercise2"] == EX2
    assert subs["John Doe (john_doe)"][1]["exercise2"] == BAD


def test_a_moodle_name_ending_like_a_classmates_folder_does_not_take_their_place(tmp_path):
    """A student whose full name is `Ada Lovelace_1001_assignsubmission_file_` gets the folder
    `Ada Lovelace_1001_assignsubmission_file__1002_assignsubmission_file_`: Moodle's part is
    the end of a folder's name, so that folder is participant 1002's, not Ada's."""
    fake = "Ada Lovelace_1001_assignsubmission_file_"
    root = write(
        tmp_path / "moodle",
        {
            f"{fake}/exercise2.py": EX2,
            f"{fake}_1002_assignsubmission_file_/exercise2.py": BAD,
        },
    )
    subs = found(root, tmp_path)
    assert set(subs) == {"Ada Lovelace (1001)", f"{fake} (1002)"}
    assert subs["Ada Lovelace (1001)"][1]["exercise2"] == EX2
    assert subs[f"{fake} (1002)"][0] == {"name": fake, "sid": "1002"}
    assert subs[f"{fake} (1002)"][1]["exercise2"] == BAD


DOT = ".NET Dev_1002_assignsubmission_file_"  # Moodle writes the full name first, dot and all


@pytest.mark.parametrize("wrapped", ["", "moodle/"], ids=["at the top", "in one top folder"])
@pytest.mark.parametrize("shape", ["folder", "zip"])
def test_a_moodle_name_starting_with_a_dot_is_a_student_not_a_hidden_file(tmp_path, shape, wrapped):
    """A participant named `.NET Dev` was dropped without a word: their folder or flat file
    read as hidden. Hidden files elsewhere, and macOS's `._` twins, are still not looked at."""
    files = {
        "Ada Lovelace_1001_assignsubmission_file_/exercise2.py": EX2,
        f"{DOT}/exercise2.py": BAD,
        f"{DOT}/.hidden/exercise1.py": BAD,  # hidden inside an upload: not looked at
        ".NET Dev_1003_assignsubmission_file_exercise2.py": EX2,  # a flat file
        f"._{DOT}/exercise2.py": b"\0\5\26\7",  # AppleDouble: no one's
        f"__MACOSX/._{DOT}": b"\0\5\26\7",
        ".DS_Store": b"\0",
    }
    if shape == "zip":
        (tmp_path / "moodle.zip").write_bytes(zipped({wrapped + k: v for k, v in files.items()}))
        path = tmp_path / "moodle.zip"
    else:
        path = write(tmp_path / "moodle", {wrapped + k: v for k, v in files.items()})
        path = path / wrapped if wrapped else path
    subs = found(path, tmp_path)
    assert set(subs) == {"Ada Lovelace (1001)", ".NET Dev (1002)", ".NET Dev (1003)"}
    student, got, _ = subs[".NET Dev (1002)"]
    assert student == {"name": ".NET Dev", "sid": "1002"}
    assert got == {"exercise1": None, "exercise2": BAD, "exercise3": None}
    assert subs[".NET Dev (1003)"][1]["exercise2"] == EX2


def test_moodle_entries_claiming_one_id_under_two_names_are_not_merged(tmp_path):
    root = write(
        tmp_path / "moodle",
        {
            "Ada Lovelace_1001_assignsubmission_file_/exercise2.py": EX2,
            "Ada  Lovelace_1001_assignsubmission_file_/exercise2.py": BAD,
        },
    )
    subs = found(root, tmp_path)
    assert subs["Ada Lovelace (1001)"][1]["exercise2"] == EX2
    assert subs["Ada  Lovelace (1001)"][1]["exercise2"] == BAD
    for _, _, notes in subs.values():
        assert any("also claim participant id 1001" in n for n in notes)


def test_a_flat_moodle_file_that_reads_as_two_students_is_not_read(tmp_path):
    """Flat, `Ada Lovelace_1001_assignsubmission_file__1002_assignsubmission_file_x.zip` is
    Ada's `_1002_..._x.zip` or participant 1002's `x.zip`: neither is guessed. Participant 1002
    has no other entry, so the file goes to an unidentified submission, with no id."""
    trick = "Ada Lovelace_1001_assignsubmission_file__1002_assignsubmission_file_x.zip"
    root = write(
        tmp_path / "flat",
        {
            "Ada Lovelace_1001_assignsubmission_file_exercise2.py": EX2,
            trick: zipped({"exercise1.py": BAD}),
        },
    )
    subs = found(root, tmp_path)
    assert set(subs) == {"Ada Lovelace (1001)", "unidentified 1"}
    _, files, notes = subs["Ada Lovelace (1001)"]
    assert files["exercise2"] == EX2 and files["exercise1"] is None
    assert any(n.startswith(f"did not read {trick}") for n in notes)
    student, files, notes = subs["unidentified 1"]
    assert student == {"name": "unidentified", "sid": ""}
    assert all(v is None for v in files.values())
    assert any(n.startswith(f"did not read {trick}") for n in notes)


@pytest.mark.parametrize("login", ["lovelaceada_1001", "evilmallory_1001"])
def test_a_canvas_login_ending_in_a_classmates_id_does_not_take_their_place(tmp_path, login):
    """Mallory (user id 2002) names herself so that Canvas's login for her ends in `_1001`, Ada's
    id: her `hw.zip` becomes `<login>_2002_7001_hw.zip`, which also reads as Ada's (or another
    student's with Ada's id) file `7001_hw.zip`. Canvas keeps a login's trailing `_<digits>`, so
    neither reading is sure: the file is read for no one, and Ada's missing exercise1 stays
    missing instead of coming from Mallory's zip."""
    trick = f"{login}_2002_7001_hw.zip"
    root = write(
        tmp_path / "canvas",
        {"lovelaceada_1001_3001_exercise2.py": EX2, trick: zipped({"exercise1.py": BAD})},
    )
    subs = found(root, tmp_path)
    student, files, notes = subs["lovelaceada (1001)"]
    assert student == {"name": "lovelaceada", "sid": "1001"}
    assert files["exercise2"] == EX2 and files["exercise1"] is None
    assert all(files["exercise1"] is None for _, files, _ in subs.values())
    said = [
        n for _, _, notes in subs.values() for n in notes if n.startswith(f"did not read {trick}")
    ]
    assert said and f"'{login}' (user id 2002)" in said[0] and "upload it again" in said[0]


def test_a_canvas_file_named_like_a_classmates_ids_is_read_for_no_one(tmp_path):
    """Mallory uploads `1001_5555_exercise1.py`: Canvas writes
    `mallory_2002_7777_1001_5555_exercise1.py`, which reads as hers, or as the file
    `exercise1.py` of a login `mallory_2002_7777` with Ada's id 1001 (or of `mallory_2002`, id
    7777). Not read: Mallory is told why; Ada keeps her own files and gets no note. User 7777
    has no entry of their own, so the file also goes to an unidentified submission, which does
    not name Ada's id: Canvas gives user 1001 one login, `lovelaceada`."""
    trick = "mallory_2002_7777_1001_5555_exercise1.py"
    root = write(
        tmp_path / "canvas",
        {
            "lovelaceada_1001_3001_exercise2.py": EX2,
            "mallory_2002_7778_exercise2.py": BAD,
            trick: BAD,
        },
    )
    subs = found(root, tmp_path)
    assert set(subs) == {"lovelaceada (1001)", "mallory (2002)", "unidentified 1"}
    _, files, notes = subs["lovelaceada (1001)"]
    assert files["exercise1"] is None and files["exercise2"] == EX2
    assert not any(trick in n for n in notes)
    _, files, notes = subs["mallory (2002)"]
    assert files["exercise1"] is None and files["exercise2"] == BAD
    assert any(n.startswith(f"did not read {trick}") for n in notes)
    student, files, notes = subs["unidentified 1"]
    assert student["sid"] == "" and files["exercise1"] is None
    assert any("may be 'mallory_2002' (user id 7777), who has no other" in n for n in notes)


def test_canvas_entries_claiming_one_user_id_under_two_logins_are_not_merged(tmp_path):
    root = write(
        tmp_path / "canvas",
        {
            "lovelaceada_1001_3001_exercise2.py": EX2,
            "adalovelace_1001_3002_exercise1.py": BAD,
        },
    )
    subs = found(root, tmp_path)
    assert set(subs) == {"lovelaceada (1001)", "adalovelace (1001)"}
    assert subs["lovelaceada (1001)"][1]["exercise1"] is None
    assert subs["adalovelace (1001)"][1]["exercise2"] is None
    for _, _, notes in subs.values():
        assert any("also claim user id 1001" in n and "graded apart" in n for n in notes)


def test_canvas_logins_and_file_names_holding_underscores_and_numbers(tmp_path):
    """A login may hold `_` (Canvas keeps word characters: `O_Brien, Pat` is `o_brienpat`), and
    a file name numbers of its own: read where only one reading is possible (a capital or a
    dash cannot be in a login), and not read, with what to do, where two are."""
    dated = "ngkim_350001_394800001_hw_2024_11_03.zip"
    root = write(
        tmp_path / "canvas",
        {
            "o_brienpat_340935_208490285_exercise2.py": EX2,
            "smithbob_340934_208490284_HW_2024_11_03.zip": zipped({"exercise1.py": b"# bob\n"}),
            "smithbob_340934_208490286_my-hw_1_2_notes.txt": b"bob's notes\n",
            "ngkim_350001_394800002_exercise2.py": EX2,
            dated: zipped({"exercise1.py": b"# kim\n"}),
        },
    )
    subs = found(root, tmp_path)
    # hw_2024_11_03.zip also reads as the file `03.zip` of a login `ngkim_350001_394800001_hw`
    # (user id 2024), who would have no other entry: that reading gets an unidentified row.
    assert set(subs) == {
        "o_brienpat (340935)",
        "smithbob (340934)",
        "ngkim (350001)",
        "unidentified 1",
    }
    assert subs["o_brienpat (340935)"][0] == {"name": "o_brienpat", "sid": "340935"}
    assert subs["o_brienpat (340935)"][1]["exercise2"] == EX2
    assert subs["smithbob (340934)"][1]["exercise1"] == b"# bob\n"
    assert not any("did not read" in n for n in subs["smithbob (340934)"][2])
    _, files, notes = subs["ngkim (350001)"]
    assert files["exercise2"] == EX2 and files["exercise1"] is None
    assert any(n.startswith(f"did not read {dated}") for n in notes)


# ---- two files at one path ---------------------------------------------------------------------


def test_a_canvas_file_uploaded_again_is_graded_in_its_latest_version(tmp_path):
    """Canvas names a re-upload `exercise2-1.py`, then `-2`: the highest number is the latest."""
    root = write(
        tmp_path / "canvas",
        {
            "smithbob_123_456_exercise2.py": BAD,
            "smithbob_123_456_exercise2-2.py": EX2,
            "smithbob_123_456_exercise2-1.py": BAD + b"# second\n",
        },
    )
    _, files, notes = found(root, tmp_path)["smithbob (123)"]
    assert files["exercise2"] == EX2
    assert any("(smithbob_123_456_exercise2-2.py) is the latest exercise2.py" in n for n in notes)


def test_two_canvas_uploads_with_one_number_are_ambiguous_not_one_over_the_other(tmp_path):
    root = write(
        tmp_path / "canvas",
        {
            "smithbob_123_456_exercise2-1.py": EX2,
            "smithbob_123_456_exercise2-01.py": BAD,
            "smithbob_123_456_exercise1.py": b"# bob\n",
        },
    )
    subs, _ = discover(root, FILES)
    (bob,) = subs
    assert bob.files["exercise2"] is None and bob.files["exercise1"] == b"# bob\n"
    assert bob.absent["exercise2"].startswith("ambiguous: ")
    assert "smithbob_123_456_exercise2-1.py" in bob.absent["exercise2"]


def test_one_moodle_students_folder_and_flat_file_at_one_path_are_kept_apart(tmp_path):
    root = write(
        tmp_path / "moodle",
        {
            "Ada Lovelace_1001_assignsubmission_file_/exercise2.py": EX2,
            "Ada Lovelace_1001_assignsubmission_file_exercise2.py": BAD,
        },
    )
    subs, _ = discover(root, FILES)
    (ada,) = subs
    assert ada.files["exercise2"] is None
    assert ada.absent["exercise2"].startswith("ambiguous: ")
    assert any("kept apart" in n for n in ada.notes)


def test_a_download_zip_listing_one_file_twice_is_not_read_one_for_the_other(tmp_path):
    """The download's zip itself may hold one name twice: the student's file there is read only
    if both copies are the same, as in any zip (grader/uploads.py)."""
    buf = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buf, "w") as z:
        warnings.simplefilter("ignore", UserWarning)  # zipfile's "Duplicate name": the point
        z.writestr("smithbob_123_456_exercise2.py", EX2)
        z.writestr("smithbob_123_456_exercise2.py", BAD)
        z.writestr("smithbob_123_457_exercise1.py", b"# bob\n")
    zpath = tmp_path / "canvas.zip"
    zpath.write_bytes(buf.getvalue())
    (bob,) = discover(zpath, FILES)[0]
    assert bob.files["exercise2"] is None and bob.files["exercise1"] == b"# bob\n"
    assert bob.absent["exercise2"].startswith("ambiguous: exercise2.py was not read")


# ---- what a Canvas download holds besides uploads -----------------------------------------------


def test_canvas_online_text_and_url_entries_are_their_students_not_graded(tmp_path):
    """Canvas writes an online text entry as `<login>[_LATE]_<user id>_text.html` and a website
    URL as `..._link.html`. Such a name used to make the whole download a plain folder of
    submissions: only the zip became a submission (named after the download's file, with no
    id), and without it the batch stopped. Each entry is now its student's, and not graded."""
    root = write(
        tmp_path / "canvas",
        {
            "smithbob_340934_208490284_exercise2.py": EX2,
            "lovelaceada_1001_text.html": b"<p>my answers are in colab</p>",
            "wellslane_LATE_334244_link.html": b"<a href='https://example.org/x'>x</a>",
            "ngkim_350001_394800001_mywork.zip": zipped({"hw/exercise3.py": b"# kim\n"}),
        },
    )
    subs = found(root, tmp_path)
    assert set(subs) == {
        "smithbob (340934)",
        "lovelaceada (1001)",
        "wellslane (334244)",
        "ngkim (350001)",
    }
    assert subs["smithbob (340934)"][1]["exercise2"] == EX2
    assert subs["ngkim (350001)"][1]["exercise3"] == b"# kim\n"
    for who, sid, kind in (
        ("lovelaceada (1001)", "1001", "an online text entry"),
        ("wellslane (334244)", "334244", "a website URL"),
    ):
        student, files, notes = subs[who]
        assert student["sid"] == sid
        assert all(v is None for v in files.values())
        assert any(n.startswith("not graded: ") and f"is {kind}" in n for n in notes)
        assert any(n.startswith("no exercise files found") for n in notes)


def test_an_upload_named_like_an_online_entry_is_read_for_no_one(tmp_path):
    """Mallory uploads `text.html`: Canvas writes `mallory_2002_7001_text.html`, which is also the
    online entry of a login `mallory_2002` with user id 7001. Not guessed between."""
    trick = "mallory_2002_7001_text.html"
    root = write(
        tmp_path / "canvas",
        {"mallory_2002_7002_exercise2.py": BAD, trick: b"<p>x</p>"},
    )
    subs = found(root, tmp_path)
    assert set(subs) == {"mallory (2002)", "unidentified 1"}
    _, _, notes = subs["mallory (2002)"]
    assert any(n.startswith(f"did not read {trick}") for n in notes)
    assert not any(n.startswith("not graded: ") for n in notes)
    student, _, notes = subs["unidentified 1"]
    assert student["sid"] == "" and any("'mallory_2002' (user id 7001)" in n for n in notes)


def test_a_graded_canvas_download_with_online_entries_and_a_doubtful_name(tmp_path):
    """End to end: a text entry is its student's row (nothing graded, the report says why), and a
    file only an unknown login could be given is an unidentified row with no id, never a
    second row for the id its name holds."""
    zpath = tmp_path / "submissions.zip"
    zpath.write_bytes(
        zipped(
            {
                "smithbob_340934_208490284_exercise2.py": EX2,
                "lovelaceada_1001_text.html": b"<p>see colab</p>",
                "lovelaceada_1001_2002_7001_hw.zip": zipped({"secret_notes.py": BAD}),
            }
        )
    )
    grade_batch(zpath, tmp_path / "out", progress=False)
    rows = list(csv.DictReader(io.StringIO((tmp_path / "out" / "grades.csv").read_text())))
    assert sorted((r["name"], r["sid"]) for r in rows) == [
        ("lovelaceada", "1001"),
        ("smithbob", "340934"),
        ("unidentified", ""),
    ]
    by_name = {r["name"]: r for r in rows}
    assert by_name["smithbob"]["exercise2"] == "20" and by_name["lovelaceada"]["score"] == "0"
    results = [json.loads(p.read_text()) for p in (tmp_path / "out").glob("*/result.json")]
    ada = next(r for r in results if r["student"].get("sid") == "1001")
    notes = ada["student"]["notes"]
    assert any("lovelaceada_1001_text.html is an online text entry" in n for n in notes)
    # The note on the doubtful zip names it as the download does, never what it holds.
    assert any(n.startswith("did not read lovelaceada_1001_2002_7001_hw.zip") for n in notes)
    assert not any("secret_notes" in n for r in results for n in r["student"]["notes"])


def test_a_needs_a_look_line_names_what_the_download_left_unsure(tmp_path):
    """The TA's line for a download's doubt said "(files not read for it, or claimed twice)"
    whatever the doubt was: of a Canvas online text entry or a website URL, neither. Each line
    names its own kinds, once each."""
    zpath = tmp_path / "submissions.zip"
    zpath.write_bytes(
        zipped(
            {
                "smithbob_340934_208490284_exercise2.py": EX2,
                "texttom_1006_text.html": b"<p>see my colab</p>",
                "linklee_1007_link.html": b"<p>https://colab.example</p>",
                "lovelaceada_1001_2002_7001_hw.zip": zipped({"exercise1.py": BAD}),
                "lovelaceada_1001_2002_7002_hw2.zip": zipped({"exercise1.py": BAD}),
            }
        )
    )
    grade_batch(zpath, tmp_path / "out", progress=False)
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    said = {s["name"]: "; ".join(s["attention"]) for s in summary["students"]}
    online = "left 1 thing about this submission unsure (an online text entry, not graded)"
    assert online in said["texttom"]
    assert "(a website URL, not graded)" in said["linklee"]
    no_ones = "a file whose name reads as more than one student's, read for no one"
    assert f"left 2 things about this submission unsure ({no_ones})" in said["unidentified"]
    assert "claimed twice" not in " ".join(said.values())


def test_a_student_whose_every_entry_is_doubtful_gets_a_row_with_no_ones_id(tmp_path):
    """Mallory (user id 2002, login `lovelaceada_1001`) uploads only `hw.zip`, written
    `lovelaceada_1001_2002_7001_hw.zip`: Ada's (1001) `7001_hw.zip`, or Mallory's `hw.zip`. Ada is
    not in the download. No row may be made in either reading's name (one of them carries an id
    that is not the uploader's): the file goes to an unidentified row, which says both."""
    trick = "lovelaceada_1001_2002_7001_hw.zip"
    root = write(
        tmp_path / "canvas",
        {"smithbob_340934_208490284_exercise2.py": EX2, trick: zipped({"exercise1.py": BAD})},
    )
    subs = found(root, tmp_path)
    assert set(subs) == {"smithbob (340934)", "unidentified 1"}
    assert {s["sid"] for s, _, _ in subs.values()} == {"340934", ""}
    student, files, notes = subs["unidentified 1"]
    assert student == {"name": "unidentified", "sid": ""}
    assert files["exercise1"] is None
    assert any(n.startswith(f"did not read {trick}") for n in notes)
    said = next(n for n in notes if n.startswith("no student's own"))
    assert "'lovelaceada' (user id 1001)" in said and "'lovelaceada_1001' (user id 2002)" in said
    assert not any(trick in n for n in subs["smithbob (340934)"][2])


def test_each_unidentified_uploader_keeps_their_files_together(tmp_path):
    """Two doubtful files with the same readings are one unidentified row, another set another."""
    root = write(
        tmp_path / "canvas",
        {
            "smithbob_340934_208490284_exercise2.py": EX2,
            "lovelaceada_1001_2002_7001_a.zip": zipped({"exercise1.py": BAD}),
            "lovelaceada_1001_2002_7002_b.zip": zipped({"exercise3.py": BAD}),
            "ngkim_3003_4004_5005_c.zip": zipped({"exercise3.py": BAD}),
        },
    )
    subs = found(root, tmp_path)
    assert set(subs) == {"smithbob (340934)", "unidentified 1", "unidentified 2"}
    got = {
        name: sorted(n.split(":")[0] for n in notes if n.startswith("did not read"))
        for name, (_, _, notes) in subs.items()
        if name.startswith("unidentified")
    }
    assert sorted(got.values()) == [
        [
            "did not read lovelaceada_1001_2002_7001_a.zip",
            "did not read lovelaceada_1001_2002_7002_b.zip",
        ],
        ["did not read ngkim_3003_4004_5005_c.zip"],
    ]


# ---- anonymous grading -------------------------------------------------------------------------


def test_an_anonymous_canvas_download_gives_one_submission_per_anonymous_id(tmp_path):
    """With anonymous grading Canvas writes `[LATE_]anon_<5 base58>` in place of the login and the
    user id. The anonymous part comes first and has one length, so a file name copying a
    classmate's (`anon_Qq7Rt_9999_exercise1.py`) stays its uploader's."""
    root = write(
        tmp_path / "anon",
        {
            "anon_Ab3xY_7001_exercise2.py": BAD,
            "anon_Ab3xY_7002_exercise2-1.py": EX2,  # uploaded again: the latest is read
            "anon_Ab3xY_7003_anon_Qq7Rt_9999_exercise1.py": BAD,
            "LATE_anon_Qq7Rt_8001_exercise1.py": b"# qq's own\n",
            "anon_Zz9zz_text.html": b"<p>see colab</p>",
        },
    )
    subs = found(root, tmp_path)
    assert set(subs) == {
        "anonymous (anon_Ab3xY)",
        "anonymous (anon_Qq7Rt)",
        "anonymous (anon_Zz9zz)",
    }
    student, files, notes = subs["anonymous (anon_Ab3xY)"]
    assert student == {"name": "anonymous", "sid": "anon_Ab3xY"}
    assert files["exercise2"] == EX2
    assert any("is the latest exercise2.py" in n for n in notes)
    assert subs["anonymous (anon_Qq7Rt)"][1]["exercise1"] == b"# qq's own\n"
    _, files, notes = subs["anonymous (anon_Zz9zz)"]
    assert all(v is None for v in files.values())
    assert any("anon_Zz9zz_text.html is an online text entry" in n for n in notes)


def test_a_login_starting_with_anon_in_a_named_download_stays_its_students(tmp_path):
    """Mallory's login may be `anon_ab3xy`: her `anon_ab3xy_2002_7001_exercise1.py` also reads as
    an anonymous upload. Ada's ordinary name makes the download a named one, so it is Mallory's
    (user id 2002) and nobody's anonymous file."""
    root = write(
        tmp_path / "canvas",
        {
            "lovelaceada_1001_3001_exercise2.py": EX2,
            "anon_ab3xy_2002_7001_exercise1.py": BAD,
        },
    )
    subs = found(root, tmp_path)
    assert set(subs) == {"lovelaceada (1001)", "anon_ab3xy (2002)"}
    assert subs["anon_ab3xy (2002)"][1]["exercise1"] == BAD
    assert subs["lovelaceada (1001)"][1]["exercise1"] is None


def test_a_download_whose_every_name_reads_both_named_and_anonymous_is_not_guessed(tmp_path):
    """`anon_12345_7001_exercise1.py` is anonymous 12345's upload, or user 12345's with the login
    `anon`: with no other entry to tell a named download from an anonymous one, neither."""
    root = write(tmp_path / "canvas", {"anon_12345_7001_exercise1.py": BAD})
    subs = found(root, tmp_path)
    assert set(subs) == {"unidentified 1"}
    _, files, notes = subs["unidentified 1"]
    assert files["exercise1"] is None
    said = next(n for n in notes if n.startswith("did not read"))
    assert "'anonymous' (user id anon_12345)" in said and "'anon' (user id 12345)" in said


def test_a_file_left_unread_for_a_student_puts_them_on_the_needs_a_look_list(tmp_path):
    """Kim's zip named with a date reads as two students' files, so it is read for no one: her
    three .py files alone would look like a whole submission. She, and the unidentified row,
    are on the summary's "needs a look" list; Bob, whose older upload was passed over as usual,
    is not."""
    stub = {k: (STUBS / f"exercise{k}.py").read_bytes() for k in (1, 2, 3)}  # nothing to look at
    files = {
        f"{login}_{sid}_{fid}{k}_exercise{k}.py": stub[k]
        for login, sid, fid in (("ngkim", 350001, 39480000), ("smithbob", 340934, 20849028))
        for k in (1, 2, 3)
    }
    files["ngkim_350001_394800009_hw_2024_11_03.zip"] = zipped({"exercise2.py": EX2})
    files["smithbob_340934_208490289_exercise2-1.py"] = stub[2]
    zpath = tmp_path / "submissions.zip"
    zpath.write_bytes(zipped(files))
    grade_batch(zpath, tmp_path / "out", progress=False)
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    attention = {s["name"]: s["attention"] for s in summary["students"]}
    assert set(attention) == {"ngkim", "smithbob", "unidentified"}
    assert attention["smithbob"] == []
    assert [why[:33] for why in attention["ngkim"]] == ["the Canvas download left 1 thing "]
    assert attention["unidentified"]
    results = [json.loads(p.read_text()) for p in (tmp_path / "out").glob("*/result.json")]
    review = {r["student"]["name"]: [f["flag"] for f in r["review"]] for r in results}
    assert review == {"ngkim": ["download"], "smithbob": [], "unidentified": ["download"]}


# ---- every login Canvas writes is one -----------------------------------------------------------


@pytest.mark.parametrize(
    "entry",
    [
        "_2002_7001_exercise1.py",  # a sortable name with no word character: the empty login
        "_LATE_2002_7001_exercise1.py",
        "ⓜallory_2002_7001_exercise1.py",  # Ruby's [[:word:]] keeps a circled letter (Alphabetic)
        "\U0001f17callory_2002_7001_exercise1.py",  # a negative squared M, Alphabetic too
    ],
)
def test_a_login_canvas_writes_never_turns_the_download_into_a_plain_folder(tmp_path, entry):
    """Canvas writes `[login, LATE, user id].join('_')` with the login made of the sortable
    name's `[[:word:]]` characters: a student named only with symbols gets an empty login, one
    named `Ⓜallory` keeps the circled letter. Before, such a name had no reading, so the whole
    download was taken for a plain folder: every classmate lost their id (their zips graded
    under the download's names), the .py files were not read at all, or the batch stopped."""
    zpath = tmp_path / "submissions.zip"
    zpath.write_bytes(
        zipped(
            {
                "lovelaceada_1001_3001_hw.zip": zipped({"exercise2.py": EX2}),
                "smithbob_340934_208490284_exercise1.py": b"# bob\n",
                entry: BAD,
            }
        )
    )
    subs = found(zpath, tmp_path)
    by_sid = {student["sid"]: files for student, files, _ in subs.values()}
    assert set(by_sid) == {"1001", "340934", "2002"}
    assert by_sid["1001"]["exercise2"] == EX2 and by_sid["340934"]["exercise1"] == b"# bob\n"
    assert by_sid["2002"]["exercise1"] == BAD


def test_a_canvas_upload_numbered_with_thousands_of_digits_does_not_stop_the_batch(tmp_path):
    """A file name is the student's, and a zip's names have no length limit: `exercise1-99…9.py`
    with 5000 digits made `int` refuse the number (Python's limit is 4300), and the whole batch
    stopped. The number is compared as digits: it is the latest upload, graded."""
    again = "mallory_2002_7002_exercise1-" + "9" * 5000 + ".py"
    zpath = tmp_path / "submissions.zip"
    zpath.write_bytes(
        zipped(
            {
                "lovelaceada_1001_3001_exercise2.py": EX2,
                "mallory_2002_7001_exercise1.py": b"# first\n",
                again: BAD,
            }
        )
    )
    subs = found(zpath, tmp_path)
    assert subs["lovelaceada (1001)"][1]["exercise2"] == EX2
    _, files, notes = subs["mallory (2002)"]
    assert files["exercise1"] == BAD
    assert any(n.startswith("not read: mallory_2002_7001_exercise1.py:") for n in notes)
