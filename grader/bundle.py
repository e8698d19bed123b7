"""The student bundle (`grader bundle`, `make student-bundle`): what students download.

`<assignment>-student.zip` unpacks into one folder named after the assignment, holding its stubs,
a student README, its derived files (a notebook, say) and `check.py`, the public self-check. The
assignment's `bundle` hook says how check.py is made, one of two ways:

- a package (`package`, e.g. `_ninja_check/`): a copy of the few grader modules the check runs
  (`shipped`: the public model and cases, the judge, the hints, the printer), verbatim but for
  their relative imports, which are flattened into the one package, run by small `scripts`
  (check.py, say). The check a student runs is then the grader's own code path.
- inlined parts (`check_parts`): the public model, spec and a driver pasted after a header into
  one check.py, without their docstrings and relative imports.

Either way nothing else of the grader ships: no solution, no hidden case, no known-mistake
formula, no sandbox, suite or rubric.
"""

from __future__ import annotations

import ast
import re
import zipfile
from pathlib import Path

from .assignment import Assignment, ContentError, StudentBundle, load
from .choosing import OWN_LIST
from .stubs import (
    assignment_header,
    derived_are_current,
    missing_functions,
    stubs_are_current,
)
from .student_text import grader_has
from .supported import python_guard

# Zip entries get a fixed timestamp so that rebuilding an unchanged bundle gives the same bytes.
_EPOCH = (1980, 1, 1, 0, 0, 0)
_RELATIVE = re.compile(r"^(\s*)from \.+(?:\w+\.)*(\w*) import ", re.MULTILINE)

# The framework's modules every assignment's public check runs, by their path under grader/:
# the in-process session (local_check), the grader's process it emulates (check_process), what
# they import (two of them the sandbox worker's own, so that both read a student's signatures
# and exceptions alike), the notebook the grader grades instead of a folder's untouched stubs
# (notebook_instead, with the notebook reader), the judge, the printer, and check.py's own
# driver (public_check: folder, zip or notebook, notes, table), which runs the assignment's
# CHECK. An assignment's SHIPPED list starts with them and adds its own (model, public cases,
# driver).
CHECK_CORE = (
    "supported.py",
    "records.py",
    "exercise_names.py",
    "uploads.py",
    "choosing.py",
    "student_text.py",
    "python_syntax.py",
    "staticscan.py",
    "sandbox/inside/signatures.py",
    "sandbox/inside/graphs.py",
    "sandbox/inside/tracebacks.py",
    "calls.py",
    "check_process.py",
    "local_check.py",
    "notebook_keep.py",
    "notebook.py",
    "notebook_json.py",
    "notebook_instead.py",
    "judge.py",
    "hints.py",
    "grading.py",
    "public_check.py",
)


_CHECK_SCRIPT = """
import warnings
from pathlib import Path

sys.dont_write_bytecode = True  # leave no __pycache__ beside your files
sys.path.insert(0, str(Path(__file__).resolve().parent))  # its package, under `python -I` too
# torch without numpy (pip install torch alone) warns at import; nothing here needs numpy.
warnings.filterwarnings("ignore", message="Failed to initialize NumPy")

from PACKAGE.supported import require_torch  # noqa: E402

require_torch("check.py")  # a message naming the version and the fix, not a traceback

from PACKAGE.public_check import command_line as _command_line  # noqa: E402
from PACKAGE.public_check import main as _main  # noqa: E402
from PACKAGE.student_check_driver import CHECK  # noqa: E402


# Check FOLDER (a folder, a zip or a notebook; default: the folder check.py is in).
def main(folder=None):
    return _main(CHECK, folder if folder is not None else Path(__file__).resolve().parent)


# The table goes out through a copy of the standard output: student code runs in this process
# and may close the original (`sys.__stdout__.close()`, `os.close(1)`), which the grader's
# process for it shrugs off, where check.py ended in a traceback without its table.
def _own_stdout():
    import os

    try:
        copy = os.dup(sys.stdout.fileno())
    except (AttributeError, OSError, ValueError):  # no descriptor to copy: print as it is
        return
    sys.stdout = open(  # noqa: SIM115 - the process's stdout from here to its os._exit
        copy, "w", encoding=sys.stdout.encoding, errors=sys.stdout.errors, closefd=True
    )


if __name__ == "__main__":
    import atexit
    import os

    _own_stdout()
    status = _command_line(sys.argv[1:], main)  # one path, or none
    sys.stdout.flush()  # the table out before anything else runs
    # Leave without tearing torch down, ~0.3 s of a check's ~2 s: nothing is left to free.
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
"""


def check_script(doc: str, package: str) -> str:
    """A bundle's check.py that runs public_check.main on `package`'s student_check_driver.CHECK
    (a public_check.PublicCheck): `doc` says what it checks and how to run it."""
    script = _CHECK_SCRIPT.replace("PACKAGE", package)
    return f'"""{doc}\n"""\n\n' + python_guard("check.py") + script


def flatten_imports(source: str) -> str:
    """`from ..grading import x` and `from .content.model import y` -> `from .grading import x`,
    `from .model import y`: every shipped module sits in one package."""
    return _RELATIVE.sub(lambda m: f"{m.group(1)}from .{m.group(2)} import ", source)


def package_files(bundle: StudentBundle) -> dict[str, str]:
    """`<package>/<name>`: each shipped module, imports flattened."""
    package = bundle.package
    files = {
        f"{package}/__init__.py": '"""The grader\'s public code, for the bundle\'s scripts."""\n'
    }
    for path in bundle.shipped:
        if f"{package}/{path.name}" in files:
            raise ValueError(f"two shipped modules are named {path.name}")
        text = flatten_imports(path.read_text(encoding="utf-8"))
        _refuse_foreign_imports(path, text)
        files[f"{package}/{path.name}"] = text
    return files


def _refuse_foreign_imports(path: Path, source: str) -> None:
    """A shipped module may import the standard library, torch and the other shipped modules
    (relatively, which the bundle flattens), nothing else. `from grader.grading import ...`
    works where the grader is installed, the TA's machine, and fails in every student's
    check.py with a traceback: it is refused here, where the TA can fix it."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        # What student code is promised (the standard library, torch, numpy), which is all a
        # student's machine holds besides the bundle: the grader itself is not there.
        foreign = sorted({n for n in names if not grader_has(n)})
        if foreign:
            raise ContentError(
                f"{path} (shipped in the student bundle) imports {', '.join(foreign)} on line "
                f"{node.lineno}, which a student's machine does not have: import the grader's "
                "modules relatively (`from ..grading import make_item`) and list them in "
                "`shipped`; the bundle holds them flattened into one package"
            )


def _strip_for_inlining(source: str) -> str:
    """The source without its module docstring, `__future__` imports and relative imports.

    Those lines would be a syntax error (`__future__` mid-file) or a broken import once the
    modules share one file; everything else is kept verbatim.
    """
    tree = ast.parse(source)
    drop: set[int] = set()
    body = tree.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        drop.update(range(body[0].lineno, body[0].end_lineno + 1))
    for node in body:
        if isinstance(node, ast.ImportFrom) and (node.level > 0 or node.module == "__future__"):
            drop.update(range(node.lineno, node.end_lineno + 1))
    lines = source.splitlines(keepends=True)
    kept = "".join(line for i, line in enumerate(lines, start=1) if i not in drop)
    return kept.strip("\n") + "\n"


def build_check_source(assignment: Assignment | None = None) -> str:
    """check.py's text: the assignment's header, then its check parts (the driver last), inlined."""
    bundle = _bundle_hook(assignment or load())
    parts = [bundle.check_header]
    for path in bundle.check_parts:
        text = path.read_text(encoding="utf-8")
        parts.append(
            f"\n# ---- from the grader's public {path.name} ----\n\n" + _strip_for_inlining(text)
        )
    source = "".join(parts)
    ast.parse(source)  # fail here, not on a student's machine
    return source


def _bundle_hook(assignment: Assignment) -> StudentBundle:
    if assignment.bundle is None:
        raise ContentError(
            f"assignment {assignment.name!r} defines no student bundle (its ASSIGNMENT's `bundle`;"
            " docs/new-assignment.md, section 6)"
        )
    return assignment.bundle


def _check_files(assignment: Assignment) -> dict[str, str]:
    """check.py and what it runs: the package and its scripts, or one inlined check.py."""
    bundle = _bundle_hook(assignment)
    if bundle.package:
        return {**dict(bundle.scripts), **package_files(bundle)}
    return {"check.py": build_check_source(assignment)}


def _bundle_files(assignment: Assignment) -> dict[str, str]:
    names = assignment.file_names
    missing_functions(assignment, assignment.solutions)
    head = assignment_header(assignment)
    stale = stubs_are_current(assignment.solutions, assignment.stubs, names, head)
    stale += derived_are_current(assignment, assignment.solutions, assignment.stubs)
    if stale:
        raise ContentError(
            f"stubs out of date with the solutions ({', '.join(stale)}): run "
            f"`grader assign -a {assignment.name}` (make stubs ASSIGNMENT={assignment.name})"
        )
    files = {name: (assignment.stubs / name).read_text(encoding="utf-8") for name in names}
    files["README.md"] = _bundle_hook(assignment).readme.read_text(encoding="utf-8")
    files.update(_check_files(assignment))
    for extra in _bundle_hook(assignment).extras:
        files[extra.name] = extra.read_text(encoding="utf-8")
    for derived in assignment.derived:
        files[derived.name] = (assignment.stubs / derived.name).read_text(encoding="utf-8")
    if _bundle_hook(assignment).package:
        files[f"{_bundle_hook(assignment).package}/{OWN_LIST}"] = _own_list(files, names)
    return files


def _own_list(files: dict[str, str], exercises: tuple[str, ...]) -> str:
    """choosing.OWN_LIST's text: the names at the top of the bundle's folder that are its own,
    one a line; not the exercise files nor a notebook, which a student's work may be."""
    tops = {name.split("/", 1)[0] for name in files}
    own = {n for n in tops if n not in exercises and not n.casefold().endswith(".ipynb")}
    return "".join(f"{n}\n" for n in sorted(own))


def write_student_bundle(out: Path, assignment: Assignment | None = None) -> Path:
    """Write out/<assignment>-student.zip and return its path.

    The zip unpacks into one folder named after the assignment, not into the student's cwd.
    Its files are all made before the zip is opened: a refused build (stale stubs) leaves an
    earlier zip as it was, where it once left an empty one in its place.
    """
    assignment = assignment or load()
    files = _bundle_files(assignment)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{assignment.name}-student.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, text in files.items():
            info = zipfile.ZipInfo(f"{assignment.name}/{name}", date_time=_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, text)
    return path
