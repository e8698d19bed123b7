"""What a student reads: plain words for a failed import or call, and the check's table.

One module, needing only torch-free standard Python, shared by the grader (the session's
messages, `grader check`) and the student bundle (which copies it verbatim), so that the report,
Gradescope, `grader check` and the bundle's `check.py` word a problem the same way and print the
same table from the same result.
"""

from __future__ import annotations

import ast
import bisect
import difflib
import importlib.util
import os
import re
import stat
import sys
import unicodedata
from pathlib import Path

# An item status in the check's table (the report and Gradescope spell them out).
MARK = {
    "passed": "ok",
    "failed": "WRONG",
    "not_implemented": "todo",
    "missing": "missing",
    "error": "ERROR",
    "timeout": "TIMEOUT",
    "forbidden": "FORBIDDEN",
}

TRACEBACK = "Traceback (most recent call last):"
# What an open for writing raises where student code runs: in the grader's sandbox (its audit
# hook, inside/noautograd.py) and in the public check (student_check_driver), in these words.
WRITE_REFUSED = "student code may not write files"
# What torch.compile raises where student code runs: in the grader's sandbox (zygote.py says it
# in the same words) and in the public check (student_check_driver), so both say the same.
COMPILE_REFUSED = "torch.compile is not available in the grader"
SCRIPT_REFUSED = "TorchScript (torch.jit.script, torch.jit.trace) is not available in the grader"
# What switching autograd back on (`torch.set_grad_enabled(True)`, `torch.enable_grad()`) raises
# where student code runs: in the grader's sandbox (inside/noautograd.py's MESSAGE) and in the
# public check (local_check), in these words.
AUTOGRAD_OFF = "autograd is switched off in the grader: compute this gradient by hand"
# What a call or an import that ends the process (os._exit) gets: from the sandbox's client (its
# _CRASH, the same words: the sandbox imports nothing of the grader's), and from the public
# check, where os._exit would end check.py itself without a word.
PROCESS_ENDED = (
    "the process running your code ended without answering (os._exit, sys.exit at import, "
    "a segmentation fault, or running out of memory or CPU time)"
)

# Where the Python running the check lacks numpy, which the grader has.
NUMPY_HERE = (
    "which the grader has and the Python running this check does not: install numpy "
    "(pip install numpy) and check again to see the grader's verdict"
)

# The last line of a student's traceback -> what went wrong and how to fix it, in plain words.
# The grader imports a file in an empty folder, with no keyboard and no debugger.
_IMPORT_PROBLEMS = (
    (
        re.compile(rf"^PermissionError: {WRITE_REFUSED} \('([^']*)'\)"),
        "it writes the file '{0}', and the grader lets no code write files: print what you want "
        "to see instead (torch.save, a log file and the like belong in your notebook, not in "
        "the file you hand in)",
    ),
    (
        re.compile(r"^PermissionError: (os\.\w+) is not allowed in the grader"),
        "it calls {0}, and the grader lets no code create, change or remove files or folders, "
        "nor start programs: remove it from the file you hand in",
    ),
    (
        re.compile(r"^(FileNotFoundError|PermissionError|IsADirectoryError)\b.*?'([^']*)'"),
        "it opens the file '{1}', and the grader runs your code in an empty folder with no data "
        "files: do not read files (names.txt or others) in the file you hand in; your functions "
        "receive everything they need as arguments",
    ),
    (
        re.compile(r"^NameError: name '(get_ipython|display)' is not defined"),
        "it calls {0}(), which only a notebook has (a notebook exported as a script turns its "
        "%magics and !commands into get_ipython() calls): remove those lines from the .py file, "
        "or submit the notebook itself",
    ),
    (
        re.compile(r"^EOFError\b"),
        "it calls input(), and the grader has no keyboard to answer: remove the input() call",
    ),
    (
        re.compile(r"^(bdb\.)?BdbQuit\b"),
        "breakpoint() (or pdb.set_trace()) is still in the file, and the grader cannot stop in "
        "a debugger: remove it",
    ),
    (
        re.compile(r"^RuntimeError: torch\.compile is not available in the grader\b"),
        "it uses torch.compile, which cannot run where the grader runs your code (and a "
        "gradient needs no compiling): remove torch.compile and call the function itself",
    ),
    (
        re.compile(r"^RuntimeError: TorchScript \(torch\.jit\.script, torch\.jit\.trace\) is not"),
        "it uses TorchScript (torch.jit.script or torch.jit.trace), which cannot run where the "
        "grader runs your code (and a gradient needs no compiling): remove it and call the "
        "function itself",
    ),
    (
        re.compile(r"^SystemExit\b"),
        "it calls sys.exit() or exit() (or raises SystemExit), which the grader takes for a "
        "failure: remove it (code you run yourself belongs under `if __name__ == "
        '"__main__":`, which the grader does not run)',
    ),
    # The grader's process for student code and the check's both refuse threads (RLIMIT_NPROC
    # and check_process): the bare RuntimeError said nothing of why, nor what to do.
    (
        re.compile(r"^RuntimeError: can't start new thread"),
        "it starts a thread (threading, concurrent.futures), and the grader runs your code "
        "in a process that may start none: compute the gradient without threads",
    ),
    # numpy is the grader's (SPEC.md), not always the student's: `pip install torch` brings
    # none, and torch then raises this at .numpy() or torch.from_numpy. check.py cannot run
    # the code as the grader does (which judged a returned .numpy() "a numpy array"): it says so.
    (
        re.compile(r"^(ModuleNotFoundError|ImportError)\b.*?'numpy(\.[\w.]*)?'"),
        f"it imports numpy, {NUMPY_HERE}",
    ),
    (
        re.compile(r"^RuntimeError: Numpy is not available"),
        f"it uses numpy (.numpy(), torch.from_numpy), {NUMPY_HERE}",
    ),
    (
        re.compile(r"^(ModuleNotFoundError|ImportError)\b.*?'([^']*)'"),
        "it imports '{1}', which the grader does not have: use only torch, "
        "torch.nn.functional, math and numpy",
    ),
)


# What student code may import beyond Python's standard library (SPEC.md: torch, with
# torch.nn.functional, math and numpy), named in the message above. A package that happens to
# be installed where the code runs is no promise: einops or scipy in a student's Colab made the
# check pass a file that the grading machine, which lacks them, could not import at all.
GRADER_PACKAGES = frozenset({"torch", "numpy"})


def grader_has(module: str) -> bool:
    """Whether the grader promises `module` to student code (and it is importable here)."""
    top = module.split(".")[0]
    if not top:
        return False
    promised = top in GRADER_PACKAGES or top in sys.stdlib_module_names
    if not promised or top in sys.builtin_module_names:
        return promised
    try:
        return importlib.util.find_spec(top) is not None
    except (ImportError, ValueError):
        return False


def missing_module(traceback_text: str) -> str:
    """The module a traceback ends failing to find (`ModuleNotFoundError`), or ""."""
    m = re.match(r"^ModuleNotFoundError: No module named '([^']+)'", last_line(traceback_text))
    return m.group(1) if m else ""


def unreachable(module: str) -> str:
    """An import of a module the grader has, which the grading machine's set-up kept out of
    student code's reach: the student is not at fault, and is not told to change the code."""
    return (
        f"it imports '{module}', which the grader has, but the way this grading machine is set "
        "up keeps it out of reach of student code: this is not a mistake in your code (it "
        "would import elsewhere), and the course staff see it in the grading report; ask them "
        "to regrade once it is fixed"
    )


def lines_of(text: str) -> list[str]:
    """`text`'s lines, split at line feeds only: `str.splitlines` also splits at a carriage
    return, a form feed or U+2028, so an exception raised as `"oops\r100/100 PASSED"` gave
    the one-line gist "100/100 PASSED" on the row of an item in error."""
    return (text or "").split("\n")


def last_line(text: str) -> str:
    """The last non-blank line of a message (a traceback's exception line)."""
    lines = [ln for ln in lines_of(text) if ln.strip()]
    return lines[-1].strip() if lines else ""


def explain_failure(
    traceback_text: str,
    func: str | None = None,
    declared: list[str] | None = None,
    allowed: frozenset[str] | None = None,
) -> str:
    """A plain sentence for a known failure (problem and fix), or "" for any other.

    `func`, `declared` and `allowed` are given for a call: a NameError on an allowed argument the
    function did not declare (the lecture's notebook has `n` as a global) says to declare it.
    """
    line = last_line(traceback_text)
    name = re.match(r"^NameError: name '(\w+)' is not defined", line)
    if name and func and allowed is not None and name.group(1) in allowed:
        arg = name.group(1)
        if arg not in (declared or []):
            return (
                f"`{func}` uses `{arg}` without declaring it: declare {arg} as a parameter "
                f"(def {func}(..., {arg})); arguments are supplied by name"
            )
    if name and name.group(1) in _UNIMPORTED:
        alias = name.group(1)
        return (
            f"`{alias}` is not defined: nothing imports it where your code is read; add "
            f"`{_UNIMPORTED[alias]}` at the top of your file (or in a cell of your notebook): "
            "a .py file is imported on its own, without your notebook's imports"
        )
    for pattern, text in _IMPORT_PROBLEMS:
        m = pattern.match(line)
        if m and pattern is _IMPORT_PROBLEMS[-1][0]:
            return _missing_through(traceback_text, m.group(2)) or text.format(*m.groups())
        if m:
            return text.format(*m.groups(), *[""] * 2)
    return ""


# The usual names of what the grader lets student code import, and the import that binds each:
# functions copied out of the lecture's notebook lose its first cell (`import torch.nn.functional
# as F`), and a bare "NameError: name 'F' is not defined" did not say so.
_UNIMPORTED = {
    "torch": "import torch",
    "F": "import torch.nn.functional as F",
    "nn": "import torch.nn as nn",
    "np": "import numpy as np",
    "math": "import math",
}


# A student's file frame in a traceback: a bare file name (the grader and the check run the
# file under its own name, never a path), and the source line under it.
_STUDENT_FRAME = re.compile(r'^  File "([^"/\\]+\.py)", line (\d+), in .*\n    (.+)$', re.M)


def _missing_through(traceback_text: str, missing: str) -> str:
    """The message for a module missing where the student's own line did not name it: torch
    imports sympy for `import torch._dynamo`, and "it imports 'sympy'" sent the student looking
    for an import the file does not have. "" when the student's line names it."""
    frames = _STUDENT_FRAME.findall(traceback_text)
    if not frames:
        return ""
    _file, number, source = frames[-1]
    named = {word.partition(".")[0] for word in re.findall(r"[\w.]+", source)}
    if missing.partition(".")[0] in named:
        return ""
    return (
        f"`{source.strip()}` (line {number}) needs '{missing}', which the grader does not have: "
        "remove it and use only torch, torch.nn.functional, math and numpy"
    )


def import_failure(file: str, traceback_text: str, brief: bool = False, plain: str = "") -> str:
    """The message for a file whose import raised: the plain reason first, then the traceback
    (`brief`: the reason alone when there is one, for a command line; `plain`: the reason,
    where the caller knows it better than the traceback's last line, as `unreachable`)."""
    plain = plain or explain_failure(traceback_text) or _top_level_line(file, traceback_text)
    if not plain and not traceback_text.startswith(TRACEBACK):
        # No traceback but the reason itself (PROCESS_ENDED: os._exit at import), on the row too.
        return f"importing {file}.py failed: {traceback_text}"
    head = f"importing {file}.py failed: {plain}" if plain else f"importing {file}.py failed:"
    return head if plain and brief else f"{head}\n{traceback_text}"


# A traceback's frames: file, line, where ("<module>" for a file's top level), source line.
_FRAME = re.compile(r'^  File "([^"]*)", line (\d+), in (.*)\n(?:    (.+))?$', re.M)


def _top_level_line(file: str, traceback_text: str) -> str:
    """A NameError raised by a line of the file's own top level: lecture code copied into the
    file (`cmp(...)`, `dlogprobs = ...`) runs as it is imported, where no notebook variable
    exists, and the bare NameError did not say that the line, not a function, was at fault."""
    name = re.match(r"^NameError: name '(\w+)' is not defined", last_line(traceback_text))
    frames = _FRAME.findall(traceback_text)
    if not name or not frames or frames[-1][:1] != (f"{file}.py",) or frames[-1][2] != "<module>":
        return ""
    _file, number, _where, source = frames[-1]
    # The line's text last: a table row is cut at 300 characters, and the fix must show.
    return (
        f"line {number} runs as the file is imported, where `{name.group(1)}` is not defined "
        "(a .py file has none of your notebook's variables): the grader only calls your "
        'functions, so remove the line or indent it under `if __name__ == "__main__":` '
        f"(line {number}: `{source.strip()}`)"
    )


def call_failure(
    func: str, traceback_text: str, declared: list[str], allowed: frozenset[str], plain: str = ""
) -> str:
    """A call's error message: the plain reason (when known, or given) above the traceback."""
    plain = plain or explain_failure(traceback_text, func, declared, allowed)
    return f"{plain}\n{traceback_text}" if plain else traceback_text


# Text in an encoding of two or four bytes a character, by its byte-order mark (UTF-32's first:
# UTF-32-LE's mark starts with UTF-16-LE's).
WIDE_MARKS = (
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe", "UTF-16"),
    (b"\xfe\xff", "UTF-16"),
)


def wide_text(data: bytes) -> str:
    """ "UTF-16" or "UTF-32" for text saved so (Notepad's "Unicode", PowerShell 5's `>`), by its
    mark, or ASCII text as UTF-16 without one (a NUL beside every character); else ""."""
    for mark, name in WIDE_MARKS:
        if data.startswith(mark):
            return name
    half = len(data) // 2
    if half and len(data) % 2 == 0 and half in (data[0::2].count(0), data[1::2].count(0)):
        return "UTF-16"
    return ""


def renamed_file(file: str, data: bytes) -> str:
    """What a file given a .py name holds instead, when that is a zip or a notebook, with what
    to upload; else "". Each failed as what Python made of it: "a binary file", or, of a
    notebook, "NameError: name 'null' is not defined" under a line of its JSON."""
    if data.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return (
            f"{file}.py is a zip archive renamed, not Python source: upload it under a name "
            "ending in .zip (zips are opened), or the files in it"
        )
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"{") and b'"cells"' in data and b'"nbformat"' in data:
        return (
            f"{file}.py holds a Jupyter notebook (its JSON), not Python source: upload the "
            "notebook under a name ending in .ipynb (notebooks are read), or copy your "
            f"functions into {file}.py"
        )
    return ""


def undecodable(file: str, data: bytes) -> str:
    """Why a file's bytes are no Python source to run, or "" when they are UTF-8 text."""
    if renamed := renamed_file(file, data):
        return renamed
    if wide := wide_text(data):
        # Its NULs said "a binary file" of a text file, which its student can open and read.
        return (
            f"{file}.py is {wide} text, not UTF-8 (Notepad's \"Unicode\" and PowerShell's `>` "
            "save so): save it as UTF-8"
        )
    if b"\0" in data:
        return f"{file}.py is a binary file, not Python source"
    try:
        data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        return f"{file}.py is not UTF-8 text ({e.reason} at byte {e.start}); save it as UTF-8"
    return ""


def empty_file(file: str, source: str) -> str:
    """The problem with a file that holds no code, or ""."""
    if not source.strip():
        return (
            f"{file}.py is empty: the file is there but holds no code; check that you saved "
            "it (and uploaded the saved version)"
        )
    return ""


def defined_names(source: str) -> set[str]:
    """The functions and classes `source` defines at its top level (what the grader can call
    in it); none where it does not parse, which its own message says."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return set()
    return {
        n.name
        for n in tree.body
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
    }


# How a note on two exercise files saved under each other's names starts (`swapped_files`): the
# TA's list finds it by these words.
SWAPPED = "the two files look swapped"


def swapped_files(sources: dict[str, str | None], expected: dict[str, frozenset[str]]) -> list[str]:
    """A note for each pair of exercise files that hold each other's functions (exercise 1's
    saved as exercise2.py and exercise 2's as exercise1.py): every row of both read "no
    function" or judged the other's code, and the student saw no word of a swap. A pair is
    taken for swapped where each file defines a function the other's exercise asks for and the
    two files, exchanged, define more of the functions asked for than as they are named (an
    untouched stub beside a copy of its work, or a file that defines every function, never)."""
    texts = {f: s for f, s in sources.items() if isinstance(s, str)}
    files = [f for f in expected if f in texts]
    pairs = [(a, b) for i, a in enumerate(files) for b in files[i + 1 :]]
    pairs = [(a, b) for a, b in pairs if _may_swap(texts[a], texts[b], expected[a], expected[b])]
    defined = {f: defined_names(texts[f]) for f in {f for pair in pairs for f in pair}}
    notes = []
    for a, b in pairs:
        if _looks_swapped(defined[a], defined[b], expected[a], expected[b]):
            notes.append(
                f"{a}.py holds the functions of {b}.py and {b}.py those of {a}.py: "
                f"{SWAPPED}, and the grader reads each exercise from the file of its name; "
                f"rename {a}.py to {b}.py and {b}.py to {a}.py"
            )
    return notes


def _may_swap(text_a: str, text_b: str, of_a: frozenset, of_b: frozenset) -> bool:
    """Whether `_looks_swapped` can hold, told without parsing (each grading asks, and parsing
    a submission's files again cost ~0.9 ms of it): a name both exercises ask for counts on
    both sides of its comparison, so a swap needs a file to define a name only the other's
    exercise asks for."""
    return _defines_any(text_a, of_b - of_a) or _defines_any(text_b, of_a - of_b)


def _defines_any(text: str, names: frozenset) -> bool:
    """Whether `text` may define one of `names` (a `def` or `class` line naming it)."""
    if not names:
        return False
    alternatives = "|".join(map(re.escape, sorted(names)))
    # One pattern for each keyword: a pattern that starts with a literal is searched for as
    # a string is (an alternation of keywords made the scan of a file ten times slower).
    return any(re.search(rf"{key}\s+(?:{alternatives})\b", text) for key in ("def", "class"))


def _looks_swapped(in_a: set[str], in_b: set[str], of_a: frozenset, of_b: frozenset) -> bool:
    """Whether files defining `in_a` and `in_b` fit the exercises asking for `of_b` and `of_a`
    better than their own (see `swapped_files`)."""
    if not (in_a & of_b and in_b & of_a):
        return False
    return len(in_a & of_b) + len(in_b & of_a) > len(in_a & of_a) + len(in_b & of_b)


def autograd_used(func: str, detail: str = "") -> str:
    """A function that ran into the autograd ban while it was called: autograd is switched off
    in a student process (backward(), torch.autograd, torch.func, .grad), so nothing it could
    have computed reached the grader; `detail` is what the refusal said."""
    text = (
        f"`{func}` ran into the grader's autograd ban while running (autograd is switched off: "
        "backward(), torch.autograd, torch.func and .grad do not work here), so it scores 0; "
        "compute the gradient by hand"
    )
    return f"{text}:\n{detail}" if detail else text


# A scan's reason that is autograd itself (staticscan's FORBIDDEN_ATTRS and modules), read
# before any "(through `helper`)", whose name is the student's.
_AUTOGRAD_REASON = re.compile(r"autograd|backward|\.grad\b|torch\.func|functorch")


def scanned_out(func: str, reason: str) -> str:
    """A function the grader's reading of the file refuses before it runs (staticscan.py): it
    uses autograd, said as the run-time ban says it, with the cure; or it reaches names in a way
    that could hide autograd, which is no autograd in itself (`uses locals()`), so the message
    names both."""
    if _AUTOGRAD_REASON.search(reason.partition(" (through `")[0]):
        return (
            f"`{func}` {reason}: the grader allows no autograd (backward(), torch.autograd, "
            "torch.func and .grad), so it scores 0; compute the gradient by hand"
        )
    return (
        f"`{func}` {reason}: the grader allows neither autograd nor code that could reach it "
        "unseen (eval or exec, getattr with a computed name, globals(), locals() or vars(), "
        "introspection such as __dict__), so it scores 0; remove it"
    )


def did_you_mean(missing: str, defined: set[str], expected: frozenset[str] = frozenset()) -> str:
    """The defined name closest to a missing one (`dlogits_maxes` for `dlogit_maxes`), if any.

    Case never counts (`dc` is `dC`). Names in `expected` (the functions the grader asks for,
    e.g. `dcounts_sum` when `dcounts` is missing) are answers to other questions, never typos.
    """
    candidates = sorted(set(defined) - set(expected) - {missing})
    same_letters = [c for c in candidates if c.lower() == missing.lower()]
    if same_letters:
        return f"did you mean `{same_letters[0]}`?"
    close = difflib.get_close_matches(missing, candidates, n=1, cutoff=0.75)
    return f"did you mean `{close[0]}`?" if close else ""


def with_a_word_added(func: str, name: str) -> bool:
    """`name` is `func` with a word or a number joined on (`dhprebn_fused`, `dlogits2`,
    `my_dbnvar`): a student keeping two versions apart, whom difflib's ratio missed as the word
    grew (`dhprebn_fused` is 0.7 of `dhprebn`, under its 0.75)."""
    pattern = rf"(?:[a-z0-9]*_)?{re.escape(func.lower())}(?:_[a-z0-9_]*|[0-9]+)?"
    return name.lower() != func.lower() and re.fullmatch(pattern, name.lower()) is not None


def _words(name: str) -> set[str]:
    """A name's words of three letters or more (`tanh_backward`: tanh, backward)."""
    return {w for w in name.lower().split("_") if len(w) >= 3}


def sharing_its_own_word(func: str, defined: set[str], expected: frozenset[str]) -> list[str]:
    """Names that keep a word only `func` has among the expected names and change the rest
    (`tanh_grad`, `backward_tanh` or `flatten_backward` for `tanh_backward` and
    `flatten_consecutive_backward`): the word every expected name has (`backward`) says
    nothing, the one that names the module says which function was renamed. They were told
    only "no function", too far from the name for difflib's ratio."""
    others = set().union(*(_words(e) for e in expected if e != func))
    own = _words(func) - others
    return sorted(n for n in set(defined) - set(expected) if _words(n) & own)


def missing_function(
    func: str,
    file: str,
    defined: set[str],
    expected: frozenset[str],
    where: str = "",
    commented: tuple[int, bool] | None = None,
) -> str:
    """`where`: how the code is named when it is no file of the student's (a notebook's
    exercise), else `file.py`. A name the student gave the function with a word added is
    weighed after a misspelt one. Of a notebook, with no such name, a cell deleted after it
    ran is named: the kernel kept its function, so the check passed where the grader says
    "no function", and the student was left to guess why. `commented`: the line of the file's
    `# def func(` and whether a commented cell magic (`# %%time`) opens its comment, as
    staticscan.commented_defs finds them: a notebook's Download .py comments out a `%%time`
    cell, and its function was "no function" with its definition in plain sight."""
    if commented is not None and not where:
        line, magic = commented
        how = (
            ", as a notebook's Download .py writes every line of a cell that starts with a cell "
            "magic such as `%%time`: take the `# ` off the function's lines (or delete the "
            "magic's line in the notebook and download it again)"
            if magic
            else ": take the `# ` off its lines"
        )
        return (
            f"no function `{func}` in {file}.py: line {line} holds its definition commented out "
            f"(`# def {func}(`){how}"
        )
    close = did_you_mean(func, defined, expected)
    if not close:
        added = sorted(n for n in set(defined) - set(expected) if with_a_word_added(func, n))
        added = added or sharing_its_own_word(func, defined, expected)
        close = f"did you mean `{added[0]}`?" if added else ""
    typo = close.removeprefix("did you mean ").rstrip("?")
    hint = f"; you defined {typo}: did you mean `{func}`?" if close else ""
    if where and not close:  # its check may have passed on a cell since deleted
        hint = f"; {DELETED_CELL}"
    return f"no function `{func}` in {where or file + '.py'}{hint}"


# Why a notebook's check may have judged a function its saved cells lack, and what to do.
DELETED_CELL = (
    "write it in a cell under its exercise's heading (a cell deleted after it ran still counts "
    "in your kernel and its check cells, not in the saved notebook: Restart and run all before "
    "you download it)"
)


def counted(n: int, word: str) -> str:
    """`n` and `word`, singular or plural as an English reader writes it: "1 cell", "8 cells".
    Notes read "26 function(s) from 32 cell(s)", "1 function(s) from 1 cell(s)"."""
    return f"{n} {word}{'' if n == 1 else 's'}"


def passed_of(k: int, n: int, word: str = "case") -> str:
    """How many of `n` passed, the noun as many as `n`: "3 of 7 cases passed", "0 of 1 case
    passed". In the past tense, whose verb is the same for one and for many: Gradescope read
    "1 of 1 cases pass"."""
    return f"{k} of {counted(n, word)} passed"


def cases_passed(k: int, n: int) -> str:
    """An item's count of passing cases, as its message starts: "4/7 cases passed", "0/1 case
    passed", or, all passing, "all 7 cases passed" and "its only case passed" (it read "all 1
    cases passed")."""
    if k == n:
        return "its only case passed" if n == 1 else f"all {n} cases passed"
    return f"{k}/{counted(n, 'case')} passed"


def in_notebook(file: str, notebook: str) -> str:
    """How an exercise's code read from a notebook is named: the student had no `file.py`."""
    return f"{file} of the notebook {notebook}"


def left_out(file: str, why: str = "") -> str:
    """Why an exercise's items have no code: the reason its file was left out of the upload
    (`why`: two differing copies, too large, encrypted in its zip; its leading "missing" is the
    status's own word), or, with none, that it was not submitted. That alone was said on every
    item to a student who had submitted the file twice."""
    why = why.removeprefix("missing").lstrip(": ")
    return f"{file}.py: {why}" if why else f"{file}.py was not submitted"


def not_in_notebook(file: str, notebook: str) -> str:
    """Why an exercise read from a notebook has no code: it said `file.py was not submitted`
    to a student who submitted a notebook, and never had that file."""
    return (
        f"the notebook {notebook} defines no function of {file} (a function belongs to the "
        "exercise whose heading it sits under)"
    )


def listing(names: frozenset[str], limit: int = 12) -> str:
    names = sorted(names)
    shown = ", ".join(names[:limit])
    return shown + (
        f" and {len(names) - limit} more (see the docstring)" if len(names) > limit else ""
    )


# ---- the table: `grader check` and the bundle's check.py print a result with this ----


def render(result: dict, where: str = "") -> str:
    """One row per item: verdict, worst difference, shape, and the reason for a failure."""
    lines = [f"Public check of {where}" if where else "Public check"]
    lines.append("(the public cases; the grader adds hidden cases with other sizes and seeds)")
    # Which file was taken for which exercise, when that was not plain (a renamed or nested
    # file, a second candidate left out): what the grader will take from the same upload.
    lines += [f"Note: {n}" for n in (result.get("student") or {}).get("notes") or []]
    lines += [f"Note: {n}" for n in left_out_of_notebook(result.get("notebook") or {})]
    exercise, said = None, ""
    for item in result["items"]:
        if item["exercise"] != exercise:
            exercise, said = item["exercise"], ""
            lines.append(f"\n{exercise:<26}{'verdict':<10}{'cases':>6}{'maxdiff':>10}  shape")
        rows = _item_lines(item)
        lines += [AS_ABOVE if row == said and item["status"] in SAID_ONCE else row for row in rows]
        said = next((row for row in rows if row.startswith("      -> ")), "")
    chain = chain_text(result.get("chain") or {}, chain_home(result))
    if chain:
        lines.append("\n" + chain)
    # A notebook's code printed as its exercise, as every message names it: no `layers.py`
    # printed for a student who never had one.
    notebook = str((result.get("notebook") or {}).get("graded") or "")
    for name, text in (result.get("output") or {}).items():
        who = in_notebook(name, notebook) if notebook else f"{name}.py"
        lines.append(f"\n{who} printed:\n{text.rstrip()}")
    # The grader's words for a count (passed_of, as Gradescope's exercise lines say it): the
    # table said "36 of 36 items pass", and "1 of 1 items pass" for one item.
    passed = sum(i["status"] == "passed" for i in result["items"])
    lines.append(f"\n{passed_of(passed, len(result['items']), 'item')} on the public cases.")
    return terminal_text("\n".join(lines))


# The bidi classes that open, close or end a run of other direction (embeddings, overrides,
# isolates, a paragraph's end): a terminal that lays text out both ways turns the words
# around them.
_BIDI_RUNS = frozenset({"LRE", "RLE", "LRO", "RLO", "PDF", "LRI", "RLI", "FSI", "PDI", "B"})


# What a path given to a check is, by its suffix, where nothing is there.
_GIVEN_KINDS = {".ipynb": "notebook", ".zip": "zip", ".py": "file"}
# What a check reads when given a file: an exercise file (for its folder), an upload, a notebook.
CHECKED_SUFFIXES = frozenset(_GIVEN_KINDS)


def one_path_only(words: list[str]) -> str:
    """What a command reading one path says of several words: their usual cause is a name with
    spaces typed unquoted (`python check.py Copy of hw.ipynb`), which check.py read as its
    first word alone, checking `Copy` or saying there is none. The words are not joined and
    checked: a shell has already folded the name's runs of spaces, and the student learns the
    quotes that every other command (an upload tool, `grader check`) needs as well."""
    return (
        f"one PATH is read, and {len(words)} were given ({', '.join(words)}); a name with "
        f'spaces needs quotes ("{" ".join(words)}")'
    )


# Said after one_path_only by a check, which then checks nothing.
NOTHING_CHECKED = ": nothing was checked"


def path_problem(where: Path, give: str, unquoted: str = "") -> str:
    """Why a path given to `grader check` or check.py cannot be checked, ending in `give` (what
    to give instead), or "". check.py said "missing.ipynb is not a folder" of a notebook that
    is not there, checked the folder of a notes.txt given it, and ended in a traceback
    (PermissionError) given a path under a folder it may not enter; a folder it may not list
    was checked as an empty upload, every item "was not submitted". `unquoted`: said after a
    path that is not there, where a name with spaces typed unquoted arrives as its first word."""
    try:
        mode = where.stat().st_mode
    except (FileNotFoundError, NotADirectoryError):
        kind = _GIVEN_KINDS.get(where.suffix.casefold(), "file or folder")
        return f"there is no {kind} {where}{unquoted}: {give}"
    except OSError as e:
        return _unreadable(where, e, give)
    if not stat.S_ISDIR(mode) and not (
        stat.S_ISREG(mode) and where.suffix.casefold() in CHECKED_SUFFIXES
    ):
        return f"{where} is not a folder, an exercise file, a notebook or a zip: {give}"
    try:
        if stat.S_ISDIR(mode):
            with os.scandir(where):
                pass
        else:
            with open(where, "rb"):
                pass
    except OSError as e:
        return _unreadable(where, e, give)
    return ""


def _unreadable(where: Path, e: OSError, give: str) -> str:
    return (
        f"{where} could not be read ({e.strerror or type(e).__name__}): make it readable, or {give}"
    )


def terminal_text(text: str) -> str:
    """`text` as a terminal may print it: each control character but the line feed and the
    tab (escape, carriage return, bell, NUL, DEL, C1) and each bidi run character written as
    its escape (`\\x1b`, `\\r`, `\\u202e`), as `repr` writes it. The table quotes what
    student code printed and raised, and printed it as it was: `ESC ] 52` wrote the clipboard
    of whoever ran the check (a TA running `grader check` on an upload), `ESC ] 8` made a
    link, `ESC [ 2J` cleared the table, and a carriage return wrote the rest of its line over
    the line's start ("\\r100/100 PASSED"). `grader grade`'s own lines escape alike."""
    if text.isprintable():
        return text
    return "".join(_terminal_escape(c) for c in text)


def _terminal_escape(c: str) -> str:
    if c in "\n\t" or c.isprintable():
        return c
    if unicodedata.category(c) == "Cc" or unicodedata.bidirectional(c) in _BIDI_RUNS:
        return repr(c)[1:-1]
    return c


# Cells, and lines of each, that the note on what a notebook left out names; the report's table
# of the notebook names them all (a lecture-style notebook leaves out dozens of lines).
CELLS_NAMED, LINES_NAMED = 5, 3
# What every notebook of an assignment's own has left out, said by no note: its setup cells.
_SETUP_LEFT_OUT = "the assignment notebook's own setup cell (not graded)"


def left_out_of_notebook(notebook: dict) -> list[str]:
    """What the grader left out of the notebook it graded (an `!pip` or `%matplotlib` line, a
    cell that is not Python), one note naming the cells and their lines, as the report's table
    of the notebook does: the table alone hid a function lost with a cell that did not parse,
    and the bundle's check said nothing of them either."""
    graded = str(notebook.get("graded") or "")
    cells = [
        (c, [d for d in c.get("dropped") or [] if d != _SETUP_LEFT_OUT])
        for c in notebook.get("cells") or []
        if isinstance(c, dict)
    ]
    cells = [(c, dropped) for c, dropped in cells if dropped]
    if not graded or not cells:
        return []
    named = [
        f"cell {c.get('cell')}" + (f' ("{c["starts"]}")' if c.get("starts") else "") + ": "
        + "; ".join(map(str, dropped[:LINES_NAMED]))
        + (f"; and {len(dropped) - LINES_NAMED} more" if len(dropped) > LINES_NAMED else "")
        for c, dropped in cells[:CELLS_NAMED]
    ]  # fmt: skip
    more = len(cells) - CELLS_NAMED
    rest = f"; and {counted(more, 'more cell')}" if more > 0 else ""
    return [f"left out of {graded} (never run): " + "; ".join(named) + rest]


# A reason shared with the row above, said once: each of exercise 1's 26 rows repeated
# "exercise1.py: not in your upload, which held ...", and as much for a file that does not
# parse or import (the report says that once for the exercise); exercise 3's seven gradients
# each said "returned 6 values; expected 7: ...". An unimplemented function's reason stays on
# its row: each is a TODO of its own to fill in.
AS_ABOVE = "      -> as above"
SAID_ONCE = frozenset({"failed", "missing", "error", "forbidden", "timeout"})


def _item_lines(item: dict) -> list[str]:
    cases = item.get("cases") or []
    worst = _worst_case(cases)
    diff = worst.get("max_abs_err")
    diff_text = f"{diff:10.2e}" if isinstance(diff, float) else f"{'':>10}"
    # The shape a failing case got, else the lecture's case's (the first): the lecture's shapes.
    shown = worst if worst.get("status") != "passed" else (cases[0] if cases else {})
    shape = shown.get("shape") or shown.get("expected_shape") or []
    shape_text = "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"
    npass = f"{sum(c.get('status') == 'passed' for c in cases)}/{len(cases)}" if cases else ""
    name = item["id"].split(".", 1)[1]
    shape_text = shape_text if shape else ""
    row = f"  {name:<24}{MARK[item['status']]:<10}{npass:>6}{diff_text}  {shape_text}"
    lines = [row.rstrip()]
    if item["status"] != "passed":
        lines.append(f"      -> {summary_line(worst.get('message') or item.get('message', ''))}")
        if item.get("hint"):
            lines.append(f"      hint: {item['hint']}")
    lines += [f"      (warning) {w}" for w in said_once(item.get("warnings", []))]
    return lines


_NUMBERS = re.compile(r"\d+")


def said_once(warnings: list[str]) -> list[str]:
    """Each warning once, whatever sizes it quotes: the public cases' two sizes gave one slip
    two lines, "shape (64,) differs from dbnmeani's (1, 64) ..." and the same at (24,)."""
    kept: dict[str, str] = {}
    for w in warnings:
        kept.setdefault(_NUMBERS.sub("#", w), w)
    return list(kept.values())


def _worst_case(cases: list[dict]) -> dict:
    """The first failing case, else the one with the largest error: what the row shows."""
    failing = [c for c in cases if c.get("status") != "passed"]
    if failing:
        return failing[0]
    errs = [c for c in cases if isinstance(c.get("max_abs_err"), float)]
    return max(errs, key=lambda c: c["max_abs_err"]) if errs else (cases[0] if cases else {})


def summary_line(message: str) -> str:
    """A message in one line: its first line, plus the exception when a traceback follows."""
    lines = [ln for ln in lines_of(message) if ln.strip()]
    if not lines:
        return ""
    first = lines[0].strip()
    if first == TRACEBACK or first.endswith(":") and TRACEBACK in message:
        first = _with_cause(f"{first.removesuffix(TRACEBACK)} {last_line(message)}", message)
    elif first.endswith(":") and len(lines) > 1:
        # A heading whose reason is on the next line ("importing exercise3.py timed out:" over
        # "no answer within 20 s (an endless loop?)"): the row said the heading alone.
        first = f"{first} {lines[1].strip()}"
    return first[:ROW_CHARS]


def _with_cause(head: str, message: str) -> str:
    """The row's heading and latest exception, then its cause (`_cause`), in ROW_CHARS: a long
    latest line gives way to the cause, cut to half of them at most. The row's cut took the
    cause whole where the latest ran long (torch's internal assertion raised while handling the
    autograd ban's refusal: the row said torch's words, never the refusal)."""
    head, cause = head.strip(), _cause(message)
    if len(head) + len(cause) <= ROW_CHARS:
        return head + cause
    cause = cause[: ROW_CHARS // 2]
    return head[: ROW_CHARS - len(cause) - 4] + " ..." + cause


# A table row's characters at most.
ROW_CHARS = 300


# The sentences Python writes between the exceptions of a chain, the cause first, and how a
# row names the one before the latest (the row gave the latest alone, and the student
# lost the cause: `raise ValueError("...") from e`).
_CHAINED = {
    "The above exception was the direct cause of the following exception:": "caused by",
    "During handling of the above exception, another exception occurred:": "while handling",
}


def _cause(message: str) -> str:
    """ " (caused by KeyError: 'x')" for a traceback whose latest exception was raised from
    or while handling another, else ""."""
    at, said = max((message.rfind(f"\n{s}\n"), w) for s, w in _CHAINED.items())
    return f" ({said} {last_line(message[:at])})" if at >= 0 else ""


# A chain step that gave no value to compare did not depart from autograd: the chain stopped
# there, and its sentence says why (the check, the report and Gradescope's page alike). A
# `dprobs` that raised was said to "first depart from autograd", as if its value were wrong.
CHAIN_STOPS = {
    "timeout": "timed out",
    "error": "raised an error",
    "not_implemented": "is not implemented yet",
    "forbidden": "is forbidden (see its row)",
}


def chain_stop(chain: dict) -> str:
    """Why the chain's first departure gave no value to compare ("which timed out", "which
    raised an error when fed your `dlogits` in float64 ..."), or "" where it gave a wrong
    one: that step departs from autograd. A cause (judging's departure_cause: a gradient of the
    student's fed in a shape or dtype accepted alone) is said of an error, which it raised."""
    first = chain.get("first_departure")
    steps = chain.get("steps") or []
    status = next((s.get("status") for s in steps if s.get("grad") == first), None)
    said = CHAIN_STOPS.get(str(status)) if first else None
    if not said:
        return ""
    cause = chain.get("departure_cause") or ""
    return f"which {said}" + (f" when {cause}" if cause and status == "error" else "")


def chain_home(result: dict) -> str:
    """The exercise a suite's chain runs through, as the report places it: the one holding an
    item named after its first step, else the first; a name ending in its number is said
    with a space (`exercise1`: "exercise 1"). The check said "exercise 1" of every chain,
    another assignment's too."""
    steps = (result.get("chain") or {}).get("steps") or [{}]
    ids = [i.get("id", "") for i in result.get("items") or []]
    first = steps[0].get("grad")
    home = next((i for i in ids if i.split(".", 1)[-1] == first), ids[0] if ids else "")
    return re.sub(r"(?<=\D)(\d+)$", r" \1", home.split(".", 1)[0]) or "your chain"


def chain_text(chain: dict, home: str = "your chain") -> str:
    """The exercise `home` fed with the student's own gradients, in one sentence ("" when not
    run)."""
    steps = chain.get("steps") or []
    if not steps or {s.get("status") for s in steps} <= {"missing", "unreached", "not_implemented"}:
        return ""
    first, unreached = chain.get("first_departure"), chain.get("unreached") or []
    if not first and not unreached:
        return f"Chained on your own gradients, {home} matches autograd all the way down."
    text = f"Chained on your own gradients, {home} "
    stop = chain_stop(chain)
    if stop:
        # No answer came, so there is nothing that departs: an endless loop, or a right but slow
        # function, was told its value was wrong, and so was one that raised.
        text += f"stops at {first}, {stop}"
    elif first:
        text += f"first departs from autograd at {first}"
        text += f", {chain['departure_cause']}" if chain.get("departure_cause") else ""
    else:
        text += "matches as far as it goes"
    if unreached:
        more = f" and {len(unreached) - 6} more" if len(unreached) > 6 else ""
        text += f"; not reached: {', '.join(unreached[:6])}{more}"
    return text + "."


# ---- a notebook's code named as its cells (the grader's session and the public check) ----

# A traceback's frame in a student's file (named apart from _FRAME above, which reads a
# whole frame line), and the mark opening each notebook cell's code in the
# module the grader assembles from a notebook (grader/notebook.py, _assemble).
_NOTEBOOK_FRAME = re.compile(r'File "(?P<file>[^"\n]+)\.py", line (?P<line>\d+)')
_CELL_MARK = re.compile(r"# cell (\d+)$")


def notebook_frames(text: str, file: str, source: str, notebook: str) -> str:
    """Each `File "<file>.py", line N` of a traceback, where `source` is the module assembled
    from `notebook`'s cells, as `File "<notebook>", cell K`: the cell whose `# cell K` mark is
    the last at or above line N. The quoted code line below a frame stays as it is."""
    inside = _statement_lines(source)
    marks = [
        (number, int(m.group(1)))
        for number, line in enumerate(source.splitlines(), start=1)
        if number not in inside and (m := _CELL_MARK.match(line))
    ]
    starts = [number for number, _ in marks]

    def cell(m: re.Match) -> str:
        if m.group("file") != file:
            return m.group(0)
        at = bisect.bisect_right(starts, int(m.group("line"))) - 1
        where = f"cell {marks[at][1]}" if at >= 0 else "its code"
        return f'File "{notebook}", {where}'

    return _NOTEBOOK_FRAME.sub(cell, text)


def _statement_lines(source: str) -> set[int]:
    """The lines of `source`'s statements, where a `# cell K` is the student's own (a comment
    at the line's start inside a function, a line of a string): the assembler's marks lie
    between statements. A student's `# cell 1` inside dh, cell 16's, named cell 1 in every
    traceback of dh."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return set()
    lines: set[int] = set()
    for node in tree.body:
        first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        lines.update(range(first, (node.end_lineno or node.lineno) + 1))
    return lines
