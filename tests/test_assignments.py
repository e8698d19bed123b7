"""Assignments by name: the course file lists them, every command picks one, the core names none."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from grader.assignment import load
from grader.course import CourseError, assignments

ROOT = Path(__file__).resolve().parent.parent
GRADER = ROOT / "grader"
# Nothing of the core may name an assignment (Backprop Ninja's training demo, notebook and
# student-bundle package now live in grader/backprop_ninja/, wired in by its hooks).
NOT_YET_MOVED: set[Path] = set()


def cli(*args: str, env: dict | None = None, check: bool = True) -> subprocess.CompletedProcess:
    run = subprocess.run([sys.executable, "-m", "grader.cli", *args], capture_output=True,
                         text=True, env={**os.environ, **(env or {})}, cwd=ROOT)  # fmt: skip
    if check:
        assert run.returncode == 0, run.stderr
    return run


def test_grader_list_names_every_assignment_with_its_title():
    lines = cli("list").stdout.splitlines()
    assert lines == [
        "backprop-ninja\tBecoming a Backprop Ninja",
        "layer-by-layer\tBackprop Ninja, layer by layer",
    ]


def test_an_unknown_name_is_refused_with_the_known_ones():
    run = cli("examples", "-a", "backprop-ninjaa", "/nonexistent", check=False)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "backprop-ninjaa" in run.stderr
    assert "backprop-ninja, layer-by-layer" in run.stderr


@pytest.mark.parametrize("command", ["grade", "check", "assign", "examples", "bundle",
                                     "gradescope-zip", "train"])  # fmt: skip
def test_every_assignment_command_takes_the_option(command):
    assert "-a, --assignment NAME" in cli(command, "--help").stdout


def test_the_default_comes_from_the_course_file(tmp_path):
    course = tmp_path / "course.yaml"
    course.write_text("default: layer-by-layer\nassignments: [grader.layer_by_layer]\n")
    run = cli("list", env={"GRADER_COURSE": str(course)})
    assert run.stdout == "layer-by-layer\tBackprop Ninja, layer by layer\n"
    assert load().name == "backprop-ninja"  # this process's course file is the repository's


def test_a_broken_course_file_says_what_to_fix(tmp_path):
    course = tmp_path / "course.yaml"
    course.write_text("assignments: [no_such_package]\n")
    run = cli("list", env={"GRADER_COURSE": str(course)}, check=False)
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert "no_such_package" in run.stderr and "no importable package" in run.stderr
    run = cli("list", env={"GRADER_COURSE": str(tmp_path / "missing.yaml")}, check=False)
    assert run.returncode == 1 and "cannot read the course file" in run.stderr


def test_solutions_and_stubs_follow_the_path_rule():
    ninja, layers = load("backprop-ninja"), load("layer-by-layer")
    assert layers.solutions == ROOT / "solutions" / "layer-by-layer"
    assert layers.stubs == ROOT / "assignments" / "layer-by-layer"
    # The default assignment may keep its files flat (until they move to solutions/<name>/).
    for folder, top in ((ninja.solutions, "solutions"), (ninja.stubs, "assignments")):
        assert folder in (ROOT / top, ROOT / top / "backprop-ninja")
        assert (folder / "exercise1.py").is_file()
    assert load("grader.layer_by_layer") == layers  # by package name too


def naming(names: set[str]) -> re.Pattern:
    """A line naming one of `names` as a word: not inside a longer identifier, so that an
    assignment named softmax-backward (package softmax_backward) is not found in torch's
    `_softmax_backward_data`, which a core module quotes (a course adding it failed here)."""
    alternatives = "|".join(re.escape(n) for n in sorted(names))
    return re.compile(rf"(?<![\w])(?:{alternatives})(?![\w])", re.IGNORECASE)


def test_a_name_is_found_as_a_word_not_inside_an_identifier():
    pattern = naming({"softmax-backward", "grader.softmax_backward", "softmax_backward"})
    assert not pattern.search("sparse: `_softmax_backward_data` and `linear_backward`")
    for line in ("from grader.softmax_backward.cases import x", "dist/softmax-backward-student",
                 "if name == 'softmax_backward':"):  # fmt: skip
        assert pattern.search(line), line


def test_no_core_module_names_an_assignment():
    packages = {a.content for a in assignments()}
    names = set()
    for a in assignments():
        names |= {a.name, a.package, a.package.rsplit(".", 1)[-1], a.title}
    pattern = naming(names)
    core = [
        p
        for p in sorted(GRADER.rglob("*.py"))
        if not any(pkg in p.parents for pkg in packages) and p not in NOT_YET_MOVED
    ]
    assert len(core) > 20
    offenders = [
        f"{p.relative_to(ROOT)}:{i}: {line.strip()}"
        for p in core
        for i, line in enumerate(p.read_text().splitlines(), start=1)
        if pattern.search(line)
    ]
    assert not offenders, "\n".join(offenders)


def test_a_course_without_assignments_is_an_error(tmp_path):
    from grader.course import read_course

    course = tmp_path / "course.yaml"
    course.write_text("default: x\nassignments: []\n")
    with pytest.raises(CourseError, match="lists no assignments"):
        read_course(course)
