"""Finding submissions in what a class uploads: every shape, every odd name, nothing trusted.

These tests stop at `discover()`: what the grader reads, from where, and what it says about what
it did not read. tests/attacks/test_uploads.py grades whole batches with the attacks in them.
"""

from __future__ import annotations

import csv
import html
import io
import json
import os
import re
import struct
import subprocess
import sys
import textwrap
import threading
import tracemalloc
import unicodedata
import warnings
import zipfile
from pathlib import Path

import pytest
import yaml
from conftest import discover, never_hangs, solution

from grader import uploads
from grader.batch import grade_batch
from grader.export_metadata import MAX_FIELD_CHARS, MAX_MEMBERS
from grader.report.summary import gradebook_csv
from grader.submissions import (
    METADATA,
    Submission,
    SubmissionError,
    assign_folders,
    find,
    match_exercise,
    read_submission,
    slug,
)
from grader.uploads import KiB, MiB, UploadLimits

FILES = ("exercise1", "exercise2", "exercise3")
ROOT = Path(__file__).resolve().parent.parent


def tree(root: Path, files: dict[str, str | bytes]) -> Path:
    """Write {relative path: content} under root."""
    for rel, content in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(content.encode() if isinstance(content, str) else content)
    return root


def zip_bytes(files: dict[str, str | bytes], links: dict[str, str] | None = None) -> bytes:
    """A zip of {name: content}, names written exactly as given; `links` as symlink entries."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, content in files.items():
            z.writestr(zipfile.ZipInfo(name), content, zipfile.ZIP_DEFLATED)
        for name, target in (links or {}).items():
            info = zipfile.ZipInfo(name)
            info.create_system = 3
            info.external_attr = (0o120777) << 16
            z.writestr(info, target)
    return buf.getvalue()


def by_name(subs: list[Submission]) -> dict[str, Submission]:
    return {s.name: s for s in subs}


def notes(sub: Submission) -> str:
    return " | ".join(sub.notes)


# ---- which file is which exercise (issue 12) ---------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("exercise1.py", ("exercise1", 0)),
        ("Exercise1.PY", ("exercise1", 0)),
        ("exercise1 (1).py", ("exercise1", 1)),  # a browser's second download
        ("exercise2(1).py", ("exercise2", 1)),
        ("exercise3-1.py", ("exercise3", 1)),
        ("Exercise 3 (2).py", ("exercise3", 1)),
        ("exercise_01.py", ("exercise1", 1)),
        ("exercise-2.py", ("exercise2", 1)),
        ("exercise1 - Copy.py", ("exercise1", 1)),  # Windows Explorer
        ("exercise1 copy.py", ("exercise1", 1)),  # macOS Finder
        ("Copy of exercise1.py", ("exercise1", 1)),  # Google Drive's "Make a copy"
        ("Copy of exercise2 (1).py", ("exercise2", 1)),
        ("exercise3.py.py", ("exercise3", 1)),  # an editor adding .py to a name typed with it
        ("exercise1 (copy).py", ("exercise1", 1)),  # file managers that bracket the word
        ("exercise2 (Copy 2).py", ("exercise2", 1)),
        ("Copy of Copy of exercise1.py", ("exercise1", 1)),  # Drive's copy of its copy
        ("Copy of notes.py", None),
        ("exercise1.ipynb.py", None),
        ("exercise12.py", None),  # not exercise 1's copy 2: no separator
        ("exercise31.py", None),
        ("exercise1.py.txt", ("exercise1", 2)),  # saved as text (TextEdit, Notepad, mail)
        ("exercise1 (1).py.txt", ("exercise1", 2)),
        ("exercise1.txt", None),
        ("exercise1.py.txt.txt", None),
        ("exercise1.py.", ("exercise1", 2)),  # a name Windows reads as exercise1.py
        ("exercise2 (1).py. .", ("exercise2", 2)),
        ("exercise1.py.txt.", ("exercise1", 2)),
        ("exercise1.", None),
        ("notes.py", None),
    ],
)
def test_exercise_files_are_recognised_under_the_names_students_give_them(filename, expected):
    assert match_exercise(filename, FILES) == expected


@pytest.mark.parametrize("filler", ["-", "_", " ", " _"])
def test_a_name_of_many_thousand_blanks_is_no_exercise_and_takes_no_time(filler):
    """A zip entry's name may be 65,000 characters: the copy-suffix pattern backtracked from
    every position of such a run (minutes of the batch's CPU a name, before anyone was graded)."""
    name = filler * (65_000 // len(filler)) + "a.py"
    with never_hangs():
        assert match_exercise(name, FILES) is None
        assert match_exercise(filler * 60 + "exercise1 (2).py", FILES) == ("exercise1", 1)


def test_browser_renamed_files_are_graded_and_say_so(tmp_path):
    root = tree(
        tmp_path / "alice",
        {"exercise1 (1).py": "a = 1\n", "exercise2(1).py": "b = 2\n", "exercise3-1.py": "c = 3\n"},
    )
    [sub], is_batch = discover(root, FILES)
    assert not is_batch
    assert sub.files == {"exercise1": b"a = 1\n", "exercise2": b"b = 2\n", "exercise3": b"c = 3\n"}
    assert "graded exercise1 (1).py as exercise1.py" in sub.notes
    assert sub.absent == {}


def test_a_file_saved_as_text_is_graded_only_where_no_python_file_stands_for_it(tmp_path):
    """`exercise1.py.txt` beside `exercise1 (1).py` tied as two variants, and differing, left
    exercise 1 ungraded (before text files were read, `exercise1 (1).py` was graded): a browser's
    second download is the student's Python file more surely than a file saved as text."""
    root = tree(
        tmp_path / "alice",
        {"exercise1 (1).py": "a = 1\n", "exercise1.py.txt": "old = 0\n", "exercise2.py.txt": "b\n"},
    )
    [sub], _ = discover(root, FILES)
    assert sub.files["exercise1"] == b"a = 1\n"
    assert sub.files["exercise2"] == b"b\n"
    assert "graded exercise2.py.txt as exercise2.py" in sub.notes
    assert sub.absent.get("exercise1") is None


def test_two_different_candidates_for_one_exercise_are_never_guessed_between(tmp_path):
    root = tree(
        tmp_path / "alice",
        {"exercise1 (1).py": "a = 1\n", "exercise1 (2).py": "a = 2\n", "exercise2.py": "b\n"},
    )
    [sub], _ = discover(root, FILES)
    assert sub.files["exercise1"] is None
    reason = sub.absent["exercise1"]
    assert reason.startswith("ambiguous")
    assert "exercise1 (1).py" in reason and "exercise1 (2).py" in reason
    assert "keep one file named exercise1.py" in reason


def test_a_name_with_trailing_dots_is_a_copy_named_and_flagged_as_the_others(tmp_path):
    """`exercise1.py.` (a name Windows reads as `exercise1.py`, dropping the dots) was no
    exercise file: alone it scored 0 as "not in your upload", beside exercise1.py nothing named
    it, and beside an untouched stub its work raised no flag. It is a copy now, below every
    variant, as a file saved as text is."""
    stub = (ROOT / "assignments" / "backprop-ninja" / "exercise1.py").read_text()
    root = tree(tmp_path / "a", {"exercise1.py": stub, "exercise1.py.": solution("exercise1")})
    [sub], _ = discover(root, FILES)
    assert sub.files["exercise1"] == stub.encode()
    (flag,) = sub.review
    assert flag["flag"] == "stub_graded"
    assert "and exercise1.py. beside it holds work" in flag["reason"]
    root = tree(tmp_path / "b", {"exercise1.py": "right\n", "exercise1.py.": "other\n"})
    [sub], _ = discover(root, FILES)
    assert "also found exercise1.py.: not graded (graded exercise1.py)" in sub.notes
    root = tree(tmp_path / "c", {"exercise1.py.": "alone\n"})
    [sub], _ = discover(root, FILES)
    assert sub.files["exercise1"] == b"alone\n"
    assert "graded exercise1.py. as exercise1.py" in sub.notes
    with never_hangs():  # a zip entry's name may be 65,000 characters
        assert match_exercise("exercise1.py" + ".\t" * 30_000, FILES) == ("exercise1", 2)


def test_identical_copies_are_not_ambiguous(tmp_path):
    root = tree(tmp_path / "a", {"exercise1 (1).py": "same\n", "exercise1 (2).py": "same\n"})
    [sub], _ = discover(root, FILES)
    assert sub.files["exercise1"] == b"same\n"


def test_the_exact_name_wins_over_a_copy_and_the_copy_is_named(tmp_path):
    root = tree(tmp_path / "a", {"exercise1.py": "right\n", "exercise1 (1).py": "other\n"})
    [sub], _ = discover(root, FILES)
    assert sub.files["exercise1"] == b"right\n"
    assert any("exercise1 (1).py" in n and "not graded" in n for n in sub.notes)


def test_an_untouched_stub_graded_over_a_copy_with_work_is_on_the_ta_s_list(tmp_path):
    """The bundle's exercise1.py beside the student's work, which the browser saved as
    `exercise1 (1).py` because the stub was already there: the exact name wins and exercise 1
    scores 0, and the TA's "needs a look" list said nothing of it."""
    stub = (ROOT / "assignments" / "backprop-ninja" / "exercise1.py").read_text()
    root = tree(
        tmp_path / "a",
        {"exercise1.py": stub, "exercise1 (1).py": solution("exercise1"), "exercise2.py": "x\n"},
    )
    [sub], _ = discover(root, FILES)
    assert sub.files["exercise1"] == stub.encode()
    (flag,) = sub.review
    assert flag["flag"] == "stub_graded"
    assert flag["reason"].startswith(
        "exercise1.py as graded is the untouched stub, and exercise1 (1).py beside it holds work"
    )
    # a copy that is a stub too, or a graded file with work: nothing for the TA
    tree(root, {"exercise1 (1).py": stub})
    assert discover(root, FILES)[0][0].review == []
    tree(root, {"exercise1.py": solution("exercise1"), "exercise1 (1).py": stub})
    assert discover(root, FILES)[0][0].review == []


@pytest.mark.parametrize("name", ["ex1.py", "exercise1_final.py", "exercise1.py\u200b"])
def test_an_untouched_stub_graded_beside_a_misnamed_file_with_work_is_on_the_ta_s_list(
    tmp_path, name
):
    """The bundle's exercise1.py left untouched, the student's work in a file named otherwise
    (`ex1.py`, `exercise1_final.py`, a zero-width space pasted after `.py`): the exact name wins,
    exercise 1 scored 0, and the TA's "needs a look" list said nothing, the only flag being for
    copies the grader reads as exercise1.py."""
    stub = (ROOT / "assignments" / "backprop-ninja" / "exercise1.py").read_text()
    root = tree(
        tmp_path / "a", {"exercise1.py": stub, name: solution("exercise1"), "exercise2.py": "x\n"}
    )
    [sub], _ = discover(root, FILES)
    assert sub.files["exercise1"] == stub.encode()
    (flag,) = sub.review
    assert flag["flag"] == "stub_graded"
    assert flag["reason"].startswith(
        f"exercise1.py as graded is the untouched stub, and {name} beside it, a name the grader "
        "does not read as exercise1.py, holds work"
    )
    # a misnamed stub, or a graded file with work: nothing for the TA
    tree(root, {name: stub})
    assert discover(root, FILES)[0][0].review == []
    tree(root, {"exercise1.py": solution("exercise1"), name: solution("exercise1")})
    assert discover(root, FILES)[0][0].review == []


def _stub_judgements(monkeypatch) -> list[bytes]:
    """The contents the stub test parses, in order, as it parses them."""
    import grader.submissions as submissions

    judged: list[bytes] = []
    real = submissions.is_untouched_stub

    def counting(source: bytes) -> bool:
        judged.append(source)
        return real(source)

    monkeypatch.setattr(submissions, "is_untouched_stub", counting)
    return judged


def test_each_copy_of_an_exercise_is_parsed_once_to_tell_a_stub(tmp_path, monkeypatch):
    """Telling an untouched stub parses the file, which costs the grader's own process half a
    second and 190 MB for a file of 256 KiB of `f()` lines (a file without functions is no work
    either); the file graded was parsed again as one of the candidates, and identical copies
    once each: a few KB zipped cost seconds. Each content is judged once."""
    judged = _stub_judgements(monkeypatch)
    stub = (ROOT / "assignments" / "backprop-ninja" / "exercise1.py").read_text()
    root = tree(
        tmp_path / "a",
        {
            "exercise1.py": stub,
            "exercise1 (1).py": stub,
            "exercise1 (2).py": solution("exercise1"),
            "exercise1 (3).py": solution("exercise1"),
        },
    )
    [sub], _ = discover(root, FILES)
    assert sub.review[0]["flag"] == "stub_graded"  # the copies with work are still found
    assert sorted(judged) == sorted({stub.encode(), solution("exercise1").encode()})


def test_the_copies_parsed_to_tell_a_stub_hold_one_file_s_bytes_in_all(tmp_path, monkeypatch):
    """A graded file without functions counts as an untouched stub, so its copies are parsed to
    look for work: five copies of 256 KiB of `f()` lines, each a line apart, made fifteen
    parses of the grader's own process for three exercises (8 s; a few KB zipped). The copies
    parsed now hold at most `file_bytes` in all; a student's copy of a few KB is still read."""
    judged = _stub_judgements(monkeypatch)
    limits = UploadLimits(file_bytes=64 * KiB)
    body = "f()\n" * (15 * KiB)  # 60 KiB: no functions, so no work
    files = {"exercise1.py": body}
    files |= {f"exercise1 ({k}).py": body + f"g{k}()\n" for k in range(1, 4)}
    files["exercise1 (4).py"] = solution("exercise1")
    [sub], _ = discover(tree(tmp_path / "a", files), FILES, limits)
    assert sum(len(j) for j in judged) <= len(body) + limits.file_bytes
    assert len(judged) == 2  # the file graded and one copy; the copy with work came too late
    worked_first = {**files, "exercise1 (1).py": solution("exercise1")}
    [sub], _ = discover(tree(tmp_path / "b", worked_first), FILES, limits)
    assert sub.review[0]["reason"].startswith(
        "exercise1.py as graded is the untouched stub, and exercise1 (1).py, exercise1 (4).py "
        "beside it holds work"
    )


def test_a_copy_left_unjudged_past_the_bytes_parsed_is_on_the_ta_s_list(tmp_path, monkeypatch):
    """A copy past the bytes of copies parsed for work (`file_bytes` in all) was left unjudged
    and never said: the untouched stub was graded, 0, with no flag, though the copy held the
    student's work. The TA's flag now names it, unparsed."""
    judged = _stub_judgements(monkeypatch)
    limits = UploadLimits(file_bytes=64 * KiB)
    body = "f()\n" * (15 * KiB)  # 60 KiB: no functions, so no work
    files = {"exercise1.py": body, "exercise1 (1).py": body + "g()\n"}
    files["exercise1 (2).py"] = solution("exercise1")
    [sub], _ = discover(tree(tmp_path / "a", files), FILES, limits)
    assert len(judged) == 2  # the file graded and one copy: no more parsed than before
    (flag,) = sub.review
    assert flag["flag"] == "stub_graded"
    assert flag["reason"] == (
        "exercise1.py as graded is the untouched stub, and exercise1 (2).py beside it was not "
        "looked into (at most 5 copies of it, holding at most 64 KiB in all, are parsed for "
        "work), so may hold work: if that is the student's answer, grade it as exercise1.py"
    )


def test_a_copy_past_the_five_parsed_is_on_the_ta_s_list(tmp_path, monkeypatch):
    """An untouched stub and five copies: only the first five candidates are parsed for work,
    so the sixth, holding the student's work, was left unjudged without a flag, the stub graded
    0. The TA's flag now names it, unparsed."""
    judged = _stub_judgements(monkeypatch)
    stub = (ROOT / "assignments" / "backprop-ninja" / "exercise1.py").read_text()
    files = {"exercise1.py": stub, **{f"exercise1 ({k}).py": stub for k in range(1, 4)}}
    files |= {"exercise1 (4).py": stub + "\n", "old/exercise1 (5).py": solution("exercise1")}
    [sub], _ = discover(tree(tmp_path / "a", files), FILES)
    assert sub.files["exercise1"] == stub.encode()
    assert len(judged) == 2  # the stub, and the copy a line longer: no more parsed than before
    (flag,) = sub.review
    assert flag["flag"] == "stub_graded"
    assert flag["reason"] == (
        "exercise1.py as graded is the untouched stub, and old/exercise1 (5).py beside it was "
        "not looked into (at most 5 copies of it, holding at most 256 KiB in all, are parsed for "
        "work), so may hold work: if that is the student's answer, grade it as exercise1.py"
    )


def test_a_file_wherever_it_sits_shallowest_first(tmp_path):
    root = tree(
        tmp_path / "a",
        {"hw/src/exercise2.py": "deep\n", "exercise1.py": "top\n", "old/v1/exercise1.py": "x\n"},
    )
    [sub], _ = discover(root, FILES)
    assert sub.files["exercise1"] == b"top\n"
    assert sub.files["exercise2"] == b"deep\n"
    assert "found exercise2.py in hw/src/" in sub.notes


def _environment(prefix: str) -> dict[str, str]:
    """A virtual environment's files under `prefix`: its marker and a deep tree, with an
    exercise-named module in it that is no one's work."""
    deep = "/".join(["lib", "python3.11", "site-packages", "pkg", "sub", "subsub", "x"])
    files = {f"{prefix}pyvenv.cfg": "home = /usr/bin\n", f"{prefix}lib/exercise3.py": "theirs\n"}
    files.update({f"{prefix}{deep}/m{i}.py": "" for i in range(40)})
    return files


@pytest.mark.parametrize("packed", ["folder", "zip"])
def test_a_virtual_environment_in_an_upload_is_skipped_with_one_note(tmp_path, packed):
    """`python -m venv venv` beside the work: its thousands of files are no one's exercise, and
    they filled a check with a note per deep folder and the upload's entry limit."""
    files = {"exercise1.py": "mine\n", **_environment("venv/")}
    if packed == "zip":  # a zip inside the upload, opened for the exercise not found outside
        root = tree(tmp_path / "s", {"exercise2.py": "two\n", "work.zip": zip_bytes(files)})
    else:
        root = tree(tmp_path / "s", files)
    [sub], _ = discover(root, FILES)
    assert sub.files["exercise1"] == b"mine\n"
    assert sub.files["exercise3"] is None  # venv/lib/exercise3.py is not the student's
    where = "work.zip/venv/" if packed == "zip" else "venv/"
    assert f"skipped {where}: a Python virtual environment (it holds pyvenv.cfg)" in sub.notes
    assert not [n for n in sub.notes if "nested" in n or "site-packages" in n]


def test_work_in_a_folder_made_a_virtual_environment_itself_is_still_read(tmp_path):
    """`python -m venv .` in the work folder: the top is never skipped, only what is below."""
    root = tree(tmp_path / "s", {"exercise1.py": "mine\n", **_environment("")})
    [sub], _ = discover(root, FILES)
    assert sub.files["exercise1"] == b"mine\n"


@pytest.mark.parametrize("wrap", ["", "hw/"])
def test_a_virtual_environment_in_a_zip_given_as_path_is_skipped(tmp_path, wrap):
    """A student's zip graded on its own (`grader grade hw.zip`), read whole as a class's zip
    might be: its venv beside the work, at the zip's top or in its one top folder, is skipped
    as in a folder; `venv/lib/exercise3.py` is no one's exercise 3."""
    files = {"exercise1.py": "mine\n", **_environment("venv/")}
    (tmp_path / "hw.zip").write_bytes(zip_bytes({wrap + k: v for k, v in files.items()}))
    for one in (False, True):
        [sub] = find(tmp_path / "hw.zip", FILES, one=one).subs
        assert sub.files["exercise1"] == b"mine\n" and sub.files["exercise3"] is None
        assert "skipped venv/: a Python virtual environment (it holds pyvenv.cfg)" in sub.notes


@pytest.mark.parametrize("wrap", ["", "export/"])
def test_a_class_zip_reads_an_upload_made_a_virtual_environment_itself(tmp_path, wrap):
    """The same upload in a class's zip: its top (an export's `submission_1/`, under the export's
    own folder or not) was skipped as an environment, and its row said "no such folder", 0
    points, where the export unzipped was read. Below an upload's top, a venv is still skipped."""
    meta = {"submission_1": {":submitters": [{":name": "V"}]}, "submission_2": {}}
    upload = {"exercise1.py": "mine\n", "pyvenv.cfg": "home = /usr/bin\n", **_environment("venv/")}
    files = {f"{wrap}submission_1/{k}": v for k, v in upload.items()}
    files |= {f"{wrap}{METADATA}": yaml.safe_dump(meta), f"{wrap}submission_2/exercise1.py": "2\n"}
    (tmp_path / "export.zip").write_bytes(zip_bytes(files))
    got = by_name(discover(tmp_path / "export.zip", FILES)[0])
    assert got["submission_1"].files["exercise1"] == b"mine\n"
    assert got["submission_1"].files["exercise3"] is None  # venv/lib/exercise3.py: no one's
    assert got["submission_2"].files["exercise1"] == b"2\n"


@pytest.mark.parametrize("listing", [{}, {"hw/": ""}], ids=["nothing", "a folder only"])
def test_an_empty_zip_says_it_holds_no_files_and_what_to_do(tmp_path, listing):
    """An upload holding only an empty zip said "the upload held: empty.zip", and a class's
    empty zip "the upload held: no files": neither said the zip was empty, nor what to do."""
    said = (
        "an empty zip, holding no file: zip the exercise files themselves again, check that "
        "it lists them, and upload that"
    )
    zipped = zip_bytes(listing)
    bob = tree(tmp_path / "bob", {"notes/empty.zip": zipped})
    (note,) = read_submission(bob, "bob", FILES).notes
    assert note.endswith(f"the upload held: notes/empty.zip ({said})"), note
    root = tree(tmp_path / "class", {"ada/exercise1.py": solution("exercise1")})
    (root / "empty.zip").write_bytes(zipped)
    (empty,) = [s for s in find(root, FILES).subs if s.name == "empty"]
    assert empty.notes[-1].endswith(f"the upload held: no files (empty.zip is {said})")


def test_an_empty_zip_given_as_path_is_named_not_the_folder_it_sits_in(tmp_path):
    """`grader grade class/empty.zip` said "class holds no exercise files ... and no submission
    folders, zips or notebooks" of the class's folder, which held them: the zip is named, and
    said to be empty."""
    root = tree(tmp_path / "class", {"ada/exercise1.py": solution("exercise1")})
    (root / "empty.zip").write_bytes(zip_bytes({}))
    with pytest.raises(SubmissionError) as e:
        find(root / "empty.zip", FILES)
    assert str(e.value).startswith(f"{root / 'empty.zip'} is an empty zip, holding no file")
    (root / "notes.zip").write_bytes(zip_bytes({"notes.txt": "hi"}))
    with pytest.raises(SubmissionError) as e:
        find(root / "notes.zip", FILES)
    assert str(e.value).startswith(f"{root / 'notes.zip'} holds no exercise files")


def test_a_missing_exercise_beside_others_tells_what_the_upload_held(tmp_path):
    root = tree(tmp_path / "a", {"exercise1.py": "a\n", "exercise2.py": "b\n", "ex_3.py": "c\n"})
    [sub], _ = discover(root, FILES)
    assert sub.files["exercise3"] is None
    assert sub.absent == {
        "exercise3": "missing: not in your upload; ex_3.py may be it: the grader reads only "
        "exercise3.py, so rename it (the upload held ex_3.py, exercise1.py, exercise2.py)"
    }
    (root / "ex_3.py").rename(root / "notes.py")  # no number of its own: no file named
    [sub], _ = discover(root, FILES)
    assert sub.absent == {
        "exercise3": "missing: not in your upload, which held exercise1.py, exercise2.py, notes.py"
    }


def test_names_of_thousands_of_characters_are_cut_in_the_listing_of_what_the_upload_held(
    tmp_path,
):
    """A zip may name an entry with 65,535 bytes: fifteen such names, quoted whole in each
    missing exercise's state, made a results.json of 1.8 MB. Each is cut in the middle, its
    start and its suffix kept."""
    long = {f"{i:02d}" + "a" * 65_000 + ".txt": "x" for i in range(14)}
    zipped = zip_bytes({**long, "exercise1.py": "x = 1\n"})
    root = tree(tmp_path / "a", {"hw.zip": zipped})
    [sub], _ = discover(root, FILES)
    state = sub.absent["exercise2"]
    assert state.startswith("missing: not in your upload, which held 00aaa")
    assert len(state) < 15 * 130
    assert ".txt, 01aaa" in state and state.count("...") == 14
    assert state.endswith("aaa.txt, exercise1.py")


@pytest.mark.parametrize("beside", [{}, {"exercise1.py": "x = 1\n"}])
def test_an_archive_of_a_kind_not_opened_is_named_with_what_to_upload(tmp_path, beside):
    """Only zips are opened: a student who uploaded hw.rar read "the upload held: hw.rar"."""
    root = tree(tmp_path / "s", {"hw.rar": b"Rar!\x1a\x07\x00", "b.TAR.GZ": b"\x1f\x8b", **beside})
    sub = read_submission(root, "s", FILES)
    said = notes(sub)
    assert "hw.rar is a RAR archive, which the grader does not open: upload a .zip" in said
    assert "b.TAR.GZ is a tar archive, which the grader does not open" in said


def test_a_data_file_compressed_alone_is_not_taken_for_an_archive_of_the_work(tmp_path):
    """A file compressed alone is named only where it may hold the student's work (an exercise,
    a notebook, a zip, a name without an ending): the makemore names kept as names.txt.gz sent
    a student whose exercise3.py was missing to upload a .zip of it instead."""
    held = {
        "names.txt.gz": b"\x1f\x8b",
        "losses.csv.xz": b"\xfd7zXZ",
        "exercise3.py.gz": b"\x1f\x8b",
        "ninja.IPYNB.bz2": b"BZh",
        "hw.gz": b"\x1f\x8b",
        "exercise1.py": "x = 1\n",
    }
    sub = read_submission(tree(tmp_path / "s", held), "s", FILES)
    said = notes(sub)
    for name, kind in [
        ("exercise3.py.gz", "a gzip"),
        ("ninja.IPYNB.bz2", "a bzip2"),
        ("hw.gz", "a gzip"),
    ]:
        assert f"{name} is {kind} file, which the grader does not open" in said
    assert "names.txt.gz is" not in said and "losses.csv.xz is" not in said


def test_the_missing_reason_reaches_the_result_and_the_ta_list(grader, tmp_path):
    from grader.report.summary import summarize

    root = tree(tmp_path / "a", {"exercise2.py": "x = 1\n", "exercise3_final.py": "y\n"})
    [sub], _ = discover(root, FILES)
    result = grader.grade(sub).to_json()
    assert result["files"]["exercise3"].startswith("missing: not in your upload")
    [student] = summarize([result], ["a"])["students"]
    assert any("exercise3_final.py" in why for why in student["attention"])


def test_a_state_quoting_paths_of_thousands_of_characters_is_cut_in_the_result(grader, tmp_path):
    """Two folders of 60,000 characters, each with its own exercise1.py: the state named both
    paths whole (120,000 characters on the page's top and in every item's test). The result
    keeps its start and its advice."""
    zipped = zip_bytes(
        {"a" * 60_000 + "/exercise1.py": "x = 1\n", "b" * 60_000 + "/exercise1.py": "y\n"}
    )
    root = tree(tmp_path / "a", {"hw.zip": zipped, "exercise2.py": "z = 2\n"})
    [sub], _ = discover(root, FILES)
    state = grader.grade(sub).to_json()["files"]["exercise1"]
    assert state.startswith("ambiguous: hw.zip/aaa")
    assert state.endswith("not graded: keep one file named exercise1.py")
    assert len(state) <= 2_000


# ---- only regular files are read -------------------------------------------------------------


def test_links_are_never_followed(tmp_path):
    """A link to the checkout's solutions, to another student's file, to a folder: all skipped."""
    root = tree(tmp_path / "class", {"bob/exercise2.py": "bob's work\n", "bob/exercise3.py": "b"})
    alice = root / "alice"
    alice.mkdir()
    (alice / "exercise1.py").symlink_to("/proc/self/cwd/solutions/backprop-ninja/exercise1.py")
    (alice / "exercise2.py").symlink_to("../bob/exercise2.py")
    (alice / "exercise3.py").symlink_to(ROOT / "solutions" / "backprop-ninja" / "exercise3.py")
    (alice / "src").symlink_to(ROOT / "solutions" / "backprop-ninja", target_is_directory=True)
    (alice / "exercise1 (1).py").symlink_to("/nonexistent/denied/exercise1.py")
    subs, _ = discover(root, FILES)
    a = by_name(subs)["alice"]
    assert a.files == dict.fromkeys(FILES)
    for name in ("exercise1.py", "exercise2.py", "exercise3.py", "src", "exercise1 (1).py"):
        assert f"skipped {name}: a symbolic link, not a regular file" in a.notes
    assert by_name(subs)["bob"].files["exercise2"] == b"bob's work\n"


def test_an_upload_of_links_alone_says_what_it_held(tmp_path):
    """Three links named as the exercise files (to a classmate's, to the solutions), nothing
    else: the TA's list read "no exercise files found (the upload held: no files)", as of a
    student who handed in nothing. The listing names each entry that is no regular file as what
    it is, never what it points to."""
    root = tree(tmp_path / "class", {"bob/exercise2.py": "bob's work\n"})
    (root / "mal").mkdir()
    for f in FILES:
        (root / "mal" / f"{f}.py").symlink_to(ROOT / "solutions" / "backprop-ninja" / f"{f}.py")
    (root / "zed.zip").write_bytes(zip_bytes({}, links={"exercise1.py": "../bob/exercise1.py"}))
    subs = by_name(discover(root, FILES)[0])
    link = "(a symbolic link, not read)"
    held = ", ".join(f"{f}.py {link}" for f in FILES)
    assert f"the upload held: {held}" in notes(subs["mal"])
    assert f"the upload held: exercise1.py {link}" in notes(subs["zed"])
    assert all(v is None for v in subs["mal"].files.values())


def test_an_exercise_file_that_is_a_link_is_said_so_not_missing(tmp_path):
    """An upload holding exercise2.py and a link named exercise1.py read "exercise1.py: not in
    your upload, which held exercise2.py" on the report and the TA's list, beside a note that
    exercise1.py was skipped: the exercise's state says what the file is, once."""
    said = "is a symbolic link, not a regular file, so it was not read: upload the file itself"
    folder = tree(tmp_path / "a", {"exercise2.py": "b = 1\n"})
    (folder / "exercise1.py").symlink_to(ROOT / "solutions" / "backprop-ninja" / "exercise1.py")
    zipped = tmp_path / "z"
    zipped.mkdir()
    links = {"hw/exercise1.py": "../../solutions/exercise1.py"}
    (zipped / "hw.zip").write_bytes(zip_bytes({"hw/exercise2.py": "b = 1\n"}, links))
    for root, path in ((folder, "exercise1.py"), (zipped / "hw.zip", "hw/exercise1.py")):
        sub = read_submission(root, "a", FILES)
        assert sub.files["exercise1"] is None and sub.files["exercise2"] == b"b = 1\n"
        assert sub.absent["exercise1"] == f"missing: {path} {said}"
        assert sub.absent["exercise3"].startswith("missing: not in your upload, which held ")
        assert not [n for n in sub.notes if n.startswith(f"skipped {path}")], sub.notes


def test_a_linked_submission_folder_is_not_followed(tmp_path):
    root = tree(tmp_path / "class", {"bob/exercise2.py": "b\n"})
    (root / "carol").symlink_to(ROOT / "solutions" / "backprop-ninja", target_is_directory=True)
    subs, _ = discover(root, FILES)
    carol = by_name(subs)["carol"]
    assert carol.files == dict.fromkeys(FILES)
    assert "carol is a symbolic link" in notes(carol)


def _discover_in_thread(root: Path) -> list:
    """discover() in a thread: a FIFO opened for reading would block it for good."""
    box: list = []
    t = threading.Thread(target=lambda: box.append(discover(root, FILES)), daemon=True)
    t.start()
    t.join(60)  # a guard against a hang, not a speed check: discover never waits on anything
    assert not t.is_alive(), "discover() blocked: it opened a FIFO"
    return box[0]


def test_a_fifo_is_never_opened(tmp_path):
    root = tree(tmp_path / "class", {"ada/exercise2.py": "a\n", "mal/exercise2.py": "m\n"})
    os.mkfifo(root / "evil.zip")
    os.mkfifo(root / "mal" / "evil.zip")
    os.mkfifo(root / "mal" / "exercise1.py")
    subs, _ = _discover_in_thread(root)
    mal, evil = by_name(subs)["mal"], by_name(subs)["evil"]
    assert "skipped evil.zip: a FIFO (named pipe), not a regular file" in mal.notes
    # The exercise's state says it, once (not a note beside "not in your upload").
    fifo = "missing: exercise1.py is a FIFO (named pipe), not a regular file, so it was not read"
    assert mal.absent["exercise1"].startswith(fifo)
    assert mal.files["exercise2"] == b"m\n"
    assert evil.files == dict.fromkeys(FILES) and "FIFO" in notes(evil)
    assert by_name(subs)["ada"].files["exercise2"] == b"a\n"


def test_a_folder_named_as_an_exercise_file_is_said_to_be_a_folder(tmp_path):
    """A folder `exercise1.py` (an unzipper's or a file manager's slip) was "missing: not in your
    upload, which held exercise2.py", a list without the very name the student sees."""
    root = tree(tmp_path / "class", {"mal/exercise2.py": "m\n", "mal/exercise1.py/notes.txt": "n"})
    mal = by_name(discover(root, FILES)[0])["mal"]
    assert mal.absent["exercise1"] == (
        "missing: exercise1.py is a folder, not a file, so it was not read: upload the file itself"
    )
    assert mal.files["exercise2"] == b"m\n"


def test_a_file_swapped_for_a_fifo_after_listing_is_refused_not_opened(tmp_path):
    root = tree(tmp_path / "a", {"exercise1.py": "x\n"})
    reader = uploads.file_reader(root, ("exercise1.py",))
    (root / "exercise1.py").unlink()
    os.mkfifo(root / "exercise1.py")
    with pytest.raises(uploads.UploadError, match="FIFO"):
        reader(10)


def test_an_unreadable_entry_is_a_note_not_an_exception(tmp_path, monkeypatch):
    """Permission denied (as a non-root grader meets it) on a file and on a folder."""
    root = tree(
        tmp_path / "class",
        {"ada/exercise2.py": "a\n", "eve/exercise1.py": "e\n", "eve/locked/exercise2.py": "x"},
    )
    real = uploads.open_beneath

    def denied(base, parts, directory):
        if parts and parts[-1] in ("exercise1.py", "locked") and "eve" in parts:
            raise PermissionError(13, "Permission denied")
        return real(base, parts, directory)

    monkeypatch.setattr(uploads, "open_beneath", denied)
    subs, _ = discover(root, FILES)
    eve = by_name(subs)["eve"]
    assert eve.files == dict.fromkeys(FILES)
    assert "could not read the folder locked: Permission denied" in eve.notes
    # The file's own failure is said once, as its state (where every item shows it).
    why = eve.absent["exercise1"]
    assert "exercise1.py" in why and "Permission denied" in why
    assert by_name(subs)["ada"].files["exercise2"] == b"a\n"


# A class read where a process may open few files (macOS gives 256 by default, Linux often
# 1,024): more uploads than that, each a zip, and SPOOL_BYTES at 0 so that every zip inside one
# is spooled to a temporary file (an 8 MiB one is, by default).
FEW_FILES = """
import resource, sys
from pathlib import Path
from grader import uploads
from grader.export_metadata import MAX_FIELD_CHARS, MAX_MEMBERS
from grader.submissions import find
uploads.SPOOL_BYTES = 0
resource.setrlimit(resource.RLIMIT_NOFILE, (48, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
found = find(Path(sys.argv[1]), ("exercise1", "exercise2", "exercise3"))
print(found.described())
for sub in found.subs:
    if sub.files["exercise1"] is None:
        print(sub.name, sub.notes)
"""


@pytest.mark.parametrize(
    ("read_as", "name"),
    [
        ("a folder of submissions", "student{:02}.zip"),
        ("a Canvas download", "student{0:02}_10{0:02}_20{0:02}_hw.zip"),
        ("a Gradescope export", "submission_{:02}/hw.zip"),
    ],
)
def test_a_class_of_more_zips_than_open_files_allowed_is_read_whole(tmp_path, read_as, name):
    """Each upload's open files (its zip, the zips inside it) were held to the end of the class:
    past the process's limit on open files every later student scored 0, "could not open
    student251.zip: Too many open files". Now each is closed once its upload is read."""
    work = zip_bytes({"exercise1.py": "x = 1\n"})
    uploads_ = {name.format(i): work for i in range(60)}
    if read_as == "a Gradescope export":
        meta = {f"submission_{i:02}": {":submitters": [{":name": f"S{i}"}]} for i in range(60)}
        uploads_[METADATA] = yaml.safe_dump(meta)
        (tmp_path / "export.zip").write_bytes(zip_bytes(uploads_))
        path = tmp_path / "export.zip"
    else:
        path = tree(tmp_path / "class", uploads_)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run(
        [sys.executable, "-c", FEW_FILES, str(path)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    said = run.stdout.splitlines()
    assert said[0].startswith(f"{read_as}: 60 submissions"), said[0]
    assert said[1:] == [], said[1:3]  # no upload unread


def test_an_export_zip_lets_go_of_each_upload_s_inner_zip_once_read(tmp_path):
    """An export's zip of 100 uploads, each a 7 MiB zip inside (a data file zipped with the
    work, stored), kept all of them in memory until the last upload was read: 936 MB for a
    1.3 MB export. Now one upload's zips are held at a time."""
    inner = zip_listing([("exercise1.py", "x = 1\n"), ("data.bin", bytes(2 * MiB))])
    files = {f"submission_{i}/hw.zip": inner for i in range(16)}
    meta = {f"submission_{i}": {":submitters": [{":name": f"S{i}"}]} for i in range(16)}
    files[METADATA] = yaml.safe_dump(meta)
    (tmp_path / "export.zip").write_bytes(zip_bytes(files))
    tracemalloc.start()
    try:
        subs = find(tmp_path / "export.zip", FILES).subs
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [s.files["exercise1"] for s in subs] == [b"x = 1\n"] * 16
    # One upload read costs a few times its inner zip (read, then listed); all 16 held, 16 times.
    assert peak < 6 * len(inner), f"{peak / MiB:.1f} MiB at the peak"


def test_zip_links_and_climbing_names_are_skipped(tmp_path):
    data = zip_bytes(
        {"../../evil/exercise1.py": "x", "/abs/exercise2.py": "y", "ok/exercise3.py": "z"},
        links={"exercise1.py": "/proc/self/cwd/solutions/backprop-ninja/exercise1.py"},
    )
    (tmp_path / "s.zip").write_bytes(data)
    sub = read_submission(tmp_path / "s.zip", "s", FILES)
    assert sub.files == {"exercise1": None, "exercise2": None, "exercise3": b"z"}
    link = "missing: exercise1.py is a symbolic link, not a regular file, so it was not read"
    assert sub.absent["exercise1"].startswith(link)  # its state, said once: no note beside it
    assert not [n for n in sub.notes if n.startswith("skipped exercise1.py")]


# ---- two entries of a zip at one path ---------------------------------------------------------


def zip_listing(entries: list[tuple[str, str | bytes]]) -> bytes:
    """A zip holding `entries` in this order, a name given twice written twice."""
    buf = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buf, "w") as z:
        warnings.simplefilter("ignore", UserWarning)  # zipfile's "Duplicate name": the point
        for name, content in entries:
            z.writestr(zipfile.ZipInfo(name), content)
    return buf.getvalue()


@pytest.mark.parametrize(
    "second",
    [
        ("exercise1.py", "print('shown to the TA')\n"),  # one name twice: unzip keeps the last
        ("./exercise1.py", "print('shown to the TA')\n"),  # the same path once cleaned
        ("exercise1.py/", ""),  # a folder at the file's path
        ("exercise1.py/notes.txt", "x"),  # a folder the file's path must be
    ],
)
def test_entries_of_a_zip_at_one_path_that_differ_are_not_graded(tmp_path, second):
    """A zip may list two entries at one path: an unzip tool keeps one (most, the last), the
    grader must not grade another. Neither is graded; the exercise is ambiguous, saying what to
    do, and the other exercises are graded as ever."""
    zpath = tmp_path / "s.zip"
    zpath.write_bytes(
        zip_listing([("exercise1.py", "print('graded')\n"), second, ("exercise2.py", "b\n")])
    )
    sub = read_submission(zpath, "s", FILES)
    assert sub.files["exercise1"] is None and sub.files["exercise2"] == b"b\n"
    why = sub.absent["exercise1"]
    assert why.startswith("ambiguous: exercise1.py was not read: the upload holds 2 entries")
    assert why.endswith("upload a zip with one copy of exercise1.py")


def test_identical_entries_of_a_zip_at_one_path_are_read_once_with_a_note(tmp_path):
    zpath = tmp_path / "s.zip"
    zpath.write_bytes(zip_listing([("hw/exercise1.py", "a\n"), ("hw/./exercise1.py", "a\n")]))
    sub = read_submission(zpath, "s", FILES)
    assert sub.files["exercise1"] == b"a\n"
    assert "the upload holds hw/exercise1.py 2 times, all identical: read once" in sub.notes


def test_zips_left_shut_by_the_limit_are_named_while_an_exercise_is_missing(tmp_path):
    """At most MAX_INNER_ZIPS zips of an upload are opened. Work in a later one (after five of
    data or old attempts) scored 0 with "no exercise files found", the zip listed among the
    files and no word on why it was not looked into: a note now names the zips left shut."""
    from grader.choosing import MAX_INNER_ZIPS

    files = {f"data{i}.zip": zip_bytes({"readme.txt": "x"}) for i in range(MAX_INNER_ZIPS + 1)}
    root = tree(tmp_path / "stu", {**files, "work.zip": zip_bytes({"exercise1.py": "mine"})})
    sub = read_submission(root, "stu", FILES)
    assert sub.files == dict.fromkeys(FILES)
    assert f"did not open data{MAX_INNER_ZIPS}.zip, work.zip: at most" in notes(sub)
    # With the work found before the limit, the zips beside its zip (each a candidate as good
    # as its, test_a_sixth_zip_beside_five_opened_is_said_to_be_left_shut) are named too.
    root = tree(tmp_path / "ok", {**files, "a.zip": zip_bytes({f"{f}.py": "x" for f in FILES})})
    ok = read_submission(root, "ok", FILES)
    assert ok.files["exercise1"] == b"x"
    assert "did not open data4.zip, data5.zip: at most" in notes(ok)


def encrypted(files: dict[str, str], which: int | None = None) -> bytes:
    """A zip of `files` whose entries (or only the `which`-th) carry the "encrypted" flag bit."""
    data = bytearray(zip_bytes(files))
    for header, at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        starts = [i for i in range(len(data)) if data.startswith(header, i)]
        for i in starts if which is None else starts[which : which + 1]:
            data[i + at] |= 1
    return bytes(data)


ENCRYPTED = (
    "is encrypted (its zip was made with a password), so it could not be read: upload a zip "
    "made without a password"
)


def test_an_encrypted_zip_entry_is_said_to_be_encrypted_where_the_exercise_is_missing(tmp_path):
    """A zip made with a password: the exercise said "missing: exercise1.py could not be read",
    and only a note, in zipfile's words (a ZipInfo's repr), told why."""
    (tmp_path / "enc.zip").write_bytes(encrypted({"exercise1.py": "x = 1\n"}))
    sub = read_submission(tmp_path / "enc.zip", "enc", FILES)
    assert sub.files == dict.fromkeys(FILES)
    assert sub.absent["exercise1"] == f"missing: exercise1.py {ENCRYPTED}"
    assert "ZipInfo" not in notes(sub)


@pytest.mark.parametrize("inner", ["upload.zip/", "upload.zip/hw/"])
def test_an_encrypted_zip_in_an_upload_gets_one_message_naming_the_file_and_the_fix(
    tmp_path, inner
):
    """A zip with a password inside a student's folder: the file's state read "missing:
    upload.zip/layers.py could not be read (layers.py is encrypted (the zip was made with a
    password): upload a zip without one)", and a note said the same again beside it, naming the
    file without the zip it sat in. Once, naming the file where it is in the upload."""
    inside = inner.removeprefix("upload.zip/")
    root = tree(tmp_path / "alice", {"upload.zip": encrypted({f"{inside}exercise1.py": "x\n"})})
    sub = read_submission(root, "alice", FILES)
    assert sub.absent["exercise1"] == f"missing: {inner}exercise1.py {ENCRYPTED}"
    assert sub.notes == [], sub.notes  # the reason is said once, in the file's state


def compressed_with(method: int, files: dict[str, str]) -> bytes:
    """A zip of `files` whose entries say they are compressed with `method` (its number)."""
    data = bytearray(zip_bytes(files))
    for header, at in ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10)):
        for i in [i for i in range(len(data)) if data.startswith(header, i)]:
            data[i + at : i + at + 2] = method.to_bytes(2, "little")
    return bytes(data)


@pytest.mark.parametrize(("method", "named"), [(9, "deflate64"), (98, "ppmd"), (77, "method 77")])
def test_a_zip_compressed_with_a_method_the_grader_cannot_read_says_what_to_do(
    tmp_path, method, named
):
    """A zip made with Deflate64 or PPMd (7-Zip offers both), or a method of its own: the
    exercise read "missing: could not read hw.zip/exercise1.py: That compression method is not
    supported", zipfile's words, which neither name the method nor say what to do."""
    root = tree(tmp_path / "alice", {"hw.zip": compressed_with(method, {"exercise1.py": "x\n"})})
    sub = read_submission(root, "alice", FILES)
    assert sub.files == dict.fromkeys(FILES)
    assert sub.absent["exercise1"] == (
        f"missing: hw.zip/exercise1.py is compressed with {named}, which the grader cannot "
        "read: make the zip again with ordinary (Deflate) compression, most zip tools' "
        "default, or upload the file itself"
    )


def test_an_exercise_graded_from_a_second_zip_is_not_said_read_from_the_encrypted_one(tmp_path):
    """a.zip (made with a password) and b.zip beside it both hold exercise1.py: b.zip's was
    graded, and the notes said "read exercise1.py from the zip a.zip", then that it was
    encrypted, then that b.zip's was graded."""
    root = tree(
        tmp_path / "alice",
        {"a.zip": encrypted({"exercise1.py": "x\n"}), "b.zip": zip_bytes({"exercise1.py": "x\n"})},
    )
    sub = read_submission(root, "alice", FILES)
    assert sub.files["exercise1"] == b"x\n"
    assert "read exercise1.py from the zip a.zip" not in sub.notes
    assert f"a.zip/exercise1.py {ENCRYPTED}; graded b.zip/exercise1.py instead" in sub.notes
    assert not any("also found a.zip" in n for n in sub.notes)


def test_an_exercise_found_in_a_zip_and_not_read_is_not_said_to_be_read(tmp_path):
    """ "read exercise1.py from the zip enc.zip" stood beside "exercise1.py is encrypted"."""
    # The first entry only (exercise1.py): encrypted.
    data = encrypted({"exercise1.py": "x = 1\n", "exercise2.py": "y = 2\n"}, which=0)
    root = tree(tmp_path / "alice", {"enc.zip": data})
    sub = read_submission(root, "alice", FILES)
    assert sub.files["exercise1"] is None and sub.files["exercise2"] == b"y = 2\n"
    assert "read exercise1.py from the zip enc.zip" not in notes(sub)
    assert "read exercise2.py from the zip enc.zip" in notes(sub)
    assert "encrypted" in sub.absent["exercise1"]


def test_a_zip_inside_listed_twice_with_different_contents_is_not_opened(tmp_path):
    """Not only exercise files: a zip (or notebook) at a doubled path is read by no one."""
    inner = [zip_listing([("exercise1.py", f"v = {i}\n")]) for i in (1, 2)]
    root = tree(tmp_path / "class", {"ada/exercise2.py": "a\n"})
    (root / "mal.zip").write_bytes(zip_listing([("hw.zip", inner[0]), ("hw.zip", inner[1])]))
    mal = by_name(discover(root, FILES)[0])["mal"]
    assert mal.files == dict.fromkeys(FILES)
    assert any(n.startswith("hw.zip was not read: the upload holds 2 entries") for n in mal.notes)


SHUT = "did not open final.zip: exercise1.py, exercise2.py, exercise3.py were found outside it"


@pytest.mark.parametrize(
    ("inside", "flagged"),
    [
        ({"exercise1.py": "def newer(): pass\n"}, ["final.zip/exercise1.py"]),
        ({"hw/exercise2 (1).py": "def newer(): pass\n"}, ["final.zip/hw/exercise2 (1).py"]),
        ({"exercise1.py": "old\n", "exercise3.py": "three\n"}, []),  # the very files graded
        ({"data.csv": "1,2\n"}, []),
    ],
    ids=["newer", "renamed", "a-copy", "no-exercise"],
)
def test_a_zip_beside_the_exercise_files_is_said_to_be_left_shut(tmp_path, inside, flagged):
    """Every exercise found at the top, a `final.zip` beside them was never opened and nothing
    said so: its work, if newer, was lost without a word. The student's report says which zip
    was left shut and why; the TA's list says so where it holds exercise files other than
    those graded."""
    top = {"exercise1.py": "old\n", "exercise2.py": "two\n", "exercise3.py": "three\n"}
    root = tree(tmp_path / "stu", {**top, "final.zip": zip_bytes(inside)})
    sub = read_submission(root, "stu", FILES)
    assert sub.files == {f: top[f + ".py"].encode() for f in FILES}  # the zip is not graded
    assert SHUT in notes(sub)
    shut = [f for f in sub.review if f["flag"] == "zip_unopened"]
    if flagged:
        (flag,) = shut
        assert (
            f"final.zip was not opened (every exercise file was found outside it), and it "
            f"holds {', '.join(flagged)}, which differs from the files graded" in flag["reason"]
        )
    else:
        assert shut == []
    assert not any(n.startswith("read ") and "from the zip" in n for n in sub.notes)


def test_a_zip_left_shut_says_which_of_its_files_could_not_be_read(tmp_path):
    """An encrypted exercise file in a zip left shut was said to differ from the files graded,
    which no one could know: the TA's flag says it could not be read, apart from one that
    differs."""
    top = {"exercise1.py": "old\n", "exercise2.py": "two\n", "exercise3.py": "three\n"}
    inside = {"exercise1.py": "new\n", "exercise2.py": "secret\n"}
    root = tree(tmp_path / "stu", {**top, "final.zip": encrypted(inside, which=1)})
    sub = read_submission(root, "stu", FILES)
    (flag,) = [f["reason"] for f in sub.review if f["flag"] == "zip_unopened"]
    assert (
        "it holds final.zip/exercise1.py, which differs from the files graded, and "
        "final.zip/exercise2.py, which could not be read (encrypted)" in flag
    ), flag


def test_a_zip_left_shut_says_a_file_past_the_byte_limit_is_so_not_damaged(tmp_path):
    """A file of a zip left shut that the upload's byte limit kept unread was said to be
    "encrypted or damaged", which it was not: the flag says which limit, to raise it."""
    top = {"exercise1.py": "old\n", "exercise2.py": "two\n", "exercise3.py": "three\n"}
    inside = zip_bytes({"exercise1.py": "#" * (30 << 10)})
    root = tree(tmp_path / "stu", {**top, "final.zip": inside})
    sub = read_submission(root, "stu", FILES, limits=UploadLimits(bytes=20 * KiB))
    (flag,) = [f["reason"] for f in sub.review if f["flag"] == "zip_unopened"]
    assert (
        "it holds final.zip/exercise1.py, which could not be read (past the upload's byte "
        "limit (--upload-limit))" in flag
    ), flag


def fake_end(data: bytes) -> bytes:
    """`data`, a zip, with a comment that is itself an end-of-central-directory record listing
    nothing: Python's zipfile (and unzip) take that one, and read the zip as empty; a tool that
    looks further back may find the real listing."""
    head = data[: data.rindex(b"PK\x05\x06")]
    real = data[len(head) : len(head) + 20] + struct.pack("<H", 22)
    return head + real + struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 0, 0, 0, 0, 0)


@pytest.mark.parametrize(
    ("final", "says"),
    [
        (fake_end(zip_bytes({"exercise1.py": "def newer(): pass\n"})), "lists no file"),
        (zip_bytes({}), "lists no file"),
        (b"PK\x03\x04 cut short", "could not be read: final.zip is not a readable zip"),
    ],
    ids=["fake-end-record", "empty", "unreadable"],
)
def test_a_zip_left_shut_that_reads_as_empty_or_not_at_all_is_on_the_tas_list(
    tmp_path, final, says
):
    """A zip beside the files graded whose comment holds a forged end record reads as empty,
    and one that cannot be read at all lists nothing: neither raised the TA's flag, which is
    raised for a zip holding other exercise files, though either may hold the student's work
    as another zip tool reads it. The flag says the grader read no file of it."""
    assert zipfile.ZipFile(io.BytesIO(fake_end(zip_bytes({"a.py": "x"})))).namelist() == []
    top = {"exercise1.py": "old\n", "exercise2.py": "two\n", "exercise3.py": "three\n"}
    root = tree(tmp_path / "stu", {**top, "final.zip": final})
    sub = read_submission(root, "stu", FILES)
    assert sub.files == {f: top[f + ".py"].encode() for f in FILES}
    assert SHUT in notes(sub)
    (flag,) = [f["reason"] for f in sub.review if f["flag"] == "zip_unopened"]
    assert flag.startswith(
        "final.zip was not opened (every exercise file was found outside it), and it " + says
    ), flag
    assert "another zip tool may read it otherwise: open it with one" in flag


@pytest.mark.parametrize(
    ("inner", "says"),
    [
        (fake_end(zip_bytes({"exercise1.py": "def newer(): pass\n"})), "listing no file"),
        (zip_bytes({}), "listing no file"),
        (b"PK\x03\x04 cut short", "is not a readable zip"),
    ],
    ids=["fake-end-record", "empty", "unreadable"],
)
def test_a_zip_inside_a_zip_left_shut_that_reads_as_empty_or_not_at_all_is_on_the_tas_list(
    tmp_path, inner, says
):
    """The same zips one level down (`final.zip` holding `hw.zip`) raised nothing, where beside
    the files graded each is on the TA's list: the flag names the zip inside and why no file
    of it was read."""
    top = {"exercise1.py": "old\n", "exercise2.py": "two\n", "exercise3.py": "three\n"}
    root = tree(tmp_path / "stu", top)
    (root / "final.zip").write_bytes(zip_bytes({"hw/hw.zip": inner}))
    sub = read_submission(root, "stu", FILES)
    assert sub.files == {f: top[f + ".py"].encode() for f in FILES}
    (flag,) = [f["reason"] for f in sub.review if f["flag"] == "zip_unopened"]
    assert flag.startswith(
        "final.zip was not opened (every exercise file was found outside it), and it holds "
        "final.zip/hw/hw.zip, which could not be read (a zip"
    ), flag
    assert says in flag, flag


@pytest.mark.parametrize(
    ("inner", "says"),
    [
        (fake_end(zip_bytes({"exercise1.py": "def newer(): pass\n"})), "lists no file"),
        (zip_bytes({}), "lists no file"),
        (b"PK\x03\x04 cut short", "could not be read: {zip} is not a readable zip"),
    ],
    ids=["fake-end-record", "empty", "unreadable"],
)
@pytest.mark.parametrize("where", ["final.zip", "hw.zip/final.zip"])
def test_a_zip_opened_that_reads_as_empty_or_not_at_all_is_on_the_tas_list(
    tmp_path, inner, says, where
):
    """A zip the grader opened to look for a missing exercise (beside the others, or inside a
    zip it opened) that cannot be read, or lists no file, was said in a note to the student
    alone: the TA's list, which names such a zip left shut, said nothing, though another zip
    tool may read the student's work in it. Every such zip the grader meets is on the list."""
    top = {"exercise2.py": "two\n", "exercise3.py": "three\n"}
    root = tree(tmp_path / "stu", top)
    if where == "final.zip":
        (root / "final.zip").write_bytes(inner)
    else:
        (root / "hw.zip").write_bytes(zip_bytes({"final.zip": inner}))
    sub = read_submission(root, "stu", FILES)
    assert sub.files["exercise1"] is None
    (flag,) = [f["reason"] for f in sub.review if f["flag"] == "zip_unopened"]
    assert flag.startswith(
        f"{where} was opened to look for exercise files, and it " + says.format(zip=where)
    ), flag
    assert "another zip tool may read it otherwise: open it with one" in flag


def test_a_file_read_from_a_zip_is_said_once(tmp_path):
    """Each file of a zip was said twice, "read exercise1.py from the zip hw.zip" beside "found
    exercise1.py in hw.zip/"; a subfolder inside it is still named."""
    root = tree(tmp_path / "stu", {"notes.txt": "hi\n"})
    (root / "hw.zip").write_bytes(zip_bytes({"exercise1.py": "one\n", "sub/exercise2.py": "two\n"}))
    said = read_submission(root, "stu", FILES).notes
    assert "read exercise1.py from the zip hw.zip" in said
    assert not any(n.startswith("found exercise1.py") for n in said), said
    assert "found exercise2.py in hw.zip/sub/" in said
    # Which says where it was: "read exercise2.py from the zip hw.zip" beside it said it again.
    assert not any(n.startswith("read exercise2.py") for n in said), said


def test_a_sixth_zip_beside_five_opened_is_said_to_be_left_shut(tmp_path):
    """Six copies of one zip side by side (`hw.zip`, `hw (1).zip`, ...): five are opened and
    compared, and the sixth, a candidate as good as theirs, was left shut without a word."""
    hw = zip_bytes({f"{f}.py": f"{f}\n" for f in FILES})
    root = tmp_path / "stu"
    root.mkdir()
    for name in ["hw.zip", *(f"hw ({k}).zip" for k in range(1, 6))]:
        (root / name).write_bytes(hw)
    sub = read_submission(root, "stu", FILES)
    assert sub.files["exercise1"] == b"exercise1\n"
    shut = [n for n in sub.notes if n.startswith("did not open")]
    assert len(shut) == 1 and "at most 5 zips inside an upload are opened" in shut[0], sub.notes


def test_a_zip_inside_a_zip_left_shut_is_looked_into_too(tmp_path):
    """Work zipped twice (`final.zip` holding `hw.zip` holding a newer exercise1.py) beside the
    older files graded raised nothing: the zips inside a zip left shut are listed too."""
    top = {"exercise1.py": "old\n", "exercise2.py": "two\n", "exercise3.py": "three\n"}
    inner = zip_bytes({"exercise1.py": "new\n", "exercise2.py": "two\n"})
    root = tree(tmp_path / "stu", top)
    (root / "final.zip").write_bytes(zip_bytes({"hw/hw.zip": inner}))
    sub = read_submission(root, "stu", FILES)
    assert sub.files["exercise1"] == b"old\n"
    (flag,) = [f["reason"] for f in sub.review if f["flag"] == "zip_unopened"]
    assert "it holds final.zip/hw/hw.zip/exercise1.py, which differs from the files graded" in flag
    (root / "final.zip").write_bytes(zip_bytes({"hw.zip": zip_bytes(top)}))  # a copy: no news
    assert read_submission(root, "stu", FILES).review == []


def test_a_zip_left_shut_holding_other_work_is_on_the_tas_list(tmp_path):
    """End to end: the note on the report, the reason in the summary's "needs a look"."""
    root = tree(
        tmp_path / "class",
        {
            **{f"ada/{f}.py": solution(f) for f in FILES},
            "ada/final.zip": zip_bytes({"exercise2.py": "def dlogits(): pass\n"}),
        },
    )
    grade_batch(root, tmp_path / "out", progress=False)
    summary = yaml.safe_load((tmp_path / "out" / "summary.json").read_text())
    (ada,) = summary["students"]
    assert any("final.zip was not opened" in a for a in ada["attention"]), ada["attention"]
    report = (tmp_path / "out" / "ada" / "report.html").read_text()
    assert "did not open final.zip" in report


@pytest.mark.parametrize("same", [True, False], ids=["identical", "different"])
def test_two_zips_side_by_side_offering_one_exercise_are_compared_not_taken_in_order(
    tmp_path, same
):
    """A student who uploads `hw.zip` and `hw (1).zip` (a second download of their work) meant
    one of them: the grader cannot tell which, so it takes neither over the other. The same
    file in both is graded; different files make the exercise ambiguous, not the first zip's."""
    root = tmp_path / "ada"
    root.mkdir()
    (root / "hw.zip").write_bytes(zip_listing([("exercise1.py", "v = 1\n")]))
    second = "v = 1\n" if same else "v = 2\n"
    (root / "hw (1).zip").write_bytes(
        zip_listing([("exercise1.py", second), ("exercise2.py", "b\n")])
    )
    sub = read_submission(root, "ada", FILES)
    assert sub.files["exercise2"] == b"b\n"
    if same:
        assert sub.files["exercise1"] == b"v = 1\n"
    else:
        assert sub.files["exercise1"] is None
        assert sub.absent["exercise1"].startswith("ambiguous: ")
        assert "hw.zip/exercise1.py" in sub.absent["exercise1"]


def test_a_zip_deeper_than_the_one_that_held_the_exercises_is_not_opened(tmp_path):
    """Zips are looked into shallowest first, and once every exercise is found, one nested
    deeper (an old version kept inside a folder) is no candidate: the shallower wins, as a file
    outside any zip wins over one inside."""
    root = tmp_path / "ada"
    (root / "old").mkdir(parents=True)
    whole = [(f"{f}.py", f"{f} = 1\n") for f in FILES]
    (root / "hw.zip").write_bytes(zip_listing(whole))
    (root / "old" / "hw.zip").write_bytes(zip_listing([("exercise1.py", "old = 1\n")]))
    sub = read_submission(root, "ada", FILES)
    assert sub.files["exercise1"] == b"exercise1 = 1\n"
    # Never read from, and said to be left shut (the student's old version, or newer work?).
    assert [n for n in sub.notes if "old/hw.zip" in n] == [
        "did not open old/hw.zip: hw.zip/exercise1.py, hw.zip/exercise2.py, hw.zip/exercise3.py "
        "were found outside it, and a zip inside an upload is opened only to look for an "
        "exercise file not found outside one; if your work is in it, upload your files "
        "themselves, not in a zip"
    ]
    assert [f["flag"] for f in sub.review] == ["zip_unopened"]


def test_copies_at_one_path_are_compared_within_the_byte_budget(tmp_path):
    """Each copy is read through the capped reader and charged: two copies of 600 KiB are
    1.2 MiB read, more than a budget of 1 MiB, so the second is not read, and nothing is graded."""
    big = b"#" * (600 << 10)
    zpath = tmp_path / "s.zip"
    zpath.write_bytes(zip_listing([("exercise1.py", big), ("exercise1.py", big)]))
    limits = UploadLimits(bytes=1 * MiB, file_bytes=1 * MiB)
    sub = read_submission(zpath, "s", FILES, limits=limits)
    assert sub.files["exercise1"] is None
    assert "would exceed 1 MiB" in sub.absent["exercise1"]


@pytest.mark.parametrize("limit, said", [(20 * KiB, "20 KiB"), (1536 * KiB, "1.5 MiB")])
def test_a_byte_limit_is_said_in_its_own_size(tmp_path, limit, said):
    """`--upload-limit bytes=20KiB` was said "the upload would exceed 0 MiB unpacked", and
    1.5 MiB "1 MiB": a limit rounded down to whole MiB, below the size it stopped at."""
    limits = UploadLimits(bytes=limit, file_bytes=limit)
    zpath = tmp_path / "s.zip"
    zpath.write_bytes(zip_bytes({"exercise1.py": b"#" * (limit + 1)}))
    sub = read_submission(zpath, "s", FILES, limits=limits)
    assert f"the upload would exceed {said} unpacked" in sub.absent["exercise1"]
    zpath.write_bytes(zip_bytes({"inner.zip": os.urandom(limit + 1)}))  # not compressible
    sub = read_submission(zpath, "s", FILES, limits=limits)
    assert f"did not open inner.zip: it would take the upload past {said} unpacked" in sub.notes


def test_a_zip_with_two_different_exercise_files_is_graded_for_the_others(tmp_path):
    """End to end: the report says why exercise1 scores nothing; exercise2 is graded in full."""
    root = tree(tmp_path / "class", {"bob/exercise2.py": solution("exercise2")})
    (root / "ada.zip").write_bytes(
        zip_listing(
            [
                ("exercise1.py", solution("exercise1")),
                ("exercise1.py", "def forward(): pass\n"),
                ("exercise2.py", solution("exercise2")),
            ]
        )
    )
    out = tmp_path / "out"
    results = {r["submission"]: r for r in grade_batch(root, out, progress=False)}
    ada = results["ada"]
    assert ada["files"]["exercise1"].startswith("ambiguous: exercise1.py was not read")
    assert ada["exercises"]["exercise1"]["score"] == 0
    assert ada["exercises"]["exercise2"]["score"] == ada["exercises"]["exercise2"]["max_score"]
    assert ada["exercises"]["exercise2"] == results["bob"]["exercises"]["exercise2"]
    report = (out / "ada" / "report.html").read_text()
    assert "upload a zip with one copy of exercise1.py" in report


# ---- names -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "folder"),
    [
        ("..", "submission"),
        ("...", "submission"),
        ("a/../../b", "a_.._.._b"),
        ("CON", "_CON"),
        ("nul.txt", "_nul.txt"),
        (" .hidden. ", "hidden"),
        ("zoë martin", "zoë martin"),
    ],
)
def test_names_become_safe_folder_names(name, folder):
    assert slug(name) == folder


def test_a_folder_name_shows_the_characters_a_name_hides():
    """`Bo\\u200bb` (a zero-width space) got a folder that `ls` and a file manager showed as
    Bob's, and `\\u202eecilA` (a right-to-left override) one shown as Alice's: each character with
    no ink is written as its code point. A name written so by hand still gets a folder of its
    own, and a name without such characters (a Persian non-joiner spelling a word included)
    keeps the folder an earlier run gave it."""
    persian = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647"
    names = ["Bob", "Bo\u200bb", "\u202eecilA", "Bo{U+200B}b", "bo\u200bB", "zoë", persian]
    subs = [Submission(n, {}) for n in names]
    assign_folders(subs)
    assert [s.folder for s in subs] == [
        "Bob",
        "Bo{U+200B}b",
        "{U+202E}ecilA",
        "Bo{U+200B}b (2)",
        "bo{U+200B}B (3)",
        "zoë",
        persian,
    ]
    assert slug("\u2066Bob\u3164\u2069") == "{U+2066}Bob{U+3164}{U+2069}"


def test_uploads_read_under_one_name_are_said_with_their_invisible_characters():
    """A folder `Bo\\u200bb/` and a zip `Bo{U+200B}b.zip` get one folder's name, and the TA's
    list said `this row is the folder Bob/`, its zero-width space unseen on the page, beside a
    zip whose name shows it: each upload is now named with its escape, as the row's own name."""
    subs = [Submission("Bo\u200bb", {}, source="Bo\u200bb/"), Submission("Bo{U+200B}b", {})]
    subs[1].source = "Bo{U+200B}b.zip"
    assign_folders(subs)
    assert [s.folder for s in subs] == ["Bo{U+200B}b", "Bo{U+200B}b (2)"]
    reason = subs[0].review[0]["reason"]
    assert reason.startswith("this row is the folder Bo\\u200bb/; the zip Bo{U+200B}b.zip (graded")
    assert "the folder Bo\\u200bb/ (graded as Bo{U+200B}b) has its name" in subs[1].notes[0]


def test_uploads_whose_names_differ_in_accents_written_apart_are_told_apart():
    """`Zoë/` with its `ë` one character and `Zoë/` with `e` and a combining diaeresis (as a
    Mac's zip may write it) get one folder's name, and the TA's list read `this row is the
    folder Zoë/; the folder Zoë/ (graded as Zoë (2)) has its name`, the same words twice: the
    decomposed one now says how its accents are written."""
    nfd = unicodedata.normalize("NFD", "Zo\u00eb")
    subs = [Submission(n, {}, source=f"{n}/") for n in ("Zo\u00eb", nfd)]
    assign_folders(subs)
    assert [s.folder for s in subs] == ["Zo\u00eb", "Zo\u00eb (2)"]
    reasons = [f["reason"] for s in subs for f in s.review if f["flag"] == "download"]
    marked = f"the folder {nfd}/ (its accents written as separate marks: U+0308 COMBINING"
    assert len(reasons) == 2 and all(r.count(marked) == 1 for r in reasons)
    assert all(re.search("the folder Zo\u00eb/(;| \\(graded)", r) for r in reasons)


def test_an_exercise_file_at_the_top_of_a_class_folder_puts_its_grading_on_the_list(tmp_path):
    """A class's folder with a stray `exercise1.py` at its top (a TA's own copy) was read as
    one student's upload, its other exercises taken from the students' folders beside it, and
    the run ended `none needs a look` with one report scoring 100: the shape stands (a student's
    folder may hold copies), but the grading is on the TA's list, naming the uploads beside it
    and what to do. A student's backup folder beside their files, or `--one`, raises nothing."""
    root = tree(
        tmp_path / "class",
        {
            "exercise1.py": "a\n",
            "alice/exercise1.py": "b\n",
            "alice/exercise3.py": "c\n",
            "Smith, Jo/exercise2.py": "d\n",
            "notes/readme.txt": "e\n",
        },
    )
    (root / "bob.zip").write_bytes(zip_bytes({"exercise1.py": "f\n"}))
    found = find(root, FILES)
    assert not found.is_batch
    [reason] = [f["reason"] for f in found.subs[0].review if f["flag"] == "download"]
    assert reason.startswith("exercise1.py sits at the top of class, which was graded as one ")
    assert "but 3 folders or zips beside it read as students' uploads (" in reason
    assert all(n in reason for n in ("alice/", "Smith, Jo/", "bob.zip")) and "notes" not in reason
    assert "move exercise1.py into its student's folder" in reason
    backup = tree(tmp_path / "ada", {"exercise1.py": "a\n", "old/exercise1.py": "b\n"})
    assert find(backup, FILES).subs[0].review == []
    assert "download" not in {f["flag"] for f in find(root, FILES, one=True).subs[0].review}


def test_python_files_and_other_archives_beside_a_class_are_named_as_left_out(tmp_path):
    """A class's folder holding students' folders and zips, and beside them `eve.py` and
    `dave.rar` (uploads a TA saved as they came), was read as `a folder of submissions: 2
    submissions`, those two dropped without a word: the line names them and what to do. A file
    of another kind (the TA's roster) is no upload and is not named."""
    root = tree(
        tmp_path / "class",
        {
            "alice/exercise1.py": "a\n",
            "eve.py": "b\n",
            "dave.rar": "c",
            "roster.csv": "d\n",
            ".eve_backup.py": "e\n",
        },
    )
    (root / "bob.zip").write_bytes(zip_bytes({"exercise1.py": "f\n"}))
    found = find(root, FILES)
    assert [s.name for s in found.subs] == ["alice", "bob"]
    assert found.described() == (
        "a folder of submissions: 2 submissions; left out, as no upload: dave.rar, eve.py (a "
        "student's upload is a folder, a .zip or a notebook: put each student's files in a "
        "folder of their own, an archive unpacked, and grade again)"
    )


def test_a_hidden_folder_holding_a_students_work_is_named_as_left_out(tmp_path):
    """`.honest/` beside `alice/` in a class's folder (a student's name starting with a dot) was
    read as a tool's folder, like `.git`, and skipped without a word: no row, no report. It is
    named on the class's line with the fix (rename it), not graded (a dot folder is most often
    a tool's: Jupyter's checkpoints hold copies of notebooks). Tools' folders stay quiet: what
    IGNORED_DIRS holds, a virtual environment, a folder holding no work, a dot file."""
    root = tree(
        tmp_path / "class",
        {
            "alice/exercise1.py": "a\n",
            ".honest/exercise1.py": "b\n",
            ".zoe/hw/hw.ipynb": "{}",
            ".git/exercise1.py": "c\n",
            ".ipynb_checkpoints/hw-checkpoint.ipynb": "{}",
            ".venv/pyvenv.cfg": "home = /usr/bin\n",
            ".venv/exercise1.py": "d\n",
            ".vscode/settings.json": "{}",
            ".cache/deep/er/still/exercise1.py": "e\n",
            ".DS_Store": "",
        },
    )
    found = find(root, FILES)
    assert [s.name for s in found.subs] == ["alice"]
    assert found.described() == (
        "a folder of submissions: 1 submission; left out, as hidden folders: .honest/, .zoe/ "
        "(folders whose names start with a dot are read as tools', like .git, but these hold "
        "exercise files or notebooks: rename each that is a student's upload without the dot "
        "and grade again)"
    )
    (root / ".zoe" / "hw" / "hw.ipynb").unlink()
    assert find(root, FILES).left_out_note() == (
        "left out, as a hidden folder: .honest/ (a folder whose name starts with a dot is read "
        "as a tool's, like .git, but it holds exercise files or a notebook: if it is a "
        "student's upload, rename it without the dot and grade again)"
    )
    alone = tree(tmp_path / "only", {".honest/exercise2.py": "b\n", ".git/HEAD": "x\n"})
    with pytest.raises(SubmissionError, match=r"; left out, as a hidden folder: \.honest/ \("):
        find(alone, FILES)


@pytest.mark.parametrize("top", ["", "class/"])
def test_a_hidden_folder_of_a_class_zip_holding_work_is_named_as_left_out(tmp_path, top):
    """The same in a class's zip (or in its one top folder), whose listing drops hidden paths
    before anything is read: `.honest/` is named, tools' folders stay quiet, and a hidden folder
    inside a student's upload is that student's own business (never named)."""
    files = {
        "alice/exercise1.py": "a\n",
        "alice/.backup/exercise1.py": "old\n",
        "bob/exercise1.py": "b\n",
        ".honest/hw/exercise1.py": "c\n",
        ".git/exercise1.py": "d\n",
        ".venv/pyvenv.cfg": "home = /usr/bin\n",
        ".venv/exercise1.py": "e\n",
        ".vscode/settings.json": "{}",
        "__MACOSX/alice/._exercise1.py": "f",
    }
    zipped = tmp_path / "class.zip"
    zipped.write_bytes(zip_bytes({top + k: v for k, v in files.items()}))
    found = find(zipped, FILES)
    assert [s.name for s in found.subs] == ["alice", "bob"]
    note = found.left_out_note()
    assert note.startswith("left out, as a hidden folder: .honest/ (a folder "), note
    assert note.endswith("unzip the class, rename it without the dot and grade the folder)")


def test_a_hidden_folder_beside_a_class_zip_s_one_folder_is_named_with_where_it_goes(tmp_path):
    """A class's zip holding `class/` and, beside it, `.honest/`: the zip is read as its one
    folder, and `.honest/` was left out unsaid (only hidden folders inside `class/` were
    named). It is named apart, with the fix: rename it and move it into `class/`."""
    files = {
        "class/alice/exercise1.py": "a\n",
        "class/bob/exercise1.py": "b\n",
        ".honest/exercise1.py": "c\n",
        ".git/exercise1.py": "d\n",
        "__MACOSX/class/._alice": "\x00\x05\x16\x07",
    }
    zipped = tmp_path / "class.zip"
    zipped.write_bytes(zip_bytes(files))
    found = find(zipped, FILES)
    assert [s.name for s in found.subs] == ["alice", "bob"]
    assert found.left_out_note() == (
        "left out, as a hidden folder beside class/: .honest/ (a folder whose name starts with "
        "a dot is read as a tool's, like .git, but it holds exercise files or a notebook: if it "
        "is a student's upload, unzip the class, rename it without the dot, move it into "
        "class/ and grade that folder)"
    )


APPLE_DOUBLE = b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        "


@pytest.mark.parametrize("zipped", [False, True])
def test_a_hidden_file_that_is_an_upload_is_named_as_left_out(tmp_path, zipped):
    """`.alice.zip` and `.carol.ipynb` at a class's top, beside `bob/` and `zoe/`, were skipped
    without a word (only hidden folders were named). They are named with the fix; AppleDouble
    files (`._dave.zip`, told apart by their first bytes), `.DS_Store` and a hidden `.py` (no
    upload even without its dot) stay quiet."""
    files = {
        "bob/exercise1.py": "b\n",
        "zoe/exercise1.py": "z\n",
        ".alice.zip": zip_bytes({"exercise1.py": "a\n"}),
        ".carol.ipynb": "{}",
        "._dave.zip": APPLE_DOUBLE,
        ".DS_Store": "\x00\x00\x00\x01Bud1",
        ".erin.py": "e\n",
    }
    if zipped:
        root = tmp_path / "class.zip"
        root.write_bytes(zip_bytes(files))
    else:
        root = tree(tmp_path / "class", files)
    found = find(root, FILES)
    assert [s.name for s in found.subs] == ["bob", "zoe"]
    unzip = "unzip the class, " if zipped else ""
    again = "grade the folder" if zipped else "grade again"
    assert found.left_out_note() == (
        "left out, as hidden: .alice.zip, .carol.ipynb (names that start with a dot are read as "
        "tools' or the system's, like .git and .DS_Store, but these hold exercise files or "
        "notebooks, or are named as zips or notebooks: "
        f"{unzip}rename each that is a student's upload without the dot and {again})"
    )
    one = {k: v for k, v in files.items() if k != ".carol.ipynb"}
    if zipped:
        root.write_bytes(zip_bytes(one))
    else:
        (root / ".carol.ipynb").unlink()
    assert find(root, FILES).left_out_note() == (
        "left out, as a hidden file: .alice.zip (a file whose name starts with a dot is read as "
        "a tool's or the system's, like .DS_Store, but it is named as a zip or a notebook: if it "
        f"is a student's upload, {unzip}rename it without the dot and {again})"
    )


def test_a_class_folder_given_one_level_up_puts_its_one_row_on_the_list(tmp_path):
    """`grader grade downloads/` where `downloads/` holds only the class's folder (or its zip)
    read `a folder of submissions: 1 submission`, graded the whole class as one student named
    after the folder, each exercise taken from a classmate's folder, and ended `none needs a
    look` with a score of 100: that one row is on the TA's list, naming the uploads inside and
    the command to grade the class itself. A class whose one student keeps a single folder of
    work, or a folder of parts, raises nothing."""
    class_files = {
        "alice/exercise1.py": "a\n",
        "alice/exercise3.py": "b\n",
        "Smith, Jo/exercise2.py": "c\n",
        "carol.ipynb": "{}",
    }
    down = tree(tmp_path / "downloads", {f"hw3/{k}": v for k, v in class_files.items()})
    (down / "hw3" / "bob.zip").write_bytes(zip_bytes({"exercise1.py": "d\n"}))
    (tmp_path / "zipped").mkdir()
    (tmp_path / "zipped" / "hw3.zip").write_bytes(
        zip_bytes({**{f"hw3/{k}": v for k, v in class_files.items()}, "hw3/bob.zip": "x"})
    )
    for given, inside in ((down, down / "hw3"), (tmp_path / "zipped", "zipped/hw3.zip")):
        found = find(given, FILES)
        [sub] = found.subs
        [reason] = [f["reason"] for f in sub.review if f["flag"] == "download"]
        assert "holds 3 folders or zips that read as students' uploads (" in reason, reason
        assert all(n in reason for n in ("alice/", "Smith, Jo/", "bob.zip")), reason
        assert "and was graded as one student's:" in reason
        assert f"grader grade {inside}" in reason or str(inside) in reason
    canvas = tree(
        tmp_path / "course",
        {
            "hw3/lovelaceada_1001_5001_exercise1.py": "a\n",
            "hw3/smithbob_LATE_1002_6001_exercise1.py": "b\n",
            "hw3/zoe_1003_7001_hw.ipynb": "{}",
        },
    )
    [sub] = find(canvas, FILES).subs
    [reason] = [f["reason"] for f in sub.review if f["flag"] == "download"]
    assert "holds files a Canvas download names for 3 students, and was graded as one" in reason
    one = tree(tmp_path / "one", {"ada/hw/exercise1.py": "a\n", "ada/hw/exercise2.py": "b\n"})
    assert find(one, FILES).subs[0].review == []
    parts = tree(tmp_path / "parts", {"ada/p1/exercise1.py": "a\n", "ada/p2/readme.md": "b\n"})
    assert find(parts, FILES).subs[0].review == []


def test_the_summary_page_names_the_files_left_out_as_no_upload(tmp_path):
    """The terminal's first line names `eve.py` beside the class's folders as left out, but a
    TA who opens summary.html, not the log, read a class without that student and no word of
    her file: the page says it too, under its headline."""
    root = tree(tmp_path / "class", {"alice/exercise1.py": "x = 1\n", "eve.py": "y = 2\n"})
    out = tmp_path / "out"
    grade_batch(root, out, progress=False)
    page = (out / "summary.html").read_text(encoding="utf-8")
    [note] = re.findall(r'<p class="warn" id="left-out">(.*?)</p>', page, re.S)
    text = " ".join(html.unescape(re.sub(r"<[^>]+>", "", note)).split())
    assert text.startswith("Left out, as no upload: eve.py (a student's upload is a folder")
    (root / "eve.py").unlink()
    tree(root, {".honest/exercise1.py": "y = 3\n", ".git/exercise1.py": "z = 4\n"})
    grade_batch(root, out, progress=False)
    page = (out / "summary.html").read_text(encoding="utf-8")
    [note] = re.findall(r'<p class="warn" id="left-out">(.*?)</p>', page, re.S)
    text = " ".join(html.unescape(re.sub(r"<[^>]+>", "", note)).split())
    assert text.startswith("Left out, as a hidden folder: .honest/ (a folder whose name starts")
    assert ".git" not in text.split("(")[0]


def test_a_browsers_copy_number_is_said_with_the_names_invisible_characters(tmp_path):
    """`Bo\\u200bb (1)/` beside `Bo\\u200bb/` (one download saved twice) put both on the TA's
    list as `Bob (1) and Bob read as two students' uploads`, the zero-width space unseen on the
    page beside the rows, which show it: the reason names them as the rows do."""
    root = tree(
        tmp_path / "class",
        {"Bo\u200bb/exercise1.py": "a\n", "Bo\u200bb (1)/exercise1.py": "b\n", "al/x.py": ""},
    )
    subs, _ = discover(root, FILES)
    [reason] = {f["reason"] for s in subs for f in s.review if f["flag"] == "download"}
    assert reason.startswith("Bo\\u200bb (1) and Bo\\u200bb read as two students' uploads")


def test_a_folder_name_shows_the_letters_and_spaces_passing_for_a_classmates():
    """`B\\u043eb/` (its `\\u043e` Cyrillic) and `Bob\\u00a0Smith/` (a no-break space) showed
    in `ls` as `Bob/` and `Bob Smith/`: a letter of a script mixed into a word of another and a
    space drawn as a plain one are written as their code points. A name in one script, or whose
    scripts are words apart, keeps its folder; so does the ideographic space parting a Japanese
    name."""
    assert slug("B\u043eb") == "B{U+043E}b"
    assert slug("\u0391lice") == "{U+0391}lice"
    assert slug("Bob\u00a0Smith") == "Bob{U+00A0}Smith"
    assert slug("B\u043eb \u0418\u0432\u043e") == "B{U+043E}b \u0418\u0432\u043e"
    for fine in (
        "\u0418\u0432\u0430\u043d \u041f\u0435\u0442\u0440\u043e\u0432",
        "\u5c71\u7530\u305f\u308d\u3046",
        "\u5c71\u7530\u3000\u592a\u90ce",
        "J. \u5c71\u7530",
        "Bob  Smith",
    ):
        assert slug(fine) == fine


def test_a_folder_name_writes_control_characters_as_code_points():
    """A C1 control (`Bo\\x85b`, NEXT LINE) was kept in the report's folder, which `ls` quoted
    as `'Bo'$'\\302\\205''b'` and a file manager drew as an empty box, and a C0 one (`Bo\\x01b`)
    became `Bo_b`, the folder of a student really named `Bo_b`: each control character is written
    as its code point, as an invisible one is."""
    assert slug("Bo\x85b") == "Bo{U+0085}b"
    assert slug("Bo\x9b2Jb") == "Bo{U+009B}2Jb"
    assert slug("Bo\x01b") == "Bo{U+0001}b"
    assert slug("Bo\x7fb") == "Bo{U+007F}b"
    assert slug("Bob\tSmith\n") == "Bob{U+0009}Smith{U+000A}"
    subs = [Submission("Bo_b", {}), Submission("Bo\x01b", {})]
    assign_folders(subs)
    assert [s.folder for s in subs] == ["Bo_b", "Bo{U+0001}b"]


def test_every_output_folder_is_unique_and_never_a_batch_file():
    subs = [
        Submission(n, {}) for n in ("bob", "bob (2)", "bob", "Grades.csv", "summary.json", "BOB")
    ]
    assign_folders(subs, reserved={"grades.csv", "summary.json", "summary.html"})
    folders = [s.folder for s in subs]
    assert folders == ["bob", "bob (2)", "bob (3)", "Grades.csv (2)", "summary.json (2)", "BOB (4)"]
    assert len({f.casefold() for f in folders}) == len(folders)
    assert [s.name for s in subs][:3] == ["bob", "bob (2)", "bob (3)"]


def test_a_nested_zip_named_dotdot_zip_deletes_nothing_and_costs_only_its_owner(tmp_path):
    """The issue's `...zip` (its stem is `..`): a hidden file to the grader, never a path."""
    export = tmp_path / "export"
    tree(export, {"submission_1/exercise2.py": "one\n", "submission_3/exercise2.py": "three\n"})
    (export / "submission_2").mkdir()
    (export / "submission_2" / "...zip").write_bytes(zip_bytes({"exercise2.py": "two\n"}))
    (export / "submission_2" / "...").mkdir()
    meta = {f"submission_{i}": {":submitters": [{":name": f"S{i}"}]} for i in (1, 2, 3)}
    (export / METADATA).write_text(yaml.safe_dump(meta))
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    subs, is_batch = discover(export, FILES)
    assert is_batch
    assert [s.files["exercise2"] for s in subs] == [b"one\n", None, b"three\n"]
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
    # and the same inside a zip: its entries are names in a listing, never paths on disk
    zipped = zip_bytes({"x/exercise1.py": "a", "x/...zip": zip_bytes({"exercise2.py": "b"})})
    (tmp_path / "s.zip").write_bytes(zipped)
    sub = read_submission(tmp_path / "s.zip", "s", FILES)
    assert sub.files["exercise1"] == b"a"
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == sorted(
        [*before, Path("s.zip")]
    )


def test_a_hidden_folder_inside_an_upload_of_a_class_zip_is_not_looked_at(tmp_path):
    """A class download's top may hold a student's name starting with a dot (a Moodle full
    name); inside an upload a dot name stays hidden, whatever it reads as."""
    moodle_like = ".Bo_1002_assignsubmission_file_"
    files = {"ada/exercise2.py": "a\n", f"ada/{moodle_like}/exercise1.py": "x\n", "bo/x.py": ""}
    for wrap in ("", "class/"):
        (tmp_path / "class.zip").write_bytes(zip_bytes({wrap + k: v for k, v in files.items()}))
        subs, _ = discover(tmp_path / "class.zip", FILES)
        assert by_name(subs)["ada"].files == {**dict.fromkeys(FILES), "exercise2": b"a\n"}
    # One student's zip, or one given as such, reads as their folder does.
    ada = {k.removeprefix("ada/"): v for k, v in files.items() if k.startswith("ada/")}
    (tmp_path / "ada.zip").write_bytes(zip_bytes(ada))
    for one in (False, True):
        [sub] = find(tmp_path / "ada.zip", FILES, one=one).subs
        assert sub.files == {**dict.fromkeys(FILES), "exercise2": b"a\n"}


# ---- export mode only for an export --------------------------------------------------------------


def test_metadata_inside_a_submission_is_an_ordinary_file(tmp_path):
    root = tree(tmp_path / "class", {"ada/exercise2.py": "a\n", "mal/exercise2.py": "m\n"})
    meta = {"/": {}, "../../../etc": {}, str(ROOT / "solutions" / "backprop-ninja"): {}, "ada": {}}
    (root / "mal" / METADATA).write_text(yaml.safe_dump(meta))
    subs, is_batch = discover(root, FILES)
    assert is_batch and [s.name for s in subs] == ["ada", "mal"]
    assert by_name(subs)["mal"].files["exercise2"] == b"m\n"
    # Given as the root itself, it is honoured, but its keys reach nothing outside it.
    subs, is_batch = discover(root / "mal", FILES)
    assert is_batch and all(s.files == dict.fromkeys(FILES) for s in subs)


def test_export_keys_are_only_names_of_folders_in_the_export(tmp_path):
    export = tree(tmp_path / "export", {"submission_1/exercise2.py": "one\n"})
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "exercise2.py").write_text("stolen\n")
    keys = [
        "/",
        "../elsewhere",
        str(ROOT / "solutions" / "backprop-ninja"),
        str(tmp_path / "elsewhere"),
        ".",
    ]
    meta = {k: {} for k in [*keys, "submission_1", "submission_9", 42]}
    (export / METADATA).write_text(yaml.safe_dump(meta))
    subs, is_batch = discover(export, FILES)
    assert is_batch
    got = {s.name: s for s in subs}
    assert got["submission_1"].files["exercise2"] == b"one\n"
    for key in keys:
        assert got[key].files == dict.fromkeys(FILES)
        assert "not a folder name of this export" in notes(got[key])
    assert "has no such folder" in notes(got["submission_9"])
    assert got["42"].files == dict.fromkeys(FILES)
    # Each such row is on the TA's list as what it is: "no exercise files found" alone read as
    # a student who uploaded nothing, when the export holds nothing of theirs.
    for key in [*keys, "submission_9", "42"]:
        (flag,) = got[key].review
        assert flag["flag"] == "download" and "(its 0 grades nothing" in flag["reason"]
    assert (
        got["submission_9"]
        .review[0]["reason"]
        .startswith("the export lists submission_9 but has no such folder")
    )


def test_an_export_listing_too_many_folders_it_lacks_is_refused(tmp_path, monkeypatch):
    """A metadata file of a student's own writing could list a million folders in its 16 MiB,
    each a row and a report written to disk; a real export holds every folder it lists."""
    from grader import submissions
    from grader.submissions import SubmissionError

    monkeypatch.setattr(submissions, "MAX_MISSING_FOLDERS", 3)
    export = tree(tmp_path / "export", {"submission_1/exercise2.py": "one\n"})
    listed = {f"submission_{k}": {} for k in range(1, 5)}  # three absent: within the bound
    (export / METADATA).write_text(yaml.safe_dump(listed))
    assert len(discover(export, FILES)[0]) == 4
    listed["submission_5"] = {}
    (export / METADATA).write_text(yaml.safe_dump(listed))
    with pytest.raises(SubmissionError, match="lists more than 3 folders the export does not hold"):
        discover(export, FILES)
    (sub,) = find(export, FILES, one=True).subs  # one student's upload: an ordinary file
    assert sub.files["exercise2"] == b"one\n"


def test_the_export_shown_in_the_docs_reads_as_they_say(tmp_path):
    """docs/submissions.md shows a TA what an export's metadata looks like: that very file,
    beside the folders it names, gives one person and a group of two, and nothing else."""
    doc = (Path(__file__).parents[1] / "docs" / "submissions.md").read_text()
    block = doc.split("```yaml\n", 1)[1].split("```", 1)[0]
    export = tree(tmp_path / "export", {f"submission_{i}/exercise2.py": "x\n" for i in (101, 102)})
    (export / METADATA).write_text(textwrap.dedent(block))
    got = {s.name: s.student for s in discover(export, FILES)[0]}
    ada = {"name": "Ada Lovelace", "email": "ada@example.edu", "sid": "1815"}
    alan = {"name": "Alan Turing", "email": "alan@example.edu", "sid": "1912"}
    grace = {"name": "Grace Hopper", "email": "grace@example.edu", "sid": "1906"}
    assert got == {
        "submission_101": {**ada, "members": [ada]},
        "submission_102": {
            "name": "Alan Turing; Grace Hopper",
            "email": "alan@example.edu; grace@example.edu",
            "sid": "1912; 1906",
            "members": [alan, grace],
        },
    }


def test_export_metadata_fields_are_text_and_bounded_whatever_the_yaml(tmp_path):
    """A metadata file of a student's own writing (their upload graded without --one): a
    5,000-digit SID made safe_load raise ValueError (Python's digit limit), a traceback that
    stopped the batch, and a name of nested aliases was printed whole (10^9 strings took the
    machine). Fields are taken as text only, cut; a group is cut to MAX_MEMBERS people."""
    export = tree(tmp_path / "export", {f"submission_{i}/exercise2.py": f"{i}\n" for i in (1, 2)})
    laughs = ["n0: &n0 [" + ", ".join(["lol"] * 10) + "]"]
    laughs += [f"n{i}: &n{i} [" + ", ".join([f"*n{i - 1}"] * 10) + "]" for i in range(1, 5)]
    crowd = ", ".join(["*who"] * (MAX_MEMBERS + 50))
    (export / METADATA).write_text(
        "\n".join(laughs)
        + "\nsubmission_1:\n  :submitters:\n  - :name: *n4\n    :email: a@x\n"
        + f"    :sid: {'1' * 5000}\n  - :name: Hex\n    :sid: 0x{'f' * 5000}\n"
        + "submission_2:\n  :submitters: [&who {':name': Bo, ':sid': 007}, "
        + crowd
        + "]\n"
    )
    got = {s.name: s for s in discover(export, FILES)[0]}
    one = got["submission_1"].student
    assert one["members"] == [
        {"email": "a@x", "sid": "1" * MAX_FIELD_CHARS},
        {"name": "Hex", "sid": ("0x" + "f" * 5000)[:MAX_FIELD_CHARS]},
    ]
    assert one["name"] == "Hex" and got["submission_1"].files["exercise2"] == b"1\n"
    two = got["submission_2"].student
    assert two["members"] == [{"name": "Bo", "sid": "007"}] * MAX_MEMBERS
    assert got["submission_2"].files["exercise2"] == b"2\n"


def test_one_upload_of_a_class_zip_cannot_spend_the_listing_of_the_others(tmp_path):
    """The class's zip is listed once, with one limit for all: Mallory's 4,000 files, each in
    55 folders of its own (folders the zip need not list), took the whole of it, and every
    upload listed after hers was left out: Alice's row said "no such folder", 0 points. Each
    upload is listed within its own limit, and Mallory's report says hers was cut."""
    deep = "/".join(f"d{{k}}_{j}" for j in range(55))
    mallory = {f"export/submission_1/{deep.format(k=k)}/x.txt": "" for k in range(4000)}
    meta = {f"submission_{i}": {":submitters": [{":name": n}]} for i, n in ((1, "M"), (2, "A"))}
    (tmp_path / "export.zip").write_bytes(
        zip_bytes(
            {
                "export/" + METADATA: yaml.safe_dump(meta),
                **mallory,
                "export/submission_2/exercise2.py": "alice\n",
                "export/submission_2/exercise3.py": "alice3\n",
            }
        )
    )
    got = by_name(discover(tmp_path / "export.zip", FILES)[0])
    assert got["submission_2"].files == {
        **dict.fromkeys(FILES),
        "exercise2": b"alice\n",
        "exercise3": b"alice3\n",
    }
    assert "no such folder" not in notes(got["submission_2"])
    assert "holds more than 5000 files and folders" in notes(got["submission_1"])


def test_a_class_zip_too_large_to_list_is_refused_not_graded_in_part(tmp_path, monkeypatch):
    """Past the class listing's own limit, the uploads left out would each be "missing", 0
    points: the zip is refused, with what to do (a folder is listed one upload at a time)."""
    monkeypatch.setattr("grader.submissions.MAX_EXPORT_ENTRIES", 30)
    files = {f"s{i}/f{k}.txt": "" for i in range(3) for k in range(12)}
    (tmp_path / "class.zip").write_bytes(zip_bytes({**files, "s3/exercise2.py": "x"}))
    with pytest.raises(SubmissionError, match="too large to be read as one zip.*unzip it"):
        discover(tmp_path / "class.zip", FILES)
    tree(tmp_path / "class", {**files, "s3/exercise2.py": "x"})
    assert by_name(discover(tmp_path / "class", FILES)[0])["s3"].files["exercise2"] == b"x"


def test_an_sid_or_email_given_to_two_submissions_puts_both_on_the_ta_list(tmp_path):
    """Two entries of the metadata claiming one student (a forged or stale one) gave two rows
    of grades.csv with one SID and different scores; an import keeps one of them, unseen. A
    group's members sharing one submission are no such claim."""
    people = {
        "submission_1": [("Alice", "a@x", "1001")],
        "submission_2": [("Mallory", "A@X", "2002")],
        "submission_3": [("Bo", "b@x", "3003"), ("Cy", "c@x", "4004")],
        "submission_4": [("Eve", "e@x", "1001")],
    }
    meta = {
        sub: {":submitters": [{":name": n, ":email": e, ":sid": i} for n, e, i in who]}
        for sub, who in people.items()
    }
    export = tree(tmp_path / "export", {f"{sub}/exercise2.py": "a" for sub in people})
    (export / METADATA).write_text(yaml.safe_dump(meta))
    got = by_name(discover(export, FILES)[0])
    reasons = {
        k: [f["reason"] for f in s.review if f["flag"] == "download"] for k, s in got.items()
    }
    assert reasons["submission_3"] == []
    assert reasons["submission_1"] == [
        "the export's submission_metadata.yml gives the email a@x and the SID 1001 to "
        "submission_2, submission_4 too: grades.csv has a row for each, and a gradebook import "
        "keeps one; check in Gradescope which is the student's"
    ]
    assert "the email a@x to submission_1 too" in reasons["submission_2"][0]
    assert "the SID 1001 to submission_1 too" in reasons["submission_4"][0]


def test_an_sid_given_again_with_blanks_around_it_is_the_same_claim(tmp_path):
    """A gradebook import trims a cell: `1001 ` and `1001` are one student's row, and the second
    claim went unflagged. A blank SID claims nobody."""
    people = {"submission_1": ("Alice", "1001"), "submission_2": ("Eve", " 1001 \t")}
    people |= {"submission_3": ("Bo", "  "), "submission_4": ("Cy", " ")}
    meta = {
        sub: {":submitters": [{":name": n, ":email": f"{n}@x", ":sid": i}]}
        for sub, (n, i) in people.items()
    }
    export = tree(tmp_path / "export", {f"{sub}/exercise2.py": "a" for sub in people})
    (export / METADATA).write_text(yaml.safe_dump(meta))
    got = by_name(discover(export, FILES)[0])
    flagged = {k for k, s in got.items() if any(f["flag"] == "download" for f in s.review)}
    assert flagged == {"submission_1", "submission_2"}
    assert "the SID 1001 to submission_2 too" in got["submission_1"].review[0]["reason"]


@pytest.mark.parametrize("packed", ["folder", "zip"])
def test_a_folder_the_export_metadata_does_not_list_is_graded_and_flagged(tmp_path, packed):
    """A folder of the export that its metadata does not name was skipped without a word: its
    student had no row and no report. It is graded under its folder's name, on the TA's list."""
    meta = yaml.safe_dump({"submission_1": {":submitters": [{":name": "Ada"}]}})
    files = {
        METADATA: meta,
        "submission_1/exercise2.py": "one\n",
        "submission_2/exercise2.py": "two\n",
        "notes.txt": "not a submission\n",
        ".DS_Store": "",
    }
    if packed == "zip":
        path = tmp_path / "export.zip"
        path.write_bytes(zip_bytes({f"export/{k}": v for k, v in files.items()}))
    else:
        path = tree(tmp_path / "export", files)
    got = by_name(discover(path, FILES)[0])
    assert sorted(got) == ["submission_1", "submission_2"]
    assert got["submission_2"].files["exercise2"] == b"two\n"
    assert [f["reason"] for f in got["submission_2"].review] == [
        "the export's submission_metadata.yml does not list the folder submission_2: graded "
        "without a name, email or SID; check in Gradescope whose submission it is"
    ]
    assert got["submission_1"].review == [] and got["submission_1"].student["name"] == "Ada"


@pytest.mark.parametrize(
    "entry",
    [{}, {":submitters": []}, {":submitters": "Ada"}, {":submitters": [{":name": ["Ada"]}]}],
    ids=["no_submitters", "empty", "not_a_list", "name_not_text"],
)
def test_a_listed_folder_whose_submitters_name_nobody_is_flagged(tmp_path, entry):
    """Its gradebook row had no name, email or SID, and it was not on the TA's list."""
    meta = yaml.safe_dump(
        {"submission_1": {":submitters": [{":name": "Ada"}]}, "submission_2": entry}
    )
    files = {
        METADATA: meta,
        "submission_1/exercise2.py": "one\n",
        "submission_2/exercise2.py": "2\n",
    }
    got = by_name(discover(tree(tmp_path / "export", files), FILES)[0])
    assert [f["reason"] for f in got["submission_2"].review] == [
        "the export's submission_metadata.yml names nobody for the folder submission_2 (its "
        "submitters are missing or not readable): graded without a name, email or SID; check in "
        "Gradescope whose submission it is"
    ]
    assert got["submission_1"].review == []


def test_a_group_member_the_metadata_names_unreadably_is_flagged_and_keeps_a_row(tmp_path):
    """A group of Ada and a submitter whose name, email and SID were all unreadable gave
    grades.csv a row with the folder's name alone, which no gradebook import matches, and
    the submission was on no list: Ada's name hid it. The row stays (the folder's name is
    Gradescope's submission id, where the TA finds who it is), and the TA is told."""
    meta = yaml.safe_dump(
        {
            "submission_1": {":submitters": [{":name": "Ada", ":sid": "1"}, {":name": ["Bob"]}]},
            "submission_2": {":submitters": [{":name": "Cy", ":sid": "2"}]},
        }
    )
    files = {METADATA: meta, "submission_1/exercise2.py": "1\n", "submission_2/exercise2.py": "2\n"}
    got = by_name(discover(tree(tmp_path / "export", files), FILES)[0])
    assert [f["reason"] for f in got["submission_1"].review] == [
        "the export's submission_metadata.yml gives a submitter of the 2 in the folder "
        "submission_1 no readable name, email or SID: grades.csv gives each such submitter a "
        "row holding only the folder's name; check in Gradescope who it is and fill in their "
        "email or SID"
    ]
    assert got["submission_2"].review == []
    results = [
        {"submission": s.name, "student": s.student, "score": 1, "max_score": 2, "items": []}
        for s in got.values()
    ]
    rows = list(csv.DictReader(io.StringIO(gradebook_csv(results))))
    assert [(r["name"], r["sid"], r["submission"]) for r in rows] == [
        ("Ada", "1", "submission_1"),
        ("", "", "submission_1"),
        ("Cy", "2", "submission_2"),
    ]


def test_a_gradescope_export_zip_is_read_from_its_one_top_folder(tmp_path):
    meta = yaml.safe_dump({"submission_1": {":submitters": [{":name": "Ada", ":email": "a@x"}]}})
    data = zip_bytes(
        {
            "assignment_1_export/" + METADATA: meta,
            "assignment_1_export/submission_1/exercise2.py": "a",
        }
    )
    (tmp_path / "export.zip").write_bytes(data)
    [sub], is_batch = discover(tmp_path / "export.zip", FILES)
    assert is_batch and sub.student == {
        "name": "Ada",
        "email": "a@x",
        "members": [{"name": "Ada", "email": "a@x"}],
    }
    assert sub.files["exercise2"] == b"a"


def test_a_name_holding_the_member_separator_never_makes_a_person_nobody_is(tmp_path):
    """Gradescope joins a group's names with "; " in one field; a name may hold "; " itself.
    The gradebook's rows come from the members one by one: one row per person, keys intact."""
    people = {
        "submission_1": [("Carl; Dan", "c@x", "3")],
        "submission_2": [("Alice; Eve", "a@x", "1"), ("Bo", "b@x", "2")],
    }
    meta = {
        sub: {":submitters": [{":name": n, ":email": e, ":sid": i} for n, e, i in who]}
        for sub, who in people.items()
    }
    files = {f"export/{sub}/exercise2.py": "a" for sub in people}
    (tmp_path / "export.zip").write_bytes(
        zip_bytes({"export/" + METADATA: yaml.safe_dump(meta), **files})
    )
    subs, _ = discover(tmp_path / "export.zip", FILES)
    results = [
        {"submission": s.name, "score": 1, "max_score": 2, "student": s.student} for s in subs
    ]
    rows = list(csv.DictReader(io.StringIO(gradebook_csv(results))))
    assert [(r["name"], r["email"], r["sid"]) for r in rows] == [
        who for sub in sorted(people) for who in people[sub]
    ]


# ---- one student's upload, graded on its own -----------------------------------------------------


def _uploads_posing_as_a_class(tmp_path: Path) -> dict[str, Path]:
    """A student's own uploads whose files make them read as a class: a metadata file of names
    they wrote (a classmate's listed with nothing), or files named as Canvas names a download's."""
    meta = {
        "submission_1": {":submitters": [{":name": "Mallory", ":sid": "2002"}]},
        "submission_2": {":submitters": [{":name": "Alice", ":sid": "1001"}]},
    }
    export = {METADATA: yaml.safe_dump(meta), "submission_1/exercise2.py": "m\n"}
    canvas = {"mallory_2002_5001_exercise2.py": "m\n", "alice_1001_5002_exercise2.py": "a\n"}
    (tmp_path / "export.zip").write_bytes(zip_bytes(export))
    (tmp_path / "canvas.zip").write_bytes(zip_bytes(canvas))
    return {
        "export.zip": tmp_path / "export.zip",
        "export folder": tree(tmp_path / "export", export),
        "canvas.zip": tmp_path / "canvas.zip",
        "canvas folder": tree(tmp_path / "canvas", canvas),
    }


def test_what_an_input_is_read_as_is_said(tmp_path):
    """`grader grade` starts its summary with these words: a TA sees a student's upload read as
    a class before its rows reach the gradebook."""
    uploads = _uploads_posing_as_a_class(tmp_path)
    said = {k: find(p, FILES).described() for k, p in uploads.items()}
    # names and ids read from the input itself
    hint = " (if it is one student's upload, grade it with --one)"
    assert said == {
        "export.zip": "a Gradescope export: 2 submissions" + hint,
        "export folder": "a Gradescope export: 2 submissions" + hint,
        "canvas.zip": "a Canvas download: 2 submissions" + hint,
        "canvas folder": "a Canvas download: 2 submissions" + hint,
    }
    ada = tree(tmp_path / "class", {"ada/exercise2.py": "a\n", "bo/exercise2.py": "b\n"})
    assert find(ada, FILES).described() == "a folder of submissions: 2 submissions"
    assert find(ada / "ada", FILES).described() == "one submission"


def test_an_upload_given_as_one_is_read_as_one_whatever_it_holds(tmp_path):
    """With `one` (`grader grade --one`) no file of the upload chooses how it is read: one
    submission named after PATH, no submitters from its metadata, no classmate's row."""
    for label, path in _uploads_posing_as_a_class(tmp_path).items():
        found = find(path, FILES, one=True)
        assert not found.is_batch and found.described() == "one submission", label
        [sub] = found.subs
        assert sub.name == path.stem and sub.student == {}, label
    export = find(tmp_path / "export.zip", FILES, one=True).subs[0]
    assert export.files["exercise2"] == b"m\n"


# ---- bounded resources -------------------------------------------------------------------------


def test_nothing_is_written_to_disk_while_reading(tmp_path, monkeypatch):
    """Zips inside uploads are read into anonymous files: the temporary folder stays empty."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(scratch))
    big = os.urandom(9 * MiB)  # past the 8 MiB kept in memory: spilled to an anonymous file
    inner = zip_bytes({"exercise2.py": "inner\n", "data.bin": big})
    root = tree(tmp_path / "class", {"ada/exercise1.py": "a\n", "ada/work.zip": inner})
    (root / "bob.zip").write_bytes(zip_bytes({"hw/work.zip": inner}))
    subs, _ = discover(root, FILES)
    assert [s.files["exercise2"] for s in subs] == [b"inner\n", b"inner\n"]
    assert list(scratch.iterdir()) == []


def test_a_zip_of_huge_zips_is_refused_within_the_byte_budget(tmp_path):
    """The issue's bomb: a 1 MB zip of five 199 MB zips. None is decompressed."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:  # a 199 MB zip, stored
        z.writestr("zeros.bin", bytes(199 * MiB))
    zeros = buf.getvalue()
    outer = zip_bytes({f"part{i}.zip": zeros for i in range(5)})
    assert len(outer) < 2 * MiB
    root = tree(tmp_path / "class", {"ada/exercise2.py": "a\n"})
    (root / "mal.zip").write_bytes(outer)
    subs, _ = discover(root, FILES)
    mal = by_name(subs)["mal"]
    assert mal.files == dict.fromkeys(FILES)
    assert "did not open part0.zip: it would take the upload past 64 MiB unpacked" in mal.notes
    assert by_name(subs)["ada"].files["exercise2"] == b"a\n"


def test_entry_count_and_depth_are_capped_and_configurable(tmp_path):
    files = {f"junk/{i:04}.txt": "" for i in range(40)}
    files["a/b/c/d/e/exercise3.py"] = "deep\n"
    root = tree(tmp_path / "s", {"exercise1.py": "x\n", **files})
    [sub], _ = discover(root, FILES, limits=UploadLimits(entries=20))
    assert any("more than 20 files and folders" in n for n in sub.notes)
    assert sub.files["exercise1"] == b"x\n"  # shallowest first: the top is always seen
    [sub], _ = discover(root, FILES, limits=UploadLimits(depth=3))
    assert sub.files["exercise3"] is None
    assert any("nested more than 3 levels deep" in n for n in sub.notes)
    [sub], _ = discover(root, FILES)
    assert sub.files["exercise3"] == b"deep\n"


def test_an_upload_past_the_entry_limit_says_what_was_looked_at_not_where_the_rest_begins(
    tmp_path,
):
    """A folder is listed in the file system's order, only as far as the limit: the note said
    "the rest (from 0007.txt) was not looked at" of an upload whose exercise1.py, sorting
    before it, had never been listed either."""
    files = {f"{i:04}.txt": "" for i in range(30)} | {"exercise1.py": "x\n"}
    root = tree(tmp_path / "s", files)
    [sub], _ = discover(root, FILES, limits=UploadLimits(entries=8))
    (said,) = [n for n in sub.notes if "more than 8 files and folders" in n]
    assert "the first 8 it lists were looked at and the rest (" in said, said
    assert "among them) not" in said and "(from " not in said, said


def test_a_zip_declaring_too_many_entries_is_not_parsed(tmp_path):
    data = zip_bytes({f"f{i}.txt": "" for i in range(30)} | {"exercise1.py": "x"})
    root = tree(tmp_path / "class", {"ada/exercise1.py": "a\n"})
    (root / "mal.zip").write_bytes(data)
    subs, _ = discover(root, FILES, limits=UploadLimits(entries=10))
    assert "mal.zip holds 31 entries, more than the 10" in notes(by_name(subs)["mal"])
    assert by_name(subs)["ada"].files["exercise1"] == b"a\n"


def test_a_file_over_the_size_cap_is_not_graded_and_says_why(tmp_path):
    root = tree(tmp_path / "s", {"exercise1.py": "x" * 2000, "exercise2.py": "ok\n"})
    [sub], _ = discover(root, FILES, limits=UploadLimits(file_bytes=1000))
    assert sub.files["exercise1"] is None
    why = (
        "too large: exercise1.py is over 1000 bytes and was not graded (keep only your code in it)"
    )
    assert sub.absent["exercise1"] == why


def test_bad_inputs_name_the_problem(tmp_path):
    from grader.submissions import SubmissionError

    with pytest.raises(SubmissionError, match="does not exist"):
        discover(tmp_path / "nope", FILES)
    (tmp_path / "x.zip").write_text("hi")
    with pytest.raises(SubmissionError, match="not a readable zip"):
        discover(tmp_path / "x.zip", FILES)
    # One student's file given on its own: not "a download cut short", but the fix.
    (tmp_path / "alice").mkdir()
    (tmp_path / "alice" / "exercise2.py").write_text(solution("exercise2"))
    for name in ("alice/exercise2.py", "x.txt"):
        (tmp_path / "x.txt").write_text("hi")
        with pytest.raises(SubmissionError) as e:
            discover(tmp_path / name, FILES)
        said = str(e.value)
        assert "is a single file, not a submission" in said and "cut short" not in said
        assert f"grader grade {(tmp_path / name).parent} --one" in said
    os.mkfifo(tmp_path / "f.zip")
    with pytest.raises(SubmissionError, match="FIFO"):
        discover(tmp_path / "f.zip", FILES)


def test_limits_are_set_from_the_command_line(tmp_path, monkeypatch):
    """A mistyped limit is refused before OUT is made and before the sandbox starts: it was
    read after both, and left an empty OUT (`reports/` in the current folder) and a zygote
    waiting for a grader that never came (in a test process, the next test's `prestart(2)`
    found it there and launched none of its own)."""
    from click.testing import CliRunner

    from grader import cli

    limits = UploadLimits.parse(["bytes=128MiB", "entries=20000", "depth=3", "file_bytes=2KiB"])
    assert limits == UploadLimits(file_bytes=2048, bytes=128 * MiB, entries=20_000, depth=3)
    for bad in ("bytes=lots", "inodes=5", "depth=0", "entries"):
        with pytest.raises(ValueError, match="give NAME=N"):
            UploadLimits.parse([bad])
    started = []
    monkeypatch.setattr(cli, "_prestart_sandbox", lambda *a, **k: started.append(a))
    out = tmp_path / "course" / "reports"
    args = ["grade", str(tmp_path), "--out", str(out), "--upload-limit", "bytes=3x"]
    result = CliRunner().invoke(cli.main, args)
    assert result.exit_code == 2 and "--upload-limit" in result.output
    assert not (tmp_path / "course").exists() and started == []


def test_limits_hold_for_each_student_of_an_export_zip(tmp_path):
    """An export is listed whole, once; each student's folder in it still has its own limits."""
    files = {"exp/" + METADATA: yaml.safe_dump({"s1": {}, "s2": {}}), "exp/s1/exercise1.py": "a"}
    files |= {f"exp/s2/junk/{i}.txt": "" for i in range(30)}
    files |= {"exp/s2/a/b/c/d/exercise2.py": "deep", "exp/s2/exercise1.py": "b"}
    (tmp_path / "e.zip").write_bytes(zip_bytes(files))
    subs, _ = discover(tmp_path / "e.zip", FILES, limits=UploadLimits(entries=20, depth=3))
    s1, s2 = subs
    assert s1.files["exercise1"] == b"a" and s1.notes == []
    assert s2.files == {"exercise1": b"b", "exercise2": None, "exercise3": None}
    assert any("more than 20 files and folders" in n for n in s2.notes)
    subs, _ = discover(tmp_path / "e.zip", FILES, limits=UploadLimits(depth=3))
    assert subs[1].files["exercise2"] is None
    assert any("nested more than 3 levels deep" in n for n in subs[1].notes)
    subs, _ = discover(tmp_path / "e.zip", FILES)
    assert subs[1].files["exercise2"] == b"deep"


def utf8_flag_on_a_name_that_is_not(data: bytes, name: bytes, bad: bytes) -> bytes:
    """The zip `data` with `name` replaced by `bad` (same length) and every central entry
    flagged as holding UTF-8 names (bit 11)."""
    out = bytearray(data.replace(name, bad))
    at = out.find(b"PK\x01\x02")
    while at >= 0:
        out[at + 8 : at + 10] = (int.from_bytes(out[at + 8 : at + 10], "little") | 0x800).to_bytes(
            2, "little"
        )
        at = out.find(b"PK\x01\x02", at + 4)
    return bytes(out)


@pytest.mark.parametrize("alone", [True, False])
def test_a_zip_with_a_name_falsely_marked_utf8_says_so_in_words_not_the_codec_s(tmp_path, alone):
    """Python's zipfile refuses the whole zip; the note quoted its codec ("'utf-8' codec can't
    decode byte 0xff in position 4: invalid start byte") and said nothing of what to do."""
    zipped = utf8_flag_on_a_name_that_is_not(
        zip_bytes({"exercise1.py": "x = 1\n", "NAMEX.txt": "y"}), b"NAMEX", b"NAME\xff"
    )
    beside = {} if alone else {"exercise2.py": "y = 2\n"}
    root = tree(tmp_path / "s", {"hw.zip": zipped, **beside})
    [sub], _ = discover(root, FILES)
    said = notes(sub) + " | " + " | ".join(sub.absent.values())
    assert "codec" not in said
    assert "hw.zip is not a readable zip: its listing marks a file name as UTF-8" in said
    assert "zip the files again" in said


def test_a_zip_lying_about_its_entry_count_is_still_capped(tmp_path):
    data = bytearray(zip_bytes({f"f{i}.txt": "" for i in range(30)} | {"exercise1.py": "x"}))
    at = data.rfind(b"PK\x05\x06")
    data[at + 8 : at + 12] = (1).to_bytes(2, "little") * 2  # "one entry"
    root = tree(tmp_path / "class", {"ada/exercise1.py": "a\n"})
    (root / "mal.zip").write_bytes(bytes(data))
    subs, _ = discover(root, FILES, limits=UploadLimits(entries=10))
    assert "more than the 10 the grader reads" in notes(by_name(subs)["mal"])


def test_a_zip_lying_about_its_entry_count_is_refused_before_it_is_parsed(tmp_path, monkeypatch):
    """zipfile reads a listing by its bytes, whatever count the end record declares, and builds
    an object for each entry: a zip given as PATH declaring one entry and listing a million
    one-letter names (47 MB; the listing bytes allowed there hold four million) cost the grader
    15 s and 630 MB before the entry limit refused it. Its entries are counted first, never
    more than the limit and one, and the zip is refused unparsed."""
    data = bytearray(zip_bytes({f"{i}": "" for i in range(1_500)}))
    at = data.rfind(b"PK\x05\x06")
    data[at + 8 : at + 12] = (1).to_bytes(2, "little") * 2  # "one entry"
    root = tree(tmp_path / "class", {"ada/exercise1.py": "a\n"})
    (root / "mal.zip").write_bytes(bytes(data))
    parsed: list[int] = []
    real = zipfile.ZipFile._RealGetContents

    def counting(self) -> None:
        real(self)
        parsed.append(len(self.filelist))

    monkeypatch.setattr(zipfile.ZipFile, "_RealGetContents", counting)
    subs, _ = discover(root, FILES, limits=UploadLimits(entries=100))  # 100 KiB of listing
    assert "mal.zip holds more than 100 entries, more than the 100 the grader reads" in notes(
        by_name(subs)["mal"]
    )
    assert parsed == []  # never built
    assert uploads.listed_entries(io.BytesIO(bytes(data)), 100) == 101  # counted that far
    assert uploads.listed_entries(io.BytesIO(bytes(data)), 10_000) == 1_500


def test_a_zip_refused_for_the_size_of_its_listing_says_so_not_a_false_count(tmp_path):
    """A zip of a few entries with names of thousands of characters is refused for its
    listing's bytes: it was said to hold "8 entries, more than the 10 the grader reads"."""
    names = {f"{i}" + "n" * 2_000 + ".txt": "" for i in range(8)}
    root = tree(tmp_path / "class", {"ada/exercise1.py": "a\n", "mal.zip": zip_bytes(names)})
    subs, _ = discover(root, FILES, limits=UploadLimits(entries=10))
    said = notes(by_name(subs)["mal"])
    assert "more than the 10 the grader reads" not in said
    assert "mal.zip lists its 8 entries in 16.0234 KiB, more than the 10 KiB the grader" in said
    assert "zip only your exercise files, under their own names" in said


def test_another_kind_of_exercise_file_is_one_entry_in_readers(tmp_path, monkeypatch):
    """How a notebook reader plugs in: a suffix and a function; a .py still wins beside it."""
    from grader import choosing

    monkeypatch.setitem(choosing.READERS, ".ipynb", lambda data: b"# from a notebook\n")
    root = tree(tmp_path / "s", {"exercise1.ipynb": "{}", "exercise1.py": "py\n"})
    tree(root, {"exercise2 (1).ipynb": "{}"})
    [sub], _ = discover(root, FILES)
    assert sub.files["exercise1"] == b"py\n"
    assert sub.files["exercise2"] == b"# from a notebook\n"
    assert "graded exercise2 (1).ipynb as exercise2.ipynb" in sub.notes


def test_the_batch_s_results_folder_is_no_one_s_submission(tmp_path):
    """`grader grade submissions --out submissions/reports`: the results are not a student."""
    (tmp_path / "ada").mkdir()
    (tmp_path / "ada" / "exercise1.py").write_text(solution("exercise1"))
    (tmp_path / "reports" / "ada").mkdir(parents=True)
    (tmp_path / "reports" / "ada" / "result.json").write_text("{}")
    files = ("exercise1", "exercise2", "exercise3")
    assert [s.name for s in find(tmp_path, files).subs] == ["ada", "reports"]
    assert [s.name for s in find(tmp_path, files, leave_out=tmp_path / "reports").subs] == ["ada"]
    elsewhere = find(tmp_path, files, leave_out=tmp_path / "ada" / "reports").subs
    assert [s.name for s in elsewhere] == ["ada", "reports"]


def test_a_class_zip_is_read_in_name_order_as_a_folder_is(tmp_path):
    """A class zip's rows came in the order its maker added them (bob, carol, alice)."""
    whole = tmp_path / "class.zip"
    with zipfile.ZipFile(whole, "w") as z:
        for name in ("bob", "carol", "alice"):
            z.writestr(f"{name}/exercise1.py", solution("exercise1"))
    files = ("exercise1", "exercise2", "exercise3")
    assert [s.name for s in find(whole, files).subs] == ["alice", "bob", "carol"]


def test_an_upload_nothing_could_be_read_from_is_on_the_tas_list_saying_why(tmp_path):
    """A class's zip cut short, or a link where an upload belongs, scored 0 with "no exercise
    files found" as the TA's only word of it, as of a student who uploaded nothing: the
    reason was in the report's notes alone."""
    (tmp_path / "class" / "ada").mkdir(parents=True)
    (tmp_path / "class" / "ada" / "exercise1.py").write_text(solution("exercise1"))
    (tmp_path / "class" / "zed.zip").write_bytes(b"PK\x03\x04 cut short")
    (tmp_path / "class" / "lin").symlink_to(tmp_path / "class" / "ada")
    got = {s.name: s for s in find(tmp_path / "class", ("exercise1", "exercise2")).subs}
    assert got["ada"].review == []
    (zed,) = got["zed"].review
    assert zed["flag"] == "download"
    assert zed["reason"].startswith("zed.zip is not a readable zip: it has no end record")
    assert zed["reason"].endswith(
        "(its 0 grades nothing the student handed in): get the upload again and grade again"
    )
    (lin,) = got["lin"].review
    assert lin["reason"].startswith("lin is a symbolic link, not a folder or a zip: skipped")


def test_an_upload_named_as_a_browsers_second_download_of_another_is_flagged(tmp_path):
    """`carol (1).zip` beside `carol.zip` (one file downloaded twice by a TA collecting a class
    by hand) made two students' rows in grades.csv without a word. Both are on the TA's list;
    a name with a number of its own beside no such twin is not."""
    hw = zip_bytes({"exercise1.py": solution("exercise1")})
    root = tmp_path / "class"
    root.mkdir()
    for name in ("carol.zip", "Carol (1).zip", "team (2).zip", "dan(3).zip"):
        (root / name).write_bytes(hw)
    got = {s.name: s for s in find(root, FILES).subs}
    said = "Carol (1) and carol read as two students' uploads, but (1) is how a browser names"
    for name in ("carol", "Carol (1)"):
        (flag,) = got[name].review
        assert flag["flag"] == "download" and flag["reason"].startswith(said)
    assert got["team (2)"].review == [] and got["dan(3)"].review == []


def test_uploads_read_under_one_name_each_say_which_they_are(tmp_path):
    """A folder `carol/` beside an upload `carol.zip` became the rows carol and carol (2), and
    nothing said which was the folder and which the zip. Each row's note, its line on the TA's
    list (summary.json's attention, which summary.html's row and the terminal show) and its
    report name what it was read from."""
    root = tree(tmp_path / "class", {"carol/exercise2.py": solution("exercise2")})
    (root / "carol.zip").write_bytes(zip_bytes({"exercise2.py": "def dlogits(): pass\n"}))
    out = tmp_path / "o"
    batch = grade_batch(root, out, progress=False)
    got = {r["submission"]: r for r in batch}
    assert set(got) == {"carol", "carol (2)"}
    said = {
        "carol": ("the folder carol/", "the zip carol.zip (graded as carol (2))"),
        "carol (2)": ("the zip carol.zip", "the folder carol/ (graded as carol)"),
    }
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    for row, (this, other) in said.items():
        note = f"read from {this} and graded as {row}: {other} has its name"
        assert note in got[row]["student"]["notes"]
        (flag,) = [f for f in got[row]["review"] if f["flag"] == "download"]
        assert flag["reason"].startswith(f"this row is {this}; {other} has its name")
        (student,) = [st for st in summary["students"] if st["submission"] == row]
        assert any(a.startswith(f"this row is {this};") for a in student["attention"])
        html = (out / row / "report.html").read_text(encoding="utf-8")
        assert this in html and other in html


def test_a_zip_cut_short_is_named_once_and_says_what_it_lacks(tmp_path):
    (tmp_path / "class" / "ada").mkdir(parents=True)
    (tmp_path / "class" / "ada" / "exercise1.py").write_text(solution("exercise1"))
    (tmp_path / "class" / "zed.zip").write_bytes(b"PK\x03\x04 cut short")
    files = ("exercise1", "exercise2", "exercise3")
    zed = next(s for s in find(tmp_path / "class", files).subs if s.name == "zed")
    assert any(
        n.startswith("zed.zip is not a readable zip: it has no end record") for n in zed.notes
    )
    with pytest.raises(SubmissionError) as e:
        find(tmp_path / "class" / "zed.zip", files)
    assert str(e.value).count("not a readable zip") == 1 and "no end record" in str(e.value)


def test_each_zip_cut_short_inside_an_upload_is_named(tmp_path):
    """Two broken zips in one upload gave two identical notes, neither saying which zip."""
    upload = tmp_path / "ada"
    (upload / "old").mkdir(parents=True)
    (upload / "exercise1.py").write_text(solution("exercise1"))
    (upload / "hw.zip").write_bytes(b"PK\x03\x04 cut short")
    (upload / "old" / "hw.zip").write_bytes(b"PK\x05\x06")
    (sub,) = find(upload, ("exercise1", "exercise2", "exercise3"), one=True).subs
    broken = sorted(n for n in sub.notes if "not a readable zip" in n)
    assert [n.split(" is not a readable zip: ")[0] for n in broken] == ["hw.zip", "old/hw.zip"]


def test_the_default_cap_keeps_a_file_of_calls_from_the_grader_s_parser(tmp_path):
    """Python's parser takes ~750 MB for 1 MiB of `f()` lines, in the grader's own process (the
    static scan, the notebook reader), where no student limit holds. A file is capped at 256
    KiB by default (25x the lecture's largest), and the note says so in a student's units."""
    assert UploadLimits().file_bytes == 256 * 1024
    calls = "f()\n" * (UploadLimits().file_bytes // 4 + 1)
    root = tree(tmp_path / "s", {"exercise1.py": calls, "exercise2.py": "ok\n"})
    [sub], _ = discover(root, FILES)
    assert sub.files["exercise1"] is None
    assert sub.absent["exercise1"].startswith("too large: exercise1.py is over 256 KiB and was")


def test_a_group_given_by_alias_to_many_folders_is_joined_once(tmp_path):
    """A student's own metadata (their upload graded without --one) naming one aliased group of
    100 people, each field 1,000 characters, for every folder: each folder held its own joined
    copy of the group's 300,000 characters."""
    export = tree(tmp_path / "export", {f"s{i}/exercise2.py": "x\n" for i in range(300)})
    text = "x" * MAX_FIELD_CHARS
    person = f"&p {{':name': {text}, ':email': {text}, ':sid': {text}}}"
    group = "&g [" + ", ".join([person] + ["*p"] * (MAX_MEMBERS - 1)) + "]"
    lines = [f"s0: {{':submitters': {group}}}"]
    lines += [f"s{i}: {{':submitters': *g}}" for i in range(1, 300)]
    (export / METADATA).write_text("\n".join(lines) + "\n")
    tracemalloc.start()
    try:
        subs = discover(export, FILES)[0]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(subs) == 300 and all(len(s.student["name"]) > 100_000 for s in subs)
    assert peak < 20 * MiB, f"{peak / MiB:.0f} MiB at the peak"
