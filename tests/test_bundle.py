"""The student bundle: the stubs, a README and a public check.py, and nothing secret.

check.py needs only torch and holds no solution code, no hidden cases and none of the grader's
own source beyond the public model and spec. Run on the stubs it reports every gradient as not
implemented; run on the solutions it passes every one.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from grader.bundle import write_student_bundle

ROOT = Path(__file__).resolve().parent.parent
GRADER = ROOT / "grader"
PUBLIC = {"model.py", "spec.py", "student_check_driver.py"}
EXPECTED = {"exercise1.py", "exercise2.py", "exercise3.py", "README.md", "check.py"}
EXPECTED |= {"backprop_ninja.ipynb"}  # the assignment as a notebook (test_notebook_build.py)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_student_bundle(tmp_path_factory.mktemp("dist"))


@pytest.fixture(scope="module")
def texts(bundle: Path) -> dict[str, str]:
    with zipfile.ZipFile(bundle) as zf:
        return {Path(n).name: zf.read(n).decode() for n in zf.namelist()}


@pytest.fixture
def unpacked(bundle: Path, tmp_path: Path) -> Path:
    with zipfile.ZipFile(bundle) as zf:
        zf.extractall(tmp_path)
    (folder,) = tmp_path.iterdir()
    return folder


def run_check(folder: Path) -> list[str]:
    done = subprocess.run(
        [sys.executable, "check.py"], cwd=folder, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return [ln for ln in done.stdout.splitlines() if ln.startswith("exercise")]


def solution_lines() -> set[str]:
    """Every non-trivial line inside the solutions' marked regions."""
    lines = set()
    for path in (ROOT / "solutions").glob("exercise*.py"):
        inside = False
        for line in path.read_text().splitlines():
            s = line.strip()
            if s in ("# BEGIN SOLUTION", "# END SOLUTION"):
                inside = s == "# BEGIN SOLUTION"
            elif inside and len(s) > 8 and not s.startswith(("return", "#")):
                lines.add(s)
    return lines


def test_the_zip_holds_the_stubs_check_and_readme_in_one_folder(bundle: Path, texts) -> None:
    with zipfile.ZipFile(bundle) as zf:
        names = zf.namelist()
    assert bundle.name == "backprop-ninja-student.zip"
    assert {Path(n).name for n in names} == EXPECTED
    assert len({Path(n).parent for n in names}) == 1
    for name in ("exercise1.py", "exercise2.py", "exercise3.py"):
        assert texts[name] == (ROOT / "assignments" / name).read_text()


def test_no_line_of_a_solution_is_in_the_bundle(texts) -> None:
    lines = solution_lines()
    assert len(lines) > 40, "the markers still wrap the solutions"
    for name, text in texts.items():
        leaked = sorted(lines & {ln.strip() for ln in text.splitlines()})
        assert not leaked, f"{name} contains solution lines: {leaked[:5]}"


def test_check_py_holds_no_grader_source_but_the_public_model(texts) -> None:
    public = {
        ln.strip()
        for name in PUBLIC
        for ln in (GRADER / "backprop_ninja" / name).read_text().splitlines()
    }
    check = texts["check.py"]
    for path in GRADER.rglob("*.py"):
        # bundle.py writes check.py's header on purpose; every other module must stay out.
        if path.name in PUBLIC or path.name == "bundle.py":
            continue
        for line in path.read_text().splitlines():
            s = line.strip()
            if len(s) >= 25 and s not in public:
                assert s not in check, f"{path.relative_to(ROOT)} leaks into check.py: {s}"
    assert "grader" not in {m.split(".")[0] for m in imported_modules(check)}


def imported_modules(source: str) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "no relative import survives the inlining"
            names.add(node.module)
    return names


def test_check_py_needs_only_torch_and_the_standard_library(texts) -> None:
    roots = {m.split(".")[0] for m in imported_modules(texts["check.py"])}
    assert roots - set(sys.stdlib_module_names) == {"torch"}


def test_readme_explains_how_to_work(texts) -> None:
    readme = texts["README.md"]
    for phrase in ("python check.py", "NotImplementedError", "by name", "autograd", "graded"):
        assert phrase in readme


def test_check_reports_every_stub_as_not_implemented(unpacked: Path) -> None:
    rows = run_check(unpacked)
    assert len(rows) == 35
    assert all(row.endswith("| not implemented") for row in rows), rows


def test_check_passes_the_solutions(unpacked: Path) -> None:
    for path in (ROOT / "solutions").glob("exercise*.py"):
        shutil.copy(path, unpacked / path.name)
    rows = run_check(unpacked)
    assert len(rows) == 35
    assert all(" | exact " in row or " | approximate " in row for row in rows), rows


def test_the_bundle_is_reproducible(bundle: Path, tmp_path: Path) -> None:
    assert write_student_bundle(tmp_path).read_bytes() == bundle.read_bytes()


def test_the_public_check_uses_the_graders_own_closeness_rule():
    """check.py cannot import the grader, so it carries the constants: they must stay equal."""
    import torch

    from grader.backprop_ninja.cases import SCALE_FROM as GRADER_SCALE_FROM
    from grader.backprop_ninja.student_check_driver import RTOL, SCALE_FROM
    from grader.judge import TOLERANCE

    assert TOLERANCE[torch.float32] == RTOL
    assert SCALE_FROM == GRADER_SCALE_FROM
