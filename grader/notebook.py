"""Reading a notebook's code: its cells in, one module source per exercise out.

A notebook is never run. Its code cells are parsed (after IPython magics, shell escapes and help
(`F.one_hot?`) are blanked) and only what a module needs is kept: imports, function and class
definitions, and assignments of constants (notebook_keep.py holds that rule). Everything else
(training loops, plots, `cmp(...)` calls, the lecture's top-level `dlogprobs = ...`, a `while
True:`) is dropped and listed, so the result can say what was taken from which cell and what
was left out.

Two doors: the grader reads a submitted file's cells (notebook_file.py), and the notebook's own
check cells read the cells their kernel ran (`read_history`), so that they judge exactly what
the grader will. This module ships in the notebook: standard library only.

Telling exercises apart (exercises 1 and 2 both define `dlogits` and `dhprebn`):
- A section opens at a markdown heading `# Exercise N ...` (any level, any case) or at a code cell
  whose first line is a comment `# Exercise N` or `# %% exercise N`. It lasts until the next one.
- Cells before the first section take their exercise from a cell tag `exercise1`..`exercise3`
  (Jupyter's tags; Colab keeps metadata but has no tag editor, so the headings come first).
- A gradient function (a name some exercise's grader calls) belongs to the exercise of its
  section. One defined outside every section goes to each exercise that calls that name, and so
  does one under a heading whose exercise never calls it, unless that exercise has its own
  (the lecture's notebook numbers four exercises: its "Exercise 3" is our fused `dhprebn`).
  Helpers, classes, imports and constants are shared by every exercise, wherever they are;
  another exercise's gradient function comes into an exercise whose code calls it.
- Later definitions win, as in a kernel run top to bottom.
- Code cells whose first line is `# <assignment name>: setup` (or tagged `setup`) are the
  assignment notebook's own scaffolding (data, the public check) and are not read.

An import of a module the grader does not have for student code (anything but the standard
library, torch and numpy: `import matplotlib.pyplot` in the lecture's first cell, einops in
Colab) is dropped with a note, rather than failing the whole exercise: a gradient that really
uses it fails on its own with a NameError naming the module. The rule is the same in a student's
kernel, whatever it has installed (student_text.grader_has).
"""

from __future__ import annotations

import ast
import re
import symtable
import tokenize
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field

from .notebook_keep import SETUP_MARK, assigned, keep, learn
from .python_syntax import newer_syntax
from .student_text import counted

MAX_SOURCE_BYTES = 256 << 10  # the limit on an exercise's code, as for a .py file (uploads)
MAX_CELLS, MAX_ENTRIES = 400, 30  # the record in result.json stays small whatever the notebook
MAX_NOTES = (
    100  # the record's notes: what each place writes a cell is grouped, this bounds the rest
)
# Reading code costs ~10 s and 1 GB per MB of short statements (`f()` lines: ast.parse builds
# nodes for each, twice), and blanking IPython commands an ast.parse per line (3 MB of `%` lines
# took 20 s). The lecture's notebooks hold at most 20 kB of code and a handful of `%` and `!`
# lines; past these bounds (25 and 100 times that), the notebook's later cells are not read.
MAX_CODE_BYTES = 512 << 10  # in all the code cells read (setup cells are not)
MAX_COMMAND_LINES = 1_000  # IPython command lines blanked, in all the cells read
SUFFIX = ".ipynb"

_HEADING = re.compile(r"^\s{0,3}#{1,6}\s*exercise\s*(\d+)\b", re.IGNORECASE | re.MULTILINE)
_CODE_MARK = re.compile(r"^#\s*(?:%%\s*)?exercise\s*(\d+)\b", re.IGNORECASE)
_BARE_MARK = re.compile(r"#\s*(?:%%\s*)?exercise\s*\d+", re.IGNORECASE)  # the mark alone
# Cell magics whose body is Python run as it is; any other (%%bash, %%writefile ...) is not Python.
_PYTHON_CELL_MAGICS = {"time", "timeit", "capture", "prun", "debug"}
# An IPython command line: a magic, a shell escape, or help (`?F.one_hot`, `F.one_hot?`, `??x`),
# which a student leaves in the cell of the function they were writing. Jupyter and Colab run a
# line magic without its `%` too (automagic: `pip install einops`, `matplotlib inline`); those
# most written so are read as magics when the line is not Python.
_AUTOMAGICS = "pip|conda|matplotlib|load_ext|reload_ext|autoreload|time|timeit|cd|ls|run|env"
_MAGIC_LINE = re.compile(rf"^\s*(?:[%!?]|\w+\s*=\s*[%!]|(?:{_AUTOMAGICS})\s)|\?\s*$")
_NEVER_PYTHON = re.compile(r"^\s*(?:[%!?]|\w+\s*=\s*[%!])")  # no statement starts so
# A line as Python's tokenizer counts lines: it ends at \n, \r\n or \r only. str.splitlines()
# also splits at \v, \f, \x1c-\x1e, \x85, \u2028 and \u2029, which Python reads as part of
# the line (in a comment or a string they are valid code).
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")


class NotebookError(Exception):
    """The bytes are not a notebook the grader can read; the message says why and what to do."""


@dataclass
class CellRecord:
    """What the grader did with one code cell."""

    cell: int  # 1-based position among all the notebook's cells, as Jupyter numbers them
    id: str
    section: str  # "exercise1", ... or "" (before any section)
    taken: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    # Its first line: Jupyter and Colab show no cell numbers, but a student can search for this.
    starts: str = ""
    ran: int | None = None  # its execution count as saved (None: never run, or not recorded)

    def label(self) -> str:
        """How a note names this cell so that a student can find it: `cell 12 ("def dh(...")`."""
        return f'cell {self.cell} ("{self.starts}")' if self.starts else f"cell {self.cell}"


@dataclass
class NotebookRead:
    """The modules read from one notebook, and the record of how."""

    name: str
    sources: dict[str, str | None]
    functions: dict[str, list[str]]  # per exercise: the gradient functions it got, in order
    cells: list[CellRecord] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    used: dict[str, list[int]] = field(default_factory=dict)  # per exercise: the cells read
    implemented: int = 0  # gradient functions whose body is more than a stub's `raise`

    def summary(self, exercise: str) -> str:
        """Where one exercise's code came from, in a few words."""
        names = self.functions.get(exercise) or []
        if not names:
            return "no functions found"
        cells = len(self.used.get(exercise) or [])
        return f"{counted(len(names), 'function')} from {counted(cells, 'cell')}"

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "functions": self.functions,
            "implemented": self.implemented,
            "cells_used": self.used,
            "cells": [_bounded(asdict(c)) for c in self.cells if c.taken or c.dropped][:MAX_CELLS],
            "notes": _first(self.notes, MAX_NOTES),
        }


def _bounded(cell: dict) -> dict:
    for key in ("taken", "dropped"):
        cell[key] = _first(cell[key], MAX_ENTRIES)
    return cell


def _first(entries: list[str], most: int) -> list[str]:
    """The first `most` entries, and one counting those left out."""
    if len(entries) <= most:
        return entries
    return entries[:most] + [f"... and {len(entries) - most:,} more"]


@dataclass
class Allowance:
    """What is left of MAX_CODE_BYTES and MAX_COMMAND_LINES, for one submission's notebooks."""

    code: int
    commands: int
    # Why cells were left unread: a note for the student, once per limit, at the first such cell.
    notes: dict[str, str] = field(default_factory=dict)

    def spend_code(self, text: str, record: CellRecord) -> bool:
        """Whether the cell may be read; records why not when it may not."""
        self.code -= len(text)
        if self.code >= 0:
            return True
        record.dropped.append(f"the whole cell: the notebook's code is over {MAX_CODE_BYTES} bytes")
        self.notes.setdefault(
            "code",
            f"its code cells hold more than {MAX_CODE_BYTES} bytes: cells from {record.label()} "
            "on were not read; keep only your code in it",
        )
        return False

    def spend_command(self, record: CellRecord) -> bool:
        """Whether one more IPython command line may be blanked; records why not."""
        self.commands -= 1
        if self.commands >= 0:
            return True
        record.dropped.append(
            f"the whole cell: the notebook has more than {MAX_COMMAND_LINES} IPython command "
            "lines (% and !)"
        )
        self.notes.setdefault(
            "commands",
            f"it has more than {MAX_COMMAND_LINES} IPython command lines (% and !): cells "
            f"from {record.label()} on that hold one were not read; remove those lines",
        )
        return False


@dataclass
class _Piece:
    cell: int
    text: str
    name: str = ""  # the name a def or class binds: only its last definition is kept
    defines: str | None = None  # a function's name, when the piece is a gradient function
    exercise: str = ""  # that function's section
    future: bool = False
    stub: bool = False  # a function whose body only raises NotImplementedError
    refs: frozenset[str] = frozenset()  # the names its code refers to (`_called_for`)
    sets: frozenset[str] = frozenset()  # the names a kept constant assigns (`eps = 1e-5`)


def read_cells(
    cells: list[dict],
    name: str,
    functions: dict[str, tuple[str, ...]],
    allowance: Allowance | None = None,
) -> NotebookRead:
    """The exercise modules of a notebook's cells (nbformat 4 dicts); `functions` maps each
    exercise to the names it calls. notebook_file.read_notebook reads the cells from a file.

    `allowance`: what is left of the code and command lines that may be read, shared by the
    notebooks of one submission (twenty of them, each at the limit, took ~100 s); a fresh one
    when not given.
    """
    gradient = {f for names in functions.values() for f in names}
    pieces: list[_Piece] = []
    records: list[CellRecord] = []
    section = ""
    lecture_style: set[str] = set()
    constants: set[str] = set()
    allowance = allowance or Allowance(MAX_CODE_BYTES, MAX_COMMAND_LINES)
    allowance.notes = {}  # this notebook's
    lone: list[tuple[int, int, str]] = []  # the cells holding a lone surrogate: cell, line, it
    for index, cell in enumerate(cells, start=1):
        kind, text, tags = _cell_parts(cell)
        if kind == "markdown":
            headings = [f"exercise{m}" for m in _HEADING.findall(text)]
            known = [h for h in headings if h in functions]
            section = known[-1] if known else section
            continue
        if kind != "code" or not text.strip():
            continue
        if not text.isascii() and (half := _SURROGATE.search(text)):
            lone.append((index, text.count("\n", 0, half.start()) + 1, half.group()))
            text = _SURROGATE.sub("\ufffd", text)
        first = _first_line_of_code(text)
        mark = _CODE_MARK.match(first)
        if mark and f"exercise{mark.group(1)}" in functions:
            section = f"exercise{mark.group(1)}"
        record = CellRecord(index, _cell_id(cell), section, starts=_starts(text), ran=_ran(cell))
        records.append(record)
        if SETUP_MARK.match(first) or "setup" in tags:
            record.dropped.append("the assignment notebook's own setup cell (not graded)")
            continue
        if not record.section:
            tagged = [t for t in tags if t in functions]
            record.section = tagged[-1] if tagged else ""
        if len(text) > MAX_SOURCE_BYTES:
            record.dropped.append(f"the whole cell: larger than {MAX_SOURCE_BYTES} bytes")
            continue
        if not allowance.spend_code(text, record):
            continue
        if "\0" in text:  # no Python reads it; said alike whichever Python grades
            record.dropped.append(f"the whole cell: not valid Python ({NUL_IN_CODE})")
            continue
        try:
            pieces += _select(text, record, gradient, constants, lecture_style, allowance)
        except (RecursionError, MemoryError, ValueError) as e:  # nested too deep, NUL bytes
            record.dropped.append(f"the whole cell: it could not be parsed ({type(e).__name__})")
    result = _assemble(name, pieces, records, functions)
    said = [f"{name}: {_surrogate_note(lone)}"] if lone else []
    result.notes += said + [f"{name}: {why}" for why in allowance.notes.values()]
    if not any(result.functions.values()):
        result.notes.append(_no_functions_note(name, functions, lecture_style))
    return result


# Half of a UTF-16 pair alone: JSON's "\\ud800" escape reads as one, which no text file (UTF-8)
# can hold, so Python's parser refuses the cell holding it ("UnicodeEncodeError").
_SURROGATE = re.compile("[\ud800-\udfff]")


def _surrogate_note(lone: list[tuple[int, int, str]]) -> str:
    """Where cells held a lone surrogate, read as U+FFFD. The cell was dropped whole, "it
    could not be parsed (UnicodeEncodeError)", its functions with it. Jupyter reads such a
    notebook but can neither run that cell nor save the notebook (jupyter_client and nbformat
    encode it as UTF-8 and fail), so it is the student's to remove: the rest of the cell is read
    meanwhile (in a string or a comment the character changes nothing; in code the cell's
    syntax error names its line). One note for them all: a script's 90,000 such cells made
    90,000 notes, a 40 MB result.json from a 4 MB notebook."""
    cell, line, half = lone[0]
    also = f", and so do {cells_named([c for c, _, _ in lone[1:]])}" if lone[1:] else ""
    cells = "the cells" if also else "the cell"
    return (
        f"cell {cell}, line {line}, holds \\u{ord(half):04x}, half of a character (a lone "
        f"UTF-16 surrogate){also}, which no text file can hold and Jupyter can neither run nor "
        f"save: read with \ufffd (U+FFFD) in its place; remove it from {cells}"
    )


def cells_named(numbers: list[int], shown: int = 5) -> str:
    """`cell 2`, `cells 2, 5 and 9`, `cells 2, 5, 9, 11, 14 and 89,995 more`: a note names a
    few cells, not each of the thousands a script may write."""
    if len(numbers) == 1:
        return f"cell {numbers[0]}"
    if len(numbers) > shown:
        return f"cells {', '.join(map(str, numbers[:shown]))} and {len(numbers) - shown:,} more"
    return f"cells {', '.join(map(str, numbers[:-1]))} and {numbers[-1]}"


def _first_line_of_code(text: str) -> str:
    """A cell's first line, or the first of its Python body under a cell magic that runs it
    (`%%time`): the `# Exercise 2` mark below a `%%time` was missed, so the check cells, which
    read a kernel's history without its headings, took that cell's dlogits for exercise 1's and
    said exercise 2's was "not run in this kernel", the grader grading it right."""
    lines = _first_lines(text)
    if not lines:
        return ""
    magic = (lines[0].strip()[2:].split() or [""])[0] if lines[0].lstrip().startswith("%%") else ""
    return lines[1].lstrip() if magic in _PYTHON_CELL_MAGICS and len(lines) > 1 else lines[0]


def read_history(cells: Iterable[object], functions: dict[str, tuple[str, ...]]) -> NotebookRead:
    """What the grader would read from a notebook holding `cells`: the inputs a kernel ran, in
    the order it ran them (IPython's raw history). The notebook's check cells judge this rather
    than the kernel's own functions, so that a function reading a global the grader leaves out
    fails there as it fails graded. A cell run again counts where it ran last; nothing caps the
    reading (it is the student's own kernel, and its history may be long)."""
    kept = _last_runs(cells)
    cells = [{"cell_type": "code", "metadata": {}, "source": t} for t in kept]
    budget = Allowance(sum(map(len, kept)), sum(t.count("\n") + 1 for t in kept))
    return read_cells(cells, "this notebook", functions, budget)


def _last_runs(cells: Iterable[object]) -> list[str]:
    """A kernel's inputs as `read_history` reads them: each text once, where it ran last."""
    texts = [t for t in cells if isinstance(t, str) and t.strip()]
    last = {text: i for i, text in enumerate(texts)}
    return [text for i, text in enumerate(texts) if last[text] == i]


_TOP_DEF = re.compile(r"^(?:async[ \t]+)?def[ \t]+(\w+)", re.MULTILINE)


def returned_to(
    cells: Iterable[object], functions: dict[str, tuple[str, ...]], exercise: str
) -> list[str]:
    """Notes for the check of `exercise` on a function whose definition run last in a kernel's
    history (`cells`, IPython's raw inputs, each at its execution count) was run again after
    another definition of it: two cells define it (an edit run again never brings the old
    text back). The check judges the one run last; the grader, reading the saved notebook, the
    lowest of them, which may be the other: Run All, then the upper cell run again, passed the
    check and failed the grader without a word of the other cell."""
    runs: dict[str, list[tuple[int, str]]] = {}
    section = ""
    for count, text in enumerate(cells):
        if not isinstance(text, str):
            continue
        mark = _CODE_MARK.match(_first_line_of_code(text))
        section = f"exercise{mark.group(1)}" if mark else section
        if section != exercise:
            continue
        for name in _TOP_DEF.findall(text):
            if name in functions.get(exercise, ()):
                runs.setdefault(name, []).append((count, text))
    notes = []
    for name, ran in runs.items():
        last = ran[-1][1]
        first_of_last = next(count for count, text in ran if text == last)
        if any(text != last and count > first_of_last for count, text in ran):
            counts = [f"[{count}]" for count, _ in ran]
            listed = ", ".join(counts[:-1]) + " and " + counts[-1]
            notes.append(
                f"two or more cells this kernel ran define `{name}` under Exercise "
                f"{exercise.removeprefix('exercise')} (runs {listed}; this check judged the one "
                "run last, which ran again after another): the grader never runs your notebook "
                "and takes the lowest of them in it, which may be another; keep one of them, "
                "then Restart and run all"
            )
    return notes


def unparsed_cells(read: NotebookRead, cells: Iterable[object]) -> list[tuple[str, str, str]]:
    """The cells of a kernel's history (`read` is `read_history(cells, ...)`) that are not
    valid Python, as (section, text, why): the kernel ran such a cell and defined nothing, and
    a check that said only that a function was "not run" sent the student to run it again."""
    texts = _last_runs(cells)
    found = []
    for record in read.cells:
        for dropped in record.dropped:
            if dropped.startswith(_UNPARSED):
                why = dropped.removeprefix("the whole cell: ")
                found.append((record.section, texts[record.cell - 1], why))
    return found


_UNPARSED = "the whole cell: not valid Python"


def opens_with_mark(text: str) -> bool:
    """Whether a cell opens with an exercise's mark (`# Exercise 2`, under a first `%%time`):
    a kernel's history holds no headings, so a cell without one is read as the exercise of the
    marked cell run before it."""
    return bool(_CODE_MARK.match(_first_line_of_code(text)))


# nbformat 4.5 gives a cell id 1 to 64 characters; a notebook may hold any JSON value there.
MAX_CELL_ID = 64


def _cell_id(cell: dict) -> str:
    """The cell's id as result.json records it, at most MAX_CELL_ID characters: a 40 MB id (a
    notebook's bytes are bounded at 64 MiB, not its fields) made a 40 MB result.json. Colab
    saves nbformat 4.0, which has no cell ids, and keeps its own in the cell's metadata: every
    Colab notebook's cells were recorded without one."""
    value = cell.get("id")
    meta = cell.get("metadata")
    if not isinstance(value, str) and isinstance(meta, dict):
        value = meta.get("id")
    return value[:MAX_CELL_ID] if isinstance(value, str) else ""


def _cell_parts(cell: dict) -> tuple[str, str, list[str]]:
    source = cell.get("source", "")
    text = "".join(source) if isinstance(source, list) else str(source)
    meta = cell.get("metadata")
    tags = meta.get("tags") if isinstance(meta, dict) else None
    tags = [str(t).lower() for t in tags] if isinstance(tags, list) else []
    return str(cell.get("cell_type", "")), text, tags


def _first_lines(text: str, count: int = 2) -> list[str]:
    """The first `count` lines of the cell that are not blank, and not a line further: what
    names a cell and marks its exercise is read before its size is checked, and splitting the
    whole cell there, twice, took a cell of 15 million short lines (a 57 MB notebook) 2.1 GB and
    9 s of the grader's own process before it was dropped as too large."""
    found: list[str] = []
    rest = text.lstrip()
    while rest and len(found) < count:
        line = _LINE.match(rest).group()
        found.append(line.rstrip("\r\n"))
        rest = rest[len(line) :].lstrip()
    return found


def _lines(text: str, keepends: bool = False) -> list[str]:
    """str.splitlines(), but splitting only where Python ends a line (see _LINE)."""
    lines = _LINE.findall(text)
    return lines if keepends else [ln.rstrip("\r\n") for ln in lines]


# Python's words for a NUL in source: a ValueError where the grader runs 3.11.2, "line None"
# of a SyntaxError where it runs 3.11.7; the note was "it could not be parsed (ValueError)" or
# "not valid Python (line None: ...)".
NUL_IN_CODE = "source code string cannot contain null bytes"


def _strip_magics(text: str, record: CellRecord, allowance: Allowance) -> str | None:
    """The cell as Python: magic and shell lines blanked (line numbers kept); None if not Python."""
    lines = _lines(text)
    first = next((i for i, ln in enumerate(lines) if ln.strip()), 0)
    if lines[first].strip().startswith("%%"):
        magic = (lines[first].strip()[2:].split() or [""])[0]
        if magic not in _PYTHON_CELL_MAGICS:
            record.dropped.append(f"a %%{magic} cell (not Python)")
            return None
        record.dropped.append(f"the cell magic %%{magic} (its Python body is read)")
        lines[first] = ""
    try:
        ast.parse("\n".join(lines))
        return "\n".join(lines) + "\n"  # plain Python: nothing to blank, docstrings untouched
    except SyntaxError:
        pass
    limit = max(allowance.commands, 0) + 1  # one past it: the cell is then dropped, and said
    # What looks like a command, alone: the lines are tokenized up to the last of those only
    # (a tokenize costs ~5 s per MB; the lines past the limit-th leave the cell over its limit).
    upto = max(_commands(lines, set(), limit), default=0)
    # A command's own brackets and quotes (`%timeit f(x`) open nothing: the lines are read
    # again without the commands found first, so the ones after it are not taken as inside.
    commands = _commands(lines[:upto], _continued_lines(lines, upto), limit)
    if any(set(lines[i - 1]) & set("([{'\"") for i in commands):
        settled = ["" if i in commands else ln for i, ln in enumerate(lines, 1)]
        commands = _commands(lines[:upto], _continued_lines(settled, upto), limit)
    out = []
    for number, line in enumerate(lines, start=1):
        if number in commands:
            if not allowance.spend_command(record):
                return None  # an ast.parse per line: the work is bounded per notebook
            record.dropped.append(f"line {number}: {line.strip()[:60]} (an IPython command)")
            indent = line[: len(line) - len(line.lstrip())]
            out.append(f"{indent}pass" if indent else "")  # an indented block must stay a block
        else:
            out.append(line)
    return "\n".join(out) + "\n"


def _commands(lines: list[str], continued: set[int], limit: int) -> set[int]:
    """The numbers of the first `limit` lines that are IPython commands: a line of its own (not
    in `continued`) that looks like one and is not Python (an ast.parse each: bounded)."""
    found: set[int] = set()
    for number, line in enumerate(lines, start=1):
        if len(found) >= limit:
            break
        if number not in continued and _MAGIC_LINE.search(line) and _is_not_python(line):
            found.add(number)
    return found


# Tokens that say where lines and blocks end, and comments: no part of a statement.
_LAYOUT = (tokenize.NEWLINE, tokenize.NL, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT)


def _continued_lines(lines: list[str], upto: int) -> set[int]:
    """The numbers of the lines that are part of a statement begun before them, or that open a
    string running past them, or that open a statement going on past them (but a line that
    starts with % or !): an IPython command is a line of its own, and those lines are not
    one, alone as they fail to parse (a docstring `\"\"\"Why n-1 and not n?` was blanked, which
    left its body as code and dropped the whole cell; `time * 2)` in brackets broke the call).
    Read up to line `upto` (the last that may be a command), and past it only to end its
    statement."""
    continued: set[int] = set()
    depth, open_statement, statement_row, statement_start = 0, False, 0, 0
    try:
        for tok in _tokens(lines):
            first, last = tok.start[0], tok.end[0]
            if first > upto and not open_statement:
                break  # past the last line that may be a command, and past its statement
            # Brackets as counted here, not the tokenizer's NEWLINE: after a stray closer
            # (`!echo }`) 3.11's ended the statement inside the next brackets, 3.12's does not.
            if tok.type in (tokenize.NEWLINE, tokenize.NL) and depth == 0:
                open_statement = False
                continue
            if tok.type in _LAYOUT:
                continue
            if open_statement and first > statement_row:
                continued.add(first)  # inside brackets or after a backslash
                if not _NEVER_PYTHON.match(lines[statement_start - 1]):
                    continued.add(statement_start)  # `time = (1 +` opens a statement
            if last > first:
                continued.update(range(first, last + 1))  # a string over several lines
            if not open_statement:
                open_statement, statement_row, statement_start = True, first, first
            statement_row = max(statement_row, last)
            if tok.type == tokenize.OP and tok.string in "([{":
                depth += 1
            elif tok.type == tokenize.OP and tok.string in ")]}":
                depth = max(depth - 1, 0)
    except (tokenize.TokenError, SyntaxError):
        pass  # the lines read so far are known; a command line cannot end the cell in a string
    return continued


# Python 3.12's tokenizer stops at the first character it cannot read on: a string left open on
# its line (`!echo don't`), a backslash not ending its line (`!ls C:\\ Users`), a number it
# cannot read (`!echo 0x`), a lone `}` in an f-string. 3.10's and 3.11's read it as a stray
# character and go on. The lines after it were then no longer known to be inside a docstring or
# brackets and were blanked as commands on 3.12 alone (the cell, and its function, dropped on
# Ubuntu 24.04's Python). That character is skipped here on every Python, a few times a cell:
# each costs a tokenize of the cell again, so not in a cell far larger than a lecture's.
_SKIPS, _SKIP_BYTES = 8, 64 << 10


def _tokens(lines: list[str]) -> Iterator[tokenize.TokenInfo]:
    """The cell's tokens as Python 3.10 and 3.11 read them, whatever Python runs (above)."""
    lines = list(lines)
    given = 0  # tokens already yielded: a new tokenize repeats them up to the skipped character
    skips = _SKIPS if sum(map(len, lines)) <= _SKIP_BYTES else 0
    while True:
        tokens = tokenize.generate_tokens(iter([line + "\n" for line in lines]).__next__)
        try:
            for index, tok in enumerate(tokens):
                if index >= given:
                    given += 1
                    yield tok
            return
        except tokenize.TokenError as e:
            stray = _stray_character(e, lines) if skips else None
            if stray is None:
                raise
            row, col = stray
            lines[row] = lines[row][:col] + " " + lines[row][col + 1 :]
            skips -= 1


def _stray_character(error: tokenize.TokenError, lines: list[str]) -> tuple[int, int] | None:
    """The character (0-based line and column) that Python 3.12's tokenizer stopped at and
    3.11's reads as a stray one, or None (an error both stop at: a string open at the end).
    The error's column counts from 1 and names: a string's first character (its prefix's: the
    quote follows), the end of a line a backslash did not end, or the unreadable character."""
    message, where = (tuple(error.args) + (None, None))[:2]
    if not (isinstance(message, str) and isinstance(where, tuple) and len(where) == 2):
        return None
    row, col = where
    if not (isinstance(row, int) and isinstance(col, int) and 1 <= row <= len(lines)):
        return None
    line, at = lines[row - 1], max(col - 1, 0)
    if message.startswith(("unterminated string literal", "unterminated f-string literal")):
        found = next((i for i in range(at, len(line)) if line[i] in "'\""), None)
    elif message.startswith("unexpected character after line continuation"):
        found = line.rfind("\\", 0, at + 1)
    elif message.startswith("invalid ") and message.endswith(" literal"):
        found = at if at < len(line) else None
    elif message.startswith("f-string: single '}'"):
        found = at if line[at : at + 1] == "}" else None
    else:
        return None
    return None if found is None or found < 0 else (row - 1, found)


def _is_not_python(line: str) -> bool:
    """`%matplotlib inline`, `!pip install x`, `files = !ls`, `F.one_hot?`, `pip install x`; not
    `x = a % b`, `a != b`, `# why?` or `time = 3`."""
    try:
        ast.parse(line.strip())
    except SyntaxError:
        return True
    return False


def _select(text, record, gradient, constants, lecture_style, allowance) -> list[_Piece]:
    """The statements of one cell that a module needs, as source pieces."""
    python = _strip_magics(text, record, allowance)
    if python is None:
        return []
    try:
        tree = ast.parse(python)
    except SyntaxError as e:
        where = f"line {e.lineno}: " if e.lineno is not None else ""  # some errors have none
        record.dropped.append(f"the whole cell: not valid Python ({where}{e.msg})")
        return []
    newer = newer_syntax(python)
    if newer:  # Colab's 3.12 reads it, the grader's Python does not: dropped in both
        record.dropped.append(f"the whole cell: not valid Python ({newer})")
        return []
    lines = _lines(python, keepends=True)
    pieces = []
    for i, node in enumerate(tree.body):
        kind = keep(node, gradient, constants)
        if kind is None:
            record.dropped.append(f"line {node.lineno}: {_describe(node)}")
            lecture_style.update(assigned(node) & gradient)
            continue
        if kind == "missing-import":
            record.dropped.append(
                f"line {node.lineno}: {_first_line(lines, node)} (not installed where the "
                "grader runs; a function that uses it fails with a NameError)"
            )
            continue
        neighbours = tree.body[i - 1 : i] + tree.body[i + 1 : i + 2]
        piece = _Piece(record.cell, _source_of(node, lines, neighbours))
        piece.refs = _global_refs(piece.text, node)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            piece.name = node.name
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in gradient:
            piece.defines, piece.exercise = node.name, record.section
            piece.stub = _is_stub_def(node)
        piece.future = getattr(node, "module", None) == "__future__"  # from __future__ import
        if kind.startswith("constant"):
            piece.sets = frozenset(assigned(node))
        learn(node, constants)
        pieces.append(piece)
        record.taken.append(kind)
    return pieces


def _global_refs(text: str, node: ast.stmt) -> frozenset[str]:
    """The module-level names a statement's code may use: what its module scope (decorators,
    default values) refers to, and what any function in it reads as a global. A local variable
    `dlogprobs` inside `backward` is no call of exercise 1's `dlogprobs`."""
    try:
        top = symtable.symtable(text, "<cell>", "exec")
    except (SyntaxError, RecursionError, MemoryError, ValueError):
        return frozenset(n.id for n in ast.walk(node) if isinstance(n, ast.Name))
    refs = {s.get_name() for s in top.get_symbols() if s.is_referenced()}
    tables = list(top.get_children())
    while tables:
        t = tables.pop()
        refs |= {s.get_name() for s in t.get_symbols() if s.is_global() and s.is_referenced()}
        tables += t.get_children()
    return frozenset(refs)


def _source_of(node: ast.stmt, lines: list[str], neighbours: list[ast.stmt]) -> str:
    """The statement's own lines (comments kept); rebuilt from the tree if it shares a line."""
    start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
    end = node.end_lineno or node.lineno
    shares = any(n.end_lineno == start or n.lineno == end for n in neighbours)
    if shares or getattr(node, "col_offset", 0):
        return ast.unparse(node) + "\n"
    return "".join(lines[start - 1 : end]).rstrip() + "\n"


def _describe(node: ast.stmt) -> str:
    names = {
        ast.For: "a for loop",
        ast.While: "a while loop",
        ast.If: "an if block",
        ast.With: "a with block",
        ast.Try: "a try block",
        ast.Expr: "an expression",
        ast.AugAssign: "an update",
        ast.Delete: "a del",
        ast.Assert: "an assert",
        ast.Global: "a global",
    }
    if isinstance(node, (ast.Assign, ast.AnnAssign)):
        targets = sorted(assigned(node)) or ["..."]
        return f"{', '.join(targets)} = ... (not a constant: not run when grading)"
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
        what = f"a call of {ast.unparse(node.value.func)[:40]}(...)"
    else:
        what = next((v for k, v in names.items() if isinstance(node, k)), type(node).__name__)
    return what + " (not run when grading)"


def _opening(line: str, width: int = 50) -> str:
    """A cell's first line as a note quotes it: stripped, and cut to `width` characters."""
    line = " ".join(line.split())
    return line if len(line) <= width else line[: width - 3] + "..."


def _first_line(lines: list[str], node: ast.stmt) -> str:
    return lines[node.lineno - 1].strip()[:80]


def _assemble(name, pieces, records, functions) -> NotebookRead:
    """One module per exercise: shared pieces, plus its own gradient functions; last one wins."""
    sources: dict[str, str | None] = {}
    got: dict[str, list[str]] = {}
    used: dict[str, list[int]] = {}
    implemented: set[tuple[str, str]] = set()
    replaced: dict[int, set[tuple[str, int]]] = {}
    # Every definition a kernel would have replaced, whoever's: exercise 3 calls the last
    # `dlogits` defined, and one of exercise 1 run again after exercise 2's is the kernel's.
    overwritten: dict[int, set[tuple[str, int]]] = {}
    for exercise, names in functions.items():
        mine = {p.defines for p in pieces if p.defines and p.exercise == exercise}
        own = [
            p
            for p in pieces
            if p.defines is None
            or p.exercise == exercise
            or (p.defines in names and not p.exercise)
            # Under another exercise's heading that never calls it (the lecture numbers its
            # fused BatchNorm "Exercise 3"): it serves the exercises that call it, if they lack one.
            or (p.defines in set(names) - mine and p.defines not in functions.get(p.exercise, ()))
        ]
        own = _called_for(own, pieces, names)
        # A kernel keeps only the last definition of a name; so does the module.
        last = {p.name: p for p in own if p.name}
        for p in own:
            if not p.name or last[p.name] is p:
                continue
            overwritten.setdefault(p.cell, set()).add((p.name, last[p.name].cell))
            # Only this exercise's own definitions are said to be replaced: exercise 1's
            # `dlogits` is not, for exercise 1, replaced by exercise 2's that exercise 3 uses.
            if p.defines is None or p.defines in names:
                replaced.setdefault(p.cell, set()).add((p.name, last[p.name].cell))
        own = [p for p in own if not p.name or last[p.name] is p]
        got[exercise] = [p.defines for p in own if p.defines in names]
        if not got[exercise]:
            sources[exercise] = None
            continue
        used[exercise] = sorted({p.cell for p in own})
        futures = [p.text for p in own if p.future]
        body = [f"# cell {p.cell}\n{p.text}" for p in own if not p.future]
        header = f"# Read by the grader from the notebook {name!r}; nothing else of it is run.\n"
        sources[exercise] = "".join(futures) + header + "\n".join(body)
        implemented |= {(exercise, p.defines) for p in own if p.defines in names and not p.stub}
    labels = {r.cell: r.label() for r in records}
    for record in records:
        for fn, later in sorted(replaced.get(record.cell, ())):
            record.dropped.append(f"def {fn}: replaced by the one in {labels[later]}")
    read = NotebookRead(name, sources, got, records, used=used, implemented=len(implemented))
    read.notes += _run_out_of_order(overwritten, {r.cell: r for r in records})
    read.notes += _constants_out_of_order(pieces, {r.cell: r for r in records})
    for exercise, text in sources.items():
        if text is not None and len(text.encode()) > MAX_SOURCE_BYTES:
            sources[exercise] = None
            read.notes.append(
                f"the code read for {exercise} from {name} is larger than "
                f"{MAX_SOURCE_BYTES} bytes and was not graded"
            )
    return read


def _starts(text: str) -> str:
    """The line a note names a cell by: its first, or the one after an `# Exercise N` mark, which
    opens every gradient cell of the assignment's notebook (every label read `("# Exercise 1")`)."""
    lines = _first_lines(text)
    if len(lines) > 1 and _BARE_MARK.fullmatch(lines[0].strip()):
        return _opening(lines[1].strip())
    return _opening(lines[0]) if lines else ""


MAX_EXECUTION_COUNT = 10**9  # more than any kernel gives: a larger count is a made-up one


def _ran(cell: dict) -> int | None:
    """A cell's saved execution count, or None: a count of thousands of digits, quoted in a
    note, made each note kilobytes long."""
    count = cell.get("execution_count")
    if isinstance(count, int) and not isinstance(count, bool):
        return count if 0 < count <= MAX_EXECUTION_COUNT else None
    return None


def _run_out_of_order(
    replaced: dict[int, set[tuple[str, int]]], records: dict[int, CellRecord]
) -> list[str]:
    """A note for each function defined in two cells or more whose saved execution counts say
    an upper one ran last: the student's kernel, and the check cells run in it, had the upper
    one, and the grader takes the lower one, as a kernel run top to bottom would. The check
    said ok and the grade said wrong (or the other way) with nothing to tell why."""
    # One note a function: the upper cell run last (the kernel's) beside the lower one graded.
    # A note per cell once let 10,000 cells redefining one function write 10,000 notes.
    kernels: dict[tuple[str, int], CellRecord] = {}  # (function, cell graded) -> upper cell
    for cell, pairs in sorted(replaced.items()):
        for fn, later in pairs:
            upper, lower = records[cell], records[later]
            if upper.ran is None or lower.ran is None or upper.ran <= lower.ran:
                continue
            if (fn, later) not in kernels or upper.ran > kernels[fn, later].ran:
                kernels[fn, later] = upper
    return [
        _out_of_order_note(fn, upper, records[later])
        for (fn, later), upper in sorted(kernels.items())
    ]


def _constants_out_of_order(pieces: list[_Piece], records: dict[int, CellRecord]) -> list[str]:
    """A note for each constant set to different values in two cells whose saved execution
    counts say an upper one ran last. `eps = 1e-5` above and `eps = 1e-3` below, run bottom
    first: the kernel and its check cells had 1e-5 and passed, the grader, running the cells
    top to bottom, has 1e-3 and failed, and nothing said why (functions had this note). At most
    MAX_ENTRIES notes, each statement read once: a notebook's size bounds the work."""
    setting: dict[str, list[_Piece]] = {}
    for p in pieces:
        for name in p.sets:
            setting.setdefault(name, []).append(p)
    code: dict[int, str] = {}  # id(piece) -> what its statement does
    notes = []
    for name, ps in sorted(setting.items()):
        graded, lower = ps[-1], records[ps[-1].cell]
        upper = [
            records[p.cell]
            for p in ps[:-1]
            if _ran_after(records[p.cell], lower) and _code(p, code) != _code(graded, code)
        ]
        if upper:
            notes.append(_out_of_order_note(name, max(upper, key=lambda r: r.ran), lower, "set"))
        if len(notes) >= MAX_ENTRIES:
            break
    return notes


def _ran_after(upper: CellRecord, lower: CellRecord) -> bool:
    return upper.ran is not None and lower.ran is not None and upper.ran > lower.ran


def _code(piece: _Piece, seen: dict[int, str]) -> str:
    """What a statement does, comments and spacing aside (`eps = 1e-5  # eps` is `eps = 1e-5`)."""
    if id(piece) not in seen:
        try:
            seen[id(piece)] = ast.dump(ast.parse(piece.text))
        except (SyntaxError, RecursionError, MemoryError, ValueError):
            seen[id(piece)] = piece.text.strip()
    return seen[id(piece)]


def _out_of_order_note(fn: str, upper: CellRecord, lower: CellRecord, verb="defined") -> str:
    # Two exercises' answers of one name (exercise 1's and 2's `dlogits`, the last one defined
    # serving exercise 3): both stay, and a run top to bottom leaves the lower one last.
    both = upper.section and lower.section and upper.section != lower.section
    fix = "Restart and run all" if both else "keep one of them, then Restart and run all"
    return (
        f"`{fn}` is {verb} in {upper.label()} and, lower, in {lower.label()}, which the "
        f"grader takes, as a kernel run top to bottom does; the saved notebook shows cell "
        f"{upper.cell} run after cell {lower.cell} (execution counts [{upper.ran}] and "
        f"[{lower.ran}]), so your kernel and a check cell run then may have used cell "
        f"{upper.cell}'s: {fix}"
    )


def _called_for(own: list[_Piece], pieces: list[_Piece], names) -> list[_Piece]:
    """`own` and the other exercises' gradient functions (names this exercise never asks for)
    that its code calls, directly or through one another, in notebook order.

    In a kernel they are all defined when this exercise runs, so exercise 3's `backward` may
    call exercise 2's fused `dlogits`, as its docstring suggests. Only those named come in: a
    function runs its decorators and default values when its module is imported, and one of
    exercise 1's (`n=Xb.shape[0]`, a name the grader's module lacks) failed the import of
    exercises 2 and 3 too, every function of theirs lost to a bug in one they never call.
    """
    others = [p for p in pieces if p.defines and p.defines not in names]
    chosen = {id(p) for p in own}
    named = set().union(*(p.refs for p in own))
    while found := [p for p in others if p.name in named and id(p) not in chosen]:
        chosen |= {id(p) for p in found}
        named |= set().union(*(p.refs for p in found))
    return [p for p in pieces if id(p) in chosen]


def _is_stub_def(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """A function whose body (docstring aside) is only `raise NotImplementedError(...)`."""
    body = fn.body[1:] if fn.body and _is_docstring(fn.body[0]) else fn.body
    return (
        len(body) == 1
        and isinstance(body[0], ast.Raise)
        and "NotImplementedError" in ast.unparse(body[0])
    )


def _is_docstring(node: ast.stmt) -> bool:
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)


def preference(read: NotebookRead, depth: int, name: str) -> tuple:
    """How notebooks of one upload rank, the best last: the most gradient functions implemented,
    then defined, then the shallowest, then the first by name. The grader grades the best, and a
    student's check judges the same one (it broke ties by path alone and could judge another)."""
    defined = sum(len(v) for v in read.functions.values())
    return (read.implemented, defined, -depth, [-ord(c) for c in name])


def is_untouched_stub(source: bytes) -> bool:
    """True when a .py file holds no work: every function still only raises NotImplementedError
    (or there is none, as in an empty file). A file that does not parse counts as work."""
    try:
        tree = ast.parse(source.decode("utf-8-sig"))
    except (SyntaxError, UnicodeDecodeError, ValueError, RecursionError, MemoryError):
        return False
    fns = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    return all(_is_stub_def(f) for f in fns)


def work_left_in(read: NotebookRead, files: tuple[str, ...], present: dict) -> list[str]:
    """The exercises the notebook holds work for and the graded .py files do not (an untouched
    stub, or no file): a student who worked on some exercises in each, or who zipped the
    bundle's folder with a .py file started, whose notebook then went unread."""
    return [
        f
        for f in files
        if read.sources.get(f)
        and not is_untouched_stub(read.sources[f].encode("utf-8"))
        and (f not in present or is_untouched_stub(present[f]))
    ]


def py_files_graded_note(present: Iterable[str], where: str, unread: list[str]) -> str:
    """What is said when a folder's .py files are graded and a notebook beside them holding
    work is not: one text for the grader's note and the student's check, which judged the .py
    files and said nothing of the notebook, whose work for exercises 2 and 3 then scored 0."""
    left = (
        f", so its work for {', '.join(unread)} is not graded (those .py files hold none)"
        if unread
        else ""
    )
    return (
        f"graded your .py files ({', '.join(f + '.py' for f in present)}), not the notebook "
        f"{where}: when both are submitted, the .py files count{left}. Submit only the one you "
        "want graded."
    )


def several_notebooks_note(
    places: list[str], where: str, chosen: NotebookRead, rivals: list[str]
) -> str:
    """What is said when an upload holds several notebooks and `where` (of `places`, each
    notebook's place in the upload) is graded: one text for the grader's note and the student's
    check, which checked the same notebook and did not say so. `rivals`: the others tied with it
    (tied_notebooks), which make it the first by name."""
    others = ", ".join(p for p in places if p != where)
    why = (
        f"first by name of those implementing the most ({chosen.implemented})"
        if rivals
        else f"which implements the most gradient functions ({chosen.implemented})"
    )
    return (
        f"found {len(places)} notebooks; graded {where}, {why}; not graded: {others}. Submit "
        "one notebook."
    )


def tied_notebooks(reads: list[tuple[str, NotebookRead]], where: str) -> list[str]:
    """The places of the notebooks of `reads` (place, read) implementing as many gradient
    functions as the one at `where`, with other code: it was chosen among them by its name
    alone (none when it implements none)."""
    chosen = next(read for place, read in reads if place == where)
    if not chosen.implemented:
        return []
    return [
        place
        for place, read in reads
        if place != where
        and read.implemented == chosen.implemented
        and _exercise_code(read) != _exercise_code(chosen)
    ]


def _exercise_code(read: NotebookRead) -> dict[str, list[str]]:
    """What a notebook gives each exercise, less the lines that name the notebook and its cells:
    a copy of a notebook holds the same code under another name."""
    return {
        f: [
            line
            for line in (text or "").splitlines()
            if not re.fullmatch(r"# cell \d+|# Read by the grader from the notebook .*", line)
        ]
        for f, text in read.sources.items()
    }


def graded_instead_note(where: str, present: Iterable[str]) -> str:
    """What is said when a notebook is graded in place of .py files that hold no work: one text
    for the grader's note and the student's check, which checks that notebook too."""
    return (
        f"graded the notebook {where}: the .py files beside it hold no work yet, only "
        f"untouched stubs ({', '.join(f + '.py' for f in present)})"
    )


def graded_notebook_note(where: str, read: NotebookRead, files: tuple[str, ...]) -> str:
    """What the grader read from the notebook it grades, per exercise: one text for its note
    and the student's check's."""
    parts = "; ".join(f"{f}: {read.summary(f)}" for f in files)
    # No "see the report": this note reaches `grader check` and Gradescope, which have none.
    return f"graded the notebook {where} ({parts})"


def _no_functions_note(name, functions, lecture_style) -> str:
    examples = ", ".join(list(dict.fromkeys(f for names in functions.values() for f in names))[:3])
    why = (
        f" It computes gradients as top-level statements ({', '.join(sorted(lecture_style)[:3])}"
        " = ...), as the lecture's notebook does; the grader calls functions."
        if lecture_style
        else ""
    )
    where = _where(tuple(functions))
    return f"{name} defines none of the gradient functions ({examples}, ...).{why}" + where


# What a note on a notebook without functions says where the assignment ships no notebook, and
# in a student's check (which cannot tell): every assignment has stubs. "as the notebook's cells
# do", said by every check, was untrue of an assignment that ships no notebook, whose grader
# said this.
AS_THE_STUBS = " Define one function per gradient, as the assignment's stubs do."


def _where(files: tuple[str, ...]) -> str:
    """Where the assignment's own notebook is, if it ships one (its `derived` files)."""
    try:
        from .assignment import having
    except ImportError:  # shipped to students (a check.py, a notebook's check cells)
        return AS_THE_STUBS
    assignment = having(files)
    notebooks = [d.name for d in assignment.derived if d.name.endswith(".ipynb")]
    if not notebooks:
        return AS_THE_STUBS
    return (
        f" Work in the assignment's notebook {notebooks[0]} (in the student bundle, "
        f"{assignment.name}-student.zip), which has one function per gradient, and submit that."
    )
