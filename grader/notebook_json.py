"""A notebook's JSON read into cells with the standard library alone: shared by the grader and
the student bundle's check.

The grader reads a notebook file with nbformat (notebook_file), which a student's machine may not
have; the bundle's check ships this module instead (grader/bundle.py's CHECK_CORE). Both refuse
a JSON number longer than Python reads in the same words (`parse_notebook_json`), both refuse
what is no notebook they can read and mend what no editor writes with the same code
(`prepared`: JSON that is no object, a version other than 1 to 4, a version written as text,
metadata that is no object), and the check reads the cells of an nbformat 1, 2 or 3 notebook as
nbformat's upgrade to version 4 gives them to the grader (`cells_as_version_4`): it called an
nbformat 3 notebook "no JSON with cells", read an nbformat 1 one's code as none, an nbformat 2
one's lines without the blank line nbformat's join puts between them, and a version written "4"
or metadata that is a list as no notebook, each where the grader read and graded it. Both
decode the bytes and bound the text alike (`notebook_text`: a large notebook's long strings'
middles dropped, its JSON parts counted against the grader's limits and refused in its words).
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass

from .notebook import (
    MAX_SOURCE_BYTES,
    Allowance,
    NotebookError,
    NotebookRead,
    cells_named,
    read_cells,
)
from .student_text import wide_text

# The largest notebook the grader reads (image outputs make notebooks big; the code in them is
# small), and the bundle's check with it.
MAX_NOTEBOOK_BYTES = 64 << 20


def too_large(name: str) -> NotebookError:
    """A notebook over MAX_NOTEBOOK_BYTES: what makes one that large is its outputs (images).
    The grader's words, and the check's: it skipped such a notebook of a folder unsaid."""
    return NotebookError(
        f"{name} is larger than {MAX_NOTEBOOK_BYTES >> 20} MB: clear its outputs "
        "(Edit > Clear all outputs), save, and submit it again"
    )


# What reading a notebook may cost, whatever its bytes. nbformat makes every JSON object or list
# a NotebookNode of ~500 bytes: 3 bytes of `{},` cost 500 of memory (12 MB of them, 2.4 GB), so
# the byte limit alone does not bound memory. The lecture's notebooks hold at most 400 objects and
# lists and 4,000 values (strings, numbers) with their outputs; these bounds are 250 times that
# and cost at most ~50 MB and ~100 MB. Counted in the text before any parsing (_json_counts).
MAX_JSON_CONTAINERS, MAX_JSON_VALUES = 100_000, 1_000_000
# The text is counted a piece at a time (`_json_counts`), so what counting costs is bounded by the
# piece, not by the notebook: a regular expression matching a whole string with its escapes kept
# a backtracking mark for each escape, ~75 bytes, and a 61 MB notebook of `\n` escapes (within
# MAX_NOTEBOOK_BYTES, 60 KB zipped) took 3.7 GB and 12 s of the grader's own process.
_COUNT_PIECE = 1 << 20


@dataclass
class JsonParts:
    """What is left of MAX_JSON_CONTAINERS and MAX_JSON_VALUES for one submission's notebooks
    together, as the code read is (notebook.Allowance): each notebook within the bounds alone,
    thirteen of 33,000 cells each (60 MB, a few hundred KB zipped) cost the grader's own process
    11 s and 280 MB, parsed and read cell by cell before the shared allowance left their code
    unread."""

    containers: int = MAX_JSON_CONTAINERS
    values: int = MAX_JSON_VALUES


_BACKSLASHES = re.compile(r"\\*")


def notebook_text(data: bytes, name: str, parts: JsonParts | None = None) -> str:
    """A notebook's bytes as the text its JSON is parsed from: a large one's long strings' middles
    dropped (`_middles_dropped`), and NotebookError, in the grader's words, for bytes that are
    not UTF-8 or a text of more JSON parts than `parts` leaves (spent here when it is read).
    The grader and the bundle's check both read a notebook so: the check parsed a notebook of
    200,000 empty objects the grader refuses, and decoded a large one's outputs whole."""
    try:
        text = _middles_dropped(data).decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise NotebookError(not_utf8(name, data, e)) from None
    containers, values = _json_counts(text)
    parts = parts or JsonParts()
    if containers > parts.containers or values > parts.values:
        others = (
            ""
            if (parts.containers, parts.values) == (MAX_JSON_CONTAINERS, MAX_JSON_VALUES)
            else " in all of the upload's notebooks, with those read before it"
        )
        raise NotebookError(
            f"{name} has too many parts to be read ({containers} JSON objects and lists, "
            f"{values} values; a notebook with outputs has a few thousand, at most "
            f"{MAX_JSON_CONTAINERS} and {MAX_JSON_VALUES} are read{others}): clear its outputs "
            "(Edit > Clear all outputs), save, and submit it again"
        )
    parts.containers -= containers
    parts.values -= values
    return text


class LongNumber(Exception):  # noqa: N818 - not a ValueError: nbformat's reading re-raises those
    """A JSON integer longer than Python reads (`int`'s limit on digits, 4,300 by default)."""

    def __init__(self, digits: str) -> None:
        super().__init__(digits)
        self.digits = digits


def json_int(digits: str) -> int:
    """JSON's integers as `json` reads them, but one longer than `int` reads is refused in words:
    it read "not valid JSON: Notebook does not appear to be JSON", naming neither what nor where."""
    limit = getattr(sys, "get_int_max_str_digits", lambda: 0)()
    if limit and len(digits.lstrip("-")) > limit:
        raise LongNumber(digits)
    return int(digits)


def long_number(name: str, text: str, digits: str) -> str:
    """What is wrong, and where: no editor writes such a number (an execution count is a few
    digits), so a script or a hand edit did; the line is the first that holds those digits."""
    at = text.find(digits)
    line = text.count("\n", 0, at) + 1 if at >= 0 else None
    where = f" on line {line}" if line else ""
    size = len(digits.lstrip("-"))
    return (
        f"{name} holds a number {size} digits long{where} (`{digits[:10]}...`), longer than "
        f"the {getattr(sys, 'get_int_max_str_digits', lambda: 0)()} digits Python reads, "
        "which no notebook editor writes: remove it in a text editor, or download the notebook "
        "again (File > Download > .ipynb), and submit it again"
    )


def parse_notebook_json(text: str, name: str) -> object:
    """The notebook's JSON; NotebookError, in the same words for the grader and the check, for
    what is no JSON, an integer too long to read, or nesting too deep to parse (the check
    skipped a notebook of bad JSON without a word, where the grader said why)."""
    try:
        return json.loads(text, parse_int=json_int)
    except LongNumber as e:
        raise NotebookError(long_number(name, text, e.digits)) from None
    except json.JSONDecodeError as e:
        raise NotebookError(
            f"{name} is not a notebook (not valid JSON: {str(e)[:200]}); download it again "
            "with File > Download > .ipynb"
        ) from None
    except RecursionError:
        raise NotebookError(too_deep(name)) from None


def unreadable(where: str, error: Exception) -> str:
    """A notebook of an upload whose bytes could not be read (encrypted in its zip, a broken
    entry): the grader's words, and the check's, which skipped it unsaid."""
    return f"{where} could not be read: {error}"


def too_deep(name: str) -> str:
    return f"{name} is nested too deeply to be a notebook"


def unreadable_notebook(name: str, error: BaseException) -> str:
    """The grader's words for a notebook its reading failed on, in Python's words cut short."""
    return (
        f"{name} could not be read as a notebook ({type(error).__name__}: {str(error)[:200]}); "
        "open it in Jupyter or Colab, save it (nbformat 4), and submit it again"
    )


def cells_read(
    cells: list[dict],
    name: str,
    functions: dict[str, tuple[str, ...]],
    mended: list[str],
    allowance: Allowance | None = None,
) -> NotebookRead:
    """A notebook's cells read (notebook.read_cells), what was mended to read them said first
    (`mended`, whole notes): the grader's reading (notebook_file) and the bundle's check's
    (notebook_instead) both. A failure of the reading is NotebookError in the grader's words:
    the grader let it go on up, and the whole upload failed ("could not be read (ValueError:
    ...)", its .py files too), where the check read such a notebook as none, unsaid."""
    try:
        read = read_cells(cells, name, functions, allowance)
    except RecursionError:
        raise NotebookError(too_deep(name)) from None
    except (ValueError, AttributeError, TypeError) as e:
        raise NotebookError(unreadable_notebook(name, e)) from None
    read.notes[:0] = mended
    return read


def no_cells(name: str) -> str:
    return f"{name} has no list of cells: it is not a Jupyter notebook"


# The major versions nbformat reads (nbformat.versions), compared as nbformat compares them
# (`4.0` and `true` are versions 4 and 1 there); a notebook without one is version 1 there.
VERSIONS = (1, 2, 3, 4)
# nbformat 1's kinds of cell, and what each becomes in version 4.
VERSION_1_CELLS = {"code": "code", "text": "markdown"}


def version_of(raw: dict) -> object:
    """The notebook's major version as nbformat reads it (1 when it names none)."""
    return raw.get("nbformat", 1)


def prepared(raw: object, name: str) -> list[str]:
    """Refuse, in words, what the grader reads as no notebook, and mend in place what no
    editor writes but it reads all the same (`mend`); what was mended, in words. The grader
    (notebook_file) and the bundle's check both call it before reading the cells: the check,
    reading without nbformat, took a version written "4" and metadata that is a list for no
    notebook, and a version 5 notebook for one, where the grader read the first two and
    refused the third (NotebookError)."""
    if not isinstance(raw, dict):
        raise NotebookError(_no_object(name, raw))
    said = mend(raw)
    version = version_of(raw)
    if version not in VERSIONS:
        raise NotebookError(
            f"{name} could not be read as a notebook (Unsupported nbformat version {version!r}: "
            "versions 1 to 4 are read); open it in Jupyter or Colab, save it (nbformat 4), and "
            "submit it again"
        )
    if version == 1:
        _version_1_cells(raw, name)
    return said


def _version_1_cells(raw: dict, name: str) -> None:
    """An nbformat 1 notebook's cells are code or text, in a list: nbformat's upgrade of any
    other cell failed in Python's words (UnboundLocalError) or read the cell before it twice,
    its code lost (a notebook with no `nbformat`, read as version 1, is the usual one)."""
    cells = raw.get("cells")
    if not isinstance(cells, list):
        raise NotebookError(no_cells(name))
    odd = [n for n, c in enumerate(cells, 1) if c.get("cell_type") not in VERSION_1_CELLS]
    if odd:
        raise NotebookError(
            f"{name} has no `nbformat` version (or version 1), whose cells are code or text, and "
            f"{cells_named(odd)} {'is' if len(odd) == 1 else 'are'} neither: open it in Jupyter "
            "or Colab, save it (nbformat 4), and submit it again"
        )
    later = [n for n, c in enumerate(cells, 1) if "code" not in c and "source" in c]
    if later:
        # Version 4's cells (their code under `source`) in a notebook that lost its `nbformat`
        # key: read as version 1, whose code is under `code`, each cell was read as empty, 0
        # of 36 and no word of why, in the grader as in the check.
        raise NotebookError(
            f"{name} has no `nbformat` version, so it is read as version 1, whose cells keep "
            f"their code under `code`; {cells_named(later)} "
            f"{'keeps its' if len(later) == 1 else 'keep theirs'} under `source`, as version "
            "4's do, so no code of it is read: open it in Jupyter or Colab, save it (nbformat "
            "4), and submit it again"
        )


def _no_object(name: str, raw: object) -> str:
    """Why valid JSON that is no object is no notebook: it was refused in Python's words
    ("AttributeError: 'list' object has no attribute 'get'")."""
    what = {list: "a list", str: "a string", type(None): "null", bool: "true or false"}
    return (
        f"{name} is not a Jupyter notebook: its JSON is {what.get(type(raw), 'a number')}, "
        "where a notebook is an object holding a list of cells; download it again with "
        "File > Download > .ipynb"
    )


# A version written as text that is read as its number: ASCII digits, a few (str.isdigit took
# "²", which int() refuses, and 5,000 digits passed int()'s limit: the notebook was refused in
# Python's words, "ValueError: invalid literal for int() with base 10").
_VERSION_TEXT = re.compile(r"\s*[0-9]{1,9}\s*")


def mend(raw: object) -> list[str]:
    """Mend, in place, what no editor writes but nbformat's reading trips on, and say what was
    mended (the grader's reading and the bundle's check both read the notebook so mended).
    Such a notebook was refused whole, in Python's words ("TypeError: sequence item 0:
    expected str instance, int found", "Unsupported nbformat version 4" of a version written
    "4"), a 0 for the good cells beside the odd one, and no cell named to look at.

    - A version written as text ("4") is read as its number.
    - Metadata that is no object or is missing (the notebook's or a cell's) is read as none:
      nbformat takes keys out of it ("TypeError: pop expected at most 1 argument", and
      "AttributeError: metadata" where a script left it out); tags are all it is read for.
    - The outputs and attachments of every cell are left out: the grader reads neither, and
      nbformat joins their lines too.
    - A cell that is no object is left out (the grader reads none: `cells_of`).
    - A cell's source given as a list of lines holding something else than text (a number,
      null) is read as its lines of text; the note names the cell. So is an nbformat 3 code
      cell's `input`, where it keeps its lines ("AttributeError: 'int' object has no attribute
      'endswith'").
    - A cell's source that is no text at all (a JSON object, a number, true or false, null) is
      not read, and the note names the cell: it was read as the Python of its value's printing
      (`{'a': 1}`, `42`), and dropped as "an expression" as if the student had written one.
    """
    if not isinstance(raw, dict):
        return []
    for key in ("nbformat", "nbformat_minor"):
        if isinstance(raw.get(key), str) and _VERSION_TEXT.fullmatch(raw[key]):
            raw[key] = int(raw[key])
    if not isinstance(raw.get("metadata"), dict):
        raw["metadata"] = {}
    odd: dict[int, set[str]] = {}  # cell -> the kinds of value among its lines of text
    unread: dict[int, str] = {}  # cell -> the kind of value its source is, when no text
    for number, cell in enumerate(_saved_cells(raw), 1):
        if not isinstance(cell.get("metadata"), dict):
            cell["metadata"] = {}
        cell.pop("attachments", None)
        if "outputs" in cell:
            cell["outputs"] = []
        for key in ("source", "input"):  # nbformat 3 keeps a code cell's in `input`
            source = cell.get(key)
            if isinstance(source, list) and not all(isinstance(line, str) for line in source):
                kinds = {type(line).__name__ for line in source if not isinstance(line, str)}
                odd.setdefault(number, set()).update(kinds)
                cell[key] = [line for line in source if isinstance(line, str)]
            elif key in cell and not isinstance(source, str | list):
                unread[number] = json_kind(source)
                cell[key] = ""
    return ([_odd_lines_note(odd)] if odd else []) + ([_unread_note(unread)] if unread else [])


def json_kind(value: object) -> str:
    """What a JSON value is, in JSON's words (a student reads them in an editor, not Python's)."""
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int | float):
        return "a number"
    return {dict: "a JSON object", type(None): "null", list: "a list"}.get(type(value), "no text")


def _unread_note(unread: dict[int, str]) -> str:
    """One note for every cell whose source is no text, naming what it is."""
    cells, kinds = list(unread), " or ".join(sorted(set(unread.values())))
    if len(cells) == 1:
        whose, left = f"cell {cells[0]}'s source is", "the cell is not read"
    else:
        whose, left = f"the sources of {cells_named(cells)} are", "those cells are not read"
    return (
        f"{whose} {kinds}, not text, which no notebook editor writes: {left} (save the "
        "notebook again in Jupyter or Colab)"
    )


def _odd_lines_note(odd: dict[int, set[str]]) -> str:
    """One note for every cell whose lines held other than text (a script's 45,000 such cells
    made as many notes, a 15 MB result.json from a 2 MB notebook)."""
    kinds = ", ".join(sorted(set().union(*odd.values())))
    cells = list(odd)
    one = len(cells) == 1
    whose = (
        f"cell {cells[0]}'s source holds" if one else f"the sources of {cells_named(cells)} hold"
    )
    their = "its" if one else "their"
    return (
        f"{whose} {kinds} among {their} lines of text, which no notebook editor writes: read "
        "without them (save the notebook again in Jupyter or Colab)"
    )


def _saved_cells(raw: dict) -> list[dict]:
    """The cells of a parsed notebook, in the order nbformat numbers them, those that are no
    object left out of it: nbformat 4's list, or those of each of nbformat 3's worksheets."""
    lists = [raw]
    worksheets = raw.get("worksheets")
    if "cells" not in raw and isinstance(worksheets, list):
        lists = [w for w in worksheets if isinstance(w, dict)]
    cells = []
    for holder in lists:
        if isinstance(holder.get("cells"), list):
            holder["cells"] = [c for c in holder["cells"] if isinstance(c, dict)]
            cells += holder["cells"]
    return cells


def cells_as_version_4(raw: dict) -> object:
    """The cells of a parsed notebook (`prepared`) as nbformat 4 holds them: version 4's own
    list, or an older notebook's cells upgraded as nbformat upgrades them for the grader, so
    that both read the same sections and code: nbformat 1's list of code and text cells (a code
    cell's `code` its source, a text cell's `text` a markdown cell's), nbformat 2's and 3's
    worksheets' cells in turn (a code cell's `input` its source and `prompt_number` its
    execution count; a heading cell a markdown `## heading`; version 2's lines joined with a
    line break between each two, as nbformat joins them, version 3's as they were split)."""
    version = version_of(raw)
    if version == 1:
        cells = raw.get("cells")
        return [_version_1(c) for c in cells] if isinstance(cells, list) else None
    if version not in (2, 3) or "cells" in raw:
        return raw.get("cells")
    worksheets = raw.get("worksheets")
    if not isinstance(worksheets, list):
        return None
    cells = []
    for sheet in worksheets:
        listed = sheet.get("cells") if isinstance(sheet, dict) else None
        cells += [_upgraded(c, version) for c in listed or () if isinstance(c, dict)]
    return cells


def _version_1(cell: dict) -> dict:
    """One nbformat 1 cell (`prepared` let only code and text through) as nbformat's upgrade
    makes it: what is not None of its text, as text."""
    if cell.get("cell_type") == "code":
        code = cell.get("code")
        return {
            "cell_type": "code",
            "metadata": cell.get("metadata", {}),
            "source": "" if code is None else str(code),
            "execution_count": cell.get("prompt_number"),
        }
    text = cell.get("text")
    upgraded = {"cell_type": "markdown", "metadata": cell.get("metadata", {})}
    return upgraded if text is None else {**upgraded, "source": str(text)}


def _upgraded(cell: dict, version: int = 3) -> dict:
    """One nbformat 2 or 3 cell as nbformat's upgrade makes it (what the grader reads of it)."""
    kind = cell.get("cell_type")
    metadata = cell.get("metadata") if isinstance(cell.get("metadata"), dict) else {}
    if kind == "code":
        return {
            "cell_type": "code",
            "metadata": metadata,
            "source": _joined(cell.get("input", ""), version),
            "execution_count": cell.get("prompt_number"),
        }
    source = _joined(cell.get("source", ""), version)
    if kind == "heading":
        level = cell.get("level", 1)
        hashes = "#" * level if isinstance(level, int) and 0 < level < 100 else "#"
        return {"cell_type": "markdown", "metadata": metadata,
                "source": f"{hashes} {' '.join(str(source).splitlines())}"}  # fmt: skip
    return {"cell_type": "markdown" if kind == "html" else kind, "metadata": metadata,
            "source": source}  # fmt: skip


def _joined(lines: object, version: int = 3) -> object:
    """nbformat 2's or 3's lines of text joined as its reader joins them: version 2's always
    with a line break between each two, version 3's as written by `splitlines(True)`, or with
    line breaks put back when the first holds none."""
    if not isinstance(lines, list):
        return lines
    text = [line for line in lines if isinstance(line, str)]
    if version == 3 and text and text[0].endswith(("\n", "\r")):
        return "".join(text)
    return "\n".join(text)


def not_utf8(name: str, data: bytes, error: UnicodeDecodeError) -> str:
    """Why the bytes are no notebook and what to do. Jupyter and Colab write UTF-8 only, so other
    bytes come from a program that re-saved the file (Notepad's "ANSI" or "Unicode", PowerShell's
    `>`), and Jupyter cannot open it either: the student downloads it again. The note said "not a
    text file (invalid continuation byte at byte 352595)", which names neither cause nor cure."""
    if wide := wide_text(data):
        what = f"{wide} text, not UTF-8"
    else:
        start = data.rfind(b"\n", 0, error.start) + 1
        end = data.find(b"\n", error.start)
        line = data[start : end if end >= 0 else len(data)].decode("utf-8", "replace").strip()
        shown = "".join(c if c.isprintable() else "?" for c in line[:60])
        number = data.count(b"\n", 0, error.start) + 1
        what = (
            f"not UTF-8 text: byte {data[error.start]:#04x} on line {number} (`{shown}`) "
            "is not valid UTF-8"
        )
    return (
        f"{name} is {what}. Jupyter and Colab save notebooks as UTF-8, so another program "
        "re-saved it: download it again from Jupyter or Colab (File > Download > .ipynb), or "
        "save it as UTF-8 in your editor, and submit it again"
    )


def _json_counts(text: str) -> tuple[int, int]:
    """How many objects and lists, and at most how many values, a JSON text would parse into.

    Counted outside strings, so it costs a scan of the text, never the objects themselves: each
    `{` or `[` opens a container and each `,` separates two values. For text that is not JSON
    the counts are meaningless, and the parser refuses it next. An unterminated string runs to
    the end of the text.
    """
    containers = commas = 0
    inside = False  # whether the piece starts inside a string
    start = 0
    while start < len(text):
        end = min(start + _COUNT_PIECE, len(text))
        if text[end - 1] == "\\":  # a run of backslashes stays whole, with what it escapes
            end = min(_BACKSLASHES.match(text, end).end() + 1, len(text))
        parts = _unescaped(text[start:end]).split('"')
        outside = "".join(parts[1::2] if inside else parts[0::2])
        containers += outside.count("{") + outside.count("[")
        commas += outside.count(",")
        inside ^= len(parts) % 2 == 0  # an odd count of quotes
        start = end
    return containers, containers + commas + 1


# A notebook this large has its long strings' middles left out before it is decoded (below),
# each run of them replaced by text that keeps a cell's source holding one too large to read.
_DROP_FROM = 8 << 20
_LEFT_OUT = b"." * (MAX_SOURCE_BYTES + 1)


def _middles_dropped(data: bytes) -> bytes:
    """The notebook's bytes without each piece of `_COUNT_PIECE` that lies inside one string and
    holds no escape, quote or line break: the middle of an output's text or image, which the
    grader never reads. A 63 MB output and one emoji anywhere (Python then holds every
    character of the text in 4 bytes) took the grader's own process 560 MB: the text decoded
    and the output's string, 250 MB each. Each run of pieces left out gives way to `_LEFT_OUT`,
    so a cell's source over 256 KiB is still one too large, with its first lines (its first
    and last bytes glued together were once read as code); line numbers are kept. Bytes that
    are not UTF-8 in a piece leave the notebook whole, for the decoder's own error. Pieces end
    where a character does, and after any escape."""
    if len(data) < _DROP_FROM:
        return data
    kept: list[memoryview] = []
    view = memoryview(data)
    inside = False  # whether the piece starts inside a string
    left_out = False  # whether the piece before was
    start = dropped = 0
    while start < len(data):
        end = _piece_end(data, start)
        piece = data[start:end]
        if (
            inside
            and not any(c in piece for c in (b'"', b"\\", b"\n"))
            and (
                b"\\" not in data[max(start - 6, 0) : start]  # no \uXXXX reaching into the piece
            )
        ):
            try:
                piece.decode("utf-8")
            except UnicodeDecodeError:
                return data
            if not left_out:  # one stand-in for a run of pieces: they lie in one string
                kept.append(memoryview(_LEFT_OUT))
            dropped += 1
            left_out = True
        else:
            kept.append(view[start:end])
            inside ^= _unescaped_bytes(piece).count(b'"') % 2 == 1
            left_out = False
        start = end
    return b"".join(kept) if dropped else data


def _piece_end(data: bytes, start: int) -> int:
    """Where the piece from `start` ends: `_COUNT_PIECE` on, past a run of backslashes and what
    its last one escapes, and never inside a UTF-8 character."""
    end = min(start + _COUNT_PIECE, len(data))
    if data[end - 1] == 0x5C:  # a backslash
        end = min(_BACKSLASH_BYTES.match(data, end).end() + 1, len(data))
    while end < len(data) and 0x80 <= data[end] < 0xC0:  # a continuation byte
        end += 1
    return end


_BACKSLASH_BYTES = re.compile(rb"\\*")


def _unescaped_bytes(piece: bytes) -> bytes:
    """`_unescaped` of bytes: a quote or backslash byte in UTF-8 is never part of another
    character, so the bytes read as the text does."""
    return piece.replace(b"\\\\", b"").replace(b'\\"', b"")


def _unescaped(piece: str) -> str:
    """A piece of JSON text without its escaped backslashes and quotes, so that every quote left
    opens or closes a string. Backslashes pair from the left, as JSON reads them: of three
    backslashes and a quote, the first two are one backslash and the last two a quote. A piece
    never ends inside a run of backslashes or before what its last one escapes
    (`_json_counts`)."""
    return piece.replace("\\\\", "").replace('\\"', "")
