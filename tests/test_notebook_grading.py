"""A notebook is graded exactly as the same functions in .py files: same items, same verdicts.

Each submission is graded twice with the real pipeline: as exercise .py files, and as a folder
holding only a Colab-saved notebook with the same functions (in a notebook written from scratch
under the lecture's headings, or in the bundle's backprop_ninja.ipynb), surrounded by the
lecture's own cells (matplotlib, magics, shell escapes, top-level lecture code,
an endless `while True:` loop). Every item must agree: status, score, hint, warnings, each case's
status and message; and `grader check` must print the same table.

A notebook holds one function per name per exercise, so the mutant corpus (tests/variants.py) is
packed into a few submissions of disjoint edits: every mistake and every valid alternative is
graded, in 4 submissions (12 gradings) instead of 35. The attack corpus is sampled: the attacks
that live inside a function body, which a notebook carries over unchanged (module-level attack
code is dropped from a notebook by design; a test below shows the endless loop case).
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest
from attacks.corpus import ATTACKS
from conftest import discover, solution
from notebooks import filled_assignment_notebook, lecture_notebook, split_module
from test_attacks import attack_grader, build, lab  # noqa: F401 (fixtures)
from variants import ALTERNATIVES, MISTAKES

from grader.check import render
from grader.gradescope.results import to_gradescope
from grader.report.html import render_report
from grader.report.summary import attention
from grader.scoring import Rubric
from grader.submissions import Submission

FILES = ("exercise1", "exercise2", "exercise3")
# Attacks inside one function's body: cheating, lying, reaching out, crashing the worker.
SAMPLED_ATTACKS = (
    "patch_comparisons",
    "lying_tensor_subclass",
    "steal_solution",
    "read_environment",
    "autograd_through_dict",
    "sys_exit_in_function",
)


def packed_corpus() -> list[dict[str, str]]:
    """Every variant of tests/variants.py, packed into few submissions of disjoint edits."""
    groups: dict[str, list[tuple[str, set[str]]]] = {f: [] for f in FILES}
    for v in {**MISTAKES, **ALTERNATIVES}.values():
        for i, (src, items) in enumerate(groups[v.file]):
            if not items & v.items and all(src.count(old) == 1 for old, _ in v.edits):
                for old, new in v.edits:
                    src = src.replace(old, new)
                groups[v.file][i] = (src, items | v.items)
                break
        else:
            groups[v.file].append((v.source(), set(v.items)))
    count = max(len(g) for g in groups.values())
    return [
        {f: groups[f][k][0] if k < len(groups[f]) else solution(f) for f in FILES}
        for k in range(count)
    ]


_AS_PY: dict[str, dict] = {}  # the .py verdicts of a submission, graded once for both notebooks


def grade_both(grader, files, tmp_path, make=lecture_notebook) -> tuple[dict, dict]:
    """result.json of the .py files, and of a folder holding only the same code as a notebook."""
    data = {f: v.encode() if isinstance(v, str) else v for f, v in files.items()}
    key = repr(sorted(data.items())) + str(id(grader))
    if key not in _AS_PY:
        _AS_PY[key] = grader.grade(Submission("student", data)).to_json()
    folder = tmp_path / "student"
    folder.mkdir()
    texts = {f: v.decode() for f, v in data.items()}
    (folder / "Copy of backprop_ninja.ipynb").write_bytes(make(texts, "colab"))
    (sub,), _ = discover(folder, FILES)
    assert all(sub.files[f] is not None for f in FILES), sub.notes
    return _AS_PY[key], grader.grade(sub).to_json()


def verdicts(result: dict) -> dict[str, tuple]:
    def same(text: str) -> str:
        # Tracebacks point at other lines of the same code, in a sandbox folder of its own.
        text = re.sub(r"line \d+", "line N", text or "")
        # A notebook's frames name its cell, a .py file's its line (test below).
        text = re.sub(r'File "[^"\n]+", (?:line N|cell \d+)', "File F", text)
        return re.sub(r"/tmp/[^\s\"',]+", "TMP", text)

    return {
        i["id"]: (
            i["status"],
            i["score"],
            same(i["hint"]),
            i["warnings"],
            [(c["status"], same(c["message"])) for c in i["cases"]],
        )
        for i in result["items"]
    }


def assert_same(as_py: dict, as_nb: dict) -> None:
    py, nb = verdicts(as_py), verdicts(as_nb)
    assert list(py) == list(nb)
    differ = {k: (py[k], nb[k]) for k in py if py[k] != nb[k]}
    assert not differ, differ
    assert as_py["score"] == as_nb["score"]
    assert as_py["chain"] == as_nb["chain"]
    # `grader check` prints the same table; a notebook adds a note naming the cells it took.
    assert _table(as_py) == _table(as_nb)
    assert render(as_nb).count("\nNote: graded the notebook ") == 1


def _table(result: dict) -> list[str]:
    return [line for line in render(result).splitlines() if not line.startswith("Note: ")]


@pytest.mark.parametrize("k", range(len(packed_corpus())))
@pytest.mark.parametrize(
    "make", [lecture_notebook, filled_assignment_notebook], ids=["lecture", "assignment"]
)
def test_the_mutant_corpus_gets_the_same_verdicts_from_a_notebook(grader, tmp_path, k, make):
    files = packed_corpus()[k]
    as_py, as_nb = grade_both(grader, files, tmp_path, make)
    if k == 0:  # the first holds most of the classic mistakes: verdicts that differ from "passed"
        assert {i["status"] for i in as_py["items"]} >= {"passed", "failed"}
    assert_same(as_py, as_nb)
    record = as_nb["notebook"]
    assert record["graded"] == "Copy of backprop_ninja.ipynb"
    assert record["cells"] and all("cell" in c for c in record["cells"])


def test_the_corpus_covers_every_variant():
    packed = packed_corpus()
    for name, v in {**MISTAKES, **ALTERNATIVES}.items():
        applied = [p for p in packed if all(p[v.file].count(o) == n.count(o) for o, n in v.edits)]
        assert applied, f"{name} is in none of the packed submissions"


@pytest.mark.parametrize("name", SAMPLED_ATTACKS)
def test_attacks_inside_a_function_get_the_same_verdicts_from_a_notebook(
    attack_grader,  # noqa: F811
    lab,  # noqa: F811
    tmp_path,
    name,
):
    attack = next(a for a in ATTACKS if a.name == name)
    assert all("." in target for target, _ in attack.pieces), "a function-body attack"
    as_py, as_nb = grade_both(attack_grader, build(attack, lab.constants()), tmp_path)
    assert_same(as_py, as_nb)
    assert "ATTACK SUCCEEDED" not in str(as_nb)


def test_a_top_level_endless_loop_costs_a_notebook_nothing(grader, tmp_path):
    """In .py files it times the whole file out; a notebook's top-level code is never run."""
    files = {f: solution(f) for f in FILES}
    files["exercise2"] = files["exercise2"] + "\nwhile True:\n    pass\n"
    folder = tmp_path / "student"
    folder.mkdir()
    (folder / "my <b>notebook.ipynb").write_bytes(lecture_notebook(files, "jupyter"))
    (sub,), _ = discover(folder, FILES)
    result = grader.grade(sub).to_json()
    assert result["score"] == result["max_score"]
    assert any("while loop" in d for c in result["notebook"]["cells"] for d in c["dropped"])
    # The report names the notebook and lists each cell's share, student text escaped.
    page = render_report(result)
    assert 'id="notebook"' in page and "my &lt;b&gt;notebook.ipynb" in page
    assert "<b>notebook" not in page
    assert "def dlogprobs" in page and "a while loop (not run when grading)" in page
    # Each cell by its first line too, which a student can search for: no notebook shows the
    # position. Both loops (the lecture's and the one added here) are cells of their own.
    rows = [ln for ln in page.splitlines() if "a while loop (not run when grading)" in ln]
    assert len(rows) == 2 and all("<code><bdi>while True:</bdi></code>" in r for r in rows)


def test_a_notebook_lacking_a_function_or_an_exercise_says_so_in_its_words(grader, tmp_path):
    """A notebook student never had exercise1.py: the items said `no function `dprobs` in
    exercise1.py` and `exercise2.py was not submitted`, in check, the report and Gradescope."""
    first = [c for c in split_module(solution("exercise1")) if not c.startswith("def dprobs(")]
    files = {"exercise1": "".join(first), "exercise3": solution("exercise3")}
    folder = tmp_path / "student"
    folder.mkdir()
    name = "Copy of backprop_ninja.ipynb"
    (folder / name).write_bytes(lecture_notebook(files, "colab"))
    (sub,), _ = discover(folder, FILES)
    result = grader.grade(sub).to_json()
    said = {i["id"]: (i["status"], i["message"]) for i in result["items"]}
    assert said["exercise1.dprobs"][0] == "missing"
    assert (
        f"no function `dprobs` in exercise1 of the notebook {name}; " in said["exercise1.dprobs"][1]
    )
    for item_id in ("exercise2.dlogits", "exercise2.dhprebn"):
        assert said[item_id][0] == "missing"
        assert f"the notebook {name} defines no function of exercise2" in said[item_id][1]
    assert said["exercise1.dh"][0] == said["exercise3.dW1"][0] == "passed"
    page = to_gradescope(result, Rubric({}, "after_published"))
    outputs = " ".join(t["output"] for t in page["tests"])
    assert f"the notebook {name} defines no function of exercise2" in outputs
    # No file name (`exercise1.py`); the student's own `import matplotlib.pyplot`, named in the
    # note on what the notebook left out, is no file.
    assert not re.search(r"\w\.py\b", outputs + render(result)), outputs


def test_a_notebook_lacking_an_exercise_is_said_so_on_the_pages_and_the_ta_s_list(grader, tmp_path):
    """A notebook that defines none of exercise 2's and 3's functions: the report's box about
    the submission said `exercise2.py was not submitted` (to the TA, and in the student's copy
    to a student who never had that file), and the class summary left it off the TA's list,
    where an upload of exercise1.py alone is on it (`exercise2: missing: not in the upload`)."""
    name = "Copy of backprop_ninja.ipynb"
    result = graded_notebook(grader, tmp_path, name, solution("exercise1"))
    assert result["files"] == {
        "exercise1": "submitted",
        "exercise2": "missing",
        "exercise3": "missing",
    }
    for page in (render_report(result), render_report(result, for_student=True)):
        about = page[page.index('id="notes"') :]
        about = about[: about.index("</div>")]
        assert "was not submitted" not in about and ".py" not in about
        for ex in ("exercise2", "exercise3"):
            said = f"the notebook <code><bdi>{name}</bdi></code> defines none of {ex}'s functions"
            assert said in about
    assert attention(result) == [
        f"{ex}: missing: the notebook {name} defines none of its functions"
        for ex in ("exercise2", "exercise3")
    ]


def graded_notebook(grader, tmp_path: Path, name: str, exercise1: str) -> dict:
    """result.json of a Colab notebook `name` whose exercise 1 cells hold `exercise1`."""
    folder = tmp_path / "student"
    folder.mkdir()
    (folder / name).write_bytes(lecture_notebook({"exercise1": exercise1}, "colab"))
    (sub,), _ = discover(folder, FILES)
    return grader.grade(sub).to_json()


def test_a_traceback_from_a_notebook_names_its_cell_not_a_py_file(grader, tmp_path):
    """A function of a notebook that raised showed `File "exercise1.py", line 207, in dprobs`
    on Gradescope and in the report: a file its student never had, at a line of the module the
    grader assembled from the cells. The frame names the notebook and the cell instead."""
    broken = solution("exercise1").replace(
        "dprobs = (1.0 / probs) * dlogprobs", "dprobs = (1.0 / probs) * EPS"
    )
    name = "Copy of backprop_ninja.ipynb"
    result = graded_notebook(grader, tmp_path, name, broken)
    item = next(i for i in result["items"] if i["id"] == "exercise1.dprobs")
    cell = next(c["cell"] for c in result["notebook"]["cells"] if "def dprobs" in c["taken"])
    assert item["status"] == "error" and "NameError" in item["message"], item["message"]
    assert f'File "{name}", cell {cell}, in dprobs' in item["message"], item["message"]
    assert "dprobs = (1.0 / probs) * EPS" in item["message"]
    page = to_gradescope(result, Rubric({}, "after_published"))
    outputs = " ".join(t["output"] for t in page["tests"] if "dprobs" in t["name"])
    assert "exercise1.py" not in outputs and f"cell {cell}" in outputs, outputs


def test_a_student_s_own_cell_comment_does_not_move_a_traceback_to_another_cell(grader, tmp_path):
    """A comment `# cell 1` at the start of a line inside dprobs, the very mark the grader puts
    above each cell's code in the module it assembles, named cell 1 in dprobs's traceback,
    whichever cell held dprobs."""
    broken = solution("exercise1").replace(
        "    dprobs = (1.0 / probs) * dlogprobs",
        "# cell 1\n    dprobs = (1.0 / probs) * EPS",
    )
    folder = tmp_path / "student"
    folder.mkdir()
    name = "Copy of backprop_ninja.ipynb"
    (folder / name).write_bytes(lecture_notebook({"exercise1": broken}, "colab"))
    (sub,), _ = discover(folder, FILES)
    result = grader.grade(sub).to_json()
    item = next(i for i in result["items"] if i["id"] == "exercise1.dprobs")
    cell = next(c["cell"] for c in result["notebook"]["cells"] if "def dprobs" in c["taken"])
    assert cell != 1 and item["status"] == "error", (cell, item["message"])
    assert f'File "{name}", cell {cell}, in dprobs' in item["message"], item["message"]


def test_a_notebook_whose_code_fails_to_import_names_its_exercise_and_cell(grader, tmp_path):
    """`importing exercise1.py failed`, with a frame of exercise1.py, to a notebook's student."""
    broken = solution("exercise1").replace(
        "import torch.nn.functional as F",
        "from torch import no_such_name\nimport torch.nn.functional as F",
        1,
    )
    name = "Copy of backprop_ninja.ipynb"
    result = graded_notebook(grader, tmp_path, name, broken)
    item = next(i for i in result["items"] if i["id"] == "exercise1.dprobs")
    assert item["status"] == "error", item["message"]
    assert f"importing exercise1 of the notebook {name} failed" in item["message"]
    assert re.search(rf'File "{re.escape(name)}", cell \d+, in <module>', item["message"])
    assert "exercise1.py" not in item["message"], item["message"]


def test_a_hostile_notebook_name_is_quoted_printable_and_short_in_every_message(grader, tmp_path):
    """The notebook's own file name enters every missing function's message. A zip entry's name
    with a line break put a forged `Score:` line on the Gradescope page, an escape sequence and
    a right-to-left override went into the report and the terminal as they were, and a name of
    60,000 characters, repeated in every such message, made a 2.6 MB result.json."""
    first = [c for c in split_module(solution("exercise1")) if not c.startswith("def dprobs(")]
    files = {"exercise1": "".join(first), "exercise3": solution("exercise3")}
    name = "A" * 20_000 + "\nScore: 100 of 100\x1b[2J\u202eevil.ipynb"
    upload = tmp_path / "student.zip"
    with zipfile.ZipFile(upload, "w") as z:
        z.writestr(name, lecture_notebook(files, "colab"))
    (sub,), _ = discover(upload, FILES)
    result = grader.grade(sub).to_json()
    said = {i["id"]: i["message"] for i in result["items"]}
    assert "of the notebook AAA" in said["exercise1.dprobs"]
    assert "evil.ipynb" in said["exercise1.dprobs"]
    assert "the notebook AAA" in said["exercise2.dlogits"]
    messages = [i["message"] for i in result["items"]]
    messages += [c["message"] for i in result["items"] for c in i["cases"]]
    for text in messages:
        assert not {"\n", "\x1b", "\u202e"} & set(text), text[-200:]
        assert len(text) < 1000
    page = to_gradescope(result, Rubric({}, "after_published"))
    lines = "\n".join(t["output"] for t in page["tests"]).splitlines()
    assert not any(line.startswith("Score: 100") for line in lines)
