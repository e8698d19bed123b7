"""Shared fixtures: one warm grader per test process, and submissions made from the solutions."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
STUBS = ROOT / "assignments"


def solution(name: str) -> str:
    """The reference solution's source of `exercise1` etc."""
    return (SOLUTIONS / f"{name}.py").read_text()


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
