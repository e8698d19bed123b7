"""The reports: report.html per submission, summary.json / summary.html / grades.csv per batch.

A small class is graded for real (examples with known mistakes, a blank and an empty submission,
and a hostile one whose names and output are HTML), then every expectation is computed from the
results themselves: the pages must show what result.json says, no more and no less. The same
pages are opened in a real browser by tests/test_report_browser.py.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import re
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import pytest
from conftest import (
    RESULT_SCHEMA,
    ROOT,
    SOLUTIONS,
    STUBS,
    item,
    item_from_json,
    mutated,
    solution,
)

from grader import seeding
from grader.examples import write_examples
from grader.pipeline import grader_failure
from grader.records import cut_message
from grader.report import write_batch_reports, write_submission_report
from grader.report.charts import HEAT_STOPS, heat_colour, heatmap, histogram, rate_bars
from grader.report.html import (
    file_failure,
    file_failures,
    item_view,
    student_safe,
    write_student_report,
)
from grader.report.render import environment, points, sci
from grader.report.summary import attention, gradebook_csv, summarize
from grader.scoring import exercise_totals
from grader.submissions import Submission, read_submission, slug
from grader.valid_text import inked

EXAMPLES = ("complete", "bessel", "missing_branch", "zoë martin", "blank", "partial")
HOSTILE_PRINT = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'
HOSTILE_NAME = "<img src=x onerror=alert(1)> O'Brien & co"
FORMULA_NAME = '=HYPERLINK("http://example.invalid","click")'
HOSTILE_SOURCE = f"""
import torch
print({HOSTILE_PRINT!r})

def dlogits(logits, Yb, n):
    raise ValueError("</td></tr><script>window.__pwned = 3</script>")

def dhprebn(dhpreact, bngain, bnvar_inv, bnraw, n):
    return dhpreact.T
"""
CRASH_SOURCE = "import torch\n\ndef helper():\n    return 1 / 0\n\nhelper()\n"


class Tags(HTMLParser):
    """Every start tag of a page with its attributes, and its text, as a browser parses them."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    def handle_data(self, data):
        self.text.append(data)

    def find(self, tag: str, **attrs: str) -> list[dict[str, str]]:
        """Tags named `tag` whose attributes include `attrs` (class_ matches one class)."""
        want_class = attrs.pop("class_", None)
        return [
            a
            for t, a in self.tags
            if t == tag
            and all(a.get(k) == v for k, v in attrs.items())
            and (want_class is None or want_class in a.get("class", "").split())
        ]


class Isolated(HTMLParser):
    """A page's text, each piece with whether it sits inside an isolating <bdi> element."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.depth = 0
        self.pieces: list[tuple[str, bool]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.depth += tag == "bdi"

    def handle_endtag(self, tag):
        self.depth -= tag == "bdi"

    def handle_data(self, data):
        self.pieces.append((data, self.depth > 0))

    def outside(self, text: str) -> list[str]:
        """The pieces holding `text` that no <bdi> isolates."""
        return [d for d, inside in self.pieces if text in d and not inside]


@pytest.fixture(scope="module")
def graded(grader, tmp_path_factory) -> dict[str, dict]:
    """result.json of every submission of the small class, by folder name, in batch order."""
    root = tmp_path_factory.mktemp("class")
    write_examples(SOLUTIONS, STUBS, root)
    hostile = root / "hostile"
    hostile.mkdir()
    (hostile / "exercise2.py").write_text(HOSTILE_SOURCE)
    (root / "empty").mkdir()
    (root / "empty" / "notes.txt").write_text("I ran out of time")
    (root / "crash").mkdir()
    (root / "crash" / "exercise1.py").write_text(CRASH_SOURCE)
    students = {
        "bessel": {"name": "Ada Lovelace", "email": "ada@example.edu", "sid": "1815"},
        "hostile": {"name": HOSTILE_NAME, "email": "evil@example.edu"},
        "blank": {"name": FORMULA_NAME, "email": "-x@example.edu"},
    }
    results = {}
    for name in (*EXAMPLES, "hostile", "empty", "crash"):
        sub = read_submission(root / name, name, grader.assignment.files)
        sub.student = students.get(name, {})
        results[name] = grader.grade(sub).to_json()
    return results


@pytest.fixture(scope="module")
def batch_out(graded, tmp_path_factory) -> Path:
    """The batch's outputs written by the report module, as grade_batch writes them."""
    out = tmp_path_factory.mktemp("out")
    for name, result in graded.items():
        write_submission_report(result, out / slug(name))
        write_student_report(result, out / slug(name))
    write_batch_reports(list(graded.values()), out, [slug(n) for n in graded])
    return out


def page(out: Path, name: str) -> tuple[str, Tags]:
    html = (out / slug(name) / "report.html").read_text(encoding="utf-8")
    return html, Tags(html)


# ---- the per-submission report -------------------------------------------------------------


def test_a_score_reads_in_two_decimals_never_a_whole_number_it_has_not_reached():
    """The pages' scores: two decimals, half up, but never up to a whole number: 99.996 of 100
    (an item of a hundredth of a point missed) read as full marks, `100 / 100`. A score that
    would read 0 but is not keeps its decimals; no exponent (1.23457e+06), no float noise."""
    assert points(61.8571) == "61.86" and points(98.5714) == "98.57" and points(48.57) == "48.57"
    assert points(99.996) == "99.99" and points(46.999) == "46.99" and points(2.675) == "2.68"
    assert points(0.004) == "0.004" and points(0.0) == "0" and points(-0.0) == "0"
    assert points(17.5) == "17.5" and points(48) == "48" and points(100.0) == "100"
    assert points(1234567.5) == "1234567.5"
    assert points(float("nan")) == "–" and points(None) == "–"


def test_report_has_one_row_per_item_with_its_status(graded, batch_out):
    for name, result in graded.items():
        _, tags = page(batch_out, name)
        rows = [(a["id"], a["data-status"]) for a in tags.find("tr", class_="item")]
        assert rows == [(f"item-{i['id']}", i["status"]) for i in result["items"]], name


@pytest.mark.parametrize(
    ("assignment", "title"),
    [
        ("backprop-ninja", "Becoming a Backprop Ninja"),
        ("layer-by-layer", "Backprop Ninja, layer by layer"),
        ("not-in-this-course", "not-in-this-course"),
    ],
)
def test_pages_are_titled_with_the_results_own_assignment(graded, tmp_path, assignment, title):
    results = [dict(r, assignment=assignment) for r in graded.values()]
    write_submission_report(results[0], tmp_path / "one")
    write_batch_reports(results, tmp_path, [slug(n) for n in graded])
    for html in (tmp_path / "one" / "report.html", tmp_path / "summary.html"):
        shown = re.search(r"<title>(.*?)</title>", html.read_text(encoding="utf-8"), re.S)[1]
        assert shown.endswith(f"({title})"), shown


def test_report_shows_score_and_exercise_totals(graded, batch_out):
    for name, result in graded.items():
        html, tags = page(batch_out, name)
        text = " ".join("".join(tags.text).split())
        assert f"{points(result['score'])} / {points(result['max_score'])}" in text, name
        for ex, t in result["exercises"].items():
            assert f"{ex} — {points(t['score'])} / {points(t['max_score'])}" in text, (name, ex)


def test_failed_gradient_gets_a_heatmap_of_where_it_differs(graded, batch_out):
    result = graded["bessel"]
    html, tags = page(batch_out, "bessel")
    wrong = [i for i in result["items"] if any(c["diff_map"] for c in i["cases"])]
    assert "exercise1.dbndiff2" in {i["id"] for i in wrong}
    figures = tags.find("figure", class_="heatmap")
    assert len(figures) == len(wrong)
    item = next(i for i in wrong if i["id"] == "exercise1.dbndiff2")
    grid = next(c for c in item["cases"] if c["public"])["diff_map"]
    # The drawn cells are the judge's grid, and the worst cell is drawn in the darkest colour.
    start = html.index('id="item-exercise1.dbndiff2"')
    svg = html[html.index("<svg", start) : html.index("</svg>", start)]
    fills = re.findall(r'<rect x="\d+" y="\d+" width="\d+" height="\d+" fill="(#[0-9a-f]{6})"', svg)
    assert len(fills) == sum(len(r) for r in grid)
    flat = [v for r in grid for v in r]
    assert fills[flat.index(max(flat))] == heat_colour(1.0)
    assert "Bessel" in item["hint"] and f"Hint: {item['hint']}" in "".join(tags.text)


def test_passing_submission_has_no_heatmap_and_shows_warnings(graded, batch_out):
    for name in ("complete", "zoë martin"):
        _, tags = page(batch_out, name)
        assert not tags.find("figure", class_="heatmap"), name
    warned = [i for i in graded["zoë martin"]["items"] if i["warnings"]]
    assert warned, "the example writes dbnmeani without keepdim, which passes with a warning"
    text = "".join(page(batch_out, "zoë martin")[1].text)
    for i in warned:
        assert f"Warning: {i['warnings'][0]}" in text
    # Once above the cases, whatever sizes each case's own row quotes: seven lines said one slip.
    dbnmeani = next(i for i in warned if i["id"] == "exercise1.dbnmeani")
    assert len(set(dbnmeani["warnings"])) > 1
    row = "".join(page(batch_out, "zoë martin")[0].split('id="item-exercise1.dbnmeani"')[1:2])
    assert row.split("</table>")[0].count("Warning: ") == 1


def test_chain_strip_marks_the_first_departure(graded, batch_out):
    chain = graded["bessel"]["chain"]
    _, tags = page(batch_out, "bessel")
    chips = [a for t, a in tags.tags if t == "li" and "s-" in a.get("class", "")]
    assert len(chips) == len(chain["steps"]) + len(chain["unreached"])
    first = [a for a in chips if "first" in a["class"].split()]
    assert len(first) == 1 and first[0]["title"].startswith(chain["first_departure"] + ":")


def test_student_text_is_escaped_everywhere(graded, batch_out):
    html, tags = page(batch_out, "hostile")
    # Exactly one script (the page's own) and no image: nothing the student wrote became markup.
    assert len(tags.find("script")) == 1 and not tags.find("img")
    assert "window.__pwned" not in html.split("<script>")[-1]
    text = "".join(tags.text)
    assert HOSTILE_PRINT in text  # shown to the TA as text, exactly as printed
    assert HOSTILE_NAME in text
    assert "</td></tr><script>window.__pwned = 3</script>" in text
    rows = [a["id"] for a in tags.find("tr", class_="item")]
    assert len(rows) == len(graded["hostile"]["items"])  # the student's </tr> closed no row


def test_page_allows_only_its_own_script(batch_out):
    html, tags = page(batch_out, "complete")
    csp = tags.find("meta", **{"http-equiv": "Content-Security-Policy"})[0]["content"]
    script = html[html.index("<script>") + len("<script>") : html.index("</script>")]
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in csp
    assert "default-src 'none'" in csp
    # Self-contained: no external stylesheet, script, image or font.
    assert not [a for t, a in tags.tags if a.get("src") or (t == "link" and a["rel"] != "icon")]


def test_submission_without_files_says_so(graded, batch_out):
    result = graded["empty"]
    assert all(i["status"] == "missing" for i in result["items"])
    _, tags = page(batch_out, "empty")
    assert tags.find("div", id="nothing-submitted")
    assert any("no exercise files found" in t for t in tags.text)


def test_missing_file_is_named(graded, batch_out):
    """A file missing beside others is named, with what the upload held (issue 12)."""
    files = graded["partial"]["files"]
    assert [f for f, s in files.items() if s.startswith("missing")] == ["exercise3"]
    held = "missing: not in your upload, which held exercise1.py, exercise2.py"
    assert files["exercise3"] == held
    text = " ".join("".join(page(batch_out, "partial")[1].text).split())
    assert f"exercise3.py: {held}" in text
    # The TA's list reads it of the student's upload, not "your upload".
    ta = "exercise3: missing: not in the upload, which held exercise1.py, exercise2.py"
    assert attention(graded["partial"]) == [ta]


def test_a_file_not_in_the_upload_is_said_once_for_its_exercise(grader, tmp_path):
    """Each of exercise 1's 26 rows repeated "exercise1.py: not in your upload, which held ..."
    when the file was missing beside the others: the exercise says it once, in a box above
    its table, and each row keeps its status and points there."""
    held = "missing: not in your upload, which held exercise2.py, exercise3.py, notes.txt"
    files = {f: solution(f).encode() for f in ("exercise2", "exercise3")}
    sub = Submission("alice", {"exercise1": None, **files}, absent={"exercise1": held})
    result = grader.grade(sub).to_json()
    ex1 = [i for i in result["items"] if i["exercise"] == "exercise1"]
    assert len(ex1) > 20 and all(i["status"] == "missing" for i in ex1)
    for copy, write in (("ta", write_submission_report), ("student", write_student_report)):
        html = write(result, tmp_path / copy).read_text(encoding="utf-8")
        tags = Tags(html)
        # Once in the notes on the upload, once for its exercise; never on an item's row.
        assert html.count("not in your upload, which held") == 2, copy
        (box,) = tags.find("div", id="file-unread-exercise1")
        rows = [a for a in tags.find("tr", class_="item") if a["id"].startswith("item-exercise1.")]
        assert len(rows) == len(ex1) and all(r["data-status"] == "missing" for r in rows)
        assert html.count("not graded: see the box above") == len(ex1)
        assert not tags.find("div", id="file-unread-exercise2")
        # Nor is a chain of its gradients drawn, "could not be reached after an error".
        assert not tags.find("h3", id="chain") and "after an error" not in html
    # Nor does the student's copy count each row's hidden cases, none of which ran.
    assert "hidden cases passed" not in html and "hidden case passed" not in html


def test_exercise_3_not_in_the_upload_is_said_once_training_run_included(grader, tmp_path):
    """Of an upload without exercise3.py, the training run's case read "step 1: exercise3.py:
    not in your upload, ..." where its seven gradient items read the reason alone: the
    exercise's box never showed, and each of its eight rows repeated the reason."""
    held = "missing: not in your upload, which held exercise1.py, exercise2.py"
    files = {f: solution(f).encode() for f in ("exercise1", "exercise2")}
    sub = Submission("bob", {**files, "exercise3": None}, absent={"exercise3": held})
    result = grader.grade(sub).to_json()
    (training,) = [i for i in result["items"] if i["id"] == "exercise3.training"]
    reason = "exercise3.py: not in your upload, which held exercise1.py, exercise2.py"
    assert [c["message"] for c in training["cases"]] == [reason]
    html = write_submission_report(result, tmp_path).read_text(encoding="utf-8")
    (box,) = Tags(html).find("div", id="file-unread-exercise3")
    assert html.count("not graded: see the box above") == 8


@pytest.mark.parametrize(
    "exercise1, why",
    [
        ("", "exercise1.py is empty: the file is there but holds no code"),  # saved unwritten
        (solution("exercise3"), "no function `dlogprobs` in exercise1.py"),  # another's file
    ],
)
def test_an_uploaded_file_holding_none_of_its_functions_needs_a_look(grade, exercise1, why):
    """An exercise file that is there but defines none of the exercise's functions (saved
    before it was written, or another exercise's file uploaded under its name) scored 0 off
    the TA's list, where the same upload without the file was on it."""
    others = {"exercise2": solution("exercise2"), "exercise3": solution("exercise3")}
    result = grade({"exercise1": exercise1, **others})
    assert result["files"]["exercise1"] == "submitted"
    assert all(i["status"] == "missing" for i in result["items"] if i["exercise"] == "exercise1")
    (flag,) = attention(result)
    assert flag.startswith("exercise1.py holds none of its functions, every item missing (")
    assert why in flag


def test_the_why_of_a_missing_function_leaves_out_its_count_of_one_case():
    """An item of one case starts "0/1 case passed; on a public case: " (it read "0/1 cases
    passed"): the TA's line quotes the reason alone, whatever the count's noun."""
    from grader.report.summary import nothing_found

    why, said = "no function `dlogprobs` in exercise1.py", "0/1 case passed; on a public case: "
    items = [
        {"id": f"exercise1.d{k}", "status": "missing", "message": f"{said}{why}"} for k in range(3)
    ]
    assert nothing_found(items, {"exercise1": "submitted"})["exercise1"][1] == why


def test_swapped_exercise_files_are_said_swapped_to_the_student_and_the_ta(grade):
    """Exercise 1's and 2's files saved under each other's names: the TA's list said exercise1.py
    lacked its functions, the student's result said nothing of a swap; the result's notes now
    name it with the fix, and the TA's line names it too."""
    swapped = {"exercise1": solution("exercise2"), "exercise2": solution("exercise1")}
    result = grade({**swapped, "exercise3": solution("exercise3")})
    pair = "exercise1.py holds the functions of exercise2.py and exercise2.py those of exercise1.py"
    (note,) = [n for n in result["student"]["notes"] if "swapped" in n]
    assert note.startswith(pair + ": the two files look swapped")
    assert note.endswith("rename exercise1.py to exercise2.py and exercise2.py to exercise1.py")
    (flag,) = attention(result)
    assert flag.startswith("exercise1.py lacks the functions of ")
    assert flag.endswith(f"; the two files look swapped ({pair})")


def test_an_uploaded_file_lacking_most_of_its_functions_needs_a_look(grade):
    """Exercise 2's file uploaded as exercise1.py defines two of exercise 1's names (dlogits,
    dhprebn): those were judged, the other 24 items found no function, and it scored 4 of 50
    off the TA's list, where an empty file was on it. The stubs define every function, so most
    of a file's functions missing is an upload to look at."""
    others = {"exercise2": solution("exercise2"), "exercise3": solution("exercise3")}
    result = grade({"exercise1": solution("exercise2"), **others})
    ours = [i for i in result["items"] if i["exercise"] == "exercise1"]
    missing = sum(i["status"] == "missing" for i in ours)
    assert 0 < len(ours) - missing < missing, [i["status"] for i in ours]
    (flag,) = attention(result)
    assert flag.startswith(
        f"exercise1.py lacks the functions of {missing} of its {len(ours)} items, which score 0 ("
    ), flag
    assert "no function `dlogprobs` in exercise1.py" in flag, flag


@pytest.mark.parametrize(
    "message, said",
    [
        (  # the grader's reason above the traceback: its last line alone said "SystemExit"
            "importing exercise2.py failed: it calls sys.exit() or exit() (or raises "
            "SystemExit), which the grader takes for a failure: remove it\nTraceback (most "
            'recent call last):\n  File "exercise2.py", line 1, in <module>\nSystemExit\n',
            "(it calls sys.exit() or exit() (or raises SystemExit), which the grader takes",
        ),
        (  # no reason but the traceback: its last line
            'importing exercise2.py failed:\nTraceback (most recent call last):\n  File "x"'
            ", line 1, in <module>\nValueError: oops\n",
            "(ValueError: oops)",
        ),
    ],
)
def test_a_file_that_could_not_be_used_is_said_in_its_reason(message, said):
    cases = [{"case": "c", "status": "error", "message": message, "passed": False}]
    items = [
        {"id": f"exercise2.{f}", "status": "error", "score": 0.0, "max_score": 1.0, "cases": cases}
        for f in ("dlogits", "dhprebn")
    ]
    result = {"submission": "s", "score": 0.0, "max_score": 2.0, "items": items}
    (line,) = attention(result)
    assert line.startswith("exercise2.py could not be used, every item errored (") and said in line


def test_a_grader_failure_s_line_says_to_fix_the_cause_before_regrading():
    """A suite that cannot be imported fails the same way at every regrade: the line said only
    "regrade", and the TA got the same zeros back."""
    error = "test_ex1.py cannot be imported: ImportError: attempted relative import"
    item = {"id": "exercise1.dW", "status": "error", "score": 0.0, "max_score": 1.0}
    result = {"submission": "s", "score": 0.0, "max_score": 1.0}
    result["items"] = [{**item, "extra": {"grader_error": error}}]
    (line,) = attention(result)
    assert line == f"the grader failed on some items ({error}): fix or report it, then regrade"


def test_a_needs_a_look_line_names_the_items_that_timed_out():
    """ "2 items timed out" sent the TA through every table of the report to find which."""
    items = [
        {"id": f"layers.{name}", "status": status, "score": 0.0, "max_score": 1.0}
        for name, status in [("linear", "passed"), ("tanh", "timeout"), ("training", "timeout")]
    ]
    result = {"submission": "loop", "score": 1.0, "max_score": 3.0, "items": items}
    assert attention(result) == ["2 items timed out (layers.tanh, layers.training)"]
    many = [{**items[1], "id": f"layers.f{k}"} for k in range(7)]
    assert attention({**result, "items": many}) == [
        "7 items timed out (layers.f0, layers.f1, layers.f2, layers.f3, layers.f4 and 2 more)"
    ]


def test_the_ta_s_report_says_why_it_is_on_the_needs_a_look_list(graded, tmp_path):
    """A review flag (an SID the metadata gives two submissions) put a submission on the TA's
    list, whose link opened a report that said nothing of it. The TA's report says it; the
    student's copy does not (a reason may name another submission)."""
    why = "the export metadata gives the SID 1815 to submission_9 too"
    result = {**graded["bessel"], "review": [{"flag": "download", "reason": why}]}
    html = write_submission_report(result, tmp_path / "ta").read_text(encoding="utf-8")
    (box,) = Tags(html).find("div", id="review")
    assert why in " ".join(html[html.index('id="review"') :].split("</div>", 1)[0].split())
    student = write_student_report(result, tmp_path / "st").read_text(encoding="utf-8")
    assert 'id="review"' not in student and "submission_9" not in student
    plain = write_submission_report(graded["bessel"], tmp_path / "no").read_text(encoding="utf-8")
    assert 'id="review"' not in plain


def test_the_ta_s_report_names_every_reason_the_list_gives(graded, tmp_path):
    """A submission on the TA's list for a timed-out item and a slow function (an endless
    loop in one backward, a print flood in another) opened a report whose "needs a look" box
    named the slow function alone, where `grader grade` and summary.html named both; one on
    the list for a timeout alone had no box. The box says what the list says."""
    slow = "far slower than a derivation by hand: layers.embedding_backward (0.44 s) per call"
    items = [dict(i) for i in graded["bessel"]["items"]]
    items[1] = {**items[1], "status": "timeout"}
    result = {**graded["bessel"], "items": items, "review": [{"flag": "slow", "reason": slow}]}
    html = write_submission_report(result, tmp_path / "ta").read_text(encoding="utf-8")
    box = " ".join(html[html.index('id="review"') :].split("</div>", 1)[0].split())
    for why in attention(result):
        assert unescape(why) in unescape(box), (why, box)
    alone = {**result, "review": []}
    html = write_submission_report(alone, tmp_path / "alone").read_text(encoding="utf-8")
    assert f"1 item timed out ({items[1]['id']})" in html
    student = write_student_report(result, tmp_path / "st").read_text(encoding="utf-8")
    assert 'id="review"' not in student


def test_what_a_notebook_printed_is_headed_by_its_section_not_a_py_file(graded, tmp_path):
    """The report of a notebook submission headed its captured output "what layers.py
    printed", a file the student never had; Gradescope's page says "printed by layers"."""
    result = {**graded["bessel"], "notebook": {"graded": "Copy of hw.ipynb"},
              "output": {"exercise1": "hello"}}  # fmt: skip
    html = write_submission_report(result, tmp_path / "nb").read_text(encoding="utf-8")
    assert "exercise1.py</code> printed" not in html
    assert "<code>exercise1</code> of the notebook <code>" in html and "Copy of hw.ipynb" in html
    plain = {**graded["bessel"], "output": {"exercise1": "hello"}}
    html = write_submission_report(plain, tmp_path / "py").read_text(encoding="utf-8")
    assert "what <code>exercise1.py</code> printed" in html


def test_an_unreadable_notebook_is_named_on_the_ta_s_list(grader, tmp_path):
    """A notebook re-saved as UTF-16 was the upload's only file: the TA's list read "no
    exercise files found (the upload held: hw.ipynb)", as of a student who uploaded the wrong
    thing; it says the notebook could not be read, and why in a few words."""
    from notebooks import code, save

    folder = tmp_path / "nia"
    folder.mkdir()
    (folder / "hw.ipynb").write_bytes(save([code("x = 1\n")]).decode().encode("utf-16"))
    result = grader.grade(read_submission(folder, "nia", grader.assignment.files)).to_json()
    assert attention(result) == [
        "no exercise files found: the notebook hw.ipynb could not be read "
        "(hw.ipynb is UTF-16 text, not UTF-8)"
    ]


def test_untouched_stubs_and_one_function_left_out_need_no_look(grade):
    """A stub left as it was is a choice the score already shows, and a file missing one of
    its functions among others written is graded as it is: neither is flagged."""
    stub = (STUBS / "exercise1.py").read_text()
    without_dc = solution("exercise1").replace("def dC(", "def dC_draft(")
    for exercise1 in (stub, without_dc):
        assert attention(grade({"exercise1": exercise1})) == []


def test_captured_output_is_shown(graded, batch_out):
    printed = graded["hostile"]["output"]["exercise2"]
    assert HOSTILE_PRINT in printed
    html, _ = page(batch_out, "hostile")
    block = html[html.index('<pre class="student-output">') :]
    assert Tags(block[: block.index("</pre>") + 6]).text[0] == printed


def test_grader_failure_report_tells_the_ta_to_regrade(grader, tmp_path):
    sub = Submission("broken", dict.fromkeys(grader.assignment.files))
    result = grader_failure(grader, sub, "Traceback: <boom> in the grader")
    write_submission_report(result, tmp_path)
    tags = Tags((tmp_path / "report.html").read_text(encoding="utf-8"))
    assert tags.find("div", id="grader-errors")
    assert any("Traceback: <boom> in the grader" in t for t in tags.text)
    assert len(tags.find("tr", class_="item")) == len(grader.assignment.item_ids)


def test_report_is_replaced_whole(graded, tmp_path):
    write_submission_report(graded["complete"], tmp_path)
    write_submission_report(graded["bessel"], tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]  # no temporary left over
    assert "<title>\u2068bessel\u2069:" in (tmp_path / "report.html").read_text(encoding="utf-8")


# A name whose right-to-left override showed the sid beside it reversed and "100 Points )sid:
# 1009(" after it, and a file name in a note that first closes the isolation it is put in.
BIDI_NAME = "Mallory \u202e)9001 :dis( stnioP 001"
BIDI_FILE = "evil\u2069\u202e)txt.001 :erocS"
# Every bidi embedding, override and isolate character, and U+2029 (a paragraph's end).
BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069\u2029\u001c-\u001e\u0085]")


def _bidi_result() -> dict:
    """A result whose student text is made to turn the words around it (notes as an older
    grader, or another tool, wrote them: the file name in them not yet made printable)."""
    return {
        "submission": "mallory \u202e001",
        "score": 1.0,
        "max_score": 2.0,
        "files": {"exercise1": "submitted", "exercise2": f"ambiguous: {BIDI_FILE} differs"},
        "student": {
            "name": BIDI_NAME,
            "email": "\u202em@example.edu",
            "sid": "1234",
            "notes": [f"skipped {BIDI_FILE}: a link, not a regular file"],
        },
        "items": [
            {"id": "exercise1.dlogprobs", "score": 1.0, "max_score": 1.0, "status": "passed"},
            {"id": "exercise2.dlogits", "score": 0.0, "max_score": 1.0, "status": "missing"},
        ],
    }


def test_student_text_is_isolated_from_the_report_s_own_words(tmp_path):
    write_submission_report(_bidi_result(), tmp_path / "m")
    html = (tmp_path / "m" / "report.html").read_text(encoding="utf-8")
    page = Isolated(html.split("</title>", 1)[1])  # the title has no markup: see below
    for text in ("Mallory", "1234", "m@example.edu", "mallory", "evil", "ambiguous"):
        assert page.outside(text) == [], text
        assert any(text in d for d, _ in page.pieces), text
    # No character in the page can end an isolation early or reach past it: the student's are
    # written as escapes; the title's name sits between the page's own FSI and PDI.
    title = re.search(r"<title>(.*?)</title>", html, re.S)[1]
    assert title.startswith("\u2068mallory \\u202e001\u2069:")
    assert BIDI_CONTROLS.findall(html.replace(title, "")) == []
    assert "Mallory \\u202e)9001 :dis( stnioP 001" in html


def test_student_text_is_isolated_from_the_summary_s_own_words(tmp_path):
    write_batch_reports([_bidi_result()], tmp_path, ["m"])
    html = (tmp_path / "summary.html").read_text(encoding="utf-8")
    page = Isolated(html)
    # The name in the list and the table (the list's reasons and the notes quote it too)
    assert len([d for d, inside in page.pieces if d.startswith("Mallory") and inside]) == 2
    for text in ("Mallory", "m@example.edu", "mallory", "evil"):
        assert page.outside(text) == [], text
    assert BIDI_CONTROLS.findall(html) == []


CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")  # all but tab and line breaks


def test_control_characters_a_student_wrote_are_shown_as_escapes(tmp_path):
    """A NUL, an escape or a bell in a name, a message or printed output: a page's parser drops
    the NUL and a browser draws the others as an empty box ("NullByte▯[2J"), and a TA who
    `cat`s the file has their terminal obey them. Each is written as its escape instead, as
    grades.csv writes them; a tab and line breaks stay."""
    result = {
        "submission": "s\x1b]0;x\x07",
        "score": 0.0,
        "max_score": 1.0,
        "student": {"name": "Null\x00Byte\x1b[2J", "email": "e@x.edu", "sid": "1"},
        "output": {"exercise1": "\x00NUL\x1b[31mred\x07\tbell\nnext\x85line\n"},
        "items": [
            {
                "id": "exercise1.dlogprobs",
                "score": 0.0,
                "max_score": 1.0,
                "status": "error",
                "message": "ValueError: \x1b[2J\x08\x7f",
            }
        ],
    }
    write_submission_report(result, tmp_path / "s")
    write_student_report(result, tmp_path / "s")
    write_batch_reports([result], tmp_path, ["s"])
    for page in ("s/report.html", "s/student-report.html", "summary.html"):
        html = (tmp_path / page).read_text(encoding="utf-8")
        assert CONTROLS.findall(html) == [], page
        assert "Null\\x00Byte\\x1b[2J" in html, page
    report = (tmp_path / "s" / "report.html").read_text(encoding="utf-8")
    assert "\\x00NUL\\x1b[31mred\\x07\tbell\nnext\\x85line" in report
    assert "ValueError: \\x1b[2J\\x08\\x7f" in report


def test_result_and_summary_json_hold_nothing_a_terminal_obeys(tmp_path):
    """result.json and summary.json, which a TA may `cat`, wrote C1 controls (U+009B is CSI,
    U+009D OSC, to a terminal reading C1 in UTF-8) and bidi overrides as they came, where JSON
    escapes those below U+0020 alone. Each is now its `\\uXXXX` escape, which reads back the
    same: the data is unchanged, and an accented name stays readable."""
    from grader.batch import write_result

    obeyed = "\x9b2J\x9d52;c;ZXZpbA==\x9c\u202eecilA\u2066\x7f"
    result = {
        "submission": "s",
        "score": 0.0,
        "max_score": 1.0,
        "student": {"name": f"Zoë {obeyed}", "email": "e@x.edu", "sid": "1"},
        "output": {"exercise1": f"printed {obeyed}\n"},
        "items": [],
    }
    write_result(result, tmp_path / "s")
    write_batch_reports([json.loads((tmp_path / "s" / "result.json").read_text())], tmp_path, ["s"])
    for name in ("s/result.json", "summary.json"):
        text = (tmp_path / name).read_text(encoding="utf-8")
        assert not re.findall("[\x7f-\x9f\u2029\u202a-\u202e\u2066-\u2069]", text), name
        assert "Zoë \\u009b2J" in text, name
    read = json.loads((tmp_path / "s" / "result.json").read_text(encoding="utf-8"))
    assert read["output"]["exercise1"] == f"printed {obeyed}\n"
    assert read["student"]["name"] == f"Zoë {obeyed}"


def test_an_unread_notebook_s_name_is_isolated_in_the_report(tmp_path):
    """The banner of an upload whose only notebook could not be read quoted its file name as
    uploaded: a right-to-left override in it turned the banner's words after it around, and an
    escape sequence reached the page (and a TA's `cat` of it) raw."""
    result = {
        "submission": "s",
        "score": 0.0,
        "max_score": 1.0,
        "files": {"exercise1": "missing"},
        "notebook": {"graded": None, "notebooks": ["hw\u202e\x1b[2Jbynpi.ipynb"]},
        "items": [],
    }
    write_submission_report(result, tmp_path / "s")
    html = (tmp_path / "s" / "report.html").read_text(encoding="utf-8")
    title, body = html.split("</title>", 1)
    assert BIDI_CONTROLS.findall(body) == [] and CONTROLS.findall(body) == []
    assert "the notebook <code><bdi>hw\\u202e\\x1b[2Jbynpi.ipynb</bdi></code>, which" in body


# Characters with no ink: a zero-width space, joiner and no-break space (the byte-order mark),
# a right-to-left mark, override and isolate, a Hangul filler (a letter drawn as nothing).
INKLESS = re.compile("[\u200b\u200d\ufeff\u200f\u202e\u2066-\u2069\u3164]")


def _lookalike_class() -> list[dict]:
    """Bob, and three students whose names show as Bob's or as Alice's on a page."""
    result = {"score": 1.0, "max_score": 2.0, "files": {"exercise1": "submitted"}, "items": []}
    people = [
        ("bob", "Bob", "bob@x.edu", "1001"),
        ("bob2", "Bo\u200bb", "bob@x.edu\ufeff", "1002"),
        ("eve", "\u202eecilA", "eve@x.edu", "10\u200d03"),
        ("mal\u200b", "\u2066Bob\u3164\u2069", "mal@x.edu", "1004"),
    ]
    return [
        {**result, "submission": sub, "student": {"name": n, "email": e, "sid": i}}
        for sub, n, e, i in people
    ]


def test_names_with_invisible_characters_show_as_escapes_and_need_a_look(tmp_path):
    """A zero-width space made a second `Bob` row identical to the first in summary.html, and a
    right-to-left override showed `ecilA` as Alice: a TA telling rows apart by name could not.
    The pages write each inkless character of a name, email or SID as its escape, and the
    list says which field holds which, for the TA to check in the LMS."""
    results = _lookalike_class()
    folders = ["bob", "bob2", "eve", "mal"]
    write_batch_reports(results, tmp_path, folders)
    for r, folder in zip(results, folders, strict=True):
        write_submission_report(r, tmp_path / folder)
    for page in ("summary.html", "bob2/report.html", "eve/report.html", "mal/report.html"):
        html = (tmp_path / page).read_text(encoding="utf-8")
        title, body = html.split("</title>", 1)  # the title's own FSI and PDI isolate the name
        assert INKLESS.findall(body) == [], page
    assert "<title>\u2068mal\\u200b\u2069: " in (tmp_path / "mal/report.html").read_text()
    summary = (tmp_path / "summary.html").read_text(encoding="utf-8")
    for shown in ("Bo\\u200bb", "\\u202eecilA", "\\u2066Bob\\u3164\\u2069", "10\\u200d03"):
        assert shown in summary, shown
    assert "bob@x.edu\\ufeff" in (tmp_path / "bob2/report.html").read_text(encoding="utf-8")
    look = [attention(r) for r in results]
    assert look[0] == []
    assert look[1][0].startswith("the name 'Bo\\u200bb' holds invisible characters (U+200B ZERO")
    assert look[1][1].startswith("the email 'bob@x.edu\\ufeff' holds invisible characters")
    assert look[2][1].startswith("the SID '10\\u200d03' holds invisible characters (U+200D ZERO")
    assert "U+2066 LEFT-TO-RIGHT ISOLATE, U+3164 HANGUL FILLER, U+2069" in look[3][0]


def test_grades_csv_keeps_names_with_invisible_characters_as_the_lms_has_them():
    """A gradebook import matches a row on its email or SID as the LMS holds it: grades.csv
    writes them as given (the list of those needing a look names them instead)."""
    rows = list(csv.DictReader(io.StringIO(gradebook_csv(_lookalike_class()))))
    assert [(r["name"], r["email"], r["sid"]) for r in rows[1:3]] == [
        ("Bo\u200bb", "bob@x.edu\ufeff", "1002"),
        ("\u202eecilA", "eve@x.edu", "10\u200d03"),
    ]


def test_a_joiner_that_spells_a_word_is_no_invisible_character():
    """Persian, Arabic and the Indic scripts write a zero-width non-joiner or joiner inside some
    words: a Persian student's name was shown with `\\u200c` in it and put on the TA's list.
    Between two letters of such a script it is spelling; between Latin letters, at either end,
    or doubled it is still written as its escape and listed."""
    persian = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647"  # a non-joiner inside a word
    hindi = "\u0915\u094d\u200d\u0937"  # a joiner after a virama
    for name in (persian, hindi):
        assert inked(name) == name
        assert attention({"items": [], "student": {"name": name}}) == []
    assert inked("Bo\u200db") == "Bo\\u200db"
    assert inked("\u200c\u0645\u06cc") == "\\u200c\u0645\u06cc"
    assert inked("\u0645\u200c\u200c\u06cc") == "\u0645\\u200c\\u200c\u06cc"
    assert inked("\u0416\u200d\u0416") == "\u0416\\u200d\u0416"  # Cyrillic needs none


def test_names_passing_for_a_classmates_by_lookalike_letters_or_spaces_need_a_look():
    """`Bоb` (its `о` Cyrillic), `Αlice` (its `Α` Greek), `Bob\\u00a0Smith` (a no-break space),
    `Bob  Smith` and `Bob Smith ` read as Bob's or Alice's name on every page and in a
    spreadsheet, and none was on the TA's list: each is now, naming what was found. A name
    wholly in one script, or whose scripts are words apart, is not."""

    def look(name: str, email: str = "x@x.edu") -> list[str]:
        return attention({"items": [], "student": {"name": name, "email": email}})

    [cyrillic] = look("B\u043eb")
    assert cyrillic.startswith(
        "the name 'B\u043eb' mixes Latin and Cyrillic letters in one word (\u043e U+043E "
        "CYRILLIC SMALL LETTER O) and may pass for another student's: check in the LMS"
    )
    assert "mixes Latin and Greek letters in one word (\u0391 U+0391 GREEK" in look("\u0391lice")[0]
    [email] = look("Bob", "b\u043eb@x.edu")
    assert email.startswith("the email 'b\u043eb@x.edu' mixes Latin and Cyrillic letters")
    assert (
        "holds spaces other than the plain one (U+00A0 NO-BREAK SPACE) and may"
        in (look("Bob\u00a0Smith")[0])
    )
    assert "'Bob  Smith' holds blanks in a row and may" in look("Bob  Smith")[0]
    assert "'Bob Smith ' holds blanks at an end and may" in look("Bob Smith ")[0]
    both = look("B\u200b\u043eb")[0]
    assert "holds invisible characters (U+200B ZERO WIDTH SPACE), mixes Latin and Cyrillic" in both
    for fine in (
        "Bob Smith",
        "\u0418\u0432\u0430\u043d \u041f\u0435\u0442\u0440\u043e\u0432",  # Cyrillic alone
        "\u0391\u03bb\u03ad\u03be\u03b7\u03c2",  # Greek alone
        "\u5c71\u7530\u305f\u308d\u3046",  # kanji and kana in one word
        "J. \u5c71\u7530",  # a Latin initial, a word apart
        "\u5c71\u7530\u3000\u592a\u90ce",  # an ideographic space parting the names
        "Zo\u00eb Mart\u00edn",
    ):
        assert look(fine) == [], fine


def test_a_plain_folders_upload_named_as_a_classmates_needs_a_look():
    """In a plain folder of uploads the folder's name is who the row is (grades.csv's
    `submission` cell, no name or email beside it): `Bo\\u200bb/` beside `Bob/` showed with its
    escape on the page and was on no list. It is now; an LMS's `Name (id)` is said once, by the
    person's own line."""
    plain = {"submission": "Bo\u200bb", "items": [], "student": {}}
    assert attention(plain) == [
        "the submission's name 'Bo\\u200bb' holds invisible characters (U+200B ZERO WIDTH "
        "SPACE) and may pass for another submission's: check whose upload this is (grades.csv "
        "keeps it as given)"
    ]
    lms = {"submission": "B\u043eb (1004)", "items": [], "student": {"name": "B\u043eb"}}
    [line] = attention(lms)
    assert line.startswith("the name 'B\u043eb' mixes Latin and Cyrillic letters")
    assert attention({"submission": "Bob", "items": [], "student": {}}) == []


def test_the_report_says_why_its_names_put_it_on_the_list(tmp_path):
    """The list's link for `the name 'B\\u043eb' mixes Latin and Cyrillic letters` opened a
    report whose "needs a look" box said nothing of it, and whose header showed the name as
    Bob's: the box now gives the list's line. The student's copy, which gives no reason of the
    TA's list, leaves it out."""
    result = {
        "submission": "submission_1",
        "score": 1.0,
        "max_score": 2.0,
        "files": {"exercise1": "submitted"},
        "items": [],
        "student": {"name": "B\u043eb", "email": "bob@x.edu"},
    }
    write_submission_report(result, tmp_path)
    write_student_report(result, tmp_path)
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    [box] = re.findall(r'<div class="banner note" id="review">(.*?)</div>', html, re.S)
    text = unescape(re.sub(r"<[^>]+>", "", box))
    assert "the name 'B\u043eb' mixes Latin and Cyrillic letters in one word" in text
    assert "mixes Latin" not in (tmp_path / "student-report.html").read_text(encoding="utf-8")


def _longest_run_of_marks(text: str) -> int:
    import unicodedata

    longest = run = 0
    for c in text:
        run = run + 1 if unicodedata.category(c) in ("Mn", "Me") else 0
        longest = max(longest, run)
    return longest


def test_marks_stacked_on_a_letter_stay_within_its_line(tmp_path):
    """A "Zalgo" name, a letter under 42 combining marks: its ink rose through the rows above
    it in summary.html, over the classmates' names, and the rows' own boxes (and the layout
    checks) kept their height. A letter keeps its first four marks (pointed Hebrew and
    Vietnamese need no more); the rest are written as escapes, text on the line."""
    marks = "".join(chr(c) for c in range(0x0300, 0x032A))
    name = f"Z{marks}algo Việt"
    result = {
        "submission": "z",
        "score": 0.0,
        "max_score": 1.0,
        "student": {"name": name, "email": "z@x.edu", "sid": "1"},
        "output": {"exercise1": f"printed Z{marks}\n"},
        "items": [
            {
                "id": "exercise1.dlogprobs",
                "score": 0.0,
                "max_score": 1.0,
                "status": "error",
                "message": f"ValueError: Z{marks}",
            }
        ],
    }
    write_submission_report(result, tmp_path / "z")
    write_batch_reports([result], tmp_path, ["z"])
    for page in ("z/report.html", "summary.html"):
        html = (tmp_path / page).read_text(encoding="utf-8")
        assert _longest_run_of_marks(html) == 4, page
        assert f"Z{marks[:4]}\\u0304\\u0305" in html, page
        assert "Việt" in html, page


# ---- summary.json ----------------------------------------------------------------------------


NOT_TRIED = ("missing", "not_implemented")


def test_summary_item_pass_rates_count_the_results(graded, batch_out):
    summary = json.loads((batch_out / "summary.json").read_text(encoding="utf-8"))
    results = list(graded.values())
    assert summary["submissions"] == len(results)
    ids = [i["id"] for i in results[0]["items"]]
    assert [i["id"] for i in summary["items"]] == ids
    for row in summary["items"]:
        statuses = [next(i for i in r["items"] if i["id"] == row["id"])["status"] for r in results]
        assert row["passed"] == statuses.count("passed")
        assert row["pass_rate"] == pytest.approx(statuses.count("passed") / len(results), abs=1e-4)
        unusable = [row["id"].split(".")[0] in file_failures(r) for r in results]
        tried = [
            s for s, bad in zip(statuses, unusable, strict=True) if s not in NOT_TRIED and not bad
        ]
        assert row["attempted"] == len(tried)
        assert sum(row["statuses"].values()) == len(results)


def test_summary_histogram_and_scores(graded, batch_out):
    summary = json.loads((batch_out / "summary.json").read_text(encoding="utf-8"))
    results = list(graded.values())
    scores = [r["score"] for r in results]
    assert summary["score"]["mean"] == pytest.approx(sum(scores) / len(scores), abs=1e-3)
    assert (summary["score"]["min"], summary["score"]["max"]) == (min(scores), max(scores))
    bins = summary["histogram"]
    assert sum(b["count"] for b in bins) == len(results)
    for r in results:
        pct = 100 * r["score"] / r["max_score"]
        b = next(b for b in bins if b["from"] <= pct < b["to"] or (pct == 100 and b["to"] == 100))
        assert b["count"] >= 1
    full = sum(r["score"] == r["max_score"] for r in results)
    assert bins[-1]["count"] >= full >= 2  # complete and zoë martin


def test_summary_hints_are_counted_per_submission(graded, batch_out):
    summary = json.loads((batch_out / "summary.json").read_text(encoding="utf-8"))
    results = list(graded.values())
    bessel_hint = next(i["hint"] for i in graded["bessel"]["items"] if i["hint"])
    row = next(h for h in summary["hints"] if h["hint"] == bessel_hint)
    having = [r for r in results if any(i["hint"] == bessel_hint for i in r["items"])]
    assert row["submissions"] == len(having) >= 1
    counts = [h["submissions"] for h in summary["hints"]]
    assert counts == sorted(counts, reverse=True)


def test_summary_students_link_to_their_reports(graded, batch_out):
    summary = json.loads((batch_out / "summary.json").read_text(encoding="utf-8"))
    assert [s["submission"] for s in summary["students"]] == list(graded)
    for st in summary["students"]:
        assert (batch_out / unquote(st["report"])).is_file(), st["report"]
    by_name = {s["submission"]: s for s in summary["students"]}
    # What the upload held, where the bare words sent the TA into the report to tell an empty
    # upload from a notebook exported as .py or a zip holding nothing.
    assert by_name["empty"]["attention"] == ["no exercise files found (the upload held: notes.txt)"]
    assert by_name["bessel"]["email"] == "ada@example.edu"
    assert by_name["complete"]["attention"] == []


def test_summarize_refuses_mismatched_folders(graded):
    with pytest.raises(ValueError, match="results but"):
        summarize(list(graded.values()), ["only-one"])


# ---- grades.csv ------------------------------------------------------------------------------


def test_grades_csv_one_row_per_submission(graded, batch_out):
    text = (batch_out / "grades.csv").read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["submission"] for r in rows] == list(graded)
    for row, result in zip(rows, graded.values(), strict=True):
        assert float(row["score"]) == pytest.approx(result["score"])
        assert float(row["max_score"]) == pytest.approx(result["max_score"])
        per_ex = [float(row[ex]) for ex in result["exercises"]]
        assert sum(per_ex) == pytest.approx(result["score"], abs=0.02)
        assert row["email"] == result["student"].get("email", "").replace("-x@", "'-x@")
    ada = rows[list(graded).index("bessel")]
    assert (ada["name"], ada["email"], ada["sid"]) == ("Ada Lovelace", "ada@example.edu", "1815")
    assert rows[list(graded).index("zoë martin")]["submission"] == "zoë martin"


def test_a_result_without_exercise_totals_gets_the_ones_scoring_gives(graded):
    """A result without `exercises` (a grader failure's) has them summed from its items for the
    summary and grades.csv: the very sums result.json holds (scoring.exercise_totals), for each
    submission of the class (partial credit's fractions, a file left out), never a second
    reckoning that could round or group them otherwise."""
    results = [*graded.values(), elevenths(graded["bessel"])]
    bare = [{**r, "exercises": {}} for r in results]
    assert gradebook_csv(bare) == gradebook_csv(results)
    folders = [*graded, "elevenths"]
    summed, held = summarize(bare, folders), summarize(results, folders)
    assert summed["exercises"] == held["exercises"]
    assert [s["exercises"] for s in summed["students"]] == [
        s["exercises"] for s in held["students"]
    ]


def elevenths(result: dict) -> dict:
    """`result` with each item given k/11 of its points (k its place mod 12: cases passed of
    eleven), totalled by the grader's own scoring: sums that float noise would show in."""
    items = [item_from_json(i) for i in result["items"]]
    for k, i in enumerate(items):
        i.score = round(i.max_score * (k % 12) / 11, 4)
    total = round(sum(i.score for i in items), 4)
    exercises = exercise_totals(items)
    assert any(t["score"] % 1 for t in exercises.values())
    items_json = [i.to_json() for i in items]
    return {
        **result,
        "submission": "elevenths",
        "score": total,
        "items": items_json,
        "exercises": exercises,
    }


def test_grades_csv_holds_the_score_result_json_holds():
    """The gradebook imports the number result.json, summary.json and Gradescope's results.json
    give (a share of seven cases: 92.8571), not the pages' two decimals (92.86), and a large
    one whole, never in a `g` format's exponent."""
    exercises = {
        "exercise1": {"score": 50.0, "max_score": 50.0},
        "exercise2": {"score": 12.8571, "max_score": 20.0},
        "exercise3": {"score": 1234567.5, "max_score": 2e6},
    }
    result = {"submission": "s", "score": 92.8571, "max_score": 100.0, "exercises": exercises}
    (row,) = csv.DictReader(io.StringIO(gradebook_csv([{**result, "items": []}])))
    assert (row["score"], row["max_score"]) == ("92.8571", "100")
    assert [row[ex] for ex in exercises] == ["50", "12.8571", "1234567.5"]
    assert float(row["score"]) == result["score"]


def test_grades_csv_defuses_spreadsheet_formulas(graded):
    rows = list(csv.reader(io.StringIO(gradebook_csv(list(graded.values())))))
    blank = rows[1 + list(graded).index("blank")]
    assert blank[0] == "'" + FORMULA_NAME
    for row in rows[1:]:
        assert not any(cell.startswith(("=", "+", "-", "@")) for cell in row[:4])


@pytest.mark.parametrize(
    "name",
    [" =2+2", "\t =1+1", "\u200b=4+4", "\ufeff\u2060+5", "\u00a0@SUM(A1)", "\uff1d3+3", "\ufe63 6"],
)
def test_grades_csv_defuses_formulas_behind_blanks_and_wide_signs(name):
    """A spreadsheet trims leading blanks and zero-width characters and reads a full-width ＝ as
    =: the guard decides on the character it would see, and keeps the text as it was."""
    result = {"submission": "s", "score": 1.0, "max_score": 2.0, "items": []}
    rows = list(csv.reader(io.StringIO(gradebook_csv([{**result, "student": {"name": name}}]))))
    # A tab may split the cell as well: each piece gets its own quote (see the next test).
    assert rows[1][0] == "'" + name.replace("\t ", "\t' ")
    plain = list(csv.reader(io.StringIO(gradebook_csv([{**result, "student": {"name": "A=1"}}]))))
    assert plain[1][0] == "A=1"


@pytest.mark.parametrize("separator", [";", "\t"])
def test_grades_csv_no_cell_starts_a_formula_where_a_spreadsheet_splits_otherwise(separator):
    """Excel splits a CSV at `;` where that is the list separator (German, French...), and
    LibreOffice's import at what is ticked (Semicolon, Tab), quotes or not once a line's first
    quoted cell has closed: a student's name `Ada;=1+1` made a cell of its own starting a
    formula. Each piece that may become a cell gets the guard's quote, the text kept."""
    result = {"submission": "s", "score": 1.0, "max_score": 2.0, "items": []}
    name = f"Ada{separator}=HYPERLINK(CHAR(104)){separator}\u00a0+1{separator}\u200b@x"
    student = {"name": name, "email": f"a{separator}-1@x", "sid": "7"}
    text = gradebook_csv([{**result, "submission": f"s{separator}＝3", "student": student}])
    for row in csv.reader(io.StringIO(text), delimiter=separator):
        assert not any(_FORMULA.match(cell) for cell in row), row
    rows = list(csv.reader(io.StringIO(text)))
    s = separator
    assert rows[1][:4] == [
        f"Ada{s}'=HYPERLINK(CHAR(104)){s}'\u00a0+1{s}'\u200b@x",
        f"a{s}'-1@x",
        "7",
        f"s{s}'＝3",
    ]


@pytest.mark.parametrize("separator", [";", "\t"])
def test_grades_csv_a_quote_after_a_split_opens_no_formula(separator):
    """A piece split off at `;` (or a tab) that starts with a quote opens a quoted cell: in an
    email `a;"=1+1;b` the quote hid the sign from the guard, and the cell read `=1+1`."""
    result = {"submission": "s", "score": 1.0, "max_score": 2.0, "items": []}
    email = f'a{separator}"=1+1{separator}b'
    text = gradebook_csv([{**result, "student": {"name": "Bob", "email": email, "sid": "7"}}])
    for row in csv.reader(io.StringIO(text), delimiter=separator):
        assert not any(_FORMULA.match(cell) for cell in row), row
    assert list(csv.reader(io.StringIO(text)))[1][1] == f"a{separator}'\"=1+1{separator}b"


# A cell a spreadsheet reads as a formula: a sign after blanks and zero-width characters.
_FORMULA = re.compile("[\\s\u200b\u00a0]*[=+\\-@＝]")


def test_ids_a_spreadsheet_would_change_are_said_where_the_ta_opens_the_gradebook(tmp_path):
    """An SID `00123` opened in a spreadsheet became 123, and one of 17 digits was rounded, so
    an import of grades.csv matched no one by it: summary.html and `grader grade`'s last lines
    say which ids and how to import the file instead. Plain ids raise nothing."""
    from grader.report.terminal import terminal_summary

    def result(name: str, sid: str) -> dict:
        student = {"name": name, "sid": sid}
        return {"submission": name, "score": 1.0, "max_score": 2.0, "student": student}

    results = [result("a", "00123"), result("b", "12345678901234567"), result("c", "4567")]
    folders = ["a", "b", "c"]
    write_batch_reports(results, tmp_path, folders)
    said = "2 SIDs in grades.csv (00123, 12345678901234567) change when a spreadsheet opens"
    html = (tmp_path / "summary.html").read_text(encoding="utf-8")
    assert 'id="fragile-ids"' in html and said in " ".join(html.split())
    printed = terminal_summary(results, folders, graded=3, reused=0, out=tmp_path, is_batch=True)
    assert said in printed and "with the sid column set to Text" in printed
    plain = [result("c", "4567"), result("d", "0"), result("e", "A0123")]
    write_batch_reports(plain, tmp_path, ["c", "d", "e"])
    assert "fragile-ids" not in (tmp_path / "summary.html").read_text(encoding="utf-8")
    printed = terminal_summary(plain, list("cde"), graded=3, reused=0, out=tmp_path, is_batch=True)
    assert "sid column" not in printed


def test_ids_the_formula_guard_quotes_are_said_where_the_ta_opens_the_gradebook(tmp_path):
    """An SID `+1004` or `-17` is written `'+1004` in grades.csv, so that a spreadsheet opening
    the file runs no formula, and a gradebook import matching on the sid column then matched no
    one by it, with nothing but the file to say so: summary.html and `grader grade`'s last lines
    name such ids and say to match their rows by hand."""
    from grader.report.terminal import terminal_summary

    def result(name: str, sid: str) -> dict:
        student = {"name": name, "sid": sid}
        return {"submission": name, "score": 1.0, "max_score": 2.0, "student": student}

    results = [result("a", "+1004"), result("b", "-17"), result("c", "4567")]
    write_batch_reports(results, tmp_path, list("abc"))
    rows = list(csv.DictReader(io.StringIO((tmp_path / "grades.csv").read_text("utf-8"))))
    assert [r["sid"] for r in rows] == ["'+1004", "'-17", "4567"]
    said = (
        "2 SIDs in grades.csv (+1004, -17) start as a spreadsheet formula does and are written "
        "with a leading ' (opening the file runs nothing): an import matching rows on the sid "
        "column matches no one by them; match those rows by hand"
    )
    html = (tmp_path / "summary.html").read_text(encoding="utf-8")
    assert 'id="fragile-ids"' in html and said in " ".join(html.split()).replace("&#39;", "'")
    printed = terminal_summary(
        results, list("abc"), graded=3, reused=0, out=tmp_path, is_batch=True
    )
    assert said in printed
    from grader.report.summary import fragile_ids_note

    long = fragile_ids_note(["=" + "x" * 99])
    assert long.startswith(f"1 SID in grades.csv ({'=' + 'x' * 23}… (100 characters)) starts")


def test_a_very_long_sid_is_shown_by_its_first_digits_in_the_note():
    """A metadata file's SID of 1,000 digits (a student's upload may carry one) was printed
    whole in the terminal's note and on the page: a screen of digits for one line."""
    from grader.report.summary import fragile_ids_note

    note = fragile_ids_note(["1" * 1000, "0042"])
    assert note.startswith(f"2 SIDs in grades.csv ({'1' * 24}… (1,000 digits), 0042) change")
    assert len(note) < 400


def test_grades_csv_escapes_control_characters_a_terminal_would_obey():
    """A TA may `cat grades.csv`: a name's escape sequence would recolour or rewrite the
    terminal, its line breaks draw a row of their own. They are written as escapes; a tab,
    harmless, and everything printable stay as they were."""
    result = {"submission": "s", "score": 1.0, "max_score": 2.0, "items": []}
    name = "\x1b[31mred\x1b[0m\r\nada,100\x07\x00 \u00e9\u00a0\t\u202e"
    text = gradebook_csv([{**result, "student": {"name": name}}])
    assert not any(c in text for c in "\x1b\r\x07\x00")
    assert text.count("\n") == 2  # the header and the row
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[1][0] == "\\x1b[31mred\\x1b[0m\\r\\nada,100\\x07\\x00 \u00e9\u00a0\t\u202e"


# ---- summary.html ----------------------------------------------------------------------------


def test_summary_page_rows_and_links(graded, batch_out):
    tags = Tags((batch_out / "summary.html").read_text(encoding="utf-8"))
    links = [a["href"] for a in tags.find("a", class_="report")]
    assert len(links) == len(graded)
    assert all((batch_out / unquote(h)).is_file() for h in links)
    assert len([a for t, a in tags.tags if t == "tr" and "data-item" in a]) == len(
        graded["complete"]["items"]
    )
    assert len(tags.find("script")) == 1 and not tags.find("img")
    assert HOSTILE_NAME in "".join(tags.text)


def test_summary_page_draws_the_histogram_of_the_results(graded, batch_out):
    summary = json.loads((batch_out / "summary.json").read_text(encoding="utf-8"))
    html = (batch_out / "summary.html").read_text(encoding="utf-8")
    svg = html[
        html.index('class="histogram"') : html.index("</svg>", html.index('class="histogram"'))
    ]
    titles = re.findall(r"<title>([^<]*): (\d+) submissions?</title>", svg)
    assert [int(n) for _, n in titles] == [b["count"] for b in summary["histogram"]]


def test_the_summary_names_reports_an_earlier_run_left_beside_it(tmp_path):
    """A student since left out of the class (or another class graded into the same folder)
    keeps last week's report beside this week's page: the terminal said so, the page did not,
    and a TA who opened the page, not the log, read that report's score as this run's."""

    def result(name: str) -> dict:
        return {"submission": name, "score": 1.0, "max_score": 2.0, "student": {"name": name}}

    for gone in ["gone", *(f"old{k:02}" for k in range(11))]:
        (tmp_path / gone).mkdir()
        (tmp_path / gone / "report.html").write_text("last week's")
    (tmp_path / "notes").mkdir()  # a folder of the TA's own, no report: not named
    write_batch_reports([result("a"), result("b")], tmp_path, ["a", "b"])
    page = (tmp_path / "summary.html").read_text(encoding="utf-8")
    [note] = re.findall(r'<p class="warn" id="earlier-reports">(.*?)</p>', page, re.S)
    text = " ".join(unescape(re.sub(r"<[^>]+>", "", note)).split())
    assert text.startswith("This folder also holds the reports of 12 submissions this run did not")
    assert (
        "(gone, old00, old01, old02, old03, old04, old05, old06, old07, old08 and 2 more)" in text
    )
    assert "notes" not in text and "Remove them, or grade into an empty folder." in text
    for gone in ["gone", *(f"old{k:02}" for k in range(11))]:
        (tmp_path / gone / "report.html").unlink()
    write_batch_reports([result("a"), result("b")], tmp_path, ["a", "b"])
    assert not Tags((tmp_path / "summary.html").read_text(encoding="utf-8")).find(
        "p", id="earlier-reports"
    )


def test_the_summary_names_an_earlier_runs_reports_as_it_names_its_rows(tmp_path):
    """An earlier run's folder `Bo\\u200bb` (written before folder names showed their inkless
    characters) was named in the page's note on earlier reports as `Bob`, the name of a row of
    this run, while the rows themselves showed such a name with its escape."""
    (tmp_path / "Bo\u200bb").mkdir()
    (tmp_path / "Bo\u200bb" / "report.html").write_text("last week's")
    result = {"submission": "Bob", "score": 1.0, "max_score": 2.0, "student": {"name": "Bob"}}
    write_batch_reports([result], tmp_path, ["Bob"])
    page = (tmp_path / "summary.html").read_text(encoding="utf-8")
    [note] = re.findall(r'<p class="warn" id="earlier-reports">(.*?)</p>', page, re.S)
    assert "did not read (<bdi>Bo" + ESCAPED_ZWSP + "b</bdi>)" in note
    assert INKLESS.findall(note) == []


# How the pages write a zero-width space of a name: its escape, marked as the grader's.
ESCAPED_ZWSP = '<span class="escape" title="U+200B ZERO WIDTH SPACE">\\u200b</span>'


def test_a_name_typed_with_an_escape_s_characters_reads_apart_from_one_holding_the_character(
    tmp_path,
):
    """`Bo\\u200bb` holding a zero-width space was written `Bo\\u200bb` on the pages, and so was
    a name typed with those six characters, `\\`, `u`, `2`, `0`, `0`, `b`: two rows of the
    summary, and two students' reports, read as one name. The grader's escape is now marked as
    its own (a span, its character named on hover); the student's characters stay plain text;
    a name with neither is written as before."""
    names = ["Bo\u200bb", "Bo\\u200bb", "Bob"]
    results = [
        {"submission": f"s{k}", "score": 1.0, "max_score": 2.0, "student": {"name": n}}
        for k, n in enumerate(names)
    ]
    write_batch_reports(results, tmp_path, ["s0", "s1", "s2"])
    page = (tmp_path / "summary.html").read_text(encoding="utf-8")
    cells = re.findall(r'<a class="name-link" href="[^"]*">(.*?)</a>', page)
    assert cells == [
        "<bdi>Bo" + ESCAPED_ZWSP + "b</bdi>",
        "<bdi>Bo\\u200bb</bdi>",
        "<bdi>Bob</bdi>",
    ]
    for k, r in enumerate(results):
        write_submission_report(r, tmp_path / f"s{k}")
    real = (tmp_path / "s0" / "report.html").read_text(encoding="utf-8")
    typed = (tmp_path / "s1" / "report.html").read_text(encoding="utf-8")
    assert ESCAPED_ZWSP in real and 'class="escape"' not in typed
    assert '<span class="name"><bdi>Bo\\u200bb</bdi></span>' in typed


def test_empty_batch_still_writes_every_file(tmp_path):
    summary = write_batch_reports([], tmp_path, [])
    assert summary["submissions"] == 0
    assert {p.name for p in tmp_path.iterdir()} == {"summary.json", "summary.html", "grades.csv"}
    assert (tmp_path / "grades.csv").read_text().startswith("name,email,sid,submission,score")
    # The page says there was nothing, where it drew empty axes, "– mean / 0" and empty tables.
    tags = Tags((tmp_path / "summary.html").read_text(encoding="utf-8"))
    assert tags.find("div", id="no-submissions")
    assert not tags.find("svg") and not tags.find("table")


# ---- the pictures' geometry and the number formats -----------------------------------------


def test_heat_ramp_runs_from_white_to_the_darkest_stop():
    assert heat_colour(0.0) == "#ffffff"
    assert heat_colour(1.0) == "#" + "".join(f"{c:02x}" for c in HEAT_STOPS[-1][1])
    lightness = [sum(int(heat_colour(k / 20)[i : i + 2], 16) for i in (1, 3, 5)) for k in range(21)]
    assert lightness == sorted(lightness, reverse=True)
    assert heat_colour(float("nan")) == heat_colour(1.0)


def test_heatmap_labels_pooling_and_survives_odd_values():
    grid = [[0.0, 1.0], [float("inf"), 0.5]]
    h = heatmap(grid, [100, 64])
    assert (h.rows, h.cols, h.block) == (100, 64, (4, 2))
    assert len(h.cells) == 4 and h.vmax == 1.0
    assert h.cells[2].fill == heat_colour(1.0)  # infinity is drawn as the worst
    assert heatmap([], [3]) is None
    assert heatmap([[0.0, 0.0]], [2]).cells[0].fill == "#ffffff"  # all zero: nothing highlighted


def test_heat_ramp_interpolates_each_channel_between_its_stops():
    for k in range(1001):
        t = k / 1000
        (t0, c0), (t1, c1) = next(
            (a, b) for a, b in zip(HEAT_STOPS, HEAT_STOPS[1:], strict=False) if t <= b[0]
        )
        rgb = [round(a + (b - a) * (t - t0) / (t1 - t0)) for a, b in zip(c0, c1, strict=True)]
        assert heat_colour(t) == "#" + "".join(f"{c:02x}" for c in rgb)


@pytest.mark.parametrize(
    "grid",
    [
        [[0.0, 1.0], [float("inf"), 0.5]],
        [[float("nan"), -3.0, 1e308], [None, "<script>", True]],
        [[1.0] * 40] * 3,
        [[k * 0.01 for k in range(32)] for _ in range(32)],
    ],
)
def test_a_heatmap_draws_only_numbers_and_colours(grid):
    """The template draws heatmap cells unescaped (for speed): this is what makes that safe."""
    h = heatmap(grid, [len(grid), len(grid[0])])
    assert all(type(v) is int for v in (h.width, h.height, h.cell))
    for c in h.cells:
        assert type(c.x) is int and type(c.y) is int
        assert re.fullmatch("#[0-9a-f]{6}", c.fill), c.fill


def test_chart_geometry():
    hist = histogram([0, 2, 4], ["a", "b", "c"])
    assert [b.height for b in hist.bars][0] == 0
    assert hist.bars[2].height == pytest.approx(2 * hist.bars[1].height)
    rates = rate_bars([("x", 0.0, ""), ("y", 1.0, ""), ("z", 1.7, ""), ("w", None, "")])
    assert rates.bars[0].width == 0 and rates.bars[1].width == rates.bars[2].width > 0
    assert (rates.bars[3].width, rates.bars[3].value) == (0, "no one tried")


def _class_of(statuses: dict[str, list[str]]) -> list[dict]:
    """Results of a class whose item `id` took `statuses[id][k]` in submission k."""
    n = len(next(iter(statuses.values())))
    return [
        {
            "submission": f"s{k}",
            "score": 0.0,
            "max_score": float(len(statuses)),
            "items": [
                {"id": i, "score": float(s[k] == "passed"), "max_score": 1.0, "status": s[k]}
                for i, s in statuses.items()
            ],
        }
        for k in range(n)
    ]


def _hardest_chart(html: str) -> list[tuple[str, str]]:
    """The "hardest items" chart's rows, top to bottom: (item, the words beside its bar)."""
    svg = html[html.index('class="rates"', html.index('id="items"')) :]
    svg = svg[: svg.index("</svg>")]
    return re.findall(r'text-anchor="end">([^<]*)</text>\n<rect [^>]*/>\n<text [^>]*>([^<]*)<', svg)


def test_hardest_items_count_only_the_submissions_that_tried_them(tmp_path):
    """A missing file or an untouched stub says nothing of how hard an item is: counted as a
    failure, the items of an exercise two of three students skipped (each passed by the one who
    tried) ranked above an item every student tried and two got wrong. Items nobody tried come
    last, with no bar."""
    results = _class_of(
        {
            "exercise1.dbnvar": ["failed", "failed", "passed"],
            "exercise1.dh": ["passed", "passed", "passed"],
            "exercise3.dC": ["passed", "missing", "missing"],
            "exercise3.dW1": ["passed", "not_implemented", "missing"],
            "exercise3.db1": ["missing", "missing", "not_implemented"],
        }
    )
    write_batch_reports(results, tmp_path, [r["submission"] for r in results])
    html = (tmp_path / "summary.html").read_text(encoding="utf-8")
    assert _hardest_chart(html) == [
        ("exercise1.dbnvar", "33% of 3"),
        ("exercise1.dh", "100% of 3"),
        ("exercise3.dC", "100% of 1"),
        ("exercise3.dW1", "100% of 1"),
        ("exercise3.db1", "no one tried"),
    ]
    assert "exercise3.dC: 1 of the 1 who tried it passed; 2 did not try it" in html
    rows = {i["id"]: i for i in json.loads((tmp_path / "summary.json").read_text())["items"]}
    assert rows["exercise3.dC"]["pass_rate"] == pytest.approx(1 / 3, abs=1e-4)  # the table's


def test_hardest_items_leave_out_a_file_that_could_not_be_used(tmp_path):
    """A syntax error fails every item of its exercise alike and says nothing of how hard any
    of them is: counted as tries, two students' syntax errors ranked every item of exercise 1
    above an item the one student who could be judged got wrong elsewhere. The statuses still
    count them, and an item that failed on its own in an otherwise usable file is a try."""
    results = _class_of(
        {
            "exercise1.dh": ["error", "error", "passed"],
            "exercise1.dbnvar": ["error", "error", "failed"],
            "exercise2.dlogits": ["passed", "failed", "failed"],
        }
    )
    broken = "SyntaxError: expected ':' (exercise1.py, line 3)"
    for r in results[:2]:
        for one in r["items"]:
            fails = one["status"] == "error"
            one["cases"] = [{"status": one["status"], "message": broken if fails else ""}] * 2
    results[2]["items"][1]["cases"] = [{"status": "failed", "message": "wrong values"}] * 2
    write_batch_reports(results, tmp_path, [r["submission"] for r in results])
    html = (tmp_path / "summary.html").read_text(encoding="utf-8")
    assert _hardest_chart(html) == [
        ("exercise1.dbnvar", "0% of 1"),
        ("exercise2.dlogits", "33% of 3"),
        ("exercise1.dh", "100% of 1"),
    ]
    assert "2 did not try it (file missing or unusable, or function not written)" in html
    rows = {i["id"]: i for i in json.loads((tmp_path / "summary.json").read_text())["items"]}
    assert rows["exercise1.dh"]["statuses"] == {"error": 2, "passed": 1}
    assert rows["exercise1.dh"]["attempted"] == 1 and rows["exercise2.dlogits"]["attempted"] == 3


def test_a_share_short_of_all_or_none_never_reads_as_all_or_none(tmp_path):
    """An item 249 of 250 passed read "100% of 250" beside a full bar in the hardest-items
    chart, and "100%" in the table, as an item the whole class passed; one of 250 read "0%",
    as nobody. Such shares read ">99%" and "<1%"; a whole class's pass reads 100%."""
    results = _class_of(
        {
            "exercise1.dh": ["passed"] * 249 + ["failed"],
            "exercise1.dbnvar": ["failed"] * 249 + ["passed"],
            "exercise1.dW1": ["passed"] * 250,
        }
    )
    write_batch_reports(results, tmp_path, [r["submission"] for r in results])
    html = (tmp_path / "summary.html").read_text(encoding="utf-8")
    assert _hardest_chart(html) == [
        ("exercise1.dbnvar", "&lt;1% of 250"),
        ("exercise1.dh", "&gt;99% of 250"),
        ("exercise1.dW1", "100% of 250"),
    ]
    table = {
        i: re.findall(r'data-sort="[^"]*">([^<]*)<', row)[1:3]
        for i, row in re.findall(r'<tr data-item="([^"]*)">(.*?)</tr>', html, re.S)
    }
    assert table == {
        "exercise1.dh": ["&gt;99%", "&gt;99%"],
        "exercise1.dbnvar": ["&lt;1%", "&lt;1%"],
        "exercise1.dW1": ["100%", "100%"],
    }


def test_number_formats():
    assert [points(x) for x in (48.0, 17.5, 0.125, float("nan"), None)] == [
        "48",
        "17.5",
        "0.13",  # half up (scoring.shown_points), as a reader rounds; round()'s 0.12 was not
        "–",
        "–",
    ]
    assert [sci(x) for x in (0.0, 0.03125, 4.19e-06, None)] == ["0", "0.031", "4.2e-06", "–"]


def test_templates_are_found_and_strict():
    env = environment()
    assert Path(env.loader.searchpath[0]) == ROOT / "templates"
    with pytest.raises(Exception, match="undefined"):
        env.from_string("{{ nothing_here.x }}").render()


def test_minimal_spec_result_renders(tmp_path):
    """A result.json with only the SPEC's required fields still gives every page and file."""
    result = {
        "submission": "minimal",
        "score": 2.0,
        "max_score": 3.0,
        "items": [
            {"id": "exercise1.dlogprobs", "score": 2.0, "max_score": 2.0, "status": "passed"},
            {
                "id": "exercise1.dprobs",
                "score": 0.0,
                "max_score": 1.0,
                "status": "failed",
                "message": "wrong",
                "cases": [{"case": "public", "status": "failed", "diff_map": [[0.5, 1.0]]}],
            },
        ],
    }
    write_submission_report(result, tmp_path / "minimal")
    tags = Tags((tmp_path / "minimal" / "report.html").read_text(encoding="utf-8"))
    assert [a["data-status"] for a in tags.find("tr", class_="item")] == ["passed", "failed"]
    assert len(tags.find("figure", class_="heatmap")) == 1
    summary = write_batch_reports([result], tmp_path, ["minimal"])
    assert summary["exercises"]["exercise1"] == {"max_score": 3.0, "mean": 2.0, "full_marks": 0}
    rows = list(csv.DictReader(io.StringIO((tmp_path / "grades.csv").read_text())))
    assert (rows[0]["submission"], rows[0]["score"], rows[0]["exercise1"]) == ("minimal", "2", "2")


# ---- what a TA reads at a glance -------------------------------------------------------------


def test_an_import_failure_is_shown_once_per_file_in_monospace(graded, batch_out):
    result = graded["crash"]
    ex1 = [i for i in result["items"] if i["id"].startswith("exercise1.")]
    assert len(ex1) > 20 and all(i["status"] == "error" for i in ex1)
    html, tags = page(batch_out, "crash")
    assert html.count("ZeroDivisionError: division by zero") == 1  # not once per item
    (banner,) = tags.find("div", id="file-failure-exercise1")
    block = html[html.index('id="file-failure-exercise1"') :]
    pre = block[block.index("<pre") : block.index("</pre>")]
    assert 'class="traceback"' in pre and "return 1 / 0" in Tags(pre + "</pre>").text[0]
    # The other exercise, which did not fail as a whole, gets no banner.
    assert not tags.find("div", id="file-failure-exercise2")
    summary = json.loads((batch_out / "summary.json").read_text(encoding="utf-8"))
    crash = next(s for s in summary["students"] if s["submission"] == "crash")
    assert any("exercise1.py could not be used" in why for why in crash["attention"])


def test_a_multi_line_message_is_set_as_a_traceback(tmp_path):
    result = {
        "submission": "tb",
        "score": 0.0,
        "max_score": 1.0,
        "items": [
            {
                "id": "exercise1.dlogprobs",
                "status": "error",
                "score": 0.0,
                "max_score": 1.0,
                "message": "Traceback (most recent call last):\n    x = 1/0\n        ~^~\nBoom",
            }
        ],
    }
    write_submission_report(result, tmp_path)
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert '<pre class="msg traceback">Traceback' in html


def _errored_item(measured_err: float) -> dict:
    cases = [
        {"case": f"c{k}", "public": k == 0, "status": "passed", "max_rel_err": measured_err}
        for k in range(2)
    ] + [{"case": f"e{k}", "status": "error", "message": "boom"} for k in range(4)]
    return {
        "id": "exercise1.dprobs",
        "status": "error",
        "score": 0.0,
        "max_score": 1.0,
        "cases": cases,
    }


def test_worst_error_covers_only_cases_that_produced_a_number(tmp_path):
    result = {"submission": "w", "score": 0, "max_score": 1, "items": [_errored_item(0.0)]}
    write_submission_report(result, tmp_path)
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    cell = html[html.index('<td class="num worst"') :]
    cell = " ".join(Tags(cell[: cell.index("</td>")]).text)
    assert cell == "0 errored on 4 of 6 cases"
    assert 'title="over the 2 cases that produced a number"' in html


def test_sandbox_details_are_folded_away_in_plain_words(graded, batch_out):
    isolation = graded["complete"]["isolation"]
    assert isinstance(isolation.get("limits"), dict), "the sandbox reports its limits as a dict"
    html, tags = page(batch_out, "complete")
    footer = html[html.index("<footer>") :]
    assert '<details id="sandbox">' in footer
    text = "".join(Tags(footer).text)
    assert "{'" not in text and "':" not in text  # no Python dict on the page
    assert "time per call" in text and f"{isolation['limits']['call_seconds']:g} s" in text


def test_summary_names_link_to_their_reports(graded, batch_out):
    tags = Tags((batch_out / "summary.html").read_text(encoding="utf-8"))
    named = [r for r in graded.values() if r["student"].get("name")]
    links = tags.find("a", class_="name-link")
    assert len(links) == len(named) >= 3
    assert all((batch_out / unquote(a["href"])).is_file() for a in links)


# ---- the student's copy ----------------------------------------------------------------------


def test_student_copy_names_no_hidden_case(graded, batch_out):
    from grader.backprop_ninja.hidden import HIDDEN

    for name, result in graded.items():
        html = (batch_out / slug(name) / "student-report.html").read_text(encoding="utf-8")
        text = " ".join("".join(Tags(html).text).split())
        hidden = [c for i in result["items"] for c in i["cases"] if not c["public"]]
        public_shapes = {
            "×".join(map(str, c[k]))
            for i in result["items"]
            for c in i["cases"]
            if c["public"]
            for k in ("shape", "expected_shape")
            if c.get(k)
        }
        for c in hidden:
            assert c["case"] not in html, (name, c["case"])
            for k in ("shape", "expected_shape"):
                shape = c.get(k) or []
                shown = "×".join(map(str, shape)) if len(shape) > 1 else ""  # "11" is anywhere
                assert not shown or shown in public_shapes or shown not in text, (name, shown)
        for cfg in HIDDEN:
            sizes = f"n{cfg.n}-v{cfg.vocab_size}-b{cfg.block_size}-e{cfg.n_embd}-h{cfg.n_hidden}"
            label = seeding.label(cfg.seed)
            assert f"{sizes}-s{label}-" not in html and label not in html, (name, cfg)
            assert str(cfg.seed) not in html and f"{cfg.seed:x}" not in html.lower()
        assert "a hidden case" not in text
        for printed in (result.get("output") or {}).values():
            assert printed.strip() not in text  # prints ran on hidden inputs too
    # The TA's copy does name them, so the test above is not vacuous.
    ta = (batch_out / "bessel" / "report.html").read_text(encoding="utf-8")
    assert any(f"-s{seeding.label(cfg.seed)}-" in ta for cfg in HIDDEN)
    assert not any(str(cfg.seed) in ta or f"{cfg.seed:x}" in ta.lower() for cfg in HIDDEN)


def test_student_copy_quotes_no_failure_of_a_hidden_case(grade, tmp_path):
    """Student code chooses what a failure says: an error raised on a hidden case can spell out
    its inputs, and a wrong shape names its sizes. The TA's copy quotes them; the student's
    copy quotes only public cases, and counts the rest."""
    from grader.backprop_ninja.cases import PUBLIC

    public_n = sorted({c.n for c in PUBLIC})
    source = mutated(
        "exercise1",
        "    dlogprobs[range(n), Yb] = -1.0 / n\n",
        "    dlogprobs[range(n), Yb] = -1.0 / n\n"
        f"    if n not in {public_n}:\n"
        "        raise ValueError(f'LEAK n={n} Yb={Yb.tolist()}')\n",
    )
    at_hidden_sizes = f"    if probs.shape[0] not in {public_n}:\n"
    source = source.replace(  # a wrong shape at hidden sizes
        "    dprobs = (1.0 / probs) * dlogprobs\n",
        "    dprobs = (1.0 / probs) * dlogprobs\n"
        + at_hidden_sizes
        + "        dprobs = dprobs[:, :1]\n",
    ).replace(  # a shape accepted with a warning that names it
        "    dcounts_sum_inv = (counts * dprobs).sum(1, keepdim=True)\n",
        "    dcounts_sum_inv = (counts * dprobs).sum(1, keepdim=True)\n"
        + at_hidden_sizes.replace("probs", "counts")
        + "        dcounts_sum_inv = dcounts_sum_inv[:, :, None]\n",
    )
    result = grade({"exercise1": source})
    # The TA's copy quotes the hidden cases' words.
    assert "LEAK n=" in item(result, "exercise1.dlogprobs")["message"]
    shape_message = item(result, "exercise1.dprobs")["message"]
    assert "a hidden case" in shape_message
    warnings = item(result, "exercise1.dcounts_sum_inv")["warnings"]
    assert warnings and all("only by size-1 dimensions" in w for w in warnings)
    assert item(result, "exercise1.dcounts_sum_inv")["status"] == "passed"
    # Nor how long it all took: student code can stretch its hidden calls to spell out a size.
    assert result["duration_s"] is not None and result["timing"]
    assert "duration_s" not in student_safe(result) and "timing" not in student_safe(result)
    write_student_report(result, tmp_path)
    html = (tmp_path / "student-report.html").read_text(encoding="utf-8")
    text = " ".join("".join(Tags(html).text).split())
    assert "LEAK" not in text
    assert not re.search(r"Graded .* in [\d.e+-]+ s", text)
    assert shape_message.split("a hidden case: ", 1)[1] not in text
    assert not any(w in text for w in warnings)
    assert "only hidden cases failed" in text
    for item_id in ("exercise1.dlogprobs", "exercise1.dprobs"):
        row = html[html.index(f'id="item-{item_id}"') :]
        row = " ".join("".join(Tags(row[: row.index("</tr>")]).text).split())
        hidden = [c for c in item(result, item_id)["cases"] if not c["public"]]
        passed = sum(c["passed"] for c in hidden)
        assert passed < len(hidden) and f"{passed} of {len(hidden)} hidden cases passed." in row


def test_student_copy_counts_the_hidden_cases_that_passed(graded, batch_out):
    _, tags = page(batch_out, "bessel")
    html = (batch_out / "bessel" / "student-report.html").read_text(encoding="utf-8")
    item = next(i for i in graded["bessel"]["items"] if i["id"] == "exercise1.dbndiff2")
    hidden = [c for c in item["cases"] if not c["public"]]
    row = html[html.index('id="item-exercise1.dbndiff2"') :]
    row = " ".join("".join(Tags(row[: row.index("</tr>")]).text).split())
    passed = sum(c["passed"] for c in hidden)
    assert f"{passed} of {len(hidden)} hidden cases passed." in row


# ---- the gradebook, one row per student --------------------------------------------------------


def test_group_members_each_get_a_row_with_the_group_score(graded):
    group = dict(
        graded["bessel"],
        submission="submission_7",
        student={
            "name": "Bob Partner; Carol Partner",
            "email": "bob@example.edu; carol@example.edu",
            "sid": "1001; 1002",
        },
    )
    rows = list(csv.DictReader(io.StringIO(gradebook_csv([graded["complete"], group]))))
    assert [(r["name"], r["email"], r["sid"]) for r in rows[1:]] == [
        ("Bob Partner", "bob@example.edu", "1001"),
        ("Carol Partner", "carol@example.edu", "1002"),
    ]
    assert {r["score"] for r in rows[1:]} == {points(group["score"])}
    assert all(r["submission"] == "submission_7" for r in rows[1:])


def test_a_member_without_an_id_leaves_the_ids_empty_rather_than_misplaced(graded):
    group = dict(
        graded["bessel"],
        student={"name": "Bob Partner; Carol Partner", "email": "b@x.edu; c@x.edu", "sid": "1002"},
    )
    rows = list(csv.DictReader(io.StringIO(gradebook_csv([group]))))
    assert [(r["name"], r["email"], r["sid"]) for r in rows] == [
        ("Bob Partner", "b@x.edu", ""),
        ("Carol Partner", "c@x.edu", ""),
    ]


def test_a_groups_members_are_told_apart_on_the_report_and_the_summary(graded):
    """The joined fields read "Bob Partner; Smith; Carol · b@x.edu; c@x.edu · 1002": three
    people or two, and whose SID? (Carol's: Bob has none.) Each member is listed on their own;
    grades.csv already gave each their own row."""
    from grader.report.html import render_report
    from grader.report.summary import render_summary

    people = [
        {"name": "Bob Partner", "email": "b@x.edu"},
        {"name": "Smith; Carol", "email": "c@x.edu", "sid": "1002"},
    ]
    joined = {"name": "Bob Partner; Smith; Carol", "email": "b@x.edu; c@x.edu", "sid": "1002"}
    group = dict(graded["bessel"], submission="submission_7", student={**joined, "members": people})
    page = render_report(group)
    who = page[page.index('class="who members"') : page.index("</ul>")]
    lines = ["".join(Tags(li).text) for li in who.split("<li>")[1:]]
    assert lines == ["Bob Partner · b@x.edu", "Smith; Carol · c@x.edu · 1002"]
    summary = summarize([group, graded["complete"]], ["submission_7", "complete"])
    row = summary["students"][0]
    assert row["members"] == people and summary["students"][1]["members"] == []
    html = render_summary(summary)
    assert "Bob Partner</a><br>" in html.replace("</bdi>", "").replace("<bdi>", "")


def test_a_ctrl_c_while_the_summary_is_drawn_leaves_every_class_file_the_last_run_s(
    tmp_path, monkeypatch
):
    """summary.json and grades.csv were written before summary.html was drawn: a Ctrl-C in
    between left the gradebook this run's beside the last run's page, where the command says
    the class's files are all the last finished run's."""
    from grader.report import summary as summary_module

    result = {"submission": "x", "score": 1, "max_score": 2, "items": [], "files": {}}
    write_batch_reports([result], tmp_path, ["x"])
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    assert set(before) == {"summary.json", "summary.html", "grades.csv"}

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(summary_module, "render_summary", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_batch_reports([{**result, "score": 2}], tmp_path, ["x"])
    assert {name: (tmp_path / name).read_bytes() for name in before} == before


# ---- the documented contract ---------------------------------------------------------------


def test_a_member_the_export_names_nothing_of_reads_as_a_dash(tmp_path):
    """A group member with no name, email or SID was shown as "None" in the summary's list and
    table, a word the grader never wrote; the email column already says "–" for none."""
    result = {
        "submission": "g",
        "score": 0.0,
        "max_score": 1.0,
        "files": {"exercise1": "missing"},
        "student": {
            "name": "Ann",
            "members": [
                {"name": "Ann", "email": "ann@example.edu", "sid": "1"},
                {"name": "", "email": "", "sid": ""},
            ],
        },
        "items": [
            {"id": "exercise1.dlogprobs", "score": 0.0, "max_score": 1.0, "status": "missing"}
        ],
    }
    write_batch_reports([result], tmp_path, ["g"])
    page = Tags((tmp_path / "summary.html").read_text(encoding="utf-8"))
    assert "None" not in "".join(page.text)
    names = [a for t, a in page.tags if t == "a" and "name-link" in a.get("class", "")]
    assert len(names) == 2


def test_docs_never_send_readers_outside_the_repository():
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    for doc in pages:
        text = doc.read_text(encoding="utf-8")
        assert "../shared" not in text, doc.name
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
            if "://" not in target:
                assert (doc.parent / target).exists(), (doc.name, target)


def test_every_result_is_checked_against_the_documented_schema(graded):
    """The session fixture in conftest.py checks each result as it is made; this shows it bites."""
    import jsonschema
    from conftest import RESULT_SCHEMA, SchemaViolation

    from grader.records import ItemResult, SubmissionResult

    schema = json.loads(RESULT_SCHEMA.read_text(encoding="utf-8"))
    for result in graded.values():
        jsonschema.validate(result, schema)
    broken = SubmissionResult("x", 0.0, 1.0, [ItemResult("exercise1.dprobs", "exercise1", "ok")])
    with pytest.raises(SchemaViolation, match="status"):
        broken.to_json()


def _failing(message: str | None, status: str = "error", cases: int = 2) -> dict:
    return {
        "id": "exercise1.dx",
        "status": status,
        "cases": [{"case": f"c{k}", "status": status, "message": message} for k in range(cases)],
        "diff_map": None,
    }


LONG = "importing exercise1.py failed: it opens the file 'exercise1.py'\n" + "  File ...\n" * 80
FILE_FAILURE_GROUPS = {
    "one import error": [_failing("ImportError: x"), _failing("ImportError: x")],
    "timeouts": [_failing("took too long", "timeout"), _failing("took too long", "timeout")],
    "two messages": [_failing("ImportError: x"), _failing("NameError: y")],
    "no message, and an empty one": [_failing(None), _failing("")],
    "no message at all": [_failing(None), _failing(None)],
    "an item without cases": [_failing("ImportError: x"), _failing("ImportError: x", cases=0)],
    "an item that passed": [_failing("ImportError: x"), _failing("", "passed")],
    "a single item": [_failing("ImportError: x")],
    "no status": [{"id": "exercise1.a", "cases": [{"message": "m"}]}, _failing("m")],
    "cut past the budget": [_failing(LONG), _failing(cut_message(LONG, 300))],
    "cut from two messages": [_failing(LONG), _failing(cut_message("NameError: y" * 40, 300))],
}


def test_a_file_failure_cut_past_the_message_budget_is_still_one_failure() -> None:
    """A long import traceback in every case: past the submission's budget the later cases keep
    only its start (pipeline.bound_messages), and the class summary once left the file off the
    TA's list for that alone."""
    assert file_failure(FILE_FAILURE_GROUPS["cut past the budget"]) == LONG.strip()
    assert file_failure(FILE_FAILURE_GROUPS["cut from two messages"]) == ""
    only_cut = [_failing(cut_message(LONG, 300)), _failing(cut_message(LONG, 300))]
    assert file_failure(only_cut) == cut_message(LONG, 300)


@pytest.mark.parametrize("group", FILE_FAILURE_GROUPS.values(), ids=list(FILE_FAILURE_GROUPS))
def test_a_file_failure_reads_the_same_from_result_json_as_from_the_page(group) -> None:
    """The summary's digest reads the failure of a file that could not be used at all straight
    from result.json (building each item's view would draw its heatmap again); it must say
    what the report's page says, from the same items."""
    assert file_failure(group) == file_failure([item_view(i) for i in group])


def test_result_json_documents_every_top_level_field_and_no_other():
    """docs/result-json.md and the schema listed a `leaderboard` no result carries, and neither
    listed `assignment` or `notebook`, which every result carries."""
    import dataclasses

    from conftest import RESULT_SCHEMA

    from grader.records import SubmissionResult

    written = {f.name for f in dataclasses.fields(SubmissionResult)}
    schema = set(json.loads(RESULT_SCHEMA.read_text(encoding="utf-8"))["properties"])
    doc = (RESULT_SCHEMA.parent / "result-json.md").read_text(encoding="utf-8")
    table = doc.split("## Top level", 1)[1].split("## Items", 1)[0]
    rows = re.findall(r"^\| ((?:`\w+`(?:, )?)+) \|", table, flags=re.M)
    documented = {name for row in rows for name in re.findall(r"`(\w+)`", row)}
    assert schema == written, (schema - written, written - schema)
    assert documented == written, (documented - written, written - documented)


def test_every_status_has_one_place_in_the_schema_the_precedence_and_the_labels():
    """records.STATUSES is the list result.json's schema allows; an item's status is chosen by
    records' precedence among its cases' and shown by the report's label. A status added to one
    and not the others would be shown as a raw word, never chosen, or refused by the schema."""
    from grader.records import _PRECEDENCE, STATUSES
    from grader.report.html import STATUS_LABEL

    schema = json.loads(RESULT_SCHEMA.read_text())
    assert tuple(schema["$defs"]["status"]["enum"]) == STATUSES
    assert sorted(_PRECEDENCE) == sorted(STATUSES) and _PRECEDENCE[-1] == "passed"
    assert sorted(STATUS_LABEL) == sorted(STATUSES)


def test_the_ta_s_report_says_which_limits_were_reached_and_the_student_s_copy_does_not(graded):
    """A TA reading the report of a timeout learns that the run's conditions may have given it
    and that the batch's command grades it again; the student's copy names no call (one may be
    of a hidden case's), and a report of a result that reached none says nothing of it."""
    from grader.report.html import render_report

    reached = [{"limit": "call_seconds", "at": "exercise2.dlogits"}]
    result = dict(graded["bessel"], limits_reached=reached)
    page = render_report(result)
    assert 'id="limits-reached"' in page
    assert "<code>call_seconds</code> at <code>exercise2.dlogits</code>" in page
    assert "grades this submission again" in page
    assert "limits-reached" not in render_report(result, for_student=True)
    assert "limits-reached" not in render_report(graded["bessel"])
