"""Who a result names, and what in a name may pass for another student's.

grades.csv gives each person of a submission a row (`members`), and the TA's list and each
report's box say which names, emails, SIDs or submission names a reader could take for a
classmate's (`who_doubts`): pages and the terminal write invisible characters as escapes, but
grades.csv keeps every field as given, since a gradebook import matches its rows on them. The
summary and the report both use this, so it lives apart from either.
"""

from __future__ import annotations

from ..export_metadata import MEMBER_SEPARATOR
from ..valid_text import code_point_name, inked, inkless, mixed_scripts, spacing_doubts
from .render import names

GRADEBOOK_KEYS = ("name", "email", "sid")


def members(student: dict) -> list[dict[str, str]]:
    """Each person a submission belongs to: `members` when the result lists them, else the
    joined name/email/sid fields split again. A field that does not split into as many parts
    as the others (one member had no id) is left empty on every row rather than guessed:
    nobody's id may land on somebody else's row."""
    listed = student.get("members")
    if isinstance(listed, list) and listed:
        people = [m for m in listed if isinstance(m, dict)]
        return [{k: str(m.get(k, "") or "") for k in GRADEBOOK_KEYS} for m in people]
    fields = {k: str(student.get(k, "") or "") for k in GRADEBOOK_KEYS}
    parts = {k: v.split(MEMBER_SEPARATOR) for k, v in fields.items() if v}
    n = max((len(p) for p in parts.values()), default=1)
    if n == 1:
        return [fields]
    return [
        {k: parts[k][i] if len(parts.get(k, ())) == n else "" for k in GRADEBOOK_KEYS}
        for i in range(n)
    ]


# How a line of the list names each field of a person (GRADEBOOK_KEYS).
FIELD_WORD = {"name": "name", "email": "email", "sid": "SID"}
# A field's characters quoted on the list, and the inkless or lookalike ones named, at most.
QUOTED_CHARS, NAMED_INKLESS = 60, 3


def who_doubts(r: dict) -> list[str]:
    """The lines saying whose names in result `r` may pass for another's (`identity_doubts`,
    `label_doubts`): the TA's list and the report's box share them."""
    return identity_doubts(r.get("student") or {}) + label_doubts(r)


def identity_doubts(student: dict) -> list[str]:
    """A line for each name, email or SID of the submission's people that may pass for another
    student's (`field_doubts` says how). The pages and the terminal show inkless characters as
    escapes, but grades.csv keeps every field as given, since a gradebook import matches its rows
    on them, so the TA must learn from the list which rows to check in the LMS."""
    lines = []
    for person in members(student):
        for key in GRADEBOOK_KEYS:
            doubts = field_doubts(person.get(key, ""))
            if not doubts:
                continue
            shown = inked(person[key])
            shown = shown if len(shown) <= QUOTED_CHARS else shown[: QUOTED_CHARS - 1] + "…"
            lines.append(
                f"the {FIELD_WORD[key]} '{shown}' {', '.join(doubts)} and may pass for another "
                "student's: check in the LMS who this is (grades.csv keeps it as given)"
            )
    return lines


def label_doubts(r: dict) -> list[str]:
    """A line for a submission's own name that may pass for another's (`field_doubts`): a plain
    folder of uploads names no one else, and its folder `Bo\\u200bb/` beside `Bob/` was on no
    list, though grades.csv's `submission` cell is the one key to its row. A name an LMS gives
    as the student's (`Bоb (1004)`) is said once, by its person's line."""
    label = str(r.get("submission") or "")
    doubts = field_doubts(label)
    people = members(r.get("student") or {})
    if not doubts or any(p["name"] and names(label, p["name"]) for p in people):
        return []
    shown = inked(label)
    shown = shown if len(shown) <= QUOTED_CHARS else shown[: QUOTED_CHARS - 1] + "…"
    return [
        f"the submission's name '{shown}' {', '.join(doubts)} and may pass for another "
        "submission's: check whose upload this is (grades.csv keeps it as given)"
    ]


def field_doubts(value: str) -> list[str]:
    """What makes `value` read as another name, each a phrase: characters with no ink
    (valid_text.inkless: a zero-width space, a right-to-left override or mark) showed as a
    classmate's name exactly, or as someone else's; letters of two lookalike scripts in one word
    (`Bоb`, its `о` Cyrillic) read as a classmate's name in every font; a no-break space, blanks
    in a row or at an end read as a plain single space on a page. A joiner spelling a word of a
    script that writes them (Persian's non-joiner), a name wholly in one script, or one whose
    scripts are words apart (a Latin initial beside a Japanese name) is none of these."""
    doubts = []
    if hidden := inkless(value):
        doubts.append(f"holds invisible characters ({_named(hidden)})")
    scripts, odd = mixed_scripts(value)
    if scripts:
        mixed = " and ".join(s.capitalize() for s in scripts)
        letters = [f"{c} {code_point_name(c)}" for c in odd]
        doubts.append(f"mixes {mixed} letters in one word ({_named(letters, str)})")
    doubts += [f"holds {d}" for d in spacing_doubts(value)]
    return doubts


def _named(found: list[str], name=code_point_name) -> str:
    """The first NAMED_INKLESS of `found`, each named, and how many more there are."""
    more = f" and {len(found) - NAMED_INKLESS} more" if len(found) > NAMED_INKLESS else ""
    return ", ".join(map(name, found[:NAMED_INKLESS])) + more
