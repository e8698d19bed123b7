"""What `grader grade` prints when it ends: what it did, who needs a look and why, where to look.

The progress bar says nothing once it is gone, and with `--no-progress` there is none; these few
lines are the run's whole story in the terminal. They come from the same result.json files as
summary.html ("needs a look" is summary.json's `attention`), so the two never disagree.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..valid_text import inked, printable
from .html import REPORT, STUDENT_REPORT, group_members
from .render import member, names
from .summary import (
    GRADES_CSV,
    SUMMARY_HTML,
    SUMMARY_JSON,
    attention,
    earlier_reports,
    fragile_ids_note,
    gradebook_sids,
)

# Lines of "needs a look" printed: a class of 1,500 empty folders printed 1,500, scrolling what
# the command did and where its pages are out of sight; summary.html lists them all.
MAX_LOOK_LINES = 30


def _limits_note(count: int) -> str:
    """The line on results whose verdicts include a limit the run's conditions set (result.json's
    `limits_reached`): the TA learns that a loaded machine or a high -j may have given them, and
    that the next run grades them again (batch._reused) rather than keep them."""
    verb, them = ("holds", "it") if count == 1 else ("hold", "them")
    return (
        f"{count} {_s(count)} {verb} a timeout or a memory refusal, which a loaded machine or "
        f"a high -j can cause: the same command run again grades {them} again (a student's own "
        "endless loop gets the same verdict each time)"
    )


def terminal_summary(
    results: list[dict],
    folders: list[str],
    *,
    graded: int,
    reused: int,
    out: Path,
    is_batch: bool,
    student_reports: bool = False,
    read_as: str = "",
    uncopied: Sequence[str] = (),
) -> str:
    """A few lines: what PATH was read as, graded N, reused M, K need a look (each with its
    reasons), the pages.

    `read_as` (`export.zip as a Gradescope export: 2 submissions`) comes first: a student's own
    upload read as a class (a metadata file or LMS-like names in it) puts rows for classmates in
    the gradebook, and only this line shows it before the gradebook is imported."""
    n = len(results)
    lines = [f"read {read_as}"] if read_as else []
    lines.append(
        f"graded {graded}, reused {reused} from an earlier run (unchanged since): "
        f"{n} {_s(n)} in all"
    )
    if limited := sum(bool(r.get("limits_reached")) for r in results):
        lines.append(_limits_note(limited))
    look = [(r, f) for r, f in zip(results, folders, strict=True) if attention(r)]
    if look:
        lines.append(f"{len(look)} {'needs' if len(look) == 1 else 'need'} a look:")
        for r, folder in look[:MAX_LOOK_LINES]:
            name = _who(r.get("student") or {})
            label = str(r.get("submission", folder))
            who = label + (f" ({name})" if name and not names(label, name) else "")
            lines.append(f"  {who}: {'; '.join(attention(r))}  -> {out / folder / REPORT}")
        if len(look) > MAX_LOOK_LINES:
            more = len(look) - MAX_LOOK_LINES
            where = out / SUMMARY_HTML if is_batch else out
            lines.append(f"  ... and {more} more: {where} lists every one")
    else:
        lines.append("none needs a look")
    if is_batch:
        lines.append(f"class summary: {out / SUMMARY_HTML}   gradebook: {out / GRADES_CSV}")
        if note := fragile_ids_note(gradebook_sids(results)):
            lines.append(note)
        lines.append(f"each submission's report: {out}/<submission>/{REPORT}")
    else:
        lines.append(f"report: {out / folders[0] / REPORT}" if folders else f"reports: {out}")
    if student_reports:
        lines.append(f"students' copies: {out}/<submission>/{STUDENT_REPORT}")
    if uncopied:
        lines.append(
            f"  no copy for {', '.join(uncopied)}: it could not be drawn (a grader bug: please "
            f"report it); their {REPORT} and result.json are whole, but not for the student"
        )
    earlier = earlier_reports(out, folders)
    if not is_batch and (out / SUMMARY_JSON).is_file():
        lines.append(_class_left_as_it_was(out))
    elif earlier:
        shown = ", ".join(earlier[:5]) + (f" and {len(earlier) - 5} more" if earlier[5:] else "")
        lines.append(
            f"{out} also holds the reports of {len(earlier)} {_s(len(earlier))} this run did "
            f"not read ({shown}): an earlier run's, not in this run's summary or gradebook; "
            "remove them, or grade into an empty folder"
        )
    return "\n".join(_printable(line) for line in lines)


def _class_left_as_it_was(out: Path) -> str:
    """One upload graded into a class's OUT (`--one`, a regrade): the class's pages stay the
    last class run's. The line said to remove the classmates' reports, "or grade into an empty
    folder", and nothing of the summary and gradebook, which still held the old score."""
    return (
        f"{out}'s {SUMMARY_HTML} and {GRADES_CSV} are the last class run's, without this "
        f"result: run the class's command again (grader grade CLASS --out {out}) to bring "
        "them up to date; it regrades only the submissions whose files changed, and takes "
        "each one's name, email and SID from the class again"
    )


def _who(student: dict) -> str:
    """Whose the submission is: a group's members apart, as summary.html names them (their
    joined name, "Bob Partner; Smith; Carol", read as three people or two), each name cut to
    NAME_CHARS: an export's name of 1,000 characters filled a screen of the terminal for one
    line (summary.html and the report show it whole)."""
    people = group_members(student)
    if people:
        return " · ".join(_cut(member(m)) for m in people)
    return _cut(str(student.get("name") or ""))


NAME_CHARS = 60  # a long name and a half, as a terminal line shows a person's name


def _cut(name: str) -> str:
    return name if len(name) <= NAME_CHARS else name[: NAME_CHARS - 1] + "…"


def _s(n: int) -> str:
    return "submission" if n == 1 else "submissions"


def _printable(line: str) -> str:
    """A student-chosen name must not drive the TA's terminal (escape sequences, carriage
    returns), nor pass for another there: each unprintable or inkless character is written as
    its escape (`\\x1b`, `\\u202e`, `\\u200b`), as `repr` writes it. A `?` stood for each, which
    said nothing of what it hid, and read as a `?` the student may have written."""
    return printable(inked(line))
