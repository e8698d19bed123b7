"""The `grader` command: thin click front doors onto one grading pipeline and a few build steps.

Each command parses its options and hands over to the module that owns the idea; heavy imports
(torch, pytest) happen inside the commands so that `grader --help` stays instant.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import click

ROOT = Path(__file__).resolve().parent.parent


def _select(ctx: click.Context, param: click.Parameter, name: str | None) -> None:
    from .assignment import UnknownAssignment, select
    from .course import CourseError

    try:
        select(name)
    except (UnknownAssignment, CourseError) as e:
        raise click.BadParameter(str(e), ctx, param) from None


def _prestart_sandbox(
    count: int = 1, submissions: int = 1, keep_out: tuple[Path, ...] = ()
) -> None:
    """Launch the sandbox's zygote before this process imports torch: the two imports then run
    at once on two cores instead of one after the other (about 1.5 s off a cold grading); with
    `count` > 1, one zygote for each grader process a batch forks. It is launched with Ctrl-C
    and SIGTERM blocked, as `batch._start_grader` would; a failure here is left for the grader
    to meet and report when it starts its sandbox the ordinary way. `keep_out`: the paths the
    command reads and writes, as its grader will name them (a zygote told fewer may be
    replaced: client.Zygote)."""
    import contextlib

    from .sandbox import launch

    stopping = {signal.SIGINT, signal.SIGTERM}  # batch.STOP_SIGNALS, without importing torch
    blocking = hasattr(signal, "pthread_sigmask")
    if blocking:
        signal.pthread_sigmask(signal.SIG_BLOCK, stopping)
    try:
        with contextlib.suppress(Exception):
            launch.prestart(count, submissions, keep_out=keep_out)
    finally:
        if blocking:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, stopping)


def _end_unused_sandboxes() -> None:
    """End the zygotes `_prestart_sandbox` launched that no grader took: a batch refused before
    it starts (a path with nothing to grade, a torch the grader cannot seed) and a check of a
    folder that does not exist take none. The command's exit ended them anyway; run inside
    another process (the tests' CliRunner), they waited there, and that process's next
    `prestart` found them and launched none of its own."""
    from .sandbox import launch

    launch.reap(launch.hand_over(), seconds=0)


def _class_size(path: Path, leave_out: Path | None = None) -> int:
    """About how many submissions `path` holds, counted before anything is read, for the
    sandbox's start (`launch.huge_heap_pays`): one per entry of a folder (a folder, an upload
    or an export's metadata file are all close enough for a rule about dozens or hundreds),
    `leave_out` (the results' folder, if it lies there) not counted."""
    try:
        if not path.is_dir():
            return 1
        there = leave_out is not None and leave_out.is_dir() and _in_folder(leave_out, path)
        return sum(1 for _ in os.scandir(path)) - there
    except OSError:
        return 1  # the grader reports an unreadable folder itself


def _in_folder(entry: Path, folder: Path) -> bool:
    """Whether `entry` lies at the top of `folder`, however either is spelt."""
    return Path(os.path.realpath(entry)).parent == Path(os.path.realpath(folder))


# Every command that concerns an assignment takes it by name; it becomes what `load()` returns.
assignment_option = click.option(
    "-a",
    "--assignment",
    callback=_select,
    expose_value=False,
    metavar="NAME",
    help="The assignment (see `grader list`; default: the course's, in course.yaml).",
)


class _Commands(click.Group):
    """The command group: a mistake in an assignment's own files (a rubric's typo, a missing
    solution, stale stubs) is the TA's to fix, said in one line (`Error: ...`, exit 1) by every
    command, not a traceback whose last line holds the news. So is a torch whose generator
    cannot take a hidden case's secret (seeding.py): nothing is graded with it."""

    def invoke(self, ctx: click.Context) -> object:
        from .assignment import ContentError

        try:
            return super().invoke(ctx)
        except ContentError as e:
            raise click.ClickException(str(e)) from None
        except RuntimeError as e:
            # seeding imports torch, which the sandbox must start before: import it once raised.
            from .seeding import GeneratorLayoutError

            if isinstance(e, GeneratorLayoutError):
                raise click.ClickException(str(e)) from None
            raise


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Autograder for hand-written backprop: the course's assignments (see `grader list`)."""
    from .sandbox.launch import room_for_open_files

    if warning := room_for_open_files():
        click.echo(warning, err=True)


@main.command("list")
def list_assignments() -> None:
    """The course's assignments, one a line: name, a tab, title."""
    from .course import CourseError, assignments

    try:
        known = assignments()
    except CourseError as e:
        raise click.ClickException(str(e)) from None
    for a in known:
        click.echo(f"{a.name}\t{a.title}")


def _say_interrupted(out: Path, signum: int, started: bool = True, force: bool = False) -> NoReturn:
    """Say what a stopped `grader grade` keeps and how to go on, then exit 128 + `signum`, as a
    shell reports a signal. To the process's own stderr: with -j 1, pytest grades in a thread
    of this process and holds sys.stderr for its capture while a test runs, which a Ctrl-C can
    interrupt. At once: tearing torch down at exit takes seconds, and nothing is left.
    `started`: whether grading had begun (before, nothing was written, and OUT may be gone).
    `force`: the same command, --force and all, would regrade what this run had finished."""
    again = "the same command without --force" if force else "the same command"
    kept = (
        f"every result written so far is kept in {out}; run {again} again to grade the rest"
        if started
        else "stopped before grading began, nothing written; run the same command again to grade"
    )
    click.echo(f"\ninterrupted: {kept}{_stale_class_files(out)}", file=sys.__stderr__)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(128 + signum)


class _Terminated:
    """The SIGTERM `_terminated_raises` caught, if any."""

    def __init__(self) -> None:
        self.caught: list[int] = []

    def raise_(self, signum: int, frame: object) -> None:
        self.caught.append(signum)
        raise KeyboardInterrupt

    def signal(self, otherwise: int) -> int:
        """The signal that stopped the command: SIGTERM if caught here, else `otherwise`."""
        return self.caught[-1] if self.caught else otherwise


@contextlib.contextmanager
def _terminated_raises() -> Iterator[_Terminated]:
    """SIGTERM raises KeyboardInterrupt, as Ctrl-C does, for the whole command: `timeout` or a
    scheduler ending a batch in its first seconds (the sandbox starting, torch loading, before
    the batch's own handlers) killed it without a word, exit 143 and the empty OUT it had just
    made left behind, where the README promises Ctrl-C's message for SIGTERM too."""
    import threading

    found = _Terminated()
    if threading.current_thread() is not threading.main_thread():
        yield found  # signal handlers are the main thread's alone
        return
    previous = signal.signal(signal.SIGTERM, found.raise_)
    try:
        yield found
    finally:
        signal.signal(signal.SIGTERM, previous)


def _stale_class_files(out: Path) -> str:
    """What an interrupted run leaves stale: the class's files are written only when a run
    ends, so those in OUT are an earlier run's, whose scores a regraded result may contradict."""
    from .report.summary import GRADES_CSV, SUMMARY_HTML

    stale = [name for name in (SUMMARY_HTML, GRADES_CSV) if (out / name).exists()]
    if not stale:
        return ""
    return f"; {' and '.join(stale)} are still the last finished run's until then"


# Extra words after the one PATH reach the command (ctx.args), which says what they likely are.
ONE_PATH = {"allow_extra_args": True}


def one_path(ctx: click.Context, path: Path, after: str = "") -> None:
    """Refuse words beyond the one PATH, naming their usual cause: a folder whose name has a
    space, typed unquoted (`grader grade Week 3`), was told only click's "Got unexpected extra
    argument (3)". `after`: what follows student_text.one_path_only (check.py's words too);
    by default, that each class is graded by a command of its own."""
    if not ctx.args:
        return
    from .student_text import one_path_only, terminal_text

    words = [str(path), *ctx.args]
    after = after or ", and each class is graded by a command of its own"
    raise click.UsageError(terminal_text(one_path_only(words) + after))


@main.command(context_settings=ONE_PATH)
@assignment_option
@click.argument("path", type=click.Path(path_type=Path))
@click.option(
    "--out",
    "out",
    type=click.Path(path_type=Path),
    default=Path("reports"),
    show_default=True,
    help="Folder for result.json, report.html and the summary.",
)
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Submissions graded at once.",
)
@click.option("--force", is_flag=True, help="Regrade submissions already graded.")
@click.option("--public-only", is_flag=True, help="Run only the public cases.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@click.option(
    "--student-reports",
    is_flag=True,
    help="Also write student-report.html beside each report.html: a copy safe to hand to the "
    "student (no hidden cases' sizes, seeds or outputs).",
)
@click.option(
    "--upload-limit",
    "upload_limits",
    multiple=True,
    metavar="NAME=N",
    help="What is read of each upload: file_bytes, bytes, entries or depth, e.g. bytes=128MiB "
    "(defaults in docs/submissions.md).",
)
@click.option(
    "--one",
    is_flag=True,
    help="PATH is one student's upload (a late upload, a regrade): never read as a Gradescope "
    "export, an LMS download or a folder of submissions, whatever files it holds.",
)
@click.pass_context
def grade(
    ctx: click.Context,
    path: Path,
    out: Path,
    jobs: int,
    force: bool,
    public_only: bool,
    no_progress: bool,
    student_reports: bool,
    upload_limits: tuple[str, ...],
    one: bool,
):
    """Grade one submission, a folder of submissions, a Gradescope export or an LMS download
    into OUT.

    Ends with a summary: what PATH was read as (a student's upload holding a
    `submission_metadata.yml` reads as an export: give `--one`), how many were graded or reused,
    which need a look and why, where the pages are. Exits 0 whenever grading ran, whatever the
    students scored; 130 on Ctrl-C, 143 on SIGTERM, after which the same command finishes the
    rest.
    """
    one_path(ctx, path)
    from .assignment import ContentError
    from .out_folder import OutWriteError, make_out, unmake_out
    from .submissions import SubmissionError
    from .uploads import UploadLimits

    try:  # before OUT is made or the sandbox starts: a mistyped option leaves neither behind
        limits = UploadLimits.parse(upload_limits)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--upload-limit") from None
    with _terminated_raises() as terminated:  # the batch's own handlers take over meanwhile
        made: list[Path] = []
        try:
            size = 1 if one else _class_size(path, leave_out=out)
            try:
                made = make_out(out)  # before the sandbox starts, which hides it (make_out)
            except SubmissionError as e:
                raise click.ClickException(str(e)) from None
            # With -j N, one for each grader process; on huge pages for a class that pays for them.
            _prestart_sandbox(jobs, submissions=size, keep_out=(path, out))
            from .batch import grade_batch, stopped_by
            from .report.terminal import terminal_summary
        except KeyboardInterrupt:
            # Ctrl-C (or SIGTERM) while torch loads, before the batch's own handlers: click's
            # "Aborted!" and exit 1 said nothing of OUT, where the documented stop says what is
            # kept (exit 130, 143 for SIGTERM).
            unmake_out(made)
            _say_interrupted(out, terminated.signal(signal.SIGINT), started=False)

        try:
            done = grade_batch(
                path,
                out,
                jobs=jobs,
                force=force,
                public_only=public_only,
                progress=not no_progress,
                student_reports=student_reports,
                limits=limits,
                one=one,
            )
        except (SubmissionError, ContentError) as e:  # a rubric's typo: OUT is left as it was
            unmake_out(made)
            # A full OUT stops a batch after some results were written anew: the class's files are
            # still the last finished run's, as after a Ctrl-C, and disagree with those results.
            stale = _stale_class_files(out) if isinstance(e, OutWriteError) else ""
            raise click.ClickException(f"{e}{stale}") from None
        except KeyboardInterrupt:
            # Ctrl-C, or SIGTERM: the batch's (stopped_by), or ours between its handlers' turns
            _say_interrupted(out, terminated.signal(stopped_by()), force=force)
        finally:
            _end_unused_sandboxes()
    click.echo(
        terminal_summary(
            done,
            done.folders,
            graded=done.graded,
            reused=done.reused,
            out=out,
            is_batch=done.is_batch,
            student_reports=student_reports,
            read_as=f"{path} as {done.read_as}",
            uncopied=done.uncopied,
        )
    )


@main.command(context_settings=ONE_PATH)
@assignment_option
@click.argument("folder", type=click.Path(path_type=Path), default=Path("."))
@click.pass_context
def check(ctx: click.Context, folder: Path) -> None:
    """Run the public cases on your files and print a table like the lecture's `cmp`.

    FOLDER holds your files (default: the current folder); a zip of them or a notebook (.ipynb)
    is read as the grader reads an upload."""
    from .student_text import NOTHING_CHECKED

    one_path(ctx, folder, NOTHING_CHECKED)  # in check.py's words
    _prestart_sandbox(keep_out=(folder,))
    from .check import run_check

    try:
        code = run_check(folder)
    finally:
        _end_unused_sandboxes()  # a FOLDER refused before its grader started took none
    sys.exit(code)


@main.command()
@assignment_option
@click.option("--solutions", type=click.Path(path_type=Path), help="Default: the assignment's.")
@click.option("--out", type=click.Path(path_type=Path), help="Default: the assignment's stubs.")
def assign(solutions: Path | None, out: Path | None) -> None:
    """Generate the student stubs from the marked reference solutions."""
    from .assignment import load
    from .stubs import assignment_header, missing_functions, write_derived, write_stubs

    a = load()
    solutions, out = solutions or a.solutions, out or a.stubs
    missing_functions(a, solutions)
    stubs = write_stubs(solutions, out, a.file_names, assignment_header(a))
    for path in [*stubs, *write_derived(a, solutions, out)]:
        click.echo(f"wrote {path}")


@main.command()
@assignment_option
@click.argument("out", type=click.Path(path_type=Path), default=Path("build/examples"))
def examples(out: Path) -> None:
    """Write the example class (complete, blank and classic mistakes) into OUT (default:
    build/examples)."""
    from .assignment import load
    from .examples import write_examples

    a = load()
    for path in write_examples(a.solutions, a.stubs, out):
        click.echo(f"wrote {path}")


def dist_option(zip_name: str):
    """`--out`, the folder a built zip goes to: dist/ unless told, which --help says."""
    return click.option(
        "--out",
        type=click.Path(path_type=Path),
        default=Path("dist"),
        show_default=True,
        help=f"Folder for {zip_name}.",
    )


@main.command()
@assignment_option
@dist_option("<assignment>-student.zip")
def bundle(out: Path) -> None:
    """Write the student bundle: stubs, the public check and a student README."""
    from .bundle import write_student_bundle

    click.echo(f"wrote {write_student_bundle(out)}")


@main.command("gradescope-zip")
@assignment_option
@dist_option("<assignment>-autograder.zip")
def gradescope_zip(out: Path) -> None:
    """Write the Gradescope autograder zip (setup.sh, run_autograder, grader, hidden suites)."""
    from .gradescope.package import PackageError, write_autograder_zip

    try:
        click.echo(f"wrote {write_autograder_zip(out)}")
    except PackageError as e:
        raise click.ClickException(str(e)) from None


@main.command("gradescope-run")
@click.option("--root", type=click.Path(path_type=Path), default=Path("/autograder"))
def gradescope_run(root: Path) -> None:
    """Grade ROOT/submission and write ROOT/results/results.json (what run_autograder calls)."""
    from .gradescope.run import grading_paths, run_autograder

    _prestart_sandbox(keep_out=grading_paths(root))

    run_autograder(root)


@main.command()
@assignment_option
@click.argument("file", metavar="[FILE]", type=click.Path(path_type=Path), required=False)
@click.option(
    "--data",
    type=click.Path(path_type=Path),
    help="A names file, one name per line (the lecture's names.txt; default: US census "
    "first names).",
)
@click.option("--steps", type=int, default=3000, show_default=True)
@click.option(
    "--check-steps",
    type=int,
    default=3,
    show_default=True,
    help="Compare your gradients with autograd for the first steps.",
)
@click.option("--seed", type=int, default=2147483647, show_default=True)
def train(file: Path | None, data: Path | None, steps: int, check_steps: int, seed: int):
    """Train the assignment's model with the backward functions in your FILE (the file that
    holds them; default: the solution)."""
    from .assignment import load

    a = load()
    if a.training_demo is None:
        raise click.ClickException(f"assignment {a.name!r} has no training demo")
    a.training_demo(
        a,
        file,
        data=data,
        steps=steps,
        check_steps=check_steps,
        seed=seed,
    )


def run() -> NoReturn:
    """The command as a program (`grader`, `python -m grader.cli`): `main`, then an exit that
    skips tearing the interpreter down. With torch imported that teardown (torch's C++
    destructors, every module's objects freed one by one) took 0.25-0.35 s, a sixth of a
    single grading; it does nothing a finished command needs. What a program's exit must still
    do is done first: atexit functions (temporary folders, logging, multiprocessing) and the
    standard streams flushed."""
    try:
        main()  # click's standalone mode ends every run, success included, in SystemExit
        code = 0
    except SystemExit as e:
        code = e.code
    leave(code)


def leave(code: object) -> NoReturn:
    """Exit with `code` as `sys.exit(code)` would, without the interpreter's teardown."""
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:  # sys.exit("message"): the message goes to stderr, the status is 1
        print(code, file=sys.stderr)
        status = 1
    _flush()
    atexit._run_exitfuncs()
    _flush()
    os._exit(status & 0xFF)


def _flush() -> None:
    import contextlib

    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError, AttributeError):  # closed: nothing to keep
            stream.flush()


if __name__ == "__main__":
    run()
