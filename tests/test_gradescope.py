"""Gradescope: the autograder zip, run_autograder on hostile and broken input, results.json.

The zip is built, unpacked into a temporary AUTOGRADER_ROOT the way Gradescope lays it out
(the zip in root/source, run_autograder copied to root/), and run_autograder is run on several
submissions. Every results.json must validate against the JSON Schema of Gradescope's documented
format kept beside these tests, and its total must equal what the grader's own pipeline (`grader
grade`) gives the same submission. The runs happen once, in parallel, shared by every test.
"""

from __future__ import annotations

import copy
import fcntl
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import pytest
from conftest import (
    SOLUTIONS,
    STUBS,
    discover,
    item_from_json,
    mutated,
    never_hangs,
    solution,
)

from grader import seeding
from grader.backprop_ninja.cases import PUBLIC
from grader.gradescope.package import (
    PackageError,
    check_no_solutions,
    write_autograder_zip,
    zip_entries,
)
from grader.gradescope.results import hidden_details_needed, to_gradescope
from grader.gradescope.run import upload_listing
from grader.scoring import Rubric

SCHEMA = json.loads((Path(__file__).parent / "gradescope_schema.json").read_text())
FILES = ("exercise1.py", "exercise2.py", "exercise3.py")
ITEMS = 36  # 26 + 2 + 7 + training: every item of the rubric is one Gradescope test
IMPORT_SECONDS = "3"  # the hanging import costs 3 s instead of the default 20


# ---- the zip ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def autograder_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_autograder_zip(tmp_path_factory.mktemp("dist"))


@pytest.fixture(scope="module")
def members(autograder_zip: Path) -> dict[str, zipfile.ZipInfo]:
    with zipfile.ZipFile(autograder_zip) as zf:
        return {i.filename: i for i in zf.infolist()}


def read_member(zip_path: Path, name: str) -> str:
    with zipfile.ZipFile(zip_path) as zf:
        return zf.read(name).decode()


def test_zip_has_gradescope_layout(autograder_zip: Path, members: dict) -> None:
    assert autograder_zip.name == "backprop-ninja-autograder.zip"
    for script in ("setup.sh", "run_autograder"):
        assert script in members, f"{script} must sit at the zip's root"
        assert (members[script].external_attr >> 16) & 0o111, f"{script} must be executable"
    suites = {n for n in members if n.startswith("grader/backprop_ninja/suites/test_")}
    assert {Path(n).name for n in suites} == {f"test_{f}" for f in FILES}
    for needed in (
        "grader/backprop_ninja/hidden.py",
        "grader/backprop_ninja/rubric.yaml",
        "grader/sandbox/inside/zygote.py",
        "pyproject.toml",
        "constraints.txt",
        "requirements.txt",
    ):
        assert needed in members, f"{needed} is missing from the zip"


def test_rebuilding_gives_the_same_bytes(autograder_zip: Path, tmp_path: Path) -> None:
    again = write_autograder_zip(tmp_path)
    assert again.read_bytes() == autograder_zip.read_bytes()


def test_setup_installs_cpu_torch_into_its_own_venv(autograder_zip: Path) -> None:
    setup = read_member(autograder_zip, "setup.sh")
    assert "@TORCH_INDEX_URL@" not in setup, "the build must fill in the torch index"
    assert "https://download.pytorch.org/whl/cpu" in setup
    requirements = read_member(autograder_zip, "requirements.txt")
    assert "torch" in requirements and "pytest" in requirements
    assert "torch==" in read_member(autograder_zip, "constraints.txt")


def test_setup_claims_no_cpu_build_when_built_for_pypi() -> None:
    """A zip built with `GRADESCOPE_TORCH_INDEX=` installs PyPI's torch (the CUDA build on
    Linux): its setup.sh said in its header that it installs "the CPU build of torch", and
    above the install step that torch comes "from PyTorch's CPU wheel index"."""
    setup = zip_entries("")["setup.sh"][0].decode()
    comments = " ".join(line.lstrip("# ") for line in setup.splitlines() if line.startswith("#"))
    assert "the CPU build of torch" not in comments
    assert "from PyTorch's CPU wheel index:" not in comments
    assert "PyPI, whose Linux wheel is the CUDA build" in comments


def test_scripts_are_valid_bash(autograder_zip: Path, tmp_path: Path) -> None:
    for script in ("setup.sh", "run_autograder"):
        path = tmp_path / script
        path.write_text(read_member(autograder_zip, script))
        check = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True)
        assert check.returncode == 0, f"{script}: {check.stderr}"


def solution_lines() -> set[str]:
    """Non-trivial lines between the markers of solutions/*.py (written apart from package.py)."""
    lines = set()
    for path in SOLUTIONS.glob("*.py"):
        body = re.findall(r"# BEGIN SOLUTION\n(.*?)# END SOLUTION", path.read_text(), re.S)
        for block in body:
            for line in map(str.strip, block.splitlines()):
                generic = re.fullmatch(r"return \w+|\"\w+\": \w+,|\w+ = \(|[)\]}],?|#.*", line)
                if len(line) >= 12 and not generic:
                    lines.add(line)
    return lines


def test_zip_holds_no_solutions(autograder_zip: Path, members: dict) -> None:
    lines = solution_lines()
    assert len(lines) > 30, "the solutions' markers were not found: this test would prove nothing"
    assert not [n for n in members if n.startswith(("solutions/", "tests/", "examples/"))]
    assert not [n for n in members if "__pycache__" in n or n.endswith(".pyc")]
    with zipfile.ZipFile(autograder_zip) as zf:
        for name in members:
            text = zf.read(name).decode("utf-8", errors="replace")
            leaked = [line for line in lines if line in text]
            assert not leaked, f"{name} quotes the solutions: {leaked[:3]}"


def test_build_refuses_a_grader_that_quotes_a_solution() -> None:
    line = next(iter(sorted(solution_lines())))
    with pytest.raises(PackageError, match="grader/leak.py"):
        check_no_solutions({"grader/leak.py": (f"x = 1\n    {line}\n".encode(), 0o644)}, {line})


# ---- run_autograder on submissions -----------------------------------------------------------

HANG = "while True:\n    pass\n"


def write_files(folder: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)


def full(folder: Path) -> dict:
    write_files(folder, {f: (SOLUTIONS / f).read_text() for f in FILES})
    return {}


def stubs(folder: Path) -> dict:
    write_files(folder, {f: (STUBS / f).read_text() for f in FILES})
    return {}


def empty(folder: Path) -> dict:
    return {}


def wrong_files(folder: Path) -> dict:
    write_files(folder, {"my_backprop.py": solution("exercise1"), "notes.txt": "hi"})
    return {}


def zip_inside(folder: Path) -> dict:
    with zipfile.ZipFile(folder / "hw.zip", "w") as zf:
        zf.writestr("hw/exercise1.py", solution("exercise1"))
        zf.writestr("hw/exercise2.py", (STUBS / "exercise2.py").read_text())
        zf.writestr("__MACOSX/hw/._exercise1.py", "junk")
    return {}


def hostile_names(folder: Path) -> dict:
    """A zip whose entry names hold line breaks and a right-to-left override: the upload's
    listing quotes them into the grader's notes on the missing exercises."""
    with zipfile.ZipFile(folder / "hw.zip", "w") as zf:
        zf.writestr("hw/exercise1.py", solution("exercise1"))
        zf.writestr("hw/evil\nScore: 100 / 100\n.txt", "x")
        zf.writestr("hw/\u202e)9001 :dis( stnioP 001.txt", "x")
    return {}


def crash_at_import(folder: Path) -> dict:
    write_files(
        folder,
        {
            "exercise1.py": 'raise RuntimeError("boom at import")\n',
            "exercise2.py": solution("exercise2"),
            "exercise3.py": "import os\nos._exit(3)\n",
        },
    )
    return {}


def lone_surrogate(folder: Path) -> dict:
    """Student code whose error message holds a lone surrogate, which UTF-8 cannot hold."""
    write_files(
        folder,
        {
            "exercise1.py": 'raise ValueError("lone: " + chr(0xD800))\n',
            "exercise2.py": solution("exercise2"),
        },
    )
    return {}


def hang_at_import(folder: Path) -> dict:
    write_files(folder, {"exercise1.py": HANG, "exercise2.py": solution("exercise2")})
    return {"GRADER_IMPORT_SECONDS": IMPORT_SECONDS}


def hostile(folder: Path) -> dict:
    """Student code that tries to write results.json itself, then gets graded normally."""
    target = folder.parent / "results" / "results.json"
    attack = (
        "try:\n"
        f"    open({str(target)!r}, 'w').write('{{\"score\": 1000}}')\n"
        "except OSError as e:\n"
        "    print('blocked', type(e).__name__)\n"
    )
    write_files(folder, {"exercise1.py": attack + solution("exercise1")})
    return {}


def no_bubblewrap(folder: Path) -> dict:
    """The hostile submission where bubblewrap cannot be found, as in many Docker images."""
    hostile(folder)
    write_files(folder, {f: solution(f[:-3]) for f in FILES[1:]})
    tools = folder.parent / "bin"
    tools.mkdir()
    for tool in ("env", "bash", "mkdir", "rm", "id", "chmod", "timeout", "mv"):
        found = shutil.which(tool)
        assert found, f"{tool} is needed to run run_autograder"
        (tools / tool).symlink_to(found)
    return {"PATH": str(tools)}


def metadata(folder: Path) -> dict:
    """Gradescope's metadata beside the upload, readable by all as an unzip leaves it: it holds
    earlier submissions' results, hidden tests included."""
    full(folder)
    meta = folder.parent / "submission_metadata.json"
    meta.write_text(json.dumps({"previous_submissions": [{"results": {"secret": "HIDDEN"}}]}))
    meta.chmod(0o644)
    return {}


def broken_python(folder: Path) -> dict:
    full(folder)
    return {"GRADER_PYTHON": "/bin/false"}


def out_of_time(folder: Path) -> dict:
    write_files(folder, {"exercise1.py": HANG})
    return {"GRADER_TIMEOUT": "2"}  # the import hangs for 20 s: the watchdog must step in


SCENARIOS = {
    f.__name__: f
    for f in (
        full,
        stubs,
        empty,
        wrong_files,
        zip_inside,
        hostile_names,
        crash_at_import,
        lone_surrogate,
        hang_at_import,
        hostile,
        no_bubblewrap,
        metadata,
        broken_python,
        out_of_time,
    )
}
FALLBACKS = {"broken_python", "out_of_time"}  # the Python step never writes results.json
NOT_GRADABLE_BY_CLI = {"empty", "wrong_files"}  # `grader grade` refuses: no exercise files


@dataclass
class Run:
    root: Path
    returncode: int
    stdout: str
    results: dict


def unpack_like_gradescope(zip_path: Path, root: Path) -> None:
    """The zip in root/source (modes kept, as unzip does), run_autograder copied to root/."""
    with zipfile.ZipFile(zip_path) as zf:
        for info in zf.infolist():
            target = root / "source" / info.filename
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(zf.read(info))
            target.chmod((info.external_attr >> 16) & 0o777 or 0o644)
    shutil.copy2(root / "source" / "run_autograder", root / "run_autograder")
    (root / "submission").mkdir()


def start(name: str, zip_path: Path, base: Path) -> tuple[Path, subprocess.Popen]:
    root = base / name
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    unpack_like_gradescope(zip_path, root)
    extra = SCENARIOS[name](root / "submission")
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "GRADER_PYTHON": sys.executable, **extra}
    with open(root / "stdout.txt", "w") as log:
        proc = subprocess.Popen(
            [str(root / "run_autograder")], cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    return root, proc


def run_all(zip_path: Path, base: Path, at_once: int = 4) -> dict[str, dict]:
    """Every scenario through run_autograder, a few at a time (each one imports torch)."""
    pending, running, done = list(SCENARIOS), {}, {}
    while pending or running:
        while pending and len(running) < at_once:
            name = pending.pop(0)
            running[name] = start(name, zip_path, base)
        for name, (root, proc) in list(running.items()):
            try:
                proc.wait(timeout=0.2)
            except subprocess.TimeoutExpired:
                continue
            del running[name]
            done[name] = {
                "root": str(root),
                "returncode": proc.returncode,
                "stdout": (root / "stdout.txt").read_text(),
                "results": json.loads((root / "results" / "results.json").read_text()),
            }
    return done


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, autograder_zip: Path) -> dict[str, Run]:
    """The runs, made once per test session even when pytest-xdist splits this module."""
    base = tmp_path_factory.getbasetemp()
    # Under xdist each worker has its own basetemp inside the session's: share the session's.
    shared = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "gradescope-runs"
    shared.mkdir(exist_ok=True)
    cache = shared / "runs.json"
    with open(shared / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not cache.exists():
            zip_copy = shutil.copy2(autograder_zip, shared / autograder_zip.name)
            cache.write_text(json.dumps(run_all(Path(zip_copy), shared)))
        data = json.loads(cache.read_text())
    return {
        n: Run(Path(d["root"]), d["returncode"], d["stdout"], d["results"]) for n, d in data.items()
    }


def item_tests(results: dict) -> list[dict]:
    """The tests that carry an item's points (the others have no max_score)."""
    return [t for t in results["tests"] if "max_score" in t]


def by_id(results: dict) -> dict[str, dict]:
    return {t["extra_data"]["id"]: t for t in item_tests(results)}


def test_a_lone_surrogate_from_student_code_reaches_gradescope_as_a_character(
    runs: dict[str, Run],
) -> None:
    """Gradescope's parser may refuse a \\udcxx escape: none is written, and the message that
    held it is there, readable, with the other exercise graded as usual."""
    run = runs["lone_surrogate"]
    raw = (run.root / "results" / "results.json").read_text()
    assert not re.search(r"\\ud[89a-f]", raw, re.IGNORECASE)
    tests = by_id(run.results)
    assert tests["exercise2.dlogits"]["status"] == "passed"
    assert "lone: \ufffd" in tests["exercise1.dlogprobs"]["output"]


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_results_json_is_valid(runs: dict[str, Run], name: str) -> None:
    run = runs[name]
    jsonschema.validate(run.results, SCHEMA)
    assert run.returncode == 0, run.stdout
    assert sorted(os.listdir(run.root / "results")) == ["results.json"]
    # Seconds that count the hidden cases' would be a clock student code can set: a hidden call
    # that sleeps n seconds on a hidden size would show n to the student at once.
    assert "execution_time" not in run.results
    if name in FALLBACKS:
        return
    tests = item_tests(run.results)
    assert len(tests) == ITEMS
    assert run.results["score"] == pytest.approx(sum(t["score"] for t in tests))
    assert run.results["extra_data"]["max_score"] == pytest.approx(
        sum(t["max_score"] for t in tests)
    )
    numbers = [t["number"] for t in run.results["tests"]]
    assert len(numbers) == len(set(numbers)), "test numbers must be unique"


@pytest.mark.parametrize("name", sorted(set(SCENARIOS) - FALLBACKS - NOT_GRADABLE_BY_CLI))
def test_total_equals_grader_grade(runs: dict[str, Run], grader, tmp_path: Path, name: str):
    run = runs[name]
    if name == "hang_at_import":
        from grader.pipeline import Grader
        from grader.sandbox.client import Limits

        same = Grader(limits=Limits(import_seconds=float(IMPORT_SECONDS)))
    else:
        same = grader
    try:
        subs, _ = discover(run.root / "submission", same.assignment.files)
        assert len(subs) == 1
        result = same.grade(subs[0]).to_json()
    finally:
        if same is not grader:
            same.close()
    assert run.results["score"] == pytest.approx(result["score"])
    statuses = {i["id"]: i["status"] for i in result["items"]}
    assert {k: t["extra_data"]["status"] for k, t in by_id(run.results).items()} == statuses


def test_full_marks_and_no_leaderboard(runs: dict[str, Run]) -> None:
    run = runs["full"]
    assert run.results["score"] == pytest.approx(100.0)
    assert all(t["status"] == "passed" for t in item_tests(run.results))
    # Every correct submission would reach the same loss: there is nothing to rank.
    assert "leaderboard" not in run.results
    # The grader that ran is the zip's copy, not the checkout's: a file missing from the zip fails.
    assert f"grader from {run.root / 'source' / 'grader'}" in run.stdout


def test_stubs_are_not_implemented(runs: dict[str, Run]) -> None:
    results = runs["stubs"].results
    assert results["score"] == 0
    assert "leaderboard" not in results
    for test in item_tests(results):
        assert test["status"] == "failed"
        assert test["output"].startswith("Not implemented"), test["output"]


def test_the_blank_stubs_are_told_of_no_departure_from_autograd(grader) -> None:
    """Stubs that still raise NotImplementedError compute nothing: the page's top said their
    gradients 'first depart from autograd at dlogprobs', as if one were wrong."""
    from grader.submissions import Submission

    files = {ex: (STUBS / f"{ex}.py").read_bytes() for ex in ("exercise1", "exercise2")}
    result = grader.grade(Submission("stubs", {**files, "exercise3": None})).to_json()
    assert {s["status"] for s in result["chain"]["steps"]} <= {"not_implemented", "unreached"}
    output = to_gradescope(result, rubric())["output"]
    assert "Chained" not in output and "depart" not in output, output


def test_a_gradient_that_times_out_is_not_said_to_depart_from_autograd() -> None:
    """A dlogprobs that never returns computed nothing to compare: the page's top told the
    student their gradients "first depart from autograd at dlogprobs", as if its value were
    wrong (a right one, slowed past the time budget, was told the same)."""
    import dataclasses

    from grader.pipeline import Grader
    from grader.sandbox.client import Limits
    from grader.submissions import Submission

    looping = solution("exercise1").replace(
        "def dlogprobs(logprobs, Yb, n):",
        "def dlogprobs(logprobs, Yb, n):\n    while True:\n        pass",
        1,
    )
    assert looping != solution("exercise1")
    grader = Grader(limits=dataclasses.replace(Limits(), call_seconds=1.0))
    try:
        result = grader.grade(Submission("slow", {"exercise1": looping.encode()})).to_json()
    finally:
        grader.close()
    steps = {s["grad"]: s["status"] for s in result["chain"]["steps"]}
    assert steps["dlogprobs"] == "timeout" and result["chain"]["first_departure"] == "dlogprobs"
    output = to_gradescope(result, rubric())["output"]
    assert "your own gradients stop at dlogprobs, which timed out;" in output, output
    assert "depart" not in output, output


@pytest.mark.parametrize("name", ["empty", "wrong_files"])
def test_no_exercise_files_says_what_to_upload(runs: dict[str, Run], name: str) -> None:
    results = runs[name].results
    assert results["score"] == 0
    said = "Your upload was empty." if name == "empty" else "No exercise file was found"
    assert said in results["output"]
    assert all(t["extra_data"]["status"] == "missing" for t in item_tests(results))
    listing = "Upload any of" if name == "empty" else "my_backprop.py, notes.txt"
    assert listing in results["output"]


def test_zip_inside_is_graded(runs: dict[str, Run]) -> None:
    results = runs["zip_inside"].results
    status = {k: t["extra_data"]["status"] for k, t in by_id(results).items()}
    assert all(v == "passed" for k, v in status.items() if k.startswith("exercise1."))
    assert all(v == "not_implemented" for k, v in status.items() if k.startswith("exercise2."))
    assert all(v == "missing" for k, v in status.items() if k.startswith("exercise3."))
    assert "hw.zip" in results["output"]


def test_a_file_name_adds_no_line_to_the_output(runs: dict[str, Run]) -> None:
    """The names are quoted on one line each, their breaks and override written as escapes, so
    the only score line is the grader's own."""
    output = runs["hostile_names"].results["output"]
    lines = output.splitlines()
    assert [ln for ln in lines if ln.startswith("Score")] == [lines[0]]
    assert "\u202e" not in output and "\\u202e)9001" in output
    assert "evil\\nScore: 100 / 100\\n.txt" in output
    assert len([ln for ln in lines if ln.startswith("exercise2.py: missing")]) == 1


def test_crash_at_import_is_reported(runs: dict[str, Run]) -> None:
    tests = by_id(runs["crash_at_import"].results)
    assert tests["exercise1.dlogprobs"]["extra_data"]["status"] == "error"
    assert "boom at import" in tests["exercise1.dlogprobs"]["output"]
    assert tests["exercise3.dC"]["extra_data"]["status"] == "error"
    assert tests["exercise2.dlogits"]["status"] == "passed"


def test_hanging_import_times_out(runs: dict[str, Run]) -> None:
    tests = by_id(runs["hang_at_import"].results)
    ex1 = [t for k, t in tests.items() if k.startswith("exercise1.")]
    assert all(t["extra_data"]["status"] == "timeout" for t in ex1)
    assert ex1[0]["output"].startswith("Timed out")
    assert tests["exercise2.dhprebn"]["status"] == "passed"


@pytest.mark.parametrize("name", ["hostile", "no_bubblewrap"])
def test_student_code_cannot_write_results(runs: dict[str, Run], name: str) -> None:
    run = runs[name]
    assert run.results["score"] != 1000 and len(item_tests(run.results)) == ITEMS
    assert all(t["status"] == "passed" for k, t in by_id(run.results).items() if "exercise1" in k)
    if name == "no_bubblewrap":
        assert run.results["extra_data"]["isolation"]["bubblewrap"] is False
    isolation = run.results["extra_data"]["isolation"]
    if isolation.get("bubblewrap") or os.getuid() == 0:
        printed = next(
            (t["output"] for t in run.results["tests"] if t["name"].startswith("What your code")),
            run.results["extra_data"].get("printed", ""),
        )
        assert "blocked" in printed, "the sandbox let student code write results.json"


def test_a_student_uid_cannot_read_the_metadata_or_the_upload(runs: dict[str, Run]) -> None:
    """Where Landlock is missing, a student process's own uid is what keeps it out of
    Gradescope's metadata (earlier results, hidden tests included) and of the upload."""
    if os.getuid() != 0:
        pytest.skip("student processes get a uid of their own only when the grader is root")
    run = runs["metadata"]
    assert run.results["score"] == 100  # the grader itself, as root, still read everything
    from grader.sandbox.inside.confine import UID_BASE

    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - a student's uid, no other layer
        try:
            os.setgroups([])
            os.setresgid(UID_BASE + 7, UID_BASE + 7, UID_BASE + 7)
            os.setresuid(UID_BASE + 7, UID_BASE + 7, UID_BASE + 7)
            got = []
            for path in ("submission_metadata.json", "submission/exercise1.py"):
                try:
                    got.append((run.root / path).read_text()[:20])
                except OSError as e:
                    got.append(type(e).__name__)
            os.write(write, json.dumps(got).encode())
        finally:
            os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    with os.fdopen(read) as f:
        assert json.loads(f.read()) == ["PermissionError", "PermissionError"]


def test_broken_python_still_gives_results(runs: dict[str, Run]) -> None:
    results = runs["broken_python"].results
    assert results["score"] == 0 and results["tests"] == []
    assert "exit code 1" in results["output"]


def test_watchdog_stops_a_run_that_takes_too_long(runs: dict[str, Run]) -> None:
    results = runs["out_of_time"].results
    assert results["score"] == 0
    assert "longer than 2 seconds" in results["output"]


# ---- hidden inputs never reach what a student sees before grades are published ---------------

PUBLIC_N = sorted({cfg.n for cfg in PUBLIC})
STASH = "STASH = []\n"
KEEP_HIDDEN = f"    if n not in {PUBLIC_N}:\n        STASH.append((n, Yb.tolist()[:6]))\n"
TELL = "    if STASH:\n        raise ValueError(f'LEAK {STASH}')\n"
# Exercise 3 tells in the first call made two or more calls after its last hidden input: the
# training run made again after the hidden cases (the last hidden case has public sizes).
TELL_LATER = (
    "    CALLS.append(n)\n"
    "    if STASH and len(CALLS) - STASH[-1][0] >= 2:\n"
    "        raise ValueError(f'LEAK {STASH}')\n"
)
# dW1 turns wrong once a hidden input was kept, so on the hidden case at the lecture's sizes
# too, where the run is made: only a gradient wrong there is excused from it.
KEEP_HIDDEN_3 = (
    f"    if n not in {PUBLIC_N}:\n"
    "        STASH.append((len(CALLS), n, Yb.tolist()[:6]))\n"
    "    if STASH:\n"
    "        dW1 = 2 * dW1\n"
)


@pytest.fixture(scope="module")
def leaking(grader) -> dict:
    """A red team's submission: each file keeps the hidden cases' inputs it is handed and
    raises them in a later call (exercise 3's in its next public one, the training run's);
    exercise 3's dW1 is also wrong at hidden sizes only, so the run is made again with dW1
    excused, after the hidden cases."""
    from grader.submissions import Submission

    ex1 = STASH + mutated(
        "exercise1",
        "    dlogprobs[range(n), Yb] = -1.0 / n\n",
        "    dlogprobs[range(n), Yb] = -1.0 / n\n" + KEEP_HIDDEN,
    ).replace(
        "    dprobs = (1.0 / probs) * dlogprobs\n",
        TELL + "    dprobs = (1.0 / probs) * dlogprobs\n",
    )
    ex3 = (
        "CALLS = []\n"
        + STASH
        + mutated(
            "exercise3",
            "    dW1 = embcat.T @ dhprebn\n",
            TELL_LATER + "    dW1 = embcat.T @ dhprebn\n" + KEEP_HIDDEN_3,
        )
    )
    files = {"exercise1": ex1.encode(), "exercise2": solution("exercise2").encode()}
    sub = Submission("leaking", {**files, "exercise3": ex3.encode()})
    return grader.grade(sub).to_json()


def test_hidden_inputs_reach_no_visible_test(leaking: dict) -> None:
    """Student code can keep a hidden case's inputs and spell them out in a later public
    failure: every public call of a file comes before its first hidden one, and a public call
    after hidden ones (the training run made again) gets a fresh process."""
    items = {i["id"]: i for i in leaking["items"]}
    hidden_words = [c["message"] for i in items.values() for c in i["cases"] if not c["public"]]
    assert any("LEAK" in m for m in hidden_words), "the attack never fired: the test is void"
    for item in items.values():
        assert not any("LEAK" in c["message"] for c in item["cases"] if c["public"]), item["id"]
    assert "LEAK" not in json.dumps(leaking["chain"])
    training = items["exercise3.training"]
    assert training["status"] == "passed", training["message"]
    assert training["extra"]["excused"] == ["dW1"]  # wrong on hidden cases only
    # Made again after the hidden cases, the run's words and timing wait for publication.
    assert [c["public"] for c in training["cases"]] == [False]
    out = to_gradescope(leaking, rubric())
    visible = [t for t in out["tests"] if t.get("visibility", "visible") == "visible"]
    assert visible and not any("LEAK" in t.get("output", "") for t in visible)
    assert "LEAK" not in out.get("output", "")


# ---- results.json from a result.json (pure) --------------------------------------------------


@pytest.fixture(scope="module")
def only_hidden_fail(grader) -> dict:
    """dlogits divides by a hard-coded 32 and prints its input's shape: hidden cases catch it."""
    from grader.submissions import Submission

    src = mutated(
        "exercise2",
        "    dlogits /= n\n",
        "    print('dlogits sees', tuple(logits.shape))\n    dlogits /= 32\n",
    )
    sub = Submission(
        "hard-coded", {"exercise1": None, "exercise2": src.encode(), "exercise3": None}
    )
    return grader.grade(sub).to_json()


def test_the_pages_scores_read_as_the_report_shows_them(only_hidden_fail: dict) -> None:
    """Gradescope's page text said `Score: 12.8571 / 100` (its own `g` format) where the
    student's report.html said 12.86: one rounding for every page a person reads
    (`scoring.shown_points`), while results.json's `score` fields, which Gradescope shows
    itself, keep result.json's exact numbers."""
    from grader.report.render import points as report_points

    result = only_hidden_fail
    exact, ex2 = result["score"], result["exercises"]["exercise2"]["score"]
    assert round(exact, 2) != exact, "the hard-coded 32 leaves a score of more than 2 decimals"
    out = to_gradescope(result, rubric("visible"))
    top = out["output"].splitlines()
    assert top[0] == f"Score: {report_points(exact)} / 100"
    assert f": {report_points(ex2)} / 20 (" in out["output"]
    assert not re.search(r"\d\.\d{3}", "\n".join(top[:4])), top[:4]
    assert out["score"] == exact
    assert sum(t.get("score", 0) for t in out["tests"]) == pytest.approx(exact)


def rubric(hidden_visibility: str = "after_published") -> Rubric:
    return Rubric({}, hidden_visibility)


# What student code prints and raises, holding what a terminal obeys and what turns a line around.
DRIVES = "\x1b]52;c;ZXZpbA==\x07 \x9b2J \u202eDESSAP\u2066"


@pytest.mark.parametrize("hidden_visibility", ["visible", "after_published"])
def test_gradescope_shows_student_text_as_the_pages_do(hidden_visibility: str) -> None:
    """An exception's words and printed output reached Gradescope's page as they were: a
    right-to-left override turned the rest of its line around (`\\u202eDESSAP` read PASSED)
    and escape sequences stood for whoever copied the text into a terminal. Each control but
    the tab and line breaks, and each bidi override or isolate, is now its escape, as on the
    TA's pages; the text is otherwise whole."""
    case = {"case": "public-n32", "public": True, "status": "error", "passed": False}
    result = {
        "submission": "s",
        "score": 0.0,
        "max_score": 2.0,
        "files": {"exercise1": "submitted"},
        "output": {"exercise1": f"printed {DRIVES}\r\n"},
        "items": [
            {
                "id": "exercise1.dlogprobs",
                "exercise": "exercise1",
                "status": "error",
                "score": 0.0,
                "max_score": 2.0,
                "message": f"ValueError: {DRIVES}",
                "cases": [{**case, "message": f"ValueError: {DRIVES}"}],
            }
        ],
    }
    out = to_gradescope(result, rubric(hidden_visibility))
    texts = [out["output"], *(t["output"] for t in out["tests"])]
    texts.append(out["extra_data"].get("printed", ""))
    shown = "\n".join(texts)
    assert not re.findall("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", shown)
    escaped = "\\x1b]52;c;ZXZpbA==\\x07 \\x9b2J \\u202eDESSAP\\u2066"
    assert f"ValueError: {escaped}" in shown and f"printed {escaped}" in shown


def test_thousands_of_notes_do_not_flood_the_page(only_hidden_fail: dict) -> None:
    """An upload of 5,000 entries outside its zip makes a note each (a red team's 5 MB
    results.json): the page's top shows a few, clipped, and says how many more there are."""
    notes = [f"skipped hw.zip: '../{'A' * 900}{k}' (a path outside the zip)" for k in range(5000)]
    result = {**only_hidden_fail, "student": {"notes": notes}}
    output = to_gradescope(result, rubric())["output"]
    assert len(output) < 20_000
    assert output.count("Note: ") == 20 and "and 4980 more notes" in output


def test_a_result_the_sandbox_ended_under_twice_tells_the_student_so(only_hidden_fail: dict):
    """The pipeline grades a submission again when its sandbox ends under it, and flags the
    result when that happens twice (pipeline.Grader.grade): a flag the TA's summary lists but
    the student's page left out, so the student read the crashes as their code's."""
    from grader.pipeline import SANDBOX_ENDED_REVIEW

    flagged = {**only_hidden_fail, "review": [dict(SANDBOX_ENDED_REVIEW)]}
    output = to_gradescope(flagged, rubric())["output"]
    assert "sandbox stopped while grading this submission" in output
    assert "sandbox" not in to_gradescope(only_hidden_fail, rubric())["output"]


def test_a_message_of_blanks_is_told_apart_from_another_in_linear_time() -> None:
    """Telling whether a hidden case says something new reads each message with its numbers and
    shapes taken out; the shape's blanks before its bracket were read every way they split, and
    a student's message "(1" then 4,000 blanks took 80 ms a reading (60,000: 18 s)."""
    blank = {"status": "error", "message": "ValueError: (1" + " " * 60_000}
    other = {**blank, "message": blank["message"] + "x"}
    with never_hangs(5):
        assert hidden_details_needed([other], [blank])
        seven = {**blank, "message": blank["message"].replace("(1", "(7")}
        assert not hidden_details_needed([seven], [blank])  # numbers aside, the same words
    shaped = {"status": "failed", "message": "wrong shape: returned (32, 27), expected (27,)"}
    assert not hidden_details_needed(
        [{**shaped, "message": "wrong shape: returned [100, 1 , ], expected (1 ,)"}], [shaped]
    )


def test_hidden_case_details_stay_hidden(only_hidden_fail: dict) -> None:
    out = to_gradescope(only_hidden_fail, rubric())
    jsonschema.validate(out, SCHEMA)
    item = only_hidden_fail["items"][
        [i["id"] for i in only_hidden_fail["items"]].index("exercise2.dlogits")
    ]
    hidden = [c for c in item["cases"] if not c["public"] and c["status"] != "passed"]
    assert hidden, "the hard-coded 32 must fail some hidden case"
    visible = "\n".join(t["output"] for t in out["tests"] if t["visibility"] == "visible")
    secret = "\n".join(t["output"] for t in out["tests"] if t["visibility"] == "after_published")
    for case in hidden:
        assert case["message"] not in visible
        assert case["message"] in secret
    assert "dlogits sees" in secret and "dlogits sees" not in visible
    main = by_id(out)["exercise2.dlogits"]
    assert main["visibility"] == "visible" and main["status"] == "failed"
    assert "hard-coded size" in main["output"] and "once grades are published" in main["output"]


def test_no_hidden_seed_reaches_the_student_even_with_the_details_shown(
    only_hidden_fail: dict,
) -> None:
    """The code that builds a case from its sizes and seed ships to students: a hidden seed the
    detail test showed (at once, or once grades are published) rebuilt that case and autograd's
    answers, for a resubmission or a later term graded with the same hidden.py. The sizes, which
    say which one a hard-coded size missed, are still shown."""
    from grader.backprop_ninja.hidden import HIDDEN

    out = to_gradescope(only_hidden_fail, rubric("visible"))
    details = next(t for t in out["tests"] if t["name"] == "exercise2.py: dlogits (hidden cases)")
    assert details["visibility"] == "visible"
    assert (
        "Hidden case (vocab_size=11, block_size=2, n_embd=3, n_hidden=7, n=5,"
        in (details["output"])
    )
    everything = json.dumps(out)
    for cfg in HIDDEN:
        assert str(cfg.seed) not in everything, cfg
        assert f"{cfg.seed:x}" not in everything.lower(), cfg
        assert seeding.label(cfg.seed) not in everything, cfg  # nor its name in the TA's tables
    public = next(t for t in out["tests"] if t["name"] == "exercise2.py: dlogits")
    assert f"seed={PUBLIC[0].seed}" in public["output"]  # a public seed is no secret


def rescored(result: dict, rubric_yaml: str, tmp_path: Path) -> tuple[dict, Rubric]:
    """The result with its items scored under another rubric, as the pipeline would score them."""
    from grader.assignment import load
    from grader.scoring import load_rubric, score_items

    path = tmp_path / "rubric.yaml"
    path.write_text(rubric_yaml)
    new_rubric = load_rubric(path, load().item_ids)
    items = [item_from_json(i) for i in result["items"]]
    score_items(items, new_rubric)
    return dict(result, items=[i.to_json() for i in items]), new_rubric


def test_rubric_sets_visibilities(only_hidden_fail: dict, tmp_path: Path) -> None:
    result, custom = rescored(
        only_hidden_fail,
        "hidden_visibility: after_due_date\n"
        "items:\n"
        "  exercise2.dlogits: {visibility: hidden}\n"
        "  exercise2.dhprebn: {visibility: after_publish}\n",  # a typo
        tmp_path,
    )
    out = to_gradescope(result, custom)
    jsonschema.validate(out, SCHEMA)
    tests = by_id(out)
    assert tests["exercise2.dlogits"]["visibility"] == "hidden"
    assert tests["exercise2.dhprebn"]["visibility"] == "after_published", "a typo must hide"
    assert tests["exercise1.dlogprobs"]["visibility"] == "visible"
    details = next(t for t in out["tests"] if t["name"] == "exercise2.py: dlogits (hidden cases)")
    assert details["visibility"] == "hidden", "the stricter of the item's and hidden_visibility"
    printed = next(t for t in out["tests"] if t["name"].startswith("What your code printed"))
    assert printed["visibility"] == "hidden", "the latest of hidden_visibility and held items"
    assert "Details of the hidden cases" not in out["output"], "only a held item has details"


def seen_now(out: dict) -> list:
    """What a student sees before anything is published: the page's top and the visible tests."""
    shown = [t for t in out["tests"] if t.get("visibility", "visible") == "visible"]
    return [
        out["output"],
        *[(t["name"], t.get("score"), t.get("max_score"), t["output"]) for t in shown],
    ]


def test_an_item_the_rubric_holds_back_shows_nowhere_before_its_time(
    only_hidden_fail: dict, tmp_path: Path
) -> None:
    """docs/gradescope.md's "a whole item, points included": the page's top once printed the
    total and each exercise's points, from which the held-back item's points (total minus the
    visible items) could be read at once. Whether that item fails or passes, a student now sees
    exactly the same until it is shown."""
    failing, custom = rescored(
        only_hidden_fail, "items:\n  exercise2.dlogits: {visibility: after_due_date}\n", tmp_path
    )
    passing = copy.deepcopy(failing)
    item = next(i for i in passing["items"] if i["id"] == "exercise2.dlogits")
    gained = item["max_score"] - item["score"]
    assert gained > 0, "the hard-coded 32 fails some hidden case"
    for case in item["cases"]:
        case.update(status="passed", message="", hint="", warnings=[])
    item.update(status="passed", message="", score=item["max_score"])
    passing["score"] += gained
    passing["exercises"]["exercise2"]["score"] += gained
    assert seen_now(to_gradescope(failing, custom)) == seen_now(to_gradescope(passing, custom))
    output = to_gradescope(failing, custom)["output"]
    assert "Score: not shown yet" in output and "after the due date" in output
    assert "1 more item is shown after the due date)" in output


def test_prints_wait_as_long_as_the_items_held_back(only_hidden_fail: dict, tmp_path: Path):
    """Every item held, hidden cases' details at once: the prints came from the held items'
    hidden calls too (a red team printed the hidden sizes), so they wait with the items."""
    result, custom = rescored(
        only_hidden_fail, "visibility: after_published\nhidden_visibility: visible\n", tmp_path
    )
    out = to_gradescope(result, custom)
    assert not any("dlogits sees" in str(part) for part in seen_now(out))
    printed = next(t for t in out["tests"] if t["name"].startswith("What your code printed"))
    assert printed["visibility"] == "after_published"
    assert "Details of the hidden cases" not in out["output"], "every item says when it comes"


def test_a_notebook_submission_is_named_by_exercise_not_by_a_file_it_never_had(
    only_hidden_fail: dict,
) -> None:
    as_files = to_gradescope(only_hidden_fail, rubric("visible"))
    from_notebook = dict(only_hidden_fail, notebook={"graded": "backprop_ninja.ipynb", "cells": []})
    out = to_gradescope(from_notebook, rubric("visible"))
    jsonschema.validate(out, SCHEMA)
    names = [t["name"] for t in out["tests"]]
    assert "exercise2.py: dlogits" in [t["name"] for t in as_files["tests"]]
    assert "exercise2: dlogits" in names and "exercise2: dlogits (hidden cases)" in names
    assert not [n for n in names if ".py" in n]
    assert ".py" not in out["output"]  # the summary's lines and what the code printed
    printed = next(t for t in out["tests"] if t["name"].startswith("What your code printed"))
    assert "--- printed by exercise2 ---" in printed["output"]


def test_hidden_visibility_typo_keeps_details_hidden(only_hidden_fail: dict) -> None:
    out = to_gradescope(only_hidden_fail, rubric("after_publish"))
    details = next(t for t in out["tests"] if t["name"] == "exercise2.py: dlogits (hidden cases)")
    assert details["visibility"] == "after_published"


def test_grader_errors_reach_instructors_only(only_hidden_fail: dict) -> None:
    result = json.loads(json.dumps(only_hidden_fail))
    result["items"][0]["extra"] = {"grader_error": "Traceback: KeyError in the suite"}
    out = to_gradescope(result, rubric())
    (errors,) = [t for t in out["tests"] if "KeyError in the suite" in t["output"]]
    assert errors["visibility"] == "hidden" and "max_score" not in errors


def test_no_leaderboard_whatever_the_result_holds(only_hidden_fail: dict) -> None:
    """An old result.json with a val_loss (the same 3.34 for every correct submission) no
    longer makes a leaderboard: it ranked nothing between correct students."""
    result = json.loads(json.dumps(only_hidden_fail))
    assert "leaderboard" not in to_gradescope(result, rubric())
    result["leaderboard"] = {"val_loss": 2.25}
    out = to_gradescope(result, rubric())
    assert "leaderboard" not in out and "2.25" not in out["output"]


def test_a_grader_failure_still_writes_results(tmp_path: Path, monkeypatch) -> None:
    import grader.pipeline
    from grader.gradescope.run import run_autograder

    def broken(**_):
        raise RuntimeError("the sandbox could not start")

    monkeypatch.setattr(grader.pipeline, "Grader", broken)
    (tmp_path / "submission").mkdir()
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "results.json").write_text('{"score": 1000}')  # stale
    returned = run_autograder(tmp_path)
    written = json.loads((tmp_path / "results" / "results.json").read_text())
    assert written == returned
    jsonschema.validate(written, SCHEMA)
    assert written["score"] == 0
    assert "the sandbox could not start" in written["output"]


def test_limits_from_env(monkeypatch) -> None:
    from grader.gradescope.run import limits_from_env
    from grader.sandbox.client import Limits

    monkeypatch.setenv("GRADER_IMPORT_SECONDS", "2.5")
    monkeypatch.setenv("GRADER_CALL_SECONDS", "soon")  # not a number: ignored, with a message
    limits = limits_from_env()
    assert limits.import_seconds == 2.5
    assert limits.call_seconds == Limits().call_seconds


# ---- setup.sh, with the system-changing commands replaced by recorders ------------------------

RECORDER = '#!/bin/sh\necho "$(basename "$0") $*" >> "{log}"\n'
FAKE_BASE_PYTHON = """#!/bin/bash
# `python3 -m venv DIR` makes a venv whose python records `-m pip ...` and runs the rest for real.
if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then
    mkdir -p "$3/bin"
    printf '%s\\n' '#!/bin/bash' \\
        'if [ "$1 $2" = "-m pip" ]; then echo "pip $*" >> "{log}"; exit 0; fi' \\
        'exec "{python}" "$@"' > "$3/bin/python"
    chmod +x "$3/bin/python"
    exit 0
fi
exec "{python}" "$@"
"""


def _setup_with_fakes(
    autograder_zip: Path, tmp_path: Path, pip_says: str = ""
) -> tuple[subprocess.CompletedProcess, Path, list[str]]:
    """setup.sh run on the zip unpacked as Gradescope does, apt-get, useradd and chown faked and
    pip recorded (or, given `pip_says`, a shell `case` on pip's arguments that may fail it):
    the run, the autograder root, and the commands it gave."""
    root = tmp_path / "autograder"
    root.mkdir()
    unpack_like_gradescope(autograder_zip, root)
    log, fakes = tmp_path / "commands.log", tmp_path / "fakes"
    fakes.mkdir()
    for tool in ("apt-get", "useradd", "chown"):
        (fakes / tool).write_text(RECORDER.format(log=log))
        (fakes / tool).chmod(0o755)
    base = fakes / "python3"
    python = FAKE_BASE_PYTHON
    if pip_says:
        python = python.replace('echo "pip $*" >> "{log}"; exit 0', pip_says)
    base.write_text(python.format(log=log, python=sys.executable))
    base.chmod(0o755)
    env = {
        **os.environ,
        "AUTOGRADER_ROOT": str(root),
        "GRADER_BASE_PYTHON": str(base),
        "PATH": f"{fakes}:{os.environ['PATH']}",
        # As many Python images set it: nothing a run imports is cached unless setup.sh says so.
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    setup = subprocess.run(
        ["bash", str(root / "source" / "setup.sh")], env=env, capture_output=True, text=True
    )
    return setup, root, log.read_text().splitlines() if log.exists() else []


def test_setup_sh_installs_and_self_checks(autograder_zip: Path, tmp_path: Path) -> None:
    setup, root, commands = _setup_with_fakes(autograder_zip, tmp_path)
    assert setup.returncode == 0, setup.stdout + setup.stderr
    assert "self-check passed: 36 items" in setup.stdout
    source = root / "source"
    assert any(c.startswith("apt-get install") and "bubblewrap" in c for c in commands)
    torch_line = next(c for c in commands if c.startswith("pip") and c.endswith(" torch"))
    assert "--index-url https://download.pytorch.org/whl/cpu" in torch_line
    assert f"-c {source}/constraints.txt" in torch_line
    assert any(f"-r {source}/requirements.txt" in c for c in commands)
    assert (source.stat().st_mode & 0o077) == 0, "the grader's source must be root-only"
    assert ((root / "results").stat().st_mode & 0o077) == 0
    assert (root / "venv" / "bin" / "python").stat().st_mode & 0o005 == 0o005
    # Every run is a fresh container of this image: a module compiled at run time is compiled
    # again by the next student's run (0.2-0.5 s of each wait), the sandbox's own with them.
    modules = sorted((source / "grader").rglob("*.py"))
    uncompiled = [
        str(m.relative_to(source))
        for m in modules
        if not Path(importlib.util.cache_from_source(str(m))).is_file()
    ]
    assert modules and not uncompiled, f"setup.sh left uncompiled: {uncompiled[:5]}"


def test_setup_sh_says_which_install_failed_and_why_it_most_often_does(
    autograder_zip: Path, tmp_path: Path
) -> None:
    """Built without network access, the image's log ended in pip's "No matching distribution
    found for names>=0.3" and nothing of setup.sh's: an instructor had to know that a missing
    package there means no network. The failing step is named, with its index and the cause."""
    offline = (
        'case "$*" in *" torch") echo "ERROR: No matching distribution found for torch"; exit 1;; '
        "esac; exit 0"
    )
    setup, _, _ = _setup_with_fakes(autograder_zip, tmp_path, pip_says=offline)
    assert setup.returncode != 0
    said = setup.stdout + setup.stderr
    assert "setup.sh: installing torch from https://download.pytorch.org/whl/cpu failed" in said
    assert "network access" in said
    assert "self-check" not in said


def not_yet_visible(out: dict) -> list[str]:
    """Tests a student cannot see before grades are published: while there is one, Gradescope
    does not show the student their total (its documentation says so, points or none)."""
    return [t["name"] for t in out["tests"] if t.get("visibility", "visible") != "visible"]


def test_printing_alone_never_hides_a_students_total(grader) -> None:
    """A student whose code prints, and who fails no hidden case, still sees their total before
    grades are published: the prints (which ran on hidden inputs too) go to the instructors'
    extra_data instead of a test that would wait for publication."""
    from grader.submissions import Submission

    src = mutated("exercise2", "    dlogits /= n\n", "    print('debug')\n    dlogits /= n\n")
    sub = Submission("printer", {"exercise1": None, "exercise2": src.encode(), "exercise3": None})
    result = grader.grade(sub).to_json()
    assert "debug" in result["output"]["exercise2"]
    out = to_gradescope(result, rubric())
    jsonschema.validate(out, SCHEMA)
    assert not_yet_visible(out) == []
    assert "debug" in out["extra_data"]["printed"]
    shown = to_gradescope(result, rubric("visible"))
    assert [t["visibility"] for t in shown["tests"] if "printed" in t["name"]] == ["visible"]


def test_a_mistake_the_public_case_already_shows_leaves_the_total_visible(grader) -> None:
    """A sign slip fails every case with the same words but other numbers: its hidden cases
    tell nothing the public one did not, so no detail test waits for publication and the
    student sees their total. Compared with their numbers, every wrong item got one."""
    from grader.submissions import Submission

    src = mutated("exercise2", "    dlogits /= n\n", "    dlogits /= -n\n")
    sub = Submission("flipped", {"exercise1": None, "exercise2": src.encode(), "exercise3": None})
    result = grader.grade(sub).to_json()
    cases = next(i for i in result["items"] if i["id"] == "exercise2.dlogits")["cases"]
    assert all(c["status"] == "failed" for c in cases)
    assert len({c["message"] for c in cases}) == len(cases), "numbers differ case by case"
    out = to_gradescope(result, rubric())
    jsonschema.validate(out, SCHEMA)
    assert not_yet_visible(out) == []


def test_a_hidden_case_with_other_words_than_the_public_one_gets_its_details() -> None:
    from grader.gradescope.results import hidden_details_needed

    def case(message: str, hint: str = "", status: str = "failed") -> dict:
        return {"status": status, "message": message, "hint": hint}

    public = [case("values differ by up to 0.0182 (allowed: 2e-05 of it)", "sign flipped")]
    same = [case("values differ by up to 1.5E+3 (allowed: 2e-05 of it)", "sign flipped")]
    assert not hidden_details_needed(same, public)
    assert hidden_details_needed([case("values differ by up to 3 (allowed: 2e-05 of it)")], public)
    assert hidden_details_needed([case("returned shape (5, 7)", status="failed")], public)
    assert hidden_details_needed([case("an error", status="error")], [case("", status="passed")])
    assert not hidden_details_needed([case("", status="passed")], public)


def test_an_item_s_visible_verdict_tells_not_how_its_hidden_cases_failed() -> None:
    """A student whose public cases passed read "Error: 3 of 7 cases pass" when a hidden case
    raised, "Timed out: ..." when one looped and "Failed: ..." when one was wrong: a word their
    own code chose from each hidden input, before the hidden cases' details were shown. The
    visible test gives the public cases' verdict and the hidden count, as docs/gradescope.md
    promises, whichever way the hidden cases failed."""
    from grader.gradescope.results import item_output

    def item(hidden_status: str) -> dict:
        public = [{"status": "passed", "public": True, "message": "", "max_rel_error": 1e-8}] * 2
        hidden = [{"status": hidden_status, "message": "", "public": False}] * 4
        hidden += [{"status": "passed", "public": False, "message": ""}]
        return {"id": "e.f", "status": hidden_status, "cases": public + hidden}

    said = {s: item_output(item(s), "after_published") for s in ("failed", "error", "timeout")}
    assert said["error"] == said["failed"] == said["timeout"], said
    assert said["failed"].startswith("Failed: 3 of 7 cases passed (2 public, 5 hidden).")


def test_a_count_of_one_case_or_item_is_said_in_the_singular() -> None:
    """An item judged on one hidden case read "Hidden cases: 0 of 1 pass." (now past tense, as
    the report's count), its hidden cases' test "0 of 1 hidden cases pass.", and an exercise
    of one item shown read "(1 of 1 items pass)"."""
    from grader.gradescope.results import exercise_line, hidden_cases_test, item_output

    one = {"id": "e.h", "status": "failed", "cases": [
        {"status": "passed", "public": True, "message": ""},
        {"status": "failed", "public": False, "message": "returned shape (5, 7)"}]}  # fmt: skip
    said = item_output(one, "visible")
    assert said.startswith("Failed: 1 of 2 cases passed (1 public, 1 hidden)."), said
    test = hidden_cases_test(one, "h", "1.2", "visible")
    assert test is not None and test["output"].startswith("0 of 1 hidden case passed."), test
    item = {"id": "e.f", "status": "passed", "score": 1.0, "max_score": 1.0}
    line = exercise_line("e", [item], {"files": {"e": "submitted"}}, {})
    assert line.endswith("(1 of 1 item passed)"), line


def test_the_advice_on_hidden_cases_says_other_sizes_and_seeds_once() -> None:
    """Public cases passed, hidden ones failed: the line read "Hidden cases (other sizes and
    seeds): 1 of 5 pass. Hidden cases use other sizes and seeds: a hard-coded size ...", the
    same words twice in one line a student reads to learn what went wrong."""
    from grader.gradescope.results import hidden_summary

    public = [{"status": "passed", "message": ""}]
    hidden = [{"status": "failed", "message": "returned (5, 7)"}, {"status": "passed"}]
    line = hidden_summary(hidden, public, "after_published")
    assert line.count("other sizes and seeds") == 1, line
    assert "a hard-coded size" in line.casefold()


def test_an_item_judged_on_hidden_cases_alone_is_not_told_of_other_sizes() -> None:
    """A training run filed as hidden (it counts only beside hidden cases at its sizes) has no
    public case for its hidden one to differ from: "other sizes and seeds" told of none."""
    from grader.gradescope.results import item_output

    run = {"status": "failed", "message": "held", "cases": [{"status": "failed", "public": False,
           "message": "the run cannot count"}]}  # fmt: skip
    text = item_output(run, "after_published")
    assert "Hidden cases: 0 of 1 passed." in text and "other sizes" not in text
    assert "the run cannot count" not in text
    gradient = {"status": "failed", "cases": [{"status": "passed", "public": True},
                {"status": "failed", "public": False, "message": "values differ"}]}  # fmt: skip
    said = item_output(gradient, "visible")
    assert "Hidden cases (other sizes and seeds): 0 of 1 passed." in said


def test_a_shape_of_another_length_is_no_new_word() -> None:
    """A hidden case of another rank names a shape of another length, numbers all the same."""
    from grader.gradescope.results import hidden_details_needed

    def case(shape: str, expected: str) -> dict:
        return {"status": "failed", "message": f"dbias: wrong shape: returned {shape}, "
                f"expected {expected} (did you sum over the broadcast dimension?)"}  # fmt: skip

    public = [case("(32, 4, 68)", "(68,)")]
    assert not hidden_details_needed([case("(7, 3)", "(3,)"), case("[6, 3, 4]", "(4,)")], public)
    assert not hidden_details_needed([case("5×3×4", "(4,)")], [case("32×4×68", "(68,)")])
    assert hidden_details_needed([case("(7, 3)", "(3,)") | {"status": "error"}], public)


DETAILS_LATER = "Details of the hidden cases are shown"


def test_the_top_promises_hidden_case_details_only_where_a_test_holds_them(
    grader, only_hidden_fail: dict
) -> None:
    """Passing every hidden case, or uploading nothing, gives no detail test: the top of the
    page promised details 'once grades are published' all the same, and none ever came."""
    from grader.submissions import Submission

    full = Submission(
        "full", {ex: solution(ex).encode() for ex in ("exercise1", "exercise2", "exercise3")}
    )
    nothing = Submission("nothing", dict.fromkeys(("exercise1", "exercise2", "exercise3")))
    for sub in (full, nothing):
        out = to_gradescope(grader.grade(sub).to_json(), rubric())
        assert not any(t["name"].endswith("(hidden cases)") for t in out["tests"])
        assert DETAILS_LATER not in out["output"], sub.name
    out = to_gradescope(only_hidden_fail, rubric())
    assert any(t["name"].endswith("(hidden cases)") for t in out["tests"])
    assert f"{DETAILS_LATER} once grades are published." in out["output"]


def test_prints_join_hidden_case_details_that_already_wait(only_hidden_fail: dict) -> None:
    out = to_gradescope(only_hidden_fail, rubric())
    waiting = not_yet_visible(out)
    assert any(name.endswith("(hidden cases)") for name in waiting)
    printed = next(t for t in out["tests"] if t["name"].startswith("What your code printed"))
    assert printed["visibility"] == "after_published" and "dlogits sees" in printed["output"]
    assert "printed" not in out["extra_data"]


def test_the_upload_listing_follows_no_link(tmp_path: Path) -> None:
    """A folder is marked with "/", a link is not, whatever it points to: followed, the mark
    would tell the student whether a path of the grader's machine is a folder."""
    (tmp_path / "notes").mkdir()
    (tmp_path / "probe").symlink_to("/")
    (tmp_path / "gone").symlink_to(tmp_path / "missing")
    assert upload_listing(tmp_path) == "your upload holds: gone, notes/, probe"


def _upload_of(folder: Path, files: dict) -> None:
    """An upload holding `files`: each name's text, or a folder where the text is None."""
    folder.mkdir()
    for name, text in files.items():
        if text is None:
            (folder / name).mkdir()
        else:
            (folder / name).write_text(text)


@pytest.mark.parametrize(
    ("files", "said"),
    [
        ({"notes.txt": "x"}, "the upload held: notes.txt"),
        ({}, "your upload was empty"),
        ({"hw": None}, "your upload holds: hw/"),
    ],
)
def test_the_upload_s_files_are_named_once(tmp_path: Path, files: dict, said: str) -> None:
    """The page's top read "the upload held: notes.txt" and then "your upload holds: notes.txt":
    the listing of the top is added only where no note names what the upload held."""
    from grader.gradescope.run import load_submission

    _upload_of(tmp_path / "submission", files)
    sub = load_submission(tmp_path / "submission", ("exercise1", "exercise2"))
    assert [n for n in sub.notes if said in n], sub.notes
    for name in files:
        assert sum(name in n for n in sub.notes) == 1, sub.notes


def test_relative_paths_are_the_callers(autograder_zip: Path, tmp_path: Path) -> None:
    """docs/gradescope.md runs `GRADER_PYTHON=.venv/bin/python .../run_autograder`: the script
    changed folder before running that path, which then named nothing, and the documented test
    gave the fallback's 0 ("exit code 127") for the full solutions."""
    root = tmp_path / "root"
    root.mkdir()
    unpack_like_gradescope(autograder_zip, root)
    full(root / "submission")
    (tmp_path / "bin").mkdir()
    python = tmp_path / "bin" / "py"
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    python.chmod(0o755)
    env = {**os.environ, "AUTOGRADER_ROOT": "root", "GRADER_PYTHON": "bin/py"}
    subprocess.run([str(root / "run_autograder")], cwd=tmp_path, env=env, check=True)
    results = json.loads((root / "results" / "results.json").read_text())
    assert results["score"] == 100, results["output"]


def test_a_notebook_that_could_not_be_read_is_named_not_py_files_asked_for(grader, tmp_path):
    """A notebook re-saved in another encoding is found and not graded: the page's first lines
    (and the report's banner) told its student only to upload the .py files "(names exactly like
    that)", and not that their notebook, under any name, was seen and why it failed."""
    from notebooks import code, save

    from grader.gradescope.run import load_submission
    from grader.report.html import render_report

    upload = tmp_path / "submission"
    upload.mkdir()
    notebook = save([code("# caf\u00e9\n" + solution("exercise2"))]).decode()
    (upload / "Copy of backprop_ninja.ipynb").write_bytes(
        notebook.replace("\\u00e9", "\u00e9").encode("cp1252")
    )
    sub = load_submission(upload, grader.assignment.files)
    result = grader.grade(sub).to_json()
    output = to_gradescope(result, rubric())["output"]
    head = output.split("\nexercise1")[0]
    assert "Your notebook Copy of backprop_ninja.ipynb could not be graded" in head
    assert "names exactly like that" not in head and "not UTF-8" in output
    banner = render_report(result).split('id="nothing-submitted"')[1].split("</div>")[0]
    assert "It held the notebook <code><bdi>Copy of backprop_ninja.ipynb</bdi></code>" in banner
    (upload / "Copy of backprop_ninja.ipynb").unlink()
    (upload / "my_backprop.py").write_text("x = 1\n")
    sub = load_submission(upload, grader.assignment.files)
    output = to_gradescope(grader.grade(sub).to_json(), rubric())["output"]
    assert "No exercise file was found" in output and "Your notebook" not in output


def test_a_verdict_its_message_repeats_is_said_once() -> None:
    """Every item of a stub read "Not implemented: not implemented (still raises
    NotImplementedError)" on the student's Gradescope page; a message that does not repeat its
    verdict keeps it as its head."""
    from grader.gradescope.results import item_output

    stub = "not implemented (still raises NotImplementedError)"
    case = {"status": "not_implemented", "message": stub, "public": True}
    item = {"status": "not_implemented", "cases": [case, {**case, "public": False}]}
    assert item_output(item, "visible") == "Not implemented (still raises NotImplementedError)"
    assert item_output({**item, "cases": []}, "visible") == "Not implemented"
    wrong = {"status": "failed", "message": "wrong shape: (3,)", "public": True}
    mixed = {"status": "failed", "cases": [wrong, {**case, "public": True}]}
    said = item_output(mixed, "visible")
    assert "  failed: wrong shape: (3,)" in said.splitlines()
    assert "  not implemented (still raises NotImplementedError)" in said.splitlines()


@pytest.mark.parametrize(
    ("files", "said"),
    [
        ({}, "Your upload was empty. Upload any of exercise1.py, exercise2.py"),
        ({"notes.txt": "x"}, "No exercise file was found in your upload, which held notes.txt."),
        ({"hw": None}, "No exercise file was found in your upload, which held hw/."),
    ],
)
def test_an_upload_with_nothing_to_grade_is_told_so_once(tmp_path: Path, files, said) -> None:
    """An empty upload's page said that nothing was found three times: "No exercise files were
    found ...", "Note: no exercise files found (...); the upload held: no files" and "Note: your
    upload was empty". One line now says what the upload held and what to upload (a notebook
    too, which the first line left out)."""
    from grader.gradescope.run import load_submission

    names = ("exercise1", "exercise2", "exercise3")
    _upload_of(tmp_path / "submission", files)
    sub = load_submission(tmp_path / "submission", names)
    result = {
        "score": 0.0,
        "max_score": 100.0,
        "files": dict.fromkeys(names, "missing"),
        "items": [],
        "student": {"notes": sub.notes},
    }
    output = to_gradescope(result, rubric())["output"]
    assert said in output, output
    found = re.findall(r"no exercise file|upload was empty|upload holds|upload held", output, re.I)
    assert len(found) == 1, output
    assert "or a notebook that defines their functions" in output
    assert not [ln for ln in output.splitlines() if ln.startswith("Note:")], output
    one = {**result, "files": {"layers": "missing"}}
    output = to_gradescope(one, rubric())["output"]
    assert "Upload layers.py (names exactly like that)" in output, output
    assert "a notebook that defines its functions" in output, output


def test_a_case_is_described_by_its_sizes_not_by_how_the_grader_built_it() -> None:
    """Every public case on a student's page read "(vocab_size=27, ..., seed=42,
    quiet_unit=True, float32)": a flag of the grader's, which no student knows; the sizes, the
    seed and the dtype stay."""
    from grader.backprop_ninja.cases import build_case
    from grader.gradescope.results import describe

    case = build_case(PUBLIC[0], public=True).meta()
    assert case["config"]["quiet_unit"] is True  # result.json keeps it (the case ids depend on it)
    assert describe(case) == (
        "vocab_size=27, block_size=3, n_embd=10, n_hidden=64, n=32, seed=42, float32"
    )
    hidden = {**case, "public": False}
    assert describe(hidden) == "vocab_size=27, block_size=3, n_embd=10, n_hidden=64, n=32, float32"


def test_every_extra_data_key_is_documented(only_hidden_fail: dict) -> None:
    """extra_data is Gradescope's "extra data to be stored", shown on no documented page, and it
    holds what the student's page keeps back (the raw item status, prints from hidden cases):
    docs/gradescope.md lists every key, so an instructor exporting it knows what it tells."""
    doc = (Path(__file__).parents[1] / "docs" / "gradescope.md").read_text()
    table = doc.split("`extra_data` is a field of Gradescope's autograder specification")[1]
    table = table.split("\n\n", 2)[1]
    passing = copy.deepcopy(only_hidden_fail)
    for case in (c for i in passing["items"] for c in i.get("cases", [])):
        case["status"] = "passed"  # no detail test waits: the prints go to extra_data
    keys = set()
    for result in (only_hidden_fail, passing):
        out = to_gradescope(result, rubric("after_published"))
        keys |= set(out["extra_data"]) | {k for t in out["tests"] for k in t.get("extra_data", {})}
    assert "printed" in keys and "hidden_passed" in keys  # every kind of test and top
    for key in keys:
        assert f"`{key}`" in table, key


def test_cases_skipped_after_a_timeout_are_not_said_to_fail_like_the_public_one() -> None:
    """Exercise 3's endless loop read "timed out: skipped: `backward` timed out on an earlier
    case" for its second public case, and "They fail the same way as the public case." of hidden
    cases that never ran; a mistake two public cases show is "the public cases"'."""
    from grader.gradescope.results import item_output

    timeout = {"status": "timeout", "message": "no answer within 3 s (an endless loop?)"}
    skipped = {"status": "timeout", "message": "skipped: `backward` timed out on an earlier case"}
    cases = [
        {**timeout, "public": True},
        {**skipped, "public": True},
        *({**skipped, "public": False} for _ in range(5)),
    ]
    said = item_output({"status": "timeout", "cases": cases}, "after_published").splitlines()
    assert "  timed out: no answer within 3 s (an endless loop?)" in said
    assert "  skipped: `backward` timed out on an earlier case" in said
    assert said[-1] == (
        "Hidden cases (other sizes and seeds): 0 of 5 passed. "
        "They were skipped: `backward` timed out on an earlier case."
    )
    two = [
        {"status": "failed", "message": f"values differ by up to {x}", "public": x < 0.9}
        for x in (0.5, 0.7, 0.9)
    ]
    said = item_output({"status": "failed", "cases": two}, "after_published")
    assert said.endswith("They fail the same way as the public cases."), said


def test_files_found_in_one_folder_are_named_in_one_note() -> None:
    """A student who uploaded their folder read "Note: found exercise1.py in my work/" three
    times, once for each file; the folder's own name is kept as it is, odd as it may be."""
    from grader.gradescope.results import found_together

    names = ["exercise1.py", "exercise2.py", "exercise3.py"]
    notes = [
        "found exercise1.py in my work/",
        "something else",
        "found exercise2.py in my work/",
        "found exercise3.py in hw.zip/hw/",
        "found exercise1.py in exercise2.py in x/",
    ]
    assert found_together(notes, names) == [
        "found exercise1.py, exercise2.py in my work/",
        "something else",
        "found exercise3.py in hw.zip/hw/",
        "found exercise1.py in exercise2.py in x/",
    ]


def test_a_folder_upload_gets_one_note(grader, tmp_path: Path) -> None:
    from grader.gradescope.run import load_submission

    write_files(tmp_path / "submission", {f"my work/{f}": solution(f[:-3]) for f in FILES})
    sub = load_submission(tmp_path / "submission", grader.assignment.files)
    output = to_gradescope(grader.grade(sub).to_json(), rubric())["output"]
    notes = [ln for ln in output.splitlines() if ln.startswith("Note:")]
    assert notes == ["Note: found exercise1.py, exercise2.py, exercise3.py in my work/"], output


def test_the_chain_s_sentence_names_its_exercise(grader) -> None:
    """The sentence on the chain of the student's own gradients named no exercise: under an
    exercise 3 that timed out ("exercise3.py: 0 / 30") it read "Chained together, your own
    gradients match autograd all the way down.", of exercise 1 (the bundle's check names it)."""
    from grader.submissions import Submission

    files = {f: solution(f).encode() for f in ("exercise1", "exercise2")}
    broken = b"def backward(**kw):\n    raise ValueError('wrong')\n"
    sub = Submission("ex3-raises", {**files, "exercise3": broken})
    output = to_gradescope(grader.grade(sub).to_json(), rubric())["output"]
    lines = output.splitlines()
    assert lines[-1] == (
        "Exercise 1, chained together: your own gradients match autograd all the way down."
    ), output
