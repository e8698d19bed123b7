"""Reading a notebook file: bytes in, its cells out, within bounds whatever the bytes.

The grader's own door to notebook.py, which reads cells and never sees a file (it ships in the
student's notebook, whose check reads the kernel's cells instead). Here are the limits on the
file itself and nbformat, which upgrades older notebooks.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass

from .notebook import (
    MAX_SOURCE_BYTES,
    Allowance,
    NotebookError,
    NotebookRead,
    read_cells,
)
from .notebook_json import (
    MAX_NOTEBOOK_BYTES,
    no_cells,
    not_utf8,
    parse_notebook_json,
    prepared,
    too_deep,
    too_large,
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


def read_notebook(
    data: bytes,
    name: str,
    functions: dict[str, tuple[str, ...]],
    allowance: Allowance | None = None,
    parts: JsonParts | None = None,
) -> NotebookRead:
    """The exercise modules of a notebook file (notebook.read_cells). Raises NotebookError for
    what is not a readable notebook (not JSON, too old, too big). `allowance` and `parts`: what
    is left to read of one submission's notebooks (fresh ones when not given)."""
    mended: list[str] = []
    read = read_cells(cells_of(data, name, mended, parts), name, functions, allowance)
    read.notes[:0] = mended
    return read


def cells_of(
    data: bytes, name: str, mended: list[str] | None = None, parts: JsonParts | None = None
) -> list[dict]:
    """A notebook file's cells; NotebookError, saying what to do, for what is not one. What was
    mended to read it (notebook_json.mend) is said in `mended`; `parts`, what is left of the
    JSON parts its submission's notebooks may hold (spent here when the notebook is read)."""
    if len(data) > MAX_NOTEBOOK_BYTES:
        raise too_large(name)
    import nbformat  # here, not at the top: only notebook submissions pay for its import

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
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # missing cell ids and the like: read it anyway
            # Not nbformat.reads: its schema validation costs more than the reading, and this
            # reader checks every field it uses itself. Older versions are upgraded to 4.
            # Parsed, refused or mended as the bundle's check does it (notebook_json).
            raw = parse_notebook_json(text, name)
            said = prepared(raw, name)
            nb = nbformat.convert(_node(raw), 4)
    except RecursionError:
        raise NotebookError(too_deep(name)) from None
    except NotebookError:
        raise
    except Exception as e:  # noqa: BLE001 - nbformat raises many kinds for odd versions
        raise NotebookError(
            f"{name} could not be read as a notebook ({type(e).__name__}: {str(e)[:200]}); "
            "open it in Jupyter or Colab, save it (nbformat 4), and submit it again"
        ) from None
    cells = nb.get("cells") if isinstance(nb, dict) else None
    if not isinstance(cells, list):
        raise NotebookError(no_cells(name))
    if mended is not None:
        mended += [f"{name}: {why}" for why in said]
    return [c for c in cells if isinstance(c, dict)]


def _node(raw: object):
    """nbformat.reader.reads of a parsed text: the version's own reading (lines joined)."""
    import nbformat

    major, minor = nbformat.reader.get_version(raw)
    if major not in nbformat.versions:
        raise nbformat.NBFormatError(f"Unsupported nbformat version {major!r}")
    return nbformat.versions[major].to_notebook_json(raw, minor=minor)


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
