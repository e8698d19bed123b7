"""`grader check`: a student's own files on the public case, printed like the lecture's `cmp`.

It is the same pipeline as `grader grade` with the hidden cases left out, so what it says about
the public case is exactly what the grader will say; it never shows a hidden case.
"""

from __future__ import annotations

from pathlib import Path

import click

from .pipeline import Grader
from .submissions import SubmissionError, discover, temporary_workdir

_MARK = {"passed": "ok", "failed": "WRONG", "not_implemented": "todo", "missing": "missing",
         "error": "ERROR", "timeout": "TIMEOUT", "forbidden": "FORBIDDEN"}  # fmt: skip


def run_check(folder: Path) -> int:
    grader = Grader(public_only=True)
    try:
        with temporary_workdir() as workdir:
            subs, is_batch = discover(folder, grader.assignment.files, Path(workdir))
            if is_batch:
                raise SubmissionError(f"{folder} holds several submissions; check one folder")
            result = grader.grade(subs[0]).to_json()
    except SubmissionError as e:
        raise click.ClickException(str(e)) from None
    finally:
        grader.close()
    click.echo(render(result))
    return 0


def render(result: dict) -> str:
    """One row per gradient: name, verdict, max difference, shape, and a hint for a failure."""
    lines = []
    exercise = None
    for item in result["items"]:
        if item["exercise"] != exercise:
            exercise = item["exercise"]
            lines.append(f"\n{exercise}  {'':<16}{'verdict':<10}{'maxdiff':>10}  shape")
        case = item["cases"][0] if item["cases"] else {}
        diff = case.get("max_abs_err")
        diff_text = f"{diff:10.2e}" if isinstance(diff, float) else f"{'':>10}"
        shape = case.get("shape") or case.get("expected_shape") or ""
        shape_text = "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"
        shape_text = shape_text if shape else ""
        name = item["id"].split(".", 1)[1]
        lines.append(f"  {name:<24}{_MARK[item['status']]:<10}{diff_text}  {shape_text}")
        if item["status"] != "passed":
            detail = item["hint"] or _first_line(case.get("message") or item["message"])
            lines.append(f"      -> {detail}")
        for warning in item["warnings"]:
            lines.append(f"      (warning) {warning}")
    lines.append(_chain_line(result.get("chain") or {}))
    for name, text in (result.get("output") or {}).items():
        lines.append(f"\n{name}.py printed:\n{text.rstrip()}")
    passed = sum(i["status"] == "passed" for i in result["items"])
    points = f"{result['score']:g}/{result['max_score']:g}"
    lines.append(
        f"\n{passed}/{len(result['items'])} items pass on the public case "
        f"({points} points if the hidden cases agree)"
    )
    return "\n".join(lines)


def _chain_line(chain: dict) -> str:
    if not chain:
        return ""
    if chain.get("first_departure") is None and not chain.get("unreached"):
        return "\nchained on your own gradients, exercise 1 matches autograd all the way down"
    text = (
        f"\nchained on your own gradients, exercise 1 first departs at {chain['first_departure']}"
    )
    if chain.get("unreached"):
        text += f"; not reached after that: {', '.join(chain['unreached'])}"
    return text


def _first_line(text: str) -> str:
    lines = [ln for ln in (text or "").splitlines() if ln.strip()]
    return lines[-1][:200] if len(lines) > 1 else (lines[0][:200] if lines else "")
