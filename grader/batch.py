"""Grading many submissions: parallel, resumable, atomic, and never stopped by one of them.

The parent discovers submissions, skips those whose result.json already carries the current
fingerprint, and hands the rest to `jobs` grader processes. Each grader process is forked from a
parent that has already imported torch and built the cases (one thread, so forking is safe), and
keeps one warm sandbox for all its submissions. Each result is written atomically the moment it
is done, so a batch killed at any point resumes where it stopped.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import html
import json
import multiprocessing
import traceback
from collections.abc import Iterator
from pathlib import Path

from tqdm import tqdm

from .pipeline import Grader
from .records import ItemResult, SubmissionResult
from .report import write_batch_reports, write_submission_report
from .report.render import write_atomic
from .submissions import Submission, discover, temporary_workdir

RESULT = "result.json"


def grade_batch(
    path: Path,
    out: Path,
    *,
    jobs: int = 1,
    force: bool = False,
    public_only: bool = False,
    progress: bool = True,
) -> list[dict]:
    """Grade everything under `path` into `out`; returns every submission's result.json."""
    grader = Grader(public_only=public_only, eager_sandbox=jobs == 1)
    with temporary_workdir() as workdir:
        subs, is_batch = discover(path, grader.assignment.files, Path(workdir))
        out.mkdir(parents=True, exist_ok=True)
        _check_unique(subs)
        todo = [s for s in subs if force or not _up_to_date(s, out, grader)]
        for s in subs:
            if s not in todo:  # kept, but drawn again: the templates may have changed
                _redraw(out / s.slug)
        bar = tqdm(
            total=len(subs),
            initial=len(subs) - len(todo),
            unit="submission",
            disable=not progress,
            desc="grading",
        )
        for sub, result in _grade_all(grader, todo, jobs):
            write_result(result, out / sub.slug)
            bar.update()
        bar.close()
    grader.close()
    results = [json.loads((out / s.slug / RESULT).read_text()) for s in subs]
    if is_batch:
        write_batch_reports(results, out, [s.slug for s in subs])
    return results


def _check_unique(subs: list[Submission]) -> None:
    seen: dict[str, int] = {}
    for s in subs:
        n = seen.get(s.slug.casefold(), 0)
        seen[s.slug.casefold()] = n + 1
        if n:
            s.name = f"{s.name} ({n + 1})"


def _redraw(folder: Path) -> None:
    # On any failure the old report stays; the result itself is intact.
    with contextlib.suppress(Exception):
        write_submission_report(json.loads((folder / RESULT).read_text()), folder)


def _up_to_date(sub: Submission, out: Path, grader: Grader) -> bool:
    try:
        old = json.loads((out / sub.slug / RESULT).read_text())
    except (OSError, ValueError):
        return False
    return old.get("fingerprint") == grader.fingerprint(sub)


def _grade_all(
    grader: Grader, subs: list[Submission], jobs: int
) -> Iterator[tuple[Submission, dict]]:
    if jobs == 1 or len(subs) <= 1:
        for sub in subs:
            yield sub, _grade_one(grader, sub)
        return
    grader.close()  # children start their own sandbox; the parent keeps none
    _warm_cases(grader)
    global _PARENT_GRADER
    _PARENT_GRADER = grader
    pending = list(subs)
    while pending:
        ctx = multiprocessing.get_context("fork")
        with cf.ProcessPoolExecutor(jobs, mp_context=ctx) as pool:
            futures = {pool.submit(_grade_in_child, sub): sub for sub in pending}
            pending = []
            for fut in cf.as_completed(futures):
                sub = futures[fut]
                try:
                    yield sub, fut.result()
                except cf.process.BrokenProcessPool:
                    pending.append(sub)  # its grader process died: try again in a fresh pool
                except Exception:  # noqa: BLE001
                    yield sub, grader_failure(grader, sub, traceback.format_exc())
        if pending and all(_attempts.setdefault(s.slug, 0) >= 1 for s in pending):
            for sub in pending:
                yield sub, grader_failure(grader, sub, "the grader process died twice")
            return
        for s in pending:
            _attempts[s.slug] = _attempts.get(s.slug, 0) + 1


_attempts: dict[str, int] = {}
_PARENT_GRADER: Grader | None = None


def _warm_cases(grader: Grader) -> None:
    """Build the references once in the parent, so every forked grader process inherits them."""
    if grader.assignment.warm is not None:
        grader.assignment.warm(grader.public_only)


def _grade_in_child(sub: Submission) -> dict:
    return _grade_one(_PARENT_GRADER, sub)


def _grade_one(grader: Grader, sub: Submission) -> dict:
    try:
        return grader.grade(sub).to_json()
    except Exception:  # noqa: BLE001 - one submission's trouble never stops the batch
        return grader_failure(grader, sub, traceback.format_exc())


def grader_failure(grader: Grader, sub: Submission, detail: str) -> dict:
    """A result for a submission the grader itself failed on: every item an error, zero score."""
    items = [
        ItemResult(
            id=i,
            exercise=grader.assignment.exercise_of(i),
            status="error",
            message="the grader failed on this submission (not your code's fault); "
            "ask your TA to regrade",
            extra={"grader_error": detail[-3000:]},
        )
        for i in grader.assignment.item_ids
    ]
    from .scoring import score_items

    score_items(items, grader.rubric)
    return SubmissionResult(
        sub.name,
        0.0,
        sum(i.max_score for i in items),
        items,
        student=dict(sub.student),
        fingerprint="",
    ).to_json()


def write_result(result: dict, folder: Path) -> None:
    """result.json and report.html, each written whole or not at all."""
    folder.mkdir(parents=True, exist_ok=True)
    try:
        write_submission_report(result, folder)
    except Exception:  # noqa: BLE001 - a report bug must not cost the student their result
        detail = html.escape(traceback.format_exc()[-2000:])
        write_atomic(
            folder / "report.html",
            "<!doctype html><meta charset=utf-8><title>report"
            f"</title><p>The report could not be drawn; result.json is whole.<pre>{detail}</pre>",
        )
    # result.json last: its presence (with the current fingerprint) is what "done" means.
    write_atomic(folder / RESULT, json.dumps(result, indent=1, ensure_ascii=False))
