"""A batch over a class: resumable, atomic, parallel, and never stopped by one submission."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import solution

from grader.batch import grade_batch

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


def test_parallel_and_serial_batches_agree(small_class, tmp_path):
    def strip(results):
        return [
            {k: v for k, v in r.items() if k not in ("graded_at", "duration_s", "timing")}
            for r in results
        ]

    serial = grade_batch(small_class, tmp_path / "serial", jobs=1, progress=False)
    parallel = grade_batch(small_class, tmp_path / "parallel", jobs=2, progress=False)
    assert strip(serial) == strip(parallel)


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
