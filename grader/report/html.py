"""The per-submission HTML report, rendered from result.json and nothing else.

The page (templates/report.html.j2) shows the score, one table per exercise with each item's
status, error figures and hint, a heatmap of where a failed gradient differs from autograd (the
lecture's `imshow` of dlogits), exercise 1's chain fed with the student's own gradients, the
student's captured output and anything odd about the submission. This module only arranges the
result's numbers for the template; every word a student wrote is escaped there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..records import kept_start
from ..student_text import cases_passed, chain_stop, said_once
from ..uploads import size_text
from .charts import Heatmap, heatmap
from .people import who_doubts
from .render import assignment_title, render_page, write_atomic

REPORT = "report.html"
STUDENT_REPORT = "student-report.html"
# What each status means, in the report's words.
STATUS_LABEL = {
    "passed": "passed",
    "failed": "wrong",
    "not_implemented": "not implemented",
    "error": "error",
    "timeout": "timed out",
    "forbidden": "forbidden",
    "missing": "missing",
}


@dataclass
class ItemView:
    """One row of an exercise's table, and what its details show."""

    id: str
    name: str
    status: str
    label: str
    score: float
    max_score: float
    message: str
    hint: str
    warnings: list[str]
    cases_passed: int
    cases_total: int
    worst_rel_err: float | None
    cases: list[dict[str, Any]]
    heatmap: Heatmap | None = None
    heatmap_case: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    visibility: str = "visible"
    cases_measured: int = 0  # cases that produced an error figure (the others errored, etc.)
    unmeasured_note: str = ""  # "errored on 4 of 6 cases" when some cases gave no figure
    file_failed: bool = False  # the exercise's file could not be used: its banner says why
    file_unread: bool = False  # the exercise's file was not read (missing, ambiguous): ditto
    hidden_total: int = 0  # hidden cases judged (a student's copy shows only how many passed)
    hidden_passed: int = 0

    @property
    def has_details(self) -> bool:
        """Whether the row gets a details row: a case went wrong in a way worth reading."""
        if (self.file_failed or self.file_unread) and not self.extra.get("grader_error"):
            return False  # every case says what the exercise's banner says
        worth = self.status in ("failed", "error", "timeout", "forbidden")
        return bool(worth or self.warnings or self.heatmap or self.extra.get("per_param"))

    @property
    def message_is_block(self) -> bool:
        """A traceback (several lines) is set in monospace so its ^^^ markers meet their code."""
        return "\n" in self.message.strip()


@dataclass
class ExerciseView:
    name: str
    score: float
    max_score: float
    items: list[ItemView]
    # The message every case of every item shares when the file itself failed (an import error,
    # a syntax error, a forbidden import): shown once, as a banner, not on each item.
    file_failure: str = ""
    # Why no item of the exercise ran because its file was never read (not in the upload, two
    # differing copies, too large): said once, as a banner, where every row repeated it.
    file_unread: str = ""

    @property
    def share(self) -> float:
        return self.score / self.max_score if self.max_score else 0.0


def write_submission_report(result: dict, folder: Path) -> Path:
    """Render `folder/report.html` from one result.json (as a dict); written atomically."""
    folder.mkdir(parents=True, exist_ok=True)
    return write_atomic(folder / REPORT, render_report(result))


def write_student_report(result: dict, folder: Path) -> Path:
    """`folder/student-report.html`: the copy safe to hand to the student (see student_safe)."""
    folder.mkdir(parents=True, exist_ok=True)
    return write_atomic(folder / STUDENT_REPORT, render_report(result, for_student=True))


def student_safe(result: dict) -> dict:
    """result.json without what the hidden cases would teach: their names, sizes, seeds, errors,
    difference maps, and the code's printed output (which ran on them too). What is left is
    what the student's own `grader check` could show them, plus how many hidden cases passed."""
    items = []
    for item in result.get("items", []):
        cases = list(item.get("cases") or [])
        public = [c for c in cases if c.get("public")]
        hidden = [c for c in cases if not c.get("public")]
        # Extras come from the whole item: kept only where every case of it is public.
        extra = {
            k: v for k, v in (item.get("extra") or {}).items() if k in STUDENT_EXTRA and not hidden
        }
        items.append(
            {
                **{k: v for k, v in item.items() if k not in ("cases", "extra")},
                **_public_words(item, cases),
                "cases": public,
                "extra": extra,
                "hidden_total": len(hidden),
                "hidden_passed": sum(bool(c.get("passed")) for c in hidden),
            }
        )
    chain = result.get("chain") or {}
    return {
        **{k: v for k, v in result.items() if k not in STUDENT_DROPPED},
        "items": items,
        "chain": chain if str(chain.get("case", "")).startswith("public") else {},
    }


def _public_words(item: dict, cases: list[dict]) -> dict:
    """An item's message, hint and warnings with nothing a hidden case said (an item without
    hidden cases keeps its own): student code writes what a failure says (an error raised on a
    hidden case can spell out its inputs), and a wrong shape or a warning names hidden sizes.
    The item's message quotes its first failure (grading.make_item); where that is a hidden
    case, the student's copy quotes the first public failure instead, or says that only hidden
    cases failed."""
    public = [c for c in cases if c.get("public")]
    if len(public) == len(cases):
        return {}
    status = item.get("status")
    first = next((c for c in cases if c.get("status") == status and not c.get("passed")), None)
    message = item.get("message", "")
    if first is not None and not first.get("public"):
        passed = sum(bool(c.get("passed")) for c in cases)
        failure = next((c for c in public if not c.get("passed")), None)
        message = f"{cases_passed(passed, len(cases))}; " + (
            f"on a public case: {failure.get('message', '')}"
            if failure is not None
            else "only hidden cases failed (your TA's report has their details)"
        )
    public_hints = [c.get("hint") for c in public if c.get("hint")]
    hint = item.get("hint", "")
    if hint and hint not in public_hints:  # a hidden case's hint: a public one's, or none
        hint = next((c.get("hint") for c in public if not c.get("passed") and c.get("hint")), "")
    warnings = list(dict.fromkeys(w for c in public for w in c.get("warnings") or []))
    return {"message": message, "hint": hint, "warnings": warnings}


# What a student's copy leaves out of result.json: printed output (it ran on hidden cases too),
# the grading's duration and the calls' timing (student code can stretch its hidden calls to
# spell out what it was handed there), the sandbox's set-up, the fingerprint and the limits
# reached (grader internals, of no use to a student; the last names calls of hidden cases).
STUDENT_DROPPED = (
    "output", "duration_s", "timing", "isolation", "fingerprint", "leaderboard",
    "limits_reached",
)  # fmt: skip
# Item extras a student may see: exercise 3's per-parameter deviations are from the public run.
STUDENT_EXTRA = ("per_param", "val_loss")


# The optional top-level fields of result.json the page reads, with their values when absent.
RESULT_DEFAULTS: dict[str, Any] = {
    "files": {},
    "graded_at": "",
    "grader_version": "",
    "duration_s": None,
    "isolation": {},
    "fingerprint": "",
}


PERSON_KEYS = ("name", "email", "sid")


def group_members(student: dict) -> list[dict[str, str]]:
    """Each member of a group submission on their own (name, email, SID), or [] for one person.

    The joined fields ("Bob Partner; Smith; Carol") hid who the members were, and which email
    and SID went with whom: a name may hold "; ", and a member without an SID shifted the
    others'. The export lists each person (`members`); those are shown as listed."""
    listed = student.get("members")
    people = [m for m in listed if isinstance(m, dict)] if isinstance(listed, list) else []
    if len(people) < 2:
        return []
    return [{k: str(m[k]) for k in PERSON_KEYS if m.get(k)} for m in people]


def render_report(result: dict, for_student: bool = False) -> str:
    if for_student:
        result = student_safe(result)
    result = {**RESULT_DEFAULTS, **{k: v for k, v in result.items() if v is not None}}
    student = result.get("student") or {}
    items = [item_view(i) for i in result.get("items", [])]
    files = result.get("files") or {}
    return render_page(
        "report.html.j2",
        r=result,
        title=assignment_title(result.get("assignment")),
        for_student=for_student,
        isolation=isolation_view(result.get("isolation") or {}),
        student={k: v for k, v in student.items() if k != "notes"},
        group=group_members(student),
        notes=[str(n) for n in student.get("notes") or []],
        exercises=exercise_views(items),
        chain=chain_view(result.get("chain") or {}, [i.id for i in items]),
        outputs=sorted((result.get("output") or {}).items()),
        prints_cut=prints_cut(result.get("items") or []),
        file_problems={f: s for f, s in files.items() if s not in ("submitted",)},
        nothing_submitted=bool(files) and all(s == "missing" for s in files.values()),
        unread_notebook=unread_notebook(result.get("notebook") or {}),
        not_in_notebook=notebook_lacking(result)[1],
        grader_errors=[i for i in items if i.extra.get("grader_error")],
        status_label=STATUS_LABEL,
        review=[] if for_student else review_reasons(result) + who_doubts(result),
    )


def review_reasons(result: dict) -> list[str]:
    """Each review flag's reason, which put the submission on the TA's "needs a look" list (a
    metadata SID given to two submissions, notebooks tied on work): the TA followed the list's
    link to a report that said nothing of it. So do timeouts, said as the list says them: a
    submission on it for a timeout and a slow function showed the slow function alone, and
    one on it for a timeout alone showed no box. The student's copy leaves them out: a reason
    may name another submission."""
    flags = result.get("review") or []
    timeouts = timed_out_line(result.get("items") or [])
    reasons = [str(f["reason"]) for f in flags if isinstance(f, dict) and f.get("reason")]
    return ([timeouts] if timeouts else []) + reasons


def timed_out_line(items: list[dict]) -> str:
    """ "2 items timed out (layers.tanh, layers.training)", or "" when none did: which ones,
    since "2 items timed out" sent the TA through every table of the report."""
    timed_out = [str(i.get("id", "")) for i in items if i.get("status") == "timeout"]
    if not timed_out:
        return ""
    more = f" and {len(timed_out) - 5} more" if len(timed_out) > 5 else ""
    plural = "s" if len(timed_out) > 1 else ""
    return f"{len(timed_out)} item{plural} timed out ({', '.join(timed_out[:5])}{more})"


def prints_cut(items: list[dict]) -> bool:
    """Whether a call was stopped for its time: its process ended with what the code had printed
    but not flushed (a pipe's buffer), so "The submission printed nothing" was said of a
    function that printed before an endless loop."""
    return any(c.get("status") == "timeout" for i in items for c in i.get("cases") or [])


def notebook_lacking(result: dict) -> tuple[str, list[str]]:
    """The notebook graded and the exercises it defines none of the functions of, or ("", []).
    A graded notebook holds every exercise (submissions.read_tree): such an exercise's state is
    plain `missing`, which the report said as `exercise3.py was not submitted` to a TA holding
    a notebook, and which the class summary passed over, where an upload of .py files lacking
    exercise3.py is on the TA's list."""
    graded = str((result.get("notebook") or {}).get("graded") or "")
    files = result.get("files") or {}
    if not graded or all(s == "missing" for s in files.values()):
        return "", []  # no notebook graded, or nothing found at all: said as such
    return graded, [f for f, s in files.items() if s == "missing"]


def unread_notebook(notebook: dict) -> str:
    """The notebook an upload held and the grader could not read (not JSON, not UTF-8), or "":
    the banner said only that no .py file was found, of an upload whose notebook was there."""
    names = notebook.get("notebooks") or []
    if notebook.get("graded") or notebook.get("reason") == "py files" or not names:
        return ""
    return str(names[0])


def item_view(item: dict) -> ItemView:
    cases = list(item.get("cases") or [])
    # "Worst error" is over the cases that produced a number; the others are counted, not zero.
    errs = [c["max_rel_err"] for c in cases if isinstance(c.get("max_rel_err"), int | float)]
    shown = _heatmap_case(cases)
    return ItemView(
        id=item["id"],
        name=item["id"].split(".", 1)[-1],
        status=item.get("status", "error"),
        label=STATUS_LABEL.get(item.get("status", ""), str(item.get("status"))),
        score=item.get("score", 0.0),
        max_score=item.get("max_score", 0.0),
        message=item.get("message", ""),
        hint=item.get("hint", ""),
        warnings=said_once(list(item.get("warnings") or [])),  # each case's row has its own
        cases_passed=sum(bool(c.get("passed")) for c in cases)
        + int(item.get("hidden_passed") or 0),
        cases_total=len(cases) + int(item.get("hidden_total") or 0),
        worst_rel_err=max(errs) if errs else None,
        cases=[case_view(c) for c in cases],
        heatmap=heatmap(shown["diff_map"], shown.get("expected_shape")) if shown else None,
        heatmap_case=case_view(shown) if shown else None,
        extra=dict(item.get("extra") or {}),
        visibility=item.get("visibility", "visible"),
        cases_measured=len(errs),
        unmeasured_note=unmeasured_note(cases, len(errs)),
        hidden_total=int(item.get("hidden_total") or 0),
        hidden_passed=int(item.get("hidden_passed") or 0),
    )


# How a case that gave no error figure ended, in the words of "errored on 4 of 6 cases".
UNMEASURED_VERB = {
    "error": "errored",
    "timeout": "timed out",
    "forbidden": "was not allowed",
    "not_implemented": "was not implemented",
    "missing": "was missing",
}


def unmeasured_note(cases: list[dict], measured: int) -> str:
    """Why the worst-error column does not cover every case, or "" when it does."""
    left = [c for c in cases if not isinstance(c.get("max_rel_err"), int | float)]
    if not left or not measured:
        return ""  # all measured, or none (the status column then says it all)
    verbs = {UNMEASURED_VERB.get(str(c.get("status")), "gave no figure") for c in left}
    verb = verbs.pop() if len(verbs) == 1 else "gave no figure"
    return f"{verb} on {len(left)} of {len(cases)} cases"


# Every field a case row shows, with its value when a result.json leaves it out.
CASE_DEFAULTS: dict[str, Any] = {
    "case": "?",
    "public": False,
    "status": "error",
    "message": "",
    "max_abs_err": None,
    "max_rel_err": None,
    "shape": None,
    "expected_shape": None,
    "dtype": None,
    "warnings": [],
    "hint": "",
    "gradient": None,
}


def case_view(case: dict) -> dict[str, Any]:
    """A case with every field the template reads (older or hand-made results may lack some)."""
    return {k: case.get(k, v) if case.get(k) is not None else v for k, v in CASE_DEFAULTS.items()}


def _heatmap_case(cases: list[dict]) -> dict | None:
    """The case whose difference map the report draws: the public one when it failed."""
    with_map = [c for c in cases if c.get("diff_map")]
    return next((c for c in with_map if c.get("public")), with_map[0] if with_map else None)


def exercise_views(items: list[ItemView]) -> list[ExerciseView]:
    """Items grouped by exercise, in result order (the lecture's order)."""
    groups: dict[str, list[ItemView]] = {}
    for it in items:
        groups.setdefault(it.id.split(".", 1)[0], []).append(it)
    views = []
    for ex, its in groups.items():
        failure = file_failure(its)
        unread = "" if failure else file_unread(its)
        for it in its:
            it.file_failed, it.file_unread = bool(failure), bool(unread)
        views.append(
            ExerciseView(
                name=ex,
                score=round(sum(i.score for i in its), 4),
                max_score=round(sum(i.max_score for i in its), 4),
                items=its,
                file_failure=failure,
                file_unread=unread,
            )
        )
    return views


def file_failure(items: list[ItemView] | list[dict]) -> str:
    """The one message shared by every case of every item when none could run at all.

    An import error or a syntax error fails each case of each function the same way; the page
    says it once for the file instead of once per item (26 times for exercise 1). Takes the
    items of one exercise, as views or as result.json's dicts.
    """
    facts = [_status_and_messages(i) for i in items]
    if len(facts) < 2 or any(
        status not in ("error", "timeout", "forbidden") for status, _ in facts
    ):
        return ""
    if any(not ms for _, ms in facts):
        return ""
    messages = {m for _, ms in facts for m in ms}
    # Past the submission's message budget a case keeps only its message's start: a file whose
    # every case failed alike, with a long traceback, is still one failure (it once went
    # unflagged in the class summary for that alone).
    whole = {m for m in messages if kept_start(m) is None}
    starts = {kept_start(m) for m in messages} - {None}
    if len(whole) > 1 or (not whole and len(messages) > 1):
        return ""
    message = next(iter(whole or messages))
    if whole and not all(message.startswith(s) for s in starts):
        return ""
    return message.strip()


def file_unread(items: list[ItemView]) -> str:
    """The one reason every case of every item gives when the exercise's file was never read
    (`exercise1.py: not in your upload, which held ...`), or "". A report repeated it on each
    item's row, 26 times for exercise 1; the exercise now says it once. A file read but lacking
    its functions gives each item its own reason (`no function `dlogprobs` ...`): not this."""
    if len(items) < 2 or any(it.status != "missing" or not it.cases for it in items):
        return ""
    messages = {c["message"] for it in items for c in it.cases}
    return next(iter(messages)).strip() if len(messages) == 1 else ""


def _status_and_messages(item: ItemView | dict) -> tuple[str, list[str]]:
    """An item's status and its cases' messages, as its view shows them, read from the view or
    straight from result.json's dict: building a whole view draws the item's heatmap, and the
    digest of every result (summary.digest) asks this of every item after its report did."""
    if isinstance(item, ItemView):
        return item.status, [c["message"] for c in item.cases]
    message = CASE_DEFAULTS["message"]
    cases = item.get("cases") or []
    return item.get("status", "error"), [
        message if c.get("message") is None else c["message"] for c in cases
    ]


def file_failures(result: dict) -> dict[str, str]:
    """Each exercise whose file could not be used at all, with the message that says why."""
    groups: dict[str, list[dict]] = {}
    for item in result.get("items", []):
        groups.setdefault(item["id"].split(".", 1)[0], []).append(item)
    return {ex: msg for ex, items in groups.items() if (msg := file_failure(items))}


# The sandbox's limits in words a TA reads at a glance, with their units.
LIMIT_WORDS = {
    "call_seconds": ("time per call", "s"),
    "import_seconds": ("time to import a file", "s"),
    "cpu_seconds": ("CPU time per process", "s"),
    "memory_bytes_above_torch": ("memory beyond torch's own", "bytes"),
    "file_size_bytes": ("largest file it may write", "bytes"),
    "open_files": ("open files", ""),
    "processes": ("extra processes or threads", ""),
    "output_bytes": ("printed output kept", "bytes"),
    "result_bytes": ("largest answer accepted", "bytes"),
}


def isolation_view(isolation: dict) -> list[tuple[str, str]]:
    """The sandbox's set-up as (what, how) lines in plain words: no raw dict on the page."""
    lines: list[tuple[str, str]] = []
    for key, value in isolation.items():
        if key == "notes":
            lines += [("note", str(n)) for n in value or []]
        elif key == "limits" and isinstance(value, dict):
            lines += [_limit_line(k, v) for k, v in value.items()]
        else:
            lines.append((key.replace("_", " "), _plain(value)))
    return lines


def _limit_line(key: str, value: object) -> tuple[str, str]:
    what, unit = LIMIT_WORDS.get(key, (key.replace("_", " "), ""))
    if unit == "bytes" and isinstance(value, int | float):
        return f"limit: {what}", size_text(value)
    return f"limit: {what}", f"{_plain(value)} {unit}".strip()


def _plain(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict):
        return "; ".join(f"{k.replace('_', ' ')}: {_plain(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(_plain(v) for v in value) or "none"
    return str(value)


def chain_view(chain: dict, item_ids: list[str] | None = None) -> dict | None:
    """A suite's own-gradient chain (`record(..., chain=...)`) as a strip of steps, or None
    when it was not run. It is shown under its exercise: the one holding an item named after
    its first step (Backprop Ninja: exercise1.dlogprobs), else the first; the page once
    looked for `exercise1` by name, and another assignment's chain went unshown."""
    steps = list(chain.get("steps") or [])
    unreached = list(chain.get("unreached") or [])
    if not steps and not unreached:
        return None
    reached = {s.get("grad") for s in steps}
    strip = [
        {
            "grad": s.get("grad", "?"),
            "status": s.get("status", "error"),
            "max_rel_err": s.get("max_rel_err"),
            "first": s.get("grad") == chain.get("first_departure"),
        }
        for s in steps
    ] + [
        {"grad": g, "status": "unreached", "max_rel_err": None, "first": False}
        for g in unreached
        if g not in reached
    ]
    ids = list(item_ids or [])
    first = strip[0]["grad"]
    home = next((i for i in ids if i.split(".", 1)[-1] == first), ids[0] if ids else "")
    return {
        "exercise": home.split(".", 1)[0],
        "case": chain.get("case", ""),
        "first_departure": chain.get("first_departure"),
        "departure_cause": chain.get("departure_cause") or "",
        # Why the first step off autograd's gave no value ("which raised an error"), or "".
        "stop": chain_stop(chain),
        "unreached": unreached,
        "steps": strip,
    }
