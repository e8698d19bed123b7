"""The student bundle: the stubs, a README, check.py, train.py and the grader's public code.

`_ninja_check/` is a verbatim copy (imports flattened) of the few grader modules that check.py
and train.py run; nothing else of the grader ships: no solution line, no hidden case, no
known-mistake formula, no near-miss variant. Everything needs only torch. Run on the stubs the
check reports every item as not implemented; run on the solutions it passes every one.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from variants import ALTERNATIVES, MISTAKES, NARROW_MISTAKES

from grader.backprop_ninja.bundle import BUNDLE, PACKAGE, SHIPPED
from grader.backprop_ninja.notebook_build import NAME as NOTEBOOK
from grader.backprop_ninja.notebook_build import embedded_files
from grader.bundle import flatten_imports, package_files, write_student_bundle
from grader.choosing import OWN_LIST

ROOT = Path(__file__).resolve().parent.parent
GRADER = ROOT / "grader"
EXPECTED = {"exercise1.py", "exercise2.py", "exercise3.py", "README.md", "check.py", "train.py"}
EXPECTED |= {f"{PACKAGE}/__init__.py"} | {f"{PACKAGE}/{Path(m).name}" for m in SHIPPED}
EXPECTED |= {"backprop_ninja.ipynb"}  # the assignment as a notebook (test_notebook_build.py)
EXPECTED |= {"census_names.txt"}  # what train.py trains on without names.txt (test_train.py)
EXPECTED |= {f"{PACKAGE}/{OWN_LIST}"}  # the bundle's own names, which check.py leaves out


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_student_bundle(tmp_path_factory.mktemp("dist"))


@pytest.fixture(scope="module")
def texts(bundle: Path) -> dict[str, str]:
    with zipfile.ZipFile(bundle) as zf:
        return {n.split("/", 1)[1]: zf.read(n).decode() for n in zf.namelist()}


def notebook_parts(texts: dict[str, str]) -> dict[str, str]:
    """The notebook as a student reads it: its cells' code, and each file its setup cell carries
    (the .ipynb's JSON escapes every line, so a scan of its raw text would miss them)."""
    cells = json.loads(texts[NOTEBOOK])["cells"]
    code = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    setup = ["".join(c["source"]) for c in cells if "setup" in c["metadata"].get("tags", [])]
    parts = {f"{NOTEBOOK} cells": "\n".join(code), f"{NOTEBOOK} setup": "\n".join(setup)}
    for text in code:
        parts.update({f"{NOTEBOOK}: {n}": t for n, t in embedded_files(text).items()})
    return parts


@pytest.fixture(scope="module")
def readable(texts: dict[str, str]) -> dict[str, str]:
    """Every file of the bundle, with the notebook read as its code."""
    return {**{n: t for n, t in texts.items() if n != NOTEBOOK}, **notebook_parts(texts)}


@pytest.fixture
def unpacked(bundle: Path, tmp_path: Path) -> Path:
    with zipfile.ZipFile(bundle) as zf:
        zf.extractall(tmp_path)
    (folder,) = tmp_path.iterdir()
    return folder


def check_py(folder: Path) -> subprocess.CompletedProcess:
    """`python check.py` in `folder`, as a student runs it."""
    return subprocess.run(
        [sys.executable, "check.py"], cwd=folder, capture_output=True, text=True, timeout=300
    )


def run_check(folder: Path) -> list[str]:
    done = check_py(folder)
    assert done.returncode == 0, done.stderr
    return [ln for ln in done.stdout.splitlines() if re.match(r"^  \w+ +\S+ +\d/\d", ln)]


def test_check_py_exits_without_tearing_torch_down(unpacked: Path) -> None:
    """Its whole report is printed and its status kept, but nothing is freed at exit (the
    teardown costs ~0.3 s with torch imported): an object left for the teardown stays."""
    script = (
        "import runpy, sys\n"
        "class Garbage:\n"
        "    def __del__(self):\n"
        "        print('torn down')\n"
        "kept = Garbage()\n"
        "runpy.run_path('check.py', run_name='__main__')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=unpacked, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert "torn down" not in done.stdout
    assert done.stdout == check_py(unpacked).stdout


def solution_lines() -> set[str]:
    """Every non-trivial line inside the solutions' marked regions."""
    lines = set()
    for path in (ROOT / "solutions" / "backprop-ninja").glob("exercise*.py"):
        inside = False
        for line in path.read_text().splitlines():
            s = line.strip()
            if s in ("# BEGIN SOLUTION", "# END SOLUTION"):
                inside = s == "# BEGIN SOLUTION"
            elif inside and len(s) > 8 and not s.startswith(("return", "#")):
                lines.add(s)
    return lines


def test_the_zip_holds_the_stubs_scripts_readme_and_public_code_in_one_folder(
    bundle: Path, texts
) -> None:
    with zipfile.ZipFile(bundle) as zf:
        names = zf.namelist()
    assert bundle.name == "backprop-ninja-student.zip"
    assert set(texts) == EXPECTED
    assert len({n.split("/", 1)[0] for n in names}) == 1
    for name in ("exercise1.py", "exercise2.py", "exercise3.py"):
        assert texts[name] == (ROOT / "assignments" / "backprop-ninja" / name).read_text()


def test_the_public_code_is_the_graders_own_verbatim_but_for_its_imports(texts) -> None:
    for rel in SHIPPED:
        source = (GRADER / rel).read_text()
        assert texts[f"{PACKAGE}/{Path(rel).name}"] == flatten_imports(source)
        changed = [
            (a, b)
            for a, b in zip(source.splitlines(), flatten_imports(source).splitlines(), strict=True)
            if a != b
        ]
        assert all(a.lstrip().startswith("from .") for a, _ in changed), changed


def test_no_line_of_a_solution_is_in_the_bundle(readable) -> None:
    lines = solution_lines()
    assert len(lines) > 40, "the markers still wrap the solutions"
    for name, text in readable.items():
        leaked = sorted(lines & {ln.strip() for ln in text.splitlines()})
        assert not leaked, f"{name} contains solution lines: {leaked[:5]}"


# Folders every machine has, which the bundle's own words may name (`glob.glob('/home/*')`):
# the folder holding the checkout is looked for only where it is not one of them.
EVERY_MACHINE_S = {"/", "/home", "/root", "/tmp", "/usr", "/opt", "/srv", "/mnt", "/var"}


def test_no_folder_of_the_course_machine_is_named_in_the_bundle(readable) -> None:
    """Not the checkout's path, nor the folder holding it (an example path in a shipped
    comment once named this machine's /work/: fortieth session)."""
    paths = [str(ROOT)]
    if str(ROOT.parent) not in EVERY_MACHINE_S:
        paths.append(str(ROOT.parent) + "/")
    for name, text in readable.items():
        for path in paths:
            assert path not in text, f"{name} names {path}"


def test_no_hidden_case_and_no_known_mistake_is_in_the_bundle(readable) -> None:
    from grader.backprop_ninja.cases import PUBLIC
    from grader.backprop_ninja.hidden import HIDDEN

    everything = "\n".join(readable.values())
    for cfg in HIDDEN:
        args = ", ".join(f"{k}={v!r}" for k, v in cfg.as_dict().items() if k != "dtype")
        assert args not in everything
        assert f"seed={cfg.seed})" not in everything
        assert str(cfg.seed) not in everything and f"{cfg.seed:x}" not in everything.lower()
    assert "HIDDEN = (" not in everything
    # Nor a comment measured on them (judge.py's tolerances once said "at n = 100").
    public_n = {cfg.n for cfg in PUBLIC}
    for n in {cfg.n for cfg in HIDDEN} - public_n:
        for said in (f"n = {n}", f"n={n}"):
            assert not re.search(rf"\b{said}\b", everything), f"names a hidden batch: {said}"
    for secret in ("hidden.py", "mistakes.py"):
        for line in (GRADER / "backprop_ninja" / secret).read_text().splitlines():
            s = line.strip()
            if len(s) >= 20 and not s.startswith(("from ", "import ", '"""', "#")):
                assert s not in everything, f"{secret} leaks into the bundle: {s}"


def _code_of(edit: str) -> list[str]:
    """The statements of a variant's edit that carry a formula (not a bare name or keyword)."""
    return [
        ln.strip()
        for ln in edit.splitlines()
        if len(ln.strip()) >= 12 and re.search(r"[-+*/@]|\.sum|\[", ln)
    ]


def test_no_formula_of_a_reference_or_a_near_miss_is_in_the_bundle(texts, readable) -> None:
    """A hint may say what the numbers show, never the code of an answer or of a near-miss (a
    student would only have to flip it back): the variants' edits appear nowhere in the bundle,
    nor the solutions' formulas in the public code the check runs."""
    public = {n: t for n, t in texts.items() if n.startswith(PACKAGE) or n == "check.py"}
    public["README.md"] = texts["README.md"]
    # The notebook's own code (its stub cells, like the stubs, may warn of a near-miss).
    public.update(
        {n: t for n, t in readable.items() if n.startswith(NOTEBOOK) and "cells" not in n}
    )
    formulas = set()
    for variant in (*MISTAKES.values(), *NARROW_MISTAKES.values(), *ALTERNATIVES.values()):
        for old, new in variant.edits:
            formulas.update(_code_of(old) + _code_of(new))
    assert len(formulas) > 20
    for name, text in public.items():
        found = sorted(f for f in formulas if f in text)
        assert not found, f"{name} holds answer or near-miss code: {found[:5]}"


def test_the_bundle_holds_no_grader_module_beyond_the_shipped_ones(readable) -> None:
    """No line of a module that is not shipped is a line of the bundle. Whole lines: a shipped
    module's docstring may quote a common fragment (`raise NotImplementedError(...)`), and the
    notebook embeds its files as raw strings, line for line."""
    shipped = {GRADER / rel for rel in SHIPPED}
    public = {ln.strip() for path in shipped for ln in path.read_text().splitlines() if ln.strip()}
    public.add('if __name__ == "__main__":')  # check.py and train.py are scripts too
    everything = {
        ln.strip()
        for n, t in readable.items()
        if n.endswith((".py", "setup")) and "exercise" not in n
        for ln in t.splitlines()
    }
    for path in GRADER.rglob("*.py"):
        # bundle.py writes check.py and train.py on purpose, notebook_build.py the notebook's
        # cells; every other module stays out.
        if path in shipped or path.name in ("bundle.py", "notebook_build.py"):
            continue
        for line in path.read_text().splitlines():
            s = line.strip()
            if len(s) >= 25 and s not in public and not s.startswith(("from ", "import ")):
                assert s not in everything, f"{path.relative_to(ROOT)} leaks: {s}"


def imported_modules(source: str) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module)
    return names


def test_the_bundle_needs_only_torch_and_the_standard_library(texts) -> None:
    sources = {name: text for name, text in texts.items() if name.endswith(".py")}
    assert {"check.py", "exercise1.py", f"{PACKAGE}/local_check.py"} <= set(sources)
    for name, text in sources.items():
        roots = {m.split(".")[0] for m in imported_modules(text)}
        assert roots - set(sys.stdlib_module_names) <= {"torch", PACKAGE}, name


def test_the_notebook_carries_the_bundles_public_code_and_needs_only_torch(texts) -> None:
    """A student uploads only the .ipynb to Colab: its setup cell holds _ninja_check/ as the zip
    ships it, and its cells import nothing but torch and the standard library."""
    parts = notebook_parts(texts)
    carried = {n.split(": ", 1)[1]: t for n, t in parts.items() if ": " in n}
    # All but the list of the bundle's own files, which only a check run in its folder reads.
    modules = {n: t for n, t in texts.items() if n.startswith(PACKAGE + "/")}
    assert carried == {n: t for n, t in modules.items() if n != f"{PACKAGE}/{OWN_LIST}"}
    roots = {m.split(".")[0] for m in imported_modules(parts[f"{NOTEBOOK} cells"])}
    assert roots - set(sys.stdlib_module_names) <= {"torch"}, roots


def test_readme_explains_how_to_work(texts) -> None:
    readme = texts["README.md"]
    for phrase in ("python check.py", "NotImplementedError", "by name", "autograd", "graded"):
        assert phrase in readme


def test_readme_names_every_verdict_the_check_prints(texts) -> None:
    """The README listed the table's verdicts without TIMEOUT, which an endless loop gets."""
    from grader.student_text import MARK

    for mark in MARK.values():
        assert f"`{mark}`" in texts["README.md"], mark


def test_check_reports_every_stub_as_not_implemented(unpacked: Path) -> None:
    rows = run_check(unpacked)
    assert len(rows) == 36
    assert all(row.split()[1] == "todo" for row in rows), rows


def test_check_passes_the_solutions(unpacked: Path) -> None:
    for path in (ROOT / "solutions" / "backprop-ninja").glob("exercise*.py"):
        shutil.copy(path, unpacked / path.name)
    rows = run_check(unpacked)
    assert len(rows) == 36
    assert all(row.split()[1:3] in (["ok", "2/2"], ["ok", "1/1"]) for row in rows), rows


def test_the_bundle_is_reproducible(bundle: Path, tmp_path: Path) -> None:
    assert write_student_bundle(tmp_path).read_bytes() == bundle.read_bytes()


def test_two_shipped_modules_may_not_share_a_name() -> None:
    extra = (GRADER / "backprop_ninja" / "__init__.py", GRADER / "__init__.py")
    bundle = dataclasses.replace(BUNDLE, shipped=(*BUNDLE.shipped, *extra))
    with pytest.raises(ValueError, match="two shipped modules are named __init__.py"):
        package_files(bundle)
