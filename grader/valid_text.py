"""Text that UTF-8 can hold: lone surrogates turned into characters before anything is written.

Two roads bring lone surrogates into a result, both open to a student. A name read from the
file system arrives with its undecodable bytes escaped as surrogates (Python's
`surrogateescape`: a folder `J\\xfcrgen` unpacked from a Windows zip reads as "J\\udcfcrgen"),
and student code can put one in any text the grader repeats, such as an exception's message.
UTF-8 holds neither, so writing such a result failed and left the student with no report, or
stopped the batch. A result that holds one is made valid before anything is drawn from it
(`batch.write_result`, so result.json, the report and the summary say the same), Gradescope's
results.json likewise (`valid_json`), folder names too (`submissions.slug`), and every file the
grader writes passes through `valid` as a last resort (`report.render.write_atomic`).

Escaped bytes are read as Windows-1252, what such names almost always are (the folder above
becomes "Jürgen"); any other lone surrogate becomes U+FFFD. Neither ever yields a quote, a
backslash, a control character or markup, so the text stays valid JSON, CSV or HTML wherever
it stood.
"""

from __future__ import annotations

import re
from typing import Any

_LONE = re.compile("[\ud800-\udfff]+")


def is_valid(text: str) -> bool:
    """Whether UTF-8 can hold `text` (no lone surrogate). Encoding is the quick test: a
    result.json of 165 KB with one non-ASCII name takes 0.05 ms, a search for surrogates 1.5."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def valid(text: str) -> str:
    """`text` with every lone surrogate replaced by a character (see the module's doc)."""
    return text if is_valid(text) else _LONE.sub(_reading, text)


def _reading(run: re.Match) -> str:
    try:
        raw = run.group().encode("utf-8", "surrogateescape")  # only U+DC80..U+DCFF: bytes
    except UnicodeEncodeError:
        return "\ufffd" * len(run.group())
    return raw.decode("cp1252", errors="replace")


def valid_json(value: Any) -> Any:
    """`value` with `valid` applied to every string in it, keys included (JSON's own types)."""
    if isinstance(value, str):
        return valid(value)
    if isinstance(value, dict):
        return {valid_json(k): valid_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [valid_json(v) for v in value]
    return value
