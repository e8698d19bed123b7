"""The student bundle (`grader bundle`, `make student-bundle`): what students download.

`<assignment>-student.zip` holds the assignment's stubs, a student README and `check.py`, a public
self-check that needs only torch. check.py is assembled from the parts the assignment's
`bundle` hook names (say, the public model, spec and a driver), so the check a student runs uses
the grader's own forward pass, sizes,
allowed arguments and closeness rule, and nothing else of the grader: no solution, no hidden
case, no sandbox, suite or rubric code ever enters the zip.
"""

from __future__ import annotations

import ast
import zipfile
from pathlib import Path

from .assignment import Assignment, load
from .stubs import stubs_are_current

# Zip entries get a fixed timestamp so that rebuilding an unchanged bundle gives the same bytes.
_EPOCH = (1980, 1, 1, 0, 0, 0)


def _strip_for_inlining(source: str) -> str:
    """The source without its module docstring, `__future__` imports and relative imports.

    Those lines would be a syntax error (`__future__` mid-file) or a broken import once the
    modules share one file; everything else is kept verbatim.
    """
    tree = ast.parse(source)
    drop: set[int] = set()
    body = tree.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        drop.update(range(body[0].lineno, body[0].end_lineno + 1))
    for node in body:
        if isinstance(node, ast.ImportFrom) and (node.level > 0 or node.module == "__future__"):
            drop.update(range(node.lineno, node.end_lineno + 1))
    lines = source.splitlines(keepends=True)
    kept = "".join(line for i, line in enumerate(lines, start=1) if i not in drop)
    return kept.strip("\n") + "\n"


def build_check_source(assignment: Assignment | None = None) -> str:
    """check.py's text: the assignment's header, then its check parts (the driver last), inlined."""
    bundle = _bundle_hook(assignment or load())
    parts = [bundle.check_header]
    for path in bundle.check_parts:
        text = path.read_text(encoding="utf-8")
        parts.append(
            f"\n# ---- from the grader's public {path.name} ----\n\n" + _strip_for_inlining(text)
        )
    source = "".join(parts)
    ast.parse(source)  # fail here, not on a student's machine
    return source


def _bundle_hook(assignment: Assignment):
    if assignment.bundle is None:
        raise ValueError(f"assignment {assignment.name!r} defines no student bundle (`bundle`)")
    return assignment.bundle


def _bundle_files(assignment: Assignment) -> dict[str, str]:
    names = assignment.file_names
    stale = stubs_are_current(assignment.solutions, assignment.stubs, names)
    if stale:
        raise ValueError(
            f"stubs out of date with the solutions ({', '.join(stale)}): run make stubs"
        )
    files = {name: (assignment.stubs / name).read_text(encoding="utf-8") for name in names}
    files["README.md"] = _bundle_hook(assignment).readme.read_text(encoding="utf-8")
    files["check.py"] = build_check_source(assignment)
    for extra in _bundle_hook(assignment).extras:
        files[extra.name] = extra.read_text(encoding="utf-8")
    return files


def write_student_bundle(out: Path, assignment: Assignment | None = None) -> Path:
    """Write out/<assignment>-student.zip and return its path.

    The zip unpacks into one folder named after the assignment, not into the student's cwd.
    """
    assignment = assignment or load()
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{assignment.name}-student.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, text in _bundle_files(assignment).items():
            info = zipfile.ZipInfo(f"{assignment.name}/{name}", date_time=_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, text)
    return path
