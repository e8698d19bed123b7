"""What the framework needs to know of an assignment, and where to find it.

An assignment is a package that defines `ASSIGNMENT`: its files, its item ids in order, its
suites folder and its rubric, plus optional hooks (the example class, the student bundle's
self-check, a training demo). The framework (sandbox, runner, scoring, reports, Gradescope) reads
nothing else of it, so a second assignment is a second package, not an edit.

Which packages are assignments is the course's choice, in one place (`grader/course.py` reads
it): the packages `course.yaml` lists, the default being its `default`. A command picks another
one by name (`--assignment NAME`), which `select` makes the process-wide choice of `load()`.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class StudentBundle:
    """What `grader bundle` packs besides the stubs: a README and a public self-check.

    check.py comes one of two ways (grader/bundle.py): `check_parts` inlined after
    `check_header` into one file; or, when `package` is set, the `shipped` modules copied
    verbatim (relative imports flattened) into that package beside the stubs, run by `scripts`
    (name -> text, check.py among them).
    """

    readme: Path
    # Inlined into check.py in this order; each may import the ones before it relatively.
    check_parts: tuple[Path, ...] = ()
    check_header: str = ""
    extras: tuple[Path, ...] = ()  # further files for students, under their own names
    package: str = ""  # e.g. "_ninja_check"
    shipped: tuple[Path, ...] = ()  # each module's file; names must be unique once flattened
    scripts: tuple[tuple[str, str], ...] = ()  # (file name, text), e.g. ("check.py", ...)


@dataclass(frozen=True)
class DerivedFile:
    """A file generated from the solutions beside the stubs (a notebook, say): `grader assign`
    writes it, the student bundle ships it, and a stale copy stops the bundle like a stale stub."""

    name: str
    text: Callable[[Path], str]  # the solutions folder -> the file's text


@dataclass(frozen=True)
class Assignment:
    name: str  # used in file names: dist/<name>-student.zip, solutions/<name>/
    title: str
    files: tuple[str, ...]  # module names a student submits, e.g. "exercise1"
    item_ids: tuple[str, ...]  # every item, in report order
    suites: Path
    rubric: Path
    # Builds the cases ahead of time, so that forked grader processes share them.
    warm: Callable[[bool], object] | None = None
    # The functions the grader calls in each file, e.g. ("exercise3", ("backward",)): how a
    # notebook submission's functions are told apart (grader/notebook.py). Left empty, `load`
    # takes them from the item ids (`tiny.dsquare`: tiny.py's dsquare, see items_as_functions).
    functions: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # Hooks, each optional. `examples`: a function returning the example class's table (see
    # grader/examples.py; imported only when called, as the Gradescope zip leaves it out).
    # `bundle`: the student bundle's README and self-check. `training_demo`: what `grader train`
    # runs, demo(assignment, path, data=, steps=, check_steps=, seed=), where path is the
    # student's file (None: the reference solution's); bad input raises click.ClickException.
    examples: Callable[[], Mapping[str, Mapping[str, object]]] | None = None
    bundle: StudentBundle | None = None
    training_demo: Callable[..., object] | None = None
    # `derived`: files generated from the solutions beside the stubs (see DerivedFile).
    derived: tuple[DerivedFile, ...] = ()
    # Items whose messages tell other items' verdicts, e.g. exercise 3's training run, which
    # takes a failed gradient from autograd and says so: the rubric never shows such an item
    # before those it tells of (scoring.load_rubric).
    tells: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # Filled in by `load` from the course (or set by the package itself).
    package: str = ""
    solutions: Path | None = None  # the marked reference solutions
    stubs: Path | None = None  # the generated student stubs

    def exercise_of(self, item_id: str) -> str:
        return item_id.split(".", 1)[0]

    @property
    def file_names(self) -> tuple[str, ...]:
        return tuple(f"{f}.py" for f in self.files)

    @property
    def content(self) -> Path:
        """The assignment package's folder."""
        return Path(importlib.import_module(self.package).__file__).resolve().parent


class ContentError(ValueError):
    """A mistake in an assignment's own files (its rubric, solutions, stubs, example table,
    student bundle): a TA's to fix, so every command prints the message, which names the file
    and the fix, as one line instead of a traceback (cli.main)."""


class UnknownAssignment(ValueError):
    """A name the course does not know; the message lists the ones it does."""


_SELECTED: str | None = None


def select(name: str | None) -> None:
    """Make `name` what `load()` returns from now on in this process (None: the default)."""
    global _SELECTED
    if name is not None:
        load(name)  # an unknown name fails here, with the list of known ones
    _SELECTED = name


def load(name: str | None = None) -> Assignment:
    """The assignment called `name` (or a package name), else the selected one, else the default."""
    from . import course

    return course.assignment(name or _SELECTED)


def having(files: tuple[str, ...]) -> Assignment:
    """The assignment whose exercise files are `files`: the selected one if they are its, else
    the course's first that has them, else the selected one. Reading an upload knows only the
    files it looks for; a `Grader` made for another assignment than the selected one (the
    Python API) read a notebook upload with the selected one's functions, found none of its
    own, and sent the student to the other assignment's notebook."""
    from . import course

    selected = load()
    if tuple(selected.files) == tuple(files):
        return selected
    return next((a for a in course.assignments() if tuple(a.files) == tuple(files)), selected)


def command_flag() -> str:
    """` -a NAME` for a command a message tells the reader to run, when the selected assignment
    is not the course's default; "" for the default. A message that suggested `grader grade
    FOLDER --one` to a TA grading another assignment graded that folder as the default
    assignment's upload: 0, "no exercise files found"."""
    from . import course

    name = load().name
    return "" if course.assignment(None).name == name else f" -a {name}"


def from_package(package: str, root: Path, default: bool) -> Assignment:
    """The package's ASSIGNMENT with its solutions and stubs folders found by the course's rule.

    `solutions/<name>/` and `assignments/<name>/`; the default assignment may still keep both
    flat (its files at the top of `solutions/` and `assignments/`) while it has no
    `solutions/<name>/`.
    """
    a = importlib.import_module(package).ASSIGNMENT
    _has_suites(a)
    flat = default and not (root / "solutions" / a.name).is_dir()
    return dataclasses.replace(
        a,
        package=a.package or package,
        functions=a.functions or items_as_functions(a.files, a.item_ids),
        solutions=a.solutions or root / "solutions" / ("" if flat else a.name),
        stubs=a.stubs or root / "assignments" / ("" if flat else a.name),
    )


def items_as_functions(
    files: tuple[str, ...], item_ids: tuple[str, ...]
) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Each file's functions read off the item ids, `<file>.<function>`: the docs' smallest
    assignment names its items so and sets no `functions`. Without them a notebook submission
    had no function to look for and scored 0, its functions all written."""
    return tuple(
        (f, tuple(i.split(".", 1)[1] for i in item_ids if i.split(".", 1)[0] == f)) for f in files
    )


def _has_suites(a: Assignment) -> None:
    """Refuse a `suites` folder pytest would find no test in (a typo in its path): every item
    of every submission would be a grader error, said as "pytest exited with code 4"."""
    suites = Path(a.suites)
    if not any(suites.glob("test_*.py")) and not any(suites.glob("*_test.py")):
        raise ContentError(
            f"assignment {a.name!r}: its suites folder {suites} holds no test_*.py (the "
            "ASSIGNMENT's `suites`; docs/new-assignment.md, section 4)"
        )
