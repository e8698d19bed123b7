"""`grader grade` in the terminal: it always ends by saying what it did and where to look.

The command runs through click's test runner, in this process, as a TA would type it with
`--no-progress` (so nothing but the summary is printed). Expectations come from the results on
disk: the counts, every submission that needs a look with its reasons, and the pages' paths.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import solution
from test_batch import make_class

from grader.cli import main
from grader.report.summary import attention


@pytest.fixture
def small_class(tmp_path: Path) -> Path:
    return make_class(
        tmp_path / "class",
        {
            # Complete: an exercise missing beside others would put ada on the list too.
            "ada": {f: solution(f) for f in ("exercise1", "exercise2", "exercise3")},
            "cy": {"exercise2": "raise ImportError('no such module: numpyy')\n"},
            "dee": {},
        },
    )


def grade(*args: str) -> str:
    result = CliRunner().invoke(main, ["grade", *args, "--no-progress"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_grade_ends_with_a_summary_of_what_it_did(small_class, tmp_path):
    out = tmp_path / "out"
    printed = grade(str(small_class), "--out", str(out))
    assert "graded 3, reused 0" in printed and "3 submissions in all" in printed
    results = {p.parent.name: json.loads(p.read_text()) for p in out.glob("*/result.json")}
    look = {name: attention(r) for name, r in results.items() if attention(r)}
    assert set(look) == {"cy", "dee"}
    assert f"{len(look)} need a look:" in printed
    for name, why in look.items():
        line = next(line for line in printed.splitlines() if line.strip().startswith(name + ":"))
        assert all(reason in line for reason in why), line
        assert str(out / name / "report.html") in line
    assert "numpyy" in printed  # the reason says which error, not just "error"
    assert str(out / "summary.html") in printed and str(out / "grades.csv") in printed


def test_a_rerun_says_what_it_reused(small_class, tmp_path):
    out = tmp_path / "out"
    grade(str(small_class), "--out", str(out))
    (small_class / "ada" / "exercise2.py").write_text(solution("exercise2") + "\n# edited\n")
    printed = grade(str(small_class), "--out", str(out))
    assert "graded 1, reused 2" in printed


def test_one_submission_names_its_report(small_class, tmp_path):
    out = tmp_path / "one"
    printed = grade(str(small_class / "ada"), "--out", str(out))
    assert "graded 1, reused 0" in printed and "none needs a look" in printed
    assert f"report: {out / 'ada' / 'report.html'}" in printed


def test_the_summary_says_what_path_was_read_as(small_class, tmp_path):
    out = tmp_path / "out"
    printed = grade(str(small_class), "--out", str(out))
    assert printed.startswith(f"read {small_class} as a folder of submissions: 3 submissions")
    printed = grade(str(small_class / "ada"), "--out", str(tmp_path / "one"))
    assert printed.startswith(f"read {small_class / 'ada'} as one submission\n")


def _upload_with_metadata(tmp_path: Path) -> Path:
    """A student's own upload holding a `submission_metadata.yml` that names a classmate."""
    upload = tmp_path / "mallory"
    (upload / "submission_1").mkdir(parents=True)
    (upload / "exercise2.py").write_text(solution("exercise2"))
    (upload / "submission_1" / "exercise2.py").write_text(solution("exercise2"))
    (upload / "submission_metadata.yml").write_text(
        "submission_1:\n  :submitters:\n  - :name: Mallory\n    :sid: '2002'\n"
        "submission_2:\n  :submitters:\n  - :name: Alice\n    :sid: '1001'\n"
    )
    return upload


def test_one_student_s_upload_read_as_a_class_is_said_and_one_reads_it_as_one(tmp_path):
    """Graded on its own (a late upload, a regrade), a student's upload holding a metadata file
    is read as an export: the summary says so at once, and `--one` grades it as one upload,
    with no row for the classmate it names."""
    upload = _upload_with_metadata(tmp_path)
    printed = grade(str(upload), "--out", str(tmp_path / "as-class"))
    first = printed.splitlines()[0]
    assert first.startswith(f"read {upload} as a Gradescope export: 2 submissions")
    assert "--one" in first
    out = tmp_path / "as-one"
    printed = grade(str(upload), "--out", str(out), "--one")
    assert printed.startswith(f"read {upload} as one submission\n")
    assert [p.parent.name for p in out.glob("*/result.json")] == ["mallory"]
    assert not (out / "grades.csv").exists()
    result = json.loads((out / "mallory" / "result.json").read_text())
    assert "Alice" not in json.dumps(result) and result["files"]["exercise2"] == "submitted"


def test_student_names_cannot_drive_the_terminal(tmp_path):
    from grader.report.terminal import terminal_summary

    result = {
        "submission": "x",
        "student": {"name": "Eve\x1b]0;pwned\x07\r"},
        "files": {"exercise1": "missing"},
        "items": [],
    }
    text = terminal_summary([result], ["x"], graded=1, reused=0, out=tmp_path, is_batch=True)
    assert "\x1b" not in text and "\r" not in text and "\x07" not in text
    assert "Eve\\x1b]0;pwned\\x07\\r" in text


def test_names_with_invisible_characters_show_as_escapes_on_the_terminal(tmp_path):
    """A right-to-left override, a zero-width space or a Hangul filler in a name: the terminal
    showed `?` for the first two, which said nothing of what they were (and reads as a `?` a
    student may have written), and the filler as a blank. Each is written as its escape."""
    from grader.report.terminal import terminal_summary

    names = ["\u202eecilA", "Bo\u200bb", "Bob\u3164", "Bob?"]
    results = [
        {"submission": f"s{k}", "student": {"name": n}, "files": {"exercise1": "missing"}}
        for k, n in enumerate(names)
    ]
    folders = [r["submission"] for r in results]
    text = terminal_summary(results, folders, graded=4, reused=0, out=tmp_path, is_batch=True)
    for k, shown in enumerate(["\\u202eecilA", "Bo\\u200bb", "Bob\\u3164", "Bob?"]):
        assert f"  s{k} ({shown}): " in text, shown
    assert not any(c in text for c in "\u202e\u200b\u3164")


def test_a_long_name_is_cut_on_the_terminal(tmp_path):
    """An export's name of 1,000 characters took a screen of the terminal for one line of the
    "needs a look" list; the line keeps its start, and summary.html the whole name."""
    from grader.report.terminal import terminal_summary

    result = {
        "submission": "x",
        "student": {"name": "N" * 1000},
        "files": {"exercise1": "missing"},
        "items": [],
    }
    text = terminal_summary([result], ["x"], graded=1, reused=0, out=tmp_path, is_batch=True)
    line = next(line for line in text.splitlines() if line.startswith("  x ("))
    name = line.split(" (", 1)[1].split("): ", 1)[0]
    assert name.startswith("N" * 40) and name.endswith("…") and len(name) <= 80, len(name)
    assert "): no exercise files found" in line


def test_one_upload_graded_into_a_class_s_out_says_how_to_update_the_class_pages(tmp_path):
    """A regrade with --one into the class's OUT (as the README's "a regrade" reads) was told
    that OUT "also holds the reports of" every classmate: "remove them, or grade into an empty
    folder", and nothing of summary.html and grades.csv, which kept the old score."""
    from grader.report.html import REPORT
    from grader.report.terminal import terminal_summary

    for name in ("x", "ada", "bob"):
        (tmp_path / name).mkdir()
        (tmp_path / name / REPORT).write_text("<html></html>")
    (tmp_path / "summary.json").write_text("{}")
    result = {"submission": "x", "student": {}, "files": {"exercise1": "submitted"}, "items": []}
    text = terminal_summary([result], ["x"], graded=1, reused=0, out=tmp_path, is_batch=False)
    assert "remove them" not in text and "also holds" not in text
    assert text.splitlines()[-1] == (
        f"{tmp_path}'s summary.html and grades.csv are the last class run's, without this "
        f"result: run the class's command again (grader grade CLASS --out {tmp_path}) to bring "
        "them up to date; it regrades only the submissions whose files changed, and takes "
        "each one's name, email and SID from the class again"
    )


def test_reports_an_earlier_run_left_in_out_are_said_to_be_no_part_of_this_run(tmp_path):
    """A class graded again after a student's upload was taken out (or another class graded
    into the same OUT) left that report folder beside this run's without a word."""
    from grader.report.html import REPORT
    from grader.report.terminal import terminal_summary

    for name in ("x", "gone", "other_class"):
        (tmp_path / name).mkdir()
        (tmp_path / name / REPORT).write_text("<html></html>")
    (tmp_path / "not_a_report").mkdir()
    result = {"submission": "x", "student": {}, "files": {"exercise1": "submitted"}, "items": []}
    text = terminal_summary([result], ["x"], graded=1, reused=0, out=tmp_path, is_batch=True)
    assert text.splitlines()[-1] == (
        f"{tmp_path} also holds the reports of 2 submissions this run did not read (gone, "
        "other_class): an earlier run's, not in this run's summary or gradebook; remove them, "
        "or grade into an empty folder"
    )
    (tmp_path / "gone" / REPORT).unlink()
    (tmp_path / "other_class" / REPORT).unlink()
    text = terminal_summary([result], ["x"], graded=1, reused=0, out=tmp_path, is_batch=True)
    assert "also holds" not in text


def test_a_needs_a_look_line_says_each_thing_once(tmp_path):
    """A Canvas row is named after its student ("davedoe (1004)"): the line said the login
    again in parentheses. A binary exercise1.py was said twice too: as the file's state and as
    a file every item of which errored with that very reason."""
    from grader.report.terminal import terminal_summary

    binary = "exercise1.py is a binary file, not Python source"
    items = [
        {"id": f"exercise1.d{k}", "status": "error", "cases": [{"message": binary}]}
        for k in ("logprobs", "probs")
    ]
    result = {
        "submission": "davedoe (1004)",
        "student": {"name": "davedoe"},
        "files": {"exercise1": binary, "exercise2": "submitted"},
        "items": items,
    }
    text = terminal_summary([result], ["x"], graded=1, reused=0, out=tmp_path, is_batch=True)
    line = next(ln for ln in text.splitlines() if ln.startswith("  davedoe"))
    assert line.startswith("  davedoe (1004): "), line
    assert line.count("binary file") == 1, line


def test_a_needs_a_look_line_tells_a_groups_members_apart(tmp_path):
    """ "s7 (Bob Partner; Smith; Carol)": two people or three? The terminal and summary.html
    name each member apart; summary.html no longer repeats a Canvas row's login either."""
    from grader.report.summary import render_summary, summarize
    from grader.report.terminal import terminal_summary

    people = [{"name": "Bob Partner"}, {"name": "Smith; Carol"}]
    group = {
        "submission": "s7",
        "student": {"name": "Bob Partner; Smith; Carol", "members": people},
        "files": {"exercise1": "missing"},
        "items": [],
    }
    canvas = {**group, "submission": "davedoe (1004)", "student": {"name": "davedoe"}}
    text = terminal_summary([group], ["s7"], graded=1, reused=0, out=tmp_path, is_batch=True)
    assert "  s7 (Bob Partner · Smith; Carol): " in text
    html = render_summary(summarize([group, canvas], ["s7", "d"]))
    banner = html[html.index('id="attention"') : html.index("</ul>", html.index('id="attention"'))]
    assert "Bob Partner</bdi> · <bdi>Smith; Carol" in banner
    assert "(<bdi>davedoe</bdi>)" not in banner and "davedoe (1004)" in banner


def test_a_group_member_with_no_name_reads_as_a_dash_on_the_terminal(tmp_path):
    """A member the export gives no name, email or SID, or only blanks, showed as nothing
    between the dots (`s8 (Bob ·  · Carol)`), and one of two as a trailing ` · `: summary.html
    writes `–` for one with no field, and both now do for one of blanks."""
    from grader.report.summary import render_summary, summarize
    from grader.report.terminal import terminal_summary

    people = [{"name": "Bob"}, {"name": "", "email": "", "sid": ""}, {"name": "  "}, {"sid": "7"}]
    group = {
        "submission": "s8",
        "student": {"name": "Bob", "sid": "7", "members": people},
        "files": {"exercise1": "missing"},
        "items": [],
    }
    text = terminal_summary([group], ["s8"], graded=1, reused=0, out=tmp_path, is_batch=True)
    assert "  s8 (Bob · – · – · 7): " in text
    html = render_summary(summarize([group], ["s8"]))
    banner = html[html.index('id="attention"') : html.index("</ul>", html.index('id="attention"'))]
    assert "(<bdi>Bob</bdi> · <bdi>–</bdi> · <bdi>–</bdi> · <bdi>7</bdi>)" in banner


def test_a_name_that_is_only_part_of_the_submission_s_name_is_still_said(tmp_path):
    """ "Ann" of a folder "Annabel_1234" was left off the needs-a-look line and the summary's
    banner (the name was looked for anywhere in the label): only an LMS row's `<name> (<key>)`
    says its name already."""
    from grader.report.summary import render_summary, summarize
    from grader.report.terminal import terminal_summary

    ann = {
        "submission": "Annabel_1234",
        "student": {"name": "Ann"},
        "files": {"exercise1": "missing"},
        "items": [],
    }
    text = terminal_summary([ann], ["a"], graded=1, reused=0, out=tmp_path, is_batch=True)
    assert "  Annabel_1234 (Ann): " in text
    html = render_summary(summarize([ann], ["a"]))
    banner = html[html.index('id="attention"') : html.index("</ul>", html.index('id="attention"'))]
    assert "(<bdi>Ann</bdi>)" in banner


def test_a_long_needs_a_look_list_is_cut_and_says_where_the_rest_is(tmp_path):
    """1,500 empty folders printed 1,500 lines, and the pages' paths scrolled out of sight."""
    from grader.report.terminal import MAX_LOOK_LINES, terminal_summary

    empty = {"files": {"exercise1": "missing"}, "items": []}
    results = [dict(empty, submission=f"s{k}") for k in range(MAX_LOOK_LINES + 7)]
    folders = [r["submission"] for r in results]
    text = terminal_summary(results, folders, graded=37, reused=0, out=tmp_path, is_batch=True)
    lines = text.splitlines()
    assert lines[1] == f"{MAX_LOOK_LINES + 7} need a look:"
    assert sum(ln.startswith("  s") for ln in lines) == MAX_LOOK_LINES
    assert f"  ... and 7 more: {tmp_path / 'summary.html'} lists every one" in lines
    assert lines[-2].startswith("class summary: ")


@pytest.mark.parametrize(
    ("submissions", "out"),
    [
        ("build/examples", "reports"),  # the example class, as before
        ("/tmp/downloads/export.zip", "reports/export"),
        ("classes/hw3/", "reports/hw3"),
        # A space in a parent folder: make split the path into words, "reports/My export".
        ("/home/ta/My Class/export.zip", "reports/export"),
        ("/home/ta/Google Drive/HW 3 submissions/", "reports/HW 3 submissions"),
    ],
)
def test_make_grade_keeps_each_class_in_its_own_folder(submissions, out):
    """`make grade SUBMISSIONS=export.zip` without OUT must not mix a class into reports/,
    beside the example students: its pages go to reports/<the class's name>."""
    import shutil
    import subprocess

    from conftest import ROOT

    make = shutil.which("make")
    assert make, "make is what the README tells a TA to run"
    dry = subprocess.run(
        [
            make,
            "-s",
            "-n",
            "-C",
            str(ROOT),
            "grade",
            f"SUBMISSIONS={submissions}",
            "STAMP=/dev/null",
        ],  # fmt: skip
        capture_output=True,
        text=True,
        check=True,
    )
    assert f'grade "{submissions}" --out "{out}"' in dry.stdout


def _make_dry(*args: str) -> str:
    """What `make -n ARGS` would run in the repository (no .venv needed: STAMP is set)."""
    import shutil

    from conftest import ROOT

    make = shutil.which("make")
    assert make, "make is what the README tells a TA to run"
    return subprocess.run([make, "-s", "-n", "-C", str(ROOT), *args, "STAMP=/dev/null"],
                          capture_output=True, text=True, check=True).stdout  # fmt: skip


@pytest.mark.parametrize("assignment", ["", "layer-by-layer"])
def test_what_make_grade_writes_is_ignored_by_git_and_removed_by_make_clean(assignment):
    """`make grade ASSIGNMENT=layer-by-layer` writes its example class's pages to
    reports-layer-by-layer/, which git listed as untracked (only reports/ was ignored) and
    `make clean` left behind: every folder `make grade` and `make examples` write is both."""
    import fnmatch
    import shlex

    from conftest import ROOT

    grade = shlex.split(_make_dry("grade", f"ASSIGNMENT={assignment}"))
    examples = shlex.split(_make_dry("examples", f"ASSIGNMENT={assignment}"))
    written = [grade[grade.index("--out") + 1], examples[-1]]
    clean = shlex.split(_make_dry("clean"))
    for folder in written:
        ignored = subprocess.run(["git", "-C", str(ROOT), "check-ignore", "-q", f"{folder}/x"])
        assert ignored.returncode == 0, f"{folder}/ is not in .gitignore"
        removed = [folder, *map(str, Path(folder).parents)]  # itself or a folder holding it
        assert any(fnmatch.fnmatch(f, word) for f in removed for word in clean), (folder, clean)


# The command as a program: `run` ends the process without the interpreter's teardown.

EXITING = """
import atexit, sys
from pathlib import Path
from grader import cli

here = Path(sys.argv[1])

class Garbage:  # freed only by the interpreter's teardown
    def __del__(self):
        (here / "torn-down").write_text("")

kept = Garbage()
atexit.register(lambda: (here / "atexit").write_text(""))
sys.stdout.write("x" * 200_000)  # buffered, no newline: lost unless flushed
sys.argv = ["grader", *sys.argv[2:]]
cli.run()
"""


def _run_program(tmp_path: Path, *args: str):
    import subprocess
    import sys

    from conftest import ROOT

    return subprocess.run(
        [sys.executable, "-c", EXITING, str(tmp_path), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("args", "status", "says"),
    [
        (["list"], 0, "backprop-ninja"),
        (["no-such-command"], 2, "No such command"),
        (["grade", "/no/such/folder", "--no-progress"], 1, "/no/such/folder"),
    ],
)
def test_the_program_keeps_its_exit_status_output_and_atexit_work_but_skips_teardown(
    tmp_path, args, status, says
):
    done = _run_program(tmp_path, *args)
    assert done.returncode == status, done.stderr
    assert says in done.stdout + done.stderr
    assert done.stdout.startswith("x" * 200_000)
    assert (tmp_path / "atexit").exists()
    assert not (tmp_path / "torn-down").exists()  # the teardown that costs 0.25-0.35 s


@pytest.mark.parametrize(("code", "status"), [(None, 0), (3, 3), ("a message", 1)])
def test_leave_exits_as_sys_exit_would(tmp_path, code, status):
    import subprocess
    import sys

    from conftest import ROOT

    done = subprocess.run(
        [sys.executable, "-c", f"from grader import cli; cli.leave({code!r})"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == status
    assert done.stderr == ("a message\n" if code == "a message" else "")


INTERRUPTED_WHILE_CAPTURED = """
import io, sys
from grader import batch, cli

def grade_batch(*args, **kwargs):
    sys.stderr = io.StringIO()  # as pytest's capture holds it while a test of -j 1 runs
    raise KeyboardInterrupt

batch.grade_batch = grade_batch
cli.main(["grade", sys.argv[1], "--out", sys.argv[2], "--no-progress", *sys.argv[3:]])
"""


def _interrupted(out: Path, *options: str):
    """`grader grade` of an empty class into `out`, stopped by Ctrl-C as grading starts."""
    from conftest import ROOT

    (out / "class").mkdir()
    return subprocess.run(
        [sys.executable, "-c", INTERRUPTED_WHILE_CAPTURED, str(out / "class"), str(out), *options],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_ctrl_c_says_how_to_go_on_even_while_pytest_holds_stderr(tmp_path):
    """With -j 1, pytest grades in a thread of the command's own process and swaps sys.stderr
    for its capture while a test runs; a Ctrl-C landing then must still tell the TA what is
    kept and what to do (exit 130), not write it into pytest's capture."""
    run = _interrupted(tmp_path)
    assert run.returncode == 130, run.stderr
    assert "run the same command again to grade the rest" in run.stderr
    assert "last finished run" not in run.stderr  # no earlier run: nothing is stale


def test_ctrl_c_says_the_class_files_are_an_earlier_run_s(tmp_path):
    """summary.html and grades.csv are written when a run ends: after a Ctrl-C those in OUT
    are the last finished run's, and a regraded student's result.json may contradict them."""
    (tmp_path / "summary.html").write_text("<p>last week</p>")
    (tmp_path / "grades.csv").write_text("name,score\n")
    run = _interrupted(tmp_path)
    assert run.returncode == 130, run.stderr
    assert "summary.html and grades.csv are still the last finished run's" in run.stderr


def test_a_batch_s_log_holds_no_progress_bar(small_class, tmp_path):
    """Run with its stderr in a file (a scheduler's log, `2> log`), a batch wrote the progress
    bar's every redraw there; the bar is for a terminal."""
    from conftest import ROOT

    run = subprocess.run(
        [sys.executable, "-m", "grader.cli", "grade", str(small_class), "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    assert run.returncode == 0, run.stderr
    assert "graded 3, reused 0" in run.stdout
    assert "grading:" not in run.stderr and "submission/s" not in run.stderr


def test_ctrl_c_of_a_forced_run_says_to_go_on_without_force(tmp_path):
    """A --force run stopped midway said "run the same command again to grade the rest": the
    same command, --force and all, regraded what it had finished too."""
    run = _interrupted(tmp_path, "--force")
    assert run.returncode == 130, run.stderr
    assert "run the same command without --force again to grade the rest" in run.stderr


INTERRUPTED_WHILE_TORCH_LOADS = """
import sys
from grader import cli

def _prestart_sandbox(*args, **kwargs):
    raise KeyboardInterrupt  # Ctrl-C in the first seconds: the sandbox starting, torch loading

cli._prestart_sandbox = _prestart_sandbox
cli.main(["grade", sys.argv[1], "--out", sys.argv[2], "--no-progress"])
"""


TERMINATED_WHILE_TORCH_LOADS = """
import os, signal, sys
from grader import cli

def _prestart_sandbox(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGTERM)  # `timeout` or a scheduler, in the first seconds

cli._prestart_sandbox = _prestart_sandbox
cli.main(["grade", sys.argv[1], "--out", sys.argv[2], "--no-progress"])
"""


@pytest.mark.parametrize(
    ("script", "code"),
    [(INTERRUPTED_WHILE_TORCH_LOADS, 130), (TERMINATED_WHILE_TORCH_LOADS, 143)],
    ids=["ctrl-c", "sigterm"],
)
def test_a_stop_while_the_grader_starts_says_how_to_go_on(tmp_path, script, code):
    """Ctrl-C in a batch's first seconds (its sandbox starting, torch loading: before the
    batch's own handlers) printed click's "Aborted!" and exited 1, and SIGTERM there (`timeout
    2 grader grade ...`) ended it without a word, where the README promises the stop's message
    and exit 130 (143); the results folder it had just made stayed, empty."""
    from conftest import ROOT

    (tmp_path / "class").mkdir()
    run = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "class"), "new"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == code, run.stderr
    assert "Aborted" not in run.stderr
    assert "interrupted: stopped before grading began, nothing written" in run.stderr
    assert "run the same command again" in run.stderr
    assert not (tmp_path / "new").exists()


class _Stop(Exception):
    """Raised where the grading would start: what was asked for is all this test needs."""


@pytest.mark.parametrize("command", ["grade", "check", "gradescope-run"])
def test_every_grading_command_keeps_what_it_reads_and_writes_out_of_the_sandboxs_reach(
    command, tmp_path, monkeypatch
):
    """Without Landlock, a way in to a Python under a closed folder is a way out of it
    (inside/reach.py): a red team's student read another student's upload and the batch's
    results beside the `.venv`. Each command names the paths it reads and writes, to the
    sandbox it prestarts and to its grader, so that no way in leads to them."""
    from grader import pipeline
    from grader.sandbox import launch

    told: dict[str, list[str]] = {}
    monkeypatch.setattr(
        launch, "prestart", lambda *a, keep_out=(), **k: told.update(prestart=keep_out)
    )

    def grader(self, *args, keep_out=(), **kwargs) -> None:
        told["grader"] = keep_out
        raise _Stop

    monkeypatch.setattr(pipeline.Grader, "__init__", grader)
    uploads, out, root = tmp_path / "uploads", tmp_path / "out", tmp_path / "autograder"
    uploads.mkdir()
    args, wanted = {
        "grade": (["grade", str(uploads), "--out", str(out)], {uploads, out}),
        "check": (["check", str(uploads)], {uploads}),
        "gradescope-run": (
            ["gradescope-run", "--root", str(root)],
            {root / "submission", root / "results"},
        ),
    }[command]
    CliRunner().invoke(main, args)
    assert {Path(p) for p in told["prestart"]} == wanted
    assert {Path(p) for p in told["grader"]} == wanted


def test_grade_makes_out_before_it_starts_the_sandbox(tmp_path, monkeypatch):
    """Where OUT lies in a folder the sandbox binds (a virtual environment made in the course's
    folder), only a folder that exists when the sandbox starts is covered: results written into
    one made later were readable to every student graded after them."""
    from grader.sandbox import launch

    out = tmp_path / "course" / "reports"
    existed: list[bool] = []
    monkeypatch.setattr(launch, "prestart", lambda *a, **k: existed.append(out.is_dir()))
    uploads = make_class(tmp_path / "class", {"ada": {}})
    CliRunner().invoke(main, ["grade", str(uploads), "--out", str(out), "--no-progress"])
    assert existed == [True]


@pytest.mark.parametrize("where", ["a file", "below a file"])
def test_an_out_that_cannot_be_made_is_named_with_the_fix(tmp_path, where):
    notes = tmp_path / "notes.txt"
    notes.write_text("a TA's notes")
    out = notes if where == "a file" else notes / "reports"
    uploads = make_class(tmp_path / "class", {"ada": {}})
    result = CliRunner().invoke(main, ["grade", str(uploads), "--out", str(out)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert str(out) in result.output and "give --out a folder" in result.output
    assert notes.read_text() == "a TA's notes"


def test_results_kept_inside_the_class_folder_are_not_graded_as_a_student(small_class):
    out = small_class / "reports"
    grade(str(small_class), "--out", str(out))
    printed = grade(str(small_class), "--out", str(out))
    assert "graded 0, reused 3" in printed and "3 submissions in all" in printed
    assert not (out / "reports").exists()


@pytest.mark.parametrize("given", ["missing", "empty"])
def test_a_path_that_cannot_be_graded_leaves_no_empty_results_folder(tmp_path, given):
    """OUT is made before the sandbox starts (out_folder.make_out); an input that turns out not to
    be gradable takes it away again, with the folders made for it, as long as they are empty.
    The sandbox started for it ends too: it waited in the process that ran the command (this
    one), whose next `prestart(2)` then found it and launched no nested pair of its own."""
    from grader.sandbox import launch

    (tmp_path / "empty").mkdir()
    (tmp_path / "kept").mkdir()
    out = tmp_path / "kept" / "course" / "reports"
    result = CliRunner().invoke(main, ["grade", str(tmp_path / given), "--out", str(out)])
    left = launch.hand_over()
    launch.reap(left, seconds=0)  # never left for the next test, even when this one fails
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert not (tmp_path / "kept" / "course").exists() and (tmp_path / "kept").is_dir()
    assert left == [], "a sandbox started for the command outlived it"


PRESTART_PROBE = """
import sys
from click.testing import CliRunner
from grader import cli
from grader.sandbox import launch

def prestart(*args, **kwargs):
    said = f"torch imported before the sandbox started: {'torch' in sys.modules}"
    sys.__stdout__.write(said + chr(10))  # CliRunner captures print()
    sys.__stdout__.flush()
    raise SystemExit(0)

launch.prestart = prestart
CliRunner().invoke(cli.main, sys.argv[1:], catch_exceptions=False)
"""


@pytest.mark.parametrize("command", ["grade", "check", "gradescope-run"])
def test_every_grading_command_starts_the_sandbox_before_it_imports_torch(command, tmp_path):
    """The zygote imports torch while the command does: the two imports run at once on two
    cores. Making OUT through batch.py imported torch first (its pipeline) and cost a cold
    grading about 0.9 s, which no test saw."""
    uploads = make_class(tmp_path / "class", {"ada": {}})
    args = {
        "grade": ["grade", str(uploads), "--out", str(tmp_path / "out")],
        "check": ["check", str(uploads / "ada")],
        "gradescope-run": ["gradescope-run", "--root", str(tmp_path / "autograder")],
    }[command]
    done = subprocess.run(
        [sys.executable, "-c", PRESTART_PROBE, *args], capture_output=True, text=True, timeout=120
    )
    assert "torch imported before the sandbox started: False" in done.stdout, done.stderr


def test_train_help_fits_every_assignment():
    """`grader train -a layer-by-layer --help` spoke of an exercise-3 backward and EXERCISE3."""
    out = CliRunner().invoke(main, ["train", "-a", "layer-by-layer", "--help"]).output
    assert "FILE" in out and "exercise" not in out.casefold(), out


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_an_out_that_takes_no_more_writes_stops_the_batch_with_the_fix(small_class, tmp_path, jobs):
    """A full disk, a quota, a folder made read-only: every write into OUT fails alike. The
    batch stopped with a traceback (after writing a "grader failed" result for the submission,
    or failing to); it stops with what went wrong and how to go on, every result it wrote is
    whole, and the same command, with room again, grades the rest. Files are held to 60 kB
    here (RLIMIT_FSIZE, the same for root), which a complete submission's result passes."""
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "grader.cli", "grade", str(small_class), "--out", str(out)]
    cmd += ["--no-progress", "-j", jobs]
    limit = "import os, resource, sys; resource.setrlimit(resource.RLIMIT_FSIZE, (60_000,) * 2)"
    limited = [sys.executable, "-c", f"{limit}; os.execv(sys.argv[1], sys.argv[1:])", *cmd]
    full = subprocess.run(limited, capture_output=True, text=True)
    assert full.returncode == 1 and "Traceback" not in full.stderr, full.stderr
    assert "cannot write the results" in full.stderr and "run the same command again" in full.stderr
    assert not (out / "ada" / "result.json").exists() and not (out / "summary.json").exists()
    for p in out.glob("*/result.json"):
        assert json.loads(p.read_text())["fingerprint"]  # whole, and never a grader failure
    again = subprocess.run(cmd, capture_output=True, text=True, check=True)
    assert "3 submissions in all" in again.stdout
    assert json.loads((out / "ada" / "result.json").read_text())["score"] == 100.0


def test_a_batch_stopped_by_a_full_out_says_the_class_files_are_the_last_runs(
    small_class, tmp_path
):
    """A full disk stopped a regrade with "every result written so far is kept", and not a
    word of grades.csv and summary.html: those were the last finished run's, disagreeing with
    the results regraded since (grades.csv 92.8571 beside a result.json of 100), where a stop
    by Ctrl-C says so. Files are held to 60 kB, which a complete submission's result passes."""
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "grader.cli", "grade", str(small_class), "--out", str(out)]
    cmd += ["--no-progress"]
    subprocess.run(cmd, capture_output=True, text=True, check=True)
    limit = "import os, resource, sys; resource.setrlimit(resource.RLIMIT_FSIZE, (60_000,) * 2)"
    limited = [sys.executable, "-c", f"{limit}; os.execv(sys.argv[1], sys.argv[1:])", *cmd]
    full = subprocess.run([*limited, "--force"], capture_output=True, text=True)
    assert full.returncode == 1 and "cannot write the results" in full.stderr, full.stderr
    assert "summary.html and grades.csv are still the last finished run's" in full.stderr


@pytest.mark.parametrize("given", ["the results folder", "a student's results"])
def test_a_path_the_batch_writes_its_results_into_is_refused(small_class, tmp_path, given):
    """`grader grade reports` (--out's default is `reports`) read the results folder as a class
    of students without files and graded each anew: every result, report and the gradebook
    replaced by zeros. So was `grader grade reports/ada --out reports --one` (without --one, a
    folder without exercise files is refused anyway). Both are refused; nothing changes."""
    out = tmp_path / "reports"
    grade(str(small_class), "--out", str(out))
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    args = [str(out)] if given == "the results folder" else [str(out / "ada"), "--one"]
    result = CliRunner().invoke(main, ["grade", *args, "--out", str(out), "--no-progress"])
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    assert "give PATH" in result.output
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


@pytest.mark.parametrize(
    ("command", "default"),
    [
        ("check", "default: the current folder"),
        ("examples", "default: build/examples"),
        ("bundle", "[default: dist]"),
        ("gradescope-zip", "[default: dist]"),
        ("train", "default: US census"),
    ],
)
def test_help_names_where_a_command_reads_or_writes_by_default(command, default):
    """`grader bundle --help` showed `--out PATH` alone: a TA could not tell where the zip went
    (dist/), nor what `grader check` with no folder or `grader train` with no --data read."""
    out = CliRunner().invoke(main, [command, "--help"]).output
    assert default in " ".join(out.split()), out


def test_grade_help_names_every_shape_of_path():
    """The first line of `grader grade --help` named a Gradescope export but no LMS download."""
    out = CliRunner().invoke(main, ["grade", "--help"]).output
    assert "LMS download" in " ".join(out.split("Options:")[0].split()), out


@pytest.mark.parametrize("command", ["grade", "check"])
def test_words_beyond_the_one_path_are_refused_naming_unquoted_spaces(command, tmp_path):
    """`grader grade Week 3` (a folder named "Week 3", unquoted) was told only click's "Got
    unexpected extra argument (3)"; nothing is graded or written."""
    out = tmp_path / "out"
    options = ["--out", str(out)] if command == "grade" else []
    result = CliRunner().invoke(main, [command, "Week", "3", *options])
    assert result.exit_code == 2
    assert (
        'one PATH is read, and 2 were given (Week, 3); a name with spaces needs quotes ("Week 3")'
        in result.output
    )
    assert not out.exists()


def _open_files(soft: int, hard: int | None = None):
    """A child's limit on open files, as a shell's `ulimit -Sn` (or `-n`, both) would set it."""
    import resource

    def limit() -> None:
        now = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, now if hard is None else hard))

    return limit


def test_a_low_soft_limit_on_open_files_is_raised_for_the_grading():
    """Under `ulimit -Sn 160` (the hard limit far above) `grader check` of the solutions said
    "the grader could not judge some items: OSError: [Errno 24] Too many open files" on every
    row: a grading holds 160-300 files open. The grader raises its own soft limit."""
    from conftest import SOLUTIONS

    done = subprocess.run(
        [sys.executable, "-m", "grader.cli", "check", str(SOLUTIONS)],
        capture_output=True,
        text=True,
        preexec_fn=_open_files(160),
        timeout=300,
    )
    assert "36 of 36 items passed" in done.stdout, done.stdout + done.stderr
    assert "Too many open files" not in done.stdout + done.stderr


def test_a_hard_limit_too_low_for_a_grading_is_said_with_the_fix():
    said = subprocess.run(
        [sys.executable, "-c", "from grader.sandbox.launch import *; print(room_for_open_files())"],
        capture_output=True,
        text=True,
        preexec_fn=_open_files(160, 160),
        timeout=60,
    )
    assert said.stdout.startswith("warning: this process may open 160 files"), said
    assert "raise the limit to at least 512 (`ulimit -n 512`" in said.stdout


def test_grader_check_prints_no_escape_sequence_a_result_holds(tmp_path, monkeypatch, capsys):
    """`grader check`, which a TA may run on a student's upload, printed the table and the
    grader's error as the result held them: what student code printed, raised or named, escape
    sequences included (`ESC ] 52` writes the clipboard). Every line it prints is now inert."""
    from grader import check

    drives = "\x1b]52;c;ZXZpbA==\x07\x9b2J\u202e"
    item = {
        "id": "exercise1.dlogprobs",
        "exercise": "exercise1",
        "status": "error",
        "message": f"ValueError: {drives}",
        "cases": [{"status": "error", "message": f"ValueError: {drives}"}],
        "extra": {"grader_error": f"KeyError: {drives}"},
    }

    class Graded:
        def to_json(self) -> dict:
            return {"items": [item], "output": {"exercise1": drives}, "student": {}}

    class Grader:
        def __init__(self, *args, **kwargs) -> None:
            self.assignment = type("A", (), {"files": ("exercise1",)})

        def grade(self, sub) -> Graded:
            return Graded()

        def close(self) -> None:
            pass

    monkeypatch.setattr(check, "Grader", Grader)
    (tmp_path / "exercise1.py").write_text("x = 1\n")
    assert check.run_check(tmp_path) == 0
    printed = capsys.readouterr().out
    assert "could not judge" in printed and "KeyError: \\x1b]52" in printed
    assert not [c for c in printed if c not in "\n\t" and not c.isprintable()]
