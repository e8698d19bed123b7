"""docs/new-assignment.md, followed to the letter: a tiny assignment in a temporary folder.

The course file, the package (ASSIGNMENT, a suite, a rubric) and a marked solution are written
outside the repository; `grader list`, `grader assign` and `grader grade` then work on it by
name, through the same front doors as the shipped assignments, and the repository is untouched.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PACKAGE = {
    "__init__.py": """
from pathlib import Path

from grader.assignment import Assignment

_HERE = Path(__file__).resolve().parent

ASSIGNMENT = Assignment(
    name="tiny",
    title="Tiny: the gradient of a square",
    files=("tiny",),
    item_ids=("tiny.dsquare",),
    suites=_HERE / "suites",
    rubric=_HERE / "rubric.yaml",
)
""",
    "rubric.yaml": """
mode: share_of_cases
hidden_visibility: after_published
exercises:
  tiny:
    points: {dsquare: 100}
items: {}
""",
    "suites/test_tiny.py": """
import torch

from grader import seeding
from grader.grading import judge_case, make_item

# (seed, public): a public case's seed is torch's own, a hidden one's a secret drawn by
# seeding.draw_secret(), which no search of torch's 2**32 seeds finds.
CASES = (
    (1, True),
    (0x1D4D9AB0A13E8622CBBF0D60C676F33B0, False),
    (0x11A294C5B6D5A12B8B49F6994C3654600, False),
)


def my_cases(public_only):
    for width, (seed, public) in enumerate(CASES, start=5):
        if public_only and not public:
            continue
        x = torch.randn(3, width, generator=seeding.generator(seed))
        x64 = x.double().requires_grad_()
        (x64**2).sum().backward()
        yield seed, public, x, x64.grad


def test_items(session, public_only, record):
    results, cases = [], list(my_cases(public_only))
    inputs = [{"x": x} for _, _, x, _ in cases]
    outcomes = session.call_each("tiny", "dsquare", inputs, frozenset({"x"}))
    for (seed, public, x, truth), outcome in zip(cases, outcomes):
        shown = seeding.shown(seed)  # a hidden case's secret by its label alone
        meta = {"case": f"case-{shown}", "seed": shown, "public": public, "config": {}}
        results.append(judge_case(meta, outcome, truth, input_dtype=x.dtype))
    record(make_item("tiny.dsquare", results))
""",
}

SOLUTION = '''"""The tiny assignment: the gradient of (x**2).sum()."""


def dsquare(x):
    """d/dx of (x**2).sum()."""
    # BEGIN SOLUTION
    return 2 * x
    # END SOLUTION
'''

COURSE = """
default: tiny
paths: [packages]
assignments:
  - tiny_square
"""


def grader(course: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "GRADER_COURSE": str(course)}
    run = subprocess.run([sys.executable, "-m", "grader.cli", *args], capture_output=True,
                         text=True, env=env, cwd=course.parent)  # fmt: skip
    if check:
        assert run.returncode == 0, run.stderr
    return run


def tiny_course(tmp_path: Path, **changed: str) -> Path:
    """The tiny assignment written as the docs say (`changed`: files whose text differs, by
    their path under the package; `solution`: the solution's, None to leave it out)."""
    course = tmp_path / "course.yaml"
    course.write_text(COURSE)
    for name, text in {**PACKAGE, **changed}.items():
        if name == "solution":
            continue
        path = tmp_path / "packages" / "tiny_square" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.lstrip())
    (tmp_path / "solutions" / "tiny").mkdir(parents=True)
    solution = changed.get("solution", SOLUTION)
    if solution is not None:
        (tmp_path / "solutions" / "tiny" / "tiny.py").write_text(solution)
    return course


def refused(run: subprocess.CompletedProcess, *words: str) -> None:
    """The command said what is wrong in one line, no traceback, and exited 1."""
    assert run.returncode == 1 and "Traceback" not in run.stderr, run.stderr
    assert run.stderr.startswith("Error: ") and all(w in run.stderr for w in words), run.stderr


def test_a_tiny_assignment_built_from_the_docs_grades_a_class(tmp_path):
    before = sorted(p.name for p in (ROOT / "assignments").iterdir())
    course = tmp_path / "course.yaml"
    course.write_text(COURSE)
    for name, text in PACKAGE.items():
        path = tmp_path / "packages" / "tiny_square" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.lstrip())
    (tmp_path / "solutions" / "tiny").mkdir(parents=True)
    (tmp_path / "solutions" / "tiny" / "tiny.py").write_text(SOLUTION)

    assert grader(course, "list").stdout == "tiny\tTiny: the gradient of a square\n"
    grader(course, "assign", "-a", "tiny")
    stub = (tmp_path / "assignments" / "tiny" / "tiny.py").read_text()
    assert 'raise NotImplementedError("TODO: dsquare")' in stub and "2 * x" not in stub

    for student, source in (("alice", SOLUTION), ("bob", stub)):
        (tmp_path / "class" / student).mkdir(parents=True)
        (tmp_path / "class" / student / "tiny.py").write_text(source)
    grader(course, "grade", "class", "--out", "reports", "--no-progress")
    alice = json.loads((tmp_path / "reports" / "alice" / "result.json").read_text())
    bob = json.loads((tmp_path / "reports" / "bob" / "result.json").read_text())
    assert alice["score"] == alice["max_score"] == 100.0
    assert len(alice["items"][0]["cases"]) == 3
    assert bob["score"] == 0.0 and bob["items"][0]["status"] == "not_implemented"
    assert (tmp_path / "reports" / "summary.html").is_file()
    assert sorted(p.name for p in (ROOT / "assignments").iterdir()) == before


def test_its_gradescope_zip_carries_the_package_and_grades_on_its_own(tmp_path):
    course = tmp_path / "course.yaml"
    course.write_text(COURSE)
    for name, text in PACKAGE.items():
        path = tmp_path / "packages" / "tiny_square" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.lstrip())
    (tmp_path / "solutions" / "tiny").mkdir(parents=True)
    (tmp_path / "solutions" / "tiny" / "tiny.py").write_text(SOLUTION)
    grader(course, "assign")
    grader(course, "gradescope-zip", "--out", "dist")
    root = tmp_path / "autograder"
    with zipfile.ZipFile(tmp_path / "dist" / "tiny-autograder.zip") as zf:
        names = zf.namelist()
        zf.extractall(root / "source")
    assert "tiny_square/suites/test_tiny.py" in names and "selfcheck/tiny.py" in names
    assert not any("backprop_ninja" in n or "layer_by_layer" in n for n in names)
    assert not any("2 * x" in (root / "source" / n).read_text() for n in names)
    (root / "submission").mkdir()
    (root / "submission" / "tiny.py").write_text(SOLUTION)
    env = {k: v for k, v in os.environ.items() if k != "GRADER_COURSE"}
    env["PYTHONPATH"] = str(root / "source")
    subprocess.run([sys.executable, "-m", "grader.cli", "gradescope-run", "--root", str(root)],
                   cwd=root / "source", env=env, check=True, capture_output=True)  # fmt: skip
    assert json.loads((root / "results" / "results.json").read_text())["score"] == 100.0


def test_a_mistake_in_the_assignments_files_is_one_line_not_a_traceback(tmp_path):
    """A TA's typo in the rubric, a solution not written yet, stale stubs, an example edit that
    no longer applies: each command names the file and the fix (it was a 40-line traceback)."""
    course = tiny_course(tmp_path, solution=None)
    refused(grader(course, "assign", check=False), "tiny.py", "cannot read the reference solution")
    refused(grader(course, "examples", "ex", check=False), "defines no example class")
    (tmp_path / "solutions" / "tiny" / "tiny.py").write_text(SOLUTION.replace("    # END", "#"))
    refused(grader(course, "assign", check=False), "tiny.py", "is never closed")
    (tmp_path / "solutions" / "tiny" / "tiny.py").write_text(SOLUTION)
    refused(grader(course, "bundle", check=False), "tiny.py", "grader assign -a tiny")
    (tmp_path / "solutions" / "tiny" / "tiny.py").write_text(SOLUTION.replace("dsquare", "dsq"))
    # Its stub would lack dsquare: students would be graded on a function they were never given.
    refused(grader(course, "assign", check=False), "tiny.py defines no dsquare")
    (tmp_path / "solutions" / "tiny" / "tiny.py").write_text(SOLUTION)
    grader(course, "assign")
    refused(grader(course, "bundle", check=False), "defines no student bundle")

    rubric = tmp_path / "packages" / "tiny_square" / "rubric.yaml"
    rubric.write_text(rubric.read_text().replace("dsquare:", "dsqare:"))
    (tmp_path / "class" / "alice").mkdir(parents=True)
    (tmp_path / "class" / "alice" / "tiny.py").write_text(SOLUTION)
    for args in (("grade", "class", "--out", "reports", "--no-progress"), ("check", "class/alice"),
                 ("gradescope-zip", "--out", "dist")):  # fmt: skip
        refused(grader(course, *args, check=False), "rubric", "unknown functions ['dsqare']")
    assert not (tmp_path / "reports").exists()


def test_a_notebook_is_graded_by_the_item_ids_when_the_package_sets_no_functions(tmp_path):
    """The docs' tiny ASSIGNMENT sets no `functions`: a notebook defining dsquare is graded by
    them (it scored 0, 'missing', with a note naming no function)."""
    course = tiny_course(tmp_path)
    grader(course, "assign")
    cell = {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
            "source": SOLUTION}  # fmt: skip
    notebook = {"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (tmp_path / "class" / "alice").mkdir(parents=True)
    (tmp_path / "class" / "alice" / "work.ipynb").write_text(json.dumps(notebook))
    grader(course, "grade", "class", "--out", "reports", "--no-progress")
    alice = json.loads((tmp_path / "reports" / "alice" / "result.json").read_text())
    assert alice["score"] == 100.0, alice["items"][0]["message"]


def test_an_item_the_suite_never_files_is_put_before_the_ta(tmp_path):
    """A typo in the item id a suite files: the item is an error for every student, and the TA
    is told which id the suite filed instead (it said 'none needs a look', every score 0)."""
    suite = PACKAGE["suites/test_tiny.py"].replace(
        'make_item("tiny.dsquare"', 'make_item("tiny.dsqare"'
    )
    course = tiny_course(tmp_path, **{"suites/test_tiny.py": suite})
    run = _grade_alice(course, tmp_path)
    assert "none needs a look" not in run.stdout and "the grader failed" in run.stdout
    item = json.loads((tmp_path / "reports" / "alice" / "result.json").read_text())["items"][0]
    assert item["status"] == "error" and "'tiny.dsqare'" in item["extra"]["grader_error"]


# The student bundle as docs/new-assignment.md, section 6, builds it: a driver shipped with the
# framework's CHECK_CORE, importing them relatively, run by check.py with no grader installed.
BUNDLE_FILES = {
    "__init__.py": PACKAGE["__init__.py"]
    .replace(
        "from grader.assignment import Assignment",
        "from grader.assignment import Assignment\nfrom .bundle import BUNDLE",
    )
    .replace(
        '    rubric=_HERE / "rubric.yaml",\n',
        '    rubric=_HERE / "rubric.yaml",\n    bundle=BUNDLE,\n',
    ),
    "README.md": "Write dsquare in tiny.py, then run python check.py.\n",
    "bundle.py": """
from pathlib import Path

import grader
from grader.assignment import StudentBundle
from grader.bundle import CHECK_CORE, check_script

_HERE, CORE = Path(__file__).resolve().parent, Path(grader.__file__).resolve().parent
BUNDLE = StudentBundle(
    readme=_HERE / "README.md",
    package="_tiny_check",
    shipped=(*(CORE / m for m in CHECK_CORE), _HERE / "student_check_driver.py"),
    scripts=(("check.py", check_script("The tiny self-check: python check.py", "_tiny_check")),),
)
""",
    "student_check_driver.py": """
from pathlib import Path

import torch

from ..grading import judge_case, make_item
from ..public_check import PublicCheck


def judge(session):
    x = torch.randn(3, 5, generator=torch.Generator().manual_seed(1))
    (outcome,) = session.call_each("tiny", "dsquare", [{"x": x}], frozenset({"x"}))
    meta = {"case": "public-1", "seed": 1, "public": True, "config": {}}
    case = judge_case(meta, outcome, 2 * x.double(), input_dtype=x.dtype)
    return {"items": [make_item("tiny.dsquare", [case]).to_json()]}


CHECK = PublicCheck(
    name="tiny",
    functions={"tiny": ("dsquare",)},
    judge=judge,
    bundle_folder=Path(__file__).resolve().parent.parent,
)
""",
}


def test_its_student_bundle_checks_without_the_grader_and_refuses_a_grader_import(tmp_path):
    course = tiny_course(tmp_path, **BUNDLE_FILES)
    grader(course, "assign")
    grader(course, "bundle", "--out", "dist")
    with zipfile.ZipFile(tmp_path / "dist" / "tiny-student.zip") as zf:
        zf.extractall(tmp_path / "student")
    folder = tmp_path / "student" / "tiny"
    (folder / "tiny.py").write_text(SOLUTION)
    # -S: no site-packages beyond torch's, so no installed grader to fall back on.
    torch_dir = str(Path(__import__("torch").__file__).resolve().parent.parent)
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": torch_dir}
    run = subprocess.run([sys.executable, "-S", "check.py"], cwd=folder, env=env,
                         capture_output=True, text=True)  # fmt: skip
    assert run.returncode == 0 and "1 of 1 item passed" in run.stdout, run.stdout + run.stderr
    # The core's driver checks a notebook for any assignment, given or beside an untouched stub.
    cell = {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
            "source": SOLUTION.splitlines(keepends=True)}  # fmt: skip
    notebook = {"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (folder / "hw.ipynb").write_text(json.dumps(notebook))
    (folder / "tiny.py").write_text((tmp_path / "assignments" / "tiny" / "tiny.py").read_text())
    for given in (["hw.ipynb"], []):
        run = subprocess.run([sys.executable, "-S", "check.py", *given], cwd=folder, env=env,
                             capture_output=True, text=True)  # fmt: skip
        assert "Note: graded the notebook hw.ipynb (tiny: 1 function from 1 cell)" in (
            run.stdout.splitlines()
        ), run.stdout + run.stderr
        assert run.returncode == 0 and "1 of 1 item passed" in run.stdout, run.stdout

    driver = tmp_path / "packages" / "tiny_square" / "student_check_driver.py"
    driver.write_text(driver.read_text().replace("from ..grading", "from grader.grading"))
    refused(grader(course, "bundle", "--out", "dist", check=False),
            "student_check_driver.py", "imports grader.grading")  # fmt: skip
    with zipfile.ZipFile(tmp_path / "dist" / "tiny-student.zip") as zf:  # the last good one
        assert "tiny/check.py" in zf.namelist()


def test_a_chain_its_suite_records_is_shown_in_the_report(tmp_path):
    """The report showed a recorded chain only under an exercise named `exercise1`."""
    chain = (
        'record(make_item("tiny.dsquare", results), chain={"case": "public-1", "steps": '
        '[{"grad": "dsquare", "status": "failed", "max_rel_err": 1.0}], '
        '"first_departure": "dsquare", "unreached": []})'
    )
    suite = PACKAGE["suites/test_tiny.py"].replace(
        'record(make_item("tiny.dsquare", results))', chain
    )
    course = tiny_course(tmp_path, **{"suites/test_tiny.py": suite})
    grader(course, "assign")
    (tmp_path / "class" / "alice").mkdir(parents=True)
    (tmp_path / "class" / "alice" / "tiny.py").write_text(SOLUTION)
    grader(course, "grade", "class", "--out", "reports", "--no-progress")
    page = (tmp_path / "reports" / "alice" / "report.html").read_text()
    assert "Your own chain" in page and "departs from autograd at <code>dsquare</code>" in page
    # `grader check` says it of this assignment's exercise: it said "exercise 1" of any chain.
    checked = grader(course, "check", "class/alice").stdout
    assert "Chained on your own gradients, tiny first departs from autograd at dsquare" in checked
    assert "exercise" not in checked


def test_check_on_a_class_folder_names_this_assignments_file(tmp_path):
    """`grader check` given a folder of submissions names the assignment's files (it said
    "exercise1.py, exercise2.py and exercise3.py" whatever the assignment)."""
    course = tiny_course(tmp_path)
    grader(course, "assign")
    for student in ("alice", "bob"):
        (tmp_path / "class" / student).mkdir(parents=True)
        (tmp_path / "class" / student / "tiny.py").write_text(SOLUTION)
    run = grader(course, "check", "class", check=False)
    refused(run, "holds your tiny.py")
    assert "exercise1" not in run.stderr


def test_a_hard_coded_size_gets_the_hint_in_any_assignment(tmp_path):
    """Right at the first public case's sizes, wrong at the other public case's: the hint names
    the size (the rule once knew only Backprop Ninja's lecture sizes)."""
    suite = (
        PACKAGE["suites/test_tiny.py"]
        .replace("(0x1D4D9AB0A13E8622CBBF0D60C676F33B0, False)", "(2, True)")
        .replace('"config": {}', '"config": {"n": 3, "d": x.shape[1], "seed": shown}')
    )
    course = tiny_course(tmp_path, **{"suites/test_tiny.py": suite})
    grader(course, "assign")
    (tmp_path / "bob").mkdir()
    (tmp_path / "bob" / "tiny.py").write_text(
        "import torch\n\ndef dsquare(x):\n    return 2 * x * torch.ones(3, 5)\n"
    )
    run = grader(course, "check", "bob")
    assert "right at the first public case's sizes, wrong at n=3, d=6" in run.stdout, run.stdout
    assert "a hard-coded size (3, 5?)" in run.stdout


def _grade_alice(course, tmp_path: Path):
    """`grader grade` of a class of one, alice, who submitted the solution."""
    grader(course, "assign")
    (tmp_path / "class" / "alice").mkdir(parents=True)
    (tmp_path / "class" / "alice" / "tiny.py").write_text(SOLUTION)
    return grader(course, "grade", "class", "--out", "reports", "--no-progress")


def test_a_suite_that_cannot_run_is_named_by_grade_and_check(tmp_path):
    """A suite that fails to import: the summary and `grader check` give its error (they said
    only "the grader failed on some items: regrade" and "your TA has the details")."""
    suite = PACKAGE["suites/test_tiny.py"].replace("import judge_case,", "import judge_cases,")
    course = tiny_course(tmp_path, **{"suites/test_tiny.py": suite})
    run = _grade_alice(course, tmp_path)
    assert "ImportError: cannot import name 'judge_cases'" in run.stdout, run.stdout
    run = grader(course, "check", "class/alice")
    assert "could not judge some items" in run.stdout and "'judge_cases'" in run.stdout


def test_a_suites_folder_without_tests_is_refused_by_name(tmp_path):
    """A typo in ASSIGNMENT's `suites`: every command says which folder holds no test (every
    item of every submission was a grader error, "pytest exited with code 4")."""
    init = PACKAGE["__init__.py"].replace('_HERE / "suites"', '_HERE / "suite"')
    course = tiny_course(tmp_path, **{"__init__.py": init})
    (tmp_path / "alice").mkdir()
    (tmp_path / "alice" / "tiny.py").write_text(SOLUTION)
    refused(grader(course, "check", "alice", check=False), "suite holds no test_*.py")
    refused(grader(course, "check", "-a", "tiny", "alice", check=False), "holds no test_*.py")


def test_a_suite_asking_for_a_file_the_assignment_lacks_is_put_before_the_ta(tmp_path):
    """`session.call_each("tny", ...)`: a suite's typo, said as such (every student's item was
    "tny.py was not submitted", 0 points, with 'none needs a look')."""
    suite = PACKAGE["suites/test_tiny.py"].replace('call_each("tiny"', 'call_each("tny"')
    course = tiny_course(tmp_path, **{"suites/test_tiny.py": suite})
    run = _grade_alice(course, tmp_path)
    assert "a suite asked for tny.py, which is not one of the assignment's files" in run.stdout


def test_a_suite_asking_for_a_function_the_assignment_lacks_is_put_before_the_ta(tmp_path):
    """`session.call_each("tiny", "dsqare", ...)`: the ASSIGNMENT's `functions` (here read off
    its item ids) do not list it, so it is the suite's typo, named with the close one (every
    student's item was "no function `dsqare`", 0 points, with 'none needs a look')."""
    suite = PACKAGE["suites/test_tiny.py"].replace('"tiny", "dsquare"', '"tiny", "dsqare"')
    course = tiny_course(tmp_path, **{"suites/test_tiny.py": suite})
    run = _grade_alice(course, tmp_path)
    assert "none needs a look" not in run.stdout, run.stdout
    assert "a suite asked for tiny.dsqare" in run.stdout and "did you mean 'dsquare'" in run.stdout
    item = json.loads((tmp_path / "reports" / "alice" / "result.json").read_text())["items"][0]
    assert item["status"] == "error" and "tiny.dsqare" in item["extra"]["grader_error"]


def test_a_zip_whose_suite_cannot_be_imported_is_not_built(tmp_path):
    """A suite with a syntax error, or importing what is not in the zip (a misspelt name, the
    package's examples.py, which the zip leaves out): `gradescope-zip` names the file and the
    error in one line and keeps the last good zip (it wrote the zip; Gradescope's setup.sh
    self-check was the first to fail, after the upload)."""
    course = tiny_course(tmp_path)
    grader(course, "assign")
    grader(course, "gradescope-zip", "--out", "dist")
    good = (tmp_path / "dist" / "tiny-autograder.zip").read_bytes()
    suite_file = tmp_path / "packages" / "tiny_square" / "suites" / "test_tiny.py"
    (tmp_path / "packages" / "tiny_square" / "examples.py").write_text("EXAMPLES = {}\n")
    suite = PACKAGE["suites/test_tiny.py"].lstrip()
    line = suite[: suite.index("(public_only):")].count("\n") + 1
    for broken, words in (
        (suite.replace("(public_only):", "(public_only)"), ("SyntaxError", f"(line {line})")),
        (suite.replace("import judge_case,", "import judge_cases,"), ("'judge_cases'",)),
        ("from tiny_square.examples import EXAMPLES\n" + suite, ("tiny_square.examples",)),
    ):
        suite_file.write_text(broken)
        run = grader(course, "gradescope-zip", "--out", "dist", check=False)
        refused(run, f"{suite_file} cannot be imported from the zip", *words)
        assert len(run.stderr.strip().splitlines()) == 1, run.stderr
        assert (tmp_path / "dist" / "tiny-autograder.zip").read_bytes() == good


def test_a_change_to_an_assignment_kept_outside_the_grader_regrades_the_class(tmp_path):
    """The fingerprint hashed the grader's own folder alone: a rubric changed in a package kept
    outside it (course.yaml's `paths`) left every result "unchanged since", scored by the old
    rubric (a third of the points kept where all-or-nothing gives none)."""
    course = tiny_course(tmp_path)
    (tmp_path / "class" / "carol").mkdir(parents=True)
    # Right on the public case (width 5) alone.
    source = "def dsquare(x):\n    return 2 * x if x.shape[1] == 5 else x\n"
    (tmp_path / "class" / "carol" / "tiny.py").write_text(source)
    result = tmp_path / "reports" / "carol" / "result.json"
    grader(course, "grade", "class", "--out", "reports", "--no-progress")
    assert json.loads(result.read_text())["score"] == 33.3333
    rubric = tmp_path / "packages" / "tiny_square" / "rubric.yaml"
    rubric.write_text(rubric.read_text().replace("share_of_cases", "all_or_nothing"))
    run = grader(course, "grade", "class", "--out", "reports", "--no-progress")
    assert "graded 1, reused 0" in run.stdout, run.stdout
    assert json.loads(result.read_text())["score"] == 0.0
    # Unchanged again: kept, as before.
    run = grader(course, "grade", "class", "--out", "reports", "--no-progress")
    assert "graded 0, reused 1" in run.stdout, run.stdout


def test_make_check_checks_the_course_defaults_stubs(tmp_path):
    """`make check` without FOLDER checked assignments/backprop-ninja, whatever the course's
    default: a course whose default is its own assignment had those stubs checked against it.
    It checks the default assignment's stubs, where the course file puts them."""
    import shutil

    make = shutil.which("make")
    assert make, "make is what the README tells a TA to run"
    course = tiny_course(tmp_path)
    grader(course, "assign")
    env = {**os.environ, "GRADER_COURSE": str(course)}
    dry = subprocess.run([make, "-s", "-n", "-C", str(ROOT), "check", "STAMP=/dev/null",
                          f"BIN={Path(sys.executable).parent}"], capture_output=True, text=True,
                         env=env, check=True)  # fmt: skip
    assert f'check  "{tmp_path / "assignments" / "tiny"}"' in dry.stdout, dry.stdout


def test_a_suite_that_fails_after_filing_some_items_names_its_error(tmp_path):
    """A test that filed one item, then raised (a student's answer taken apart by a suite that
    did not check it): the items it never reached named the suite's error. They said "no suite
    filed the item", and the TA was told to regrade, which changed nothing."""
    init = PACKAGE["__init__.py"].replace(
        'item_ids=("tiny.dsquare",),',
        'item_ids=("tiny.dsquare", "tiny.dtwice"),\n    functions=(("tiny", ("dsquare",)),),',
    )
    suite = PACKAGE["suites/test_tiny.py"] + '    raise IndexError("the suite slipped")\n'
    course = tiny_course(tmp_path, **{"__init__.py": init, "suites/test_tiny.py": suite})
    run = _grade_alice(course, tmp_path)
    assert "IndexError: the suite slipped" in run.stdout and "no suite filed" not in run.stdout
    items = json.loads((tmp_path / "reports" / "alice" / "result.json").read_text())["items"]
    assert items[0]["status"] == "passed", items[0]
    assert "IndexError: the suite slipped" in items[1]["extra"]["grader_error"]
    checked = grader(course, "check", "class/alice").stdout
    assert "IndexError: the suite slipped" in checked, checked


POWERS_SUITE = """
import torch

from grader.grading import judge_case, make_item, parts_of


def test_items(session, public_only, record):
    x = torch.randn(3, 5, generator=torch.Generator().manual_seed(1))
    (outcome,) = session.call_each("tiny", "powers", [{"x": x}], frozenset({"x"}), True)
    meta = {"case": "public-1", "seed": 1, "public": True, "config": {}}
    square, cube = parts_of(outcome, ("dsquare", "dcube"))
    x64 = x.double()
    record(make_item("tiny.dsquare", [judge_case(meta, square, 2 * x64, input_dtype=x.dtype)]),
           make_item("tiny.dcube", [judge_case(meta, cube, 3 * x64**2, input_dtype=x.dtype)]))
"""


def test_a_function_returning_several_gradients_is_taken_apart_by_parts_of(tmp_path):
    """`return dsquare, dcube` judged as two items: a single tensor or a third value is the
    student's failure, said as such (a suite indexing the answer read a single tensor's
    (tensor, dtype) pair as two answers, "returned a Tensor, not a torch.Tensor", and a short
    tuple was an IndexError in the suite, a grader error)."""
    init = PACKAGE["__init__.py"].replace(
        'item_ids=("tiny.dsquare",),',
        'item_ids=("tiny.dsquare", "tiny.dcube"),\n    functions=(("tiny", ("powers",)),),',
    )
    solution = '''def powers(x):
    """d/dx of (x**2).sum() and of (x**3).sum()."""
    # BEGIN SOLUTION
    return 2 * x, 3 * x**2
    # END SOLUTION
'''
    changed = {"__init__.py": init, "suites/test_tiny.py": POWERS_SUITE, "solution": solution}
    course = tiny_course(tmp_path, **changed)
    grader(course, "assign")
    answers = {
        "alice": "def powers(x):\n    return 2 * x, 3 * x**2\n",
        "bob": "def powers(x):\n    return 2 * x\n",
        "carol": "def powers(x):\n    return 2 * x, 3 * x**2, x\n",
        "dan": "def powers(x):\n    return {'dcube': 3 * x**2, 'dsquare': 2 * x}\n",
    }
    for student, source in answers.items():
        (tmp_path / "class" / student).mkdir(parents=True)
        (tmp_path / "class" / student / "tiny.py").write_text(source)
    run = grader(course, "grade", "class", "--out", "reports", "--no-progress")
    assert "none needs a look" in run.stdout, run.stdout
    said = {}
    for student in answers:
        result = json.loads((tmp_path / "reports" / student / "result.json").read_text())
        said[student] = [(i["status"], i["message"]) for i in result["items"]]
    assert [s for s, _ in said["alice"]] == [s for s, _ in said["dan"]] == ["passed", "passed"]
    expected = "expected 2 values: dsquare, dcube"
    for student, what in (("bob", "returned a single tensor"), ("carol", "returned 3 values")):
        for status, message in said[student]:
            assert status == "failed" and f"{what}; {expected}" in message, said[student]


def test_a_suite_importing_its_package_relatively_is_named_with_the_fix(tmp_path):
    """`from ..cases import cases` in a suite: pytest collects the suites folder on its own, so
    the import fails. The TA read 'E   ImportError: attempted relative import with no known
    parent package', naming neither the suite nor what to write instead."""
    (tmp_path / "packages" / "tiny_square").mkdir(parents=True)
    (tmp_path / "packages" / "tiny_square" / "cases.py").write_text("SIZES = (5,)\n")
    suite = "from ..cases import SIZES\n" + PACKAGE["suites/test_tiny.py"].lstrip()
    course = tiny_course(tmp_path, **{"suites/test_tiny.py": suite})
    run = _grade_alice(course, tmp_path)
    said = "test_tiny.py cannot be imported: a relative import (ImportError); import the package"
    assert said in run.stdout and "by its full name" in run.stdout, run.stdout
    checked = grader(course, "check", "class/alice").stdout
    assert said in checked and "docs/new-assignment.md" in checked, checked
