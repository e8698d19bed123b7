"""Student code is read as the oldest Python the grader runs on reads it, whatever Python reads it.

A file is graded by the grader's Python (3.10 or 3.11, say) and checked by the student's own
(Colab's 3.12, a laptop's 3.13). Python 3.12 lets an f-string reuse its own quotes inside its
braces (`f"{d["k"]}"`) and hold a backslash or a comment there; 3.12 added `type X = ...` and
`def f[T]()`. Such a file passed a student's check on Colab and did not parse in the grader: a
whole file's score gone with a check that said 36 of 36. Both the grader and the check refuse
it here, in the same words, so the verdict never depends on which Python reads the file.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize

# The oldest Python the grader runs on (pyproject's requires-python): its grammar is the one
# student code must keep to.
OLDEST = (3, 10)
_OLDEST_NAME = f"Python {OLDEST[0]}.{OLDEST[1]}"

# Python 3.12's tokens for the parts of an f-string (3.14's t-strings likewise); absent before.
_STARTS = {getattr(tokenize, n) for n in ("FSTRING_START", "TSTRING_START") if hasattr(tokenize, n)}
_ENDS = {getattr(tokenize, n) for n in ("FSTRING_END", "TSTRING_END") if hasattr(tokenize, n)}
_MIDDLE = getattr(tokenize, "FSTRING_MIDDLE", None)


# What may open a statement newer than 3.10 (`except*`, `type X =`, `def f[T]`) or a string
# that 3.12 reads differently: a cheap look first, as the grader reads megabytes of notebooks;
# the parse and the tokenize below decide.
_MAYBE_NEWER = re.compile(r"except\s*\*|^\s*type\s|(?:def|class)\s+\w+\s*\[", re.MULTILINE)
_MAYBE_FSTRING = re.compile(r"(?<![\w])(?:[fFtT][rR]?|[rR][fFtT])['\"]")


def newer_syntax(source: str) -> str:
    """Why `source`, which parses here, would not parse in the grader's oldest Python ("" if it
    would): the line, what is newer, and what to write instead."""
    if _MAYBE_NEWER.search(source):
        try:
            ast.parse(source, feature_version=OLDEST)
        except SyntaxError as e:
            return f"line {e.lineno}: {e.msg} (the grader reads your file as {_OLDEST_NAME} does)"
    return _newer_fstring(source) if _STARTS and _MAYBE_FSTRING.search(source) else ""


def _newer_fstring(source: str) -> str:
    """An f-string written as only Python 3.12 and later read it, as `newer_syntax` words it.
    Each f-string is weighed, a nested one too: Python 3.11 reads `f'{d['k']}'` inside another
    f-string's braces as a string of its own, which ends at its second quote."""
    lines = source.splitlines(keepends=True)
    tokens = _tokens(source)
    opened: list = []  # the FSTRING_START of each f-string open here, the outermost first
    inner: list = []  # (depth, token) of everything inside the outermost one
    for tok in tokens:
        if tok.type in _STARTS:
            opened.append(tok)
            if len(opened) == 1:
                inner = []
                continue
        if opened:
            inner.append((len(opened), tok))
        if tok.type in _ENDS and opened:
            start = opened.pop()
            text = _text(lines, start.start, tok.end)
            why = _fstring_problem(text, start.string, [] if opened else inner)
            if why:
                return (
                    f"line {start.start[0]}: {why}, which only Python 3.12 and later read "
                    f"(the grader reads your file as {_OLDEST_NAME} does): {_FIX}"
                )
    return ""


def _tokens(source: str) -> list:
    """`source`'s tokens, none where the tokenizer fails on it: it parsed, so there is nothing
    to say. Python 3.12.1's and 3.13.0's tokenizer raise SystemError ("Negative size passed to
    PyUnicode_New") on some f-strings the parser reads (a nested one whose braces go on over a
    line, before a `=`), which ended check.py in a traceback."""
    try:
        return list(tokenize.generate_tokens(io.StringIO(source).readline))
    except Exception:  # noqa: BLE001 - the tokenizer's own failures, SystemError among them
        return []


_FIX = "use the other kind of quote inside the braces, or compute the value on a line before"


def _fstring_problem(text: str, opening: str, inner: list) -> str:
    """What in one outermost f-string (`text`, opening with `opening`: prefix and quote) an
    older Python would not read: its quote reused inside, a backslash or a comment in braces."""
    quote = opening.lstrip("fFrRbBuUtT")
    end = _old_string_end(text, len(opening), quote)
    if end == -1:
        return "a one-line f-string whose braces go on over the next line"
    if end != len(text):
        return "an f-string that uses its own quote inside its braces"
    for depth, tok in inner:
        if tok.type == tokenize.COMMENT:
            return "an f-string with a comment inside its braces"
        field = tok.type != _MIDDLE or depth > 1  # an outer literal part may hold a backslash
        if field and tok.type not in _ENDS and "\\" in tok.string:
            return "an f-string with a backslash inside its braces"
    return ""


def _old_string_end(text: str, i: int, quote: str) -> int:
    """Where a string literal opened before `i` ends as Python 3.11 lexes it: at the first
    `quote` not escaped by a backslash (in a raw string too); -1 if a one-line string meets a
    line's end first."""
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text.startswith(quote, i):
            return i + len(quote)
        if text[i] == "\n" and len(quote) == 1:
            return -1
        i += 1
    return -1


def _text(lines: list[str], start: tuple[int, int], end: tuple[int, int]) -> str:
    """The source between two token positions (rows from 1, columns from 0)."""
    (r0, c0), (r1, c1) = start, end
    if r0 == r1:
        return lines[r0 - 1][c0:c1]
    return lines[r0 - 1][c0:] + "".join(lines[r0 : r1 - 1]) + lines[r1 - 1][:c1]
