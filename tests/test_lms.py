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
import warnings
import zipfile
from pathlib import Path

import pytest
from conftest import solution

from grader.batch import grade_batch
from grader.submissions import discover

FILES = ("exercise1", "exercise2", "exercise3")
EX2 = solution("exercise2").encode()


def found(path: Path, tmp_path: Path) -> dict[str, tuple[dict, dict[str, bytes | None], list]]:
    subs, is_batch = discover(path, FILES, tmp_path / "work")
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


def test_a_plain_folder_of_submissions_is_not_read_as_an_lms_download(tmp_path):
    root = write(
        tmp_path / "class",
        {
            "ada/exercise2.py": EX2,
            "smithbob_340934_208490284_exercise2.py": EX2,  # one stray Canvas-like file
        },
    )
    subs, _ = discover(root, FILES, tmp_path / "work")
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


def test_a_full_name_holding_the_member_separator_is_one_gradebook_row(tmp_path):
    """ "; " joins a Gradescope group's names; a Moodle full name may hold it too, and is still
    one person: one row, with their id."""
    zpath = tmp_path / "moodle.zip"
    zpath.write_bytes(
        zipped(
            {
                "Carl; Dan_1001_assignsubmission_file_/exercise2.py": EX2,
                "Ada Lovelace_1002_assignsubmission_file_/exercise2.py": EX2,
            }
        )
    )
    grade_batch(zpath, tmp_path / "out", progress=False)
    rows = list(csv.DictReader(io.StringIO((tmp_path / "out" / "grades.csv").read_text())))
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
    Ada's `_1002_..._x.zip` or participant 1002's `x.zip`: neither is guessed."""
    trick = "Ada Lovelace_1001_assignsubmission_file__1002_assignsubmission_file_x.zip"
    root = write(
        tmp_path / "flat",
        {
            "Ada Lovelace_1001_assignsubmission_file_exercise2.py": EX2,
            trick: zipped({"exercise1.py": BAD}),
        },
    )
    subs = found(root, tmp_path)
    assert set(subs) == {"Ada Lovelace (1001)"}
    _, files, notes = subs["Ada Lovelace (1001)"]
    assert files["exercise2"] == EX2 and files["exercise1"] is None
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
    `exercise1.py` of a login `mallory_2002_7777` with Ada's id 1001. Not read: Mallory is told
    why; Ada keeps her own files and gets no note."""
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
    assert set(subs) == {"lovelaceada (1001)", "mallory (2002)"}
    _, files, notes = subs["lovelaceada (1001)"]
    assert files["exercise1"] is None and files["exercise2"] == EX2
    assert not any(trick in n for n in notes)
    _, files, notes = subs["mallory (2002)"]
    assert files["exercise1"] is None and files["exercise2"] == BAD
    assert any(n.startswith(f"did not read {trick}") for n in notes)


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
    assert set(subs) == {"o_brienpat (340935)", "smithbob (340934)", "ngkim (350001)"}
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
    subs, _ = discover(root, FILES, tmp_path / "work")
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
    subs, _ = discover(root, FILES, tmp_path / "work")
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
    (bob,) = discover(zpath, FILES, tmp_path / "work")[0]
    assert bob.files["exercise2"] is None and bob.files["exercise1"] == b"# bob\n"
    assert bob.absent["exercise2"].startswith("ambiguous: exercise2.py was not read")
