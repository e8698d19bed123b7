"""Grading many submissions: parallel, resumable, atomic, and never stopped by one of them.

The parent discovers submissions, skips those whose result.json already carries the current
fingerprint and no verdict the run's conditions gave (`limits_reached`: a timeout, a memory
refusal), and hands the rest to `jobs` grader processes. Each grader process is forked from a
parent that has already imported torch and built the cases (torch on one thread, and no other
thread that could hold a lock at the fork: see `_Bar`), and keeps one warm sandbox for all its
submissions. Each result is written atomically the moment it is done, so a batch killed at any
point resumes where it stopped.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import html
import json
import multiprocessing
import os
import signal
import threading
import traceback
from collections.abc import Iterator
from pathlib import Path

from tqdm import tqdm

from . import jsontext
from .out_folder import OutWriteError, claimed, make_out, writing_out
from .pipeline import Grader, grader_failure
from .report import write_batch_reports, write_submission_report
from .report.html import STUDENT_REPORT, write_student_report
from .report.render import write_atomic
from .report.summary import GRADES_CSV, SUMMARY_HTML, SUMMARY_JSON, digest
from .sandbox import launch
from .sandbox.inside import confine
from .submissions import (
    Found,
    Submission,
    SubmissionError,
    assign_folders,
    find,
    in_natural_order,
)
from .uploads import UploadLimits
from .valid_text import is_valid, valid_json

RESULT = "result.json"
# What the batch writes at the top of OUT: no submission's folder may take one of these names.
BATCH_FILES = frozenset({GRADES_CSV, SUMMARY_HTML, SUMMARY_JSON})


def grade_batch(
    path: Path,
    out: Path,
    *,
    jobs: int = 1,
    force: bool = False,
    public_only: bool = False,
    progress: bool = True,
    student_reports: bool = False,
    limits: UploadLimits | None = None,
    one: bool = False,
) -> BatchResults:
    """Grade everything under `path` into `out`; returns every submission's result.json.

    `one`: `path` is one student's upload, never read as a class (`submissions.find`).
    Ctrl-C (KeyboardInterrupt) stops it within a moment, grader processes and all; every result
    already written stays, and the same command later grades only what is left. SIGTERM does
    the same, raised as KeyboardInterrupt too (`stopped_by` tells them apart).
    """
    make_out(out)
    _refuse_writing_over(path, out)
    _STOPPED_BY[:] = []
    with claimed(out), _terminated_as_interrupted():
        return _grade_into(
            path, out, jobs, force, public_only, progress, student_reports, limits, one
        )


def _grade_into(
    path: Path,
    out: Path,
    jobs: int,
    force: bool,
    public_only: bool,
    progress: bool,
    student_reports: bool,
    limits: UploadLimits | None,
    one: bool,
) -> BatchResults:
    """grade_batch's work, once OUT is this batch's alone."""
    grader = _start_grader(public_only, keep_out=(path, out))
    found = _discover(path, grader, out, limits, one)
    subs, is_batch = found.subs, found.is_batch
    todo = [s for s in subs if force or not _reused(s, out, grader)]
    bar = _Bar(
        total=len(subs),
        initial=len(subs) - len(todo),
        unit="submission",
        # None: shown on a terminal only. A batch's log (a scheduler's, `2> log`) held the
        # bar's every redraw, a screen of carriage returns before the command's last lines.
        disable=None if progress else True,
        desc="grading",
    )
    written: dict[str, str | None] = {}  # slug -> its digest as JSON text, ~14 KB
    try:
        with _noting_interrupts():
            for slug, summary in _grade_all(grader, todo, jobs, out):
                written[slug] = summary
                bar.update()
    finally:
        bar.close()
    grader.close()
    launch.reap(launch.hand_over(), seconds=0)  # launched for grader processes that never came
    # Digests, not whole results: memory must not grow with the class (summary.digest). Those
    # graded now came back with their grading; only results kept from before are read again.
    results = [
        json.loads(written.pop(s.slug))
        if written.get(s.slug)
        else digest(_read_result(out / s.slug))
        for s in subs
    ]
    with writing_out(out):
        if is_batch:
            left_out = found.left_out_note()
            write_batch_reports(
                results, out, [s.slug for s in subs], left_out[:1].upper() + left_out[1:]
            )
        uncopied = _write_student_reports(subs, out) if student_reports else []
    return BatchResults(
        results,
        graded=len(todo),
        reused=len(subs) - len(todo),
        out=out,
        is_batch=is_batch,
        folders=[s.slug for s in subs],
        read_as=found.described(),
        uncopied=uncopied,
    )


class BatchResults(list):
    """Every submission's result.json in batch order, as `summary.digest`s (without the cases:
    read those from `out / folders[k] / result.json`), and what this run did to get them."""

    def __init__(
        self,
        results: list[dict],
        *,
        graded: int,
        reused: int,
        out: Path,
        is_batch: bool,
        folders: list[str],
        read_as: str = "",
        uncopied: list[str] | None = None,
    ) -> None:
        super().__init__(results)
        self.graded = graded  # graded by this run
        self.reused = reused  # already graded with the same fingerprint: kept as they were
        self.out = out
        self.is_batch = is_batch
        self.folders = folders  # results[k] lives in out / folders[k]
        self.read_as = read_as  # what PATH was read as: "a Gradescope export: 2 submissions"
        self.uncopied = uncopied or []  # folders whose student's copy could not be drawn


# What stops a batch: Ctrl-C, and SIGTERM (`kill PID`, `timeout`, a scheduler ending the job),
# which stops it the same way (it ended the process at once, with not a word said).
STOP_SIGNALS = frozenset({signal.SIGINT, signal.SIGTERM})


def _start_grader(public_only: bool, keep_out: tuple[Path, ...]) -> Grader:
    """The grader, built with Ctrl-C and SIGTERM blocked. A terminal's SIGINT (and a SIGTERM
    sent to the process group) reaches the whole group: anything started meanwhile (the
    sandbox, when this started it too) keeps them blocked for good and dies with the batch
    instead; this thread takes them back afterwards, and one sent meanwhile is delivered
    then, not lost. `keep_out`: the batch's
    submissions and results, which its sandboxes open no way to (client.Zygote).
    """
    blocking = hasattr(signal, "pthread_sigmask")
    if blocking:
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        # No sandbox yet: a batch grades in forked grader processes, each with a zygote of its
        # own (the command launched them early, `launch.prestart`); a single submission takes
        # its zygote when it is graded, by then as ready as a thread started here would make it.
        return Grader(public_only=public_only, eager_sandbox=False, keep_out=keep_out)
    finally:
        if blocking:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)


_STOP = threading.Event()  # set by Ctrl-C or SIGTERM while this process grades
_STOPPED_BY: list[int] = []  # the signal that stopped the running batch, first


def stopped_by() -> int:
    """The signal that stopped the last batch: SIGINT for Ctrl-C, or for a KeyboardInterrupt
    raised without one; SIGTERM. The command exits 128 + it, as a shell reports a signal."""
    return _STOPPED_BY[0] if _STOPPED_BY else signal.SIGINT


@contextlib.contextmanager
def _terminated_as_interrupted() -> Iterator[None]:
    """SIGTERM raises KeyboardInterrupt, as Ctrl-C does, for the whole batch (reading the
    class, writing the summary): the command then says what is kept and ends cleanly."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminated(signum: int, frame: object) -> None:
        _STOPPED_BY.append(signum)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def _noting_interrupts() -> Iterator[None]:
    """Ctrl-C (or SIGTERM) is noted as well as raised. The suites run under pytest in this
    process, and pytest catches KeyboardInterrupt: the result it hands back would be a grader
    failure, saved as the student's and never regraded. The note stops that result from being
    written."""
    _STOP.clear()
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    done = threading.Event()
    nudger = threading.Thread(target=_nudge, args=(done,), daemon=True)

    def interrupted(signum: int, frame: object) -> None:
        if done.is_set():
            return  # a late nudge, after the batch has stopped: already handled
        if not _STOP.is_set():
            _STOPPED_BY.append(signum)
            _STOP.set()
            nudger.start()
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, interrupted) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        done.set()
        if nudger.is_alive():
            nudger.join()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _nudge(done: threading.Event) -> None:
    """Ctrl-C again, every half second, until the batch has stopped: one KeyboardInterrupt can be
    swallowed (pytest's) or outlasted (the session joining a student's slow import)."""
    while not done.wait(0.5):
        os.kill(os.getpid(), signal.SIGINT)


def _write_student_reports(subs: list[Submission], out: Path) -> list[str]:
    """student-report.html beside each report.html: the copy that can go to the student.
    Returns the folders it could not be drawn for. One copy that fails to render (a report
    bug) once ended the loop, and every student after it had no copy; it leaves no file (an
    older copy would give an old score, and a page of the error could show what the copy
    withholds) and is named to the TA instead."""
    uncopied = []
    for sub in subs:
        folder = out / sub.slug
        try:
            write_student_report(_read_result(folder), folder)
        except Exception:  # noqa: BLE001 - one copy's bug must not cost the others theirs
            (folder / STUDENT_REPORT).unlink(missing_ok=True)
            uncopied.append(sub.slug)
    return uncopied


def _read_result(folder: Path) -> dict:
    return json.loads((folder / RESULT).read_text())


def _discover(
    path: Path, grader: Grader, out: Path, limits: UploadLimits | None, one: bool = False
) -> Found:
    """The submissions, each with an output folder of its own that no batch file can take.

    Uploads are read straight from their folders and zips, one submission at a time, into
    memory (at most the exercise files, each capped): nothing is unpacked to disk, so nothing
    is left behind when a batch is killed.
    """
    found = find(path, grader.assignment.files, limits, one=one, leave_out=out)
    _sweep_temporaries(out)
    assign_folders(found.subs, reserved=set(BATCH_FILES) | _top_files(out))
    found.subs = in_natural_order(found.subs)
    _refuse_writing_over(path, out, found.subs)
    return found


def _refuse_writing_over(path: Path, out: Path, subs: list[Submission] = ()) -> None:
    """Refuse a PATH that this batch would write its results into: OUT itself, or the folder
    of one of its submissions (`grader grade reports/alice --out reports`). A results folder
    read as PATH holds no exercise files, and `grader grade reports`, with --out's default
    `reports`, graded every student there anew as "no exercise files found": every result and
    the gradebook replaced by zeros. A class's uploads given as OUT too had results and
    summaries written among them."""
    real = Path(os.path.realpath(path))
    if Path(os.path.realpath(out)) == real:
        raise SubmissionError(
            f"--out {out} is {path} itself: give PATH the students' uploads (a folder or an "
            f"export zip) and --out a folder of its own (inside PATH is fine: {path}/reports)"
        )
    for sub in subs:
        if Path(os.path.realpath(out / sub.slug)) == real:
            raise SubmissionError(
                f"{path} is where this batch writes {sub.name!r}'s results (--out {out}): "
                "give PATH the student's upload, not a folder of results"
            )


def _top_files(out: Path) -> set[str]:
    """Files (not folders) already at the top of OUT: a TA's notes, another tool's output."""
    try:
        return {e.name for e in os.scandir(out) if not e.is_dir(follow_symlinks=False)}
    except OSError:
        return set()


def _sweep_temporaries(out: Path) -> None:
    """A run killed mid-write leaves `.result.json.XXXX`; the finished file was never replaced."""
    for stale in [*out.glob("*/.*.*.*"), *out.glob(".*.*.*")]:
        if stale.name.startswith(
            (f".{RESULT}.", ".report.html.", *(f".{f}." for f in BATCH_FILES))
        ):
            stale.unlink(missing_ok=True)


def _redraw(result: dict, folder: Path) -> None:
    # On any failure the old report stays; the result itself is intact.
    with contextlib.suppress(Exception):
        write_submission_report(result, folder)


def _reused(sub: Submission, out: Path, grader: Grader) -> bool:
    """Whether `sub`'s result.json stands: graded from the same files by the same grader, and
    no verdict of it came from a limit the run's conditions set (`limits_reached`: a timeout,
    memory), which is graded again rather than kept, as a grader failure is but with no flag.

    A result kept is made to say what this run's discovery says of `sub` (who it belongs to,
    its notes and review flags: `Grader.discovered`), which the fingerprint does not cover:
    a group partner added in the export's metadata changes no file, and grades.csv would give
    the score to the old members. Taking them over, rather than regrading, keeps results graded
    apart (README: scaling out) reused where they are merged under the export's names. Its pages
    are drawn again either way: the templates may have changed.
    """
    folder = out / sub.slug
    try:
        old = json.loads((folder / RESULT).read_text())
    except (OSError, ValueError):
        return False
    if not isinstance(old, dict):
        return False
    if old.get("fingerprint") != grader.fingerprint(sub) or old.get("submission") != sub.name:
        return False
    if old.get("limits_reached"):
        # A timeout or a memory refusal: the machine's load or this batch's -j may have decided
        # it, and a TA who fixed those and ran the command again got the old verdict back.
        return False
    fresh = grader.discovered(sub, old)
    # Compared as written (valid text, JSON's types), so that an unchanged result is not
    # written again at every run.
    if any(_as_written(v) != old.get(k) for k, v in fresh.items()):
        write_result({**old, **fresh}, folder)
    else:
        _redraw(old, folder)
    return True


def _as_written(value: object) -> object:
    return json.loads(json.dumps(valid_json(value), ensure_ascii=False))


def _grade_all(
    grader: Grader, subs: list[Submission], jobs: int, out: Path
) -> Iterator[tuple[str, str | None]]:
    """Grade and write each submission, yielding its slug and the digest of what was written
    (`write_result`) once its result is on disk.

    Each grader process writes its own results and reports, so the parent does no rendering.
    """
    if len(subs) <= 1:
        for sub in subs:
            yield sub.slug, _grade_and_write(grader, sub, out)
        return
    # Even with -j 1, never in this process: a grader process that dies (the OOM killer, a
    # crash) would take the batch with it, and every submission after the one that did it.
    grader.close()  # children start their own sandbox; the parent keeps none
    # The container's memory for every student process of the batch (launch.memory_at_start),
    # taken here, before any student code of the batch ran: taken by each grader process as it
    # first grades, the last to start would count what another's students already held.
    launch.memory_at_start()
    # Their student processes share it: up to `jobs` submissions' files at once.
    grader.grading_at_once(min(jobs, len(subs)))
    global _PARENT_GRADER, _STATE
    _PARENT_GRADER = grader  # the cases it built are inherited by every forked child
    _STATE = multiprocessing.get_context("fork").RawArray("b", len(subs))  # shared with them
    handed: list[launch.Launched] = []
    try:
        yield from _in_pools(subs, jobs, out, handed)
    finally:
        launch.reap(handed)


# What each submission of a pooled batch is at, written by the grader process grading it: when
# a grader process dies, every submission of its pool fails alike, and only this tells which
# were being graded then.
QUEUED, STARTED, DONE = 0, 1, 2
_STATE = None


def _in_pools(
    subs: list[Submission], jobs: int, out: Path, handed: list
) -> Iterator[tuple[str, str | None]]:
    """Grade `subs` in pools of forked grader processes, yielding (slug, digest) as results are
    written.

    A grader process that dies (a crash, the OOM killer) breaks its whole pool. Submissions not
    yet started are simply queued again; those being graded at that moment (the culprit among
    them, if one submission is to blame) are graded again one at a time, each alone in its pool,
    where a death can only be its own. A submission that kills a grader process twice that way
    gets a grader failure; nobody else's result is touched by it. Pools that keep breaking
    before grading anything (the machine's fault) end in failures too, never in a loop.
    """
    todo, alone = list(range(len(subs))), []
    deaths, breaks = [0] * len(subs), [0] * len(subs)
    while todo or alone:
        solo = not todo
        group, workers = (alone[:1], 1) if solo else (todo, jobs)
        broken = yield from _one_pool([(k, subs[k]) for k in group], workers, out, handed)
        started = [k for k in broken if _STATE[k] == STARTED]
        for k in started if solo else []:
            deaths[k] += 1  # alone in its pool: the death was its own
        for k in broken if not started else []:
            breaks[k] += 1  # broke before grading anything: not a submission's doing
        given_up = [k for k in broken if deaths[k] >= 2 or breaks[k] >= MAX_BREAKS]
        for k in given_up:
            why = "died twice while grading it alone" if deaths[k] >= 2 else "kept dying"
            sub = subs[k]
            failure = grader_failure(_PARENT_GRADER, sub, f"its grader process {why}")
            yield sub.slug, write_result(failure, out / sub.slug)
        again = [k for k in broken if k not in given_up]
        if solo:
            alone = again + alone[1:]
        else:
            todo = [k for k in again if k not in started]
            alone += [k for k in again if k in started]


MAX_BREAKS = 4  # pools that break before grading anything, before the batch gives up


def _one_pool(group: list[tuple[int, Submission]], jobs: int, out: Path, handed: list):
    """Grade `group` in `jobs` forked grader processes; returns the indices of those whose pool
    broke under them (a grader process died). Each grader process adopts one of the zygotes the
    command launched before importing torch (`launch.prestart`), if there is one left."""
    broken = []
    ctx = _GraderProcesses()
    counter = ctx.Value("i", 0)
    for k, _ in group:
        _STATE[k] = QUEUED
    with cf.ProcessPoolExecutor(
        jobs,
        mp_context=ctx,
        initializer=_start_grader_process,
        initargs=(counter, jobs, os.getpid()),
    ) as pool:
        futures: dict[cf.Future, tuple[int, Submission]] = {}
        try:
            for k, sub in group:
                futures[pool.submit(_grade_in_child, k, sub, out)] = (k, sub)
        except cf.process.BrokenProcessPool:  # it broke before all were handed to it
            broken += [k for k, _ in group[len(futures) :]]
        handed += launch.hand_over()  # the pool forks its processes at the first submit
        for fut in _completed_or_stop(pool, futures):
            k, sub = futures[fut]
            try:
                summary = fut.result()
            except cf.process.BrokenProcessPool:
                broken.append(k)
                continue
            except OutWriteError:
                raise  # OUT takes no more: a "grader failed" result could not be written either
            except Exception:  # noqa: BLE001
                failure = grader_failure(_PARENT_GRADER, sub, traceback.format_exc())
                summary = write_result(failure, out / sub.slug)
            yield sub.slug, summary
    return broken


class _GraderProcess(multiprocessing.context.ForkProcess):
    """A forked grader process, ended with SIGKILL when its pool ends it. It ignores SIGTERM
    (the batch's to handle, below), and Python 3.12's pool ends the survivors of a broken pool
    with SIGTERM alone before waiting for them: the batch waited for good on the first death.
    Its sandbox dies with it (PR_SET_PDEATHSIG)."""

    def terminate(self) -> None:
        self.kill()


class _GraderProcesses(multiprocessing.context.ForkContext):
    """The fork context whose processes are `_GraderProcess`es."""

    Process = _GraderProcess


class _Bar(tqdm):
    """The batch's progress bar, without tqdm's monitor thread: it wakes every few seconds and
    takes tqdm's lock, and the grader processes are forked while the bar is up. A fork while it
    held the lock would leave the child a lock nobody releases (Python 3.12 warns of any thread
    at a fork). The bar is moved by hand, once per result, so the monitor has nothing to do."""

    monitor_interval = 0


_PARENT_GRADER: Grader | None = None


def _start_grader_process(counter, jobs: int, parent: int) -> None:
    """In each forked grader process: Ctrl-C and SIGTERM are the parent's to handle (it kills
    its children; a signal to the whole process group reaches them too);
    the zygote it grades with is the next one the command launched early, if any, and it runs
    on that zygote's CPU when the batch has one for each (`launch.cpu_for`)."""
    for sig in STOP_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)
    _end_with(parent)
    with counter.get_lock():
        index, counter.value = counter.value, counter.value + 1
    launch.adopt(index)
    cpu = launch.cpu_for(index, jobs)
    if cpu is not None:
        launch.pin(cpu)  # the threads it starts, and any zygote, inherit it


def _end_with(parent: int) -> None:
    """This grader process ends when the batch's process does, however that ends (`kill PID`,
    `timeout`, the OOM killer; Ctrl-C is handled above). Orphaned, it waited for good on a
    queue nobody would fill or read any more, holding its sandbox, and could still write
    into OUT beside a rerun. Its sandbox ends with it (PR_SET_PDEATHSIG, bubblewrap's
    --die-with-parent)."""
    with contextlib.suppress(OSError, AttributeError):
        confine.prctl(confine.PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent ended before the signal was asked for
        os._exit(1)


def _completed_or_stop(pool: cf.ProcessPoolExecutor, futures: dict) -> Iterator[cf.Future]:
    """The futures as they finish; on Ctrl-C (or any error) the pool's processes are killed at
    once and nothing more is scheduled, instead of waiting for the submissions in flight."""
    try:
        yield from cf.as_completed(futures)
    except BaseException:
        for proc in list((getattr(pool, "_processes", None) or {}).values()):
            with contextlib.suppress(Exception):
                proc.kill()  # its sandbox processes die with it (PR_SET_PDEATHSIG)
        pool.shutdown(wait=False, cancel_futures=True)
        raise


def _grade_in_child(k: int, sub: Submission, out: Path) -> str | None:
    _STATE[k] = STARTED
    summary = _grade_and_write(_PARENT_GRADER, sub, out)
    _STATE[k] = DONE
    return summary


def _grade_and_write(grader: Grader, sub: Submission, out: Path) -> str:
    try:
        result = grader.grade(sub).to_json()
    except Exception:  # noqa: BLE001 - one submission's trouble never stops the batch
        result = grader_failure(grader, sub, traceback.format_exc())
    if _STOP.is_set():
        raise KeyboardInterrupt  # stopped during this grading: its result is not the student's
    return write_result(result, out / sub.slug)


def write_result(result: dict, folder: Path) -> str:
    """result.json and report.html, each written whole or not at all; returns the digest of
    result.json (`summary.digest`) as JSON text, so that a batch draws its summary without
    parsing every result again (~6 ms each). Text, not objects: a batch's process holds one per
    submission until the end, ~14 KB each as text against ~45 KB as Python objects."""
    with writing_out(folder):
        return _write_result(result, folder)


def _write_result(result: dict, folder: Path) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    text = jsontext.dumps(result, indent=1, ensure_ascii=False)
    if not is_valid(text):  # a lone surrogate (valid_text): the report and digest say the same
        result = valid_json(result)
        text = jsontext.dumps(result, indent=1, ensure_ascii=False)
    try:
        write_submission_report(result, folder)
    except Exception:  # noqa: BLE001 - a report bug must not cost the student their result
        detail = html.escape(traceback.format_exc()[-2000:])
        write_atomic(
            folder / "report.html",
            "<!doctype html><meta charset=utf-8><title>report"
            f"</title><p>The report could not be drawn; result.json is whole.<pre>{detail}</pre>",
        )
    # A student's copy drawn from the result this one replaces would still give the old score to
    # whoever sends it (a rerun without --student-reports kept it beside the new report);
    # --student-reports draws it again from this result once the batch is done.
    (folder / STUDENT_REPORT).unlink(missing_ok=True)
    # result.json last: its presence (with the current fingerprint) is what "done" means.
    write_atomic(folder / RESULT, jsontext.inert(text))
    # Read back through JSON, it is what the file gives: a tuple becomes a list, a key a string.
    return json.dumps(digest(result), ensure_ascii=False, separators=(",", ":"))
