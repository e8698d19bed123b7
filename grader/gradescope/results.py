"""Gradescope's results.json, rendered from a result.json alone (a pure function, no I/O).

The layout (see docs/gradescope.md):

- One Gradescope test per rubric item, in rubric order, numbered "<exercise>.<k>", carrying the
  item's score and max_score, status passed/failed, and the item's visibility from the rubric
  (default visible). Its output tells the student the verdict, everything about the public
  cases (message, hint, warnings) and only a count of the hidden cases that passed.
- For an item whose hidden cases found something the public case did not show, a companion test
  "<name> (hidden cases)", numbered "<exercise>.<k>.1", without points, holding each hidden
  case's sizes, message, hint and warnings, with the rubric's `hidden_visibility` (default
  after_published), so hidden sizes stay private until the instructor publishes grades.
- The student's printed output, which may echo hidden inputs, in a pointless test with the
  hidden visibility, but only where that costs the student nothing: Gradescope does not show a
  student their total while any test of theirs is not yet visible, points or none. So the test
  is written when the visibility is `visible` or another test already waits for publication;
  otherwise the prints go to `extra_data` (instructors read them in the TA's report.html).
  Grader errors go in a test that only instructors see.
- A top-level score (the sum of the items, as in result.json) and a short summary as output.
  No `execution_time`: the run's seconds include the hidden cases', which student code can
  stretch at will, and the instructors' log (stdout) has them. No leaderboard: the only number
  it could rank, exercise 3's loss after a short seeded run, is the same for every correct
  submission (the run is seeded and judged against autograd's), so it ranked nothing but
  mistakes; docs/gradescope.md says so.

Outputs are plain text: they quote student tracebacks and prints, which must not render as markup.
"""

from __future__ import annotations

import math
import re
from typing import Any

from ..choosing import NOTHING_FOUND, UPLOAD_HELD
from ..scoring import VISIBILITIES, Rubric, shown_points, stricter, visibility
from ..student_text import chain_home, chain_stop, passed_of
from ..valid_text import bidi_inert, printable

TEXT = "text"
MAX_TEST_OUTPUT = 8000  # characters per test: a flood of tracebacks stays readable
MAX_NOTES, MAX_NOTE = 20, 500  # notes on the page's top, and characters a note
MAX_PRINTED = 20000

STATUS_TEXT = {
    "passed": "Passed",
    "failed": "Failed",
    "not_implemented": "Not implemented",
    "error": "Error",
    "timeout": "Timed out",
    "forbidden": "Not allowed (scores 0)",
    "missing": "Missing",
}

WHEN = {
    "visible": "below",
    "after_due_date": "after the due date",
    "after_published": "once grades are published",
    "hidden": "to your instructors only",
}

# Said after "Hidden cases (other sizes and seeds): k of n passed.", whose words it need not repeat.
HIDDEN_CASES_ADVICE = (
    "A hard-coded size, or a formula that only fits the public case's shapes, passes the public "
    "case alone."
)


def to_gradescope(result: dict, rubric: Rubric) -> dict[str, Any]:
    """Gradescope's results.json for one result.json."""
    hidden_vis = visibility(rubric.hidden_visibility)
    items = result.get("items", [])
    numbers = item_numbers(items)
    tests: list[dict[str, Any]] = []
    for item in items:
        item_vis = visibility(item.get("visibility", "visible"))
        name = item_name(item, result)
        tests.append(item_test(item, name, numbers[item["id"]], hidden_vis))
        detail = hidden_cases_test(item, name, numbers[item["id"]], stricter(item_vis, hidden_vis))
        if detail is not None:
            tests.append(detail)
    waiting = any(t.get("visibility", "visible") != "visible" for t in tests)
    # Prints come from every call, the held items' hidden ones included (a red team printed the
    # hidden sizes through them with every item held): they wait as long as the longest.
    printed_vis = max([hidden_vis, *held_back(items).values()], key=VISIBILITIES.index)
    tests += extra_tests(result, printed_vis, f"{len(exercise_order(items)) + 1}", waiting)
    out: dict[str, Any] = {
        "score": round(float(result.get("score", 0.0)), 4),
        "output": summary(result, hidden_vis),
        "output_format": TEXT,
        "test_output_format": TEXT,
        "test_name_format": TEXT,
        "stdout_visibility": "hidden",  # the run's log is for instructors
        "tests": tests,
        "extra_data": {
            "submission": result.get("submission", ""),
            "max_score": result.get("max_score"),
            "grader_version": result.get("grader_version", ""),
            "fingerprint": result.get("fingerprint", ""),
            "isolation": result.get("isolation", {}),
        },
    }
    if _printed(result) and not any(t["name"].startswith(PRINTED_TEST) for t in tests):
        out["extra_data"]["printed"] = clip(_printed_text(result), MAX_PRINTED)
    return inert_outputs(out)


def inert_outputs(out: dict[str, Any]) -> dict[str, Any]:
    """`out` with every text Gradescope shows as the TA's pages show student text
    (`valid_text.bidi_inert`): controls but the tab and line breaks, and the bidi embeddings,
    overrides and isolates, written as escapes. The outputs quote what student code printed and
    raised, and Gradescope's page, read by the student and the instructors, got them as they
    were: a right-to-left override turned the rest of its line around (`\\u202eDESSAP` read
    PASSED) and an escape sequence stood there for whoever copied the text into a terminal."""
    out["output"] = bidi_inert(out["output"])
    for test in out["tests"]:
        test["output"] = bidi_inert(test.get("output", ""))
    if "printed" in out["extra_data"]:
        out["extra_data"]["printed"] = bidi_inert(out["extra_data"]["printed"])
    return out


def exercise_order(items: list[dict]) -> list[str]:
    return list(dict.fromkeys(exercise_of(i) for i in items))


def exercise_of(item: dict) -> str:
    return item.get("exercise") or item["id"].split(".")[0]


def item_numbers(items: list[dict]) -> dict[str, str]:
    """ "<exercise index>.<item index>", both from 1, in the rubric's order."""
    exercises = {ex: k for k, ex in enumerate(exercise_order(items), start=1)}
    counts: dict[str, int] = {}
    numbers = {}
    for item in items:
        ex = exercise_of(item)
        counts[ex] = counts.get(ex, 0) + 1
        numbers[item["id"]] = f"{exercises[ex]}.{counts[ex]}"
    return numbers


def source_label(ex: str, result: dict) -> str:
    """What the student handed in for an exercise: `exercise1.py`, or, for a notebook
    submission, the exercise's section of the notebook (there is no exercise1.py to look for)."""
    if _from_notebook(result):
        return ex
    return f"{ex}.py" if ex in (result.get("files") or {}) else ex


def item_name(item: dict, result: dict) -> str:
    ex, _, func = item["id"].partition(".")
    label = source_label(ex, result)
    if func and (label != ex or _from_notebook(result)):
        return f"{label}: {func}"
    return item["id"]


def _from_notebook(result: dict) -> bool:
    return bool((result.get("notebook") or {}).get("graded"))


def item_test(item: dict, name: str, number: str, hidden_vis: str) -> dict[str, Any]:
    """The test that carries the item's points: verdict, public cases, hidden-case count."""
    passed = item.get("status") == "passed"
    return {
        "name": name,
        "number": number,
        "score": round(float(item.get("score", 0.0)), 4),
        "max_score": round(float(item.get("max_score", 0.0)), 4),
        "status": "passed" if passed else "failed",
        "visibility": visibility(item.get("visibility", "visible")),
        "output": clip(item_output(item, hidden_vis)),
        "output_format": TEXT,
        "tags": [item.get("exercise", "")] if item.get("exercise") else [],
        "extra_data": {"id": item["id"], "status": item.get("status", "")},
    }


def item_output(item: dict, hidden_vis: str) -> str:
    cases = item.get("cases", [])
    status = item.get("status", "error")
    public = [c for c in cases if c.get("public")]
    hidden = [c for c in cases if not c.get("public")]
    head = STATUS_TEXT.get(status, status)
    if not cases:
        lines = [headed(head, str(item.get("message", "")))]
        if item.get("hint"):
            lines.append(f"Hint: {item['hint']}")
        lines += [f"Warning: {w}" for w in item.get("warnings", [])]
        return "\n".join(lines)
    verdicts = {(c.get("status"), str(c.get("message", ""))) for c in cases}
    if status != "passed" and len(verdicts) == 1 and public:
        # Every case failed the same way (a missing file, a stub, an import error): say it once.
        ((_, message),) = verdicts
        return headed(head, message)
    npass = sum(c.get("status") == "passed" for c in cases)
    split = f" ({len(public)} public, {len(hidden)} hidden)" if hidden else ""
    head = STATUS_TEXT.get(shown_status(status, public), head)
    lines = [f"{head}: {passed_of(npass, len(cases))}{split}."]
    for case in public:
        lines += ["", f"Public case ({describe(case)}):", *case_lines(case)]
    if hidden:
        lines += ["", hidden_summary(hidden, public, hidden_vis)]
    return "\n".join(lines)


# The verdicts a single case gives: an item's status is one of these when a case, perhaps a
# hidden one, decided it (any other verdict, such as "forbidden", is shown as it is).
CASE_VERDICTS = {"failed", "error", "timeout", "not_implemented"}


def shown_status(status: str, public: list[dict]) -> str:
    """The item's verdict as the public cases give it. The item's own status may come from a
    hidden case, and its word (error, timed out, failed) was one that student code chose from a
    hidden input, shown before the hidden cases' details are: where no public case gave it, the
    first failing public case's verdict is shown, or "failed" when every public case passed."""
    if not public or status not in CASE_VERDICTS:
        return status
    failing = [c.get("status", "error") for c in public if c.get("status") != "passed"]
    if status in failing:
        return status
    return failing[0] if failing else "failed"


def headed(head: str, message: str) -> str:
    """A verdict and its message, the verdict said once: a stub's item read "Not implemented:
    not implemented (still raises NotImplementedError)" on every row a student saw."""
    if not message:
        return head
    if message.casefold().startswith(head.casefold()):
        return head + message[len(head) :]
    return f"{head}: {message}"


def hidden_summary(hidden: list[dict], public: list[dict], hidden_vis: str) -> str:
    hpass = sum(c.get("status") == "passed" for c in hidden)
    # "Other" than the public cases': an item judged on hidden cases alone (a training run that
    # counts only beside hidden cases at its sizes) has none to differ from.
    kind = "Hidden cases (other sizes and seeds)" if public else "Hidden cases"
    text = f"{kind}: {hpass} of {len(hidden)} passed."
    if hpass == len(hidden):
        return text
    if public and all(c.get("status") == "passed" for c in public):
        text += " " + HIDDEN_CASES_ADVICE
    if hidden_details_needed(hidden, public):
        text += f" Their details are shown {WHEN[hidden_vis]}"
        text += " (see the test below)." if hidden_vis == "visible" else "."
    else:
        text += " " + same_as_public(hidden, public)
    return text


def same_as_public(hidden: list[dict], public: list[dict]) -> str:
    """How hidden cases that add nothing to the public cases' words ended. Cases skipped after
    a timeout were told to "fail the same way as the public case", of an endless loop whose
    hidden cases never ran; and two public cases are "the public cases"."""
    failing = [c for c in hidden if c.get("status") != "passed"]
    skipped = [c for c in failing if _skipped_after_timeout(c)]
    cases = "the public cases" if len(public) > 1 else "the public case"
    if skipped and len(skipped) == len(failing):
        return f"They were {skipped[0]['message']}."
    if skipped:
        return f"They fail the same way as {cases}, or were skipped after its timeout."
    return f"They fail the same way as {cases}."


# A number in a case's words: an error, a scale, a size (3, 0.0182, 2e-05, 1.2E+3).
_NUMBER = re.compile(r"\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
# A shape once its numbers are `#`: "(#, #, #)", "(#,)", "[#, #]", "#×#". Hidden cases have
# other ranks than the public one (a 2-D Linear beside a 3-D one), so a shape's length is a size.
# Its blanks before a closing bracket are read one way (`\s*,?\s*` split a run of blanks every way
# there is: a student's message "(1" and 4,000 blanks took 80 ms, read for each case three times,
# and a result's messages about a second of the grader's own process, where a shape takes none).
_SHAPE = re.compile(r"[(\[]\s*#(?:\s*,\s*#)*\s*(?:,\s*)?[)\]]|#(?:\s*[×x]\s*#)+")


# A case not run because its function timed out on an earlier one (Session._before_call): it
# tells nothing of its own. Public cases run first, so that one was public, or a hidden case
# whose own words say it.
_SKIPPED = re.compile(r"skipped: `[^`]*` timed out on an earlier case")


def hidden_details_needed(hidden: list[dict], public: list[dict]) -> bool:
    """False when every failing hidden case only repeats what a public case said: its status,
    message and hint, numbers and shapes aside, or was skipped after a timeout. Compared with
    its numbers, a wrong value's message ("values differ from autograd's by up to 0.0182 ...")
    never matched across cases, so every student with a wrong item got a detail test, which
    hides their total until publication; so did every endless loop, its hidden cases skipped."""
    said = {_gist(c) for c in public}
    return any(
        _gist(c) not in said
        for c in hidden
        if c.get("status") != "passed" and not _skipped_after_timeout(c)
    )


def _skipped_after_timeout(case: dict) -> bool:
    return case.get("status") == "timeout" and bool(
        _SKIPPED.fullmatch(str(case.get("message") or ""))
    )


def _gist(case: dict) -> tuple:
    words = (str(case.get(k) or "") for k in ("message", "hint"))
    return (case.get("status"), *(_SHAPE.sub("(#)", _NUMBER.sub("#", w)) for w in words))


def hidden_cases_test(item: dict, name: str, number: str, vis: str) -> dict[str, Any] | None:
    """The hidden cases' details, as a test without points, or None if there is nothing new."""
    cases = item.get("cases", [])
    public = [c for c in cases if c.get("public")]
    hidden = [c for c in cases if not c.get("public")]
    if not hidden_details_needed(hidden, public):
        return None
    hpass = sum(c.get("status") == "passed" for c in hidden)
    lines = [f"{passed_of(hpass, len(hidden), 'hidden case')}."]
    for case in hidden:
        lines += ["", f"Hidden case ({describe(case)}):", *case_lines(case)]
    return {
        "name": f"{name} (hidden cases)",
        "number": f"{number}.1",
        "status": "passed" if hpass == len(hidden) else "failed",
        "visibility": vis,
        "output": clip("\n".join(lines)),
        "output_format": TEXT,
        "tags": ["hidden cases"],
        "extra_data": {"id": item["id"], "hidden_cases": len(hidden), "hidden_passed": hpass},
    }


def describe(case: dict) -> str:
    """A case's sizes and seed, e.g. "n=5, vocab_size=11, seed=1, float32"; a hidden case's
    without its seed. The code that builds a case from its sizes and seed ships to students
    (their check.py builds the public cases with it), so a hidden seed, once shown, rebuilds
    the case and autograd's answers, for a resubmission or a later term's class; the sizes
    alone rebuild nothing and say which size a hard-coded one missed. A flag (True/False) is
    how the grader built the case, not a size a student's code could depend on: every case read
    "quiet_unit=True", a word the student never met (the case ids, which say only a case
    without it, are unchanged)."""
    public = bool(case.get("public"))
    config = {k: v for k, v in (case.get("config") or {}).items() if not isinstance(v, bool)}
    dtype = config.pop("dtype", None)
    if not public:
        config.pop("seed", None)
    parts = [f"{k}={v}" for k, v in config.items()]
    if public and "seed" not in config and case.get("seed") is not None and config:
        parts.append(f"seed={case['seed']}")
    if dtype:
        parts.append(str(dtype))
    # A case's id names its seed (cases.py): a hidden case without sizes is not named.
    return ", ".join(parts) or (str(case.get("case", "case")) if public else "sizes not recorded")


def case_lines(case: dict) -> list[str]:
    status = case.get("status", "error")
    if status == "passed":
        err = case.get("max_rel_err")
        text = "  passed" + (f" (max relative error {err:.2g})" if isinstance(err, float) else "")
        lines = [text]
    elif _skipped_after_timeout(case):
        # "timed out: skipped: `f` timed out on an earlier case": this case never ran.
        lines = ["  " + str(case["message"])]
    else:
        message = str(case.get("message", "")).strip()
        lines = ["  " + indent(headed(STATUS_TEXT.get(status, status).lower(), message))]
        if case.get("hint"):
            lines.append(f"  hint: {case['hint']}")
    lines += [f"  warning: {w}" for w in case.get("warnings", [])]
    return lines


def indent(text: str) -> str:
    return text.replace("\n", "\n    ")


def clip(text: str, limit: int = MAX_TEST_OUTPUT) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n... [{len(text) - limit} more characters cut]"


PRINTED_TEST = "What your code printed"


def _printed(result: dict) -> dict[str, str]:
    return {f: t for f, t in (result.get("output") or {}).items() if t and t.strip()}


def _printed_text(result: dict) -> str:
    return "\n\n".join(
        f"--- printed by {source_label(f, result)} ---\n{t.rstrip()}"
        for f, t in _printed(result).items()
    )


def extra_tests(
    result: dict, printed_vis: str, prefix: str, waiting: bool = False
) -> list[dict[str, Any]]:
    """Pointless tests: what the student's code printed (shown `printed_vis`), and grader
    errors for instructors.

    `waiting`: another test is already not visible, so the student's total is hidden anyway.
    """
    tests = []
    if _printed(result) and (printed_vis == "visible" or waiting):
        tests.append(
            {
                "name": f"{PRINTED_TEST} (during all cases, hidden ones included)",
                "number": f"{prefix}.1",
                "visibility": printed_vis,
                "output": clip(_printed_text(result), MAX_PRINTED),
                "output_format": TEXT,
            }
        )
    errors = list(
        dict.fromkeys(
            str(i["extra"]["grader_error"])
            for i in result.get("items", [])
            if isinstance(i.get("extra"), dict) and i["extra"].get("grader_error")
        )
    )
    if errors:
        tests.append(
            {
                "name": "Grader errors (instructors only)",
                "number": f"{prefix}.2",
                "status": "failed",
                "visibility": "hidden",
                "output": clip("\n\n".join(errors), MAX_PRINTED),
                "output_format": TEXT,
            }
        )
    return tests


# The review flag of a result graded twice with the grader's sandbox ending under it both times
# (pipeline.Grader.grade): its crashes may not be the student's, who is told so.
SANDBOX_ENDED = "sandbox_ended"
SANDBOX_ENDED_NOTE = (
    "Note: the grader's own sandbox stopped while grading this submission, twice: an item that "
    "says your code's process ended without answering may not be your code's fault. Ask your "
    "instructor to regrade it."
)


# The notes run.upload_listing adds on an upload of which nothing was graded (what it held).
UPLOAD_EMPTY, UPLOAD_HOLDS = "your upload was empty", "your upload holds: "


def nothing_found(files: dict, notebook: dict, notes: list[str]) -> tuple[str, set[str]]:
    """The line for an upload of which nothing was graded, and the notes it says in full (left
    off the page's notes). An empty upload's page said it three times: "No exercise files were
    found", "Note: no exercise files found (expected ...); the upload held: no files" and
    "Note: your upload was empty"; now one line says what was found, what the upload held and
    what to upload. A notebook that was found and could not be read (re-saved in another
    encoding, not JSON) is named, with the notes for why: the line said only to upload the .py
    files "(names exactly like that)", to a student whose notebook is as good an answer."""
    wanted = ", ".join(f"{f}.py" for f in files)
    unread = [str(n) for n in notebook.get("notebooks") or []] if not notebook.get("graded") else []
    if unread and notebook.get("reason") != "py files":
        return (
            f"Your notebook {clip(printable(unread[0]), 80)} could not be graded: the notes below "
            f"say why and what to do. Fix it and upload it again, or upload {wanted} instead."
        ), set()
    said = {n for n in notes if n.startswith(NOTHING_FOUND) or n == UPLOAD_EMPTY}
    said |= {n for n in notes if n.startswith(UPLOAD_HOLDS)}
    held = next((n.split(UPLOAD_HELD, 1)[1] for n in notes if n.startswith(NOTHING_FOUND)), "")
    listed = next((n[len(UPLOAD_HOLDS) :] for n in notes if n.startswith(UPLOAD_HOLDS)), "")
    if UPLOAD_EMPTY in notes:
        what = "Your upload was empty."
    elif held and held != "no files":
        what = f"No exercise file was found in your upload, which held {clip(held, MAX_NOTE)}."
    elif listed:
        # Folders alone (the choosing note lists files only, and said "no files").
        what = f"No exercise file was found in your upload, which held {listed}."
    else:
        what = "No exercise file was found in your upload."
    # One file is not "any of layers.py", nor has it "their" functions.
    upload, its = ("any of ", "their") if len(files) > 1 else ("", "its")
    return (
        f"{what} Upload {upload}{wanted} (names exactly like that), at the top level, in "
        f"folders or in a zip, or a notebook that defines {its} functions."
    ), said


def summary(result: dict, hidden_vis: str) -> str:
    """A few lines for the top of the page: the score, each exercise, notes, the chain."""
    items = result.get("items", [])
    files = result.get("files", {})
    held = held_back(items)
    if held:
        # The total would tell the points of the items the rubric holds back (total minus
        # the visible ones): Gradescope hides it while a test is not visible, and so does this.
        later = WHEN[max(held.values(), key=VISIBILITIES.index)]
        lines = [
            f"Score: not shown yet: {len(held)} of the items, points included, are shown {later}."
        ]
    else:
        lines = [f"Score: {points(result.get('score', 0))} / {points(result.get('max_score', 0))}"]
    notes = [str(n) for n in (result.get("student") or {}).get("notes") or []]
    if files and all(v == "missing" for v in files.values()):
        line, said = nothing_found(files, result.get("notebook") or {}, notes)
        lines.append(printable(line))
        notes = [n for n in notes if n not in said]
    for ex in exercise_order(items):
        lines.append(exercise_line(ex, items, result, held))
    notes = found_together(notes, [f"{f}.py" for f in files])
    # One line per note, whatever a quoted file name holds (a result from elsewhere than the
    # pipeline may carry a name's line break or bidi override); an upload of thousands of odd
    # entries makes a note each: the page shows the first few.
    lines += [f"Note: {clip(printable(n), MAX_NOTE)}" for n in notes[:MAX_NOTES]]
    if len(notes) > MAX_NOTES:
        lines.append(
            f"... and {len(notes) - MAX_NOTES} more notes (your TA's report has more of them)"
        )
    if any(
        isinstance(f, dict) and f.get("flag") == SANDBOX_ENDED for f in result.get("review") or []
    ):
        lines.append(SANDBOX_ENDED_NOTE)
    later = {i.partition(".")[2] for i in held}
    chain = chain_line(result.get("chain") or {}, later, chain_home(result))
    if chain:
        lines.append(chain)
    # Only a detail test of an item shown now is announced: a held item's would tell, before
    # its time, how its hidden cases did (its own test says when it comes).
    if any(i["id"] not in held and has_detail_test(i) for i in items):
        lines.append(f"Details of the hidden cases are shown {WHEN[hidden_vis]}.")
    return "\n".join(lines)


def found_together(notes: list[str], names: list[str]) -> list[str]:
    """`notes` with the notes on exercise files found in one folder made one: a student who
    uploaded a folder read "found exercise1.py in hw/", "found exercise2.py in hw/" and "found
    exercise3.py in hw/" on three lines. Only the exercises' own names are joined (the folder
    is the student's, and may hold anything)."""
    prefixes = {name: f"found {name} in " for name in names}
    folders: dict[str, list[str]] = {}
    for note in notes:
        for name, prefix in prefixes.items():
            if note.startswith(prefix) and note.endswith("/"):
                folders.setdefault(note[len(prefix) :], []).append(name)
    out, done = [], set()
    for note in notes:
        name = next((n for n, p in prefixes.items() if note.startswith(p)), None)
        folder = note[len(prefixes[name]) :] if name else ""
        if not name or not note.endswith("/") or len(folders[folder]) < 2:
            out.append(note)
        elif folder not in done:
            done.add(folder)
            out.append(f"found {', '.join(folders[folder])} in {folder}")
    return out


def has_detail_test(item: dict) -> bool:
    """Whether the item gets a `(hidden cases)` test. The page's top announced hidden-case
    details for every item with hidden cases, to a student who passed them all or uploaded
    nothing too, and none ever came."""
    cases = item.get("cases", [])
    hidden = [c for c in cases if not c.get("public")]
    return hidden_details_needed(hidden, [c for c in cases if c.get("public")])


def held_back(items: list[dict]) -> dict[str, str]:
    """The items whose test the rubric keeps from students for now: id -> visibility."""
    return {
        i["id"]: v for i in items if (v := visibility(i.get("visibility", "visible"))) != "visible"
    }


def exercise_line(ex: str, items: list[dict], result: dict, held: dict[str, str]) -> str:
    """An exercise's points and items passed, over the items shown now (not `held`)."""
    files, totals = result.get("files") or {}, result.get("exercises") or {}
    later = [held[i["id"]] for i in items if exercise_of(i) == ex and i["id"] in held]
    mine = [i for i in items if exercise_of(i) == ex and i["id"] not in held]
    total = (not later and totals.get(ex)) or {
        "score": sum(i.get("score", 0) for i in mine),
        "max_score": sum(i.get("max_score", 0) for i in mine),
    }
    score = f"{points(total['score'])} / {points(total['max_score'])}"
    wait = ""
    if later:
        when = WHEN[max(later, key=VISIBILITIES.index)]
        more = "more " if mine else ""
        are = "item is" if len(later) == 1 else "items are"
        wait = f"{len(later)} {more}{are} shown {when}"
        score += " so far"
    state = files.get(ex)
    label = source_label(ex, result)
    if state == "missing":
        return f"{label}: not submitted, {score}"
    if state not in (None, "submitted"):
        return f"{label}: {printable(str(state))}; {score}"
    if not mine:
        return f"{label}: {wait}"
    npass = sum(i.get("status") == "passed" for i in mine)
    return f"{label}: {score} ({passed_of(npass, len(mine), 'item')}{wait and '; ' + wait})"


def chain_line(chain: dict, later: set[str] = frozenset(), home: str = "") -> str:
    """Exercise 1's chain fed with the student's own gradients, in one sentence; nothing when
    a gradient in it is an item held back (`later`: function names), whose verdict it would tell.
    `home`: the exercise it runs through (student_text.chain_home), named as the check names
    it: a submission whose exercise 3 timed out read "Chained together, your own gradients
    match autograd all the way down." right under exercise 3's zero, of no exercise."""
    steps = chain.get("steps") or []
    if later & {s.get("grad") for s in steps}:
        return ""
    if {s.get("status") for s in steps} <= {"missing", "unreached", "not_implemented"}:
        # Nothing was computed: the items already say why (the blank stubs were told their
        # gradients "first depart from autograd at dlogprobs"), as student_text.chain_text.
        return ""
    first, unreached = chain.get("first_departure"), chain.get("unreached") or []
    said = f"{home[:1].upper()}{home[1:]}, chained together" if home else "Chained together"
    text = f"{said} (public case): your own gradients "
    stop = chain_stop(chain)
    if stop:
        text += f"stop at {first}, {stop}"
    elif first:
        text += f"first depart from autograd at {first}"
        text += f", {chain['departure_cause']}" if chain.get("departure_cause") else ""
    elif unreached:
        text += "match autograd as far as they go"
    else:
        return f"{said}: your own gradients match autograd all the way down."
    if unreached:
        more = f" and {len(unreached) - 6} more" if len(unreached) > 6 else ""
        text += f"; they could not reach {', '.join(unreached[:6])}{more}"
    return text + "."


def points(x: object) -> str:
    """12.0 -> "12", 12.5 -> "12.5", 61.8571 -> "61.86", as report.html shows a score
    (`scoring.shown_points`); results.json's `score` fields keep the exact number."""
    try:
        value = float(x)
    except (TypeError, ValueError):
        return str(x)
    return shown_points(value) if math.isfinite(value) else f"{value:g}"
