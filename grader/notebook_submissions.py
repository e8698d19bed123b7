"""Notebooks in a submission: which one is graded, and whether it or the .py files are.

Called once where a submission's files are collected (grader/submissions.py), for every front
door (`grader grade`, `grader check`, Gradescope). The rules, each reported in a note:
- A notebook is any `*.ipynb` at most three folders deep, under any name (`Copy of
  backprop_ninja.ipynb` is what Colab downloads); `.ipynb_checkpoints` and links are ignored.
- Two notebooks: the one with the most implemented gradient functions is graded (ties: the
  shallower, then the first by name); the note names both.
- A notebook and exercise .py files: the .py files are graded, unless they hold no work (every
  function still an untouched stub raising NotImplementedError, or no function at all), as when
  a student zips the whole bundle folder after working in the notebook; then the notebook is.
"""

from __future__ import annotations

import stat
from pathlib import Path

from .assignment import load
from .notebook import SUFFIX, NotebookError, NotebookRead, is_untouched_stub, read_notebook

MAX_DEPTH = 3
MAX_NOTEBOOKS = 20  # read at most this many; a submission is one student's work
IGNORED = {"__MACOSX", "__pycache__", ".git", ".ipynb_checkpoints"}


def find_notebooks(root: Path) -> list[Path]:
    """Regular `.ipynb` files under root, shallowest first; no links, FIFOs or junk folders."""
    found: list[Path] = []
    frontier = [root]
    for _ in range(MAX_DEPTH + 1):
        nxt = []
        for folder in frontier:
            for p in _entries(folder):
                if _regular(p) and p.name.lower().endswith(SUFFIX):
                    found.append(p)
                elif _directory(p):
                    nxt.append(p)
        frontier = nxt
    return found[:MAX_NOTEBOOKS]


def is_notebook_submission(folder: Path, files: tuple[str, ...]) -> bool:
    """Whether a folder holding a notebook itself is one submission, not a class of them.

    It is, unless two or more folders inside hold a notebook or an exercise file of their own:
    a TA's notes.ipynb beside the students' folders must not turn the class into one student.
    """
    if not any(p.parent == folder for p in find_notebooks(folder)):
        return False
    wanted = {f + ".py" for f in files}

    def has_work(d: Path) -> bool:
        return any(
            _regular(p) and (p.name.lower() in wanted or p.name.lower().endswith(SUFFIX))
            for p in _entries(d)
        )

    return sum(has_work(d) for d in _entries(folder) if _directory(d)) < 2


def _entries(folder: Path) -> list[Path]:
    try:
        return [p for p in sorted(folder.iterdir()) if p.name not in IGNORED and p.name[:1] != "."]
    except OSError:
        return []


def _regular(p: Path) -> bool:
    try:
        return stat.S_ISREG(p.lstat().st_mode)
    except OSError:
        return False


def _directory(p: Path) -> bool:
    try:
        return stat.S_ISDIR(p.lstat().st_mode)
    except OSError:
        return False


def alone(path: Path, workdir: Path) -> Path:
    """A folder holding only a copy of one notebook given on its own (`grader check x.ipynb`)."""
    folder = workdir / "notebook"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / path.name).write_bytes(path.read_bytes())
    return folder


def functions_of(files: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """The functions each file's grader calls, from the assignment that has these files."""
    assignment = load()
    known = dict(assignment.functions)
    return {f: known.get(f, ()) for f in files}


def use_notebook(
    roots: list[Path], files: tuple[str, ...], contents: dict[str, bytes | None], notes: list[str]
) -> dict:
    """Fill `contents` from a notebook under the roots when one should be graded; its record.

    `roots`: the submission's folder, and where a zip inside it was unpacked (if it was).
    `contents` holds the .py files found (or None); it is changed in place, and `notes` gets a
    line saying what was graded and why. The record (empty when no notebook is involved) goes
    to result.json's `notebook`.
    """
    paths = list(dict.fromkeys(p for r in dict.fromkeys(roots) for p in find_notebooks(r)))
    if not paths:
        return {}
    functions = functions_of(files)
    reads: list[tuple[Path, NotebookRead]] = []
    for path in paths:
        try:
            reads.append((path, read_notebook(path.read_bytes(), path.name, functions)))
        except NotebookError as e:
            notes.append(str(e))
        except OSError as e:
            notes.append(f"{path.name} could not be read: {e.strerror}")
    if not reads:
        return {"graded": None, "notebooks": [p.name for p in paths]}
    path, chosen = max(reads, key=lambda r: _preference(r, roots))
    if len(paths) > 1:
        others = ", ".join(p.name for p in paths if p != path)
        notes.append(
            f"found {len(paths)} notebooks; graded {path.name}, which implements the most "
            f"gradient functions ({chosen.implemented}); not graded: {others}. Submit one notebook."
        )
    present = {f: b for f, b in contents.items() if b is not None}
    if present and not all(is_untouched_stub(b) for b in present.values()):
        notes.append(
            f"graded your .py files ({', '.join(f + '.py' for f in present)}), not the notebook "
            f"{path.name}: when both are submitted, the .py files count. Submit only the one "
            "you want graded."
        )
        return {"graded": None, "notebooks": [p.name for p in paths], "reason": "py files"}
    if present:
        notes.append(
            f"graded the notebook {path.name}: the .py files beside it hold no work yet, only "
            f"untouched stubs ({', '.join(f + '.py' for f in present)})"
        )
    for f in files:
        text = chosen.sources.get(f)
        contents[f] = text.encode("utf-8") if text is not None else None
    notes.extend(chosen.notes)
    notes.append(_summary(chosen, files))
    return {"graded": path.name, **chosen.to_json()}


def _preference(entry: tuple[Path, NotebookRead], roots: list[Path]) -> tuple:
    path, read = entry
    depth = min(len(path.relative_to(r).parts) for r in roots if path.is_relative_to(r))
    defined = sum(len(v) for v in read.functions.values())
    return (read.implemented, defined, -depth, [-ord(c) for c in path.name])


def _summary(read: NotebookRead, files: tuple[str, ...]) -> str:
    parts = "; ".join(f"{f}: {read.summary(f)}" for f in files)
    return f"graded the notebook {read.name} ({parts}); the report lists what each cell gave"
