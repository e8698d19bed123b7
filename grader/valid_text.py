"""Text that UTF-8 can hold: lone surrogates turned into characters before anything is written.

Two roads bring lone surrogates into a result, both open to a student. A name read from the
file system arrives with its undecodable bytes escaped as surrogates (Python's
`surrogateescape`: a folder `J\\xfcrgen` unpacked from a Windows zip reads as "J\\udcfcrgen"),
and student code can put one in any text the grader repeats, such as an exception's message.
UTF-8 holds neither, so writing such a result failed and left the student with no report, or
stopped the batch. A result that holds one is made valid before anything is drawn from it
(`batch.write_result`, so result.json, the report and the summary say the same), Gradescope's
results.json likewise (`valid_json`, which also makes a float that is no number null), folder
names too (`submissions.slug`), and every file the grader writes passes through `valid` as a
last resort (`report.render.write_atomic`).

Escaped bytes are read as Windows-1252, what such names almost always are (the folder above
becomes "Jürgen"); any other lone surrogate becomes U+FFFD. Neither ever yields a quote, a
backslash, a control character or markup, so the text stays valid JSON, CSV or HTML wherever
it stood.

Valid text can still misreport the grader's own words around it. A name quoted into a message
(a zip entry `evil\nScore: 100 / 100` in "skipped ...") adds a line of its own to a plain-text
page such as Gradescope's; a right-to-left override (U+202E) turns the words after it around
on any page. `printable` writes every such character of a message as its Python escape, the
way `repr` shows it; `bidi_inert` does the same for the few characters that can reach past the
end of the text they sit in when a page shows that text apart from its surroundings
(`report.render`'s `isolate`), and for the combining marks past the first few stacked on one
letter, whose ink reaches past the line. `inked` writes as escapes the characters with no ink
(a zero-width space, a right-to-left mark), where a reader tells people apart by a name;
`mixed_scripts` and `spacing_doubts` find the letters and spaces that let a name pass for another
in plain sight (`Bоb`, its `о` Cyrillic; a no-break space), which the TA's list names and a
folder's name writes out (`lookalikes_written`).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Callable
from functools import lru_cache
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
    """`value` with `valid` applied to every string in it, keys included (JSON's own types),
    and every float that is no number (NaN, infinities) made null: JSON has none, Python writes
    them as `NaN` and `Infinity`, which strict parsers (a gradebook's import, a browser's
    `JSON.parse`) refuse, and a student's gradients of 3e38 once put one in a training run's
    held-out loss. Each place that computes a number keeps it finite; this holds for the rest."""
    if isinstance(value, str):
        return valid(value)
    if isinstance(value, dict):
        return {valid_json(k): valid_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [valid_json(v) for v in value]
    if value.__class__ is float and not math.isfinite(value):
        return None
    return value


def printable(text: str) -> str:
    """`text` with each character `str.isprintable` refuses (line breaks, escape and the other
    controls, invisible format characters such as bidi overrides, line and paragraph
    separators, unassigned code points) written as its escape, `\\n` or `\\u202e`, as `repr`
    writes it: a quoted name shows on one line and in its own order, whatever it holds. Lone
    surrogates are read first (`valid`: a Windows name's "J\\udcfcrgen" is "Jürgen")."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else _escape(c) for c in valid(text))


# The bidi classes of the characters that open or close a run of other direction (embeddings,
# overrides, isolates) or end a paragraph (B: U+2029, U+001C...). Inside an isolated element a
# closing one still ends the isolation early in Chromium, and the rest of the text then turns
# the page's words around it.
_BIDI_STRUCTURE = frozenset({"LRE", "RLE", "LRO", "RLO", "PDF", "LRI", "RLI", "FSI", "PDI", "B"})
# Class B too, but a page never sees them as such: HTML reads CR as LF, and a browser lays out
# LF as a space, or in `pre` as a line break that ends no isolation. Kept, so a traceback keeps
# its lines.
_LINE_BREAKS = "\n\r"


def bidi_inert(text: str) -> str:
    """`text` for a page, with each character that can open, close or end a bidi run written as
    its escape (see `printable`) but for the line breaks a page reads as such; marks and letters
    of either direction are kept, so a name in Arabic or Hebrew reads as written. The control
    characters but the tab and line breaks are written as escapes too: a page's parser drops a
    NUL and a browser draws an escape or a bell as an empty box (a name `Null\\x00Byte\\x1b[2J`
    read "NullByte▯[2J"), and the file stays free of the bytes a terminal obeys (`cat`, `grep`
    of a report). So are the marks past the first MAX_MARKS stacked on one letter (`marks_held`).
    Every control is non-printable and every mark non-ASCII, hence the quick tests."""
    if not text.isprintable():
        text = "".join(_escape(c) if _written_as_escape(c) else c for c in text)
    return text if text.isascii() else marks_held(text)


def _written_as_escape(c: str) -> bool:
    """Whether `c` is a control or bidi character `bidi_inert` writes as its escape."""
    if c in _LINE_BREAKS or c == "\t":
        return False
    return unicodedata.category(c) == "Cc" or unicodedata.bidirectional(c) in _BIDI_STRUCTURE


# The most combining marks a page stacks on one letter: Vietnamese puts two on a vowel, pointed
# and cantillated Hebrew three or four. "Zalgo" text stacks dozens, whose ink rose through the
# rows above a name in summary.html and over the classmates' names there, while the rows
# themselves (and any layout check) kept their height.
MAX_MARKS = 4


def marks_held(text: str) -> str:
    """`text` with each combining mark past the MAX_MARKS-th in a run written as its escape
    (`\\u0301`): the letter keeps its first marks and reads as written, and the rest are text on
    the line, not ink above and below it."""
    out, run = [], 0
    for c in text:
        run = run + 1 if unicodedata.category(c) in _STACKING else 0
        out.append(c if run <= MAX_MARKS else _code_point(c))
    return "".join(out)


_STACKING = ("Mn", "Me")  # the marks drawn on the letter before them (not the spacing Mc)


def _code_point(c: str) -> str:
    return f"\\u{ord(c):04x}" if ord(c) <= 0xFFFF else f"\\U{ord(c):08x}"


def no_controls(text: str) -> str:
    """`text` with each control character but the tab (escape, line breaks, NUL, DEL, C1)
    written as its escape: for text a terminal may print as it is, such as a gradebook `cat`
    shows, where an escape sequence in a student's name would drive the terminal."""
    if text.isprintable():
        return text
    return "".join(_escape(c) if unicodedata.category(c) == "Cc" and c != "\t" else c for c in text)


def _escape(c: str) -> str:
    """A non-printable character as `repr` writes it (never a quote or backslash of its own)."""
    return repr(c)[1:-1]


# The characters with no ink that a name may hold unseen: format characters (Cf: the bidi
# overrides, isolates and marks, zero-width spaces and joiners, the byte-order mark, the soft
# hyphen, tag characters), the line and paragraph separators, and the Hangul fillers, letters
# drawn as nothing. A page or a spreadsheet shows a name holding them as another name, or as a
# classmate's exactly; Python's `repr` and `str.isprintable` call all but the fillers
# unprintable.
_INKLESS_CATEGORIES = frozenset({"Cf", "Zl", "Zp"})
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0")


def is_inkless(c: str) -> bool:
    """Whether the character `c` shows as nothing, or only moves the text around it."""
    return c in _BLANK_LETTERS or unicodedata.category(c) in _INKLESS_CATEGORIES


# The zero-width non-joiner and joiner are how Persian, Arabic and the Indic scripts spell some
# words (Persian writes a non-joiner inside "mi\u200ckhaham"): between two letters or marks of
# those scripts they are spelling, not disguise, and a Persian student's own name was shown to
# them with an escape in it, and put on the TA's list.
_JOINERS = frozenset("\u200c\u200d")


def _writes_joiners(c: str) -> bool:
    """Whether `c` is a letter or mark of a script past Greek and Cyrillic (Hebrew onward in
    Unicode's order), not a Latin one: a joiner between Latin letters (`Bo\\u200db`) is still
    a name passing for another."""
    o = ord(c)
    return (
        o >= 0x0590
        and not 0x1AB0 <= o <= 0x1EFF  # combining marks for Latin, Latin Extended Additional
        and not 0x2000 <= o <= 0x2BFF  # punctuation, symbols, arrows
        and unicodedata.category(c)[0] in "LM"
        and "LATIN" not in unicodedata.name(c, "")
    )


def _hidden(text: str, i: int) -> bool:
    """Whether `text[i]` is inkless where it stands (`is_inkless`, but for a joiner spelling a
    word of a script that writes them)."""
    c = text[i]
    spelling = (
        c in _JOINERS
        and 0 < i < len(text) - 1
        and _writes_joiners(text[i - 1])
        and _writes_joiners(text[i + 1])
    )
    return not spelling and is_inkless(c)


def inkless(text: str) -> list[str]:
    """The distinct inkless characters of `text` (`_hidden`), in the order they come."""
    if text.isascii():
        return []
    return list(dict.fromkeys(c for i, c in enumerate(text) if _hidden(text, i)))


def inked(text: str, written: Callable[[str], str] = _code_point) -> str:
    """`text` with each inkless character written as its escape (`\\u200b`), as `repr` writes
    the unprintable ones: for a person's name, email or id where a reader tells people apart by
    it, so `Bob` and `Bo\\u200bb` never read as one name, nor `\\u202eecilA` as another.
    `written` gives another spelling where a backslash cannot stand (a folder's name)."""
    if not inkless(text):
        return text
    return "".join(written(c) if _hidden(text, i) else c for i, c in enumerate(text))


def inked_runs(text: str) -> list[tuple[str, str]]:
    """`inked(text)` in pieces: each run of plain text as ("", run), each inkless character as
    (it, its escape), for a page that marks the escapes as the grader's, not the student's text:
    written alike, `Bo\\u200bb` holding a zero-width space and a name typed with the six
    characters `\\u200b` read as one."""
    if not inkless(text):
        return [("", text)] if text else []
    runs: list[tuple[str, str]] = []
    plain = []
    for i, c in enumerate(text):
        if _hidden(text, i):
            if plain:
                runs.append(("", "".join(plain)))
                plain = []
            runs.append((c, _code_point(c)))
        else:
            plain.append(c)
    if plain:
        runs.append(("", "".join(plain)))
    return runs


def code_point_name(c: str) -> str:
    """ "U+200B ZERO WIDTH SPACE": a character as a TA can look it up."""
    return f"U+{ord(c):04X} {unicodedata.name(c, '')}".rstrip()


# The scripts whose letters pass for one another's: a Cyrillic `а` or `о` and a Greek `ο` are
# drawn as the Latin letters, and Armenian, Cherokee and Coptic hold more. A word mixing two of
# them is the classic lookalike of a classmate's name (`Bоb`, its `о` Cyrillic). Other mixes
# within a word are how a script is written (a Japanese name's kanji and kana, Korean's hangul
# and hanja) and are none of these; a Latin initial beside such a name is a word of its own.
_LOOKALIKE_SCRIPTS = ("LATIN", "GREEK", "CYRILLIC", "ARMENIAN", "CHEROKEE", "COPTIC")


@lru_cache(maxsize=4096)  # a class's names use a few hundred letters; a name's each is looked up
def _script(c: str) -> str:
    """Which of _LOOKALIKE_SCRIPTS the letter `c` is written in (its Unicode name says:
    `CYRILLIC SMALL LETTER O`, `FULLWIDTH LATIN CAPITAL LETTER A`), else ''."""
    if not unicodedata.category(c).startswith("L"):
        return ""
    return next((w for w in unicodedata.name(c, "").split() if w in _LOOKALIKE_SCRIPTS), "")


def mixed_scripts(text: str) -> tuple[list[str], list[str]]:
    """The scripts of _LOOKALIKE_SCRIPTS mixed within one word of `text`, the word's most used
    first, and the letters of the others, each once, in the order they come: (["LATIN",
    "CYRILLIC"], ["о"]) for `Bоb`. ([], []) for a word in one script."""
    if text.isascii():
        return [], []
    scripts: dict[str, int] = {}
    odd: list[str] = []
    for word in text.split():
        letters = [(c, s) for c in word if (s := _script(c))]
        counts = Counter(s for _, s in letters)
        if len(counts) < 2:
            continue
        main = max(counts, key=counts.get)
        odd += [c for c, s in letters if s != main]
        for s, n in counts.items():
            scripts[s] = scripts.get(s, 0) + n
    ordered = sorted(scripts, key=lambda s: -scripts[s])
    return ordered, list(dict.fromkeys(odd))


# The spaces a page draws as a plain one: the no-break space and its narrow kin, the en, em,
# thin and hair spaces (Unicode's Zs). The ideographic space U+3000, full-width, is how a
# Japanese or Chinese name parts its family and given names, and reads as no plain space.
_PLAIN_LOOKING = frozenset(
    c for c in map(chr, range(0x3001)) if unicodedata.category(c) == "Zs" and c not in " \u3000"
)


def spacing_doubts(text: str) -> list[str]:
    """What in the spaces of `text` makes it read as another name on a page, which draws a run
    of blanks as one and none at either end: `Bob  Smith` and `Bob Smith ` as `Bob Smith`, and
    `Bob\\u00a0Smith`, a no-break space, as the same whatever the medium. Each a phrase for the
    TA's list; none for a name spaced plainly, nor for one of blanks alone."""
    if not text.strip():
        return []  # no name at all, which the lists say in their own words
    doubts = []
    odd = list(dict.fromkeys(c for c in text if c in _PLAIN_LOOKING))
    if odd:
        doubts.append(f"spaces other than the plain one ({', '.join(map(code_point_name, odd))})")
    if re.search(r"\s\s", text):
        doubts.append("blanks in a row")
    if text != text.strip():
        doubts.append("blanks at an end")
    return doubts


def lookalikes_written(text: str, written: Callable[[str], str]) -> str:
    """`text` with what `field_doubts`'s readers cannot see written by `written`: in each word
    mixing lookalike scripts (`mixed_scripts`) the letters of its less used ones, and each space
    drawn as a plain one (`spacing_doubts`). For a folder's name, where `ls` showed `Bоb/`, its
    `о` Cyrillic, as a second `Bob/`."""
    if text.isascii():
        return text
    out = []
    for part in re.split(r"(\s+)", text):
        odd = mixed_scripts(part)[1] if part and not part.isspace() else _PLAIN_LOOKING
        out.append("".join(written(c) if c in odd else c for c in part))
    return "".join(out)
