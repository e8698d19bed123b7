"""Reading a notebook file: bytes in, its cells out, within bounds whatever the bytes.

The grader's own door to notebook.py, which reads cells and never sees a file (it ships in the
student's notebook, whose check reads the kernel's cells instead). Here are the limit on the
file's bytes and nbformat, which upgrades older notebooks; the text's own bounds (its JSON parts
counted, a large notebook's long strings cut) are notebook_json's, shared with the bundle's check.
"""

from __future__ import annotations

import warnings

from .notebook import (
    Allowance,
    NotebookError,
    NotebookRead,
)
from .notebook_json import (
    MAX_NOTEBOOK_BYTES,
    JsonParts,
    cells_read,
    no_cells,
    notebook_text,
    parse_notebook_json,
    prepared,
    too_deep,
    too_large,
    unreadable_notebook,
)


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
    return cells_read(cells_of(data, name, mended, parts), name, functions, mended, allowance)


def cells_of(
    data: bytes, name: str, mended: list[str] | None = None, parts: JsonParts | None = None
) -> list[dict]:
    """A notebook file's cells; NotebookError, saying what to do, for what is not one. What was
    mended to read it (notebook_json.mend) is said in `mended`; `parts`, what is left of the
    JSON parts its submission's notebooks may hold (spent here when the notebook is read)."""
    if len(data) > MAX_NOTEBOOK_BYTES:
        raise too_large(name)
    import nbformat  # here, not at the top: only notebook submissions pay for its import

    text = notebook_text(data, name, parts)
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
        raise NotebookError(unreadable_notebook(name, e)) from None
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
