"""A batch over a class: resumable, atomic, parallel, and never stopped by one submission."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path
from urllib.parse import unquote

import pytest
from conftest import solution

from grader.batch import grade_batch
from grader.report.summary import digest, gradebook_csv, summarize
from grader.report.terminal import terminal_summary

ALL = ("exercise1", "exercise2", "exercise3")
SLOW_IMPORT = "import time\ntime.sleep(3)\n"


def make_class(root: Path, students: dict[str, dict[str, str]]) -> Path:
    for name, files in students.items():
        (root / name).mkdir(parents=True)
        for f, src in files.items():
            (root / name / f"{f}.py").write_text(src)
    return root


def graded_at(out: Path) -> dict[str, str]:
    return {
        p.parent.name: json.loads(p.read_text())["graded_at"] for p in out.glob("*/result.json")
    }


@pytest.fixture
def small_class(tmp_path: Path) -> Path:
    return make_class(
        tmp_path / "class",
        {
            "ada": {"exercise2": solution("exercise2")},
            "bob": {"exercise2": solution("exercise2").replace("/ n", "", 1)},
            "cy": {"exercise2": "import os\nos._exit(3)\n"},  # kills its process at import
        },
    )


def test_a_second_run_regrades_nothing_but_rebuilds_the_summary(small_class, tmp_path):
    out = tmp_path / "out"
    grade_batch(small_class, out, progress=False)
    first = graded_at(out)
    (out / "summary.json").unlink()
    time.sleep(1.1)  # graded_at has one-second resolution
    grade_batch(small_class, out, progress=False)
    assert graded_at(out) == first
    assert json.loads((out / "summary.json").read_text())


def test_a_changed_submission_or_force_is_graded_again(small_class, tmp_path):
    out = tmp_path / "out"
    grade_batch(small_class, out, progress=False)
    first = graded_at(out)
    time.sleep(1.1)
    (small_class / "bob" / "exercise2.py").write_text(solution("exercise2"))
    grade_batch(small_class, out, progress=False)
    second = graded_at(out)
    assert {k for k in first if first[k] != second[k]} == {"bob"}
    time.sleep(1.1)
    grade_batch(small_class, out, force=True, progress=False)
    assert all(graded_at(out)[k] != second[k] for k in second)


def test_one_broken_submission_never_stops_the_batch(small_class, tmp_path):
    results = {r["submission"]: r for r in grade_batch(small_class, tmp_path / "o", progress=False)}
    assert results["ada"]["exercises"]["exercise2"]["score"] == 20
    assert results["bob"]["exercises"]["exercise2"]["score"] == 10  # dlogits lost, dhprebn kept
    cy = {i["id"]: i for i in results["cy"]["items"]}
    assert cy["exercise2.dlogits"]["status"] == "error"
    assert "import" in cy["exercise2.dlogits"]["message"]


@pytest.mark.parametrize("jobs", [1, 2])
def test_names_and_messages_utf8_cannot_hold_never_cost_a_report(tmp_path, jobs):
    """A folder and a file named in another encoding (a Windows zip unpacked with `unzip`) and
    student code that raises with a lone surrogate: every student is graded on their code and
    reported, and the batch ends with its summary and gradebook."""
    root = make_class(
        tmp_path / "class",
        {
            "ada": {"exercise2": solution("exercise2")},
            "eve": {"exercise2": 'raise ValueError("lone: " + chr(0xD800))\n'},
        },
    )
    jurgen = os.fsencode(root) + b"/J\xfcrgen"
    os.mkdir(jurgen)
    with open(jurgen + b"/exercise2.py", "w") as f:
        f.write(solution("exercise2"))
    with open(os.fsencode(root) + b"/ada/\xdcbung.txt", "w") as f:
        f.write("notes")
    out = tmp_path / "out"
    results = {r["submission"]: r for r in grade_batch(root, out, jobs=jobs, progress=False)}
    scores = {n: r["exercises"]["exercise2"]["score"] for n, r in results.items()}
    assert scores == {"ada": 20, "Jürgen": 20, "eve": 0}
    eve = {i["id"]: i for i in results["eve"]["items"]}
    assert eve["exercise2.dlogits"]["status"] == "error"
    assert "lone: \ufffd" in eve["exercise2.dlogits"]["message"]
    for folder in ("ada", "Jürgen", "eve"):
        json.loads((out / folder / "result.json").read_bytes().decode("utf-8"))
        assert (out / folder / "report.html").is_file()
    assert "Jürgen" in (out / "grades.csv").read_text(encoding="utf-8")
    assert (out / "summary.html").is_file()


def test_the_class_is_in_one_natural_order_on_every_page_and_the_gradebook(tmp_path):
    """grades.csv listed submission_10 before submission_2 (and Submission_3 before alice),
    the code points' order, while summary.html's column sort reads numbers as numbers: the
    batch, its summary, its gradebook and its terminal list now share that order."""
    names = ["submission_10", "alice", "Zoë", "submission_2", "Submission_3", "submission_1"]
    names += ["Bob", "Émile"]
    for name in names:
        (tmp_path / "class" / name).mkdir(parents=True)
        (tmp_path / "class" / name / "notes.txt").write_text("no exercise files")
    out = tmp_path / "o"
    batch = grade_batch(tmp_path / "class", out, progress=False)
    want = ["alice", "Bob", "Émile", "submission_1", "submission_2", "Submission_3"]
    want += ["submission_10", "Zoë"]
    assert [r["submission"] for r in batch] == want
    with open(out / "grades.csv", newline="", encoding="utf-8") as f:
        assert [row["submission"] for row in csv.DictReader(f)] == want
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert [s["submission"] for s in summary["students"]] == want
    html = (out / "summary.html").read_text(encoding="utf-8")
    links = [unquote(a) for a in re.findall(r'href="([^"/]+)/report\.html"', html)]
    assert list(dict.fromkeys(links)) == want
    text = terminal_summary(batch, batch.folders, graded=8, reused=0, out=out, is_batch=True)
    listed = [line.split(":")[0].strip() for line in text.splitlines() if line.startswith("  ")]
    assert listed == want


def test_a_name_too_long_for_a_folder_is_cut_to_fit(tmp_path):
    """An LMS display name is the student's to choose: 100 emoji (400 bytes of UTF-8) is more
    than a file system holds in one name. The folder is cut to fit; the grading goes on."""
    download = tmp_path / "moodle.zip"
    with zipfile.ZipFile(download, "w") as zf:
        for who in ("Ada Lovelace_1001", "😀" * 100 + "_1002"):
            zf.writestr(f"{who}_assignsubmission_file_/exercise2.py", solution("exercise2"))
    out = tmp_path / "out"
    results = grade_batch(download, out, jobs=2, progress=False)
    assert [r["exercises"]["exercise2"]["score"] for r in results] == [20, 20]
    folders = [p for p in out.iterdir() if p.is_dir()]
    assert len(folders) == 2 and all((p / "report.html").is_file() for p in folders)
    assert max(len(os.fsencode(p.name)) for p in folders) <= 200


def test_parallel_and_serial_batches_agree(small_class, tmp_path, monkeypatch):
    # In a memory-limited container a process's headroom is its share of what was left, and
    # -j 2 keeps twice the processes alive (test_a_batch_s_student_processes_share_...): the
    # grading, not the split, is compared here, as on a machine without a limit.
    from grader.sandbox import launch

    monkeypatch.setattr(launch, "_memory_at_start", [None])

    def strip(results):
        return [
            {k: v for k, v in r.items() if k not in ("graded_at", "duration_s", "timing")}
            for r in results
        ]

    serial = grade_batch(small_class, tmp_path / "serial", jobs=1, progress=False)
    parallel = grade_batch(small_class, tmp_path / "parallel", jobs=2, progress=False)
    assert strip(serial) == strip(parallel)
    on_disk = [
        [json.loads((out.out / f / "result.json").read_text()) for f in out.folders]
        for out in (serial, parallel)
    ]
    assert strip(on_disk[0]) == strip(on_disk[1])


def test_a_batch_s_student_processes_share_the_container_s_memory(
    small_class, tmp_path, monkeypatch
):
    """With -j 2, two gradings keep a process per exercise file each alive at once: given what
    the container had left each, together they reached its OOM killer, which took another
    student's process (a 768 MB cgroup: 18.86 points of an honest student lost). Each student
    process of the batch now gets a sixth of it, and the result says so."""
    from grader.assignment import load
    from grader.sandbox import launch
    from grader.sandbox.memory import Cgroup

    mib = 1 << 20
    monkeypatch.setattr(launch, "_memory_at_start", [Cgroup(768 * mib, 300 * mib)])
    batch = grade_batch(small_class, tmp_path / "out", jobs=2, progress=False)
    at_once = 2 * len(load().files)
    share = (768 - 300 - 96) * mib // at_once
    for folder in batch.folders:
        isolation = json.loads((batch.out / folder / "result.json").read_text())["isolation"]
        assert isolation["limits"]["memory_bytes_above_torch"] == share
        note = f"split between the {at_once} student processes that can run at once"
        assert any(note in n for n in isolation["notes"]), isolation["notes"]
    ada = json.loads((batch.out / "ada" / "result.json").read_text())
    second = [i["status"] for i in ada["items"] if i["id"].startswith("exercise2.")]
    assert second and set(second) == {"passed"}, second


def test_the_summary_from_digests_is_the_summary_from_whole_results(small_class, tmp_path):
    """The batch keeps digests (no cases) to keep its memory flat; nothing it draws may change."""
    batch = grade_batch(small_class, tmp_path / "o", progress=False)
    whole = [json.loads((batch.out / f / "result.json").read_text()) for f in batch.folders]
    assert all("cases" not in i for r in batch for i in r["items"])
    assert any(r["file_failures"] for r in batch), "the class has a file that cannot be used"
    from_whole, from_digests = summarize(whole, batch.folders), summarize(batch, batch.folders)
    from_whole.pop("generated_at"), from_digests.pop("generated_at")
    assert from_whole == from_digests
    assert gradebook_csv(whole) == gradebook_csv(batch)


@pytest.mark.parametrize("jobs", [1, 2])
def test_digests_that_come_back_with_the_grading_are_those_of_the_files(
    small_class, tmp_path, jobs, monkeypatch
):
    """A batch takes each digest from the grading that wrote the file instead of parsing every
    result.json again; they must be exactly what the files give, and only results kept from an
    earlier run are read."""
    import grader.batch as batch_module

    reads = []
    real_read = batch_module._read_result
    monkeypatch.setattr(batch_module, "_read_result", lambda f: reads.append(f) or real_read(f))
    batch = grade_batch(small_class, tmp_path / "o", jobs=jobs, progress=False)
    assert reads == []
    from_files = [digest(real_read(batch.out / f)) for f in batch.folders]
    assert list(batch) == from_files
    again = grade_batch(small_class, tmp_path / "o", jobs=jobs, progress=False)
    assert len(reads) == len(batch.folders) and list(again) == from_files


def test_a_batch_killed_midway_resumes_where_it_stopped(tmp_path):
    """Kill the whole command while it grades; every result on disk is whole, and the same
    command finishes the rest without regrading what was done."""
    slow = {"exercise2": SLOW_IMPORT + solution("exercise2")}
    students = {f"s{i}": slow for i in range(4)}
    students["s0"] = {"exercise2": solution("exercise2")}
    root = make_class(tmp_path / "class", students)
    out = tmp_path / "out"
    cmd = [
        sys.executable,
        "-m",
        "grader.cli",
        "grade",
        str(root),
        "--out",
        str(out),
        "--no-progress",
    ]
    proc = subprocess.Popen(cmd, start_new_session=True, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not list(out.glob("*/result.json")) and time.monotonic() < deadline:
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done = graded_at(out)
    assert 1 <= len(done) < len(students), "kill it while it is still grading"
    assert not (out / "summary.json").exists()
    for p in out.glob("*/result.json"):
        json.loads(p.read_text())  # whole, never half-written
    subprocess.run(cmd, check=True, capture_output=True)
    assert not list(out.glob("*/.result.json.*")), "a half-written file is swept, not kept"
    after = graded_at(out)
    assert set(after) == set(students)
    assert {k: after[k] for k in done} == done
    assert json.loads((out / "summary.json").read_text())


def _group_is_gone(pgid: int, within_s: float = 20.0) -> bool:
    """Whether every process of a process group has ended (sandboxes die with their grader)."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.2)
    return False


def _slow_class(tmp_path: Path, jobs: str) -> tuple[dict, list[str], Path]:
    """Five students whose exercise 2 imports slowly but for the first's, and the command that
    grades them into tmp_path/out: a batch still grading when its first result is written."""
    slow = {"exercise2": SLOW_IMPORT + solution("exercise2")}
    students = {f"s{i}": slow for i in range(5)}
    students["s0"] = {"exercise2": solution("exercise2")}
    root = make_class(tmp_path / "class", students)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "grader.cli", "grade", str(root), "--out", str(out)]
    return students, [*cmd, "--no-progress", "-j", jobs], out


@pytest.mark.parametrize(
    "jobs, sig, to",
    [
        ("1", signal.SIGINT, os.killpg),
        ("2", signal.SIGINT, os.killpg),
        ("1", signal.SIGTERM, os.kill),
        ("2", signal.SIGTERM, os.killpg),
    ],
)
def test_ctrl_c_or_sigterm_stops_the_batch_at_once_and_a_rerun_finishes_it(tmp_path, jobs, sig, to):
    """Ctrl-C in a terminal sends SIGINT to the whole foreground process group: the batch,
    its grader processes and their sandboxes. It stops (exit 130) without waiting for the
    submissions in flight, leaves no process behind, saves no result for a submission it did
    not finish (a swallowed interrupt must not become a "grader failed" result), and the same
    command then grades exactly what is left. SIGTERM, to the batch's process (`kill PID`,
    `timeout`) or its group (a scheduler), does the same, exit 143 (it ended the batch with
    not a word of what was kept)."""
    students, cmd, out = _slow_class(tmp_path, jobs)
    proc = subprocess.Popen(
        cmd, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 120
    while not list(out.glob("*/result.json")) and time.monotonic() < deadline:
        time.sleep(0.1)
    to(proc.pid, sig)
    _, err = proc.communicate(timeout=20)  # a generous bound: it takes about a second
    assert proc.returncode == 128 + sig, err
    assert "interrupted: every result written so far is kept" in err
    assert "run the same command again" in err
    assert _group_is_gone(proc.pid), "a grader or sandbox process outlived the batch"
    done = graded_at(out)
    assert 1 <= len(done) < len(students), "interrupt it while it is still grading"
    for p in out.glob("*/result.json"):
        items = json.loads(p.read_text())["items"]
        assert not [i for i in items if (i.get("extra") or {}).get("grader_error")], p
    rerun = subprocess.run(cmd, capture_output=True, text=True, check=True)
    assert f"graded {len(students) - len(done)}, reused {len(done)}" in rerun.stdout
    after = graded_at(out)
    assert set(after) == set(students) and {k: after[k] for k in done} == done


def _group_members(pgid: int) -> list[int]:
    """The live (not zombie) processes of a process group, read from /proc."""
    members = []
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if stat[0] != "Z" and int(stat[2]) == pgid:
            members.append(int(entry.name))
    return members


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_grader_processes_end_with_the_batch_that_forked_them(tmp_path, sig):
    """A signal to the batch's process alone (`kill PID`, `timeout`, a scheduler, the OOM
    killer) left its grader processes orphaned for good, each blocked on a queue nobody would
    fill or read, holding its sandbox. They end with it now, and the same command finishes."""
    students, cmd, out = _slow_class(tmp_path, "2")
    proc = subprocess.Popen(cmd, start_new_session=True, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not list(out.glob("*/result.json")) and time.monotonic() < deadline:
            time.sleep(0.1)
        os.kill(proc.pid, sig)
        proc.wait()
        deadline = time.monotonic() + 20  # a generous bound: they end at once
        while _group_members(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _group_members(proc.pid) == [], "a grader process outlived the batch"
    finally:
        for pid in _group_members(proc.pid):  # whatever outlived it, never left running
            os.kill(pid, signal.SIGKILL)
    subprocess.run(cmd, capture_output=True, check=True)
    assert set(graded_at(out)) == set(students)


def test_half_written_files_of_a_killed_run_are_swept_and_nothing_else(tmp_path):
    from grader.batch import _sweep_temporaries

    out = tmp_path / "out"
    stale = [out / ".grades.csv.k3j2", out / ".summary.html.x9", out / "ada" / ".result.json.a1"]
    kept = [out / "ada" / "result.json", out / "notes.txt", out / "ada" / ".keep.me.x"]
    for p in stale + kept:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("x")
    _sweep_temporaries(out)
    assert [p for p in stale if p.exists()] == []
    assert all(p.exists() for p in kept)


def _dies_grading(names: set[str], marker: Path | None):
    """A stand-in for grading that kills its grader process on the named submissions (once,
    when `marker` is given and not there yet; always otherwise)."""
    import grader.batch as batch

    real = batch._grade_and_write

    def grade(grader, sub, out):
        if sub.name in names and (marker is None or not marker.exists()):
            if marker is not None:
                marker.touch()
            os._exit(1)  # as a segfault or the OOM killer would end it
        real(grader, sub, out)

    return grade


@pytest.mark.parametrize(("early_zygotes", "jobs"), [(False, 2), (True, 2), (True, 1)])
def test_a_grader_process_that_dies_costs_a_retry_in_a_fresh_pool(
    small_class, tmp_path, monkeypatch, early_zygotes, jobs
):
    """With the zygotes launched before the batch too: the fresh pool's processes find none left
    to adopt and start their own. With -j 1 as well: its one grader process is not the batch's
    (a death there once ended the batch, and everyone after the one who caused it)."""
    import grader.batch as batch
    from grader.sandbox import launch

    if early_zygotes:
        launch.prestart(jobs)
    monkeypatch.setattr(batch, "_grade_and_write", _dies_grading({"bob"}, tmp_path / "died"))
    results = {
        r["submission"]: r
        for r in grade_batch(small_class, tmp_path / "o", jobs=jobs, progress=False)
    }
    assert (tmp_path / "died").exists()  # it did die once
    assert results["bob"]["exercises"]["exercise2"]["score"] == 10  # graded on the retry
    assert results["ada"]["exercises"]["exercise2"]["score"] == 20
    assert launch._early == []


def test_the_progress_bar_starts_no_thread_before_the_grader_processes_are_forked(monkeypatch):
    """tqdm's monitor thread takes tqdm's lock every few seconds: a fork at that moment would
    leave the grader process a lock nobody releases."""
    import tqdm

    from grader.batch import _Bar

    monkeypatch.setattr(tqdm.tqdm, "monitor", None)  # as in a process that never had a bar
    before = set(threading.enumerate())
    bar = _Bar(total=3, file=io.StringIO(), mininterval=0)
    bar.update()
    started = set(threading.enumerate()) - before
    bar.close()
    assert not started, [t.name for t in started]


def _deaf_to_sigterm(ready) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # as every grader process does
    ready.set()
    time.sleep(600)


def test_a_broken_pool_s_survivors_end_although_they_ignore_sigterm():
    """Python 3.12's pool ends the survivors of a death with terminate() alone, then waits for
    them (3.11 also sends each an empty task): a grader process, deaf to SIGTERM, kept the
    batch waiting for good. Its terminate() is a SIGKILL."""
    from grader.batch import _GraderProcesses

    ctx = _GraderProcesses()
    ready = ctx.Event()
    proc = ctx.Process(target=_deaf_to_sigterm, args=(ready,))
    proc.start()
    try:
        assert ready.wait(60)
        proc.terminate()
        proc.join(60)
        assert proc.exitcode == -signal.SIGKILL
    finally:
        proc.kill()
        proc.join()


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_submission_that_kills_its_grader_process_fails_alone(
    small_class, tmp_path, monkeypatch, jobs
):
    """Its pool breaks under everyone in it; the others are graded again, not failed with it."""
    import grader.batch as batch

    monkeypatch.setattr(batch, "_grade_and_write", _dies_grading({"bob"}, None))
    results = {
        r["submission"]: r
        for r in grade_batch(small_class, tmp_path / "o", jobs=jobs, progress=False)
    }
    assert results["ada"]["exercises"]["exercise2"]["score"] == 20  # untouched by bob's deaths
    for other in ("ada", "cy"):
        result = json.loads((tmp_path / "o" / other / "result.json").read_text())
        assert not [i for i in result["items"] if (i.get("extra") or {}).get("grader_error")]
    bob = json.loads((tmp_path / "o" / "bob" / "result.json").read_text())
    assert bob["score"] == 0
    assert all(i["status"] == "error" for i in bob["items"])
    assert "died twice while grading it alone" in bob["items"][0]["extra"]["grader_error"]


def test_pools_that_break_before_grading_anything_end_in_failures_not_a_loop(
    small_class, tmp_path, monkeypatch
):
    import grader.batch as batch

    monkeypatch.setattr(batch, "_start_grader_process", lambda counter, jobs, parent: os._exit(1))
    results = grade_batch(small_class, tmp_path / "o", jobs=2, progress=False)
    assert len(results) == 3
    for r in results:
        assert r["score"] == 0
        result = json.loads((tmp_path / "o" / r["submission"] / "result.json").read_text())
        assert "kept dying" in result["items"][0]["extra"]["grader_error"]


def _export(root: Path, submitters: dict[str, list[str]]) -> Path:
    """A Gradescope export: a folder per submission, who submitted each in its metadata."""
    for k, name in enumerate(submitters, 1):
        (root / name).mkdir(parents=True, exist_ok=True)
        (root / name / "exercise2.py").write_text(solution("exercise2") + f"\n# {k}\n")
    _submitters(root, submitters)
    return root


def _submitters(root: Path, submitters: dict[str, list[str]]) -> None:
    (root / "submission_metadata.yml").write_text(
        "".join(
            f"{name}:\n  :submitters:\n"
            + "".join(f"  - :name: {p}\n    :email: {p.lower()}@x.edu\n" for p in people)
            for name, people in submitters.items()
        )
    )


def test_a_result_kept_takes_who_submitted_it_and_its_notes_from_this_run(tmp_path):
    """The fingerprint covers the files, not who they belong to: a partner added to a group in
    the export's metadata, or a file that only adds a note, must reach result.json and
    grades.csv, without regrading anyone."""
    people = {"submission_1": ["Ada"], "submission_2": ["Bob"], "submission_3": ["Cy", "Di"]}
    export = _export(tmp_path / "export", people)
    out = tmp_path / "out"
    grade_batch(export, out, progress=False)
    first = graded_at(out)
    score = json.loads((out / "submission_3" / "result.json").read_text())["score"]
    _submitters(export, {**people, "submission_3": ["Cy", "Eve"]})
    (export / "submission_2" / "exercise2 (1).py").write_text("x = 1\n")  # read, not graded

    again = grade_batch(export, out, progress=False)

    assert (again.graded, again.reused) == (0, 3) and graded_at(out) == first
    third = json.loads((out / "submission_3" / "result.json").read_text())
    assert [m["name"] for m in third["student"]["members"]] == ["Cy", "Eve"]
    assert third["score"] == score
    second = json.loads((out / "submission_2" / "result.json").read_text())
    assert any("exercise2 (1).py" in n for n in second["student"]["notes"])
    rows = (out / "grades.csv").read_text().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["Ada", "Bob", "Cy", "Eve"]
    assert not any("Di" in r for r in rows)
    assert "Eve" in (out / "submission_3" / "report.html").read_text()
    # Nothing changed since: nothing is written again.
    written = {p: p.stat().st_mtime_ns for p in out.glob("*/result.json")}
    grade_batch(export, out, progress=False)
    assert {p: p.stat().st_mtime_ns for p in out.glob("*/result.json")} == written


def test_a_result_kept_keeps_the_review_flags_its_grading_raised_and_takes_the_others_anew():
    from types import SimpleNamespace

    from grader.pipeline import Grader
    from grader.submissions import Submission
    from grader.timing import REVIEW_SLOW

    now = {"flag": "download", "reason": "2 things unsure"}
    slow = {"flag": REVIEW_SLOW, "reason": "far slower than a derivation by hand"}
    sub = Submission("s", {"exercise2": b"x = 1\n"}, review=[now])
    old = {"review": [{"flag": "download", "reason": "1 thing unsure"}, slow]}
    grader = SimpleNamespace(assignment=SimpleNamespace(files=ALL, functions=()))  # no sandbox
    assert Grader.discovered(grader, sub, old)["review"] == [now, slow]


def test_a_result_kept_keeps_the_note_on_swapped_files():
    """A kept result's notes are this run's discovery's (`Grader.discovered`): the note on two
    exercise files saved under each other's names, which grading adds, was dropped from every
    result a later run kept."""
    from types import SimpleNamespace

    from grader.pipeline import Grader
    from grader.submissions import Submission

    functions = (("exercise1", ("dlogprobs", "dlogits")), ("exercise2", ("dlogits",)))
    swapped = {"exercise1": b"def dlogits(): ...\n", "exercise2": b"def dlogprobs(): ...\n"}
    grader = SimpleNamespace(assignment=SimpleNamespace(files=ALL, functions=functions))
    notes = Grader.discovered(grader, Submission("s", swapped), {})["student"]["notes"]
    (note,) = notes
    assert "the two files look swapped" in note, note
    assert note.endswith("rename exercise1.py to exercise2.py and exercise2.py to exercise1.py")


def test_a_regraded_result_leaves_no_students_copy_of_the_old_one(small_class, tmp_path):
    """A rerun without --student-reports once kept student-report.html drawn from the old
    result beside the new report: a TA who sends those copies sent the old score."""
    out = tmp_path / "out"
    grade_batch(small_class, out, progress=False, student_reports=True)
    copy = out / "bob" / "student-report.html"
    assert copy.exists() and (out / "ada" / "student-report.html").exists()
    (small_class / "bob" / "exercise2.py").write_text(solution("exercise2"))
    grade_batch(small_class, out, progress=False)
    assert not copy.exists()
    assert (out / "ada" / "student-report.html").exists()  # unchanged: still its result's copy
    grade_batch(small_class, out, progress=False, student_reports=True)
    score = json.loads((out / "bob" / "result.json").read_text())["score"]
    assert f"{score:g} / " in copy.read_text()


def test_a_students_copy_that_cannot_be_drawn_costs_no_other_student_theirs(
    small_class, tmp_path, monkeypatch
):
    """--student-reports drew the copies one after another, and one that raised (a report bug)
    ended the loop and the command: every student after it had no copy. That one gets no
    file (an old copy would give an old score) and is named to the TA; the others get theirs."""
    from grader.report import html

    real = html.render_report

    def breaks_on_ada(result, for_student=False):
        if for_student and result.get("submission") == "ada":
            raise RuntimeError("a bug in drawing this copy")
        return real(result, for_student=for_student)

    out = tmp_path / "out"
    grade_batch(small_class, out, progress=False, student_reports=True)
    monkeypatch.setattr(html, "render_report", breaks_on_ada)
    done = grade_batch(small_class, out, progress=False, student_reports=True)
    assert done.uncopied == ["ada"]
    assert not (out / "ada" / "student-report.html").exists()
    assert (out / "ada" / "report.html").exists()
    assert all((out / s / "student-report.html").exists() for s in ("bob", "cy"))
    text = terminal_summary(
        done,
        done.folders,
        graded=0,
        reused=3,
        out=out,
        is_batch=True,
        student_reports=True,
        uncopied=done.uncopied,
    )
    assert "no copy for ada: it could not be drawn" in text


def test_a_result_the_grader_could_not_judge_is_graded_again_by_the_next_run(
    small_class, tmp_path, monkeypatch
):
    """A sandbox that would not start (a machine short of memory for a moment) or suites that
    broke leave every item "the grader could not judge this item", for the TA to regrade. That
    result carried the current fingerprint, so every later run kept it ("reused") until
    --force, and the students kept their zeros; the next run grades it again."""
    from grader.pipeline import Grader

    def no_sandbox(self, sources, timer):
        raise RuntimeError("the sandbox could not start")

    monkeypatch.setattr(Grader, "_run", no_sandbox)
    out = tmp_path / "out"
    first = grade_batch(small_class, out, progress=False)
    assert [r["score"] for r in first] == [0, 0, 0]
    monkeypatch.undo()
    again = grade_batch(small_class, out, progress=False)
    assert (again.graded, again.reused) == (3, 0)
    assert again[0]["submission"] == "ada" and again[0]["score"] == 20.0


def test_a_second_batch_into_the_same_out_is_refused_while_the_first_runs(tmp_path):
    """Two batches writing one OUT interleave their results, and each sweeps the other's
    half-written files away as a killed run's leftovers. The first holds OUT (a lock on the
    folder, dropped however it ends); the second is told so, and nothing of OUT changes."""
    import fcntl

    from grader.submissions import SubmissionError

    root = make_class(tmp_path / "class", {"ada": {"exercise2": solution("exercise2")}})
    out = tmp_path / "out"
    out.mkdir()
    first = os.open(out, os.O_RDONLY | os.O_DIRECTORY)  # as a running batch holds it
    fcntl.flock(first, fcntl.LOCK_EX | fcntl.LOCK_NB)
    try:
        with pytest.raises(SubmissionError, match="another `grader grade` is writing into"):
            grade_batch(root, out, progress=False)
        assert list(out.iterdir()) == []
    finally:
        os.close(first)
    (result,) = grade_batch(root, out, progress=False)
    assert result["files"]["exercise2"] == "submitted"
    again = os.open(out, os.O_RDONLY | os.O_DIRECTORY)  # and it let go when it ended
    try:
        fcntl.flock(again, fcntl.LOCK_EX | fcntl.LOCK_NB)
    finally:
        os.close(again)


# An endless loop (a real timeout) and two allocations the process's memory share refuses:
# torch's allocator's RuntimeError, and a MemoryError the student's code turned into its own.
ENDLESS = "def dlogits(logits, Yb, n):\n    while True:\n        pass\n"
HOG = (
    "import torch\n\n\ndef dlogits(logits, Yb, n):\n    return torch.empty(1 << 42)\n\n\n"
    "def dhprebn(dhpreact, bngain, bnvar_inv, bnraw, n):\n    try:\n"
    "        bytearray(1 << 42)\n    except MemoryError:\n"
    "        raise ValueError('no room') from None\n"
)


def test_a_result_whose_verdict_a_limit_of_the_run_gave_is_graded_again(tmp_path, monkeypatch):
    """A timeout (a loaded machine) or a memory refusal (a memory share that -j and a tight
    container made small) is the run's verdict as much as the code's. Such a result carried
    the current fingerprint, so a TA who fixed the machine and ran the command again got
    the old verdicts back, every one "reused". It is graded again, counted as graded, with no
    review flag; an honest result beside it is still reused."""
    import functools

    from grader import batch
    from grader.pipeline import Grader
    from grader.sandbox.client import Limits

    # A shorter call limit than the default 10 s: the endless loop costs it once per run.
    monkeypatch.setattr(batch, "Grader", functools.partial(Grader, limits=Limits(call_seconds=4)))
    root = make_class(
        tmp_path / "class",
        {
            "ada": {"exercise2": solution("exercise2")},
            "hog": {"exercise2": HOG},
            "loops": {"exercise2": ENDLESS},
        },
    )
    out = tmp_path / "out"
    grade_batch(root, out, progress=False)
    first = graded_at(out)
    result = {s: json.loads((out / s / "result.json").read_text()) for s in first}
    assert "limits_reached" not in result["ada"]
    assert result["loops"]["limits_reached"] == [
        {"limit": "call_seconds", "at": "exercise2.dlogits"}
    ]
    assert sorted(result["hog"]["limits_reached"], key=str) == [
        {"limit": "memory", "at": "exercise2.dhprebn"},
        {"limit": "memory", "at": "exercise2.dlogits"},
    ]
    statuses = {i["id"]: i["status"] for i in result["hog"]["items"]}
    assert statuses["exercise2.dlogits"] == statuses["exercise2.dhprebn"] == "error"
    assert {i["id"]: i["status"] for i in result["loops"]["items"]}["exercise2.dlogits"] == (
        "timeout"
    )
    assert result["loops"]["review"] == result["hog"]["review"] == []  # no grader failure
    assert result["loops"]["fingerprint"] and result["hog"]["fingerprint"]

    time.sleep(1.1)  # graded_at has one-second resolution
    again = grade_batch(root, out, progress=False)

    assert (again.graded, again.reused) == (2, 1)
    second = graded_at(out)
    assert {s for s in first if first[s] != second[s]} == {"hog", "loops"}


def test_the_example_class_graded_again_is_reused_whole(tmp_path):
    """No honest result reaches a limit: the example class's second run grades nothing, and no
    result of it carries `limits_reached`."""
    from grader.examples import write_examples

    root = Path(__file__).resolve().parent.parent
    examples = tmp_path / "examples"
    write_examples(
        root / "solutions" / "backprop-ninja", root / "assignments" / "backprop-ninja", examples
    )
    out = tmp_path / "out"
    first = grade_batch(examples, out, progress=False, jobs=2)
    assert first.graded == len(first) == 8
    assert not [p for p in out.glob("*/result.json") if "limits_reached" in p.read_text()]
    again = grade_batch(examples, out, progress=False, jobs=2)
    assert (again.graded, again.reused) == (0, 8)


def test_the_closing_lines_say_which_results_the_next_run_grades_again(tmp_path):
    """A TA whose class came back with timeouts is told that the machine or -j may have given
    them and that the same command grades them again; a class with none is told nothing."""
    limited = {"submission": "loops", "score": 0.0, "max_score": 1.0, "items": []}
    limited["limits_reached"] = [{"limit": "call_seconds", "at": "exercise2.dlogits"}]
    honest = {"submission": "ada", "score": 1.0, "max_score": 1.0, "items": []}
    kw = {"graded": 2, "reused": 0, "out": tmp_path, "is_batch": True}
    text = terminal_summary([honest, limited], ["ada", "loops"], **kw)
    assert "1 submission holds a timeout or a memory refusal" in text
    assert "grades it again" in text.splitlines()[1]
    assert "timeout or a memory" not in terminal_summary([honest], ["ada"], **kw)
