"""The Gradescope autograder zip (`grader gradescope-zip`, `make gradescope`).

`dist/<assignment>-autograder.zip` holds, at its root, Gradescope's `setup.sh` and
`run_autograder`, then the grader's source with this assignment's package alone (its hidden
suites and rubric; the course's other assignments stay out), a course.yaml naming it,
pyproject.toml,
constraints.txt, a requirements.txt derived from pyproject's dependencies, and the blank stubs
(setup.sh grades them as a self-check). It never holds the solutions: the solutions folder, the
modules that build examples out of them, tests and caches stay out, and the build refuses to
write a zip in which any line of a reference solution appears, or whose suites cannot be
collected (a syntax error, a bad import) from the zip's own files.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from ..assignment import Assignment, load
from ..scoring import load_rubric
from .results import VISIBILITIES

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "grader"
TEMPLATES = Path(__file__).resolve().parent / "files"
SOLUTIONS = ROOT / "solutions"  # every assignment's, searched whole for leaked lines

# PyTorch's CPU wheels: the default PyPI wheel for Linux bundles CUDA, gigabytes a grader never
# uses. A course that wants another build sets GRADESCOPE_TORCH_INDEX when building the zip.
DEFAULT_TORCH_INDEX = "https://download.pytorch.org/whl/cpu"
TORCH_INDEX_ENV = "GRADESCOPE_TORCH_INDEX"

SKIPPED_DIRS = {"__pycache__", ".pytest_cache", ".ruff_cache", ".mypy_cache"}
SKIPPED_SUFFIXES = {".pyc", ".pyo"}
# Relative to grader/: these build the example class out of the solutions, so they quote them
# (and so does the assignment package's examples.py, skipped in `zip_entries`).
SKIPPED_FILES = {"examples.py"}

SOLUTION_BEGIN, SOLUTION_END = "# BEGIN SOLUTION", "# END SOLUTION"
# Solution lines too generic to betray anything: `return dC`, `"dW1": dW1,`, brackets.
TRIVIAL = re.compile(r"return \w+|\"\w+\": \w+,|[\w.]+ = [(\[{]|[)\]}],?|#.*")
TRIVIAL_LENGTH = 12

EXECUTABLE, REGULAR = 0o755, 0o644
_EPOCH = (1980, 1, 1, 0, 0, 0)  # fixed timestamps: an unchanged grader gives the same bytes


class PackageError(ValueError):
    """The zip cannot be built as asked; the message says what to fix."""


def write_autograder_zip(out: Path, assignment: Assignment | None = None) -> Path:
    """Write out/<assignment>-autograder.zip and return its path."""
    assignment = assignment or load()
    check_rubric(assignment)
    entries = zip_entries(torch_index(), assignment)
    check_no_solutions(entries, solution_lines(SOLUTIONS) | solution_lines(assignment.solutions))
    check_suites_collect(entries, assignment)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{assignment.name}-autograder.zip"
    fd, tmp = tempfile.mkstemp(dir=out, prefix=f".{path.name}.")
    os.close(fd)
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for name, (data, mode) in sorted(entries.items()):
                info = zipfile.ZipInfo(name, date_time=_EPOCH)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = (0o100000 | mode) << 16
                zf.writestr(info, data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def torch_index() -> str:
    """Where setup.sh gets torch: GRADESCOPE_TORCH_INDEX if set (empty means PyPI)."""
    value = os.environ.get(TORCH_INDEX_ENV, DEFAULT_TORCH_INDEX).strip()
    if value and not re.fullmatch(r"https?://[^\s\"'$`\\]+", value):
        raise PackageError(
            f"{TORCH_INDEX_ENV}={value!r} is not a plain http(s) URL: give an index such as "
            f"{DEFAULT_TORCH_INDEX}, or an empty value for PyPI"
        )
    return value


def zip_entries(
    index_url: str, assignment: Assignment | None = None
) -> dict[str, tuple[bytes, int]]:
    """Every file of the zip: its path inside the zip -> (bytes, Unix mode)."""
    assignment = assignment or load()
    skipped = _other_assignments(assignment)
    table = f"{assignment.content.name}/examples.py"  # the example table quotes the solutions
    entries: dict[str, tuple[bytes, int]] = {}
    for name in ("setup.sh", "run_autograder"):
        text = _required(TEMPLATES / name).read_text(encoding="utf-8")
        entries[name] = (text.replace("@TORCH_INDEX_URL@", index_url).encode(), EXECUTABLE)
    for path in sorted(PACKAGE.rglob("*")):
        rel = path.relative_to(PACKAGE)
        if (
            path.is_file()
            and not _skipped(rel)
            and rel.parts[0] not in skipped
            and rel.as_posix() != table
        ):
            entries[f"grader/{rel.as_posix()}"] = (path.read_bytes(), REGULAR)
    if assignment.content.parent != PACKAGE:  # a course's own package, kept outside grader/
        for path in sorted(assignment.content.rglob("*")):
            rel = path.relative_to(assignment.content.parent)
            if path.is_file() and not _skipped(rel) and rel.as_posix() != table:
                entries[rel.as_posix()] = (path.read_bytes(), REGULAR)
    entries["course.yaml"] = (course_file(assignment).encode(), REGULAR)
    for name in ("pyproject.toml", "constraints.txt"):
        entries[name] = (_required(ROOT / name).read_bytes(), REGULAR)
    entries["requirements.txt"] = (requirements(ROOT / "pyproject.toml").encode(), REGULAR)
    stubs = assignment.stubs
    for name in assignment.file_names:
        if (stubs / name).is_file():
            entries[f"selfcheck/{name}"] = ((stubs / name).read_bytes(), REGULAR)
    if not any(n.startswith("selfcheck/") for n in entries):
        raise PackageError(
            f"no stubs in {stubs} for setup.sh's self-check: run `grader assign -a "
            f"{assignment.name}` (make stubs ASSIGNMENT={assignment.name})"
        )
    return entries


def _other_assignments(assignment: Assignment) -> set[str]:
    """The top folders of grader/ that hold other assignments: they stay out of the zip.

    Those of the course, and any other package of grader/ that defines ASSIGNMENT (a course
    kept elsewhere does not list the ones shipped here, and they must not ride along).
    """
    from ..course import assignments

    mine = assignment.content
    listed = {a.content for a in assignments() if a.content.parent == PACKAGE}
    found = {
        init.parent
        for init in PACKAGE.glob("*/__init__.py")
        if "\nASSIGNMENT = " in init.read_text(encoding="utf-8")
    }
    return {folder.name for folder in listed | found if folder != mine}


def course_file(assignment: Assignment) -> str:
    """The zip's course.yaml: this assignment alone, and the default (Gradescope passes none)."""
    return (
        "# Generated by `grader gradescope-zip`: this autograder grades one assignment.\n"
        f"default: {assignment.name}\nassignments:\n  - {assignment.package}\n"
    )


def _skipped(rel: Path) -> bool:
    return (
        any(part in SKIPPED_DIRS or part.startswith(".") for part in rel.parts)
        or rel.suffix in SKIPPED_SUFFIXES
        or rel.as_posix() in SKIPPED_FILES
    )


def _required(path: Path) -> Path:
    if not path.is_file():
        raise PackageError(
            f"{path} is missing: the autograder zip needs it (build from a checkout of the grader)"
        )
    return path


def requirements(pyproject: Path) -> str:
    """pyproject's runtime dependencies, one a line, for setup.sh's `pip install -r`."""
    data = _toml().loads(_required(pyproject).read_text(encoding="utf-8"))
    deps = data.get("project", {}).get("dependencies", [])
    if not deps:
        raise PackageError(f"{pyproject} lists no [project] dependencies")
    return "# Generated from pyproject.toml by `grader gradescope-zip`.\n" + "\n".join(deps) + "\n"


def _toml():
    """The TOML reader: the standard library's from Python 3.11, its backport `tomli` on 3.10
    (Ubuntu 22.04's Python; a dependency there, by pyproject's marker). Refusing 3.10 here
    left an instructor on it without a zip, though every other command works there."""
    try:
        import tomllib
    except ModuleNotFoundError:
        try:
            import tomli as tomllib
        except ModuleNotFoundError:
            raise PackageError(
                "building the Gradescope zip on Python 3.10 needs tomli (pip install tomli)"
            ) from None
    return tomllib


def check_rubric(assignment: Assignment) -> None:
    """The rubric loads and speaks Gradescope's visibility vocabulary (a typo would leak)."""
    rubric = load_rubric(assignment.rubric, assignment.item_ids, assignment.tells)
    wrong = {"hidden_visibility": rubric.hidden_visibility} | {
        item: rule.visibility for item, rule in rubric.rules.items()
    }
    wrong = {k: v for k, v in wrong.items() if v not in VISIBILITIES}
    if wrong:
        raise PackageError(
            f"rubric {assignment.rubric}: visibility {wrong} is not one of {VISIBILITIES}"
        )


def solution_lines(solutions: Path) -> set[str]:
    """The non-trivial lines between the solution markers of every reference solution."""
    lines: set[str] = set()
    for path in sorted(solutions.rglob("*.py")) if solutions.is_dir() else []:
        inside = False
        for raw in path.read_text(encoding="utf-8").splitlines():
            line = raw.strip()
            if line.startswith(SOLUTION_BEGIN) or line.startswith(SOLUTION_END):
                inside = line.startswith(SOLUTION_BEGIN)
            elif inside and not is_trivial(line):
                lines.add(line)
    return lines


def is_trivial(line: str) -> bool:
    return len(line) < TRIVIAL_LENGTH or TRIVIAL.fullmatch(line) is not None


def check_no_solutions(entries: dict[str, tuple[bytes, int]], lines: set[str]) -> None:
    """Refuse to build if any file of the zip quotes a line of a reference solution."""
    for name, (data, _) in entries.items():
        text = data.decode("utf-8", errors="replace")
        leaked = sorted(line for line in lines if line in text)
        if leaked:
            raise PackageError(
                f"refusing to build: {name} contains lines of the reference solutions "
                f"({leaked[:3]}); keep solution text out of the grader's source"
            )


# Collecting the suites imports torch and the assignment: a few seconds, far below this.
COLLECT_SECONDS = 300

# Run in a fresh Python inside the zip's files: pytest over the suites as the grader runs it,
# collecting only; each file that fails to collect, as [node id, pytest's report], goes to argv[2].
_COLLECT = """
import json, sys
import pytest
from grader.runner import pytest_args

class Failures:
    found = []

    def pytest_collectreport(self, report):
        if report.failed:
            self.found.append([report.nodeid, str(report.longrepr)])

code = pytest.main([*pytest_args(sys.argv[1]), "--collect-only"], plugins=[Failures()])
with open(sys.argv[2], "w") as f:
    json.dump({"code": int(code), "failures": Failures.found}, f)
"""


def check_suites_collect(entries: dict[str, tuple[bytes, int]], assignment: Assignment) -> None:
    """Refuse a zip whose suites cannot even be imported (a syntax error, an import of a name
    that is not there, or of a file the zip leaves out): setup.sh's self-check found it only on
    Gradescope, after the upload. The zip's files are written to a temporary folder and its
    suites collected there by a fresh Python, with that folder alone as the grader's source, as
    run_autograder does; the cost is one Python start importing torch and the suites."""
    suites = _suites_in_zip(assignment)
    with tempfile.TemporaryDirectory(prefix="grader-zip-check-") as tmp:
        for name, (data, _) in entries.items():
            path = Path(tmp, name)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        report = Path(tmp, ".collected.json")
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "GRADER_COURSE")}
        env.update(PYTHONPATH=tmp, PYTHONDONTWRITEBYTECODE="1")
        try:
            run = subprocess.run(
                [sys.executable, "-c", _COLLECT, str(Path(tmp, suites)), str(report)],
                cwd=tmp, env=env, capture_output=True, text=True, timeout=COLLECT_SECONDS,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            raise PackageError(
                f"refusing to build: collecting the suites of {assignment.suites} took over "
                f"{COLLECT_SECONDS} s (does a suite do heavy work when imported?)"
            ) from None
        if not report.is_file():
            raise PackageError(
                f"refusing to build: the zip's grader cannot collect its suites: "
                f"{_last_line(run.stderr, tmp)}"
            )
        collected = json.loads(report.read_text())
    if collected["failures"]:  # the first is named: fixed, the next build names the next
        nodeid, text = collected["failures"][0]
        where = Path(assignment.suites, nodeid) if nodeid else assignment.suites
        error = _last_line(text, tmp, nodeid)
        raise PackageError(f"refusing to build: {where} cannot be imported from the zip: {error}")
    if collected["code"] != 0:
        raise PackageError(
            f"refusing to build: collecting the suites of {assignment.suites} from the zip "
            f"ended with pytest's exit code {collected['code']}"
        )


def _suites_in_zip(assignment: Assignment) -> str:
    """Where the assignment's suites folder lies in the zip (the package is copied whole)."""
    content = assignment.content
    top = f"grader/{content.name}" if content.parent == PACKAGE else content.name
    try:
        return f"{top}/{Path(assignment.suites).resolve().relative_to(content).as_posix()}"
    except ValueError:
        raise PackageError(
            f"the suites folder {assignment.suites} is not inside the assignment's package "
            f"{content}: the zip carries the package alone, so it would hold no suite"
        ) from None


def _last_line(text: str, tmp: str, suite: str = "") -> str:
    """The error a report ends on (pytest marks its lines `E`), with the temporary folder's
    path left out, and the line of the suite file `suite` it was raised at, if the report says."""
    lines = [line.strip() for line in text.replace(tmp + os.sep, "").splitlines() if line.strip()]
    errors = [line.lstrip("E").strip() for line in lines if line.startswith("E ")]
    last = (errors or lines or ["no message"])[-1]
    name = re.escape(Path(suite).name)
    at = re.findall(rf'{name}", line (\d+)|{name}:(\d+): in ', "\n".join(lines)) if suite else []
    return f"{last} (line {at[-1][0] or at[-1][1]})" if at else last
