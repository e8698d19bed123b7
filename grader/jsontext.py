"""`json.dumps(obj, indent=N)`, byte for byte, at a fraction of its cost.

With `indent`, the standard library encodes in Python through nested generators: every value of
a result.json climbs through one generator per level above it. A student's result.json holds
~15,000 values (every case of every item), and encoding it was the largest single cost of a
grader process in a batch (~18% of its time). Writing into one list, with the scalars encoded
in the loops themselves, gives the same text in about half the time.

Only JSON's own types are written here (str, int, float, bool, None, list, tuple, dict, with
exactly these types); anything else, a subclass included, goes to `json.dumps`, which stays the
reference (tests/test_jsontext.py compares the two on every result the suite makes).
"""

from __future__ import annotations

import json
import re
from json.encoder import encode_basestring, encode_basestring_ascii
from typing import Any

_INF = float("inf")


class _NotPlain(Exception):
    """A value outside JSON's own exact types: `json.dumps` decides what it becomes."""


def dumps(obj: Any, indent: int = 1, ensure_ascii: bool = False) -> str:
    """What `json.dumps(obj, indent=indent, ensure_ascii=ensure_ascii)` returns."""
    text = encode_basestring_ascii if ensure_ascii else encode_basestring
    out: list[str] = []
    try:
        _value(obj, out, "\n", " " * indent, text)
    except (_NotPlain, RecursionError):
        return json.dumps(obj, indent=indent, ensure_ascii=ensure_ascii)
    return "".join(out)


# What JSON without `ensure_ascii` writes as it is, though a terminal obeys it or turns text
# around it: DEL and the C1 controls (U+009B is CSI and U+009D OSC to a terminal that reads C1
# in UTF-8: `ESC [ 2J` and an `ESC ] 52` clipboard write without an ESC byte),
# the bidi embeddings, overrides and isolates, and the paragraph separator. JSON's escapes below
# U+0020 are its own.
_OBEYED = re.compile("[\x7f-\x9f\u2029\u202a-\u202e\u2066-\u2069]")


def inert(text: str) -> str:
    """JSON text with each character a terminal would obey written as its `\\uXXXX` escape:
    result.json and summary.json are files a TA may `cat`, and held what student code printed
    and named raw. Such a character can only stand inside a JSON string, where its escape reads
    back as the character itself, so the data is unchanged; other letters stay readable."""
    return _OBEYED.sub(lambda m: f"\\u{ord(m[0]):04x}", text)


def _float(x: float) -> str:
    if x != x:
        return "NaN"
    if x == _INF:
        return "Infinity"
    if x == -_INF:
        return "-Infinity"
    return float.__repr__(x)


def _value(o: Any, out: list[str], newline: str, step: str, text) -> None:
    """Append `o` at the indentation `newline` (a newline and the current indent)."""
    kind = type(o)
    if kind is dict:
        _dict(o, out, newline, step, text)
    elif kind is list or kind is tuple:
        _list(o, out, newline, step, text)
    else:
        out.append(_scalar(o, text))


def _scalar(o: Any, text) -> str:
    kind = type(o)
    if kind is str:
        return text(o)
    if kind is int:
        return int.__repr__(o)
    if kind is float:
        return _float(o)
    if o is None:
        return "null"
    if o is True:
        return "true"
    if o is False:
        return "false"
    raise _NotPlain


# _list and _dict repeat their per-value dispatch on purpose: one loop over (key, value) pairs
# for both, or a function call per value, costs back half of what this module saves.


def _list(o: list | tuple, out: list[str], newline: str, step: str, text) -> None:
    if not o:
        out.append("[]")
        return
    put = out.append
    inner = newline + step
    comma = "," + inner
    put("[" + inner)
    first = True
    for v in o:
        if first:
            first = False
        else:
            put(comma)
        kind = type(v)
        if kind is str:
            put(text(v))
        elif kind is float:
            put(float.__repr__(v) if v - v == 0.0 else _float(v))
        elif kind is int:
            put(int.__repr__(v))
        elif kind is dict:
            _dict(v, out, inner, step, text)
        elif kind is list or kind is tuple:
            _list(v, out, inner, step, text)
        else:
            put(_scalar(v, text))
    put(newline + "]")


def _dict(o: dict, out: list[str], newline: str, step: str, text) -> None:
    if not o:
        out.append("{}")
        return
    put = out.append
    inner = newline + step
    comma = "," + inner
    put("{" + inner)
    first = True
    for k, v in o.items():
        if type(k) is not str:
            raise _NotPlain  # json.dumps turns some keys into strings: let it
        if first:
            first = False
        else:
            put(comma)
        put(text(k) + ": ")
        kind = type(v)
        if kind is str:
            put(text(v))
        elif kind is float:
            put(float.__repr__(v) if v - v == 0.0 else _float(v))
        elif kind is int:
            put(int.__repr__(v))
        elif kind is dict:
            _dict(v, out, inner, step, text)
        elif kind is list or kind is tuple:
            _list(v, out, inner, step, text)
        else:
            put(_scalar(v, text))
    put(newline + "}")
