"""The example class (`grader examples OUT`): submissions with known outcomes, built on demand.

Each example is the reference solutions with a few textual edits (the table lives in the
assignment's content: its `ASSIGNMENT.examples` hook), the blank stubs, or a subset of files.
Building them from the solutions instead of committing copies keeps them in step with every
change to the solutions; an edit that no longer applies exactly once is an error, not a silent
no-op, so an example can never stop showing the mistake it is named after.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path

from .assignment import ContentError, load
from .stubs import BEGIN, END, read_content, read_solution

STUB = "<the blank stub>"  # the file is the blank stub
OMIT = "<no file>"  # the file is left out


def _without_markers(source: str) -> str:
    """A student's file holds no solution markers."""
    lines = source.splitlines(keepends=True)
    return "".join(line for line in lines if line.strip() not in (BEGIN, END))


def apply_edits(example: str, file: str, source: str, edits: list[tuple[str, str]]) -> str:
    """Apply each (old, new) edit; each old text must occur exactly once in the source."""
    for old, new in edits:
        count = source.count(old)
        if count != 1:
            raise ContentError(
                f"example {example!r}: {old!r} occurs {count} times in {file}, not exactly once;"
                " update the assignment's table of examples (its examples.py)"
            )
        source = source.replace(old, new)
    return source


def _stub(path: Path) -> str:
    name = load().name
    return read_content(path, "the stub", f"generate the stubs first (`grader assign -a {name}`)")


def _example_files(
    example: str,
    spec: Mapping[str, object],
    solutions: Path,
    assignments: Path,
    all_files: tuple[str, ...],
) -> dict[str, str]:
    """The text of every file of one example, by file name."""
    files = {}
    for name in all_files:
        what = spec.get(name, [])
        if what == OMIT:
            continue
        if what == STUB:
            files[name] = _stub(assignments / name)
            continue
        solution = _without_markers(read_solution(solutions / name))
        files[name] = apply_edits(example, name, solution, list(what))  # type: ignore[arg-type]
    return files


def write_examples(
    solutions: Path,
    assignments: Path,
    out: Path,
    table: Mapping[str, Mapping[str, object]] | None = None,
    all_files: tuple[str, ...] | None = None,
) -> list[Path]:
    """Write one folder per example into OUT; returns the folders written.

    Every example is built before anything is written, so a stale edit leaves OUT untouched.
    """
    assignment = load()  # the table and file names default to the chosen assignment's
    if table is None and assignment.examples is None:
        raise ContentError(
            f"assignment {assignment.name!r} defines no example class (its ASSIGNMENT's "
            "`examples`; docs/new-assignment.md, section 6)"
        )
    if table is None:
        table = assignment.examples()
    all_files = assignment.file_names if all_files is None else all_files
    built = {
        ex: _example_files(ex, spec, solutions, assignments, all_files)
        for ex, spec in table.items()
    }
    folders = []
    for example, files in built.items():
        folder = out / example
        # Start afresh: a file dropped from an example (like `partial`'s exercise3.py) must go.
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        for name, text in files.items():
            (folder / name).write_text(text, encoding="utf-8")
        folders.append(folder)
    return folders
