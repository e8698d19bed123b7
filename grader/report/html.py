"""The per-submission HTML report, rendered from result.json and nothing else.

The page (templates/report.html.j2) shows the score, one table per exercise with each item's
status, error figures and hint, a heatmap of where a failed gradient differs from autograd (the
lecture's `imshow` of dlogits), exercise 1's chain fed with the student's own gradients, the
student's captured output and anything odd about the submission. This module only arranges the
result's numbers for the template; every word a student wrote is escaped there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .charts import Heatmap, heatmap
from .render import render_page, write_atomic

REPORT = "report.html"
# What each status means, in the report's words.
STATUS_LABEL = {
    "passed": "passed",
    "failed": "wrong",
    "not_implemented": "not implemented",
    "error": "error",
    "timeout": "timed out",
    "forbidden": "forbidden",
    "missing": "missing",
}


@dataclass
class ItemView:
    """One row of an exercise's table, and what its details show."""

    id: str
    name: str
    status: str
    label: str
    score: float
    max_score: float
    message: str
    hint: str
    warnings: list[str]
    cases_passed: int
    cases_total: int
    worst_rel_err: float | None
    cases: list[dict[str, Any]]
    heatmap: Heatmap | None = None
    heatmap_case: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    visibility: str = "visible"

    @property
    def has_details(self) -> bool:
        """Whether the row gets a details row: a case went wrong in a way worth reading."""
        worth = self.status in ("failed", "error", "timeout", "forbidden")
        return bool(worth or self.warnings or self.heatmap or self.extra.get("per_param"))


@dataclass
class ExerciseView:
    name: str
    score: float
    max_score: float
    file_status: str
    items: list[ItemView]

    @property
    def share(self) -> float:
        return self.score / self.max_score if self.max_score else 0.0


def write_submission_report(result: dict, folder: Path) -> Path:
    """Render `folder/report.html` from one result.json (as a dict); written atomically."""
    folder.mkdir(parents=True, exist_ok=True)
    return write_atomic(folder / REPORT, render_report(result))


# The optional top-level fields of result.json the page reads, with their values when absent.
RESULT_DEFAULTS: dict[str, Any] = {
    "files": {},
    "graded_at": "",
    "grader_version": "",
    "duration_s": None,
    "isolation": {},
    "fingerprint": "",
}


def render_report(result: dict) -> str:
    result = {**RESULT_DEFAULTS, **{k: v for k, v in result.items() if v is not None}}
    student = result.get("student") or {}
    items = [item_view(i) for i in result.get("items", [])]
    files = result.get("files") or {}
    return render_page(
        "report.html.j2",
        r=result,
        student={k: v for k, v in student.items() if k != "notes"},
        notes=[str(n) for n in student.get("notes") or []],
        exercises=exercise_views(items, files),
        chain=chain_view(result.get("chain") or {}),
        outputs=sorted((result.get("output") or {}).items()),
        file_problems={f: s for f, s in files.items() if s not in ("submitted",)},
        nothing_submitted=bool(files) and all(s == "missing" for s in files.values()),
        grader_errors=[i for i in items if i.extra.get("grader_error")],
        status_label=STATUS_LABEL,
    )


def item_view(item: dict) -> ItemView:
    cases = list(item.get("cases") or [])
    errs = [c["max_rel_err"] for c in cases if isinstance(c.get("max_rel_err"), int | float)]
    shown = _heatmap_case(cases)
    return ItemView(
        id=item["id"],
        name=item["id"].split(".", 1)[-1],
        status=item.get("status", "error"),
        label=STATUS_LABEL.get(item.get("status", ""), str(item.get("status"))),
        score=item.get("score", 0.0),
        max_score=item.get("max_score", 0.0),
        message=item.get("message", ""),
        hint=item.get("hint", ""),
        warnings=list(item.get("warnings") or []),
        cases_passed=sum(bool(c.get("passed")) for c in cases),
        cases_total=len(cases),
        worst_rel_err=max(errs) if errs else None,
        cases=[case_view(c) for c in cases],
        heatmap=heatmap(shown["diff_map"], shown.get("expected_shape")) if shown else None,
        heatmap_case=case_view(shown) if shown else None,
        extra=dict(item.get("extra") or {}),
        visibility=item.get("visibility", "visible"),
    )


# Every field a case row shows, with its value when a result.json leaves it out.
CASE_DEFAULTS: dict[str, Any] = {
    "case": "?",
    "public": False,
    "status": "error",
    "message": "",
    "max_abs_err": None,
    "max_rel_err": None,
    "shape": None,
    "expected_shape": None,
    "dtype": None,
    "warnings": [],
    "hint": "",
}


def case_view(case: dict) -> dict[str, Any]:
    """A case with every field the template reads (older or hand-made results may lack some)."""
    return {k: case.get(k, v) if case.get(k) is not None else v for k, v in CASE_DEFAULTS.items()}


def _heatmap_case(cases: list[dict]) -> dict | None:
    """The case whose difference map the report draws: the public one when it failed."""
    with_map = [c for c in cases if c.get("diff_map")]
    return next((c for c in with_map if c.get("public")), with_map[0] if with_map else None)


def exercise_views(items: list[ItemView], files: dict[str, str]) -> list[ExerciseView]:
    """Items grouped by exercise, in result order (the lecture's order)."""
    groups: dict[str, list[ItemView]] = {}
    for it in items:
        groups.setdefault(it.id.split(".", 1)[0], []).append(it)
    return [
        ExerciseView(
            name=ex,
            score=round(sum(i.score for i in its), 4),
            max_score=round(sum(i.max_score for i in its), 4),
            file_status=files.get(ex, ""),
            items=its,
        )
        for ex, its in groups.items()
    ]


def chain_view(chain: dict) -> dict | None:
    """Exercise 1's own-gradient chain as a strip of steps, or None when it was not run."""
    steps = list(chain.get("steps") or [])
    unreached = list(chain.get("unreached") or [])
    if not steps and not unreached:
        return None
    reached = {s.get("grad") for s in steps}
    strip = [
        {
            "grad": s.get("grad", "?"),
            "status": s.get("status", "error"),
            "max_rel_err": s.get("max_rel_err"),
            "first": s.get("grad") == chain.get("first_departure"),
        }
        for s in steps
    ] + [
        {"grad": g, "status": "unreached", "max_rel_err": None, "first": False}
        for g in unreached
        if g not in reached
    ]
    return {
        "case": chain.get("case", ""),
        "first_departure": chain.get("first_departure"),
        "unreached": unreached,
        "steps": strip,
    }
