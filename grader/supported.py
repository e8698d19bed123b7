"""The Pythons and torches a student bundle runs on, and what it says on any other.

Students run check.py, train.py and the notebook in their own Python: Colab's, a laptop's, a
torch a year or two old. Outside the range below the bundle failed with a traceback from deep
in its code (Python 3.9: `TypeError: unsupported operand type(s) for |`; no torch: `No module
named 'torch'`), which told a student neither what was wrong nor what to do. Each entry point
now says so first, in one message naming the version found and the fix. The range and the
pairs measured are in docs/student-pythons.md (tools/student-pythons.sh measures them).
"""

from __future__ import annotations

import importlib.metadata
import re
import sys as _sys

# The oldest Python the bundle runs on: it uses 3.10's `X | None` at run time, zip(strict=),
# sys.stdlib_module_names.
PYTHON = (3, 10)
# The oldest torch: the check switches off torch.compile and catches torch.func, both new in 2.0.
TORCH = (2, 0)
# The first torch built for numpy 2: an older one cannot exchange arrays with numpy 2.
NUMPY_2_TORCH = (2, 3)


def python_guard(script: str, sys: str = "sys", then: str = "") -> str:
    """Source for the top of a bundle script, before any import that needs Python 3.10: it
    stops with the message on an older Python. Written so that Python 2.7 parses it too. `sys`:
    the name it imports sys as (a notebook's cell keeps its names out of the student's way);
    `then`: how to run `script` again with the newer Python."""
    then = then or f"python3.12 {script}"
    imported = "import sys\n\n" if sys == "sys" else f"import sys as {sys}\n\n"
    oldest = f"{PYTHON[0]}.{PYTHON[1]}"
    return imported + (
        f"if {sys}.version_info < {PYTHON!r}:  # a message, not a traceback from deep inside\n"
        f"    {sys}.exit(\n"
        f'        "{script} needs Python {oldest} or newer, and this is Python %d.%d (%s). "\n'
        '        "Run it with a newer one that has torch: python3.12 -m pip install torch, "\n'
        f'        "then {then} (Colab\'s Python is 3.12)."\n'
        f"        % ({sys}.version_info[0], {sys}.version_info[1], {sys}.executable)\n"
        "    )\n"
    )


def torch_problem(script: str, version: str | None, error: str = "", numpy: str = "") -> str:
    """What `script` says of a torch `version` ("" when it runs on it; None: none imports,
    `error` saying why), beside a `numpy` version ("": none installed)."""
    fix = f"{_python()} -m pip install --upgrade torch"
    if version is None:
        why = f" ({error})" if error else ""
        return f"{script} needs torch, which this Python cannot import{why}. Install it: {fix}"
    found = _major_minor(version)
    if found < TORCH:
        return (
            f"{script} needs torch {TORCH[0]}.{TORCH[1]} or newer, and this Python has torch "
            f"{version}. Upgrade it: {fix}"
        )
    if found < NUMPY_2_TORCH and numpy and _major_minor(numpy) >= (2, 0):
        # torch.from_numpy and .numpy() raise "Numpy is not available": a file using numpy
        # failed here and passed in the grader.
        return (
            f"{script}: torch {version} was built for numpy 1, and this Python has numpy "
            f"{numpy}: numpy arrays and torch tensors cannot meet here, "
            f'as they can in the grader. Install numpy 1: {_python()} -m pip install "numpy<2"'
            f", or upgrade torch: {fix}"
        )
    return ""


def require_torch(script: str) -> None:
    """Exit with `torch_problem`'s message, not a traceback, where torch cannot run `script`.
    Judged first on the installed versions, before torch is imported: a torch older than 2.3
    beside numpy 2 prints a page of numpy's warnings, with a traceback, as it is imported."""
    numpy, installed = _installed("numpy"), _installed("torch")
    problem = torch_problem(script, installed, numpy=numpy) if installed else ""
    if problem:
        _sys.exit(problem)
    try:
        import torch
    except (ImportError, OSError) as e:  # not installed, or a library of it missing
        _sys.exit(torch_problem(script, None, f"{type(e).__name__}: {e}"))
    problem = torch_problem(script, str(getattr(torch, "__version__", "0")), numpy=numpy)
    if problem:
        _sys.exit(problem)


def _installed(name: str) -> str:
    """The version pip installed of `name` ("" if none did)."""
    try:
        return importlib.metadata.version(name)
    except (importlib.metadata.PackageNotFoundError, ValueError):
        return ""


def _major_minor(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version)[:2])


def _python() -> str:
    """This Python's path, quoted where a space would split it (C:\\Program Files\\...)."""
    return f'"{_sys.executable}"' if " " in _sys.executable else _sys.executable
