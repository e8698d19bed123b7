"""A notebook's JSON read into cells with the standard library alone: shared by the grader and
the student bundle's check.

The grader reads a notebook file with nbformat (notebook_file), which a student's machine may not
have; the bundle's check ships this module instead (grader/bundle.py's CHECK_CORE). Both refuse
a JSON number longer than Python reads in the same words (`parse_notebook_json`), and the check
reads an nbformat 3 notebook's cells as nbformat's upgrade to version 4 gives them to the grader
(`cells_as_version_4`): it called such a notebook "no JSON with cells", where the grader read
and graded it.
"""

from __future__ import annotations

import json
import sys

from .notebook import NotebookError


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
    """The notebook's JSON; NotebookError for an integer too long to read, in the grader's
    words (ValueError, as `json` raises it, for what is no JSON)."""
    try:
        return json.loads(text, parse_int=json_int)
    except LongNumber as e:
        raise NotebookError(long_number(name, text, e.digits)) from None


def cells_as_version_4(raw: dict) -> object:
    """The cells of a parsed notebook as nbformat 4 holds them: version 4's own list, or an
    nbformat 3 notebook's cells upgraded as nbformat upgrades them for the grader (every
    worksheet's cells in turn; a code cell's `input` its source and `prompt_number` its
    execution count; a heading cell a markdown `## heading`), so that both read the same
    sections and code."""
    if raw.get("nbformat") != 3 or "cells" in raw:
        return raw.get("cells")
    worksheets = raw.get("worksheets")
    if not isinstance(worksheets, list):
        return None
    cells = []
    for sheet in worksheets:
        listed = sheet.get("cells") if isinstance(sheet, dict) else None
        cells += [_upgraded(c) for c in listed or () if isinstance(c, dict)]
    return cells


def _upgraded(cell: dict) -> dict:
    """One nbformat 3 cell as nbformat's upgrade makes it (what the grader reads of it)."""
    kind = cell.get("cell_type")
    metadata = cell.get("metadata") if isinstance(cell.get("metadata"), dict) else {}
    if kind == "code":
        return {
            "cell_type": "code",
            "metadata": metadata,
            "source": _joined(cell.get("input", "")),
            "execution_count": cell.get("prompt_number"),
        }
    source = _joined(cell.get("source", ""))
    if kind == "heading":
        level = cell.get("level", 1)
        hashes = "#" * level if isinstance(level, int) and 0 < level < 100 else "#"
        return {"cell_type": "markdown", "metadata": metadata,
                "source": f"{hashes} {' '.join(str(source).splitlines())}"}  # fmt: skip
    return {"cell_type": "markdown" if kind == "html" else kind, "metadata": metadata,
            "source": source}  # fmt: skip


def _joined(lines: object) -> object:
    """nbformat 3's lines of text joined as its reader joins them: as written by
    `splitlines(True)`, or with line breaks put back when the first holds none."""
    if not isinstance(lines, list):
        return lines
    text = [line for line in lines if isinstance(line, str)]
    if text and text[0].endswith(("\n", "\r")):
        return "".join(text)
    return "\n".join(text)
