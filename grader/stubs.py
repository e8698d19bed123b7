"""Student stubs generated from the marked reference solutions (`make stubs`, `grader assign`).

A solution function's body is wrapped in `# BEGIN SOLUTION` / `# END SOLUTION` marker lines.
The stub keeps everything else (module docstring, imports, signatures, teaching docstrings) and
replaces each marked region with one `raise NotImplementedError("TODO: <function>")`, which the
grader reports as "not implemented". Generating the stubs, rather than keeping a second copy by
hand, means a signature or docstring can never drift between what students get and the reference.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import TYPE_CHECKING

from .assignment import ContentError

if TYPE_CHECKING:
    from .assignment import Assignment

BEGIN = "# BEGIN SOLUTION"
END = "# END SOLUTION"
EXERCISES = ("exercise1.py", "exercise2.py", "exercise3.py")


# The student reads the first line: it tells them what to do, not to keep out. (The note for
# course staff, to regenerate rather than edit, comes second.)
def header(assignment: str, check: bool = True) -> str:
    """A stub's first lines: what the student does with it (then `python check.py`, where the
    assignment ships a check in its bundle) and, for course staff, the command that
    regenerates this assignment's stubs (`make stubs` alone makes the course's default's)."""
    then = ", then run\n# `python check.py`." if check else ".\n#"
    return (
        f"# Your file: replace every `raise NotImplementedError(...)` with your code{then} "
        "(Course staff: generated from the solutions by\n"
        f"# `make stubs ASSIGNMENT={assignment}`.)\n"
    )


def assignment_header(assignment: Assignment) -> str:
    """`header` for `assignment`: a check to run only where it ships a student bundle."""
    return header(assignment.name, check=assignment.bundle is not None)


_DEF = re.compile(r"^(\s*)(?:async\s+)?def\s+(\w+)")


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def _enclosing_def(lines: list[str], marker: int) -> str:
    """The name of the innermost `def` that the marker line at index `marker` sits in."""
    depth = len(_indent(lines[marker]))
    for line in reversed(lines[:marker]):
        m = _DEF.match(line)
        if m and len(m.group(1)) < depth:
            return m.group(2)
    raise ContentError(f"line {marker + 1}: {BEGIN!r} is not inside a function")


def generate_stub(source: str) -> str:
    """The stub of one solution file: every marked region becomes a single `raise`."""
    lines = source.splitlines(keepends=True)
    out: list[str] = []
    begin: int | None = None
    for i, line in enumerate(lines):
        marker = line.strip()
        if marker == BEGIN:
            if begin is not None:
                raise ContentError(
                    f"line {i + 1}: {BEGIN!r} inside the region opened on line {begin + 1}"
                )
            begin = i
            name = _enclosing_def(lines, i)
            out.append(f'{_indent(line)}raise NotImplementedError("TODO: {name}")\n')
        elif marker == END:
            if begin is None:
                raise ContentError(f"line {i + 1}: {END!r} without a {BEGIN!r} before it")
            begin = None
        elif begin is None:
            out.append(line)
    if begin is not None:
        raise ContentError(f"line {begin + 1}: {BEGIN!r} is never closed by {END!r}")
    stub = "".join(out)
    try:
        ast.parse(stub)
    except SyntaxError as e:  # e.g. a marker indented differently from the body it replaces
        raise ContentError(f"the generated stub is not valid Python: {e}") from e
    return stub


def read_solution(solution: Path) -> str:
    """A reference solution's text; a missing one is the TA's to write, and the error says so."""
    return read_content(
        solution,
        "the reference solution",
        f"write it, each function's body between {BEGIN!r} and {END!r} lines "
        "(docs/new-assignment.md, section 3), or set the assignment's `solutions` folder",
    )


def read_content(path: Path, what: str, fix: str) -> str:
    """A file of the assignment's own; one that cannot be read is a ContentError saying `fix`
    (one line for the TA, not a traceback)."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as e:
        raise ContentError(f"cannot read {what} {path} ({e.strerror or e}): {fix}") from None


def _stub_text(solution: Path, head: str) -> str:
    try:
        return head + generate_stub(read_solution(solution))
    except ContentError as e:
        if str(solution) in str(e):
            raise
        raise ContentError(f"{solution}: {e}") from None


def missing_functions(assignment: Assignment, solutions: Path) -> None:
    """Refuse solutions lacking a function the grader calls (`Assignment.functions`): its stub
    would lack it too, and students would be graded on a function no file of theirs names."""
    for file, names in assignment.functions:
        path = solutions / f"{file}.py"
        try:
            tree = ast.parse(read_solution(path))
        except SyntaxError as e:
            raise ContentError(f"{path} is not valid Python: {e}") from None
        defs = (ast.FunctionDef, ast.AsyncFunctionDef)
        defined = {n.name for n in tree.body if isinstance(n, defs)}
        absent = [n for n in names if n not in defined]
        if absent:
            raise ContentError(
                f"{path} defines no {', '.join(absent)}, which the grader calls (the "
                "assignment's `functions`, else its item ids): write it, or set `functions`"
            )


def write_stubs(
    solutions: Path, out: Path, names: tuple[str, ...] = EXERCISES, head: str = ""
) -> list[Path]:
    """Write out/<name> for each file name from the solutions, each opening with `head`
    (`header`); returns the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name in names:
        path = out / name
        path.write_text(_stub_text(solutions / name, head), encoding="utf-8")
        written.append(path)
    return written


def stubs_are_current(
    solutions: Path, assignments: Path, names: tuple[str, ...] = EXERCISES, head: str = ""
) -> list[str]:
    """The names of the stub files that are missing or differ from what the solutions generate
    (each opening with `head`)."""
    stale = []
    for name in names:
        path = assignments / name
        if not path.is_file() or path.read_text(encoding="utf-8") != _stub_text(
            solutions / name, head
        ):
            stale.append(name)
    return stale


def write_derived(assignment: Assignment, solutions: Path, out: Path) -> list[Path]:
    """Write the assignment's derived files (a notebook, say) into out; returns their paths."""
    paths = []
    for derived in assignment.derived:
        path = out / derived.name
        path.write_text(derived.text(solutions), encoding="utf-8")
        paths.append(path)
    return paths


def derived_are_current(assignment: Assignment, solutions: Path, stubs: Path) -> list[str]:
    """The names of the derived files that are missing or differ from what the solutions give."""
    stale = []
    for derived in assignment.derived:
        path = stubs / derived.name
        if not path.is_file() or path.read_text(encoding="utf-8") != derived.text(solutions):
            stale.append(derived.name)
    return stale
