"""Hostile uploads in a real batch: one upload never touches another student's result.

Each attack of issue 10 arrives as a class's submissions would (folders, zips, a Gradescope
export zip). Every test grades the class twice, without and with the attackers, and asserts that
each honest student's score and items are exactly the same, that `grader grade` exits 0, and that
the summary and gradebook are written with one row per submission.
"""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from conftest import ROOT, mutated, solution

from grader.cli import main
from grader.submissions import METADATA

MiB = 1 << 20
HONEST = {
    "ada": {"exercise2.py": solution("exercise2")},
    "bob": {"exercise2.py": mutated("exercise2", "    dlogits /= n\n", "")},
    "bob (2)": {"exercise2.py": solution("exercise2")},  # a real student with an odd name
}


def write(root: Path, files: dict[str, str | bytes]) -> None:
    for rel, content in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(content.encode() if isinstance(content, str) else content)


def zip_of(files: dict[str, str | bytes], level: int = 6) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as z:
        for name, content in files.items():
            z.writestr(zipfile.ZipInfo(name), content, zipfile.ZIP_DEFLATED)
    return buf.getvalue()


def folder_class(root: Path, students: dict[str, dict[str, str]]) -> Path:
    for name, files in students.items():
        write(root / name, files)
    return root


def grade(path: Path, out: Path) -> dict[str, dict]:
    """`grader grade PATH --out OUT` as a TA runs it: exits 0, writes a summary and a gradebook."""
    result = CliRunner().invoke(main, ["grade", str(path), "--out", str(out), "--no-progress"])
    assert result.exit_code == 0, result.output + repr(result.exception)
    summary = json.loads((out / "summary.json").read_text())
    rows = list(csv.DictReader((out / "grades.csv").open(encoding="utf-8")))
    folders = [p.parent.name for p in out.glob("*/result.json")]
    loaded = [json.loads(p.read_text()) for p in out.glob("*/result.json")]
    results = {r["submission"]: r for r in loaded}
    assert len(rows) == len(results) == len(folders) == len(summary["students"])
    assert len({r["submission"] for r in rows}) == len(rows), "two rows for one submission"
    return results


def same(before: dict, after: dict, names) -> None:
    for name in names:
        assert after[name]["score"] == before[name]["score"], name
        assert after[name]["items"] == before[name]["items"], name


def stored_zip_of_zeros(size: int) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        z.writestr("zeros.bin", bytes(size))
    return buf.getvalue()


@pytest.fixture(scope="module")
def baseline(tmp_path_factory) -> dict[str, dict]:
    root = folder_class(tmp_path_factory.mktemp("honest") / "class", HONEST)
    return grade(root, tmp_path_factory.mktemp("honest-out"))


def test_a_class_of_attackers_changes_no_honest_result(baseline, tmp_path, monkeypatch):
    """Links, FIFOs, colliding names, metadata in an upload, a zip of huge zips, many files."""
    root = folder_class(tmp_path / "class", HONEST)
    # Links to the checkout's solutions (graded from it, as `make grade` does), to a classmate.
    eve = root / "eve"
    eve.mkdir()
    (eve / "exercise1.py").symlink_to("/proc/self/cwd/solutions/backprop-ninja/exercise1.py")
    (eve / "exercise2.py").symlink_to("../ada/exercise2.py")
    (eve / "exercise3.py").symlink_to(ROOT / "solutions" / "backprop-ninja" / "exercise3.py")
    (root / "fay").symlink_to(ROOT / "solutions" / "backprop-ninja", target_is_directory=True)
    # FIFOs: a whole "submission" and a file inside one.
    os.mkfifo(root / "evil.zip")
    write(root / "mal", {"exercise2.py": "x = 1\n"})
    os.mkfifo(root / "mal" / "evil.zip")
    # Names that collide with a student and with the batch's own files.
    (root / "bob.zip").write_bytes(zip_of({"exercise2.py": "y = 2\n"}))
    for batch_file in ("grades.csv", "summary.json", "summary.html"):
        (root / f"{batch_file}.zip").write_bytes(zip_of({"exercise2.py": "z = 3\n"}))
    # Export mode smuggled in one upload.
    meta = {"/": {}, "../../../etc": {}, str(ROOT / "solutions" / "backprop-ninja"): {}, "ada": {}}
    write(root / "meg", {METADATA: yaml.safe_dump(meta)})
    # A 1 MB zip of five 199 MB zips; and more entries than a submission may have.
    huge = stored_zip_of_zeros(199 * MiB)
    (root / "bomb.zip").write_bytes(zip_of({f"p{i}.zip": huge for i in range(5)}, level=1))
    write(root / "many", {f"f/{i}": b"" for i in range(5_200)})
    monkeypatch.chdir(ROOT)  # /proc/self/cwd is the checkout, as under `make grade`
    out = tmp_path / "out"
    after = grade(root, out)
    same(baseline, after, HONEST)
    for name in ("eve", "fay", "evil", "mal", "meg", "bomb", "many"):
        assert after[name]["score"] == 0, name
    assert (out / "bob (3)" / "result.json").exists()  # bob.zip: neither bob nor bob (2)
    assert {"grades.csv (2)", "summary.json (2)", "summary.html (2)"} <= {
        p.name for p in out.iterdir() if p.is_dir()
    }
    notes = " ".join(after["eve"]["student"]["notes"])
    assert "exercise1.py: a symbolic link" in notes
    assert "FIFO" in " ".join(after["evil"]["student"]["notes"])
    assert "did not open p0.zip" in " ".join(after["bomb"]["student"]["notes"])
    assert "more than 5000 files and folders" in " ".join(after["many"]["student"]["notes"])


def corrupt_lzma_zip(files: dict[str, str]) -> bytes:
    """A zip whose entries are LZMA streams with bytes flipped in the middle: reading one
    raises lzma.LZMAError, which is not an OSError."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_LZMA) as z:
        for name, content in files.items():
            z.writestr(name, content * 50)
    data = bytearray(buf.getvalue())
    for info in zipfile.ZipFile(io.BytesIO(bytes(data))).infolist():
        start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
        for k in range(start + 40, start + 90):
            data[k] ^= 0x5A
    return bytes(data)


# Zeros, then an end-of-archive record that claims one entry: zipfile raises BadZipFile.
BROKEN_DIRECTORY = bytes(46) + b"PK\x05\x06" + bytes(4) + b"\x01\x00\x01\x00" + b"\x2e" + bytes(9)


def test_archives_that_fail_to_decompress_stop_nobody(baseline, tmp_path):
    """A broken central directory and a corrupt LZMA stream raise errors of their own
    (BadZipFile, LZMAError) that once escaped the batch: exit 1, a traceback, no reports."""
    root = folder_class(tmp_path / "class", HONEST)
    (root / "mallory.zip").write_bytes(BROKEN_DIRECTORY)
    (root / "lzma.zip").write_bytes(corrupt_lzma_zip({"exercise2.py": solution("exercise2")}))
    write(root / "nested", {"hw.zip": corrupt_lzma_zip({"exercise2.py": solution("exercise2")})})
    after = grade(root, tmp_path / "out")
    same(baseline, after, HONEST)
    for name in ("mallory", "lzma", "nested"):
        assert after[name]["score"] == 0, name
    assert "not a readable zip" in " ".join(after["mallory"]["student"]["notes"])
    # Said once, as the file's state, where every one of its items shows it.
    assert "could not read exercise2.py" in after["lzma"]["files"]["exercise2"]
    assert "could not read hw.zip/exercise2.py" in after["nested"]["files"]["exercise2"]
    honest = {"submission_2": HONEST["ada"]}
    broken = {"submission_1": {"hw.zip": corrupt_lzma_zip({"exercise2.py": solution("exercise2")})}}
    exported = grade(export_zip(tmp_path / "export.zip", broken | honest), tmp_path / "export")
    assert exported["submission_2"]["score"] == after["ada"]["score"]
    assert exported["submission_1"]["score"] == 0


def export_zip(path: Path, students: dict[str, dict[str, str | bytes]]) -> Path:
    """A Gradescope "Export Submissions" zip: one top folder, metadata, one folder each."""
    top = "assignment_1_export/"
    meta = {k: {":submitters": [{":name": k.title(), ":email": f"{k}@x.edu"}]} for k in students}
    files = {top + METADATA: yaml.safe_dump(meta)}
    for sub, content in students.items():
        files |= {f"{top}{sub}/{name}": data for name, data in content.items()}
    path.write_bytes(zip_of(files))
    return path


def test_an_export_with_attackers_sorted_first_changes_no_honest_result(tmp_path):
    """`...zip` and a metadata file inside the first student's folder of a Gradescope export."""
    honest = {"submission_2": HONEST["ada"], "submission_3": HONEST["bob"]}
    before = grade(export_zip(tmp_path / "honest.zip", honest), tmp_path / "honest")
    inner_meta = yaml.safe_dump(
        {"/": {}, str(ROOT / "solutions" / "backprop-ninja"): {}, "submission_2": {}}
    )
    attacker = {
        "!a.zip": zip_of({"notes.txt": "opened first: makes the folder `...zip` climbs out of"}),
        "...zip": zip_of({"exercise2.py": "w = 4\n"}),
        METADATA: inner_meta,
    }
    attacked = {"submission_1": attacker, **honest}
    after = grade(export_zip(tmp_path / "attacked.zip", attacked), tmp_path / "attacked")
    same(before, after, honest)
    assert after["submission_1"]["score"] == 0
    assert set(after) == set(attacked)


def test_a_killed_batch_leaves_nothing_in_the_temporary_folder(tmp_path):
    """Nothing is unpacked to disk: a zip inside an upload is read into an anonymous file."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    big = zip_of({"exercise2.py": "import time\ntime.sleep(3)\n" + solution("exercise2"),
                  "data.bin": os.urandom(9 * MiB)}, level=0)  # fmt: skip
    root = folder_class(tmp_path / "class", {f"s{i}": {"work.zip": big} for i in range(3)})
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "grader.cli", "grade", str(root), "--out", str(out)]
    env = dict(os.environ, TMPDIR=str(scratch))
    proc = subprocess.Popen(
        [*cmd, "--no-progress"], env=env, start_new_session=True, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 120
    while not list(out.glob("*/result.json")) and time.monotonic() < deadline:
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert list(out.glob("*/result.json")), "killed while grading"
    assert list(scratch.iterdir()) == []
    subprocess.run([*cmd, "--no-progress"], env=env, check=True, capture_output=True)
    assert list(scratch.iterdir()) == []
    assert len(list(out.glob("*/result.json"))) == 3


def test_a_student_process_cannot_fill_the_sandbox_with_files(grade):
    """The issue's 1.47 million empty files: a student process creates nothing at all, not a
    file and not a folder (Landlock, and the audit hook's refusal of mkdir), so the sandbox's
    /tmp cannot fill; its cap in files (tests/test_nest.py fills it from outside) stays as the
    layer beneath for where both are missing."""
    from grader.sandbox import isolation

    flood = textwrap.dedent(f"""\
        import os
        made = 0
        for i in range({3 * isolation.TMPFS_INODES}):
            try:
                os.mkdir(f'd{{i}}')
            except OSError as e:
                print('stopped', made, type(e).__name__)
                break
            made += 1
        else:
            print('made', made)
        """)
    result = grade({"exercise2": flood + solution("exercise2")})
    assert result["output"]["exercise2"] == "stopped 0 PermissionError\n"
    tmp = result["isolation"]["tmp"]
    assert tmp.endswith(f"{isolation.TMPFS_INODES} files") or (
        "files not capped" in tmp or "machine's /tmp" in tmp  # not root: said, not hidden
    )
    assert result["exercises"]["exercise2"]["score"] == 20  # its own work still graded
