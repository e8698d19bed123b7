"""The results folder (OUT) of `grader grade`: made before the sandbox starts, and taken away
again when the input turns out not to be gradable.

Its own module, light on imports, because the command makes OUT before it starts the sandbox,
and the sandbox's zygote must start before the command imports torch: making OUT from batch.py
imported torch first (through the pipeline) and cost a cold grading 0.9 s.
"""

from __future__ import annotations

import os
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
