"""Student stubs: generated from the marked solutions, never hand-edited, never a solution leak.

The committed assignments/ equal what the solutions generate; every stub function raises
NotImplementedError("TODO: <name>") and keeps its solution's signature and docstring; markers
that do not pair up are refused with a clear error.
"""

from __future__ import annotations

import importlib.util
import inspect
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader.assignment import load as load_assignment
from grader.backprop_ninja import spec
from grader.stubs import (
    assignment_header,
    generate_stub,
    header,
    stubs_are_current,
    write_stubs,
)

ROOT = Path(__file__).resolve().parent.parent
EXERCISES = {
    "exercise1": spec.EXERCISE1,
    "exercise2": spec.EXERCISE2,
    "exercise3": ("backward",),
}


HEAD = assignment_header(load_assignment("backprop-ninja"))


def test_a_stub_names_the_command_that_makes_its_own_assignment_s_stubs() -> None:
    """`make stubs` alone makes the default assignment's: layer-by-layer's stubs said it too."""
    first = (ROOT / "assignments" / "layer-by-layer" / "layers.py").read_text().splitlines()[:3]
    assert "`make stubs ASSIGNMENT=layer-by-layer`" in "\n".join(first)


def test_a_stub_of_an_assignment_without_a_bundle_sends_the_student_to_no_check_py() -> None:
    """There is no check.py to run where the assignment ships no student bundle."""
    with_check, without = header("a", check=True), header("a", check=False)
    assert "python check.py" in with_check and "check.py" not in without
    assert without.startswith("# Your file: replace every `raise NotImplementedError(...)`")
    assert all(line.startswith("#") for line in without.splitlines())


def load(path: Path):
    """The stub as a module, leaving no `__pycache__` in the folder students are given (an
    import writes one wherever bytecode writing is on: a later test that copied the folder's
    entries as files met it)."""
    spec_ = importlib.util.spec_from_file_location(f"m_{path.parent.name}_{path.stem}", path)
    module = importlib.util.module_from_spec(spec_)
    before, sys.dont_write_bytecode = sys.dont_write_bytecode, True
    try:
        spec_.loader.exec_module(module)
    finally:
        sys.dont_write_bytecode = before
    return module


def test_committed_stubs_are_what_the_solutions_generate() -> None:
    assert (
        stubs_are_current(
            ROOT / "solutions" / "backprop-ninja",
            ROOT / "assignments" / "backprop-ninja",
            head=HEAD,
        )
        == []
    ), "run make stubs"


@pytest.mark.parametrize("exercise", EXERCISES)
def test_every_stub_function_raises_not_implemented(exercise: str) -> None:
    stub = load(ROOT / "assignments" / "backprop-ninja" / f"{exercise}.py")
    for name in EXERCISES[exercise]:
        fn = getattr(stub, name)
        args = dict.fromkeys(inspect.signature(fn).parameters)
        with pytest.raises(NotImplementedError, match=f"TODO: {name}$"):
            fn(**args)


@pytest.mark.parametrize("exercise", EXERCISES)
def test_stubs_keep_every_signature_and_docstring(exercise: str) -> None:
    solution = load(ROOT / "solutions" / "backprop-ninja" / f"{exercise}.py")
    stub = load(ROOT / "assignments" / "backprop-ninja" / f"{exercise}.py")
    assert stub.__doc__ == solution.__doc__
    for name in EXERCISES[exercise]:
        want, got = getattr(solution, name), getattr(stub, name)
        assert inspect.signature(got) == inspect.signature(want), name
        assert got.__doc__ == want.__doc__ and want.__doc__, name


@pytest.mark.parametrize("exercise", EXERCISES)
def test_stubs_hold_no_solution_marker_and_say_how_to_regenerate(exercise: str) -> None:
    text = (ROOT / "assignments" / "backprop-ninja" / f"{exercise}.py").read_text()
    assert text.startswith(HEAD) and "`make stubs ASSIGNMENT=backprop-ninja`" in HEAD
    assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text


@pytest.mark.parametrize("exercise", EXERCISES)
def test_a_stubs_first_line_tells_the_student_to_write_in_it(exercise: str) -> None:
    """The file is the student's to fill in: its first line must not say "do not edit"."""
    first = (
        (ROOT / "assignments" / "backprop-ninja" / f"{exercise}.py")
        .read_text()
        .splitlines()[0]
        .lower()
    )
    assert "do not edit" not in first and "your file" in first
    assert "notimplementederror" in first


def test_a_marked_region_becomes_one_raise_at_its_indentation() -> None:
    source = (
        "def f(x):\n"
        '    """Doc."""\n'
        "    # BEGIN SOLUTION\n"
        "    y = x + 1\n"
        "    return y\n"
        "    # END SOLUTION\n"
        "\n"
        "\n"
        "class K:\n"
        "    def g(self):\n"
        "        # BEGIN SOLUTION\n"
        "        return 2\n"
        "        # END SOLUTION\n"
    )
    assert generate_stub(source) == (
        "def f(x):\n"
        '    """Doc."""\n'
        '    raise NotImplementedError("TODO: f")\n'
        "\n"
        "\n"
        "class K:\n"
        "    def g(self):\n"
        '        raise NotImplementedError("TODO: g")\n'
    )


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        ("    # BEGIN SOLUTION\n    return 1\n", "never closed"),
        ("    return 1\n    # END SOLUTION\n", "without"),
        (
            "    # BEGIN SOLUTION\n    # BEGIN SOLUTION\n    return 1\n    # END SOLUTION\n",
            "inside",
        ),
    ],
    ids=["begin_without_end", "end_without_begin", "nested_begin"],
)
def test_unbalanced_markers_are_a_clear_error(body: str, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        generate_stub("def f():\n" + body)


def test_a_marker_outside_any_function_is_an_error() -> None:
    with pytest.raises(ValueError, match="not inside a function"):
        generate_stub("# BEGIN SOLUTION\nx = 1\n# END SOLUTION\n")


def test_a_stale_or_missing_stub_is_named(tmp_path: Path) -> None:
    write_stubs(ROOT / "solutions" / "backprop-ninja", tmp_path)
    assert stubs_are_current(ROOT / "solutions" / "backprop-ninja", tmp_path) == []
    assert stubs_are_current(ROOT / "solutions" / "backprop-ninja", tmp_path, head=HEAD) != []
    (tmp_path / "exercise2.py").write_text("# edited by hand\n")
    (tmp_path / "exercise3.py").unlink()
    assert stubs_are_current(ROOT / "solutions" / "backprop-ninja", tmp_path) == [
        "exercise2.py",
        "exercise3.py",
    ]


def test_stubs_pass_the_repository_lint() -> None:
    ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    if not Path(ruff).exists():
        pytest.skip("ruff is not installed")
    for args in (["check"], ["format", "--check"]):
        done = subprocess.run(
            [ruff, *args, "assignments", "solutions"], cwd=ROOT, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stdout + done.stderr
