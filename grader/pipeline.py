"""The one grading pipeline: a submission in, a `SubmissionResult` out.

Every front door (`grader check`, `grader grade`, Gradescope's run_autograder) calls
`Grader.grade`. Whatever the submission does, a result comes out with every item of the rubric
in it; a failure of the grader itself becomes an `error` item naming it, never a missing report.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import gc
import hashlib
import platform
import threading
import time
import traceback
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from . import __version__
from .assignment import Assignment, load
from .choosing import shortened
from .records import ItemResult, SubmissionResult, cut_message
from .runner import SuiteRunner
from .sandbox.client import Limits, Zygote, warm_torch
from .scoring import Rubric, exercise_totals, load_rubric, score_items
from .session import Session
from .staticscan import declared_encoding
from .student_text import swapped_files, undecodable
from .submissions import Submission
from .timing import REVIEW_SLOW, CallTimer, slow_review, summary
from .valid_text import printable

GRADER_ROOT = Path(__file__).resolve().parent


# What the cases' messages of one submission may hold in all. Each is capped on its own (a
# traceback of 4,000 characters), but one is kept per case: a file raising the longest
# message it may from every call made a 6.7 MB result.json. The lecture's mistakes need a few
# hundred characters a case; past the budget a case keeps its message's start.
MESSAGE_BUDGET = 128 << 10
CUT_MESSAGE = 300


def bound_messages(items: list[ItemResult]) -> None:
    """Cut the cases' messages, in report order, once the submission's passed MESSAGE_BUDGET."""
    spent = 0
    for item in items:
        for case in item.cases:
            spent += len(case.message)
            if spent > MESSAGE_BUDGET and len(case.message) > CUT_MESSAGE:
                case.message = cut_message(case.message, CUT_MESSAGE)


class Grader:
    """Holds what outlives one submission: the assignment, its rubric, the warm sandbox."""

    def __init__(
        self,
        assignment: Assignment | None = None,
        limits: Limits | None = None,
        public_only: bool = False,
        eager_sandbox: bool = True,
        zygote: Zygote | None = None,
        static_scan: bool = True,
        keep_out: Sequence[Path] = (),
    ) -> None:
        """`zygote`: a sandbox built by the caller (say, with some layers off), used as it is.

        `keep_out`: the paths this grading reads and writes (the submissions, the results),
        which the sandbox must open no way to (client.Zygote); each front door names its own.

        `static_scan=False` leaves autograd to the run-time checks alone: for tests of the
        sandbox's own layers, never for grading.
        """
        self.static_scan = static_scan
        warm_torch()
        self.assignment = assignment or load()
        # The fingerprint's digests are taken before anything they cover is read (the rubric
        # here, the suites at the first grading), so that a file changed while the batch runs
        # leaves its results a fingerprint that is no longer current: graded again by the next
        # run. Taken at the first fingerprint, a --force batch's grader processes hashed the
        # rubric as it was after their first result, and a rubric edited meanwhile (5 points
        # for 10) had every result, scored by the old one, kept as "unchanged since".
        self._content: str = content_digest(self.assignment)
        self._runtime: str = runtime()
        grader_digest()
        self.rubric: Rubric = load_rubric(
            self.assignment.rubric, self.assignment.item_ids, self.assignment.tells
        )
        self.limits = limits or Limits()
        self.grading_at_once(1)
        self.public_only = public_only
        self.keep_out = tuple(keep_out)
        self._zygote: Zygote | None = zygote
        self._runner: SuiteRunner | None = None
        self._starting: threading.Thread | None = None
        if eager_sandbox and zygote is None:
            # The sandbox imports torch on the other core while this one builds the cases.
            self._starting = threading.Thread(target=self._start_zygote, daemon=True)
            self._starting.start()
        if self.assignment.warm is not None:
            self.assignment.warm(public_only)
        # Torch and the cases are here for good: keep the collector from rescanning them (pytest
        # collects at every run's end), and keep forked children's pages shared.
        gc.freeze()

    def grading_at_once(self, graders: int) -> None:
        """Tell the sandbox how many gradings run at once (a batch's grader processes): each
        keeps a process per file of the assignment alive, and every student process of the
        command gets an equal share of a container's memory (Limits.processes_at_once). Before
        the sandbox starts (a batch: before it forks its grader processes)."""
        at_once = len(self.assignment.files) * max(graders, 1)
        self.limits = dataclasses.replace(self.limits, processes_at_once=at_once)

    def _start_zygote(self) -> None:
        try:
            self._zygote = Zygote(self.limits, keep_out=self.keep_out)
        except Exception as e:  # noqa: BLE001 - reported when the sandbox is first needed
            self._start_error = e

    @property
    def zygote(self) -> Zygote:
        if self._starting is not None:
            self._starting.join()
            self._starting = None
            if getattr(self, "_start_error", None):
                raise self._start_error
        if self._zygote is None:
            self._zygote = Zygote(self.limits, keep_out=self.keep_out)
        return self._zygote

    def fingerprint(self, sub: Submission) -> str:
        """Changes when the submission, the grader, its content or the Python and torch it runs
        on (`runtime`) change: the key for resuming."""
        h = hashlib.sha256(grader_digest().encode() + self._content.encode())
        h.update(b"%d\0%s" % (len(self._runtime.encode()), self._runtime.encode()))
        h.update(b"public-only" if self.public_only else b"all")
        for name in self.assignment.files:
            data = sub.files.get(name)
            # Each file framed by its length (a file's bytes may hold anything, NULs included):
            # with separators only, exercise1.py `A\0exercise2\0B` beside exercise2.py `C` hashed
            # like `A` beside `B\0exercise2\0C`, and a file holding `<none>` like no file, so an
            # upload changed between two runs could keep the other upload's result.
            size = b"-" if data is None else str(len(data)).encode()
            h.update(name.encode() + b"\0" + size + b"\0" + (data or b""))
        return h.hexdigest()

    def discovered(self, sub: Submission, result: dict[str, Any]) -> dict[str, Any]:
        """The fields of result.json that `grade` takes from `sub` apart from its bytes, as this
        run's discovery gives them, for `result` (graded from the same files by the same
        grader): who it belongs to, the upload's notes, why a file is absent, what its notebook
        gave, and the review flags reading it raised. The fingerprint covers none of these, and
        they can change with the files untouched: a partner added to a group in the export's
        metadata would otherwise leave the score on the old members' rows of grades.csv. None
        of them changes a score. Review flags that grading raised (GRADING_FLAGS) are kept from
        `result`."""
        sources, file_notes = decode_sources(sub, self.assignment.files)
        kept = [
            f
            for f in result.get("review") or []
            if isinstance(f, dict) and f.get("flag") in GRADING_FLAGS
        ]
        return {
            "student": student_record(sub, swap_notes(sub, sources, self.assignment.functions)),
            "files": file_states(file_notes),
            "notebook": sub.notebook,
            "review": [*sub.review, *kept],
        }

    def grade(self, sub: Submission) -> SubmissionResult:
        """`sub`'s result. A sandbox that ends under a submission (the OOM killer, a stray
        signal) takes the student processes in flight with it, and their calls and imports
        would read as the code's own crashes, kept by every later run under the current
        fingerprint: the submission is graded again, from the start, in a fresh sandbox.
        Should that one end too, the result says so and carries no fingerprint, so that the
        next batch grades it again."""
        result, ended = self._grade_once(sub)
        if ended:
            result, ended = self._grade_once(sub)
        if ended:
            result.fingerprint = ""
            result.review.append(dict(SANDBOX_ENDED_REVIEW))
        return result

    def _grade_once(self, sub: Submission) -> tuple[SubmissionResult, bool]:
        """One grading of `sub`, and whether the sandbox ended while it ran."""
        start = time.monotonic()
        sources, file_notes = decode_sources(sub, self.assignment.files)
        timer = CallTimer()
        try:
            notebook = notebook_label(str((sub.notebook or {}).get("graded") or ""))
            states = file_states(file_notes)
            absent = {f: states[f] for f, src in sources.items() if src is None}
            items, extra, outputs, ended, limits = self._run(sources, timer, notebook, absent)
        except Exception:  # noqa: BLE001 - a grader bug must still leave the student a report
            items, outputs, ended, limits = [], {}, False, []
            extra = {"suite_errors": [traceback.format_exc()[-4000:]]}
            self.close()
        items, unjudged = self._complete(items, extra)
        bound_messages(items)
        score_items(items, self.rubric)
        slow = slow_review(timer.seconds)
        result = SubmissionResult(
            submission=sub.name,
            score=round(sum(i.score for i in items), 4),
            max_score=round(sum(i.max_score for i in items), 4),
            items=items,
            exercises=exercise_totals(items),
            output=outputs,
            chain=extra.get("chain", {}),
            files=file_states(file_notes),
            notebook=sub.notebook,
            student=student_record(sub, swap_notes(sub, sources, self.assignment.functions)),
            isolation=self.zygote.iso.to_json() if self._zygote else {},
            # No fingerprint where the grader failed: no later run may keep such a result.
            fingerprint="" if unjudged else self.fingerprint(sub),
            grader_version=__version__,
            graded_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            duration_s=round(time.monotonic() - start, 3),
            timing=summary(timer.seconds),
            review=[*sub.review, *([slow] if slow else []), *self._public_only_review()],
            assignment=self.assignment.name,
            limits_reached=limits,
        )
        return result, ended

    def _public_only_review(self) -> list[dict[str, str]]:
        """The `public_only` flag where the hidden cases were not run (PUBLIC_ONLY_REVIEW)."""
        return [dict(PUBLIC_ONLY_REVIEW)] if self.public_only else []

    def _run(
        self,
        sources: dict[str, str | None | Exception],
        timer: CallTimer,
        notebook: str = "",
        absent: dict[str, str] | None = None,
    ):
        """`notebook`: the notebook `sources` were read from, named in the messages; `absent`:
        why a file the upload held is not among them (Session). Returns the items, the
        suites' extras, each file's output, whether the sandbox ended under it, and the limits
        of the run's conditions that a verdict came from (Session.limits_reached)."""
        # First use in this process: pytest starts in its thread while the sandbox starts.
        runner = self._suite_runner()
        # The functions the suites may ask for: a name outside them is a suite's typo.
        expected = {f: frozenset(names) for f, names in self.assignment.functions}
        zygote = self.zygote
        zygote.revive()
        born = zygote.generation  # a restart, or a zygote found dead: it ended under us
        session = Session(
            sources,
            zygote,
            self.public_only,
            expected=expected,
            static_scan=self.static_scan,
            timer=timer,
            notebook=notebook,
            absent=absent,
        )
        session.prefetch()
        try:
            items, extra = runner.run(session, self.public_only)
        finally:
            session.close()
        outputs = {f: session.output(f) for f in self.assignment.files}
        ended = zygote.generation != born or not zygote.alive()
        limits = session.limits_json()
        return items, extra, {f: o for f, o in outputs.items() if o}, ended, limits

    def _suite_runner(self) -> SuiteRunner:
        """This process's pytest session (started at first use: a forked copy needs its own)."""
        if self._runner is None or not self._runner.alive:
            self._runner = SuiteRunner(self.assignment.suites)
        return self._runner

    def _complete(self, items: list[ItemResult], extra: dict) -> tuple[list[ItemResult], bool]:
        """Every rubric item, in order, exactly once; one the suites did not file is an error.
        Also whether there was such an item: the grader, not the code, failed there, and a
        later run must grade the submission again rather than keep the result."""
        by_id = {i.id: i for i in items}
        crash = "; ".join(extra.get("suite_errors", []))[-1500:]
        out = []
        for item_id in self.assignment.item_ids:
            out.append(
                by_id.get(item_id)
                or unjudged_item(
                    item_id,
                    self.assignment.exercise_of(item_id),
                    "the grader could not judge this item (an internal error, not your "
                    "code's fault; your TA has the details)",
                    crash or self._unfiled(item_id, by_id),
                )
            )
        return out, len(by_id.keys() & set(self.assignment.item_ids)) < len(out)

    def _unfiled(self, item_id: str, filed: dict[str, ItemResult]) -> str:
        """Why an item has no verdict when no suite failed: the suites never filed it. Said for
        the TA, who is shown the result as needing a look (a typo in a suite's item id once
        scored that item 0 for the whole class with 'none needs a look')."""
        stray = sorted(set(filed) - set(self.assignment.item_ids))
        instead = f" but {stray}, which the assignment's item_ids do not list," if stray else ""
        return f"no suite filed the item {item_id!r}{instead} (suites: {self.assignment.suites})"

    def close(self) -> None:
        if self._runner is not None:
            self._runner.close()
            self._runner = None
        if self._starting is not None:
            self._starting.join()
            self._starting = None
        if self._zygote is not None:
            self._zygote.close()
            self._zygote = None


# The flag of a result graded twice, each time with the sandbox ending under it (Grader.grade).
SANDBOX_ENDED_REVIEW = {
    "flag": "sandbox_ended",
    "reason": "the grader's sandbox ended twice while grading it (not the student's doing, "
    "as far as the grader can tell): calls that ended without answering may not be the code's "
    "fault; run the batch again to regrade it",
}

# The flag of a result graded on the public cases alone (`grader grade --public-only`). Such a
# class's grades.csv, summary and reports carried scores the hidden cases never checked (a size
# hard-coded to the public case's: 95 where the grade is 92.8571), with not a word that they
# were: the TA's list now says it of each.
PUBLIC_ONLY_REVIEW = {
    "flag": "public_only",
    "reason": "graded on the public cases alone (--public-only): the hidden cases did not run, "
    "so this score is no grade; grade the class without --public-only before importing it",
}

# Review flags that grading raises, as against those reading the upload raised (Submission.review):
# a result kept by a later run keeps these and takes that run's others (`Grader.discovered`).
GRADING_FLAGS = frozenset({REVIEW_SLOW, PUBLIC_ONLY_REVIEW["flag"]})


def grader_failure(grader: Grader, sub: Submission, detail: str) -> dict:
    """result.json for a submission the grader itself failed on (`grade` raised, its process
    died): every item an error, zero score, no fingerprint, so that the next run grades it;
    each exercise's totals as a graded result has them (a reader of result.json, Gradescope's
    exercise lines among them, finds the same keys whatever happened)."""
    items = [
        unjudged_item(
            i,
            grader.assignment.exercise_of(i),
            "the grader failed on this submission (not your code's fault); ask your TA to regrade",
            detail[-3000:],
        )
        for i in grader.assignment.item_ids
    ]
    score_items(items, grader.rubric)
    return SubmissionResult(
        sub.name,
        0.0,
        round(sum(i.max_score for i in items), 4),  # as a graded result's: no float noise
        items,
        exercises=exercise_totals(items),
        student=student_record(sub),
        fingerprint="",
        review=list(sub.review),
    ).to_json()


def unjudged_item(item_id: str, exercise: str, message: str, detail: str) -> ItemResult:
    """An item the grader, not the student's code, failed to judge: an error scoring 0 whose
    `extra["grader_error"]` holds the grader's own account (a suite's traceback, an item no
    suite filed). The report's grader errors, the summary's "regrade", Gradescope's
    instructor-only test and `grader check` all find the grader's failure by that key."""
    return ItemResult(
        id=item_id,
        exercise=exercise,
        status="error",
        message=message,
        extra={"grader_error": detail},
    )


def swap_notes(
    sub: Submission,
    sources: dict[str, str | None | Exception],
    functions: Sequence[tuple[str, Sequence[str]]],
) -> list[str]:
    """The note on exercise files saved under each other's names (student_text.swapped_files),
    as check.py adds it; none where the code came from a notebook's headings. `functions`: the
    assignment's, each file's functions."""
    if (sub.notebook or {}).get("graded"):
        return []
    text = {f: s for f, s in sources.items() if isinstance(s, str)}
    return swapped_files(text, {f: frozenset(n) for f, n in functions})


def student_record(sub: Submission, more: Sequence[str] = ()) -> dict[str, Any]:
    """result.json's `student`: who the submission belongs to, with the upload's notes and
    `more` (what grading found of the files themselves, a swap, after them). Notes
    and file states quote the student's file names, which may hold a line break or a bidi
    override: made printable here and in `file_states`, where every one enters a result."""
    notes = [*sub.notes, *more]
    if not notes:
        return dict(sub.student)
    return dict(sub.student, notes=bounded_notes(notes))


# Notes kept in a result, and characters a note. A legitimate upload draws a handful; each place
# that writes one per cell or per file groups them, and this bounds what any place forgets: a
# notebook of 90,000 cells holding one oddity each made a 40 MB result.json and a 21 MB report.
MAX_NOTES, MAX_NOTE = 100, 4_000


def bounded_notes(notes: Sequence[str]) -> list[str]:
    """The first MAX_NOTES notes, each cut to MAX_NOTE characters and made printable, and a
    last one counting those left out."""
    kept = [shortened(printable(n), MAX_NOTE) for n in notes[:MAX_NOTES]]
    if len(notes) > MAX_NOTES:
        kept.append(f"... and {len(notes) - MAX_NOTES:,} more notes, left out")
    return kept


MAX_NOTEBOOK_LABEL = 80  # characters of a notebook's name quoted in a message


def notebook_label(name: str) -> str:
    """A notebook's file name as the items' messages quote it: printable, and cut in the middle
    past MAX_NOTEBOOK_LABEL characters. It enters every missing function's message: a line
    break in a zip entry's name put a forged `Score:` line on the Gradescope page, an escape
    sequence or a right-to-left override reached the report as it was, and a name of 60,000
    characters made a 2.6 MB result.json. The record of what was graded keeps the name whole."""
    name = printable(name)
    if len(name) <= MAX_NOTEBOOK_LABEL:
        return name
    keep = MAX_NOTEBOOK_LABEL // 2
    return f"{name[:keep]}...{name[-keep:]}"


# Characters of one exercise file's state. Each name it quotes is cut already where it lists the
# upload; this bounds every other path in it (two folders of 60,000 characters, each holding an
# exercise1.py, made a state of 120,000 quoted on the page's top and in every item's test).
MAX_STATE = 2_000


def file_states(file_notes: dict[str, str]) -> dict[str, str]:
    """result.json's `files`: each exercise file's state, printable (see `student_record`) and
    cut in the middle past MAX_STATE characters, keeping its verdict and its advice."""
    return {f: shortened(printable(n), MAX_STATE) for f, n in file_notes.items()}


def decode_sources(sub: Submission, files: tuple[str, ...]):
    """Bytes -> text; a binary or non-UTF-8 file becomes an error for its exercise, not a crash.

    The text is what Python itself will read from the bytes (PEP 263): a coding line under which
    they decode to other text than UTF-8 shows (`# -*- coding: utf-7 -*-` with a `+AAo-` in a
    comment) is refused, so the text scanned is the text that runs.
    """
    sources: dict[str, str | None | Exception] = {}
    notes: dict[str, str] = {}
    for name in files:
        data = sub.files.get(name)
        if data is None:  # why it is absent (ambiguous, too large...) when the upload says
            sources[name], notes[name] = None, sub.absent.get(name, "missing")
            continue
        problem = undecodable(name, data)
        if not problem and (coding := declared_encoding(data)):
            # Python would decode these bytes by that declaration, not as the scan reads them.
            problem = f"{name}.py cannot be graded: {coding}"
        sources[name] = ValueError(problem) if problem else data.decode("utf-8-sig")
        notes[name] = str(sources[name]) if isinstance(sources[name], Exception) else "submitted"
    return sources, notes


_DIGEST: str | None = None


def content_digest(assignment: Assignment) -> str:
    """A hash of the assignment's name and of every file of its own: its package's folder, its
    suites and its rubric, wherever they are kept. grader_digest covers the grader's folder
    alone, and a course may keep its assignments outside it (course.yaml's `paths`): a rubric
    changed there (all-or-nothing for share-of-cases), a hidden case or a suite fixed, and the
    class's command kept every result as "unchanged since", scored by the old ones. Every file
    counts, not only .py and .yaml (hidden cases may be kept as data), each by its path inside
    its folder, so that the same course checked out elsewhere (a shard of a batch) keeps them."""
    h = hashlib.sha256(assignment.name.encode())
    roots = [Path(assignment.suites), Path(assignment.rubric)]
    if assignment.package:
        roots.append(assignment.content)
    for role, root in enumerate(roots):
        for path in [root] if root.is_file() else sorted(root.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                data = path.read_bytes()
                name = f"{role}/{path.relative_to(root) if path != root else ''}".encode()
                # Each name and file framed by its length, as fingerprint frames the uploads.
                h.update(b"%d\0%s%d\0" % (len(name), name, len(data)) + data)
    return h.hexdigest()


# What student code and the cases are run with besides the grader's files: the packages of the
# grading Python that the suites, the hidden cases' draws and student code call into.
RUNTIME_PACKAGES = ("torch", "numpy")


def runtime() -> str:
    """The Python that grades and its RUNTIME_PACKAGES' versions: `CPython 3.11.7; torch
    2.13.0+cpu; numpy 2.4.6`. Neither grader_digest nor content_digest covers them, and a
    torch upgraded under a course's environment (or a shard graded on another machine's) left
    every result "unchanged since": a student's call that torch has since added, removed or
    changed kept the score the old torch gave it. Read from the packages' metadata, not by
    importing them."""
    parts = [f"{platform.python_implementation()} {platform.python_version()}"]
    for name in RUNTIME_PACKAGES:
        try:
            parts.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            parts.append(f"{name} absent")
    return "; ".join(parts)


def grader_digest() -> str:
    """A hash of the grader's own source and content files: a new grader regrades everything."""
    global _DIGEST
    if _DIGEST is None:
        h = hashlib.sha256(__version__.encode())
        for p in sorted(GRADER_ROOT.rglob("*")):
            if p.suffix in (".py", ".yaml") and "__pycache__" not in p.parts:
                h.update(str(p.relative_to(GRADER_ROOT)).encode() + p.read_bytes())
        _DIGEST = h.hexdigest()
    return _DIGEST
