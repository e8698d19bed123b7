"""The run on Gradescope: grade ROOT/submission with the one pipeline, write results.json.

`run_autograder` (the shell script) calls `python -m grader.cli gradescope-run --root ROOT`,
which lands here. The grading is `Grader.grade`, exactly as `grader grade` does it; this module
only finds the submission in Gradescope's layout, renders results.json and writes it. Whatever
goes wrong, a valid results.json is written: a grader failure becomes a zero with a message that
says so, never "The autograder failed to execute correctly". Student code runs in the sandbox as
another user and never sees ROOT/results; the file is written here, after grading, atomically.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import sys
import time
import traceback
from pathlib import Path

from ..choosing import NOTHING_FOUND, UPLOAD_HELD
from ..report.render import write_atomic
from ..submissions import Submission, SubmissionError, read_submission
from ..valid_text import valid_json
from .results import UPLOAD_EMPTY, UPLOAD_HOLDS

RESULTS = ("results", "results.json")
SUBMISSION = "submission"
# Overrides of the sandbox's limits, for tests off Gradescope (a student cannot set these).
LIMIT_ENV = {"GRADER_IMPORT_SECONDS": "import_seconds", "GRADER_CALL_SECONDS": "call_seconds"}
LISTED_NAMES = 12


def run_autograder(root: Path) -> dict:
    """Grade root/submission, write root/results/results.json, return what was written."""
    start = time.monotonic()
    root = Path(root)
    target = root.joinpath(*RESULTS)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)  # a stale file must never pass for this run's
    try:
        # No lone surrogate reaches Gradescope as a \udcxx escape its parser may refuse.
        results = valid_json(grade_submission(root, start))
        text = json.dumps(results, indent=1, ensure_ascii=True, allow_nan=False)
    except Exception:  # noqa: BLE001 - the student must get a results.json whatever happens
        traceback.print_exc()
        results = valid_json(failure_results(sys.exc_info()[1]))
        text = json.dumps(results, indent=1, ensure_ascii=True)
    write_atomic(target, text + "\n")
    target.chmod(0o644)  # mkstemp's 0600 would lock out a harness reading as another user
    print(f"wrote {target}: score {results['score']} in {time.monotonic() - start:.1f} s")
    return results


def grade_submission(root: Path, start: float) -> dict:
    """The pipeline's result.json for root/submission, rendered as Gradescope's results.json."""
    from .. import __file__ as grader_init
    from ..pipeline import Grader
    from .results import to_gradescope

    print(f"grader from {Path(grader_init).resolve().parent}")
    grader = Grader(limits=limits_from_env(), keep_out=grading_paths(root))
    try:
        sub = load_submission(root / SUBMISSION, grader.assignment.files)
        result = grader.grade(sub).to_json()
    finally:
        grader.close()
    print(f"isolation: {json.dumps(result.get('isolation', {}))}")
    print(f"files: {json.dumps(result.get('files', {}))}")
    return to_gradescope(result, grader.rubric)


def grading_paths(root: Path) -> tuple[Path, ...]:
    """What the run reads and writes: the upload and the results folder (client.Zygote keeps
    student code from being given a way to them)."""
    return (root / SUBMISSION, root.joinpath(*RESULTS).parent)


def limits_from_env():
    """The default limits, with GRADER_IMPORT_SECONDS / GRADER_CALL_SECONDS applied if set."""
    from ..sandbox.client import Limits

    changes = {}
    for env, field in LIMIT_ENV.items():
        raw = os.environ.get(env)
        if raw is None:
            continue
        try:
            value = float(raw)
        except ValueError:
            value = -1.0
        if not (math.isfinite(value) and value > 0):
            print(f"ignoring {env}={raw!r}: give a positive number of seconds", file=sys.stderr)
            continue
        changes[field] = value
    return dataclasses.replace(Limits(), **changes)


def load_submission(path: Path, files: tuple[str, ...]) -> Submission:
    """The one submission in Gradescope's folder: files at the top, in a folder, or in a zip."""
    empty = dict.fromkeys(files)
    if not path.is_dir():
        return Submission(SUBMISSION, empty, notes=[f"the submission folder {path} is missing"])
    try:
        sub = read_submission(path, SUBMISSION, files)
    except (OSError, ValueError, SubmissionError) as e:
        sub = Submission(SUBMISSION, empty, notes=[f"your upload could not be read: {e}"])
    if all(v is None for v in sub.files.values()) and not _upload_named(sub.notes):
        sub.notes.append(upload_listing(path))
    return sub


def _upload_named(notes: list[str]) -> bool:
    """Whether a note already names the upload's files (the one on finding no exercise file):
    the page's top said "the upload held: notes.txt", then "your upload holds: notes.txt"."""
    return any(
        n.startswith(NOTHING_FOUND) and not n.endswith(f"{UPLOAD_HELD}no files") for n in notes
    )


def upload_listing(path: Path) -> str:
    """What the student did upload, so that a misnamed file is obvious.

    A link is never followed: as root, a folder's mark on a link to `/autograder/source/...`
    would tell the student whether that path is a folder on the grader's machine."""
    try:
        with os.scandir(path) as entries:
            names = sorted(
                e.name + ("/" if e.is_dir(follow_symlinks=False) else "") for e in entries
            )
    except OSError:
        names = []
    if not names:
        return UPLOAD_EMPTY
    more = f" and {len(names) - LISTED_NAMES} more" if len(names) > LISTED_NAMES else ""
    return UPLOAD_HOLDS + ", ".join(names[:LISTED_NAMES]) + more


def failure_results(error: BaseException | None) -> dict:
    """A valid results.json for a run in which the grader itself failed."""
    what = f"{type(error).__name__}: {error}"[:500] if error is not None else "unknown error"
    return {
        "score": 0.0,
        "output": (
            "The grader itself failed before it could grade this submission, so the score is 0 "
            "for now. This is not a verdict on your code: your instructor has the details and "
            f"can regrade it.\n({what})"
        ),
        "output_format": "text",
        "stdout_visibility": "hidden",
        "tests": [],
    }
