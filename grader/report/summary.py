"""The class summary and the gradebook, computed from the batch's result.json files alone.

`summarize` turns the results into summary.json; summary.html is rendered from that same dict and
grades.csv from the same results, so the three can never disagree with each other or with the
students' reports. The summary answers a TA's questions: how the scores spread (a histogram),
which items the class finds hardest (pass rate per item), which mistakes are most common (the
hints), where the students' own chains first break, and which submissions need a person's eye.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
import statistics
import unicodedata
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import quote

from .. import jsontext
from ..choosing import MISSING_BESIDE, NOTHING_FOUND, UPLOAD_HELD
from ..scoring import SCORE_DECIMALS, totals_by_exercise
from ..student_text import SWAPPED, lines_of
from ..valid_text import (
    no_controls,
)
from .charts import NO_SHARE, histogram, rate_bars, share_percent
from .html import (
    REPORT,
    STATUS_LABEL,
    file_failures,
    group_members,
    notebook_lacking,
    review_reasons,
    unread_notebook,
)
from .people import GRADEBOOK_KEYS, members, who_doubts
from .render import assignment_title, points, render_page, write_atomic

SUMMARY_JSON, SUMMARY_HTML, GRADES_CSV = "summary.json", "summary.html", "grades.csv"
HIST_BINS = 10
# A student who never started an item (file missing, stub untouched) did not attempt it.
NOT_ATTEMPTED = ("missing", "not_implemented")
# Spreadsheet programs run a cell that starts like a formula; a student-chosen name must not.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def write_batch_reports(
    results: list[dict], out: Path, folders: list[str], left_out: str = ""
) -> dict:
    """summary.json, summary.html and grades.csv in `out`; `folders[k]` holds results[k]'s report.
    `results` may be whole result.json files or their `digest`s. `left_out`: what the input
    held that no submission reads, in words (render_summary says it under the headline).

    Returns the summary (summary.json as a dict).
    """
    summary = summarize(results, folders)
    titles = dict.fromkeys(assignment_title(r.get("assignment")) for r in results)
    earlier = earlier_reports(out, folders)
    # All three drawn before any is written: a Ctrl-C while summary.html was drawn (a class of
    # 1,000 takes a while) left a new summary.json and grades.csv beside the last run's page,
    # where the command says the class's files are all the last finished run's.
    texts = {
        SUMMARY_JSON: jsontext.inert(jsontext.dumps(summary, indent=1, ensure_ascii=False)),
        GRADES_CSV: gradebook_csv(results),
        SUMMARY_HTML: render_summary(summary, ", ".join(t for t in titles if t), earlier, left_out),
    }
    out.mkdir(parents=True, exist_ok=True)
    for name, text in texts.items():
        write_atomic(out / name, text)
    return summary


def earlier_reports(out: Path, folders: list[str]) -> list[str]:
    """The report folders in OUT that this run did not write: a student since left out of the
    class folder, another class or assignment graded into the same OUT. Their pages sat beside
    this run's without a word, and a TA opening one read scores no gradebook holds."""
    ours = set(folders)
    try:
        return sorted(
            p.name for p in out.iterdir() if p.name not in ours and (p / REPORT).is_file()
        )
    except OSError:
        return []


def digest(result: dict) -> dict:
    """What the class summary, the gradebook and the terminal need of one result.json: all of it
    but its items' cases, with what the cases tell them (`file_failures`) worked out first.

    A result's cases take about 0.5 MB in memory (8 per item, 29 items): a class of 1,000 held
    whole took 700 MB in the process drawing the summary; digests take a tenth of that.
    """
    items = [{k: v for k, v in i.items() if k != "cases"} for i in result.get("items", [])]
    return {**result, "items": items, DIGESTED: file_failures(result)}


DIGESTED = "file_failures"  # the key only a digest has


def _unusable_files(r: dict) -> dict[str, str]:
    """Each exercise whose file could not be used at all, with why: a digest's, or worked out."""
    return r[DIGESTED] if DIGESTED in r else file_failures(r)


def summarize(results: list[dict], folders: list[str]) -> dict:
    if len(results) != len(folders):
        raise ValueError(f"{len(results)} results but {len(folders)} report folders")
    percents = [_percent(r) for r in results]
    item_ids = _item_ids(results)
    unusable = [set(_unusable_files(r)) for r in results]
    return {
        "submissions": len(results),
        "generated_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "grader_version": next((r.get("grader_version") for r in results), ""),
        "max_score": max((float(r.get("max_score", 0)) for r in results), default=0.0),
        "score": _stats([float(r.get("score", 0)) for r in results]),
        "percent": _stats(percents),
        "histogram": _histogram(percents),
        "exercises": _exercises(results),
        "items": [_item_stats(i, results, unusable) for i in item_ids],
        "hints": _hints(results),
        "first_departures": dict(
            Counter(
                r["chain"]["first_departure"]
                for r in results
                if (r.get("chain") or {}).get("first_departure")
            ).most_common()
        ),
        "statuses": dict(Counter(i.get("status") for r in results for i in r.get("items", []))),
        "students": [_student_row(r, f) for r, f in zip(results, folders, strict=True)],
    }


def _percent(r: dict) -> float:
    m = float(r.get("max_score") or 0)
    return 100.0 * float(r.get("score", 0)) / m if m else 0.0


def _stats(xs: list[float]) -> dict:
    if not xs:
        return {"mean": None, "median": None, "min": None, "max": None, "stdev": None}
    return {
        "mean": round(statistics.fmean(xs), 4),
        "median": round(statistics.median(xs), 4),
        "min": round(min(xs), 4),
        "max": round(max(xs), 4),
        "stdev": round(statistics.pstdev(xs), 4),
    }


def _histogram(percents: list[float]) -> list[dict]:
    """Ten bins of ten percentage points; a full score counts in the last bin (90-100)."""
    width = 100 / HIST_BINS
    counts = [0] * HIST_BINS
    for p in percents:
        counts[min(max(int(p // width), 0), HIST_BINS - 1)] += 1
    return [
        {"from": round(k * width, 4), "to": round((k + 1) * width, 4), "count": c}
        for k, c in enumerate(counts)
    ]


def _item_ids(results: list[dict]) -> list[str]:
    """Every item id in the order the results list them (all results share one rubric)."""
    return list(dict.fromkeys(i["id"] for r in results for i in r.get("items", [])))


def _exercise_totals(r: dict) -> dict[str, dict[str, float]]:
    """result.json's per-exercise totals, or the same sums from its items where it has none."""
    if r.get("exercises"):
        return r["exercises"]
    return totals_by_exercise(
        (i["id"].split(".", 1)[0], float(i.get("score", 0)), float(i.get("max_score", 0)))
        for i in r.get("items", [])
    )


def _exercises(results: list[dict]) -> dict[str, dict]:
    per: dict[str, list[dict]] = {}
    for r in results:
        for ex, t in _exercise_totals(r).items():
            per.setdefault(ex, []).append(t)
    return {
        ex: {
            "max_score": max(float(t["max_score"]) for t in ts),
            "mean": round(statistics.fmean(float(t["score"]) for t in ts), 4),
            "full_marks": sum(t["score"] >= t["max_score"] > 0 for t in ts),
        }
        for ex, ts in per.items()
    }


def _item_stats(item_id: str, results: list[dict], unusable: list[set[str]]) -> dict:
    """An item's counts over the class. `attempted` leaves out, besides a missing file or an
    untouched stub, a file that could not be used at all (`unusable[k]`, each result's): one
    syntax error fails every item of its exercise alike, and counted as tries, three students'
    syntax errors ranked all 26 of exercise 1's items among the hardest of the class."""
    exercise = item_id.split(".", 1)[0]
    pairs = [
        (i, exercise in bad)
        for r, bad in zip(results, unusable, strict=True)
        for i in r.get("items", [])
        if i["id"] == item_id
    ]
    items = [i for i, _ in pairs]
    statuses = Counter(i.get("status") for i in items)
    passed = statuses.get("passed", 0)
    attempted = sum(i.get("status") not in NOT_ATTEMPTED and not bad for i, bad in pairs)
    hints = Counter(i["hint"] for i in items if i.get("hint"))
    return {
        "id": item_id,
        "exercise": item_id.split(".", 1)[0],
        "max_score": max((float(i.get("max_score", 0)) for i in items), default=0.0),
        "mean_score": round(statistics.fmean(float(i.get("score", 0)) for i in items), 4),
        "submissions": len(items),
        "passed": passed,
        "attempted": attempted,
        "pass_rate": round(passed / len(items), 4) if items else 0.0,
        "pass_rate_attempted": round(passed / attempted, 4) if attempted else None,
        "statuses": dict(statuses),
        "top_hint": hints.most_common(1)[0][0] if hints else "",
    }


def _hints(results: list[dict]) -> list[dict]:
    """Each distinct hint, how many submissions got it and on which items, most common first."""
    by_hint: dict[str, Counter] = {}
    who: dict[str, set[int]] = {}
    for k, r in enumerate(results):
        for i in r.get("items", []):
            if i.get("hint"):
                by_hint.setdefault(i["hint"], Counter())[i["id"]] += 1
                who.setdefault(i["hint"], set()).add(k)
    rows = [
        {"hint": h, "submissions": len(who[h]), "times": sum(c.values()), "items": dict(c)}
        for h, c in by_hint.items()
    ]
    return sorted(rows, key=lambda row: (-row["submissions"], -row["times"], row["hint"]))


def _student_row(r: dict, folder: str) -> dict:
    student = r.get("student") or {}
    items = r.get("items", [])
    return {
        "submission": r.get("submission", folder),
        "folder": folder,
        "report": quote(folder, safe="") + "/" + REPORT,
        "name": str(student.get("name", "")),
        "email": str(student.get("email", "")),
        "sid": str(student.get("sid", "")),
        "members": group_members(student),
        "score": float(r.get("score", 0)),
        "max_score": float(r.get("max_score", 0)),
        "percent": round(_percent(r), 2),
        "exercises": {ex: t["score"] for ex, t in _exercise_totals(r).items()},
        "passed": sum(i.get("status") == "passed" for i in items),
        "items": len(items),
        "late": is_late(r),
        "attention": attention(r),
    }


def is_late(r: dict) -> bool:
    """Whether the input marked the submission late (an LMS download's `late` review flag)."""
    return any(isinstance(f, dict) and f.get("flag") == LATE_FLAG for f in r.get("review") or [])


LATE_FLAG = "late"  # the review flag an LMS download's late mark becomes (grader/lms.py)


def attention(r: dict) -> list[str]:
    """Why a TA should open this report before trusting its score."""
    items = r.get("items", [])
    files = r.get("files") or {}
    why = []
    if files and all(s == "missing" for s in files.values()):
        why.append(nothing_found_line(r))
    for f, s in files.items():
        if s not in ("submitted", "missing"):
            why.append(f"{f}: {_to_the_ta(s)}")
    notebook, lacking = notebook_lacking(r)
    why += [f"{f}: missing: the notebook {notebook} defines none of its functions" for f in lacking]
    for ex, message in _unusable_files(r).items():
        if files.get(ex, "submitted") not in ("submitted", "missing"):
            continue  # its file's state above says why already (a binary file): once is enough
        why.append(f"{ex}.py could not be used, every item errored ({gist(message)[:120]})")
    lacking = nothing_found(items, files)
    why += _with_swaps(
        [f"{ex}.py {what} ({reason[:160]})" for ex, (what, reason) in lacking.items()], r
    )
    failure = first_grader_error(items)
    if failure:
        # "regrade" alone sent a TA to grade again a class whose suites could not be imported:
        # the same zeros came back, the cause untouched.
        why.append(f"the grader failed on some items ({failure}): fix or report it, then regrade")
    why += who_doubts(r)
    return why + review_reasons(r)  # timeouts and review flags, as the report's box says them


def _with_swaps(lines: list[str], r: dict) -> list[str]:
    """The lines on files lacking their functions, each naming the swap of exercise files that
    explains it where the student's note says so (student_text.swapped_files): the TA read
    "holds none of its functions" and had to open both files to see they were exchanged. A
    swap no such line names gets a line of its own."""
    notes = [n for n in (r.get("student") or {}).get("notes") or [] if isinstance(n, str)]
    out = list(lines)
    for note in (n for n in notes if SWAPPED in n):
        pair = note.split(":", 1)[0]  # "a.py holds the functions of b.py and b.py those of a.py"
        said = [i for i, line in enumerate(out) if line.split(" ", 1)[0] in pair.split()]
        for i in said:
            out[i] += f"; {SWAPPED} ({pair})"
        if not said:
            out.append(f"{pair}: {SWAPPED}")
    return out


def _to_the_ta(state: str) -> str:
    """A file's state as the TA reads it: a missing file's speaks to the student, who uploaded
    ("not in your upload"), and read so on the TA's list."""
    if state.startswith(MISSING_BESIDE):
        return "missing: not in the upload, which held " + state[len(MISSING_BESIDE) :]
    return state


def nothing_found_line(r: dict) -> str:
    """ "no exercise files found", with what the upload held where the reading of it says
    (`choosing.note_missing`): the bare words sent the TA into each report to tell an empty
    upload from a notebook exported as .py, a zip holding nothing, or `hw3.PY.pdf`."""
    notes = [n for n in (r.get("student") or {}).get("notes") or [] if isinstance(n, str)]
    unread = unread_notebook(r.get("notebook") or {})
    why = next((n for n in notes if unread and unread in n and not n.startswith(NOTHING_FOUND)), "")
    if why:
        # The upload held its notebook, unread (UTF-16, not JSON, too large): "the upload held:
        # utf16.ipynb" read as a student who uploaded the wrong thing.
        first = why.split(". ", 1)[0]  # its first sentence: the report says what to do
        return f"{NOTHING_FOUND}: the notebook {unread} could not be read ({first[:200]})"
    for note in notes:
        if note.startswith(NOTHING_FOUND) and UPLOAD_HELD in note:
            held = note.split(UPLOAD_HELD, 1)[1]
            return f"{NOTHING_FOUND} (the upload held: {held[:160]})"
    return NOTHING_FOUND


def gist(message: str) -> str:
    """A file failure in one line: the reason the grader wrote above the traceback where there
    is one (`importing exercise2.py failed: it calls sys.exit() ...`), else the traceback's last
    line (`ValueError: oops`). The last line alone said `SystemExit` of a file the grader had
    explained, and the TA read no fix."""
    lines = lines_of(message.strip())
    if not message.strip():
        return "no message"
    first = IMPORT_FAILED.sub("", lines[0]).strip()
    return first if first and not first.endswith(":") else lines[-1].strip()


# How a file's import failure starts (student_text.import_failure).
IMPORT_FAILED = re.compile(r"^importing \S+\.py failed:")


def nothing_found(items: list[dict], files: dict[str, str]) -> dict[str, tuple[str, str]]:
    """Each exercise whose file was uploaded (its state `submitted`) yet most of whose items
    found no function: what it lacks, and why in the first such item's words. An empty file
    (saved before it was written) or another exercise's file under its name (exercise 2's
    defines two of exercise 1's names, and scored 4 of 50 there) is no student's choice: the
    stubs define every function, and an untouched stub, which a student leaves on purpose, is
    not missing. A file absent from an upload beside others is on the TA's list already (its
    state says `missing: not in your upload ...`)."""
    by_exercise: dict[str, list[dict]] = {}
    for i in items:
        by_exercise.setdefault(str(i.get("id", "")).split(".", 1)[0], []).append(i)
    found = {}
    for ex, its in by_exercise.items():
        missing = [i for i in its if i.get("status") == "missing"]
        if files.get(ex) != "submitted" or 2 * len(missing) <= len(its):
            continue
        what = (
            "holds none of its functions, every item missing"
            if len(missing) == len(its)
            else f"lacks the functions of {len(missing)} of its {len(its)} items, which score 0"
        )
        why = _CASES_PASSED.sub("", str(missing[0].get("message") or "")).strip()
        found[ex] = what, why or "no message"
    return found


# The count an item's message starts with (grading.make_item), which says nothing here.
_CASES_PASSED = re.compile(r"^(step \d+: |\d+/\d+ cases? passed; on a (public|hidden) case: )")


def first_grader_error(items: list[dict]) -> str:
    """The last line of the first grader error among `items` (a suite's ImportError, an item
    no suite filed), in a few words; "" when the grader judged every item. The TA reads it in
    the summary: the bare "the grader failed" hid a suite that cannot run at all."""
    for i in items:
        error = str((i.get("extra") or {}).get("grader_error") or "").strip()
        if error:
            return lines_of(error)[-1].strip()[:160] or "no message"
    return ""


# grades.csv's last column: `yes` where the input marked the submission late, which a score
# alone never shows and a late policy needs beside it.
LATE_COLUMN = "late"


def gradebook_csv(results: list[dict]) -> str:
    """grades.csv: one row per student, name, email and id first, for a gradebook import.

    A gradebook matches a row to a student by one key (email or id), so a group submission
    gives each member their own row with the group's score.
    """
    exercises = list(dict.fromkeys(ex for r in results for ex in _exercise_totals(r)))
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([*GRADEBOOK_KEYS, "submission", "score", "max_score", *exercises, LATE_COLUMN])
    for r in results:
        totals = _exercise_totals(r)
        scores = [
            gradebook_number(r.get("score", 0)),
            gradebook_number(r.get("max_score", 0)),
            *(gradebook_number(totals[ex]["score"]) if ex in totals else "" for ex in exercises),
            "yes" if is_late(r) else "",
        ]
        for person in members(r.get("student") or {}):
            keys = [_cell(person.get(k, "")) for k in GRADEBOOK_KEYS]
            w.writerow([*keys, _cell(r.get("submission", "")), *scores])
    return buf.getvalue()


def gradebook_number(x: object) -> str:
    """A score as result.json, summary.json and Gradescope's results.json hold it: 92.8571, 98,
    87.5, result.json's own decimals (scoring.SCORE_DECIMALS). The pages' `points` shows two
    decimals for reading (scoring.shown_points), and grades.csv took it once: a
    submission scored 92.8571 everywhere else was imported as 92.86, its exercise 2 as 12.86,
    and `points`' `g` format wrote a score past six digits as 1.23457e+06. No exponent, no
    float noise, no trailing zeros; a dash where there is no number, as on the pages."""
    if isinstance(x, bool) or not isinstance(x, int | float) or not math.isfinite(x):
        return points(x)
    text = f"{round(float(x), SCORE_DECIMALS):.{SCORE_DECIMALS}f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def fragile_ids_note(sids: Iterable[str]) -> str:
    """What to do where a spreadsheet that opens grades.csv changes an id ("" where none):
    Excel and LibreOffice read a cell of digits as a number, so an SID `00123` became 123, and
    one of more than 15 digits lost its last ones, and a gradebook import matched no one by it
    (with nothing in the file itself to say so). So did an id the formula guard writes with a
    leading quote (`_cell`: `+1004` is `'+1004`), a cell changed by grades.csv itself."""
    distinct = list(dict.fromkeys(sids))
    fragile = [s for s in distinct if _number_like(s)]
    quoted = [s for s in distinct if _cell(s) != no_controls(s)]
    notes = []
    if fragile:
        notes.append(
            f"{_sids_counted(fragile)} {'change' if len(fragile) > 1 else 'changes'} when a "
            "spreadsheet opens the file (leading zeros dropped, long ids rounded): import it "
            "instead (Excel: Data > From Text/CSV; LibreOffice: the import dialog) with the sid "
            "column set to Text"
        )
    if quoted:
        many = len(quoted) > 1
        notes.append(
            f"{_sids_counted(quoted)} {'start' if many else 'starts'} as a spreadsheet formula "
            f"does and {'are' if many else 'is'} written with a leading ' (opening the file runs "
            "nothing): an import matching rows on the sid column matches no one by "
            f"{'them' if many else 'it'}; match {'those rows' if many else 'that row'} by hand"
        )
    return ". ".join(notes)


def _sids_counted(sids: list[str]) -> str:
    """`2 SIDs in grades.csv (00123, +1004)`: the first three shown, the rest counted."""
    shown = ", ".join(map(_sid_shown, sids[:3]))
    shown += f" and {len(sids) - 3} more" if len(sids) > 3 else ""
    return f"{len(sids)} SID{'s' if len(sids) > 1 else ''} in grades.csv ({shown})"


SID_SHOWN = 24  # digits of an id shown whole: a 1,000-digit SID filled the terminal's screen


def _sid_shown(sid: str) -> str:
    """An id as the note shows it: whole, or its first digits and how many there are."""
    sid = sid.strip()
    unit = "digits" if sid.isdigit() else "characters"  # `=HYPERLINK(...)`: no digits
    return sid if len(sid) <= SID_SHOWN else f"{sid[:SID_SHOWN]}… ({len(sid):,} {unit})"


def _number_like(sid: str) -> bool:
    """An id a spreadsheet reads as a number and writes back otherwise: digits with a leading
    zero, or more digits than a double holds (15)."""
    digits = sid.strip()
    return (
        digits.isascii()
        and digits.isdigit()
        and ((len(digits) > 1 and digits[0] == "0") or len(digits) > 15)
    )


def gradebook_sids(results: list[dict]) -> list[str]:
    """Every sid grades.csv writes, one per row."""
    return [m["sid"] for r in results for m in members(r.get("student") or {})]


def _cell(text: object) -> str:
    """Text for a spreadsheet cell, with a leading quote where it would start a formula, and
    its control characters escaped (a name's escape sequence drove the terminal of a TA who
    printed the file)."""
    s = no_controls(str(text))
    head, *rest = _SPLITS.split(s)
    head = "'" + head if head.startswith(FORMULA_START) or _formula_like(head) else head
    # Each piece after a `;` or a tab is a cell of its own where a spreadsheet splits there
    # (Excel where the list separator is `;`; LibreOffice's import with Semicolon or Tab
    # ticked), quotes or not: after a cell's closing quote the rest of the line is read as it
    # comes. A name `Ada;=1+1` was such a cell, starting a formula.
    return head + "".join("'" + p if _formula_like(p) else p for p in rest)


# Where a spreadsheet may split a line besides the comma (which the csv module quotes): after
# each of these a new cell may start.
_SPLITS = re.compile(r"(?<=[;\t])")


def _formula_like(s: str) -> bool:
    """Whether a spreadsheet could read `s` as a formula once it tidies the text: programs trim
    leading spaces and zero-width characters and fold full-width signs (＝ is =), so the first
    character left after both decides, not the first character as written. A quote is passed
    over too: a piece split off at `;` that starts with one opens a quoted cell there, whose
    text is what follows (an email `a;"=1+1;b` made the cell `=1+1`)."""
    for ch in s:
        if ch.isspace() or ch == '"' or unicodedata.category(ch) == "Cf":
            continue  # blanks, quotes and invisible format characters (U+200B, U+FEFF...)
        return unicodedata.normalize("NFKC", ch)[:1] in FORMULA_START
    return False


def render_summary(
    summary: dict, title: str = "", earlier: list[str] = (), left_out: str = ""
) -> str:
    """The class's page; `earlier`: report folders beside it that this run did not write (the
    page names them, as the terminal does: a TA who opens the page, not the log, learns that
    those reports' scores are in neither this page nor grades.csv); `left_out`: what the input
    held that was read as no one's upload, in words (`submissions.Found.left_out_note`)."""
    hist = summary["histogram"]
    hardest = hardest_items(summary["items"])
    return render_page(
        "summary.html.j2",
        s=summary,
        title=title,
        hist_chart=histogram(
            [b["count"] for b in hist], [f"{b['from']:g}–{b['to']:g}" for b in hist]
        ),
        rate_chart=rate_bars(
            [(i["id"], i["pass_rate_attempted"], _tried_title(i)) for i in hardest],
            values=[_tried_value(i) for i in hardest],
            value_w=90,
        ),
        exercise_chart=rate_bars(
            [
                (ex, e["mean"] / e["max_score"] if e["max_score"] else 0.0, f"{ex}: mean score")
                for ex, e in summary["exercises"].items()
            ],
            width=440,
            label_w=90,
        ),
        exercises=list(summary["exercises"]),
        attention=[st for st in summary["students"] if st["attention"]],
        ids_note=fragile_ids_note(
            str(m.get("sid") or "")
            for st in summary["students"]
            for m in (st.get("members") or [{"sid": st.get("sid", "")}])
        ),
        status_label=STATUS_LABEL,
        earlier=list(earlier),
        left_out=left_out,
    )


def hardest_items(items: list[dict]) -> list[dict]:
    """summary.json's items, hardest first, by the share of those who tried each that passed it
    (`pass_rate_attempted`); ties go to the item more tried, then to rubric order, and items
    nobody tried come last.

    A submission without the item's file, or with its function left a stub, says nothing of how
    hard the item is: counted as a failure, an exercise a few students skipped topped the chart
    (each of its items below every item the others got wrong). A missing file puts its
    submission on the "needs a look" list already; a stub left as it was is the student's call.
    """
    order = {id(i): k for k, i in enumerate(items)}

    def key(i: dict) -> tuple:
        rate = i.get("pass_rate_attempted")
        return (rate is None, rate or 0.0, -int(i.get("attempted") or 0), order[id(i)])

    return sorted(items, key=key)


def _tried_value(i: dict) -> str:
    """The words beside an item's bar: its share and how many it is of ("40% of 5")."""
    if i.get("pass_rate_attempted") is None:
        return NO_SHARE
    return f"{share_percent(i['pass_rate_attempted'])} of {i['attempted']}"


def _tried_title(i: dict) -> str:
    """An item's tooltip: who passed of who tried, and who did not try it at all."""
    untried = i["submissions"] - i["attempted"]
    skipped = f"; {untried} did not try it (file missing or unusable, or function not written)"
    skipped = skipped if untried else ""
    return f"{i['id']}: {i['passed']} of the {i['attempted']} who tried it passed{skipped}"
