"""Which exercise a file name means: its exact name, or a variant that a browser, a file manager
or a student makes (`exercise1 (1).py`, `Exercise 1.py`, `exercise_01.py`, `exercise1 - Copy.py`).

The grader (submissions.py) and the student bundle's check.py both read names with it, so that
the check takes the file the grader will take: check.py once called a browser's `exercise1 (1).py`
"not submitted", which the grader grades. It ships to students: standard library only.
"""

from __future__ import annotations

import re
import unicodedata

# What browsers, file managers and students append to a name: " (1)", "(2)", "-1", " - Copy",
# " (copy)", " (copy 2)".
COPY = re.compile(
    r"(\s*\(\d+\)|[\s_-]+\d+|[\s_-]*(-\s*)?copy(\s*\(?\d+\)?)?|\s*\(copy(\s*\d+)?\))$"
)
SEPARATORS = re.compile(r"[\s_.-]+")
DRIVE_COPY = re.compile(r"^(copy of\s+)+", re.IGNORECASE)  # a copy of a copy: "Copy of Copy of"
SAVED_AS_TEXT = ".txt"  # appended to a whole file name, suffix included: a variant
MAX_VARIANT_STEM = 200  # characters: a variant is an exercise's name plus a copy's suffix


def plain(stem: str) -> str:
    """`Exercise_01` -> `exercise1`: case, separators and leading zeros of numbers dropped."""
    squeezed = SEPARATORS.sub("", stem.casefold())
    return re.sub(r"0+(\d)", r"\1", squeezed)


def _end_of_name(name: str) -> int:
    """Where `name` ends before its trailing dots and blanks: one pass, however they alternate
    (stripping dots then blanks again and again would take a pass for each)."""
    end = len(name)
    while end and (name[end - 1] == "." or name[end - 1].isspace()):
        end -= 1
    return end


def match_name(
    filename: str, files: tuple[str, ...], suffixes: tuple[str, ...]
) -> tuple[str, int] | None:
    """Which of `files` a file name means and how surely (0: its exact name, 1: a variant, 2: a
    file saved as text, or a name with trailing dots); `suffixes`: the kinds of file read
    (".py", and ".ipynb" where notebooks are)."""
    name = unicodedata.normalize("NFC", filename).strip()
    if name.endswith("."):
        # `exercise1.py.`: Windows drops a name's trailing dots and reads it as `exercise1.py`,
        # but no tool there makes one, and beside exercise1.py it was no copy at all (no note
        # named it, and its work beside an untouched stub raised no flag). Below every variant.
        within = match_name(name[: _end_of_name(name)], files, suffixes)
        return (within[0], 2) if within else None
    if name.casefold().endswith(SAVED_AS_TEXT):
        # `exercise3.py.txt`: an editor or a browser that saved the file as text (TextEdit,
        # Notepad, a mail attachment). It scored 0 for the exercise, "exercise3.py was not
        # submitted", beside a summary listing the file.
        inner = name[: -len(SAVED_AS_TEXT)]
        if inner.casefold().endswith(SAVED_AS_TEXT):
            return None
        # Below every variant: `exercise3 (1).py` beside it is the student's Python more surely
        # (tied as two variants, and differing, they left the exercise ungraded).
        within = match_name(inner, files, suffixes)
        return (within[0], 2) if within else None
    suffix = next((s for s in suffixes if name.casefold().endswith(s)), None)
    if suffix is None:
        return None
    stem = name[: -len(suffix)].strip()
    exact = [f for f in files if stem.casefold() == f.casefold()]
    if exact:
        return exact[0], 0
    if len(stem) > MAX_VARIANT_STEM:
        # No browser writes "exercise1 - Copy (2)" that long, and `COPY` backtracks from every
        # position of a long run of blanks: 65,000 characters, allowed in a zip, took minutes.
        return None
    # Google Drive names a copy "Copy of exercise1.py" (a Colab student's files live there), and
    # an editor that adds the suffix to one typed makes "exercise1.py.py": both read as no
    # exercise, and the exercise scored 0 as "not in your upload".
    stem = DRIVE_COPY.sub("", stem).removesuffix(suffix).removesuffix(suffix.upper())
    variants = {plain(stem), plain(COPY.sub("", stem.casefold()))}
    hits = [f for f in files if plain(f) in variants]
    return (hits[0], 1) if len(hits) == 1 else None
