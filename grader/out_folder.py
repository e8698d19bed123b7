"""The results folder (OUT) of `grader grade`: made before the sandbox starts, and taken away
again when the input turns out not to be gradable.

Its own module, light on imports, because the command makes OUT before it starts the sandbox,
and the sandbox's zygote must start before the command imports torch: making OUT from batch.py
imported torch first (through the pipeline) and cost a cold grading 0.9 s.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from .submissions import SubmissionError


def make_out(out: Path) -> list[Path]:
    """OUT, made before the sandbox starts: where it lies in a folder the sandbox binds (a
    virtual environment made in the course's folder), only a folder that exists when the
    sandbox starts is covered (isolation.py), and results written later would be readable to
    every student graded after them. Returns the folders it made, outermost first (unmake_out
    takes them away again when the input turns out not to be gradable)."""
    if out.exists() and not out.is_dir():
        raise SubmissionError(f"--out {out} is a file: give --out a folder for the results")
    missing = [p for p in (out, *out.parents) if not os.path.lexists(p)][::-1]
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise SubmissionError(
            f"cannot make the results folder {out} ({e.strerror or e}): give --out a folder "
            "you can write"
        ) from None
    return missing


def unmake_out(made: list[Path]) -> None:
    """Remove the folders make_out made, innermost first, as long as they are still empty: a
    mistyped PATH leaves no empty results folder behind."""
    for folder in reversed(made):
        try:
            folder.rmdir()
        except OSError:
            return


class OutWriteError(SubmissionError):
    """OUT took no more writes (a full disk, a quota, a folder made read-only): the batch
    stops, since every result after would fail alike, and says so instead of a traceback."""


@contextlib.contextmanager
def writing_out(where: Path) -> Iterator[None]:
    """Writes into OUT; an OSError becomes an OutWriteError that names `where` and the fix.
    Results are written whole or not at all (render.write_atomic): those already written
    stand, and the same command, run again, grades the rest."""
    try:
        yield
    except OSError as e:
        raise OutWriteError(
            f"cannot write the results in {where} ({e.strerror or e}): a full disk, a quota or "
            "a folder you cannot write? Every result written so far is kept, whole: fix that "
            "and run the same command again to grade the rest"
        ) from None


@contextlib.contextmanager
def claimed(out: Path) -> Iterator[None]:
    """OUT for this batch alone while it runs. Two batches writing one OUT (two TAs, a second
    terminal) interleave their results, each one's summary blind to the other's students, and
    each sweeps the other's half-written files away as leftovers of a killed run. The claim is
    a lock on the folder itself, so nothing is written to take it, and the kernel drops it
    however the batch ends (its forked grader processes hold it as long as they live)."""
    fd = os.open(out, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise SubmissionError(
                f"another `grader grade` is writing into {out} right now: let it finish (or "
                "stop it) and run this again, or give this one another --out"
            ) from None
        yield
    finally:
        os.close(fd)
