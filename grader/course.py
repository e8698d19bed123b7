"""The course: which packages are assignments, and which one a command uses by default.

The one discovery rule: the assignments are the Python packages listed in the course file,
`course.yaml` at the repository root (or the file `GRADER_COURSE` names). Each package defines
`ASSIGNMENT`; the course file's `default` names the assignment used when a command is given no
`--assignment`. Folders listed under `paths` (relative to the course file) are put on sys.path
first, so that a course can keep its assignments outside this repository.
"""

from __future__ import annotations

import functools
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

from .assignment import Assignment, UnknownAssignment, from_package

ROOT = Path(__file__).resolve().parent.parent
COURSE_FILE = "course.yaml"
COURSE_ENV = "GRADER_COURSE"


class CourseError(ValueError):
    """The course file is missing or malformed; the message names the fix."""


@dataclass(frozen=True)
class Course:
    path: Path
    packages: tuple[str, ...]
    default: str

    @property
    def root(self) -> Path:
        return self.path.parent


def course_path() -> Path:
    return Path(os.environ.get(COURSE_ENV) or ROOT / COURSE_FILE)


@functools.lru_cache(maxsize=8)
def read_course(path: Path) -> Course:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as e:
        raise CourseError(
            f"cannot read the course file {path} ({e}); it lists the assignment packages "
            f"(see docs/new-assignment.md), or set {COURSE_ENV} to another course file"
        ) from None
    packages = raw.get("assignments") or []
    if not isinstance(packages, list) or not all(isinstance(p, str) for p in packages):
        raise CourseError(f"{path}: `assignments` must be a list of Python package names")
    if not packages:
        raise CourseError(f"{path} lists no assignments")
    for folder in raw.get("paths") or []:
        where = str((path.parent / folder).resolve())
        if where not in sys.path:
            sys.path.insert(0, where)
    return Course(path, tuple(packages), str(raw.get("default") or ""))


def course() -> Course:
    return read_course(course_path())


@functools.lru_cache(maxsize=32)
def _load(path: Path, package: str) -> Assignment:
    c = read_course(path)
    is_default = _package_name(path, package) == c.default or package == c.default
    return from_package(package, c.root, is_default)


@functools.lru_cache(maxsize=32)
def _package_name(path: Path, package: str) -> str:
    import importlib

    try:
        return importlib.import_module(package).ASSIGNMENT.name
    except (ImportError, AttributeError) as e:
        raise CourseError(
            f"{path} lists {package!r}, which is no importable package defining ASSIGNMENT: {e}"
        ) from None


def assignments() -> list[Assignment]:
    """Every assignment of the course, in the course file's order."""
    c = course()
    return [_load(c.path, p) for p in c.packages]


def assignment(name: str | None = None) -> Assignment:
    """The assignment called `name` (its name or its package), or the course's default."""
    c = course()
    wanted = name or c.default
    if not wanted:
        raise CourseError(f"{c.path} names no `default` assignment; add one or pass --assignment")
    for package in c.packages:
        if wanted == package or wanted == _package_name(c.path, package):
            return _load(c.path, package)
    known = ", ".join(_package_name(c.path, p) for p in c.packages)
    raise UnknownAssignment(f"no assignment named {wanted!r} in {c.path}; known: {known}")
