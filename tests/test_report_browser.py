"""The reports in a real headless Chromium: they open without errors and show the expected rows.

A Gradescope "Export Submissions" zip (names and emails in submission_metadata.yml, one hostile
student, one who uploaded no exercise file) goes through `grade_batch` as `grader grade` runs it,
then every page it wrote is opened in Debian's chromium (which .ci/run installs) over the
DevTools protocol (tests/browser.py). A page passes when the browser reports no exception, no
console or log error and no request beyond the file itself, and its rows are result.json's.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from browser import Browser, BrowserError, find_chromium
from conftest import SOLUTIONS, mutated
from notebooks import lecture_notebook

from grader.batch import grade_batch
from grader.report import write_batch_reports, write_submission_report

HOSTILE_NAME = '<img src=x onerror="window.__pwned = 1">Mallory'
HOSTILE_PRINT = "<script>window.__pwned = 2</script>"
STUDENTS = {
    "submission_101": ("Ada Lovelace", "ada@example.edu", "complete"),
    "submission_102": ("Zoë Martin-Ñúñez", "zoe@example.edu", "bessel"),
    "submission_103": (HOSTILE_NAME, "mallory@example.edu", "hostile"),
    "submission_104": ("Bob Empty", "bob@example.edu", "empty"),
    "submission_105": ("Cy Crash", "cy@example.edu", "crash"),
    "submission_106": ("Nia Notebook", "nia@example.edu", "notebook"),
}
# A TA's laptop, a common desktop, a wide screen: no page may be wider than its card at any.
WIDTHS = (1024, 1280, 1920)
# Paper: an A4 page's printable width, about 700 CSS pixels, and a landscape page.
PRINT_WIDTHS = (700, 1024)


@pytest.fixture(scope="session")
def chromium():
    exe = find_chromium()
    if exe is None:
        message = "no Chromium: `apt-get install chromium` (.ci/run installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)  # CI installs it: a missing browser there is a broken set-up
        pytest.skip(message)
    browser = Browser(exe)
    yield browser
    browser.close()


def test_a_browser_that_never_answers_leaves_no_profile_behind(tmp_path, monkeypatch) -> None:
    """A Chromium that exited at its start (it refused a machine whose /proc hid cpuinfo) left
    its grader-chromium-* profile folder in /tmp for each test that tried it."""
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    with pytest.raises(BrowserError):
        Browser("/bin/false")
    assert list(tmp_path.iterdir()) == []


def _files(kind: str) -> dict[str, str]:
    everything = {
        f"{n}.py": (SOLUTIONS / f"{n}.py").read_text() for n in ("exercise1", "exercise2")
    }
    if kind == "complete":
        return everything
    if kind == "bessel":
        return {
            **everything,
            "exercise1.py": mutated("exercise1", "(1.0 / (n - 1))", "(1.0 / n)"),
        }
    if kind == "hostile":
        return {"exercise2.py": f"print({HOSTILE_PRINT!r})\n" + everything["exercise2.py"]}
    if kind == "crash":  # fails at import: 26 items, one traceback
        return {**everything, "exercise1.py": "import torch\nraise RuntimeError('x' * 300)\n"}
    if kind == "notebook":  # the folded table of cells, each named by its first line too
        cells = {f.removesuffix(".py"): text for f, text in everything.items()}
        return {"backprop_ninja.ipynb": lecture_notebook(cells).decode()}
    return {"README.txt": "forgot to upload"}


def _metadata() -> str:
    lines = []
    for folder, (name, email, _) in STUDENTS.items():
        lines += [
            f"{folder}:",
            "  :submitters:",
            f"  - :name: {json.dumps(name)}",
            f"    :email: {email}",
            f"    :sid: '{folder[-3:]}'",
            "  :score: 0.0",
        ]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def export(tmp_path_factory) -> tuple[Path, list[dict]]:
    """A Gradescope export graded by grade_batch, exactly as `grader grade` runs it."""
    tmp = tmp_path_factory.mktemp("export")
    zpath = tmp / "export.zip"
    with zipfile.ZipFile(zpath, "w") as z:
        z.writestr("assignment_export/submission_metadata.yml", _metadata())
        for folder, (_, _, kind) in STUDENTS.items():
            for fname, text in _files(kind).items():
                z.writestr(f"assignment_export/{folder}/{fname}", text)
    out = tmp / "out"
    results = grade_batch(zpath, out, jobs=1, progress=False, student_reports=True)
    return out, results


def every_page(out: Path, results: list[dict]) -> list[Path]:
    pages = [out / "summary.html"]
    for r in results:
        pages += [
            out / r["submission"] / "report.html",
            out / r["submission"] / "student-report.html",
        ]
    return pages


def assert_fits_every_width(page) -> None:
    """Nothing sticks out of the page on screens of every width, nor on paper."""
    for width in WIDTHS:
        page.resize(width)
        assert page.overflow() == [], width
    page.media("print")
    for width in PRINT_WIDTHS:
        page.resize(width)
        assert page.overflow() == [], ("print", width)


def test_pages_fit_their_cards_at_every_width_and_on_paper(chromium, export, tmp_path):
    """No table, message, traceback or picture sticks out of its card (then the page would
    scroll sideways and a message would be cut off) on screens from 1024 to 1920 px wide, and
    on paper. A table may be wider than the page only inside its own scroll box. Screenshots
    go to $GRADER_SCREENSHOTS when set, to look at."""
    out, results = export
    shots = Path(os.environ.get("GRADER_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    for path in every_page(out, results):
        page = chromium.open(path)
        assert page.errors == []
        for width in WIDTHS:
            page.resize(width)
            assert page.overflow() == [], (path.relative_to(out), width)
            name = f"{path.parent.name if path.parent != out else 'class'}-{path.stem}-{width}.png"
            page.screenshot(shots / name, width=width, height=2400)
        page.resize(1280)
        page.media("print")
        for width in PRINT_WIDTHS:
            page.resize(width)
            assert page.overflow() == [], (path.relative_to(out), "print", width)
        page.media("")
    assert len(list(shots.glob("*.png"))) == len(every_page(out, results)) * len(WIDTHS)


def test_an_import_failure_reads_once_in_monospace(chromium, export):
    out, _ = export
    page = chromium.open(out / "submission_105" / "report.html")
    assert page.eval("document.body.innerText.split('RuntimeError: xxx').length - 1") == 1
    font = page.eval(
        "getComputedStyle(document.querySelector('#file-failure-exercise1 pre')).fontFamily"
    )
    assert "mono" in font.lower() or "consolas" in font.lower() or "menlo" in font.lower()
    rows = page.eval("[...document.querySelectorAll('#exercise1 tr.item')].map(r => r.innerText)")
    assert len(rows) > 20 and all("see the box above" in r for r in rows)


def test_printing_unfolds_every_detail(chromium, export):
    out, _ = export
    page = chromium.open(out / "submission_102" / "report.html")
    closed = "[...document.querySelectorAll('details')].filter(d => !d.open).length"
    assert page.eval(closed) > 0  # the sandbox's details, at least, start folded
    page.eval("window.dispatchEvent(new Event('beforeprint'))")
    assert page.eval(closed) == 0
    assert page.errors == []


def _rows(page) -> list[list[str]]:
    return page.eval("[...document.querySelectorAll('tr.item')].map(r => [r.id, r.dataset.status])")


def test_every_report_opens_cleanly_with_its_rows(chromium, export):
    out, results = export
    for result in results:
        page = chromium.open(out / result["submission"] / "report.html")
        assert page.errors == [], result["submission"]
        assert page.foreign_requests == []
        assert page.eval("document.querySelector('h1').textContent") == result["submission"]
        assert _rows(page) == [[f"item-{i['id']}", i["status"]] for i in result["items"]]
        visible = page.eval("document.body.innerText")
        assert result["student"]["name"] in visible


def test_failed_gradient_heatmap_is_drawn(chromium, export):
    out, results = export
    # The batch's results are digests (no cases): the cases are in the result.json on disk.
    bessel = json.loads((out / "submission_102" / "result.json").read_text())
    wrong = [i["id"] for i in bessel["items"] if any(c["diff_map"] for c in i["cases"])]
    assert "exercise1.dbndiff2" in wrong
    page = chromium.open(out / "submission_102" / "report.html")
    boxes = page.eval(
        "[...document.querySelectorAll('figure.heatmap svg[role=img]')].map(s => {"
        " const b = s.getBoundingClientRect(); return [b.width, b.height,"
        " s.querySelectorAll('rect').length]; })"
    )
    assert len(boxes) == len(wrong)
    assert all(w > 50 and h > 5 and n > 1 for w, h, n in boxes)


def test_hostile_names_and_output_stay_text(chromium, export):
    out, _ = export
    for path in (out / "submission_103" / "report.html", out / "summary.html"):
        page = chromium.open(path)
        assert page.errors == []
        assert page.eval("window.__pwned === undefined")
        assert page.eval("document.images.length") == 0
        assert page.eval("document.scripts.length") == 1
        assert HOSTILE_NAME in page.eval("document.body.innerText")
    page = chromium.open(out / "submission_103" / "report.html")
    printed = page.eval("document.querySelector('pre.student-output').textContent")
    assert HOSTILE_PRINT in printed


def test_policy_blocks_a_script_the_grader_did_not_write(chromium, export, tmp_path):
    out, _ = export
    html = (out / "submission_101" / "report.html").read_text(encoding="utf-8")
    tampered = tmp_path / "report.html"
    tampered.write_text(html.replace("</main>", "</main><script>window.__x = 1</script>"))
    page = chromium.open(tampered)
    assert page.eval("window.__x === undefined")
    assert any("Content Security Policy" in e for e in page.errors)


def test_a_notebook_s_cells_are_listed_with_their_first_lines(chromium, export):
    out, results = export
    (result,) = [r for r in results if r["notebook"] and r["notebook"]["graded"]]
    page = chromium.open(out / result["submission"] / "report.html")
    rows = page.eval(
        "[...document.querySelectorAll('#notebook tbody tr')].map(r => r.cells[1].textContent)"
    )
    assert len(rows) == len(result["notebook"]["cells"])
    assert "def dlogits(logits, Yb, n):" in rows and "while True:" in rows
    # A longer line is cut, as in the notes that name a cell.
    assert "# utility function we will use later when compa..." in rows


def test_report_without_files_says_so(chromium, export):
    out, _ = export
    page = chromium.open(out / "submission_104" / "report.html")
    banner = page.eval("document.getElementById('nothing-submitted').innerText")
    assert "No exercise files were found" in banner


def test_summary_lists_everyone_and_links_resolve(chromium, export):
    out, results = export
    page = chromium.open(out / "summary.html")
    assert page.errors == [] and page.foreign_requests == []
    rows = page.eval(
        "[...document.querySelectorAll('#student-table tbody tr')].map(r =>"
        " [r.cells[0].innerText, r.cells[1].innerText, r.cells[2].innerText,"
        "  r.querySelector('a.report').href])"
    )
    assert [r[:3] for r in rows] == [
        [folder, name, email] for folder, (name, email, _) in STUDENTS.items()
    ]
    for folder, _, _, href in rows:
        target = Path(unquote(urlparse(href).path))
        assert target == (out / folder / "report.html").resolve()
        linked = chromium.open(target)
        assert linked.eval("document.querySelector('h1').textContent") == folder
    items = page.eval("document.querySelectorAll('#item-table tbody tr').length")
    assert items == len(results[0]["items"])
    bars = page.eval(
        "[...document.querySelectorAll('svg.histogram g.bar title')]"
        ".map(t => parseInt(t.textContent.split(': ')[1]))"
    )
    assert sum(bars) == len(results)


def test_summary_table_sorts_by_score(chromium, export):
    out, results = export
    page = chromium.open(out / "summary.html")
    header = (
        "[...document.querySelectorAll('#student-table th')].find(h => h.textContent === 'score')"
    )
    column = (
        "[...document.querySelectorAll('#student-table tbody tr')]"
        ".map(r => parseFloat(r.cells[3].dataset.sort))"
    )
    page.eval(f"{header}.click()")
    ascending = page.eval(column)
    assert ascending == sorted(r["score"] for r in results)
    page.eval(f"{header}.click()")
    assert page.eval(column) == sorted(ascending, reverse=True)
    assert page.errors == []


# The characters of each element matched, in the order they are drawn (line by line, top to
# bottom, each left to right), blanks left out: for text with no right-to-left letter, the
# order they are written in.
DRAWN_JS = """[...document.querySelectorAll(%s)].map(el => {
  const drawn = [], walk = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
  for (let n; (n = walk.nextNode()); ) for (let i = 0; i < n.length; i++) {
    if (!n.data[i].trim()) continue;
    const r = document.createRange(); r.setStart(n, i); r.setEnd(n, i + 1);
    const box = r.getClientRects()[0];
    if (box) drawn.push([(box.top + box.bottom) / 2, box.left, n.data[i]]);
  }
  drawn.sort((a, b) => a[0] - b[0]);  // then one line: centres within 6px (a <code> sits higher)
  for (let i = 1; i < drawn.length; i++)
    if (drawn[i][0] - drawn[i - 1][0] < 6) drawn[i][0] = drawn[i - 1][0];
  drawn.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  return [drawn.map(d => d[2]).join(''), el.textContent.replace(/\\s/g, '')];
})"""


def test_a_right_to_left_override_in_a_name_turns_none_of_the_grader_s_words(chromium, tmp_path):
    """A name "Mallory \\u202e)9001 :dis( stnioP 001" beside the sid 1234 drew "4321 · ... 100
    Points )sid: 1009(": every line that holds student text is drawn in the order it is written."""
    trap = "evil\u2069\u202e)txt.001 :erocS"  # closes the isolation it is put in, then overrides
    result = {
        "submission": "mallory",
        "score": 1.0,
        "max_score": 2.0,
        "files": {"exercise1": "submitted", "exercise2": f"ambiguous: {trap} differs"},
        "student": {
            "name": "Mallory \u202e)9001 :dis( stnioP 001",
            "email": "m@example.edu",
            "sid": "1234",
            "notes": [f"skipped {trap}: a link, not a regular file"],
        },
        "items": [
            {"id": "exercise1.dlogprobs", "score": 1.0, "max_score": 1.0, "status": "passed"},
            {"id": "exercise2.dlogits", "score": 0.0, "max_score": 1.0, "status": "missing"},
        ],
    }
    write_submission_report(result, tmp_path / "mallory")
    write_batch_reports([result], tmp_path, ["mallory"])
    for page, where in (
        (tmp_path / "mallory" / "report.html", "'.who, #notes li'"),
        (tmp_path / "summary.html", "'#attention li, #student-table tbody td'"),
    ):
        lines = chromium.open(page).eval(DRAWN_JS % where)
        assert len(lines) >= 3
        for drawn, written in lines:
            assert drawn == written


def test_names_holding_invisible_characters_read_apart_in_the_summary(chromium, tmp_path):
    """`Bo\\u200bb` (a zero-width space) was drawn as Bob's row exactly, `\\u202eecilA` (a
    right-to-left override) as Alice and `\\u200fBob (2)` (a right-to-left mark) as
    `(Bob (2`: each name reads as written, its invisible characters as escapes."""
    names = ["Bob", "Bo\u200bb", "\u202eecilA", "\u200fBob (2)"]
    results = [
        {"submission": f"s{k}", "score": 1.0, "max_score": 2.0, "student": {"name": n}}
        for k, n in enumerate(names)
    ]
    write_batch_reports(results, tmp_path, [f"s{k}" for k in range(len(names))])
    shown = chromium.open(tmp_path / "summary.html").eval(
        "[...document.querySelectorAll('#student-table a.name-link')].map(a => a.innerText)"
    )
    assert shown == ["Bob", "Bo\\u200bb", "\\u202eecilA", "\\u200fBob (2)"]


def test_a_long_submission_name_leaves_the_summary_s_scores_in_view(chromium, tmp_path):
    """A folder named with 120 characters and no space (the most a name keeps) made its cell as
    wide as the page: the score, the exercises and the notes of every student sat past the
    right edge of the submissions table's scroll box, and each note was squeezed into a column
    one word wide, a row as tall as a screen."""
    long = "verylongname" * 10
    results = [
        {
            "submission": name,
            "score": 1.0,
            "max_score": 2.0,
            "files": {
                "exercise1": "submitted",
                "exercise2": "missing: not in your upload, which held exercise1.py, notes.txt",
            },
            "student": {"name": name, "email": f"{name}@example.edu"},
            "items": [
                {"id": "exercise1.dlogprobs", "score": 1.0, "max_score": 1.0, "status": "passed"},
                {"id": "exercise2.dlogits", "score": 0.0, "max_score": 1.0, "status": "missing"},
            ],
        }
        for name in ("ada", long)
    ]
    write_batch_reports(results, tmp_path, ["ada", long])
    page = chromium.open(tmp_path / "summary.html")
    for width in WIDTHS:
        page.resize(width)
        box, rows = page.eval(
            "(() => { const t = document.querySelector('#student-table');"
            " const b = t.parentElement;"
            " return [[b.scrollWidth, b.clientWidth],"
            " [...t.tBodies[0].rows].map(r => r.lastElementChild.getBoundingClientRect().width)];"
            " })()"
        )
        assert box[0] <= box[1], (width, box)  # nothing to scroll to: every column in view
        assert min(rows) >= 150, (width, rows)  # room for a few words a line in the notes


def test_a_gradescope_folder_name_stays_on_one_line_and_sorts_as_read(chromium, tmp_path):
    """The submissions' column broke anywhere, squeezed by the notes beside it: at 1280 px
    `submission_10` was drawn `submission_1` over `0`, a classmate's folder at a glance. And a
    click on its header sorted as text does, submission_10 before submission_2."""
    note = "missing: not in your upload, which held exercise1.py, notes.txt; " * 3
    names = ["submission_10", "submission_2", "submission_283746512", "submission_1"]
    results = [
        {
            "submission": name,
            "score": 1.0,
            "max_score": 2.0,
            "files": {"exercise1": "submitted", "exercise2": note},
            "student": {"name": "Ada Lovelace", "email": "ada.lovelace@example.edu"},
            "items": [
                {"id": "exercise1.dlogprobs", "score": 1.0, "max_score": 1.0, "status": "passed"},
                {"id": "exercise2.dlogits", "score": 0.0, "max_score": 1.0, "status": "missing"},
            ],
        }
        for name in names
    ]
    write_batch_reports(results, tmp_path, names)
    page = chromium.open(tmp_path / "summary.html")
    links = "[...document.querySelectorAll('#student-table a.report')]"
    for width in WIDTHS:
        page.resize(width)
        lines = page.eval(f"{links}.map(a => [a.textContent, a.getClientRects().length])")
        assert lines == [[name, 1] for name in names], width
        assert page.overflow() == [], width
    page.eval("document.querySelector('#student-table th').click()")
    assert page.eval(f"{links}.map(a => a.textContent)") == [
        "submission_1",
        "submission_2",
        "submission_10",
        "submission_283746512",
    ]
    assert page.errors == []


def test_a_long_id_in_the_gradebook_note_leaves_the_summary_its_width(chromium, tmp_path):
    """The note under the gradebook's link quotes each id a spreadsheet would change: an SID of
    200 digits (more than 15, so quoted) was one word, and the page scrolled sideways for it,
    the header 2,000 px wide at every width. It is quoted by its first digits and its length."""
    results = [
        {
            "submission": "ada",
            "score": 1.0,
            "max_score": 1.0,
            "student": {"name": "Ada", "email": "ada@example.edu", "sid": "9" * 200},
            "items": [
                {"id": "exercise1.dlogprobs", "score": 1.0, "max_score": 1.0, "status": "passed"}
            ],
        }
    ]
    write_batch_reports(results, tmp_path, ["ada"])
    page = chromium.open(tmp_path / "summary.html")
    note = page.eval("document.querySelector('#fragile-ids').textContent")
    assert "9" * 24 + "… (200 digits)" in note
    assert_fits_every_width(page)


def test_the_files_left_out_of_a_class_are_said_under_the_summarys_headline(chromium, tmp_path):
    """A class's folder holding `eve.py` beside the students' folders read as a class without
    her, the page saying nothing of the file: it names it under the headline, and a file
    named with 300 characters in one word leaves the page its width."""
    results = [
        {
            "submission": "ada",
            "score": 1.0,
            "max_score": 1.0,
            "student": {"name": "Ada"},
            "items": [
                {"id": "exercise1.dlogprobs", "score": 1.0, "max_score": 1.0, "status": "passed"}
            ],
        }
    ]
    said = f"Left out, as no upload: eve.py, {'x' * 300}.py (a student's upload is a folder)"
    write_batch_reports(results, tmp_path, ["ada"], said)
    page = chromium.open(tmp_path / "summary.html")
    assert page.eval("document.querySelector('#left-out').textContent") == said
    assert page.eval("document.querySelector('#left-out').closest('header') !== null")
    assert_fits_every_width(page)
    assert page.errors == []


def test_a_long_name_a_notebook_cell_defines_leaves_the_report_its_width(chromium, tmp_path):
    """The notebook's table of cells names what each cell gave (`constant x_QQQ...`) and what
    was left out, in the student's words: a cell defining a constant with a 3,000-character
    name made the table 33,000 px wide, and the page scrolled sideways once it was unfolded
    (always on paper), the "left out" column out of sight."""
    long = "x_" + "Q" * 3000
    result = {
        "submission": "nb",
        "score": 1.0,
        "max_score": 1.0,
        "items": [
            {"id": "exercise1.dlogprobs", "score": 1.0, "max_score": 1.0, "status": "passed"}
        ],
        "notebook": {
            "graded": "hw.ipynb",
            "cells": [
                {
                    "cell": 1,
                    "section": "",
                    "starts": f"{long[:47]}...",
                    "taken": [f"constant {long}"],
                    "dropped": [f"line 2: a call of {long} (not run when grading)"],
                }
            ],
        },
    }
    write_submission_report(result, tmp_path / "nb")
    page = chromium.open(tmp_path / "nb" / "report.html")
    page.eval("document.querySelector('#notebook').open = true")
    assert_fits_every_width(page)


def test_the_item_table_sorts_its_numbers_as_numbers(chromium, tmp_path):
    """A click on "mean points" sorted its text, "0.5 / 1" before "0.25 / 1": the numeric
    collation read the digits after the point as a whole number (5 before 25). A class of four
    where one of them got `db1` right and two `dlogit_maxes` (graded so for real) showed
    `dlogit_maxes` as the harder item. Each number column sorts on the number it shows."""

    def result(name: str, wrong: tuple[str, ...]) -> dict:
        items = [
            {"id": f"exercise1.{i}", "max_score": 1.0}
            | (
                {"score": 0.0, "status": "failed"}
                if i in wrong
                else {"score": 1.0, "status": "passed"}
            )
            for i in ("dlogit_maxes", "db1")
        ]
        score = sum(i["score"] for i in items)
        return {"submission": name, "score": score, "max_score": 2.0, "items": items}

    both = ("dlogit_maxes", "db1")
    results = [result("a", ()), result("b", both), result("c", both), result("d", ("db1",))]
    write_batch_reports(results, tmp_path, ["a", "b", "c", "d"])
    page = chromium.open(tmp_path / "summary.html")
    rows = "[...document.querySelectorAll('#item-table tbody tr')].map(r => r.dataset.item)"
    for header in ("passed", "mean points"):
        page.eval(
            "[...document.querySelectorAll('#item-table th')]"
            f".find(h => h.textContent === {header!r}).click()"
        )
        assert page.eval(rows) == ["exercise1.db1", "exercise1.dlogit_maxes"], header
    assert page.eval("document.querySelector('#item-table td[data-sort=\"0.25\"]') !== null")
    assert page.errors == []


def test_a_traceback_in_an_item_s_row_leaves_the_table_the_page_s_width(chromium, tmp_path):
    """A traceback whose lines reach 100 characters (a shape error's last line, under the
    item's "0/5 cases passed; on a public case:") set its column's width, up to 100ch, and
    made the table of every item 65 px wider than the page at every screen width: the TA
    scrolled the whole table sideways to read another row's message, cut at the page's
    edge. The traceback scrolls in its own box; the table is the page's width."""
    last = "RuntimeError: mat1 and mat2 shapes cannot be multiplied (128x68 and 20x68) " + "x" * 24
    message = (
        "0/5 cases passed; on a public case: Traceback (most recent call last):\n"
        f'  File "layers.py", line 27, in linear_backward\n    dx = dout @ weight\n{last}'
    )
    items = [
        {"id": "layers.linear", "score": 0.0, "max_score": 1.0, "status": "error",
         "message": message},
        {"id": "layers.flatten_consecutive", "score": 0.0, "max_score": 1.0,
         "status": "timeout", "message": "0/6 cases passed; on a public case: no answer"
         " within 10 s (an endless loop?)"},
    ]  # fmt: skip
    result = {"submission": "s", "score": 0.0, "max_score": 2.0, "items": items}
    write_submission_report(result, tmp_path / "s")
    page = chromium.open(tmp_path / "s" / "report.html")
    for width in WIDTHS:
        page.resize(width)
        table, section, pre = page.eval(
            "(() => { const t = document.querySelector('#layers table');"
            " const p = t.querySelector('tr.item pre');"
            " return [t.getBoundingClientRect().width, t.closest('section').clientWidth,"
            " [p.scrollWidth, p.clientWidth]]; })()"
        )
        assert table <= section + 1, (width, table, section)
        assert pre[0] >= pre[1] > 200, (width, pre)  # the traceback is there, in its box
    assert page.errors == []


def test_a_long_line_in_a_message_scrolls_in_its_own_box(chromium, tmp_path):
    """A student's error quoting 3,000 characters on one line (a tensor's `tolist()` in an
    assert's message) made its traceback's cell 24,000 px wide, and with it the table of every
    item of the exercise and the case table under it: each message, hint and column past the
    first screen sat thousands of pixels to the right. The line scrolls in its own box; the
    table stays about the page's width."""
    line = "ValueError: " + "1.0, " * 600
    message = f'Traceback (most recent call last):\n  File "exercise1.py", line 3\n{line}'
    case = {"case": "public-n32", "public": True, "status": "error", "message": message}
    result = {
        "submission": "s",
        "score": 1.0,
        "max_score": 2.0,
        "items": [
            {"id": "exercise1.dlogprobs", "score": 1.0, "max_score": 1.0, "status": "passed"},
            {
                "id": "exercise1.dprobs",
                "score": 0.0,
                "max_score": 1.0,
                "status": "error",
                "message": message,
                "cases": [case],
            },
        ],
    }
    write_submission_report(result, tmp_path / "s")
    page = chromium.open(tmp_path / "s" / "report.html")
    page.eval("document.querySelectorAll('details').forEach(d => d.open = true)")
    for width in WIDTHS:
        page.resize(width)
        tables, pres = page.eval(
            "[[...document.querySelectorAll('#exercise1 table')].map(t =>"
            " t.getBoundingClientRect().width / t.closest('section').clientWidth),"
            " [...document.querySelectorAll('#exercise1 pre.msg')].map(p =>"
            " p.scrollWidth > 4 * p.clientWidth)]"
        )
        assert len(tables) == 2 and max(tables) < 1.5, (width, tables)
        assert pres == [True, True], width  # the line is there, to scroll to
    assert page.errors == []
