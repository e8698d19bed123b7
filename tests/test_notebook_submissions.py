"""Finding the notebook in a submission: any name, in a folder, a zip or a Gradescope export.

When there is a choice (two notebooks, a notebook and .py files) the submission's notes say
which was graded and why; a broken notebook is a note, never a crash.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest
from conftest import STUBS, discover, solution
from notebooks import code, lecture_notebook, markdown, save

from grader import notebook, notebook_file, notebook_json

FILES = ("exercise1", "exercise2", "exercise3")
COLAB_NAME = "Copy of backprop_ninja.ipynb"


def solved_notebook() -> bytes:
    return lecture_notebook({f: solution(f) for f in FILES}, "colab")


def stub_notebook() -> bytes:
    return (STUBS / "backprop_ninja.ipynb").read_bytes()


def one(path: Path, tmp_path: Path, **door):
    subs, batch = discover(path, FILES, **door)
    assert not batch and len(subs) == 1
    return subs[0]


def assert_from_notebook(sub, name=COLAB_NAME) -> None:
    assert all(sub.files[f] is not None for f in FILES), sub.notes
    assert b"Read by the grader from the notebook" in sub.files["exercise1"]
    assert sub.notebook["graded"] == name and sub.notebook["implemented"] == 29
    assert any(n.startswith(f"graded the notebook {name}") for n in sub.notes)


def test_a_folder_holding_one_notebook_under_any_name(tmp_path):
    folder = tmp_path / "alice"
    folder.mkdir()
    (folder / COLAB_NAME).write_bytes(solved_notebook())
    assert_from_notebook(one(folder, tmp_path))


def test_a_notebook_given_on_its_own(tmp_path):
    path = tmp_path / COLAB_NAME
    path.write_bytes(solved_notebook())
    assert_from_notebook(one(path, tmp_path))


def test_a_zip_of_a_folder_with_the_notebook_inside(tmp_path):
    path = tmp_path / "alice.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(f"work/{COLAB_NAME}", solved_notebook())
        z.writestr(f"work/.ipynb_checkpoints/{COLAB_NAME}", stub_notebook())
    assert_from_notebook(one(path, tmp_path))


def test_a_gradescope_export_of_notebooks(tmp_path):
    root = tmp_path / "export"
    (root / "submission_1").mkdir(parents=True)
    (root / "submission_2").mkdir()
    (root / "submission_1" / COLAB_NAME).write_bytes(solved_notebook())
    (root / "submission_2" / "exercise1.py").write_text(solution("exercise1"))
    (root / "submission_metadata.yml").write_text(
        "submission_1:\n  :submitters:\n  - :name: Alice\n"
        "submission_2:\n  :submitters:\n  - :name: Bob\n"
    )
    subs, batch = discover(root, FILES)
    assert batch and [s.name for s in subs] == ["submission_1", "submission_2"]
    assert_from_notebook(subs[0])
    assert subs[1].notebook == {} and subs[1].files["exercise2"] is None


def test_a_folder_of_student_folders_each_with_a_notebook_is_a_batch(tmp_path):
    for name in ("alice", "bob"):
        (tmp_path / "class" / name).mkdir(parents=True)
        (tmp_path / "class" / name / f"{name}.ipynb").write_bytes(solved_notebook())
    subs, batch = discover(tmp_path / "class", FILES)
    assert batch and [s.name for s in subs] == ["alice", "bob"]
    assert all(s.notebook["implemented"] == 29 for s in subs)


def test_two_notebooks_the_one_with_more_work_is_graded_and_the_note_names_both(tmp_path):
    """A student's own folder (`grader check`): their copies of the notebook are one upload."""
    folder = tmp_path / "alice"
    folder.mkdir()
    (folder / "backprop_ninja.ipynb").write_bytes(stub_notebook())
    (folder / COLAB_NAME).write_bytes(solved_notebook())
    sub = one(folder, tmp_path, notebooks_are_students=False)
    assert_from_notebook(sub)
    (note,) = [n for n in sub.notes if n.startswith("found 2 notebooks")]
    assert f"graded {COLAB_NAME}" in note and "not graded: backprop_ninja.ipynb" in note


def test_two_notebooks_beside_py_files_with_work_are_not_said_graded(tmp_path):
    """The .py files holding work are graded: the notes said "found 2 notebooks; graded
    Copy of backprop_ninja.ipynb ..." above "graded your .py files ..., not the notebook Copy
    of backprop_ninja.ipynb"; only the second is true (and the student's check says it alone)."""
    folder = tmp_path / "alice"
    folder.mkdir()
    (folder / "backprop_ninja.ipynb").write_bytes(stub_notebook())
    (folder / COLAB_NAME).write_bytes(solved_notebook())
    (folder / "exercise1.py").write_text(solution("exercise1"))
    sub = one(folder, tmp_path, notebooks_are_students=False)
    assert (
        sub.notebook["graded"] is None and sub.files["exercise1"] == solution("exercise1").encode()
    )
    assert not [n for n in sub.notes if n.startswith("found 2 notebooks")], sub.notes
    assert [
        n
        for n in sub.notes
        if n.startswith(f"graded your .py files (exercise1.py), not the notebook {COLAB_NAME}")
    ]


def test_notebooks_of_one_name_in_other_folders_are_told_apart_by_their_place(tmp_path):
    """Gradescope keeps an upload's folders: a student who uploaded the stub notebook and their
    finished copy in a folder was told "graded backprop_ninja.ipynb ...; not graded:
    backprop_ninja.ipynb", and could not tell which one had counted; the note on what was read
    ("graded the notebook ...") and result.json's record name the place too."""
    folder = tmp_path / "submission"
    (folder / "final").mkdir(parents=True)
    (folder / "backprop_ninja.ipynb").write_bytes(stub_notebook())
    (folder / "final" / "backprop_ninja.ipynb").write_bytes(solved_notebook())
    sub = one(folder, tmp_path, notebooks_are_students=False)
    assert_from_notebook(sub, "final/backprop_ninja.ipynb")
    (note,) = [n for n in sub.notes if n.startswith("found 2 notebooks")]
    assert "graded final/backprop_ninja.ipynb," in note
    assert note.endswith("not graded: backprop_ninja.ipynb. Submit one notebook.")


def test_notebooks_tied_on_work_with_other_code_put_the_upload_on_the_ta_s_list(tmp_path):
    """Three notebooks, two of them implementing all 29 functions with different code: the
    first by name was graded, said to implement "the most", off the TA's list. A copy of the
    same code is no rival; a stub is no rival either."""
    folder = tmp_path / "tri"
    folder.mkdir()
    other = {f: solution(f) for f in FILES}
    other["exercise2"] = other["exercise2"].replace("    dlogits /= n\n", "", 1)
    (folder / COLAB_NAME).write_bytes(solved_notebook())
    (folder / "backprop_ninja (1).ipynb").write_bytes(lecture_notebook(other, "colab"))
    (folder / "backprop_ninja.ipynb").write_bytes(stub_notebook())
    sub = one(folder, tmp_path, notebooks_are_students=False)
    assert_from_notebook(sub)
    (note,) = [n for n in sub.notes if n.startswith("found 3 notebooks")]
    assert f"graded {COLAB_NAME}, first by name of those implementing the most (29)" in note
    (flag,) = sub.review
    assert flag["flag"] == "notebook"
    assert flag["reason"].startswith(
        f"graded the notebook {COLAB_NAME}, chosen by its name alone: backprop_ninja (1).ipynb "
        "implements as many gradient functions (29) with other code"
    )
    (folder / "backprop_ninja (1).ipynb").write_bytes(solved_notebook())  # the same code
    sub = one(folder, tmp_path, notebooks_are_students=False)
    assert sub.review == []
    assert any("which implements the most gradient functions (29)" in n for n in sub.notes)


def test_tied_notebooks_beside_py_files_with_work_are_not_said_to_be_graded(tmp_path):
    """Two notebooks implementing all 29 functions with other code, beside an exercise1.py
    holding work: the .py files are graded, yet the TA's flag said "graded the notebook
    Copy of backprop_ninja.ipynb, chosen by its name alone"."""
    folder = tmp_path / "tied"
    folder.mkdir()
    other = {f: solution(f) for f in FILES}
    other["exercise2"] = other["exercise2"].replace("    dlogits /= n\n", "", 1)
    (folder / COLAB_NAME).write_bytes(solved_notebook())
    (folder / "backprop_ninja (1).ipynb").write_bytes(lecture_notebook(other, "colab"))
    (folder / "exercise1.py").write_text(solution("exercise1"))
    sub = one(folder, tmp_path, notebooks_are_students=False)
    assert sub.notebook["graded"] is None
    rival, unread = sub.review
    assert not rival["reason"].startswith("graded the notebook"), rival
    assert rival["reason"].startswith(
        f"graded the .py files, not the notebooks; the notes name {COLAB_NAME}, chosen by its "
        "name alone: backprop_ninja (1).ipynb implements as many gradient functions (29) with "
        "other code"
    ), rival
    assert unread["reason"].startswith(f"the .py files were graded, not the notebook {COLAB_NAME}")


def test_a_notebook_beside_the_untouched_stubs_is_graded(tmp_path):
    folder = tmp_path / "backprop-ninja"
    folder.mkdir()
    for f in FILES:
        (folder / f"{f}.py").write_bytes((STUBS / f"{f}.py").read_bytes())
    (folder / "backprop_ninja.ipynb").write_bytes(solved_notebook())
    sub = one(folder, tmp_path)
    assert_from_notebook(sub, "backprop_ninja.ipynb")
    assert any("untouched stubs" in n for n in sub.notes)


def test_an_empty_py_file_beside_a_notebook_is_no_work_and_the_notebook_is_graded(tmp_path):
    folder = tmp_path / "alice"
    folder.mkdir()
    (folder / "exercise1.py").write_text("# nothing yet\n")
    (folder / COLAB_NAME).write_bytes(solved_notebook())
    assert_from_notebook(one(folder, tmp_path))


def test_py_files_with_work_in_them_win_over_a_notebook_and_the_note_says_so(tmp_path):
    folder = tmp_path / "alice"
    folder.mkdir()
    (folder / "exercise1.py").write_text(solution("exercise1"))
    (folder / COLAB_NAME).write_bytes(solved_notebook())
    sub = one(folder, tmp_path)
    assert sub.files["exercise1"] == solution("exercise1").encode()
    assert sub.files["exercise2"] is None
    assert any("graded your .py files (exercise1.py), not the notebook" in n for n in sub.notes)
    assert sub.notebook["graded"] is None


def test_a_notebook_with_work_the_graded_py_files_lack_is_on_the_ta_s_list(tmp_path):
    """Exercise 1 started in the bundle's exercise1.py, exercises 2 and 3 done in the notebook,
    the folder zipped whole: the .py files count, exercises 2 and 3 score 0 from the untouched
    stubs, and the submission was on no "needs a look" list."""
    folder = tmp_path / "carol"
    folder.mkdir()
    (folder / "exercise1.py").write_text(solution("exercise1"))
    for f in ("exercise2", "exercise3"):
        (folder / f"{f}.py").write_bytes((STUBS / f"{f}.py").read_bytes())
    (folder / COLAB_NAME).write_bytes(solved_notebook())
    sub = one(folder, tmp_path)
    assert sub.notebook["graded"] is None and sub.files["exercise1"] is not None
    (flag,) = sub.review
    assert flag["flag"] == "notebook"
    assert (
        f"not the notebook {COLAB_NAME}, which holds work for exercise2, exercise3"
        in (flag["reason"])
    )
    # .py files with work for every exercise the notebook has: nothing left unread, no flag
    for f in ("exercise2", "exercise3"):
        (folder / f"{f}.py").write_text(solution(f))
    assert one(folder, tmp_path).review == []


def test_a_broken_notebook_is_a_note_and_the_submission_still_comes_out(tmp_path):
    folder = tmp_path / "alice"
    folder.mkdir()
    (folder / COLAB_NAME).write_text("{ this is not json")
    sub = one(folder, tmp_path)
    assert all(v is None for v in sub.files.values())
    assert any("not valid JSON" in n for n in sub.notes)


def test_a_notebook_whose_cells_the_reading_fails_on_is_one_note_in_the_grader_and_the_check(
    tmp_path, monkeypatch
):
    """A reading of a notebook's cells that failed (ValueError) failed the whole upload in the
    grader ("could not be read (ValueError: ...)", its .py file with it), and the bundle's
    check read the notebook as none, unsaid: both now refuse the notebook alone, in the same
    words (notebook_json.cells_read, thirty-ninth session)."""
    from grader import notebook_instead
    from grader.backprop_ninja.student_check_driver import CHECK

    def failing(*args, **kwargs):
        raise ValueError("odd cells")

    for reader in (notebook_json, notebook_file, notebook_instead):  # wherever it is bound
        monkeypatch.setattr(reader, "read_cells", failing, raising=False)
    folder = tmp_path / "alice"
    folder.mkdir()
    (folder / "exercise1.py").write_text(solution("exercise1"))
    (folder / COLAB_NAME).write_bytes(solved_notebook())
    said = (
        f"{COLAB_NAME} could not be read as a notebook (ValueError: odd cells); open it in "
        "Jupyter or Colab, save it (nbformat 4), and submit it again"
    )
    sub = one(folder, tmp_path)
    assert sub.files["exercise1"] == solution("exercise1").encode()
    assert said in sub.notes, sub.notes
    checked = notebook_instead.notebook_notes(folder, CHECK.files, CHECK.functions)
    assert checked == [said]


def test_a_notebook_over_the_size_limit_is_told_to_clear_its_outputs(tmp_path, monkeypatch):
    """A notebook of plots past 64 MB ran into the upload's byte limit first, whose note told
    its student to "upload only your exercise files" (they have none): never why, nor the fix."""
    from grader import notebook_submissions
    from grader.uploads import UploadLimits

    data = solved_notebook()
    monkeypatch.setattr(notebook_file, "MAX_NOTEBOOK_BYTES", len(data) // 2)
    monkeypatch.setattr(notebook_submissions, "MAX_NOTEBOOK_BYTES", len(data) // 2)
    folder = tmp_path / "alice"
    folder.mkdir()
    (folder / COLAB_NAME).write_bytes(data)
    (sub,), _ = discover(folder, FILES, limits=UploadLimits(bytes=len(data) // 2))
    assert all(v is None for v in sub.files.values())
    (note,) = [n for n in sub.notes if COLAB_NAME in n and "no exercise files" not in n]
    assert "is larger than" in note and "Clear all outputs" in note
    assert "upload only your exercise files" not in note


@pytest.mark.parametrize(
    ("name", "student", "shown"),
    [
        ("carol.ipynb", "carol", "carol.ipynb"),
        ("carol_1003_2003_hw.ipynb", "carol (1003)", "hw.ipynb"),
    ],
    ids=["collected by hand", "a Canvas download"],
)
def test_a_notebook_over_the_size_limit_at_a_class_s_top_is_told_to_clear_its_outputs(
    tmp_path, name, student, shown
):
    """The entries at the top of a class folder were listed with no size, so a notebook there
    (a folder of notebooks collected by hand, a Canvas download) was read to the upload's byte
    limit and told "upload only your exercise files", not to clear its outputs."""
    root = tmp_path / "class"
    root.mkdir()
    (root / name.replace("carol", "alice").replace("1003_2003", "1001_2001")).write_bytes(
        solved_notebook()
    )
    with open(root / name, "wb") as f:  # sparse: no disk taken
        f.truncate(notebook_file.MAX_NOTEBOOK_BYTES + 1)
    subs, batch = discover(root, FILES)
    carol = {s.name: s for s in subs}[student]
    assert all(v is None for v in carol.files.values())
    (note,) = [n for n in carol.notes if "larger than" in n or "exceed" in n]
    assert note.startswith(f"{shown} is larger than") and "Clear all outputs" in note


def test_a_notebook_too_costly_to_parse_is_a_note_with_the_fix_not_a_stopped_batch(tmp_path):
    """12 MB of empty cells took the batch's own process to 2.4 GB before it was refused."""
    (tmp_path / "class" / "mallory").mkdir(parents=True)
    (tmp_path / "class" / "alice").mkdir()
    cells = b",".join([b"{}"] * (notebook_json.MAX_JSON_CONTAINERS + 1))
    (tmp_path / "class" / "mallory" / "hw.ipynb").write_bytes(b'{"cells": [' + cells + b"]}")
    (tmp_path / "class" / "alice" / "exercise1.py").write_text(solution("exercise1"))
    subs, batch = discover(tmp_path / "class", FILES)
    assert batch and [s.name for s in subs] == ["alice", "mallory"]
    assert subs[0].files["exercise1"] == solution("exercise1").encode()
    assert all(v is None for v in subs[1].files.values())
    assert any("too many parts" in n and "Clear all outputs" in n for n in subs[1].notes)


def test_the_code_read_is_bounded_for_all_of_a_submissions_notebooks_together(
    tmp_path, monkeypatch
):
    """Each notebook's code is read up to MAX_CODE_BYTES; twenty notebooks at that bound once
    cost the batch's process ~100 s. The bound is now the submission's, whatever it holds."""
    read = []
    real = notebook._select

    def counting(text, *args):
        read.append(len(text))
        return real(text, *args)

    monkeypatch.setattr(notebook, "_select", counting)
    folder = tmp_path / "alice"
    folder.mkdir()
    filler = "x = 1\n" * (notebook.MAX_CODE_BYTES // 2 // 6)
    for k in range(3):
        (folder / f"copy{k}.ipynb").write_bytes(save([code(filler)]))
    sub = one(folder, tmp_path, notebooks_are_students=False)  # as in a class, one student's
    assert 0 < sum(read) <= notebook.MAX_CODE_BYTES
    assert any(n.startswith("found 3 notebooks") for n in sub.notes)


def test_the_json_parsed_is_bounded_for_all_of_a_submissions_notebooks_together(
    tmp_path, monkeypatch
):
    """Each notebook within MAX_JSON_CONTAINERS alone was parsed and read cell by cell, before
    the shared allowance left its code unread: thirteen notebooks of 33,000 small cells (60 MB,
    a few hundred KB zipped) cost the grader's own process 11 s and 280 MB. The JSON parts
    parsed are now bounded for the submission, and a notebook past them is a note."""
    parsed = []
    real = notebook_json.read_cells  # the grader's and the check's reading of cells

    def counting(cells, *args):
        parsed.append(len(cells))
        return real(cells, *args)

    monkeypatch.setattr(notebook_json, "read_cells", counting)
    folder = tmp_path / "alice"
    folder.mkdir()
    cells = [code(f"x{k} = 1\n", count=None) for k in range(notebook_json.MAX_JSON_CONTAINERS // 5)]
    for k in range(3):
        (folder / f"copy{k}.ipynb").write_bytes(save(cells))
    sub = one(folder, tmp_path, notebooks_are_students=False)
    assert parsed == [len(cells)]  # the first read; the others, past the bound, not parsed
    refused = [n for n in sub.notes if "too many parts" in n]
    assert len(refused) == 2 and "with those read before it" in refused[0]


def test_a_notebook_without_gradient_functions_says_where_to_get_the_right_one(tmp_path):
    folder = tmp_path / "alice"
    folder.mkdir()
    cells = [code("import torch\n"), markdown("## Exercise 1\n"), code("dlogprobs = 1 / probs\n")]
    (folder / "makemore_part4_backprop.ipynb").write_bytes(save(cells))
    sub = one(folder, tmp_path)
    assert all(v is None for v in sub.files.values())
    assert any("backprop-ninja-student.zip" in n for n in sub.notes)


def exported_script(how: str) -> str:
    """A solved notebook saved as a script: by Jupyter (File > Save and Export As > Executable
    Script), by Colab (File > Download > Download .py) or by VS Code (Export > Python Script)."""
    body = "".join(solution(f) for f in FILES)
    if how == "vscode":
        return "# %%\nimport torch\n\n# %% [markdown]\n# ## Exercise 1\n\n# %%\n" + body
    if how == "jupyter":
        return (
            "#!/usr/bin/env python\n# coding: utf-8\n\n# # Becoming a Backprop Ninja\n\n"
            "# In[1]:\n\n\nget_ipython().system('pip install torch')\n\n\n# In[ ]:\n\n\n" + body
        )
    return (
        '# -*- coding: utf-8 -*-\n"""Copy of backprop_ninja.ipynb\n\nAutomatically generated by '
        "Colab.\n\nOriginal file is located at\n    https://colab.research.google.com/drive/1x\n"
        '"""\n\n!pip install torch\n\n' + body
    )


@pytest.mark.parametrize(
    "how, name, says",
    [
        ("jupyter", "backprop_ninja.py", "Jupyter's `# In[ ]:` cell marks"),
        ("colab", "copy_of_backprop_ninja.py", "Colab's Download .py"),
        ("vscode", "backprop_ninja.py", "`# %%` cell marks of VS Code's Export"),
    ],
)
def test_a_notebook_exported_as_a_script_says_to_submit_the_notebook(tmp_path, how, name, says):
    """The export holds every exercise under the notebook's name: it read as "no exercise files
    found" alone, in the grader and in the student's check.py, with no word of what to submit."""
    from grader.gradescope.run import load_submission
    from grader.local_check import exercise_sources

    folder = tmp_path / "class" / "alice"
    folder.mkdir(parents=True)
    (folder / name).write_text(exported_script(how))
    (folder / "helpers.py").write_text("def cmp(s, dt, t):\n    pass\n")  # no export: no note
    for other in ("bob", "carol"):
        (tmp_path / "class" / other).mkdir()
        (tmp_path / "class" / other / COLAB_NAME).write_bytes(solved_notebook())
    subs, _ = discover(tmp_path / "class", FILES)
    (sub,) = [s for s in subs if s.name == "alice"]
    assert all(v is None for v in sub.files.values())
    on_gradescope = load_submission(folder, FILES)
    _, check_notes, _ = exercise_sources(folder, FILES)
    for notes in (sub.notes, on_gradescope.notes, check_notes):
        (note,) = [n for n in notes if "exported as a Python script" in n]
        assert note.startswith(f"{name} is a notebook exported") and says in note
        assert "Download .ipynb" in note and "exercise1.py" in note


@pytest.mark.parametrize("how", ["jupyter", "colab", "vscode"])
def test_an_export_beside_the_bundle_s_untouched_files_is_named_too(tmp_path, how):
    """A student who worked in Colab and put its Download .py into the bundle's folder uploads
    the untouched stubs and notebook beside it (and check.py, train.py, ...): those were graded,
    0 points, and the export holding the work was never named, by the grader or by check.py."""
    from grader.gradescope.run import load_submission
    from grader.local_check import exercise_sources

    folder = tmp_path / "class" / "alice"
    folder.mkdir(parents=True)
    for stub in STUBS.iterdir():
        if stub.is_file():  # a checkout's own `__pycache__` is no file the bundle ships
            (folder / stub.name).write_bytes(stub.read_bytes())
    for name in ("check.py", "train.py", "a_helper.py"):  # the bundle's own .py files
        (folder / name).write_text("import torch\n")
    (folder / "hw.py").write_text(exported_script(how))
    (tmp_path / "class" / "bob").mkdir()
    (tmp_path / "class" / "bob" / COLAB_NAME).write_bytes(solved_notebook())
    subs, _ = discover(tmp_path / "class", FILES)
    (sub,) = [s for s in subs if s.name == "alice"]
    on_gradescope = load_submission(folder, FILES)
    _, check_notes, _ = exercise_sources(folder, FILES)
    for notes in (sub.notes, on_gradescope.notes, check_notes):
        if how == "vscode":  # `# %%` cells may be a scratch file: said to be ungraded
            (note,) = [n for n in notes if n.startswith("hw.py is not graded")]
            assert "`# %%` cell marks" in note and "submit that notebook instead" in note
            continue
        (note,) = [n for n in notes if "exported as a Python script" in n]
        assert note.startswith("hw.py is a notebook exported") and "Download .ipynb" in note
    # Graded 0 on the stubs: the TA, grading after the deadline, sees it on the list.
    for review in (sub.review, on_gradescope.review):
        (flag,) = review
        assert flag["flag"] == "stub_graded" and "hw.py" in flag["reason"], review


def test_a_scratch_file_of_cells_beside_exercise_files_is_not_called_a_notebook_s_export(tmp_path):
    """A student's own `# %%` script (VS Code's interactive window) beside their exercise files
    was called "a notebook exported as a Python script ..., submit the notebook itself", of a
    file no notebook made and beside the work it should be graded on; it is now said to be
    ungraded and where its functions go, in the grader, on Gradescope and in check.py alike.
    Alone, it is still named as an export, with what to submit."""
    from grader.gradescope.run import load_submission
    from grader.local_check import exercise_sources

    folder = tmp_path / "alice"
    folder.mkdir()
    for f in FILES:
        (folder / f"{f}.py").write_text(solution(f))
    (folder / "scratch.py").write_text("# %%\nimport torch\n\n# %%\nx = torch.ones(3)\n")
    said = (
        "scratch.py is not graded: it has `# %%` cell marks (a notebook's Export in VS Code, or "
        "a script of cells run there), and the grader reads only exercise1.py, exercise2.py, "
        "exercise3.py: put any function of it you want graded in those files (or, if it is a "
        "notebook's export, submit that notebook instead)"
    )
    sub = one(folder, tmp_path)
    _, check_notes, _ = exercise_sources(folder, FILES)
    for notes in (sub.notes, load_submission(folder, FILES).notes, check_notes):
        assert said in notes, notes
        assert not [n for n in notes if "exported as a Python script" in n], notes
    assert sub.review == []


def test_an_export_beside_exercise_files_holding_work_is_no_flag(tmp_path):
    folder = tmp_path / "alice"
    folder.mkdir()
    for f in FILES:
        (folder / f"{f}.py").write_text(solution(f))
    (folder / "backprop_ninja.py").write_text(exported_script("colab"))
    sub = one(folder, tmp_path)
    assert [n for n in sub.notes if "exported as a Python script" in n] and sub.review == []


@pytest.mark.parametrize("how", ["jupyter", "colab"])
def test_an_export_of_the_bundle_s_notebook_renamed_as_an_exercise_is_said_to_be_one(tmp_path, how):
    """The bundle's notebook carries the check's code and the census names, so its export is
    over the 256 KiB an exercise file may hold: renamed exercise1.py, it read only "too large
    ... (keep only your code in it)", which never said that it is a notebook's export."""
    from grader.local_check import exercise_sources

    folder = tmp_path / "alice"
    folder.mkdir()
    names = f"_NAMES = {'aaron abbey ' * 30_000!r}\n"  # the setup cell's census names
    (folder / "exercise1.py").write_text(exported_script(how) + names)
    sub = one(folder, tmp_path)
    _, _, check_absent = exercise_sources(folder, FILES)
    for why in (sub.absent["exercise1"], check_absent["exercise1"]):
        assert why.startswith("too large: exercise1.py is a notebook exported as a Python script")
        assert "Download .ipynb" in why and "only your exercise1 functions" in why, why


def test_an_exercise_file_that_is_an_export_is_not_said_unread(tmp_path):
    """An export renamed exercise1.py is read (and fails as Python does, saying why): it is not
    "a notebook exported as a Python script, which the grader does not read"."""
    folder = tmp_path / "alice"
    folder.mkdir()
    (folder / "exercise1.py").write_text(exported_script("jupyter"))
    (folder / "exercise2.py").write_text(solution("exercise2"))
    sub = one(folder, tmp_path)
    assert sub.files["exercise1"] is not None
    assert not [n for n in sub.notes if "exported as a Python script" in n], sub.notes


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_links_and_fifos_named_ipynb_are_never_opened(tmp_path):
    secret = tmp_path / "secret.ipynb"
    secret.write_bytes(solved_notebook())
    folder = tmp_path / "alice"
    folder.mkdir()
    (folder / "link.ipynb").symlink_to(secret)
    os.mkfifo(folder / "fifo.ipynb")
    (folder / "exercise1.py").write_text("def dlogprobs():\n    return 1\n")
    sub = one(folder, tmp_path)
    assert sub.notebook == {} and sub.files["exercise2"] is None


@pytest.mark.parametrize("how", ["notebook", "zip"])
def test_gradescope_finds_an_uploaded_notebook_alone_or_zipped(tmp_path, how):
    from grader.gradescope.run import load_submission

    upload = tmp_path / "submission"
    upload.mkdir()
    if how == "zip":
        with zipfile.ZipFile(upload / "work.zip", "w") as z:
            z.writestr(COLAB_NAME, solved_notebook())
    else:
        (upload / COLAB_NAME).write_bytes(solved_notebook())
    where = f"work.zip/{COLAB_NAME}" if how == "zip" else COLAB_NAME
    assert_from_notebook(load_submission(upload, FILES), where)


def test_a_notebook_beside_students_folders_does_not_make_the_class_one_student(tmp_path):
    """It is graded as a row of its own, flagged: the TA's copy, or a student's upload collected
    by hand, which must not be dropped unseen."""
    root = tmp_path / "class"
    for name in ("alice", "bob"):
        (root / name).mkdir(parents=True)
        (root / name / "exercise1.py").write_text(solution("exercise1"))
    (root / "backprop_ninja.ipynb").write_bytes(stub_notebook())  # the TA's copy
    subs, batch = discover(root, FILES)
    assert batch and [s.name for s in subs] == ["alice", "bob", "backprop_ninja"]
    assert [len(s.review) for s in subs] == [0, 0, 1]
    assert "backprop_ninja.ipynb sat at the top of the class folder" in subs[2].review[0]["reason"]


def test_notebooks_collected_beside_students_folders_are_not_each_flagged(tmp_path):
    """Half a class handed in zips, half notebooks, all collected in one folder: each notebook
    was on the TA's list as maybe the TA's own copy (150 lines for a class of 300). Several
    notebooks there are students' uploads; one alone beside the folders is still flagged."""
    root = tmp_path / "class"
    (root / "alice").mkdir(parents=True)
    (root / "alice" / "exercise1.py").write_text(solution("exercise1"))
    for name in ("bob", "carol"):
        (root / f"{name}.ipynb").write_bytes(solved_notebook())
    subs, batch = discover(root, FILES)
    assert batch and [s.name for s in subs] == ["alice", "bob", "carol"]
    assert [s.review for s in subs] == [[], [], []]
    assert all(s.notebook["implemented"] == 29 for s in subs[1:])


def discover_class(root: Path, given: str, tmp_path: Path):
    """`discover` on the class folder `root` as it is, or zipped (`given`: folder or zip)."""
    if given == "zip":
        with zipfile.ZipFile(tmp_path / "class.zip", "w") as z:
            for f in sorted(root.iterdir()):
                z.write(f, f"class/{f.name}")
    return discover(root.with_suffix(".zip" if given == "zip" else ""), FILES)


def student_zip(path: Path, exercise: str, text: str | None = None) -> None:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(f"{exercise}.py", solution(exercise) if text is None else text)


@pytest.mark.parametrize("given", ["folder", "zip"])
def test_a_notebook_beside_students_zips_does_not_make_the_class_one_student(tmp_path, given):
    """Zips are students' uploads as folders are: the class was graded as one submission from
    alice's zip, and bob got nothing. A notebook loose beside them is graded on its own."""
    root = tmp_path / "class"
    root.mkdir()
    student_zip(root / "alice.zip", "exercise1")
    student_zip(root / "bob.zip", "exercise2")
    (root / "mallory.ipynb").write_bytes(solved_notebook())
    subs, batch = discover_class(root, given, tmp_path)
    assert batch and [s.name for s in subs] == ["alice", "bob", "mallory"]
    assert subs[0].files["exercise1"] is not None and subs[0].files["exercise2"] is None
    assert subs[1].files["exercise2"] is not None and subs[1].files["exercise1"] is None
    assert_from_notebook(subs[2], "mallory.ipynb")
    assert [s.review[0]["flag"] for s in subs if s.review] == ["download"]


@pytest.mark.parametrize("given", ["folder", "zip"])
def test_a_folder_of_notebooks_collected_by_hand_is_a_class_of_them(tmp_path, given):
    """`grader grade` on a TA's folder of notebooks once graded alice's as the folder's one
    submission and gave bob and carol no report and no gradebook row."""
    root = tmp_path / "class"
    root.mkdir()
    (root / "alice.ipynb").write_bytes(solved_notebook())
    (root / "bob.ipynb").write_bytes(stub_notebook())
    (root / "carol.ipynb").write_bytes(solved_notebook())
    (root / "names.txt").write_text("alice bob carol\n")
    subs, batch = discover_class(root, given, tmp_path)
    assert batch and [s.name for s in subs] == ["alice", "bob", "carol"]
    assert_from_notebook(subs[0], "alice.ipynb")
    assert_from_notebook(subs[2], "carol.ipynb")
    assert subs[1].notebook["graded"] == "bob.ipynb" and subs[1].notebook["implemented"] == 0
    assert not any(s.review for s in subs)  # nothing to doubt: no other kind of upload there


def test_a_students_own_check_of_a_folder_of_notebooks_grades_the_most_complete(tmp_path):
    folder = tmp_path / "alice"
    folder.mkdir()
    (folder / "backprop_ninja.ipynb").write_bytes(stub_notebook())
    (folder / "backprop_ninja-Copy1.ipynb").write_bytes(solved_notebook())
    assert_from_notebook(
        one(folder, tmp_path, notebooks_are_students=False), "backprop_ninja-Copy1.ipynb"
    )


def test_a_students_notebook_beside_the_bundles_zip_is_still_one_submission(tmp_path):
    folder = tmp_path / "alice"
    folder.mkdir()
    student_zip(
        folder / "backprop-ninja-student.zip", "exercise1", (STUBS / "exercise1.py").read_text()
    )
    (folder / COLAB_NAME).write_bytes(solved_notebook())
    sub = one(folder, tmp_path)
    assert sub.name == "alice" and sub.notebook["graded"] == COLAB_NAME


def test_a_students_notebook_with_a_backup_folder_is_still_one_submission(tmp_path):
    folder = tmp_path / "alice"
    (folder / "old").mkdir(parents=True)
    (folder / "old" / "backup.ipynb").write_bytes(stub_notebook())
    (folder / COLAB_NAME).write_bytes(solved_notebook())
    assert_from_notebook(one(folder, tmp_path))


def test_grader_check_takes_a_notebook_by_its_path(tmp_path):
    """README: `grader check "Copy of backprop_ninja.ipynb"`. It was refused as "not a folder or
    an exercise file"; its folder is not what to check instead (it may hold .py files, which
    would be graded in the notebook's place), so the notebook is checked on its own."""
    from click.testing import CliRunner

    from grader.cli import main

    path = tmp_path / COLAB_NAME
    path.write_bytes(solved_notebook())
    (tmp_path / "exercise1.py").write_text((STUBS / "exercise1.py").read_text())
    result = CliRunner().invoke(main, ["check", str(path)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert f"Note: graded the notebook {COLAB_NAME}" in result.output
    assert "36 of 36 items passed" in result.output
    # The check has no report to point at (the note said "the report lists what each cell gave").
    assert "report" not in result.output


def test_a_student_s_check_judges_the_notebook_the_grader_grades(tmp_path):
    """Two notebooks implementing as much: the grader grades the shallower, and a student's
    check, which broke the tie by path alone, judged `a/hw.ipynb` instead (notebook.preference
    is now the one rule)."""
    from grader.assignment import load
    from grader.notebook_instead import notebook_graded_instead

    folder = tmp_path / "mine"
    (folder / "a").mkdir(parents=True)
    (folder / "a" / "hw.ipynb").write_bytes(solved_notebook())
    (folder / "z.ipynb").write_bytes(solved_notebook())
    graded = one(folder, tmp_path, notebooks_are_students=False)
    assert graded.notebook["graded"] == "z.ipynb"
    expected = {f: frozenset(names) for f, names in load().functions}
    checked = notebook_graded_instead(folder, FILES, expected)
    assert checked is not None and checked.name == "z.ipynb"


def test_a_student_s_check_says_why_the_grader_skips_a_notebook_too_large_to_read(tmp_path):
    """A notebook over the grader's 64 MB (its outputs: images), or empty, is refused by the
    grader in words saying what to do; a student's check of the folder skipped either without
    a word, the stubs beside it tabled `todo` and no reason given."""
    from grader.assignment import load
    from grader.notebook_instead import notebook_notes

    folder = tmp_path / "mine"
    folder.mkdir()
    with open(folder / "hw.ipynb", "wb") as f:
        f.truncate((64 << 20) + 1)  # sparse: its size alone is read
    (folder / "sub").mkdir()
    (folder / "sub" / "empty.ipynb").write_bytes(b"")
    graded = one(folder, tmp_path, notebooks_are_students=False)
    said = [n for n in graded.notes if n.startswith(("hw.ipynb", "sub/empty.ipynb"))]
    assert "larger than 64 MB" in said[0] and "not valid JSON" in said[1], said
    expected = {f: frozenset(names) for f, names in load().functions}
    assert notebook_notes(folder, FILES, expected) == said
