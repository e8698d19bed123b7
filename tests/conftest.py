"""Shared fixtures: one warm grader per test process, and submissions made from the solutions."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:  # imported where used: this module is every test's
    from grader.records import ItemResult
    from grader.submissions import Submission
    from grader.uploads import UploadLimits

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions" / "backprop-ninja"
STUBS = ROOT / "assignments" / "backprop-ninja"


def solution(name: str) -> str:
    """The reference solution's source of `exercise1` etc."""
    return (SOLUTIONS / f"{name}.py").read_text()


def discover(
    path: Path,
    files: tuple[str, ...],
    limits: UploadLimits | None = None,
    *,
    notebooks_are_students: bool = True,
) -> tuple[list[Submission], bool]:
    """Every submission under `path`, and whether it is a batch: `find`'s answer in the two
    parts most tests take apart (the grader itself reads the whole `Found`)."""
    from grader.submissions import find

    found = find(path, files, limits, notebooks_are_students=notebooks_are_students)
    return found.subs, found.is_batch


def item_from_json(d: dict) -> ItemResult:
    """An item as `ItemResult.to_json` wrote it (result.json's `items`), to score it again."""
    from grader.records import CaseResult, ItemResult

    cases = [CaseResult(**{k: v for k, v in c.items() if k != "passed"}) for c in d["cases"]]
    return ItemResult(**{**d, "cases": cases})


def mutated(name: str, old: str, new: str) -> str:
    """The solution with `old` replaced by `new` exactly once (loudly fails if it cannot)."""
    src = solution(name)
    assert src.count(old) == 1, f"{old!r} must occur exactly once in solutions/{name}.py"
    return src.replace(old, new)


@pytest.fixture(scope="session")
def grader():
    """A Grader with its sandbox warm, shared by the tests of one process."""
    from grader.pipeline import Grader

    g = Grader()
    yield g
    g.close()


@pytest.fixture
def grade(grader, tmp_path):
    """grade({"exercise1": source, ...}) -> result.json as a dict (files not given are absent)."""
    from grader.submissions import Submission

    def _grade(files: dict[str, str | bytes], name: str = "student") -> dict:
        data = {f: (v.encode() if isinstance(v, str) else v) for f, v in files.items()}
        sub = Submission(name, {f: data.get(f) for f in grader.assignment.files})
        return grader.grade(sub).to_json()

    return _grade


def item(result: dict, item_id: str) -> dict:
    """One item of a result.json by id."""
    return next(i for i in result["items"] if i["id"] == item_id)


def failing(result: dict) -> set[str]:
    """The ids of every item that did not pass."""
    return {i["id"] for i in result["items"] if i["status"] != "passed"}


RESULT_SCHEMA = ROOT / "docs" / "result.schema.json"


class SchemaViolation(BaseException):
    """A result.json that breaks docs/result.schema.json. A BaseException, so that no
    `except Exception` in the batch turns it into a quiet "grader failed" result."""


@pytest.fixture(scope="session", autouse=True)
def results_follow_the_schema():
    """Every result.json any test produces in this process (or a batch's forked children) is
    checked against the documented schema the moment it is made, and written by
    grader/jsontext.py exactly as json.dumps would write it."""
    import json

    import jsonschema

    from grader import jsontext
    from grader.records import SubmissionResult

    validator = jsonschema.Draft202012Validator(json.loads(RESULT_SCHEMA.read_text()))
    to_json = SubmissionResult.to_json

    def checked(self: SubmissionResult) -> dict:
        result = to_json(self)
        errors = sorted(validator.iter_errors(result), key=lambda e: list(e.path))
        if errors:
            where = "/".join(map(str, errors[0].absolute_path))
            raise SchemaViolation(f"result.json breaks the schema at {where}: {errors[0].message}")
        if jsontext.dumps(result) != json.dumps(result, indent=1, ensure_ascii=False):
            raise SchemaViolation("grader/jsontext.py wrote this result.json unlike json.dumps")
        return result

    SubmissionResult.to_json = checked
    yield
    SubmissionResult.to_json = to_json


class Hung(Exception):
    pass


@contextlib.contextmanager
def never_hangs(seconds: float = 30.0) -> Iterator[None]:
    """Fail, instead of hanging the suite, when the block runs past `seconds`. Not a speed
    test: for inputs that took the code before a fix minutes or hours (a backtracking regular
    expression) and take it milliseconds now; only the main thread can be interrupted."""

    from grader.check_process import OutOfTime, time_limit

    try:
        with time_limit(seconds):  # the student check's own timer: a SIGALRM of the main thread
            yield
    except OutOfTime:
        raise Hung(f"still running after {seconds} s") from None
