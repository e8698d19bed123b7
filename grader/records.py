"""The records of a grading: a case's verdict, an item's verdict, a submission's result.

`SubmissionResult.to_json()` is `result.json`, the SPEC's stable interface; the HTML report, the
batch summary, the gradebook and Gradescope's results.json are all rendered from it, so they can
never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# SPEC: the only statuses an item (or a case) can have; only `passed` is a pass.
STATUSES = ("passed", "failed", "not_implemented", "error", "timeout", "forbidden", "missing")

# A case message cut short (pipeline.bound_messages) ends with this, after its first characters.
CUT_MARK = " more characters cut: this submission's messages are long]"


def cut_message(message: str, keep: int) -> str:
    """`message`'s first `keep` characters, and how many more there were."""
    return message[:keep] + f" ... [{len(message) - keep}{CUT_MARK}"


def kept_start(message: str) -> str | None:
    """What a cut message kept of the whole one (None: the message was not cut)."""
    if not message.endswith(CUT_MARK):
        return None
    start, _, count = message[: -len(CUT_MARK)].rpartition(" ... [")
    return start if count.isdigit() else None


# When cases disagree, the item shows the status that most needs the student's attention first.
_PRECEDENCE = ("missing", "forbidden", "not_implemented", "error", "timeout", "failed", "passed")


@dataclass
class Outcome:
    """What came of one call: a value to judge, or a status with a message for the student."""

    status: str  # "ok" or an item status
    message: str = ""
    value: Any = None
    warnings: list[str] = field(default_factory=list)
    # The file's own failure (it did not parse or import), the same for every call of it: a
    # training run reports it as it is, not as one of its steps' failures, so that the class
    # summary sees one failure for the whole file (html.file_failure).
    whole_file: bool = False
    # The values the call was given, as plan_call chose them from the case (the grader's own,
    # never the copies the student's code could change): a wrong shape is read against their
    # shapes (judge.shape_message). A reference, not a copy: nothing is paid for a right answer;
    # kept out of == and repr, which would compare tensors elementwise and print them whole.
    arguments: tuple[Any, ...] = field(default=(), compare=False, repr=False)


@dataclass
class CaseResult:
    """One call of a student function on one case, judged against autograd."""

    case: str
    seed: int | str  # a hidden case's secret seed is shown by its label (seeding.shown)
    public: bool
    config: dict[str, Any]
    status: str
    message: str = ""
    max_abs_err: float | None = None
    max_rel_err: float | None = None
    shape: list[int] | None = None
    expected_shape: list[int] | None = None
    dtype: str | None = None
    warnings: list[str] = field(default_factory=list)
    hint: str = ""
    # Where the answer differs from autograd, as a small grid for the report's heatmap.
    diff_map: list[list[float]] | None = None
    # Which gradient `shape`, `expected_shape` and `diff_map` are of, where the function judged
    # returns several (a layer's dx, dgamma, dbeta): the heatmap said "batchnorm_2d" alone.
    # None where the item is one gradient, named by its id.
    gradient: str | None = None

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    def to_json(self) -> dict[str, Any]:
        # A shallow copy: its values are plain JSON already, and asdict's deep copy is slow.
        d = {**self.__dict__, "passed": self.passed}
        if d["gradient"] is None:
            del d["gradient"]  # an item of one gradient: its id names it
        return d


@dataclass
class ItemResult:
    """A rubric item: one gradient function (or exercise 3's training run), over all its cases."""

    id: str
    exercise: str
    status: str
    message: str = ""
    score: float = 0.0
    max_score: float = 0.0
    hint: str = ""
    warnings: list[str] = field(default_factory=list)
    cases: list[CaseResult] = field(default_factory=list)
    visibility: str = "visible"
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    def to_json(self) -> dict[str, Any]:
        return {**self.__dict__, "cases": [c.to_json() for c in self.cases]}


@dataclass
class SubmissionResult:
    """Everything the grader says about one submission."""

    submission: str
    score: float
    max_score: float
    items: list[ItemResult]
    exercises: dict[str, dict[str, float]] = field(default_factory=dict)
    output: dict[str, str] = field(default_factory=dict)
    chain: dict[str, Any] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    # For a notebook submission: which notebook, and what each cell gave or had dropped.
    notebook: dict[str, Any] = field(default_factory=dict)
    student: dict[str, Any] = field(default_factory=dict)
    isolation: dict[str, Any] = field(default_factory=dict)
    fingerprint: str = ""
    grader_version: str = ""
    graded_at: str = ""
    duration_s: float = 0.0
    # Each function's call times against the budget (grader/timing.py); varies like duration_s.
    timing: dict[str, Any] = field(default_factory=dict)
    # Non-scoring flags for a TA (grader/timing.py: functions far slower than any derivation):
    # each {"flag", "reason", ...}; the summary lists the submission under "needs a look".
    review: list[dict[str, Any]] = field(default_factory=list)
    assignment: str = ""  # its name, as `grader list` shows it
    # The limits of the run's conditions that a verdict came from (session.LimitReached: a
    # timeout of any kind, an allocation refused, a process killed while the OOM killer was at
    # work), each {"limit", "at"}: a later batch grades the submission again rather than keep
    # this result. Left out of result.json when empty, as every honest result's is.
    limits_reached: list[dict[str, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        d = {**self.__dict__, "items": [i.to_json() for i in self.items]}
        if not d["limits_reached"]:
            del d["limits_reached"]  # a result that reached none reads as before the field
        return d


def worst_status(statuses: list[str]) -> str:
    """The item status for a list of case statuses (all passed -> passed)."""
    if not statuses:
        return "error"
    return min(statuses, key=_PRECEDENCE.index)
