"""What the framework needs to know of an assignment, and where to find it.

An assignment is a package that defines `ASSIGNMENT`: its files, its item ids in order, its
suites folder and its rubric. The framework (sandbox, runner, scoring, reports, Gradescope) reads
nothing else of it, so a second assignment is a second package, not an edit.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

DEFAULT = "grader.backprop_ninja"


@dataclass(frozen=True)
class Assignment:
    name: str  # used in file names: dist/<name>-student.zip
    title: str
    files: tuple[str, ...]  # module names a student submits, e.g. "exercise1"
    item_ids: tuple[str, ...]  # every item, in report order
    suites: Path
    rubric: Path
    # Builds the cases ahead of time, so that forked grader processes share them.
    warm: Callable[[bool], object] | None = None
    # The functions the grader calls in each file, e.g. ("exercise3", ("backward",)): how a
    # notebook submission's functions are told apart (grader/notebook.py).
    functions: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def exercise_of(self, item_id: str) -> str:
        return item_id.split(".", 1)[0]


def load(package: str = DEFAULT) -> Assignment:
    return importlib.import_module(package).ASSIGNMENT
