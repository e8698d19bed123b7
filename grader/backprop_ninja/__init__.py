"""The Backprop Ninja assignment's content: model, allowed arguments, cases, rubric, suites."""

from pathlib import Path

from grader.assignment import Assignment

from .cases import cases
from .spec import EXERCISE1, EXERCISE2, EXERCISE3_GRADS

_HERE = Path(__file__).resolve().parent

ASSIGNMENT = Assignment(
    name="backprop-ninja",
    title="Becoming a Backprop Ninja",
    files=("exercise1", "exercise2", "exercise3"),
    item_ids=(
        *(f"exercise1.{g}" for g in EXERCISE1),
        *(f"exercise2.{g}" for g in EXERCISE2),
        *(f"exercise3.{g}" for g in EXERCISE3_GRADS),
        "exercise3.training",
    ),
    suites=_HERE / "suites",
    rubric=_HERE / "rubric.yaml",
    warm=cases,
    functions=(("exercise1", EXERCISE1), ("exercise2", EXERCISE2), ("exercise3", ("backward",))),
)
