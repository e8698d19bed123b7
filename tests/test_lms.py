"""Class downloads from Canvas, Moodle and Blackboard are recognised, names and ids included.

Each fixture is built to the LMS's documented naming scheme for "download all submissions"
(grader/lms.py describes the three), with the quirks a TA meets: a late submission, a file
uploaded twice, a student who zipped their files, an earlier attempt, a receipt. `discover` must
find one submission per student with the right files, name and id; one Canvas download is then
graded end to end, into a gradebook keyed by those ids.
"""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

from conftest import solution

from grader.batch import grade_batch
from grader.submissions import discover

FILES = ("exercise1", "exercise2", "exercise3")
EX2 = solution("exercise2").encode()


def found(path: Path, tmp_path: Path) -> dict[str, tuple[dict, dict[str, bytes | None], list]]:
    subs, is_batch = discover(path, FILES, tmp_path / "work")
    assert is_batch
    return {s.name: (s.student, s.files, s.notes) for s in subs}


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
